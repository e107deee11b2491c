/* node/oplog.c - the change log and its materialized state. */
#include "oplog.h"
#include "erase.h"
#include "merge.h"
#include "model.h"
#include "store_internal.h"
#include "../util/error.h"
#include "../util/when.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A stamp more than this far ahead of our clock is accepted but flagged. */
#define CLOCK_AHEAD_FLAG_MS (10 * 60 * 1000)

static const char sql_head[] = "SELECT seq, hash FROM heads WHERE case_id=?1 AND author=?2";
static const char sql_heads_of_case[] = "SELECT author, seq FROM heads WHERE case_id=?1 ORDER BY author";
static const char sql_head_set[] =
    "INSERT INTO heads(case_id, author, seq, hash) VALUES(?1, ?2, ?3, ?4)"
    " ON CONFLICT(case_id, author) DO UPDATE SET seq=excluded.seq, hash=excluded.hash";
static const char sql_op_add[] =
    "INSERT INTO ops(hash, case_id, author, seq, entity, kind, action, hlc, bytes, received_at)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char sql_op_by_hash[] = "SELECT 1 FROM ops WHERE hash=?1";
static const char sql_op_bytes_at[] = "SELECT bytes FROM ops WHERE case_id=?1 AND author=?2 AND seq=?3";
static const char sql_ops_of_entity[] = "SELECT bytes FROM ops WHERE case_id=?1 AND entity=?2 ORDER BY n";
static const char sql_entity_get[] = "SELECT kind, removed FROM entities WHERE case_id=?1 AND entity=?2";
static const char sql_entity_put[] =
    "INSERT INTO entities(case_id, entity, kind, created_hlc, creator, removed)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(case_id, entity) DO UPDATE SET"
    " kind=excluded.kind, created_hlc=excluded.created_hlc, creator=excluded.creator,"
    " removed=excluded.removed";
static const char sql_entity_removed[] = "UPDATE entities SET removed=?3 WHERE case_id=?1 AND entity=?2";
static const char sql_field_put[] =
    "INSERT INTO fields(case_id, entity, name, value, hlc, author) VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
    " ON CONFLICT(case_id, entity, name) DO UPDATE SET value=excluded.value,"
    " hlc=excluded.hlc, author=excluded.author";
static const char sql_conflict_values_drop_field[] =
    "DELETE FROM conflict_values WHERE conflict IN"
    " (SELECT id FROM conflicts WHERE case_id=?1 AND entity=?2 AND name=?3)";
static const char sql_conflict_exists[] =
    "SELECT 1 FROM conflicts WHERE case_id=?1 AND entity=?2 AND name=?3";
static const char sql_conflict_drop_field[] =
    "DELETE FROM conflicts WHERE case_id=?1 AND entity=?2 AND name=?3";
static const char sql_conflict_add[] =
    "INSERT INTO conflicts(id, case_id, entity, name) VALUES(?1, ?2, ?3, ?4)";
static const char sql_conflict_value_add[] =
    "INSERT INTO conflict_values(conflict, op, author, hlc, value) VALUES(?1, ?2, ?3, ?4, ?5)";
static const char sql_time_put[] = "INSERT INTO times(case_id, entity, name, utc) VALUES(?1, ?2, ?3, ?4)"
                                   " ON CONFLICT(case_id, entity, name) DO UPDATE SET utc=excluded.utc";
static const char sql_time_drop[] = "DELETE FROM times WHERE case_id=?1 AND entity=?2 AND name=?3";
static const char sql_case_row[] = "INSERT OR IGNORE INTO cases(case_id) VALUES(?1)";
static const char sql_case_n[] = "SELECT n FROM cases WHERE case_id=?1";
static const char sql_search_text[] =
    "SELECT f.value FROM fields f JOIN entities e ON e.case_id=f.case_id AND e.entity=f.entity"
    " WHERE f.case_id=?1 AND e.removed=0 AND ((e.kind=1 AND f.name IN ('name','conditions'))"
    " OR (e.kind=2 AND f.name IN ('name','clinic','surgeon')) OR (e.kind=11 AND f.name='text'))"
    " ORDER BY e.kind, e.entity, f.name";
static const char sql_search_drop[] = "DELETE FROM search WHERE rowid=?1";
static const char sql_search_add[] = "INSERT INTO search(rowid, body) VALUES(?1, ?2)";
static const char sql_flag_add[] = "INSERT OR IGNORE INTO op_flags(hash, note) VALUES(?1, ?2)";

/* --- small helpers ------------------------------------------------------------ */

