/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_URING_H
#define OCIBPF_URING_H

#include <stdint.h>

/*
 * io_uring operations audited as the syscalls they stand for (bpf/uring.bpf.h): which
 * syscall each IORING_OP_* stands for, and its name for the audit record.
 */

/* Fill ocibpf_uring_ops (opcode -> syscall nr, -1 for none); at load. */
int uring_fill_ops(int ops_fd);
/* "OPENAT" for IORING_OP_OPENAT; NULL for an opcode this build doesn't know. */
const char *uring_op_name(unsigned opcode);

#endif
