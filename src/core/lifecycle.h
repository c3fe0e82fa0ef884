/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_LIFECYCLE_H
#define OCIBPF_LIFECYCLE_H

#include "config.h"
#include "state.h"

struct container;

/* The policy a container gets: its annotation, else default_policy; NULL: none. */
#define POLICY_ANNOTATION "io.ocibpf.policy"

/*
 * createRuntime/prestart: choose and load the policy, find the cgroup, attach and pin,
 * record the container, write the `start` record. All or nothing: on failure everything
 * done is undone and err says what failed.
 */
int hook_create(const struct config *cfg, const struct oci_state *st, struct error *err);
/* poststop: the `stop` record, then unpin, forget, unrecord. Idempotent. */
int hook_poststop(const struct config *cfg, const struct oci_state *st, struct error *err);
/*
 * The end of a recorded container: the `stop` record (with `reason` when given, e.g. "gc"),
 * then unpin, forget, unrecord. Teardown happens even when the record can't be written.
 */
int container_finish(const struct config *cfg, const struct container *c, const char *reason,
		     struct error *err);
/* Remove everything ocibpf holds for a recorded container (no log record). */
void container_teardown(const struct config *cfg, const struct container *c);

#endif
