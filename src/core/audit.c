/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "audit.h"
#include "tp-held.h"
#include "bpfset.h"
#include "paths.h"
#include "policy.h"
#include "uring.h"

/*
 * Which argument of a syscall is a path or a socket address (for decoded fields), the
 * directory fd a relative path is taken from (-1: the cwd; inotify_add_watch's fd is no
 * directory), and whether it returns a new fd whose file the record names (ARGMAP_RET_FD).
 */
static const struct {
	const char *name;
	int8_t path_arg, sockaddr_arg, dirfd_arg;
	uint8_t flags;   /* ARGMAP_* */
} argmap[] = {
	{ "open", 0, -1, -1, ARGMAP_RET_FD }, { "openat", 1, -1, 0, ARGMAP_RET_FD },
	{ "openat2", 1, -1, 0, ARGMAP_RET_FD }, { "creat", 0, -1, -1, ARGMAP_RET_FD },
	{ "open_by_handle_at", -1, -1, -1, ARGMAP_RET_FD },
	{ "execve", 0, -1, -1, 0 }, { "execveat", 1, -1, 0, 0 },
	{ "unlink", 0, -1, -1, 0 }, { "unlinkat", 1, -1, 0, 0 }, { "rename", 0, -1, -1, 0 },
	{ "renameat", 1, -1, 0, 0 }, { "renameat2", 1, -1, 0, 0 }, { "mkdir", 0, -1, -1, 0 },
	{ "mkdirat", 1, -1, 0, 0 }, { "rmdir", 0, -1, -1, 0 }, { "chmod", 0, -1, -1, 0 },
	{ "fchmodat", 1, -1, 0, 0 }, { "fchmodat2", 1, -1, 0, 0 }, { "chown", 0, -1, -1, 0 },
	{ "lchown", 0, -1, -1, 0 }, { "fchownat", 1, -1, 0, 0 }, { "truncate", 0, -1, -1, 0 },
	{ "link", 0, -1, -1, 0 }, { "linkat", 1, -1, 0, 0 }, { "symlink", 1, -1, -1, 0 },
	{ "symlinkat", 2, -1, 1, 0 }, { "mount", 1, -1, -1, 0 }, { "umount2", 0, -1, -1, 0 },
	{ "stat", 0, -1, -1, 0 }, { "lstat", 0, -1, -1, 0 }, { "newfstatat", 1, -1, 0, 0 },
	{ "statx", 1, -1, 0, 0 }, { "access", 0, -1, -1, 0 }, { "faccessat", 1, -1, 0, 0 },
	{ "faccessat2", 1, -1, 0, 0 }, { "chdir", 0, -1, -1, 0 }, { "chroot", 0, -1, -1, 0 },
	{ "readlink", 0, -1, -1, 0 }, { "readlinkat", 1, -1, 0, 0 }, { "mknod", 0, -1, -1, 0 },
	{ "mknodat", 1, -1, 0, 0 }, { "utimensat", 1, -1, 0, 0 }, { "pivot_root", 0, -1, -1, 0 },
	{ "swapon", 0, -1, -1, 0 }, { "swapoff", 0, -1, -1, 0 }, { "acct", 0, -1, -1, 0 },
	{ "setxattr", 0, -1, -1, 0 }, { "lsetxattr", 0, -1, -1, 0 }, { "getxattr", 0, -1, -1, 0 },
	{ "removexattr", 0, -1, -1, 0 }, { "inotify_add_watch", 1, -1, -1, 0 },
	{ "name_to_handle_at", 1, -1, 0, 0 }, { "connect", -1, 1, -1, 0 }, { "bind", -1, 1, -1, 0 },
	{ "sendto", -1, 4, -1, 0 }, { "accept", -1, 1, -1, 0 }, { "accept4", -1, 1, -1, 0 },
	{ "recvfrom", -1, 4, -1, 0 },
};

