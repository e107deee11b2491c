/* tests/node/test_check.c - journey and itinerary warnings over hand-made
 * case views (no store). */
#include "harness.h"
#include "node/check.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/when.h"

#include <stdarg.h>
#include <stdlib.h>

#define MAXE 64
#define MAXF 16

/* A case view built by hand: entities in the order added, fields sorted. */
typedef struct {
	cw_case_view v;
	cw_view_entity e[MAXE];
	cw_view_field f[MAXE][MAXF];
} tcase;

static tcase T;
static cw_check_settings S;
static int64_t NOW; /* 2026-03-10T12:00:00Z */

static int64_t at(const char *instant)
{
	int64_t t = 0;
	int off;

	if (cw_when_instant(&t, &off, instant) < 0)
		cw_test_fail(__FILE__, __LINE__, instant, "bad instant in the test");
	return t;
}

/* Set (or add) a field, keeping the fields sorted by name. */
static void tc_set(cw_view_entity *e, const char *name, const char *value)
{
	size_t i, n;

	for (i = 0; i < e->nfields; i++)
		if (strcmp(e->fields[i].name, name) == 0) {
			e->fields[i].value = value;
			return;
		}
	if (e->nfields == MAXF) {
		cw_test_fail(__FILE__, __LINE__, name, "too many fields");
		return;
	}
	for (i = 0; i < e->nfields && strcmp(e->fields[i].name, name) < 0; i++)
		;
	for (n = e->nfields; n > i; n--)
		e->fields[n] = e->fields[n - 1];
	memset(&e->fields[i], 0, sizeof(e->fields[i]));
	e->fields[i].name = name;
	e->fields[i].value = value;
	e->nfields++;
}

static void tc_unset(cw_view_entity *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->nfields; i++)
		if (strcmp(e->fields[i].name, name) == 0) {
			memmove(&e->fields[i], &e->fields[i + 1],
			        (e->nfields - i - 1) * sizeof(e->fields[0]));
			e->nfields--;
			return;
		}
}

/* Add an entity of kind with (name, value) pairs ending in NULL. Its id
 * is the kind and its position; it was created at NOW - 30 days + its
 * position in seconds. */
static cw_view_entity *tc_add(cw_kind kind, ...)
{
	cw_view_entity *e;
	const char *name;
	va_list ap;
	size_t i = T.v.nentities;

	if (i == MAXE) {
		cw_test_fail(__FILE__, __LINE__, "tc_add", "too many entities");
		exit(2);
	}
	e = &T.e[i];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->fields = T.f[i];
	e->id[0] = (uint8_t)kind;
	e->id[15] = (uint8_t)i;
	snprintf(e->hex, sizeof(e->hex), "%02x0000000000000000000000000000%02x", (unsigned)kind, (unsigned)i);
	e->created_hlc = (uint64_t)((NOW - 30 * 86400 + (int64_t)i) * 1000) << 16;
	va_start(ap, kind);
	while ((name = va_arg(ap, const char *)) != NULL)
		tc_set(e, name, va_arg(ap, const char *));
	va_end(ap);
	T.v.nentities++;
	return e;
}

static void set_created(cw_view_entity *e, int64_t when)
{
	e->created_hlc = (uint64_t)(when * 1000) << 16;
}

/* An empty case with only its own entity. */
static cw_view_entity *empty_case(void)
{
	memset(&T, 0, sizeof(T));
	NOW = at("2026-03-10T12:00:00Z");
	cw_check_defaults(&S, NOW);
	T.v.entities = T.e;
	T.v.self = tc_add(CW_KIND_CASE, "name", "Amira Haddad", "stage", "inquiry", NULL);
	memcpy(T.v.hex, T.v.self->hex, sizeof(T.v.hex));
	return T.v.self;
}

/* Handles on the base case's items. */
static cw_view_entity *B_case, *B_out, *B_ret, *B_stay, *B_consult, *B_surgery, *B_followup, *B_proc, *B_visa,
    *B_est, *B_chg, *B_task, *B_note;

/* A well-planned case: no warnings. Lands 2026-03-14 14:40 (+03:00),
 * surgery 2026-03-16, 7 days of recovery, follow-up 2026-03-23, flies home
 * 2026-03-26 09:00 (+03:00). */
