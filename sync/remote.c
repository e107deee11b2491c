/*
 * sync/remote.c - pull and push of the chains through a git hub.
 */
#include "remote.h"

#include "log.h"
#include "node/org.h"
#include "tombstone.h"
#include "util/error.h"

#include <git2.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CW_PREFIX "refs/cw/"
#define CASE_PREFIX "refs/cw/case/"
#define ROSTER_PREFIX "refs/cw/roster/"
#define STAGE_PREFIX "refs/cw-in/"
#define CW_PREFIX_LEN (sizeof(CW_PREFIX) - 1)
#define STAGE_PREFIX_LEN (sizeof(STAGE_PREFIX) - 1)
#define TICK_NS 100000000LL /* at most ten progress calls a second */
#define SHOWN_MAX 200
#define REASON_MAX 200
#define CRED_TRIES 3

#define STAGE_SIGN "Signing new changes"
#define STAGE_RECEIVE "Receiving from the hub"
#define STAGE_TAKE "Taking in the changes"
#define STAGE_SEND "Sending to the hub"

/* The hub's refs land in the staging namespace, never on the log's own. */
static char *const fetch_specs[] = { "+refs/cw/case/*:refs/cw-in/case/*",
	                             "+refs/cw/roster/*:refs/cw-in/roster/*",
	                             "+refs/cw/erased/*:refs/cw-in/erased/*" };

/* One pull or push: progress, credentials, the hub's answers. */
typedef struct {
	cw_progress_fn fn;
	void *ctx;
	char stage[32];
	struct timespec last;
	uint64_t last_done, last_total;
	unsigned cred_tries;   /* credentials asked on this connection */
	char shown[SHOWN_MAX]; /* the URL as messages show it */
	size_t accepted;       /* refs the hub took in the last push */
	size_t moved;          /* refs it refused because they moved meanwhile */
	size_t refused;        /* refs it refused for another reason */
	char refused_ref[SHOWN_MAX], refused_why[REASON_MAX];
	char moved_ref[SHOWN_MAX], moved_why[REASON_MAX]; /* the last ref refused as moved, and why */
} session;

