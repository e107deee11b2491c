/* tests/crypto/test_vfs.c - the encrypting VFS: round trips in WAL and
 * rollback modes, tampering (every bit of a page, WAL frame, journal block,
 * truncation, wrong key, frames and pages mixed up), the WAL frame format
 * and the checkpoint that copies its pages, a second writer, and no
 * plaintext on disk. */
#include "harness.h"
#include "crypto/vfs.h"
#include "util/error.h"

#include <dirent.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const markers[] = { "MARKER-alpha-7f3c9e", "MARKER-bravo-91ad44",
	                               "MARKER-charlie-0b2e17" };
#define NMARKERS 3

/* ---- helpers ---- */

static cw_secret *key_of(uint8_t fill)
{
	cw_secret *k = NULL;

	if (cw_secret_new(&k, 32) == CW_OK)
		memset(cw_secret_bytes(k), fill, 32);
	return k;
}

static cw_vfs *vfs_of(uint8_t fill)
{
	cw_secret *k = key_of(fill);
	cw_vfs *v = NULL;

	CHECK_OK(cw_vfs_new(&v, k));
	cw_secret_free(k);
	return v;
}

static int exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK && getenv("CW_VFS_VERBOSE"))
		fprintf(stderr, "  sql %s: %s\n", sql, msg ? msg : "");
	sqlite3_free(msg);
	return rc;
}

/* First column of the first row as an integer; SQLite code (SQLITE_OK). */
static int query_int(sqlite3 *db, const char *sql, sqlite3_int64 *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
	}
	if (getenv("CW_VFS_VERBOSE"))
		fprintf(stderr, "  query %s: rc %d (%s) -> %lld\n", sql, rc, sqlite3_errmsg(db),
		        (long long)*out);
	sqlite3_finalize(st);
	return rc;
}

static int integrity_ok(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int ok = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		ok = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	if (!ok && getenv("CW_VFS_VERBOSE"))
		fprintf(stderr, "  integrity: %s\n", st ? (const char *)sqlite3_column_text(st, 0) : "?");
	sqlite3_finalize(st);
	return ok;
}

/* Open (creating) a database through vfs the way the store does: page size
 * and reserved bytes before any write, then the journal mode. vfs NULL opens
 * plain SQLite with the same settings. */
static sqlite3 *db_open(const char *path, const cw_vfs *vfs, const char *journal_mode_sql)
{
	sqlite3 *db = NULL;
	int n = CW_VFS_RESERVE;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
	                    vfs ? cw_vfs_name(vfs) : NULL) != SQLITE_OK) {
		CHECK(!"open");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_extended_result_codes(db, 1);
	CHECK(exec(db, "PRAGMA page_size=4096") == SQLITE_OK);
	CHECK(sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &n) == SQLITE_OK);
	CHECK(exec(db, journal_mode_sql) == SQLITE_OK);
	CHECK(exec(db, "PRAGMA temp_store=MEMORY") == SQLITE_OK);
	return db;
}

/* Open an existing database; no pragmas. */
static sqlite3 *db_reopen(const char *path, const cw_vfs *vfs)
{
	sqlite3 *db = NULL;

	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, cw_vfs_name(vfs));

	if (rc != SQLITE_OK)
		fprintf(stderr, "  reopen %s: %d %s\n", path, rc, sqlite3_errmsg(db));
	CHECK(rc == SQLITE_OK);
	sqlite3_extended_result_codes(db, 1);
	return db;
}

static void path_in(char *out, size_t len, const char *dir, const char *name)
{
	if (snprintf(out, len, "%s/%s", dir, name) >= (int)len)
		out[0] = '\0';
}

static uint8_t *file_read(const char *path, size_t *len_out)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *data = NULL;
	long len;

	*len_out = 0;
	if (fp == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (len = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
	    (data = malloc((size_t)len + 1)) != NULL) {
		if (fread(data, 1, (size_t)len, fp) != (size_t)len) {
			free(data);
			data = NULL;
		} else {
			*len_out = (size_t)len;
		}
	}
	fclose(fp);
	return data;
}

static int file_write(const char *path, const uint8_t *data, size_t len)
{
	FILE *fp = fopen(path, "wb");
	int ok;

	if (fp == NULL)
		return 0;
	ok = fwrite(data, 1, len, fp) == len;
	return fclose(fp) == 0 && ok;
}

static int file_copy(const char *from, const char *to)
{
	size_t len;
	uint8_t *data = file_read(from, &len);
	int ok = data && file_write(to, data, len);

	free(data);
	return ok;
}

static int file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* How many of the markers occur in the raw bytes of the file. */
static int markers_in_file(const char *path)
{
	size_t len, i, m;
	uint8_t *data = file_read(path, &len);
	int found = 0;

	if (data == NULL)
		return 0;
	for (m = 0; m < NMARKERS; m++) {
		size_t mlen = strlen(markers[m]);

		for (i = 0; i + mlen <= len; i++) {
			if (data[i] == (uint8_t)markers[m][0] && memcmp(data + i, markers[m], mlen) == 0) {
				found++;
				break;
			}
		}
	}
	free(data);
	return found;
}

/* Markers found across every file in dir; *files_out counts files scanned. */
static int markers_in_dir(const char *dir, int *files_out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	int found = 0;

	*files_out = 0;
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		path_in(path, sizeof(path), dir, e->d_name);
		found += markers_in_file(path);
		(*files_out)++;
	}
	closedir(d);
	return found;
}

static int flip_bit(const char *path, long off, int bit)
{
	FILE *fp = fopen(path, "r+b");
	int c, ok = 0;

	if (fp == NULL)
		return 0;
	if (fseek(fp, off, SEEK_SET) == 0 && (c = fgetc(fp)) != EOF && fseek(fp, off, SEEK_SET) == 0)
		ok = fputc(c ^ (1 << bit), fp) != EOF;
	return fclose(fp) == 0 && ok;
}