static int step_done(cw_store *st, sqlite3_stmt *stmt, const char *what)
{
	int rc = sqlite3_step(stmt), error = CW_OK;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		error = cw_store__error(st, rc, what);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return error;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int cw_keyring_add(cw_keyring *kr, const uint8_t pk[CW_PK_BYTES])
{
	cw_keyring_entry *e;
	char hex[CW_DEVICE_ID_LEN + 1];

	if ((e = realloc(kr->e, (kr->n + 1) * sizeof(*e))) == NULL)
		return cw_error_nomem();
	kr->e = e;
	cw_keys_id_of(hex, pk);
	cw_hex_decode(kr->e[kr->n].id, CW_AUTHOR_BYTES, hex);
	memcpy(kr->e[kr->n].pk, pk, CW_PK_BYTES);
	kr->e[kr->n].revoked = kr->roster ? cw_roster_revocation(kr->roster, pk) : NULL;
	kr->n++;
	return CW_OK;
}

void cw_keyring_set_roster(cw_keyring *kr, cw_roster *roster)
{
	size_t i;

	cw_roster_free(kr->roster);
	kr->roster = roster;
	for (i = 0; i < kr->n; i++)
		kr->e[i].revoked = roster ? cw_roster_revocation(roster, kr->e[i].pk) : NULL;
}

const cw_revocation *cw_keyring_revocation(const cw_keyring *kr, const uint8_t id[CW_AUTHOR_BYTES])
{
	size_t i;

	for (i = 0; i < kr->n; i++)
		if (memcmp(kr->e[i].id, id, CW_AUTHOR_BYTES) == 0)
			return kr->e[i].revoked;
	return NULL;
}

int cw_keyring_check(const cw_keyring *kr, const uint8_t author[CW_AUTHOR_BYTES],
                     const uint8_t case_id[CW_ID_BYTES], uint64_t seq)
{
	const cw_revocation *rev;
	const cw_revoked_chain *c;
	char who[CW_DEVICE_ID_LEN + 1], cid[2 * CW_ID_BYTES + 1];

	/* every op ingested comes here: no second scan of the keyring when the
	 * roster revokes nobody */
	if (kr->roster == NULL || cw_roster_revocation_count(kr->roster) == 0)
		return CW_OK;
	rev = cw_keyring_revocation(kr, author);
	if (rev == NULL || ((c = cw_revocation_chain(rev, case_id)) != NULL && seq <= c->seq))
		return CW_OK;
	cw_author_hex(who, author);
	cw_id_hex(cid, case_id);
	return cw_error(CW_EVERIFY,
	                "device %s was revoked by the agency: its change %llu to case %.8s came after "
	                "what the agency accepts from it, refused",
	                who, (unsigned long long)seq, cid);
}

const uint8_t *cw_keyring_find(const cw_keyring *kr, const uint8_t id[CW_AUTHOR_BYTES])
{
	size_t i;

	for (i = 0; i < kr->n; i++)
		if (memcmp(kr->e[i].id, id, CW_AUTHOR_BYTES) == 0)
			return kr->e[i].pk;
	return NULL;
}

void cw_keyring_dispose(cw_keyring *kr)
{
	free(kr->e);
	cw_roster_free(kr->roster);
	kr->e = NULL;
	kr->roster = NULL;
	kr->n = 0;
}

int cw_oplog_clock(uint64_t *out, cw_store *st)
{
	cw_buf b = CW_BUF_INIT;
	int error = cw_store_meta_get(st, "hlc", &b);

	*out = 0;
	if (error == CW_ENOTFOUND)
		error = CW_OK;
	else if (error == CW_OK && b.len == 8)
		*out = cw_load64(b.data);
	cw_buf_dispose(&b);
	return error;
}

/* A case erased on this node takes no more changes (node/erase.h). */
static int refuse_erased(cw_store *st, const uint8_t case_id[CW_ID_BYTES])
{
	cw_erasure e;
	char cid[2 * CW_ID_BYTES + 1];
	int error = cw_erase_get(&e, st, case_id);

	if (error == CW_ENOTFOUND) {
		cw_error_clear();
		return CW_OK;
	}
	if (error < 0)
		return error;
	cw_id_hex(cid, case_id);
	return cw_error(CW_ERROR, "case %.8s was erased (right to be forgotten): it can no longer be changed",
	                cid);
}

static int clock_save(cw_store *st, uint64_t hlc)
{
	uint8_t b[8];

	cw_store64(b, hlc);
	return cw_store_meta_set(st, "hlc", b, sizeof(b));
}

/* The author's head on a case: *seq 0 when none. */
static int head_get(cw_store *st, const uint8_t *case_id, const uint8_t *author, uint64_t *seq,
                    uint8_t hash[CW_HASH_BYTES])
{
	sqlite3_stmt *stmt;
	int rc, error;

	*seq = 0;
	memset(hash, 0, CW_HASH_BYTES);
	if ((error = cw_store__prepare(st, &stmt, sql_head)) < 0)
		return error;
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 2, author, CW_AUTHOR_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*seq = (uint64_t)sqlite3_column_int64(stmt, 0);
		if (sqlite3_column_bytes(stmt, 1) == CW_HASH_BYTES)
			memcpy(hash, sqlite3_column_blob(stmt, 1), CW_HASH_BYTES);
	} else if (rc != SQLITE_DONE) {
		error = cw_store__error(st, rc, "reading the change log");
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return error;
}

static int head_set(cw_store *st, const cw_op *op)
{
	sqlite3_stmt *stmt;
	int error;

	if ((error = cw_store__prepare(st, &stmt, sql_head_set)) < 0)
		return error;
	sqlite3_bind_blob(stmt, 1, op->case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 2, op->author, CW_AUTHOR_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)op->seq);
	sqlite3_bind_blob(stmt, 4, op->hash, CW_HASH_BYTES, SQLITE_STATIC);
	return step_done(st, stmt, "saving the change log");
}

static int op_store(cw_store *st, const cw_op *op, const uint8_t *bytes, size_t len)
{
	sqlite3_stmt *stmt;
	int error;

	if ((error = cw_store__prepare(st, &stmt, sql_op_add)) < 0)
		return error;
	sqlite3_bind_blob(stmt, 1, op->hash, CW_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 2, op->case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 3, op->author, CW_AUTHOR_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, (sqlite3_int64)op->seq);
	sqlite3_bind_blob(stmt, 5, op->entity, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 6, op->kind);
	sqlite3_bind_int(stmt, 7, op->action);
	sqlite3_bind_int64(stmt, 8, (sqlite3_int64)op->hlc);
	sqlite3_bind_blob(stmt, 9, bytes, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 10, (sqlite3_int64)time(NULL));
	if ((error = step_done(st, stmt, "saving a change")) < 0)
		return error;
	return head_set(st, op);
}

/* --- materialized rows ---------------------------------------------------------- */

static int is_time_field(uint8_t kind, const char *name)
{
	const cw_kind_def *k = cw_model_kind(kind);
	const cw_field_def *f = k ? cw_model_field(k, name) : NULL;

	return f && (f->type == CW_FT_INSTANT || f->type == CW_FT_WHEN || f->type == CW_FT_DATE);
}

static int time_put(cw_store *st, const uint8_t *case_id, const uint8_t *entity, uint8_t kind,
                    const char *name, const char *value, size_t len)
{
	sqlite3_stmt *stmt;
	char text[64];
	int64_t utc;
	int error;

	if (!is_time_field(kind, name))
		return CW_OK;
	if ((error = cw_store__prepare(st, &stmt, sql_time_drop)) < 0)
		return error;
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 2, entity, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, name, -1, SQLITE_STATIC);
	if ((error = step_done(st, stmt, "updating the agenda")) < 0)
		return error;
	if (len >= sizeof(text))
		return CW_OK;
	memcpy(text, value, len);
	text[len] = '\0';
	if (cw_when_any(&utc, text) < 0) {
		cw_error_clear();
		return CW_OK; /* a value from elsewhere this build cannot read: no agenda entry */
	}
	if ((error = cw_store__prepare(st, &stmt, sql_time_put)) < 0)
		return error;
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 2, entity, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, utc);
	return step_done(st, stmt, "updating the agenda");
}

