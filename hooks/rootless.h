/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_HOOKS_ROOTLESS_H
#define OCIBPF_HOOKS_ROOTLESS_H

#include <stdbool.h>

/*
 * Is this hook run for a rootless container? Rootless engines (Podman as a user, rootless
 * runc/crun) run hooks as a non-root user, or as root of a user namespace that maps only
 * the user's ids. Neither can load BPF programs or attach them to cgroups: that needs
 * CAP_BPF and CAP_SYS_ADMIN in the host's user namespace. Returns true with *ret_why
 * (malloc'ed) saying what was seen.
 */
bool hook_is_rootless(char **ret_why);

#endif
