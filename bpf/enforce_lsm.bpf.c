// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Block at exec with BPF LSM, where the kernel allows it: bprm_check_security
 * refuses a denied binary with -EPERM, so exec fails and the caller's
 * process goes on (no kill needed). Loaded with the maps of enforce.bpf.c
 * (reused by fd); the loader says which mode is active. On kernels that
 * refuse trampoline programs this object fails to load, and exec-kill
 * (enforce.bpf.c) does the blocking alone.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "enforce.h"

char LICENSE[] SEC("license") = "GPL";

#define EPERM 1

SEC("lsm/bprm_check_security")
int BPF_PROG(kestrel_lsm_exec, struct linux_binprm *bprm, int ret)
{
	struct k_deny_key key = {};
	struct k_enforce_cfg *cfg;
	struct inode *inode;
	__u32 zero = 0, tgid;

	if (ret)
		return ret;
	inode = BPF_CORE_READ(bprm, file, f_inode);
	key.ino = BPF_CORE_READ(inode, i_ino);
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	if (!bpf_map_lookup_elem(&k_deny, &key))
		return 0;
	cfg = bpf_map_lookup_elem(&k_enforce_cfg, &zero);
	if (!cfg || cfg->mode != ENFORCE_BLOCK)
		return 0;
	tgid = bpf_get_current_pid_tgid() >> 32;
	if (tgid == 1 || tgid == cfg->self_tgid)
		return 0;
	return -EPERM;
}
