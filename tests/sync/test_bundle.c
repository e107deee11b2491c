/*
 * tests/sync/test_bundle.c - git bundles checked against stock git: what we
 * write, `git bundle verify`, `git clone` and `git fetch` accept; what stock
 * `git bundle create` writes, we read; hostile bundles fail cleanly and
 * leave the target repository as `git fsck` found it.
 *
 * Needs stock git on PATH; without it every test fails saying so.
 */
#include "harness.h"
#include "sync/bundle.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/file.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define MAX_BYTES ((uint64_t)16 << 20)

/* The source repository, made once: main c1-c2-c3, side c2-s1. */
static char src[300];
static char c1[41], c2[41], c3[41], s1[41], tree1[41];
static int have_git = -1;

/* Stock git, quiet and reproducible, with no user configuration. */
static int need_git(void)
{
	static char home[300];

	if (have_git < 0) {
		have_git = cw_test_run("git --version >/dev/null 2>&1") == 0;
		if (have_git) {
			snprintf(home, sizeof(home), "%s", cw_test_tmpdir());
			setenv("HOME", home, 1);
			setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
			setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
			setenv("GIT_AUTHOR_NAME", "Ada Tester", 1);
			setenv("GIT_AUTHOR_EMAIL", "ada@example.org", 1);
			setenv("GIT_AUTHOR_DATE", "2024-01-02T03:04:05Z", 1);
			setenv("GIT_COMMITTER_NAME", "Ada Tester", 1);
			setenv("GIT_COMMITTER_EMAIL", "ada@example.org", 1);
			setenv("GIT_COMMITTER_DATE", "2024-01-02T03:04:05Z", 1);
		}
	}
	if (!have_git)
		cw_test_fail(__FILE__, __LINE__, "need_git()",
		             "stock git is not installed: these tests check bundles against git itself");
	return have_git;
}

/* The shared source repository; 0 (test failed) when it cannot be made. */
static int need_src(void)
{
	if (!need_git())
		return 0;
	if (src[0])
		return 1;
	snprintf(src, sizeof(src), "%s/src", cw_test_tmpdir());
	if (cw_test_run(
	        "git init -q -b main '%s' && cd '%s' && "
	        "echo one > a && git add a && git commit -q -m first && "
	        "echo two >> a && mkdir d && echo x > d/f && git add -A && git commit -q -m second && "
	        "git branch side && "
	        "echo three >> a && git commit -q -am 'third: the é subject' && "
	        "git checkout -q side && echo s > s && git add s && git commit -q -m 'side one' && "
	        "git checkout -q main",
	        src, src) != 0) {
		cw_test_fail(__FILE__, __LINE__, "need_src()",
		             "could not build the source repository with git");
		src[0] = '\0';
		return 0;
	}
	cw_test_rev_parse(c1, src, "main~2");
	cw_test_rev_parse(c2, src, "main~1");
	cw_test_rev_parse(c3, src, "main");
	cw_test_rev_parse(s1, src, "side");
	cw_test_rev_parse(tree1, src, "main~2^{tree}");
	CHECK(c1[0] && c2[0] && c3[0] && s1[0] && tree1[0]);
	return c1[0] && c2[0] && c3[0] && s1[0] && tree1[0];
}

static void set_ref(cw_bundle_ref *r, const char *name, const char *oid)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->oid, sizeof(r->oid), "%s", oid);
}

/* A bundle of main and side, with c2 as prerequisite when incremental. */
static int write_bundle(char *path, size_t cap, const char *dir, int incremental)
{
	cw_bundle_ref refs[2];
	const char *pre[1];
	uint64_t bytes = 0;
	int rc;

	pre[0] = c2;
	set_ref(&refs[0], "refs/heads/main", c3);
	set_ref(&refs[1], "refs/heads/side", s1);
	snprintf(path, cap, "%s/%s.bundle", dir, incremental ? "inc" : "full");
	rc = cw_bundle_write(&bytes, src, path, refs, 2, pre, incremental ? 1 : 0);
	if (rc == CW_OK)
		CHECK(bytes > 0 && bytes < MAX_BYTES);
	return rc;
}

static void fresh_bare(char *out, size_t cap)
{
	snprintf(out, cap, "%s/target.git", cw_test_tmpdir());
	CHECK(cw_test_run("git init -q --bare '%s'", out) == 0);
}

