/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_GC_H
#define OCIBPF_GC_H

/* What the parts of `ocibpf gc` share: cmd-gc.c (runs, pins, policies, sets), gc-logs.c
 * (log_retention), gc-report.c (what was done). */
#include "cli.h"

struct gc {
	struct cli *cli;
	const struct config *cfg;
	yajl_gen g;            /* JSON output: array of removed things */
	char **keep_sets;      /* sets live containers still use */
	size_t n_keep;
	char **keep_runs;      /* runs with a record: their link pins stay */
	uint64_t *keep_cgids;  /* their cgroups: claimed in the stats map */
	char **drained;        /* runs of gone containers drained before the sets lock */
	size_t n_drained;
	int failed;
};

/* One line (or JSON object) of what was done: done "removed" or "compressed". */
void gc_report(struct gc *gc, const char *done, const char *what, const char *name,
	       const char *why);
/* Stats map entries no record names (a hook killed half-way): gc-claims.c. */
void gc_claims(struct gc *gc);
/* log_retention: compress, then remove by age and size, the logs of gone containers. */
void gc_logs(struct gc *gc);

#endif
