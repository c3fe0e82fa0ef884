/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgstress DIR THREADS CYCLES [PID]: what a container that can write its cgroupfs does to
 * the sub-cgroup tracker, from many threads at once: each cycle makes a tree three levels
 * deep under DIR (names shared between threads, so that mkdir, rmdir and rename collide),
 * tries to rename a branch within its parent (cgroup2 has no rename: EPERM on 6.18; a
 * kernel that had one would keep the cgroup's id, which keys ocibpf_cgroups), moves PID
 * into one of the new cgroups and back, and removes the tree deepest first. Every error
 * is expected (another thread got there first) and ignored. At the end PID is put back
 * in DIR and whatever is left under DIR is removed; prints "mkdir N rmdir N rename N".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *top;
static long cycles;
static const char *pid;
static atomic_long n_mkdir, n_rmdir, n_rename;

static void path3(char *buf, size_t n, unsigned a, unsigned b, unsigned c, int depth)
{
	if (depth == 1)
		snprintf(buf, n, "%s/a%u", top, a);
	else if (depth == 2)
		snprintf(buf, n, "%s/a%u/b%u", top, a, b);
	else
		snprintf(buf, n, "%s/a%u/b%u/c%u", top, a, b, c);
}

static void move_pid(const char *dir)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, pid, strlen(pid)) < 0) {
		/* gone meanwhile */
	}
	close(fd);
}

static void *worker(void *arg)
{
	unsigned seed = (unsigned)(long)arg * 2654435761u;
	char p[4096], q[4096];
	for (long i = 0; i < cycles; i++) {
		unsigned a = rand_r(&seed) % 4, b = rand_r(&seed) % 3, c = rand_r(&seed) % 3;
		for (int d = 1; d <= 3; d++) {
			path3(p, sizeof(p), a, b, c, d);
			if (mkdir(p, 0755) == 0)
				n_mkdir++;
		}
		if (rand_r(&seed) % 4 == 0) {
			/* a branch renamed within its parent, and back */
			path3(p, sizeof(p), a, b, c, 2);
			snprintf(q, sizeof(q), "%s/a%u/r%u", top, a, rand_r(&seed) % 2);
			if (rename(p, q) == 0) {
				n_rename++;
				if (rename(q, p) == 0)
					n_rename++;
			}
		}
		if (pid && rand_r(&seed) % 8 == 0) {
			path3(p, sizeof(p), a, b, c, 3);
			move_pid(p);
			move_pid(top);
		}
		for (int d = 3; d >= 1; d--) {
			path3(p, sizeof(p), a, b, c, d);
			if (rmdir(p) == 0)
				n_rmdir++;
		}
	}
	return NULL;
}

/* Remove everything below dir, deepest first. */
static void remove_below(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		char sub[4096];
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		remove_below(sub);
		if (pid)
			move_pid(top);
		/* EBUSY while a child PID forked there is still exiting: a moment more */
		for (int tries = 0; tries < 100; tries++) {
			if (rmdir(sub) == 0) {
				n_rmdir++;
				break;
			}
			if (errno != EBUSY)
				break;
			usleep(50 * 1000);
		}
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: cgstress DIR THREADS CYCLES [PID]\n");
		return 2;
	}
	top = argv[1];
	int threads = atoi(argv[2]);
	cycles = atol(argv[3]);
	pid = argc > 4 ? argv[4] : NULL;
	if (threads < 1 || threads > 256 || cycles < 1)
		return 2;
	pthread_t t[256];
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(long)(i + 1)) != 0)
			return 1;
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	if (pid)
		move_pid(top);
	remove_below(top);
	printf("mkdir %ld rmdir %ld rename %ld\n", (long)n_mkdir, (long)n_rmdir, (long)n_rename);
	return 0;
}
