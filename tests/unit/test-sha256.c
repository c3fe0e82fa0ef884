/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "sha256.h"
#include "util.h"
#include "unit.h"

static void hex_of(const void *data, size_t len, size_t step, char out[65])
{
	struct sha256 s;
	uint8_t d[32];
	sha256_init(&s);
	for (size_t i = 0; i < len; i += step)
		sha256_update(&s, (const uint8_t *)data + i, len - i < step ? len - i : step);
	sha256_final(&s, d);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

TEST(sha256_vectors)
{
	char h[65];
	hex_of("", 0, 1, h);
	CHECK(strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
	hex_of("abc", 3, 3, h);
	CHECK(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	const char *want2 = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
	/* whole, and fed in pieces that straddle the 64-byte blocks */
	for (size_t step = 1; step <= 64; step++) {
		hex_of(two, strlen(two), step, h);
		CHECK(strcmp(h, want2) == 0);
	}
	_cleanup_free_ char *mil = xcalloc(1000000, 1);
	memset(mil, 'a', 1000000);
	hex_of(mil, 1000000, 4096, h);
	CHECK(strcmp(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
}
