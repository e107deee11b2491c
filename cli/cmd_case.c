/* cli/cmd_case.c - cases: new, list, show, set, stage, items, check, agenda,
 * conflicts, resolve, log. */
#include "cli.h"
#include "node/agenda.h"
#include "node/case.h"
#include "node/check.h"
#include "node/docs.h"
#include "node/org.h"
#include "util/error.h"
#include "util/when.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))
#define MAXPOS 64

/* --- shared bits ------------------------------------------------------------------ */

/* Split "field=value" words into kv (pointing into the words). */
static int parse_kv(cw_kv *kv, size_t *n, size_t cap, const char **words, size_t nwords)
{
	size_t i;

	for (i = 0; i < nwords; i++) {
		char *eq = strchr(words[i], '=');

		if (eq == NULL || eq == words[i])
			return cw_error(CW_EINVALID, "'%.60s' is not field=value", words[i]);
		if (*n >= cap)
			return cw_error(CW_EINVALID, "too many fields at once");
		*eq = '\0';
		kv[*n].name = words[i];
		kv[*n].value = eq + 1;
		(*n)++;
	}
	return CW_OK;
}

static int add_kv(cw_kv *kv, size_t *n, size_t cap, const char *name, const char *value)
{
	if (value == NULL)
		return CW_OK;
	if (*n >= cap)
		return cw_error(CW_EINVALID, "too many fields at once");
	kv[*n].name = name;
	kv[*n].value = value;
	(*n)++;
	return CW_OK;
}

static void when_of_hlc(char out[32], uint64_t hlc)
{
	cw_when_utc(out, (int64_t)(cw_hlc_ms(hlc) / 1000));
}

typedef struct {
	cw_home *h;
	cw_store *st;
	uint8_t case_id[CW_ID_BYTES];
	char hex[2 * CW_ID_BYTES + 1];
} opened;

static int open_case(opened *o, const char *prefix)
{
	int error;

	memset(o, 0, sizeof(*o));
	if ((error = cli_open_home(&o->h)) < 0)
		return error;
	o->st = cw_home_store(o->h);
	if (prefix == NULL)
		return CW_OK;
	if ((error = cw_case_find(o->case_id, o->st, prefix)) < 0)
		return error;
	cw_id_hex(o->hex, o->case_id);
	return CW_OK;
}

static void close_case(opened *o)
{
	cw_home_free(o->h);
	o->h = NULL;
}

static int done_json_id(const char *key, const char *hex)
{
	if (cli_g.json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, key, hex);
		cli_json_print(doc);
	}
	return CW_OK;
}

/* Add an item from kv to the case named by prefix and report its id. */
static int add_item(const char *prefix, cw_kind kind, const cw_kv *kv, size_t n, const char *what)
{
	opened o;
	uint8_t entity[CW_ID_BYTES];
	char hex[2 * CW_ID_BYTES + 1];
	int error;

	if ((error = open_case(&o, prefix)) < 0 ||
	    (error = cw_case_add(entity, o.st, cw_home_keys(o.h), o.case_id, kind, kv, n)) < 0)
		goto done;
	cw_id_hex(hex, entity);
	done_json_id("id", hex);
	cli_say("Added %s %.8s to case %.8s.", what, hex, o.hex);
done:
	close_case(&o);
	return error;
}

/* --- case new / set / stage / list ---------------------------------------------------- */

static int case_new(int argc, char **argv)
{
	cli_opt opts[] = { { "--patient", 1, NULL },
		           { "--dob", 1, NULL },
		           { "--nationality", 1, NULL },
		           { "--procedure", 1, NULL } };
	const char *pos[MAXPOS];
	cw_kv kv[CW_OP_MAX_FIELDS];
	size_t npos, n = 0;
	opened o;
	uint8_t id[CW_ID_BYTES];
	char hex[2 * CW_ID_BYTES + 1];
	const char *proc;
	int error;

	memset(&o, 0, sizeof(o));
	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, MAXPOS, &npos)) < 0)
		goto done;
	if (cli_opt_value(opts, NOPTS(opts), "--patient") == NULL) {
		error = cw_error(CW_EINVALID, "case new needs --patient NAME");
		goto done;
	}
	if ((error = add_kv(kv, &n, CW_OP_MAX_FIELDS - 1, "name",
	                    cli_opt_value(opts, NOPTS(opts), "--patient"))) < 0 ||
	    (error = add_kv(kv, &n, CW_OP_MAX_FIELDS - 1, "dob", cli_opt_value(opts, NOPTS(opts), "--dob"))) <
	        0 ||
	    (error = add_kv(kv, &n, CW_OP_MAX_FIELDS - 1, "nationality",
	                    cli_opt_value(opts, NOPTS(opts), "--nationality"))) < 0 ||
	    (error = parse_kv(kv, &n, CW_OP_MAX_FIELDS - 1, pos, npos)) < 0)
		goto done;
	proc = cli_opt_value(opts, NOPTS(opts), "--procedure");
	if ((error = open_case(&o, NULL)) < 0 || (error = cw_store_begin(o.st)) < 0)
		goto done;
	if ((error = cw_case_create(id, o.st, cw_home_keys(o.h), kv, n)) < 0 ||
	    (proc && (error = cw_case_add(NULL, o.st, cw_home_keys(o.h), id, CW_KIND_PROCEDURE,
	                                  &(cw_kv){ "name", proc }, 1)) < 0) ||
	    (error = cw_store_commit(o.st)) < 0) {
		cw_store_rollback(o.st);
		goto done;
	}
	cw_id_hex(hex, id);
	done_json_id("id", hex);
	if (!cli_g.json && cli_g.quiet)
		printf("%s\n", hex);
	cli_say("New case %s for %s (stage: inquiry).", hex, kv[0].value);
done:
	close_case(&o);
	return error;
}

static int case_set(int argc, char **argv)
{
	const char *pos[MAXPOS];
	cw_kv kv[CW_OP_MAX_FIELDS];
	size_t npos, n = 0;
	opened o;
	int error;

	memset(&o, 0, sizeof(o));
	if ((error = cli_parse(argc, argv, NULL, 0, pos, MAXPOS, &npos)) < 0)
		goto done;
	if (npos < 2) {
		error = cw_error(CW_EINVALID, "usage: caseway case set CASE field=value ...");
		goto done;
	}
	if ((error = parse_kv(kv, &n, CW_OP_MAX_FIELDS, pos + 1, npos - 1)) < 0 ||
	    (error = open_case(&o, pos[0])) < 0 ||
	    (error = cw_case_set(o.st, cw_home_keys(o.h), o.case_id, kv, n)) < 0)
		goto done;
	cli_say("Case %.8s updated (%zu field%s).", o.hex, n, n == 1 ? "" : "s");
done:
	close_case(&o);
	return error;
}

