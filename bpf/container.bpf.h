/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The container of the running task, for every BPF program of ocibpf. */
#ifndef OCIBPF_CONTAINER_BPF_H
#define OCIBPF_CONTAINER_BPF_H

#include "maps.bpf.h"

/* How far up the hierarchy a cgroup's container is looked for when its own isn't known. */
#define MAX_CGROUP_LEVEL	32

/*
 * The container of a cgroup (the current task's, or a packet's socket's): the entry of its leaf cgroup (the hook enters the
 * container's own cgroup and its sub-cgroups, cgtrack those made after that, up to
 * MAX_SUBCGROUPS a container), else that of the nearest ancestor. A sub-cgroup neither
 * entered (beyond its container's MAX_SUBCGROUPS, a tree deeper than the hook walks, a
 * map that was full when cgtrack saw the mkdir) still belongs to the container: its
 * processes are policed, counted and audited like the others.
 *
 * The walk goes down from the root's children to the leaf (ancestor ids stop at the
 * leaf's level, so the loop ends there) and keeps the deepest match (the hook monitors
 * no container inside or around another: src/core/nesting.h). Cost: one hash lookup for
 * a task of a known cgroup; for any other task (the host's), one helper call per level
 * down to its leaf and one lookup per level above it: nothing more for a task in the
 * root cgroup, one more for a systemd service's (/system.slice/x.service).
 *
 * The walk above the leaf is a global function (the verifier checks it once per program
 * instead of unrolling it at each call site; it returns a scalar, so the caller looks up
 * the entry again): the id of the deepest entered ancestor, 0 when none. Weak: every
 * object includes this header and the objects are linked into one.
 */
__weak __noinline __u64 ocibpf_task_ancestor(__u64 leaf)
{
	__u64 found = 0;
	for (int l = 1; l < MAX_CGROUP_LEVEL; l++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(l);
		if (!id || id == leaf)
			break;
		if (container_of_cgroup(id))
			found = id;
	}
	return found;
}

__weak __noinline __u64 ocibpf_skb_ancestor(struct __sk_buff *skb, __u64 leaf)
{
	__u64 found = 0;
	for (int l = 1; l < MAX_CGROUP_LEVEL; l++) {
		__u64 id = bpf_skb_ancestor_cgroup_id(skb, l);
		if (!id || id == leaf)
			break;
		if (container_of_cgroup(id))
			found = id;
	}
	return found;
}

static __always_inline struct container_info *current_container(void)
{
	__u64 leaf = bpf_get_current_cgroup_id();
	struct container_info *c = container_of_cgroup(leaf);
	if (c)
		return c;
	__u64 id = ocibpf_task_ancestor(leaf);
	return id ? container_of_cgroup(id) : NULL;
}

/* The container of a packet's socket (cgroup_skb programs): the same walk from its cgroup. */
static __always_inline struct container_info *skb_container(struct __sk_buff *skb)
{
	__u64 leaf = bpf_skb_cgroup_id(skb);
	struct container_info *c = container_of_cgroup(leaf);
	if (c)
		return c;
	__u64 id = ocibpf_skb_ancestor(skb, leaf);
	return id ? container_of_cgroup(id) : NULL;
}

#endif
