/*
 * tests/crypto/test_cert.c - requests, certificates, rosters, packages and
 * their text armour: golden bytes (Ed25519 is deterministic), forgery, every
 * bit flip, every truncation, trailing bytes, wrong version, wrong agency,
 * duplicates, lying counts, the roster chain.
 *
 * CW_WRITE_FIXTURES=1 rewrites tests/fixtures/cert_v1.bin (only when the
 * format changes on purpose). With CW_WRITE_CERT_CORPUS=DIR set, also writes
 * the seed corpora of tests/fuzz/fuzz_cert.c and fuzz_roster.c into
 * DIR/cert and DIR/roster (each seed < 4 KB).
 */
#include "harness.h"
#include "crypto/armor.h"
#include "crypto/cert.h"
#include "util/error.h"
#include "util/file.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define T0 1767225600   /* 2026-01-01 00:00:00 UTC */
#define OFF_CERT_ORG 22 /* "CWCT" | version | role | issued_at | not_after */

/* Keys from the seed start, start+1, ..., start+31. */
static cw_keys *keys_from(uint8_t start)
{
	cw_secret *seed = NULL;
	cw_keys *k = NULL;
	int i;

	if (cw_secret_new(&seed, CW_SEED_BYTES) == CW_OK) {
		for (i = 0; i < CW_SEED_BYTES; i++)
			cw_secret_bytes(seed)[i] = (uint8_t)(start + i);
		if (cw_keys_from_seed(&k, seed) < 0)
			k = NULL;
	}
	cw_secret_free(seed);
	if (k == NULL) {
		fprintf(stderr, "cannot make keys\n");
		exit(2);
	}
	return k;
}

static void make_cert(cw_buf *out, const cw_keys *org, const cw_keys *dev, const char *name, cw_role role)
{
	cw_buf req = CW_BUF_INIT;
	cw_request r;

	CHECK_OK(cw_request_create(&req, dev, name, role, T0));
	CHECK_OK(cw_request_parse(&r, req.data, req.len));
	CHECK_OK(cw_cert_issue(out, org, &r, role, T0, 0));
	cw_buf_dispose(&req);
}

/* Re-sign bytes whose last CW_SIG_BYTES are a signature by k (after an
 * edit, to reach the checks behind the signature). */
static void resign(cw_buf *b, const cw_keys *k)
{
	cw_keys_sign(b->data + b->len - CW_SIG_BYTES, k, b->data, b->len - CW_SIG_BYTES);
}

/* A roster written by hand, signed by org: lets the tests say things that
 * cw_roster_build refuses to sign. count is what the header claims. */
static void raw_roster(cw_buf *out, const cw_keys *org, uint64_t seq, const uint8_t *prev,
                       const cw_buf *entries, size_t n, uint32_t count, uint8_t type)
{
	uint8_t zero[CW_HASH_BYTES] = { 0 }, sig[CW_SIG_BYTES];
	size_t i;

	out->len = 0;
	CHECK_OK(cw_buf_put(out, "CWRS", 4));
	CHECK_OK(cw_buf_put_u8(out, 1));
	CHECK_OK(cw_buf_put_u64(out, seq));
	CHECK_OK(cw_buf_put_u64(out, T0));
	CHECK_OK(cw_buf_put(out, cw_keys_sign_pk(org), CW_PK_BYTES));
	CHECK_OK(cw_buf_put(out, prev ? prev : zero, CW_HASH_BYTES));
	CHECK_OK(cw_buf_put_str16(out, "Acme", 4));
	CHECK_OK(cw_buf_put_u32(out, count));
	for (i = 0; i < n; i++) {
		CHECK_OK(cw_buf_put_u8(out, type));
		CHECK_OK(cw_buf_put_u32(out, (uint32_t)entries[i].len));
		CHECK_OK(cw_buf_put(out, entries[i].data, entries[i].len));
	}
	cw_keys_sign(sig, org, out->data, out->len);
	CHECK_OK(cw_buf_put(out, sig, sizeof(sig)));
}

static int roster_code(const cw_buf *b)
{
	cw_roster *r = NULL;
	int rc = cw_roster_parse(&r, b->data, b->len);

	CHECK((rc == CW_OK) == (r != NULL));
	cw_roster_free(r);
	return rc;
}

/* The certificate from the fixed org seed 01..20 and device seed 65..84 at
 * T0 must be byte for byte the committed one. */
static void test_golden(void)
{
	cw_keys *org = keys_from(1), *dev = keys_from(101);
	cw_buf cert = CW_BUF_INIT, golden = CW_BUF_INIT;
	const char *dir = getenv("CW_FIXTURES");
	char *path = cw_path_join(dir ? dir : "tests/fixtures", "cert_v1.bin");
	char hex[2 * CW_HASH_BYTES + 1];
	cw_cert c;

	make_cert(&cert, org, dev, "Ana Lima (field laptop)", CW_ROLE_COORDINATOR);
	if (getenv("CW_WRITE_FIXTURES"))
		CHECK_OK(cw_file_write_atomic(path, cert.data, cert.len, 0644, 0));
	CHECK_OK(cw_file_read(&golden, path, 4096));
	CHECK(golden.len == cert.len && memcmp(golden.data, cert.data, cert.len) == 0);
	CHECK_OK(cw_cert_parse(&c, golden.data, golden.len));
	CHECK(strcmp(c.name, "Ana Lima (field laptop)") == 0 && c.role == CW_ROLE_COORDINATOR);
	CHECK(c.issued_at == T0 && c.not_after == 0);
	CHECK(strcmp(c.device_id, cw_keys_id(dev)) == 0);
	CHECK(memcmp(c.org_pk, cw_keys_sign_pk(org), CW_PK_BYTES) == 0);
	CHECK(memcmp(c.box_pk, cw_keys_box_pk(dev), CW_PK_BYTES) == 0);
	cw_keys_hash((uint8_t *)hex, golden.data, golden.len);
	CHECK(memcmp(hex, c.hash, CW_HASH_BYTES) == 0);
	cw_buf_dispose(&cert);
	cw_buf_dispose(&golden);
	free(path);
	cw_keys_free(org);
	cw_keys_free(dev);
}

