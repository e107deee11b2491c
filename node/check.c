/* node/check.c - journey and itinerary warnings over one case. */
#include "check.h"
#include "../util/error.h"
#include "../util/when.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400
#define NOW_LIMIT ((int64_t)1000000 * 366 * DAY)

/* --- collecting warnings ------------------------------------------------- */

typedef struct {
	cw_warning *w;
	size_t n, cap;
	size_t dropped; /* warnings past CW_CHECK_MAX - 1 */
	int error;
} sink;

/* Cut s (NUL-terminated) so that it does not end inside a UTF-8 sequence. */
static void utf8_trim(char *s)
{
	size_t len = strlen(s), i, need;
	unsigned char c;

	if (len == 0)
		return;
	i = len - 1;
	while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
		i--;
	c = (unsigned char)s[i];
	need = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
	if (i + need > len)
		s[i] = '\0';
}

/* Copy src into dst (cap bytes), cut at a character boundary. */
static void clip(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
	utf8_trim(dst);
}

static void add(sink *k, const char *rule, const cw_view_entity *const *items, size_t nitems, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));

static void add(sink *k, const char *rule, const cw_view_entity *const *items, size_t nitems, const char *fmt,
                ...)
{
	cw_warning *w;
	va_list ap;
	size_t i, j;

	if (k->error)
		return;
	if (k->n >= CW_CHECK_MAX - 1) {
		k->dropped++;
		return;
	}
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 16;
		cw_warning *grown;

		if (cap > CW_CHECK_MAX)
			cap = CW_CHECK_MAX;
		if ((grown = realloc(k->w, cap * sizeof(*grown))) == NULL) {
			k->error = cw_error_nomem();
			return;
		}
		k->w = grown;
		k->cap = cap;
	}
	w = &k->w[k->n++];
	memset(w, 0, sizeof(*w));
	snprintf(w->rule, sizeof(w->rule), "%s", rule);
	va_start(ap, fmt);
	vsnprintf(w->message, sizeof(w->message), fmt, ap);
	va_end(ap);
	utf8_trim(w->message);
	for (i = 0; i < nitems && w->nitems < 4; i++) {
		if (items[i] == NULL)
			continue;
		for (j = 0; j < w->nitems; j++)
			if (strcmp(w->items[j], items[i]->hex) == 0)
				break;
		if (j == w->nitems)
			clip(w->items[w->nitems++], sizeof(w->items[0]), items[i]->hex);
	}
}

static int warning_cmp(const void *a, const void *b)
{
	const cw_warning *x = a, *y = b;
	size_t i;
	int c;

	if ((c = strcmp(x->rule, y->rule)) != 0)
		return c;
	for (i = 0; i < x->nitems && i < y->nitems; i++)
		if ((c = strcmp(x->items[i], y->items[i])) != 0)
			return c;
	if (x->nitems != y->nitems)
		return x->nitems < y->nitems ? -1 : 1;
	return strcmp(x->message, y->message);
}

/* --- reading values ------------------------------------------------------ */

static const char *get(const cw_view_entity *e, const char *name)
{
	return e ? cw_view_get(e, name) : NULL;
}

static int is(const cw_view_entity *e, const char *name, const char *value)
{
	const char *s = get(e, name);

	return s != NULL && strcmp(s, value) == 0;
}

