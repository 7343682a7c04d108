/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every Kestrel program object shares: the maps (the loader creates
 * them once, with the first object, and hands the same fds to every other
 * object with bpf_map__reuse_fd before it is loaded), and the helpers that
 * fill the common header, walk paths and submit a record.
 */
#ifndef KESTREL_COMMON_BPF_H
#define KESTREL_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "kestrel.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Shared by all objects (same definitions, same names). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* the loader may resize it */
} k_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct k_config);
} k_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} k_counters SEC(".maps");

/* Where a record is assembled before bpf_ringbuf_output copies it out at its
 * exact size. Programs run with preemption disabled on tracepoints and never
 * nest, so one buffer per CPU serves every object. */
struct scratch_buf {
	__u8 b[SCRATCH_SIZE];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch_buf);
} k_scratch SEC(".maps");

#define AT_FDCWD -100
#define NO_BASE -1000 /* put_loc: keep the string as given */

static __always_inline struct k_config *get_config(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&k_config, &zero);
}

static __always_inline __u8 *get_scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&k_scratch, &zero);
}

/* The family is on and the current process is not Kestrel. */
static __always_inline struct k_config *wanted(int fam)
{
	struct k_config *c = get_config();
	if (!c || !(c->families & (1u << fam)))
		return 0;
	if ((__u32)(bpf_get_current_pid_tgid() >> 32) == c->self_tgid)
		return 0;
	return c;
}

static __always_inline void fill_hdr(struct k_hdr *h, struct task_struct *t, __u16 kind)
{
	const struct cred *cr = BPF_CORE_READ(t, cred);

	h->ts = bpf_ktime_get_boot_ns();
	h->kind = kind;
	h->pid = BPF_CORE_READ(t, tgid);
	h->tid = BPF_CORE_READ(t, pid);
	h->ppid = BPF_CORE_READ(t, real_parent, tgid);
	h->start = BPF_CORE_READ(t, group_leader, start_boottime);
	h->cgroup = bpf_get_current_cgroup_id();
	h->uid = BPF_CORE_READ(cr, uid.val);
	h->gid = BPF_CORE_READ(cr, gid.val);
	h->euid = BPF_CORE_READ(cr, euid.val);
	h->egid = BPF_CORE_READ(cr, egid.val);
	BPF_CORE_READ_STR_INTO(&h->comm, t, comm);
}

/* Submit buf[0:size] as one record; count it as emitted or dropped. */
static __always_inline void submit(void *buf, __u32 size, int fam)
{
	struct k_hdr *h = buf;
	__u32 key;
	__u64 *n;
	long err;

	size &= (SCRATCH_SIZE - 1);
	h->size = size;
	err = bpf_ringbuf_output(&k_events, buf, size, 0);
	key = fam * 2 + (err ? 1 : 0);
	n = bpf_map_lookup_elem(&k_counters, &key);
	if (n)
		*n += 1;
}

struct path_out {
	__u16 len, n;
	__u8 flags;
};

/* The dentry walk's state lives at the end of the scratch buffer (records
 * never reach it), not on the stack: values read back from a map are
 * unknown to the verifier, so every step of the walk looks the same to it
 * and the bpf_loop callback is verified once instead of once per depth. */
#define WALK_OFF (SCRATCH_SIZE - 64)
struct walk_ctx {
	struct dentry *d;
	struct mount *mnt;
	struct dentry *mroot;
	__u32 off, start;
	__u16 n;
	__u8 flags, done;
};