static void test_roles(void)
{
	cw_role r = CW_ROLE_HUB;

	CHECK_OK(cw_role_parse(&r, "doctor"));
	CHECK(r == CW_ROLE_DOCTOR);
	CHECK_CODE(cw_role_parse(&r, "admin"), CW_EINVALID);
	CHECK(strcmp(cw_role_name(CW_ROLE_CLINIC), "clinic") == 0);
	CHECK(strcmp(cw_role_name(0), "unknown") == 0 && strcmp(cw_role_name(5), "unknown") == 0);
}

static void test_request(void)
{
	cw_keys *dev = keys_from(7), *other = keys_from(9);
	cw_buf req = CW_BUF_INIT, b = CW_BUF_INIT;
	cw_request r;
	size_t i;
	int bit, ok = 0;

	CHECK_OK(cw_request_create(&req, dev, "Clinic Memorial", CW_ROLE_CLINIC, T0));
	CHECK_OK(cw_request_parse(&r, req.data, req.len));
	CHECK(r.role == CW_ROLE_CLINIC && strcmp(r.name, "Clinic Memorial") == 0);
	CHECK(r.created_at == T0 && strcmp(r.device_id, cw_keys_id(dev)) == 0);
	CHECK(memcmp(r.box_pk, cw_keys_box_pk(dev), CW_PK_BYTES) == 0);
	for (i = 0; i < req.len; i++)
		for (bit = 0; bit < 8; bit++) {
			req.data[i] ^= (uint8_t)(1 << bit);
			ok += cw_request_parse(&r, req.data, req.len) == CW_OK;
			req.data[i] ^= (uint8_t)(1 << bit);
		}
	CHECK(ok == 0);
	for (i = 0; i < req.len; i++)
		CHECK_CODE(cw_request_parse(&r, req.data, i), CW_EINVALID);
	CHECK_OK(cw_buf_put(&b, req.data, req.len));
	CHECK_OK(cw_buf_put_u8(&b, 0));
	CHECK_CODE(cw_request_parse(&r, b.data, b.len), CW_EINVALID);
	/* someone else's key put in place of the device's: the signature fails */
	b.len = 0;
	CHECK_OK(cw_buf_put(&b, req.data, req.len));
	memcpy(b.data + 14, cw_keys_sign_pk(other), CW_PK_BYTES);
	CHECK_CODE(cw_request_parse(&r, b.data, b.len), CW_EVERIFY);
	CHECK(strstr(cw_error_last(), "signature does not verify") != NULL);
	/* a well-signed request with a version, role or name we do not accept */
	b.data[4] = 2;
	resign(&b, other);
	CHECK_CODE(cw_request_parse(&r, b.data, b.len), CW_EINVALID);
	CHECK(strcmp(cw_error_last(), "unsupported enrolment request version 2") == 0);
	b.data[4] = 1;
	b.data[5] = 5;
	resign(&b, other);
	CHECK_CODE(cw_request_parse(&r, b.data, b.len), CW_EINVALID);
	b.data[5] = CW_ROLE_CLINIC;
	b.data[80] = 0x07; /* inside the name: a control character */
	resign(&b, other);
	CHECK_CODE(cw_request_parse(&r, b.data, b.len), CW_EINVALID);
	/* creating: names and roles are checked */
	b.len = 0;
	CHECK_CODE(cw_request_create(&b, dev, "", CW_ROLE_CLINIC, 1), CW_EINVALID);
	CHECK_CODE(cw_request_create(&b, dev, "a\nb", CW_ROLE_CLINIC, 1), CW_EINVALID);
	CHECK_CODE(cw_request_create(&b, dev, "\xff\xfe", CW_ROLE_CLINIC, 1), CW_EINVALID);
	CHECK_CODE(cw_request_create(&b, dev,
	                             "0123456789012345678901234567890123456789012345678901234567890123"
	                             "4",
	                             CW_ROLE_CLINIC, 1),
	           CW_EINVALID);
	CHECK_CODE(cw_request_create(&b, dev, "x", (cw_role)0, 1), CW_EINVALID);
	CHECK(b.len == 0);
	CHECK_OK(cw_request_create(&b, dev, "Zé Ninguém – posto", CW_ROLE_DOCTOR, 1));
	CHECK_OK(cw_request_parse(&r, b.data, b.len));
	CHECK(strcmp(r.name, "Zé Ninguém – posto") == 0);
	cw_buf_dispose(&req);
	cw_buf_dispose(&b);
	cw_keys_free(dev);
	cw_keys_free(other);
}

