/*
 * tests/bench/bench_oplog.c - the change log against its baselines, in one
 * run on this machine:
 *   - appending 100k ops (1k per transaction) through caseway vs inserting the
 *     same rows into plain SQLite (same pragmas) - ratio;
 *   - the bare cost of 100k Ed25519 signatures - share of the append time;
 *   - one op per transaction (what each CLI command does) - ops/s;
 *   - rebuilding all state from the 100k ops;
 *   - `case list`, a search, and a 30-day agenda over 10,000 cases.
 * Usage: bench_oplog [ops] (default 100000). Not a test: prints figures.
 */
#define _GNU_SOURCE
#include "crypto/secret.h"
#include "node/agenda.h"
#include "node/case.h"
#include "node/oplog.h"
#include "node/store_internal.h"
#include "util/error.h"
#include "util/file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_oplog: %s: %s\n", what, cw_error_last());
	exit(1);
}

static cw_store *open_store(const char *dir, const char *name)
{
	cw_store *st = NULL;
	cw_secret *k = NULL;
	char *path = cw_path_join(dir, name);

	if (cw_secret_random(&k, 32) < 0 || cw_store_open(&st, path, k, CW_STORE_CREATE) < 0)
		die("open");
	cw_secret_free(k);
	free(path);
	return st;
}

static int count_cb(const cw_case_summary *s, void *ctx)
{
	(void)s;
	(*(size_t *)ctx)++;
	return 0;
}

static int agenda_cb(const cw_agenda_item *it, void *ctx)
{
	(void)it;
	(*(size_t *)ctx)++;
	return 0;
}