static int fsck_clean(const char *repo)
{
	char out[4096];
	int rc = cw_test_capture(out, sizeof(out), "git -C '%s' fsck --strict --no-dangling 2>&1", repo);

	if (rc != 0 || strstr(out, "error") || strstr(out, "missing") || strstr(out, "corrupt")) {
		fprintf(stderr, "  git fsck (exit %d): %s\n", rc, out);
		return 0;
	}
	return 1;
}

/* What is in objects/pack, and no quarantine left behind. */
static void pack_listing(char *out, size_t cap, const char *repo)
{
	char objs[4096];

	CHECK(cw_test_capture(out, cap, "ls -A '%s/objects/pack'", repo) == 0);
	CHECK(cw_test_capture(objs, sizeof(objs), "ls -A '%s/objects'", repo) == 0);
	CHECK(strstr(objs, "cw-incoming") == NULL);
	CHECK(strstr(out, "pack_git2") == NULL);
}

static int has_object(const char *repo, const char *oid)
{
	return cw_test_run("git -C '%s' cat-file -e %s 2>/dev/null", repo, oid) == 0;
}

/* ---- writing, checked by stock git ------------------------------------ */

static void test_full_bundle_accepted_by_git(void)
{
	char path[512], out[4096], want[512], empty[512], clone[512];
	const char *dir;

	if (!need_src())
		return;
	dir = cw_test_tmpdir();
	CHECK_OK(write_bundle(path, sizeof(path), dir, 0));

	snprintf(empty, sizeof(empty), "%s/empty", dir);
	CHECK(cw_test_run("git init -q '%s'", empty) == 0);
	CHECK(cw_test_capture(out, sizeof(out), "git -C '%s' bundle verify '%s' 2>&1", empty, path) == 0);
	CHECK(strstr(out, "is okay") != NULL);

	snprintf(want, sizeof(want), "%s refs/heads/main\n%s refs/heads/side\n", c3, s1);
	CHECK(cw_test_capture(out, sizeof(out), "git bundle list-heads '%s'", path) == 0);
	CHECK(strcmp(out, want) == 0);

	snprintf(clone, sizeof(clone), "%s/clone", dir);
	CHECK(cw_test_run("git clone -q -b main '%s' '%s' 2>/dev/null", path, clone) == 0);
	CHECK(cw_test_capture(out, sizeof(out), "git -C '%s' log --format=%%s", clone) == 0);
	CHECK(strcmp(out, "third: the é subject\nsecond\nfirst\n") == 0);
	CHECK(cw_test_capture(out, sizeof(out), "git -C '%s' log --format=%%s origin/side", clone) == 0);
	CHECK(strcmp(out, "side one\nsecond\nfirst\n") == 0);
	CHECK(cw_test_run("git -C '%s' fsck --strict >/dev/null 2>&1", clone) == 0);

	/* git fetch from the bundle file */
	CHECK(cw_test_run("git -C '%s' fetch -q '%s' 'refs/heads/*:refs/remotes/b/*'", empty, path) == 0);
	CHECK(cw_test_capture(out, sizeof(out), "git -C '%s' rev-parse b/main b/side", empty) == 0);
	snprintf(want, sizeof(want), "%s\n%s\n", c3, s1);
	CHECK(strcmp(out, want) == 0);
}

