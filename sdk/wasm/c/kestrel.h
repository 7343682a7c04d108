/*
 * kestrel.h: single-header, freestanding C SDK for Kestrel Wasm rules (ABI v1).
 *
 * The contract this implements is docs/wasm-abi.md. Build with no libc:
 *
 *   clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry \
 *         -I sdk/wasm/c -o build/module.wasm *.c
 *
 * A module includes this header, uses KESTREL_ABI() exactly once, and the
 * KESTREL_INIT / KESTREL_RULE / KESTREL_FUNCTION macros for its entry points.
 * See README.md next to this file for a walk-through and the full API.
 *
 * Memory model (why memory stays flat over millions of batches):
 *
 *   [ data | stack | permanent ...... perm_top | scratch ...... scratch_top ]
 *
 * - Permanent memory holds the input buffer the host writes batches into
 *   (kestrel_alloc) and whatever kestrel_keep()/kestrel_perm_alloc() hand
 *   out, which is meant for init time (copies of config strings).
 * - Scratch memory is a bump arena that every entry point empties on entry:
 *   the result buffer and anything a handler allocates with
 *   kestrel_scratch_alloc() live until the next call into the module, which
 *   is exactly as long as the ABI needs the result buffer to live.
 * So linear memory grows to the high-water mark of the largest batch and
 * then stays there. The input buffer is reused and only replaced (at least
 * doubling) when a batch does not fit, so its waste is bounded too.
 *
 * All state is in one weak global, so the header can be included from
 * several .c files of one module.
 */
#ifndef KESTREL_H
#define KESTREL_H

#include <stddef.h>
#include <stdint.h>

#define KESTREL_ABI_VERSION 1

/* Negative statuses an entry point returns; the host reports them as faults. */
#define KESTREL_EINPUT (-1) /* the host's input was not the msgpack the ABI promises */
#define KESTREL_ENOMEM (-2) /* memory.grow failed (limits.memory_mb reached) */

/* Levels for kestrel_log. */
#define KESTREL_LOG_DEBUG 0
#define KESTREL_LOG_INFO 1
#define KESTREL_LOG_WARN 2
#define KESTREL_LOG_ERROR 3

/* Fixed capacities; define them before including the header to change them. */
#ifndef KESTREL_MAX_ARGS
#define KESTREL_MAX_ARGS 8 /* arguments per EQL function call */
#endif
#ifndef KESTREL_MAX_DATA
#define KESTREL_MAX_DATA 16 /* "data" entries per match */
#endif
#ifndef KESTREL_MAX_ACTIONS
#define KESTREL_MAX_ACTIONS 8 /* "actions" per match */
#endif

#define KESTREL_EXPORT(name) __attribute__((export_name(name)))
#define KESTREL_IMPORT(name) __attribute__((import_module("kestrel"), import_name(name)))

/* ------------------------------------------------------------------------ */
/* mem* functions. clang lowers struct copies and __builtin_mem* to calls of */
/* these, and there is no libc to provide them. Weak so that every .c file   */
/* of a module may include this header; no_builtin so that clang does not    */
/* "optimise" the loops below back into calls to themselves.                */

/* Wasm loads and stores may be unaligned: moving 8 bytes at a time through
 * this type makes copies and compares of strings ~8x cheaper in fuel. */
typedef uint64_t __attribute__((aligned(1), may_alias)) kestrel__u64;
/* Unrolling these loops would multiply their size for little gain. */
#define KESTREL__NOUNROLL _Pragma("clang loop unroll(disable)")

__attribute__((weak, no_builtin)) void *memcpy(void *dst, const void *src, size_t n) {
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    KESTREL__NOUNROLL for (; n >= 8; n -= 8, d += 8, s += 8) *(kestrel__u64 *)d = *(const kestrel__u64 *)s;
    KESTREL__NOUNROLL while (n--) *d++ = *s++;
    return dst;
}

__attribute__((weak, no_builtin)) void *memmove(void *dst, const void *src, size_t n) {
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *s = (const unsigned char *)src;
    if (d < s) {
        KESTREL__NOUNROLL while (n--) *d++ = *s++;
    } else {
        KESTREL__NOUNROLL while (n--) d[n] = s[n];
    }
    return dst;
}

__attribute__((weak, no_builtin)) void *memset(void *dst, int c, size_t n) {
    unsigned char *d = (unsigned char *)dst;
    KESTREL__NOUNROLL while (n--) *d++ = (unsigned char)c;
    return dst;
}

__attribute__((weak, no_builtin)) int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    /* Skip equal 8-byte words; the first difference is then found bytewise. */
    KESTREL__NOUNROLL for (; n >= 8 && *(const kestrel__u64 *)x == *(const kestrel__u64 *)y; n -= 8, x += 8, y += 8) {
    }
    KESTREL__NOUNROLL for (; n; n--, x++, y++)
        if (*x != *y) return *x - *y;
    return 0;
}

__attribute__((weak, no_builtin)) size_t strlen(const char *s) {
    size_t n = 0;
    KESTREL__NOUNROLL while (s[n]) n++;
    return n;
}

/* The SDK measures strings with __builtin_strlen from small always-inlined
 * wrappers: on a literal ("process.name") the length is then a compile-time
 * constant instead of a byte loop run for every lookup of every event. */
#define KESTREL__INLINE static inline __attribute__((always_inline))
#define KESTREL__LEN(s) ((uint32_t)__builtin_strlen(s))
/* For the bigger, colder helpers: one copy instead of one per call site
 * keeps a small rule's module small. */
