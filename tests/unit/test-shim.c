/* SPDX-License-Identifier: Apache-2.0 */
/* ocibpf-runtime: runc command lines, the config.json rewrite, finding the real runtime. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "shim.h"
#include "unit.h"

#define HOOK "/usr/local/libexec/ocibpf/ocibpf-hook"

static const struct shim_hook hook = { .path = HOOK };
static const struct shim_hook hook_env = { .path = HOOK, .config = "/etc/ocibpf/test.json" };

/* --- argument parsing -------------------------------------------------------------- */

#define ARGV(...) ((char *const[]){ "ocibpf-runtime", __VA_ARGS__, NULL })
#define ARGC(...) ((int)ARRAY_SIZE(((const char *[]){ "ocibpf-runtime", __VA_ARGS__ })))

/* Parse; the return value, with *a filled on success and err cleared. */
#define PARSE(a, ...) parse(a, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static char parse_msg[256];

static int parse(struct shim_args *a, int argc, char *const *argv)
{
	struct error err = {};
	*a = (struct shim_args){};
	parse_msg[0] = '\0';
	int r = shim_parse_args(argc, argv, a, &err);
	if (err.msg)
		snprintf(parse_msg, sizeof(parse_msg), "%s", err.msg);
	err_clear(&err);
	return r;
}

static void check_create(const struct shim_args *a, const char *bundle, const char *id)
{
	CHECK(a->creates);
	CHECK_STR_EQ(a->command, "create");
	CHECK_STR_EQ(a->bundle, bundle);
	CHECK_STR_EQ(a->id, id);
}

TEST(args_bundle_forms)
{
	struct shim_args a;

	CHECK_INT_EQ(PARSE(&a, "create", "--bundle", "/b1", "id1"), 0);
	check_create(&a, "/b1", "id1");
	CHECK_INT_EQ(PARSE(&a, "create", "-b", "/b2", "id2"), 0);
	check_create(&a, "/b2", "id2");
	CHECK_INT_EQ(PARSE(&a, "create", "--bundle=/b3", "id3"), 0);
	check_create(&a, "/b3", "id3");
	CHECK_INT_EQ(PARSE(&a, "create", "-b=/b4", "id4"), 0);
	check_create(&a, "/b4", "id4");
	/* Go's flag package takes one dash as well as two. */
	CHECK_INT_EQ(PARSE(&a, "create", "-bundle", "/b5", "id5"), 0);
	check_create(&a, "/b5", "id5");
	CHECK_INT_EQ(PARSE(&a, "create", "--bundle", "relative/dir", "id6"), 0);
	check_create(&a, "relative/dir", "id6");
}

TEST(args_bundle_default_is_working_dir)
{
	struct shim_args a;

	CHECK_INT_EQ(PARSE(&a, "create", "id1"), 0);
	check_create(&a, NULL, "id1");
	CHECK_INT_EQ(PARSE(&a, "create", "--bundle=", "id1"), 0);
	check_create(&a, NULL, "id1");
}

TEST(args_bundle_last_wins)
{
	struct shim_args a;

	CHECK_INT_EQ(PARSE(&a, "create", "-b", "/one", "--bundle=/two", "id1"), 0);
	check_create(&a, "/two", "id1");
}

TEST(args_global_flags_with_values)
{
	struct shim_args a;

	CHECK_INT_EQ(PARSE(&a, "--root=/x", "create", "--bundle", "/b", "id1"), 0);
	check_create(&a, "/b", "id1");
	CHECK_STR_EQ(a.root, "/x");
	CHECK_INT_EQ(a.command_index, 2);

	CHECK_INT_EQ(PARSE(&a, "--root", "/x", "create", "--bundle", "/b", "id1"), 0);
	check_create(&a, "/b", "id1");
	CHECK_STR_EQ(a.root, "/x");
	CHECK_INT_EQ(a.command_index, 3);

	/* containerd's line: global values must not be taken for the command. */
	CHECK_INT_EQ(PARSE(&a, "--root", "/run/containerd/runc/default",
			   "--log", "/run/containerd/t/log.json", "--log-format", "json",
			   "--systemd-cgroup", "create", "--bundle", "/run/containerd/t",
			   "--pid-file", "/run/containerd/t/init.pid", "ctr-1"), 0);
	check_create(&a, "/run/containerd/t", "ctr-1");
	CHECK_STR_EQ(a.root, "/run/containerd/runc/default");
	CHECK_STR_EQ(a.log, "/run/containerd/t/log.json");
	CHECK_STR_EQ(a.log_format, "json");

	CHECK_INT_EQ(PARSE(&a, "--debug", "--log=/l", "--log-format=text", "--criu", "create",
			   "--rootless", "auto", "-b", "/b", "id1"), 0);
	/* --criu takes "create" as its value, --rootless "auto", -b is an unknown switch. */
	CHECK(!a.creates);
	CHECK_STR_EQ(a.command, "/b");

	CHECK_INT_EQ(PARSE(&a, "--debug", "--log=/l", "--log-format=text", "--criu", "/usr/sbin/criu",
			   "--rootless", "auto", "create", "-b", "/b", "id1"), 0);
	check_create(&a, "/b", "id1");
	CHECK_STR_EQ(a.log, "/l");
	CHECK_STR_EQ(a.log_format, "text");
	CHECK_STR_EQ(a.root, NULL);
}

