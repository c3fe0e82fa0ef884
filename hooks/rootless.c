/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include <unistd.h>

#include "rootless.h"
#include "util.h"

/* The initial user namespace maps every id to itself: "0 0 4294967295". */
static bool initial_user_ns(char **ret_map)
{
	_cleanup_free_ char *text = NULL;
	if (read_file("/proc/self/uid_map", 1 << 16, &text, NULL) < 0)
		return true;   /* no user namespaces in this kernel */
	unsigned long inside, outside, count;
	int n = sscanf(text, "%lu %lu %lu", &inside, &outside, &count);
	const char *nl = strchr(text, '\n');
	if (n == 3 && inside == 0 && outside == 0 && count == 4294967295UL && (!nl || !nl[1]))
		return true;
	/* Shown on one line: "INSIDE OUTSIDE COUNT; ..." */
	char *shown = xstrdup("");
	for (const char *p = text; *p;) {
		const char *eol = strchrnul(p, '\n');
		if (sscanf(p, "%lu %lu %lu", &inside, &outside, &count) == 3) {
			char *t = xasprintf("%s%s%lu %lu %lu", shown, *shown ? "; " : "", inside, outside, count);
			free(shown);
			shown = t;
		}
		p = *eol ? eol + 1 : eol;
	}
	free(text);
	text = shown;
	*ret_map = TAKE_PTR(text);
	return false;
}

bool hook_is_rootless(char **ret_why)
{
	uid_t uid = geteuid();
	if (uid != 0) {
		*ret_why = xasprintf("ocibpf-hook runs as uid %u, not root", (unsigned)uid);
		return true;
	}
	char *map = NULL;
	if (!initial_user_ns(&map)) {
		*ret_why = xasprintf("ocibpf-hook runs in a user namespace that maps uids \"%s\", "
				     "not in the host's", map);
		free(map);
		return true;
	}
	return false;
}
