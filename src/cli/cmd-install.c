/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocibpf install podman|crio|containerd|docker [--dry-run] [--root DIR]: write the
 * configuration that makes an engine call ocibpf (SPEC.md "CLI").
 *
 * - podman, crio: one hooks.d 1.0.0 file (oci-hooks(5)), /etc/containers/oci/hooks.d/
 *   ocibpf.json, for the createRuntime and poststop stages; its one "args" names no
 *   stage, and ocibpf-hook tells the stage from the state's status. CRI-O reads only
 *   /usr/share/containers/oci/hooks.d by default, so crio also gets a crio.conf.d
 *   drop-in naming both directories.
 * - containerd: a drop-in for containerd 1.6's `imports` declaring an "ocibpf" runtime
 *   for the CRI plugin (runc v2 shim, BinaryName = ocibpf-runtime).
 * - docker: a "runtimes.ocibpf" entry merged into daemon.json (the old file kept as
 *   daemon.json.bak).
 *
 * Files are written atomically and only when their content changes, so a second run
 * changes nothing. --dry-run prints a lone file as it is (ready to be redirected into
 * place), several each after a "# PATH" line. --root DIR prefixes every path written or
 * read (tests, images); the paths inside the files (the hook, the runtime, OCIBPF_CONFIG)
 * are the real ones.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

#include "bpfset.h"
#include "cli.h"

#define HOOK_TIMEOUT_S 30
#define FILE_MAX (16u << 20)
#define POLICY_ANNOTATION "io.ocibpf.policy"

#define HOOKS_D "/etc/containers/oci/hooks.d"
#define CRIO_DROPIN "/etc/crio/crio.conf.d/50-ocibpf.conf"
#define CONTAINERD_MAIN "/etc/containerd/config.toml"
#define CONTAINERD_DROPIN "/etc/containerd/conf.d/ocibpf.toml"
#define DOCKER_DAEMON_JSON "/etc/docker/daemon.json"

struct out_file {
	char *path;          /* where it goes, --root included */
	char *text;          /* the new content */
	size_t len;
	mode_t mode;
	bool backup;         /* keep the file it replaces as PATH.bak */
	bool unchanged;      /* the file has this content already */
};

struct install {
	struct cli *cli;
	const char *engine;
	const char *root;    /* NULL: none */
	bool dry_run;
	struct config *cfg;
	char *config_env;    /* absolute OCIBPF_CONFIG for the hook, NULL: the default file */
	char *bindir;        /* where this ocibpf is, and its siblings */
	struct out_file files[4];
	size_t n_files;
	const char *notes[4];
	size_t n_notes;
};

static void install_free(struct install *in)
{
	config_free(in->cfg);
	free(in->config_env);
	free(in->bindir);
	for (size_t i = 0; i < in->n_files; i++) {
		free(in->files[i].path);
		free(in->files[i].text);
	}
}

/* PATH under --root. */
static char *rooted(const struct install *in, const char *path)
{
	return in->root ? xasprintf("%s%s", in->root, path) : xstrdup(path);
}

static void add_file(struct install *in, const char *path, char *text, size_t len, mode_t mode,
		     bool backup)
{
	if (in->n_files >= ARRAY_SIZE(in->files))
		abort();
	in->files[in->n_files++] = (struct out_file) {
		.path = rooted(in, path), .text = text, .len = len, .mode = mode, .backup = backup,
	};
}

static void add_note(struct install *in, const char *note)
{
	if (in->n_notes < ARRAY_SIZE(in->notes))
		in->notes[in->n_notes++] = note;
}

