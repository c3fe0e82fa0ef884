/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"
#include "unit.h"

static char *repeat(char c, size_t n)
{
	char *s = xcalloc(1, n + 1);
	memset(s, c, n);
	return s;
}

TEST(valid_id)
{
	CHECK(valid_id("a"));
	CHECK(valid_id("0"));
	CHECK(valid_id("abc123"));
	CHECK(valid_id("Web-1_2.3"));
	CHECK(valid_id("a.."));
	CHECK(valid_id("3f2a9c1e0b7d4e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f"));
	CHECK(!valid_id(NULL));
	CHECK(!valid_id(""));
	CHECK(!valid_id("."));
	CHECK(!valid_id(".."));
	CHECK(!valid_id("../../x"));
	CHECK(!valid_id("-a"));
	CHECK(!valid_id("_a"));
	CHECK(!valid_id(".a"));
	CHECK(!valid_id("a/b"));
	CHECK(!valid_id("a b"));
	CHECK(!valid_id("a\n"));
	CHECK(!valid_id("a:b"));
	CHECK(!valid_id("a\\b"));
	CHECK(!valid_id("caf\xc3\xa9"));

	_cleanup_free_ char *max = repeat('a', ID_MAX);
	_cleanup_free_ char *over = repeat('a', ID_MAX + 1);
	CHECK(valid_id(max));
	CHECK(!valid_id(over));
}

TEST(valid_name)
{
	CHECK(valid_name("web"));
	CHECK(valid_name("db.v2-prod_1"));
	CHECK(!valid_name(NULL));
	CHECK(!valid_name(""));
	CHECK(!valid_name("../web"));
	CHECK(!valid_name(".web"));
	CHECK(!valid_name("web/x"));
	CHECK(!valid_name("web x"));
	_cleanup_free_ char *max = repeat('n', 64);
	_cleanup_free_ char *over = repeat('n', 65);
	CHECK(valid_name(max));
	CHECK(!valid_name(over));
}

#define CHECK_JOIN(a, b, want)							\
	do {									\
		char *_j = path_join(a, b);					\
		CHECK_STR_EQ(_j, want);						\
		free(_j);							\
	} while (0)

TEST(path_join)
{
	CHECK_JOIN("a", "b", "a/b");
	CHECK_JOIN("a/", "b", "a/b");
	CHECK_JOIN("a", "/b", "a/b");
	CHECK_JOIN("a/", "//b", "a/b");
	CHECK_JOIN("/", "x", "/x");
	CHECK_JOIN("/", "/x", "/x");
	CHECK_JOIN("/etc/ocibpf/policies", "web.json", "/etc/ocibpf/policies/web.json");
	CHECK_JOIN("/run/ocibpf", "a/b/c", "/run/ocibpf/a/b/c");
	CHECK_JOIN("a", "b/", "a/b/");
}

TEST(format_rfc3339)
{
	char buf[32];
	format_rfc3339(0, buf);
	CHECK_STR_EQ(buf, "1970-01-01T00:00:00.000000000Z");
	format_rfc3339(1795534200123456789ULL, buf);
	CHECK_STR_EQ(buf, "2026-11-24T15:30:00.123456789Z");
	format_rfc3339(1795534200000000001ULL, buf);
	CHECK_STR_EQ(buf, "2026-11-24T15:30:00.000000001Z");
	format_rfc3339(951868799999999999ULL, buf); /* leap day, last ns */
	CHECK_STR_EQ(buf, "2000-02-29T23:59:59.999999999Z");
	CHECK_INT_EQ(strlen(buf), 30);
	/* The last second formatted is kept: the next one, and back, are formatted anew. */
	format_rfc3339(951868800000000000ULL, buf);
	CHECK_STR_EQ(buf, "2000-03-01T00:00:00.000000000Z");
	format_rfc3339(951868799000000010ULL, buf);
	CHECK_STR_EQ(buf, "2000-02-29T23:59:59.000000010Z");
	format_rfc3339(18446744073709551615ULL, buf);
	CHECK_STR_EQ(buf, "2554-07-21T23:34:33.709551615Z");

	/* The date is computed without gmtime_r (which reads /etc/localtime): the same as
	 * gmtime_r's every 7 hours 13 minutes from 1970 to 2554, and on each side of every
	 * March 1st, New Year and the leap days of 1972-2400 (2100 and 2200 have none). */
	for (unsigned long long sec = 0; sec < 18446744073ULL; sec += 25980) {
		char want[32];
		time_t t = (time_t)sec;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S.000000000Z", &tm);
		format_rfc3339(sec * 1000000000ULL, buf);
		if (strcmp(buf, want) != 0) {
			CHECK_STR_EQ(buf, want);
			break;
		}
	}
	static const char *const edges[] = {
		"1972-02-29T23:59:59", "1972-03-01T00:00:00", "1999-12-31T23:59:59",
		"2000-01-01T00:00:00", "2100-02-28T23:59:59", "2100-03-01T00:00:00",
		"2200-02-28T23:59:59", "2200-03-01T00:00:00", "2400-02-29T12:00:00",
		"2400-03-01T00:00:00", "2554-07-21T23:34:33",
	};
	for (size_t i = 0; i < ARRAY_SIZE(edges); i++) {
		struct tm tm = { 0 };
		strptime(edges[i], "%Y-%m-%dT%H:%M:%S", &tm);
		format_rfc3339((unsigned long long)timegm(&tm) * 1000000000ULL, buf);
		CHECK_INT_EQ(strncmp(buf, edges[i], 19), 0);
	}
}

