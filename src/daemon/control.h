/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPFD_CONTROL_H
#define OCIBPFD_CONTROL_H

#include "config.h"

struct events;

/* The control socket: the protocol is in control-proto.h. */
int control_listen(const struct config *cfg, struct error *err);
/* Serve one connection waiting on the listening socket. */
void control_accept(int listen_fd, struct events *ev);

#endif
