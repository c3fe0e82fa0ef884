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
#define AT_FDCWD -100

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
	__s8 path_arg, sockaddr_arg;	/* the syscall's sys_argmap */
	__u8 has_dir, dir_flags;	/* a relative path's directory, walked at enter */
	__u8 ret_fd;		/* ARGMAP_RET_FD: the file of the fd it returns, at exit */
	__u8 pad;
	__u16 dir_len;		/* strlen(dir) */
	char dir[EV_PATH_MAX];
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

/* --- paths the kernel walks (PW_*, ocibpf.h) ----------------------------------------- */

/*
 * The walk's scratch: its string, and its state between steps. The state lives here, not
 * in registers: read back from the map, each step's values are unknown to the verifier,
 * so the paths through a step meet again at the next (kept in registers, every path's
 * exact offsets differed and the loop's paths multiplied past the verifier's limit).
 *
 * Each struct a CO-RE read starts from costs `ocibpf load` a walk of the kernel's BTF
 * whenever its slot in the kernel's candidate cache holds another name
 * (tests/bench/core-cands.py): the vfsmount is read through its struct mount, the
 * fdtable through files_struct's own, so neither is a root of its own.
 */
struct walk_buf {
	char b[2 * EV_PATH_MAX];
	/* A syscall's path as passed at x[EV_PATH_MAX] (copied into its event), and an
	 * open's relative path's dir and '/' just before it: what the walk of the fd the
	 * open returned is compared with (emit_syscall). */
	char x[2 * EV_PATH_MAX];
	__u64 d, vm, m;		/* dentry, its vfsmount, and the struct mount that holds it */
	__u32 off, flags;	/* where the string starts; PW_* */
	__u32 leaf;		/* no component kept yet */
	__u32 done;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_buf);
} ocibpf_walk_buf SEC(".maps");

#define PW_MASK (EV_PATH_MAX - 1)

/* One step up from w->d: a component kept, or a mount crossed; w->done at the end. */
static __always_inline void walk_step(struct walk_buf *w, __u64 root_d, __u64 root_m)
{
	struct dentry *d = (struct dentry *)w->d;
	struct mount *m = (struct mount *)w->m;
	if (w->d == root_d && w->vm == root_m) {
		w->done = 1;
		return;
	}
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	if (d == BPF_CORE_READ(m, mnt.mnt_root)) {
		/* The top of a mount: on to where it is mounted. */
		struct mount *pm = BPF_CORE_READ(m, mnt_parent);
		if (pm == m) {
			w->flags |= PW_UNREACHABLE;   /* a tree's top (another namespace's, a memfd's) */
			w->done = 1;
			return;
		}
		w->d = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
		w->m = (__u64)pm;
		w->vm = (__u64)pm + bpf_core_field_offset(struct mount, mnt);
		w->leaf = 0;
		return;
	}
	if (w->leaf && !BPF_CORE_READ(d, d_hash.pprev))
		w->flags |= PW_DELETED;
	w->leaf = 0;
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);
	__u32 len = BPF_CORE_READ(d, d_name.len), off = w->off;
	if (len + 1 > off || off > EV_PATH_MAX - 1) {
		w->flags |= PW_TRUNCATED;
		w->done = 1;
		return;
	}
	off -= len;
	bpf_probe_read_kernel(&w->b[off & PW_MASK], len & PW_MASK, name);
	off--;
	w->b[off & PW_MASK] = '/';
	w->off = off;
	if (d == parent) {
		/* Its own parent and no mount's root: a memfd's (d_path shows "/memfd:NAME
		 * (deleted)" the same), a dentry a file handle found disconnected. */
		w->flags |= PW_UNREACHABLE;
		w->done = 1;
		return;
	}
	w->d = (__u64)parent;
}

struct walk_ctx {
	struct walk_buf *w;
	__u64 root_d, root_m;
};

static long walk_cb(__u64 i, void *ctx)
{
	struct walk_ctx *c = ctx;
	walk_step(c->w, c->root_d, c->root_m);
	return c->w->done ? 1 : 0;
}

