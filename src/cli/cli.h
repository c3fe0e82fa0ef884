/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_CLI_H
#define OCIBPF_CLI_H

#include <stdbool.h>

#include "config.h"
#include "json.h"

/* Shared by every verb of `ocibpf`. */
struct cli {
	bool json;
	const char *config_path;   /* --config, else $OCIBPF_CONFIG, else the default */
};

struct cli_cmd {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);   /* argv[0] is the verb */
	const char *summary;
	const char *usage;   /* printed on --help; NULL: the command handles --help itself */
};

/* Load the configuration or print the error; NULL on failure. */
struct config *cli_config(struct cli *cli);
/* 0 when the monitored containers' records can be listed (or none was ever made);
 * else print why and return the negative errno: an unreadable state_dir is no empty
 * list. */
int cli_records_readable(const struct config *cfg);
/* The same for log_dir. */
int cli_logs_readable(const struct config *cfg);
/* Consume "--json" anywhere in argv (sets cli->json); returns the new argc. */
int cli_take_json(struct cli *cli, int argc, char **argv);
/* Print a generated JSON document with a newline. */
void cli_print_json(yajl_gen g);

int cmd_audit(struct cli *cli, int argc, char **argv);
int cmd_seccomp(struct cli *cli, int argc, char **argv);
int cmd_ps(struct cli *cli, int argc, char **argv);
int cmd_stats(struct cli *cli, int argc, char **argv);
int cmd_metrics(struct cli *cli, int argc, char **argv);
int cmd_gc(struct cli *cli, int argc, char **argv);
int cmd_load(struct cli *cli, int argc, char **argv);
int cmd_install(struct cli *cli, int argc, char **argv);
int cmd_policy(struct cli *cli, int argc, char **argv);
int cmd_version(struct cli *cli, int argc, char **argv);

#endif
