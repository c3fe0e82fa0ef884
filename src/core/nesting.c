/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/bpf.h>

#include "bpfset.h"
#include "cgroup.h"
#include "container.h"
#include "nesting.h"
#include "paths.h"

/* A run whose cgroup is below path (a cgroup path, "/x/y"). */
static bool cgroup_below(const struct container *c, const void *path)
{
	size_t n = strlen(path);
	return c->cgroup && strncmp(c->cgroup, path, n) == 0 && c->cgroup[n] == '/';
}

/* Walked at most this many sub-cgroups deep or wide; past it, the records are read. */
#define AROUND_WALK_MAX 256

/*
 * The entry of a monitored container's cgroup below dir, or of one of its sub-cgroups
 * (its own cgroup's entry still there: one of a container that is gone is left to gc, as
 * the records of the others name none). 1 and *owner_cgid when one is found, 0 when none,
 * -E2BIG past AROUND_WALK_MAX directories.
 */
static int entered_below(const struct bpfset *set, const char *dir, int depth, size_t *seen,
			 uint64_t *owner_cgid)
{
	if (depth > 32)
		return -E2BIG;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (++*seen > AROUND_WALK_MAX) {
			r = -E2BIG;
			break;
		}
		_cleanup_free_ char *sub = path_join(dir, de->d_name);
		struct stat st;
		struct container_info info, own;
		uint64_t id;
		if (stat(sub, &st) == 0 && (id = st.st_ino) &&
		    bpf_map_lookup_elem(set->cgroups_fd, &id, &info) == 0 &&
		    bpf_map_lookup_elem(set->cgroups_fd, &info.container_cgid, &own) == 0) {
			*owner_cgid = info.container_cgid;
			r = 1;
		} else {
			r = entered_below(set, sub, depth + 1, seen, owner_cgid);
		}
	}
	closedir(d);
	return r;
}

static int refuse(struct error *err, const struct cgroup_ref *cg, const struct container *o,
		  const char *where)
{
	if (!o)
		return err_msg(err, -EBUSY,
			       "cgroup %s is %s a monitored container's cgroup, whose record is gone (a hook killed half-way?): `ocibpf gc` clears that",
			       cg->path, where);
	if (!container_alive(o))
		return err_msg(err, -EBUSY,
			       "cgroup %s is %s that of container %s, whose process is gone: delete it, or run `ocibpf gc`",
			       cg->path, where, o->id);
	return err_msg(err, -EBUSY,
		       "cgroup %s is %s that of monitored container %s: a container nested in a monitored one (or around it) would put processes of one under the other's policy",
		       cg->path, where, o->id);
}

int nesting_check(const char *state_dir, const struct bpfset *set, const struct cgroup_ref *cg,
		  struct error *err)
{
	const char *mnt;
	int r = cgroup2_mount(&mnt, err);
	if (r < 0)
		return r;
	size_t root = strlen(mnt);
	/* Inside: the cgroup's own entry (a sub-cgroup the tracker entered) or an ancestor's. */
	_cleanup_free_ char *dir = xstrdup(cg->dir);
	for (;;) {
		struct stat st;
		struct container_info info;
		uint64_t id;
		if (stat(dir, &st) == 0 && (id = st.st_ino) &&
		    bpf_map_lookup_elem(set->cgroups_fd, &id, &info) == 0 &&
		    !(id == cg->id && info.container_cgid == cg->id)) {
			_cleanup_container_ struct container *o = container_find_cgroup(state_dir, info.container_cgid);
			struct container_info own;
			if (!o && bpf_map_lookup_elem(set->cgroups_fd, &info.container_cgid, &own) < 0)
				/* A sub-cgroup the tracker entered for a container that is gone (its
				 * cgroup kept, `ocibpf gc` ran): the entry goes with the cgroup. */
				return err_msg(err, -EBUSY,
					       "cgroup %s was made inside a monitored container that is gone, and keeps its entry until it is removed: remove it (rmdir), or use another cgroup",
					       cg->path);
			return refuse(err, cg, o, "inside");
		}
		char *slash = strrchr(dir, '/');
		if (!slash || (size_t)(slash - dir) <= root)
			break;
		*slash = '\0';
	}
	/*
	 * Around: a monitored container's cgroup below it. Looked for in the cgroup map (every
	 * start pays for a walk of the cgroup's sub-cgroups, usually none or the one crun or
	 * systemd made for the init, not for reading every record); past AROUND_WALK_MAX
	 * sub-cgroups, in the records.
	 */
	size_t seen = 0;
	uint64_t owner_cgid = 0;
	r = entered_below(set, cg->dir, 0, &seen, &owner_cgid);
	if (r > 0) {
		_cleanup_container_ struct container *o = container_find_cgroup(state_dir, owner_cgid);
		return refuse(err, cg, o, "around");
	}
	if (r == -E2BIG) {
		_cleanup_container_ struct container *o = container_find(state_dir, cgroup_below, cg->path);
		if (o)
			return refuse(err, cg, o, "around");
	}
	return 0;
}