/*
 * The path of (dentry, vfsmnt) as the current task sees it: from the dentry up its
 * d_parent, and across each mount to its mountpoint in the parent mount, to the task's
 * root. Written backwards into this CPU's ocibpf_walk_buf, ending at b[EV_PATH_MAX - 1]
 * (a NUL). Returns where it starts | PW_* << 16, or -1. A function of its own (global), its
 * steps a bpf_loop: the verifier checks one step, once, not 32 per caller (+36,000
 * instructions verified as a plain loop, in three programs). Unlocked, as every tool's: a rename
 * while it walks shows one name or the other.
 */
__noinline int ocibpf_path_walk(__u64 dentry, __u64 vfsmnt)
{
	__u32 zero = 0;
	struct walk_buf *w = bpf_map_lookup_elem(&ocibpf_walk_buf, &zero);
	if (!w || !dentry || !vfsmnt)
		return -1;
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 root_d = (__u64)BPF_CORE_READ(task, fs, root.dentry);
	__u64 root_m = (__u64)BPF_CORE_READ(task, fs, root.mnt);
	w->d = dentry;
	w->vm = vfsmnt;
	w->m = vfsmnt - bpf_core_field_offset(struct mount, mnt);
	w->off = EV_PATH_MAX - 1;
	w->flags = 0;
	w->leaf = 1;
	w->done = 0;
	w->b[EV_PATH_MAX - 1] = 0;
	struct walk_ctx c = { .w = w, .root_d = root_d, .root_m = root_m };
	bpf_loop(PW_DEPTH, walk_cb, &c, 0);
	if (!w->done)
		w->flags |= PW_TRUNCATED;
	__u32 off = w->off;
	if (off >= EV_PATH_MAX - 1) {
		off = EV_PATH_MAX - 2;
		w->b[off] = '/';   /* the root itself */
	}
	return (int)((off & PW_MASK) | (w->flags & 0xff) << 16);
}

/* The path of (dentry, vfsmnt) into dst[EV_PATH_MAX]; its PW_* flags, or -1. */
static __always_inline int path_walk(char *dst, __u64 dentry, __u64 vfsmnt, __u16 *len)
{
	int r = ocibpf_path_walk(dentry, vfsmnt);
	if (r < 0)
		return -1;
	__u32 zero = 0;
	struct walk_buf *w = bpf_map_lookup_elem(&ocibpf_walk_buf, &zero);
	if (!w || bpf_probe_read_kernel_str(dst, EV_PATH_MAX, &w->b[r & PW_MASK]) <= 0)
		return -1;
	if (len)
		*len = EV_PATH_MAX - 1 - (r & PW_MASK);
	return (r >> 16) & 0xff;
}

struct same_ctx {
	struct walk_buf *w;
	__u32 off, start, len;
	int same;
};

static long same_cb(__u64 i, void *ctx)
{
	struct same_ctx *c = ctx;
	if (i >= c->len)
		return 1;
	if (c->w->b[(c->off + i) & (2 * EV_PATH_MAX - 1)] !=
	    c->w->x[(c->start + i) & (2 * EV_PATH_MAX - 1)]) {
		c->same = 0;
		return 1;
	}
	return 0;
}

/*
 * Whether the len bytes of the walk's string at b[off] (ocibpf_path_walk) are those at
 * x[start]. Global, its steps a bpf_loop: verified once, a few dozen instructions.
 */
__noinline int ocibpf_path_same(__u32 off, __u32 start, __u32 len)
{
	__u32 zero = 0;
	struct walk_buf *w = bpf_map_lookup_elem(&ocibpf_walk_buf, &zero);
	if (!w)
		return 0;
	struct same_ctx c = { .w = w, .off = off, .start = start, .len = len, .same = 1 };
	bpf_loop(EV_PATH_MAX, same_cb, &c, 0);
	return c.same;
}

