/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpf-fault.so: LD_PRELOAD'ed into ocibpf-hook by faults.bats to play a kernel that
 * lacks a BPF program type: BPF_PROG_LOAD of the type in $OCIBPF_FAULT_PROG_TYPE (a
 * number, enum bpf_prog_type) fails with EINVAL, as an older kernel answers for a type
 * it does not know. libbpf makes its bpf() calls through syscall(2). A kernel that lacks
 * a type lacks BPF_PROG_TYPE_SYSCALL (5.14) too, the loader program of the light skeleton
 * (bpfset-load.c), which loads the others inside the kernel, out of our reach: refused as
 * well, so the hook falls back to libbpf, as it does on such a kernel.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BPF_PROG_LOAD_CMD 5
#define BPF_PROG_TYPE_SYSCALL_ 31

long syscall(long number, ...)
{
	static long (*real)(long, ...);
	va_list ap;
	long a[6];

	va_start(ap, number);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	if (number == SYS_bpf && a[0] == BPF_PROG_LOAD_CMD && a[1]) {
		const char *want = getenv("OCIBPF_FAULT_PROG_TYPE");
		uint32_t type = *(const uint32_t *)(uintptr_t)a[1];
		if (want && ((long)type == atol(want) || type == BPF_PROG_TYPE_SYSCALL_)) {
			errno = EINVAL;
			return -1;
		}
	}
	return real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