static void test_cert_negative(void)
{
	cw_keys *org = keys_from(1), *dev = keys_from(50), *rogue = keys_from(77);
	cw_buf cert = CW_BUF_INIT, forged = CW_BUF_INIT, b = CW_BUF_INIT, req = CW_BUF_INIT;
	cw_request r;
	cw_cert c;
	size_t i;
	int bit, ok = 0;

	make_cert(&cert, org, dev, "Bob", CW_ROLE_HUB);
	for (i = 0; i < cert.len; i++)
		for (bit = 0; bit < 8; bit++) {
			int rc;

			cert.data[i] ^= (uint8_t)(1 << bit);
			rc = cw_cert_parse(&c, cert.data, cert.len);
			ok += rc == CW_OK;
			CHECK(rc == CW_EINVALID || rc == CW_EVERIFY);
			cert.data[i] ^= (uint8_t)(1 << bit);
		}
	CHECK(ok == 0);
	for (i = 0; i < cert.len; i++)
		CHECK_CODE(cw_cert_parse(&c, cert.data, i), CW_EINVALID);
	CHECK_OK(cw_buf_put(&b, cert.data, cert.len));
	CHECK_OK(cw_buf_put_u8(&b, 0));
	CHECK_CODE(cw_cert_parse(&c, b.data, b.len), CW_EINVALID);
	/* forgery: a rogue key signs a certificate naming the real org key */
	make_cert(&forged, rogue, dev, "Bob", CW_ROLE_HUB);
	CHECK_OK(cw_cert_parse(&c, forged.data, forged.len));
	memcpy(forged.data + OFF_CERT_ORG, cw_keys_sign_pk(org), CW_PK_BYTES);
	CHECK_CODE(cw_cert_parse(&c, forged.data, forged.len), CW_EVERIFY);
	CHECK(strcmp(cw_error_last(), "the certificate's signature does not verify") == 0);
	/* the org's signature moved onto another certificate */
	memcpy(forged.data + forged.len - CW_SIG_BYTES, cert.data + cert.len - CW_SIG_BYTES, CW_SIG_BYTES);
	forged.data[5] = CW_ROLE_COORDINATOR;
	CHECK_CODE(cw_cert_parse(&c, forged.data, forged.len), CW_EVERIFY);
	/* wrong version, well signed */
	b.len = 0;
	CHECK_OK(cw_buf_put(&b, cert.data, cert.len));
	b.data[4] = 2;
	resign(&b, org);
	CHECK_CODE(cw_cert_parse(&c, b.data, b.len), CW_EINVALID);
	CHECK(strcmp(cw_error_last(), "unsupported certificate version 2") == 0);
	b.data[4] = 1;
	b.data[5] = 0;
	resign(&b, org);
	CHECK_CODE(cw_cert_parse(&c, b.data, b.len), CW_EINVALID);
	memcpy(b.data, "CWRQ", 4);
	CHECK_CODE(cw_cert_parse(&c, b.data, b.len), CW_EINVALID);
	/* over the size cap, and empty */
	CHECK_CODE(cw_cert_parse(&c, b.data, CW_CERT_MAX_BYTES + 1), CW_EINVALID);
	CHECK_CODE(cw_cert_parse(&c, NULL, 0), CW_EINVALID);
	/* issuing: a bad role or an expiry before the issue time is refused */
	CHECK_OK(cw_request_create(&req, dev, "Bob", CW_ROLE_HUB, T0));
	CHECK_OK(cw_request_parse(&r, req.data, req.len));
	b.len = 0;
	CHECK_CODE(cw_cert_issue(&b, org, &r, (cw_role)9, T0, 0), CW_EINVALID);
	CHECK_CODE(cw_cert_issue(&b, org, &r, CW_ROLE_HUB, T0, T0), CW_EINVALID);
	CHECK(b.len == 0);
	CHECK_OK(cw_cert_issue(&b, org, &r, CW_ROLE_CLINIC, T0, T0 + 86400));
	CHECK_OK(cw_cert_parse(&c, b.data, b.len));
	CHECK(c.not_after == T0 + 86400 && c.role == CW_ROLE_CLINIC);
	cw_buf_dispose(&cert);
	cw_buf_dispose(&forged);
	cw_buf_dispose(&b);
	cw_buf_dispose(&req);
	cw_keys_free(org);
	cw_keys_free(dev);
	cw_keys_free(rogue);
}

