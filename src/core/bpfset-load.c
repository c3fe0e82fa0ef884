/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loading the set with the light skeleton (build/ocibpf.lskel.h, `bpftool gen skeleton
 * -L`): a loader program made at build time creates the maps and loads the programs in
 * the kernel, which does the CO-RE relocations and finds the tracepoints' BTF ids itself.
 * libbpf's way reads and parses the kernel's BTF (5.5 MB) in user space: ~85 ms of CPU on
 * this VM, a third of `ocibpf load`. Needs BPF_PROG_TYPE_SYSCALL and CO-RE in the kernel
 * (5.17+); load_set (bpfset.c) falls back to libbpf when this fails.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "ocibpf.lskel.h"
#include "bpfset-load.h"
#include "paths.h"
#include "util.h"

const char *const bpfset_pinned_maps[] = {
	"ocibpf_cgroups", "ocibpf_stats", "ocibpf_events", "ocibpf_ring_produced",
	"ocibpf_ring_consumed", "ocibpf_audit_sel", "ocibpf_argmap", "ocibpf_syscall_counts",
	"ocibpf_syscall_seen", "ocibpf_pending_task", "ocibpf_uring_ops", "ocibpf_uring_pending", "ocibpf_net_policy",
	"ocibpf_net_registry", "ocibpf_net_meta", "ocibpf_net_agg", "ocibpf_cgtrack",
};
const size_t bpfset_n_pinned_maps = ARRAY_SIZE(bpfset_pinned_maps);

const char *const bpfset_global_progs[] = { "cgtrack_mkdir", "cgtrack_rmdir", "exec_audit" };
const size_t bpfset_n_global_progs = ARRAY_SIZE(bpfset_global_progs);

/* Every map and program of the light skeleton, by name. */
#define L_MAP_(n) { #n, offsetof(struct ocibpf_lbpf, maps.n) }
static const struct {
	const char *name;
	size_t off;
} lmaps[] = {
	L_MAP_(ocibpf_cgroups), L_MAP_(ocibpf_stats), L_MAP_(ocibpf_events),
	L_MAP_(ocibpf_ring_produced), L_MAP_(ocibpf_ring_consumed), L_MAP_(ocibpf_audit_sel),
	L_MAP_(ocibpf_argmap), L_MAP_(ocibpf_syscall_counts), L_MAP_(ocibpf_syscall_seen),
	L_MAP_(ocibpf_pending_task), L_MAP_(ocibpf_walk_buf),
	L_MAP_(ocibpf_uring_ops), L_MAP_(ocibpf_uring_pending), L_MAP_(uring_scratch),
	L_MAP_(ocibpf_net_policy), L_MAP_(ocibpf_net_registry), L_MAP_(ocibpf_net_meta),
	L_MAP_(ocibpf_net_sk), L_MAP_(ocibpf_net_skflows), L_MAP_(ocibpf_net_flows),
	L_MAP_(ocibpf_net_agg),
	L_MAP_(ocibpf_cgtrack),
};
_Static_assert(ARRAY_SIZE(lmaps) ==
	       sizeof(((struct ocibpf_lbpf *)0)->maps) / sizeof(struct bpf_map_desc),
	       "a map of the BPF objects is missing from lmaps");

#define L_PROG_(n) { #n, offsetof(struct ocibpf_lbpf, progs.n) }
static const struct {
	const char *name;
	size_t off;
} lprogs[] = {
	L_PROG_(sys_enter_tp), L_PROG_(sys_exit_tp), L_PROG_(raw_sys_enter),
	L_PROG_(raw_sys_exit), L_PROG_(exec_audit), L_PROG_(uring_submit),
	L_PROG_(uring_failed), L_PROG_(uring_complete), L_PROG_(cgtrack_mkdir),
	L_PROG_(cgtrack_rmdir), L_PROG_(sock_connect4), L_PROG_(sock_connect6),
	L_PROG_(sock_sendmsg4), L_PROG_(sock_sendmsg6), L_PROG_(skb_ingress),
	L_PROG_(skb_egress),
};
_Static_assert(ARRAY_SIZE(lprogs) ==
	       sizeof(((struct ocibpf_lbpf *)0)->progs) / sizeof(struct bpf_prog_desc),
	       "a program of the BPF objects is missing from lprogs");

static int lmap_fd(const struct ocibpf_lbpf *o, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(lmaps); i++)
		if (strcmp(lmaps[i].name, name) == 0)
			return ((const struct bpf_map_desc *)((const char *)o + lmaps[i].off))->map_fd;
	return -ENOENT;
}

static bool is_global(const char *name)
{
	for (size_t i = 0; i < bpfset_n_global_progs; i++)
		if (strcmp(bpfset_global_progs[i], name) == 0)
			return true;
	return false;
}

static int pin_fd(int fd, const char *dir, const char *kind, const char *name)
{
	if (fd <= 0)
		return -ENOENT;
	_cleanup_free_ char *path = path_set_entry(dir, kind, name);
	return bpf_obj_pin(fd, path) < 0 ? -errno : 0;
}

static int pin_light(struct ocibpf_lbpf *o, const char *dir)
{
	int r;
	for (size_t i = 0; i < bpfset_n_pinned_maps; i++)
		if ((r = pin_fd(lmap_fd(o, bpfset_pinned_maps[i]), dir, "maps",
				bpfset_pinned_maps[i])) < 0)
			return r;
	for (size_t i = 0; i < ARRAY_SIZE(lprogs); i++) {
		const char *name = lprogs[i].name;
		int fd = ((const struct bpf_prog_desc *)((const char *)o + lprogs[i].off))->prog_fd;
		if (is_global(name)) {
			/* tp_btf: the kernel takes the attach point from the program's BTF id */
			_cleanup_close_ int link = bpf_raw_tracepoint_open(NULL, fd);
			if (link < 0)
				return -errno;
			r = pin_fd(link, dir, "links", name);
		} else {
			r = pin_fd(fd, dir, "progs", name);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int bpfset_load_light(const char *dir)
{
	struct ocibpf_lbpf *o = ocibpf_lbpf__open();
	if (!o)
		return -ENOMEM;
	int r = ocibpf_lbpf__load(o);
	if (r == 0)
		r = pin_light(o, dir);
	else if (r > 0)
		r = -r;
	ocibpf_lbpf__destroy(o);
	return r < 0 ? r : 0;
}
