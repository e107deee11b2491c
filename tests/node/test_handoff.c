/*
 * tests/node/test_handoff.c - handoff packages and doctors' replies
 * (node/handoff.h): the doctor's keys, safe file names, packages that open
 * only for their doctor and only when every byte and the signer's chain up
 * to the agency key verify (nothing written otherwise), and replies taken
 * in only from the key a handoff of the case was made for.
 */
#include "harness.h"
#include "crypto/seal.h"
#include "node/case.h"
#include "node/docs.h"
#include "node/handoff.h"
#include "node/org.h"
#include "util/error.h"
#include "util/file.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const cw_kdf_cost fast = { 1, (uint64_t)8 << 20 };

/* ---- an agency in memory ------------------------------------------------------------ */

typedef struct {
	cw_keys *org, *device, *doctor, *doctor2;
	cw_buf cert, roster;
} agency;

static void issue(cw_buf *cert, const cw_keys *org, const cw_keys *dev, const char *name, cw_role role)
{
	cw_buf req = CW_BUF_INIT;
	cw_request r;

	CHECK_OK(cw_request_create(&req, dev, name, role, 1700000000));
	CHECK_OK(cw_request_parse(&r, req.data, req.len));
	CHECK_OK(cw_cert_issue(cert, org, &r, role, 1700000000, 0));
	cw_buf_dispose(&req);
}

/* role: of the signing device; revoked: the roster revokes it; foreign: the
 * certificate comes from another org key than the roster's. */
static void agency_make(agency *a, cw_role role, int revoked, int foreign)
{
	cw_buf certs[2] = { CW_BUF_INIT, CW_BUF_INIT }, rev = CW_BUF_INIT;
	cw_keys *hub = NULL, *other = NULL;

	memset(a, 0, sizeof(*a));
	CHECK_OK(cw_keys_generate(&a->org));
	CHECK_OK(cw_keys_generate(&a->device));
	CHECK_OK(cw_keys_generate(&a->doctor));
	CHECK_OK(cw_keys_generate(&a->doctor2));
	CHECK_OK(cw_keys_generate(&hub));
	CHECK_OK(cw_keys_generate(&other));
	issue(&certs[0], a->org, hub, "Head office", CW_ROLE_HUB);
	issue(&certs[1], a->org, a->device, "Anna Field", role);
	if (foreign)
		issue(&a->cert, other, a->device, "Anna Field", role);
	else
		CHECK_OK(cw_buf_put(&a->cert, certs[1].data, certs[1].len));
	if (revoked)
		CHECK_OK(cw_revocation_encode(&rev, cw_keys_sign_pk(a->device), 1700000100, NULL, 0));
	CHECK_OK(cw_roster_build(&a->roster, a->org, "Acme Medical Travel", NULL, certs, 2,
	                         revoked ? &rev : NULL, revoked ? 1 : 0, 1700000200));
	cw_buf_dispose(&certs[0]);
	cw_buf_dispose(&certs[1]);
	cw_buf_dispose(&rev);
	cw_keys_free(hub);
	cw_keys_free(other);
}

static void agency_free(agency *a)
{
	cw_keys_free(a->org);
	cw_keys_free(a->device);
	cw_keys_free(a->doctor);
	cw_keys_free(a->doctor2);
	cw_buf_dispose(&a->cert);
	cw_buf_dispose(&a->roster);
}

/* Write a package at path by a's device for `for_keys` (whose keys the head
 * names) sealed to `seal_to`, with ips.json, summary.html and documents named
 * names[0..n) of 100000 bytes each. */
