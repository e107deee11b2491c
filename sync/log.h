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
 * Authors only append to their own chains: a chain whose head no longer
 * descends (by first parents) from the commit this store last ingested from
 * it, or whose seq ranges do not join, is equivocation (CW_EVERIFY naming
 * the author). The store remembers the last commit ingested from each chain
 * as the store value "cw-log:<C>:<A>" (40 hex), written in the same
 * transaction as the ops.
 *
 * Every function returns CW_OK or a negative cw_error code with a message
 * (util/error.h).
 */
#ifndef CW_LOG_H
#define CW_LOG_H

#include "../node/oplog.h"
#include "../node/store.h"
#include "../util/buf.h"

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
int cw_log_commit(size_t *commits_out, cw_log *log, cw_store *st, const cw_keys *me);

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
 * *ops_out = ops newly added (only on CW_OK). */
int cw_log_ingest(size_t *ops_out, cw_log *log, cw_store *st, const cw_keyring *kr);

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

/* A commit message, parsed. */
typedef struct {
	uint8_t case_id[CW_ID_BYTES];
	uint8_t author[CW_AUTHOR_BYTES];
	uint64_t first, last;
	uint8_t ops_hash[CW_HASH_BYTES];
} cw_log_message;

/* Parse a commit message (the bytes after the headers' blank line) from
 * outside: exactly the form above, nothing before or after.
 * CW_EINVALID otherwise; *out is written only on success. */
int cw_log_parse_message(cw_log_message *out, const char *msg, size_t len)
    __attribute__((warn_unused_result));

#endif
