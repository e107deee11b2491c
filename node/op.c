/* node/op.c - encoding, decoding and verifying ops; the hybrid logical clock. */
#include "op.h"
#include "model.h"
#include "../util/error.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t magic[4] = { 'C', 'W', 'O', 'P' };

static int field_cmp(const void *a, const void *b)
{
	return strcmp(((const cw_op_field *)a)->name, ((const cw_op_field *)b)->name);
}

static int seen_cmp(const void *a, const void *b)
{
	return memcmp(((const cw_op_seen *)a)->author, ((const cw_op_seen *)b)->author, CW_AUTHOR_BYTES);
}

int cw_op_encode(cw_buf *out, cw_op *op, const cw_keys *signer)
{
	size_t start = out->len, i;
	uint8_t sig[CW_SIG_BYTES];
	int error = CW_OK;

	if (op->nfields > CW_OP_MAX_FIELDS || op->nseen > CW_OP_MAX_SEEN)
		return cw_error(CW_EINVALID, "too many fields in one change");
	qsort(op->fields, op->nfields, sizeof(op->fields[0]), field_cmp);
	qsort(op->seen, op->nseen, sizeof(op->seen[0]), seen_cmp);
	for (i = 1; i < op->nfields; i++)
		if (strcmp(op->fields[i - 1].name, op->fields[i].name) == 0)
			return cw_error(CW_EINVALID, "field '%s' given twice", op->fields[i].name);
	if ((error = cw_buf_put(out, magic, 4)) < 0 || (error = cw_buf_put_u8(out, 1)) < 0 ||
	    (error = cw_buf_put(out, op->case_id, CW_ID_BYTES)) < 0 ||
	    (error = cw_buf_put(out, op->author, CW_AUTHOR_BYTES)) < 0 ||
	    (error = cw_buf_put_u64(out, op->seq)) < 0 ||
	    (error = cw_buf_put(out, op->prev, CW_HASH_BYTES)) < 0 ||
	    (error = cw_buf_put_u64(out, op->hlc)) < 0 ||
	    (error = cw_buf_put_u8(out, (uint8_t)op->nseen)) < 0)
		goto done;
	for (i = 0; i < op->nseen; i++)
		if ((error = cw_buf_put(out, op->seen[i].author, CW_AUTHOR_BYTES)) < 0 ||
		    (error = cw_buf_put_u64(out, op->seen[i].seq)) < 0)
			goto done;
	if ((error = cw_buf_put_u8(out, op->kind)) < 0 ||
	    (error = cw_buf_put(out, op->entity, CW_ID_BYTES)) < 0 ||
	    (error = cw_buf_put_u8(out, op->action)) < 0 ||
	    (error = cw_buf_put_u8(out, (uint8_t)op->nfields)) < 0)
		goto done;
	for (i = 0; i < op->nfields; i++) {
		size_t nl = strlen(op->fields[i].name);

		if ((error = cw_buf_put_u8(out, (uint8_t)nl)) < 0 ||
		    (error = cw_buf_put(out, op->fields[i].name, nl)) < 0 ||
		    (error = cw_buf_put_str16(out, op->fields[i].value, op->fields[i].len)) < 0)
			goto done;
	}
	if (out->len - start + CW_SIG_BYTES > CW_OP_MAX_BYTES) {
		error = cw_error(CW_EINVALID, "the change is too large (at most %d KiB)",
		                 CW_OP_MAX_BYTES / 1024);
		goto done;
	}
	cw_keys_sign(sig, signer, out->data + start, out->len - start);
	if ((error = cw_buf_put(out, sig, CW_SIG_BYTES)) < 0)
		goto done;
	op->signed_len = out->len - start - CW_SIG_BYTES;
	cw_keys_hash(op->hash, out->data + start, out->len - start);
done:
	if (error < 0)
		out->len = start;
	return error;
}

