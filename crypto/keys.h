/*
 * crypto/keys.h - a device's keys, all derived from one secret seed.
 *
 * seed (32 random bytes) --BLAKE2b KDF, context "cwdevice"-->
 *   subkey 1: Ed25519 signing seed  -> signing pair (ops, commits, requests)
 *   subkey 2: X25519 seed            -> sealing pair (case keys, handoffs)
 *   subkey 3: store page key         (XChaCha20-Poly1305, encrypted store)
 * The device id is the first 8 bytes of BLAKE2b-256(signing public key), in
 * hex (16 characters). The org key is a cw_keys too (its own seed).
 */
#ifndef CW_KEYS_H
#define CW_KEYS_H

#include "secret.h"

#include <stddef.h>
#include <stdint.h>

#define CW_SEED_BYTES 32
#define CW_PK_BYTES 32
#define CW_SIG_BYTES 64
#define CW_KEY_BYTES 32
#define CW_HASH_BYTES 32
#define CW_DEVICE_ID_LEN 16 /* hex characters, without the NUL */

typedef enum { CW_SUBKEY_SIGN = 1, CW_SUBKEY_BOX = 2, CW_SUBKEY_STORE = 3 } cw_subkey_id;

typedef struct cw_keys cw_keys;

/* New keys from a fresh random seed. */
int cw_keys_generate(cw_keys **out);

/* Keys from an existing seed (CW_SEED_BYTES); the seed is copied. */
int cw_keys_from_seed(cw_keys **out, const cw_secret *seed);

/* Borrowed until cw_keys_free. */
const cw_secret *cw_keys_seed(const cw_keys *k);
const uint8_t *cw_keys_sign_pk(const cw_keys *k);
const uint8_t *cw_keys_box_pk(const cw_keys *k);
const char *cw_keys_id(const cw_keys *k);

/* A 32-byte subkey of the seed for `id` (e.g. CW_SUBKEY_STORE). */
int cw_keys_subkey(cw_secret **out, const cw_keys *k, cw_subkey_id id);

/* Ed25519 detached signature over msg. */
void cw_keys_sign(uint8_t sig[CW_SIG_BYTES], const cw_keys *k, const void *msg, size_t len);

/* CW_OK when sig is pk's signature over msg, CW_EVERIFY otherwise (no message set). */
int cw_keys_verify(const uint8_t sig[CW_SIG_BYTES], const uint8_t pk[CW_PK_BYTES], const void *msg,
                   size_t len) __attribute__((warn_unused_result));

/* Device id (16 hex chars + NUL) of a signing public key. */
void cw_keys_id_of(char out[CW_DEVICE_ID_LEN + 1], const uint8_t pk[CW_PK_BYTES]);

/* BLAKE2b-256 of data. */
void cw_keys_hash(uint8_t out[CW_HASH_BYTES], const void *data, size_t len);

/* Human fingerprint of a public key: "xxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxx"
 * (first 16 bytes of BLAKE2b-256, hex, in groups). out: 40 bytes. */
void cw_keys_fingerprint(char out[40], const uint8_t pk[CW_PK_BYTES]);

/* The X25519 secret key, for crypto/ modules only (crypto/seal.c). Borrowed
 * until cw_keys_free. */
const cw_secret *cw_keys__box_sk(const cw_keys *k);

void cw_keys_free(cw_keys *k);

#endif
