/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "auditlog.h"
#include "json.h"
#include "paths.h"

static void out_grow(struct auditlog *al, size_t len)
{
	al->out_cap = (al->out_len + len) * 2;
	al->out = xrealloc(al->out, al->out_cap);
}

static inline void out_append(struct auditlog *al, const void *p, size_t len)
{
	if (__builtin_expect(al->out_len + len > al->out_cap, 0))
		out_grow(al, len);
	char *d = al->out + al->out_len;
	if (len == 1)
		*d = *(const char *)p;   /* most pieces: a quote, a comma, a colon */
	else
		memcpy(d, p, len);
	al->out_len += len;
}

/* yajl's output (in pieces of a few bytes: a quote, a comma, a key). */
static void out_print(void *ctx, const char *p, size_t len)
{
	out_append(ctx, p, len);
}

void auditlog_init_gen(struct auditlog *al)
{
	al->gen = json_gen_new(false);
	/* Records are generated straight into the batch (out), not into yajl's buffer. */
	yajl_gen_config(al->gen, yajl_gen_print_callback, out_print, al);
}

int auditlog_open(const char *log_dir, const char *id, struct auditlog **ret, struct error *err)
{
	if (!valid_id(id))
		return err_msg(err, -EINVAL, "invalid container id");
	struct stat st;
	bool fresh = stat(log_dir, &st) < 0;
	int r = mkdir_p(log_dir, 0750);
	if (r < 0)
		return err_errno(err, r, "cannot create log_dir %s", log_dir);
	if (fresh)
		chmod(log_dir, 0750);  /* umask may have narrowed it; never widen an existing one */
	_cleanup_close_ int dfd = open(log_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0) {
		r = -errno;
		/* O_NOFOLLOW|O_DIRECTORY on a symlink says ENOTDIR: say what it is. */
		if ((r == -ENOTDIR || r == -ELOOP) && lstat(log_dir, &st) == 0 && S_ISLNK(st.st_mode))
			return err_msg(err, -ELOOP,
				       "log_dir %s is a symbolic link (not followed: set log_dir to the directory it points to)",
				       log_dir);
		return err_errno(err, r, "cannot open log_dir %s", log_dir);
	}
	_cleanup_free_ char *name = path_audit_log_name(id);
	int fd = openat(dfd, name, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);
	if (fd < 0)
		return err_errno(err, -errno, "cannot open audit log %s/%s", log_dir, name);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_msg(err, -EINVAL, "audit log %s/%s is not a regular file", log_dir, name);
	}
	if ((st.st_mode & 07777) != 0640)
		fchmod(fd, 0640);
	struct auditlog *al = xcalloc(1, sizeof(*al));
	al->fd = fd;
	al->id = xstrdup(id);
	al->path = path_join(log_dir, name);
	auditlog_init_gen(al);
	al->size_after = -1;
	*ret = al;
	return 0;
}

void auditlog_close(struct auditlog *al)
{
	if (!al)
		return;
	auditlog_unlock(al);
	close(al->fd);
	yajl_gen_free(al->gen);
	free(al->out);
	free(al->id);
	free(al->path);
	free(al);
}

/* The seq a line holds: parsed, or, for a whole line that is not JSON (a record an
 * older writer made of bytes that are not UTF-8), read from the "{"seq":N," every record
 * starts with. 0 when neither. */
static uint64_t seq_of_line(const char *p, size_t len)
{
	_cleanup_free_ char *line = strndup(p, len);
	if (!line)
		abort();
	if (strlen(line) != len)
		return 0;   /* a NUL: none of ours */
	_cleanup_json_ yajl_val v = NULL;
	long long seq;
	if (json_parse(line, "log", &v, NULL) == 0)
		return json_get_int(v, "seq", &seq) && seq > 0 ? (uint64_t)seq : 0;
	static const char lead[] = "{\"seq\":";
	const char *digits = line + sizeof(lead) - 1;
	if (len < sizeof(lead) || memcmp(line, lead, sizeof(lead) - 1) != 0 || line[len - 1] != '}' ||
	    *digits < '0' || *digits > '9')
		return 0;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(digits, &end, 10);
	return errno == 0 && *end == ',' && n <= INT64_MAX ? n : 0;
}