static int case_stage(int argc, char **argv)
{
	const char *pos[2];
	size_t npos;
	opened o;
	cw_kv kv;
	int error;

	memset(&o, 0, sizeof(o));
	if ((error = cli_parse(argc, argv, NULL, 0, pos, 2, &npos)) < 0)
		goto done;
	if (npos != 2) {
		error = cw_error(CW_EINVALID, "usage: caseway case stage CASE STAGE");
		goto done;
	}
	kv.name = "stage";
	kv.value = pos[1];
	if ((error = open_case(&o, pos[0])) < 0 ||
	    (error = cw_case_set(o.st, cw_home_keys(o.h), o.case_id, &kv, 1)) < 0)
		goto done;
	cli_say("Case %.8s is now %s.", o.hex, pos[1]);
done:
	close_case(&o);
	return error;
}

static int list_one(const cw_case_summary *s, void *ctx)
{
	char when[32];

	if (cli_g.json) {
		cJSON *d = cJSON_CreateObject();

		cJSON_AddStringToObject(d, "id", s->hex);
		cJSON_AddStringToObject(d, "patient", s->patient);
		cJSON_AddStringToObject(d, "stage", s->stage);
		when_of_hlc(when, s->created_hlc);
		cJSON_AddStringToObject(d, "created", when);
		when_of_hlc(when, s->updated_hlc);
		cJSON_AddStringToObject(d, "updated", when);
		cJSON_AddNumberToObject(d, "conflicts", s->conflicts);
		cJSON_AddItemToArray(ctx, d);
		return CW_OK;
	}
	when_of_hlc(when, s->updated_hlc);
	printf("%.8s  %-13s  %-32.32s  %.10s%s\n", s->hex, s->stage, s->patient, when,
	       s->conflicts ? "  (conflict)" : "");
	return CW_OK;
}

static int case_list(int argc, char **argv)
{
	cli_opt opts[] = { { "--stage", 1, NULL }, { "--search", 1, NULL } };
	const char *pos[1], *stage;
	size_t npos, i;
	opened o;
	cJSON *arr = NULL;
	int error;

	memset(&o, 0, sizeof(o));
	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 0, &npos)) < 0)
		goto done;
	if ((stage = cli_opt_value(opts, NOPTS(opts), "--stage")) != NULL) {
		for (i = 0; cw_stages[i] && strcmp(cw_stages[i], stage) != 0; i++)
			;
		if (cw_stages[i] == NULL) {
			error = cw_error(CW_EINVALID, "--stage: '%.40s' is not a stage", stage);
			goto done;
		}
	}
	if ((error = open_case(&o, NULL)) < 0)
		goto done;
	arr = cJSON_CreateArray();
	if (!cli_g.json)
		printf("%-8s  %-13s  %-32s  %s\n", "CASE", "STAGE", "PATIENT", "UPDATED");
	if ((error = cw_case_list(o.st, stage, cli_opt_value(opts, NOPTS(opts), "--search"), list_one, arr)) <
	    0)
		goto done;
	if (cli_g.json) {
		cli_json_print(arr);
		arr = NULL;
	}
done:
	cJSON_Delete(arr);
	close_case(&o);
	return error;
}

/* --- case show -------------------------------------------------------------------------- */

static const char *const show_order[] = { "name",
	                                  "dob",
	                                  "sex",
	                                  "nationality",
	                                  "languages",
	                                  "interpreter",
	                                  "phone",
	                                  "email",
	                                  "home_country",
	                                  "address",
	                                  "emergency_contact",
	                                  "passport",
	                                  "passport_expiry",
	                                  "home_doctor",
	                                  "home_doctor_email",
	                                  "allergies",
	                                  "conditions",
	                                  "medications",
	                                  "diet",
	                                  "religion",
	                                  "culture",
	                                  "accessibility",
	                                  "recovery_days",
	                                  "consent",
	                                  "consent_doc",
	                                  "preauth",
	                                  "claim",
	                                  "cost_tolerance",
	                                  "rating",
	                                  "testimonial",
	                                  NULL };

static cJSON *entity_json(const cw_view_entity *e)
{
	cJSON *d = cJSON_CreateObject();
	char when[32];
	size_t i;

	cJSON_AddStringToObject(d, "id", e->hex);
	for (i = 0; i < e->nfields; i++)
		cJSON_AddStringToObject(d, e->fields[i].name, e->fields[i].value);
	when_of_hlc(when, e->created_hlc);
	cJSON_AddStringToObject(d, "created", when);
	cJSON_AddStringToObject(d, "created_by", e->creator);
	if (e->removed)
		cJSON_AddBoolToObject(d, "removed", 1);
	return d;
}

/* One conflict as JSON: id, case, item, kind, field, shown value, every value. */
static cJSON *conflict_json(const cw_case_view *v, const cw_view_conflict *cf)
{
	cJSON *o = cJSON_CreateObject(), *vals = cJSON_CreateArray();
	char hex[2 * CW_ID_BYTES + 1], when[32];
	size_t j;

	cw_id_hex(hex, cf->entity);
	cJSON_AddStringToObject(o, "id", cf->id);
	cJSON_AddStringToObject(o, "case", v->hex);
	cJSON_AddStringToObject(o, "item", hex);
	cJSON_AddStringToObject(o, "kind", cw_model_kind(cf->kind) ? cw_model_kind(cf->kind)->name : "");
	cJSON_AddStringToObject(o, "field", cf->field);
	cJSON_AddStringToObject(o, "shown", cf->shown);
	for (j = 0; j < cf->nvalues; j++) {
		cJSON *x = cJSON_CreateObject();

		when_of_hlc(when, cf->values[j].hlc);
		cJSON_AddStringToObject(x, "value", cf->values[j].value);
		cJSON_AddStringToObject(x, "by", cf->values[j].author);
		cJSON_AddStringToObject(x, "at", when);
		cJSON_AddItemToArray(vals, x);
	}
	cJSON_AddItemToObject(o, "values", vals);
	return o;
}

