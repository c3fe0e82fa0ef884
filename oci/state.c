/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI state document a runtime writes to a hook's stdin (runtime-spec "State"), as
 * runc ("status": "creating") and crun ("status": "created", plus "root") write it.
 * Unknown members are ignored: the runtime-spec may add some.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/capability.h>

#include "json.h"
#include "state.h"

#define CONFIG_SIZE_MAX	(16u << 20)
#define QUOTE_MAX	80

/* A foreign string, JSON-quoted (control characters escaped) and shortened. */
static char *quote(const char *s)
{
	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	size_t len = strlen(s);
	jg_strn(g, s, len > QUOTE_MAX ? QUOTE_MAX : len);
	_cleanup_free_ char *q = json_gen_take(g, NULL);
	return xasprintf("%s%s", q, len > QUOTE_MAX ? "..." : "");
}

static void annotations_free(struct annotation *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].key);
		free(a[i].value);
	}
	free(a);
}

void oci_state_free(struct oci_state *s)
{
	if (!s)
		return;
	free(s->oci_version);
	free(s->id);
	free(s->status);
	free(s->bundle);
	free(s->root);
	annotations_free(s->annotations, s->n_annotations);
	free(s);
}

const char *oci_state_annotation(const struct oci_state *s, const char *key)
{
	for (size_t i = 0; s && i < s->n_annotations; i++)
		if (strcmp(s->annotations[i].key, key) == 0)
			return s->annotations[i].value;
	return NULL;
}

static int take_string(yajl_val root, const char *key, bool required, char **ret,
		       struct error *err)
{
	yajl_val v = json_get(root, key);
	if (!v) {
		if (required)
			return err_msg(err, -EINVAL, "state: \"%s\" is missing", key);
		return 0;
	}
	if (!YAJL_IS_STRING(v))
		return err_msg(err, -EINVAL, "state: \"%s\" must be a string", key);
	*ret = xstrdup(YAJL_GET_STRING(v));
	return 0;
}

static int take_pid(yajl_val root, bool need_pid, pid_t *ret, struct error *err)
{
	yajl_val v = json_get(root, "pid");
	if (!v) {
		if (need_pid)
			return err_msg(err, -EINVAL, "state: \"pid\" is missing");
		*ret = 0;
		return 0;
	}
	/* YAJL_IS_INTEGER is false for fractions and for numbers beyond long long. */
	if (!YAJL_IS_INTEGER(v))
		return err_msg(err, -EINVAL, "state: \"pid\" must be an integer");
	long long pid = YAJL_GET_INTEGER(v);
	if (pid < 0 || pid > INT_MAX)
		return err_msg(err, -EINVAL, "state: \"pid\" %lld is out of range", pid);
	if (pid == 0 && need_pid)
		return err_msg(err, -EINVAL, "state: \"pid\" must be greater than 0");
	*ret = (pid_t)pid;
	return 0;
}

static int cmp_annotation(const void *a, const void *b)
{
	return strcmp(((const struct annotation *)a)->key, ((const struct annotation *)b)->key);
}

/*
 * An "annotations" object of strings (null or absent: none). A key given twice is an
 * error: readers that take the first and readers that take the last would disagree.
 */
static int take_annotations(yajl_val v, const char *what, struct annotation **ret,
			    size_t *ret_n, struct error *err)
{
	*ret = NULL;
	*ret_n = 0;
	if (!v || YAJL_IS_NULL(v))
		return 0;
	if (!YAJL_IS_OBJECT(v))
		return err_msg(err, -EINVAL, "%s: \"annotations\" must be an object", what);
	size_t n = v->u.object.len;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!YAJL_IS_STRING(v->u.object.values[i])) {
			_cleanup_free_ char *q = quote(v->u.object.keys[i]);
			return err_msg(err, -EINVAL, "%s: annotation %s must be a string", what, q);
		}
	struct annotation *a = xcalloc(n, sizeof(*a));
	for (size_t i = 0; i < n; i++) {
		a[i].key = xstrdup(v->u.object.keys[i]);
		a[i].value = xstrdup(YAJL_GET_STRING(v->u.object.values[i]));
	}
	/* Duplicates are found on a sorted copy; the caller gets the document's order. */
	_cleanup_free_ struct annotation *sorted = xcalloc(n, sizeof(*sorted));
	memcpy(sorted, a, n * sizeof(*a));
	qsort(sorted, n, sizeof(*sorted), cmp_annotation);
	for (size_t i = 1; i < n; i++)
		if (strcmp(sorted[i - 1].key, sorted[i].key) == 0) {
			_cleanup_free_ char *q = quote(sorted[i].key);
			int r = err_msg(err, -EINVAL, "%s: annotation %s is given twice", what, q);
			annotations_free(a, n);
			return r;
		}
	*ret = a;
	*ret_n = n;
	return 0;
}

