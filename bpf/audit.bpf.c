// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Exec and syscall auditing, and syscall counting.
 *
 * - exec_audit (tp_btf/sched_process_exec, always attached: runs only on exec) counts
 *   execs and, for audited containers, emits an ev_exec with argv.
 * - sys_enter_tp/sys_exit_tp are attached to the syscalls/sys_{enter,exit}_NAME tracepoints
 *   of exactly the syscalls some policy in force audits, so a host whose containers audit a
 *   few syscalls pays nothing on the others.
 * - raw_sys_enter/raw_sys_exit (tp_btf sys_enter/sys_exit) are attached only while some
 *   container counts every syscall or audits them all.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "container.bpf.h"
#include "uapi.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define AF_INET6 10

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CONTAINERS);
	__type(key, __u64);
	__type(value, struct syscall_sel);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* created in µs, not ms */
} ocibpf_audit_sel SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, struct sys_argmap);
} ocibpf_argmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	/* 45 ms to create preallocated (65,536 entries per CPU), 0.5 ms without */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct syscount_key);
	__type(value, __u64);
} ocibpf_syscall_counts SEC(".maps");

/* Per container, the syscalls that have an entry in ocibpf_syscall_counts (ocibpf.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CONTAINERS);
	__type(key, __u64);
	__type(value, struct syscall_sel);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} ocibpf_syscall_seen SEC(".maps");

/*
 * A syscall between enter and exit, in the thread's own task storage: unlike an LRU map
 * it can't be evicted by other threads' syscalls (an evicted entry was a record lost
 * uncounted), and it goes with the thread (exits that never come: exit_group).
 */
struct pending {
	__u64 args[6];
	__s32 nr;
	__u32 live;	/* an enter waits for its exit */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pending);
} ocibpf_pending_task SEC(".maps");

static __always_inline bool selected(const struct container_info *c, __s32 nr)
{
	if (nr < 0 || nr >= MAX_SYSCALLS)
		return false;
	struct syscall_sel *sel = bpf_map_lookup_elem(&ocibpf_audit_sel, &c->container_cgid);
	if (!sel)
		return false;
	/* Masked, not just compared: the verifier must see the index bounded. */
	__u32 i = ((__u32)nr / 64) & (MAX_SYSCALLS / 64 - 1);
	return sel->bits[i] & (1ULL << ((__u32)nr % 64));
}

static __always_inline void count_lost(const struct container_info *c)
{
	struct container_stats *s = stats_of(c);
	if (s)
		s->audit_lost++;
}

static __always_inline void remember(const struct container_info *c, __s32 nr, const __u64 *args)
{
	struct pending *p = bpf_task_storage_get(&ocibpf_pending_task, bpf_get_current_task_btf(),
						 NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!p) {
		count_lost(c);	/* no memory for the thread's storage: its record is lost */
		return;
	}
	if (p->live)
		count_lost(c);	/* an enter whose exit never came (a tracepoint attached between) */
	p->nr = nr;
	p->live = 1;
	__builtin_memcpy(p->args, args, sizeof(p->args));
}

/* The thread's syscall between enter and exit (NULL when none was remembered). */
static __always_inline struct pending *pending_get(void)
{
	struct pending *p = bpf_task_storage_get(&ocibpf_pending_task, bpf_get_current_task_btf(),
						 NULL, 0);
	return p && p->live ? p : NULL;
}

static __always_inline void pending_clear(struct pending *p)
{
	p->live = 0;
}

static __always_inline void decode_sockaddr(struct ev_syscall *e, __u64 uaddr)
{
	__u16 family = 0;
	if (!uaddr || bpf_probe_read_user(&family, sizeof(family), (void *)uaddr) < 0)
		return;
	if (family == AF_INET) {
		struct ob_sockaddr_in sin;
		if (bpf_probe_read_user(&sin, sizeof(sin), (void *)uaddr) < 0)
			return;
		__builtin_memcpy(e->addr, sin.addr, 4);
		e->port = bpf_ntohs(sin.port);
	} else if (family == AF_INET6) {
		struct ob_sockaddr_in6 sin6;
		if (bpf_probe_read_user(&sin6, sizeof(sin6), (void *)uaddr) < 0)
			return;
		__builtin_memcpy(e->addr, sin6.addr, 16);
		e->port = bpf_ntohs(sin6.port);
	} else {
		return;
	}
	e->family = family;
	e->has_addr = 1;
}

