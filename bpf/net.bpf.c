// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Per-container network programs, attached to each container's cgroup with bpf_link.
 *
 * cgroup_skb ingress/egress count traffic; for containers with a network policy
 * (CF_NETWORK) they also enforce it. The socket hooks (connect4/6, sendmsg4/6) are where
 * egress policy is enforced with EPERM; cgroup_skb/egress is the backstop for what they
 * don't see (ICMP, raw sockets, sockets from before the attach) and cgroup_skb/ingress
 * drops what the container may not receive.
 *
 * Semantics (SPEC.md): per direction, deny beats allow, order does not matter, else the
 * default. Egress governs the connections the container opens and the datagrams it sends;
 * ingress the connections it accepts and the datagrams it receives. Packets of a
 * connection that was allowed when it was opened (the replies of an allowed connect, the
 * packets of an accepted connection) are not filtered again, and datagrams that answer
 * what a socket sent (UDP, ICMP echo) are let in: without that, "ingress default deny"
 * would break every outbound connection.
 *
 * How policy is looked up: see net.h. Per packet on an established TCP connection the
 * cost is the cgroup lookup that counting needs anyway plus one socket-storage lookup.
 *
 * No CO-RE here: these programs read only UAPI structs (__sk_buff, bpf_sock,
 * bpf_sock_addr, the contexts the verifier rewrites) and wire headers copied into locals
 * (iphdr, ipv6hdr), whose layouts are ABI. Without preserve_access_index their ~400
 * field accesses are plain offsets instead of CO-RE relocations that the kernel resolved
 * against its BTF at every `ocibpf load` (~8% of its CPU). Don't read a kernel-internal
 * struct from this file (that needs CO-RE: put it in another object).
 */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "container.bpf.h"
#include "net.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SKB_PASS 1
#define SKB_DROP 0
#define SOCK_ALLOW 1
#define SOCK_DENY 0

#define AF_INET		2
#define AF_INET6	10
#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define SOCK_STREAM	1
#define SOCK_DGRAM	2
#define IPPROTO_ICMPV6_	58
#define IP_OFFSET_MASK	0x1fff
#define CLOCK_MONOTONIC	1

/* Denials of the same (direction, protocol, address, port) are folded over this window. */
#define AGG_WINDOW_NS	(1000ULL * 1000 * 1000)
#define AGG_RETRY_NS	(1000ULL * 1000)
/* ENOENT, EBUSY (no errno.h here) */
#define AGG_ENOENT	2
#define AGG_EBUSY	16
/* How long a datagram sent lets the answers in. */
#define FLOW_TIMEOUT_NS	(120ULL * 1000 * 1000 * 1000)

/* --- policy maps (filled by src/core/netpolicy.c) ---------------------------------- */

_Static_assert(sizeof(struct net_addr_key) == sizeof(struct net_port_key),
	       "address and port entries share one trie");

/* Every policy's entries, keyed by policy id first (see net.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, NET_TRIE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct net_addr_key);
	__type(value, struct net_addr_val);
} ocibpf_net_policy SEC(".maps");

/* Which policies are in the trie (user space only). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NET_OUTER_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct net_registry);
} ocibpf_net_registry SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NET_OUTER_MAX);
	__type(key, __u64);
	__type(value, struct net_meta);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* created in µs, not ms */
} ocibpf_net_meta SEC(".maps");

/* --- kernel-only state ----------------------------------------------------------- */

/*
 * Per socket: what egress policy said about its connection, and whose policy it was. Set
 * by connect4/6 (the connection was checked), by the packet check (sockets from before
 * the attach), and on listeners by an accepted SYN; BPF_F_CLONE hands it to the accepted
 * sockets.
 *
 * connect4/6 decide on the policy of the calling process's container, which is not the
 * socket's when the socket was passed to another container (SCM_RIGHTS): the packet
 * programs, which run for the socket's cgroup, take the verdict only from the socket's
 * own container (sk_vouched), so such a socket is held to both policies.
 */
enum { SKE_UNKNOWN = 0, SKE_ALLOWED = 1, SKE_DENIED = 2 };
struct sk_net {
	__u8 egress;
	__u8 pad[7];
	__u64 cgid;	/* container_cgid of the container whose policy said so */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct sk_net);
} ocibpf_net_sk SEC(".maps");

/* Did c's policy allow the socket's connection? (c: the container of the socket's cgroup) */
static __always_inline bool sk_vouched(const struct sk_net *sn, const struct container_info *c)
{
	return sn && sn->egress == SKE_ALLOWED && sn->cgid == c->container_cgid;
}

static __always_inline void sk_vouch(struct sk_net *sn, __u8 egress, const struct container_info *c)
{
	if (sn->egress != egress || sn->cgid != c->container_cgid) {
		sn->egress = egress;
		sn->cgid = c->container_cgid;
	}
}

