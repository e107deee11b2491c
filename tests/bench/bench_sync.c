/*
 * tests/bench/bench_sync.c - signed bundles (sync/exchange.h) against their
 * baselines, in one run on this machine. A coordinator enrolled in an agency
 * with a hub (homes made with the cheapest KDF), peers added both ways:
 *   1. export of 100k ops over 1,000 cases to the hub, and its import on the
 *      hub (ops/s); import against the bare cost of verifying as many
 *      Ed25519 signatures over ~200-byte messages (libsodium, same run);
 *   2. the bytes of a night's bundle (200 edits over 30 cases, after the hub
 *      acknowledged the history) against zlib level 6 of the same edits as
 *      JSON lines;
 *   3. export of 10 new ops after 1k ops of history (10 cases) vs after the
 *      100k of (1) (both acknowledged): should not depend on the history;
 *   4. our import of the 100k-op bundle vs stock `git fetch` of the same
 *      bundle into an empty bare repository (wall time).
 *   5. (--scale) a hub of 10,000 cases from 10 coordinators: the first pull
 *      of a new laptop given 1,000 of them (time, bytes) against stock
 *      `git clone --mirror` of the hub's repository; import and `case list`
 *      at 1k, 10k and 100k ops.
 * Usage: bench_sync [--quick | --scale [DEVICES]]   (--quick: 10k ops over 100
 * cases; DEVICES: fewer coordinators than 10 for a smaller hub)
 * Needs stock git on PATH for (4). Not a test: prints figures.
 */
#define _GNU_SOURCE
#include "crypto/keystore.h"
#include "crypto/secret.h"
#include "node/case.h"
#include "node/home.h"
#include "node/org.h"
#include "node/peer.h"
#include "sync/exchange.h"
#include "sync/remote.h"
#include "util/buf.h"
#include "util/error.h"

#include <git2.h>
#include <sodium.h>
#include <sqlite3.h>
#include <zlib.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PASS "bench passphrase, not secret"
#define NIGHT_EDITS 200
#define NIGHT_CASES 30
#define SMALL_CASES 10
#define SMALL_OPS 1000
#define NEW_OPS 10
#define ROUNDS 3

static const cw_kdf_cost fast_kdf = { CW_KDF_OPS_MIN, CW_KDF_MEM_MIN };

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_sync: %s: %s\n", what, cw_error_last());
	exit(1);
}

static void check(int rc, const char *what)
{
	if (rc < 0)
		die(what);
}

/* ---- an agency: a hub and one coordinator, each a peer of the other ---------- */

typedef struct {
	cw_home *hub, *coord;
	uint8_t (*cases)[CW_ID_BYTES];
	long ncases;
	long written; /* ops the coordinator wrote */
	char dir[300];
	int nbundle;
} agency;

static cw_home *make_home(const char *dir, const char *name, cw_role role)
{
	cw_home *h = NULL;

	check(cw_home_init(&h, dir, name, role, PASS, strlen(PASS), &fast_kdf), "home init");
	return h;
}

/* Enrol the device of h with the agency of hub as a coordinator, and make
 * each a peer of the other (the device is `peer` on the hub, the hub is
 * "hub" on the device). */
static void enrol(cw_home *hub, cw_home *h, const char *peer)
{
	cw_buf req = CW_BUF_INIT, pkg = CW_BUF_INIT;
	cw_keys *org = NULL;
	cw_cert cert, hub_cert;
	cw_roster *r = NULL;

	check(cw_request_create(&req, cw_home_keys(h), cw_home_name(h), CW_ROLE_COORDINATOR, (int64_t)time(NULL)),
	      "request");
	check(cw_org_unlock(&org, hub, NULL, PASS, strlen(PASS)), "org unlock");
	check(cw_org_enroll(&pkg, &cert, hub, org, req.data, req.len, CW_ROLE_COORDINATOR), "enroll");
	check(cw_org_join(h, pkg.data, pkg.len, &cert), "join");
	check(cw_org_cert(&hub_cert, hub), "hub cert");
	check(cw_org_roster(&r, hub), "hub roster");
	check(cw_peer_add(cw_home_store(hub), r, peer, &cert, ""), "peer add on hub");
	cw_roster_free(r);
	r = NULL;
	check(cw_org_roster(&r, h), "coordinator roster");
	check(cw_peer_add(cw_home_store(h), r, "hub", &hub_cert, ""), "peer add on coordinator");
	cw_roster_free(r);
	cw_keys_free(org);
	cw_buf_dispose(&req);
	cw_buf_dispose(&pkg);
}

