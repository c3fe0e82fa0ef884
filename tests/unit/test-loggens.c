/* SPDX-License-Identifier: Apache-2.0 */
/* A log over time: the names of its generations, and their order. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loggens.h"
#include "unit.h"

static const char *id_of(const char *name)
{
	static char buf[300];
	struct log_name n;
	if (path_log_name_parse(name, &n) < 0)
		return "-";
	snprintf(buf, sizeof(buf), "%s%s%s%s", n.id, n.live ? " live" : "", n.gz ? " gz" : "",
		 n.numbered ? " numbered" : "");
	free(n.id);
	return buf;
}

TEST(log_names)
{
	CHECK_STR_EQ(id_of("abc.jsonl"), "abc live");
	CHECK_STR_EQ(id_of("abc.jsonl-20261130-1764500000"), "abc");
	CHECK_STR_EQ(id_of("abc.jsonl-20261130-1764500000.gz"), "abc gz");
	CHECK_STR_EQ(id_of("abc.jsonl-20261130"), "abc");
	CHECK_STR_EQ(id_of("abc.jsonl.3.gz"), "abc gz numbered");
	/* an id that holds ".jsonl": one meaning only */
	CHECK_STR_EQ(id_of("a.jsonl-1.jsonl"), "a.jsonl-1 live");
	CHECK_STR_EQ(id_of("a.jsonl-1.jsonl-2026-17"), "a.jsonl-1");
	CHECK_STR_EQ(id_of("a.jsonl-1"), "a");
	/* not logs */
	CHECK_STR_EQ(id_of("abc.jsonl.gz"), "-");
	CHECK_STR_EQ(id_of("abc.jsonl.bak"), "-");
	CHECK_STR_EQ(id_of("abc.jsonl-old"), "-");
	CHECK_STR_EQ(id_of("abc.jsonl-"), "-");
	CHECK_STR_EQ(id_of("abc.jsonl--1"), "-");
	CHECK_STR_EQ(id_of("abc.jsonl.1.2"), "-");
	CHECK_STR_EQ(id_of("abc.jsonl-1-2-3-4-5"), "-");
	CHECK_STR_EQ(id_of("abc.jsonl-12345678901234567890"), "-");
	CHECK_STR_EQ(id_of(".jsonl"), "-");
	CHECK_STR_EQ(id_of("-x.jsonl"), "-");
	CHECK_STR_EQ(id_of("notes.txt"), "-");
}

TEST(log_generation_order)
{
	char dir[] = "/tmp/ocibpf-unit-loggens-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	static const char *const names[] = {
		"c.jsonl", "c.jsonl-20261201-1764547200", "c.jsonl-20261130-1764500000.gz",
		"c.jsonl-20261130-1764460800.gz", "c.jsonl.2.gz", "c.jsonl.1",
		"c.jsonl-20261201-1764547200.gz", "other.jsonl-20261130-1764500000", NULL,
	};
	for (size_t i = 0; names[i]; i++) {
		_cleanup_free_ char *p = path_join(dir, names[i]);
		CHECK_INT_EQ(write_file_atomic(p, "", 0, 0640), 0);
	}
	struct log_gens g;
	log_gens_list(dir, "c", &g);
	CHECK_INT_EQ(g.n, 7);
	static const char *const want[] = {
		"c.jsonl.2.gz", "c.jsonl.1", "c.jsonl-20261130-1764460800.gz",
		"c.jsonl-20261130-1764500000.gz", "c.jsonl-20261201-1764547200",
		"c.jsonl-20261201-1764547200.gz", "c.jsonl",
	};
	for (size_t i = 0; i < g.n && i < 7; i++)
		CHECK_STR_EQ(g.v[i].name, want[i]);
	CHECK(log_gen_has_twin(&g, 4) && log_gen_has_twin(&g, 5));
	CHECK(!log_gen_has_twin(&g, 3) && !log_gen_has_twin(&g, 6));
	log_gens_free(&g);
	char **ids = log_ids(dir);
	CHECK(ids[0] && strcmp(ids[0], "c") == 0 && ids[1] && strcmp(ids[1], "other") == 0 && !ids[2]);
	strv_free(ids);
	rm_rf(dir);
}
