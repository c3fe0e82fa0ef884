/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The container of the running task, for every BPF program of ocibpf. */
#ifndef OCIBPF_CONTAINER_BPF_H
#define OCIBPF_CONTAINER_BPF_H

#include "maps.bpf.h"

/* How far up the hierarchy a cgroup's container is looked for when its own isn't known. */
#define MAX_CGROUP_LEVEL	32

/*
 * The container of a cgroup (the current task's, or a packet's socket's): the entry of its leaf cgroup (the hook enters the
 * container's own cgroup and its sub-cgroups, cgtrack every sub-cgroup made after that),
 * else that of the nearest ancestor. A sub-cgroup neither entered (a tree deeper than the
 * hook walks, a map that was full when cgtrack saw the mkdir) still belongs to the
 * container: its processes are policed, counted and audited like the others.
 *
 * The walk goes down from the root's children to the leaf (ancestor ids stop at the
 * leaf's level, so the loop ends there) and keeps the deepest match: a container nested
 * in another's cgroup wins over the outer one. Cost: one hash lookup for a task of a
 * known cgroup; for any other task (the host's), one helper call per level down to its
 * leaf and one lookup per level above it: nothing more for a task in the root cgroup, one
 * more for a systemd service's (/system.slice/x.service).
 */
static __always_inline struct container_info *container_of_hierarchy(__u64 leaf,
									   struct __sk_buff *skb)
{
	struct container_info *c = container_of_cgroup(leaf);
	if (c)
		return c;
	for (int l = 1; l < MAX_CGROUP_LEVEL; l++) {
		/* skb is a constant at every call: one branch is left after inlining. */
		__u64 id = skb ? bpf_skb_ancestor_cgroup_id(skb, l) : bpf_get_current_ancestor_cgroup_id(l);
		if (!id || id == leaf)
			break;
		struct container_info *a = container_of_cgroup(id);
		if (a)
			c = a;
	}
	return c;
}

static __always_inline struct container_info *current_container(void)
{
	return container_of_hierarchy(bpf_get_current_cgroup_id(), NULL);
}

/* The container of a packet's socket (cgroup_skb programs): the same walk from its cgroup. */
static __always_inline struct container_info *skb_container(struct __sk_buff *skb)
{
	return container_of_hierarchy(bpf_skb_cgroup_id(skb), skb);
}

#endif
