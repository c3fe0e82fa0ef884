/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_PENDING_H
#define OCIBPF_PENDING_H

#include <stdbool.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>

#include "config.h"
#include "util.h"

/*
 * What a container's audit log owes while it can't be written (log_dir full):
 * <state_dir>/pending/<id>.json holds the count of records that could not be written and,
 * once the container stopped, its `stop` record. The next writer that can write the log
 * writes them first, as a `lost` record and the `stop` record: the collector retries every
 * tick (and stays while something is pending), a new container with the same id must
 * write them before its `start`.
 */

/*
 * Add n records that could not be written (n > 0) to the log in log_dir (the run's: kept
 * with them, what was kept first counts).
 */
int pending_add_lost(const char *state_dir, const char *id, const char *log_dir, uint64_t n);
/*
 * Keep the container's stop record: fields(g, ud) writes its fields (the map is open;
 * ts is given apart).
 */
int pending_set_stop(const char *state_dir, const char *id, const char *log_dir,
		     uint64_t realtime_ns, void (*fields)(yajl_gen g, void *ud), void *ud);
/* Whether anything is pending for id; *ret_lost the count when given. */
bool pending_exists(const char *state_dir, const char *id, uint64_t *ret_lost);
/* Ids with something pending (strv). */
char **pending_list(const char *state_dir);
/*
 * Write what is pending for id to its log (in the log_dir kept with it, else the
 * configuration's), a `lost` record, then the `stop` record, and forget it; 0 when
 * nothing was pending. *ret_lost / *ret_stop say what was written.
 */
int pending_flush(const struct config *cfg, const char *id, uint64_t *ret_lost, bool *ret_stop,
		  struct error *err);

#endif