static void test_incremental_bundle_prerequisite(void)
{
	char path[512], out[4096], want[512], have[512], empty[512];
	cw_bundle_header h;
	const char *dir;

	if (!need_src())
		return;
	dir = cw_test_tmpdir();
	CHECK_OK(write_bundle(path, sizeof(path), dir, 1));

	/* The header lists the prerequisite with its subject. */
	CHECK(cw_test_capture(out, sizeof(out), "head -c 300 '%s' | sed -n 2p", path) == 0);
	snprintf(want, sizeof(want), "-%s second\n", c2);
	CHECK(strcmp(out, want) == 0);

	/* A repository with c2 accepts it... */
	snprintf(have, sizeof(have), "%s/have", dir);
	CHECK(cw_test_run(
	          "git clone -q --bare --single-branch -b main '%s' '%s' && "
	          "git -C '%s' update-ref refs/heads/main %s && git -C '%s' branch -q -D side 2>/dev/null;"
	          "git -C '%s' reflog expire --expire=now --all && git -C '%s' gc -q --prune=now",
	          src, have, have, c2, have, have, have) == 0);
	CHECK(!has_object(have, c3));
	CHECK(cw_test_capture(out, sizeof(out), "git -C '%s' bundle verify '%s' 2>&1", have, path) == 0);
	CHECK(strstr(out, "is okay") != NULL);
	CHECK(strstr(out, "requires this ref") != NULL);
	CHECK(cw_test_run("git -C '%s' fetch -q '%s' 'refs/heads/*:refs/heads/*'", have, path) == 0);
	CHECK(has_object(have, c3) && has_object(have, s1));
	CHECK(fsck_clean(have));

	/* ...an empty one reports the missing prerequisite. */
	snprintf(empty, sizeof(empty), "%s/empty", dir);
	CHECK(cw_test_run("git init -q '%s'", empty) == 0);
	CHECK(cw_test_capture(out, sizeof(out), "git -C '%s' bundle verify '%s' 2>&1", empty, path) != 0);
	CHECK(strstr(out, "lacks these prerequisite commits") != NULL);
	CHECK(strstr(out, c2) != NULL);

	CHECK_OK(cw_bundle_read_header(&h, path));
	CHECK(h.nprereqs == 1 && strcmp(h.prereqs[0], c2) == 0);
	CHECK(h.nrefs == 2 && strcmp(h.refs[0].name, "refs/heads/main") == 0 &&
	      strcmp(h.refs[0].oid, c3) == 0);
	cw_bundle_header_dispose(&h);
}

static void test_write_refuses_bad_input(void)
{
	char path[512], out[1024];
	cw_bundle_ref refs[2];
	uint64_t bytes = 7;
	const char *dir, *pre[1];

	if (!need_src())
		return;
	dir = cw_test_tmpdir();
	snprintf(path, sizeof(path), "%s/x.bundle", dir);
	set_ref(&refs[0], "refs/heads/a..b", c3);
	CHECK_CODE(cw_bundle_write(&bytes, src, path, refs, 1, NULL, 0), CW_EINVALID);
	set_ref(&refs[0], "HEAD", c3);
	CHECK_CODE(cw_bundle_write(&bytes, src, path, refs, 1, NULL, 0), CW_EINVALID);
	set_ref(&refs[0], "refs/heads/main", c3);
	refs[0].oid[0] = 'A';
	CHECK_CODE(cw_bundle_write(&bytes, src, path, refs, 1, NULL, 0), CW_EINVALID);
	set_ref(&refs[0], "refs/heads/main", "0123456789012345678901234567890123456789");
	CHECK_CODE(cw_bundle_write(&bytes, src, path, refs, 1, NULL, 0), CW_ENOTFOUND);
	set_ref(&refs[0], "refs/heads/main", tree1); /* a tree, not a commit */
	CHECK(cw_bundle_write(&bytes, src, path, refs, 1, NULL, 0) < 0);
	set_ref(&refs[0], "refs/heads/main", c3);
	set_ref(&refs[1], "refs/heads/main", s1);
	CHECK_CODE(cw_bundle_write(&bytes, src, path, refs, 2, NULL, 0), CW_EINVALID);
	pre[0] = "C2";
	CHECK_CODE(cw_bundle_write(&bytes, src, path, refs, 1, pre, 1), CW_EINVALID);
	CHECK_CODE(cw_bundle_write(&bytes, src, path, refs, 0, NULL, 0), CW_EINVALID);
	CHECK_CODE(cw_bundle_write(&bytes, dir, path, refs, 1, NULL, 0), CW_ENOTFOUND);
	CHECK(bytes == 7);
	/* nothing left behind: no bundle, no temporary file */
	CHECK(cw_test_capture(out, sizeof(out), "ls -A '%s'", dir) == 0);
	CHECK(strcmp(out, "") == 0);
}

/* ---- importing -------------------------------------------------------- */

