/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What could not be recorded, said in the log as `lost` records (record.c): records the
 * kernel had no ring room for (its per-container counter, against a baseline kept in
 * <state_dir>/lost so a restarted collector doesn't report them twice), records that
 * could not be written (log_dir full: owed through <state_dir>/pending when the run's
 * stop comes first), and the gap while no collector held the syscall tracepoints.
 */
#include <errno.h>
#include <string.h>

#include "events-internal.h"
#include "paths.h"
#include "pending.h"
#include "record.h"

/*
 * Written by a collector that exits while no container runs: the tracepoints it held were
 * needed by none, so the next collector has no gap to report.
 */
static char *idle_marker(const struct config *cfg)
{
	return path_collector(cfg->state_dir, "idle");
}

/* Left by a collector that exited with no container running: taken (removed) here. */
bool losses_clean_start(const struct config *cfg)
{
	_cleanup_free_ char *idle = idle_marker(cfg);
	return unlink(idle) == 0;
}

void losses_mark_idle(const struct config *cfg)
{
	_cleanup_free_ char *idle = idle_marker(cfg);
	write_file_atomic(idle, "", 0, 0600);
}

void losses_save(struct events *ev, struct ctr *c)
{
	_cleanup_free_ char *dir = path_lost_dir(ev->cfg->state_dir);
	_cleanup_free_ char *path = path_lost(ev->cfg->state_dir, c->id);
	/* Of this run: a baseline a run of the id left behind is not ours. */
	_cleanup_free_ char *text = xasprintf("%s %llu\n", c->run, (unsigned long long)c->lost_seen);
	mkdir_p(dir, 0700);
	write_file_atomic(path, text, strlen(text), 0600);
}

void losses_load(struct events *ev, struct ctr *c, bool *ret_known)
{
	_cleanup_free_ char *path = path_lost(ev->cfg->state_dir, c->id);
	_cleanup_free_ char *text = NULL;
	size_t n = strlen(c->run);
	*ret_known = read_file_nofollow(path, 128, &text, NULL) == 0 &&
		     strncmp(text, c->run, n) == 0 && text[n] == ' ';
	c->lost_seen = *ret_known ? strtoull(text + n + 1, NULL, 10) : 0;
}

void losses_gap(struct events *ev, struct ctr *c)
{
	struct auditlog *al = runs_log(ev, c);
	if (!al)
		return;
	/* How many syscall records were not made while no collector held the tracepoints
	 * can't be known; say so instead of guessing. */
	record_lost(al, realtime_ns(), false, 0,
		    "collector restarted: syscall records made while it was down are missing");
}

/* What the kernel counted as lost for the run since the last report. */
void losses_report(struct events *ev, struct ctr *c)
{
	if (c->drained)
		return;
	struct bpfset *s = ring_set_of(ev, c->set);
	struct container_stats k;
	if (!s || bpfset_read_stats(s, c->cgid, &k) < 0 || k.audit_lost <= c->lost_seen)
		return;
	struct auditlog *al = runs_log(ev, c);
	if (!al)
		return;
	record_lost(al, realtime_ns(), true, k.audit_lost - c->lost_seen, "kernel ring buffer full");
	ev->lost += k.audit_lost - c->lost_seen;
	c->lost_seen = k.audit_lost;
	losses_save(ev, c);
}

/*
 * Records of a container that could not be written (log_dir full) and that we won't get
 * to write ourselves (its stop record comes next, or it is gone): kept in state_dir, and
 * written as a `lost` record before its stop record once the log can be written.
 */
void losses_owe(struct events *ev, struct ctr *c)
{
	uint64_t owed = (c->log ? c->log->dropped : 0) + c->dropped;
	if (!owed)
		return;
	int r = pending_add_lost(ev->cfg->state_dir, c->id, c->log_dir, owed);
	if (r < 0) {
		log_error(c->id, "%llu records could not be written to its audit log, and keeping their count in %s failed: %s",
			  (unsigned long long)owed, ev->cfg->state_dir, strerror(-r));
		return;
	}
	log_error(c->id, "%llu records could not be written to its audit log; a lost record for them is kept in %s/pending and written when the log can be written",
		  (unsigned long long)owed, ev->cfg->state_dir);
	if (c->log)
		c->log->dropped = 0;
	c->dropped = 0;
}

/* Write what stopped containers' logs owe, now that they may be written (every tick).
 * Returns how many still owe something. */
int losses_retry_pending(struct events *ev)
{
	char **ids = pending_list(ev->cfg->state_dir);
	int left = 0;
	for (char **id = ids; *id; id++) {
		if (runs_find_id(ev, *id))
			continue;   /* still running, or its poststop is under way: theirs to write */
		uint64_t lost;
		bool stop;
		if (pending_flush(ev->cfg, *id, &lost, &stop, NULL) < 0) {
			left++;
			continue;
		}
		if (lost || stop)
			log_warn(*id, "its audit log is written again: %s%s%s", lost ? "a lost record for the records that could not be written" : "",
				 lost && stop ? " and " : "", stop ? "its stop record" : "");
	}
	strv_free(ids);
	return left;
}
