/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_JSON_H
#define OCIBPF_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "util.h"

/*
 * Parse JSON text into a yajl tree (linear time; free with yajl_tree_free); on failure
 * err says where ("WHAT: invalid JSON: ...", or without "WHAT: " when what is NULL).
 * Stricter than yajl_tree_parse: no comments, no \u0000 in strings (they would be cut),
 * at most 100 levels of nesting (the tree is freed recursively).
 */
int json_parse(const char *text, const char *what, yajl_val *ret, struct error *err);
/* The same for a whole document of len bytes (a file, stdin): a NUL anywhere is refused. */
int json_parse_doc(const char *text, size_t len, const char *what, yajl_val *ret,
		   struct error *err);
/* A key given twice in some object of v (readers that take the first and readers that
 * take the last would disagree about the document), or NULL. */
const char *json_duplicate_key(yajl_val v);
static inline void json_freep(yajl_val *v) { if (*v) yajl_tree_free(*v); }
#define _cleanup_json_ _cleanup_(json_freep)

/* Member of an object by key (NULL when absent or obj not an object). */
yajl_val json_get(yajl_val obj, const char *key);
/* Typed getters: NULL / false when absent or of another type. */
const char *json_get_string(yajl_val obj, const char *key);
bool json_get_int(yajl_val obj, const char *key, long long *ret);
/* Strict "only these keys" check; returns the first unknown key or NULL. */
const char *json_unknown_key(yajl_val obj, const char *const *allowed);

/* yajl_gen helpers; all return the yajl_gen_status ORed across calls is not needed:
 * a generator error is a programming error here, so they ignore it. */
yajl_gen json_gen_new(bool pretty);
static inline void json_gen_freep(yajl_gen *g) { if (*g) yajl_gen_free(*g); }
#define _cleanup_json_gen_ _cleanup_(json_gen_freep)
void jg_strn(yajl_gen g, const char *s, size_t len);
void jg_int(yajl_gen g, long long val);
void jg_uint(yajl_gen g, unsigned long long val);
/* (Inline: the length of a literal key is known where it is written; the collector
 * writes some twenty keys per record.) */
static inline void jg_str(yajl_gen g, const char *s)   /* null when s NULL */
{
	if (s)
		jg_strn(g, s, strlen(s));
	else
		yajl_gen_null(g);
}
static inline void jg_key(yajl_gen g, const char *key) { jg_strn(g, key, strlen(key)); }
static inline void jg_key_str(yajl_gen g, const char *key, const char *val)
{
	jg_key(g, key);
	jg_str(g, val);
}
static inline void jg_key_int(yajl_gen g, const char *key, long long val)
{
	jg_key(g, key);
	jg_int(g, val);
}
static inline void jg_key_uint(yajl_gen g, const char *key, unsigned long long val)
{
	jg_key(g, key);
	jg_uint(g, val);
}
static inline void jg_key_bool(yajl_gen g, const char *key, bool val)
{
	jg_key(g, key);
	yajl_gen_bool(g, val);
}
/* Emit a parsed value as it is (used to carry unknown parts of documents through). */
void jg_value(yajl_gen g, yajl_val v);
/* Take the generated text (malloc'ed, NUL-terminated). */
char *json_gen_take(yajl_gen g, size_t *ret_len);

#endif