static int field_put(cw_store *st, const uint8_t *case_id, const uint8_t *entity, uint8_t kind,
                     const char *name, const char *value, size_t len, uint64_t hlc, const uint8_t *author)
{
	sqlite3_stmt *stmt;
	int error;

	if ((error = cw_store__prepare(st, &stmt, sql_field_put)) < 0)
		return error;
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 2, entity, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, len ? value : "", (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)hlc);
	sqlite3_bind_blob(stmt, 6, author, CW_AUTHOR_BYTES, SQLITE_STATIC);
	if ((error = step_done(st, stmt, "updating a case")) < 0)
		return error;
	return time_put(st, case_id, entity, kind, name, value, len);
}

static int conflict_drop(cw_store *st, const uint8_t *case_id, const uint8_t *entity, const char *name)
{
	static const char *const sqls[] = { sql_conflict_values_drop_field, sql_conflict_drop_field };
	sqlite3_stmt *stmt;
	size_t i;
	int rc, error;

	/* most fields have no conflict: look before deleting */
	if ((error = cw_store__prepare(st, &stmt, sql_conflict_exists)) < 0)
		return error;
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 2, entity, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc == SQLITE_DONE)
		return CW_OK;
	if (rc != SQLITE_ROW)
		return cw_store__error(st, rc, "reading conflicts");
	for (i = 0; i < 2; i++) {
		if ((error = cw_store__prepare(st, &stmt, sqls[i])) < 0)
			return error;
		sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(stmt, 2, entity, CW_ID_BYTES, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 3, name, -1, SQLITE_STATIC);
		if ((error = step_done(st, stmt, "updating conflicts")) < 0)
			return error;
	}
	return CW_OK;
}

/* The conflict's id: the same on every node holding the same ops. */
static void conflict_id(char out[17], const uint8_t *case_id, const uint8_t *entity, const cw_merge_field *mf)
{
	cw_buf b = CW_BUF_INIT;
	uint8_t h[CW_HASH_BYTES];
	size_t i;

	cw_buf_put(&b, case_id, CW_ID_BYTES);
	cw_buf_put(&b, entity, CW_ID_BYTES);
	cw_buf_put(&b, mf->name, strlen(mf->name) + 1);
	for (i = 0; i < mf->nfrontier; i++)
		cw_buf_put(&b, mf->frontier[i].op->hash, CW_HASH_BYTES);
	cw_keys_hash(h, b.data, b.len);
	cw_hex_encode(out, h, 8);
	cw_buf_dispose(&b);
}

static int conflict_add(cw_store *st, const uint8_t *case_id, const uint8_t *entity, const cw_merge_field *mf)
{
	sqlite3_stmt *stmt;
	char id[17];
	size_t i;
	int error;

	conflict_id(id, case_id, entity, mf);
	if ((error = cw_store__prepare(st, &stmt, sql_conflict_add)) < 0)
		return error;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(stmt, 2, case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 3, entity, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, mf->name, -1, SQLITE_STATIC);
	if ((error = step_done(st, stmt, "recording a conflict")) < 0)
		return error;
	for (i = 0; i < mf->nfrontier; i++) {
		const cw_merge_write *w = &mf->frontier[i];

		if ((error = cw_store__prepare(st, &stmt, sql_conflict_value_add)) < 0)
			return error;
		sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_blob(stmt, 2, w->op->hash, CW_HASH_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(stmt, 3, w->op->author, CW_AUTHOR_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 4, (sqlite3_int64)w->op->hlc);
		sqlite3_bind_text(stmt, 5, w->len ? w->value : "", (int)w->len, SQLITE_STATIC);
		if ((error = step_done(st, stmt, "recording a conflict")) < 0)
			return error;
	}
	return CW_OK;
}

static int entity_put(cw_store *st, const uint8_t *case_id, const uint8_t *entity, uint8_t kind,
                      uint64_t created_hlc, const uint8_t *creator, int removed)
{
	sqlite3_stmt *stmt;
	int error;

	if ((error = cw_store__prepare(st, &stmt, sql_entity_put)) < 0)
		return error;
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 2, entity, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, kind);
	sqlite3_bind_int64(stmt, 4, (sqlite3_int64)created_hlc);
	sqlite3_bind_blob(stmt, 5, creator, CW_AUTHOR_BYTES, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 6, removed);
	return step_done(st, stmt, "updating a case");
}

/* Rewrite the case's full-text row (names, procedures, notes). */
static int search_refresh(cw_store *st, const uint8_t *case_id)
{
	sqlite3_stmt *stmt;
	sqlite3_int64 n = 0;
	cw_buf body = CW_BUF_INIT;
	int rc, error;

	if ((error = cw_store__prepare(st, &stmt, sql_case_row)) < 0)
		goto done;
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	if ((error = step_done(st, stmt, "indexing a case")) < 0 ||
	    (error = cw_store__prepare(st, &stmt, sql_case_n)) < 0)
		goto done;
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc != SQLITE_ROW) {
		error = rc == SQLITE_DONE ? cw_error(CW_ERROR, "internal: a case has no search row")
		                          : cw_store__error(st, rc, "indexing a case");
		goto done;
	}
	if ((error = cw_store__prepare(st, &stmt, sql_search_text)) < 0)
		goto done;
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if ((error = cw_buf_put(&body, sqlite3_column_text(stmt, 0),
		                        (size_t)sqlite3_column_bytes(stmt, 0))) < 0 ||
		    (error = cw_buf_put_u8(&body, '\n')) < 0)
			break;
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (error < 0)
		goto done;
	if (rc != SQLITE_DONE) {
		error = cw_store__error(st, rc, "indexing a case");
		goto done;
	}
	if ((error = cw_store__prepare(st, &stmt, sql_search_drop)) < 0)
		goto done;
	sqlite3_bind_int64(stmt, 1, n);
	if ((error = step_done(st, stmt, "indexing a case")) < 0 ||
	    (error = cw_store__prepare(st, &stmt, sql_search_add)) < 0)
		goto done;
	sqlite3_bind_int64(stmt, 1, n);
	sqlite3_bind_text(stmt, 2, body.len ? (const char *)body.data : "", (int)body.len, SQLITE_STATIC);
	error = step_done(st, stmt, "indexing a case");
done:
	cw_buf_dispose(&body);
	return error;
}

static int search_relevant(uint8_t kind)
{
	return kind == CW_KIND_CASE || kind == CW_KIND_PROCEDURE || kind == CW_KIND_NOTE;
}

