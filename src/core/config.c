/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "json.h"
#include "listen.h"

void config_free(struct config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->log_dir);
	free(c->state_dir);
	free(c->bpffs_dir);
	free(c->policy_dir);
	free(c->default_policy);
	free(c->metrics_listen);
	free(c);
}

static bool has_dot_component(const char *s)
{
	for (const char *p = s; *p; ) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return true;
		p += n;
	}
	return false;
}

static int take_dir(yajl_val root, const char *key, const char *def, const char *path,
		    char **ret, struct error *err)
{
	yajl_val v = json_get(root, key);
	if (!v) {
		*ret = xstrdup(def);
		return 0;
	}
	const char *s = YAJL_GET_STRING(v);
	if (!s || s[0] != '/' || strlen(s) > 1024 || has_dot_component(s))
		return err_msg(err, -EINVAL, "%s: \"%s\" must be an absolute path without . or .. components",
			       path, key);
	/*
	 * One spelling per directory: repeated slashes collapsed, trailing ones dropped ("/"
	 * stays "/"). Names are made from it (the anchor cgroup is named by a hash of
	 * bpffs_dir): "/sys/fs/bpf//x" in one configuration and "/sys/fs/bpf/x" in another
	 * must name the same things.
	 */
	char *d = *ret = xstrdup(s);
	for (const char *p = s; *p; p++)
		if (!(*p == '/' && p[1] == '/'))
			*d++ = *p;
	*d = '\0';
	for (size_t n = strlen(*ret); n > 1 && (*ret)[n - 1] == '/'; n--)
		(*ret)[n - 1] = '\0';
	return 0;
}

/* A number with one unit letter of units[] (mult[i] each); a bare number is mult 1. */
static int parse_unit(const char *s, const char *units, const unsigned long long *mult,
		      unsigned long long *ret)
{
	if (!s || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	unsigned long long m = 1;
	if (*end) {
		const char *u = end[1] ? NULL : strchr(units, *end);
		if (!u)
			return -EINVAL;
		m = mult[u - units];
	}
	if (n > ~0ULL / m)
		return -EINVAL;
	*ret = n * m;
	return 0;
}

int config_parse_age(const char *s, unsigned long long *ret)
{
	static const unsigned long long mult[] = { 1, 60, 3600, 86400 };
	return parse_unit(s, "smhd", mult, ret);
}

int config_parse_bytes(const char *s, unsigned long long *ret)
{
	static const unsigned long long mult[] = { 1ULL << 10, 1ULL << 20, 1ULL << 30, 1ULL << 40 };
	return parse_unit(s, "KMGT", mult, ret);
}

/* "log_retention": {"max_age": "30d", "max_bytes": "10G"}; a number is seconds / bytes. */
static int take_retention(yajl_val v, const char *path, struct config *c, struct error *err)
{
	static const char *const keys[] = { "max_age", "max_bytes", "compress", NULL };
	if (!v || YAJL_IS_NULL(v))
		return 0;
	if (!YAJL_IS_OBJECT(v))
		return err_msg(err, -EINVAL, "%s: \"log_retention\" must be an object (max_age, max_bytes, compress)", path);
	const char *unknown = json_unknown_key(v, keys);
	if (unknown)
		return err_msg(err, -EINVAL, "%s: \"log_retention\": unknown key \"%s\" (max_age, max_bytes, compress)",
			       path, unknown);
	yajl_val a = json_get(v, "max_age"), b = json_get(v, "max_bytes"), z = json_get(v, "compress");
	if (z && !YAJL_IS_TRUE(z) && !YAJL_IS_FALSE(z))
		return err_msg(err, -EINVAL, "%s: \"log_retention.compress\" must be true or false", path);
	c->log_compress = YAJL_IS_TRUE(z);
	long long n;
	if (a && !YAJL_IS_NULL(a) &&
	    !(YAJL_IS_INTEGER(a) && (n = YAJL_GET_INTEGER(a)) >= 0 && (c->log_max_age_s = n, true)) &&
	    config_parse_age(YAJL_GET_STRING(a), &c->log_max_age_s) < 0)
		return err_msg(err, -EINVAL, "%s: \"log_retention.max_age\" must be a duration: \"30d\", \"12h\", \"90m\", \"3600s\"", path);
	if (b && !YAJL_IS_NULL(b) &&
	    !(YAJL_IS_INTEGER(b) && (n = YAJL_GET_INTEGER(b)) >= 0 && (c->log_max_bytes = n, true)) &&
	    config_parse_bytes(YAJL_GET_STRING(b), &c->log_max_bytes) < 0)
		return err_msg(err, -EINVAL, "%s: \"log_retention.max_bytes\" must be a size: bytes, or \"500M\", \"10G\" (K, M, G, T: powers of 1024)", path);
	return 0;
}

int config_parse(const char *text, const char *path, struct config **ret, struct error *err)
{
	return config_parse_text(text, strlen(text), path, ret, err);
}

int config_parse_text(const char *text, size_t len, const char *path, struct config **ret,
		      struct error *err)
{
	static const char *const keys[] = { "log_dir", "state_dir", "bpffs_dir", "policy_dir",
					    "default_policy", "fail_open", "metrics_listen",
					    "log_retention", NULL };
	_cleanup_json_ yajl_val root = NULL;
	int r = json_parse_doc(text, len, path, &root, err);
	if (r < 0)
		return r;
	if (!YAJL_IS_OBJECT(root))
		return err_msg(err, -EINVAL, "%s: must be a JSON object", path);
	const char *dup = json_duplicate_key(root);
	if (dup) {
		_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
		jg_strn(g, dup, strnlen(dup, 80));
		_cleanup_free_ char *q = json_gen_take(g, NULL);
		return err_msg(err, -EINVAL, "%s: invalid JSON: key %s is given twice", path, q);
	}
	const char *unknown = json_unknown_key(root, keys);
	if (unknown)
		return err_msg(err, -EINVAL, "%s: unknown key \"%s\"", path, unknown);

	struct config *c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(path);
	if ((r = take_dir(root, "log_dir", "/var/log/ocibpf", path, &c->log_dir, err)) < 0 ||
	    (r = take_dir(root, "state_dir", "/run/ocibpf", path, &c->state_dir, err)) < 0 ||
	    (r = take_dir(root, "bpffs_dir", "/sys/fs/bpf/ocibpf", path, &c->bpffs_dir, err)) < 0 ||
	    (r = take_dir(root, "policy_dir", "/etc/ocibpf/policies", path, &c->policy_dir, err)) < 0)
		goto fail;

	yajl_val v = json_get(root, "default_policy");
	if (v && !YAJL_IS_NULL(v)) {
		const char *s = YAJL_GET_STRING(v);
		if (!valid_name(s)) {
			r = err_msg(err, -EINVAL, "%s: \"default_policy\" must be a policy name ([A-Za-z0-9][A-Za-z0-9._-]*)", path);
			goto fail;
		}
		c->default_policy = xstrdup(s);
	}
	v = json_get(root, "fail_open");
	if (v) {
		if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
			r = err_msg(err, -EINVAL, "%s: \"fail_open\" must be true or false", path);
			goto fail;
		}
		c->fail_open = YAJL_IS_TRUE(v);
	}
	v = json_get(root, "metrics_listen");
	if (v && !YAJL_IS_NULL(v)) {
		const char *s = YAJL_GET_STRING(v);
		_cleanup_free_ char *host = NULL, *port = NULL;
		_cleanup_free_ char *what = xasprintf("%s: \"metrics_listen\"", path);
		if (!s) {
			r = err_msg(err, -EINVAL, "%s must be a string ADDR:PORT", what);
			goto fail;
		}
		r = listen_split(what, s, &host, &port, err);
		if (r < 0)
			goto fail;
		c->metrics_listen = xstrdup(s);
	}
	if ((r = take_retention(json_get(root, "log_retention"), path, c, err)) < 0)
		goto fail;
	*ret = c;
	return 0;
fail:
	config_free(c);
	return r;
}

