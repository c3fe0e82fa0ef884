/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_ANCHOR_H
#define OCIBPF_ANCHOR_H

struct bpfset;

/*
 * The anchor: an empty cgroup of bpffs_dir's own (path_anchor_cgroup) to which a loaded
 * set attaches, once, every program it attaches per container.
 *
 * The kernel turns a static key on when the first program of an attach type is attached
 * anywhere, and off when the last one goes. Each switch patches kernel text on every CPU,
 * with IPIs: on a VM, most of what a hook pair cost on a host running one container at a
 * time, paid at every start and every stop for six attach types. With the anchor the keys
 * stay on while the set is loaded. No process enters the anchor, so its programs never
 * run.
 *
 * anchor_attach is idempotent (links already pinned under <set>/anchor are kept). It only
 * saves time: callers go on without it when it fails (e.g. a read-only cgroupfs).
 */
int anchor_attach(const struct bpfset *s);
/* Remove bpffs_dir's anchor cgroup (when its last set is gone; its links go with the set's
 * pins). */
void anchor_remove(const char *bpffs_dir);

#endif
