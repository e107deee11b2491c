/* crypto/sshsig.c - OpenSSH SSHSIG signatures and git's gpgsig header (format in sshsig.h). */
#include "sshsig.h"
#include "../util/error.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "SSHSIG"
#define MAGIC_LEN 6
#define SIG_VERSION 1
#define KEY_TYPE "ssh-ed25519"
#define KEY_TYPE_LEN 11
#define BEGIN_LINE "-----BEGIN SSH SIGNATURE-----"
#define END_LINE "-----END SSH SIGNATURE-----"
#define WRAP 70
#define COMMENT_MAX 1024
/* The SSH wire public key: string "ssh-ed25519" | string pk. */
#define PUBKEY_BLOB_LEN (4 + KEY_TYPE_LEN + 4 + CW_PK_BYTES)
#define SIG_BLOB_LEN (4 + KEY_TYPE_LEN + 4 + CW_SIG_BYTES)
/* The largest blob the armour cap lets through (4 characters carry 3 bytes). */
#define BLOB_MAX (CW_SSHSIG_ARMOR_MAX / 4 * 3 + 3)
#define SIG_HEADER "gpgsig"
#define SIG_HEADER_LEN 6
#define B64 sodium_base64_VARIANT_ORIGINAL

static const char blob_what[] = "the SSH signature";

/* --- SSH wire format: big-endian lengths ----------------------------------- */

static void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int put_be32(cw_buf *b, uint32_t v)
{
	uint8_t t[4];

	store_be32(t, v);
	return cw_buf_put(b, t, sizeof(t));
}

static int put_string(cw_buf *b, const void *data, size_t len)
{
	int error;

	if (len > UINT32_MAX)
		return cw_error(CW_EINVALID, "internal: SSH string too long");
	if ((error = put_be32(b, (uint32_t)len)) < 0)
		return error;
	return cw_buf_put(b, data, len);
}

static int get_be32(cw_reader *r, uint32_t *out, const char *what)
{
	const uint8_t *p;
	int error;

	if ((error = cw_reader_get(r, &p, 4, what)) < 0)
		return error;
	*out = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
	return CW_OK;
}

/* A string: length, then that many bytes (borrowed from the input). */
static int get_string(cw_reader *r, const uint8_t **out, size_t *len_out, const char *what)
{
	uint32_t n;
	int error;

	if ((error = get_be32(r, &n, what)) < 0 || (error = cw_reader_get(r, out, n, what)) < 0)
		return error;
	*len_out = n;
	return CW_OK;
}

static int bytes_are(const uint8_t *p, size_t len, const char *s)
{
	size_t n = strlen(s);

	return len == n && (n == 0 || memcmp(p, s, n) == 0);
}

/* string "ssh-ed25519" | string v (n bytes): the wire form of an Ed25519
 * public key (n = 32) or signature (n = 64), into out (4 + 11 + 4 + n). */
static void typed_blob(uint8_t *out, const uint8_t *v, size_t n)
{
	store_be32(out, KEY_TYPE_LEN);
	memcpy(out + 4, KEY_TYPE, KEY_TYPE_LEN);
	store_be32(out + 4 + KEY_TYPE_LEN, (uint32_t)n);
	memcpy(out + 8 + KEY_TYPE_LEN, v, n);
}