static int fill_argmap(int fd)
{
	/* Every entry: an array map's others read as zeros, path_arg 0 (audit "all" logged
	 * the first argument of mprotect or set_tid_address as a path). */
	uint32_t keys[MAX_SYSCALLS];
	struct sys_argmap vals[MAX_SYSCALLS];
	for (uint32_t nr = 0; nr < MAX_SYSCALLS; nr++) {
		keys[nr] = nr;
		vals[nr] = (struct sys_argmap){ .path_arg = -1, .sockaddr_arg = -1, .dirfd_arg = -1 };
	}
	for (size_t i = 0; i < ARRAY_SIZE(argmap); i++) {
		int nr = seccomp_syscall_resolve_name(argmap[i].name);
		if (nr < 0 || nr >= MAX_SYSCALLS)
			continue;   /* not on this architecture */
		vals[nr] = (struct sys_argmap){ .path_arg = argmap[i].path_arg,
						.sockaddr_arg = argmap[i].sockaddr_arg,
						.dirfd_arg = argmap[i].dirfd_arg,
						.flags = argmap[i].flags };
	}
	return map_update_many(fd, keys, sizeof(keys[0]), vals, sizeof(vals[0]), MAX_SYSCALLS);
}

/* Which argument of a syscall is a path or a sockaddr: filled once per loaded set. */
static int audit_setup_set(const char *maps_dir)
{
	_cleanup_free_ char *path = path_join(maps_dir, "ocibpf_argmap");
	_cleanup_close_ int fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	return fill_argmap(fd);
}

__attribute__((constructor)) static void audit_register(void)
{
	bpfset_register_setup("audit", audit_setup_set);
}

int tracefs_events_dir(const char **ret, struct error *err)
{
	static const char *const dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *ev = path_join(dirs[i], "events/syscalls");
		if (access(ev, F_OK) == 0) {
			*ret = i == 0 ? "/sys/kernel/tracing/events" : "/sys/kernel/debug/tracing/events";
			return 0;
		}
	}
	/* Like systemd does at boot: tracefs belongs at /sys/kernel/tracing. */
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return err_errno(err, -errno, "tracefs is not mounted and mounting it on /sys/kernel/tracing failed");
	*ret = "/sys/kernel/tracing/events";
	return 0;
}

/* The id file of syscalls/sys_{enter,exit}_NAME. */
static char *tracepoint_id_path(const char *events, const char *name, bool enter)
{
	return xasprintf("%s/syscalls/sys_%s_%s/id", events, enter ? "enter" : "exit", name);
}

/* Tracepoint id of syscalls/sys_{enter,exit}_NAME, or negative errno. */
static int tracepoint_id(const char *events, const char *name, bool enter)
{
	_cleanup_free_ char *path = tracepoint_id_path(events, name, enter);
	_cleanup_free_ char *text = NULL;
	int r = read_file(path, 64, &text, NULL);
	if (r < 0)
		return r;
	return atoi(text);
}

/* Whether syscalls/sys_{enter,exit}_NAME is there: one access(2), where reading its id
 * takes four (a hook asks for every audited syscall). */
static bool tracepoint_exists(const char *events, const char *name, bool enter)
{
	_cleanup_free_ char *path = tracepoint_id_path(events, name, enter);
	return access(path, R_OK) == 0;
}

