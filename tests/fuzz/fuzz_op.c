/*
 * tests/fuzz/fuzz_op.c - the op decoder takes bytes from other nodes. The
 * input is split at the first 0xff 0xfe 0xfd marker into up to four ops;
 * each is decoded, and those that decode go through the merge rules as one
 * entity's ops, so the merge sees hostile field names, values and vectors.
 */
#include "crypto/secret.h"
#include "node/merge.h"
#include "node/op.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int started;
	static const uint8_t sep[3] = { 0xff, 0xfe, 0xfd };
	cw_op ops[4];
	cw_merge_state st;
	uint8_t pk[CW_PK_BYTES] = { 0 };
	size_t n = 0, start = 0, i;

	if (!started) {
		cw_secret_startup();
		started = 1;
	}
	for (i = 0; i <= size && n < 4; i++) {
		if (i == size || (i + 3 <= size && memcmp(data + i, sep, 3) == 0)) {
			if (cw_op_decode(&ops[n], data + start, i - start) == 0) {
				if (cw_op_verify(&ops[n], data + start, pk) == 0)
					abort(); /* a zero key never verifies anything */
				n++;
			}
			start = i + 3;
			i += 2;
		}
	}
	if (n > 0 && cw_merge_entity(&st, ops, n) == 0)
		cw_merge_dispose(&st);
	return 0;
}
