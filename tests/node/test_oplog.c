/*
 * tests/node/test_oplog.c - the change log and the merge rules.
 *
 * The property test: simulated authors, each on its own node, make random
 * changes to shared items while syncing with each other at random (real
 * concurrency). Then the whole set of ops is applied to fresh stores in 50
 * random arrival orders and merged pairwise in random groupings: every
 * result has the same state digest, equal to every original node's after a
 * full sync and to a rebuild from the ops; and a conflict exists exactly
 * where the simulation (with its own vector clocks) says two writes to a
 * field were concurrent with different values.
 */
#include "harness.h"
#include "node/case.h"
#include "node/oplog.h"
#include "node/store_internal.h"
#include "util/error.h"
#include "util/file.h"

#include <stdio.h>
#include <stdlib.h>

#define NODES 4
#define ITEMS 3
#define MAXOPS 400

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static cw_secret *page_key(void)
{
	cw_secret *k = NULL;

	cw_secret_random(&k, 32);
	return k;
}

static cw_store *fresh_store(void)
{
	cw_store *st = NULL;
	cw_secret *k = page_key();
	char *path = cw_path_join(cw_test_tmpdir(), "s.db");

	if (cw_store_open(&st, path, k, CW_STORE_CREATE) != CW_OK)
		fprintf(stderr, "store: %s\n", cw_error_last());
	cw_secret_free(k);
	free(path);
	return st;
}

/* All ops of a store in its arrival order (a causal order). */
typedef struct {
	size_t n;
	uint8_t *bytes[MAXOPS * 2];
	size_t len[MAXOPS * 2];
} opset;

static void opset_free(opset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->bytes[i]);
	s->n = 0;
}

static void opset_of(opset *out, cw_store *st)
{
	sqlite3_stmt *stmt = NULL;

	out->n = 0;
	sqlite3_prepare_v2(cw_store__db(st), "SELECT bytes FROM ops ORDER BY n", -1, &stmt, NULL);
	while (sqlite3_step(stmt) == SQLITE_ROW && out->n < MAXOPS * 2) {
		size_t len = (size_t)sqlite3_column_bytes(stmt, 0);

		out->bytes[out->n] = malloc(len);
		memcpy(out->bytes[out->n], sqlite3_column_blob(stmt, 0), len);
		out->len[out->n++] = len;
	}
	sqlite3_finalize(stmt);
}

/* Apply ops in the given order, retrying those that must wait. */
static int apply_all(cw_store *st, const cw_keyring *kr, opset *s, const size_t *order)
{
	size_t pending[MAXOPS * 2], np = s->n, i, rounds = 0;
	int added, rc;

	for (i = 0; i < s->n; i++)
		pending[i] = order ? order[i] : i;
	if (cw_store_begin(st) < 0)
		return -1;
	while (np > 0 && rounds++ < s->n + 2) {
		size_t keep = 0;

		for (i = 0; i < np; i++) {
			rc = cw_oplog_ingest(&added, st, kr, s->bytes[pending[i]], s->len[pending[i]]);
			if (rc == CW_EWAIT)
				pending[keep++] = pending[i];
			else if (rc < 0) {
				fprintf(stderr, "ingest: %s\n", cw_error_last());
				cw_store_rollback(st);
				return -1;
			}
		}
		np = keep;
	}
	if (np != 0 || cw_oplog_flush(st) < 0 || cw_store_commit(st) < 0)
		return -1;
	return 0;
}

static void sync_pair(cw_store *a, cw_store *b, const cw_keyring *kr)
{
	opset s;

	opset_of(&s, a);
	CHECK(apply_all(b, kr, &s, NULL) == 0);
	opset_free(&s);
	opset_of(&s, b);
	CHECK(apply_all(a, kr, &s, NULL) == 0);
	opset_free(&s);
}

/* The simulation's own knowledge, independent of the ops' bytes. */
typedef struct {
	int node, seq; /* author index and its op number */
	int vc[NODES]; /* what the author knew when writing (incl. itself) */
	int item;      /* 0 = the case itself, 1.. = an item */
	char field[16];
	char value[8];
	int remove;
} sim_op;

static sim_op sim[MAXOPS];
static size_t nsim;
static int vc[NODES][NODES]; /* vc[n][m]: ops of m known by n */

static int sim_precedes(const sim_op *a, const sim_op *b)
{
	return b->vc[a->node] >= a->seq;
}

