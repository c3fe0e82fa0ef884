/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocibpf-runtime: stands in for runc (containerd's --runc-binary/BinaryName, Docker's
 * "runtimes"). On create and run it adds the ocibpf-hook installed beside it to the
 * bundle's config.json (createRuntime and poststop); then, for every command, it execs the
 * real runtime (OCIBPF_RUNTIME, default runc) with the arguments unchanged.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

/* Report once: stderr, and the runtime log the engine reads its errors from. */
static void fail(const struct shim_args *a, const char *id, const char *fmt, ...) _printf_(3, 4);

static void fail(const struct shim_args *a, const char *id, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL, *line = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	log_error(id, "%s", msg);
	line = xasprintf("%s: %s%s%s", program_name, id ? id : "", id ? ": " : "", msg);
	shim_log_runtime_error(a, line);
}

/* OCIBPF_CONFIG for the hook, made absolute: runc runs hooks from the bundle (createRuntime)
 * or from wherever "runc delete" was started (poststop), not from here. */
static char *hook_config(const char *cwd)
{
	const char *v = getenv("OCIBPF_CONFIG");
	if (!v || !*v)
		return NULL;
	return v[0] == '/' ? xstrdup(v) : path_join(cwd, v);
}

static char *config_path(const struct shim_args *a, const char *cwd)
{
	const char *bundle = a->bundle ? a->bundle : cwd;
	const char *config = a->config ? a->config : "config.json";
	return config[0] == '/' ? xstrdup(config) : path_join(bundle, config);
}

static int add_hooks(const struct shim_args *a)
{
	struct error err = {};
	int r;
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	_cleanup_free_ char *path = NULL, *hook_path = NULL, *config = NULL;

	if (!cwd) {
		r = -errno;
		fail(a, a->id, "cannot add hooks: cannot get the working directory: %s", strerror(-r));
		return r;
	}
	path = config_path(a, cwd);
	config = hook_config(cwd);

	r = shim_hook_path(&hook_path, &err);
	if (r >= 0)
		r = shim_add_hooks(path, &(struct shim_hook) { .path = hook_path, .config = config }, &err);
	if (r < 0) {
		fail(a, a->id, "cannot add hooks to %s: %s", path, err.msg);
		err_clear(&err);
		return r;
	}
	return 0;
}

/* Returns only on failure. */
static int exec_runtime(const struct shim_args *a, char **argv)
{
	struct error err = {};
	struct stat self;
	_cleanup_free_ char *path = NULL;
	const char *id = a->creates ? a->id : NULL;
	const char *name = getenv("OCIBPF_RUNTIME");

	if (!name || !*name)
		name = "runc";
	bool have_self = stat("/proc/self/exe", &self) == 0;
	int r = shim_find_runtime(name, getenv("PATH"), have_self ? &self : NULL, &path, &err);
	if (r < 0) {
		fail(a, id, "cannot execute %s: %s", name, err.msg);
		err_clear(&err);
		return r;
	}
	argv[0] = (char *)name;
	execv(path, argv);
	r = -errno;
	fail(a, id, "cannot execute %s: %s", path, strerror(-r));
	return r;
}

int main(int argc, char **argv)
{
	struct shim_args a = {};
	struct error err = {};

	program_name = "ocibpf-runtime";
	if (shim_parse_args(argc, argv, &a, &err) < 0) {
		fail(&a, NULL, "%s", err.msg);
		err_clear(&err);
		return 2;
	}
	if (a.creates && add_hooks(&a) < 0)
		return 1;
	exec_runtime(&a, argv);
	return 1;
}
