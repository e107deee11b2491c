/*
 * crypto/seal.h - sealing bytes: under a symmetric key (op batches in the
 * git log under a case key) or to a device's X25519 public key (case keys
 * granted to members, handoffs to a doctor).
 *
 * Sealed box v1 (symmetric):
 *   "CWSB" | u8 version=1 | u8 alg=1 (XChaCha20-Poly1305-IETF) | nonce[24]
 *   | ciphertext | tag[16]
 *   additional data = bytes 0..5 followed by the caller's context bytes, so a
 *   box cannot be moved to another place that uses other context.
 * Sealed to a key v1 (anonymous, libsodium crypto_box_seal):
 *   "CWST" | u8 version=1 | ephemeral X25519 key[32] | ciphertext | tag[16]
 */
#ifndef CW_SEAL_H
#define CW_SEAL_H

#include "../util/buf.h"
#include "keys.h"

#include <stddef.h>
#include <stdint.h>

#define CW_SEAL_BOX_OVERHEAD (6 + 24 + 16)
#define CW_SEAL_TO_OVERHEAD (5 + 48)

/* Seal plain (len bytes) under key (32 bytes) bound to ctx; appends to out. */
int cw_seal_box(cw_buf *out, const cw_secret *key, const void *ctx, size_t ctxlen, const uint8_t *plain,
                size_t len);

/* Open a sealed box: plaintext appended to out. CW_EINVALID malformed,
 * CW_EVERIFY wrong key, wrong context or altered. */
int cw_seal_open(cw_buf *out, const cw_secret *key, const void *ctx, size_t ctxlen, const uint8_t *box,
                 size_t len) __attribute__((warn_unused_result));

/* Seal msg so only the holder of the X25519 secret key for box_pk opens it. */
int cw_seal_to(cw_buf *out, const uint8_t box_pk[CW_PK_BYTES], const uint8_t *msg, size_t len);

/* Open what was sealed to k's sealing key into a new guarded secret.
 * CW_EINVALID malformed, CW_EVERIFY not for this key or altered. */
int cw_seal_unseal(cw_secret **out, const cw_keys *k, const uint8_t *sealed, size_t len)
    __attribute__((warn_unused_result));

#endif
