/* tests/harness.c - runs cw_tests[], prints the totals. */
#define _GNU_SOURCE
#include "harness.h"
#include "crypto/secret.h"
#include "util/error.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

int cw_test_failed;
static char tmp_root[256];

void cw_test_fail(const char *file, int line, const char *expr, const char *extra)
{
	cw_test_failed = 1;
	fprintf(stderr, "  FAIL %s:%d: %s%s%s\n", file, line, expr, extra ? " -- " : "", extra ? extra : "");
}

const char *cw_test_tmpdir(void)
{
	static char dir[300];
	static int counter;

	if (tmp_root[0] == '\0') {
		const char *base = getenv("TMPDIR");

		snprintf(tmp_root, sizeof(tmp_root), "%s/cwtest.XXXXXX", base ? base : "/tmp");
		if (mkdtemp(tmp_root) == NULL) {
			perror("mkdtemp");
			exit(2);
		}
	}
	snprintf(dir, sizeof(dir), "%s/t%d", tmp_root, ++counter);
	if (mkdir(dir, 0700) != 0) {
		perror(dir);
		exit(2);
	}
	return dir;
}

int cw_test_run(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

int cw_test_capture(char *out, size_t cap, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	FILE *p;
	size_t n = 0, r;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = '\0';
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	while (n + 1 < cap && (r = fread(out + n, 1, cap - 1 - n, p)) > 0)
		n += r;
	out[n] = '\0';
	st = pclose(p);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

static void remove_tmp(void)
{
	char cmd[300];

	if (tmp_root[0] && !getenv("CW_KEEP_TMP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_root);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmp_root);
	}
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	const cw_test *t;

	if (cw_secret_startup() < 0) {
		fprintf(stderr, "startup: %s\n", cw_error_last());
		return 2;
	}
	atexit(remove_tmp);
	for (t = cw_tests; t->name; t++) {
		if (argc > 1 && strstr(t->name, argv[1]) == NULL)
			continue;
		cw_test_failed = 0;
		cw_error_clear();
		t->fn();
		if (cw_test_failed) {
			fprintf(stderr, "not ok - %s\n", t->name);
			failed++;
		} else {
			printf("ok - %s\n", t->name);
			passed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

void cw_test_rev_parse(char out[41], const char *repo, const char *rev)
{
	char buf[128];

	out[0] = '\0';
	if (cw_test_capture(buf, sizeof(buf), "git -C '%s' rev-parse --verify -q '%s'", repo, rev) == 0 &&
	    strlen(buf) >= 40) {
		memcpy(out, buf, 40);
		out[40] = '\0';
	}
}
