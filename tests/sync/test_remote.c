/*
 * tests/sync/test_remote.c - push and pull through a hub that is a plain
 * bare repository made by stock git (receive.denyNonFastForwards on), with
 * real enrolled nodes: ops travel by path, file:// and git://; a second
 * push or pull changes nothing; concurrent offline edits converge; a
 * chain rewritten on the hub is refused with the store unchanged; the hub
 * passes `git fsck --strict`; a hub that moves during a push is retried,
 * both when the client sees it and when the hub refuses the update;
 * unreachable hubs are one-line errors.
 *
 * Needs stock git (with git-daemon) on PATH.
 */
#include "harness.h"
#include "crypto/cert.h"
#include "node/case.h"
#include "node/home.h"
#include "node/oplog.h"
#include "node/org.h"
#include "sync/remote.h"
#include "util/buf.h"
#include "util/error.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define PASS "correct horse battery staple"
#define EMPTY_TREE "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

static const cw_kdf_cost fast = { 1, (uint64_t)8 << 20 };

static int need_git(void)
{
	static int have = -1;
	static char home[300];

	if (have < 0) {
		have = cw_test_run("git --version >/dev/null 2>&1") == 0;
		if (have) {
			snprintf(home, sizeof(home), "%s", cw_test_tmpdir());
			setenv("HOME", home, 1);
			setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
			setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
		}
	}
	if (!have)
		cw_test_fail(__FILE__, __LINE__, "need_git()",
		             "stock git is needed: the hub is made with it");
	return have;
}

/* ---- an agency: head office (hub role), coordinators A, B, C, one hub repo ---- */

typedef struct {
	char dir[300];
	char bare[340]; /* the hub repository, by path */
	char file_url[360];
	cw_keys *org;
	cw_home *office, *a, *b, *c;
} agency;

static int make_bare(const char *path)
{
	return cw_test_run("git init -q --bare '%s' && git -C '%s' config receive.denyNonFastForwards true",
	                   path, path);
}

static cw_home *node_new(agency *ag, const char *name, cw_role role)
{
	char dir[400];
	cw_home *h = NULL;

	snprintf(dir, sizeof(dir), "%s/%s", ag->dir, name);
	if (cw_home_init(&h, dir, name, role, PASS, strlen(PASS), &fast) != CW_OK)
		fprintf(stderr, "node %s: %s\n", name, cw_error_last());
	return h;
}

static cw_home *enrolled(agency *ag, const char *name)
{
	cw_buf req = CW_BUF_INIT, pkg = CW_BUF_INIT;
	cw_cert cert;
	cw_home *h = node_new(ag, name, CW_ROLE_COORDINATOR);

	if (h && (cw_request_create(&req, cw_home_keys(h), name, CW_ROLE_COORDINATOR, (int64_t)time(NULL)) !=
	              CW_OK ||
	          cw_org_enroll(&pkg, &cert, ag->office, ag->org, req.data, req.len, CW_ROLE_COORDINATOR) !=
	              CW_OK ||
	          cw_org_join(h, pkg.data, pkg.len, &cert) != CW_OK)) {
		fprintf(stderr, "enrol %s: %s\n", name, cw_error_last());
		cw_home_free(h);
		h = NULL;
	}
	cw_buf_dispose(&req);
	cw_buf_dispose(&pkg);
	return h;
}

/* Everyone enrolled, then head office publishes the roster to the hub and
 * every coordinator pulls it (so each knows the others). */
