/* crypto/cert.c - requests, certificates, rosters, enrolment packages
 * (formats in cert.h). Every parser checks lengths against what is left
 * before reading, and signatures over the exact bytes it was given. */
#include "cert.h"
#include "../util/error.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t magic_request[4] = { 'C', 'W', 'R', 'Q' };
static const uint8_t magic_cert[4] = { 'C', 'W', 'C', 'T' };
static const uint8_t magic_roster[4] = { 'C', 'W', 'R', 'S' };
static const uint8_t magic_package[4] = { 'C', 'W', 'E', 'P' };

#define ENTRY_CERT 1
#define ENTRY_REVOCATION 2
#define CERT_MIN_BYTES (4 + 1 + 1 + 8 + 8 + 3 * CW_PK_BYTES + 2 + 1 + CW_SIG_BYTES)
#define REVOCATION_MIN_BYTES (CW_PK_BYTES + 8 + 4)
#define REVOKED_CHAIN_BYTES (CW_REVOKED_CASE_BYTES + 8 + CW_REVOKED_COMMIT_BYTES)
#define ENTRY_MIN_BYTES (5 + REVOCATION_MIN_BYTES)

struct cw_roster {
	uint64_t seq;
	int64_t issued_at;
	uint8_t org_pk[CW_PK_BYTES];
	uint8_t prev[CW_HASH_BYTES];
	uint8_t hash[CW_HASH_BYTES];
	char org_name[CW_NAME_MAX + 1];
	size_t count;
	cw_cert *certs;
	const uint8_t **cert_bytes; /* into bytes */
	size_t *cert_len;
	size_t nrevs;
	cw_revocation *revs;
	const uint8_t **rev_bytes; /* into bytes */
	size_t *rev_len;
	uint8_t *bytes; /* a copy of the whole roster */
	size_t len;
};

const char *cw_role_name(int role)
{
	switch (role) {
	case CW_ROLE_COORDINATOR:
		return "coordinator";
	case CW_ROLE_HUB:
		return "hub";
	case CW_ROLE_CLINIC:
		return "clinic";
	case CW_ROLE_DOCTOR:
		return "doctor";
	default:
		return "unknown";
	}
}

int cw_role_parse(cw_role *out, const char *name)
{
	int r;

	for (r = CW_ROLE_COORDINATOR; r <= CW_ROLE_DOCTOR; r++) {
		if (strcmp(name, cw_role_name(r)) == 0) {
			*out = (cw_role)r;
			return CW_OK;
		}
	}
	return cw_error(CW_EINVALID, "'%.40s' is not a role (coordinator, hub, clinic, doctor)", name);
}

static int role_ok(int role)
{
	return role >= CW_ROLE_COORDINATOR && role <= CW_ROLE_DOCTOR;
}

static int name_ok(const uint8_t *name, size_t len)
{
	return len >= 1 && len <= CW_NAME_MAX && cw_utf8_valid(name, len, 0);
}

static int put_name(cw_buf *out, const char *name)
{
	size_t len = strlen(name);

	if (!name_ok((const uint8_t *)name, len))
		return cw_error(CW_EINVALID, "a name must be 1 to %d characters of text", CW_NAME_MAX);
	return cw_buf_put_str16(out, name, len);
}

static int get_name(char out[CW_NAME_MAX + 1], cw_reader *r, const char *what)
{
	const uint8_t *p;
	size_t len;
	int error;

	if ((error = cw_reader_str16(r, &p, &len, what)) < 0)
		return error;
	if (!name_ok(p, len))
		return cw_error(CW_EINVALID, "%s has a malformed name", what);
	memcpy(out, p, len);
	out[len] = '\0';
	return CW_OK;
}

/* Append a signature by k over out's bytes from start. */
static int sign_tail(cw_buf *out, size_t start, const cw_keys *k)
{
	uint8_t sig[CW_SIG_BYTES];

	cw_keys_sign(sig, k, out->data + start, out->len - start);
	return cw_buf_put(out, sig, CW_SIG_BYTES);
}

