/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "bpfset.h"
#include "cli.h"
#include "container.h"
#include "stats.h"

static void print_row(const char *id, const struct stats *s)
{
	printf("%-24s %10.2fs %10.1fMiB %6llu %12llu %12llu %8llu %8llu %6llu\n", id,
	       s->cpu_ns / 1e9, s->memory_bytes / 1048576.0, (unsigned long long)s->pids,
	       (unsigned long long)s->k.rx_bytes, (unsigned long long)s->k.tx_bytes,
	       (unsigned long long)s->k.egress_denied, (unsigned long long)s->k.ingress_denied,
	       (unsigned long long)s->k.execs);
}

int cmd_stats(struct cli *cli, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-') {
			fprintf(stderr, "usage: ocibpf stats [--json] [ID...]\n");
			return 2;
		}
	}
	_cleanup_config_ struct config *cfg = cli_config(cli);
	if (!cfg)
		return 1;
	char **all = argc > 1 ? NULL : container_list(cfg->state_dir);
	char **ids = all ? all : argv + 1;
	int ret = 0;
	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	if (cli->json)
		yajl_gen_array_open(g);
	else
		printf("%-24s %11s %13s %6s %12s %12s %8s %8s %6s\n", "ID", "CPU", "MEM", "PIDS",
		       "NET RX", "NET TX", "EG-DENY", "IN-DENY", "EXECS");
	for (char **id = ids; *id; id++) {
		struct error err = { 0 };
		_cleanup_container_ struct container *c = NULL;
		if (container_read(cfg->state_dir, *id, &c, &err) < 0) {
			log_error(*id, "not monitored: %s", err.msg);
			err_clear(&err);
			ret = 1;
			continue;
		}
		_cleanup_bpfset_ struct bpfset *set = NULL;
		bpfset_open(cfg->bpffs_dir, c->set, false, &set, NULL);
		struct stats s;
		stats_collect(c, set, &s);
		if (cli->json)
			stats_gen(g, c->id, &s);
		else
			print_row(c->id, &s);
	}
	if (cli->json) {
		yajl_gen_array_close(g);
		cli_print_json(g);
	}
	strv_free(all);
	return ret;
}
