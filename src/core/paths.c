/* SPDX-License-Identifier: Apache-2.0 */
#include <libgen.h>
#include <limits.h>

#include "paths.h"

char *path_records_dir(const char *state_dir)
{
	return path_join(state_dir, "containers");
}

char *path_record(const char *state_dir, const char *id)
{
	return xasprintf("%s/containers/%s.json", state_dir, id);
}

char *path_locks_dir(const char *state_dir)
{
	return path_join(state_dir, "locks");
}

char *path_record_lock(const char *state_dir, const char *id)
{
	return xasprintf("%s/locks/%s.lock", state_dir, id);
}

char *path_refused(const char *state_dir, const char *id)
{
	return xasprintf("%s/locks/%s.refused", state_dir, id);
}

char *path_stats_dir(const char *state_dir)
{
	return path_join(state_dir, "stats");
}

char *path_stats(const char *state_dir, const char *id)
{
	return xasprintf("%s/stats/%s.json", state_dir, id);
}

char *path_lost_dir(const char *state_dir)
{
	return path_join(state_dir, "lost");
}

char *path_lost(const char *state_dir, const char *id)
{
	return xasprintf("%s/lost/%s", state_dir, id);
}

char *path_sets_lock(const char *state_dir)
{
	return path_join(state_dir, "sets.lock");
}

char *path_collector(const char *state_dir, const char *name)
{
	return xasprintf("%s/ocibpfd.%s", state_dir, name);
}

char *path_audit_log(const char *log_dir, const char *id)
{
	return xasprintf("%s/%s.jsonl", log_dir, id);
}

char *path_sets_dir(const char *bpffs_dir)
{
	return path_join(bpffs_dir, "sets");
}

char *path_set(const char *bpffs_dir, const char *version)
{
	return xasprintf("%s/sets/%s", bpffs_dir, version);
}

char *path_links_dir(const char *bpffs_dir)
{
	return path_join(bpffs_dir, "containers");
}

char *path_links(const char *bpffs_dir, const char *run)
{
	return xasprintf("%s/containers/%s", bpffs_dir, run);
}

char *self_dir(void)
{
	char *exe = realpath("/proc/self/exe", NULL);
	if (!exe)
		return xstrdup(".");
	char *d = xstrdup(dirname(exe));
	free(exe);
	return d;
}