TEST(args_global_flags_edge_cases)
{
	struct shim_args a;

	/* A global flag without its value: no command, the runtime complains itself. */
	CHECK_INT_EQ(PARSE(&a, "--root"), 0);
	CHECK(!a.creates);
	CHECK_STR_EQ(a.command, NULL);
	CHECK_INT_EQ(a.command_index, 2);

	/* Unknown flags are taken to have no value. */
	CHECK_INT_EQ(PARSE(&a, "--some-new-switch", "create", "id1"), 0);
	check_create(&a, NULL, "id1");

	/* "--" ends the global flags. */
	CHECK_INT_EQ(PARSE(&a, "--debug", "--", "create", "id1"), 0);
	check_create(&a, NULL, "id1");

	/* crun's value flags. */
	CHECK_INT_EQ(PARSE(&a, "--cgroup-manager", "systemd", "--log-level", "debug", "create", "id1"), 0);
	check_create(&a, NULL, "id1");
}

TEST(args_flags_after_id)
{
	struct shim_args a;

	CHECK_INT_EQ(PARSE(&a, "create", "id1", "--bundle", "/b"), 0);
	check_create(&a, "/b", "id1");
	CHECK_INT_EQ(PARSE(&a, "create", "--pid-file", "/p", "id1", "--console-socket", "/s", "-b=/b",
			   "--no-pivot"), 0);
	check_create(&a, "/b", "id1");
	CHECK_INT_EQ(PARSE(&a, "create", "--preserve-fds", "2", "--no-new-keyring", "id1"), 0);
	check_create(&a, NULL, "id1");
	/* A value flag takes the next argument whatever it looks like (Go's flag). */
	CHECK_INT_EQ(PARSE(&a, "create", "--pid-file", "-odd", "id1"), 0);
	check_create(&a, NULL, "id1");
	/* After "--" everything is an argument; the id is the last one. */
	CHECK_INT_EQ(PARSE(&a, "create", "-b", "/b", "--", "-id1"), 0);
	check_create(&a, "/b", "-id1");
	/* crun's --config names the file, relative to the bundle. */
	CHECK_INT_EQ(PARSE(&a, "create", "-f", "other.json", "id1"), 0);
	check_create(&a, NULL, "id1");
	CHECK_STR_EQ(a.config, "other.json");
}

TEST(args_run_creates)
{
	struct shim_args a;

	CHECK_INT_EQ(PARSE(&a, "--root", "/r", "run", "-d", "--bundle", "/b", "--keep", "id1"), 0);
	CHECK(a.creates);
	CHECK_STR_EQ(a.command, "run");
	CHECK_STR_EQ(a.bundle, "/b");
	CHECK_STR_EQ(a.id, "id1");
	CHECK_INT_EQ(PARSE(&a, "run", "id2"), 0);
	CHECK(a.creates);
	CHECK_STR_EQ(a.id, "id2");
}

TEST(args_other_commands_pass_through)
{
	static const char *const commands[] = {
		"state", "start", "kill", "delete", "exec", "features", "ps", "pause", "resume",
		"update", "events", "list", "checkpoint", "restore", "spec", "help",
	};
	struct shim_args a;

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		char *argv[] = { "ocibpf-runtime", "--root", "/r", (char *)commands[i], "--bundle", "/b", "id1", NULL };
		CHECK_INT_EQ(parse(&a, 7, argv), 0);
		CHECK(!a.creates);
		CHECK_STR_EQ(a.command, commands[i]);
		CHECK_STR_EQ(a.bundle, NULL);
		CHECK_STR_EQ(a.id, NULL);
	}
	CHECK_INT_EQ(PARSE(&a, "--version"), 0);
	CHECK(!a.creates);
	CHECK_STR_EQ(a.command, NULL);
	CHECK_INT_EQ(PARSE(&a, "-v"), 0);
	CHECK_STR_EQ(a.command, NULL);
	CHECK_INT_EQ(PARSE(&a, "kill", "id1", "KILL"), 0);
	CHECK(!a.creates);
	/* No arguments at all. */
	char *argv[] = { "ocibpf-runtime", NULL };
	CHECK_INT_EQ(parse(&a, 1, argv), 0);
	CHECK(!a.creates);
	CHECK_STR_EQ(a.command, NULL);
	CHECK_INT_EQ(a.command_index, 1);
	/* Commands are case-sensitive, as in runc. */
	CHECK_INT_EQ(PARSE(&a, "CREATE", "id1"), 0);
	CHECK(!a.creates);
}