static cw_home *make_hub(const char *dir)
{
	cw_home *hub = make_home(dir, "Head office", CW_ROLE_HUB);

	check(cw_org_create(hub, "Bench Medical Travel", PASS, strlen(PASS), &fast_kdf), "org create");
	return hub;
}

static void agency_make(agency *a, const char *root, const char *tag, long ncases)
{
	char path[400];

	memset(a, 0, sizeof(*a));
	snprintf(a->dir, sizeof(a->dir), "%s/%s", root, tag);
	if (mkdir(a->dir, 0700) < 0)
		die("mkdir");
	snprintf(path, sizeof(path), "%s/hub", a->dir);
	a->hub = make_hub(path);
	snprintf(path, sizeof(path), "%s/coord", a->dir);
	a->coord = make_home(path, "Coordinator", CW_ROLE_COORDINATOR);
	enrol(a->hub, a->coord, "coord");
	if ((a->cases = calloc((size_t)ncases, sizeof(*a->cases))) == NULL)
		die("memory");
	a->ncases = ncases;
}

static void agency_free(agency *a)
{
	cw_home_free(a->hub);
	cw_home_free(a->coord);
	free(a->cases);
}

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static const char *const langs[] = { "English", "Arabic", "Russian", "Turkish", "German", "French", "Polish" };
static const char *const notes[] = {
	"Called the family: flights confirmed, wheelchair at arrival requested",
	"Clinic sent the revised quote; patient asked for the payment plan",
	"Interpreter booked for the consultation, Arabic, two hours",
	"Patient prefers a ground-floor room and a late check-out",
	"Lab results received from the home doctor, forwarded to the surgeon",
};

/* One edit of a case as a coordinator makes it: a field set or a note.
 * field/value (when not NULL) get what was written. */
static void edit(agency *a, const uint8_t case_id[CW_ID_BYTES], long k, char *field, size_t fcap, char *value,
                 size_t vcap)
{
	char buf[160];
	const cw_keys *me = cw_home_keys(a->coord);
	cw_store *st = cw_home_store(a->coord);
	cw_kv kv;

	switch (k % 3) {
	case 0:
		snprintf(buf, sizeof(buf), "%s, %s", langs[rng() % 7], langs[rng() % 7]);
		kv.name = "languages";
		break;
	case 1:
		snprintf(buf, sizeof(buf), "+44 20 79%02u %04u", (unsigned)(rng() % 100), (unsigned)(rng() % 10000));
		kv.name = "phone";
		break;
	default:
		snprintf(buf, sizeof(buf), "%s (%ld)", notes[rng() % 5], k);
		kv.name = "text";
		break;
	}
	kv.value = buf;
	if (k % 3 == 2)
		check(cw_case_add(NULL, st, me, case_id, CW_KIND_NOTE, &kv, 1), "note add");
	else
		check(cw_case_set(st, me, case_id, &kv, 1), "case set");
	a->written++;
	if (field)
		snprintf(field, fcap, "%s", k % 3 == 2 ? "note" : kv.name);
	if (value)
		snprintf(value, vcap, "%s", buf);
}

/* nops ops over the agency's cases, 1,000 per transaction: each case made,
 * then round after round of edits. */
