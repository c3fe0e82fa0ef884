/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maps shared by every BPF object of ocibpf. Each object declares them; libbpf pins them
 * by name under the set's maps/ directory on first load and every later object reuses
 * the pins, so all programs of a set see the same maps.
 */
#ifndef OCIBPF_MAPS_BPF_H
#define OCIBPF_MAPS_BPF_H

#include "ocibpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct container_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ocibpf_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MAX_CONTAINERS);
	__type(key, __u64);
	__type(value, struct container_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ocibpf_stats SEC(".maps");

static __always_inline struct container_info *container_of_cgroup(__u64 cgid)
{
	return bpf_map_lookup_elem(&ocibpf_cgroups, &cgid);
}

static __always_inline struct container_stats *stats_of(const struct container_info *c)
{
	return bpf_map_lookup_elem(&ocibpf_stats, &c->container_cgid);
}

#endif
