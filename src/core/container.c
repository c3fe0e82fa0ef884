/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include "container.h"
#include "json.h"

void container_free(struct container *c)
{
	if (!c)
		return;
	free(c->id);
	free(c->policy);
	free(c->cgroup);
	free(c->cgroup_dir);
	free(c->cgroup_v1_memory);
	free(c->cgroup_v1_cpuacct);
	free(c->cgroup_v1_pids);
	free(c->set);
	free(c->bundle);
	free(c->name);
	free(c->image);
	free(c->pod);
	free(c->namespace);
	free(c);
}

static char *record_path(const char *state_dir, const char *id)
{
	return xasprintf("%s/containers/%s.json", state_dir, id);
}

char *container_stats_path(const char *state_dir, const char *id)
{
	return xasprintf("%s/stats/%s.json", state_dir, id);
}

int container_write(const char *state_dir, const struct container *c, struct error *err)
{
	_cleanup_free_ char *dir = path_join(state_dir, "containers");
	int r = mkdir_p(dir, 0700);
	if (r < 0)
		return err_errno(err, r, "cannot create %s", dir);

	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	char ts[32];
	format_rfc3339(c->started_ns, ts);
	yajl_gen_map_open(g);
	jg_key_str(g, "id", c->id);
	jg_key_str(g, "policy", c->policy);
	jg_key_int(g, "pid", c->pid);
	jg_key_uint(g, "pid_start", c->pid_start);
	jg_key_str(g, "cgroup", c->cgroup);
	jg_key_str(g, "cgroup_dir", c->cgroup_dir);
	jg_key_uint(g, "cgroup_id", c->cgroup_id);
	jg_key_str(g, "cgroup_v1_memory", c->cgroup_v1_memory);
	jg_key_str(g, "cgroup_v1_cpuacct", c->cgroup_v1_cpuacct);
	jg_key_str(g, "cgroup_v1_pids", c->cgroup_v1_pids);
	jg_key_uint(g, "flags", c->flags);
	jg_key_str(g, "set", c->set);
	jg_key_str(g, "bundle", c->bundle);
	jg_key_str(g, "started", ts);
	jg_key_uint(g, "started_ns", c->started_ns);
	const struct { const char *key, *value; } labels[] = {
		{ "name", c->name }, { "image", c->image }, { "pod", c->pod },
		{ "namespace", c->namespace },
	};
	for (size_t i = 0; i < ARRAY_SIZE(labels); i++)
		if (labels[i].value)
			jg_key_str(g, labels[i].key, labels[i].value);
	yajl_gen_map_close(g);
	size_t len;
	_cleanup_free_ char *text = json_gen_take(g, &len);
	_cleanup_free_ char *path = record_path(state_dir, c->id);
	r = write_file_atomic(path, text, len, 0600);
	if (r < 0)
		return err_errno(err, r, "cannot write %s", path);
	return 0;
}

static char *dup_opt(yajl_val root, const char *key)
{
	const char *s = json_get_string(root, key);
	return s ? xstrdup(s) : NULL;
}

static uint64_t get_u64(yajl_val root, const char *key)
{
	yajl_val v = json_get(root, key);
	if (!YAJL_IS_NUMBER(v))
		return 0;
	return strtoull(v->u.number.r, NULL, 10);
}

int container_parse(const char *text, const char *what, struct container **ret, struct error *err)
{
	_cleanup_json_ yajl_val root = NULL;
	int r = json_parse(text, what, &root, err);
	if (r < 0)
		return r;
	struct container *c = xcalloc(1, sizeof(*c));
	c->id = dup_opt(root, "id");
	c->policy = dup_opt(root, "policy");
	c->cgroup = dup_opt(root, "cgroup");
	c->cgroup_dir = dup_opt(root, "cgroup_dir");
	c->cgroup_v1_memory = dup_opt(root, "cgroup_v1_memory");
	c->cgroup_v1_cpuacct = dup_opt(root, "cgroup_v1_cpuacct");
	c->cgroup_v1_pids = dup_opt(root, "cgroup_v1_pids");
	c->set = dup_opt(root, "set");
	c->bundle = dup_opt(root, "bundle");
	c->name = dup_opt(root, "name");
	c->image = dup_opt(root, "image");
	c->pod = dup_opt(root, "pod");
	c->namespace = dup_opt(root, "namespace");
	c->pid = (pid_t)get_u64(root, "pid");
	c->pid_start = get_u64(root, "pid_start");
	c->cgroup_id = get_u64(root, "cgroup_id");
	c->flags = (uint32_t)get_u64(root, "flags");
	c->started_ns = get_u64(root, "started_ns");
	if (!valid_id(c->id) || !c->cgroup || !c->cgroup_dir || !c->set || !c->cgroup_id) {
		container_free(c);
		return err_msg(err, -EINVAL, "%s: incomplete container record", what);
	}
	*ret = c;
	return 0;
}