static void write_history(agency *a, long nops)
{
	cw_store *st = cw_home_store(a->coord);
	char name[64];
	long i, j;

	for (i = 0; i < nops;) {
		check(cw_store_begin(st), "begin");
		for (j = 0; j < 1000 && i < nops; j++, i++) {
			long c = i % a->ncases;

			if (i < a->ncases) {
				cw_kv kv = { "name", name };

				snprintf(name, sizeof(name), "Patient %05ld Bench", c);
				check(cw_case_create(a->cases[c], st, cw_home_keys(a->coord), &kv, 1), "case create");
				a->written++;
			} else {
				edit(a, a->cases[c], i / a->ncases, NULL, 0, NULL, 0);
			}
		}
		check(cw_store_commit(st), "commit");
	}
}

static void bundle_path(char *out, size_t cap, agency *a, const char *what)
{
	snprintf(out, cap, "%s/%02d-%s.bundle", a->dir, ++a->nbundle, what);
}

static double export_to(cw_export_report *rep, cw_home *h, const char *peer, const char *path)
{
	double t0 = now_s();

	check(cw_sync_export(rep, h, peer, path, 0, NULL, NULL), "export");
	return now_s() - t0;
}

static double import_into(cw_import_report *rep, cw_home *h, const char *path)
{
	double t0 = now_s();

	check(cw_sync_import(rep, h, path, NULL, NULL), "import");
	return now_s() - t0;
}

/* The hub answers with a bundle of its own (whose manifest says what it
 * holds) and the coordinator takes it: the next export carries new commits
 * only. */
static void acknowledge(agency *a)
{
	cw_export_report e;
	cw_import_report i;
	char path[400];

	bundle_path(path, sizeof(path), a, "ack");
	export_to(&e, a->hub, "coord", path);
	import_into(&i, a->coord, path);
	unlink(path);
}

/* Ship what the coordinator has to the hub and back the acknowledgement. */
static void sync_round(agency *a)
{
	cw_export_report e;
	cw_import_report i;
	char path[400];

	bundle_path(path, sizeof(path), a, "sync");
	export_to(&e, a->coord, "hub", path);
	import_into(&i, a->hub, path);
	unlink(path);
	acknowledge(a);
}

/* Best of ROUNDS: NEW_OPS new edits, time the export, then sync them and
 * have them acknowledged. *bytes = the bundle's size in the best round. */
static double export_new(agency *a, uint64_t *bytes, size_t *refs)
{
	double best = 1e9, t;
	int r;
	long k;

	for (r = 0; r < ROUNDS; r++) {
		cw_export_report e;
		cw_import_report i;
		char path[400];

		check(cw_store_begin(cw_home_store(a->coord)), "begin");
		for (k = 0; k < NEW_OPS; k++)
			edit(a, a->cases[k % a->ncases], k, NULL, 0, NULL, 0);
		check(cw_store_commit(cw_home_store(a->coord)), "commit");
		bundle_path(path, sizeof(path), a, "new");
		t = export_to(&e, a->coord, "hub", path);
		if (t < best) {
			best = t;
			*bytes = e.bytes;
			*refs = e.refs;
		}
		import_into(&i, a->hub, path);
		if (i.ops != NEW_OPS) {
			fprintf(stderr, "bench_sync: the hub took %zu ops of %d\n", i.ops, NEW_OPS);
			exit(1);
		}
		unlink(path);
		acknowledge(a);
	}
	return best;
}

/* ---- the machine ------------------------------------------------------------- */

