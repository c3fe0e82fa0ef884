/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_CLI_RESOLVE_H
#define OCIBPF_CLI_RESOLVE_H

#include "config.h"
#include "util.h"

enum resolve_scope {
	RESOLVE_MONITORED,   /* containers with a state record (ps, stats) */
	RESOLVE_LOGS,        /* those, then the audit logs of gone ones (audit, seccomp) */
};

/*
 * The container id that arg names, as docker and podman find one: the exact id of a
 * monitored container (or, for RESOLVE_LOGS, of an audit log); else the exact name one
 * monitored container has from its engine's annotations; else a unique prefix of a
 * monitored container's id (RESOLVE_LOGS: unique among the monitored containers' ids and
 * the audit logs' together, as docker counts stopped containers).
 * Errors, with err->msg saying why (the caller names arg): -ENOENT no match, -EEXIST
 * ambiguous (the candidates listed), -EINVAL not an id, name or prefix.
 */
int resolve_id(const struct config *cfg, const char *arg, enum resolve_scope scope, char **ret_id,
	       struct error *err);

/* resolve_id, reporting the error as "ocibpf: ARG: ..."; 0 or -errno. */
int resolve_id_or_report(const struct config *cfg, const char *arg, enum resolve_scope scope,
			 char **ret_id);

/* A string from outside (an engine's name) fit for a terminal: control bytes as '?'. */
char *resolve_printable(const char *s);

#endif
