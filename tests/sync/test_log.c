/*
 * tests/sync/test_log.c - the git-backed change log checked against stock
 * git: chains written by one node verify with `git verify-commit`, pass
 * `git fsck --strict`, travel with `git fetch` and give the same state on
 * the other node; forged, rewritten, altered and lying commits are refused
 * with the store unchanged; no plaintext reaches the repository.
 *
 * Needs stock git and ssh-keygen on PATH; without them the tests fail.
 */
#include "harness.h"
#include "crypto/sshsig.h"
#include "node/case.h"
#include "node/docs.h"
#include "node/oplog.h"
#include "node/store_internal.h"
#include "sync/log.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/file.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define MARKER "Zebulon Quastwick-Marrowby"

static int have_git = -1;

static int need_git(void)
{
	static char home[300];

	if (have_git < 0) {
		have_git = cw_test_run("git --version >/dev/null 2>&1") == 0 &&
		           cw_test_run("command -v ssh-keygen >/dev/null 2>&1") == 0;
		if (have_git) {
			snprintf(home, sizeof(home), "%s", cw_test_tmpdir());
			setenv("HOME", home, 1);
			setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
			setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
		}
	}
	if (!have_git)
		cw_test_fail(
		    __FILE__, __LINE__, "need_git()",
		    "stock git and ssh-keygen are needed: these tests check the log against git itself");
	return have_git;
}

/* ---- nodes ---------------------------------------------------------------- */

typedef struct {
	char home[300];
	char repo[320];
	cw_store *st;
	cw_keys *k; /* owned unless borrowed */
	int borrowed;
	cw_log *log;
} node_t;

static int node_open(node_t *n, const char *name, cw_keys *borrow)
{
	cw_secret *pk = NULL;
	char *path;
	int ok = 0;

	memset(n, 0, sizeof(*n));
	snprintf(n->home, sizeof(n->home), "%s/%s", cw_test_tmpdir(), name);
	snprintf(n->repo, sizeof(n->repo), "%s/log.git", n->home);
	mkdir(n->home, 0700);
	path = cw_path_join(n->home, "store.db");
	if (path && cw_secret_random(&pk, 32) == CW_OK &&
	    cw_store_open(&n->st, path, pk, CW_STORE_CREATE) == CW_OK &&
	    (borrow || cw_keys_generate(&n->k) == CW_OK) && cw_log_open(&n->log, n->home) == CW_OK)
		ok = 1;
	if (borrow) {
		n->k = borrow;
		n->borrowed = 1;
	}
	if (!ok)
		fprintf(stderr, "node %s: %s\n", name, cw_error_last());
	cw_secret_free(pk);
	free(path);
	return ok;
}

static void node_close(node_t *n)
{
	cw_log_free(n->log);
	cw_store_free(n->st);
	if (!n->borrowed)
		cw_keys_free(n->k);
	memset(n, 0, sizeof(*n));
}

/* Grants are not built yet: copy the case key row by hand. */
static int give_key(node_t *to, node_t *from, const uint8_t case_id[CW_ID_BYTES])
{
	cw_secret *key = NULL;
	sqlite3_stmt *stmt = NULL;
	int rc = -1;

	if (cw_case_key(&key, from->st, case_id) != CW_OK)
		return -1;
	if (sqlite3_prepare_v2(cw_store__db(to->st),
	                       "INSERT INTO case_keys(case_id, generation, key) VALUES(?1, 1, ?2)", -1, &stmt,
	                       NULL) == SQLITE_OK) {
		sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(stmt, 2, cw_secret_data(key), (int)cw_secret_len(key), SQLITE_STATIC);
		rc = sqlite3_step(stmt) == SQLITE_DONE ? 0 : -1;
	}
	sqlite3_finalize(stmt);
	cw_secret_free(key);
	return rc;
}

static void digest(uint8_t out[CW_HASH_BYTES], node_t *n)
{
	memset(out, 0, CW_HASH_BYTES);
	CHECK_OK(cw_oplog_digest(out, n->st, NULL));
}

static void set_phone(node_t *n, const uint8_t case_id[CW_ID_BYTES], const char *phone)
{
	cw_kv kv = { "phone", phone };

	CHECK_OK(cw_case_set(n->st, n->k, case_id, &kv, 1));
}

static void add_note(node_t *n, const uint8_t case_id[CW_ID_BYTES], const char *text)
{
	cw_kv kv = { "text", text };
	uint8_t item[CW_ID_BYTES];

	CHECK_OK(cw_case_add(item, n->st, n->k, case_id, CW_KIND_NOTE, &kv, 1));
}

static void chain_ref(char *out, size_t cap, const uint8_t case_id[CW_ID_BYTES], const cw_keys *k)
{
	char c[2 * CW_ID_BYTES + 1];

	cw_id_hex(c, case_id);
	snprintf(out, cap, "refs/cw/case/%s/%s", c, cw_keys_id(k));
}

