/* tests/crypto/test_seal.c - sealed boxes and sealing to a device. */
#include "harness.h"
#include "crypto/seal.h"
#include "util/error.h"

static void test_box(void)
{
	cw_secret *key = NULL, *other = NULL;
	cw_buf box = CW_BUF_INIT, back = CW_BUF_INIT;
	const uint8_t msg[] = "three ops for case 3f2a";
	size_t i;
	int bit, opened = 0;

	CHECK_OK(cw_secret_random(&key, 32));
	CHECK_OK(cw_secret_random(&other, 32));
	CHECK_OK(cw_seal_box(&box, key, "case/3f2a", 9, msg, sizeof(msg)));
	CHECK(box.len == sizeof(msg) + CW_SEAL_BOX_OVERHEAD);
	CHECK_OK(cw_seal_open(&back, key, "case/3f2a", 9, box.data, box.len));
	CHECK(back.len == sizeof(msg) && memcmp(back.data, msg, sizeof(msg)) == 0);
	back.len = 0;
	CHECK_CODE(cw_seal_open(&back, other, "case/3f2a", 9, box.data, box.len), CW_EVERIFY);
	CHECK_CODE(cw_seal_open(&back, key, "case/3f2b", 9, box.data, box.len), CW_EVERIFY);
	CHECK(back.len == 0);
	for (i = 0; i < box.len; i++)
		for (bit = 0; bit < 8; bit++) {
			box.data[i] ^= (uint8_t)(1 << bit);
			opened += cw_seal_open(&back, key, "case/3f2a", 9, box.data, box.len) == CW_OK;
			box.data[i] ^= (uint8_t)(1 << bit);
		}
	CHECK(opened == 0);
	for (i = 0; i < box.len; i++)
		CHECK(cw_seal_open(&back, key, "case/3f2a", 9, box.data, i) != CW_OK);
	/* an empty message seals too */
	box.len = 0;
	CHECK_OK(cw_seal_box(&box, key, NULL, 0, (const uint8_t *)"", 0));
	CHECK_OK(cw_seal_open(&back, key, NULL, 0, box.data, box.len));
	CHECK(back.len == 0);
	cw_buf_dispose(&box);
	cw_buf_dispose(&back);
	cw_secret_free(key);
	cw_secret_free(other);
}

static void test_to_device(void)
{
	cw_keys *hub = NULL, *clinic = NULL;
	cw_buf sealed = CW_BUF_INIT;
	cw_secret *case_key = NULL, *back = NULL;
	size_t i;
	int opened = 0;

	CHECK_OK(cw_keys_generate(&hub));
	CHECK_OK(cw_keys_generate(&clinic));
	CHECK_OK(cw_secret_random(&case_key, 32));
	CHECK_OK(cw_seal_to(&sealed, cw_keys_box_pk(hub), cw_secret_data(case_key), 32));
	CHECK(sealed.len == 32 + CW_SEAL_TO_OVERHEAD);
	CHECK_OK(cw_seal_unseal(&back, hub, sealed.data, sealed.len));
	CHECK(back && cw_secret_len(back) == 32 &&
	      cw_secret_equal(cw_secret_data(back), cw_secret_data(case_key), 32));
	cw_secret_free(back);
	back = NULL;
	CHECK_CODE(cw_seal_unseal(&back, clinic, sealed.data, sealed.len), CW_EVERIFY);
	for (i = 0; i < sealed.len; i++) {
		sealed.data[i] ^= 0x80;
		if (cw_seal_unseal(&back, hub, sealed.data, sealed.len) == CW_OK) {
			opened++;
			cw_secret_free(back);
			back = NULL;
		}
		sealed.data[i] ^= 0x80;
	}
	CHECK(opened == 0);
	CHECK_CODE(cw_seal_unseal(&back, hub, sealed.data, 10), CW_EINVALID);
	cw_buf_dispose(&sealed);
	cw_secret_free(case_key);
	cw_keys_free(hub);
	cw_keys_free(clinic);
}

const cw_test cw_tests[] = {
	{ "sealed box", test_box },
	{ "sealed to a device", test_to_device },
	CW_TESTS_END
};