static int agency_open(agency *ag)
{
	cw_remote_report rep;

	memset(ag, 0, sizeof(*ag));
	if (!need_git())
		return 0;
	snprintf(ag->dir, sizeof(ag->dir), "%s", cw_test_tmpdir());
	snprintf(ag->bare, sizeof(ag->bare), "%s/hub.git", ag->dir);
	snprintf(ag->file_url, sizeof(ag->file_url), "file://%s", ag->bare);
	if ((ag->office = node_new(ag, "office", CW_ROLE_HUB)) == NULL ||
	    cw_org_create(ag->office, "Acme Medical Travel", PASS, strlen(PASS), &fast) != CW_OK ||
	    cw_org_unlock(&ag->org, ag->office, NULL, PASS, strlen(PASS)) != CW_OK ||
	    (ag->a = enrolled(ag, "Ana")) == NULL || (ag->b = enrolled(ag, "Bora")) == NULL ||
	    (ag->c = enrolled(ag, "Cem")) == NULL || make_bare(ag->bare) != 0 ||
	    cw_remote_push(&rep, ag->office, ag->bare, NULL, NULL) != CW_OK ||
	    cw_remote_pull(&rep, ag->a, ag->bare, NULL, NULL) != CW_OK ||
	    cw_remote_pull(&rep, ag->b, ag->bare, NULL, NULL) != CW_OK ||
	    cw_remote_pull(&rep, ag->c, ag->bare, NULL, NULL) != CW_OK) {
		cw_test_fail(__FILE__, __LINE__, "agency_open", cw_error_last());
		return 0;
	}
	return 1;
}

static void agency_close(agency *ag)
{
	cw_home_free(ag->office);
	cw_home_free(ag->a);
	cw_home_free(ag->b);
	cw_home_free(ag->c);
	cw_keys_free(ag->org);
	memset(ag, 0, sizeof(*ag));
}

/* ---- cases and state --------------------------------------------------------- */

/* A case by h, shared with each of the others. */
static void new_case(uint8_t id[CW_ID_BYTES], cw_home *h, cw_home *share1, cw_home *share2)
{
	cw_kv kv[2] = { { "name", "Ayse Demir" }, { "phone", "+90 555 0101" } };
	cw_home *with[2] = { share1, share2 };
	int added, i;

	CHECK_OK(cw_case_create(id, cw_home_store(h), cw_home_keys(h), kv, 2));
	for (i = 0; i < 2; i++)
		if (with[i])
			CHECK_OK(cw_case_share(&added, cw_home_store(h), cw_home_keys(h), id,
			                       cw_keys_id(cw_home_keys(with[i])), cw_home_name(with[i]),
			                       "coordinator"));
}

static void set_phone(cw_home *h, const uint8_t id[CW_ID_BYTES], const char *phone)
{
	cw_kv kv = { "phone", phone };

	CHECK_OK(cw_case_set(cw_home_store(h), cw_home_keys(h), id, &kv, 1));
}

static void add_note(cw_home *h, const uint8_t id[CW_ID_BYTES], const char *text)
{
	cw_kv kv = { "text", text };
	uint8_t item[CW_ID_BYTES];

	CHECK_OK(cw_case_add(item, cw_home_store(h), cw_home_keys(h), id, CW_KIND_NOTE, &kv, 1));
}

static void digest(uint8_t out[CW_HASH_BYTES], cw_home *h, const uint8_t *id)
{
	memset(out, 0, CW_HASH_BYTES);
	CHECK_OK(cw_oplog_digest(out, cw_home_store(h), id));
}

static int same_case(cw_home *x, cw_home *y, const uint8_t id[CW_ID_BYTES])
{
	uint8_t dx[CW_HASH_BYTES], dy[CW_HASH_BYTES];

	digest(dx, x, id);
	digest(dy, y, id);
	return memcmp(dx, dy, CW_HASH_BYTES) == 0;
}

static void chain_ref(char out[128], const uint8_t id[CW_ID_BYTES], cw_home *author)
{
	char c[2 * CW_ID_BYTES + 1];

	cw_id_hex(c, id);
	snprintf(out, 128, "refs/cw/case/%s/%s", c, cw_keys_id(cw_home_keys(author)));
}

static void log_dir(char out[400], cw_home *h)
{
	snprintf(out, 400, "%s/log.git", cw_home_dir(h));
}

/* Nothing is left in the staging namespace. */
static void check_no_staging(cw_home *h)
{
	char repo[400], out[256];

	log_dir(repo, h);
	CHECK(cw_test_capture(out, sizeof(out), "git -C '%s' for-each-ref refs/cw-in/", repo) == 0);
	CHECK(out[0] == '\0');
}

