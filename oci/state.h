/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_OCI_STATE_H
#define OCIBPF_OCI_STATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

struct annotation {
	char *key, *value;
};

/* The OCI state a runtime passes to a hook on stdin (runtime-spec "State"). */
struct oci_state {
	char *oci_version;
	char *id;                  /* validated with valid_id() */
	char *status;              /* "creating" (runc), "created" (crun), "stopped", ... */
	pid_t pid;                 /* 0 when absent (poststop) */
	char *bundle;              /* absolute path */
	char *root;                /* crun's extra "root" field, or NULL */
	struct annotation *annotations;
	size_t n_annotations;
};

/*
 * Parse a state document. need_pid: the pid must be present and > 0 (createRuntime,
 * prestart); poststop may lack it. The id must pass valid_id() and the bundle must be an
 * absolute path. Messages name the field ("state: \"id\" is missing").
 */
int oci_state_parse(const char *text, bool need_pid, struct oci_state **ret, struct error *err);
/* The same for len bytes as read (a NUL in them, or a key given twice, is refused). */
int oci_state_parse_text(const char *text, size_t len, bool need_pid, struct oci_state **ret,
			 struct error *err);
/*
 * The stage of a hook called without one (a hooks.d file has one "args" for all its
 * stages): "creating" (runc's createRuntime) and "created" (crun's createRuntime, and
 * prestart) set up, "stopped" tears down; any other status is an error.
 */
int oci_state_stage(const struct oci_state *s, bool *ret_create, struct error *err);
void oci_state_free(struct oci_state *s);
static inline void oci_state_freep(struct oci_state **s) { oci_state_free(*s); }
#define _cleanup_oci_state_ _cleanup_(oci_state_freep)
const char *oci_state_annotation(const struct oci_state *s, const char *key);

/*
 * Read the annotations of <bundle>/config.json ("annotations" object of strings) into
 * ret (appending to *n). Used when the state carries none. Missing file: -ENOENT.
 */
int oci_bundle_annotations(const char *bundle, struct annotation **ret, size_t *ret_n,
			   struct error *err);
/*
 * The same from config.json text (len bytes, NUL-terminated at text[len]); what names the
 * file in messages.
 */
int oci_config_annotations(const char *text, size_t len, const char *what,
			   struct annotation **ret, size_t *ret_n, struct error *err);

/*
 * What the config.json (text, or <bundle>/config.json) lets its process undo a policy
 * with. A capability in any of its sets counts (root regains the bounding set on exec).
 */
struct oci_powers {
	/* CAP_SYS_ADMIN in the host's user namespace (none of its own): bpf(2) on any
	 * link or map */
	bool host_sys_admin;
	/* CAP_NET_ADMIN over its network namespace (no user namespace of its own, or a
	 * network namespace with it): tunnel devices, whose packets the programs can't see */
	bool net_admin;
};
int oci_config_powers(const char *text, size_t len, const char *what, struct oci_powers *ret,
		      struct error *err);
int oci_bundle_powers(const char *bundle, struct oci_powers *ret, struct error *err);

#endif