static const char sql_schema[] = "CREATE TABLE t(id INTEGER PRIMARY KEY, tag TEXT, body BLOB);"
                                 "CREATE INDEX t_tag ON t(tag);";

/* Insert rows [from, to) with a tag and a body of `size` bytes. */
static int insert_rows(sqlite3 *db, int from, int to, int size)
{
	sqlite3_stmt *st = NULL;
	int i, rc;

	rc = sqlite3_prepare_v2(db, "INSERT INTO t(id, tag, body) VALUES(?1, ?2, zeroblob(?3))", -1, &st,
	                        NULL);
	for (i = from; rc == SQLITE_OK && i < to; i++) {
		sqlite3_bind_int(st, 1, i);
		sqlite3_bind_text(st, 2, markers[i % NMARKERS], -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, size);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? sqlite3_reset(st) : rc;
	}
	sqlite3_finalize(st);
	return rc;
}

static int is_data_error(int rc)
{
	return rc == SQLITE_IOERR_DATA;
}

/* ---- round trips ---- */

static void round_trip(const char *journal_mode_sql)
{
	const char *dir = cw_test_tmpdir();
	char path[512];
	cw_vfs *v = vfs_of(1);
	sqlite3 *db;
	sqlite3_int64 n = 0;

	path_in(path, sizeof(path), dir, "store.db");
	db = db_open(path, v, journal_mode_sql);
	CHECK(exec(db, sql_schema) == SQLITE_OK);
	CHECK(exec(db, "BEGIN") == SQLITE_OK);
	CHECK(insert_rows(db, 0, 300, 200) == SQLITE_OK);
	CHECK(exec(db, "COMMIT") == SQLITE_OK);
	/* a transaction rolled back */
	CHECK(exec(db, "BEGIN") == SQLITE_OK);
	CHECK(insert_rows(db, 300, 600, 200) == SQLITE_OK);
	CHECK(exec(db, "DELETE FROM t WHERE id < 100") == SQLITE_OK);
	CHECK(exec(db, "ROLLBACK") == SQLITE_OK);
	CHECK(query_int(db, "SELECT count(*) FROM t", &n) == SQLITE_OK && n == 300);
	/* bigger than the page cache: ~1200 pages through a 20-page cache,
	 * so pages are spilled, evicted and read back during the transaction */
	CHECK(exec(db, "PRAGMA cache_size=20") == SQLITE_OK);
	CHECK(exec(db, "BEGIN") == SQLITE_OK);
	CHECK(insert_rows(db, 1000, 2200, 3000) == SQLITE_OK);
	CHECK(query_int(db, "SELECT sum(length(body)) FROM t", &n) == SQLITE_OK &&
	      n == 300 * 200 + 1200 * 3000);
	CHECK(exec(db, "COMMIT") == SQLITE_OK);
	/* and a big transaction rolled back after spilling */
	CHECK(exec(db, "BEGIN") == SQLITE_OK);
	CHECK(exec(db, "UPDATE t SET body = zeroblob(3100) WHERE id >= 1000") == SQLITE_OK);
	CHECK(exec(db, "ROLLBACK") == SQLITE_OK);
	CHECK(integrity_ok(db));
	CHECK(sqlite3_close(db) == SQLITE_OK);

	db = db_reopen(path, v);
	CHECK(query_int(db, "SELECT count(*) FROM t", &n) == SQLITE_OK && n == 1500);
	CHECK(query_int(db, "SELECT sum(length(body)) FROM t", &n) == SQLITE_OK &&
	      n == 300 * 200 + 1200 * 3000);
	CHECK(exec(db, "DELETE FROM t WHERE id >= 1600") == SQLITE_OK);
	CHECK(exec(db, "VACUUM") == SQLITE_OK);
	CHECK(integrity_ok(db));
	/* temporary files go through the VFS too */
	CHECK(exec(db, "PRAGMA temp_store=FILE; PRAGMA cache_size=20") == SQLITE_OK);
	CHECK(query_int(db, "SELECT count(*) FROM (SELECT body || randomblob(10) FROM t ORDER BY 1)", &n) ==
	          SQLITE_OK &&
	      n == 900);
	CHECK(sqlite3_close(db) == SQLITE_OK);

	db = db_reopen(path, v);
	CHECK(query_int(db, "SELECT count(*) FROM t", &n) == SQLITE_OK && n == 900);
	CHECK(query_int(db, "PRAGMA page_size", &n) == SQLITE_OK && n == CW_VFS_PAGE_SIZE);
	CHECK(integrity_ok(db));
	CHECK(sqlite3_close(db) == SQLITE_OK);
	CHECK(cw_vfs_failure(v) == NULL);
	cw_vfs_free(v);
}

static void test_round_trip_wal(void)
{
	round_trip("PRAGMA journal_mode=WAL");
}

static void test_round_trip_delete(void)
{
	round_trip("PRAGMA journal_mode=DELETE");
}

static void test_names_are_unique(void)
{
	cw_vfs *a = vfs_of(1), *b = vfs_of(1);
	cw_secret *short_key = NULL;
	cw_vfs *c = NULL;

	CHECK(a && b && strcmp(cw_vfs_name(a), cw_vfs_name(b)) != 0);
	CHECK_OK(cw_secret_new(&short_key, 16));
	CHECK_CODE(cw_vfs_new(&c, short_key), CW_EINVALID);
	CHECK(c == NULL);
	cw_secret_free(short_key);
	cw_vfs_free(a);
	cw_vfs_free(b);
	cw_vfs_free(NULL);
}

/* A database created without the reserved bytes cannot be written. */
static void test_refuses_without_reserve(void)
{
	const char *dir = cw_test_tmpdir();
	char path[512];
	cw_vfs *v = vfs_of(2);
	sqlite3 *db = NULL;

	path_in(path, sizeof(path), dir, "store.db");
	CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, cw_vfs_name(v)) ==
	      SQLITE_OK);
	sqlite3_extended_result_codes(db, 1);
	CHECK(exec(db, "PRAGMA journal_mode=DELETE") == SQLITE_OK);
	CHECK(exec(db, "CREATE TABLE t(x)") == SQLITE_IOERR_WRITE);
	sqlite3_close(db);
	cw_vfs_free(v);
}

