/*
 * tests/fuzz/fuzz_docstream.c - the document stream parser on hostile bytes.
 *
 * Decrypts the input as a document stream under a fixed key (00 01 .. 1f,
 * the key the seed corpus was made with: tests/crypto/test_docstream.c,
 * CW_WRITE_DOCSTREAM_CORPUS). Any input must give a clean code; an input
 * that decrypts must decrypt the same way twice.
 */
#include "crypto/docstream.h"
#include "crypto/secret.h"
#include "util/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cw_secret *fixed_key(void)
{
	static cw_secret *key;
	int i;

	if (key == NULL) {
		if (cw_secret_startup() < 0 || cw_secret_new(&key, 32) < 0)
			abort();
		for (i = 0; i < 32; i++)
			cw_secret_bytes(key)[i] = (uint8_t)i;
	}
	return key;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const cw_secret *key = fixed_key();
	uint8_t a1[CW_DOCSTREAM_ADDRESS_BYTES], a2[CW_DOCSTREAM_ADDRESS_BYTES];
	uint64_t n1 = 0, n2 = 0;
	int rc;

	rc = cw_docstream_decrypt_mem(a1, &n1, data, size, key, UINT64_MAX);
	if (rc != CW_OK && rc != CW_EINVALID && rc != CW_EVERIFY)
		abort();
	if (rc == CW_OK) {
		/* a valid stream: deterministic, within its own size, and a cap
		 * one byte below its size refuses it */
		if (cw_docstream_decrypt_mem(a2, &n2, data, size, key, n1) != CW_OK || n1 != n2 ||
		    memcmp(a1, a2, sizeof(a1)) != 0 || n1 > size)
			abort();
		if (n1 > 0 && cw_docstream_decrypt_mem(a2, &n2, data, size, key, n1 - 1) != CW_EVERIFY)
			abort();
	}
	return 0;
}
