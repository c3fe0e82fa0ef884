/* SPDX-License-Identifier: Apache-2.0 */
/*
 * escape: what a process inside a container with CAP_SYS_ADMIN may try against the
 * cgroup programs ocibpf attached to its cgroup (security.bats). Built static, run in
 * the busybox container. Raw bpf(2), no libbpf.
 *
 *   escape CGROUP-DIR [SUB-CGROUP-DIR]
 *
 * For the cgroup (and the sub-cgroup): BPF_PROG_QUERY what is attached and in force;
 * BPF_PROG_DETACH each program found, and with no program; attach an allow-all
 * program over them (BPF_F_ALLOW_OVERRIDE, BPF_F_ALLOW_MULTI, BPF_F_REPLACE); then find
 * the bpf_links on the cgroup (BPF_LINK_GET_NEXT_ID) and BPF_LINK_UPDATE them to the
 * allow-all program and BPF_LINK_DETACH them. One line per attempt:
 *
 *   <what>: ok | <errno name>
 *
 * Whatever succeeds is reported; the test then checks that the policy still holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const struct {
	const char *name;
	enum bpf_attach_type type;
	enum bpf_prog_type prog_type;
} types[] = {
	{ "ingress", BPF_CGROUP_INET_INGRESS, BPF_PROG_TYPE_CGROUP_SKB },
	{ "egress", BPF_CGROUP_INET_EGRESS, BPF_PROG_TYPE_CGROUP_SKB },
	{ "connect4", BPF_CGROUP_INET4_CONNECT, BPF_PROG_TYPE_CGROUP_SOCK_ADDR },
	{ "connect6", BPF_CGROUP_INET6_CONNECT, BPF_PROG_TYPE_CGROUP_SOCK_ADDR },
	{ "sendmsg4", BPF_CGROUP_UDP4_SENDMSG, BPF_PROG_TYPE_CGROUP_SOCK_ADDR },
	{ "sendmsg6", BPF_CGROUP_UDP6_SENDMSG, BPF_PROG_TYPE_CGROUP_SOCK_ADDR },
};

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENOTSUP: return "ENOTSUP";
	case EBADF: return "EBADF";
	case ENOLINK: return "ENOLINK";
	default: return strerror(e);
	}
}

static int successes;

static void report(const char *what, const char *type, long r)
{
	if (r >= 0)
		successes++;
	printf("%s %s: %s\n", what, type, r >= 0 ? "ok" : errname(errno));
	fflush(stdout);
}

/* An allow-all program: r0 = 1; exit. */
static int load_allow(enum bpf_prog_type prog_type, enum bpf_attach_type type)
{
	static const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = prog_type;
	a.expected_attach_type = type;
	a.insns = (uintptr_t)insns;
	a.insn_cnt = 2;
	a.license = (uintptr_t)"GPL";
	return (int)sys_bpf(BPF_PROG_LOAD, &a);
}

static uint32_t query(int cgfd, enum bpf_attach_type type, uint32_t flags, uint32_t *ids, uint32_t max)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.query.target_fd = cgfd;
	a.query.attach_type = type;
	a.query.query_flags = flags;
	a.query.prog_ids = (uintptr_t)ids;
	a.query.prog_cnt = max;
	if (sys_bpf(BPF_PROG_QUERY, &a) < 0)
		return 0;
	return a.query.prog_cnt;
}

