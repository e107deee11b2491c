/* crypto/docstream.c - documents encrypted as a stream, chunk by chunk. */
#include "docstream.h"
#include "../util/buf.h"
#include "../util/error.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC "CWDS"
#define VERSION 1
#define ALG_SECRETSTREAM 1
#define PREFIX_BYTES 10 /* magic, version, algorithm, chunk size: the AD */
#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define TAG_FINAL crypto_secretstream_xchacha20poly1305_TAG_FINAL

#define SUBKEY_STREAM 1
#define SUBKEY_ADDRESS 2

#define DAMAGED "the document is damaged or was tampered with"

static const char kdf_context[crypto_kdf_CONTEXTBYTES] = { 'c', 'w', 'd', 'o', 'c', 's', '_', '_' };

/* The layout in this header must match the code. */
_Static_assert(CW_DOCSTREAM_HEADER_BYTES == PREFIX_BYTES + crypto_secretstream_xchacha20poly1305_HEADERBYTES,
               "docstream header size");
_Static_assert(CW_DOCSTREAM_CHUNK_OVERHEAD == ABYTES, "docstream chunk overhead");
_Static_assert(CW_DOCSTREAM_ADDRESS_BYTES <= crypto_generichash_BYTES_MAX, "address size");

/* Where stream bytes come from: a file descriptor or a memory buffer. */
typedef struct {
	int fd;
	const uint8_t *data;
	size_t len, pos;
} source;

/* The two subkeys of a case key. */
typedef struct {
	cw_secret *stream;
	cw_secret *address;
} subkeys;

static void subkeys_dispose(subkeys *k)
{
	cw_secret_free(k->stream);
	cw_secret_free(k->address);
	k->stream = k->address = NULL;
}

static int subkeys_derive(subkeys *out, const cw_secret *key)
{
	subkeys k = { NULL, NULL };
	int error;

	if (cw_secret_len(key) != crypto_kdf_KEYBYTES) {
		error = cw_error(CW_EINVALID, "a case key is %d bytes", crypto_kdf_KEYBYTES);
		goto done;
	}
	if ((error = cw_secret_new(&k.stream, crypto_secretstream_xchacha20poly1305_KEYBYTES)) < 0 ||
	    (error = cw_secret_new(&k.address, CW_DOCSTREAM_ADDRESS_BYTES)) < 0)
		goto done;
	if (crypto_kdf_derive_from_key(cw_secret_bytes(k.stream), cw_secret_len(k.stream), SUBKEY_STREAM,
	                               kdf_context, cw_secret_data(key)) != 0 ||
	    crypto_kdf_derive_from_key(cw_secret_bytes(k.address), cw_secret_len(k.address), SUBKEY_ADDRESS,
	                               kdf_context, cw_secret_data(key)) != 0) {
		error = cw_error(CW_ERROR, "document key derivation failed");
		goto done;
	}
	*out = k;
	k.stream = k.address = NULL;
	error = CW_OK;
done:
	subkeys_dispose(&k);
	return error;
}

/* Read up to len bytes, stopping early only at the end of the input;
 * *got says how many. Short reads from pipes are joined up, so where chunks
 * end never depends on how the input arrives. */
static int source_read(source *s, uint8_t *buf, size_t len, size_t *got, const char *what)
{
	size_t n = 0;

	if (s->fd < 0) {
		n = s->len - s->pos < len ? s->len - s->pos : len;
		if (n > 0)
			memcpy(buf, s->data + s->pos, n);
		s->pos += n;
		*got = n;
		return CW_OK;
	}
	while (n < len) {
		ssize_t r = read(s->fd, buf + n, len - n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return cw_error_os(what);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*got = n;
	return CW_OK;
}

static int write_all(int fd, const uint8_t *p, size_t len, const char *what)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return cw_error_os(what);
		}
		p += n;
		len -= (size_t)n;
	}
	return CW_OK;
}

static void put_prefix(uint8_t prefix[PREFIX_BYTES], uint32_t chunk_size)
{
	memcpy(prefix, MAGIC, 4);
	prefix[4] = VERSION;
	prefix[5] = ALG_SECRETSTREAM;
	cw_store32(prefix + 6, chunk_size);
}