/* One conflict for people: the id, the field, the value shown, every value. */
static void conflict_text(const cw_case_view *v, const cw_view_conflict *c)
{
	char when[32];
	size_t j;

	printf("  %s  case %.8s  %s %s: showing '%s'\n", c->id, v->hex,
	       cw_model_kind(c->kind) ? cw_model_kind(c->kind)->name : "?", c->field, c->shown);
	for (j = 0; j < c->nvalues; j++) {
		when_of_hlc(when, c->values[j].hlc);
		printf("      '%s' by %s at %s\n", c->values[j].value, c->values[j].author, when);
	}
}

static void show_json(const cw_case_view *v)
{
	cJSON *doc = cJSON_CreateObject(), *items, *c;
	char digest[2 * CW_HASH_BYTES + 1];
	size_t i;
	int k;

	cw_hex_encode(digest, v->digest, CW_HASH_BYTES);
	cJSON_AddStringToObject(doc, "id", v->hex);
	cJSON_AddStringToObject(doc, "stage",
	                        cw_view_get(v->self, "stage") ? cw_view_get(v->self, "stage") : "");
	cJSON_AddItemToObject(doc, "case", entity_json(v->self));
	items = cJSON_AddObjectToObject(doc, "items");
	for (k = CW_KIND_PROCEDURE; k <= CW_KIND_MAX; k++) {
		cJSON *arr = cJSON_CreateArray();

		for (i = 0; i < v->nentities; i++)
			if ((int)v->entities[i].kind == k && !v->entities[i].removed)
				cJSON_AddItemToArray(arr, entity_json(&v->entities[i]));
		cJSON_AddItemToObject(items, cw_model_kind(k)->name, arr);
	}
	c = cJSON_AddArrayToObject(doc, "conflicts");
	for (i = 0; i < v->nconflicts; i++)
		cJSON_AddItemToArray(c, conflict_json(v, &v->conflicts[i]));
	cJSON_AddStringToObject(doc, "digest", digest);
	cli_json_print(doc);
}

/* How each kind of item is printed: a section title and the fields in the
 * order people read them. */
static const struct {
	const char *title;
	const char *fields[8];
} sections[CW_KIND_MAX + 1] = {
	[CW_KIND_PROCEDURE] = { "TREATMENT PLAN", { "name", "clinic", "surgeon", "date", "status" } },
	[CW_KIND_APPOINTMENT] = { "APPOINTMENTS",
	                          { "start", "end", "kind", "provider", "location", "status" } },
	[CW_KIND_FLIGHT] = { "FLIGHTS",
	                     { "number", "carrier", "from", "to", "depart", "arrive", "direction" } },
	[CW_KIND_STAY] = { "STAYS", { "hotel", "address", "check_in", "check_out", "accessible" } },
	[CW_KIND_TRANSFER] = { "GROUND TRANSPORT", { "pickup", "from", "to", "driver", "phone" } },
	[CW_KIND_VISA] = { "VISA", { "type", "number", "valid_from", "valid_to", "status" } },
	[CW_KIND_INSURANCE] = { "TRAVEL INSURANCE",
	                        { "provider", "policy", "valid_from", "valid_to", "phone" } },
	[CW_KIND_COST] = { "MONEY", { "type", "amount", "currency", "label" } },
	[CW_KIND_DOCUMENT] = { "DOCUMENTS", { "title", "kind", "size", "filename" } },
	[CW_KIND_NOTE] = { "NOTES AND CONTACT LOG", { "channel", "text" } },
	[CW_KIND_TASK] = { "TASKS", { "text", "due", "owner", "done" } },
	[CW_KIND_MEMBER] = { "SHARED WITH", { "name", "role", "device" } },
	[CW_KIND_HANDOFF] = { "HANDED TO THE FOLLOW-UP DOCTOR",
	                      { "doctor_name", "doctor", "sent", "document_count" } },
	[CW_KIND_DOCTOR_NOTE] = { "FROM THE FOLLOW-UP DOCTOR", { "text", "doctor", "written" } },
};

static void show_entity_line(const cw_view_entity *e)
{
	const cw_kind_def *k = cw_model_kind(e->kind);
	size_t i;
	int first = 1;

	printf("  [%.8s]", e->hex);
	for (i = 0; i < 8 && sections[e->kind].fields[i]; i++) {
		const char *name = sections[e->kind].fields[i];
		const char *val = cw_view_get(e, name);
		const cw_field_def *f = cw_model_field(k, name);

		if (val == NULL)
			continue;
		if (strchr(val, '\n'))
			printf("%s%s:\n      %s", first ? " " : "; ", f->label, val);
		else
			printf("%s%s: %s", first ? " " : "; ", f->label, val);
		first = 0;
	}
	putchar('\n');
}

/* Totals per currency: estimates, charges, payments, and what is still owed. */
static void show_money(const cw_case_view *v)
{
	struct {
		char cur[4];
		int64_t sum[3];
	} t[16];
	size_t n = 0, i, j;

	for (i = 0; i < v->nentities; i++) {
		const cw_view_entity *e = &v->entities[i];
		const char *type = cw_view_get(e, "type"), *cur = cw_view_get(e, "currency");
		int64_t minor;
		int slot;

		if (e->kind != CW_KIND_COST || e->removed || !type || !cur ||
		    cw_model_money(&minor, cw_view_get(e, "amount") ? cw_view_get(e, "amount") : "") < 0)
			continue;
		slot = strcmp(type, "estimate") == 0 ? 0 : strcmp(type, "charge") == 0 ? 1 : 2;
		for (j = 0; j < n && strcmp(t[j].cur, cur) != 0; j++)
			;
		if (j == n) {
			if (n == 16)
				continue;
			memset(&t[n], 0, sizeof(t[n]));
			snprintf(t[n].cur, sizeof(t[n].cur), "%s", cur);
			n++;
		}
		if (t[j].sum[slot] < INT64_MAX / 2 && minor < INT64_MAX / 2)
			t[j].sum[slot] += minor;
	}
	for (j = 0; j < n; j++) {
		int64_t owed = t[j].sum[1] - t[j].sum[2];

		printf(
		    "  Totals %s: estimated %lld.%02lld, charged %lld.%02lld, paid %lld.%02lld, still owed "
		    "%s%lld.%02lld\n",
		    t[j].cur, (long long)(t[j].sum[0] / 100), (long long)(t[j].sum[0] % 100),
		    (long long)(t[j].sum[1] / 100), (long long)(t[j].sum[1] % 100),
		    (long long)(t[j].sum[2] / 100), (long long)(t[j].sum[2] % 100), owed < 0 ? "-" : "",
		    (long long)(llabs(owed) / 100), (long long)(llabs(owed) % 100));
	}
}

