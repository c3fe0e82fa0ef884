/* SPDX-License-Identifier: Apache-2.0 */
/* ocibpf audit: which records are shown, how a record reads in the table, and the lines
 * that are not records. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "audit-view.h"
#include "paths.h"
#include "utf8.h"

/* n digits at s as a number, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

/*
 * RFC 3339 (section 5.6): "2026-11-24T15:30:00Z", with a fraction ("...00.5Z"), a
 * numeric offset ("...00+01:00"), T and Z in either case; every field its width, a
 * date and time that exist (no 31 February, no hour 24; a leap second counts as the
 * next). The instant in ns since 1970, or -EINVAL; -ERANGE before 1970.
 */
static int parse_rfc3339(const char *s, long long *ret_s, unsigned long long *ret_frac)
{
	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -EINVAL;
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || sec < 0 || sec > 60)
		return -EINVAL;
	const char *rest = s + 19;
	unsigned long long frac = 0;
	if (*rest == '.') {
		int n = 0;
		for (rest++; *rest >= '0' && *rest <= '9'; rest++, n++)
			if (n < 9)
				frac = frac * 10 + (*rest - '0');
		if (n == 0)
			return -EINVAL;
		for (; n < 9; n++)
			frac *= 10;
	}
	long long offset = 0;
	if ((rest[0] == 'Z' || rest[0] == 'z') && !rest[1]) {
		offset = 0;
	} else if ((rest[0] == '+' || rest[0] == '-') && strlen(rest) == 6 && rest[3] == ':') {
		int oh = digits(rest + 1, 2), om = digits(rest + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -EINVAL;
		offset = (rest[0] == '-' ? -1 : 1) * (oh * 3600LL + om * 60LL);
	} else {
		return -EINVAL;
	}
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = sec };
	long long t = (long long)timegm(&tm) - offset;
	if (t < 0)
		return -ERANGE;
	*ret_s = t;
	*ret_frac = frac;
	return 0;
}

/*
 * --since: RFC 3339 (parse_rfc3339), or relative "90s", "10m", "2h", "1d". A negative
 * duration, or a time before 1970, is refused (it would wrap to the future).
 */
int audit_parse_since(const char *s, char ret[static 32])
{
	char *end;
	if (s[0] >= '0' && s[0] <= '9' && !strchr(s, '-')) {
		errno = 0;
		unsigned long long n = strtoull(s, &end, 10);
		if (!errno && end != s && end[0] && !end[1] && strchr("smhd", end[0])) {
			unsigned long long mult = end[0] == 's' ? 1 : end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : 86400;
			unsigned long long now = realtime_ns();
			if (n > now / 1000000000ULL / mult)
				return -ERANGE;   /* before 1970 */
			format_rfc3339(now - n * mult * 1000000000ULL, ret);
			return 0;
		}
		if (errno == ERANGE)
			return -ERANGE;
		return -EINVAL;
	}
	long long t;
	unsigned long long frac;
	int r = parse_rfc3339(s, &t, &frac);
	if (r < 0)
		return r;
	if ((unsigned long long)t > UINT64_MAX / 1000000000ULL - 1)
		return -ERANGE;
	format_rfc3339((unsigned long long)t * 1000000000ULL + frac, ret);
	return 0;
}

bool audit_matches(const struct filter *f, const struct record *rec)
{
	if (f->type && strcmp(record_type_name(rec->type), f->type) != 0)
		return false;
	if (f->syscall) {
		const char *name = json_get_string(rec->v, "syscall");
		if (!name || strcmp(name, f->syscall) != 0)
			return false;
	}
	if (f->since[0] && strcmp(rec->ts, f->since) < 0)
		return false;
	return true;
}

/*
 * Bytes as the table shows them (as `ls -b` and `systemctl` do): printable UTF-8 as it
 * is; \\, \n, \t, \r, \e; other control characters and bytes that are not UTF-8 as \xNN;
 * C1 controls and the characters that reorder or hide text (bidi overrides, zero-width
 * ones) as \u{XXXX}. No record can start a row or reach the terminal's escape parser.
 */