static void base_case(void)
{
	B_case = empty_case();
	tc_set(B_case, "stage", "booked");
	tc_set(B_case, "consent", "signed");
	tc_set(B_case, "recovery_days", "7");
	tc_set(B_case, "interpreter", "no");
	tc_set(B_case, "passport_expiry", "2030-01-01");
	B_proc = tc_add(CW_KIND_PROCEDURE, "name", "Rhinoplasty", "date", "2026-03-16", "surgeon",
	                "Dr. Aydin", NULL);
	B_consult = tc_add(CW_KIND_APPOINTMENT, "kind", "consultation", "provider", "Dr. Aydin", "start",
	                   "2026-03-15T10:00+03:00", "end", "2026-03-15T11:00+03:00", NULL);
	B_surgery = tc_add(CW_KIND_APPOINTMENT, "kind", "surgery", "provider", "Dr. Aydin", "location",
	                   "Memorial Sisli", "start", "2026-03-16T08:00+03:00", "end",
	                   "2026-03-16T12:00+03:00", NULL);
	B_followup = tc_add(CW_KIND_APPOINTMENT, "kind", "follow-up", "provider", "Dr. Aydin", "start",
	                    "2026-03-23T10:00+03:00", NULL);
	B_out = tc_add(CW_KIND_FLIGHT, "number", "TK1588", "from", "FRA", "to", "IST", "depart",
	               "2026-03-14T10:00+01:00", "arrive", "2026-03-14T14:40+03:00", "direction", "outbound",
	               NULL);
	B_ret = tc_add(CW_KIND_FLIGHT, "number", "TK1980", "from", "IST", "to", "FRA", "depart",
	               "2026-03-26T09:00+03:00", "arrive", "2026-03-26T11:00+01:00", "direction", "return",
	               NULL);
	B_stay = tc_add(CW_KIND_STAY, "hotel", "Hotel Pera", "check_in", "2026-03-14", "check_out",
	                "2026-03-26", NULL);
	B_visa = tc_add(CW_KIND_VISA, "type", "medical", "valid_to", "2026-04-10", "status", "granted", NULL);
	B_est = tc_add(CW_KIND_COST, "type", "estimate", "amount", "5000.00", "currency", "EUR", NULL);
	B_chg = tc_add(CW_KIND_COST, "type", "charge", "amount", "5200.00", "currency", "EUR", NULL);
	tc_add(CW_KIND_COST, "type", "payment", "amount", "9000.00", "currency", "EUR", NULL);
	B_note = tc_add(CW_KIND_NOTE, "channel", "call", "text", "Confirmed the dates.", NULL);
	set_created(B_note, NOW - 2 * 86400);
	B_task = tc_add(CW_KIND_TASK, "text", "Send flight details to the family", "due", "2026-03-12",
	                "done", "no", NULL);
}

/* --- running the checks -------------------------------------------------- */

static cw_warning *W;
static size_t NW;

static void run(void)
{
	size_t i;

	free(W);
	W = NULL;
	NW = 0;
	CHECK_OK(cw_check_case(&W, &NW, &T.v, &S));
	for (i = 0; i < NW; i++) {
		CHECK(cw_utf8_valid((const uint8_t *)W[i].message, strlen(W[i].message), 0));
		if (getenv("CW_CHECK_SHOW"))
			printf("  # %s: %s\n", W[i].rule, W[i].message);
	}
}

static size_t count(const char *rule)
{
	size_t i, n = 0;

	for (i = 0; i < NW; i++)
		n += strcmp(W[i].rule, rule) == 0;
	return n;
}

static const cw_warning *find(const char *rule)
{
	size_t i;

	for (i = 0; i < NW; i++)
		if (strcmp(W[i].rule, rule) == 0)
			return &W[i];
	return NULL;
}

static int has_item(const cw_warning *w, const cw_view_entity *e)
{
	size_t i;

	for (i = 0; w && i < w->nitems; i++)
		if (strcmp(w->items[i], e->hex) == 0)
			return 1;
	return 0;
}

static int says(const cw_warning *w, const char *text)
{
	if (w && strstr(w->message, text))
		return 1;
	fprintf(stderr, "  message: %s\n  lacks:   %s\n", w ? w->message : "(no warning)", text);
	return 0;
}

static void done(void)
{
	free(W);
	W = NULL;
	NW = 0;
}

/* --- the tests ------------------------------------------------------------ */

static void test_clean_case(void)
{
	base_case();
	run();
	CHECK(NW == 0);
	CHECK(W == NULL);
	empty_case();
	run();
	CHECK(NW == 0);
	done();
}

static void test_bad_arguments(void)
{
	cw_warning *w = (cw_warning *)&T;
	size_t n = 99;

	base_case();
	CHECK_CODE(cw_check_case(NULL, &n, &T.v, &S), CW_EINVALID);
	CHECK_CODE(cw_check_case(&w, NULL, &T.v, &S), CW_EINVALID);
	CHECK_CODE(cw_check_case(&w, &n, NULL, &S), CW_EINVALID);
	CHECK_CODE(cw_check_case(&w, &n, &T.v, NULL), CW_EINVALID);
	CHECK(w == (cw_warning *)&T && n == 99);
}

static void test_defaults(void)
{
	cw_check_settings s;

	cw_check_defaults(&s, 1234);
	CHECK(s.now == 1234 && s.cost_tolerance_pct == 10 && s.contact_days == 7);
}