static void show_text(const cw_case_view *v)
{
	const cw_kind_def *ck = cw_model_kind(CW_KIND_CASE);
	char digest[2 * CW_HASH_BYTES + 1], when[32];
	size_t i;
	int k;

	cw_hex_encode(digest, v->digest, CW_HASH_BYTES);
	printf("CASE %s\n", v->hex);
	printf("Stage: %s      Opened %s by device %s\n\n",
	       cw_view_get(v->self, "stage") ? cw_view_get(v->self, "stage") : "?",
	       (when_of_hlc(when, v->self->created_hlc), when), v->self->creator);
	printf("PATIENT\n");
	for (i = 0; show_order[i]; i++) {
		const char *val = cw_view_get(v->self, show_order[i]);
		const cw_field_def *f = cw_model_field(ck, show_order[i]);

		if (val)
			printf("  %-34s %s\n", f ? f->label : show_order[i], val);
	}
	for (k = CW_KIND_PROCEDURE; k <= CW_KIND_MAX; k++) {
		int any = 0;

		for (i = 0; i < v->nentities; i++) {
			if ((int)v->entities[i].kind != k || v->entities[i].removed)
				continue;
			if (!any)
				printf("\n%s\n", sections[k].title);
			any = 1;
			show_entity_line(&v->entities[i]);
		}
		if (any && k == CW_KIND_COST)
			show_money(v);
	}
	if (v->nconflicts) {
		printf("\nCONFLICTS (settle with `caseway resolve ID --take VALUE`)\n");
		for (i = 0; i < v->nconflicts; i++)
			conflict_text(v, &v->conflicts[i]);
	}
	printf("\nState digest %s\n", digest);
}

static int case_show(int argc, char **argv)
{
	const char *pos[1];
	size_t npos;
	opened o;
	cw_case_view *v = NULL;
	int error, erased = 0;

	memset(&o, 0, sizeof(o));
	if ((error = cli_parse(argc, argv, NULL, 0, pos, 1, &npos)) < 0)
		goto done;
	if (npos != 1) {
		error = cw_error(CW_EINVALID, "usage: caseway case show CASE");
		goto done;
	}
	if ((error = open_case(&o, pos[0])) < 0 || (error = cli_show_erased(&erased, o.h, o.case_id)) < 0 ||
	    erased || (error = cw_case_load(&v, o.st, o.case_id)) < 0)
		goto done;
	if (cli_g.json)
		show_json(v);
	else
		show_text(v);
done:
	cw_case_view_free(v);
	close_case(&o);
	return error;
}

static int case_edit(int argc, char **argv, int remove)
{
	const char *pos[MAXPOS];
	cw_kv kv[CW_OP_MAX_FIELDS];
	size_t npos, n = 0;
	opened o;
	uint8_t entity[CW_ID_BYTES];
	int error;

	memset(&o, 0, sizeof(o));
	if ((error = cli_parse(argc, argv, NULL, 0, pos, MAXPOS, &npos)) < 0)
		goto done;
	if (npos < 2 || (remove && npos != 2) || (!remove && npos < 3)) {
		error = cw_error(CW_EINVALID, remove ? "usage: caseway case remove CASE ITEM"
		                                     : "usage: caseway case edit CASE ITEM field=value ...");
		goto done;
	}
	if (!remove && (error = parse_kv(kv, &n, CW_OP_MAX_FIELDS, pos + 2, npos - 2)) < 0)
		goto done;
	if ((error = open_case(&o, pos[0])) < 0 ||
	    (error = cw_case_find_item(entity, NULL, o.st, o.case_id, 0, pos[1])) < 0)
		goto done;
	error = remove ? cw_case_remove(o.st, cw_home_keys(o.h), o.case_id, entity)
	               : cw_case_update(o.st, cw_home_keys(o.h), o.case_id, entity, kv, n);
	if (error == CW_OK)
		cli_say(remove ? "Removed item %.8s from case %.8s." : "Updated item %.8s of case %.8s.",
		        pos[1], o.hex);
done:
	close_case(&o);
	return error;
}

int cmd_case(int argc, char **argv)
{
	if (argc < 1)
		return cw_error(CW_EINVALID, "usage: caseway case new|list|show|set|stage|edit|remove ...");
	if (strcmp(argv[0], "new") == 0)
		return case_new(argc - 1, argv + 1);
	if (strcmp(argv[0], "list") == 0)
		return case_list(argc - 1, argv + 1);
	if (strcmp(argv[0], "show") == 0)
		return case_show(argc - 1, argv + 1);
	if (strcmp(argv[0], "set") == 0)
		return case_set(argc - 1, argv + 1);
	if (strcmp(argv[0], "stage") == 0)
		return case_stage(argc - 1, argv + 1);
	if (strcmp(argv[0], "edit") == 0)
		return case_edit(argc - 1, argv + 1, 0);
	if (strcmp(argv[0], "remove") == 0)
		return case_edit(argc - 1, argv + 1, 1);
	return cw_error(CW_EINVALID, "unknown case command '%.40s'", argv[0]);
}

/* --- items -------------------------------------------------------------------------- */

int cmd_note(int argc, char **argv)
{
	cli_opt opts[] = { { "--channel", 1, NULL } };
	const char *pos[2];
	cw_kv kv[2];
	size_t npos, n = 0;
	int error;

	if (argc < 1 || strcmp(argv[0], "add") != 0)
		return cw_error(CW_EINVALID, "usage: caseway note add CASE TEXT [--channel call|email|...]");
	if ((error = cli_parse(argc - 1, argv + 1, opts, NOPTS(opts), pos, 2, &npos)) < 0)
		return error;
	if (npos != 2)
		return cw_error(CW_EINVALID, "usage: caseway note add CASE TEXT");
	add_kv(kv, &n, 2, "text", pos[1]);
	add_kv(kv, &n, 2, "channel", cli_opt_value(opts, NOPTS(opts), "--channel"));
	return add_item(pos[0], CW_KIND_NOTE, kv, n, "note");
}

