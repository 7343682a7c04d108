/* bad_output: a normal "process.name == nc" rule whose result is broken on
 * purpose: on "boom" the whole result is not valid msgpack; on "badindex" it
 * reports index 9999, outside any batch. Both must be module errors, never
 * alerts, and never crash the host's decoder. */
#include "kestrel.h"

KESTREL_ABI()

/* An array of 2 whose second element is 0xc1, the one byte msgpack never
 * uses. */
static const uint8_t garbage[] = {0x92, 0x00, 0xc1};

static int saw_boom;

static int rule(const kestrel_event *ev, kestrel_out *out) {
    if (kestrel_event_str_eq(ev, "process.name", "boom")) saw_boom = 1;
    if (kestrel_event_str_eq(ev, "process.name", "badindex")) kestrel_report(out, 9999);
    if (kestrel_event_str_eq(ev, "process.name", "nc")) kestrel_report(out, ev->index);
    return 0;
}

/* kestrel_match written by hand (not KESTREL_RULE) to swap in the garbage. */
KESTREL_EXPORT("kestrel_match")
int64_t kestrel_match(const uint8_t *p, uint32_t len, uint32_t count) {
    saw_boom = 0;
    int64_t r = kestrel_run_rule(p, len, count, rule);
    return saw_boom ? kestrel_result_raw(garbage, sizeof garbage) : r;
}
