/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocibpf-hook [STAGE]: the OCI hook. createRuntime/prestart attach the container's eBPF
 * programs before it runs anything; poststop writes the final record and removes what
 * was set up. State JSON on stdin (runtime-spec "State"). Without STAGE (a hooks.d file
 * has one "args" for all its stages) the state's status tells: "creating" (runc's
 * createRuntime) or "created" (crun's createRuntime, prestart) sets up, "stopped" tears
 * down.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "lifecycle.h"
#include "config.h"
#include "conmon.h"
#include "rootless.h"
#include "state.h"

#define POLICY_KEY "io.ocibpf.policy"

#define STATE_MAX (1 << 20)

struct request_data {
	struct annotation *bundle_ann;
	size_t n_bundle_ann;
	struct run_annotation *all;
	char *conmon_name;
};

static int powers(const struct run_request *rq, bool *host_sys_admin, bool *net_admin)
{
	struct oci_powers p;
	int r = oci_bundle_powers(rq->bundle, &p, NULL);
	if (r < 0)
		return r;
	*host_sys_admin = p.host_sys_admin;
	*net_admin = p.net_admin;
	return 0;
}

/*
 * The policy annotation: from the state, else (a runtime that passes none) from the
 * bundle's config.json.
 */
static int request_from_state(const struct oci_state *st, struct request_data *d,
			      struct run_request *rq, struct error *err)
{
	*rq = (struct run_request){ .id = st->id, .pid = st->pid, .bundle = st->bundle,
				    .powers = powers };
	rq->policy = oci_state_annotation(st, POLICY_ANNOTATION);
	if (!rq->policy && st->n_annotations == 0) {
		int r = oci_bundle_annotations(st->bundle, &d->bundle_ann, &d->n_bundle_ann, err);
		if (r < 0)
			return r;
		for (size_t i = 0; i < d->n_bundle_ann; i++)
			if (strcmp(d->bundle_ann[i].key, POLICY_ANNOTATION) == 0)
				rq->policy = d->bundle_ann[i].value;
	}
	size_t n = st->n_annotations + d->n_bundle_ann;
	d->all = xcalloc(n ? n : 1, sizeof(*d->all));
	for (size_t i = 0; i < st->n_annotations; i++)
		d->all[i] = (struct run_annotation){ st->annotations[i].key, st->annotations[i].value };
	for (size_t i = 0; i < d->n_bundle_ann; i++)
		d->all[st->n_annotations + i] =
			(struct run_annotation){ d->bundle_ann[i].key, d->bundle_ann[i].value };
	rq->annotations = d->all;
	rq->n_annotations = n;
	return 0;
}

/*
 * Podman marks its containers (io.container.manager=libpod, since 4.0): only then is a
 * conmon among the hook's ancestors worth looking for, 4 reads of /proc less for others.
 */
static bool from_podman(const struct run_request *rq)
{
	for (size_t i = 0; i < rq->n_annotations; i++)
		if (strcmp(rq->annotations[i].key, "io.container.manager") == 0)
			return strcmp(rq->annotations[i].value, "libpod") == 0;
	return false;
}

static void request_data_done(struct request_data *d)
{
	for (size_t i = 0; i < d->n_bundle_ann; i++) {
		free(d->bundle_ann[i].key);
		free(d->bundle_ann[i].value);
	}
	free(d->bundle_ann);
	free(d->all);
	free(d->conmon_name);
}

static int usage(void)
{
	fprintf(stderr, "usage: ocibpf-hook [createRuntime|prestart|poststop] < state.json\n");
	return 2;
}

/* The stage of a hook called without one, from the state's status. */
static int stage_of(const char *text, size_t len, bool *ret_create)
{
	struct error err = { 0 };
	_cleanup_oci_state_ struct oci_state *st = NULL;
	int r = oci_state_parse_text(text, len, false, &st, &err);
	if (r == 0)
		r = oci_state_stage(st, ret_create, &err);
	if (r < 0) {
		const char *why = strncmp(err.msg, "state: ", 7) == 0 ? err.msg + 7 : err.msg;
		log_error(st ? st->id : NULL, "%s%s", st ? "" : "invalid OCI state on stdin: ", why);
		err_clear(&err);
	}
	return r;
}

/*
 * A rootless container that asks for a policy (annotation or default_policy) can't have
 * one: refused with the reason (fail_open: runs unmonitored); one that asks for none is
 * left alone, as always. Returns the exit status.
 */
static int refuse_rootless(const struct oci_state *st, const char *why)
{
	_cleanup_config_ struct config *cfg = NULL;
	struct error err = { 0 };
	if (config_load(NULL, &cfg, &err) < 0)
		err_clear(&err);   /* the container still can't be monitored */
	const char *policy = oci_state_annotation(st, POLICY_KEY);
	struct annotation *ann = NULL;
	size_t n = 0;
	if (!policy && st->n_annotations == 0 && oci_bundle_annotations(st->bundle, &ann, &n, &err) < 0)
		err_clear(&err);
	for (size_t i = 0; i < n; i++) {
		if (!policy && strcmp(ann[i].key, POLICY_KEY) == 0)
			policy = ann[i].value;
	}
	if (!policy && cfg)
		policy = cfg->default_policy;
	int r = 0;
	if (policy && cfg && cfg->fail_open) {
		log_warn(st->id, "rootless containers are not supported: %s; loading BPF programs and attaching them to cgroups needs CAP_BPF and CAP_SYS_ADMIN in the host user namespace (fail_open: the container runs unmonitored)",
			 why);
	} else if (policy) {
		log_error(st->id, "rootless containers are not supported: %s; loading BPF programs and attaching them to cgroups needs CAP_BPF and CAP_SYS_ADMIN in the host user namespace (run the container with rootful Podman or as root)",
			  why);
		r = 1;
	}
	for (size_t i = 0; i < n; i++) {
		free(ann[i].key);
		free(ann[i].value);
	}
	free(ann);
	return r;
}

int main(int argc, char **argv)
{
	program_name = "ocibpf-hook";
	if (argc > 2)
		return usage();
	const char *stage = argc == 2 ? argv[1] : NULL;
	bool create = stage && (strcmp(stage, "createRuntime") == 0 || strcmp(stage, "prestart") == 0);
	if (stage && !create && strcmp(stage, "poststop") != 0)
		return usage();
	/* The runtime may give us a closed stdout; a write must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	umask(0077);

	struct error err = { 0 };
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = read_fd(STDIN_FILENO, STATE_MAX, &text, &len);
	if (r < 0) {
		log_error(NULL, "cannot read the OCI state on stdin: %s", strerror(-r));
		return 1;
	}
	_cleanup_oci_state_ struct oci_state *st = NULL;
	if (!stage) {
		r = stage_of(text, len, &create);
		if (r < 0)
			return 1;
	}
	if (oci_state_parse_text(text, len, create, &st, &err) < 0) {
		/* The parser's messages start with "state: ". */
		const char *why = strncmp(err.msg, "state: ", 7) == 0 ? err.msg + 7 : err.msg;
		log_error(NULL, "invalid OCI state on stdin: %s", why);
		err_clear(&err);
		return 1;
	}
	/* Rootless: nothing can have been set up, so poststop has nothing to do. */
	_cleanup_free_ char *rootless = NULL;
	if (hook_is_rootless(&rootless))
		return create ? refuse_rootless(st, rootless) : 0;
	_cleanup_config_ struct config *cfg = NULL;
	if (config_load(NULL, &cfg, &err) < 0) {
		log_error(st->id, "%s", err.msg);
		err_clear(&err);
		return 1;
	}

	struct request_data data = { 0 };
	struct run_request rq;
	if (!create) {
		rq = (struct run_request){ .id = st->id, .bundle = st->bundle };
		r = hook_poststop(cfg, &rq, &err);
	} else {
		r = request_from_state(st, &data, &rq, &err);
		/* Podman gives its name for the container to conmon only. */
		if (r == 0 && (rq.policy || cfg->default_policy) && from_podman(&rq))
			rq.name = data.conmon_name = conmon_container_name(st->id);
		if (r == 0)
			r = hook_create(cfg, &rq, &err);
	}
	request_data_done(&data);
	if (r < 0) {
		if (create && cfg->fail_open) {
			log_warn(st->id, "%s (fail_open: the container runs unmonitored)", err.msg);
			r = 0;
		} else {
			log_error(st->id, "%s", err.msg);
		}
	}
	err_clear(&err);
	return r < 0 ? 1 : 0;
}