static void test_import_full_then_again(void)
{
	char path[512], repo[512], before[4096], after[4096];
	cw_bundle_header h;

	if (!need_src())
		return;
	CHECK_OK(write_bundle(path, sizeof(path), cw_test_tmpdir(), 0));
	fresh_bare(repo, sizeof(repo));
	CHECK_OK(cw_bundle_import(&h, repo, path, MAX_BYTES));
	CHECK(h.nrefs == 2 && h.nprereqs == 0 && h.pack_offset > 0);
	CHECK(strcmp(h.refs[1].name, "refs/heads/side") == 0 && strcmp(h.refs[1].oid, s1) == 0);
	cw_bundle_header_dispose(&h);
	CHECK(has_object(repo, c1) && has_object(repo, c2) && has_object(repo, c3) && has_object(repo, s1));
	CHECK(has_object(repo, tree1));
	CHECK(cw_test_run("git -C '%s' cat-file -e %s:d/f", repo, c3) == 0);
	CHECK(fsck_clean(repo));
	/* refs are the caller's business */
	CHECK(cw_test_run("git -C '%s' show-ref -q", repo) != 0);
	pack_listing(before, sizeof(before), repo);

	CHECK_OK(cw_bundle_import(&h, repo, path, MAX_BYTES));
	cw_bundle_header_dispose(&h);
	pack_listing(after, sizeof(after), repo);
	CHECK(strcmp(before, after) == 0);
	CHECK(fsck_clean(repo));

	/* size cap */
	CHECK_CODE(cw_bundle_import(&h, repo, path, 100), CW_EINVALID);
	CHECK(h.refs == NULL && h.nrefs == 0);
}

static void test_import_incremental_waits(void)
{
	char full[512], inc[512], repo[512], before[4096], after[4096];
	cw_bundle_header h;
	const char *dir;

	if (!need_src())
		return;
	dir = cw_test_tmpdir();
	CHECK_OK(write_bundle(full, sizeof(full), dir, 0));
	CHECK_OK(write_bundle(inc, sizeof(inc), dir, 1));
	fresh_bare(repo, sizeof(repo));
	pack_listing(before, sizeof(before), repo);
	CHECK_CODE(cw_bundle_import(&h, repo, inc, MAX_BYTES), CW_EWAIT);
	CHECK(strstr(cw_error_last(), c2) != NULL);
	CHECK(strstr(cw_error_last(), "1 of 1") != NULL);
	CHECK(h.refs == NULL && h.prereqs == NULL);
	pack_listing(after, sizeof(after), repo);
	CHECK(strcmp(before, after) == 0);
	CHECK(!has_object(repo, c3));

	/* once the predecessor is in, it imports; in either order the state is the same */
	CHECK_OK(cw_bundle_import(&h, repo, full, MAX_BYTES));
	cw_bundle_header_dispose(&h);
	CHECK_OK(cw_bundle_import(&h, repo, inc, MAX_BYTES));
	CHECK(h.nprereqs == 1);
	cw_bundle_header_dispose(&h);
	CHECK(fsck_clean(repo));
}

/* A bundle of c2 only, imported: a repository that has the prerequisite. */
static void repo_with_c2(char *repo, size_t cap, const char *dir)
{
	char path[512];
	cw_bundle_ref r;
	cw_bundle_header h;
	uint64_t bytes;

	set_ref(&r, "refs/heads/base", c2);
	snprintf(path, sizeof(path), "%s/base.bundle", dir);
	CHECK_OK(cw_bundle_write(&bytes, src, path, &r, 1, NULL, 0));
	fresh_bare(repo, cap);
	CHECK_OK(cw_bundle_import(&h, repo, path, MAX_BYTES));
	cw_bundle_header_dispose(&h);
	CHECK(!has_object(repo, c3));
}

static void test_import_incremental_after_base(void)
{
	char inc[512], repo[512];
	cw_bundle_header h;
	const char *dir;

	if (!need_src())
		return;
	dir = cw_test_tmpdir();
	CHECK_OK(write_bundle(inc, sizeof(inc), dir, 1));
	repo_with_c2(repo, sizeof(repo), dir);
	CHECK_OK(cw_bundle_import(&h, repo, inc, MAX_BYTES));
	cw_bundle_header_dispose(&h);
	CHECK(has_object(repo, c3) && has_object(repo, s1));
	CHECK(fsck_clean(repo));
}

/* ---- bundles written by stock git ------------------------------------- */

