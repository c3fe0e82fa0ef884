/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_CLI_TOML_H
#define OCIBPF_CLI_TOML_H

/*
 * TOML for `ocibpf install`: a writer for the few documents we make (tables, keys with
 * string, integer or string-array values), and a reader for the few things we look up
 * in engines' files (table headers, a string array). Not a general TOML library.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util.h"

struct toml {
	char *buf;
	size_t len;
	FILE *f;
	const char *bad;     /* the first string that is not valid UTF-8 */
};

void toml_open(struct toml *t);
void toml_string(struct toml *t, const char *s);
void toml_key(struct toml *t, const char *k);
/* [k1.k2...] from a NULL-terminated key list, after an empty line. */
void toml_table(struct toml *t, const char *const *keys);
void toml_kv_str(struct toml *t, const char *key, const char *val);
void toml_kv_int(struct toml *t, const char *key, long long val);
/* key = ["a", "b"] from a NULL-terminated list. */
void toml_kv_strv(struct toml *t, const char *key, const char *const *vals);
/* Comment lines; the text is ours (lines split at '\n'). */
void toml_comment(struct toml *t, const char *text);
void toml_raw(struct toml *t, const char *text);
/* The document, or -EINVAL when a string was not valid UTF-8. */
int toml_done(struct toml *t, char **ret, size_t *ret_len, struct error *err);

/* --- reading ----------------------------------------------------------------------- */

/*
 * The keys of a table header line ("[a."b.c" . d]" -> a, b.c, d), NULL-terminated
 * (strv_free); NULL when the line is not a table header ([[array]] headers included:
 * *ret_array says so).
 */
char **toml_header(const char *line, bool *ret_array);
/* Do two NULL-terminated key lists name the same table? (prefix: a starts with b) */
bool toml_keys_equal(char *const *a, const char *const *b);
bool toml_keys_prefix(char *const *a, const char *const *b);
/*
 * The value of `key = [ "s", ... ]` in the table named by keys (NULL-terminated), the last
 * assignment in the text when there are several; strings only (basic and literal). 0 with
 * *ret NULL when the key is not there; -EINVAL when its value is not an array of strings.
 */
int toml_get_strv(const char *text, const char *const *table, const char *key, char ***ret);

#endif