static void check_fsck(const char *bare)
{
	char out[4096];
	int rc = cw_test_capture(out, sizeof(out), "git -C '%s' fsck --strict --no-dangling 2>&1", bare);

	CHECK(rc == 0);
	CHECK(strstr(out, "error") == NULL && strstr(out, "warning") == NULL);
	if (rc != 0)
		fprintf(stderr, "fsck: %s\n", out);
}

static void check_one_line(const char *msg)
{
	CHECK(msg[0] != '\0');
	CHECK(strchr(msg, '\n') == NULL);
}

/* ---- progress ------------------------------------------------------------------ */

typedef struct {
	int calls, sign, receive, send, bad;
} seen_t;

static void record(void *ctx, const char *stage, uint64_t done, uint64_t total)
{
	seen_t *s = ctx;

	s->calls++;
	s->sign += strcmp(stage, "Signing new changes") == 0;
	s->receive += strcmp(stage, "Receiving from the hub") == 0;
	s->send += strcmp(stage, "Sending to the hub") == 0;
	s->bad += total > 0 && done > total;
}

/* ---- tests --------------------------------------------------------------------- */

static void test_push_then_pull(void)
{
	agency ag;
	cw_remote_report rep;
	seen_t pushed = { 0 }, pulled = { 0 };
	uint8_t id[CW_ID_BYTES];
	char ref[128], mine[41], there[41], repo[400];

	if (!agency_open(&ag))
		return;
	new_case(id, ag.a, ag.b, NULL);
	add_note(ag.a, id, "flight booked");
	/* A pushes by path. */
	CHECK_OK(cw_remote_push(&rep, ag.a, ag.bare, record, &pushed));
	CHECK(rep.commits == 1);
	CHECK(rep.pushed_refs == 1);
	CHECK(rep.retries == 0);
	CHECK(pushed.sign == 1 && pushed.send >= 1 && pushed.bad == 0);
	chain_ref(ref, id, ag.a);
	log_dir(repo, ag.a);
	cw_test_rev_parse(mine, repo, ref);
	cw_test_rev_parse(there, ag.bare, ref);
	CHECK(mine[0] && strcmp(mine, there) == 0);
	/* B pulls by file:// URL and holds the same case. */
	CHECK_OK(cw_remote_pull(&rep, ag.b, ag.file_url, record, &pulled));
	CHECK(rep.ops > 0);
	CHECK(rep.fetched_refs == 1);
	CHECK(rep.pushed_refs == 0 && rep.commits == 0 && rep.waiting_ops == 0);
	CHECK(pulled.receive >= 1 && pulled.sign == 0 && pulled.send == 0 && pulled.bad == 0);
	CHECK(same_case(ag.a, ag.b, id));
	/* Head office (a hub: always granted) too, by path. */
	CHECK_OK(cw_remote_pull(&rep, ag.office, ag.bare, NULL, NULL));
	CHECK(rep.ops > 0);
	CHECK(same_case(ag.a, ag.office, id));
	check_no_staging(ag.a);
	check_no_staging(ag.b);
	check_fsck(ag.bare);
	agency_close(&ag);
}

static void test_again_changes_nothing(void)
{
	agency ag;
	cw_remote_report rep;
	uint8_t id[CW_ID_BYTES], before[CW_HASH_BYTES], after[CW_HASH_BYTES];

	if (!agency_open(&ag))
		return;
	new_case(id, ag.a, ag.b, NULL);
	CHECK_OK(cw_remote_push(&rep, ag.a, ag.file_url, NULL, NULL));
	CHECK(rep.pushed_refs == 1);
	CHECK_OK(cw_remote_push(&rep, ag.a, ag.file_url, NULL, NULL));
	CHECK(rep.commits == 0 && rep.pushed_refs == 0 && rep.ops == 0 && rep.fetched_refs == 0 &&
	      rep.retries == 0);
	CHECK_OK(cw_remote_pull(&rep, ag.b, ag.bare, NULL, NULL));
	CHECK(rep.ops > 0);
	digest(before, ag.b, NULL);
	CHECK_OK(cw_remote_pull(&rep, ag.b, ag.bare, NULL, NULL));
	CHECK(rep.ops == 0 && rep.fetched_refs == 0 && rep.waiting_ops == 0);
	digest(after, ag.b, NULL);
	CHECK(memcmp(before, after, CW_HASH_BYTES) == 0);
	/* B holds nothing the hub lacks. */
	CHECK_OK(cw_remote_push(&rep, ag.b, ag.bare, NULL, NULL));
	CHECK(rep.pushed_refs == 0 && rep.commits == 0);
	agency_close(&ag);
}

