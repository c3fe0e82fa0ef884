/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocibpf stats [--json] [--watch] [ID...]: per-container usage, like `podman stats`.
 *
 * CPU % needs two readings: the table uses the collector's last persisted sample when it
 * is recent enough to mean something, else it reads again a second later; --watch uses
 * the previous frame. --json prints the SPEC.md objects (no CPU %: cpu_ns is the counter).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "bpfset.h"
#include "cli.h"
#include "container.h"
#include "resolve.h"
#include "stats.h"

#define WATCH_INTERVAL_NS 1000000000ULL
#define PREV_MIN_NS 200000000ULL     /* a persisted sample must be at least this old ... */
#define PREV_MAX_NS 3000000000ULL    /* ... and at most this (unless nothing moved since) */

struct row {
	struct container *c;
	struct stats s;
	bool have_prev;
	uint64_t prev_cpu_ns, prev_ns;
};

struct frame {
	struct row *rows;
	size_t n;
};

static void frame_done(struct frame *f)
{
	for (size_t i = 0; i < f->n; i++)
		container_free(f->rows[i].c);
	free(f->rows);
	f->rows = NULL;
	f->n = 0;
}

static void strv_freep(char ***v)
{
	strv_free(*v);
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = 1;
}

static int usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: ocibpf stats [--json] [--watch] [ID...]\n"
		"  Resource and network usage of the monitored containers (all when no ID is given).\n"
		"  --watch  refresh every second until interrupted\n"
		"  --json   the counters as a JSON array (with --watch: one array a line)\n");
	return status;
}

/* Read every container of ids (or all recorded ones); report the missing named ones. */
static int read_frame(const struct config *cfg, char **named, bool report, struct frame *ret)
{
	char **all = named ? NULL : container_list(cfg->state_dir);
	char **ids = named ? named : all;
	struct setcache *sets = NULL;
	struct frame f = { 0 };
	int r = 0;
	for (char **id = ids; *id; id++) {
		struct error err = { 0 };
		struct container *c = NULL;
		if (container_read(cfg->state_dir, *id, &c, &err) < 0) {
			if (named && report) {
				log_error(*id, "not monitored: %s", err.msg);
				r = -ENOENT;
			}
			err_clear(&err);
			continue;
		}
		f.rows = xrealloc(f.rows, (f.n + 1) * sizeof(*f.rows));
		struct row *row = &f.rows[f.n++];
		*row = (struct row){ .c = c };
		stats_collect(cfg->state_dir, c, setcache_get(&sets, cfg->bpffs_dir, c->set), &row->s);
	}
	setcache_free(sets);
	strv_free(all);
	*ret = f;
	return r;
}

/* CPU % from the collector's persisted sample, when it says something about now. */
static void prev_from_saved(const struct config *cfg, struct row *row)
{
	struct stats saved;
	if (!(row->s.live & ST_CPU) || stats_load(cfg->state_dir, row->c, &saved) < 0 ||
	    !saved.sampled_ns || saved.sampled_ns > row->s.sampled_ns)
		return;
	uint64_t age = row->s.sampled_ns - saved.sampled_ns;
	/* The collector writes only what changed: an old file whose CPU time is still the
	 * live one means no CPU was used since. */
	if (age < PREV_MIN_NS || (age > PREV_MAX_NS && saved.cpu_ns != row->s.cpu_ns))
		return;
	row->have_prev = true;
	row->prev_cpu_ns = saved.cpu_ns;
	row->prev_ns = saved.sampled_ns;
}

static void prev_from_frame(const struct frame *old, struct row *row)
{
	for (size_t i = 0; i < old->n; i++) {
		const struct row *o = &old->rows[i];
		if (strcmp(o->c->id, row->c->id) != 0 || o->c->cgroup_id != row->c->cgroup_id)
			continue;
		if ((o->s.live & ST_CPU) && (row->s.live & ST_CPU) && o->s.sampled_ns < row->s.sampled_ns) {
			row->have_prev = true;
			row->prev_cpu_ns = o->s.cpu_ns;
			row->prev_ns = o->s.sampled_ns;
		}
		return;
	}
}

/* The next frame in *cur, its CPU % against the one it replaces. */
static void next_frame(const struct config *cfg, char **named, struct frame *cur)
{
	struct frame old = *cur;
	read_frame(cfg, named, false, cur);
	for (size_t i = 0; i < cur->n; i++)
		prev_from_frame(&old, &cur->rows[i]);
	frame_done(&old);
}

static bool sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ULL, .tv_nsec = ns % 1000000000ULL };
	while (!interrupted && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return !interrupted;
}

