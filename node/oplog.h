/*
 * node/oplog.h - the signed, append-only change log and the materialized
 * state computed from it.
 *
 * Every change to a case is an op (node/op.h) stored in the `ops` table,
 * which refuses UPDATE and DELETE. The materialized tables (entities,
 * fields, conflicts, conflict_values, times) are a pure function of the set
 * of ops (node/merge.h): written incrementally for local changes and
 * recomputed per entity for changes from elsewhere; cw_oplog_rebuild
 * recomputes all and must give byte-identical tables.
 *
 * Writers call these inside a store transaction (cw_store_begin/commit): an
 * op and its effect commit together.
 */
#ifndef CW_OPLOG_H
#define CW_OPLOG_H

#include "../crypto/cert.h"
#include "op.h"
#include "store.h"

/* Public keys of the authors this node accepts (from the roster), and the
 * revocations: what the agency still accepts from a revoked device. */
typedef struct {
	uint8_t id[CW_AUTHOR_BYTES];
	uint8_t pk[CW_PK_BYTES];
	const cw_revocation *revoked; /* into the keyring's roster; NULL: not revoked */
} cw_keyring_entry;

typedef struct {
	size_t n;
	cw_keyring_entry *e;
	cw_roster
	    *roster; /* owned: roles and revocations (NULL: not enrolled; no author may hand out keys) */
} cw_keyring;

int cw_keyring_add(cw_keyring *kr, const uint8_t pk[CW_PK_BYTES]);
const uint8_t *cw_keyring_find(const cw_keyring *kr, const uint8_t id[CW_AUTHOR_BYTES]);
/* The revocation of author, or NULL when it is not revoked. */
const cw_revocation *cw_keyring_revocation(const cw_keyring *kr, const uint8_t id[CW_AUTHOR_BYTES]);
/* Take roster's revocations into kr (kr owns roster from then on). */
void cw_keyring_set_roster(cw_keyring *kr, cw_roster *roster);
/* CW_OK when the agency accepts op seq of author on case_id; CW_EVERIFY
 * naming the device when it came after the device's revocation. */
int cw_keyring_check(const cw_keyring *kr, const uint8_t author[CW_AUTHOR_BYTES],
                     const uint8_t case_id[CW_ID_BYTES], uint64_t seq);
void cw_keyring_dispose(cw_keyring *kr);

/* The store's meta key set when a roster revoking this device arrives. */
#define CW_META_REVOKED "device.revoked"

/* CW_OK while this device may record changes; CW_EVERIFY once the agency
 * has revoked it (cw_oplog_write checks this first). */
int cw_oplog_writable(cw_store *st);

/* Write a local change by `me` and apply it. fields are checked by the
 * caller (node/model.h). hash_out may be NULL. */
int cw_oplog_write(uint8_t hash_out[CW_HASH_BYTES], cw_store *st, const cw_keys *me,
                   const uint8_t case_id[CW_ID_BYTES], uint8_t kind, const uint8_t entity[CW_ID_BYTES],
                   cw_op_action action, cw_op_field *fields, size_t nfields);

/* Take an op from elsewhere: decode, check its author is in kr and its
 * signature, its place in the author's chain (a different op at a held
 * position is equivocation: CW_EVERIFY), and that every op it had seen is
 * held (else CW_EWAIT). Stores it and marks its entity for cw_oplog_flush.
 * *added_out: 1 new, 0 already held. */
int cw_oplog_ingest(int *added_out, cw_store *st, const cw_keyring *kr, const uint8_t *bytes, size_t len);

/* Recompute the entities touched by ingest since the last flush. */
int cw_oplog_flush(cw_store *st);

/* Recompute every materialized table from the ops alone. */
int cw_oplog_rebuild(cw_store *st);

typedef struct {
	uint64_t ops;
	uint64_t chains;
	uint64_t cases;
} cw_oplog_report;

/* Check every op: decodes, its author is known, its signature verifies over
 * the stored bytes, the stored columns match the bytes, each author's chain
 * per case is contiguous and linked by hash, heads match. CW_EVERIFY names
 * the first bad op. */
int cw_oplog_verify(cw_oplog_report *out, cw_store *st, const cw_keyring *kr);

/* BLAKE2b-256 over the materialized state of one case (case_id) or of all
 * (NULL), conflicts included, in a canonical order. */
int cw_oplog_digest(uint8_t out[CW_HASH_BYTES], cw_store *st, const uint8_t *case_id);

/* Every op (oldest first by stamp), optionally only of one case, one
 * author, or stamps at or after since_ms. The op borrows the row's bytes for
 * the duration of the callback; flagged is the note of a flagged op or NULL. */
int cw_oplog_each(cw_store *st, const uint8_t *case_id, const uint8_t *author, uint64_t since_ms,
                  int (*fn)(const cw_op *op, const char *flagged, void *ctx), void *ctx);

/* The ops of one case by one author with seq > after, in seq order (same
 * callback as cw_oplog_each). */
int cw_oplog_each_after(cw_store *st, const uint8_t case_id[CW_ID_BYTES],
                        const uint8_t author[CW_AUTHOR_BYTES], uint64_t after,
                        int (*fn)(const cw_op *op, const char *flagged, void *ctx), void *ctx);

/* The author's head in every case it wrote to: fn(case, last seq), by case;
 * with uncommitted, only the cases whose head differs from the seq last
 * recorded by cw_oplog_mark_committed. */
int cw_oplog_heads_of(cw_store *st, const uint8_t author[CW_AUTHOR_BYTES], int uncommitted,
                      int (*fn)(const uint8_t case_id[CW_ID_BYTES], uint64_t seq, void *ctx), void *ctx);

/* Record that this device's git chain for the case carries its ops up to
 * seq (a hint for sync/log.c: the chain itself stays the truth). */
int cw_oplog_mark_committed(cw_store *st, const uint8_t case_id[CW_ID_BYTES], uint64_t seq);

/* The hlc stamp of the newest op this node holds or wrote. */
int cw_oplog_clock(uint64_t *out, cw_store *st);

#endif
