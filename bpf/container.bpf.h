/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The container of the running task, for every BPF program of ocibpf. */
#ifndef OCIBPF_CONTAINER_BPF_H
#define OCIBPF_CONTAINER_BPF_H

#include "maps.bpf.h"

/* How far up the hierarchy a cgroup's container is looked for when its own isn't known. */
#define MAX_CGROUP_LEVEL	32

/*
 * The container of the current task: the entry of its leaf cgroup (the hook enters the
 * container's own cgroup, cgtrack every sub-cgroup made after that), else that of the
 * nearest ancestor. A sub-cgroup the tracker never saw (made before the hook entered the
 * container, or made while no tracker was attached) still belongs to the container: its
 * processes are policed, counted and audited like the others.
 *
 * Cost: one hash lookup for a task of a known cgroup; for any other task (the host's),
 * one more per level between the root and its leaf (ancestor ids above the leaf's level
 * are 0 and cost no lookup).
 */
static __always_inline struct container_info *current_container(void)
{
	__u64 leaf = bpf_get_current_cgroup_id();
	struct container_info *c = container_of_cgroup(leaf);
	if (c)
		return c;
	for (int l = MAX_CGROUP_LEVEL; l > 0; l--) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(l);
		if (!id || id == leaf)
			continue;
		c = container_of_cgroup(id);
		if (c)
			return c;
	}
	return NULL;
}

#endif