static void test_roster_chain(void)
{
	cw_keys *org = keys_from(1), *d1 = keys_from(20), *d2 = keys_from(40), *d3 = keys_from(60);
	cw_buf certs[3] = { CW_BUF_INIT, CW_BUF_INIT, CW_BUF_INIT };
	cw_buf r1 = CW_BUF_INIT, r2 = CW_BUF_INIT, r3 = CW_BUF_INIT;
	cw_roster *p1 = NULL, *p2 = NULL, *p3 = NULL;
	uint8_t h[CW_HASH_BYTES];
	const uint8_t *e;
	size_t elen;

	make_cert(&certs[0], org, d1, "Hub", CW_ROLE_HUB);
	make_cert(&certs[1], org, d2, "Ana", CW_ROLE_COORDINATOR);
	make_cert(&certs[2], org, d3, "Posto 3", CW_ROLE_CLINIC);
	CHECK_OK(cw_roster_build(&r1, org, "Acme", NULL, certs, 1, NULL, 0, 10));
	CHECK_OK(cw_roster_parse(&p1, r1.data, r1.len));
	if (p1 == NULL)
		goto done;
	CHECK(cw_roster_seq(p1) == 1 && cw_roster_count(p1) == 1 && cw_roster_issued_at(p1) == 10);
	memset(h, 0, sizeof(h));
	CHECK(memcmp(cw_roster_prev(p1), h, CW_HASH_BYTES) == 0);
	cw_keys_hash(h, r1.data, r1.len);
	CHECK(memcmp(cw_roster_hash(p1), h, CW_HASH_BYTES) == 0);
	CHECK(memcmp(cw_roster_org_pk(p1), cw_keys_sign_pk(org), CW_PK_BYTES) == 0);
	CHECK_OK(cw_roster_build(&r2, org, "Acme", p1, certs, 2, NULL, 0, 20));
	CHECK_OK(cw_roster_parse(&p2, r2.data, r2.len));
	if (p2 == NULL)
		goto done;
	CHECK(cw_roster_seq(p2) == 2 && cw_roster_count(p2) == 2);
	CHECK(memcmp(cw_roster_prev(p2), cw_roster_hash(p1), CW_HASH_BYTES) == 0);
	CHECK(cw_roster_find(p2, cw_keys_sign_pk(d2)) == 1);
	CHECK(cw_roster_find(p2, cw_keys_sign_pk(d3)) == -1);
	CHECK(strcmp(cw_roster_org_name(p2), "Acme") == 0);
	CHECK(strcmp(cw_roster_cert(p2, 1)->name, "Ana") == 0);
	CHECK(cw_roster_cert(p2, 2) == NULL);
	cw_roster_cert_bytes(p2, 1, &e, &elen);
	CHECK(elen == certs[1].len && memcmp(e, certs[1].data, elen) == 0);
	/* the third links to the second, not the first */
	CHECK_OK(cw_roster_build(&r3, org, "Acme", p2, certs, 3, NULL, 0, 30));
	CHECK_OK(cw_roster_parse(&p3, r3.data, r3.len));
	if (p3 == NULL)
		goto done;
	CHECK(cw_roster_seq(p3) == 3 && cw_roster_count(p3) == 3);
	CHECK(memcmp(cw_roster_prev(p3), cw_roster_hash(p2), CW_HASH_BYTES) == 0);
	CHECK(memcmp(cw_roster_prev(p3), cw_roster_hash(p1), CW_HASH_BYTES) != 0);
	/* an empty first roster is fine */
	r3.len = 0;
	CHECK_OK(cw_roster_build(&r3, org, "Acme", NULL, NULL, 0, NULL, 0, 30));
	CHECK_CODE(roster_code(&r3), CW_OK);
done:
	for (size_t i = 0; i < 3; i++)
		cw_buf_dispose(&certs[i]);
	cw_buf_dispose(&r1);
	cw_buf_dispose(&r2);
	cw_buf_dispose(&r3);
	cw_roster_free(p1);
	cw_roster_free(p2);
	cw_roster_free(p3);
	cw_keys_free(org);
	cw_keys_free(d1);
	cw_keys_free(d2);
	cw_keys_free(d3);
}

