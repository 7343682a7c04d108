/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Kestrel's kernel/user ABI: the maps every program object shares and the
 * layout of every record the programs write to the ring buffer.
 *
 * Every record starts with struct k_hdr; `size` is the whole record. The
 * fixed part for the kind follows, then the variable-size strings the fixed
 * part gives the lengths of, in the order the fixed part names them. Paths
 * walked from a dentry are "component lists": the names from the leaf up to
 * the root, each NUL-terminated (user space reverses and joins them).
 *
 * kestrel/sources/decode.py mirrors this file; K_ABI is checked at load.
 */
#ifndef KESTREL_H
#define KESTREL_H

#define K_ABI 1

/* Families: one program object each; bit in k_config.families. */
#define FAM_PROCESS 0
#define FAM_FILE 1
#define FAM_NET 2
#define FAM_KERNEL 3
#define FAM_MAX 4

/* Record kinds. */
#define K_EXEC 1
#define K_FORK 2
#define K_EXIT 3
#define K_OPEN 10
#define K_UNLINK 11
#define K_RENAME 12
#define K_CHMOD 13
#define K_MKDIR 14   /* struct k_unlink; flags = mode */
#define K_LINK 15    /* struct k_rename: from = target, to = the new name; flags: 1 symlink */
#define K_CONNECT 20
#define K_ACCEPT 21
#define K_DNS 22     /* struct k_sock + payload_len bytes of the DNS query */
#define K_SETID 30
#define K_PTRACE 31
#define K_MEMFD 32
#define K_MODULE 33
#define K_BPF 34

/* k_config.file_flags */
#define CFG_FILE_READS 1  /* emit read-only opens (event.action "open") */
#define CFG_FILE_FAILED 2 /* emit failed file operations too */
#define CFG_FILE_READ_NAMES 4 /* read-only opens: only of files whose name is in k_open_names */
/* k_config.net_flags */
#define CFG_NET_FAILED 1 /* emit refused/failed connects */
#define CFG_NET_DNS 2    /* emit DNS queries sent over UDP to port 53 */
#define DNS_MAX 512      /* bytes of a DNS query kept */

/* Path component lists. */
#define PATH_DEPTH 40
#define NAME_CHUNK 256   /* at most this much of one component (NAME_MAX 255 + NUL) */
#define PATH_BYTES 4096  /* bytes of components kept per path */
/* path flags (per path: 4 bits) */
#define PF_TRUNC 1    /* deeper than PATH_DEPTH or longer than PATH_BYTES */
#define PF_DELETED 2  /* the leaf was unlinked */
#define PF_PSEUDO 4   /* not reachable from a root (memfd, pipe, anon inode) */
#define PF_ERROR 8    /* nothing could be read */

#define ARGS_MAX 4096
#define ENV_MAX 4096
#define MEMFD_NAME_MAX 256
#define USTR_MAX 4096

#define SCRATCH_SIZE 32768
#define SCRATCH_MASK 16383 /* every write starts below 16K and is at most ~8K long */

#define OPEN_NAME_MAX 64  /* k_open_names key: a file name, NUL-padded (longer names: their start) */
#define OPEN_NAMES_MAX 1024

#define COUNTERS 16 /* [2*family] emitted, [2*family+1] dropped (ring buffer full) */

struct k_config {
	__u32 self_tgid;   /* Kestrel itself: its events never leave the kernel */
	__u32 families;    /* bit (1 << FAM_x): family enabled */
	__u32 file_flags;
	__u32 net_flags;
	__u32 args_max;    /* bytes of argv kept at exec (<= ARGS_MAX) */
	__u32 env_max;     /* bytes of the environment kept at exec (0: none) */
	__u32 abi;         /* K_ABI, written by the loader, read by nobody */
	__u32 _pad;
};

struct k_hdr {
	__u64 ts;        /* bpf_ktime_get_boot_ns() */
	__u64 start;     /* the process's (group leader's) start_boottime */
	__u64 cgroup;    /* cgroup v2 id */
	__u16 kind;
	__u16 size;      /* the whole record */
	__u32 pid;       /* tgid */
	__u32 tid;
	__u32 ppid;      /* real parent's tgid */
	__u32 uid, gid, euid, egid;
	char comm[16];
}; /* 72 bytes */