/* ---- confidentiality ---- */

static void test_no_plaintext_on_disk(void)
{
	char dir[400], path[512], plain[512], jpath[600], wpath[600];
	cw_vfs *v = vfs_of(3);
	sqlite3 *db;
	int files = 0;

	snprintf(dir, sizeof(dir), "%s", cw_test_tmpdir());
	/* the scanner works: plain SQLite leaves the markers in the file */
	path_in(plain, sizeof(plain), cw_test_tmpdir(), "plain.db");
	db = db_open(plain, NULL, "PRAGMA journal_mode=DELETE");
	CHECK(exec(db, sql_schema) == SQLITE_OK && insert_rows(db, 0, 30, 10) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(markers_in_file(plain) == NMARKERS);

	/* WAL: the db and the -wal, checked while the connection is open */
	path_in(path, sizeof(path), dir, "store.db");
	snprintf(wpath, sizeof(wpath), "%s-wal", path);
	db = db_open(path, v, "PRAGMA journal_mode=WAL");
	CHECK(exec(db, sql_schema) == SQLITE_OK && insert_rows(db, 0, 300, 100) == SQLITE_OK);
	CHECK(exec(db, "PRAGMA wal_checkpoint(TRUNCATE)") == SQLITE_OK);
	CHECK(insert_rows(db, 300, 600, 100) == SQLITE_OK);
	CHECK(file_exists(wpath));
	CHECK(markers_in_dir(dir, &files) == 0 && files >= 2);
	sqlite3_close(db);
	CHECK(markers_in_dir(dir, &files) == 0 && files >= 1);

	/* rollback journal: checked in the middle of a transaction that has
	 * spilled, so the journal holds old pages and the db new ones */
	snprintf(jpath, sizeof(jpath), "%s-journal", path);
	db = db_reopen(path, v);
	CHECK(exec(db, "PRAGMA journal_mode=DELETE; PRAGMA cache_size=10") == SQLITE_OK);
	CHECK(exec(db, "BEGIN") == SQLITE_OK);
	CHECK(exec(db, "UPDATE t SET tag = tag || '-x'") == SQLITE_OK);
	CHECK(insert_rows(db, 600, 900, 100) == SQLITE_OK);
	CHECK(file_exists(jpath));
	CHECK(markers_in_dir(dir, &files) == 0 && files >= 2);
	CHECK(exec(db, "COMMIT") == SQLITE_OK);
	sqlite3_close(db);
	CHECK(markers_in_dir(dir, &files) == 0);
	CHECK(cw_vfs_failure(v) == NULL);
	cw_vfs_free(v);
}

/* The stock sqlite3 shell sees random bytes. */
static void test_sqlite3_shell_refuses(void)
{
	const char *dir = cw_test_tmpdir();
	char path[512], cmd[700], out[512] = "";
	cw_vfs *v = vfs_of(4);
	sqlite3 *db;
	FILE *p;
	size_t n;

	path_in(path, sizeof(path), dir, "store.db");
	db = db_open(path, v, "PRAGMA journal_mode=DELETE");
	CHECK(exec(db, sql_schema) == SQLITE_OK && insert_rows(db, 0, 10, 10) == SQLITE_OK);
	sqlite3_close(db);
	if (access("/usr/bin/sqlite3", X_OK) != 0) {
		fprintf(stderr, "  (no /usr/bin/sqlite3; skipped)\n");
		cw_vfs_free(v);
		return;
	}
	snprintf(cmd, sizeof(cmd), "/usr/bin/sqlite3 '%s' 'SELECT count(*) FROM sqlite_schema' 2>&1", path);
	CHECK((p = popen(cmd, "r")) != NULL);
	if (p) {
		n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = '\0';
		CHECK(pclose(p) != 0);
		CHECK(strstr(out, "file is not a database") != NULL);
	}
	cw_vfs_free(v);
}

/* ---- tampering ---- */

static void test_wrong_key(void)
{
	const char *dir = cw_test_tmpdir();
	char path[512];
	cw_vfs *v = vfs_of(5), *w = vfs_of(6);
	sqlite3 *db;
	sqlite3_int64 n;
	int rc;

	path_in(path, sizeof(path), dir, "store.db");
	db = db_open(path, v, "PRAGMA journal_mode=WAL");
	CHECK(exec(db, sql_schema) == SQLITE_OK && insert_rows(db, 0, 10, 10) == SQLITE_OK);
	sqlite3_close(db);
	/* SQLite reads the header at open already */
	db = NULL;
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE, cw_vfs_name(w));
	if (rc == SQLITE_OK)
		rc = query_int(db, "SELECT count(*) FROM t", &n);
	CHECK(is_data_error(rc));
	CHECK(cw_vfs_failure(w) && strcmp(cw_vfs_failure(w), "store.db page 1") == 0);
	sqlite3_close(db);
	cw_vfs_clear_failure(w);
	CHECK(cw_vfs_failure(w) == NULL);
	cw_vfs_free(v);
	cw_vfs_free(w);
}

/* Every single-bit flip of page 2 (ciphertext, nonce and tag) is caught and
 * named. One connection; the page is rewritten in the file and SQLite's
 * cache released between flips, so each query reads it again. */
