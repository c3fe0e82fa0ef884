/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Types and constants shared between the BPF programs and user space. */
#ifndef OCIBPF_BPF_H
#define OCIBPF_BPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "counters.h"

/* What a container's policy turned on (struct container_info.flags). */
#define CF_TELEMETRY	(1U << 0)
#define CF_NETWORK	(1U << 1)
#define CF_AUDIT	(1U << 2)
#define CF_SYSCOUNT	(1U << 3)
#define CF_AUDIT_RAW	(1U << 4)	/* its syscalls are audited by the raw sys_enter/exit programs */
/* Set by poststop on the container's own entry: its stop record is next, so its folded
 * denials are not reported any more (one map update, not a walk of ocibpf_net_agg). */
#define CF_QUIESCED	(1U << 5)
/* An entry the cgroup_mkdir tracker made (counted in ocibpf_cgtrack); never a container's
 * own entry (no container is monitored inside another: src/core/nesting.h). */
#define CF_TRACKED	(1U << 6)

/*
 * Capacity of the per-container maps: containers monitored at once on a host, and their
 * cgroups (the container's own and up to MAX_SUBCGROUPS of the sub-cgroups it makes;
 * beyond that a sub-cgroup is found by the walk up to its container, container.bpf.h).
 * A hash map's bucket array is sized by max_entries even without preallocation, and
 * filling it in is most of what creating these maps costs `ocibpf load` (~1 ms per
 * 16,384 buckets): 16,384 containers and 65,536 cgroups cost ~12 ms of its CPU. A hook
 * that finds a map full refuses the container with the limit in its message.
 */
#define MAX_CONTAINERS	4096
#define MAX_CGROUPS	16384

/*
 * ocibpf_cgroups: cgroup id (cgroup2) -> the container it belongs to. The container's own
 * cgroup is entered by the hook; its sub-cgroups, those that exist when the hook runs
 * (entered by the hook) and those made later (by the cgroup_mkdir tracker, cgtrack.bpf.c),
 * so that a lookup is one hash lookup on the leaf cgroup id.
 *
 * A sub-cgroup's entry is only that fast path: a sub-cgroup without one is found by the
 * walk up to its container (container.bpf.h), policed, counted and audited the same. So
 * a container gets at most MAX_SUBCGROUPS of them, counted in its own entry
 * (`subcgroups`): a container that can write its cgroupfs (cgroupns and a writable mount,
 * systemd in the container) and makes 20,000 sub-cgroups would otherwise fill the map,
 * and every container started after it would be refused. 64: systemd in a container
 * makes 10-40 (slices, services, scopes), and a tree deeper or wider than that pays one
 * helper call and one lookup per level of the walk.
 *
 * Many containers together could still fill the map (252 holding 64 each), so the tracker
 * also keeps within a budget for all containers (ocibpf_cgtrack[CGTRACK_BUDGET], 0: the
 * default), MAX_CGROUPS - 2 * MAX_CONTAINERS: the rest of the map is for the containers'
 * own entries (at most MAX_CONTAINERS, as the stats map) and the sub-cgroups that exist
 * when the hook runs (made by the engine, not by the container). Past the budget, new
 * sub-cgroups are found by the walk; no container is refused for sub-cgroups.
 */
#define MAX_SUBCGROUPS	64
#define CGTRACK_BUDGET_DEFAULT	(MAX_CGROUPS - 2 * MAX_CONTAINERS)
/* ocibpf_cgtrack: an array of __u64. */
enum { CGTRACK_USED = 0, CGTRACK_BUDGET = 1, CGTRACK__COUNT };

struct container_info {
	__u64 container_cgid;	/* cgroup id of the container's own cgroup: its key elsewhere */
	__u32 flags;		/* CF_* */
	/* In the container's own entry: how many sub-cgroup entries it holds (at most
	 * MAX_SUBCGROUPS; changed by the tracker with atomic adds); 0 in theirs. */
	__u32 subcgroups;
};

/* ocibpf_stats (per-CPU): per-container counters, keyed by container_cgid (counters.h). */
#define OCIBPF_KERNEL_MEMBER_(name, kind, src, flags, metric, help) __u64 name;
struct container_stats {
	OCIBPF_KERNEL_COUNTERS(OCIBPF_KERNEL_MEMBER_)
};
#undef OCIBPF_KERNEL_MEMBER_

