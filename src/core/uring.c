/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <seccomp.h>
#include <bpf/bpf.h>

#include "bpfset.h"
#include "ocibpf.h"
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

/* Which syscall each io_uring opcode stands for: filled once per loaded set. */
static int uring_setup_set(const char *maps_dir)
{
	_cleanup_free_ char *path = path_join(maps_dir, "ocibpf_uring_ops");
	_cleanup_close_ int fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	return uring_fill_ops(fd);
}

__attribute__((constructor)) static void uring_register(void)
{
	bpfset_register_setup("io_uring audit", uring_setup_set);
}
