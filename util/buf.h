/*
 * util/buf.h - growable byte buffers with a cap, a bounds-checked reader for
 * outside bytes, explicit little-endian loads and stores, and hex.
 */
#ifndef CW_BUF_H
#define CW_BUF_H

#include <stddef.h>
#include <stdint.h>

/* A growable buffer. Zero-initialise (CW_BUF_INIT), then append; every
 * append fails with CW_EINVALID once the contents would pass `cap` bytes
 * (0 means the default cap, 64 MiB). Release with cw_buf_dispose(). */
typedef struct {
	uint8_t *data;
	size_t len;
	size_t alloc;
	size_t cap;
} cw_buf;

#define CW_BUF_INIT           \
	{                     \
		NULL, 0, 0, 0 \
	}
#define CW_BUF_DEFAULT_CAP ((size_t)64 << 20)

int cw_buf_grow(cw_buf *b, size_t extra);
int cw_buf_put(cw_buf *b, const void *data, size_t len);
int cw_buf_put_u8(cw_buf *b, uint8_t v);
int cw_buf_put_u16(cw_buf *b, uint16_t v);
int cw_buf_put_u32(cw_buf *b, uint32_t v);
int cw_buf_put_u64(cw_buf *b, uint64_t v);
/* Appends a u16 length then the bytes; fails if len > 65535. */
int cw_buf_put_str16(cw_buf *b, const void *data, size_t len);
/* Wipes the contents (they may be secret) and frees them. */
void cw_buf_dispose(cw_buf *b);

/* A reader over bytes that came from outside. Every get fails with
 * CW_EINVALID (message set, naming `what`) instead of reading past the end. */
typedef struct {
	const uint8_t *p;
	size_t left;
} cw_reader;

void cw_reader_init(cw_reader *r, const void *data, size_t len);
int cw_reader_get(cw_reader *r, const uint8_t **out, size_t len, const char *what);
int cw_reader_copy(cw_reader *r, void *out, size_t len, const char *what);
int cw_reader_u8(cw_reader *r, uint8_t *out, const char *what);
int cw_reader_u16(cw_reader *r, uint16_t *out, const char *what);
int cw_reader_u32(cw_reader *r, uint32_t *out, const char *what);
int cw_reader_u64(cw_reader *r, uint64_t *out, const char *what);
/* A u16 length then that many bytes (borrowed from the input). */
int cw_reader_str16(cw_reader *r, const uint8_t **out, size_t *len_out, const char *what);
/* CW_EINVALID unless every byte was consumed. */
int cw_reader_end(const cw_reader *r, const char *what);

static inline uint16_t cw_load16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}
static inline uint32_t cw_load32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t cw_load64(const uint8_t *p)
{
	return (uint64_t)cw_load32(p) | (uint64_t)cw_load32(p + 4) << 32;
}
static inline void cw_store16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void cw_store32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}
static inline void cw_store64(uint8_t *p, uint64_t v)
{
	cw_store32(p, (uint32_t)v);
	cw_store32(p + 4, (uint32_t)(v >> 32));
}

/* Lower-case hex of len bytes into out (2*len+1 bytes, NUL-terminated). */
void cw_hex_encode(char *out, const uint8_t *in, size_t len);
/* Exactly 2*len hex digits into len bytes; CW_EINVALID otherwise. */
int cw_hex_decode(uint8_t *out, size_t len, const char *hex);
/* 1 when s[0..len) are all lower-case hex digits (git ids, device ids). */
int cw_is_lower_hex(const char *s, size_t len);

/* True when the len bytes are well-formed UTF-8 with no NUL or C0 control
 * other than tab, newline and carriage return. */
int cw_utf8_valid(const uint8_t *s, size_t len, int allow_newlines);

#endif
