/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>

#include "config.h"
#include "unit.h"

static char *dq(const char *s)
{
	char *t = xstrdup(s);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	return t;
}

static struct config *parse_ok(const char *s)
{
	_cleanup_free_ char *json = dq(s);
	struct config *c = NULL;
	struct error err = { 0 };
	if (config_parse(json, "/etc/ocibpf/config.json", &c, &err) < 0) {
		printf("# config_parse: %s\n", err.msg);
		err_clear(&err);
		return NULL;
	}
	return c;
}

static char *parse_err(const char *s)
{
	_cleanup_free_ char *json = dq(s);
	struct config *c = (struct config *)0x1;
	struct error err = { 0 };
	if (config_parse(json, "/etc/ocibpf/config.json", &c, &err) == 0) {
		config_free(c);
		return NULL;
	}
	if (c != (struct config *)0x1)
		printf("# config_parse wrote *ret on failure\n");
	return err.msg ? err.msg : xstrdup("(no message)");
}

#define CHECK_BAD(json, needle)							\
	do {									\
		char *_m = parse_err(json);					\
		CHECK_STR_CONTAINS(_m, needle);					\
		free(_m);							\
	} while (0)

TEST(defaults)
{
	_cleanup_config_ struct config *c = parse_ok("{}");
	CHECK(c);
	if (!c)
		return;
	CHECK_STR_EQ(c->path, "/etc/ocibpf/config.json");
	CHECK_STR_EQ(c->log_dir, "/var/log/ocibpf");
	CHECK_STR_EQ(c->state_dir, "/run/ocibpf");
	CHECK_STR_EQ(c->bpffs_dir, "/sys/fs/bpf/ocibpf");
	CHECK_STR_EQ(c->policy_dir, "/etc/ocibpf/policies");
	CHECK(!c->default_policy);
	CHECK(!c->fail_open);
}

TEST(every_key)
{
	_cleanup_config_ struct config *c = parse_ok(
		"{'log_dir': '/tmp/t/log', 'state_dir': '/tmp/t/run', 'bpffs_dir': '/sys/fs/bpf/t',"
		" 'policy_dir': '/tmp/t/policies', 'default_policy': 'web', 'fail_open': true}");
	CHECK(c);
	if (!c)
		return;
	CHECK_STR_EQ(c->log_dir, "/tmp/t/log");
	CHECK_STR_EQ(c->state_dir, "/tmp/t/run");
	CHECK_STR_EQ(c->bpffs_dir, "/sys/fs/bpf/t");
	CHECK_STR_EQ(c->policy_dir, "/tmp/t/policies");
	CHECK_STR_EQ(c->default_policy, "web");
	CHECK(c->fail_open);
}

TEST(trailing_slashes_and_null_policy)
{
	_cleanup_config_ struct config *c = parse_ok(
		"{'log_dir': '/var/log/x//', 'state_dir': '/', 'default_policy': null, 'fail_open': false}");
	CHECK(c);
	if (!c)
		return;
	CHECK_STR_EQ(c->log_dir, "/var/log/x");
	CHECK_STR_EQ(c->state_dir, "/");
	CHECK(!c->default_policy);
	CHECK(!c->fail_open);
}

TEST(repeated_slashes_collapsed)
{
	/* One spelling per directory: names (the anchor cgroup's) are made from it. */
	_cleanup_config_ struct config *c = parse_ok(
		"{'bpffs_dir': '/sys/fs/bpf//x///y/', 'state_dir': '//'}");
	CHECK(c);
	if (!c)
		return;
	CHECK_STR_EQ(c->bpffs_dir, "/sys/fs/bpf/x/y");
	CHECK_STR_EQ(c->state_dir, "/");
}

TEST(unknown_key)
{
	CHECK_BAD("{'log_directory': '/x'}", "/etc/ocibpf/config.json: unknown key \"log_directory\"");
	CHECK_BAD("{'fail_open': true, 'failopen': true}", "unknown key \"failopen\"");
}