int main(int argc, char **argv)
{
	long nops = argc > 1 ? atol(argv[1]) : 100000;
	long ncases = nops / 100 > 0 ? nops / 100 : 1, i, j;
	char dir[] = "/tmp/cwbench.XXXXXX", cmd[300], note[64];
	cw_keys *me = NULL;
	cw_store *st;
	sqlite3 *plain = NULL;
	sqlite3_stmt *ins = NULL, *rows = NULL;
	uint8_t(*cases)[CW_ID_BYTES];
	double t0, t_append, t_plain, t_sign, t_single, t_rebuild, t_list, t_search, t_agenda;
	size_t n;
	uint8_t sig[CW_SIG_BYTES], msg[200];

	if (cw_secret_startup() < 0 || mkdtemp(dir) == NULL || cw_keys_generate(&me) < 0)
		die("setup");
	if ((cases = calloc((size_t)ncases, sizeof(*cases))) == NULL)
		die("memory");
	printf("caseway change-log benchmark: %ld ops over %ld cases\n", nops, ncases);

	/* 1. append through caseway, 1000 ops per transaction */
	st = open_store(dir, "store.db");
	t0 = now_s();
	for (i = 0; i < nops;) {
		if (cw_store_begin(st) < 0)
			die("begin");
		for (j = 0; j < 1000 && i < nops; j++, i++) {
			long c = i % ncases;

			if (i < ncases) {
				cw_kv kv = { "name", "Patient Bench" };

				if (cw_case_create(cases[c], st, me, &kv, 1) < 0)
					die("create");
			} else {
				cw_kv kv = { "languages", note };

				snprintf(note, sizeof(note), "English, lang%ld", i);
				if (cw_case_set(st, me, cases[c], &kv, 1) < 0)
					die("set");
			}
		}
		if (cw_store_commit(st) < 0)
			die("commit");
	}
	t_append = now_s() - t0;

	/* 2. the same op rows into plain SQLite */
	snprintf(cmd, sizeof(cmd), "%s/plain.db", dir);
	if (sqlite3_open(cmd, &plain) != SQLITE_OK ||
	    sqlite3_exec(plain,
	                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	                 "CREATE TABLE ops(n INTEGER PRIMARY KEY, hash BLOB UNIQUE, case_id BLOB,"
	                 " author BLOB, seq INTEGER, entity BLOB, kind INTEGER, action INTEGER,"
	                 " hlc INTEGER, bytes BLOB, received_at INTEGER, UNIQUE(case_id, author, seq))",
	                 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(plain, "INSERT INTO ops VALUES(NULL,?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)", -1, &ins,
	                       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(cw_store__db(st),
	                       "SELECT hash, case_id, author, seq, entity, kind, action, hlc, bytes,"
	                       " received_at FROM ops ORDER BY n",
	                       -1, &rows, NULL) != SQLITE_OK)
		die("plain sqlite");
	{
		/* read every row first so only the inserts are timed */
		typedef struct {
			uint8_t b[4][32];
			int64_t v[5];
			uint8_t *bytes;
			int len;
		} row;
		row *r = calloc((size_t)nops, sizeof(*r));
		long k = 0;

		while (sqlite3_step(rows) == SQLITE_ROW && k < nops) {
			memcpy(r[k].b[0], sqlite3_column_blob(rows, 0), 32);
			memcpy(r[k].b[1], sqlite3_column_blob(rows, 1), 16);
			memcpy(r[k].b[2], sqlite3_column_blob(rows, 2), 8);
			memcpy(r[k].b[3], sqlite3_column_blob(rows, 4), 16);
			r[k].v[0] = sqlite3_column_int64(rows, 3);
			r[k].v[1] = sqlite3_column_int64(rows, 5);
			r[k].v[2] = sqlite3_column_int64(rows, 6);
			r[k].v[3] = sqlite3_column_int64(rows, 7);
			r[k].v[4] = sqlite3_column_int64(rows, 9);
			r[k].len = sqlite3_column_bytes(rows, 8);
			r[k].bytes = malloc((size_t)r[k].len);
			memcpy(r[k].bytes, sqlite3_column_blob(rows, 8), (size_t)r[k].len);
			k++;
		}
		sqlite3_finalize(rows);
		t0 = now_s();
		for (i = 0; i < k;) {
			sqlite3_exec(plain, "BEGIN", NULL, NULL, NULL);
			for (j = 0; j < 1000 && i < k; j++, i++) {
				sqlite3_bind_blob(ins, 1, r[i].b[0], 32, SQLITE_STATIC);
				sqlite3_bind_blob(ins, 2, r[i].b[1], 16, SQLITE_STATIC);
				sqlite3_bind_blob(ins, 3, r[i].b[2], 8, SQLITE_STATIC);
				sqlite3_bind_int64(ins, 4, r[i].v[0]);
				sqlite3_bind_blob(ins, 5, r[i].b[3], 16, SQLITE_STATIC);
				sqlite3_bind_int64(ins, 6, r[i].v[1]);
				sqlite3_bind_int64(ins, 7, r[i].v[2]);
				sqlite3_bind_int64(ins, 8, r[i].v[3]);
				sqlite3_bind_blob(ins, 9, r[i].bytes, r[i].len, SQLITE_STATIC);
				sqlite3_bind_int64(ins, 10, r[i].v[4]);
				sqlite3_step(ins);
				sqlite3_reset(ins);
			}
			sqlite3_exec(plain, "COMMIT", NULL, NULL, NULL);
		}
		t_plain = now_s() - t0;
		for (i = 0; i < k; i++)
			free(r[i].bytes);
		free(r);
	}
	sqlite3_finalize(ins);
	sqlite3_close(plain);

	/* 3. the bare signatures */
	memset(msg, 7, sizeof(msg));
	t0 = now_s();
	for (i = 0; i < nops; i++) {
		msg[0] = (uint8_t)i;
		cw_keys_sign(sig, me, msg, sizeof(msg));
	}
	t_sign = now_s() - t0;

	/* 4. one op per transaction, as each CLI command does (fsync per commit) */
	t0 = now_s();
	for (i = 0; i < 500; i++) {
		cw_kv kv = { "diet", i % 2 ? "halal" : "vegetarian" };

		if (cw_case_set(st, me, cases[i % ncases], &kv, 1) < 0)
			die("single");
	}
	t_single = now_s() - t0;

	/* 5. rebuild from the ops alone */
	t0 = now_s();
	if (cw_store_begin(st) < 0 || cw_oplog_rebuild(st) < 0 || cw_store_commit(st) < 0)
		die("rebuild");
	t_rebuild = now_s() - t0;
	cw_store_free(st);

	/* 6. list, search and agenda over 10,000 cases (4 ops each) */
	st = open_store(dir, "list.db");
	if (cw_store_begin(st) < 0)
		die("begin");
	for (i = 0; i < 10000; i++) {
		uint8_t id[CW_ID_BYTES];
		char name[64], start[40], due[16];
		cw_kv kv = { "name", name };
		cw_kv appt[] = { { "kind", "consultation" }, { "start", start } };
		cw_kv task[] = { { "text", "call the family" }, { "due", due } };
		cw_kv note_kv = { "text", "Prefers a window seat; vegetarian meals" };

		snprintf(name, sizeof(name), "Patient %05ld %s", i, i % 97 ? "Smith" : "Okonkwo");
		snprintf(start, sizeof(start), "2030-%02ld-%02ldT%02ld:00+03:00", 1 + i % 12, 1 + i % 28,
		         8 + i % 10);
		snprintf(due, sizeof(due), "2030-%02ld-%02ld", 1 + (i + 3) % 12, 1 + (i + 5) % 28);
		if (cw_case_create(id, st, me, &kv, 1) < 0 ||
		    cw_case_add(NULL, st, me, id, CW_KIND_APPOINTMENT, appt, 2) < 0 ||
		    cw_case_add(NULL, st, me, id, CW_KIND_TASK, task, 2) < 0 ||
		    cw_case_add(NULL, st, me, id, CW_KIND_NOTE, &note_kv, 1) < 0)
			die("cases");
		if (i % 1000 == 999 && (cw_store_commit(st) < 0 || cw_store_begin(st) < 0))
			die("commit");
	}
	if (cw_store_commit(st) < 0)
		die("commit");
	n = 0;
	t0 = now_s();
	if (cw_case_list(st, NULL, NULL, count_cb, &n) < 0)
		die("list");
	t_list = now_s() - t0;
	printf("  case list returned %zu cases\n", n);
	n = 0;
	t0 = now_s();
	if (cw_case_list(st, NULL, "okonkwo", count_cb, &n) < 0)
		die("search");
	t_search = now_s() - t0;
	printf("  search returned %zu cases\n", n);
	n = 0;
	t0 = now_s();
	if (cw_agenda_list(st, 1899849600 /* 2030-03-15 */, 1899849600 + 30 * 86400, agenda_cb, &n) < 0)
		die("agenda");
	t_agenda = now_s() - t0;
	printf("  agenda returned %zu items\n", n);
	cw_store_free(st);

	printf("\n%-44s %10s %12s\n", "measure", "seconds", "figure");
	printf("%-44s %10.3f %9.0f op/s\n", "append (caseway, 1k ops per transaction)", t_append,
	       nops / t_append);
	printf("%-44s %10.3f %9.0f op/s\n", "insert same rows (plain SQLite)", t_plain, nops / t_plain);
	printf("%-44s %10s %12.2f\n", "  ratio caseway / plain SQLite", "", t_append / t_plain);
	printf("%-44s %10.3f %11.0f%%\n", "100k bare Ed25519 signatures (share)", t_sign,
	       100.0 * t_sign / t_append);
	printf("%-44s %10.3f %9.0f op/s\n", "one op per transaction (500, fsync each)", t_single,
	       500 / t_single);
	printf("%-44s %10.3f %9.0f op/s\n", "rebuild all state from the ops", t_rebuild, nops / t_rebuild);
	printf("%-44s %10.4f\n", "case list, 10,000 cases", t_list);
	printf("%-44s %10.4f\n", "case list --search, 10,000 cases", t_search);
	printf("%-44s %10.4f\n", "agenda, 30 days over 10,000 cases", t_agenda);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	cw_keys_free(me);
	free(cases);
	return 0;
}
