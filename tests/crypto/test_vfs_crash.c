/* tests/crypto/test_vfs_crash.c - kill -9 a writer at random moments, in WAL
 * and in rollback-journal mode, and check after each kill that the store
 * opens, passes integrity_check and holds every transaction the writer saw
 * committed. Set CW_CRASH_SEED to replay a run, CW_CRASH_KILLS to change the
 * number of kills per mode. */
#define _DEFAULT_SOURCE /* usleep */
#include "harness.h"
#include "crypto/vfs.h"
#include "util/error.h"

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: enough for choosing delays */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static sqlite3 *store_open(const char *path, const cw_vfs *v, int wal)
{
	sqlite3 *db = NULL;
	int n = CW_VFS_RESERVE;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, cw_vfs_name(v)) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, 5000);
	if (exec(db, "PRAGMA page_size=4096") != SQLITE_OK ||
	    sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &n) != SQLITE_OK ||
	    exec(db, wal ? "PRAGMA journal_mode=WAL" : "PRAGMA journal_mode=DELETE") != SQLITE_OK ||
	    exec(db, "PRAGMA temp_store=MEMORY; PRAGMA synchronous=FULL;"
	             "PRAGMA wal_autocheckpoint=40; PRAGMA cache_size=30;"
	             "CREATE TABLE IF NOT EXISTS log(seq INTEGER PRIMARY KEY, payload BLOB);"
	             "CREATE TABLE IF NOT EXISTS churn(k INTEGER PRIMARY KEY, v BLOB)") != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

/* The child: commit transactions forever, reporting each committed sequence
 * number on fd once COMMIT has returned. Never returns. */
static void writer(const char *path, const cw_vfs *v, int wal, int fd)
{
	sqlite3 *db = store_open(path, v, wal);
	sqlite3_stmt *ins = NULL, *churn = NULL, *max = NULL;
	int64_t seq = 0;

	if (db == NULL ||
	    sqlite3_prepare_v2(db, "SELECT coalesce(max(seq), 0) FROM log", -1, &max, NULL) != SQLITE_OK ||
	    sqlite3_step(max) != SQLITE_ROW)
		_exit(3);
	seq = sqlite3_column_int64(max, 0);
	sqlite3_finalize(max);
	if (sqlite3_prepare_v2(db, "INSERT INTO log VALUES(?1, randomblob(?2))", -1, &ins, NULL) !=
	        SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO churn VALUES(?1, randomblob(?2))", -1, &churn,
	                       NULL) != SQLITE_OK)
		_exit(3);
	for (;;) {
		int j, big;

		seq++;
		big = seq % 7 == 0;
		if (exec(db, "BEGIN") != SQLITE_OK)
			_exit(4);
		sqlite3_bind_int64(ins, 1, seq);
		sqlite3_bind_int(ins, 2, 50 + (int)(seq % 200));
		if (sqlite3_step(ins) != SQLITE_DONE || sqlite3_reset(ins) != SQLITE_OK)
			_exit(5);
		/* updates and, every 7th transaction, enough to spill the cache */
		for (j = 0; j < (big ? 40 : 2); j++) {
			sqlite3_bind_int64(churn, 1, big ? 1000 + (seq * 40 + j) % 240 : (seq + j) % 64);
			sqlite3_bind_int(churn, 2, big ? 3000 : 300);
			if (sqlite3_step(churn) != SQLITE_DONE || sqlite3_reset(churn) != SQLITE_OK)
				_exit(6);
		}
		if (exec(db, "COMMIT") != SQLITE_OK)
			_exit(7);
		if (write(fd, &seq, sizeof(seq)) != (ssize_t)sizeof(seq))
			_exit(8);
	}
}

/* After a kill: the store opens, is intact, and holds every reported
 * sequence number. Returns 1 when all holds. */