static int write_signers(char *path, size_t cap, const cw_keyring *kr)
{
	cw_buf b = CW_BUF_INIT;
	int rc;

	snprintf(path, cap, "%s/allowed_signers", cw_test_tmpdir());
	rc = cw_log_allowed_signers(&b, kr);
	if (rc == CW_OK)
		rc = cw_file_write_atomic(path, b.data, b.len, 0600, 0);
	cw_buf_dispose(&b);
	return rc;
}

/* Every commit on every chain is accepted by stock `git verify-commit`. */
static void check_stock_verify(const char *repo, const char *signers, size_t *count)
{
	char list[16384], out[4096], *line, *save = NULL;

	*count = 0;
	CHECK(cw_test_capture(list, sizeof(list), "git -C '%s' rev-list --glob='refs/cw/*'", repo) == 0);
	for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int rc = cw_test_capture(out, sizeof(out),
		                         "git -C '%s' -c gpg.format=ssh -c gpg.ssh.allowedSignersFile='%s' "
		                         "verify-commit %s 2>&1",
		                         repo, signers, line);

		CHECK(rc == 0);
		CHECK(strstr(out, "Good \"git\" signature") != NULL);
		if (rc != 0 || strstr(out, "Good \"git\" signature") == NULL)
			fprintf(stderr, "verify-commit %s: %s\n", line, out);
		(*count)++;
	}
}

static void check_no_marker(const char *repo)
{
	char out[256];

	/* Every object, as git reads it (inflated). */
	CHECK(cw_test_capture(out, sizeof(out),
	                      "git -C '%s' cat-file --batch-all-objects --batch | grep -c -a '%s'", repo,
	                      MARKER) == 1);
	CHECK(strcmp(out, "0\n") == 0);
	/* The files themselves, loose and packed. */
	CHECK(cw_test_run("grep -r -l -a '%s' '%s/objects' >/dev/null 2>&1", MARKER, repo) == 1);
	/* And the objects are really there (the search saw something). */
	CHECK(cw_test_capture(out, sizeof(out),
	                      "git -C '%s' cat-file --batch-all-objects --batch-check | wc -l", repo) == 0);
	CHECK(atoi(out) > 0);
}

/* A commit made from `base` (a commit in repo): gpgsig dropped, tree and
 * parents replaced when given, the "seq: " line replaced when given,
 * signed with k and written to repo. out = its id. */