static void test_surgery_before_arrival(void)
{
	const cw_warning *w;
	cw_view_entity *p, *a;

	base_case();
	p = tc_add(CW_KIND_PROCEDURE, "name", "Dental implant", "date", "2026-03-13", NULL);
	run();
	CHECK(count("surgery-before-arrival") == 1);
	w = find("surgery-before-arrival");
	CHECK(has_item(w, p) && has_item(w, B_out) && w->nitems == 2);
	CHECK(says(w, "The procedure \"Dental implant\" on 2026-03-13 is before the patient lands: "
	              "flight TK1588 arrives 2026-03-14 14:40 (+03:00)."));

	/* a surgery on the day of arrival but before landing, by the instant */
	tc_set(p, "date", "2026-03-14");
	a = tc_add(CW_KIND_APPOINTMENT, "kind", "surgery", "location", "Memorial Sisli", "start",
	           "2026-03-14T13:00+03:00", NULL);
	run();
	CHECK(count("surgery-before-arrival") == 1); /* the date-only one is the same day */
	CHECK(has_item(find("surgery-before-arrival"), a));
	CHECK(says(find("surgery-before-arrival"),
	           "The surgery at Memorial Sisli on 2026-03-14 13:00 (+03:00)"));

	/* cancelled, removed, after landing: silent */
	tc_set(a, "status", "cancelled");
	run();
	CHECK(count("surgery-before-arrival") == 0);
	tc_set(a, "status", "confirmed");
	a->removed = 1;
	run();
	CHECK(count("surgery-before-arrival") == 0);
	a->removed = 0;
	tc_set(a, "start", "2026-03-14T15:00+03:00");
	run();
	CHECK(count("surgery-before-arrival") == 0);

	/* no directions: the earliest-departing flight is the arrival */
	base_case();
	tc_set(B_out, "direction", "other"); /* ignored */
	tc_add(CW_KIND_FLIGHT, "number", "LH1300", "depart", "2026-03-15T07:00+01:00", "arrive",
	       "2026-03-15T11:00+03:00", NULL);
	tc_set(B_ret, "direction", "other");
	tc_add(CW_KIND_FLIGHT, "number", "LH1301", "depart", "2026-03-26T12:00+03:00", "arrive",
	       "2026-03-26T14:00+01:00", NULL);
	run();
	CHECK(count("surgery-before-arrival") == 0);
	tc_set(B_surgery, "start", "2026-03-15T10:00+03:00");
	tc_set(B_surgery, "end", "2026-03-15T10:30+03:00");
	tc_set(B_consult, "start", "2026-03-15T12:00+03:00");
	tc_set(B_consult, "end", "2026-03-15T13:00+03:00");
	run();
	CHECK(count("surgery-before-arrival") == 1);
	CHECK(says(find("surgery-before-arrival"), "flight LH1300 arrives 2026-03-15 11:00 (+03:00)"));
	done();
}

static void test_overlapping_appointments(void)
{
	const cw_warning *w;
	cw_view_entity *d;

	base_case();
	d = tc_add(CW_KIND_APPOINTMENT, "kind", "diagnostic", "location", "Lab 2", "start",
	           "2026-03-15T10:30+03:00", NULL);
	run();
	CHECK(count("overlapping-appointments") == 1);
	w = find("overlapping-appointments");
	CHECK(w && w->nitems == 2 && strcmp(w->items[0], B_consult->hex) == 0 &&
	      strcmp(w->items[1], d->hex) == 0);
	CHECK(says(w, "The consultation with Dr. Aydin (2026-03-15 10:00-11:00 (+03:00)) overlaps "
	              "the diagnostic appointment at Lab 2 (2026-03-15 10:30-11:30 (+03:00), no end "
	              "set, 1 hour assumed)."));

	/* back to back is fine */
	tc_set(d, "start", "2026-03-15T11:00+03:00");
	run();
	CHECK(count("overlapping-appointments") == 0);
	/* the same instant written in another offset */
	tc_set(d, "start", "2026-03-15T08:30+01:00");
	run();
	CHECK(count("overlapping-appointments") == 1);
	CHECK(
	    says(find("overlapping-appointments"), "at Lab 2 (2026-03-15 08:30-09:30 (+01:00), no end set"));
	/* across midnight */
	tc_set(d, "start", "2026-03-15T23:30+03:00");
	tc_set(d, "end", "2026-03-16T00:30+03:00");
	tc_set(B_consult, "start", "2026-03-15T23:45+03:00");
	tc_set(B_consult, "end", "2026-03-16T00:15+03:00");
	run();
	CHECK(says(find("overlapping-appointments"),
	           "(2026-03-15 23:30 (+03:00) to 2026-03-16 00:30 (+03:00))"));
	tc_set(B_consult, "start", "2026-03-15T10:00+03:00");
	tc_set(B_consult, "end", "2026-03-15T11:00+03:00");
	tc_unset(d, "end");
	/* a missing end is one hour: 09:30 runs into 10:00, 08:59 does not */
	tc_set(d, "start", "2026-03-15T09:30+03:00");
	run();
	CHECK(count("overlapping-appointments") == 1);
	tc_set(d, "start", "2026-03-15T08:59+03:00");
	run();
	CHECK(count("overlapping-appointments") == 0);
	/* an end before the start counts as missing */
	tc_set(d, "start", "2026-03-15T09:30+03:00");
	tc_set(d, "end", "2026-03-15T09:00+03:00");
	run();
	CHECK(count("overlapping-appointments") == 1);
	/* cancelled or removed: ignored */
	tc_set(d, "status", "cancelled");
	run();
	CHECK(count("overlapping-appointments") == 0);
	tc_set(d, "status", "planned");
	d->removed = 1;
	run();
	CHECK(count("overlapping-appointments") == 0);
	done();
}

