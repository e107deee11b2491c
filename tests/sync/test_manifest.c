/*
 * tests/sync/test_manifest.c - the manifest text of sync bundles: round
 * trips of several shapes, a golden text, every rule broken once (parse
 * refuses it naming the line, leaving nothing behind), the count and size
 * limits, and format refusing every kind of invalid struct.
 */
#include "harness.h"
#include "sync/manifest.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FROM_ID "0123456789abcdef"
#define TO_ID "fedcba9876543210"
#define OID1 "00112233445566778899aabbccddeeff00112233"
#define OID2 "ffeeddccbbaa99887766554433221100ffeeddcc"
#define CASE_A "refs/cw/case/00000000000000000000000000000001/0123456789abcdef"
#define CASE_B "refs/cw/case/00000000000000000000000000000002/0123456789abcdef"
#define ROSTER "refs/cw/roster/1"

#define HEAD "caseway manifest v1\n\n"
#define FROM "from: " FROM_ID "\n"
#define TO "to: " TO_ID "\n"
#define SEQ "seq: 7\n"
#define PART "part: 1/3\n"
#define TIME "time: 1700000000\n"
#define FIELDS FROM TO SEQ PART TIME
#define REF_A "ref " OID1 " " CASE_A "\n"
#define REF_R "ref " OID2 " " ROSTER "\n"
#define HAVE_B "have " OID2 " " CASE_B "\n"
#define HAVE_R "have " OID1 " " ROSTER "\n"
/* Lines 1-7 are the head and fields, ref/have lines start at 8. */
#define VALID HEAD FIELDS REF_A REF_R HAVE_B HAVE_R

static int all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static void case_ref(cw_bundle_ref *r, unsigned i, const char *device)
{
	snprintf(r->name, sizeof(r->name), "refs/cw/case/%032x/%s", i, device);
	snprintf(r->oid, sizeof(r->oid), "%040x", i * 2654435761u);
}

static void base(cw_manifest *m)
{
	memset(m, 0, sizeof(*m));
	memcpy(m->from, FROM_ID, sizeof(FROM_ID));
	memcpy(m->to, TO_ID, sizeof(TO_ID));
	m->seq = 7;
	m->part = 1;
	m->parts = 3;
	m->time = 1700000000;
}

static int refs_equal(const cw_bundle_ref *a, const cw_bundle_ref *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i].name, b[i].name) != 0 || strcmp(a[i].oid, b[i].oid) != 0)
			return 0;
	return 1;
}

/* Format m, parse it back, compare every field, format again: same bytes. */
static void round_trip(const cw_manifest *m)
{
	cw_buf a = CW_BUF_INIT, b = CW_BUF_INIT;
	cw_manifest p;

	CHECK_OK(cw_manifest_format(&a, m));
	CHECK_OK(cw_manifest_parse(&p, (const char *)a.data, a.len));
	CHECK(strcmp(p.from, m->from) == 0 && strcmp(p.to, m->to) == 0);
	CHECK(p.seq == m->seq && p.part == m->part && p.parts == m->parts && p.time == m->time);
	CHECK(p.nrefs == m->nrefs && p.nhave == m->nhave);
	if (p.nrefs == m->nrefs)
		CHECK(refs_equal(p.refs, m->refs, p.nrefs));
	if (p.nhave == m->nhave)
		CHECK(refs_equal(p.have, m->have, p.nhave));
	CHECK((p.nrefs == 0) == (p.refs == NULL) && (p.nhave == 0) == (p.have == NULL));
	CHECK_OK(cw_manifest_format(&b, &p));
	CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	cw_manifest_dispose(&p);
	cw_buf_dispose(&a);
	cw_buf_dispose(&b);
}

/* ---- refnames ------------------------------------------------------------- */

