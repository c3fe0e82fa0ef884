/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_NETPOLICY_H
#define OCIBPF_NETPOLICY_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"
#include "ocibpf.h"
#include "util.h"

struct policy;

/*
 * A policy's network section, compiled into the entries of the maps bpf/net.bpf.c looks
 * policy up in (see bpf/net.h for the layout and why one LPM lookup is exact):
 *   - addr: one entry per distinct rule prefix (and the /0 of each family) per direction,
 *     carrying the verdict of every rule that covers the prefix, by protocol;
 *   - port: for the (deduplicated) port functions of TCP/UDP that are not uniform, a /0
 *     background verdict plus the aligned port blocks of the other verdict;
 *   - meta: default and "anything to enforce" per direction.
 */
struct netpolicy_compiled {
	struct net_addr_key *akeys;
	struct net_addr_val *avals;
	size_t n_addr;
	struct net_port_key *pkeys;
	uint32_t *pvals;
	size_t n_port;
	size_t n_classes;
	struct net_meta meta;
};

/* What names a compiled policy's entries once they are in the trie: its summary (policy
 * id 0) and the digest the registry knows them by (netshare.h). */
struct netpolicy_summary {
	struct net_meta meta;
	uint8_t digest[32];
};

int netpolicy_compile(const struct policy *p, struct netpolicy_compiled **ret, struct error *err);
void netpolicy_compiled_free(struct netpolicy_compiled *c);
static inline void netpolicy_compiled_freep(struct netpolicy_compiled **c)
{
	netpolicy_compiled_free(*c);
}
#define _cleanup_netpolicy_ _cleanup_(netpolicy_compiled_freep)

/*
 * neteval.c: decide like the BPF programs do, by longest-prefix match over the compiled entries
 * (linear: for tests). dir NET_EGRESS/NET_INGRESS, family NF_INET/NF_INET6 (IPv4 in the
 * first 4 bytes of addr), slot NP_*, port in host order. Returns NV_ALLOW or NV_DENY.
 */
int netpolicy_eval(const struct netpolicy_compiled *c, int dir, int family, const uint8_t addr[16],
		   int slot, uint16_t port);

#endif
