/* loop: a normal "process.name == nc" rule that spins forever on "boom".
 * Proves fuel (and the epoch deadline behind it) stops a runaway module. */
#include "kestrel.h"

KESTREL_ABI()

/* volatile: every increment is a store the compiler must keep, so the loop
 * is neither removed nor treated as UB-free infinite recursion. */
static volatile uint32_t spins;

static int rule(const kestrel_event *ev, kestrel_out *out) {
    if (kestrel_event_str_eq(ev, "process.name", "boom"))
        for (;;) spins++;
    if (kestrel_event_str_eq(ev, "process.name", "nc")) kestrel_report(out, ev->index);
    return 0;
}
KESTREL_RULE(rule)