static void test_ref_valid(void)
{
	static const char *const bad[] = {
		"",
		"refs/heads/main",
		"refs/cw/roster/",
		"refs/cw/roster",
		"refs/cw/roster/01",
		"refs/cw/roster/1x",
		"refs/cw/roster/1234567890123",
		"refs/cw/rosterx",
		"refs/cw/Roster",
		"refs/cw/case/0000000000000000000000000000001/0123456789abcdef",   /* 31 hex */
		"refs/cw/case/000000000000000000000000000000001/0123456789abcdef", /* 33 hex */
		"refs/cw/case/00000000000000000000000000000001/0123456789abcde",   /* 15 hex */
		"refs/cw/case/00000000000000000000000000000001/0123456789abcdef0", /* 17 hex */
		"refs/cw/case/0000000000000000000000000000000A/0123456789abcdef",  /* upper */
		"refs/cw/case/00000000000000000000000000000001/0123456789ABCDEF",  /* upper */
		"refs/cw/case/00000000000000000000000000000001-0123456789abcdef",  /* no slash */
		"refs/cw/case/0000000000000000000000000000000g/0123456789abcdef",  /* not hex */
		"refs/cw/cases/0000000000000000000000000000001/0123456789abcdef",
		"refs/cw/case//00000000000000000000000000000001/0123456789abcde",
		"refs/cw/case/00000000000000000000000000000001/0123456789abcdef ",
		"refs/cw/erased/",
		"refs/cw/erased/0000000000000000000000000000001",   /* 31 hex */
		"refs/cw/erased/000000000000000000000000000000001", /* 33 hex */
		"refs/cw/erased/0000000000000000000000000000000A",  /* upper */
		"refs/cw/erased/00000000000000000000000000000001/0123456789abcdef",
	};
	size_t i;

	CHECK(cw_manifest_ref_valid(ROSTER) == 1);
	CHECK(cw_manifest_ref_valid(CASE_A) == 1);
	CHECK(cw_manifest_ref_valid("refs/cw/case/ffffffffffffffffffffffffffffffff/ffffffffffffffff") == 1);
	CHECK(cw_manifest_ref_valid("refs/cw/erased/0123456789abcdef0123456789abcdef") == 1);
	CHECK(cw_manifest_ref_valid(NULL) == 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cw_manifest_ref_valid(bad[i]) != 0)
			cw_test_fail(__FILE__, __LINE__, "cw_manifest_ref_valid(bad[i]) == 0", bad[i]);
	}
}

/* ---- round trips ---------------------------------------------------------- */

static void test_round_trip_shapes(void)
{
	cw_bundle_ref *refs = calloc(1001, sizeof(*refs)), *have = calloc(3, sizeof(*have));
	cw_manifest m;
	unsigned i;

	CHECK(refs != NULL && have != NULL);
	if (refs == NULL || have == NULL)
		goto done;
	/* no refs at all */
	base(&m);
	round_trip(&m);
	/* only have, the smallest and largest of every number */
	case_ref(&have[0], 1, FROM_ID);
	case_ref(&have[1], 2, TO_ID);
	snprintf(have[2].name, sizeof(have[2].name), "%s", ROSTER);
	snprintf(have[2].oid, sizeof(have[2].oid), "%s", OID1);
	m.nhave = 3;
	m.have = have;
	m.seq = 1;
	m.part = m.parts = 1;
	m.time = 0;
	round_trip(&m);
	m.seq = INT64_MAX;
	m.part = m.parts = CW_MANIFEST_MAX_PARTS;
	m.time = CW_MANIFEST_TIME_END - 1;
	round_trip(&m);
	/* 1000 case refs and the roster (which sorts last), and the have */
	for (i = 0; i < 1000; i++)
		case_ref(&refs[i], i, FROM_ID);
	snprintf(refs[1000].name, sizeof(refs[1000].name), "%s", ROSTER);
	snprintf(refs[1000].oid, sizeof(refs[1000].oid), "%s", OID2);
	base(&m);
	m.nrefs = 1001;
	m.refs = refs;
	round_trip(&m);
	m.nhave = 3;
	m.have = have;
	round_trip(&m);
	/* one ref, no have */
	m.nrefs = 1;
	m.nhave = 0;
	m.have = NULL;
	round_trip(&m);
done:
	free(refs);
	free(have);
}

