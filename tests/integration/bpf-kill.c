/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpf-kill update|delete N MARK CMD [ARGS...]: run CMD and SIGKILL it in its Nth
 * bpf(BPF_MAP_UPDATE_ELEM) or bpf(BPF_MAP_DELETE_ELEM), before the kernel carries that
 * one out (the N-1 before it are done); MARK is made when it is. network.bats uses it to
 * play a hook killed half way through writing or removing a policy's entries in the
 * trie, for real. Exit status: 137 when CMD was killed there, 3 when it made fewer such
 * calls, else CMD's own.
 *
 * As claim-kill.c: a seccomp filter sends CMD's bpf() calls of that command to us (user
 * notification, seccomp-notify.h); the others are not seen.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "seccomp-notify.h"

#define BPF_MAP_UPDATE_ELEM_CMD 2
#define BPF_MAP_DELETE_ELEM_CMD 3

int main(int argc, char **argv)
{
	if (argc < 5 || (strcmp(argv[1], "update") != 0 && strcmp(argv[1], "delete") != 0)) {
		fprintf(stderr, "usage: bpf-kill update|delete N MARK CMD [ARGS...]\n");
		return 2;
	}
	long n = atol(argv[2]), seen = 0;
	const char *mark = argv[3];
	int listener = listen_bpf_cmd(strcmp(argv[1], "update") == 0 ? BPF_MAP_UPDATE_ELEM_CMD
								     : BPF_MAP_DELETE_ELEM_CMD);
	if (listener < 0) {
		perror("bpf-kill: seccomp");
		return 2;
	}
	pid_t pid = notify_spawn(listener, argv + 4);
	if (pid < 0) {
		perror("bpf-kill: fork");
		return 2;
	}
	bool killed = false;
	for (;;) {
		int code, r = notify_wait(listener, pid, &code);
		if (r < 0)
			return killed ? code : 3;
		struct seccomp_notif req;
		if (r == 0 || notify_recv(listener, &req) < 0)
			continue;
		if (!killed && ++seen == n) {
			/* mknod, not open: no file descriptor to keep */
			(void)mknod(mark, S_IFREG | 0600, 0);
			kill(pid, SIGKILL);
			killed = true;
			continue;	/* never answered: it dies in the call */
		}
		notify_continue(listener, req.id);
	}
}