#define KESTREL__OUTLINE static __attribute__((noinline, unused))

/* 1 if the n bytes at s equal the NUL-terminated string c. */
KESTREL__INLINE int kestrel_eq(const char *s, uint32_t n, const char *c) {
    return s && KESTREL__LEN(c) == n && memcmp(s, c, n) == 0;
}

/* ------------------------------------------------------------------------ */
/* Host imports. Only the ones a module actually calls end up imported.     */

KESTREL_IMPORT("log") void kestrel__host_log(int32_t level, const char *msg, uint32_t len);
KESTREL_IMPORT("now_ns") int64_t kestrel__host_now_ns(void);

/* One UTF-8 line to Kestrel's log (rate-limited by the host). */
static inline void kestrel_log_n(int level, const char *msg, uint32_t len) {
    kestrel__host_log(level, msg, len);
}
KESTREL__INLINE void kestrel_log(int level, const char *msg) {
    kestrel__host_log(level, msg, KESTREL__LEN(msg));
}
/* Wall-clock time, nanoseconds since the epoch. */
static inline int64_t kestrel_now_ns(void) { return kestrel__host_now_ns(); }

/* ------------------------------------------------------------------------ */
/* Allocator.                                                                */

extern unsigned char __heap_base; /* provided by wasm-ld: first free byte */

struct kestrel__heap {
    uint32_t perm_top;    /* end of permanent memory = start of scratch */
    uint32_t scratch_top; /* end of scratch memory in use */
    uint8_t *in_ptr;      /* the input buffer handed to the host */
    uint32_t in_cap;
};
__attribute__((weak)) struct kestrel__heap kestrel__heap;

static inline void kestrel__heap_init(void) {
    if (!kestrel__heap.perm_top)
        kestrel__heap.perm_top = kestrel__heap.scratch_top =
            ((uint32_t)(uintptr_t)&__heap_base + 7u) & ~7u;
}

/* Make sure linear memory extends to at least `end`, growing it if needed. */
static inline int kestrel__ensure(uint64_t end) {
    uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) << 16;
    if (end <= have) return 1;
    uint64_t pages = (end - have + 0xFFFFu) >> 16;
    return __builtin_wasm_memory_grow(0, (size_t)pages) != (size_t)-1;
}

/* Bump *top by n bytes (8-aligned); NULL when memory cannot grow. */
static inline void *kestrel__bump(uint32_t *top, uint32_t n) {
    uint64_t start = ((uint64_t)*top + 7u) & ~(uint64_t)7u;
    uint64_t end = start + n;
    if (end >= 0xFFFFFFFFull || !kestrel__ensure(end)) return 0;
    *top = (uint32_t)end;
    return (void *)(uintptr_t)start;
}

/* Forget all scratch allocations. Every entry point macro does this first;
 * call it yourself only in an entry point you write by hand. */
static inline void kestrel_scratch_reset(void) {
    kestrel__heap_init();
    kestrel__heap.scratch_top = kestrel__heap.perm_top;
}

/* n bytes valid until the next call into the module (result buffers, temporary
 * strings). NULL when out of memory. */
static inline void *kestrel_scratch_alloc(uint32_t n) {
    kestrel__heap_init();
    return kestrel__bump(&kestrel__heap.scratch_top, n);
}

/* n bytes that live as long as the instance. Meant for kestrel_init: every
 * call takes memory for good, so calling it per batch grows memory without
 * bound. State updated per batch belongs in fixed-size static arrays. */
static inline void *kestrel_perm_alloc(uint32_t n) {
    kestrel__heap_init();
    /* Taken above any scratch in use, so nothing the current call holds is
     * overwritten; scratch then restarts above the new block. */
    uint32_t top = kestrel__heap.scratch_top;
    void *p = kestrel__bump(&top, n);
    if (p) kestrel__heap.perm_top = kestrel__heap.scratch_top = top;
    return p;
}

/* A permanent, NUL-terminated copy of n bytes: use it to keep config strings,
 * which point into the input buffer the next batch overwrites. */