TEST(args_create_help_passes_through)
{
	struct shim_args a;

	CHECK_INT_EQ(PARSE(&a, "create", "--help"), 0);
	CHECK(!a.creates);
	CHECK_INT_EQ(PARSE(&a, "run", "-h"), 0);
	CHECK(!a.creates);
}

TEST(args_missing_id_or_value)
{
	struct shim_args a;

	CHECK_INT_EQ(PARSE(&a, "create"), -EINVAL);
	CHECK_STR_EQ(parse_msg, "create: container id missing");
	CHECK_INT_EQ(PARSE(&a, "--root", "/r", "create", "--bundle", "/b"), -EINVAL);
	CHECK_STR_EQ(parse_msg, "create: container id missing");
	CHECK_INT_EQ(PARSE(&a, "run", "-d"), -EINVAL);
	CHECK_STR_EQ(parse_msg, "run: container id missing");
	CHECK_INT_EQ(PARSE(&a, "create", "id1", "--bundle"), -EINVAL);
	CHECK_STR_EQ(parse_msg, "create: option --bundle needs a value");
	CHECK_INT_EQ(PARSE(&a, "create", "id1", "-b"), -EINVAL);
	CHECK_STR_EQ(parse_msg, "create: option -b needs a value");
}

TEST(args_point_into_argv)
{
	char bundle_arg[] = "--bundle=/b", id[] = "id1";
	char *argv[] = { "ocibpf-runtime", "create", bundle_arg, id, NULL };
	struct shim_args a;

	CHECK_INT_EQ(parse(&a, 4, argv), 0);
	CHECK(a.bundle == bundle_arg + strlen("--bundle="));
	CHECK(a.id == id);
	CHECK_STR_EQ(bundle_arg, "--bundle=/b");
}

/* --- config.json rewrite ------------------------------------------------------------ */

static char rewrite_msg[512];

/* Rewrite; returns shim_rewrite_config()'s value, *ret the new text (or NULL). */
static int rewrite(const char *text, const struct shim_hook *h, char **ret)
{
	struct error err = {};
	size_t len = 0;
	*ret = NULL;
	rewrite_msg[0] = '\0';
	int r = shim_rewrite_config(text, h, ret, &len, &err);
	if (err.msg)
		snprintf(rewrite_msg, sizeof(rewrite_msg), "%s", err.msg);
	err_clear(&err);
	if (r > 0)
		CHECK_INT_EQ(len, strlen(*ret));
	return r;
}

static yajl_val parse_json(const char *text)
{
	yajl_val v = NULL;
	CHECK(text && json_parse(text, "output", &v, NULL) == 0);
	return v;
}

static bool json_equal(yajl_val a, yajl_val b)
{
	if (!a || !b || a->type != b->type)
		return a == b;
	switch (a->type) {
	case yajl_t_string:
		return strcmp(a->u.string, b->u.string) == 0;
	case yajl_t_number:
		return strcmp(a->u.number.r, b->u.number.r) == 0;
	case yajl_t_object:
		if (a->u.object.len != b->u.object.len)
			return false;
		for (size_t i = 0; i < a->u.object.len; i++)
			if (strcmp(a->u.object.keys[i], b->u.object.keys[i]) != 0 ||
			    !json_equal(a->u.object.values[i], b->u.object.values[i]))
				return false;
		return true;
	case yajl_t_array:
		if (a->u.array.len != b->u.array.len)
			return false;
		for (size_t i = 0; i < a->u.array.len; i++)
			if (!json_equal(a->u.array.values[i], b->u.array.values[i]))
				return false;
		return true;
	default:
		return true;
	}
}

static size_t array_len(yajl_val v) { return YAJL_IS_ARRAY(v) ? v->u.array.len : 0; }

static yajl_val at(yajl_val arr, size_t i)
{
	return YAJL_IS_ARRAY(arr) && i < arr->u.array.len ? arr->u.array.values[i] : NULL;
}

static yajl_val stage_list(yajl_val root, const char *stage)
{
	return json_get(json_get(root, "hooks"), stage);
}

/* The entry is ours for stage, with env exactly [env] or no env when NULL. */
static void check_entry(yajl_val e, const char *stage, const char *env)
{
	CHECK(YAJL_IS_OBJECT(e));
	CHECK_STR_EQ(json_get_string(e, "path"), HOOK);
	yajl_val args = json_get(e, "args");
	CHECK_INT_EQ(array_len(args), 2);
	CHECK_STR_EQ(YAJL_GET_STRING(at(args, 0)), "ocibpf-hook");
	CHECK_STR_EQ(YAJL_GET_STRING(at(args, 1)), stage);
	yajl_val ev = json_get(e, "env");
	if (!env) {
		CHECK(ev == NULL);
		return;
	}
	CHECK_INT_EQ(array_len(ev), 1);
	CHECK_STR_EQ(YAJL_GET_STRING(at(ev, 0)), env);
	CHECK(json_get(e, "timeout") == NULL);
}