/*
 * An id runc or crun could have given ([A-Za-z0-9_+.,-]+, not "." or ".."): anything else
 * is not a runtime's state. Whether ocibpf can monitor it (valid_id) is asked only of a
 * container that has a policy: the others are left alone whatever their id.
 */
#define RUNTIME_ID_MAX 1024
static bool runtime_id(const char *id)
{
	/* (Nor one an engine can't pass on runc's command line: it would read as an option.) */
	if (!*id || *id == '-' || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return false;
	size_t n = 0;
	for (const char *p = id; *p; p++, n++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      strchr("_+.,-", *p)))
			return false;
	return n <= RUNTIME_ID_MAX;
}

static int state_fields(yajl_val root, bool need_pid, struct oci_state *s, struct error *err)
{
	int r;
	if ((r = take_string(root, "ociVersion", true, &s->oci_version, err)) < 0 ||
	    (r = take_string(root, "id", true, &s->id, err)) < 0 ||
	    (r = take_string(root, "status", true, &s->status, err)) < 0 ||
	    (r = take_string(root, "bundle", true, &s->bundle, err)) < 0 ||
	    (r = take_string(root, "root", false, &s->root, err)) < 0)
		return r;
	if (!runtime_id(s->id)) {
		_cleanup_free_ char *q = quote(s->id);
		return err_msg(err, -EINVAL,
			       "state: \"id\" %s is not a valid container id (letters, digits and _+-.,, at most %d characters)",
			       q, RUNTIME_ID_MAX);
	}
	if (s->bundle[0] != '/') {
		_cleanup_free_ char *q = quote(s->bundle);
		return err_msg(err, -EINVAL, "state: \"bundle\" %s is not an absolute path", q);
	}
	if ((r = take_pid(root, need_pid, &s->pid, err)) < 0)
		return r;
	return take_annotations(json_get(root, "annotations"), "state", &s->annotations,
				&s->n_annotations, err);
}

int oci_state_stage(const struct oci_state *s, bool *ret_create, struct error *err)
{
	if (strcmp(s->status, "creating") == 0 || strcmp(s->status, "created") == 0) {
		*ret_create = true;
		return 0;
	}
	if (strcmp(s->status, "stopped") == 0) {
		*ret_create = false;
		return 0;
	}
	_cleanup_free_ char *q = quote(s->status);
	return err_msg(err, -EINVAL,
		       "cannot tell the hook's stage from the status %s: give it as the argument (createRuntime, prestart or poststop)",
		       q);
}

int oci_state_parse(const char *text, bool need_pid, struct oci_state **ret, struct error *err)
{
	return oci_state_parse_text(text ? text : "", text ? strlen(text) : 0, need_pid, ret, err);
}

int oci_state_parse_text(const char *text, size_t len, bool need_pid, struct oci_state **ret,
			 struct error *err)
{
	_cleanup_json_ yajl_val root = NULL;
	int r = json_parse_doc(text, len, "state", &root, err);
	if (r < 0)
		return r;
	if (!YAJL_IS_OBJECT(root))
		return err_msg(err, -EINVAL, "state: must be a JSON object");
	_cleanup_oci_state_ struct oci_state *s = xcalloc(1, sizeof(*s));
	r = state_fields(root, need_pid, s, err);
	if (r < 0)
		return r;
	const char *dup = json_duplicate_key(root);
	if (dup) {
		_cleanup_free_ char *q = quote(dup);
		return err_msg(err, -EINVAL, "state: invalid JSON: key %s is given twice", q);
	}
	*ret = TAKE_PTR(s);
	return 0;
}

/* An OCI config.json's text (named what in errors) parsed: a JSON object. */
static int config_parse(const char *text, size_t len, const char *what, yajl_val *ret,
			struct error *err)
{
	if (memchr(text, '\0', len))
		return err_msg(err, -EINVAL, "%s: invalid JSON: NUL byte in file", what);
	int r = json_parse(text, what, ret, err);
	if (r < 0)
		return r;
	if (!YAJL_IS_OBJECT(*ret))
		return err_msg(err, -EINVAL, "%s: must be a JSON object", what);
	return 0;
}

