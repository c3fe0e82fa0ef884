/* SPDX-License-Identifier: Apache-2.0 */
/* Telemetry: cgroup file parsers, persisted stats, merging, the JSON object, metrics text. */
#include <errno.h>
#include <sys/stat.h>

#include "container.h"
#include "json.h"
#include "metrics.h"
#include "stats.h"
#include "unit.h"

/* --- fixtures: files as kernels write them ---------------------------------------------- */

/* cgroup v2 cpu.stat (6.x, with the cpu controller enabled). */
static const char cpu_stat_v2[] =
	"usage_usec 1234567\n"
	"user_usec 1000000\n"
	"system_usec 234567\n"
	"core_sched.force_idle_usec 0\n"
	"nr_periods 0\n"
	"nr_throttled 0\n"
	"throttled_usec 0\n"
	"nr_bursts 0\n"
	"burst_usec 0\n";

/* cgroup v2 io.stat: two devices, one with discard counters. */
static const char io_stat_v2[] =
	"254:0 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n"
	"8:16 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=512 dios=1\n";

/* cgroup v1 blkio.throttle.io_service_bytes_recursive: two devices and the total. */
static const char blkio_v1[] =
	"8:16 Read 4096\n"
	"8:16 Write 1048576\n"
	"8:16 Sync 1052672\n"
	"8:16 Async 0\n"
	"8:16 Discard 0\n"
	"8:16 Total 1052672\n"
	"254:0 Read 20480\n"
	"254:0 Write 0\n"
	"254:0 Sync 20480\n"
	"254:0 Async 0\n"
	"254:0 Discard 0\n"
	"254:0 Total 20480\n"
	"Total 1073152\n";

/* --- parsers ------------------------------------------------------------------------- */

