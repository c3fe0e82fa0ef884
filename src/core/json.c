/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

yajl_val json_get(yajl_val obj, const char *key)
{
	if (!YAJL_IS_OBJECT(obj))
		return NULL;
	/* Last one wins, as in most JSON readers. */
	for (size_t i = obj->u.object.len; i-- > 0;)
		if (strcmp(obj->u.object.keys[i], key) == 0)
			return obj->u.object.values[i];
	return NULL;
}

const char *json_get_string(yajl_val obj, const char *key)
{
	return YAJL_GET_STRING(json_get(obj, key));
}

bool json_get_int(yajl_val obj, const char *key, long long *ret)
{
	yajl_val v = json_get(obj, key);
	if (!YAJL_IS_INTEGER(v))
		return false;
	*ret = YAJL_GET_INTEGER(v);
	return true;
}

const char *json_unknown_key(yajl_val obj, const char *const *allowed)
{
	if (!YAJL_IS_OBJECT(obj))
		return NULL;
	for (size_t i = 0; i < obj->u.object.len; i++) {
		const char *k = obj->u.object.keys[i];
		bool ok = false;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = strcmp(*a, k) == 0;
		if (!ok)
			return k;
	}
	return NULL;
}

yajl_gen json_gen_new(bool pretty)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (!g)
		abort();
	yajl_gen_config(g, yajl_gen_beautify, pretty ? 1 : 0);
	/* A backstop: strings that are not UTF-8 are refused (jg_strn writes them lossy). */
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	return g;
}

void jg_strn(yajl_gen g, const char *s, size_t len)
{
	if (yajl_gen_string(g, (const unsigned char *)s, len) != yajl_gen_invalid_string)
		return;
	/* Not UTF-8: never a torn document. Callers that must keep such bytes exactly write
	 * them through record.c's encoding instead. */
	size_t n;
	_cleanup_free_ char *lossy = utf8_lossy(s, len, &n);
	yajl_gen_string(g, (const unsigned char *)lossy, n);
}

/* The decimal digits of v, ending at end (no NUL): where they start. */
static char *decimal(char *end, unsigned long long v)
{
	do
		*--end = '0' + v % 10;
	while (v /= 10);
	return end;
}

/* Numbers are formatted here, not by yajl_gen_integer (sprintf: most of the time the
 * collector spends on a record went into printf). */
void jg_int(yajl_gen g, long long val)
{
	char buf[24], *end = buf + sizeof(buf);
	char *p = decimal(end, val < 0 ? -(unsigned long long)val : (unsigned long long)val);
	if (val < 0)
		*--p = '-';
	yajl_gen_number(g, p, end - p);
}

void jg_uint(yajl_gen g, unsigned long long val)
{
	/* (yajl_gen_integer takes long long; counters can exceed it only in theory.) */
	char buf[24], *end = buf + sizeof(buf);
	char *p = decimal(end, val);
	yajl_gen_number(g, p, end - p);
}

void jg_value(yajl_gen g, yajl_val v)
{
	if (!v) {
		yajl_gen_null(g);
		return;
	}
	switch (v->type) {
	case yajl_t_string:
		jg_str(g, v->u.string);
		break;
	case yajl_t_number:
		yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
		break;
	case yajl_t_object:
		yajl_gen_map_open(g);
		for (size_t i = 0; i < v->u.object.len; i++) {
			jg_key(g, v->u.object.keys[i]);
			jg_value(g, v->u.object.values[i]);
		}
		yajl_gen_map_close(g);
		break;
	case yajl_t_array:
		yajl_gen_array_open(g);
		for (size_t i = 0; i < v->u.array.len; i++)
			jg_value(g, v->u.array.values[i]);
		yajl_gen_array_close(g);
		break;
	case yajl_t_true:
		yajl_gen_bool(g, 1);
		break;
	case yajl_t_false:
		yajl_gen_bool(g, 0);
		break;
	default:
		yajl_gen_null(g);
		break;
	}
}

char *json_gen_take(yajl_gen g, size_t *ret_len)
{
	const unsigned char *buf;
	size_t len;
	yajl_gen_get_buf(g, &buf, &len);
	char *s = xcalloc(1, len + 1);
	memcpy(s, buf, len);
	if (ret_len)
		*ret_len = len;
	yajl_gen_clear(g);
	return s;
}
