/* oob: a normal "process.name == nc" rule that reads address 0xFFFFFFF0 on
 * "boom": far beyond any memory the host allows, so the load traps. */
#include "kestrel.h"

KESTREL_ABI()

static volatile uint8_t sink;

static int rule(const kestrel_event *ev, kestrel_out *out) {
    if (kestrel_event_str_eq(ev, "process.name", "boom"))
        sink = *(volatile const uint8_t *)(uintptr_t)0xFFFFFFF0u;
    if (kestrel_event_str_eq(ev, "process.name", "nc")) kestrel_report(out, ev->index);
    return 0;
}
KESTREL_RULE(rule)