/* Both edit the same case offline; B pushes first, A pushes without pulling
 * (its push pulls first, so no retry is needed), both pull: same state. */
static void test_concurrent_edits_converge(void)
{
	agency ag;
	cw_remote_report rep;
	uint8_t id[CW_ID_BYTES];

	if (!agency_open(&ag))
		return;
	new_case(id, ag.a, ag.b, NULL);
	CHECK_OK(cw_remote_push(&rep, ag.a, ag.bare, NULL, NULL));
	CHECK_OK(cw_remote_pull(&rep, ag.b, ag.bare, NULL, NULL));
	CHECK(same_case(ag.a, ag.b, id));
	set_phone(ag.a, id, "+90 555 0202");
	add_note(ag.a, id, "hotel near the clinic");
	set_phone(ag.b, id, "+90 555 0303");
	add_note(ag.b, id, "patient asked about the transfer");
	CHECK(!same_case(ag.a, ag.b, id));
	CHECK_OK(cw_remote_push(&rep, ag.b, ag.bare, NULL, NULL));
	CHECK(rep.commits == 1 && rep.pushed_refs == 1 && rep.retries == 0);
	CHECK_OK(cw_remote_push(&rep, ag.a, ag.bare, NULL, NULL));
	CHECK(rep.commits == 1 && rep.ops > 0 && rep.pushed_refs == 1 && rep.retries == 0);
	CHECK_OK(cw_remote_pull(&rep, ag.b, ag.bare, NULL, NULL));
	CHECK(rep.ops > 0);
	CHECK_OK(cw_remote_pull(&rep, ag.a, ag.bare, NULL, NULL));
	CHECK(rep.ops == 0);
	CHECK(same_case(ag.a, ag.b, id));
	CHECK_OK(cw_remote_pull(&rep, ag.office, ag.bare, NULL, NULL));
	CHECK(same_case(ag.a, ag.office, id));
	check_fsck(ag.bare);
	agency_close(&ag);
}

/* C is not a member: it takes the ciphertext chain but no key. (Needs
 * sync/log.c take_grants to end with CW_OK when the last chain's case has
 * neither a key nor a grant to this device.) */
static void test_non_member_holds_ciphertext(void)
{
	agency ag;
	cw_remote_report rep;
	cw_secret *key = NULL;
	uint8_t id[CW_ID_BYTES];
	char ref[128], there[41], held[41], repo[400];

	if (!agency_open(&ag))
		return;
	new_case(id, ag.a, NULL, NULL);
	CHECK_OK(cw_remote_push(&rep, ag.a, ag.bare, NULL, NULL));
	CHECK_OK(cw_remote_pull(&rep, ag.c, ag.bare, NULL, NULL));
	CHECK(rep.fetched_refs == 1 && rep.ops == 0);
	CHECK_CODE(cw_case_key(&key, cw_home_store(ag.c), id), CW_ENOTFOUND);
	cw_secret_free(key);
	chain_ref(ref, id, ag.a);
	log_dir(repo, ag.c);
	cw_test_rev_parse(there, ag.bare, ref);
	cw_test_rev_parse(held, repo, ref);
	CHECK(there[0] && strcmp(there, held) == 0);
	CHECK_OK(cw_remote_push(&rep, ag.c, ag.bare, NULL, NULL));
	CHECK(rep.pushed_refs == 0);
	agency_close(&ag);
}