static void test_reads_stock_bundles(void)
{
	char full[512], inc[512], v3[512], repo[512], repo2[512];
	cw_bundle_header h;
	const char *dir;

	if (!need_src())
		return;
	dir = cw_test_tmpdir();
	snprintf(full, sizeof(full), "%s/stock.bundle", dir);
	snprintf(inc, sizeof(inc), "%s/stock-inc.bundle", dir);
	snprintf(v3, sizeof(v3), "%s/stock-v3.bundle", dir);
	CHECK(cw_test_run("git -C '%s' bundle create -q --version=2 '%s' main side", src, full) == 0);
	CHECK(cw_test_run("git -C '%s' bundle create -q --version=2 '%s' main side ^%s", src, inc, c2) == 0);
	CHECK(cw_test_run("git -C '%s' bundle create -q --version=3 '%s' main", src, v3) == 0);

	CHECK_OK(cw_bundle_read_header(&h, full));
	CHECK(h.nrefs == 2 && h.nprereqs == 0);
	CHECK(strcmp(h.refs[0].name, "refs/heads/main") == 0 && strcmp(h.refs[0].oid, c3) == 0);
	CHECK(strcmp(h.refs[1].name, "refs/heads/side") == 0 && strcmp(h.refs[1].oid, s1) == 0);
	cw_bundle_header_dispose(&h);

	fresh_bare(repo, sizeof(repo));
	CHECK_OK(cw_bundle_import(&h, repo, full, MAX_BYTES));
	cw_bundle_header_dispose(&h);
	CHECK(has_object(repo, c3) && has_object(repo, s1));
	CHECK(fsck_clean(repo));

	/* git's incremental bundles hold a thin pack: bases come from the repository */
	repo_with_c2(repo2, sizeof(repo2), dir);
	CHECK_OK(cw_bundle_import(&h, repo2, inc, MAX_BYTES));
	CHECK(h.nprereqs == 1 && strcmp(h.prereqs[0], c2) == 0);
	cw_bundle_header_dispose(&h);
	CHECK(has_object(repo2, c3) && has_object(repo2, s1));
	CHECK(fsck_clean(repo2));

	CHECK_CODE(cw_bundle_read_header(&h, v3), CW_EINVALID);
	CHECK(strstr(cw_error_last(), "version 3") != NULL);
	CHECK_CODE(cw_bundle_import(&h, repo, v3, MAX_BYTES), CW_EINVALID);
}

/* ---- hostile bundles -------------------------------------------------- */

static int write_file(const char *path, const void *data, size_t len)
{
	return cw_file_write_atomic(path, data, len, 0600, 0);
}

/* Import data as a bundle into repo: must fail with one of the clean codes
 * and leave objects/pack as it was. Returns the code. */
static int import_hostile(const char *repo, const char *dir, const void *data, size_t len, const char *what)
{
	char path[512], before[4096], after[4096];
	cw_bundle_header h;
	int rc;

	snprintf(path, sizeof(path), "%s/hostile.bundle", dir);
	CHECK_OK(write_file(path, data, len));
	pack_listing(before, sizeof(before), repo);
	rc = cw_bundle_import(&h, repo, path, MAX_BYTES);
	if (getenv("CW_TEST_VERBOSE"))
		printf("  %s -> %d: %s\n", what, rc, cw_error_last());
	if (rc != CW_EINVALID && rc != CW_EVERIFY) {
		char m[700];

		snprintf(m, sizeof(m), "%s: got %d: %s", what, rc, cw_error_last());
		cw_test_fail(__FILE__, __LINE__, "import of a hostile bundle", m);
	}
	CHECK(h.refs == NULL && h.prereqs == NULL);
	pack_listing(after, sizeof(after), repo);
	CHECK(strcmp(before, after) == 0);
	return rc;
}

/* tmpl with every '$' replaced by oid. */
static void subst(char *out, size_t cap, const char *tmpl, const char *oid)
{
	size_t n = 0;

	for (; *tmpl && n + 41 < cap; tmpl++) {
		if (*tmpl == '$') {
			memcpy(out + n, oid, 40);
			n += 40;
		} else {
			out[n++] = *tmpl;
		}
	}
	out[n] = '\0';
}