/*
 * Datagrams a socket exchanged (UDP, ICMP), so that the answers pass: what a client sent
 * lets the replies in, what a server received lets its replies out. An LRU map is always
 * preallocated, and creating it is most of what `ocibpf load` spends on maps (65,536
 * entries: ~20 ms): 16,384 conversations seen in the last FLOW_TIMEOUT_NS, host-wide, the
 * least recently used evicted first.
 */
#define NET_FLOWS_MAX	16384
struct flow_key {
	__u64 cookie;		/* socket cookie */
	__u8 addr[16];		/* remote */
	__u16 port;		/* remote, host order; 0 for ICMP */
	__u8 family;
	__u8 slot;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NET_FLOWS_MAX);
	__type(key, struct flow_key);
	__type(value, __u64);	/* last sent, bpf_ktime_get_ns() */
} ocibpf_net_flows SEC(".maps");

/*
 * The same, kept by each socket for itself: the last SK_FLOWS remote ends it began to
 * exchange datagrams with (a new one takes the entry made longest ago).
 * ocibpf_net_flows is shared by every container on the host, and one of them can fill it
 * (a datagram to each of 16,384 addresses) and push out the entry of another's socket
 * that waits for its answer; what a socket keeps itself only its own datagrams replace.
 * The shared map still answers for a socket that talks to more ends at a time (a
 * server). 264 bytes, made at a socket's first datagram that needs it.
 */
#define SK_FLOWS	8
struct sk_flow {
	__u64 addr[2];		/* remote */
	__u16 port;		/* as in struct flow_key */
	__u8 family;
	__u8 slot;
	__u32 pad;
	__u64 t;		/* last sent, bpf_ktime_get_ns(); 0: free */
};
struct sk_flows {
	struct sk_flow f[SK_FLOWS];
	__u32 next;		/* the entry a new remote end takes (mod SK_FLOWS): the oldest made */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sk_flows);
} ocibpf_net_skflows SEC(".maps");

/*
 * Recent denials, to fold repeats into one event: per (container, direction, protocol,
 * address, port), the first denials of a window are reported one by one (up to a burst:
 * many for the socket hooks, where each is a process's syscall with its pid; one for
 * dropped packets), later ones are counted, and a timer reports that count at the end
 * of the window. The counters in ocibpf_stats stay exact whatever happens here.
 *
 * An entry lives one window: its timer, started with it, reports what was folded and
 * deletes it. A plain hash, not preallocated: an LRU map is (creating 4,096 entries took
 * ~2 ms of `ocibpf load`, 16,384 ~6 ms), and entries go with their window anyway. 4,096
 * keys denied within one window are enough to fold a flood; beyond that a new key is not
 * folded until one goes (more events, same counters).
 */
#define NET_AGG_MAX	4096
struct agg_val {
	struct bpf_timer timer;
	__u64 window_start;
	__u64 in_window;	/* reported one by one in this window */
	__u64 suppressed;	/* folded, for the timer to report */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NET_AGG_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct net_agg_key);
	__type(value, struct agg_val);
	/* pinned (src/core/bpfset-load.c): timers only run in maps that user space holds
	 * (else bpf_timer_init EPERM) */
} ocibpf_net_agg SEC(".maps");

/* --- what is being decided ------------------------------------------------------- */

struct query {
	__u8 dir;		/* NET_EGRESS / NET_INGRESS */
	__u8 family;		/* NF_INET / NF_INET6 */
	__u8 slot;		/* NP_* */
	__u8 proto;		/* IPPROTO_* (for the event) */
	__u16 port;		/* egress: remote port; ingress: local port; host order */
	__u16 rport;		/* remote port (ingress: source port), host order */
	__u8 addr[16];		/* remote address */
};

static __always_inline __u8 slot_of(__u32 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_MPTCP:
		return NP_TCP;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		return NP_UDP;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6_:
		return NP_ICMP;
	default:
		return NP_OTHER;
	}
}

static __always_inline __u8 event_proto(__u32 proto)
{
	return proto == IPPROTO_MPTCP ? IPPROTO_TCP : (__u8)proto;
}

/* --- policy lookup ----------------------------------------------------------------- */

static __always_inline struct net_meta *meta_of(const struct container_info *c)
{
	return bpf_map_lookup_elem(&ocibpf_net_meta, &c->container_cgid);
}

static __always_inline bool active(const struct net_meta *m, __u8 dir)
{
	return m->flags[dir & 1] & NM_ACTIVE;
}

