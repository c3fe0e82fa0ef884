/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_RECORD_H
#define OCIBPF_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "auditlog.h"
#include "ocibpf.h"

/*
 * The audit records (SPEC.md "Audit log", docs/audit-records.md): one encoder per type,
 * used by the hook (start, stop), the collector (exec, syscall, net, lost) and gc (stop,
 * through container_finish); one decoder, used by `ocibpf audit` and `ocibpf seccomp`.
 * auditlog.c owns the file, its lock and seq; this file owns what a line says.
 *
 * Bytes from the container (comm, filename, argv, path, and the cgroup path) go into
 * JSON strings as they are when they are valid UTF-8. When they are not, the string holds
 * them with every byte that is not part of a valid character replaced by U+FFFD, and a
 * sibling KEY_hex holds the exact bytes in hex ("argv_hex": an array beside "argv", null
 * for the arguments that are exact). A value cut at a limit never ends (or, for a path
 * whose tail was kept, starts) with part of a character.
 */
enum record_type {
	REC_START,
	REC_EXEC,
	REC_SYSCALL,
	REC_NET,
	REC_LOST,
	REC_STOP,
	REC_TYPES,
	REC_UNKNOWN = REC_TYPES,   /* a record of a type this build doesn't know */
};

const char *record_type_name(enum record_type t);
/* REC_UNKNOWN when name is no type. */
enum record_type record_type_of(const char *name);

/* --- writing (callers lock the log, and flush it when they want the lines written) --- */

/* Open a container's log and lock it for appending (record_lock), or say why not. */
int record_open_locked(const char *log_dir, const char *id, struct auditlog **ret,
		       struct error *err);
/* Lock the log for appending; records an earlier failed write lost are accounted for
 * with a `lost` record first. */
int record_lock(struct auditlog *al);

void record_start(struct auditlog *al, uint64_t ts_ns, const char *policy, const char *cgroup,
		  int pid);
void record_exec(struct auditlog *al, uint64_t ts_ns, const struct ev_exec *e);
/* setup: made before the container's entrypoint was exec'ed (the runtime's own work). */
void record_syscall(struct auditlog *al, uint64_t ts_ns, const struct ev_syscall *e, bool setup);
/* An io_uring operation, recorded as the syscall it stands for (via "io_uring"). */
void record_uring(struct auditlog *al, uint64_t ts_ns, const struct ev_uring *e,
		  const char *op_name, bool setup);
void record_net(struct auditlog *al, uint64_t ts_ns, const struct ev_net *e);
/* count_known false: "count": null (the number can't be known). */
void record_lost(struct auditlog *al, uint64_t ts_ns, bool count_known, uint64_t count,
		 const char *reason);
/* stats_fields writes the members of the "stats" object. */
void record_stop(struct auditlog *al, uint64_t ts_ns, const char *reason,
		 void (*stats_fields)(yajl_gen g, void *ud), void *ud);

/* --- reading ------------------------------------------------------------------------ */

struct record {
	enum record_type type;
	long long seq;      /* 0 when absent */
	const char *ts;     /* "" when absent */
	yajl_val v;         /* the whole object */
};

/* One line (without its newline): 0, or -EINVAL when it is not a record (not UTF-8
 * JSON, not an object, or no "type" string). Free with record_done. */
int record_parse(const char *line, size_t len, struct record *ret);
void record_done(struct record *r);

/* The exact bytes of a string member (from KEY_hex when there is one); NULL when the
 * member is not a string. malloc'ed, NUL-terminated (the bytes may hold none). */
char *record_bytes(yajl_val obj, const char *key, size_t *ret_len);
/* The same for argv[i]. */
char *record_argv_bytes(yajl_val rec, size_t i, size_t *ret_len);

#endif