uint64_t auditlog_last_seq(const char *tail, size_t len)
{
	/* Complete lines end with '\n'; a torn last one is not a record. */
	while (len > 0 && tail[len - 1] != '\n')
		len--;
	/* From the last complete line back, the first that holds a seq (the first line of
	 * the tail may be the end of a longer one: it holds none, unless it is whole). */
	while (len > 0) {
		size_t end = len - 1, start = end;
		while (start > 0 && tail[start - 1] != '\n')
			start--;
		uint64_t seq = seq_of_line(tail + start, end - start);
		if (seq)
			return seq;
		len = start;
	}
	return 0;
}

static int learn_seq(struct auditlog *al);

int auditlog_lock(struct auditlog *al)
{
	if (flock(al->fd, LOCK_EX) < 0)
		return -errno;
	al->locked = true;
	return learn_seq(al);
}

static int learn_seq(struct auditlog *al)
{
	struct stat st;
	if (fstat(al->fd, &st) < 0)
		return -errno;
	if (st.st_size == al->size_after) {
		al->seq_locked = al->seq;
		return 0;   /* nobody appended since our last write: seq is still ours */
	}
	if (st.st_size == 0) {
		al->seq = al->seq_locked = 0;
		return 0;
	}
	size_t want = st.st_size < 65536 ? (size_t)st.st_size : 65536;
	_cleanup_free_ char *buf = xcalloc(1, want + 1);
	ssize_t n = pread(al->fd, buf, want, st.st_size - want);
	if (n < 0)
		return -errno;
	al->seq = al->seq_locked = auditlog_last_seq(buf, n);
	/* A torn last line (a writer died mid-record) must not swallow the next record. */
	if (n > 0 && buf[n - 1] != '\n')
		(void)!write(al->fd, "\n", 1);
	return 0;
}

void auditlog_unlock(struct auditlog *al)
{
	if (al->locked)
		flock(al->fd, LOCK_UN);
	al->locked = false;
}

yajl_gen auditlog_begin(struct auditlog *al, const char *type, uint64_t ts_ns)
{
	char ts[32];
	format_rfc3339(ts_ns, ts);
	if (al->in_record)
		al->out_len = al->record_start;   /* a record begun and never ended: gone */
	al->in_record = true;
	al->record_start = al->out_len;
	yajl_gen_reset(al->gen, NULL);
	yajl_gen_map_open(al->gen);
	jg_key_uint(al->gen, "seq", al->seq + 1);
	jg_key_str(al->gen, "ts", ts);
	jg_key_str(al->gen, "container", al->id);
	jg_key_str(al->gen, "type", type);
	return al->gen;
}

void auditlog_end(struct auditlog *al)
{
	yajl_gen_map_close(al->gen);
	out_append(al, "\n", 1);
	al->in_record = false;
	al->seq++;
	al->out_records += al->weight ? al->weight : 1;
	al->weight = 0;
}

int auditlog_flush(struct auditlog *al)
{
	if (al->in_record) {
		al->out_len = al->record_start;   /* never ended: not a record */
		al->in_record = false;
	}
	if (al->out_len == 0)
		return 0;
	struct stat st;
	ssize_t w = write(al->fd, al->out, al->out_len);
	int r = w < 0 ? -errno : (size_t)w != al->out_len ? -ENOSPC : 0;
	/* A short write (disk full) leaves a torn record: take its w bytes back (we hold the
	 * lock: nobody appended after them). The batch is lost as a whole, and the `lost`
	 * record counts all of it. */
	if (w > 0 && r < 0 && fstat(al->fd, &st) == 0 && st.st_size >= w)
		(void)!ftruncate(al->fd, st.st_size - w);
	if (r < 0) {
		/* The batch is gone: the next batch starts with a `lost` record for it. Its
		 * records count as many as they stand for: a `lost` record in it (the one for
		 * an earlier failure first of all) counts the records it accounts for. */
		al->dropped = (al->carried ? 0 : al->dropped) + al->out_records;
		al->seq = al->seq_locked;
		al->size_after = -1;
	} else {
		if (al->carried)
			al->dropped = 0;
		al->seq_locked = al->seq;
		al->size_after = fstat(al->fd, &st) == 0 ? st.st_size : -1;
	}
	al->out_len = 0;
	al->out_records = 0;
	al->carried = false;
	return r;
}
