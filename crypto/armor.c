/* crypto/armor.c - one-line text armour. */
#include "armor.h"
#include "../util/error.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define ARMOR_MAX_BYTES ((size_t)64 << 20)
#define VARIANT sodium_base64_VARIANT_ORIGINAL_NO_PADDING

static void prefix_of(char *out, size_t cap, const char *label)
{
	snprintf(out, cap, "caseway-%s-v1:", label);
}

int cw_armor_encode(cw_buf *out, const char *label, const uint8_t *data, size_t len)
{
	char prefix[64];
	size_t b64len;
	int error;

	if (len > ARMOR_MAX_BYTES)
		return cw_error(CW_EINVALID, "too large to write as text");
	prefix_of(prefix, sizeof(prefix), label);
	b64len = sodium_base64_ENCODED_LEN(len, VARIANT);
	if ((error = cw_buf_put(out, prefix, strlen(prefix))) < 0 ||
	    (error = cw_buf_grow(out, b64len + 1)) < 0)
		return error;
	sodium_bin2base64((char *)out->data + out->len, b64len, data, len, VARIANT);
	out->len += b64len - 1; /* without the NUL */
	return cw_buf_put_u8(out, '\n');
}

static int is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int cw_armor_decode(cw_buf *out, const char *label, const uint8_t *text, size_t len)
{
	char prefix[64];
	size_t plen, n, bin_len, start = out->len;
	const char *end;
	int error;

	prefix_of(prefix, sizeof(prefix), label);
	plen = strlen(prefix);
	while (len > 0 && is_space(text[0])) {
		text++;
		len--;
	}
	while (len > 0 && is_space(text[len - 1]))
		len--;
	if (len < plen || memcmp(text, prefix, plen) != 0)
		return cw_error(CW_EINVALID, "not a caseway %s file", label);
	text += plen;
	len -= plen;
	n = len / 4 * 3 + 3;
	if (n > ARMOR_MAX_BYTES)
		return cw_error(CW_EINVALID, "the %s is too large", label);
	if ((error = cw_buf_grow(out, n)) < 0)
		return error;
	if (sodium_base642bin(out->data + out->len, n, (const char *)text, len, NULL, &bin_len, &end,
	                      VARIANT) != 0 ||
	    end != (const char *)text + len) {
		out->len = start;
		return cw_error(CW_EINVALID, "not a caseway %s file (damaged text)", label);
	}
	out->len += bin_len;
	return CW_OK;
}
