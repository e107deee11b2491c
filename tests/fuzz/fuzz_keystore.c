/*
 * tests/fuzz/fuzz_keystore.c - the keystore parser on hostile bytes (a key
 * file from a disk that may be damaged or tampered with).
 *
 * Every input must give CW_OK or CW_EVERIFY from cw_keystore_parse. Only a
 * keystore at the cheapest accepted cost is opened (with the passphrase
 * "fuzz", the one the seed corpus was made with: tests/crypto/
 * test_keystore.c, CW_WRITE_KEYSTORE_CORPUS), so the fuzzer never runs the
 * KDF with big limits; opening must then give keys, CW_ELOCKED or
 * CW_EVERIFY.
 */
#include "crypto/keystore.h"
#include "util/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int started;
	cw_keystore_info info, info2;
	cw_keys *k = NULL;
	int rc;

	if (!started) {
		if (cw_secret_startup() < 0)
			abort();
		started = 1;
	}
	rc = cw_keystore_parse(&info, data, size);
	if (rc != CW_OK) {
		if (rc != CW_EVERIFY)
			abort();
		return 0;
	}
	if (size != CW_KEYSTORE_SIZE || info.kind < CW_KEYSTORE_DEVICE || info.kind > CW_KEYSTORE_DOCTOR ||
	    info.cost.opslimit < CW_KDF_OPS_MIN || info.cost.opslimit > CW_KDF_OPS_MAX ||
	    info.cost.memlimit < CW_KDF_MEM_MIN || info.cost.memlimit > CW_KDF_MEM_MAX)
		abort();
	if (info.cost.opslimit != CW_KDF_OPS_MIN || info.cost.memlimit != CW_KDF_MEM_MIN)
		return 0;
	rc = cw_keystore_open(&k, &info2, data, size, "fuzz", 4, "fuzz");
	if (rc == CW_OK) {
		if (k == NULL || memcmp(cw_keys_sign_pk(k), info.sign_pk, CW_PK_BYTES) != 0 ||
		    info2.kind != info.kind)
			abort();
		cw_keys_free(k);
	} else if ((rc != CW_ELOCKED && rc != CW_EVERIFY) || k != NULL) {
		abort();
	}
	return 0;
}