TEST(parse_u64)
{
	uint64_t v = 7;
	CHECK_INT_EQ(cg_parse_u64("123\n", &v), 0);
	CHECK_INT_EQ(v, 123);
	CHECK_INT_EQ(cg_parse_u64("18446744073709551615\n", &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_INT_EQ(cg_parse_u64("max\n", &v), -ERANGE);
	CHECK_INT_EQ(cg_parse_u64("", &v), -EINVAL);
	CHECK_INT_EQ(cg_parse_u64("-1\n", &v), -EINVAL);
	CHECK_INT_EQ(cg_parse_u64("12abc\n", &v), -EINVAL);
	CHECK_INT_EQ(cg_parse_u64("18446744073709551616\n", &v), -ERANGE);
}

TEST(parse_cpu_stat)
{
	uint64_t v = 0;
	CHECK_INT_EQ(cg_parse_keyed(cpu_stat_v2, "usage_usec", &v), 0);
	CHECK_INT_EQ(v, 1234567);
	CHECK_INT_EQ(cg_parse_keyed(cpu_stat_v2, "system_usec", &v), 0);
	CHECK_INT_EQ(v, 234567);
	CHECK_INT_EQ(cg_parse_keyed(cpu_stat_v2, "burst_usec", &v), 0);   /* last line */
	CHECK_INT_EQ(v, 0);
	/* A key is a whole word: "usage" is not "usage_usec", "nr_" matches nothing. */
	CHECK_INT_EQ(cg_parse_keyed(cpu_stat_v2, "usage", &v), -ENOENT);
	CHECK_INT_EQ(cg_parse_keyed(cpu_stat_v2, "nr_", &v), -ENOENT);
	CHECK_INT_EQ(cg_parse_keyed("", "usage_usec", &v), -ENOENT);
	/* No trailing newline. */
	CHECK_INT_EQ(cg_parse_keyed("a 1\nusage_usec 42", "usage_usec", &v), 0);
	CHECK_INT_EQ(v, 42);
	/* cgroup.events */
	CHECK_INT_EQ(cg_parse_keyed("populated 0\nfrozen 0\n", "populated", &v), 0);
	CHECK_INT_EQ(v, 0);
}

TEST(parse_io_stat)
{
	uint64_t r = 1, w = 1;
	CHECK_INT_EQ(cg_parse_io_stat(io_stat_v2, &r, &w), 0);
	CHECK_INT_EQ(r, 1459200 + 4096);
	CHECK_INT_EQ(w, 314773504 + 8192);
	/* Empty (no I/O yet): zero, not an error. */
	CHECK_INT_EQ(cg_parse_io_stat("", &r, &w), 0);
	CHECK_INT_EQ(r, 0);
	CHECK_INT_EQ(w, 0);
	/* Fields in another order, no newline at the end. */
	CHECK_INT_EQ(cg_parse_io_stat("8:0 wios=1 wbytes=10 rbytes=5", &r, &w), 0);
	CHECK_INT_EQ(r, 5);
	CHECK_INT_EQ(w, 10);
	/* dbytes is not a read or a write. */
	CHECK_INT_EQ(cg_parse_io_stat("8:0 dbytes=99 rios=1\n", &r, &w), 0);
	CHECK_INT_EQ(r + w, 0);
	/* Lines that are not devices are ignored. */
	CHECK_INT_EQ(cg_parse_io_stat("garbage rbytes=7\n8:0 rbytes=1 wbytes=2\n", &r, &w), 0);
	CHECK_INT_EQ(r, 1);
	CHECK_INT_EQ(w, 2);
}

TEST(parse_blkio)
{
	uint64_t r = 0, w = 0;
	CHECK_INT_EQ(cg_parse_blkio(blkio_v1, &r, &w), 0);
	CHECK_INT_EQ(r, 4096 + 20480);
	CHECK_INT_EQ(w, 1048576);
	/* A cgroup without I/O: only the total. */
	CHECK_INT_EQ(cg_parse_blkio("Total 0\n", &r, &w), 0);
	CHECK_INT_EQ(r + w, 0);
	CHECK_INT_EQ(cg_parse_blkio("", &r, &w), -EINVAL);
	CHECK_INT_EQ(cg_parse_blkio("nonsense\n", &r, &w), -EINVAL);
}

/* --- reading a cgroup directory ---------------------------------------------------------- */

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/ocibpf-unit-stats-XXXXXX";
	CHECK(mkdtemp(tmpl) != NULL);
	return xstrdup(tmpl);
}

static void put(const char *dir, const char *file, const char *text)
{
	_cleanup_free_ char *p = path_join(dir, file);
	CHECK_INT_EQ(write_file_atomic(p, text, strlen(text), 0644), 0);
}

static struct container fake_container(char *dir)
{
	struct stat st;
	CHECK_INT_EQ(stat(dir, &st), 0);
	return (struct container){
		.id = "c1", .policy = "web", .cgroup = "/c1", .cgroup_dir = dir,
		.cgroup_id = st.st_ino, .set = "v", .started_ns = 1700000000123456789ULL,
	};
}

TEST(read_cgroup_v2_files)
{
	_cleanup_free_ char *dir = tmpdir();
	struct container c = fake_container(dir);
	put(dir, "cpu.stat", cpu_stat_v2);
	put(dir, "memory.current", "1048576\n");
	put(dir, "memory.peak", "4194304\n");
	put(dir, "pids.current", "3\n");
	put(dir, "io.stat", io_stat_v2);

	struct stats s;
	stats_read_cgroup(&c, NULL, &s);
	CHECK_INT_EQ(s.cpu_ns, 1234567000ULL);
	CHECK_INT_EQ(s.memory_bytes, 1048576);
	CHECK_INT_EQ(s.memory_peak_bytes, 4194304);
	CHECK_INT_EQ(s.pids, 3);
	CHECK_INT_EQ(s.io_read_bytes, 1459200 + 4096);
	CHECK_INT_EQ(s.io_write_bytes, 314773504 + 8192);
	CHECK_INT_EQ(s.live, ST_CPU | ST_MEMORY | ST_PEAK | ST_PIDS | ST_IO);
	CHECK(s.sampled_ns > 0);

	/* No pids controller: the tasks of cgroup.threads. No memory.peak: current is the peak. */
	_cleanup_free_ char *p1 = path_join(dir, "pids.current");
	_cleanup_free_ char *p2 = path_join(dir, "memory.peak");
	unlink(p1);
	unlink(p2);
	put(dir, "cgroup.threads", "10\n11\n");
	stats_read_cgroup(&c, NULL, &s);
	CHECK_INT_EQ(s.pids, 2);
	CHECK_INT_EQ(s.memory_peak_bytes, 1048576);
	CHECK(!(s.live & ST_PEAK));

	/* Another cgroup at the same path (another inode): nothing live. */
	c.cgroup_id++;
	stats_read_cgroup(&c, NULL, &s);
	CHECK_INT_EQ(s.live, 0);
	CHECK_INT_EQ(s.cpu_ns, 0);
	rm_rf(dir);
}

TEST(read_cgroup_learns_where)
{
	_cleanup_free_ char *dir = tmpdir();
	struct container c = fake_container(dir);
	put(dir, "cpu.stat", cpu_stat_v2);
	put(dir, "memory.current", "100\n");
	put(dir, "cgroup.threads", "1\n2\n3\n");

	struct stats_where w = { 0 };
	struct stats s;
	stats_read_cgroup(&c, &w, &s);
	CHECK(w.known);
	CHECK(w.v2_memory);
	CHECK(!w.v2_peak && !w.v2_pids && !w.v2_io);
	CHECK(w.v1_blkio == NULL);
	CHECK_INT_EQ(s.pids, 3);
	CHECK_INT_EQ(s.memory_bytes, 100);

	/* Later readings go where the first found things, and nowhere else. */
	put(dir, "pids.current", "9\n");
	put(dir, "memory.current", "200\n");
	stats_read_cgroup(&c, &w, &s);
	CHECK_INT_EQ(s.pids, 3);
	CHECK_INT_EQ(s.memory_bytes, 200);
	stats_where_done(&w);
	CHECK(!w.known);
	stats_read_cgroup(&c, NULL, &s);
	CHECK_INT_EQ(s.pids, 9);
	rm_rf(dir);
}

/* --- merging and persisting ---------------------------------------------------------- */

TEST(merge_counters_max_gauges_live)
{
	struct stats live = { .cpu_ns = 100, .memory_bytes = 50, .memory_peak_bytes = 60, .pids = 2,
			      .io_read_bytes = 5, .io_write_bytes = 1,
			      .live = ST_CPU | ST_MEMORY | ST_PIDS, .sampled_ns = 9 };
	live.k.rx_bytes = 10;
	live.k.execs = 1;
	struct stats saved = { .cpu_ns = 90, .memory_bytes = 70, .memory_peak_bytes = 80, .pids = 5,
			       .io_read_bytes = 7, .io_write_bytes = 0, .sampled_ns = 3 };
	saved.k.rx_bytes = 20;
	saved.k.execs = 4;
	stats_merge(&live, &saved);
	CHECK_INT_EQ(live.cpu_ns, 100);          /* counters: the larger */
	CHECK_INT_EQ(live.io_read_bytes, 7);
	CHECK_INT_EQ(live.io_write_bytes, 1);
	CHECK_INT_EQ(live.k.rx_bytes, 20);
	CHECK_INT_EQ(live.k.execs, 4);
	CHECK_INT_EQ(live.memory_bytes, 50);     /* gauges: live */
	CHECK_INT_EQ(live.pids, 2);
	CHECK_INT_EQ(live.memory_peak_bytes, 80);
	CHECK_INT_EQ(live.sampled_ns, 9);

	/* Nothing live (the cgroup is gone): the saved gauges. */
	struct stats gone = { 0 };
	stats_merge(&gone, &saved);
	CHECK_INT_EQ(gone.memory_bytes, 70);
	CHECK_INT_EQ(gone.pids, 5);
	CHECK_INT_EQ(gone.cpu_ns, 90);
	CHECK_INT_EQ(gone.memory_peak_bytes, 80);
	CHECK_INT_EQ(gone.sampled_ns, 3);
}

TEST(save_load_remove)
{
	_cleanup_free_ char *state = tmpdir();
	_cleanup_free_ char *cg = tmpdir();
	struct container c = fake_container(cg);
	struct stats s = { .cpu_ns = 1, .memory_bytes = 2, .memory_peak_bytes = 3, .pids = 4,
			   .io_read_bytes = 5, .io_write_bytes = 6, .sampled_ns = 7 };
	s.k = (struct container_stats){ .rx_bytes = UINT64_MAX, /* beyond long long */
					.rx_packets = 9, .tx_bytes = 10, .tx_packets = 11,
					.egress_denied = 12, .ingress_denied = 13, .execs = 14,
					.syscalls = 15, .audit_lost = 16 };
	CHECK_INT_EQ(stats_save(state, &c, &s), 0);
	_cleanup_free_ char *path = stats_path(state, "c1");
	struct stat st;
	CHECK_INT_EQ(stat(path, &st), 0);
	CHECK_INT_EQ(st.st_mode & 0777, 0600);

	struct stats l;
	CHECK_INT_EQ(stats_load(state, &c, &l), 0);
	CHECK(l.k.rx_bytes == UINT64_MAX);
	CHECK_INT_EQ(l.cpu_ns, 1);
	CHECK_INT_EQ(l.memory_bytes, 2);
	CHECK_INT_EQ(l.memory_peak_bytes, 3);
	CHECK_INT_EQ(l.pids, 4);
	CHECK_INT_EQ(l.io_read_bytes, 5);
	CHECK_INT_EQ(l.io_write_bytes, 6);
	CHECK_INT_EQ(l.sampled_ns, 7);
	CHECK_INT_EQ(l.k.rx_packets, 9);
	CHECK_INT_EQ(l.k.tx_bytes, 10);
	CHECK_INT_EQ(l.k.tx_packets, 11);
	CHECK_INT_EQ(l.k.egress_denied, 12);
	CHECK_INT_EQ(l.k.ingress_denied, 13);
	CHECK_INT_EQ(l.k.execs, 14);
	CHECK_INT_EQ(l.k.syscalls, 15);
	CHECK_INT_EQ(l.k.audit_lost, 16);
	CHECK_INT_EQ(l.live, 0);

	/* A later container with the same id (another cgroup) doesn't inherit them. */
	struct container other = c;
	other.cgroup_id++;
	CHECK_INT_EQ(stats_load(state, &other, &l), -ESTALE);

	/* stats_collect falls back to them when the cgroup is gone. */
	rm_rf(cg);
	struct stats col;
	stats_collect(state, &c, NULL, &col);
	CHECK_INT_EQ(col.cpu_ns, 1);
	CHECK_INT_EQ(col.pids, 4);
	CHECK_INT_EQ(col.k.execs, 14);
	CHECK(!col.syscalls_counted);

	/* container_remove takes the stats file with the record. */
	CHECK_INT_EQ(container_remove(state, "c1"), 0);
	CHECK_INT_EQ(stat(path, &st), -1);
	CHECK_INT_EQ(stats_remove(state, "c1"), 0);   /* idempotent */
	CHECK_INT_EQ(stats_load(state, &c, &l), -ENOENT);
	rm_rf(state);
}

/* --- JSON ------------------------------------------------------------------------------ */

TEST(stats_json_object)
{
	struct stats s = { .cpu_ns = 5, .io_read_bytes = 6, .io_write_bytes = 7 };
	s.k.execs = 3;
	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	stats_gen(g, "c1", &s);
	size_t len;
	_cleanup_free_ char *text = json_gen_take(g, &len);
	CHECK_STR_CONTAINS(text, "\"id\":\"c1\"");
	CHECK_STR_CONTAINS(text, "\"cpu_ns\":5");
	CHECK_STR_CONTAINS(text, "\"io_read_bytes\":6");
	CHECK_STR_CONTAINS(text, "\"io_write_bytes\":7");
	CHECK_STR_CONTAINS(text, "\"execs\":3");
	CHECK_STR_CONTAINS(text, "\"syscalls\":null");
	static const char *const keys[] = { "memory_bytes", "pids", "rx_bytes", "rx_packets",
					    "tx_bytes", "tx_packets", "egress_denied",
					    "ingress_denied", "memory_peak_bytes" };
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		_cleanup_free_ char *k = xasprintf("\"%s\":0", keys[i]);
		CHECK_STR_CONTAINS(text, k);
	}

	_cleanup_json_gen_ yajl_gen g2 = json_gen_new(false);
	s.syscalls_counted = true;
	s.k.syscalls = 1234;
	stats_gen(g2, "c1", &s);
	_cleanup_free_ char *t2 = json_gen_take(g2, &len);
	CHECK_STR_CONTAINS(t2, "\"syscalls\":1234");
}

