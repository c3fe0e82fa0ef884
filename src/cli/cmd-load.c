/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocibpf load: load and pin the BPF set of this build under the configuration's
 * bpffs_dir, so that no container start pays for it. Idempotent: a set pinned already
 * is left as it is (nothing is loaded).
 */
#include <errno.h>

#include "bpfset.h"
#include "cli.h"

int cmd_load(struct cli *cli, int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: ocibpf load [--json]\n");
		return 2;
	}
	_cleanup_config_ struct config *cfg = cli_config(cli);
	if (!cfg)
		return 1;
	struct error err = { 0 };
	unsigned long long t0 = now_ns();
	bool loaded = false;
	_cleanup_bpfset_ struct bpfset *set = NULL;
	int r = bpfset_open(cfg->bpffs_dir, NULL, false, &set, NULL);
	if (r < 0) {
		/* Not pinned (or unusable: the loading path says why). */
		r = bpfset_open(cfg->bpffs_dir, NULL, true, &set, &err);
		loaded = r == 0;
	}
	if (r < 0) {
		log_error(NULL, "%s", err.msg);
		err_clear(&err);
		return 1;
	}
	double ms = (double)(now_ns() - t0) / 1e6;
	if (cli->json) {
		_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
		yajl_gen_map_open(g);
		jg_key_str(g, "bpf_set", set->version);
		jg_key_str(g, "dir", set->dir);
		jg_key_bool(g, "loaded", loaded);
		jg_key(g, "ms");
		yajl_gen_double(g, ms);
		yajl_gen_map_close(g);
		cli_print_json(g);
	} else if (loaded) {
		printf("loaded BPF set %s in %s (%.1f ms)\n", set->version, set->dir, ms);
	} else {
		printf("BPF set %s already loaded in %s\n", set->version, set->dir);
	}
	return 0;
}
