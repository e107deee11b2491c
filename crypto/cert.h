/*
 * crypto/cert.h - the agency's trust objects: enrolment requests, device
 * certificates and the roster. All are byte-exact binary formats
 * (docs/FORMATS.md), little-endian, versioned, signed over the exact bytes
 * as stored; parsers verify the signature over the bytes they were given and
 * never re-serialise.
 *
 * request v1  (made by a device, self-signed: proof it holds the key)
 *   "CWRQ" | u8 version=1 | u8 role | i64 created_at (unix s)
 *   | sign_pk[32] | box_pk[32] | str16 name | sig[64] by sign_pk
 *
 * certificate v1  (made by the org key)
 *   "CWCT" | u8 version=1 | u8 role | i64 issued_at | i64 not_after (0: none)
 *   | org_pk[32] | sign_pk[32] | box_pk[32] | str16 name | sig[64] by org_pk
 *
 * roster v1  (made by the org key; a chain: each names its predecessor)
 *   "CWRS" | u8 version=1 | u64 seq (1 for the first) | i64 issued_at
 *   | org_pk[32] | prev[32] (BLAKE2b-256 of the previous roster; zeros for seq 1)
 *   | str16 org_name | u32 count | count x ( u8 type | u32 len | bytes )
 *   | sig[64] by org_pk
 *   entry type 1: a certificate (bytes as above, same org_pk)
 *   entry type 2: a revocation
 *     sign_pk[32] | i64 revoked_at | u32 n
 *     | n x ( case[16] | u64 seq | commit[20] )   cases strictly ascending
 *     for each chain of the revoked device the agency accepts, the last op
 *     (seq) and git commit it accepts; nothing later from that device, and
 *     nothing on a chain not listed, is accepted anywhere.
 *   seq is 1 exactly when prev is all zeros; no device (sign_pk) is listed
 *   twice; a revocation names a device certified in the same roster, once.
 *
 * enrolment package (what `org enroll` writes and `org join` reads)
 *   "CWEP" | u8 version=1 | u32 cert_len | cert | u32 roster_len | roster
 *
 * Names: 1 to 64 bytes of UTF-8, no control characters. Roles: 1 to 4.
 * Caps: a request or certificate is at most CW_CERT_MAX_BYTES, a roster at
 * most CW_ROSTER_MAX_BYTES and CW_ROSTER_MAX_ENTRIES entries. Parsers return
 * CW_EINVALID for malformed bytes (bad magic, "unsupported ... version N",
 * cut short, trailing bytes, a bad name or role, over a cap) and CW_EVERIFY
 * when a signature over the bytes before the final 64 does not verify.
 */
#ifndef CW_CERT_H
#define CW_CERT_H

#include "../util/buf.h"
#include "keys.h"

#include <stddef.h>
#include <stdint.h>

#define CW_NAME_MAX 64
#define CW_ROSTER_MAX_ENTRIES 100000
#define CW_CERT_MAX_BYTES 1024
#define CW_ROSTER_MAX_BYTES ((size_t)64 << 20)

typedef enum { CW_ROLE_COORDINATOR = 1, CW_ROLE_HUB = 2, CW_ROLE_CLINIC = 3, CW_ROLE_DOCTOR = 4 } cw_role;

/* "coordinator", "hub", "clinic", "doctor"; "unknown" otherwise. */
const char *cw_role_name(int role);
/* CW_EINVALID (message set) for anything else. */
int cw_role_parse(cw_role *out, const char *name);

typedef struct {
	cw_role role;
	int64_t created_at;
	uint8_t sign_pk[CW_PK_BYTES];
	uint8_t box_pk[CW_PK_BYTES];
	char name[CW_NAME_MAX + 1];
	char device_id[CW_DEVICE_ID_LEN + 1];
} cw_request;

typedef struct {
	cw_role role;
	int64_t issued_at;
	int64_t not_after;
	uint8_t org_pk[CW_PK_BYTES];
	uint8_t sign_pk[CW_PK_BYTES];
	uint8_t box_pk[CW_PK_BYTES];
	char name[CW_NAME_MAX + 1];
	char device_id[CW_DEVICE_ID_LEN + 1];
	uint8_t hash[CW_HASH_BYTES]; /* BLAKE2b-256 of the certificate bytes */
} cw_cert;

/* Requests. Appends to out; CW_EINVALID for a bad name or role. */
int cw_request_create(cw_buf *out, const cw_keys *device, const char *name, cw_role role, int64_t now);
/* CW_EINVALID malformed, CW_EVERIFY bad self-signature. */
int cw_request_parse(cw_request *out, const uint8_t *data, size_t len) __attribute__((warn_unused_result));

/* Certificates. Appends to out; CW_EINVALID for a bad name or role, or a
 * not_after that is neither 0 nor later than now. */
int cw_cert_issue(cw_buf *out, const cw_keys *org, const cw_request *req, cw_role role, int64_t now,
                  int64_t not_after);