const char *audit_syscall_name(int nr)
{
	static char *cache[MAX_SYSCALLS];
	if (nr < 0 || nr >= MAX_SYSCALLS)
		return NULL;
	if (!cache[nr])
		cache[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	return cache[nr];
}

/* The set's ocibpf_audit_sel, opened once per struct bpfset (bpfset_close closes it): the
 * hook's start writes through it and then reads it again (audit_held_by_collector). */
static int audit_sel_fd(struct bpfset *set)
{
	if (set->audit_sel_fd < 0)
		set->audit_sel_fd = bpfset_map_fd(set, "ocibpf_audit_sel");
	return set->audit_sel_fd;
}

int audit_policy_selection(const struct policy *p, __u64 *bits, bool *ret_raw, struct error *err)
{
	memset(bits, 0, sizeof(struct syscall_sel));
	*ret_raw = false;
	if (!p->audit)
		return 0;
	bool raw = p->audit_all;
	const char *events = NULL;
	if (p->audit_all) {
		memset(bits, 0xff, sizeof(struct syscall_sel));
	} else if (p->n_audit_syscalls > 0) {
		int r = tracefs_events_dir(&events, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < p->n_audit_syscalls; i++) {
		int nr = p->audit_syscalls[i];
		if (nr < 0 || nr >= MAX_SYSCALLS)
			return err_msg(err, -EINVAL, "syscall number %d out of range", nr);
		sel_set(bits, nr);
		const char *name = audit_syscall_name(nr);
		/* No tracepoint of its own (e.g. a syscall built without one): use the raw ones. */
		if (!name || !tracepoint_exists(events, name, true) || !tracepoint_exists(events, name, false))
			raw = true;
	}
	*ret_raw = raw;
	return 0;
}

int audit_prepare(struct bpfset *set, uint64_t cgid, const struct policy *p, uint32_t *flags,
		  struct error *err)
{
	if (!p->audit)
		return 0;
	struct syscall_sel sel;
	bool raw;
	int r = audit_policy_selection(p, sel.bits, &raw, err);
	if (r < 0)
		return r;
	if (raw)
		*flags |= CF_AUDIT_RAW;
	int fd = audit_sel_fd(set);
	if (fd < 0)
		return err_errno(err, fd, "cannot open the audit selection map");
	if (bpf_map_update_elem(fd, &cgid, &sel, BPF_ANY) < 0)
		return err_errno(err, -errno, "cannot enter the container's audited syscalls");
	return 0;
}

static bool count_of(int fd, const void *key, void *ud)
{
	return ((const struct syscount_key *)key)->container_cgid == *(uint64_t *)ud;
}

/*
 * The syscalls with a count entry of the container (ocibpf_syscall_seen): 0, -ENOENT when
 * it has none, -ENOTSUP for a set from before that map (its counts are found by a walk).
 */
static int seen_of(struct bpfset *set, uint64_t cgid, int *ret_seen_fd, struct syscall_sel *ret)
{
	int fd = bpfset_map_fd(set, "ocibpf_syscall_seen");
	if (fd < 0)
		return -ENOTSUP;
	if (bpf_map_lookup_elem(fd, &cgid, ret) < 0) {
		close(fd);
		return -ENOENT;
	}
	*ret_seen_fd = fd;
	return 0;
}

/* The container's count entries: its own (deleted first, so that a syscall still coming
 * starts a set of its own), each found from it. */
static void forget_counts(struct bpfset *set, uint64_t cgid)
{
	_cleanup_close_ int cnt = bpfset_map_fd(set, "ocibpf_syscall_counts");
	if (cnt < 0)
		return;
	_cleanup_close_ int seen_fd = -1;
	struct syscall_sel seen;
	int r = seen_of(set, cgid, &seen_fd, &seen);
	if (r == -ENOTSUP) {
		map_delete_if(cnt, sizeof(struct syscount_key), count_of, &cgid);
		return;
	}
	if (r < 0)
		return;
	bpf_map_delete_elem(seen_fd, &cgid);
	for (int nr = 0; nr < MAX_SYSCALLS; nr++) {
		struct syscount_key k = { .container_cgid = cgid, .nr = (uint32_t)nr };
		if (sel_has(seen.bits, nr))
			bpf_map_delete_elem(cnt, &k);
	}
}

void audit_forget(struct bpfset *set, uint64_t cgid, uint32_t flags)
{
	int sel = audit_sel_fd(set);
	if (sel >= 0)
		bpf_map_delete_elem(sel, &cgid);
	if (!(flags & CF_SYSCOUNT))
		return;
	forget_counts(set, cgid);
	static const char *const share[] = { "ocibpf_ring_produced", "ocibpf_ring_consumed" };
	for (size_t i = 0; i < ARRAY_SIZE(share); i++) {
		_cleanup_close_ int fd = bpfset_map_fd(set, share[i]);
		if (fd >= 0)
			bpf_map_delete_elem(fd, &cgid);
	}
}

/* What the containers in the maps need. */
struct needs {
	bool raw;
	__u64 tp[MAX_SYSCALLS / 64];      /* syscalls that need their own tracepoints */
};

static void compute_needs(struct bpfset *set, struct needs *n)
{
	memset(n, 0, sizeof(*n));
	int sel_fd = audit_sel_fd(set);
	uint64_t key, next;
	void *prev = NULL;
	while (bpf_map_get_next_key(set->cgroups_fd, prev, &next) == 0) {
		struct container_info info;
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(set->cgroups_fd, &next, &info) < 0 || info.container_cgid != next)
			continue;
		if (info.flags & (CF_SYSCOUNT | CF_AUDIT_RAW))
			n->raw = true;
		struct syscall_sel sel;
		if ((info.flags & CF_AUDIT) && !(info.flags & CF_AUDIT_RAW) && sel_fd >= 0 &&
		    bpf_map_lookup_elem(sel_fd, &next, &sel) == 0)
			for (size_t i = 0; i < ARRAY_SIZE(sel.bits); i++)
				n->tp[i] |= sel.bits[i];
	}
}

static int attach_tracepoint(int prog_fd, int tp_id)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.config = tp_id,
		.sample_period = 1,
		.wakeup_events = 1,
	};
	int pfd = syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0)
		return -errno;
	int lfd = bpf_link_create(prog_fd, pfd, BPF_PERF_EVENT, NULL);
	int r = lfd < 0 ? -errno : lfd;
	close(pfd);   /* the link holds the event */
	return r;
}

