/*
 * tests/sync/test_erase.c - erasure: the tombstone message, the store's
 * erasure of a case (rows, keys, pages), what an erased case refuses, and
 * the tools the erasure scenario (tests/scenario/erase.sh) runs on real
 * node homes:
 *
 *   CW_ERASE_HOME=H CW_ERASE_NEEDLE=TEXT (or CW_ERASE_NEEDLE_HEX=HEX)
 *       test_sync_erase tool-scan      fails when the DECRYPTED store of H
 *                                      (every row of every table, every page
 *                                      of the file and every frame of its
 *                                      write-ahead log) holds the needle
 *   CW_ERASE_HOME=H CW_ERASE_CASE=C test_sync_erase tool-keys
 *                                      prints "KEY <hex>" per key of case C
 *   CW_ERASE_HOME=H CW_ERASE_CASE=C test_sync_erase tool-forge
 *                                      writes a tombstone for C signed by
 *                                      H's device, without the right check,
 *                                      and prints "TOMBSTONE <commit id>"
 *
 * The passphrase comes from CASEWAY_PASSPHRASE. Without those variables the
 * tool tests do nothing.
 */
#define _GNU_SOURCE /* memmem */
#include "harness.h"
#include "crypto/vfs.h"
#include "node/case.h"
#include "node/erase.h"
#include "node/home.h"
#include "node/store_internal.h"
#include "sync/tombstone.h"
#include "util/error.h"
#include "util/file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* single words: the full-text index keeps them whole, lower-cased */
#define MARK_NAME "Erasablepatient6021"
#define MARK_NOTE "Erasablenotemark7070"
#define MARK_LOWER "erasablenotemark7070"

/* ---- scanning a decrypted store ------------------------------------------------------- */

static int has(const void *hay, size_t n, const uint8_t *needle, size_t nlen)
{
	return hay && n >= nlen && memmem(hay, n, needle, nlen) != NULL;
}

/* 1 when a row of a table holds the needle (where says which). */
static int scan_rows(cw_store *st, const uint8_t *needle, size_t nlen, char *where, size_t cap)
{
	sqlite3_stmt *tables = NULL, *rows = NULL;
	int found = 0;

	sqlite3_prepare_v2(cw_store__db(st), "SELECT name FROM sqlite_schema WHERE type='table'", -1, &tables,
	                   NULL);
	while (!found && sqlite3_step(tables) == SQLITE_ROW) {
		char sql[200];
		const char *name = (const char *)sqlite3_column_text(tables, 0);
		int i;

		snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", name);
		if (sqlite3_prepare_v2(cw_store__db(st), sql, -1, &rows, NULL) != SQLITE_OK) {
			sqlite3_finalize(rows);
			rows = NULL;
			continue; /* a virtual table's shadow that cannot be read alone */
		}
		while (!found && sqlite3_step(rows) == SQLITE_ROW)
			for (i = 0; i < sqlite3_column_count(rows) && !found; i++)
				if (has(sqlite3_column_blob(rows, i), (size_t)sqlite3_column_bytes(rows, i),
				        needle, nlen)) {
					snprintf(where, cap, "a row of table %s", name);
					found = 1;
				}
		sqlite3_finalize(rows);
		rows = NULL;
	}
	sqlite3_finalize(tables);
	return found;
}

