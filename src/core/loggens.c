/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loggens.h"

static int key_cmp(const struct log_name *a, const struct log_name *b)
{
	if (a->live != b->live)
		return a->live ? 1 : -1;
	if (a->numbered != b->numbered)
		return a->numbered ? -1 : 1;
	if (a->numbered)   /* .1 is the newest */
		return a->key[0] < b->key[0] ? 1 : a->key[0] > b->key[0] ? -1 : 0;
	for (size_t i = 0; i < a->n_key && i < b->n_key; i++)
		if (a->key[i] != b->key[i])
			return a->key[i] < b->key[i] ? -1 : 1;
	return a->n_key < b->n_key ? -1 : a->n_key > b->n_key ? 1 : 0;
}

static int gen_cmp(const void *pa, const void *pb)
{
	const struct log_gen *a = pa, *b = pb;
	int c = key_cmp(&a->n, &b->n);
	if (c)
		return c;
	if (a->n.gz != b->n.gz)
		return a->n.gz ? 1 : -1;
	return strcmp(a->name, b->name);
}

static void gen_free(struct log_gen *g)
{
	free(g->name);
	free(g->path);
	free(g->n.id);
}

void log_gens_list(const char *log_dir, const char *id, struct log_gens *ret)
{
	*ret = (struct log_gens){ 0 };
	DIR *d = opendir(log_dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct log_gen g = { 0 };
		if (path_log_name_parse(de->d_name, &g.n) < 0)
			continue;
		g.name = xstrdup(de->d_name);
		g.path = path_join(log_dir, de->d_name);
		/* Regular files only: a symlink or a directory under a log's name is not read. */
		if (strcmp(g.n.id, id) != 0 || lstat(g.path, &g.st) < 0 || !S_ISREG(g.st.st_mode)) {
			gen_free(&g);
			continue;
		}
		ret->v = xrealloc(ret->v, (ret->n + 1) * sizeof(*ret->v));
		ret->v[ret->n++] = g;
	}
	closedir(d);
	if (ret->n)
		qsort(ret->v, ret->n, sizeof(*ret->v), gen_cmp);
}

void log_gens_free(struct log_gens *g)
{
	for (size_t i = 0; i < g->n; i++)
		gen_free(&g->v[i]);
	free(g->v);
	*g = (struct log_gens){ 0 };
}

bool log_gen_has_twin(const struct log_gens *g, size_t i)
{
	/* Sorted: the plain one right before its .gz. */
	const struct log_gen *a = &g->v[i];
	if (a->n.live)
		return false;
	const struct log_gen *b = a->n.gz ? (i > 0 ? &g->v[i - 1] : NULL)
					  : (i + 1 < g->n ? &g->v[i + 1] : NULL);
	return b && b->n.gz != a->n.gz && !b->n.live && key_cmp(&a->n, &b->n) == 0 &&
	       a->n.n_key == b->n.n_key;
}

static char *id_of_log_name(const char *name)
{
	struct log_name n;
	return path_log_name_parse(name, &n) == 0 ? n.id : NULL;
}

char **log_ids(const char *log_dir)
{
	char **v = dir_list(log_dir, id_of_log_name);
	/* sorted: drop the repeats (one id, several generations) */
	size_t out = 0;
	for (size_t i = 0; v[i]; i++) {
		if (out > 0 && strcmp(v[out - 1], v[i]) == 0) {
			free(v[i]);
			continue;
		}
		v[out++] = v[i];
	}
	v[out] = NULL;
	return v;
}

bool log_exists(const char *log_dir, const char *id)
{
	struct log_gens g;
	log_gens_list(log_dir, id, &g);
	bool any = g.n > 0;
	log_gens_free(&g);
	return any;
}

int log_gen_compress(const char *log_dir, const struct log_gen *g, struct error *err)
{
	if (g->n.live || g->n.gz)
		return err_msg(err, -EINVAL, "%s is not a plain rotated generation", g->name);
	_cleanup_close_ int in = open(g->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	struct stat st;
	if (in < 0 || fstat(in, &st) < 0)
		return err_errno(err, -errno, "cannot open %s", g->path);
	if (!S_ISREG(st.st_mode))
		return err_msg(err, -EINVAL, "%s is not a regular file", g->path);
	_cleanup_free_ char *tmp = path_log_compressing(log_dir, g->name);
	_cleanup_free_ char *dst = xasprintf("%s.gz", g->path);
	unlink(tmp);   /* an earlier gc that died */
	_cleanup_close_ int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (out < 0)
		return err_errno(err, -errno, "cannot create %s", tmp);
	int zfd = dup(out);
	gzFile z = zfd >= 0 ? gzdopen(zfd, "wb6") : NULL;
	if (!z) {
		if (zfd >= 0)
			close(zfd);
		unlink(tmp);
		return err_msg(err, -ENOMEM, "cannot compress %s", g->path);
	}
	char buf[65536];
	ssize_t n;
	int r = 0;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (gzwrite(z, buf, (unsigned)n) != (int)n) {
			r = -EIO;
			break;
		}
	if (n < 0)
		r = -errno;
	if (gzclose(z) != Z_OK && r == 0)
		r = -EIO;
	/* the mtime of the last record, for max_age */
	struct timespec times[2] = { st.st_atim, st.st_mtim };
	if (r == 0 && (fchmod(out, 0640) < 0 || futimens(out, times) < 0 || fsync(out) < 0))
		r = -errno;
	if (r == 0 && link(tmp, dst) < 0)
		r = -errno;
	unlink(tmp);
	if (r < 0)
		return err_errno(err, r, "cannot compress %s into %s", g->path, dst);
	if (unlink(g->path) < 0 && errno != ENOENT)
		return err_errno(err, -errno, "cannot remove %s (compressed into %s)", g->path, dst);
	return 0;
}
