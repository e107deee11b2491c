/* util/buf.c - buffers, readers, hex, UTF-8 checks. */
#include "buf.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

static size_t buf_cap(const cw_buf *b)
{
	return b->cap ? b->cap : CW_BUF_DEFAULT_CAP;
}

int cw_buf_grow(cw_buf *b, size_t extra)
{
	size_t want, alloc;
	uint8_t *p;

	if (extra > buf_cap(b) || b->len > buf_cap(b) - extra)
		return cw_error(CW_EINVALID, "data too large (over %zu bytes)", buf_cap(b));
	want = b->len + extra;
	if (want <= b->alloc)
		return CW_OK;
	alloc = b->alloc ? b->alloc : 64;
	while (alloc < want)
		alloc = alloc > SIZE_MAX / 2 ? want : alloc * 2;
	if ((p = malloc(alloc)) == NULL)
		return cw_error_nomem();
	if (b->data) {
		memcpy(p, b->data, b->len);
		cw_buf_dispose(&(cw_buf){ b->data, b->alloc, b->alloc, 0 });
	}
	b->data = p;
	b->alloc = alloc;
	return CW_OK;
}

int cw_buf_put(cw_buf *b, const void *data, size_t len)
{
	int error;

	if (len == 0)
		return CW_OK;
	if ((error = cw_buf_grow(b, len)) < 0)
		return error;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return CW_OK;
}

int cw_buf_put_u8(cw_buf *b, uint8_t v)
{
	return cw_buf_put(b, &v, 1);
}

int cw_buf_put_u16(cw_buf *b, uint16_t v)
{
	uint8_t t[2];

	cw_store16(t, v);
	return cw_buf_put(b, t, sizeof(t));
}

int cw_buf_put_u32(cw_buf *b, uint32_t v)
{
	uint8_t t[4];

	cw_store32(t, v);
	return cw_buf_put(b, t, sizeof(t));
}

int cw_buf_put_u64(cw_buf *b, uint64_t v)
{
	uint8_t t[8];

	cw_store64(t, v);
	return cw_buf_put(b, t, sizeof(t));
}

int cw_buf_put_str16(cw_buf *b, const void *data, size_t len)
{
	int error;

	if (len > 0xffff)
		return cw_error(CW_EINVALID, "text too long (%zu bytes, at most 65535)", len);
	if ((error = cw_buf_put_u16(b, (uint16_t)len)) < 0)
		return error;
	return cw_buf_put(b, data, len);
}

void cw_buf_dispose(cw_buf *b)
{
	if (b->data) {
		volatile uint8_t *p = b->data;
		size_t i;

		for (i = 0; i < b->alloc; i++)
			p[i] = 0;
		free(b->data);
	}
	b->data = NULL;
	b->len = b->alloc = 0;
}

void cw_reader_init(cw_reader *r, const void *data, size_t len)
{
	r->p = data;
	r->left = len;
}

int cw_reader_get(cw_reader *r, const uint8_t **out, size_t len, const char *what)
{
	if (len > r->left)
		return cw_error(CW_EINVALID, "%s is cut short", what);
	*out = r->p;
	r->p += len;
	r->left -= len;
	return CW_OK;
}

int cw_reader_copy(cw_reader *r, void *out, size_t len, const char *what)
{
	const uint8_t *p = NULL;
	int error;

	if ((error = cw_reader_get(r, &p, len, what)) < 0)
		return error;
	memcpy(out, p, len);
	return CW_OK;
}

int cw_reader_u8(cw_reader *r, uint8_t *out, const char *what)
{
	const uint8_t *p = NULL;
	int error;

	if ((error = cw_reader_get(r, &p, 1, what)) < 0)
		return error;
	*out = p[0];
	return CW_OK;
}

int cw_reader_u16(cw_reader *r, uint16_t *out, const char *what)
{
	const uint8_t *p = NULL;
	int error;

	if ((error = cw_reader_get(r, &p, 2, what)) < 0)
		return error;
	*out = cw_load16(p);
	return CW_OK;
}

int cw_reader_u32(cw_reader *r, uint32_t *out, const char *what)
{
	const uint8_t *p = NULL;
	int error;

	if ((error = cw_reader_get(r, &p, 4, what)) < 0)
		return error;
	*out = cw_load32(p);
	return CW_OK;
}

int cw_reader_u64(cw_reader *r, uint64_t *out, const char *what)
{
	const uint8_t *p = NULL;
	int error;

	if ((error = cw_reader_get(r, &p, 8, what)) < 0)
		return error;
	*out = cw_load64(p);
	return CW_OK;
}

int cw_reader_str16(cw_reader *r, const uint8_t **out, size_t *len_out, const char *what)
{
	uint16_t len;
	int error;

	if ((error = cw_reader_u16(r, &len, what)) < 0 || (error = cw_reader_get(r, out, len, what)) < 0)
		return error;
	*len_out = len;
	return CW_OK;
}

int cw_reader_end(const cw_reader *r, const char *what)
{
	if (r->left != 0)
		return cw_error(CW_EINVALID, "%s has %zu unexpected trailing bytes", what, r->left);
	return CW_OK;
}

void cw_hex_encode(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int cw_hex_decode(uint8_t *out, size_t len, const char *hex)
{
	size_t i;

	if (strlen(hex) != 2 * len)
		return cw_error(CW_EINVALID, "expected %zu hex digits", 2 * len);
	for (i = 0; i < len; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return cw_error(CW_EINVALID, "not a hex string");
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return CW_OK;
}

int cw_utf8_valid(const uint8_t *s, size_t len, int allow_newlines)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		uint32_t cp;
		size_t n, k;

		if (c < 0x80) {
			if (c < 0x20 && !(allow_newlines && (c == '\n' || c == '\r' || c == '\t')))
				return 0;
			if (c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int cw_is_lower_hex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}