/* NV_ALLOW or NV_DENY for q under the rules of the container's policy. Anything missing denies. */
static __always_inline int policy_lookup(const struct net_meta *m, const struct query *q)
{
	struct net_addr_key k = {};
	k.prefixlen = NET_ADDR_KEY_FIXED_BITS + (q->family == NF_INET ? 32 : 128);
	k.policy = m->policy;
	k.dir = q->dir;
	k.family = q->family;
	__builtin_memcpy(k.addr, q->addr, sizeof(k.addr));
	struct net_addr_val *v = bpf_map_lookup_elem(&ocibpf_net_policy, &k);
	if (!v)
		return NV_DENY;	/* every family of a policy has a /0 entry */
	__u8 slot = q->slot & (NP__COUNT - 1);
	__u8 verdict = v->v[slot];
	if (verdict != NV_PORTS)
		return verdict == NV_ALLOW ? NV_ALLOW : NV_DENY;

	struct net_port_key pk = {
		.prefixlen = NET_PORT_KEY_FIXED_BITS + 16,
		.policy = m->policy,
		.dir = q->dir,
		.family = NF_PORT,
		.proto = slot,
		.cls = v->cls,
		.port = bpf_htons(q->port),
	};
	struct net_addr_val *pv = bpf_map_lookup_elem(&ocibpf_net_policy, &pk);
	return pv && pv->v[0] == NV_ALLOW ? NV_ALLOW : NV_DENY;
}

/* The verdict, with the container's summary (NULL: no policy loaded, which denies). */
__noinline int net_decide(const struct net_meta *m, const struct query *q)
{
	if (!m || !q)
		return NV_DENY;
	if (!active(m, q->dir))
		return NV_ALLOW;
	return policy_lookup(m, q);
}

/* (A global function: the verifier checks it once, not at each call site.) */
static __always_inline int decide(const struct container_info *c, const struct net_meta *m,
				  const struct query *q)
{
	if (!m)
		return NV_DENY;	/* (here too: callers rely on m after an allow) */
	return net_decide(m, q);
}

/* --- denials: counters and events ---------------------------------------------------- */

static __always_inline void emit_net(const struct container_info *c, const struct net_agg_key *k,
				     __u32 count, bool in_task)
{
	struct ev_net *e = event_reserve(c, EV_NET, sizeof(*e));
	if (!e)
		return;
	e->count = count;
	e->direction = k->dir;
	e->action = NET_DENY;
	e->protocol = k->proto;
	e->family = k->family == NF_INET ? AF_INET : AF_INET6;
	e->port = k->port;
	e->pad = 0;
	__builtin_memcpy(e->addr, k->addr, sizeof(e->addr));
	if (in_task) {
		e->pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	} else {
		e->pid = 0;
		__builtin_memset(e->comm, 0, sizeof(e->comm));
	}
	bpf_ringbuf_submit(e, 0);
}

/* End of an entry's window: report how many denials it folded, and delete it (a timer's
 * callback may delete its own entry). */
static int agg_flush(void *map, struct net_agg_key *k, struct agg_val *v)
{
	__u64 n = v->suppressed;
	if (n) {
		__sync_fetch_and_add(&v->suppressed, -n);
		/* Nothing after the container's stop record: quiesced by its poststop, or gone. */
		struct container_info *c = container_of_cgroup(k->cgid);
		if (c && !(c->flags & CF_QUIESCED))
			emit_net(c, k, (__u32)n, false);
	}
	/* A delete that fails (a bucket lock not taken: since 6.15 a hash map's lock gives
	 * up with -EDEADLK or -ETIMEDOUT rather than spin, e.g. behind a preempted vCPU) is
	 * tried again in a millisecond, or the entry would stay for good. Gone already (the
	 * container's entries removed): nothing to do. */
	long r = bpf_map_delete_elem(&ocibpf_net_agg, k);
	if (r != 0 && r != -AGG_ENOENT)
		bpf_timer_start(&v->timer, AGG_RETRY_NS, 0);
	return 0;
}

#define AGG_BURST_SOCK	10
#define AGG_BURST_SKB	1

static __always_inline void report_deny(const struct container_info *c, const struct query *q,
					bool in_task)
{
	struct container_stats *s = stats_of(c);
	if (s) {
		if (q->dir == NET_EGRESS)
			s->egress_denied++;
		else
			s->ingress_denied++;
	}

	struct net_agg_key ak = {};
	ak.cgid = c->container_cgid;
	__builtin_memcpy(ak.addr, q->addr, sizeof(ak.addr));
	ak.port = q->port;
	ak.dir = q->dir;
	ak.proto = q->proto;
	ak.family = q->family;
	__u64 now = bpf_ktime_get_ns();
	struct agg_val *av = bpf_map_lookup_elem(&ocibpf_net_agg, &ak);
	if (!av) {
		struct agg_val nv = { .window_start = now };
		bpf_map_update_elem(&ocibpf_net_agg, &ak, &nv, BPF_NOEXIST);
		av = bpf_map_lookup_elem(&ocibpf_net_agg, &ak);
		if (!av) {
			emit_net(c, &ak, 1, in_task);
			return;
		}
		/* Its timer ends the window, where the entry goes. -EBUSY: a racing CPU made
		 * the timer first, and arms it. */
		long r = bpf_timer_init(&av->timer, &ocibpf_net_agg, CLOCK_MONOTONIC);
		bool armed = r == 0 && bpf_timer_set_callback(&av->timer, agg_flush) == 0 &&
			     bpf_timer_start(&av->timer, AGG_WINDOW_NS, 0) == 0;
		if (!armed && r != -AGG_EBUSY) {
			/*
			 * No timer (bpf_timer_init allocates atomically: -ENOMEM was seen here,
			 * a run of consecutive keys under load), so nothing would ever end the
			 * window and the entry would stay for good. The key is not folded: the
			 * entry goes now, and this denial (with any a racing CPU folded into the
			 * entry meanwhile) is reported by itself.
			 */
			bpf_map_delete_elem(&ocibpf_net_agg, &ak);
			__u64 n = av->suppressed;
			if (n)
				__sync_fetch_and_add(&av->suppressed, -n);
			emit_net(c, &ak, (__u32)(n + 1), in_task);
			return;
		}
	}
	if (now - av->window_start >= AGG_WINDOW_NS) {
		/* Its timer is late */
		av->window_start = now;
		av->in_window = 0;
	}
	if (av->in_window < (in_task ? AGG_BURST_SOCK : AGG_BURST_SKB)) {
		av->in_window++;
		emit_net(c, &ak, 1, in_task);
		return;
	}
	__sync_fetch_and_add(&av->suppressed, 1);
}

