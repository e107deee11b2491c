/* crypto/armor.c - one-line text armour (format in armor.h). */
#include "armor.h"
#include "../util/error.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* The largest payload we write or read as text (decoded bytes). */
#define ARMOR_MAX_BYTES ((size_t)64 << 20)
#define LABEL_MAX 32
#define VARIANT sodium_base64_VARIANT_ORIGINAL_NO_PADDING

/* "caseway-<label>-v1:" into out (room for LABEL_MAX); CW_EINVALID for a
 * label that is not 1 to LABEL_MAX lower-case letters, digits or '-'. */
static int prefix_of(char out[LABEL_MAX + 16], size_t *len_out, const char *label)
{
	size_t i, n = strlen(label);

	if (n == 0 || n > LABEL_MAX)
		return cw_error(CW_EINVALID, "internal: bad armour label");
	for (i = 0; i < n; i++)
		if (!((label[i] >= 'a' && label[i] <= 'z') || (label[i] >= '0' && label[i] <= '9') ||
		      label[i] == '-'))
			return cw_error(CW_EINVALID, "internal: bad armour label");
	*len_out = (size_t)snprintf(out, LABEL_MAX + 16, "caseway-%s-v1:", label);
	return CW_OK;
}

int cw_armor_encode(cw_buf *out, const char *label, const uint8_t *data, size_t len)
{
	char prefix[LABEL_MAX + 16];
	size_t plen, b64len, start = out->len;
	int error;

	if ((error = prefix_of(prefix, &plen, label)) < 0)
		goto done;
	if (len > ARMOR_MAX_BYTES) {
		error = cw_error(CW_EINVALID, "the %s is too large to write as text", label);
		goto done;
	}
	b64len = sodium_base64_ENCODED_LEN(len, VARIANT); /* counts the NUL */
	if ((error = cw_buf_put(out, prefix, plen)) < 0 || (error = cw_buf_grow(out, b64len)) < 0)
		goto done;
	sodium_bin2base64((char *)out->data + out->len, b64len, data, len, VARIANT);
	out->len += b64len - 1;
	error = cw_buf_put_u8(out, '\n');
done:
	if (error < 0)
		out->len = start;
	return error;
}

static int is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int cw_armor_decode(cw_buf *out, const char *label, const uint8_t *text, size_t len)
{
	char prefix[LABEL_MAX + 16];
	size_t plen, max, bin_len, start = out->len;
	const char *end = NULL;
	int error;

	if ((error = prefix_of(prefix, &plen, label)) < 0)
		goto done;
	while (len > 0 && is_space(text[0])) {
		text++;
		len--;
	}
	while (len > 0 && is_space(text[len - 1]))
		len--;
	if (len < plen || memcmp(text, prefix, plen) != 0) {
		error = cw_error(CW_EINVALID, "not a caseway %s file", label);
		goto done;
	}
	text += plen;
	len -= plen;
	/* 4 characters carry 3 bytes; check the bound before reserving room */
	max = len / 4 * 3 + 2;
	if (max > ARMOR_MAX_BYTES) {
		error = cw_error(CW_EINVALID, "not a caseway %s file (too large)", label);
		goto done;
	}
	if ((error = cw_buf_grow(out, max + 1)) < 0)
		goto done;
	if (sodium_base642bin(out->data + out->len, max + 1, (const char *)text, len, NULL, &bin_len, &end,
	                      VARIANT) != 0 ||
	    end != (const char *)text + len || bin_len > max) {
		error = cw_error(CW_EINVALID, "not a caseway %s file (the text is damaged)", label);
		goto done;
	}
	out->len += bin_len;
done:
	if (error < 0)
		out->len = start;
	return error;
}
