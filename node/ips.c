/* node/ips.c - the FHIR International Patient Summary and the HTML page of a handoff. */
#include "ips.h"
#include "../crypto/secret.h"
#include "../util/error.h"
#include "../util/when.h"
#include "check.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOINC "http://loinc.org"
#define ABSENT "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips"
#define XHTML_OPEN "<div xmlns=\"http://www.w3.org/1999/xhtml\">"
#define MAX_ITEMS 64 /* entries per free-text field */

/* ---- small builders ---------------------------------------------------------------- */

typedef struct {
	int oom;
	cJSON *entries; /* Bundle.entry */
	char patient[48], org[48];
} ips_ctx;

static cJSON *obj(ips_ctx *c)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL)
		c->oom = 1;
	return o;
}

static cJSON *arr(ips_ctx *c)
{
	cJSON *a = cJSON_CreateArray();

	if (a == NULL)
		c->oom = 1;
	return a;
}

static void put(ips_ctx *c, cJSON *o, const char *key, cJSON *item)
{
	if (o == NULL || item == NULL || !cJSON_AddItemToObject(o, key, item)) {
		c->oom = 1;
		cJSON_Delete(item);
	}
}

static void push(ips_ctx *c, cJSON *a, cJSON *item)
{
	if (a == NULL || item == NULL || !cJSON_AddItemToArray(a, item)) {
		c->oom = 1;
		cJSON_Delete(item);
	}
}

static void str(ips_ctx *c, cJSON *o, const char *key, const char *v)
{
	cJSON *s = cJSON_CreateString(v);

	if (s == NULL)
		c->oom = 1;
	put(c, o, key, s);
}

static cJSON *coding(ips_ctx *c, const char *system, const char *code, const char *display)
{
	cJSON *o = obj(c);

	str(c, o, "system", system);
	str(c, o, "code", code);
	if (display)
		str(c, o, "display", display);
	return o;
}

/* {"coding": [{system, code, display}], "text": text} (text may be NULL) */
static cJSON *concept(ips_ctx *c, const char *system, const char *code, const char *display, const char *text)
{
	cJSON *o = obj(c), *a;

	if (system) {
		a = arr(c);
		push(c, a, coding(c, system, code, display));
		put(c, o, "coding", a);
	}
	if (text)
		str(c, o, "text", text);
	return o;
}

static cJSON *reference(ips_ctx *c, const char *url)
{
	cJSON *o = obj(c);

	str(c, o, "reference", url);
	return o;
}

static cJSON *display_ref(ips_ctx *c, const char *display)
{
	cJSON *o = obj(c);

	str(c, o, "display", display);
	return o;
}

static void new_uuid(char out[48])
{
	uint8_t b[16];

	cw_secret_random_bytes(b, sizeof(b));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 48, "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
	         b[14], b[15]);
}

/* Add {fullUrl, resource} to the bundle; the resource's fullUrl lands in url. */
static cJSON *add_resource(ips_ctx *c, const char *type, char url[48])
{
	cJSON *e = obj(c), *r = obj(c);

	new_uuid(url);
	str(c, e, "fullUrl", url);
	str(c, r, "resourceType", type);
	put(c, e, "resource", r);
	push(c, c->entries, e);
	return c->oom ? NULL : r;
}

/* ---- text -------------------------------------------------------------------------- */

static int put_esc(cw_buf *b, const char *s)
{
	int error = CW_OK;

	for (; *s && error == CW_OK; s++) {
		switch (*s) {
		case '&':
			error = cw_buf_put(b, "&amp;", 5);
			break;
		case '<':
			error = cw_buf_put(b, "&lt;", 4);
			break;
		case '>':
			error = cw_buf_put(b, "&gt;", 4);
			break;
		case '"':
			error = cw_buf_put(b, "&quot;", 6);
			break;
		case '\'':
			error = cw_buf_put(b, "&#39;", 5);
			break;
		default:
			error = cw_buf_put(b, s, 1);
		}
	}
	return error;
}

static int put_s(cw_buf *b, const char *s)
{
	return cw_buf_put(b, s, strlen(s));
}

