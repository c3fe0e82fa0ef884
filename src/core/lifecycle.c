/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "auditlog.h"
#include "bpfset.h"
#include "cgroup.h"
#include "collector.h"
#include "container.h"
#include "json.h"
#include "lifecycle.h"
#include "netpolicy.h"
#include "pending.h"
#include "policy.h"
#include "stats.h"

/* Bound on every wait for the collector in a hook. */
#define COLLECTOR_TIMEOUT_MS 10000

/* The policy name for a container, or NULL when it is to be left alone. */
static int choose_policy(const struct config *cfg, const struct oci_state *st, const char **ret,
			 struct annotation **bundle_ann, size_t *n_bundle_ann, struct error *err)
{
	const char *name = oci_state_annotation(st, POLICY_ANNOTATION);
	if (!name && st->n_annotations == 0) {
		int r = oci_bundle_annotations(st->bundle, bundle_ann, n_bundle_ann, err);
		if (r < 0)
			return r;
		for (size_t i = 0; i < *n_bundle_ann; i++)
			if (strcmp((*bundle_ann)[i].key, POLICY_ANNOTATION) == 0)
				name = (*bundle_ann)[i].value;
	}
	if (!name)
		name = cfg->default_policy;
	if (name && !valid_name(name)) {
		/* Whoever creates the container wrote it: show it tamed. */
		_cleanup_free_ char *shown = strndup(name, 64);
		for (char *p = shown; p && *p; p++)
			if (*p < 0x20 || *p > 0x7e || *p == '"')
				*p = '?';
		return err_msg(err, -EINVAL, "invalid policy name \"%s%s\" in annotation %s", shown,
			       strlen(name) > 64 ? "..." : "", POLICY_ANNOTATION);
	}
	*ret = name;
	return 0;
}

static uint32_t policy_flags(const struct policy *p)
{
	uint32_t f = 0;
	if (p->telemetry)
		f |= CF_TELEMETRY;
	if (p->network)
		f |= CF_NETWORK;
	if (p->audit)
		f |= CF_AUDIT;
	if (p->telemetry_syscalls)
		f |= CF_SYSCOUNT;
	return f;
}

static void free_annotations(struct annotation *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].key);
		free(a[i].value);
	}
	free(a);
}

static char *v1_path(const char *proc_cgroup, const char *controller)
{
	char *p = NULL;
	return cgroup1_path_from_proc(proc_cgroup, controller, &p) == 0 ? p : NULL;
}

void container_teardown(const struct config *cfg, const struct container *c)
{
	bpfset_unpin(cfg->bpffs_dir, c->id);
	_cleanup_bpfset_ struct bpfset *set = NULL;
	if (bpfset_open(cfg->bpffs_dir, c->set, false, &set, NULL) == 0)
		bpfset_forget(set, c->cgroup_id);
	container_remove(cfg->state_dir, c->id);
}

static int write_start(const struct config *cfg, const struct container *c, struct error *err)
{
	_cleanup_auditlog_ struct auditlog *al = NULL;
	int r = auditlog_open(cfg->log_dir, c->id, &al, err);
	if (r < 0)
		return r;
	r = auditlog_lock(al);
	if (r < 0)
		return err_errno(err, r, "cannot lock audit log %s", al->path);
	yajl_gen g = auditlog_begin(al, "start", c->started_ns);
	jg_key_str(g, "policy", c->policy);
	jg_key_str(g, "cgroup", c->cgroup);
	jg_key_int(g, "pid", c->pid);
	auditlog_end(al);
	r = auditlog_flush(al);
	if (r < 0)
		return err_errno(err, r, "cannot write audit log %s", al->path);
	return 0;
}

/* A record left by an earlier container of the same id: live is an error, stale is cleaned. */
static int clear_previous(const struct config *cfg, const char *id, struct error *err)
{
	_cleanup_container_ struct container *old = NULL;
	if (container_read(cfg->state_dir, id, &old, NULL) < 0) {
		/* No record; pins without one are stale too. */
		bpfset_unpin(cfg->bpffs_dir, id);
		return 0;
	}
	if (container_alive(old))
		return err_msg(err, -EEXIST, "a container with this id is already monitored (pid %d)",
			       (int)old->pid);
	/* Its poststop never came: close its records with a stop, as `ocibpf gc` does. */
	container_finish(cfg, old, "stale", NULL);
	return 0;
}

static int pending_flush_before_start(const struct config *cfg, const char *id, struct error *err)
{
	uint64_t lost;
	bool stop;
	return pending_flush(cfg, id, &lost, &stop, err);
}

