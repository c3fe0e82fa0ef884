/* SPDX-License-Identifier: Apache-2.0 */
/* The audit log writer: seq from the file's tail, batches, torn lines, lost accounting. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "auditlog.h"
#include "json.h"
#include "unit.h"

TEST(last_seq_of_tail)
{
	const char *t = "{\"seq\":7,\"type\":\"x\"}\n{\"seq\":8,\"type\":\"y\"}\n";
	CHECK_INT_EQ(auditlog_last_seq(t, strlen(t)), 8);
	/* A torn last line (a writer died mid-record) is not the last record. */
	const char *torn = "{\"seq\":7}\n{\"seq\":8}\n{\"seq\":9,\"ty";
	CHECK_INT_EQ(auditlog_last_seq(torn, strlen(torn)), 8);
	CHECK_INT_EQ(auditlog_last_seq("", 0), 0);
	CHECK_INT_EQ(auditlog_last_seq("garbage\n", 8), 0);
	CHECK_INT_EQ(auditlog_last_seq("{\"seq\":-3}\n", 11), 0);
	/* The tail may start mid-line: only the last complete line counts. */
	const char *mid = "q\":3}\n{\"seq\":4}\n";
	CHECK_INT_EQ(auditlog_last_seq(mid, strlen(mid)), 4);
}

static char *tmpdir(void)
{
	char *d = xstrdup("/tmp/ocibpf-unit-XXXXXX");
	if (!mkdtemp(d))
		abort();
	return d;
}

static int write_one(struct auditlog *al, const char *type)
{
	int r = auditlog_lock(al);
	if (r < 0)
		return r;
	yajl_gen g = auditlog_begin(al, type, 1700000000123456789ULL);
	jg_key_int(g, "n", 1);
	auditlog_end(al);
	r = auditlog_flush(al);
	auditlog_unlock(al);
	return r;
}

TEST(two_writers_share_seq)
{
	_cleanup_free_ char *dir = tmpdir();
	_cleanup_free_ char *logdir = path_join(dir, "log");
	struct auditlog *a = NULL, *b = NULL;
	struct error err = { 0 };
	CHECK_INT_EQ(auditlog_open(logdir, "c1", &a, &err), 0);
	CHECK_INT_EQ(auditlog_open(logdir, "c1", &b, &err), 0);
	CHECK_INT_EQ(write_one(a, "start"), 0);
	CHECK_INT_EQ(write_one(b, "exec"), 0);
	CHECK_INT_EQ(write_one(a, "exec"), 0);
	CHECK_INT_EQ(write_one(b, "stop"), 0);
	auditlog_close(a);
	auditlog_close(b);

	_cleanup_free_ char *path = path_join(logdir, "c1.jsonl");
	_cleanup_free_ char *text = NULL;
	CHECK_INT_EQ(read_file(path, 1 << 20, &text, NULL), 0);
	CHECK_STR_EQ(text,
		"{\"seq\":1,\"ts\":\"2023-11-14T22:13:20.123456789Z\",\"container\":\"c1\",\"type\":\"start\",\"n\":1}\n"
		"{\"seq\":2,\"ts\":\"2023-11-14T22:13:20.123456789Z\",\"container\":\"c1\",\"type\":\"exec\",\"n\":1}\n"
		"{\"seq\":3,\"ts\":\"2023-11-14T22:13:20.123456789Z\",\"container\":\"c1\",\"type\":\"exec\",\"n\":1}\n"
		"{\"seq\":4,\"ts\":\"2023-11-14T22:13:20.123456789Z\",\"container\":\"c1\",\"type\":\"stop\",\"n\":1}\n");
	struct stat st;
	CHECK_INT_EQ(stat(path, &st), 0);
	CHECK_INT_EQ(st.st_mode & 07777, 0640);
	CHECK_INT_EQ(stat(logdir, &st), 0);
	CHECK_INT_EQ(st.st_mode & 07777, 0750);
	rm_rf(dir);
}

TEST(torn_line_is_closed_before_appending)
{
	_cleanup_free_ char *dir = tmpdir();
	_cleanup_free_ char *path = path_join(dir, "c2.jsonl");
	const char *torn = "{\"seq\":5,\"type\":\"exec\"}\n{\"seq\":6,\"ty";
	CHECK_INT_EQ(write_file_atomic(path, torn, strlen(torn), 0640), 0);
	struct auditlog *a = NULL;
	CHECK_INT_EQ(auditlog_open(dir, "c2", &a, NULL), 0);
	CHECK_INT_EQ(write_one(a, "stop"), 0);
	auditlog_close(a);
	_cleanup_free_ char *text = NULL;
	CHECK_INT_EQ(read_file(path, 1 << 20, &text, NULL), 0);
	/* The torn record stays as it was, on a line of its own; seq goes on from 5. */
	CHECK_STR_CONTAINS(text, "{\"seq\":6,\"ty\n{\"seq\":6,");
	rm_rf(dir);
}

TEST(symlink_is_not_followed)
{
	_cleanup_free_ char *dir = tmpdir();
	_cleanup_free_ char *target = path_join(dir, "target");
	_cleanup_free_ char *link = path_join(dir, "c3.jsonl");
	CHECK_INT_EQ(write_file_atomic(target, "x", 1, 0600), 0);
	CHECK_INT_EQ(symlink(target, link), 0);
	struct auditlog *a = NULL;
	struct error err = { 0 };
	CHECK(auditlog_open(dir, "c3", &a, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "c3.jsonl");
	err_clear(&err);
	CHECK(auditlog_open(dir, "../x", &a, &err) < 0);
	err_clear(&err);
	rm_rf(dir);
}
