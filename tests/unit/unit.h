/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A tiny single-header test framework printing TAP:
 *
 *   TEST(path_join_slashes) { CHECK_STR_EQ(p, "a/b"); }
 *
 * Tests run in the order they are written; a failed CHECK prints "# file:line: ..." and
 * the test goes on, so one run shows every failure. Include it from one file per binary.
 */
#ifndef OCIBPF_UNIT_H
#define OCIBPF_UNIT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
	int line;
};

#define UNIT_TESTS_MAX 1024
static struct unit_test unit_tests[UNIT_TESTS_MAX];
static size_t unit_n_tests;
static bool unit_failed;
static const char *unit_skip;

static inline void unit_register(const char *name, void (*fn)(void), int line)
{
	if (unit_n_tests == UNIT_TESTS_MAX)
		abort();
	unit_tests[unit_n_tests++] = (struct unit_test){ name, fn, line };
}

__attribute__((format(printf, 3, 4)))
static inline void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("# %s:%d: ", file, line);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	unit_failed = true;
}

#define TEST(name)								\
	static void test_##name(void);						\
	__attribute__((constructor)) static void unit_register_##name(void)	\
	{									\
		unit_register(#name, test_##name, __LINE__);			\
	}									\
	static void test_##name(void)

/* Leave the current test, reported as "ok N - name # SKIP reason". */
#define SKIP(reason)								\
	do {									\
		unit_skip = (reason);						\
		return;								\
	} while (0)

#define CHECK(expr)								\
	do {									\
		if (!(expr))							\
			unit_fail(__FILE__, __LINE__, "%s", #expr);		\
	} while (0)

#define CHECK_INT_EQ(a, b)							\
	do {									\
		long long _a = (long long)(a), _b = (long long)(b);		\
		if (_a != _b)							\
			unit_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld",	\
				  #a, #b, _a, _b);				\
	} while (0)

#define CHECK_STR_EQ(a, b)							\
	do {									\
		const char *_a = (a), *_b = (b);				\
		if (!_a || !_b ? _a != _b : strcmp(_a, _b) != 0)		\
			unit_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", \
				  #a, #b, _a ? _a : "(null)", _b ? _b : "(null)"); \
	} while (0)

/* haystack contains needle (a NULL haystack fails). */
#define CHECK_STR_CONTAINS(h, n)						\
	do {									\
		const char *_h = (h), *_n = (n);				\
		if (!_h || !strstr(_h, _n))					\
			unit_fail(__FILE__, __LINE__, "%s contains \"%s\": got \"%s\"", \
				  #h, _n, _h ? _h : "(null)");			\
	} while (0)

static inline int unit_cmp(const void *a, const void *b)
{
	return ((const struct unit_test *)a)->line - ((const struct unit_test *)b)->line;
}

int main(void)
{
	size_t failed = 0;
	qsort(unit_tests, unit_n_tests, sizeof(unit_tests[0]), unit_cmp);
	printf("1..%zu\n", unit_n_tests);
	for (size_t i = 0; i < unit_n_tests; i++) {
		unit_failed = false;
		unit_skip = NULL;
		unit_tests[i].fn();
		failed += unit_failed;
		printf("%sok %zu - %s%s%s\n", unit_failed ? "not " : "", i + 1, unit_tests[i].name,
		       unit_skip ? " # SKIP " : "", unit_skip ? unit_skip : "");
		fflush(stdout);
	}
	if (failed)
		printf("# %zu of %zu tests failed\n", failed, unit_n_tests);
	return failed ? 1 : 0;
}

#endif