int hook_create(const struct config *cfg, const struct oci_state *st, struct error *err)
{
	struct annotation *bann = NULL;
	size_t n_bann = 0;
	const char *name = NULL;
	_cleanup_policy_ struct policy *pol = NULL;
	_cleanup_bpfset_ struct bpfset *set = NULL;
	struct cgroup_ref cg = { 0 };
	struct container c = { 0 };
	bool recorded = false, attached = false;
	_cleanup_free_ char *proc = NULL, *proc_text = NULL;
	struct stat sb;
	int r;

	if (stat(st->bundle, &sb) < 0) {
		r = err_errno(err, -errno, "cannot access bundle %s", st->bundle);
		goto out;
	}
	r = choose_policy(cfg, st, &name, &bann, &n_bann, err);
	if (r < 0 || !name)
		goto out;
	r = policy_load(cfg->policy_dir, name, &pol, err);
	if (r < 0)
		goto out;
	/*
	 * CAP_SYS_ADMIN in the host user namespace lets a process take any bpf_link or map by
	 * id (bpf(2)) and detach or rewrite what ocibpf put in force: such a container can't
	 * be held to a policy. (A bundle whose config.json can't be read is judged by the
	 * state alone, as before.) Telemetry alone promises nothing it could break.
	 */
	bool admin = false;
	if ((pol->network || pol->audit) &&
	    oci_bundle_host_capability(st->bundle, "CAP_SYS_ADMIN", &admin, NULL) == 0 && admin) {
		r = err_msg(err, -EPERM,
			    "the container has CAP_SYS_ADMIN in the host user namespace: it could detach its BPF programs and edit their maps (bpf(2)); give it a user namespace of its own, or drop CAP_SYS_ADMIN");
		goto out;
	}
	r = process_start_time(st->pid, &c.pid_start);
	if (r < 0) {
		r = err_errno(err, r, "container process %d", (int)st->pid);
		goto out;
	}
	r = cgroup_of_pid(st->pid, &cg, err);
	if (r < 0)
		goto out;
	if (strcmp(cg.path, "/") == 0) {
		r = err_msg(err, -EINVAL, "container process %d is in the root cgroup", (int)st->pid);
		goto out;
	}
	r = clear_previous(cfg, st->id, err);
	if (r < 0)
		goto out;
	/* What an earlier run's log owes (log_dir was full) goes before our start record. */
	r = pending_flush_before_start(cfg, st->id, err);
	if (r < 0)
		goto out;
	r = bpfset_open(cfg->bpffs_dir, NULL, true, &set, err);
	if (r < 0)
		goto out;

	proc = xasprintf("/proc/%d/cgroup", (int)st->pid);
	if (read_file(proc, 1 << 20, &proc_text, NULL) == 0) {
		c.cgroup_v1_memory = v1_path(proc_text, "memory");
		c.cgroup_v1_cpuacct = v1_path(proc_text, "cpuacct");
		c.cgroup_v1_pids = v1_path(proc_text, "pids");
	}
	c.id = st->id;
	c.policy = (char *)name;
	c.pid = st->pid;
	c.cgroup = cg.path;
	c.cgroup_dir = cg.dir;
	c.cgroup_id = cg.id;
	c.flags = policy_flags(pol);
	c.set = set->version;
	r = audit_prepare(set, cg.id, pol, &c.flags, err);
	if (r < 0)
		goto out;
	c.bundle = st->bundle;
	c.started_ns = realtime_ns();

	/* Recorded first, so that `ocibpf gc` finds whatever a killed hook leaves. */
	r = container_write(cfg->state_dir, &c, err);
	if (r < 0)
		goto out;
	recorded = true;
	/* Rules in force before the programs that enforce them (rolled back by bpfset_forget). */
	if (pol->network) {
		r = netpolicy_apply(set, cg.id, pol, err);
		if (r < 0)
			goto out;
	}
	r = bpfset_attach(set, st->id, &cg, c.flags, err);
	if (r < 0)
		goto out;
	attached = true;
	r = audit_sync(set, NULL, err);
	if (r < 0)
		goto out;
	if (c.flags) {
		/* The per-syscall tracepoints are held by the collector: in force before we
		 * return. The sync also has it map the ring buffers at once. */
		bool sync = c.flags & (CF_AUDIT | CF_NETWORK);
		r = collector_call(cfg, sync ? "sync" : NULL, COLLECTOR_TIMEOUT_MS, err);
		if (r < 0)
			goto out;
	}
	/* Last: a `start` record is only written for a container that is monitored. */
	r = write_start(cfg, &c, err);
out:
	if (r < 0) {
		if (attached)
			bpfset_unpin(cfg->bpffs_dir, st->id);
		if (set)
			bpfset_forget(set, cg.id);
		if (recorded)
			container_remove(cfg->state_dir, st->id);
	}
	free(c.cgroup_v1_memory);
	free(c.cgroup_v1_cpuacct);
	free(c.cgroup_v1_pids);
	cgroup_ref_done(&cg);
	free_annotations(bann, n_bann);
	return r;
}

static void gen_count(int nr, uint64_t count, void *ud)
{
	const char *name = audit_syscall_name(nr);
	_cleanup_free_ char *fallback = name ? NULL : xasprintf("%d", nr);
	jg_key_uint(ud, name ? name : fallback, count);
}

struct stop_rec {
	const struct container *c;
	struct bpfset *set;
	const struct stats *s;
	const char *reason;
};

