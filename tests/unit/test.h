/*
 * A minimal unit-test harness in libuv's manner: each case is a function in a
 * list; assertions print both sides and the location, then fail the case.
 * Usage: define cases with TEST(name) { ... } and list them in TEST_LIST.
 */
#ifndef KAM_TEST_H
#define KAM_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int test_failed_;

#define TEST_FAIL_(fmt, ...)                                                        \
	do {                                                                        \
		fprintf(stderr, "  FAIL %s:%d: " fmt "\n", __FILE__, __LINE__, __VA_ARGS__); \
		test_failed_ = 1;                                                   \
		return;                                                             \
	} while (0)

#define ASSERT(cond) do { if (!(cond)) TEST_FAIL_("%s", #cond); } while (0)
#define ASSERT_EQ(a, b)                                                             \
	do {                                                                        \
		long long a_ = (long long)(a), b_ = (long long)(b);                 \
		if (a_ != b_) TEST_FAIL_("%s == %s (%lld != %lld)", #a, #b, a_, b_); \
	} while (0)
#define ASSERT_NE(a, b)                                                             \
	do {                                                                        \
		long long a_ = (long long)(a), b_ = (long long)(b);                 \
		if (a_ == b_) TEST_FAIL_("%s != %s (both %lld)", #a, #b, a_);       \
	} while (0)
/* Out of line so -O2 cannot second-guess string bounds through inlined fakes. */
__attribute__((noinline, unused)) static int test_str_differ_(const char *a, const char *b)
{
	return !a || !b || strcmp(a, b) != 0;
}

#define ASSERT_STR_EQ(a, b)                                                         \
	do {                                                                        \
		const char *a_ = (a), *b_ = (b);                                    \
		if (test_str_differ_(a_, b_))                                       \
			TEST_FAIL_("%s == %s (\"%s\" != \"%s\")", #a, #b,            \
				   a_ ? a_ : "(null)", b_ ? b_ : "(null)");          \
	} while (0)
#define ASSERT_MEM_EQ(a, b, n) do { if (memcmp((a), (b), (n)) != 0) TEST_FAIL_("%s == %s (%zu bytes)", #a, #b, (size_t)(n)); } while (0)

#define TEST(name) static void test_##name(void)
#define TEST_ENTRY(name) { #name, test_##name }

struct test_case { const char *name; void (*fn)(void); };

/* Runs every case (or only those named on the command line); exit 1 if any failed. */
#define TEST_MAIN(...)                                                              \
	int test_failed_;                                                           \
	int main(int argc, char **argv)                                             \
	{                                                                           \
		static const struct test_case cases[] = { __VA_ARGS__ };            \
		int failures = 0, run = 0;                                          \
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {     \
			int selected = argc < 2;                                    \
			for (int j = 1; j < argc; j++)                              \
				if (strcmp(argv[j], cases[i].name) == 0) selected = 1; \
			if (!selected) continue;                                    \
			test_failed_ = 0;                                           \
			cases[i].fn();                                              \
			run++;                                                      \
			printf("%s %s\n", test_failed_ ? "not ok" : "ok", cases[i].name); \
			failures += test_failed_;                                   \
		}                                                                   \
		printf("%d/%d passed\n", run - failures, run);                      \
		return failures ? 1 : 0;                                            \
	}

#endif
