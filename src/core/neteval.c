/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reference evaluator: a decision from a compiled policy's entries by the rules the
 * BPF programs follow (longest-prefix match), linear. The unit tests check the compiler
 * against the policy's own semantics through it.
 */
#include <arpa/inet.h>
#include <string.h>

#include "netpolicy.h"

/* Do the first `bits` bits of the key data (after prefixlen) agree? */
static bool bits_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	if (memcmp(a, b, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff00 >> rest);
		return (a[full] & mask) == (b[full] & mask);
	}
	return true;
}

int netpolicy_eval(const struct netpolicy_compiled *c, int dir, int family, const uint8_t addr[16],
		   int slot, uint16_t port)
{
	if (!(c->meta.flags[dir & 1] & NM_ACTIVE))
		return NV_ALLOW;
	struct net_addr_key k = { 0 };
	k.prefixlen = NET_ADDR_KEY_FIXED_BITS + (family == NF_INET ? 32 : 128);
	k.dir = (uint8_t)dir;
	k.family = (uint8_t)family;
	memcpy(k.addr, addr, 16);
	const struct net_addr_val *best = NULL;
	uint32_t best_len = 0;
	for (size_t i = 0; i < c->n_addr; i++) {
		const struct net_addr_key *e = &c->akeys[i];
		if (e->prefixlen > k.prefixlen || (best && e->prefixlen <= best_len))
			continue;
		if (bits_match((const uint8_t *)e + 4, (const uint8_t *)&k + 4, e->prefixlen)) {
			best = &c->avals[i];
			best_len = e->prefixlen;
		}
	}
	if (!best)
		return NV_DENY;
	uint8_t v = best->v[slot & 3];
	if (v != NV_PORTS)
		return v == NV_ALLOW ? NV_ALLOW : NV_DENY;

	struct net_port_key pk = { 0 };
	pk.prefixlen = NET_PORT_KEY_FIXED_BITS + 16;
	pk.cls = best->cls;
	pk.dir = (uint8_t)dir;
	pk.family = NF_PORT;
	pk.proto = (uint8_t)slot;
	pk.port = htons(port);
	const uint32_t *pbest = NULL;
	best_len = 0;
	for (size_t i = 0; i < c->n_port; i++) {
		const struct net_port_key *e = &c->pkeys[i];
		if (pbest && e->prefixlen <= best_len)
			continue;
		if (bits_match((const uint8_t *)e + 4, (const uint8_t *)&pk + 4, e->prefixlen)) {
			pbest = &c->pvals[i];
			best_len = e->prefixlen;
		}
	}
	return pbest && *pbest == NV_ALLOW ? NV_ALLOW : NV_DENY;
}
