/*
 * crypto/armor.h - one-line text armour for the small files people pass
 * around (enrolment requests, certificates, doctor public keys):
 *
 *   caseway-<label>-v1:<standard base64 of the bytes, no padding>\n
 *
 * Text so it survives e-mail, chat and QR codes. Labels are 1 to 32
 * characters of a-z, 0-9 and '-'; payloads are at most 64 MiB.
 */
#ifndef CW_ARMOR_H
#define CW_ARMOR_H

#include "../util/buf.h"

#include <stddef.h>
#include <stdint.h>

/* Append the armoured line (with a final newline) to out. */
int cw_armor_encode(cw_buf *out, const char *label, const uint8_t *data, size_t len);

/* Decode text (surrounding white space allowed) whose label must be `label`
 * into out (appended; out unchanged on failure). CW_EINVALID ("not a caseway
 * <label> file") when it is not such a line: another label, padding, white
 * space or any other character inside, or non-canonical base64. */
int cw_armor_decode(cw_buf *out, const char *label, const uint8_t *text, size_t len);

#endif
