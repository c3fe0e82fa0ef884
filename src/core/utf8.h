/* SPDX-License-Identifier: Apache-2.0 */
#ifndef OCIBPF_UTF8_H
#define OCIBPF_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
 * Bytes from containers (names, arguments, paths) are checked with these before they
 * go into a JSON string; see record.h for how bytes that are not UTF-8 are written.
 */

/* Length of the valid sequence that starts at s (1-4), 0 when it is not one. */
size_t utf8_char_len(const unsigned char *s, size_t len);
bool utf8_valid(const char *s, size_t len);
/* len without a trailing incomplete (but so far valid) multi-byte sequence. */
size_t utf8_trim_end(const char *s, size_t len);
/* How many leading continuation bytes (at most 3) a cut in front of s left over. */
size_t utf8_skip_start(const char *s, size_t len);
/* A malloc'ed copy with every byte that is not part of a valid sequence as U+FFFD. */
char *utf8_lossy(const char *s, size_t len, size_t *ret_len);
/* Lower-case hex of len bytes (malloc'ed, NUL-terminated). */
char *hex_encode(const void *p, size_t len);
/* Back from hex: 0, or -EINVAL (odd length or not hex). *ret malloc'ed. */
int hex_decode(const char *hex, char **ret, size_t *ret_len);

#endif
