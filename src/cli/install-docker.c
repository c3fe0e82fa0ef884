/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocibpf install docker: a "runtimes.ocibpf" entry (ocibpf-runtime) merged into
 * daemon.json, every other key kept as it was, the old file kept as daemon.json.bak.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "install.h"

#define DOCKER_DAEMON_JSON "/etc/docker/daemon.json"

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

/*
 * obj (NULL: {}) with the member key written by gen(g, its old value or NULL, arg): in
 * place of the last key (the one that counts; the others are dropped), or at the end.
 * Every other member as it was.
 */
static void gen_with_member(yajl_gen g, yajl_val obj, const char *key,
			    void (*gen)(yajl_gen g, yajl_val old, const char *arg), const char *arg)
{
	ssize_t mine = obj ? member_index(obj, key) : -1;
	yajl_gen_map_open(g);
	for (size_t i = 0; obj && i < obj->u.object.len; i++) {
		const char *k = obj->u.object.keys[i];
		if (strcmp(k, key) == 0 && (ssize_t)i != mine)
			continue;   /* a duplicate that never counted */
		jg_key(g, k);
		if ((ssize_t)i == mine)
			gen(g, obj->u.object.values[i], arg);
		else
			jg_value(g, obj->u.object.values[i]);
	}
	if (mine < 0) {
		jg_key(g, key);
		gen(g, NULL, arg);
	}
	yajl_gen_map_close(g);
}

static void gen_runtimes(yajl_gen g, yajl_val runtimes, const char *path)
{
	gen_with_member(g, runtimes, "ocibpf", gen_runtime_entry, path);
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
	gen_with_member(g, root, "runtimes", gen_runtimes, runtime);
	*ret = install_with_newline(json_gen_take(g, ret_len), ret_len);
	return 0;
}

int plan_docker(struct install *in, struct error *err)
{
	_cleanup_free_ char *runtime = NULL, *path = install_rooted(in, DOCKER_DAEMON_JSON);
	_cleanup_free_ char *old = NULL;
	struct stat st;
	size_t old_len;
	int r = install_sibling(in, "ocibpf-runtime", &runtime, err);
	if (r < 0 || (r = install_read_existing(path, &old, &old_len, err)) < 0)
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
	install_add_file(in, DOCKER_DAEMON_JSON, text, len, mode, true);
	install_add_note(in, "restart dockerd (or send it SIGHUP), then: docker run --runtime ocibpf "
			 "-e OCIBPF_POLICY=NAME ... (ocibpf-runtime makes the variable the "
			 POLICY_ANNOTATION " annotation: Docker before 24 has no --annotation); "
			 "ocibpf-runtime reads OCIBPF_CONFIG from the environment of dockerd's containerd");
	return 0;
}