/* Live: not removed; appointments and procedures also not cancelled. */
static int live(const cw_view_entity *e, cw_kind kind)
{
	if (e->kind != kind || e->removed)
		return 0;
	if ((kind == CW_KIND_APPOINTMENT || kind == CW_KIND_PROCEDURE) && is(e, "status", "cancelled"))
		return 0;
	return 1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* A date or an instant as written. day is its local date (days since
 * 1970-01-01); for a date, utc is its midnight UTC and off 0. */
typedef struct {
	int64_t utc;
	int64_t day;
	int off;
	int is_date;
} moment;

static int moment_parse(moment *m, const char *text)
{
	if (text == NULL)
		return 0;
	if (strlen(text) == 10) {
		if (cw_when_date(&m->day, text) < 0)
			return 0;
		m->utc = m->day * DAY;
		m->off = 0;
		m->is_date = 1;
		return 1;
	}
	if (cw_when_instant(&m->utc, &m->off, text) < 0)
		return 0;
	m->day = floor_div(m->utc + (int64_t)m->off * 60, DAY);
	m->is_date = 0;
	return 1;
}

static int instant_parse(moment *m, const char *text)
{
	return text != NULL && strlen(text) != 10 && moment_parse(m, text);
}

static void day_text(char out[11], int64_t day)
{
	char buf[32];

	cw_when_utc(buf, day * DAY);
	memcpy(out, buf, 10);
	out[10] = '\0';
}

static int day_ymd(int64_t day, int *y, int *m, int *d)
{
	char buf[32];

	cw_when_utc(buf, day * DAY);
	return sscanf(buf, "%d-%d-%d", y, m, d) == 3 && *m >= 1 && *m <= 12;
}

/* "2026-03-14 09:30 (+03:00)" or "2026-03-14". */
static void moment_text(char out[40], const moment *m)
{
	if (m->is_date)
		day_text(out, m->day);
	else
		cw_when_local(out, m->utc, m->off);
}

/* Later of two moments: by local date, then by UTC. */
static int moment_after(const moment *a, const moment *b)
{
	if (a->day != b->day)
		return a->day > b->day;
	return a->utc > b->utc;
}

/* a before b: a date only by date, instants by the instant. */
static int moment_before(const moment *a, const moment *b)
{
	if (a->is_date || b->is_date)
		return a->day < b->day;
	return a->utc < b->utc;
}

static int int_field(int *out, const cw_view_entity *e, const char *name, int lo, int hi)
{
	const char *s = get(e, name);
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return 0;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		return 0;
	*out = (int)v;
	return 1;
}

/* Case-insensitive ASCII search. */
static int mentions(const char *hay, const char *needle)
{
	size_t n = strlen(needle), i;

	if (hay == NULL)
		return 0;
	for (; *hay; hay++) {
		for (i = 0; i < n; i++)
			if (tolower((unsigned char)hay[i]) != needle[i])
				break;
		if (i == n)
			return 1;
	}
	return 0;
}

static void ucfirst(char *s)
{
	if (s[0] >= 'a' && s[0] <= 'z')
		s[0] = (char)(s[0] - 'a' + 'A');
}

static const char *plural(int64_t n)
{
	return n == 1 ? "" : "s";
}

/* --- naming items -------------------------------------------------------- */

/* "flight TK1980", "flight IST-FRA" or "the flight". */
static void flight_label(char out[64], const cw_view_entity *e)
{
	const char *num = get(e, "number"), *from = get(e, "from"), *to = get(e, "to");
	char n[48];

	if (num) {
		clip(n, sizeof(n), num);
		snprintf(out, 64, "flight %s", n);
	} else if (from && to) {
		snprintf(out, 64, "flight %.3s-%.3s", from, to);
	} else {
		snprintf(out, 64, "the flight");
	}
}

/* "the surgery with Dr. Aydin", "the consultation at Memorial". */
static void appt_label(char out[200], const cw_view_entity *e)
{
	const char *kind = get(e, "kind"), *who = get(e, "provider"), *where = get(e, "location");
	const char *what = "the appointment";
	char name[120];

	if (kind == NULL)
		kind = "";
	if (strcmp(kind, "consultation") == 0)
		what = "the consultation";
	else if (strcmp(kind, "diagnostic") == 0)
		what = "the diagnostic appointment";
	else if (strcmp(kind, "surgery") == 0)
		what = "the surgery";
	else if (strcmp(kind, "follow-up") == 0)
		what = "the follow-up";
	else if (strcmp(kind, "telehealth") == 0)
		what = "the telehealth call";
	if (who || where) {
		clip(name, sizeof(name), who ? who : where);
		snprintf(out, 200, "%s %s %s", what, who ? "with" : "at", name);
	} else {
		snprintf(out, 200, "%s", what);
	}
}

/* `the procedure "Rhinoplasty"` or the appointment's label. */
static void surgery_label(char out[200], const cw_view_entity *e)
{
	char name[120];

	if (e->kind == CW_KIND_APPOINTMENT) {
		appt_label(out, e);
		return;
	}
	clip(name, sizeof(name), get(e, "name") ? get(e, "name") : "?");
	snprintf(out, 200, "the procedure \"%s\"", name);
}

/* --- the journey --------------------------------------------------------- */

typedef struct {
	const cw_view_entity *arrival; /* the flight the patient lands with */
	moment land;
	const cw_view_entity *home; /* the flight home */
	moment leave;
	char arrival_label[64];
	char home_label[64];
} journey;

static void find_flights(journey *j, const cw_case_view *v)
{
	const cw_view_entity *first = NULL, *last = NULL;
	moment m, a, fdep = { 0 }, ldep = { 0 };
	size_t i, nplain = 0;
	int any_out = 0, any_ret = 0;

	memset(j, 0, sizeof(*j));
	for (i = 0; i < v->nentities; i++) {
		const cw_view_entity *e = &v->entities[i];
		int dep_ok;

		if (!live(e, CW_KIND_FLIGHT) || is(e, "direction", "other"))
			continue;
		dep_ok = instant_parse(&m, get(e, "depart"));
		if (is(e, "direction", "outbound")) {
			any_out = 1;
			if (instant_parse(&a, get(e, "arrive")) &&
			    (j->arrival == NULL || a.utc > j->land.utc)) {
				j->arrival = e;
				j->land = a;
			}
		}
		if (is(e, "direction", "return")) {
			any_ret = 1;
			if (dep_ok && (j->home == NULL || m.utc < j->leave.utc)) {
				j->home = e;
				j->leave = m;
			}
		}
		if (!dep_ok)
			continue;
		nplain++;
		if (first == NULL || m.utc < fdep.utc) {
			first = e;
			fdep = m;
		}
		if (last == NULL || m.utc > ldep.utc) {
			last = e;
			ldep = m;
		}
	}
	if (!any_out && first && !is(first, "direction", "return") &&
	    instant_parse(&a, get(first, "arrive"))) {
		j->arrival = first;
		j->land = a;
	}
	if (!any_ret && nplain >= 2 && last && !is(last, "direction", "outbound")) {
		j->home = last;
		j->leave = ldep;
	}
	if (j->arrival)
		flight_label(j->arrival_label, j->arrival);
	if (j->home)
		flight_label(j->home_label, j->home);
}

/* When a surgery happens: an appointment's start, a procedure's date. */
static int surgery_moment(moment *m, const cw_view_entity *e)
{
	if (live(e, CW_KIND_APPOINTMENT) && is(e, "kind", "surgery"))
		return instant_parse(m, get(e, "start"));
	if (live(e, CW_KIND_PROCEDURE))
		return moment_parse(m, get(e, "date"));
	return 0;
}

/* --- the rules ----------------------------------------------------------- */

static void rule_surgery_before_arrival(sink *k, const cw_case_view *v, const journey *j)
{
	char what[200], when[40], land[40], fl[64];
	moment m;
	size_t i;

	if (j->arrival == NULL)
		return;
	moment_text(land, &j->land);
	snprintf(fl, sizeof(fl), "%s", j->arrival_label);
	for (i = 0; i < v->nentities; i++) {
		const cw_view_entity *e = &v->entities[i];
		const cw_view_entity *items[2] = { e, j->arrival };

		if (!surgery_moment(&m, e) || !moment_before(&m, &j->land))
			continue;
		surgery_label(what, e);
		ucfirst(what);
		moment_text(when, &m);
		add(k, "surgery-before-arrival", items, 2,
		    "%s on %s is before the patient lands: %s arrives %s.", what, when, fl, land);
	}
}

static int appt_span(moment *start, int64_t *end, int *assumed, const cw_view_entity *e)
{
	moment m;

	if (!live(e, CW_KIND_APPOINTMENT) || !instant_parse(start, get(e, "start")))
		return 0;
	*assumed = !instant_parse(&m, get(e, "end")) || m.utc <= start->utc;
	*end = *assumed ? start->utc + 3600 : m.utc;
	return 1;
}

/* "2026-03-15 10:00-11:00 (+03:00)", or both in full across midnight; the
 * end in the start's offset. */
static void span_text(char out[128], const moment *start, int64_t end, int assumed)
{
	char a[40], b[40];

	cw_when_local(a, start->utc, start->off);
	cw_when_local(b, end, start->off);
	if (memcmp(a, b, 10) == 0)
		snprintf(out, 128, "%.16s-%.5s%s%s", a, b + 11, a + 16,
		         assumed ? ", no end set, 1 hour assumed" : "");
	else
		snprintf(out, 128, "%s to %s%s", a, b, assumed ? ", no end set, 1 hour assumed" : "");
}

static void rule_overlapping_appointments(sink *k, const cw_case_view *v)
{
	char la[200], lb[200], ta[128], tb[128];
	moment sa, sb;
	int64_t ea, eb;
	int xa, xb;
	size_t i, n;

	for (i = 0; i < v->nentities; i++) {
		const cw_view_entity *a = &v->entities[i];

		if (!appt_span(&sa, &ea, &xa, a))
			continue;
		for (n = i + 1; n < v->nentities; n++) {
			const cw_view_entity *b = &v->entities[n];
			const cw_view_entity *items[2];
			int swap;

			if (!appt_span(&sb, &eb, &xb, b) || !(sa.utc < eb && sb.utc < ea))
				continue;
			if (k->n >= CW_CHECK_MAX - 1) { /* full: count it, skip the words */
				k->dropped++;
				continue;
			}
			swap = sb.utc < sa.utc;
			items[0] = swap ? b : a;
			items[1] = swap ? a : b;
			appt_label(la, items[0]);
			appt_label(lb, items[1]);
			ucfirst(la);
			span_text(ta, swap ? &sb : &sa, swap ? eb : ea, swap ? xb : xa);
			span_text(tb, swap ? &sa : &sb, swap ? ea : eb, swap ? xa : xb);
			add(k, "overlapping-appointments", items, 2, "%s (%s) overlaps %s (%s).", la, ta, lb,
			    tb);
		}
	}
}

/* "4 days after", "less than a day after", "before". */
static void gap_text(char out[48], int64_t secs, int by_date, int64_t days)
{
	if (by_date ? days < 0 : secs < 0)
		snprintf(out, 48, "before");
	else if (by_date && days == 0)
		snprintf(out, 48, "on the same day as");
	else if (!by_date && secs < DAY)
		snprintf(out, 48, "less than a day after");
	else {
		int64_t d = by_date ? days : secs / DAY;

		snprintf(out, 48, "%lld day%s after", (long long)d, plural(d));
	}
}

static void rule_flight_home(sink *k, const cw_case_view *v, const journey *j)
{
	const cw_view_entity *surg = NULL, *fu = NULL;
	char what[200], when[40], leave[40], fl[64], gap[48], until[40];
	moment m, last = { 0 }, fum = { 0 };
	int rd;
	size_t i;

	if (j->home == NULL)
		return;
	for (i = 0; i < v->nentities; i++) {
		const cw_view_entity *e = &v->entities[i];

		if (surgery_moment(&m, e) && (surg == NULL || moment_after(&m, &last))) {
			surg = e;
			last = m;
		}
		if (live(e, CW_KIND_APPOINTMENT) && is(e, "kind", "follow-up") &&
		    instant_parse(&m, get(e, "start")) && (fu == NULL || m.utc > fum.utc)) {
			fu = e;
			fum = m;
		}
	}
	moment_text(leave, &j->leave);
	snprintf(fl, sizeof(fl), "%s", j->home_label);
	ucfirst(fl);
	if (surg && int_field(&rd, v->self, "recovery_days", 0, 365)) {
		const cw_view_entity *items[2] = { j->home, surg };
		int by_date = last.is_date;
		int early = by_date ? j->leave.day < last.day + rd
		                    : j->leave.utc < last.utc + (int64_t)rd * DAY;

		if (early) {
			surgery_label(what, surg);
			moment_text(when, &last);
			gap_text(gap, j->leave.utc - last.utc, by_date, j->leave.day - last.day);
			if (by_date)
				day_text(until, last.day + rd);
			else
				cw_when_local(until, last.utc + (int64_t)rd * DAY, last.off);
			add(k, "flight-in-recovery", items, 2,
			    "%s home leaves %s, %s %s on %s; the case asks for %d day%s of recovery "
			    "before flying, so not before %s.",
			    fl, leave, gap, what, when, rd, plural(rd), until);
		}
	}
	if (fu && j->leave.utc < fum.utc) {
		const cw_view_entity *items[2] = { j->home, fu };

		appt_label(what, fu);
		moment_text(when, &fum);
		add(k, "flight-before-follow-up", items, 2, "%s home leaves %s, before %s on %s.", fl, leave,
		    what, when);
	}
}

static int stay_days(int64_t *in, int64_t *out, const cw_view_entity *e)
{
	const char *a = get(e, "check_in"), *b = get(e, "check_out");

	return e->kind == CW_KIND_STAY && !e->removed && a && b && cw_when_date(in, a) == 0 &&
	       cw_when_date(out, b) == 0;
}

static void stay_name(char out[120], const cw_view_entity *e)
{
	clip(out, 120, get(e, "hotel") ? get(e, "hotel") : "the hotel");
}

static void rule_stays(sink *k, const cw_case_view *v, const journey *j)
{
	const cw_view_entity *latest = NULL;
	int64_t in, out, last_out = 0, night, end, dep;
	char hotel[120], d1[11], d2[11], d3[11], fl[64];
	size_t i;
	int moved;

	if (j->home == NULL)
		return;
	dep = j->leave.day;
	for (i = 0; i < v->nentities; i++) {
		const cw_view_entity *e = &v->entities[i];

		if (stay_days(&in, &out, e) && (latest == NULL || out > last_out)) {
			latest = e;
			last_out = out;
		}
	}
	if (latest && last_out < dep) {
		const cw_view_entity *items[2] = { latest, j->home };

		stay_name(hotel, latest);
		day_text(d1, last_out);
		day_text(d2, dep);
		add(k, "checkout-before-flight", items, 2,
		    "Check-out from %s is on %s, but %s home leaves on %s (%lld night%s without a "
		    "stay).",
		    hotel, d1, j->home_label, d2, (long long)(dep - last_out), plural(dep - last_out));
	}
	if (j->arrival == NULL)
		return;
	/* walk the nights from arrival, jumping to the end of a covering stay */
	night = j->land.day;
	do {
		moved = 0;
		for (i = 0; i < v->nentities && night < dep; i++)
			if (stay_days(&in, &out, &v->entities[i]) && in <= night && night < out) {
				night = out;
				moved = 1;
			}
	} while (moved && night < dep);
	if (night >= dep)
		return;
	end = dep;
	for (i = 0; i < v->nentities; i++)
		if (stay_days(&in, &out, &v->entities[i]) && in > night && in < end && out > in)
			end = in;
	{
		const cw_view_entity *items[2] = { j->arrival, j->home };
		char nights[64];

		day_text(d1, night);
		day_text(d2, j->land.day);
		day_text(d3, dep);
		if (end - night == 1) {
			snprintf(nights, sizeof(nights), "the night of %s", d1);
		} else {
			char d4[11];

			day_text(d4, end);
			snprintf(nights, sizeof(nights), "the %lld nights from %s to %s",
			         (long long)(end - night), d1, d4);
		}
		snprintf(fl, sizeof(fl), "%s", j->home_label);
		add(k, "stay-gap", items, 2,
		    "No stay is booked for %s, between arrival on %s and %s home on %s.", nights, d2, fl, d3);
	}
}

static void rule_documents(sink *k, const cw_case_view *v, const journey *j, const cw_check_settings *s)
{
	const cw_view_entity *visa = NULL, *appt = NULL;
	int64_t to, last_to = 0, ref, exp;
	moment m, am = { 0 };
	char d1[11], d2[11], d3[11], what[200], vname[140], t[80];
	int y, mo, d;
	size_t i;
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	for (i = 0; i < v->nentities; i++) {
		const cw_view_entity *e = &v->entities[i];
		const char *vt = get(e, "valid_to");

		if (e->kind == CW_KIND_VISA && !e->removed && !is(e, "status", "not-needed") &&
		    !is(e, "status", "refused") && vt && cw_when_date(&to, vt) == 0 &&
		    (visa == NULL || to > last_to)) {
			visa = e;
			last_to = to;
		}
		if (live(e, CW_KIND_APPOINTMENT) && instant_parse(&m, get(e, "start")) &&
		    (appt == NULL || m.utc > am.utc)) {
			appt = e;
			am = m;
		}
	}
	if (visa && (j->home || appt)) {
		const cw_view_entity *items[2] = { visa, j->home ? j->home : appt };

		ref = j->home ? j->leave.day : am.day;
		if (last_to < ref) {
			day_text(d1, last_to);
			day_text(d2, ref);
			if (get(visa, "type")) {
				clip(t, sizeof(t), get(visa, "type"));
				snprintf(vname, sizeof(vname), "The %s visa", t);
			} else {
				snprintf(vname, sizeof(vname), "The visa");
			}
			if (j->home) {
				add(k, "visa-expires", items, 2,
				    "%s is valid until %s, but %s home leaves on %s.", vname, d1,
				    j->home_label, d2);
			} else {
				appt_label(what, appt);
				add(k, "visa-expires", items, 2,
				    "%s is valid until %s, but %s is on %s (no flight home is recorded).",
				    vname, d1, what, d2);
			}
		}
	}
	if (v->self && get(v->self, "passport_expiry") &&
	    cw_when_date(&exp, get(v->self, "passport_expiry")) == 0) {
		const cw_view_entity *items[2] = { v->self, j->home };

		ref = j->home ? j->leave.day : floor_div(s->now, DAY);
		if (!day_ymd(ref, &y, &mo, &d))
			return;
		mo += 6;
		if (mo > 12) {
			mo -= 12;
			y++;
		}
		if (d > mdays[mo - 1])
			d = mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : mdays[mo - 1];
		if (exp < cw_when_days(y, mo, d)) {
			day_text(d1, exp);
			day_text(d2, ref);
			day_text(d3, cw_when_days(y, mo, d));
			if (j->home)
				add(k, "passport-expires", items, 2,
				    "The passport expires on %s, less than 6 months after %s home on %s; "
				    "many countries and airlines want it valid until at least %s.",
				    d1, j->home_label, d2, d3);
			else
				add(k, "passport-expires", items, 1,
				    "The passport expires on %s, less than 6 months from today (%s); many "
				    "countries and airlines want it valid until at least %s.",
				    d1, d2, d3);
		}
	}
}

static void rule_consent(sink *k, const cw_case_view *v)
{
	const cw_view_entity *items[4] = { v->self, NULL, NULL, NULL };
	const char *consent = get(v->self, "consent");
	char what[200], when[40], c[40];
	size_t i, n = 1, count = 0;
	moment m;

	if (consent && strcmp(consent, "signed") == 0)
		return;
	for (i = 0; i < v->nentities; i++) {
		const cw_view_entity *e = &v->entities[i];

		if ((live(e, CW_KIND_APPOINTMENT) && is(e, "kind", "surgery")) ||
		    live(e, CW_KIND_PROCEDURE)) {
			count++;
			if (n < 4)
				items[n++] = e;
		}
	}
	if (count == 0)
		return;
	surgery_label(what, items[1]);
	if (surgery_moment(&m, items[1])) {
		moment_text(when, &m);
		snprintf(what + strlen(what), sizeof(what) - strlen(what), " on %s", when);
		utf8_trim(what);
	}
	if (consent)
		snprintf(c, sizeof(c), "consent is \"%s\", not signed", consent);
	else
		snprintf(c, sizeof(c), "no consent is recorded");
	add(k, "surgery-without-consent", items, n, "Surgery is planned (%s%s) but %s.", what,
	    count > 1 ? " and more" : "", c);
}

static void rule_interpreter(sink *k, const cw_case_view *v)
{
	const cw_view_entity *items[1] = { v->self };
	char langs[140];
	size_t i;

	if (!is(v->self, "interpreter", "yes"))
		return;
	for (i = 0; i < v->nentities; i++) {
		const cw_view_entity *e = &v->entities[i];

		if (live(e, CW_KIND_APPOINTMENT) && (mentions(get(e, "provider"), "interpreter") ||
		                                     mentions(get(e, "location"), "interpreter")))
			return;
		if (e->kind == CW_KIND_TASK && !e->removed && mentions(get(e, "text"), "interpreter"))
			return;
	}
	langs[0] = '\0';
	if (get(v->self, "languages")) {
		char l[120];

		clip(l, sizeof(l), get(v->self, "languages"));
		snprintf(langs, sizeof(langs), " (speaks %s)", l);
	}
	add(k, "interpreter-not-booked", items, 1,
	    "The patient needs an interpreter%s but no appointment or task mentions one; book "
	    "an interpreter and name them on the appointment or in a task.",
	    langs);
}

static int cost_of(const char **cur, int *charge, int64_t *amt, const cw_view_entity *e)
{
	const char *t = get(e, "type"), *a = get(e, "amount");

	if (e->kind != CW_KIND_COST || e->removed || t == NULL || a == NULL ||
	    (*cur = get(e, "currency")) == NULL)
		return 0;
	if (strcmp(t, "charge") == 0)
		*charge = 1;
	else if (strcmp(t, "estimate") == 0)
		*charge = 0;
	else
		return 0;
	return cw_model_money(amt, a) == 0;
}

static void money_text(char out[32], int64_t minor)
{
	snprintf(out, 32, "%lld.%02lld", (long long)(minor / 100), (long long)(minor % 100));
}

/* floor(est * pct / 100) without overflow; INT64_MAX when beyond it. */
static int64_t allowance(int64_t est, int pct)
{
	int64_t q = est / 100, part = (est % 100) * pct / 100;

	if (pct <= 0)
		return 0;
	if (q > INT64_MAX / pct)
		return INT64_MAX;
	q *= pct;
	return q > INT64_MAX - part ? INT64_MAX : q + part;
}

static void rule_costs(sink *k, const cw_case_view *v, const cw_check_settings *s)
{
	char cs[32], es[32], code[8], tolerance[64];
	int tol, from_case;
	size_t i, n;

	from_case = int_field(&tol, v->self, "cost_tolerance", 0, 1000);
	if (!from_case)
		tol = s->cost_tolerance_pct < 0 ? 0 : s->cost_tolerance_pct;
	for (i = 0; i < v->nentities; i++) {
		const cw_view_entity *items[4] = { NULL, NULL, NULL, NULL };
		const char *cur, *cur2;
		int64_t amt, est = 0, chg = 0;
		int charge, overflow = 0;
		size_t nitems = 0;

		if (!cost_of(&cur, &charge, &amt, &v->entities[i]))
			continue;
		/* the first cost of each currency sums them all */
		for (n = 0; n < i; n++)
			if (cost_of(&cur2, &charge, &amt, &v->entities[n]) && strcmp(cur, cur2) == 0)
				break;
		if (n < i)
			continue;
		for (n = i; n < v->nentities; n++) {
			int64_t *sum = &est;

			if (!cost_of(&cur2, &charge, &amt, &v->entities[n]) || strcmp(cur, cur2) != 0)
				continue;
			if (charge) {
				sum = &chg;
				if (nitems < 4)
					items[nitems++] = &v->entities[n];
			}
			if (amt > INT64_MAX - *sum)
				overflow = 1;
			else
				*sum += amt;
		}
		if (overflow || chg <= est)
			continue;
		if (chg - est <= allowance(est, tol))
			continue;
		clip(code, sizeof(code), cur);
		money_text(cs, chg);
		snprintf(tolerance, sizeof(tolerance), "%d%%%s", tol, from_case ? " set on the case" : "");
		if (est == 0) {
			add(k, "cost-over-estimate", items, nitems,
			    "Charges in %s come to %s %s, with no estimate in %s to compare them with.", code,
			    cs, code, code);
		} else {
			money_text(es, est);
			add(k, "cost-over-estimate", items, nitems,
			    "Charges in %s come to %s %s, %.1f%% over the estimate of %s %s (allowed: "
			    "%s).",
			    code, cs, code, (double)(chg - est) * 100.0 / (double)est, es, code, tolerance);
		}
	}
}

static void rule_tasks(sink *k, const cw_case_view *v, const cw_check_settings *s)
{
	char text[160], owner[100], when[40], late[48];
	moment m;
	size_t i;
	int64_t today = floor_div(s->now, DAY);

	for (i = 0; i < v->nentities; i++) {
		const cw_view_entity *e = &v->entities[i];
		const cw_view_entity *items[1] = { e };
		int64_t days;

		if (e->kind != CW_KIND_TASK || e->removed || is(e, "done", "yes") ||
		    !moment_parse(&m, get(e, "due")))
			continue;
		if (m.is_date ? m.day >= today : m.utc >= s->now)
			continue;
		days = m.is_date ? today - m.day : (s->now - m.utc) / DAY;
		if (!m.is_date && days == 0)
			snprintf(late, sizeof(late), "less than a day overdue");
		else
			snprintf(late, sizeof(late), "%lld day%s overdue", (long long)days, plural(days));
		clip(text, sizeof(text), get(e, "text") ? get(e, "text") : "(no text)");
		owner[0] = '\0';
		if (get(e, "owner")) {
			char o[80];

			clip(o, sizeof(o), get(e, "owner"));
			snprintf(owner, sizeof(owner), " for %s", o);
		}
		moment_text(when, &m);
		add(k, "task-overdue", items, 1, "Task \"%s\"%s was due %s and is not done (%s).", text,
		    owner, when, late);
	}
}

static const char *channel_words(const char *ch)
{
	static const char *const map[][2] = { { "call", "a call" },
		                              { "email", "an e-mail" },
		                              { "message", "a message" },
		                              { "family", "an update to the family" },
		                              { "visit", "a visit" } };
	size_t i;

	for (i = 0; ch && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(ch, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

static void rule_contact(sink *k, const cw_case_view *v, const cw_check_settings *s)
{
	const cw_view_entity *lastn = NULL;
	const char *stage = get(v->self, "stage");
	int64_t last = 0, days;
	char d[11], who[40];
	size_t i;

	if (s->contact_days <= 0 || stage == NULL ||
	    (strcmp(stage, "booked") != 0 && strcmp(stage, "travelling") != 0))
		return;
	for (i = 0; i < v->nentities; i++) {
		const cw_view_entity *e = &v->entities[i];
		int64_t t = (int64_t)((e->created_hlc >> 16) / 1000);

		if (e->kind != CW_KIND_NOTE || e->removed || !channel_words(get(e, "channel")))
			continue;
		if (lastn == NULL || t > last) {
			lastn = e;
			last = t;
		}
	}
	snprintf(who, sizeof(who), "%s",
	         strcmp(stage, "booked") == 0 ? "The case is booked" : "The patient is travelling");
	if (lastn == NULL) {
		const cw_view_entity *items[1] = { v->self };

		add(k, "booked-no-contact", items, 1,
		    "%s and no contact is recorded (no call, e-mail, message, family update or visit "
		    "in the notes); get in touch at least every %d day%s.",
		    who, s->contact_days, plural(s->contact_days));
		return;
	}
	if (s->now - last <= (int64_t)s->contact_days * DAY)
		return;
	{
		const cw_view_entity *items[2] = { v->self, lastn };

		days = (s->now - last) / DAY;
		day_text(d, floor_div(last, DAY));
		add(k, "booked-no-contact", items, 2,
		    "%s and the last contact was %lld day%s ago (%s on %s); get in touch at least "
		    "every %d day%s.",
		    who, (long long)days, plural(days), channel_words(get(lastn, "channel")), d,
		    s->contact_days, plural(s->contact_days));
	}
}

/* --- entry points -------------------------------------------------------- */

void cw_check_defaults(cw_check_settings *s, int64_t now)
{
	s->now = now;
	s->cost_tolerance_pct = 10;
	s->contact_days = 7;
}

int cw_check_case(cw_warning **out, size_t *n_out, const cw_case_view *v, const cw_check_settings *s)
{
	sink k = { NULL, 0, 0, 0, 0 };
	cw_check_settings set;
	journey j;
	int error = CW_OK;

	if (out == NULL || n_out == NULL || v == NULL || s == NULL ||
	    (v->nentities > 0 && v->entities == NULL))
		return cw_error(CW_EINVALID, "check: no case given");
	/* a clock beyond a million years either way is kept there: no overflow */
	set = *s;
	if (set.now > NOW_LIMIT)
		set.now = NOW_LIMIT;
	if (set.now < -NOW_LIMIT)
		set.now = -NOW_LIMIT;
	s = &set;
	find_flights(&j, v);
	rule_surgery_before_arrival(&k, v, &j);
	rule_overlapping_appointments(&k, v);
	rule_flight_home(&k, v, &j);
	rule_stays(&k, v, &j);
	rule_documents(&k, v, &j, s);
	rule_consent(&k, v);
	rule_interpreter(&k, v);
	rule_costs(&k, v, s);
	rule_tasks(&k, v, s);
	rule_contact(&k, v, s);
	if ((error = k.error) < 0)
		goto done;
	if (k.n > 1)
		qsort(k.w, k.n, sizeof(*k.w), warning_cmp);
	if (k.dropped) {
		size_t dropped = k.dropped;

		if (k.cap < CW_CHECK_MAX) {
			cw_warning *grown = realloc(k.w, CW_CHECK_MAX * sizeof(*grown));

			if (grown == NULL) {
				error = cw_error_nomem();
				goto done;
			}
			k.w = grown;
			k.cap = CW_CHECK_MAX;
		}
		memset(&k.w[k.n], 0, sizeof(k.w[0]));
		snprintf(k.w[k.n].rule, sizeof(k.w[0].rule), "too-many-warnings");
		snprintf(k.w[k.n].message, sizeof(k.w[0].message),
		         "%zu more warning%s not shown; settle the ones above and check again.", dropped,
		         dropped == 1 ? " was" : "s were");
		k.n++;
	}
	*out = k.w;
	*n_out = k.n;
	k.w = NULL;
done:
	free(k.w);
	return error;
}