/*
 * Events from the kernel to the collector, through the ocibpf_events ring buffer. Every
 * event starts with struct ev_hdr; `size` is the whole event's size.
 */
enum ev_type {
	EV_EXEC = 1,
	EV_SYSCALL = 2,
	EV_NET = 3,
	EV_URING = 4,
};

struct ev_hdr {
	__u32 type;		/* enum ev_type */
	__u32 size;
	__u64 container_cgid;
	__u64 ts_boot_ns;	/* bpf_ktime_get_boot_ns() */
};

#define TASK_COMM_LEN_ 16

/* A network policy decision worth logging (every deny). */
enum { NET_EGRESS = 0, NET_INGRESS = 1 };
enum { NET_DENY = 0, NET_ALLOW = 1 };
struct ev_net {
	struct ev_hdr h;
	__u32 pid;		/* 0 when the kernel doesn't know (packet hooks) */
	__u32 count;		/* repeats folded into this event (>= 1) */
	__u8 direction;		/* NET_EGRESS / NET_INGRESS */
	__u8 action;		/* NET_DENY / NET_ALLOW */
	__u8 protocol;		/* IPPROTO_* */
	__u8 family;		/* AF_INET / AF_INET6 */
	__u16 port;		/* host order; 0 when none */
	__u16 pad;
	__u8 addr[16];		/* remote address; IPv4 in the first 4 bytes */
	char comm[TASK_COMM_LEN_];
};

/* ocibpf_audit_sel: per container (container_cgid), which syscalls to audit. */
#define MAX_SYSCALLS	1024
struct syscall_sel {
	__u64 bits[MAX_SYSCALLS / 64];
};

#ifndef __VMLINUX_H__
#include <stdbool.h>
/*
 * Syscall nr (< MAX_SYSCALLS) in a bitmap of syscalls (a syscall_sel's bits, or one of
 * the same shape). User space only: the BPF programs mask the word index for the verifier.
 */
static inline bool sel_has(const __u64 *bits, unsigned nr)
{
	return bits[nr / 64] & (1ULL << (nr % 64));
}
static inline void sel_set(__u64 *bits, unsigned nr)
{
	bits[nr / 64] |= 1ULL << (nr % 64);
}
#endif

/*
 * ocibpf_argmap[nr]: where a syscall's decodable arguments are (-1: none). dirfd_arg: the
 * directory fd a relative path_arg is taken from (-1: the cwd, as for open or stat).
 */
struct sys_argmap {
	__s8 path_arg;
	__s8 sockaddr_arg;
	__s8 dirfd_arg;
	__u8 flags;		/* ARGMAP_* (a set built before them reads none: it was pad) */
};
/* It returns a new fd (open, openat, open_by_handle_at): its file is walked at exit. */
#define ARGMAP_RET_FD	(1U << 0)

/*
 * ocibpf_syscall_counts (per-CPU): by container and syscall, for syscalls 0 to
 * MAX_SYSCALLS - 1 (the total in container_stats counts every syscall). Which entries a
 * container has is in ocibpf_syscall_seen (a struct syscall_sel per container_cgid, a
 * bit set once its entry exists), so that reading or forgetting a container's counts
 * looks up its own entries and walks nobody else's.
 */
struct syscount_key {
	__u64 container_cgid;
	__u32 nr;
	__u32 pad;
};

#define EV_PATH_MAX	256
#define EV_ARGS_MAX	1024

/*
 * A path the kernel walked from a dentry up to the task's root (`fs->root`): what the
 * container sees, bind mounts at their place in it. The directory a relative path is taken
 * from (ev_syscall.dir, ev_exec.dir), the file an exec ran (ev_exec.exe). At most
 * PW_DEPTH steps (a component or a mount crossed) and EV_PATH_MAX - 1 bytes: past either,
 * the tail of whole components is kept and PW_TRUNCATED set.
 */
