/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the operations ocibpf's network programs are made of cost on this machine, one
 * program per operation (tests/bench/bpf-ops.sh): the floor under any design of them.
 * The maps have the shapes of ocibpf's (bpf/maps.bpf.h, bpf/net.h): a hash keyed by
 * cgroup id, a per-CPU hash of counters, the shared LPM trie, socket storage.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct trie_key {
	__u32 prefixlen;
	__u32 policy;
	__u8 dir, family, pad[2];
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1 << 20);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct trie_key);
	__type(value, __u64);
} ops_trie SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, __u64[2]);
} ops_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, __u64[9]);
} ops_pcpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} ops_sk SEC(".maps");

/* connect4: once per connect() */
SEC("cgroup/connect4") int c_empty(struct bpf_sock_addr *ctx) { return 1; }

SEC("cgroup/connect4") int c_cgroup_id(struct bpf_sock_addr *ctx)
{
	(void)bpf_get_current_cgroup_id();	/* a helper call stays */
	return 1;
}

SEC("cgroup/connect4") int c_hash(struct bpf_sock_addr *ctx)
{
	__u64 id = bpf_get_current_cgroup_id();
	__u64 *v = bpf_map_lookup_elem(&ops_hash, &id);
	if (v)
		v[1]++;
	return 1;
}

SEC("cgroup/connect4") int c_trie(struct bpf_sock_addr *ctx)
{
	struct trie_key k = { .prefixlen = 64 + 32, .policy = 1, .family = 4 };
	__u32 a = ctx->user_ip4;
	__builtin_memcpy(k.addr, &a, 4);
	__u64 *v = bpf_map_lookup_elem(&ops_trie, &k);
	if (v)
		(*v)++;
	return 1;
}

SEC("cgroup/connect4") int c_sk_create(struct bpf_sock_addr *ctx)
{
	__u32 *s = bpf_sk_storage_get(&ops_sk, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (s)
		*s = 1;
	return 1;
}

/* cgroup_skb/egress: once per packet */
SEC("cgroup_skb/egress") int e_empty(struct __sk_buff *skb) { return 1; }

SEC("cgroup_skb/egress") int e_cgroup_id(struct __sk_buff *skb)
{
	(void)bpf_skb_cgroup_id(skb);
	return 1;
}

SEC("cgroup_skb/egress") int e_hash(struct __sk_buff *skb)
{
	__u64 id = bpf_skb_cgroup_id(skb);
	__u64 *v = bpf_map_lookup_elem(&ops_hash, &id);
	if (v)
		v[1]++;
	return 1;
}

SEC("cgroup_skb/egress") int e_hash_pcpu(struct __sk_buff *skb)
{
	__u64 id = bpf_skb_cgroup_id(skb);
	__u64 *v = bpf_map_lookup_elem(&ops_hash, &id);
	if (!v)
		return 1;
	__u64 *s = bpf_map_lookup_elem(&ops_pcpu, &v[0]);
	if (s) {
		s[0] += skb->len;
		s[1]++;
	}
	return 1;
}

SEC("cgroup_skb/egress") int e_sk_get(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	__u32 *s = bpf_sk_storage_get(&ops_sk, sk, 0, 0);
	if (s)
		(*s)++;
	return 1;
}

SEC("cgroup_skb/egress") int e_load_bytes(struct __sk_buff *skb)
{
	__u32 d;
	return bpf_skb_load_bytes(skb, 16, &d, sizeof(d)) == 0 && d ? 1 : 1;
}