static inline char *kestrel_keep(const void *s, uint32_t n) {
    char *p = (char *)kestrel_perm_alloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

/* Make the input buffer `cap` bytes: in place while it is still the last
 * permanent block (its old contents do not matter, the host is about to
 * overwrite them), else as a new permanent block. */
static inline void *kestrel__input_resize(uint64_t cap) {
    struct kestrel__heap *h = &kestrel__heap;
    if (cap >= 0xFFFFFFFFull) return 0;
    if (h->in_ptr && (uint32_t)(uintptr_t)h->in_ptr + h->in_cap == h->perm_top) {
        uint64_t end = (uint64_t)(uintptr_t)h->in_ptr + cap;
        if (end >= 0xFFFFFFFFull || !kestrel__ensure(end)) return 0;
        h->perm_top = h->scratch_top = (uint32_t)end;
    } else {
        uint8_t *p = (uint8_t *)kestrel_perm_alloc((uint32_t)cap);
        if (!p) return 0;
        h->in_ptr = p;
    }
    h->in_cap = (uint32_t)cap;
    return h->in_ptr;
}

/* The kestrel_alloc export: a buffer of at least `size` bytes for the host's
 * input, reused from batch to batch and only replaced when too small. */
static inline void *kestrel_input_alloc(uint32_t size) {
    struct kestrel__heap *h = &kestrel__heap;
    kestrel_scratch_reset(); /* a call into the module: scratch is dead */
    if (h->in_ptr && size <= h->in_cap) return h->in_ptr;
    /* At least double, so a slowly growing batch size costs few moves; and
     * if that does not fit under the host's memory cap, exactly what was
     * asked for. */
    uint64_t want = ((uint64_t)size + 7u) & ~(uint64_t)7u;
    uint64_t cap = h->in_cap ? (uint64_t)h->in_cap * 2 : 4096;
    void *p = kestrel__input_resize(cap > want ? cap : want);
    return p || cap <= want ? p : kestrel__input_resize(want);
}

/* ------------------------------------------------------------------------ */
/* msgpack values and the reader.                                            */

typedef enum {
    KESTREL_NIL,
    KESTREL_BOOL,
    KESTREL_INT,   /* any msgpack integer that fits int64 */
    KESTREL_FLOAT, /* float32/float64, and uint64 above INT64_MAX */
    KESTREL_STR,
    KESTREL_BIN,
    KESTREL_ARRAY,
    KESTREL_MAP,
    KESTREL_EXT,   /* msgpack ext types: skipped, never interpreted */
    KESTREL_ERROR  /* only as a function result: kestrel_fail(status) */
} kestrel_type;

/* A decoded msgpack value. Strings point into the buffer they were read from
 * (the input: valid for the current call) and are not NUL-terminated. */
typedef struct kestrel_value {
    kestrel_type type;
    uint32_t len; /* STR/BIN: bytes; ARRAY: elements; MAP: key/value pairs */
    union {
        int b;                /* BOOL */
        int64_t i;            /* INT, and the status of an ERROR */
        double f;             /* FLOAT */
        const char *s;        /* STR, BIN */
        const uint8_t *items; /* ARRAY, MAP: first element's encoding */
    };
    const uint8_t *end; /* ARRAY, MAP: one past the last element's encoding */
} kestrel_value;

typedef struct {
    const uint8_t *p, *end;
} kestrel_reader;

static inline uint64_t kestrel__be(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int k = 0; k < n; k++) v = (v << 8) | p[k];
    return v;
}

/* Take n bytes from r; NULL if the input is shorter. */
static inline const uint8_t *kestrel__take(kestrel_reader *r, uint64_t n) {
    if ((uint64_t)(r->end - r->p) < n) return 0;
    const uint8_t *at = r->p;
    r->p += n;
    return at;
}

/* One value's head: a scalar completely, an array or map only its header
 * (items/end are left for kestrel_read to fill in). 0 on malformed input. */
static inline int kestrel__head(kestrel_reader *r, kestrel_value *v) {
    const uint8_t *q = kestrel__take(r, 1);
    if (!q) return 0;
    uint8_t c = *q;
    int n = 0; /* width of a big-endian length/value that follows */
    v->len = 0;
    v->end = 0;
    if (c <= 0x7f) { v->type = KESTREL_INT; v->i = c; return 1; }
    if (c >= 0xe0) { v->type = KESTREL_INT; v->i = (int8_t)c; return 1; }
    if (c >= 0xa0 && c <= 0xbf) { v->type = KESTREL_STR; v->len = c & 0x1f; goto bytes; }
    if (c >= 0x90 && c <= 0x9f) { v->type = KESTREL_ARRAY; v->len = c & 0x0f; return 1; }
    if (c >= 0x80 && c <= 0x8f) { v->type = KESTREL_MAP; v->len = c & 0x0f; return 1; }
    switch (c) {
    case 0xc0: v->type = KESTREL_NIL; return 1;
    case 0xc2: case 0xc3: v->type = KESTREL_BOOL; v->b = c & 1; return 1;
    case 0xcc: case 0xcd: case 0xce: case 0xcf: /* uint 8/16/32/64 */
        n = 1 << (c - 0xcc);
        if (!(q = kestrel__take(r, n))) return 0;
        {
            uint64_t u = kestrel__be(q, n);
            if (u > (uint64_t)INT64_MAX) { v->type = KESTREL_FLOAT; v->f = (double)u; }
            else { v->type = KESTREL_INT; v->i = (int64_t)u; }
        }
        return 1;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: /* int 8/16/32/64 */
        n = 1 << (c - 0xd0);
        if (!(q = kestrel__take(r, n))) return 0;
        {
            uint64_t u = kestrel__be(q, n);
            int sh = 64 - 8 * n; /* sign-extend from n bytes */
            v->type = KESTREL_INT;
            v->i = (int64_t)(u << sh) >> sh;
        }
        return 1;
    case 0xca: { /* float32 */
        float f;
        uint32_t u;
        if (!(q = kestrel__take(r, 4))) return 0;
        u = (uint32_t)kestrel__be(q, 4);
        memcpy(&f, &u, 4);
        v->type = KESTREL_FLOAT;
        v->f = f;
        return 1;
    }
    case 0xcb: { /* float64 */
        uint64_t u;
        if (!(q = kestrel__take(r, 8))) return 0;
        u = kestrel__be(q, 8);
        memcpy(&v->f, &u, 8);
        v->type = KESTREL_FLOAT;
        return 1;
    }
    case 0xd9: case 0xda: case 0xdb: /* str 8/16/32 */
        v->type = KESTREL_STR; n = 1 << (c - 0xd9); goto sized;
    case 0xc4: case 0xc5: case 0xc6: /* bin 8/16/32 */
        v->type = KESTREL_BIN; n = 1 << (c - 0xc4); goto sized;
    case 0xdc: case 0xdd: /* array 16/32 */
        v->type = KESTREL_ARRAY; n = c == 0xdc ? 2 : 4; goto header;
    case 0xde: case 0xdf: /* map 16/32 */
        v->type = KESTREL_MAP; n = c == 0xde ? 2 : 4; goto header;
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: /* fixext 1..16 */
        v->type = KESTREL_EXT;
        return kestrel__take(r, 1 + (1u << (c - 0xd4))) != 0;
    case 0xc7: case 0xc8: case 0xc9: /* ext 8/16/32 */
        v->type = KESTREL_EXT;
        n = 1 << (c - 0xc7);
        if (!(q = kestrel__take(r, n))) return 0;
        return kestrel__take(r, 1 + kestrel__be(q, n)) != 0;
    default: /* 0xc1: never used */
        return 0;
    }
sized:
    if (!(q = kestrel__take(r, n))) return 0;
    v->len = (uint32_t)kestrel__be(q, n);
bytes:
    if (!(q = kestrel__take(r, v->len))) return 0;
    v->s = (const char *)q;
    return 1;
header:
    if (!(q = kestrel__take(r, n))) return 0;
    v->len = (uint32_t)kestrel__be(q, n);
    return 1;
}

