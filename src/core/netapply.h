/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_NETAPPLY_H
#define OCIBPF_NETAPPLY_H

#include <stdint.h>

#include "util.h"

struct bpfset;
struct policy;
struct netpolicy_summary;

/*
 * Put the network rules of p in force for the container whose cgroup id is cgid: the
 * entries of its policy in the shared trie (written unless another container uses the
 * same policy, see netshare.h), then its summary, which names them and turns lookups on.
 * On failure nothing of it is left in the maps. Call before the programs are attached.
 * *ret (when not NULL): what names the entries, for the policy cache.
 */
int netpolicy_apply(struct bpfset *set, uint64_t cgid, const struct policy *p,
		    struct netpolicy_summary *ret, struct error *err);
/*
 * The same for a policy whose compiled summary the policy cache gave (policycache.h):
 * the entries it names when they are in the trie, else -ENOENT with nothing done.
 */
int netpolicy_apply_kept(struct bpfset *set, uint64_t cgid, const struct netpolicy_summary *s,
			 struct error *err);
/* Remove the container's summary, and its policy's entries if it was the last user
 * (no error when there are none). */
void netpolicy_forget(struct bpfset *set, uint64_t cgid);
/*
 * Drop the container's pending folded denials, so that no `net` event for it is queued
 * after this (the counters keep the exact numbers): one update of its cgroups entry
 * (CF_QUIESCED; its timers then report nothing), no walk. Its sub-cgroup counter is
 * written full (MAX_SUBCGROUPS): no sub-cgroup entries after this, none lost. For poststop, before the
 * collector is drained and the `stop` record written.
 */
void netpolicy_quiesce(struct bpfset *set, uint64_t cgid);

#endif