static void test_every_bit_of_a_page(void)
{
	const char *dir = cw_test_tmpdir();
	char path[512], copy[512];
	cw_vfs *v = vfs_of(7);
	sqlite3 *db;
	sqlite3_int64 n, root = 0;
	uint8_t page[CW_VFS_PAGE_SIZE], bad[CW_VFS_PAGE_SIZE];
	FILE *fp = NULL;
	long off = CW_VFS_PAGE_SIZE; /* page 2 */
	int bit, missed = 0, misnamed = 0;

	path_in(path, sizeof(path), dir, "store.db");
	path_in(copy, sizeof(copy), dir, "copy.db");
	db = db_open(path, v, "PRAGMA journal_mode=DELETE");
	CHECK(exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, tag TEXT)") == SQLITE_OK);
	CHECK(exec(db, "BEGIN") == SQLITE_OK);
	CHECK(exec(db, "INSERT INTO t VALUES(1, 'one'), (2, 'two'), (3, 'three')") == SQLITE_OK);
	CHECK(exec(db, "COMMIT") == SQLITE_OK);
	CHECK(query_int(db, "SELECT rootpage FROM sqlite_schema WHERE name='t'", &root) == SQLITE_OK);
	CHECK(root == 2);
	sqlite3_close(db);
	CHECK(file_copy(path, copy));

	db = db_reopen(copy, v);
	CHECK(query_int(db, "SELECT count(*) FROM t", &n) == SQLITE_OK && n == 3);
	fp = fopen(copy, "r+b");
	CHECK(fp != NULL);
	if (fp == NULL || fseek(fp, off, SEEK_SET) != 0 || fread(page, 1, sizeof(page), fp) != sizeof(page)) {
		CHECK(!"read page 2");
		goto done;
	}
	for (bit = 0; bit < CW_VFS_PAGE_SIZE * 8; bit++) {
		int rc;

		memcpy(bad, page, sizeof(bad));
		bad[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		if (fseek(fp, off, SEEK_SET) != 0 || fwrite(bad, 1, sizeof(bad), fp) != sizeof(bad) ||
		    fflush(fp) != 0) {
			CHECK(!"write page 2");
			goto done;
		}
		sqlite3_db_release_memory(db);
		cw_vfs_clear_failure(v);
		rc = query_int(db, "SELECT count(*) FROM t", &n);
		if (!is_data_error(rc))
			missed++;
		else if (!cw_vfs_failure(v) || strcmp(cw_vfs_failure(v), "copy.db page 2") != 0)
			misnamed++;
	}
	CHECK(missed == 0);
	CHECK(misnamed == 0);
	/* the original page still reads */
	if (fseek(fp, off, SEEK_SET) != 0 || fwrite(page, 1, sizeof(page), fp) != sizeof(page) ||
	    fflush(fp) != 0)
		CHECK(!"restore page 2");
	sqlite3_db_release_memory(db);
	CHECK(query_int(db, "SELECT count(*) FROM t", &n) == SQLITE_OK && n == 3);
done:
	if (fp)
		fclose(fp);
	sqlite3_close(db);
	cw_vfs_free(v);
}

/* Pages swapped within the file do not authenticate (page number in AD). */
static void test_swapped_pages(void)
{
	const char *dir = cw_test_tmpdir();
	char path[512];
	cw_vfs *v = vfs_of(8);
	sqlite3 *db;
	sqlite3_int64 n;
	size_t len;
	uint8_t *data, tmp[CW_VFS_PAGE_SIZE];

	path_in(path, sizeof(path), dir, "store.db");
	db = db_open(path, v, "PRAGMA journal_mode=DELETE");
	CHECK(exec(db, sql_schema) == SQLITE_OK && insert_rows(db, 0, 200, 100) == SQLITE_OK);
	sqlite3_close(db);
	data = file_read(path, &len);
	CHECK(data && len >= 4 * CW_VFS_PAGE_SIZE);
	if (data && len >= 4 * CW_VFS_PAGE_SIZE) {
		memcpy(tmp, data + 2 * CW_VFS_PAGE_SIZE, sizeof(tmp));
		memcpy(data + 2 * CW_VFS_PAGE_SIZE, data + 3 * CW_VFS_PAGE_SIZE, sizeof(tmp));
		memcpy(data + 3 * CW_VFS_PAGE_SIZE, tmp, sizeof(tmp));
		CHECK(file_write(path, data, len));
	}
	free(data);
	db = db_reopen(path, v);
	CHECK(is_data_error(query_int(db, "SELECT sum(length(body)) FROM t", &n)));
	CHECK(cw_vfs_failure(v) && (strcmp(cw_vfs_failure(v), "store.db page 3") == 0 ||
	                            strcmp(cw_vfs_failure(v), "store.db page 4") == 0));
	sqlite3_close(db);
	cw_vfs_free(v);
}

static void test_truncated_mid_page(void)
{
	const char *dir = cw_test_tmpdir();
	char path[512], want[64];
	cw_vfs *v = vfs_of(9);
	sqlite3 *db;
	struct stat st;

	path_in(path, sizeof(path), dir, "store.db");
	db = db_open(path, v, "PRAGMA journal_mode=DELETE");
	CHECK(exec(db, sql_schema) == SQLITE_OK && insert_rows(db, 0, 200, 100) == SQLITE_OK);
	sqlite3_close(db);
	CHECK(stat(path, &st) == 0 && st.st_size % CW_VFS_PAGE_SIZE == 0);
	CHECK(truncate(path, st.st_size - 100) == 0);
	snprintf(want, sizeof(want), "store.db page %lld", (long long)(st.st_size / CW_VFS_PAGE_SIZE));
	db = db_reopen(path, v);
	CHECK(!integrity_ok(db));
	CHECK(cw_vfs_failure(v) && strcmp(cw_vfs_failure(v), want) == 0);
	sqlite3_close(db);
	cw_vfs_free(v);
}

/* Build store.db with a WAL of several commits that is left behind (no
 * checkpoint at close). Returns the number of rows committed. */
static int make_wal(const char *path, cw_vfs *v)
{
	sqlite3 *db = db_open(path, v, "PRAGMA journal_mode=WAL");
	int i;

	CHECK(exec(db, "PRAGMA wal_autocheckpoint=0") == SQLITE_OK);
	CHECK(sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL) == SQLITE_OK);
	CHECK(exec(db, sql_schema) == SQLITE_OK);
	for (i = 0; i < 5; i++) {
		CHECK(exec(db, "BEGIN") == SQLITE_OK);
		CHECK(insert_rows(db, i * 20, i * 20 + 20, 500) == SQLITE_OK);
		CHECK(exec(db, "COMMIT") == SQLITE_OK);
	}
	sqlite3_close(db);
	return 100;
}

