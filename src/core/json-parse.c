/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON text → yajl tree, built from yajl's event parser instead of yajl_tree_parse:
 *
 *  - arrays and objects grow geometrically (yajl_tree grows them one element at a
 *    time, quadratic for the 65,536-rule policies we accept);
 *  - nesting is bounded (the tree is freed recursively by yajl_tree_free);
 *  - comments stay off (yajl_tree_parse turns them on) and strings holding \u0000 are
 *    refused (every reader would see them cut short).
 *
 * The nodes are the ones yajl_tree_parse makes, allocated with malloc, so yajl_tree_free
 * and the YAJL_* accessors work on them unchanged.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "json.h"

#define JSON_MAX_DEPTH 100

struct builder {
	yajl_val root;
	yajl_val open[JSON_MAX_DEPTH]; /* containers being filled, innermost last */
	size_t cap[JSON_MAX_DEPTH];    /* allocated slots of each */
	size_t depth;
	char *key; /* the key the next value of the innermost object goes under */
	const char *why; /* why we stopped the parser, when we did */
};

static char *dup_text(const unsigned char *s, size_t len)
{
	char *t = malloc(len + 1);
	if (t) {
		memcpy(t, s, len);
		t[len] = '\0';
	}
	return t;
}

static bool grow(void **arr, size_t *cap, size_t len, size_t size)
{
	if (len < *cap)
		return true;
	size_t n = *cap ? *cap * 2 : 4;
	void *a = reallocarray(*arr, n, size);
	if (!a)
		return false;
	*arr = a;
	*cap = n;
	return true;
}

/* Hand v to its parent (or make it the root); on failure v is freed. */
static int add(struct builder *b, yajl_val v)
{
	if (!v) {
		b->why = "out of memory";
		return 0;
	}
	if (b->depth == 0) {
		b->root = v;
	} else {
		yajl_val p = b->open[b->depth - 1];
		size_t *cap = &b->cap[b->depth - 1];
		if (YAJL_IS_OBJECT(p)) {
			size_t kcap = *cap;
			if (!grow((void **)&p->u.object.keys, &kcap, p->u.object.len, sizeof(char *)) ||
			    !grow((void **)&p->u.object.values, cap, p->u.object.len, sizeof(yajl_val))) {
				yajl_tree_free(v);
				b->why = "out of memory";
				return 0;
			}
			p->u.object.keys[p->u.object.len] = b->key;
			p->u.object.values[p->u.object.len++] = v;
			b->key = NULL;
		} else {
			if (!grow((void **)&p->u.array.values, cap, p->u.array.len, sizeof(yajl_val))) {
				yajl_tree_free(v);
				b->why = "out of memory";
				return 0;
			}
			p->u.array.values[p->u.array.len++] = v;
		}
	}
	if (YAJL_IS_OBJECT(v) || YAJL_IS_ARRAY(v)) {
		if (b->depth == JSON_MAX_DEPTH) {
			b->why = "nested more than 100 levels deep";
			return 0;
		}
		b->open[b->depth] = v;
		b->cap[b->depth++] = 0;
	}
	return 1;
}

static yajl_val node(yajl_type type)
{
	yajl_val v = calloc(1, sizeof(*v));
	if (v)
		v->type = type;
	return v;
}

static int on_null(void *ctx) { return add(ctx, node(yajl_t_null)); }

static int on_bool(void *ctx, int val) { return add(ctx, node(val ? yajl_t_true : yajl_t_false)); }

static int on_number(void *ctx, const char *s, size_t len)
{
	yajl_val v = node(yajl_t_number);
	if (v && !(v->u.number.r = dup_text((const unsigned char *)s, len))) {
		free(v);
		v = NULL;
	}
	if (v) {
		/* Integer when every character is a digit (after a sign) and it fits. */
		char *end;
		errno = 0;
		v->u.number.i = strtoll(v->u.number.r, &end, 10);
		if (errno == 0 && *end == '\0')
			v->u.number.flags |= YAJL_NUMBER_INT_VALID;
		errno = 0;
		v->u.number.d = strtod(v->u.number.r, &end);
		if (errno == 0 && *end == '\0')
			v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
	}
	return add(ctx, v);
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
	struct builder *b = ctx;
	if (memchr(s, '\0', len)) {
		b->why = "strings with \\u0000 are not supported";
		return 0;
	}
	yajl_val v = node(yajl_t_string);
	if (v && !(v->u.string = dup_text(s, len))) {
		free(v);
		v = NULL;
	}
	return add(b, v);
}