/* The hub's ref for A's chain is moved to a hand-made commit, then to a
 * commit of another author: pulls refuse, nothing is taken, and A's push
 * does not overwrite it. */
static void test_rewritten_chain_refused(void)
{
	agency ag;
	cw_remote_report rep;
	uint8_t id[CW_ID_BYTES], own[CW_ID_BYTES], before[CW_HASH_BYTES], after[CW_HASH_BYTES];
	char ref[128], other[128], good[41], forged[41], held[41], repo[400], buf[128];

	if (!agency_open(&ag))
		return;
	new_case(id, ag.a, ag.b, NULL);
	CHECK_OK(cw_remote_push(&rep, ag.a, ag.bare, NULL, NULL));
	CHECK_OK(cw_remote_pull(&rep, ag.b, ag.bare, NULL, NULL));
	set_phone(ag.a, id, "+90 555 0404");
	CHECK_OK(cw_remote_push(&rep, ag.a, ag.bare, NULL, NULL));
	chain_ref(ref, id, ag.a);
	cw_test_rev_parse(good, ag.bare, ref);
	/* A hand-made commit in place of A's newest. */
	CHECK(cw_test_capture(buf, sizeof(buf),
	                      "git -C '%s' -c user.name=x -c user.email=x@y commit-tree " EMPTY_TREE
	                      " -m forged",
	                      ag.bare) == 0);
	memcpy(forged, buf, 40);
	forged[40] = '\0';
	CHECK(cw_test_run("git -C '%s' update-ref '%s' %s", ag.bare, ref, forged) == 0);
	digest(before, ag.b, NULL);
	log_dir(repo, ag.b);
	cw_test_rev_parse(held, repo, ref);
	CHECK_CODE(cw_remote_pull(&rep, ag.b, ag.bare, NULL, NULL), CW_EVERIFY);
	check_one_line(cw_error_last());
	CHECK(strstr(cw_error_last(), "rewritten") != NULL);
	CHECK(rep.ops == 0);
	digest(after, ag.b, NULL);
	CHECK(memcmp(before, after, CW_HASH_BYTES) == 0);
	cw_test_rev_parse(buf, repo, ref);
	CHECK(strcmp(buf, held) == 0);
	check_no_staging(ag.b);
	/* A refuses too, and never forces its own chain back. */
	CHECK_CODE(cw_remote_push(&rep, ag.a, ag.bare, NULL, NULL), CW_EVERIFY);
	cw_test_rev_parse(buf, ag.bare, ref);
	CHECK(strcmp(buf, forged) == 0);
	/* Another author's commit in place of A's; head office has never taken
	 * A's chain and refuses it on its own checks. */
	CHECK(cw_test_run("git -C '%s' update-ref '%s' %s", ag.bare, ref, good) == 0);
	new_case(own, ag.b, NULL, NULL);
	CHECK_OK(cw_remote_push(&rep, ag.b, ag.bare, NULL, NULL));
	chain_ref(other, own, ag.b);
	cw_test_rev_parse(buf, ag.bare, other);
	CHECK(cw_test_run("git -C '%s' update-ref '%s' %s", ag.bare, ref, buf) == 0);
	digest(before, ag.office, NULL);
	CHECK_CODE(cw_remote_pull(&rep, ag.office, ag.bare, NULL, NULL), CW_EVERIFY);
	check_one_line(cw_error_last());
	digest(after, ag.office, NULL);
	CHECK(memcmp(before, after, CW_HASH_BYTES) == 0);
	check_no_staging(ag.office);
	CHECK_CODE(cw_remote_pull(&rep, ag.b, ag.bare, NULL, NULL), CW_EVERIFY);
	/* Put right, everything flows again. */
	CHECK(cw_test_run("git -C '%s' update-ref '%s' %s", ag.bare, ref, good) == 0);
	CHECK_OK(cw_remote_pull(&rep, ag.b, ag.bare, NULL, NULL));
	CHECK(same_case(ag.a, ag.b, id));
	CHECK_OK(cw_remote_pull(&rep, ag.office, ag.bare, NULL, NULL));
	CHECK(same_case(ag.a, ag.office, id));
	agency_close(&ag);
}