int cw_docstream_encrypt_chunked(uint8_t address_out[CW_DOCSTREAM_ADDRESS_BYTES], uint64_t *size_out,
                                 int in_fd, int out_fd, const cw_secret *key, uint32_t chunk_size,
                                 cw_docstream_progress progress, void *ctx)
{
	crypto_secretstream_xchacha20poly1305_state st;
	crypto_generichash_state hash;
	uint8_t header[CW_DOCSTREAM_HEADER_BYTES];
	uint8_t address[CW_DOCSTREAM_ADDRESS_BYTES];
	uint8_t *plain = NULL, *cipher = NULL;
	subkeys k = { NULL, NULL };
	source src = { in_fd, NULL, 0, 0 };
	uint64_t total = 0;
	size_t got = 0;
	int error, final = 0;

	if (chunk_size < CW_DOCSTREAM_CHUNK_MIN || chunk_size > CW_DOCSTREAM_CHUNK_MAX) {
		error = cw_error(CW_EINVALID, "document chunk size %lu is out of range",
		                 (unsigned long)chunk_size);
		goto done;
	}
	if ((error = subkeys_derive(&k, key)) < 0)
		goto done;
	if ((plain = malloc(chunk_size)) == NULL || (cipher = malloc(chunk_size + ABYTES)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	put_prefix(header, chunk_size);
	if (crypto_secretstream_xchacha20poly1305_init_push(&st, header + PREFIX_BYTES,
	                                                    cw_secret_data(k.stream)) != 0 ||
	    crypto_generichash_init(&hash, cw_secret_data(k.address), cw_secret_len(k.address),
	                            sizeof(address)) != 0) {
		error = cw_error(CW_ERROR, "cannot start encrypting the document");
		goto done;
	}
	if ((error = write_all(out_fd, header, sizeof(header), "writing the encrypted document")) < 0)
		goto done;
	while (!final) {
		unsigned long long clen = 0;

		if ((error = source_read(&src, plain, chunk_size, &got, "reading the document")) < 0)
			goto done;
		final = got < chunk_size;
		crypto_generichash_update(&hash, plain, got);
		if (crypto_secretstream_xchacha20poly1305_push(&st, cipher, &clen, plain, got, header,
		                                               PREFIX_BYTES,
		                                               final ? TAG_FINAL : TAG_MESSAGE) != 0) {
			error = cw_error(CW_ERROR, "cannot encrypt the document");
			goto done;
		}
		if ((error = write_all(out_fd, cipher, (size_t)clen, "writing the encrypted document")) < 0)
			goto done;
		total += got;
		if (progress)
			progress(total, ctx);
	}
	crypto_generichash_final(&hash, address, sizeof(address));
	memcpy(address_out, address, sizeof(address));
	*size_out = total;
	error = CW_OK;
done:
	if (plain) {
		sodium_memzero(plain, chunk_size);
		free(plain);
	}
	free(cipher);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(&hash, sizeof(hash));
	subkeys_dispose(&k);
	return error;
}

int cw_docstream_encrypt(uint8_t address_out[CW_DOCSTREAM_ADDRESS_BYTES], uint64_t *size_out, int in_fd,
                         int out_fd, const cw_secret *key, cw_docstream_progress progress, void *ctx)
{
	return cw_docstream_encrypt_chunked(address_out, size_out, in_fd, out_fd, key, CW_DOCSTREAM_CHUNK,
	                                    progress, ctx);
}

/* Check the 10-byte prefix, of which `have` bytes were read. Fields are
 * checked as far as they go, so a stream of ours cut short is "damaged"
 * while something else is "not a document". */
static int check_prefix(const uint8_t *p, size_t have, uint32_t *chunk_size_out)
{
	uint32_t chunk_size;

	if (memcmp(p, MAGIC, have < 4 ? have : 4) != 0)
		return cw_error(CW_EINVALID, "this is not a caseway document (no CWDS header)");
	if (have > 4 && p[4] != VERSION)
		return cw_error(CW_EINVALID,
		                "the document has format version %u; this caseway reads version %d", p[4],
		                VERSION);
	if (have > 5 && p[5] != ALG_SECRETSTREAM)
		return cw_error(CW_EINVALID, "the document uses unknown encryption algorithm %u", p[5]);
	if (have < PREFIX_BYTES)
		return cw_error(CW_EVERIFY, DAMAGED " (it ends inside its header)");
	chunk_size = cw_load32(p + 6);
	if (chunk_size < CW_DOCSTREAM_CHUNK_MIN || chunk_size > CW_DOCSTREAM_CHUNK_MAX)
		return cw_error(CW_EINVALID, "the document's chunk size %lu is out of range",
		                (unsigned long)chunk_size);
	*chunk_size_out = chunk_size;
	return CW_OK;
}

static int decrypt_source(uint8_t address_out[CW_DOCSTREAM_ADDRESS_BYTES], uint64_t *size_out, source *src,
                          int out_fd, const cw_secret *key, uint64_t max_size)
{
	crypto_secretstream_xchacha20poly1305_state st;
	crypto_generichash_state hash;
	uint8_t header[CW_DOCSTREAM_HEADER_BYTES];
	uint8_t address[CW_DOCSTREAM_ADDRESS_BYTES];
	uint8_t *plain = NULL, *cipher = NULL, extra;
	subkeys k = { NULL, NULL };
	uint32_t chunk_size = 0;
	uint64_t total = 0, chunks = 0;
	size_t got = 0;
	int error, final = 0;

	if ((error = source_read(src, header, sizeof(header), &got, "reading the document")) < 0 ||
	    (error = check_prefix(header, got < PREFIX_BYTES ? got : PREFIX_BYTES, &chunk_size)) < 0)
		goto done;
	if (got < sizeof(header)) {
		error = cw_error(CW_EVERIFY, DAMAGED " (it ends inside its header)");
		goto done;
	}
	if ((error = subkeys_derive(&k, key)) < 0)
		goto done;
	if ((plain = malloc(chunk_size)) == NULL || (cipher = malloc(chunk_size + ABYTES)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if (crypto_secretstream_xchacha20poly1305_init_pull(&st, header + PREFIX_BYTES,
	                                                    cw_secret_data(k.stream)) != 0) {
		error = cw_error(CW_EVERIFY, DAMAGED " (bad stream header)");
		goto done;
	}
	if (crypto_generichash_init(&hash, cw_secret_data(k.address), cw_secret_len(k.address),
	                            sizeof(address)) != 0) {
		error = cw_error(CW_ERROR, "cannot start hashing the document");
		goto done;
	}
	while (!final) {
		unsigned long long mlen = 0;
		unsigned char tag = 0;
		size_t plen;

		if ((error = source_read(src, cipher, chunk_size + ABYTES, &got, "reading the document")) < 0)
			goto done;
		if (got < ABYTES) {
			error = cw_error(CW_EVERIFY, DAMAGED " (it ends early, after %llu bytes)",
			                 (unsigned long long)total);
			goto done;
		}
		plen = got - ABYTES;
		if (plen > max_size - total) {
			error = cw_error(CW_EVERIFY, DAMAGED " (it is larger than %llu bytes)",
			                 (unsigned long long)max_size);
			goto done;
		}
		if (crypto_secretstream_xchacha20poly1305_pull(&st, plain, &mlen, &tag, cipher, got, header,
		                                               PREFIX_BYTES) != 0) {
			error = cw_error(CW_EVERIFY, DAMAGED " (part %llu does not authenticate)",
			                 (unsigned long long)chunks + 1);
			goto done;
		}
		/* One encoding per document: full chunks carry MESSAGE, the short
		 * last one FINAL. Anything else was not written by us. */
		final = plen < chunk_size;
		if (mlen != plen || tag != (final ? TAG_FINAL : TAG_MESSAGE)) {
			error = cw_error(CW_EVERIFY,
			                 final ? DAMAGED " (it ends early, after %llu bytes)"
			                       : DAMAGED " (part %llu is out of place)",
			                 final ? (unsigned long long)total : (unsigned long long)chunks + 1);
			goto done;
		}
		crypto_generichash_update(&hash, plain, plen);
		if (out_fd >= 0 &&
		    (error = write_all(out_fd, plain, plen, "writing the decrypted document")) < 0)
			goto done;
		total += plen;
		chunks++;
	}
	/* A short chunk was read up to the end, so nothing can follow it here -
	 * unless the file grows while we read it: then it is not what we checked. */
	if ((error = source_read(src, &extra, 1, &got, "reading the document")) < 0)
		goto done;
	if (got != 0) {
		error = cw_error(CW_EVERIFY, DAMAGED " (bytes follow its end)");
		goto done;
	}
	crypto_generichash_final(&hash, address, sizeof(address));
	memcpy(address_out, address, sizeof(address));
	*size_out = total;
	error = CW_OK;
done:
	if (plain) {
		sodium_memzero(plain, chunk_size);
		free(plain);
	}
	free(cipher);
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(&hash, sizeof(hash));
	subkeys_dispose(&k);
	return error;
}

int cw_docstream_decrypt(uint8_t address_out[CW_DOCSTREAM_ADDRESS_BYTES], uint64_t *size_out, int in_fd,
                         int out_fd, const cw_secret *key, uint64_t max_size)
{
	source src = { in_fd, NULL, 0, 0 };

	if (in_fd < 0)
		return cw_error(CW_EINVALID, "no document to read");
	return decrypt_source(address_out, size_out, &src, out_fd, key, max_size);
}

int cw_docstream_decrypt_mem(uint8_t address_out[CW_DOCSTREAM_ADDRESS_BYTES], uint64_t *size_out,
                             const void *data, size_t len, const cw_secret *key, uint64_t max_size)
{
	source src = { -1, data, len, 0 };

	if (data == NULL && len > 0)
		return cw_error(CW_EINVALID, "no document to read");
	return decrypt_source(address_out, size_out, &src, -1, key, max_size);
}
