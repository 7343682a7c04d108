// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Network family: connect (IPv4/IPv6, TCP and UDP; the outcome from the
 * return value), accept/accept4 (addresses from the new socket), and, when
 * asked (CFG_NET_DNS), DNS queries: the first message of a sendto, sendmsg
 * or sendmmsg on a UDP socket to port 53, copied for user space to parse.
 * One program on sys_exit, like file.bpf.c.
 */
#include "common.bpf.h"

#define NR_connect 42
#define NR_accept 43
#define NR_accept4 288
#define NR_sendto 44
#define NR_sendmsg 46
#define NR_sendmmsg 307
#define IPPROTO_UDP 17

#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define EINPROGRESS 115

static __always_inline struct sock *fd_sock(struct task_struct *t, int fd)
{
	struct file *f = fd_file(t, fd);
	struct socket *so;
	umode_t mode;

	if (!f)
		return 0;
	mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return 0;
	so = BPF_CORE_READ(f, private_data);
	return so ? BPF_CORE_READ(so, sk) : 0;
}

/* Local (and, if remote is set, remote) address and port of sk. */
static __always_inline void sock_addrs(struct sock *sk, struct k_sock *e, int remote)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	e->type = BPF_CORE_READ(sk, sk_type);
	e->protocol = BPF_CORE_READ(sk, sk_protocol);
	e->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (family == AF_INET) {
		bpf_probe_read_kernel(e->laddr, 4, &sk->__sk_common.skc_rcv_saddr);
		if (remote)
			bpf_probe_read_kernel(e->raddr, 4, &sk->__sk_common.skc_daddr);
	} else if (family == AF_INET6) {
		bpf_probe_read_kernel(e->laddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		if (remote)
			bpf_probe_read_kernel(e->raddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	if (remote) {
		__u16 dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
		e->rport = bpf_ntohs(dport);
		e->family = family;
	}
}

static __always_inline int do_connect(struct k_config *c, struct pt_regs *regs, long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct k_sock *e;
	struct sock *sk;
	__u8 *buf;
	__u16 family = 0;
	void *uaddr = (void *)SC_ARG1(regs);
	int fd = (int)SC_ARG0(regs);

	if (ret < 0 && ret != -EINPROGRESS && !(c->net_flags & CFG_NET_FAILED))
		return 0;
	bpf_probe_read_user(&family, sizeof(family), uaddr);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	buf = get_scratch();
	if (!buf)
		return 0;
	e = (struct k_sock *)buf;
	__builtin_memset((void *)e + sizeof(struct k_hdr), 0, sizeof(*e) - sizeof(struct k_hdr));
	fill_hdr(&e->h, t, K_CONNECT);
	e->nr = NR_connect;
	e->ret = ret;
	e->family = family;
	if (family == AF_INET) {
		struct sockaddr_in sa = {};
		bpf_probe_read_user(&sa, sizeof(sa), uaddr);
		e->rport = bpf_ntohs(sa.sin_port);
		__builtin_memcpy(e->raddr, &sa.sin_addr, 4);
	} else {
		struct sockaddr_in6 sa = {};
		bpf_probe_read_user(&sa, sizeof(sa), uaddr);
		e->rport = bpf_ntohs(sa.sin6_port);
		__builtin_memcpy(e->raddr, &sa.sin6_addr, 16);
	}
	sk = fd_sock(t, fd);
	if (sk)
		sock_addrs(sk, e, 0);
	submit(buf, sizeof(*e), FAM_NET);
	return 0;
}

static __always_inline int do_accept(struct k_config *c, long nr, long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct k_sock *e;
	struct sock *sk;
	__u8 *buf;

	if (ret < 0)
		return 0;
	sk = fd_sock(t, ret);
	if (!sk)
		return 0;
	{
		__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
		if (family != AF_INET && family != AF_INET6)
			return 0;
	}
	buf = get_scratch();
	if (!buf)
		return 0;
	e = (struct k_sock *)buf;
	__builtin_memset((void *)e + sizeof(struct k_hdr), 0, sizeof(*e) - sizeof(struct k_hdr));
	fill_hdr(&e->h, t, K_ACCEPT);
	e->nr = nr;
	e->ret = ret;
	sock_addrs(sk, e, 1);
	submit(buf, sizeof(*e), FAM_NET);
	return 0;
}

/* A DNS query leaving by UDP: the destination (the message's address, else
 * the connected peer) must be port 53. */
static __always_inline int do_dns(struct k_config *c, struct pt_regs *regs, long nr, long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct sockaddr_in6 sa = {};
	struct user_msghdr mh = {};
	struct iovec iov = {};
	struct k_sock *e;
	struct sock *sk;
	void *name = 0, *data;
	__u64 len;
	__u16 family;
	__u8 *buf;

	if (ret <= 0 || !(c->net_flags & CFG_NET_DNS))
		return 0;
	sk = fd_sock(t, (int)SC_ARG0(regs));
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP)
		return 0;
	if (nr == NR_sendto) {
		name = (void *)SC_ARG4(regs);
		data = (void *)SC_ARG1(regs);
		len = SC_ARG2(regs);
	} else {
		/* struct mmsghdr starts with its struct user_msghdr */
		bpf_probe_read_user(&mh, sizeof(mh), (void *)SC_ARG1(regs));
		name = mh.msg_name;
		if (!mh.msg_iovlen)
			return 0;
		bpf_probe_read_user(&iov, sizeof(iov), mh.msg_iov);
		data = iov.iov_base;
		len = iov.iov_len;
	}
	if (name) {
		bpf_probe_read_user(&sa, sizeof(sa), name);
		family = sa.sin6_family;
		if (family != AF_INET && family != AF_INET6)
			return 0;
		if (bpf_ntohs(sa.sin6_port) != 53) /* sin_port and sin6_port share the offset */
			return 0;
	} else {
		family = BPF_CORE_READ(sk, __sk_common.skc_family);
		if (bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport)) != 53)
			return 0;
	}
	if (len < 12)
		return 0;
	if (len > DNS_MAX)
		len = DNS_MAX;
	buf = get_scratch();
	if (!buf)
		return 0;
	e = (struct k_sock *)buf;
	__builtin_memset((void *)e + sizeof(struct k_hdr), 0, sizeof(*e) - sizeof(struct k_hdr));
	fill_hdr(&e->h, t, K_DNS);
	e->nr = nr;
	e->ret = ret;
	sock_addrs(sk, e, 1);
	e->family = family;
	if (name) {
		e->rport = 53;
		if (family == AF_INET)
			__builtin_memcpy(e->raddr, &((struct sockaddr_in *)&sa)->sin_addr, 4);
		else
			__builtin_memcpy(e->raddr, &sa.sin6_addr, 16);
	}
	len &= (DNS_MAX * 2 - 1);
	if (bpf_probe_read_user(buf + sizeof(*e), len, data))
		return 0;
	e->payload_len = len;
	submit(buf, sizeof(*e) + len, FAM_NET);
	return 0;
}

SEC("raw_tp/sys_exit")
int kestrel_net_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long ret = ctx->args[1];
	long nr = BPF_CORE_READ(regs, orig_ax);
	struct k_config *c;

	if (nr != NR_connect && nr != NR_accept && nr != NR_accept4 && nr != NR_sendto && nr != NR_sendmsg && nr != NR_sendmmsg)
		return 0;
	c = wanted(FAM_NET);
	if (!c)
		return 0;
	if (nr == NR_connect)
		return do_connect(c, regs, ret);
	if (nr == NR_accept || nr == NR_accept4)
		return do_accept(c, nr, ret);
	return do_dns(c, regs, nr, ret);
}