static int craft(char out[41], const char *repo, const char *base, const char *tree, const char *parent,
                 const char *seq, const cw_keys *k)
{
	static char raw[65536];
	cw_buf text = CW_BUF_INIT, signed_text = CW_BUF_INIT;
	char path[400], line[512], *p, *nl;
	int in_headers = 1, rc = -1;

	out[0] = '\0';
	if (cw_test_capture(raw, sizeof(raw), "git -C '%s' cat-file commit %s", repo, base) != 0)
		return -1;
	for (p = raw; *p; p = nl + 1) {
		size_t len;

		if ((nl = strchr(p, '\n')) == NULL)
			break;
		len = (size_t)(nl - p) + 1;
		if (in_headers && len == 1) {
			in_headers = 0;
		} else if (in_headers && (strncmp(p, "gpgsig ", 7) == 0 || p[0] == ' ')) {
			continue;
		} else if (in_headers && strncmp(p, "tree ", 5) == 0) {
			if (tree) {
				snprintf(line, sizeof(line), "tree %s\n", tree);
				cw_buf_put(&text, line, strlen(line));
			} else {
				cw_buf_put(&text, p, len);
			}
			if (parent) {
				snprintf(line, sizeof(line), "parent %s\n", parent);
				cw_buf_put(&text, line, strlen(line));
			}
			continue;
		} else if (in_headers && strncmp(p, "parent ", 7) == 0 && parent) {
			continue;
		} else if (!in_headers && seq && strncmp(p, "seq: ", 5) == 0) {
			snprintf(line, sizeof(line), "seq: %s\n", seq);
			cw_buf_put(&text, line, strlen(line));
			continue;
		}
		cw_buf_put(&text, p, len);
	}
	snprintf(path, sizeof(path), "%s/crafted", cw_test_tmpdir());
	if (cw_sshsig_sign_commit(&signed_text, k, (const char *)text.data, text.len) == CW_OK &&
	    cw_file_write_atomic(path, signed_text.data, signed_text.len, 0600, 0) == CW_OK &&
	    cw_test_capture(line, sizeof(line), "git -C '%s' hash-object -t commit -w --stdin < '%s'", repo,
	                    path) == 0 &&
	    strlen(line) >= 40) {
		memcpy(out, line, 40);
		out[40] = '\0';
		rc = 0;
	}
	cw_buf_dispose(&text);
	cw_buf_dispose(&signed_text);
	return rc;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_parse_message(void)
{
	static const char ok[] =
	    "caseway ops v1\n\ncase: 00112233445566778899aabbccddeeff\nauthor: 0123456789abcdef\n"
	    "seq: 3-17\nops-blake2b: "
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	static const char *const bad[] = {
		"",
		"caseway ops v1\n",
		/* upper-case hex */
		"caseway ops v1\n\ncase: 00112233445566778899AABBCCDDEEFF\nauthor: 0123456789abcdef\nseq: "
		"3-17\n"
		"ops-blake2b: 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
		/* short case */
		"caseway ops v1\n\ncase: 00112233445566778899aabbccddee\nauthor: 0123456789abcdef\nseq: "
		"3-17\n"
		"ops-blake2b: 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
		/* range backwards */
		"caseway ops v1\n\ncase: 00112233445566778899aabbccddeeff\nauthor: 0123456789abcdef\nseq: "
		"17-3\n"
		"ops-blake2b: 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
		/* seq 0 */
		"caseway ops v1\n\ncase: 00112233445566778899aabbccddeeff\nauthor: 0123456789abcdef\nseq: "
		"0-3\n"
		"ops-blake2b: 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
		/* leading zero */
		"caseway ops v1\n\ncase: 00112233445566778899aabbccddeeff\nauthor: 0123456789abcdef\nseq: "
		"03-3\n"
		"ops-blake2b: 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
		/* overflow */
		"caseway ops v1\n\ncase: 00112233445566778899aabbccddeeff\nauthor: 0123456789abcdef\n"
		"seq: 1-99999999999999999999\n"
		"ops-blake2b: 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
		/* range too wide */
		"caseway ops v1\n\ncase: 00112233445566778899aabbccddeeff\nauthor: 0123456789abcdef\nseq: "
		"1-65537\n"
		"ops-blake2b: 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
		/* no final newline */
		"caseway ops v1\n\ncase: 00112233445566778899aabbccddeeff\nauthor: 0123456789abcdef\nseq: "
		"3-17\n"
		"ops-blake2b: 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		/* trailing line */
		"caseway ops v1\n\ncase: 00112233445566778899aabbccddeeff\nauthor: 0123456789abcdef\nseq: "
		"3-17\n"
		"ops-blake2b: 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\nx\n",
		/* CRLF */
		"caseway ops v1\r\n\r\ncase: 00112233445566778899aabbccddeeff\r\nauthor: 0123456789abcdef\r\n"
		"seq: 3-17\r\nops-blake2b: "
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\r\n",
		/* v2 */
		"caseway ops v2\n\ncase: 00112233445566778899aabbccddeeff\nauthor: 0123456789abcdef\nseq: "
		"3-17\n"
		"ops-blake2b: 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
	};
	cw_log_message m;
	size_t i;

	memset(&m, 0, sizeof(m));
	CHECK_OK(cw_log_parse_message(&m, ok, strlen(ok)));
	CHECK(m.first == 3 && m.last == 17 && m.case_id[15] == 0xff && m.author[7] == 0xef &&
	      m.ops_hash[31] == 0x1f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&m, 0x5a, sizeof(m));
		CHECK_CODE(cw_log_parse_message(&m, bad[i], strlen(bad[i])), CW_EINVALID);
		CHECK(m.first == 0x5a5a5a5a5a5a5a5aull); /* untouched */
	}
	/* Every truncation of the good one fails. */
	for (i = 0; i + 1 < sizeof(ok) - 1; i++)
		CHECK_CODE(cw_log_parse_message(&m, ok, i), CW_EINVALID);
}

static void test_open_creates_bare(void)
{
	cw_log *log = NULL;
	char path[400], out[64];

	if (!need_git())
		return;
	snprintf(path, sizeof(path), "%s/home1", cw_test_tmpdir());
	mkdir(path, 0700);
	CHECK_OK(cw_log_open(&log, path));
	cw_log_free(log);
	log = NULL;
	CHECK_OK(cw_log_open(&log, path)); /* again: opens */
	cw_log_free(log);
	CHECK(cw_test_capture(out, sizeof(out), "git -C '%s/log.git' rev-parse --is-bare-repository", path) ==
	      0);
	CHECK(strcmp(out, "true\n") == 0);
}

