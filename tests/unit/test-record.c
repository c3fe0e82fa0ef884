/* SPDX-License-Identifier: Apache-2.0 */
/* Audit records: UTF-8 checks, the encoding of bytes that are not UTF-8, the decoder. */
#include <errno.h>
#include <string.h>

#include "auditlog.h"
#include "json.h"
#include "logreader.h"
#include "record.h"
#include "utf8.h"
#include "unit.h"

TEST(utf8_strict)
{
	CHECK(utf8_valid("abc", 3));
	CHECK(utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));   /* é € 😀 */
	CHECK(!utf8_valid("evil\xff", 5));
	CHECK(!utf8_valid("\xc0\xaf", 2));              /* overlong '/' */
	CHECK(!utf8_valid("\xed\xa0\x80", 3));          /* surrogate */
	CHECK(!utf8_valid("\xf4\x90\x80\x80", 4));      /* above U+10FFFF */
	CHECK(!utf8_valid("\xe2\x82", 2));              /* cut */
}

TEST(utf8_cuts)
{
	/* A trailing partial character goes; a whole one or an invalid byte stays. */
	CHECK_INT_EQ(utf8_trim_end("ab\xe2\x82", 4), 2);
	CHECK_INT_EQ(utf8_trim_end("ab\xe2", 3), 2);
	CHECK_INT_EQ(utf8_trim_end("ab\xf0\x9f\x98", 5), 2);
	CHECK_INT_EQ(utf8_trim_end("ab\xe2\x82\xac", 5), 5);
	CHECK_INT_EQ(utf8_trim_end("ab\xff", 3), 3);
	CHECK_INT_EQ(utf8_trim_end("abc", 3), 3);
	CHECK_INT_EQ(utf8_trim_end("", 0), 0);
	/* The head of a kept tail. */
	CHECK_INT_EQ(utf8_skip_start("\x82\xac/etc", 6), 2);
	CHECK_INT_EQ(utf8_skip_start("/etc", 4), 0);
}

TEST(lossy_and_hex)
{
	size_t n;
	_cleanup_free_ char *l = utf8_lossy("a\xff" "b", 3, &n);
	CHECK_STR_EQ(l, "a\xef\xbf\xbd" "b");
	CHECK_INT_EQ(n, 5);
	_cleanup_free_ char *h = hex_encode("a\xff\n", 3);
	CHECK_STR_EQ(h, "61ff0a");
	char *back = NULL;
	CHECK_INT_EQ(hex_decode(h, &back, &n), 0);
	CHECK_INT_EQ(n, 3);
	CHECK(memcmp(back, "a\xff\n", 3) == 0);
	free(back);
	CHECK_INT_EQ(hex_decode("6", &back, &n), -EINVAL);
	CHECK_INT_EQ(hex_decode("zz", &back, &n), -EINVAL);
}

TEST(generator_never_writes_invalid_utf8)
{
	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	yajl_gen_array_open(g);
	jg_strn(g, "x\xff", 2);
	yajl_gen_array_close(g);
	_cleanup_free_ char *t = json_gen_take(g, NULL);
	CHECK_STR_EQ(t, "[\"x\xef\xbf\xbd\"]");
}

static char *tmpdir(void)
{
	char *d = xstrdup("/tmp/ocibpf-unit-XXXXXX");
	if (!mkdtemp(d))
		abort();
	return d;
}

