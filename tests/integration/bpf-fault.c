/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpf-fault TYPE CMD [ARGS...]: run CMD as on a kernel that lacks BPF program type TYPE
 * (a number, enum bpf_prog_type): its BPF_PROG_LOAD of that type fails with EINVAL, as
 * an older kernel answers for a type it does not know. faults.bats runs ocibpf-hook so.
 *
 * A seccomp filter sends CMD's bpf(BPF_PROG_LOAD) calls to us (user notification, 5.5);
 * we read the program type from its memory and refuse, or let the call go on. Unlike an
 * LD_PRELOAD, this reaches a static binary (the hook is one) and every way of calling.
 * A kernel that lacks a type lacks BPF_PROG_TYPE_SYSCALL (5.14) too, the loader program
 * of the light skeleton (bpfset-load.c), which loads the others inside the kernel, out
 * of our reach: refused as well, so the hook falls back to libbpf, as it does on such a
 * kernel. Children of CMD inherit the filter; once we are gone, their BPF_PROG_LOAD
 * calls fail with ENOSYS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define BPF_PROG_LOAD_CMD 5
#define BPF_PROG_TYPE_SYSCALL_ 31

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#else
#error "bpf-fault: add this architecture's AUDIT_ARCH"
#endif

static int listen_bpf_prog_load(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, BPF_PROG_LOAD_CMD, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			    &prog);
}

/* Answer one notification: refuse the types we play missing, let the others go on. */
static void answer(int listener, long refused)
{
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	memset(&req, 0, sizeof(req));
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
		return;   /* the caller was killed meanwhile */
	uint32_t type = 0;
	struct iovec local = { &type, sizeof(type) };
	struct iovec remote = { (void *)(uintptr_t)req.data.args[1], sizeof(type) };
	bool read_ok = process_vm_readv((pid_t)req.pid, &local, 1, &remote, 1, 0) == sizeof(type);
	memset(&resp, 0, sizeof(resp));
	resp.id = req.id;
	if (read_ok && ((long)type == refused || type == BPF_PROG_TYPE_SYSCALL_))
		resp.error = -EINVAL;
	else
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bpf-fault PROG_TYPE CMD [ARGS...]\n");
		return 2;
	}
	long refused = atol(argv[1]);
	int listener = listen_bpf_prog_load();
	if (listener < 0) {
		perror("bpf-fault: seccomp");
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("bpf-fault: fork");
		return 2;
	}
	if (pid == 0) {
		close(listener);
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	for (;;) {
		int status;
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		struct pollfd p = { .fd = listener, .events = POLLIN };
		if (poll(&p, 1, 50) > 0 && (p.revents & POLLIN))
			answer(listener, refused);
	}
}
