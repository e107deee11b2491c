/* tests/fuzz/fuzz_seal.c - sealed boxes arrive in bundles and handoffs. */
#include "crypto/seal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cw_secret *key;
	static cw_keys *keys;
	cw_buf out = CW_BUF_INIT;
	cw_secret *s = NULL;

	if (key == NULL) {
		cw_secret_startup();
		if (cw_secret_new(&key, 32) < 0)
			abort();
		memset(cw_secret_bytes(key), 7, 32);
		if (cw_keys_from_seed(&keys, key) < 0)
			abort();
	}
	if (cw_seal_open(&out, key, "fuzz", 4, data, size) == 0 && out.len + CW_SEAL_BOX_OVERHEAD != size)
		abort();
	if (cw_seal_unseal(&s, keys, data, size) == 0)
		cw_secret_free(s);
	cw_buf_dispose(&out);
	return 0;
}
