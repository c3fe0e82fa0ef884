/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "shim.h"

#define CONFIG_MAX (64u << 20)
/* yajl_gen refuses to nest 128 levels; stay well below, hooks add 4 more. */
#define DEFAULT_SEARCH_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static bool streq(const char *a, const char *b) { return strcmp(a, b) == 0; }

/* --- command line --------------------------------------------------------------- */

struct flag {
	const char *name, *alias;
};

/* Flags that take a value; every other flag is taken to have none. runc's, plus crun's. */
static const struct flag global_value_flags[] = {
	{ "root", NULL }, { "log", NULL }, { "log-format", NULL }, { "criu", NULL },
	{ "rootless", NULL }, { "cgroup-manager", NULL }, { "log-level", NULL },
	{}
};

static const struct flag create_value_flags[] = {
	{ "bundle", "b" }, { "console-socket", NULL }, { "pid-file", NULL }, { "preserve-fds", NULL },
	{ "config", "f" },
	{}
};

static const struct flag help_flag[] = { { "help", "h" }, {} };

/* One flag argument: "-name", "--name", "-name=value" or "--name=value". */
struct flag_arg {
	const char *name;
	size_t len;
	const char *value; /* after '=', NULL without one */
};

static bool parse_flag(const char *arg, struct flag_arg *ret)
{
	if (arg[0] != '-' || arg[1] == '\0' || streq(arg, "--"))
		return false;
	const char *name = arg + (arg[1] == '-' ? 2 : 1);
	const char *eq = strchr(name, '=');
	*ret = (struct flag_arg) {
		.name = name,
		.len = eq ? (size_t)(eq - name) : strlen(name),
		.value = eq ? eq + 1 : NULL,
	};
	return true;
}

static bool flag_is(const struct flag_arg *f, const char *name)
{
	return name && strlen(name) == f->len && strncmp(f->name, name, f->len) == 0;
}

static const struct flag *flag_find(const struct flag *table, const struct flag_arg *f)
{
	for (const struct flag *t = table; t->name; t++)
		if (flag_is(f, t->name) || flag_is(f, t->alias))
			return t;
	return NULL;
}

/*
 * The value of flag argv[*i]: after its '=', else the next argument (whatever it looks
 * like, as Go's flag package does). NULL when missing.
 */
