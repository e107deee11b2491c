/* tests/fuzz/fuzz_roster.c - the roster travels with every enrolment and
 * every sync; its parser takes bytes from anyone. */
#include "crypto/cert.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int started;
	cw_roster *r = NULL;
	size_t i;

	if (!started) {
		cw_secret_startup();
		started = 1;
	}
	if (cw_roster_parse(&r, data, size) != 0)
		return 0;
	for (i = 0; i < cw_roster_count(r); i++)
		(void)cw_roster_find(r, cw_roster_cert(r, i)->sign_pk);
	cw_roster_free(r);
	return 0;
}