/* Skip `pending` whole values. Iterative (a counter, not recursion), so
 * nesting depth costs no stack. */
static inline int kestrel__skip(kestrel_reader *r, uint64_t pending) {
    while (pending) {
        kestrel_value v;
        pending--;
        if (!kestrel__head(r, &v)) return 0;
        if (v.type == KESTREL_ARRAY) pending += v.len;
        else if (v.type == KESTREL_MAP) pending += 2ull * v.len;
    }
    return 1;
}

/* Read one whole value; arrays and maps are validated and skipped over, with
 * items/end delimiting their contents. 0 on malformed input. */
static inline int kestrel_read(kestrel_reader *r, kestrel_value *v) {
    if (!kestrel__head(r, v)) return 0;
    if (v->type == KESTREL_ARRAY || v->type == KESTREL_MAP) {
        v->items = r->p;
        if (!kestrel__skip(r, v->type == KESTREL_MAP ? 2ull * v->len : v->len)) return 0;
        v->end = r->p;
    }
    return 1;
}

/* Typed views of a value: 1 and *out set when the value has that type. */
static inline const char *kestrel_value_str(const kestrel_value *v, uint32_t *len) {
    if (!v || v->type != KESTREL_STR) return 0;
    if (len) *len = v->len;
    return v->s;
}
static inline int kestrel_value_int(const kestrel_value *v, int64_t *out) {
    if (!v || v->type != KESTREL_INT) return 0;
    *out = v->i;
    return 1;
}
/* Accepts integers too, converted. */
static inline int kestrel_value_float(const kestrel_value *v, double *out) {
    if (!v) return 0;
    if (v->type == KESTREL_FLOAT) { *out = v->f; return 1; }
    if (v->type == KESTREL_INT) { *out = (double)v->i; return 1; }
    return 0;
}
static inline int kestrel_value_bool(const kestrel_value *v, int *out) {
    if (!v || v->type != KESTREL_BOOL) return 0;
    *out = v->b;
    return 1;
}

/* Iterating an array value. */
typedef struct {
    kestrel_reader r;
    uint32_t left;
} kestrel_iter;

static inline int kestrel_iter_init(kestrel_iter *it, const kestrel_value *array) {
    if (!array || array->type != KESTREL_ARRAY) return 0;
    it->r.p = array->items;
    it->r.end = array->end;
    it->left = array->len;
    return 1;
}
/* The next element, or 0 at the end. */
static inline int kestrel_iter_next(kestrel_iter *it, kestrel_value *out) {
    if (!it->left) return 0;
    it->left--;
    return kestrel_read(&it->r, out);
}

/* 1 when v is the string c, or an array with the string c among its elements
 * (multi-valued fields such as process.args arrive as arrays). */
static inline int kestrel_value_containsn(const kestrel_value *v, const char *c, uint32_t n) {
    kestrel_iter it;
    kestrel_value e;
    if (v->type == KESTREL_STR) return v->len == n && memcmp(v->s, c, n) == 0;
    if (!kestrel_iter_init(&it, v)) return 0;
    while (kestrel_iter_next(&it, &e))
        if (e.type == KESTREL_STR && e.len == n && memcmp(e.s, c, n) == 0) return 1;
    return 0;
}
KESTREL__INLINE int kestrel_value_contains(const kestrel_value *v, const char *c) {
    return kestrel_value_containsn(v, c, KESTREL__LEN(c));
}

/* ------------------------------------------------------------------------ */
/* Maps (events, config): looked up by key with a linear scan, which for the */
/* handful of fields a rule declares is cheaper than building an index.     */