static void test_roster_negative(void)
{
	cw_keys *org = keys_from(1), *other_org = keys_from(200), *d1 = keys_from(20), *d2 = keys_from(40);
	cw_buf certs[3] = { CW_BUF_INIT, CW_BUF_INIT, CW_BUF_INIT };
	cw_buf twice[2] = { CW_BUF_INIT, CW_BUF_INIT };
	cw_buf r1 = CW_BUF_INIT, r2 = CW_BUF_INIT, bad = CW_BUF_INIT;
	cw_roster *p1 = NULL, *x = NULL;
	uint8_t h[CW_HASH_BYTES];
	size_t i;
	int bit, ok = 0;

	make_cert(&certs[0], org, d1, "Hub", CW_ROLE_HUB);
	make_cert(&certs[1], org, d2, "Ana", CW_ROLE_COORDINATOR);
	make_cert(&certs[2], other_org, d2, "Ana", CW_ROLE_COORDINATOR);
	CHECK_OK(cw_buf_put(&twice[0], certs[1].data, certs[1].len));
	CHECK_OK(cw_buf_put(&twice[1], certs[1].data, certs[1].len));
	CHECK_OK(cw_roster_build(&r1, org, "Acme", NULL, certs, 1, NULL, 0, 10));
	CHECK_OK(cw_roster_parse(&p1, r1.data, r1.len));
	CHECK_OK(cw_roster_build(&r2, org, "Acme", p1, certs, 2, NULL, 0, 20));

	/* building refuses what parsing would refuse */
	CHECK_CODE(cw_roster_build(&bad, other_org, "Acme", p1, certs, 2, NULL, 0, 30), CW_EVERIFY);
	CHECK_CODE(cw_roster_build(&bad, org, "Acme", NULL, &certs[1], 2, NULL, 0, 10), CW_EVERIFY);
	CHECK_CODE(cw_roster_build(&bad, org, "Acme", NULL, twice, 2, NULL, 0, 10), CW_EINVALID);
	CHECK_CODE(cw_roster_build(&bad, org, "", NULL, certs, 1, NULL, 0, 10), CW_EINVALID);
	CHECK(bad.len == 0);

	/* an entry issued by another agency, signed into a roster by hand */
	raw_roster(&bad, org, 1, NULL, &certs[1], 2, 2, 1);
	CHECK_CODE(roster_code(&bad), CW_EVERIFY);
	CHECK(strstr(cw_error_last(), "not signed by the roster's agency key") != NULL);
	/* the same device twice */
	raw_roster(&bad, org, 1, NULL, twice, 2, 2, 1);
	CHECK_CODE(roster_code(&bad), CW_EINVALID);
	CHECK(strstr(cw_error_last(), "twice") != NULL);
	/* an entry of an unknown type */
	raw_roster(&bad, org, 1, NULL, certs, 1, 1, 2);
	CHECK_CODE(roster_code(&bad), CW_EINVALID);
	/* a count that lies: more than the bytes hold (no allocation), fewer */
	raw_roster(&bad, org, 1, NULL, certs, 1, 0xffffffffu, 1);
	CHECK_CODE(roster_code(&bad), CW_EINVALID);
	raw_roster(&bad, org, 1, NULL, certs, 2, 1, 1);
	CHECK_CODE(roster_code(&bad), CW_EINVALID);
	raw_roster(&bad, org, 1, NULL, certs, 1, 2, 1);
	CHECK_CODE(roster_code(&bad), CW_EINVALID);
	/* the chain: seq 1 names no predecessor, later ones do, seq 0 is impossible */
	memset(h, 7, sizeof(h));
	raw_roster(&bad, org, 1, h, certs, 1, 1, 1);
	CHECK_CODE(roster_code(&bad), CW_EINVALID);
	raw_roster(&bad, org, 2, NULL, certs, 1, 1, 1);
	CHECK_CODE(roster_code(&bad), CW_EINVALID);
	raw_roster(&bad, org, 0, NULL, certs, 1, 1, 1);
	CHECK_CODE(roster_code(&bad), CW_EINVALID);
	raw_roster(&bad, org, 2, h, certs, 1, 1, 1);
	CHECK_CODE(roster_code(&bad), CW_OK);
	/* signed by another key than the one it names */
	raw_roster(&bad, org, 1, NULL, certs, 1, 1, 1);
	memcpy(bad.data + 21, cw_keys_sign_pk(other_org), CW_PK_BYTES);
	CHECK_CODE(roster_code(&bad), CW_EVERIFY);
	CHECK(strstr(cw_error_last(), "not signed by the agency key") != NULL);
	/* wrong version, well signed; trailing byte */
	raw_roster(&bad, org, 1, NULL, certs, 1, 1, 1);
	bad.data[4] = 3;
	resign(&bad, org);
	CHECK_CODE(roster_code(&bad), CW_EINVALID);
	CHECK(strcmp(cw_error_last(), "unsupported roster version 3") == 0);
	bad.len = 0;
	CHECK_OK(cw_buf_put(&bad, r2.data, r2.len));
	CHECK_OK(cw_buf_put_u8(&bad, 0));
	CHECK_CODE(roster_code(&bad), CW_EINVALID);

	/* every truncation, every bit flip */
	for (i = 0; i < r2.len; i++) {
		if (cw_roster_parse(&x, r2.data, i) == CW_OK) {
			ok++;
			cw_roster_free(x);
		}
		for (bit = 0; bit < 8; bit++) {
			r2.data[i] ^= (uint8_t)(1 << bit);
			if (cw_roster_parse(&x, r2.data, r2.len) == CW_OK) {
				ok++;
				cw_roster_free(x);
			}
			r2.data[i] ^= (uint8_t)(1 << bit);
		}
	}
	CHECK(ok == 0);
	CHECK(x == NULL);
	CHECK_CODE(roster_code(&r2), CW_OK);
	for (i = 0; i < 3; i++)
		cw_buf_dispose(&certs[i]);
	cw_buf_dispose(&twice[0]);
	cw_buf_dispose(&twice[1]);
	cw_buf_dispose(&r1);
	cw_buf_dispose(&r2);
	cw_buf_dispose(&bad);
	cw_roster_free(p1);
	cw_keys_free(org);
	cw_keys_free(other_org);
	cw_keys_free(d1);
	cw_keys_free(d2);
}

/* A roster of many entries parses in about linear time (duplicates are
 * found by sorting, not by comparing every pair). */
static void test_roster_many(void)
{
	enum { N = 300 };
	cw_keys *org = keys_from(1);
	cw_buf *certs = calloc(N, sizeof(*certs)), r = CW_BUF_INIT;
	cw_roster *p = NULL;
	size_t i;

	for (i = 0; certs && i < N; i++) {
		cw_request req;
		uint8_t pk[CW_PK_BYTES];

		/* a request is self-signed; the certificate only needs public keys */
		memset(&req, 0, sizeof(req));
		memset(pk, 0, sizeof(pk));
		cw_store32(pk, (uint32_t)(i * 2654435761u));
		cw_store32(pk + 4, (uint32_t)i);
		memcpy(req.sign_pk, pk, CW_PK_BYTES);
		memcpy(req.box_pk, pk, CW_PK_BYTES);
		snprintf(req.name, sizeof(req.name), "device %zu", i);
		CHECK_OK(cw_cert_issue(&certs[i], org, &req, CW_ROLE_CLINIC, T0, 0));
	}
	CHECK_OK(cw_roster_build(&r, org, "Acme", NULL, certs, N, NULL, 0, T0));
	CHECK_OK(cw_roster_parse(&p, r.data, r.len));
	CHECK(p && cw_roster_count(p) == N);
	/* the last one repeats the first: found */
	if (certs) {
		cw_buf_dispose(&certs[N - 1]);
		CHECK_OK(cw_buf_put(&certs[N - 1], certs[0].data, certs[0].len));
		r.len = 0;
		CHECK_CODE(cw_roster_build(&r, org, "Acme", NULL, certs, N, NULL, 0, T0), CW_EINVALID);
	}
	for (i = 0; certs && i < N; i++)
		cw_buf_dispose(&certs[i]);
	free(certs);
	cw_buf_dispose(&r);
	cw_roster_free(p);
	cw_keys_free(org);
}