/* A file's content, NULL (and 0) when there is none. */
static int read_existing(const char *path, char **ret, size_t *ret_len, struct error *err)
{
	int r = read_file(path, FILE_MAX, ret, ret_len);
	if (r == -ENOENT) {
		*ret = NULL;
		*ret_len = 0;
		return 0;
	}
	if (r == -EFBIG)
		return err_msg(err, r, "%s: larger than %u MiB", path, FILE_MAX >> 20);
	if (r < 0)
		return err_errno(err, r, "cannot read %s", path);
	if (strlen(*ret) != *ret_len) {
		free(*ret);
		return err_msg(err, -EINVAL, "%s: NUL byte in file", path);
	}
	return 0;
}

/* Generated text ends with a newline, as a text file does. */
static char *with_newline(char *text, size_t *len)
{
	if (*len > 0 && text[*len - 1] == '\n')
		return text;
	text = xrealloc(text, *len + 2);
	text[(*len)++] = '\n';
	text[*len] = '\0';
	return text;
}

/* --- the programs installed beside us ----------------------------------------------- */

static int self_dir(char **ret, struct error *err)
{
	for (size_t size = 256; size <= (1u << 16); size *= 2) {
		_cleanup_free_ char *buf = xcalloc(1, size);
		ssize_t n = readlink("/proc/self/exe", buf, size);
		if (n < 0)
			return err_errno(err, -errno, "cannot read /proc/self/exe");
		if ((size_t)n == size)
			continue;
		char *slash = strrchr(buf, '/');
		if (!slash)
			return err_msg(err, -EINVAL, "/proc/self/exe is not a path: %s", buf);
		*slash = '\0';
		*ret = xstrdup(*buf ? buf : "/");
		return 0;
	}
	return err_msg(err, -ENAMETOOLONG, "cannot read /proc/self/exe: path too long");
}

/* <bindir>/name, which must be an executable file. */
static int sibling(const struct install *in, const char *name, char **ret, struct error *err)
{
	_cleanup_free_ char *p = path_join(in->bindir, name);
	struct stat st;
	if (stat(p, &st) < 0)
		return err_errno(err, -errno, "%s (installed beside ocibpf)", p);
	if (!S_ISREG(st.st_mode) || access(p, X_OK) < 0)
		return err_msg(err, -EACCES, "%s (installed beside ocibpf) is not an executable file", p);
	*ret = TAKE_PTR(p);
	return 0;
}

/* The configuration the hook must use: --config or $OCIBPF_CONFIG, made absolute. */
static int config_env(struct install *in, struct error *err)
{
	const char *p = in->cli->config_path;
	if (!p || !*p)
		p = getenv("OCIBPF_CONFIG");
	if (!p || !*p)
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

/* --- hooks.d (podman, crio) ----------------------------------------------------------- */

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
	return with_newline(text, ret_len);
}

static int plan_hooks_d(struct install *in, struct error *err)
{
	_cleanup_free_ char *hook = NULL;
	int r = sibling(in, "ocibpf-hook", &hook, err);
	if (r < 0)
		return r;
	size_t len;
	char *text = gen_hooks_d(in, hook, &len);
	add_file(in, HOOKS_D "/ocibpf.json", text, len, 0644, false);
	if (!in->cfg->default_policy)
		add_note(in, "the hook runs for containers annotated " POLICY_ANNOTATION "=NAME "
			     "(set default_policy in the configuration for every container)");
	return 0;
}

/* --- TOML (crio, containerd) ---------------------------------------------------------- */

/*
 * A tiny TOML writer for the few documents we make: tables, and keys with string or
 * string-array values. Keys are bare when they can be, quoted otherwise; strings are basic
 * strings with every character TOML requires escaped. TOML is UTF-8: other bytes are
 * refused rather than written.
 */
