/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_LOGREADER_H
#define OCIBPF_LOGREADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "util.h"

/*
 * A container's log, line by line, with line numbers (logreader.c): its rotated
 * generations, gzip-compressed or not, oldest first, then the live file, as one log
 * (loggens.h says the order). -ENOENT when id has no log at all.
 */
struct record_reader;
int record_reader_open(const char *log_dir, const char *id, struct record_reader **ret,
		       struct error *err);
void record_reader_close(struct record_reader *rr);
static inline void record_reader_closep(struct record_reader **rr) { record_reader_close(*rr); }
#define _cleanup_record_reader_ _cleanup_(record_reader_closep)
/* The path of the live file (it may not exist yet). */
const char *record_reader_path(const struct record_reader *rr);
/* Start at the end of what is there (the live file's last complete line): only what is
 * written from now on is read. */
void record_reader_skip_to_end(struct record_reader *rr);
/*
 * For following: look whether the live file was rotated (another inode at its name, or
 * one now where there was none), as `tail -F` does. The file read so far is still read to
 * its end first (and for a few seconds more: a writer that had it open appends its last
 * records there), then the new one from its start. True when a new file was found.
 */
bool record_reader_refresh(struct record_reader *rr);

struct record_line {
	char *file;         /* the file name in log_dir the line is from */
	bool live;          /* that is the live file (not a rotated generation) */
	uint64_t lineno;    /* 1-based, in that file */
	char *text;         /* the line without its newline; for -EIO, what went wrong */
	size_t len;
	struct record rec;  /* when the line is a record */
};
/*
 * The next line: 1 and a record; -EBADMSG and a line that is not a record (line->text,
 * line->lineno); -EIO when a generation can't be read on (a truncated or corrupt .gz, a
 * read error: line->file, line->lineno the last line read from it, line->text why), and
 * the next call goes on with the next generation; 0 at the end of what is there. A last
 * line without its newline is held back in the live file (a writer may be appending it);
 * with final, the reader waits for writers to finish (a shared lock) and then returns it
 * as not a record. In a generation before the live one, it is returned as not a record
 * when the generation ends. Free with record_line_done.
 */
int record_read(struct record_reader *rr, bool final, struct record_line *line);
void record_line_done(struct record_line *line);

#endif
