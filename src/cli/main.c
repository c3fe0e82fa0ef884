/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "cli.h"

static int cmd_help(struct cli *cli, int argc, char **argv);

#define ID_HELP "  ID: a container's id, its name (from the engine's annotations), or a unique id prefix.\n"

/* usage NULL: the command prints its own on --help. */
static const struct cli_cmd commands[] = {
	{ "ps", cmd_ps, "list the monitored containers", NULL },
	{ "stats", cmd_stats, "per-container resource and network counters", NULL },
	{ "metrics", cmd_metrics, "Prometheus text exposition of every monitored container", NULL },
	{ "audit", cmd_audit, "review a container's audit log",
	  "usage: ocibpf audit [--json] [--follow] [--setup] [--type TYPE] [--syscall NAME] [--since TIME] ID\n"
	  "       ocibpf audit --all [--json] [--follow] [--setup] [--type TYPE] [--syscall NAME] [--since TIME]\n"
	  "  A container's audit log as a table (--json: the records as they are): its rotated\n"
	  "  generations (.gz too), oldest first, then the live file, as one log.\n"
	  ID_HELP
	  "  --all          every container's records, one line an event, merged by time\n"
	  "                 (with --follow: from now on, and containers that start later)\n"
	  "  --follow       wait for new records until the container stops (across rotations)\n"
	  "  --setup        also the runtime's setup records (--all with an ID: the same)\n"
	  "  --type TYPE    start, exec, syscall, net, lost or stop records only\n"
	  "  --syscall NAME syscall records of that syscall only\n"
	  "  --since TIME   records from TIME on: RFC 3339, or 30s, 10m, 2h, 1d ago\n" },
	{ "policy", cmd_policy, "policy check FILE: validate a policy file",
	  "usage: ocibpf policy check [--json] FILE\n"
	  "  Exit 0 when FILE is a valid policy; 1 with the reason when not.\n" },
	{ "seccomp", cmd_seccomp, "an OCI seccomp profile from the syscalls a container made",
	  "usage: ocibpf seccomp ID\n"
	  "  An OCI seccomp profile allowing exactly the syscalls the container was seen to make\n"
	  "  (needs syscall counting in its policy; works after the container is gone).\n"
	  ID_HELP },
	{ "load", cmd_load, "load and pin the BPF programs now (no container start pays for it)",
	  "usage: ocibpf load [--json] [--no-collector]\n"
	  "  Load and pin the BPF programs of this configuration, so that no container start\n"
	  "  loads them (idempotent: nothing is loaded when they are pinned already), and\n"
	  "  start the collector unless one runs (--no-collector: not; it stays while the\n"
	  "  programs are pinned, see ocibpfd(8)).\n" },
	{ "gc", cmd_gc, "remove what is left of containers that are gone",
	  "usage: ocibpf gc [--json] [--unload]\n"
	  "  Remove the state, pins and links of containers that no longer exist, and the\n"
	  "  logs of gone ones that log_retention (host configuration) lets go.\n"
	  "  --unload  also unload BPF sets no container uses\n" },
	{ "install", cmd_install, "configure podman, crio, containerd or docker to use ocibpf", NULL },
	{ "version", cmd_version, "print the version",
	  "usage: ocibpf version [--json]\n" },
	{ "help", cmd_help, "this help", "usage: ocibpf help [COMMAND]\n" },
};

/* --help or -h among a command's arguments. */
static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

static int cmd_help(struct cli *cli, int argc, char **argv)
{
	if (argc == 2) {
		for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
			if (strcmp(argv[1], commands[i].name) != 0)
				continue;
			if (commands[i].usage) {
				fputs(commands[i].usage, stdout);
				return 0;
			}
			char *help_argv[] = { argv[1], "--help", NULL };
			return commands[i].run(cli, 2, help_argv);
		}
		fprintf(stderr, "ocibpf: help: unknown command \"%s\"\n", argv[1]);
		return 2;
	}
	if (argc > 2)
		return 2;
	printf("usage: ocibpf [--config FILE] [--json] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].summary);
	printf("\nEvery command reads the host configuration from --config, $OCIBPF_CONFIG or %s.\n"
	       "An ID is a container's id, its name (from the engine's annotations), or a unique\n"
	       "id prefix. ocibpf help COMMAND, or ocibpf COMMAND --help, for its usage.\n",
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
			if (commands[c].usage && wants_help(n, argv + i)) {
				fputs(commands[c].usage, stdout);
				return 0;
			}
			return commands[c].run(&cli, n, argv + i);
		}
	}
	fprintf(stderr, "ocibpf: unknown command \"%s\" (see ocibpf help)\n", argv[i]);
	return 2;
}
