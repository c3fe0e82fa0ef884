/* SPDX-License-Identifier: Apache-2.0 */
#include "audit.h"
#include "auditlog.h"
#include "bpfset.h"
#include "json.h"
#include "netapply.h"
#include "pending.h"
#include "record.h"
#include "release.h"
#include "stats.h"

static void gen_count(int nr, uint64_t count, void *ud)
{
	const char *name = audit_syscall_name(nr);
	_cleanup_free_ char *fallback = name ? NULL : xasprintf("%d", nr);
	jg_key_uint(ud, name ? name : fallback, count);
}

struct stop_fields {
	const struct container *c;
	struct bpfset *set;
	const struct stats *s;
	const char *reason;
};

static void gen_stop_stats(yajl_gen g, void *ud)
{
	const struct stop_fields *f = ud;
	stats_gen_fields(g, f->c->id, f->s);
	if (f->set && (f->c->flags & CF_SYSCOUNT)) {
		/* Kept by name so `ocibpf seccomp` works after the container is gone. */
		jg_key(g, "syscall_counts");
		yajl_gen_map_open(g);
		audit_syscall_counts(f->set, f->c->cgroup_id, gen_count, g);
		yajl_gen_map_close(g);
	}
}

/* The fields of a stop record after its type (kept in state_dir while the log is full). */
static void gen_stop_fields(yajl_gen g, void *ud)
{
	const struct stop_fields *f = ud;
	if (f->reason)
		jg_key_str(g, "reason", f->reason);
	jg_key(g, "stats");
	yajl_gen_map_open(g);
	gen_stop_stats(g, ud);
	yajl_gen_map_close(g);
}

/*
 * The log can't take the stop record now (log_dir full), or owes records from before it:
 * keep it in state_dir with them, and write them all if the log takes them now. Else
 * the collector writes them once it can (it stays for that), or the next run of the id
 * before its start record.
 */
static int write_stop_pending(const struct config *cfg, const char *id, const char *log_dir,
			      uint64_t now, struct stop_fields *f, struct error *err)
{
	int r = pending_set_stop(cfg->state_dir, id, log_dir, now, gen_stop_fields, f);
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
	struct stop_fields f = { c, set, s, reason };
	uint64_t now = realtime_ns();
	const char *log_dir = container_log_dir(c, cfg->log_dir);
	/* Records the log owes already go first: the stop record joins them (below). */
	if (!pending_exists(cfg->state_dir, c->id, NULL)) {
		_cleanup_auditlog_ struct auditlog *al = NULL;
		int r = record_open_locked(log_dir, c->id, &al, err);
		if (r < 0)
			return r;
		record_stop(al, now, reason, gen_stop_stats, &f);
		if (auditlog_flush(al) == 0)
			return 0;
	}
	return write_stop_pending(cfg, c->id, log_dir, now, &f, err);
}

int container_release(const struct config *cfg, const struct container *c, struct bpfset *set,
		      const char *reason, struct error *err)
{
	int r = 0;
	if (c->started) {
		struct stats s;
		stats_collect(cfg->state_dir, c, set, &s);
		r = write_stop(cfg, c, set, &s, reason, err);
	}
	bpfset_unpin(container_bpffs_dir(c, cfg->bpffs_dir), c->run);
	if (set) {
		bpfset_forget(set, c->cgroup_id);
		audit_forget(set, c->cgroup_id, c->flags);
		netpolicy_forget(set, c->cgroup_id);
		/* The raw tracepoints this run used are detached by the
		 * collector's next sweep once no container needs them (knowing that takes a
		 * walk of every container's entry: not on a hook's path). */
	}
	container_remove(cfg->state_dir, c->id);
	return r;
}