static void test_hostile_bundles(void)
{
	char path[512], repo[512];
	cw_buf b = CW_BUF_INIT, t = CW_BUF_INIT;
	cw_bundle_header h;
	const char *dir;
	size_t off, cuts[8], i;
	uint8_t *copy = NULL;

	if (!need_src())
		return;
	dir = cw_test_tmpdir();
	CHECK_OK(write_bundle(path, sizeof(path), dir, 0));
	CHECK_OK(cw_file_read(&b, path, MAX_BYTES));
	CHECK_OK(cw_bundle_parse_header(&h, b.data, b.len));
	off = (size_t)h.pack_offset;
	cw_bundle_header_dispose(&h);
	CHECK(off > 0 && off + 32 < b.len && memcmp(b.data + off, "PACK", 4) == 0);
	if (cw_test_failed || (copy = malloc(b.len)) == NULL)
		goto done;
	fresh_bare(repo, sizeof(repo));

	/* truncated: in the header, at the pack, in the pack header, mid-pack, in the trailer */
	cuts[0] = 0;
	cuts[1] = 10;
	cuts[2] = off - 1;
	cuts[3] = off;
	cuts[4] = off + 6;
	cuts[5] = off + (b.len - off) / 2;
	cuts[6] = b.len - 20;
	cuts[7] = b.len - 1;
	for (i = 0; i < 8; i++)
		import_hostile(repo, dir, b.data, cuts[i], "truncated");
	CHECK(import_hostile(repo, dir, b.data, off + (b.len - off) / 2, "truncated") == CW_EVERIFY);

	/* a flipped bit in the pack: in an object, in the trailer checksum, in the object count */
	for (i = 0; i < 3; i++) {
		size_t at = i == 0 ? off + (b.len - off) / 2 : i == 1 ? b.len - 3 : off + 11;

		memcpy(copy, b.data, b.len);
		copy[at] ^= 0x04;
		CHECK(import_hostile(repo, dir, copy, b.len, "bit flip in the pack") == CW_EVERIFY);
	}

	/* a flipped bit in the header: the signature, a ref's id (to another hex
	 * digit, then to a non-hex byte), the blank line */
	memcpy(copy, b.data, b.len);
	copy[3] ^= 0x01;
	CHECK(import_hostile(repo, dir, copy, b.len, "bit flip in the signature") == CW_EINVALID);
	memcpy(copy, b.data, b.len);
	copy[16 + 5] ^= 0x01; /* '0'-'9' and 'a'-'f' stay hex... or not */
	import_hostile(repo, dir, copy, b.len, "bit flip in a ref id");
	memcpy(copy, b.data, b.len);
	copy[16 + 5] = (uint8_t)(copy[16 + 5] >= 'a' ? copy[16 + 5] ^ 0x20 : copy[16 + 5] ^ 0x40);
	CHECK(import_hostile(repo, dir, copy, b.len, "ref id not hex") == CW_EINVALID);
	memcpy(copy, b.data, b.len);
	copy[off - 1] ^= 0x02;
	CHECK(import_hostile(repo, dir, copy, b.len, "bit flip in the blank line") == CW_EINVALID);

	/* handmade headers in front of the real pack */
	{
		/* '$' stands for the id of main's head */
		static const char *const heads[] = {
			"# v3 git bundle\n@object-format=sha1\n$ refs/heads/main\n\n",
			"# v2 git bundle\n$ refs/heads/a..b\n\n",
			"# v2 git bundle\n$ refs/heads/main\n$ refs/heads/main\n\n",
			"# v2 git bundle\n$ refs/heads/main\r\n\r\n",
			"# v2 git bundle\n$ HEAD\n\n",
			"# v2 git bundle\n$\n\n",
			"# v2 git bundle\n\n",
			"# v2 git bundle\n-$\n\n",
			"# v2 git bundle\n-$x refs/heads/main\n\n",
			"# v2 git bundle \n$ refs/heads/main\n\n",
		};
		char head[512];

		for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
			t.len = 0;
			subst(head, sizeof(head), heads[i], c3);
			CHECK_OK(cw_buf_put(&t, head, strlen(head)));
			CHECK_OK(cw_buf_put(&t, b.data + off, b.len - off));
			CHECK(import_hostile(repo, dir, t.data, t.len, heads[i]) == CW_EINVALID);
		}
	}
	/* upper-case hex */
	{
		char head[512], up[41];

		for (i = 0; i < 41; i++)
			up[i] = (char)(c3[i] >= 'a' && c3[i] <= 'f' ? c3[i] - 32 : c3[i]);
		t.len = 0;
		snprintf(head, sizeof(head), "# v2 git bundle\n%s refs/heads/main\n\n", up);
		CHECK_OK(cw_buf_put(&t, head, strlen(head)));
		CHECK_OK(cw_buf_put(&t, b.data + off, b.len - off));
		CHECK(strcmp(up, c3) != 0);
		CHECK(import_hostile(repo, dir, t.data, t.len, "upper-case hex") == CW_EINVALID);
	}
	/* an enormous line */
	t.len = 0;
	CHECK_OK(cw_buf_put(&t, "# v2 git bundle\n", 16));
	CHECK_OK(cw_buf_put(&t, c3, 40));
	CHECK_OK(cw_buf_put(&t, " refs/heads/", 12));
	for (i = 0; i < (1u << 20) && t.len < (1u << 20); i++)
		CHECK_OK(cw_buf_put(&t, "aaaaaaaaaaaaaaaa", 16));
	CHECK_OK(cw_buf_put(&t, "\n\n", 2));
	CHECK(import_hostile(repo, dir, t.data, t.len, "enormous line") == CW_EINVALID);
	CHECK(strstr(cw_error_last(), "longer than") != NULL);

	/* a well-formed header whose ref names a tree, and one naming a missing commit */
	{
		char head[512];

		t.len = 0;
		snprintf(head, sizeof(head), "# v2 git bundle\n%s refs/heads/main\n\n", tree1);
		CHECK_OK(cw_buf_put(&t, head, strlen(head)));
		CHECK_OK(cw_buf_put(&t, b.data + off, b.len - off));
		CHECK(import_hostile(repo, dir, t.data, t.len, "ref names a tree") == CW_EVERIFY);
		CHECK(strstr(cw_error_last(), "not a commit") != NULL);
		t.len = 0;
		snprintf(head, sizeof(head), "# v2 git bundle\n%s refs/heads/main\n\n",
		         "0123456789abcdef0123456789abcdef01234567");
		CHECK_OK(cw_buf_put(&t, head, strlen(head)));
		CHECK_OK(cw_buf_put(&t, b.data + off, b.len - off));
		CHECK(import_hostile(repo, dir, t.data, t.len, "ref names a missing commit") == CW_EVERIFY);
	}

	/* the target is still clean and still empty, and takes the real bundle */
	CHECK(fsck_clean(repo));
	CHECK(!has_object(repo, c1));
	CHECK_OK(cw_bundle_import(&h, repo, path, MAX_BYTES));
	cw_bundle_header_dispose(&h);
	CHECK(fsck_clean(repo));