/* The whole round: A and B write to one case and sync through git. */
static void test_two_nodes_through_git(void)
{
	node_t a, b, s, f, c;
	cw_keyring kr = { 0, NULL, NULL }, kr_s = { 0, NULL, NULL };
	cw_kv kv = { "name", MARKER };
	uint8_t case_id[CW_ID_BYTES], da[CW_HASH_BYTES], db[CW_HASH_BYTES], before[CW_HASH_BYTES];
	char signers[400], tmp[300], ref_a[200], ref_b[200], ref_s[200], out[16384];
	char a1[41], a2[41], a3[41], b1[41], b2[41], forged[41], tree1[41], lie[41], evil[41];
	size_t n, nb, commits;
	int rc;

	memset(&s, 0, sizeof(s));
	memset(&f, 0, sizeof(f));
	memset(&c, 0, sizeof(c));
	if (!need_git())
		return;
	if (!node_open(&a, "A", NULL) || !node_open(&b, "B", NULL)) {
		CHECK(!"nodes open");
		return;
	}
	CHECK_OK(cw_keyring_add(&kr, cw_keys_sign_pk(a.k)));
	CHECK_OK(cw_keyring_add(&kr, cw_keys_sign_pk(b.k)));
	CHECK_OK(write_signers(signers, sizeof(signers), &kr));

	/* A writes and commits: one commit, then nothing new. */
	CHECK_OK(cw_case_create(case_id, a.st, a.k, &kv, 1));
	set_phone(&a, case_id, "+90 555 0101");
	add_note(&a, case_id, MARKER " called from the hotel");
	chain_ref(ref_a, sizeof(ref_a), case_id, a.k);
	chain_ref(ref_b, sizeof(ref_b), case_id, b.k);
	n = 99;
	CHECK_OK(cw_log_commit(&n, a.log, a.st, a.k, NULL));
	CHECK(n == 1);
	CHECK_OK(cw_log_commit(&n, a.log, a.st, a.k, NULL));
	CHECK(n == 0);
	cw_test_rev_parse(a1, a.repo, ref_a);
	CHECK(a1[0] != '\0');
	set_phone(&a, case_id, "+90 555 0202");
	add_note(&a, case_id, "second note");
	CHECK_OK(cw_log_commit(&n, a.log, a.st, a.k, NULL));
	CHECK(n == 1);
	cw_test_rev_parse(a2, a.repo, ref_a);
	CHECK(strcmp(a1, a2) != 0);

	/* Stock git: signatures, fsck, first parent. */
	check_stock_verify(a.repo, signers, &n);
	CHECK(n == 2);
	CHECK(cw_test_run("git -C '%s' fsck --strict --no-dangling >/dev/null 2>&1", a.repo) == 0);
	CHECK(cw_test_capture(out, sizeof(out), "git -C '%s' log --format=%%P -n 1 '%s'", a.repo, ref_a) ==
	      0);
	CHECK(strncmp(out, a1, 40) == 0 && out[40] == '\n');
	CHECK(cw_test_capture(out, sizeof(out), "git -C '%s' cat-file commit '%s'", a.repo, a2) == 0);
	CHECK(strstr(out, "seq: 4-5\n") != NULL);
	CHECK_OK(cw_log_verify(&n, a.log, &kr));
	CHECK(n == 2);

	/* B fetches with stock git and ingests: same state. */
	CHECK(cw_test_run("git -C '%s' fetch -q '%s' 'refs/cw/*:refs/cw/*'", b.repo, a.repo) == 0);
	CHECK(give_key(&b, &a, case_id) == 0);
	n = 0;
	CHECK_OK(cw_log_ingest(&n, b.log, b.st, &kr, NULL));
	CHECK(n == 5);
	digest(da, &a);
	digest(db, &b);
	CHECK(memcmp(da, db, CW_HASH_BYTES) == 0);
	CHECK_OK(cw_log_ingest(&n, b.log, b.st, &kr, NULL)); /* idempotent */
	CHECK(n == 0);
	digest(db, &b);
	CHECK(memcmp(da, db, CW_HASH_BYTES) == 0);
	/* A ingesting its own chain adds nothing. */
	CHECK_OK(cw_log_ingest(&n, a.log, a.st, &kr, NULL));
	CHECK(n == 0);

	/* B writes: its chain starts with A's head as a parent. */
	set_phone(&b, case_id, "+90 555 0303");
	CHECK_OK(cw_log_commit(&n, b.log, b.st, b.k, NULL));
	CHECK(n == 1);
	cw_test_rev_parse(b1, b.repo, ref_b);
	CHECK(cw_test_capture(out, sizeof(out), "git -C '%s' log --format=%%P -n 1 '%s'", b.repo, ref_b) ==
	      0);
	CHECK(strncmp(out, a2, 40) == 0 && out[40] == '\n');

	/* A writes more, B takes it and writes again: B's second commit has
	 * its previous commit first and A's new head second. */
	add_note(&a, case_id, "third note");
	CHECK_OK(cw_log_commit(&n, a.log, a.st, a.k, NULL));
	CHECK(n == 1);
	cw_test_rev_parse(a3, a.repo, ref_a);
	CHECK(cw_test_run("git -C '%s' fetch -q '%s' '%s:%s'", b.repo, a.repo, ref_a, ref_a) == 0);
	CHECK_OK(cw_log_ingest(&n, b.log, b.st, &kr, NULL));
	CHECK(n == 1);
	set_phone(&b, case_id, "+90 555 0404");
	CHECK_OK(cw_log_commit(&n, b.log, b.st, b.k, NULL));
	CHECK(n == 1);
	cw_test_rev_parse(b2, b.repo, ref_b);
	CHECK(cw_test_capture(out, sizeof(out), "git -C '%s' log --format=%%P -n 1 '%s'", b.repo, ref_b) ==
	      0);
	CHECK(strncmp(out, b1, 40) == 0 && out[40] == ' ' && strncmp(out + 41, a3, 40) == 0);

	/* A fetches B's chain and ingests: same state again. */
	CHECK(cw_test_run("git -C '%s' fetch -q '%s' '%s:%s'", a.repo, b.repo, ref_b, ref_b) == 0);
	CHECK_OK(cw_log_ingest(&n, a.log, a.st, &kr, NULL));
	CHECK(n == 2);
	digest(da, &a);
	digest(db, &b);
	CHECK(memcmp(da, db, CW_HASH_BYTES) == 0);
	check_stock_verify(b.repo, signers, &n);
	CHECK(n == 5);
	check_stock_verify(a.repo, signers, &n);
	CHECK(n == 5);
	CHECK(cw_test_run("git -C '%s' fsck --strict --no-dangling >/dev/null 2>&1", b.repo) == 0);
	CHECK_OK(cw_log_verify(&commits, b.log, &kr));
	CHECK(commits == 5);

	/* A fresh node with the key: B's chain alone waits for A's ops (its
	 * commits' parents come along, A's ref does not); with A's chain too,
	 * everything goes in, in whatever order the chains are listed. */
	if (node_open(&c, "D", NULL)) {
		CHECK(give_key(&c, &a, case_id) == 0);
		CHECK(cw_test_run("git -C '%s' fetch -q '%s' '%s:%s'", c.repo, b.repo, ref_b, ref_b) == 0);
		CHECK_CODE(cw_log_ingest(&n, c.log, c.st, &kr, NULL), CW_EWAIT);
		CHECK(cw_test_run("git -C '%s' fetch -q '%s' '%s:%s'", c.repo, b.repo, ref_a, ref_a) == 0);
		n = 0;
		CHECK_OK(cw_log_ingest(&n, c.log, c.st, &kr, NULL));
		CHECK(n == 8);
		digest(db, &c);
		CHECK(memcmp(da, db, CW_HASH_BYTES) == 0);
		node_close(&c);
	}

	/* A node without the case key verifies, skips and says so. */
	if (node_open(&c, "C", NULL)) {
		CHECK(cw_test_run("git -C '%s' fetch -q '%s' 'refs/cw/*:refs/cw/*'", c.repo, b.repo) == 0);
		CHECK_OK(cw_log_ingest(&n, c.log, c.st, &kr, NULL));
		CHECK(n == 0);
		CHECK(cw_log_skipped(c.log) == 2);
		node_close(&c);
	}

	/* Hostile 1: a chain signed by a key not in the keyring. */
	digest(before, &b);
	if (node_open(&s, "S", NULL)) {
		CHECK_OK(cw_keyring_add(&kr_s, cw_keys_sign_pk(a.k)));
		CHECK_OK(cw_keyring_add(&kr_s, cw_keys_sign_pk(s.k)));
		CHECK(cw_test_run("git -C '%s' fetch -q '%s' '%s:%s'", s.repo, a.repo, ref_a, ref_a) == 0);
		CHECK(give_key(&s, &a, case_id) == 0);
		CHECK_OK(cw_log_ingest(&n, s.log, s.st, &kr_s, NULL));
		set_phone(&s, case_id, "+90 555 0999");
		CHECK_OK(cw_log_commit(&n, s.log, s.st, s.k, NULL));
		CHECK(n == 1);
		chain_ref(ref_s, sizeof(ref_s), case_id, s.k);
		CHECK(cw_test_run("git -C '%s' fetch -q '%s' '%s:%s'", b.repo, s.repo, ref_s, ref_s) == 0);
		CHECK_CODE(cw_log_ingest(&n, b.log, b.st, &kr, NULL), CW_EVERIFY);
		CHECK(strstr(cw_error_last(), "not by a known key") != NULL);
		CHECK_CODE(cw_log_verify(&n, b.log, &kr), CW_EVERIFY);
		digest(db, &b);
		CHECK(memcmp(before, db, CW_HASH_BYTES) == 0);
		/* ... and the same commit put under A's name. */
		cw_test_rev_parse(forged, b.repo, ref_s);
		CHECK(cw_test_run("git -C '%s' update-ref -d '%s'", b.repo, ref_s) == 0);
		CHECK(cw_test_run("git -C '%s' update-ref '%s' %s", b.repo, ref_a, forged) == 0);
		CHECK_CODE(cw_log_ingest(&n, b.log, b.st, &kr, NULL), CW_EVERIFY);
		CHECK(strstr(cw_error_last(), "another case or author") != NULL);
		digest(db, &b);
		CHECK(memcmp(before, db, CW_HASH_BYTES) == 0);
		CHECK(cw_test_run("git -C '%s' update-ref '%s' %s", b.repo, ref_a, a3) == 0);
		node_close(&s);
	}
	CHECK_OK(cw_log_ingest(&n, b.log, b.st, &kr, NULL));
	CHECK(n == 0);

	/* Hostile 2: A's chain rewritten: a fork node holding A's keys and
	 * A's first commit writes other ops after it. */
	if (node_open(&f, "F", a.k)) {
		CHECK(cw_test_run("git -C '%s' fetch -q '%s' '%s:%s'", f.repo, a.repo, ref_a, ref_a) == 0);
		CHECK(cw_test_run("git -C '%s' update-ref '%s' %s", f.repo, ref_a, a1) == 0);
		CHECK(give_key(&f, &a, case_id) == 0);
		CHECK_OK(cw_log_ingest(&n, f.log, f.st, &kr, NULL));
		CHECK(n == 3);
		set_phone(&f, case_id, "+90 555 0666");
		CHECK_OK(cw_log_commit(&n, f.log, f.st, a.k, NULL));
		CHECK(n == 1);
		cw_test_rev_parse(evil, f.repo, ref_a);
		CHECK(cw_test_capture(out, sizeof(out), "git -C '%s' log --format=%%P -n 1 '%s'", f.repo,
		                      ref_a) == 0);
		CHECK(strncmp(out, a1, 40) == 0); /* same parent as A's real second commit */
		CHECK(cw_test_run("git -C '%s' fetch -q '%s' '+%s:%s'", b.repo, f.repo, ref_a, ref_a) == 0);
		rc = cw_log_ingest(&n, b.log, b.st, &kr, NULL);
		CHECK_CODE(rc, CW_EVERIFY);
		CHECK(strstr(cw_error_last(), "equivocation") != NULL);
		CHECK(strstr(cw_error_last(), cw_keys_id(a.k)) != NULL);
		digest(db, &b);
		CHECK(memcmp(before, db, CW_HASH_BYTES) == 0);
		CHECK(cw_test_run("git -C '%s' update-ref '%s' %s", b.repo, ref_a, a3) == 0);
		node_close(&f);
	}

	/* Hostile 3: a blob swapped under an unchanged (re-signed) message. */
	CHECK(cw_test_capture(out, sizeof(out), "git -C '%s' rev-parse '%s^{tree}'", b.repo, a1) == 0);
	memcpy(tree1, out, 40);
	tree1[40] = '\0';
	CHECK(craft(forged, b.repo, a3, tree1, NULL, NULL, a.k) == 0);
	CHECK(cw_test_run("git -C '%s' update-ref '%s' %s", b.repo, ref_a, forged) == 0);
	CHECK_CODE(cw_log_ingest(&n, b.log, b.st, &kr, NULL), CW_EVERIFY);
	CHECK(strstr(cw_error_last(), "signed hash") != NULL);
	CHECK_CODE(cw_log_verify(&n, b.log, &kr), CW_EVERIFY);
	digest(db, &b);
	CHECK(memcmp(before, db, CW_HASH_BYTES) == 0);

	/* Hostile 4: a commit on top of A's head whose seq range lies (it
	 * re-carries A's last batch, seq 6, as seq 7). */
	CHECK(craft(lie, b.repo, a3, NULL, a3, "7-7", a.k) == 0);
	CHECK(cw_test_run("git -C '%s' update-ref '%s' %s", b.repo, ref_a, lie) == 0);
	CHECK_CODE(cw_log_ingest(&n, b.log, b.st, &kr, NULL), CW_EVERIFY);
	CHECK(strstr(cw_error_last(), "does not name") != NULL);
	digest(db, &b);
	CHECK(memcmp(before, db, CW_HASH_BYTES) == 0);
	/* ... and a range that does not join its parent's. */
	CHECK(craft(lie, b.repo, a3, NULL, a3, "8-8", a.k) == 0);
	CHECK(cw_test_run("git -C '%s' update-ref '%s' %s", b.repo, ref_a, lie) == 0);
	CHECK_CODE(cw_log_ingest(&n, b.log, b.st, &kr, NULL), CW_EVERIFY);
	CHECK(strstr(cw_error_last(), "does not join") != NULL);
	digest(db, &b);
	CHECK(memcmp(before, db, CW_HASH_BYTES) == 0);

	/* Hostile 5: a commit altered after signing (message edited, old
	 * signature kept) fails stock git and us. */
	snprintf(tmp, sizeof(tmp), "%s", cw_test_tmpdir());
	CHECK(cw_test_run(
	          "git -C '%s' cat-file commit %s | sed 's/^seq: 6-6$/seq: 6-7/' > '%s/edited' && "
	          "git -C '%s' hash-object -t commit -w --literally --stdin < '%s/edited' > '%s/edited.id'",
	          b.repo, a3, tmp, b.repo, tmp, tmp) == 0);
	CHECK(cw_test_capture(out, sizeof(out), "cat '%s/edited.id'", tmp) == 0);
	out[40] = '\0';
	CHECK(cw_test_run("git -C '%s' -c gpg.format=ssh -c gpg.ssh.allowedSignersFile='%s' verify-commit %s "
	                  ">/dev/null 2>&1",
	                  b.repo, signers, out) != 0);
	CHECK(cw_test_run("git -C '%s' update-ref '%s' %s", b.repo, ref_a, out) == 0);
	CHECK_CODE(cw_log_ingest(&n, b.log, b.st, &kr, NULL), CW_EVERIFY);
	digest(db, &b);
	CHECK(memcmp(before, db, CW_HASH_BYTES) == 0);

	/* Restored, all is well again. */
	CHECK(cw_test_run("git -C '%s' update-ref '%s' %s", b.repo, ref_a, a3) == 0);
	CHECK_OK(cw_log_ingest(&n, b.log, b.st, &kr, NULL));
	CHECK(n == 0);
	nb = 0;
	CHECK_OK(cw_log_verify(&nb, b.log, &kr));
	CHECK(nb == 5);

	/* No plaintext anywhere in either repository, loose or packed. */
	check_no_marker(a.repo);
	check_no_marker(b.repo);
	CHECK(cw_test_run("git -C '%s' gc -q --prune=now 2>/dev/null", a.repo) == 0);
	check_no_marker(a.repo);

	cw_keyring_dispose(&kr);
	cw_keyring_dispose(&kr_s);
	node_close(&a);
	node_close(&b);
}

