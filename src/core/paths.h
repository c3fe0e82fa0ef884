/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_PATHS_H
#define OCIBPF_PATHS_H

#include "util.h"

/*
 * Every path ocibpf keeps under state_dir, log_dir and bpffs_dir is spelled here, and only
 * here. All return malloc'ed strings. Layout:
 *
 *   <state_dir>/containers/<id>.json   the record of the container's current run
 *   <state_dir>/locks/<id>.lock        held by whoever creates or releases a run of <id>
 *   <state_dir>/locks/<id>.refused     starts refused while a run of <id> is recorded
 *   <state_dir>/stats/<id>.json        last sampled counters (the collector's sampler)
 *   <state_dir>/lost/<id>              kernel loss already reported (the collector)
 *   <state_dir>/policies/<name>.cache  a network policy's compiled summary (policycache.h)
 *   <state_dir>/sets.lock              shared by hooks using a set, exclusive for unload
 *   <state_dir>/ocibpfd.{lock,pid,sock,log,idle}   the collector
 *   <log_dir>/<id>.jsonl               the audit log (the live file writers append to)
 *   <log_dir>/<id>.jsonl-<N>[-<N>...][.gz]   a generation logrotate rotated out (dateext,
 *                                      e.g. -%Y%m%d-%s), gzip-compressed or not
 *   <log_dir>/<id>.jsonl.<N>[.gz]      the same without dateext (higher N: older)
 *   <bpffs_dir>/sets/<version>/{progs,maps,links,complete}   a loaded BPF set
 *   <bpffs_dir>/containers/<run>/      the bpf_link pins of one run
 *
 * Container ids may hold characters bpffs refuses ('.'): pins are named by the run, a
 * random token of hex digits, never by the id.
 */

char *path_records_dir(const char *state_dir);
char *path_record(const char *state_dir, const char *id);
char *path_locks_dir(const char *state_dir);
char *path_record_lock(const char *state_dir, const char *id);
char *path_refused(const char *state_dir, const char *id);
char *path_stats_dir(const char *state_dir);
char *path_stats(const char *state_dir, const char *id);
char *path_lost_dir(const char *state_dir);
char *path_lost(const char *state_dir, const char *id);
char *path_sets_lock(const char *state_dir);
char *path_policy_caches(const char *state_dir);
char *path_policy_cache(const char *state_dir, const char *name);
/* name: "lock", "pid", "sock", "log" or "idle". */
/* What a stopped container's log still owes (pending.c). */
char *path_pending_dir(const char *state_dir);
char *path_pending(const char *state_dir, const char *id);
/* An entry of a pinned set: kind "progs", "maps", "links" or "netpolicy". */
char *path_set_entry(const char *set_dir, const char *kind, const char *name);
char *path_collector(const char *state_dir, const char *name);
/* The live audit log's name in log_dir (opened relative to log_dir), and its path. */
char *path_audit_log_name(const char *id);
char *path_audit_log(const char *log_dir, const char *id);

/* <log_dir>/.<name>.gz.tmp: a generation being compressed by `ocibpf gc` (no log's name);
 * <name> cut to fit NAME_MAX. */
char *path_log_compressing(const char *log_dir, const char *name);

/* A file name in log_dir, as path_log_name_parse reads it. */
struct log_name {
	char *id;
	bool live;          /* <id>.jsonl */
	bool gz;            /* a rotated generation ending in .gz */
	bool numbered;      /* <id>.jsonl.N (no dateext) */
	unsigned long long key[4];   /* the numbers of the rotation suffix, in order */
	size_t n_key;
};
/*
 * What a name in log_dir is: 0 and *ret (free ret->id) for the live log or a rotated
 * generation of a valid id; -EINVAL for any other name (unrelated files are left alone).
 * A name means one id only: ids may hold ".jsonl" but a suffix holds only digits, '-'
 * and '.'.
 */
int path_log_name_parse(const char *name, struct log_name *ret);
char *path_sets_dir(const char *bpffs_dir);
char *path_set(const char *bpffs_dir, const char *version);
char *path_links_dir(const char *bpffs_dir);
char *path_links(const char *bpffs_dir, const char *run);
/* The anchor cgroup of bpffs_dir's sets (see anchor.h), under the cgroup2 mount. */
char *path_anchor_cgroup(const char *cgroup2, const char *bpffs_dir);

/* Directory of the running executable (the other binaries are installed beside it). */
char *self_dir(void);

#endif
