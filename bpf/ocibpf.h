/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Types and constants shared between the BPF programs and user space. */
#ifndef OCIBPF_BPF_H
#define OCIBPF_BPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* What a container's policy turned on (struct container_info.flags). */
#define CF_TELEMETRY	(1U << 0)
#define CF_NETWORK	(1U << 1)
#define CF_AUDIT	(1U << 2)
#define CF_SYSCOUNT	(1U << 3)

#define MAX_CONTAINERS	16384
#define MAX_CGROUPS	65536

/*
 * ocibpf_cgroups: cgroup id (cgroup2) -> the container it belongs to. The container's own
 * cgroup is entered by the hook; sub-cgroups the container makes later are entered by the
 * cgroup_mkdir tracker, so every lookup is one hash lookup on the leaf cgroup id.
 */
struct container_info {
	__u64 container_cgid;	/* cgroup id of the container's own cgroup: its key elsewhere */
	__u32 flags;		/* CF_* */
	__u32 pad;
};

/* ocibpf_stats (per-CPU): per-container counters, keyed by container_cgid. */
struct container_stats {
	__u64 rx_bytes;
	__u64 rx_packets;
	__u64 tx_bytes;
	__u64 tx_packets;
	__u64 egress_denied;
	__u64 ingress_denied;
	__u64 execs;
	__u64 syscalls;
};

#endif
