/*
 * node/grant.h - case keys granted to member devices (DESIGN 3.6).
 *
 * A grant hands one generation of a case key to one device: the bytes
 *
 *     case id[16] | u32le generation | key[32]
 *
 * sealed to the device's X25519 key (crypto/seal.h, "CWST"). Grants travel
 * beside the sealed op batches in the git log (sync/log.h), readable only
 * by the device they are for; a node that opens one keeps the key in its
 * encrypted store (table case_keys) like the keys of the cases it created.
 */
#ifndef CW_GRANT_H
#define CW_GRANT_H

#include "../crypto/seal.h"
#include "../util/buf.h"
#include "op.h"
#include "store.h"

#include <stdint.h>

#define CW_GRANT_PLAIN_BYTES (CW_ID_BYTES + 4 + 32)
#define CW_GRANT_BYTES (CW_GRANT_PLAIN_BYTES + CW_SEAL_TO_OVERHEAD)

/* The newest generation of the case's key this store holds (>= 1), or
 * CW_ENOTFOUND when it holds none. */
int cw_grant_generation(uint32_t *out, cw_store *st, const uint8_t case_id[CW_ID_BYTES]);

/* Seal the newest key of the case to box_pk: appends CW_GRANT_BYTES to out
 * and sets *generation_out. CW_ENOTFOUND without a key. */
int cw_grant_seal(cw_buf *out, uint32_t *generation_out, cw_store *st, const uint8_t case_id[CW_ID_BYTES],
                  const uint8_t box_pk[CW_PK_BYTES]);

/* Open a grant from outside with me's sealing key and keep its key: it must
 * name case_id and a generation >= 1. Nothing changes when the store holds
 * that generation already (CW_OK); a different key for a generation it
 * holds is CW_EVERIFY. CW_EVERIFY also when it is not for me or altered,
 * CW_EINVALID when malformed. Runs in the caller's transaction, if any. */
int cw_grant_accept(cw_store *st, const cw_keys *me, const uint8_t case_id[CW_ID_BYTES],
                    const uint8_t *sealed, size_t len) __attribute__((warn_unused_result));

#endif
