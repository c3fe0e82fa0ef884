/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_UTIL_H
#define OCIBPF_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Hand ownership of a pointer over: returns it and clears the variable. */
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -1; _fd; })

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
/* s, or "" for NULL (systemd's strempty). */
static inline const char *strempty(const char *s) { return s ? s : ""; }
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/*
 * Errors travel upward as a negative errno plus a message made at the point of
 * failure; the program's top level prints it once ("PROG: ID: message").
 */
struct error {
	int code;   /* negative errno */
	char *msg;  /* "what failed: why" */
};

/* Sets err (if not yet set) and returns -|code|; appends ": strerror(code)". */
int err_errno(struct error *err, int code, const char *fmt, ...) _printf_(3, 4);
/* Same, without the strerror suffix. */
int err_msg(struct error *err, int code, const char *fmt, ...) _printf_(3, 4);
void err_clear(struct error *err);

/* Name of the running program (for messages). */
extern const char *program_name;
/* Print "PROG: ID: msg" (ID left out when NULL) to stderr. */
void log_error(const char *id, const char *fmt, ...) _printf_(2, 3);
void log_warn(const char *id, const char *fmt, ...) _printf_(2, 3);

/* malloc'ed "a/b"; aborts on ENOMEM (like systemd's xasprintf). */
char *path_join(const char *a, const char *b);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
char *xstrdup(const char *s);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t sz);

/* Policy names: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 chars. Container ids that can be
 * monitored: [A-Za-z0-9][A-Za-z0-9_+.,-]*, at most ID_MAX (NAME_MAX less ".jsonl"). */
#define ID_MAX 249
bool valid_id(const char *s);
/* "ID" + suffix -> ID (malloc'ed) when ID is valid_id(), else NULL (for dir_list). */
char *id_of_file_name(const char *name, const char *suffix);
bool valid_name(const char *s);

/* Read a whole file (at most max bytes, else -EFBIG) into a NUL-terminated buffer. */
int read_file(const char *path, size_t max, char **ret, size_t *ret_len);
/* The same for files of our own (state_dir): a symlink (-ELOOP) or a non-regular file
 * (-EINVAL) in its place is not read. */
int read_file_nofollow(const char *path, size_t max, char **ret, size_t *ret_len);
int read_fd(int fd, size_t max, char **ret, size_t *ret_len);
/* Write a file atomically (tmp + rename) with mode. */
int write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode);
/*
 * flock(2) locks, as every lock of ocibpf is taken: an fd held for as long as the lock is,
 * or -errno with err saying what failed. lock_dir locks a directory exclusively;
 * lock_file locks a file (created 0600 when missing, never through a symlink) with op
 * LOCK_SH or LOCK_EX.
 */
int lock_dir(const char *dir, struct error *err);
int lock_file(const char *path, int op, struct error *err);
/* mkdir -p with mode for the created components; existing dirs are left as they are. */
int mkdir_p(const char *path, mode_t mode);
/* rm -rf for our own directories (no symlink following). */
int rm_rf(const char *path);

/* Monotonic and real time in ns. */
unsigned long long now_ns(void);
unsigned long long realtime_ns(void);
/* RFC 3339 UTC with nanoseconds into buf (>= 32 bytes). */
void format_rfc3339(unsigned long long realtime_ns, char buf[static 32]);

/*
 * The entries of directory dir that take() turns into a string (malloc'ed; NULL skips
 * the entry), sorted, NULL-terminated; empty when dir can't be read. Free with strv_free.
 */
char **dir_list(const char *dir, char *(*take)(const char *name));
void strv_free(char **v);

#endif
