/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Syscalls that do what an audited one does. A policy audits exactly the syscalls it
 * names: one that audits openat doesn't see a process open files with open, openat2 or
 * creat. `ocibpf policy check` says so, family by family, as auditd's rule writers learn
 * to list "-S open -S openat -S openat2 -S creat".
 */
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "auditgaps.h"

/* Each family: syscalls a process can use in one another's stead. NULL-separated. */
static const char *const families[] = {
	"open", "openat", "openat2", "creat", "open_by_handle_at", NULL,
	"read", "readv", "pread64", "preadv", "preadv2", NULL,
	"write", "writev", "pwrite64", "pwritev", "pwritev2", NULL,
	"sendto", "sendmsg", "sendmmsg", NULL,
	"recvfrom", "recvmsg", "recvmmsg", NULL,
	"accept", "accept4", NULL,
	"unlink", "unlinkat", "rmdir", NULL,
	"rename", "renameat", "renameat2", NULL,
	"mkdir", "mkdirat", NULL,
	"mknod", "mknodat", NULL,
	"link", "linkat", NULL,
	"symlink", "symlinkat", NULL,
	"chmod", "fchmod", "fchmodat", "fchmodat2", NULL,
	"chown", "fchown", "lchown", "fchownat", NULL,
	"truncate", "ftruncate", NULL,
	"stat", "lstat", "fstat", "newfstatat", "statx", NULL,
	"access", "faccessat", "faccessat2", NULL,
	"utime", "utimes", "futimesat", "utimensat", NULL,
	"setxattr", "lsetxattr", "fsetxattr", "setxattrat", NULL,
	"removexattr", "lremovexattr", "fremovexattr", "removexattrat", NULL,
	"chdir", "fchdir", NULL,
	"chroot", "pivot_root", NULL,
	"dup", "dup2", "dup3", NULL,
	"fork", "vfork", "clone", "clone3", NULL,
	"kill", "tkill", "tgkill", "pidfd_send_signal", "rt_sigqueueinfo", "rt_tgsigqueueinfo", NULL,
	"setuid", "setreuid", "setresuid", "setfsuid", NULL,
	"setgid", "setregid", "setresgid", "setfsgid", NULL,
	"mount", "fsopen", "fsconfig", "fsmount", "move_mount", "open_tree", "open_tree_attr",
	"mount_setattr", NULL,
	"ptrace", "process_vm_readv", "process_vm_writev", NULL,
	"init_module", "finit_module", NULL,
	"setns", "unshare", NULL,
	NULL,
};

static bool audited(const struct policy *p, int nr)
{
	for (size_t i = 0; i < p->n_audit_syscalls; i++)
		if (p->audit_syscalls[i] == nr)
			return true;
	return false;
}

/* "NAME is audited, but not A, B: ..." for the family at f, or NULL. */
static char *family_gap(const struct policy *p, const char *const *f)
{
	const char *first = NULL;
	_cleanup_free_ char *missing = NULL;
	for (; *f; f++) {
		int nr = seccomp_syscall_resolve_name(*f);
		if (nr < 0)
			continue;   /* not on this architecture (open on aarch64), or newer */
		if (audited(p, nr)) {
			if (!first)
				first = *f;
			continue;
		}
		char *m = missing ? xasprintf("%s, %s", missing, *f) : xstrdup(*f);
		free(missing);
		missing = m;
	}
	if (!first || !missing)
		return NULL;
	return xasprintf("%s is audited, but not %s: a process can use %s unaudited", first,
			 missing, strchr(missing, ',') ? "those" : "it");
}

char **audit_gaps(const struct policy *p)
{
	size_t n = 0;
	char **v = xcalloc(1, sizeof(*v));
	if (!p->audit || p->audit_all)
		return v;
	for (const char *const *f = families; *f; f++) {
		char *gap = family_gap(p, f);
		if (gap) {
			v = xrealloc(v, (n + 2) * sizeof(*v));
			v[n++] = gap;
			v[n] = NULL;
		}
		while (*f)
			f++;
	}
	return v;
}