/* Split off the trailing signature and check the header: magic and version. */
static int open_signed(cw_reader *r, const uint8_t **sig, const uint8_t *data, size_t len,
                       const uint8_t magic[4], const char *what)
{
	const uint8_t *p;
	uint8_t version;
	int error;

	if (len < 5 + CW_SIG_BYTES)
		return cw_error(CW_EINVALID, "the %s is cut short", what);
	cw_reader_init(r, data, len - CW_SIG_BYTES);
	*sig = data + len - CW_SIG_BYTES;
	if ((error = cw_reader_get(r, &p, 4, what)) < 0)
		return error;
	if (memcmp(p, magic, 4) != 0)
		return cw_error(CW_EINVALID, "not a caseway %s", what);
	if ((error = cw_reader_u8(r, &version, what)) < 0)
		return error;
	if (version != 1)
		return cw_error(CW_EINVALID, "unsupported %s version %u", what, version);
	return CW_OK;
}

static int get_role(cw_role *out, cw_reader *r, const char *what)
{
	uint8_t role;
	int error;

	if ((error = cw_reader_u8(r, &role, what)) < 0)
		return error;
	if (!role_ok(role))
		return cw_error(CW_EINVALID, "the %s names an unknown role %u", what, role);
	*out = (cw_role)role;
	return CW_OK;
}

/* --- requests ------------------------------------------------------------------ */

int cw_request_create(cw_buf *out, const cw_keys *device, const char *name, cw_role role, int64_t now)
{
	size_t start = out->len;
	int error;

	if (!role_ok((int)role))
		return cw_error(CW_EINVALID, "internal: unknown role %d", (int)role);
	if ((error = cw_buf_put(out, magic_request, 4)) < 0 || (error = cw_buf_put_u8(out, 1)) < 0 ||
	    (error = cw_buf_put_u8(out, (uint8_t)role)) < 0 ||
	    (error = cw_buf_put_u64(out, (uint64_t)now)) < 0 ||
	    (error = cw_buf_put(out, cw_keys_sign_pk(device), CW_PK_BYTES)) < 0 ||
	    (error = cw_buf_put(out, cw_keys_box_pk(device), CW_PK_BYTES)) < 0 ||
	    (error = put_name(out, name)) < 0 || (error = sign_tail(out, start, device)) < 0)
		out->len = start;
	return error;
}

int cw_request_parse(cw_request *out, const uint8_t *data, size_t len)
{
	cw_request req;
	cw_reader r;
	const uint8_t *sig = NULL;
	uint64_t t;
	int error;

	memset(&req, 0, sizeof(req));
	if (len > CW_CERT_MAX_BYTES)
		return cw_error(CW_EINVALID, "the enrolment request is too large");
	if ((error = open_signed(&r, &sig, data, len, magic_request, "enrolment request")) < 0 ||
	    (error = get_role(&req.role, &r, "enrolment request")) < 0 ||
	    (error = cw_reader_u64(&r, &t, "enrolment request")) < 0 ||
	    (error = cw_reader_copy(&r, req.sign_pk, CW_PK_BYTES, "enrolment request")) < 0 ||
	    (error = cw_reader_copy(&r, req.box_pk, CW_PK_BYTES, "enrolment request")) < 0 ||
	    (error = get_name(req.name, &r, "enrolment request")) < 0 ||
	    (error = cw_reader_end(&r, "enrolment request")) < 0)
		return error;
	req.created_at = (int64_t)t;
	if (cw_keys_verify(sig, req.sign_pk, data, len - CW_SIG_BYTES) != CW_OK)
		return cw_error(CW_EVERIFY, "the enrolment request's signature does not verify");
	cw_keys_id_of(req.device_id, req.sign_pk);
	*out = req;
	return CW_OK;
}

/* --- certificates ------------------------------------------------------------------ */

