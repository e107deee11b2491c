/*
 * sync/manifest.c - the manifest text of a sync bundle: written from a
 * struct checked against every rule, read strictly line by line in two
 * linear passes (check and count, then copy into arrays of exact size).
 */
#include "manifest.h"

#include "util/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER "caseway manifest v1"
#define OID_HEX 40
#define ROSTER_REF "refs/cw/roster/"
#define CASE_PREFIX "refs/cw/case/"
#define CASE_PREFIX_LEN (sizeof(CASE_PREFIX) - 1)
#define CASE_HEX 32
#define AUTHOR_HEX 16
#define CASE_REF_LEN (CASE_PREFIX_LEN + CASE_HEX + 1 + AUTHOR_HEX)
#define ERASED_PREFIX "refs/cw/erased/"
#define ERASED_REF_LEN (sizeof(ERASED_PREFIX) - 1 + CASE_HEX)
/* Longest line format writes: "have " oid " " case ref "\n". */
#define LINE_MAX_LEN (5 + OID_HEX + 1 + CASE_REF_LEN + 1)

static int ref_valid_n(const char *s, size_t len)
{
	size_t i;

	/* refs/cw/roster/<version: 1..12 digits, no leading zero> */
	if (len > sizeof(ROSTER_REF) - 1 && len <= sizeof(ROSTER_REF) - 1 + 12 &&
	    memcmp(s, ROSTER_REF, sizeof(ROSTER_REF) - 1) == 0) {
		if (s[sizeof(ROSTER_REF) - 1] == '0')
			return 0;
		for (i = sizeof(ROSTER_REF) - 1; i < len; i++)
			if (s[i] < '0' || s[i] > '9')
				return 0;
		return 1;
	}
	/* refs/cw/erased/<case: 32 hex> (sync/tombstone.h) */
	if (len == ERASED_REF_LEN && memcmp(s, ERASED_PREFIX, sizeof(ERASED_PREFIX) - 1) == 0)
		return cw_is_lower_hex(s + sizeof(ERASED_PREFIX) - 1, CASE_HEX);
	return len == CASE_REF_LEN && memcmp(s, CASE_PREFIX, CASE_PREFIX_LEN) == 0 &&
	       cw_is_lower_hex(s + CASE_PREFIX_LEN, CASE_HEX) && s[CASE_PREFIX_LEN + CASE_HEX] == '/' &&
	       cw_is_lower_hex(s + CASE_PREFIX_LEN + CASE_HEX + 1, AUTHOR_HEX);
}

int cw_manifest_ref_valid(const char *name)
{
	return name != NULL && ref_valid_n(name, strnlen(name, CASE_REF_LEN + 1));
}

/* strcmp order of two strings given by length (neither holds a NUL). */
static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* ---- format ------------------------------------------------------------- */

static int device_id_ok(const char id[CW_DEVICE_ID_LEN + 1])
{
	return memchr(id, '\0', CW_DEVICE_ID_LEN + 1) == id + CW_DEVICE_ID_LEN &&
	       cw_is_lower_hex(id, CW_DEVICE_ID_LEN);
}

static int check_refs(const cw_bundle_ref *refs, size_t n, const char *what)
{
	const char *prev = NULL;
	size_t i, prev_len = 0;

	if (n > CW_MANIFEST_MAX_REFS)
		return cw_error(CW_EINVALID, "a manifest may carry at most %u %s refs, not %zu",
		                CW_MANIFEST_MAX_REFS, what, n);
	if (n > 0 && refs == NULL)
		return cw_error(CW_EINVALID, "a manifest's %s refs are missing", what);
	for (i = 0; i < n; i++) {
		const char *end = memchr(refs[i].name, '\0', sizeof(refs[i].name));
		size_t len = end ? (size_t)(end - refs[i].name) : 0;

		if (end == NULL || !ref_valid_n(refs[i].name, len))
			return cw_error(CW_EINVALID,
			                "%s ref %zu of a manifest has a name caseway does not sync", what,
			                i + 1);
		if (memchr(refs[i].oid, '\0', sizeof(refs[i].oid)) != refs[i].oid + OID_HEX ||
		    !cw_is_lower_hex(refs[i].oid, OID_HEX))
			return cw_error(CW_EINVALID, "%s ref %s of a manifest has a malformed commit id",
			                what, refs[i].name);
		if (prev != NULL && name_cmp(prev, prev_len, refs[i].name, len) >= 0)
			return cw_error(CW_EINVALID, "%s ref %s of a manifest is out of order or repeated",
			                what, refs[i].name);
		prev = refs[i].name;
		prev_len = len;
	}
	return CW_OK;
}

