/* SPDX-License-Identifier: Apache-2.0 */
/* ocibpf audit: review a container's audit log. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/inotify.h>
#include <time.h>

#include "cli.h"
#include "resolve.h"
#include "record.h"
#include "utf8.h"
#include "container.h"
#include "pending.h"
#include "loggens.h"
#include "paths.h"

struct filter {
	const char *type;
	const char *syscall;
	char since[32];      /* RFC 3339 like our ts: compares as a string */
	bool setup;          /* the table shows the runtime's setup records too */
};

/* Lines that are not records, by file: counted, their numbers said on stderr at the end;
 * generations that could not be read to their end. */
struct unreadable_file {
	char *file;
	uint64_t count;
	char *numbers;       /* "3, 17, 20" (the first few) */
};

struct unreadable {
	struct unreadable_file *v;
	size_t n;
	uint64_t damaged;
};

/*
 * "2026-11-24T15:30:00Z", "2026-11-24T15:30:00.5Z", or relative "90s", "10m", "2h", "1d".
 * A negative duration, or a time before 1970, is refused (it would wrap to the future).
 */
static int parse_since(const char *s, char ret[static 32])
{
	char *end;
	if (s[0] >= '0' && s[0] <= '9') {
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
	}
	struct tm tm = { 0 };
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return -EINVAL;
	unsigned long long frac = 0;
	if (*rest == '.') {
		int digits = 0;
		for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
			if (digits < 9)
				frac = frac * 10 + (*rest - '0');
		for (; digits < 9; digits++)
			frac *= 10;
	}
	if (strcmp(rest, "Z") != 0 && strcmp(rest, "+00:00") != 0)
		return -EINVAL;
	time_t t = timegm(&tm);
	if (t < 0 || (unsigned long long)t > UINT64_MAX / 1000000000ULL - 1)
		return -ERANGE;
	format_rfc3339(t * 1000000000ULL + frac, ret);
	return 0;
}

static bool matches(const struct filter *f, const struct record *rec)
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
static char *esc(const char *s, size_t len)
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
static char *esc_field(yajl_val rec, const char *key, const char *dflt)
{
	size_t len;
	_cleanup_free_ char *b = record_bytes(rec, key, &len);
	if (!b)
		return dflt ? esc(dflt, strlen(dflt)) : NULL;
	return esc(b, len);
}

static void print_argv(yajl_val rec)
{
	yajl_val argv = json_get(rec, "argv");
	for (size_t i = 0; YAJL_IS_ARRAY(argv) && i < argv->u.array.len; i++) {
		size_t len;
		_cleanup_free_ char *b = record_argv_bytes(rec, i, &len);
		_cleanup_free_ char *e = b ? esc(b, len) : NULL;
		printf("%s%s", i ? " " : "", e ? e : "");
	}
}

static long long get_int(yajl_val rec, const char *key)
{
	long long v = 0;
	json_get_int(rec, key, &v);
	return v;
}

/* A return value as strace and `ausearch -i` show it: errno names for errors. */
static void print_ret(yajl_val rec)
{
	long long ret = get_int(rec, "ret");
	const char *name = ret < 0 && ret >= -4095 ? strerrorname_np((int)-ret) : NULL;
	if (name)
		printf("%s", name);
	else
		printf("%lld", ret);
}

static void print_addr(yajl_val rec)
{
	_cleanup_free_ char *a = esc_field(rec, "addr", "?");
	printf(strchr(a, ':') ? "[%s]:%lld" : "%s:%lld", a, get_int(rec, "port"));
}

