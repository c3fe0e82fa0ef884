/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_LOGGENS_H
#define OCIBPF_LOGGENS_H

#include <stdbool.h>
#include <sys/stat.h>

#include "paths.h"

/*
 * A container's audit log over time: the generations logrotate rotated out
 * (<id>.jsonl-<suffix>[.gz], paths.h) and the live file, read in order as one log
 * (`ocibpf audit`, `ocibpf seccomp`) and removed oldest first by `ocibpf gc`
 * (log_retention).
 *
 * Order: by the rotation suffix, never by the records (seq starts again at 1 in every
 * new live file, and ts follows the host clock): dateext suffixes by their numbers
 * (-%Y%m%d-%s: date, then seconds), numbered ones (.N, no dateext) before them, higher
 * N first; the live file last. A generation present both plain and .gz (logrotate is
 * compressing it) is the plain one: the .gz may be half-written.
 */
struct log_gen {
	char *name;         /* file name in log_dir */
	char *path;
	struct log_name n;
	struct stat st;     /* lstat: regular files only */
};

struct log_gens {
	struct log_gen *v;
	size_t n;
};

/* The generations of id in log_dir, oldest first, the live file (when there) last. */
void log_gens_list(const char *log_dir, const char *id, struct log_gens *ret);
void log_gens_free(struct log_gens *g);
/* The plain twin of a .gz generation in g (logrotate compressing it), or of a plain
 * one, the .gz twin: true when both are there. */
bool log_gen_has_twin(const struct log_gens *g, size_t i);

/*
 * Compress a rotated plain generation nobody writes any more into <name>.gz (gzip, its
 * mtime kept: retention counts from the last record), then remove the plain file. The
 * .gz appears whole or not at all (written aside, then linked in; never over a file).
 */
int log_gen_compress(const char *log_dir, const struct log_gen *g, struct error *err);

/* Every id with a log in log_dir (live or rotated), sorted. Free with strv_free. */
char **log_ids(const char *log_dir);
/* id has a log (live or rotated) in log_dir. */
bool log_exists(const char *log_dir, const char *id);

#endif