static int namespace_ok(const char *ns)
{
	size_t i, n = strlen(ns);

	if (n == 0 || n > CW_SSHSIG_NAMESPACE_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (ns[i] <= ' ' || ns[i] > '~')
			return 0;
	return 1;
}

/* The bytes the Ed25519 signature covers (see sshsig.h). */
static int signed_data(cw_buf *out, const char *ns, const char *alg, const uint8_t *h, size_t hlen)
{
	int error;

	if ((error = cw_buf_put(out, MAGIC, MAGIC_LEN)) < 0 ||
	    (error = put_string(out, ns, strlen(ns))) < 0 || (error = put_string(out, "", 0)) < 0 ||
	    (error = put_string(out, alg, strlen(alg))) < 0)
		return error;
	return put_string(out, h, hlen);
}

/* --- armour ---------------------------------------------------------------- */

static int armor(cw_buf *out, const uint8_t *blob, size_t len)
{
	char b64[sodium_base64_ENCODED_LEN(BLOB_MAX, B64)];
	size_t n, i;
	int error;

	if (len > BLOB_MAX)
		return cw_error(CW_EINVALID, "internal: SSH signature too large");
	sodium_bin2base64(b64, sizeof(b64), blob, len, B64);
	n = strlen(b64);
	if ((error = cw_buf_put(out, BEGIN_LINE "\n", sizeof(BEGIN_LINE))) < 0)
		return error;
	for (i = 0; i < n; i += WRAP)
		if ((error = cw_buf_put(out, b64 + i, n - i < WRAP ? n - i : WRAP)) < 0 ||
		    (error = cw_buf_put_u8(out, '\n')) < 0)
			return error;
	return cw_buf_put(out, END_LINE "\n", sizeof(END_LINE));
}

static int is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_b64(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
	       c == '/' || c == '=';
}

/* The blob inside armoured text, into blob (BLOB_MAX bytes). */
static int dearmor(uint8_t *blob, size_t *len_out, const uint8_t *text, size_t len)
{
	static const char bad[] = "not an SSH signature (the armour is damaged)";
	const uint8_t *body;
	const char *end = NULL;
	size_t body_len, i, bin_len = 0;
	int rc;

	if (len > CW_SSHSIG_ARMOR_MAX)
		return cw_error(CW_EINVALID, "not an SSH signature (over %d bytes)", CW_SSHSIG_ARMOR_MAX);
	while (len > 0 && is_space(text[0])) {
		text++;
		len--;
	}
	while (len > 0 && is_space(text[len - 1]))
		len--;
	if (len < sizeof(BEGIN_LINE) - 1 || memcmp(text, BEGIN_LINE, sizeof(BEGIN_LINE) - 1) != 0)
		return cw_error(CW_EINVALID, "not an SSH signature (no \"%s\" line)", BEGIN_LINE);
	body = text + sizeof(BEGIN_LINE) - 1;
	body_len = len - (sizeof(BEGIN_LINE) - 1);
	if (body_len < sizeof(END_LINE) - 1 ||
	    memcmp(body + body_len - (sizeof(END_LINE) - 1), END_LINE, sizeof(END_LINE) - 1) != 0)
		return cw_error(CW_EINVALID, "not an SSH signature (no \"%s\" line)", END_LINE);
	body_len -= sizeof(END_LINE) - 1;
	/* the body is whole lines: "\n", base64 lines each ending in "\n" */
	if (body_len < 2 || (body[0] != '\n' && body[0] != '\r') || body[body_len - 1] != '\n')
		return cw_error(CW_EINVALID, "%s", bad);
	for (i = 0; i < body_len; i++)
		if (!is_b64(body[i]) && body[i] != '\n' &&
		    !(body[i] == '\r' && i + 1 < body_len && body[i + 1] == '\n'))
			return cw_error(CW_EINVALID, "%s", bad);
	rc = sodium_base642bin(blob, BLOB_MAX, (const char *)body, body_len, "\r\n", &bin_len, &end, B64);
	if (rc != 0 || end != (const char *)body + body_len)
		return cw_error(CW_EINVALID, "%s", bad);
	*len_out = bin_len;
	return CW_OK;
}

/* --- the blob -------------------------------------------------------------- */

typedef struct {
	const uint8_t *pk; /* CW_PK_BYTES */
	const uint8_t *ns;
	size_t ns_len;
	const uint8_t *alg;
	size_t alg_len;
	const uint8_t *sig; /* CW_SIG_BYTES */
} sshsig;

/* An Ed25519 key or signature blob: string "ssh-ed25519" | string <n bytes>. */
static int parse_typed(const uint8_t **out, size_t n, const uint8_t *p, size_t len, const char *what)
{
	cw_reader r;
	const uint8_t *type, *v;
	size_t type_len, v_len;
	int error;

	cw_reader_init(&r, p, len);
	if ((error = get_string(&r, &type, &type_len, what)) < 0)
		return error;
	if (!bytes_are(type, type_len, KEY_TYPE))
		return cw_error(CW_EINVALID, "%s is not Ed25519 (only ssh-ed25519 keys are accepted)", what);
	if ((error = get_string(&r, &v, &v_len, what)) < 0 || (error = cw_reader_end(&r, what)) < 0)
		return error;
	if (v_len != n)
		return cw_error(CW_EINVALID, "%s has the wrong length", what);
	*out = v;
	return CW_OK;
}

static int parse_blob(sshsig *s, const uint8_t *blob, size_t len)
{
	cw_reader r;
	const uint8_t *magic, *key, *reserved, *sig;
	size_t key_len, reserved_len, sig_len;
	uint32_t version;
	int error;

	cw_reader_init(&r, blob, len);
	if ((error = cw_reader_get(&r, &magic, MAGIC_LEN, blob_what)) < 0)
		return error;
	if (memcmp(magic, MAGIC, MAGIC_LEN) != 0)
		return cw_error(CW_EINVALID, "not an SSH signature (bad magic)");
	if ((error = get_be32(&r, &version, blob_what)) < 0)
		return error;
	if (version != SIG_VERSION)
		return cw_error(CW_EINVALID, "SSH signature version %u is not supported", (unsigned)version);
	if ((error = get_string(&r, &key, &key_len, blob_what)) < 0 ||
	    (error = get_string(&r, &s->ns, &s->ns_len, blob_what)) < 0 ||
	    (error = get_string(&r, &reserved, &reserved_len, blob_what)) < 0 ||
	    (error = get_string(&r, &s->alg, &s->alg_len, blob_what)) < 0 ||
	    (error = get_string(&r, &sig, &sig_len, blob_what)) < 0 ||
	    (error = cw_reader_end(&r, blob_what)) < 0)
		return error;
	if (reserved_len != 0)
		return cw_error(CW_EINVALID, "the SSH signature's reserved field is not empty");
	if ((error = parse_typed(&s->pk, CW_PK_BYTES, key, key_len, "the SSH signature's public key")) < 0 ||
	    (error = parse_typed(&s->sig, CW_SIG_BYTES, sig, sig_len, "the SSH signature's signature")) < 0)
		return error;
	return CW_OK;
}

/* --- sign and verify ------------------------------------------------------- */

int cw_sshsig_sign(cw_buf *out, const cw_keys *k, const char *namespace, const uint8_t *msg, size_t len)
{
	uint8_t h[crypto_hash_sha512_BYTES], sig[CW_SIG_BYTES], key[PUBKEY_BLOB_LEN], sigblob[SIG_BLOB_LEN];
	cw_buf tbs = CW_BUF_INIT, blob = CW_BUF_INIT;
	size_t start = out->len;
	int error;

	if (!namespace_ok(namespace)) {
		error = cw_error(CW_EINVALID, "internal: bad SSH signature namespace");
		goto done;
	}
	crypto_hash_sha512(h, msg, len);
	if ((error = signed_data(&tbs, namespace, "sha512", h, sizeof(h))) < 0)
		goto done;
	cw_keys_sign(sig, k, tbs.data, tbs.len);
	typed_blob(key, cw_keys_sign_pk(k), CW_PK_BYTES);
	typed_blob(sigblob, sig, CW_SIG_BYTES);
	if ((error = cw_buf_put(&blob, MAGIC, MAGIC_LEN)) < 0 || (error = put_be32(&blob, SIG_VERSION)) < 0 ||
	    (error = put_string(&blob, key, sizeof(key))) < 0 ||
	    (error = put_string(&blob, namespace, strlen(namespace))) < 0 ||
	    (error = put_string(&blob, "", 0)) < 0 || (error = put_string(&blob, "sha512", 6)) < 0 ||
	    (error = put_string(&blob, sigblob, sizeof(sigblob))) < 0)
		goto done;
	error = armor(out, blob.data, blob.len);
done:
	if (error < 0)
		out->len = start;
	cw_buf_dispose(&tbs);
	cw_buf_dispose(&blob);
	return error;
}

int cw_sshsig_verify(uint8_t pk_out[CW_PK_BYTES], const uint8_t *armored, size_t len, const char *namespace,
                     const uint8_t *msg, size_t msglen)
{
	uint8_t blob[BLOB_MAX], h[crypto_hash_sha512_BYTES];
	cw_buf tbs = CW_BUF_INIT;
	const char *alg;
	size_t blob_len = 0, hlen;
	sshsig s;
	int error;

	if (!namespace_ok(namespace)) {
		error = cw_error(CW_EINVALID, "internal: bad SSH signature namespace");
		goto done;
	}
	if ((error = dearmor(blob, &blob_len, armored, len)) < 0 ||
	    (error = parse_blob(&s, blob, blob_len)) < 0)
		goto done;
	if (bytes_are(s.alg, s.alg_len, "sha512")) {
		alg = "sha512";
		hlen = crypto_hash_sha512_BYTES;
		crypto_hash_sha512(h, msg, msglen);
	} else if (bytes_are(s.alg, s.alg_len, "sha256")) {
		alg = "sha256";
		hlen = crypto_hash_sha256_BYTES;
		crypto_hash_sha256(h, msg, msglen);
	} else {
		error = cw_error(CW_EINVALID, "the SSH signature uses an unknown hash algorithm");
		goto done;
	}
	if (!bytes_are(s.ns, s.ns_len, namespace)) {
		error = cw_error(CW_EVERIFY,
		                 "the SSH signature was made for another purpose (namespace is not \"%s\")",
		                 namespace);
		goto done;
	}
	if ((error = signed_data(&tbs, namespace, alg, h, hlen)) < 0)
		goto done;
	if (cw_keys_verify(s.sig, s.pk, tbs.data, tbs.len) != CW_OK) {
		error = cw_error(CW_EVERIFY, "the SSH signature does not match the signed data");
		goto done;
	}
	memcpy(pk_out, s.pk, CW_PK_BYTES);
	error = CW_OK;
done:
	cw_buf_dispose(&tbs);
	return error;
}

int cw_sshsig_pubkey_line(char **out, const uint8_t pk[CW_PK_BYTES], const char *comment)
{
	uint8_t key[PUBKEY_BLOB_LEN];
	char b64[sodium_base64_ENCODED_LEN(PUBKEY_BLOB_LEN, B64)];
	size_t clen = comment ? strlen(comment) : 0, n;
	char *line = NULL;
	int error = CW_OK;

	*out = NULL;
	if (clen > COMMENT_MAX || !cw_utf8_valid((const uint8_t *)(comment ? comment : ""), clen, 0)) {
		error = cw_error(CW_EINVALID, "a key comment is one line of at most %d bytes", COMMENT_MAX);
		goto done;
	}
	typed_blob(key, pk, CW_PK_BYTES);
	sodium_bin2base64(b64, sizeof(b64), key, sizeof(key), B64);
	n = KEY_TYPE_LEN + 1 + strlen(b64) + (clen ? 1 + clen : 0) + 1;
	if ((line = malloc(n)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	memcpy(line, KEY_TYPE " ", KEY_TYPE_LEN + 1);
	memcpy(line + KEY_TYPE_LEN + 1, b64, strlen(b64) + 1);
	if (clen) {
		line[n - clen - 2] = ' ';
		memcpy(line + n - clen - 1, comment, clen + 1);
	}
	*out = line;
done:
	return error;
}

/* --- git commits ----------------------------------------------------------- */

static int starts_with(const char *p, size_t len, const char *s)
{
	size_t n = strlen(s);

	return len >= n && memcmp(p, s, n) == 0;
}

/* The length of the header part of a commit: up to and including the
 * newline before the blank line. CW_EINVALID if the text does not start
 * with a tree line or has no blank line. */
static int header_len(size_t *out, const char *commit, size_t len)
{
	size_t i;

	if (len > CW_SSHSIG_COMMIT_MAX)
		return cw_error(CW_EINVALID, "the commit is too large (over %zu bytes)",
		                CW_SSHSIG_COMMIT_MAX);
	if (!starts_with(commit, len, "tree "))
		return cw_error(CW_EINVALID, "not a git commit (it does not start with a tree line)");
	for (i = 0; i + 1 < len; i++)
		if (commit[i] == '\n' && commit[i + 1] == '\n') {
			*out = i + 1;
			return CW_OK;
		}
	return cw_error(CW_EINVALID, "not a git commit (no blank line after the headers)");
}

int cw_sshsig_sign_commit(cw_buf *out, const cw_keys *k, const char *commit, size_t len)
{
	cw_buf sig = CW_BUF_INIT;
	size_t hlen = 0, i, start = out->len;
	const char *line;
	int error, committer = 0;

	if ((error = header_len(&hlen, commit, len)) < 0)
		goto done;
	for (line = commit; line < commit + hlen;
	     line = (const char *)memchr(line, '\n', (size_t)(commit + hlen - line)) + 1) {
		size_t left = (size_t)(commit + hlen - line);

		if (starts_with(line, left, SIG_HEADER)) {
			error = cw_error(CW_EINVALID, "the commit is already signed");
			goto done;
		}
		if (starts_with(line, left, "committer "))
			committer = 1;
	}
	if (!committer) {
		error = cw_error(CW_EINVALID, "not a git commit (no committer line)");
		goto done;
	}
	if ((error = cw_sshsig_sign(&sig, k, "git", (const uint8_t *)commit, len)) < 0)
		goto done;
	/* git: "gpgsig" then each line of the signature prefixed by a space */
	if ((error = cw_buf_put(out, commit, hlen)) < 0 ||
	    (error = cw_buf_put(out, SIG_HEADER, SIG_HEADER_LEN)) < 0)
		goto done;
	for (i = 0; i < sig.len;) {
		const uint8_t *eol = memchr(sig.data + i, '\n', sig.len - i);
		size_t n = (size_t)(eol - (sig.data + i)) + 1; /* armour lines all end in "\n" */

		if ((error = cw_buf_put_u8(out, ' ')) < 0 || (error = cw_buf_put(out, sig.data + i, n)) < 0)
			goto done;
		i += n;
	}
	error = cw_buf_put(out, commit + hlen, len - hlen);
done:
	if (error < 0)
		out->len = start;
	cw_buf_dispose(&sig);
	return error;
}

int cw_sshsig_verify_commit(uint8_t pk_out[CW_PK_BYTES], const char *commit, size_t len)
{
	cw_buf payload = CW_BUF_INIT, sig = CW_BUF_INIT;
	const char *line, *next, *end;
	size_t hlen = 0;
	int error, in_sig = 0, seen = 0;

	if ((error = header_len(&hlen, commit, len)) < 0)
		goto done;
	payload.cap = len;
	sig.cap = CW_SSHSIG_ARMOR_MAX;
	end = commit + hlen; /* every header line ends in "\n" */
	for (line = commit; line < end; line = next) {
		const char *from = NULL;

		next = (const char *)memchr(line, '\n', (size_t)(end - line)) + 1;
		if (in_sig && line[0] == ' ') {
			from = line + 1;
		} else if (starts_with(line, (size_t)(next - line), SIG_HEADER " ")) {
			if (seen) {
				error = cw_error(CW_EINVALID, "the commit carries two signatures");
				goto done;
			}
			seen = in_sig = 1;
			from = line + SIG_HEADER_LEN + 1;
		} else if (starts_with(line, (size_t)(next - line), SIG_HEADER)) {
			error = cw_error(CW_EINVALID,
			                 "the commit carries a signature header caseway does not use");
			goto done;
		} else {
			in_sig = 0;
		}
		if (from != NULL) {
			if ((size_t)(next - from) > CW_SSHSIG_ARMOR_MAX - sig.len) {
				error = cw_error(CW_EINVALID, "the commit's signature is too large");
				goto done;
			}
			error = cw_buf_put(&sig, from, (size_t)(next - from));
		} else {
			error = cw_buf_put(&payload, line, (size_t)(next - line));
		}
		if (error < 0)
			goto done;
	}
	if (!seen) {
		error = cw_error(CW_EVERIFY, "the commit is not signed");
		goto done;
	}
	if ((error = cw_buf_put(&payload, end, len - hlen)) < 0)
		goto done;
	error = cw_sshsig_verify(pk_out, sig.data, sig.len, "git", payload.data, payload.len);
done:
	cw_buf_dispose(&payload);
	cw_buf_dispose(&sig);
	return error;
}
