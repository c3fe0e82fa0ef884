/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_STATS_H
#define OCIBPF_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>

#include "ocibpf.h"

struct container;
struct bpfset;

/* Which cgroup values a reading got from the live cgroup (struct stats.live). */
#define ST_CPU     (1U << 0)
#define ST_MEMORY  (1U << 1)
#define ST_PEAK    (1U << 2)
#define ST_PIDS    (1U << 3)
#define ST_IO      (1U << 4)
#define ST_KERNEL  (1U << 5)

/* One container's numbers, as `ocibpf stats --json` and the `stop` record give them. */
struct stats {
	uint64_t cpu_ns;
	uint64_t memory_bytes;
	uint64_t memory_peak_bytes;
	uint64_t pids;
	uint64_t io_read_bytes;
	uint64_t io_write_bytes;
	struct container_stats k;   /* kernel counters (network, denials, execs, syscalls) */
	bool syscalls_counted;
	uint32_t live;              /* ST_*: read from the cgroup / the maps just now */
	uint64_t sampled_ns;        /* CLOCK_MONOTONIC of the reading (0: never read) */
};

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

/* The CPU time of the live cgroup alone (cheap: one file). */
int stats_read_cpu(const struct container *c, uint64_t *ret_ns);
/*
 * Where a container's numbers are, learned by its first reading, for callers that read
 * the same container again and again (the collector): later readings skip the files
 * that aren't there and the look-up of the v1 blkio path.
 */
struct stats_where {
	bool known;
	bool v2_memory, v2_peak, v2_pids, v2_io;
	char *v1_blkio;             /* NULL: none */
};
void stats_where_done(struct stats_where *w);

/*
 * Only the live cgroup (no kernel counters, no persisted values); sets ->live. w (may be
 * NULL) is filled by the first reading and used by the next ones.
 */
void stats_read_cgroup(const struct container *c, struct stats_where *w, struct stats *ret);
/* Merge persisted values `saved` into a live reading (counters: max; gauges: live first). */
void stats_merge(struct stats *s, const struct stats *saved);

/*
 * Persisted values: <state_dir>/stats/<id>.json, written atomically. A file left by an
 * earlier container of the same id (other cgroup id) reads as -ESTALE.
 */
char *stats_path(const char *state_dir, const char *id);
int stats_save(const char *state_dir, const struct container *c, const struct stats *s);
int stats_load(const char *state_dir, const struct container *c, struct stats *ret);
int stats_remove(const char *state_dir, const char *id);

/* Parsers of cgroup files (text as read). All return 0 or -ENOENT / -EINVAL. */
/* "KEY VALUE" lines (cpu.stat, memory.stat): the value of key. */
int cg_parse_keyed(const char *text, const char *key, uint64_t *ret);
/* v2 io.stat ("MAJ:MIN rbytes=N wbytes=N ..."): bytes read and written, all devices. */
int cg_parse_io_stat(const char *text, uint64_t *ret_read, uint64_t *ret_write);
/* v1 blkio.throttle.io_service_bytes[_recursive] ("MAJ:MIN Read N" ...). */
int cg_parse_blkio(const char *text, uint64_t *ret_read, uint64_t *ret_write);
/* One unsigned decimal (memory.current, cpuacct.usage, ...); "max" is -ERANGE. */
int cg_parse_u64(const char *text, uint64_t *ret);

#endif