static const char *flag_value(int argc, char *const *argv, int *i, const struct flag_arg *f)
{
	if (f->value)
		return f->value;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

/* Global flags up to the command; returns the command's index (argc when none). */
static int parse_global(int argc, char *const *argv, struct shim_args *a)
{
	int i;
	for (i = 1; i < argc; i++) {
		struct flag_arg f;
		if (streq(argv[i], "--"))
			return i + 1;
		if (!parse_flag(argv[i], &f))
			return i;
		const struct flag *fl = flag_find(global_value_flags, &f);
		if (!fl)
			continue;
		const char *v = flag_value(argc, argv, &i, &f);
		if (!v)
			return argc; /* no command: the runtime says what is wrong */
		if (streq(fl->name, "root"))
			a->root = v;
		else if (streq(fl->name, "log"))
			a->log = v;
		else if (streq(fl->name, "log-format"))
			a->log_format = v;
	}
	return i;
}

/* create/run: flags anywhere (urfave/cli reorders them), the id is the last argument. */
static int parse_create(int argc, char *const *argv, struct shim_args *a, struct error *err)
{
	bool only_args = false;
	for (int i = a->command_index + 1; i < argc; i++) {
		struct flag_arg f;
		if (!only_args && streq(argv[i], "--")) {
			only_args = true;
			continue;
		}
		if (only_args || !parse_flag(argv[i], &f)) {
			a->id = argv[i];
			continue;
		}
		if (flag_find(help_flag, &f)) {
			a->creates = false;
			return 0;
		}
		const struct flag *fl = flag_find(create_value_flags, &f);
		if (!fl)
			continue;
		const char *flag = argv[i];
		const char *v = flag_value(argc, argv, &i, &f);
		if (!v)
			return err_msg(err, -EINVAL, "%s: option %s needs a value", a->command, flag);
		if (streq(fl->name, "bundle"))
			a->bundle = *v ? v : NULL;
		else if (streq(fl->name, "config"))
			a->config = *v ? v : NULL;
	}
	if (!a->id)
		return err_msg(err, -EINVAL, "%s: container id missing", a->command);
	return 0;
}

int shim_parse_args(int argc, char *const *argv, struct shim_args *ret, struct error *err)
{
	struct shim_args a = { .command_index = argc };

	a.command_index = parse_global(argc, argv, &a);
	if (a.command_index < argc) {
		a.command = argv[a.command_index];
		a.creates = streq(a.command, "create") || streq(a.command, "run");
	}
	if (a.creates) {
		int r = parse_create(argc, argv, &a, err);
		if (r < 0)
			return r;
	}
	*ret = a;
	return 0;
}

/* --- config.json ------------------------------------------------------------------ */

static const char *const stages[] = { "createRuntime", "poststop" };

/* Index of the member that counts (the last one with that key, as json_get), or -1. */
static ssize_t member_index(yajl_val obj, const char *key)
{
	if (!YAJL_IS_OBJECT(obj))
		return -1;
	for (size_t i = obj->u.object.len; i-- > 0;)
		if (streq(obj->u.object.keys[i], key))
			return (ssize_t)i;
	return -1;
}

static bool list_has_path(yajl_val list, const char *path)
{
	if (!YAJL_IS_ARRAY(list))
		return false;
	for (size_t i = 0; i < list->u.array.len; i++) {
		const char *p = json_get_string(list->u.array.values[i], "path");
		if (p && streq(p, path))
			return true;
	}
	return false;
}

static void gen_entry(yajl_gen g, const struct shim_hook *hook, const char *stage)
{
	yajl_gen_map_open(g);
	jg_key_str(g, "path", hook->path);
	jg_key(g, "args");
	yajl_gen_array_open(g);
	jg_str(g, "ocibpf-hook");
	jg_str(g, stage);
	yajl_gen_array_close(g);
	if (hook->config) {
		_cleanup_free_ char *env = xasprintf("OCIBPF_CONFIG=%s", hook->config);
		jg_key(g, "env");
		yajl_gen_array_open(g);
		jg_str(g, env);
		yajl_gen_array_close(g);
	}
	yajl_gen_map_close(g);
}

/* The existing list (NULL or null: none) with our entry after it. */
static void gen_list(yajl_gen g, yajl_val list, const struct shim_hook *hook, const char *stage)
{
	yajl_gen_array_open(g);
	if (YAJL_IS_ARRAY(list))
		for (size_t i = 0; i < list->u.array.len; i++)
			jg_value(g, list->u.array.values[i]);
	gen_entry(g, hook, stage);
	yajl_gen_array_close(g);
}

/* The stage whose list is hooks' member i and needs our entry, or -1. */
static ssize_t stage_to_extend(yajl_val hooks, size_t i, const bool *need)
{
	for (size_t s = 0; s < ARRAY_SIZE(stages); s++)
		if (need[s] && member_index(hooks, stages[s]) == (ssize_t)i)
			return (ssize_t)s;
	return -1;
}

static void gen_hooks(yajl_gen g, yajl_val hooks, const struct shim_hook *hook,
		      const bool need[static ARRAY_SIZE(stages)])
{
	bool done[ARRAY_SIZE(stages)] = {};

	yajl_gen_map_open(g);
	for (size_t i = 0; YAJL_IS_OBJECT(hooks) && i < hooks->u.object.len; i++) {
		ssize_t s = stage_to_extend(hooks, i, need);
		jg_key(g, hooks->u.object.keys[i]);
		if (s < 0) {
			jg_value(g, hooks->u.object.values[i]);
			continue;
		}
		gen_list(g, hooks->u.object.values[i], hook, stages[s]);
		done[s] = true;
	}
	for (size_t s = 0; s < ARRAY_SIZE(stages); s++)
		if (need[s] && !done[s]) {
			jg_key(g, stages[s]);
			gen_list(g, NULL, hook, stages[s]);
		}
	yajl_gen_map_close(g);
}

static int parse_config(const char *text, yajl_val *ret, struct error *err)
{
	_cleanup_json_ yajl_val root = NULL;
	int r = json_parse(text, NULL, &root, err);
	if (r < 0)
		return r;
	if (!YAJL_IS_OBJECT(root))
		return err_msg(err, -EINVAL, "not a JSON object");
	*ret = TAKE_PTR(root);
	return 0;
}

/*
 * The policy asked for with OCIBPF_POLICY=NAME in process.env (the first one, as getenv
 * sees it), when the config has no policy annotation: NULL otherwise.
 */
static const char *env_policy(yajl_val root)
{
	yajl_val ann = json_get(root, "annotations");
	if (json_get(ann, SHIM_POLICY_ANNOTATION))
		return NULL;
	yajl_val env = json_get(json_get(root, "process"), "env");
	static const char prefix[] = SHIM_POLICY_ENV "=";
	for (size_t i = 0; YAJL_IS_ARRAY(env) && i < env->u.array.len; i++) {
		const char *e = YAJL_GET_STRING(env->u.array.values[i]);
		if (e && strncmp(e, prefix, sizeof(prefix) - 1) == 0)
			return e[sizeof(prefix) - 1] ? e + sizeof(prefix) - 1 : NULL;
	}
	return NULL;
}

/* The annotations object (NULL or null: none) with the policy annotation added. */
static void gen_annotations(yajl_gen g, yajl_val ann, const char *policy)
{
	yajl_gen_map_open(g);
	for (size_t i = 0; YAJL_IS_OBJECT(ann) && i < ann->u.object.len; i++) {
		jg_key(g, ann->u.object.keys[i]);
		jg_value(g, ann->u.object.values[i]);
	}
	jg_key_str(g, SHIM_POLICY_ANNOTATION, policy);
	yajl_gen_map_close(g);
}

int shim_rewrite_config(const char *text, const struct shim_hook *hook, char **ret,
			size_t *ret_len, struct error *err)
{
	_cleanup_json_ yajl_val root = NULL;
	bool need[ARRAY_SIZE(stages)];
	bool any = false;

	int r = parse_config(text, &root, err);
	if (r < 0)
		return r;

	ssize_t hi = member_index(root, "hooks");
	yajl_val hooks = hi >= 0 ? root->u.object.values[hi] : NULL;
	if (hooks && !YAJL_IS_NULL(hooks) && !YAJL_IS_OBJECT(hooks))
		return err_msg(err, -EINVAL, "\"hooks\" is not an object");
	for (size_t s = 0; s < ARRAY_SIZE(stages); s++) {
		yajl_val list = json_get(hooks, stages[s]);
		if (list && !YAJL_IS_NULL(list) && !YAJL_IS_ARRAY(list))
			return err_msg(err, -EINVAL, "\"hooks.%s\" is not an array", stages[s]);
		need[s] = !list_has_path(list, hook->path);
		any |= need[s];
	}
	ssize_t ai = member_index(root, "annotations");
	yajl_val ann = ai >= 0 ? root->u.object.values[ai] : NULL;
	if (ann && !YAJL_IS_NULL(ann) && !YAJL_IS_OBJECT(ann))
		return err_msg(err, -EINVAL, "\"annotations\" is not an object");
	const char *policy = env_policy(root);
	if (!any && !policy)
		return 0;

	_cleanup_json_gen_ yajl_gen g = json_gen_new(true);
	yajl_gen_config(g, yajl_gen_indent_string, "\t");
	yajl_gen_map_open(g);
	for (size_t i = 0; i < root->u.object.len; i++) {
		jg_key(g, root->u.object.keys[i]);
		if ((ssize_t)i == hi)
			gen_hooks(g, hooks, hook, need);
		else if ((ssize_t)i == ai && policy)
			gen_annotations(g, ann, policy);
		else
			jg_value(g, root->u.object.values[i]);
	}
	if (hi < 0) {
		jg_key(g, "hooks");
		gen_hooks(g, NULL, hook, need);
	}
	if (ai < 0 && policy) {
		jg_key(g, "annotations");
		gen_annotations(g, NULL, policy);
	}
	yajl_gen_map_close(g);

	*ret = json_gen_take(g, ret_len);
	return 1;
}

int shim_add_hooks(const char *path, const struct shim_hook *hook, struct error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *text = NULL, *out = NULL;
	size_t len, out_len;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return err_msg(err, -errno, "%s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_msg(err, -EINVAL, "not a regular file");
	int r = read_fd(fd, CONFIG_MAX, &text, &len);
	if (r == -EFBIG)
		return err_msg(err, r, "larger than %u MiB", CONFIG_MAX >> 20);
	if (r < 0)
		return err_msg(err, r, "%s", strerror(-r));
	if (strlen(text) != len)
		return err_msg(err, -EINVAL, "invalid JSON: NUL byte at offset %zu", strlen(text));

	r = shim_rewrite_config(text, hook, &out, &out_len, err);
	if (r <= 0)
		return r;

	r = write_file_atomic(path, out, out_len, st.st_mode & 07777);
	if (r < 0)
		return err_errno(err, r, "cannot write the new file");
	/* Keep the owner too (an engine running as root on a user's bundle); best effort. */
	if (st.st_uid != geteuid() || st.st_gid != getegid())
		(void)!chown(path, st.st_uid, st.st_gid);
	return 1;
}

/* --- the real runtime ------------------------------------------------------------- */

static int readlink_malloc(const char *path, char **ret)
{
	for (size_t size = 256;; size *= 2) {
		_cleanup_free_ char *buf = xcalloc(1, size);
		ssize_t n = readlink(path, buf, size);
		if (n < 0)
			return -errno;
		if ((size_t)n < size) {
			buf[n] = '\0';
			*ret = TAKE_PTR(buf);
			return 0;
		}
	}
}

int shim_hook_path(char **ret, struct error *err)
{
	_cleanup_free_ char *exe = NULL;
	int r = readlink_malloc("/proc/self/exe", &exe);
	if (r < 0)
		return err_errno(err, r, "cannot read /proc/self/exe");
	const char *slash = strrchr(exe, '/');
	if (!slash)
		return err_msg(err, -EINVAL, "/proc/self/exe is not a path: %s", exe);
	*ret = xasprintf("%.*s/ocibpf-hook", (int)(slash - exe), exe);
	return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a && b && a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int shim_find_runtime(const char *name, const char *search_path, const struct stat *self,
		      char **ret, struct error *err)
{
	struct stat st;
	bool skipped_self = false;

	if (!*name)
		return err_msg(err, -ENOENT, "empty runtime name");
	if (strchr(name, '/')) {
		if (self && stat(name, &st) == 0 && same_file(&st, self))
			return err_msg(err, -ELOOP, "it is ocibpf-runtime itself");
		*ret = xstrdup(name);
		return 0;
	}

	const char *p = search_path ? search_path : DEFAULT_SEARCH_PATH;
	for (;;) {
		const char *end = strchrnul(p, ':');
		int n = (int)(end - p);
		_cleanup_free_ char *cand = xasprintf("%.*s/%s", n ? n : 1, n ? p : ".", name);
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
			if (!same_file(&st, self)) {
				*ret = TAKE_PTR(cand);
				return 0;
			}
			skipped_self = true;
		}
		if (!*end)
			break;
		p = end + 1;
	}
	if (skipped_self)
		return err_msg(err, -ENOENT, "no %s in PATH but ocibpf-runtime itself", name);
	return err_msg(err, -ENOENT, "not found in PATH");
}

/* --- runtime log ------------------------------------------------------------------- */

/* msg as a JSON string, which is what logrus' text format quotes like, near enough. */
static char *quote(const char *msg)
{
	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	jg_str(g, msg);
	return json_gen_take(g, NULL);
}

void shim_log_runtime_error(const struct shim_args *a, const char *msg)
{
	if (!a->log || !*a->log || streq(a->log, "/dev/stderr"))
		return;
	_cleanup_close_ int fd = open(a->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		return;

	char ts[32];
	format_rfc3339(realtime_ns(), ts);
	_cleanup_free_ char *line = NULL;
	if (a->log_format && streq(a->log_format, "json")) {
		_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
		yajl_gen_map_open(g);
		jg_key_str(g, "level", "error");
		jg_key_str(g, "msg", msg);
		jg_key_str(g, "time", ts);
		yajl_gen_map_close(g);
		_cleanup_free_ char *obj = json_gen_take(g, NULL);
		line = xasprintf("%s\n", obj);
	} else {
		_cleanup_free_ char *q = quote(msg);
		line = xasprintf("time=\"%s\" level=error msg=%s\n", ts, q);
	}
	(void)!write(fd, line, strlen(line));
}
