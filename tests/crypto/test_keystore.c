/*
 * tests/crypto/test_keystore.c - sealing the seed under a passphrase: round
 * trip, the wrong passphrase, every bit flip, truncation, limits out of range
 * (refused before the KDF), kinds.
 *
 * Tests use the cheapest accepted KDF cost so they stay fast. With
 * CW_WRITE_KEYSTORE_CORPUS=DIR set, also writes the seed corpus of
 * tests/fuzz/fuzz_keystore.c into DIR (passphrase "fuzz", cheapest cost).
 */
#include "harness.h"
#include "crypto/keystore.h"
#include "util/error.h"
#include "util/file.h"

#include <stdlib.h>

#define OFF_VERSION 4
#define OFF_KIND 5
#define OFF_KDF 6
#define OFF_OPS 8
#define OFF_MEM 16
#define OFF_CHECKSUM 144

static const cw_kdf_cost cheap = { CW_KDF_OPS_MIN, CW_KDF_MEM_MIN };

/* What an attacker (not a disk) does: fix the checksum after an edit. */
static void fix_checksum(uint8_t *ks)
{
	cw_keys_hash(ks + OFF_CHECKSUM, ks, OFF_CHECKSUM);
}

static void test_round_trip(void)
{
	cw_keys *k = NULL, *back = NULL;
	cw_buf ks = CW_BUF_INIT, again = CW_BUF_INIT;
	cw_keystore_info info;
	cw_keystore_kind kind;

	CHECK_OK(cw_keys_generate(&k));
	for (kind = CW_KEYSTORE_DEVICE; kind <= CW_KEYSTORE_DOCTOR; kind++) {
		ks.len = 0;
		memset(&info, 0, sizeof(info));
		CHECK_OK(cw_keystore_seal(&ks, kind, k, "pass phrase", 11, &cheap));
		CHECK(ks.len == CW_KEYSTORE_SIZE);
		CHECK(memcmp(ks.data, "CWKS\x01", 5) == 0 && ks.data[OFF_KIND] == kind);
		CHECK_OK(cw_keystore_parse(&info, ks.data, ks.len));
		CHECK(info.kind == kind && info.cost.opslimit == cheap.opslimit &&
		      info.cost.memlimit == cheap.memlimit);
		CHECK(memcmp(info.sign_pk, cw_keys_sign_pk(k), CW_PK_BYTES) == 0);
		memset(&info, 0, sizeof(info));
		CHECK_OK(cw_keystore_open(&back, &info, ks.data, ks.len, "pass phrase", 11, "home"));
		CHECK(info.kind == kind);
		CHECK(back && cw_secret_equal(cw_secret_data(cw_keys_seed(back)),
		                              cw_secret_data(cw_keys_seed(k)), CW_SEED_BYTES));
		CHECK(back && memcmp(cw_keys_box_pk(back), cw_keys_box_pk(k), CW_PK_BYTES) == 0);
		CHECK(back && strcmp(cw_keys_id(back), cw_keys_id(k)) == 0);
		cw_keys_free(back);
		back = NULL;
	}
	/* a fresh salt and nonce every time */
	CHECK_OK(cw_keystore_seal(&again, CW_KEYSTORE_DOCTOR, k, "pass phrase", 11, &cheap));
	CHECK(memcmp(again.data + 24, ks.data + 24, 40) != 0);
	/* sealing appends; info_out may be NULL; a passphrase may hold any bytes */
	CHECK_OK(cw_keystore_seal(&again, CW_KEYSTORE_DEVICE, k, "a\0b", 3, &cheap));
	CHECK(again.len == 2 * CW_KEYSTORE_SIZE);
	CHECK_OK(
	    cw_keystore_open(&back, NULL, again.data + CW_KEYSTORE_SIZE, CW_KEYSTORE_SIZE, "a\0b", 3, NULL));
	cw_keys_free(back);
	back = NULL;
	CHECK_CODE(
	    cw_keystore_open(&back, NULL, again.data + CW_KEYSTORE_SIZE, CW_KEYSTORE_SIZE, "a", 1, NULL),
	    CW_ELOCKED);
	cw_keys_free(k);
	cw_buf_dispose(&ks);
	cw_buf_dispose(&again);
}

