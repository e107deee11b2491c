/*
 * node/store_internal.h - for node/ modules only: the SQLite handle behind a
 * store and the one way node/ maps SQLite results to cw_ codes.
 */
#ifndef CW_STORE_INTERNAL_H
#define CW_STORE_INTERNAL_H

#include "store.h"

#include <sqlite3.h>

sqlite3 *cw_store__db(cw_store *st);

/* Map a SQLite result (rc != OK/ROW/DONE) to a cw_ code with a message:
 * an authentication failure in the VFS becomes CW_EVERIFY naming the page,
 * a constraint failure CW_EINVALID, anything else CW_ERROR; `what` says what
 * was being done. */
int cw_store__error(cw_store *st, int rc, const char *what);

/* Prepare a static statement (cached for the life of the store). */
int cw_store__prepare(cw_store *st, sqlite3_stmt **out, const char *sql);

/* Run static SQL with no parameters. */
int cw_store__exec(cw_store *st, const char *sql);

#endif