static void test_allowed_signers_form(void)
{
	cw_keys *k = NULL;
	cw_keyring kr = { 0, NULL, NULL };
	cw_buf b = CW_BUF_INIT;
	char want[64];

	CHECK_OK(cw_keys_generate(&k));
	CHECK_OK(cw_keyring_add(&kr, cw_keys_sign_pk(k)));
	CHECK_OK(cw_buf_put(&b, "x", 1)); /* appends */
	CHECK_OK(cw_log_allowed_signers(&b, &kr));
	snprintf(want, sizeof(want), "x%s@caseway namespaces=\"git\" ssh-ed25519 AAAA", cw_keys_id(k));
	CHECK(b.len > strlen(want) && memcmp(b.data, want, strlen(want)) == 0 && b.data[b.len - 1] == '\n');
	cw_buf_dispose(&b);
	cw_keyring_dispose(&kr);
	cw_keys_free(k);
}

/* A tree like commit base's with one more line (mode type oid\tname) whose
 * blob holds text; *out = the new tree's id. */
static int tree_plus(char out[41], const char *repo, const char *base, const char *name, const char *text)
{
	char line[256];

	out[0] = '\0';
	if (cw_test_capture(line, sizeof(line),
	                    "(git -C '%s' ls-tree '%s^{tree}'; printf '100644 blob %%s\\t%%s\\n' "
	                    "$(printf '%%s' '%s' | git -C '%s' hash-object -w --stdin) '%s') | "
	                    "git -C '%s' mktree",
	                    repo, base, text, repo, name, repo) != 0 ||
	    strlen(line) < 40)
		return -1;
	memcpy(out, line, 40);
	out[40] = '\0';
	return 0;
}