static int check_store(const char *path, cw_vfs *v, int wal, const int64_t *seqs, size_t n)
{
	sqlite3 *db = store_open(path, v, wal);
	sqlite3_stmt *st = NULL;
	size_t i;
	int ok = 0;

	if (db == NULL) {
		fprintf(stderr, "  cannot reopen: %s\n",
		        cw_vfs_failure(v) ? cw_vfs_failure(v) : "(no failure)");
		return 0;
	}
	/* leave the WAL behind for the next writer: recovery runs every time and
	 * new generations overwrite stale frames */
	sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
		fprintf(stderr, "  integrity_check: %s (%s)\n",
		        st && sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "",
		        cw_vfs_failure(v) ? cw_vfs_failure(v) : sqlite3_errmsg(db));
		goto done;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM log WHERE seq = ?1", -1, &st, NULL) != SQLITE_OK)
		goto done;
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(st, 1, seqs[i]);
		if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0) != 1) {
			fprintf(stderr, "  committed transaction %lld is missing\n", (long long)seqs[i]);
			goto done;
		}
		sqlite3_reset(st);
	}
	ok = 1;
done:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ok;
}

static int env_int(const char *name, int fallback)
{
	const char *s = getenv(name);

	return s && *s ? atoi(s) : fallback;
}

static void seed(void)
{
	const char *s = getenv("CW_CRASH_SEED");

	if (rng_state != 0)
		return;
	rng_state = s && *s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL) ^ (uint64_t)getpid() << 20;
	if (rng_state == 0)
		rng_state = 1;
	printf("  CW_CRASH_SEED=%llu\n", (unsigned long long)rng_state);
}

static void crash_loop(int wal)
{
	const char *dir = cw_test_tmpdir();
	char path[512];
	cw_secret *key = NULL;
	cw_vfs *v = NULL;
	int64_t *seqs = NULL;
	size_t nseqs = 0, cap = 0;
	int kills = env_int("CW_CRASH_KILLS", 60), k, early = 0;
	time_t started = time(NULL);

	seed();
	snprintf(path, sizeof(path), "%s/store.db", dir);
	CHECK_OK(cw_secret_random(&key, 32));
	CHECK_OK(cw_vfs_new(&v, key));
	if (v == NULL)
		goto done;
	for (k = 0; k < kills; k++) {
		int fds[2], status = 0;
		pid_t pid;
		int64_t seq;
		ssize_t got;
		unsigned delay;

		if (pipe(fds) != 0) {
			CHECK(!"pipe");
			goto done;
		}
		fflush(NULL);
		if ((pid = fork()) < 0) {
			CHECK(!"fork");
			goto done;
		}
		if (pid == 0) {
			close(fds[0]);
			writer(path, v, wal, fds[1]);
		}
		close(fds[1]);
		/* mostly mid-run, sometimes during open and recovery */
		delay = rng() % 4 == 0 ? (unsigned)(rng() % 3000) : 5000 + (unsigned)(rng() % 100000);
		usleep(delay);
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
			fprintf(stderr, "  writer exited on its own (status %d)\n",
			        WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			early++;
		}
		while ((got = read(fds[0], &seq, sizeof(seq))) == (ssize_t)sizeof(seq)) {
			if (nseqs == cap) {
				int64_t *grown;

				cap = cap ? cap * 2 : 1024;
				if ((grown = realloc(seqs, cap * sizeof(*seqs))) == NULL) {
					CHECK(!"out of memory");
					close(fds[0]);
					goto done;
				}
				seqs = grown;
			}
			seqs[nseqs++] = seq;
		}
		close(fds[0]);
		cw_vfs_clear_failure(v);
		if (!check_store(path, v, wal, seqs, nseqs)) {
			fprintf(stderr, "  after kill %d (delay %u us)\n", k + 1, delay);
			CHECK(!"store intact after kill -9");
			goto done;
		}
	}
	CHECK(early == 0);
	CHECK(nseqs > (size_t)kills); /* the writers did get work done */
	printf("  %s: %d kills, %zu transactions confirmed, %lds\n", wal ? "WAL" : "rollback", kills, nseqs,
	       (long)(time(NULL) - started));
done:
	free(seqs);
	cw_vfs_free(v);
	cw_secret_free(key);
}

static void test_kill_wal(void)
{
	crash_loop(1);
}

static void test_kill_rollback(void)
{
	crash_loop(0);
}

const cw_test cw_tests[] = { { "kill -9 in WAL mode", test_kill_wal },
	                     { "kill -9 in rollback-journal mode", test_kill_rollback },
	                     CW_TESTS_END };
