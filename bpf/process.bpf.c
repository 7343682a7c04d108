// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Process family: exec, fork (new processes, not threads), exit (of the
 * last thread of a process). BTF tracepoints: no tracefs needed.
 */
#include "common.bpf.h"

#define PIDTYPE_PGID 2
#define PIDTYPE_SID 3
#define SIGNAL_GROUP_EXIT 0x00000004

static __always_inline __u32 pid_of(struct pid *p)
{
	return p ? BPF_CORE_READ(p, numbers[0].nr) : 0;
}

/*
 * Copy [start, end) of the process's memory (argv or environ), at most max
 * bytes, into the record at off; mask (a power of two minus one, at least
 * max) bounds the length for the verifier. Returns the new offset.
 */
static __always_inline __u32 put_user_span(__u8 *buf, __u32 off, unsigned long start, unsigned long end,
					   __u32 max, __u32 mask, __u32 *len_out, __u32 *trunc_out)
{
	unsigned long len = end > start ? end - start : 0;

	*trunc_out = len > max;
	if (len > max)
		len = max;
	len &= mask;
	if (len && bpf_probe_read_user(buf + (off & SCRATCH_MASK), len, (void *)start) == 0)
		off += len;
	else
		len = 0;
	*len_out = len;
	return off;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(kestrel_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct k_config *c = wanted(FAM_PROCESS);
	struct k_exec *e;
	struct mm_struct *mm;
	struct path_out po = {};
	struct file *f;
	__u8 *buf;
	__u32 off, max, len = 0, trunc = 0;

	if (!c)
		return 0;
	buf = get_scratch();
	if (!buf)
		return 0;
	e = (struct k_exec *)buf;
	fill_hdr(&e->h, p, K_EXEC);
	e->old_pid = old_pid;
	e->sid = pid_of(BPF_CORE_READ(p, signal, pids[PIDTYPE_SID]));
	e->pgid = pid_of(BPF_CORE_READ(p, signal, pids[PIDTYPE_PGID]));
	e->tty = BPF_CORE_READ(p, signal, tty) != 0;
	e->ppid_start = BPF_CORE_READ(p, real_parent, group_leader, start_boottime);

	off = sizeof(*e);
	f = BPF_CORE_READ(bprm, file);
	off = put_file_path(buf, off, f, &po);
	e->exe_len = po.len;
	e->exe_n = po.n;
	e->exe_flags = po.flags;

	off = put_path(buf, off, BPF_CORE_READ(p, fs, pwd.dentry), BPF_CORE_READ(p, fs, pwd.mnt), &po);
	e->cwd_len = po.len;
	e->cwd_n = po.n;
	e->cwd_flags = po.flags;

	mm = BPF_CORE_READ(p, mm);
	max = c->args_max;
	off = put_user_span(buf, off, BPF_CORE_READ(mm, arg_start), BPF_CORE_READ(mm, arg_end),
			    max > ARGS_MAX ? ARGS_MAX : max, ARGS_MAX * 2 - 1, &len, &trunc);
	e->args_len = len;
	e->args_trunc = trunc;
	len = 0;
	trunc = 0;
	max = c->env_max;
	if (max)
		off = put_user_span(buf, off, BPF_CORE_READ(mm, env_start), BPF_CORE_READ(mm, env_end),
				    max > ENV_MAX ? ENV_MAX : max, ENV_MAX * 2 - 1, &len, &trunc);
	e->env_len = len;
	e->env_trunc = trunc;
	submit(buf, off, FAM_PROCESS);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(kestrel_fork, struct task_struct *parent, struct task_struct *child)
{
	struct k_config *c;
	struct k_fork *e;
	__u8 *buf;

	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0; /* a new thread */
	c = wanted(FAM_PROCESS);
	if (!c)
		return 0;
	buf = get_scratch();
	if (!buf)
		return 0;
	e = (struct k_fork *)buf;
	fill_hdr(&e->h, child, K_FORK);
	e->parent_pid = BPF_CORE_READ(parent, tgid);
	e->parent_start = BPF_CORE_READ(parent, group_leader, start_boottime);
	e->_pad = 0;
	submit(buf, sizeof(*e), FAM_PROCESS);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(kestrel_exit, struct task_struct *p)
{
	struct k_config *c;
	struct k_exit *e;
	__u8 *buf;
	int code;

	/* Only when the last thread of the process goes: signal->live has
	 * dropped to 0 by the time this tracepoint fires. */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	c = wanted(FAM_PROCESS);
	if (!c)
		return 0;
	buf = get_scratch();
	if (!buf)
		return 0;
	e = (struct k_exit *)buf;
	fill_hdr(&e->h, p, K_EXIT);
	if (BPF_CORE_READ(p, signal, flags) & SIGNAL_GROUP_EXIT)
		code = BPF_CORE_READ(p, signal, group_exit_code);
	else
		code = BPF_CORE_READ(p, exit_code);
	e->code = code;
	e->_pad = 0;
	submit(buf, sizeof(*e), FAM_PROCESS);
	return 0;
}