#define WAL_UNIT (24 + CW_VFS_PAGE_SIZE + CW_VFS_RESERVE)
#define WAL_FRAME_AT(k) (32 + CW_VFS_RESERVE + ((long)(k)-1) * WAL_UNIT)

static void test_wal_frame_flip(void)
{
	const char *dir = cw_test_tmpdir();
	char path[512], wal[600];
	cw_vfs *v = vfs_of(10);
	sqlite3 *db;
	sqlite3_int64 n;
	struct stat st;

	path_in(path, sizeof(path), dir, "store.db");
	snprintf(wal, sizeof(wal), "%s-wal", path);
	make_wal(path, v);
	CHECK(stat(wal, &st) == 0 && st.st_size > WAL_FRAME_AT(4));
	CHECK(flip_bit(wal, WAL_FRAME_AT(2) + 1000, 3));
	db = db_reopen(path, v);
	CHECK(is_data_error(query_int(db, "SELECT count(*) FROM t", &n)));
	CHECK(cw_vfs_failure(v) && strcmp(cw_vfs_failure(v), "store.db-wal frame 2") == 0);
	sqlite3_close(db);

	/* the header too */
	cw_vfs_clear_failure(v);
	CHECK(flip_bit(wal, WAL_FRAME_AT(2) + 1000, 3)); /* undo */
	CHECK(flip_bit(wal, 10, 0));
	db = db_reopen(path, v);
	CHECK(is_data_error(query_int(db, "SELECT count(*) FROM t", &n)));
	CHECK(cw_vfs_failure(v) && strcmp(cw_vfs_failure(v), "store.db-wal header") == 0);
	sqlite3_close(db);
	cw_vfs_free(v);
}

/* A crash during the last frame's write leaves a torn, unauthentic last unit
 * (or a short one): like plain SQLite, recovery ends the log before it. */
static void test_wal_torn_tail(void)
{
	const char *dir = cw_test_tmpdir();
	char path[512], wal[600];
	cw_vfs *v = vfs_of(11);
	sqlite3 *db;
	sqlite3_int64 n, nframes;
	struct stat st;

	path_in(path, sizeof(path), dir, "store.db");
	snprintf(wal, sizeof(wal), "%s-wal", path);
	make_wal(path, v);
	CHECK(stat(wal, &st) == 0);
	nframes = (st.st_size - 32 - CW_VFS_RESERVE) / WAL_UNIT;
	CHECK((st.st_size - 32 - CW_VFS_RESERVE) % WAL_UNIT == 0);
	/* last frame torn: half of it stays, half is garbage */
	CHECK(flip_bit(wal, WAL_FRAME_AT(nframes) + 4100, 5));
	db = db_reopen(path, v);
	CHECK(query_int(db, "SELECT count(*) FROM t", &n) == SQLITE_OK && n == 80);
	CHECK(integrity_ok(db));
	CHECK(cw_vfs_failure(v) == NULL);
	sqlite3_close(db);
	cw_vfs_free(v);

	/* a short last frame */
	v = vfs_of(12);
	dir = cw_test_tmpdir();
	path_in(path, sizeof(path), dir, "store.db");
	snprintf(wal, sizeof(wal), "%s-wal", path);
	make_wal(path, v);
	CHECK(stat(wal, &st) == 0 && truncate(wal, st.st_size - 1000) == 0);
	db = db_reopen(path, v);
	CHECK(query_int(db, "SELECT count(*) FROM t", &n) == SQLITE_OK && n == 80);
	CHECK(integrity_ok(db));
	CHECK(cw_vfs_failure(v) == NULL);
	sqlite3_close(db);
	cw_vfs_free(v);
}

/* ---- the WAL frame format, read with the key (white box) ---- */

#define FRAME_HDR_AT(k) WAL_FRAME_AT(k)
#define FRAME_PAGE_AT(k) (WAL_FRAME_AT(k) + 24 + CW_VFS_RESERVE)
#define PAGE_DATA (CW_VFS_PAGE_SIZE - CW_VFS_RESERVE)

static void key_bytes(uint8_t key[32], uint8_t fill)
{
	memset(key, fill, 32);
}

/* Frame k's header decrypted from the raw WAL; its page number, or 0 when
 * it does not authenticate. */
static uint32_t frame_pgno(const uint8_t *wal, long k, const uint8_t key[32], uint8_t hdr[24])
{
	const uint8_t *fr = wal + FRAME_HDR_AT(k);
	uint8_t ad[9 + CW_VFS_RESERVE];
	int i;

	ad[0] = 'W';
	for (i = 0; i < 8; i++)
		ad[1 + i] = (uint8_t)((uint64_t)k >> (8 * i));
	memcpy(ad + 9, wal + FRAME_PAGE_AT(k) + PAGE_DATA, CW_VFS_RESERVE);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(hdr, NULL, fr, 24, fr + 48, ad, sizeof(ad),
	                                                        fr + 24, key) != 0)
		return 0;
	return (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
}

/* Decrypt a stored page (database format) as page pgno into out
 * (reserved bytes zero); 0 on success. */
static int page_decrypt(uint8_t *out, const uint8_t *page, uint32_t pgno, const uint8_t key[32])
{
	uint8_t ad[5] = { 'D', (uint8_t)pgno, (uint8_t)(pgno >> 8), (uint8_t)(pgno >> 16),
		          (uint8_t)(pgno >> 24) };

	memset(out, 0, CW_VFS_PAGE_SIZE);
	return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
	    out, NULL, page, PAGE_DATA, page + PAGE_DATA + 24, ad, sizeof(ad), page + PAGE_DATA, key);
}

static long wal_frames(const char *wal)
{
	struct stat st;

	if (stat(wal, &st) != 0 || st.st_size < 32 + CW_VFS_RESERVE)
		return 0;
	return (long)((st.st_size - 32 - CW_VFS_RESERVE) / WAL_UNIT);
}

