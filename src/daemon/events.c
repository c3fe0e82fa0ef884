/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "audit.h"
#include "auditlog.h"
#include "bpfset.h"
#include "container.h"
#include "events.h"
#include "json.h"
#include "paths.h"
#include "record.h"
#include "pending.h"
#include "uring.h"

#define FLUSH_BYTES (256 << 10)
#define RING_LINGER_NS (10 * 1000000000ULL)
/* Tracepoints no container needs are detached after TP_LINGER_NS, looked at every
 * TP_SWEEP_TICKS ticks: back-to-back containers don't pay for detach and attach. */
#define TP_LINGER_NS (2 * 1000000000ULL)
#define TP_SWEEP_TICKS 4

struct ctr {
	char *id;
	char *run;              /* the run it serves: a new run of the id is a new ctr */
	uint64_t cgid;
	char *set;
	uint32_t flags;
	pid_t pid;              /* its init, to tell whether it still runs */
	uint64_t pid_start;
	struct auditlog *log;
	uint64_t lost_seen;     /* kernel lost counter already reported */
	uint64_t dropped;       /* failed writes not yet reported when the log was reopened */
	bool locked;            /* log locked in the current batch */
	bool drained;           /* its stop record comes next: nothing more is written */
	bool seen;              /* still recorded (refresh mark) */
	bool write_failing;     /* the last write of its log failed (reported once) */
	bool entered;           /* its entrypoint was exec'ed: records before are the runtime's setup */
	uint64_t consumed;      /* ring bytes of its events consumed (ocibpf_ring_consumed) */
	uint64_t consumed_told; /* the value last written to the map */
	int consumed_fd;        /* its set's ocibpf_ring_consumed, once opened (-1: not yet) */
};

struct events {
	const struct config *cfg;
	struct bpfset **sets;
	size_t n_sets;
	struct ring_buffer *rb; /* over every set's events map, while mapped */
	bool mapped;
	uint64_t unneeded_since; /* monotonic ns since no container needs the rings, or 0 */
	bool sets_changed;      /* a set was opened since the ring buffers were mapped */
	unsigned generation;    /* of rb: its epoll fd changes when it is rebuilt */
	struct ctr *ctrs;
	size_t n_ctrs;
	struct ctr *last;       /* lookup cache */
	struct tp_links tp;
	uint64_t boot_to_real;  /* realtime = boot + this */
	bool fresh;             /* first tick after start */
	unsigned ticks;
	bool clean_start;       /* the last collector left when no container ran: no gap */
	uint64_t written;       /* records written to the logs since we started */
	uint64_t lost;          /* records lost since we started (kernel ring full, failed writes) */
	uint64_t records_mtime; /* of the records directory at the last refresh_ctrs */
	bool records_settled;   /* ... and it was a second old then (see records_changed) */
};

/*
 * Written by a collector that exits while no container runs: the tracepoints it held were
 * needed by none, so the next collector has no gap to report.
 */
static char *idle_marker(const struct config *cfg)
{
	return path_collector(cfg->state_dir, "idle");
}

static void update_clock(struct events *ev)
{
	struct timespec rt, bt;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	ev->boot_to_real = (rt.tv_sec - bt.tv_sec) * 1000000000ULL + rt.tv_nsec - bt.tv_nsec;
}

static char *lost_path(const struct config *cfg, const char *id)
{
	return path_lost(cfg->state_dir, id);
}

static void save_lost(struct events *ev, struct ctr *c)
{
	_cleanup_free_ char *dir = path_lost_dir(ev->cfg->state_dir);
	_cleanup_free_ char *path = lost_path(ev->cfg, c->id);
	/* Of this run: a baseline a run of the id left behind is not ours. */
	_cleanup_free_ char *text = xasprintf("%s %llu\n", c->run, (unsigned long long)c->lost_seen);
	mkdir_p(dir, 0700);
	write_file_atomic(path, text, strlen(text), 0600);
}

