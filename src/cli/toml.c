/* SPDX-License-Identifier: Apache-2.0 */
/* TOML for `ocibpf install` (toml.h). */
#include <errno.h>
#include <string.h>

#include "toml.h"

/*
 * A tiny TOML writer for the few documents we make: tables, and keys with string or
 * string-array values. Keys are bare when they can be, quoted otherwise; strings are basic
 * strings with every character TOML requires escaped. TOML is UTF-8: other bytes are
 * refused rather than written.
 */

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p, n, min;
		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, min = 0x80, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, min = 0x800, c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, min = 0x10000, c &= 0x07;
		} else {
			return false;
		}
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (p[i] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return false;
		p += n + 1;
	}
	return true;
}

void toml_open(struct toml *t)
{
	*t = (struct toml) { 0 };
	t->f = open_memstream(&t->buf, &t->len);
	if (!t->f)
		abort();
}

static char *toml_take(struct toml *t, size_t *ret_len)
{
	if (fclose(t->f) != 0)
		abort();
	*ret_len = t->len;
	return t->buf;
}

void toml_string(struct toml *t, const char *s)
{
	if (!utf8_valid(s) && !t->bad)
		t->bad = s;
	fputc('"', t->f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", t->f); break;
		case '\\': fputs("\\\\", t->f); break;
		case '\b': fputs("\\b", t->f); break;
		case '\t': fputs("\\t", t->f); break;
		case '\n': fputs("\\n", t->f); break;
		case '\f': fputs("\\f", t->f); break;
		case '\r': fputs("\\r", t->f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(t->f, "\\u%04X", *p);
			else
				fputc(*p, t->f);
		}
	}
	fputc('"', t->f);
}

void toml_key(struct toml *t, const char *k)
{
	bool bare = *k != '\0';
	for (const char *p = k; *p && bare; p++)
		bare = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		       (*p >= '0' && *p <= '9') || *p == '_' || *p == '-';
	if (bare)
		fputs(k, t->f);
	else
		toml_string(t, k);
}

/* [k1.k2...] from a NULL-terminated key list. */
void toml_table(struct toml *t, const char *const *keys)
{
	fputs("\n[", t->f);
	for (const char *const *k = keys; *k; k++) {
		if (k != keys)
			fputc('.', t->f);
		toml_key(t, *k);
	}
	fputs("]\n", t->f);
}

void toml_kv_str(struct toml *t, const char *key, const char *val)
{
	toml_key(t, key);
	fputs(" = ", t->f);
	toml_string(t, val);
	fputc('\n', t->f);
}

void toml_kv_int(struct toml *t, const char *key, long long val)
{
	toml_key(t, key);
	fprintf(t->f, " = %lld\n", val);
}

/* key = ["a", "b"] from a NULL-terminated list. */
void toml_kv_strv(struct toml *t, const char *key, const char *const *vals)
{
	toml_key(t, key);
	fputs(" = [", t->f);
	for (const char *const *v = vals; *v; v++) {
		if (v != vals)
			fputs(", ", t->f);
		toml_string(t, *v);
	}
	fputs("]\n", t->f);
}

/* Comment lines; the text is ours (no newline inside a line but the ones we put). */
void toml_comment(struct toml *t, const char *text)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		fprintf(t->f, "# %.*s\n", (int)n, p);
		p += n;
		if (*p == '\n')
			p++;
	}
}

int toml_done(struct toml *t, char **ret, size_t *ret_len, struct error *err)
{
	const char *bad = t->bad;
	size_t len;
	char *text = toml_take(t, &len);
	if (bad) {
		free(text);
		return err_msg(err, -EINVAL, "%s is not valid UTF-8, which TOML requires", bad);
	}
	*ret = text;
	*ret_len = len;
	return 0;
}

void toml_raw(struct toml *t, const char *text)
{
	fputs(text, t->f);
}

/* --- reading ----------------------------------------------------------------------- */

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Whitespace, newlines and comments. */
static const char *skip_space(const char *p)
{
	for (;;) {
		p += strspn(p, " \t\r\n");
		if (*p != '#')
			return p;
		p = strchrnul(p, '\n');
	}
}

