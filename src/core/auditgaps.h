/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_AUDITGAPS_H
#define OCIBPF_AUDITGAPS_H

#include "policy.h"

/*
 * For each family of syscalls that do one thing (open: open, openat, openat2, creat,
 * open_by_handle_at) of which the policy audits some but not all that this architecture
 * has: one sentence naming them. NULL-terminated (empty: no gap, or no syscall audited
 * by name); free with strv_free.
 */
char **audit_gaps(const struct policy *p);

#endif
