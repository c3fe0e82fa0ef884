/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "utf8.h"
#include "util.h"

size_t utf8_char_len(const unsigned char *s, size_t len)
{
	if (len == 0)
		return 0;
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;   /* bounds of the second byte */
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;      /* overlong */
		else if (c == 0xed)
			hi = 0x9f;      /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;      /* overlong */
		else if (c == 0xf4)
			hi = 0x8f;      /* above U+10FFFF */
	} else {
		return 0;
	}
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

bool utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		if (p[i] < 0x80) {   /* (most names and paths: ASCII) */
			i++;
			continue;
		}
		size_t n = utf8_char_len(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

size_t utf8_trim_end(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	/* The lead byte of the last sequence is at most 3 bytes back. */
	for (size_t back = 1; back <= 3 && back <= len; back++) {
		unsigned char c = p[len - back];
		if ((c & 0xc0) == 0x80)
			continue;           /* a continuation byte: look further back */
		size_t want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		if (want <= back)
			return len;         /* complete (or not a lead byte at all) */
		/* Incomplete: cut only when what is there is a valid beginning. */
		unsigned char tmp[4] = { 0 };
		memcpy(tmp, p + len - back, back);
		for (size_t i = back; i < want; i++)
			tmp[i] = i == 1 && c == 0xf0 ? 0x90 : i == 1 && c == 0xe0 ? 0xa0 : 0x80;
		if (back >= 2 && ((c == 0xed && p[len - back + 1] > 0x9f) ||
				  (c == 0xf4 && p[len - back + 1] > 0x8f)))
			return len;
		return utf8_char_len(tmp, want) == want ? len - back : len;
	}
	return len;
}

size_t utf8_skip_start(const char *s, size_t len)
{
	size_t n = 0;
	while (n < 3 && n < len && ((unsigned char)s[n] & 0xc0) == 0x80)
		n++;
	return n;
}

char *utf8_lossy(const char *s, size_t len, size_t *ret_len)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = xcalloc(1, len * 3 + 1);
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_char_len(p + i, len - i);
		if (n) {
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	if (ret_len)
		*ret_len = o;
	return out;
}

char *hex_encode(const void *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = p;
	char *out = xcalloc(1, len * 2 + 1);
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	return out;
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *hex, char **ret, size_t *ret_len)
{
	size_t len = strlen(hex);
	if (len % 2)
		return -EINVAL;
	char *out = xcalloc(1, len / 2 + 1);
	for (size_t i = 0; i < len / 2; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(out);
			return -EINVAL;
		}
		out[i] = (char)(hi << 4 | lo);
	}
	*ret = out;
	*ret_len = len / 2;
	return 0;
}