static bool bare_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* A basic ("...") or literal ('...') string at p, on one line; NULL when there is none. */
static char *parse_string(const char *p, const char **end)
{
	char q = *p;
	if (q != '"' && q != '\'')
		return NULL;
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		abort();
	for (p++; *p && *p != q && *p != '\n'; p++) {
		if (q == '"' && *p == '\\' && p[1]) {
			p++;
			switch (*p) {
			case 'n': fputc('\n', f); break;
			case 't': fputc('\t', f); break;
			case 'r': fputc('\r', f); break;
			case 'b': fputc('\b', f); break;
			case 'f': fputc('\f', f); break;
			default: fputc(*p, f); break;   /* \" \\ (and \uXXXX kept as is) */
			}
			continue;
		}
		fputc(*p, f);
	}
	fclose(f);
	if (*p != q) {
		free(buf);
		return NULL;
	}
	*end = p + 1;
	return buf;
}

/* A key (bare or quoted) at p. */
static char *parse_key(const char *p, const char **end)
{
	if (*p == '"' || *p == '\'')
		return parse_string(p, end);
	const char *s = p;
	while (bare_char(*p))
		p++;
	if (p == s)
		return NULL;
	*end = p;
	char *k = strndup(s, p - s);
	if (!k)
		abort();
	return k;
}

static void strv_push(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(char *));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

char **toml_header(const char *line, bool *ret_array)
{
	const char *p = skip_ws(line);
	if (*p != '[')
		return NULL;
	bool array = p[1] == '[';
	p += array ? 2 : 1;
	char **keys = NULL;
	size_t n = 0;
	for (;;) {
		p = skip_ws(p);
		const char *end;
		char *k = parse_key(p, &end);
		if (!k)
			goto bad;
		strv_push(&keys, &n, k);
		p = skip_ws(end);
		if (*p == '.') {
			p++;
			continue;
		}
		if (*p != ']' || (array && p[1] != ']'))
			goto bad;
		p += array ? 2 : 1;
		p = skip_ws(p);
		if (*p && *p != '#' && *p != '\n' && *p != '\r')
			goto bad;
		if (ret_array)
			*ret_array = array;
		return keys;
	}
bad:
	strv_free(keys);
	return NULL;
}

bool toml_keys_prefix(char *const *a, const char *const *b)
{
	for (; *b; a++, b++)
		if (!*a || strcmp(*a, *b) != 0)
			return false;
	return true;
}

bool toml_keys_equal(char *const *a, const char *const *b)
{
	size_t na = 0, nb = 0;
	while (a[na])
		na++;
	while (b[nb])
		nb++;
	return na == nb && toml_keys_prefix(a, b);
}

/* An array of strings at p ("[" ... "]", over lines, comments allowed). */
static int parse_strv(const char *p, char ***ret)
{
	char **v = NULL;
	size_t n = 0;
	if (*p != '[')
		return -EINVAL;
	p = skip_space(p + 1);
	while (*p != ']') {
		const char *end;
		char *s = parse_string(p, &end);
		if (!s) {
			strv_free(v);
			return -EINVAL;
		}
		strv_push(&v, &n, s);
		p = skip_space(end);
		if (*p == ',')
			p = skip_space(p + 1);
		else if (*p != ']') {
			strv_free(v);
			return -EINVAL;
		}
	}
	if (!v)
		strv_push(&v, &n, NULL), n--;   /* an empty list, not "no key" */
	*ret = v;
	return 0;
}

int toml_get_strv(const char *text, const char *const *table, const char *key, char ***ret)
{
	char **cur = NULL, **found = NULL;
	bool in_table = !table[0];
	int r = 0;
	for (const char *p = text; *p;) {
		const char *line = skip_ws(p), *eol = strchrnul(p, '\n');
		bool array;
		char **hdr = *line == '[' ? toml_header(line, &array) : NULL;
		if (hdr) {
			in_table = !array && toml_keys_equal(hdr, table);
			strv_free(cur);
			cur = hdr;
		} else if (in_table && *line != '#') {
			const char *end;
			_cleanup_free_ char *k = parse_key(line, &end);
			const char *eq = k ? skip_ws(end) : NULL;
			if (k && *eq == '=' && strcmp(k, key) == 0) {
				char **v = NULL;
				r = parse_strv(skip_ws(eq + 1), &v);
				if (r < 0)
					break;
				strv_free(found);
				found = v;
			}
		}
		p = *eol ? eol + 1 : eol;
	}
	strv_free(cur);
	if (r < 0) {
		strv_free(found);
		return r;
	}
	*ret = found;
	return 0;
}