/* A copy of s without control characters (one-line messages). */
static void one_line(char *out, size_t cap, const char *s)
{
	size_t i;

	snprintf(out, cap, "%s", s);
	for (i = 0; out[i]; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	while (i > 0 && out[i - 1] == ' ')
		out[--i] = '\0';
}

/* The URL with the password of "scheme://user:password@host" hidden. */
static void shown_url(char out[SHOWN_MAX], const char *url)
{
	const char *auth = strstr(url, "://"), *at, *slash, *colon;
	char tmp[SHOWN_MAX];

	if (auth) {
		auth += 3;
		at = strchr(auth, '@');
		slash = strchr(auth, '/');
		if (at && (!slash || at < slash) &&
		    (colon = memchr(auth, ':', (size_t)(at - auth))) != NULL) {
			snprintf(tmp, sizeof(tmp), "%.*s:***%s", (int)(colon - url), url, at);
			one_line(out, SHOWN_MAX, tmp);
			return;
		}
	}
	one_line(out, SHOWN_MAX, url);
}

/* Our words, the hub's address, then libgit2's own message. */
static int fail_git(int code, const char *what, const session *s)
{
	const git_error *e = git_error_last();
	char msg[REASON_MAX];

	one_line(msg, sizeof(msg), e && e->message ? e->message : "unknown libgit2 error");
	return cw_error(code, "%s %s: %s", what, s->shown, msg);
}

/* ---- progress and callbacks ---------------------------------------------------- */

static long long elapsed_ns(const struct timespec *a, const struct timespec *b)
{
	return (long long)(b->tv_sec - a->tv_sec) * 1000000000LL + (long long)(b->tv_nsec - a->tv_nsec);
}

/* A new stage always reaches the caller; within a stage, at most one call
 * per TICK_NS, plus those that bring news: the total becoming known, the
 * work being complete. */
static void report(session *s, const char *stage, uint64_t done, uint64_t total)
{
	struct timespec now;

	if (s->fn == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (strcmp(s->stage, stage) == 0) {
		int news = total != s->last_total || (total > 0 && done == total);

		if (done == s->last_done && total == s->last_total)
			return;
		if (!news && elapsed_ns(&s->last, &now) < TICK_NS)
			return;
	}
	snprintf(s->stage, sizeof(s->stage), "%s", stage);
	s->last = now;
	s->last_done = done;
	s->last_total = total;
	s->fn(s->ctx, stage, done, total);
}

static int on_fetch_progress(const git_indexer_progress *stats, void *payload)
{
	report(payload, STAGE_RECEIVE, stats->received_objects, stats->total_objects);
	return 0;
}

static int on_push_progress(unsigned int current, unsigned int total, size_t bytes, void *payload)
{
	(void)bytes;
	report(payload, STAGE_SEND, current, total);
	return 0;
}

/* Refusals that mean "someone else moved this ref meanwhile": receive-pack
 * says non-fast-forward, fetch first, failed to update/lock; libgit2's
 * local transport reports the ref store's own words. */
static int moved_meanwhile(const char *status)
{
	static const char *const words[] = { "non-fast-forward",
		                             "fetch first",
		                             "failed to update ref",
		                             "lock",
		                             "already exists",
		                             "stale",
		                             "expected",
		                             "does not match" };
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(status, words[i]) != NULL)
			return 1;
	return 0;
}

static int on_push_update(const char *refname, const char *status, void *payload)
{
	session *s = payload;

	if (status == NULL) {
		s->accepted++;
	} else if (moved_meanwhile(status)) {
		s->moved++;
		one_line(s->moved_ref, sizeof(s->moved_ref), refname);
		one_line(s->moved_why, sizeof(s->moved_why), status);
	} else if (s->refused++ == 0) {
		one_line(s->refused_ref, sizeof(s->refused_ref), refname);
		one_line(s->refused_why, sizeof(s->refused_why), status);
	}
	return 0;
}

/* ssh: the user from the URL (else the login name, as ssh does) and a key
 * from the agent. https: libgit2 uses the URL's user and password itself. */
static int on_credentials(git_credential **out, const char *url, const char *user, unsigned int allowed,
                          void *payload)
{
	session *s = payload;
	const char *login = getenv("USER");

	(void)url;
	if (user == NULL || *user == '\0')
		user = login && *login ? login : "git";
	if (s->cred_tries++ >= CRED_TRIES)
		return GIT_PASSTHROUGH;
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user);
	if (allowed & GIT_CREDENTIAL_SSH_KEY)
		return git_credential_ssh_key_from_agent(out, user);
	return GIT_PASSTHROUGH;
}

static void callbacks_init(git_remote_callbacks *cb, session *s)
{
	cb->credentials = on_credentials;
	cb->transfer_progress = on_fetch_progress;
	cb->push_transfer_progress = on_push_progress;
	cb->push_update_reference = on_push_update;
	cb->payload = s;
}

/* An anonymous remote for url. The hub's address is used as given: no
 * url.<base>.insteadOf rewriting (libgit2 1.5 also leaks memory there). */