static struct bpfset *set_of(struct events *ev, const char *version)
{
	for (size_t i = 0; i < ev->n_sets; i++)
		if (strcmp(ev->sets[i]->version, version) == 0)
			return ev->sets[i];
	return NULL;
}

static int handle_event(void *ctx, void *data, size_t size);

/*
 * Let go of sets no longer pinned as we opened them (`ocibpf gc --unload`; a later load
 * pins a new set under the same version): what they queued is written first, and the
 * tracepoints held from the current one go with it (they feed its maps, not the new
 * set's).
 */
static void drop_unpinned_sets(struct events *ev)
{
	size_t w = 0;
	for (size_t i = 0; i < ev->n_sets; i++) {
		struct bpfset *s = ev->sets[i];
		if (bpfset_still_pinned(s)) {
			ev->sets[w++] = s;
			continue;
		}
		if (ev->rb)
			ring_buffer__consume(ev->rb);
		if (strcmp(s->version, bpfset_current_version()) == 0) {
			tp_links_release(&ev->tp);
			tp_links_init(&ev->tp);
		}
		bpfset_close(s);
		ev->sets_changed = true;
	}
	ev->n_sets = w;
}

/* Open every pinned set (its ring buffer is mapped by update_ring). */
static void refresh_sets(struct events *ev)
{
	drop_unpinned_sets(ev);
	char **names = bpfset_list(ev->cfg->bpffs_dir);
	for (char **n = names; *n; n++) {
		if (set_of(ev, *n))
			continue;
		struct bpfset *s = NULL;
		if (bpfset_open(ev->cfg->bpffs_dir, *n, false, &s, NULL) < 0)
			continue;
		ev->sets = xrealloc(ev->sets, (ev->n_sets + 1) * sizeof(*ev->sets));
		ev->sets[ev->n_sets++] = s;
		ev->sets_changed = true;
	}
	strv_free(names);
}

/*
 * Map the ring buffers only while a monitored container can write to them (audit or
 * network policy): the kernel maps a ring's every page at mmap, twice over, so a
 * collector serving telemetry only would carry 2 x 16 MiB it never reads. Records made
 * before the mapping wait in the ring: the hook registers a container (and asks us to
 * sync) before it runs anything. Unmapped only after RING_LINGER_NS without such a
 * container: mapping costs about a millisecond, which back-to-back containers would
 * otherwise each pay in their hook.
 */
static void update_ring(struct events *ev)
{
	bool need = false;
	for (size_t i = 0; i < ev->n_ctrs && !need; i++)
		need = ev->ctrs[i].flags & (CF_AUDIT | CF_NETWORK);
	if (need) {
		ev->unneeded_since = 0;
	} else if (ev->mapped) {
		uint64_t now = now_ns();
		if (!ev->unneeded_since)
			ev->unneeded_since = now;
		if (now - ev->unneeded_since < RING_LINGER_NS)
			return;
	}
	if (need == ev->mapped && !(need && ev->sets_changed))
		return;
	if (ev->rb) {
		ring_buffer__consume(ev->rb);
		ring_buffer__free(ev->rb);
		ev->rb = NULL;
	}
	ev->mapped = need;
	ev->sets_changed = false;
	ev->generation++;
	if (!need)
		return;
	for (size_t i = 0; i < ev->n_sets; i++) {
		_cleanup_close_ int fd = bpfset_map_fd(ev->sets[i], "ocibpf_events");
		if (fd < 0)
			continue;
		if (!ev->rb)
			ev->rb = ring_buffer__new(fd, handle_event, ev, NULL);
		else
			ring_buffer__add(ev->rb, fd, handle_event, ev);
	}
}

static struct ctr *find_ctr(struct events *ev, uint64_t cgid)
{
	if (ev->last && ev->last->cgid == cgid)
		return ev->last;
	for (size_t i = 0; i < ev->n_ctrs; i++)
		if (ev->ctrs[i].cgid == cgid)
			return ev->last = &ev->ctrs[i];
	return NULL;
}