/* Does this local op change what the case's full-text row holds? */
static int search_touched(const cw_op *op, int created)
{
	static const char *const searched[] = { "name", "conditions", "clinic", "surgeon", "text" };
	size_t i, j;

	if (!search_relevant(op->kind))
		return 0;
	if (created || op->action == CW_OP_REMOVE)
		return 1;
	for (i = 0; i < op->nfields; i++)
		for (j = 0; j < sizeof(searched) / sizeof(searched[0]); j++)
			if (strcmp(op->fields[i].name, searched[j]) == 0)
				return 1;
	return 0;
}

/* A local op has seen every op this node holds, so it dominates every write
 * to the fields it sets and every put of its entity: applying it directly
 * gives what the merge rules give. */
static int apply_local(cw_store *st, const cw_op *op)
{
	sqlite3_stmt *stmt;
	int rc, error, exists, was_removed = 0;
	size_t i;

	if ((error = cw_store__prepare(st, &stmt, sql_entity_get)) < 0)
		return error;
	sqlite3_bind_blob(stmt, 1, op->case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 2, op->entity, CW_ID_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	exists = rc == SQLITE_ROW;
	if (exists)
		was_removed = sqlite3_column_int(stmt, 1);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cw_store__error(st, rc, "reading a case");
	if (!exists) {
		if (op->action == CW_OP_REMOVE)
			return cw_error(CW_ENOTFOUND, "nothing to remove");
		error = entity_put(st, op->case_id, op->entity, op->kind, op->hlc, op->author, 0);
	} else {
		if ((error = cw_store__prepare(st, &stmt, sql_entity_removed)) < 0)
			return error;
		sqlite3_bind_blob(stmt, 1, op->case_id, CW_ID_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(stmt, 2, op->entity, CW_ID_BYTES, SQLITE_STATIC);
		sqlite3_bind_int(stmt, 3, op->action == CW_OP_REMOVE);
		error = step_done(st, stmt, "updating a case");
	}
	if (error < 0)
		return error;
	if (op->action != CW_OP_REMOVE) {
		for (i = 0; i < op->nfields; i++) {
			const cw_op_field *f = &op->fields[i];

			if ((error = field_put(st, op->case_id, op->entity, op->kind, f->name, f->value,
			                       f->len, op->hlc, op->author)) < 0 ||
			    (error = conflict_drop(st, op->case_id, op->entity, f->name)) < 0)
				return error;
		}
	}
	return search_touched(op, !exists || was_removed != (op->action == CW_OP_REMOVE))
	           ? search_refresh(st, op->case_id)
	           : CW_OK;
}

/* --- writing ------------------------------------------------------------------------ */

int cw_oplog_writable(cw_store *st)
{
	cw_buf b = CW_BUF_INIT;
	int error = cw_store_meta_get(st, CW_META_REVOKED, &b);

	cw_buf_dispose(&b);
	if (error == CW_ENOTFOUND) {
		cw_error_clear();
		return CW_OK;
	}
	if (error < 0)
		return error;
	return cw_error(CW_EVERIFY, "the agency has revoked this device: it can no longer record changes "
	                            "(ask head office)");
}

int cw_oplog_write(uint8_t hash_out[CW_HASH_BYTES], cw_store *st, const cw_keys *me,
                   const uint8_t case_id[CW_ID_BYTES], uint8_t kind, const uint8_t entity[CW_ID_BYTES],
                   cw_op_action action, cw_op_field *fields, size_t nfields)
{
	cw_op op;
	cw_buf bytes = CW_BUF_INIT;
	sqlite3_stmt *stmt;
	uint64_t last;
	int rc, error;

	memset(&op, 0, sizeof(op));
	if ((error = refuse_erased(st, case_id)) < 0)
		goto done;
	if (nfields > CW_OP_MAX_FIELDS) {
		error = cw_error(CW_EINVALID, "too many fields in one change");
		goto done;
	}
	memcpy(op.case_id, case_id, CW_ID_BYTES);
	if ((error = cw_oplog_writable(st)) < 0 ||
	    (error = cw_author_from_hex(op.author, cw_keys_id(me))) < 0 ||
	    (error = head_get(st, case_id, op.author, &op.seq, op.prev)) < 0 ||
	    (error = cw_oplog_clock(&last, st)) < 0)
		goto done;
	op.seq++;
	op.hlc = cw_hlc_next(last, now_ms());
	if ((error = cw_store__prepare(st, &stmt, sql_heads_of_case)) < 0)
		goto done;
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(stmt, 0) != CW_AUTHOR_BYTES ||
		    memcmp(sqlite3_column_blob(stmt, 0), op.author, CW_AUTHOR_BYTES) == 0)
			continue;
		if (op.nseen == CW_OP_MAX_SEEN) {
			rc = SQLITE_FULL;
			break;
		}
		memcpy(op.seen[op.nseen].author, sqlite3_column_blob(stmt, 0), CW_AUTHOR_BYTES);
		op.seen[op.nseen].seq = (uint64_t)sqlite3_column_int64(stmt, 1);
		op.nseen++;
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc == SQLITE_FULL) {
		error = cw_error(CW_ERROR, "too many people have written to this case (at most %d)",
		                 CW_OP_MAX_SEEN);
		goto done;
	}
	if (rc != SQLITE_DONE) {
		error = cw_store__error(st, rc, "reading the change log");
		goto done;
	}
	op.kind = kind;
	memcpy(op.entity, entity, CW_ID_BYTES);
	op.action = (uint8_t)action;
	op.nfields = nfields;
	if (nfields)
		memcpy(op.fields, fields, nfields * sizeof(*fields));
	if ((error = cw_op_encode(&bytes, &op, me)) < 0 ||
	    (error = op_store(st, &op, bytes.data, bytes.len)) < 0 || (error = clock_save(st, op.hlc)) < 0 ||
	    (error = apply_local(st, &op)) < 0)
		goto done;
	if (hash_out)
		memcpy(hash_out, op.hash, CW_HASH_BYTES);
done:
	cw_buf_dispose(&bytes);
	return error;
}

/* --- taking ops from elsewhere -------------------------------------------------------- */

