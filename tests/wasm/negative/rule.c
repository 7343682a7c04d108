/* negative: a normal "process.name == nc" rule whose kestrel_match returns
 * the error status -5 on "boom" (a handler's negative return aborts the
 * batch with that status). */
#include "kestrel.h"

KESTREL_ABI()

static int rule(const kestrel_event *ev, kestrel_out *out) {
    if (kestrel_event_str_eq(ev, "process.name", "boom")) return -5;
    if (kestrel_event_str_eq(ev, "process.name", "nc")) kestrel_report(out, ev->index);
    return 0;
}
KESTREL_RULE(rule)
