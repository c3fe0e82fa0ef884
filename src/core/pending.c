/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "auditlog.h"
#include "json.h"
#include "paths.h"
#include "pending.h"
#include "record.h"

#define PENDING_MAX (1 << 20)

/* The pending file of id, locked (fd) and read (*ret: NULL when empty or absent). */
static int pending_lock(const char *state_dir, const char *id, bool create, yajl_val *ret)
{
	*ret = NULL;
	if (!valid_id(id))
		return -EINVAL;
	_cleanup_free_ char *dir = path_pending_dir(state_dir);
	_cleanup_free_ char *path = path_pending(state_dir, id);
	if (create) {
		int r = mkdir_p(dir, 0700);
		if (r < 0)
			return r;
	}
	int fd;
	struct stat st;
	for (;;) {
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
		if (fd < 0)
			return -errno;
		if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0) {
			int r = -errno;
			close(fd);
			return r;
		}
		if (st.st_nlink > 0)
			break;
		close(fd);   /* written out and removed while we waited: look again */
	}
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r = read_fd(fd, PENDING_MAX, &text, &len);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (len > 0 && json_parse(text, path, ret, NULL) < 0)
		*ret = NULL;   /* torn by a crash: what it said is lost, start over */
	return fd;
}

static uint64_t lost_of(yajl_val v)
{
	long long n = 0;
	return v && json_get_int(v, "lost", &n) && n > 0 ? (uint64_t)n : 0;
}

/* The log_dir kept with what is pending, else FALLBACK (none kept: an older ocibpf's
 * file, or a new one). */
static const char *log_dir_of(yajl_val v, const char *fallback)
{
	const char *s = v ? json_get_string(v, "log_dir") : NULL;
	return s && s[0] == '/' ? s : fallback;
}

/* Rewrite the locked file: log_dir, lost count and stop (a value, or NULL). */
static int pending_write(int fd, const char *log_dir, uint64_t lost, uint64_t stop_ns,
			 yajl_val stop, void (*fields)(yajl_gen g, void *ud), void *ud)
{
	_cleanup_json_gen_ yajl_gen g = json_gen_new(false);
	yajl_gen_map_open(g);
	if (log_dir)
		jg_key_str(g, "log_dir", log_dir);
	jg_key_uint(g, "lost", lost);
	if (stop || fields) {
		jg_key_uint(g, "stop_ns", stop_ns);
		jg_key(g, "stop");
		if (stop) {
			jg_value(g, stop);
		} else {
			yajl_gen_map_open(g);
			fields(g, ud);
			yajl_gen_map_close(g);
		}
	}
	yajl_gen_map_close(g);
	size_t len;
	_cleanup_free_ char *text = json_gen_take(g, &len);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, text, len, 0) != (ssize_t)len)
		return -errno ? -errno : -EIO;
	return 0;
}

static uint64_t stop_ns_of(yajl_val v)
{
	long long n = 0;
	return v && json_get_int(v, "stop_ns", &n) && n > 0 ? (uint64_t)n : 0;
}

int pending_add_lost(const char *state_dir, const char *id, const char *log_dir, uint64_t n)
{
	_cleanup_json_ yajl_val v = NULL;
	_cleanup_close_ int fd = pending_lock(state_dir, id, true, &v);
	if (fd < 0)
		return fd;
	yajl_val stop = v ? json_get(v, "stop") : NULL;
	return pending_write(fd, log_dir_of(v, log_dir), lost_of(v) + n,
			     stop_ns_of(v), YAJL_IS_OBJECT(stop) ? stop : NULL, NULL, NULL);
}

int pending_set_stop(const char *state_dir, const char *id, const char *log_dir,
		     uint64_t realtime_ns, void (*fields)(yajl_gen g, void *ud), void *ud)
{
	_cleanup_json_ yajl_val v = NULL;
	_cleanup_close_ int fd = pending_lock(state_dir, id, true, &v);
	if (fd < 0)
		return fd;
	return pending_write(fd, log_dir_of(v, log_dir), lost_of(v), realtime_ns,
			     NULL, fields, ud);
}

bool pending_exists(const char *state_dir, const char *id, uint64_t *ret_lost)
{
	_cleanup_free_ char *path = path_pending(state_dir, id);
	if (ret_lost) {
		_cleanup_free_ char *text = NULL;
		_cleanup_json_ yajl_val v = NULL;
		*ret_lost = 0;
		if (read_file_nofollow(path, PENDING_MAX, &text, NULL) == 0 &&
		    json_parse(text, path, &v, NULL) == 0)
			*ret_lost = lost_of(v);
	}
	return access(path, F_OK) == 0;
}

static char *pending_id(const char *name)
{
	return id_of_file_name(name, ".json");
}

char **pending_list(const char *state_dir)
{
	_cleanup_free_ char *dir = path_pending_dir(state_dir);
	return dir_list(dir, pending_id);
}

int pending_flush(const struct config *cfg, const char *id, uint64_t *ret_lost, bool *ret_stop,
		  struct error *err)
{
	*ret_lost = 0;
	*ret_stop = false;
	_cleanup_json_ yajl_val v = NULL;
	_cleanup_close_ int fd = pending_lock(cfg->state_dir, id, false, &v);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return err_errno(err, fd, "cannot read what is pending for its audit log");
	_cleanup_free_ char *path = path_pending(cfg->state_dir, id);
	uint64_t lost = lost_of(v);
	yajl_val stop = v ? json_get(v, "stop") : NULL;
	if (lost || YAJL_IS_OBJECT(stop)) {
		_cleanup_auditlog_ struct auditlog *al = NULL;
		int r = auditlog_open(log_dir_of(v, cfg->log_dir), id, &al, err);
		if (r < 0)
			return r;
		r = auditlog_lock(al);
		if (r < 0)
			return err_errno(err, r, "cannot lock audit log %s", al->path);
		if (lost) {
			/* Lost before the stop, when there is one. */
			uint64_t ts = YAJL_IS_OBJECT(stop) && stop_ns_of(v) ? stop_ns_of(v) : realtime_ns();
			record_lost(al, ts, true, lost, "writing the audit log failed");
		}
		if (YAJL_IS_OBJECT(stop)) {
			yajl_gen g = auditlog_begin(al, "stop", stop_ns_of(v));
			for (size_t i = 0; i < stop->u.object.len; i++) {
				jg_key(g, stop->u.object.keys[i]);
				jg_value(g, stop->u.object.values[i]);
			}
			auditlog_end(al);
		}
		r = auditlog_flush(al);
		if (r < 0)
			return err_errno(err, r, "cannot write audit log %s", al->path);
	}
	unlink(path);
	*ret_lost = lost;
	*ret_stop = YAJL_IS_OBJECT(stop);
	return 0;
}
