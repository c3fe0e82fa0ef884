/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "audit.h"
#include "auditlog.h"
#include "bpfset.h"
#include "cgroup.h"
#include "collector.h"
#include "container.h"
#include "control-proto.h"
#include "dirshare.h"
#include "json.h"
#include "lifecycle.h"
#include "nesting.h"
#include "netapply.h"
#include "paths.h"
#include "pending.h"
#include "policy.h"
#include "policycache.h"
#include "record.h"
#include "release.h"

/* Bound on every wait for the collector in a hook. */
#define COLLECTOR_TIMEOUT_MS 10000

/* The policy name for a container, or NULL when it is to be left alone. */
static int choose_policy(const struct config *cfg, const struct run_request *rq,
			 const char **ret, struct error *err)
{
	const char *name = rq->policy ? rq->policy : cfg->default_policy;
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

static char *v1_path(const char *proc_cgroup, const char *controller)
{
	char *p = NULL;
	return cgroup1_path_from_proc(proc_cgroup, controller, &p) == 0 ? p : NULL;
}

static int write_start(const struct config *cfg, const struct container *c, struct error *err)
{
	_cleanup_auditlog_ struct auditlog *al = NULL;
	int r = record_open_locked(container_log_dir(c, cfg->log_dir), c->id, &al, err);
	if (r < 0)
		return r;
	record_start(al, c->started_ns, c->policy, c->cgroup, c->pid);
	r = auditlog_flush(al);
	if (r < 0)
		return err_errno(err, r, "cannot write audit log %s", al->path);
	return 0;
}

void run_drain(const struct config *cfg, const struct container *c, struct bpfset *set,
	       bool start_collector)
{
	if (!(c->flags & (CF_AUDIT | CF_NETWORK)))
		return;
	/* No more folded denials to come, then the collector writes out what is queued. */
	if (set && (c->flags & CF_NETWORK))
		netpolicy_quiesce(set, c->cgroup_id);
	if (!start_collector && !collector_running(cfg))
		return;
	_cleanup_free_ char *req = xasprintf(CTL_DRAIN "%s %s", c->run, c->id);
	struct error derr = { 0 };
	if (collector_call(cfg, req, COLLECTOR_TIMEOUT_MS, &derr) < 0)
		log_warn(c->id, "%s (records still queued may follow the stop record)", derr.msg);
	err_clear(&derr);
}

int run_end(const struct config *cfg, const struct container *c, const char *reason,
	    enum run_end_drain drain, struct error *err)
{
	_cleanup_bpfset_ struct bpfset *set = NULL;
	bpfset_open(container_bpffs_dir(c, cfg->bpffs_dir), c->set, false, &set, NULL);
	if (drain != END_DRAINED)
		run_drain(cfg, c, set, drain == END_DRAIN);
	return container_release(cfg, c, set, reason, err);
}

/*
 * A record left by an earlier run of the id (the id's lock is held): a live one refuses
 * the new run and is left exactly as it is; a stale one (its poststop never came) is
 * closed with a stop record, as `ocibpf gc` does. 1 when the record is this very run's,
 * with this policy: the runtime calls the hook a second time for the same container
 * (entries at both createRuntime and prestart), and it is monitored already.
 */
static int clear_previous(const struct config *cfg, const char *id, pid_t pid, uint64_t pid_start,
			  uint64_t cgid, const char *policy, struct error *err)
{
	_cleanup_container_ struct container *old = NULL;
	if (container_read(cfg->state_dir, id, &old, NULL) < 0)
		return 0;
	if (container_alive(old) && old->pid == pid && old->pid_start == pid_start &&
	    old->cgroup_id == cgid && old->policy && strcmp(old->policy, policy) == 0 && old->started)
		return 1;
	if (container_alive(old))
		return err_msg(err, -EEXIST, "a container with this id is already monitored (pid %d)",
			       (int)old->pid);
	/* Processes left in its cgroup (not ours: this run is in another one) still run. */
	if (old->cgroup_id != cgid && container_running(old))
		return err_msg(err, -EEXIST,
			       "a container with this id is already monitored (its init, pid %d, exited; processes are left in its cgroup %s until its runtime deletes it)",
			       (int)old->pid, old->cgroup ? old->cgroup : "");
	run_end(cfg, old, "stale", END_DRAIN, NULL);
	return 0;
}

static int pending_flush_before_start(const struct config *cfg, const char *id, struct error *err)
{
	uint64_t lost;
	bool stop;
	return pending_flush(cfg, id, &lost, &stop, err);
}

/* Held shared while a hook sets a run up (and while `ocibpf load` and a starting
 * collector load a set); `ocibpf gc` holds it exclusively, so it never unloads a set,
 * nor counts a shared policy's users, while a container is attaching or a set is being
 * pinned. */
int lock_sets(const struct config *cfg, struct error *err)
{
	int r = mkdir_p(cfg->state_dir, 0700);
	if (r < 0)
		return err_errno(err, r, "cannot create %s", cfg->state_dir);
	_cleanup_free_ char *path = path_sets_lock(cfg->state_dir);
	return lock_file(path, LOCK_SH, err);
}

/*
 * The cgroup is another run's (its stats entry is there: bpfset_claim): one cgroup holds
 * one container's policy, counters and audit selection, so this start is refused and
 * leaves them as they are. Named from the records (read only in this case).
 */
static int cgroup_taken(const struct config *cfg, const struct cgroup_ref *cg, struct error *err)
{
	_cleanup_container_ struct container *o = container_find_cgroup(cfg->state_dir, cg->id);
	if (!o)
		return err_msg(err, -EBUSY, "cgroup %s is being set up for another container (or was claimed by a hook killed half-way: `ocibpf gc` clears that)",
			       cg->path);
	if (container_alive(o))
		return err_msg(err, -EBUSY, "cgroup %s is that of monitored container %s: one cgroup takes one container",
			       cg->path, o->id);
	return err_msg(err, -EBUSY, "cgroup %s is that of container %s, whose process is gone: delete it, or run `ocibpf gc`",
		       cg->path, o->id);
}

/*
 * The network rules of pol in force for cgid: the entries in the trie that the policy
 * cache named, when they are there; else the policy in full (read now when the cache
 * answered), whose compiled summary the cache then keeps.
 */
static int apply_network(const struct config *cfg, struct bpfset *set, uint64_t cgid,
			 const struct policy *pol, struct policy_source *src, struct error *err)
{
	struct netpolicy_summary s;
	int r;
	if (src->hit) {
		r = netpolicy_apply_kept(set, cgid, &src->net, err);
		if (r != -ENOENT)
			return r;
		if (err)
			err_clear(err);	/* a map that is missing says so again below */
		_cleanup_policy_ struct policy *full = NULL;
		r = policycache_load_rules(src, cfg->policy_dir, pol, &full, err);
		return r < 0 ? r : netpolicy_apply(set, cgid, full, NULL, err);
	}
	r = netpolicy_apply(set, cgid, pol, &s, err);
	if (r == 0)
		policycache_store(cfg->state_dir, src, pol, &s);
	return r;
}

/* With the id locked: the run's record, pins, map entries and start record. */
static int create_run(const struct config *cfg, const struct run_request *rq,
		      const char *name, const struct policy *pol, struct policy_source *src,
		      struct error *err)
{
	_cleanup_bpfset_ struct bpfset *set = NULL;
	_cleanup_close_ int sets_lock = -1, sync_fd = -1;
	_cleanup_free_ char *run = NULL, *sync_req = NULL;
	struct cgroup_ref cg = { 0 };
	struct container c = { 0 };
	bool claimed = false, recorded = false;
	int r;

	r = process_start_time(rq->pid, &c.pid_start);
	if (r < 0) {
		r = err_errno(err, r, "container process %d", (int)rq->pid);
		goto out;
	}
	r = cgroup_of_pid(rq->pid, &cg, err);
	if (r < 0)
		goto out;
	if (strcmp(cg.path, "/") == 0) {
		r = err_msg(err, -EINVAL, "container process %d is in the root cgroup", (int)rq->pid);
		goto out;
	}
	r = clear_previous(cfg, rq->id, rq->pid, c.pid_start, cg.id, name, err);
	if (r < 0)
		goto out;
	if (r > 0) {
		r = 0;   /* hooked again: monitored already, nothing to do */
		goto out;
	}
	/* What an earlier run's log owes (log_dir was full) goes before our start record. */
	r = pending_flush_before_start(cfg, rq->id, err);
	if (r < 0)
		goto out;
	sets_lock = lock_sets(cfg, err);
	if (sets_lock < 0) {
		r = sets_lock;
		goto out;
	}
	/* Not a bpffs_dir or state_dir another configuration runs containers from. */
	r = dirshare_check(cfg, err);
	if (r < 0)
		goto out;
	r = bpfset_open(cfg->bpffs_dir, NULL, true, &set, err);
	if (r < 0)
		goto out;
	/* Nested in a monitored container, or around one: refused before anything is
	 * written, so that the other's entries and counters stay exactly as they are. */
	r = nesting_check(cfg->state_dir, set, &cg, err);
	if (r < 0)
		goto out;
	/* Before any entry keyed by the cgroup is written: another run's stay as they are. */
	r = bpfset_claim(set, cg.id, err);
	if (r == -EEXIST)
		r = cgroup_taken(cfg, &cg, err);
	if (r < 0)
		goto out;
	claimed = true;

	c.cgroup_v1_memory = v1_path(cg.proc, "memory");
	c.cgroup_v1_cpuacct = v1_path(cg.proc, "cpuacct");
	c.cgroup_v1_pids = v1_path(cg.proc, "pids");
	run = run_token_new();
	c.id = (char *)rq->id;
	c.run = run;
	c.policy = (char *)name;
	c.pid = rq->pid;
	c.cgroup = cg.path;
	c.cgroup_dir = cg.dir;
	c.cgroup_id = cg.id;
	c.flags = policy_flags(pol);
	c.set = set->version;
	r = audit_prepare(set, cg.id, pol, &c.flags, err);
	if (r < 0)
		goto out;
	c.bundle = (char *)rq->bundle;
	/* Its records all go there, and its end is there, whatever a later edit says. */
	c.log_dir = cfg->log_dir;
	c.bpffs_dir = cfg->bpffs_dir;
	c.started_ns = realtime_ns();
	/* The engine's names for it, for metrics labels (borrowed, like the rest of c). */
	for (size_t i = 0; i < rq->n_annotations; i++)
		container_label_from_annotation(&c, rq->annotations[i].key, rq->annotations[i].value);
	if (!c.name && container_label_ok(rq->name))
		c.name = (char *)rq->name;

	/* Recorded first, so that `ocibpf gc` finds whatever a killed hook leaves. */
	r = container_write(cfg->state_dir, &c, err);
	if (r < 0)
		goto out;
	recorded = true;
	if ((c.flags & CF_AUDIT) &&
	    !(audit_held_by_collector(set, cfg->state_dir, cg.id, c.flags) && collector_running(cfg))) {
		/* The per-syscall tracepoints are held by the collector: asked for now (it
		 * finds the container by its record), in force before we return; it attaches
		 * them while we do our part. (When it holds them already, as for a container
		 * like one before, nothing is asked.) */
		sync_req = xasprintf(CTL_SYNC_ID "%s", c.id);
		sync_fd = collector_send(cfg, sync_req, COLLECTOR_TIMEOUT_MS, err);
		if (sync_fd < 0) {
			r = sync_fd;
			goto out;
		}
	}
	/* Rules in force before the programs that enforce them. */
	if (pol->network) {
		r = apply_network(cfg, set, cg.id, pol, src, err);
		if (r < 0)
			goto out;
	}
	r = bpfset_attach(set, c.run, &cg, c.flags, err);
	if (r < 0)
		goto out;
	r = audit_attach(set, c.flags, err);
	if (r < 0)
		goto out;
	if (sync_fd >= 0) {
		r = collector_finish(cfg, sync_fd, sync_req, COLLECTOR_TIMEOUT_MS, err);
		sync_fd = -1;
		if (r < 0)
			goto out;
	} else if (c.flags && !(c.flags & CF_AUDIT)) {
		/* Nothing to wait for: the collector finds the container by its record. */
		collector_ensure(cfg);
	}
	/*
	 * Last: a `start` record only for a container that is monitored. Whoever ends the
	 * run writes a `stop` only after a `start` (a hook killed before this point leaves
	 * neither); the record says `started` just before the start record is written.
	 */
	c.started = true;
	r = container_write(cfg->state_dir, &c, err);
	if (r == 0)
		r = write_start(cfg, &c, err);
out:
	if (r < 0 && recorded) {
		c.started = false;   /* no `stop` for a start refused before its `start` */
		container_release(cfg, &c, set, NULL, NULL);
	} else if (r < 0 && claimed) {
		bpfset_forget(set, cg.id);
		audit_forget(set, cg.id, c.flags);
	}
	free(c.cgroup_v1_memory);
	free(c.cgroup_v1_cpuacct);
	free(c.cgroup_v1_pids);
	cgroup_ref_done(&cg);
	return r;
}

int hook_create(const struct config *cfg, const struct run_request *rq, struct error *err)
{
	_cleanup_policy_ struct policy *pol = NULL;
	_cleanup_(policy_source_done) struct policy_source src = { .fd = -1 };
	const char *name = NULL;
	struct stat sb;
	int r;

	if (stat(rq->bundle, &sb) < 0)
		return err_errno(err, -errno, "cannot access bundle %s", rq->bundle);
	r = choose_policy(cfg, rq, &name, err);
	if (r < 0 || !name)
		return r;   /* no policy: left alone, whatever its id */
	if (!valid_id(rq->id))
		return err_msg(err, -EINVAL,
			       "container id cannot be monitored: ocibpf takes ids of letters, digits and _+-., (not \".\" or \"..\"), at most %d characters",
			       ID_MAX);
	int lock = container_lock(cfg->state_dir, rq->id, err);
	if (lock < 0)
		return lock;
	r = policycache_load(cfg->state_dir, cfg->policy_dir, name, &pol, &src, err);
	if (r < 0)
		goto out;
	/*
	 * CAP_SYS_ADMIN in the host user namespace lets a process take any bpf_link or map by
	 * id (bpf(2)) and detach or rewrite what ocibpf put in force: such a container can't
	 * be held to a policy. (A bundle whose config.json can't be read is judged by the
	 * state alone, as before.) Telemetry alone promises nothing it could break.
	 */
	bool admin = false, net_admin = false;
	if ((pol->network || pol->audit) && rq->powers && rq->powers(rq, &admin, &net_admin) == 0) {
		if (admin) {
			r = err_msg(err, -EPERM,
				    "the container has CAP_SYS_ADMIN in the host user namespace: it could detach its BPF programs and edit their maps (bpf(2)); give it a user namespace of its own, or drop CAP_SYS_ADMIN");
			goto out;
		}
		/* A tunnel device's packets (vxlan: UDP from a kernel socket) pass the
		 * container's cgroup without its programs seeing them, both ways. */
		if (pol->network && net_admin) {
			r = err_msg(err, -EPERM,
				    "the container has CAP_NET_ADMIN over its network namespace: it could send and receive around its network policy through a tunnel device (vxlan), whose packets its BPF programs don't see; drop CAP_NET_ADMIN, or give it a policy without \"network\"");
			goto out;
		}
	}
	r = create_run(cfg, rq, name, pol, &src, err);
out:
	/* Refused (or failed) while another run of the id is recorded: its poststop is not
	 * that run's. (A failed run of ours left no record: create_run released it.) */
	if (r < 0) {
		if (container_recorded(cfg->state_dir, rq->id))
			container_note_refused(cfg->state_dir, rq->id);
	}
	container_unlock(cfg->state_dir, rq->id, lock);
	return r;
}

/*
 * Is the record the run this poststop is for? The runtime may call poststop for a start
 * it refused too (the same id under another runc --root or containerd namespace): such a
 * poststop comes from another bundle, or, while the recorded run still runs, was noted
 * by its refused hook. (Once the recorded run's init is gone, ending it is right
 * whoever asks.)
 */
static bool run_ended_here(const struct config *cfg, const struct container *c,
			   const struct run_request *rq)
{
	if (c->bundle && strcmp(c->bundle, rq->bundle) != 0)
		return false;
	return !(container_running(c) && container_take_refused(cfg->state_dir, rq->id));
}

int hook_poststop(const struct config *cfg, const struct run_request *rq, struct error *err)
{
	if (!valid_id(rq->id))
		return 0;   /* never monitored */
	/* state_dir edited since its start: the run is recorded in the one bpffs_dir's
	 * marker names (a start under the edited configuration is refused while it runs). */
	_cleanup_free_ char *other = NULL;
	struct config started_with;
	bool recorded = container_recorded(cfg->state_dir, rq->id);
	if (!recorded && (other = dirshare_other_state(cfg)) && container_recorded(other, rq->id)) {
		started_with = *cfg;
		started_with.state_dir = other;
		cfg = &started_with;
		recorded = true;
	}
	if (!recorded)
		return 0;   /* not ours, or ended already: not even a lock file is made */
	int lock = container_lock(cfg->state_dir, rq->id, err);
	if (lock < 0)
		return lock;
	_cleanup_container_ struct container *c = NULL;
	int r = 0;
	if (container_read(cfg->state_dir, rq->id, &c, NULL) < 0 || !run_ended_here(cfg, c, rq))
		goto out;
	/* The collector may have gone with the container's last process: started for the
	 * drain; it exits again on its own. */
	r = run_end(cfg, c, NULL, END_DRAIN, err);
out:
	container_unlock(cfg->state_dir, rq->id, lock);
	return r;
}
