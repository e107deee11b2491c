/*
 * tests/fuzz/fuzz_tombstone.c - the message of an erasure tombstone, read
 * from whatever another node or a git hub sent (sync/tombstone.h,
 * cw_tombstone_parse).
 *
 * Any input must give CW_OK or CW_EINVALID with a one-line message; on
 * failure the output is untouched; what parses is canonical:
 * cw_tombstone_format writes the input back byte for byte. Seeds: valid
 * tombstones and near-misses.
 */
#include "sync/tombstone.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cw_erasure e, untouched;
	cw_buf again = CW_BUF_INIT;
	int rc;

	memset(&e, 0xa5, sizeof(e));
	memset(&untouched, 0xa5, sizeof(untouched));
	rc = cw_tombstone_parse(&e, (const char *)data, size);
	if (rc != CW_OK) {
		if (rc != CW_EINVALID || memcmp(&e, &untouched, sizeof(e)) != 0 ||
		    strchr(cw_error_last(), '\n') != NULL)
			abort();
		return 0;
	}
	if (size > CW_TOMBSTONE_MESSAGE_MAX || e.at < 0 || strlen(e.by) != CW_DEVICE_ID_LEN ||
	    !cw_is_lower_hex(e.by, CW_DEVICE_ID_LEN) || e.tombstone[0] != '\0')
		abort();
	if (cw_tombstone_format(&again, e.case_id, e.by, e.at) != CW_OK || again.len != size ||
	    memcmp(again.data, data, size) != 0)
		abort();
	cw_buf_dispose(&again);
	return 0;
}
