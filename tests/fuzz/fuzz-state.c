/* SPDX-License-Identifier: Apache-2.0 */
/* The OCI state a runtime writes to the hook's stdin: oci_state_parse(), oci_state_stage(). */
#include "fuzz.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = fuzz_text(data, size);
	for (int need_pid = 0; need_pid < 2; need_pid++) {
		struct error err = { 0 };
		struct oci_state *st = NULL;
		int r = oci_state_parse(text, need_pid, &st, &err);
		FUZZ_CHECK_RESULT(r, err);
		if (r == 0) {
			/* What the rest of the hook relies on. */
			/* An id runc could have given (whether ocibpf can monitor it is
			 * valid_id(), asked only with a policy): no '/', not "." or "..". */
			FUZZ_ASSERT(st->id[0] && st->id[0] != '-' && strcmp(st->id, ".") && strcmp(st->id, ".."));
			FUZZ_ASSERT(strspn(st->id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+.,-") ==
				    strlen(st->id));
			FUZZ_ASSERT(st->bundle && st->bundle[0] == '/');
			FUZZ_ASSERT(st->oci_version && st->status);
			FUZZ_ASSERT(st->pid >= 0 && (!need_pid || st->pid > 0));
			for (size_t i = 0; i < st->n_annotations; i++)
				FUZZ_ASSERT(oci_state_annotation(st, st->annotations[i].key));
			struct error serr = { 0 };
			bool create;
			if (oci_state_stage(st, &create, &serr) < 0)
				FUZZ_ASSERT(serr.msg && strchr(serr.msg, '\n') == NULL);
			err_clear(&serr);
			oci_state_free(st);
		} else {
			FUZZ_ASSERT(st == NULL);
			FUZZ_ASSERT(strchr(err.msg, '\n') == NULL);
		}
		err_clear(&err);
	}
	return 0;
}