/* B's ops need A's; the hub loses A's chain for a while: head office's
 * pull keeps B's ops waiting, and takes them once A's chain is back. */
static void test_waiting_ops(void)
{
	agency ag;
	cw_remote_report rep;
	uint8_t id[CW_ID_BYTES];
	char ref[128], a_head[41];

	if (!agency_open(&ag))
		return;
	new_case(id, ag.a, ag.b, NULL);
	CHECK_OK(cw_remote_push(&rep, ag.a, ag.bare, NULL, NULL));
	CHECK_OK(cw_remote_pull(&rep, ag.b, ag.bare, NULL, NULL));
	set_phone(ag.b, id, "+90 555 0505");
	CHECK_OK(cw_remote_push(&rep, ag.b, ag.bare, NULL, NULL));
	chain_ref(ref, id, ag.a);
	cw_test_rev_parse(a_head, ag.bare, ref);
	CHECK(cw_test_run("git -C '%s' update-ref -d '%s'", ag.bare, ref) == 0);
	CHECK_OK(cw_remote_pull(&rep, ag.office, ag.bare, NULL, NULL));
	CHECK(rep.waiting_ops == 1);
	check_no_staging(ag.office);
	CHECK(cw_test_run("git -C '%s' update-ref '%s' %s", ag.bare, ref, a_head) == 0);
	CHECK_OK(cw_remote_pull(&rep, ag.office, ag.bare, NULL, NULL));
	CHECK(rep.waiting_ops == 0 && rep.ops > 0);
	CHECK(same_case(ag.b, ag.office, id));
	CHECK(same_case(ag.a, ag.office, id) == 0); /* A has not pulled B's phone yet */
	CHECK_OK(cw_remote_pull(&rep, ag.a, ag.bare, NULL, NULL));
	CHECK(same_case(ag.a, ag.office, id));
	agency_close(&ag);
}

/* ---- a hub that moves during a push --------------------------------------------- */

/* A holds B's chain further than hub 1 (it pulled it from hub 2), so its
 * push to hub 1 carries B's chain; while A sends, B pushes a newer head of
 * its chain to hub 1. */
typedef struct {
	agency *ag;
	const uint8_t *id;
	const char *hub1;
	int when_total; /* 0: before connecting; 1: while the pack goes out */
	int fired;
} mover;

static void move_hub(void *ctx, const char *stage, uint64_t done, uint64_t total)
{
	mover *m = ctx;
	cw_remote_report rep;

	(void)done;
	if (m->fired || strcmp(stage, "Sending to the hub") != 0 || (total > 0) != m->when_total)
		return;
	m->fired = 1;
	add_note(m->ag->b, m->id, "B moves the hub meanwhile");
	CHECK_OK(cw_remote_push(&rep, m->ag->b, m->hub1, NULL, NULL));
	CHECK(rep.pushed_refs == 1);
}

static void moving_hub(agency *ag, uint8_t id[CW_ID_BYTES], const char *hub2)
{
	cw_remote_report rep;

	CHECK(make_bare(hub2) == 0);
	new_case(id, ag->a, ag->b, NULL);
	CHECK_OK(cw_remote_push(&rep, ag->a, ag->bare, NULL, NULL));
	CHECK_OK(cw_remote_pull(&rep, ag->b, ag->bare, NULL, NULL));
	set_phone(ag->b, id, "+90 555 0606");
	CHECK_OK(cw_remote_push(&rep, ag->b, ag->bare, NULL, NULL));
	add_note(ag->b, id, "B only on hub 2");
	CHECK_OK(cw_remote_push(&rep, ag->b, hub2, NULL, NULL));
	CHECK_OK(cw_remote_pull(&rep, ag->a, hub2, NULL, NULL));
	CHECK(rep.ops > 0);
}

