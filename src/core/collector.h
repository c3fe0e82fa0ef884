/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_COLLECTOR_H
#define OCIBPF_COLLECTOR_H

#include <stdbool.h>

#include "config.h"

/* The collector (ocibpfd): one per state_dir, found through <state_dir>/ocibpfd.lock. */

/* Path of the lock the running collector holds. */
char *collector_lock_path(const struct config *cfg);
/* Is a collector running for this state_dir? */
bool collector_running(const struct config *cfg);
/*
 * Start ocibpfd (the one installed beside the running binary) fully detached: new session,
 * stdio on /dev/null, no descriptor of ours, so the runtime never waits on it.
 */
int collector_spawn(const struct config *cfg, struct error *err);
/* Directory of the running executable (for finding our sibling binaries). */
char *self_dir(void);

#endif
