/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "bpfset.h"
#include "cgroup.h"
#include "container.h"
#include "dirshare.h"
#include "paths.h"
#include "sha256.h"

/* <bpffs_dir>/state_dir/<HEX>/: a directory named for the state_dir (bpffs takes no
 * files, and a symlink would be 0777); "h" and a digest when the path is too long. */
#define BPFFS_MARKER "state_dir"
#define STATE_MARKER "bpffs_dir"
#define NAME_MAX_HEX 254

/* Running containers recorded in state_dir. */
static size_t live_runs(const char *state_dir)
{
	char **ids = container_list(state_dir);
	size_t n = 0;
	for (char **id = ids; *id; id++) {
		_cleanup_container_ struct container *c = NULL;
		if (container_read(state_dir, *id, &c, NULL) == 0 && container_running(c))
			n++;
	}
	strv_free(ids);
	return n;
}

static char *entry(const char *name)
{
	return name[0] == '.' ? NULL : xstrdup(name);
}

/* Whether a run of state_dir's records is named run. */
static bool run_recorded(char **runs, const char *run)
{
	for (char **r = runs; *r; r++)
		if (strcmp(*r, run) == 0)
			return true;
	return false;
}

/* The runs recorded in state_dir (a strv): all, or those of running containers. */
static char **run_tokens(const char *state_dir, bool alive_only)
{
	char **ids = container_list(state_dir);
	size_t n = 0;
	for (char **id = ids; *id; id++)
		n++;
	char **runs = xcalloc(n + 1, sizeof(*runs));
	n = 0;
	for (char **id = ids; *id; id++) {
		_cleanup_container_ struct container *c = NULL;
		if (container_read(state_dir, *id, &c, NULL) == 0 && c->run &&
		    (!alive_only || container_running(c)))
			runs[n++] = xstrdup(c->run);
	}
	strv_free(ids);
	return runs;
}

/* A link pinned in ldir still attached to a cgroup that exists (a running container's). */
static bool links_in_force(const char *ldir)
{
	char **e = dir_list(ldir, entry);
	bool live = false;
	for (char **x = e; *x && !live; x++) {
		_cleanup_free_ char *pin = path_join(ldir, *x);
		_cleanup_close_ int fd = bpf_obj_get(pin);
		struct bpf_link_info info = { 0 };
		uint32_t len = sizeof(info);
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0 ||
		    info.type != BPF_LINK_TYPE_CGROUP || !info.cgroup.cgroup_id)
			continue;
		int cfd = cgroup_open_by_id(info.cgroup.cgroup_id);
		if (cfd >= 0) {
			close(cfd);
			live = true;
		}
	}
	strv_free(e);
	return live;
}

/*
 * No marker in bpffs_dir that names a state_dir (the first use, removed or edited by
 * hand, a digest): containers running from it that no record of ours names are another
 * configuration's. Counted from its per-run links still in force (a run whose cgroup is
 * gone is a leftover for gc).
 */
static size_t foreign_runs_in_bpffs(const char *bpffs, const char *state)
{
	_cleanup_free_ char *links = path_links_dir(bpffs);
	char **e = dir_list(links, entry);
	size_t n = 0;
	if (e[0]) {
		char **ours = run_tokens(state, false);
		for (char **x = e; *x; x++) {
			_cleanup_free_ char *ldir = path_join(links, *x);
			if (!run_recorded(ours, *x) && links_in_force(ldir))
				n++;
		}
		strv_free(ours);
	}
	strv_free(e);
	return n;
}

/* No marker in state_dir naming bpffs_dir (the first use, removed or edited by hand):
 * running containers recorded there whose links are not in bpffs_dir are another
 * configuration's. */
static size_t foreign_runs_in_state(const char *state, const char *bpffs)
{
	char **runs = run_tokens(state, true);
	size_t n = 0;
	for (char **r = runs; *r; r++) {
		_cleanup_free_ char *ldir = path_links(bpffs, *r);
		if (access(ldir, F_OK) < 0)
			n++;
	}
	strv_free(runs);
	return n;
}

static char *encode(const char *path)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = strlen(path);
	if (len * 2 > NAME_MAX_HEX) {
		uint8_t d[32];
		struct sha256 h;
		sha256_init(&h);
		sha256_update(&h, path, len);
		sha256_final(&h, d);
		char *out = xcalloc(1, 2 + 64);
		out[0] = 'h';
		for (size_t i = 0; i < 32; i++) {
			out[1 + 2 * i] = hex[d[i] >> 4];
			out[2 + 2 * i] = hex[d[i] & 15];
		}
		return out;
	}
	char *out = xcalloc(1, len * 2 + 1);
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[(uint8_t)path[i] >> 4];
		out[2 * i + 1] = hex[(uint8_t)path[i] & 15];
	}
	return out;
}

