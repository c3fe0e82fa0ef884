/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * UAPI layouts the audit programs read, declared here after vmlinux.h (outside its
 * preserve_access_index): their offsets are fixed by the ABI, so reading them needs no
 * CO-RE relocation. Each relocated type costs `ocibpf load` a walk of the kernel's whole
 * BTF (~0.4 ms) whenever it misses the kernel's 31-slot candidate cache (kernel/bpf/btf.c).
 * sockaddr_in and __kernel_sockaddr_storage shared a slot with task_struct, io_uring_cqe
 * one with linux_binprm and pt_regs (and cgroup_subsys_state, see cgtrack.bpf.c, one with
 * io_open): 8 of the 11 walks of every load; pt_regs on x86-64 too: 2 are left
 * (tests/bench/core-cands.py). io_uring_sqe shares one with struct mount (the path walk
 * in audit.bpf.c).
 */
#ifndef OCIBPF_UAPI_BPF_H
#define OCIBPF_UAPI_BPF_H

struct ob_sockaddr_in {		/* struct sockaddr_in, <linux/in.h> */
	__u16 family;
	__be16 port;
	__u8 addr[4];
	__u8 zero[8];
};

struct ob_sockaddr_in6 {	/* struct sockaddr_in6, <linux/in6.h> */
	__u16 family;
	__be16 port;
	__be32 flowinfo;
	__u8 addr[16];
	__u32 scope_id;
};

union ob_sockaddr {
	__u16 family;
	struct ob_sockaddr_in in;
	struct ob_sockaddr_in6 in6;
};

struct ob_io_uring_cqe {	/* struct io_uring_cqe, <linux/io_uring.h> */
	__u64 user_data;
	__s32 res;
	__u32 flags;
};

/* The head of struct io_uring_sqe, <linux/io_uring.h> (off and addr2 are one union). */
struct ob_io_uring_sqe {
	__u8 opcode;
	__u8 flags;
	__u16 ioprio;
	__s32 fd;
	__u64 off;		/* addr2 */
	__u64 addr;
	__u32 len;
	__u32 rw_flags;		/* the op's flags */
	__u64 user_data;
};
_Static_assert(__builtin_offsetof(struct ob_io_uring_sqe, user_data) ==
	       __builtin_offsetof(struct io_uring_sqe, user_data) &&
	       __builtin_offsetof(struct ob_io_uring_sqe, len) ==
	       __builtin_offsetof(struct io_uring_sqe, len), "struct io_uring_sqe's layout");

/*
 * x86-64's struct pt_regs is the ptrace ABI (struct user_regs_struct, <asm/ptrace.h>):
 * the syscall argument registers, r10 to di, from byte 56 on.
 */
struct ob_pt_regs_x86_args {
	__u64 r10, r9, r8, ax, cx, dx, si, di;
};
#define OB_PT_REGS_X86_ARGS_OFF	56

#endif
