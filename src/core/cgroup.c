/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "cgroup.h"

/* Decode mountinfo's octal escapes (\040 for space, ...) in place. */
static void unescape_octal(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/*
 * mountinfo line: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER
 * The mount point of the first filesystem of type fstype mounted from its root ("/") whose
 * super options hold `option` (NULL: any).
 */
static int mount_from_mountinfo(const char *mountinfo, const char *want_fstype,
				const char *option, char **ret)
{
	_cleanup_free_ char *copy = xstrdup(mountinfo);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *fields[5] = { 0 }, *p = line, *tok, *s2 = NULL;
		int n = 0;
		for (tok = strtok_r(p, " ", &s2); tok && n < 5; tok = strtok_r(NULL, " ", &s2))
			fields[n++] = tok;
		if (n < 5)
			continue;
		/* Skip optional fields up to the "-" separator. */
		while (tok && strcmp(tok, "-") != 0)
			tok = strtok_r(NULL, " ", &s2);
		if (!tok)
			continue;
		char *fstype = strtok_r(NULL, " ", &s2);
		if (!fstype || strcmp(fstype, want_fstype) != 0 || strcmp(fields[3], "/") != 0)
			continue;
		if (option) {
			(void)strtok_r(NULL, " ", &s2);   /* source */
			char *super = strtok_r(NULL, " ", &s2), *s3 = NULL;
			bool found = false;
			for (char *o = super ? strtok_r(super, ",", &s3) : NULL; o && !found;
			     o = strtok_r(NULL, ",", &s3))
				found = strcmp(o, option) == 0;
			if (!found)
				continue;
		}
		unescape_octal(fields[4]);
		*ret = xstrdup(fields[4]);
		return 0;
	}
	return -ENOENT;
}

int cgroup2_mount_from_mountinfo(const char *mountinfo, char **ret)
{
	return mount_from_mountinfo(mountinfo, "cgroup2", NULL, ret);
}

int cgroup1_mount_from_mountinfo(const char *mountinfo, const char *controller, char **ret)
{
	return mount_from_mountinfo(mountinfo, "cgroup", controller, ret);
}

static int cgroup_line(const char *proc_cgroup, const char *want_hier, const char *controller,
		       char **ret)
{
	_cleanup_free_ char *copy = xstrdup(proc_cgroup);
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* HIERARCHY-ID:CONTROLLER-LIST:PATH; the path may itself contain ':'. */
		char *c1 = strchr(line, ':');
		if (!c1)
			continue;
		char *c2 = strchr(c1 + 1, ':');
		if (!c2)
			continue;
		*c1 = *c2 = '\0';
		const char *hier = line, *ctrls = c1 + 1, *path = c2 + 1;
		if (want_hier) {
			if (strcmp(hier, want_hier) != 0 || *ctrls)
				continue;
		} else {
			bool found = false;
			_cleanup_free_ char *list = xstrdup(ctrls);
			char *s3 = NULL;
			for (char *c = strtok_r(list, ",", &s3); c && !found; c = strtok_r(NULL, ",", &s3))
				found = strcmp(c, controller) == 0;
			if (!found)
				continue;
		}
		if (path[0] != '/')
			return -EINVAL;
		*ret = xstrdup(path);
		return 0;
	}
	return -ENOENT;
}

int cgroup2_path_from_proc(const char *proc_cgroup, char **ret)
{
	return cgroup_line(proc_cgroup, "0", NULL, ret);
}

int cgroup1_path_from_proc(const char *proc_cgroup, const char *controller, char **ret)
{
	return cgroup_line(proc_cgroup, NULL, controller, ret);
}

/*
 * The usual places, a statfs and a stat each (as systemd looks): pure v2, then hybrid. The
 * root of a cgroup2 hierarchy is inode 1 (kernfs), so a bind mount of a sub-cgroup or a
 * cgroup namespace's view is not taken for it: those go through mountinfo.
 */