/* 1 when a decrypted page of the file, or frame of its log, holds the needle. */
static int scan_pages(cw_store *st, const uint8_t *needle, size_t nlen, char *where, size_t cap)
{
	sqlite3_file *f = NULL;
	sqlite3_int64 size = 0, off;
	unsigned char *page = malloc(CW_VFS_PAGE_SIZE + 24);
	const sqlite3_int64 frame = 24 + CW_VFS_PAGE_SIZE;
	int found = 0;

	if (page == NULL)
		return 0;
	sqlite3_exec(cw_store__db(st), "BEGIN; SELECT count(*) FROM sqlite_schema;", NULL, NULL, NULL);
	if (sqlite3_file_control(cw_store__db(st), "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK && f &&
	    f->pMethods && f->pMethods->xFileSize(f, &size) == SQLITE_OK) {
		for (off = 0; off < size && !found; off += CW_VFS_PAGE_SIZE)
			if (f->pMethods->xRead(f, page, CW_VFS_PAGE_SIZE, off) == SQLITE_OK &&
			    has(page, CW_VFS_PAGE_SIZE, needle, nlen)) {
				snprintf(where, cap, "page %lld of the store",
				         (long long)(off / CW_VFS_PAGE_SIZE + 1));
				found = 1;
			}
	}
	f = NULL;
	if (!found &&
	    sqlite3_file_control(cw_store__db(st), "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) == SQLITE_OK &&
	    f && f->pMethods && f->pMethods->xFileSize(f, &size) == SQLITE_OK) {
		for (off = 32; off + frame <= size && !found; off += frame)
			if (f->pMethods->xRead(f, page, (int)frame, off) == SQLITE_OK &&
			    has(page, (size_t)frame, needle, nlen)) {
				snprintf(where, cap, "frame %lld of the store's log",
				         (long long)((off - 32) / frame + 1));
				found = 1;
			}
	}
	sqlite3_exec(cw_store__db(st), "ROLLBACK", NULL, NULL, NULL);
	free(page);
	return found;
}

static int scan_store(cw_store *st, const uint8_t *needle, size_t nlen, char *where, size_t cap)
{
	return scan_rows(st, needle, nlen, where, cap) || scan_pages(st, needle, nlen, where, cap);
}

static int64_t count_of(cw_store *st, const char *sql, const uint8_t *case_id)
{
	sqlite3_stmt *stmt = NULL;
	int64_t n = -1;

	sqlite3_prepare_v2(cw_store__db(st), sql, -1, &stmt, NULL);
	if (case_id)
		sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return n;
}

/* ---- the message ------------------------------------------------------------------- */

static const char GOOD[] = "caseway erasure v1\n\n"
                           "case: 0123456789abcdef0123456789abcdef\n"
                           "by: 89abcdef01234567\n"
                           "at: 1764460800\n";

static void test_message(void)
{
	static const char *const bad[] = {
		"",
		"caseway erasure v2\n\ncase: 0123456789abcdef0123456789abcdef\nby: 89abcdef01234567\nat: 1\n",
		"caseway erasure v1\ncase: 0123456789abcdef0123456789abcdef\nby: 89abcdef01234567\nat: 1\n",
		"caseway erasure v1\n\ncase: 0123456789abcdef0123456789abcdeF\nby: 89abcdef01234567\nat: 1\n",
		"caseway erasure v1\n\ncase: 0123456789abcdef0123456789abcde\nby: 89abcdef01234567\nat: 1\n",
		"caseway erasure v1\n\ncase: 0123456789abcdef0123456789abcdef\nby: 89abcdef0123456\nat: 1\n",
		"caseway erasure v1\n\ncase: 0123456789abcdef0123456789abcdef\nby: 89abcdef01234567\nat: "
		"01\n",
		"caseway erasure v1\n\ncase: 0123456789abcdef0123456789abcdef\nby: 89abcdef01234567\nat: \n",
		"caseway erasure v1\n\ncase: 0123456789abcdef0123456789abcdef\nby: 89abcdef01234567\nat: "
		"-1\n",
		"caseway erasure v1\n\ncase: 0123456789abcdef0123456789abcdef\nby: 89abcdef01234567\nat: 1",
		"caseway erasure v1\n\ncase: 0123456789abcdef0123456789abcdef\nby: 89abcdef01234567\nat: "
		"1\n\n",
		"caseway erasure v1\n\ncase: 0123456789abcdef0123456789abcdef\nby: 89abcdef01234567\nat: "
		"99999999999999999999\n",
		"caseway erasure v1\n\nby: 89abcdef01234567\ncase: 0123456789abcdef0123456789abcdef\nat: 1\n",
		"caseway erasure v1\n\ncase: 0123456789abcdef0123456789abcdef\nby: 89abcdef01234567\nat: 1 "
		"\n",
	};
	cw_erasure e;
	cw_buf out = CW_BUF_INIT;
	size_t i;

	memset(&e, 0xee, sizeof(e));
	CHECK_OK(cw_tombstone_parse(&e, GOOD, strlen(GOOD)));
	CHECK(strcmp(e.by, "89abcdef01234567") == 0 && e.at == 1764460800 && e.case_id[0] == 0x01 &&
	      e.case_id[15] == 0xef);
	CHECK_OK(cw_tombstone_format(&out, e.case_id, e.by, e.at));
	CHECK(out.len == strlen(GOOD) && memcmp(out.data, GOOD, out.len) == 0);
	{
		static const char zero[] = "caseway erasure v1\n\ncase: 0123456789abcdef0123456789abcdef\n"
		                           "by: 89abcdef01234567\nat: 0\n";

		CHECK_OK(cw_tombstone_parse(&e, zero, strlen(zero)));
	}
	CHECK(e.at == 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		if (cw_tombstone_parse(&e, bad[i], strlen(bad[i])) != CW_EINVALID)
			cw_test_fail(__FILE__, __LINE__, "a malformed tombstone was accepted", bad[i]);
		CHECK(e.at == 0 && e.by[0] == '\0');
	}
	/* every truncation of the good message is refused */
	for (i = 0; i < strlen(GOOD); i++)
		CHECK_CODE(cw_tombstone_parse(&e, GOOD, i), CW_EINVALID);
	CHECK_CODE(cw_tombstone_format(&out, e.case_id, "nothex", 1), CW_EINVALID);
	cw_buf_dispose(&out);
}

/* ---- the store's side -------------------------------------------------------------------- */

typedef struct {
	char home[300];
	cw_store *st;
	cw_keys *k;
	cw_log *log;
} node_t;

static int node_open(node_t *n, const char *name)
{
	cw_secret *pk = NULL;
	char *path;
	int ok = 0;

	memset(n, 0, sizeof(*n));
	snprintf(n->home, sizeof(n->home), "%s/%s", cw_test_tmpdir(), name);
	mkdir(n->home, 0700);
	path = cw_path_join(n->home, "store.db");
	if (path && cw_secret_random(&pk, 32) == CW_OK &&
	    cw_store_open(&n->st, path, pk, CW_STORE_CREATE) == CW_OK && cw_keys_generate(&n->k) == CW_OK &&
	    cw_log_open(&n->log, n->home) == CW_OK)
		ok = 1;
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
	cw_keys_free(n->k);
	memset(n, 0, sizeof(*n));
}

static int case_rows(cw_store *st, const uint8_t *case_id)
{
	static const char *const q[] = {
		"SELECT count(*) FROM ops WHERE case_id=?1",
		"SELECT count(*) FROM heads WHERE case_id=?1",
		"SELECT count(*) FROM case_keys WHERE case_id=?1",
		"SELECT count(*) FROM entities WHERE case_id=?1",
		"SELECT count(*) FROM fields WHERE case_id=?1",
		"SELECT count(*) FROM times WHERE case_id=?1",
		"SELECT count(*) FROM cases WHERE case_id=?1",
		"SELECT count(*) FROM committed WHERE case_id=?1",
	};
	size_t i;
	int64_t n = 0;

	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		n += count_of(st, q[i], case_id);
	return (int)n;
}

static void test_store_erasure(void)
{
	node_t a;
	cw_kv kv[] = { { "name", MARK_NAME }, { "conditions", "Knee pain" } };
	cw_kv note[] = { { "text", MARK_NOTE } };
	cw_kv other_kv[] = { { "name", "Keep-Me-Alpha" } };
	uint8_t c[CW_ID_BYTES], other[CW_ID_BYTES], entity[CW_ID_BYTES], found[CW_ID_BYTES], key[32];
	cw_secret *ck = NULL;
	cw_erasure e, got;
	cw_buf op = CW_BUF_INIT;
	cw_keyring kr = { 0 };
	char where[200], hex[2 * CW_ID_BYTES + 1], prefix[9];
	sqlite3_stmt *stmt = NULL;
	int added, yes;

	if (!node_open(&a, "a")) {
		CHECK(0);
		return;
	}
	CHECK_OK(cw_keyring_add(&kr, cw_keys_sign_pk(a.k)));
	CHECK_OK(cw_case_create(c, a.st, a.k, kv, 2));
	CHECK_OK(cw_case_add(entity, a.st, a.k, c, CW_KIND_NOTE, note, 1));
	CHECK_OK(cw_case_set(a.st, a.k, c, kv, 1));
	CHECK_OK(cw_case_create(other, a.st, a.k, other_kv, 1));
	CHECK_OK(cw_case_key(&ck, a.st, c));
	if (ck)
		memcpy(key, cw_secret_bytes(ck), 32);
	cw_secret_free(ck);
	/* the scanner finds what is there (so its "absent" below means absent) */
	CHECK(scan_store(a.st, (const uint8_t *)MARK_NAME, strlen(MARK_NAME), where, sizeof(where)));
	CHECK(scan_store(a.st, (const uint8_t *)MARK_NOTE, strlen(MARK_NOTE), where, sizeof(where)));
	CHECK(scan_store(a.st, key, 32, where, sizeof(where)));
	CHECK(scan_store(a.st, (const uint8_t *)MARK_LOWER, strlen(MARK_LOWER), where, sizeof(where)));
	/* the op log refuses DELETE while the case is not erased, UPDATE always */
	CHECK_CODE(cw_store__exec(a.st, "DELETE FROM ops"), CW_EINVALID);
	CHECK_CODE(cw_store__exec(a.st, "UPDATE ops SET seq=seq"), CW_EINVALID);
	/* keep an op to offer again after the erasure */
	sqlite3_prepare_v2(cw_store__db(a.st),
	                   "SELECT bytes FROM ops WHERE case_id=?1 ORDER BY n DESC LIMIT 1", -1, &stmt, NULL);
	sqlite3_bind_blob(stmt, 1, c, CW_ID_BYTES, SQLITE_STATIC);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		cw_buf_put(&op, sqlite3_column_blob(stmt, 0), (size_t)sqlite3_column_bytes(stmt, 0));
	sqlite3_finalize(stmt);

	CHECK_CODE(cw_erase_get(&got, a.st, c), CW_ENOTFOUND);
	CHECK_OK(cw_tombstone_write(&e, a.log, a.k, c, 1764460800));
	CHECK(strlen(e.tombstone) == 40 && strcmp(e.by, cw_keys_id(a.k)) == 0);
	CHECK_OK(cw_erase_record(a.st, &e));
	CHECK_OK(cw_erase_compact(a.st));
	CHECK(case_rows(a.st, c) == 0);
	CHECK(count_of(a.st, "SELECT count(*) FROM search", NULL) == 1);
	CHECK(case_rows(a.st, other) > 0);
	CHECK(!scan_store(a.st, (const uint8_t *)MARK_NAME, strlen(MARK_NAME), where, sizeof(where)));
	CHECK(!scan_store(a.st, (const uint8_t *)MARK_NOTE, strlen(MARK_NOTE), where, sizeof(where)));
	CHECK(!scan_store(a.st, key, 32, where, sizeof(where)));
	CHECK(!scan_store(a.st, (const uint8_t *)MARK_LOWER, strlen(MARK_LOWER), where, sizeof(where)));
	CHECK(scan_store(a.st, (const uint8_t *)"Keep-Me-Alpha", 13, where, sizeof(where)));
	/* what the store says of the erased case */
	CHECK_OK(cw_erase_get(&got, a.st, c));
	CHECK(got.at == 1764460800 && strcmp(got.by, e.by) == 0 && strcmp(got.tombstone, e.tombstone) == 0);
	CHECK_OK(cw_erase_is(&yes, a.st, c));
	CHECK(yes);
	cw_id_hex(hex, c);
	snprintf(prefix, sizeof(prefix), "%.8s", hex);
	CHECK_OK(cw_case_find(found, a.st, prefix));
	CHECK(memcmp(found, c, CW_ID_BYTES) == 0);
	CHECK_CODE(cw_case_set(a.st, a.k, c, kv, 1), CW_ERROR);
	CHECK(strstr(cw_error_last(), "erased") != NULL);
	{
		cw_case_view *v = NULL;

		CHECK_CODE(cw_case_load(&v, a.st, c), CW_ENOTFOUND);
		CHECK(strstr(cw_error_last(), "erased") != NULL);
		cw_case_view_free(v);
	}
	/* an op of the erased case from elsewhere is ignored */
	CHECK_OK(cw_store_begin(a.st));
	CHECK_OK(cw_oplog_ingest(&added, a.st, &kr, op.data, op.len));
	CHECK(added == 0);
	cw_store_rollback(a.st);
	CHECK(count_of(a.st, "SELECT count(*) FROM ops WHERE case_id=?1", c) == 0);
	/* the record itself stays; a second erasure changes nothing */
	CHECK_CODE(cw_store__exec(a.st, "DELETE FROM erased"), CW_EINVALID);
	CHECK_CODE(cw_store__exec(a.st, "UPDATE erased SET by_device='0000000000000000'"), CW_EINVALID);
	CHECK_OK(cw_erase_record(a.st, &e));
	/* the other case still takes changes and can still be deleted from no
	 * one's log */
	CHECK_OK(cw_case_set(a.st, a.k, other, other_kv, 1));
	CHECK_CODE(cw_store__exec(a.st, "DELETE FROM ops"), CW_EINVALID);
	{
		cw_store_report rep;

		CHECK_OK(cw_store_verify(a.st, &rep));
		CHECK(rep.schema_version == 4);
	}
	cw_buf_dispose(&op);
	cw_keyring_dispose(&kr);
	node_close(&a);
}

/* A tombstone read back: signed by a known key, by its signer; another
 * agency's key is refused. */
static void test_write_read(void)
{
	node_t a, b;
	cw_keyring kr = { 0 };
	uint8_t c[CW_ID_BYTES];
	cw_erasure e, r;
	char out[4000];

	if (!node_open(&a, "wa") || !node_open(&b, "wb")) {
		CHECK(0);
		return;
	}
	memset(c, 0x5a, sizeof(c));
	CHECK_OK(cw_tombstone_write(&e, a.log, a.k, c, 1700000000));
	CHECK_CODE(cw_tombstone_read(&r, a.log, e.tombstone, &kr), CW_EVERIFY);
	CHECK_OK(cw_keyring_add(&kr, cw_keys_sign_pk(b.k)));
	CHECK_CODE(cw_tombstone_read(&r, a.log, e.tombstone, &kr), CW_EVERIFY);
	CHECK_OK(cw_keyring_add(&kr, cw_keys_sign_pk(a.k)));
	CHECK_OK(cw_tombstone_read(&r, a.log, e.tombstone, &kr));
	CHECK(memcmp(r.case_id, c, CW_ID_BYTES) == 0 && r.at == 1700000000 &&
	      strcmp(r.by, cw_keys_id(a.k)) == 0 && strcmp(r.tombstone, e.tombstone) == 0);
	/* stock git reads it as a parentless commit of the empty tree */
	CHECK(cw_test_capture(out, sizeof(out), "git --git-dir='%s/log.git' cat-file -p %s", a.home,
	                      e.tombstone) == 0);
	CHECK(strstr(out, "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904") != NULL &&
	      strstr(out, "parent ") == NULL && strstr(out, "caseway erasure v1") != NULL);
	cw_keyring_dispose(&kr);
	node_close(&a);
	node_close(&b);
}

static void test_filter(void)
{
	node_t a;
	cw_bundle_ref tips[4], *out = NULL;
	cw_tombstone_set s = { NULL, 0, 0 };
	cw_erasure e;
	uint8_t c1[CW_ID_BYTES], c2[CW_ID_BYTES];
	size_t n = 0, ignored = 0;

	if (!node_open(&a, "f")) {
		CHECK(0);
		return;
	}
	memset(c1, 0x11, sizeof(c1));
	memset(c2, 0x22, sizeof(c2));
	memset(tips, 0, sizeof(tips));
	snprintf(tips[0].name, sizeof(tips[0].name), "refs/cw/case/%s/0123456789abcdef",
	         "11111111111111111111111111111111");
	snprintf(tips[1].name, sizeof(tips[1].name), "refs/cw/case/%s/0123456789abcdef",
	         "22222222222222222222222222222222");
	snprintf(tips[2].name, sizeof(tips[2].name), "refs/cw/erased/%s", "22222222222222222222222222222222");
	snprintf(tips[3].name, sizeof(tips[3].name), "refs/cw/roster/1");
	CHECK_OK(cw_tombstone_filter(&out, &n, &ignored, a.st, NULL, tips, 4));
	CHECK(n == 4 && ignored == 0);
	free(out);
	memset(&e, 0, sizeof(e));
	memcpy(e.case_id, c2, CW_ID_BYTES);
	s.v = &e;
	s.n = 1;
	CHECK_OK(cw_tombstone_filter(&out, &n, &ignored, a.st, &s, tips, 4));
	CHECK(n == 3 && ignored == 1 && strcmp(out[1].name, tips[2].name) == 0);
	free(out);
	/* erased in the store: the same */
	snprintf(e.by, sizeof(e.by), "%s", cw_keys_id(a.k));
	memset(e.tombstone, 'a', 40);
	e.tombstone[40] = '\0';
	CHECK_OK(cw_erase_record(a.st, &e));
	CHECK_OK(cw_tombstone_filter(&out, &n, &ignored, a.st, NULL, tips, 4));
	CHECK(n == 3 && ignored == 1);
	free(out);
	(void)c1;
	node_close(&a);
}

/* ---- pruning log.git (finding: the objects of dropped chains stayed) ------------------------ */

#define GITC "git -c user.name=t -c user.email=t@t --git-dir='%s/log.git' "
#define KEEP_REF "refs/cw/case/11111111111111111111111111111111/0123456789abcdef"
#define DROP_REF "refs/cw/case/22222222222222222222222222222222/0123456789abcdef"

/* 1 when the object is in the repository (stock git). */
static int git_has(const char *home, const char *oid)
{
	return cw_test_run(GITC "cat-file -e %s 2>/dev/null", home, oid) == 0;
}

/* The object ids of the repository, one per line (stock git, no gc). */
static int git_all(char *out, size_t cap, const char *home)
{
	return cw_test_capture(out, cap, GITC "cat-file --batch-all-objects --batch-check='%%(objectname)'",
	                       home);
}

static void test_prune(void)
{
	static char all[40000], ids[8000], keep_ids[4000];
	node_t a;
	cw_keyring kr = { 0 };
	cw_erasure e, r;
	cw_bundle_ref *refs = NULL;
	char out[4000], grant[41], *line, *save = NULL;
	uint8_t c[CW_ID_BYTES];
	size_t n = 0, gone = 0, kept = 0;

	if (!node_open(&a, "prune")) {
		CHECK(0);
		return;
	}
	/* A chain to keep and one to drop (with a grant blob), partly packed,
	 * partly loose, plus what killed runs leave behind. */
	CHECK(
	    cw_test_run(
	        "set -e; g_() { " GITC "\"$@\"; }; G=g_; "
	        "b=$(echo keep-ops | $G hash-object -w --stdin); "
	        "t=$(printf '100644 blob %%s\\tops\\n' $b | $G mktree); "
	        "$G update-ref " KEEP_REF " $($G commit-tree $t -m keep); "
	        "b=$(echo drop-ops | $G hash-object -w --stdin); "
	        "g=$(echo sealed-case-key-for-a-device | $G hash-object -w --stdin); "
	        "t=$(printf '100644 blob %%s\\tgrant.1.0123456789abcdef\\n100644 blob %%s\\tops\\n' $g $b | "
	        "$G mktree); "
	        "c=$($G commit-tree $t -m drop-1); $G update-ref " DROP_REF " $c; "
	        "$G repack -q -a -d; "
	        "b=$(echo drop-ops-2 | $G hash-object -w --stdin); "
	        "t=$(printf '100644 blob %%s\\tops\\n' $b | $G mktree); "
	        "$G update-ref " DROP_REF " $($G commit-tree $t -p $c -m drop-2); "
	        "echo $g >'%s/grant'; "
	        "mkdir -p '%s/log.git/objects/cw-incoming-x1'; echo x "
	        ">'%s/log.git/objects/cw-incoming-x1/p'; "
	        "echo x >'%s/log.git/objects/pack/tmp_pack_x1'",
	        a.home, a.home, a.home, a.home, a.home) == 0);
	CHECK(cw_test_capture(grant, sizeof(grant), "cat '%s/grant'", a.home) == 0);
	CHECK(cw_test_capture(ids, sizeof(ids), GITC "rev-list --objects " DROP_REF " | cut -c1-40",
	                      a.home) == 0);
	CHECK(cw_test_capture(keep_ids, sizeof(keep_ids), GITC "rev-list --objects " KEEP_REF " | cut -c1-40",
	                      a.home) == 0);
	CHECK(strlen(ids) >= 6 * 41 && git_has(a.home, grant));
	/* a tombstone written through the handle: kept by its ref */
	memset(c, 0x22, sizeof(c));
	CHECK_OK(cw_tombstone_write(&e, a.log, a.k, c, 1700000000));
	CHECK(cw_test_run(GITC "update-ref refs/cw/erased/%s %s", a.home, "22222222222222222222222222222222",
	                  e.tombstone) == 0);

	/* nothing due: nothing done */
	CHECK_OK(cw_log_prune_pending(a.log));
	CHECK(git_has(a.home, grant));
	/* the ref goes (as the erasure sweep drops it), then the prune */
	CHECK(cw_test_run(GITC "update-ref -d " DROP_REF, a.home) == 0);
	CHECK_OK(cw_log_prune_want(a.log));
	CHECK(cw_test_run("test -f '%s/log.git/cw-prune-pending'", a.home) == 0);
	CHECK_OK(cw_log_prune_pending(a.log));
	CHECK(cw_test_run("test -f '%s/log.git/cw-prune-pending'", a.home) != 0);

	/* stock git, without gc: none of the dropped chain's objects */
	CHECK(git_all(all, sizeof(all), a.home) == 0);
	for (line = strtok_r(ids, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		gone += strstr(all, line) == NULL;
		n++;
	}
	CHECK(n >= 6 && gone == n);
	/* the probe: the grant blob cannot be opened */
	CHECK(!git_has(a.home, grant));
	CHECK(cw_test_run(GITC "cat-file -p %s >/dev/null 2>&1", a.home, grant) != 0);
	/* what the refs name is all there */
	n = 0;
	save = NULL;
	for (line = strtok_r(keep_ids, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		kept += git_has(a.home, line);
		n++;
	}
	CHECK(n == 3 && kept == n);
	CHECK(git_has(a.home, e.tombstone));
	CHECK(cw_test_capture(out, sizeof(out), GITC "fsck --strict --no-progress --unreachable 2>&1",
	                      a.home) == 0);
	CHECK(strstr(out, "missing") == NULL && strstr(out, "unreachable") == NULL &&
	      strstr(out, "error") == NULL);
	/* the pack that held the dropped chain replaced by one of what stays in
	 * it; nothing left behind by killed runs; loose: only what refs reach */
	CHECK(cw_test_capture(out, sizeof(out),
	                      "cd '%s/log.git/objects' && ls -d cw-incoming-* pack/tmp_* 2>/dev/null; "
	                      "ls pack | grep -c '^pack-.*\\.pack$'; ls pack | grep -c '^pack-.*\\.idx$'; "
	                      "find ?? -type f | wc -l",
	                      a.home) != -1);
	CHECK(strcmp(out, "1\n1\n2\n") == 0); /* the tombstone, the empty tree */

	/* the handle works on: refs, a new object, a read */
	CHECK_OK(cw_log_refs(&refs, &n, a.log, "refs/cw/"));
	CHECK(n == 2);
	free(refs);
	CHECK_OK(cw_keyring_add(&kr, cw_keys_sign_pk(a.k)));
	CHECK_OK(cw_tombstone_read(&r, a.log, e.tombstone, &kr));
	memset(c, 0x33, sizeof(c));
	CHECK_OK(cw_tombstone_write(&r, a.log, a.k, c, 1700000001));
	CHECK(git_has(a.home, r.tombstone));

	/* A prune killed after its pack was written but before the old ones
	 * went leaves extra packs: the next one removes them. Another run
	 * changes nothing that is named. */
	CHECK(cw_test_run("set -e; cd '%s/log.git/objects/pack'; for f in pack-*.pack; do "
	                  "cp $f pack-0000000000000000000000000000000000000000.pack; done",
	                  a.home) == 0);
	CHECK_OK(cw_log_prune(a.log));
	CHECK_OK(cw_log_prune(a.log));
	CHECK(cw_test_capture(out, sizeof(out), "ls '%s/log.git/objects/pack' | grep -c .", a.home) == 0);
	CHECK(strcmp(out, "2\n") == 0);
	CHECK(git_has(a.home, e.tombstone) && !git_has(a.home, r.tombstone) && !git_has(a.home, grant));
	CHECK(cw_test_run(GITC "fsck --strict --no-progress >/dev/null 2>&1", a.home) == 0);
	cw_keyring_dispose(&kr);
	node_close(&a);
}

/* The erasure right of a coordinator on a node that cannot read the case:
 * a ref NAME for its chain next to its tombstone is not a chain. */
static void test_tip_verify(void)
{
	node_t a;
	cw_keyring kr = { 0 };
	cw_bundle_ref tip;
	cw_erasure e;
	uint8_t c[CW_ID_BYTES];

	if (!node_open(&a, "tip")) {
		CHECK(0);
		return;
	}
	CHECK_OK(cw_keyring_add(&kr, cw_keys_sign_pk(a.k)));
	memset(c, 0x44, sizeof(c));
	CHECK_OK(cw_tombstone_write(&e, a.log, a.k, c, 1700000000));
	memset(&tip, 0, sizeof(tip));
	snprintf(tip.name, sizeof(tip.name), "refs/cw/case/%s/%s", "44444444444444444444444444444444",
	         cw_keys_id(a.k));
	snprintf(tip.oid, sizeof(tip.oid), "%s", e.tombstone);
	/* the tombstone itself, named as the signer's chain */
	CHECK(cw_log_chain_tip_verify(a.log, &kr, &tip) < 0);
	/* a commit that does not exist */
	memset(tip.oid, 'b', 40);
	CHECK(cw_log_chain_tip_verify(a.log, &kr, &tip) < 0);
	/* not a chain name */
	snprintf(tip.name, sizeof(tip.name), "refs/cw/erased/%s", "44444444444444444444444444444444");
	CHECK_CODE(cw_log_chain_tip_verify(a.log, &kr, &tip), CW_EINVALID);
	cw_error_clear();
	cw_keyring_dispose(&kr);
	node_close(&a);
}

/* Every op of from's case into to (arrival order), then flush. */
static int copy_case(cw_store *to, cw_store *from, const cw_keyring *kr)
{
	sqlite3_stmt *stmt = NULL;
	int added, rc = 0;

	if (cw_store_begin(to) < 0)
		return -1;
	sqlite3_prepare_v2(cw_store__db(from), "SELECT bytes FROM ops ORDER BY n", -1, &stmt, NULL);
	while (rc == 0 && sqlite3_step(stmt) == SQLITE_ROW)
		if (cw_oplog_ingest(&added, to, kr, sqlite3_column_blob(stmt, 0),
		                    (size_t)sqlite3_column_bytes(stmt, 0)) < 0) {
			fprintf(stderr, "ingest: %s\n", cw_error_last());
			rc = -1;
		}
	sqlite3_finalize(stmt);
	if (rc == 0 && cw_oplog_flush(to) == CW_OK && cw_store_commit(to) == CW_OK)
		return 0;
	cw_store_rollback(to);
	return -1;
}

/* The creator: the one whose creating op everyone else had seen; a
 * backdated "creation" by a member leaves no creator at all. */
static void test_creator(void)
{
	node_t a, b, c;
	cw_keyring kr = { 0 };
	cw_kv kv[] = { { "name", "Creatortest" } };
	cw_kv note[] = { { "text", "from b" } };
	cw_op_field f = { "name", "Mallory says she made it", 24 };
	uint8_t id[CW_ID_BYTES], entity[CW_ID_BYTES];
	char who[CW_DEVICE_ID_LEN + 1];

	if (!node_open(&a, "ca") || !node_open(&b, "cb") || !node_open(&c, "cc")) {
		CHECK(0);
		return;
	}
	CHECK_OK(cw_keyring_add(&kr, cw_keys_sign_pk(a.k)));
	CHECK_OK(cw_keyring_add(&kr, cw_keys_sign_pk(b.k)));
	CHECK_OK(cw_keyring_add(&kr, cw_keys_sign_pk(c.k)));
	CHECK_OK(cw_case_create(id, a.st, a.k, kv, 1));
	CHECK_CODE(cw_erase_creator(who, b.st, id), CW_ENOTFOUND);
	CHECK(copy_case(b.st, a.st, &kr) == 0);
	CHECK_OK(cw_case_add(entity, b.st, b.k, id, CW_KIND_NOTE, note, 1));
	CHECK(copy_case(a.st, b.st, &kr) == 0);
	CHECK_OK(cw_erase_creator(who, a.st, id));
	CHECK(strcmp(who, cw_keys_id(a.k)) == 0);
	CHECK_OK(cw_erase_creator(who, b.st, id));
	CHECK(strcmp(who, cw_keys_id(a.k)) == 0);
	/* c never saw the case and writes a backdated creation of it */
	CHECK_OK(cw_oplog_write(NULL, c.st, c.k, id, CW_KIND_CASE, id, CW_OP_PUT, &f, 1));
	CHECK(copy_case(a.st, c.st, &kr) == 0);
	CHECK_OK(cw_erase_creator(who, a.st, id));
	CHECK(who[0] == '\0');
	cw_keyring_dispose(&kr);
	node_close(&a);
	node_close(&b);
	node_close(&c);
}

/* ---- tools for tests/scenario/erase.sh --------------------------------------------------- */

static cw_home *tool_home(void)
{
	const char *dir = getenv("CW_ERASE_HOME"), *pass = getenv("CASEWAY_PASSPHRASE");
	cw_home *h = NULL;

	if (dir == NULL || pass == NULL)
		return NULL;
	if (cw_home_open(&h, dir, pass, strlen(pass)) < 0) {
		cw_test_fail(__FILE__, __LINE__, "cw_home_open", cw_error_last());
		return NULL;
	}
	return h;
}

static void tool_scan(void)
{
	const char *text = getenv("CW_ERASE_NEEDLE"), *hex = getenv("CW_ERASE_NEEDLE_HEX");
	uint8_t needle[256];
	size_t nlen = 0;
	char where[200];
	cw_home *h;

	if ((text == NULL && hex == NULL) || (h = tool_home()) == NULL)
		return;
	if (text) {
		nlen = strlen(text) < sizeof(needle) ? strlen(text) : sizeof(needle);
		memcpy(needle, text, nlen);
	} else {
		nlen = strlen(hex) / 2;
		if (nlen > sizeof(needle) || cw_hex_decode(needle, nlen, hex) < 0) {
			cw_test_fail(__FILE__, __LINE__, "CW_ERASE_NEEDLE_HEX", "not hex");
			cw_home_free(h);
			return;
		}
	}
	if (nlen && scan_store(cw_home_store(h), needle, nlen, where, sizeof(where)))
		cw_test_fail(__FILE__, __LINE__, "the decrypted store holds the needle", where);
	cw_home_free(h);
}

static void tool_keys(void)
{
	const char *hex = getenv("CW_ERASE_CASE");
	uint8_t c[CW_ID_BYTES];
	sqlite3_stmt *stmt = NULL;
	cw_home *h;

	if (hex == NULL || (h = tool_home()) == NULL)
		return;
	CHECK_OK(cw_hex_decode(c, CW_ID_BYTES, hex));
	sqlite3_prepare_v2(cw_store__db(cw_home_store(h)), "SELECT key FROM case_keys WHERE case_id=?1", -1,
	                   &stmt, NULL);
	sqlite3_bind_blob(stmt, 1, c, CW_ID_BYTES, SQLITE_STATIC);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		char out[2 * 64 + 1];
		size_t n = (size_t)sqlite3_column_bytes(stmt, 0);

		if (n > 64)
			n = 64;
		cw_hex_encode(out, sqlite3_column_blob(stmt, 0), n);
		printf("KEY %s\n", out);
	}
	sqlite3_finalize(stmt);
	cw_home_free(h);
}

static void tool_forge(void)
{
	const char *hex = getenv("CW_ERASE_CASE");
	uint8_t c[CW_ID_BYTES];
	cw_log *log = NULL;
	cw_erasure e;
	cw_home *h;

	if (hex == NULL || (h = tool_home()) == NULL)
		return;
	CHECK_OK(cw_hex_decode(c, CW_ID_BYTES, hex));
	CHECK_OK(cw_log_open(&log, cw_home_dir(h)));
	if (log && cw_tombstone_write(&e, log, cw_home_keys(h), c, (int64_t)time(NULL)) == CW_OK)
		printf("TOMBSTONE %s\n", e.tombstone);
	else
		cw_test_fail(__FILE__, __LINE__, "cw_tombstone_write", cw_error_last());
	cw_log_free(log);
	cw_home_free(h);
}

const cw_test cw_tests[] = {
	{ "message", test_message },
	{ "store erasure", test_store_erasure },
	{ "write and read", test_write_read },
	{ "filter", test_filter },
	{ "creator", test_creator },
	{ "prune", test_prune },
	{ "tip verify", test_tip_verify },
	{ "tool-scan", tool_scan },
	{ "tool-keys", tool_keys },
	{ "tool-forge", tool_forge },
	CW_TESTS_END,
};