static void test_wrong_passphrase(void)
{
	cw_keys *k = NULL, *back = NULL;
	cw_buf ks = CW_BUF_INIT;
	cw_keystore_info info;

	CHECK_OK(cw_keys_generate(&k));
	CHECK_OK(cw_keystore_seal(&ks, CW_KEYSTORE_ORG, k, "right", 5, &cheap));
	memset(&info, 0xa5, sizeof(info));
	CHECK_CODE(cw_keystore_open(&back, &info, ks.data, ks.len, "wrong", 5, "/home/ana/.caseway"),
	           CW_ELOCKED);
	CHECK(strcmp(cw_error_last(), "wrong passphrase for /home/ana/.caseway") == 0);
	CHECK(back == NULL);
	CHECK(info.cost.opslimit != cheap.opslimit); /* untouched on failure */
	CHECK_CODE(cw_keystore_open(&back, NULL, ks.data, ks.len, "", 0, "x"), CW_ELOCKED);
	CHECK_CODE(cw_keystore_open(&back, NULL, ks.data, ks.len, "righ", 4, "x"), CW_ELOCKED);
	CHECK_CODE(cw_keystore_open(&back, NULL, ks.data, ks.len, "right ", 6, "x"), CW_ELOCKED);
	CHECK(back == NULL);
	cw_keys_free(k);
	cw_buf_dispose(&ks);
}

/* Every bit of every byte flipped in turn: never opens, never crashes. The
 * checksum catches all of them, without the KDF. */
static void test_every_bit_flip(void)
{
	cw_keys *k = NULL, *back = NULL;
	cw_buf ks = CW_BUF_INIT;
	size_t i;
	int bit, bad = 0;

	CHECK_OK(cw_keys_generate(&k));
	CHECK_OK(cw_keystore_seal(&ks, CW_KEYSTORE_DEVICE, k, "p", 1, &cheap));
	for (i = 0; i < ks.len; i++) {
		for (bit = 0; bit < 8; bit++) {
			cw_keystore_info info;
			int rc;

			ks.data[i] ^= (uint8_t)(1 << bit);
			rc = cw_keystore_parse(&info, ks.data, ks.len);
			bad += rc != CW_EVERIFY;
			rc = cw_keystore_open(&back, NULL, ks.data, ks.len, "p", 1, "/n");
			bad += rc != CW_EVERIFY || back != NULL;
			if (strncmp(cw_error_last(), "/n: keystore is damaged (", 25) != 0)
				bad++;
			ks.data[i] ^= (uint8_t)(1 << bit);
		}
	}
	CHECK(bad == 0);
	CHECK_OK(cw_keystore_open(&back, NULL, ks.data, ks.len, "p", 1, "/n"));
	cw_keys_free(back);
	cw_keys_free(k);
	cw_buf_dispose(&ks);
}

/* A change to any byte before the checksum, with the checksum fixed up:
 * damage (header) or a tag that fails (ELOCKED), never keys. Limits that
 * stay in range but cost more are skipped so the test stays fast. */
static void test_every_byte_tampered(void)
{
	cw_keys *k = NULL, *back = NULL;
	cw_buf ks = CW_BUF_INIT;
	uint8_t orig[CW_KEYSTORE_SIZE];
	size_t i;
	int bad = 0, locked = 0, damaged = 0;

	CHECK_OK(cw_keys_generate(&k));
	CHECK_OK(cw_keystore_seal(&ks, CW_KEYSTORE_DEVICE, k, "p", 1, &cheap));
	memcpy(orig, ks.data, sizeof(orig));
	for (i = 0; i < OFF_CHECKSUM; i++) {
		cw_keystore_info info;
		int rc;

		memcpy(ks.data, orig, sizeof(orig));
		ks.data[i] ^= (uint8_t)(1u << (i % 8));
		fix_checksum(ks.data);
		rc = cw_keystore_parse(&info, ks.data, ks.len);
		if (rc == CW_OK && (info.cost.opslimit > 4 || info.cost.memlimit > (uint64_t)24 << 20))
			continue;
		rc = cw_keystore_open(&back, NULL, ks.data, ks.len, "p", 1, "x");
		bad += !(rc == CW_EVERIFY || rc == CW_ELOCKED) || back != NULL;
		locked += rc == CW_ELOCKED;
		damaged += rc == CW_EVERIFY;
		cw_keys_free(back);
		back = NULL;
	}
	CHECK(bad == 0);
	CHECK(locked > 100 && damaged > 5);
	cw_keys_free(k);
	cw_buf_dispose(&ks);
}

