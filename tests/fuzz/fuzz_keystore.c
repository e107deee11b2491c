/* tests/fuzz/fuzz_keystore.c - the keystore parser takes a file from disk
 * (possibly tampered with). It must refuse bad limits before any KDF work;
 * the target opens only keystores with the cheapest limits. */
#include "crypto/keystore.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int started;
	cw_keystore_info info;
	cw_keys *k = NULL;

	if (!started) {
		cw_secret_startup();
		started = 1;
	}
	if (cw_keystore_parse(&info, data, size) != 0)
		return 0;
	if (info.cost.opslimit == CW_KDF_OPS_MIN && info.cost.memlimit == CW_KDF_MEM_MIN &&
	    cw_keystore_open(&k, &info, data, size, "fuzz", 4, "fuzz") == 0)
		cw_keys_free(k);
	return 0;
}
