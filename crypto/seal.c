/* crypto/seal.c - sealed boxes and sealing to a public key (seal.h). */
#include "seal.h"
#include "../util/error.h"

#include <sodium.h>
#include <string.h>

#define BOX_HEADER 6
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define CTX_MAX 256
#define SEAL_MAX ((size_t)256 << 20)

static const uint8_t magic_box[4] = { 'C', 'W', 'S', 'B' };
static const uint8_t magic_to[4] = { 'C', 'W', 'S', 'T' };

static int make_ad(uint8_t *ad, const uint8_t *header, const void *ctx, size_t ctxlen)
{
	if (ctxlen > CTX_MAX)
		return cw_error(CW_EINVALID, "internal: sealing context too long");
	memcpy(ad, header, BOX_HEADER);
	if (ctxlen)
		memcpy(ad + BOX_HEADER, ctx, ctxlen);
	return CW_OK;
}

int cw_seal_box(cw_buf *out, const cw_secret *key, const void *ctx, size_t ctxlen, const uint8_t *plain,
                size_t len)
{
	uint8_t ad[BOX_HEADER + CTX_MAX], *p;
	size_t start = out->len;
	int error;

	if (cw_secret_len(key) != crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
		return cw_error(CW_EINVALID, "internal: a sealing key is 32 bytes");
	if (len > SEAL_MAX)
		return cw_error(CW_EINVALID, "too much data to seal at once");
	if ((error = cw_buf_grow(out, CW_SEAL_BOX_OVERHEAD + len)) < 0)
		return error;
	p = out->data + start;
	memcpy(p, magic_box, 4);
	p[4] = 1;
	p[5] = 1;
	randombytes_buf(p + BOX_HEADER, NONCE_BYTES);
	if ((error = make_ad(ad, p, ctx, ctxlen)) < 0)
		return error;
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
	    p + BOX_HEADER + NONCE_BYTES, p + BOX_HEADER + NONCE_BYTES + len, NULL, plain, len, ad,
	    BOX_HEADER + ctxlen, NULL, p + BOX_HEADER, cw_secret_data(key));
	out->len = start + CW_SEAL_BOX_OVERHEAD + len;
	return CW_OK;
}

int cw_seal_open(cw_buf *out, const cw_secret *key, const void *ctx, size_t ctxlen, const uint8_t *box,
                 size_t len)
{
	uint8_t ad[BOX_HEADER + CTX_MAX];
	size_t start = out->len, n;
	int error;

	if (len < CW_SEAL_BOX_OVERHEAD || memcmp(box, magic_box, 4) != 0)
		return cw_error(CW_EINVALID, "not a caseway sealed box");
	if (box[4] != 1 || box[5] != 1)
		return cw_error(CW_EINVALID, "unsupported sealed box version or algorithm");
	if (cw_secret_len(key) != crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
		return cw_error(CW_EINVALID, "internal: a sealing key is 32 bytes");
	n = len - CW_SEAL_BOX_OVERHEAD;
	if ((error = make_ad(ad, box, ctx, ctxlen)) < 0 || (error = cw_buf_grow(out, n ? n : 1)) < 0)
		return error;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
	        out->data + start, NULL, box + BOX_HEADER + NONCE_BYTES, n, box + len - TAG_BYTES, ad,
	        BOX_HEADER + ctxlen, box + BOX_HEADER, cw_secret_data(key)) != 0) {
		sodium_memzero(out->data + start, n);
		return cw_error(CW_EVERIFY, "sealed data does not open: wrong key, or altered");
	}
	out->len = start + n;
	return CW_OK;
}

int cw_seal_to(cw_buf *out, const uint8_t box_pk[CW_PK_BYTES], const uint8_t *msg, size_t len)
{
	size_t start = out->len;
	int error;

	if (len > SEAL_MAX)
		return cw_error(CW_EINVALID, "too much data to seal at once");
	if ((error = cw_buf_put(out, magic_to, 4)) < 0 || (error = cw_buf_put_u8(out, 1)) < 0 ||
	    (error = cw_buf_grow(out, crypto_box_SEALBYTES + len)) < 0) {
		out->len = start;
		return error;
	}
	if (crypto_box_seal(out->data + out->len, msg, len, box_pk) != 0) {
		out->len = start;
		return cw_error(CW_EINVALID, "cannot seal to that key");
	}
	out->len += crypto_box_SEALBYTES + len;
	return CW_OK;
}

int cw_seal_unseal(cw_secret **out, const cw_keys *k, const uint8_t *sealed, size_t len)
{
	cw_secret *s = NULL;
	int error;

	*out = NULL;
	if (len < CW_SEAL_TO_OVERHEAD || memcmp(sealed, magic_to, 4) != 0 || len > SEAL_MAX)
		return cw_error(CW_EINVALID, "not something sealed by caseway");
	if (sealed[4] != 1)
		return cw_error(CW_EINVALID, "unsupported sealed version %u", sealed[4]);
	if ((error = cw_secret_new(&s, len - CW_SEAL_TO_OVERHEAD)) < 0)
		goto done;
	if (crypto_box_seal_open(cw_secret_bytes(s), sealed + 5, len - 5, cw_keys_box_pk(k),
	                         cw_secret_data(cw_keys__box_sk(k))) != 0) {
		error = cw_error(CW_EVERIFY, "sealed data is not for this device, or was altered");
		goto done;
	}
	*out = s;
	s = NULL;
done:
	cw_secret_free(s);
	return error;
}