static inline int kestrel_map_getn(const kestrel_value *map, const char *key, uint32_t kl,
                                   kestrel_value *out) {
    kestrel_reader r;
    if (!map || map->type != KESTREL_MAP) return 0;
    r.p = map->items;
    r.end = map->end;
    for (uint32_t k = 0; k < map->len; k++) {
        kestrel_value name;
        if (!kestrel_read(&r, &name)) return 0;
        if (name.type == KESTREL_STR && name.len == kl && memcmp(name.s, key, kl) == 0)
            return kestrel_read(&r, out);
        if (!kestrel__skip(&r, 1)) return 0;
    }
    return 0;
}
/* map[key] into *out; 0 when absent. */
KESTREL__INLINE int kestrel_map_get(const kestrel_value *map, const char *key, kestrel_value *out) {
    return kestrel_map_getn(map, key, KESTREL__LEN(key), out);
}
KESTREL__INLINE int kestrel_map_has(const kestrel_value *map, const char *key) {
    kestrel_value v;
    return kestrel_map_get(map, key, &v);
}
KESTREL__INLINE const char *kestrel_map_str(const kestrel_value *map, const char *key, uint32_t *len) {
    kestrel_value v;
    return kestrel_map_get(map, key, &v) ? kestrel_value_str(&v, len) : 0;
}
KESTREL__INLINE int kestrel_map_int(const kestrel_value *map, const char *key, int64_t *out) {
    kestrel_value v;
    return kestrel_map_get(map, key, &v) && kestrel_value_int(&v, out);
}
KESTREL__INLINE int kestrel_map_float(const kestrel_value *map, const char *key, double *out) {
    kestrel_value v;
    return kestrel_map_get(map, key, &v) && kestrel_value_float(&v, out);
}
KESTREL__INLINE int kestrel_map_bool(const kestrel_value *map, const char *key, int *out) {
    kestrel_value v;
    return kestrel_map_get(map, key, &v) && kestrel_value_bool(&v, out);
}

/* An event of a batch: its index and its flat map of declared fields
 * ({"process.name": "nc", "process.pid": 42}). Absent = missing or null. */
typedef struct {
    uint32_t index;
    kestrel_value fields;
} kestrel_event;

KESTREL__INLINE int kestrel_event_get(const kestrel_event *ev, const char *key, kestrel_value *out) {
    return kestrel_map_get(&ev->fields, key, out);
}
KESTREL__INLINE int kestrel_event_has(const kestrel_event *ev, const char *key) {
    return kestrel_map_has(&ev->fields, key);
}
/* A pointer into the input (not NUL-terminated) and its length, or NULL when
 * the field is absent or not a string. */
KESTREL__INLINE const char *kestrel_event_str(const kestrel_event *ev, const char *key, uint32_t *len) {
    return kestrel_map_str(&ev->fields, key, len);
}
KESTREL__INLINE int kestrel_event_int(const kestrel_event *ev, const char *key, int64_t *out) {
    return kestrel_map_int(&ev->fields, key, out);
}
KESTREL__INLINE int kestrel_event_float(const kestrel_event *ev, const char *key, double *out) {
    return kestrel_map_float(&ev->fields, key, out);
}
KESTREL__INLINE int kestrel_event_bool(const kestrel_event *ev, const char *key, int *out) {
    return kestrel_map_bool(&ev->fields, key, out);
}
/* 1 when the field is a string equal to s. */
KESTREL__INLINE int kestrel_event_str_eq(const kestrel_event *ev, const char *key, const char *s) {
    uint32_t n;
    const char *v = kestrel_event_str(ev, key, &n);
    return v && kestrel_eq(v, n, s);
}
/* 1 when the field is the string s or an array containing it. */
KESTREL__INLINE int kestrel_event_contains(const kestrel_event *ev, const char *key, const char *s) {
    kestrel_value v;
    return kestrel_event_get(ev, key, &v) && kestrel_value_contains(&v, s);
}

/* The arguments of one EQL function call; a null argument is KESTREL_NIL. */
typedef struct {
    uint32_t count;
    kestrel_value v[KESTREL_MAX_ARGS];
} kestrel_args;

/* Argument i, or NULL past the end. */
static inline const kestrel_value *kestrel_arg(const kestrel_args *a, uint32_t i) {
    return i < a->count ? &a->v[i] : 0;
}
static inline int kestrel_arg_is_nil(const kestrel_args *a, uint32_t i) {
    const kestrel_value *v = kestrel_arg(a, i);
    return !v || v->type == KESTREL_NIL;
}
static inline const char *kestrel_arg_str(const kestrel_args *a, uint32_t i, uint32_t *len) {
    return kestrel_value_str(kestrel_arg(a, i), len);
}
static inline int kestrel_arg_int(const kestrel_args *a, uint32_t i, int64_t *out) {
    return kestrel_value_int(kestrel_arg(a, i), out);
}
static inline int kestrel_arg_float(const kestrel_args *a, uint32_t i, double *out) {
    return kestrel_value_float(kestrel_arg(a, i), out);
}
static inline int kestrel_arg_bool(const kestrel_args *a, uint32_t i, int *out) {
    return kestrel_value_bool(kestrel_arg(a, i), out);
}

/* ------------------------------------------------------------------------ */
/* msgpack writer into scratch memory.                                       */

typedef struct {
    uint8_t *buf;
    uint32_t len, cap;
    int err; /* set once memory ran out; everything after is dropped */
} kestrel_writer;

/* Out of room: move to a buffer at least twice as big. Kept out of line,
 * the fast path below is all that runs for almost every write. */
__attribute__((noinline)) static int kestrel__grow(kestrel_writer *w, uint32_t n) {
    if (w->err) return 0;
    uint64_t cap = w->cap ? (uint64_t)w->cap * 2 : 256;
    while (cap < (uint64_t)w->len + n) cap *= 2;
    uint32_t at = (uint32_t)(uintptr_t)w->buf;
    if (cap >= 0xFFFFFFFFull) goto fail;
    if (w->buf && at + w->cap == kestrel__heap.scratch_top) {
        /* Still the newest scratch block: grow in place, no copy. */
        if (!kestrel__ensure((uint64_t)at + cap)) goto fail;
        kestrel__heap.scratch_top = at + (uint32_t)cap;
    } else {
        uint8_t *nb = (uint8_t *)kestrel_scratch_alloc((uint32_t)cap);
        if (!nb) goto fail;
        if (w->len) memcpy(nb, w->buf, w->len);
        w->buf = nb;
    }
    w->cap = (uint32_t)cap;
    return 1;
fail:
    w->err = 1;
    w->cap = w->len; /* no room left: every later write takes this path */
    return 0;
}
KESTREL__INLINE int kestrel__reserve(kestrel_writer *w, uint32_t n) {
    return n <= w->cap - w->len || kestrel__grow(w, n);
}