static int remote_new(git_remote **out, git_repository *repo, const char *url, const session *s)
{
	git_remote_create_options opts;

	git_remote_create_options_init(&opts, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	opts.repository = repo;
	opts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (git_remote_create_with_opts(out, url, &opts) < 0)
		return fail_git(CW_ERROR, "could not use the hub address", s);
	return CW_OK;
}

/* ---- refs ------------------------------------------------------------------------ */

typedef struct {
	cw_bundle_ref *v; /* named refs/cw/..., sorted by name */
	size_t n;
} heads;

static void heads_dispose(heads *hd)
{
	free(hd->v);
	hd->v = NULL;
	hd->n = 0;
}

static int cmp_ref_name(const void *a, const void *b)
{
	return strcmp(((const cw_bundle_ref *)a)->name, ((const cw_bundle_ref *)b)->name);
}

static const cw_bundle_ref *heads_find(const heads *hd, const char *name)
{
	cw_bundle_ref key;

	if (hd->n == 0 || strlen(name) >= sizeof(key.name))
		return NULL;
	snprintf(key.name, sizeof(key.name), "%s", name);
	return bsearch(&key, hd->v, hd->n, sizeof(*hd->v), cmp_ref_name);
}

/* Remove every ref under the staging namespace, whatever its kind. */
static int clear_staging(git_repository *repo, const session *s)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	char **names = NULL, **grown;
	size_t n = 0, alloc = 0, i;
	int rc, error = CW_OK;

	if (git_reference_iterator_new(&it, repo) < 0) {
		error = fail_git(CW_ERROR, "could not list what came from the hub at", s);
		goto done;
	}
	while ((rc = git_reference_next(&ref, it)) == 0) {
		const char *name = git_reference_name(ref);

		if (strncmp(name, STAGE_PREFIX, STAGE_PREFIX_LEN) == 0) {
			if (n == alloc) {
				alloc = alloc ? 2 * alloc : 64;
				if ((grown = realloc(names, alloc * sizeof(*names))) == NULL) {
					error = cw_error_nomem();
					goto done;
				}
				names = grown;
			}
			if ((names[n] = strdup(name)) == NULL) {
				error = cw_error_nomem();
				goto done;
			}
			n++;
		}
		git_reference_free(ref);
		ref = NULL;
	}
	if (rc != GIT_ITEROVER) {
		error = fail_git(CW_ERROR, "could not list what came from the hub at", s);
		goto done;
	}
	for (i = 0; i < n; i++)
		if ((rc = git_reference_remove(repo, names[i])) < 0 && rc != GIT_ENOTFOUND) {
			error = fail_git(CW_ERROR, "could not clear what came from the hub at", s);
			goto done;
		}
done:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	git_reference_free(ref);
	git_reference_iterator_free(it);
	return error;
}

/* ---- pull ----------------------------------------------------------------------- */

/* Fetch the hub's refs/cw/case/ and refs/cw/roster/ into the staging
 * namespace. */
static int fetch(session *s, git_repository *repo, const char *url)
{
	git_remote *remote = NULL;
	git_fetch_options opts;
	git_strarray specs = { (char **)fetch_specs, sizeof(fetch_specs) / sizeof(fetch_specs[0]) };
	int error = CW_OK;

	git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
	callbacks_init(&opts.callbacks, s);
	s->cred_tries = 0;
	opts.proxy_opts.type = GIT_PROXY_AUTO; /* http.proxy, https_proxy... */
	opts.prune = GIT_FETCH_NO_PRUNE;
	opts.update_fetchhead = 0;
	opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	if ((error = remote_new(&remote, repo, url, s)) < 0)
		goto done;
	if (git_remote_connect(remote, GIT_DIRECTION_FETCH, &opts.callbacks, &opts.proxy_opts, NULL) < 0) {
		error = fail_git(CW_ERROR, "could not reach the hub at", s);
		goto done;
	}
	report(s, STAGE_RECEIVE, 0, 0);
	if (git_remote_download(remote, &specs, &opts) < 0 ||
	    git_remote_update_tips(remote, &opts.callbacks, 0, GIT_REMOTE_DOWNLOAD_TAGS_NONE,
	                           "caseway: pull") < 0) {
		error = fail_git(CW_ERROR, "could not receive from the hub at", s);
		goto done;
	}
done:
	if (remote)
		git_remote_disconnect(remote);
	git_remote_free(remote);
	return error;
}

/* What the hub holds that this node does not: damaged or forged is a
 * failed verification, named as coming from the hub. */
static int refuse(int error, const session *s)
{
	if (error == CW_EINVALID || error == CW_EVERIFY)
		return cw_error(CW_EVERIFY, "refused what the hub at %s holds: %s", s->shown,
		                cw_error_last());
	return error;
}

/* How many of the hub's heads this node lacks (not held, nor an ancestor
 * of what it holds). */
static int count_new(size_t *out, cw_log *log, const heads *hub)
{
	heads mine = { NULL, 0 };
	size_t i;
	int error, behind;

	*out = 0;
	if ((error = cw_log_refs(&mine.v, &mine.n, log, CW_PREFIX)) < 0)
		return error;
	for (i = 0; i < hub->n; i++) {
		const cw_bundle_ref *have = heads_find(&mine, hub->v[i].name);

		if (have && strcmp(have->oid, hub->v[i].oid) == 0)
			continue;
		if (have && cw_log_is_ancestor(&behind, log, hub->v[i].oid, have->oid) == CW_OK && behind)
			continue;
		cw_error_clear();
		(*out)++;
	}
	heads_dispose(&mine);
	return CW_OK;
}