static void print_detail(const struct record *r)
{
	yajl_val rec = r->v;
	switch (r->type) {
	case REC_EXEC: {
		_cleanup_free_ char *fn = esc_field(rec, "filename", "?");
		printf("%s%s: ", YAJL_IS_TRUE(json_get(rec, "filename_truncated")) ? "..." : "", fn);
		print_argv(rec);
		if (YAJL_IS_TRUE(json_get(rec, "argv_truncated")))
			printf(" [truncated]");
		break;
	}
	case REC_SYSCALL: {
		_cleanup_free_ char *name = esc_field(rec, "syscall", "?");
		_cleanup_free_ char *path = esc_field(rec, "path", NULL);
		printf("%s(", name);
		if (path)
			printf("\"%s%s\"", YAJL_IS_TRUE(json_get(rec, "path_truncated")) ? "..." : "", path);
		else if (json_get_string(rec, "addr"))
			print_addr(rec);
		printf(") = ");
		print_ret(rec);
		if (YAJL_IS_TRUE(json_get(rec, "setup")))
			printf(" [setup]");
		break;
	}
	case REC_NET: {
		_cleanup_free_ char *action = esc_field(rec, "action", "?");
		_cleanup_free_ char *dir = esc_field(rec, "direction", "?");
		_cleanup_free_ char *proto = NULL;
		yajl_val p = json_get(rec, "protocol");
		proto = YAJL_IS_INTEGER(p) ? xasprintf("%lld", YAJL_GET_INTEGER(p)) : esc_field(rec, "protocol", "?");
		printf("%s %s %s ", action, dir, proto);
		print_addr(rec);
		if (get_int(rec, "count") > 1)
			printf(" (x%lld)", get_int(rec, "count"));
		break;
	}
	case REC_LOST: {
		yajl_val c = json_get(rec, "count");
		if (YAJL_IS_INTEGER(c))
			printf("%lld records lost", YAJL_GET_INTEGER(c));
		else
			printf("records lost");
		_cleanup_free_ char *why = esc_field(rec, "reason", NULL);
		if (why)
			printf(" (%s)", why);
		break;
	}
	case REC_START: {
		_cleanup_free_ char *pol = esc_field(rec, "policy", "-");
		_cleanup_free_ char *cg = esc_field(rec, "cgroup", "?");
		printf("policy %s, cgroup %s", pol, cg);
		break;
	}
	case REC_STOP: {
		yajl_val st = json_get(rec, "stats");
		printf("cpu %.2fs, memory peak %.1f MiB, execs %lld, egress denied %lld, ingress denied %lld",
		       get_int(st, "cpu_ns") / 1e9, get_int(st, "memory_peak_bytes") / 1048576.0,
		       get_int(st, "execs"), get_int(st, "egress_denied"), get_int(st, "ingress_denied"));
		break;
	}
	case REC_UNKNOWN:
		break;
	}
}

static void print_row(const char *ts, long long pid, const char *comm, const char *type)
{
	char when[32];
	/* 2026-11-24T15:30:00.123456789Z -> 2026-11-24 15:30:00.123 */
	snprintf(when, sizeof(when), "%.10s %.12s", ts, strlen(ts) > 11 ? ts + 11 : "");
	char pidbuf[24] = "-";
	if (pid)
		snprintf(pidbuf, sizeof(pidbuf), "%lld", pid);
	printf("%-23s %7s %-15s %-8s ", when, pidbuf, comm, type);
}

