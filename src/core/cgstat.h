/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_CGSTAT_H
#define OCIBPF_CGSTAT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Reading a container's cgroup files: v2 files of its cgroup2 directory when present
 * (pure v2 hosts), else the v1 controllers recorded for it (hybrid hosts).
 */
struct container;
struct stats;

/* The CPU time of the live cgroup alone (cheap: one file). */
int stats_read_cpu(const struct container *c, uint64_t *ret_ns);
/*
 * Where a container's numbers are, learned by its first reading, for callers that read
 * the same container again and again (the collector): later readings skip the files
 * that aren't there and the look-up of the v1 blkio path.
 */
struct stats_where {
	bool known;
	bool v2_memory, v2_peak, v2_pids, v2_io, v2_memstat, v2_events, v2_cfs;
	char *v1_blkio;             /* NULL: none */
};
void stats_where_done(struct stats_where *w);

/*
 * Only the live cgroup (no kernel counters, no persisted values); sets ->live. w (may be
 * NULL) is filled by the first reading and used by the next ones.
 */
void stats_read_cgroup(const struct container *c, struct stats_where *w, struct stats *ret);

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