done:
	free(copy);
	cw_buf_dispose(&b);
	cw_buf_dispose(&t);
}

/* A pack that leaves out an object its commits need (made by hand from a
 * bundle whose prerequisite is dropped from the header): refused. */
static void test_incomplete_pack_refused(void)
{
	char inc[512], repo[512], out[4096];
	cw_buf b = CW_BUF_INIT, t = CW_BUF_INIT;
	cw_bundle_header h;
	const char *dir;

	if (!need_src())
		return;
	dir = cw_test_tmpdir();
	CHECK_OK(write_bundle(inc, sizeof(inc), dir, 1));
	CHECK_OK(cw_file_read(&b, inc, MAX_BYTES));
	CHECK_OK(cw_bundle_parse_header(&h, b.data, b.len));
	if (h.nrefs == 2) {
		/* the same refs and pack, claiming no prerequisites */
		CHECK_OK(cw_buf_put(&t, "# v2 git bundle\n", 16));
		CHECK_OK(cw_buf_put(&t, c3, 40));
		CHECK_OK(cw_buf_put(&t, " refs/heads/main\n\n", 18));
		CHECK_OK(cw_buf_put(&t, b.data + h.pack_offset, b.len - (size_t)h.pack_offset));
		fresh_bare(repo, sizeof(repo));
		CHECK(import_hostile(repo, dir, t.data, t.len, "pack missing its base") == CW_EVERIFY);
		CHECK(fsck_clean(repo));
		CHECK(cw_test_capture(out, sizeof(out), "ls -A '%s/objects/pack'", repo) == 0 &&
		      out[0] == '\0');
	}
	cw_bundle_header_dispose(&h);

	/* a pack made by git pack-objects with c1 and its tree but not its blob */
	t.len = 0;
	b.len = 0;
	snprintf(inc, sizeof(inc), "%s/partial.pack", dir);
	CHECK(cw_test_run("printf '%%s\\n%%s\\n' %s %s | git -C '%s' pack-objects -q --stdout > '%s'", c1,
	                  tree1, src, inc) == 0);
	CHECK_OK(cw_file_read(&b, inc, MAX_BYTES));
	CHECK_OK(cw_buf_put(&t, "# v2 git bundle\n", 16));
	CHECK_OK(cw_buf_put(&t, c1, 40));
	CHECK_OK(cw_buf_put(&t, " refs/heads/main\n\n", 18));
	CHECK_OK(cw_buf_put(&t, b.data, b.len));
	fresh_bare(repo, sizeof(repo));
	CHECK(import_hostile(repo, dir, t.data, t.len, "pack missing a blob") == CW_EVERIFY);
	CHECK(strstr(cw_error_last(), "missing") != NULL);
	CHECK(fsck_clean(repo));
	cw_buf_dispose(&b);
	cw_buf_dispose(&t);
}

