/* crypto/keystore.c - a seed sealed under a passphrase (format in keystore.h). */
#include "keystore.h"
#include "../util/error.h"

#include <sodium.h>
#include <string.h>

#define OFF_KIND 5
#define OFF_KDF 6
#define OFF_AEAD 7
#define OFF_OPS 8
#define OFF_MEM 16
#define OFF_SALT 24
#define OFF_NONCE 40
#define OFF_PK 64
#define OFF_SEALED 96
#define OFF_CHECKSUM 144
#define SALT_BYTES 16
#define NONCE_BYTES 24
#define TAG_BYTES 16

static const uint8_t magic[4] = { 'C', 'W', 'K', 'S' };

const cw_kdf_cost cw_kdf_default = { 3, (uint64_t)64 << 20 };

static int cost_ok(uint64_t ops, uint64_t mem)
{
	return ops >= CW_KDF_OPS_MIN && ops <= CW_KDF_OPS_MAX && mem >= CW_KDF_MEM_MIN &&
	       mem <= CW_KDF_MEM_MAX;
}

static int derive(uint8_t key[CW_KEY_BYTES], const char *pass, size_t passlen,
                  const uint8_t *salt, uint64_t ops, uint64_t mem)
{
	if (crypto_pwhash(key, CW_KEY_BYTES, pass, passlen, salt, ops, (size_t)mem,
	                  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return cw_error(CW_ERROR, "not enough memory to derive the key from the passphrase");
	return CW_OK;
}

int cw_keystore_seal(cw_buf *out, cw_keystore_kind kind, const cw_keys *keys, const char *pass,
                     size_t passlen, const cw_kdf_cost *cost)
{
	uint8_t file[CW_KEYSTORE_SIZE], key[CW_KEY_BYTES];
	int error;

	if (cost == NULL)
		cost = &cw_kdf_default;
	if (!cost_ok(cost->opslimit, cost->memlimit))
		return cw_error(CW_EINVALID, "key-derivation cost out of range (%d-%d passes, %llu-%llu MiB)",
		                CW_KDF_OPS_MIN, CW_KDF_OPS_MAX,
		                (unsigned long long)(CW_KDF_MEM_MIN >> 20),
		                (unsigned long long)(CW_KDF_MEM_MAX >> 20));
	if (kind < CW_KEYSTORE_DEVICE || kind > CW_KEYSTORE_DOCTOR)
		return cw_error(CW_EINVALID, "internal: unknown keystore kind");
	memset(file, 0, sizeof(file));
	memcpy(file, magic, 4);
	file[4] = 1;
	file[OFF_KIND] = (uint8_t)kind;
	file[OFF_KDF] = 1;
	file[OFF_AEAD] = 1;
	cw_store64(file + OFF_OPS, cost->opslimit);
	cw_store64(file + OFF_MEM, cost->memlimit);
	randombytes_buf(file + OFF_SALT, SALT_BYTES);
	randombytes_buf(file + OFF_NONCE, NONCE_BYTES);
	memcpy(file + OFF_PK, cw_keys_sign_pk(keys), CW_PK_BYTES);
	if ((error = derive(key, pass, passlen, file + OFF_SALT, cost->opslimit, cost->memlimit)) < 0)
		goto done;
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
		file + OFF_SEALED, file + OFF_SEALED + CW_SEED_BYTES, NULL,
		cw_secret_data(cw_keys_seed(keys)), CW_SEED_BYTES, file, OFF_SEALED, NULL,
		file + OFF_NONCE, key);
	crypto_generichash(file + OFF_CHECKSUM, CW_HASH_BYTES, file, OFF_CHECKSUM, NULL, 0);
	error = cw_buf_put(out, file, sizeof(file));
done:
	sodium_memzero(key, sizeof(key));
	return error;
}

int cw_keystore_parse(cw_keystore_info *out, const uint8_t *data, size_t len)
{
	uint8_t sum[CW_HASH_BYTES];
	uint64_t ops, mem;

	if (len != CW_KEYSTORE_SIZE)
		return cw_error(CW_EVERIFY, "keystore is damaged (it is %zu bytes, not %d)", len,
		                CW_KEYSTORE_SIZE);
	if (memcmp(data, magic, 4) != 0)
		return cw_error(CW_EVERIFY, "keystore is damaged (not a caseway keystore)");
	crypto_generichash(sum, sizeof(sum), data, OFF_CHECKSUM, NULL, 0);
	if (sodium_memcmp(sum, data + OFF_CHECKSUM, sizeof(sum)) != 0)
		return cw_error(CW_EVERIFY, "keystore is damaged (checksum mismatch)");
	if (data[4] != 1)
		return cw_error(CW_EVERIFY, "keystore is damaged (unknown version %u)", data[4]);
	if (data[OFF_KIND] < CW_KEYSTORE_DEVICE || data[OFF_KIND] > CW_KEYSTORE_DOCTOR ||
	    data[OFF_KDF] != 1 || data[OFF_AEAD] != 1)
		return cw_error(CW_EVERIFY, "keystore is damaged (unknown kind or algorithm)");
	ops = cw_load64(data + OFF_OPS);
	mem = cw_load64(data + OFF_MEM);
	if (!cost_ok(ops, mem))
		return cw_error(CW_EVERIFY, "keystore is damaged (bad key-derivation limits)");
	out->kind = (cw_keystore_kind)data[OFF_KIND];
	out->cost.opslimit = ops;
	out->cost.memlimit = mem;
	memcpy(out->sign_pk, data + OFF_PK, CW_PK_BYTES);
	return CW_OK;
}

int cw_keystore_open(cw_keys **out, cw_keystore_info *info_out, const uint8_t *data, size_t len,
                     const char *pass, size_t passlen, const char *label)
{
	cw_keystore_info info;
	cw_secret *seed = NULL;
	cw_keys *keys = NULL;
	uint8_t key[CW_KEY_BYTES];
	int error;

	*out = NULL;
	memset(key, 0, sizeof(key));
	if ((error = cw_keystore_parse(&info, data, len)) < 0) {
		error = cw_error(CW_EVERIFY, "%s: %s", label, cw_error_last());
		goto done;
	}
	if ((error = cw_secret_new(&seed, CW_SEED_BYTES)) < 0 ||
	    (error = derive(key, pass, passlen, data + OFF_SALT, info.cost.opslimit,
	                    info.cost.memlimit)) < 0)
		goto done;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
		    cw_secret_bytes(seed), NULL, data + OFF_SEALED, CW_SEED_BYTES,
		    data + OFF_SEALED + CW_SEED_BYTES, data, OFF_SEALED, data + OFF_NONCE, key) != 0) {
		error = cw_error(CW_ELOCKED, "wrong passphrase for %s", label);
		goto done;
	}
	if ((error = cw_keys_from_seed(&keys, seed)) < 0)
		goto done;
	if (sodium_memcmp(cw_keys_sign_pk(keys), info.sign_pk, CW_PK_BYTES) != 0) {
		error = cw_error(CW_EVERIFY, "%s: keystore is damaged (keys do not match)", label);
		goto done;
	}
	if (info_out)
		*info_out = info;
	*out = keys;
	keys = NULL;
done:
	sodium_memzero(key, sizeof(key));
	cw_secret_free(seed);
	cw_keys_free(keys);
	return error;
}