/* The fields of a stop record after its type. */
static void gen_stop_fields(yajl_gen g, void *ud)
{
	const struct stop_rec *sr = ud;
	if (sr->reason)
		jg_key_str(g, "reason", sr->reason);
	jg_key(g, "stats");
	yajl_gen_map_open(g);
	stats_gen_fields(g, sr->c->id, sr->s);
	if (sr->set && (sr->c->flags & CF_SYSCOUNT)) {
		/* Kept by name so `ocibpf seccomp` works after the container is gone. */
		jg_key(g, "syscall_counts");
		yajl_gen_map_open(g);
		audit_syscall_counts(sr->set, sr->c->cgroup_id, gen_count, g);
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
}

/*
 * The log can't take the stop record now (log_dir full), or owes records from before it:
 * keep it in state_dir with them, and write them all if the log takes them now. Else
 * the collector writes them once it can (it stays for that), or the next container with
 * this id before its start record.
 */
static int write_stop_pending(const struct config *cfg, const char *id, uint64_t now,
			      struct stop_rec *sr, struct error *err)
{
	int r = pending_set_stop(cfg->state_dir, id, now, gen_stop_fields, sr);
	if (r < 0)
		return err_errno(err, r, "cannot write its audit log, nor keep its stop record in %s/pending",
				 cfg->state_dir);
	uint64_t lost;
	bool stop;
	struct error ferr = { 0 };
	r = pending_flush(cfg, id, &lost, &stop, &ferr);
	if (r == 0) {
		err_clear(&ferr);
		return 0;
	}
	pending_exists(cfg->state_dir, id, &lost);
	_cleanup_free_ char *also = lost ? xasprintf(" and a lost record for %llu records",
						     (unsigned long long)lost) : NULL;
	r = err_msg(err, r, "%s; its stop record%s %s kept in %s/pending/%s.json and written when the log can be written",
		    ferr.msg, also ? also : "", also ? "are" : "is", cfg->state_dir, id);
	err_clear(&ferr);
	return r;
}

static int write_stop(const struct config *cfg, const struct container *c, struct bpfset *set,
		      const struct stats *s, const char *reason, struct error *err)
{
	struct stop_rec sr = { .c = c, .set = set, .s = s, .reason = reason };
	uint64_t now = realtime_ns();
	/* Records the log owes already go first: the stop record joins them (below). */
	if (!pending_exists(cfg->state_dir, c->id, NULL)) {
		_cleanup_auditlog_ struct auditlog *al = NULL;
		int r = auditlog_open(cfg->log_dir, c->id, &al, err);
		if (r < 0)
			return r;
		r = auditlog_lock(al);
		if (r < 0)
			return err_errno(err, r, "cannot lock audit log %s", al->path);
		yajl_gen g = auditlog_begin(al, "stop", now);
		gen_stop_fields(g, &sr);
		auditlog_end(al);
		if (auditlog_flush(al) == 0)
			return 0;
	}
	return write_stop_pending(cfg, c->id, now, &sr, err);
}

/* container_finish with the container's set open already (NULL: it is gone). */
static int finish(const struct config *cfg, const struct container *c, struct bpfset *set,
		  const char *reason, struct error *err)
{
	struct stats s;
	stats_collect(cfg->state_dir, c, set, &s);
	int r = write_stop(cfg, c, set, &s, reason, err);
	/* Tear down even when the log can't be written: the error is still reported. */
	bpfset_unpin(cfg->bpffs_dir, c->id);
	if (set)
		bpfset_forget(set, c->cgroup_id);
	container_remove(cfg->state_dir, c->id);
	return r;
}

int container_finish(const struct config *cfg, const struct container *c, const char *reason,
		     struct error *err)
{
	_cleanup_bpfset_ struct bpfset *set = NULL;
	bpfset_open(cfg->bpffs_dir, c->set, false, &set, NULL);
	return finish(cfg, c, set, reason, err);
}

int hook_poststop(const struct config *cfg, const struct oci_state *st, struct error *err)
{
	_cleanup_container_ struct container *c = NULL;
	if (container_read(cfg->state_dir, st->id, &c, NULL) < 0) {
		/* Not ours, or stopped already: nothing to do, but no stray pins either. */
		bpfset_unpin(cfg->bpffs_dir, st->id);
		return 0;
	}
	_cleanup_bpfset_ struct bpfset *set = NULL;
	bpfset_open(cfg->bpffs_dir, c->set, false, &set, NULL);
	if (c->flags & (CF_AUDIT | CF_NETWORK)) {
		/* Every record of the container goes before its `stop` record: no more folded
		 * denials to come, then the collector writes out what is queued. */
		if (set && (c->flags & CF_NETWORK))
			netpolicy_quiesce(set, c->cgroup_id);
		_cleanup_free_ char *req = xasprintf("drain %s", c->id);
		struct error derr = { 0 };
		/* The collector may have gone with the container's last process: start it
		 * for the drain; it exits again on its own. */
		if (collector_call(cfg, req, COLLECTOR_TIMEOUT_MS, &derr) < 0)
			log_warn(c->id, "%s (records still queued may follow the stop record)", derr.msg);
		err_clear(&derr);
	}
	return finish(cfg, c, set, NULL, err);
}