int cmd_appt(int argc, char **argv)
{
	cli_opt opts[] = { { "--kind", 1, NULL },     { "--start", 1, NULL },    { "--end", 1, NULL },
		           { "--provider", 1, NULL }, { "--location", 1, NULL }, { "--status", 1, NULL } };
	const char *pos[MAXPOS];
	cw_kv kv[CW_OP_MAX_FIELDS];
	size_t npos, n = 0, i;
	int error;

	if (argc < 1 || strcmp(argv[0], "add") != 0)
		return cw_error(CW_EINVALID, "usage: caseway appt add CASE --kind K --start T ...");
	if ((error = cli_parse(argc - 1, argv + 1, opts, NOPTS(opts), pos, MAXPOS, &npos)) < 0)
		return error;
	if (npos < 1)
		return cw_error(CW_EINVALID, "usage: caseway appt add CASE --kind K --start T ...");
	for (i = 0; i < NOPTS(opts); i++)
		add_kv(kv, &n, CW_OP_MAX_FIELDS, opts[i].name + 2, opts[i].value);
	if ((error = parse_kv(kv, &n, CW_OP_MAX_FIELDS, pos + 1, npos - 1)) < 0)
		return error;
	return add_item(pos[0], CW_KIND_APPOINTMENT, kv, n, "appointment");
}

int cmd_travel(int argc, char **argv)
{
	cli_opt opts[] = { { "--kind", 1, NULL } };
	const char *pos[MAXPOS], *kind;
	cw_kv kv[CW_OP_MAX_FIELDS];
	size_t npos, n = 0;
	const cw_kind_def *k;
	int error;

	if (argc < 1 || strcmp(argv[0], "add") != 0)
		return cw_error(CW_EINVALID, "usage: caseway travel add CASE --kind "
		                             "flight|stay|transfer|visa|insurance field=value ...");
	if ((error = cli_parse(argc - 1, argv + 1, opts, NOPTS(opts), pos, MAXPOS, &npos)) < 0)
		return error;
	kind = cli_opt_value(opts, NOPTS(opts), "--kind");
	if (npos < 1 || kind == NULL)
		return cw_error(CW_EINVALID, "usage: caseway travel add CASE --kind "
		                             "flight|stay|transfer|visa|insurance field=value ...");
	k = cw_model_kind_named(kind);
	if (k == NULL || k->code < CW_KIND_FLIGHT || k->code > CW_KIND_INSURANCE)
		return cw_error(CW_EINVALID,
		                "--kind: '%.40s' is not one of flight, stay, transfer, "
		                "visa, insurance",
		                kind);
	if ((error = parse_kv(kv, &n, CW_OP_MAX_FIELDS, pos + 1, npos - 1)) < 0)
		return error;
	return add_item(pos[0], k->code, kv, n, k->name);
}

int cmd_cost(int argc, char **argv)
{
	cli_opt opts[] = { { "--estimate", 0, NULL },
		           { "--charge", 0, NULL },
		           { "--payment", 0, NULL },
		           { "--label", 1, NULL } };
	const char *pos[3], *type = NULL;
	cw_kv kv[4];
	size_t npos, n = 0, i;
	int error;

	if (argc < 1 || strcmp(argv[0], "add") != 0)
		return cw_error(CW_EINVALID, "usage: caseway cost add CASE --estimate|--charge|--payment "
		                             "AMOUNT CURRENCY [--label L]");
	if ((error = cli_parse(argc - 1, argv + 1, opts, NOPTS(opts), pos, 3, &npos)) < 0)
		return error;
	for (i = 0; i < 3; i++) {
		if (!opts[i].value)
			continue;
		if (type)
			return cw_error(CW_EINVALID, "choose one of --estimate, --charge, --payment");
		type = opts[i].name + 2;
	}
	if (type == NULL || npos != 3)
		return cw_error(CW_EINVALID, "usage: caseway cost add CASE --estimate|--charge|--payment "
		                             "AMOUNT CURRENCY [--label L]");
	add_kv(kv, &n, 4, "type", type);
	add_kv(kv, &n, 4, "amount", pos[1]);
	add_kv(kv, &n, 4, "currency", pos[2]);
	add_kv(kv, &n, 4, "label", cli_opt_value(opts, NOPTS(opts), "--label"));
	return add_item(pos[0], CW_KIND_COST, kv, n, type);
}

static void progress(uint64_t done, void *ctx)
{
	uint64_t *total = ctx;

	if (*total > 0)
		fprintf(stderr, "\r  encrypting: %3d%% (%llu of %llu KiB)", (int)(done * 100 / *total),
		        (unsigned long long)(done >> 10), (unsigned long long)(*total >> 10));
}