/* A run of the id the collector serves (any: still running, or drained for its stop). */
static struct ctr *find_id(struct events *ev, const char *id)
{
	for (size_t i = 0; i < ev->n_ctrs; i++)
		if (strcmp(ev->ctrs[i].id, id) == 0)
			return &ev->ctrs[i];
	return NULL;
}

static struct ctr *find_run(struct events *ev, const char *run)
{
	for (size_t i = 0; i < ev->n_ctrs; i++)
		if (strcmp(ev->ctrs[i].run, run) == 0)
			return &ev->ctrs[i];
	return NULL;
}

static void flush_ctr(struct events *ev, struct ctr *c)
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

static void flush_all(struct events *ev)
{
	for (size_t i = 0; i < ev->n_ctrs; i++)
		flush_ctr(ev, &ev->ctrs[i]);
}

/* Lock the container's log for this batch (opening it on first use). */
static struct auditlog *log_of(struct events *ev, struct ctr *c)
{
	if (!c->log) {
		struct error err = { 0 };
		if (auditlog_open(ev->cfg->log_dir, c->id, &c->log, &err) < 0) {
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

/*
 * Records of a container that could not be written (log_dir full) and that we won't get
 * to write ourselves (its stop record comes next, or it is gone): kept in state_dir, and
 * written as a `lost` record before its stop record once the log can be written.
 */
static void owe_lost(struct events *ev, struct ctr *c)
{
	uint64_t owed = (c->log ? c->log->dropped : 0) + c->dropped;
	if (!owed)
		return;
	int r = pending_add_lost(ev->cfg->state_dir, c->id, owed);
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
static int retry_pending(struct events *ev)
{
	char **ids = pending_list(ev->cfg->state_dir);
	int left = 0;
	for (char **id = ids; *id; id++) {
		if (find_id(ev, *id))
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

static void ctr_free(struct events *ev, struct ctr *c)
{
	flush_ctr(ev, c);
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
}

static void load_lost(struct events *ev, struct ctr *c, bool *ret_known)
{
	_cleanup_free_ char *path = lost_path(ev->cfg, c->id);
	_cleanup_free_ char *text = NULL;
	size_t n = strlen(c->run);
	*ret_known = read_file_nofollow(path, 128, &text, NULL) == 0 &&
		     strncmp(text, c->run, n) == 0 && text[n] == ' ';
	c->lost_seen = *ret_known ? strtoull(text + n + 1, NULL, 10) : 0;
}

static void write_gap(struct events *ev, struct ctr *c)
{
	struct auditlog *al = log_of(ev, c);
	if (!al)
		return;
	/* How many syscall records were not made while no collector held the tracepoints
	 * can't be known; say so instead of guessing. */
	record_lost(al, realtime_ns(), false, 0,
		    "collector restarted: syscall records made while it was down are missing");
}

/* --- the container's share of the ring (see bpf/ocibpf.h) ------------------------------ */

static int consumed_fd(struct events *ev, struct ctr *c)
{
	if (c->consumed_fd < 0) {
		struct bpfset *s = set_of(ev, c->set);
		if (s)
			c->consumed_fd = bpfset_map_fd(s, "ocibpf_ring_consumed");
	}
	return c->consumed_fd;
}

/* Go on from what an earlier collector told the kernel. */
static void share_load(struct events *ev, struct ctr *c)
{
	int fd = consumed_fd(ev, c);
	uint64_t v;
	if (fd >= 0 && bpf_map_lookup_elem(fd, &c->cgid, &v) == 0)
		c->consumed = c->consumed_told = v;
}

/* Tell the kernel how much of each container's share was consumed (after a batch). */
static void share_tell(struct events *ev)
{
	for (size_t i = 0; i < ev->n_ctrs; i++) {
		struct ctr *c = &ev->ctrs[i];
		if (c->consumed == c->consumed_told)
			continue;
		int fd = consumed_fd(ev, c);
		if (fd >= 0 && bpf_map_update_elem(fd, &c->cgid, &c->consumed, BPF_ANY) == 0)
			c->consumed_told = c->consumed;
	}
}

/* Re-read the container records: new ones are added, gone ones dropped. */
/* Enter a run from its record. */
static struct ctr *add_ctr(struct events *ev, const struct container *rec)
{
	ev->ctrs = xrealloc(ev->ctrs, (ev->n_ctrs + 1) * sizeof(*ev->ctrs));
	ev->last = NULL;
	struct ctr *c = &ev->ctrs[ev->n_ctrs++];
	*c = (struct ctr){ .id = xstrdup(rec->id), .run = xstrdup(rec->run), .cgid = rec->cgroup_id,
			   .set = xstrdup(rec->set), .flags = rec->flags, .seen = true,
			   .pid = rec->pid, .pid_start = rec->pid_start, .consumed_fd = -1 };
	share_load(ev, c);
	bool known;
	load_lost(ev, c, &known);
	/* Served by an earlier collector: whether its entrypoint ran is not known here;
	 * a container that runs long enough to outlive a collector is past its setup. */
	c->entered = known;
	/* Served by an earlier collector: the tracepoints were gone until now. */
	if (known && ev->fresh && !ev->clean_start && (c->flags & CF_AUDIT) &&
	    !(c->flags & CF_AUDIT_RAW))
		write_gap(ev, c);
	if (!known)
		save_lost(ev, c);
	return c;
}

/*
 * Has the records directory changed since the last refresh? (Every record is written by
 * a rename into it, and removed from it.) A change in the same clock tick as the last
 * look may not show in its mtime: unchanged counts only once the mtime seen then was a
 * second old. Re-reading a thousand records every tick would cost the CPU the hooks use.
 */
static bool records_changed(struct events *ev)
{
	_cleanup_free_ char *dir = path_records_dir(ev->cfg->state_dir);
	struct stat st;
	if (stat(dir, &st) < 0)
		return true;
	uint64_t mtime = st.st_mtim.tv_sec * 1000000000ULL + st.st_mtim.tv_nsec;
	if (ev->records_settled && mtime == ev->records_mtime)
		return false;
	ev->records_mtime = mtime;
	ev->records_settled = realtime_ns() > mtime + 1000000000ULL;
	return true;
}

static void refresh_ctrs(struct events *ev)
{
	if (!records_changed(ev))
		return;
	for (size_t i = 0; i < ev->n_ctrs; i++)
		ev->ctrs[i].seen = false;
	char **ids = container_list(ev->cfg->state_dir);
	for (char **id = ids; *id; id++) {
		_cleanup_container_ struct container *rec = NULL;
		if (container_read(ev->cfg->state_dir, *id, &rec, NULL) < 0)
			continue;
		/* The id's current run; an earlier run of the id (not seen) is let go below. */
		struct ctr *have = find_run(ev, rec->run);
		if (have)
			have->seen = true;
		else
			add_ctr(ev, rec);
	}
	strv_free(ids);
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

/* --- decoding ---------------------------------------------------------------------- */

static int handle_event(void *ctx, void *data, size_t size)
{
	struct events *ev = ctx;
	const struct ev_hdr *h = data;
	if (size < sizeof(*h) || h->size > size)
		return 0;
	struct ctr *c = find_ctr(ev, h->container_cgid);
	if (!c) {
		refresh_ctrs(ev);
		c = find_ctr(ev, h->container_cgid);
		if (!c)
			return 0;   /* its stop record is written: nothing may follow it */
	}
	c->consumed += RING_REC_BYTES(size);
	if (c->drained)
		return 0;   /* after the drain for its stop record: nothing may follow it */
	struct auditlog *al = log_of(ev, c);
	if (!al)
		return 0;
	uint64_t ts = h->ts_boot_ns + ev->boot_to_real;
	switch (h->type) {
	case EV_EXEC:
		if (size >= sizeof(struct ev_exec)) {
			record_exec(al, ts, data);
			c->entered = true;
		}
		break;
	case EV_SYSCALL:
		if (size >= sizeof(struct ev_syscall))
			record_syscall(al, ts, data, !c->entered);
		break;
	case EV_NET:
		if (size >= sizeof(struct ev_net))
			record_net(al, ts, data);
		break;
	case EV_URING:
		if (size >= sizeof(struct ev_uring))
			record_uring(al, ts, data, uring_op_name(((const struct ev_uring *)data)->opcode),
				     !c->entered);
		break;
	}
	if (al->out_len >= FLUSH_BYTES)
		flush_ctr(ev, c);
	return 0;
}

/* --- interface --------------------------------------------------------------------- */

int events_new(const struct config *cfg, struct events **ret, struct error *err)
{
	struct events *ev = xcalloc(1, sizeof(*ev));
	ev->cfg = cfg;
	ev->fresh = true;
	/* Left by a collector that exited with no container running (see events_free). */
	_cleanup_free_ char *idle = idle_marker(cfg);
	ev->clean_start = unlink(idle) == 0;
	tp_links_init(&ev->tp);
	update_clock(ev);
	*ret = ev;
	return 0;
}

void events_free(struct events *ev)
{
	if (!ev)
		return;
	int live = 0;
	for (size_t i = 0; i < ev->n_ctrs; i++) {
		struct container rec = { .pid = ev->ctrs[i].pid, .pid_start = ev->ctrs[i].pid_start };
		live += container_alive(&rec);
	}
	if (live == 0) {
		_cleanup_free_ char *idle = idle_marker(ev->cfg);
		write_file_atomic(idle, "", 0, 0600);
	}
	if (ev->rb)
		ring_buffer__consume(ev->rb);
	flush_all(ev);
	ring_buffer__free(ev->rb);
	for (size_t i = 0; i < ev->n_ctrs; i++)
		ctr_free(ev, &ev->ctrs[i]);
	free(ev->ctrs);
	tp_links_release(&ev->tp);
	for (size_t i = 0; i < ev->n_sets; i++)
		bpfset_close(ev->sets[i]);
	free(ev->sets);
	free(ev);
}

void events_health(const struct events *ev, uint64_t *ret_written, uint64_t *ret_lost)
{
	*ret_written = ev->written;
	*ret_lost = ev->lost;
}

int events_fd(struct events *ev, unsigned *ret_generation)
{
	*ret_generation = ev->generation;
	return ev->rb ? ring_buffer__epoll_fd(ev->rb) : -1;
}

void events_process(struct events *ev)
{
	if (ev->rb)
		ring_buffer__consume(ev->rb);
	share_tell(ev);
	flush_all(ev);
}

static void report_lost(struct events *ev, struct ctr *c)
{
	if (c->drained)
		return;
	struct bpfset *s = set_of(ev, c->set);
	struct container_stats k;
	if (!s || bpfset_read_stats(s, c->cgid, &k) < 0 || k.lost <= c->lost_seen)
		return;
	struct auditlog *al = log_of(ev, c);
	if (!al)
		return;
	record_lost(al, realtime_ns(), true, k.lost - c->lost_seen, "kernel ring buffer full");
	ev->lost += k.lost - c->lost_seen;
	c->lost_seen = k.lost;
	save_lost(ev, c);
}

/* The tracepoints the containers need, attached; with linger_ns, the others detached. */
static int hold_tracepoints(struct events *ev, uint64_t linger_ns, struct error *err)
{
	struct bpfset *cur = set_of(ev, bpfset_current_version());
	if (!cur)
		return 0;   /* nothing pinned by this build yet: nothing to hold */
	ev->tp.linger_ns = linger_ns;
	return audit_sync(cur, &ev->tp, err);
}

int events_tick(struct events *ev)
{
	update_clock(ev);
	refresh_sets(ev);
	/* Records already queued go before any loss reported after them. */
	if (ev->rb)
		ring_buffer__consume(ev->rb);
	refresh_ctrs(ev);
	update_ring(ev);
	share_tell(ev);
	for (size_t i = 0; i < ev->n_ctrs; i++)
		report_lost(ev, &ev->ctrs[i]);
	flush_all(ev);
	if (ev->fresh) {
		ev->fresh = false;
		events_sync(ev, NULL);
	}
	if (++ev->ticks % TP_SWEEP_TICKS == 0)
		hold_tracepoints(ev, TP_LINGER_NS, NULL);
	/* Containers whose init is gone need us no more: their events are queued already
	 * (poststop asks for them). */
	int live = 0;
	for (size_t i = 0; i < ev->n_ctrs; i++) {
		struct container rec = { .pid = ev->ctrs[i].pid, .pid_start = ev->ctrs[i].pid_start };
		live += container_alive(&rec);
	}
	/* A log that owes a stop record keeps us too: nobody else would write it. */
	return live + retry_pending(ev);
}

/* A run not served yet (it started and stops between two ticks): from its record alone. */
static void add_run(struct events *ev, const char *run, const char *id)
{
	_cleanup_container_ struct container *rec = NULL;
	if (!id) {
		refresh_ctrs(ev);   /* (an older hook's request: every record) */
		return;
	}
	if (container_read(ev->cfg->state_dir, id, &rec, NULL) == 0 && strcmp(rec->run, run) == 0)
		add_ctr(ev, rec);
}

int events_drain(struct events *ev, const char *run, const char *id, struct error *err)
{
	refresh_sets(ev);
	if (!find_run(ev, run))
		add_run(ev, run, id);
	update_ring(ev);
	if (ev->rb)
		ring_buffer__consume(ev->rb);
	share_tell(ev);
	struct ctr *c = find_run(ev, run);
	if (c)
		report_lost(ev, c);
	flush_all(ev);
	/* The hook writes the stop record next: our handle must not hold a stale seq, and
	 * nothing of this container may be written after it. */
	if (c) {
		owe_lost(ev, c);
		auditlog_close(c->log);
		c->log = NULL;
		c->drained = true;
	}
	return 0;
}

void events_reopen(struct events *ev)
{
	flush_all(ev);
	for (size_t i = 0; i < ev->n_ctrs; i++) {
		struct ctr *c = &ev->ctrs[i];
		if (!c->log)
			continue;
		c->dropped += c->log->dropped;
		auditlog_close(c->log);
		c->log = NULL;   /* opened again, by name, on the next record */
	}
}

int events_sync(struct events *ev, struct error *err)
{
	refresh_sets(ev);
	refresh_ctrs(ev);
	update_ring(ev);
	/* A hook waits for this: attach only (detaching waits for the tracepoint's
	 * unregistration, ~100 ms); what none needs goes in a later tick. */
	return hold_tracepoints(ev, UINT64_MAX, err);
}

int events_sync_id(struct events *ev, const char *id, struct error *err)
{
	refresh_sets(ev);
	/* Only this container's record is read, and only what it needs is attached: what
	 * the others need is held already (and the sweep detaches what none needs). */
	_cleanup_container_ struct container *rec = NULL;
	if (container_read(ev->cfg->state_dir, id, &rec, NULL) < 0)
		return err_msg(err, -ENOENT, "no record of container %s", id);
	struct ctr *c = find_run(ev, rec->run);
	if (!c)
		c = add_ctr(ev, rec);
	uint64_t cgid = c->cgid;
	uint32_t flags = c->flags;
	struct bpfset *set = set_of(ev, c->set);
	update_ring(ev);
	if (!set)
		return err_msg(err, -ENOENT, "BPF set %s of container %s is not pinned", c->set, id);
	return audit_hold(set, &ev->tp, cgid, flags, err);
}