char *audit_esc(const char *s, size_t len)
{
	char *out = NULL;
	size_t out_len = 0;
	FILE *f = open_memstream(&out, &out_len);
	if (!f)
		abort();
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		unsigned char c = p[i];
		size_t n = utf8_char_len(p + i, len - i);
		if (n > 1) {
			uint32_t cp = n == 2 ? (c & 0x1f) << 6 | (p[i + 1] & 0x3f)
				    : n == 3 ? (c & 0x0f) << 12 | (p[i + 1] & 0x3f) << 6 | (p[i + 2] & 0x3f)
				    : (uint32_t)(c & 0x07) << 18 | (p[i + 1] & 0x3f) << 12 |
				      (p[i + 2] & 0x3f) << 6 | (p[i + 3] & 0x3f);
			bool hide = cp <= 0x9f || (cp >= 0x200b && cp <= 0x200f) ||
				    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f) ||
				    cp == 0xfeff;
			if (hide)
				fprintf(f, "\\u{%04x}", cp);
			else
				fwrite(p + i, 1, n, f);
			i += n;
			continue;
		}
		if (c == '\\')
			fputs("\\\\", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c == 0x1b)
			fputs("\\e", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
		i++;
	}
	fclose(f);
	return out;
}

/* A string member of a record, exact bytes (KEY_hex) escaped; dflt when absent. */
char *audit_esc_field(yajl_val rec, const char *key, const char *dflt)
{
	size_t len;
	_cleanup_free_ char *b = record_bytes(rec, key, &len);
	if (!b)
		return dflt ? audit_esc(dflt, strlen(dflt)) : NULL;
	return audit_esc(b, len);
}

static void print_argv(yajl_val rec)
{
	yajl_val argv = json_get(rec, "argv");
	for (size_t i = 0; YAJL_IS_ARRAY(argv) && i < argv->u.array.len; i++) {
		size_t len;
		_cleanup_free_ char *b = record_argv_bytes(rec, i, &len);
		_cleanup_free_ char *e = b ? audit_esc(b, len) : NULL;
		printf("%s%s", i ? " " : "", e ? e : "");
	}
}

long long audit_get_int(yajl_val rec, const char *key)
{
	long long v = 0;
	json_get_int(rec, key, &v);
	return v;
}

/* A return value as strace and `ausearch -i` show it: errno names for errors. */
static void print_ret(yajl_val rec)
{
	long long ret = audit_get_int(rec, "ret");
	const char *name = ret < 0 && ret >= -4095 ? strerrorname_np((int)-ret) : NULL;
	if (name)
		printf("%s", name);
	else
		printf("%lld", ret);
}

static void print_addr(yajl_val rec)
{
	_cleanup_free_ char *a = audit_esc_field(rec, "addr", "?");
	printf(strchr(a, ':') ? "[%s]:%lld" : "%s:%lld", a, audit_get_int(rec, "port"));
}

/* A walked path (record.c gen_walked): "..." where its head was cut, its marks after it. */
static char *walked(yajl_val rec, const char *key)
{
	_cleanup_free_ char *v = audit_esc_field(rec, key, NULL);
	if (!v)
		return NULL;
	_cleanup_free_ char *t = xasprintf("%s_truncated", key), *u = xasprintf("%s_unreachable", key),
			    *d = xasprintf("%s_deleted", key);
	return xasprintf("%s%s%s%s", YAJL_IS_TRUE(json_get(rec, t)) ? "..." : "", v,
			 YAJL_IS_TRUE(json_get(rec, d)) ? " (deleted)" : "",
			 YAJL_IS_TRUE(json_get(rec, u)) ? " (unreachable)" : "");
}

