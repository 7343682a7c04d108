/* echo: a well-behaved module for the host's tests. It exercises every part
 * of ABI v1 with predictable answers: config, bare and map matches, msg,
 * data, declared and undeclared actions, and three EQL-callable functions. */
#include "kestrel.h"

KESTREL_ABI()

/* config `name`: the process name to match. A kept copy, because the config
 * string points into the input buffer that the first batch overwrites. */
static const char *want = "nc";

/* Function items seen by this instance: count_calls exposes it, so tests can
 * see how calls were batched and when the instance was replaced. */
static int64_t fn_items;

static int init(const kestrel_value *config) {
    kestrel_value v;
    if (!kestrel_map_get(config, "name", &v)) return 0; /* keep the default */
    if (v.type != KESTREL_STR) {
        kestrel_log(KESTREL_LOG_ERROR, "echo: config name must be a string");
        return 1;
    }
    want = kestrel_keep(v.s, v.len);
    return want ? 0 : 1;
}
KESTREL_INIT(init)

static int rule(const kestrel_event *ev, kestrel_out *out) {
    int64_t pid;
    if (!kestrel_event_str_eq(ev, "process.name", want)) return 0;
    kestrel_alert *a = kestrel_report(out, ev->index);
    if (kestrel_event_int(ev, "process.pid", &pid)) kestrel_alert_int(a, "pid", pid);
    if (kestrel_event_contains(ev, "process.args", "--kill-me")) {
        kestrel_alert_msg(a, "kill requested");
        kestrel_alert_action(a, "kill");
    }
    /* "block" is not in the manifest's rule.actions: the host must refuse it. */
    if (kestrel_event_contains(ev, "process.args", "--block-me")) {
        if (!a->msg) kestrel_alert_msg(a, "block requested");
        kestrel_alert_action(a, "block");
    }
    return 0;
}
KESTREL_RULE(rule)

/* upper(s): ASCII upper case of a string; nil for nil or a non-string. */
static kestrel_value upper(const kestrel_args *args) {
    uint32_t n;
    const char *s = kestrel_arg_str(args, 0, &n);
    fn_items++;
    if (!s) return kestrel_nil();
    char *u = (char *)kestrel_scratch_alloc(n);
    if (!u) return kestrel_fail(KESTREL_ENOMEM);
    for (uint32_t k = 0; k < n; k++) u[k] = s[k] >= 'a' && s[k] <= 'z' ? s[k] - 'a' + 'A' : s[k];
    return kestrel_str(u, n);
}
KESTREL_FUNCTION(upper, upper)

/* is_even(n): whether an integer is even; nil for anything else. */
static kestrel_value is_even(const kestrel_args *args) {
    int64_t v;
    fn_items++;
    return kestrel_arg_int(args, 0, &v) ? kestrel_bool(v % 2 == 0) : kestrel_nil();
}
KESTREL_FUNCTION(is_even, is_even)

/* count_calls(): function items seen so far by this instance, this one
 * included (so the first call of a fresh instance returns 1). */
static kestrel_value count_calls(const kestrel_args *args) {
    (void)args;
    return kestrel_int(++fn_items);
}
KESTREL_FUNCTION(count_calls, count_calls)
