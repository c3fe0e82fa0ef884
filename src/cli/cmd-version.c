/* SPDX-License-Identifier: Apache-2.0 */
#include <bpf/libbpf.h>

#include "bpfset.h"
#include "cli.h"

int cmd_version(struct cli *cli, int argc, char **argv)
{
	if (argc > 1) {
		fprintf(stderr, "usage: ocibpf version [--json]\n");
		return 2;
	}
	const char *libbpf = libbpf_version_string();
	if (cli->json) {
		_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
		yajl_gen_map_open(g);
		jg_key_str(g, "version", OCIBPF_VERSION);
		jg_key_str(g, "bpf_set", bpfset_current_version());
		jg_key_str(g, "libbpf", libbpf);
		yajl_gen_map_close(g);
		cli_print_json(g);
	} else {
		printf("ocibpf %s (BPF set %s, libbpf %s)\n", OCIBPF_VERSION, bpfset_current_version(),
		       libbpf);
	}
	return 0;
}
