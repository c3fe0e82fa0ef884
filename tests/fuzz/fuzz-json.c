/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json_parse(), under every parser above, and the generator that carries parsed values
 * through (jg_value): what it parsed, written out again, parses to the same text.
 */
#include "fuzz.h"
#include "json.h"

static char *regen(yajl_val v)
{
	yajl_gen g = json_gen_new(false);
	jg_value(g, v);
	char *s = json_gen_take(g, NULL);
	yajl_gen_free(g);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = fuzz_text(data, size);
	struct error err = { 0 };
	yajl_val v = NULL;
	int r = json_parse(text, size % 2 ? "fuzz" : NULL, &v, &err);
	FUZZ_CHECK_RESULT(r, err);
	if (r == 0) {
		FUZZ_ASSERT(v != NULL);
		_cleanup_free_ char *once = regen(v);
		yajl_val w = NULL;
		struct error e2 = { 0 };
		if (json_parse(once, NULL, &w, &e2) != 0) {
			fprintf(stderr, "regenerated JSON does not parse: %s\n%s\n", e2.msg, once);
			abort();
		}
		_cleanup_free_ char *twice = regen(w);
		FUZZ_ASSERT(strcmp(once, twice) == 0);
		yajl_tree_free(w);
		yajl_tree_free(v);
	} else {
		FUZZ_ASSERT(strchr(err.msg, '\n') == NULL);
	}
	err_clear(&err);
	return 0;
}
