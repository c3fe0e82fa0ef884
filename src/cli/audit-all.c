/* SPDX-License-Identifier: Apache-2.0 */
/* ocibpf audit --all: every container's log, one line an event, merged by time. */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "audit-view.h"
#include "container.h"
#include "loggens.h"
#include "logreader.h"

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
		return audit_esc(c->name, strlen(c->name));
	size_t len = strlen(id);
	bool hex = len == 64 && strspn(id, "0123456789abcdef") == 64;
	return audit_esc(id, hex ? 12 : len);
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
	_cleanup_free_ char *ts = audit_esc(r->ts, strlen(r->ts));
	char when[32];
	snprintf(when, sizeof(when), "%.10s %.12s", ts, strlen(ts) > 11 ? ts + 11 : "");
	_cleanup_free_ char *type = audit_esc_field(r->v, "type", "?");
	printf("%-23s %-12s %-7s ", when, t->label, type);
	long long pid = audit_get_int(r->v, "pid");
	_cleanup_free_ char *comm = audit_esc_field(r->v, "comm", NULL);
	if (comm || (pid && r->type != REC_START))
		printf("%s[%lld] ", comm ? comm : "?", pid);
	audit_print_detail(r);
	putchar('\n');
}

static void show_all_line(struct cli *cli, const struct filter *f, struct tail *t,
			  struct unreadable *u)
{
	struct record_line *l = &t->l;
	if (t->r == -EIO) {
		audit_show_damaged(u, l, t->id);
		return;
	}
	if (t->r < 0) {
		audit_count_unreadable(u, l);
		if (cli->json) {
			audit_unreadable_json(l, t->id);
			return;
		}
		_cleanup_free_ char *text = audit_esc(l->text, l->len);
		_cleanup_free_ char *w = audit_where(l);
		printf("%-23s %-12s %-7s %s: %s\n", "-", t->label, "unreadable", w, text);
		return;
	}
	if (!audit_matches(f, &l->rec) || (!f->setup && YAJL_IS_TRUE(json_get(l->rec.v, "setup"))))
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

int audit_all(struct cli *cli, const struct filter *f, bool follow)
{
	_cleanup_config_ struct config *cfg = cli_config(cli);
	if (!cfg || cli_logs_readable(cfg) < 0)
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
		follow_out_ok();
		goto out;
	}
	follow_init(&fw, cfg->log_dir);
	/* From now on, as `tail -f -n 0` (with --since: what is there since then, first). */
	tails_scan(cfg, &t, !f->since[0]);
	show_all_merged(cli, f, &t, false, &u);
	while (follow_out_ok() && follow_wait(&fw, 1000)) {
		/* Containers that started since (their whole log: it is new). */
		tails_scan(cfg, &t, false);
		for (size_t i = 0; i < t.n; i++)
			record_reader_refresh(t.v[i].rr);
		show_all_merged(cli, f, &t, false, &u);
	}
out:
	follow_done(&fw);
	tails_free(&t);
	return audit_unreadable_report(&u, cfg->log_dir, NULL);
}