/* The file of the task's fd (NULL: none). */
static __always_inline struct file *fd_file(struct task_struct *task, int fd)
{
	/* fdt->max_fds and fdt->fd at their offsets in files->fdtab (the same type):
	 * relocations rooted at files_struct, none at fdtable (see struct walk_buf). */
	struct files_struct *files = BPF_CORE_READ(task, files);
	__u64 fdt = (__u64)BPF_CORE_READ(files, fdt);
	__u64 tab = bpf_core_field_offset(files->fdtab);
	__u32 max = 0;
	__u64 fds = 0;
	struct file *f = NULL;
	if (fd < 0 || !fdt ||
	    bpf_probe_read_kernel(&max, sizeof(max),
				  (void *)(fdt + bpf_core_field_offset(files->fdtab.max_fds) - tab)) < 0 ||
	    (__u32)fd >= max ||
	    bpf_probe_read_kernel(&fds, sizeof(fds),
				  (void *)(fdt + bpf_core_field_offset(files->fdtab.fd) - tab)) < 0 ||
	    bpf_probe_read_kernel(&f, sizeof(f), (void *)(fds + (__u64)fd * sizeof(f))) < 0)
		return NULL;
	return f;
}

/*
 * A relative path's directory, at enter (before the syscall moves the cwd or renames the
 * directory): the dirfd's file, or the cwd (AT_FDCWD, or a syscall without a dirfd).
 */
static __always_inline void remember_dir(struct pending *p, __s8 da)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 dentry, mnt;
	int fd = da >= 0 && da < 6 ? (int)p->args[da & 7] : AT_FDCWD;
	if (fd == AT_FDCWD) {
		dentry = (__u64)BPF_CORE_READ(task, fs, pwd.dentry);
		mnt = (__u64)BPF_CORE_READ(task, fs, pwd.mnt);
	} else {
		struct file *f = fd_file(task, fd);
		if (!f)
			return;
		dentry = (__u64)BPF_CORE_READ(f, f_path.dentry);
		mnt = (__u64)BPF_CORE_READ(f, f_path.mnt);
	}
	int flags = path_walk(p->dir, dentry, mnt, &p->dir_len);
	if (flags < 0)
		return;
	p->has_dir = 1;
	p->dir_flags = flags;
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
	p->path_arg = p->sockaddr_arg = -1;
	p->has_dir = p->ret_fd = 0;
	__u32 n = (__u32)nr;
	struct sys_argmap *am = bpf_map_lookup_elem(&ocibpf_argmap, &n);
	if (!am)
		return;
	__s8 pa = am->path_arg;
	p->path_arg = pa;
	p->sockaddr_arg = am->sockaddr_arg;
	p->ret_fd = am->flags & ARGMAP_RET_FD;
	/* An absolute path pays one byte read: no walk. */
	char first = 0;
	if (pa >= 0 && pa < 6 &&
	    bpf_probe_read_user(&first, 1, (const void *)p->args[pa & 7]) == 0 && first != '/')
		remember_dir(p, am->dirfd_arg);
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

/*
 * Whether the walk of an open's fd (ocibpf_path_walk's r, its string in w->b) is the path
 * passed (its pn bytes read into w->x[EV_PATH_MAX]), or dir + "/" + path for a relative
 * one: the dir is put just before the path. Lengths first: most differ there.
 */
static __always_inline bool walk_is_path(struct walk_buf *w, const struct pending *p, int r, long pn)
{
	__u32 off = r & PW_MASK, wlen = EV_PATH_MAX - 1 - off, start = EV_PATH_MAX;
	if (p->has_dir) {
		__u32 dl = p->dir_len;
		if (p->dir_flags || dl == 0 || dl > EV_PATH_MAX - 1)
			return false;
		start = EV_PATH_MAX - 1;
		w->x[EV_PATH_MAX - 1] = '/';
		if (dl > 1) {	/* not "/" */
			start -= dl;
			bpf_probe_read_kernel(&w->x[start & PW_MASK], dl & PW_MASK, p->dir);
		}
	}
	if (EV_PATH_MAX - start + (__u32)pn - 1 != wlen)
		return false;
	return ocibpf_path_same(off, start, wlen);
}