static void write_package(const char *path, const agency *a, const cw_keys *for_keys, const cw_keys *seal_to,
                          const char *const *names, size_t n)
{
	cw_handoff_head head;
	cw_handoff_writer *w = NULL;
	static uint8_t doc[100000];
	size_t i;
	int fd;

	for (i = 0; i < sizeof(doc); i++)
		doc[i] = (uint8_t)(i * 7 + 3);
	memset(&head, 0, sizeof(head));
	memset(head.case_id, 0x11, sizeof(head.case_id));
	memset(head.handoff_id, 0x22, sizeof(head.handoff_id));
	head.created_at = 1700001000;
	/* the head names for_keys; the file key is sealed to seal_to's box key */
	memcpy(head.doctor_sign_pk, cw_keys_sign_pk(for_keys), CW_PK_BYTES);
	memcpy(head.doctor_box_pk, cw_keys_box_pk(seal_to), CW_PK_BYTES);
	head.cert = a->cert.data;
	head.cert_len = a->cert.len;
	head.roster = a->roster.data;
	head.roster_len = a->roster.len;
	head.contact = "anna@acme.example";
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_OK(cw_handoff_writer_new(&w, fd, 0, a->device, &head, NULL, 0));
	CHECK_OK(cw_handoff_writer_entry(w, CW_HANDOFF_IPS, 2, "ips.json", "", ""));
	CHECK_OK(cw_handoff_writer_data(w, "{}", 2));
	CHECK_OK(cw_handoff_writer_entry(w, CW_HANDOFF_HTML, 6, "summary.html", "", ""));
	CHECK_OK(cw_handoff_writer_data(w, "<html>", 6));
	for (i = 0; i < n; i++) {
		CHECK_OK(
		    cw_handoff_writer_entry(w, CW_HANDOFF_DOCUMENT, sizeof(doc), names[i], "Title", "scan"));
		CHECK_OK(cw_handoff_writer_data(w, doc, 5));
		CHECK_OK(cw_handoff_writer_data(w, doc + 5, sizeof(doc) - 5));
	}
	CHECK_OK(cw_handoff_writer_finish(w, NULL));
	cw_handoff_writer_free(w);
	close(fd);
}

static int count_entries(const char *dir)
{
	char out[4096];

	cw_test_capture(out, sizeof(out), "ls -A '%s' | wc -l", dir);
	return atoi(out);
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_doctor_keys(void)
{
	cw_buf key = CW_BUF_INIT, pub = CW_BUF_INIT;
	cw_keys *k = NULL;
	uint8_t s[CW_PK_BYTES], b[CW_PK_BYTES];
	char fpr[40], fpr2[40];

	CHECK_OK(cw_handoff_keygen(&key, &pub, fpr, "pw", 2, &fast));
	CHECK(key.len == CW_KEYSTORE_SIZE);
	CHECK(pub.len < 120 && memcmp(pub.data, "caseway-doctor-v1:", 18) == 0);
	CHECK(memchr(pub.data, '\n', pub.len - 1) == NULL); /* one line */
	CHECK_OK(cw_handoff_pub_parse(s, b, pub.data, pub.len));
	cw_handoff_fingerprint(fpr2, s, b);
	CHECK(strcmp(fpr, fpr2) == 0);
	CHECK_CODE(cw_handoff_key_open(&k, key.data, key.len, "nope", 4, "k"), CW_ELOCKED);
	CHECK_OK(cw_handoff_key_open(&k, key.data, key.len, "pw", 2, "k"));
	CHECK(k && memcmp(cw_keys_sign_pk(k), s, CW_PK_BYTES) == 0 &&
	      memcmp(cw_keys_box_pk(k), b, CW_PK_BYTES) == 0);
	CHECK_CODE(cw_handoff_pub_parse(s, b, (const uint8_t *)"caseway-cert-v1:AAAA", 20), CW_EINVALID);
	pub.data[20] ^= 1;
	CHECK(cw_handoff_pub_parse(s, b, pub.data, pub.len) < 0 || memcmp(fpr, fpr2, 40) == 0);
	cw_keys_free(k);
	cw_buf_dispose(&key);
	cw_buf_dispose(&pub);
}

static void test_safe_names(void)
{
	static const char *const bad[] = { "../../etc/passwd", "..",        ".",     "/abs/path", "a\\b",
		                           "\x01\x02",         "...hidden", " lead", "x/../../y", "" };
	char out[CW_HANDOFF_SAFE_NAME_MAX + 1], longname[400];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cw_handoff_safe_name(out, bad[i], i);
		CHECK(out[0] != '\0' && out[0] != '.' && strchr(out, '/') == NULL &&
		      strchr(out, '\\') == NULL);
		CHECK(strcmp(out, "..") != 0);
	}
	cw_handoff_safe_name(out, "", 4);
	CHECK(strcmp(out, "document-5") == 0);
	cw_handoff_safe_name(out, "Röntgen Knie.pdf", 0);
	CHECK(strcmp(out, "Röntgen Knie.pdf") == 0);
	/* a long UTF-8 name is cut between characters */
	for (i = 0; i + 2 < sizeof(longname); i += 2)
		memcpy(longname + i, "\xc3\xa9", 2);
	longname[i] = '\0';
	cw_handoff_safe_name(out, longname, 0);
	CHECK(strlen(out) <= CW_HANDOFF_SAFE_NAME_MAX && strlen(out) % 2 == 0);
}

