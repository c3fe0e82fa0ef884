/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_RELEASE_H
#define OCIBPF_RELEASE_H

#include "config.h"
#include "container.h"

struct bpfset;

/*
 * The one teardown of a run, for every path that ends one (poststop, `ocibpf gc`, a stale
 * record found by the next run of the id, a failed or refused start): the `stop` record
 * when its `start` was written (with `reason` when not NULL), then its link pins, its map
 * entries and its records in state_dir. The caller holds the id's lock
 * (container_lock) and has checked that the record is the run it means to end. set is
 * the run's BPF set, or NULL when it is gone. Everything is torn down even when the log
 * can't be written; that error is returned.
 */
int container_release(const struct config *cfg, const struct container *c, struct bpfset *set,
		      const char *reason, struct error *err);

#endif
