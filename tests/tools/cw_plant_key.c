/* tests/tools/cw_plant_key.c - an attacker's move for tests: a device that
 * was removed from a case puts a key generation of its own choosing into
 * its own store, so that what it writes next is sealed under that key and
 * carries grants of it to everyone (tests/scenario/revoke.sh checks that no
 * other node takes such a key).
 * Usage: cw_plant_key HOME CASE GENERATION   (passphrase in $CASEWAY_PASSPHRASE) */
#include "crypto/secret.h"
#include "node/home.h"
#include "node/store_internal.h"
#include "util/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *pass = getenv("CASEWAY_PASSPHRASE");
	cw_home *h = NULL;
	char sql[256];
	int rc = 1;

	if (argc != 4 || pass == NULL || strlen(argv[2]) != 32 || strspn(argv[2], "0123456789abcdef") != 32 ||
	    strspn(argv[3], "0123456789") != strlen(argv[3])) {
		fprintf(stderr, "usage: CASEWAY_PASSPHRASE=... cw_plant_key HOME CASE GENERATION\n");
		return 2;
	}
	if (cw_secret_startup() < 0 || cw_home_open(&h, argv[1], pass, strlen(pass)) < 0) {
		fprintf(stderr, "cw_plant_key: %s\n", cw_error_last());
		goto done;
	}
	snprintf(sql, sizeof(sql),
	         "INSERT INTO case_keys(case_id, generation, key) VALUES(x'%s', %s, x'%064d')", argv[2],
	         argv[3], 41);
	if (cw_store__exec(cw_home_store(h), sql) < 0) {
		fprintf(stderr, "cw_plant_key: %s\n", cw_error_last());
		goto done;
	}
	rc = 0;
done:
	cw_home_free(h);
	return rc;
}
