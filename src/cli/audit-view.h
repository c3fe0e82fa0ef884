/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_AUDIT_VIEW_H
#define OCIBPF_AUDIT_VIEW_H

/*
 * What `ocibpf audit` shares between its views (cmd-audit.c: one container's log;
 * audit-all.c: every container, one line an event): audit-view.c filters and renders
 * records and accounts for the lines that are none; audit-follow.c waits for more.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "logreader.h"

struct filter {
	const char *type;
	const char *syscall;
	char since[32];      /* RFC 3339 like our ts: compares as a string */
	bool setup;          /* the table shows the runtime's setup records too */
};

/* Lines that are not records, by file: counted, their numbers said on stderr at the end;
 * generations that could not be read to their end. */
struct unreadable_file {
	char *file;
	uint64_t count;
	char *numbers;       /* "3, 17, 20" (the first few) */
};

struct unreadable {
	struct unreadable_file *v;
	size_t n;
	uint64_t damaged;
};

/*
 * A follower ends cleanly: SIGINT and SIGTERM end it between two reads (the lines read
 * are shown whole), a reader that went away (a closed pipe: EPIPE instead of SIGPIPE)
 * too. The signals stay blocked but in the wait (ppoll), so a read is never cut.
 */
struct follow {
	int ino;                 /* inotify on log_dir; -1: poll */
	sigset_t waitmask;
};

/* audit-view.c */
/*
 * "2026-11-24T15:30:00Z", "2026-11-24T15:30:00.5Z", or relative "90s", "10m", "2h", "1d",
 * as a timestamp of records in ret; -EINVAL, or -ERANGE for a time before 1970.
 */
int audit_parse_since(const char *s, char ret[static 32]);
bool audit_matches(const struct filter *f, const struct record *rec);
/* Bytes as the table shows them (see audit-view.c): always printable, never an escape. */
char *audit_esc(const char *s, size_t len);
char *audit_esc_field(yajl_val rec, const char *key, const char *dflt);
long long audit_get_int(yajl_val rec, const char *key);
/* The gist of a record, after its row's head. */
void audit_print_detail(const struct record *r);
void audit_print_row(const char *ts, long long pid, const char *comm, const char *type);
/* A record as a row of the table. */
void audit_print_plain(const struct record *r);
void audit_count_unreadable(struct unreadable *u, const struct record_line *l);
void audit_unreadable_json(const struct record_line *l, const char *id);
char *audit_where(const struct record_line *l);
void audit_show_unreadable(struct cli *cli, struct unreadable *u, const struct record_line *l,
			   const char *id);
void audit_show_damaged(struct unreadable *u, const struct record_line *l, const char *id);
int audit_unreadable_report(struct unreadable *u, const char *log_dir, const char *id);

/* audit-follow.c */
void follow_init(struct follow *fw, const char *log_dir);
void follow_done(struct follow *fw);
/* Wait for log_dir to change (at most ms); false when a signal asks us to end. */
bool follow_wait(struct follow *fw, int ms);
/* stdout still reaches someone (a closed pipe ends the command quietly). */
bool follow_out_ok(void);

/* audit-all.c */
int audit_all(struct cli *cli, const struct filter *f, bool follow);

#endif