static int check_struct(const cw_manifest *m)
{
	if (!device_id_ok(m->from) || !device_id_ok(m->to))
		return cw_error(CW_EINVALID, "a manifest's device ids must be 16 lower-case hex characters");
	if (strcmp(m->from, m->to) == 0)
		return cw_error(CW_EINVALID, "a manifest's sender and receiver are the same device");
	if (m->seq < 1 || m->seq > INT64_MAX)
		return cw_error(CW_EINVALID, "a manifest's seq must be between 1 and 2^63-1");
	if (m->part < 1 || m->part > m->parts || m->parts > CW_MANIFEST_MAX_PARTS)
		return cw_error(CW_EINVALID, "a manifest's part %" PRIu32 "/%" PRIu32 " is impossible",
		                m->part, m->parts);
	if (m->time < 0 || m->time >= CW_MANIFEST_TIME_END)
		return cw_error(CW_EINVALID, "a manifest's time must be between 1970 and 2200");
	return CW_OK;
}

static int put_refs(cw_buf *out, const char *kind, const cw_bundle_ref *refs, size_t n)
{
	char line[LINE_MAX_LEN + 1];
	size_t i;
	int len, error;

	for (i = 0; i < n; i++) {
		len = snprintf(line, sizeof(line), "%s %s %s\n", kind, refs[i].oid, refs[i].name);
		if (len < 0 || (size_t)len >= sizeof(line))
			return cw_error(CW_ERROR, "a manifest line is longer than expected");
		if ((error = cw_buf_put(out, line, (size_t)len)) < 0)
			return error;
	}
	return CW_OK;
}

int cw_manifest_format(cw_buf *out, const cw_manifest *m)
{
	char head[256];
	size_t start = out->len;
	int len, error;

	if ((error = check_struct(m)) < 0 || (error = check_refs(m->refs, m->nrefs, "carried")) < 0 ||
	    (error = check_refs(m->have, m->nhave, "held")) < 0)
		return error;
	len = snprintf(head, sizeof(head),
	               HEADER "\n\nfrom: %s\nto: %s\nseq: %" PRIu64 "\npart: %" PRIu32 "/%" PRIu32
	                      "\ntime: %" PRId64 "\n",
	               m->from, m->to, m->seq, m->part, m->parts, m->time);
	if (len < 0 || (size_t)len >= sizeof(head)) {
		error = cw_error(CW_ERROR, "a manifest header is longer than expected");
		goto done;
	}
	if ((error = cw_buf_put(out, head, (size_t)len)) < 0 ||
	    (error = put_refs(out, "ref", m->refs, m->nrefs)) < 0 ||
	    (error = put_refs(out, "have", m->have, m->nhave)) < 0)
		goto done;
	/* Cannot happen within the limits (about 22 MB at most); kept so the
	 * output always parses. */
	if (out->len - start > CW_MANIFEST_MAX_BYTES)
		error = cw_error(CW_EINVALID, "a manifest would be larger than 64 MiB");
done:
	if (error < 0)
		out->len = start;
	return error;
}

/* ---- parse -------------------------------------------------------------- */

typedef struct {
	const char *p, *end;
	size_t line; /* number of the next line, 1-based */
} cursor;

static int bad(size_t line, const char *what)
{
	return cw_error(CW_EINVALID, "manifest line %zu: %s", line, what);
}

/* The next line (without its newline) into *s, *n; checks it ends with a
 * newline and holds no CR or NUL. `expected` says what is missing at the
 * end of the text. */
