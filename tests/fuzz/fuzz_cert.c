/* tests/fuzz/fuzz_cert.c - what `org enroll` and `org join` read from files
 * people send: the text armour, enrolment requests, certificates and the
 * enrolment package around a certificate and a roster. */
#include "crypto/armor.h"
#include "crypto/cert.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_all(const uint8_t *data, size_t size)
{
	cw_request req;
	cw_cert cert;
	cw_roster *r = NULL;
	const uint8_t *c, *ro;
	size_t cl, rl;

	if (cw_request_parse(&req, data, size) == 0 && req.name[0] == '\0')
		abort(); /* a parsed request always has a name */
	if (cw_cert_parse(&cert, data, size) == 0 && cert.name[0] == '\0')
		abort();
	if (cw_enrolment_split(&c, &cl, &ro, &rl, data, size) == 0) {
		if (cw_cert_parse(&cert, c, cl) == 0 && cert.device_id[0] == '\0')
			abort();
		if (cw_roster_parse(&r, ro, rl) == 0)
			cw_roster_free(r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int started;
	cw_buf b = CW_BUF_INIT;

	if (!started) {
		cw_secret_startup();
		started = 1;
	}
	parse_all(data, size);
	if (cw_armor_decode(&b, "cert", data, size) == 0)
		parse_all(b.data, b.len);
	b.len = 0;
	if (cw_armor_decode(&b, "request", data, size) == 0)
		parse_all(b.data, b.len);
	cw_buf_dispose(&b);
	return 0;
}