static void test_property(void)
{
	cw_keys *keys[NODES] = { NULL };
	cw_store *node[NODES] = { NULL };
	cw_keyring kr = { 0, NULL, NULL };
	uint8_t case_id[CW_ID_BYTES], items[ITEMS + 1][CW_ID_BYTES];
	uint8_t want[CW_HASH_BYTES], got[CW_HASH_BYTES];
	static const char *const fields[] = { "phone", "diet", "languages" };
	static const char *const values[] = { "+90 555 0101", "+90 555 0202", "+90 555 0303" };
	opset all;
	size_t order[MAXOPS * 2], i, j, k, steps;
	int a, b, rc, expected_conflicts = 0, got_conflicts = -1;

	memset(vc, 0, sizeof(vc));
	nsim = 0;
	for (a = 0; a < NODES; a++) {
		CHECK_OK(cw_keys_generate(&keys[a]));
		CHECK_OK(cw_keyring_add(&kr, cw_keys_sign_pk(keys[a])));
		node[a] = fresh_store();
		CHECK(node[a] != NULL);
	}
	/* node 0 opens the case and adds the items; everyone gets them */
	{
		cw_kv kv = { "name", "Maria Schmidt" };

		CHECK_OK(cw_case_create(case_id, node[0], keys[0], &kv, 1));
		memcpy(items[0], case_id, CW_ID_BYTES);
		for (i = 1; i <= ITEMS; i++) {
			cw_kv t = { "text", "call the hotel" };

			CHECK_OK(cw_case_add(items[i], node[0], keys[0], case_id, CW_KIND_TASK, &t, 1));
		}
		vc[0][0] = 1 + ITEMS;
		for (a = 1; a < NODES; a++) {
			sync_pair(node[0], node[a], &kr);
			vc[a][0] = vc[0][0];
		}
	}
	for (steps = 0; steps < 160; steps++) {
		a = (int)rnd(NODES);
		if (rnd(5) == 0) { /* a sync between two nodes */
			b = (int)rnd(NODES);
			if (a == b)
				continue;
			sync_pair(node[a], node[b], &kr);
			for (k = 0; k < NODES; k++) {
				int m = vc[a][k] > vc[b][k] ? vc[a][k] : vc[b][k];

				vc[a][k] = vc[b][k] = m;
			}
			continue;
		}
		{
			sim_op *s = &sim[nsim];
			int item = (int)rnd(ITEMS + 1);

			memset(s, 0, sizeof(*s));
			s->node = a;
			s->seq = ++vc[a][a];
			s->item = item;
			if (item > 0 && rnd(8) == 0) {
				s->remove = 1;
				if (cw_case_remove(node[a], keys[a], case_id, items[item]) == CW_ENOTFOUND) {
					vc[a][a]--; /* already removed here: nothing written */
					continue;
				}
			} else if (item == 0) {
				cw_kv kv;

				snprintf(s->field, sizeof(s->field), "%s", fields[rnd(3)]);
				snprintf(s->value, sizeof(s->value), "%u", rnd(3));
				kv.name = s->field;
				kv.value = strcmp(s->field, "phone") == 0 ? values[s->value[0] - '0']
				                                          : s->value;
				CHECK_OK(cw_case_set(node[a], keys[a], case_id, &kv, 1));
			} else {
				cw_kv kv;

				snprintf(s->field, sizeof(s->field), "%s", rnd(2) ? "owner" : "due");
				snprintf(s->value, sizeof(s->value), "%u", rnd(3));
				kv.name = s->field;
				kv.value = strcmp(s->field, "due") == 0
				               ? (s->value[0] == '0'   ? "2026-03-01"
				                  : s->value[0] == '1' ? "2026-03-02"
				                                       : "2026-03-03")
				               : s->value;
				rc = cw_case_update(node[a], keys[a], case_id, items[item], &kv, 1);
				if (rc == CW_ENOTFOUND) { /* removed here: a coordinator cannot edit it */
					vc[a][a]--;
					continue;
				}
				CHECK_OK(rc);
			}
			memcpy(s->vc, vc[a], sizeof(s->vc));
			nsim++;
		}
	}
	/* full sync: everyone converges */
	for (i = 0; i < 2; i++)
		for (a = 1; a < NODES; a++)
			sync_pair(node[0], node[a], &kr);
	CHECK_OK(cw_oplog_digest(want, node[0], NULL));
	for (a = 1; a < NODES; a++) {
		CHECK_OK(cw_oplog_digest(got, node[a], NULL));
		CHECK(memcmp(want, got, CW_HASH_BYTES) == 0);
	}

	/* the oracle's conflicts: per (item, field), frontier with two values */
	for (i = 0; i <= ITEMS; i++) {
		for (k = 0; k < 4; k++) {
			const char *fname = i == 0 ? (k < 3 ? fields[k] : NULL)
			                           : (k == 0   ? "owner"
			                              : k == 1 ? "due"
			                                       : NULL);
			const sim_op *front[MAXOPS];
			size_t nf = 0;
			int differ = 0;

			if (fname == NULL)
				continue;
			for (j = 0; j < nsim; j++) {
				size_t m;
				int dominated = 0;

				if (sim[j].remove || sim[j].item != (int)i || strcmp(sim[j].field, fname))
					continue;
				for (m = 0; m < nsim; m++)
					if (m != j && !sim[m].remove && sim[m].item == (int)i &&
					    strcmp(sim[m].field, fname) == 0 &&
					    sim_precedes(&sim[j], &sim[m]))
						dominated = 1;
				if (!dominated)
					front[nf++] = &sim[j];
			}
			for (j = 1; j < nf; j++)
				if (strcmp(front[j]->value, front[0]->value) != 0)
					differ = 1;
			expected_conflicts += differ;
		}
	}
	{
		sqlite3_stmt *stmt = NULL;

		sqlite3_prepare_v2(cw_store__db(node[0]), "SELECT count(*) FROM conflicts", -1, &stmt, NULL);
		if (sqlite3_step(stmt) == SQLITE_ROW)
			got_conflicts = sqlite3_column_int(stmt, 0);
		sqlite3_finalize(stmt);
	}
	fprintf(stderr, "  %zu ops by %d authors, %d conflicts expected, %d found\n", nsim + 1 + ITEMS, NODES,
	        expected_conflicts, got_conflicts);
	CHECK(got_conflicts == expected_conflicts);
	CHECK(expected_conflicts > 0); /* the simulation did make concurrent writes */

	/* 50 random arrival orders into fresh stores */
	opset_of(&all, node[0]);
	for (i = 0; i < 50; i++) {
		cw_store *st = fresh_store();

		for (j = 0; j < all.n; j++)
			order[j] = j;
		for (j = all.n; j > 1; j--) {
			size_t r = rnd((uint32_t)j), t = order[j - 1];

			order[j - 1] = order[r];
			order[r] = t;
		}
		CHECK(apply_all(st, &kr, &all, order) == 0);
		CHECK_OK(cw_oplog_digest(got, st, NULL));
		CHECK(memcmp(want, got, CW_HASH_BYTES) == 0);
		if (i == 0) { /* and a rebuild from the ops alone is byte-identical */
			CHECK_OK(cw_oplog_rebuild(st));
			CHECK_OK(cw_oplog_digest(got, st, NULL));
			CHECK(memcmp(want, got, CW_HASH_BYTES) == 0);
		}
		cw_store_free(st);
	}
	/* pairwise merges in random groupings: split into 4 random groups, merge as a tree */
	for (i = 0; i < 5; i++) {
		cw_store *g[4];
		opset part[4];
		int grp;

		for (grp = 0; grp < 4; grp++) {
			g[grp] = fresh_store();
			part[grp].n = 0;
		}
		for (j = 0; j < all.n; j++) {
			grp = (int)rnd(4);
			part[grp].bytes[part[grp].n] = all.bytes[j];
			part[grp].len[part[grp].n++] = all.len[j];
		}
		/* a group alone may wait for ops in others: give each group its ops plus
		 * everything before them it needs, by applying the prefix of `all` */
		for (grp = 0; grp < 4; grp++) {
			opset need;
			size_t last = 0;

			for (j = 0; j < all.n; j++)
				for (k = 0; k < part[grp].n; k++)
					if (all.bytes[j] == part[grp].bytes[k])
						last = j + 1;
			need.n = last;
			for (j = 0; j < last; j++) {
				need.bytes[j] = all.bytes[j];
				need.len[j] = all.len[j];
			}
			CHECK(apply_all(g[grp], &kr, &need, NULL) == 0);
		}
		sync_pair(g[0], g[1], &kr);
		sync_pair(g[2], g[3], &kr);
		sync_pair(g[1], g[2], &kr);
		sync_pair(g[0], g[3], &kr);
		for (grp = 0; grp < 4; grp++) {
			CHECK_OK(cw_oplog_digest(got, g[grp], NULL));
			CHECK(memcmp(want, got, CW_HASH_BYTES) == 0);
			cw_store_free(g[grp]);
		}
	}
	{
		cw_oplog_report rep;

		CHECK_OK(cw_oplog_verify(&rep, node[0], &kr));
		CHECK(rep.ops == all.n);
	}
	opset_free(&all);
	for (a = 0; a < NODES; a++) {
		cw_store_free(node[a]);
		cw_keys_free(keys[a]);
	}
	cw_keyring_dispose(&kr);
}

