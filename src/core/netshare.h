/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_NETSHARE_H
#define OCIBPF_NETSHARE_H

#include <stdint.h>

#include "util.h"

struct bpfset;
struct netpolicy_compiled;

/*
 * Policies shared among containers (see bpf/net.h). A distinct compiled policy (by
 * SHA-256 of its entries) is written into ocibpf_net_policy once, under a policy id, by
 * the first container that uses it; the registry counts the containers whose summary
 * names it. After the last one leaves its entries are kept (a few policies, the ones
 * unused longest go first), so that the next container of that policy writes nothing;
 * a policy no summary names and that is not kept goes (`ocibpf gc`). The keys of a policy's
 * entries are kept in a small array map pinned at <set>/netpolicy/<id>, so that removing
 * them is as long as the policy, whatever else is in the trie.
 *
 * Every change of the registry and of the summaries (ocibpf_net_meta) happens under
 * netshare_lock() (flock on <set>/netpolicy).
 */

/* SHA-256 of a compiled policy (its entries, with policy id 0, and its summary). */
void netshare_digest(const struct netpolicy_compiled *c, uint8_t out[32]);

/* Lock the set's policies; an fd to close to unlock, or a negative errno. */
int netshare_lock(struct bpfset *set, struct error *err);

/*
 * The id of c's entries in the trie (digest: netshare_digest(c)): one more user of a
 * policy already there, or its entries written now. trie and reg are ocibpf_net_policy and
 * ocibpf_net_registry.
 */
int netshare_acquire(struct bpfset *set, int trie, int reg, const struct netpolicy_compiled *c,
		     const uint8_t digest[32], uint32_t *ret_id, struct error *err);
/*
 * The same for a policy known by its digest alone (the policy cache, policycache.h): one
 * more user of its entries when they are in the trie (used or kept); -ENOENT, nothing
 * done and no message, when they are not.
 */
int netshare_acquire_kept(int reg, const uint8_t digest[32], uint32_t *ret_id, struct error *err);
/* One user less of policy id; after the last its entries are kept, or removed. */
void netshare_release(struct bpfset *set, int trie, int reg, uint32_t id);

/*
 * `ocibpf gc`: put the registry right from the summaries (a hook killed half-way may
 * leave a count too high, or entries without a registration): counts set to the number
 * of summaries naming each policy, policies none names removed (removed() is told their
 * ids). Walks the maps: not for a hook's path.
 */
void netshare_gc(struct bpfset *set, void (*removed)(uint32_t id, void *ud), void *ud);

#endif
