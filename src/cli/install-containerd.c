/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocibpf install containerd: an "ocibpf" runtime for the CRI plugin (runc v2 shim,
 * BinaryName = ocibpf-runtime, the policy annotation passed through).
 *
 * containerd before 2.0 merges an imported file by whole plugin section: a drop-in's CRI
 * section replaces the main file's (containerd#5837), and with it every CRI setting there.
 * So:
 * - when /etc/containerd/config.toml does not configure the CRI plugin (or is missing),
 *   the runtime goes into the drop-in /etc/containerd/conf.d/ocibpf.toml, which declares
 *   runc again as containerd's defaults have it, and which the main file must import;
 * - when it does (Debian's containerd package ships one with a CRI `cni` table), the
 *   runtime's tables are merged into that file: appended between two marker comments
 *   (a later run replaces what is between them), every other line kept as it was, the old
 *   file kept as config.toml.bak. A file that defines the ocibpf runtime outside the
 *   markers, or is not a version 2 configuration, is left alone (exit 1).
 * After merging, `containerd --config FILE config dump` must show the runtime.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "install.h"
#include "toml.h"

#define CONTAINERD_MAIN "/etc/containerd/config.toml"
#define CONTAINERD_DROPIN "/etc/containerd/conf.d/ocibpf.toml"
#define BLOCK_BEGIN "# ocibpf: begin (`ocibpf install containerd` rewrites this block)\n"
#define BLOCK_END "# ocibpf: end\n"

static const char *const cri_table[] = { "plugins", "io.containerd.grpc.v1.cri", NULL };
static const char *const cri_v1_table[] = { "plugins", "cri", NULL };
static const char *const runc_table[] = { "plugins", "io.containerd.grpc.v1.cri", "containerd",
					  "runtimes", "runc", NULL };
static const char *const ocibpf_table[] = { "plugins", "io.containerd.grpc.v1.cri", "containerd",
					    "runtimes", "ocibpf", NULL };

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

/* Is there a table header starting with keys? */
static bool has_table(const char *text, const char *const *keys)
{
	for (const char *p = text; *p;) {
		const char *eol = strchrnul(p, '\n');
		char **hdr = toml_header(p, NULL);
		bool hit = hdr && toml_keys_prefix(hdr, keys);
		strv_free(hdr);
		if (hit)
			return true;
		p = *eol ? eol + 1 : eol;
	}
	return false;
}

/* The top-level `version = N` (before the first table); 1 when there is none. */
static long config_version(const char *text)
{
	for (const char *p = text; *p;) {
		const char *line = p + strspn(p, " \t"), *eol = strchrnul(p, '\n');
		if (*line == '[')
			break;
		long v;
		if (sscanf(line, "version = %ld", &v) == 1)
			return v;
		p = *eol ? eol + 1 : eol;
	}
	return 1;
}

/* The runtime's tables (no `version`: they go into a file that has one, or after it). */
static void gen_runtime(struct toml *t, const char *runtime, bool with_runc)
{
	static const char *const annotations[] = { POLICY_ANNOTATION, NULL };
	static const char *const base[] = { "plugins", "io.containerd.grpc.v1.cri", "containerd",
					    "runtimes" };
	if (with_runc) {
		toml_table(t, (const char *const[]) { base[0], base[1], base[2], base[3], "runc", NULL });
		toml_kv_str(t, "runtime_type", "io.containerd.runc.v2");
	}
	toml_table(t, (const char *const[]) { base[0], base[1], base[2], base[3], "ocibpf", NULL });
	toml_kv_str(t, "runtime_type", "io.containerd.runc.v2");
	toml_kv_strv(t, "pod_annotations", annotations);
	toml_kv_strv(t, "container_annotations", annotations);
	toml_table(t, (const char *const[]) { base[0], base[1], base[2], base[3], "ocibpf",
					      "options", NULL });
	toml_kv_str(t, "BinaryName", runtime);
}

static int plan_dropin(struct install *in, const char *runtime, struct error *err)
{
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
	gen_runtime(&t, runtime, true);
	char *text;
	size_t len;
	int r = toml_done(&t, &text, &len, err);
	if (r < 0)
		return r;
	install_add_file(in, CONTAINERD_DROPIN, text, len, 0644, false);
	return 0;
}

/* The main file with our block in place of the old one, or appended. */
static int plan_merge(struct install *in, const char *path, const char *text,
		      const char *runtime, struct error *err)
{
	long version = config_version(text);
	if (version != 2)
		return err_msg(err, -EINVAL,
			       "%s is a version %ld configuration: ocibpf writes version 2 tables "
			       "(containerd 1.6 reads both; convert it, or add the runtime by hand)",
			       path, version);
	/* Split around an earlier block of ours. */
	const char *b = strstr(text, BLOCK_BEGIN);
	while (b && b != text && b[-1] != '\n')
		b = strstr(b + 1, BLOCK_BEGIN);
	const char *e = b ? strstr(b, BLOCK_END) : NULL;
	if (b && !e)
		return err_msg(err, -EINVAL, "%s: the ocibpf block has a begin marker and no end marker",
			       path);
	_cleanup_free_ char *before = b ? strndup(text, b - text) : xstrdup(text);
	const char *after = e ? e + strlen(BLOCK_END) : "";
	if (!before)
		abort();
	_cleanup_free_ char *rest = xasprintf("%s%s", before, after);
	if (has_table(rest, ocibpf_table))
		return err_msg(err, -EEXIST,
			       "%s defines the ocibpf runtime already (outside the block ocibpf writes): "
			       "remove that definition, or keep it and skip `ocibpf install containerd`",
			       path);

	struct toml t;
	toml_open(&t);
	toml_raw(&t, before);
	size_t n = strlen(before);
	if (!b && n > 0 && before[n - 1] != '\n')
		toml_raw(&t, "\n");
	if (!b)
		toml_raw(&t, "\n");
	toml_raw(&t, BLOCK_BEGIN);
	/* A runtimes table replaces containerd's default set: runc is declared too, unless
	 * the file has it already (containerd config dump shows no runc otherwise). */
	bool with_runc = !has_table(rest, runc_table);
	toml_comment(&t, "an \"ocibpf\" runtime for the CRI plugin (RuntimeClass handler \"ocibpf\"):\n"
			 "runc through ocibpf-runtime, which adds the ocibpf hooks to each container.");
	if (with_runc)
		toml_comment(&t, "runc is declared again: a runtimes table replaces containerd's default set.");
	gen_runtime(&t, runtime, with_runc);
	toml_raw(&t, BLOCK_END);
	toml_raw(&t, after);
	char *out;
	size_t len;
	int r = toml_done(&t, &out, &len, err);
	if (r < 0)
		return r;
	struct stat st;
	mode_t mode = stat(path, &st) == 0 ? (st.st_mode & 07777) : 0644;
	install_add_file(in, CONTAINERD_MAIN, out, len, mode, true);
	return 0;
}

/* containerd itself reads the merged file and has the runtime. */
static int verify_containerd(struct install *in, struct error *err)
{
	_cleanup_free_ char *path = install_rooted(in, CONTAINERD_MAIN);
	char *argv[] = { "containerd", "--config", path, "config", "dump", NULL };
	_cleanup_free_ char *out = NULL;
	struct error cerr = { 0 };
	int r = install_capture(argv, &out, &cerr);
	if (r == -ENOENT) {
		fprintf(stderr, "note: containerd is not installed here: %s not checked\n", path);
		err_clear(&cerr);
		return 0;
	}
	if (r < 0) {
		r = err_msg(err, r, "containerd does not read %s: %s", path, cerr.msg);
		err_clear(&cerr);
		return r;
	}
	_cleanup_free_ char *want = xasprintf("BinaryName = \"%s\"", in->verify_arg);
	if (!strstr(out, "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.ocibpf.options]") ||
	    !strstr(out, want))
		return err_msg(err, -ENOENT, "containerd config dump shows no ocibpf runtime from %s", path);
	if (!in->cli->json)
		printf("containerd reads the ocibpf runtime from %s: checked (containerd config dump)\n",
		       path);
	return 0;
}

int plan_containerd(struct install *in, struct error *err)
{
	_cleanup_free_ char *runtime = NULL, *path = NULL, *text = NULL;
	size_t len;
	int r = install_sibling(in, "ocibpf-runtime", &runtime, err);
	if (r < 0)
		return r;
	path = install_rooted(in, CONTAINERD_MAIN);
	if ((r = install_read_existing(path, &text, &len, err)) < 0)
		return r;
	bool cri = text && (has_table(text, cri_table) || has_table(text, cri_v1_table) ||
			    toml_mentions(text, "io.containerd.grpc.v1.cri"));
	if (cri) {
		r = plan_merge(in, path, text, runtime, err);
		if (r < 0)
			return r;
		in->verify = verify_containerd;
		in->verify_arg = TAKE_PTR(runtime);
		if (in->dry_run)
			install_add_note(in, "the whole of " CONTAINERD_MAIN " with the ocibpf runtime merged "
					 "in (it configures the CRI plugin, which a drop-in would replace whole): "
					 "redirect it to a new file, then move that into place");
	} else {
		r = plan_dropin(in, runtime, err);
		if (r < 0)
			return r;
		if (!text)
			install_add_note(in, "containerd reads " CONTAINERD_DROPIN " only when " CONTAINERD_MAIN
					 " says: version = 2 and imports = [\"/etc/containerd/conf.d/*.toml\"]");
		else if (!toml_mentions(text, "conf.d"))
			install_add_note(in, CONTAINERD_MAIN " must import the drop-in: "
					 "imports = [\"/etc/containerd/conf.d/*.toml\"] (and version = 2)");
	}
	install_add_note(in, "restart containerd; Kubernetes pods pick the runtime with a RuntimeClass "
			 "(handler: ocibpf); ctr uses --runc-binary instead (BinaryName is read by the CRI plugin only)");
	return 0;
}