static void test_resolve_settles(void)
{
	cw_keys *ka = NULL, *kb = NULL;
	cw_store *a = fresh_store(), *b = fresh_store();
	cw_keyring kr = { 0, NULL, NULL };
	uint8_t case_id[CW_ID_BYTES], da[CW_HASH_BYTES], db[CW_HASH_BYTES];
	cw_kv kv = { "name", "Ahmed Khan" }, pa = { "phone", "+44 20 7946 0001" },
	      pb = { "phone", "+44 20 7946 0002" };
	cw_case_view *v = NULL;

	CHECK_OK(cw_keys_generate(&ka));
	CHECK_OK(cw_keys_generate(&kb));
	cw_keyring_add(&kr, cw_keys_sign_pk(ka));
	cw_keyring_add(&kr, cw_keys_sign_pk(kb));
	CHECK_OK(cw_case_create(case_id, a, ka, &kv, 1));
	sync_pair(a, b, &kr);
	CHECK_OK(cw_case_set(a, ka, case_id, &pa, 1));
	CHECK_OK(cw_case_set(b, kb, case_id, &pb, 1));
	sync_pair(a, b, &kr);
	CHECK_OK(cw_case_load(&v, b, case_id));
	CHECK(v && v->nconflicts == 1 && v->conflicts[0].nvalues == 2);
	if (v && v->nconflicts == 1) {
		char id[17];

		snprintf(id, sizeof(id), "%s", v->conflicts[0].id);
		/* an impossible value is refused and changes nothing */
		CHECK_CODE(cw_case_resolve(b, kb, id, "not a phone"), CW_EINVALID);
		CHECK_OK(cw_case_resolve(b, kb, id, "+44 20 7946 0001"));
	}
	cw_case_view_free(v);
	v = NULL;
	sync_pair(a, b, &kr);
	CHECK_OK(cw_oplog_digest(da, a, case_id));
	CHECK_OK(cw_oplog_digest(db, b, case_id));
	CHECK(memcmp(da, db, CW_HASH_BYTES) == 0);
	CHECK_OK(cw_case_load(&v, a, case_id));
	CHECK(v && v->nconflicts == 0);
	CHECK(v && strcmp(cw_view_get(v->self, "phone"), "+44 20 7946 0001") == 0);
	cw_case_view_free(v);
	cw_store_free(a);
	cw_store_free(b);
	cw_keys_free(ka);
	cw_keys_free(kb);
	cw_keyring_dispose(&kr);
}