static int next_line(const char **s, size_t *n, cursor *c, const char *expected)
{
	const char *nl;

	c->line++;
	if (c->p == c->end)
		return bad(c->line, expected);
	if ((nl = memchr(c->p, '\n', (size_t)(c->end - c->p))) == NULL)
		return bad(c->line, "does not end with a newline");
	*s = c->p;
	*n = (size_t)(nl - c->p);
	c->p = nl + 1;
	if (memchr(*s, '\r', *n) != NULL)
		return bad(c->line, "has a carriage return (CRLF line ends are refused)");
	if (memchr(*s, '\0', *n) != NULL)
		return bad(c->line, "has a NUL byte");
	return CW_OK;
}

/* A decimal of n bytes, no sign, no leading zero (but "0"), at most max. */
static int take_dec(uint64_t *out, const char *s, size_t n, uint64_t max)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	if (v > max)
		return 0;
	*out = v;
	return 1;
}

/* "<prefix><rest>": *rest, *rest_n the part after the prefix. */
static int has_prefix(const char **rest, size_t *rest_n, const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	if (n < k || memcmp(s, prefix, k) != 0)
		return 0;
	*rest = s + k;
	*rest_n = n - k;
	return 1;
}

static int parse_fields(cw_manifest *m, cursor *c)
{
	const char *s, *v, *slash;
	size_t n, vn;
	uint64_t a, b;
	int error;

	if ((error = next_line(&s, &n, c, "missing; a manifest starts \"" HEADER "\"")) < 0)
		return error;
	if (n != sizeof(HEADER) - 1 || memcmp(s, HEADER, n) != 0)
		return bad(c->line, "is not \"" HEADER "\"");
	if ((error = next_line(&s, &n, c, "missing; expected an empty line")) < 0)
		return error;
	if (n != 0)
		return bad(c->line, "is not empty");

	if ((error = next_line(&s, &n, c, "missing; expected \"from: <device id>\"")) < 0)
		return error;
	if (!has_prefix(&v, &vn, s, n, "from: ") || vn != CW_DEVICE_ID_LEN || !cw_is_lower_hex(v, vn))
		return bad(c->line, "is not \"from: <16 lower-case hex>\"");
	memcpy(m->from, v, vn);
	m->from[vn] = '\0';

	if ((error = next_line(&s, &n, c, "missing; expected \"to: <device id>\"")) < 0)
		return error;
	if (!has_prefix(&v, &vn, s, n, "to: ") || vn != CW_DEVICE_ID_LEN || !cw_is_lower_hex(v, vn))
		return bad(c->line, "is not \"to: <16 lower-case hex>\"");
	memcpy(m->to, v, vn);
	m->to[vn] = '\0';
	if (strcmp(m->from, m->to) == 0)
		return bad(c->line, "names the sender as the receiver");

	if ((error = next_line(&s, &n, c, "missing; expected \"seq: <number>\"")) < 0)
		return error;
	if (!has_prefix(&v, &vn, s, n, "seq: ") || !take_dec(&a, v, vn, INT64_MAX) || a < 1)
		return bad(c->line, "is not \"seq: <number from 1 to 2^63-1, no leading zeros>\"");
	m->seq = a;

	if ((error = next_line(&s, &n, c, "missing; expected \"part: <i>/<n>\"")) < 0)
		return error;
	if (!has_prefix(&v, &vn, s, n, "part: ") || (slash = memchr(v, '/', vn)) == NULL ||
	    !take_dec(&a, v, (size_t)(slash - v), CW_MANIFEST_MAX_PARTS) ||
	    !take_dec(&b, slash + 1, vn - (size_t)(slash - v) - 1, CW_MANIFEST_MAX_PARTS) || a < 1 || a > b)
		return bad(c->line, "is not \"part: <i>/<n>\" with 1 <= i <= n <= 10000");
	m->part = (uint32_t)a;
	m->parts = (uint32_t)b;

	if ((error = next_line(&s, &n, c, "missing; expected \"time: <unix seconds>\"")) < 0)
		return error;
	if (!has_prefix(&v, &vn, s, n, "time: ") || !take_dec(&a, v, vn, (uint64_t)CW_MANIFEST_TIME_END - 1))
		return bad(c->line, "is not \"time: <unix seconds before 2200, no leading zeros>\"");
	m->time = (int64_t)a;
	return CW_OK;
}

/* The ref and have lines from c to the end. Counts them into m->nrefs and
 * m->nhave; when fill, also copies them into m->refs and m->have, which
 * hold exactly as many as a first pass over the same bytes counted. */
