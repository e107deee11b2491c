/*
 * node/handoff.h - handing a case to the follow-up doctor at home, and the
 * doctor's notes coming back (DESIGN 3.7; docs/FORMATS.md "Handoff
 * packages"; docs/SECURITY.md "The follow-up doctor").
 *
 * A doctor's key is a seed like a device's (crypto/keys.h: Ed25519 to sign
 * replies, X25519 to receive handoffs) kept in a keystore of kind doctor;
 * the public half travels as one line of text:
 *   caseway-doctor-v1:<base64 of sign_pk[32] | box_pk[32]>
 * and people compare its fingerprint (cw_handoff_fingerprint).
 *
 * Both files are a header followed by records, each record sealed on its own
 * under a random file key (crypto/seal.h, XChaCha20-Poly1305, a fresh nonce
 * per record) so a document of any size is written and read one 64 KiB
 * piece at a time:
 *
 *   handoff  "CWHO" | u8 version=1 | u16 n | sealed[n]      file key sealed to
 *                                                          the doctor (CWST)
 *   reply    "CWHR" | u8 version=1 | u8 count (1..16)
 *            | count x ( device id[8] | u16 n | sealed[n] ) file key sealed to
 *                                                          each recipient
 *   records  u8 last | u32 len | box  (box = cw_seal_box(file key, context,
 *            plaintext); context = "cw-handoff"/"cw-reply" | u64 index | u8 last;
 *            last is 1 for the sign record only)
 *   plaintext u8 type | body
 *     1 head     handoff: u8 1 | case[16] | handoff[16] | i64 created_at
 *                | doctor sign_pk[32] | doctor box_pk[32] | u32 n | certificate
 *                | u32 n | roster | str16 contact
 *                reply:   u8 1 | case[16] | handoff[16] | i64 created_at
 *                | doctor sign_pk[32] | doctor box_pk[32] | package[32]
 *     2 entry    u8 kind (1 ips.json, 2 summary.html, 3 document, 4 note)
 *                | u64 size | str16 name | str16 title | str16 doc kind
 *     3 data     the next min(65536, bytes left) bytes of the entry
 *     4 sign     sig[64]: Ed25519 over "caseway-handoff-v1\0" (or
 *                "caseway-reply-v1\0") | transcript[32]
 *   transcript: t = BLAKE2b-256(header bytes); for each record before sign,
 *   t = BLAKE2b-256(t | plaintext). The handoff's transcript names it (the
 *   reply's "package" and the handoff op's "package" field).
 * Order: head first; entries each followed by exactly their data; sign last
 * and the only record with last=1; nothing after it. A handoff holds
 * ips.json, then summary.html, then its documents; a reply holds notes and
 * files, at least one.
 */
#ifndef CW_HANDOFF_H
#define CW_HANDOFF_H

#include "../crypto/cert.h"
#include "../crypto/keys.h"
#include "../crypto/keystore.h"
#include "../util/buf.h"
#include "home.h"
#include "op.h"

#include <stddef.h>
#include <stdint.h>

#define CW_HANDOFF_CHUNK 65536u
#define CW_HANDOFF_MAX_ENTRIES 10000
#define CW_HANDOFF_MAX_RECORD ((size_t)16 << 20) /* the head, roster included */
#define CW_HANDOFF_NAME_MAX 255
#define CW_HANDOFF_MAX_RECIPIENTS 16
#define CW_HANDOFF_NOTE_MAX 16000 /* a note is a long-text field */
#define CW_HANDOFF_SAFE_NAME_MAX 100

typedef enum {
	CW_HANDOFF_IPS = 1,
	CW_HANDOFF_HTML = 2,
	CW_HANDOFF_DOCUMENT = 3,
	CW_HANDOFF_NOTE = 4
} cw_handoff_entry_kind;

/* ---- the doctor's keys ------------------------------------------------------------- */

/* New doctor keys: the keystore (kind doctor, sealed under the passphrase)
 * appended to key_out, the public line to pub_out, the fingerprint to fpr. */
int cw_handoff_keygen(cw_buf *key_out, cw_buf *pub_out, char fpr[40], const char *pass, size_t passlen,
                      const cw_kdf_cost *cost);

