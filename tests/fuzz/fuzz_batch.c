/*
 * tests/fuzz/fuzz_batch.c - an opened op batch of a git log commit
 * (sync/log.h, cw_log_batch_each): the bytes inside a sealed box another
 * device wrote.
 *
 * Input: case id[16] | author[8] | u8 first | u8 count | the batch. The
 * message claims seq first .. first+count-1 of that case and author. Any
 * input must give CW_OK, CW_EINVALID or CW_EVERIFY; on CW_OK exactly
 * `count` ops came out, each inside the input, decoding as the op the
 * message names. Seeds: batches of real signed ops and broken variants.
 */
#include "node/op.h"
#include "sync/log.h"
#include "util/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	const uint8_t *lo, *hi;
	const cw_log_message *msg;
	uint64_t n;
} seen_t;

static int each(const uint8_t *op, size_t len, void *ctx)
{
	seen_t *s = ctx;
	cw_op o;

	if (op < s->lo || op + len > s->hi || cw_op_decode(&o, op, len) != CW_OK ||
	    o.seq != s->msg->first + s->n || memcmp(o.case_id, s->msg->case_id, CW_ID_BYTES) != 0 ||
	    memcmp(o.author, s->msg->author, CW_AUTHOR_BYTES) != 0)
		abort();
	s->n++;
	return CW_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cw_log_message msg;
	seen_t s;
	int rc;

	if (size < CW_ID_BYTES + CW_AUTHOR_BYTES + 2)
		return 0;
	memset(&msg, 0, sizeof(msg));
	memcpy(msg.case_id, data, CW_ID_BYTES);
	memcpy(msg.author, data + CW_ID_BYTES, CW_AUTHOR_BYTES);
	msg.first = 1u + data[CW_ID_BYTES + CW_AUTHOR_BYTES];
	msg.last = msg.first + data[CW_ID_BYTES + CW_AUTHOR_BYTES + 1] - 1; /* count 0: last < first */
	data += CW_ID_BYTES + CW_AUTHOR_BYTES + 2;
	size -= CW_ID_BYTES + CW_AUTHOR_BYTES + 2;
	s.lo = data;
	s.hi = data + size;
	s.msg = &msg;
	s.n = 0;
	rc = cw_log_batch_each(data, size, &msg, each, &s);
	if (rc != CW_OK && rc != CW_EINVALID && rc != CW_EVERIFY)
		abort();
	if (rc == CW_OK && s.n != msg.last - msg.first + 1)
		abort();
	cw_error_clear();
	return 0;
}
