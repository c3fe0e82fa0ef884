/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Audit records made of whatever bytes a container's processes choose (comm, filename,
 * argv, path): the encoder (record.c) must write one valid UTF-8 JSON line from which
 * the decoder gives the bytes back exactly (less a character split by a cut). The same
 * bytes as a log line must not hurt the decoder.
 */
#include "fuzz.h"
#include "json.h"
#include "record.h"
#include "utf8.h"

static void check_line(struct auditlog *al, struct record *ret)
{
	FUZZ_ASSERT(al->out_len > 0 && al->out[al->out_len - 1] == '\n');
	FUZZ_ASSERT(utf8_valid(al->out, al->out_len));
	FUZZ_ASSERT(memchr(al->out, '\n', al->out_len) == al->out + al->out_len - 1);
	al->out[al->out_len - 1] = '\0';
	FUZZ_ASSERT(record_parse(al->out, al->out_len - 1, ret) == 0);
	al->out_len = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* As a log line. */
	struct record r;
	if (record_parse((const char *)data, size, &r) == 0)
		record_done(&r);

	struct auditlog al = { .fd = -1, .id = "c" };
	auditlog_init_gen(&al);
	struct ev_exec *x = xcalloc(1, sizeof(*x));
	size_t n = size < sizeof(x->args) ? size : sizeof(x->args);
	memcpy(x->args, data, n);
	x->args_len = n;
	x->args_truncated = size > sizeof(x->args);
	memcpy(x->comm, data, size < TASK_COMM_LEN_ - 1 ? size : TASK_COMM_LEN_ - 1);
	memcpy(x->filename, data, size < EV_PATH_MAX - 1 ? size : EV_PATH_MAX - 1);
	x->filename_truncated = size > 0 && data[0] & 1;
	record_exec(&al, 1, x);
	check_line(&al, &r);
	FUZZ_ASSERT(r.type == REC_EXEC);
	/* Every argument back, exactly (the cut one less a split character at most). */
	size_t at = 0;
	for (size_t i = 0; at < n; i++) {
		size_t len = strnlen(x->args + at, n - at), got;
		char *b = record_argv_bytes(r.v, i, &got);
		FUZZ_ASSERT(b != NULL);
		bool cut = at + len + 1 > n && x->args_truncated;
		FUZZ_ASSERT(cut ? got <= len && len - got <= 3 : got == len);
		FUZZ_ASSERT(memcmp(b, x->args + at, got) == 0);
		free(b);
		at += len + 1;
	}
	size_t got;
	char *comm = record_bytes(r.v, "comm", &got);
	size_t clen = strnlen(x->comm, TASK_COMM_LEN_);
	FUZZ_ASSERT(comm && got <= clen && memcmp(comm, x->comm, got) == 0);
	free(comm);
	record_done(&r);

	struct ev_syscall *s = xcalloc(1, sizeof(*s));
	memcpy(s->path, data, size < EV_PATH_MAX - 1 ? size : EV_PATH_MAX - 1);
	s->has_path = 1;
	s->path_truncated = size > 0 && data[0] & 2;
	s->nr = 2;
	record_syscall(&al, 1, s, size & 1);
	check_line(&al, &r);
	char *path = record_bytes(r.v, "path", &got);
	size_t plen = strnlen(s->path, EV_PATH_MAX);
	FUZZ_ASSERT(path && got <= plen && memcmp(path, s->path + (plen - got), got) == 0);
	free(path);
	record_done(&r);

	free(x);
	free(s);
	free(al.out);
	yajl_gen_free(al.gen);
	return 0;
}