struct toml {
	char *buf;
	size_t len;
	FILE *f;
	const char *bad;     /* the first string that is not valid UTF-8 */
};

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p, n, min;
		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, min = 0x80, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, min = 0x800, c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, min = 0x10000, c &= 0x07;
		} else {
			return false;
		}
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (p[i] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

static void toml_open(struct toml *t)
{
	*t = (struct toml) { 0 };
	t->f = open_memstream(&t->buf, &t->len);
	if (!t->f)
		abort();
}

static char *toml_take(struct toml *t, size_t *ret_len)
{
	if (fclose(t->f) != 0)
		abort();
	*ret_len = t->len;
	return t->buf;
}

static void toml_string(struct toml *t, const char *s)
{
	if (!utf8_valid(s) && !t->bad)
		t->bad = s;
	fputc('"', t->f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", t->f); break;
		case '\\': fputs("\\\\", t->f); break;
		case '\b': fputs("\\b", t->f); break;
		case '\t': fputs("\\t", t->f); break;
		case '\n': fputs("\\n", t->f); break;
		case '\f': fputs("\\f", t->f); break;
		case '\r': fputs("\\r", t->f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(t->f, "\\u%04X", *p);
			else
				fputc(*p, t->f);
		}
	}
	fputc('"', t->f);
}

static void toml_key(struct toml *t, const char *k)
{
	bool bare = *k != '\0';
	for (const char *p = k; *p && bare; p++)
		bare = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		       (*p >= '0' && *p <= '9') || *p == '_' || *p == '-';
	if (bare)
		fputs(k, t->f);
	else
		toml_string(t, k);
}

/* [k1.k2...] from a NULL-terminated key list. */
static void toml_table(struct toml *t, const char *const *keys)
{
	fputs("\n[", t->f);
	for (const char *const *k = keys; *k; k++) {
		if (k != keys)
			fputc('.', t->f);
		toml_key(t, *k);
	}
	fputs("]\n", t->f);
}

static void toml_kv_str(struct toml *t, const char *key, const char *val)
{
	toml_key(t, key);
	fputs(" = ", t->f);
	toml_string(t, val);
	fputc('\n', t->f);
}

static void toml_kv_int(struct toml *t, const char *key, long long val)
{
	toml_key(t, key);
	fprintf(t->f, " = %lld\n", val);
}

/* key = ["a", "b"] from a NULL-terminated list. */
static void toml_kv_strv(struct toml *t, const char *key, const char *const *vals)
{
	toml_key(t, key);
	fputs(" = [", t->f);
	for (const char *const *v = vals; *v; v++) {
		if (v != vals)
			fputs(", ", t->f);
		toml_string(t, *v);
	}
	fputs("]\n", t->f);
}

/* Comment lines; the text is ours (no newline inside a line but the ones we put). */
static void toml_comment(struct toml *t, const char *text)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		fprintf(t->f, "# %.*s\n", (int)n, p);
		p += n;
		if (*p == '\n')
			p++;
	}
}

static int toml_done(struct toml *t, char **ret, size_t *ret_len, struct error *err)
{
	const char *bad = t->bad;
	size_t len;
	char *text = toml_take(t, &len);
	if (bad) {
		free(text);
		return err_msg(err, -EINVAL, "%s is not valid UTF-8, which TOML requires", bad);
	}
	*ret = text;
	*ret_len = len;
	return 0;
}

/* --- crio ------------------------------------------------------------------------------ */

static int plan_crio(struct install *in, struct error *err)
{
	int r = plan_hooks_d(in, err);
	if (r < 0)
		return r;
	struct toml t;
	toml_open(&t);
	toml_comment(&t, "Written by `ocibpf install crio`. CRI-O reads hooks.d files only from\n"
			 "/usr/share/containers/oci/hooks.d unless told otherwise: add the directory\n"
			 "ocibpf's hooks are in. This replaces a hooks_dir set in an earlier file.");
	toml_table(&t, (const char *const[]) { "crio", "runtime", NULL });
	toml_kv_strv(&t, "hooks_dir", (const char *const[]) {
		"/usr/share/containers/oci/hooks.d", HOOKS_D, NULL });
	char *text;
	size_t len;
	if ((r = toml_done(&t, &text, &len, err)) < 0)
		return r;
	add_file(in, CRIO_DROPIN, text, len, 0644, false);
	add_note(in, "restart CRI-O to load " CRIO_DROPIN);
	return 0;
}

