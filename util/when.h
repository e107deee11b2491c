/*
 * util/when.h - dates and instants as people write them.
 *
 * An instant is RFC 3339 with an explicit offset: 2026-03-14T09:30+03:00,
 * 2026-03-14T09:30:00Z (seconds optional, fractions refused). A date is
 * YYYY-MM-DD. Years 1900..2200.
 */
#ifndef CW_WHEN_H
#define CW_WHEN_H

#include <stdint.h>

/* Parse an instant: *utc_out seconds since the epoch, *offset_min_out the
 * offset it was written with. CW_EINVALID with a message on anything else. */
int cw_when_instant(int64_t *utc_out, int *offset_min_out, const char *text);

/* Parse a date: days since 1970-01-01. */
int cw_when_date(int64_t *days_out, const char *text);

/* Either: an instant, or a date taken as its midnight UTC (offset 0). */
int cw_when_any(int64_t *utc_out, const char *text);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t cw_when_days(int y, int m, int d);

/* Format utc + offset as "2026-03-14 09:30 (+03:00)"; out 40 bytes. */
void cw_when_local(char out[40], int64_t utc, int offset_min);

/* Format utc as RFC 3339 "2026-03-14T06:30:00Z"; out 32 bytes. */
void cw_when_utc(char out[32], int64_t utc);

#endif