/* The path a marker names, or NULL (a digest: it can't be told). */
static char *decode(const char *name)
{
	size_t len = strlen(name);
	if (len % 2 || len == 0 || name[0] == 'h')
		return NULL;
	char *out = xcalloc(1, len / 2 + 1);
	for (size_t i = 0; i < len / 2; i++) {
		unsigned v;
		if (sscanf(name + 2 * i, "%2x", &v) != 1 || v == 0) {
			free(out);
			return NULL;
		}
		out[i] = (char)v;
	}
	return out;
}

/* The state_dir a marker directory names ("another configuration" when it can't be told). */
static char *marker_owner(const char *marker_dir)
{
	char **e = dir_list(marker_dir, entry);
	char *owner = NULL;
	if (e[0]) {
		owner = decode(e[0]);
		if (!owner)
			owner = xstrdup("(a path too long to name)");
	}
	strv_free(e);
	return owner;
}

/*
 * One bpffs_dir inside another's sets/ or containers/ (where `ocibpf gc` of the outer one
 * removes what it finds), or anywhere under another: refused whatever runs, a
 * configuration error. Looked for when bpffs_dir is claimed (the first use).
 */
static int check_nesting(const char *bpffs, const char *shown, struct error *err)
{
	_cleanup_free_ char *p = xstrdup(bpffs);
	for (char *slash; (slash = strrchr(p, '/')) && slash != p;) {
		*slash = '\0';
		if (!on_bpffs(p))
			break;
		_cleanup_free_ char *m = path_join(p, BPFFS_MARKER);
		_cleanup_free_ char *owner = marker_owner(m);
		if (owner)
			return err_msg(err, -EBUSY,
				       "bpffs_dir %s is inside %s, the bpffs_dir of the configuration with state_dir %s: give each configuration a bpffs_dir of its own, side by side",
				       shown, p, owner);
	}
	static const char *const subs[] = { "sets", "containers" };
	for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
		_cleanup_free_ char *sub = path_join(bpffs, subs[i]);
		char **e = dir_list(sub, entry);
		int r = 0;
		for (char **x = e; *x && !r; x++) {
			_cleanup_free_ char *d = path_join(sub, *x);
			_cleanup_free_ char *m = path_join(d, BPFFS_MARKER);
			_cleanup_free_ char *owner = marker_owner(m);
			if (owner)
				r = err_msg(err, -EBUSY,
					    "bpffs_dir %s holds %s, the bpffs_dir of the configuration with state_dir %s (`ocibpf gc` would remove it): give each configuration a bpffs_dir of its own, side by side",
					    shown, d, owner);
		}
		strv_free(e);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * bpffs_dir's marker should name state (the canonical state_dir). Another one: refused
 * while its configuration runs a container, else removed and ours made.
 */
static int check_bpffs(const char *bpffs, const char *state, const char *shown, struct error *err)
{
	_cleanup_free_ char *dir = path_join(bpffs, BPFFS_MARKER);
	_cleanup_free_ char *name = encode(state);
	_cleanup_free_ char *mine = path_join(dir, name);
	if (access(mine, F_OK) == 0)
		return 0;
	int nr = check_nesting(bpffs, shown, err);
	if (nr < 0)
		return nr;
	char **others = dir_list(dir, entry);
	int r = 0;
	if (!others[0]) {
		size_t n = foreign_runs_in_bpffs(bpffs, state);
		if (n > 0)
			r = err_msg(err, -EBUSY,
				    "bpffs_dir %s is in use by another configuration (%zu running container%s that no record in %s names; its marker %s is gone): two configurations can't share a bpffs_dir or a state_dir; give each its own",
				    shown, n, n == 1 ? "" : "s", state, dir);
	}
	for (char **o = others; *o && !r; o++) {
		_cleanup_free_ char *other = decode(*o);
		_cleanup_free_ char *odir = path_join(dir, *o);
		if (other) {
			size_t n = live_runs(other);
			if (n > 0)
				r = err_msg(err, -EBUSY,
					    "bpffs_dir %s is in use by the configuration with state_dir %s (%zu running container%s): two configurations can't share a bpffs_dir or a state_dir; give each its own",
					    shown, other, n, n == 1 ? "" : "s");
		} else {
			/* A marker that names no path (a digest, or edited by hand): the running
			 * containers with links here are another's unless our records name them. */
			size_t n = foreign_runs_in_bpffs(bpffs, state);
			if (n > 0)
				r = err_msg(err, -EBUSY,
					    "bpffs_dir %s is in use by another configuration (%zu running container%s that no record in %s names): two configurations can't share a bpffs_dir or a state_dir; give each its own",
					    shown, n, n == 1 ? "" : "s", state);
		}
		if (!r)
			rmdir(odir);
	}
	strv_free(others);
	if (r < 0)
		return r;
	r = mkdir_p(mine, 0700);
	if (r < 0)
		return err_errno(err, r, "cannot create %s", mine);
	return 0;
}

static char *read_state_marker(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	if (read_file_nofollow(path, 1 << 16, &text, &len) < 0)
		return NULL;
	text[strcspn(text, "\n")] = '\0';
	return text;
}

static int write_state_marker(const char *path, const char *value)
{
	return write_file_atomic(path, value, strlen(value), 0600);
}

/*
 * state_dir's marker should name bpffs (canonical): another one, refused while containers
 * recorded there run with no links in bpffs (that configuration's), else rewritten. (One
 * whose links are here is ours, whatever a marker edited by hand says.)
 */
static int check_state(const char *state, const char *bpffs, const char *shown, struct error *err)
{
	_cleanup_free_ char *path = path_join(state, STATE_MARKER);
	_cleanup_free_ char *have = read_state_marker(path);
	if (have && strcmp(have, bpffs) == 0)
		return 0;
	if (have && have[0]) {
		size_t n = foreign_runs_in_state(state, bpffs);
		if (n > 0)
			return err_msg(err, -EBUSY,
				       "state_dir %s is in use by the configuration with bpffs_dir %s (%zu running container%s): two configurations can't share a bpffs_dir or a state_dir; give each its own",
				       shown, have, n, n == 1 ? "" : "s");
	} else if (!have) {
		size_t n = foreign_runs_in_state(state, bpffs);
		if (n > 0)
			return err_msg(err, -EBUSY,
				       "state_dir %s is in use by another configuration (%zu running container%s whose pins are not in %s; its marker %s is gone): two configurations can't share a bpffs_dir or a state_dir; give each its own",
				       shown, n, n == 1 ? "" : "s", bpffs, path);
	}
	int r = write_state_marker(path, bpffs);
	if (r < 0)
		return err_errno(err, r, "cannot write %s", path);
	return 0;
}

char *dirshare_other_state(const struct config *cfg)
{
	if (!on_bpffs(cfg->bpffs_dir))
		return NULL;
	_cleanup_free_ char *dir = path_join(cfg->bpffs_dir, BPFFS_MARKER);
	char **e = dir_list(dir, entry);
	char *other = e[0] && !e[1] ? decode(e[0]) : NULL;
	strv_free(e);
	/* The marker holds a canonical path: ours as written (the common case), no
	 * realpath's readlinks. */
	if (!other || strcmp(other, cfg->state_dir) == 0) {
		free(other);
		return NULL;
	}
	_cleanup_free_ char *state = realpath(cfg->state_dir, NULL);
	if (other[0] != '/' || (state && strcmp(state, other) == 0)) {
		free(other);
		other = NULL;
	}
	return other;
}

int dirshare_check(const struct config *cfg, struct error *err)
{
	if (!on_bpffs(cfg->bpffs_dir))
		return 0;   /* no set can be opened there: bpfset_open says why */
	int r = mkdir_p(cfg->bpffs_dir, 0700);
	if (r < 0)
		return err_errno(err, r, "cannot create %s", cfg->bpffs_dir);
	_cleanup_free_ char *bpffs = realpath(cfg->bpffs_dir, NULL);
	if (!bpffs)
		return err_errno(err, -errno, "cannot resolve %s", cfg->bpffs_dir);
	_cleanup_free_ char *state = realpath(cfg->state_dir, NULL);
	if (!state)
		return err_errno(err, -errno, "cannot resolve %s", cfg->state_dir);
	r = check_bpffs(bpffs, state, cfg->bpffs_dir, err);
	if (r < 0)
		return r;
	return check_state(state, bpffs, cfg->state_dir, err);
}

void dirshare_release_bpffs(const struct config *cfg)
{
	_cleanup_free_ char *bm = path_join(cfg->bpffs_dir, BPFFS_MARKER);
	rm_rf(bm);
}
