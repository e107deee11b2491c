/*
 * sync/log.h - the git-backed change log (DESIGN 3.5): every op also lives
 * in a bare git repository, HOME/log.git, so nodes sync through git.
 *
 * For case C and author A (device id) the ref
 *
 *     refs/cw/case/<C: 32 hex>/<A: 16 hex>
 *
 * points at A's newest commit for C. A commit carries one batch of A's ops
 * for C, in seq order, in the blob `ops` of its tree:
 *
 *     ops   = cw_seal_box(case key, context "cw-ops" | C[16] | A[8], batch)
 *     batch = u32le count | count x ( u32le length | op bytes )
 *
 * Its parents: first A's previous commit for C (none for the commit that
 * starts the chain at seq 1), then the heads of the other authors' chains
 * for C held in the repository when it was written, in ref-name order. Its
 * author and committer are "<A> <<A>@caseway> <seconds> +0000" (seconds of
 * the newest op's stamp), its message exactly
 *
 *     caseway ops v1\n
 *     \n
 *     case: <C>\n
 *     author: <A>\n
 *     seq: <first>-<last>\n
 *     ops-blake2b: <BLAKE2b-256 of the ops blob, 64 hex>\n
 *
 * (lower-case hex, decimal seqs without leading zeros, 1 <= first <= last,
 * at most CW_LOG_BATCH_MAX_OPS ops), and it is signed by A's key as an
 * OpenSSH SSHSIG in the `gpgsig` header, so stock `git verify-commit` with
 * the file from cw_log_allowed_signers reports a good signature.
 *
 * Beside `ops` the tree holds the grants of the case key (node/grant.h):
 * one blob "grant.<generation>.<device id>" per device the key is sealed to
 * (the author, every hub of the roster, every member of the case), so a
 * member that has never held the key can read the chain. A grant blob is
 * reused from the parent commit while nothing about it changes.
 *
 * A commit whose batch adds a document (an op of kind document naming its
 * content address) also carries, when the author's node holds it, the
 * encrypted document file exactly as stored in HOME/docs (node/docs.h) as
 * the blob "doc.<address: 64 hex>" - streamed into the object database, and
 * only in that commit. Taking a commit's ops takes its documents: every such
 * blob must be named by a document op of the same commit; a node holding a
 * key of the case that lacks the file checks it (it opens with a key of the
 * case to that address) before linking it into HOME/docs, else CW_EVERIFY
 * naming the document and nothing is taken. A node without a key of the
 * case keeps the blob as ciphertext only.
 *
 * Authors only append to their own chains: a chain whose head no longer
 * descends (by first parents) from the commit this store last ingested from
 * it, or whose seq ranges do not join, is equivocation (CW_EVERIFY naming
 * the author). The store remembers the last commit ingested from each chain
 * as the store value "cw-log:<C>:<A>" (40 hex), written in the same
 * transaction as the ops. A chain of a case this node holds no key for is
 * checked (signatures, linkage) but not opened; the head checked is kept as
 * "cw-log-checked:<C>:<A>" so the next ingest checks only what is newer.
 *
 * Every function returns CW_OK or a negative cw_error code with a message
 * (util/error.h).
 */
#ifndef CW_LOG_H
#define CW_LOG_H

#include "../node/home.h"
#include "../node/oplog.h"
#include "../node/store.h"
#include "../util/buf.h"
#include "bundle.h"

#include <stddef.h>
#include <stdint.h>

/* Most ops one commit carries, and most bytes of a batch (plaintext). */
#define CW_LOG_BATCH_MAX_OPS 65536u
#define CW_LOG_BATCH_MAX_BYTES ((size_t)48 << 20)
/* Most commits one chain may hold (walks stop with CW_EINVALID beyond). */
#define CW_LOG_CHAIN_MAX 1000000u
/* Longest commit message accepted by cw_log_parse_message. */
#define CW_LOG_MESSAGE_MAX 256u

