/* node/erase.c - erasing a case from the store: its keys, rows and documents. */
#include "erase.h"
#include "docs.h"
#include "model.h"
#include "store_internal.h"
#include "../util/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CASE_HEX (2 * CW_ID_BYTES)
#define DOCS_MAX 100000u /* document addresses listed for one case */

static const char sql_get[] = "SELECT by_device, at, tombstone FROM erased WHERE case_id=?1";
static const char sql_add[] = "INSERT INTO erased(case_id, by_device, at, tombstone, docs, recorded_at)"
                              " VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_doc_ops[] = "SELECT bytes FROM ops WHERE case_id=?1 AND kind=?2";

/* Deleted in this order; ?1 is the case id. */
static const char *const sql_drop_case[] = {
	"DELETE FROM op_flags WHERE hash IN (SELECT hash FROM ops WHERE case_id=?1)",
	"DELETE FROM ops WHERE case_id=?1",
	"DELETE FROM heads WHERE case_id=?1",
	"DELETE FROM case_keys WHERE case_id=?1",
	"DELETE FROM conflict_values WHERE conflict IN (SELECT id FROM conflicts WHERE case_id=?1)",
	"DELETE FROM conflicts WHERE case_id=?1",
	"DELETE FROM fields WHERE case_id=?1",
	"DELETE FROM times WHERE case_id=?1",
	"DELETE FROM entities WHERE case_id=?1",
	"DELETE FROM dirty WHERE case_id=?1",
	"DELETE FROM search WHERE rowid IN (SELECT n FROM cases WHERE case_id=?1)",
	"DELETE FROM cases WHERE case_id=?1",
	"DELETE FROM committed WHERE case_id=?1",
};

/* Deleted by text prefix ?1 (length ?2). */
static const char *const sql_drop_prefix[] = {
	"DELETE FROM peer_has WHERE substr(ref, 1, ?2)=?1",
	"DELETE FROM peer_gave WHERE substr(ref, 1, ?2)=?1",
	"DELETE FROM meta WHERE substr(key, 1, ?2)=?1",
	"DELETE FROM meta WHERE substr(key, 1, ?2)=?1",
	"DELETE FROM meta WHERE substr(key, 1, ?2)=?1",
	"DELETE FROM meta WHERE substr(key, 1, ?2)=?1",
};

static int step_row(cw_store *st, sqlite3_stmt *stmt, const char *what)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc;
	return cw_store__error(st, rc, what);
}

static int row_of(cw_erasure *out, sqlite3_stmt *stmt, int first)
{
	const unsigned char *by = sqlite3_column_text(stmt, first);
	const unsigned char *tomb = sqlite3_column_text(stmt, first + 2);

	if (by == NULL || tomb == NULL || strlen((const char *)by) != CW_DEVICE_ID_LEN ||
	    strlen((const char *)tomb) != 40)
		return cw_error(CW_EVERIFY, "the store's record of an erasure is damaged");
	memcpy(out->by, by, CW_DEVICE_ID_LEN + 1);
	out->at = sqlite3_column_int64(stmt, first + 1);
	memcpy(out->tombstone, tomb, 41);
	return CW_OK;
}

