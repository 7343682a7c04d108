// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * File family: open/openat/openat2/creat, unlink/unlinkat/rmdir,
 * rename/renameat/renameat2, chmod/fchmod/fchmodat/fchmodat2, mkdir/mkdirat,
 * link/linkat/symlink/symlinkat.
 *
 * One program on sys_exit does it all: at syscall exit pt_regs still holds
 * the arguments user space passed, the outcome is known, and a successful
 * open's path can be walked from the new file itself (absolute, symlinks
 * resolved, no race with the string). No sys_enter program and no per-task
 * map of arguments in flight are needed.
 */
#include "common.bpf.h"

/* x86_64 syscall numbers */
#define NR_open 2
#define NR_rename 82
#define NR_rmdir 84
#define NR_creat 85
#define NR_unlink 87
#define NR_chmod 90
#define NR_fchmod 91
#define NR_mkdir 83
#define NR_link 86
#define NR_symlink 88
#define NR_mkdirat 258
#define NR_linkat 265
#define NR_symlinkat 266
#define NR_openat 257
#define NR_unlinkat 263
#define NR_renameat 264
#define NR_fchmodat 268
#define NR_renameat2 316
#define NR_openat2 437
#define NR_fchmodat2 452

#define O_ACCMODE 3
#define O_CREAT 0100
#define O_TRUNC 01000
#define O_TMPFILE 020000000
#define FMODE_CREATED_BIT 20 /* fs.h: FMODE_CREATED (1 << 20) */

/* The names of the files whose read-only opens the rules can match, when
 * they say so (CFG_FILE_READ_NAMES): every other read-only open stays in
 * the kernel. Filled by the loader from the rules' file.path/file.name. */
struct open_name {
	char name[OPEN_NAME_MAX];
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OPEN_NAMES_MAX);
	__type(key, struct open_name);
	__type(value, __u8);
} k_open_names SEC(".maps");

static __always_inline int name_wanted(struct file *f)
{
	struct open_name key = {};
	const unsigned char *name = BPF_CORE_READ(f, f_path.dentry, d_name.name);

	bpf_probe_read_kernel_str(key.name, sizeof(key.name), name);
	return bpf_map_lookup_elem(&k_open_names, &key) != 0;
}

static __always_inline int do_open(struct k_config *c, struct pt_regs *regs, long nr, long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct k_open *e;
	struct path_out po = {};
	__u64 flags = 0;
	__u32 mode = 0, off;
	int dfd = AT_FDCWD;
	const char *upath;
	__u8 *buf;

	if (nr == NR_openat || nr == NR_openat2) {
		dfd = (int)SC_ARG0(regs);
		upath = (const char *)SC_ARG1(regs);
		if (nr == NR_openat) {
			flags = SC_ARG2(regs);
			mode = SC_ARG3(regs);
		} else {
			struct open_how how = {};
			bpf_probe_read_user(&how, sizeof(how), (void *)SC_ARG2(regs));
			flags = how.flags;
			mode = how.mode;
		}
	} else if (nr == NR_creat) {
		upath = (const char *)SC_ARG0(regs);
		flags = O_CREAT | O_TRUNC | 1;
		mode = SC_ARG1(regs);
	} else {
		upath = (const char *)SC_ARG0(regs);
		flags = SC_ARG1(regs);
		mode = SC_ARG2(regs);
	}
	int readonly = (flags & O_ACCMODE) == 0 && !(flags & (O_CREAT | O_TRUNC));

	if (readonly && !(c->file_flags & CFG_FILE_READS))
		return 0; /* a read-only open and no rule reads them */
	if (ret < 0 && !(c->file_flags & CFG_FILE_FAILED))
		return 0;
	if (readonly && ret >= 0 && (c->file_flags & CFG_FILE_READ_NAMES)) {
		struct file *f = fd_file(t, ret);
		if (!f || !name_wanted(f))
			return 0; /* a read-only open of a file no rule names */
	}
	buf = get_scratch();
	if (!buf)
		return 0;
	e = (struct k_open *)buf;
	fill_hdr(&e->h, t, K_OPEN);
	e->nr = nr;
	e->ret = ret;
	e->flags = flags;
	e->mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0; /* else whatever was in the register */
	e->fmode = 0;
	e->created = 0;
	e->_pad[0] = 0;
	e->_pad[1] = 0;
	off = sizeof(*e);
	if (ret >= 0) {
		struct file *f = fd_file(t, ret);
		if (f) {
			e->fmode = BPF_CORE_READ(f, f_mode);
			e->created = (e->fmode >> FMODE_CREATED_BIT) & 1;
			off = put_file_path(buf, off, f, &po);
		} else {
			po.flags = PF_ERROR;
		}
		e->loc.base_len = 0;
		e->loc.base_n = 0;
		e->loc.base_flags = 0;
		e->loc.rel_len = 0;
		e->loc.rel_trunc = 0;
	} else {
		off = put_loc(buf, off, t, dfd, upath, &e->loc);
	}
	e->path_len = po.len;
	e->path_n = po.n;
	e->path_flags = po.flags;
	submit(buf, off, FAM_FILE);
	return 0;
}

