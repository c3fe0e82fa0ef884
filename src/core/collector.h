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
 * stdin and stdout on /dev/null, stderr appended to <state_dir>/ocibpfd.log, no descriptor
 * of ours, so the runtime never waits on it.
 */
int collector_spawn(const struct config *cfg, struct error *err);
/* Start the collector when none runs, without waiting for it (it finds the containers). */
void collector_ensure(const struct config *cfg);
/* Path of the collector's control socket. */
char *collector_socket_path(const struct config *cfg);
/*
 * Start the collector if it isn't running (waiting for its word that it listens, not
 * polling) and connect to it (each bounded by timeout_ms); with a request, ask it on
 * that connection and wait for the answer: a request of control-proto.h. The answer
 * "ok" is 0; "error MSG" is -EIO with MSG in err.
 * A collector that exits as it is asked is replaced and asked again, once.
 */
int collector_call(const struct config *cfg, const char *request, int timeout_ms,
		   struct error *err);
/*
 * collector_call in two halves, for a caller with work of its own meanwhile: connect
 * (starting it as above) and send, returning the connection; then read the answer on it
 * and close it (asking again, on a new connection, a collector that exited unanswering).
 */
int collector_send(const struct config *cfg, const char *request, int timeout_ms,
		   struct error *err);
int collector_finish(const struct config *cfg, int fd, const char *request, int timeout_ms,
		     struct error *err);

#endif
