/* SPDX-License-Identifier: Apache-2.0 */
/* Metrics labels from the engines' annotations; the counter table's families. */
#include <errno.h>

#include "container.h"
#include "metrics.h"
#include "stats.h"
#include "unit.h"

static char *render(const struct metrics_row *rows, size_t n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	CHECK(f != NULL);
	metrics_write(f, rows, n);
	fclose(f);
	return text;
}

TEST(labels_from_cri_annotations)
{
	static const char *const containerd[][2] = {
		{ "io.kubernetes.cri.container-type", "container" },
		{ "io.kubernetes.cri.container-name", "web" },
		{ "io.kubernetes.cri.sandbox-name", "web-1" },
		{ "io.kubernetes.cri.sandbox-namespace", "shop" },
		{ "io.kubernetes.cri.image-name", "busybox:1" },
		{ "io.kubernetes.container.name", "other" },   /* the first key wins */
	};
	struct container c = { .id = "c1", .policy = "p" };
	for (size_t i = 0; i < ARRAY_SIZE(containerd); i++)
		container_label_from_annotation(&c, containerd[i][0], containerd[i][1]);
	CHECK_STR_EQ(c.name, "web");
	CHECK_STR_EQ(c.pod, "web-1");
	CHECK_STR_EQ(c.namespace, "shop");
	CHECK_STR_EQ(c.image, "busybox:1");

	static const char *const crio[][2] = {
		{ "io.kubernetes.container.name", "db" },
		{ "io.kubernetes.pod.name", "db-0" },
		{ "io.kubernetes.pod.namespace", "data" },
		{ "io.kubernetes.cri-o.ImageName", "postgres:16" },
		{ "io.kubernetes.cri.container-name", "" },   /* empty: not a name */
	};
	struct container d = { .id = "c2", .policy = "p" };
	for (size_t i = 0; i < ARRAY_SIZE(crio); i++)
		container_label_from_annotation(&d, crio[i][0], crio[i][1]);
	CHECK_STR_EQ(d.name, "db");
	CHECK_STR_EQ(d.pod, "db-0");
	CHECK_STR_EQ(d.namespace, "data");
	CHECK_STR_EQ(d.image, "postgres:16");

	struct container e = { .id = "c3" };
	container_label_from_annotation(&e, "io.container.manager", "libpod");
	container_label_from_annotation(&e, NULL, "x");
	CHECK(!e.name && !e.pod && !e.namespace && !e.image);
}

TEST(labels_in_the_exposition)
{
	struct container c = { .id = "c1", .policy = "p", .name = "we\"b", .pod = "pod\n1" };
	struct metrics_row row = { .c = &c };
	row.s.memory_working_set_bytes = 7;
	_cleanup_free_ char *t = render(&row, 1);
	CHECK_STR_CONTAINS(t, "\nocibpf_container_memory_working_set_bytes{container_id=\"c1\",policy=\"p\",name=\"we\\\"b\",pod=\"pod\\n1\"} 7\n");
	CHECK(!strstr(t, "image=") && !strstr(t, "namespace="));
}

TEST(every_value_has_a_family)
{
	struct container c = { .id = "c1", .policy = "p" };
	struct metrics_row row = { .c = &c };
	row.s.syscalls_counted = true;
	_cleanup_free_ char *t = render(&row, 1);
	static const char *const want[][2] = {
		{ "memory_working_set_bytes", "gauge" },
		{ "oom_events_total", "counter" },
		{ "cpu_cfs_periods_total", "counter" },
		{ "cpu_cfs_throttled_periods_total", "counter" },
		{ "cpu_cfs_throttled_seconds_total", "counter" },
		{ "ringbuf_drops_total", "counter" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		_cleanup_free_ char *type = xasprintf("# TYPE ocibpf_container_%s %s\n", want[i][0],
						      want[i][1]);
		CHECK_STR_CONTAINS(t, type);
	}
	CHECK_STR_CONTAINS(t, "\nocibpf_container_cpu_cfs_throttled_seconds_total{container_id=\"c1\",policy=\"p\"} 0.000000000\n");
	/* One family per value of the table, and one sample per family here. */
	size_t types = 0, samples = 0;
	for (const char *l = t; *l; l = strchr(l, '\n') + 1) {
		types += strncmp(l, "# TYPE ocibpf_container_", 24) == 0;
		samples += strncmp(l, "ocibpf_container_", 17) == 0;
	}
	CHECK_INT_EQ(types, stats_n_values + 1);    /* + start_time_seconds */
	CHECK_INT_EQ(samples, stats_n_values + 1);
}

TEST(merge_by_kind)
{
	/* Every counter takes the larger, every gauge the live one when read. */
	struct stats live = { .live = ST_MEMORY }, saved = { 0 };
	for (size_t i = 0; i < stats_n_values; i++) {
		stats_value_set(&live, &stats_values[i], 10);
		stats_value_set(&saved, &stats_values[i], 20);
	}
	stats_merge(&live, &saved);
	for (size_t i = 0; i < stats_n_values; i++) {
		const struct stats_value *v = &stats_values[i];
		uint64_t want = v->kind == CK_GAUGE && (v->live & ST_MEMORY) ? 10 : 20;
		if (stats_value_get(&live, v) != want)
			printf("# %s: %llu, want %llu\n", v->name,
			       (unsigned long long)stats_value_get(&live, v), (unsigned long long)want);
		CHECK(stats_value_get(&live, v) == want);
	}
	CHECK(!stats_differ(&live, &live));
	struct stats other = live;
	other.k.audit_lost++;
	CHECK(stats_differ(&live, &other));
}