/* Documents travel as doc.<address> blobs beside the op that adds them. */
static void test_doc_entries(void)
{
	node_t a, b, c;
	cw_keyring kr = { 0, NULL, NULL };
	cw_kv kv = { "name", "Doc Patient" };
	cw_secret *key = NULL;
	uint8_t case_id[CW_ID_BYTES], item[CW_ID_BYTES];
	char ref_a[200], src[400], address[CW_DOCS_ADDRESS_LEN + 1], name[80], out[4096], a2[41];
	char tree[41], forged[41], *path = NULL;
	uint64_t size = 0;
	size_t n;

	if (!need_git())
		return;
	if (!node_open(&a, "DA", NULL) || !node_open(&b, "DB", NULL) || !node_open(&c, "DC", NULL)) {
		CHECK(!"nodes open");
		return;
	}
	CHECK_OK(cw_keyring_add(&kr, cw_keys_sign_pk(a.k)));
	CHECK_OK(cw_case_create(case_id, a.st, a.k, &kv, 1));
	CHECK_OK(cw_log_commit(&n, a.log, a.st, a.k, NULL));
	chain_ref(ref_a, sizeof(ref_a), case_id, a.k);

	/* A adds a document: its commit carries the encrypted file. */
	snprintf(src, sizeof(src), "%s/scan.txt", cw_test_tmpdir());
	CHECK_OK(cw_file_write_atomic(src, MARKER " scan", strlen(MARKER " scan"), 0600, 0));
	CHECK_OK(cw_case_key(&key, a.st, case_id));
	CHECK_OK(cw_docs_add(address, &size, a.home, key, src, NULL, NULL));
	{
		char sz[24];
		cw_kv d[3] = { { "address", address }, { "size", sz }, { "title", "Scan" } };

		snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
		CHECK_OK(cw_case_add(item, a.st, a.k, case_id, CW_KIND_DOCUMENT, d, 3));
	}
	CHECK_OK(cw_log_commit(&n, a.log, a.st, a.k, NULL));
	CHECK(n == 1);
	cw_test_rev_parse(a2, a.repo, ref_a);
	snprintf(name, sizeof(name), "doc.%s", address);
	CHECK(cw_test_capture(out, sizeof(out), "git -C '%s' ls-tree '%s'", a.repo, a2) == 0);
	CHECK(strstr(out, name) != NULL);
	CHECK(cw_test_run(
	          "cmp -s \"$(git -C '%s' rev-parse '%s:%s' | xargs git -C '%s' cat-file blob >'%s/blob' "
	          "&& echo '%s/blob')\" '%s/docs/%.2s/%s'",
	          a.repo, a2, name, a.repo, cw_test_tmpdir(), cw_test_tmpdir(), a.home, address,
	          address + 2) == 0);
	/* a later commit does not repeat it */
	add_note(&a, case_id, "after the document");
	CHECK_OK(cw_log_commit(&n, a.log, a.st, a.k, NULL));
	CHECK(cw_test_capture(out, sizeof(out), "git -C '%s' ls-tree '%s'", a.repo, ref_a) == 0);
	CHECK(strstr(out, "doc.") == NULL);

	/* B, a member, takes it: the file is there and checks. */
	CHECK(cw_test_run("git -C '%s' fetch -q '%s' 'refs/cw/*:refs/cw/*'", b.repo, a.repo) == 0);
	CHECK(give_key(&b, &a, case_id) == 0);
	CHECK_OK(cw_log_ingest(&n, b.log, b.st, &kr, NULL));
	CHECK(cw_docs_exists(b.home, address) == 1);
	CHECK_OK(cw_docs_check(b.home, key, address));

	/* C: forged trees of A's second commit (re-signed by A's key). */
	CHECK(cw_test_run("git -C '%s' fetch -q '%s' 'refs/cw/*:refs/cw/*'", c.repo, a.repo) == 0);
	CHECK(give_key(&c, &a, case_id) == 0);
	/* a document no op of the commit names */
	CHECK(tree_plus(tree, c.repo, a2,
	                "doc.00000000000000000000000000000000000000000000000000000000000000aa", "junk") == 0);
	CHECK(craft(forged, c.repo, a2, tree, NULL, NULL, a.k) == 0);
	CHECK(cw_test_run("git -C '%s' update-ref '%s' %s", c.repo, ref_a, forged) == 0);
	CHECK_CODE(cw_log_ingest(&n, c.log, c.st, &kr, NULL), CW_EVERIFY);
	CHECK(strstr(cw_error_last(), "none of its ops names") != NULL);
	/* the named document's blob replaced by other bytes */
	CHECK(cw_test_capture(
	          out, sizeof(out),
	          "git -C '%s' ls-tree '%s' | grep -v 'doc[.]' | "
	          "{ cat; printf '100644 blob %%s\\t%s\\n' $(printf junk | git -C '%s' hash-object -w "
	          "--stdin); } | git -C '%s' mktree",
	          c.repo, a2, name, c.repo, c.repo) == 0);
	memcpy(tree, out, 40);
	tree[40] = '\0';
	CHECK(craft(forged, c.repo, a2, tree, NULL, NULL, a.k) == 0);
	CHECK(cw_test_run("git -C '%s' update-ref '%s' %s", c.repo, ref_a, forged) == 0);
	CHECK_CODE(cw_log_ingest(&n, c.log, c.st, &kr, NULL), CW_EVERIFY);
	CHECK(strstr(cw_error_last(), "tampered") != NULL);
	{
		char a16[17];

		snprintf(a16, sizeof(a16), "%.16s", address);
		CHECK(strstr(cw_error_last(), a16) != NULL);
	}
	CHECK(cw_docs_exists(c.home, address) == 0);
	/* an entry that is not a document address */
	CHECK(tree_plus(tree, c.repo, a2,
	                "doc.00000000000000000000000000000000000000000000000000000000000000a", "junk") == 0);
	CHECK(craft(forged, c.repo, a2, tree, NULL, NULL, a.k) == 0);
	CHECK(cw_test_run("git -C '%s' update-ref '%s' %s", c.repo, ref_a, forged) == 0);
	CHECK_CODE(cw_log_ingest(&n, c.log, c.st, &kr, NULL), CW_EINVALID);
	CHECK(strstr(cw_error_last(), "unknown entry") != NULL);
	/* restored: taken, file and all */
	CHECK(cw_test_run("git -C '%s' fetch -q '%s' '+refs/cw/*:refs/cw/*'", c.repo, a.repo) == 0);
	CHECK_OK(cw_log_ingest(&n, c.log, c.st, &kr, NULL));
	CHECK(cw_docs_exists(c.home, address) == 1);
	CHECK(cw_docs_path(&path, c.home, address) == CW_OK);

	free(path);
	cw_secret_free(key);
	cw_keyring_dispose(&kr);
	node_close(&a);
	node_close(&b);
	node_close(&c);
}

const cw_test cw_tests[] = {
	{ "doc_entries", test_doc_entries },
	{ "parse_message", test_parse_message },
	{ "allowed_signers_form", test_allowed_signers_form },
	{ "open_creates_bare", test_open_creates_bare },
	{ "two_nodes_through_git", test_two_nodes_through_git },
	CW_TESTS_END,
};