void audit_print_detail(const struct record *r)
{
	yajl_val rec = r->v;
	switch (r->type) {
	case REC_EXEC: {
		_cleanup_free_ char *fn = audit_esc_field(rec, "filename", "?");
		printf("%s%s", YAJL_IS_TRUE(json_get(rec, "filename_truncated")) ? "..." : "", fn);
		/* Where a relative name was taken from, and the file run when it is not the name. */
		_cleanup_free_ char *dir = walked(rec, "dir"), *exe = walked(rec, "exe");
		bool show_exe = exe && strcmp(exe, fn) != 0;
		if (dir || show_exe)
			printf(" [%s%s%s%s%s]", dir ? "in " : "", dir ? dir : "",
			       dir && show_exe ? ", " : "", show_exe ? "exe " : "", show_exe ? exe : "");
		printf(": ");
		print_argv(rec);
		if (YAJL_IS_TRUE(json_get(rec, "argv_truncated")))
			printf(" [truncated]");
		break;
	}
	case REC_SYSCALL: {
		_cleanup_free_ char *name = audit_esc_field(rec, "syscall", "?");
		_cleanup_free_ char *path = audit_esc_field(rec, "path", NULL);
		printf("%s(", name);
		/* A relative path after the directory it was taken from: "/etc/" "shadow". */
		_cleanup_free_ char *dir = path ? audit_esc_field(rec, "dir", NULL) : NULL;
		if (dir) {
			size_t dl = strlen(dir);
			printf("\"%s%s%s\" ", YAJL_IS_TRUE(json_get(rec, "dir_truncated")) ? "..." : "",
			       dir, dl && dir[dl - 1] == '/' ? "" : "/");
		}
		if (path)
			printf("\"%s%s\"", YAJL_IS_TRUE(json_get(rec, "path_truncated")) ? "..." : "", path);
		else if (json_get_string(rec, "addr"))
			print_addr(rec);
		/* The file an open opened when it is not the path: "/tmp/x" -> /etc/shadow. */
		_cleanup_free_ char *file = walked(rec, "file");
		if (file)
			printf("%s-> %s", path ? " " : "", file);
		printf(") = ");
		print_ret(rec);
		if (dir && YAJL_IS_TRUE(json_get(rec, "dir_deleted")))
			printf(" [dir deleted]");
		if (dir && YAJL_IS_TRUE(json_get(rec, "dir_unreachable")))
			printf(" [dir unreachable]");
		if (YAJL_IS_TRUE(json_get(rec, "setup")))
			printf(" [setup]");
		break;
	}
	case REC_NET: {
		_cleanup_free_ char *action = audit_esc_field(rec, "action", "?");
		_cleanup_free_ char *dir = audit_esc_field(rec, "direction", "?");
		_cleanup_free_ char *proto = NULL;
		yajl_val p = json_get(rec, "protocol");
		proto = YAJL_IS_INTEGER(p) ? xasprintf("%lld", YAJL_GET_INTEGER(p)) : audit_esc_field(rec, "protocol", "?");
		printf("%s %s %s ", action, dir, proto);
		print_addr(rec);
		if (audit_get_int(rec, "count") > 1)
			printf(" (x%lld)", audit_get_int(rec, "count"));
		break;
	}
	case REC_LOST: {
		yajl_val c = json_get(rec, "count");
		if (YAJL_IS_INTEGER(c))
			printf("%lld records lost", YAJL_GET_INTEGER(c));
		else
			printf("records lost");
		_cleanup_free_ char *why = audit_esc_field(rec, "reason", NULL);
		if (why)
			printf(" (%s)", why);
		break;
	}
	case REC_START: {
		_cleanup_free_ char *pol = audit_esc_field(rec, "policy", "-");
		_cleanup_free_ char *cg = audit_esc_field(rec, "cgroup", "?");
		printf("policy %s, cgroup %s", pol, cg);
		break;
	}
	case REC_STOP: {
		yajl_val st = json_get(rec, "stats");
		printf("cpu %.2fs, memory peak %.1f MiB, execs %lld, egress denied %lld, ingress denied %lld",
		       audit_get_int(st, "cpu_ns") / 1e9, audit_get_int(st, "memory_peak_bytes") / 1048576.0,
		       audit_get_int(st, "execs"), audit_get_int(st, "egress_denied"), audit_get_int(st, "ingress_denied"));
		break;
	}
	case REC_UNKNOWN:
		break;
	}
}

void audit_print_row(const char *ts, long long pid, const char *comm, const char *type)
{
	char when[32];
	/* 2026-11-24T15:30:00.123456789Z -> 2026-11-24 15:30:00.123 */
	snprintf(when, sizeof(when), "%.10s %.12s", ts, strlen(ts) > 11 ? ts + 11 : "");
	char pidbuf[24] = "-";
	if (pid)
		snprintf(pidbuf, sizeof(pidbuf), "%lld", pid);
	printf("%-23s %7s %-15s %-8s ", when, pidbuf, comm, type);
}