int cw_cert_issue(cw_buf *out, const cw_keys *org, const cw_request *req, cw_role role, int64_t now,
                  int64_t not_after)
{
	size_t start = out->len;
	int error;

	if (!role_ok((int)role))
		return cw_error(CW_EINVALID, "internal: unknown role %d", (int)role);
	if (not_after != 0 && not_after <= now)
		return cw_error(CW_EINVALID, "the certificate would expire before it is issued");
	if ((error = cw_buf_put(out, magic_cert, 4)) < 0 || (error = cw_buf_put_u8(out, 1)) < 0 ||
	    (error = cw_buf_put_u8(out, (uint8_t)role)) < 0 ||
	    (error = cw_buf_put_u64(out, (uint64_t)now)) < 0 ||
	    (error = cw_buf_put_u64(out, (uint64_t)not_after)) < 0 ||
	    (error = cw_buf_put(out, cw_keys_sign_pk(org), CW_PK_BYTES)) < 0 ||
	    (error = cw_buf_put(out, req->sign_pk, CW_PK_BYTES)) < 0 ||
	    (error = cw_buf_put(out, req->box_pk, CW_PK_BYTES)) < 0 ||
	    (error = put_name(out, req->name)) < 0 || (error = sign_tail(out, start, org)) < 0)
		out->len = start;
	return error;
}

int cw_cert_parse(cw_cert *out, const uint8_t *data, size_t len)
{
	cw_cert c;
	cw_reader r;
	const uint8_t *sig = NULL;
	uint64_t t, na;
	int error;

	memset(&c, 0, sizeof(c));
	if (len > CW_CERT_MAX_BYTES)
		return cw_error(CW_EINVALID, "the certificate is too large");
	if ((error = open_signed(&r, &sig, data, len, magic_cert, "certificate")) < 0 ||
	    (error = get_role(&c.role, &r, "certificate")) < 0 ||
	    (error = cw_reader_u64(&r, &t, "certificate")) < 0 ||
	    (error = cw_reader_u64(&r, &na, "certificate")) < 0 ||
	    (error = cw_reader_copy(&r, c.org_pk, CW_PK_BYTES, "certificate")) < 0 ||
	    (error = cw_reader_copy(&r, c.sign_pk, CW_PK_BYTES, "certificate")) < 0 ||
	    (error = cw_reader_copy(&r, c.box_pk, CW_PK_BYTES, "certificate")) < 0 ||
	    (error = get_name(c.name, &r, "certificate")) < 0 ||
	    (error = cw_reader_end(&r, "certificate")) < 0)
		return error;
	c.issued_at = (int64_t)t;
	c.not_after = (int64_t)na;
	if (cw_keys_verify(sig, c.org_pk, data, len - CW_SIG_BYTES) != CW_OK)
		return cw_error(CW_EVERIFY, "the certificate's signature does not verify");
	cw_keys_id_of(c.device_id, c.sign_pk);
	cw_keys_hash(c.hash, data, len);
	*out = c;
	return CW_OK;
}

/* --- rosters ------------------------------------------------------------------------ */

void cw_roster_free(cw_roster *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nrevs; i++)
		free(r->revs[i].chains);
	free(r->certs);
	free(r->cert_bytes);
	free(r->cert_len);
	free(r->revs);
	free(r->rev_bytes);
	free(r->rev_len);
	free(r->bytes);
	free(r);
}

static int by_sign_pk(const void *a, const void *b)
{
	const cw_cert *x = *(const cw_cert *const *)a, *y = *(const cw_cert *const *)b;

	return memcmp(x->sign_pk, y->sign_pk, CW_PK_BYTES);
}

/* CW_EINVALID (message set) when two of the n certificates are for the same
 * device. Sorts pointers, so a roster of CW_ROSTER_MAX_ENTRIES stays cheap. */