/*
 * report_deny for the packet programs, as a global function: the verifier checks it once
 * instead of at each of its call sites in skb_egress and skb_ingress.
 */
__noinline int net_report_deny_skb(const struct container_info *c, const struct query *q)
{
	if (c && q)
		report_deny(c, q, false);
	return 0;
}

/* --- flows: answers to what a socket exchanged -------------------------------------- */

static __always_inline void flow_key_of(struct flow_key *fk, __u64 cookie, const struct query *q,
					__u16 rport)
{
	fk->cookie = cookie;
	__builtin_memcpy(fk->addr, q->addr, sizeof(fk->addr));
	fk->port = rport;
	fk->family = q->family;
	fk->slot = q->slot;
	fk->pad = 0;
}

/*
 * The index in s of the socket's own entry for fk's remote end, or -1. A global function
 * with one branch out of its loop: the verifier walks it once per program and pass by
 * pass (inlined into the six programs that keep or look up flows, with a choice of the
 * entry to replace inside, it made their load ~25 ms longer).
 */
__noinline int sk_flow_find(const struct sk_flows *s, const struct flow_key *fk)
{
	if (!s || !fk)
		return -1;
	__u64 a[2];
	__builtin_memcpy(a, fk->addr, sizeof(a));
	for (int i = 0; i < SK_FLOWS; i++) {
		const struct sk_flow *f = &s->f[i];
		if (f->t && f->addr[0] == a[0] && f->addr[1] == a[1] && f->port == fk->port &&
		    f->family == fk->family && f->slot == fk->slot)
			return i;
	}
	return -1;
}

/*
 * The socket exchanged a datagram with q's remote end (which q->rport names). Two
 * threads sending on one socket at once may mix two of its entries: an end made of
 * two it exchanged with, never one of another socket's.
 */
static __always_inline void flow_record(struct bpf_sock *sk, __u64 cookie, const struct query *q)
{
	struct flow_key fk;
	flow_key_of(&fk, cookie, q, q->slot == NP_ICMP ? 0 : q->rport);
	__u64 now = bpf_ktime_get_ns();
	struct sk_flows *s = bpf_sk_storage_get(&ocibpf_net_skflows, sk, 0,
						BPF_SK_STORAGE_GET_F_CREATE);
	int i = s ? sk_flow_find(s, &fk) : -1;
	if (s && i < 0) {
		/* A new end takes the entry made longest ago. */
		struct sk_flow *f = &s->f[s->next++ & (SK_FLOWS - 1)];
		__builtin_memcpy(f->addr, fk.addr, sizeof(f->addr));
		f->port = fk.port;
		f->family = fk.family;
		f->slot = fk.slot;
		f->t = now;
	} else if (s && now - s->f[i & (SK_FLOWS - 1)].t > FLOW_TIMEOUT_NS / 8) {
		s->f[i & (SK_FLOWS - 1)].t = now;
	}
	__u64 *t = bpf_map_lookup_elem(&ocibpf_net_flows, &fk);
	if (t) {
		if (now - *t > FLOW_TIMEOUT_NS / 8)	/* refresh, without a write per datagram */
			*t = now;
		return;
	}
	bpf_map_update_elem(&ocibpf_net_flows, &fk, &now, BPF_ANY);
}

/* Is q an answer to a datagram the socket exchanged with the same remote end? */
static __always_inline bool flow_seen(struct bpf_sock *sk, __u64 cookie, const struct query *q)
{
	struct flow_key fk;
	flow_key_of(&fk, cookie, q, q->slot == NP_ICMP ? 0 : q->rport);
	struct sk_flows *s = bpf_sk_storage_get(&ocibpf_net_skflows, sk, 0, 0);
	int i = s ? sk_flow_find(s, &fk) : -1;
	if (s && i >= 0 && bpf_ktime_get_ns() - s->f[i & (SK_FLOWS - 1)].t < FLOW_TIMEOUT_NS)
		return true;
	__u64 *t = bpf_map_lookup_elem(&ocibpf_net_flows, &fk);
	return t && bpf_ktime_get_ns() - *t < FLOW_TIMEOUT_NS;
}

