/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark helper: `syscall-loop getppid N` times N getppid() calls and prints the
 * nanoseconds per call; `syscall-loop openat N PATH` opens and closes PATH N times and
 * prints the calls per second. Built static so that it runs inside a busybox rootfs.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: syscall-loop getppid N | openat N PATH\n");
		return 2;
	}
	long n = atol(argv[2]);
	double t0 = now();
	if (strcmp(argv[1], "getppid") == 0) {
		for (long i = 0; i < n; i++)
			syscall(SYS_getppid);
		printf("%.1f\n", (now() - t0) * 1e9 / n);
	} else if (strcmp(argv[1], "openat") == 0 && argc == 4) {
		for (long i = 0; i < n; i++) {
			int fd = openat(AT_FDCWD, argv[3], O_RDONLY);
			if (fd >= 0)
				close(fd);
		}
		printf("%.0f\n", n / (now() - t0));
	} else {
		return 2;
	}
	return 0;
}