TEST(config_no_hooks_key)
{
	_cleanup_free_ char *out = NULL;

	CHECK_INT_EQ(rewrite("{\"ociVersion\": \"1.0.2\", \"process\": {\"args\": [\"sh\"]}}", &hook, &out), 1);
	_cleanup_json_ yajl_val v = parse_json(out);
	CHECK_INT_EQ(v->u.object.len, 3);
	CHECK_STR_EQ(v->u.object.keys[0], "ociVersion");
	CHECK_STR_EQ(v->u.object.keys[1], "process");
	CHECK_STR_EQ(v->u.object.keys[2], "hooks");
	CHECK_INT_EQ(array_len(stage_list(v, "createRuntime")), 1);
	CHECK_INT_EQ(array_len(stage_list(v, "poststop")), 1);
	check_entry(at(stage_list(v, "createRuntime"), 0), "createRuntime", NULL);
	check_entry(at(stage_list(v, "poststop"), 0), "poststop", NULL);
	/* Nothing else appears under hooks. */
	CHECK_INT_EQ(json_get(v, "hooks")->u.object.len, 2);
}

TEST(config_empty_object_and_null_hooks)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

	CHECK_INT_EQ(rewrite("{}", &hook, &a), 1);
	_cleanup_json_ yajl_val va = parse_json(a);
	check_entry(at(stage_list(va, "poststop"), 0), "poststop", NULL);

	/* null reads as absent, as in Go's encoding/json. */
	CHECK_INT_EQ(rewrite("{\"hooks\": null, \"x\": 1}", &hook, &b), 1);
	_cleanup_json_ yajl_val vb = parse_json(b);
	CHECK_STR_EQ(vb->u.object.keys[0], "hooks");
	check_entry(at(stage_list(vb, "createRuntime"), 0), "createRuntime", NULL);

	CHECK_INT_EQ(rewrite("{\"hooks\": {\"createRuntime\": null, \"poststop\": []}}", &hook, &c), 1);
	_cleanup_json_ yajl_val vc = parse_json(c);
	CHECK_INT_EQ(array_len(stage_list(vc, "createRuntime")), 1);
	CHECK_INT_EQ(array_len(stage_list(vc, "poststop")), 1);
}

TEST(config_existing_hooks_kept_in_order)
{
	static const char in[] =
		"{\"hooks\": {"
		" \"prestart\": [{\"path\": \"/bin/p\"}],"
		" \"createRuntime\": [{\"path\": \"/bin/a\", \"args\": [\"a\", \"1\"]},"
		"                     {\"path\": \"/bin/b\", \"timeout\": 5}],"
		" \"startContainer\": [{\"path\": \"/bin/s\"}],"
		" \"poststop\": [{\"path\": \"/bin/z\", \"env\": [\"A=B\"]}]"
		"}, \"ociVersion\": \"1.0.2\"}";
	_cleanup_free_ char *out = NULL;

	CHECK_INT_EQ(rewrite(in, &hook, &out), 1);
	_cleanup_json_ yajl_val v = parse_json(out);
	_cleanup_json_ yajl_val orig = parse_json(in);
	yajl_val hooks = json_get(v, "hooks");
	CHECK_INT_EQ(hooks->u.object.len, 4);
	CHECK_STR_EQ(hooks->u.object.keys[0], "prestart");
	CHECK_STR_EQ(hooks->u.object.keys[1], "createRuntime");
	CHECK_STR_EQ(hooks->u.object.keys[2], "startContainer");
	CHECK_STR_EQ(hooks->u.object.keys[3], "poststop");
	CHECK(json_equal(json_get(hooks, "prestart"), json_get(json_get(orig, "hooks"), "prestart")));
	CHECK(json_equal(json_get(hooks, "startContainer"),
			 json_get(json_get(orig, "hooks"), "startContainer")));

	yajl_val cr = stage_list(v, "createRuntime");
	CHECK_INT_EQ(array_len(cr), 3);
	CHECK(json_equal(at(cr, 0), at(stage_list(orig, "createRuntime"), 0)));
	CHECK(json_equal(at(cr, 1), at(stage_list(orig, "createRuntime"), 1)));
	check_entry(at(cr, 2), "createRuntime", NULL);

	yajl_val ps = stage_list(v, "poststop");
	CHECK_INT_EQ(array_len(ps), 2);
	CHECK(json_equal(at(ps, 0), at(stage_list(orig, "poststop"), 0)));
	check_entry(at(ps, 1), "poststop", NULL);
	CHECK_STR_EQ(v->u.object.keys[1], "ociVersion");
}