/* --- socket hooks ------------------------------------------------------------------ */

static __always_inline void set_addr4(struct query *q, __u32 ip4)
{
	__builtin_memset(q->addr, 0, sizeof(q->addr));
	__builtin_memcpy(q->addr, &ip4, 4);
	q->family = NF_INET;
}

/*
 * A destination from a sockaddr. The unspecified address means this host (the kernel
 * routes it to loopback): decide it as loopback, and don't vouch for the connection
 * (*exact = false), so the packet check looks at where it really goes. IPv4-mapped IPv6
 * addresses are IPv4.
 */
static __always_inline void dest4(struct query *q, __u32 ip4, bool *exact)
{
	*exact = ip4 != 0;
	set_addr4(q, ip4 ? ip4 : bpf_htonl(0x7f000001));
}

static __always_inline void dest6(struct query *q, struct bpf_sock_addr *ctx, bool *exact)
{
	__u32 a0 = ctx->user_ip6[0], a1 = ctx->user_ip6[1];
	__u32 a2 = ctx->user_ip6[2], a3 = ctx->user_ip6[3];
	if (a0 == 0 && a1 == 0 && a2 == bpf_htonl(0xffff)) {
		dest4(q, a3, exact);
		return;
	}
	*exact = a0 | a1 | a2 | a3;
	if (!*exact)
		a3 = bpf_htonl(1);	/* :: -> ::1 */
	__u32 a[4] = { a0, a1, a2, a3 };
	__builtin_memcpy(q->addr, a, sizeof(a));
	q->family = NF_INET6;
}

enum sock_hook { HOOK_CONNECT, HOOK_SENDMSG };

static __always_inline int sock_decide(struct bpf_sock_addr *ctx, bool v6, enum sock_hook hook)
{
	struct container_info *c = current_container();
	if (!c || !(c->flags & CF_NETWORK))
		return SOCK_ALLOW;

	struct query q = {};
	bool exact;
	q.dir = NET_EGRESS;
	/*
	 * sendmsg4 also runs, with ctx->family == AF_INET6, for an IPv6 socket's send to an
	 * IPv4-mapped address: the address is in user_ip4 whatever the family says.
	 */
	if (v6)
		dest6(&q, ctx, &exact);
	else
		dest4(&q, ctx->user_ip4, &exact);
	q.port = bpf_ntohs((__u16)ctx->user_port);
	q.rport = q.port;
	q.proto = event_proto(ctx->protocol);
	q.slot = slot_of(ctx->protocol);

	struct net_meta *m = meta_of(c);
	if (decide(c, m, &q) != NV_ALLOW) {
		/* A UDP server answering a datagram that ingress let in. */
		if (!m || q.slot != NP_UDP || !flow_seen(ctx->sk, bpf_get_socket_cookie(ctx), &q)) {
			report_deny(c, &q, true);
			return SOCK_DENY;
		}
	}
	if (hook == HOOK_CONNECT) {
		/*
		 * The connection is checked: its packets needn't be (skb_egress), nor, for
		 * UDP, what its peer sends back (skb_ingress).
		 */
		if (exact && (active(m, NET_EGRESS) || active(m, NET_INGRESS))) {
			struct sk_net *sn = bpf_sk_storage_get(&ocibpf_net_sk, ctx->sk, 0,
							       BPF_SK_STORAGE_GET_F_CREATE);
			if (sn)
				sk_vouch(sn, SKE_ALLOWED, c);
		}
	} else if (active(m, NET_INGRESS)) {
		flow_record(ctx->sk, bpf_get_socket_cookie(ctx), &q);
	}
	return SOCK_ALLOW;
}

SEC("cgroup/connect4")
int sock_connect4(struct bpf_sock_addr *ctx)
{
	return sock_decide(ctx, false, HOOK_CONNECT);
}

SEC("cgroup/connect6")
int sock_connect6(struct bpf_sock_addr *ctx)
{
	return sock_decide(ctx, true, HOOK_CONNECT);
}

SEC("cgroup/sendmsg4")
int sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_decide(ctx, false, HOOK_SENDMSG);
}

SEC("cgroup/sendmsg6")
int sock_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sock_decide(ctx, true, HOOK_SENDMSG);
}

/* --- packets ------------------------------------------------------------------------- */

#define NEXTHDR_HOP	0
#define NEXTHDR_ROUTING	43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_ESP	50
#define NEXTHDR_AUTH	51
#define NEXTHDR_DEST	60
/* Extension headers walked; a chain longer than this is opaque (see parse_skb). */
#define IPV6_EXT_MAX	8

/* IPv6 extension headers that parse_skb walks through. */
static __always_inline bool ext_walked(__u8 p)
{
	return p == NEXTHDR_HOP || p == NEXTHDR_ROUTING || p == NEXTHDR_DEST ||
	       p == NEXTHDR_FRAGMENT;
}