static void test_open_writes_inside(void)
{
	agency a;
	static const char *const names[] = { "../../evil.txt", "scan.pdf", "SCAN.pdf", ".bashrc" };
	char *pkg = cw_path_join(cw_test_tmpdir(), "p.cwh"), *out = cw_path_join(cw_test_tmpdir(), "out");
	cw_handoff_info info;
	cw_buf names_out = CW_BUF_INIT;
	char buf[4096];

	agency_make(&a, CW_ROLE_COORDINATOR, 0, 0);
	write_package(pkg, &a, a.doctor, a.doctor, names, 4);
	CHECK_OK(cw_handoff_open(&info, &names_out, pkg, a.doctor, out, NULL, NULL));
	CHECK(strcmp(info.agency, "Acme Medical Travel") == 0 && strcmp(info.signer.name, "Anna Field") == 0);
	CHECK(info.ndocs == 4 && info.nreply_to == 2); /* the device, then the hub */
	CHECK(strcmp(info.contact, "anna@acme.example") == 0);
	CHECK(count_entries(out) == 3);
	snprintf(buf, sizeof(buf), "%s/documents", out);
	CHECK(count_entries(buf) == 4);
	CHECK(cw_test_run("test -f '%s/documents/evil.txt' && test -f '%s/documents/scan.pdf' && "
	                  "test -f '%s/documents/SCAN-2.pdf' && test -f '%s/documents/bashrc' && "
	                  "test ! -e '%s/../evil.txt' && test \"$(wc -c <'%s/documents/scan.pdf')\" = 100000",
	                  out, out, out, out, cw_test_tmpdir(), out) == 0);
	CHECK(names_out.len > 0);
	/* an existing folder that is not empty is refused */
	CHECK_CODE(cw_handoff_open(&info, NULL, pkg, a.doctor, out, NULL, NULL), CW_EEXISTS);
	/* the pin: right (any case, dashes or not) and wrong */
	CHECK(cw_test_run("rm -rf '%s'", out) == 0);
	{
		char pin[40];
		size_t i, o = 0;

		for (i = 0; info.org_fingerprint[i]; i++)
			if (info.org_fingerprint[i] != '-')
				pin[o++] = (char)(info.org_fingerprint[i] & ~0x20);
		pin[o] = '\0';
		CHECK_OK(cw_handoff_open(&info, NULL, pkg, a.doctor, NULL, pin, NULL));
		pin[3] = pin[3] == 'A' ? 'B' : 'A';
		CHECK_CODE(cw_handoff_open(&info, NULL, pkg, a.doctor, out, pin, NULL), CW_EVERIFY);
		CHECK(!cw_file_exists(out));
	}
	cw_buf_dispose(&names_out);
	agency_free(&a);
	free(pkg);
	free(out);
}

/* Each of these packages is refused with CW_EVERIFY and nothing is written. */
static void refused(const char *pkg, const cw_keys *doctor, const char *why)
{
	char *out = cw_path_join(cw_test_tmpdir(), "refused");
	cw_handoff_info info;
	int rc = cw_handoff_open(&info, NULL, pkg, doctor, out, NULL, NULL);

	if (rc != CW_EVERIFY)
		fprintf(stderr, "%s: got %d (%s)\n", why, rc, cw_error_last());
	CHECK(rc == CW_EVERIFY);
	CHECK(!cw_file_exists(out));
	CHECK(cw_test_run("ls -A '%s' | grep -q cw-handoff", cw_test_tmpdir()) !=
	      0); /* no temp folder left */
	free(out);
}

