/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>

#include "cgroup.h"
#include "cgstat.h"
#include "container.h"
#include "json.h"
#include "paths.h"

void container_free(struct container *c)
{
	if (!c)
		return;
	free(c->id);
	free(c->run);
	free(c->policy);
	free(c->cgroup);
	free(c->cgroup_dir);
	free(c->cgroup_v1_memory);
	free(c->cgroup_v1_cpuacct);
	free(c->cgroup_v1_pids);
	free(c->set);
	free(c->bundle);
	free(c->log_dir);
	free(c->bpffs_dir);
	free(c->name);
	free(c->image);
	free(c->pod);
	free(c->namespace);
	free(c);
}

int container_write(const char *state_dir, const struct container *c, struct error *err)
{
	_cleanup_free_ char *dir = path_records_dir(state_dir);
	int r = mkdir_p(dir, 0700);
	if (r < 0)
		return err_errno(err, r, "cannot create %s", dir);

	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	char ts[32];
	format_rfc3339(c->started_ns, ts);
	yajl_gen_map_open(g);
	jg_key_str(g, "id", c->id);
	jg_key_str(g, "run", c->run);
	jg_key_bool(g, "start_logged", c->started);
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
	if (c->log_dir)
		jg_key_str(g, "log_dir", c->log_dir);
	if (c->bpffs_dir)
		jg_key_str(g, "bpffs_dir", c->bpffs_dir);
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
	_cleanup_free_ char *path = path_record(state_dir, c->id);
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
	c->run = dup_opt(root, "run");
	/* A record from before runs (an older ocibpf): its pins are named by the id. */
	if (!c->run && c->id)
		c->run = xstrdup(c->id);
	yajl_val started = json_get(root, "start_logged");
	c->started = started && YAJL_IS_TRUE(started);
	c->policy = dup_opt(root, "policy");
	c->cgroup = dup_opt(root, "cgroup");
	c->cgroup_dir = dup_opt(root, "cgroup_dir");
	c->cgroup_v1_memory = dup_opt(root, "cgroup_v1_memory");
	c->cgroup_v1_cpuacct = dup_opt(root, "cgroup_v1_cpuacct");
	c->cgroup_v1_pids = dup_opt(root, "cgroup_v1_pids");
	c->set = dup_opt(root, "set");
	c->bundle = dup_opt(root, "bundle");
	c->log_dir = dup_opt(root, "log_dir");
	c->bpffs_dir = dup_opt(root, "bpffs_dir");
	/* Not one a configuration takes: the configuration's. */
	char **dirs[] = { &c->log_dir, &c->bpffs_dir };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (*dirs[i] && (*dirs[i])[0] != '/') {
			free(*dirs[i]);
			*dirs[i] = NULL;
		}
	c->name = dup_opt(root, "name");
	c->image = dup_opt(root, "image");
	c->pod = dup_opt(root, "pod");
	c->namespace = dup_opt(root, "namespace");
	c->pid = (pid_t)get_u64(root, "pid");
	c->pid_start = get_u64(root, "pid_start");
	c->cgroup_id = get_u64(root, "cgroup_id");
	c->flags = (uint32_t)get_u64(root, "flags");
	c->started_ns = get_u64(root, "started_ns");
	if (!valid_id(c->id) || !(valid_run(c->run) || strcmp(c->run, c->id) == 0) || !c->cgroup ||
	    !c->cgroup_dir || !c->set ||
	    !c->cgroup_id) {
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
	_cleanup_free_ char *path = path_record(state_dir, id);
	_cleanup_free_ char *text = NULL;
	int r = read_file_nofollow(path, 1 << 20, &text, NULL);
	if (r < 0)
		return err_errno(err, r, "cannot read %s", path);
	return container_parse(text, path, ret, err);
}

int container_remove(const char *state_dir, const char *id)
{
	_cleanup_free_ char *path = path_record(state_dir, id);
	int r = unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	_cleanup_free_ char *refused = path_refused(state_dir, id);
	unlink(refused);
	_cleanup_free_ char *stats = path_stats(state_dir, id);
	unlink(stats);                 /* after the record: see sampler.c */
	_cleanup_free_ char *lost = path_lost(state_dir, id);
	unlink(lost);                  /* the collector's loss baseline (src/daemon/events.c) */
	return r;
}

/*
 * A label kept for `ocibpf` to find and show the container by: what engines allow
 * (Kubernetes, Podman and nerdctl names are printable ASCII without spaces), nothing a
 * terminal or a JSON reader could trip on.
 */
bool container_label_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 253)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return false;
	return true;
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
		L("nerdctl/name", name),
		L("io.kubernetes.cri.image-name", image),
		L("io.kubernetes.cri-o.ImageName", image),
		L("io.kubernetes.cri.sandbox-name", pod),
		L("io.kubernetes.pod.name", pod),
		L("io.kubernetes.cri.sandbox-namespace", namespace),
		L("io.kubernetes.pod.namespace", namespace),
