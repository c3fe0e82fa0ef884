/* SPDX-License-Identifier: Apache-2.0 */
/* Reading a container's log over time: generations (plain or gzip) then the live file. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <zlib.h>

#include "loggens.h"
#include "logreader.h"

/* How long the live file read before a rotation is still watched for a writer's last
 * records (the collector appends to it until logrotate's SIGHUP reaches it). */
#define ROTATED_GRACE_NS (3ULL * 1000000000ULL)

/* The longest line kept: far above any record (a few KiB); the bytes of a longer line
 * past it are read and dropped, and the line is not a record (a file that is no log, or a
 * gzip bomb, costs no more memory than this). */
#define LINE_MAX_KEPT (1024 * 1024)
/* Read at most this much at a time. */
#define CHUNK_BYTES 65536

struct source {
	char *name;         /* file name, for messages */
	FILE *in;           /* NULL: not open */
	gzFile gz;          /* under in, for a .gz */
	bool live;
	dev_t dev;
	ino_t ino;
	uint64_t lineno;
	char *carry;        /* a last line without its newline yet */
	size_t carry_len;
	bool carry_cut;     /* longer than LINE_MAX_KEPT: the rest was dropped */
	bool ended;         /* its damage (if any) was said */
};

struct record_reader {
	char *log_dir;
	char *id;
	char *live_path;
	struct log_gens gens;   /* what is read, in order (the live file appended on rotation) */
	size_t next;            /* next of gens to open */
	struct source cur;
	struct source prev;     /* the live file before a rotation, watched a while longer */
	unsigned long long prev_until;
	char *buf;
	size_t cap;
};

static ssize_t gz_cookie_read(void *cookie, char *buf, size_t size)
{
	int n = gzread(cookie, buf, size > INT32_MAX ? INT32_MAX : (unsigned)size);
	if (n < 0) {
		errno = EIO;
		return -1;
	}
	return n;
}

static int gz_cookie_close(void *cookie)
{
	(void)cookie;   /* gzclose'd by source_close: its error is read before */
	return 0;
}

static void source_close(struct source *s)
{
	if (s->in)
		fclose(s->in);
	if (s->gz)
		gzclose(s->gz);
	free(s->name);
	free(s->carry);
	*s = (struct source){ 0 };
}

