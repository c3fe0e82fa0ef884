/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The values the collector persists for a container while its cgroup lives:
 * <state_dir>/stats/<id>.json, every value of counters.h by name, plus the cgroup id it
 * belongs to and when it was read.
 */
#include <errno.h>
#include <string.h>

#include "container.h"
#include "json.h"
#include "stats.h"

char *stats_path(const char *state_dir, const char *id)
{
	return container_stats_path(state_dir, id);
}

int stats_save(const char *state_dir, const struct container *c, const struct stats *s)
{
	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	yajl_gen_map_open(g);
	jg_key_str(g, "id", c->id);
	jg_key_uint(g, "cgroup_id", c->cgroup_id);
	jg_key_uint(g, "sampled_ns", s->sampled_ns);
	for (size_t i = 0; i < stats_n_values; i++)
		jg_key_uint(g, stats_values[i].name, stats_value_get(s, &stats_values[i]));
	yajl_gen_map_close(g);
	size_t len;
	_cleanup_free_ char *text = json_gen_take(g, &len);
	_cleanup_free_ char *path = stats_path(state_dir, c->id);
	int r = write_file_atomic(path, text, len, 0600);
	if (r == -ENOENT) {
		/* The first one: make the directory (not on every write: the collector's are
		 * many). */
		_cleanup_free_ char *dir = path_join(state_dir, "stats");
		r = mkdir_p(dir, 0700);
		if (r == 0)
			r = write_file_atomic(path, text, len, 0600);
	}
	return r;
}

static bool get_u64(yajl_val root, const char *key, uint64_t *ret)
{
	yajl_val v = json_get(root, key);
	if (!YAJL_IS_NUMBER(v) || !v->u.number.r || v->u.number.r[0] == '-')
		return false;
	errno = 0;
	*ret = strtoull(v->u.number.r, NULL, 10);
	return errno == 0;
}

int stats_load(const char *state_dir, const struct container *c, struct stats *ret)
{
	if (!valid_id(c->id))
		return -EINVAL;
	_cleanup_free_ char *path = stats_path(state_dir, c->id);
	_cleanup_free_ char *text = NULL;
	int r = read_file_nofollow(path, 1 << 16, &text, NULL);
	if (r < 0)
		return r;
	_cleanup_json_ yajl_val root = NULL;
	if (json_parse(text, path, &root, NULL) < 0)
		return -EINVAL;
	uint64_t cgid;
	if (!get_u64(root, "cgroup_id", &cgid))
		return -EINVAL;
	if (cgid != c->cgroup_id)
		return -ESTALE;
	struct stats s = { 0 };
	get_u64(root, "sampled_ns", &s.sampled_ns);
	for (size_t i = 0; i < stats_n_values; i++) {
		uint64_t v;
		if (get_u64(root, stats_values[i].name, &v))
			stats_value_set(&s, &stats_values[i], v);
	}
	*ret = s;
	return 0;
}

int stats_remove(const char *state_dir, const char *id)
{
	_cleanup_free_ char *path = stats_path(state_dir, id);
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}
