/* node/agenda.c - the agenda across cases. */
#include "agenda.h"
#include "store_internal.h"
#include "../util/error.h"
#include "../util/when.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char sql_agenda[] =
    "SELECT t.case_id, t.entity, e.kind, t.name, t.utc, v.value,"
    " coalesce((SELECT value FROM fields p WHERE p.case_id=t.case_id AND p.entity=t.case_id"
    "  AND p.name='name'), '')"
    " FROM times t JOIN entities e ON e.case_id=t.case_id AND e.entity=t.entity"
    " JOIN fields v ON v.case_id=t.case_id AND v.entity=t.entity AND v.name=t.name"
    " WHERE t.utc>=?1 AND t.utc<?2 AND e.removed=0 AND ("
    "  (e.kind=3 AND t.name='start') OR (e.kind=4 AND t.name IN ('depart','arrive'))"
    "  OR (e.kind=5 AND t.name IN ('check_in','check_out')) OR (e.kind=6 AND t.name='pickup')"
    "  OR (e.kind=12 AND t.name='due'))"
    " ORDER BY t.utc, t.case_id, t.entity, t.name";
static const char sql_item_fields[] =
    "SELECT name, value FROM fields WHERE case_id=?1 AND entity=?2 AND name IN ('kind', 'provider',"
    " 'location', 'status', 'carrier', 'number', 'from', 'to', 'direction', 'hotel', 'address',"
    " 'driver', 'phone', 'text', 'owner', 'done')";

typedef struct {
	char f[16][2][210];
	size_t n;
} item_fields;

static const char *get(const item_fields *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->f[i][0], name) == 0)
			return f->f[i][1];
	return "";
}

static int load_fields(item_fields *out, cw_store *st, const void *case_id, const void *entity)
{
	sqlite3_stmt *stmt;
	int rc, error;

	out->n = 0;
	if ((error = cw_store__prepare(st, &stmt, sql_item_fields)) < 0)
		return error;
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 2, entity, CW_ID_BYTES, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && out->n < 16) {
		snprintf(out->f[out->n][0], sizeof(out->f[0][0]), "%s",
		         (const char *)sqlite3_column_text(stmt, 0));
		snprintf(out->f[out->n][1], sizeof(out->f[0][1]), "%s",
		         (const char *)sqlite3_column_text(stmt, 1));
		out->n++;
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return cw_store__error(st, rc, "reading the agenda");
	return CW_OK;
}

/* Join non-empty parts with separators into out. */
static void describe(char *out, size_t cap, const char *a, const char *b, const char *c, const char *d)
{
	const char *parts[4] = { a, b, c, d };
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < 4; i++) {
		if (parts[i] == NULL || parts[i][0] == '\0')
			continue;
		len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%s", len ? ", " : "",
		                        parts[i]);
		if (len >= cap) {
			out[cap - 1] = '\0';
			return;
		}
	}
}

int cw_agenda_list(cw_store *st, int64_t from, int64_t to, int (*fn)(const cw_agenda_item *item, void *ctx),
                   void *ctx)
{
	sqlite3_stmt *stmt;
	item_fields *f = NULL;
	int rc, error;

	if ((error = cw_store__prepare(st, &stmt, sql_agenda)) < 0)
		return error;
	if ((f = malloc(sizeof(*f))) == NULL)
		return cw_error_nomem();
	sqlite3_bind_int64(stmt, 1, from);
	sqlite3_bind_int64(stmt, 2, to);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		cw_agenda_item it;
		const char *name = (const char *)sqlite3_column_text(stmt, 3);
		const char *value = (const char *)sqlite3_column_text(stmt, 5);
		char route[64], flight[64];
		int64_t utc;
		int off;

		memset(&it, 0, sizeof(it));
		if (sqlite3_column_bytes(stmt, 0) != CW_ID_BYTES ||
		    sqlite3_column_bytes(stmt, 1) != CW_ID_BYTES)
			continue;
		cw_id_hex(it.case_hex, sqlite3_column_blob(stmt, 0));
		cw_id_hex(it.item_hex, sqlite3_column_blob(stmt, 1));
		it.kind = (cw_kind)sqlite3_column_int(stmt, 2);
		it.utc = sqlite3_column_int64(stmt, 4);
		it.patient = (const char *)sqlite3_column_text(stmt, 6);
		if (cw_when_instant(&utc, &off, value) == CW_OK)
			cw_when_local(it.local, utc, off);
		else
			snprintf(it.local, sizeof(it.local), "%.10s (all day)", value);
		cw_error_clear();
		if ((error = load_fields(f, st, sqlite3_column_blob(stmt, 0), sqlite3_column_blob(stmt, 1))) <
		    0)
			break;
		switch (it.kind) {
		case CW_KIND_APPOINTMENT:
			if (strcmp(get(f, "status"), "cancelled") == 0)
				continue;
			it.event = get(f, "kind");
			describe(it.what, sizeof(it.what), get(f, "provider"), get(f, "location"),
			         get(f, "status"), NULL);
			break;
		case CW_KIND_FLIGHT:
			it.event = strcmp(name, "depart") == 0 ? "flight departs" : "flight lands";
			snprintf(flight, sizeof(flight), "%s %s", get(f, "carrier"), get(f, "number"));
			snprintf(route, sizeof(route), "%s -> %s", get(f, "from"), get(f, "to"));
			describe(it.what, sizeof(it.what), flight[0] != ' ' || flight[1] ? flight : NULL,
			         strcmp(route, " -> ") ? route : NULL, get(f, "direction"), NULL);
			break;
		case CW_KIND_STAY:
			it.event = strcmp(name, "check_in") == 0 ? "hotel check-in" : "hotel check-out";
			describe(it.what, sizeof(it.what), get(f, "hotel"), get(f, "address"), NULL, NULL);
			break;
		case CW_KIND_TRANSFER:
			it.event = "pick-up";
			snprintf(route, sizeof(route), "%s -> %s", get(f, "from"), get(f, "to"));
			describe(it.what, sizeof(it.what), strcmp(route, " -> ") ? route : NULL,
			         get(f, "driver"), get(f, "phone"), NULL);
			break;
		case CW_KIND_TASK:
			if (strcmp(get(f, "done"), "yes") == 0)
				continue;
			it.event = "task due";
			describe(it.what, sizeof(it.what), get(f, "text"), get(f, "owner"), NULL, NULL);
			break;
		default:
			continue;
		}
		if ((error = fn(&it, ctx)) < 0)
			break;
	}
	if (error == CW_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		error = cw_store__error(st, rc, "reading the agenda");
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	free(f);
	return error;
}
