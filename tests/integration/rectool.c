/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rectool: a process that does what a hostile container's process would to its audit
 * records (tests/integration/audit-records.bats), built static to run in a busybox
 * container. Arguments are hex, so that any byte can be given:
 *
 *   rectool name HEX [PATH-HEX]  prctl(PR_SET_NAME) to the bytes (the kernel keeps 15),
 *                                then open PATH (default /etc/passwd) and exit
 *   rectool exec HEX...          execve("/bin/true", ["true", BYTES...])
 *   rectool open HEX             open the path made of the bytes (a failure is fine)
 *   rectool nosys FROM COUNT     syscall(n) for COUNT numbers from FROM, none of them a
 *                                syscall (ENOSYS): a flood of distinct syscall numbers
 *   rectool openat DIR-HEX NAME-HEX  open the directory DIR, then openat(its fd, NAME):
 *                                a path relative to a directory that is not the cwd
 *   rectool memexec HOW          a fileless exec: copy this program into a memfd named
 *                                "evil", then run it (as `rectool true`) through
 *                                execveat(fd, "", AT_EMPTY_PATH) (HOW "empty") or
 *                                execve("/proc/self/fd/N") (HOW "proc")
 *   rectool handle PATH-HEX      name_to_handle_at(PATH), then open_by_handle_at(a fd of
 *                                "/", the handle) and read it: a file opened with no
 *                                path (needs CAP_DAC_READ_SEARCH)
 *   rectool true                 exit 0
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static char *unhex(const char *h)
{
	size_t n = strlen(h) / 2;
	char *out = calloc(1, n + 1);
	for (size_t i = 0; out && i < n; i++) {
		unsigned v;
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			exit(2);
		out[i] = (char)v;
	}
	if (!out)
		exit(2);
	return out;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "name") == 0) {
		if (prctl(PR_SET_NAME, unhex(argv[2]), 0, 0, 0) < 0) {
			perror("prctl");
			return 1;
		}
		int fd = open(argc > 3 ? unhex(argv[3]) : "/etc/passwd", O_RDONLY);
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "exec") == 0) {
		char **av = calloc(argc, sizeof(char *));
		av[0] = "true";
		for (int i = 2; i < argc; i++)
			av[i - 1] = unhex(argv[i]);
		execv("/bin/true", av);
		perror("execv");
		return 1;
	}
	if (argc == 3 && strcmp(argv[1], "open") == 0) {
		int fd = open(unhex(argv[2]), O_RDONLY);
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "nosys") == 0) {
		long from = atol(argv[2]), n = atol(argv[3]);
		for (long i = 0; i < n; i++)
			syscall(from + i);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "openat") == 0) {
		int dfd = open(unhex(argv[2]), O_RDONLY | O_DIRECTORY);
		if (dfd < 0) {
			perror("open");
			return 1;
		}
		int fd = openat(dfd, unhex(argv[3]), O_RDONLY);
		if (fd < 0) {
			perror("openat");
			return 1;
		}
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "memexec") == 0) {
		int src = open("/proc/self/exe", O_RDONLY), fd = memfd_create("evil", 0);
		struct stat st;
		if (src < 0 || fd < 0 || fstat(src, &st) < 0 ||
		    sendfile(fd, src, NULL, st.st_size) != st.st_size) {
			perror("memfd");
			return 1;
		}
		char *av[] = { "rectool", "true", NULL }, *env[] = { NULL };
		if (strcmp(argv[2], "empty") == 0) {
			syscall(SYS_execveat, fd, "", av, env, AT_EMPTY_PATH);
		} else {
			char p[64];
			snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
			execve(p, av, env);
		}
		perror("exec");
		return 1;
	}
	if (argc == 3 && strcmp(argv[1], "handle") == 0) {
		struct file_handle *h = malloc(sizeof(*h) + MAX_HANDLE_SZ);
		int mount_id, mfd = open("/", O_RDONLY | O_DIRECTORY);
		char buf[64];
		if (!h || mfd < 0) {
			perror("open /");
			return 1;
		}
		h->handle_bytes = MAX_HANDLE_SZ;
		if (name_to_handle_at(AT_FDCWD, unhex(argv[2]), h, &mount_id, 0) < 0) {
			perror("name_to_handle_at");
			return 1;
		}
		int fd = open_by_handle_at(mfd, h, O_RDONLY);
		if (fd < 0 || read(fd, buf, sizeof(buf)) < 0) {
			perror("open_by_handle_at");
			return 1;
		}
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "true") == 0)
		return 0;
	fprintf(stderr, "usage: rectool name HEX [PATH-HEX] | exec HEX... | open HEX | nosys FROM COUNT"
		" | openat DIR-HEX NAME-HEX | memexec empty|proc | handle PATH-HEX | true\n");
	return 2;
}
