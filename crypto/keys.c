/* crypto/keys.c - device keys derived from one seed. */
#include "keys.h"
#include "../util/buf.h"
#include "../util/error.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char kdf_context[crypto_kdf_CONTEXTBYTES] = { 'c', 'w', 'd', 'e', 'v', 'i', 'c', 'e' };

struct cw_keys {
	cw_secret *seed;
	cw_secret *sign_sk; /* crypto_sign_SECRETKEYBYTES */
	cw_secret *box_sk;  /* crypto_box_SECRETKEYBYTES */
	uint8_t sign_pk[CW_PK_BYTES];
	uint8_t box_pk[CW_PK_BYTES];
	char id[CW_DEVICE_ID_LEN + 1];
};

static int derive(uint8_t *out, const cw_secret *seed, cw_subkey_id id)
{
	if (crypto_kdf_derive_from_key(out, CW_KEY_BYTES, (uint64_t)id, kdf_context, cw_secret_data(seed)) !=
	    0)
		return cw_error(CW_ERROR, "key derivation failed");
	return CW_OK;
}

int cw_keys_from_seed(cw_keys **out, const cw_secret *seed)
{
	cw_keys *k = NULL;
	cw_secret *sub = NULL;
	int error;

	*out = NULL;
	if (cw_secret_len(seed) != CW_SEED_BYTES) {
		error = cw_error(CW_EINVALID, "a device seed is %d bytes", CW_SEED_BYTES);
		goto done;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if ((error = cw_secret_from(&k->seed, cw_secret_data(seed), CW_SEED_BYTES)) < 0 ||
	    (error = cw_secret_new(&k->sign_sk, crypto_sign_SECRETKEYBYTES)) < 0 ||
	    (error = cw_secret_new(&k->box_sk, crypto_box_SECRETKEYBYTES)) < 0 ||
	    (error = cw_secret_new(&sub, CW_KEY_BYTES)) < 0)
		goto done;
	if ((error = derive(cw_secret_bytes(sub), seed, CW_SUBKEY_SIGN)) < 0)
		goto done;
	crypto_sign_seed_keypair(k->sign_pk, cw_secret_bytes(k->sign_sk), cw_secret_data(sub));
	if ((error = derive(cw_secret_bytes(sub), seed, CW_SUBKEY_BOX)) < 0)
		goto done;
	crypto_box_seed_keypair(k->box_pk, cw_secret_bytes(k->box_sk), cw_secret_data(sub));
	cw_keys_id_of(k->id, k->sign_pk);
	*out = k;
	k = NULL;
done:
	cw_secret_free(sub);
	cw_keys_free(k);
	return error;
}

int cw_keys_generate(cw_keys **out)
{
	cw_secret *seed = NULL;
	int error;

	*out = NULL;
	if ((error = cw_secret_random(&seed, CW_SEED_BYTES)) < 0)
		goto done;
	error = cw_keys_from_seed(out, seed);
done:
	cw_secret_free(seed);
	return error;
}

const cw_secret *cw_keys_seed(const cw_keys *k)
{
	return k->seed;
}

const uint8_t *cw_keys_sign_pk(const cw_keys *k)
{
	return k->sign_pk;
}

const uint8_t *cw_keys_box_pk(const cw_keys *k)
{
	return k->box_pk;
}

const char *cw_keys_id(const cw_keys *k)
{
	return k->id;
}

const cw_secret *cw_keys__box_sk(const cw_keys *k)
{
	return k->box_sk;
}

int cw_keys_subkey(cw_secret **out, const cw_keys *k, cw_subkey_id id)
{
	cw_secret *s = NULL;
	int error;

	*out = NULL;
	if ((error = cw_secret_new(&s, CW_KEY_BYTES)) < 0 ||
	    (error = derive(cw_secret_bytes(s), k->seed, id)) < 0)
		goto done;
	*out = s;
	s = NULL;
done:
	cw_secret_free(s);
	return error;
}

void cw_keys_sign(uint8_t sig[CW_SIG_BYTES], const cw_keys *k, const void *msg, size_t len)
{
	crypto_sign_detached(sig, NULL, msg, len, cw_secret_data(k->sign_sk));
}

int cw_keys_verify(const uint8_t sig[CW_SIG_BYTES], const uint8_t pk[CW_PK_BYTES], const void *msg,
                   size_t len)
{
	if (crypto_sign_verify_detached(sig, msg, len, pk) != 0)
		return CW_EVERIFY;
	return CW_OK;
}

void cw_keys_hash(uint8_t out[CW_HASH_BYTES], const void *data, size_t len)
{
	crypto_generichash(out, CW_HASH_BYTES, data, len, NULL, 0);
}

void cw_keys_id_of(char out[CW_DEVICE_ID_LEN + 1], const uint8_t pk[CW_PK_BYTES])
{
	uint8_t h[CW_HASH_BYTES];

	cw_keys_hash(h, pk, CW_PK_BYTES);
	cw_hex_encode(out, h, CW_DEVICE_ID_LEN / 2);
}

void cw_keys_fingerprint(char out[40], const uint8_t pk[CW_PK_BYTES])
{
	uint8_t h[CW_HASH_BYTES];
	char hex[33];
	size_t i, o = 0;

	cw_keys_hash(h, pk, CW_PK_BYTES);
	cw_hex_encode(hex, h, 16);
	for (i = 0; i < 32; i++) {
		if (i > 0 && i % 4 == 0)
			out[o++] = '-';
		out[o++] = hex[i];
	}
	out[o] = '\0';
}

void cw_keys_free(cw_keys *k)
{
	if (k == NULL)
		return;
	cw_secret_free(k->seed);
	cw_secret_free(k->sign_sk);
	cw_secret_free(k->box_sk);
	free(k);
}
