/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>

#include "json.h"
#include "unit.h"

/* Parse text; return the error message (malloc'ed) or NULL with *ret set. */
static char *parse_err(const char *text, yajl_val *ret)
{
	struct error err = { 0 };
	yajl_val v = NULL;
	int r = json_parse(text, "t.json", &v, &err);
	if (r == 0) {
		*ret = v;
		return NULL;
	}
	CHECK(r == -EINVAL && !v && err.msg);
	return err.msg;
}

static void check_refused(const char *text, const char *msg)
{
	yajl_val v = NULL;
	_cleanup_free_ char *e = parse_err(text, &v);
	CHECK(e != NULL);
	if (e)
		CHECK_STR_CONTAINS(e, msg);
	if (v)
		yajl_tree_free(v);
}

static char *nested(size_t depth)
{
	char *s = xcalloc(1, 2 * depth + 1);
	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	return s;
}

TEST(values_like_yajl_tree)
{
	_cleanup_json_ yajl_val v = NULL;
	_cleanup_free_ char *e = parse_err(
		"{\"s\": \"x\\ny\", \"i\": -42, \"d\": 1.5, \"big\": 99999999999999999999,"
		" \"e\": 1e3, \"t\": true, \"f\": false, \"n\": null, \"a\": [1, [], {}], \"o\": {}}",
		&v);
	CHECK(!e);
	CHECK(YAJL_IS_OBJECT(v) && v->u.object.len == 10);
	CHECK_STR_EQ(json_get_string(v, "s"), "x\ny");
	long long i = 0;
	CHECK(json_get_int(v, "i", &i) && i == -42);
	CHECK(!json_get_int(v, "d", &i) && YAJL_IS_DOUBLE(json_get(v, "d")));
	CHECK(YAJL_GET_DOUBLE(json_get(v, "d")) == 1.5);
	yajl_val big = json_get(v, "big");
	CHECK(YAJL_IS_NUMBER(big) && !YAJL_IS_INTEGER(big) && YAJL_IS_DOUBLE(big));
	CHECK_STR_EQ(YAJL_GET_NUMBER(big), "99999999999999999999");
	CHECK(!YAJL_IS_INTEGER(json_get(v, "e")) && YAJL_GET_DOUBLE(json_get(v, "e")) == 1000.0);
	CHECK(YAJL_IS_TRUE(json_get(v, "t")) && YAJL_IS_FALSE(json_get(v, "f")));
	CHECK(YAJL_IS_NULL(json_get(v, "n")));
	yajl_val a = json_get(v, "a");
	CHECK(YAJL_IS_ARRAY(a) && a->u.array.len == 3);
	CHECK(YAJL_IS_ARRAY(a->u.array.values[1]) && a->u.array.values[1]->u.array.len == 0);
	CHECK(YAJL_IS_OBJECT(a->u.array.values[2]) && a->u.array.values[2]->u.object.len == 0);
}

TEST(scalars_at_top_and_duplicate_keys)
{
	_cleanup_json_ yajl_val s = NULL;
	_cleanup_free_ char *e1 = parse_err("\"x\"", &s);
	CHECK(!e1 && YAJL_IS_STRING(s));
	_cleanup_json_ yajl_val o = NULL;
	_cleanup_free_ char *e2 = parse_err("{\"k\": 1, \"k\": 2}", &o);
	long long k = 0;
	CHECK(!e2 && json_get_int(o, "k", &k) && k == 2);
}

TEST(refused)
{
	check_refused("", "t.json: invalid JSON: ");
	check_refused("   ", "t.json: invalid JSON: ");
	check_refused("{\"a\": 1", "t.json: invalid JSON: ");
	check_refused("{\"a\": 1} x", "t.json: invalid JSON: ");
	check_refused("[1, 2,]", "t.json: invalid JSON: ");
	check_refused("{\"a\": 1 /* c */}", "comment");
	check_refused("// c\n{}", "comment");
	check_refused("{\"a\": \"x\\u0000y\"}", "t.json: invalid JSON: strings with \\u0000 are not supported");
	check_refused("{\"x\\u0000y\": 1}", "t.json: invalid JSON: strings with \\u0000 are not supported");
	check_refused("[\"\xff\"]", "t.json: invalid JSON: ");
	/* The message is one line. */
	yajl_val v = NULL;
	_cleanup_free_ char *e = parse_err("{\"a\": nope}", &v);
	CHECK(e && !strchr(e, '\n'));
}

TEST(no_what)
{
	struct error err = { 0 };
	yajl_val v = NULL;
	CHECK_INT_EQ(json_parse("[", NULL, &v, &err), -EINVAL);
	CHECK(err.msg && strncmp(err.msg, "invalid JSON: ", 14) == 0);
	err_clear(&err);
	/* A NULL error is allowed (callers that only want yes or no). */
	CHECK_INT_EQ(json_parse("[", NULL, &v, NULL), -EINVAL);
}

TEST(depth_bound)
{
	_cleanup_free_ char *ok = nested(100);
	_cleanup_free_ char *deep = nested(101);
	_cleanup_free_ char *very_deep = nested(100000);
	_cleanup_json_ yajl_val v = NULL;
	_cleanup_free_ char *e = parse_err(ok, &v);
	CHECK(!e && YAJL_IS_ARRAY(v));
	check_refused(deep, "t.json: invalid JSON: nested more than 100 levels deep");
	check_refused(very_deep, "t.json: invalid JSON: nested more than 100 levels deep");
	/* Objects count as levels too. */
	check_refused("{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":["
		      "{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":["
		      "{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":["
		      "{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":["
		      "{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[{\"a\":[",
		      "nested more than 100 levels deep");
}

/* A million elements: linear growth (yajl_tree_parse grows one element at a time). */
TEST(large_array)
{
	size_t n = 1000000;
	char *s = xcalloc(1, 2 * n + 2);
	char *p = s;
	*p++ = '[';
	for (size_t i = 0; i < n; i++) {
		*p++ = '1';
		*p++ = ',';
	}
	p[-1] = ']';
	_cleanup_json_ yajl_val v = NULL;
	_cleanup_free_ char *e = parse_err(s, &v);
	free(s);
	CHECK(!e && YAJL_IS_ARRAY(v) && v->u.array.len == n);
	CHECK(YAJL_IS_INTEGER(v->u.array.values[n - 1]));
}

/* Numbers are formatted by json.c (not sprintf): every edge as printf would write it. */
TEST(integers)
{
	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	yajl_gen_array_open(g);
	jg_int(g, 0);
	jg_int(g, -1);
	jg_int(g, 9223372036854775807LL);
	jg_int(g, -9223372036854775807LL - 1);
	jg_uint(g, 0);
	jg_uint(g, 18446744073709551615ULL);
	jg_uint(g, 1000000);
	yajl_gen_array_close(g);
	_cleanup_free_ char *t = json_gen_take(g, NULL);
	CHECK_STR_EQ(t, "[0,-1,9223372036854775807,-9223372036854775808,0,18446744073709551615,1000000]");
}
