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
	/* log_retention: what `ocibpf gc` keeps of the logs of containers that are gone
	 * (0: no limit, the default: everything is kept). */
	unsigned long long log_max_age_s;
	unsigned long long log_max_bytes;
	bool log_compress;    /* gc gzips their rotated generations left plain */
};

/* "30d", "12h", "90m", "3600s" (or a number of seconds) -> seconds; -EINVAL. */
int config_parse_age(const char *s, unsigned long long *ret);
/* "500M", "2G", "1024K", "4096" (bytes; K, M, G, T are powers of 1024) -> bytes. */
int config_parse_bytes(const char *s, unsigned long long *ret);

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