static int source_open(struct source *s, const struct log_gen *g)
{
	*s = (struct source){ .name = xstrdup(g->name), .live = g->n.live };
	int fd = open(g->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	if (!g->n.gz) {
		s->in = fdopen(fd, "r");
		if (!s->in)
			abort();
		return 0;
	}
	s->gz = gzdopen(fd, "r");
	if (!s->gz)
		abort();
	s->in = fopencookie(s->gz, "r", (cookie_io_functions_t){ .read = gz_cookie_read,
								  .close = gz_cookie_close });
	if (!s->in)
		abort();
	return 0;
}

static void gen_of_path(struct record_reader *rr, const char *name, struct log_gen *g)
{
	*g = (struct log_gen){ .name = xstrdup(name), .path = path_join(rr->log_dir, name) };
	if (path_log_name_parse(name, &g->n) < 0)
		abort();   /* our own names only */
}

int record_reader_open(const char *log_dir, const char *id, struct record_reader **ret,
		       struct error *err)
{
	struct record_reader *rr = xcalloc(1, sizeof(*rr));
	rr->log_dir = xstrdup(log_dir);
	rr->id = xstrdup(id);
	rr->live_path = path_audit_log(log_dir, id);
	log_gens_list(log_dir, id, &rr->gens);
	/* A generation logrotate is compressing: its plain file (the .gz may be partial). */
	size_t out = 0;
	for (size_t i = 0; i < rr->gens.n; i++) {
		if (rr->gens.v[i].n.gz && log_gen_has_twin(&rr->gens, i)) {
			free(rr->gens.v[i].name);
			free(rr->gens.v[i].path);
			free(rr->gens.v[i].n.id);
			continue;
		}
		rr->gens.v[out++] = rr->gens.v[i];
	}
	rr->gens.n = out;
	if (rr->gens.n == 0) {
		int r = err_errno(err, -ENOENT, "cannot open audit log %s", rr->live_path);
		record_reader_close(rr);
		return r;
	}
	*ret = rr;
	return 0;
}

void record_reader_close(struct record_reader *rr)
{
	if (!rr)
		return;
	source_close(&rr->cur);
	source_close(&rr->prev);
	log_gens_free(&rr->gens);
	free(rr->log_dir);
	free(rr->id);
	free(rr->live_path);
	free(rr->buf);
	free(rr);
}

const char *record_reader_path(const struct record_reader *rr)
{
	return rr->live_path;
}

static void carry_add(struct source *s, const char *p, size_t n)
{
	if (n > LINE_MAX_KEPT - s->carry_len) {
		n = LINE_MAX_KEPT - s->carry_len;
		s->carry_cut = true;
	}
	if (n == 0 && s->carry)
		return;
	s->carry = xrealloc(s->carry, s->carry_len + n + 1);
	memcpy(s->carry + s->carry_len, p, n);
	s->carry_len += n;
	s->carry[s->carry_len] = '\0';
}

static int take_line(struct source *s, char *text, size_t len, struct record_line *line)
{
	*line = (struct record_line){ .file = xstrdup(s->name), .live = s->live, .lineno = ++s->lineno,
				      .text = text, .len = len };
	return record_parse(text, len, &line->rec) == 0 ? 1 : -EBADMSG;
}

/* A piece of a line, as getline but never more than CHUNK_BYTES: up to and with its
 * newline, or what there is before the end of the file; -1 at the end. */
static ssize_t read_chunk(FILE *in, char **buf, size_t *cap)
{
	if (*cap < CHUNK_BYTES) {
		*buf = xrealloc(*buf, CHUNK_BYTES);
		*cap = CHUNK_BYTES;
	}
	size_t n = 0;
	int c;
	while (n < CHUNK_BYTES && (c = getc_unlocked(in)) != EOF) {
		(*buf)[n++] = (char)c;
		if (c == '\n')
			break;
	}
	return n ? (ssize_t)n : -1;
}

static int take_carry(struct source *s, struct record_line *line)
{
	size_t len = s->carry_len;
	char *text = TAKE_PTR(s->carry);
	bool cut = s->carry_cut;
	s->carry_len = 0;
	s->carry_cut = false;
	int r = take_line(s, text, len, line);
	if (cut && r > 0) {
		/* its first bytes may read as a record: a line cut short is none */
		record_done(&line->rec);
		r = -EBADMSG;
	}
	return r;
}

/* A line of s; 0 at its end. final: a last line without newline is taken (after
 * waiting for a writer at work). */
static int source_read(struct record_reader *rr, struct source *s, bool final,
		       struct record_line *line)
{
	bool locked = false;
	int fd = s->gz ? -1 : fileno(s->in);
	for (;;) {
		ssize_t n = read_chunk(s->in, &rr->buf, &rr->cap);
		if (n > 0) {
			bool complete = rr->buf[n - 1] == '\n';
			carry_add(s, rr->buf, complete ? (size_t)n - 1 : (size_t)n);
			if (!complete)
				continue;
			if (locked)
				flock(fd, LOCK_UN);
			return take_carry(s, line);
		}
		if (ferror(s->in) || !s->carry || !final) {
			if (locked)
				flock(fd, LOCK_UN);
			if (!ferror(s->in))
				clearerr(s->in);
			return 0;
		}
		clearerr(s->in);
		if (!locked && fd >= 0) {
			/* Writers append under an exclusive lock: wait for the one at work. */
			flock(fd, LOCK_SH);
			locked = true;
			continue;
		}
		if (locked)
			flock(fd, LOCK_UN);
		return take_carry(s, line);
	}
}

/* After its last line: -EIO with why when s could not be read to its true end. */
static int source_damage(struct source *s, struct record_line *line)
{
	if (s->ended)
		return 0;
	s->ended = true;
	const char *why = NULL;
	int errnum = Z_OK;
	if (s->gz) {
		why = gzerror(s->gz, &errnum);
		if (errnum == Z_OK || errnum == Z_STREAM_END)
			why = NULL;
		else if (errnum == Z_BUF_ERROR)
			why = "truncated compressed data (unexpected end of file)";
	}
	if (!why && ferror(s->in))
		why = "read error";
	if (!why)
		return 0;
	*line = (struct record_line){ .file = xstrdup(s->name), .live = s->live,
				      .lineno = s->lineno, .text = xstrdup(why) };
	line->len = strlen(line->text);
	return -EIO;
}

/* The same rotated generation, plain or compressed: the same dateext suffix. */
static bool same_generation(const struct log_name *a, const struct log_name *b)
{
	return !a->live && !b->live && !a->numbered && !b->numbered && a->n_key == b->n_key &&
	       memcmp(a->key, b->key, a->n_key * sizeof(a->key[0])) == 0;
}

/*
 * The live file opened at `at` is not the one listed: logrotate rotated the log since (a
 * slow reader: `ocibpf audit ID | less` across the nightly rotation). What it rotated out
 * goes before the live file, in order: the file listed as live under its new name (the
 * same inode while it is plain), and dateext generations not listed before (was: what
 * the live file was when listed). Returns whether any was found.
 */
static bool catch_up(struct record_reader *rr, size_t at, const struct stat *was)
{
	struct log_gens now;
	log_gens_list(rr->log_dir, rr->id, &now);
	bool *take = xcalloc(now.n + 1, sizeof(*take));
	size_t n_take = 0;
	for (size_t i = 0; i < now.n; i++) {
		const struct log_gen *g = &now.v[i];
		if (g->n.live || (g->n.gz && log_gen_has_twin(&now, i)))
			continue;
		take[i] = g->st.st_dev == was->st_dev && g->st.st_ino == was->st_ino;
		if (!take[i] && !g->n.numbered) {
			take[i] = true;
			for (size_t k = 0; k < at && take[i]; k++)
				take[i] = !same_generation(&g->n, &rr->gens.v[k].n);
		}
		n_take += take[i];
	}
	if (n_take) {
		rr->gens.v = xrealloc(rr->gens.v, (rr->gens.n + n_take) * sizeof(*rr->gens.v));
		memmove(&rr->gens.v[at + n_take], &rr->gens.v[at],
			(rr->gens.n - at) * sizeof(*rr->gens.v));
		rr->gens.n += n_take;
		for (size_t i = 0, w = at; i < now.n; i++)
			if (take[i]) {
				rr->gens.v[w++] = now.v[i];
				now.v[i] = (struct log_gen){ 0 };
			}
	}
	free(take);
	log_gens_free(&now);
	return n_take > 0;
}

static int open_next(struct record_reader *rr, struct record_line *line)
{
	size_t at = rr->next;
	const struct log_gen *g = &rr->gens.v[rr->next++];
	int r = source_open(&rr->cur, g);
	if (r == 0 && g->n.live && (rr->cur.dev != g->st.st_dev || rr->cur.ino != g->st.st_ino)) {
		struct stat was = g->st;
		rr->gens.v[at].st.st_dev = rr->cur.dev;   /* the live file is this one now */
		rr->gens.v[at].st.st_ino = rr->cur.ino;
		if (catch_up(rr, at, &was)) {
			source_close(&rr->cur);
			rr->next = at;
			return open_next(rr, line);
		}
	}
	if (r == -ENOENT && !g->n.gz && !g->n.live) {
		/* compressed since we listed it */
		struct log_gen z = { 0 };
		_cleanup_free_ char *name = xasprintf("%s.gz", g->name);
		gen_of_path(rr, name, &z);
		source_close(&rr->cur);
		r = source_open(&rr->cur, &z);
		free(z.name);
		free(z.path);
		free(z.n.id);
	}
	if (r == 0)
		return 0;
	*line = (struct record_line){ .file = xstrdup(g->name), .text = xasprintf("cannot open: %s", strerror(-r)) };
	line->len = strlen(line->text);
	source_close(&rr->cur);
	return -EIO;
}

int record_read(struct record_reader *rr, bool final, struct record_line *line)
{
	for (;;) {
		if (rr->prev.in) {
			bool over = now_ns() >= rr->prev_until;
			int r = source_read(rr, &rr->prev, over, line);
			if (r)
				return r;
			if (!over)
				goto current;
			r = source_damage(&rr->prev, line);
			source_close(&rr->prev);
			if (r)
				return r;
		}
current:
		if (!rr->cur.in) {
			if (rr->next >= rr->gens.n)
				return 0;
			int r = open_next(rr, line);
			if (r)
				return r;
		}
		/* Only the live file grows: a generation is read to its end, its last line
		 * taken whole or not. */
		bool last = rr->next >= rr->gens.n;
		bool fin = !last || !rr->cur.live || final;
		int r = source_read(rr, &rr->cur, fin, line);
		if (r)
			return r;
		if (last && rr->cur.live)
			return 0;
		r = source_damage(&rr->cur, line);
		if (last)
			return r;   /* kept open: a live file may come after it (refresh) */
		source_close(&rr->cur);
		if (r)
			return r;
	}
}

void record_reader_skip_to_end(struct record_reader *rr)
{
	/* Nothing of the generations before the live file is read. */
	size_t live = rr->gens.n;
	if (live > 0 && rr->gens.v[live - 1].n.live)
		live--;
	rr->next = live;
	struct record_line l;
	if (live >= rr->gens.n)
		return;   /* no live file yet: all of the one that comes is new */
	if (open_next(rr, &l) < 0) {
		record_line_done(&l);
		return;
	}
	/* From the end of the last complete line. */
	int fd = fileno(rr->cur.in);
	off_t at = lseek(fd, 0, SEEK_END);
	char c;
	while (at > 0 && pread(fd, &c, 1, at - 1) == 1 && c != '\n')
		at--;
	fseeko(rr->cur.in, at, SEEK_SET);
}

bool record_reader_refresh(struct record_reader *rr)
{
	struct stat st;
	if (lstat(rr->live_path, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	bool reading_live = rr->cur.in && rr->cur.live && rr->next >= rr->gens.n;
	if (reading_live && rr->cur.dev == st.st_dev && rr->cur.ino == st.st_ino)
		return false;
	if (!reading_live && rr->next < rr->gens.n)
		return false;   /* the live file is still to come */
	if (reading_live) {
		/* Rotated: what was the live file is read on a while, beside the new one. */
		if (rr->prev.in) {
			/* two rotations within the grace: the older is done */
			struct record_line l;
			while (source_read(rr, &rr->prev, true, &l) != 0)
				record_line_done(&l);
			source_close(&rr->prev);
		}
		rr->prev = rr->cur;
		rr->cur = (struct source){ 0 };
		rr->prev_until = now_ns() + ROTATED_GRACE_NS;
	}
	/* The live file becomes the next (and last) thing to read. */
	const char *name = strrchr(rr->live_path, '/') + 1;
	rr->gens.v = xrealloc(rr->gens.v, (rr->gens.n + 1) * sizeof(*rr->gens.v));
	gen_of_path(rr, name, &rr->gens.v[rr->gens.n]);
	rr->gens.v[rr->gens.n++].st = st;
	return true;
}

void record_line_done(struct record_line *line)
{
	record_done(&line->rec);
	free(line->text);
	free(line->file);
	line->text = NULL;
	line->file = NULL;
}
