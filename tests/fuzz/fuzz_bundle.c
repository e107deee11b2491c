/*
 * tests/fuzz/fuzz_bundle.c - the header of a git bundle, the first thing
 * read from a file another machine sent (sync/bundle.h).
 *
 * Any input must give CW_OK or CW_EINVALID; what parses must hold what the
 * parser promises (at least one ref, names under refs/, 40 lower-case hex
 * ids, the pack offset just past a blank line within the input), and the
 * header alone, cut at the pack offset, must parse the same. Seeds: headers
 * of bundles written by cw_bundle_write and stock `git bundle create`, with
 * a few bytes of their packs, and broken variants.
 */
#include "sync/bundle.h"
#include "util/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int lower_hex40(const char *s)
{
	size_t i;

	for (i = 0; i < 40; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[40] == '\0';
}

static void check_header(const cw_bundle_header *h, size_t size)
{
	size_t i;

	if (h->nrefs == 0 || h->nrefs > CW_BUNDLE_MAX_REFS || h->nprereqs > CW_BUNDLE_MAX_REFS ||
	    h->refs == NULL || h->pack_offset < 18 || h->pack_offset > size)
		abort();
	for (i = 0; i < h->nrefs; i++) {
		size_t len = strnlen(h->refs[i].name, sizeof(h->refs[i].name));

		if (len == sizeof(h->refs[i].name) || strncmp(h->refs[i].name, "refs/", 5) != 0 ||
		    strstr(h->refs[i].name, "..") != NULL || !lower_hex40(h->refs[i].oid))
			abort();
	}
	for (i = 0; i < h->nprereqs; i++)
		if (!lower_hex40(h->prereqs[i]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cw_bundle_header h, again;
	size_t i;
	int rc;

	rc = cw_bundle_parse_header(&h, data, size);
	if (rc != CW_OK) {
		if (rc != CW_EINVALID || h.refs != NULL || h.prereqs != NULL || h.nrefs || h.nprereqs)
			abort();
		return 0;
	}
	check_header(&h, size);
	if (data[h.pack_offset - 1] != '\n' || data[h.pack_offset - 2] != '\n')
		abort();
	if (cw_bundle_parse_header(&again, data, (size_t)h.pack_offset) != CW_OK || again.nrefs != h.nrefs ||
	    again.nprereqs != h.nprereqs || again.pack_offset != h.pack_offset)
		abort();
	for (i = 0; i < h.nrefs; i++)
		if (strcmp(again.refs[i].name, h.refs[i].name) != 0 ||
		    strcmp(again.refs[i].oid, h.refs[i].oid) != 0)
			abort();
	for (i = 0; i < h.nprereqs; i++)
		if (strcmp(again.prereqs[i], h.prereqs[i]) != 0)
			abort();
	cw_bundle_header_dispose(&again);
	cw_bundle_header_dispose(&h);
	return 0;
}