static int valid_name(const uint8_t *p, size_t n)
{
	size_t i;

	if (n == 0 || n > CW_FIELD_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
			return 0;
	return 1;
}

int cw_op_decode(cw_op *out, const uint8_t *data, size_t len)
{
	cw_reader r;
	const uint8_t *p;
	uint8_t version, n;
	size_t i;
	int error;

	memset(out, 0, sizeof(*out));
	if (len > CW_OP_MAX_BYTES || len < 4 + CW_SIG_BYTES)
		return cw_error(CW_EINVALID, "a change has an impossible size (%zu bytes)", len);
	cw_reader_init(&r, data, len - CW_SIG_BYTES);
	if ((error = cw_reader_get(&r, &p, 4, "change")) < 0)
		return error;
	if (memcmp(p, magic, 4) != 0)
		return cw_error(CW_EINVALID, "not a caseway change");
	if ((error = cw_reader_u8(&r, &version, "change")) < 0)
		return error;
	if (version != 1)
		return cw_error(CW_EINVALID, "unsupported change version %u", version);
	if ((error = cw_reader_copy(&r, out->case_id, CW_ID_BYTES, "change")) < 0 ||
	    (error = cw_reader_copy(&r, out->author, CW_AUTHOR_BYTES, "change")) < 0 ||
	    (error = cw_reader_u64(&r, &out->seq, "change")) < 0 ||
	    (error = cw_reader_copy(&r, out->prev, CW_HASH_BYTES, "change")) < 0 ||
	    (error = cw_reader_u64(&r, &out->hlc, "change")) < 0 ||
	    (error = cw_reader_u8(&r, &n, "change")) < 0)
		return error;
	if (out->seq == 0 || out->seq > INT64_MAX)
		return cw_error(CW_EINVALID, "a change has an impossible sequence number");
	if (cw_hlc_ms(out->hlc) > CW_HLC_MAX_MS)
		return cw_error(CW_EINVALID, "a change has an impossible time (after the year 2200)");
	if (n > CW_OP_MAX_SEEN)
		return cw_error(CW_EINVALID, "a change names too many authors");
	out->nseen = n;
	for (i = 0; i < n; i++) {
		if ((error = cw_reader_copy(&r, out->seen[i].author, CW_AUTHOR_BYTES, "change")) < 0 ||
		    (error = cw_reader_u64(&r, &out->seen[i].seq, "change")) < 0)
			return error;
		if (memcmp(out->seen[i].author, out->author, CW_AUTHOR_BYTES) == 0 ||
		    (i > 0 && memcmp(out->seen[i - 1].author, out->seen[i].author, CW_AUTHOR_BYTES) >= 0) ||
		    out->seen[i].seq == 0 || out->seen[i].seq > INT64_MAX)
			return cw_error(CW_EINVALID, "a change's list of seen authors is malformed");
	}
	if ((error = cw_reader_u8(&r, &out->kind, "change")) < 0 ||
	    (error = cw_reader_copy(&r, out->entity, CW_ID_BYTES, "change")) < 0 ||
	    (error = cw_reader_u8(&r, &out->action, "change")) < 0 ||
	    (error = cw_reader_u8(&r, &n, "change")) < 0)
		return error;
	/* kinds 1..CW_KIND_MAX, as node/model.h defines them */
	if (out->kind < 1 || out->kind > CW_KIND_MAX ||
	    (out->kind == 1) != (memcmp(out->entity, out->case_id, CW_ID_BYTES) == 0))
		return cw_error(CW_EINVALID, "a change names an unknown kind of item");
	if (out->action < CW_OP_PUT || out->action > CW_OP_RESOLVE)
		return cw_error(CW_EINVALID, "a change has an unknown action %u", out->action);
	if (n > CW_OP_MAX_FIELDS)
		return cw_error(CW_EINVALID, "a change has too many fields");
	out->nfields = n;
	for (i = 0; i < n; i++) {
		uint8_t nl;
		const uint8_t *v;
		size_t vl;

		if ((error = cw_reader_u8(&r, &nl, "change")) < 0 ||
		    (error = cw_reader_get(&r, &p, nl, "change")) < 0)
			return error;
		if (!valid_name(p, nl))
			return cw_error(CW_EINVALID, "a change has a malformed field name");
		memcpy(out->fields[i].name, p, nl);
		out->fields[i].name[nl] = '\0';
		if (i > 0 && strcmp(out->fields[i - 1].name, out->fields[i].name) >= 0)
			return cw_error(CW_EINVALID, "a change's fields are out of order");
		if ((error = cw_reader_str16(&r, &v, &vl, "change")) < 0)
			return error;
		if (!cw_utf8_valid(v, vl, 1))
			return cw_error(CW_EINVALID, "field '%s' is not valid text", out->fields[i].name);
		out->fields[i].value = (const char *)v;
		out->fields[i].len = vl;
	}
	if ((error = cw_reader_end(&r, "change")) < 0)
		return error;
	out->signed_len = len - CW_SIG_BYTES;
	out->sig = data + out->signed_len;
	cw_keys_hash(out->hash, data, len);
	return CW_OK;
}

int cw_op_verify(const cw_op *op, const uint8_t *data, const uint8_t author_pk[CW_PK_BYTES])
{
	char want[CW_DEVICE_ID_LEN + 1], have[CW_DEVICE_ID_LEN + 1];

	cw_keys_id_of(want, author_pk);
	cw_author_hex(have, op->author);
	if (strcmp(want, have) != 0)
		return cw_error(CW_EVERIFY, "a change names author %s but the key is %s's", have, want);
	if (cw_keys_verify(op->sig, author_pk, data, op->signed_len) != CW_OK)
		return cw_error(CW_EVERIFY, "the signature of change %s/%llu does not verify", have,
		                (unsigned long long)op->seq);
	return CW_OK;
}

uint64_t cw_op_seen_of(const cw_op *op, const uint8_t author[CW_AUTHOR_BYTES])
{
	size_t lo = 0, hi = op->nseen;

	if (memcmp(op->author, author, CW_AUTHOR_BYTES) == 0)
		return op->seq - 1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = memcmp(op->seen[mid].author, author, CW_AUTHOR_BYTES);

		if (c == 0)
			return op->seen[mid].seq;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int cw_op_precedes(const cw_op *a, const cw_op *b)
{
	return cw_op_seen_of(b, a->author) >= a->seq;
}

const cw_op_field *cw_op_field_get(const cw_op *op, const char *name)
{
	size_t i;

	for (i = 0; i < op->nfields; i++)
		if (strcmp(op->fields[i].name, name) == 0)
			return &op->fields[i];
	return NULL;
}

uint64_t cw_hlc_next(uint64_t last, uint64_t now_ms)
{
	uint64_t wall = (now_ms > CW_HLC_MAX_MS ? CW_HLC_MAX_MS : now_ms) << 16;

	if (wall > last)
		return wall;
	return last + 1;
}

uint64_t cw_hlc_merge(uint64_t last, uint64_t remote)
{
	return remote > last ? remote : last;
}

void cw_author_hex(char out[CW_DEVICE_ID_LEN + 1], const uint8_t author[CW_AUTHOR_BYTES])
{
	cw_hex_encode(out, author, CW_AUTHOR_BYTES);
}

int cw_author_from_hex(uint8_t out[CW_AUTHOR_BYTES], const char *hex)
{
	return cw_hex_decode(out, CW_AUTHOR_BYTES, hex);
}

void cw_id_hex(char out[2 * CW_ID_BYTES + 1], const uint8_t id[CW_ID_BYTES])
{
	cw_hex_encode(out, id, CW_ID_BYTES);
}
