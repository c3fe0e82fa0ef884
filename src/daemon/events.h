/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPFD_EVENTS_H
#define OCIBPFD_EVENTS_H

#include <stdint.h>

#include "config.h"

/*
 * The kernel's events (ring buffers of every pinned set) into the containers' audit logs,
 * with `lost` records for whatever the kernel had no room for.
 */
struct events;

int events_new(const struct config *cfg, struct events **ret, struct error *err);
void events_free(struct events *ev);
/*
 * An fd that is readable when events are waiting (-1 while no container needs the ring
 * buffers). It is replaced when the set of ring buffers changes: *ret_generation says
 * when (the number of the new fd can be the old one's).
 */
int events_fd(struct events *ev, unsigned *ret_generation);
/* Consume what is waiting and write it out. */
void events_process(struct events *ev);
/*
 * Periodic work: pick up new sets and containers, report kernel losses, drop containers
 * that are gone, write what stopped containers' logs owe (state_dir/pending). Returns the
 * number of monitored containers still running plus the logs that still owe records:
 * the collector stays while it is not 0.
 */
int events_tick(struct events *ev);
/*
 * About to exit for want of work: withdraw the published tracepoints, then look at the
 * records once more. True when still nothing runs (then exit); false: stay.
 */
bool events_leave_idle(struct events *ev);
/* Write every pending record of one container (for its stop record). */
int events_drain(struct events *ev, const char *run, const char *id, struct error *err);
/*
 * Close every audit log after writing what is buffered; each is opened again by name
 * when its next record comes (SIGHUP, after logrotate renamed the files).
 */
void events_reopen(struct events *ev);
/*
 * The collector's own health: records written to the audit logs and records lost (the
 * counts of the `lost` records it wrote: kernel ring buffer full, failed writes) since it
 * started.
 */
void events_health(const struct events *ev, uint64_t *ret_written, uint64_t *ret_lost);
/* Attach/detach the per-syscall tracepoints the containers need (held by us). */
int events_sync(struct events *ev, struct error *err);
/* events_sync for one new container (its record only, its tracepoints only): "sync ID". */
int events_sync_id(struct events *ev, const char *id, struct error *err);
/* The syscalls the configuration's policies audit, held before a container needs them
 * (prime.h): "prime". */
int events_prime(struct events *ev, struct error *err);

#endif
