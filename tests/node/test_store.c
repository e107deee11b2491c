/* tests/node/test_store.c - the store: create, migrate, meta, verify, damage. */
#include "harness.h"
#include "node/store_internal.h"
#include "util/error.h"
#include "util/file.h"

#include <stdio.h>
#include <stdlib.h>

static cw_secret *key_of(uint8_t fill)
{
	cw_secret *k = NULL;

	if (cw_secret_new(&k, 32) == CW_OK)
		memset(cw_secret_bytes(k), fill, 32);
	return k;
}

static char *store_path(void)
{
	return cw_path_join(cw_test_tmpdir(), "store.db");
}

static void test_create_and_reopen(void)
{
	cw_secret *key = key_of(7);
	char *path = store_path();
	cw_store *st = NULL;
	cw_buf v = CW_BUF_INIT;

	CHECK_CODE(cw_store_open(&st, path, key, 0), CW_ENOTFOUND);
	CHECK_OK(cw_store_open(&st, path, key, CW_STORE_CREATE));
	CHECK(cw_store_schema_version(st) == CW_STORE_SCHEMA_VERSION);
	CHECK_CODE(cw_store_meta_get(st, "nothing", &v), CW_ENOTFOUND);
	CHECK_OK(cw_store_meta_set(st, "greeting", "hello", 5));
	CHECK_OK(cw_store_meta_set(st, "greeting", "hello again", 11));
	cw_store_free(st);
	st = NULL;
	CHECK_OK(cw_store_open(&st, path, key, 0));
	CHECK_OK(cw_store_meta_get(st, "greeting", &v));
	CHECK(v.len == 11 && memcmp(v.data, "hello again", 11) == 0);
	cw_store_free(st);
	cw_buf_dispose(&v);
	cw_secret_free(key);
	free(path);
}

static void test_transactions(void)
{
	cw_secret *key = key_of(8);
	char *path = store_path();
	cw_store *st = NULL;
	cw_buf v = CW_BUF_INIT;

	CHECK_OK(cw_store_open(&st, path, key, CW_STORE_CREATE));
	CHECK_OK(cw_store_begin(st));
	CHECK_OK(cw_store_meta_set(st, "a", "1", 1));
	cw_store_rollback(st);
	CHECK_CODE(cw_store_meta_get(st, "a", &v), CW_ENOTFOUND);
	CHECK_OK(cw_store_begin(st));
	CHECK_OK(cw_store_meta_set(st, "a", "2", 1));
	CHECK_OK(cw_store_commit(st));
	CHECK_OK(cw_store_meta_get(st, "a", &v));
	CHECK(v.len == 1 && v.data[0] == '2');
	cw_store_free(st);
	cw_buf_dispose(&v);
	cw_secret_free(key);
	free(path);
}

static void test_roster_history_append_only(void)
{
	cw_secret *key = key_of(9);
	char *path = store_path();
	cw_store *st = NULL;

	CHECK_OK(cw_store_open(&st, path, key, CW_STORE_CREATE));
	CHECK_OK(cw_store__exec(st, "INSERT INTO roster VALUES(1, x'00', x'01', 0)"));
	CHECK_CODE(cw_store__exec(st, "UPDATE roster SET bytes=x'02'"), CW_EINVALID);
	CHECK(strstr(cw_error_last(), "append-only") != NULL);
	CHECK_CODE(cw_store__exec(st, "DELETE FROM roster"), CW_EINVALID);
	cw_store_free(st);
	cw_secret_free(key);
	free(path);
}

static void test_verify_and_wrong_key(void)
{
	cw_secret *key = key_of(10), *other = key_of(11);
	char *path = store_path();
	cw_store *st = NULL;
	cw_store_report rep;
	char big[3000];
	int i;

	memset(big, 'x', sizeof(big));
	CHECK_OK(cw_store_open(&st, path, key, CW_STORE_CREATE));
	for (i = 0; i < 50; i++) {
		char k[16];

		snprintf(k, sizeof(k), "k%d", i);
		CHECK_OK(cw_store_meta_set(st, k, big, sizeof(big)));
	}
	CHECK_OK(cw_store_verify(st, &rep));
	CHECK(rep.pages + rep.wal_frames > 20);
	CHECK(rep.schema_version == CW_STORE_SCHEMA_VERSION);
	cw_store_free(st);
	st = NULL;
	CHECK_CODE(cw_store_open(&st, path, other, 0), CW_EVERIFY);
	CHECK(strstr(cw_error_last(), "store.db page 1") != NULL);
	CHECK(st == NULL);
	cw_store_free(st);
	cw_secret_free(key);
	cw_secret_free(other);
	free(path);
}

static void test_newer_schema_refused(void)
{
	cw_secret *key = key_of(12);
	char *path = store_path();
	cw_store *st = NULL;

	CHECK_OK(cw_store_open(&st, path, key, CW_STORE_CREATE));
	CHECK_OK(cw_store__exec(st, "INSERT INTO schema_version VALUES(999, 0)"));
	cw_store_free(st);
	st = NULL;
	CHECK_CODE(cw_store_open(&st, path, key, 0), CW_ERROR);
	CHECK(strstr(cw_error_last(), "newer caseway") != NULL);
	cw_secret_free(key);
	free(path);
}

static void test_flipped_page_named(void)
{
	cw_secret *key = key_of(13);
	char *path = store_path();
	cw_store *st = NULL;
	cw_store_report rep;
	char big[3000];
	FILE *f;
	int i, c;

	memset(big, 'y', sizeof(big));
	CHECK_OK(cw_store_open(&st, path, key, CW_STORE_CREATE));
	for (i = 0; i < 20; i++) {
		char k[16];

		snprintf(k, sizeof(k), "k%d", i);
		CHECK_OK(cw_store_meta_set(st, k, big, sizeof(big)));
	}
	cw_store_free(st);
	st = NULL;
	/* flip one bit in page 4 */
	f = fopen(path, "r+b");
	CHECK(f != NULL);
	if (f == NULL)
		goto done;
	fseek(f, 3 * 4096 + 100, SEEK_SET);
	c = fgetc(f);
	fseek(f, 3 * 4096 + 100, SEEK_SET);
	fputc(c ^ 0x10, f);
	fclose(f);
	CHECK_OK(cw_store_open(&st, path, key, 0));
	if (st) {
		CHECK_CODE(cw_store_verify(st, &rep), CW_EVERIFY);
		CHECK(strstr(cw_error_last(), "store.db page 4") != NULL);
	}
done:
	cw_store_free(st);
	cw_secret_free(key);
	free(path);
}

const cw_test cw_tests[] = { { "create and reopen", test_create_and_reopen },
	                     { "transactions", test_transactions },
	                     { "roster history is append-only", test_roster_history_append_only },
	                     { "verify, wrong key", test_verify_and_wrong_key },
	                     { "newer schema refused", test_newer_schema_refused },
	                     { "flipped page named", test_flipped_page_named },
	                     CW_TESTS_END };