static void test_truncation_and_size(void)
{
	cw_keys *k = NULL, *back = NULL;
	cw_buf ks = CW_BUF_INIT;
	cw_keystore_info info;
	size_t n;

	CHECK_OK(cw_keys_generate(&k));
	CHECK_OK(cw_keystore_seal(&ks, CW_KEYSTORE_DEVICE, k, "p", 1, &cheap));
	for (n = 0; n < ks.len; n++) {
		CHECK_CODE(cw_keystore_parse(&info, ks.data, n), CW_EVERIFY);
		CHECK_CODE(cw_keystore_open(&back, NULL, ks.data, n, "p", 1, "x"), CW_EVERIFY);
	}
	CHECK_OK(cw_buf_put_u8(&ks, 0));
	CHECK_CODE(cw_keystore_open(&back, NULL, ks.data, ks.len, "p", 1, "/h"), CW_EVERIFY);
	CHECK(strcmp(cw_error_last(), "/h: keystore is damaged (it is 177 bytes, not 176)") == 0);
	CHECK_CODE(cw_keystore_parse(&info, NULL, 0), CW_EVERIFY);
	CHECK(back == NULL);
	cw_keys_free(k);
	cw_buf_dispose(&ks);
}

/* Limits out of range, even with a good checksum, are damage and are refused
 * before any KDF work (cw_keystore_parse runs first in cw_keystore_open and
 * does no KDF; a 1 TiB or 2^40-pass Argon2 would not come back). */
static void test_limits(void)
{
	static const cw_kdf_cost bad_costs[] = {
		{ 0, (uint64_t)8 << 20 },
		{ CW_KDF_OPS_MAX + 1, (uint64_t)8 << 20 },
		{ (uint64_t)1 << 40, (uint64_t)8 << 20 },
		{ 1, CW_KDF_MEM_MIN - 1 },
		{ 1, CW_KDF_MEM_MAX + 1 },
		{ 1, (uint64_t)1 << 40 },
		{ 1, UINT64_MAX },
		{ UINT64_MAX, UINT64_MAX },
	};
	cw_keys *k = NULL, *back = NULL;
	cw_buf ks = CW_BUF_INIT, none = CW_BUF_INIT;
	cw_keystore_info info;
	size_t i;

	CHECK_OK(cw_keys_generate(&k));
	CHECK_OK(cw_keystore_seal(&ks, CW_KEYSTORE_DEVICE, k, "p", 1, &cheap));
	for (i = 0; i < sizeof(bad_costs) / sizeof(bad_costs[0]); i++) {
		CHECK_CODE(cw_keystore_seal(&none, CW_KEYSTORE_DEVICE, k, "p", 1, &bad_costs[i]),
		           CW_EINVALID);
		cw_store64(ks.data + OFF_OPS, bad_costs[i].opslimit);
		cw_store64(ks.data + OFF_MEM, bad_costs[i].memlimit);
		fix_checksum(ks.data);
		CHECK_CODE(cw_keystore_parse(&info, ks.data, ks.len), CW_EVERIFY);
		CHECK_CODE(cw_keystore_open(&back, NULL, ks.data, ks.len, "p", 1, "/home/x"), CW_EVERIFY);
		CHECK(strcmp(cw_error_last(), "/home/x: keystore is damaged (bad key-derivation limits)") ==
		      0);
	}
	CHECK(none.len == 0 && back == NULL);
	/* the bounds themselves are accepted by the parser */
	cw_store64(ks.data + OFF_OPS, CW_KDF_OPS_MAX);
	cw_store64(ks.data + OFF_MEM, CW_KDF_MEM_MAX);
	fix_checksum(ks.data);
	CHECK_OK(cw_keystore_parse(&info, ks.data, ks.len));
	CHECK(info.cost.opslimit == CW_KDF_OPS_MAX && info.cost.memlimit == CW_KDF_MEM_MAX);
	CHECK(cw_kdf_default.opslimit == 3 && cw_kdf_default.memlimit == (uint64_t)64 << 20);
	cw_keys_free(k);
	cw_buf_dispose(&ks);
}

