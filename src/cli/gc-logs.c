/* SPDX-License-Identifier: Apache-2.0 */
/* ocibpf gc: log_retention, applied to the logs of containers that are gone. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "container.h"
#include "gc.h"
#include "loggens.h"
#include "pending.h"

/* One gone container's generations that may go, oldest first. */
struct gone_log {
	char *id;
	struct log_gens g;
	size_t next;           /* its oldest not removed */
};

/* Nobody writes id's log any more: no run recorded (a stopped run's record was released
 * above), no stop record owed. Asked again under the id's lock before anything goes. */
static bool log_gone(const struct config *cfg, const char *id)
{
	return !container_recorded(cfg->state_dir, id) && !pending_exists(cfg->state_dir, id, NULL);
}

/* Remove l's oldest generation (under the id's lock, the container still gone). */
static bool remove_oldest(struct gc *gc, struct gone_log *l, const char *why)
{
	struct log_gen *g = &l->g.v[l->next];
	int lock = container_lock(gc->cfg->state_dir, l->id, NULL);
	if (lock < 0)
		return false;
	bool ok = log_gone(gc->cfg, l->id);
	if (ok && unlink(g->path) < 0 && errno != ENOENT) {
		log_error(l->id, "cannot remove audit log %s: %s", g->path, strerror(errno));
		gc->failed = 1;
		ok = false;
	}
	container_unlock(gc->cfg->state_dir, l->id, lock);
	if (!ok)
		return false;
	gc_report(gc, "removed", "log", g->name, why);
	l->next++;
	return true;
}

/*
 * log_retention.compress: the rotated generations of gone containers that are still
 * plain (logrotate's delaycompress compresses a generation at the next rotation, and a
 * gone container's log is never rotated again) are gzipped, under the id's lock.
 */
static void gc_compress(struct gc *gc, const char *id)
{
	const struct config *cfg = gc->cfg;
	struct log_gens g;
	log_gens_list(cfg->log_dir, id, &g);
	for (size_t i = 0; i < g.n; i++) {
		if (g.v[i].n.live || g.v[i].n.gz || log_gen_has_twin(&g, i))
			continue;
		int lock = container_lock(cfg->state_dir, id, NULL);
		if (lock < 0)
			break;
		struct error err = { 0 };
		int r = log_gone(cfg, id) ? log_gen_compress(cfg->log_dir, &g.v[i], &err) : -EBUSY;
		container_unlock(cfg->state_dir, id, lock);
		if (r == -EBUSY)
			break;
		if (r < 0) {
			log_error(id, "%s", err.msg);
			err_clear(&err);
			gc->failed = 1;
			continue;
		}
		gc_report(gc, "compressed", "log", g.v[i].name, "log_retention.compress");
	}
	log_gens_free(&g);
}

void gc_logs(struct gc *gc)
{
	const struct config *cfg = gc->cfg;
	if (cfg->log_compress) {
		char **ids = log_ids(cfg->log_dir);
		for (char **id = ids; *id; id++)
			if (log_gone(cfg, *id))
				gc_compress(gc, *id);
		strv_free(ids);
	}
	if (!cfg->log_max_age_s && !cfg->log_max_bytes)
		return;   /* the default: logs are kept */
	struct gone_log *logs = NULL;
	size_t n = 0;
	unsigned long long total = 0;
	char **ids = log_ids(cfg->log_dir);
	for (char **id = ids; *id; id++) {
		if (!log_gone(cfg, *id))
			continue;
		struct gone_log l = { .id = xstrdup(*id) };
		log_gens_list(cfg->log_dir, *id, &l.g);
		/* A generation logrotate is compressing (plain and .gz both there) and all
		 * after it stay: only whole generations go, oldest first. */
		size_t keep = l.g.n;
		for (size_t i = 0; i < l.g.n && keep == l.g.n; i++)
			if (log_gen_has_twin(&l.g, i))
				keep = i;
		for (size_t i = keep; i < l.g.n; i++)
			free(l.g.v[i].name), free(l.g.v[i].path), free(l.g.v[i].n.id);
		l.g.n = keep;
		for (size_t i = 0; i < l.g.n; i++)
			total += l.g.v[i].st.st_size;
		logs = xrealloc(logs, (n + 1) * sizeof(*logs));
		logs[n++] = l;
	}
	strv_free(ids);

	/* Older than max_age (by the time of its last write): gone, oldest first. */
	if (cfg->log_max_age_s) {
		time_t now = time(NULL);
		_cleanup_free_ char *why = xasprintf("older than log_retention.max_age, %llus",
						     cfg->log_max_age_s);
		for (size_t i = 0; i < n; i++)
			while (logs[i].next < logs[i].g.n &&
			       (unsigned long long)(now - logs[i].g.v[logs[i].next].st.st_mtime) > cfg->log_max_age_s) {
				off_t size = logs[i].g.v[logs[i].next].st.st_size;
				if (!remove_oldest(gc, &logs[i], why))
					break;
				total -= size;
			}
	}
	/* More than max_bytes in all: the oldest generation of all goes first. */
	while (cfg->log_max_bytes && total > cfg->log_max_bytes) {
		struct gone_log *oldest = NULL;
		for (size_t i = 0; i < n; i++) {
			struct gone_log *l = &logs[i];
			if (l->next < l->g.n && (!oldest || l->g.v[l->next].st.st_mtime <
							    oldest->g.v[oldest->next].st.st_mtime))
				oldest = l;
		}
		if (!oldest)
			break;
		off_t size = oldest->g.v[oldest->next].st.st_size;
		if (!remove_oldest(gc, oldest, "log_retention.max_bytes")) {
			oldest->next = oldest->g.n;   /* that container's log stays, this time */
			continue;
		}
		total -= size;
	}
	for (size_t i = 0; i < n; i++) {
		log_gens_free(&logs[i].g);
		free(logs[i].id);
	}
	free(logs);
}