/* Checks structure and that the signature is by the org_pk inside; the
 * caller must still check that org_pk is the org it trusts. */
int cw_cert_parse(cw_cert *out, const uint8_t *data, size_t len) __attribute__((warn_unused_result));

/* Rosters. */
typedef struct cw_roster cw_roster;

#define CW_REVOKED_CASE_BYTES 16
#define CW_REVOKED_COMMIT_BYTES 20

/* One chain of a revoked device: the last op and commit the agency accepts. */
typedef struct {
	uint8_t case_id[CW_REVOKED_CASE_BYTES];
	uint64_t seq;
	uint8_t commit[CW_REVOKED_COMMIT_BYTES]; /* git object id, raw */
} cw_revoked_chain;

typedef struct {
	uint8_t sign_pk[CW_PK_BYTES];
	char device_id[CW_DEVICE_ID_LEN + 1];
	int64_t revoked_at;
	size_t nchains;
	cw_revoked_chain *chains; /* by case id */
} cw_revocation;

/* Encode a revocation entry (sorts chains by case). Appends to out. */
int cw_revocation_encode(cw_buf *out, const uint8_t sign_pk[CW_PK_BYTES], int64_t revoked_at,
                         cw_revoked_chain *chains, size_t n);
/* The accepted end of the revoked device's chain for case_id, or NULL when
 * nothing of that chain is accepted. */
const cw_revoked_chain *cw_revocation_chain(const cw_revocation *rev,
                                            const uint8_t case_id[CW_REVOKED_CASE_BYTES]);

/* Parse and verify a roster: its signature by its org_pk and every entry
 * (certificates signed by that same org key, each device once). The caller
 * must still check that org_pk is the org it trusts, and the chain (seq,
 * prev) against the roster it holds. */
int cw_roster_parse(cw_roster **out, const uint8_t *data, size_t len) __attribute__((warn_unused_result));

/* Build and sign the next roster: prev is the current one (NULL for the
 * first; else seq = prev's + 1, prev = prev's hash, and org must be the key
 * that signed prev, CW_EVERIFY otherwise), certs are the entries (each a
 * certificate as bytes; each must parse, be issued by org and name a
 * different device, so the result always parses), revs the revocation
 * entries (cw_revocation_encode; each names one of certs). Appends to out. */
int cw_roster_build(cw_buf *out, const cw_keys *org, const char *org_name, const cw_roster *prev,
                    const cw_buf *certs, size_t ncerts, const cw_buf *revs, size_t nrevs, int64_t now);

uint64_t cw_roster_seq(const cw_roster *r);
int64_t cw_roster_issued_at(const cw_roster *r);
const uint8_t *cw_roster_org_pk(const cw_roster *r);
const char *cw_roster_org_name(const cw_roster *r);
const uint8_t *cw_roster_hash(const cw_roster *r); /* BLAKE2b-256 of its bytes */
const uint8_t *cw_roster_prev(const cw_roster *r);
size_t cw_roster_count(const cw_roster *r);
/* The roster's bytes exactly as parsed (borrowed until cw_roster_free). */
const uint8_t *cw_roster_raw(const cw_roster *r, size_t *len_out);
/* Entry i, borrowed until cw_roster_free (NULL when i >= count). */
const cw_cert *cw_roster_cert(const cw_roster *r, size_t i);
/* The raw bytes of entry i (for building the next roster), borrowed until
 * cw_roster_free (NULL, 0 when i >= count). */
void cw_roster_cert_bytes(const cw_roster *r, size_t i, const uint8_t **data, size_t *len);
/* Revocations: count, entry i (borrowed; NULL past the end), its bytes. */
size_t cw_roster_revocation_count(const cw_roster *r);
const cw_revocation *cw_roster_revocation_at(const cw_roster *r, size_t i);
void cw_roster_revocation_bytes(const cw_roster *r, size_t i, const uint8_t **data, size_t *len);
/* The revocation of the device with sign_pk, or NULL. */
const cw_revocation *cw_roster_revocation(const cw_roster *r, const uint8_t sign_pk[CW_PK_BYTES]);
/* 1 when the roster revokes the device with sign_pk, else 0. */
int cw_roster_revoked(const cw_roster *r, const uint8_t sign_pk[CW_PK_BYTES]);
/* Index of the certificate for sign_pk, or -1. */
long cw_roster_find(const cw_roster *r, const uint8_t sign_pk[CW_PK_BYTES]);
void cw_roster_free(cw_roster *r);

/* Enrolment packages. CW_EINVALID when a part is over its cap. */
int cw_enrolment_build(cw_buf *out, const uint8_t *cert, size_t cert_len, const uint8_t *roster,
                       size_t roster_len);
/* Splits a package; the parts are borrowed from data and set only on
 * success. Structure only: parse each part with cw_cert_parse /
 * cw_roster_parse. */
int cw_enrolment_split(const uint8_t **cert, size_t *cert_len, const uint8_t **roster, size_t *roster_len,
                       const uint8_t *data, size_t len);

#endif
