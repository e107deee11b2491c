/* node/org.c - org key, enrolment, trust anchors. */
#include "org.h"
#include "store_internal.h"
#include "../util/error.h"
#include "../util/file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ORG_KEY_CAP 4096

static const char sql_roster_newest[] = "SELECT bytes FROM roster ORDER BY seq DESC LIMIT 1";
static const char sql_roster_at[] = "SELECT hash FROM roster WHERE seq=?1";
static const char sql_roster_add[] =
    "INSERT INTO roster(seq, hash, bytes, received_at) VALUES(?1, ?2, ?3, ?4)";
static const char sql_roster_all[] = "SELECT seq, bytes FROM roster ORDER BY seq";

static int64_t now_seconds(void)
{
	return (int64_t)time(NULL);
}

int cw_org_roster(cw_roster **out, cw_home *h)
{
	cw_store *st = cw_home_store(h);
	sqlite3_stmt *stmt = NULL;
	int rc, error;

	*out = NULL;
	if ((error = cw_store__prepare(st, &stmt, sql_roster_newest)) < 0)
		return error;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		error = cw_error(
		    CW_ENOTFOUND,
		    "this device is not enrolled with an agency yet: run `caseway org join CERT`");
	else if (rc != SQLITE_ROW)
		error = cw_store__error(st, rc, "reading the roster");
	else if ((error = cw_roster_parse(out, sqlite3_column_blob(stmt, 0),
	                                  (size_t)sqlite3_column_bytes(stmt, 0))) < 0)
		error = cw_error(CW_EVERIFY, "the stored roster does not verify: %s", cw_error_last());
	sqlite3_reset(stmt);
	return error;
}

int cw_org_roster_each(cw_home *h, int (*fn)(uint64_t seq, const uint8_t *bytes, size_t len, void *ctx),
                       void *ctx)
{
	cw_store *st = cw_home_store(h);
	sqlite3_stmt *stmt = NULL;
	int rc, error = CW_OK;

	if ((error = cw_store__prepare(st, &stmt, sql_roster_all)) < 0)
		return error;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		if ((error = fn((uint64_t)sqlite3_column_int64(stmt, 0), sqlite3_column_blob(stmt, 1),
		                (size_t)sqlite3_column_bytes(stmt, 1), ctx)) != 0)
			break;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		error = cw_store__error(st, rc, "reading the roster");
	sqlite3_reset(stmt);
	return error;
}

/* A revocation is for good: a roster newer than the newest held must keep
 * every revocation of it, byte for byte. */
static int keeps_revocations(cw_home *h, const cw_roster *r)
{
	cw_roster *held = NULL;
	size_t i;
	int error = cw_org_roster(&held, h);

	if (error == CW_ENOTFOUND) {
		cw_error_clear();
		return CW_OK;
	}
	if (error < 0)
		return error;
	for (i = 0; cw_roster_seq(held) < cw_roster_seq(r) && i < cw_roster_revocation_count(held); i++) {
		const cw_revocation *a = cw_roster_revocation_at(held, i);
		const cw_revocation *b = cw_roster_revocation(r, a->sign_pk);
		const uint8_t *ab, *bb = NULL;
		size_t al, bl = 0, j;

		cw_roster_revocation_bytes(held, i, &ab, &al);
		for (j = 0; b && j < cw_roster_revocation_count(r); j++)
			if (cw_roster_revocation_at(r, j) == b)
				cw_roster_revocation_bytes(r, j, &bb, &bl);
		if (b == NULL || al != bl || memcmp(ab, bb, al) != 0) {
			error = cw_error(CW_EVERIFY,
			                 "roster %llu takes back the revocation of device %s: refused",
			                 (unsigned long long)cw_roster_seq(r), a->device_id);
			break;
		}
	}
	cw_roster_free(held);
	return error;
}

/* Add a verified roster to the history (inside the caller's transaction).
 * Same seq and same bytes: nothing to do. */