static inline void kestrel_write_raw(kestrel_writer *w, const void *p, uint32_t n) {
    if (kestrel__reserve(w, n)) {
        memcpy(w->buf + w->len, p, n);
        w->len += n;
    }
}
/* A type byte followed by an n-byte big-endian number. Not inlined: it is
 * called from many places and code size is what a module pays for. */
__attribute__((noinline)) static void kestrel__put(kestrel_writer *w, uint8_t tag, uint64_t v, int n) {
    if (!kestrel__reserve(w, 1 + n)) return;
    w->buf[w->len++] = tag;
    for (int k = n - 1; k >= 0; k--) w->buf[w->len++] = (uint8_t)(v >> (8 * k));
}
static inline void kestrel_write_nil(kestrel_writer *w) { kestrel__put(w, 0xc0, 0, 0); }
static inline void kestrel_write_bool(kestrel_writer *w, int b) { kestrel__put(w, b ? 0xc3 : 0xc2, 0, 0); }
/* Smallest encoding, as msgpack asks. */
KESTREL__OUTLINE void kestrel_write_int(kestrel_writer *w, int64_t v) {
    if (v >= 0) {
        if (v < 0x80) kestrel__put(w, (uint8_t)v, 0, 0);
        else if (v <= 0xff) kestrel__put(w, 0xcc, (uint64_t)v, 1);
        else if (v <= 0xffff) kestrel__put(w, 0xcd, (uint64_t)v, 2);
        else if (v <= 0xffffffffll) kestrel__put(w, 0xce, (uint64_t)v, 4);
        else kestrel__put(w, 0xcf, (uint64_t)v, 8);
    } else {
        if (v >= -32) kestrel__put(w, (uint8_t)v, 0, 0);
        else if (v >= INT8_MIN) kestrel__put(w, 0xd0, (uint64_t)v, 1);
        else if (v >= INT16_MIN) kestrel__put(w, 0xd1, (uint64_t)v, 2);
        else if (v >= INT32_MIN) kestrel__put(w, 0xd2, (uint64_t)v, 4);
        else kestrel__put(w, 0xd3, (uint64_t)v, 8);
    }
}
static inline void kestrel_write_float(kestrel_writer *w, double f) {
    uint64_t u;
    memcpy(&u, &f, 8);
    kestrel__put(w, 0xcb, u, 8);
}
KESTREL__OUTLINE void kestrel_write_str(kestrel_writer *w, const char *s, uint32_t n) {
    if (n < 32) kestrel__put(w, (uint8_t)(0xa0 | n), 0, 0);
    else if (n <= 0xff) kestrel__put(w, 0xd9, n, 1);
    else if (n <= 0xffff) kestrel__put(w, 0xda, n, 2);
    else kestrel__put(w, 0xdb, n, 4);
    kestrel_write_raw(w, s, n);
}
KESTREL__INLINE void kestrel_write_cstr(kestrel_writer *w, const char *s) {
    kestrel_write_str(w, s, KESTREL__LEN(s));
}
KESTREL__OUTLINE void kestrel_write_array(kestrel_writer *w, uint32_t n) {
    if (n < 16) kestrel__put(w, (uint8_t)(0x90 | n), 0, 0);
    else if (n <= 0xffff) kestrel__put(w, 0xdc, n, 2);
    else kestrel__put(w, 0xdd, n, 4);
}
KESTREL__OUTLINE void kestrel_write_map(kestrel_writer *w, uint32_t n) {
    if (n < 16) kestrel__put(w, (uint8_t)(0x80 | n), 0, 0);
    else if (n <= 0xffff) kestrel__put(w, 0xde, n, 2);
    else kestrel__put(w, 0xdf, n, 4);
}
/* Any value, including arrays and maps read from the input (copied as is). */
KESTREL__OUTLINE void kestrel_write_value(kestrel_writer *w, const kestrel_value *v) {
    switch (v->type) {
    case KESTREL_BOOL: kestrel_write_bool(w, v->b); break;
    case KESTREL_INT: kestrel_write_int(w, v->i); break;
    case KESTREL_FLOAT: kestrel_write_float(w, v->f); break;
    case KESTREL_STR: kestrel_write_str(w, v->s, v->len); break;
    case KESTREL_BIN:
        if (v->len <= 0xff) kestrel__put(w, 0xc4, v->len, 1);
        else if (v->len <= 0xffff) kestrel__put(w, 0xc5, v->len, 2);
        else kestrel__put(w, 0xc6, v->len, 4);
        kestrel_write_raw(w, v->s, v->len);
        break;
    case KESTREL_ARRAY:
    case KESTREL_MAP:
        if (v->type == KESTREL_ARRAY) kestrel_write_array(w, v->len);
        else kestrel_write_map(w, v->len);
        kestrel_write_raw(w, v->items, (uint32_t)(v->end - v->items));
        break;
    default: kestrel_write_nil(w); break; /* NIL, and EXT (not kept) */
    }
}

