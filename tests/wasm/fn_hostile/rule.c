/* fn_hostile (module "fnh"): functions only. wasm.fnh.spin(x) is true for
 * "yes", false for anything else, and loops forever for "boom": proves that
 * fuel/deadline faults in EQL-callable functions are handled like rule faults. */
#include "kestrel.h"

KESTREL_ABI()

static volatile uint32_t spins; /* volatile: the loop cannot be optimised away */

static kestrel_value spin(const kestrel_args *args) {
    uint32_t n;
    const char *s = kestrel_arg_str(args, 0, &n);
    if (kestrel_eq(s, n, "boom"))
        for (;;) spins++;
    return kestrel_bool(kestrel_eq(s, n, "yes"));
}
KESTREL_FUNCTION(spin, spin)
