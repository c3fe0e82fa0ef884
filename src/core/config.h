/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_CONFIG_H
#define OCIBPF_CONFIG_H

#include <stdbool.h>

#include "util.h"

#define OCIBPF_CONFIG_DEFAULT "/etc/ocibpf/config.json"

/* The host configuration (SPEC.md "Host configuration"). */
struct config {
	char *path;           /* file it came from (or the default path) */
	char *log_dir;
	char *state_dir;
	char *bpffs_dir;
	char *policy_dir;
	char *default_policy; /* NULL: containers naming none are left alone */
	bool fail_open;
	char *metrics_listen; /* ADDR:PORT where every collector serves /metrics; NULL: none */
};

/* Parse config JSON text (every key optional, unknown keys rejected, dirs absolute). */
int config_parse(const char *text, const char *path, struct config **ret, struct error *err);
/* The same for len bytes as read (a NUL in them, or a key given twice, is refused). */
int config_parse_text(const char *text, size_t len, const char *path, struct config **ret,
		      struct error *err);
/*
 * Load the configuration: path if given, else $OCIBPF_CONFIG, else the default.
 * A missing default file means all defaults; a missing named file is an error.
 */
int config_load(const char *path, struct config **ret, struct error *err);
void config_free(struct config *c);
static inline void config_freep(struct config **c) { config_free(*c); }
#define _cleanup_config_ _cleanup_(config_freep)

#endif