/*
 * Headers behind which the transport header can't be read: IPsec (ESP encrypts it, AH
 * is left to the host's IPsec), and the IPv6 extension headers that are not walked
 * (mobility 135, HIP 139, shim6 140, experimental 253 and 254).
 */
static __always_inline bool hdr_opaque(__u8 p)
{
	return p == NEXTHDR_ESP || p == NEXTHDR_AUTH || p == 135 || p == 139 || p == 140 ||
	       p == 253 || p == 254;
}

/*
 * Parse the IP and transport headers (cgroup_skb data starts at the network header) into
 * q. True when the packet's transport header was reached (or it has none to reach: ICMP
 * and protocols without ports). False when it is opaque: not IPv4 or IPv6, truncated, a
 * fragment other than the first, IPsec, an extension header that is not walked, or an
 * IPv6 chain longer than IPV6_EXT_MAX. q->proto then names the header the walk stopped
 * at (NEXTHDR_FRAGMENT for a later fragment, in IPv4 as well) and q->port is 0; the
 * caller gives it the fail-closed verdict (opaque_allowed).
 */
__noinline int net_parse_skb(struct __sk_buff *skb, __u8 dir, struct query *q)
{
	__u32 off;
	__u8 proto = 0;

	if (!q)
		return false;

	q->dir = dir;
	q->slot = NP_OTHER;
	q->port = q->rport = 0;
	q->proto = 0;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;
		q->family = NF_INET;
		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) < 0)
			return false;
		set_addr4(q, dir == NET_EGRESS ? ip.daddr : ip.saddr);
		q->proto = ip.protocol;
		if (ip.version != 4 || ip.ihl < 5)
			return false;
		if (bpf_ntohs(ip.frag_off) & IP_OFFSET_MASK) {
			q->proto = NEXTHDR_FRAGMENT;
			return false;
		}
		proto = ip.protocol;
		off = ip.ihl * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		q->family = NF_INET6;
		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) < 0)
			return false;
		__builtin_memcpy(q->addr, dir == NET_EGRESS ? &ip6.daddr : &ip6.saddr, 16);
		proto = ip6.nexthdr;
		q->proto = proto;
		if (ip6.version != 6)
			return false;
		off = sizeof(ip6);
		for (int i = 0; i < IPV6_EXT_MAX; i++) {
			__u8 ext[4];
			if (!ext_walked(proto))
				break;
			if (bpf_skb_load_bytes(skb, off, ext, sizeof(ext)) < 0)
				return false;
			if (proto == NEXTHDR_FRAGMENT) {
				/* the first fragment has the transport header; later ones don't */
				if (((__u16)ext[2] << 8 | ext[3]) & 0xfff8)
					return false;
				off += 8;
			} else {
				off += ((__u32)ext[1] + 1) * 8;
			}
			proto = ext[0];
			q->proto = proto;
		}
		if (ext_walked(proto))
			return false;	/* longer than the bound */
	} else {
		return false;
	}
	q->proto = proto;
	if (hdr_opaque(proto))
		return false;
	q->slot = slot_of(proto);
	if (q->slot == NP_TCP || q->slot == NP_UDP) {
		__be16 ports[2];
		if (bpf_skb_load_bytes(skb, off, ports, sizeof(ports)) < 0)
			return false;
		__u16 sport = bpf_ntohs(ports[0]), dport = bpf_ntohs(ports[1]);
		q->port = dport;	/* egress: the remote port; ingress: ours */
		q->rport = dir == NET_EGRESS ? dport : sport;
	}
	return true;
}

static __always_inline bool parse_skb(struct __sk_buff *skb, __u8 dir, struct query *q)
{
	return net_parse_skb(skb, dir, q);
}

/*
 * The fail-closed verdict for an opaque packet (parse_skb false): it could be anything,
 * so only a direction that allows everything lets it through. Denials are counted and
 * reported like any other.
 */
static __always_inline bool opaque_allowed(const struct container_info *c,
					   const struct net_meta *m, struct query *q)
{
	if (m && !active(m, q->dir))
		return true;
	q->slot = NP_OTHER;
	q->port = q->rport = 0;
	net_report_deny_skb(c, q);
	return false;
}

/* Check a packet in full; on a deny, count and report it. */
static __always_inline bool packet_allowed(struct __sk_buff *skb, const struct container_info *c,
					   const struct net_meta *m, struct query *q)
{
	if (decide(c, m, q) == NV_ALLOW)
		return true;
	net_report_deny_skb(c, q);
	return false;
}

static __always_inline bool is_tcp(const struct bpf_sock *sk)
{
	return sk->type == SOCK_STREAM &&
	       (sk->protocol == IPPROTO_TCP || sk->protocol == IPPROTO_MPTCP);
}

static __always_inline bool is_udp(const struct bpf_sock *sk)
{
	return sk->type == SOCK_DGRAM &&
	       (sk->protocol == IPPROTO_UDP || sk->protocol == IPPROTO_UDPLITE);
}