static int parse_refs(cw_manifest *m, cursor *c, int fill)
{
	const char *s, *v, *name, *prev[2] = { NULL, NULL };
	size_t n, vn, name_len, prev_len[2] = { 0, 0 }, count[2] = { 0, 0 }, cap[2];
	cw_bundle_ref *arr[2];
	int error, kind, seen_have = 0;

	arr[0] = m->refs;
	arr[1] = m->have;
	cap[0] = fill ? m->nrefs : 0;
	cap[1] = fill ? m->nhave : 0;
	while (c->p < c->end) {
		if ((error = next_line(&s, &n, c, "missing")) < 0)
			return error;
		if (has_prefix(&v, &vn, s, n, "ref ")) {
			kind = 0;
			if (seen_have)
				return bad(c->line, "a ref line comes after a have line");
		} else if (has_prefix(&v, &vn, s, n, "have ")) {
			kind = 1;
			seen_have = 1;
		} else {
			return bad(c->line, "is not a ref or have line");
		}
		if (vn < OID_HEX + 2 || !cw_is_lower_hex(v, OID_HEX) || v[OID_HEX] != ' ')
			return bad(c->line, "does not start with a 40 lower-case hex commit id and a space");
		name = v + OID_HEX + 1;
		name_len = vn - OID_HEX - 1;
		if (!ref_valid_n(name, name_len))
			return bad(c->line,
			           "names a ref other than refs/cw/roster, refs/cw/case/<case>/<device> or "
			           "refs/cw/erased/<case>");
		if (prev[kind] != NULL && name_cmp(prev[kind], prev_len[kind], name, name_len) >= 0)
			return bad(c->line, kind == 0
			                        ? "ref lines are not in strictly increasing name order"
			                        : "have lines are not in strictly increasing name order");
		if (count[kind] == CW_MANIFEST_MAX_REFS)
			return bad(c->line,
			           kind == 0 ? "more than 100000 ref lines" : "more than 100000 have lines");
		if (fill) {
			if (count[kind] >= cap[kind])
				return cw_error(CW_ERROR, "manifest line %zu: changed while being read",
				                c->line);
			memcpy(arr[kind][count[kind]].oid, v, OID_HEX);
			arr[kind][count[kind]].oid[OID_HEX] = '\0';
			memcpy(arr[kind][count[kind]].name, name, name_len);
			arr[kind][count[kind]].name[name_len] = '\0';
		}
		prev[kind] = name;
		prev_len[kind] = name_len;
		count[kind]++;
	}
	m->nrefs = count[0];
	m->nhave = count[1];
	return CW_OK;
}

int cw_manifest_parse(cw_manifest *out, const char *text, size_t len)
{
	cw_manifest m;
	cursor c, body;
	int error;

	memset(out, 0, sizeof(*out));
	memset(&m, 0, sizeof(m));
	if (len > CW_MANIFEST_MAX_BYTES) {
		error = cw_error(CW_EINVALID, "a manifest is larger than 64 MiB (%zu bytes)", len);
		goto done;
	}
	if (text == NULL && len > 0) {
		error = cw_error(CW_EINVALID, "a manifest's text is missing");
		goto done;
	}
	if (text == NULL)
		text = "";
	c.p = text;
	c.end = text + len;
	c.line = 0;
	if ((error = parse_fields(&m, &c)) < 0)
		goto done;
	body = c;
	if ((error = parse_refs(&m, &c, 0)) < 0)
		goto done;
	if ((m.nrefs > 0 && (m.refs = calloc(m.nrefs, sizeof(*m.refs))) == NULL) ||
	    (m.nhave > 0 && (m.have = calloc(m.nhave, sizeof(*m.have))) == NULL)) {
		error = cw_error_nomem();
		goto done;
	}
	if ((error = parse_refs(&m, &body, 1)) < 0)
		goto done;
	*out = m;
	memset(&m, 0, sizeof(m));
done:
	cw_manifest_dispose(&m);
	return error;
}

void cw_manifest_dispose(cw_manifest *m)
{
	if (m == NULL)
		return;
	free(m->refs);
	free(m->have);
	memset(m, 0, sizeof(*m));
}
