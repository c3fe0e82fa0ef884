/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_METRICS_H
#define OCIBPF_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "stats.h"

struct container;

/*
 * Prometheus text exposition (format 0.0.4) of the monitored containers, as `ocibpf
 * metrics` prints it and `ocibpfd --metrics-listen` serves it at /metrics: cAdvisor's
 * names prefixed with ocibpf_, labels container_id and policy, HELP and TYPE for every
 * family, counters ending in _total.
 */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_row {
	const struct container *c;
	struct stats s;
};

/* The exposition of these rows. */
void metrics_write(FILE *f, const struct metrics_row *rows, size_t n);
/* Collect every container recorded in cfg's state_dir; the text is malloc'ed. */
int metrics_text(const struct config *cfg, char **ret, size_t *ret_len);
/*
 * The collector's health as it last saved it (<state_dir>/ocibpfd.health), which
 * metrics_text adds while that collector runs: records written and lost since it started.
 */
char *metrics_health_path(const struct config *cfg);
int metrics_health_save(const struct config *cfg, uint64_t written, uint64_t lost);
/* A label value with \ " and newline escaped, as the text format wants. */
void metrics_escape_label(FILE *f, const char *s);

#endif
