/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_AUDITLOG_H
#define OCIBPF_AUDITLOG_H

#include <stdint.h>
#include <sys/types.h>
#include <yajl/yajl_gen.h>

#include "util.h"

/*
 * A container's audit log, <log_dir>/<id>.jsonl (SPEC.md "Audit log"): one JSON object per
 * line, appended. Writers (hook, collector) hold an exclusive flock while they append, and
 * take `seq` from the last record in the file, so seq counts on without gaps across
 * writers and across containers that reuse an id.
 */
struct auditlog {
	int fd;
	char *id;
	char *path;
	uint64_t seq;      /* seq of the last record written (or buffered) */
	uint64_t seq_locked; /* seq when the lock was taken */
	off_t size_after;  /* file size after our last flush (-1: unknown) */
	yajl_gen gen;
	bool locked;
	char *out;         /* records buffered for one write (gen writes into it) */
	size_t out_len, out_cap;
	size_t record_start; /* where in out the record being generated starts */
	bool in_record;    /* between auditlog_begin and auditlog_end */
	uint64_t dropped;  /* records a failed write lost: a `lost` record comes first next time */
	uint64_t out_records; /* records the buffered lines stand for (a `lost` line: its count) */
	uint64_t weight;   /* set before auditlog_end of a `lost` record: the records it stands for */
	bool carried;      /* the buffered lines start with the `lost` record for `dropped` */
};

/* Open (creating log_dir 0750 and the file 0640; symlinks are not followed). */
int auditlog_open(const char *log_dir, const char *id, struct auditlog **ret, struct error *err);
void auditlog_close(struct auditlog *al);
static inline void auditlog_closep(struct auditlog **al) { auditlog_close(*al); }
#define _cleanup_auditlog_ _cleanup_(auditlog_closep)

/* Lock for appending and learn the last seq (record_lock also accounts for al->dropped). */
int auditlog_lock(struct auditlog *al);
void auditlog_unlock(struct auditlog *al);

/* The record generator of al, writing into al->out (auditlog_open sets it up; an
 * auditlog kept in memory, as the fuzzer's, calls it itself). */
void auditlog_init_gen(struct auditlog *al);
/* Start a record: the map is open with seq, ts, container and type written. */
yajl_gen auditlog_begin(struct auditlog *al, const char *type, uint64_t realtime_ns);
/* Close the record and buffer it (a line); auditlog_flush writes what is buffered. */
void auditlog_end(struct auditlog *al);
/*
 * Write the buffered records in one append. On failure (e.g. ENOSPC) they are counted as
 * dropped, seq goes back, and the next flush starts with a `lost` record for them.
 */
int auditlog_flush(struct auditlog *al);

/* Parse the seq of the last complete line of a log's tail (0 when none). */
uint64_t auditlog_last_seq(const char *tail, size_t len);

#endif
