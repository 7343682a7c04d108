// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Block at exec without BPF LSM: on sched_process_exec, a binary whose
 * (device, inode) is in k_deny gets SIGKILL before it runs a single
 * instruction of its own (the signal is delivered on the way back to user
 * space). tp_btf needs no trampoline, so it loads where lsm/ and fentry/
 * are refused. Each block is reported on k_blocks.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "enforce.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} k_blocks SEC(".maps");

SEC("tp_btf/sched_process_exec")
int BPF_PROG(kestrel_block_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct k_deny_key key = {};
	struct k_enforce_cfg *cfg;
	struct k_block *b;
	struct inode *inode;
	__u32 zero = 0, *rule, outcome, tgid;

	inode = BPF_CORE_READ(bprm, file, f_inode);
	key.ino = BPF_CORE_READ(inode, i_ino);
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	rule = bpf_map_lookup_elem(&k_deny, &key);
	if (!rule)
		return 0;
	cfg = bpf_map_lookup_elem(&k_enforce_cfg, &zero);
	if (!cfg)
		return 0;
	tgid = BPF_CORE_READ(p, tgid);
	if (tgid == 1 || tgid == cfg->self_tgid) {
		outcome = BLOCK_SPARED;
	} else if (cfg->mode == ENFORCE_BLOCK) {
		bpf_send_signal(9 /* SIGKILL */);
		outcome = BLOCK_KILLED;
	} else {
		outcome = BLOCK_AUDITED;
	}
	b = bpf_ringbuf_reserve(&k_blocks, sizeof(*b), 0);
	if (!b)
		return 0;
	b->ts = bpf_ktime_get_boot_ns();
	b->dev = key.dev;
	b->ino = key.ino;
	b->pid = BPF_CORE_READ(p, pid);
	b->tgid = tgid;
	b->ppid = BPF_CORE_READ(p, real_parent, tgid);
	b->uid = BPF_CORE_READ(p, cred, uid.val);
	b->rule = *rule;
	b->outcome = outcome;
	bpf_get_current_comm(b->comm, sizeof(b->comm));
	bpf_ringbuf_submit(b, 0);
	return 0;
}
