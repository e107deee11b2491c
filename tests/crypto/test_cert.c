/*
 * tests/crypto/test_cert.c - requests, certificates, rosters, packages:
 * golden bytes (Ed25519 is deterministic), forgery, every bit flip, every
 * truncation, trailing bytes, wrong agency, duplicates, the roster chain.
 */
#include "harness.h"
#include "crypto/armor.h"
#include "crypto/cert.h"
#include "util/error.h"
#include "util/file.h"

#include <stdio.h>
#include <stdlib.h>

static cw_keys *keys_from(uint8_t start)
{
	cw_secret *seed = NULL;
	cw_keys *k = NULL;
	int i;

	if (cw_secret_new(&seed, CW_SEED_BYTES) == CW_OK) {
		for (i = 0; i < CW_SEED_BYTES; i++)
			cw_secret_bytes(seed)[i] = (uint8_t)(start + i);
		cw_keys_from_seed(&k, seed);
	}
	cw_secret_free(seed);
	return k;
}

static void make_cert(cw_buf *out, const cw_keys *org, const cw_keys *dev, const char *name,
                      cw_role role)
{
	cw_buf req = CW_BUF_INIT;
	cw_request r;

	CHECK_OK(cw_request_create(&req, dev, name, role, 1767225600));
	CHECK_OK(cw_request_parse(&r, req.data, req.len));
	CHECK_OK(cw_cert_issue(out, org, &r, role, 1767225600, 0));
	cw_buf_dispose(&req);
}

static void test_golden(void)
{
	cw_keys *org = keys_from(1), *dev = keys_from(101);
	cw_buf cert = CW_BUF_INIT, golden = CW_BUF_INIT;
	const char *dir = getenv("CW_FIXTURES");
	char *path = cw_path_join(dir ? dir : "tests/fixtures", "cert_v1.bin");
	cw_cert c;

	make_cert(&cert, org, dev, "Ana Lima (field laptop)", CW_ROLE_COORDINATOR);
	if (getenv("CW_WRITE_FIXTURES"))
		CHECK_OK(cw_file_write_atomic(path, cert.data, cert.len, 0644, 0));
	CHECK_OK(cw_file_read(&golden, path, 4096));
	CHECK(golden.len == cert.len && memcmp(golden.data, cert.data, cert.len) == 0);
	CHECK_OK(cw_cert_parse(&c, golden.data, golden.len));
	CHECK(strcmp(c.name, "Ana Lima (field laptop)") == 0 && c.role == CW_ROLE_COORDINATOR);
	CHECK(c.issued_at == 1767225600 && strcmp(c.device_id, cw_keys_id(dev)) == 0);
	cw_buf_dispose(&cert);
	cw_buf_dispose(&golden);
	free(path);
	cw_keys_free(org);
	cw_keys_free(dev);
}

static void test_request(void)
{
	cw_keys *dev = keys_from(7), *other = keys_from(9);
	cw_buf req = CW_BUF_INIT;
	cw_request r;
	size_t i;
	int bit, ok = 0;

	CHECK_OK(cw_request_create(&req, dev, "Clinic Memorial", CW_ROLE_CLINIC, 1));
	CHECK_OK(cw_request_parse(&r, req.data, req.len));
	CHECK(r.role == CW_ROLE_CLINIC && strcmp(r.name, "Clinic Memorial") == 0);
	for (i = 0; i < req.len; i++)
		for (bit = 0; bit < 8; bit++) {
			req.data[i] ^= (uint8_t)(1 << bit);
			ok += cw_request_parse(&r, req.data, req.len) == CW_OK;
			req.data[i] ^= (uint8_t)(1 << bit);
		}
	CHECK(ok == 0);
	/* someone else's key put in place of the device's: the signature fails */
	memcpy(req.data + 14, cw_keys_sign_pk(other), CW_PK_BYTES);
	CHECK_CODE(cw_request_parse(&r, req.data, req.len), CW_EVERIFY);
	req.len = 0;
	CHECK_CODE(cw_request_create(&req, dev, "", CW_ROLE_CLINIC, 1), CW_EINVALID);
	CHECK_CODE(cw_request_create(&req, dev, "a\nb", CW_ROLE_CLINIC, 1), CW_EINVALID);
	cw_buf_dispose(&req);
	cw_keys_free(dev);
	cw_keys_free(other);
}