/*
 * A string of any length into buf[EV_PATH_MAX]: whole when it fits; else its last
 * EV_PATH_MAX - 1 bytes (the end of a path says the most: /./././etc/passwd) and
 * *truncated set. The length is found a chunk at a time (buf is the scratch space), up to
 * PATH_CHUNKS chunks, past PATH_MAX. Returns what the last read returned (> 0: a string).
 */
#define PATH_CHUNKS 17
static __always_inline long read_str(char *buf, const char *src, bool user)
{
	return user ? bpf_probe_read_user_str(buf, EV_PATH_MAX, src)
		    : bpf_probe_read_kernel_str(buf, EV_PATH_MAX, src);
}

static __always_inline long read_str_tail(char *buf, const char *src, bool user, __u8 *truncated)
{
	*truncated = 0;
	long n = read_str(buf, src, user);
	if (n < EV_PATH_MAX)
		return n;
	__u64 len = 0;
	for (int i = 1; i <= PATH_CHUNKS; i++) {
		__u64 off = (__u64)i * (EV_PATH_MAX - 1);
		n = read_str(buf, src + off, user);
		if (n <= 0)
			return n;
		if (n < EV_PATH_MAX) {
			len = off + n - 1;
			break;
		}
	}
	if (len == 0) {
		*truncated = 1;   /* longer than we look: the last chunk read stands */
		return n;
	}
	if (len < EV_PATH_MAX)
		return read_str(buf, src, user);   /* it fitted after all (exactly 255 bytes) */
	*truncated = 1;
	return read_str(buf, src + len - (EV_PATH_MAX - 1), user);
}

static __always_inline void emit_syscall(const struct container_info *c, __s64 ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct pending *p = pending_get();
	if (!p)
		return;
	struct ev_syscall *e = event_reserve(c, EV_SYSCALL, sizeof(*e));
	if (!e) {
		pending_clear(p);
		return;
	}
	e->pid = pid_tgid >> 32;
	e->tid = tid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->nr = p->nr;
	e->ret = ret;
	__builtin_memcpy(e->args, p->args, sizeof(e->args));
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->has_path = e->has_addr = e->family = e->path_truncated = 0;
	e->port = 0;
	e->path[0] = 0;

	__u32 nr = (__u32)p->nr;
	struct sys_argmap *am = bpf_map_lookup_elem(&ocibpf_argmap, &nr);
	if (am) {
		__s8 pa = am->path_arg, sa = am->sockaddr_arg;
		if (pa >= 0 && pa < 6 &&
		    read_str_tail(e->path, (const char *)e->args[pa & 7], true, &e->path_truncated) > 0)
			e->has_path = 1;
		if (sa >= 0 && sa < 6)
			decode_sockaddr(e, e->args[sa & 7]);
	}
	pending_clear(p);
	bpf_ringbuf_submit(e, 0);
}

/* --- per-syscall tracepoints ------------------------------------------------------ */

/* The common layout of syscalls/sys_enter_* and sys_exit_* records. */
struct tp_sys_enter {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__u64 args[6];
};

struct tp_sys_exit {
	__u64 common;
	__s32 nr;
	__u32 pad;
	__s64 ret;
};

