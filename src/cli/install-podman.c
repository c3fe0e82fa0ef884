/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocibpf install podman: a hooks.d 1.0.0 file (oci-hooks(5)) in the directory the
 * installed Podman reads hooks from.
 *
 * Podman reads hooks.d files from the directories of `hooks_dir` in the [engine] table
 * of containers.conf; without one, from its built-in default, which for Podman 4
 * (Debian 12 ships 4.3.1) is /usr/share/containers/oci/hooks.d alone: a file in
 * /etc/containers/oci/hooks.d is then never read. containers.conf is read as Podman
 * reads it: $CONTAINERS_CONF alone when that is set, else
 * /usr/share/containers/containers.conf, /etc/containers/containers.conf and
 * /etc/containers/containers.conf.d/ *.conf in order, a later setting replacing an earlier
 * one. Of several directories the last wins (a file there overrides one of the same name
 * in an earlier directory), so the file goes there.
 *
 * After writing, `podman --help` (whose --hooks-dir default is what Podman will read)
 * must list that directory; it is said on stdout, and it is an error when it does not.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "install.h"
#include "toml.h"

#define HOOK_TIMEOUT_S 30
#define PODMAN_DEFAULT_HOOKS_DIR "/usr/share/containers/oci/hooks.d"
#define CONF_DROPIN_DIR "/etc/containers/containers.conf.d"

static char *gen_hooks_d(const struct install *in, const char *hook, size_t *ret_len)
{
	_cleanup_json_gen_ yajl_gen g = json_gen_new(true);
	yajl_gen_config(g, yajl_gen_indent_string, "  ");
	yajl_gen_map_open(g);
	jg_key_str(g, "version", "1.0.0");

	jg_key(g, "hook");
	yajl_gen_map_open(g);
	jg_key_str(g, "path", hook);
	jg_key(g, "args");
	yajl_gen_array_open(g);
	jg_str(g, "ocibpf-hook");
	yajl_gen_array_close(g);
	if (in->config_env) {
		_cleanup_free_ char *env = xasprintf("OCIBPF_CONFIG=%s", in->config_env);
		jg_key(g, "env");
		yajl_gen_array_open(g);
		jg_str(g, env);
		yajl_gen_array_close(g);
	}
	jg_key_int(g, "timeout", HOOK_TIMEOUT_S);
	yajl_gen_map_close(g);

	/* Every container when there is a default policy, else those that name one. */
	jg_key(g, "when");
	yajl_gen_map_open(g);
	if (in->cfg->default_policy) {
		jg_key_bool(g, "always", true);
	} else {
		jg_key(g, "annotations");
		yajl_gen_map_open(g);
		jg_key_str(g, "^io\\.ocibpf\\.policy$", ".*");
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);

	jg_key(g, "stages");
	yajl_gen_array_open(g);
	jg_str(g, "createRuntime");
	jg_str(g, "poststop");
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	char *text = json_gen_take(g, ret_len);
	return install_with_newline(text, ret_len);
}

int plan_hooks_d_file(struct install *in, const char *dir, struct error *err)
{
	_cleanup_free_ char *hook = NULL;
	int r = install_sibling(in, "ocibpf-hook", &hook, err);
	if (r < 0)
		return r;
	size_t len;
	char *text = gen_hooks_d(in, hook, &len);
	_cleanup_free_ char *path = path_join(dir, "ocibpf.json");
	install_add_file(in, path, text, len, 0644, false);
	if (!in->cfg->default_policy)
		install_add_note(in, "the hook runs for containers annotated " POLICY_ANNOTATION "=NAME "
				 "(set default_policy in the configuration for every container)");
	return 0;
}

/* "*.conf" names of the drop-in directory. */
static char *take_conf(const char *name)
{
	size_t n = strlen(name);
	return n > 5 && strcmp(name + n - 5, ".conf") == 0 ? xstrdup(name) : NULL;
}

/* hooks_dir of one containers.conf (under --root), replacing *dirs when it sets one. */
static int read_conf(const struct install *in, const char *file, char ***dirs, char **from,
		     struct error *err)
{
	static const char *const engine[] = { "engine", NULL };
	_cleanup_free_ char *path = install_rooted(in, file);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = install_read_existing(path, &text, &len, err);
	if (r < 0 || !text)
		return r;
	char **v = NULL;
	r = toml_get_strv(text, engine, "hooks_dir", &v);
	if (r < 0)
		return err_msg(err, r, "%s: hooks_dir in [engine] is not an array of strings", path);
	if (v) {
		strv_free(*dirs);
		*dirs = v;
		free(*from);
		*from = xstrdup(file);
	}
	return 0;
}

