/* util/when.c - dates and instants. */
#include "when.h"
#include "error.h"

#include <stdio.h>
#include <string.h>

int64_t cw_when_days(int y, int m, int d)
{
	/* days from civil, after Howard Hinnant's public-domain algorithm */
	int64_t yy = y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static void civil(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 1;
}

static int month_days(int y, int m)
{
	static const int len[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : len[m - 1];
}

static int parse_date(const char *s, int *y, int *m, int *d)
{
	if (!digits(s, 4, y) || s[4] != '-' || !digits(s + 5, 2, m) || s[7] != '-' || !digits(s + 8, 2, d))
		return 0;
	if (*y < 1900 || *y > 2200 || *m < 1 || *m > 12 || *d < 1 || *d > month_days(*y, *m))
		return 0;
	return 1;
}

int cw_when_date(int64_t *days_out, const char *text)
{
	int y, m, d;

	if (strlen(text) != 10 || !parse_date(text, &y, &m, &d))
		return cw_error(CW_EINVALID, "'%.40s' is not a date (YYYY-MM-DD)", text);
	*days_out = cw_when_days(y, m, d);
	return CW_OK;
}

int cw_when_instant(int64_t *utc_out, int *offset_min_out, const char *text)
{
	int y, m, d, hh, mm, ss = 0, oh = 0, om = 0, sign = 1;
	const char *p = text;
	size_t len = strlen(text);

	if (len < 17 || !parse_date(p, &y, &m, &d) || (p[10] != 'T' && p[10] != 't' && p[10] != ' '))
		goto bad;
	p += 11;
	if (!digits(p, 2, &hh) || p[2] != ':' || !digits(p + 3, 2, &mm))
		goto bad;
	p += 5;
	if (*p == ':') {
		if (!digits(p + 1, 2, &ss))
			goto bad;
		p += 3;
	}
	if (hh > 23 || mm > 59 || ss > 59)
		goto bad;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 14 || om > 59)
			goto bad;
		p += 6;
	} else {
		goto bad;
	}
	if (*p != '\0')
		goto bad;
	*offset_min_out = sign * (oh * 60 + om);
	*utc_out = cw_when_days(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss - (int64_t)*offset_min_out * 60;
	return CW_OK;
bad:
	return cw_error(CW_EINVALID,
	                "'%.40s' is not a time with its UTC offset (like 2026-03-14T09:30+03:00)", text);
}

int cw_when_any(int64_t *utc_out, const char *text)
{
	int64_t days = 0;
	int off;

	if (strlen(text) == 10) {
		if (cw_when_date(&days, text) < 0)
			return CW_EINVALID;
		*utc_out = days * 86400;
		return CW_OK;
	}
	return cw_when_instant(utc_out, &off, text);
}

void cw_when_local(char out[40], int64_t utc, int offset_min)
{
	int64_t local = utc + (int64_t)offset_min * 60;
	int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	int64_t secs = local - days * 86400;
	int y, m, d, a = offset_min < 0 ? -offset_min : offset_min;

	civil(days, &y, &m, &d);
	snprintf(out, 40, "%04d-%02d-%02d %02d:%02d (%c%02d:%02d)", y, m, d, (int)(secs / 3600),
	         (int)(secs / 60 % 60), offset_min < 0 ? '-' : '+', a / 60, a % 60);
}

void cw_when_utc(char out[32], int64_t utc)
{
	int64_t days = utc >= 0 ? utc / 86400 : -((-utc + 86399) / 86400);
	int64_t secs = utc - days * 86400;
	int y, m, d;

	civil(days, &y, &m, &d);
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(secs / 3600),
	         (int)(secs / 60 % 60), (int)(secs % 60));
}