static int mark_dirty(cw_store *st, const cw_op *op)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	rc = sqlite3_prepare_v2(cw_store__db(st), "INSERT OR IGNORE INTO dirty VALUES(?1, ?2)", -1, &stmt,
	                        NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_blob(stmt, 1, op->case_id, CW_ID_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(stmt, 2, op->entity, CW_ID_BYTES, SQLITE_STATIC);
		rc = sqlite3_step(stmt);
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? CW_OK : cw_store__error(st, rc, "marking a case for update");
}

/* 1 when everything `earlier` had seen, `op` has seen too (vectors only grow
 * along causality); `earlier` is an op `op` saw or its author's previous. */
static int seen_covers(const cw_op *op, const cw_op *earlier)
{
	size_t i;

	for (i = 0; i < earlier->nseen; i++)
		if (cw_op_seen_of(op, earlier->seen[i].author) < earlier->seen[i].seq)
			return 0;
	return cw_op_seen_of(op, earlier->author) >= earlier->seq;
}

/* Check op's claims against the ops it names: its author's previous op and
 * every op it says it had seen must be held, and what they had seen, op had
 * seen too. CW_EWAIT when one is missing, CW_EVERIFY when the claims do not
 * hold together (a forged history). */
static int check_history(cw_store *st, const cw_op *op, const char *who)
{
	sqlite3_stmt *stmt;
	cw_op *earlier = NULL;
	uint8_t *copy = NULL;
	size_t i;
	int rc, error = CW_OK;

	if ((earlier = malloc(sizeof(*earlier))) == NULL)
		return cw_error_nomem();
	for (i = 0; i <= op->nseen && error == CW_OK; i++) {
		const uint8_t *author = i < op->nseen ? op->seen[i].author : op->author;
		uint64_t seq = i < op->nseen ? op->seen[i].seq : op->seq - 1;
		size_t len;

		if (seq == 0)
			continue;
		if ((error = cw_store__prepare(st, &stmt, sql_op_bytes_at)) < 0)
			break;
		sqlite3_bind_blob(stmt, 1, op->case_id, CW_ID_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(stmt, 2, author, CW_AUTHOR_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 3, (sqlite3_int64)seq);
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			len = (size_t)sqlite3_column_bytes(stmt, 0);
			free(copy);
			if ((copy = malloc(len ? len : 1)) == NULL) {
				error = cw_error_nomem();
			} else {
				memcpy(copy, sqlite3_column_blob(stmt, 0), len);
				if (cw_op_decode(earlier, copy, len) < 0)
					error = cw_error(CW_EVERIFY, "a stored change cannot be read: %s",
					                 cw_error_last());
				else if (!seen_covers(op, earlier) ||
				         (i < op->nseen && cw_op_seen_of(earlier, op->author) >= op->seq))
					error = cw_error(CW_EVERIFY,
					                 "a change by %s claims a history that does not hold "
					                 "together: refused",
					                 who);
			}
		} else if (rc == SQLITE_DONE) {
			error = cw_error(CW_EWAIT,
			                 "a change by %s builds on changes this node does not have yet", who);
		} else {
			error = cw_store__error(st, rc, "reading the change log");
		}
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
	}
	free(copy);
	free(earlier);
	return error;
}

int cw_oplog_ingest(int *added_out, cw_store *st, const cw_keyring *kr, const uint8_t *bytes, size_t len)
{
	cw_op op;
	sqlite3_stmt *stmt;
	const uint8_t *pk;
	uint8_t head_hash[CW_HASH_BYTES];
	uint64_t head_seq, last, now;
	char who[CW_DEVICE_ID_LEN + 1];
	int rc, error, held;

	*added_out = 0;
	if ((error = cw_op_decode(&op, bytes, len)) < 0)
		return cw_error(CW_EVERIFY, "a change was refused: %s", cw_error_last());
	cw_author_hex(who, op.author);
	if ((error = cw_store__prepare(st, &stmt, sql_op_by_hash)) < 0)
		return error;
	sqlite3_bind_blob(stmt, 1, op.hash, CW_HASH_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	held = rc == SQLITE_ROW;
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cw_store__error(st, rc, "reading the change log");
	if (held)
		return CW_OK;
	if ((error = cw_erase_is(&held, st, op.case_id)) < 0 || held)
		return error; /* a change to an erased case: ignored */
	if ((pk = cw_keyring_find(kr, op.author)) == NULL)
		return cw_error(CW_EVERIFY,
		                "a change by device %s was refused: that device is not "
		                "enrolled with the agency",
		                who);
	if ((error = cw_op_verify(&op, bytes, pk)) < 0 ||
	    (error = cw_keyring_check(kr, op.author, op.case_id, op.seq)) < 0)
		return error;
	if ((error = head_get(st, op.case_id, op.author, &head_seq, head_hash)) < 0)
		return error;
	if (op.seq <= head_seq) {
		/* a different op at a position already held: the author forked */
		return cw_error(CW_EVERIFY,
		                "device %s wrote two different changes number %llu on one "
		                "case (equivocation): refused",
		                who, (unsigned long long)op.seq);
	}
	if (op.seq > head_seq + 1)
		return cw_error(CW_EWAIT, "a change by %s needs %llu earlier change(s) first", who,
		                (unsigned long long)(op.seq - head_seq - 1));
	if (!cw_secret_equal(op.prev, head_hash, CW_HASH_BYTES))
		return cw_error(CW_EVERIFY,
		                "change %llu by %s does not follow the one before it: "
		                "refused",
		                (unsigned long long)op.seq, who);
	if ((error = check_history(st, &op, who)) < 0)
		return error;
	if ((error = op_store(st, &op, bytes, len)) < 0 || (error = cw_oplog_clock(&last, st)) < 0 ||
	    (error = clock_save(st, cw_hlc_merge(last, op.hlc))) < 0)
		return error;
	now = now_ms();
	if (cw_hlc_ms(op.hlc) > now + CLOCK_AHEAD_FLAG_MS) {
		char note[96];

		snprintf(note, sizeof(note), "clock of %s was %llu minutes ahead", who,
		         (unsigned long long)((cw_hlc_ms(op.hlc) - now) / 60000));
		if ((error = cw_store__prepare(st, &stmt, sql_flag_add)) < 0)
			return error;
		sqlite3_bind_blob(stmt, 1, op.hash, CW_HASH_BYTES, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, note, -1, SQLITE_TRANSIENT);
		if ((error = step_done(st, stmt, "flagging a change")) < 0)
			return error;
	}
	if ((error = mark_dirty(st, &op)) < 0)
		return error;
	*added_out = 1;
	return CW_OK;
}

/* Recompute one entity from all its ops. */
/* Recompute one entity from its ops; *searched = 1 when the case's
 * full-text row must be rewritten (the caller does it once per case). */
static int rematerialize(int *searched, cw_store *st, const uint8_t *case_id, const uint8_t *entity)
{
	static const char *const drops[] = {
		("DELETE FROM conflict_values WHERE conflict IN"
		 " (SELECT id FROM conflicts WHERE case_id=?1 AND entity=?2)"),
		"DELETE FROM conflicts WHERE case_id=?1 AND entity=?2",
		"DELETE FROM fields WHERE case_id=?1 AND entity=?2",
		"DELETE FROM times WHERE case_id=?1 AND entity=?2",
	};
	sqlite3_stmt *stmt;
	cw_op *ops = NULL;
	uint8_t **copies = NULL;
	size_t n = 0, alloc = 0, i;
	cw_merge_state ms;
	int rc, error;

	memset(&ms, 0, sizeof(ms));
	if ((error = cw_store__prepare(st, &stmt, sql_ops_of_entity)) < 0)
		goto done;
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 2, entity, CW_ID_BYTES, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(stmt, 0);

		if (n == alloc) {
			size_t na = alloc ? alloc * 2 : 8;
			cw_op *no = realloc(ops, na * sizeof(*ops));
			uint8_t **nc;

			if (no == NULL) {
				error = cw_error_nomem();
				break;
			}
			ops = no;
			if ((nc = realloc(copies, na * sizeof(*copies))) == NULL) {
				error = cw_error_nomem();
				break;
			}
			copies = nc;
			alloc = na;
		}
		if ((copies[n] = malloc(len ? len : 1)) == NULL) {
			error = cw_error_nomem();
			break;
		}
		memcpy(copies[n], sqlite3_column_blob(stmt, 0), len);
		if ((error = cw_op_decode(&ops[n], copies[n], len)) < 0) {
			free(copies[n]);
			error = cw_error(CW_EVERIFY, "a stored change cannot be read: %s", cw_error_last());
			break;
		}
		n++;
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (error < 0)
		goto done;
	if (rc != SQLITE_DONE) {
		error = cw_store__error(st, rc, "reading the change log");
		goto done;
	}
	for (i = 0; i < sizeof(drops) / sizeof(drops[0]); i++) {
		if ((error = cw_store__prepare(st, &stmt, drops[i])) < 0)
			goto done;
		sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(stmt, 2, entity, CW_ID_BYTES, SQLITE_STATIC);
		if ((error = step_done(st, stmt, "updating a case")) < 0)
			goto done;
	}
	if (n == 0)
		goto done;
	if ((error = cw_merge_entity(&ms, ops, n)) < 0 ||
	    (error = entity_put(st, case_id, entity, ms.kind, ms.created_hlc, ms.creator, ms.removed)) < 0)
		goto done;
	for (i = 0; i < ms.nfields; i++) {
		const cw_merge_field *mf = &ms.fields[i];

		if ((error = field_put(st, case_id, entity, ms.kind, mf->name, mf->winner.value,
		                       mf->winner.len, mf->winner.op->hlc, mf->winner.op->author)) < 0)
			goto done;
		if (mf->conflict && (error = conflict_add(st, case_id, entity, mf)) < 0)
			goto done;
	}
	*searched |= search_relevant(ms.kind);
done:
	cw_merge_dispose(&ms);
	for (i = 0; i < n; i++)
		free(copies[i]);
	free(copies);
	free(ops);
	return error;
}

static int rematerialize_query(cw_store *st, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	uint8_t(*list)[2][CW_ID_BYTES] = NULL;
	size_t n = 0, alloc = 0, i;
	int rc, searched = 0, error = CW_OK;

	rc = sqlite3_prepare_v2(cw_store__db(st), sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		error = cw_store__error(st, rc, "updating cases");
		goto done;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(stmt, 0) != CW_ID_BYTES ||
		    sqlite3_column_bytes(stmt, 1) != CW_ID_BYTES)
			continue;
		if (n == alloc) {
			void *p = realloc(list, (alloc = alloc ? alloc * 2 : 64) * sizeof(*list));

			if (p == NULL) {
				error = cw_error_nomem();
				goto done;
			}
			list = p;
		}
		memcpy(list[n][0], sqlite3_column_blob(stmt, 0), CW_ID_BYTES);
		memcpy(list[n][1], sqlite3_column_blob(stmt, 1), CW_ID_BYTES);
		n++;
	}
	if (rc != SQLITE_DONE) {
		error = cw_store__error(st, rc, "updating cases");
		goto done;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	/* Rows come by case (the tables' key order), so each case's full-text
	 * row is rewritten once, after its last entity. */
	for (i = 0; i < n; i++) {
		if ((error = rematerialize(&searched, st, list[i][0], list[i][1])) < 0)
			goto done;
		if (searched && (i + 1 == n || memcmp(list[i + 1][0], list[i][0], CW_ID_BYTES) != 0)) {
			if ((error = search_refresh(st, list[i][0])) < 0)
				goto done;
			searched = 0;
		}
	}
done:
	sqlite3_finalize(stmt);
	free(list);
	return error;
}

int cw_oplog_flush(cw_store *st)
{
	int error;

	if ((error = rematerialize_query(st, "SELECT case_id, entity FROM dirty ORDER BY case_id")) < 0)
		return error;
	return cw_store__exec(st, "DELETE FROM dirty");
}

int cw_oplog_rebuild(cw_store *st)
{
	int error;

	if ((error = cw_store__exec(st, "DELETE FROM conflict_values; DELETE FROM conflicts;"
	                                "DELETE FROM fields; DELETE FROM times; DELETE FROM entities;"
	                                "DELETE FROM search; DELETE FROM dirty;")) < 0)
		return error;
	return rematerialize_query(st, "SELECT DISTINCT case_id, entity FROM ops"
	                               " ORDER BY case_id, entity");
}

/* --- verification and digests ----------------------------------------------------------- */

static int is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

int cw_oplog_verify(cw_oplog_report *out, cw_store *st, const cw_keyring *kr)
{
	sqlite3_stmt *stmt = NULL;
	cw_oplog_report rep = { 0, 0, 0 };
	uint8_t prev_case[CW_ID_BYTES], prev_author[CW_AUTHOR_BYTES], prev_hash[CW_HASH_BYTES];
	uint64_t prev_seq = 0;
	int rc, error = CW_OK, have_prev = 0;
	cw_op op;

	rc = sqlite3_prepare_v2(cw_store__db(st),
	                        "SELECT hash, case_id, author, seq, entity, kind, action, hlc, bytes"
	                        " FROM ops ORDER BY case_id, author, seq",
	                        -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		error = cw_store__error(st, rc, "reading the change log");
		goto done;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const uint8_t *bytes = sqlite3_column_blob(stmt, 8);
		size_t len = (size_t)sqlite3_column_bytes(stmt, 8);
		const uint8_t *pk;
		char who[CW_DEVICE_ID_LEN + 1], cid[2 * CW_ID_BYTES + 1];
		int same_chain;

		if (cw_op_decode(&op, bytes, len) < 0) {
			error = cw_error(CW_EVERIFY, "change #%llu in the log cannot be read: %s",
			                 (unsigned long long)rep.ops + 1, cw_error_last());
			goto done;
		}
		cw_author_hex(who, op.author);
		cw_id_hex(cid, op.case_id);
		if ((pk = cw_keyring_find(kr, op.author)) == NULL) {
			error = cw_error(CW_EVERIFY, "change %.8s/%s/%llu: its author is not enrolled", cid,
			                 who, (unsigned long long)op.seq);
			goto done;
		}
		if (cw_op_verify(&op, bytes, pk) < 0) {
			error = cw_error(CW_EVERIFY,
			                 "change %.8s/%s/%llu: the signature does not verify "
			                 "(tampered with)",
			                 cid, who, (unsigned long long)op.seq);
			goto done;
		}
		if ((error = cw_keyring_check(kr, op.author, op.case_id, op.seq)) < 0)
			goto done;
		if (sqlite3_column_bytes(stmt, 0) != CW_HASH_BYTES ||
		    memcmp(sqlite3_column_blob(stmt, 0), op.hash, CW_HASH_BYTES) != 0 ||
		    sqlite3_column_bytes(stmt, 1) != CW_ID_BYTES ||
		    memcmp(sqlite3_column_blob(stmt, 1), op.case_id, CW_ID_BYTES) != 0 ||
		    sqlite3_column_bytes(stmt, 2) != CW_AUTHOR_BYTES ||
		    memcmp(sqlite3_column_blob(stmt, 2), op.author, CW_AUTHOR_BYTES) != 0 ||
		    (uint64_t)sqlite3_column_int64(stmt, 3) != op.seq ||
		    sqlite3_column_bytes(stmt, 4) != CW_ID_BYTES ||
		    memcmp(sqlite3_column_blob(stmt, 4), op.entity, CW_ID_BYTES) != 0 ||
		    sqlite3_column_int(stmt, 5) != op.kind || sqlite3_column_int(stmt, 6) != op.action ||
		    (uint64_t)sqlite3_column_int64(stmt, 7) != op.hlc) {
			error = cw_error(CW_EVERIFY,
			                 "change %.8s/%s/%llu: the log's index does not match "
			                 "the signed change",
			                 cid, who, (unsigned long long)op.seq);
			goto done;
		}
		same_chain = have_prev && memcmp(prev_case, op.case_id, CW_ID_BYTES) == 0 &&
		             memcmp(prev_author, op.author, CW_AUTHOR_BYTES) == 0;
		if (!same_chain)
			rep.chains++;
		if ((same_chain &&
		     (op.seq != prev_seq + 1 || !cw_secret_equal(op.prev, prev_hash, CW_HASH_BYTES))) ||
		    (!same_chain && (op.seq != 1 || !is_zero(op.prev, CW_HASH_BYTES)))) {
			error = cw_error(CW_EVERIFY, "change %.8s/%s/%llu: breaks its author's chain", cid,
			                 who, (unsigned long long)op.seq);
			goto done;
		}
		if (!have_prev || memcmp(prev_case, op.case_id, CW_ID_BYTES) != 0)
			rep.cases++;
		memcpy(prev_case, op.case_id, CW_ID_BYTES);
		memcpy(prev_author, op.author, CW_AUTHOR_BYTES);
		memcpy(prev_hash, op.hash, CW_HASH_BYTES);
		prev_seq = op.seq;
		have_prev = 1;
		rep.ops++;
	}
	if (rc != SQLITE_DONE) {
		error = cw_store__error(st, rc, "reading the change log");
		goto done;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	/* every head names the last op of its chain */
	rc = sqlite3_prepare_v2(cw_store__db(st),
	                        "SELECT count(*) FROM heads h WHERE NOT EXISTS (SELECT 1 FROM ops o"
	                        " WHERE o.case_id=h.case_id AND o.author=h.author AND o.seq=h.seq"
	                        " AND o.hash=h.hash) OR EXISTS (SELECT 1 FROM ops o WHERE"
	                        " o.case_id=h.case_id AND o.author=h.author AND o.seq>h.seq)",
	                        -1, &stmt, NULL);
	if (rc != SQLITE_OK || (rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		error = cw_store__error(st, rc, "reading the change log");
		goto done;
	}
	if (sqlite3_column_int(stmt, 0) != 0) {
		error = cw_error(CW_EVERIFY, "the change log's heads do not match its chains");
		goto done;
	}
	*out = rep;
done:
	sqlite3_finalize(stmt);
	return error;
}

/* Hash the rows of one query, every column length-prefixed. */
static int digest_query(cw_buf *acc, cw_store *st, const char *sql, const uint8_t *case_id)
{
	sqlite3_stmt *stmt = NULL;
	int rc, error = CW_OK, i, ncol;

	rc = sqlite3_prepare_v2(cw_store__db(st), sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		error = cw_store__error(st, rc, "computing a digest");
		goto done;
	}
	if (case_id)
		sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 1);
	ncol = sqlite3_column_count(stmt);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		for (i = 0; i < ncol; i++) {
			int type = sqlite3_column_type(stmt, i);

			if (type == SQLITE_INTEGER) {
				if ((error = cw_buf_put_u8(acc, 'i')) < 0 ||
				    (error = cw_buf_put_u64(acc, (uint64_t)sqlite3_column_int64(stmt, i))) <
				        0)
					goto done;
			} else {
				const void *p = sqlite3_column_blob(stmt, i);
				size_t n = (size_t)sqlite3_column_bytes(stmt, i);

				if ((error = cw_buf_put_u8(acc, 'b')) < 0 ||
				    (error = cw_buf_put_u32(acc, (uint32_t)n)) < 0 ||
				    (error = cw_buf_put(acc, p, n)) < 0)
					goto done;
			}
		}
		/* keep the buffer small: fold it into a running hash */
		if (acc->len > 65536) {
			uint8_t h[CW_HASH_BYTES];

			cw_keys_hash(h, acc->data, acc->len);
			acc->len = 0;
			if ((error = cw_buf_put(acc, h, sizeof(h))) < 0)
				goto done;
		}
	}
	if (rc != SQLITE_DONE)
		error = cw_store__error(st, rc, "computing a digest");
done:
	sqlite3_finalize(stmt);
	return error;
}

int cw_oplog_digest(uint8_t out[CW_HASH_BYTES], cw_store *st, const uint8_t *case_id)
{
	static const char *const queries[] = {
		"SELECT case_id, entity, kind, created_hlc, creator, removed FROM entities"
		" WHERE ?1 IS NULL OR case_id=?1 ORDER BY case_id, entity",
		"SELECT case_id, entity, name, value, hlc, author FROM fields"
		" WHERE ?1 IS NULL OR case_id=?1 ORDER BY case_id, entity, name",
		"SELECT id, case_id, entity, name FROM conflicts WHERE ?1 IS NULL OR case_id=?1"
		" ORDER BY case_id, entity, name",
		"SELECT v.conflict, v.op, v.author, v.hlc, v.value FROM conflict_values v"
		" JOIN conflicts c ON c.id=v.conflict WHERE ?1 IS NULL OR c.case_id=?1"
		" ORDER BY c.case_id, c.entity, c.name, v.op",
		"SELECT case_id, entity, name, utc FROM times WHERE ?1 IS NULL OR case_id=?1"
		" ORDER BY case_id, entity, name",
	};
	cw_buf acc = CW_BUF_INIT;
	size_t i;
	int error = CW_OK;

	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		if ((error = cw_buf_put_u8(&acc, (uint8_t)('0' + i))) < 0 ||
		    (error = digest_query(&acc, st, queries[i], case_id)) < 0)
			goto done;
	}
	cw_keys_hash(out, acc.data, acc.len);
done:
	cw_buf_dispose(&acc);
	return error;
}

/* Run a prepared op query (bytes, flag note) through fn; finalizes stmt. */
static int each_row(cw_store *st, sqlite3_stmt *stmt,
                    int (*fn)(const cw_op *op, const char *flagged, void *ctx), void *ctx)
{
	cw_op *op = NULL;
	int rc, error = CW_OK;

	if ((op = malloc(sizeof(*op))) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (cw_op_decode(op, sqlite3_column_blob(stmt, 0), (size_t)sqlite3_column_bytes(stmt, 0)) <
		    0) {
			error = cw_error(CW_EVERIFY, "a stored change cannot be read: %s", cw_error_last());
			goto done;
		}
		if ((error = fn(op, (const char *)sqlite3_column_text(stmt, 1), ctx)) < 0)
			goto done;
	}
	if (rc != SQLITE_DONE)
		error = cw_store__error(st, rc, "reading the change log");
done:
	sqlite3_finalize(stmt);
	free(op);
	return error;
}

int cw_oplog_each(cw_store *st, const uint8_t *case_id, const uint8_t *author, uint64_t since_ms,
                  int (*fn)(const cw_op *op, const char *flagged, void *ctx), void *ctx)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	rc = sqlite3_prepare_v2(cw_store__db(st),
	                        "SELECT o.bytes, f.note FROM ops o LEFT JOIN op_flags f ON f.hash=o.hash"
	                        " WHERE (?1 IS NULL OR o.case_id=?1) AND (?2 IS NULL OR o.author=?2)"
	                        " AND o.hlc>=?3 ORDER BY o.hlc, o.author, o.seq",
	                        -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return cw_store__error(st, rc, "reading the change log");
	if (case_id)
		sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	if (author)
		sqlite3_bind_blob(stmt, 2, author, CW_AUTHOR_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3,
	                   (sqlite3_int64)(since_ms > (UINT64_MAX >> 17) ? INT64_MAX : since_ms << 16));
	return each_row(st, stmt, fn, ctx);
}

int cw_oplog_each_after(cw_store *st, const uint8_t case_id[CW_ID_BYTES],
                        const uint8_t author[CW_AUTHOR_BYTES], uint64_t after,
                        int (*fn)(const cw_op *op, const char *flagged, void *ctx), void *ctx)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	rc = sqlite3_prepare_v2(cw_store__db(st),
	                        "SELECT o.bytes, f.note FROM ops o LEFT JOIN op_flags f ON f.hash=o.hash"
	                        " WHERE o.case_id=?1 AND o.author=?2 AND o.seq>?3 ORDER BY o.seq",
	                        -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return cw_store__error(st, rc, "reading the change log");
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 2, author, CW_AUTHOR_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, after > INT64_MAX ? INT64_MAX : (sqlite3_int64)after);
	return each_row(st, stmt, fn, ctx);
}