void audit_print_plain(const struct record *r)
{
	_cleanup_free_ char *ts = audit_esc(r->ts, strlen(r->ts));
	_cleanup_free_ char *comm = audit_esc_field(r->v, "comm", "-");
	_cleanup_free_ char *type = audit_esc_field(r->v, "type", "?");
	audit_print_row(ts, audit_get_int(r->v, "pid"), comm, type);
	audit_print_detail(r);
	putchar('\n');
}

/* The file a line came from, as said in rows and messages: its name in log_dir. */
static struct unreadable_file *unreadable_of(struct unreadable *u, const char *file)
{
	for (size_t i = 0; i < u->n; i++)
		if (strcmp(u->v[i].file, file) == 0)
			return &u->v[i];
	u->v = xrealloc(u->v, (u->n + 1) * sizeof(*u->v));
	u->v[u->n] = (struct unreadable_file){ .file = xstrdup(file) };
	return &u->v[u->n++];
}

void audit_count_unreadable(struct unreadable *u, const struct record_line *l)
{
	struct unreadable_file *f = unreadable_of(u, l->file);
	if (f->count++ < 20) {
		char *n = xasprintf("%s%s%llu", f->numbers ? f->numbers : "", f->numbers ? ", " : "",
				    (unsigned long long)l->lineno);
		free(f->numbers);
		f->numbers = n;
	}
}

void audit_unreadable_json(const struct record_line *l, const char *id)
{
	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	yajl_gen_map_open(g);
	jg_key_bool(g, "unreadable", true);
	if (id)
		jg_key_str(g, "container", id);
	jg_key_str(g, "file", l->file);
	jg_key_uint(g, "line", l->lineno);
	jg_key(g, "text");
	jg_strn(g, l->text, l->len);   /* lossy when not UTF-8: text_hex is exact */
	if (!utf8_valid(l->text, l->len)) {
		_cleanup_free_ char *hex = hex_encode(l->text, l->len);
		jg_key_str(g, "text_hex", hex);
	}
	yajl_gen_map_close(g);
	cli_print_json(g);
}

/* "line N" in the live file, "FILE line N" in a rotated generation. */
char *audit_where(const struct record_line *l)
{
	_cleanup_free_ char *file = audit_esc(l->file, strlen(l->file));
	return l->live ? xasprintf("line %llu", (unsigned long long)l->lineno)
		       : xasprintf("%s line %llu", file, (unsigned long long)l->lineno);
}

/* A line that is not a record, shown as what it is. */
void audit_show_unreadable(struct cli *cli, struct unreadable *u, const struct record_line *l,
			    const char *id)
{
	audit_count_unreadable(u, l);
	if (cli->json) {
		audit_unreadable_json(l, NULL);
		return;
	}
	_cleanup_free_ char *text = audit_esc(l->text, l->len);
	_cleanup_free_ char *w = audit_where(l);
	audit_print_row("-", 0, "-", "unreadable");
	printf("%s: %s\n", w, text);
}

/* A generation that could not be read to its end: said on stderr as it is met. */
void audit_show_damaged(struct unreadable *u, const struct record_line *l, const char *id)
{
	u->damaged++;
	fflush(stdout);
	_cleanup_free_ char *file = audit_esc(l->file, strlen(l->file));
	_cleanup_free_ char *why = audit_esc(l->text, l->len);
	if (l->lineno)
		log_error(id, "%s: %s after line %llu; the rest of this file is not shown", file, why,
			  (unsigned long long)l->lineno);
	else
		log_error(id, "%s: %s before its first line; none of it is shown", file, why);
}

/* The exit status the lines shown owe, said on stderr. */
int audit_unreadable_report(struct unreadable *u, const char *log_dir, const char *id)
{
	int rc = u->damaged ? 1 : 0;
	for (size_t i = 0; i < u->n; i++) {
		struct unreadable_file *f = &u->v[i];
		_cleanup_free_ char *path = path_join(log_dir, f->file);
		log_error(id, "%llu line%s of %s %s (line%s %s%s)", (unsigned long long)f->count,
			  f->count > 1 ? "s" : "", path,
			  f->count > 1 ? "are not audit records" : "is not an audit record",
			  f->count > 1 ? "s" : "", f->numbers, f->count > 20 ? ", ..." : "");
		free(f->file);
		free(f->numbers);
		rc = 1;
	}
	free(u->v);
	*u = (struct unreadable){ 0 };
	return rc;
}
