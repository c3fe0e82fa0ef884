/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "bpfset.h"
#include "container.h"
#include "json.h"
#include "metrics.h"
#include "paths.h"

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

/* container_id and policy always; the engine's names where its annotations gave them. */
static void write_labels(FILE *f, const struct container *c)
{
	const struct { const char *key, *value; } more[] = {
		{ "name", c->name }, { "image", c->image }, { "pod", c->pod },
		{ "namespace", c->namespace },
	};
	fputs("{container_id=\"", f);
	metrics_escape_label(f, c->id);
	fputs("\",policy=\"", f);
	metrics_escape_label(f, c->policy);
	for (size_t i = 0; i < ARRAY_SIZE(more); i++) {
		if (!more[i].value)
			continue;
		fprintf(f, "\",%s=\"", more[i].key);
		metrics_escape_label(f, more[i].value);
	}
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

/* --- the collector's own health ---------------------------------------------------------- */

char *metrics_health_path(const struct config *cfg)
{
	return path_collector(cfg->state_dir, "health");
}

int metrics_health_save(const struct config *cfg, uint64_t written, uint64_t lost)
{
	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	yajl_gen_map_open(g);
	jg_key_int(g, "pid", getpid());
	jg_key_uint(g, "records_written", written);
	jg_key_uint(g, "records_lost", lost);
	yajl_gen_map_close(g);
	size_t len;
	_cleanup_free_ char *text = json_gen_take(g, &len);
	_cleanup_free_ char *path = metrics_health_path(cfg);
	return write_file_atomic(path, text, len, 0644);
}

static void write_counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", name, help, name, name, v);
}

/* What the running collector says of itself (nothing when none runs). */
static void write_health(FILE *f, const struct config *cfg)
{
	_cleanup_free_ char *path = metrics_health_path(cfg);
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ yajl_val root = NULL;
	if (read_file_nofollow(path, 4096, &text, NULL) < 0 || json_parse(text, path, &root, NULL) < 0)
		return;
	yajl_val pid = json_get(root, "pid"), w = json_get(root, "records_written"),
		 l = json_get(root, "records_lost");
	if (!YAJL_IS_INTEGER(pid) || !YAJL_IS_NUMBER(w) || !YAJL_IS_NUMBER(l) ||
	    YAJL_GET_INTEGER(pid) <= 0 || (kill((pid_t)YAJL_GET_INTEGER(pid), 0) < 0 && errno == ESRCH))
		return;
	write_counter(f, "ocibpf_collector_records_written_total",
		      "Audit records the running collector wrote to the containers' logs since it started.",
		      strtoull(w->u.number.r, NULL, 10));
	write_counter(f, "ocibpf_collector_records_lost_total",
		      "Audit records the running collector reported lost since it started (kernel ring buffer full, failed writes).",
		      strtoull(l->u.number.r, NULL, 10));
}

static void write_build_info(FILE *f)
{
	fputs("# HELP ocibpf_build_info A metric with a constant '1' value labeled by the version of ocibpf and of its BPF programs.\n"
	      "# TYPE ocibpf_build_info gauge\n"
	      "ocibpf_build_info{version=\"", f);
	metrics_escape_label(f, OCIBPF_VERSION);
	fputs("\",bpf_version=\"", f);
	metrics_escape_label(f, bpfset_current_version());
	fputs("\"} 1\n", f);
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
		write_build_info(f);
		write_health(f, cfg);
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