static void print_plain(const struct record *r)
{
	_cleanup_free_ char *ts = esc(r->ts, strlen(r->ts));
	_cleanup_free_ char *comm = esc_field(r->v, "comm", "-");
	_cleanup_free_ char *type = esc_field(r->v, "type", "?");
	print_row(ts, get_int(r->v, "pid"), comm, type);
	print_detail(r);
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

static void count_unreadable(struct unreadable *u, const struct record_line *l)
{
	struct unreadable_file *f = unreadable_of(u, l->file);
	if (f->count++ < 20) {
		char *n = xasprintf("%s%s%llu", f->numbers ? f->numbers : "", f->numbers ? ", " : "",
				    (unsigned long long)l->lineno);
		free(f->numbers);
		f->numbers = n;
	}
}

static void unreadable_json(const struct record_line *l, const char *id)
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
static char *where(const struct record_line *l)
{
	_cleanup_free_ char *file = esc(l->file, strlen(l->file));
	return l->live ? xasprintf("line %llu", (unsigned long long)l->lineno)
		       : xasprintf("%s line %llu", file, (unsigned long long)l->lineno);
}

/* A line that is not a record, shown as what it is. */
static void show_unreadable(struct cli *cli, struct unreadable *u, const struct record_line *l,
			    const char *id)
{
	count_unreadable(u, l);
	if (cli->json) {
		unreadable_json(l, NULL);
		return;
	}
	_cleanup_free_ char *text = esc(l->text, l->len);
	_cleanup_free_ char *w = where(l);
	print_row("-", 0, "-", "unreadable");
	printf("%s: %s\n", w, text);
}

/* A generation that could not be read to its end: said on stderr as it is met. */
static void show_damaged(struct unreadable *u, const struct record_line *l, const char *id)
{
	u->damaged++;
	fflush(stdout);
	_cleanup_free_ char *file = esc(l->file, strlen(l->file));
	_cleanup_free_ char *why = esc(l->text, l->len);
	if (l->lineno)
		log_error(id, "%s: %s after line %llu; the rest of this file is not shown", file, why,
			  (unsigned long long)l->lineno);
	else
		log_error(id, "%s: %s before its first line; none of it is shown", file, why);
}

/* The exit status the lines shown owe, said on stderr. */
static int unreadable_report(struct unreadable *u, const char *log_dir, const char *id)
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

/* Show one line if it is to be shown; keeps track of whether the log's last run stopped. */
static void show_line(struct cli *cli, const struct filter *f, struct record_line *l, int r,
		      struct unreadable *u, const char *id, bool *stopped)
{
	if (r == -EIO) {
		show_damaged(u, l, id);
		return;
	}
	if (r < 0) {
		show_unreadable(cli, u, l, id);
		return;
	}
	if (l->rec.type == REC_STOP)
		*stopped = true;
	else if (l->rec.type == REC_START)
		*stopped = false;
	if (!matches(f, &l->rec))
		return;
	if (cli->json) {
		fwrite(l->text, 1, l->len, stdout);
		putchar('\n');
	} else if (f->setup || !YAJL_IS_TRUE(json_get(l->rec.v, "setup"))) {
		print_plain(&l->rec);
	}
}

/*
 * The run of the container the log is followed for has ended: it is no longer monitored
 * (no state record: poststop, gc or the next run's hook wrote its stop record first) and
 * its log owes nothing (a stop record kept while log_dir was full is written later).
 */
static bool run_ended(const struct config *cfg, const char *id)
{
	_cleanup_container_ struct container *c = NULL;
	return container_read(cfg->state_dir, id, &c, NULL) == -ENOENT &&
	       !pending_exists(cfg->state_dir, id, NULL);
}

/* --- following ------------------------------------------------------------------------ */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

/*
 * A follower ends cleanly: SIGINT and SIGTERM end it between two reads (the lines read
 * are shown whole), a reader that went away (a closed pipe: EPIPE instead of SIGPIPE)
 * too. The signals stay blocked but in the wait (ppoll), so a read is never cut.
 */
struct follow {
	int ino;                 /* inotify on log_dir; -1: poll */
	sigset_t waitmask;
};

static void follow_init(struct follow *fw, const char *log_dir)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &fw->waitmask);
	sigdelset(&fw->waitmask, SIGINT);
	sigdelset(&fw->waitmask, SIGTERM);
	/* The directory, not the file: a rotation renames the file and makes a new one. */
	fw->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (fw->ino >= 0 && inotify_add_watch(fw->ino, log_dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO |
						    IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR) < 0) {
		close(fw->ino);
		fw->ino = -1;
	}
}

static void follow_done(struct follow *fw)
{
	if (fw->ino >= 0)
		close(fw->ino);
}

/* Wait for log_dir to change (at most ms); false when a signal asks us to end. */
static bool follow_wait(struct follow *fw, int ms)
{
	if (got_signal)
		return false;
	struct pollfd pfd = { .fd = fw->ino, .events = POLLIN };
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	if (fw->ino < 0 && ms > 200)
		ts = (struct timespec){ .tv_nsec = 200 * 1000000L };
	int n = ppoll(fw->ino >= 0 ? &pfd : NULL, fw->ino >= 0 ? 1 : 0, &ts, &fw->waitmask);
	if (n > 0) {
		char ebuf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		while (read(fw->ino, ebuf, sizeof(ebuf)) > 0)
			;
	}
	return !got_signal;
}

/* stdout still reaches someone (a closed pipe ends the command quietly). */
static bool out_ok(void)
{
	return fflush(stdout) == 0 && !ferror(stdout);
}

