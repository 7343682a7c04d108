/* init_refuses: a normal "process.name == nc" rule whose kestrel_init refuses
 * the configuration when `refuse = true` (as its manifest sets), so the host
 * must report it and not load the rule. */
#include "kestrel.h"

KESTREL_ABI()

static int init(const kestrel_value *config) {
    int refuse = 0;
    if (kestrel_map_bool(config, "refuse", &refuse) && refuse) {
        kestrel_log(KESTREL_LOG_ERROR, "init_refuses: refusing config (refuse = true)");
        return 1;
    }
    return 0;
}
KESTREL_INIT(init)

static int rule(const kestrel_event *ev, kestrel_out *out) {
    if (kestrel_event_str_eq(ev, "process.name", "nc")) kestrel_report(out, ev->index);
    return 0;
}
KESTREL_RULE(rule)
