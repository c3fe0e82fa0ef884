/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "anchor.h"
#include "audit.h"
#include "bpfset.h"
#include "cli.h"
#include "container.h"
#include "dirshare.h"
#include "gc.h"
#include "lifecycle.h"
#include "netshare.h"
#include "paths.h"
#include "policycache.h"

/* A live run: its set and its link pins stay. */
static void keep(struct gc *gc, const struct container *c)
{
	gc->keep_sets = xrealloc(gc->keep_sets, (gc->n_keep + 1) * sizeof(char *));
	gc->keep_runs = xrealloc(gc->keep_runs, (gc->n_keep + 1) * sizeof(char *));
	gc->keep_cgids = xrealloc(gc->keep_cgids, (gc->n_keep + 1) * sizeof(uint64_t));
	gc->keep_cgids[gc->n_keep] = c->cgroup_id;
	gc->keep_sets[gc->n_keep] = xstrdup(c->set);
	gc->keep_runs[gc->n_keep++] = xstrdup(c->run);
}

static bool set_kept(struct gc *gc, const char *set)
{
	for (size_t i = 0; i < gc->n_keep; i++)
		if (strcmp(gc->keep_sets[i], set) == 0)
			return true;
	return false;
}

static bool run_drained(const struct gc *gc, const char *run)
{
	for (size_t i = 0; i < gc->n_drained; i++)
		if (strcmp(gc->drained[i], run) == 0)
			return true;
	return false;
}

/*
 * The runs whose process is gone drained (run_drain) before the sets lock is taken: the
 * collector's answers (up to its timeout when it hangs) keep no hook waiting on our lock.
 * A collector that is gone (killed, or stopped by hand) is started for them, as a
 * poststop would: else their queued records would reach no log, and their stop record
 * would say nothing of them.
 */
static void gc_drain_gone(struct gc *gc)
{
	char **ids = container_list(gc->cfg->state_dir);
	for (char **id = ids; *id; id++) {
		_cleanup_container_ struct container *c = NULL;
		if (container_read(gc->cfg->state_dir, *id, &c, NULL) < 0 || container_running(c) ||
		    !(c->flags & (CF_AUDIT | CF_NETWORK)))
			continue;
		_cleanup_bpfset_ struct bpfset *set = NULL;
		bpfset_open(gc->cfg->bpffs_dir, c->set, false, &set, NULL);
		run_drain(gc->cfg, c, set, true);
		gc->drained = xrealloc(gc->drained, (gc->n_drained + 1) * sizeof(char *));
		gc->drained[gc->n_drained++] = xstrdup(c->run);
	}
	strv_free(ids);
}

/* One id, under its lock: a poststop or a starting hook of the id waits, or we wait. */
static void gc_container(struct gc *gc, const char *id)
{
	struct error err = { 0 };
	int lock = container_lock(gc->cfg->state_dir, id, &err);
	if (lock < 0) {
		log_error(id, "%s", err.msg);
		gc->failed = 1;
		err_clear(&err);
		return;
	}
	_cleanup_container_ struct container *c = NULL;
	if (container_read(gc->cfg->state_dir, id, &c, &err) < 0) {
		if (container_recorded(gc->cfg->state_dir, id)) {
			/* An unreadable record: dropped (its pins go with the runs no record names). */
			container_remove(gc->cfg->state_dir, id);
			gc_report(gc, "removed", "record", id, err.msg);
		}
		err_clear(&err);
	} else if (container_running(c)) {
		keep(gc, c);
	} else {
		/* Its records before its stop record, as its poststop would have them (asked
		 * here only when it went after gc_drain_gone). */
		if (run_end(gc->cfg, c, "gc", run_drained(gc, c->run) ? END_DRAINED : END_DRAIN_IF_RUNNING,
			    &err) < 0) {
			log_error(c->id, "%s", err.msg);
			gc->failed = 1;
			err_clear(&err);
		}
		gc_report(gc, "removed", "container", c->id, "its process is gone");
	}
	container_unlock(gc->cfg->state_dir, id, lock);
}

static void gc_containers(struct gc *gc)
{
	char **ids = container_list(gc->cfg->state_dir);
	for (char **id = ids; *id; id++)
		gc_container(gc, *id);
	strv_free(ids);
}

static bool run_kept(struct gc *gc, const char *run)
{
	for (size_t i = 0; i < gc->n_keep; i++)
		if (strcmp(gc->keep_runs[i], run) == 0)
			return true;
	return false;
}

/* Link pins of runs that have no record any more. */
static void gc_pins(struct gc *gc)
{
	_cleanup_free_ char *dir = path_links_dir(gc->cfg->bpffs_dir);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || run_kept(gc, de->d_name))
			continue;
		_cleanup_free_ char *p = path_join(dir, de->d_name);
		rm_rf(p);
		gc_report(gc, "removed", "links", de->d_name, "no container record");
	}
	closedir(d);
}

static void policy_removed(uint32_t id, void *ud)
{
	char name[16];
	snprintf(name, sizeof(name), "%08x", id);
	gc_report(ud, "removed", "network-policy", name, "no container uses it");
}