static void check_moved(agency *ag, const uint8_t id[CW_ID_BYTES], const char *hub1_path)
{
	cw_remote_report rep;
	char ref[128], b_head[41], there[41], repo[400];

	chain_ref(ref, id, ag->b);
	log_dir(repo, ag->b);
	cw_test_rev_parse(b_head, repo, ref);
	cw_test_rev_parse(there, hub1_path, ref);
	CHECK(b_head[0] && strcmp(b_head, there) == 0); /* B's newest head was not overwritten */
	CHECK(same_case(ag->a, ag->b, id));
	CHECK_OK(cw_remote_pull(&rep, ag->b, hub1_path, NULL, NULL));
	CHECK(rep.ops == 0);
	check_fsck(hub1_path);
}

static void test_retry_when_hub_moved_before_send(void)
{
	agency ag;
	cw_remote_report rep;
	uint8_t id[CW_ID_BYTES];
	char hub2[400];
	mover m;

	if (!agency_open(&ag))
		return;
	snprintf(hub2, sizeof(hub2), "%s/hub2.git", ag.dir);
	moving_hub(&ag, id, hub2);
	memset(&m, 0, sizeof(m));
	m.ag = &ag;
	m.id = id;
	m.hub1 = ag.bare;
	m.when_total = 0;
	CHECK_OK(cw_remote_push(&rep, ag.a, ag.bare, move_hub, &m));
	CHECK(m.fired == 1);
	CHECK(rep.retries == 1);
	CHECK(rep.ops > 0);
	check_moved(&ag, id, ag.bare);
	agency_close(&ag);
}

/* ---- the same against git-daemon: the hub itself refuses the update ---- */

static int free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* git daemon serving dir over git:// with receive-pack; *pid_out to stop it. */
/* One try at a git daemon on a free port; 1 when it answers. */
static int try_daemon(long *pid_out, int *port_out, const char *dir)
{
	char pidfile[400], buf[32];
	int port, tries;

	*pid_out = 0;
	if ((port = free_port()) < 0)
		return 0;
	snprintf(pidfile, sizeof(pidfile), "%s/daemon.pid", dir);
	unlink(pidfile);
	if (cw_test_run("git daemon --reuseaddr --listen=127.0.0.1 --port=%d --base-path='%s' --export-all "
	                "--enable=receive-pack --informative-errors --detach --pid-file='%s' '%s'",
	                port, dir, pidfile, dir) != 0)
		return 0;
	for (tries = 0; tries < 50; tries++) {
		if (*pid_out == 0 && cw_test_capture(buf, sizeof(buf), "cat '%s' 2>/dev/null", pidfile) == 0)
			*pid_out = atol(buf);
		if (cw_test_run("git ls-remote git://127.0.0.1:%d/hub.git >/dev/null 2>&1", port) == 0)
			break;
		{
			struct timespec pause = { 0, 100000000L };

			nanosleep(&pause, NULL);
		}
	}
	*port_out = port;
	if (*pid_out > 0 && tries < 50)
		return 1;
	if (*pid_out > 0)
		kill((pid_t)*pid_out, SIGTERM);
	*pid_out = 0;
	return 0;
}

/* A git daemon serving dir on 127.0.0.1; another test on the machine may
 * take the free port first, so a few tries on fresh ports. */
static int start_daemon(long *pid_out, int *port_out, const char *dir)
{
	int attempt;

	for (attempt = 0; attempt < 5; attempt++)
		if (try_daemon(pid_out, port_out, dir))
			return 1;
	return 0;
}