/*
 * The file's text. Opened without blocking: a FIFO nobody writes to would hang every
 * command, and every container start in the hook; once open, a FIFO or a pipe whose
 * writer is there (OCIBPF_CONFIG=<(...)) is read to its end, one with none is empty.
 */
static int read_config_file(const char *path, char **ret, size_t *ret_len, struct error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	/*
	 * Root acts on what it names (policy_dir, log_dir, default_policy, fail_open): like
	 * a policy file, it must be root's and writable by nobody else. A user's own
	 * commands (not root) read what they can.
	 */
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (geteuid() == 0 && S_ISREG(st.st_mode) && st.st_uid != 0)
		return err_msg(err, -EPERM, "%s: the configuration is not owned by root (root acts on it: it must be root's, as policies are)", path);
	if (geteuid() == 0 && S_ISREG(st.st_mode) && (st.st_mode & (S_IWGRP | S_IWOTH)))
		return err_msg(err, -EPERM, "%s: the configuration is writable by group or others (root acts on it: it must be root's alone, as policies are)", path);
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		return -errno;
	return read_fd(fd, 1 << 20, ret, ret_len);
}

int config_load(const char *path, struct config **ret, struct error *err)
{
	bool named = true;
	if (!path || !*path)
		path = getenv("OCIBPF_CONFIG");
	if (!path || !*path)
		path = OCIBPF_CONFIG_DEFAULT;
	/* The default file is optional wherever its name comes from. */
	if (strcmp(path, OCIBPF_CONFIG_DEFAULT) == 0)
		named = false;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = read_config_file(path, &text, &len, err);
	if (r == -ENOENT && !named)
		return config_parse("{}", path, ret, err);
	if (r == -EPERM && err && err->msg)
		return r;
	if (r < 0)
		return err_errno(err, r, "cannot read configuration %s", path);
	return config_parse_text(text, len, path, ret, err);
}