/* The i64 an entry point returns for a result buffer: (ptr << 32) | len. */
static inline int64_t kestrel_result_raw(const void *p, uint32_t len) {
    return (int64_t)(((uint64_t)(uintptr_t)p << 32) | len);
}
static inline int64_t kestrel_result(const kestrel_writer *w) {
    return w->err ? KESTREL_ENOMEM : kestrel_result_raw(w->buf, w->len);
}

/* Function results. */
static inline kestrel_value kestrel_nil(void) { kestrel_value v = {.type = KESTREL_NIL}; return v; }
static inline kestrel_value kestrel_bool(int b) { kestrel_value v = {.type = KESTREL_BOOL}; v.b = !!b; return v; }
static inline kestrel_value kestrel_int(int64_t i) { kestrel_value v = {.type = KESTREL_INT}; v.i = i; return v; }
static inline kestrel_value kestrel_float(double f) { kestrel_value v = {.type = KESTREL_FLOAT}; v.f = f; return v; }
static inline kestrel_value kestrel_str(const char *s, uint32_t n) {
    kestrel_value v = {.type = KESTREL_STR};
    v.s = s;
    v.len = n;
    return v;
}
KESTREL__INLINE kestrel_value kestrel_cstr(const char *s) { return kestrel_str(s, KESTREL__LEN(s)); }
/* Abort the whole batch with a negative status (a fault on the host side). */
static inline kestrel_value kestrel_fail(int32_t status) {
    kestrel_value v = {.type = KESTREL_ERROR};
    v.i = status < 0 ? status : KESTREL_EINPUT;
    return v;
}

/* ------------------------------------------------------------------------ */
/* Matches. kestrel_report() opens a match for an event; the msg/data/action */
/* calls fill it in until the next kestrel_report or the end of the batch,   */
/* when it is written out: as a bare index when nothing was added, else as   */
/* a map {"i", "msg", "data", "actions"}. Strings given to them must stay    */
/* valid until the end of the batch (literals, input, scratch all do).       */

typedef struct {
    uint32_t index;
    const char *msg;
    uint32_t msg_len;
    uint32_t ndata, nactions;
    struct {
        const char *key;
        kestrel_value v;
    } data[KESTREL_MAX_DATA];
    const char *actions[KESTREL_MAX_ACTIONS];
} kestrel_alert;

typedef struct {
    kestrel_writer w;
    uint32_t count;  /* elements written so far */
    int open;        /* `alert` is pending */
    kestrel_alert alert;
} kestrel_out;

KESTREL__OUTLINE void kestrel__flush(kestrel_out *o) {
    kestrel_writer *w = &o->w;
    kestrel_alert *a = &o->alert;
    if (!o->open) return;
    o->open = 0;
    o->count++;
    if (!a->msg && !a->ndata && !a->nactions) {
        kestrel_write_int(w, a->index);
        return;
    }
    kestrel_write_map(w, 1 + !!a->msg + !!a->ndata + !!a->nactions);
    kestrel_write_cstr(w, "i");
    kestrel_write_int(w, a->index);
    if (a->msg) {
        kestrel_write_cstr(w, "msg");
        kestrel_write_str(w, a->msg, a->msg_len);
    }
    if (a->ndata) {
        kestrel_write_cstr(w, "data");
        kestrel_write_map(w, a->ndata);
        for (uint32_t k = 0; k < a->ndata; k++) {
            kestrel_write_cstr(w, a->data[k].key);
            kestrel_write_value(w, &a->data[k].v);
        }
    }
    if (a->nactions) {
        kestrel_write_cstr(w, "actions");
        kestrel_write_array(w, a->nactions);
        for (uint32_t k = 0; k < a->nactions; k++) kestrel_write_cstr(w, a->actions[k]);
    }
}

/* Report the event at `index` (usually ev->index) as a match. */
static inline kestrel_alert *kestrel_report(kestrel_out *o, uint32_t index) {
    kestrel__flush(o);
    o->open = 1;
    o->alert.index = index;
    o->alert.msg = 0;
    o->alert.ndata = o->alert.nactions = 0;
    return &o->alert;
}
static inline void kestrel_alert_msg_n(kestrel_alert *a, const char *msg, uint32_t len) {
    a->msg = msg;
    a->msg_len = len;
}
KESTREL__INLINE void kestrel_alert_msg(kestrel_alert *a, const char *msg) {
    kestrel_alert_msg_n(a, msg, KESTREL__LEN(msg));
}
/* data[key] = v; 0 when KESTREL_MAX_DATA entries are already set (dropped).
 * v may be any value read from the event, arrays included. */
static inline int kestrel_alert_data(kestrel_alert *a, const char *key, kestrel_value v) {
    if (a->ndata >= KESTREL_MAX_DATA) return 0;
    a->data[a->ndata].key = key;
    a->data[a->ndata].v = v;
    a->ndata++;
    return 1;
}
static inline int kestrel_alert_int(kestrel_alert *a, const char *key, int64_t i) {
    return kestrel_alert_data(a, key, kestrel_int(i));
}
static inline int kestrel_alert_float(kestrel_alert *a, const char *key, double f) {
    return kestrel_alert_data(a, key, kestrel_float(f));
}
static inline int kestrel_alert_bool(kestrel_alert *a, const char *key, int b) {
    return kestrel_alert_data(a, key, kestrel_bool(b));
}
static inline int kestrel_alert_str(kestrel_alert *a, const char *key, const char *s, uint32_t n) {
    return kestrel_alert_data(a, key, kestrel_str(s, n));
}
/* Request an action ("kill", ...); the host honours only those the manifest
 * lists in rule.actions. 0 when KESTREL_MAX_ACTIONS are already set. */
