// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Per-container network programs, attached to each container's cgroup with bpf_link:
 * cgroup_skb ingress/egress count traffic; the socket hooks are where egress policy is
 * enforced with EPERM.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SKB_PASS 1

static __always_inline void count_skb(struct __sk_buff *skb, bool ingress)
{
	struct container_info *c = container_of_cgroup(bpf_skb_cgroup_id(skb));
	if (!c)
		return;
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

SEC("cgroup_skb/ingress")
int skb_ingress(struct __sk_buff *skb)
{
	count_skb(skb, true);
	return SKB_PASS;
}

SEC("cgroup_skb/egress")
int skb_egress(struct __sk_buff *skb)
{
	count_skb(skb, false);
	return SKB_PASS;
}

SEC("cgroup/connect4")
int sock_connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/connect6")
int sock_connect6(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/sendmsg4")
int sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/sendmsg6")
int sock_sendmsg6(struct bpf_sock_addr *ctx)
{
	return 1;
}