static void test_flight_in_recovery(void)
{
	const cw_warning *w;

	base_case();
	tc_set(B_case, "recovery_days", "14");
	run();
	CHECK(count("flight-in-recovery") == 1);
	w = find("flight-in-recovery");
	CHECK(has_item(w, B_ret) && has_item(w, B_surgery));
	CHECK(says(w, "Flight TK1980 home leaves 2026-03-26 09:00 (+03:00), 10 days after the "
	              "surgery with Dr. Aydin on 2026-03-16 08:00 (+03:00); the case asks for 14 "
	              "days of recovery before flying, so not before 2026-03-30 08:00 (+03:00)."));

	/* the window is met exactly */
	tc_set(B_case, "recovery_days", "10");
	tc_set(B_surgery, "start", "2026-03-16T09:00+03:00");
	run();
	CHECK(count("flight-in-recovery") == 0);
	tc_set(B_surgery, "start", "2026-03-16T09:01+03:00");
	run();
	CHECK(count("flight-in-recovery") == 1);

	/* unset or unusable recovery: no check */
	tc_set(B_case, "recovery_days", "lots");
	run();
	CHECK(count("flight-in-recovery") == 0);

	/* a date-only procedure, the last surgery; undirected flights */
	base_case();
	B_surgery->removed = 1;
	tc_set(B_proc, "date", "2026-03-20");
	tc_unset(B_out, "direction");
	tc_unset(B_ret, "direction");
	run();
	CHECK(count("flight-in-recovery") == 1);
	CHECK(says(find("flight-in-recovery"),
	           "6 days after the procedure \"Rhinoplasty\" on 2026-03-20; the case asks for 7 "
	           "days of recovery before flying, so not before 2026-03-27."));
	tc_set(B_proc, "date", "2026-03-19");
	run();
	CHECK(count("flight-in-recovery") == 0);
	/* one flight alone is the arrival, not the flight home */
	B_ret->removed = 1;
	tc_set(B_proc, "date", "2026-03-25");
	run();
	CHECK(count("flight-in-recovery") == 0);
	done();
}

static void test_flight_before_follow_up(void)
{
	const cw_warning *w;
	cw_view_entity *f;

	base_case();
	f = tc_add(CW_KIND_APPOINTMENT, "kind", "follow-up", "provider", "Dr. Aydin", "start",
	           "2026-03-27T10:00+03:00", NULL);
	run();
	CHECK(count("flight-before-follow-up") == 1);
	w = find("flight-before-follow-up");
	CHECK(has_item(w, B_ret) && has_item(w, f));
	CHECK(says(w, "Flight TK1980 home leaves 2026-03-26 09:00 (+03:00), before the follow-up "
	              "with Dr. Aydin on 2026-03-27 10:00 (+03:00)."));
	tc_set(f, "status", "cancelled");
	run();
	CHECK(count("flight-before-follow-up") == 0);
	tc_set(f, "status", "planned");
	tc_set(f, "start", "2026-03-26T08:00+03:00");
	run();
	CHECK(count("flight-before-follow-up") == 0);
	done();
}

static void test_checkout_before_flight(void)
{
	const cw_warning *w;
	cw_view_entity *s2;

	base_case();
	tc_set(B_stay, "check_out", "2026-03-24");
	run();
	CHECK(count("checkout-before-flight") == 1);
	w = find("checkout-before-flight");
	CHECK(has_item(w, B_stay) && has_item(w, B_ret));
	CHECK(says(w, "Check-out from Hotel Pera is on 2026-03-24, but flight TK1980 home leaves "
	              "on 2026-03-26 (2 nights without a stay)."));

	/* two hotels, one after the other: fine */
	s2 = tc_add(CW_KIND_STAY, "hotel", "Recovery Suites", "check_in", "2026-03-24", "check_out",
	            "2026-03-26", NULL);
	run();
	CHECK(count("checkout-before-flight") == 0);
	CHECK(count("stay-gap") == 0);
	/* the local date of departure counts, not the UTC one: 00:30 (+03:00)
	 * on the 27th is still the 26th in UTC */
	tc_set(B_ret, "depart", "2026-03-27T00:30+03:00");
	run();
	CHECK(count("checkout-before-flight") == 1);
	(void)s2;
	done();
}

