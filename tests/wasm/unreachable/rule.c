/* unreachable: a normal "process.name == nc" rule that executes the wasm
 * `unreachable` instruction on "boom". The simplest trap. */
#include "kestrel.h"

KESTREL_ABI()

static int rule(const kestrel_event *ev, kestrel_out *out) {
    if (kestrel_event_str_eq(ev, "process.name", "boom")) __builtin_trap();
    if (kestrel_event_str_eq(ev, "process.name", "nc")) kestrel_report(out, ev->index);
    return 0;
}
KESTREL_RULE(rule)
