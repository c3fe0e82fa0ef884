/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_URING_H
#define OCIBPF_URING_H

#include <stdbool.h>
#include <stdint.h>

/*
 * io_uring operations audited as the syscalls they stand for (bpf/uring.bpf.h): which
 * syscall each IORING_OP_* stands for, and its name for the audit record.
 */

/* Fill ocibpf_uring_ops (opcode -> syscall nr, -1 for none); at load. */
int uring_fill_ops(int ops_fd);
/* Are the tracepoint programs attached (pinned links in set_dir/links)? */
bool uring_attached(const char *set_dir);
/* Attach those that are not (with the lock on bpffs_dir held); 0 or -errno. */
int uring_attach(const char *set_dir);
/* "OPENAT" for IORING_OP_OPENAT; NULL for an opcode this build doesn't know. */
const char *uring_op_name(unsigned opcode);

#endif