/* A fixed text, its fields, and format giving it back byte for byte. */
static void test_golden(void)
{
	static const char text[] = VALID, bare[] = HEAD FIELDS;
	cw_manifest m;
	cw_buf b = CW_BUF_INIT;

	CHECK_OK(cw_buf_put(&b, "x", 1)); /* format appends */
	CHECK_OK(cw_manifest_parse(&m, text, strlen(text)));
	CHECK(strcmp(m.from, FROM_ID) == 0 && strcmp(m.to, TO_ID) == 0);
	CHECK(m.seq == 7 && m.part == 1 && m.parts == 3 && m.time == 1700000000);
	CHECK(m.nrefs == 2 && m.nhave == 2);
	if (m.nrefs == 2 && m.nhave == 2) {
		CHECK(strcmp(m.refs[0].name, CASE_A) == 0 && strcmp(m.refs[0].oid, OID1) == 0);
		CHECK(strcmp(m.refs[1].name, ROSTER) == 0 && strcmp(m.refs[1].oid, OID2) == 0);
		CHECK(strcmp(m.have[0].name, CASE_B) == 0 && strcmp(m.have[0].oid, OID2) == 0);
		CHECK(strcmp(m.have[1].name, ROSTER) == 0 && strcmp(m.have[1].oid, OID1) == 0);
	}
	CHECK_OK(cw_manifest_format(&b, &m));
	CHECK(b.len == 1 + strlen(text) && b.data[0] == 'x' && memcmp(b.data + 1, text, strlen(text)) == 0);
	cw_manifest_dispose(&m);
	cw_buf_dispose(&b);

	/* the smallest manifest */
	CHECK_OK(cw_manifest_parse(&m, bare, strlen(bare)));
	CHECK(m.nrefs == 0 && m.refs == NULL && m.nhave == 0 && m.have == NULL);
	cw_manifest_dispose(&m);
}

/* ---- parse refusals ------------------------------------------------------- */

typedef struct {
	const char *why;
	const char *text;
	size_t len; /* 0: strlen(text) */
	unsigned line;
} bad_case;