int oci_config_annotations(const char *text, size_t len, const char *what,
			   struct annotation **ret, size_t *ret_n, struct error *err)
{
	_cleanup_json_ yajl_val root = NULL;
	int r = config_parse(text, len, what, &root, err);
	if (r < 0)
		return r;
	struct annotation *a;
	size_t n;
	r = take_annotations(json_get(root, "annotations"), what, &a, &n, err);
	if (r < 0 || n == 0)
		return r;
	*ret = xrealloc(*ret, (*ret_n + n) * sizeof(**ret));
	memcpy(*ret + *ret_n, a, n * sizeof(*a));
	*ret_n += n;
	free(a);
	return 0;
}

int oci_bundle_annotations(const char *bundle, struct annotation **ret, size_t *ret_n,
			   struct error *err)
{
	_cleanup_free_ char *path = path_join(bundle, "config.json");
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_file(path, CONFIG_SIZE_MAX, &text, &len);
	if (r == -EFBIG)
		return err_msg(err, r, "%s is larger than 16 MiB", path);
	if (r < 0)
		return err_errno(err, r, "cannot read %s", path);
	return oci_config_annotations(text, len, path, ret, ret_n, err);
}

/*
 * The capability a config.json's entry gives, read as the runtimes read it: runc takes
 * "CAP_NET_ADMIN" only, crun (libcap's cap_from_name) also "cap_net_admin" in any case,
 * a name followed by anything ("CAP_NET_ADMIN ", "cap_net_admin,x"), and a number
 * ("12", "0xc"). -1 when it is none of ours.
 */
static int cap_value(const char *s)
{
	if (s[0] >= '0' && s[0] <= '9') {
		errno = 0;
		unsigned long n = strtoul(s, NULL, 0);
		return errno || n >= 64 ? -1 : (int)n;
	}
	size_t len = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_");
	if (len == strlen("CAP_SYS_ADMIN") && strncasecmp(s, "CAP_SYS_ADMIN", len) == 0)
		return CAP_SYS_ADMIN;
	if (len == strlen("CAP_NET_ADMIN") && strncasecmp(s, "CAP_NET_ADMIN", len) == 0)
		return CAP_NET_ADMIN;
	return -1;
}

/* Is cap in a capability list of the config's process ("bounding", "effective", ...)? */
static bool caps_have(yajl_val caps, int cap)
{
	static const char *const sets[] = { "bounding", "effective", "permitted", "inheritable",
					    "ambient" };
	for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
		yajl_val list = json_get(caps, sets[i]);
		for (size_t j = 0; YAJL_IS_ARRAY(list) && j < list->u.array.len; j++) {
			const char *c = YAJL_GET_STRING(list->u.array.values[j]);
			if (c && cap_value(c) == cap)
				return true;
		}
	}
	return false;
}

int oci_config_powers(const char *text, size_t len, const char *what, struct oci_powers *ret,
		      struct error *err)
{
	_cleanup_json_ yajl_val root = NULL;
	int r = config_parse(text, len, what, &root, err);
	if (r < 0)
		return r;
	bool userns = false, netns = false;
	yajl_val ns = json_get(json_get(root, "linux"), "namespaces");
	for (size_t i = 0; YAJL_IS_ARRAY(ns) && i < ns->u.array.len; i++) {
		const char *type = json_get_string(ns->u.array.values[i], "type");
		userns |= type && strcmp(type, "user") == 0;
		netns |= type && strcmp(type, "network") == 0;
	}
	yajl_val caps = json_get(json_get(root, "process"), "capabilities");
	/* In a user namespace of its own, its capabilities are not the host's... */
	ret->host_sys_admin = !userns && caps_have(caps, CAP_SYS_ADMIN);
	/* ...but they are over a network namespace it has with it (one it joins by path
	 * too: its owner can't be told from here). */
	ret->net_admin = (!userns || netns) && caps_have(caps, CAP_NET_ADMIN);
	return 0;
}

int oci_bundle_powers(const char *bundle, struct oci_powers *ret, struct error *err)
{
	_cleanup_free_ char *path = path_join(bundle, "config.json");
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = read_file(path, CONFIG_SIZE_MAX, &text, &len);
	if (r == -EFBIG)
		return err_msg(err, r, "%s is larger than 16 MiB", path);
	if (r < 0)
		return err_errno(err, r, "cannot read %s", path);
	return oci_config_powers(text, len, path, ret, err);
}