typedef struct cw_log cw_log;

/* Open HOME/log.git (home_dir must exist), creating a bare repository when
 * it is missing. Free with cw_log_free. */
int cw_log_open(cw_log **out, const char *home_dir);
void cw_log_free(cw_log *log);

/* For every case where this device's ops in st (author = me's id) go past
 * what its chain carries, write one signed commit with the new ops and move
 * the chain's ref to it (fast-forward only; a ref moved by someone else
 * meanwhile fails with CW_EEXISTS and nothing else of that commit takes
 * effect). *commits_out = commits written (0 when there was nothing new).
 * CW_ENOTFOUND when the store lacks the key of a case it wrote to;
 * CW_EVERIFY when the chain carries ops of me the store does not hold. */
int cw_log_commit(size_t *commits_out, cw_log *log, cw_store *st, const cw_keys *me, const cw_roster *roster);

/* Take into st the ops of every chain under refs/cw/case/ that st does not
 * hold yet: commits are walked oldest first, each verified (message, ref
 * name, signature by the author's key in kr, chain linkage, ops hash), the
 * batch opened with the case key and every op given to cw_oplog_ingest,
 * all in one store transaction (cw_oplog_flush before commit).
 * Chains of cases this node holds no key for are verified, then skipped
 * (cw_log_skipped says how many). Any failed check rolls back everything:
 * CW_EVERIFY (forgery, unknown or revoked signer, equivocation, altered
 * blob) or CW_EINVALID (malformed commit, message or batch). CW_EWAIT when
 * some ops need ops of a chain that is not in the repository: everything
 * else is kept (committed) and those chains are retried next time.
 * *ops_out = ops newly added (on CW_OK and on CW_EWAIT).
 * When me is not NULL, a case whose key the store lacks takes it from a
 * grant to me in the newest commit of one of its chains (that commit
 * checked first). */
int cw_log_ingest(size_t *ops_out, cw_log *log, cw_store *st, const cw_keyring *kr, const cw_keys *me);

/* Work a caller adds to the transaction that takes ops (cw_log_take): fn
 * runs after the ops are in, before the refs move and the store commits;
 * an error from it undoes everything. */
typedef struct {
	int (*fn)(cw_store *st, void *ctx);
	void *ctx;
} cw_log_hook;

/* The same for chain heads from outside (a bundle's refs, a fetch), whose
 * objects are in the repository but not yet under refs/cw/case/: names
 * outside refs/cw/case/ are ignored; a head this repository holds already,
 * or an ancestor of it, changes nothing; a head that does not continue the
 * chain's current head is equivocation (CW_EVERIFY naming the author, and
 * nothing taken). The refs move to the new heads inside the same store
 * transaction, just before it commits (so a crash leaves the refs ahead of
 * the store, which the next ingest catches up from). hook (may be NULL)
 * runs in that transaction, even when there is nothing new to take. Then
 * every chain of the repository that waited for ops is retried (as
 * cw_log_ingest): CW_EWAIT only when some still wait, *ops_out counting
 * everything taken. */
int cw_log_take(size_t *ops_out, cw_log *log, cw_store *st, const cw_keyring *kr, const cw_keys *me,
                const cw_bundle_ref *tips, size_t ntips, const cw_log_hook *hook);

/* Chains skipped by the last cw_log_ingest for want of a case key. */
size_t cw_log_skipped(const cw_log *log);

/* Check every commit of every chain: message, ref name, signature by the
 * author's key in kr, blob hash, chain linkage down to seq 1. The ops are
 * not decrypted. *commits_out = commits checked. */
int cw_log_verify(size_t *commits_out, cw_log *log, const cw_keyring *kr);

/* An allowed_signers file for stock git (gpg.ssh.allowedSignersFile), one
 * line per key of kr, appended to out:
 *     <device id>@caseway namespaces="git" ssh-ed25519 AAAA...\n
 * git looks the principal up by the committer's e-mail address, which
 * cw_log_commit sets to <device id>@caseway. */