/* --- containerd ------------------------------------------------------------------------ */

/* A line of TOML text that is not a comment and contains s. */
static bool toml_mentions(const char *text, const char *s)
{
	for (const char *p = text; p && *p;) {
		const char *end = strchrnul(p, '\n');
		const char *q = p + strspn(p, " \t");
		if (*q != '#') {
			_cleanup_free_ char *line = strndup(p, end - p);
			if (!line)
				abort();
			if (strstr(line, s))
				return true;
		}
		p = *end ? end + 1 : end;
	}
	return false;
}

/*
 * containerd before 2.0 merges an imported file by whole plugin section: our drop-in's
 * CRI section replaces the main file's (containerd#5837), and with it the runc runtime
 * and every other CRI setting there. So the drop-in declares runc as containerd's defaults
 * have it, and we refuse when the main file configures the CRI plugin itself: the runtime
 * must then go into that file (--dry-run prints it).
 */
static int check_containerd_main(struct install *in, struct error *err)
{
	_cleanup_free_ char *path = rooted(in, CONTAINERD_MAIN);
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_existing(path, &text, &len, err);
	if (r < 0)
		return r;
	if (!text) {
		add_note(in, "containerd reads " CONTAINERD_DROPIN " only when " CONTAINERD_MAIN
			     " says: version = 2 and imports = [\"/etc/containerd/conf.d/*.toml\"]");
		return 0;
	}
	bool cri = toml_mentions(text, "io.containerd.grpc.v1.cri") ||
		   toml_mentions(text, "plugins.cri") || toml_mentions(text, "plugins.\"cri\"");
	if (cri && in->dry_run)
		add_note(in, CONTAINERD_MAIN " configures the CRI plugin, which the drop-in would replace "
			     "whole: put the ocibpf runtime tables into that file instead");
	else if (cri)
		return err_msg(err, -EEXIST,
			       "%s configures the CRI plugin, and containerd 1.x would replace that "
			       "section whole with the drop-in's: add the [plugins.\"io.containerd.grpc.v1.cri\"."
			       "containerd.runtimes.ocibpf] tables that `ocibpf install containerd --dry-run` "
			       "prints to that file instead", path);
	if (!toml_mentions(text, "conf.d"))
		add_note(in, CONTAINERD_MAIN " must import the drop-in: "
			     "imports = [\"/etc/containerd/conf.d/*.toml\"] (and version = 2)");
	return 0;
}

static int plan_containerd(struct install *in, struct error *err)
{
	static const char *const annotations[] = { POLICY_ANNOTATION, NULL };
	_cleanup_free_ char *runtime = NULL;
	int r = sibling(in, "ocibpf-runtime", &runtime, err);
	if (r < 0 || (r = check_containerd_main(in, err)) < 0)
		return r;

	struct toml t;
	toml_open(&t);
	toml_comment(&t, "Written by `ocibpf install containerd`: an \"ocibpf\" runtime for the CRI\n"
			 "plugin (Kubernetes: a RuntimeClass with handler \"ocibpf\"): runc, through\n"
			 "ocibpf-runtime, which adds the ocibpf hooks to each container it creates.\n"
			 "containerd 1.6 reads it when /etc/containerd/config.toml has\n"
			 "  imports = [\"/etc/containerd/conf.d/*.toml\"]\n"
			 "Before containerd 2.0 an import replaces the whole CRI section of the main\n"
			 "file: runc is declared again below with containerd's defaults, and CRI\n"
			 "settings of the main file belong here (or this runtime in the main file).\n"
			 "ocibpf-runtime reads OCIBPF_CONFIG from containerd's environment.");
	toml_kv_int(&t, "version", 2);
	static const char *const base[] = { "plugins", "io.containerd.grpc.v1.cri", "containerd",
					    "runtimes" };
	toml_table(&t, (const char *const[]) { base[0], base[1], base[2], base[3], "runc", NULL });
	toml_kv_str(&t, "runtime_type", "io.containerd.runc.v2");
	toml_table(&t, (const char *const[]) { base[0], base[1], base[2], base[3], "ocibpf", NULL });
	toml_kv_str(&t, "runtime_type", "io.containerd.runc.v2");
	toml_kv_strv(&t, "pod_annotations", annotations);
	toml_kv_strv(&t, "container_annotations", annotations);
	toml_table(&t, (const char *const[]) { base[0], base[1], base[2], base[3], "ocibpf",
					       "options", NULL });
	toml_kv_str(&t, "BinaryName", runtime);
	char *text;
	size_t len;
	if ((r = toml_done(&t, &text, &len, err)) < 0)
		return r;
	add_file(in, CONTAINERD_DROPIN, text, len, 0644, false);
	add_note(in, "restart containerd; Kubernetes pods pick the runtime with a RuntimeClass "
		     "(handler: ocibpf); ctr uses --runc-binary instead (BinaryName is read by the CRI plugin only)");
	return 0;
}

