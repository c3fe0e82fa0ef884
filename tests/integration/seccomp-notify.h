/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp-notify.h: what bpf-fault.c, bpf-kill.c and claim-kill.c share. Each installs a
 * seccomp filter that sends some of its child's system calls to it (user notification,
 * 5.5), runs CMD as that child, and answers the calls until the child is gone:
 *
 *	int listener = listen_bpf_cmd(cmd);	(or seccomp_listen(filter, n))
 *	pid_t pid = notify_spawn(listener, argv);
 *	for (;;) {
 *		int code, r = notify_wait(listener, pid, &code);
 *		if (r < 0)
 *			return code;
 *		if (r > 0 && notify_recv(listener, &req) == 0)
 *			notify_answer(listener, req.id, 0 or -ERRNO);
 *	}
 *
 * Static inline, no object to link: the bats files build each tool with one gcc line.
 */
#pragma once

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__x86_64__)
#define SECCOMP_NOTIFY_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_NOTIFY_ARCH AUDIT_ARCH_AARCH64
#else
#error "seccomp-notify.h: add this architecture's AUDIT_ARCH"
#endif

/* Install FILTER (N instructions) on ourselves, inherited by what we fork; returns the
 * listener, or -1 with errno set. */
static inline int seccomp_listen(struct sock_filter *filter, size_t n)
{
	struct sock_fprog prog = { .len = (unsigned short)n, .filter = filter };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			    &prog);
}

/* Send the bpf(CMD, ...) calls to us; every other call goes on unseen. */
static inline int listen_bpf_cmd(unsigned int cmd)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_NOTIFY_ARCH, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_bpf, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, cmd, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	return seccomp_listen(f, sizeof(f) / sizeof(f[0]));
}

/* Fork ARGV[0] with ARGV under the filter (the child does not keep the listener); returns
 * its pid, or -1 with errno set when fork fails. */
static inline pid_t notify_spawn(int listener, char **argv)
{
	pid_t pid = fork();
	if (pid == 0) {
		close(listener);
		execvp(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	return pid;
}

/* Wait up to 50 ms for a call from CHILD: 1 when one is waiting, 0 when none came, -1
 * once CHILD has exited, its exit status (128 + signal when killed) in *ret_code. */
static inline int notify_wait(int listener, pid_t child, int *ret_code)
{
	int status;
	if (waitpid(child, &status, WNOHANG) == child) {
		*ret_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		return -1;
	}
	struct pollfd p = { .fd = listener, .events = POLLIN };
	return poll(&p, 1, 50) > 0 && (p.revents & POLLIN) ? 1 : 0;
}

/* Take the waiting call into *REQ; -1 when it is gone (the caller was killed meanwhile). */
static inline int notify_recv(int listener, struct seccomp_notif *req)
{
	memset(req, 0, sizeof(*req));
	return ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0 ? -1 : 0;
}

/* Answer call ID: ERROR (a negative errno) as its result, or, when 0, let it go on. */
static inline void notify_answer(int listener, __u64 id, int error)
{
	struct seccomp_notif_resp resp;
	memset(&resp, 0, sizeof(resp));
	resp.id = id;
	if (error)
		resp.error = error;
	else
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

static inline void notify_continue(int listener, __u64 id)
{
	notify_answer(listener, id, 0);
}

/* Read LEN bytes at ADDR in the caller of REQ into BUF; false when they cannot be read. */
static inline bool notify_read(const struct seccomp_notif *req, uint64_t addr, void *buf,
			       size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	return process_vm_readv((pid_t)req->pid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}
