/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_AUDIT_H
#define OCIBPF_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "ocibpf.h"
#include "util.h"

struct bpfset;
struct policy;

/*
 * Kernel side of syscall auditing and counting: which syscalls each container audits (a
 * bitmap per container) and which global tracepoints are attached. Only what the policies
 * in force need is attached: the sys_enter/sys_exit_NAME tracepoints of the audited
 * syscalls, and the raw sys_enter/sys_exit programs only while some container counts every
 * syscall or audits them all.
 */

/*
 * The syscalls a policy audits (MAX_SYSCALLS bits; all of them for "all"), and whether the
 * raw sys_enter/sys_exit programs must audit them (*ret_raw: "all", or a syscall without a
 * tracepoint of its own).
 */
int audit_policy_selection(const struct policy *p, __u64 *bits, bool *ret_raw, struct error *err);
/*
 * Enter a container's syscall selection; adds CF_AUDIT_RAW to *flags when the raw
 * programs must audit it ("all", or a syscall without its own tracepoint).
 */
int audit_prepare(struct bpfset *set, uint64_t container_cgid, const struct policy *p,
		  uint32_t *flags, struct error *err);
/*
 * Remove a container's selection and syscall counts. flags: the container's CF_* (only a
 * CF_SYSCOUNT container has counts to look for; UINT32_MAX: unknown, look).
 */
void audit_forget(struct bpfset *set, uint64_t container_cgid, uint32_t flags);
/*
 * Links to the per-syscall tracepoints. Perf-event links can't be pinned on every kernel
 * configuration (EPERM here), so the collector holds them: it re-attaches what the
 * containers in the maps need when it starts and whenever a hook asks it to ("sync").
 */
struct tp_links {
	int fd[2][MAX_SYSCALLS];   /* [0] sys_enter_NAME, [1] sys_exit_NAME, by syscall nr */
	/* Monotonic ns since no container needed a held syscall (0 while one does). */
	uint64_t unneeded_since[MAX_SYSCALLS];
	/* The same for the pinned raw sys_enter/sys_exit links. */
	uint64_t raw_unneeded_since;
	/* Where the held syscalls are published for hooks (tp-held.h), or NULL; kept by
	 * tp_links_init, owned by the caller. */
	const char *publish;
	__u64 published[MAX_SYSCALLS / 64];
	uint32_t published_set;	/* its set's prog_id[0] */
	bool published_once;
	/*
	 * Detach what none needs only after this long (0: at once; UINT64_MAX: never, for
	 * a hook's sync, which must not wait for a tracepoint's unregistration, ~100 ms).
	 */
	uint64_t linger_ns;
};
void tp_links_init(struct tp_links *t);
/* Withdraw what was published, then detach everything. */
void tp_links_release(struct tp_links *t);

/*
 * Attach what the containers in the maps need and detach what none needs any more
 * (serialized by a lock on bpffs_dir): the raw sys_enter/sys_exit links (pinned), and, when `held` is given, the per-syscall tracepoint links it holds. With
 * `held`, what none needs is detached only after held->linger_ns (attaching a tracepoint
 * patches kernel text on every CPU: a container started soon after pays nothing); without
 * it (gc, a collector leaving), at once.
 */
int audit_sync(struct bpfset *set, struct tp_links *held, struct error *err);
/*
 * The per-syscall tracepoints one container (cgid, CF_* flags) needs, attached into held
 * (nothing detached; no look at the other containers): the collector's "sync ID".
 */
/*
 * Does a live collector of state_dir hold every per-syscall tracepoint the container (cgid,
 * CF_* flags, already in the maps) needs? Then its hook need not ask for them.
 */
bool audit_held_by_collector(struct bpfset *set, const char *state_dir, uint64_t cgid,
			     uint32_t flags);
/*
 * A container (cgid, CF_* flags) of the set was seen (the collector entered its run): what
 * it uses was needed just now, whatever the sweeps saw. Containers shorter than a sweep's
 * period would otherwise leave their tracepoints looking unneeded, and detached after the
 * linger though one runs every second.
 */
void audit_note_use(struct bpfset *set, struct tp_links *held, uint64_t cgid, uint32_t flags);
int audit_hold(struct bpfset *set, struct tp_links *held, uint64_t cgid, uint32_t flags,
	       struct error *err);
/* The per-syscall tracepoints of bits[] (MAX_SYSCALLS bits), attached into held (nothing
 * detached): audit_hold for a selection at hand. */
int audit_hold_bits(struct bpfset *set, struct tp_links *held, const __u64 *bits,
		    struct error *err);
/*
 * For a container starting with these CF_* flags: the raw sys_enter/sys_exit links
 * attached if it needs them (no look at the other containers: detaching what none needs
 * is for the stop of a container that needed them, and for the collector's sweep); for an
 * audited one, the io_uring links if the set lacks them (a set an older ocibpf loaded:
 * this one attaches them at load, uring.h).
 */
int audit_attach(struct bpfset *set, uint32_t flags, struct error *err);

/* The native name of syscall nr (NULL when libseccomp knows none); resolved once. */
const char *audit_syscall_name(int nr);
/* Syscall counts of a container, by number (callback per syscall with a count > 0). */
int audit_syscall_counts(struct bpfset *set, uint64_t container_cgid,
			 void (*fn)(int nr, uint64_t count, void *ud), void *ud);

/* The tracefs events directory ("/sys/kernel/tracing/events"), mounting tracefs if needed. */
int tracefs_events_dir(const char **ret, struct error *err);

#endif