static void test_enrolment_package(void)
{
	cw_buf pkg = CW_BUF_INIT, b = CW_BUF_INIT;
	const uint8_t *c = NULL, *r = NULL;
	size_t cl = 0, rl = 0, i;

	CHECK_OK(cw_enrolment_build(&pkg, (const uint8_t *)"CERT", 4, (const uint8_t *)"ROSTER", 6));
	CHECK_OK(cw_enrolment_split(&c, &cl, &r, &rl, pkg.data, pkg.len));
	CHECK(cl == 4 && memcmp(c, "CERT", 4) == 0 && rl == 6 && memcmp(r, "ROSTER", 6) == 0);
	c = r = NULL;
	cl = rl = 0;
	for (i = 0; i < pkg.len; i++)
		CHECK_CODE(cw_enrolment_split(&c, &cl, &r, &rl, pkg.data, i), CW_EINVALID);
	CHECK(c == NULL && r == NULL && cl == 0 && rl == 0); /* set only on success */
	CHECK_OK(cw_buf_put(&b, pkg.data, pkg.len));
	CHECK_OK(cw_buf_put_u8(&b, '\n'));
	CHECK_CODE(cw_enrolment_split(&c, &cl, &r, &rl, b.data, b.len), CW_EINVALID);
	b.data[4] = 2;
	CHECK_CODE(cw_enrolment_split(&c, &cl, &r, &rl, b.data, pkg.len), CW_EINVALID);
	CHECK(strcmp(cw_error_last(), "unsupported certificate file version 2") == 0);
	b.data[0] = 'X';
	CHECK_CODE(cw_enrolment_split(&c, &cl, &r, &rl, b.data, pkg.len), CW_EINVALID);
	CHECK(strcmp(cw_error_last(), "not a caseway certificate file") == 0);
	pkg.data[5] = 0xff; /* a cert length past the end */
	CHECK_CODE(cw_enrolment_split(&c, &cl, &r, &rl, pkg.data, pkg.len), CW_EINVALID);
	/* parts over their caps are neither written nor read */
	b.len = 0;
	CHECK_CODE(cw_enrolment_build(&b, pkg.data, CW_CERT_MAX_BYTES + 1, pkg.data, 0), CW_EINVALID);
	CHECK(b.len == 0);
	CHECK_OK(cw_buf_put(&b, "CWEP\x01", 5));
	CHECK_OK(cw_buf_put_u32(&b, CW_CERT_MAX_BYTES + 1));
	CHECK_OK(cw_buf_grow(&b, CW_CERT_MAX_BYTES + 1));
	memset(b.data + b.len, 0, CW_CERT_MAX_BYTES + 1);
	b.len += CW_CERT_MAX_BYTES + 1;
	CHECK_OK(cw_buf_put_u32(&b, 0));
	CHECK_CODE(cw_enrolment_split(&c, &cl, &r, &rl, b.data, b.len), CW_EINVALID);
	cw_buf_dispose(&pkg);
	cw_buf_dispose(&b);
}

static void test_armor(void)
{
	cw_buf text = CW_BUF_INIT, back = CW_BUF_INIT, t = CW_BUF_INIT;
	const uint8_t data[5] = { 0, 1, 2, 250, 255 };
	size_t n;

	CHECK_OK(cw_armor_encode(&text, "cert", data, sizeof(data)));
	CHECK(text.len == 16 + 7 + 1 && memcmp(text.data, "caseway-cert-v1:AAEC+v8\n", 24) == 0);
	CHECK_OK(cw_armor_decode(&back, "cert", text.data, text.len));
	CHECK(back.len == 5 && memcmp(back.data, data, 5) == 0);
	/* every length round-trips (no padding, canonical) */
	for (n = 0; n <= 40; n++) {
		uint8_t in[40];

		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)(i * 37 + n);
		t.len = back.len = 0;
		CHECK_OK(cw_armor_encode(&t, "request", in, n));
		CHECK(memchr(t.data, '=', t.len) == NULL);
		CHECK_OK(cw_armor_decode(&back, "request", t.data, t.len));
		CHECK(back.len == n && (n == 0 || memcmp(back.data, in, n) == 0));
	}
	/* surrounding white space is fine, inside it is not */
	t.len = back.len = 0;
	CHECK_OK(cw_buf_put(&t, " \r\n\t", 4));
	CHECK_OK(cw_buf_put(&t, text.data, text.len));
	CHECK_OK(cw_buf_put(&t, "\r\n\r\n", 4));
	CHECK_OK(cw_armor_decode(&back, "cert", t.data, t.len));
	CHECK(back.len == 5 && memcmp(back.data, data, 5) == 0);
	back.len = 0;
	CHECK_CODE(cw_armor_decode(&back, "cert", (const uint8_t *)"caseway-cert-v1:AA EC+v8", 24),
	           CW_EINVALID);
	CHECK_CODE(cw_armor_decode(&back, "cert", (const uint8_t *)"caseway-cert-v1:AAEC+v8=", 24),
	           CW_EINVALID);
	/* a non-canonical last character (stray low bits) */
	CHECK_CODE(cw_armor_decode(&back, "cert", (const uint8_t *)"caseway-cert-v1:AAEC+v9", 23),
	           CW_EINVALID);
	CHECK_CODE(cw_armor_decode(&back, "cert", (const uint8_t *)"caseway-cert-v2:AAEC+v8", 23),
	           CW_EINVALID);
	CHECK_CODE(cw_armor_decode(&back, "cert", (const uint8_t *)"", 0), CW_EINVALID);
	CHECK_CODE(cw_armor_decode(&back, "request", text.data, text.len), CW_EINVALID);
	CHECK(strcmp(cw_error_last(), "not a caseway request file") == 0);
	CHECK(back.len == 0);
	/* decode appends; a failure leaves out as it was */
	CHECK_OK(cw_buf_put(&back, "ab", 2));
	text.data[18] = '*';
	CHECK_CODE(cw_armor_decode(&back, "cert", text.data, text.len), CW_EINVALID);
	CHECK(back.len == 2);
	CHECK_CODE(cw_armor_encode(&back, "Bad Label", data, 1), CW_EINVALID);
	CHECK(back.len == 2);
	cw_buf_dispose(&text);
	cw_buf_dispose(&back);
	cw_buf_dispose(&t);
}