static void test_cert_negative(void)
{
	cw_keys *org = keys_from(1), *dev = keys_from(50), *rogue = keys_from(77);
	cw_buf cert = CW_BUF_INIT, forged = CW_BUF_INIT, longer = CW_BUF_INIT;
	cw_cert c;
	size_t i;
	int bit, ok = 0;

	make_cert(&cert, org, dev, "Bob", CW_ROLE_HUB);
	for (i = 0; i < cert.len; i++)
		for (bit = 0; bit < 8; bit++) {
			cert.data[i] ^= (uint8_t)(1 << bit);
			ok += cw_cert_parse(&c, cert.data, cert.len) == CW_OK;
			cert.data[i] ^= (uint8_t)(1 << bit);
		}
	CHECK(ok == 0);
	for (i = 0; i < cert.len; i++)
		CHECK(cw_cert_parse(&c, cert.data, i) != CW_OK);
	cw_buf_put(&longer, cert.data, cert.len);
	cw_buf_put_u8(&longer, 0);
	CHECK(cw_cert_parse(&c, longer.data, longer.len) != CW_OK);
	/* forgery: a rogue key signs a certificate naming the real org key */
	make_cert(&forged, rogue, dev, "Bob", CW_ROLE_HUB);
	memcpy(forged.data + 22, cw_keys_sign_pk(org), CW_PK_BYTES);
	CHECK_CODE(cw_cert_parse(&c, forged.data, forged.len), CW_EVERIFY);
	/* wrong version */
	cert.data[4] = 2;
	CHECK_CODE(cw_cert_parse(&c, cert.data, cert.len), CW_EINVALID);
	CHECK(strstr(cw_error_last(), "version") != NULL);
	cw_buf_dispose(&cert);
	cw_buf_dispose(&forged);
	cw_buf_dispose(&longer);
	cw_keys_free(org);
	cw_keys_free(dev);
	cw_keys_free(rogue);
}

static void test_roster_chain(void)
{
	cw_keys *org = keys_from(1), *other_org = keys_from(200), *d1 = keys_from(20),
	        *d2 = keys_from(40);
	cw_buf certs[3] = { CW_BUF_INIT, CW_BUF_INIT, CW_BUF_INIT };
	cw_buf r1 = CW_BUF_INIT, r2 = CW_BUF_INIT, bad = CW_BUF_INIT;
	cw_roster *p1 = NULL, *p2 = NULL, *x = NULL;
	size_t i;
	int ok = 0;

	make_cert(&certs[0], org, d1, "Hub", CW_ROLE_HUB);
	make_cert(&certs[1], org, d2, "Ana", CW_ROLE_COORDINATOR);
	make_cert(&certs[2], other_org, d2, "Ana", CW_ROLE_COORDINATOR);
	CHECK_OK(cw_roster_build(&r1, org, "Acme", NULL, certs, 1, 10));
	CHECK_OK(cw_roster_parse(&p1, r1.data, r1.len));
	CHECK(p1 && cw_roster_seq(p1) == 1 && cw_roster_count(p1) == 1);
	CHECK_OK(cw_roster_build(&r2, org, "Acme", p1, certs, 2, 20));
	CHECK_OK(cw_roster_parse(&p2, r2.data, r2.len));
	CHECK(p2 && cw_roster_seq(p2) == 2 && cw_roster_count(p2) == 2);
	CHECK(p1 && p2 && memcmp(cw_roster_prev(p2), cw_roster_hash(p1), CW_HASH_BYTES) == 0);
	CHECK(p2 && cw_roster_find(p2, cw_keys_sign_pk(d2)) == 1);
	CHECK(p2 && strcmp(cw_roster_org_name(p2), "Acme") == 0);
	/* another org's key cannot extend this roster */
	CHECK_CODE(cw_roster_build(&bad, other_org, "Acme", p2, certs, 2, 30), CW_EVERIFY);
	/* an entry issued by another agency */
	CHECK_OK(cw_roster_build(&bad, org, "Acme", NULL, &certs[1], 2, 10));
	CHECK_CODE(cw_roster_parse(&x, bad.data, bad.len), CW_EVERIFY);
	bad.len = 0;
	/* the same device twice */
	{
		cw_buf twice[2] = { CW_BUF_INIT, CW_BUF_INIT };

		cw_buf_put(&twice[0], certs[1].data, certs[1].len);
		cw_buf_put(&twice[1], certs[1].data, certs[1].len);
		CHECK_OK(cw_roster_build(&bad, org, "Acme", NULL, twice, 2, 10));
		CHECK_CODE(cw_roster_parse(&x, bad.data, bad.len), CW_EINVALID);
		cw_buf_dispose(&twice[0]);
		cw_buf_dispose(&twice[1]);
	}
	/* every truncation and every byte flip */
	for (i = 0; i < r2.len; i++) {
		if (cw_roster_parse(&x, r2.data, i) == CW_OK) {
			ok++;
			cw_roster_free(x);
		}
		r2.data[i] ^= 0x20;
		if (cw_roster_parse(&x, r2.data, r2.len) == CW_OK) {
			ok++;
			cw_roster_free(x);
		}
		r2.data[i] ^= 0x20;
	}
	CHECK(ok == 0);
	CHECK(x == NULL);
	for (i = 0; i < 3; i++)
		cw_buf_dispose(&certs[i]);
	cw_buf_dispose(&r1);
	cw_buf_dispose(&r2);
	cw_buf_dispose(&bad);
	cw_roster_free(p1);
	cw_roster_free(p2);
	cw_keys_free(org);
	cw_keys_free(other_org);
	cw_keys_free(d1);
	cw_keys_free(d2);
}

