/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Network policy: the maps bpf/net.bpf.c looks policy up in, shared with
 * src/core/netpolicy.c which compiles a policy into them.
 *
 * A policy is compiled in user space into entries of one LPM trie that every policy shares,
 * each entry's key prefixed by the id of its policy; a container's summary names the id:
 *
 *   ocibpf_net_meta[cgid]   -> struct net_meta (per-direction summary, policy id)
 *   ocibpf_net_policy (LPM), two kinds of entries told apart by their family byte:
 *        (policy, direction, family, address prefix)             -> struct net_addr_val
 *        (policy, direction, NF_PORT, protocol, class, port prefix) -> verdict in v[0]
 *   ocibpf_net_registry[policy] -> struct net_registry (user space only: which policies
 *        are in the trie, their content digest and how many containers use them)
 *
 * A distinct policy is written once, by the first container that uses it, and kept a
 * while after its last (a few, src/core/netshare.c). Starting a container whose policy is in the trie writes
 * one hash entry (its summary): no map-of-maps, whose every update or delete waits for an
 * RCU grace period (~10 ms).
 *
 * Every distinct rule prefix P of a direction (plus the /0 of each family) has one entry
 * in the address trie, whose value is the verdict of *all* rules whose prefix covers P,
 * "deny beats allow, else default" already applied. The prefixes that contain an address
 * form a chain, so the rules covering an address are exactly the rules covering the
 * longest prefix that contains it: the one LPM lookup is exact, whatever the nesting of
 * allows and denies. Where the verdict depends on the port for TCP or UDP, the entry
 * names a class (a distinct port function, deduplicated per direction) whose ports live
 * in the port trie as aligned blocks over a /0 background. Lookup cost: one hash + one
 * LPM lookup, plus one LPM lookup when ports matter: independent of the number of rules.
 */
#ifndef OCIBPF_NET_H
#define OCIBPF_NET_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "ocibpf.h"	/* MAX_CONTAINERS */

/* Verdicts (values of the tries). */
#define NV_DENY		0
#define NV_ALLOW	1
#define NV_PORTS	2	/* depends on the port: look in the port trie */

/* Protocol slots of struct net_addr_val.v. */
#define NP_TCP		0
#define NP_UDP		1
#define NP_ICMP		2	/* ICMP for IPv4, ICMPv6 for IPv6 */
#define NP_OTHER	3
#define NP__COUNT	4

/* Families in keys. */
#define NF_INET		4
#define NF_INET6	6
#define NF_PORT		0xff	/* port entries of the same trie */

/* Address trie key. prefixlen counts the bits of policy, dir, family, pad, then addr. */
struct net_addr_key {
	__u32 prefixlen;
	__u32 policy;		/* policy id (net_meta.policy); 0 while compiling */
	__u8 dir;		/* NET_EGRESS / NET_INGRESS */
	__u8 family;		/* NF_INET / NF_INET6 */
	__u8 pad[2];
	__u8 addr[16];		/* IPv4 in the first 4 bytes */
};
#define NET_ADDR_KEY_FIXED_BITS	64	/* policy, dir, family, pad */

struct net_addr_val {
	__u32 cls;		/* class in the port trie when some v[] is NV_PORTS */
	__u8 v[NP__COUNT];	/* NV_* by protocol slot */
};

/*
 * Port entry key, the same size as an address key (they share the trie). prefixlen
 * counts the bits of policy, dir, family, proto, pad, cls, then port.
 */
struct net_port_key {
	__u32 prefixlen;
	__u32 policy;
	__u8 dir;
	__u8 family;		/* NF_PORT */
	__u8 proto;		/* NP_TCP / NP_UDP */
	__u8 pad;
	__u32 cls;
	__u16 port;		/* network byte order */
	__u8 pad2[10];
};
#define NET_PORT_KEY_FIXED_BITS	96	/* policy, dir, family, proto, pad, cls */

/* Per-direction summary. */
#define NM_ACTIVE	(1U << 0)	/* something in this direction can be denied */
struct net_meta {
	__u8 flags[2];		/* NM_* by direction */
	__u8 def[2];		/* default verdict by direction (NV_DENY / NV_ALLOW) */
	__u32 policy;		/* id of its entries in ocibpf_net_policy */
};

/* ocibpf_net_registry[policy id]: a policy whose entries are in ocibpf_net_policy. */
struct net_registry {
	__u8 digest[32];	/* SHA-256 of the compiled policy (entries with policy 0, meta) */
	__u32 refs;		/* containers whose summary names it (0: kept unused) */
	__u32 n_entries;	/* entries in the trie (and in its key list) */
	__u64 unused_since;	/* kept unused: since when (CLOCK_MONOTONIC ns) */
};

/*
 * ocibpf_net_agg (kernel state): recent denials by key, to fold repeats; an entry goes
 * with its window (its timer deletes it). User space only removed a container's entries
 * in sets from before that (which cancels their timers).
 */
struct net_agg_key {
	__u64 cgid;
	__u8 addr[16];
	__u16 port;
	__u8 dir;
	__u8 proto;
	__u8 family;
	__u8 pad[3];
};

/* Containers with a network policy (MAX_CONTAINERS), and distinct policies. */
#define NET_OUTER_MAX	MAX_CONTAINERS
/* Bound of the shared trie (BPF_F_NO_PREALLOC: memory is taken per entry). */
#define NET_TRIE_MAX	(16U << 20)

#endif
