/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_STATS_H
#define OCIBPF_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>

#include "ocibpf.h"

struct container;
struct bpfset;

/* One container's numbers, as `ocibpf stats --json` and the `stop` record give them. */
struct stats {
	uint64_t cpu_ns;
	uint64_t memory_bytes;
	uint64_t memory_peak_bytes;
	uint64_t pids;
	struct container_stats k;   /* kernel counters (network, denials, execs, syscalls) */
	bool syscalls_counted;
};

/*
 * Fill from the cgroup (v2 files when present, else the v1 controllers recorded for the
 * container) and from the kernel counters. What can't be read stays 0.
 */
void stats_collect(const struct container *c, struct bpfset *set, struct stats *ret);
/* The JSON object (SPEC.md `ocibpf stats --json`). */
void stats_gen(yajl_gen g, const char *id, const struct stats *s);

#endif
