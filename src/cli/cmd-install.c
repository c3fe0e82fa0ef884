/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocibpf install podman|crio|containerd|docker [--dry-run] [--root DIR]: write the
 * configuration that makes an engine call ocibpf (SPEC.md "CLI"). What each engine gets
 * is planned in install-ENGINE.c; this file writes it and reports:
 *
 * - podman (install-podman.c): one hooks.d 1.0.0 file in the hooks directory the
 *   installed Podman reads (hooks_dir of containers.conf, else its default), checked
 *   afterwards against what podman itself says.
 * - crio (install-crio.c): the hooks.d file in /etc/containers/oci/hooks.d and a
 *   crio.conf.d drop-in naming that directory too.
 * - containerd (install-containerd.c): an "ocibpf" runtime for the CRI plugin, in a
 *   conf.d drop-in, or merged into config.toml when that file configures the CRI plugin.
 * - docker (install-docker.c): a "runtimes.ocibpf" entry merged into daemon.json.
 *
 * Files are written atomically and only when their content changes, so a second run
 * changes nothing. --dry-run prints a lone file as it is (ready to be redirected into
 * place), several each after a "# PATH" line. --root DIR prefixes every path written or
 * read (tests, images); the paths inside the files (the hook, the runtime, OCIBPF_CONFIG)
 * are the real ones. Without --dry-run, the engine itself is asked whether it reads what
 * was written (install.h, verify): podman --help for Podman (not with --root: it reads
 * the host's files), containerd config dump of the file for containerd.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bpfset.h"
#include "install.h"
#include "paths.h"

static void install_free(struct install *in)
{
	config_free(in->cfg);
	free(in->config_env);
	free(in->bindir);
	free(in->verify_arg);
	for (size_t i = 0; i < in->n_files; i++) {
		free(in->files[i].path);
		free(in->files[i].text);
	}
	for (size_t i = 0; i < in->n_notes; i++)
		free(in->notes[i]);
}

/* The configuration named by --config or $OCIBPF_CONFIG; NULL: none is. */
static const char *named_config(const struct install *in)
{
	const char *p = in->cli->config_path;
	if (!p || !*p)
		p = getenv("OCIBPF_CONFIG");
	return p && *p ? p : NULL;
}

/* The configuration the hook must use: the named one, made absolute. */
static int config_env(struct install *in, struct error *err)
{
	const char *p = named_config(in);
	if (!p)
		return 0;
	if (p[0] == '/') {
		in->config_env = xstrdup(p);
		return 0;
	}
	_cleanup_free_ char *cwd = getcwd(NULL, 0);
	if (!cwd)
		return err_errno(err, -errno, "cannot get the working directory");
	in->config_env = path_join(cwd, p);
	return 0;
}

/*
 * With --root and no named configuration: the default file under the root (optional, as
 * the default file is: the one the hooks there will read).
 */
static int load_rooted_config(struct install *in, struct error *err)
{
	_cleanup_free_ char *path = install_rooted(in, OCIBPF_CONFIG_DEFAULT), *text = NULL;
	size_t len;
	int r = install_read_existing(path, &text, &len, err);
	if (r < 0)
		return r;
	return text ? config_parse_text(text, len, path, &in->cfg, err)
		    : config_parse("{}", path, &in->cfg, err);
}

/* --- writing --------------------------------------------------------------------------- */

static bool ends_with_newline(const struct out_file *f)
{
	return f->len > 0 && f->text[f->len - 1] == '\n';
}

static int check_unchanged(struct out_file *f, struct error *err)
{
	_cleanup_free_ char *old = NULL;
	size_t len;
	int r = install_read_existing(f->path, &old, &len, err);
	if (r < 0)
		return r;
	f->unchanged = old && len == f->len && memcmp(old, f->text, len) == 0;
	return 0;
}

/* The directory of path, created 0755 when missing. */
static int make_parent(const char *path, struct error *err)
{
	_cleanup_free_ char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	int r = mkdir_p(dir, 0755);
	return r < 0 ? err_errno(err, r, "cannot create %s", dir) : 0;
}

static int write_one(struct out_file *f, struct error *err)
{
	int r = make_parent(f->path, err);
	if (r < 0)
		return r;
	/* A symlinked file (managed elsewhere) is written where it points. */
	_cleanup_free_ char *real = realpath(f->path, NULL);
	const char *target = real ? real : f->path;
	if (f->backup && real) {
		_cleanup_free_ char *old = NULL, *bak = xasprintf("%s.bak", f->path);
		size_t len;
		if ((r = install_read_existing(target, &old, &len, err)) < 0)
			return r;
		if (old && (r = write_file_atomic(bak, old, len, f->mode)) < 0)
			return err_errno(err, r, "cannot write %s", bak);
	}
	r = write_file_atomic(target, f->text, f->len, f->mode);
	return r < 0 ? err_errno(err, r, "cannot write %s", target) : 0;
}

static void print_result(const struct install *in)
{
	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	if (in->cli->json)
		yajl_gen_array_open(g);
	for (size_t i = 0; i < in->n_files; i++) {
		const struct out_file *f = &in->files[i];
		if (in->cli->json) {
			yajl_gen_map_open(g);
			jg_key_str(g, "path", f->path);
			jg_key_bool(g, "changed", !f->unchanged);
			if (in->dry_run) {
				jg_key(g, "content");
				jg_strn(g, f->text, f->len);
			}
			yajl_gen_map_close(g);
		} else if (in->dry_run) {
			if (in->n_files > 1)
				printf("# %s%s\n", f->path, f->unchanged ? " (unchanged)" : "");
			else
				fprintf(stderr, "note: this is %s%s\n", f->path,
					f->unchanged ? " (unchanged)" : "");
			fwrite(f->text, 1, f->len, stdout);
			if (!ends_with_newline(f))
				putchar('\n');
		} else {
			printf("%s: %s\n", f->path, f->unchanged ? "unchanged" : "written");
		}
	}
	if (in->cli->json) {
		yajl_gen_array_close(g);
		cli_print_json(g);
	}
	for (size_t i = 0; i < in->n_notes; i++)
		fprintf(stderr, "note: %s\n", in->notes[i]);
}

static int install_run(struct install *in)
{
	struct error err = { 0 };
	int r;

	if (in->root && !named_config(in)) {
		if ((r = load_rooted_config(in, &err)) < 0)
			goto fail;
	} else if (!(in->cfg = cli_config(in->cli))) {
		return 1;
	}
	if ((r = config_env(in, &err)) < 0)
		goto fail;
	in->bindir = self_dir();
	/* Run from inside the root (a package or an image being built): the binaries are
	 * named by their path inside it, where they will be. */
	size_t n = in->root ? strlen(in->root) : 0;
	if (n && strncmp(in->bindir, in->root, n) == 0 && in->bindir[n] == '/') {
		memmove(in->bindir, in->bindir + n, strlen(in->bindir + n) + 1);
		in->bindir_rooted = true;
	}
	if (strcmp(in->engine, "podman") == 0)
		r = plan_podman(in, &err);
	else if (strcmp(in->engine, "crio") == 0)
		r = plan_crio(in, &err);
	else if (strcmp(in->engine, "containerd") == 0)
		r = plan_containerd(in, &err);
	else
		r = plan_docker(in, &err);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < in->n_files; i++) {
		if ((r = check_unchanged(&in->files[i], &err)) < 0)
			goto fail;
	}
	if (!in->dry_run) {
		for (size_t i = 0; i < in->n_files; i++) {
			if (!in->files[i].unchanged && (r = write_one(&in->files[i], &err)) < 0)
				goto fail;
		}
	}
	/* `ocibpf load`: the programs pinned now, so that no container start loads them. Not
	 * for another root (an image being prepared); a failure is the first container's. */
	if (!in->dry_run && !in->root) {
		_cleanup_bpfset_ struct bpfset *set = NULL;
		struct error lerr = { 0 };
		if (bpfset_open(in->cfg->bpffs_dir, NULL, true, &set, &lerr) < 0)
			install_add_note(in, "the BPF programs were not loaded (the first container will load them): %s",
					 lerr.msg);
		err_clear(&lerr);
	}
	print_result(in);
	/* The engine reads what was written: checked with the engine itself. */
	if (!in->dry_run && in->verify && (r = in->verify(in, &err)) < 0)
		goto fail;
	return 0;
fail:
	log_error(NULL, "cannot install for %s: %s", in->engine, err.msg);
	err_clear(&err);
	return 1;
}

