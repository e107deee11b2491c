/* node/model.c - the kinds of entity in a case, their fields, validation. */
#include "model.h"
#include "../util/buf.h"
#include "../util/error.h"
#include "../util/when.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const cw_stages[] = { "inquiry",      "consultation", "quoted",   "booked",    "travelling",
	                          "in-treatment", "recovering",   "returned", "follow-up", "closed",
	                          "postponed",    "cancelled",    NULL };
static const char *const sexes[] = { "female", "male", "other", "unknown", NULL };
static const char *const consents[] = { "none", "requested", "signed", "refused", NULL };
static const char *const preauths[] = { "none", "requested", "approved", "denied", NULL };
static const char *const claims[] = { "none", "submitted", "paid", "denied", NULL };
static const char *const proc_status[] = { "planned", "done", "cancelled", NULL };
static const char *const appt_kinds[] = { "consultation", "diagnostic", "surgery",
	                                  "follow-up",    "telehealth", NULL };
static const char *const appt_status[] = { "planned", "confirmed", "done", "cancelled", "missed", NULL };
static const char *const directions[] = { "outbound", "return", "other", NULL };
static const char *const visa_status[] = { "needed", "applied", "granted", "refused", "not-needed", NULL };
static const char *const cost_types[] = { "estimate", "charge", "payment", NULL };
static const char *const doc_kinds[] = { "medical-record", "scan",    "lab-result", "consent",
	                                 "passport",       "invoice", "other",      NULL };
static const char *const channels[] = { "note", "call", "email", "message", "family", "visit", NULL };
static const char *const member_roles[] = { "coordinator", "hub", "clinic", "doctor", NULL };

#define F(n, t, req, lbl)                  \
	{                                  \
		n, t, NULL, req, 0, 0, lbl \
	}
#define E(n, ch, req, lbl)                        \
	{                                         \
		n, CW_FT_ENUM, ch, req, 0, 0, lbl \
	}
#define I(n, lo, hi, lbl)                          \
	{                                          \
		n, CW_FT_INT, NULL, 0, lo, hi, lbl \
	}
#define N(a) a, sizeof(a) / sizeof(a[0])