static int pin_link(int lfd, const char *path)
{
	if (lfd < 0)
		return lfd;
	int r = bpf_obj_pin(lfd, path) < 0 ? -errno : 0;
	close(lfd);
	return r;
}

void tp_links_init(struct tp_links *t)
{
	const char *publish = t->publish;
	memset(t, 0, sizeof(*t));
	t->publish = publish;
	for (int e = 0; e < 2; e++)
		for (int nr = 0; nr < MAX_SYSCALLS; nr++)
			t->fd[e][nr] = -1;
}

/* The syscalls held both ways, less `except` (may be NULL). */
static void held_bits(const struct tp_links *t, const __u64 *except, __u64 *out)
{
	memset(out, 0, TP_HELD_WORDS * sizeof(__u64));
	for (int nr = 0; nr < MAX_SYSCALLS; nr++)
		if (t->fd[0][nr] >= 0 && t->fd[1][nr] >= 0 &&
		    !(except && sel_has(except, nr)))
			sel_set(out, nr);
}

/* Publish what is held (less `except`) when it changed. */
static void publish_held(struct tp_links *t, const struct bpfset *set, const __u64 *except)
{
	if (!t->publish)
		return;
	__u64 bits[TP_HELD_WORDS];
	held_bits(t, except, bits);
	if (t->published_once && t->published_set == set->prog_id[0] &&
	    memcmp(bits, t->published, sizeof(bits)) == 0)
		return;
	tp_held_publish(t->publish, set->version, set->prog_id[0], bits);
	memcpy(t->published, bits, sizeof(bits));
	t->published_set = set->prog_id[0];
	t->published_once = true;
}

void audit_note_use(struct bpfset *set, struct tp_links *held, uint64_t cgid, uint32_t flags)
{
	if (flags & (CF_SYSCOUNT | CF_AUDIT_RAW))
		held->raw_unneeded_since = 0;
	if (!(flags & CF_AUDIT) || (flags & CF_AUDIT_RAW))
		return;
	int fd = audit_sel_fd(set);
	struct syscall_sel sel;
	if (fd < 0 || bpf_map_lookup_elem(fd, &cgid, &sel) < 0)
		return;
	for (int nr = 0; nr < MAX_SYSCALLS; nr++)
		if (sel_has(sel.bits, nr))
			held->unneeded_since[nr] = 0;
}

bool audit_held_by_collector(struct bpfset *set, const char *state_dir, uint64_t cgid,
			     uint32_t flags)
{
	struct syscall_sel sel = { 0 };
	if ((flags & CF_AUDIT) && !(flags & CF_AUDIT_RAW)) {
		int fd = audit_sel_fd(set);
		if (fd < 0 || (bpf_map_lookup_elem(fd, &cgid, &sel) < 0 && errno != ENOENT))
			return false;
	}
	return tp_held_covers(state_dir, set->version, set->prog_id[0], sel.bits);
}

void tp_links_release(struct tp_links *t)
{
	if (t->publish && t->published_once)
		tp_held_publish(t->publish, NULL, 0, NULL);
	t->published_once = false;
	for (int e = 0; e < 2; e++)
		for (int nr = 0; nr < MAX_SYSCALLS; nr++)
			if (t->fd[e][nr] >= 0) {
				close(t->fd[e][nr]);
				t->fd[e][nr] = -1;
			}
}

static int attach_syscall(struct bpfset *set, const char *events, int nr, int e, struct error *err)
{
	static const char *const kind[2] = { "enter", "exit" };
	const char *name = audit_syscall_name(nr);
	int id = name ? tracepoint_id(events, name, e == 0) : -ENOENT;
	if (id < 0)
		return err_errno(err, id, "no tracepoint sys_%s_%s", kind[e], name ? name : "?");
	_cleanup_close_ int prog = bpfset_prog_fd(set, e == 0 ? "sys_enter_tp" : "sys_exit_tp");
	if (prog < 0)
		return err_errno(err, prog, "cannot open program sys_%s_tp", kind[e]);
	int lfd = attach_tracepoint(prog, id);
	if (lfd < 0)
		return err_errno(err, lfd, "cannot attach to tracepoint sys_%s_%s", kind[e], name);
	return lfd;
}

