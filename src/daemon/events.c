/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The collector's event path (see events-internal.h for its parts): its interface, and
 * each ring record into its run's log.
 */
#include <errno.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "events-internal.h"
#include "paths.h"
#include "prime.h"
#include "record.h"
#include "tp-held.h"
#include "uring.h"

#define FLUSH_BYTES (256 << 10)
/* Tracepoints no container needs are detached after TP_LINGER_NS, looked at every
 * TP_SWEEP_TICKS ticks: containers started within it don't pay for detach and attach
 * (text patching on every CPU, each way). */
#define TP_LINGER_NS (10 * 1000000000ULL)
#define TP_SWEEP_TICKS 4

static void update_clock(struct events *ev)
{
	struct timespec rt, bt;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	ev->boot_to_real = (rt.tv_sec - bt.tv_sec) * 1000000000ULL + rt.tv_nsec - bt.tv_nsec;
}

/* Enter a run: where its share of the ring and its reported losses stand. */
static struct ctr *enter_run(struct events *ev, const struct container *rec)
{
	struct ctr *c = runs_add(ev, rec);
	ring_share_load(ev, c);
	bool known;
	losses_load(ev, c, &known);
	/* Served by an earlier collector: whether its entrypoint ran is not known here;
	 * a container that runs long enough to outlive a collector is past its setup. */
	c->entered = known;
	/* Served by an earlier collector: the tracepoints were gone until now. */
	if (known && ev->fresh && !ev->clean_start && (c->flags & CF_AUDIT) &&
	    !(c->flags & CF_AUDIT_RAW))
		losses_gap(ev, c);
	if (!known)
		losses_save(ev, c);
	struct bpfset *set = ring_set_of(ev, c->set);
	if (set)
		audit_note_use(set, ring_tp_of(ev, set), c->cgid, c->flags);
	return c;
}

/*
 * Has the records directory changed since the last refresh? (Every record is written by
 * a rename into it, and removed from it.) A change in the same clock tick as the last
 * look may not show in its mtime: unchanged counts only once the mtime seen then was a
 * second old. Re-reading a thousand records every tick would take the CPU the hooks use.
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

static uint64_t ctime_ns(const struct stat *st)
{
	return st->st_ctim.tv_sec * 1000000000ULL + st->st_ctim.tv_nsec;
}

/* The run read from this very record file (same id, inode and change time), marked seen. */
static bool record_known(struct events *ev, const char *id, const struct stat *st)
{
	for (size_t i = 0; i < ev->n_ctrs; i++) {
		struct ctr *c = &ev->ctrs[i];
		if (c->record_ino == st->st_ino && c->record_ctime == ctime_ns(st) &&
		    strcmp(c->id, id) == 0) {
			c->seen = true;
			return true;
		}
	}
	return false;
}

/*
 * Re-read the records (when they changed): new runs are entered, runs no longer recorded
 * let go. Records unchanged since they were read are not read again (a hook's write
 * would otherwise cost a read of every record), unless `all` (a record of a cgroup no
 * run is known for: whatever its file looks like).
 */
static void refresh_runs(struct events *ev, bool all)
{
	if (!records_changed(ev))
		return;
	for (size_t i = 0; i < ev->n_ctrs; i++)
		ev->ctrs[i].seen = false;
	char **ids = container_list(ev->cfg->state_dir);
	for (char **id = ids; *id; id++) {
		_cleanup_free_ char *path = path_record(ev->cfg->state_dir, *id);
		struct stat st;
		if (stat(path, &st) < 0 || (!all && record_known(ev, *id, &st)))
			continue;
		_cleanup_container_ struct container *rec = NULL;
		if (container_read(ev->cfg->state_dir, *id, &rec, NULL) < 0)
			continue;
		/* The id's current run; an earlier run of the id (not seen) is let go. */
		struct ctr *have = runs_find_run(ev, rec->run);
		if (have)
			have->seen = true;
		else
			have = enter_run(ev, rec);
		have->record_ino = st.st_ino;
		have->record_ctime = ctime_ns(&st);
	}
	strv_free(ids);
	runs_sweep(ev);
}

