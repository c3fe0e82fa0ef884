/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maps shared by every BPF object of ocibpf. Each object declares them (weak: the objects
 * are linked into one, build/bpf/ocibpf.bpf.o, which is what is loaded, so that libbpf
 * parses the kernel's BTF once for all programs), pinned by name under the set's maps/.
 * The loader pins them (the list is in src/core/bpfset-load.c): no `pinning` attribute,
 * which the light skeleton can't load.
 */
#ifndef OCIBPF_MAPS_BPF_H
#define OCIBPF_MAPS_BPF_H

#include "ocibpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct container_info);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* created in µs, not ms */
} ocibpf_cgroups SEC(".maps") __weak;

/* Sub-cgroup entries the tracker holds, and its budget (ocibpf.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CGTRACK__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} ocibpf_cgtrack SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, MAX_CONTAINERS);
	__type(key, __u64);
	__type(value, struct container_stats);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* created in µs, not ms */
} ocibpf_stats SEC(".maps") __weak;

static __always_inline struct container_info *container_of_cgroup(__u64 cgid)
{
	return bpf_map_lookup_elem(&ocibpf_cgroups, &cgid);
}

static __always_inline struct container_stats *stats_of(const struct container_info *c)
{
	return bpf_map_lookup_elem(&ocibpf_stats, &c->container_cgid);
}



/* Events to the collector. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} ocibpf_events SEC(".maps") __weak;

/* Ring bytes each container took and the collector consumed (see ocibpf.h). Not
 * preallocated: creating them is what `ocibpf load` waits for (an entry is added once
 * per container). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CONTAINERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, __u64);
} ocibpf_ring_produced SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_CONTAINERS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, __u64);
} ocibpf_ring_consumed SEC(".maps") __weak;

#define RING_BYTES	(16ULL << 20)

/* May container c take more of the ring? Not when it is half full and c holds more than
 * the room left: c then gets at most its share of it (see ocibpf.h). */
static __always_inline bool ring_share_ok(const struct container_info *c, __u64 *produced)
{
	__u64 avail = bpf_ringbuf_query(&ocibpf_events, BPF_RB_AVAIL_DATA);
	if (!produced || avail <= RING_BYTES / 2)
		return true;
	__u64 *consumed = bpf_map_lookup_elem(&ocibpf_ring_consumed, &c->container_cgid);
	__u64 held = *produced - (consumed ? *consumed : 0);
	return (__s64)held <= 0 || held <= RING_BYTES - avail;
}

static __always_inline void ring_share_take(const struct container_info *c, __u64 *produced,
					    __u32 size)
{
	__u64 bytes = RING_REC_BYTES(size);
	if (produced)
		__sync_fetch_and_add(produced, bytes);
	else
		bpf_map_update_elem(&ocibpf_ring_produced, &c->container_cgid, &bytes, BPF_NOEXIST);
}

/*
 * Reserve an event of `size` bytes for container c and fill its header; NULL (and the
 * container's `lost` counter counts it) when the ring buffer is full or c has taken its
 * share of it.
 */
static __always_inline void *event_reserve(const struct container_info *c, __u32 type, __u32 size)
{
	__u64 *produced = bpf_map_lookup_elem(&ocibpf_ring_produced, &c->container_cgid);
	struct ev_hdr *h = ring_share_ok(c, produced) ?
		bpf_ringbuf_reserve(&ocibpf_events, size, 0) : NULL;
	if (!h) {
		struct container_stats *s = stats_of(c);
		if (s)
			s->audit_lost++;
		return NULL;
	}
	ring_share_take(c, produced, size);
	h->type = type;
	h->size = size;
	h->container_cgid = c->container_cgid;
	h->ts_boot_ns = bpf_ktime_get_boot_ns();
	return h;
}
#endif