static int roster_store(cw_home *h, const cw_roster *r, const uint8_t *bytes, size_t len)
{
	cw_store *st = cw_home_store(h);
	sqlite3_stmt *stmt = NULL;
	cw_buf pinned = CW_BUF_INIT;
	int rc, error;

	error = cw_store_meta_get(st, "org.pk", &pinned);
	if (error == CW_ENOTFOUND) {
		if ((error = cw_store_meta_set(st, "org.pk", cw_roster_org_pk(r), CW_PK_BYTES)) < 0 ||
		    (error = cw_store_meta_set(st, "org.name", cw_roster_org_name(r),
		                               strlen(cw_roster_org_name(r)))) < 0)
			goto done;
	} else if (error < 0) {
		goto done;
	} else if (pinned.len != CW_PK_BYTES ||
	           !cw_secret_equal(pinned.data, cw_roster_org_pk(r), CW_PK_BYTES)) {
		error = cw_error(CW_EVERIFY, "the roster comes from a different agency key than the one "
		                             "this node trusts");
		goto done;
	}
	if ((error = cw_store__prepare(st, &stmt, sql_roster_at)) < 0)
		goto done;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)cw_roster_seq(r));
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		int same = sqlite3_column_bytes(stmt, 0) == CW_HASH_BYTES &&
		           cw_secret_equal(sqlite3_column_blob(stmt, 0), cw_roster_hash(r), CW_HASH_BYTES);

		sqlite3_reset(stmt);
		error = same ? CW_OK
		             : cw_error(CW_EVERIFY, "two different rosters claim number %llu: refused",
		                        (unsigned long long)cw_roster_seq(r));
		goto done;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		error = cw_store__error(st, rc, "reading the roster");
		goto done;
	}
	/* The predecessor, when held, must be the one this roster names. */
	if (cw_roster_seq(r) > 1) {
		sqlite3_bind_int64(stmt, 1, (sqlite3_int64)cw_roster_seq(r) - 1);
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW &&
		    !(sqlite3_column_bytes(stmt, 0) == CW_HASH_BYTES &&
		      cw_secret_equal(sqlite3_column_blob(stmt, 0), cw_roster_prev(r), CW_HASH_BYTES))) {
			sqlite3_reset(stmt);
			error = cw_error(CW_EVERIFY, "roster %llu does not follow the roster this node holds",
			                 (unsigned long long)cw_roster_seq(r));
			goto done;
		}
		sqlite3_reset(stmt);
	}
	if ((error = keeps_revocations(h, r)) < 0)
		goto done;
	{
		const cw_revocation *self = cw_roster_revocation(r, cw_keys_sign_pk(cw_home_keys(h)));
		char at[24];

		snprintf(at, sizeof(at), "%lld", self ? (long long)self->revoked_at : 0LL);
		if (self && (error = cw_store_meta_set(st, CW_META_REVOKED, at, strlen(at))) < 0)
			goto done;
	}
	if ((error = cw_store__prepare(st, &stmt, sql_roster_add)) < 0)
		goto done;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)cw_roster_seq(r));
	sqlite3_bind_blob(stmt, 2, cw_roster_hash(r), CW_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 3, bytes, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, now_seconds());
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		error = cw_store__error(st, rc, "saving the roster");
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
done:
	cw_buf_dispose(&pinned);
	return error;
}

int cw_org_accept_roster(cw_home *h, const uint8_t *bytes, size_t len)
{
	cw_roster *r = NULL;
	int error;

	if ((error = cw_roster_parse(&r, bytes, len)) < 0) {
		error = cw_error(CW_EVERIFY, "roster refused: %s", cw_error_last());
		goto done;
	}
	if ((error = cw_store_begin(cw_home_store(h))) < 0)
		goto done;
	if ((error = roster_store(h, r, bytes, len)) < 0 || (error = cw_store_commit(cw_home_store(h))) < 0)
		cw_store_rollback(cw_home_store(h));
done:
	cw_roster_free(r);
	return error;
}

