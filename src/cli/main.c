/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "cli.h"

static int cmd_help(struct cli *cli, int argc, char **argv);

static const struct cli_cmd commands[] = {
	{ "ps", cmd_ps, "list the monitored containers" },
	{ "stats", cmd_stats, "per-container resource and network counters" },
	{ "metrics", cmd_metrics, "Prometheus text exposition of every monitored container" },
	{ "audit", cmd_audit, "review a container's audit log" },
	{ "policy", cmd_policy, "policy check FILE: validate a policy file" },
	{ "seccomp", cmd_seccomp, "an OCI seccomp profile from the syscalls a container made" },
	{ "load", cmd_load, "load and pin the BPF programs now (no container start pays for it)" },
	{ "gc", cmd_gc, "remove what is left of containers that are gone" },
	{ "install", cmd_install, "configure podman, crio, containerd or docker to use ocibpf" },
	{ "version", cmd_version, "print the version" },
	{ "help", cmd_help, "this help" },
};

static int cmd_help(struct cli *cli, int argc, char **argv)
{
	printf("usage: ocibpf [--config FILE] [--json] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].summary);
	printf("\nEvery command reads the host configuration from --config, $OCIBPF_CONFIG or %s.\n",
	       OCIBPF_CONFIG_DEFAULT);
	return 0;
}

int main(int argc, char **argv)
{
	program_name = "ocibpf";
	struct cli cli = { 0 };
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			cli.json = true;
		} else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			cli.config_path = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			cli.config_path = argv[i] + 9;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			return cmd_help(&cli, 0, NULL);
		} else if (strcmp(argv[i], "--version") == 0) {
			return cmd_version(&cli, 0, NULL);
		} else {
			fprintf(stderr, "ocibpf: unknown option %s (see ocibpf help)\n", argv[i]);
			return 2;
		}
	}
	if (i >= argc) {
		cmd_help(&cli, 0, NULL);
		return 2;
	}
	for (size_t c = 0; c < ARRAY_SIZE(commands); c++) {
		if (strcmp(argv[i], commands[c].name) == 0) {
			int n = cli_take_json(&cli, argc - i, argv + i);
			return commands[c].run(&cli, n, argv + i);
		}
	}
	fprintf(stderr, "ocibpf: unknown command \"%s\" (see ocibpf help)\n", argv[i]);
	return 2;
}
