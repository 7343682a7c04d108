/* no_abi: a working "process.name == nc" rule that claims ABI version 2.
 * The host speaks only version 1 and must refuse to load it rather than
 * guess at the contract. */
#include "kestrel.h"

/* Instead of KESTREL_ABI(), which would say 1. */
KESTREL_EXPORT("kestrel_abi_version") int32_t kestrel_abi_version(void) { return 2; }
KESTREL_EXPORT("kestrel_alloc") void *kestrel_alloc(uint32_t size) { return kestrel_input_alloc(size); }

static int rule(const kestrel_event *ev, kestrel_out *out) {
    if (kestrel_event_str_eq(ev, "process.name", "nc")) kestrel_report(out, ev->index);
    return 0;
}
KESTREL_RULE(rule)