TEST(config_already_present_not_duplicated)
{
	_cleanup_free_ char *once = NULL, *twice = NULL, *half = NULL;

	CHECK_INT_EQ(rewrite("{\"hooks\": {\"poststop\": [{\"path\": \"/x\"}]}}", &hook_env, &once), 1);
	/* A second pass finds both and leaves the text alone. */
	CHECK_INT_EQ(rewrite(once, &hook_env, &twice), 0);
	CHECK(twice == NULL);
	/* Same path is enough, whatever the args or env say. */
	CHECK_INT_EQ(rewrite(once, &hook, &twice), 0);

	/* Only one list has it: only the other one grows. */
	static const char in[] =
		"{\"hooks\": {\"createRuntime\": [{\"path\": \"" HOOK "\", \"args\": [\"custom\"]}],"
		" \"poststop\": [{\"path\": \"/other/ocibpf-hook\"}]}}";
	CHECK_INT_EQ(rewrite(in, &hook, &half), 1);
	_cleanup_json_ yajl_val v = parse_json(half);
	_cleanup_json_ yajl_val orig = parse_json(in);
	CHECK(json_equal(stage_list(v, "createRuntime"), stage_list(orig, "createRuntime")));
	CHECK_INT_EQ(array_len(stage_list(v, "poststop")), 2);
	check_entry(at(stage_list(v, "poststop"), 1), "poststop", NULL);
}

TEST(config_policy_from_env_becomes_the_annotation)
{
	_cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;

	/* Docker's config: no annotations member; the first OCIBPF_POLICY counts. */
	CHECK_INT_EQ(rewrite("{\"process\": {\"env\": [\"PATH=/bin\", \"OCIBPF_POLICY=web\", "
			     "\"OCIBPF_POLICY=other\"]}}", &hook, &a), 1);
	_cleanup_json_ yajl_val va = parse_json(a);
	CHECK_STR_EQ(json_get_string(json_get(va, "annotations"), "io.ocibpf.policy"), "web");
	CHECK_INT_EQ(array_len(json_get(json_get(va, "process"), "env")), 3);
	/* Hooks there already: the annotation alone is reason to rewrite; a second pass
	 * finds it and leaves the text alone. */
	CHECK_INT_EQ(rewrite(a, &hook, &b), 0);

	/* Other annotations kept in order, ours last. */
	CHECK_INT_EQ(rewrite("{\"annotations\": {\"x\": \"1\"}, \"process\": {\"env\": "
			     "[\"OCIBPF_POLICY=web\"]}}", &hook, &c), 1);
	_cleanup_json_ yajl_val vc = parse_json(c);
	yajl_val ann = json_get(vc, "annotations");
	CHECK_INT_EQ(ann->u.object.len, 2);
	CHECK_STR_EQ(ann->u.object.keys[0], "x");
	CHECK_STR_EQ(ann->u.object.keys[1], "io.ocibpf.policy");

	/* An annotation set by the engine counts over the variable. */
	CHECK_INT_EQ(rewrite("{\"annotations\": {\"io.ocibpf.policy\": \"a\"}, \"process\": "
			     "{\"env\": [\"OCIBPF_POLICY=b\"]}}", &hook, &d), 1);
	_cleanup_json_ yajl_val vd = parse_json(d);
	CHECK_STR_EQ(json_get_string(json_get(vd, "annotations"), "io.ocibpf.policy"), "a");

	/* Empty: no policy; annotations that are not an object: refused. */
	CHECK_INT_EQ(rewrite("{\"process\": {\"env\": [\"OCIBPF_POLICY=\"]}}", &hook, &e), 1);
	CHECK(strstr(e, "io.ocibpf.policy") == NULL);
	char *f = NULL;
	CHECK_INT_EQ(rewrite("{\"annotations\": [], \"process\": {\"env\": [\"OCIBPF_POLICY=w\"]}}",
			     &hook, &f), -EINVAL);
	CHECK(strstr(rewrite_msg, "annotations") != NULL);
}

TEST(config_env_only_with_config)
{
	_cleanup_free_ char *with = NULL, *without = NULL;

	CHECK_INT_EQ(rewrite("{}", &hook_env, &with), 1);
	_cleanup_json_ yajl_val v = parse_json(with);
	check_entry(at(stage_list(v, "createRuntime"), 0), "createRuntime",
		    "OCIBPF_CONFIG=/etc/ocibpf/test.json");
	check_entry(at(stage_list(v, "poststop"), 0), "poststop", "OCIBPF_CONFIG=/etc/ocibpf/test.json");

	CHECK_INT_EQ(rewrite("{}", &hook, &without), 1);
	CHECK(strstr(without, "env") == NULL);
	CHECK(strstr(without, "OCIBPF_CONFIG") == NULL);
}