static int audit_show(struct cli *cli, const struct filter *f, const char *arg, bool follow)
{
	_cleanup_config_ struct config *cfg = cli_config(cli);
	if (!cfg)
		return 1;
	_cleanup_free_ char *id = NULL;
	if (resolve_id_or_report(cfg, arg, RESOLVE_LOGS, &id) < 0)
		return 1;
	struct error err = { 0 };
	_cleanup_record_reader_ struct record_reader *rr = NULL;
	if (record_reader_open(cfg->log_dir, id, &rr, &err) < 0) {
		log_error(id, "%s", err.msg);
		err_clear(&err);
		return 1;
	}
	struct follow fw = { .ino = -1 };
	if (follow)
		follow_init(&fw, cfg->log_dir);
	else
		signal(SIGPIPE, SIG_IGN);
	if (!cli->json)
		printf("%-23s %7s %-15s %-8s %s\n", "TIME", "PID", "COMM", "TYPE", "DETAIL");
	struct unreadable u = { 0 };
	bool stopped = false, ended = false;
	for (;;) {
		/* Not following (or the run ended): a last line without its newline is
		 * waited for, then shown for what it is. */
		bool final = !follow || ended;
		struct record_line l;
		int r;
		while (!ferror(stdout) && (r = record_read(rr, final, &l)) != 0) {
			show_line(cli, f, &l, r, &u, id, &stopped);
			record_line_done(&l);
		}
		if (!out_ok())
			break;
		/* Done: not following, the run ended, or its stop record is the last. */
		if (final || stopped)
			break;
		if (record_reader_refresh(rr))
			continue;   /* rotated: the new live file */
		/* Ended with no stop record after what we read: read to the end once more. */
		if (run_ended(cfg, id)) {
			ended = true;
			continue;
		}
		/* Wait for the log to grow or be rotated; look again every second whether the
		 * run ended. */
		if (!follow_wait(&fw, 1000))
			break;
	}
	follow_done(&fw);
	return unreadable_report(&u, cfg->log_dir, id);
}

/* --- every container: one line an event ---------------------------------------------- */

/* A container's log being read for --all. */
struct tail {
	char *id;
	char *label;                /* how the line names the container */
	struct record_reader *rr;
	struct record_line l;       /* read, not shown yet (merging by time) */
	int r;                      /* l's record_read result; 0: none */
};

struct tails {
	struct tail *v;
	size_t n;
};

/* The container as a person watching finds it: the engine's name while it is monitored,
 * else the id (a 64-hex-digit id shortened to 12, as docker and podman show them). */
static char *label_of(const struct config *cfg, const char *id)
{
	_cleanup_container_ struct container *c = NULL;
	if (container_read(cfg->state_dir, id, &c, NULL) == 0 && c->name && *c->name)
		return esc(c->name, strlen(c->name));
	size_t len = strlen(id);
	bool hex = len == 64 && strspn(id, "0123456789abcdef") == 64;
	return esc(id, hex ? 12 : len);
}

static struct tail *tail_find(struct tails *t, const char *id)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].id, id) == 0)
			return &t->v[i];
	return NULL;
}

/* Logs not read yet: a tail each (from their end when skip). */
static void tails_scan(const struct config *cfg, struct tails *t, bool skip)
{
	char **ids = log_ids(cfg->log_dir);
	for (char **id = ids; *id; id++) {
		if (tail_find(t, *id))
			continue;
		struct record_reader *rr = NULL;
		if (record_reader_open(cfg->log_dir, *id, &rr, NULL) < 0)
			continue;
		if (skip)
			record_reader_skip_to_end(rr);
		t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
		t->v[t->n++] = (struct tail){ .id = xstrdup(*id), .label = label_of(cfg, *id), .rr = rr };
	}
	strv_free(ids);
}

static void tails_free(struct tails *t)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].r)
			record_line_done(&t->v[i].l);
		record_reader_close(t->v[i].rr);
		free(t->v[i].id);
		free(t->v[i].label);
	}
	free(t->v);
}

/* One line: time, container, type, who (comm[pid]) and the gist of the record. */
static void print_compact(const struct tail *t, const struct record *r)
{
	_cleanup_free_ char *ts = esc(r->ts, strlen(r->ts));
	char when[32];
	snprintf(when, sizeof(when), "%.10s %.12s", ts, strlen(ts) > 11 ? ts + 11 : "");
	_cleanup_free_ char *type = esc_field(r->v, "type", "?");
	printf("%-23s %-12s %-7s ", when, t->label, type);
	long long pid = get_int(r->v, "pid");
	_cleanup_free_ char *comm = esc_field(r->v, "comm", NULL);
	if (comm || (pid && r->type != REC_START))
		printf("%s[%lld] ", comm ? comm : "?", pid);
	print_detail(r);
	putchar('\n');
}

static void show_all_line(struct cli *cli, const struct filter *f, struct tail *t,
			  struct unreadable *u)
{
	struct record_line *l = &t->l;
	if (t->r == -EIO) {
		show_damaged(u, l, t->id);
		return;
	}
	if (t->r < 0) {
		count_unreadable(u, l);
		if (cli->json) {
			unreadable_json(l, t->id);
			return;
		}
		_cleanup_free_ char *text = esc(l->text, l->len);
		_cleanup_free_ char *w = where(l);
		printf("%-23s %-12s %-7s %s: %s\n", "-", t->label, "unreadable", w, text);
		return;
	}
	if (!matches(f, &l->rec) || (!f->setup && YAJL_IS_TRUE(json_get(l->rec.v, "setup"))))
		return;
	if (cli->json) {
		fwrite(l->text, 1, l->len, stdout);
		putchar('\n');
	} else {
		print_compact(t, &l->rec);
	}
}