static void test_stay_gap(void)
{
	const cw_warning *w;

	base_case();
	tc_set(B_stay, "check_out", "2026-03-18");
	tc_add(CW_KIND_STAY, "hotel", "Recovery Suites", "check_in", "2026-03-20", "check_out", "2026-03-26",
	       NULL);
	run();
	CHECK(count("stay-gap") == 1);
	CHECK(count("checkout-before-flight") == 0);
	w = find("stay-gap");
	CHECK(has_item(w, B_out) && has_item(w, B_ret));
	CHECK(says(w, "No stay is booked for the 2 nights from 2026-03-18 to 2026-03-20, between "
	              "arrival on 2026-03-14 and flight TK1980 home on 2026-03-26."));

	/* the first night missing */
	base_case();
	tc_set(B_stay, "check_in", "2026-03-15");
	run();
	CHECK(count("stay-gap") == 1);
	CHECK(says(find("stay-gap"), "for the night of 2026-03-14, between"));
	/* overlapping stays cover */
	tc_add(CW_KIND_STAY, "hotel", "Airport Inn", "check_in", "2026-03-13", "check_out", "2026-03-16",
	       NULL);
	run();
	CHECK(count("stay-gap") == 0);
	/* no stay at all */
	base_case();
	B_stay->removed = 1;
	run();
	CHECK(count("stay-gap") == 1);
	CHECK(says(find("stay-gap"), "the 12 nights from 2026-03-14 to 2026-03-26,"));
	done();
}

static void test_visa_expires(void)
{
	const cw_warning *w;

	base_case();
	tc_set(B_visa, "valid_to", "2026-03-25");
	run();
	CHECK(count("visa-expires") == 1);
	w = find("visa-expires");
	CHECK(has_item(w, B_visa) && has_item(w, B_ret));
	CHECK(says(w, "The medical visa is valid until 2026-03-25, but flight TK1980 home leaves on "
	              "2026-03-26."));
	tc_set(B_visa, "valid_to", "2026-03-26");
	run();
	CHECK(count("visa-expires") == 0);
	/* a later visa (an extension) covers */
	tc_set(B_visa, "valid_to", "2026-03-20");
	tc_add(CW_KIND_VISA, "valid_to", "2026-04-30", "status", "granted", NULL);
	run();
	CHECK(count("visa-expires") == 0);

	/* no flight home: the last appointment */
	base_case();
	B_ret->removed = 1;
	tc_set(B_visa, "valid_to", "2026-03-22");
	run();
	CHECK(count("visa-expires") == 1);
	CHECK(has_item(find("visa-expires"), B_followup));
	CHECK(says(find("visa-expires"), "but the follow-up with Dr. Aydin is on 2026-03-23"));
	tc_set(B_visa, "status", "not-needed");
	run();
	CHECK(count("visa-expires") == 0);
	done();
}

static void test_passport_expires(void)
{
	const cw_warning *w;

	base_case();
	tc_set(B_case, "passport_expiry", "2026-09-25");
	run();
	CHECK(count("passport-expires") == 1);
	w = find("passport-expires");
	CHECK(has_item(w, B_case) && has_item(w, B_ret));
	CHECK(says(w, "The passport expires on 2026-09-25, less than 6 months after flight TK1980 "
	              "home on 2026-03-26; many countries and airlines want it valid until at "
	              "least 2026-09-26."));
	tc_set(B_case, "passport_expiry", "2026-09-26");
	run();
	CHECK(count("passport-expires") == 0);

	/* no flight home: six months from today (2026-03-10) */
	B_ret->removed = 1;
	tc_set(B_case, "passport_expiry", "2026-09-09");
	run();
	CHECK(count("passport-expires") == 1);
	CHECK(says(find("passport-expires"), "less than 6 months from today (2026-03-10)"));
	tc_set(B_case, "passport_expiry", "2026-09-10");
	run();
	CHECK(count("passport-expires") == 0);

	/* month ends: 2026-08-31 + 6 months is 2027-02-28 */
	NOW = at("2026-08-31T12:00:00Z");
	cw_check_defaults(&S, NOW);
	tc_set(B_case, "passport_expiry", "2027-02-27");
	tc_set(B_task, "done", "yes");
	run();
	CHECK(count("passport-expires") == 1);
	CHECK(says(find("passport-expires"), "until at least 2027-02-28"));
	tc_set(B_case, "passport_expiry", "2027-02-28");
	run();
	CHECK(count("passport-expires") == 0);
	done();
}