static void machine_line(void)
{
	char line[256], cpu[200] = "unknown CPU", gitv[128] = "not found";
	long mem_kb = 0;
	FILE *f;
	int maj, min, rev;

	if ((f = fopen("/proc/cpuinfo", "r")) != NULL) {
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "model name", 10) == 0) {
				char *c = strchr(line, ':');

				if (c) {
					c += 1 + (c[1] == ' ');
					c[strcspn(c, "\n")] = '\0';
					snprintf(cpu, sizeof(cpu), "%s", c);
				}
				break;
			}
		fclose(f);
	}
	if ((f = fopen("/proc/meminfo", "r")) != NULL) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "MemTotal: %ld kB", &mem_kb) == 1)
				break;
		fclose(f);
	}
	if ((f = popen("git --version 2>/dev/null", "r")) != NULL) {
		if (fgets(gitv, sizeof(gitv), f))
			gitv[strcspn(gitv, "\n")] = '\0';
		pclose(f);
	}
	git_libgit2_version(&maj, &min, &rev);
	printf("machine: %ld cores, %s, %ld GiB\n", sysconf(_SC_NPROCESSORS_ONLN), cpu,
	       (mem_kb + (1 << 19)) >> 20);
	printf("libsodium %s, SQLite %s, libgit2 %d.%d.%d, %s\n", sodium_version_string(), sqlite3_libversion(), maj,
	       min, rev, gitv);
}

/* ---- baselines ----------------------------------------------------------------- */

/* Seconds to verify n Ed25519 signatures over distinct 200-byte messages
 * (signed beforehand, not timed). */
static double verify_only(long n)
{
	enum { MSG = 200 };
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	uint8_t *msgs = malloc((size_t)n * MSG), *sigs = malloc((size_t)n * crypto_sign_BYTES);
	double t0, t;
	long i, bad = 0;

	if (msgs == NULL || sigs == NULL)
		die("memory");
	crypto_sign_keypair(pk, sk);
	randombytes_buf(msgs, (size_t)n * MSG);
	for (i = 0; i < n; i++)
		crypto_sign_detached(sigs + i * crypto_sign_BYTES, NULL, msgs + i * MSG, MSG, sk);
	t0 = now_s();
	for (i = 0; i < n; i++)
		bad += crypto_sign_verify_detached(sigs + i * crypto_sign_BYTES, msgs + i * MSG, MSG, pk) != 0;
	t = now_s() - t0;
	if (bad) {
		fprintf(stderr, "bench_sync: %ld signatures did not verify\n", bad);
		exit(1);
	}
	sodium_memzero(sk, sizeof(sk));
	free(msgs);
	free(sigs);
	return t;
}

/* Wall time of `git init --bare X` then `git -C X fetch BUNDLE` of every ref
 * under refs/ to the same name (the command below). */
static double git_fetch(const char *root, const char *bundle)
{
	char cmd[1200];
	double t0, t;

	snprintf(cmd, sizeof(cmd),
	         "git init -q --bare '%s/git-baseline.git' && "
	         "git -C '%s/git-baseline.git' fetch -q '%s' 'refs/*:refs/*'",
	         root, root, bundle);
	t0 = now_s();
	if (system(cmd) != 0) {
		fprintf(stderr, "bench_sync: stock git failed: %s\n", cmd);
		exit(1);
	}
	t = now_s() - t0;
	snprintf(cmd, sizeof(cmd), "git -C '%s/git-baseline.git' for-each-ref | wc -l", root);
	{
		FILE *f = popen(cmd, "r");
		char n[32] = "?";

		if (f) {
			if (fgets(n, sizeof(n), f))
				n[strcspn(n, "\n")] = '\0';
			pclose(f);
		}
		printf("  git fetch made %s refs\n", n);
	}
	return t;
}

/* One line of the table; ratio < 0 prints "-". */
static void row(const char *metric, const char *value, const char *baseline, double ratio)
{
	if (ratio < 0)
		printf("%-46s %-24s %-30s %8s\n", metric, value, baseline, "-");
	else
		printf("%-46s %-24s %-30s %8.2f\n", metric, value, baseline, ratio);
}

/* ---- scale --------------------------------------------------------------------- */

#define SCALE_DEVICES_MAX 10
static int scale_devices = SCALE_DEVICES_MAX;
#define SCALE_CASES_PER_DEVICE 1000
#define SCALE_OPS_PER_CASE 10

static int count_one(const cw_case_summary *sum, void *ctx)
{
	(void)sum;
	(*(long *)ctx)++;
	return 0;
}