static __always_inline void emit_syscall(const struct container_info *c, __s64 ret)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;
	struct pending *p = pending_get();
	if (!p)
		return;
	__s8 pa = p->path_arg, sa = p->sockaddr_arg;
	/*
	 * The path is read once, into the walk's scratch (one read_str_tail to verify), and
	 * copied into the record: an open's record shows the bytes compared with its file.
	 * An open's new fd: the file it is, walked now. Only an event with a file is the
	 * whole struct, one with a dir ends before the file, the others at has_dir, as a set
	 * built before both sends them (the collector takes the three sizes): an absolute
	 * path that names its file takes no more of the ring.
	 */
	__u32 zero = 0;
	struct walk_buf *w = bpf_map_lookup_elem(&ocibpf_walk_buf, &zero);
	if (!w) {
		pending_clear(p);
		return;
	}
	bool dir = p->has_dir, file = false;
	int r = -1;
	long pn = 0;
	__u8 ptrunc = 0;
	if (pa >= 0 && pa < 6)
		pn = read_str_tail(&w->x[EV_PATH_MAX], (const char *)p->args[pa & 7], true, &ptrunc);
	if (p->ret_fd && ret >= 0) {
		struct file *f = fd_file(bpf_get_current_task_btf(), (int)ret);
		if (f)
			r = ocibpf_path_walk((__u64)BPF_CORE_READ(f, f_path.dentry),
					     (__u64)BPF_CORE_READ(f, f_path.mnt));
		/* no path to compare with (open_by_handle_at): always */
		if (r >= 0)
			file = pa < 0 || pn <= 0 || ptrunc || !walk_is_path(w, p, r, pn);
	}
	struct ev_syscall *e;
	if (file)
		e = event_reserve(c, EV_SYSCALL, sizeof(*e));
	else if (dir)
		e = event_reserve(c, EV_SYSCALL, EV_SYSCALL_V2_SIZE);
	else
		e = event_reserve(c, EV_SYSCALL, EV_SYSCALL_V1_SIZE);
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

	if (pn > 0) {
		__builtin_memcpy(e->path, &w->x[EV_PATH_MAX], EV_PATH_MAX);
		e->path_truncated = ptrunc;
		e->has_path = 1;
	}
	if (dir) {
		e->has_dir = e->has_path;
		e->dir_flags = p->dir_flags;
		__builtin_memcpy(e->dir, p->dir, sizeof(e->dir));
	} else if (file) {
		e->has_dir = e->dir_flags = 0;
	}
	if (file) {
		e->file_flags = (r >> 16) & 0xff;
		e->has_file = bpf_probe_read_kernel_str(e->file, EV_PATH_MAX, &w->b[r & PW_MASK]) > 0;
	}
	if (sa >= 0 && sa < 6)
		decode_sockaddr(e, e->args[sa & 7]);
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
	/* The file the kernel ran (a symlink's target, a memfd), and a relative name's cwd. */
	struct file *f = BPF_CORE_READ(bprm, file);
	int fl = path_walk(e->exe, (__u64)BPF_CORE_READ(f, f_path.dentry),
			   (__u64)BPF_CORE_READ(f, f_path.mnt), NULL);
	e->has_exe = fl >= 0;
	e->exe_flags = fl >= 0 ? fl : 0;
	e->has_dir = e->dir_flags = 0;
	if (!e->filename_truncated && e->filename[0] != '/') {
		fl = path_walk(e->dir, (__u64)BPF_CORE_READ(task, fs, pwd.dentry),
			       (__u64)BPF_CORE_READ(task, fs, pwd.mnt), NULL);
		e->has_dir = fl >= 0;
		e->dir_flags = fl >= 0 ? fl : 0;
	}
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
