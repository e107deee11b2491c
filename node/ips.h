/*
 * node/ips.h - the case as a follow-up doctor reads it: an HL7 FHIR R4
 * document Bundle in the International Patient Summary shape (ips.json) and
 * one self-contained HTML page (summary.html).
 *
 * ips.json: Bundle of type "document" with identifier and timestamp; the
 * Composition first (LOINC 60591-5 "Patient summary Document", subject,
 * date, author, title), exactly one Patient, the agency as Organization
 * (author and custodian), and the sections
 *   10160-0 Medication Summary   MedicationStatement per line of the case's
 *                                "medications", else one with the IPS code
 *                                no-medication-info;
 *   48765-2 Allergies            AllergyIntolerance per line of "allergies",
 *                                else no-allergy-info;
 *   11450-4 Problems             Condition per line of "conditions", else
 *                                no-problem-info;
 *   47519-4 Procedures           Procedure per procedure of the case (what
 *                                was done abroad, where, by whom, when), or
 *                                an emptyReason when there is none;
 *   18776-5 Plan of care         a CarePlan: recovery window, follow-up
 *                                appointments, open tasks;
 *   Documents (no code)          a DocumentReference per document carried,
 *                                its attachment url "documents/<name>".
 * Every section has a generated XHTML narrative. Free text fields are
 * split into entries at new lines and ';'.
 *
 * summary.html: HTML5 with its style inline and no reference to anything
 * outside itself (no links, images, scripts, fonts or URLs): who the
 * patient is, what was done where and when, medications, allergies,
 * problems, warnings, the follow-up plan, the coordinator's contact, the
 * documents. Every value from the case is escaped.
 */
#ifndef CW_IPS_H
#define CW_IPS_H

#include "../util/buf.h"
#include "case.h"

#include <stddef.h>
#include <stdint.h>

/* A document carried in the handoff. */
typedef struct {
	const char *name;         /* file name under documents/ (already safe) */
	const char *title;        /* as the case names it */
	const char *kind;         /* document kind (model), may be NULL */
	const char *content_type; /* MIME type */
	uint64_t size;            /* bytes */
} cw_ips_doc;

typedef struct {
	const char *handoff_id;  /* 32 hex: the Bundle's identifier */
	int64_t created_at;      /* unix seconds: Bundle timestamp, Composition date */
	const char *agency;      /* org name from the roster */
	const char *coordinator; /* the signing device's name */
	const char *contact;     /* how to reach the coordinator (may be NULL) */
	const char *org_fingerprint;
	const cw_ips_doc *docs;
	size_t ndocs;
	int64_t now; /* for the warnings (node/check.h) */
} cw_ips_context;

/* The MIME type people's tools expect for a file name (by extension;
 * "application/octet-stream" when unknown). Static string. */
const char *cw_ips_content_type(const char *name);

/* Build ips.json (appended to json_out) and summary.html (appended to
 * html_out) for case v. CW_ERROR when out of memory. */
int cw_ips_build(cw_buf *json_out, cw_buf *html_out, const cw_case_view *v, const cw_ips_context *ctx);

#endif