/* Per-syscall tracepoint links are held by the caller (the collector): see audit.h. */
/* Attach a syscall's enter (e 0) or exit (e 1) tracepoint into *fd (tracefs looked up once). */
static int hold_syscall(struct bpfset *set, const char **events, int nr, int e, int *fd,
			struct error *err)
{
	int r = *events ? 0 : tracefs_events_dir(events, err);
	if (r < 0)
		return r;
	r = attach_syscall(set, *events, nr, e, err);
	if (r < 0)
		return r;
	*fd = r;
	return 0;
}

static int sync_tracepoints(struct bpfset *set, const struct needs *n, struct tp_links *held,
			    struct error *err)
{
	const char *events = NULL;
	uint64_t now = now_ns();
	__u64 drop[TP_HELD_WORDS] = { 0 };
	bool dropping = false;
	int r = 0;
	for (int nr = 0; nr < MAX_SYSCALLS && r == 0; nr++) {
		bool want = sel_has(n->tp, nr);
		uint64_t *since = &held->unneeded_since[nr];
		bool held_any = held->fd[0][nr] >= 0 || held->fd[1][nr] >= 0;
		if (want || !held_any)
			*since = 0;
		else if (!*since)
			*since = now;
		if (!want && held_any && held->linger_ns != UINT64_MAX && now - *since >= held->linger_ns) {
			sel_set(drop, nr);
			dropping = true;
		}
		for (int e = 0; e < 2 && want && r == 0; e++)
			if (held->fd[e][nr] < 0)
				r = hold_syscall(set, &events, nr, e, &held->fd[e][nr], err);
	}
	if (dropping) {
		/* Withdrawn from the hooks' view first, then the maps looked at again: a
		 * container that came in meanwhile keeps what it needs (tp-held.h). */
		publish_held(held, set, drop);
		struct needs again;
		compute_needs(set, &again);
		for (int nr = 0; nr < MAX_SYSCALLS; nr++) {
			if (!sel_has(drop, nr))
				continue;
			held->unneeded_since[nr] = 0;
			if (sel_has(again.tp, nr))
				continue;
			for (int e = 0; e < 2; e++)
				if (held->fd[e][nr] >= 0) {
					close(held->fd[e][nr]);
					held->fd[e][nr] = -1;
				}
		}
	}
	publish_held(held, set, NULL);
	return r;
}

/*
 * May links that no container wants be dropped? At once without a holder; with one, once
 * none has wanted them for held->linger_ns (*since: when that began, 0 while wanted).
 */
static bool may_drop(const struct tp_links *held, uint64_t *since, bool want)
{
	if (!held)
		return !want;
	if (want) {
		*since = 0;
		return false;
	}
	uint64_t now = now_ns();
	if (!*since)
		*since = now;
	return held->linger_ns != UINT64_MAX && now - *since >= held->linger_ns;
}

/* Pinned tp_btf links (set_dir/links/NAME) of programs[0..n) while `want`; dropped when `drop`. */
static int sync_pinned(const char *set_dir, const char *const *progs, int n, bool want,
		       bool drop, struct error *err)
{
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *pin = path_set_entry(set_dir, "links", progs[i]);
		bool have = access(pin, F_OK) == 0;
		if (have && drop) {
			unlink(pin);
		} else if (!have && want) {
			_cleanup_free_ char *prog_pin = path_set_entry(set_dir, "progs", progs[i]);
			int prog = bpf_obj_get(prog_pin);
			int r = prog < 0 ? -errno : bpf_raw_tracepoint_open(NULL, prog);
			if (r < 0 && prog >= 0)
				r = -errno;
			if (prog >= 0)
				close(prog);
			r = pin_link(r, pin);
			if (r < 0)
				return err_errno(err, r, "cannot attach %s", progs[i]);
		}
	}
	return 0;
}

static const char *const raw_progs[] = { "raw_sys_enter", "raw_sys_exit" };