/* Every frame's header and page decrypt as documented; a checkpoint copies
 * each page's stored form into the database unchanged, and the database then
 * decrypts to exactly the pages plain SQLite writes for the same work. */
static void test_wal_format_and_checkpoint(void)
{
	const char *dir = cw_test_tmpdir();
	char path[512], wal[600], plain[512];
	uint8_t key[32], hdr[24], page[CW_VFS_PAGE_SIZE];
	cw_vfs *v = vfs_of(14);
	sqlite3 *db;
	size_t wlen = 0, dlen = 0, plen = 0, i;
	uint8_t *w = NULL, *d = NULL, *pl = NULL;
	long k, nframes, bad = 0, copied = 0, differ = 0;
	uint32_t pg, last_of[4096];

	key_bytes(key, 14);
	path_in(path, sizeof(path), dir, "store.db");
	path_in(plain, sizeof(plain), dir, "plain.db");
	snprintf(wal, sizeof(wal), "%s-wal", path);
	make_wal(path, v);
	/* the same work on plain SQLite, checkpointed at close */
	{
		sqlite3 *p = db_open(plain, NULL, "PRAGMA journal_mode=WAL");
		int j;

		CHECK(exec(p, "PRAGMA wal_autocheckpoint=0") == SQLITE_OK);
		CHECK(exec(p, sql_schema) == SQLITE_OK);
		for (j = 0; j < 5; j++) {
			CHECK(exec(p, "BEGIN") == SQLITE_OK);
			CHECK(insert_rows(p, j * 20, j * 20 + 20, 500) == SQLITE_OK);
			CHECK(exec(p, "COMMIT") == SQLITE_OK);
		}
		sqlite3_close(p);
	}
	nframes = wal_frames(wal);
	CHECK(nframes > 5);
	w = file_read(wal, &wlen);
	CHECK(w != NULL);
	memset(last_of, 0, sizeof(last_of));
	for (k = 1; w && k <= nframes; k++) {
		pg = frame_pgno(w, k, key, hdr);
		if (pg == 0 || pg >= 4096 || page_decrypt(page, w + FRAME_PAGE_AT(k), pg, key) != 0)
			bad++;
		else
			last_of[pg] = (uint32_t)k;
	}
	CHECK(bad == 0);

	/* checkpoint without truncating, so the WAL can be compared */
	db = db_reopen(path, v);
	CHECK(exec(db, "PRAGMA wal_checkpoint(PASSIVE)") == SQLITE_OK);
	d = file_read(path, &dlen);
	CHECK(d && dlen % CW_VFS_PAGE_SIZE == 0);
	for (pg = 1; d && w && pg < 4096 && (size_t)pg * CW_VFS_PAGE_SIZE <= dlen; pg++) {
		if (last_of[pg] == 0)
			continue;
		if (memcmp(d + (size_t)(pg - 1) * CW_VFS_PAGE_SIZE, w + FRAME_PAGE_AT(last_of[pg]),
		           CW_VFS_PAGE_SIZE) == 0)
			copied++;
		else
			differ++;
	}
	CHECK(copied > 5 && differ == 0);
	CHECK(integrity_ok(db));
	CHECK(sqlite3_close(db) == SQLITE_OK);

	/* the database decrypts to plain SQLite's pages */
	free(d);
	d = file_read(path, &dlen);
	pl = file_read(plain, &plen);
	CHECK(d && pl && dlen == plen && dlen > 0);
	for (i = 0; d && pl && dlen == plen && i < dlen / CW_VFS_PAGE_SIZE; i++) {
		if (page_decrypt(page, d + i * CW_VFS_PAGE_SIZE, (uint32_t)i + 1, key) != 0 ||
		    memcmp(page, pl + i * CW_VFS_PAGE_SIZE, CW_VFS_PAGE_SIZE) != 0) {
			fprintf(stderr, "  page %zu differs from plain SQLite's\n", i + 1);
			CHECK(!"same pages as plain SQLite");
			break;
		}
	}
	CHECK(cw_vfs_failure(v) == NULL);
	free(w);
	free(d);
	free(pl);
	cw_vfs_free(v);
}

/* Copy n bytes of the WAL from one offset to another, or swap them. */
static int wal_patch(const char *wal, long to, long from, size_t n, int swap)
{
	size_t len;
	uint8_t *data = file_read(wal, &len), tmp[WAL_UNIT];
	int ok = 0;

	if (data && n <= sizeof(tmp) && (size_t)to + n <= len && (size_t)from + n <= len) {
		memcpy(tmp, data + to, n);
		memcpy(data + to, data + from, n);
		if (swap)
			memcpy(data + from, tmp, n);
		ok = file_write(wal, data, len);
	}
	free(data);
	return ok;
}

/* A frame's page or header put in another frame, or the database's own page
 * put in a frame, is caught and the frame named. */
