/*
 * node/grant.c - sealing case keys to member devices and taking them in.
 */
#include "grant.h"

#include "store_internal.h"
#include "util/error.h"

#include <string.h>

#define KEY_BYTES 32

static const char sql_newest[] =
    "SELECT generation, key FROM case_keys WHERE case_id=?1 ORDER BY generation DESC LIMIT 1";
static const char sql_at[] = "SELECT key FROM case_keys WHERE case_id=?1 AND generation=?2";
static const char sql_add[] = "INSERT INTO case_keys(case_id, generation, key) VALUES(?1, ?2, ?3)";

/* The newest key: *generation and, when key is not NULL, a guarded copy. */
static int newest(uint32_t *generation, cw_secret **key, cw_store *st, const uint8_t case_id[CW_ID_BYTES])
{
	sqlite3_stmt *stmt;
	int rc, error;

	if ((error = cw_store__prepare(st, &stmt, sql_newest)) < 0)
		return error;
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(stmt, 1) == KEY_BYTES &&
	    sqlite3_column_int64(stmt, 0) >= 1 && sqlite3_column_int64(stmt, 0) <= UINT32_MAX) {
		*generation = (uint32_t)sqlite3_column_int64(stmt, 0);
		error = key ? cw_secret_from(key, sqlite3_column_blob(stmt, 1), KEY_BYTES) : CW_OK;
	} else if (rc == SQLITE_ROW) {
		error = cw_error(CW_EVERIFY, "a stored case key is damaged");
	} else if (rc == SQLITE_DONE) {
		error = cw_error(CW_ENOTFOUND, "this node does not hold the key of that case");
	} else {
		error = cw_store__error(st, rc, "reading a case key");
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return error;
}

int cw_grant_generation(uint32_t *out, cw_store *st, const uint8_t case_id[CW_ID_BYTES])
{
	return newest(out, NULL, st, case_id);
}

int cw_grant_seal(cw_buf *out, uint32_t *generation_out, cw_store *st, const uint8_t case_id[CW_ID_BYTES],
                  const uint8_t box_pk[CW_PK_BYTES])
{
	cw_secret *key = NULL, *plain = NULL;
	uint32_t gen = 0;
	uint8_t *p;
	int error;

	if ((error = newest(&gen, &key, st, case_id)) < 0)
		goto done;
	if ((error = cw_secret_new(&plain, CW_GRANT_PLAIN_BYTES)) < 0)
		goto done;
	p = cw_secret_bytes(plain);
	memcpy(p, case_id, CW_ID_BYTES);
	cw_store32(p + CW_ID_BYTES, gen);
	memcpy(p + CW_ID_BYTES + 4, cw_secret_data(key), KEY_BYTES);
	if ((error = cw_seal_to(out, box_pk, p, CW_GRANT_PLAIN_BYTES)) < 0)
		goto done;
	*generation_out = gen;
done:
	cw_secret_free(plain);
	cw_secret_free(key);
	return error;
}

int cw_grant_accept(cw_store *st, const cw_keys *me, const uint8_t case_id[CW_ID_BYTES],
                    const uint8_t *sealed, size_t len)
{
	cw_secret *plain = NULL;
	sqlite3_stmt *stmt;
	const uint8_t *p;
	uint32_t gen;
	int rc, error;

	if (len != CW_GRANT_BYTES)
		return cw_error(CW_EINVALID, "a case key grant has the wrong size");
	if ((error = cw_seal_unseal(&plain, me, sealed, len)) < 0)
		return cw_error(error, "a case key grant does not open: %s", cw_error_last());
	p = cw_secret_data(plain);
	gen = cw_load32(p + CW_ID_BYTES);
	if (cw_secret_len(plain) != CW_GRANT_PLAIN_BYTES || memcmp(p, case_id, CW_ID_BYTES) != 0 ||
	    gen == 0) {
		error = cw_error(CW_EVERIFY, "a case key grant names another case");
		goto done;
	}
	if ((error = cw_store__prepare(st, &stmt, sql_at)) < 0)
		goto done;
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, gen);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		error = sqlite3_column_bytes(stmt, 0) == KEY_BYTES &&
		                cw_secret_equal(sqlite3_column_blob(stmt, 0), p + CW_ID_BYTES + 4, KEY_BYTES)
		            ? CW_OK
		            : cw_error(CW_EVERIFY, "a case key grant differs from the key this node holds");
	else if (rc != SQLITE_DONE)
		error = cw_store__error(st, rc, "reading a case key");
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc != SQLITE_DONE)
		goto done;
	if ((error = cw_store__prepare(st, &stmt, sql_add)) < 0)
		goto done;
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, gen);
	sqlite3_bind_blob(stmt, 3, p + CW_ID_BYTES + 4, KEY_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	error = rc == SQLITE_DONE ? CW_OK : cw_store__error(st, rc, "saving a case key");
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
done:
	cw_secret_free(plain);
	return error;
}