static const char *usual_cgroup2_mount(void)
{
	static const char *const places[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	for (size_t i = 0; i < ARRAY_SIZE(places); i++) {
		struct statfs sfs;
		struct stat st;
		if (statfs(places[i], &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC &&
		    stat(places[i], &st) == 0 && st.st_ino == 1)
			return places[i];
	}
	return NULL;
}

int cgroup2_mount(const char **ret, struct error *err)
{
	static char *cached;
	if (cached) {
		*ret = cached;
		return 0;
	}
	const char *usual = usual_cgroup2_mount();
	if (usual) {
		*ret = cached = xstrdup(usual);
		return 0;
	}
	_cleanup_free_ char *mi = NULL;
	int r = read_file("/proc/self/mountinfo", 16 << 20, &mi, NULL);
	if (r < 0)
		return err_errno(err, r, "cannot read /proc/self/mountinfo");
	char *mnt = NULL;
	r = cgroup2_mount_from_mountinfo(mi, &mnt);
	if (r < 0)
		return err_msg(err, r, "cgroup2 is not mounted (neither pure v2 nor hybrid mode)");
	struct statfs sfs;
	if (statfs(mnt, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		r = err_msg(err, -ENOENT, "%s is not a cgroup2 filesystem", mnt);
		free(mnt);
		return r;
	}
	*ret = cached = mnt;
	return 0;
}

int cgroup_of_pid(pid_t pid, struct cgroup_ref *ret, struct error *err)
{
	const char *mnt;
	int r = cgroup2_mount(&mnt, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *procpath = xasprintf("/proc/%d/cgroup", (int)pid);
	_cleanup_free_ char *text = NULL;
	r = read_file(procpath, 1 << 20, &text, NULL);
	if (r < 0)
		return err_errno(err, r, "cannot read %s", procpath);
	_cleanup_free_ char *path = NULL;
	r = cgroup2_path_from_proc(text, &path);
	if (r < 0)
		return err_msg(err, r, "process %d has no cgroup2 cgroup (no \"0::\" line in %s)",
			       (int)pid, procpath);
	if (strstr(path, "/../") || strstr(path, " (deleted)"))
		return err_msg(err, -EINVAL, "process %d: unusable cgroup path \"%s\"", (int)pid, path);
	_cleanup_free_ char *dir = path_join(mnt, path);
	struct stat st;
	if (stat(dir, &st) < 0)
		return err_errno(err, -errno, "cannot stat cgroup %s", dir);
	ret->path = TAKE_PTR(path);
	ret->dir = TAKE_PTR(dir);
	ret->id = st.st_ino;
	ret->proc = TAKE_PTR(text);
	return 0;
}

void cgroup_ref_done(struct cgroup_ref *c)
{
	free(c->path);
	free(c->dir);
	free(c->proc);
	c->path = c->dir = c->proc = NULL;
}

/* The v1 controllers ocibpf reads, found once (hybrid hosts; none on pure v2 ones). */
static const char *const v1_controllers[] = { "cpu", "cpuacct", "memory", "pids", "blkio" };
static char *v1_mounts[ARRAY_SIZE(v1_controllers)];
static pthread_once_t v1_once = PTHREAD_ONCE_INIT;

static void v1_find_mounts(void)
{
	_cleanup_free_ char *mi = NULL;
	if (read_file("/proc/self/mountinfo", 16 << 20, &mi, NULL) < 0)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(v1_controllers); i++)
		if (cgroup1_mount_from_mountinfo(mi, v1_controllers[i], &v1_mounts[i]) < 0)
			v1_mounts[i] = NULL;
}

const char *cgroup1_mount(const char *controller)
{
	pthread_once(&v1_once, v1_find_mounts);
	for (size_t i = 0; i < ARRAY_SIZE(v1_controllers); i++)
		if (strcmp(v1_controllers[i], controller) == 0)
			return v1_mounts[i];
	return NULL;
}

#ifndef FILEID_KERNFS
#define FILEID_KERNFS 0xfe
#endif

int cgroup_open_by_id(uint64_t cgid)
{
	const char *mnt;
	int r = cgroup2_mount(&mnt, NULL);
	if (r < 0)
		return r;
	_cleanup_close_ int root = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -errno;
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + sizeof(uint64_t)];
	} h = { .fh = { .handle_bytes = sizeof(uint64_t), .handle_type = FILEID_KERNFS } };
	memcpy(h.fh.f_handle, &cgid, sizeof(cgid));
	int fd = open_by_handle_at(root, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}