int cw_log_allowed_signers(cw_buf *out, const cw_keyring *kr);

/* The roster travels as its own chain: refs/cw/roster/<seq> (decimal) names
 * a commit with no parents whose tree holds the blob `roster` (the signed
 * roster, crypto/cert.h, whose bytes link each version to the one before)
 * and whose message is "caseway roster v1\n\nseq: <seq>\n", authored and
 * committed by "caseway <org@caseway> <issued_at> +0000": every node writes
 * the same object for the same roster. */

/* Write every roster version h holds that the repository lacks. */
int cw_log_roster_publish(cw_log *log, cw_home *h);

/* Take the roster versions named by the refs/cw/roster/ refs among tips
 * (objects already in the repository), oldest first: each must be exactly
 * the commit above and pass cw_org_accept_roster; then its ref is made.
 * *taken_out = versions looked at. */
int cw_log_roster_take(size_t *taken_out, cw_log *log, cw_home *h, const cw_bundle_ref *tips, size_t ntips);

/* A signed note (a bundle's manifest): a commit of the empty tree with no
 * parents, author and committer "<id> <<id>@caseway> <when> +0000", message
 * msg, signed by me as for chain commits. Writes it; *oid_out = its id. */
int cw_log_note_write(char oid_out[41], cw_log *log, const cw_keys *me, int64_t when, const char *msg,
                      size_t len);

/* Read and check a signed note: exactly that form, signed by a key in kr.
 * Appends its message to msg_out and sets the signer's device id. */
int cw_log_note_read(cw_buf *msg_out, char signer_out[CW_DEVICE_ID_LEN + 1], cw_log *log, const char *oid_hex,
                     const cw_keyring *kr);

/* The bare repository's path (for sync/bundle.h). */
const char *cw_log_path(const cw_log *log);

/* Every direct ref whose name starts with prefix, sorted by name. */
int cw_log_refs(cw_bundle_ref **out, size_t *n_out, cw_log *log, const char *prefix);

/* *generation = the newest key generation the commit's tree grants (0:
 * none); *yes = 1 when it grants that generation to device_id. */
int cw_log_granted(int *yes, uint32_t *generation, cw_log *log, const char *commit_hex,
                   const char *device_id);

/* *yes = 1 when ancestor is descendant or one of its ancestors. */
int cw_log_is_ancestor(int *yes, cw_log *log, const char *ancestor_hex, const char *descendant_hex);

/* CW_OK unless tip is a chain of a device kr holds revoked that goes past
 * what the revocation accepts (CW_EVERIFY naming the device and case).
 * cw_log_take checks every tip so; a pull checks first and skips. */
int cw_log_check_revoked(cw_log *log, const cw_keyring *kr, const cw_bundle_ref *tip);

/* Move every loose ref into packed-refs (as `git pack-refs --all`): after
 * taking many chains at once, so thousands of refs do not stay one small
 * file each. Callers do it at CW_LOG_PACK_REFS_AT refs or more. */
#define CW_LOG_PACK_REFS_AT 256

/* A node takes a new generation of a case key at most this far above the
 * newest it holds (rotation steps by 1 + a 16-bit random jump; this allows
 * 16 missed rotations). */
#define CW_LOG_GENERATION_STEP_MAX (16u * 65536u)
int cw_log_pack_refs(cw_log *log);

/* fn(case, head commit, last seq it carries) for every chain of author in
 * this repository, by case (what `org revoke` names as accepted). */
int cw_log_chains_of(cw_log *log, const uint8_t author[CW_AUTHOR_BYTES],
                     int (*fn)(const uint8_t case_id[CW_ID_BYTES], const char *commit_hex, uint64_t last_seq,
                               void *ctx),
                     void *ctx);

/* ---- erasure (node/erase.h, sync/tombstone.h) ----
 * An erased case C keeps one ref, refs/cw/erased/<C: 32 hex>, naming its
 * signed tombstone; its chains are dropped. */
