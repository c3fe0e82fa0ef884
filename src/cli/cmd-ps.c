/* SPDX-License-Identifier: Apache-2.0 */
#include "bpfset.h"
#include "cli.h"
#include "container.h"

int cmd_ps(struct cli *cli, int argc, char **argv)
{
	if (argc > 1) {
		fprintf(stderr, "usage: ocibpf ps [--json]\n");
		return 2;
	}
	_cleanup_config_ struct config *cfg = cli_config(cli);
	if (!cfg)
		return 1;
	char **ids = container_list(cfg->state_dir);
	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	if (cli->json)
		yajl_gen_array_open(g);
	else
		printf("%-24s %-16s %8s  %-20s %s\n", "ID", "POLICY", "PID", "STARTED", "CGROUP");
	for (char **id = ids; *id; id++) {
		_cleanup_container_ struct container *c = NULL;
		if (container_read(cfg->state_dir, *id, &c, NULL) < 0)
			continue;   /* removed under us */
		char ts[32];
		format_rfc3339(c->started_ns, ts);
		if (cli->json) {
			yajl_gen_map_open(g);
			jg_key_str(g, "id", c->id);
			jg_key_str(g, "policy", c->policy);
			jg_key_int(g, "pid", c->pid);
			jg_key_str(g, "cgroup", c->cgroup);
			jg_key_str(g, "started", ts);
			jg_key_bool(g, "alive", container_alive(c));
			yajl_gen_map_close(g);
		} else {
			ts[19] = '\0';   /* seconds are enough for people */
			printf("%-24s %-16s %8d  %-20s %s%s\n", c->id, c->policy ? c->policy : "-",
			       (int)c->pid, ts, c->cgroup, container_alive(c) ? "" : " (gone)");
		}
	}
	if (cli->json) {
		yajl_gen_array_close(g);
		cli_print_json(g);
	}
	strv_free(ids);
	return 0;
}