static int on_start_map(void *ctx) { return add(ctx, node(yajl_t_object)); }

static int on_key(void *ctx, const unsigned char *s, size_t len)
{
	struct builder *b = ctx;
	if (memchr(s, '\0', len)) {
		b->why = "strings with \\u0000 are not supported";
		return 0;
	}
	free(b->key);
	b->key = dup_text(s, len);
	if (!b->key)
		b->why = "out of memory";
	return b->key != NULL;
}

static int on_end(void *ctx)
{
	struct builder *b = ctx;
	b->depth--;
	return 1;
}

static int on_start_array(void *ctx) { return add(ctx, node(yajl_t_array)); }

static const yajl_callbacks callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_bool,
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_key,
	.yajl_end_map = on_end,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_end,
};

static int parse(const char *text, size_t len, const char *what, yajl_val *ret,
		 struct error *err)
{
	struct builder b = { 0 };
	yajl_handle h = yajl_alloc(&callbacks, NULL, &b);
	if (!h)
		return err_msg(err, -ENOMEM, "%s%sout of memory", what ? what : "", what ? ": " : "");

	yajl_status st = yajl_parse(h, (const unsigned char *)text, len);
	if (st == yajl_status_ok)
		st = yajl_complete_parse(h);
	if (st == yajl_status_ok && b.root) {
		yajl_free(h);
		*ret = b.root;
		return 0;
	}

	char *why = NULL;
	if (b.why) {
		why = strdup(b.why);
	} else {
		/* yajl's message spans lines (the text and a caret); keep the first. */
		unsigned char *e = yajl_get_error(h, 1, (const unsigned char *)text, len);
		if (e) {
			why = strndup((char *)e, strcspn((char *)e, "\n"));
			yajl_free_error(h, e);
		}
	}
	yajl_free(h);
	free(b.key);
	if (b.root)
		yajl_tree_free(b.root);
	bool oom = b.why && strcmp(b.why, "out of memory") == 0;
	int r = err_msg(err, oom ? -ENOMEM : -EINVAL, "%s%s%s%s", what ? what : "", what ? ": " : "",
			oom ? "" : "invalid JSON: ", why && *why ? why : "parse error");
	free(why);
	return r;
}

int json_parse(const char *text, const char *what, yajl_val *ret, struct error *err)
{
	return parse(text, strlen(text), what, ret, err);
}

int json_parse_doc(const char *text, size_t len, const char *what, yajl_val *ret,
		   struct error *err)
{
	/* yajl would stop at a NUL and accept whatever came before it. */
	if (memchr(text, '\0', len))
		return err_msg(err, -EINVAL, "%s%sinvalid JSON: NUL byte at offset %zu", what ? what : "",
			       what ? ": " : "", (size_t)((const char *)memchr(text, '\0', len) - text));
	return parse(text, len, what, ret, err);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *json_duplicate_key(yajl_val v)
{
	if (YAJL_IS_ARRAY(v)) {
		for (size_t i = 0; i < v->u.array.len; i++) {
			const char *d = json_duplicate_key(v->u.array.values[i]);
			if (d)
				return d;
		}
		return NULL;
	}
	if (!YAJL_IS_OBJECT(v))
		return NULL;
	size_t n = v->u.object.len;
	/* On a sorted copy: n log n, whatever the size. */
	const char **keys = n > 1 ? reallocarray(NULL, n, sizeof(*keys)) : NULL;
	if (n > 1 && !keys)
		abort();
	if (keys) {
		memcpy(keys, v->u.object.keys, n * sizeof(*keys));
		qsort(keys, n, sizeof(*keys), cmp_key);
		for (size_t i = 1; i < n; i++)
			if (strcmp(keys[i - 1], keys[i]) == 0) {
				const char *d = keys[i];
				free(keys);
				return d;
			}
		free(keys);
	}
	for (size_t i = 0; i < n; i++) {
		const char *d = json_duplicate_key(v->u.object.values[i]);
		if (d)
			return d;
	}
	return NULL;
}