#define CW_LOG_ERASED_PREFIX "refs/cw/erased/"
#define CW_LOG_ERASED_REF_LEN (sizeof(CW_LOG_ERASED_PREFIX) - 1 + 2 * CW_ID_BYTES)

/* For every case the store records as erased: make its tombstone ref when
 * it is missing, and delete its refs/cw/case/<C>/ refs (*dropped_out, may
 * be NULL, counts them). cw_log_ingest runs it first, so a crash between
 * the store's erasure and the refs' is completed by the next sync. */
int cw_log_erasure_sweep(size_t *dropped_out, cw_log *log, cw_store *st);

/* 1 and the case id when name is refs/cw/erased/<C>, else 0. */
int cw_log_erased_ref(uint8_t case_id[CW_ID_BYTES], const char *name);

/* 1, the case id and (author_out, may be NULL) the author when name is a
 * chain ref refs/cw/case/<C>/<A>, else 0. */
int cw_log_chain_case(uint8_t case_id[CW_ID_BYTES], char author_out[CW_DEVICE_ID_LEN + 1], const char *name);

/* Check the tip commit of one chain ref from outside (objects already in
 * the repository) as a chain commit is checked when taken: of the case and
 * author its name says, signed by that author's key in kr. CW_EVERIFY /
 * CW_EINVALID otherwise. (The erasure right of a node that cannot read a
 * case: sync/tombstone.h.) */
int cw_log_chain_tip_verify(cw_log *log, const cw_keyring *kr, const cw_bundle_ref *tip);

/* Pruning: caseway runs no `git gc`, so the objects of dropped chains
 * (their sealed ops and the grant blobs that open them with a member
 * device's key) would stay in log.git. cw_log_prune finds every object
 * reachable from any ref, removes every other loose object, and rewrites
 * each pack holding an unreachable object into one new pack of what stays
 * in it (whole, indexed and synced before the old packs go), so no object
 * unreachable from the refs remains; an interrupted prune leaves only extra
 * objects, never missing ones. Its cost: reading every commit and tree,
 * plus rewriting the packs that held a dropped object. A mark file in log.git says a prune is due:
 * cw_log_prune_want makes it (the sweep makes it before dropping a chain
 * ref; callers when chains of erased cases were left out after their
 * objects came in), cw_log_prune removes it when done, and
 * cw_log_prune_pending prunes when it is there. Run them only where no
 * other ref must stay alive (after the pull's staging refs are cleared)
 * and outside a store transaction. The handle is reopened after a prune. */
int cw_log_prune_want(cw_log *log);
int cw_log_prune_pending(cw_log *log);
int cw_log_prune(cw_log *log);

/* A commit message, parsed. */
typedef struct {
	uint8_t case_id[CW_ID_BYTES];
	uint8_t author[CW_AUTHOR_BYTES];
	uint64_t first, last;
	uint8_t ops_hash[CW_HASH_BYTES];
	uint32_t generation; /* of the case key the ops are sealed under (1 when not named) */
} cw_log_message;

/* Split an opened batch (outside bytes, after its box opened) into ops:
 * exactly the count msg's seq range names, each decoding as an op of msg's
 * case and author with the next seq, nothing after; fn(op bytes, length)
 * for each, pointing into plain. CW_EINVALID malformed, CW_EVERIFY when the
 * ops are not the ones the signed message names. */
int cw_log_batch_each(const uint8_t *plain, size_t len, const cw_log_message *msg,
                      int (*fn)(const uint8_t *op, size_t len, void *ctx), void *ctx);

/* Parse a commit message (the bytes after the headers' blank line) from
 * outside: exactly the form above, nothing before or after.
 * CW_EINVALID otherwise; *out is written only on success. */
int cw_log_parse_message(cw_log_message *out, const char *msg, size_t len)
    __attribute__((warn_unused_result));

#endif