#define PW_DEPTH	32
#define PW_TRUNCATED	(1U << 0)
#define PW_UNREACHABLE	(1U << 1)	/* the walk ended at a root that is not the task's */
#define PW_DELETED	(1U << 2)	/* the file (directory) itself is unlinked */

struct ev_exec {
	struct ev_hdr h;
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	__u16 args_len;		/* bytes of args used: NUL-separated strings */
	__u8 args_truncated;
	__u8 filename_truncated;	/* longer than EV_PATH_MAX - 1: its tail is kept */
	char comm[TASK_COMM_LEN_];
	char filename[EV_PATH_MAX];
	char args[EV_ARGS_MAX];
	/* The collector takes events of sets built before these fields (shorter: none). */
	__u8 has_exe;
	__u8 exe_flags;		/* PW_* */
	__u8 has_dir;		/* filename is relative: dir is the cwd it was taken from */
	__u8 dir_flags;		/* PW_* */
	__u8 pad[4];
	char exe[EV_PATH_MAX];	/* the file the kernel ran (bprm->file) */
	char dir[EV_PATH_MAX];
};
#define EV_EXEC_V1_SIZE	__builtin_offsetof(struct ev_exec, has_exe)

struct ev_syscall {
	struct ev_hdr h;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__s32 nr;
	__s64 ret;
	__u64 args[6];
	char comm[TASK_COMM_LEN_];
	__u8 has_path;
	__u8 has_addr;
	__u8 family;		/* of addr */
	__u8 path_truncated;	/* longer than EV_PATH_MAX - 1: its tail is kept */
	__u16 port;		/* host order */
	__u16 pad2;
	__u8 addr[16];
	char path[EV_PATH_MAX];
	/*
	 * Only an event with a dir or a file has these (the others end here,
	 * EV_SYSCALL_V1_SIZE, as every event of a set built before them), only one with a
	 * file the last ones (the others end at has_file, EV_SYSCALL_V2_SIZE): the collector
	 * takes the three sizes.
	 */
	__u8 has_dir;		/* path is relative: dir is where the kernel takes it from */
	__u8 dir_flags;		/* PW_* */
	__u8 pad3[6];
	char dir[EV_PATH_MAX];
	/* The file a returned fd is (ARGMAP_RET_FD), when it is not the path passed (with
	 * dir when relative) or there is no path: a symlink's target, a file handle's file. */
	__u8 has_file;
	__u8 file_flags;	/* PW_* */
	__u8 pad4[6];
	char file[EV_PATH_MAX];
};
#define EV_SYSCALL_V1_SIZE	__builtin_offsetof(struct ev_syscall, has_dir)
#define EV_SYSCALL_V2_SIZE	__builtin_offsetof(struct ev_syscall, has_file)

/*
 * An io_uring operation that stands for an audited syscall (IORING_OP_OPENAT for openat),
 * from the io_uring_submit_req tracepoint, with the result from io_uring_complete when the
 * two could be paired (has_ret). See bpf/uring.bpf.h.
 */
#define URING_OPS	256	/* opcodes are a __u8 */
struct ev_uring {
	struct ev_hdr h;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__s32 nr;		/* the syscall it stands for */
	__u64 user_data;
	__u64 args[6];		/* what the operation's prep kept, else 0 */
	__s32 ret;		/* cqe res, when has_ret */
	__u8 opcode;		/* IORING_OP_* */
	__u8 has_ret;
	__u8 has_path;
	__u8 has_addr;
	__u8 family;
	__u8 pad;
	__u16 port;
	__u8 addr[16];
	char comm[TASK_COMM_LEN_];
	char path[EV_PATH_MAX];
};

/*
 * A container's share of the ring buffer. ocibpf_ring_produced (kernel, at reserve) and
 * ocibpf_ring_consumed (the collector, after each batch), both by container_cgid, count
 * ring bytes (RING_REC_BYTES of each event); their difference is what the container holds
 * in the ring. Once the ring is half full, a container that holds more than the room left
 * can't reserve: a flood fills at most its share and others keep room (event_reserve).
 */
#define RING_HDR_BYTES	8	/* BPF_RINGBUF_HDR_SZ */
#define RING_REC_BYTES(size)	(((size) + RING_HDR_BYTES + 7) & ~7ULL)

#endif
