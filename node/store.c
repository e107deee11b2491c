/* node/store.c - the encrypted SQLite store: open, migrate, check, verify. */
#include "store_internal.h"
#include "../crypto/vfs.h"
#include "../util/error.h"
#include "../util/file.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STMT_CACHE 96

struct cw_store {
	sqlite3 *db;
	cw_vfs *vfs;
	char *path;
	int in_txn;
	size_t nstmts;
	struct {
		const char *sql;
		sqlite3_stmt *stmt;
	} stmts[STMT_CACHE];
};

/*
 * The schema, one migration per version. A migration only ever adds; the
 * version it brings is recorded in schema_version in the same transaction.
 */
static const char *const migrations[] = {
	/* 1: the node itself and the agency's trust objects. */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE roster(seq INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE,"
	"  bytes BLOB NOT NULL, received_at INTEGER NOT NULL);"
	"CREATE TRIGGER roster_append_only_u BEFORE UPDATE ON roster"
	"  BEGIN SELECT RAISE(ABORT, 'the roster history is append-only'); END;"
	"CREATE TRIGGER roster_append_only_d BEFORE DELETE ON roster"
	"  BEGIN SELECT RAISE(ABORT, 'the roster history is append-only'); END;",
	/* 2: cases: the signed change log and the state materialized from it. */
	"CREATE TABLE ops(n INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE,"
	"  case_id BLOB NOT NULL, author BLOB NOT NULL, seq INTEGER NOT NULL,"
	"  entity BLOB NOT NULL, kind INTEGER NOT NULL, action INTEGER NOT NULL,"
	"  hlc INTEGER NOT NULL, bytes BLOB NOT NULL, received_at INTEGER NOT NULL,"
	"  UNIQUE(case_id, author, seq));"
	"CREATE INDEX ops_entity ON ops(case_id, entity);"
	"CREATE TRIGGER ops_append_only_u BEFORE UPDATE ON ops"
	"  BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;"
	"CREATE TRIGGER ops_append_only_d BEFORE DELETE ON ops"
	"  BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;"
	"CREATE TABLE op_flags(hash BLOB PRIMARY KEY, note TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE heads(case_id BLOB NOT NULL, author BLOB NOT NULL, seq INTEGER NOT NULL,"
	"  hash BLOB NOT NULL, PRIMARY KEY(case_id, author)) WITHOUT ROWID;"
	"CREATE TABLE cases(n INTEGER PRIMARY KEY, case_id BLOB NOT NULL UNIQUE);"
	"CREATE TABLE case_keys(case_id BLOB NOT NULL, generation INTEGER NOT NULL,"
	"  key BLOB NOT NULL, PRIMARY KEY(case_id, generation)) WITHOUT ROWID;"
	"CREATE TABLE entities(case_id BLOB NOT NULL, entity BLOB NOT NULL,"
	"  kind INTEGER NOT NULL, created_hlc INTEGER NOT NULL, creator BLOB NOT NULL,"
	"  removed INTEGER NOT NULL, PRIMARY KEY(case_id, entity)) WITHOUT ROWID;"
	"CREATE INDEX entities_kind ON entities(kind, case_id);"
	"CREATE TABLE fields(case_id BLOB NOT NULL, entity BLOB NOT NULL, name TEXT NOT NULL,"
	"  value TEXT NOT NULL, hlc INTEGER NOT NULL, author BLOB NOT NULL,"
	"  PRIMARY KEY(case_id, entity, name)) WITHOUT ROWID;"
	"CREATE TABLE conflicts(id TEXT PRIMARY KEY, case_id BLOB NOT NULL, entity BLOB NOT NULL,"
	"  name TEXT NOT NULL, UNIQUE(case_id, entity, name)) WITHOUT ROWID;"
	"CREATE TABLE conflict_values(conflict TEXT NOT NULL, op BLOB NOT NULL,"
	"  author BLOB NOT NULL, hlc INTEGER NOT NULL, value TEXT NOT NULL,"
	"  PRIMARY KEY(conflict, op)) WITHOUT ROWID;"
	"CREATE TABLE times(case_id BLOB NOT NULL, entity BLOB NOT NULL, name TEXT NOT NULL,"
	"  utc INTEGER NOT NULL, PRIMARY KEY(case_id, entity, name)) WITHOUT ROWID;"
	"CREATE INDEX times_utc ON times(utc);"
	"CREATE TABLE dirty(case_id BLOB NOT NULL, entity BLOB NOT NULL,"
	"  PRIMARY KEY(case_id, entity)) WITHOUT ROWID;"
	"CREATE VIRTUAL TABLE search USING fts5(body, tokenize='unicode61 remove_diacritics 2');",
	/* 3: the peers this node syncs with (node/peer.h). */
	"CREATE TABLE peers(device TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, role INTEGER NOT NULL,"
	"  url TEXT NOT NULL, added_at INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE peer_sent(device TEXT NOT NULL, seq INTEGER NOT NULL, manifest TEXT NOT NULL,"
	"  at INTEGER NOT NULL, refs INTEGER NOT NULL, PRIMARY KEY(device, seq)) WITHOUT ROWID;"
	"CREATE TABLE peer_received(device TEXT NOT NULL, seq INTEGER NOT NULL, manifest TEXT NOT NULL,"
	"  at INTEGER NOT NULL, PRIMARY KEY(device, seq)) WITHOUT ROWID;"
	"CREATE TABLE peer_has(device TEXT NOT NULL, ref TEXT NOT NULL, oid TEXT NOT NULL,"
	"  PRIMARY KEY(device, ref)) WITHOUT ROWID;"
	"CREATE TABLE peer_gave(device TEXT NOT NULL, ref TEXT NOT NULL,"
	"  PRIMARY KEY(device, ref)) WITHOUT ROWID;"
	"CREATE TABLE committed(case_id BLOB PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;",
	/* 4: erased cases (node/erase.h); the ops of an erased case, and only
	 * those, may be deleted. */
	"CREATE TABLE erased(case_id BLOB PRIMARY KEY, by_device TEXT NOT NULL, at INTEGER NOT NULL,"
	"  tombstone TEXT NOT NULL, docs TEXT NOT NULL, recorded_at INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TRIGGER erased_keep_u BEFORE UPDATE OF case_id, by_device, at, tombstone ON erased"
	"  BEGIN SELECT RAISE(ABORT, 'an erasure cannot be changed'); END;"
	"CREATE TRIGGER erased_keep_d BEFORE DELETE ON erased"
	"  BEGIN SELECT RAISE(ABORT, 'an erasure cannot be undone'); END;"
	"DROP TRIGGER ops_append_only_d;"
	"CREATE TRIGGER ops_append_only_d BEFORE DELETE ON ops"
	"  WHEN NOT EXISTS (SELECT 1 FROM erased WHERE case_id=OLD.case_id)"
	"  BEGIN SELECT RAISE(ABORT, 'the change log is append-only'); END;",
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

sqlite3 *cw_store__db(cw_store *st)
{
	return st->db;
}

const char *cw_store_path(const cw_store *st)
{
	return st->path;
}

int cw_store__error(cw_store *st, int rc, const char *what)
{
	const char *failure = st->vfs ? cw_vfs_failure(st->vfs) : NULL;

	if (failure)
		return cw_error(CW_EVERIFY, "%s failed its integrity check: tampered with or damaged",
		                failure);
	if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
		return cw_error(CW_EVERIFY, "%s is damaged (%s)", st->path,
		                st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return cw_error(CW_EINVALID, "%s: %s", what, sqlite3_errmsg(st->db));
	if ((rc & 0xff) == SQLITE_BUSY)
		return cw_error(CW_ERROR, "%s: the store is busy (another caseway is writing)", what);
	return cw_error(CW_ERROR, "%s: %s", what, st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
}

int cw_store__prepare(cw_store *st, sqlite3_stmt **out, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	size_t i;
	int rc;

	*out = NULL;
	for (i = 0; i < st->nstmts; i++) {
		if (st->stmts[i].sql == sql) {
			*out = st->stmts[i].stmt;
			return CW_OK;
		}
	}
	rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
	if (rc != SQLITE_OK)
		return cw_store__error(st, rc, "preparing a query");
	if (st->nstmts < STMT_CACHE) {
		st->stmts[st->nstmts].sql = sql;
		st->stmts[st->nstmts].stmt = stmt;
		st->nstmts++;
		*out = stmt;
		return CW_OK;
	}
	sqlite3_finalize(stmt);
	return cw_error(CW_ERROR, "internal: statement cache is full");
}

int cw_store__exec(cw_store *st, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
	int error = CW_OK;

	if (rc != SQLITE_OK) {
		if (cw_vfs_failure(st->vfs) || msg == NULL || (rc & 0xff) == SQLITE_CORRUPT ||
		    (rc & 0xff) == SQLITE_NOTADB)
			error = cw_store__error(st, rc, "updating the store");
		else
			error = cw_error((rc & 0xff) == SQLITE_CONSTRAINT ? CW_EINVALID : CW_ERROR,
			                 "updating the store: %s", msg);
	}
	sqlite3_free(msg);
	return error;
}

int cw_store_begin(cw_store *st)
{
	int error;

	cw_vfs_clear_failure(st->vfs);
	if ((error = cw_store__exec(st, "BEGIN IMMEDIATE")) < 0)
		return error;
	st->in_txn = 1;
	return CW_OK;
}

int cw_store_commit(cw_store *st)
{
	int error = cw_store__exec(st, "COMMIT");

	if (error < 0) {
		cw_store_rollback(st);
		return error;
	}
	st->in_txn = 0;
	return CW_OK;
}

void cw_store_rollback(cw_store *st)
{
	if (st->db && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->in_txn = 0;
}

static int schema_version(cw_store *st, int *out)
{
	sqlite3_stmt *stmt = NULL;
	int rc, error = CW_OK;

	*out = 0;
	rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_schema WHERE name='schema_version'", -1,
	                        &stmt, NULL);
	if (rc != SQLITE_OK || (rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		error = cw_store__error(st, rc, "reading the store");
		goto done;
	}
	if (sqlite3_column_int(stmt, 0) == 0)
		goto done;
	sqlite3_finalize(stmt);
	rc = sqlite3_prepare_v2(st->db, "SELECT coalesce(max(version), 0) FROM schema_version", -1, &stmt,
	                        NULL);
	if (rc != SQLITE_OK || (rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		error = cw_store__error(st, rc, "reading the schema version");
		goto done;
	}
	*out = sqlite3_column_int(stmt, 0);
done:
	sqlite3_finalize(stmt);
	return error;
}

static int record_version(cw_store *st, int version)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "INSERT INTO schema_version VALUES(?1, ?2)", -1, &stmt, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int(stmt, 1, version);
		sqlite3_bind_int64(stmt, 2, (sqlite3_int64)time(NULL));
		rc = sqlite3_step(stmt);
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? CW_OK : cw_store__error(st, rc, "recording the schema version");
}

static int store_migrate(cw_store *st)
{
	int version, error, v;

	if ((error = schema_version(st, &version)) < 0)
		return error;
	if (version > NMIGRATIONS)
		return cw_error(CW_ERROR, "%s was written by a newer caseway (schema %d, this one knows %d)",
		                st->path, version, NMIGRATIONS);
	for (v = version + 1; v <= NMIGRATIONS; v++) {
		if ((error = cw_store_begin(st)) < 0)
			return error;
		if (v == 1 &&
		    (error = cw_store__exec(st, "CREATE TABLE schema_version(version INTEGER PRIMARY KEY,"
		                                " applied_at INTEGER NOT NULL)")) < 0)
			goto fail;
		if ((error = cw_store__exec(st, migrations[v - 1])) < 0 ||
		    (error = record_version(st, v)) < 0 || (error = cw_store_commit(st)) < 0)
			goto fail;
	}
	return CW_OK;
fail:
	cw_store_rollback(st);
	return error;
}

static int store_configure(cw_store *st, int creating)
{
	int n = CW_VFS_RESERVE, rc, error;

	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, 10000);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 1, NULL);
	if (creating) {
		if ((error = cw_store__exec(st, "PRAGMA page_size=4096")) < 0)
			return error;
		rc = sqlite3_file_control(st->db, "main", SQLITE_FCNTL_RESERVE_BYTES, &n);
		if (rc != SQLITE_OK)
			return cw_store__error(st, rc, "preparing the new store");
	}
	return cw_store__exec(st, "PRAGMA temp_store=MEMORY;"
	                          "PRAGMA foreign_keys=ON;"
	                          "PRAGMA secure_delete=ON;"
	                          "PRAGMA journal_mode=WAL;"
	                          "PRAGMA synchronous=FULL;"
	                          "PRAGMA cache_size=-16384;"
	                          "PRAGMA mmap_size=0;");
}

/* The quick check at open: page 1 and the schema must read and authenticate
 * (a full scan is cw_store_verify). */
static int store_quick_check(cw_store *st)
{
	sqlite3_stmt *stmt = NULL;
	int rc, error = CW_OK;

	rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_schema", -1, &stmt, NULL);
	if (rc != SQLITE_OK || (rc = sqlite3_step(stmt)) != SQLITE_ROW)
		error = cw_store__error(st, rc, "opening the store");
	sqlite3_finalize(stmt);
	return error;
}

int cw_store_open(cw_store **out, const char *path, const cw_secret *page_key, unsigned flags)
{
	cw_store *st = NULL;
	int rc, error, creating;

	*out = NULL;
	creating = !cw_file_exists(path);
	if (creating && !(flags & CW_STORE_CREATE)) {
		error = cw_error(CW_ENOTFOUND, "%s: the store is missing", path);
		goto done;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL || (st->path = strdup(path)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if ((error = cw_vfs_new(&st->vfs, page_key)) < 0)
		goto done;
	rc = sqlite3_open_v2(path, &st->db,
	                     SQLITE_OPEN_READWRITE | (creating ? SQLITE_OPEN_CREATE : 0) |
	                         SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
	                     cw_vfs_name(st->vfs));
	if (rc != SQLITE_OK) {
		error = cw_store__error(st, rc, "opening the store");
		goto done;
	}
	if ((error = store_configure(st, creating)) < 0 || (error = store_quick_check(st)) < 0 ||
	    (error = store_migrate(st)) < 0)
		goto done;
	*out = st;
	st = NULL;
done:
	cw_store_free(st);
	return error;
}

int cw_store_schema_version(cw_store *st)
{
	int v = 0;

	schema_version(st, &v);
	return v;
}

static const char sql_meta_get[] = "SELECT value FROM meta WHERE key=?1";
static const char sql_meta_set[] = "INSERT INTO meta(key, value) VALUES(?1, ?2)"
                                   " ON CONFLICT(key) DO UPDATE SET value=excluded.value";

int cw_store_meta_get(cw_store *st, const char *key, cw_buf *out)
{
	sqlite3_stmt *stmt = NULL;
	int rc, error;

	if ((error = cw_store__prepare(st, &stmt, sql_meta_get)) < 0)
		return error;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		error = cw_error(CW_ENOTFOUND, "%s is not set", key);
	else if (rc != SQLITE_ROW)
		error = cw_store__error(st, rc, "reading the store");
	else
		error = cw_buf_put(out, sqlite3_column_blob(stmt, 0), (size_t)sqlite3_column_bytes(stmt, 0));
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return error;
}

int cw_store_meta_text(cw_store *st, const char *key, char *out, size_t cap)
{
	cw_buf b = CW_BUF_INIT;
	int error;

	if ((error = cw_store_meta_get(st, key, &b)) < 0)
		goto done;
	if (b.len >= cap) {
		error = cw_error(CW_EINVALID, "%s is too long", key);
		goto done;
	}
	if (b.len)
		memcpy(out, b.data, b.len);
	out[b.len] = '\0';
done:
	cw_buf_dispose(&b);
	return error;
}

int cw_store_meta_set(cw_store *st, const char *key, const void *value, size_t len)
{
	sqlite3_stmt *stmt = NULL;
	int rc, error;

	if ((error = cw_store__prepare(st, &stmt, sql_meta_set)) < 0)
		return error;
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, 2, len ? value : "", (int)len, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		error = cw_store__error(st, rc, "writing the store");
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return error;
}

/* Read every page of the main file and every unit of the WAL through the
 * decrypting layer. */
static int verify_pages(cw_store *st, cw_store_report *rep)
{
	sqlite3_file *f = NULL;
	sqlite3_int64 size = 0, off;
	unsigned char *page = NULL;
	int rc, error = CW_OK;

	if ((page = malloc(CW_VFS_PAGE_SIZE + 24)) == NULL)
		return cw_error_nomem();
	rc = sqlite3_file_control(st->db, "main", SQLITE_FCNTL_FILE_POINTER, &f);
	if (rc != SQLITE_OK || f == NULL || f->pMethods == NULL) {
		error = cw_error(CW_ERROR, "cannot reach the store file");
		goto done;
	}
	if ((rc = f->pMethods->xFileSize(f, &size)) != SQLITE_OK) {
		error = cw_store__error(st, rc, "measuring the store");
		goto done;
	}
	for (off = 0; off < size; off += CW_VFS_PAGE_SIZE) {
		rc = f->pMethods->xRead(f, page, CW_VFS_PAGE_SIZE, off);
		if (rc != SQLITE_OK) {
			error = cw_store__error(st, rc, "reading the store");
			goto done;
		}
		rep->pages++;
	}
	f = NULL;
	rc = sqlite3_file_control(st->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f);
	if (rc == SQLITE_OK && f && f->pMethods) {
		const sqlite3_int64 frame = 24 + CW_VFS_PAGE_SIZE;

		if ((rc = f->pMethods->xFileSize(f, &size)) != SQLITE_OK) {
			error = cw_store__error(st, rc, "measuring the store's log");
			goto done;
		}
		for (off = 32; off + frame <= size; off += frame) {
			rc = f->pMethods->xRead(f, page, (int)frame, off);
			if (rc != SQLITE_OK) {
				error = cw_store__error(st, rc, "reading the store's log");
				goto done;
			}
			rep->wal_frames++;
		}
	}
done:
	free(page);
	return error;
}

int cw_store_verify(cw_store *st, cw_store_report *out)
{
	cw_store_report rep = { 0, 0, 0 };
	sqlite3_stmt *stmt = NULL;
	int rc, error;

	cw_vfs_clear_failure(st->vfs);
	/* A read transaction keeps the files still while they are scanned. */
	if ((error = cw_store__exec(st, "BEGIN; SELECT count(*) FROM sqlite_schema;")) < 0 ||
	    (error = verify_pages(st, &rep)) < 0)
		goto done;
	rc = sqlite3_prepare_v2(st->db, "PRAGMA integrity_check", -1, &stmt, NULL);
	if (rc != SQLITE_OK || (rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		error = cw_store__error(st, rc, "checking the store");
		goto done;
	}
	if (strcmp((const char *)sqlite3_column_text(stmt, 0), "ok") != 0) {
		error = cw_error(CW_EVERIFY, "%s is damaged: %s", st->path,
		                 (const char *)sqlite3_column_text(stmt, 0));
		goto done;
	}
	rep.schema_version = 0;
	sqlite3_finalize(stmt);
	stmt = NULL;
	if ((error = schema_version(st, &rep.schema_version)) < 0)
		goto done;
	*out = rep;
done:
	sqlite3_finalize(stmt);
	if (st->db && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return error;
}

void cw_store_free(cw_store *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < st->nstmts; i++)
		sqlite3_finalize(st->stmts[i].stmt);
	if (st->db)
		sqlite3_close_v2(st->db);
	cw_vfs_free(st->vfs);
	free(st->path);
	free(st);
}