int cmd_doc(int argc, char **argv)
{
	cli_opt add_opts[] = { { "--kind", 1, NULL }, { "--title", 1, NULL } };
	cli_opt get_opts[] = { { "-o", 1, NULL } };
	const char *pos[3];
	size_t npos, n = 0;
	opened o;
	cw_secret *key = NULL;
	cw_kv kv[5];
	char address[65], size_text[24], *base = NULL;
	uint64_t size = 0, total = 0;
	int error;

	memset(&o, 0, sizeof(o));
	if (argc >= 1 && strcmp(argv[0], "add") == 0) {
		FILE *f;

		if ((error = cli_parse(argc - 1, argv + 1, add_opts, NOPTS(add_opts), pos, 2, &npos)) < 0)
			goto done;
		if (npos != 2) {
			error = cw_error(CW_EINVALID,
			                 "usage: caseway doc add CASE FILE [--kind K] [--title T]");
			goto done;
		}
		if ((f = fopen(pos[1], "rb")) != NULL) {
			if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > 0)
				total = (uint64_t)ftell(f);
			fclose(f);
		}
		base = strrchr(pos[1], '/') ? strrchr(pos[1], '/') + 1 : (char *)pos[1];
		if ((error = open_case(&o, pos[0])) < 0 || (error = cw_case_key(&key, o.st, o.case_id)) < 0 ||
		    (error = cw_docs_add(address, &size, cw_home_dir(o.h), key, pos[1],
		                         (!cli_g.quiet && total > (1u << 20) && isatty(2)) ? progress : NULL,
		                         &total)) < 0)
			goto done;
		if (!cli_g.quiet && total > (1u << 20) && isatty(2))
			fputc('\n', stderr);
		snprintf(size_text, sizeof(size_text), "%llu", (unsigned long long)size);
		add_kv(kv, &n, 5, "address", address);
		add_kv(kv, &n, 5, "size", size_text);
		add_kv(kv, &n, 5, "title",
		       cli_opt_value(add_opts, NOPTS(add_opts), "--title")
		           ? cli_opt_value(add_opts, NOPTS(add_opts), "--title")
		           : base);
		add_kv(kv, &n, 5, "kind", cli_opt_value(add_opts, NOPTS(add_opts), "--kind"));
		/* the file's own name is kept only as text, and only when it is clean text */
		if (cw_utf8_valid((const uint8_t *)base, strlen(base), 0) && strlen(base) > 0 &&
		    strlen(base) <= 200)
			add_kv(kv, &n, 5, "filename", base);
		{
			uint8_t entity[CW_ID_BYTES];
			char hex[2 * CW_ID_BYTES + 1];

			if ((error = cw_case_add(entity, o.st, cw_home_keys(o.h), o.case_id, CW_KIND_DOCUMENT,
			                         kv, n)) < 0)
				goto done;
			cw_id_hex(hex, entity);
			done_json_id("id", hex);
			cli_say("Stored document %.8s (%llu bytes, encrypted) in case %.8s.", hex,
			        (unsigned long long)size, o.hex);
		}
		goto done;
	}
	if (argc >= 1 && strcmp(argv[0], "get") == 0) {
		uint8_t entity[CW_ID_BYTES], kind;
		cw_case_view *v = NULL;
		const char *addr = NULL, *out;
		uint32_t newest = 1, gen;
		size_t i;

		if ((error = cli_parse(argc - 1, argv + 1, get_opts, NOPTS(get_opts), pos, 2, &npos)) < 0)
			goto done;
		out = cli_opt_value(get_opts, NOPTS(get_opts), "-o");
		if (npos != 2 || out == NULL) {
			error = cw_error(CW_EINVALID, "usage: caseway doc get CASE DOC -o FILE");
			goto done;
		}
		if ((error = open_case(&o, pos[0])) < 0 ||
		    (error = cw_case_find_item(entity, &kind, o.st, o.case_id, CW_KIND_DOCUMENT, pos[1])) <
		        0 ||
		    (error = cw_case_key_at(&key, &newest, o.st, o.case_id, 0)) < 0 ||
		    (error = cw_case_load(&v, o.st, o.case_id)) < 0)
			goto done;
		for (i = 0; i < v->nentities; i++)
			if (memcmp(v->entities[i].id, entity, CW_ID_BYTES) == 0)
				addr = cw_view_get(&v->entities[i], "address");
		snprintf(address, sizeof(address), "%s", addr ? addr : "");
		cw_case_view_free(v);
		/* a document is sealed under the key generation of the day it was
		 * added: newest first, back to the first */
		for (gen = newest;;) {
			error = cw_docs_get(cw_home_dir(o.h), key, address, out, UINT64_MAX);
			if (error != CW_EVERIFY || gen <= 1)
				break;
			cw_secret_free(key);
			key = NULL;
			if (cw_case_key_below(&key, &gen, o.st, o.case_id, gen) < 0) {
				error = cw_error(CW_EVERIFY,
				                 "the document does not open with any key of the case");
				break;
			}
		}
		if (error < 0)
			goto done;
		cli_say("Wrote %s.", out);
		goto done;
	}
	error = cw_error(CW_EINVALID, "usage: caseway doc add|get ...");
done:
	cw_secret_free(key);
	close_case(&o);
	return error;
}

int cmd_task(int argc, char **argv)
{
	cli_opt opts[] = { { "--due", 1, NULL }, { "--for", 1, NULL } };
	const char *pos[2];
	cw_kv kv[3];
	size_t npos, n = 0;
	opened o;
	uint8_t entity[CW_ID_BYTES];
	int error;

	if (argc >= 1 && strcmp(argv[0], "add") == 0) {
		if ((error = cli_parse(argc - 1, argv + 1, opts, NOPTS(opts), pos, 2, &npos)) < 0)
			return error;
		if (npos != 2)
			return cw_error(CW_EINVALID,
			                "usage: caseway task add CASE TEXT [--due T] [--for WHO]");
		add_kv(kv, &n, 3, "text", pos[1]);
		add_kv(kv, &n, 3, "due", cli_opt_value(opts, NOPTS(opts), "--due"));
		add_kv(kv, &n, 3, "owner", cli_opt_value(opts, NOPTS(opts), "--for"));
		return add_item(pos[0], CW_KIND_TASK, kv, n, "task");
	}
	if (argc >= 1 && strcmp(argv[0], "done") == 0) {
		if ((error = cli_parse(argc - 1, argv + 1, NULL, 0, pos, 2, &npos)) < 0)
			return error;
		if (npos != 2)
			return cw_error(CW_EINVALID, "usage: caseway task done CASE TASK");
		kv[0].name = "done";
		kv[0].value = "yes";
		if ((error = open_case(&o, pos[0])) < 0 ||
		    (error = cw_case_find_item(entity, NULL, o.st, o.case_id, CW_KIND_TASK, pos[1])) < 0 ||
		    (error = cw_case_update(o.st, cw_home_keys(o.h), o.case_id, entity, kv, 1)) < 0) {
			close_case(&o);
			return error;
		}
		cli_say("Task %.8s done.", pos[1]);
		close_case(&o);
		return CW_OK;
	}
	return cw_error(CW_EINVALID, "usage: caseway task add|done ...");
}

int cmd_feedback(int argc, char **argv)
{
	cli_opt opts[] = { { "--rating", 1, NULL }, { "--testimonial", 1, NULL } };
	const char *pos[1];
	cw_kv kv[2];
	size_t npos, n = 0;
	opened o;
	int error;

	memset(&o, 0, sizeof(o));
	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 1, &npos)) < 0)
		return error;
	if (npos != 1 || cli_opt_value(opts, NOPTS(opts), "--rating") == NULL)
		return cw_error(CW_EINVALID,
		                "usage: caseway feedback CASE --rating N [--testimonial yes|no]");
	add_kv(kv, &n, 2, "rating", cli_opt_value(opts, NOPTS(opts), "--rating"));
	add_kv(kv, &n, 2, "testimonial", cli_opt_value(opts, NOPTS(opts), "--testimonial"));
	if ((error = open_case(&o, pos[0])) == CW_OK &&
	    (error = cw_case_set(o.st, cw_home_keys(o.h), o.case_id, kv, n)) == CW_OK)
		cli_say("Feedback recorded for case %.8s.", o.hex);
	close_case(&o);
	return error;
}

/* --- check, agenda, conflicts, resolve, log ------------------------------------------- */

/* `check` and `conflicts` run over one case or every case, printing lines or
 * collecting one JSON array. */
typedef struct per_case per_case;
struct per_case {
	cw_store *st;
	cJSON *arr; /* with --json */
	size_t total;
	cw_check_settings settings;
	int only_conflicted;
	int (*one)(per_case *c, const uint8_t *case_id);
};