static void test_parse_refuses(void)
{
	static const bad_case cases[] = {
		{ "empty", "", 0, 1 },
		{ "wrong header", "caseway manifest v2\n\n" FIELDS, 0, 1 },
		{ "header with a trailing space", "caseway manifest v1 \n\n" FIELDS, 0, 1 },
		{ "byte order mark", "\xef\xbb\xbf" VALID, 0, 1 },
		{ "header only", "caseway manifest v1\n", 0, 2 },
		{ "no empty line", "caseway manifest v1\n" FIELDS, 0, 2 },
		{ "CRLF", "caseway manifest v1\r\n\r\n" FIELDS, 0, 1 },
		{ "CR in a ref line", HEAD FIELDS "ref " OID1 " " CASE_A "\r\n", 0, 8 },
		{ "NUL in a field", HEAD "from: 0123456789abcdef\0\n" TO SEQ PART TIME,
		  sizeof(HEAD "from: 0123456789abcdef\0\n" TO SEQ PART TIME) - 1, 3 },
		{ "no fields", HEAD, 0, 3 },
		{ "fields out of order", HEAD TO FROM SEQ PART TIME, 0, 3 },
		{ "upper-case from", HEAD "from: 0123456789ABCDEF\n" TO SEQ PART TIME, 0, 3 },
		{ "short from", HEAD "from: 0123456789abcde\n" TO SEQ PART TIME, 0, 3 },
		{ "two spaces", HEAD "from:  0123456789abcdef\n" TO SEQ PART TIME, 0, 3 },
		{ "from == to", HEAD FROM "to: " FROM_ID "\n" SEQ PART TIME, 0, 4 },
		{ "seq 0", HEAD FROM TO "seq: 0\n" PART TIME, 0, 5 },
		{ "seq leading zero", HEAD FROM TO "seq: 07\n" PART TIME, 0, 5 },
		{ "seq sign", HEAD FROM TO "seq: +7\n" PART TIME, 0, 5 },
		{ "seq negative", HEAD FROM TO "seq: -7\n" PART TIME, 0, 5 },
		{ "seq empty", HEAD FROM TO "seq: \n" PART TIME, 0, 5 },
		{ "seq trailing space", HEAD FROM TO "seq: 7 \n" PART TIME, 0, 5 },
		{ "seq 2^63", HEAD FROM TO "seq: 9223372036854775808\n" PART TIME, 0, 5 },
		{ "seq 2^64", HEAD FROM TO "seq: 18446744073709551616\n" PART TIME, 0, 5 },
		{ "seq overflow", HEAD FROM TO "seq: 999999999999999999999999999\n" PART TIME, 0, 5 },
		{ "missing part", HEAD FROM TO SEQ, 0, 6 },
		{ "part 0/3", HEAD FROM TO SEQ "part: 0/3\n" TIME, 0, 6 },
		{ "part 4/3", HEAD FROM TO SEQ "part: 4/3\n" TIME, 0, 6 },
		{ "part 1/0", HEAD FROM TO SEQ "part: 1/0\n" TIME, 0, 6 },
		{ "part 1/10001", HEAD FROM TO SEQ "part: 1/10001\n" TIME, 0, 6 },
		{ "part leading zero", HEAD FROM TO SEQ "part: 1/03\n" TIME, 0, 6 },
		{ "part no slash", HEAD FROM TO SEQ "part: 13\n" TIME, 0, 6 },
		{ "part two slashes", HEAD FROM TO SEQ "part: 1/3/3\n" TIME, 0, 6 },
		{ "part empty i", HEAD FROM TO SEQ "part: /3\n" TIME, 0, 6 },
		{ "time leading zero", HEAD FROM TO SEQ PART "time: 01700000000\n", 0, 7 },
		{ "time 00", HEAD FROM TO SEQ PART "time: 00\n", 0, 7 },
		{ "time negative", HEAD FROM TO SEQ PART "time: -1\n", 0, 7 },
		{ "time 2200", HEAD FROM TO SEQ PART "time: 7258118400\n", 0, 7 },
		{ "time overflow", HEAD FROM TO SEQ PART "time: 99999999999999999999999\n", 0, 7 },
		{ "missing final newline", HEAD FIELDS REF_A "ref " OID2 " " ROSTER, 0, 9 },
		{ "fields without final newline", HEAD FROM TO SEQ PART "time: 1700000000", 0, 7 },
		{ "unsorted refs", HEAD FIELDS REF_R REF_A, 0, 9 },
		{ "duplicate ref", HEAD FIELDS REF_A REF_A, 0, 9 },
		{ "unsorted have", HEAD FIELDS HAVE_R HAVE_B, 0, 9 },
		{ "duplicate have", HEAD FIELDS HAVE_B HAVE_B, 0, 9 },
		{ "ref after have", HEAD FIELDS HAVE_B REF_R, 0, 9 },
		{ "upper-case oid", HEAD FIELDS "ref 00112233445566778899AABBCCDDEEFF00112233 " CASE_A "\n",
		  0, 8 },
		{ "short oid", HEAD FIELDS "ref 00112233445566778899aabbccddeeff0011223 " CASE_A "\n", 0, 8 },
		{ "long oid", HEAD FIELDS "ref 00112233445566778899aabbccddeeff001122334 " CASE_A "\n", 0,
		  8 },
		{ "two spaces before name", HEAD FIELDS "ref " OID1 "  " CASE_A "\n", 0, 8 },
		{ "tab separator", HEAD FIELDS "ref\t" OID1 " " CASE_A "\n", 0, 8 },
		{ "no name", HEAD FIELDS "ref " OID1 "\n", 0, 8 },
		{ "refs/heads/main", HEAD FIELDS "ref " OID1 " refs/heads/main\n", 0, 8 },
		{ "31-hex case",
		  HEAD FIELDS "ref " OID1 " refs/cw/case/0000000000000000000000000000001/0123456789abcdef\n",
		  0, 8 },
		{ "upper-case refname",
		  HEAD FIELDS "have " OID1
		              " refs/cw/case/0000000000000000000000000000000A/0123456789abcdef\n",
		  0, 8 },
		{ "trailing garbage", VALID "x\n", 0, 12 },
		{ "trailing garbage, no newline", VALID "x", 0, 12 },
		{ "trailing empty line", VALID "\n", 0, 12 },
		{ "trailing NUL", VALID "\0", sizeof(VALID "\0") - 1, 12 },
		{ "leading empty line", "\n" VALID, 0, 1 },
	};
	cw_manifest m;
	char want[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const bad_case *c = &cases[i];
		size_t len = c->len ? c->len : strlen(c->text);
		int rc;

		memset(&m, 0xa5, sizeof(m));
		rc = cw_manifest_parse(&m, c->text, len);
		snprintf(want, sizeof(want), "manifest line %u:", c->line);
		if (rc != CW_EINVALID || !all_zero(&m, sizeof(m)) || strstr(cw_error_last(), want) == NULL ||
		    strchr(cw_error_last(), '\n') != NULL) {
			char msg[700];

			snprintf(msg, sizeof(msg), "%s: got %d, message \"%s\", want \"%s\"", c->why, rc,
			         cw_error_last(), want);
			cw_test_fail(__FILE__, __LINE__, "cases[i] refused", msg);
		}
		cw_manifest_dispose(&m);
	}
	/* a NULL text */
	CHECK_CODE(cw_manifest_parse(&m, NULL, 0), CW_EINVALID);
	CHECK_CODE(cw_manifest_parse(&m, NULL, 5), CW_EINVALID);
	CHECK(all_zero(&m, sizeof(m)));
}