/* --- docker ---------------------------------------------------------------------------- */

static ssize_t member_index(yajl_val obj, const char *key)
{
	for (size_t i = obj->u.object.len; i-- > 0;)
		if (strcmp(obj->u.object.keys[i], key) == 0)
			return (ssize_t)i;
	return -1;
}

/* {"path": PATH, ...the other members of old (e.g. runtimeArgs)} */
static void gen_runtime_entry(yajl_gen g, yajl_val old, const char *path)
{
	yajl_gen_map_open(g);
	jg_key_str(g, "path", path);
	for (size_t i = 0; YAJL_IS_OBJECT(old) && i < old->u.object.len; i++) {
		if (strcmp(old->u.object.keys[i], "path") == 0)
			continue;
		jg_key(g, old->u.object.keys[i]);
		jg_value(g, old->u.object.values[i]);
	}
	yajl_gen_map_close(g);
}

static void gen_runtimes(yajl_gen g, yajl_val runtimes, const char *path)
{
	ssize_t mine = runtimes ? member_index(runtimes, "ocibpf") : -1;
	yajl_gen_map_open(g);
	for (size_t i = 0; runtimes && i < runtimes->u.object.len; i++) {
		const char *k = runtimes->u.object.keys[i];
		if (strcmp(k, "ocibpf") == 0 && (ssize_t)i != mine)
			continue;   /* a duplicate that never counted */
		jg_key(g, k);
		if ((ssize_t)i == mine)
			gen_runtime_entry(g, runtimes->u.object.values[i], path);
		else
			jg_value(g, runtimes->u.object.values[i]);
	}
	if (mine < 0) {
		jg_key(g, "ocibpf");
		gen_runtime_entry(g, NULL, path);
	}
	yajl_gen_map_close(g);
}

/*
 * daemon.json with runtimes.ocibpf.path = runtime, every other key as it was. Returns 0
 * with *ret NULL when the file says so already.
 */