static void test_tamper_and_equivocation(void)
{
	cw_keys *ka = NULL, *stranger = NULL;
	cw_store *a = fresh_store(), *b = fresh_store();
	cw_keyring kr = { 0, NULL, NULL }, only_stranger = { 0, NULL, NULL };
	uint8_t case_id[CW_ID_BYTES];
	cw_kv kv = { "name", "Lena Petrova" }, d1 = { "diet", "halal" }, d2 = { "diet", "vegan" };
	cw_oplog_report rep;
	opset s;
	cw_op op;
	cw_buf forged = CW_BUF_INIT;
	int added;

	CHECK_OK(cw_keys_generate(&ka));
	CHECK_OK(cw_keys_generate(&stranger));
	cw_keyring_add(&kr, cw_keys_sign_pk(ka));
	cw_keyring_add(&only_stranger, cw_keys_sign_pk(stranger));
	CHECK_OK(cw_case_create(case_id, a, ka, &kv, 1));
	CHECK_OK(cw_case_set(a, ka, case_id, &d1, 1));
	opset_of(&s, a);
	CHECK(s.n == 2);
	/* an author the node does not know */
	CHECK_OK(cw_store_begin(b));
	CHECK_CODE(cw_oplog_ingest(&added, b, &only_stranger, s.bytes[0], s.len[0]), CW_EVERIFY);
	/* a flipped bit: decode fails or the signature does */
	s.bytes[0][40] ^= 1;
	CHECK_CODE(cw_oplog_ingest(&added, b, &kr, s.bytes[0], s.len[0]), CW_EVERIFY);
	s.bytes[0][40] ^= 1;
	/* out of order: the second waits for the first */
	CHECK_CODE(cw_oplog_ingest(&added, b, &kr, s.bytes[1], s.len[1]), CW_EWAIT);
	CHECK_OK(cw_oplog_ingest(&added, b, &kr, s.bytes[0], s.len[0]));
	CHECK(added == 1);
	CHECK_OK(cw_oplog_ingest(&added, b, &kr, s.bytes[0], s.len[0]));
	CHECK(added == 0);
	/* equivocation: the same author's op #2 with other content */
	CHECK_OK(cw_op_decode(&op, s.bytes[1], s.len[1]));
	op.fields[0] = (cw_op_field){ "diet", "vegan", 5 };
	(void)d2;
	CHECK_OK(cw_op_encode(&forged, &op, ka));
	CHECK_OK(cw_oplog_ingest(&added, b, &kr, s.bytes[1], s.len[1]));
	CHECK_CODE(cw_oplog_ingest(&added, b, &kr, forged.data, forged.len), CW_EVERIFY);
	CHECK(strstr(cw_error_last(), "equivocation") != NULL);
	CHECK_OK(cw_oplog_flush(b));
	CHECK_OK(cw_store_commit(b));
	CHECK_OK(cw_oplog_verify(&rep, b, &kr));
	/* tampering with a stored op, through a test-only path */
	CHECK_OK(cw_store__exec(a, "DROP TRIGGER ops_append_only_u"));
	CHECK_OK(cw_store__exec(a, "UPDATE ops SET bytes=replace(bytes, 'halal', 'kosha') WHERE n=2"));
	CHECK_CODE(cw_oplog_verify(&rep, a, &kr), CW_EVERIFY);
	if (strstr(cw_error_last(), "signature") == NULL)
		fprintf(stderr, "  %s\n", cw_error_last());
	CHECK(strstr(cw_error_last(), "signature") != NULL);
	/* the append-only triggers refuse changes on an untouched store */
	CHECK_CODE(cw_store__exec(b, "DELETE FROM ops"), CW_EINVALID);
	CHECK_CODE(cw_store__exec(b, "UPDATE ops SET hlc=0"), CW_EINVALID);
	cw_buf_dispose(&forged);
	opset_free(&s);
	cw_store_free(a);
	cw_store_free(b);
	cw_keys_free(ka);
	cw_keys_free(stranger);
	cw_keyring_dispose(&kr);
	cw_keyring_dispose(&only_stranger);
}