/* Leave out of hub the chains of revoked devices that go past what the
 * agency accepts: anyone with write access to the hub can put them there,
 * and they must not stop the rest from coming in. A head refused before
 * (kept in the store's meta) is left out quietly; a new one is told once,
 * in why (empty when there is none). */
static int drop_revoked(heads *hub, cw_log *log, cw_store *st, const cw_keyring *kr, char *why, size_t cap)
{
	size_t i, kept = 0;
	int error;

	for (i = 0; i < hub->n; i++) {
		cw_buf seen = CW_BUF_INIT;
		char key[300], why_now[300];
		int told;

		if (cw_log_check_revoked(log, kr, &hub->v[i]) == CW_OK) {
			hub->v[kept++] = hub->v[i];
			continue;
		}
		snprintf(why_now, sizeof(why_now), "%s", cw_error_last());
		snprintf(key, sizeof(key), "cw-refused:%s", hub->v[i].name);
		error = cw_store_meta_get(st, key, &seen);
		told = error == CW_OK && seen.len == strlen(hub->v[i].oid) &&
		       memcmp(seen.data, hub->v[i].oid, seen.len) == 0;
		cw_buf_dispose(&seen);
		cw_error_clear();
		if (told)
			continue;
		if (!why[0])
			snprintf(why, cap, "%s", why_now);
		if ((error = cw_store_meta_set(st, key, hub->v[i].oid, strlen(hub->v[i].oid))) < 0)
			return error;
	}
	hub->n = kept;
	return CW_OK;
}

/* The erasures of the hub's tombstones, in the take's transaction. */
static int erase_in_take(cw_store *st, void *ctx)
{
	return cw_tombstone_apply(st, ctx);
}

/* Fetch, then take the roster versions and the chains. hub_out: the hub's
 * heads as fetched (refs/cw/ names). The staging refs are gone after. */
