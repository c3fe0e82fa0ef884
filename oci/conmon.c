/* SPDX-License-Identifier: Apache-2.0 */
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "conmon.h"
#include "util.h"

#define ANCESTORS_MAX 4
#define CMDLINE_MAX (1 << 20)

/*
 * From /proc/PID/stat, one read for both: whether the process is named "conmon" (comm,
 * which the process may set: the exe is checked after) and its parent (0: unknown).
 */
static pid_t parent_of(pid_t pid, bool *ret_conmon)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/stat", (int)pid), *text = NULL;
	*ret_conmon = false;
	if (read_file(path, 1 << 16, &text, NULL) < 0)
		return 0;
	/* comm may hold spaces and parentheses: it ends at the last ')' */
	const char *open = strchr(text, '('), *close = strrchr(text, ')');
	int ppid;
	if (!open || !close || close < open || sscanf(close + 1, " %*c %d", &ppid) != 1)
		return 0;
	*ret_conmon = close - open - 1 == 6 && strncmp(open + 1, "conmon", 6) == 0;
	return ppid;
}

/* The value after flag (argv form: "-n" "NAME"), or NULL. */
static const char *arg_after(const char *args, size_t len, const char *flag)
{
	for (const char *a = args; a < args + len; a += strlen(a) + 1) {
		const char *next = a + strlen(a) + 1;
		if (strcmp(a, flag) == 0 && next < args + len)
			return next;
	}
	return NULL;
}

static char *from_conmon(pid_t pid, const char *id)
{
	_cleanup_free_ char *exe_path = xasprintf("/proc/%d/exe", (int)pid);
	char exe[4096];
	ssize_t n = readlink(exe_path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	const char *base = strrchr(exe, '/');
	if (strcmp(base ? base + 1 : exe, "conmon") != 0)
		return NULL;
	_cleanup_free_ char *cl_path = xasprintf("/proc/%d/cmdline", (int)pid), *args = NULL;
	size_t len;
	if (read_file(cl_path, CMDLINE_MAX, &args, &len) < 0)
		return NULL;
	const char *cid = arg_after(args, len, "-c");
	const char *name = arg_after(args, len, "-n");
	if (!cid || strcmp(cid, id) != 0 || !name || !*name)
		return NULL;
	return xstrdup(name);
}

char *conmon_container_name(const char *id)
{
	pid_t pid = getppid();
	for (int i = 0; i < ANCESTORS_MAX && pid > 1; i++) {
		bool conmon;
		pid_t parent = parent_of(pid, &conmon);
		char *name = conmon ? from_conmon(pid, id) : NULL;
		if (name)
			return name;
		pid = parent;
	}
	return NULL;
}