static void test_retry_when_hub_refuses_update(void)
{
	agency ag;
	cw_remote_report rep;
	uint8_t id[CW_ID_BYTES];
	char hub2[400], url[128];
	long pid = 0;
	int port = 0;
	mover m;

	if (!agency_open(&ag))
		return;
	if (!start_daemon(&pid, &port, ag.dir)) {
		cw_test_fail(__FILE__, __LINE__, "start_daemon", "git daemon did not start");
		if (pid > 0)
			kill((pid_t)pid, SIGTERM);
		agency_close(&ag);
		return;
	}
	snprintf(url, sizeof(url), "git://127.0.0.1:%d/hub.git", port);
	snprintf(hub2, sizeof(hub2), "%s/hub2.git", ag.dir);
	moving_hub(&ag, id, hub2);
	memset(&m, 0, sizeof(m));
	m.ag = &ag;
	m.id = id;
	m.hub1 = ag.bare;
	m.when_total = 1;
	CHECK_OK(cw_remote_push(&rep, ag.a, url, move_hub, &m));
	CHECK(m.fired == 1);
	CHECK(rep.retries == 1);
	CHECK(rep.ops > 0);
	check_moved(&ag, id, ag.bare);
	/* Over git:// both ways. */
	CHECK_OK(cw_remote_pull(&rep, ag.office, url, NULL, NULL));
	CHECK(rep.fetched_refs > 0 && rep.ops > 0);
	CHECK(same_case(ag.a, ag.office, id));
	kill((pid_t)pid, SIGTERM);
	agency_close(&ag);
}

/* ---- errors ----------------------------------------------------------------------- */

static void test_unreachable(void)
{
	agency ag;
	cw_remote_report rep;
	cw_home *stranger;
	char missing[400], msg[600];

	if (!agency_open(&ag))
		return;
	snprintf(missing, sizeof(missing), "%s/no-such-hub.git", ag.dir);
	CHECK_CODE(cw_remote_pull(&rep, ag.a, missing, NULL, NULL), CW_ERROR);
	check_one_line(cw_error_last());
	CHECK(strstr(cw_error_last(), "could not reach the hub at") != NULL);
	CHECK_CODE(cw_remote_push(&rep, ag.a, missing, NULL, NULL), CW_ERROR);
	check_one_line(cw_error_last());
	CHECK_CODE(cw_remote_pull(&rep, ag.a, "git://127.0.0.1:1/x", NULL, NULL), CW_ERROR);
	check_one_line(cw_error_last());
	CHECK(strstr(cw_error_last(), "git://127.0.0.1:1/x") != NULL);
	CHECK_CODE(cw_remote_push(&rep, ag.a, "git://127.0.0.1:1/x", NULL, NULL), CW_ERROR);
	check_one_line(cw_error_last());
	/* A password in the URL never shows. */
	CHECK_CODE(cw_remote_pull(&rep, ag.a, "https://ana:s3cret@127.0.0.1:1/hub.git", NULL, NULL),
	           CW_ERROR);
	snprintf(msg, sizeof(msg), "%s", cw_error_last());
	check_one_line(msg);
	CHECK(strstr(msg, "s3cret") == NULL && strstr(msg, "ana:***@127.0.0.1") != NULL);
	CHECK_CODE(cw_remote_pull(&rep, ag.a, "", NULL, NULL), CW_EINVALID);
	check_no_staging(ag.a);
	/* A device that is not enrolled has nothing to check the hub by. */
	if ((stranger = node_new(&ag, "stranger", CW_ROLE_COORDINATOR)) != NULL) {
		CHECK_CODE(cw_remote_pull(&rep, stranger, ag.bare, NULL, NULL), CW_ENOTFOUND);
		cw_home_free(stranger);
	}
	agency_close(&ag);
}

const cw_test cw_tests[] = { { "push then pull by path and file://", test_push_then_pull },
	                     { "a second push or pull changes nothing", test_again_changes_nothing },
	                     { "concurrent offline edits converge", test_concurrent_edits_converge },
	                     { "a non-member holds only ciphertext", test_non_member_holds_ciphertext },
	                     { "a rewritten chain on the hub is refused", test_rewritten_chain_refused },
	                     { "ops waiting for another chain go in later", test_waiting_ops },
	                     { "the hub moved before sending: retry", test_retry_when_hub_moved_before_send },
	                     { "the hub refused the update: retry", test_retry_when_hub_refuses_update },
	                     { "unreachable hubs are one-line errors", test_unreachable },
	                     CW_TESTS_END };