struct k_exec {
	struct k_hdr h;
	__u32 old_pid;   /* the pid that called execve (a thread, before de_thread) */
	__u32 sid;       /* session id */
	__u32 pgid;      /* process group id */
	__u32 tty;       /* 1: has a controlling terminal */
	__u64 ppid_start;/* the parent's start_boottime */
	__u16 exe_len, exe_n;
	__u16 cwd_len, cwd_n;
	__u16 args_len, env_len;
	__u8 exe_flags, cwd_flags, args_trunc, env_trunc;
	/* exe components, cwd components, argv (NUL separated), env (NUL separated) */
};

struct k_fork {
	struct k_hdr h;  /* the child */
	__u64 parent_start;
	__u32 parent_pid; /* the task that forked (its tgid) */
	__u32 _pad;
};

struct k_exit {
	struct k_hdr h;
	__s32 code;      /* wait status: (code >> 8) & 0xff exit status, & 0x7f signal */
	__u32 _pad;
};

/* A "located path": an optional base directory (component list) and the
 * path string the process passed. If rel starts with '/', base is empty;
 * base_flags PF_ERROR with no base: the base could not be found (or, for a
 * symlink's target, is not meant to be resolved). */
struct k_loc {
	__u16 base_len, base_n;
	__u16 rel_len;
	__u8 base_flags, rel_trunc;
};

struct k_open {
	struct k_hdr h;
	__u32 nr;        /* syscall */
	__s32 ret;       /* fd or -errno */
	__u64 flags;     /* open flags */
	__u32 mode;      /* create mode */
	__u32 fmode;     /* struct file f_mode (FMODE_CREATED) */
	__u16 path_len, path_n;  /* walked from the opened file (success) */
	__u8 path_flags, created;
	__u8 _pad[2];
	struct k_loc loc;        /* as passed (failures) */
	/* path components, then base components + rel string */
};

struct k_unlink {
	struct k_hdr h;
	__u32 nr;
	__s32 ret;
	__u32 flags;     /* unlinkat AT_REMOVEDIR */
	__u32 _pad;
	struct k_loc loc;
	/* base components, rel string */
};

struct k_rename {
	struct k_hdr h;
	__u32 nr;
	__s32 ret;
	__u32 flags;
	__u32 _pad;
	struct k_loc from;
	struct k_loc to;
	/* from: base components, rel; to: base components, rel */
};

struct k_chmod {
	struct k_hdr h;
	__u32 nr;
	__s32 ret;
	__u32 mode;
	__u32 _pad;
	__u16 path_len, path_n;  /* fchmod: walked from the fd */
	__u8 path_flags, _pad1[3];
	struct k_loc loc;
	/* path components (fchmod), base components, rel */
};

struct k_sock {
	struct k_hdr h;
	__u32 nr;
	__s32 ret;
	__u16 family;    /* AF_INET, AF_INET6 */
	__u16 type;      /* SOCK_STREAM, SOCK_DGRAM, ... */
	__u16 protocol;  /* IPPROTO_TCP, IPPROTO_UDP */
	__u16 lport;     /* host order */
	__u16 rport;     /* host order */
	__u16 payload_len; /* K_DNS: bytes of the query following the struct */
	__u16 _pad[2];
	__u8 laddr[16];  /* IPv4 in the first 4 bytes */
	__u8 raddr[16];
};

struct k_setid {
	struct k_hdr h;  /* ids after the call */
	__u32 nr;
	__s32 ret;
	__u32 suid, sgid, fsuid, fsgid;
	__u64 args[3];
};

struct k_ptrace {
	struct k_hdr h;
	__s64 request;
	__u32 target;    /* pid argument */
	__s32 ret;
};

struct k_memfd {
	struct k_hdr h;
	__u32 flags;
	__s32 ret;
	__u16 name_len;
	__u8 _pad[6];
	/* name */
};

struct k_module {
	struct k_hdr h;
	__u32 nr;        /* init_module, finit_module */
	__s32 ret;
	__u32 flags;
	__u16 path_len, path_n;  /* finit_module: the file */
	__u8 path_flags, _pad[3];
	__u16 args_len;
	__u8 _pad2[2];
	/* path components, module parameters string */
};

struct k_bpf {
	struct k_hdr h;
	__u32 cmd;
	__s32 ret;
	__u32 prog_type;
	__u32 insn_cnt;
	char prog_name[16];
};

#endif /* KESTREL_H */