static void test_kinds_and_algorithms(void)
{
	cw_keys *k = NULL, *back = NULL;
	cw_buf ks = CW_BUF_INIT, none = CW_BUF_INIT;
	cw_keystore_info info;
	uint8_t orig[CW_KEYSTORE_SIZE];
	static const struct {
		size_t off;
		uint8_t value;
	} edits[] = {
		{ OFF_KIND, 0 },    { OFF_KIND, 4 },    { OFF_KIND, 255 },  { OFF_KDF, 0 },
		{ OFF_KDF, 2 },     { OFF_KDF + 1, 0 }, { OFF_KDF + 1, 2 }, { OFF_VERSION, 0 },
		{ OFF_VERSION, 2 }, { 0, 'X' },
	};
	size_t i;

	CHECK_OK(cw_keys_generate(&k));
	CHECK_CODE(cw_keystore_seal(&none, (cw_keystore_kind)0, k, "p", 1, &cheap), CW_EINVALID);
	CHECK_CODE(cw_keystore_seal(&none, (cw_keystore_kind)4, k, "p", 1, &cheap), CW_EINVALID);
	CHECK(none.len == 0);
	CHECK_OK(cw_keystore_seal(&ks, CW_KEYSTORE_DEVICE, k, "p", 1, &cheap));
	memcpy(orig, ks.data, sizeof(orig));
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		memcpy(ks.data, orig, sizeof(orig));
		ks.data[edits[i].off] = edits[i].value;
		fix_checksum(ks.data);
		CHECK_CODE(cw_keystore_parse(&info, ks.data, ks.len), CW_EVERIFY);
		CHECK_CODE(cw_keystore_open(&back, NULL, ks.data, ks.len, "p", 1, "L"), CW_EVERIFY);
		CHECK(strncmp(cw_error_last(), "L: keystore is damaged (", 24) == 0);
	}
	CHECK(back == NULL);
	cw_keys_free(k);
	cw_buf_dispose(&ks);
}

/* CW_WRITE_KEYSTORE_CORPUS=DIR: seeds for fuzz_keystore (passphrase "fuzz"). */
static void test_write_corpus(void)
{
	const char *dir = getenv("CW_WRITE_KEYSTORE_CORPUS");
	cw_keys *k = NULL;
	cw_buf ks = CW_BUF_INIT;
	char path[1024];
	const cw_kdf_cost costly = { 2, (uint64_t)16 << 20 };

	if (dir == NULL)
		return;
	CHECK_OK(cw_keys_generate(&k));
	CHECK_OK(cw_keystore_seal(&ks, CW_KEYSTORE_DEVICE, k, "fuzz", 4, &cheap));
	snprintf(path, sizeof(path), "%s/device", dir);
	CHECK_OK(cw_file_write_atomic(path, ks.data, ks.len, 0644, 0));
	ks.len = 0;
	CHECK_OK(cw_keystore_seal(&ks, CW_KEYSTORE_ORG, k, "not the fuzz passphrase", 23, &cheap));
	snprintf(path, sizeof(path), "%s/org-other-passphrase", dir);
	CHECK_OK(cw_file_write_atomic(path, ks.data, ks.len, 0644, 0));
	ks.data[100] ^= 1;
	fix_checksum(ks.data);
	snprintf(path, sizeof(path), "%s/tampered", dir);
	CHECK_OK(cw_file_write_atomic(path, ks.data, ks.len, 0644, 0));
	ks.data[100] ^= 1;
	ks.data[101] ^= 1;
	snprintf(path, sizeof(path), "%s/flipped", dir);
	CHECK_OK(cw_file_write_atomic(path, ks.data, ks.len, 0644, 0));
	snprintf(path, sizeof(path), "%s/short", dir);
	CHECK_OK(cw_file_write_atomic(path, ks.data, 100, 0644, 0));
	ks.len = 0;
	CHECK_OK(cw_keystore_seal(&ks, CW_KEYSTORE_DOCTOR, k, "fuzz", 4, &costly));
	snprintf(path, sizeof(path), "%s/doctor-costly", dir);
	CHECK_OK(cw_file_write_atomic(path, ks.data, ks.len, 0644, 0));
	cw_store64(ks.data + OFF_MEM, (uint64_t)1 << 40);
	fix_checksum(ks.data);
	snprintf(path, sizeof(path), "%s/huge-limits", dir);
	CHECK_OK(cw_file_write_atomic(path, ks.data, ks.len, 0644, 0));
	printf("  wrote the keystore corpus to %s\n", dir);
	cw_keys_free(k);
	cw_buf_dispose(&ks);
}

const cw_test cw_tests[] = { { "round trip", test_round_trip },
	                     { "wrong passphrase", test_wrong_passphrase },
	                     { "every bit flip", test_every_bit_flip },
	                     { "every byte tampered", test_every_byte_tampered },
	                     { "truncation and size", test_truncation_and_size },
	                     { "limits", test_limits },
	                     { "kinds and algorithms", test_kinds_and_algorithms },
	                     { "write corpus", test_write_corpus },
	                     CW_TESTS_END };
