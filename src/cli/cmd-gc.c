/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "bpfset.h"
#include "cli.h"
#include "container.h"
#include "lifecycle.h"
#include "netshare.h"

struct gc {
	struct cli *cli;
	const struct config *cfg;
	yajl_gen g;            /* JSON output: array of removed things */
	char **keep_sets;      /* sets live containers still use */
	size_t n_keep;
	int failed;
};

static void report(struct gc *gc, const char *what, const char *name, const char *why)
{
	if (gc->cli->json) {
		yajl_gen_map_open(gc->g);
		jg_key_str(gc->g, "removed", what);
		jg_key_str(gc->g, "id", name);
		jg_key_str(gc->g, "reason", why);
		yajl_gen_map_close(gc->g);
	} else {
		printf("removed %s %s (%s)\n", what, name, why);
	}
}

static void keep_set(struct gc *gc, const char *set)
{
	gc->keep_sets = xrealloc(gc->keep_sets, (gc->n_keep + 1) * sizeof(char *));
	gc->keep_sets[gc->n_keep++] = xstrdup(set);
}

static bool set_kept(struct gc *gc, const char *set)
{
	for (size_t i = 0; i < gc->n_keep; i++)
		if (strcmp(gc->keep_sets[i], set) == 0)
			return true;
	return false;
}

static void gc_containers(struct gc *gc)
{
	char **ids = container_list(gc->cfg->state_dir);
	for (char **id = ids; *id; id++) {
		_cleanup_container_ struct container *c = NULL;
		struct error err = { 0 };
		if (container_read(gc->cfg->state_dir, *id, &c, &err) < 0) {
			/* An unreadable record: drop it and whatever is pinned under its id. */
			container_remove(gc->cfg->state_dir, *id);
			bpfset_unpin(gc->cfg->bpffs_dir, *id);
			report(gc, "record", *id, err.msg);
			err_clear(&err);
			continue;
		}
		if (container_alive(c)) {
			keep_set(gc, c->set);
			continue;
		}
		if (container_finish(gc->cfg, c, "gc", &err) < 0) {
			log_error(c->id, "%s", err.msg);
			gc->failed = 1;
			err_clear(&err);
		}
		report(gc, "container", c->id, "its process is gone");
	}
	strv_free(ids);
}

/* Link pins of ids that have no record any more. */
static void gc_pins(struct gc *gc)
{
	_cleanup_free_ char *dir = path_join(gc->cfg->bpffs_dir, "containers");
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_container_ struct container *c = NULL;
		if (valid_id(de->d_name) && container_read(gc->cfg->state_dir, de->d_name, &c, NULL) == 0)
			continue;
		_cleanup_free_ char *p = path_join(dir, de->d_name);
		rm_rf(p);
		report(gc, "links", de->d_name, "no container record");
	}
	closedir(d);
}

static void policy_removed(uint32_t id, void *ud)
{
	char name[16];
	snprintf(name, sizeof(name), "%08x", id);
	report(ud, "network-policy", name, "no container uses it");
}

/* Network policies of the sets in use: counts put right, unused ones removed. */
static void gc_policies(struct gc *gc)
{
	char **sets = bpfset_list(gc->cfg->bpffs_dir);
	for (char **s = sets; *s; s++) {
		_cleanup_bpfset_ struct bpfset *set = NULL;
		if (bpfset_open(gc->cfg->bpffs_dir, *s, false, &set, NULL) == 0)
			netshare_gc(set, policy_removed, gc);
	}
	strv_free(sets);
}

static void gc_sets(struct gc *gc, bool unload)
{
	char **sets = bpfset_list(gc->cfg->bpffs_dir);
	for (char **s = sets; *s; s++) {
		if (set_kept(gc, *s))
			continue;
		bool current = strcmp(*s, bpfset_current_version()) == 0;
		if (current && !unload)
			continue;
		if (bpfset_remove(gc->cfg->bpffs_dir, *s) == 0)
			report(gc, "bpf-set", *s, current ? "unload" : "no container uses it");
	}
	strv_free(sets);
	if (unload && gc->n_keep == 0) {
		_cleanup_free_ char *c = path_join(gc->cfg->bpffs_dir, "containers");
		_cleanup_free_ char *s = path_join(gc->cfg->bpffs_dir, "sets");
		rmdir(c);
		rmdir(s);
		rmdir(gc->cfg->bpffs_dir);
	}
}

static int gc_run(struct cli *cli, bool unload)
{
	_cleanup_config_ struct config *cfg = cli_config(cli);
	if (!cfg)
		return 1;
	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	struct gc gc = { .cli = cli, .cfg = cfg, .g = g };
	if (cli->json)
		yajl_gen_array_open(g);
	gc_containers(&gc);
	gc_pins(&gc);
	gc_policies(&gc);
	gc_sets(&gc, unload);
	if (cli->json) {
		yajl_gen_array_close(g);
		cli_print_json(g);
	}
	for (size_t i = 0; i < gc.n_keep; i++)
		free(gc.keep_sets[i]);
	free(gc.keep_sets);
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
			"  --unload  also remove the pinned programs when no container uses them\n");
	return 2;
}
