/* SPDX-License-Identifier: Apache-2.0 */
/* The cgroup2 mount from mountinfo, and a process's cgroup paths from /proc/PID/cgroup. */
#include <errno.h>

#include "cgroup.h"
#include "unit.h"

/* Debian 12 on a hybrid host (systemd's legacy layout), as read here. */
static const char *const hybrid_mountinfo =
	"22 28 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
	"25 22 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
	"26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
	"27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd\n"
	"31 25 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,memory\n";

/* Pure v2, with a second cgroup2 mount of a sub-tree (a container's view) after it. */
static const char *const pure_mountinfo =
	"30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
	"99 30 0:26 /system.slice /mnt/sub rw,relatime - cgroup2 cgroup2 rw\n";

TEST(mountinfo_hybrid)
{
	_cleanup_free_ char *m = NULL;
	CHECK_INT_EQ(cgroup2_mount_from_mountinfo(hybrid_mountinfo, &m), 0);
	CHECK_STR_EQ(m, "/sys/fs/cgroup/unified");
}

TEST(mountinfo_pure_v2_takes_the_root_mount)
{
	_cleanup_free_ char *m = NULL;
	CHECK_INT_EQ(cgroup2_mount_from_mountinfo(pure_mountinfo, &m), 0);
	CHECK_STR_EQ(m, "/sys/fs/cgroup");
}

TEST(mountinfo_sub_tree_mount_alone_is_not_the_hierarchy)
{
	_cleanup_free_ char *m = NULL;
	CHECK_INT_EQ(cgroup2_mount_from_mountinfo(
		"99 30 0:26 /system.slice /mnt/sub rw,relatime - cgroup2 cgroup2 rw\n", &m), -ENOENT);
}

TEST(mountinfo_optional_fields_and_escapes)
{
	_cleanup_free_ char *m = NULL;
	/* Several optional fields before "-", and a space in the mount point (\040). */
	CHECK_INT_EQ(cgroup2_mount_from_mountinfo(
		"40 1 0:50 / /run/my\\040cgroup rw shared:1 master:2 propagate_from:3 - cgroup2 none rw\n", &m), 0);
	CHECK_STR_EQ(m, "/run/my cgroup");
}

TEST(mountinfo_without_cgroup2)
{
	_cleanup_free_ char *m = NULL;
	CHECK_INT_EQ(cgroup2_mount_from_mountinfo(
		"31 25 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", &m), -ENOENT);
	CHECK_INT_EQ(cgroup2_mount_from_mountinfo("", &m), -ENOENT);
	/* Garbage and truncated lines are skipped, not misread. */
	CHECK_INT_EQ(cgroup2_mount_from_mountinfo("x\n1 2 3\n1 2 3 / /a - \n", &m), -ENOENT);
	CHECK(m == NULL);
}

static const char *const proc_hybrid =
	"9:name=systemd:/\n"
	"8:pids:/ctr1\n"
	"4:memory:/process_api/ctr1\n"
	"2:cpu,cpuacct:/ctr1\n"
	"0::/ctr1\n";

TEST(proc_cgroup_v2_path)
{
	_cleanup_free_ char *p = NULL;
	CHECK_INT_EQ(cgroup2_path_from_proc(proc_hybrid, &p), 0);
	CHECK_STR_EQ(p, "/ctr1");
}

TEST(proc_cgroup_v1_paths)
{
	_cleanup_free_ char *mem = NULL, *cpu = NULL, *acct = NULL, *none = NULL;
	CHECK_INT_EQ(cgroup1_path_from_proc(proc_hybrid, "memory", &mem), 0);
	CHECK_STR_EQ(mem, "/process_api/ctr1");
	/* A controller in a co-mounted list. */
	CHECK_INT_EQ(cgroup1_path_from_proc(proc_hybrid, "cpuacct", &acct), 0);
	CHECK_STR_EQ(acct, "/ctr1");
	CHECK_INT_EQ(cgroup1_path_from_proc(proc_hybrid, "cpu", &cpu), 0);
	CHECK_INT_EQ(cgroup1_path_from_proc(proc_hybrid, "blkio", &none), -ENOENT);
}

TEST(proc_cgroup_path_with_colons)
{
	_cleanup_free_ char *p = NULL;
	CHECK_INT_EQ(cgroup2_path_from_proc("0::/a:b/c\n", &p), 0);
	CHECK_STR_EQ(p, "/a:b/c");
}

TEST(proc_cgroup_missing_or_bad)
{
	_cleanup_free_ char *p = NULL;
	/* v1 only */
	CHECK_INT_EQ(cgroup2_path_from_proc("4:memory:/x\n", &p), -ENOENT);
	/* "0:" with controllers is not the v2 line */
	CHECK_INT_EQ(cgroup2_path_from_proc("0:memory:/x\n", &p), -ENOENT);
	/* not absolute */
	CHECK_INT_EQ(cgroup2_path_from_proc("0::x\n", &p), -EINVAL);
	CHECK_INT_EQ(cgroup2_path_from_proc("", &p), -ENOENT);
	CHECK(p == NULL);
}

TEST(cgroup_of_this_process)
{
	/* The real thing: this test runs somewhere in a cgroup2 hierarchy. */
	struct cgroup_ref cg = { 0 };
	struct error err = { 0 };
	int r = cgroup_of_pid(getpid(), &cg, &err);
	if (r < 0)
		printf("# %s\n", err.msg);
	CHECK_INT_EQ(r, 0);
	CHECK(cg.path && cg.path[0] == '/');
	CHECK(cg.id > 0);
	cgroup_ref_done(&cg);
	err_clear(&err);
	CHECK(cgroup_of_pid(0x7ffffff0, &cg, &err) < 0);
	CHECK_STR_CONTAINS(err.msg, "/proc/2147483632/cgroup");
	err_clear(&err);
}

TEST(mountinfo_v1_controllers)
{
	/* Co-mounted cpu,cpuacct, a hierarchy mounted elsewhere, a named one; v2 is not v1. */
	static const char mi[] =
		"26 25 0:23 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n"
		"27 25 0:24 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
		"30 25 0:27 /sub /mnt/cpu-sub rw - cgroup cgroup rw,cpu,cpuacct\n"
		"31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw shared:14 - cgroup cgroup rw,cpu,cpuacct\n"
		"32 25 0:28 / /srv/mem\\040cg rw - cgroup cgroup rw,memory\n";
	_cleanup_free_ char *cpu = NULL, *cpuacct = NULL, *mem = NULL, *pids = NULL;
	CHECK_INT_EQ(cgroup1_mount_from_mountinfo(mi, "cpu", &cpu), 0);
	CHECK_STR_EQ(cpu, "/sys/fs/cgroup/cpu,cpuacct");
	CHECK_INT_EQ(cgroup1_mount_from_mountinfo(mi, "cpuacct", &cpuacct), 0);
	CHECK_STR_EQ(cpuacct, "/sys/fs/cgroup/cpu,cpuacct");
	CHECK_INT_EQ(cgroup1_mount_from_mountinfo(mi, "memory", &mem), 0);
	CHECK_STR_EQ(mem, "/srv/mem cg");
	CHECK_INT_EQ(cgroup1_mount_from_mountinfo(mi, "pids", &pids), -ENOENT);
	CHECK_INT_EQ(cgroup1_mount_from_mountinfo(mi, "nsdelegate", &pids), -ENOENT);
	CHECK(pids == NULL);
}