/* Everything there is (final: to the end; else a line being written is left for later),
 * merged by time: the oldest next line of all logs first. */
static void show_all_merged(struct cli *cli, const struct filter *f, struct tails *t, bool final,
			    struct unreadable *u)
{
	while (!ferror(stdout)) {   /* (a reader that went away: EPIPE) */
		struct tail *next = NULL;
		for (size_t i = 0; i < t->n; i++) {
			struct tail *x = &t->v[i];
			if (!x->r)
				x->r = record_read(x->rr, final, &x->l);
			if (!x->r)
				continue;
			/* lines that are not records (no time) first */
			const char *ts = x->r > 0 ? x->l.rec.ts : "";
			if (!next || strcmp(ts, next->r > 0 ? next->l.rec.ts : "") < 0)
				next = x;
		}
		if (!next)
			return;
		show_all_line(cli, f, next, u);
		record_line_done(&next->l);
		next->r = 0;
	}
}

static int audit_all(struct cli *cli, const struct filter *f, bool follow)
{
	_cleanup_config_ struct config *cfg = cli_config(cli);
	if (!cfg)
		return 1;
	struct tails t = { 0 };
	struct unreadable u = { 0 };
	struct follow fw = { .ino = -1 };
	/* A file open per container's log: as many as the hard limit lets us. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!follow) {
		signal(SIGPIPE, SIG_IGN);
		tails_scan(cfg, &t, false);
		show_all_merged(cli, f, &t, true, &u);
		out_ok();
		goto out;
	}
	follow_init(&fw, cfg->log_dir);
	/* From now on, as `tail -f -n 0` (with --since: what is there since then, first). */
	tails_scan(cfg, &t, !f->since[0]);
	show_all_merged(cli, f, &t, false, &u);
	while (out_ok() && follow_wait(&fw, 1000)) {
		/* Containers that started since (their whole log: it is new). */
		tails_scan(cfg, &t, false);
		for (size_t i = 0; i < t.n; i++)
			record_reader_refresh(t.v[i].rr);
		show_all_merged(cli, f, &t, false, &u);
	}
out:
	follow_done(&fw);
	tails_free(&t);
	return unreadable_report(&u, cfg->log_dir, NULL);
}

int cmd_audit(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "type", required_argument, NULL, 't' },
		{ "syscall", required_argument, NULL, 's' },
		{ "since", required_argument, NULL, 'S' },
		{ "all", no_argument, NULL, 'a' },
		{ "setup", no_argument, NULL, 'u' },
		{ 0 },
	};
	struct filter f = { 0 };
	bool follow = false, all = false;
	int c, r;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			follow = true;
			break;
		case 'a':
			all = true;
			break;
		case 'u':
			f.setup = true;
			break;
		case 't':
			if (record_type_of(optarg) == REC_UNKNOWN) {
				fprintf(stderr, "ocibpf: unknown record type \"%s\" (start, exec, syscall, net, lost, stop)\n", optarg);
				return 2;
			}
			f.type = optarg;
			break;
		case 's':
			f.syscall = optarg;
			break;
		case 'S':
			r = parse_since(optarg, f.since);
			if (r == -ERANGE) {
				fprintf(stderr, "ocibpf: --since \"%s\" is before 1970 (a duration counts back from now)\n", optarg);
				return 2;
			}
			if (r < 0) {
				fprintf(stderr, "ocibpf: invalid --since \"%s\" (RFC 3339 UTC or 30s, 10m, 2h, 1d)\n", optarg);
				return 2;
			}
			break;
		default:
			goto usage;
		}
	}
	/* --all without an ID: every container. With an ID it keeps its first meaning
	 * (before the view of all containers): the runtime's setup records too (--setup). */
	if (all && optind == argc)
		return audit_all(cli, &f, follow);
	if (all)
		f.setup = true;
	if (optind != argc - 1)
		goto usage;
	return audit_show(cli, &f, argv[optind], follow);
usage:
	fprintf(stderr, "usage: ocibpf audit [--json] [--follow] [--setup] [--type TYPE] [--syscall NAME] [--since TIME] ID\n"
			"       ocibpf audit --all [--json] [--follow] [--setup] [--type TYPE] [--syscall NAME] [--since TIME]\n");
	return 2;
}
