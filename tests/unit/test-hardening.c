/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Issue 7's fixes, unit by unit: the config.json capability check (containers that could
 * detach their programs), state_dir reads that don't follow symlinks, and cgroup2
 * missing from mountinfo.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "state.h"
#include "unit.h"

static int powers(const char *json, struct oci_powers *ret)
{
	struct error err = { 0 };
	*ret = (struct oci_powers){ 0 };
	int r = oci_config_powers(json, strlen(json), "config.json", ret, &err);
	err_clear(&err);
	return r;
}

static int cap(const char *json, bool *ret)
{
	struct oci_powers p;
	int r = powers(json, &p);
	*ret = p.host_sys_admin;
	return r;
}

static int net_cap(const char *json, bool *ret)
{
	struct oci_powers p;
	int r = powers(json, &p);
	*ret = p.net_admin;
	return r;
}

TEST(host_capability)
{
	bool admin;
	CHECK_INT_EQ(cap("{}", &admin), 0);
	CHECK(!admin);
	CHECK_INT_EQ(cap("{\"process\":{\"capabilities\":{\"bounding\":[\"CAP_KILL\"]}}}", &admin), 0);
	CHECK(!admin);
	/* any set counts: root regains the bounding set on exec */
	CHECK_INT_EQ(cap("{\"process\":{\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_SYS_ADMIN\"]}}}", &admin), 0);
	CHECK(admin);
	CHECK_INT_EQ(cap("{\"process\":{\"capabilities\":{\"ambient\":[\"CAP_SYS_ADMIN\"]}}}", &admin), 0);
	CHECK(admin);
	/* a user namespace of its own: its capabilities are not the host's */
	CHECK_INT_EQ(cap("{\"process\":{\"capabilities\":{\"effective\":[\"CAP_SYS_ADMIN\"]}},"
			 "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"user\"}]}}", &admin), 0);
	CHECK(!admin);
	CHECK_INT_EQ(cap("{\"process\":{\"capabilities\":{\"effective\":[\"CAP_SYS_ADMIN\"]}},"
			 "\"linux\":{\"namespaces\":[{\"type\":\"pid\"}]}}", &admin), 0);
	CHECK(admin);
	/* as crun (libcap) reads it: any case, a number, a name followed by anything */
	static const char *const spelled[] = { "cap_sys_admin", "Cap_Sys_Admin", "21", "0x15",
					       "025", "CAP_SYS_ADMIN ", "cap_sys_admin,cap_chown" };
	for (size_t i = 0; i < ARRAY_SIZE(spelled); i++) {
		_cleanup_free_ char *j = xasprintf("{\"process\":{\"capabilities\":{\"bounding\":[\"%s\"]}}}",
						   spelled[i]);
		CHECK_INT_EQ(cap(j, &admin), 0);
		CHECK(admin);
	}
	static const char *const others[] = { "SYS_ADMIN", "sys_admin", "cap_sys_admi", "cap_sys_adminx",
					      " cap_sys_admin", "12", "64", "99999999999999999999" };
	for (size_t i = 0; i < ARRAY_SIZE(others); i++) {
		_cleanup_free_ char *j = xasprintf("{\"process\":{\"capabilities\":{\"bounding\":[\"%s\"]}}}",
						   others[i]);
		CHECK_INT_EQ(cap(j, &admin), 0);
		CHECK(!admin);
	}
	/* odd shapes are no capability, bad JSON an error */
	CHECK_INT_EQ(cap("{\"process\":{\"capabilities\":{\"effective\":\"CAP_SYS_ADMIN\"}}}", &admin), 0);
	CHECK(!admin);
	CHECK_INT_EQ(cap("{\"process\":{\"capabilities\":[\"CAP_SYS_ADMIN\"]}}", &admin), 0);
	CHECK(!admin);
	CHECK_INT_EQ(cap("[]", &admin), -EINVAL);
	CHECK_INT_EQ(cap("{", &admin), -EINVAL);
}