int cw_erase_get(cw_erasure *out, cw_store *st, const uint8_t case_id[CW_ID_BYTES])
{
	sqlite3_stmt *stmt;
	cw_erasure e;
	int rc, error;

	if ((error = cw_store__prepare(st, &stmt, sql_get)) < 0)
		return error;
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	rc = step_row(st, stmt, "reading the erasures");
	if (rc < 0) {
		error = rc;
	} else if (rc == SQLITE_DONE) {
		error = cw_error(CW_ENOTFOUND, "that case was not erased");
	} else {
		memcpy(e.case_id, case_id, CW_ID_BYTES);
		if ((error = row_of(&e, stmt, 0)) == CW_OK)
			*out = e;
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return error;
}

int cw_erase_is(int *yes, cw_store *st, const uint8_t case_id[CW_ID_BYTES])
{
	cw_erasure e;
	int error = cw_erase_get(&e, st, case_id);

	*yes = error == CW_OK;
	if (error == CW_ENOTFOUND) {
		cw_error_clear();
		error = CW_OK;
	}
	return error;
}

int cw_erase_each(cw_store *st, int (*fn)(const cw_erasure *e, void *ctx), void *ctx)
{
	sqlite3_stmt *stmt = NULL;
	cw_erasure e;
	int rc, error = CW_OK;

	rc = sqlite3_prepare_v2(cw_store__db(st),
	                        "SELECT case_id, by_device, at, tombstone FROM erased ORDER BY at, case_id",
	                        -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return cw_store__error(st, rc, "reading the erasures");
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(stmt, 0) != CW_ID_BYTES) {
			error = cw_error(CW_EVERIFY, "the store's record of an erasure is damaged");
			break;
		}
		memcpy(e.case_id, sqlite3_column_blob(stmt, 0), CW_ID_BYTES);
		if ((error = row_of(&e, stmt, 1)) < 0 || (error = fn(&e, ctx)) < 0)
			break;
	}
	if (error == CW_OK && rc != SQLITE_DONE)
		error = cw_store__error(st, rc, "reading the erasures");
	sqlite3_finalize(stmt);
	return error;
}

/* The creator of a case is read from the first op of every author (seq 1):
 * it is the author whose first op puts the case entity having seen no
 * other op, and whose first op every other author had seen before writing.
 * At most one author can be that. A backdated "creating" op forged by a
 * member fails the second half for everyone, and then no one is the
 * creator (only a hub may erase). */
int cw_erase_creator(char out[CW_DEVICE_ID_LEN + 1], cw_store *st, const uint8_t case_id[CW_ID_BYTES])
{
	sqlite3_stmt *stmt = NULL;
	cw_op *op = NULL, *cand = NULL;
	size_t n = 0;
	int rc, found = 0, error = CW_OK;

	if ((op = malloc(sizeof(*op))) == NULL || (cand = malloc(sizeof(*cand))) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	rc = sqlite3_prepare_v2(cw_store__db(st), "SELECT bytes FROM ops WHERE case_id=?1 AND seq=1", -1,
	                        &stmt, NULL);
	if (rc != SQLITE_OK) {
		error = cw_store__error(st, rc, "reading a case");
		goto done;
	}
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	/* first pass: the candidate */
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		n++;
		if (cw_op_decode(op, sqlite3_column_blob(stmt, 0), (size_t)sqlite3_column_bytes(stmt, 0)) <
		    0) {
			cw_error_clear();
			continue;
		}
		if (op->kind == CW_KIND_CASE && op->action == CW_OP_PUT && op->nseen == 0 &&
		    memcmp(op->entity, case_id, CW_ID_BYTES) == 0) {
			if (found++ == 0)
				memcpy(cand->author, op->author, CW_AUTHOR_BYTES);
		}
	}
	if (rc != SQLITE_DONE) {
		error = cw_store__error(st, rc, "reading a case");
		goto done;
	}
	if (n == 0) {
		error = cw_error(CW_ENOTFOUND, "this node holds no change of that case");
		goto done;
	}
	out[0] = '\0';
	if (found != 1)
		goto done;
	/* second pass: every other author's first op had seen the candidate */
	sqlite3_reset(stmt);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && found) {
		if (cw_op_decode(op, sqlite3_column_blob(stmt, 0), (size_t)sqlite3_column_bytes(stmt, 0)) <
		    0) {
			cw_error_clear();
			continue;
		}
		if (memcmp(op->author, cand->author, CW_AUTHOR_BYTES) != 0 &&
		    cw_op_seen_of(op, cand->author) < 1)
			found = 0;
	}
	if (found)
		cw_author_hex(out, cand->author);
done:
	sqlite3_finalize(stmt);
	free(op);
	free(cand);
	return error;
}