static int check_unique(const cw_cert *certs, size_t n)
{
	const cw_cert **sorted = NULL;
	size_t i;
	int error = CW_OK;

	if (n < 2)
		goto done;
	if ((sorted = calloc(n, sizeof(*sorted))) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	for (i = 0; i < n; i++)
		sorted[i] = &certs[i];
	qsort(sorted, n, sizeof(*sorted), by_sign_pk);
	for (i = 1; i < n; i++)
		if (memcmp(sorted[i - 1]->sign_pk, sorted[i]->sign_pk, CW_PK_BYTES) == 0) {
			error = cw_error(CW_EINVALID, "the roster lists device %s (%s) twice",
			                 sorted[i]->device_id, sorted[i]->name);
			goto done;
		}
done:
	free(sorted);
	return error;
}

static int all_zero(const uint8_t *p, size_t len)
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < len; i++)
		acc |= p[i];
	return acc == 0;
}

/* Revocation entry: sign_pk[32] | i64 revoked_at | u32 n
 * | n x ( case[16] | u64 seq | commit[20] ), cases strictly ascending. */
static int parse_revocation(cw_revocation *out, const uint8_t *e, size_t len)
{
	cw_reader rd;
	uint64_t at;
	uint32_t n, i;
	int error;

	memset(out, 0, sizeof(*out));
	cw_reader_init(&rd, e, len);
	if ((error = cw_reader_copy(&rd, out->sign_pk, CW_PK_BYTES, "revocation")) < 0 ||
	    (error = cw_reader_u64(&rd, &at, "revocation")) < 0 ||
	    (error = cw_reader_u32(&rd, &n, "revocation")) < 0)
		return error;
	if (n != rd.left / REVOKED_CHAIN_BYTES || rd.left % REVOKED_CHAIN_BYTES != 0)
		return cw_error(CW_EINVALID, "a revocation's list of chains does not match its length");
	out->revoked_at = (int64_t)at;
	cw_keys_id_of(out->device_id, out->sign_pk);
	if (n && (out->chains = calloc(n, sizeof(*out->chains))) == NULL)
		return cw_error_nomem();
	for (i = 0; i < n; i++) {
		cw_revoked_chain *c = &out->chains[i];

		if ((error = cw_reader_copy(&rd, c->case_id, CW_REVOKED_CASE_BYTES, "revocation")) < 0 ||
		    (error = cw_reader_u64(&rd, &c->seq, "revocation")) < 0 ||
		    (error = cw_reader_copy(&rd, c->commit, CW_REVOKED_COMMIT_BYTES, "revocation")) < 0)
			break;
		if (c->seq == 0 ||
		    (i > 0 && memcmp(out->chains[i - 1].case_id, c->case_id, CW_REVOKED_CASE_BYTES) >= 0)) {
			error = cw_error(CW_EINVALID, "a revocation lists its chains out of order");
			break;
		}
		out->nchains = i + 1;
	}
	if (error < 0) {
		free(out->chains);
		out->chains = NULL;
		out->nchains = 0;
	}
	return error;
}

/* Every revocation names a device the roster certifies, each at most once. */
static int check_revocations(const cw_roster *r)
{
	size_t i, j;

	for (i = 0; i < r->nrevs; i++) {
		if (cw_roster_find(r, r->revs[i].sign_pk) < 0)
			return cw_error(CW_EINVALID, "the roster revokes device %s, which it does not list",
			                r->revs[i].device_id);
		for (j = 0; j < i; j++)
			if (memcmp(r->revs[j].sign_pk, r->revs[i].sign_pk, CW_PK_BYTES) == 0)
				return cw_error(CW_EINVALID, "the roster revokes device %s twice",
				                r->revs[i].device_id);
	}
	return CW_OK;
}

