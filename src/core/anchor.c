/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "anchor.h"
#include "cgroup.h"
#include "paths.h"

/*
 * The anchor is named by bpffs_dir as the kernel resolves it: the same directory reached
 * through a symlink (a configuration spelled otherwise) must not make a second one that
 * `gc --unload` from the first spelling would leave behind.
 */
static char *anchor_cgroup(const char *mnt, const char *bpffs_dir)
{
	_cleanup_free_ char *real = realpath(bpffs_dir, NULL);
	return path_anchor_cgroup(mnt, real ? real : bpffs_dir);
}

int anchor_attach(const char *bpffs_dir, const char *set_dir, const int prog_fd[P__COUNT])
{
	const char *mnt;
	int r = cgroup2_mount(&mnt, NULL);
	if (r < 0)
		return r;
	_cleanup_free_ char *cg = anchor_cgroup(mnt, bpffs_dir);
	if (mkdir(cg, 0755) < 0 && errno != EEXIST)
		return -errno;
	_cleanup_close_ int cgfd = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0)
		return -errno;
	_cleanup_free_ char *dir = path_join(set_dir, "anchor");
	r = mkdir_p(dir, 0700);
	if (r < 0)
		return r;
	for (int i = 0; i < P__COUNT; i++) {
		_cleanup_free_ char *pin = path_set_entry(set_dir, "anchor", bpfset_prog_name(i));
		if (access(pin, F_OK) == 0)
			continue;
		int lfd = bpf_link_create(prog_fd[i], cgfd, bpfset_prog_attach_type(i), NULL);
		if (lfd < 0)
			return -errno;
		r = bpf_obj_pin(lfd, pin) < 0 ? -errno : 0;
		close(lfd);
		if (r < 0)
			return r;
	}
	return 0;
}

void anchor_remove(const char *bpffs_dir)
{
	const char *mnt;
	if (cgroup2_mount(&mnt, NULL) < 0)
		return;
	/* Its pins may be gone (removed by hand): the spelling given, too. */
	_cleanup_free_ char *cg = anchor_cgroup(mnt, bpffs_dir);
	_cleanup_free_ char *literal = path_anchor_cgroup(mnt, bpffs_dir);
	rmdir(cg);
	if (strcmp(cg, literal) != 0)
		rmdir(literal);
}