int audit_sync(struct bpfset *set, struct tp_links *held, struct error *err)
{
	_cleanup_close_ int lock = lock_dir(set->bpffs_dir, err);
	if (lock < 0)
		return lock;
	struct needs n;
	compute_needs(set, &n);
	bool drop_raw = may_drop(held, held ? &held->raw_unneeded_since : NULL, n.raw);
	int r = sync_pinned(set->dir, raw_progs, ARRAY_SIZE(raw_progs), n.raw, drop_raw, err);
	if (r < 0 || !held)
		return r;
	return sync_tracepoints(set, &n, held, err);
}

int audit_hold(struct bpfset *set, struct tp_links *held, uint64_t cgid, uint32_t flags,
	       struct error *err)
{
	if (!(flags & CF_AUDIT) || (flags & CF_AUDIT_RAW))
		return 0;
	int sel_fd = audit_sel_fd(set);
	struct syscall_sel sel;
	if (sel_fd < 0 || bpf_map_lookup_elem(sel_fd, &cgid, &sel) < 0)
		return 0;	/* nothing selected */
	return audit_hold_bits(set, held, sel.bits, err);
}

int audit_hold_bits(struct bpfset *set, struct tp_links *held, const __u64 *bits,
		    struct error *err)
{
	const char *events = NULL;
	for (int nr = 0; nr < MAX_SYSCALLS; nr++) {
		if (!sel_has(bits, nr))
			continue;
		held->unneeded_since[nr] = 0;
		for (int e = 0; e < 2; e++) {
			if (held->fd[e][nr] >= 0)
				continue;
			int r = hold_syscall(set, &events, nr, e, &held->fd[e][nr], err);
			if (r < 0) {
				publish_held(held, set, NULL);
				return r;
			}
		}
	}
	publish_held(held, set, NULL);
	return 0;
}

int audit_attach(struct bpfset *set, uint32_t flags, struct error *err)
{
	bool want_raw = flags & (CF_SYSCOUNT | CF_AUDIT_RAW);
	/* Attached with the set (uring.h): missing only from a set an older ocibpf loaded
	 * (or whose older collector detached them). Nobody else detaches them: no lock to
	 * look. */
	bool want_uring = (flags & CF_AUDIT) && !uring_attached(set->dir);
	if (!want_raw && !want_uring)
		return 0;
	_cleanup_close_ int lock = lock_dir(set->bpffs_dir, err);
	if (lock < 0)
		return lock;
	int r = want_raw ? sync_pinned(set->dir, raw_progs, ARRAY_SIZE(raw_progs), true, false, err) : 0;
	if (r == 0 && want_uring && (r = uring_attach(set->dir)) < 0)
		return err_errno(err, r, "cannot attach the io_uring tracepoint programs");
	return r;
}

/* One count entry, summed over the CPUs (0 when it is not there). */
static uint64_t count_sum(int fd, const struct syscount_key *k, uint64_t *vals, int ncpu)
{
	if (bpf_map_lookup_elem(fd, k, vals) < 0)
		return 0;
	uint64_t sum = 0;
	for (int c = 0; c < ncpu; c++)
		sum += vals[c];
	return sum;
}

int audit_syscall_counts(struct bpfset *set, uint64_t cgid,
			 void (*fn)(int nr, uint64_t count, void *ud), void *ud)
{
	_cleanup_close_ int fd = bpfset_map_fd(set, "ocibpf_syscall_counts");
	if (fd < 0)
		return fd;
	int ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return -EINVAL;
	_cleanup_free_ uint64_t *vals = xcalloc(ncpu, sizeof(uint64_t));
	_cleanup_close_ int seen_fd = -1;
	struct syscall_sel seen;
	int r = seen_of(set, cgid, &seen_fd, &seen);
	if (r == -ENOENT)
		return 0;   /* no syscall counted yet */
	if (r == 0) {
		for (int nr = 0; nr < MAX_SYSCALLS; nr++) {
			struct syscount_key k = { .container_cgid = cgid, .nr = (uint32_t)nr };
			uint64_t sum = sel_has(seen.bits, nr) ? count_sum(fd, &k, vals, ncpu) : 0;
			if (sum)
				fn(nr, sum, ud);
		}
		return 0;
	}
	/* A set from before ocibpf_syscall_seen: every container's entries walked. */
	struct syscount_key k, next;
	void *prev = NULL;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		uint64_t sum = next.container_cgid == cgid ? count_sum(fd, &next, vals, ncpu) : 0;
		if (sum)
			fn((int)next.nr, sum, ud);
	}
	return 0;
}