int cw_org_unlock(cw_keys **out, cw_home *h, const char *path, const char *pass, size_t passlen)
{
	cw_buf b = CW_BUF_INIT;
	cw_keystore_info info;
	char *own = NULL;
	int error;

	*out = NULL;
	if (path == NULL && (path = own = cw_home_file(h, "org.key")) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if ((error = cw_file_read(&b, path, ORG_KEY_CAP)) < 0) {
		if (error == CW_ENOTFOUND)
			error = cw_error(CW_ENOTFOUND,
			                 "no agency key at %s: run this on the head-office node, or give "
			                 "--org-key FILE",
			                 path);
		goto done;
	}
	if ((error = cw_keystore_open(out, &info, b.data, b.len, pass, passlen, path)) < 0)
		goto done;
	if (info.kind != CW_KEYSTORE_ORG) {
		cw_keys_free(*out);
		*out = NULL;
		error = cw_error(CW_EINVALID, "%s is not an agency key", path);
	}
done:
	cw_buf_dispose(&b);
	free(own);
	return error;
}

static int install_cert(cw_home *h, const uint8_t *cert, size_t len)
{
	return cw_store_meta_set(cw_home_store(h), "device.cert", cert, len);
}

int cw_org_create(cw_home *h, const char *org_name, const char *pass, size_t passlen, const cw_kdf_cost *cost)
{
	cw_keys *org = NULL;
	cw_buf ks = CW_BUF_INIT, req = CW_BUF_INIT, cert = CW_BUF_INIT, roster = CW_BUF_INIT;
	cw_request parsed;
	cw_roster *r = NULL;
	char *path = NULL;
	int error, began = 0, key_written = 0;
	int64_t now = now_seconds();

	if (cw_home_role(h) != CW_ROLE_HUB) {
		error = cw_error(CW_EINVALID, "the agency is created on the head-office node "
		                              "(made with `caseway init --role hub`)");
		goto done;
	}
	if (strlen(org_name) == 0 || strlen(org_name) > CW_NAME_MAX ||
	    !cw_utf8_valid((const uint8_t *)org_name, strlen(org_name), 0)) {
		error = cw_error(CW_EINVALID, "--name must be 1 to %d characters of text", CW_NAME_MAX);
		goto done;
	}
	if ((path = cw_home_file(h, "org.key")) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	{
		cw_roster *existing = NULL;

		if (cw_org_roster(&existing, h) == CW_OK) {
			cw_roster_free(existing);
			error = cw_error(CW_EEXISTS, "this node already belongs to an agency");
			goto done;
		}
	}
	if ((error = cw_keys_generate(&org)) < 0 ||
	    (error = cw_keystore_seal(&ks, CW_KEYSTORE_ORG, org, pass, passlen, cost)) < 0 ||
	    (error = cw_request_create(&req, cw_home_keys(h), cw_home_name(h), CW_ROLE_HUB, now)) < 0 ||
	    (error = cw_request_parse(&parsed, req.data, req.len)) < 0 ||
	    (error = cw_cert_issue(&cert, org, &parsed, CW_ROLE_HUB, now, 0)) < 0 ||
	    (error = cw_roster_build(&roster, org, org_name, NULL, &cert, 1, NULL, 0, now)) < 0 ||
	    (error = cw_roster_parse(&r, roster.data, roster.len)) < 0)
		goto done;
	if ((error = cw_file_write_atomic(path, ks.data, ks.len, 0600, 1)) < 0)
		goto done;
	key_written = 1;
	if ((error = cw_store_begin(cw_home_store(h))) < 0)
		goto done;
	began = 1;
	if ((error = roster_store(h, r, roster.data, roster.len)) < 0 ||
	    (error = install_cert(h, cert.data, cert.len)) < 0 ||
	    (error = cw_store_commit(cw_home_store(h))) < 0)
		goto done;
	began = key_written = 0;
done:
	if (began)
		cw_store_rollback(cw_home_store(h));
	if (key_written) /* the store did not take the agency: no stray key either */
		unlink(path);
	cw_keys_free(org);
	cw_roster_free(r);
	cw_buf_dispose(&ks);
	cw_buf_dispose(&req);
	cw_buf_dispose(&cert);
	cw_buf_dispose(&roster);
	free(path);
	return error;
}

/* Sign and store the roster after cur: its certificates and revocations,
 * plus cert and/or rev when given. The new roster's bytes go to out. */
static int next_roster(cw_buf *out, cw_home *h, const cw_keys *org, const cw_roster *cur, const cw_buf *cert,
                       const cw_buf *rev, int64_t now, int (*inside)(void *ctx), void *ctx)
{
	size_t nc = cw_roster_count(cur), nr = cw_roster_revocation_count(cur), i;
	cw_buf *certs = NULL, *revs = NULL;
	cw_roster *next = NULL;
	int error, began = 0;

	if ((certs = calloc(nc + 1, sizeof(*certs))) == NULL ||
	    (revs = calloc(nr + 1, sizeof(*revs))) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	for (i = 0; i < nc + nr; i++) {
		const uint8_t *b;
		size_t blen;

		if (i < nc)
			cw_roster_cert_bytes(cur, i, &b, &blen);
		else
			cw_roster_revocation_bytes(cur, i - nc, &b, &blen);
		if ((error = cw_buf_put(i < nc ? &certs[i] : &revs[i - nc], b, blen)) < 0)
			goto done;
	}
	if ((cert && (error = cw_buf_put(&certs[nc++], cert->data, cert->len)) < 0) ||
	    (rev && (error = cw_buf_put(&revs[nr++], rev->data, rev->len)) < 0))
		goto done;
	if ((error = cw_roster_build(out, org, cw_roster_org_name(cur), cur, certs, nc, revs, nr, now)) < 0 ||
	    (error = cw_roster_parse(&next, out->data, out->len)) < 0 ||
	    (error = cw_store_begin(cw_home_store(h))) < 0)
		goto done;
	began = 1;
	if ((error = roster_store(h, next, out->data, out->len)) < 0 ||
	    (inside && (error = inside(ctx)) < 0) || (error = cw_store_commit(cw_home_store(h))) < 0)
		goto done;
	began = 0;
done:
	if (began)
		cw_store_rollback(cw_home_store(h));
	for (i = 0; certs && i < nc; i++)
		cw_buf_dispose(&certs[i]);
	for (i = 0; revs && i < nr; i++)
		cw_buf_dispose(&revs[i]);
	free(certs);
	free(revs);
	cw_roster_free(next);
	return error;
}

int cw_org_enroll(cw_buf *out, cw_cert *cert_out, cw_home *h, const cw_keys *org, const uint8_t *request,
                  size_t len, cw_role role)
{
	cw_request req;
	cw_roster *cur = NULL;
	cw_buf cert = CW_BUF_INIT, roster = CW_BUF_INIT;
	long idx;
	int error;
	int64_t now = now_seconds();

	if ((error = cw_request_parse(&req, request, len)) < 0) {
		error = cw_error(CW_EVERIFY, "enrolment request refused: %s", cw_error_last());
		goto done;
	}
	if ((error = cw_org_roster(&cur, h)) < 0)
		goto done;
	if (!cw_secret_equal(cw_roster_org_pk(cur), cw_keys_sign_pk(org), CW_PK_BYTES)) {
		error = cw_error(CW_EVERIFY, "this agency key is not the one this node's roster names");
		goto done;
	}
	if ((idx = cw_roster_find(cur, req.sign_pk)) >= 0) {
		/* enrolled already (a lost certificate file, a retry): hand the same
		 * certificate out again with the newest roster; a new role needs a
		 * revocation first */
		const cw_cert *have = cw_roster_cert(cur, (size_t)idx);
		const uint8_t *b, *rb;
		size_t blen, rlen;

		if (have->role != role) {
			error = cw_error(CW_EEXISTS, "device %s (%s) is already enrolled as %s",
			                 req.device_id, req.name, cw_role_name(have->role));
			goto done;
		}
		cw_roster_cert_bytes(cur, (size_t)idx, &b, &blen);
		rb = cw_roster_raw(cur, &rlen);
		if ((error = cw_enrolment_build(out, b, blen, rb, rlen)) < 0)
			goto done;
		if (cert_out)
			*cert_out = *have;
		goto done;
	}
	if ((error = cw_cert_issue(&cert, org, &req, role, now, 0)) < 0 ||
	    (error = next_roster(&roster, h, org, cur, &cert, NULL, now, NULL, NULL)) < 0)
		goto done;
	if ((error = cw_enrolment_build(out, cert.data, cert.len, roster.data, roster.len)) < 0)
		goto done;
	if (cert_out && (error = cw_cert_parse(cert_out, cert.data, cert.len)) < 0)
		goto done;
done:
	cw_roster_free(cur);
	cw_buf_dispose(&cert);
	cw_buf_dispose(&roster);
	return error;
}

int cw_org_revoke(cw_revocation *out, cw_home *h, const cw_keys *org, const char *device,
                  cw_revoked_chain *chains, size_t nchains, int (*inside)(void *ctx), void *ctx)
{
	cw_roster *cur = NULL;
	cw_buf rev = CW_BUF_INIT, roster = CW_BUF_INIT;
	const cw_cert *c;
	long idx;
	int error;
	int64_t now = now_seconds();

	if ((error = cw_org_roster(&cur, h)) < 0)
		goto done;
	if (!cw_secret_equal(cw_roster_org_pk(cur), cw_keys_sign_pk(org), CW_PK_BYTES)) {
		error = cw_error(CW_EVERIFY, "this agency key is not the one this node's roster names");
		goto done;
	}
	if ((idx = cw_org_find_device(cur, device)) < 0) {
		error = cw_error(CW_ENOTFOUND, "no device '%.40s' in the agency's roster", device);
		goto done;
	}
	c = cw_roster_cert(cur, (size_t)idx);
	if (cw_secret_equal(c->sign_pk, cw_keys_sign_pk(cw_home_keys(h)), CW_PK_BYTES)) {
		error = cw_error(CW_EINVALID, "a node cannot revoke itself");
		goto done;
	}
	if (cw_roster_revoked(cur, c->sign_pk)) {
		error = cw_error(CW_EEXISTS, "device %s (%s) is revoked already", c->device_id, c->name);
		goto done;
	}
	if ((error = cw_revocation_encode(&rev, c->sign_pk, now, chains, nchains)) < 0 ||
	    (error = next_roster(&roster, h, org, cur, NULL, &rev, now, inside, ctx)) < 0)
		goto done;
	if (out) {
		memset(out, 0, sizeof(*out));
		memcpy(out->sign_pk, c->sign_pk, CW_PK_BYTES);
		memcpy(out->device_id, c->device_id, sizeof(out->device_id));
		out->revoked_at = now;
		out->nchains = nchains;
	}
done:
	cw_roster_free(cur);
	cw_buf_dispose(&rev);
	cw_buf_dispose(&roster);
	return error;
}

long cw_org_find_device(const cw_roster *r, const char *device)
{
	size_t i, n = cw_roster_count(r), len = strlen(device);
	long found = -1;

	for (i = 0; i < n; i++) {
		const cw_cert *c = cw_roster_cert(r, i);

		if (strcmp(c->name, device) == 0 || strcmp(c->device_id, device) == 0)
			return (long)i;
	}
	/* a unique prefix of a device id */
	for (i = 0; len >= 4 && i < n; i++)
		if (strncmp(cw_roster_cert(r, i)->device_id, device, len) == 0) {
			if (found >= 0)
				return -1;
			found = (long)i;
		}
	return found;
}

int cw_org_join(cw_home *h, const uint8_t *package, size_t len, cw_cert *cert_out)
{
	const uint8_t *cert_bytes, *roster_bytes;
	size_t cert_len, roster_len;
	cw_cert cert;
	cw_roster *r = NULL;
	long idx;
	int error, began = 0;

	if ((error = cw_enrolment_split(&cert_bytes, &cert_len, &roster_bytes, &roster_len, package, len)) <
	        0 ||
	    (error = cw_cert_parse(&cert, cert_bytes, cert_len)) < 0 ||
	    (error = cw_roster_parse(&r, roster_bytes, roster_len)) < 0) {
		error = cw_error(CW_EVERIFY, "certificate refused: %s", cw_error_last());
		goto done;
	}
	if (!cw_secret_equal(cert.sign_pk, cw_keys_sign_pk(cw_home_keys(h)), CW_PK_BYTES) ||
	    !cw_secret_equal(cert.box_pk, cw_keys_box_pk(cw_home_keys(h)), CW_PK_BYTES)) {
		error = cw_error(CW_EVERIFY,
		                 "certificate refused: it is for device %s (%s), not this device (%s)",
		                 cert.device_id, cert.name, cw_keys_id(cw_home_keys(h)));
		goto done;
	}
	if (!cw_secret_equal(cert.org_pk, cw_roster_org_pk(r), CW_PK_BYTES) ||
	    (idx = cw_roster_find(r, cert.sign_pk)) < 0 ||
	    !cw_secret_equal(cw_roster_cert(r, (size_t)idx)->hash, cert.hash, CW_HASH_BYTES)) {
		error = cw_error(CW_EVERIFY, "certificate refused: the roster with it does not list it");
		goto done;
	}
	if ((error = cw_store_begin(cw_home_store(h))) < 0)
		goto done;
	began = 1;
	if ((error = roster_store(h, r, roster_bytes, roster_len)) < 0 ||
	    (error = install_cert(h, cert_bytes, cert_len)) < 0 ||
	    (error = cw_store_meta_set(cw_home_store(h), "node.role", cw_role_name(cert.role),
	                               strlen(cw_role_name(cert.role)))) < 0 ||
	    (error = cw_store_commit(cw_home_store(h))) < 0)
		goto done;
	began = 0;
	if (cert_out)
		*cert_out = cert;
done:
	if (began)
		cw_store_rollback(cw_home_store(h));
	cw_roster_free(r);
	return error;
}

int cw_org_cert(cw_cert *out, cw_home *h)
{
	cw_buf b = CW_BUF_INIT;
	int error;

	if ((error = cw_store_meta_get(cw_home_store(h), "device.cert", &b)) < 0) {
		if (error == CW_ENOTFOUND)
			error = cw_error(CW_ENOTFOUND, "this device is not enrolled with an agency yet: "
			                               "run `caseway org join CERT`");
		goto done;
	}
	if ((error = cw_cert_parse(out, b.data, b.len)) < 0)
		error = cw_error(CW_EVERIFY, "this device's stored certificate does not verify: %s",
		                 cw_error_last());
done:
	cw_buf_dispose(&b);
	return error;
}

int cw_org_package(cw_buf *out, cw_home *h)
{
	cw_buf cert = CW_BUF_INIT, roster = CW_BUF_INIT;
	cw_store *st = cw_home_store(h);
	sqlite3_stmt *stmt = NULL;
	int rc, error;

	if ((error = cw_store_meta_get(st, "device.cert", &cert)) < 0) {
		if (error == CW_ENOTFOUND)
			error = cw_error(CW_ENOTFOUND, "this device is not enrolled with an agency yet");
		goto done;
	}
	if ((error = cw_store__prepare(st, &stmt, sql_roster_newest)) < 0)
		goto done;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		error = cw_buf_put(&roster, sqlite3_column_blob(stmt, 0),
		                   (size_t)sqlite3_column_bytes(stmt, 0));
	else if (rc == SQLITE_DONE)
		error = cw_error(CW_EVERIFY,
		                 "this node has a certificate but no roster: run `caseway org join` again");
	else
		error = cw_store__error(st, rc, "reading the roster");
	sqlite3_reset(stmt);
	if (error < 0)
		goto done;
	error = cw_enrolment_build(out, cert.data, cert.len, roster.data, roster.len);
done:
	cw_buf_dispose(&cert);
	cw_buf_dispose(&roster);
	return error;
}

int cw_org_verify(cw_home *h, cw_cert *cert_out, uint64_t *rosters_out)
{
	cw_store *st = cw_home_store(h);
	sqlite3_stmt *stmt = NULL;
	cw_buf pinned = CW_BUF_INIT;
	cw_roster *prev = NULL, *r = NULL;
	cw_cert cert;
	uint64_t n = 0;
	long idx;
	int rc, error;

	if ((error = cw_org_cert(&cert, h)) < 0 || (error = cw_store_meta_get(st, "org.pk", &pinned)) < 0)
		goto done;
	if (pinned.len != CW_PK_BYTES || !cw_secret_equal(pinned.data, cert.org_pk, CW_PK_BYTES)) {
		error = cw_error(CW_EVERIFY, "this device's certificate is not from the trusted agency key");
		goto done;
	}
	if (!cw_secret_equal(cert.sign_pk, cw_keys_sign_pk(cw_home_keys(h)), CW_PK_BYTES)) {
		error = cw_error(CW_EVERIFY, "the stored certificate is not for this device's keys");
		goto done;
	}
	if ((error = cw_store__prepare(st, &stmt, sql_roster_all)) < 0)
		goto done;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(stmt, 0);

		if (cw_roster_parse(&r, sqlite3_column_blob(stmt, 1), (size_t)sqlite3_column_bytes(stmt, 1)) <
		        0 ||
		    cw_roster_seq(r) != seq ||
		    !cw_secret_equal(cw_roster_org_pk(r), pinned.data, CW_PK_BYTES) ||
		    (prev && cw_roster_seq(prev) + 1 == seq &&
		     !cw_secret_equal(cw_roster_prev(r), cw_roster_hash(prev), CW_HASH_BYTES))) {
			error = cw_error(CW_EVERIFY, "stored roster %llu does not verify",
			                 (unsigned long long)seq);
			goto done;
		}
		cw_roster_free(prev);
		prev = r;
		r = NULL;
		n++;
	}
	if (rc != SQLITE_DONE) {
		error = cw_store__error(st, rc, "reading the roster");
		goto done;
	}
	if (prev == NULL || (idx = cw_roster_find(prev, cert.sign_pk)) < 0 ||
	    !cw_secret_equal(cw_roster_cert(prev, (size_t)idx)->hash, cert.hash, CW_HASH_BYTES)) {
		error = cw_error(CW_EVERIFY, "this device is not in the agency's newest roster");
		goto done;
	}
	if (cert_out)
		*cert_out = cert;
	if (rosters_out)
		*rosters_out = n;
done:
	if (stmt)
		sqlite3_reset(stmt);
	cw_roster_free(prev);
	cw_roster_free(r);
	cw_buf_dispose(&pinned);
	return error;
}

int cw_org_keyring(cw_keyring *out, cw_home *h)
{
	cw_keyring kr = { 0, NULL, NULL };
	cw_roster *r = NULL;
	size_t i;
	int error;

	error = cw_org_roster(&r, h);
	if (error == CW_ENOTFOUND)
		error = CW_OK;
	if (error < 0)
		goto done;
	for (i = 0; r && i < cw_roster_count(r); i++)
		if ((error = cw_keyring_add(&kr, cw_roster_cert(r, i)->sign_pk)) < 0)
			goto done;
	if (r) { /* roles and revocations */
		cw_keyring_set_roster(&kr, r);
		r = NULL;
	}
	{
		uint8_t id[CW_AUTHOR_BYTES];

		cw_author_from_hex(id, cw_keys_id(cw_home_keys(h)));
		if (cw_keyring_find(&kr, id) == NULL &&
		    (error = cw_keyring_add(&kr, cw_keys_sign_pk(cw_home_keys(h)))) < 0)
			goto done;
	}
	*out = kr;
	kr.e = NULL;
	kr.roster = NULL;
done:
	cw_keyring_dispose(&kr);
	cw_roster_free(r);
	return error;
}
