/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_ANCHOR_H
#define OCIBPF_ANCHOR_H

#include "bpfset-progs.h"

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
 * anchor_attach attaches the programs prog_fd (enum set_prog) of the set pinned in set_dir
 * under bpffs_dir. It is idempotent (links already pinned under <set_dir>/anchor are
 * kept). It only saves time: callers go on without it when it fails (e.g. a read-only
 * cgroupfs).
 */
int anchor_attach(const char *bpffs_dir, const char *set_dir, const int prog_fd[P__COUNT]);
/* Remove bpffs_dir's anchor cgroup (`ocibpf gc`, when its last set is gone; its links go
 * with the set's pins). */
void anchor_remove(const char *bpffs_dir);

#endif
