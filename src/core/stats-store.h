/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_STATS_STORE_H
#define OCIBPF_STATS_STORE_H

/*
 * Persisted values: <state_dir>/stats/<id>.json, written atomically by the collector while
 * the cgroup lives (by poststop the runtime has usually removed it). A file left by an
 * earlier container of the same id (other cgroup id) reads as -ESTALE.
 */
struct container;
struct stats;

char *stats_path(const char *state_dir, const char *id);
int stats_save(const char *state_dir, const struct container *c, const struct stats *s);
int stats_load(const char *state_dir, const struct container *c, struct stats *ret);
int stats_remove(const char *state_dir, const char *id);

#endif