/* Read a doctor's public line. CW_EINVALID when it is not one. */
int cw_handoff_pub_parse(uint8_t sign_pk[CW_PK_BYTES], uint8_t box_pk[CW_PK_BYTES], const uint8_t *text,
                         size_t len);

/* Fingerprint of a doctor's keys: cw_keys_fingerprint of
 * BLAKE2b-256(sign_pk | box_pk). out: 40 bytes. */
void cw_handoff_fingerprint(char out[40], const uint8_t sign_pk[CW_PK_BYTES],
                            const uint8_t box_pk[CW_PK_BYTES]);

/* Unlock a doctor's keystore (a device keystore is accepted too). Codes as
 * cw_keystore_open. */
int cw_handoff_key_open(cw_keys **out, const uint8_t *data, size_t len, const char *pass, size_t passlen,
                        const char *label) __attribute__((warn_unused_result));

/* A document's name made safe to be a file name inside a folder: no '/',
 * '\\', control characters, leading dots or spaces; at most
 * CW_HANDOFF_SAFE_NAME_MAX bytes (cut at a character boundary); "document-N"
 * (N = index + 1) when nothing is left. out: CW_HANDOFF_SAFE_NAME_MAX + 1. */
void cw_handoff_safe_name(char *out, const char *name, size_t index);

/* ---- writing ------------------------------------------------------------------------ */

typedef struct cw_handoff_writer cw_handoff_writer;

/* What a head says. For a handoff: cert/roster/contact; for a reply: package. */
typedef struct {
	uint8_t case_id[CW_ID_BYTES];
	uint8_t handoff_id[CW_ID_BYTES];
	int64_t created_at;
	uint8_t doctor_sign_pk[CW_PK_BYTES];
	uint8_t doctor_box_pk[CW_PK_BYTES];
	const uint8_t *cert; /* handoff */
	size_t cert_len;
	const uint8_t *roster;
	size_t roster_len;
	const char *contact;
	uint8_t package[CW_HASH_BYTES]; /* reply */
} cw_handoff_head;

/* A recipient of a reply: a device of the agency. */
typedef struct {
	uint8_t device[CW_AUTHOR_BYTES];
	uint8_t box_pk[CW_PK_BYTES];
} cw_handoff_recipient;

/* Start a handoff (reply = 0: sealed to head->doctor_box_pk) or a reply
 * (reply = 1: sealed to each of the n recipients) written to fd, signed by
 * signer when finished. The head record is written now. */
int cw_handoff_writer_new(cw_handoff_writer **out, int fd, int reply, const cw_keys *signer,
                          const cw_handoff_head *head, const cw_handoff_recipient *rcpt, size_t n);
/* Start an entry of size bytes; then give exactly size bytes with _data. */
int cw_handoff_writer_entry(cw_handoff_writer *w, cw_handoff_entry_kind kind, uint64_t size, const char *name,
                            const char *title, const char *doc_kind);
int cw_handoff_writer_data(cw_handoff_writer *w, const void *data, size_t len);
/* Write the signature; transcript_out (may be NULL) gets what it signs. */
int cw_handoff_writer_finish(cw_handoff_writer *w, uint8_t transcript_out[CW_HASH_BYTES]);
void cw_handoff_writer_free(cw_handoff_writer *w);

/* ---- reading ------------------------------------------------------------------------ */

/* What a verified handoff says about itself. */
typedef struct {
	uint8_t case_id[CW_ID_BYTES];
	uint8_t handoff_id[CW_ID_BYTES];
	int64_t created_at;
	uint8_t doctor_sign_pk[CW_PK_BYTES];
	uint8_t doctor_box_pk[CW_PK_BYTES];
	cw_cert signer;               /* the coordinator's device */
	char agency[CW_NAME_MAX + 1]; /* from the roster */
	uint8_t org_pk[CW_PK_BYTES];
	char org_fingerprint[40];
	char contact[256];
	uint8_t package[CW_HASH_BYTES]; /* the transcript it signs */
	size_t ndocs;
	uint64_t bytes;                                           /* of all entries */
	cw_handoff_recipient reply_to[CW_HANDOFF_MAX_RECIPIENTS]; /* the signer, then hubs */
	size_t nreply_to;
} cw_handoff_info;