static inline int kestrel_alert_action(kestrel_alert *a, const char *action) {
    if (a->nactions >= KESTREL_MAX_ACTIONS) return 0;
    a->actions[a->nactions++] = action;
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Entry point drivers; the macros below wrap them into exports.             */

typedef int (*kestrel_init_fn)(const kestrel_value *config);
typedef int (*kestrel_rule_fn)(const kestrel_event *ev, kestrel_out *out);
typedef kestrel_value (*kestrel_call_fn)(const kestrel_args *args);

static inline int32_t kestrel_run_init(const uint8_t *p, uint32_t len, kestrel_init_fn handler) {
    kestrel_reader r = {p, p + len};
    kestrel_value config;
    kestrel_scratch_reset();
    if (!kestrel_read(&r, &config) || config.type != KESTREL_MAP) return 1;
    return handler(&config);
}

static inline int64_t kestrel_run_rule(const uint8_t *p, uint32_t len, uint32_t count,
                                       kestrel_rule_fn handler) {
    kestrel_reader r = {p, p + len};
    kestrel_value batch;
    /* Static rather than on the (64 KiB) shadow stack: the pending alert is
     * the biggest thing here, and entry points never nest. */
    static kestrel_out out;
    kestrel_scratch_reset();
    if (!kestrel__head(&r, &batch) || batch.type != KESTREL_ARRAY || batch.len != count)
        return KESTREL_EINPUT;
    out.w.buf = 0;
    out.w.len = out.w.cap = 0;
    out.w.err = 0;
    out.count = 0;
    out.open = 0;
    /* array32 header, count patched in at the end: matches are not known
     * up front. */
    kestrel__put(&out.w, 0xdd, 0, 4);
    for (uint32_t i = 0; i < count; i++) {
        kestrel_event ev;
        ev.index = i;
        if (!kestrel_read(&r, &ev.fields) || ev.fields.type != KESTREL_MAP) return KESTREL_EINPUT;
        int rc = handler(&ev, &out);
        if (rc < 0) return rc;
    }
    kestrel__flush(&out);
    if (out.w.err) return KESTREL_ENOMEM;
    for (int k = 0; k < 4; k++) out.w.buf[1 + k] = (uint8_t)(out.count >> (8 * (3 - k)));
    return kestrel_result(&out.w);
}

static inline int64_t kestrel_run_fn(const uint8_t *p, uint32_t len, uint32_t count,
                                     kestrel_call_fn handler) {
    kestrel_reader r = {p, p + len};
    kestrel_value batch;
    kestrel_writer w = {0};
    static kestrel_args args; /* static: see kestrel_run_rule */
    kestrel_scratch_reset();
    if (!kestrel__head(&r, &batch) || batch.type != KESTREL_ARRAY || batch.len != count)
        return KESTREL_EINPUT;
    kestrel_write_array(&w, count);
    for (uint32_t i = 0; i < count; i++) {
        kestrel_value call;
        if (!kestrel__head(&r, &call) || call.type != KESTREL_ARRAY || call.len > KESTREL_MAX_ARGS)
            return KESTREL_EINPUT;
        args.count = call.len;
        for (uint32_t k = 0; k < call.len; k++)
            if (!kestrel_read(&r, &args.v[k])) return KESTREL_EINPUT;
        kestrel_value res = handler(&args);
        if (res.type == KESTREL_ERROR) return res.i;
        kestrel_write_value(&w, &res);
    }
    return kestrel_result(&w);
}

/* kestrel_abi_version and kestrel_alloc: use exactly once per module. */
#define KESTREL_ABI()                                                               \
    KESTREL_EXPORT("kestrel_abi_version") int32_t kestrel_abi_version(void) {       \
        return KESTREL_ABI_VERSION;                                                 \
    }                                                                               \
    KESTREL_EXPORT("kestrel_alloc") void *kestrel_alloc(uint32_t size) {            \
        return kestrel_input_alloc(size);                                           \
    }

/* kestrel_init: int handler(const kestrel_value *config) gets the manifest's
 * [config] table as a map; non-zero refuses it. */
#define KESTREL_INIT(handler)                                                       \
    KESTREL_EXPORT("kestrel_init") int32_t kestrel_init(const uint8_t *p, uint32_t len) { \
        return kestrel_run_init(p, len, handler);                                   \
    }

/* kestrel_match: int handler(const kestrel_event *ev, kestrel_out *out) is
 * called for each event of a batch, in order; it reports matches with
 * kestrel_report(out, ev->index). A negative return aborts the batch with
 * that status. */
#define KESTREL_RULE(handler)                                                       \
    KESTREL_EXPORT("kestrel_match")                                                 \
    int64_t kestrel_match(const uint8_t *p, uint32_t len, uint32_t count) {         \
        return kestrel_run_rule(p, len, count, handler);                            \
    }

/* kestrel_fn_<name>: kestrel_value handler(const kestrel_args *args) is called
 * for each call of the batch and returns its result (kestrel_nil(),
 * kestrel_bool(), kestrel_int(), kestrel_float(), kestrel_str(); or
 * kestrel_fail(status) to abort the batch). */
#define KESTREL_FUNCTION(name, handler)                                             \
    KESTREL_EXPORT("kestrel_fn_" #name)                                             \
    int64_t kestrel_fn_##name(const uint8_t *p, uint32_t len, uint32_t count) {     \
        return kestrel_run_fn(p, len, count, handler);                              \
    }

#endif /* KESTREL_H */
