/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the libFuzzer targets (tests/fuzz/fuzz-*.c): each defines
 * LLVMFuzzerTestOneInput and feeds the input to one parser of outside input. A crash, a
 * sanitizer report, a leak (LeakSanitizer runs after every input) or a broken invariant
 * (FUZZ_ASSERT) is a finding.
 */
#ifndef OCIBPF_FUZZ_H
#define OCIBPF_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The input as a NUL-terminated string (inputs may hold NULs: the string stops there). */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
	char *s = xcalloc(1, size + 1);
	memcpy(s, data, size);
	return s;
}

/* An invariant of the code under test: abort (libFuzzer saves the input) when false. */
#define FUZZ_ASSERT(expr)							\
	do {									\
		if (!(expr)) {							\
			fprintf(stderr, "%s:%d: invariant broken: %s\n",	\
				__FILE__, __LINE__, #expr);			\
			abort();						\
		}								\
	} while (0)

/* A failure must come with a message, and a success without one. */
#define FUZZ_CHECK_RESULT(r, err)						\
	do {									\
		FUZZ_ASSERT((r) >= 0 ? (err).msg == NULL : (err).msg != NULL);	\
		FUZZ_ASSERT((r) <= 0 || (r) == 1);				\
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
