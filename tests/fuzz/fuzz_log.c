/*
 * tests/fuzz/fuzz_log.c - the message of a git log commit, read from a
 * repository another machine wrote (sync/log.h, cw_log_parse_message).
 *
 * Any input must give CW_OK or CW_EINVALID; on failure the output is left
 * untouched; what parses has a sane seq range and is canonical: written
 * back from the parsed fields it gives the input byte for byte (so two
 * different messages never parse the same). Seeds: messages written by
 * cw_log_commit (with and without a later key generation) and broken
 * variants.
 */
#include "sync/log.h"
#include "util/buf.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cw_log_message m, sentinel;
	char c[2 * CW_ID_BYTES + 1], a[2 * CW_AUTHOR_BYTES + 1], h[2 * CW_HASH_BYTES + 1];
	char again[CW_LOG_MESSAGE_MAX + 64];
	int rc, n;

	memset(&m, 0xa5, sizeof(m));
	memcpy(&sentinel, &m, sizeof(m));
	rc = cw_log_parse_message(&m, (const char *)data, size);
	if (rc != CW_OK) {
		if (rc != CW_EINVALID || memcmp(&m, &sentinel, sizeof(m)) != 0)
			abort();
		return 0;
	}
	if (m.first < 1 || m.last < m.first || m.last - m.first >= CW_LOG_BATCH_MAX_OPS ||
	    size > CW_LOG_MESSAGE_MAX)
		abort();
	cw_hex_encode(c, m.case_id, CW_ID_BYTES);
	cw_hex_encode(a, m.author, CW_AUTHOR_BYTES);
	cw_hex_encode(h, m.ops_hash, CW_HASH_BYTES);
	n = snprintf(again, sizeof(again),
	             "caseway ops v1\n\ncase: %s\nauthor: %s\nseq: %" PRIu64 "-%" PRIu64
	             "\nops-blake2b: %s\n",
	             c, a, m.first, m.last, h);
	if (m.generation < 1)
		abort();
	if (n > 0 && m.generation > 1)
		n += snprintf(again + n, sizeof(again) - (size_t)n, "key: %" PRIu32 "\n", m.generation);
	if (n < 0 || (size_t)n != size || memcmp(again, data, size) != 0)
		abort();
	return 0;
}
