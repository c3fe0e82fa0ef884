/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runs the collector serves, entered from the core's records (container.c owns
 * them; this is the collector's bookkeeping beside each: its audit log handle, what it
 * consumed and reported), and the writing of their logs in batches.
 */
#include <string.h>

#include "events-internal.h"
#include "record.h"

struct ctr *runs_find_cgid(struct events *ev, uint64_t cgid)
{
	if (ev->last && ev->last->cgid == cgid)
		return ev->last;
	for (size_t i = 0; i < ev->n_ctrs; i++)
		if (ev->ctrs[i].cgid == cgid)
			return ev->last = &ev->ctrs[i];
	return NULL;
}

/* A run of the id the collector serves (any: still running, or drained for its stop). */
struct ctr *runs_find_id(struct events *ev, const char *id)
{
	for (size_t i = 0; i < ev->n_ctrs; i++)
		if (strcmp(ev->ctrs[i].id, id) == 0)
			return &ev->ctrs[i];
	return NULL;
}

struct ctr *runs_find_run(struct events *ev, const char *run)
{
	for (size_t i = 0; i < ev->n_ctrs; i++)
		if (strcmp(ev->ctrs[i].run, run) == 0)
			return &ev->ctrs[i];
	return NULL;
}

/* Enter a run from its record (events.c adds what the collector knows of it). */
struct ctr *runs_add(struct events *ev, const struct container *rec)
{
	ev->ctrs = xrealloc(ev->ctrs, (ev->n_ctrs + 1) * sizeof(*ev->ctrs));
	ev->last = NULL;
	struct ctr *c = &ev->ctrs[ev->n_ctrs++];
	*c = (struct ctr){ .id = xstrdup(rec->id), .run = xstrdup(rec->run), .cgid = rec->cgroup_id,
			   .set = xstrdup(rec->set),
			   .log_dir = xstrdup(container_log_dir(rec, ev->cfg->log_dir)),
			   .flags = rec->flags, .seen = true,
			   .pid = rec->pid, .pid_start = rec->pid_start, .consumed_fd = -1 };
	return c;
}

static void ctr_free(struct events *ev, struct ctr *c)
{
	runs_flush(ev, c);
	uint64_t owed = (c->log ? c->log->dropped : 0) + c->dropped;
	/* Not drained: its stop record was written without us (gc, a stale record), and
	 * nothing may follow it in the log. Said here, at least. */
	if (owed && !c->drained)
		log_error(c->id, "%llu records could not be written to its audit log before its stop record",
			  (unsigned long long)owed);
	if (c->consumed_fd >= 0)
		close(c->consumed_fd);
	auditlog_close(c->log);
	free(c->id);
	free(c->run);
	free(c->set);
	free(c->log_dir);
}

/* Let go of the runs not marked seen. */
void runs_sweep(struct events *ev)
{
	size_t w = 0;
	for (size_t i = 0; i < ev->n_ctrs; i++) {
		if (ev->ctrs[i].seen)
			ev->ctrs[w++] = ev->ctrs[i];
		else
			ctr_free(ev, &ev->ctrs[i]);
	}
	ev->n_ctrs = w;
	ev->last = NULL;
}

/* How many of the runs still have their init running. */
int runs_live(const struct events *ev)
{
	int live = 0;
	for (size_t i = 0; i < ev->n_ctrs; i++) {
		struct container rec = { .pid = ev->ctrs[i].pid, .pid_start = ev->ctrs[i].pid_start };
		live += container_alive(&rec);
	}
	return live;
}

void runs_free(struct events *ev)
{
	for (size_t i = 0; i < ev->n_ctrs; i++)
		ctr_free(ev, &ev->ctrs[i]);
	free(ev->ctrs);
	ev->ctrs = NULL;
	ev->n_ctrs = 0;
	ev->last = NULL;
}

/* The run's log, locked for this batch (opened on first use). */
struct auditlog *runs_log(struct events *ev, struct ctr *c)
{
	if (!c->log) {
		struct error err = { 0 };
		if (auditlog_open(c->log_dir, c->id, &c->log, &err) < 0) {
			log_error(c->id, "%s", err.msg);
			err_clear(&err);
			return NULL;
		}
		/* Reported by a `lost` record when the log is locked next. */
		c->log->dropped = c->dropped;
		c->dropped = 0;
	}
	if (!c->locked) {
		if (record_lock(c->log) < 0)
			return NULL;
		c->locked = true;
	}
	return c->log;
}

/* Write the run's batch and unlock its log. */
void runs_flush(struct events *ev, struct ctr *c)
{
	if (!c->log || !c->locked)
		return;
	uint64_t dropped = c->log->dropped;
	uint64_t batch = c->log->seq - c->log->seq_locked;
	int r = auditlog_flush(c->log);
	if (r == 0)
		ev->written += batch;
	else if (c->log->dropped > dropped)
		ev->lost += c->log->dropped - dropped;
	/* Said once when writing starts failing (e.g. log_dir full), once when it works again. */
	if (r < 0 && !c->write_failing)
		log_error(c->id, "cannot write audit log %s: %s (records are counted as lost until it can be written)",
			  c->log->path, strerror(-r));
	else if (r == 0 && c->write_failing && c->log->dropped == 0)
		log_warn(c->id, "audit log %s is written again; a lost record accounts for the %llu records dropped",
			 c->log->path, (unsigned long long)dropped);
	if (r < 0)
		c->write_failing = true;
	else if (c->log->dropped == 0)
		c->write_failing = false;
	auditlog_unlock(c->log);
	c->locked = false;
}

void runs_flush_all(struct events *ev)
{
	for (size_t i = 0; i < ev->n_ctrs; i++)
		runs_flush(ev, &ev->ctrs[i]);
}