static int write_seed(const char *dir, const char *sub, const char *name, const void *data, size_t len)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	CHECK(len < 4096);
	return cw_file_write_atomic(path, data, len, 0644, 0);
}

/* CW_WRITE_CERT_CORPUS=DIR: the seeds of fuzz_cert and fuzz_roster. */
/* Revocations: round trip, lookups, and what the parser refuses. */
static void test_revocation(void)
{
	cw_keys *org = keys_from(1), *d1 = keys_from(20), *d2 = keys_from(40), *d3 = keys_from(60);
	cw_buf certs[2] = { CW_BUF_INIT, CW_BUF_INIT }, revs[2] = { CW_BUF_INIT, CW_BUF_INIT };
	cw_buf r = CW_BUF_INIT, bad = CW_BUF_INIT;
	cw_revoked_chain chains[3];
	cw_roster *p = NULL;
	const cw_revocation *rev;
	uint8_t case_id[CW_REVOKED_CASE_BYTES];

	make_cert(&certs[0], org, d1, "Hub", CW_ROLE_HUB);
	make_cert(&certs[1], org, d2, "Ana", CW_ROLE_COORDINATOR);
	memset(chains, 0, sizeof(chains));
	for (int i = 0; i < 3; i++) {
		chains[i].case_id[0] = (uint8_t)(30 - 10 * i); /* out of order: encode sorts */
		chains[i].seq = (uint64_t)(i + 1) * 7;
		memset(chains[i].commit, 0xa0 + i, CW_REVOKED_COMMIT_BYTES);
	}
	CHECK_OK(cw_revocation_encode(&revs[0], cw_keys_sign_pk(d2), T0 + 5, chains, 3));
	CHECK_OK(cw_roster_build(&r, org, "Acme", NULL, certs, 2, revs, 1, T0));
	CHECK_OK(cw_roster_parse(&p, r.data, r.len));
	if (p == NULL)
		goto done;
	CHECK(cw_roster_count(p) == 2 && cw_roster_revocation_count(p) == 1);
	CHECK(cw_roster_revoked(p, cw_keys_sign_pk(d2)) == 1);
	CHECK(cw_roster_revoked(p, cw_keys_sign_pk(d1)) == 0);
	rev = cw_roster_revocation(p, cw_keys_sign_pk(d2));
	CHECK(rev != NULL && rev->revoked_at == T0 + 5 && rev->nchains == 3);
	if (rev == NULL)
		goto done;
	CHECK(strcmp(rev->device_id, cw_keys_id(d2)) == 0);
	memset(case_id, 0, sizeof(case_id));
	case_id[0] = 20;
	CHECK(cw_revocation_chain(rev, case_id) != NULL && cw_revocation_chain(rev, case_id)->seq == 14);
	case_id[0] = 25;
	CHECK(cw_revocation_chain(rev, case_id) == NULL);
	/* a revocation of a device the roster does not list */
	CHECK_OK(cw_revocation_encode(&revs[1], cw_keys_sign_pk(d3), T0, NULL, 0));
	CHECK_CODE(cw_roster_build(&bad, org, "Acme", NULL, certs, 2, &revs[1], 1, T0), CW_EINVALID);
	/* the same device twice */
	CHECK_OK(cw_buf_put(&revs[1], NULL, 0));
	revs[1].len = 0;
	CHECK_OK(cw_revocation_encode(&revs[1], cw_keys_sign_pk(d2), T0, NULL, 0));
	CHECK_CODE(cw_roster_build(&bad, org, "Acme", NULL, certs, 2, revs, 2, T0), CW_EINVALID);
	/* chains out of order, and a length that lies, are malformed */
	revs[1].len = 0;
	CHECK_OK(cw_buf_put(&revs[1], revs[0].data, revs[0].len));
	revs[1].data[CW_PK_BYTES + 8 + 4] = 40; /* the first case now sorts after the second */
	CHECK_CODE(cw_roster_build(&bad, org, "Acme", NULL, certs, 2, &revs[1], 1, T0), CW_EINVALID);
	revs[1].len = revs[0].len - 1;
	memcpy(revs[1].data, revs[0].data, revs[1].len);
	CHECK_CODE(cw_roster_build(&bad, org, "Acme", NULL, certs, 2, &revs[1], 1, T0), CW_EINVALID);
	CHECK(bad.len == 0);
	if (getenv("CW_WRITE_CERT_CORPUS"))
		CHECK_OK(write_seed(getenv("CW_WRITE_CERT_CORPUS"), "roster", "revocation", r.data, r.len));
done:
	for (int i = 0; i < 2; i++) {
		cw_buf_dispose(&certs[i]);
		cw_buf_dispose(&revs[i]);
	}
	cw_buf_dispose(&r);
	cw_buf_dispose(&bad);
	cw_roster_free(p);
	cw_keys_free(org);
	cw_keys_free(d1);
	cw_keys_free(d2);
	cw_keys_free(d3);
}

