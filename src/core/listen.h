/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_LISTEN_H
#define OCIBPF_LISTEN_H

#include "util.h"

/*
 * A listen address as `metrics_listen` and `ocibpfd --metrics-listen` take it: ADDR:PORT,
 * an IPv6 address in brackets ([::1]:9464), ADDR a literal address or a host name, PORT
 * 1-65535. Only the form is checked (no name look-up): host and port are malloc'ed. what
 * names the setting in messages ("--metrics-listen", "config.json: \"metrics_listen\"").
 */
int listen_split(const char *what, const char *spec, char **ret_host, char **ret_port,
		 struct error *err);

#endif
