/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpf-fault TYPE CMD [ARGS...]: run CMD as on a kernel that lacks BPF program type TYPE
 * (a number, enum bpf_prog_type): its BPF_PROG_LOAD of that type fails with EINVAL, as
 * an older kernel answers for a type it does not know. faults.bats runs ocibpf-hook so.
 *
 * A seccomp filter sends CMD's bpf(BPF_PROG_LOAD) calls to us (user notification, 5.5;
 * seccomp-notify.h); we read the program type from its memory and refuse, or let the
 * call go on. Unlike an LD_PRELOAD, this reaches a static binary (the hook is one) and
 * every way of calling.
 * A kernel that lacks a type lacks BPF_PROG_TYPE_SYSCALL (5.14) too, the loader program
 * of the light skeleton (bpfset-load.c), which loads the others inside the kernel, out
 * of our reach: refused as well, so the hook falls back to libbpf, as it does on such a
 * kernel. Children of CMD inherit the filter; once we are gone, their BPF_PROG_LOAD
 * calls fail with ENOSYS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "seccomp-notify.h"

#define BPF_PROG_LOAD_CMD 5
#define BPF_PROG_TYPE_SYSCALL_ 31

/* Answer one notification: refuse the types we play missing, let the others go on. */
static void answer(int listener, long refused)
{
	struct seccomp_notif req;
	if (notify_recv(listener, &req) < 0)
		return;   /* the caller was killed meanwhile */
	uint32_t type = 0;
	bool read_ok = notify_read(&req, req.data.args[1], &type, sizeof(type));
	if (read_ok && ((long)type == refused || type == BPF_PROG_TYPE_SYSCALL_))
		notify_answer(listener, req.id, -EINVAL);
	else
		notify_continue(listener, req.id);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bpf-fault PROG_TYPE CMD [ARGS...]\n");
		return 2;
	}
	long refused = atol(argv[1]);
	int listener = listen_bpf_cmd(BPF_PROG_LOAD_CMD);
	if (listener < 0) {
		perror("bpf-fault: seccomp");
		return 2;
	}
	pid_t pid = notify_spawn(listener, argv + 2);
	if (pid < 0) {
		perror("bpf-fault: fork");
		return 2;
	}
	for (;;) {
		int code, r = notify_wait(listener, pid, &code);
		if (r < 0)
			return code;
		if (r > 0)
			answer(listener, refused);
	}
}