static long walk_step(__u32 i, void *arg)
{
	struct walk_ctx *w;
	struct dentry *d, *parent;
	const unsigned char *name;
	__u8 *buf;
	__u32 off;
	long r;

	buf = get_scratch();
	if (!buf)
		return 1;
	w = (struct walk_ctx *)(buf + WALK_OFF);
	d = w->d;
	if (!d) {
		w->flags |= PF_ERROR;
		w->done = 1;
		return 1;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (d == w->mroot) {
		struct mount *mnt = w->mnt;
		struct mount *pm = BPF_CORE_READ(mnt, mnt_parent);
		if (!pm || pm == mnt) {
			w->done = 1; /* the namespace root */
			return 1;
		}
		w->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = pm;
		w->mroot = BPF_CORE_READ(pm, mnt.mnt_root);
		return 0;
	}
	off = w->off;
	if (off - w->start > PATH_BYTES - NAME_CHUNK) {
		w->flags |= PF_TRUNC;
		w->done = 1;
		return 1;
	}
	name = BPF_CORE_READ(d, d_name.name);
	r = bpf_probe_read_kernel_str(buf + (off & SCRATCH_MASK), NAME_CHUNK, name);
	if (r <= 0) {
		w->flags |= PF_ERROR;
		w->done = 1;
		return 1;
	}
	w->off = off + r;
	w->n++;
	if (d == parent) {
		w->flags |= PF_PSEUDO; /* an internal mount's dentry: memfd:, pipe:, anon_inode: */
		w->done = 1;
		return 1;
	}
	w->d = parent;
	return 0;
}

/*
 * Append the component list of (dentry, vfsmount) at buf+off (buf is the
 * scratch buffer): names from the leaf up, each NUL-terminated, crossing
 * mount points up to the root of the task's mount namespace. Returns the
 * new offset.
 */
static __always_inline __u32 put_path(__u8 *buf, __u32 off, struct dentry *d, struct vfsmount *vmnt, struct path_out *out)
{
	struct walk_ctx *w = (struct walk_ctx *)(buf + WALK_OFF);

	if (!d || !vmnt) {
		out->len = 0;
		out->n = 0;
		out->flags = PF_ERROR;
		return off;
	}
	w->d = d;
	w->mnt = container_of(vmnt, struct mount, mnt);
	w->mroot = BPF_CORE_READ(vmnt, mnt_root);
	w->off = off;
	w->start = off;
	w->n = 0;
	w->done = 0;
	w->flags = 0;
	if (BPF_CORE_READ(d, d_parent) != d && !BPF_CORE_READ(d, d_hash.pprev))
		w->flags = PF_DELETED;
	bpf_loop(PATH_DEPTH, walk_step, 0, 0);
	if (!w->done)
		w->flags |= PF_TRUNC;
	out->len = w->off - w->start;
	out->n = w->n;
	out->flags = w->flags;
	return w->off;
}

static __always_inline __u32 put_file_path(__u8 *buf, __u32 off, struct file *f, struct path_out *out)
{
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	struct vfsmount *m = BPF_CORE_READ(f, f_path.mnt);
	return put_path(buf, off, d, m, out);
}

/* The struct file behind fd in the current task. */
static __always_inline struct file *fd_file(struct task_struct *t, int fd)
{
	struct file **fds;
	struct file *f = 0;
	unsigned int max;

	if (fd < 0)
		return 0;
	max = BPF_CORE_READ(t, files, fdt, max_fds);
	if ((unsigned int)fd >= max)
		return 0;
	fds = BPF_CORE_READ(t, files, fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* A user path string at buf+off (NUL-terminated, length incl. the NUL). */
static __always_inline __u32 put_ustr(__u8 *buf, __u32 off, const char *ustr, __u16 *len, __u8 *trunc)
{
	long r = bpf_probe_read_user_str(buf + (off & SCRATCH_MASK), USTR_MAX, ustr);
	if (r < 0)
		r = 0;
	*len = r;
	*trunc = r == USTR_MAX;
	return off + r;
}

/*
 * A path as a process named it: the base directory it is relative to (its
 * cwd, or the directory fd) unless it is absolute, then the string.
 */
static __always_inline __u32 put_loc(__u8 *buf, __u32 off, struct task_struct *t, int dfd, const char *ustr, struct k_loc *loc)
{
	struct path_out po = {};
	char first = 0;

	bpf_probe_read_user(&first, 1, ustr);
	if (dfd == NO_BASE) {
		po.flags = PF_ERROR;
	} else if (first != '/') {
		if (dfd == AT_FDCWD) {
			struct dentry *d = BPF_CORE_READ(t, fs, pwd.dentry);
			struct vfsmount *m = BPF_CORE_READ(t, fs, pwd.mnt);
			off = put_path(buf, off, d, m, &po);
		} else {
			struct file *f = fd_file(t, dfd);
			if (f)
				off = put_file_path(buf, off, f, &po);
			else
				po.flags = PF_ERROR;
		}
	}
	loc->base_len = po.len;
	loc->base_n = po.n;
	loc->base_flags = po.flags;
	return put_ustr(buf, off, ustr, &loc->rel_len, &loc->rel_trunc);
}

/* Syscall arguments at sys_exit: pt_regs still holds what user space passed
 * (x86_64: di, si, dx, r10, r8, r9); orig_ax is the syscall number. */
#define SC_ARG0(r) BPF_CORE_READ(r, di)
#define SC_ARG1(r) BPF_CORE_READ(r, si)
#define SC_ARG2(r) BPF_CORE_READ(r, dx)
#define SC_ARG3(r) BPF_CORE_READ(r, r10)
#define SC_ARG4(r) BPF_CORE_READ(r, r8)

#endif /* KESTREL_COMMON_BPF_H */