/* The directories Podman reads hooks from, and which file said so (NULL: the default). */
static int podman_hooks_dirs(const struct install *in, char ***ret, char **ret_from,
			     struct error *err)
{
	char **dirs = NULL, *from = NULL;
	const char *env = getenv("CONTAINERS_CONF");
	int r;
	if (env && *env) {
		r = read_conf(in, env, &dirs, &from, err);
	} else {
		r = read_conf(in, "/usr/share/containers/containers.conf", &dirs, &from, err);
		if (r == 0)
			r = read_conf(in, "/etc/containers/containers.conf", &dirs, &from, err);
		_cleanup_free_ char *d = install_rooted(in, CONF_DROPIN_DIR);
		char **names = r == 0 ? dir_list(d, take_conf) : NULL;
		for (char **n = names; r == 0 && n && *n; n++) {
			_cleanup_free_ char *f = path_join(CONF_DROPIN_DIR, *n);
			r = read_conf(in, f, &dirs, &from, err);
		}
		strv_free(names);
	}
	if (r < 0) {
		strv_free(dirs);
		free(from);
		return r;
	}
	if (!dirs || !dirs[0]) {
		strv_free(dirs);
		free(from);
		dirs = xcalloc(2, sizeof(char *));
		dirs[0] = xstrdup(PODMAN_DEFAULT_HOOKS_DIR);
		from = NULL;
	}
	*ret = dirs;
	*ret_from = from;
	return 0;
}

/* What `podman --help` gives as the default of --hooks-dir: "[a,b]" -> a, b. */
static int podman_says(char ***ret, struct error *err)
{
	char *argv[] = { "podman", "--help", NULL };
	_cleanup_free_ char *out = NULL;
	int r = install_capture(argv, &out, err);
	if (r < 0)
		return r;
	const char *line = strstr(out, "--hooks-dir");
	const char *eol = line ? strchrnul(line, '\n') : NULL;
	const char *def = line ? strstr(line, "(default [") : NULL;
	if (!def || def > eol)
		return err_msg(err, -EINVAL, "podman --help shows no default for --hooks-dir");
	def += strlen("(default [");
	const char *end = strchr(def, ']');
	if (!end || end > eol)
		return err_msg(err, -EINVAL, "podman --help: cannot read the default of --hooks-dir");
	char **v = xcalloc(1, sizeof(char *));
	size_t n = 0;
	for (const char *p = def; p < end;) {
		size_t k = strcspn(p, ",]");
		if (k) {
			v = xrealloc(v, (n + 2) * sizeof(char *));
			v[n] = strndup(p, k);
			if (!v[n++])
				abort();
			v[n] = NULL;
		}
		p += k + 1;
	}
	*ret = v;
	return 0;
}

static int verify_podman(struct install *in, struct error *err)
{
	char **said = NULL;
	struct error perr = { 0 };
	if (in->root) {
		fprintf(stderr, "note: --root: not checked that podman reads %s\n", in->verify_arg);
		return 0;
	}
	int r = podman_says(&said, &perr);
	if (r == -ENOENT) {
		fprintf(stderr, "note: podman is not installed here: not checked that it reads %s\n",
			in->verify_arg);
		err_clear(&perr);
		return 0;
	}
	if (r < 0) {
		r = err_msg(err, r, "cannot check where podman reads hooks: %s", perr.msg);
		err_clear(&perr);
		return r;
	}
	bool found = false;
	_cleanup_free_ char *list = xstrdup("");
	for (char **d = said; *d; d++) {
		found |= strcmp(*d, in->verify_arg) == 0;
		char *l = xasprintf("%s%s%s", list, *list ? " " : "", *d);
		free(list);
		list = l;
	}
	strv_free(said);
	if (!found)
		return err_msg(err, -ENOENT, "podman reads hooks from %s, not from %s (podman --help)",
			       list, in->verify_arg);
	if (!in->cli->json)
		printf("podman reads hooks from %s: checked (podman --help)\n", in->verify_arg);
	return 0;
}

int plan_podman(struct install *in, struct error *err)
{
	char **dirs = NULL;
	_cleanup_free_ char *from = NULL;
	int r = podman_hooks_dirs(in, &dirs, &from, err);
	if (r < 0)
		return r;
	size_t n = 0;
	while (dirs[n])
		n++;
	in->verify_arg = xstrdup(dirs[n - 1]);
	strv_free(dirs);
	r = plan_hooks_d_file(in, in->verify_arg, err);
	if (r < 0)
		return r;
	in->verify = verify_podman;
	if (from)
		install_add_note(in, "%s: the hooks directory set by hooks_dir in %s", in->verify_arg, from);
	else
		install_add_note(in, "%s: Podman's default hooks directory (no hooks_dir in containers.conf)",
				 in->verify_arg);
	return 0;
}