static const cw_field_def case_fields[] = {
	F("accessibility", CW_FT_TEXT, 0, "Accessibility needs"),
	F("address", CW_FT_TEXT, 0, "Home address"),
	F("allergies", CW_FT_LONGTEXT, 0, "Allergies"),
	E("claim", claims, 0, "Insurance claim"),
	F("conditions", CW_FT_LONGTEXT, 0, "Conditions"),
	E("consent", consents, 0, "Consent"),
	F("consent_doc", CW_FT_TEXT, 0, "Consent document"),
	I("cost_tolerance", 0, 1000, "Allowed overrun of the estimate (%)"),
	F("culture", CW_FT_TEXT, 0, "Cultural needs"),
	F("diet", CW_FT_TEXT, 0, "Dietary needs"),
	F("dob", CW_FT_DATE, 0, "Date of birth"),
	F("email", CW_FT_EMAIL, 0, "E-mail"),
	F("emergency_contact", CW_FT_TEXT, 0, "Emergency / family contact"),
	F("home_country", CW_FT_COUNTRY, 0, "Home country"),
	F("home_doctor", CW_FT_TEXT, 0, "Home (follow-up) doctor"),
	F("home_doctor_email", CW_FT_EMAIL, 0, "Home doctor's e-mail"),
	F("interpreter", CW_FT_BOOL, 0, "Interpreter needed"),
	I("key_generation", 1, 2147483647, "Case key generation (set by caseway)"),
	F("languages", CW_FT_TEXT, 0, "Languages spoken"),
	F("medications", CW_FT_LONGTEXT, 0, "Medications"),
	F("name", CW_FT_TEXT, 1, "Patient"),
	F("nationality", CW_FT_COUNTRY, 0, "Nationality"),
	F("passport", CW_FT_TEXT, 0, "Passport number"),
	F("passport_expiry", CW_FT_DATE, 0, "Passport expires"),
	F("phone", CW_FT_PHONE, 0, "Phone"),
	E("preauth", preauths, 0, "Insurance pre-authorisation"),
	{ "rating", CW_FT_INT, NULL, 0, 1, 5, "Feedback rating (1-5)" },
	I("recovery_days", 0, 365, "Recovery before flying (days)"),
	F("religion", CW_FT_TEXT, 0, "Religious needs"),
	E("sex", sexes, 0, "Sex"),
	E("stage", cw_stages, 0, "Stage"),
	F("testimonial", CW_FT_BOOL, 0, "Testimonial consent"),
};
static const cw_field_def procedure_fields[] = {
	F("clinic", CW_FT_TEXT, 0, "Clinic"),   F("date", CW_FT_WHEN, 0, "Planned date"),
	F("name", CW_FT_TEXT, 1, "Procedure"),  E("status", proc_status, 0, "Status"),
	F("surgeon", CW_FT_TEXT, 0, "Surgeon"),
};
static const cw_field_def appointment_fields[] = {
	F("end", CW_FT_INSTANT, 0, "Ends"),       E("kind", appt_kinds, 1, "Kind"),
	F("location", CW_FT_TEXT, 0, "Location"), F("provider", CW_FT_TEXT, 0, "Provider"),
	F("start", CW_FT_INSTANT, 1, "Starts"),   E("status", appt_status, 0, "Status"),
};
static const cw_field_def flight_fields[] = {
	F("arrive", CW_FT_INSTANT, 1, "Arrives"), F("carrier", CW_FT_TEXT, 0, "Carrier"),
	F("depart", CW_FT_INSTANT, 1, "Departs"), E("direction", directions, 0, "Direction"),
	F("from", CW_FT_AIRPORT, 0, "From"),      F("number", CW_FT_TEXT, 0, "Flight"),
	F("to", CW_FT_AIRPORT, 0, "To"),
};
static const cw_field_def stay_fields[] = {
	F("accessible", CW_FT_BOOL, 0, "Accessible room"),
	F("address", CW_FT_TEXT, 0, "Address"),
	F("check_in", CW_FT_DATE, 1, "Check-in"),
	F("check_out", CW_FT_DATE, 1, "Check-out"),
	F("hotel", CW_FT_TEXT, 1, "Hotel"),
};
static const cw_field_def transfer_fields[] = {
	F("driver", CW_FT_TEXT, 0, "Driver"), F("from", CW_FT_TEXT, 0, "From"),
	F("phone", CW_FT_PHONE, 0, "Phone"),  F("pickup", CW_FT_INSTANT, 1, "Pick-up"),
	F("to", CW_FT_TEXT, 0, "To"),
};
static const cw_field_def visa_fields[] = {
	F("number", CW_FT_TEXT, 0, "Visa number"), E("status", visa_status, 0, "Status"),
	F("type", CW_FT_TEXT, 0, "Visa type"),     F("valid_from", CW_FT_DATE, 0, "Valid from"),
	F("valid_to", CW_FT_DATE, 1, "Valid to"),
};
static const cw_field_def insurance_fields[] = {
	F("phone", CW_FT_PHONE, 0, "Assistance phone"), F("policy", CW_FT_TEXT, 0, "Policy"),
	F("provider", CW_FT_TEXT, 1, "Insurer"),        F("valid_from", CW_FT_DATE, 0, "Valid from"),
	F("valid_to", CW_FT_DATE, 0, "Valid to"),
};
static const cw_field_def cost_fields[] = {
	F("amount", CW_FT_MONEY, 1, "Amount"),
	F("currency", CW_FT_CURRENCY, 1, "Currency"),
	F("label", CW_FT_TEXT, 0, "For"),
	E("type", cost_types, 1, "Type"),
};
static const cw_field_def document_fields[] = {
	F("address", CW_FT_HASH, 1, "Content address"),
	F("filename", CW_FT_TEXT, 0, "Original file name"),
	E("kind", doc_kinds, 0, "Kind"),
	I("size", 0, INT64_MAX, "Size (bytes)"),
	F("title", CW_FT_TEXT, 1, "Title"),
};
static const cw_field_def note_fields[] = {
	E("channel", channels, 0, "Channel"),
	F("text", CW_FT_LONGTEXT, 1, "Text"),
};
static const cw_field_def task_fields[] = {
	F("done", CW_FT_BOOL, 0, "Done"),
	F("due", CW_FT_WHEN, 0, "Due"),
	F("owner", CW_FT_TEXT, 0, "For"),
	F("text", CW_FT_TEXT, 1, "Task"),
};
static const cw_field_def member_fields[] = {
	F("device", CW_FT_DEVICE, 1, "Device"),
	F("name", CW_FT_TEXT, 0, "Name"),
	E("role", member_roles, 0, "Role"),
};