TEST(config_other_keys_and_unicode_preserved)
{
	static const char in[] =
		"{\"ociVersion\": \"1.0.2-dev\","
		" \"annotations\": {\"io.ocibpf.policy\": \"web\", \"note\": \"h\\u00e9llo \xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac"
		" \\ud83d\\ude00 \\\"q\\\" \\\\ \\t \\/\"},"
		" \"process\": {\"args\": [\"sh\", \"-c\", \"echo '\xe2\x82\xac'\"], \"user\": {\"uid\": 0},"
		"   \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 18446744073709551615, \"soft\": 1024}],"
		"   \"oomScoreAdj\": -17, \"terminal\": false, \"cwd\": \"/\"},"
		" \"linux\": {\"resources\": {\"cpu\": {\"shares\": 1.50e3}}, \"seccomp\": null},"
		" \"empty\": {}, \"none\": [], \"t\": true}";
	_cleanup_free_ char *out = NULL;

	CHECK_INT_EQ(rewrite(in, &hook, &out), 1);
	_cleanup_json_ yajl_val v = parse_json(out);
	_cleanup_json_ yajl_val orig = parse_json(in);
	/* Everything but the added "hooks" is the same, in the same order. */
	CHECK_INT_EQ(v->u.object.len, orig->u.object.len + 1);
	for (size_t i = 0; i < orig->u.object.len; i++) {
		CHECK_STR_EQ(v->u.object.keys[i], orig->u.object.keys[i]);
		CHECK(json_equal(v->u.object.values[i], orig->u.object.values[i]));
	}
	CHECK_STR_EQ(json_get_string(json_get(v, "annotations"), "note"),
		     "h\xc3\xa9llo \xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 \"q\" \\ \t /");
	/* Numbers are carried as written: no rounding of big or odd ones. */
	CHECK_STR_CONTAINS(out, "18446744073709551615");
	CHECK_STR_CONTAINS(out, "1.50e3");
	CHECK_STR_CONTAINS(out, "-17");
}

TEST(config_duplicate_keys_last_counts)
{
	_cleanup_free_ char *out = NULL;

	CHECK_INT_EQ(rewrite("{\"hooks\": 5, \"hooks\": {\"poststop\": []}}", &hook, &out), 1);
	_cleanup_json_ yajl_val v = parse_json(out);
	CHECK_INT_EQ(v->u.object.len, 2);
	CHECK(YAJL_IS_INTEGER(v->u.object.values[0]));
	CHECK_INT_EQ(array_len(stage_list(v, "poststop")), 1);
	CHECK_INT_EQ(array_len(stage_list(v, "createRuntime")), 1);
}

TEST(config_invalid_json_rejected)
{
	static const char *const bad[] = {
		"", "   ", "{", "{\"a\": }", "{\"a\": 1,}", "{\"hooks\": {\"poststop\": [}",
		"not json", "{\"a\": \"\xff\"}",
	};
	_cleanup_free_ char *out = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_INT_EQ(rewrite(bad[i], &hook, &out), -EINVAL);
		CHECK(out == NULL);
		CHECK(strncmp(rewrite_msg, "invalid JSON: ", 14) == 0);
		CHECK(strchr(rewrite_msg, '\n') == NULL);
	}
	CHECK_INT_EQ(rewrite("[]", &hook, &out), -EINVAL);
	CHECK_STR_EQ(rewrite_msg, "not a JSON object");
	CHECK_INT_EQ(rewrite("\"x\"", &hook, &out), -EINVAL);
	CHECK_STR_EQ(rewrite_msg, "not a JSON object");
}

TEST(config_hooks_not_an_object_rejected)
{
	static const char *const bad[] = {
		"{\"hooks\": []}", "{\"hooks\": \"x\"}", "{\"hooks\": 1}", "{\"hooks\": true}",
	};
	_cleanup_free_ char *out = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_INT_EQ(rewrite(bad[i], &hook, &out), -EINVAL);
		CHECK_STR_EQ(rewrite_msg, "\"hooks\" is not an object");
	}
	CHECK_INT_EQ(rewrite("{\"hooks\": {\"createRuntime\": {}}}", &hook, &out), -EINVAL);
	CHECK_STR_EQ(rewrite_msg, "\"hooks.createRuntime\" is not an array");
	CHECK_INT_EQ(rewrite("{\"hooks\": {\"poststop\": \"/bin/x\"}}", &hook, &out), -EINVAL);
	CHECK_STR_EQ(rewrite_msg, "\"hooks.poststop\" is not an array");
	CHECK(out == NULL);
}

/* {"a": [[...]]} with depth arrays. */
static char *nested(size_t depth)
{
	char *s = xcalloc(1, 2 * depth + 8);
	memcpy(s, "{\"a\":", 5);
	memset(s + 5, '[', depth);
	memset(s + 5 + depth, ']', depth);
	s[5 + 2 * depth] = '}';
	return s;
}

TEST(config_too_deep_rejected)
{
	_cleanup_free_ char *deep = nested(5000), *ok = nested(90);
	_cleanup_free_ char *out = NULL, *ok_out = NULL;

	CHECK_INT_EQ(rewrite(deep, &hook, &out), -EINVAL);
	CHECK_STR_EQ(rewrite_msg, "invalid JSON: nested more than 100 levels deep");

	/* Ninety levels are fine and come out whole. */
	CHECK_INT_EQ(rewrite(ok, &hook, &ok_out), 1);
	_cleanup_json_ yajl_val v = parse_json(ok_out);
	_cleanup_json_ yajl_val orig = parse_json(ok);
	CHECK(json_equal(json_get(v, "a"), json_get(orig, "a")));

	/* Brackets in strings don't count. */
	_cleanup_free_ char *str = xcalloc(1, 1024), *str_out = NULL;
	strcpy(str, "{\"a\": \"\\\"");
	memset(str + strlen(str), '[', 500);
	strcat(str, "\", \"b\": 1}");
	CHECK_INT_EQ(rewrite(str, &hook, &str_out), 1);
	_cleanup_json_ yajl_val vs = parse_json(str_out);
	CHECK_INT_EQ(strlen(json_get_string(vs, "a")), 501);
	/* Comments are not JSON (runc would refuse the file too). */
	_cleanup_free_ char *comment_out = NULL;
	CHECK_INT_EQ(rewrite("{\"a\": 1 /* x */}", &hook, &comment_out), -EINVAL);
}

