/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocibpf ps [--json] [--no-trunc] [ID...]: the monitored containers, as `docker ps`
 * shows them: a 12-character id (whole with --no-trunc), the engine's name where its
 * annotations give one, columns as wide as their widest cell. IDs (id, name or unique
 * prefix) pick containers.
 */
#include <getopt.h>
#include <string.h>

#include "audit-view.h"
#include "bpfset.h"
#include "cli.h"
#include "container.h"
#include "resolve.h"

#define SHORT_ID 12

enum { PS_ID, PS_NAME, PS_POLICY, PS_PID, PS_STARTED, PS_CGROUP, PS__COUNT };
static const char *const headers[PS__COUNT] = {
	"CONTAINER ID", "NAME", "POLICY", "PID", "STARTED", "CGROUP",
};

static int usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: ocibpf ps [--json] [--no-trunc] [ID...]\n"
		"  The monitored containers (those named by ID: an id, a name, or a unique id prefix).\n"
		"  --no-trunc  whole ids (12 characters by default, as docker ps)\n"
		"  --json      id, name, policy, pid, cgroup, started, alive as a JSON array\n");
	return status;
}

static void gen_json(yajl_gen g, const struct container *c, const char *ts)
{
	yajl_gen_map_open(g);
	jg_key_str(g, "id", c->id);
	jg_key_str(g, "name", c->name);
	jg_key_str(g, "policy", c->policy);
	jg_key_int(g, "pid", c->pid);
	jg_key_str(g, "cgroup", c->cgroup);
	jg_key_str(g, "started", ts);
	jg_key_bool(g, "alive", container_running(c));
	yajl_gen_map_close(g);
}

int cmd_ps(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-trunc", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool no_trunc = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			no_trunc = true;
			break;
		case 'h':
			return usage(0);
		default:
			fprintf(stderr, "ocibpf: ps: unknown option %s\n", argv[optind - 1]);
			return usage(2);
		}
	}
	_cleanup_config_ struct config *cfg = cli_config(cli);
	if (!cfg || cli_records_readable(cfg) < 0)
		return 1;
	char **ids;
	if (optind < argc) {
		ids = xcalloc(argc - optind + 1, sizeof(char *));
		for (int i = optind, n = 0; i < argc; i++, n++)
			if (resolve_id_or_report(cfg, argv[i], RESOLVE_MONITORED, &ids[n]) < 0) {
				strv_free(ids);
				return 1;
			}
	} else {
		ids = container_list(cfg->state_dir);
	}

	size_t n = 0;
	for (char **id = ids; *id; id++)
		n++;
	char *(*cells)[PS__COUNT] = xcalloc(n + 1, sizeof(*cells));
	int width[PS__COUNT];
	for (int k = 0; k < PS__COUNT; k++) {
		cells[0][k] = xstrdup(headers[k]);
		width[k] = (int)strlen(headers[k]);
	}
	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	if (cli->json)
		yajl_gen_array_open(g);
	size_t rows = 1;
	for (char **id = ids; *id; id++) {
		_cleanup_container_ struct container *ct = NULL;
		if (container_read(cfg->state_dir, *id, &ct, NULL) < 0)
			continue;   /* removed under us */
		char ts[32];
		format_rfc3339(ct->started_ns, ts);
		if (cli->json) {
			gen_json(g, ct, ts);
			continue;
		}
		ts[19] = '\0';   /* seconds are enough for people */
		ts[10] = ' ';
		char **row = cells[rows++];
		row[PS_ID] = no_trunc ? xstrdup(ct->id) : strndup(ct->id, SHORT_ID);
		if (!row[PS_ID])
			abort();
		row[PS_NAME] = resolve_printable(ct->name ? ct->name : "-");
		row[PS_POLICY] = xstrdup(ct->policy ? ct->policy : "-");
		row[PS_PID] = xasprintf("%d", (int)ct->pid);
		row[PS_STARTED] = xstrdup(ts);
		/* The runtime's cgroupsPath, which the container's creator chooses: escaped
		 * as the audit table escapes it (ESC, CR: no repainted or forged row). */
		_cleanup_free_ char *cg = audit_esc(ct->cgroup ? ct->cgroup : "",
						    ct->cgroup ? strlen(ct->cgroup) : 0);
		row[PS_CGROUP] = xasprintf("%s%s", cg, container_running(ct) ? "" : " (gone)");
		for (int k = 0; k < PS__COUNT; k++)
			if ((int)strlen(row[k]) > width[k])
				width[k] = (int)strlen(row[k]);
	}
	if (cli->json) {
		yajl_gen_array_close(g);
		cli_print_json(g);
	} else {
		for (size_t i = 0; i < rows; i++)
			for (int k = 0; k < PS__COUNT; k++) {
				if (k + 1 < PS__COUNT)
					printf("%-*s   ", width[k], cells[i][k]);
				else
					printf("%s\n", cells[i][k]);
			}
	}
	for (size_t i = 0; i <= n; i++)
		for (int k = 0; k < PS__COUNT; k++)
			free(cells[i][k]);
	free(cells);
	strv_free(ids);
	return 0;
}
