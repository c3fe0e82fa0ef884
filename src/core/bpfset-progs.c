/* SPDX-License-Identifier: Apache-2.0 */
#include "bpfset-progs.h"
#include "ocibpf.h"

static const struct {
	const char *name;              /* program (function) name = pin name */
	enum bpf_attach_type type;
	uint32_t need;                 /* CF_* flags any of which need it */
} progs[P__COUNT] = {
	[P_SKB_INGRESS] = { "skb_ingress", BPF_CGROUP_INET_INGRESS, CF_TELEMETRY | CF_NETWORK },
	[P_SKB_EGRESS] = { "skb_egress", BPF_CGROUP_INET_EGRESS, CF_TELEMETRY | CF_NETWORK },
	[P_CONNECT4] = { "sock_connect4", BPF_CGROUP_INET4_CONNECT, CF_NETWORK },
	[P_CONNECT6] = { "sock_connect6", BPF_CGROUP_INET6_CONNECT, CF_NETWORK },
	[P_SENDMSG4] = { "sock_sendmsg4", BPF_CGROUP_UDP4_SENDMSG, CF_NETWORK },
	[P_SENDMSG6] = { "sock_sendmsg6", BPF_CGROUP_UDP6_SENDMSG, CF_NETWORK },
};

const char *bpfset_prog_name(int i)
{
	return progs[i].name;
}

enum bpf_attach_type bpfset_prog_attach_type(int i)
{
	return progs[i].type;
}

uint32_t bpfset_progs_for(uint32_t flags)
{
	uint32_t mask = 0;
	for (int i = 0; i < P__COUNT; i++)
		if (progs[i].need & flags)
			mask |= 1U << i;
	return mask;
}