static int usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: ocibpf install podman|crio|containerd|docker [--dry-run] [--root DIR] [--json]\n"
		"  Write the configuration that makes the engine run containers with ocibpf.\n"
		"  --dry-run  print the files instead of writing them\n"
		"  --root DIR prefix every path read or written with DIR\n");
	return status;
}

int cmd_install(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char *const engines[] = { "podman", "crio", "containerd", "docker" };
	struct install in = { .cli = cli };
	int c;

	optind = 1;
	opterr = 0;
	/* GNU getopt permutes: options may come before or after the engine. */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			in.dry_run = true;
			break;
		case 'r':
			in.root = optarg;
			break;
		case 'h':
			return usage(0);
		default:
			fprintf(stderr, "ocibpf: install: unknown option or missing value: %s\n",
				argv[optind - 1]);
			return usage(2);
		}
	}
	if (optind < argc)
		in.engine = argv[optind++];
	if (!in.engine || optind != argc)
		return usage(2);
	bool known = false;
	for (size_t i = 0; i < ARRAY_SIZE(engines); i++)
		known |= strcmp(in.engine, engines[i]) == 0;
	if (!known) {
		fprintf(stderr, "ocibpf: install: unknown engine \"%s\" (podman, crio, containerd, docker)\n",
			in.engine);
		return 2;
	}
	_cleanup_free_ char *root = NULL;
	if (in.root) {
		/* "" and "/" mean no prefix; a trailing slash would double the one of the paths. */
		root = xstrdup(in.root);
		for (size_t n = strlen(root); n > 0 && root[n - 1] == '/'; n--)
			root[n - 1] = '\0';
		in.root = *root ? root : NULL;
	}
	int r = install_run(&in);
	install_free(&in);
	return r;
}
