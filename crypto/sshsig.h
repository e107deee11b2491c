/*
 * crypto/sshsig.h - OpenSSH SSHSIG signatures with the device's Ed25519 key,
 * and git's signed-commit format, so stock `git verify-commit` (gpg.format
 * ssh, an allowed_signers file) and `ssh-keygen -Y verify` accept caseway's
 * signatures (DESIGN 3.5).
 *
 * The signature blob (OpenSSH PROTOCOL.sshsig; "string" is a big-endian
 * uint32 length then the bytes):
 *
 *   "SSHSIG" | uint32 1 | string publickey | string namespace |
 *   string reserved ("") | string hash_algorithm | string signature
 *
 * publickey = string "ssh-ed25519" | string pk (32 bytes); signature =
 * string "ssh-ed25519" | string sig (64 bytes). The Ed25519 signature covers
 *
 *   "SSHSIG" | string namespace | string "" | string hash_algorithm |
 *   string H(message)
 *
 * We sign with sha512; we verify sha512 or sha256 (both are in the spec).
 * Armour: "-----BEGIN SSH SIGNATURE-----\n", the blob in padded standard
 * base64 cut into lines of 70 characters, each ending in "\n",
 * "-----END SSH SIGNATURE-----\n" -- byte for byte what ssh-keygen writes,
 * so a signature from the same key over the same data is identical.
 *
 * Only Ed25519 keys are accepted. Namespaces are 1 to CW_SSHSIG_NAMESPACE_MAX
 * printable ASCII characters without spaces (git uses "git").
 */
#ifndef CW_SSHSIG_H
#define CW_SSHSIG_H

#include "../util/buf.h"
#include "keys.h"

#include <stddef.h>
#include <stdint.h>

#define CW_SSHSIG_NAMESPACE_MAX 64
/* Caps on outside bytes: armoured signature text, and a whole commit. */
#define CW_SSHSIG_ARMOR_MAX 8192
#define CW_SSHSIG_COMMIT_MAX ((size_t)4 << 20)

/* Sign msg as an armoured SSHSIG (text, newline-terminated) for namespace
 * (e.g. "git"), appended to out (out unchanged on failure). CW_EINVALID for
 * a bad namespace. */
int cw_sshsig_sign(cw_buf *out, const cw_keys *k, const char *namespace, const uint8_t *msg, size_t len);

/* Verify an armoured SSHSIG over msg: namespace and hash algorithm (sha512
 * or sha256) must match; on success the signer's Ed25519 key in pk_out
 * (untouched on failure). White space around the armour is allowed, and
 * "\r\n" line ends. CW_EINVALID when the text is malformed: no armour,
 * damaged base64, a length that runs past the end, trailing bytes, another
 * version, a key type other than ssh-ed25519, an unknown hash algorithm, a
 * non-empty reserved field, or more than CW_SSHSIG_ARMOR_MAX bytes.
 * CW_EVERIFY when it is well formed but the signature does not hold for msg,
 * or was made for another namespace. The caller decides whether pk_out is a
 * key it trusts (compare with cw_secret_equal). */
int cw_sshsig_verify(uint8_t pk_out[CW_PK_BYTES], const uint8_t *armored, size_t len, const char *namespace,
                     const uint8_t *msg, size_t msglen) __attribute__((warn_unused_result));

/* "ssh-ed25519 AAAAC3Nza... comment" for an allowed_signers file (prefix it
 * with "<principal> ") or authorized_keys: one line without a newline,
 * malloc'd into *out (free()). comment may be NULL or "" for none; otherwise
 * at most 1024 bytes of UTF-8 without control characters (CW_EINVALID). */
int cw_sshsig_pubkey_line(char **out, const uint8_t pk[CW_PK_BYTES], const char *comment);

/* Sign a raw git commit object body (the text git hashes, without gpgsig:
 * what `git cat-file commit` prints) with namespace "git": appends to out
 * the commit text with a `gpgsig` header holding the armoured signature,
 * continuation lines prefixed by a space, inserted where git puts it: after
 * the last header line (the committer line, or encoding/mergetag headers
 * that follow it), before the blank line. `git hash-object -t commit -w`
 * of the result gives the same object `git commit-tree -S` makes with the
 * same key. CW_EINVALID when the text is not a commit (no "tree " first
 * line, no committer line, no blank line after the headers), already
 * carries a gpgsig* header, or is larger than CW_SSHSIG_COMMIT_MAX. */
int cw_sshsig_sign_commit(cw_buf *out, const cw_keys *k, const char *commit, size_t len);

/* Split a signed commit into the signature (the `gpgsig` header) and the
 * signed payload (the commit without that header, as git computes it) and
 * verify with namespace "git"; pk_out = signer (untouched on failure).
 * CW_EVERIFY when the commit is unsigned or the signature does not hold;
 * CW_EINVALID when it is malformed as for cw_sshsig_verify, does not start
 * with a tree line, has no blank line after the headers, carries two gpgsig
 * headers or another gpgsig* header (such as gpgsig-sha256), or is larger
 * than CW_SSHSIG_COMMIT_MAX. */
int cw_sshsig_verify_commit(uint8_t pk_out[CW_PK_BYTES], const char *commit, size_t len)
    __attribute__((warn_unused_result));

#endif