TEST(err_msg_and_errno)
{
	struct error err = { 0 };
	CHECK_INT_EQ(err_msg(&err, EINVAL, "bad %s", "thing"), -EINVAL);
	CHECK_STR_EQ(err.msg, "bad thing");
	CHECK_INT_EQ(err.code, -EINVAL);
	/* The first error wins: it is the one closest to the cause. */
	CHECK_INT_EQ(err_errno(&err, -ENOENT, "later"), -ENOENT);
	CHECK_STR_EQ(err.msg, "bad thing");
	CHECK_INT_EQ(err.code, -EINVAL);
	err_clear(&err);
	CHECK(!err.msg && err.code == 0);

	CHECK_INT_EQ(err_errno(&err, -ENOENT, "open %s", "/x"), -ENOENT);
	CHECK_STR_EQ(err.msg, "open /x: No such file or directory");
	err_clear(&err);
	CHECK_INT_EQ(err_msg(&err, 0, "zero"), -EINVAL);
	CHECK_INT_EQ(err.code, -EINVAL);
	err_clear(&err);
	CHECK_INT_EQ(err_msg(NULL, -EPERM, "nowhere"), -EPERM);
	err_clear(&err);
}

TEST(xasprintf_and_xstrdup)
{
	_cleanup_free_ char *s = xasprintf("%s-%d", "a", 42);
	CHECK_STR_EQ(s, "a-42");
	_cleanup_free_ char *d = xstrdup("");
	CHECK_STR_EQ(d, "");
	_cleanup_free_ char *z = xcalloc(0, 0);
	CHECK(z);
}

static char *tmpdir(void)
{
	char *d = xstrdup("/tmp/ocibpf-test-util.XXXXXX");
	if (!mkdtemp(d))
		abort();
	return d;
}

