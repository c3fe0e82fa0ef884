/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tail of an audit log, read back by every writer to learn the last seq:
 * auditlog_last_seq(). The file is ours, but whatever a crashed writer, a full disk or
 * someone with write access to log_dir left in it must not hurt the next writer.
 */
#include "auditlog.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly the bytes, not NUL-terminated: as pread() gives them. */
	char *copy = xcalloc(1, size ? size : 1);
	memcpy(copy, data, size);
	uint64_t seq = auditlog_last_seq(copy, size);
	/* Without a complete line there is no seq. */
	if (!memchr(copy, '\n', size))
		FUZZ_ASSERT(seq == 0);
	FUZZ_ASSERT(seq <= (uint64_t)INT64_MAX);
	free(copy);
	return 0;
}
