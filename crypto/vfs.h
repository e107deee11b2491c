/*
 * crypto/vfs.h - the encrypted SQLite VFS.
 *
 * A shim over the platform VFS that encrypts every page of the main
 * database, its rollback journal and its WAL (and any other file SQLite
 * asks it for) with XChaCha20-Poly1305 under one 32-byte page key.
 *
 *   main database: pages of CW_VFS_PAGE_SIZE bytes encrypted in place; the
 *     last CW_VFS_RESERVE bytes of each page (SQLite's reserved bytes) hold
 *     the 24-byte random nonce and the 16-byte tag; additional data is the
 *     file kind and the page number. The file is exactly SQLite's size.
 *   WAL: its 32-byte header stored as a unit (below, unit 0, 72 bytes), then
 *     frame k (1-based) at 72 + (k-1)*4160: SQLite's 24-byte frame header
 *     encrypted on its own ([24 ciphertext][24 nonce][16 tag], additional
 *     data 'W', k as u64 LE, and the page's nonce and tag), then the 4096-byte
 *     page in exactly the main database's format (additional data 'D' and
 *     the page number from the frame header). A checkpoint therefore writes
 *     a frame's stored page into the database as is, without decrypting or
 *     encrypting it again, when the page it copies is byte for byte the one
 *     just read from that frame. The page's reserved bytes must be zero in
 *     what SQLite writes to the WAL (they are: SQLite never writes them);
 *     otherwise the write fails with SQLITE_IOERR_WRITE.
 *   journal, others: the logical file is cut into 4056-byte units, each
 *     stored followed by its nonce and tag, additional data = file kind and
 *     unit number, so each stored unit is one aligned 4096-byte write that
 *     kill -9 cannot tear. The logical size is whole units (the last one
 *     zero-padded).
 *
 * Each WAL file remembers up to 1024 frames it wrote or verified (about
 * 8 KiB each, freed at close): a frame read back whose stored bytes are
 * exactly those is not decrypted again.
 *
 * A unit, frame or page that fails authentication makes the read fail with
 * SQLITE_IOERR_DATA and is remembered (cw_vfs_failure) so the caller can
 * name the file and page. The one exception is a WAL frame that fails after
 * which no frame of the current WAL generation follows: that is a write torn
 * by a crash, and recovery sees it as the end of the log (as with plain
 * SQLite; an attacker gains nothing truncation would not give).
 *
 * The database must use page size CW_VFS_PAGE_SIZE and at least
 * CW_VFS_RESERVE reserved bytes, set before its first write: after opening,
 * "PRAGMA page_size=4096" and sqlite3_file_control(db, "main",
 * SQLITE_FCNTL_RESERVE_BYTES, &n) with n = CW_VFS_RESERVE; writing a page 1
 * that says otherwise fails with SQLITE_IOERR_WRITE. Memory-mapped I/O is
 * refused (xFetch maps nothing). No SQLite type appears here: the VFS is
 * registered under cw_vfs_name() and opened with sqlite3_open_v2(..., name).
 */
#ifndef CW_VFS_H
#define CW_VFS_H

#include "secret.h"

#define CW_VFS_PAGE_SIZE 4096
#define CW_VFS_RESERVE 40 /* 24-byte nonce + 16-byte tag */

typedef struct cw_vfs cw_vfs;

/* Register a new encrypting VFS using a copy of `key` (32 bytes). Each call
 * registers a distinct VFS with a unique name; it is not made the default. */
int cw_vfs_new(cw_vfs **out, const cw_secret *key);

/* The name to pass to sqlite3_open_v2; borrowed until cw_vfs_free. */
const char *cw_vfs_name(const cw_vfs *v);

/* The last authentication failure since cw_vfs_clear_failure: a description
 * such as "store.db page 17", "store.db-wal frame 3" (1-based frames),
 * "store.db-wal header" or "store.db-journal block 2" (0-based blocks), else
 * NULL. Borrowed until the next failure or clear. Not synchronised: use one
 * VFS from one thread at a time (each store has its own). */
const char *cw_vfs_failure(const cw_vfs *v);
void cw_vfs_clear_failure(cw_vfs *v);

/* Unregister and wipe the key. Every database opened through it must have
 * been closed first. NULL-safe. */
void cw_vfs_free(cw_vfs *v);

#endif
