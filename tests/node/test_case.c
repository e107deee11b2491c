/*
 * tests/node/test_case.c - case membership: sharing a case with a device is
 * a member item in the signed change log, named by the case and the device,
 * so it converges on every node like any other field.
 */
#include "harness.h"
#include "node/agenda.h"
#include "node/case.h"
#include "node/check.h"
#include "node/oplog.h"
#include "node/store_internal.h"
#include "util/error.h"
#include "util/file.h"

#include <stdio.h>
#include <stdlib.h>

#define MAXOPS 64

static cw_store *fresh_store(void)
{
	cw_store *st = NULL;
	cw_secret *k = NULL;
	char *path = cw_path_join(cw_test_tmpdir(), "s.db");

	cw_secret_random(&k, 32);
	if (cw_store_open(&st, path, k, CW_STORE_CREATE) != CW_OK)
		fprintf(stderr, "store: %s\n", cw_error_last());
	cw_secret_free(k);
	free(path);
	return st;
}

static int64_t count_of(cw_store *st, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	int64_t n = -1;

	sqlite3_prepare_v2(cw_store__db(st), sql, -1, &stmt, NULL);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return n;
}

/* Every op of a into b (in a's arrival order, a causal order), then flush. */
static int copy_ops(cw_store *b, cw_store *a, const cw_keyring *kr)
{
	sqlite3_stmt *stmt = NULL;
	int added, rc = 0;

	if (cw_store_begin(b) < 0)
		return -1;
	sqlite3_prepare_v2(cw_store__db(a), "SELECT bytes FROM ops ORDER BY n", -1, &stmt, NULL);
	while (rc == 0 && sqlite3_step(stmt) == SQLITE_ROW)
		if (cw_oplog_ingest(&added, b, kr, sqlite3_column_blob(stmt, 0),
		                    (size_t)sqlite3_column_bytes(stmt, 0)) < 0) {
			fprintf(stderr, "ingest: %s\n", cw_error_last());
			rc = -1;
		}
	sqlite3_finalize(stmt);
	if (rc < 0 || cw_oplog_flush(b) < 0) {
		cw_store_rollback(b);
		return -1;
	}
	return cw_store_commit(b) < 0 ? -1 : 0;
}

static void sync_pair(cw_store *a, cw_store *b, const cw_keyring *kr)
{
	CHECK(copy_ops(b, a, kr) == 0);
	CHECK(copy_ops(a, b, kr) == 0);
}

/* The documented id, computed here on its own. */
static void expected_member_id(uint8_t out[CW_ID_BYTES], const uint8_t case_id[CW_ID_BYTES], const char *dev)
{
	uint8_t in[9 + CW_ID_BYTES + CW_DEVICE_ID_LEN], h[CW_HASH_BYTES];

	memcpy(in, "cw-member", 9);
	memcpy(in + 9, case_id, CW_ID_BYTES);
	memcpy(in + 9 + CW_ID_BYTES, dev, CW_DEVICE_ID_LEN);
	cw_keys_hash(h, in, sizeof(in));
	memcpy(out, h, CW_ID_BYTES);
}

/* The member items of the case (removed ones too), first in *first. */
static size_t member_items(cw_store *st, const uint8_t case_id[CW_ID_BYTES], cw_view_entity *first,
                           int *removed_out)
{
	cw_case_view *v = NULL;
	size_t i, n = 0;

	if (cw_case_load(&v, st, case_id) != CW_OK)
		return 0;
	for (i = 0; i < v->nentities; i++) {
		if (v->entities[i].kind != CW_KIND_MEMBER)
			continue;
		if (n++ == 0) {
			if (first) {
				memcpy(first->id, v->entities[i].id, CW_ID_BYTES);
				memcpy(first->hex, v->entities[i].hex, sizeof(first->hex));
			}
			if (removed_out)
				*removed_out = v->entities[i].removed;
		}
	}
	cw_case_view_free(v);
	return n;
}

static const char *D1 = "00c0ffee00c0ffee", *D2 = "0123456789abcdef", *D3 = "fedcba9876543210";

