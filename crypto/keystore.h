/*
 * crypto/keystore.h - a seed sealed under a passphrase.
 *
 * Format v1 (all integers little-endian), documented in docs/FORMATS.md:
 *
 *   off len
 *     0   4  magic "CWKS"
 *     4   1  version = 1
 *     5   1  kind: 1 device, 2 org, 3 doctor
 *     6   1  kdf: 1 = Argon2id v1.3 (crypto_pwhash_ALG_ARGON2ID13)
 *     7   1  aead: 1 = XChaCha20-Poly1305-IETF
 *     8   8  kdf opslimit
 *    16   8  kdf memlimit (bytes)
 *    24  16  salt
 *    40  24  nonce
 *    64  32  signing public key (clear; lets tools name the key unlocked)
 *    96  48  sealed seed: 32-byte ciphertext + 16-byte tag;
 *            additional data = bytes 0..95
 *   144  32  BLAKE2b-256 of bytes 0..143 (detects damage, not an attacker)
 *   176      end
 *
 * Opening: a bad magic, version, kind, algorithm, size or checksum is damage
 * (CW_EVERIFY, "damaged"); limits outside the accepted range are damage too
 * and are refused before any KDF work; a tag that does not verify is a wrong
 * passphrase (CW_ELOCKED). The signing key derived from the opened seed must
 * equal the one stored, else damage.
 */
#ifndef CW_KEYSTORE_H
#define CW_KEYSTORE_H

#include "../util/buf.h"
#include "keys.h"

#include <stddef.h>
#include <stdint.h>

#define CW_KEYSTORE_SIZE 176

typedef enum { CW_KEYSTORE_DEVICE = 1, CW_KEYSTORE_ORG = 2, CW_KEYSTORE_DOCTOR = 3 } cw_keystore_kind;

typedef struct {
	uint64_t opslimit;
	uint64_t memlimit;
} cw_kdf_cost;

/* The default: Argon2id, 3 passes over 64 MiB (about a quarter second on a
 * laptop; docs/SECURITY.md says why). */
extern const cw_kdf_cost cw_kdf_default;
/* Bounds accepted when reading a keystore (and when choosing a cost). */
#define CW_KDF_OPS_MIN 1
#define CW_KDF_OPS_MAX 16
#define CW_KDF_MEM_MIN ((uint64_t)8 << 20)
#define CW_KDF_MEM_MAX ((uint64_t)1 << 30)

/* What a keystore says about itself without the passphrase. */
typedef struct {
	cw_keystore_kind kind;
	cw_kdf_cost cost;
	uint8_t sign_pk[CW_PK_BYTES];
} cw_keystore_info;

/* Seal keys' seed under the passphrase into out (appended, CW_KEYSTORE_SIZE
 * bytes) with a fresh random salt and nonce. cost NULL means cw_kdf_default.
 * CW_EINVALID on a cost or kind out of range. */
int cw_keystore_seal(cw_buf *out, cw_keystore_kind kind, const cw_keys *keys, const char *pass,
                     size_t passlen, const cw_kdf_cost *cost);

/* Check structure, checksum and limits only (no passphrase, no KDF).
 * CW_EVERIFY "keystore is damaged (...)" otherwise. */
int cw_keystore_parse(cw_keystore_info *out, const uint8_t *data, size_t len);

/* Parse, derive the key from the passphrase, open the seed, rebuild keys.
 * `label` names the keystore in messages (a path; NULL: "keystore").
 * CW_EVERIFY damaged ("<label>: keystore is damaged (...)"), CW_ELOCKED
 * wrong passphrase ("wrong passphrase for <label>"). info_out may be NULL. */
int cw_keystore_open(cw_keys **out, cw_keystore_info *info_out, const uint8_t *data, size_t len,
                     const char *pass, size_t passlen, const char *label) __attribute__((warn_unused_result));

#endif
