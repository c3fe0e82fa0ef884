/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <seccomp.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "bpfset.h"
#include "ocibpf.h"
#include "paths.h"
#include "uring.h"
#include "util.h"

/*
 * IORING_OP_* values are uapi (include/uapi/linux/io_uring.h), written here by number so
 * that this builds with older headers than the kernel it runs on. An operation with no
 * syscall (NOP, POLL_*, TIMEOUT*, ASYNC_CANCEL, FILES_UPDATE, *_BUFFERS, MSG_RING,
 * FIXED_FD_INSTALL, RECV_ZC) stands for none and is not audited.
 */
static const struct {
	const char *op;
	const char *syscall;
} ops[URING_OPS] = {
	[0] = { "NOP", NULL },
	[1] = { "READV", "readv" },
	[2] = { "WRITEV", "writev" },
	[3] = { "FSYNC", "fsync" },
	[4] = { "READ_FIXED", "read" },
	[5] = { "WRITE_FIXED", "write" },
	[6] = { "POLL_ADD", NULL },
	[7] = { "POLL_REMOVE", NULL },
	[8] = { "SYNC_FILE_RANGE", "sync_file_range" },
	[9] = { "SENDMSG", "sendmsg" },
	[10] = { "RECVMSG", "recvmsg" },
	[11] = { "TIMEOUT", NULL },
	[12] = { "TIMEOUT_REMOVE", NULL },
	[13] = { "ACCEPT", "accept4" },
	[14] = { "ASYNC_CANCEL", NULL },
	[15] = { "LINK_TIMEOUT", NULL },
	[16] = { "CONNECT", "connect" },
	[17] = { "FALLOCATE", "fallocate" },
	[18] = { "OPENAT", "openat" },
	[19] = { "CLOSE", "close" },
	[20] = { "FILES_UPDATE", NULL },
	[21] = { "STATX", "statx" },
	[22] = { "READ", "read" },
	[23] = { "WRITE", "write" },
	[24] = { "FADVISE", "fadvise64" },
	[25] = { "MADVISE", "madvise" },
	[26] = { "SEND", "sendto" },
	[27] = { "RECV", "recvfrom" },
	[28] = { "OPENAT2", "openat2" },
	[29] = { "EPOLL_CTL", "epoll_ctl" },
	[30] = { "SPLICE", "splice" },
	[31] = { "PROVIDE_BUFFERS", NULL },
	[32] = { "REMOVE_BUFFERS", NULL },
	[33] = { "TEE", "tee" },
	[34] = { "SHUTDOWN", "shutdown" },
	[35] = { "RENAMEAT", "renameat2" },
	[36] = { "UNLINKAT", "unlinkat" },
	[37] = { "MKDIRAT", "mkdirat" },
	[38] = { "SYMLINKAT", "symlinkat" },
	[39] = { "LINKAT", "linkat" },
	[40] = { "MSG_RING", NULL },
	[41] = { "FSETXATTR", "fsetxattr" },
	[42] = { "SETXATTR", "setxattr" },
	[43] = { "FGETXATTR", "fgetxattr" },
	[44] = { "GETXATTR", "getxattr" },
	[45] = { "SOCKET", "socket" },
	[46] = { "URING_CMD", "ioctl" },
	[47] = { "SEND_ZC", "sendto" },
	[48] = { "SENDMSG_ZC", "sendmsg" },
	[49] = { "READ_MULTISHOT", "read" },
	[50] = { "WAITID", "waitid" },
	[51] = { "FUTEX_WAIT", "futex" },
	[52] = { "FUTEX_WAKE", "futex" },
	[53] = { "FUTEX_WAITV", "futex_waitv" },
	[54] = { "FIXED_FD_INSTALL", NULL },
	[55] = { "FTRUNCATE", "ftruncate" },
	[56] = { "BIND", "bind" },
	[57] = { "LISTEN", "listen" },
	[58] = { "RECV_ZC", NULL },
	[59] = { "EPOLL_WAIT", "epoll_wait" },
	[60] = { "READV_FIXED", "readv" },
	[61] = { "WRITEV_FIXED", "writev" },
	[62] = { "PIPE", "pipe2" },
};

int uring_fill_ops(int fd)
{
	uint32_t keys[URING_OPS];
	int32_t nrs[URING_OPS];
	for (uint32_t op = 0; op < URING_OPS; op++) {
		keys[op] = op;
		nrs[op] = -1;
		if (ops[op].syscall) {
			int n = seccomp_syscall_resolve_name(ops[op].syscall);
			if (n >= 0 && n < MAX_SYSCALLS)
				nrs[op] = n;
		}
	}
	/* one syscall, not URING_OPS of them, at every load */
	return map_update_many(fd, keys, sizeof(keys[0]), nrs, sizeof(nrs[0]), URING_OPS);
}

const char *uring_op_name(unsigned opcode)
{
	return opcode < URING_OPS ? ops[opcode].op : NULL;
}

/*
 * The tracepoint programs, completion first: a request submitted once both are attached
 * finds its result. Attached when the set is loaded and kept while it is pinned (`ocibpf
 * gc --unload` removes them with the set): attaching one patches kernel text on every CPU
 * (1-3 ms each on a small VM), which the first audited container after a load or after a
 * quiet spell paid in its hook when they were attached only while some container audited.
 * Held, they cost the host only on io_uring operations: one hash lookup of the task's
 * cgroup per request submitted and completed (ocibpf(8)).
 */
static const char *const progs[] = { "uring_complete", "uring_submit", "uring_failed" };

bool uring_attached(const char *set_dir)
{
	for (size_t i = 0; i < ARRAY_SIZE(progs); i++) {
		_cleanup_free_ char *pin = path_set_entry(set_dir, "links", progs[i]);
		if (access(pin, F_OK) < 0)
			return false;
	}
	return true;
}

int uring_attach(const char *set_dir)
{
	for (size_t i = 0; i < ARRAY_SIZE(progs); i++) {
		_cleanup_free_ char *pin = path_set_entry(set_dir, "links", progs[i]);
		if (access(pin, F_OK) == 0)
			continue;
		_cleanup_free_ char *prog_pin = path_set_entry(set_dir, "progs", progs[i]);
		_cleanup_close_ int prog = bpf_obj_get(prog_pin);
		if (prog < 0)
			return -errno;
		_cleanup_close_ int link = bpf_raw_tracepoint_open(NULL, prog);
		if (link < 0 || bpf_obj_pin(link, pin) < 0)
			return -errno;
	}
	return 0;
}

/* Once per loaded set (the loader holds the lock on bpffs_dir): which syscall each
 * io_uring opcode stands for, then the tracepoint programs attached. */
static int uring_setup_set(const char *maps_dir)
{
	_cleanup_free_ char *path = path_join(maps_dir, "ocibpf_uring_ops");
	_cleanup_close_ int fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	int r = uring_fill_ops(fd);
	if (r < 0)
		return r;
	_cleanup_free_ char *set_dir = xstrdup(maps_dir);
	char *slash = strrchr(set_dir, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	return uring_attach(set_dir);
}

__attribute__((constructor)) static void uring_register(void)
{
	bpfset_register_setup("io_uring audit", uring_setup_set);
}