static void test_git_installed(void)
{
	need_git();
}

/* ---- the header parser alone ------------------------------------------ */

static void test_parse_header(void)
{
	static const char ok[] = "# v2 git bundle\n"
	                         "-0123456789abcdef0123456789abcdef01234567 a subject\n"
	                         "-89abcdef0123456789abcdef0123456789abcdef\n"
	                         "0123456789abcdef0123456789abcdef01234567 refs/cw/case/C1/dev-A\n"
	                         "\nPACK";
	static const char *const bad[] = {
		"",
		"# v2 git bundle\n",
		"# v2 git bundle\n0123456789abcdef0123456789abcdef01234567 refs/heads/x\n",
		"# v2 git bundle\n0123456789abcdef0123456789abcdef01234567 refs/heads/x.lock\n\n",
		"# v2 git bundle\n0123456789abcdef0123456789abcdef01234567 refs/heads/.x\n\n",
		"# v2 git bundle\n0123456789abcdef0123456789abcdef01234567 refs//x\n\n",
		"# v2 git bundle\n0123456789abcdef0123456789abcdef01234567 refs/x/\n\n",
		"# v2 git bundle\n0123456789abcdef0123456789abcdef01234567 refs/x.\n\n",
		"# v2 git bundle\n0123456789abcdef0123456789abcdef01234567 refs/x@{1}\n\n",
		"# v2 git bundle\n0123456789abcdef0123456789abcdef01234567 refs/x y\n\n",
		"# v2 git bundle\n0123456789abcdef0123456789abcdef01234567 refs/x\ty\n\n",
		"# v2 git bundle\n0123456789abcdef0123456789abcdef01234567 refs/\n\n",
		"# v2 git bundle\n0123456789abcdef0123456789abcdef01234567  refs/x\n\n",
		"# v2 git bundle\n0123456789abcdef0123456789abcdef0123456 refs/x\n\n",
		("# v2 git bundle\n-0123456789abcdef0123456789abcdef0123456\n"
		 "0123456789abcdef0123456789abcdef01234567 refs/x\n\n"),
		"# v3 git bundle\n0123456789abcdef0123456789abcdef01234567 refs/x\n\n",
		"# v2 git bundle\n@filter=blob:none\n0123456789abcdef0123456789abcdef01234567 refs/x\n\n",
	};
	cw_bundle_header h;
	size_t i;

	CHECK_OK(cw_bundle_parse_header(&h, (const uint8_t *)ok, sizeof(ok) - 1));
	CHECK(h.nprereqs == 2 && strcmp(h.prereqs[1], "89abcdef0123456789abcdef0123456789abcdef") == 0);
	CHECK(h.nrefs == 1 && strcmp(h.refs[0].name, "refs/cw/case/C1/dev-A") == 0);
	CHECK(h.pack_offset == sizeof(ok) - 1 - 4);
	cw_bundle_header_dispose(&h);
	cw_bundle_header_dispose(&h); /* twice is harmless */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = cw_bundle_parse_header(&h, (const uint8_t *)bad[i], strlen(bad[i]));

		if (rc != CW_EINVALID)
			cw_test_fail(__FILE__, __LINE__, "parse of a bad header", bad[i]);
		CHECK(h.refs == NULL && h.nrefs == 0 && h.prereqs == NULL);
	}
	/* a NUL inside the header */
	CHECK_CODE(cw_bundle_parse_header(&h, (const uint8_t *)"# v2 git bundle\n\0", 17), CW_EINVALID);
	CHECK_CODE(cw_bundle_read_header(&h, "/nonexistent/x.bundle"), CW_ENOTFOUND);
}

const cw_test cw_tests[] = {
	{ "git is installed", test_git_installed },
	{ "parse header", test_parse_header },
	{ "full bundle accepted by git", test_full_bundle_accepted_by_git },
	{ "incremental bundle and its prerequisite", test_incremental_bundle_prerequisite },
	{ "write refuses bad input", test_write_refuses_bad_input },
	{ "import full, then again", test_import_full_then_again },
	{ "import incremental waits for its prerequisite", test_import_incremental_waits },
	{ "import incremental after its base", test_import_incremental_after_base },
	{ "reads bundles from stock git", test_reads_stock_bundles },
	{ "hostile bundles", test_hostile_bundles },
	{ "incomplete pack refused", test_incomplete_pack_refused },
	CW_TESTS_END,
};
