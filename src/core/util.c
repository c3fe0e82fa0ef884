/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

const char *program_name = "ocibpf";

static int err_set(struct error *err, int code, bool with_errno, const char *fmt, va_list ap)
{
	code = code < 0 ? code : -code;
	if (code == 0)
		code = -EINVAL;
	if (!err || err->msg)
		return code;
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	if (with_errno) {
		char *m = xasprintf("%s: %s", msg, strerror(-code));
		free(msg);
		msg = m;
	}
	err->code = code;
	err->msg = msg;
	return code;
}

int err_errno(struct error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = err_set(err, code, true, fmt, ap);
	va_end(ap);
	return r;
}

int err_msg(struct error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = err_set(err, code, false, fmt, ap);
	va_end(ap);
	return r;
}

void err_clear(struct error *err)
{
	free(err->msg);
	err->msg = NULL;
	err->code = 0;
}

static void vlog(const char *level, const char *id, const char *fmt, va_list ap)
{
	/* One write so concurrent hooks' lines don't interleave. */
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	char *line = xasprintf("%s: %s%s%s%s\n", program_name, level, id ? id : "", id ? ": " : "", msg);
	(void)!write(STDERR_FILENO, line, strlen(line));
	free(line);
	free(msg);
}

void log_error(const char *id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("", id, fmt, ap);
	va_end(ap);
}

void log_warn(const char *id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("warning: ", id, fmt, ap);
	va_end(ap);
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

char *xstrdup(const char *s)
{
	char *r = strdup(s);
	if (!r)
		abort();
	return r;
}

void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (!p)
		abort();
	return p;
}

void *xrealloc(void *p, size_t sz)
{
	p = realloc(p, sz ? sz : 1);
	if (!p)
		abort();
	return p;
}

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	bool slash = la > 0 && a[la - 1] == '/';
	while (*b == '/')
		b++;
	return xasprintf("%s%s%s", a, slash ? "" : "/", b);
}

static bool is_alnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool valid_name(const char *s)
{
	if (!s || !is_alnum(*s))
		return false;
	size_t n = 0;
	for (const char *p = s; *p; p++, n++)
		if (!is_alnum(*p) && *p != '_' && *p != '.' && *p != '-')
			return false;
	return n <= 64;
}

/*
 * The ids runc and crun take ([A-Za-z0-9_+.,-]) that start with a letter or digit (no
 * hidden log files, nothing read as an option), short enough that "<id>.jsonl" is a file
 * name. Every character here is safe in a path component and in a JSON string; bpffs
 * names use the run token instead (bpffs refuses '.').
 */
bool valid_id(const char *s)
{
	if (!s || !is_alnum(*s))
		return false;
	size_t n = 0;
	for (const char *p = s; *p; p++, n++)
		if (!is_alnum(*p) && !strchr("_+.,-", *p))
			return false;
	return n <= ID_MAX;
}

char *id_of_file_name(const char *name, const char *suffix)
{
	size_t len = strlen(name), n = strlen(suffix);
	if (len <= n || strcmp(name + len - n, suffix) != 0)
		return NULL;
	char *id = strndup(name, len - n);
	if (!id)
		abort();
	if (!valid_id(id)) {
		free(id);
		return NULL;
	}
	return id;
}

int read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
	/* Room for one byte past max: reading it means the input is too big. */
	size_t len = 0, cap = max < 4096 ? max + 1 : 4096;
	char *buf = xcalloc(1, cap + 1);
	for (;;) {
		if (len == cap) {
			if (len > max) {
				free(buf);
				return -EFBIG;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			buf = xrealloc(buf, cap + 1);
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int r = -errno;
			free(buf);
			return r;
		}
		if (n == 0)
			break;
		len += n;
	}
	if (len > max) {
		free(buf);
		return -EFBIG;
	}
	buf[len] = '\0';
	*ret = buf;
	if (ret_len)
		*ret_len = len;
	return 0;
}

int read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	return read_fd(fd, max, ret, ret_len);
}