TEST(net_admin)
{
	bool net;
	CHECK_INT_EQ(net_cap("{}", &net), 0);
	CHECK(!net);
	CHECK_INT_EQ(net_cap("{\"process\":{\"capabilities\":{\"bounding\":[\"CAP_NET_RAW\",\"CAP_SYS_ADMIN\"]}}}", &net), 0);
	CHECK(!net);
	/* any set counts, in the host's network namespace or one of its own */
	CHECK_INT_EQ(net_cap("{\"process\":{\"capabilities\":{\"bounding\":[\"CAP_NET_ADMIN\"]}}}", &net), 0);
	CHECK(net);
	CHECK_INT_EQ(net_cap("{\"process\":{\"capabilities\":{\"effective\":[\"CAP_NET_ADMIN\"]}},"
			     "\"linux\":{\"namespaces\":[{\"type\":\"network\"}]}}", &net), 0);
	CHECK(net);
	/* a user namespace of its own: over a network namespace with it (new or joined),
	 * not over the host's */
	CHECK_INT_EQ(net_cap("{\"process\":{\"capabilities\":{\"effective\":[\"CAP_NET_ADMIN\"]}},"
			     "\"linux\":{\"namespaces\":[{\"type\":\"user\"},{\"type\":\"network\"}]}}", &net), 0);
	CHECK(net);
	CHECK_INT_EQ(net_cap("{\"process\":{\"capabilities\":{\"effective\":[\"CAP_NET_ADMIN\"]}},"
			     "\"linux\":{\"namespaces\":[{\"type\":\"user\"},{\"type\":\"network\",\"path\":\"/run/netns/x\"}]}}", &net), 0);
	CHECK(net);
	CHECK_INT_EQ(net_cap("{\"process\":{\"capabilities\":{\"effective\":[\"CAP_NET_ADMIN\"]}},"
			     "\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}}", &net), 0);
	CHECK(!net);
	CHECK_INT_EQ(net_cap("{\"process\":{\"capabilities\":{\"effective\":\"CAP_NET_ADMIN\"}}}", &net), 0);
	CHECK(!net);
	CHECK_INT_EQ(net_cap("{\"process\":{\"capabilities\":{\"effective\":[\"cap_net_admin\"]}}}", &net), 0);
	CHECK(net);
	CHECK_INT_EQ(net_cap("{\"process\":{\"capabilities\":{\"effective\":[\"12\"]}}}", &net), 0);
	CHECK(net);
}

TEST(read_file_nofollow)
{
	char dir[] = "/tmp/ocibpf-unit-XXXXXX";
	if (!mkdtemp(dir))
		SKIP("mkdtemp failed");
	_cleanup_free_ char *file = path_join(dir, "f");
	_cleanup_free_ char *link = path_join(dir, "l");
	int fd = open(file, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, "42\n", 3) == 3);
	close(fd);
	CHECK(symlink(file, link) == 0);
	char *text = NULL;
	CHECK_INT_EQ(read_file_nofollow(file, 64, &text, NULL), 0);
	CHECK_STR_EQ(text, "42\n");
	free(text);
	text = NULL;
	CHECK_INT_EQ(read_file_nofollow(link, 64, &text, NULL), -ELOOP);
	CHECK(text == NULL);
	CHECK_INT_EQ(read_file_nofollow(dir, 64, &text, NULL), -EINVAL);
	/* read_file itself still follows (for /proc and configured paths) */
	CHECK_INT_EQ(read_file(link, 64, &text, NULL), 0);
	free(text);
	unlink(link);
	unlink(file);
	rmdir(dir);
}

TEST(no_cgroup2_in_mountinfo)
{
	static const char mi[] =
		"22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"
		"30 22 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755\n"
		"31 30 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
		"32 30 0:28 /sub /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
	char *mnt = NULL;
	/* a cgroup2 mount of a subtree only is no cgroup2 hierarchy */
	CHECK_INT_EQ(cgroup2_mount_from_mountinfo(mi, &mnt), -ENOENT);
	CHECK(mnt == NULL);
	CHECK_INT_EQ(cgroup2_mount_from_mountinfo("", &mnt), -ENOENT);
}