/* Best of ROUNDS of `case list` (every case, no filter). */
static double case_list_time(cw_home *h, long *n)
{
	double best = 1e9, t;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		*n = 0;
		t = now_s();
		check(cw_case_list(cw_home_store(h), NULL, NULL, count_one, n), "case list");
		t = now_s() - t;
		if (t < best)
			best = t;
	}
	return best;
}

static uint64_t dir_bytes(const char *dir)
{
	char cmd[600], out[64] = "0";
	FILE *f;

	snprintf(cmd, sizeof(cmd), "du -sb '%s' | cut -f1", dir);
	if ((f = popen(cmd, "r")) != NULL) {
		if (fgets(out, sizeof(out), f) == NULL)
			out[0] = '\0';
		pclose(f);
	}
	return strtoull(out, NULL, 10);
}

static void run(const char *cmd)
{
	if (system(cmd) != 0) {
		fprintf(stderr, "bench_sync: failed: %s\n", cmd);
		exit(1);
	}
}

/* A hub holding 10,000 cases written by 10 coordinators (10 ops each), its
 * git repository, and the first sync of a new laptop that is given one
 * coordinator's 1,000 cases; then how import and `case list` grow from 1k to
 * 100k ops. */
static void scale(const char *root)
{
	cw_home *hub, *laptop;
	agency dev[SCALE_DEVICES_MAX];
	cw_remote_report rr;
	char dir[300], path[400], url[420], cmd[1400], label[96], value[64], base[80];
	double t_hub = 0, t_pull, t_clone, t_list, t_import[3], t_caselist[3];
	uint64_t pulled_bytes, clone_bytes;
	long hub_ops = 0, listed, sizes[3] = { 1000, 10000, 100000 };
	int d, i, added;

	snprintf(dir, sizeof(dir), "%s/scale", root);
	if (mkdir(dir, 0700) < 0)
		die("mkdir");
	snprintf(path, sizeof(path), "%s/hub", dir);
	hub = make_hub(path);
	for (d = 0; d < scale_devices; d++) {
		cw_export_report er;
		cw_import_report ir;
		char name[32];

		memset(&dev[d], 0, sizeof(dev[d]));
		snprintf(dev[d].dir, sizeof(dev[d].dir), "%s", dir);
		snprintf(name, sizeof(name), "c%d", d);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		dev[d].coord = make_home(path, name, CW_ROLE_COORDINATOR);
		enrol(hub, dev[d].coord, name);
		dev[d].hub = hub;
		dev[d].ncases = SCALE_CASES_PER_DEVICE;
		if ((dev[d].cases = calloc(SCALE_CASES_PER_DEVICE, sizeof(*dev[d].cases))) == NULL)
			die("memory");
		write_history(&dev[d], (long)SCALE_CASES_PER_DEVICE * SCALE_OPS_PER_CASE);
		bundle_path(path, sizeof(path), &dev[d], name);
		export_to(&er, dev[d].coord, "hub", path);
		t_hub += import_into(&ir, hub, path);
		hub_ops += (long)ir.ops;
		unlink(path);
	}
	printf("  scale: the hub took %ld ops over %d cases from %d coordinators in %.2f s\n", hub_ops,
	       scale_devices * SCALE_CASES_PER_DEVICE, scale_devices, t_hub);
	snprintf(path, sizeof(path), "%s/hub.git", dir);
	snprintf(cmd, sizeof(cmd), "git init -q --bare '%s'", path);
	run(cmd);
	snprintf(url, sizeof(url), "%s", path);
	check(cw_remote_push(&rr, hub, url, NULL, NULL), "hub push");

	/* a new laptop for coordinator c0: head office shares c0's cases with it */
	snprintf(path, sizeof(path), "%s/laptop", dir);
	laptop = make_home(path, "laptop", CW_ROLE_COORDINATOR);
	enrol(hub, laptop, "laptop");
	check(cw_store_begin(cw_home_store(hub)), "begin");
	for (i = 0; i < SCALE_CASES_PER_DEVICE; i++)
		check(cw_case_share(&added, cw_home_store(hub), cw_home_keys(hub), dev[0].cases[i],
		                    cw_keys_id(cw_home_keys(laptop)), "laptop", "coordinator"),
		      "share");
	check(cw_store_commit(cw_home_store(hub)), "commit");
	check(cw_remote_push(&rr, hub, url, NULL, NULL), "hub push");
	t_pull = now_s();
	check(cw_remote_pull(&rr, laptop, url, NULL, NULL), "laptop pull");
	t_pull = now_s() - t_pull;
	snprintf(path, sizeof(path), "%s/laptop/log.git", dir);
	pulled_bytes = dir_bytes(path);
	t_list = case_list_time(laptop, &listed);
	printf("  scale: the new laptop took %zu ops (%zu refs), lists %ld cases\n", rr.ops, rr.fetched_refs, listed);
	snprintf(cmd, sizeof(cmd), "git clone -q --mirror '%s/hub.git' '%s/clone.git'", dir, dir);
	t_clone = now_s();
	run(cmd);
	t_clone = now_s() - t_clone;
	snprintf(path, sizeof(path), "%s/clone.git", dir);
	clone_bytes = dir_bytes(path);

	/* growth: a hub importing 1k, 10k, 100k ops; `case list` after */
	for (i = 0; i < 3; i++) {
		agency g;
		cw_export_report er;
		cw_import_report ir;
		char tag[16];

		snprintf(tag, sizeof(tag), "grow%d", i);
		agency_make(&g, root, tag, sizes[i] / 100);
		write_history(&g, sizes[i]);
		snprintf(path, sizeof(path), "%s/grow.bundle", g.dir);
		export_to(&er, g.coord, "hub", path);
		t_import[i] = import_into(&ir, g.hub, path);
		t_caselist[i] = case_list_time(g.hub, &listed);
		unlink(path);
		agency_free(&g);
	}

	printf("\n%-46s %-24s %-30s %8s\n", "scale", "value", "baseline", "ratio");
	snprintf(label, sizeof(label), "new laptop's first pull, %d-case hub", scale_devices * SCALE_CASES_PER_DEVICE);
	snprintf(value, sizeof(value), "%.2f s", t_pull);
	snprintf(base, sizeof(base), "git clone --mirror: %.2f s", t_clone);
	row(label, value, base, t_pull / t_clone);
	snprintf(value, sizeof(value), "%.1f MB", pulled_bytes / 1e6);
	snprintf(base, sizeof(base), "git clone --mirror: %.1f MB", clone_bytes / 1e6);
	row("  its log.git on disk", value, base, (double)pulled_bytes / (double)clone_bytes);
	snprintf(value, sizeof(value), "%.1f ms (%d cases)", t_list * 1e3, SCALE_CASES_PER_DEVICE);
	row("  case list on the laptop", value, "-", -1);
	for (i = 0; i < 3; i++) {
		snprintf(label, sizeof(label), "import %ldk ops / %ld cases (per op)", sizes[i] / 1000, sizes[i] / 100);
		snprintf(value, sizeof(value), "%.2f s, %.1f us/op", t_import[i], t_import[i] / sizes[i] * 1e6);
		snprintf(base, sizeof(base), "1k ops: %.1f us/op", t_import[0] / sizes[0] * 1e6);
		row(label, value, base, (t_import[i] / sizes[i]) / (t_import[0] / sizes[0]));
	}
	for (i = 0; i < 3; i++) {
		snprintf(label, sizeof(label), "case list after %ldk ops (%ld cases)", sizes[i] / 1000, sizes[i] / 100);
		snprintf(value, sizeof(value), "%.2f ms", t_caselist[i] * 1e3);
		snprintf(base, sizeof(base), "after 1k ops: %.2f ms", t_caselist[0] * 1e3);
		row(label, value, base, t_caselist[i] / t_caselist[0]);
	}
	cw_home_free(laptop);
	for (d = 0; d < scale_devices; d++) {
		cw_home_free(dev[d].coord);
		free(dev[d].cases);
	}
	cw_home_free(hub);
}

