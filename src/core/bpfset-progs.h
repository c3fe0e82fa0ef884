/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_BPFSET_PROGS_H
#define OCIBPF_BPFSET_PROGS_H

#include <stdint.h>
#include <linux/bpf.h>

/* The programs a set attaches per container to its cgroup (and once to the anchor). */
enum set_prog {
	P_SKB_INGRESS,
	P_SKB_EGRESS,
	P_CONNECT4,
	P_CONNECT6,
	P_SENDMSG4,
	P_SENDMSG6,
	P__COUNT,
};

/* The pin name and attach type of program i (enum set_prog). */
const char *bpfset_prog_name(int i);
enum bpf_attach_type bpfset_prog_attach_type(int i);
/* Which programs a container with these CF_* flags gets (bit i: program i). */
uint32_t bpfset_progs_for(uint32_t flags);

#endif