static int per_case_each(const cw_case_summary *s, void *ctx)
{
	per_case *c = ctx;
	uint8_t id[CW_ID_BYTES];

	if (c->only_conflicted && s->conflicts == 0)
		return CW_OK;
	cw_hex_decode(id, CW_ID_BYTES, s->hex);
	return c->one(c, id);
}

static int run_per_case(int argc, char **argv, per_case *c, const char *none)
{
	const char *pos[1];
	size_t npos;
	opened o;
	int error;

	memset(&o, 0, sizeof(o));
	if ((error = cli_parse(argc, argv, NULL, 0, pos, 1, &npos)) < 0 ||
	    (error = open_case(&o, npos ? pos[0] : NULL)) < 0)
		goto done;
	c->st = o.st;
	c->arr = cli_g.json ? cJSON_CreateArray() : NULL;
	error = npos ? c->one(c, o.case_id) : cw_case_list(o.st, NULL, NULL, per_case_each, c);
	if (error < 0)
		goto done;
	if (c->arr) {
		cli_json_print(c->arr);
		c->arr = NULL;
	} else if (c->total == 0) {
		printf("%s\n", none);
	}
done:
	cJSON_Delete(c->arr);
	close_case(&o);
	return error;
}

static int check_one(per_case *c, const uint8_t *case_id)
{
	cw_case_view *v = NULL;
	cw_warning *w = NULL;
	size_t n = 0, i, j;
	int error;

	if ((error = cw_case_load(&v, c->st, case_id)) < 0 ||
	    (error = cw_check_case(&w, &n, v, &c->settings)) < 0)
		goto done;
	for (i = 0; i < n; i++) {
		const char *patient = cw_view_get(v->self, "name");

		if (c->arr) {
			cJSON *o = cJSON_CreateObject(), *items = cJSON_CreateArray();

			cJSON_AddStringToObject(o, "case", v->hex);
			cJSON_AddStringToObject(o, "patient", patient ? patient : "");
			cJSON_AddStringToObject(o, "rule", w[i].rule);
			cJSON_AddStringToObject(o, "message", w[i].message);
			for (j = 0; j < w[i].nitems; j++)
				cJSON_AddItemToArray(items, cJSON_CreateString(w[i].items[j]));
			cJSON_AddItemToObject(o, "items", items);
			cJSON_AddItemToArray(c->arr, o);
		} else {
			printf("%.8s %s: %s [%s]\n", v->hex, patient ? patient : "", w[i].message, w[i].rule);
		}
	}
	c->total += n;
done:
	free(w);
	cw_case_view_free(v);
	return error;
}

int cmd_check(int argc, char **argv)
{
	per_case c;

	memset(&c, 0, sizeof(c));
	c.one = check_one;
	cw_check_defaults(&c.settings, (int64_t)time(NULL));
	return run_per_case(argc, argv, &c, "No warnings.");
}

static int agenda_one(const cw_agenda_item *it, void *ctx)
{
	if (ctx) {
		cJSON *o = cJSON_CreateObject();
		char utc[32];

		cw_when_utc(utc, it->utc);
		cJSON_AddStringToObject(o, "at", utc);
		cJSON_AddStringToObject(o, "local", it->local);
		cJSON_AddStringToObject(o, "case", it->case_hex);
		cJSON_AddStringToObject(o, "item", it->item_hex);
		cJSON_AddStringToObject(o, "patient", it->patient ? it->patient : "");
		cJSON_AddStringToObject(o, "event", it->event ? it->event : "");
		cJSON_AddStringToObject(o, "what", it->what);
		cJSON_AddItemToArray(ctx, o);
		return CW_OK;
	}
	printf("%-26s  %-20.20s  %-16s  %s [%.8s]\n", it->local, it->patient ? it->patient : "",
	       it->event ? it->event : "", it->what, it->case_hex);
	return CW_OK;
}

int cmd_agenda(int argc, char **argv)
{
	cli_opt opts[] = { { "--days", 1, NULL }, { "--from", 1, NULL } };
	const char *pos[1], *days_text, *from_text;
	size_t npos;
	opened o;
	cJSON *arr = NULL;
	long days = 7;
	int64_t from = (int64_t)time(NULL);
	char *end;
	int error;

	memset(&o, 0, sizeof(o));
	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 0, &npos)) < 0)
		goto done;
	if ((days_text = cli_opt_value(opts, NOPTS(opts), "--days")) != NULL) {
		days = strtol(days_text, &end, 10);
		if (*days_text == '\0' || *end || days < 1 || days > 3660) {
			error = cw_error(CW_EINVALID, "--days must be a number of days from 1 to 3660");
			goto done;
		}
	}
	if ((from_text = cli_opt_value(opts, NOPTS(opts), "--from")) != NULL &&
	    (error = cw_when_any(&from, from_text)) < 0)
		goto done;
	if ((error = open_case(&o, NULL)) < 0)
		goto done;
	if (cli_g.json)
		arr = cJSON_CreateArray();
	if ((error = cw_agenda_list(o.st, from, from + days * 86400, agenda_one, arr)) < 0)
		goto done;
	if (arr) {
		cli_json_print(arr);
		arr = NULL;
	}
done:
	cJSON_Delete(arr);
	close_case(&o);
	return error;
}

static int conflicts_one(per_case *c, const uint8_t *case_id)
{
	cw_case_view *v = NULL;
	size_t i;
	int error;

	if ((error = cw_case_load(&v, c->st, case_id)) < 0)
		return error;
	for (i = 0; i < v->nconflicts; i++) {
		c->total++;
		if (c->arr)
			cJSON_AddItemToArray(c->arr, conflict_json(v, &v->conflicts[i]));
		else
			conflict_text(v, &v->conflicts[i]);
	}
	cw_case_view_free(v);
	return CW_OK;
}

int cmd_conflicts(int argc, char **argv)
{
	per_case c;

	memset(&c, 0, sizeof(c));
	c.one = conflicts_one;
	c.only_conflicted = 1;
	return run_per_case(argc, argv, &c, "No conflicts.");
}