/* Network policies of the sets in use: counts put right, unused ones removed. */
static void gc_policies(struct gc *gc)
{
	char **sets = bpfset_list(gc->cfg->bpffs_dir);
	for (char **s = sets; *s; s++) {
		_cleanup_bpfset_ struct bpfset *set = NULL;
		if (bpfset_open(gc->cfg->bpffs_dir, *s, false, &set, NULL) < 0)
			continue;
		netshare_gc(set, policy_removed, gc);
		/* Tracepoints the released runs were the last to need (no collector may
		 * run to sweep them). */
		audit_sync(set, NULL, NULL);
	}
	strv_free(sets);
}

static void cache_removed(const char *name, const char *why, void *ud)
{
	gc_report(ud, "removed", "policy-cache", name, why);
}

/* Policy caches of policy files gone or changed (all of them when the sets go). */
static void gc_policy_caches(struct gc *gc, bool unload)
{
	policycache_gc(gc->cfg->state_dir, gc->cfg->policy_dir, unload && gc->n_keep == 0,
		       cache_removed, gc);
}

static void gc_sets(struct gc *gc, bool unload)
{
	bool removing = false;
	char **sets = bpfset_list(gc->cfg->bpffs_dir);
	for (char **s = sets; *s; s++) {
		if (set_kept(gc, *s))
			continue;
		bool current = strcmp(*s, bpfset_current_version()) == 0;
		if (current && !unload)
			continue;
		removing = true;
		if (bpfset_remove(gc->cfg->bpffs_dir, *s) == 0)
			gc_report(gc, "removed", "bpf-set", *s, current ? "unload" : "no container uses it");
	}
	strv_free(sets);
	/* The anchor goes with the last set: one removed here (an old set a plain gc takes
	 * may be the last), or, with --unload, sets that went some other way (removed by
	 * hand, as the package's purge does). */
	if (removing || (unload && gc->n_keep == 0)) {
		char **left = bpfset_list(gc->cfg->bpffs_dir);
		if (!left[0])
			anchor_remove(gc->cfg->bpffs_dir);
		strv_free(left);
	}
	if (unload && gc->n_keep == 0) {
		_cleanup_free_ char *c = path_links_dir(gc->cfg->bpffs_dir);
		_cleanup_free_ char *s = path_sets_dir(gc->cfg->bpffs_dir);
		rmdir(c);
		rmdir(s);
		dirshare_release_bpffs(gc->cfg);
		rmdir(gc->cfg->bpffs_dir);
	}
}

/* --- log_retention: the logs of containers that are gone ----------------------------- */

static int gc_run(struct cli *cli, bool unload)
{
	_cleanup_config_ struct config *cfg = cli_config(cli);
	if (!cfg)
		return 1;
	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	struct gc gc = { .cli = cli, .cfg = cfg, .g = g };
	if (cli->json)
		yajl_gen_array_open(g);
	gc_drain_gone(&gc);
	/*
	 * Hooks hold the sets lock shared from opening a set until their run is recorded:
	 * held exclusively, every run that uses a set is in a record we read below, so a
	 * starting container never loses the set it attaches from.
	 */
	_cleanup_close_ int sets_lock = -1;
	_cleanup_free_ char *sets_path = path_sets_lock(cfg->state_dir);
	struct error err = { 0 };
	int r = mkdir_p(cfg->state_dir, 0700);
	if (r < 0)
		err_errno(&err, r, "cannot create %s", cfg->state_dir);
	else
		sets_lock = lock_file(sets_path, LOCK_EX, &err);
	if (sets_lock < 0) {
		log_error(NULL, "cannot lock the BPF sets: %s", err.msg);
		err_clear(&err);
		return 1;
	}
	/* Pins and records of another configuration's running containers are not ours. */
	if (access(cfg->bpffs_dir, F_OK) == 0 && dirshare_check(cfg, &err) < 0) {
		log_error(NULL, "%s", err.msg);
		err_clear(&err);
		return 1;
	}
	gc_containers(&gc);
	gc_logs(&gc);
	gc_pins(&gc);
	gc_policies(&gc);
	gc_claims(&gc);
	gc_sets(&gc, unload);
	gc_policy_caches(&gc, unload);
	if (cli->json) {
		yajl_gen_array_close(g);
		cli_print_json(g);
	}
	for (size_t i = 0; i < gc.n_keep; i++) {
		free(gc.keep_sets[i]);
		free(gc.keep_runs[i]);
	}
	free(gc.keep_sets);
	free(gc.keep_runs);
	free(gc.keep_cgids);
	for (size_t i = 0; i < gc.n_drained; i++)
		free(gc.drained[i]);
	free(gc.drained);
	return gc.failed;
}

int cmd_gc(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "unload", no_argument, NULL, 'u' },
		{ 0 },
	};
	bool unload = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'u')
			goto usage;
		unload = true;
	}
	if (optind != argc)
		goto usage;
	return gc_run(cli, unload);
usage:
	fprintf(stderr, "usage: ocibpf gc [--unload] [--json]\n"
			"  --unload  also remove the pinned programs when no container uses them\n"
			"  (and, with log_retention in the host configuration, old logs of containers that are gone)\n");
	return 2;
}
