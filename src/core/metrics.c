/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "bpfset.h"
#include "container.h"
#include "metrics.h"

enum value_kind {
	V_COUNT,     /* an integer */
	V_SECONDS,   /* nanoseconds, printed as exact decimal seconds */
};

/* Families, in cAdvisor's names where cAdvisor has one (container_*). */
static const struct family {
	const char *name;
	const char *type;
	const char *help;
	size_t off;              /* uint64_t in struct stats, or START_TIME */
	enum value_kind kind;
	bool syscalls_only;      /* only for containers whose syscalls are counted */
} families[] = {
#define START_TIME SIZE_MAX
#define S(m) offsetof(struct stats, m)
	{ "ocibpf_container_start_time_seconds", "gauge",
	  "Start time of the container since unix epoch in seconds (when ocibpf attached to it).",
	  START_TIME, V_SECONDS, false },
	{ "ocibpf_container_cpu_usage_seconds_total", "counter",
	  "Cumulative CPU time consumed by the container in seconds.", S(cpu_ns), V_SECONDS, false },
	{ "ocibpf_container_memory_usage_bytes", "gauge",
	  "Current memory usage of the container in bytes, including all memory regardless of when it was accessed.",
	  S(memory_bytes), V_COUNT, false },
	{ "ocibpf_container_memory_max_usage_bytes", "gauge",
	  "Maximum memory usage of the container recorded in bytes.", S(memory_peak_bytes), V_COUNT,
	  false },
	{ "ocibpf_container_pids", "gauge",
	  "Number of tasks (processes and threads) in the container's cgroup.", S(pids), V_COUNT,
	  false },
	{ "ocibpf_container_fs_reads_bytes_total", "counter",
	  "Cumulative count of bytes read from block devices by the container.", S(io_read_bytes),
	  V_COUNT, false },
	{ "ocibpf_container_fs_writes_bytes_total", "counter",
	  "Cumulative count of bytes written to block devices by the container.", S(io_write_bytes),
	  V_COUNT, false },
	{ "ocibpf_container_network_receive_bytes_total", "counter",
	  "Cumulative count of bytes received by the container.", S(k.rx_bytes), V_COUNT, false },
	{ "ocibpf_container_network_receive_packets_total", "counter",
	  "Cumulative count of packets received by the container.", S(k.rx_packets), V_COUNT, false },
	{ "ocibpf_container_network_transmit_bytes_total", "counter",
	  "Cumulative count of bytes transmitted by the container.", S(k.tx_bytes), V_COUNT, false },
	{ "ocibpf_container_network_transmit_packets_total", "counter",
	  "Cumulative count of packets transmitted by the container.", S(k.tx_packets), V_COUNT,
	  false },
	{ "ocibpf_container_network_egress_denied_total", "counter",
	  "Cumulative count of outgoing connections and packets the container's network policy denied.",
	  S(k.egress_denied), V_COUNT, false },
	{ "ocibpf_container_network_ingress_denied_total", "counter",
	  "Cumulative count of incoming connections and packets the container's network policy denied.",
	  S(k.ingress_denied), V_COUNT, false },
	{ "ocibpf_container_execs_total", "counter",
	  "Cumulative count of programs executed (execve) in the container.", S(k.execs), V_COUNT,
	  false },
	{ "ocibpf_container_syscalls_total", "counter",
	  "Cumulative count of system calls made by the container (only when its policy counts them).",
	  S(k.syscalls), V_COUNT, true },
#undef S
};

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

static uint64_t value_of(const struct family *fam, const struct metrics_row *r)
{
	if (fam->off == START_TIME)
		return r->c->started_ns;
	uint64_t v;   /* uint64_t and __u64 fields: not one type, so memcpy */
	memcpy(&v, (const char *)&r->s + fam->off, sizeof(v));
	return v;
}

static void write_value(FILE *f, enum value_kind kind, uint64_t v)
{
	if (kind == V_SECONDS)
		fprintf(f, "%" PRIu64 ".%09" PRIu64 "\n", v / 1000000000, v % 1000000000);
	else
		fprintf(f, "%" PRIu64 "\n", v);
}

void metrics_write(FILE *f, const struct metrics_row *rows, size_t n)
{
	fputs("# HELP ocibpf_containers Number of containers ocibpf monitors.\n"
	      "# TYPE ocibpf_containers gauge\n", f);
	fprintf(f, "ocibpf_containers %zu\n", n);
	for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
		const struct family *fam = &families[i];
		bool header = false;
		for (size_t j = 0; j < n; j++) {
			const struct metrics_row *r = &rows[j];
			if (fam->syscalls_only && !r->s.syscalls_counted)
				continue;
			if (!header) {
				fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help,
					fam->name, fam->type);
				header = true;
			}
			fprintf(f, "%s{container_id=\"", fam->name);
			metrics_escape_label(f, r->c->id);
			fputs("\",policy=\"", f);
			metrics_escape_label(f, r->c->policy);
			fputs("\"} ", f);
			write_value(f, fam->kind, value_of(fam, r));
		}
	}
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