/*
 * Does the packet go to the socket's peer, the address connect4/6 checked? Not always:
 * a routing header (IPV6_RTHDR, which needs no capability) or an IPv4 source route
 * (IP_OPTIONS) sends it to a first hop of the socket's choosing. Such packets are
 * checked on their own destination.
 */
static __always_inline bool to_peer(struct __sk_buff *skb, const struct bpf_sock *sk)
{
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		__u32 d;
		return bpf_skb_load_bytes(skb, 16, &d, sizeof(d)) == 0 && d == sk->dst_ip4;
	}
	__u32 d6[4];
	if (skb->protocol != bpf_htons(ETH_P_IPV6) || bpf_skb_load_bytes(skb, 24, d6, sizeof(d6)) < 0)
		return false;
	return d6[0] == sk->dst_ip6[0] && d6[1] == sk->dst_ip6[1] && d6[2] == sk->dst_ip6[2] &&
	       d6[3] == sk->dst_ip6[3];
}

/*
 * No IPv4 option, no IPv6 extension header: an unconnected socket's datagram goes to
 * the address sendmsg4/6 checked (a source route would send it elsewhere, see to_peer).
 */
static __always_inline bool plain_ip(struct __sk_buff *skb)
{
	__u8 b;
	if (skb->protocol == bpf_htons(ETH_P_IP))
		return bpf_skb_load_bytes(skb, 0, &b, 1) == 0 && b == 0x45;
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return bpf_skb_load_bytes(skb, 6, &b, 1) == 0 &&
		       (b == IPPROTO_UDP || b == IPPROTO_UDPLITE);
	return false;
}

/*
 * An opaque packet of a TCP or UDP socket that the host's IPsec (xfrm) encrypted: the
 * program runs after the transform, and only xfrm can make such a socket's packets ESP
 * or AH (a socket can't craft them). It goes to the outer destination: decided there as
 * "other protocol". Any other opaque packet gets the fail-closed verdict.
 */
static __always_inline bool egress_opaque(const struct container_info *c,
					  const struct net_meta *m, struct query *q, bool sock)
{
	if (!sock || (q->proto != NEXTHDR_ESP && q->proto != NEXTHDR_AUTH))
		return opaque_allowed(c, m, q);
	q->slot = NP_OTHER;
	q->port = q->rport = 0;
	if (decide(c, m, q) == NV_ALLOW)
		return true;
	net_report_deny_skb(c, q);
	return false;
}

/*
 * Is the process in whose context a datagram is sent (a UDP send runs the egress program
 * in the sender's context) in another container than the socket's, or in none? One in a
 * sub-cgroup of the socket's container that cgtrack entered is not (one it did not enter
 * counts as foreign: the datagram is checked in full, on the same policy). Not
 * current_container(): its walk up the ancestors made skb_egress's verification ~20%
 * longer.
 */
static __always_inline bool foreign_sender(struct __sk_buff *skb, const struct container_info *c)
{
	__u64 leaf = bpf_get_current_cgroup_id();
	if (leaf == bpf_skb_cgroup_id(skb))
		return false;
	struct container_info *cc = container_of_cgroup(leaf);
	return !cc || cc->container_cgid != c->container_cgid;
}