static void test_surgery_without_consent(void)
{
	const cw_warning *w;

	base_case();
	tc_set(B_case, "consent", "requested");
	run();
	CHECK(count("surgery-without-consent") == 1);
	w = find("surgery-without-consent");
	CHECK(has_item(w, B_case) && has_item(w, B_proc) && has_item(w, B_surgery));
	CHECK(says(w, "Surgery is planned (the procedure \"Rhinoplasty\" on 2026-03-16 and more) but "
	              "consent is \"requested\", not signed."));

	/* no surgery: nothing to consent to */
	B_proc->removed = 1;
	tc_set(B_surgery, "status", "cancelled");
	run();
	CHECK(count("surgery-without-consent") == 0);
	tc_set(B_surgery, "status", "confirmed");
	run();
	CHECK(says(find("surgery-without-consent"), "the surgery with Dr. Aydin on 2026-03-16 08:00"));
	tc_set(B_case, "consent", "signed");
	run();
	CHECK(count("surgery-without-consent") == 0);
	/* consent never recorded */
	B_case->nfields = 0;
	tc_set(B_case, "name", "Amira Haddad");
	run();
	CHECK(says(find("surgery-without-consent"), "but no consent is recorded."));
	done();
}

static void test_interpreter_not_booked(void)
{
	cw_view_entity *t, *a;

	base_case();
	tc_set(B_case, "interpreter", "yes");
	tc_set(B_case, "languages", "Arabic, French");
	run();
	CHECK(count("interpreter-not-booked") == 1);
	CHECK(has_item(find("interpreter-not-booked"), B_case));
	CHECK(says(find("interpreter-not-booked"),
	           "The patient needs an interpreter (speaks Arabic, French) but no appointment or "
	           "task mentions one"));

	t = tc_add(CW_KIND_TASK, "text", "Book an INTERPRETER for the consultation", "done", "yes", NULL);
	run();
	CHECK(count("interpreter-not-booked") == 0);
	t->removed = 1;
	a = tc_add(CW_KIND_APPOINTMENT, "kind", "consultation", "provider", "Dr. Aydin", "location",
	           "Memorial Sisli, interpreters' desk", "start", "2026-03-17T10:00+03:00", NULL);
	run();
	CHECK(count("interpreter-not-booked") == 0);
	tc_set(a, "status", "cancelled");
	run();
	CHECK(count("interpreter-not-booked") == 1);
	tc_set(B_case, "interpreter", "no");
	run();
	CHECK(count("interpreter-not-booked") == 0);
	done();
}

static void test_cost_over_estimate(void)
{
	const cw_warning *w;
	cw_view_entity *c2, *t1;

	base_case();
	c2 = tc_add(CW_KIND_COST, "type", "charge", "amount", "400.00", "currency", "EUR", "label",
	            "Extra night in hospital", NULL);
	run(); /* 5600 against 5000: 12% */
	CHECK(count("cost-over-estimate") == 1);
	w = find("cost-over-estimate");
	CHECK(has_item(w, B_chg) && has_item(w, c2) && !has_item(w, B_est));
	CHECK(says(w, "Charges in EUR come to 5600.00 EUR, 12.0% over the estimate of 5000.00 EUR "
	              "(allowed: 10%)."));

	/* the case's own tolerance, then the settings' */
	tc_set(B_case, "cost_tolerance", "15");
	run();
	CHECK(count("cost-over-estimate") == 0);
	tc_set(B_case, "cost_tolerance", "5");
	run();
	CHECK(says(find("cost-over-estimate"), "(allowed: 5% set on the case)"));
	tc_set(B_case, "cost_tolerance", "x");
	S.cost_tolerance_pct = 12;
	run();
	CHECK(count("cost-over-estimate") == 0); /* exactly at the limit */
	S.cost_tolerance_pct = 11;
	run();
	CHECK(count("cost-over-estimate") == 1);

	/* currencies are never added: a TRY charge with no TRY estimate */
	base_case();
	t1 = tc_add(CW_KIND_COST, "type", "charge", "amount", "12500.50", "currency", "TRY", NULL);
	run();
	CHECK(count("cost-over-estimate") == 1);
	CHECK(has_item(find("cost-over-estimate"), t1));
	CHECK(says(find("cost-over-estimate"), "Charges in TRY come to 12500.50 TRY, with no "
	                                       "estimate in TRY to compare them with."));
	tc_add(CW_KIND_COST, "type", "estimate", "amount", "12000", "currency", "TRY", NULL);
	run();
	CHECK(count("cost-over-estimate") == 0);
	t1->removed = 1;
	tc_add(CW_KIND_COST, "type", "charge", "amount", "not money", "currency", "TRY", NULL);
	run();
	CHECK(count("cost-over-estimate") == 0);

	/* sums that would overflow are skipped, huge ones compare exactly */
	base_case();
	tc_add(CW_KIND_COST, "type", "charge", "amount", "90000000000000000.00", "currency", "USD", NULL);
	tc_add(CW_KIND_COST, "type", "charge", "amount", "90000000000000000.00", "currency", "USD", NULL);
	tc_add(CW_KIND_COST, "type", "estimate", "amount", "1.00", "currency", "USD", NULL);
	tc_add(CW_KIND_COST, "type", "estimate", "amount", "80000000000000000.00", "currency", "GBP", NULL);
	tc_add(CW_KIND_COST, "type", "charge", "amount", "88000000000000000.00", "currency", "GBP", NULL);
	run();
	CHECK(count("cost-over-estimate") == 0);
	S.cost_tolerance_pct = 9;
	run();
	CHECK(count("cost-over-estimate") == 1);
	CHECK(says(find("cost-over-estimate"), "Charges in GBP"));
	S.cost_tolerance_pct = 2000000000;
	run();
	CHECK(count("cost-over-estimate") == 0);
	done();
}

