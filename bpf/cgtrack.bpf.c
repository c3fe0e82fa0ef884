// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Sub-cgroup tracking: a cgroup made below a monitored container's cgroup belongs to that
 * container, so processes that move into it stay audited and counted. Runs only on
 * cgroup mkdir/rmdir, which is rare.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline bool on_default_hierarchy(struct cgroup *cgrp)
{
	return BPF_CORE_READ(cgrp, root, hierarchy_id) == 0;
}

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
	struct container_info child = *c;
	__u64 id = BPF_CORE_READ(cgrp, kn, id);
	bpf_map_update_elem(&ocibpf_cgroups, &id, &child, BPF_ANY);
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
	if (c && c->container_cgid != id)
		bpf_map_delete_elem(&ocibpf_cgroups, &id);
	return 0;
}
