/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocibpf-runtime's rewrite of a bundle's config.json: shim_rewrite_config(). Beyond "no
 * crash, no leak": what it writes is JSON, has our hook in both stages, and a second
 * rewrite finds nothing to add.
 */
#include "fuzz.h"
#include "json.h"
#include "shim.h"

#define HOOK "/usr/local/bin/ocibpf-hook"

static bool has_hook(yajl_val root, const char *stage)
{
	yajl_val list = json_get(json_get(root, "hooks"), stage);
	if (!YAJL_IS_ARRAY(list))
		return false;
	for (size_t i = 0; i < list->u.array.len; i++) {
		const char *p = json_get_string(list->u.array.values[i], "path");
		if (p && strcmp(p, HOOK) == 0)
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = fuzz_text(data, size);
	const struct shim_hook hook = { .path = HOOK, .config = size % 2 ? "/etc/o.json" : NULL };
	struct error err = { 0 };
	char *out = NULL;
	size_t len = 0;
	int r = shim_rewrite_config(text, &hook, &out, &len, &err);
	FUZZ_CHECK_RESULT(r, err);
	if (r == 1) {
		FUZZ_ASSERT(out && strlen(out) == len);
		yajl_val root = NULL;
		struct error e2 = { 0 };
		FUZZ_ASSERT(json_parse(out, NULL, &root, &e2) == 0);
		FUZZ_ASSERT(has_hook(root, "createRuntime") && has_hook(root, "poststop"));
		yajl_tree_free(root);
		char *again = NULL;
		size_t len2;
		FUZZ_ASSERT(shim_rewrite_config(out, &hook, &again, &len2, &e2) == 0);
		FUZZ_ASSERT(again == NULL && e2.msg == NULL);
		free(out);
	} else {
		FUZZ_ASSERT(out == NULL);
	}
	err_clear(&err);
	return 0;
}