/* Write records with hostile bytes, read them back through the decoder. */
TEST(hostile_bytes_roundtrip)
{
	_cleanup_free_ char *dir = tmpdir();
	struct auditlog *al = NULL;
	CHECK_INT_EQ(auditlog_open(dir, "c1", &al, NULL), 0);
	CHECK_INT_EQ(record_lock(al), 0);

	struct ev_exec *x = xcalloc(1, sizeof(*x));
	memcpy(x->comm, "evil\xff", 5);
	strcpy(x->filename, "/bin/\xfe" "x");
	static const char args[] = "a\nb\0\x1b[2J\0\xe2\x82\xac\xe2\x82";
	memcpy(x->args, args, sizeof(args) - 1);
	x->args_len = sizeof(args) - 1;
	x->args_truncated = 1;
	record_exec(al, 1, x);

	struct ev_syscall *s = xcalloc(1, sizeof(*s));
	/* 15 bytes: 14 "a" + the first byte of "é": the kernel's cut. */
	memcpy(s->comm, "aaaaaaaaaaaaaa\xc3", 15);
	s->has_path = 1;
	s->path_truncated = 1;
	memcpy(s->path, "\x82\xac/etc/passwd", 13);
	s->nr = 257;
	s->ret = -2;
	record_syscall(al, 2, s, true);
	CHECK_INT_EQ(auditlog_flush(al), 0);
	auditlog_close(al);

	_cleanup_free_ char *path = path_join(dir, "c1.jsonl");
	_cleanup_free_ char *text = NULL;
	size_t len;
	CHECK_INT_EQ(read_file(path, 1 << 20, &text, &len), 0);
	CHECK(utf8_valid(text, len));

	struct record_reader *rr = NULL;
	CHECK_INT_EQ(record_reader_open(dir, "c1", &rr, NULL), 0);
	struct record_line l;
	CHECK_INT_EQ(record_read(rr, true, &l), 1);
	CHECK_INT_EQ(l.rec.type, REC_EXEC);
	size_t n;
	_cleanup_free_ char *comm = record_bytes(l.rec.v, "comm", &n);
	CHECK(n == 5 && memcmp(comm, "evil\xff", 5) == 0);
	CHECK_STR_EQ(json_get_string(l.rec.v, "comm_hex"), "6576696cff");
	_cleanup_free_ char *fn = record_bytes(l.rec.v, "filename", &n);
	CHECK(n == 7 && memcmp(fn, "/bin/\xfex", 7) == 0);
	_cleanup_free_ char *a0 = record_argv_bytes(l.rec.v, 0, &n);
	CHECK(n == 3 && memcmp(a0, "a\nb", 3) == 0);
	_cleanup_free_ char *a1 = record_argv_bytes(l.rec.v, 1, &n);
	CHECK(n == 4 && memcmp(a1, "\x1b[2J", 4) == 0);
	/* The last argument was cut mid-character: the partial one is gone. */
	_cleanup_free_ char *a2 = record_argv_bytes(l.rec.v, 2, &n);
	CHECK(n == 3 && memcmp(a2, "\xe2\x82\xac", 3) == 0);
	CHECK(json_get(l.rec.v, "argv_hex") == NULL);   /* every argument is UTF-8 */
	CHECK(YAJL_IS_TRUE(json_get(l.rec.v, "argv_truncated")));
	record_line_done(&l);

	CHECK_INT_EQ(record_read(rr, true, &l), 1);
	CHECK_INT_EQ(l.rec.type, REC_SYSCALL);
	CHECK_STR_EQ(json_get_string(l.rec.v, "comm"), "aaaaaaaaaaaaaa");
	CHECK(YAJL_IS_TRUE(json_get(l.rec.v, "comm_truncated")));
	CHECK_STR_EQ(json_get_string(l.rec.v, "path"), "/etc/passwd");
	CHECK(YAJL_IS_TRUE(json_get(l.rec.v, "path_truncated")));
	CHECK(YAJL_IS_TRUE(json_get(l.rec.v, "setup")));
	record_line_done(&l);
	CHECK_INT_EQ(record_read(rr, true, &l), 0);
	record_reader_close(rr);
	free(x);
	free(s);
	rm_rf(dir);
}

TEST(argv_hex_per_argument)
{
	_cleanup_free_ char *dir = tmpdir();
	struct auditlog *al = NULL;
	CHECK_INT_EQ(auditlog_open(dir, "c2", &al, NULL), 0);
	CHECK_INT_EQ(record_lock(al), 0);
	struct ev_exec *x = xcalloc(1, sizeof(*x));
	static const char args[] = "ok\0bad\xff\0";
	memcpy(x->args, args, sizeof(args) - 1);
	x->args_len = sizeof(args) - 1;
	record_exec(al, 1, x);
	CHECK_INT_EQ(auditlog_flush(al), 0);
	auditlog_close(al);
	_cleanup_free_ char *path = path_join(dir, "c2.jsonl");
	_cleanup_free_ char *text = NULL;
	CHECK_INT_EQ(read_file(path, 1 << 20, &text, NULL), 0);
	CHECK_STR_CONTAINS(text, "\"argv\":[\"ok\",\"bad\xef\xbf\xbd\"],\"argv_hex\":[null,\"626164ff\"]");
	free(x);
	rm_rf(dir);
}

