/*
 * tests/fuzz/fuzz_handoff.c - a handoff package comes from outside (e-mail,
 * USB stick) and its parser takes bytes from anyone.
 *
 * The first byte chooses the layer: 0 the whole package opened with a fixed
 * doctor's key (seed of 7s: header, seal, records, head, signature; nothing
 * is written), 1 and 2 the record parser alone over a plain stream
 * (u32 length + record, repeated) of a handoff or a reply, so the fuzzer
 * reaches the head, entry and order checks without forging a seal. Any input
 * must give CW_OK, CW_EINVALID or CW_EVERIFY. Seeds: tests/node/test_handoff.c,
 * CW_WRITE_HANDOFF_CORPUS.
 */
#include "node/handoff.h"
#include "util/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static cw_keys *doctor;
	cw_handoff_info info;
	int rc;

	if (doctor == NULL) {
		cw_secret *seed = NULL;

		if (cw_secret_startup() < 0 || cw_secret_new(&seed, CW_SEED_BYTES) < 0)
			abort();
		memset(cw_secret_bytes(seed), 7, CW_SEED_BYTES);
		if (cw_keys_from_seed(&doctor, seed) < 0)
			abort();
		cw_secret_free(seed);
	}
	if (size < 1)
		return 0;
	switch (data[0]) {
	case 0:
		rc = cw_handoff_open_mem(&info, data + 1, size - 1, doctor);
		if (rc == CW_OK && (info.ndocs > CW_HANDOFF_MAX_ENTRIES || info.agency[0] == '\0'))
			abort();
		break;
	case 1:
	case 2:
		rc = cw_handoff__parse_plain(data + 1, size - 1, data[0] == 2);
		break;
	default:
		return 0;
	}
	if (rc != CW_OK && rc != CW_EINVALID && rc != CW_EVERIFY)
		abort();
	return 0;
}