/* A handoff (node/handoff.h): its entity id is the handoff's id. */
static const cw_field_def handoff_fields[] = {
	F("doctor", CW_FT_TEXT, 1, "Doctor's key fingerprint"),
	F("doctor_box", CW_FT_HASH, 0, "Doctor's sealing key"),
	F("doctor_key", CW_FT_HASH, 1, "Doctor's signing key"),
	F("doctor_name", CW_FT_TEXT, 0, "Doctor"),
	I("document_count", 0, 10000, "Documents"),
	F("documents", CW_FT_LONGTEXT, 0, "Documents handed over"),
	F("ips", CW_FT_HASH, 0, "Patient summary (BLAKE2b of ips.json)"),
	F("package", CW_FT_HASH, 1, "Package (signed transcript)"),
	F("sent", CW_FT_INSTANT, 1, "Sent"),
};
/* A note from the follow-up doctor, taken from a verified reply. */
static const cw_field_def doctor_note_fields[] = {
	F("doctor", CW_FT_TEXT, 1, "Doctor's key fingerprint"),
	F("doctor_key", CW_FT_HASH, 1, "Doctor's signing key"),
	F("files", CW_FT_LONGTEXT, 0, "Files sent"),
	F("handoff", CW_FT_TEXT, 1, "In reply to handoff"),
	F("reply", CW_FT_HASH, 1, "Reply (signed transcript)"),
	F("text", CW_FT_LONGTEXT, 1, "Note"),
	F("written", CW_FT_INSTANT, 0, "Written"),
};

static const cw_kind_def kinds[] = {
	{ CW_KIND_CASE, "case", "Case", N(case_fields) },
	{ CW_KIND_PROCEDURE, "procedure", "Procedure", N(procedure_fields) },
	{ CW_KIND_APPOINTMENT, "appointment", "Appointment", N(appointment_fields) },
	{ CW_KIND_FLIGHT, "flight", "Flight", N(flight_fields) },
	{ CW_KIND_STAY, "stay", "Stay", N(stay_fields) },
	{ CW_KIND_TRANSFER, "transfer", "Transfer", N(transfer_fields) },
	{ CW_KIND_VISA, "visa", "Visa", N(visa_fields) },
	{ CW_KIND_INSURANCE, "insurance", "Travel insurance", N(insurance_fields) },
	{ CW_KIND_COST, "cost", "Cost", N(cost_fields) },
	{ CW_KIND_DOCUMENT, "document", "Document", N(document_fields) },
	{ CW_KIND_NOTE, "note", "Note", N(note_fields) },
	{ CW_KIND_TASK, "task", "Task", N(task_fields) },
	{ CW_KIND_MEMBER, "member", "Shared with", N(member_fields) },
	{ CW_KIND_HANDOFF, "handoff", "Handed to the follow-up doctor", N(handoff_fields) },
	{ CW_KIND_DOCTOR_NOTE, "doctor_note", "From the follow-up doctor", N(doctor_note_fields) },
};
_Static_assert(sizeof(kinds) / sizeof(kinds[0]) == CW_KIND_MAX, "one entry per kind, in code order");

/* ISO 4217 codes accepted (the currencies medical travel meets). */
static const char currencies[] =
    "AED ARS AUD AZN BDT BGN BHD BRL CAD CHF CLP CNY COP CZK DKK DZD EGP EUR GBP GEL "
    "HKD HUF IDR ILS INR IQD IRR JOD JPY KES KRW KWD KZT LBP LKR MAD MXN MYR NGN NOK "
    "NZD OMR PEN PHP PKR PLN QAR RON RSD RUB SAR SEK SGD THB TND TRY TWD UAH USD UZS "
    "VND XOF ZAR";

const cw_kind_def *cw_model_kind(int code)
{
	if (code < 1 || code > CW_KIND_MAX)
		return NULL;
	return &kinds[code - 1];
}

const cw_kind_def *cw_model_kind_named(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, name) == 0)
			return &kinds[i];
	return NULL;
}