int cw_roster_parse(cw_roster **out, const uint8_t *data, size_t len)
{
	cw_roster *r = NULL;
	cw_reader rd, entries;
	const uint8_t *sig = NULL;
	uint64_t t;
	uint32_t count, i;
	int error;

	*out = NULL;
	if (len > CW_ROSTER_MAX_BYTES) {
		error = cw_error(CW_EINVALID, "the roster is too large");
		goto done;
	}
	/* the copy is as large as the input, which is capped above */
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->bytes = malloc(len ? len : 1)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if (len)
		memcpy(r->bytes, data, len);
	r->len = len;
	if ((error = open_signed(&rd, &sig, r->bytes, len, magic_roster, "roster")) < 0 ||
	    (error = cw_reader_u64(&rd, &r->seq, "roster")) < 0 ||
	    (error = cw_reader_u64(&rd, &t, "roster")) < 0 ||
	    (error = cw_reader_copy(&rd, r->org_pk, CW_PK_BYTES, "roster")) < 0 ||
	    (error = cw_reader_copy(&rd, r->prev, CW_HASH_BYTES, "roster")) < 0 ||
	    (error = get_name(r->org_name, &rd, "roster")) < 0 ||
	    (error = cw_reader_u32(&rd, &count, "roster")) < 0)
		goto done;
	r->issued_at = (int64_t)t;
	if (r->seq == 0 || r->seq > INT64_MAX) {
		error = cw_error(CW_EINVALID, "the roster has an impossible sequence number");
		goto done;
	}
	if ((r->seq == 1) != all_zero(r->prev, CW_HASH_BYTES)) {
		error = cw_error(CW_EINVALID, r->seq == 1 ? "the first roster names a predecessor"
		                                          : "the roster does not name its predecessor");
		goto done;
	}
	/* every entry takes at least 5 + CERT_MIN_BYTES: check before allocating */
	if (count > CW_ROSTER_MAX_ENTRIES || count > rd.left / ENTRY_MIN_BYTES) {
		error = cw_error(CW_EINVALID, "the roster claims more entries than it holds");
		goto done;
	}
	/* structure first (cheap, so malformed is CW_EINVALID whatever the
	 * signature), then the signature, then each certificate */
	entries = rd;
	for (i = 0; i < count; i++) {
		uint8_t type;
		uint32_t elen;
		const uint8_t *e;

		if ((error = cw_reader_u8(&rd, &type, "roster")) < 0 ||
		    (error = cw_reader_u32(&rd, &elen, "roster")) < 0 ||
		    (error = cw_reader_get(&rd, &e, elen, "roster")) < 0)
			goto done;
		if (type != ENTRY_CERT && type != ENTRY_REVOCATION) {
			error = cw_error(CW_EINVALID, "roster entry %u has an unknown type %u", i + 1,
			                 (unsigned)type);
			goto done;
		}
	}
	if ((error = cw_reader_end(&rd, "roster")) < 0)
		goto done;
	if (cw_keys_verify(sig, r->org_pk, r->bytes, len - CW_SIG_BYTES) != CW_OK) {
		error = cw_error(CW_EVERIFY, "the roster is not signed by the agency key it names");
		goto done;
	}
	if (count && ((r->certs = calloc(count, sizeof(*r->certs))) == NULL ||
	              (r->cert_bytes = calloc(count, sizeof(*r->cert_bytes))) == NULL ||
	              (r->cert_len = calloc(count, sizeof(*r->cert_len))) == NULL ||
	              (r->revs = calloc(count, sizeof(*r->revs))) == NULL ||
	              (r->rev_bytes = calloc(count, sizeof(*r->rev_bytes))) == NULL ||
	              (r->rev_len = calloc(count, sizeof(*r->rev_len))) == NULL)) {
		error = cw_error_nomem();
		goto done;
	}
	for (i = 0; i < count; i++) {
		uint8_t type;
		uint32_t elen;
		const uint8_t *e;

		/* cannot fail: the walk above read the same bytes */
		if ((error = cw_reader_u8(&entries, &type, "roster")) < 0 ||
		    (error = cw_reader_u32(&entries, &elen, "roster")) < 0 ||
		    (error = cw_reader_get(&entries, &e, elen, "roster")) < 0)
			goto done;
		if (type == ENTRY_REVOCATION) {
			if ((error = parse_revocation(&r->revs[r->nrevs], e, elen)) < 0) {
				error = cw_error(error, "roster entry %u: %s", i + 1, cw_error_last());
				goto done;
			}
			r->rev_bytes[r->nrevs] = e;
			r->rev_len[r->nrevs++] = elen;
			continue;
		}
		if ((error = cw_cert_parse(&r->certs[r->count], e, elen)) < 0) {
			error = cw_error(error, "roster entry %u: %s", i + 1, cw_error_last());
			goto done;
		}
		if (!cw_secret_equal(r->certs[r->count].org_pk, r->org_pk, CW_PK_BYTES)) {
			error = cw_error(CW_EVERIFY,
			                 "roster entry %u (%s) is not signed by the roster's agency key",
			                 i + 1, r->certs[r->count].name);
			goto done;
		}
		r->cert_bytes[r->count] = e;
		r->cert_len[r->count++] = elen;
	}
	if ((error = check_unique(r->certs, r->count)) < 0 || (error = check_revocations(r)) < 0)
		goto done;
	cw_keys_hash(r->hash, r->bytes, len);
	*out = r;
	r = NULL;
done:
	cw_roster_free(r);
	return error;
}

