/* wasi_import: a "process.name == nc" rule that also imports WASI and, on
 * "boom", tries to write to stdout and open a file. The host grants only
 * kestrel.*, so it must refuse to load this module at all, naming the import,
 * before any of it runs. */
#include "kestrel.h"

__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write")))
int32_t wasi_fd_write(int32_t fd, const void *iovs, uint32_t iovs_len, uint32_t *written);

__attribute__((import_module("wasi_snapshot_preview1"), import_name("path_open")))
int32_t wasi_path_open(int32_t dirfd, uint32_t dirflags, const char *path, uint32_t path_len,
                       uint32_t oflags, uint64_t rights_base, uint64_t rights_inheriting,
                       uint32_t fdflags, int32_t *fd);

KESTREL_ABI()

static void escape(void) {
    static const char msg[] = "escaped the sandbox\n";
    static const char path[] = "etc/shadow";
    struct { const void *buf; uint32_t len; } iov = {msg, sizeof msg - 1};
    uint32_t written;
    int32_t fd;
    wasi_fd_write(1, &iov, 1, &written);
    wasi_path_open(3, 0, path, sizeof path - 1, 0, ~0ull, ~0ull, 0, &fd);
}

static int rule(const kestrel_event *ev, kestrel_out *out) {
    if (kestrel_event_str_eq(ev, "process.name", "boom")) escape();
    if (kestrel_event_str_eq(ev, "process.name", "nc")) kestrel_report(out, ev->index);
    return 0;
}
KESTREL_RULE(rule)
