/*
 * tests/harness.h - a tiny unit-test harness. Each test executable defines
 * cw_tests[] (name, function) and the harness runs them all, printing
 * "N passed, N failed" at the end; it exits non-zero on any failure.
 */
#ifndef CW_TEST_HARNESS_H
#define CW_TEST_HARNESS_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct {
	const char *name;
	void (*fn)(void);
} cw_test;

extern const cw_test cw_tests[];
extern int cw_test_failed; /* set by the CHECK macros for the running test */

void cw_test_fail(const char *file, int line, const char *expr, const char *extra);
/* A fresh empty directory for this test under $TMPDIR; removed at exit. */
const char *cw_test_tmpdir(void);

/* Run a shell command (printf-style); its exit status, -1 when it did not
 * exit normally. */
int cw_test_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, with its standard output captured into out (cap bytes, NUL
 * terminated). */
int cw_test_capture(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The commit id stock git gives for rev in the repository at repo (out is
 * "" when git finds none). */
void cw_test_rev_parse(char out[41], const char *repo, const char *rev);

#define CHECK(expr)                                                    \
	do {                                                           \
		if (!(expr))                                           \
			cw_test_fail(__FILE__, __LINE__, #expr, NULL); \
	} while (0)

/* Check an int-returning cw_ call for an exact code. */
#define CHECK_CODE(call, code)                                                                     \
	do {                                                                                       \
		int cw__rc = (call);                                                               \
		if (cw__rc != (code)) {                                                            \
			char cw__m[640];                                                           \
			snprintf(cw__m, sizeof(cw__m), "got %d, want %d: %s", cw__rc, (int)(code), \
			         cw_error_last());                                                 \
			cw_test_fail(__FILE__, __LINE__, #call, cw__m);                            \
		}                                                                                  \
	} while (0)
#define CHECK_OK(call) CHECK_CODE(call, 0)

#define CW_TESTS_END       \
	{                  \
		NULL, NULL \
	}

#endif
