// SPDX-License-Identifier: Apache-2.0
/*
 * cputime CMD [ARGS...]: run CMD (stdin, stdout and stderr inherited) and print to fd 3
 * "WALL_US CPU_US STATUS": its wall time and the CPU time it used (user + system, from
 * wait4), in microseconds. On a loaded machine the CPU time is what a command costs;
 * the wall time is what it waited besides.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long us(struct timeval t)
{
	return (long long)t.tv_sec * 1000000 + t.tv_usec;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: cputime CMD [ARGS...] 3>RESULT\n");
		return 2;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		close(3);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long long wall = (t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000;
	dprintf(3, "%lld %lld %d\n", wall, us(ru.ru_utime) + us(ru.ru_stime),
		WIFEXITED(status) ? WEXITSTATUS(status) : 128);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