/*
 * unlink/unlinkat/rmdir and mkdir/mkdirat: one location and a flags word
 * (AT_REMOVEDIR for rmdir, the mode for mkdir), in the same record layout.
 */
static __always_inline int do_dir_op(struct k_config *c, struct pt_regs *regs, long nr, long ret, __u32 kind)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct k_unlink *e;
	int dfd = AT_FDCWD;
	const char *upath;
	__u8 *buf;
	__u32 off;

	if (ret < 0 && !(c->file_flags & CFG_FILE_FAILED))
		return 0;
	buf = get_scratch();
	if (!buf)
		return 0;
	e = (struct k_unlink *)buf;
	fill_hdr(&e->h, t, kind);
	e->nr = nr;
	e->ret = ret;
	if (nr == NR_unlinkat || nr == NR_mkdirat) {
		dfd = (int)SC_ARG0(regs);
		upath = (const char *)SC_ARG1(regs);
		e->flags = SC_ARG2(regs);
	} else {
		upath = (const char *)SC_ARG0(regs);
		if (nr == NR_mkdir)
			e->flags = SC_ARG1(regs);
		else
			e->flags = nr == NR_rmdir ? 0x200 /* AT_REMOVEDIR */ : 0;
	}
	off = put_loc(buf, sizeof(*e), t, dfd, upath, &e->loc);
	submit(buf, off, FAM_FILE);
	return 0;
}

/* link/symlink and rename report two locations in one record. */
static __always_inline struct k_rename *two_paths_begin(struct k_config *c, struct task_struct *t,
							__u32 kind, long nr, long ret)
{
	struct k_rename *e;

	if (ret < 0 && !(c->file_flags & CFG_FILE_FAILED))
		return NULL;
	e = (struct k_rename *)get_scratch();
	if (!e)
		return NULL;
	fill_hdr(&e->h, t, kind);
	e->nr = nr;
	e->ret = ret;
	e->flags = 0;
	return e;
}

static __always_inline void two_paths_submit(struct k_rename *e, struct task_struct *t,
					     int odfd, const char *from, int ndfd, const char *to)
{
	__u8 *buf = (__u8 *)e;
	__u32 off;

	off = put_loc(buf, sizeof(*e), t, odfd, from, &e->from);
	off = put_loc(buf, off, t, ndfd, to, &e->to);
	submit(buf, off, FAM_FILE);
}

static __always_inline int do_link(struct k_config *c, struct pt_regs *regs, long nr, long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct k_rename *e = two_paths_begin(c, t, K_LINK, nr, ret);
	int odfd = AT_FDCWD, ndfd = AT_FDCWD;
	const char *from, *to;

	if (!e)
		return 0;
	if (nr == NR_link || nr == NR_symlink) {
		from = (const char *)SC_ARG0(regs);
		to = (const char *)SC_ARG1(regs);
	} else if (nr == NR_symlinkat) {
		from = (const char *)SC_ARG0(regs);
		ndfd = (int)SC_ARG1(regs);
		to = (const char *)SC_ARG2(regs);
	} else {
		odfd = (int)SC_ARG0(regs);
		from = (const char *)SC_ARG1(regs);
		ndfd = (int)SC_ARG2(regs);
		to = (const char *)SC_ARG3(regs);
	}
	if (nr == NR_symlink || nr == NR_symlinkat) {
		e->flags = 1;
		odfd = NO_BASE; /* a symlink's target is stored as written */
	}
	two_paths_submit(e, t, odfd, from, ndfd, to);
	return 0;
}