/* Every prefix of a valid text but the whole is refused. */
static void test_truncations(void)
{
	static const char text[] = VALID;
	cw_manifest m;
	size_t n;

	for (n = 0; n < sizeof(text) - 1; n++) {
		/* The end of a complete line before the refs is still a valid manifest. */
		int whole = n == strlen(HEAD FIELDS) || n == strlen(HEAD FIELDS REF_A) ||
		            n == strlen(HEAD FIELDS REF_A REF_R) ||
		            n == strlen(HEAD FIELDS REF_A REF_R HAVE_B);
		int rc = cw_manifest_parse(&m, text, n);

		if (whole)
			CHECK(rc == CW_OK);
		else
			CHECK(rc == CW_EINVALID && all_zero(&m, sizeof(m)));
		cw_manifest_dispose(&m);
	}
}

/* ---- limits --------------------------------------------------------------- */

static void test_limits(void)
{
	cw_buf b = CW_BUF_INIT;
	cw_manifest m;
	cw_bundle_ref r;
	char *big = NULL;
	size_t last = 0;
	unsigned i;
	int ok = 1;

	/* CW_MANIFEST_MAX_REFS ref lines are fine, one more is not */
	ok = cw_buf_put(&b, HEAD FIELDS, strlen(HEAD FIELDS)) == CW_OK;
	for (i = 0; ok && i <= CW_MANIFEST_MAX_REFS; i++) {
		char line[160];
		int n;

		case_ref(&r, i, FROM_ID);
		n = snprintf(line, sizeof(line), "ref %s %s\n", r.oid, r.name);
		last = b.len;
		ok = n > 0 && cw_buf_put(&b, line, (size_t)n) == CW_OK;
	}
	CHECK(ok);
	if (ok) {
		CHECK_CODE(cw_manifest_parse(&m, (const char *)b.data, b.len), CW_EINVALID);
		CHECK(strstr(cw_error_last(), "manifest line 100008:") != NULL);
		CHECK(all_zero(&m, sizeof(m)));
		CHECK_OK(cw_manifest_parse(&m, (const char *)b.data, last));
		CHECK(m.nrefs == CW_MANIFEST_MAX_REFS && m.nhave == 0);
		case_ref(&r, CW_MANIFEST_MAX_REFS - 1, FROM_ID);
		if (m.nrefs == CW_MANIFEST_MAX_REFS)
			CHECK(refs_equal(&m.refs[CW_MANIFEST_MAX_REFS - 1], &r, 1));
		cw_manifest_dispose(&m);
	}
	cw_buf_dispose(&b);

	/* over 64 MiB, even when it starts well */
	big = malloc(CW_MANIFEST_MAX_BYTES + 1);
	CHECK(big != NULL);
	if (big) {
		memset(big, 'x', CW_MANIFEST_MAX_BYTES + 1);
		memcpy(big, VALID, strlen(VALID));
		CHECK_CODE(cw_manifest_parse(&m, big, CW_MANIFEST_MAX_BYTES + 1), CW_EINVALID);
		CHECK(strstr(cw_error_last(), "64 MiB") != NULL);
		CHECK(all_zero(&m, sizeof(m)));
		free(big);
	}
}

/* ---- format refusals ------------------------------------------------------ */

static void expect_refused(const cw_manifest *m, int line)
{
	cw_buf b = CW_BUF_INIT;
	int rc;

	if (cw_buf_put(&b, "x", 1) != CW_OK)
		return;
	rc = cw_manifest_format(&b, m);
	if (rc != CW_EINVALID || b.len != 1 || b.data[0] != 'x') {
		char msg[64];

		snprintf(msg, sizeof(msg), "case at line %d: got %d, len %zu", line, rc, b.len);
		cw_test_fail(__FILE__, __LINE__, "format refused", msg);
	}
	cw_buf_dispose(&b);
}

#define REFUSED(m) expect_refused(&(m), __LINE__)