static void test_wal_mixups(void)
{
	char path[512], wal[600], keep[600], want[64];
	uint8_t key[32], hdr[24];
	cw_vfs *v = vfs_of(15);
	sqlite3 *db;
	sqlite3_int64 n;
	size_t wlen;
	uint8_t *w;
	long k, a = 0, b = 0, c = 0, nframes;
	uint32_t pa = 0, pb = 0;
	int round;

	key_bytes(key, 15);
	path_in(path, sizeof(path), cw_test_tmpdir(), "store.db");
	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(keep, sizeof(keep), "%s-keep", path);
	make_wal(path, v);
	nframes = wal_frames(wal);
	w = file_read(wal, &wlen);
	CHECK(w != NULL && nframes > 5);
	/* a = 1, b: a later frame of another page, c: a later frame of a's page,
	 * none of them followed by another of them (two damaged frames in a row
	 * read as a torn tail followed by garbage, like a truncated WAL) */
	a = 1;
	pa = w ? frame_pgno(w, a, key, hdr) : 0;
	for (k = a + 2; w && k < nframes; k++) {
		uint32_t pg = frame_pgno(w, k, key, hdr);

		if (b == 0 && pg != pa) {
			b = k;
			pb = pg;
		} else if (b != 0 && c == 0 && pg == pa && k > b + 1) {
			c = k;
		}
	}
	free(w);
	CHECK(pa != 0 && b && c && pa != pb);
	CHECK(file_copy(wal, keep));
	for (round = 0; round < 4; round++) {
		long first = a;

		CHECK(file_copy(keep, wal));
		switch (round) {
		case 0: /* pages of two frames swapped */
			CHECK(wal_patch(wal, FRAME_PAGE_AT(a), FRAME_PAGE_AT(b), CW_VFS_PAGE_SIZE, 1));
			break;
		case 1: /* headers of two frames swapped */
			CHECK(wal_patch(wal, FRAME_HDR_AT(a), FRAME_HDR_AT(b), 24 + CW_VFS_RESERVE, 1));
			break;
		case 2: /* an older version of the same page, authentic on its own */
			CHECK(wal_patch(wal, FRAME_PAGE_AT(c), FRAME_PAGE_AT(a), CW_VFS_PAGE_SIZE, 0));
			first = c;
			break;
		default: /* whole frames swapped */
			CHECK(wal_patch(wal, FRAME_HDR_AT(a), FRAME_HDR_AT(b), WAL_UNIT, 1));
			break;
		}
		cw_vfs_clear_failure(v);
		db = db_reopen(path, v);
		CHECK(is_data_error(query_int(db, "SELECT count(*) FROM t", &n)));
		snprintf(want, sizeof(want), "store.db-wal frame %ld", first);
		if (!cw_vfs_failure(v) || strcmp(cw_vfs_failure(v), want) != 0) {
			fprintf(stderr, "  round %d: %s, wanted %s\n", round,
			        cw_vfs_failure(v) ? cw_vfs_failure(v) : "(none)", want);
			CHECK(!"mix-up named");
		}
		sqlite3_close(db);
	}
	/* the untouched WAL still reads */
	CHECK(file_copy(keep, wal));
	cw_vfs_clear_failure(v);
	db = db_reopen(path, v);
	CHECK(query_int(db, "SELECT count(*) FROM t", &n) == SQLITE_OK && n == 100);
	CHECK(integrity_ok(db));
	sqlite3_close(db);
	cw_vfs_free(v);
}

/* The connection that wrote the frames remembers them; a bit flipped on disk
 * under it is still caught when it reads the frame again. */
static void test_wal_flip_under_writer(void)
{
	char path[512], wal[600], want[64];
	uint8_t key[32], hdr[24];
	uint32_t last_of[4096];
	cw_vfs *v = vfs_of(17);
	sqlite3 *db;
	sqlite3_int64 n;
	size_t wlen;
	uint8_t *w;
	long k, nframes, target = 0;

	key_bytes(key, 17);
	path_in(path, sizeof(path), cw_test_tmpdir(), "store.db");
	snprintf(wal, sizeof(wal), "%s-wal", path);
	db = db_open(path, v, "PRAGMA journal_mode=WAL");
	CHECK(exec(db, "PRAGMA wal_autocheckpoint=0") == SQLITE_OK);
	CHECK(exec(db, sql_schema) == SQLITE_OK);
	CHECK(exec(db, "BEGIN") == SQLITE_OK);
	CHECK(insert_rows(db, 0, 100, 500) == SQLITE_OK);
	CHECK(exec(db, "COMMIT") == SQLITE_OK);
	nframes = wal_frames(wal);
	w = file_read(wal, &wlen);
	memset(last_of, 0, sizeof(last_of));
	for (k = 1; w && k <= nframes; k++) {
		uint32_t pg = frame_pgno(w, k, key, hdr);

		if (pg > 0 && pg < 4096)
			last_of[pg] = (uint32_t)k;
	}
	/* a page's latest frame, not the last frame of the WAL */
	for (k = 1; k < 4096 && target == 0; k++)
		if (last_of[k] != 0 && last_of[k] < nframes && last_of[k] > 1)
			target = last_of[k];
	free(w);
	CHECK(target > 0);
	CHECK(flip_bit(wal, FRAME_PAGE_AT(target) + 100, 2));
	sqlite3_db_release_memory(db);
	cw_vfs_clear_failure(v);
	CHECK(is_data_error(query_int(db, "SELECT sum(length(body)) FROM t", &n)));
	snprintf(want, sizeof(want), "store.db-wal frame %ld", target);
	CHECK(cw_vfs_failure(v) && strcmp(cw_vfs_failure(v), want) == 0);
	CHECK(flip_bit(wal, FRAME_PAGE_AT(target) + 100, 2)); /* undo */
	sqlite3_db_release_memory(db);
	CHECK(query_int(db, "SELECT count(*) FROM t", &n) == SQLITE_OK && n == 100);
	CHECK(integrity_ok(db));
	sqlite3_close(db);
	cw_vfs_free(v);
}

/* Two connections through two VFS instances with the same key (so no shared
 * memory of frames, as with another process) take turns writing the WAL; the
 * WAL restarts, so frame numbers are reused with new contents, and each sees
 * the other's writes. */
