/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpf-verify OBJ [N]: load a BPF object N times (default 5) and print the load time of
 * each load, then the size and the number of instructions the verifier processed
 * (verified_insns) of every program: what a change to a program costs the verifier.
 * Pinned maps go to a private directory under /sys/fs/bpf, removed at the end.
 *
 *   gcc -O2 -o /tmp/bpf-verify tests/bench/bpf-verify.c -lbpf -lelf -lz
 *   /tmp/bpf-verify build/bpf/net.bpf.o
 *
 * The load time includes libbpf's work (BTF, relocations, maps) and is noisy on a shared
 * machine: compare objects interleaved, in one run. verified_insns is exact.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bpf-verify OBJ [N]\n");
		return 2;
	}
	int n = argc > 2 ? atoi(argv[2]) : 5, rc = 0;
	char pin[64];
	snprintf(pin, sizeof(pin), "/sys/fs/bpf/bpf-verify-%d", (int)getpid());
	if (mkdir(pin, 0700) < 0) {
		fprintf(stderr, "bpf-verify: mkdir %s: %s\n", pin, strerror(errno));
		return 1;
	}
	for (int i = 0; i < n && rc == 0; i++) {
		LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin);
		struct bpf_object *obj = bpf_object__open_file(argv[1], &opts);
		if (!obj) {
			fprintf(stderr, "bpf-verify: open %s: %s\n", argv[1], strerror(errno));
			rc = 1;
			break;
		}
		double t0 = now_ms();
		int err = bpf_object__load(obj);
		double t1 = now_ms();
		if (err) {
			fprintf(stderr, "bpf-verify: load %s: %s\n", argv[1], strerror(-err));
			rc = 1;
		} else {
			printf("load %.1f ms\n", t1 - t0);
		}
		struct bpf_program *p;
		if (!err && i == n - 1) {
			bpf_object__for_each_program(p, obj) {
				struct bpf_prog_info info;
				__u32 len = sizeof(info);
				memset(&info, 0, sizeof(info));
				if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len) == 0)
					printf("%-18s insns %5u  verified_insns %6u\n", bpf_program__name(p),
					       info.xlated_prog_len / 8, info.verified_insns);
			}
		}
		bpf_object__unpin_maps(obj, NULL);
		bpf_object__close(obj);
	}
	rmdir(pin);
	return rc;
}
