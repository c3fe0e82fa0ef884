/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * io_uring operations audited as the syscalls they stand for (included by audit.bpf.c).
 *
 * io_uring requests don't pass through the syscall tracepoints: an IORING_OP_OPENAT is an
 * openat nobody would see. uring_submit (tp_btf/io_uring_submit_req) runs when a request
 * was prepared (its path copied into the kernel, its socket address read), in the
 * submitter's task: when the container audits the syscall the opcode stands for
 * (ocibpf_uring_ops, filled by user space), the event is built and kept by request until
 * uring_complete (tp_btf/io_uring_complete) gives its result. What can't be paired is
 * still written, with no result: a request whose slot is reused before a completion was
 * seen, or one for which the pending map had no room. uring_failed
 * (tp_btf/io_uring_req_failed) logs the requests the kernel refused while preparing them.
 *
 * Decoded: the path of OPENAT, OPENAT2, STATX, UNLINKAT, MKDIRAT, RENAMEAT, LINKAT and
 * SYMLINKAT (from the kernel's copy, struct filename), the address of CONNECT (read from
 * the submitter's memory at submission: see uring_sockaddr). args[] holds what the request
 * kept that maps to the syscall's arguments (dfd, flags, mode), 0 elsewhere.
 */
#ifndef OCIBPF_URING_BPF_H
#define OCIBPF_URING_BPF_H

/* ocibpf_uring_ops[opcode]: the syscall an opcode stands for, or -1. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, URING_OPS);
	__type(key, __u32);
	__type(value, __s32);
} ocibpf_uring_ops SEC(".maps");

/* Submitted, not yet completed: by request address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct ev_uring);
} ocibpf_uring_pending SEC(".maps");

/* Where an event is built (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ev_uring);
} uring_scratch SEC(".maps");

/* Write a built event to the ring (with or without its result). */
static __always_inline void uring_emit(const struct ev_uring *src)
{
	struct container_info c = { .container_cgid = src->h.container_cgid };
	struct ev_uring *e = event_reserve(&c, EV_URING, sizeof(*e));
	if (!e)
		return;
	/* All of it, header included: its time is the submission's. */
	if (bpf_probe_read_kernel(e, sizeof(*e), src) < 0) {
		bpf_ringbuf_discard(e, 0);
		return;
	}
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void uring_path(struct ev_uring *e, struct filename *f)
{
	const char *name = BPF_CORE_READ(f, name);
	if (name && bpf_probe_read_kernel_str(e->path, sizeof(e->path), name) > 0)
		e->has_path = 1;
}

/*
 * The address of a CONNECT: from the sockaddr the submitter passed (read in its own task,
 * at submission). The kernel's copy in the request's async data is not made yet when the
 * request is submitted on this kernel (read there, it holds stale bytes).
 */
static __always_inline void uring_sockaddr(struct ev_uring *e, struct io_kiocb *req)
{
	struct io_connect *conn = (void *)&req->cmd;
	void *uaddr = BPF_CORE_READ(conn, addr);
	union ob_sockaddr sa;
	if (!uaddr || bpf_probe_read_user(&sa, sizeof(struct ob_sockaddr_in6), uaddr) < 0)
		return;
	if (sa.family == AF_INET) {
		__builtin_memcpy(e->addr, sa.in.addr, 4);
		e->port = bpf_ntohs(sa.in.port);
	} else if (sa.family == AF_INET6) {
		__builtin_memcpy(e->addr, sa.in6.addr, 16);
		e->port = bpf_ntohs(sa.in6.port);
	} else {
		return;
	}
	e->family = sa.family;
	e->has_addr = 1;
}

/* What the request's prep kept: its path, address and arguments. */
static __always_inline void uring_decode(struct ev_uring *e, struct io_kiocb *req, __u8 op)
{
	void *cmd = &req->cmd;
	switch (op) {
	case 18: /* IORING_OP_OPENAT */
	case 28: { /* IORING_OP_OPENAT2 */
		struct io_open *o = cmd;
		e->args[0] = (__u64)(__s64)BPF_CORE_READ(o, dfd);
		e->args[2] = BPF_CORE_READ(o, how.flags);
		e->args[3] = BPF_CORE_READ(o, how.mode);
		uring_path(e, BPF_CORE_READ(o, filename));
		break;
	}
	case 21: { /* IORING_OP_STATX */
		struct io_statx *x = cmd;
		e->args[0] = (__u64)(__s64)BPF_CORE_READ(x, dfd);
		e->args[2] = BPF_CORE_READ(x, flags);
		e->args[3] = BPF_CORE_READ(x, mask);
		uring_path(e, BPF_CORE_READ(x, filename));
		break;
	}
	case 36: { /* IORING_OP_UNLINKAT */
		struct io_unlink *u = cmd;
		e->args[0] = (__u64)(__s64)BPF_CORE_READ(u, dfd);
		e->args[2] = BPF_CORE_READ(u, flags);
		uring_path(e, BPF_CORE_READ(u, filename));
		break;
	}
	case 37: { /* IORING_OP_MKDIRAT */
		struct io_mkdir *m = cmd;
		e->args[0] = (__u64)(__s64)BPF_CORE_READ(m, dfd);
		e->args[2] = BPF_CORE_READ(m, mode);
		uring_path(e, BPF_CORE_READ(m, filename));
		break;
	}
	case 35: { /* IORING_OP_RENAMEAT: the path is the old one, as for renameat2 */
		struct io_rename *r = cmd;
		e->args[0] = (__u64)(__s64)BPF_CORE_READ(r, old_dfd);
		e->args[2] = (__u64)(__s64)BPF_CORE_READ(r, new_dfd);
		e->args[4] = BPF_CORE_READ(r, flags);
		uring_path(e, BPF_CORE_READ(r, oldpath));
		break;
	}
	case 39: { /* IORING_OP_LINKAT: likewise */
		struct io_link *l = cmd;
		e->args[0] = (__u64)(__s64)BPF_CORE_READ(l, old_dfd);
		e->args[2] = (__u64)(__s64)BPF_CORE_READ(l, new_dfd);
		e->args[4] = BPF_CORE_READ(l, flags);
		uring_path(e, BPF_CORE_READ(l, oldpath));
		break;
	}
	case 38: { /* IORING_OP_SYMLINKAT: the path is the link made, as for symlinkat */
		struct io_link *l = cmd;
		e->args[1] = (__u64)(__s64)BPF_CORE_READ(l, new_dfd);
		uring_path(e, BPF_CORE_READ(l, newpath));
		break;
	}
	case 16: /* IORING_OP_CONNECT */
		uring_sockaddr(e, req);
		break;
	}
}

/* The event of an audited operation, its common fields filled (NULL: not audited). */
static __always_inline struct ev_uring *uring_begin(__u32 op, __u64 user_data)
{
	struct container_info *c = current_container();
	if (!c || !(c->flags & CF_AUDIT))
		return NULL;
	__s32 *nr = bpf_map_lookup_elem(&ocibpf_uring_ops, &op);
	if (!nr || !selected(c, *nr))
		return NULL;
	__u32 zero = 0;
	struct ev_uring *e = bpf_map_lookup_elem(&uring_scratch, &zero);
	if (!e)
		return NULL;
	__builtin_memset(e, 0, sizeof(*e) - sizeof(e->path));
	e->path[0] = 0;
	e->h.type = EV_URING;
	e->h.size = sizeof(*e);
	e->h.container_cgid = c->container_cgid;
	e->h.ts_boot_ns = bpf_ktime_get_boot_ns();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	e->pid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->nr = *nr;
	e->opcode = op;
	e->user_data = user_data;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

/* A request at this address that never showed a completion: written without. */
static __always_inline void uring_flush_stale(__u64 key)
{
	struct ev_uring *stale = bpf_map_lookup_elem(&ocibpf_uring_pending, &key);
	if (stale) {
		uring_emit(stale);
		bpf_map_delete_elem(&ocibpf_uring_pending, &key);
	}
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(uring_submit, struct io_kiocb *req)
{
	__u32 op = BPF_CORE_READ(req, opcode);
	struct ev_uring *e = uring_begin(op, BPF_CORE_READ(req, cqe.user_data));
	if (!e)
		return 0;
	uring_decode(e, req, op);
	__u64 key = (__u64)req;
	uring_flush_stale(key);
	if (bpf_map_update_elem(&ocibpf_uring_pending, &key, e, BPF_ANY) < 0)
		uring_emit(e);	/* no room to wait for the result: written now, without */
	return 0;
}

/*
 * A request the kernel refused while preparing it (bad flags, a path it could not read):
 * it never reaches io_uring_submit_req. Logged with its error and what the submission
 * queue entry said: args = fd, addr, len, op flags, off; the path read from the
 * submitter's memory for the path operations.
 */
SEC("tp_btf/io_uring_req_failed")
int BPF_PROG(uring_failed, const struct io_uring_sqe *sqe, struct io_kiocb *req, int error)
{
	struct ob_io_uring_sqe q;	/* the ABI's layout: no relocation (uapi.bpf.h) */
	if (bpf_probe_read_kernel(&q, sizeof(q), sqe) < 0)
		return 0;
	struct ev_uring *e = uring_begin(q.opcode, q.user_data);
	if (!e)
		return 0;
	e->args[0] = (__u64)(__s64)q.fd;
	e->args[1] = q.addr;
	e->args[2] = q.len;
	e->args[3] = q.rw_flags;
	e->args[4] = q.off;
	__u64 path = 0;
	switch (q.opcode) {
	case 18: case 28: case 21: case 36: case 37: case 35: case 39:
		path = q.addr;
		break;
	case 38:	/* SYMLINKAT: the link made */
		path = q.off;	/* addr2 */
		break;
	}
	if (path && bpf_probe_read_user_str(e->path, sizeof(e->path), (void *)path) > 0)
		e->has_path = 1;
	e->ret = error;
	e->has_ret = 1;
	uring_flush_stale((__u64)req);
	uring_emit(e);
	return 0;
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(uring_complete, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	__u64 key = (__u64)req;
	struct ev_uring *p = bpf_map_lookup_elem(&ocibpf_uring_pending, &key);
	if (!p)
		return 0;
	__s32 res = 0;
	bpf_probe_read_kernel(&res, sizeof(res), &((struct ob_io_uring_cqe *)cqe)->res);
	p->ret = res;
	p->has_ret = 1;
	uring_emit(p);
	bpf_map_delete_elem(&ocibpf_uring_pending, &key);
	return 0;
}

#endif
