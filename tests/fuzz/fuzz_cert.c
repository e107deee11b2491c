/*
 * tests/fuzz/fuzz_cert.c - what `org enroll` and `org join` read from files
 * people send: the text armour, enrolment requests, certificates and the
 * enrolment package around a certificate and a roster.
 *
 * The bytes are tried as each binary format, then decoded as "cert" and
 * "request" armour and tried again. Any input must give a clean code; what
 * parses must hold what the parser promises. Seeds: tests/crypto/
 * test_cert.c, CW_WRITE_CERT_CORPUS.
 */
#include "crypto/armor.h"
#include "crypto/cert.h"
#include "util/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_code(int rc)
{
	if (rc != CW_OK && rc != CW_EINVALID && rc != CW_EVERIFY)
		abort();
}

static void parse_all(const uint8_t *data, size_t size)
{
	uint8_t h[CW_HASH_BYTES];
	cw_request req;
	cw_cert cert;
	cw_roster *r = NULL;
	const uint8_t *c, *ro;
	size_t cl, rl;
	int rc;

	check_code(rc = cw_request_parse(&req, data, size));
	if (rc == CW_OK && (req.name[0] == '\0' || strlen(req.device_id) != CW_DEVICE_ID_LEN ||
	                    req.role < CW_ROLE_COORDINATOR || req.role > CW_ROLE_DOCTOR))
		abort();
	check_code(rc = cw_cert_parse(&cert, data, size));
	if (rc == CW_OK) {
		cw_keys_hash(h, data, size);
		if (cert.name[0] == '\0' || memcmp(h, cert.hash, CW_HASH_BYTES) != 0 ||
		    cert.role < CW_ROLE_COORDINATOR || cert.role > CW_ROLE_DOCTOR)
			abort();
	}
	check_code(rc = cw_enrolment_split(&c, &cl, &ro, &rl, data, size));
	if (rc == CW_OK) {
		if (c < data || c + cl > data + size || ro < data || ro + rl > data + size)
			abort();
		check_code(cw_cert_parse(&cert, c, cl));
		check_code(rc = cw_roster_parse(&r, ro, rl));
		cw_roster_free(r);
	}
}

/* Decode as armour with label; what decodes re-encodes to the same line. */
static void try_armor(const uint8_t *data, size_t size, const char *label)
{
	cw_buf b = CW_BUF_INIT, t = CW_BUF_INIT, back = CW_BUF_INIT;
	int rc;

	check_code(rc = cw_armor_decode(&b, label, data, size));
	if (rc != CW_OK)
		goto done;
	if (cw_armor_encode(&t, label, b.data, b.len) != CW_OK ||
	    cw_armor_decode(&back, label, t.data, t.len) != CW_OK || back.len != b.len ||
	    (b.len && memcmp(back.data, b.data, b.len) != 0))
		abort();
	parse_all(b.data, b.len);
done:
	cw_buf_dispose(&b);
	cw_buf_dispose(&t);
	cw_buf_dispose(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int started;

	if (!started) {
		if (cw_secret_startup() < 0)
			abort();
		started = 1;
	}
	parse_all(data, size);
	try_armor(data, size, "cert");
	try_armor(data, size, "request");
	return 0;
}