static void test_write_corpus(void)
{
	const char *dir = getenv("CW_WRITE_CERT_CORPUS");
	cw_keys *org = keys_from(1), *d1 = keys_from(20), *d2 = keys_from(40);
	cw_buf certs[2] = { CW_BUF_INIT, CW_BUF_INIT };
	cw_buf req = CW_BUF_INIT, r1 = CW_BUF_INIT, r2 = CW_BUF_INIT, b = CW_BUF_INIT, t = CW_BUF_INIT;
	cw_roster *p1 = NULL;

	if (dir == NULL)
		goto done;
	CHECK_OK(cw_request_create(&req, d2, "Ana", CW_ROLE_COORDINATOR, T0));
	make_cert(&certs[0], org, d1, "Hub", CW_ROLE_HUB);
	make_cert(&certs[1], org, d2, "Ana", CW_ROLE_COORDINATOR);
	CHECK_OK(cw_roster_build(&r1, org, "Acme", NULL, certs, 1, NULL, 0, T0));
	CHECK_OK(cw_roster_parse(&p1, r1.data, r1.len));
	CHECK_OK(cw_roster_build(&r2, org, "Acme", p1, certs, 2, NULL, 0, T0 + 60));

	CHECK_OK(write_seed(dir, "cert", "request", req.data, req.len));
	CHECK_OK(cw_armor_encode(&t, "request", req.data, req.len));
	CHECK_OK(write_seed(dir, "cert", "request.txt", t.data, t.len));
	CHECK_OK(write_seed(dir, "cert", "cert", certs[1].data, certs[1].len));
	CHECK_OK(write_seed(dir, "cert", "cert-truncated", certs[1].data, certs[1].len - 1));
	CHECK_OK(cw_buf_put(&b, certs[1].data, certs[1].len));
	b.data[40] ^= 4;
	CHECK_OK(write_seed(dir, "cert", "cert-flipped", b.data, b.len));
	b.len = 0;
	CHECK_OK(cw_enrolment_build(&b, certs[1].data, certs[1].len, r2.data, r2.len));
	CHECK_OK(write_seed(dir, "cert", "package", b.data, b.len));
	t.len = 0;
	CHECK_OK(cw_armor_encode(&t, "cert", b.data, b.len));
	CHECK_OK(write_seed(dir, "cert", "package.txt", t.data, t.len));
	CHECK_OK(write_seed(dir, "cert", "package-cut", b.data, b.len - 70));
	CHECK_OK(write_seed(dir, "cert", "not-caseway.txt", "caseway-cert-v1:!!\n", 19));

	CHECK_OK(write_seed(dir, "roster", "empty", NULL, 0));
	CHECK_OK(write_seed(dir, "roster", "one", r1.data, r1.len));
	CHECK_OK(write_seed(dir, "roster", "two", r2.data, r2.len));
	CHECK_OK(write_seed(dir, "roster", "cut", r2.data, r2.len / 2));
	b.len = 0;
	CHECK_OK(cw_buf_put(&b, r2.data, r2.len));
	b.data[b.len - 1] ^= 1;
	CHECK_OK(write_seed(dir, "roster", "bad-signature", b.data, b.len));
	raw_roster(&b, org, 1, NULL, certs, 1, 0x7fffffff, 1);
	CHECK_OK(write_seed(dir, "roster", "count-lies", b.data, b.len));
	{
		cw_buf twice[2] = { CW_BUF_INIT, CW_BUF_INIT };

		CHECK_OK(cw_buf_put(&twice[0], certs[0].data, certs[0].len));
		CHECK_OK(cw_buf_put(&twice[1], certs[0].data, certs[0].len));
		raw_roster(&b, org, 1, NULL, twice, 2, 2, 1);
		CHECK_OK(write_seed(dir, "roster", "duplicate", b.data, b.len));
		cw_buf_dispose(&twice[0]);
		cw_buf_dispose(&twice[1]);
	}
	printf("  wrote the cert and roster corpora under %s\n", dir);
done:
	cw_buf_dispose(&certs[0]);
	cw_buf_dispose(&certs[1]);
	cw_buf_dispose(&req);
	cw_buf_dispose(&r1);
	cw_buf_dispose(&r2);
	cw_buf_dispose(&b);
	cw_buf_dispose(&t);
	cw_roster_free(p1);
	cw_keys_free(org);
	cw_keys_free(d1);
	cw_keys_free(d2);
}

const cw_test cw_tests[] = { { "golden certificate", test_golden },
	                     { "roles", test_roles },
	                     { "request", test_request },
	                     { "certificate forgery, flips, truncation", test_cert_negative },
	                     { "roster chain", test_roster_chain },
	                     { "roster negative", test_roster_negative },
	                     { "roster of many", test_roster_many },
	                     { "revocations", test_revocation },
	                     { "enrolment package", test_enrolment_package },
	                     { "armour", test_armor },
	                     { "write corpus", test_write_corpus },
	                     CW_TESTS_END };