static int put_f(cw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int put_f(cw_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return CW_ERROR;
	return cw_buf_put(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* The items of a free-text field: split at new lines and ';', trimmed, empty
 * ones dropped, at most MAX_ITEMS. Each is a malloc'd string. */
typedef struct {
	char *v[MAX_ITEMS];
	size_t n;
} items;

static void items_dispose(items *it)
{
	size_t i;

	for (i = 0; i < it->n; i++)
		free(it->v[i]);
	it->n = 0;
}

static int items_split(items *out, const char *text)
{
	const char *p = text, *end;

	out->n = 0;
	while (p && *p && out->n < MAX_ITEMS) {
		size_t len;

		end = p + strcspn(p, "\n;");
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
			len--;
		if (len > 0) {
			if ((out->v[out->n] = malloc(len + 1)) == NULL) {
				items_dispose(out);
				return cw_error_nomem();
			}
			memcpy(out->v[out->n], p, len);
			out->v[out->n][len] = '\0';
			out->n++;
		}
		p = *end ? end + 1 : end;
	}
	return CW_OK;
}

/* A FHIR dateTime from a date or an RFC 3339 instant as the model keeps
 * them ("2026-03-14T09:30+03:00" gains its seconds). Empty when neither. */
static void fhir_datetime(char out[40], const char *v)
{
	size_t n = v ? strlen(v) : 0;
	const char *zone;

	out[0] = '\0';
	if (n == 10) {
		snprintf(out, 40, "%s", v);
		return;
	}
	if (n < 16 || (v[10] != 'T' && v[10] != 't'))
		return;
	if (v[16] == ':' && n >= 19) {
		zone = v + 19;
		snprintf(out, 40, "%.10sT%.8s%s", v, v + 11, (*zone == 'z' || *zone == 'Z') ? "Z" : zone);
	} else {
		zone = v + 16;
		snprintf(out, 40, "%.10sT%.5s:00%s", v, v + 11, (*zone == 'z' || *zone == 'Z') ? "Z" : zone);
	}
}

static const char *or_text(const char *v, const char *dflt)
{
	return v && *v ? v : dflt;
}

/* ---- the narrative of a section ---------------------------------------------------- */

static cJSON *narrative(ips_ctx *c, const cw_buf *xhtml)
{
	cJSON *t = obj(c);
	char *div;

	str(c, t, "status", "generated");
	if ((div = malloc(xhtml->len + 1)) == NULL) {
		c->oom = 1;
		return t;
	}
	memcpy(div, xhtml->data, xhtml->len);
	div[xhtml->len] = '\0';
	str(c, t, "div", div);
	free(div);
	return t;
}

/* A section: title, LOINC code (NULL: none), narrative from the list of
 * lines, entries (an array, may be empty: then emptyReason when no_entries). */
static cJSON *section(ips_ctx *c, const char *title, const char *code, const char *display,
                      const items *lines, const char *empty_line, cJSON *entries)
{
	cJSON *s = obj(c);
	cw_buf x = CW_BUF_INIT;
	size_t i;
	int error;

	str(c, s, "title", title);
	if (code)
		put(c, s, "code", concept(c, LOINC, code, display, NULL));
	error = put_s(&x, XHTML_OPEN);
	if (lines->n == 0) {
		error = error ? error : put_s(&x, "<p>");
		error = error ? error : put_esc(&x, empty_line);
		error = error ? error : put_s(&x, "</p>");
	} else {
		error = error ? error : put_s(&x, "<ul>");
		for (i = 0; i < lines->n && !error; i++) {
			error = put_s(&x, "<li>");
			error = error ? error : put_esc(&x, lines->v[i]);
			error = error ? error : put_s(&x, "</li>");
		}
		error = error ? error : put_s(&x, "</ul>");
	}
	error = error ? error : put_s(&x, "</div>");
	if (error)
		c->oom = 1;
	else
		put(c, s, "text", narrative(c, &x));
	cw_buf_dispose(&x);
	if (cJSON_GetArraySize(entries) > 0) {
		put(c, s, "entry", entries);
	} else {
		cJSON_Delete(entries);
		put(c, s, "emptyReason",
		    concept(c, "http://terminology.hl7.org/CodeSystem/list-empty-reason", "nilknown",
		            "Nil Known", NULL));
	}
	return s;
}

static cJSON *entry_ref(ips_ctx *c, cJSON *entries, const char *url)
{
	push(c, entries, reference(c, url));
	return entries;
}

static cJSON *active_status(ips_ctx *c, const char *system)
{
	return concept(c, system, "active", "Active", NULL);
}

/* ---- the sections ------------------------------------------------------------------ */

/* Medications, allergies, problems: one resource per item, else the IPS
 * "no information" entry. kind: 0 medication, 1 allergy, 2 problem. */
static cJSON *free_text_section(ips_ctx *c, int kind, const char *text)
{
	static const struct {
		const char *type, *title, *code, *display, *absent, *absent_display, *empty_line;
	} k[3] = {
		{ "MedicationStatement", "Medication Summary", "10160-0",
		  "History of Medication use Narrative", "no-medication-info",
		  "No information about medications", "No information about medications was recorded." },
		{ "AllergyIntolerance", "Allergies and Intolerances", "48765-2",
		  "Allergies and adverse reactions Document", "no-allergy-info",
		  "No information about allergies", "No information about allergies was recorded." },
		{ "Condition", "Problem List", "11450-4", "Problem list - Reported", "no-problem-info",
		  "No information about problems", "No information about problems was recorded." },
	};
	items it;
	cJSON *entries = arr(c), *r, *s;
	char url[48];
	size_t i, n;

	if (items_split(&it, text) < 0) {
		c->oom = 1;
		it.n = 0;
	}
	n = it.n ? it.n : 1;
	for (i = 0; i < n; i++) {
		const char *label = it.n ? it.v[i] : NULL;

		if ((r = add_resource(c, k[kind].type, url)) == NULL)
			break;
		if (kind == 0) {
			str(c, r, "status", label ? "active" : "unknown");
			put(c, r, "medicationCodeableConcept",
			    label ? concept(c, NULL, NULL, NULL, label)
			          : concept(c, ABSENT, k[kind].absent, k[kind].absent_display, NULL));
			put(c, r, "subject", reference(c, c->patient));
		} else if (kind == 1) {
			put(c, r, "clinicalStatus",
			    active_status(
			        c, "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"));
			put(c, r, "code",
			    label ? concept(c, NULL, NULL, NULL, label)
			          : concept(c, ABSENT, k[kind].absent, k[kind].absent_display, NULL));
			put(c, r, "patient", reference(c, c->patient));
		} else {
			put(c, r, "clinicalStatus",
			    active_status(c, "http://terminology.hl7.org/CodeSystem/condition-clinical"));
			put(c, r, "code",
			    label ? concept(c, NULL, NULL, NULL, label)
			          : concept(c, ABSENT, k[kind].absent, k[kind].absent_display, NULL));
			put(c, r, "subject", reference(c, c->patient));
		}
		entry_ref(c, entries, url);
	}
	s = section(c, k[kind].title, k[kind].code, k[kind].display, &it, k[kind].empty_line, entries);
	items_dispose(&it);
	return s;
}

static const char *procedure_status(const char *st)
{
	if (st && strcmp(st, "done") == 0)
		return "completed";
	if (st && strcmp(st, "cancelled") == 0)
		return "not-done";
	return "preparation";
}

static int line_of(char *out, size_t cap, const cw_view_entity *e, const char *const *names,
                   const char *const *labels)
{
	size_t i, used = 0;
	int n;

	out[0] = '\0';
	for (i = 0; names[i]; i++) {
		const char *v = cw_view_get(e, names[i]);

		if (v == NULL || used >= cap)
			continue;
		n = snprintf(out + used, cap - used, "%s%s%s", used ? "; " : "", labels[i], v);
		if (n > 0)
			used += (size_t)n;
	}
	return used > 0;
}

static cJSON *procedures_section(ips_ctx *c, const cw_case_view *v)
{
	static const char *const names[] = { "name", "clinic", "surgeon", "date", "status", NULL };
	static const char *const labels[] = { "", "at ", "by ", "on ", "", NULL };
	items lines = { { NULL }, 0 };
	cJSON *entries = arr(c), *r, *s, *a;
	char url[48], line[1024], when[40];
	size_t i;

	for (i = 0; i < v->nentities && lines.n < MAX_ITEMS; i++) {
		const cw_view_entity *e = &v->entities[i];

		if (e->kind != CW_KIND_PROCEDURE || e->removed || cw_view_get(e, "name") == NULL)
			continue;
		if ((r = add_resource(c, "Procedure", url)) == NULL)
			break;
		str(c, r, "status", procedure_status(cw_view_get(e, "status")));
		put(c, r, "code", concept(c, NULL, NULL, NULL, cw_view_get(e, "name")));
		put(c, r, "subject", reference(c, c->patient));
		fhir_datetime(when, cw_view_get(e, "date"));
		if (when[0])
			str(c, r, "performedDateTime", when);
		if (cw_view_get(e, "surgeon")) {
			cJSON *p = obj(c);

			put(c, p, "actor", display_ref(c, cw_view_get(e, "surgeon")));
			a = arr(c);
			push(c, a, p);
			put(c, r, "performer", a);
		}
		if (cw_view_get(e, "clinic"))
			put(c, r, "location", display_ref(c, cw_view_get(e, "clinic")));
		entry_ref(c, entries, url);
		if (line_of(line, sizeof(line), e, names, labels) &&
		    (lines.v[lines.n] = strdup(line)) != NULL)
			lines.n++;
	}
	s = section(c, "History of Procedures", "47519-4", "History of Procedures Document", &lines,
	            "No procedures were recorded.", entries);
	items_dispose(&lines);
	return s;
}

/* The follow-up plan as lines: recovery window, follow-up appointments,
 * open tasks. */
static void plan_lines(items *out, const cw_case_view *v)
{
	size_t i;
	char line[1024];
	const char *rd = cw_view_get(v->self, "recovery_days");

	out->n = 0;
	if (rd && (out->v[out->n] = malloc(96)) != NULL)
		snprintf(out->v[out->n++], 96, "Recovery before flying: %s days", rd);
	for (i = 0; i < v->nentities && out->n < MAX_ITEMS; i++) {
		const cw_view_entity *e = &v->entities[i];
		const char *kind = cw_view_get(e, "kind"), *status = cw_view_get(e, "status");

		if (e->removed)
			continue;
		if (e->kind == CW_KIND_APPOINTMENT && kind && strcmp(kind, "follow-up") == 0 &&
		    !(status && strcmp(status, "cancelled") == 0)) {
			snprintf(
			    line, sizeof(line), "Follow-up appointment %s%s%s%s%s",
			    or_text(cw_view_get(e, "start"), ""), cw_view_get(e, "provider") ? " with " : "",
			    or_text(cw_view_get(e, "provider"), ""), cw_view_get(e, "location") ? " at " : "",
			    or_text(cw_view_get(e, "location"), ""));
		} else if (e->kind == CW_KIND_TASK &&
		           !(cw_view_get(e, "done") && strcmp(cw_view_get(e, "done"), "yes") == 0)) {
			const char *due = cw_view_get(e, "due");

			snprintf(line, sizeof(line), "To do: %s%s%s%s", or_text(cw_view_get(e, "text"), ""),
			         due ? " (due " : "", due ? due : "", due ? ")" : "");
		} else {
			continue;
		}
		if ((out->v[out->n] = strdup(line)) != NULL)
			out->n++;
	}
}

static cJSON *plan_section(ips_ctx *c, const cw_case_view *v)
{
	items lines;
	cJSON *entries = arr(c), *r, *s;
	char url[48];
	size_t i;
	cw_buf desc = CW_BUF_INIT;

	plan_lines(&lines, v);
	if (lines.n > 0 && (r = add_resource(c, "CarePlan", url)) != NULL) {
		str(c, r, "status", "active");
		str(c, r, "intent", "plan");
		str(c, r, "title", "Follow-up after treatment abroad");
		for (i = 0; i < lines.n; i++)
			if ((i && put_s(&desc, ". ") < 0) || put_s(&desc, lines.v[i]) < 0)
				c->oom = 1;
		if (cw_buf_put_u8(&desc, 0) < 0)
			c->oom = 1;
		else
			str(c, r, "description", (const char *)desc.data);
		put(c, r, "subject", reference(c, c->patient));
		entry_ref(c, entries, url);
	}
	s = section(c, "Plan of Care", "18776-5", "Plan of care note", &lines,
	            "No follow-up plan was recorded.", entries);
	items_dispose(&lines);
	cw_buf_dispose(&desc);
	return s;
}

static cJSON *documents_section(ips_ctx *c, const cw_ips_context *ctx, char when[32])
{
	items lines = { { NULL }, 0 };
	cJSON *entries = arr(c), *r, *s, *content, *att, *a;
	char url[48], rel[320], line[600];
	size_t i;

	for (i = 0; i < ctx->ndocs; i++) {
		const cw_ips_doc *d = &ctx->docs[i];

		if ((r = add_resource(c, "DocumentReference", url)) == NULL)
			break;
		str(c, r, "status", "current");
		put(c, r, "type", concept(c, NULL, NULL, NULL, or_text(d->kind, "document")));
		put(c, r, "subject", reference(c, c->patient));
		str(c, r, "date", when);
		str(c, r, "description", d->title);
		att = obj(c);
		str(c, att, "contentType", d->content_type);
		snprintf(rel, sizeof(rel), "documents/%s", d->name);
		str(c, att, "url", rel);
		if (d->size <= UINT32_MAX)
			put(c, att, "size", cJSON_CreateNumber((double)d->size));
		str(c, att, "title", d->title);
		content = obj(c);
		put(c, content, "attachment", att);
		a = arr(c);
		push(c, a, content);
		put(c, r, "content", a);
		entry_ref(c, entries, url);
		snprintf(line, sizeof(line), "%s (%s, %" PRIu64 " bytes): documents/%s", d->title,
		         or_text(d->kind, "document"), d->size, d->name);
		if (lines.n < MAX_ITEMS && (lines.v[lines.n] = strdup(line)) != NULL)
			lines.n++;
	}
	s = section(c, "Documents", NULL, NULL, &lines, "No documents are attached.", entries);
	items_dispose(&lines);
	return s;
}

static const char *fhir_gender(const char *sex)
{
	if (sex == NULL)
		return NULL;
	if (strcmp(sex, "female") == 0 || strcmp(sex, "male") == 0 || strcmp(sex, "other") == 0)
		return sex;
	return "unknown";
}

static void patient_resource(ips_ctx *c, const cw_case_view *v)
{
	cJSON *r = add_resource(c, "Patient", c->patient), *a, *o;
	const char *name = or_text(cw_view_get(v->self, "name"), "Unknown");
	const char *sp = strrchr(name, ' ');

	if (r == NULL)
		return;
	o = obj(c);
	str(c, o, "text", name);
	if (sp && sp[1]) {
		cJSON *given = arr(c);
		char first[256];

		str(c, o, "family", sp + 1);
		snprintf(first, sizeof(first), "%.*s", (int)(sp - name), name);
		push(c, given, cJSON_CreateString(first));
		put(c, o, "given", given);
	}
	a = arr(c);
	push(c, a, o);
	put(c, r, "name", a);
	if (fhir_gender(cw_view_get(v->self, "sex")))
		str(c, r, "gender", fhir_gender(cw_view_get(v->self, "sex")));
	if (cw_view_get(v->self, "dob"))
		str(c, r, "birthDate", cw_view_get(v->self, "dob"));
	if (cw_view_get(v->self, "phone") || cw_view_get(v->self, "email")) {
		a = arr(c);
		if (cw_view_get(v->self, "phone")) {
			o = obj(c);
			str(c, o, "system", "phone");
			str(c, o, "value", cw_view_get(v->self, "phone"));
			push(c, a, o);
		}
		if (cw_view_get(v->self, "email")) {
			o = obj(c);
			str(c, o, "system", "email");
			str(c, o, "value", cw_view_get(v->self, "email"));
			push(c, a, o);
		}
		put(c, r, "telecom", a);
	}
	if (cw_view_get(v->self, "address") || cw_view_get(v->self, "home_country")) {
		o = obj(c);
		if (cw_view_get(v->self, "address"))
			str(c, o, "text", cw_view_get(v->self, "address"));
		if (cw_view_get(v->self, "home_country"))
			str(c, o, "country", cw_view_get(v->self, "home_country"));
		a = arr(c);
		push(c, a, o);
		put(c, r, "address", a);
	}
	if (cw_view_get(v->self, "emergency_contact")) {
		cJSON *n = obj(c);

		o = obj(c);
		str(c, n, "text", cw_view_get(v->self, "emergency_contact"));
		put(c, o, "name", n);
		a = arr(c);
		push(c, a, o);
		put(c, r, "contact", a);
	}
	if (cw_view_get(v->self, "languages")) {
		o = obj(c);
		put(c, o, "language", concept(c, NULL, NULL, NULL, cw_view_get(v->self, "languages")));
		a = arr(c);
		push(c, a, o);
		put(c, r, "communication", a);
	}
}

static void org_resource(ips_ctx *c, const cw_ips_context *ctx)
{
	cJSON *r = add_resource(c, "Organization", c->org), *a, *o, *n;

	if (r == NULL)
		return;
	str(c, r, "name", or_text(ctx->agency, "The agency"));
	o = obj(c);
	n = obj(c);
	str(c, n, "text", or_text(ctx->coordinator, "Coordinator"));
	put(c, o, "name", n);
	if (ctx->contact && *ctx->contact) {
		cJSON *t = obj(c);

		str(c, t, "system", "other");
		str(c, t, "value", ctx->contact);
		a = arr(c);
		push(c, a, t);
		put(c, o, "telecom", a);
	}
	a = arr(c);
	push(c, a, o);
	put(c, r, "contact", a);
}

static int build_json(cw_buf *out, const cw_case_view *v, const cw_ips_context *ctx)
{
	ips_ctx c;
	cJSON *bundle = NULL, *comp, *sections, *a, *o;
	char comp_url[48], when[32], *text = NULL;
	int error = CW_OK;

	memset(&c, 0, sizeof(c));
	cw_when_utc(when, ctx->created_at);
	bundle = obj(&c);
	str(&c, bundle, "resourceType", "Bundle");
	str(&c, bundle, "id", ctx->handoff_id);
	o = obj(&c);
	a = arr(&c);
	push(&c, a, cJSON_CreateString("http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips"));
	put(&c, o, "profile", a);
	put(&c, bundle, "meta", o);
	o = obj(&c);
	str(&c, o, "system", "urn:caseway:handoff");
	str(&c, o, "value", ctx->handoff_id);
	put(&c, bundle, "identifier", o);
	str(&c, bundle, "type", "document");
	str(&c, bundle, "timestamp", when);
	c.entries = arr(&c);
	put(&c, bundle, "entry", c.entries);
	if (c.oom)
		goto done;

	/* the Composition first; its sections are filled in once the resources exist */
	comp = add_resource(&c, "Composition", comp_url);
	patient_resource(&c, v);
	org_resource(&c, ctx);
	if (c.oom || comp == NULL)
		goto done;
	str(&c, comp, "status", "final");
	put(&c, comp, "type", concept(&c, LOINC, "60591-5", "Patient summary Document", NULL));
	put(&c, comp, "subject", reference(&c, c.patient));
	str(&c, comp, "date", when);
	a = arr(&c);
	push(&c, a, reference(&c, c.org));
	put(&c, comp, "author", a);
	str(&c, comp, "title", "International Patient Summary");
	put(&c, comp, "custodian", reference(&c, c.org));
	sections = arr(&c);
	push(&c, sections, free_text_section(&c, 0, cw_view_get(v->self, "medications")));
	push(&c, sections, free_text_section(&c, 1, cw_view_get(v->self, "allergies")));
	push(&c, sections, free_text_section(&c, 2, cw_view_get(v->self, "conditions")));
	push(&c, sections, procedures_section(&c, v));
	push(&c, sections, plan_section(&c, v));
	push(&c, sections, documents_section(&c, ctx, when));
	put(&c, comp, "section", sections);
	if (c.oom)
		goto done;
	if ((text = cJSON_Print(bundle)) == NULL) {
		c.oom = 1;
		goto done;
	}
	error = cw_buf_put(out, text, strlen(text));
	if (error == CW_OK)
		error = cw_buf_put_u8(out, '\n');
done:
	if (c.oom)
		error = cw_error_nomem();
	if (text)
		cJSON_free(text);
	cJSON_Delete(bundle);
	return error;
}

/* ---- summary.html ------------------------------------------------------------------ */

static const char style[] =
    "body{font-family:sans-serif;max-width:52em;margin:1.5em auto;padding:0 1em;color:#111;"
    "background:#fff;line-height:1.4}"
    "h1{font-size:1.6em;border-bottom:3px solid #1d4f91;padding-bottom:.3em;color:#1d4f91}"
    "h2{font-size:1.15em;margin-top:1.4em;color:#1d4f91;border-bottom:1px solid #ccd}"
    "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccd;padding:.3em .5em;"
    "text-align:left;vertical-align:top}th{background:#eef2f8;width:30%}"
    ".warn{background:#fff3cd;border:1px solid #e0b400;padding:.5em 1em}"
    ".muted{color:#555;font-size:.9em}";

static int row(cw_buf *b, const char *label, const char *value)
{
	int error;

	if (value == NULL || *value == '\0')
		return CW_OK;
	error = put_s(b, "<tr><th>");
	error = error ? error : put_esc(b, label);
	error = error ? error : put_s(b, "</th><td>");
	error = error ? error : put_esc(b, value);
	return error ? error : put_s(b, "</td></tr>\n");
}

static int list_or(cw_buf *b, const char *text, const char *none)
{
	items it;
	size_t i;
	int error;

	if ((error = items_split(&it, text)) < 0)
		return error;
	if (it.n == 0) {
		error = put_s(b, "<p><em>");
		error = error ? error : put_esc(b, none);
		error = error ? error : put_s(b, "</em></p>\n");
	} else {
		error = put_s(b, "<ul>\n");
		for (i = 0; i < it.n && !error; i++) {
			error = put_s(b, "<li>");
			error = error ? error : put_esc(b, it.v[i]);
			error = error ? error : put_s(b, "</li>\n");
		}
		error = error ? error : put_s(b, "</ul>\n");
	}
	items_dispose(&it);
	return error;
}

static int html_items(cw_buf *b, const cw_case_view *v, cw_kind kind, const char *const *names,
                      const char *const *heads, const char *none)
{
	size_t i, j, n = 0;
	int error = CW_OK;

	for (i = 0; i < v->nentities && !error; i++) {
		const cw_view_entity *e = &v->entities[i];

		if (e->kind != kind || e->removed)
			continue;
		if (n++ == 0) {
			error = put_s(b, "<table>\n<tr>");
			for (j = 0; heads[j] && !error; j++) {
				error = put_s(b, "<th>");
				error = error ? error : put_esc(b, heads[j]);
				error = error ? error : put_s(b, "</th>");
			}
			error = error ? error : put_s(b, "</tr>\n");
		}
		error = error ? error : put_s(b, "<tr>");
		for (j = 0; names[j] && !error; j++) {
			error = put_s(b, "<td>");
			error = error ? error : put_esc(b, or_text(cw_view_get(e, names[j]), ""));
			error = error ? error : put_s(b, "</td>");
		}
		error = error ? error : put_s(b, "</tr>\n");
	}
	if (error)
		return error;
	if (n)
		return put_s(b, "</table>\n");
	error = put_s(b, "<p><em>");
	error = error ? error : put_esc(b, none);
	return error ? error : put_s(b, "</em></p>\n");
}

static int build_html(cw_buf *b, const cw_case_view *v, const cw_ips_context *ctx)
{
	static const char *const proc_names[] = { "name", "clinic", "surgeon", "date", "status", NULL };
	static const char *const proc_heads[] = { "Procedure", "Clinic", "Surgeon", "Date", "Status", NULL };
	static const char *const appt_names[] = { "start", "kind", "provider", "location", "status", NULL };
	static const char *const appt_heads[] = { "When", "Kind", "Provider", "Where", "Status", NULL };
	const cw_view_entity *p = v->self;
	cw_warning *warn = NULL;
	cw_check_settings cs;
	size_t nwarn = 0, i;
	items plan;
	char when[32];
	int error;

	cw_when_utc(when, ctx->created_at);
	error = put_s(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	                 "<title>Patient summary: ");
	error = error ? error : put_esc(b, or_text(cw_view_get(p, "name"), "patient"));
	error = error ? error : put_s(b, "</title>\n<style>");
	error = error ? error : put_s(b, style);
	error = error ? error : put_s(b, "</style>\n</head>\n<body>\n<h1>Patient summary: ");
	error = error ? error : put_esc(b, or_text(cw_view_get(p, "name"), "patient"));
	error = error ? error : put_s(b, "</h1>\n<p class=\"muted\">Handed over by ");
	error = error ? error : put_esc(b, or_text(ctx->coordinator, "the coordinator"));
	error = error ? error : put_s(b, " of ");
	error = error ? error : put_esc(b, or_text(ctx->agency, "the agency"));
	error = error ? error : put_s(b, " on ");
	error = error ? error : put_esc(b, when);
	error = error ? error
	              : put_s(b, ". The same record, for your EHR, is in ips.json (HL7 FHIR R4, "
	                         "International Patient Summary).</p>\n");

	error = error ? error : put_s(b, "<h2>Patient</h2>\n<table>\n");
	error = error ? error : row(b, "Name", cw_view_get(p, "name"));
	error = error ? error : row(b, "Date of birth", cw_view_get(p, "dob"));
	error = error ? error : row(b, "Sex", cw_view_get(p, "sex"));
	error = error ? error : row(b, "Nationality", cw_view_get(p, "nationality"));
	error = error ? error : row(b, "Languages", cw_view_get(p, "languages"));
	error = error ? error : row(b, "Interpreter needed", cw_view_get(p, "interpreter"));
	error = error ? error : row(b, "Phone", cw_view_get(p, "phone"));
	error = error ? error : row(b, "E-mail", cw_view_get(p, "email"));
	error = error ? error : row(b, "Home address", cw_view_get(p, "address"));
	error = error ? error : row(b, "Home country", cw_view_get(p, "home_country"));
	error = error ? error : row(b, "Emergency / family contact", cw_view_get(p, "emergency_contact"));
	error = error ? error : row(b, "Home doctor", cw_view_get(p, "home_doctor"));
	error = error ? error : row(b, "Accessibility needs", cw_view_get(p, "accessibility"));
	error = error ? error : row(b, "Dietary needs", cw_view_get(p, "diet"));
	error = error ? error : put_s(b, "</table>\n");

	error = error ? error : put_s(b, "<h2>Treatment abroad</h2>\n");
	error = error
	            ? error
	            : html_items(b, v, CW_KIND_PROCEDURE, proc_names, proc_heads, "No procedures recorded.");
	error = error ? error : put_s(b, "<h2>Appointments</h2>\n");
	error = error ? error
	              : html_items(b, v, CW_KIND_APPOINTMENT, appt_names, appt_heads,
	                           "No appointments recorded.");

	error = error ? error : put_s(b, "<h2>Medications</h2>\n");
	error = error ? error
	              : list_or(b, cw_view_get(p, "medications"), "No information about medications.");
	error = error ? error : put_s(b, "<h2>Allergies</h2>\n");
	error = error ? error : list_or(b, cw_view_get(p, "allergies"), "No information about allergies.");
	error = error ? error : put_s(b, "<h2>Problems and conditions</h2>\n");
	error = error ? error : list_or(b, cw_view_get(p, "conditions"), "No information about problems.");

	error = error ? error : put_s(b, "<h2>Warnings</h2>\n");
	cw_check_defaults(&cs, ctx->now);
	if (!error && cw_check_case(&warn, &nwarn, v, &cs) < 0)
		nwarn = 0;
	if (!error && nwarn == 0)
		error = put_s(b, "<p><em>None.</em></p>\n");
	for (i = 0; i < nwarn && !error; i++) {
		error = put_s(b, "<p class=\"warn\">");
		error = error ? error : put_esc(b, warn[i].message);
		error = error ? error : put_s(b, "</p>\n");
	}
	free(warn);

	error = error ? error : put_s(b, "<h2>Follow-up plan</h2>\n");
	if (!error) {
		plan_lines(&plan, v);
		if (plan.n == 0)
			error = put_s(b, "<p><em>No follow-up plan was recorded.</em></p>\n");
		else
			error = put_s(b, "<ul>\n");
		for (i = 0; i < plan.n && !error; i++) {
			error = put_s(b, "<li>");
			error = error ? error : put_esc(b, plan.v[i]);
			error = error ? error : put_s(b, "</li>\n");
		}
		if (!error && plan.n)
			error = put_s(b, "</ul>\n");
		items_dispose(&plan);
	}

	error = error ? error : put_s(b, "<h2>Documents</h2>\n");
	if (!error && ctx->ndocs == 0)
		error = put_s(b, "<p><em>No documents are attached.</em></p>\n");
	else if (!error)
		error = put_s(b, "<table>\n<tr><th>Title</th><th>Kind</th><th>File (beside this page)</th>"
		                 "<th>Size</th></tr>\n");
	for (i = 0; i < ctx->ndocs && !error; i++) {
		error = put_s(b, "<tr><td>");
		error = error ? error : put_esc(b, ctx->docs[i].title);
		error = error ? error : put_s(b, "</td><td>");
		error = error ? error : put_esc(b, or_text(ctx->docs[i].kind, "document"));
		error = error ? error : put_s(b, "</td><td>documents/");
		error = error ? error : put_esc(b, ctx->docs[i].name);
		error = error ? error : put_f(b, "</td><td>%" PRIu64 " bytes</td></tr>\n", ctx->docs[i].size);
	}
	if (!error && ctx->ndocs)
		error = put_s(b, "</table>\n");

	error = error ? error : put_s(b, "<h2>Your contact at the agency</h2>\n<table>\n");
	error = error ? error : row(b, "Agency", ctx->agency);
	error = error ? error : row(b, "Coordinator", ctx->coordinator);
	error = error ? error : row(b, "Contact", ctx->contact);
	error = error ? error : row(b, "Agency key fingerprint", ctx->org_fingerprint);
	error = error ? error : put_s(b, "</table>\n<p class=\"muted\">Handoff ");
	error = error ? error : put_esc(b, ctx->handoff_id);
	error = error ? error
	              : put_s(b, ". Send follow-up notes back with <code>caseway handoff reply</code>; "
	                         "they reach the agency sealed and signed with your key.</p>\n"
	                         "</body>\n</html>\n");
	return error;
}

/* ---- public ------------------------------------------------------------------------ */

const char *cw_ips_content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} t[] = {
		{ ".pdf", "application/pdf" }, { ".png", "image/png" },
		{ ".jpg", "image/jpeg" },      { ".jpeg", "image/jpeg" },
		{ ".gif", "image/gif" },       { ".txt", "text/plain" },
		{ ".html", "text/html" },      { ".json", "application/json" },
		{ ".xml", "application/xml" }, { ".dcm", "application/dicom" },
		{ ".tif", "image/tiff" },      { ".tiff", "image/tiff" },
	};
	const char *dot = name ? strrchr(name, '.') : NULL;
	size_t i, j;

	if (dot == NULL)
		return "application/octet-stream";
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strlen(dot) != strlen(t[i].ext))
			continue;
		for (j = 0; dot[j] && (dot[j] | 0x20) == t[i].ext[j]; j++)
			;
		if (dot[j] == '\0')
			return t[i].type;
	}
	return "application/octet-stream";
}

int cw_ips_build(cw_buf *json_out, cw_buf *html_out, const cw_case_view *v, const cw_ips_context *ctx)
{
	int error;

	if ((error = build_json(json_out, v, ctx)) < 0)
		return error;
	if ((error = build_html(html_out, v, ctx)) < 0)
		return error == CW_EINVALID ? cw_error(CW_EINVALID, "the summary is too large") : error;
	return CW_OK;
}
