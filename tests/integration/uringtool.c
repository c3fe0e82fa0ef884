/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uringtool: io_uring operations made with raw syscalls (io_uring_setup/io_uring_enter and
 * the mmapped rings; no liburing), for tests/integration/audit-accounting.bats. Built
 * static so that it runs in a busybox container.
 *
 *   uringtool openat PATH          IORING_OP_OPENAT (O_RDONLY)
 *   uringtool openat2 PATH         IORING_OP_OPENAT2 (O_RDONLY)
 *   uringtool openat-bad PATH      IORING_OP_OPENAT with a field the kernel refuses (buf_index)
 *   uringtool connect ADDR PORT    socket() then IORING_OP_CONNECT (IPv4 or IPv6)
 *   uringtool unlinkat PATH        IORING_OP_UNLINKAT
 *   uringtool mkdirat PATH         IORING_OP_MKDIRAT (0755)
 *   uringtool statx PATH           IORING_OP_STATX
 *   uringtool nop                  IORING_OP_NOP (stands for no syscall)
 *
 * Prints "user_data U res R" (R the completion's result, -errno on failure) and exits 0
 * when the operation completed, whatever its result; 1 when io_uring itself failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <linux/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define OP_MKDIRAT 37	/* newer than some headers */

struct ring {
	int fd;
	unsigned *sq_tail, *sq_mask, *sq_array;
	unsigned *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int ring_init(struct ring *r)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	r->fd = syscall(__NR_io_uring_setup, 4, &p);
	if (r->fd < 0)
		return -1;
	size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
			IORING_OFF_SQ_RING);
	char *cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
			IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || r->sqes == MAP_FAILED)
		return -1;
	r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(sq + p.sq_off.array);
	r->cq_head = (unsigned *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* Submit one sqe and wait for its completion: its result in *res. */
static int ring_run(struct ring *r, const struct io_uring_sqe *in, int *res)
{
	unsigned tail = *r->sq_tail, idx = tail & *r->sq_mask;
	r->sqes[idx] = *in;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		return -1;
	unsigned head = *r->cq_head;
	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return -1;
	struct io_uring_cqe *cqe = &r->cqes[head & *r->cq_mask];
	*res = cqe->res;
	printf("user_data %llu res %d\n", (unsigned long long)cqe->user_data, cqe->res);
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: uringtool openat|openat2|unlinkat|mkdirat|statx PATH | connect ADDR PORT | nop\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	const char *op = argv[1];
	struct io_uring_sqe sqe;
	memset(&sqe, 0, sizeof(sqe));
	sqe.user_data = 4242;
	sqe.fd = AT_FDCWD;
	struct open_how how = { .flags = O_RDONLY };
	struct statx stx;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strcmp(op, "nop") == 0) {
		sqe.opcode = IORING_OP_NOP;
	} else if (argc == 3 && strcmp(op, "openat") == 0) {
		sqe.opcode = IORING_OP_OPENAT;
		sqe.addr = (unsigned long)argv[2];
		sqe.open_flags = O_RDONLY;
	} else if (argc == 3 && strcmp(op, "openat-bad") == 0) {
		sqe.opcode = IORING_OP_OPENAT;
		sqe.addr = (unsigned long)argv[2];
		sqe.buf_index = 1;   /* refused while preparing the request: EINVAL */
	} else if (argc == 3 && strcmp(op, "openat2") == 0) {
		sqe.opcode = IORING_OP_OPENAT2;
		sqe.addr = (unsigned long)argv[2];
		sqe.len = sizeof(how);
		sqe.off = (unsigned long)&how;
	} else if (argc == 3 && strcmp(op, "unlinkat") == 0) {
		sqe.opcode = IORING_OP_UNLINKAT;
		sqe.addr = (unsigned long)argv[2];
	} else if (argc == 3 && strcmp(op, "mkdirat") == 0) {
		sqe.opcode = OP_MKDIRAT;
		sqe.addr = (unsigned long)argv[2];
		sqe.len = 0755;
	} else if (argc == 3 && strcmp(op, "statx") == 0) {
		sqe.opcode = IORING_OP_STATX;
		sqe.addr = (unsigned long)argv[2];
		sqe.len = STATX_BASIC_STATS;
		sqe.off = (unsigned long)&stx;
	} else if (argc == 4 && strcmp(op, "connect") == 0) {
		socklen_t len;
		struct sockaddr_in *sin = (void *)&ss;
		struct sockaddr_in6 *sin6 = (void *)&ss;
		if (strchr(argv[2], ':')) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(atoi(argv[3]));
			if (inet_pton(AF_INET6, argv[2], &sin6->sin6_addr) != 1)
				return usage();
			len = sizeof(*sin6);
		} else {
			sin->sin_family = AF_INET;
			sin->sin_port = htons(atoi(argv[3]));
			if (inet_pton(AF_INET, argv[2], &sin->sin_addr) != 1)
				return usage();
			len = sizeof(*sin);
		}
		int s = socket(ss.ss_family, SOCK_STREAM, 0);
		if (s < 0) {
			perror("socket");
			return 1;
		}
		sqe.opcode = IORING_OP_CONNECT;
		sqe.fd = s;
		sqe.addr = (unsigned long)&ss;
		sqe.off = len;
	} else {
		return usage();
	}
	struct ring r;
	int res;
	if (ring_init(&r) < 0 || ring_run(&r, &sqe, &res) < 0) {
		perror("io_uring");
		return 1;
	}
	return 0;
}
