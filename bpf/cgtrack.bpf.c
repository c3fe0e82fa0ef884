// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Sub-cgroup tracking: a cgroup made below a monitored container's cgroup belongs to that
 * container, so processes that move into it stay audited and counted. Runs only on
 * cgroup mkdir/rmdir, which is rare (and bounded per container: MAX_SUBCGROUPS).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "maps.bpf.h"

#define READ_ONCE_U32(x) (*(volatile __u32 *)&(x))

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline bool on_default_hierarchy(struct cgroup *cgrp)
{
	return BPF_CORE_READ(cgrp, root, hierarchy_id) == 0;
}

static __always_inline __u64 *cgtrack_slot(__u32 k)
{
	return bpf_map_lookup_elem(&ocibpf_cgtrack, &k);
}

/* Take one of *count's slots if that leaves it at most max (add, then check: of
 * concurrent takers, those that see more than max give theirs back, so max is never
 * passed). */
static __always_inline bool take32(__u32 *count, __u32 max)
{
	__sync_fetch_and_add(count, 1);
	if (READ_ONCE_U32(*count) <= max)
		return true;
	__sync_fetch_and_add(count, -1);
	return false;
}

static __always_inline bool take64(__u64 *count, __u64 max)
{
	__sync_fetch_and_add(count, 1);
	if (*(volatile __u64 *)count <= max)
		return true;
	__sync_fetch_and_add(count, -1);
	return false;
}

/* Give a slot back (never below 0: an entry a counter missed). */
static __always_inline void give32(__u32 *count)
{
	if (READ_ONCE_U32(*count) > 0)
		__sync_fetch_and_add(count, -1);
}

static __always_inline void give64(__u64 *count)
{
	if (count && *(volatile __u64 *)count > 0)
		__sync_fetch_and_add(count, -1);
}

/*
 * A sub-cgroup of a known cgroup gets an entry of its own while its container holds fewer
 * than MAX_SUBCGROUPS (counted in its own entry) and the tracker's entries for all
 * containers are within budget (ocibpf_cgtrack): ocibpf.h. Without the container's own
 * entry (its hook has not written it yet, or poststop removed it) there is nothing to
 * count on: no entry, the walk finds the container.
 */
SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(cgtrack_mkdir, struct cgroup *cgrp, const char *path)
{
	if (!on_default_hierarchy(cgrp))
		return 0;
	struct cgroup_subsys_state *parent = BPF_CORE_READ(cgrp, self.parent);
	if (!parent)
		return 0;
	/* parent is the parent cgroup's `self` (what cgroup_parent() undoes): reading
	 * parent->cgroup would relocate against cgroup_subsys_state, which shares the
	 * kernel's CO-RE cache slot with io_uring's io_open (see uapi.bpf.h) */
	struct cgroup *pcg = (void *)parent - bpf_core_field_offset(struct cgroup, self);
	__u64 parent_id = BPF_CORE_READ(pcg, kn, id);
	struct container_info *c = container_of_cgroup(parent_id);
	if (!c)
		return 0;
	__u64 owner = c->container_cgid;
	struct container_info *own = container_of_cgroup(owner);
	__u64 *used = cgtrack_slot(CGTRACK_USED), *budget = cgtrack_slot(CGTRACK_BUDGET);
	if (!own || !used || !budget)
		return 0;
	if (!take32(&own->subcgroups, MAX_SUBCGROUPS))
		return 0;
	__u64 max = *budget ? *budget : CGTRACK_BUDGET_DEFAULT;
	if (!take64(used, max)) {
		give32(&own->subcgroups);
		return 0;
	}
	/* Its own fields, not a copy of the parent's: the counter is the container's alone. */
	struct container_info child = {
		.container_cgid = owner,
		.flags = own->flags | CF_TRACKED,
	};
	__u64 id = BPF_CORE_READ(cgrp, kn, id);
	if (bpf_map_update_elem(&ocibpf_cgroups, &id, &child, BPF_NOEXIST) < 0) {
		give64(used);
		give32(&own->subcgroups);
	}
	return 0;
}

/* The slot a tracked sub-cgroup cgrp took in its container's own entry back. */
static __always_inline void give_parents(struct cgroup *cgrp)
{
	struct cgroup_subsys_state *parent = BPF_CORE_READ(cgrp, self.parent);
	if (!parent)
		return;
	/* container_of, as in cgtrack_mkdir: no relocation against cgroup_subsys_state */
	struct cgroup *pcg = (void *)parent - bpf_core_field_offset(struct cgroup, self);
	__u64 parent_id = BPF_CORE_READ(pcg, kn, id);
	struct container_info *c = container_of_cgroup(parent_id);
	struct container_info *own = c ? container_of_cgroup(c->container_cgid) : NULL;
	if (own)
		give32(&own->subcgroups);
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(cgtrack_rmdir, struct cgroup *cgrp, const char *path)
{
	if (!on_default_hierarchy(cgrp))
		return 0;
	__u64 id = BPF_CORE_READ(cgrp, kn, id);
	struct container_info *c = container_of_cgroup(id);
	if (!c)
		return 0;
	bool tracked = c->flags & CF_TRACKED;
	if (c->container_cgid == id) {
		/*
		 * The container's own entry is the hook's to remove (poststop reads it first).
		 * Nested in another container's cgroup, its cgroup was that one's sub-cgroup
		 * (the hook replaced the tracker's entry): both slots back.
		 */
		if (tracked) {
			give64(cgtrack_slot(CGTRACK_USED));
			give_parents(cgrp);
		}
		return 0;
	}
	__u64 owner = c->container_cgid;
	if (bpf_map_delete_elem(&ocibpf_cgroups, &id) < 0)
		return 0;
	struct container_info *own = container_of_cgroup(owner);
	if (own)
		give32(&own->subcgroups);
	if (tracked)
		give64(cgtrack_slot(CGTRACK_USED));
	return 0;
}
