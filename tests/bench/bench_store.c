/* tests/bench/bench_store.c - the encrypting VFS against plain SQLite.
 *
 * The same workload on the default VFS and on ours, same page size and
 * pragmas (WAL, synchronous=NORMAL, a cache that holds the whole database):
 * 100k inserts in 1k-row transactions, 100k cached point reads by primary
 * key, a cached full scan, and a cold full scan on a fresh connection (every
 * page read and, for us, decrypted). Each cell is the best of `rounds` runs.
 *
 *   bench_store [rounds]      (default 3; run from a Release build)
 */
#include "crypto/secret.h"
#include "crypto/vfs.h"
#include "util/error.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROWS 100000
#define TXN_ROWS 1000
#define READS 100000

enum { W_INSERT, W_READ, W_SCAN, W_COLD, NWORK };
static const char *const work_names[NWORK] = { "100k inserts, 1k-row txns", "100k point reads (cached)",
	                                       "full scan (cached)", "full scan (cold, new conn)" };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(sqlite3 *db, const char *what)
{
	fprintf(stderr, "bench_store: %s: %s\n", what, db ? sqlite3_errmsg(db) : "");
	exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		die(db, sql);
}

static sqlite3 *open_db(const char *path, const char *vfs, int create)
{
	sqlite3 *db = NULL;
	int n = CW_VFS_RESERVE;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) != SQLITE_OK)
		die(db, "open");
	if (create) {
		exec(db, "PRAGMA page_size=4096");
		if (vfs && sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &n) != SQLITE_OK)
			die(db, "reserve bytes");
	}
	exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY;"
	         "PRAGMA cache_size=-131072");
	return db;
}

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* One run of the workload on path through vfs (NULL: plain). */
static void run(const char *path, const char *vfs, double t[NWORK])
{
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	char text[128];
	double t0;
	int i, j;
	int64_t sink = 0;

	unlink(path);
	db = open_db(path, vfs, 1);
	exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, txt TEXT NOT NULL, n INTEGER NOT NULL)");
	if (sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?1, ?2, ?3)", -1, &st, NULL) != SQLITE_OK)
		die(db, "prepare insert");
	rng_state = 88172645463325252ULL;
	t0 = now();
	for (i = 0; i < ROWS; i += TXN_ROWS) {
		exec(db, "BEGIN");
		for (j = i; j < i + TXN_ROWS; j++) {
			int len = 90 + (int)(rng() % 21), k;

			for (k = 0; k < len; k++)
				text[k] = (char)('a' + rng() % 26);
			sqlite3_bind_int(st, 1, j + 1);
			sqlite3_bind_text(st, 2, text, len, SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, (sqlite3_int64)(rng() % 1000000));
			if (sqlite3_step(st) != SQLITE_DONE)
				die(db, "insert");
			sqlite3_reset(st);
		}
		exec(db, "COMMIT");
	}
	t[W_INSERT] = now() - t0;
	sqlite3_finalize(st);

	if (sqlite3_prepare_v2(db, "SELECT txt, n FROM t WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		die(db, "prepare read");
	t0 = now();
	for (i = 0; i < READS; i++) {
		sqlite3_bind_int(st, 1, 1 + (int)(rng() % ROWS));
		if (sqlite3_step(st) != SQLITE_ROW)
			die(db, "read");
		sink += sqlite3_column_int64(st, 1) + sqlite3_column_bytes(st, 0);
		sqlite3_reset(st);
	}
	t[W_READ] = now() - t0;
	sqlite3_finalize(st);

	if (sqlite3_prepare_v2(db, "SELECT sum(length(txt)), sum(n) FROM t", -1, &st, NULL) != SQLITE_OK)
		die(db, "prepare scan");
	t0 = now();
	if (sqlite3_step(st) != SQLITE_ROW)
		die(db, "scan");
	sink += sqlite3_column_int64(st, 0);
	t[W_SCAN] = now() - t0;
	sqlite3_finalize(st);
	sqlite3_close(db);

	/* cold: a new connection (the WAL was checkpointed at close); the OS
	 * has the file cached, so this measures decryption, not the disk */
	db = open_db(path, vfs, 0);
	if (sqlite3_prepare_v2(db, "SELECT sum(length(txt)), sum(n) FROM t", -1, &st, NULL) != SQLITE_OK)
		die(db, "prepare cold scan");
	t0 = now();
	if (sqlite3_step(st) != SQLITE_ROW)
		die(db, "cold scan");
	sink += sqlite3_column_int64(st, 0);
	t[W_COLD] = now() - t0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (sink == 42)
		printf("(unlikely)\n");
}

int main(int argc, char **argv)
{
	char dir[256], plain[300], enc[300], wal[320];
	const char *tmp = getenv("TMPDIR");
	double best[2][NWORK], t[NWORK];
	int rounds = argc > 1 ? atoi(argv[1]) : 3, r, w, e;
	cw_secret *key = NULL;
	cw_vfs *v = NULL;

	if (rounds < 1)
		rounds = 1;
	if (cw_secret_startup() < 0 || cw_secret_random(&key, 32) < 0 || cw_vfs_new(&v, key) < 0) {
		fprintf(stderr, "bench_store: %s\n", cw_error_last());
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/cwbench.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(plain, sizeof(plain), "%s/plain.db", dir);
	snprintf(enc, sizeof(enc), "%s/store.db", dir);
	for (e = 0; e < 2; e++)
		for (w = 0; w < NWORK; w++)
			best[e][w] = 1e9;
	for (r = 0; r < rounds; r++) {
		for (e = 0; e < 2; e++) { /* alternate, so drift hits both */
			run(e ? enc : plain, e ? cw_vfs_name(v) : NULL, t);
			for (w = 0; w < NWORK; w++)
				if (t[w] < best[e][w])
					best[e][w] = t[w];
		}
	}
	printf("%-28s %10s %10s %7s\n", "workload (best of rounds)", "plain ms", "cwenc ms", "ratio");
	for (w = 0; w < NWORK; w++)
		printf("%-28s %10.1f %10.1f %7.3f\n", work_names[w], best[0][w] * 1e3, best[1][w] * 1e3,
		       best[1][w] / best[0][w]);
	for (e = 0; e < 2; e++) {
		const char *p = e ? enc : plain;

		unlink(p);
		snprintf(wal, sizeof(wal), "%s-wal", p);
		unlink(wal);
		snprintf(wal, sizeof(wal), "%s-shm", p);
		unlink(wal);
	}
	rmdir(dir);
	cw_vfs_free(v);
	cw_secret_free(key);
	return 0;
}
