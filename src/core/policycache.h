/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_POLICYCACHE_H
#define OCIBPF_POLICYCACHE_H

#include <stdbool.h>
#include <sys/stat.h>

#include "netpolicy.h"
#include "util.h"

struct policy;

/*
 * The policy cache: per network policy, <state_dir>/policies/<name>.cache holds what a
 * hook needs of it besides its rules (its scalars, its network section's compiled summary
 * and digest), keyed by the policy file's identity (fstat: device, inode, size, mtime and
 * ctime in ns). A container whose policy file is unchanged and whose compiled entries are
 * still in the trie (kept, netshare.h) then starts without reading and compiling its
 * rules. A cache that is missing, stale or unreadable is never an error: the policy is
 * read in full.
 */

/* The policy file a hook opened, and whether the cache answered for it. */
struct policy_source {
	int fd;                         /* the file, opened and checked (policy_open) */
	struct stat st;                 /* its fstat: the cache's key */
	bool hit;                       /* the cache answered: the policy has no rules */
	struct netpolicy_summary net;   /* on a hit: its network section, compiled */
};
void policy_source_done(struct policy_source *src);

/*
 * Load policy <name> as policy_load does (every check of the file included), from the
 * cache when it holds the file as it is now (src->hit: *ret has no rules), else in full.
 */
int policycache_load(const char *state_dir, const char *policy_dir, const char *name,
		     struct policy **ret, struct policy_source *src, struct error *err);
/*
 * After a hit whose entries were not in the trie: the policy read in full from src's
 * file. -ESTALE when the file changed since into a policy other than p besides its rules
 * (the container would be held to parts of both).
 */
int policycache_load_rules(struct policy_source *src, const char *policy_dir,
			   const struct policy *p, struct policy **ret, struct error *err);
/* Keep p (read in full from src) and its network summary s; nothing when it can't. */
void policycache_store(const char *state_dir, const struct policy_source *src,
		       const struct policy *p, const struct netpolicy_summary *s);
/*
 * `ocibpf gc`: remove the caches whose policy file is gone or changed, or all of them
 * (all: `gc --unload`); removed() is told each policy name (the file name of a
 * temporary file a killed hook left).
 */
void policycache_gc(const char *state_dir, const char *policy_dir, bool all,
		    void (*removed)(const char *name, const char *why, void *ud), void *ud);

#endif