int cw_roster_build(cw_buf *out, const cw_keys *org, const char *org_name, const cw_roster *prev,
                    const cw_buf *certs, size_t ncerts, const cw_buf *revs, size_t nrevs, int64_t now)
{
	cw_roster *check = NULL;
	uint8_t zero[CW_HASH_BYTES];
	cw_cert *parsed = NULL;
	size_t start = out->len, i;
	int error;

	memset(zero, 0, sizeof(zero));
	if (ncerts + nrevs > CW_ROSTER_MAX_ENTRIES) {
		error = cw_error(CW_EINVALID, "too many devices for one roster (at most %d)",
		                 CW_ROSTER_MAX_ENTRIES);
		goto done;
	}
	if (prev && !cw_secret_equal(prev->org_pk, cw_keys_sign_pk(org), CW_PK_BYTES)) {
		error = cw_error(CW_EVERIFY, "this agency key did not sign the current roster");
		goto done;
	}
	/* never sign what cw_roster_parse would refuse */
	if (ncerts && (parsed = calloc(ncerts, sizeof(*parsed))) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	for (i = 0; i < ncerts; i++) {
		if ((error = cw_cert_parse(&parsed[i], certs[i].data, certs[i].len)) < 0) {
			error = cw_error(error, "certificate %zu: %s", i + 1, cw_error_last());
			goto done;
		}
		if (!cw_secret_equal(parsed[i].org_pk, cw_keys_sign_pk(org), CW_PK_BYTES)) {
			error = cw_error(CW_EVERIFY, "certificate %zu (%s) was issued by another agency key",
			                 i + 1, parsed[i].name);
			goto done;
		}
	}
	if ((error = check_unique(parsed, ncerts)) < 0)
		goto done;
	if ((error = cw_buf_put(out, magic_roster, 4)) < 0 || (error = cw_buf_put_u8(out, 1)) < 0 ||
	    (error = cw_buf_put_u64(out, prev ? prev->seq + 1 : 1)) < 0 ||
	    (error = cw_buf_put_u64(out, (uint64_t)now)) < 0 ||
	    (error = cw_buf_put(out, cw_keys_sign_pk(org), CW_PK_BYTES)) < 0 ||
	    (error = cw_buf_put(out, prev ? prev->hash : zero, CW_HASH_BYTES)) < 0 ||
	    (error = put_name(out, org_name)) < 0 ||
	    (error = cw_buf_put_u32(out, (uint32_t)(ncerts + nrevs))) < 0)
		goto done;
	for (i = 0; i < ncerts + nrevs; i++) {
		const cw_buf *e = i < ncerts ? &certs[i] : &revs[i - ncerts];

		if ((error = cw_buf_put_u8(out, i < ncerts ? ENTRY_CERT : ENTRY_REVOCATION)) < 0 ||
		    (error = cw_buf_put_u32(out, (uint32_t)e->len)) < 0 ||
		    (error = cw_buf_put(out, e->data, e->len)) < 0)
			goto done;
	}
	if (out->len - start + CW_SIG_BYTES > CW_ROSTER_MAX_BYTES) {
		error = cw_error(CW_EINVALID, "the roster would be too large");
		goto done;
	}
	if ((error = sign_tail(out, start, org)) < 0)
		goto done;
	/* revocations are checked whole by the parser: never hand out a roster
	 * it would refuse */
	if (nrevs && (error = cw_roster_parse(&check, out->data + start, out->len - start)) < 0)
		goto done;
done:
	if (error < 0)
		out->len = start;
	cw_roster_free(check);
	free(parsed);
	return error;
}

uint64_t cw_roster_seq(const cw_roster *r)
{
	return r->seq;
}

int64_t cw_roster_issued_at(const cw_roster *r)
{
	return r->issued_at;
}

const uint8_t *cw_roster_org_pk(const cw_roster *r)
{
	return r->org_pk;
}

const char *cw_roster_org_name(const cw_roster *r)
{
	return r->org_name;
}

const uint8_t *cw_roster_hash(const cw_roster *r)
{
	return r->hash;
}

const uint8_t *cw_roster_prev(const cw_roster *r)
{
	return r->prev;
}

const uint8_t *cw_roster_raw(const cw_roster *r, size_t *len_out)
{
	*len_out = r->len;
	return r->bytes;
}

size_t cw_roster_count(const cw_roster *r)
{
	return r->count;
}

const cw_cert *cw_roster_cert(const cw_roster *r, size_t i)
{
	return i < r->count ? &r->certs[i] : NULL;
}

void cw_roster_cert_bytes(const cw_roster *r, size_t i, const uint8_t **data, size_t *len)
{
	*data = i < r->count ? r->cert_bytes[i] : NULL;
	*len = i < r->count ? r->cert_len[i] : 0;
}

size_t cw_roster_revocation_count(const cw_roster *r)
{
	return r->nrevs;
}

const cw_revocation *cw_roster_revocation_at(const cw_roster *r, size_t i)
{
	return i < r->nrevs ? &r->revs[i] : NULL;
}

void cw_roster_revocation_bytes(const cw_roster *r, size_t i, const uint8_t **data, size_t *len)
{
	*data = i < r->nrevs ? r->rev_bytes[i] : NULL;
	*len = i < r->nrevs ? r->rev_len[i] : 0;
}

const cw_revocation *cw_roster_revocation(const cw_roster *r, const uint8_t sign_pk[CW_PK_BYTES])
{
	size_t i;

	for (i = 0; i < r->nrevs; i++)
		if (memcmp(r->revs[i].sign_pk, sign_pk, CW_PK_BYTES) == 0)
			return &r->revs[i];
	return NULL;
}

int cw_roster_revoked(const cw_roster *r, const uint8_t sign_pk[CW_PK_BYTES])
{
	return cw_roster_revocation(r, sign_pk) != NULL;
}

const cw_revoked_chain *cw_revocation_chain(const cw_revocation *rev,
                                            const uint8_t case_id[CW_REVOKED_CASE_BYTES])
{
	size_t lo = 0, hi = rev->nchains;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(rev->chains[mid].case_id, case_id, CW_REVOKED_CASE_BYTES);

		if (c == 0)
			return &rev->chains[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int by_case(const void *a, const void *b)
{
	return memcmp(((const cw_revoked_chain *)a)->case_id, ((const cw_revoked_chain *)b)->case_id,
	              CW_REVOKED_CASE_BYTES);
}

int cw_revocation_encode(cw_buf *out, const uint8_t sign_pk[CW_PK_BYTES], int64_t revoked_at,
                         cw_revoked_chain *chains, size_t n)
{
	size_t start = out->len, i;
	int error;

	if (n > (CW_ROSTER_MAX_BYTES - REVOCATION_MIN_BYTES) / REVOKED_CHAIN_BYTES)
		return cw_error(CW_EINVALID, "the device wrote too many chains for one revocation");
	if (n)
		qsort(chains, n, sizeof(*chains), by_case);
	if ((error = cw_buf_put(out, sign_pk, CW_PK_BYTES)) < 0 ||
	    (error = cw_buf_put_u64(out, (uint64_t)revoked_at)) < 0 ||
	    (error = cw_buf_put_u32(out, (uint32_t)n)) < 0)
		goto done;
	for (i = 0; i < n; i++)
		if ((error = cw_buf_put(out, chains[i].case_id, CW_REVOKED_CASE_BYTES)) < 0 ||
		    (error = cw_buf_put_u64(out, chains[i].seq)) < 0 ||
		    (error = cw_buf_put(out, chains[i].commit, CW_REVOKED_COMMIT_BYTES)) < 0)
			goto done;
done:
	if (error < 0)
		out->len = start;
	return error;
}

long cw_roster_find(const cw_roster *r, const uint8_t sign_pk[CW_PK_BYTES])
{
	size_t i;

	for (i = 0; i < r->count; i++)
		if (memcmp(r->certs[i].sign_pk, sign_pk, CW_PK_BYTES) == 0)
			return (long)i;
	return -1;
}

/* --- enrolment packages --------------------------------------------------------------- */

int cw_enrolment_build(cw_buf *out, const uint8_t *cert, size_t cert_len, const uint8_t *roster,
                       size_t roster_len)
{
	size_t start = out->len;
	int error;

	if (cert_len > CW_CERT_MAX_BYTES || roster_len > CW_ROSTER_MAX_BYTES)
		return cw_error(CW_EINVALID, "the certificate or roster is too large to package");
	if ((error = cw_buf_put(out, magic_package, 4)) < 0 || (error = cw_buf_put_u8(out, 1)) < 0 ||
	    (error = cw_buf_put_u32(out, (uint32_t)cert_len)) < 0 ||
	    (error = cw_buf_put(out, cert, cert_len)) < 0 ||
	    (error = cw_buf_put_u32(out, (uint32_t)roster_len)) < 0 ||
	    (error = cw_buf_put(out, roster, roster_len)) < 0)
		out->len = start;
	return error;
}

int cw_enrolment_split(const uint8_t **cert, size_t *cert_len, const uint8_t **roster, size_t *roster_len,
                       const uint8_t *data, size_t len)
{
	static const char what[] = "certificate file";
	const uint8_t *p, *c, *rs;
	uint8_t version;
	uint32_t clen, rlen;
	cw_reader r;
	int error;

	cw_reader_init(&r, data, len);
	if ((error = cw_reader_get(&r, &p, 4, what)) < 0 || memcmp(p, magic_package, 4) != 0)
		return cw_error(CW_EINVALID, "not a caseway certificate file");
	if ((error = cw_reader_u8(&r, &version, what)) < 0)
		return error;
	if (version != 1)
		return cw_error(CW_EINVALID, "unsupported certificate file version %u", (unsigned)version);
	if ((error = cw_reader_u32(&r, &clen, what)) < 0 || (error = cw_reader_get(&r, &c, clen, what)) < 0 ||
	    (error = cw_reader_u32(&r, &rlen, what)) < 0 ||
	    (error = cw_reader_get(&r, &rs, rlen, what)) < 0 || (error = cw_reader_end(&r, what)) < 0)
		return error;
	if (clen > CW_CERT_MAX_BYTES || rlen > CW_ROSTER_MAX_BYTES)
		return cw_error(CW_EINVALID, "the certificate file holds a part that is too large");
	*cert = c;
	*cert_len = clen;
	*roster = rs;
	*roster_len = rlen;
	return CW_OK;
}