static void test_share_once(void)
{
	cw_keys *k = NULL;
	cw_store *st = fresh_store();
	uint8_t case_id[CW_ID_BYTES], want[CW_ID_BYTES], before[CW_HASH_BYTES], after[CW_HASH_BYTES];
	cw_kv kv = { "name", "Maria Schmidt" };
	cw_view_entity e;
	cw_case_view *v = NULL;
	int added = -1, removed = -1;
	int64_t ops;

	CHECK_OK(cw_keys_generate(&k));
	CHECK_OK(cw_case_create(case_id, st, k, &kv, 1));
	CHECK_OK(cw_case_share(&added, st, k, case_id, "0123456789ABCDEF", "Acibadem Maslak", "clinic"));
	CHECK(added == 1);
	/* the item is named by the case and the device (lower-cased) */
	expected_member_id(want, case_id, D2);
	CHECK(member_items(st, case_id, &e, &removed) == 1);
	CHECK(memcmp(e.id, want, CW_ID_BYTES) == 0);
	CHECK(removed == 0);
	CHECK_OK(cw_case_load(&v, st, case_id));
	if (v) {
		size_t i;

		for (i = 0; i < v->nentities; i++)
			if (v->entities[i].kind == CW_KIND_MEMBER) {
				const cw_view_entity *m = &v->entities[i];

				CHECK(strcmp(cw_view_get(m, "device"), D2) == 0);
				CHECK(strcmp(cw_view_get(m, "name"), "Acibadem Maslak") == 0);
				CHECK(strcmp(cw_view_get(m, "role"), "clinic") == 0);
			}
	}
	cw_case_view_free(v);
	/* again, in either case, with other or no details: nothing written */
	ops = count_of(st, "SELECT count(*) FROM ops");
	CHECK_OK(cw_oplog_digest(before, st, NULL));
	CHECK_OK(cw_case_share(&added, st, k, case_id, D2, NULL, NULL));
	CHECK(added == 0);
	CHECK_OK(cw_case_share(&added, st, k, case_id, "0123456789abcDEF", "Another name", "hub"));
	CHECK(added == 0);
	CHECK(count_of(st, "SELECT count(*) FROM ops") == ops);
	CHECK_OK(cw_oplog_digest(after, st, NULL));
	CHECK(memcmp(before, after, CW_HASH_BYTES) == 0);
	CHECK(member_items(st, case_id, NULL, NULL) == 1);
	/* the log, re-read from the ops alone, gives the same state */
	CHECK_OK(cw_oplog_rebuild(st));
	CHECK_OK(cw_oplog_digest(after, st, NULL));
	CHECK(memcmp(before, after, CW_HASH_BYTES) == 0);
	cw_store_free(st);
	cw_keys_free(k);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_members_sorted(void)
{
	cw_keys *k = NULL;
	cw_store *st = fresh_store();
	uint8_t case_id[CW_ID_BYTES], other[CW_ID_BYTES], item[CW_ID_BYTES];
	cw_kv kv = { "name", "Ahmed Khan" }, kv2 = { "name", "Lena Petrova" };
	char(*m)[CW_DEVICE_ID_LEN + 1] = NULL;
	size_t n = 99;
	int added;

	CHECK_OK(cw_keys_generate(&k));
	CHECK_OK(cw_case_create(case_id, st, k, &kv, 1));
	CHECK_OK(cw_case_create(other, st, k, &kv2, 1));
	CHECK_OK(cw_case_members(&m, &n, st, case_id));
	CHECK(n == 0 && m == NULL);
	CHECK_OK(cw_case_share(&added, st, k, case_id, D3, NULL, "hub"));
	CHECK_OK(cw_case_share(&added, st, k, case_id, cw_keys_id(k), "Selin (coordinator)", "coordinator"));
	CHECK_OK(cw_case_share(&added, st, k, case_id, D1, "Dr. Aydin", "doctor"));
	CHECK_OK(cw_case_share(&added, st, k, case_id, D2, NULL, NULL));
	CHECK_OK(cw_case_share(&added, st, k, other, D2, NULL, NULL));
	CHECK_OK(cw_case_members(&m, &n, st, case_id));
	CHECK(n == 4);
	if (m && n == 4) {
		const char *want[4];
		size_t i;

		want[0] = D1, want[1] = D2, want[2] = D3, want[3] = cw_keys_id(k);
		qsort(want, 4, sizeof(want[0]), str_cmp);
		for (i = 0; i < n; i++)
			CHECK(strcmp(m[i], want[i]) == 0);
	}
	free(m);
	m = NULL;
	/* a removed member is not listed; the other case keeps its own */
	expected_member_id(item, case_id, D2);
	CHECK_OK(cw_case_remove(st, k, case_id, item));
	CHECK_OK(cw_case_members(&m, &n, st, case_id));
	CHECK(n == 3);
	if (m && n == 3) {
		size_t i;

		for (i = 0; i < n; i++)
			CHECK(strcmp(m[i], D2) != 0);
	}
	free(m);
	m = NULL;
	CHECK_OK(cw_case_members(&m, &n, st, other));
	CHECK(n == 1 && m && strcmp(m[0], D2) == 0);
	free(m);
	cw_store_free(st);
	cw_keys_free(k);
}

static void test_refused(void)
{
	static const char *const bad_devices[] = {
		"",
		"0123456789abcde",
		"0123456789abcdef0",
		"0123456789abcdeg",
		" 0123456789abcde",
		"0123456789abcde ",
		"0123456789-bcdef",
		"ünicode12345678",
	};
	cw_keys *k = NULL;
	cw_store *st = fresh_store();
	uint8_t case_id[CW_ID_BYTES], nowhere[CW_ID_BYTES], item[CW_ID_BYTES];
	uint8_t before[CW_HASH_BYTES], after[CW_HASH_BYTES];
	cw_kv kv = { "name", "Sofia Rossi" }, dev = { "device", "0123456789abcdef" },
	      nm = { "name", "Clinic" };
	int added;
	int64_t ops;
	size_t i;

	CHECK_OK(cw_keys_generate(&k));
	CHECK_OK(cw_case_create(case_id, st, k, &kv, 1));
	CHECK_OK(cw_oplog_digest(before, st, NULL));
	ops = count_of(st, "SELECT count(*) FROM ops");
	for (i = 0; i < sizeof(bad_devices) / sizeof(bad_devices[0]); i++) {
		added = -1;
		CHECK_CODE(cw_case_share(&added, st, k, case_id, bad_devices[i], "Clinic", "clinic"),
		           CW_EINVALID);
		CHECK(strcmp(cw_error_last(), "device must be a 16-character device id") == 0);
		CHECK(added == 0);
	}
	CHECK_CODE(cw_case_share(&added, st, k, case_id, NULL, NULL, NULL), CW_EINVALID);
	CHECK_CODE(cw_case_share(&added, st, k, case_id, D1, NULL, "nurse"), CW_EINVALID);
	CHECK(strstr(cw_error_last(), "role") != NULL);
	CHECK_CODE(cw_case_share(&added, st, k, case_id, D1, "", NULL), CW_EINVALID);
	CHECK(strstr(cw_error_last(), "name") != NULL);
	CHECK_CODE(cw_case_share(&added, st, k, case_id, D1, "two\nlines", NULL), CW_EINVALID);
	/* a case this node does not hold */
	memset(nowhere, 0x5a, sizeof(nowhere));
	CHECK_CODE(cw_case_share(&added, st, k, nowhere, D1, NULL, NULL), CW_ENOTFOUND);
	/* members come only through cw_case_share */
	CHECK_CODE(cw_case_add(NULL, st, k, case_id, CW_KIND_MEMBER, &dev, 1), CW_EINVALID);
	CHECK(count_of(st, "SELECT count(*) FROM ops") == ops);
	CHECK_OK(cw_oplog_digest(after, st, NULL));
	CHECK(memcmp(before, after, CW_HASH_BYTES) == 0);
	/* a member's name and role can change, its device cannot */
	CHECK_OK(cw_case_share(&added, st, k, case_id, D1, NULL, NULL));
	expected_member_id(item, case_id, D1);
	CHECK_CODE(cw_case_update(st, k, case_id, item, &dev, 1), CW_EINVALID);
	CHECK(strstr(cw_error_last(), "device") != NULL);
	CHECK_OK(cw_case_update(st, k, case_id, item, &nm, 1));
	cw_store_free(st);
	cw_keys_free(k);
}

static void test_concurrent_share_converges(void)
{
	cw_keys *ka = NULL, *kb = NULL;
	cw_store *a = fresh_store(), *b = fresh_store();
	cw_keyring kr = { 0, NULL, NULL };
	uint8_t case_id[CW_ID_BYTES], da[CW_HASH_BYTES], db[CW_HASH_BYTES], want[CW_ID_BYTES];
	cw_kv kv = { "name", "Ahmed Khan" };
	cw_view_entity ea, eb;
	char(*m)[CW_DEVICE_ID_LEN + 1] = NULL;
	size_t n = 0;
	int added, removed = -1;
	cw_case_view *v = NULL;

	CHECK_OK(cw_keys_generate(&ka));
	CHECK_OK(cw_keys_generate(&kb));
	CHECK_OK(cw_keyring_add(&kr, cw_keys_sign_pk(ka)));
	CHECK_OK(cw_keyring_add(&kr, cw_keys_sign_pk(kb)));
	CHECK_OK(cw_case_create(case_id, a, ka, &kv, 1));
	sync_pair(a, b, &kr);
	/* both share with the same clinic before hearing of each other */
	CHECK_OK(cw_case_share(&added, a, ka, case_id, D2, "Acibadem Maslak", "clinic"));
	CHECK(added == 1);
	CHECK_OK(cw_case_share(&added, b, kb, case_id, "0123456789ABCDEF", "Acibadem Maslak", "clinic"));
	CHECK(added == 1);
	/* and with two more, one each, the second with differing names */
	CHECK_OK(cw_case_share(&added, a, ka, case_id, D1, NULL, "doctor"));
	CHECK_OK(cw_case_share(&added, b, kb, case_id, D3, "Istanbul hub", "hub"));
	sync_pair(a, b, &kr);
	CHECK(count_of(a, "SELECT count(*) FROM ops") == 5);
	CHECK_OK(cw_oplog_digest(da, a, case_id));
	CHECK_OK(cw_oplog_digest(db, b, case_id));
	CHECK(memcmp(da, db, CW_HASH_BYTES) == 0);
	CHECK(member_items(a, case_id, &ea, &removed) == 3);
	CHECK(removed == 0);
	CHECK(member_items(b, case_id, &eb, NULL) == 3);
	CHECK_OK(cw_case_members(&m, &n, a, case_id));
	CHECK(n == 3 && m && strcmp(m[0], D1) == 0 && strcmp(m[1], D2) == 0 && strcmp(m[2], D3) == 0);
	free(m);
	m = NULL;
	CHECK_OK(cw_case_members(&m, &n, b, case_id));
	CHECK(n == 3);
	free(m);
	m = NULL;
	/* the same values written twice are no conflict */
	CHECK(count_of(a, "SELECT count(*) FROM conflicts") == 0);
	expected_member_id(want, case_id, D2);
	CHECK_OK(cw_case_load(&v, b, case_id));
	if (v) {
		size_t i, found = 0;

		for (i = 0; i < v->nentities; i++)
			found += memcmp(v->entities[i].id, want, CW_ID_BYTES) == 0;
		CHECK(found == 1);
	}
	cw_case_view_free(v);
	v = NULL;
	/* both now know it: sharing again is a no-op on either node */
	CHECK_OK(cw_case_share(&added, a, ka, case_id, D2, NULL, NULL));
	CHECK(added == 0);
	CHECK_OK(cw_case_share(&added, b, kb, case_id, D2, NULL, NULL));
	CHECK(added == 0);
	/* concurrent shares with differing names: one item, a conflict on the name, same digests */
	{
		static const char *const D4 = "4444444444444444";

		CHECK_OK(cw_case_share(&added, a, ka, case_id, D4, "Dr. Aydin", "doctor"));
		CHECK_OK(cw_case_share(&added, b, kb, case_id, D4, "Dr. M. Aydin", "doctor"));
		sync_pair(a, b, &kr);
		CHECK_OK(cw_oplog_digest(da, a, case_id));
		CHECK_OK(cw_oplog_digest(db, b, case_id));
		CHECK(memcmp(da, db, CW_HASH_BYTES) == 0);
		CHECK(member_items(a, case_id, NULL, NULL) == 4);
		CHECK(count_of(a, "SELECT count(*) FROM conflicts WHERE name='name'") == 1);
		CHECK(count_of(b, "SELECT count(*) FROM conflicts WHERE name='name'") == 1);
	}
	cw_store_free(a);
	cw_store_free(b);
	cw_keys_free(ka);
	cw_keys_free(kb);
	cw_keyring_dispose(&kr);
}

static void test_share_after_remove(void)
{
	cw_keys *ka = NULL, *kb = NULL;
	cw_store *a = fresh_store(), *b = fresh_store(), *c = fresh_store();
	cw_keyring kr = { 0, NULL, NULL };
	uint8_t case_id[CW_ID_BYTES], item[CW_ID_BYTES], da[CW_HASH_BYTES], db[CW_HASH_BYTES];
	cw_kv kv = { "name", "Lena Petrova" };
	char(*m)[CW_DEVICE_ID_LEN + 1] = NULL;
	size_t n = 0;
	int added, removed = -1;

	CHECK_OK(cw_keys_generate(&ka));
	CHECK_OK(cw_keys_generate(&kb));
	CHECK_OK(cw_keyring_add(&kr, cw_keys_sign_pk(ka)));
	CHECK_OK(cw_keyring_add(&kr, cw_keys_sign_pk(kb)));
	CHECK_OK(cw_case_create(case_id, a, ka, &kv, 1));
	CHECK_OK(cw_case_share(&added, a, ka, case_id, D2, "Acibadem Maslak", "clinic"));
	expected_member_id(item, case_id, D2);
	/* unshare, then share again on the same node */
	CHECK_OK(cw_case_remove(a, ka, case_id, item));
	CHECK(member_items(a, case_id, NULL, &removed) == 1 && removed == 1);
	CHECK_OK(cw_case_members(&m, &n, a, case_id));
	CHECK(n == 0);
	free(m);
	m = NULL;
	CHECK_OK(cw_case_share(&added, a, ka, case_id, D2, NULL, "hub"));
	CHECK(added == 1);
	CHECK(member_items(a, case_id, NULL, &removed) == 1 && removed == 0);
	CHECK_OK(cw_case_members(&m, &n, a, case_id));
	CHECK(n == 1 && m && strcmp(m[0], D2) == 0);
	free(m);
	m = NULL;
	/* another node, given the ops, agrees; so does a rebuild */
	sync_pair(a, b, &kr);
	CHECK_OK(cw_oplog_digest(da, a, case_id));
	CHECK_OK(cw_oplog_digest(db, b, case_id));
	CHECK(memcmp(da, db, CW_HASH_BYTES) == 0);
	CHECK_OK(cw_oplog_rebuild(b));
	CHECK_OK(cw_oplog_digest(db, b, case_id));
	CHECK(memcmp(da, db, CW_HASH_BYTES) == 0);
	/* b unshares, a re-shares after hearing of it: shared on both */
	CHECK_OK(cw_case_remove(b, kb, case_id, item));
	sync_pair(a, b, &kr);
	CHECK(member_items(a, case_id, NULL, &removed) == 1 && removed == 1);
	CHECK_OK(cw_case_share(&added, a, ka, case_id, D2, NULL, NULL));
	CHECK(added == 1);
	sync_pair(a, b, &kr);
	CHECK(member_items(b, case_id, NULL, &removed) == 1 && removed == 0);
	/* b unshares; a, not having heard, finds it shared and writes nothing: unshared on both */
	CHECK_OK(cw_case_remove(b, kb, case_id, item));
	CHECK_OK(cw_case_share(&added, a, ka, case_id, D2, NULL, NULL));
	CHECK(added == 0);
	sync_pair(a, b, &kr);
	CHECK(member_items(a, case_id, NULL, &removed) == 1 && removed == 1);
	/* shared again, then a removal racing an edit of the member: the edit wins (add wins) */
	CHECK_OK(cw_case_share(&added, a, ka, case_id, D2, NULL, NULL));
	CHECK(added == 1);
	sync_pair(a, b, &kr);
	CHECK_OK(cw_case_remove(b, kb, case_id, item));
	CHECK_OK(cw_case_update(a, ka, case_id, item, &(cw_kv){ "name", "Maslak clinic" }, 1));
	sync_pair(a, b, &kr);
	CHECK(member_items(b, case_id, NULL, &removed) == 1 && removed == 0);
	CHECK_OK(cw_oplog_digest(da, a, case_id));
	CHECK_OK(cw_oplog_digest(db, b, case_id));
	CHECK(memcmp(da, db, CW_HASH_BYTES) == 0);
	/* a third node taking every op at once agrees */
	CHECK(copy_ops(c, a, &kr) == 0);
	CHECK_OK(cw_oplog_digest(db, c, case_id));
	CHECK(memcmp(da, db, CW_HASH_BYTES) == 0);
	CHECK_OK(cw_case_members(&m, &n, c, case_id));
	CHECK(n == 1 && m && strcmp(m[0], D2) == 0);
	free(m);
	cw_store_free(a);
	cw_store_free(b);
	cw_store_free(c);
	cw_keys_free(ka);
	cw_keys_free(kb);
	cw_keyring_dispose(&kr);
}

static int count_case(const cw_case_summary *s, void *ctx)
{
	(void)s;
	(*(int *)ctx)++;
	return CW_OK;
}

static int count_agenda(const cw_agenda_item *it, void *ctx)
{
	(void)it;
	(*(int *)ctx)++;
	return CW_OK;
}

/* Member items are no search hits, agenda entries or warnings. */
static void test_members_stay_quiet(void)
{
	cw_keys *k = NULL;
	cw_store *st = fresh_store();
	uint8_t case_id[CW_ID_BYTES];
	cw_kv kv[] = { { "name", "Maria Schmidt" }, { "stage", "booked" } };
	cw_kv task[] = { { "text", "Call the hotel" }, { "due", "2030-03-01" } };
	cw_check_settings cs;
	cw_warning *w = NULL;
	cw_case_view *v = NULL;
	size_t nw_before = 0, nw_after = 0, i;
	int hits, agenda_before = 0, agenda_after = 0, added;

	CHECK_OK(cw_keys_generate(&k));
	CHECK_OK(cw_case_create(case_id, st, k, kv, 2));
	CHECK_OK(cw_case_add(NULL, st, k, case_id, CW_KIND_TASK, task, 2));
	cw_check_defaults(&cs, 1900000000);
	CHECK_OK(cw_case_load(&v, st, case_id));
	if (v)
		CHECK_OK(cw_check_case(&w, &nw_before, v, &cs));
	free(w);
	w = NULL;
	cw_case_view_free(v);
	v = NULL;
	CHECK_OK(cw_agenda_list(st, 0, INT64_MAX, count_agenda, &agenda_before));

	CHECK_OK(cw_case_share(&added, st, k, case_id, D1, "Zeynepklinik", "clinic"));
	hits = 0;
	CHECK_OK(cw_case_list(st, NULL, "Zeynepklinik", count_case, &hits));
	CHECK(hits == 0);
	hits = 0;
	CHECK_OK(cw_case_list(st, NULL, "Schmidt", count_case, &hits));
	CHECK(hits == 1);
	CHECK_OK(cw_agenda_list(st, 0, INT64_MAX, count_agenda, &agenda_after));
	CHECK(agenda_after == agenda_before && agenda_before == 1);
	CHECK(count_of(st, "SELECT count(*) FROM times t JOIN entities e ON e.case_id=t.case_id"
	                   " AND e.entity=t.entity WHERE e.kind=13") == 0);
	CHECK_OK(cw_case_load(&v, st, case_id));
	if (v) {
		CHECK_OK(cw_check_case(&w, &nw_after, v, &cs));
		CHECK(nw_after == nw_before);
		for (i = 0; i < nw_after; i++) {
			size_t j, e;

			for (j = 0; j < w[i].nitems; j++)
				for (e = 0; e < v->nentities; e++)
					if (v->entities[e].kind == CW_KIND_MEMBER)
						CHECK(strcmp(w[i].items[j], v->entities[e].hex) != 0);
		}
	}
	free(w);
	cw_case_view_free(v);
	cw_store_free(st);
	cw_keys_free(k);
}

const cw_test cw_tests[] = {
	{ "sharing twice writes once", test_share_once },
	{ "members are listed sorted, removed ones left out", test_members_sorted },
	{ "bad device ids and details are refused, nothing written", test_refused },
	{ "two nodes sharing concurrently converge to one member", test_concurrent_share_converges },
	{ "a removed member is shared again", test_share_after_remove },
	{ "members make no search hits, agenda entries or warnings", test_members_stay_quiet },
	CW_TESTS_END
};