TEST(relative_and_bad_dirs)
{
	const char *keys[] = { "log_dir", "state_dir", "bpffs_dir", "policy_dir" };
	const char *bad[] = { "'var/log'", "''", "'./x'", "'/a/../b'", "1", "null", "['/x']" };
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			_cleanup_free_ char *json = xasprintf("{'%s': %s}", keys[k], bad[i]);
			_cleanup_free_ char *want = xasprintf("/etc/ocibpf/config.json: \"%s\" must be an absolute path",
							      keys[k]);
			CHECK_BAD(json, want);
		}
	char *long_dir = xcalloc(1, 1100);
	long_dir[0] = '/';
	memset(long_dir + 1, 'a', 1098);
	_cleanup_free_ char *json = xasprintf("{'log_dir': '%s'}", long_dir);
	CHECK_BAD(json, "\"log_dir\" must be an absolute path");
	free(long_dir);
}

TEST(bad_values)
{
	CHECK_BAD("{'default_policy': '../x'}", "\"default_policy\" must be a policy name");
	CHECK_BAD("{'default_policy': ''}", "\"default_policy\" must be a policy name");
	CHECK_BAD("{'default_policy': 7}", "\"default_policy\" must be a policy name");
	CHECK_BAD("{'fail_open': 'yes'}", "\"fail_open\" must be true or false");
	CHECK_BAD("{'fail_open': 1}", "\"fail_open\" must be true or false");
	CHECK_BAD("{'fail_open': null}", "\"fail_open\" must be true or false");
}

TEST(bad_json)
{
	CHECK_BAD("", "/etc/ocibpf/config.json: invalid JSON");
	CHECK_BAD("{", "/etc/ocibpf/config.json: invalid JSON");
	CHECK_BAD("{'log_dir': '/x',}", "/etc/ocibpf/config.json: invalid JSON");
	CHECK_BAD("[]", "/etc/ocibpf/config.json: must be a JSON object");
	CHECK_BAD("'x'", "/etc/ocibpf/config.json: must be a JSON object");
}

/* --- config_load ----------------------------------------------------------------------- */

static char *tmpdir(void)
{
	char *d = xstrdup("/tmp/ocibpf-test-config.XXXXXX");
	if (!mkdtemp(d))
		abort();
	return d;
}

TEST(load_named_and_env)
{
	_cleanup_free_ char *d = tmpdir();
	_cleanup_free_ char *a = path_join(d, "a.json");
	_cleanup_free_ char *b = path_join(d, "b.json");
	_cleanup_free_ char *missing = path_join(d, "missing.json");
	static const char ja[] = "{\"log_dir\": \"/tmp/a\"}", jb[] = "{\"log_dir\": \"/tmp/b\"}";
	CHECK(write_file_atomic(a, ja, strlen(ja), 0644) == 0);
	CHECK(write_file_atomic(b, jb, strlen(jb), 0644) == 0);
	_cleanup_free_ char *saved = getenv("OCIBPF_CONFIG") ? xstrdup(getenv("OCIBPF_CONFIG")) : NULL;
	struct config *c = NULL;
	struct error err = { 0 };

	CHECK_INT_EQ(config_load(a, &c, &err), 0);
	CHECK(c && strcmp(c->log_dir, "/tmp/a") == 0 && strcmp(c->path, a) == 0);
	config_free(c);
	c = NULL;

	setenv("OCIBPF_CONFIG", b, 1);
	CHECK_INT_EQ(config_load(NULL, &c, &err), 0);
	CHECK(c && strcmp(c->log_dir, "/tmp/b") == 0 && strcmp(c->path, b) == 0);
	config_free(c);
	c = NULL;
	/* An explicit path beats the environment. */
	CHECK_INT_EQ(config_load(a, &c, &err), 0);
	CHECK(c && strcmp(c->log_dir, "/tmp/a") == 0);
	config_free(c);
	c = NULL;

	/* A named file that is missing is an error, from the environment too. */
	CHECK_INT_EQ(config_load(missing, &c, &err), -ENOENT);
	CHECK_STR_CONTAINS(err.msg, missing);
	CHECK_STR_CONTAINS(err.msg, "No such file or directory");
	err_clear(&err);
	setenv("OCIBPF_CONFIG", missing, 1);
	CHECK_INT_EQ(config_load(NULL, &c, &err), -ENOENT);
	CHECK_STR_CONTAINS(err.msg, missing);
	err_clear(&err);
	CHECK(!c);

	if (saved)
		setenv("OCIBPF_CONFIG", saved, 1);
	else
		unsetenv("OCIBPF_CONFIG");
	rm_rf(d);
}