/* ---- main ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	int scale_only = argc > 1 && strcmp(argv[1], "--scale") == 0;
	long nops = quick ? 10000 : 100000, ncases = quick ? 100 : 1000, k;
	char root[] = "/tmp/cwbench-sync.XXXXXX", path[400], full[400], cmd[600], label[80], value[64], base[64];
	char author[CW_DEVICE_ID_LEN + 1];
	agency big, small;
	cw_export_report er;
	cw_import_report ir;
	cw_buf json = CW_BUF_INIT;
	double t_write, t_export, t_import, t_verify, t_git, t_new_big, t_new_small, t_idle;
	uint64_t night_bytes, new_bytes_big = 0, new_bytes_small = 0;
	size_t night_refs, new_refs_big = 0, new_refs_small = 0;
	uLongf gz_len;
	uint8_t *gz;

	if ((argc > 1 && !quick && !scale_only) || argc > 3 ||
	    (argc == 3 && (!scale_only || (scale_devices = atoi(argv[2])) < 1 || scale_devices > SCALE_DEVICES_MAX))) {
		fprintf(stderr, "usage: bench_sync [--quick | --scale [DEVICES (1-10)]]\n");
		return 2;
	}
	if (cw_secret_startup() < 0 || sodium_init() < 0 || mkdtemp(root) == NULL)
		die("setup");
	/* stock git with no configuration from this machine */
	setenv("HOME", root, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	machine_line();
	if (scale_only) {
		scale(root);
		if (getenv("CW_BENCH_KEEP")) { /* to look at the homes afterwards */
			printf("  kept %s\n", root);
			return 0;
		}
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", root);
		return 0;
	}
	printf("caseway sync benchmark: %ld ops over %ld cases%s\n", nops, ncases, quick ? " (--quick)" : "");

	/* 1. the history, exported to the hub and imported there */
	agency_make(&big, root, "big", ncases);
	t_write = now_s();
	write_history(&big, nops);
	t_write = now_s() - t_write;
	printf("  wrote %ld ops on the coordinator in %.2f s (not part of the figures)\n", big.written, t_write);
	snprintf(full, sizeof(full), "%s/history.bundle", root);
	t_export = export_to(&er, big.coord, "hub", full);
	printf("  history bundle: %" PRIu64 " bytes, %zu refs, %zu commits written\n", er.bytes, er.refs,
	       er.commits);
	t_import = import_into(&ir, big.hub, full);
	printf("  hub took %zu ops\n", ir.ops);
	if ((long)ir.ops != nops) {
		fprintf(stderr, "bench_sync: the hub took %zu ops of %ld\n", ir.ops, nops);
		return 1;
	}
	t_verify = verify_only(nops);

	/* 4. stock git fetch of the same bundle */
	t_git = git_fetch(root, full);

	/* 2. a night's edits, after the hub acknowledged the history */
	acknowledge(&big);
	snprintf(author, sizeof(author), "%s", cw_keys_id(cw_home_keys(big.coord)));
	check(cw_store_begin(cw_home_store(big.coord)), "begin");
	for (k = 0; k < NIGHT_EDITS; k++) {
		char field[32], text[160], chex[2 * CW_ID_BYTES + 1], line[512];
		const uint8_t *c = big.cases[(k * 7) % NIGHT_CASES];
		struct timespec ts;
		int n;

		edit(&big, c, k, field, sizeof(field), text, sizeof(text));
		clock_gettime(CLOCK_REALTIME, &ts);
		cw_id_hex(chex, c);
		n = snprintf(line, sizeof(line),
		             "{\"case\":\"%s\",\"field\":\"%s\",\"value\":\"%s\",\"author\":\"%s\",\"time\":%" PRId64
		             "}\n",
		             chex, field, text, author, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
		check(cw_buf_put(&json, line, (size_t)n), "json");
	}
	check(cw_store_commit(cw_home_store(big.coord)), "commit");
	bundle_path(path, sizeof(path), &big, "night");
	export_to(&er, big.coord, "hub", path);
	night_bytes = er.bytes;
	night_refs = er.refs;
	gz_len = compressBound((uLong)json.len);
	if ((gz = malloc(gz_len)) == NULL ||
	    compress2(gz, &gz_len, json.data, (uLong)json.len, 6) != Z_OK)
		die("zlib");
	free(gz);
	import_into(&ir, big.hub, path);
	if (ir.ops != NIGHT_EDITS) {
		fprintf(stderr, "bench_sync: the hub took %zu night ops of %d\n", ir.ops, NIGHT_EDITS);
		return 1;
	}
	unlink(path);
	acknowledge(&big);

	/* 3. 10 new ops after the big history and after a small one */
	t_new_big = export_new(&big, &new_bytes_big, &new_refs_big);
	{
		/* nothing new at all: the fixed cost of an export */
		bundle_path(path, sizeof(path), &big, "idle");
		t_idle = export_to(&er, big.coord, "hub", path);
		unlink(path);
	}
	agency_make(&small, root, "small", SMALL_CASES);
	write_history(&small, SMALL_OPS);
	sync_round(&small);
	t_new_small = export_new(&small, &new_bytes_small, &new_refs_small);
	printf("  10 new ops: bundle of %" PRIu64 " bytes / %zu refs after %d ops over %d cases, %" PRIu64
	       " bytes / %zu refs after %ld ops over %ld cases\n",
	       new_bytes_small, new_refs_small, SMALL_OPS, SMALL_CASES, new_bytes_big, new_refs_big, nops, ncases);
	printf("  export with nothing new after %ld ops: %.1f ms\n", nops, t_idle * 1e3);

	printf("\n%-46s %-24s %-30s %8s\n", "metric", "value", "baseline", "ratio");
	snprintf(label, sizeof(label), "export %ldk ops / %ld cases -> hub", nops / 1000, ncases);
	snprintf(value, sizeof(value), "%.2f s, %.0f op/s", t_export, nops / t_export);
	row(label, value, "-", -1);
	snprintf(label, sizeof(label), "import %ldk ops on the hub", nops / 1000);
	snprintf(value, sizeof(value), "%.2f s, %.0f op/s", t_import, nops / t_import);
	snprintf(base, sizeof(base), "%ldk Ed25519 verify: %.2f s", nops / 1000, t_verify);
	row(label, value, base, t_import / t_verify);
	snprintf(label, sizeof(label), "night bundle, %d edits / %d cases (%zu refs)", NIGHT_EDITS, NIGHT_CASES,
	         night_refs);
	snprintf(value, sizeof(value), "%" PRIu64 " bytes", night_bytes);
	snprintf(base, sizeof(base), "zlib-6 JSONL: %lu B (of %zu)", (unsigned long)gz_len, json.len);
	row(label, value, base, (double)night_bytes / (double)gz_len);
	snprintf(label, sizeof(label), "export 10 new ops after %ldk ops (best of %d)", nops / 1000, ROUNDS);
	snprintf(value, sizeof(value), "%.1f ms", t_new_big * 1e3);
	snprintf(base, sizeof(base), "after 1k ops: %.1f ms", t_new_small * 1e3);
	row(label, value, base, t_new_big / t_new_small);
	snprintf(label, sizeof(label), "import %ldk-op bundle vs stock git fetch", nops / 1000);
	snprintf(value, sizeof(value), "%.2f s", t_import);
	snprintf(base, sizeof(base), "git init+fetch: %.2f s", t_git);
	row(label, value, base, t_import / t_git);

	agency_free(&small);
	agency_free(&big);
	cw_buf_dispose(&json);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return 0;
}
