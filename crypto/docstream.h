/*
 * crypto/docstream.h - documents encrypted as a stream, chunk by chunk.
 *
 * A document (scan, lab result, passport copy, invoice: any size) is read
 * and written in chunks, so at most one chunk of plaintext is ever in
 * memory. Format v1 (docs/FORMATS.md), integers little-endian:
 *
 *   "CWDS"   magic, 4 bytes
 *   u8       version = 1
 *   u8       algorithm = 1 (libsodium secretstream XChaCha20-Poly1305)
 *   u32      chunk size C (plaintext bytes per full chunk), 1 KiB .. 1 MiB
 *   24 bytes secretstream header
 *   chunks   each chunk = plaintext + 17 bytes (tag byte and MAC). Every
 *            chunk but the last holds exactly C plaintext bytes and has the
 *            MESSAGE tag; the last holds 0 .. C-1 bytes and has the FINAL
 *            tag (an empty document, or one that is a multiple of C long,
 *            ends with an empty FINAL chunk). Nothing follows it.
 *
 * The first 10 bytes (magic .. chunk size) are the additional data of every
 * chunk. Both keys come from the 32-byte case key with the BLAKE2b KDF,
 * context "cwdocs__": subkey 1 encrypts the stream, subkey 2 keys the
 * content address, BLAKE2b-256 of the plaintext. Because the address is
 * keyed, someone holding only the files cannot confirm that a case holds a
 * document they know. One plaintext under one case key has one address, so
 * storing it twice stores it once.
 */
#ifndef CW_DOCSTREAM_H
#define CW_DOCSTREAM_H

#include "secret.h"

#include <stddef.h>
#include <stdint.h>

#define CW_DOCSTREAM_ADDRESS_BYTES 32
#define CW_DOCSTREAM_CHUNK 65536u /* what cw_docstream_encrypt uses */
#define CW_DOCSTREAM_CHUNK_MIN 1024u
#define CW_DOCSTREAM_CHUNK_MAX (1024u * 1024u)
#define CW_DOCSTREAM_HEADER_BYTES 34   /* 4 + 1 + 1 + 4 + 24 */
#define CW_DOCSTREAM_CHUNK_OVERHEAD 17 /* per chunk: tag byte + MAC */

/* Called after each chunk with the plaintext bytes done so far. */
typedef void (*cw_docstream_progress)(uint64_t done, void *ctx);

/* Encrypt everything read from in_fd (to its end) into out_fd in the format
 * above, with chunks of CW_DOCSTREAM_CHUNK bytes, under the 32-byte case
 * key. address_out receives the keyed content address, size_out the number
 * of plaintext bytes. progress (may be NULL) is called after each chunk.
 * in_fd may be a pipe. On failure out_fd holds a partial stream that the
 * caller must discard. CW_EINVALID: key of the wrong length; CW_ERROR: I/O. */
int cw_docstream_encrypt(uint8_t address_out[CW_DOCSTREAM_ADDRESS_BYTES], uint64_t *size_out, int in_fd,
                         int out_fd, const cw_secret *key, cw_docstream_progress progress, void *ctx);

/* cw_docstream_encrypt with a chosen chunk size (CW_DOCSTREAM_CHUNK_MIN ..
 * CW_DOCSTREAM_CHUNK_MAX, else CW_EINVALID); for tests and tools. The address
 * does not depend on the chunk size. */
int cw_docstream_encrypt_chunked(uint8_t address_out[CW_DOCSTREAM_ADDRESS_BYTES], uint64_t *size_out,
                                 int in_fd, int out_fd, const cw_secret *key, uint32_t chunk_size,
                                 cw_docstream_progress progress, void *ctx);

/* Decrypt the stream read from in_fd (to its end) into out_fd (or nowhere,
 * when out_fd < 0), and compute its content address and plaintext size.
 * Plaintext is written only chunk by chunk after each chunk authenticates,
 * so on failure out_fd may hold a prefix of the document: the caller must
 * discard it.
 *   CW_EINVALID: not a document stream (bad magic), an unknown version or
 *     algorithm, a chunk size out of range, a key of the wrong length;
 *   CW_EVERIFY: "the document is damaged or was tampered with": a chunk
 *     failing authentication (or the wrong key), the stream ending early or
 *     without its FINAL chunk, bytes after it, chunks out of order, or more
 *     than max_size plaintext bytes (UINT64_MAX: no limit);
 *   CW_ERROR: I/O. */
int cw_docstream_decrypt(uint8_t address_out[CW_DOCSTREAM_ADDRESS_BYTES], uint64_t *size_out, int in_fd,
                         int out_fd, const cw_secret *key, uint64_t max_size)
    __attribute__((warn_unused_result));

/* cw_docstream_decrypt over the len bytes at data, the plaintext going
 * nowhere: checks a stream held in memory (fuzzing, tests). Same codes. */
int cw_docstream_decrypt_mem(uint8_t address_out[CW_DOCSTREAM_ADDRESS_BYTES], uint64_t *size_out,
                             const void *data, size_t len, const cw_secret *key, uint64_t max_size)
    __attribute__((warn_unused_result));

#endif
