/* tests/crypto/test_keystore.c - sealing the seed under a passphrase. */
#include "harness.h"
#include "crypto/keystore.h"
#include "util/error.h"

static const cw_kdf_cost cheap = { 1, (uint64_t)8 << 20 };

static void test_round_trip(void)
{
	cw_keys *k = NULL, *back = NULL;
	cw_buf ks = CW_BUF_INIT;
	cw_keystore_info info;

	CHECK_OK(cw_keys_generate(&k));
	CHECK_OK(cw_keystore_seal(&ks, CW_KEYSTORE_DEVICE, k, "pass phrase", 11, &cheap));
	CHECK(ks.len == CW_KEYSTORE_SIZE);
	CHECK_OK(cw_keystore_parse(&info, ks.data, ks.len));
	CHECK(info.kind == CW_KEYSTORE_DEVICE && info.cost.opslimit == 1);
	CHECK(memcmp(info.sign_pk, cw_keys_sign_pk(k), CW_PK_BYTES) == 0);
	CHECK_OK(cw_keystore_open(&back, &info, ks.data, ks.len, "pass phrase", 11, "home"));
	CHECK(back && memcmp(cw_keys_box_pk(back), cw_keys_box_pk(k), CW_PK_BYTES) == 0);
	CHECK(back && strcmp(cw_keys_id(back), cw_keys_id(k)) == 0);
	cw_keys_free(back);
	cw_keys_free(k);
	cw_buf_dispose(&ks);
}

static void test_wrong_passphrase(void)
{
	cw_keys *k = NULL, *back = NULL;
	cw_buf ks = CW_BUF_INIT;

	CHECK_OK(cw_keys_generate(&k));
	CHECK_OK(cw_keystore_seal(&ks, CW_KEYSTORE_ORG, k, "right", 5, &cheap));
	CHECK_CODE(cw_keystore_open(&back, NULL, ks.data, ks.len, "wrong", 5, "/home/ana"), CW_ELOCKED);
	CHECK(strcmp(cw_error_last(), "wrong passphrase for /home/ana") == 0);
	CHECK(back == NULL);
	CHECK_CODE(cw_keystore_open(&back, NULL, ks.data, ks.len, "", 0, "x"), CW_ELOCKED);
	cw_keys_free(k);
	cw_buf_dispose(&ks);
}

/* Every bit of every byte flipped in turn: never opens, never crashes. The
 * checksum catches all of them before the KDF runs. */
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
			if (rc != CW_EVERIFY)
				bad++;
			ks.data[i] ^= (uint8_t)(1 << bit);
		}
	}
	CHECK(bad == 0);
	/* a flip with the checksum recomputed (an attacker): the seal refuses */
	ks.data[100] ^= 1;
	{
		uint8_t sum[CW_HASH_BYTES];

		cw_keys_hash(sum, ks.data, 144);
		memcpy(ks.data + 144, sum, sizeof(sum));
	}
	CHECK_CODE(cw_keystore_open(&back, NULL, ks.data, ks.len, "p", 1, "x"), CW_ELOCKED);
	cw_keys_free(k);
	cw_buf_dispose(&ks);
}

static void test_truncation_and_limits(void)
{
	cw_keys *k = NULL, *back = NULL;
	cw_buf ks = CW_BUF_INIT;
	cw_keystore_info info;
	cw_kdf_cost huge = { 1, (uint64_t)4 << 30 };
	size_t n;

	CHECK_OK(cw_keys_generate(&k));
	CHECK_CODE(cw_keystore_seal(&ks, CW_KEYSTORE_DEVICE, k, "p", 1, &huge), CW_EINVALID);
	CHECK_OK(cw_keystore_seal(&ks, CW_KEYSTORE_DEVICE, k, "p", 1, &cheap));
	for (n = 0; n < ks.len; n++)
		CHECK_CODE(cw_keystore_parse(&info, ks.data, n), CW_EVERIFY);
	/* limits out of range with a valid checksum: refused before any KDF work */
	cw_store64(ks.data + 16, (uint64_t)64 << 30);
	{
		uint8_t sum[CW_HASH_BYTES];

		cw_keys_hash(sum, ks.data, 144);
		memcpy(ks.data + 144, sum, sizeof(sum));
	}
	CHECK_CODE(cw_keystore_open(&back, NULL, ks.data, ks.len, "p", 1, "x"), CW_EVERIFY);
	CHECK(strstr(cw_error_last(), "limits") != NULL);
	cw_keys_free(k);
	cw_buf_dispose(&ks);
}

const cw_test cw_tests[] = {
	{ "round trip", test_round_trip },
	{ "wrong passphrase", test_wrong_passphrase },
	{ "every bit flip", test_every_bit_flip },
	{ "truncation and limits", test_truncation_and_limits },
	CW_TESTS_END
};