static int pull_round(cw_remote_report *rep, session *s, cw_home *h, cw_log *log, git_repository *repo,
                      const char *url, heads *hub_out)
{
	cw_store *st = cw_home_store(h);
	const cw_keys *me = cw_home_keys(h);
	cw_keyring kr = { 0, NULL, NULL };
	heads hub = { NULL, 0 };
	size_t i, fresh = 0, taken, ops = 0;
	char revoked_why[300] = "", erased_why[512] = "";
	cw_tombstone_set ts = { NULL, 0, 0 };
	cw_log_hook erase_hook = { erase_in_take, &ts };
	cw_bundle_ref *tips = NULL;
	size_t ntips = 0, ignored = 0;
	int waiting = 0, error;

	if ((error = clear_staging(repo, s)) < 0 || (error = fetch(s, repo, url)) < 0 ||
	    (error = cw_log_refs(&hub.v, &hub.n, log, STAGE_PREFIX)) < 0)
		goto done;
	for (i = 0; i < hub.n; i++) {
		char *name = hub.v[i].name;

		/* refs/cw-in/X -> refs/cw/X (shorter: it fits) */
		memmove(name + CW_PREFIX_LEN, name + STAGE_PREFIX_LEN, strlen(name + STAGE_PREFIX_LEN) + 1);
		memcpy(name, CW_PREFIX, CW_PREFIX_LEN);
	}
	if (hub.n > 1)
		qsort(hub.v, hub.n, sizeof(*hub.v), cmp_ref_name);
	if ((error = count_new(&fresh, log, &hub)) < 0)
		goto done;
	rep->fetched_refs += fresh;
	report(s, STAGE_TAKE, 0, 0);
	/* The roster first: the authors may have been enrolled after us. */
	if ((error = cw_log_roster_take(&taken, log, h, hub.v, hub.n)) < 0 ||
	    (error = cw_org_keyring(&kr, h)) < 0) {
		error = refuse(error, s);
		goto done;
	}
	if ((error = drop_revoked(&hub, log, st, &kr, revoked_why, sizeof(revoked_why))) < 0)
		goto done;
	/* Erasures: checked before anything is taken, applied with the take;
	 * the chains of erased cases stay out. One without the right (anyone
	 * with write access to the hub can put it there) is left out and told
	 * once, after the rest is taken. */
	if ((error = cw_tombstone_check(&ts, erased_why, sizeof(erased_why), h, log, &kr, hub.v, hub.n)) <
	        0 ||
	    (error = cw_tombstone_filter(&tips, &ntips, &ignored, st, &ts, hub.v, hub.n)) < 0) {
		error = refuse(error, s);
		goto done;
	}
	error = cw_log_take(&ops, log, st, &kr, me, tips, ntips, ts.n ? &erase_hook : NULL);
	if (error == CW_EWAIT) {
		cw_error_clear();
		waiting = 1;
		error = CW_OK;
	}
	if (error < 0) {
		error = refuse(error, s);
		goto done;
	}
	rep->ops += ops;
	rep->waiting_ops = waiting;
	rep->erased += ts.n;
	rep->left_out = ignored;
	/* The objects of dropped or left-out chains go once the staging refs,
	 * which still name them, are cleared. */
	if ((ignored && (error = cw_log_prune_want(log)) < 0) || (error = clear_staging(repo, s)) < 0 ||
	    (error = ts.n ? cw_tombstone_finish(h, log) : cw_log_prune_pending(log)) < 0)
		goto done;
	if (revoked_why[0] || erased_why[0]) {
		error = cw_error(CW_EVERIFY, "%s%s%s", revoked_why,
		                 revoked_why[0] && erased_why[0] ? "; " : "", erased_why);
		error = refuse(error, s);
		goto done;
	}
	if (hub_out) {
		*hub_out = hub;
		hub.v = NULL;
	}
done:
	/* Always leave the staging namespace empty; the first error wins. */
	if (error < 0) {
		char why[512];

		snprintf(why, sizeof(why), "%s", cw_error_last());
		(void)clear_staging(repo, s);
		cw_error(error, "%s", why);
	} else if ((error = clear_staging(repo, s)) == CW_OK && fresh >= CW_LOG_PACK_REFS_AT) {
		error = cw_log_pack_refs(log);
	}
	cw_keyring_dispose(&kr);
	heads_dispose(&hub);
	free(tips);
	cw_tombstone_set_dispose(&ts);
	return error;
}

/* The newest roster, the log, and a second handle on the log's repository
 * for the transfers. A device that is not enrolled has no agency to check
 * the hub by: CW_ENOTFOUND. */
static int open_log(cw_roster **roster_out, cw_log **log_out, git_repository **repo_out, cw_home *h,
                    const session *s)
{
	int error;

	if ((error = cw_org_roster(roster_out, h)) < 0 || (error = cw_log_open(log_out, cw_home_dir(h))) < 0)
		return error;
	if (git_repository_open_bare(repo_out, cw_log_path(*log_out)) < 0)
		return fail_git(CW_ERROR, "could not open the git log to sync with the hub at", s);
	return CW_OK;
}

static int session_init(session *s, cw_remote_report *rep, const char *url, cw_progress_fn progress,
                        void *ctx)
{
	memset(rep, 0, sizeof(*rep));
	memset(s, 0, sizeof(*s));
	s->fn = progress;
	s->ctx = ctx;
	if (url == NULL || *url == '\0')
		return cw_error(CW_EINVALID, "no hub address given");
	shown_url(s->shown, url);
	return CW_OK;
}

int cw_remote_pull(cw_remote_report *rep, cw_home *h, const char *url, cw_progress_fn progress, void *ctx)
{
	session s;
	cw_roster *roster = NULL;
	cw_log *log = NULL;
	git_repository *repo = NULL;
	int error;

	if ((error = session_init(&s, rep, url, progress, ctx)) < 0 ||
	    (error = open_log(&roster, &log, &repo, h, &s)) < 0)
		goto done;
	error = pull_round(rep, &s, h, log, repo, url, NULL);
done:
	git_repository_free(repo);
	cw_log_free(log);
	cw_roster_free(roster);
	return error;
}

