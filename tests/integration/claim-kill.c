/* SPDX-License-Identifier: Apache-2.0 */
/*
 * claim-kill CMD [ARGS...]: run CMD (ocibpf-hook createRuntime) and SIGKILL it just after
 * its first bpf(BPF_MAP_UPDATE_ELEM) with BPF_NOEXIST has been carried out: the hook's
 * claim of the container's cgroup in the stats map (bpfset_claim), before it writes the
 * container's record. faults.bats uses it to play a hook killed at that point, for real.
 *
 * As bpf-fault.c: a seccomp filter sends CMD's bpf(BPF_MAP_UPDATE_ELEM) and openat calls
 * to us (user notification, seccomp-notify.h). The update goes on; the first openat
 * after it (the hook reads /proc/PID/cgroup next) is where CMD dies. Exit status: 137
 * when CMD was killed there, 3 when it never made the claim, else CMD's own.
 *
 * With CLAIM_HOLD=FILE in the environment, CMD is held there instead of killed: FILE is
 * made, and CMD goes on (the openat carried out) once FILE is removed.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "seccomp-notify.h"

#define BPF_MAP_UPDATE_ELEM_CMD 2
#define BPF_NOEXIST_FLAG 1

static int listen_calls(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_NOTIFY_ARCH, 0, 6),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, BPF_MAP_UPDATE_ELEM_CMD, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	return seccomp_listen(f, sizeof(f) / sizeof(f[0]));
}

/* One notification: a claim arms us, the next openat after it kills the caller. */
static void answer(int listener, bool *claimed, pid_t child)
{
	struct seccomp_notif req;
	if (notify_recv(listener, &req) < 0)
		return;
	if (req.data.nr == __NR_openat) {
		static bool held;
		const char *hold = getenv("CLAIM_HOLD");
		if (held) {
			/* held once: goes on as it likes */
		} else if (*claimed && hold) {
			/* mknod, not open: our own openat calls come to us too (the filter is ours) */
			(void)mknod(hold, S_IFREG | 0600, 0);
			while (access(hold, F_OK) == 0)
				usleep(20000);
			held = true;
		} else if (*claimed) {
			kill(child, SIGKILL);
			return;   /* never answered: it dies in the call */
		}
	} else {
		/* union bpf_attr, BPF_MAP_*_ELEM: map_fd, key, value, then flags at 24 */
		uint64_t flags = 0;
		if (notify_read(&req, req.data.args[1] + 24, &flags, sizeof(flags)) &&
		    flags == BPF_NOEXIST_FLAG)
			*claimed = true;
	}
	notify_continue(listener, req.id);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: claim-kill CMD [ARGS...]\n");
		return 2;
	}
	int listener = listen_calls();
	if (listener < 0) {
		perror("claim-kill: seccomp");
		return 2;
	}
	pid_t pid = notify_spawn(listener, argv + 1);
	if (pid < 0) {
		perror("claim-kill: fork");
		return 2;
	}
	bool claimed = false;
	for (;;) {
		int code, r = notify_wait(listener, pid, &code);
		if (r < 0)
			return claimed || getenv("CLAIM_HOLD") ? code : 3;
		if (r > 0)
			answer(listener, &claimed, pid);
	}
}
