/* grow_bomb: a normal "process.name == nc" rule that, on "boom", grows memory
 * one page at a time until memory.grow fails, then stores past the end.
 * Proves limits.memory_mb caps growth (grow returns -1, it does not succeed
 * until the machine runs out) and that the trap that follows is a fault. */
#include "kestrel.h"

KESTREL_ABI()

static void bomb(void) {
    while (__builtin_wasm_memory_grow(0, 1) != (size_t)-1) {
    }
    /* memory.grow failed: the first byte past the end is out of bounds. */
    uint64_t end = (uint64_t)__builtin_wasm_memory_size(0) << 16;
    if (end >= 0x100000000ull) __builtin_trap(); /* all 4 GiB mapped: nothing is OOB */
    *(volatile uint8_t *)(uintptr_t)end = 1;
}

static int rule(const kestrel_event *ev, kestrel_out *out) {
    if (kestrel_event_str_eq(ev, "process.name", "boom")) bomb();
    if (kestrel_event_str_eq(ev, "process.name", "nc")) kestrel_report(out, ev->index);
    return 0;
}
KESTREL_RULE(rule)