static void attack_cgroup(const char *dir)
{
	int cgfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (cgfd < 0) {
		printf("open %s: %s\n", dir, errname(errno));
		return;
	}
	struct stat st;
	fstat(cgfd, &st);
	printf("cgroup %s id %llu\n", dir, (unsigned long long)st.st_ino);
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		uint32_t ids[64];
		uint32_t n = query(cgfd, types[t].type, 0, ids, 64);
		uint32_t ne = query(cgfd, types[t].type, BPF_F_QUERY_EFFECTIVE, ids + 32, 32);
		printf("query %s: attached %u, in force %u\n", types[t].name, n, ne);
		for (uint32_t i = 0; i < n && i < 32; i++) {
			union bpf_attr a;
			memset(&a, 0, sizeof(a));
			a.prog_id = ids[i];
			int pfd = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
			memset(&a, 0, sizeof(a));
			a.target_fd = cgfd;
			a.attach_bpf_fd = pfd < 0 ? 0 : pfd;
			a.attach_type = types[t].type;
			report("prog_detach", types[t].name, sys_bpf(BPF_PROG_DETACH, &a));
			if (pfd >= 0)
				close(pfd);
		}
		union bpf_attr a;
		memset(&a, 0, sizeof(a));
		a.target_fd = cgfd;
		a.attach_type = types[t].type;
		report("prog_detach_any", types[t].name, sys_bpf(BPF_PROG_DETACH, &a));

		int allow = load_allow(types[t].prog_type, types[t].type);
		if (allow < 0) {
			printf("load allow-all %s: %s\n", types[t].name, errname(errno));
			continue;
		}
		static const struct { const char *what; uint32_t flags; } modes[] = {
			{ "attach_override", BPF_F_ALLOW_OVERRIDE },
			{ "attach_exclusive", 0 },
			{ "attach_multi", BPF_F_ALLOW_MULTI },
		};
		for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
			memset(&a, 0, sizeof(a));
			a.target_fd = cgfd;
			a.attach_bpf_fd = allow;
			a.attach_type = types[t].type;
			a.attach_flags = modes[m].flags;
			report(modes[m].what, types[t].name, sys_bpf(BPF_PROG_ATTACH, &a));
		}
		/* Replace one of the programs in force (BPF_F_REPLACE). */
		for (uint32_t i = 0; i < n && i < 32; i++) {
			union bpf_attr g;
			memset(&g, 0, sizeof(g));
			g.prog_id = ids[i];
			int old = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &g);
			memset(&a, 0, sizeof(a));
			a.target_fd = cgfd;
			a.attach_bpf_fd = allow;
			a.attach_type = types[t].type;
			a.attach_flags = BPF_F_ALLOW_MULTI | BPF_F_REPLACE;
			a.replace_bpf_fd = old < 0 ? 0 : old;
			report("attach_replace", types[t].name, sys_bpf(BPF_PROG_ATTACH, &a));
			if (old >= 0)
				close(old);
		}
		/* bpf_links on this cgroup: update to allow-all, detach. */
		uint32_t id = 0;
		for (;;) {
			memset(&a, 0, sizeof(a));
			a.start_id = id;
			if (sys_bpf(BPF_LINK_GET_NEXT_ID, &a) < 0)
				break;
			id = a.next_id;
			memset(&a, 0, sizeof(a));
			a.link_id = id;
			int lfd = (int)sys_bpf(BPF_LINK_GET_FD_BY_ID, &a);
			if (lfd < 0)
				continue;
			struct bpf_link_info info;
			memset(&info, 0, sizeof(info));
			memset(&a, 0, sizeof(a));
			a.info.bpf_fd = lfd;
			a.info.info = (uintptr_t)&info;
			a.info.info_len = sizeof(info);
			if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) == 0 && info.type == BPF_LINK_TYPE_CGROUP &&
			    info.cgroup.cgroup_id == st.st_ino && info.cgroup.attach_type == types[t].type) {
				memset(&a, 0, sizeof(a));
				a.link_update.link_fd = lfd;
				a.link_update.new_prog_fd = allow;
				report("link_update", types[t].name, sys_bpf(BPF_LINK_UPDATE, &a));
				memset(&a, 0, sizeof(a));
				a.link_detach.link_fd = lfd;
				report("link_detach", types[t].name, sys_bpf(BPF_LINK_DETACH, &a));
			}
			close(lfd);
		}
		close(allow);
	}
	close(cgfd);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: escape CGROUP-DIR [SUB-CGROUP-DIR]\n");
		return 2;
	}
	for (int i = 1; i < argc; i++)
		attack_cgroup(argv[i]);
	printf("successes: %d\n", successes);
	return 0;
}
