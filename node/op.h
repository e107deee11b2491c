/*
 * node/op.h - one change to one case: the signed op.
 *
 * Format v1 (little-endian), signed over every byte before the signature and
 * verified over the exact bytes stored, never re-serialised:
 *
 *   "CWOP" | u8 version=1
 *   | case[16] | author[8] (device id) | u64 seq (1, 2, ... per case and author)
 *   | prev[32] (hash of the author's previous op on this case; zeros for seq 1)
 *   | u64 hlc (hybrid logical clock: 48-bit milliseconds << 16 | counter)
 *   | u8 nseen | nseen x ( author[8] | u64 seq )   strictly ascending authors,
 *         never the op's own author: the other authors' ops on this case the
 *         author held when writing (their highest contiguous seq)
 *   | u8 kind (entity kind, node/model.h) | entity[16] | u8 action
 *   | u8 nfields | nfields x ( str8 name | str16 value )  names ascending, unique
 *   | sig[64]  Ed25519 by the author's signing key
 *
 * action: 1 put (create the entity or set fields), 2 remove (tombstone the
 * entity), 3 resolve (put that settles a conflict; the same merge rule).
 * The op's hash is BLAKE2b-256 of all its bytes (signature included).
 * The kind is 1..CW_KIND_MAX (node/model.h) and is 1 (the case itself)
 * exactly when entity == case;
 * the stamp's milliseconds are at most CW_HLC_MAX_MS.
 * Limits: at most CW_OP_MAX_BYTES bytes, CW_OP_MAX_SEEN seen entries and
 * CW_OP_MAX_FIELDS fields; values are UTF-8 (newlines allowed).
 */
#ifndef CW_OP_H
#define CW_OP_H

#include "../crypto/keys.h"
#include "../util/buf.h"

#include <stddef.h>
#include <stdint.h>

#define CW_ID_BYTES 16    /* case and entity ids */
#define CW_AUTHOR_BYTES 8 /* device id, raw */
#define CW_OP_MAX_SEEN 64
#define CW_OP_MAX_FIELDS 64
#define CW_OP_MAX_BYTES (256 * 1024)
#define CW_FIELD_NAME_MAX 32
#define CW_HLC_MAX_MS 7258118400000ull /* 2200-01-01: later stamps are refused */

typedef enum { CW_OP_PUT = 1, CW_OP_REMOVE = 2, CW_OP_RESOLVE = 3 } cw_op_action;

typedef struct {
	uint8_t author[CW_AUTHOR_BYTES];
	uint64_t seq;
} cw_op_seen;

typedef struct {
	char name[CW_FIELD_NAME_MAX + 1];
	const char *value; /* borrowed: from the decoded bytes or the caller */
	size_t len;
} cw_op_field;

typedef struct {
	uint8_t case_id[CW_ID_BYTES];
	uint8_t author[CW_AUTHOR_BYTES];
	uint64_t seq;
	uint8_t prev[CW_HASH_BYTES];
	uint64_t hlc;
	size_t nseen;
	cw_op_seen seen[CW_OP_MAX_SEEN];
	uint8_t kind;
	uint8_t entity[CW_ID_BYTES];
	uint8_t action;
	size_t nfields;
	cw_op_field fields[CW_OP_MAX_FIELDS];
	/* Set by decode: */
	uint8_t hash[CW_HASH_BYTES];
	const uint8_t *sig;
	size_t signed_len;
} cw_op;

/* Encode and sign op (its fields sorted by name first) into out (appended);
 * author must be the signer's device id. */
int cw_op_encode(cw_buf *out, cw_op *op, const cw_keys *signer);

/* Decode outside bytes: structure, limits, UTF-8, ordering. Does not check
 * the signature (the caller finds the author's key). Values borrow data. */
int cw_op_decode(cw_op *out, const uint8_t *data, size_t len) __attribute__((warn_unused_result));

/* Check a decoded op's signature against its author's key: CW_OK/CW_EVERIFY. */
int cw_op_verify(const cw_op *op, const uint8_t *data, const uint8_t author_pk[CW_PK_BYTES])
    __attribute__((warn_unused_result));

/* The seq this op had seen of `author` (0 when none); the op's own author
 * counts as seen up to seq - 1. */
uint64_t cw_op_seen_of(const cw_op *op, const uint8_t author[CW_AUTHOR_BYTES]);

/* 1 when a causally precedes b (b's author had a when writing b). */
int cw_op_precedes(const cw_op *a, const cw_op *b);

/* The field named name, or NULL. */
const cw_op_field *cw_op_field_get(const cw_op *op, const char *name);

/* Hybrid logical clock: the next stamp after `last` at wall time now_ms. */
uint64_t cw_hlc_next(uint64_t last, uint64_t now_ms);
/* The stamp after receiving `remote` (max of both, never behind). */
uint64_t cw_hlc_merge(uint64_t last, uint64_t remote);
/* Milliseconds part of a stamp. */
static inline uint64_t cw_hlc_ms(uint64_t hlc)
{
	return hlc >> 16;
}

/* Device id text (16 hex) <-> raw 8 bytes. */
void cw_author_hex(char out[CW_DEVICE_ID_LEN + 1], const uint8_t author[CW_AUTHOR_BYTES]);
int cw_author_from_hex(uint8_t out[CW_AUTHOR_BYTES], const char *hex);
/* Id text (32 hex) of a case or entity. */
void cw_id_hex(char out[2 * CW_ID_BYTES + 1], const uint8_t id[CW_ID_BYTES]);

#endif
