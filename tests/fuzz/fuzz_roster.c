/*
 * tests/fuzz/fuzz_roster.c - the roster travels with every enrolment and
 * every sync; its parser takes bytes from anyone.
 *
 * Any input must give CW_OK, CW_EINVALID or CW_EVERIFY. A roster that
 * parses must hold what the parser promises: its hash is the hash of the
 * bytes, every entry reparses alone to the same certificate (same hash), carries the
 * roster's org key and is found under its own device key. Seeds:
 * tests/crypto/test_cert.c, CW_WRITE_CERT_CORPUS.
 */
#include "crypto/cert.h"
#include "util/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int started;
	uint8_t h[CW_HASH_BYTES];
	cw_roster *r = NULL;
	size_t i;
	int rc;

	if (!started) {
		if (cw_secret_startup() < 0)
			abort();
		started = 1;
	}
	rc = cw_roster_parse(&r, data, size);
	if (rc != CW_OK) {
		if ((rc != CW_EINVALID && rc != CW_EVERIFY) || r != NULL)
			abort();
		return 0;
	}
	cw_keys_hash(h, data, size);
	if (memcmp(h, cw_roster_hash(r), CW_HASH_BYTES) != 0 || cw_roster_seq(r) == 0)
		abort();
	for (i = 0; i < cw_roster_count(r); i++) {
		const cw_cert *c = cw_roster_cert(r, i);
		const uint8_t *b;
		size_t blen;
		cw_cert again;

		cw_roster_cert_bytes(r, i, &b, &blen);
		if (c == NULL || cw_cert_parse(&again, b, blen) != CW_OK ||
		    memcmp(again.hash, c->hash, CW_HASH_BYTES) != 0 || again.role != c->role ||
		    strcmp(again.name, c->name) != 0 ||
		    memcmp(c->org_pk, cw_roster_org_pk(r), CW_PK_BYTES) != 0 ||
		    cw_roster_find(r, c->sign_pk) != (long)i)
			abort();
	}
	if (cw_roster_cert(r, cw_roster_count(r)) != NULL)
		abort();
	cw_roster_free(r);
	return 0;
}