static __always_inline bool egress_allowed(struct __sk_buff *skb, const struct container_info *c)
{
	struct bpf_sock *sk = skb->sk;
	struct query q = {};
	if (sk)
		sk = bpf_sk_fullsock(sk);

	if (sk && is_tcp(sk)) {
		/* a listener (SYN-ACKs are sent on its behalf) has no peer to compare with */
		bool peer = sk->state == BPF_TCP_LISTEN || to_peer(skb, sk);
		struct sk_net *sn = bpf_sk_storage_get(&ocibpf_net_sk, sk, 0, 0);
		if (peer && sk_vouched(sn, c))
			return true;	/* fast path: connect4/6 checked it, or accepted */
		struct net_meta *m = meta_of(c);
		if (m && !active(m, NET_EGRESS))
			return true;
		/* A connection the socket hooks did not see (made before the attach). */
		bool ok = parse_skb(skb, NET_EGRESS, &q) ? packet_allowed(skb, c, m, &q)
							 : egress_opaque(c, m, &q, true);
		if (!peer)
			return ok;	/* says nothing about the connection's peer */
		sn = bpf_sk_storage_get(&ocibpf_net_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (sn)
			sk_vouch(sn, ok ? SKE_ALLOWED : SKE_DENIED, c);
		return ok;
	}
	/*
	 * A datagram sent by a process of another container than its socket's, or of none
	 * (the socket was passed on): sendmsg4/6 decided it on the policy of the sender's
	 * container, and made flow entries for it.
	 */
	bool foreign = false;
	if (sk && is_udp(sk)) {
		/* Unconnected sends all went through sendmsg4/6; connected ones through connect. */
		bool connected = sk->state == BPF_TCP_ESTABLISHED;
		if (connected) {
			struct sk_net *sn = bpf_sk_storage_get(&ocibpf_net_sk, sk, 0, 0);
			if (sk_vouched(sn, c) && to_peer(skb, sk))
				return true;
		}
		foreign = foreign_sender(skb, c);
		if (!connected && !foreign && plain_ip(skb))
			return true;
	}

	struct net_meta *m = meta_of(c);
	if (m && !active(m, NET_EGRESS) && !active(m, NET_INGRESS))
		return true;
	if (!parse_skb(skb, NET_EGRESS, &q))
		return egress_opaque(c, m, &q, sk && is_udp(sk));
	/* No full socket: TCP the kernel sends for a connection (SYN-ACK, TIME_WAIT). */
	if (!sk && q.slot == NP_TCP)
		return true;
	if (decide(c, m, &q) != NV_ALLOW) {
		/* (not on a flow entry that a foreign sender's sendmsg4/6 made) */
		if (!sk || (q.slot != NP_UDP && q.slot != NP_ICMP) || foreign ||
		    !flow_seen(sk, bpf_get_socket_cookie(skb), &q)) {
			net_report_deny_skb(c, &q);
			return false;
		}
	}
	/* ICMP echo and the like from ping/raw sockets: let the answers in. */
	if (sk && m && active(m, NET_INGRESS) && (q.slot == NP_ICMP || q.slot == NP_UDP))
		flow_record(sk, bpf_get_socket_cookie(skb), &q);
	return true;
}

static __always_inline bool ingress_allowed(struct __sk_buff *skb, const struct container_info *c)
{
	struct bpf_sock *sk = skb->sk;
	struct query q = {};
	if (sk)
		sk = bpf_sk_fullsock(sk);

	if (sk && is_tcp(sk)) {
		/*
		 * Only new connections are for ingress policy: the SYN (and the ACK that
		 * completes the handshake) reach the listener. Established sockets receive from
		 * their peer only, on a connection that was allowed when it was made.
		 */
		if (sk->state != BPF_TCP_LISTEN)
			return true;
		struct net_meta *m = meta_of(c);
		if (m && !active(m, NET_INGRESS) && !active(m, NET_EGRESS))
			return true;
		if (!parse_skb(skb, NET_INGRESS, &q))
			return opaque_allowed(c, m, &q);
		if (!packet_allowed(skb, c, m, &q))
			return false;
		/* The accepted socket inherits this (BPF_F_CLONE): its replies are allowed. */
		if (m && active(m, NET_EGRESS)) {
			struct sk_net *sn = bpf_sk_storage_get(&ocibpf_net_sk, sk, 0,
							       BPF_SK_STORAGE_GET_F_CREATE);
			if (sn)
				sk_vouch(sn, SKE_ALLOWED, c);
		}
		return true;
	}
	if (sk && is_udp(sk) && sk->state == BPF_TCP_ESTABLISHED) {
		/* A connected socket receives from its peer only, which egress allowed. */
		struct sk_net *sn = bpf_sk_storage_get(&ocibpf_net_sk, sk, 0, 0);
		if (sk_vouched(sn, c))
			return true;
	}

	struct net_meta *m = meta_of(c);
	if (m && !active(m, NET_INGRESS) && !active(m, NET_EGRESS))
		return true;
	if (!parse_skb(skb, NET_INGRESS, &q))
		return opaque_allowed(c, m, &q);
	if (!sk && q.slot == NP_TCP)
		return true;
	bool datagram = sk && (q.slot == NP_UDP || q.slot == NP_ICMP);
	if (decide(c, m, &q) == NV_ALLOW) {
		/* Let the socket answer it, whatever egress policy says. */
		if (datagram && m && active(m, NET_EGRESS))
			flow_record(sk, bpf_get_socket_cookie(skb), &q);
		return true;
	}
	/* An answer to a datagram the socket sent? */
	if (datagram && flow_seen(sk, bpf_get_socket_cookie(skb), &q))
		return true;
	net_report_deny_skb(c, &q);
	return false;
}

/* --- cgroup_skb programs ------------------------------------------------------------- */

static __always_inline void count_skb(const struct container_info *c, struct __sk_buff *skb,
				      bool ingress)
{
	struct container_stats *s = stats_of(c);
	if (!s)
		return;
	if (ingress) {
		s->rx_bytes += skb->len;
		s->rx_packets++;
	} else {
		s->tx_bytes += skb->len;
		s->tx_packets++;
	}
}

/* Both packet programs: the container's checks, then the count. */
static __always_inline int skb_verdict(struct __sk_buff *skb, bool ingress)
{
	struct container_info *c = skb_container(skb);
	if (!c)
		return SKB_PASS;
	if ((c->flags & CF_NETWORK) &&
	    !(ingress ? ingress_allowed(skb, c) : egress_allowed(skb, c)))
		return SKB_DROP;
	count_skb(c, skb, ingress);
	return SKB_PASS;
}

SEC("cgroup_skb/ingress")
int skb_ingress(struct __sk_buff *skb)
{
	return skb_verdict(skb, true);
}

SEC("cgroup_skb/egress")
int skb_egress(struct __sk_buff *skb)
{
	return skb_verdict(skb, false);
}