/* "1.234MiB" (binary) or "1.234MB" (decimal), 4 significant digits, like docker stats. */
static const char *human(char buf[static 16], uint64_t v, bool binary)
{
	static const char *const bin[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	static const char *const dec[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
	double base = binary ? 1024 : 1000, x = (double)v;
	size_t u = 0;
	while (x >= base && u + 1 < ARRAY_SIZE(bin)) {
		x /= base;
		u++;
	}
	snprintf(buf, 16, "%.4g%s", x, binary ? bin[u] : dec[u]);
	return buf;
}

/* Wide enough for any id (ID_MAX) whole. */
#define CELL 256
_Static_assert(ID_MAX < CELL, "a cell holds an id");

enum { C_ID, C_NAME, C_CPU, C_MEM, C_PIDS, C_NET, C_BLOCK, C_DENIED, C_EXECS, C__COUNT };
static const char *const headers[C__COUNT] = {
	"ID", "NAME", "CPU %", "MEM USAGE / PEAK", "PIDS", "NET RX / TX", "BLOCK I/O", "DENIED EG / IN",
	"EXECS",
};

static void cells_of(const struct row *row, char cells[C__COUNT][CELL])
{
	char a[16], b[16];
	const struct stats *s = &row->s;
	_cleanup_free_ char *name = resolve_printable(row->c->name ? row->c->name : "-");
	snprintf(cells[C_ID], CELL, "%s", row->c->id);
	snprintf(cells[C_NAME], CELL, "%s", name);
	if (row->have_prev && s->sampled_ns > row->prev_ns && s->cpu_ns >= row->prev_cpu_ns)
		snprintf(cells[C_CPU], CELL, "%.2f%%",
			 100.0 * (double)(s->cpu_ns - row->prev_cpu_ns) / (double)(s->sampled_ns - row->prev_ns));
	else
		snprintf(cells[C_CPU], CELL, "--");
	snprintf(cells[C_MEM], CELL, "%s / %s", human(a, s->memory_bytes, true),
		 human(b, s->memory_peak_bytes, true));
	snprintf(cells[C_PIDS], CELL, "%llu", (unsigned long long)s->pids);
	snprintf(cells[C_NET], CELL, "%s / %s", human(a, s->k.rx_bytes, false),
		 human(b, s->k.tx_bytes, false));
	snprintf(cells[C_BLOCK], CELL, "%s / %s", human(a, s->io_read_bytes, false),
		 human(b, s->io_write_bytes, false));
	snprintf(cells[C_DENIED], CELL, "%llu / %llu", (unsigned long long)s->k.egress_denied,
		 (unsigned long long)s->k.ingress_denied);
	snprintf(cells[C_EXECS], CELL, "%llu", (unsigned long long)s->k.execs);
}

static void print_table(const struct frame *f)
{
	char (*cells)[C__COUNT][CELL] = xcalloc(f->n + 1, sizeof(*cells));
	int width[C__COUNT];
	for (int c = 0; c < C__COUNT; c++) {
		snprintf(cells[0][c], CELL, "%s", headers[c]);
		width[c] = (int)strlen(headers[c]);
	}
	for (size_t i = 0; i < f->n; i++) {
		cells_of(&f->rows[i], cells[i + 1]);
		for (int c = 0; c < C__COUNT; c++)
			if ((int)strlen(cells[i + 1][c]) > width[c])
				width[c] = (int)strlen(cells[i + 1][c]);
	}
	for (size_t i = 0; i <= f->n; i++)
		for (int c = 0; c < C__COUNT; c++)
			printf(c + 1 < C__COUNT ? "%-*s   " : "%-*s\n", c + 1 < C__COUNT ? width[c] : 0,
			       cells[i][c]);
	free(cells);
}

static void print_json(const struct frame *f)
{
	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	yajl_gen_array_open(g);
	for (size_t i = 0; i < f->n; i++)
		stats_gen(g, f->rows[i].c->id, &f->rows[i].s);
	yajl_gen_array_close(g);
	cli_print_json(g);
}

int cmd_stats(struct cli *cli, int argc, char **argv)
{
	bool watch = false;
	int w = 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--watch") == 0 || strcmp(argv[i], "-w") == 0)
			watch = true;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return usage(0);
		else if (argv[i][0] == '-')
			return usage(2);
		else
			argv[w++] = argv[i];
	}
	argv[w] = NULL;

	_cleanup_config_ struct config *cfg = cli_config(cli);
	if (!cfg || cli_records_readable(cfg) < 0)
		return 1;
	/* Every ID as people name it (id, name, prefix); those that name none are reported
	 * (exit 1), the others shown; none left: the errors alone, no header. */
	_cleanup_(strv_freep) char **named = w > 1 ? xcalloc(w, sizeof(char *)) : NULL;
	int bad = 0, n = 0;
	for (int i = 1; i < w; i++)
		if (resolve_id_or_report(cfg, argv[i], RESOLVE_MONITORED, &named[n]) < 0)
			bad = 1;
		else
			n++;
	if (bad && n == 0)
		return 1;

	struct frame cur = { 0 };
	int ret = read_frame(cfg, named, true, &cur) < 0 || bad ? 1 : 0;
	if (!cli->json) {
		bool again = false;
		for (size_t i = 0; i < cur.n; i++) {
			prev_from_saved(cfg, &cur.rows[i]);
			again |= !watch && !cur.rows[i].have_prev && (cur.rows[i].s.live & ST_CPU);
		}
		if (again && sleep_ns(WATCH_INTERVAL_NS)) {
			/* No usable sample of the collector's: read again a second later. */
			next_frame(cfg, named, &cur);
		}
	}
	if (!watch) {
		if (cli->json)
			print_json(&cur);
		else
			print_table(&cur);
		frame_done(&cur);
		return ret;
	}

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	bool tty = isatty(STDOUT_FILENO);
	for (;;) {
		if (cli->json) {
			print_json(&cur);
		} else {
			if (tty)
				fputs("\033[H\033[2J", stdout);
			print_table(&cur);
			if (!tty)
				putchar('\n');
		}
		fflush(stdout);
		if (!sleep_ns(WATCH_INTERVAL_NS))
			break;
		next_frame(cfg, named, &cur);
	}
	frame_done(&cur);
	return ret;
}