TEST(config_nul_in_string_rejected)
{
	_cleanup_free_ char *out = NULL;

	/* yajl's tree would cut the string there: refuse rather than lose the rest. */
	CHECK_INT_EQ(rewrite("{\"annotations\": {\"a\": \"x\\u0000y\"}}", &hook, &out), -EINVAL);
	CHECK_STR_EQ(rewrite_msg, "invalid JSON: strings with \\u0000 are not supported");
	/* An escaped backslash before u0000 is just text. */
	CHECK_INT_EQ(rewrite("{\"a\": \"\\\\u0000\"}", &hook, &out), 1);
	_cleanup_json_ yajl_val v = parse_json(out);
	CHECK_STR_EQ(json_get_string(v, "a"), "\\u0000");
}

/* --- the file ------------------------------------------------------------------------- */

static char *make_tmpdir(void)
{
	char *dir = xstrdup("/tmp/test-shim.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	return dir;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	CHECK_INT_EQ(write_file_atomic(path, text, strlen(text), mode), 0);
}

static size_t count_entries(const char *dir)
{
	size_t n = 0;
	_cleanup_free_ char *cmd = xasprintf("ls -A '%s'", dir);
	FILE *f = popen(cmd, "r");
	char line[512];
	while (f && fgets(line, sizeof(line), f))
		n++;
	if (f)
		pclose(f);
	return n;
}

TEST(file_rewritten_atomically_keeping_mode)
{
	_cleanup_free_ char *dir = make_tmpdir();
	_cleanup_free_ char *path = path_join(dir, "config.json");
	_cleanup_free_ char *text = NULL;
	struct error err = {};
	struct stat before, after, again;

	write_text(path, "{\"ociVersion\": \"1.0.2\"}", 0640);
	CHECK_INT_EQ(stat(path, &before), 0);
	CHECK_INT_EQ(shim_add_hooks(path, &hook_env, &err), 1);
	CHECK(err.msg == NULL);
	CHECK_INT_EQ(stat(path, &after), 0);
	CHECK_INT_EQ(after.st_mode & 07777, 0640);
	CHECK(after.st_ino != before.st_ino); /* a new file renamed over the old one */
	CHECK_INT_EQ(count_entries(dir), 1);   /* no temporary file left */

	CHECK_INT_EQ(read_file(path, 1 << 20, &text, NULL), 0);
	_cleanup_json_ yajl_val v = parse_json(text);
	CHECK_STR_EQ(json_get_string(v, "ociVersion"), "1.0.2");
	check_entry(at(stage_list(v, "createRuntime"), 0), "createRuntime",
		    "OCIBPF_CONFIG=/etc/ocibpf/test.json");

	/* Second time: nothing to add, the file is not rewritten. */
	CHECK_INT_EQ(shim_add_hooks(path, &hook_env, &err), 0);
	CHECK_INT_EQ(stat(path, &again), 0);
	CHECK(again.st_ino == after.st_ino);
	CHECK(rm_rf(dir) == 0);
}

TEST(file_errors)
{
	_cleanup_free_ char *dir = make_tmpdir();
	_cleanup_free_ char *path = path_join(dir, "config.json");
	struct error err = {};

	CHECK_INT_EQ(shim_add_hooks(path, &hook, &err), -ENOENT);
	CHECK_STR_EQ(err.msg, "No such file or directory");
	err_clear(&err);

	CHECK_INT_EQ(shim_add_hooks(dir, &hook, &err), -EINVAL);
	CHECK_STR_EQ(err.msg, "not a regular file");
	err_clear(&err);

	write_text(path, "{\"hooks\": [", 0600);
	CHECK_INT_EQ(shim_add_hooks(path, &hook, &err), -EINVAL);
	CHECK(err.msg && strncmp(err.msg, "invalid JSON: ", 14) == 0);
	err_clear(&err);

	CHECK_INT_EQ(write_file_atomic(path, "{}\0{}", 5, 0600), 0);
	CHECK_INT_EQ(shim_add_hooks(path, &hook, &err), -EINVAL);
	CHECK_STR_EQ(err.msg, "invalid JSON: NUL byte at offset 2");
	err_clear(&err);
	CHECK(rm_rf(dir) == 0);
}

/* --- hook path and runtime lookup ------------------------------------------------------ */

TEST(hook_path_beside_self)
{
	_cleanup_free_ char *p = NULL, *exe = NULL;
	struct error err = {};

	CHECK_INT_EQ(shim_hook_path(&p, &err), 0);
	exe = realpath("/proc/self/exe", NULL);
	CHECK(exe != NULL);
	char *slash = exe ? strrchr(exe, '/') : NULL;
	if (slash)
		strcpy(slash + 1, "ocibpf-hook");
	CHECK_STR_EQ(p, exe);
}

TEST(find_runtime_skips_self)
{
	_cleanup_free_ char *d1 = make_tmpdir(), *d2 = make_tmpdir(), *d3 = make_tmpdir();
	_cleanup_free_ char *self_path = realpath("/proc/self/exe", NULL);
	_cleanup_free_ char *link = path_join(d1, "fake-rt");
	_cleanup_free_ char *real = path_join(d2, "fake-rt");
	_cleanup_free_ char *noexec = path_join(d3, "fake-rt");
	_cleanup_free_ char *search = xasprintf("%s:%s:%s", d3, d1, d2);
	_cleanup_free_ char *only_self = xasprintf("%s:%s", d3, d1);
	struct error err = {};
	struct stat self;
	char *found = NULL;

	CHECK_INT_EQ(stat("/proc/self/exe", &self), 0);
	CHECK_INT_EQ(symlink(self_path, link), 0);
	write_text(real, "#!/bin/sh\n", 0755);
	write_text(noexec, "#!/bin/sh\n", 0644);

	/* d3's is not executable, d1's is this very program: d2's it is. */
	CHECK_INT_EQ(shim_find_runtime("fake-rt", search, &self, &found, &err), 0);
	CHECK_STR_EQ(found, real);
	free(TAKE_PTR(found));

	/* Without knowing self, the first executable one. */
	CHECK_INT_EQ(shim_find_runtime("fake-rt", search, NULL, &found, &err), 0);
	CHECK_STR_EQ(found, link);
	free(TAKE_PTR(found));

	CHECK_INT_EQ(shim_find_runtime("fake-rt", only_self, &self, &found, &err), -ENOENT);
	CHECK_STR_EQ(err.msg, "no fake-rt in PATH but ocibpf-runtime itself");
	err_clear(&err);

	CHECK_INT_EQ(shim_find_runtime("not-there", search, &self, &found, &err), -ENOENT);
	CHECK_STR_EQ(err.msg, "not found in PATH");
	err_clear(&err);

	/* Paths are taken as they are, unless they are self. */
	CHECK_INT_EQ(shim_find_runtime(real, NULL, &self, &found, &err), 0);
	CHECK_STR_EQ(found, real);
	free(TAKE_PTR(found));
	CHECK_INT_EQ(shim_find_runtime(link, NULL, &self, &found, &err), -ELOOP);
	CHECK_STR_EQ(err.msg, "it is ocibpf-runtime itself");
	err_clear(&err);

	/* The default search path has sh. */
	CHECK_INT_EQ(shim_find_runtime("sh", NULL, &self, &found, &err), 0);
	CHECK(found && found[0] == '/');
	free(TAKE_PTR(found));

	CHECK(rm_rf(d1) == 0 && rm_rf(d2) == 0 && rm_rf(d3) == 0);
}

/* --- runtime log ----------------------------------------------------------------------- */

TEST(runtime_log_formats)
{
	_cleanup_free_ char *dir = make_tmpdir();
	_cleanup_free_ char *json_log = path_join(dir, "log.json");
	_cleanup_free_ char *text_log = path_join(dir, "log.txt");
	_cleanup_free_ char *j = NULL, *t = NULL;
	struct shim_args a = { .log = json_log, .log_format = "json" };

	shim_log_runtime_error(&a, "ocibpf-runtime: id1: cannot add hooks to \"x\"");
	CHECK_INT_EQ(read_file(json_log, 1 << 20, &j, NULL), 0);
	CHECK(j && j[strlen(j) - 1] == '\n');
	_cleanup_json_ yajl_val v = parse_json(j);
	CHECK_STR_EQ(json_get_string(v, "level"), "error");
	CHECK_STR_EQ(json_get_string(v, "msg"), "ocibpf-runtime: id1: cannot add hooks to \"x\"");
	CHECK(json_get_string(v, "time") != NULL);

	a = (struct shim_args){ .log = text_log };
	shim_log_runtime_error(&a, "bad \"x\"");
	CHECK_INT_EQ(read_file(text_log, 1 << 20, &t, NULL), 0);
	CHECK_STR_CONTAINS(t, " level=error msg=\"bad \\\"x\\\"\"\n");
	CHECK(t && strncmp(t, "time=\"", 6) == 0);

	/* No --log: nothing written anywhere. */
	a = (struct shim_args){};
	shim_log_runtime_error(&a, "nothing");
	CHECK_INT_EQ(count_entries(dir), 2);
	CHECK(rm_rf(dir) == 0);
}
