/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocibpf load: load and pin the BPF set of this build under the configuration's
 * bpffs_dir, so that no container start pays for it, and start the collector (it stays
 * while the set is pinned, see ocibpfd(8)) unless --no-collector (the systemd unit runs
 * its own). Idempotent: a set pinned already is left as it is (nothing is loaded; what
 * an older build left unattached, the io_uring tracepoints, is attached). Then the
 * collector attaches the per-syscall tracepoints the policies audit ("prime",
 * daemon/prime.h), so that the first audited container after the load doesn't wait for it.
 */
#include <errno.h>
#include <string.h>

#include "anchor.h"
#include "audit.h"
#include "bpfset.h"
#include "cli.h"
#include "collector.h"
#include "control-proto.h"
#include "dirshare.h"
#include "lifecycle.h"

/* How long the load waits for the collector to attach what the policies audit. */
#define PRIME_TIMEOUT_MS 2000

int cmd_load(struct cli *cli, int argc, char **argv)
{
	bool start_collector = true;
	if (argc == 2 && strcmp(argv[1], "--no-collector") == 0) {
		start_collector = false;
	} else if (argc > 1) {
		fprintf(stderr, "usage: ocibpf load [--json] [--no-collector]\n");
		return 2;
	}
	_cleanup_config_ struct config *cfg = cli_config(cli);
	if (!cfg)
		return 1;
	struct error err = { 0 };
	unsigned long long t0 = now_ns();
	bool loaded = false;
	_cleanup_bpfset_ struct bpfset *set = NULL;
	/* `ocibpf gc --unload` waits while we pin (it would take half a set away). */
	int sets_lock = lock_sets(cfg, &err);
	if (sets_lock < 0) {
		log_error(NULL, "cannot lock the BPF sets: %s", err.msg);
		err_clear(&err);
		return 1;
	}
	int r = dirshare_check(cfg, &err);
	if (r == 0 && (r = bpfset_open(cfg->bpffs_dir, NULL, false, &set, NULL)) < 0) {
		/* Not pinned (or unusable: the loading path says why). */
		r = bpfset_open(cfg->bpffs_dir, NULL, true, &set, &err);
		loaded = r == 0;
	}
	if (r < 0) {
		close(sets_lock);
		log_error(NULL, "%s", err.msg);
		err_clear(&err);
		return 1;
	}
	if (!loaded) {
		/* A set loaded by a build without the anchor, or a failed try. */
		if (bpfset_open_progs(set, (1U << P__COUNT) - 1, NULL) == 0)
			anchor_attach(set->bpffs_dir, set->dir, set->prog_fd);
		/* One loaded by a build that attached the io_uring tracepoints only while a
		 * container audited: attached now, as a load of ours does (uring.h). */
		struct error uerr = { 0 };
		if (audit_attach(set, CF_AUDIT, &uerr) < 0)
			log_warn(NULL, "%s", uerr.msg);
		err_clear(&uerr);
	}
	close(sets_lock);
	double ms = (double)(now_ns() - t0) / 1e6;
	/*
	 * Waited for until it listens: a container started right after would otherwise find
	 * it starting (holding its lock, not yet listening) and wait for it itself, in its
	 * hooks (measured: the first container after a load took 140 or 300 ms, by chance).
	 * One that can't start is said, and the set stays loaded: a hook starts one later.
	 */
	struct error cerr = { 0 };
	if (start_collector && collector_call(cfg, NULL, 10000, &cerr) < 0) {
		log_warn(NULL, "%s", cerr.msg);
		err_clear(&cerr);
	} else if (start_collector || collector_running(cfg)) {
		/*
		 * The per-syscall tracepoints the policies audit, held by the collector before
		 * any container needs them (and detached after its usual linger if none comes):
		 * the first audited container after a load need not ask for them. Bounded
		 * shorter than a hook's wait: a collector that doesn't answer costs the load
		 * little, and a hook asks for what it needs anyway.
		 */
		if (collector_call(cfg, CTL_PRIME, PRIME_TIMEOUT_MS, &cerr) < 0)
			log_warn(NULL, "%s (the first audited container will ask for its syscalls itself)",
				 cerr.msg);
		err_clear(&cerr);
	}
	if (cli->json) {
		_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
		yajl_gen_map_open(g);
		jg_key_str(g, "bpf_set", set->version);
		jg_key_str(g, "dir", set->dir);
		jg_key_bool(g, "loaded", loaded);
		jg_key(g, "ms");
		yajl_gen_double(g, ms);
		yajl_gen_map_close(g);
		cli_print_json(g);
	} else if (loaded) {
		printf("loaded BPF set %s in %s (%.1f ms)\n", set->version, set->dir, ms);
	} else {
		printf("BPF set %s already loaded in %s\n", set->version, set->dir);
	}
	return 0;
}
