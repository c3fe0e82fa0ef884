/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_CONTROL_PROTO_H
#define OCIBPF_CONTROL_PROTO_H

/*
 * The collector's control socket (<state_dir>/ocibpfd.sock, SOCK_SEQPACKET, root only):
 * one request per connection, one answer. Requests:
 *   "sync"        attach the tracepoints the recorded containers need, map the rings
 *   "sync ID"     the same for one container, reading its record only
 *   "prime"       attach the per-syscall tracepoints that the configuration's policies
 *                 audit before any container needs them (ocibpf load; daemon/prime.h)
 *   "drain RUN ID" write out every queued record of that run: its `stop` record is next
 *                 (ID: the container whose record names the run, read alone when the
 *                 run is new to the collector; "drain RUN" and, for a run recorded by
 *                 an older ocibpf, "drain ID" are taken too)
 * Answers: "ok", or "error MESSAGE".
 */
#define CTL_SYNC        "sync"
#define CTL_SYNC_ID     "sync "
#define CTL_PRIME       "prime"
#define CTL_DRAIN       "drain "
#define CTL_OK          "ok"
#define CTL_ERROR       "error "
#define CTL_MSG_MAX     512

#endif
