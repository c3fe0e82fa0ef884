/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPFD_EVENTS_INTERNAL_H
#define OCIBPFD_EVENTS_INTERNAL_H

/*
 * What the parts of the collector's event path share (events.h is its interface):
 *   ring.c    the pinned sets, their ring buffers, each container's share of them
 *   runs.c    the runs the collector serves (from the core's records) and their logs
 *   losses.c  what could not be recorded: kernel losses, failed writes, gaps
 *   events.c  the interface: entering runs from the records, each ring record into its
 *             run's log (record.c encodes)
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "audit.h"
#include "auditlog.h"
#include "bpfset.h"
#include "config.h"
#include "container.h"

struct ctr {
	char *id;
	char *run;              /* the run it serves: a new run of the id is a new ctr */
	uint64_t cgid;
	char *set;
	char *log_dir;          /* its audit log's (container_log_dir) */
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
	uint64_t record_ino;    /* the record file it was last read from (0: not known), */
	uint64_t record_ctime;  /* ... and that file's change time (ns): unchanged, not read again */
};

struct events {
	const struct config *cfg;
	struct bpfset **sets;
	/* The per-syscall tracepoints held from each set other than the current one (NULL
	 * until one of its containers needs one), by the index in sets: the containers an
	 * earlier version started keep their audit after an upgrade (docs/fleet.md). */
	struct tp_links **set_tp;
	size_t n_sets;
	struct ringbufs *rb;    /* over every set's events map, while mapped */
	bool mapped;
	uint64_t unneeded_since; /* monotonic ns since no container needs the rings, or 0 */
	bool sets_changed;      /* a set was opened since the ring buffers were mapped */
	unsigned generation;    /* of rb: its epoll fd changes when it is rebuilt */
	struct ctr *ctrs;
	size_t n_ctrs;
	struct ctr *last;       /* lookup cache */
	struct tp_links tp;
	char *tp_publish;          /* <state_dir>/ocibpfd.tracepoints (tp-held.h) */
	uint64_t boot_to_real;  /* realtime = boot + this */
	bool fresh;             /* first tick after start */
	unsigned ticks;
	bool clean_start;       /* the last collector left when no container ran: no gap */
	uint64_t written;       /* records written to the logs since we started */
	uint64_t lost;          /* records lost since we started (kernel ring full, failed writes) */
	uint64_t records_mtime; /* of the records directory at the last refresh (events.c) */
	bool records_settled;   /* ... and it was a second old then (records_changed) */
};

/* ring.c */
struct bpfset *ring_set_of(struct events *ev, const char *version);
/* The set's tracepoint links (ev->sets[i]'s: i; current: it is this version's). */
struct tp_links *ring_tp_at(struct events *ev, size_t i, bool current);
struct tp_links *ring_tp_of(struct events *ev, const struct bpfset *set);
void ring_release_tp(struct events *ev);
void ring_refresh_sets(struct events *ev);
void ring_update(struct events *ev);
void ring_consume(struct events *ev);
int ring_fd(struct events *ev);
void ring_close(struct events *ev);
void ring_share_load(struct events *ev, struct ctr *c);
void ring_share_tell(struct events *ev);

/* runs.c */
struct ctr *runs_find_cgid(struct events *ev, uint64_t cgid);
struct ctr *runs_find_id(struct events *ev, const char *id);
struct ctr *runs_find_run(struct events *ev, const char *run);
struct ctr *runs_add(struct events *ev, const struct container *rec);
void runs_sweep(struct events *ev);
int runs_live(const struct events *ev);
void runs_free(struct events *ev);
struct auditlog *runs_log(struct events *ev, struct ctr *c);
void runs_flush(struct events *ev, struct ctr *c);
void runs_flush_all(struct events *ev);

/* events.c */
void ring_handle_event(void *ctx, const void *data, size_t size);

/* losses.c */
void losses_load(struct events *ev, struct ctr *c, bool *ret_known);
void losses_save(struct events *ev, struct ctr *c);
void losses_gap(struct events *ev, struct ctr *c);
void losses_report(struct events *ev, struct ctr *c);
void losses_owe(struct events *ev, struct ctr *c);
int losses_retry_pending(struct events *ev);
bool losses_clean_start(const struct config *cfg);
void losses_mark_idle(const struct config *cfg);

#endif