/* The document addresses the case's ops name, space-separated, into docs. */
static int collect_docs(cw_buf *docs, cw_store *st, const uint8_t case_id[CW_ID_BYTES])
{
	sqlite3_stmt *stmt = NULL;
	cw_op *op = NULL;
	size_t n = 0;
	int rc, error = CW_OK;

	if ((op = malloc(sizeof(*op))) == NULL)
		return cw_error_nomem();
	rc = sqlite3_prepare_v2(cw_store__db(st), sql_doc_ops, -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		error = cw_store__error(st, rc, "reading the change log");
		goto done;
	}
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, CW_KIND_DOCUMENT);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const cw_op_field *f;

		if (cw_op_decode(op, sqlite3_column_blob(stmt, 0), (size_t)sqlite3_column_bytes(stmt, 0)) <
		    0) {
			cw_error_clear(); /* verify reports it; erasure removes it anyway */
			continue;
		}
		f = cw_op_field_get(op, "address");
		if (f == NULL || f->len != CW_DOCS_ADDRESS_LEN ||
		    strspn(f->value, "0123456789abcdef") < CW_DOCS_ADDRESS_LEN)
			continue;
		if (n++ >= DOCS_MAX)
			break;
		if ((docs->len && (error = cw_buf_put(docs, " ", 1)) < 0) ||
		    (error = cw_buf_put(docs, f->value, f->len)) < 0)
			goto done;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		error = cw_store__error(st, rc, "reading the change log");
done:
	sqlite3_finalize(stmt);
	free(op);
	return error;
}

static int drop_rows(cw_store *st, const uint8_t case_id[CW_ID_BYTES])
{
	sqlite3_stmt *stmt;
	char hex[CASE_HEX + 1], prefix[6][80];
	size_t i;
	int rc, error;

	for (i = 0; i < sizeof(sql_drop_case) / sizeof(sql_drop_case[0]); i++) {
		if ((error = cw_store__prepare(st, &stmt, sql_drop_case[i])) < 0)
			return error;
		sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
		rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
		if (rc != SQLITE_DONE)
			return cw_store__error(st, rc, "erasing a case");
	}
	cw_id_hex(hex, case_id);
	snprintf(prefix[0], sizeof(prefix[0]), "refs/cw/case/%s/", hex);
	snprintf(prefix[1], sizeof(prefix[1]), "refs/cw/case/%s/", hex);
	snprintf(prefix[2], sizeof(prefix[2]), "cw-log:%s:", hex);
	snprintf(prefix[3], sizeof(prefix[3]), "cw-log-checked:%s:", hex);
	snprintf(prefix[4], sizeof(prefix[4]), "cw-refused:refs/cw/case/%s/", hex); /* sync/remote.c */
	/* a refused tombstone of the case (sync/tombstone.c): no longer needed */
	snprintf(prefix[5], sizeof(prefix[5]), "cw-refused:refs/cw/erased/%s", hex);
	for (i = 0; i < sizeof(sql_drop_prefix) / sizeof(sql_drop_prefix[0]); i++) {
		/* prepared each time: the two meta deletes share their text */
		rc = sqlite3_prepare_v2(cw_store__db(st), sql_drop_prefix[i], -1, &stmt, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_text(stmt, 1, prefix[i], -1, SQLITE_STATIC);
			sqlite3_bind_int(stmt, 2, (int)strlen(prefix[i]));
			rc = sqlite3_step(stmt);
		}
		sqlite3_finalize(stmt);
		if (rc != SQLITE_DONE)
			return cw_store__error(st, rc, "erasing a case");
	}
	/* Merge the full-text index into one segment: the deleted row's words
	 * leave the index instead of waiting in older segments. */
	return cw_store__exec(st, "INSERT INTO search(search) VALUES('optimize')");
}

static int record(cw_store *st, const cw_erasure *e)
{
	sqlite3_stmt *stmt;
	cw_buf docs = CW_BUF_INIT;
	int yes, rc, error;

	if ((error = cw_erase_is(&yes, st, e->case_id)) < 0 || yes)
		goto done;
	if (strlen(e->by) != CW_DEVICE_ID_LEN || strlen(e->tombstone) != 40) {
		error = cw_error(CW_EINVALID, "internal: an erasure without its author or tombstone");
		goto done;
	}
	if ((error = collect_docs(&docs, st, e->case_id)) < 0 ||
	    (error = cw_store__prepare(st, &stmt, sql_add)) < 0)
		goto done;
	sqlite3_bind_blob(stmt, 1, e->case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, e->by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, e->at);
	sqlite3_bind_text(stmt, 4, e->tombstone, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, docs.len ? (const char *)docs.data : "", (int)docs.len, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc != SQLITE_DONE) {
		error = cw_store__error(st, rc, "recording an erasure");
		goto done;
	}
	error = drop_rows(st, e->case_id);
done:
	cw_buf_dispose(&docs);
	return error;
}