static int merge_daemon_json(const char *file, const char *old, const char *runtime,
			     char **ret, size_t *ret_len, struct error *err)
{
	_cleanup_json_ yajl_val root = NULL;
	*ret = NULL;
	if (old && old[strspn(old, " \t\r\n")]) {
		int r = json_parse(old, file, &root, err);
		if (r < 0)
			return r;
		if (!YAJL_IS_OBJECT(root))
			return err_msg(err, -EINVAL, "%s: not a JSON object", file);
	}
	ssize_t ri = root ? member_index(root, "runtimes") : -1;
	yajl_val runtimes = ri >= 0 ? root->u.object.values[ri] : NULL;
	if (runtimes && !YAJL_IS_OBJECT(runtimes))
		return err_msg(err, -EINVAL, "%s: \"runtimes\" is not an object", file);
	yajl_val mine = json_get(runtimes, "ocibpf");
	if (mine && !YAJL_IS_OBJECT(mine))
		return err_msg(err, -EINVAL, "%s: \"runtimes.ocibpf\" is not an object", file);
	const char *have = json_get_string(mine, "path");
	if (have && strcmp(have, runtime) == 0)
		return 0;

	_cleanup_json_gen_ yajl_gen g = json_gen_new(true);
	yajl_gen_config(g, yajl_gen_indent_string, "  ");
	yajl_gen_map_open(g);
	for (size_t i = 0; root && i < root->u.object.len; i++) {
		const char *k = root->u.object.keys[i];
		if (strcmp(k, "runtimes") == 0 && (ssize_t)i != ri)
			continue;
		jg_key(g, k);
		if ((ssize_t)i == ri)
			gen_runtimes(g, runtimes, runtime);
		else
			jg_value(g, root->u.object.values[i]);
	}
	if (ri < 0) {
		jg_key(g, "runtimes");
		gen_runtimes(g, NULL, runtime);
	}
	yajl_gen_map_close(g);
	*ret = with_newline(json_gen_take(g, ret_len), ret_len);
	return 0;
}

static int plan_docker(struct install *in, struct error *err)
{
	_cleanup_free_ char *runtime = NULL, *path = rooted(in, DOCKER_DAEMON_JSON);
	_cleanup_free_ char *old = NULL;
	struct stat st;
	size_t old_len;
	int r = sibling(in, "ocibpf-runtime", &runtime, err);
	if (r < 0 || (r = read_existing(path, &old, &old_len, err)) < 0)
		return r;
	char *text;
	size_t len;
	mode_t mode = old && stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644;
	if ((r = merge_daemon_json(path, old, runtime, &text, &len, err)) < 0)
		return r;
	if (!text) {
		/* Already there: show the file as it is. */
		text = TAKE_PTR(old);
		len = old_len;
	}
	add_file(in, DOCKER_DAEMON_JSON, text, len, mode, true);
	add_note(in, "restart dockerd (or send it SIGHUP), then: docker run --runtime ocibpf "
		     "--annotation " POLICY_ANNOTATION "=NAME ... (annotations need Docker 24 or later; "
		     "before that, set default_policy); ocibpf-runtime reads OCIBPF_CONFIG from "
		     "the environment of containerd (the one Docker uses)");
	return 0;
}

/* --- writing --------------------------------------------------------------------------- */

/* With trailing newline: yajl's beautified output has one, TOML ours. */
static bool ends_with_newline(const struct out_file *f)
{
	return f->len > 0 && f->text[f->len - 1] == '\n';
}

static int check_unchanged(struct out_file *f, struct error *err)
{
	_cleanup_free_ char *old = NULL;
	size_t len;
	int r = read_existing(f->path, &old, &len, err);
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
		if ((r = read_existing(target, &old, &len, err)) < 0)
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

	in->cfg = cli_config(in->cli);
	if (!in->cfg)
		return 1;
	if ((r = config_env(in, &err)) < 0 || (r = self_dir(&in->bindir, &err)) < 0)
		goto fail;
	if (strcmp(in->engine, "podman") == 0)
		r = plan_hooks_d(in, &err);
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
	static char load_note[600];
	if (!in->dry_run && !in->root) {
		_cleanup_bpfset_ struct bpfset *set = NULL;
		struct error lerr = { 0 };
		if (bpfset_open(in->cfg->bpffs_dir, NULL, true, &set, &lerr) < 0) {
			snprintf(load_note, sizeof(load_note),
				 "the BPF programs were not loaded (the first container will load them): %s",
				 lerr.msg);
			add_note(in, load_note);
		}
		err_clear(&lerr);
	}
	print_result(in);
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
