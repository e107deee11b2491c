/*
 * node/check.h - `caseway check`: the journey and itinerary warnings a
 * coordinator needs before something goes wrong.
 *
 * The checks read one case as cw_case_load gives it back (node/case.h) and
 * nothing else: no store, no clock but settings->now. Removed items are
 * ignored, and so are appointments and procedures whose status is
 * "cancelled". A value that does not parse (a date, a time, an amount, a
 * number) is ignored by the rules that would have used it; it never stops
 * the other checks.
 *
 * Each warning has a stable rule id, one plain sentence with the concrete
 * dates, times and names as the case holds them (times in the offset they
 * were written with: "2026-03-14 09:30 (+03:00)"), and the hex ids of the
 * items it concerns (the case's own id when it is about the case's fields).
 *
 * Which flights the rules mean:
 *   arrival      the outbound flight: with flights marked direction=outbound,
 *                the latest `arrive` among them (the last leg lands); with
 *                none marked outbound, the earliest-departing flight not
 *                marked "other", unless that one is marked "return".
 *   flight home  with flights marked direction=return, the earliest-
 *                departing among them (the first leg leaves); with none,
 *                the latest-departing of two or more flights not marked
 *                "other", unless that one is marked "outbound".
 *   A "surgery" is an appointment of kind surgery (its start) or any
 *   procedure with a planned date. A date written without a time is
 *   compared by date: it is never "before" an instant on the same day.
 *
 * Rules (id: fires when)
 *   surgery-before-arrival    a surgery starts before the patient lands
 *                             (a date-only one: on a date before the
 *                             arrival's local date).
 *   overlapping-appointments  two appointments' [start, end) overlap; an
 *                             appointment without a usable end lasts 1 hour.
 *   flight-in-recovery        the flight home departs before the last
 *                             surgery + the case's recovery_days (skipped
 *                             when recovery_days is unset).
 *   flight-before-follow-up   the flight home departs before the start of
 *                             the last follow-up appointment.
 *   checkout-before-flight    the latest check-out of the stays is on a date
 *                             before the flight home's local departure date
 *                             (earlier stays of a multi-hotel trip are fine).
 *   stay-gap                  a night between the arrival's local date and
 *                             the flight home's local departure date is
 *                             covered by no stay (check_in <= night <
 *                             check_out); the first such night is reported,
 *                             with the length of that gap. Also fires when
 *                             the case has flights both ways and no stay.
 *   visa-expires              the latest valid_to of the visas (status
 *                             not-needed and refused excluded) is before the
 *                             flight home's local departure date or, with no
 *                             flight home, before the last appointment's
 *                             local date.
 *   passport-expires          the case's passport_expiry is less than 6
 *                             calendar months after the flight home's local
 *                             departure date or, with no flight home, after
 *                             today (UTC date of settings->now).
 *   surgery-without-consent   there is a surgery and the case's consent is
 *                             not "signed".
 *   interpreter-not-booked    the case says interpreter=yes and no
 *                             appointment mentions an interpreter in its
 *                             provider or location and no task mentions one
 *                             in its text. Heuristic: "mentions" is a
 *                             case-insensitive search for the ASCII word
 *                             "interpreter" (so "Interpreter: Ms Demir",
 *                             "interpreters desk" count; "tercüman" or
 *                             "translator" do not). A task counts whether or
 *                             not it is done: the booking is tracked, and
 *                             task-overdue reports it if it is late.
 *   cost-over-estimate        per currency (never added across currencies):
 *                             the charges exceed the estimates by more than
 *                             the tolerance (case field cost_tolerance in %,
 *                             else settings->cost_tolerance_pct); charges in
 *                             a currency with no estimate in it also fire.
 *                             Payments are not counted. A currency whose
 *                             sums would overflow is skipped.
 *   task-overdue              a task not done (done != yes) whose due is
 *                             before now; a due date without a time is
 *                             overdue once that UTC date has passed.
 *   booked-no-contact         the stage is booked or travelling and no note
 *                             with channel call, email, message, family or
 *                             visit (a note without a channel is a plain
 *                             note) was created (created_hlc >> 16 ms) in
 *                             the last settings->contact_days days; says
 *                             how many days since the last one, or that
 *                             none is recorded. contact_days <= 0 turns the
 *                             rule off.
 *   too-many-warnings         there were more than CW_CHECK_MAX - 1; this
 *                             one, always last, says how many were left out.
 */
#ifndef CW_CHECK_H
#define CW_CHECK_H

#include "case.h"

#include <stddef.h>
#include <stdint.h>

/* At most this many warnings per case, too-many-warnings included. */
#define CW_CHECK_MAX 256

typedef struct {
	int64_t now;            /* seconds since the epoch (UTC) */
	int cost_tolerance_pct; /* allowed overrun of the estimate; default 10 */
	int contact_days;       /* longest silence for a booked case; default 7 */
} cw_check_settings;

/* Fill s with the defaults and the given clock. */
void cw_check_defaults(cw_check_settings *s, int64_t now);

typedef struct {
	char rule[32];     /* "flight-in-recovery" */
	char message[512]; /* one sentence, valid UTF-8, NUL-terminated */
	size_t nitems;     /* 0..4 */
	char items[4][33]; /* hex ids of the items concerned */
} cw_warning;

/* All warnings for case v under settings s, sorted by rule, then items,
 * then message, with too-many-warnings (if any) last; the same view and
 * settings give the same array, byte for byte. On
 * success *out is a malloc'd array of *n_out warnings for the caller to
 * free(), or NULL when there are none. CW_EINVALID on a NULL argument,
 * CW_ERROR when out of memory; *out and *n_out are set only on success. v
 * is only read, and only for the duration of the call. */
int cw_check_case(cw_warning **out, size_t *n_out, const cw_case_view *v, const cw_check_settings *s);

#endif
