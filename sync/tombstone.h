/*
 * sync/tombstone.h - erasure tombstones (DESIGN 3.6: the right to be
 * forgotten): signed, travelling like the chains, and applied on every node
 * that receives them.
 *
 * A tombstone for case C is a signed note (sync/log.h cw_log_note_write):
 * a commit of the empty tree with no parent, author and committer
 * "<A> <<A>@caseway> <at> +0000", signed by device A as an OpenSSH SSHSIG
 * in its gpgsig header, whose message is exactly
 *
 *     caseway erasure v1\n
 *     \n
 *     case: <C: 32 lower-case hex>\n
 *     by: <A: 16 lower-case hex>\n
 *     at: <unix seconds, decimal, no leading zero>\n
 *
 * and the ref refs/cw/erased/<C> names it (sync/log.h). It carries no
 * patient data. Bundles carry the tombstones the peer has not acknowledged,
 * to every peer; a git hub holds them beside the chains.
 *
 * The erasure right: a device whose role in the newest roster is hub, or
 * the device that created the case as this node's store knows it
 * (node/erase.h cw_erase_creator). A node that cannot read the
 * case (it holds no op of it, e.g. a hub-less relay or a clinic the case
 * was not shared with) cannot know the creator: it accepts a tombstone
 * from a hub, or from a coordinator that has a chain of its own in that
 * case: held in this node's log (verified when taken), or arriving with
 * it and its tip commit verifying (signed by that coordinator, of that
 * case; a ref name alone does not count). From anyone else it refuses it,
 * except that a coordinator's tombstone for a case this node has never
 * heard of is set aside (nothing to erase, nothing to judge it by).
 *
 * Every function returns CW_OK or a negative cw_error code with a message.
 */
#ifndef CW_TOMBSTONE_H
#define CW_TOMBSTONE_H

#include "../node/erase.h"
#include "../node/home.h"
#include "bundle.h"
#include "log.h"

#include <stddef.h>
#include <stdint.h>

/* Longest tombstone message accepted. */
#define CW_TOMBSTONE_MESSAGE_MAX 160u

/* The message for case_id, erased by device `by` (16 lower-case hex) at
 * `at` (>= 0), appended to out. */
int cw_tombstone_format(cw_buf *out, const uint8_t case_id[CW_ID_BYTES], const char *by, int64_t at);

/* Parse a message from outside: exactly the form above, nothing before or
 * after. Sets out's case_id, by and at (tombstone left empty). CW_EINVALID
 * otherwise; *out is written only on success. */
int cw_tombstone_parse(cw_erasure *out, const char *msg, size_t len) __attribute__((warn_unused_result));

/* Write (object only, no ref) a tombstone for case_id signed by me, dated
 * at. No right is checked here: see cw_tombstone_erase. */
int cw_tombstone_write(cw_erasure *out, cw_log *log, const cw_keys *me, const uint8_t case_id[CW_ID_BYTES],
                       int64_t at);

/* Read and check the tombstone at oid_hex: a signed note by a key of kr
 * whose message parses, whose `by` is its signer. CW_EVERIFY / CW_EINVALID
 * otherwise. */
int cw_tombstone_read(cw_erasure *out, cw_log *log, const char *oid_hex, const cw_keyring *kr);

/* Tombstones from outside that passed cw_tombstone_check. */
typedef struct {
	cw_erasure *v;
	size_t n;
	size_t set_aside; /* tombstones of cases unknown here, not applied */
} cw_tombstone_set;

void cw_tombstone_set_dispose(cw_tombstone_set *s);

/* Check every tombstone among tips (refs/cw/erased/<C>; objects already in
 * the repository) for a case this store has not erased yet: the signature
 * (cw_tombstone_read), that it names the case of its ref, that its signer
 * is in the newest roster, is not revoked, and holds the erasure right
 * (above).
 * refused NULL (a bundle: one signed unit): the first that fails is
 * CW_EVERIFY naming the device and the case, nothing is kept and nothing
 * changed.
 * refused not NULL (a pull: anyone with write access to the hub can put a
 * tombstone there): one that fails is left out of *out (its case's chains
 * come in as usual). The first one not told before is described in
 * refused (cap bytes; "" when none) and remembered in the store's meta
 * (cw-refused:refs/cw/erased/<C> = its id), so the same tombstone is left
 * out quietly on later pulls; the caller reports refused (exit 4) after
 * taking the rest. */
int cw_tombstone_check(cw_tombstone_set *out, char *refused, size_t cap, cw_home *h, cw_log *log,
                       const cw_keyring *kr, const cw_bundle_ref *tips, size_t ntips);

/* A copy of tips (malloc'd, *n_out entries; free()) without the chains of
 * cases erased here or in s (may be NULL); *ignored_out counts them. */
int cw_tombstone_filter(cw_bundle_ref **out, size_t *n_out, size_t *ignored_out, cw_store *st,
                        const cw_tombstone_set *s, const cw_bundle_ref *tips, size_t ntips);

/* Erase in st, in the caller's transaction, every case of s (node/erase.h
 * cw_erase_record). */
int cw_tombstone_apply(cw_store *st, const cw_tombstone_set *s);

/* The work after the store's erasures commit: tombstone refs made and
 * chain refs dropped (cw_log_erasure_sweep), document files removed, the
 * store's write-ahead log emptied, and log.git pruned when due
 * (cw_log_prune_pending: no object of a dropped chain stays). Safe to run
 * at any time, and again; not in a store transaction, and not while refs
 * other than the log's own must keep objects alive (a pull runs it after
 * clearing its staging refs). A store log that cannot be emptied now
 * (another reader) is not an error. */
int cw_tombstone_finish(cw_home *h, cw_log *log);

/* `caseway erase`: erase case_id on this node. The right: this device's
 * role is hub, or it created the case (CW_ERROR otherwise, nothing
 * changed). Writes the tombstone, records the erasure in the store (one
 * transaction), then cw_tombstone_finish. *already = 1 when the case was
 * already erased (the rest of a crashed erasure is completed); out
 * receives the erasure. CW_ENOTFOUND when the case is not on this node. */
int cw_tombstone_erase(cw_erasure *out, int *already, cw_home *h, const uint8_t case_id[CW_ID_BYTES]);

#endif