#undef L
	};
	if (!key || !container_label_ok(value))
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

static char *record_id(const char *name)
{
	return id_of_file_name(name, ".json");
}

char **container_list(const char *state_dir)
{
	_cleanup_free_ char *dir = path_records_dir(state_dir);
	return dir_list(dir, record_id);
}

struct container *container_find(const char *state_dir,
				 bool (*match)(const struct container *c, const void *ud),
				 const void *ud)
{
	char **ids = container_list(state_dir);
	struct container *found = NULL;
	for (char **id = ids; *id && !found; id++) {
		struct container *c = NULL;
		if (container_read(state_dir, *id, &c, NULL) < 0)
			continue;
		if (match(c, ud))
			found = c;
		else
			container_free(c);
	}
	strv_free(ids);
	return found;
}

static bool cgroup_is(const struct container *c, const void *cgid)
{
	return c->cgroup_id == *(const uint64_t *)cgid;
}

struct container *container_find_cgroup(const char *state_dir, uint64_t cgid)
{
	return container_find(state_dir, cgroup_is, &cgid);
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

/*
 * Processes in the container's cgroup (that cgroup: by its id, not a new one at its path),
 * from cgroup.events: a container without a pid namespace of its own keeps those its init
 * leaves (setsid and exit) until the runtime deletes it. False when it can't be told.
 */
static bool cgroup_populated(uint64_t cgid)
{
	if (!cgid)
		return false;
	_cleanup_close_ int dir = cgroup_open_by_id(cgid);
	if (dir < 0)
		return false;
	_cleanup_close_ int fd = openat(dir, "cgroup.events", O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	uint64_t v;
	return fd >= 0 && read_fd(fd, 4096, &text, NULL) == 0 &&
	       cg_parse_keyed(text, "populated", &v) == 0 && v != 0;
}

bool container_alive(const struct container *c)
{
	uint64_t st;
	if (c->pid <= 0 || process_start_time(c->pid, &st) < 0)
		return false;
	return !c->pid_start || st == c->pid_start;
}

bool container_running(const struct container *c)
{
	return container_alive(c) || cgroup_populated(c->cgroup_id);
}

#define RUN_BYTES 16

char *run_token_new(void)
{
	uint8_t b[RUN_BYTES];
	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		abort();   /* a kernel with getrandom(2) and an initialised pool: always here */
	char *s = xcalloc(1, 2 * RUN_BYTES + 1);
	for (size_t i = 0; i < sizeof(b); i++)
		sprintf(s + 2 * i, "%02x", b[i]);
	return s;
}

bool valid_run(const char *s)
{
	if (!s || strlen(s) != 2 * RUN_BYTES)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

int container_lock(const char *state_dir, const char *id, struct error *err)
{
	if (!valid_id(id))
		return err_msg(err, -EINVAL, "invalid container id");
	_cleanup_free_ char *dir = path_locks_dir(state_dir);
	int r = mkdir_p(dir, 0700);
	if (r < 0)
		return err_errno(err, r, "cannot create %s", dir);
	_cleanup_free_ char *path = path_record_lock(state_dir, id);
	for (;;) {
		int fd = lock_file(path, LOCK_EX, err);
		if (fd < 0)
			return fd;
		/* The holder before us may have removed it: then lock the file there now. */
		struct stat a, b;
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
}

bool container_recorded(const char *state_dir, const char *id)
{
	_cleanup_free_ char *rec = path_record(state_dir, id);
	return access(rec, F_OK) == 0 || errno != ENOENT;
}

void container_unlock(const char *state_dir, const char *id, int fd)
{
	if (fd < 0)
		return;
	/* No run of the id left: the lock file goes too (those waiting on it look again). */
	if (!container_recorded(state_dir, id)) {
		_cleanup_free_ char *path = path_record_lock(state_dir, id);
		unlink(path);
	}
	close(fd);
}

/* The count of refused starts whose poststop has not come yet. */
static unsigned refused_read(const char *path)
{
	_cleanup_free_ char *text = NULL;
	if (read_file_nofollow(path, 32, &text, NULL) < 0)
		return 0;
	return (unsigned)strtoul(text, NULL, 10);
}

static void refused_write(const char *path, unsigned n)
{
	if (n == 0) {
		unlink(path);
		return;
	}
	_cleanup_free_ char *text = xasprintf("%u\n", n);
	write_file_atomic(path, text, strlen(text), 0600);
}

void container_note_refused(const char *state_dir, const char *id)
{
	_cleanup_free_ char *path = path_refused(state_dir, id);
	refused_write(path, refused_read(path) + 1);
}

bool container_take_refused(const char *state_dir, const char *id)
{
	_cleanup_free_ char *path = path_refused(state_dir, id);
	unsigned n = refused_read(path);
	if (n == 0)
		return false;
	refused_write(path, n - 1);
	return true;
}