/* ---- push ----------------------------------------------------------------------- */

typedef struct {
	char **v; /* "refs/cw/X:refs/cw/X", never forced */
	size_t n;
} specs_t;

static void specs_dispose(specs_t *sp)
{
	size_t i;

	for (i = 0; i < sp->n; i++)
		free(sp->v[i]);
	free(sp->v);
	sp->v = NULL;
	sp->n = 0;
}

/* Every local chain and roster version the hub lacks or holds at an
 * ancestor. Where the hub is ahead, the pull before took it. */
static int plan_push(specs_t *out, cw_log *log, const heads *hub)
{
	heads mine = { NULL, 0 };
	size_t i, len;
	int error, behind;

	memset(out, 0, sizeof(*out));
	if ((error = cw_log_refs(&mine.v, &mine.n, log, CW_PREFIX)) < 0)
		goto done;
	if (mine.n && (out->v = calloc(mine.n, sizeof(*out->v))) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	for (i = 0; i < mine.n; i++) {
		const char *name = mine.v[i].name;
		const cw_bundle_ref *there;

		if (strncmp(name, CASE_PREFIX, sizeof(CASE_PREFIX) - 1) != 0 &&
		    strncmp(name, ROSTER_PREFIX, sizeof(ROSTER_PREFIX) - 1) != 0 &&
		    strncmp(name, CW_LOG_ERASED_PREFIX, sizeof(CW_LOG_ERASED_PREFIX) - 1) != 0)
			continue;
		/* a tombstone never moves: the hub's, if any, stays */
		if (strncmp(name, CW_LOG_ERASED_PREFIX, sizeof(CW_LOG_ERASED_PREFIX) - 1) == 0 &&
		    heads_find(hub, name) != NULL)
			continue;
		if ((there = heads_find(hub, name)) != NULL) {
			if (strcmp(there->oid, mine.v[i].oid) == 0)
				continue;
			if ((error = cw_log_is_ancestor(&behind, log, there->oid, mine.v[i].oid)) < 0)
				goto done;
			if (!behind)
				continue;
		}
		len = 2 * strlen(name) + 2;
		if ((out->v[out->n] = malloc(len)) == NULL) {
			error = cw_error_nomem();
			goto done;
		}
		snprintf(out->v[out->n++], len, "%s:%s", name, name);
	}
	error = CW_OK;
done:
	if (error < 0)
		specs_dispose(out);
	heads_dispose(&mine);
	return error;
}

/* Push once. *moved = 1 when the hub refused because a ref moved since the
 * pull (the client sees it at negotiation, the hub when it updates). */
static int push_once(int *moved, session *s, git_repository *repo, const char *url, const specs_t *sp)
{
	git_remote *remote = NULL;
	git_push_options opts;
	git_strarray arr = { sp->v, sp->n };
	int rc, error = CW_OK;

	*moved = 0;
	git_push_options_init(&opts, GIT_PUSH_OPTIONS_VERSION);
	s->accepted = s->moved = s->refused = 0;
	s->cred_tries = 0;
	callbacks_init(&opts.callbacks, s);
	opts.proxy_opts.type = GIT_PROXY_AUTO;
	if ((error = remote_new(&remote, repo, url, s)) < 0)
		goto done;
	report(s, STAGE_SEND, 0, 0);
	rc = git_remote_push(remote, &arr, &opts);
	if (rc == GIT_ENONFASTFORWARD) {
		*moved = 1;
		goto done;
	}
	if (rc < 0) {
		error = fail_git(CW_ERROR, "could not send to the hub at", s);
		goto done;
	}
	if (s->refused) {
		error = cw_error(CW_ERROR, "the hub at %s refused %s: %s", s->shown, s->refused_ref,
		                 s->refused_why);
		goto done;
	}
	*moved = s->moved > 0;
done:
	git_remote_free(remote);
	return error;
}

/* 1 when sp sends a tombstone (the hub must hold it before the chains of
 * its case are deleted there: one more round). */
static int pushes_tombstone(const specs_t *sp)
{
	size_t i;

	for (i = 0; i < sp->n; i++)
		if (strncmp(sp->v[i], CW_LOG_ERASED_PREFIX, sizeof(CW_LOG_ERASED_PREFIX) - 1) == 0)
			return 1;
	return 0;
}

/* Delete on the hub the chains of the cases erased here whose tombstone the
 * hub holds, so a `git gc` there removes their ciphertext. A hub that
 * refuses deletions keeps them: counted in rep->hub_kept, not an error. */
static int push_erasures(cw_remote_report *rep, session *s, cw_store *st, git_repository *repo,
                         const char *url, const heads *hub)
{
	specs_t del = { NULL, 0 };
	uint8_t cid[CW_ID_BYTES];
	char tomb[CW_LOG_ERASED_REF_LEN + 1], hex[2 * CW_ID_BYTES + 1];
	size_t i, len;
	int moved, erased, error = CW_OK;

	if (hub->n && (del.v = calloc(hub->n, sizeof(*del.v))) == NULL)
		return cw_error_nomem();
	for (i = 0; i < hub->n; i++) {
		if (!cw_log_chain_case(cid, NULL, hub->v[i].name))
			continue;
		cw_id_hex(hex, cid);
		snprintf(tomb, sizeof(tomb), "%s%s", CW_LOG_ERASED_PREFIX, hex);
		if ((error = cw_erase_is(&erased, st, cid)) < 0)
			goto done;
		if (!erased || heads_find(hub, tomb) == NULL)
			continue;
		len = strlen(hub->v[i].name) + 2;
		if ((del.v[del.n] = malloc(len)) == NULL) {
			error = cw_error_nomem();
			goto done;
		}
		snprintf(del.v[del.n++], len, ":%s", hub->v[i].name);
	}
	if (del.n == 0)
		goto done;
	if (push_once(&moved, s, repo, url, &del) < 0 || moved) {
		cw_error_clear();
		rep->hub_kept += del.n;
	} else {
		rep->hub_dropped += s->accepted;
	}
done:
	specs_dispose(&del);
	return error;
}

int cw_remote_push(cw_remote_report *rep, cw_home *h, const char *url, cw_progress_fn progress, void *ctx)
{
	session s;
	cw_log *log = NULL;
	git_repository *repo = NULL;
	cw_roster *roster = NULL;
	heads hub = { NULL, 0 };
	specs_t sp = { NULL, 0 };
	int round, moved, error;

	if ((error = session_init(&s, rep, url, progress, ctx)) < 0 ||
	    (error = open_log(&roster, &log, &repo, h, &s)) < 0)
		goto done;
	report(&s, STAGE_SIGN, 0, 0);
	if ((error = cw_log_commit(&rep->commits, log, cw_home_store(h), cw_home_keys(h), roster)) < 0 ||
	    (error = cw_log_roster_publish(log, h)) < 0)
		goto done;
	for (round = 0; round < CW_REMOTE_ROUNDS; round++) {
		heads_dispose(&hub);
		specs_dispose(&sp);
		if ((error = pull_round(rep, &s, h, log, repo, url, &hub)) < 0 ||
		    (error = plan_push(&sp, log, &hub)) < 0)
			goto done;
		if (sp.n == 0) {
			/* the hub holds everything this node holds */
			error = push_erasures(rep, &s, cw_home_store(h), repo, url, &hub);
			goto done;
		}
		error = push_once(&moved, &s, repo, url, &sp);
		rep->pushed_refs += s.accepted;
		if (error < 0 || (!moved && !pushes_tombstone(&sp)))
			goto done;
		rep->retries += (size_t)moved;
	}
	/* a lock that stays through every round is no push in flight but one
	 * that was interrupted on the hub's side (a hub on a path or a share) */
	if (strstr(s.moved_why, "lock") != NULL)
		error = cw_error(
		    CW_ERROR,
		    "the hub's repository keeps %s locked: if no other sync is running there, an "
		    "interrupted one left %s.lock in it; remove that file and sync again",
		    s.moved_ref, s.moved_ref);
	else
		error = cw_error(CW_ERROR, "the hub kept changing while pushing; try again");
done:
	specs_dispose(&sp);
	heads_dispose(&hub);
	cw_roster_free(roster);
	git_repository_free(repo);
	cw_log_free(log);
	return error;
}
