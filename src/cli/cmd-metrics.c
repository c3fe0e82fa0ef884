/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "cli.h"
#include "metrics.h"

int cmd_metrics(struct cli *cli, int argc, char **argv)
{
	if (argc > 1) {
		bool help = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;
		fprintf(help ? stdout : stderr,
			"usage: ocibpf metrics\n"
			"  Prometheus text exposition (format 0.0.4) of every monitored container.\n");
		return help ? 0 : 2;
	}
	_cleanup_config_ struct config *cfg = cli_config(cli);
	if (!cfg || cli_records_readable(cfg) < 0)
		return 1;
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = metrics_text(cfg, &text, &len);
	if (r < 0) {
		log_error(NULL, "cannot generate metrics: %s", strerror(-r));
		return 1;
	}
	if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
		log_error(NULL, "cannot write metrics: %m");
		return 1;
	}
	return 0;
}