static void test_validation(void)
{
	cw_keys *k = NULL;
	cw_store *st = fresh_store();
	uint8_t case_id[CW_ID_BYTES];
	cw_kv kv = { "name", "Sofia Rossi" };
	cw_kv bad[] = { { "dob", "1961-02-30" }, { "nationality", "Italy" }, { "shoe_size", "41" },
		        { "stage", "flying" },   { "recovery_days", "-3" },  { "email", "sofia@" } };
	cw_kv cost[] = { { "type", "charge" }, { "amount", "12.345" }, { "currency", "EUR" } };
	cw_kv cur[] = { { "type", "charge" }, { "amount", "12" }, { "currency", "XYZ" } };
	cw_kv appt[] = { { "kind", "surgery" }, { "start", "2026-03-14 09:30" } };
	uint8_t before[CW_HASH_BYTES], after[CW_HASH_BYTES];
	size_t i;

	CHECK_OK(cw_keys_generate(&k));
	CHECK_OK(cw_case_create(case_id, st, k, &kv, 1));
	CHECK_OK(cw_oplog_digest(before, st, NULL));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_CODE(cw_case_set(st, k, case_id, &bad[i], 1), CW_EINVALID);
		CHECK(strstr(cw_error_last(), bad[i].name) != NULL);
	}
	CHECK_CODE(cw_case_add(NULL, st, k, case_id, CW_KIND_COST, cost, 3), CW_EINVALID);
	CHECK(strstr(cw_error_last(), "amount") != NULL);
	CHECK_CODE(cw_case_add(NULL, st, k, case_id, CW_KIND_COST, cur, 3), CW_EINVALID);
	CHECK(strstr(cw_error_last(), "currency") != NULL);
	CHECK_CODE(cw_case_add(NULL, st, k, case_id, CW_KIND_APPOINTMENT, appt, 2), CW_EINVALID);
	CHECK(strstr(cw_error_last(), "offset") != NULL);
	CHECK_CODE(cw_case_add(NULL, st, k, case_id, CW_KIND_APPOINTMENT, appt, 1), CW_EINVALID);
	CHECK(strstr(cw_error_last(), "start") != NULL);
	CHECK_OK(cw_oplog_digest(after, st, NULL));
	CHECK(memcmp(before, after, CW_HASH_BYTES) == 0);
	cw_store_free(st);
	cw_keys_free(k);
}

const cw_test cw_tests[] = { { "property: any order, any grouping, same state", test_property },
	                     { "resolve settles a conflict everywhere", test_resolve_settles },
	                     { "tampering, strangers, waiting, equivocation", test_tamper_and_equivocation },
	                     { "validation writes nothing", test_validation },
	                     CW_TESTS_END };
