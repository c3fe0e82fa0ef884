/* SPDX-License-Identifier: Apache-2.0 */
#include <libgen.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "paths.h"
#include "sha256.h"

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

char *path_policy_caches(const char *state_dir)
{
	return path_join(state_dir, "policies");
}

char *path_policy_cache(const char *state_dir, const char *name)
{
	return xasprintf("%s/policies/%s.cache", state_dir, name);
}

char *path_pending_dir(const char *state_dir)
{
	return path_join(state_dir, "pending");
}

char *path_pending(const char *state_dir, const char *id)
{
	return xasprintf("%s/pending/%s.json", state_dir, id);
}

char *path_set_entry(const char *set_dir, const char *kind, const char *name)
{
	return xasprintf("%s/%s/%s", set_dir, kind, name);
}

char *path_collector(const char *state_dir, const char *name)
{
	return xasprintf("%s/ocibpfd.%s", state_dir, name);
}

char *path_audit_log_name(const char *id)
{
	return xasprintf("%s.jsonl", id);
}

char *path_audit_log(const char *log_dir, const char *id)
{
	_cleanup_free_ char *name = path_audit_log_name(id);
	return path_join(log_dir, name);
}

char *path_log_compressing(const char *log_dir, const char *name)
{
	/* A generation's name may be close to NAME_MAX (long ids): cut to fit. Only one
	 * gc compresses at a time (it holds the sets lock), one file after the other. */
	int room = NAME_MAX - (int)strlen("..gz.tmp");
	return xasprintf("%s/.%.*s.gz.tmp", log_dir, room, name);
}

/* "-N-N..." (dateext) or ".N" (numbered) into ret's keys. */
static bool parse_rotation_suffix(const char *s, size_t len, struct log_name *ret)
{
	if (len < 2 || (s[0] != '-' && s[0] != '.'))
		return false;
	ret->numbered = s[0] == '.';
	ret->n_key = 0;
	for (size_t i = 0; i < len;) {
		if (s[i] != (ret->numbered ? '.' : '-') || ret->n_key == 4 || (ret->numbered && i > 0))
			return false;
		i++;
		size_t digits = 0;
		unsigned long long n = 0;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++)
			n = n * 10 + (unsigned)(s[i] - '0');
		if (digits == 0 || digits > 19)
			return false;
		ret->key[ret->n_key++] = n;
	}
	return true;
}

int path_log_name_parse(const char *name, struct log_name *ret)
{
	static const char ext[] = ".jsonl";
	size_t len = strlen(name);
	bool gz = len > 3 && strcmp(name + len - 3, ".gz") == 0;
	size_t end = gz ? len - 3 : len;
	/* The last ".jsonl" whose rest is a suffix (see paths.h: only one can be). */
	for (size_t at = end >= sizeof(ext) - 1 ? end - (sizeof(ext) - 1) + 1 : 0; at-- > 0;) {
		if (memcmp(name + at, ext, sizeof(ext) - 1) != 0)
			continue;
		struct log_name n = { .gz = gz };
		size_t rest = at + sizeof(ext) - 1;
		if (rest == end)
			n.live = !gz;
		if (!n.live && !parse_rotation_suffix(name + rest, end - rest, &n))
			return -EINVAL;   /* letters after the last ".jsonl": not ours */
		n.id = strndup(name, at);
		if (!n.id)
			abort();
		if (!valid_id(n.id)) {
			free(n.id);
			return -EINVAL;
		}
		*ret = n;
		return 0;
	}
	return -EINVAL;
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

/* One per bpffs_dir (tests and side-by-side installs each have their own): the first 8
 * bytes of the SHA-256 of its path, so the name is short and the same for every build. */
char *path_anchor_cgroup(const char *cgroup2, const char *bpffs_dir)
{
	struct sha256 s;
	uint8_t d[32];
	sha256_init(&s);
	sha256_update(&s, bpffs_dir, strlen(bpffs_dir));
	sha256_final(&s, d);
	return xasprintf("%s/ocibpf-anchor-%02x%02x%02x%02x%02x%02x%02x%02x", cgroup2, d[0], d[1],
			 d[2], d[3], d[4], d[5], d[6], d[7]);
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