/* Open the handoff package at path with the doctor's keys: check the seal,
 * the signer's certificate against the roster carried (same org key,
 * listed, not revoked, role coordinator or hub), that it was made for these
 * keys, every record and the signature; with pin_fpr (the org key's
 * fingerprint, NULL: none), that the agency is that one; with newer (a
 * roster of the same agency the doctor got later, NULL: none), that it does
 * not revoke the signer either. With out_dir, the
 * files (ips.json, summary.html, documents/<safe names>) are written to a new
 * folder beside out_dir that becomes out_dir only once all is verified
 * (out_dir must not exist, or be an empty folder); without, nothing is
 * written. names_out (may be NULL) receives the file names written under
 * documents/, one per line. CW_EVERIFY: not for these keys, altered,
 * unknown or revoked signer, pin mismatch; CW_EINVALID: not a handoff;
 * CW_EEXISTS: out_dir is there and not empty. */
int cw_handoff_open(cw_handoff_info *out, cw_buf *names_out, const char *path, const cw_keys *doctor,
                    const char *out_dir, const char *pin_fpr, const cw_roster *newer)
    __attribute__((warn_unused_result));

/* The same over bytes in memory and writing nothing (the fuzz target). */
int cw_handoff_open_mem(cw_handoff_info *out, const uint8_t *data, size_t len, const cw_keys *doctor)
    __attribute__((warn_unused_result));

/* Parse the records of a decrypted stream (type byte + body each, given as
 * u32 length-prefixed plaintexts) without any seal: the structure checks
 * alone, for the fuzz target. */
int cw_handoff__parse_plain(const uint8_t *data, size_t len, int reply);

/* ---- the node's side ---------------------------------------------------------------- */

typedef struct {
	char handoff_id[2 * CW_ID_BYTES + 1];
	char entity[2 * CW_ID_BYTES + 1]; /* the handoff item in the case */
	char doctor_fpr[40];
	char ips_hash[2 * CW_HASH_BYTES + 1];
	size_t ndocs;
	uint64_t bytes;
} cw_handoff_report;

/* Options of a handoff. docs: item ids or prefixes of the documents to
 * carry (NULL with ndocs 0: every document but passport copies and
 * invoices); no_docs: none. */
typedef struct {
	const char *contact;
	const char *const *docs;
	size_t ndocs;
	int no_docs;
} cw_handoff_options;

/* Make the handoff package of the case for the doctor whose public line is
 * pub, written to out_path (which must not exist), and record it in the
 * case's log (an item of kind handoff: the doctor's key and fingerprint,
 * when, the hash of ips.json, the documents). */
int cw_handoff_create(cw_handoff_report *out, cw_home *h, const uint8_t case_id[CW_ID_BYTES],
                      const uint8_t *pub, size_t publen, const char *out_path, const cw_handoff_options *o);

/* The doctor's reply to the handoff at handoff_path: notes (each at most
 * CW_HANDOFF_NOTE_MAX bytes) and files, signed with the doctor's keys and
 * sealed to the coordinator's device and the agency's hubs, to out_path
 * (must not exist). */
int cw_handoff_reply(cw_handoff_info *info_out, const char *handoff_path, const cw_keys *doctor,
                     const char *const *notes, size_t nnotes, const char *const *files, size_t nfiles,
                     const char *out_path);

typedef struct {
	char case_hex[2 * CW_ID_BYTES + 1];
	char doctor_fpr[40];
	size_t notes;
	size_t files;
	int again; /* already imported: nothing changed */
} cw_reply_report;

/* What the file at path starts like: 1 a reply, 2 a handoff package, 0 neither. */
int cw_handoff_sniff(const char *path);

/* Take a doctor's reply into the case: the notes become items of kind
 * doctor_note and the files documents, attributed to the doctor; accepted
 * only when the reply verifies and its key is the one a handoff of that
 * case recorded. CW_EVERIFY otherwise (nothing written); CW_ENOTFOUND when
 * the case is not on this node. */
int cw_handoff_import_reply(cw_reply_report *out, cw_home *h, const char *path);

#endif
