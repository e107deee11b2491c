/*
 * tests/fuzz/fuzz_manifest.c - the manifest of a sync bundle, read from
 * whatever another machine sent (sync/manifest.h, cw_manifest_parse).
 *
 * Any input must give CW_OK or CW_EINVALID with a one-line message; on
 * failure the output is zeroed; what parses keeps every rule and is
 * canonical: cw_manifest_format writes the input back byte for byte (so two
 * different texts never parse the same). Seeds: valid manifests of several
 * shapes and near-misses.
 */
#include "sync/manifest.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cw_manifest m;
	cw_buf again = CW_BUF_INIT;
	size_t i;
	int rc;

	memset(&m, 0xa5, sizeof(m));
	rc = cw_manifest_parse(&m, (const char *)data, size);
	if (rc != CW_OK) {
		if (rc != CW_EINVALID || !all_zero(&m, sizeof(m)) || strchr(cw_error_last(), '\n') != NULL)
			abort();
		cw_manifest_dispose(&m);
		return 0;
	}
	if (m.seq < 1 || m.part < 1 || m.part > m.parts || m.parts > CW_MANIFEST_MAX_PARTS || m.time < 0 ||
	    m.nrefs > CW_MANIFEST_MAX_REFS || m.nhave > CW_MANIFEST_MAX_REFS || strcmp(m.from, m.to) == 0)
		abort();
	for (i = 0; i < m.nrefs; i++)
		if (!cw_manifest_ref_valid(m.refs[i].name) ||
		    (i > 0 && strcmp(m.refs[i - 1].name, m.refs[i].name) >= 0))
			abort();
	for (i = 0; i < m.nhave; i++)
		if (!cw_manifest_ref_valid(m.have[i].name) ||
		    (i > 0 && strcmp(m.have[i - 1].name, m.have[i].name) >= 0))
			abort();
	if (cw_manifest_format(&again, &m) != CW_OK || again.len != size ||
	    memcmp(again.data, data, size) != 0)
		abort();
	cw_buf_dispose(&again);
	cw_manifest_dispose(&m);
	cw_manifest_dispose(&m); /* idempotent */
	if (!all_zero(&m, sizeof(m)))
		abort();
	return 0;
}