static void test_task_overdue(void)
{
	const cw_warning *w;
	cw_view_entity *t;

	base_case();
	t = tc_add(CW_KIND_TASK, "text", "Send the lab results to Dr. Aydin", "owner", "Selin", "due",
	           "2026-03-07", NULL);
	run();
	CHECK(count("task-overdue") == 1);
	w = find("task-overdue");
	CHECK(w && w->nitems == 1 && has_item(w, t));
	CHECK(says(w, "Task \"Send the lab results to Dr. Aydin\" for Selin was due 2026-03-07 and is "
	              "not done (3 days overdue)."));
	tc_set(t, "done", "yes");
	run();
	CHECK(count("task-overdue") == 0);
	tc_set(t, "done", "no");
	tc_set(t, "due", "2026-03-10"); /* today: not yet */
	run();
	CHECK(count("task-overdue") == 0);
	tc_set(t, "due", "2026-03-10T14:30+03:00"); /* 11:30 UTC */
	run();
	CHECK(count("task-overdue") == 1);
	CHECK(says(find("task-overdue"), "was due 2026-03-10 14:30 (+03:00) and is not done (less "
	                                 "than a day overdue)"));
	tc_set(t, "due", "2026-03-10T15:30+03:00");
	run();
	CHECK(count("task-overdue") == 0);
	tc_set(t, "due", "next week");
	run();
	CHECK(count("task-overdue") == 0);
	done();
}

static void test_booked_no_contact(void)
{
	const cw_warning *w;
	cw_view_entity *n2;

	base_case();
	set_created(B_note, NOW - 10 * 86400 - 3600);
	run();
	CHECK(count("booked-no-contact") == 1);
	w = find("booked-no-contact");
	CHECK(has_item(w, B_case) && has_item(w, B_note));
	CHECK(says(w, "The case is booked and the last contact was 10 days ago (a call on "
	              "2026-02-28); get in touch at least every 7 days."));

	/* a plain note is not contact; a family update is */
	n2 = tc_add(CW_KIND_NOTE, "text", "Reminder to self", NULL);
	set_created(n2, NOW - 3600);
	run();
	CHECK(count("booked-no-contact") == 1);
	n2 = tc_add(CW_KIND_NOTE, "channel", "family", "text", "Told her brother the dates", NULL);
	set_created(n2, NOW - 3 * 86400);
	run();
	CHECK(count("booked-no-contact") == 0);
	S.contact_days = 2;
	run();
	CHECK(says(find("booked-no-contact"), "3 days ago (an update to the family on 2026-03-07)"));
	S.contact_days = 0; /* off */
	run();
	CHECK(count("booked-no-contact") == 0);

	/* no contact at all, travelling */
	base_case();
	B_note->removed = 1;
	tc_set(B_case, "stage", "travelling");
	run();
	CHECK(count("booked-no-contact") == 1);
	CHECK(says(find("booked-no-contact"), "The patient is travelling and no contact is recorded"));
	/* other stages: not this rule */
	tc_set(B_case, "stage", "in-treatment");
	run();
	CHECK(count("booked-no-contact") == 0);
	done();
}

static void test_order_and_determinism(void)
{
	cw_warning *first;
	size_t nfirst, i;

	base_case();
	tc_set(B_case, "consent", "none");
	tc_set(B_case, "recovery_days", "30");
	tc_set(B_case, "interpreter", "yes");
	tc_set(B_visa, "valid_to", "2026-03-01");
	tc_set(B_stay, "check_out", "2026-03-20");
	tc_add(CW_KIND_TASK, "text", "Call the insurer", "due", "2026-03-01", NULL);
	tc_add(CW_KIND_TASK, "text", "Pay the deposit", "due", "2026-03-02", NULL);
	tc_add(CW_KIND_APPOINTMENT, "kind", "diagnostic", "start", "2026-03-15T10:15+03:00", NULL);
	tc_add(CW_KIND_PROCEDURE, "name", "Septoplasty", "date", "2026-03-01", NULL);
	B_note->removed = 1;
	run();
	CHECK(NW >= 10);
	for (i = 1; i < NW; i++) {
		int c = strcmp(W[i - 1].rule, W[i].rule);

		CHECK(c < 0 || (c == 0 && W[i - 1].nitems > 0 && W[i].nitems > 0 &&
		                strcmp(W[i - 1].items[0], W[i].items[0]) <= 0));
	}
	first = W;
	nfirst = NW;
	W = NULL;
	run();
	CHECK(NW == nfirst && memcmp(first, W, NW * sizeof(*W)) == 0);
	free(first);
	done();
}

