/* SPDX-License-Identifier: Apache-2.0 */
/*
 * claim-kill CMD [ARGS...]: run CMD (ocibpf-hook createRuntime) and SIGKILL it just after
 * its first bpf(BPF_MAP_UPDATE_ELEM) with BPF_NOEXIST has been carried out: the hook's
 * claim of the container's cgroup in the stats map (bpfset_claim), before it writes the
 * container's record. faults.bats uses it to play a hook killed at that point, for real.
 *
 * As bpf-fault.c: a seccomp filter sends CMD's bpf(BPF_MAP_UPDATE_ELEM) and openat calls
 * to us (user notification). The update goes on; the first openat after it (the hook
 * reads /proc/PID/cgroup next) is where CMD dies. Exit status: 137 when CMD was killed
 * there, 3 when it never made the claim, else CMD's own.
 *
 * With CLAIM_HOLD=FILE in the environment, CMD is held there instead of killed: FILE is
 * made, and CMD goes on (the openat carried out) once FILE is removed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#define BPF_MAP_UPDATE_ELEM_CMD 2
#define BPF_NOEXIST_FLAG 1

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#else
#error "claim-kill: add this architecture's AUDIT_ARCH"
#endif

static int listen_calls(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 0, 6),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, BPF_MAP_UPDATE_ELEM_CMD, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			    &prog);
}

/* One notification: a claim arms us, the next openat after it kills the caller. */
static void answer(int listener, bool *claimed, pid_t child)
{
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	memset(&req, 0, sizeof(req));
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
		return;
	memset(&resp, 0, sizeof(resp));
	resp.id = req.id;
	resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
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
		struct iovec local = { &flags, sizeof(flags) };
		struct iovec remote = { (void *)(uintptr_t)(req.data.args[1] + 24), sizeof(flags) };
		if (process_vm_readv((pid_t)req.pid, &local, 1, &remote, 1, 0) == sizeof(flags) &&
		    flags == BPF_NOEXIST_FLAG)
			*claimed = true;
	}
	ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
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
	pid_t pid = fork();
	if (pid < 0) {
		perror("claim-kill: fork");
		return 2;
	}
	if (pid == 0) {
		close(listener);
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	bool claimed = false;
	for (;;) {
		int status;
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			if (!claimed && !getenv("CLAIM_HOLD"))
				return 3;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		struct pollfd p = { .fd = listener, .events = POLLIN };
		if (poll(&p, 1, 50) > 0 && (p.revents & POLLIN))
			answer(listener, &claimed, pid);
	}
}
