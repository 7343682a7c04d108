// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kernel family: credential changes (setuid/setgid family), ptrace,
 * memfd_create, kernel module loading (init_module, finit_module) and BPF
 * program loading (bpf(BPF_PROG_LOAD)). One program on sys_exit.
 */
#include "common.bpf.h"

#define NR_ptrace 101
#define NR_setuid 105
#define NR_setgid 106
#define NR_setreuid 113
#define NR_setregid 114
#define NR_setresuid 117
#define NR_setresgid 119
#define NR_setfsuid 122
#define NR_setfsgid 123
#define NR_init_module 175
#define NR_finit_module 313
#define NR_memfd_create 319
#define NR_bpf 321

#define BPF_PROG_LOAD_CMD 5

/* ptrace requests worth an event: attaching, and writing to the tracee. */
static __always_inline int ptrace_wanted(long req)
{
	switch (req) {
	case 0:      /* TRACEME */
	case 4:      /* POKETEXT */
	case 5:      /* POKEDATA */
	case 6:      /* POKEUSER */
	case 13:     /* SETREGS */
	case 16:     /* ATTACH */
	case 0x4206: /* SEIZE */
		return 1;
	}
	return 0;
}

static __always_inline int do_setid(struct pt_regs *regs, long nr, long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	const struct cred *cr;
	struct k_setid *e;
	__u8 *buf;

	/* setfsuid/setfsgid return the previous id, never an error */
	if (ret != 0 && nr != NR_setfsuid && nr != NR_setfsgid)
		return 0;
	buf = get_scratch();
	if (!buf)
		return 0;
	e = (struct k_setid *)buf;
	fill_hdr(&e->h, t, K_SETID);
	cr = BPF_CORE_READ(t, cred);
	e->nr = nr;
	e->ret = ret;
	e->suid = BPF_CORE_READ(cr, suid.val);
	e->sgid = BPF_CORE_READ(cr, sgid.val);
	e->fsuid = BPF_CORE_READ(cr, fsuid.val);
	e->fsgid = BPF_CORE_READ(cr, fsgid.val);
	e->args[0] = SC_ARG0(regs);
	e->args[1] = SC_ARG1(regs);
	e->args[2] = SC_ARG2(regs);
	submit(buf, sizeof(*e), FAM_KERNEL);
	return 0;
}

static __always_inline int do_ptrace(struct pt_regs *regs, long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct k_ptrace *e;
	long req = SC_ARG0(regs);
	__u8 *buf;

	if (!ptrace_wanted(req))
		return 0;
	buf = get_scratch();
	if (!buf)
		return 0;
	e = (struct k_ptrace *)buf;
	fill_hdr(&e->h, t, K_PTRACE);
	e->request = req;
	e->target = SC_ARG1(regs);
	e->ret = ret;
	submit(buf, sizeof(*e), FAM_KERNEL);
	return 0;
}

static __always_inline int do_memfd(struct pt_regs *regs, long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct k_memfd *e;
	__u8 *buf;
	long n;

	buf = get_scratch();
	if (!buf)
		return 0;
	e = (struct k_memfd *)buf;
	fill_hdr(&e->h, t, K_MEMFD);
	e->flags = SC_ARG1(regs);
	e->ret = ret;
	n = bpf_probe_read_user_str(buf + sizeof(*e), MEMFD_NAME_MAX, (const char *)SC_ARG0(regs));
	if (n < 0)
		n = 0;
	e->name_len = n;
	submit(buf, sizeof(*e) + (n & (MEMFD_NAME_MAX * 2 - 1)), FAM_KERNEL);
	return 0;
}

static __always_inline int do_module(struct pt_regs *regs, long nr, long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct path_out po = {};
	struct k_module *e;
	const char *uargs;
	__u8 *buf;
	__u32 off;
	long n;

	buf = get_scratch();
	if (!buf)
		return 0;
	e = (struct k_module *)buf;
	fill_hdr(&e->h, t, K_MODULE);
	e->nr = nr;
	e->ret = ret;
	e->flags = 0;
	off = sizeof(*e);
	if (nr == NR_finit_module) {
		struct file *f = fd_file(t, (int)SC_ARG0(regs));
		uargs = (const char *)SC_ARG1(regs);
		e->flags = SC_ARG2(regs);
		if (f)
			off = put_file_path(buf, off, f, &po);
	} else {
		uargs = (const char *)SC_ARG2(regs);
	}
	e->path_len = po.len;
	e->path_n = po.n;
	e->path_flags = po.flags;
	n = bpf_probe_read_user_str(buf + (off & SCRATCH_MASK), 1024, uargs);
	if (n < 0)
		n = 0;
	e->args_len = n;
	submit(buf, off + n, FAM_KERNEL);
	return 0;
}

static __always_inline int do_bpf(struct pt_regs *regs, long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	union bpf_attr *uattr = (union bpf_attr *)SC_ARG1(regs);
	struct k_bpf *e;
	__u8 *buf;

	if (SC_ARG0(regs) != BPF_PROG_LOAD_CMD)
		return 0;
	buf = get_scratch();
	if (!buf)
		return 0;
	e = (struct k_bpf *)buf;
	fill_hdr(&e->h, t, K_BPF);
	e->cmd = BPF_PROG_LOAD_CMD;
	e->ret = ret;
	e->prog_type = 0;
	e->insn_cnt = 0;
	__builtin_memset(e->prog_name, 0, sizeof(e->prog_name));
	/* union bpf_attr is UAPI: these offsets are fixed */
	bpf_probe_read_user(&e->prog_type, 4, (void *)uattr + __builtin_offsetof(union bpf_attr, prog_type));
	bpf_probe_read_user(&e->insn_cnt, 4, (void *)uattr + __builtin_offsetof(union bpf_attr, insn_cnt));
	bpf_probe_read_user(e->prog_name, 16, (void *)uattr + __builtin_offsetof(union bpf_attr, prog_name));
	submit(buf, sizeof(*e), FAM_KERNEL);
	return 0;
}

SEC("raw_tp/sys_exit")
int kestrel_kernel_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long ret = ctx->args[1];
	long nr = BPF_CORE_READ(regs, orig_ax);

	switch (nr) {
	case NR_setuid:
	case NR_setgid:
	case NR_setreuid:
	case NR_setregid:
	case NR_setresuid:
	case NR_setresgid:
	case NR_setfsuid:
	case NR_setfsgid:
		if (!wanted(FAM_KERNEL))
			return 0;
		return do_setid(regs, nr, ret);
	case NR_ptrace:
		if (!wanted(FAM_KERNEL))
			return 0;
		return do_ptrace(regs, ret);
	case NR_memfd_create:
		if (!wanted(FAM_KERNEL))
			return 0;
		return do_memfd(regs, ret);
	case NR_init_module:
	case NR_finit_module:
		if (!wanted(FAM_KERNEL))
			return 0;
		return do_module(regs, nr, ret);
	case NR_bpf:
		if (!wanted(FAM_KERNEL))
			return 0;
		return do_bpf(regs, ret);
	}
	return 0;
}
