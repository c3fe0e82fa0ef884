/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "bpfset.h"
#include "container.h"
#include "metrics.h"

void metrics_escape_label(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '\\': fputs("\\\\", f); break;
		case '"': fputs("\\\"", f); break;
		case '\n': fputs("\\n", f); break;
		default: fputc(*s, f); break;
		}
	}
}

static void write_value(FILE *f, bool seconds, uint64_t v)
{
	if (seconds)
		fprintf(f, "%" PRIu64 ".%09" PRIu64 "\n", v / 1000000000, v % 1000000000);
	else
		fprintf(f, "%" PRIu64 "\n", v);
}

static void write_labels(FILE *f, const struct container *c)
{
	fputs("{container_id=\"", f);
	metrics_escape_label(f, c->id);
	fputs("\",policy=\"", f);
	metrics_escape_label(f, c->policy);
	fputs("\"} ", f);
}

static void write_header(FILE *f, const char *name, const char *help, const char *type)
{
	fprintf(f, "# HELP ocibpf_container_%s %s\n# TYPE ocibpf_container_%s %s\n", name, help,
		name, type);
}

/*
 * A family of counters.h: cAdvisor's names where cAdvisor has one (container_*). Every
 * container has a series, but those whose value is only counted for some (syscalls).
 */
static void write_family(FILE *f, const struct stats_value *v, const struct metrics_row *rows,
			 size_t n)
{
	bool header = false;
	for (size_t j = 0; j < n; j++) {
		const struct metrics_row *r = &rows[j];
		if ((v->flags & CV_SYSCOUNT) && !r->s.syscalls_counted)
			continue;
		if (!header) {
			write_header(f, v->metric, v->help, v->kind == CK_COUNTER ? "counter" : "gauge");
			header = true;
		}
		fprintf(f, "ocibpf_container_%s", v->metric);
		write_labels(f, r->c);
		write_value(f, v->flags & CV_SECONDS, stats_value_get(&r->s, v));
	}
}

void metrics_write(FILE *f, const struct metrics_row *rows, size_t n)
{
	fputs("# HELP ocibpf_containers Number of containers ocibpf monitors.\n"
	      "# TYPE ocibpf_containers gauge\n", f);
	fprintf(f, "ocibpf_containers %zu\n", n);
	if (n) {
		write_header(f, "start_time_seconds",
			     "Start time of the container since unix epoch in seconds (when ocibpf attached to it).",
			     "gauge");
		for (size_t j = 0; j < n; j++) {
			fputs("ocibpf_container_start_time_seconds", f);
			write_labels(f, rows[j].c);
			write_value(f, true, rows[j].c->started_ns);
		}
	}
	for (size_t i = 0; i < stats_n_values; i++)
		write_family(f, &stats_values[i], rows, n);
}

int metrics_text(const struct config *cfg, char **ret, size_t *ret_len)
{
	char **ids = container_list(cfg->state_dir);
	struct metrics_row *rows = NULL;
	struct setcache *sets = NULL;
	size_t n = 0;
	for (char **id = ids; *id; id++) {
		struct container *c = NULL;
		if (container_read(cfg->state_dir, *id, &c, NULL) < 0)
			continue;   /* gone since the listing */
		rows = xrealloc(rows, (n + 1) * sizeof(*rows));
		rows[n].c = c;
		stats_collect(cfg->state_dir, c, setcache_get(&sets, cfg->bpffs_dir, c->set),
			      &rows[n].s);
		n++;
	}
	strv_free(ids);
	setcache_free(sets);

	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int r = 0;
	if (!f) {
		r = -errno;
	} else {
		metrics_write(f, rows, n);
		if (fclose(f) != 0)
			r = -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		container_free((struct container *)rows[i].c);
	free(rows);
	if (r < 0) {
		free(text);
		return r;
	}
	*ret = text;
	if (ret_len)
		*ret_len = len;
	return 0;
}
