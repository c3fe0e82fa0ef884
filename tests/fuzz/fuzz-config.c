/* SPDX-License-Identifier: Apache-2.0 */
/* The host configuration (/etc/ocibpf/config.json or $OCIBPF_CONFIG): config_parse(). */
#include "config.h"
#include "fuzz.h"

static void check_dir(const char *d)
{
	FUZZ_ASSERT(d && d[0] == '/');
	/* No "." or ".." component: joined paths stay under it. */
	FUZZ_ASSERT(!strstr(d, "/../") && !strstr(d, "/./"));
	size_t n = strlen(d);
	FUZZ_ASSERT(!(n >= 3 && strcmp(d + n - 3, "/..") == 0));
	FUZZ_ASSERT(!(n >= 2 && strcmp(d + n - 2, "/.") == 0));
	FUZZ_ASSERT(n == 1 || d[n - 1] != '/');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = fuzz_text(data, size);
	struct error err = { 0 };
	struct config *c = NULL;
	int r = config_parse(text, "/etc/ocibpf/config.json", &c, &err);
	FUZZ_CHECK_RESULT(r, err);
	if (r == 0) {
		check_dir(c->log_dir);
		check_dir(c->state_dir);
		check_dir(c->bpffs_dir);
		check_dir(c->policy_dir);
		FUZZ_ASSERT(!c->default_policy || valid_name(c->default_policy));
		config_free(c);
	} else {
		FUZZ_ASSERT(c == NULL);
	}
	err_clear(&err);
	return 0;
}
