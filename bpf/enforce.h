/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Prevention (block at exec): the deny map and the record of each block,
 * shared by the exec-kill program (enforce.bpf.c) and, where the kernel
 * allows BPF LSM programs, the LSM one (enforce_lsm.bpf.c). Kept apart from
 * kestrel.h: enforcement loads on its own, without the event families.
 */
#ifndef KESTREL_ENFORCE_H
#define KESTREL_ENFORCE_H

#define ENFORCE_DENY_MAX 4096

/* k_enforce_cfg[0].mode */
#define ENFORCE_AUDIT 1   /* report what would be blocked; block nothing */
#define ENFORCE_BLOCK 2

/* struct k_block.outcome */
#define BLOCK_AUDITED 0   /* audit mode: it ran */
#define BLOCK_KILLED 1    /* SIGKILL sent at exec, before its first instruction */
#define BLOCK_DENIED 2    /* the LSM hook refused the exec (-EPERM) */
#define BLOCK_SPARED 3    /* pid 1 or Kestrel itself: never touched */

struct k_deny_key {
	__u64 dev; /* the kernel's dev_t of the file's superblock: major << 20 | minor */
	__u64 ino;
};

struct k_enforce_cfg {
	__u32 mode;
	__u32 self_tgid; /* Kestrel's own process */
};

#ifdef __bpf__
/* The maps both programs use: enforce.bpf.c creates them; the loader hands
 * their fds to enforce_lsm.bpf.o (bpf_map__reuse_fd) before loading it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ENFORCE_DENY_MAX);
	__type(key, struct k_deny_key);
	__type(value, __u32);
} k_deny SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct k_enforce_cfg);
} k_enforce_cfg SEC(".maps");
#endif

struct k_block {
	__u64 ts;        /* bpf_ktime_get_boot_ns */
	__u64 dev;
	__u64 ino;
	__u32 pid;
	__u32 tgid;
	__u32 ppid;
	__u32 uid;
	__u32 rule;      /* the deny entry's value: which rule asked */
	__u32 outcome;
	char comm[16];
};
#endif