TEST(files_roundtrip)
{
	_cleanup_free_ char *d = tmpdir();
	_cleanup_free_ char *f = path_join(d, "f");
	CHECK_INT_EQ(write_file_atomic(f, "hello", 5, 0640), 0);
	struct stat st;
	CHECK(stat(f, &st) == 0 && (st.st_mode & 07777) == 0640);
	char *text = NULL;
	size_t len = 0;
	CHECK_INT_EQ(read_file(f, 1 << 20, &text, &len), 0);
	CHECK_STR_EQ(text, "hello");
	CHECK_INT_EQ(len, 5);
	free(text);
	/* Replaced atomically, mode applied again. */
	CHECK_INT_EQ(write_file_atomic(f, "", 0, 0600), 0);
	CHECK(stat(f, &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_size == 0);
	CHECK_INT_EQ(read_file(f, 1 << 20, &text, &len), 0);
	CHECK(text && len == 0 && text[0] == '\0');
	free(text);

	CHECK_INT_EQ(read_file(d, 1 << 20, &text, &len), -EISDIR);
	_cleanup_free_ char *missing = path_join(d, "missing");
	CHECK_INT_EQ(read_file(missing, 1 << 20, &text, &len), -ENOENT);
	rm_rf(d);
}

TEST(read_file_limit)
{
	_cleanup_free_ char *d = tmpdir();
	_cleanup_free_ char *f = path_join(d, "big");
	_cleanup_free_ char *data = repeat('x', 20000);
	CHECK_INT_EQ(write_file_atomic(f, data, 20000, 0644), 0);
	char *text = NULL;
	size_t len = 0;
	CHECK_INT_EQ(read_file(f, 8192, &text, &len), -EFBIG);
	CHECK(!text);
	CHECK_INT_EQ(read_file(f, 1 << 20, &text, &len), 0);
	CHECK_INT_EQ(len, 20000);
	free(text);
	rm_rf(d);
}

TEST(mkdir_p_and_rm_rf)
{
	_cleanup_free_ char *d = tmpdir();
	_cleanup_free_ char *deep = xasprintf("%s/a/b/c", d);
	CHECK_INT_EQ(mkdir_p(deep, 0700), 0);
	struct stat st;
	CHECK(stat(deep, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	CHECK_INT_EQ(mkdir_p(deep, 0700), 0); /* exists: fine */

	_cleanup_free_ char *file = xasprintf("%s/a/file", d);
	CHECK_INT_EQ(write_file_atomic(file, "x", 1, 0644), 0);
	CHECK_INT_EQ(mkdir_p(file, 0700), -ENOTDIR);
	_cleanup_free_ char *under = xasprintf("%s/a/file/sub", d);
	CHECK(mkdir_p(under, 0700) < 0);
	CHECK_INT_EQ(mkdir_p(under, 0700), -ENOTDIR);

	/* Missing parents get the mode too; a trailing slash is fine; a dangling symlink is
	 * no directory (-ENOENT, as stat says). */
	_cleanup_free_ char *slashed = xasprintf("%s/x/y/", d);
	CHECK_INT_EQ(mkdir_p(slashed, 0750), 0);
	_cleanup_free_ char *x = xasprintf("%s/x", d);
	CHECK(stat(x, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0750);
	CHECK(stat(slashed, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0750);
	_cleanup_free_ char *dangling = xasprintf("%s/dangling", d);
	CHECK(symlink("nowhere", dangling) == 0);
	CHECK_INT_EQ(mkdir_p(dangling, 0700), -ENOENT);

	/* rm_rf does not follow symlinks out of the tree. */
	_cleanup_free_ char *outside = tmpdir();
	_cleanup_free_ char *keep = path_join(outside, "keep");
	CHECK_INT_EQ(write_file_atomic(keep, "k", 1, 0644), 0);
	_cleanup_free_ char *link = xasprintf("%s/a/b/link", d);
	CHECK(symlink(outside, link) == 0);

	CHECK_INT_EQ(rm_rf(d), 0);
	CHECK(access(d, F_OK) < 0 && errno == ENOENT);
	CHECK(access(keep, F_OK) == 0);
	CHECK_INT_EQ(rm_rf(d), 0); /* already gone */
	CHECK_INT_EQ(rm_rf(outside), 0);

	/* A lone file; a directory of more entries than one getdents buffer holds, removed
	 * while it is read. */
	_cleanup_free_ char *f = tmpdir(), *lone = path_join(f, "lone");
	CHECK_INT_EQ(write_file_atomic(lone, "x", 1, 0644), 0);
	CHECK_INT_EQ(rm_rf(lone), 0);
	CHECK(access(lone, F_OK) < 0 && errno == ENOENT);
	for (int i = 0; i < 3000; i++) {
		_cleanup_free_ char *e = xasprintf("%s/entry-with-a-longer-name-%04d", f, i);
		CHECK_INT_EQ(i % 3 ? write_file_atomic(e, "", 0, 0600) : mkdir(e, 0700), 0);
	}
	CHECK_INT_EQ(rm_rf(f), 0);
	CHECK(access(f, F_OK) < 0 && errno == ENOENT);
}

TEST(clocks)
{
	unsigned long long a = now_ns(), b = now_ns();
	CHECK(a > 0 && b >= a);
	/* After 2020-01-01. */
	CHECK(realtime_ns() > 1577836800ULL * 1000000000ULL);
}
