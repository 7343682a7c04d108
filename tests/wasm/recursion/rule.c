/* recursion: a normal "process.name == nc" rule that recurses without bound
 * on "boom", until wasmtime's call stack is exhausted.
 *
 * The recursion lives on the wasm call stack only (no locals in linear
 * memory), so the trap is a genuine stack overflow, not an out-of-bounds
 * store from the shadow stack running off the bottom of memory. */
#include "kestrel.h"

KESTREL_ABI()

/* Never set: the compiler cannot prove the recursion ends, so it must keep it. */
static volatile uint32_t stop;

/* Two recursive calls whose results are combined: neither is a tail call,
 * so it cannot be turned into a loop. */
__attribute__((noinline)) static uint32_t dive(uint32_t n) {
    if (stop) return n;
    return dive(n + 1) * 31u + dive(n + 2);
}

static int rule(const kestrel_event *ev, kestrel_out *out) {
    if (kestrel_event_str_eq(ev, "process.name", "boom") && dive(0) == 42) return -1;
    if (kestrel_event_str_eq(ev, "process.name", "nc")) kestrel_report(out, ev->index);
    return 0;
}
KESTREL_RULE(rule)