static __always_inline int do_rename(struct k_config *c, struct pt_regs *regs, long nr, long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct k_rename *e = two_paths_begin(c, t, K_RENAME, nr, ret);
	int odfd = AT_FDCWD, ndfd = AT_FDCWD;
	const char *from, *to;

	if (!e)
		return 0;
	if (nr == NR_rename) {
		from = (const char *)SC_ARG0(regs);
		to = (const char *)SC_ARG1(regs);
	} else {
		odfd = (int)SC_ARG0(regs);
		from = (const char *)SC_ARG1(regs);
		ndfd = (int)SC_ARG2(regs);
		to = (const char *)SC_ARG3(regs);
		if (nr == NR_renameat2)
			e->flags = SC_ARG4(regs);
	}
	two_paths_submit(e, t, odfd, from, ndfd, to);
	return 0;
}

static __always_inline int do_chmod(struct k_config *c, struct pt_regs *regs, long nr, long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct k_chmod *e;
	struct path_out po = {};
	__u8 *buf;
	__u32 off;

	if (ret < 0 && !(c->file_flags & CFG_FILE_FAILED))
		return 0;
	buf = get_scratch();
	if (!buf)
		return 0;
	e = (struct k_chmod *)buf;
	fill_hdr(&e->h, t, K_CHMOD);
	e->nr = nr;
	e->ret = ret;
	off = sizeof(*e);
	if (nr == NR_fchmod) {
		struct file *f = fd_file(t, (int)SC_ARG0(regs));
		e->mode = SC_ARG1(regs);
		if (f)
			off = put_file_path(buf, off, f, &po);
		else
			po.flags = PF_ERROR;
		e->loc.base_len = 0;
		e->loc.base_n = 0;
		e->loc.base_flags = 0;
		e->loc.rel_len = 0;
		e->loc.rel_trunc = 0;
	} else if (nr == NR_chmod) {
		e->mode = SC_ARG1(regs);
		off = put_loc(buf, off, t, AT_FDCWD, (const char *)SC_ARG0(regs), &e->loc);
	} else {
		e->mode = SC_ARG2(regs);
		off = put_loc(buf, off, t, (int)SC_ARG0(regs), (const char *)SC_ARG1(regs), &e->loc);
	}
	e->path_len = po.len;
	e->path_n = po.n;
	e->path_flags = po.flags;
	submit(buf, off, FAM_FILE);
	return 0;
}

SEC("raw_tp/sys_exit")
int kestrel_file_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long ret = ctx->args[1];
	long nr = BPF_CORE_READ(regs, orig_ax);
	struct k_config *c;

	switch (nr) {
	case NR_open:
	case NR_openat:
	case NR_openat2:
	case NR_creat:
	case NR_unlink:
	case NR_unlinkat:
	case NR_rmdir:
	case NR_rename:
	case NR_renameat:
	case NR_renameat2:
	case NR_chmod:
	case NR_fchmod:
	case NR_fchmodat:
	case NR_fchmodat2:
	case NR_mkdir:
	case NR_mkdirat:
	case NR_link:
	case NR_linkat:
	case NR_symlink:
	case NR_symlinkat:
		break;
	default:
		return 0;
	}
	c = wanted(FAM_FILE);
	if (!c)
		return 0;
	switch (nr) {
	case NR_open:
	case NR_openat:
	case NR_openat2:
	case NR_creat:
		return do_open(c, regs, nr, ret);
	case NR_unlink:
	case NR_unlinkat:
	case NR_rmdir:
		return do_dir_op(c, regs, nr, ret, K_UNLINK);
	case NR_rename:
	case NR_renameat:
	case NR_renameat2:
		return do_rename(c, regs, nr, ret);
	case NR_mkdir:
	case NR_mkdirat:
		return do_dir_op(c, regs, nr, ret, K_MKDIR);
	case NR_link:
	case NR_linkat:
	case NR_symlink:
	case NR_symlinkat:
		return do_link(c, regs, nr, ret);
	default:
		return do_chmod(c, regs, nr, ret);
	}
}