const cw_field_def *cw_model_field(const cw_kind_def *k, const char *name)
{
	size_t i;

	for (i = 0; i < k->nfields; i++)
		if (strcmp(k->fields[i].name, name) == 0)
			return &k->fields[i];
	return NULL;
}

int cw_model_money(int64_t *minor_out, const char *text)
{
	int64_t whole = 0;
	int frac = 0, nfrac = 0;
	const char *p = text;

	if (*p < '0' || *p > '9')
		return CW_EINVALID;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (whole > (INT64_MAX / 100 - 9) / 10)
			return CW_EINVALID;
		whole = whole * 10 + (*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (++nfrac > 2)
				return CW_EINVALID;
			frac = frac * 10 + (*p - '0');
		}
		if (nfrac == 0)
			return CW_EINVALID;
	}
	if (*p != '\0')
		return CW_EINVALID;
	if (nfrac == 1)
		frac *= 10;
	*minor_out = whole * 100 + frac;
	return CW_OK;
}

static int upper_letters(char *out, size_t cap, const char *v, size_t n)
{
	size_t i;

	if (strlen(v) != n || cap <= n)
		return 0;
	for (i = 0; i < n; i++) {
		if (!isalpha((unsigned char)v[i]))
			return 0;
		out[i] = (char)toupper((unsigned char)v[i]);
	}
	out[n] = '\0';
	return 1;
}

static int copy_text(char *out, size_t cap, const char *v)
{
	size_t n = strlen(v);

	if (n >= cap)
		return 0;
	memcpy(out, v, n + 1);
	return 1;
}