SEC("tracepoint/syscalls/sys_enter_generic")
int sys_enter_tp(void *ctx)
{
	struct container_info *c = current_container();
	if (!c || !(c->flags & CF_AUDIT) || (c->flags & CF_AUDIT_RAW))
		return 0;
	struct tp_sys_enter rec;
	/* Records of syscalls with fewer arguments are shorter: read, don't index ctx. */
	if (bpf_probe_read_kernel(&rec, sizeof(rec), ctx) < 0 || !selected(c, rec.nr))
		return 0;
	remember(c, rec.nr, rec.args);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_generic")
int sys_exit_tp(struct tp_sys_exit *ctx)
{
	struct container_info *c = current_container();
	if (!c || !(c->flags & CF_AUDIT) || (c->flags & CF_AUDIT_RAW))
		return 0;
	emit_syscall(c, ctx->ret);
	return 0;
}

/* --- every syscall (counting, audit "all") ----------------------------------------- */

/* The container's set of syscalls with a count entry (made on its first syscall). */
static __always_inline struct syscall_sel *seen_of(const struct container_info *c)
{
	struct syscall_sel *seen = bpf_map_lookup_elem(&ocibpf_syscall_seen, &c->container_cgid);
	if (seen)
		return seen;
	struct syscall_sel none = {};
	bpf_map_update_elem(&ocibpf_syscall_seen, &c->container_cgid, &none, BPF_NOEXIST);
	return bpf_map_lookup_elem(&ocibpf_syscall_seen, &c->container_cgid);
}

static __always_inline void count_syscall(const struct container_info *c, __s32 nr)
{
	struct container_stats *s = stats_of(c);
	if (s)
		s->syscalls++;
	if (nr < 0 || nr >= MAX_SYSCALLS)
		return;	/* no such syscall: in the total only (and no entry a caller can pick) */
	struct syscount_key k = { .container_cgid = c->container_cgid, .nr = (__u32)nr };
	__u64 *n = bpf_map_lookup_elem(&ocibpf_syscall_counts, &k);
	if (n) {
		(*n)++;
		return;
	}
	/* First of this syscall: an entry only where the container's set can name it. */
	struct syscall_sel *seen = seen_of(c);
	if (!seen)
		return;
	__u64 one = 1;
	if (bpf_map_update_elem(&ocibpf_syscall_counts, &k, &one, BPF_NOEXIST) == 0) {
		/* Whoever made the entry sets its bit, once: an add is an OR here (no atomic
		 * OR before -mcpu=v3). */
		__u32 i = ((__u32)nr / 64) & (MAX_SYSCALLS / 64 - 1);
		__sync_fetch_and_add(&seen->bits[i], 1ULL << ((__u32)nr % 64));
		return;
	}
	n = bpf_map_lookup_elem(&ocibpf_syscall_counts, &k);	/* another CPU made it first */
	if (n)
		(*n)++;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(raw_sys_enter, struct pt_regs *regs, long id)
{
	struct container_info *c = current_container();
	if (!c)
		return 0;
	if (c->flags & CF_SYSCOUNT)
		count_syscall(c, (__s32)id);
	if ((c->flags & CF_AUDIT_RAW) && selected(c, (__s32)id)) {
		__u64 args[6];
#if defined(__TARGET_ARCH_x86)
		/* The ABI's layout, no CO-RE relocation (uapi.bpf.h); zeros if unreadable */
		struct ob_pt_regs_x86_args r = {};
		bpf_probe_read_kernel(&r, sizeof(r), (const char *)regs + OB_PT_REGS_X86_ARGS_OFF);
		args[0] = r.di;
		args[1] = r.si;
		args[2] = r.dx;
		args[3] = r.r10;
		args[4] = r.r8;
		args[5] = r.r9;
#else
		args[0] = PT_REGS_PARM1_CORE_SYSCALL(regs);
		args[1] = PT_REGS_PARM2_CORE_SYSCALL(regs);
		args[2] = PT_REGS_PARM3_CORE_SYSCALL(regs);
		args[3] = PT_REGS_PARM4_CORE_SYSCALL(regs);
		args[4] = PT_REGS_PARM5_CORE_SYSCALL(regs);
		args[5] = 0;	/* libbpf 1.1 has no PT_REGS_PARM6 */
#endif
		remember(c, (__s32)id, args);
	}
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(raw_sys_exit, struct pt_regs *regs, long ret)
{
	struct container_info *c = current_container();
	if (!c || !(c->flags & CF_AUDIT_RAW))
		return 0;
	emit_syscall(c, ret);
	return 0;
}

/* --- exec -------------------------------------------------------------------------- */

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_audit, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct container_info *c = current_container();
	if (!c)
		return 0;
	struct container_stats *s = stats_of(c);
	if (s)
		s->execs++;
	if (!(c->flags & CF_AUDIT))
		return 0;
	struct ev_exec *e = event_reserve(c, EV_EXEC, sizeof(*e));
	if (!e)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	e->pid = task->tgid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (read_str_tail(e->filename, BPF_CORE_READ(bprm, filename), false, &e->filename_truncated) < 0)
		e->filename[0] = 0;
	__u64 start = BPF_CORE_READ(task, mm, arg_start);
	__u64 end = BPF_CORE_READ(task, mm, arg_end);
	__u64 len = end > start ? end - start : 0;
	e->args_truncated = len > EV_ARGS_MAX;
	len &= (EV_ARGS_MAX * 2 - 1);
	if (e->args_truncated || len > EV_ARGS_MAX)
		len = EV_ARGS_MAX;
	e->args_len = 0;
	if (len > 0 && bpf_probe_read_user(e->args, len, (void *)start) == 0)
		e->args_len = len;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* --- io_uring ----------------------------------------------------------------------- */

#include "uring.bpf.h"
