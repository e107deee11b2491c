/* crypto/keystore.c - a seed sealed under a passphrase (format in keystore.h).
 *
 * Opening checks the cheap things first (size, magic, version, algorithms,
 * checksum, KDF limits) so that a damaged or hostile file never reaches the
 * memory-hard KDF with limits we did not choose. */
#include "keystore.h"
#include "../util/error.h"

#include <sodium.h>
#include <string.h>

#define OFF_VERSION 4
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
#define KEYSTORE_VERSION 1
#define KDF_ARGON2ID13 1
#define AEAD_XCHACHA20POLY1305 1

/* The layout in keystore.h, checked against libsodium's sizes at compile time. */
_Static_assert(OFF_SEALED + CW_SEED_BYTES + TAG_BYTES == OFF_CHECKSUM, "keystore layout");
_Static_assert(OFF_CHECKSUM + CW_HASH_BYTES == CW_KEYSTORE_SIZE, "keystore size");
_Static_assert(SALT_BYTES == crypto_pwhash_argon2id_SALTBYTES, "salt size");
_Static_assert(NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce size");
_Static_assert(TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag size");
_Static_assert(CW_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");

static const uint8_t magic[4] = { 'C', 'W', 'K', 'S' };

const cw_kdf_cost cw_kdf_default = { 3, (uint64_t)64 << 20 };

static int cost_ok(uint64_t ops, uint64_t mem)
{
	return ops >= CW_KDF_OPS_MIN && ops <= CW_KDF_OPS_MAX && mem >= CW_KDF_MEM_MIN &&
	       mem <= CW_KDF_MEM_MAX;
}

/* Argon2id from the passphrase and salt to the sealing key. The limits must
 * already be within CW_KDF_* (cost_ok). */
static int derive(uint8_t key[CW_KEY_BYTES], const char *pass, size_t passlen, const uint8_t salt[SALT_BYTES],
                  uint64_t ops, uint64_t mem)
{
	if (passlen > crypto_pwhash_argon2id_PASSWD_MAX)
		return cw_error(CW_EINVALID, "the passphrase is too long");
	if (crypto_pwhash(key, CW_KEY_BYTES, pass, passlen, salt, (unsigned long long)ops, (size_t)mem,
	                  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return cw_error(CW_ERROR,
		                "not enough memory to derive the key from the passphrase "
		                "(%llu MiB needed)",
		                (unsigned long long)(mem >> 20));
	return CW_OK;
}

int cw_keystore_seal(cw_buf *out, cw_keystore_kind kind, const cw_keys *keys, const char *pass,
                     size_t passlen, const cw_kdf_cost *cost)
{
	uint8_t file[CW_KEYSTORE_SIZE], key[CW_KEY_BYTES];
	int error;

	memset(key, 0, sizeof(key));
	if (cost == NULL)
		cost = &cw_kdf_default;
	if (!cost_ok(cost->opslimit, cost->memlimit)) {
		error = cw_error(CW_EINVALID,
		                 "key-derivation cost out of range (%d to %d passes, %llu to %llu MiB)",
		                 CW_KDF_OPS_MIN, CW_KDF_OPS_MAX, (unsigned long long)(CW_KDF_MEM_MIN >> 20),
		                 (unsigned long long)(CW_KDF_MEM_MAX >> 20));
		goto done;
	}
	if ((int)kind < CW_KEYSTORE_DEVICE || (int)kind > CW_KEYSTORE_DOCTOR) {
		error = cw_error(CW_EINVALID, "internal: unknown keystore kind %d", (int)kind);
		goto done;
	}
	if (cw_secret_len(cw_keys_seed(keys)) != CW_SEED_BYTES) {
		error = cw_error(CW_EINVALID, "internal: a seed is %d bytes", CW_SEED_BYTES);
		goto done;
	}
	memset(file, 0, sizeof(file));
	memcpy(file, magic, sizeof(magic));
	file[OFF_VERSION] = KEYSTORE_VERSION;
	file[OFF_KIND] = (uint8_t)kind;
	file[OFF_KDF] = KDF_ARGON2ID13;
	file[OFF_AEAD] = AEAD_XCHACHA20POLY1305;
	cw_store64(file + OFF_OPS, cost->opslimit);
	cw_store64(file + OFF_MEM, cost->memlimit);
	randombytes_buf(file + OFF_SALT, SALT_BYTES);
	randombytes_buf(file + OFF_NONCE, NONCE_BYTES);
	memcpy(file + OFF_PK, cw_keys_sign_pk(keys), CW_PK_BYTES);
	if ((error = derive(key, pass, passlen, file + OFF_SALT, cost->opslimit, cost->memlimit)) < 0)
		goto done;
	/* the seed goes straight from guarded memory into the ciphertext */
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
	    file + OFF_SEALED, file + OFF_SEALED + CW_SEED_BYTES, NULL, cw_secret_data(cw_keys_seed(keys)),
	    CW_SEED_BYTES, file, OFF_SEALED, NULL, file + OFF_NONCE, key);
	crypto_generichash(file + OFF_CHECKSUM, CW_HASH_BYTES, file, OFF_CHECKSUM, NULL, 0);
	error = cw_buf_put(out, file, sizeof(file));
done:
	sodium_memzero(key, sizeof(key));
	return error;
}

int cw_keystore_parse(cw_keystore_info *out, const uint8_t *data, size_t len)
{
	cw_keystore_info info;
	uint8_t sum[CW_HASH_BYTES];
	uint64_t ops, mem;

	if (len < sizeof(magic) + 1 || memcmp(data, magic, sizeof(magic)) != 0)
		return cw_error(CW_EVERIFY, "keystore is damaged (not a caseway keystore)");
	if (data[OFF_VERSION] != KEYSTORE_VERSION)
		return cw_error(CW_EVERIFY, "keystore is damaged (unknown version %u)",
		                (unsigned)data[OFF_VERSION]);
	if (len != CW_KEYSTORE_SIZE)
		return cw_error(CW_EVERIFY, "keystore is damaged (it is %zu bytes, not %d)", len,
		                CW_KEYSTORE_SIZE);
	crypto_generichash(sum, sizeof(sum), data, OFF_CHECKSUM, NULL, 0);
	if (!cw_secret_equal(sum, data + OFF_CHECKSUM, sizeof(sum)))
		return cw_error(CW_EVERIFY, "keystore is damaged (checksum mismatch)");
	if (data[OFF_KIND] < CW_KEYSTORE_DEVICE || data[OFF_KIND] > CW_KEYSTORE_DOCTOR)
		return cw_error(CW_EVERIFY, "keystore is damaged (unknown kind %u)",
		                (unsigned)data[OFF_KIND]);
	if (data[OFF_KDF] != KDF_ARGON2ID13 || data[OFF_AEAD] != AEAD_XCHACHA20POLY1305)
		return cw_error(CW_EVERIFY, "keystore is damaged (unknown algorithm)");
	ops = cw_load64(data + OFF_OPS);
	mem = cw_load64(data + OFF_MEM);
	if (!cost_ok(ops, mem))
		return cw_error(CW_EVERIFY, "keystore is damaged (bad key-derivation limits)");
	info.kind = (cw_keystore_kind)data[OFF_KIND];
	info.cost.opslimit = ops;
	info.cost.memlimit = mem;
	memcpy(info.sign_pk, data + OFF_PK, CW_PK_BYTES);
	*out = info;
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
	if (label == NULL)
		label = "keystore";
	/* structure, checksum and limits before any KDF work */
	if ((error = cw_keystore_parse(&info, data, len)) < 0) {
		error = cw_error(CW_EVERIFY, "%s: %s", label, cw_error_last());
		goto done;
	}
	if ((error = cw_secret_new(&seed, CW_SEED_BYTES)) < 0 ||
	    (error = derive(key, pass, passlen, data + OFF_SALT, info.cost.opslimit, info.cost.memlimit)) < 0)
		goto done;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
	        cw_secret_bytes(seed), NULL, data + OFF_SEALED, CW_SEED_BYTES,
	        data + OFF_SEALED + CW_SEED_BYTES, data, OFF_SEALED, data + OFF_NONCE, key) != 0) {
		error = cw_error(CW_ELOCKED, "wrong passphrase for %s", label);
		goto done;
	}
	if ((error = cw_keys_from_seed(&keys, seed)) < 0)
		goto done;
	if (!cw_secret_equal(cw_keys_sign_pk(keys), info.sign_pk, CW_PK_BYTES)) {
		error = cw_error(CW_EVERIFY, "%s: keystore is damaged (its keys do not match)", label);
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