int cw_oplog_heads_of(cw_store *st, const uint8_t author[CW_AUTHOR_BYTES], int uncommitted,
                      int (*fn)(const uint8_t case_id[CW_ID_BYTES], uint64_t seq, void *ctx), void *ctx)
{
	sqlite3_stmt *stmt = NULL;
	int rc, error = CW_OK;

	rc = sqlite3_prepare_v2(cw_store__db(st),
	                        uncommitted
	                            ? "SELECT h.case_id, h.seq FROM heads h LEFT JOIN committed c"
	                              " ON c.case_id=h.case_id WHERE h.author=?1"
	                              " AND (c.seq IS NULL OR c.seq<>h.seq) ORDER BY h.case_id"
	                            : "SELECT case_id, seq FROM heads WHERE author=?1 ORDER BY case_id",
	                        -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return cw_store__error(st, rc, "reading the change log");
	sqlite3_bind_blob(stmt, 1, author, CW_AUTHOR_BYTES, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(stmt, 0) != CW_ID_BYTES) {
			error = cw_error(CW_EVERIFY, "a stored head is damaged");
			break;
		}
		if ((error = fn(sqlite3_column_blob(stmt, 0), (uint64_t)sqlite3_column_int64(stmt, 1), ctx)) <
		    0)
			break;
	}
	if (error == CW_OK && rc != SQLITE_DONE)
		error = cw_store__error(st, rc, "reading the change log");
	sqlite3_finalize(stmt);
	return error;
}

int cw_oplog_mark_committed(cw_store *st, const uint8_t case_id[CW_ID_BYTES], uint64_t seq)
{
	sqlite3_stmt *stmt;
	int error;

	if ((error = cw_store__prepare(st, &stmt,
	                               "INSERT INTO committed(case_id, seq) VALUES(?1, ?2)"
	                               " ON CONFLICT(case_id) DO UPDATE SET seq=excluded.seq")) < 0)
		return error;
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, seq > INT64_MAX ? INT64_MAX : (sqlite3_int64)seq);
	return step_done(st, stmt, "recording what the git log carries");
}
