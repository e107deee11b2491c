/*
 * tests/fuzz/fuzz_sshsig.c - what sync/ reads from other people's commits:
 * armoured SSH signatures and signed git commit text.
 *
 * The bytes are tried as an armoured signature over a fixed message
 * (namespace "git"), as a signed commit, and as an unsigned commit to sign
 * with a fixed key. Any input must give a clean code; a signature that
 * verifies must not verify another message; a commit we sign must verify as
 * ours. Seeds: tests/crypto/test_sshsig.c with CW_WRITE_SSHSIG_CORPUS=DIR.
 */
#include "crypto/sshsig.h"
#include "util/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The message the seed signatures sign (test_sshsig.c uses the same). */
static const char message[] = "caseway sshsig fuzz message\n";

static void check_code(int rc)
{
	if (rc != CW_OK && rc != CW_EINVALID && rc != CW_EVERIFY)
		abort();
}

static cw_keys *fixed_keys(void)
{
	cw_secret *seed = NULL;
	cw_keys *k = NULL;

	if (cw_secret_new(&seed, CW_SEED_BYTES) < 0)
		abort();
	memset(cw_secret_bytes(seed), 7, CW_SEED_BYTES);
	if (cw_keys_from_seed(&k, seed) < 0)
		abort();
	cw_secret_free(seed);
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cw_keys *k;
	uint8_t pk[CW_PK_BYTES], pk2[CW_PK_BYTES];
	cw_buf signed_commit = CW_BUF_INIT;
	int rc;

	if (k == NULL) {
		if (cw_secret_startup() < 0)
			abort();
		k = fixed_keys();
	}
	check_code(
	    rc = cw_sshsig_verify(pk, data, size, "git", (const uint8_t *)message, sizeof(message) - 1));
	if (rc == CW_OK && cw_sshsig_verify(pk2, data, size, "git", (const uint8_t *)message,
	                                    sizeof(message) - 2) != CW_EVERIFY)
		abort();
	check_code(cw_sshsig_verify_commit(pk, (const char *)data, size));
	check_code(rc = cw_sshsig_sign_commit(&signed_commit, k, (const char *)data, size));
	if (rc == CW_OK) {
		if (cw_sshsig_verify_commit(pk, (const char *)signed_commit.data, signed_commit.len) !=
		        CW_OK ||
		    memcmp(pk, cw_keys_sign_pk(k), CW_PK_BYTES) != 0)
			abort();
	}
	cw_buf_dispose(&signed_commit);
	return 0;
}
