/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_LIFECYCLE_H
#define OCIBPF_LIFECYCLE_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"

#define POLICY_ANNOTATION "io.ocibpf.policy"

/*
 * What the hook learned from the runtime (the OCI state and the bundle): the core knows
 * nothing of OCI documents.
 */
struct run_request {
	const char *id;
	pid_t pid;                  /* the container's init (createRuntime); 0 in poststop */
	const char *bundle;
	const char *policy;         /* the POLICY_ANNOTATION value, or NULL */
	const struct run_annotation {
		const char *key, *value;
	} *annotations;             /* the state's, else the bundle's (engine names: labels) */
	size_t n_annotations;
	const char *name;           /* the engine's name when no annotation gives one, or NULL */
	/*
	 * Could the container's process undo a policy: CAP_SYS_ADMIN in the host user
	 * namespace (bpf(2) on any link or map), CAP_NET_ADMIN over its network namespace
	 * (tunnels)? Asked only for a container with a policy that can be undone; -errno
	 * when it can't be told.
	 */
	int (*powers)(const struct run_request *rq, bool *host_sys_admin, bool *net_admin);
	void *opaque;
};

/*
 * The BPF sets' lock (<state_dir>/sets.lock), held shared: while held, `ocibpf gc`
 * (which holds it exclusively) removes no set. Returns the descriptor to close.
 */
int lock_sets(const struct config *cfg, struct error *err);

struct bpfset;
struct container;
/*
 * Before a run's `stop` record (poststop, `ocibpf gc`, a stale record the next run of the
 * id finds): every record of the run written first. Its folded denials stopped, and the
 * collector asked to write out what the kernel holds of it (a collector that drops a gone
 * run's records when it gets to them). With start_collector false, only a running
 * collector is asked: `ocibpf gc` holds the sets lock a starting one waits for. Said on
 * stderr when it fails (the stop record is written anyway).
 */
void run_drain(const struct config *cfg, const struct container *c, struct bpfset *set,
	       bool start_collector);

enum run_end_drain {
	END_DRAINED,           /* drained already (run_drain) */
	END_DRAIN_IF_RUNNING,  /* by a collector that runs, none started */
	END_DRAIN,             /* by the collector, started if it is gone */
};
/*
 * End a run whose process is gone (poststop, `ocibpf gc`, a stale record): drained as
 * asked, then its stop record written and what it set up removed (container_release,
 * reason NULL for a poststop).
 */
int run_end(const struct config *cfg, const struct container *c, const char *reason,
	    enum run_end_drain drain, struct error *err);

/* createRuntime/prestart: put the container's policy in force (a new run of its id). */
int hook_create(const struct config *cfg, const struct run_request *rq, struct error *err);
/* poststop: end the run that stopped; a run still running is never touched. */
int hook_poststop(const struct config *cfg, const struct run_request *rq, struct error *err);

#endif
