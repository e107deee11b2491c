/*
 * node/erase.h - a case erased from the store (DESIGN 3.6: the right to be
 * forgotten, by crypto-shredding).
 *
 * Schema 4 adds the table
 *
 *     erased(case_id BLOB PRIMARY KEY, by_device TEXT, at INTEGER,
 *            tombstone TEXT, docs TEXT, recorded_at INTEGER)
 *
 * one row per erased case: the device that erased it (16 hex), when (unix
 * seconds, as its signed tombstone says, sync/tombstone.h), the tombstone's
 * commit id (40 hex), and the addresses of the case's document files that
 * are still to be removed (space-separated, '' once they are gone). A row
 * is never deleted and only `docs` ever changes (triggers refuse the rest).
 * The ops table refuses DELETE except for the ops of a case recorded here,
 * and UPDATE always.
 *
 * Erasing (cw_erase_record) records the row and deletes, in the caller's
 * transaction, every generation of the case key and every row naming the
 * case: ops, op flags, heads, entities, fields, conflicts and their values,
 * agenda times, dirty marks, the full-text row (then the full-text index is
 * rebuilt, so no segment keeps the words), the case row, the git log hints
 * (committed, the store values "cw-log:<C>:*", "cw-log-checked:<C>:*" and
 * "cw-refused:refs/cw/case/<C>/<A>")
 * and what peers said they hold of its chains. The store runs with
 * secure_delete, so freed pages are zeroed; cw_erase_compact then empties
 * the write-ahead log into the database file (checkpoint TRUNCATE), so no
 * earlier page image of the case is left in either file.
 *
 * Every function returns CW_OK or a negative cw_error code with a message.
 */
#ifndef CW_ERASE_H
#define CW_ERASE_H

#include "op.h"
#include "store.h"

#include <stdint.h>

typedef struct {
	uint8_t case_id[CW_ID_BYTES];
	char by[CW_DEVICE_ID_LEN + 1]; /* device id of the eraser, 16 lower-case hex */
	int64_t at;                    /* unix seconds */
	char tombstone[41];            /* commit id of the signed tombstone */
} cw_erasure;

/* The erasure of the case: CW_ENOTFOUND when it was not erased here. */
int cw_erase_get(cw_erasure *out, cw_store *st, const uint8_t case_id[CW_ID_BYTES]);

/* *yes = 1 when the case was erased on this node. */
int cw_erase_is(int *yes, cw_store *st, const uint8_t case_id[CW_ID_BYTES]);

/* Every erasure, oldest first (by `at`, then case id). A negative return
 * of fn stops the walk and is returned. */
int cw_erase_each(cw_store *st, int (*fn)(const cw_erasure *e, void *ctx), void *ctx);

/* The device that created the case: the author whose first op on the case
 * puts its case entity having seen no other op, and whose first op every
 * other author of the case had seen. "" (CW_OK) when no author is that
 * (a member forged a backdated creation: then no one is the creator).
 * CW_ENOTFOUND when this store holds no op of the case (it cannot read it,
 * or the case is unknown here). */
int cw_erase_creator(char out[CW_DEVICE_ID_LEN + 1], cw_store *st, const uint8_t case_id[CW_ID_BYTES]);

/* Record e and delete the case's keys and rows (above), in the caller's
 * transaction or, when none is open, in its own. Nothing changes when the
 * case is already recorded as erased (whoever erased it). */
int cw_erase_record(cw_store *st, const cw_erasure *e);

/* Remove the document files of erased cases that are still listed, under
 * home_dir (node/docs.h), and clear their lists. A file already gone is
 * fine. */
int cw_erase_docs(cw_store *st, const char *home_dir);

/* Move the write-ahead log into the database file and truncate it to zero
 * bytes (no transaction may be open). CW_ERROR when another connection
 * keeps it from completing; running it again later completes it. */
int cw_erase_compact(cw_store *st);

#endif
