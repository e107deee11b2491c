/*
 * node/store.h - the node's encrypted SQLite store.
 *
 * store.db is opened through the encrypting VFS (crypto/vfs.h) under the
 * device's page key. Opening configures SQLite (extended codes, busy timeout,
 * defensive mode, foreign keys, WAL, secure_delete, temp_store=MEMORY,
 * synchronous=FULL), applies pending migrations in one transaction each, and
 * runs a quick integrity check: page 1 and every schema page must
 * authenticate and the schema version must be one this build knows.
 * A page that fails authentication anywhere is CW_EVERIFY naming the file
 * and page.
 */
#ifndef CW_STORE_H
#define CW_STORE_H

#include "../crypto/secret.h"
#include "../util/buf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct cw_store cw_store;

#define CW_STORE_CREATE 1u /* create the file when it does not exist */

/* The schema version this build writes. */
#define CW_STORE_SCHEMA_VERSION 4

int cw_store_open(cw_store **out, const char *path, const cw_secret *page_key, unsigned flags);

/* Small named values (node name, role, trust anchors). CW_ENOTFOUND when
 * absent. get appends to out. */
int cw_store_meta_get(cw_store *st, const char *key, cw_buf *out);
int cw_store_meta_set(cw_store *st, const char *key, const void *value, size_t len);
/* Text convenience: a NUL-terminated copy into out (cap bytes incl. NUL). */
int cw_store_meta_text(cw_store *st, const char *key, char *out, size_t cap);

/* Transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK. rollback is safe to
 * call when no transaction is open. */
int cw_store_begin(cw_store *st);
int cw_store_commit(cw_store *st);
void cw_store_rollback(cw_store *st);

typedef struct {
	uint32_t pages;      /* pages of store.db authenticated */
	uint32_t wal_frames; /* WAL frames authenticated */
	int schema_version;
} cw_store_report;

/* Authenticate every page of store.db and every frame of its WAL, then run
 * SQLite's full integrity_check. CW_EVERIFY names the first bad page. */
int cw_store_verify(cw_store *st, cw_store_report *out);

int cw_store_schema_version(cw_store *st);
const char *cw_store_path(const cw_store *st);

void cw_store_free(cw_store *st);

#endif
