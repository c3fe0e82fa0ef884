/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The floor of the network benchmarks (tests/bench/net.sh): programs that do nothing,
 * attached where ocibpf's are. What a container pays for them is what the kernel charges
 * for running a program at these hooks at all, which no policy can go below.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("cgroup_skb/egress") int floor_egress(struct __sk_buff *skb) { return 1; }
SEC("cgroup_skb/ingress") int floor_ingress(struct __sk_buff *skb) { return 1; }
SEC("cgroup/connect4") int floor_connect4(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/connect6") int floor_connect6(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/sendmsg4") int floor_sendmsg4(struct bpf_sock_addr *ctx) { return 1; }
SEC("cgroup/sendmsg6") int floor_sendmsg6(struct bpf_sock_addr *ctx) { return 1; }
