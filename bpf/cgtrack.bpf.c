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

/*
 * A sub-cgroup of a known cgroup gets an entry of its own while its container holds fewer
 * than MAX_SUBCGROUPS (ocibpf.h): the slot is taken in the container's own entry first
 * (add, then check: of concurrent mkdirs, those that see more than the cap give theirs
 * back, so the cap is never passed) and given back when the entry can't be made. Without
 * the container's own entry (its hook has not written it yet, or poststop removed it)
 * there is nothing to count on: no entry, the walk finds the container.
 */
SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(cgtrack_mkdir, struct cgroup *cgrp, const char *path)
{
	if (!on_default_hierarchy(cgrp))
		return 0;
	struct cgroup_subsys_state *parent = BPF_CORE_READ(cgrp, self.parent);
	if (!parent)
		return 0;
	__u64 parent_id = BPF_CORE_READ(parent, cgroup, kn, id);
	struct container_info *c = container_of_cgroup(parent_id);
	if (!c)
		return 0;
	__u64 owner = c->container_cgid;
	struct container_info *own = container_of_cgroup(owner);
	if (!own)
		return 0;
	__sync_fetch_and_add(&own->subcgroups, 1);
	if (READ_ONCE_U32(own->subcgroups) > MAX_SUBCGROUPS) {
		__sync_fetch_and_add(&own->subcgroups, -1);
		return 0;
	}
	/* Its own fields, not a copy of the parent's: the counter is the container's alone. */
	struct container_info child = { .container_cgid = owner, .flags = own->flags };
	__u64 id = BPF_CORE_READ(cgrp, kn, id);
	if (bpf_map_update_elem(&ocibpf_cgroups, &id, &child, BPF_NOEXIST) < 0)
		__sync_fetch_and_add(&own->subcgroups, -1);
	return 0;
}

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(cgtrack_rmdir, struct cgroup *cgrp, const char *path)
{
	if (!on_default_hierarchy(cgrp))
		return 0;
	__u64 id = BPF_CORE_READ(cgrp, kn, id);
	struct container_info *c = container_of_cgroup(id);
	/* The container's own entry is the hook's to remove (poststop reads it first). */
	if (!c || c->container_cgid == id)
		return 0;
	__u64 owner = c->container_cgid;
	if (bpf_map_delete_elem(&ocibpf_cgroups, &id) < 0)
		return 0;
	/* Its slot back (never below 0: an entry the counter missed, see bpfset_attach). */
	struct container_info *own = container_of_cgroup(owner);
	if (own && READ_ONCE_U32(own->subcgroups) > 0)
		__sync_fetch_and_add(&own->subcgroups, -1);
	return 0;
}