TEST(unreadable_lines_are_returned)
{
	_cleanup_free_ char *dir = tmpdir();
	_cleanup_free_ char *path = path_join(dir, "c3.jsonl");
	static const char text[] = "{\"seq\":1,\"type\":\"start\"}\nnot json\n{\"seq\":2,\"type\":\"exec\",\"comm\":\"x\xff\"}\n{\"seq\":3,\"ty";
	CHECK_INT_EQ(write_file_atomic(path, text, sizeof(text) - 1, 0640), 0);
	struct record_reader *rr = NULL;
	CHECK_INT_EQ(record_reader_open(dir, "c3", &rr, NULL), 0);
	struct record_line l;
	CHECK_INT_EQ(record_read(rr, false, &l), 1);
	record_line_done(&l);
	CHECK_INT_EQ(record_read(rr, false, &l), -EBADMSG);
	CHECK_INT_EQ(l.lineno, 2);
	CHECK_STR_EQ(l.text, "not json");
	record_line_done(&l);
	CHECK_INT_EQ(record_read(rr, false, &l), -EBADMSG);   /* not UTF-8 */
	CHECK_INT_EQ(l.lineno, 3);
	record_line_done(&l);
	/* A last line without its newline: held back, unless final. */
	CHECK_INT_EQ(record_read(rr, false, &l), 0);
	CHECK_INT_EQ(record_read(rr, true, &l), -EBADMSG);
	CHECK_INT_EQ(l.lineno, 4);
	CHECK_STR_EQ(l.text, "{\"seq\":3,\"ty");
	record_line_done(&l);
	record_reader_close(rr);
	rm_rf(dir);
}

/* seq goes on whatever the last line holds. */
TEST(last_seq_past_a_bad_line)
{
	const char *bad = "{\"seq\":7,\"type\":\"x\"}\n{\"seq\":8,\"comm\":\"\xff\"}\n";
	CHECK_INT_EQ(auditlog_last_seq(bad, strlen(bad)), 8);
	const char *garbage = "{\"seq\":7,\"type\":\"x\"}\ngarbage\n";
	CHECK_INT_EQ(auditlog_last_seq(garbage, strlen(garbage)), 7);
	/* Found by fuzz-auditlog-tail: a NUL in a line, a seq beyond int64, a sign. */
	static const char nul[] = "{\"seq\":7}\n{\"seq\":8,\0}\n";
	CHECK_INT_EQ(auditlog_last_seq(nul, sizeof(nul) - 1), 7);
	const char *big = "{\"seq\":7}\n{\"seq\":99999999999999999999,\"c\":\"\xff\"}\n";
	CHECK_INT_EQ(auditlog_last_seq(big, strlen(big)), 7);
	const char *sign = "{\"seq\":7}\n{\"seq\":+9,\"c\":\"\xff\"}\n";
	CHECK_INT_EQ(auditlog_last_seq(sign, strlen(sign)), 7);
	CHECK_INT_EQ(record_type_of("lost"), REC_LOST);
	CHECK_INT_EQ(record_type_of("nope"), REC_UNKNOWN);
}

/* An argv of 1 KiB of empty arguments (execve with 1024 ""): every one is written. */
TEST(argv_of_empty_arguments)
{
	_cleanup_free_ char *dir = tmpdir();
	struct auditlog *al = NULL;
	CHECK_INT_EQ(auditlog_open(dir, "c4", &al, NULL), 0);
	CHECK_INT_EQ(record_lock(al), 0);
	struct ev_exec *x = xcalloc(1, sizeof(*x));
	x->args_len = EV_ARGS_MAX;
	x->args_truncated = 1;
	record_exec(al, 1, x);
	CHECK_INT_EQ(auditlog_flush(al), 0);
	auditlog_close(al);
	struct record_reader *rr = NULL;
	CHECK_INT_EQ(record_reader_open(dir, "c4", &rr, NULL), 0);
	struct record_line l;
	CHECK_INT_EQ(record_read(rr, true, &l), 1);
	yajl_val argv = json_get(l.rec.v, "argv");
	CHECK(YAJL_IS_ARRAY(argv) && argv->u.array.len == EV_ARGS_MAX);
	record_line_done(&l);
	record_reader_close(rr);
	free(x);
	rm_rf(dir);
}
