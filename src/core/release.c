/* SPDX-License-Identifier: Apache-2.0 */
#include "audit.h"
#include "auditlog.h"
#include "bpfset.h"
#include "json.h"
#include "netpolicy.h"
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

static int write_stop(const struct config *cfg, const struct container *c, struct bpfset *set,
		      const struct stats *s, const char *reason, struct error *err)
{
	_cleanup_auditlog_ struct auditlog *al = NULL;
	int r = auditlog_open(cfg->log_dir, c->id, &al, err);
	if (r < 0)
		return r;
	r = record_lock(al);
	if (r < 0)
		return err_errno(err, r, "cannot lock audit log %s", al->path);
	struct stop_fields f = { c, set, s };
	record_stop(al, realtime_ns(), reason, gen_stop_stats, &f);
	r = auditlog_flush(al);
	if (r < 0)
		return err_errno(err, r, "cannot write audit log %s", al->path);
	return 0;
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
	bpfset_unpin(cfg->bpffs_dir, c->run);
	if (set) {
		bpfset_forget(set, c->cgroup_id);
		audit_forget(set, c->cgroup_id, c->flags);
		netpolicy_forget(set, c->cgroup_id);
		/* Detach the raw tracepoints if this run may have been the last to need them. */
		if (c->flags & (CF_SYSCOUNT | CF_AUDIT_RAW))
			audit_sync(set, NULL, NULL);
	}
	container_remove(cfg->state_dir, c->id);
	return r;
}

int container_release_open(const struct config *cfg, const struct container *c,
			   const char *reason, struct error *err)
{
	_cleanup_bpfset_ struct bpfset *set = NULL;
	bpfset_open(cfg->bpffs_dir, c->set, false, &set, NULL);
	return container_release(cfg, c, set, reason, err);
}
