/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ocibpf-runtime's command line (what containerd or Docker pass to "runc"):
 * shim_parse_args(). The input is argv[1..], NUL-separated.
 */
#include "fuzz.h"
#include "shim.h"

#define ARGS_MAX 64

static bool in_argv(char *const *argv, int argc, const char *p)
{
	/* Results point into argv: at an argument or inside one (after '='). */
	for (int i = 0; i < argc; i++)
		if (p >= argv[i] && p <= argv[i] + strlen(argv[i]))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *buf = fuzz_text(data, size);
	char *argv[ARGS_MAX + 2];
	int argc = 0;
	argv[argc++] = "ocibpf-runtime";
	for (size_t i = 0; i <= size && argc <= ARGS_MAX;) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;

	struct error err = { 0 };
	struct shim_args a;
	memset(&a, 0xa5, sizeof(a));
	int r = shim_parse_args(argc, argv, &a, &err);
	FUZZ_CHECK_RESULT(r, err);
	if (r == 0) {
		FUZZ_ASSERT(a.command_index >= 1 && a.command_index <= argc);
		FUZZ_ASSERT(!a.command == (a.command_index == argc));
		FUZZ_ASSERT(!a.command || a.command == argv[a.command_index]);
		FUZZ_ASSERT(!a.creates || (a.id && in_argv(argv, argc, a.id)));
		const char *const ptrs[] = { a.bundle, a.config, a.root, a.log, a.log_format };
		for (size_t i = 0; i < ARRAY_SIZE(ptrs); i++)
			FUZZ_ASSERT(!ptrs[i] || in_argv(argv, argc, ptrs[i]));
	}
	err_clear(&err);
	return 0;
}