int container_read(const char *state_dir, const char *id, struct container **ret, struct error *err)
{
	if (!valid_id(id))
		return err_msg(err, -EINVAL, "invalid container id");
	_cleanup_free_ char *path = record_path(state_dir, id);
	_cleanup_free_ char *text = NULL;
	int r = read_file_nofollow(path, 1 << 20, &text, NULL);
	if (r < 0)
		return err_errno(err, r, "cannot read %s", path);
	return container_parse(text, path, ret, err);
}

int container_remove(const char *state_dir, const char *id)
{
	_cleanup_free_ char *path = record_path(state_dir, id);
	int r = unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	_cleanup_free_ char *stats = container_stats_path(state_dir, id);
	unlink(stats);                 /* after the record: see sampler.c */
	_cleanup_free_ char *lost = xasprintf("%s/lost/%s", state_dir, id);
	unlink(lost);                  /* the collector's loss baseline (src/daemon/events.c) */
	return r;
}

void container_label_from_annotation(struct container *c, const char *key, const char *value)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
#define L(k, m) { k, offsetof(struct container, m) }
		L("io.kubernetes.cri.container-name", name),
		L("io.kubernetes.container.name", name),
		L("io.kubernetes.cri.image-name", image),
		L("io.kubernetes.cri-o.ImageName", image),
		L("io.kubernetes.cri.sandbox-name", pod),
		L("io.kubernetes.pod.name", pod),
		L("io.kubernetes.cri.sandbox-namespace", namespace),
		L("io.kubernetes.pod.namespace", namespace),
#undef L
	};
	if (!key || !value || !*value)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strcmp(keys[i].key, key) != 0)
			continue;
		const char **label = (const char **)((char *)c + keys[i].off);
		if (!*label)
			*label = value;
		return;
	}
}

/* "ID.json" -> ID, for valid ids only. */
static char *record_id(const char *name)
{
	size_t len = strlen(name);
	if (len <= 5 || strcmp(name + len - 5, ".json") != 0)
		return NULL;
	char *id = strndup(name, len - 5);
	if (!id)
		abort();
	if (!valid_id(id)) {
		free(id);
		return NULL;
	}
	return id;
}

char **container_list(const char *state_dir)
{
	_cleanup_free_ char *dir = path_join(state_dir, "containers");
	return dir_list(dir, record_id);
}

/* Start time and state letter of a process from /proc/PID/stat. */
static int process_stat(pid_t pid, uint64_t *ret_start, char *ret_state)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/stat", (int)pid);
	_cleanup_free_ char *text = NULL;
	int r = read_file(path, 1 << 16, &text, NULL);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	/* comm may hold spaces and parentheses: fields resume after the last ')'. */
	char *p = strrchr(text, ')');
	if (!p)
		return -EINVAL;
	/* After ')': field 3 (state) ... field 22 (starttime) is the 20th. */
	unsigned long long st;
	char state;
	if (sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &state, &st) != 2)
		return -EINVAL;
	*ret_start = st;
	*ret_state = state;
	return 0;
}

int process_start_time(pid_t pid, uint64_t *ret)
{
	char state;
	int r = process_stat(pid, ret, &state);
	if (r < 0)
		return r;
	/* A zombie has run its course (its parent just hasn't reaped it yet). */
	return state == 'Z' || state == 'X' ? -ESRCH : 0;
}

bool container_alive(const struct container *c)
{
	uint64_t st;
	if (c->pid <= 0 || process_start_time(c->pid, &st) < 0)
		return false;
	return !c->pid_start || st == c->pid_start;
}