int cw_model_normalise(char *out, size_t cap, const cw_kind_def *k, const char *field, const char *v)
{
	const cw_field_def *f = cw_model_field(k, field);
	size_t n = strlen(v), i;
	int64_t num, t;
	int off;
	char *end;

	if (f == NULL)
		return cw_error(CW_EINVALID, "unknown field '%s' for %s (see `caseway help %s`)", field,
		                k->name, k->code == CW_KIND_CASE ? "case" : k->name);
	if (cap < 2)
		return cw_error(CW_EINVALID, "internal: no room");
	switch (f->type) {
	case CW_FT_TEXT:
	case CW_FT_LONGTEXT: {
		size_t max = f->type == CW_FT_TEXT ? 200 : 16000;

		if (n == 0)
			return cw_error(CW_EINVALID, "%s: cannot be empty", field);
		if (n > max)
			return cw_error(CW_EINVALID, "%s: too long (%zu bytes, at most %zu)", field, n, max);
		if (!cw_utf8_valid((const uint8_t *)v, n, f->type == CW_FT_LONGTEXT))
			return cw_error(CW_EINVALID, "%s: not valid text (bad UTF-8 or control characters)",
			                field);
		if (!copy_text(out, cap, v))
			return cw_error(CW_EINVALID, "%s: too long", field);
		return CW_OK;
	}
	case CW_FT_DATE:
		if (cw_when_date(&t, v) < 0)
			return cw_error(CW_EINVALID, "%s: '%.40s' is not a date (YYYY-MM-DD)", field, v);
		break;
	case CW_FT_INSTANT:
		if (cw_when_instant(&t, &off, v) < 0)
			return cw_error(CW_EINVALID,
			                "%s: '%.40s' is not a time with its UTC offset "
			                "(like 2026-03-14T09:30+03:00)",
			                field, v);
		break;
	case CW_FT_WHEN:
		if (cw_when_any(&t, v) < 0)
			return cw_error(CW_EINVALID,
			                "%s: '%.40s' is neither a date (YYYY-MM-DD) nor a time with its "
			                "offset",
			                field, v);
		break;
	case CW_FT_INT:
		errno = 0;
		num = strtoll(v, &end, 10);
		if (n == 0 || n > 19 || *end != '\0' || errno != 0 ||
		    !(isdigit((unsigned char)v[0]) || v[0] == '-') || num < f->min || num > f->max)
			return cw_error(CW_EINVALID, "%s: must be a whole number from %lld to %lld", field,
			                (long long)f->min, (long long)f->max);
		snprintf(out, cap, "%lld", (long long)num);
		return CW_OK;
	case CW_FT_BOOL:
		if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "y") == 0)
			return copy_text(out, cap, "yes") ? CW_OK : CW_EINVALID;
		if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "n") == 0)
			return copy_text(out, cap, "no") ? CW_OK : CW_EINVALID;
		return cw_error(CW_EINVALID, "%s: must be yes or no", field);
	case CW_FT_ENUM:
		for (i = 0; f->choices[i]; i++)
			if (strcmp(f->choices[i], v) == 0)
				return copy_text(out, cap, v) ? CW_OK : CW_EINVALID;
		{
			char list[400] = "";

			for (i = 0; f->choices[i]; i++) {
				if (i)
					strncat(list, ", ", sizeof(list) - strlen(list) - 1);
				strncat(list, f->choices[i], sizeof(list) - strlen(list) - 1);
			}
			return cw_error(CW_EINVALID, "%s: '%.40s' is not one of: %s", field, v, list);
		}
	case CW_FT_COUNTRY:
		if (!upper_letters(out, cap, v, 2))
			return cw_error(CW_EINVALID, "%s: '%.40s' is not a two-letter country code (like TR)",
			                field, v);
		return CW_OK;
	case CW_FT_AIRPORT:
		if (!upper_letters(out, cap, v, 3))
			return cw_error(CW_EINVALID,
			                "%s: '%.40s' is not a three-letter airport code (like IST)", field,
			                v);
		return CW_OK;
	case CW_FT_CURRENCY: {
		char code[4];

		if (!upper_letters(code, sizeof(code), v, 3) || strstr(currencies, code) == NULL)
			return cw_error(CW_EINVALID,
			                "%s: '%.40s' is not a currency code caseway knows "
			                "(like EUR, USD, TRY)",
			                field, v);
		return copy_text(out, cap, code) ? CW_OK : CW_EINVALID;
	}
	case CW_FT_MONEY:
		if (cw_model_money(&num, v) < 0)
			return cw_error(CW_EINVALID, "%s: '%.40s' is not an amount (like 1250 or 1250.50)",
			                field, v);
		snprintf(out, cap, "%lld.%02lld", (long long)(num / 100), (long long)(num % 100));
		return CW_OK;
	case CW_FT_EMAIL: {
		const char *at = strchr(v, '@');

		if (n > 200 || at == NULL || at == v || strchr(at + 1, '.') == NULL || strchr(at + 1, '@') ||
		    strpbrk(v, " \t\r\n<>,;") || v[n - 1] == '.' || !cw_utf8_valid((const uint8_t *)v, n, 0))
			return cw_error(CW_EINVALID, "%s: '%.60s' is not an e-mail address", field, v);
		break;
	}
	case CW_FT_PHONE: {
		int nd = 0;

		for (i = 0; i < n; i++) {
			if (isdigit((unsigned char)v[i]))
				nd++;
			else if (!strchr("+ -().", v[i]) || (v[i] == '+' && i != 0))
				nd = -100;
		}
		if (nd < 5 || nd > 20)
			return cw_error(CW_EINVALID, "%s: '%.40s' is not a phone number", field, v);
		break;
	}
	case CW_FT_HASH:
		if (n != 64 || strspn(v, "0123456789abcdef") != 64)
			return cw_error(CW_EINVALID, "%s: not a content address", field);
		break;
	case CW_FT_DEVICE:
		if (n != 16 || strspn(v, "0123456789abcdefABCDEF") != 16 || cap <= 16)
			return cw_error(CW_EINVALID, "%s must be a 16-character device id", field);
		for (i = 0; i < 16; i++)
			out[i] = (char)tolower((unsigned char)v[i]);
		out[16] = '\0';
		return CW_OK;
	}
	if (!copy_text(out, cap, v))
		return cw_error(CW_EINVALID, "%s: too long", field);
	return CW_OK;
}

int cw_model_require(const cw_kind_def *k, const char *const *names, size_t n)
{
	size_t i, j;

	for (i = 0; i < k->nfields; i++) {
		if (!k->fields[i].required)
			continue;
		for (j = 0; j < n; j++)
			if (strcmp(names[j], k->fields[i].name) == 0)
				break;
		if (j == n)
			return cw_error(CW_EINVALID, "a %s needs %s (%s=...)", k->name, k->fields[i].label,
			                k->fields[i].name);
	}
	return CW_OK;
}
