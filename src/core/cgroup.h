/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_CGROUP_H
#define OCIBPF_CGROUP_H

#include <stdint.h>
#include <sys/types.h>

#include "util.h"

/*
 * Where the cgroup2 hierarchy is mounted, from /proc/self/mountinfo text: the mount
 * point of the first "cgroup2" filesystem whose root is "/" (pure v2: /sys/fs/cgroup,
 * hybrid: /sys/fs/cgroup/unified). Octal escapes (\040) are decoded. -ENOENT if none.
 */
int cgroup2_mount_from_mountinfo(const char *mountinfo, char **ret);
/*
 * Where the v1 hierarchy of controller ("memory", "cpu", ...) is mounted, from mountinfo
 * text: the mount point of the "cgroup" filesystem whose super options name it (so
 * co-mounted "cpu,cpuacct" and hierarchies mounted elsewhere are found). -ENOENT if none.
 */
int cgroup1_mount_from_mountinfo(const char *mountinfo, const char *controller, char **ret);
/* The same for this system, found once: "cpu", "cpuacct", "memory", "pids", "blkio"; NULL
 * when that controller has no v1 hierarchy. */
const char *cgroup1_mount(const char *controller);
/* The "0::" path from /proc/PID/cgroup text (e.g. "/user.slice/x"); -ENOENT if none. */
int cgroup2_path_from_proc(const char *proc_cgroup, char **ret);
/* The v1 path of a controller ("memory", "cpuacct", ...) from /proc/PID/cgroup text. */
int cgroup1_path_from_proc(const char *proc_cgroup, const char *controller, char **ret);

struct cgroup_ref {
	char *path;        /* relative to the cgroup2 mount, starting with '/' */
	char *dir;         /* absolute directory */
	uint64_t id;       /* cgroup id (inode number of the directory) */
	char *proc;        /* cgroup_of_pid: /proc/PID/cgroup as it was read (its v1 lines too) */
};

/* The cgroup2 cgroup of a process. */
int cgroup_of_pid(pid_t pid, struct cgroup_ref *ret, struct error *err);
/* The cgroup2 mount point of this system (cached). */
int cgroup2_mount(const char **ret, struct error *err);
void cgroup_ref_done(struct cgroup_ref *c);
/*
 * The cgroup2 directory of cgroup id cgid (a kernfs file handle, no walk), opened
 * O_DIRECTORY: -ESTALE or -ENOENT when the cgroup is gone, another negative errno when it
 * can't be told (no CAP_DAC_READ_SEARCH, no cgroup2).
 */
int cgroup_open_by_id(uint64_t cgid);

#endif
