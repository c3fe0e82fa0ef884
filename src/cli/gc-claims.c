/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ocibpf gc`: cgroups claimed in a set's stats map (bpfset_claim) that no container
 * record names. A hook killed between its claim and its record leaves one, and every
 * later start in that cgroup is refused ("being set up for another container"). gc holds
 * the sets lock exclusively, so no hook is between the two now: an entry no record names
 * is a leftover, and is removed, whether its cgroup is gone or still there (the start
 * that claimed it failed: its runtime took the container away).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "audit.h"
#include "bpfset.h"
#include "cgroup.h"
#include "gc.h"

static bool cgid_recorded(const struct gc *gc, uint64_t id)
{
	for (size_t i = 0; i < gc->n_keep; i++)
		if (gc->keep_cgids[i] == id)
			return true;
	return false;
}

/* The path of an open cgroup directory, for the report ("?" when it can't be told). */
static char *fd_path(int fd)
{
	_cleanup_free_ char *link = xasprintf("/proc/self/fd/%d", fd);
	for (size_t size = 256; size <= (1 << 16); size *= 2) {
		char *buf = xcalloc(1, size);
		ssize_t len = readlink(link, buf, size);
		if (len >= 0 && (size_t)len < size)
			return buf;
		free(buf);
		if (len < 0)
			break;
	}
	return xstrdup("?");
}

static void gc_claims_of(struct gc *gc, struct bpfset *set)
{
	size_t n = 0, cap = 16;
	_cleanup_free_ uint64_t *ids = xcalloc(cap, sizeof(*ids));
	uint64_t key, next;
	bool first = true;
	while (bpf_map_get_next_key(set->stats_fd, first ? NULL : &key, &next) == 0) {
		if (!cgid_recorded(gc, next)) {
			if (n == cap)
				ids = xrealloc(ids, (cap *= 2) * sizeof(*ids));
			ids[n++] = next;
		}
		key = next;
		first = false;
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *name = xasprintf("%" PRIu64, ids[i]);
		_cleanup_free_ char *why = NULL;
		int fd = cgroup_open_by_id(ids[i]);
		if (fd >= 0) {
			_cleanup_free_ char *path = fd_path(fd);
			close(fd);
			why = xasprintf("no container record names it (a start killed half-way); its cgroup %s is free again",
					path);
		} else {
			why = xstrdup("no container record names it (a start killed half-way) and its cgroup is gone");
		}
		bpfset_forget(set, ids[i]);
		audit_forget(set, ids[i], UINT32_MAX);
		gc_report(gc, "removed", "cgroup-claim", name, why);
	}
}

void gc_claims(struct gc *gc)
{
	char **sets = bpfset_list(gc->cfg->bpffs_dir);
	for (char **s = sets; *s; s++) {
		_cleanup_bpfset_ struct bpfset *set = NULL;
		if (bpfset_open(gc->cfg->bpffs_dir, *s, false, &set, NULL) == 0)
			gc_claims_of(gc, set);
	}
	strv_free(sets);
}