void ring_handle_event(void *ctx, const void *data, size_t size)
{
	struct events *ev = ctx;
	const struct ev_hdr *h = data;
	if (size < sizeof(*h) || h->size > size)
		return;
	struct ctr *c = runs_find_cgid(ev, h->container_cgid);
	if (!c) {
		refresh_runs(ev, true);
		c = runs_find_cgid(ev, h->container_cgid);
		if (!c)
			return;   /* its stop record is written: nothing may follow it */
	}
	c->consumed += RING_REC_BYTES(size);
	if (c->drained)
		return;   /* after the drain for its stop record: nothing may follow it */
	struct auditlog *al = runs_log(ev, c);
	if (!al)
		return;
	uint64_t ts = h->ts_boot_ns + ev->boot_to_real;
	switch (h->type) {
	/* Shorter events, taken without exe, dir and file: a set built before them sends them,
	 * and a syscall event without a dir or a file ends before it (ocibpf.h). */
	case EV_EXEC:
		if (size >= sizeof(struct ev_exec)) {
			record_exec(al, ts, data);
			c->entered = true;
		} else if (size >= EV_EXEC_V1_SIZE) {
			struct ev_exec e = {};
			memcpy(&e, data, EV_EXEC_V1_SIZE);
			record_exec(al, ts, &e);
			c->entered = true;
		}
		break;
	case EV_SYSCALL:
		if (size >= sizeof(struct ev_syscall)) {
			record_syscall(al, ts, data, !c->entered);
		} else if (size >= EV_SYSCALL_V1_SIZE) {
			/* without a file (V2: a dir), or without both (V1) */
			struct ev_syscall e = {};
			memcpy(&e, data, size >= EV_SYSCALL_V2_SIZE ? EV_SYSCALL_V2_SIZE : EV_SYSCALL_V1_SIZE);
			record_syscall(al, ts, &e, !c->entered);
		}
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
		runs_flush(ev, c);
}

int events_new(const struct config *cfg, struct events **ret, struct error *err)
{
	(void)err;
	struct events *ev = xcalloc(1, sizeof(*ev));
	ev->cfg = cfg;
	ev->fresh = true;
	ev->clean_start = losses_clean_start(cfg);
	/* A collector killed left its file behind: what it held went with it. */
	ev->tp_publish = path_collector(cfg->state_dir, "tracepoints");
	unlink(ev->tp_publish);
	ev->tp.publish = ev->tp_publish;
	tp_links_init(&ev->tp);
	update_clock(ev);
	*ret = ev;
	return 0;
}

void events_free(struct events *ev)
{
	if (!ev)
		return;
	if (runs_live(ev) == 0)
		losses_mark_idle(ev->cfg);
	ring_consume(ev);
	runs_flush_all(ev);
	ring_close(ev);
	runs_free(ev);
	tp_links_release(&ev->tp);
	ring_release_tp(ev);
	free(ev->tp_publish);
	for (size_t i = 0; i < ev->n_sets; i++)
		bpfset_close(ev->sets[i]);
	free(ev->sets);
	free(ev->set_tp);
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
	return ring_fd(ev);
}

void events_process(struct events *ev)
{
	ring_consume(ev);
	ring_share_tell(ev);
	runs_flush_all(ev);
}

/* Does a container of set `version` run (as far as we know)? */
static bool runs_of_set(const struct events *ev, const char *version)
{
	for (size_t i = 0; i < ev->n_ctrs; i++)
		if (ev->ctrs[i].set && strcmp(ev->ctrs[i].set, version) == 0)
			return true;
	return false;
}

/*
 * The tracepoints the containers need, attached; with linger_ns, the others detached. In
 * every pinned set: a container an earlier version started is audited by its set's
 * programs, whose per-syscall tracepoints only a collector holds.
 */
static int hold_tracepoints(struct events *ev, uint64_t linger_ns, struct error *err)
{
	int ret = 0;
	for (size_t i = 0; i < ev->n_sets; i++) {
		struct bpfset *set = ev->sets[i];
		bool cur = strcmp(set->version, bpfset_current_version()) == 0;
		/* Another version's set: only once a container of it runs (most of the time
		 * there is none, and its maps need no look every sweep). */
		if (!cur && !ev->set_tp[i] && !runs_of_set(ev, set->version))
			continue;
		struct tp_links *t = ring_tp_at(ev, i, cur);
		t->linger_ns = linger_ns;
		int r = audit_sync(set, t, err);   /* (err keeps the first message) */
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

bool events_leave_idle(struct events *ev)
{
	/* Withdrawn first, then the records read again: a hook that trusted the file
	 * entered its container before it read it (tp-held.h), and keeps us. */
	if (ev->tp.published_once)
		tp_held_publish(ev->tp_publish, NULL, 0, NULL);
	ev->tp.published_once = false;	/* published again at the next sweep if we stay */
	refresh_runs(ev, false);
	return runs_live(ev) == 0;
}

int events_tick(struct events *ev)
{
	update_clock(ev);
	ring_refresh_sets(ev);
	/* Records already queued go before any loss reported after them. */
	ring_consume(ev);
	refresh_runs(ev, false);
	ring_update(ev);
	ring_share_tell(ev);
	for (size_t i = 0; i < ev->n_ctrs; i++)
		losses_report(ev, &ev->ctrs[i]);
	runs_flush_all(ev);
	if (ev->fresh) {
		ev->fresh = false;
		events_sync(ev, NULL);
	}
	if (++ev->ticks % TP_SWEEP_TICKS == 0)
		hold_tracepoints(ev, TP_LINGER_NS, NULL);
	/* Containers whose init is gone need us no more: their events are queued already
	 * (poststop asks for them). A log that owes a stop record keeps us too: nobody else
	 * would write it. */
	return runs_live(ev) + losses_retry_pending(ev);
}

/* A run not served yet (it started and stops between two ticks): from its record alone
 * (id NULL: an older hook's request, every record). */
static void enter_run_of(struct events *ev, const char *run, const char *id)
{
	if (!id) {
		refresh_runs(ev, true);
		return;
	}
	_cleanup_container_ struct container *rec = NULL;
	if (container_read(ev->cfg->state_dir, id, &rec, NULL) == 0 && strcmp(rec->run, run) == 0)
		enter_run(ev, rec);
}

int events_drain(struct events *ev, const char *run, const char *id, struct error *err)
{
	(void)err;
	ring_refresh_sets(ev);
	if (!runs_find_run(ev, run))
		enter_run_of(ev, run, id);
	ring_update(ev);
	ring_consume(ev);
	ring_share_tell(ev);
	struct ctr *c = runs_find_run(ev, run);
	if (c)
		losses_report(ev, c);
	runs_flush_all(ev);
	/* The hook writes the stop record next: our handle must not hold a stale seq, and
	 * nothing of this container may be written after it. */
	if (c) {
		losses_owe(ev, c);
		auditlog_close(c->log);
		c->log = NULL;
		c->drained = true;
	}
	return 0;
}

void events_reopen(struct events *ev)
{
	runs_flush_all(ev);
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
	ring_refresh_sets(ev);
	refresh_runs(ev, true);
	ring_update(ev);
	/* A hook waits for this: attach only (detaching waits for the tracepoint's
	 * unregistration, ~100 ms); what none needs goes in a later tick. */
	return hold_tracepoints(ev, UINT64_MAX, err);
}

int events_sync_id(struct events *ev, const char *id, struct error *err)
{
	ring_refresh_sets(ev);
	/* Only this container's record is read, and only what it needs is attached: what
	 * the others need is held already (and the sweep detaches what none needs). */
	_cleanup_container_ struct container *rec = NULL;
	if (container_read(ev->cfg->state_dir, id, &rec, NULL) < 0)
		return err_msg(err, -ENOENT, "no record of container %s", id);
	struct ctr *c = runs_find_run(ev, rec->run);
	if (!c)
		c = enter_run(ev, rec);
	uint64_t cgid = c->cgid;
	uint32_t flags = c->flags;
	struct bpfset *set = ring_set_of(ev, c->set);
	ring_update(ev);
	if (!set)
		return err_msg(err, -ENOENT, "BPF set %s of container %s is not pinned", c->set, id);
	return audit_hold(set, ring_tp_of(ev, set), cgid, flags, err);
}

int events_prime(struct events *ev, struct error *err)
{
	/*
	 * Under the sets lock, shared, as a hook: `ocibpf gc --unload` (exclusive) takes no
	 * pin away while the tracepoints are attached from the set. Not waited for: while gc
	 * holds it the set is going, and there is nothing to hold for.
	 */
	_cleanup_free_ char *lock = path_sets_lock(ev->cfg->state_dir);
	_cleanup_close_ int sets_lock = lock_file(lock, LOCK_SH | LOCK_NB, NULL);
	if (sets_lock < 0)
		return 0;
	ring_refresh_sets(ev);
	struct bpfset *cur = ring_set_of(ev, bpfset_current_version());
	if (!cur)
		return 0;   /* nothing pinned by this build: nothing to attach to */
	__u64 bits[MAX_SYSCALLS / 64];
	if (prime_selection(ev->cfg, bits) == 0)
		return 0;
	/* Held from now, and lingering as after a container's stop: the sweeps see no
	 * container needing them and detach them after TP_LINGER_NS. */
	return audit_hold_bits(cur, &ev->tp, bits, err);
}