int cmd_resolve(int argc, char **argv)
{
	cli_opt opts[] = { { "--take", 1, NULL } };
	const char *pos[1];
	size_t npos;
	opened o;
	int error;

	memset(&o, 0, sizeof(o));
	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 1, &npos)) < 0)
		return error;
	if (npos != 1 || cli_opt_value(opts, NOPTS(opts), "--take") == NULL)
		return cw_error(CW_EINVALID, "usage: caseway resolve CONFLICT --take VALUE");
	if ((error = open_case(&o, NULL)) == CW_OK &&
	    (error = cw_case_resolve(o.st, cw_home_keys(o.h), pos[0],
	                             cli_opt_value(opts, NOPTS(opts), "--take"))) == CW_OK)
		cli_say("Conflict %s settled: '%s'.", pos[0], cli_opt_value(opts, NOPTS(opts), "--take"));
	close_case(&o);
	return error;
}

typedef struct {
	cJSON *arr;
	cw_roster *roster;
} log_ctx;

static const char *author_name(const log_ctx *c, const char *hex)
{
	size_t i;

	for (i = 0; c->roster && i < cw_roster_count(c->roster); i++)
		if (strcmp(cw_roster_cert(c->roster, i)->device_id, hex) == 0)
			return cw_roster_cert(c->roster, i)->name;
	return "";
}

static int log_one(const cw_op *op, const char *flagged, void *ctx)
{
	log_ctx *c = ctx;
	const cw_kind_def *k = cw_model_kind(op->kind);
	static const char *const actions[] = { "?", "set", "removed", "resolved" };
	char when[32], who[CW_DEVICE_ID_LEN + 1], cid[2 * CW_ID_BYTES + 1], eid[2 * CW_ID_BYTES + 1];
	size_t i;

	when_of_hlc(when, op->hlc);
	cw_author_hex(who, op->author);
	cw_id_hex(cid, op->case_id);
	cw_id_hex(eid, op->entity);
	if (c->arr) {
		cJSON *o = cJSON_CreateObject(), *f = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "at", when);
		cJSON_AddStringToObject(o, "author", who);
		cJSON_AddStringToObject(o, "author_name", author_name(c, who));
		cJSON_AddNumberToObject(o, "seq", (double)op->seq);
		cJSON_AddStringToObject(o, "case", cid);
		cJSON_AddStringToObject(o, "item", eid);
		cJSON_AddStringToObject(o, "kind", k ? k->name : "?");
		cJSON_AddStringToObject(o, "action", actions[op->action <= 3 ? op->action : 0]);
		for (i = 0; i < op->nfields; i++) {
			char *val = malloc(op->fields[i].len + 1);

			if (val) {
				memcpy(val, op->fields[i].value, op->fields[i].len);
				val[op->fields[i].len] = '\0';
				cJSON_AddStringToObject(f, op->fields[i].name, val);
				free(val);
			}
		}
		cJSON_AddItemToObject(o, "fields", f);
		if (flagged)
			cJSON_AddStringToObject(o, "flag", flagged);
		cJSON_AddItemToArray(c->arr, o);
		return CW_OK;
	}
	printf("%s  %.8s  %s %-12.12s %-9s %s %.8s:", when, cid, who, author_name(c, who),
	       actions[op->action <= 3 ? op->action : 0], k ? k->name : "?", eid);
	for (i = 0; i < op->nfields; i++)
		printf(" %s=%.*s", op->fields[i].name, (int)(op->fields[i].len > 40 ? 40 : op->fields[i].len),
		       op->fields[i].value);
	if (flagged)
		printf("  (!) %s", flagged);
	putchar('\n');
	return CW_OK;
}

/* The revocations of the roster, as log lines: when, which device, how many
 * of its chains the agency accepts (filtered like the ops). */
static void log_revocations(log_ctx *c, const uint8_t *case_id, const char *author_hex, int64_t since)
{
	size_t i;

	for (i = 0; c->roster && i < cw_roster_revocation_count(c->roster); i++) {
		const cw_revocation *rev = cw_roster_revocation_at(c->roster, i);
		char when[32];

		if ((author_hex && strcmp(author_hex, rev->device_id) != 0) || rev->revoked_at < since ||
		    (case_id && cw_revocation_chain(rev, case_id) == NULL))
			continue;
		cli_time(when, rev->revoked_at);
		if (c->arr) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "at", when);
			cJSON_AddStringToObject(o, "action", "revoked");
			cJSON_AddStringToObject(o, "device", rev->device_id);
			cJSON_AddStringToObject(o, "device_name", author_name(c, rev->device_id));
			cJSON_AddNumberToObject(o, "chains_accepted", (double)rev->nchains);
			cJSON_AddItemToArray(c->arr, o);
			continue;
		}
		printf("%s  %-8s  %s %-12.12s revoked by the agency; %zu of its case chains accepted, "
		       "nothing later\n",
		       when, "--------", rev->device_id, author_name(c, rev->device_id), rev->nchains);
	}
}

int cmd_log(int argc, char **argv)
{
	cli_opt opts[] = { { "--author", 1, NULL }, { "--since", 1, NULL } };
	const char *pos[1], *author_text, *since_text;
	size_t npos;
	opened o;
	log_ctx c;
	uint8_t author[CW_AUTHOR_BYTES];
	int64_t since = 0;
	int error;

	memset(&o, 0, sizeof(o));
	memset(&c, 0, sizeof(c));
	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 1, &npos)) < 0)
		goto done;
	if ((author_text = cli_opt_value(opts, NOPTS(opts), "--author")) != NULL &&
	    cw_author_from_hex(author, author_text) < 0) {
		error = cw_error(CW_EINVALID, "--author: '%.40s' is not a device id (16 hex characters)",
		                 author_text);
		goto done;
	}
	if ((since_text = cli_opt_value(opts, NOPTS(opts), "--since")) != NULL &&
	    (error = cw_when_any(&since, since_text)) < 0)
		goto done;
	if (since < 0)
		since = 0;
	if ((error = open_case(&o, npos ? pos[0] : NULL)) < 0)
		goto done;
	if (cw_org_roster(&c.roster, o.h) < 0)
		cw_error_clear();
	c.arr = cli_g.json ? cJSON_CreateArray() : NULL;
	if ((error = cw_oplog_each(o.st, npos ? o.case_id : NULL, author_text ? author : NULL,
	                           (uint64_t)since * 1000, log_one, &c)) < 0 ||
	    (error = cli_log_erasures(o.h, npos ? o.case_id : NULL, author_text, since, c.arr)) < 0)
		goto done;
	log_revocations(&c, npos ? o.case_id : NULL, author_text, since);
	if (c.arr) {
		cli_json_print(c.arr);
		c.arr = NULL;
	}
done:
	cJSON_Delete(c.arr);
	cw_roster_free(c.roster);
	close_case(&o);
	return error;
}