int cw_erase_record(cw_store *st, const cw_erasure *e)
{
	int own = sqlite3_get_autocommit(cw_store__db(st)), error;

	if (own && (error = cw_store_begin(st)) < 0)
		return error;
	error = record(st, e);
	if (own) {
		if (error < 0)
			cw_store_rollback(st);
		else
			error = cw_store_commit(st);
	}
	return error;
}

/* Unlink the files of one space-separated list of addresses. */
static int unlink_docs(const char *home_dir, const char *list)
{
	const char *p = list;
	char addr[CW_DOCS_ADDRESS_LEN + 1], *path = NULL;
	int error = CW_OK;

	while (*p) {
		size_t n = strcspn(p, " ");

		if (n == CW_DOCS_ADDRESS_LEN) {
			memcpy(addr, p, n);
			addr[n] = '\0';
			if ((error = cw_docs_path(&path, home_dir, addr)) < 0)
				return error;
			if (unlink(path) < 0 && errno != ENOENT) {
				error = cw_error(CW_ERROR,
				                 "could not remove a document of an erased case: %s",
				                 strerror(errno));
				free(path);
				return error;
			}
			free(path);
			path = NULL;
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	return CW_OK;
}

int cw_erase_docs(cw_store *st, const char *home_dir)
{
	sqlite3_stmt *stmt = NULL, *clear = NULL;
	int rc, any = 0, error = CW_OK;

	rc = sqlite3_prepare_v2(cw_store__db(st), "SELECT case_id, docs FROM erased WHERE docs<>''", -1,
	                        &stmt, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(cw_store__db(st), "UPDATE erased SET docs='' WHERE case_id=?1", -1,
		                        &clear, NULL);
	if (rc != SQLITE_OK) {
		error = cw_store__error(st, rc, "reading the erasures");
		goto done;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *list = (const char *)sqlite3_column_text(stmt, 1);

		if ((error = unlink_docs(home_dir, list ? list : "")) < 0)
			goto done;
		any = 1;
	}
	if (rc != SQLITE_DONE) {
		error = cw_store__error(st, rc, "reading the erasures");
		goto done;
	}
	sqlite3_reset(stmt);
	if (!any)
		goto done;
	/* The files are gone: now forget their addresses. */
	if ((error = cw_store_begin(st)) < 0)
		goto done;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		sqlite3_bind_blob(clear, 1, sqlite3_column_blob(stmt, 0), sqlite3_column_bytes(stmt, 0),
		                  SQLITE_TRANSIENT);
		if ((rc = sqlite3_step(clear)) != SQLITE_DONE)
			break;
		sqlite3_reset(clear);
	}
	if (rc != SQLITE_DONE) {
		error = cw_store__error(st, rc, "recording an erasure");
		cw_store_rollback(st);
		goto done;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	error = cw_store_commit(st);
done:
	sqlite3_finalize(stmt);
	sqlite3_finalize(clear);
	return error;
}

int cw_erase_compact(cw_store *st)
{
	int rc, log_frames = 0, done_frames = 0;

	rc = sqlite3_wal_checkpoint_v2(cw_store__db(st), "main", SQLITE_CHECKPOINT_TRUNCATE, &log_frames,
	                               &done_frames);
	if (rc == SQLITE_BUSY)
		return cw_error(CW_ERROR,
		                "another caseway is reading the store: its log could not be emptied "
		                "now (the next erasure or `caseway verify` does it)");
	if (rc != SQLITE_OK)
		return cw_store__error(st, rc, "emptying the store's log");
	return CW_OK;
}