static void test_refused(void)
{
	agency a, b;
	static const char *const names[] = { "scan.pdf" };
	char *pkg = cw_path_join(cw_test_tmpdir(), "p.cwh"), *bad = cw_path_join(cw_test_tmpdir(), "bad.cwh");
	cw_buf data = CW_BUF_INIT;
	size_t i, offsets[6];

	agency_make(&a, CW_ROLE_COORDINATOR, 0, 0);
	write_package(pkg, &a, a.doctor, a.doctor, names, 1);
	CHECK_OK(cw_file_read(&data, pkg, 1 << 20));
	/* wrong recipient */
	refused(pkg, a.doctor2, "sealed to someone else");
	/* a flipped byte anywhere: header, head, data, signature; cut short; a byte added */
	offsets[0] = 8;
	offsets[1] = 100;
	offsets[2] = data.len / 3;
	offsets[3] = data.len / 2;
	offsets[4] = data.len - 30;
	offsets[5] = data.len - 1;
	for (i = 0; i < 6; i++) {
		data.data[offsets[i]] ^= 0x20;
		CHECK_OK(cw_file_write_atomic(bad, data.data, data.len, 0600, 0));
		refused(bad, a.doctor, "flipped byte");
		data.data[offsets[i]] ^= 0x20;
	}
	CHECK_OK(cw_file_write_atomic(bad, data.data, data.len - 10, 0600, 0));
	refused(bad, a.doctor, "cut short");
	CHECK_OK(cw_file_write_atomic(bad, data.data, data.len / 2, 0600, 0));
	refused(bad, a.doctor, "cut in half");
	CHECK_OK(cw_buf_put_u8(&data, 0));
	CHECK_OK(cw_file_write_atomic(bad, data.data, data.len, 0600, 0));
	refused(bad, a.doctor, "a byte after the end");
	agency_free(&a);

	/* made for another doctor's key, sealed to this one (forwarded) */
	agency_make(&a, CW_ROLE_COORDINATOR, 0, 0);
	write_package(pkg, &a, a.doctor2, a.doctor, names, 1);
	refused(pkg, a.doctor, "named for another doctor");
	agency_free(&a);
	/* a certificate from another agency than the roster's (unknown signer) */
	agency_make(&b, CW_ROLE_COORDINATOR, 0, 1);
	write_package(pkg, &b, b.doctor, b.doctor, names, 1);
	refused(pkg, b.doctor, "unknown signer");
	agency_free(&b);
	/* the roster revokes the signer */
	agency_make(&b, CW_ROLE_COORDINATOR, 1, 0);
	write_package(pkg, &b, b.doctor, b.doctor, names, 1);
	refused(pkg, b.doctor, "revoked signer");
	agency_free(&b);
	/* a later roster of the same agency, given by the doctor, revokes the signer */
	{
		cw_buf certs[2] = { CW_BUF_INIT, CW_BUF_INIT }, rev = CW_BUF_INIT, next = CW_BUF_INIT;
		cw_roster *r1 = NULL, *r2 = NULL;
		cw_handoff_info info;
		char *out = cw_path_join(cw_test_tmpdir(), "later");
		const uint8_t *p;
		size_t n;

		agency_make(&b, CW_ROLE_COORDINATOR, 0, 0);
		write_package(pkg, &b, b.doctor, b.doctor, names, 1);
		CHECK_OK(cw_roster_parse(&r1, b.roster.data, b.roster.len));
		for (i = 0; i < 2; i++) {
			cw_roster_cert_bytes(r1, i, &p, &n);
			CHECK_OK(cw_buf_put(&certs[i], p, n));
		}
		CHECK_OK(cw_revocation_encode(&rev, cw_keys_sign_pk(b.device), 1700000300, NULL, 0));
		CHECK_OK(
		    cw_roster_build(&next, b.org, "Acme Medical Travel", r1, certs, 2, &rev, 1, 1700000400));
		CHECK_OK(cw_roster_parse(&r2, next.data, next.len));
		CHECK_OK(cw_handoff_open(&info, NULL, pkg, b.doctor, NULL, NULL, r1));
		CHECK_CODE(cw_handoff_open(&info, NULL, pkg, b.doctor, out, NULL, r2), CW_EVERIFY);
		CHECK(!cw_file_exists(out));
		cw_roster_free(r1);
		cw_roster_free(r2);
		cw_buf_dispose(&certs[0]);
		cw_buf_dispose(&certs[1]);
		cw_buf_dispose(&rev);
		cw_buf_dispose(&next);
		free(out);
		agency_free(&b);
	}
	/* a clinic does not hand off */
	agency_make(&b, CW_ROLE_CLINIC, 0, 0);
	write_package(pkg, &b, b.doctor, b.doctor, names, 1);
	refused(pkg, b.doctor, "clinic");
	agency_free(&b);
	cw_buf_dispose(&data);
	free(pkg);
	free(bad);
}