TEST(load_default_missing_means_defaults)
{
	if (access(OCIBPF_CONFIG_DEFAULT, F_OK) == 0)
		SKIP(OCIBPF_CONFIG_DEFAULT " exists on this host");
	_cleanup_free_ char *saved = getenv("OCIBPF_CONFIG") ? xstrdup(getenv("OCIBPF_CONFIG")) : NULL;
	unsetenv("OCIBPF_CONFIG");
	struct config *c = NULL;
	struct error err = { 0 };
	CHECK_INT_EQ(config_load(NULL, &c, &err), 0);
	CHECK(c && strcmp(c->log_dir, "/var/log/ocibpf") == 0 && !c->default_policy);
	config_free(c);
	err_clear(&err);
	if (saved)
		setenv("OCIBPF_CONFIG", saved, 1);
}

TEST(metrics_listen)
{
	struct config *c = parse_ok("{'metrics_listen': '127.0.0.1:9464'}");
	CHECK(c && c->metrics_listen && strcmp(c->metrics_listen, "127.0.0.1:9464") == 0);
	config_free(c);
	c = parse_ok("{'metrics_listen': '[::1]:9464'}");
	CHECK(c && c->metrics_listen && strcmp(c->metrics_listen, "[::1]:9464") == 0);
	config_free(c);
	c = parse_ok("{'metrics_listen': 'localhost:9100'}");   /* a name: looked up by the collector */
	CHECK(c && c->metrics_listen);
	config_free(c);
	c = parse_ok("{'metrics_listen': null}");
	CHECK(c && !c->metrics_listen);
	config_free(c);
	c = parse_ok("{}");
	CHECK(c && !c->metrics_listen);
	config_free(c);
	CHECK_BAD("{'metrics_listen': 9464}", "\"metrics_listen\" must be a string");
	CHECK_BAD("{'metrics_listen': '127.0.0.1'}", "\"metrics_listen\" 127.0.0.1: want ADDR:PORT");
	CHECK_BAD("{'metrics_listen': '::1:9100'}", "want ADDR:PORT (IPv6 as [ADDR]:PORT)");
	CHECK_BAD("{'metrics_listen': '[::1]'}", "want [ADDR]:PORT");
	CHECK_BAD("{'metrics_listen': '127.0.0.1:0'}", "a port 1-65535");
	CHECK_BAD("{'metrics_listen': '127.0.0.1:70000'}", "a port 1-65535");
	CHECK_BAD("{'metrics_listen': '127.0.0.1:+80'}", "a port 1-65535");
	CHECK_BAD("{'metrics_listen': ':9100'}", "no ADDR (0.0.0.0:9100 or [::]:9100 for every address)");
}

/* Input others wrote: a NUL and whatever follows it, or a key given twice, is refused. */
TEST(nul_and_duplicate_keys_refused)
{
	static const char nul[] = "{\"log_dir\": \"/x\"}\0{\"log_dir\": \"/y\"}";
	struct config *c = NULL;
	struct error err = { 0 };
	CHECK_INT_EQ(config_parse_text(nul, sizeof(nul) - 1, "/etc/ocibpf/config.json", &c, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "/etc/ocibpf/config.json: invalid JSON: NUL byte");
	err_clear(&err);
	CHECK_BAD("{'log_dir': '/a', 'log_dir': '/b'}", "/etc/ocibpf/config.json: invalid JSON: key \"log_dir\" is given twice");
	CHECK_BAD("{'fail_open': true, 'state_dir': '/s', 'fail_open': false}", "key \"fail_open\" is given twice");
	/* Once each is fine. */
	struct config *ok = parse_ok("{'log_dir': '/a', 'state_dir': '/b'}");
	CHECK(ok != NULL);
	config_free(ok);
}

TEST(config_load_refuses_nul)
{
	char path[] = "/tmp/ocibpf-unit-config-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	static const char text[] = "{}\0garbage";
	CHECK_INT_EQ(write(fd, text, sizeof(text) - 1), (int)sizeof(text) - 1);
	close(fd);
	struct config *c = NULL;
	struct error err = { 0 };
	CHECK_INT_EQ(config_load(path, &c, &err), -EINVAL);
	CHECK_STR_CONTAINS(err.msg, "NUL byte");
	err_clear(&err);
	unlink(path);
}