/* --- metrics --------------------------------------------------------------------------- */

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

static char *escaped(const char *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	metrics_escape_label(f, s);
	fclose(f);
	return text;
}

TEST(metrics_label_escaping)
{
	_cleanup_free_ char *a = escaped("plain-id_1.2");
	CHECK_STR_EQ(a, "plain-id_1.2");
	_cleanup_free_ char *b = escaped("a\"b\\c\nd");
	CHECK_STR_EQ(b, "a\\\"b\\\\c\\nd");
	_cleanup_free_ char *c = escaped(NULL);
	CHECK_STR_EQ(c, "");
}

TEST(metrics_text_format)
{
	struct container c1 = { .id = "c1", .policy = "we\"b\\x\ny", .started_ns = 1700000000123456789ULL };
	struct container c2 = { .id = "c2", .policy = NULL, .started_ns = 1700000001000000000ULL };
	struct metrics_row rows[2] = { { .c = &c1 }, { .c = &c2 } };
	rows[0].s.cpu_ns = 1500000000ULL;
	rows[0].s.memory_bytes = 4096;
	rows[0].s.memory_peak_bytes = 8192;
	rows[0].s.pids = 3;
	rows[0].s.io_read_bytes = 11;
	rows[0].s.io_write_bytes = 12;
	rows[0].s.k.rx_bytes = 100;
	rows[0].s.k.rx_packets = 2;
	rows[0].s.k.tx_bytes = 200;
	rows[0].s.k.tx_packets = 4;
	rows[0].s.k.egress_denied = 5;
	rows[0].s.k.ingress_denied = 6;
	rows[0].s.k.execs = 7;
	rows[1].s.syscalls_counted = true;
	rows[1].s.k.syscalls = 99;
	_cleanup_free_ char *t = render(rows, 2);

	CHECK_STR_CONTAINS(t, "# TYPE ocibpf_containers gauge\nocibpf_containers 2\n");
	const char *l1 = "{container_id=\"c1\",policy=\"we\\\"b\\\\x\\ny\"}";
	const char *l2 = "{container_id=\"c2\",policy=\"\"}";
	struct { const char *name, *type, *v1; } want[] = {
		{ "ocibpf_container_start_time_seconds", "gauge", "1700000000.123456789" },
		{ "ocibpf_container_cpu_usage_seconds_total", "counter", "1.500000000" },
		{ "ocibpf_container_memory_usage_bytes", "gauge", "4096" },
		{ "ocibpf_container_memory_max_usage_bytes", "gauge", "8192" },
		{ "ocibpf_container_pids", "gauge", "3" },
		{ "ocibpf_container_fs_reads_bytes_total", "counter", "11" },
		{ "ocibpf_container_fs_writes_bytes_total", "counter", "12" },
		{ "ocibpf_container_network_receive_bytes_total", "counter", "100" },
		{ "ocibpf_container_network_receive_packets_total", "counter", "2" },
		{ "ocibpf_container_network_transmit_bytes_total", "counter", "200" },
		{ "ocibpf_container_network_transmit_packets_total", "counter", "4" },
		{ "ocibpf_container_network_egress_denied_total", "counter", "5" },
		{ "ocibpf_container_network_ingress_denied_total", "counter", "6" },
		{ "ocibpf_container_execs_total", "counter", "7" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		_cleanup_free_ char *help = xasprintf("# HELP %s ", want[i].name);
		_cleanup_free_ char *type = xasprintf("\n# TYPE %s %s\n", want[i].name, want[i].type);
		_cleanup_free_ char *s1 = xasprintf("\n%s%s %s\n", want[i].name, l1, want[i].v1);
		_cleanup_free_ char *s2 = xasprintf("\n%s%s ", want[i].name, l2);
		CHECK_STR_CONTAINS(t, help);
		CHECK_STR_CONTAINS(t, type);
		CHECK_STR_CONTAINS(t, s1);
		CHECK_STR_CONTAINS(t, s2);
		/* Counters, and only counters, end in _total. */
		size_t n = strlen(want[i].name);
		CHECK((strcmp(want[i].type, "counter") == 0) == (strcmp(want[i].name + n - 6, "_total") == 0));
	}
	/* Syscalls only for the container that counts them. */
	_cleanup_free_ char *sc = xasprintf("\nocibpf_container_syscalls_total%s 99\n", l2);
	CHECK_STR_CONTAINS(t, sc);
	CHECK(!strstr(t, "ocibpf_container_syscalls_total{container_id=\"c1\""));
	/* Every line is a comment or a sample, and the text ends with a newline. */
	CHECK(t[strlen(t) - 1] == '\n');
	for (const char *l = t; *l; l = strchr(l, '\n') + 1)
		CHECK(strncmp(l, "# HELP ", 7) == 0 || strncmp(l, "# TYPE ", 7) == 0 ||
		      strncmp(l, "ocibpf_", 7) == 0);
}

TEST(metrics_no_containers)
{
	_cleanup_free_ char *t = render(NULL, 0);
	CHECK_STR_EQ(t, "# HELP ocibpf_containers Number of containers ocibpf monitors.\n"
			"# TYPE ocibpf_containers gauge\n"
			"ocibpf_containers 0\n");
}
