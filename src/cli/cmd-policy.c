/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "auditgaps.h"
#include "cli.h"
#include "policy.h"

static int policy_check(struct cli *cli, const char *path)
{
	struct error err = { 0 };
	_cleanup_policy_ struct policy *p = NULL;
	if (policy_load_file(path, &p, &err) < 0) {
		log_error(NULL, "%s", err.msg);
		err_clear(&err);
		return 1;
	}
	char **gaps = audit_gaps(p);
	if (cli->json) {
		_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
		yajl_gen_map_open(g);
		jg_key_str(g, "file", path);
		jg_key_bool(g, "valid", true);
		jg_key_bool(g, "audit", p->audit);
		jg_key_bool(g, "network", p->network);
		jg_key_uint(g, "egress_rules", p->egress.n_rules);
		jg_key_uint(g, "ingress_rules", p->ingress.n_rules);
		jg_key_bool(g, "telemetry", p->telemetry);
		jg_key_bool(g, "syscall_counting", p->telemetry_syscalls);
		jg_key(g, "notes");
		yajl_gen_array_open(g);
		for (char **n = gaps; *n; n++)
			jg_str(g, *n);
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
		cli_print_json(g);
	} else {
		printf("%s: valid (audit: %s, network: %zu egress and %zu ingress rules, telemetry: %s)\n",
		       path, !p->audit ? "off" : p->audit_all ? "all syscalls" : "on",
		       p->egress.n_rules, p->ingress.n_rules,
		       !p->telemetry ? "off" : p->telemetry_syscalls ? "on, with syscalls" : "on");
		for (char **n = gaps; *n; n++)
			printf("  note: %s\n", *n);
	}
	strv_free(gaps);
	return 0;
}

int cmd_policy(struct cli *cli, int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return policy_check(cli, argv[2]);
	fprintf(stderr, "usage: ocibpf policy check FILE\n");
	return 2;
}
