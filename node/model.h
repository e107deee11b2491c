/*
 * node/model.h - what a case holds: the kinds of entity and their fields,
 * and the checks every value passes before it becomes an op.
 *
 * A case is one entity of kind "case" (the patient, the journey stage,
 * consent, money settings, feedback) plus any number of entities of the
 * collection kinds (procedures, appointments, flights, stays, transfers,
 * visas, insurance, costs, documents, notes, tasks, and the members: the
 * devices the case is shared with). Every value is text; the field's type
 * says which text is allowed and how it is normalised.
 */
#ifndef CW_MODEL_H
#define CW_MODEL_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
	CW_KIND_CASE = 1,
	CW_KIND_PROCEDURE = 2,
	CW_KIND_APPOINTMENT = 3,
	CW_KIND_FLIGHT = 4,
	CW_KIND_STAY = 5,
	CW_KIND_TRANSFER = 6,
	CW_KIND_VISA = 7,
	CW_KIND_INSURANCE = 8,
	CW_KIND_COST = 9,
	CW_KIND_DOCUMENT = 10,
	CW_KIND_NOTE = 11,
	CW_KIND_TASK = 12,
	CW_KIND_MEMBER = 13,     /* a device the case is shared with (node/case.h cw_case_share) */
	CW_KIND_HANDOFF = 14,    /* the case handed to a follow-up doctor (node/handoff.h) */
	CW_KIND_DOCTOR_NOTE = 15 /* a note from that doctor, from a verified reply */
} cw_kind;
#define CW_KIND_MAX 15

typedef enum {
	CW_FT_TEXT,     /* one line, 1..200 bytes */
	CW_FT_LONGTEXT, /* newlines allowed, 1..16000 bytes */
	CW_FT_DATE,     /* YYYY-MM-DD */
	CW_FT_INSTANT,  /* RFC 3339 with offset */
	CW_FT_WHEN,     /* a date or an instant */
	CW_FT_INT,      /* whole number in [min, max] */
	CW_FT_BOOL,     /* yes / no (true/false/y/n accepted) */
	CW_FT_ENUM,     /* one of choices */
	CW_FT_COUNTRY,  /* ISO 3166-1 alpha-2, upper-cased */
	CW_FT_AIRPORT,  /* IATA code, three letters, upper-cased */
	CW_FT_CURRENCY, /* ISO 4217 code from the known list */
	CW_FT_MONEY,    /* non-negative amount, at most 2 decimals: "1250.00" */
	CW_FT_EMAIL,
	CW_FT_PHONE,
	CW_FT_HASH,  /* 64 lower-case hex characters */
	CW_FT_DEVICE /* device id: 16 hex characters, lower-cased */
} cw_ftype;

typedef struct {
	const char *name;
	cw_ftype type;
	const char *const *choices; /* CW_FT_ENUM: NULL-terminated */
	int required;               /* must be given when the entity is created */
	int64_t min, max;           /* CW_FT_INT */
	const char *label;          /* for people: "Date of birth" */
} cw_field_def;

typedef struct {
	cw_kind code;
	const char *name;  /* "appointment" */
	const char *label; /* "Appointment" */
	const cw_field_def *fields;
	size_t nfields;
} cw_kind_def;

extern const char *const cw_stages[]; /* NULL-terminated, in journey order */

const cw_kind_def *cw_model_kind(int code);
const cw_kind_def *cw_model_kind_named(const char *name);
const cw_field_def *cw_model_field(const cw_kind_def *k, const char *name);

/* Check value for field of kind k and write its normal form to out (cap
 * bytes). CW_EINVALID, naming the field, on anything else: an unknown
 * field, a bad date, an unknown currency, an impossible value. */
int cw_model_normalise(char *out, size_t cap, const cw_kind_def *k, const char *field, const char *value);

/* Every required field of k present among names[0..n)? CW_EINVALID naming
 * the first missing one. */
int cw_model_require(const cw_kind_def *k, const char *const *names, size_t n);

/* Amount text ("1250.5", "1250.50") to minor units (125050). */
int cw_model_money(int64_t *minor_out, const char *text);

#endif
