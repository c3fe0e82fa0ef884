/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_STATS_H
#define OCIBPF_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>

#include "ocibpf.h"

struct container;
struct bpfset;

/* Which values a reading got from the live cgroup (struct stats.live): the src column
 * of counters.h. */
#define ST_CPU     (1U << 0)
#define ST_MEMORY  (1U << 1)
#define ST_PEAK    (1U << 2)
#define ST_PIDS    (1U << 3)
#define ST_IO      (1U << 4)
#define ST_KERNEL  (1U << 5)

/* One container's numbers, as `ocibpf stats --json` and the `stop` record give them. */
#define STATS_MEMBER_(name, kind, src, flags, metric, help) uint64_t name;
struct stats {
	OCIBPF_CGROUP_VALUES(STATS_MEMBER_)   /* from the cgroup (cgstat.h) */
	struct container_stats k;   /* kernel counters (network, denials, execs, syscalls) */
	bool syscalls_counted;
	uint32_t live;              /* ST_*: read from the cgroup / the maps just now */
	uint64_t sampled_ns;        /* CLOCK_MONOTONIC of the reading (0: never read) */
};
#undef STATS_MEMBER_

/*
 * One value of counters.h, for code that walks them all: where it is in struct stats and
 * what the table says of it.
 */
struct stats_value {
	const char *name;
	size_t off;                 /* of its uint64_t / __u64 in struct stats */
	unsigned kind;              /* CK_* */
	uint32_t live;              /* ST_* of its source */
	unsigned flags;             /* CV_* */
	const char *metric;         /* after "ocibpf_container_" */
	const char *help;
};
extern const struct stats_value stats_values[];
extern const size_t stats_n_values;
uint64_t stats_value_get(const struct stats *s, const struct stats_value *v);
void stats_value_set(struct stats *s, const struct stats_value *v, uint64_t x);
/* Any value differ? (sampled_ns and live don't count.) */
bool stats_differ(const struct stats *a, const struct stats *b);

/*
 * Everything there is to know about a container's usage right now: the live cgroup (v2
 * files when present, else the v1 controllers recorded for the container) and the kernel
 * counters, merged with what the collector persisted in <state_dir>/stats/<id>.json (the
 * last values seen while the cgroup was alive): counters take the larger of the two,
 * gauges (memory now, pids) the live value when there is one. state_dir and set may be
 * NULL. What can't be known stays 0.
 */
void stats_collect(const char *state_dir, const struct container *c, struct bpfset *set,
		   struct stats *ret);
/*
 * The pinned sets containers were attached from, each opened once while walking many
 * containers (NULL when a set can't be opened). setcache_free closes them all.
 */
struct setcache;
struct bpfset *setcache_get(struct setcache **cache, const char *bpffs_dir, const char *version);
void setcache_free(struct setcache *cache);

/* The JSON object (SPEC.md `ocibpf stats --json`). */
void stats_gen(yajl_gen g, const char *id, const struct stats *s);
/* The same members without the enclosing object, for records that add their own. */
void stats_gen_fields(yajl_gen g, const char *id, const struct stats *s);

/* Merge persisted values `saved` into a live reading (counters: max; gauges: live first). */
void stats_merge(struct stats *s, const struct stats *saved);

#include "cgstat.h"
#include "stats-store.h"

#endif
