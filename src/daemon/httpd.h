/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPFD_HTTPD_H
#define OCIBPFD_HTTPD_H

#include <sys/socket.h>

#include "config.h"

/*
 * `ocibpfd --metrics-listen ADDR:PORT`: the Prometheus exposition of `ocibpf metrics`
 * served at /metrics by libmicrohttpd from a thread of its own.
 */
struct httpd;

/* "127.0.0.1:9100", "[::1]:9100", "localhost:9100" into a socket address. */
int httpd_parse_listen(const char *spec, struct sockaddr_storage *ret, socklen_t *ret_len,
		       struct error *err);
int httpd_start(const struct config *cfg, const char *listen, struct httpd **ret,
		struct error *err);
void httpd_stop(struct httpd *h);

#endif