static void test_enrolment_package(void)
{
	cw_buf pkg = CW_BUF_INIT;
	const uint8_t *c, *r;
	size_t cl, rl, i;

	CHECK_OK(cw_enrolment_build(&pkg, (const uint8_t *)"CERT", 4, (const uint8_t *)"ROSTER", 6));
	CHECK_OK(cw_enrolment_split(&c, &cl, &r, &rl, pkg.data, pkg.len));
	CHECK(cl == 4 && memcmp(c, "CERT", 4) == 0 && rl == 6 && memcmp(r, "ROSTER", 6) == 0);
	for (i = 0; i < pkg.len; i++)
		CHECK(cw_enrolment_split(&c, &cl, &r, &rl, pkg.data, i) != CW_OK);
	pkg.data[5] = 0xff; /* a cert length past the end */
	CHECK_CODE(cw_enrolment_split(&c, &cl, &r, &rl, pkg.data, pkg.len), CW_EINVALID);
	cw_buf_dispose(&pkg);
}

static void test_armor(void)
{
	cw_buf text = CW_BUF_INIT, back = CW_BUF_INIT;
	const uint8_t data[5] = { 0, 1, 2, 250, 255 };

	CHECK_OK(cw_armor_encode(&text, "cert", data, sizeof(data)));
	CHECK(text.len > 17 && memcmp(text.data, "caseway-cert-v1:", 16) == 0);
	CHECK(text.data[text.len - 1] == '\n');
	CHECK_OK(cw_armor_decode(&back, "cert", text.data, text.len));
	CHECK(back.len == 5 && memcmp(back.data, data, 5) == 0);
	back.len = 0;
	CHECK_CODE(cw_armor_decode(&back, "request", text.data, text.len), CW_EINVALID);
	text.data[18] = '*';
	CHECK_CODE(cw_armor_decode(&back, "cert", text.data, text.len), CW_EINVALID);
	cw_buf_dispose(&text);
	cw_buf_dispose(&back);
}

const cw_test cw_tests[] = {
	{ "golden certificate", test_golden },
	{ "request", test_request },
	{ "certificate forgery, flips, truncation", test_cert_negative },
	{ "roster chain", test_roster_chain },
	{ "enrolment package", test_enrolment_package },
	{ "armour", test_armor },
	CW_TESTS_END
};