int read_file_nofollow(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	return read_fd(fd, max, ret, ret_len);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	int r = write_all(fd, buf, len);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

/* mkdir p, and on ENOENT its missing parents first (walking back to the deepest that is
 * there). EEXIST is no error: mkdir_p's stat says what is there. */
static int mkdir_parents(char *p, mode_t mode)
{
	if (mkdir(p, mode) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -errno;
	char *slash = strrchr(p, '/');
	if (!slash || slash == p)
		return -ENOENT;
	*slash = '\0';
	int r = mkdir_parents(p, mode);
	*slash = '/';
	if (r < 0)
		return r;
	return mkdir(p, mode) == 0 || errno == EEXIST ? 0 : -errno;
}

int mkdir_p(const char *path, mode_t mode)
{
	if (!path || !*path)
		return -EINVAL;
	struct stat st;
	/* Mostly it is there already: one syscall (the hook's pair makes a dozen calls). */
	if (stat(path, &st) < 0) {
		_cleanup_free_ char *p = xstrdup(path);
		int r = mkdir_parents(p, mode);
		if (r < 0)
			return r;
		if (stat(path, &st) < 0)
			return -errno;
	}
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Deeper than any tree ocibpf makes (each level holds a descriptor while below it). */
#define RM_RF_DEPTH_MAX 64

/*
 * Remove name (relative to directory fd at) and, for a directory, everything below it: by the
 * types readdir gives (no stat of each entry, as nftw makes), without following symlinks
 * or going into another filesystem mounted below (-EXDEV). type: DT_DIR, or what else
 * readdir said (DT_UNKNOWN: try it as a file first).
 */
static int rm_at(int at, const char *name, unsigned char type, dev_t dev, int depth)
{
	if (type != DT_DIR) {
		if (unlinkat(at, name, 0) == 0 || errno == ENOENT)
			return 0;
		if (errno != EISDIR)
			return -errno;
	}
	if (depth >= RM_RF_DEPTH_MAX)
		return -ELOOP;
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	struct stat st;
	int r = fstat(fd, &st) < 0 ? -errno : dev && st.st_dev != dev ? -EXDEV : 0;
	DIR *d = r == 0 ? fdopendir(fd) : NULL;
	if (!d) {
		r = r ? r : -errno;
		close(fd);
		return r;
	}
	struct dirent *de;
	while (r == 0 && (errno = 0, de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			r = rm_at(dirfd(d), de->d_name, de->d_type, st.st_dev, depth + 1);
	if (r == 0 && errno)
		r = -errno;
	closedir(d);
	if (r == 0 && unlinkat(at, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = -errno;
	return r;
}

int rm_rf(const char *path)
{
	return rm_at(AT_FDCWD, path, DT_UNKNOWN, 0, 0);
}

unsigned long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

unsigned long long realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * The proleptic Gregorian date of a day counted from 1970-01-01 (day >= 0), by eras of
 * 400 years (146,097 days), each starting on a March 1st so that the leap day ends it.
 */
static void civil_from_days(long long day, int *ret_year, int *ret_month, int *ret_day)
{
	long long z = day + 719468;		/* days since 0000-03-01 */
	long long era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);			/* [0, 146096] */
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;	/* [0, 399] */
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);	/* [0, 365], from March 1st */
	unsigned mp = (5 * doy + 2) / 153;				/* [0, 11], March = 0 */
	*ret_day = (int)(doy - (153 * mp + 2) / 5 + 1);
	*ret_month = (int)(mp < 10 ? mp + 3 : mp - 9);
	*ret_year = (int)(yoe + era * 400 + (*ret_month <= 2));
}

void format_rfc3339(unsigned long long ns, char buf[static 32])
{
	/* The collector stamps every record: the date and time of the last second
	 * formatted are kept (per thread), only the nanoseconds are new. */
	static __thread time_t last_sec = -1;
	static __thread char last[24];
	static __thread size_t last_len;
	time_t sec = ns / 1000000000ULL;
	if (sec != last_sec) {
		/* Not gmtime_r: glibc's reads /etc/localtime first (tzset), 7 syscalls in
		 * every hook for a time that is UTC anyway. */
		int year, month, day;
		civil_from_days(sec / 86400, &year, &month, &day);
		unsigned s = sec % 86400;
		last_len = (size_t)snprintf(last, sizeof(last), "%04d-%02d-%02dT%02u:%02u:%02u",
					    year, month, day, s / 3600, s / 60 % 60, s % 60);
		last_sec = sec;
	}
	memcpy(buf, last, last_len);   /* 19 bytes: ns in 64 bits ends in the year 2554 */
	char *p = buf + last_len;
	*p++ = '.';
	unsigned frac = ns % 1000000000ULL;
	for (int i = 8; i >= 0; i--, frac /= 10)
		p[i] = '0' + frac % 10;
	p[9] = 'Z';
	p[10] = '\0';
}

void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **dir_list(const char *dir, char *(*take)(const char *name))
{
	size_t n = 0;
	char **v = xcalloc(1, sizeof(char *));
	DIR *d = opendir(dir);
	if (!d)
		return v;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *s = take(de->d_name);
		if (!s)
			continue;
		v = xrealloc(v, (n + 2) * sizeof(char *));
		v[n++] = s;
		v[n] = NULL;
	}
	closedir(d);
	qsort(v, n, sizeof(char *), cmp_str);
	return v;
}

static int lock_fd(int fd, const char *path, int op, struct error *err)
{
	if (fd < 0)
		return err_errno(err, -errno, "cannot open %s", path);
	if (flock(fd, op) < 0) {
		int r = err_errno(err, -errno, "cannot lock %s", path);
		close(fd);
		return r;
	}
	return fd;
}

int lock_dir(const char *dir, struct error *err)
{
	return lock_fd(open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), dir, LOCK_EX, err);
}

int lock_file(const char *path, int op, struct error *err)
{
	return lock_fd(open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600), path, op,
		       err);
}
