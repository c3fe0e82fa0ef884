/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_NESTING_H
#define OCIBPF_NESTING_H

#include "bpfset.h"
#include "cgroup.h"
#include "util.h"

/*
 * A container is not monitored in a cgroup inside a monitored container's (its cgroup
 * or a sub-cgroup of it, entered in ocibpf_cgroups or found by the walk up), nor around
 * one (a recorded container's cgroup below it): the programs judge a process by the
 * deepest container above it, so either would put the processes of one container under
 * the other's policy (ocibpf-hook(8), ONE CGROUP, ONE CONTAINER). -EBUSY naming the other
 * container (and `ocibpf gc` when its process is gone); 0 otherwise. The cgroup that
 * is exactly another run's is bpfset_claim's to find.
 */
int nesting_check(const char *state_dir, const struct bpfset *set, const struct cgroup_ref *cg,
		  struct error *err);

#endif
