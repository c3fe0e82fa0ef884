/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_BPFSET_H
#define OCIBPF_BPFSET_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/bpf.h>

#include "bpfset-progs.h"
#include "ocibpf.h"
#include "util.h"

struct cgroup_ref;

/*
 * The pinned set: every program and map of this build, loaded and verified once per
 * bpffs_dir and pinned under <bpffs_dir>/sets/<version>/{progs,maps,links}. Later hooks
 * open the pins (no program load on the warm path). Containers record the version of the
 * set they were attached from, so a newer build pins a new set beside an older one and
 * the older one stays usable until its last container is gone (`ocibpf gc`).
 */

struct bpfset {
	char *bpffs_dir;
	char *version;
	char *dir;                     /* <bpffs_dir>/sets/<version> */
	int prog_fd[P__COUNT];         /* -1 until opened (bpfset_open_progs); the first always is */
	uint32_t prog_id[P__COUNT];
	int cgroups_fd;                /* ocibpf_cgroups */
	int stats_fd;                  /* ocibpf_stats */
	int audit_sel_fd;              /* ocibpf_audit_sel, opened when first used (audit.c) */
};

/* The version of the programs built into this binary. */
const char *bpfset_current_version(void);

/*
 * Open the set of `version` (NULL: this build's) under bpffs_dir. With `load`, a missing
 * set is loaded and pinned (under a lock on bpffs_dir, so concurrent hooks load it once);
 * without it a missing set is -ENOENT. Refuses a bpffs_dir that is not on bpffs.
 */
int bpfset_open(const char *bpffs_dir, const char *version, bool load, struct bpfset **ret,
		struct error *err);
void bpfset_close(struct bpfset *s);
static inline void bpfset_closep(struct bpfset **s) { bpfset_close(*s); }
#define _cleanup_bpfset_ _cleanup_(bpfset_closep)

/*
 * A feature's part in loading a set (e.g. a map it fills once): called with the directory
 * of the set's pinned maps before the set is marked complete. Features register from a
 * constructor, so whatever binary loads a set runs the setups of the features it holds.
 */
typedef int (*bpfset_setup_fn)(const char *maps_dir);
void bpfset_register_setup(const char *what, bpfset_setup_fn fn);

/* Open the set's programs in want (bits of enum bpfset_prog; those open already stay). */
int bpfset_open_progs(struct bpfset *s, uint32_t want, struct error *err);

/* Is s still the set pinned under its version? (`gc --unload` then a load pins another.) */
bool bpfset_still_pinned(const struct bpfset *s);

/* Open one of the set's pinned maps by name (a new fd, or negative errno). */
int bpfset_map_fd(const struct bpfset *s, const char *name);

/* Open one of the set's pinned programs by name (a new fd, or negative errno). */
int bpfset_prog_fd(const struct bpfset *s, const char *name);

/*
 * Enter the container (claimed already: bpfset_claim) in the maps, attach its programs to its cgroup with bpf_link, pin
 * the links under <bpffs_dir>/containers/<run>/, and check with BPF_PROG_QUERY
 * (effective) that they are in force. On failure everything done is undone.
 */
int bpfset_attach(struct bpfset *s, const char *run, const struct cgroup_ref *cg, uint32_t flags,
		  struct error *err);
/*
 * Take the container's cgroup for one run: its (zeroed) entry in the stats map, made only
 * when there is none (BPF_NOEXIST, so two hooks can't both take it). -EEXIST: another
 * run has it; -E2BIG: the map is full (err says so). bpfset_forget gives it back.
 */
int bpfset_claim(struct bpfset *s, uint64_t cgid, struct error *err);
/* Unpin a run's links (so they go away) and remove its pin directory. */
int bpfset_unpin(const char *bpffs_dir, const char *run);
/* Remove the container's entries (its cgroup and sub-cgroups) from the set's own maps
 * (features forget theirs: see container_release). */
void bpfset_forget(struct bpfset *s, uint64_t container_cgid);
/*
 * Delete the entries of map fd (keys of key_size bytes) for which match() is true;
 * match may look the entry up through fd. Returns how many were deleted.
 */
size_t map_delete_if(int fd, size_t key_size, bool (*match)(int fd, const void *key, void *ud),
		     void *ud);
/*
 * Write n entries (keys[i] -> vals[i], BPF_ANY) in one BPF_MAP_UPDATE_BATCH, one by one
 * where the kernel has no batch for the map: a set's tables are filled at every load.
 */
int map_update_many(int fd, const void *keys, size_t key_size, const void *vals,
		    size_t val_size, uint32_t n);
/* Sum of the per-CPU counters of a container; -ENOENT when it has none. */
int bpfset_read_stats(struct bpfset *s, uint64_t container_cgid, struct container_stats *ret);

/* Names of the sets pinned under bpffs_dir (NULL-terminated, free with strv_free). */
char **bpfset_list(const char *bpffs_dir);
/* Remove a set's pins (its programs stay alive while links use them). */
int bpfset_remove(const char *bpffs_dir, const char *version);

/* Is path (or its nearest existing ancestor) on a bpf filesystem? */
bool on_bpffs(const char *path);

#endif
