/* crypto/secret.c - guarded secrets and process hardening. */
#define _GNU_SOURCE
#include "secret.h"
#include "../util/error.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

struct cw_secret {
	size_t len;
	uint8_t *data; /* sodium_malloc'd */
};

int cw_secret_startup(void)
{
	static int started;
	struct rlimit no_core = { 0, 0 };

	if (started)
		return CW_OK;
	if (sodium_init() < 0)
		return cw_error(CW_ERROR, "cannot initialise the cryptography library");
	setrlimit(RLIMIT_CORE, &no_core);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	started = 1;
	return CW_OK;
}

int cw_secret_new(cw_secret **out, size_t len)
{
	cw_secret *s = NULL;
	int error = CW_OK;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->data = sodium_malloc(len ? len : 1)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	s->len = len;
	sodium_memzero(s->data, len ? len : 1);
	*out = s;
	s = NULL;
done:
	cw_secret_free(s);
	return error;
}

int cw_secret_random(cw_secret **out, size_t len)
{
	int error;

	if ((error = cw_secret_new(out, len)) < 0)
		return error;
	randombytes_buf((*out)->data, len);
	return CW_OK;
}

int cw_secret_from(cw_secret **out, const void *data, size_t len)
{
	int error;

	if ((error = cw_secret_new(out, len)) < 0)
		return error;
	memcpy((*out)->data, data, len);
	return CW_OK;
}

const uint8_t *cw_secret_data(const cw_secret *s)
{
	return s->data;
}

uint8_t *cw_secret_bytes(cw_secret *s)
{
	return s->data;
}

size_t cw_secret_len(const cw_secret *s)
{
	return s->len;
}

int cw_secret_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

void cw_secret_random_bytes(void *p, size_t len)
{
	randombytes_buf(p, len);
}

void cw_secret_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

void cw_secret_free(cw_secret *s)
{
	if (s == NULL)
		return;
	if (s->data)
		sodium_free(s->data); /* wipes before freeing */
	free(s);
}
