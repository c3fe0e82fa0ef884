/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A bundle's config.json, for its annotations (read when the state carries none):
 * oci_config_annotations(), the text half of oci_bundle_annotations(); and for the
 * capabilities of its process: oci_config_powers().
 */
#include "fuzz.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = fuzz_text(data, size);
	struct error err = { 0 };
	/* One annotation there already: the parser appends. */
	size_t n = 1;
	struct annotation *a = xcalloc(1, sizeof(*a));
	a[0].key = xstrdup("k");
	a[0].value = xstrdup("v");
	int r = oci_config_annotations(text, size, "/b/config.json", &a, &n, &err);
	FUZZ_CHECK_RESULT(r, err);
	FUZZ_ASSERT(n >= 1 && strcmp(a[0].key, "k") == 0);
	if (r < 0) {
		FUZZ_ASSERT(n == 1);
		FUZZ_ASSERT(strncmp(err.msg, "/b/config.json", 14) == 0);
		FUZZ_ASSERT(strchr(err.msg, '\n') == NULL);
	}
	for (size_t i = 0; i < n; i++) {
		FUZZ_ASSERT(a[i].key && a[i].value);
		free(a[i].key);
		free(a[i].value);
	}
	free(a);
	err_clear(&err);

	/* The capability check reads the same file. */
	struct oci_powers p;
	r = oci_config_powers(text, size, "/b/config.json", &p, &err);
	FUZZ_CHECK_RESULT(r, err);
	err_clear(&err);
	return 0;
}
