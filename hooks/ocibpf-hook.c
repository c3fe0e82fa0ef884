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
#include "state.h"

#define STATE_MAX (1 << 20)

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
	_cleanup_config_ struct config *cfg = NULL;
	if (config_load(NULL, &cfg, &err) < 0) {
		log_error(st->id, "%s", err.msg);
		err_clear(&err);
		return 1;
	}

	r = create ? hook_create(cfg, st, &err) : hook_poststop(cfg, st, &err);
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
