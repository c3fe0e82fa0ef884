/* SPDX-License-Identifier: Apache-2.0 */
/* A container as people name it: id, name, or unique id prefix (resolve.h). */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "container.h"
#include "loggens.h"
#include "paths.h"
#include "resolve.h"

#define CANDIDATES_SHOWN 8

/* "a, b, c" (at most CANDIDATES_SHOWN, then "and N more"). */
static char *list_of(char **v, size_t n)
{
	char *s = xstrdup("");
	for (size_t i = 0; i < n && i < CANDIDATES_SHOWN; i++) {
		char *t = xasprintf("%s%s%s", s, i ? ", " : "", v[i]);
		free(s);
		s = t;
	}
	if (n > CANDIDATES_SHOWN) {
		char *t = xasprintf("%s and %zu more", s, n - CANDIDATES_SHOWN);
		free(s);
		s = t;
	}
	return s;
}

/* 0 when dir can be listed, or is missing (nothing made there yet: nothing to find);
 * else the negative errno. */
static int dir_listable(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		closedir(d);
		return 0;
	}
	return errno == ENOENT ? 0 : -errno;
}

/* One match among ids: 0 with *ret; -ENOENT none; -EEXIST several. */
static int pick(char **matches, size_t n, const char *what, char **ret, struct error *err)
{
	if (n == 0)
		return -ENOENT;
	if (n > 1) {
		_cleanup_free_ char *l = list_of(matches, n);
		return err_msg(err, -EEXIST, "ambiguous %s: %zu containers match: %s", what, n, l);
	}
	*ret = xstrdup(matches[0]);
	return 0;
}

static int by_prefix(char **ids, const char *arg, const char *what, char **ret, struct error *err)
{
	size_t n = 0, len = strlen(arg);
	_cleanup_free_ char **m = NULL;
	for (char **id = ids; id && *id; id++)
		if (strncmp(*id, arg, len) == 0) {
			m = xrealloc(m, (n + 1) * sizeof(char *));
			m[n++] = *id;
		}
	return pick(m, n, what, ret, err);
}

/* The ids of the audit logs (live or rotated) and of the monitored containers, once each. */
static char **with_log_ids(const struct config *cfg, char **ids)
{
	char **logs = log_ids(cfg->log_dir);
	size_t n = 0;
	while (logs[n])
		n++;
	for (char **id = ids; *id; id++) {
		bool seen = false;
		for (char **l = logs; *l && !seen; l++)
			seen = strcmp(*l, *id) == 0;
		if (seen)
			continue;
		logs = xrealloc(logs, (n + 2) * sizeof(char *));
		logs[n++] = xstrdup(*id);
		logs[n] = NULL;
	}
	return logs;
}

int resolve_id(const struct config *cfg, const char *arg, enum resolve_scope scope, char **ret_id,
	       struct error *err)
{
	if (!arg || !*arg)
		return err_msg(err, -EINVAL, "empty container id");
	char **ids = container_list(cfg->state_dir);
	char **logs = NULL;
	int r;

	/* 1. an exact id */
	for (char **id = ids; *id; id++)
		if (strcmp(*id, arg) == 0) {
			*ret_id = xstrdup(arg);
			r = 0;
			goto out;
		}
	if (scope == RESOLVE_LOGS && valid_id(arg) && log_exists(cfg->log_dir, arg)) {
		*ret_id = xstrdup(arg);
		r = 0;
		goto out;
	}

	/* 2. a name, exactly (as docker and podman: before prefixes) */
	{
		size_t n = 0;
		_cleanup_free_ char **m = NULL;
		for (char **id = ids; *id; id++) {
			_cleanup_container_ struct container *c = NULL;
			if (container_read(cfg->state_dir, *id, &c, NULL) < 0 || !c->name ||
			    strcmp(c->name, arg) != 0)
				continue;
			m = xrealloc(m, (n + 1) * sizeof(char *));
			m[n++] = *id;
		}
		r = pick(m, n, "name", ret_id, err);
		if (r != -ENOENT)
			goto out;
	}

	/* 3. a unique prefix of a monitored container's id, or (RESOLVE_LOGS) of a
	 * monitored container's or a log's: a gone container counts as a stopped one does
	 * for docker, so that a prefix of two never picks the running one unasked */
	r = -ENOENT;
	if (valid_id(arg) && scope == RESOLVE_LOGS) {
		logs = with_log_ids(cfg, ids);
		r = by_prefix(logs, arg, "id prefix", ret_id, err);
	} else if (valid_id(arg)) {
		r = by_prefix(ids, arg, "id prefix", ret_id, err);
	}
	if (r == -ENOENT) {
		/* Nothing found where nothing could be read (not root): say so. */
		_cleanup_free_ char *records = path_records_dir(cfg->state_dir);
		const char *unread = records;
		int e = dir_listable(records);
		if (e == 0 && scope == RESOLVE_LOGS)
			e = dir_listable(unread = cfg->log_dir);
		if (e < 0)
			r = err_msg(err, e, "no such container found: cannot read %s: %s", unread,
				    strerror(-e));
		else
			r = err_msg(err, -ENOENT, "no such container: no %s has this id, id prefix or name",
				    scope == RESOLVE_LOGS ? "monitored container or audit log" :
							    "monitored container");
	}
out:
	strv_free(ids);
	strv_free(logs);
	return r;
}

int resolve_id_or_report(const struct config *cfg, const char *arg, enum resolve_scope scope,
			 char **ret_id)
{
	struct error err = { 0 };
	int r = resolve_id(cfg, arg, scope, ret_id, &err);
	if (r < 0) {
		_cleanup_free_ char *shown = resolve_printable(arg);
		fprintf(stderr, "%s: %s: %s\n", program_name, shown, err.msg);
		err_clear(&err);
	}
	return r;
}

char *resolve_printable(const char *s)
{
	char *p = xstrdup(s ? s : "");
	for (unsigned char *q = (unsigned char *)p; *q; q++)
		if (*q < 0x20 || *q == 0x7f)
			*q = '?';
	return p;
}
