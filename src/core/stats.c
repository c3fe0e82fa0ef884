/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-container resource numbers, all of counters.h: the live cgroup (cgstat.c), the
 * kernel counters of the pinned set, and the values the collector persisted while the
 * cgroup was alive (stats-store.c), because by poststop the runtime has usually removed
 * the cgroup already; merged, and written as JSON.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "bpfset.h"
#include "container.h"
#include "json.h"
#include "stats.h"


/* --- merging ---------------------------------------------------------------------------- */

void stats_merge(struct stats *s, const struct stats *saved)
{
	for (size_t i = 0; i < stats_n_values; i++) {
		const struct stats_value *v = &stats_values[i];
		uint64_t now = stats_value_get(s, v), then = stats_value_get(saved, v);
		if (v->kind == CK_GAUGE ? !(s->live & v->live) : then > now)
			stats_value_set(s, v, then);
	}
	/* A peak is at least every level seen. */
	if (s->memory_peak_bytes < saved->memory_bytes)
		s->memory_peak_bytes = saved->memory_bytes;
	if (s->memory_peak_bytes < s->memory_bytes)
		s->memory_peak_bytes = s->memory_bytes;
	if (!s->sampled_ns)
		s->sampled_ns = saved->sampled_ns;
}

void stats_collect(const char *state_dir, const struct container *c, struct bpfset *set,
		   struct stats *ret)
{
	struct stats s, saved;
	stats_read_cgroup(c, NULL, &s);
	if (set && bpfset_read_stats(set, c->cgroup_id, &s.k) == 0)
		s.live |= ST_KERNEL;
	if (state_dir && stats_load(state_dir, c, &saved) == 0)
		stats_merge(&s, &saved);
	s.syscalls_counted = c->flags & CF_SYSCOUNT;
	*ret = s;
}

struct setcache {
	size_t n;
	struct {
		char *version;
		struct bpfset *set;
	} v[];
};

struct bpfset *setcache_get(struct setcache **cache, const char *bpffs_dir, const char *version)
{
	struct setcache *sc = *cache;
	if (!version)
		return NULL;
	for (size_t i = 0; sc && i < sc->n; i++)
		if (strcmp(sc->v[i].version, version) == 0)
			return sc->v[i].set;
	size_t n = sc ? sc->n : 0;
	sc = xrealloc(sc, sizeof(*sc) + (n + 1) * sizeof(sc->v[0]));
	sc->n = n + 1;
	sc->v[n].version = xstrdup(version);
	sc->v[n].set = NULL;
	bpfset_open(bpffs_dir, version, false, &sc->v[n].set, NULL);
	*cache = sc;
	return sc->v[n].set;
}

void setcache_free(struct setcache *sc)
{
	for (size_t i = 0; sc && i < sc->n; i++) {
		free(sc->v[i].version);
		bpfset_close(sc->v[i].set);
	}
	free(sc);
}

/* --- JSON ----------------------------------------------------------------------------- */

void stats_gen(yajl_gen g, const char *id, const struct stats *s)
{
	yajl_gen_map_open(g);
	stats_gen_fields(g, id, s);
	yajl_gen_map_close(g);
}

void stats_gen_fields(yajl_gen g, const char *id, const struct stats *s)
{
	jg_key_str(g, "id", id);
	for (size_t i = 0; i < stats_n_values; i++) {
		const struct stats_value *v = &stats_values[i];
		if (!(v->flags & CV_JSON))
			continue;
		jg_key(g, v->name);
		if ((v->flags & CV_SYSCOUNT) && !s->syscalls_counted)
			yajl_gen_null(g);
		else
			jg_uint(g, stats_value_get(s, v));
	}
}
