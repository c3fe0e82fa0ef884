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
 * notification); the others are not seen.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define BPF_MAP_UPDATE_ELEM_CMD 2
#define BPF_MAP_DELETE_ELEM_CMD 3

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#else
#error "bpf-kill: add this architecture's AUDIT_ARCH"
#endif

static int listen_calls(unsigned int cmd)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, cmd, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			    &prog);
}

int main(int argc, char **argv)
{
	if (argc < 5 || (strcmp(argv[1], "update") != 0 && strcmp(argv[1], "delete") != 0)) {
		fprintf(stderr, "usage: bpf-kill update|delete N MARK CMD [ARGS...]\n");
		return 2;
	}
	long n = atol(argv[2]), seen = 0;
	const char *mark = argv[3];
	int listener = listen_calls(strcmp(argv[1], "update") == 0 ? BPF_MAP_UPDATE_ELEM_CMD
								   : BPF_MAP_DELETE_ELEM_CMD);
	if (listener < 0) {
		perror("bpf-kill: seccomp");
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("bpf-kill: fork");
		return 2;
	}
	if (pid == 0) {
		close(listener);
		execvp(argv[4], argv + 4);
		perror(argv[4]);
		_exit(127);
	}
	bool killed = false;
	for (;;) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			if (!killed)
				return 3;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		struct pollfd p = { .fd = listener, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0 || !(p.revents & POLLIN))
			continue;
		struct seccomp_notif req;
		struct seccomp_notif_resp resp;
		memset(&req, 0, sizeof(req));
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
			continue;
		if (!killed && ++seen == n) {
			/* mknod, not open: no file descriptor to keep */
			(void)mknod(mark, S_IFREG | 0600, 0);
			kill(pid, SIGKILL);
			killed = true;
			continue;	/* never answered: it dies in the call */
		}
		memset(&resp, 0, sizeof(resp));
		resp.id = req.id;
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	}
}