static void test_cap(void)
{
	static char starts[40][32];
	size_t i;

	empty_case();
	for (i = 0; i < 40; i++) {
		snprintf(starts[i], sizeof(starts[i]), "2026-03-15T10:%02u+03:00", (unsigned)i);
		tc_add(CW_KIND_APPOINTMENT, "kind", "diagnostic", "start", starts[i], NULL);
	}
	run(); /* 780 overlapping pairs */
	CHECK(NW == CW_CHECK_MAX);
	CHECK(strcmp(W[NW - 1].rule, "too-many-warnings") == 0);
	CHECK(says(&W[NW - 1], "525 more warnings were not shown"));
	CHECK(count("overlapping-appointments") == CW_CHECK_MAX - 1);
	done();
}

static void test_garbage_values(void)
{
	char longname[400];
	size_t i;

	base_case();
	tc_set(B_case, "recovery_days", "-3");
	tc_set(B_case, "passport_expiry", "2026-02-30");
	tc_set(B_case, "cost_tolerance", "");
	tc_set(B_out, "arrive", "tomorrow");
	tc_set(B_ret, "depart", "2026-03-26T09:00");
	tc_set(B_stay, "check_in", "2026-3-14");
	tc_set(B_visa, "valid_to", "");
	tc_set(B_proc, "date", "2026-13-01");
	tc_add(CW_KIND_APPOINTMENT, "kind", "weird", "start", "2026-03-15T25:00+03:00", NULL);
	tc_add(CW_KIND_APPOINTMENT, "start", "2026-03-15T10:00+03:00", NULL); /* no kind */
	tc_add(CW_KIND_COST, "type", "charge", "amount", "-5", "currency", "EUR", NULL);
	tc_add(CW_KIND_COST, "type", "charge", "amount", "5.001", NULL);
	tc_add(CW_KIND_TASK, NULL);
	tc_add(CW_KIND_NOTE, "channel", "pigeon", NULL);
	run();
	CHECK(count("overlapping-appointments") == 1); /* the one with no kind, at 10:00 */
	CHECK(says(find("overlapping-appointments"),
	           "overlaps the appointment (2026-03-15 10:00-11:00 (+03:00), no end set"));
	CHECK(count("surgery-before-arrival") + count("flight-in-recovery") +
	          count("checkout-before-flight") + count("stay-gap") + count("visa-expires") +
	          count("passport-expires") + count("cost-over-estimate") + count("task-overdue") ==
	      0);

	/* a clock at either end of time */
	base_case();
	tc_set(B_case, "passport_expiry", "2026-09-01");
	B_ret->removed = 1;
	S.now = INT64_MAX;
	run();
	CHECK(count("task-overdue") == 1 && count("booked-no-contact") == 1);
	CHECK(count("passport-expires") == 1);
	S.now = INT64_MIN;
	run();
	CHECK(count("task-overdue") == 0 && count("booked-no-contact") == 0);
	CHECK(count("passport-expires") == 0);

	/* long multi-byte names are cut at a character boundary */
	base_case();
	for (i = 0; i + 2 < sizeof(longname); i += 2)
		memcpy(longname + i, "\xc3\xbc", 2); /* ü */
	longname[i] = '\0';
	tc_set(B_consult, "provider", longname);
	tc_add(CW_KIND_APPOINTMENT, "kind", "diagnostic", "provider", longname, "location", longname, "start",
	       "2026-03-15T10:30+03:00", NULL);
	run(); /* run() checks every message is valid UTF-8 */
	CHECK(count("overlapping-appointments") == 1);
	done();
}

const cw_test cw_tests[] = { { "clean_case", test_clean_case },
	                     { "bad_arguments", test_bad_arguments },
	                     { "defaults", test_defaults },
	                     { "surgery_before_arrival", test_surgery_before_arrival },
	                     { "overlapping_appointments", test_overlapping_appointments },
	                     { "flight_in_recovery", test_flight_in_recovery },
	                     { "flight_before_follow_up", test_flight_before_follow_up },
	                     { "checkout_before_flight", test_checkout_before_flight },
	                     { "stay_gap", test_stay_gap },
	                     { "visa_expires", test_visa_expires },
	                     { "passport_expires", test_passport_expires },
	                     { "surgery_without_consent", test_surgery_without_consent },
	                     { "interpreter_not_booked", test_interpreter_not_booked },
	                     { "cost_over_estimate", test_cost_over_estimate },
	                     { "task_overdue", test_task_overdue },
	                     { "booked_no_contact", test_booked_no_contact },
	                     { "order_and_determinism", test_order_and_determinism },
	                     { "cap", test_cap },
	                     { "garbage_values", test_garbage_values },
	                     CW_TESTS_END };
