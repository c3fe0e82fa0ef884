/* SPDX-License-Identifier: Apache-2.0 */
/* What every verb of `ocibpf` shares (main.c only dispatches). */
#include <dirent.h>
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "paths.h"

struct config *cli_config(struct cli *cli)
{
	struct config *cfg = NULL;
	struct error err = { 0 };
	if (config_load(cli->config_path, &cfg, &err) < 0) {
		log_error(NULL, "%s", err.msg);
		err_clear(&err);
		return NULL;
	}
	return cfg;
}

/* 0 when dir can be listed or does not exist (nothing made there yet); else the error. */
static int dir_readable(const char *dir, const char *what)
{
	DIR *d = opendir(dir);
	if (d) {
		closedir(d);
		return 0;
	}
	if (errno == ENOENT)
		return 0;
	int r = -errno;
	log_error(NULL, "cannot read %s in %s: %s%s", what, dir, strerror(-r),
		  r == -EACCES ? " (they are root's: run as root)" : "");
	return r;
}

int cli_records_readable(const struct config *cfg)
{
	_cleanup_free_ char *dir = path_records_dir(cfg->state_dir);
	return dir_readable(dir, "the monitored containers");
}

int cli_logs_readable(const struct config *cfg)
{
	return dir_readable(cfg->log_dir, "the audit logs");
}

int cli_take_json(struct cli *cli, int argc, char **argv)
{
	int w = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && i > 0)
			cli->json = true;
		else
			argv[w++] = argv[i];
	}
	argv[w] = NULL;
	return w;
}

void cli_print_json(yajl_gen g)
{
	size_t len;
	_cleanup_free_ char *s = json_gen_take(g, &len);
	fwrite(s, 1, len, stdout);
	putchar('\n');
}