/* ---- the node's side: create, open, reply, import ------------------------------------ */

static void test_node_round_trip(void)
{
	const char *dir = cw_test_tmpdir();
	char *home = cw_path_join(dir, "hub"), *pkg = cw_path_join(dir, "case.cwh"),
	     *reply = cw_path_join(dir, "r.cwr");
	char *forged = cw_path_join(dir, "forged.cwr"), *out = cw_path_join(dir, "opened"),
	     *src = cw_path_join(dir, "x.pdf");
	cw_home *h = NULL;
	cw_kv kv[3] = { { "name", "Maria Schmidt" }, { "allergies", "Penicillin" }, { "dob", "1970-05-02" } };
	uint8_t case_id[CW_ID_BYTES];
	cw_buf key = CW_BUF_INIT, pub = CW_BUF_INIT, key2 = CW_BUF_INIT, pub2 = CW_BUF_INIT;
	cw_keys *doctor = NULL, *doctor2 = NULL;
	cw_handoff_report rep;
	cw_handoff_options o;
	cw_handoff_info info;
	cw_reply_report rr;
	cw_case_view *v = NULL;
	char fpr[40], fpr2[40];
	const char *notes[] = { "Healing well." };
	size_t i, nnotes = 0;
	uint8_t digest[CW_HASH_BYTES];

	CHECK_OK(cw_home_init(&h, home, "Head office", CW_ROLE_HUB, "pw", 2, &fast));
	CHECK_OK(cw_org_create(h, "Acme Medical Travel", "pw", 2, &fast));
	CHECK_OK(cw_case_create(case_id, cw_home_store(h), cw_home_keys(h), kv, 3));
	CHECK_OK(cw_handoff_keygen(&key, &pub, fpr, "d", 1, &fast));
	CHECK_OK(cw_handoff_keygen(&key2, &pub2, fpr2, "d", 1, &fast));
	CHECK_OK(cw_handoff_key_open(&doctor, key.data, key.len, "d", 1, "key"));
	CHECK_OK(cw_handoff_key_open(&doctor2, key2.data, key2.len, "d", 1, "key2"));
	CHECK(cw_test_run("head -c 150000 /dev/urandom > '%s'", src) == 0);
	{
		char addr[CW_DOCS_ADDRESS_LEN + 1], size[24];
		uint64_t n;
		cw_secret *ck = NULL;
		cw_kv d[4] = {
			{ "address", addr }, { "size", size }, { "title", "X-ray" }, { "filename", "x.pdf" }
		};

		CHECK_OK(cw_case_key(&ck, cw_home_store(h), case_id));
		CHECK_OK(cw_docs_add(addr, &n, home, ck, src, NULL, NULL));
		snprintf(size, sizeof(size), "%llu", (unsigned long long)n);
		CHECK_OK(
		    cw_case_add(NULL, cw_home_store(h), cw_home_keys(h), case_id, CW_KIND_DOCUMENT, d, 4));
		cw_secret_free(ck);
	}
	{ /* a new key generation since the document was added: it still goes along */
		uint32_t gen = 0;

		CHECK_OK(cw_case_rotate(&gen, cw_home_store(h), cw_home_keys(h), case_id));
		CHECK(gen >= 2);
	}
	memset(&o, 0, sizeof(o));
	o.contact = "+90 555 0100";
	CHECK_OK(cw_handoff_create(&rep, h, case_id, pub.data, pub.len, pkg, &o));
	CHECK(rep.ndocs == 1 && rep.bytes == 150000 && strcmp(rep.doctor_fpr, fpr) == 0);
	CHECK_CODE(cw_handoff_create(&rep, h, case_id, pub.data, pub.len, pkg, &o), CW_EEXISTS);
	/* the handoff is in the case's log */
	CHECK_OK(cw_case_load(&v, cw_home_store(h), case_id));
	for (i = 0; i < v->nentities; i++)
		if (v->entities[i].kind == CW_KIND_HANDOFF)
			CHECK(strcmp(cw_view_get(&v->entities[i], "doctor"), fpr) == 0 &&
			      strcmp(cw_view_get(&v->entities[i], "document_count"), "1") == 0);
	cw_case_view_free(v);
	v = NULL;
	CHECK_OK(cw_handoff_open(&info, NULL, pkg, doctor, out, NULL, NULL));
	CHECK(cw_test_run("cmp -s '%s' '%s/documents/x.pdf' && grep -q 60591-5 '%s/ips.json' && "
	                  "grep -q 'Penicillin' '%s/summary.html'",
	                  src, out, out, out) == 0);
	CHECK_CODE(cw_handoff_open(&info, NULL, pkg, doctor2, NULL, NULL, NULL), CW_EVERIFY);

	/* the reply */
	CHECK_CODE(cw_handoff_reply(&info, pkg, doctor, NULL, 0, NULL, 0, reply), CW_EINVALID);
	CHECK_CODE(cw_handoff_reply(&info, pkg, doctor2, notes, 1, NULL, 0, reply), CW_EVERIFY);
	CHECK_OK(cw_handoff_reply(&info, pkg, doctor, notes, 1, (const char *const[]){ src }, 1, reply));
	CHECK(cw_handoff_sniff(reply) == 1 && cw_handoff_sniff(pkg) == 2 && cw_handoff_sniff(src) == 0);

	/* a forged reply: the same handoff named, signed by another doctor's key */
	{
		cw_handoff_head head;
		cw_handoff_writer *w = NULL;
		int fd = open(forged, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		memset(&head, 0, sizeof(head));
		memcpy(head.case_id, info.case_id, CW_ID_BYTES);
		memcpy(head.handoff_id, info.handoff_id, CW_ID_BYTES);
		memcpy(head.package, info.package, CW_HASH_BYTES);
		head.created_at = 1700000000;
		memcpy(head.doctor_sign_pk, cw_keys_sign_pk(doctor2), CW_PK_BYTES);
		memcpy(head.doctor_box_pk, cw_keys_box_pk(doctor2), CW_PK_BYTES);
		CHECK_OK(cw_handoff_writer_new(&w, fd, 1, doctor2, &head, info.reply_to, info.nreply_to));
		CHECK_OK(cw_handoff_writer_entry(w, CW_HANDOFF_NOTE, 6, "note-1", "", ""));
		CHECK_OK(cw_handoff_writer_data(w, "forged", 6));
		CHECK_OK(cw_handoff_writer_finish(w, NULL));
		cw_handoff_writer_free(w);
		close(fd);
	}
	CHECK_OK(cw_oplog_digest(digest, cw_home_store(h), case_id));
	CHECK_CODE(cw_handoff_import_reply(&rr, h, forged), CW_EVERIFY);
	{
		uint8_t after[CW_HASH_BYTES];

		CHECK_OK(cw_oplog_digest(after, cw_home_store(h), case_id));
		CHECK(memcmp(digest, after, CW_HASH_BYTES) == 0); /* nothing written */
	}
	CHECK_OK(cw_handoff_import_reply(&rr, h, reply));
	CHECK(rr.notes == 1 && rr.files == 1 && !rr.again && strcmp(rr.doctor_fpr, fpr) == 0);
	CHECK_OK(cw_handoff_import_reply(&rr, h, reply));
	CHECK(rr.again);
	CHECK_OK(cw_case_load(&v, cw_home_store(h), case_id));
	for (i = 0; i < v->nentities; i++)
		if (v->entities[i].kind == CW_KIND_DOCTOR_NOTE) {
			nnotes++;
			CHECK(strcmp(cw_view_get(&v->entities[i], "text"), "Healing well.") == 0);
			CHECK(strcmp(cw_view_get(&v->entities[i], "doctor"), fpr) == 0);
		}
	CHECK(nnotes == 1);
	cw_case_view_free(v);
	/* a reply with a flipped byte is refused */
	CHECK(cw_test_run("python3 -c \"import sys;p=sys.argv[1];b=bytearray(open(p,'rb').read());"
	                  "b[len(b)//2]^=1;open(p,'wb').write(b)\" '%s'",
	                  reply) == 0);
	CHECK_CODE(cw_handoff_import_reply(&rr, h, reply), CW_EVERIFY);

	cw_keys_free(doctor);
	cw_keys_free(doctor2);
	cw_buf_dispose(&key);
	cw_buf_dispose(&pub);
	cw_buf_dispose(&key2);
	cw_buf_dispose(&pub2);
	cw_home_free(h);
	free(home);
	free(pkg);
	free(reply);
	free(forged);
	free(out);
	free(src);
}

static void test_parse_plain(void)
{
	/* the structure-only parser (fuzz target) refuses junk without crashing */
	static const uint8_t junk[] = { 1, 0, 0, 0, 1, 5, 0, 0, 0, 4, 1, 2, 3, 4 };

	CHECK(cw_handoff__parse_plain(junk, sizeof(junk), 0) < 0);
	CHECK(cw_handoff__parse_plain(junk, sizeof(junk), 1) < 0);
	CHECK(cw_handoff__parse_plain(NULL, 0, 0) == CW_OK); /* nothing at all: nothing to refuse */
}

/* ---- seeds for tests/fuzz/fuzz_handoff.c (CW_WRITE_HANDOFF_CORPUS=DIR) ---------------- */

static void rec(cw_buf *out, uint8_t type, const void *body, size_t len)
{
	CHECK_OK(cw_buf_put_u32(out, (uint32_t)(len + 1)));
	CHECK_OK(cw_buf_put_u8(out, type));
	CHECK_OK(cw_buf_put(out, body, len));
}

#define REC(out, type, lit) rec(out, type, lit, sizeof(lit) - 1)

static void seed(const char *dir, const char *name, uint8_t mode, const uint8_t *data, size_t len)
{
	cw_buf b = CW_BUF_INIT;
	char *path = cw_path_join(dir, name);

	CHECK_OK(cw_buf_put_u8(&b, mode));
	CHECK_OK(cw_buf_put(&b, data, len));
	CHECK_OK(cw_file_write_atomic(path, b.data, b.len, 0644, 0));
	cw_buf_dispose(&b);
	free(path);
}

static void test_write_corpus(void)
{
	const char *dir = getenv("CW_WRITE_HANDOFF_CORPUS");
	static const char *const names[] = { "../../evil.txt", "scan.pdf" };
	char *pkg = cw_path_join(cw_test_tmpdir(), "seed.cwh");
	cw_secret *s7 = NULL;
	cw_keys *doctor = NULL;
	cw_buf data = CW_BUF_INIT, plain = CW_BUF_INIT, body = CW_BUF_INIT;
	uint8_t zeros[64];
	agency a;

	if (dir == NULL) {
		free(pkg);
		return;
	}
	memset(zeros, 0, sizeof(zeros));
	CHECK_OK(cw_secret_new(&s7, CW_SEED_BYTES));
	memset(cw_secret_bytes(s7), 7, CW_SEED_BYTES);
	CHECK_OK(cw_keys_from_seed(&doctor, s7));
	agency_make(&a, CW_ROLE_COORDINATOR, 0, 0);
	write_package(pkg, &a, doctor, doctor, names, 2);
	CHECK_OK(cw_file_read(&data, pkg, 1 << 20));
	seed(dir, "package", 0, data.data, data.len);
	data.data[data.len / 2] ^= 4;
	seed(dir, "package-flipped", 0, data.data, data.len);
	seed(dir, "package-cut", 0, data.data, data.len / 3);
	write_package(pkg, &a, a.doctor, a.doctor, names, 0);
	data.len = 0;
	CHECK_OK(cw_file_read(&data, pkg, 1 << 20));
	seed(dir, "package-other-doctor", 0, data.data, data.len);
	/* plain record streams */
	CHECK_OK(cw_buf_put_u8(&body, 1));
	CHECK_OK(cw_buf_put(&body, zeros, 32));
	CHECK_OK(cw_buf_put_u64(&body, 1700000000));
	CHECK_OK(cw_buf_put(&body, cw_keys_sign_pk(doctor), CW_PK_BYTES));
	CHECK_OK(cw_buf_put(&body, cw_keys_box_pk(doctor), CW_PK_BYTES));
	CHECK_OK(cw_buf_put_u32(&body, (uint32_t)a.cert.len));
	CHECK_OK(cw_buf_put(&body, a.cert.data, a.cert.len));
	CHECK_OK(cw_buf_put_u32(&body, (uint32_t)a.roster.len));
	CHECK_OK(cw_buf_put(&body, a.roster.data, a.roster.len));
	CHECK_OK(cw_buf_put_str16(&body, "x", 1));
	rec(&plain, 1, body.data, body.len);
	REC(&plain, 2, "\x01\x02\0\0\0\0\0\0\0\x08\0ips.json\0\0\0\0");
	rec(&plain, 3, "{}", 2);
	REC(&plain, 2, "\x02\x03\0\0\0\0\0\0\0\x0c\0summary.html\0\0\0\0");
	rec(&plain, 3, "<p>", 3);
	REC(&plain, 2, "\x03\x03\0\0\0\0\0\0\0\x0e\0../../evil.txt\0\0\0\0");
	rec(&plain, 3, "abc", 3);
	rec(&plain, 4, zeros, 64);
	seed(dir, "plain-handoff", 1, plain.data, plain.len);
	plain.len = 0;
	body.len = 0;
	CHECK_OK(cw_buf_put_u8(&body, 1));
	CHECK_OK(cw_buf_put(&body, zeros, 32));
	CHECK_OK(cw_buf_put_u64(&body, 1700000000));
	CHECK_OK(cw_buf_put(&body, cw_keys_sign_pk(doctor), CW_PK_BYTES));
	CHECK_OK(cw_buf_put(&body, cw_keys_box_pk(doctor), CW_PK_BYTES));
	CHECK_OK(cw_buf_put(&body, zeros, 32));
	rec(&plain, 1, body.data, body.len);
	REC(&plain, 2, "\x04\x05\0\0\0\0\0\0\0\x06\0note-1\0\0\0\0");
	rec(&plain, 3, "hello", 5);
	rec(&plain, 4, zeros, 64);
	seed(dir, "plain-reply", 2, plain.data, plain.len);
	seed(dir, "plain-reply-as-handoff", 1, plain.data, plain.len);
	plain.len = 0;
	rec(&plain, 3, "data first", 10);
	rec(&plain, 4, zeros, 64);
	seed(dir, "plain-bad-order", 1, plain.data, plain.len);
	agency_free(&a);
	cw_keys_free(doctor);
	cw_secret_free(s7);
	cw_buf_dispose(&data);
	cw_buf_dispose(&plain);
	cw_buf_dispose(&body);
	free(pkg);
}

const cw_test cw_tests[] = {
	{ "a doctor's keys: one public line, a fingerprint, a passphrase", test_doctor_keys },
	{ "document names from a package never leave their folder", test_safe_names },
	{ "a package opens for its doctor and writes only inside the folder", test_open_writes_inside },
	{ "altered, misaddressed, unknown or revoked signer: refused, nothing written", test_refused },
	{ "create, open, reply, import; a forged reply is refused", test_node_round_trip },
	{ "the plain record parser refuses junk", test_parse_plain },
	{ "fuzz seeds (written with CW_WRITE_HANDOFF_CORPUS=DIR)", test_write_corpus },
	CW_TESTS_END
};