static void test_wal_second_writer(void)
{
	char path[512];
	cw_vfs *v = vfs_of(16), *w = vfs_of(16);
	sqlite3 *a, *b;
	sqlite3_int64 n = 0, sum = 0;
	int i;

	path_in(path, sizeof(path), cw_test_tmpdir(), "store.db");
	a = db_open(path, v, "PRAGMA journal_mode=WAL");
	CHECK(exec(a, "PRAGMA wal_autocheckpoint=0") == SQLITE_OK);
	CHECK(exec(a, sql_schema) == SQLITE_OK);
	b = db_reopen(path, w);
	CHECK(exec(b, "PRAGMA wal_autocheckpoint=0") == SQLITE_OK);
	for (i = 0; i < 6; i++) {
		sqlite3 *wr = i % 2 ? b : a, *rd = i % 2 ? a : b;
		int base = i * 100;

		CHECK(exec(wr, "BEGIN IMMEDIATE") == SQLITE_OK);
		CHECK(insert_rows(wr, base, base + 100, 300) == SQLITE_OK);
		CHECK(exec(wr, "UPDATE t SET body = zeroblob(400) WHERE id % 7 = 0") == SQLITE_OK);
		CHECK(exec(wr, "COMMIT") == SQLITE_OK);
		/* the reader sees everything, and checkpoints it so the next write
		 * starts the WAL over */
		sqlite3_db_release_memory(rd);
		CHECK(query_int(rd, "SELECT count(*) FROM t", &n) == SQLITE_OK && n == base + 100);
		CHECK(query_int(rd, "SELECT sum(length(body)) FROM t", &sum) == SQLITE_OK);
		CHECK(sum == (sqlite3_int64)(base + 100) * 300 + ((base + 99) / 7 + 1) * 100);
		CHECK(integrity_ok(rd));
		CHECK(exec(rd, "PRAGMA wal_checkpoint(PASSIVE)") == SQLITE_OK);
		sqlite3_db_release_memory(wr);
		CHECK(query_int(wr, "SELECT count(*) FROM t", &n) == SQLITE_OK && n == base + 100);
	}
	CHECK(query_int(a, "SELECT sum(length(body)) FROM t", &sum) == SQLITE_OK);
	CHECK(query_int(b, "SELECT sum(length(body)) FROM t", &n) == SQLITE_OK && n == sum);
	CHECK(query_int(a, "SELECT count(*) FROM t WHERE length(body) = 400", &n) == SQLITE_OK);
	CHECK(n == 600 / 7 + 1);
	CHECK(sqlite3_close(b) == SQLITE_OK);
	CHECK(integrity_ok(a));
	CHECK(sqlite3_close(a) == SQLITE_OK);
	CHECK(cw_vfs_failure(v) == NULL && cw_vfs_failure(w) == NULL);
	cw_vfs_free(v);
	cw_vfs_free(w);
}

/* A hot journal: a copy taken while a transaction has spilled (the journal
 * synced and the database already overwritten) rolls back on open; a bit
 * flipped in one of its blocks is caught and named. */
static void test_hot_journal(void)
{
	const char *dir = cw_test_tmpdir();
	char path[512], copy[512], jpath[600], jcopy[600];
	cw_vfs *v = vfs_of(13);
	sqlite3 *db, *db2;
	sqlite3_int64 n, sum0 = 0, sum = 0;
	struct stat st;
	int pass;

	path_in(path, sizeof(path), dir, "store.db");
	snprintf(jpath, sizeof(jpath), "%s-journal", path);
	db = db_open(path, v, "PRAGMA journal_mode=DELETE");
	CHECK(exec(db, sql_schema) == SQLITE_OK && insert_rows(db, 0, 400, 300) == SQLITE_OK);
	CHECK(query_int(db, "SELECT sum(length(body)) + count(*) FROM t", &sum0) == SQLITE_OK);
	CHECK(exec(db, "PRAGMA cache_size=10") == SQLITE_OK);
	CHECK(exec(db, "BEGIN") == SQLITE_OK);
	CHECK(exec(db, "UPDATE t SET body = zeroblob(100) WHERE id % 2 = 0") == SQLITE_OK);
	CHECK(exec(db, "DELETE FROM t WHERE id % 3 = 0") == SQLITE_OK);
	CHECK(stat(jpath, &st) == 0 && st.st_size > 8 * 4096 && st.st_size % 4096 == 0);
	for (pass = 0; pass < 2; pass++) {
		char name[32];

		snprintf(name, sizeof(name), "copy%d.db", pass);
		path_in(copy, sizeof(copy), dir, name);
		snprintf(jcopy, sizeof(jcopy), "%s-journal", copy);
		CHECK(file_copy(path, copy) && file_copy(jpath, jcopy));
		if (pass == 1)
			CHECK(flip_bit(jcopy, 2 * 4096 + 77, 6));
		cw_vfs_clear_failure(v);
		db2 = db_reopen(copy, v);
		if (pass == 0) {
			CHECK(query_int(db2, "SELECT sum(length(body)) + count(*) FROM t", &sum) ==
			      SQLITE_OK);
			CHECK(sum == sum0);
			CHECK(integrity_ok(db2));
			CHECK(!file_exists(jcopy));
		} else {
			CHECK(is_data_error(query_int(db2, "SELECT count(*) FROM t", &n)));
			snprintf(name, sizeof(name), "%s", "copy1.db-journal block 2");
			CHECK(cw_vfs_failure(v) && strcmp(cw_vfs_failure(v), name) == 0);
		}
		sqlite3_close(db2);
	}
	CHECK(exec(db, "ROLLBACK") == SQLITE_OK);
	sqlite3_close(db);
	cw_vfs_free(v);
}

const cw_test cw_tests[] = { { "round trip, WAL", test_round_trip_wal },
	                     { "round trip, rollback journal", test_round_trip_delete },
	                     { "unique names, key length", test_names_are_unique },
	                     { "refuses a database without reserved bytes", test_refuses_without_reserve },
	                     { "no plaintext on disk", test_no_plaintext_on_disk },
	                     { "sqlite3 shell refuses the file", test_sqlite3_shell_refuses },
	                     { "wrong key fails on page 1", test_wrong_key },
	                     { "every bit of a page", test_every_bit_of_a_page },
	                     { "swapped pages", test_swapped_pages },
	                     { "truncated mid-page", test_truncated_mid_page },
	                     { "WAL frame and header flips", test_wal_frame_flip },
	                     { "WAL torn tail", test_wal_torn_tail },
	                     { "WAL frame format, checkpoint copies pages", test_wal_format_and_checkpoint },
	                     { "WAL frames, headers and pages mixed up", test_wal_mixups },
	                     { "WAL written by a second connection", test_wal_second_writer },
	                     { "WAL frame flipped under the connection that wrote it",
	                       test_wal_flip_under_writer },
	                     { "hot journal, and a flipped journal block", test_hot_journal },
	                     CW_TESTS_END };