static void test_format_refuses(void)
{
	cw_bundle_ref refs[2], have[2];
	cw_manifest m;
	cw_buf b = CW_BUF_INIT;

	case_ref(&refs[0], 1, FROM_ID);
	case_ref(&refs[1], 2, FROM_ID);
	case_ref(&have[0], 3, TO_ID);
	case_ref(&have[1], 4, TO_ID);

	base(&m);
	m.from[3] = 'A';
	REFUSED(m);
	base(&m);
	m.to[15] = '\0';
	REFUSED(m);
	base(&m);
	memset(m.from, 'a', sizeof(m.from)); /* not NUL-terminated */
	REFUSED(m);
	base(&m);
	m.from[0] = 'g';
	REFUSED(m);
	base(&m);
	memcpy(m.to, m.from, sizeof(m.to));
	REFUSED(m);
	base(&m);
	m.seq = 0;
	REFUSED(m);
	base(&m);
	m.seq = (uint64_t)INT64_MAX + 1;
	REFUSED(m);
	base(&m);
	m.part = 0;
	REFUSED(m);
	base(&m);
	m.part = 4;
	REFUSED(m);
	base(&m);
	m.part = m.parts = CW_MANIFEST_MAX_PARTS + 1;
	REFUSED(m);
	base(&m);
	m.parts = 0;
	REFUSED(m);
	base(&m);
	m.time = -1;
	REFUSED(m);
	base(&m);
	m.time = CW_MANIFEST_TIME_END;
	REFUSED(m);
	base(&m);
	m.time = INT64_MIN;
	REFUSED(m);

	/* refs: unsorted, duplicate, bad names and ids, missing, too many */
	base(&m);
	m.nrefs = 2;
	m.refs = refs;
	m.nhave = 2;
	m.have = have;
	CHECK_OK(cw_manifest_format(&b, &m)); /* the good one */
	m.refs = (cw_bundle_ref[]){ refs[1], refs[0] };
	REFUSED(m);
	m.refs = (cw_bundle_ref[]){ refs[0], refs[0] };
	REFUSED(m);
	m.refs = refs;
	m.have = (cw_bundle_ref[]){ have[1], have[0] };
	REFUSED(m);
	m.have = (cw_bundle_ref[]){ have[0], have[0] };
	REFUSED(m);
	m.have = have;
	snprintf(refs[1].name, sizeof(refs[1].name), "refs/heads/main");
	REFUSED(m);
	snprintf(refs[1].name, sizeof(refs[1].name), "refs/cw/case/0000000000000000000000000000001/%s",
	         FROM_ID);
	REFUSED(m);
	memset(refs[1].name, 'r', sizeof(refs[1].name)); /* not NUL-terminated */
	REFUSED(m);
	snprintf(refs[1].name, sizeof(refs[1].name), "%s", ROSTER);
	CHECK_OK(cw_manifest_format(&b, &m));
	refs[1].oid[0] = 'A';
	REFUSED(m);
	refs[1].oid[0] = '0';
	refs[1].oid[39] = '\0';
	REFUSED(m);
	memset(refs[1].oid, '0', sizeof(refs[1].oid)); /* not NUL-terminated */
	REFUSED(m);
	refs[1].oid[40] = '\0';
	CHECK_OK(cw_manifest_format(&b, &m));
	m.refs = NULL;
	REFUSED(m);
	m.refs = refs;
	m.nrefs = CW_MANIFEST_MAX_REFS + 1;
	REFUSED(m);
	m.nrefs = 2;
	m.nhave = (size_t)-1;
	REFUSED(m);
	m.nhave = 2;

	/* the buffer's cap reached: out left as it was */
	cw_buf_dispose(&b);
	b.cap = 100;
	CHECK_OK(cw_buf_put(&b, "y", 1));
	CHECK_CODE(cw_manifest_format(&b, &m), CW_EINVALID);
	CHECK(b.len == 1 && b.data[0] == 'y');
	cw_buf_dispose(&b);
}

static void test_dispose(void)
{
	cw_manifest m;

	cw_manifest_dispose(NULL);
	memset(&m, 0, sizeof(m));
	cw_manifest_dispose(&m);
	CHECK_OK(cw_manifest_parse(&m, VALID, strlen(VALID)));
	cw_manifest_dispose(&m);
	CHECK(all_zero(&m, sizeof(m)));
	cw_manifest_dispose(&m);
	CHECK(all_zero(&m, sizeof(m)));
}

const cw_test cw_tests[] = {
	{ "ref_valid", test_ref_valid },
	{ "round_trip_shapes", test_round_trip_shapes },
	{ "golden", test_golden },
	{ "parse_refuses", test_parse_refuses },
	{ "truncations", test_truncations },
	{ "limits", test_limits },
	{ "format_refuses", test_format_refuses },
	{ "dispose", test_dispose },
	CW_TESTS_END,
};
