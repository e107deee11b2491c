/* cli/cmd_sync.c - peers, sharing, bundles, git remotes, sync status. */
#include "cli.h"
#include "crypto/armor.h"
#include "node/case.h"
#include "node/handoff.h"
#include "node/org.h"
#include "node/peer.h"
#include "sync/exchange.h"
#include "sync/log.h"
#include "sync/remote.h"
#include "util/error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOPTS(o) (sizeof(o) / sizeof((o)[0]))
#define PACKAGE_CAP ((size_t)80 << 20)

/* ---- progress on stderr ----------------------------------------------------------- */

typedef struct {
	char stage[64];
	int last_pct;
	time_t last;
} progress_state;

static void progress(void *ctx, const char *stage, uint64_t done, uint64_t total)
{
	progress_state *p = ctx;
	int pct = total ? (int)(done * 100 / total) : -1;
	/* One moving line, on a terminal only: in scripts and logs stderr keeps to
	 * the one error line. */
	if (cli_g.quiet || cli_g.json || !isatty(2))
		return;
	if (strcmp(p->stage, stage) != 0) {
		if (p->stage[0])
			fputc('\n', stderr);
		snprintf(p->stage, sizeof(p->stage), "%s", stage);
		p->last_pct = -2;
	}
	if (pct == p->last_pct)
		return;
	p->last_pct = pct;
	if (pct < 0)
		fprintf(stderr, "\r%s...", stage);
	else
		fprintf(stderr, "\r%s: %d%%", stage, pct);
	if (pct == 100)
		fputc('\n', stderr);
	fflush(stderr);
}

static void progress_end(progress_state *p)
{
	if (isatty(2) && p->stage[0] && p->last_pct != 100 && !cli_g.quiet && !cli_g.json)
		fputc('\n', stderr);
}

/* ---- peers ------------------------------------------------------------------------- */

static int peer_add(int argc, char **argv)
{
	cli_opt opts[] = { { "--cert", 1, NULL }, { "--url", 1, NULL } };
	const char *pos[1], *cert_path, *url;
	const uint8_t *cert_bytes, *roster_bytes;
	size_t npos, cert_len, roster_len;
	cw_buf in = CW_BUF_INIT, pkg = CW_BUF_INIT;
	cw_home *h = NULL;
	cw_roster *r = NULL;
	cw_cert cert;
	int error;

	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 1, &npos)) < 0)
		goto done;
	cert_path = cli_opt_value(opts, NOPTS(opts), "--cert");
	url = cli_opt_value(opts, NOPTS(opts), "--url");
	if (npos != 1 || cert_path == NULL) {
		error = cw_error(CW_EINVALID, "usage: caseway peer add NAME --cert CERT [--url URL]");
		goto done;
	}
	if ((error = cli_read_input(&in, cert_path, PACKAGE_CAP)) < 0)
		goto done;
	if ((error = cw_armor_decode(&pkg, "cert", in.data, in.len)) < 0 ||
	    (error = cw_enrolment_split(&cert_bytes, &cert_len, &roster_bytes, &roster_len, pkg.data,
	                                pkg.len)) < 0 ||
	    (error = cw_cert_parse(&cert, cert_bytes, cert_len)) < 0) {
		error = cw_error(CW_EVERIFY,
		                 "%s is not a device certificate from `caseway whoami --cert`: %s", cert_path,
		                 cw_error_last());
		goto done;
	}
	if ((error = cli_open_home(&h)) < 0)
		goto done;
	/* The peer's roster may be newer than ours. */
	if (cw_org_accept_roster(h, roster_bytes, roster_len) < 0)
		cw_error_clear();
	if ((error = cw_org_roster(&r, h)) < 0 ||
	    (error = cw_peer_add(cw_home_store(h), r, pos[0], &cert, url ? url : "")) < 0)
		goto done;
	if (cli_g.json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "name", pos[0]);
		cJSON_AddStringToObject(doc, "device", cert.device_id);
		cJSON_AddStringToObject(doc, "role", cw_role_name(cert.role));
		cJSON_AddStringToObject(doc, "url", url ? url : "");
		cli_json_print(doc);
	}
	cli_say("Peer %s added: %s, %s (%s)%s%s", pos[0], cert.name, cw_role_name(cert.role), cert.device_id,
	        url ? ", reached at " : "", url ? url : "");
done:
	cw_roster_free(r);
	cw_home_free(h);
	cw_buf_dispose(&in);
	cw_buf_dispose(&pkg);
	return error;
}

static int print_peer(const cw_peer *p, void *ctx)
{
	cJSON *arr = ctx;
	char sent[32] = "never", recv[32] = "never";

	if (p->sent_at)
		cli_time(sent, p->sent_at);
	if (p->received_at)
		cli_time(recv, p->received_at);
	if (arr) {
		cJSON *d = cJSON_CreateObject();

		cJSON_AddStringToObject(d, "name", p->name);
		cJSON_AddStringToObject(d, "device", p->device_id);
		cJSON_AddStringToObject(d, "role", cw_role_name(p->role));
		cJSON_AddStringToObject(d, "url", p->url);
		cJSON_AddNumberToObject(d, "sent_seq", (double)p->sent_seq);
		cJSON_AddNumberToObject(d, "received_seq", (double)p->received_seq);
		cJSON_AddItemToArray(arr, d);
		return 0;
	}
	printf("%-20s  %-11s  %-16s  %-20s  %-20s  %s\n", p->name, cw_role_name(p->role), p->device_id, sent,
	       recv, p->url[0] ? p->url : "-");
	return 0;
}

static int peer_list(int argc, char **argv)
{
	const char *pos[1];
	size_t npos;
	cw_home *h = NULL;
	cJSON *doc = NULL, *arr = NULL;
	int error;

	if ((error = cli_parse(argc, argv, NULL, 0, pos, 0, &npos)) < 0 || (error = cli_open_home(&h)) < 0)
		goto done;
	if (cli_g.json) {
		doc = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(doc, "peers");
	} else {
		printf("%-20s  %-11s  %-16s  %-20s  %-20s  %s\n", "PEER", "ROLE", "DEVICE", "LAST SENT",
		       "LAST RECEIVED", "ADDRESS");
	}
	if ((error = cw_peer_each(cw_home_store(h), print_peer, arr)) < 0)
		goto done;
	if (doc) {
		cli_json_print(doc);
		doc = NULL;
	}
done:
	cJSON_Delete(doc);
	cw_home_free(h);
	return error;
}

int cmd_peer(int argc, char **argv)
{
	if (argc < 1)
		return cw_error(CW_EINVALID, "usage: caseway peer add|list ...");
	if (strcmp(argv[0], "add") == 0)
		return peer_add(argc - 1, argv + 1);
	if (strcmp(argv[0], "list") == 0)
		return peer_list(argc - 1, argv + 1);
	return cw_error(CW_EINVALID, "unknown peer command '%s' (add, list)", argv[0]);
}

/* ---- sharing ---------------------------------------------------------------------- */

/* share / unshare: parse "CASE --with PEER", open the node, find both. */
static int case_and_peer(cw_home **h, uint8_t case_id[CW_ID_BYTES], cw_peer *p, int argc, char **argv,
                         const char *verb)
{
	cli_opt opts[] = { { "--with", 1, NULL } };
	const char *pos[1], *with;
	size_t npos;
	int error;

	*h = NULL;
	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 1, &npos)) < 0)
		return error;
	if (npos != 1 || (with = cli_opt_value(opts, NOPTS(opts), "--with")) == NULL)
		return cw_error(CW_EINVALID, "usage: caseway %s CASE --with PEER", verb);
	if ((error = cli_open_home(h)) < 0 ||
	    (error = cw_case_find(case_id, cw_home_store(*h), pos[0])) < 0 ||
	    (error = cw_peer_find(p, cw_home_store(*h), with)) < 0)
		return error;
	return CW_OK;
}

int cmd_share(int argc, char **argv)
{
	cw_home *h = NULL;
	cw_peer p;
	uint8_t case_id[CW_ID_BYTES];
	char hex[2 * CW_ID_BYTES + 1];
	int added = 0, error;

	if ((error = case_and_peer(&h, case_id, &p, argc, argv, "share")) < 0 ||
	    (error = cw_case_share(&added, cw_home_store(h), cw_home_keys(h), case_id, p.device_id, p.name,
	                           cw_role_name(p.role))) < 0)
		goto done;
	cw_id_hex(hex, case_id);
	if (cli_g.json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "case", hex);
		cJSON_AddStringToObject(doc, "peer", p.name);
		cJSON_AddBoolToObject(doc, "added", added);
		cli_json_print(doc);
	}
	if (added)
		cli_say("Case %.8s is now shared with %s; they get it with the next sync.", hex, p.name);
	else
		cli_say("Case %.8s was already shared with %s.", hex, p.name);
done:
	cw_home_free(h);
	return error;
}

int cmd_unshare(int argc, char **argv)
{
	cw_home *h = NULL;
	cw_cert me;
	cw_peer p;
	uint8_t case_id[CW_ID_BYTES];
	uint32_t gen = 0;
	char hex[2 * CW_ID_BYTES + 1];
	int error;

	if ((error = case_and_peer(&h, case_id, &p, argc, argv, "unshare")) < 0)
		goto done;
	/* a new key generation is taken only from a coordinator or a hub */
	if (cw_org_cert(&me, h) == CW_OK && me.role != CW_ROLE_COORDINATOR && me.role != CW_ROLE_HUB) {
		error = cw_error(CW_ERROR, "only a coordinator or head office can stop sharing a case");
		goto done;
	}
	cw_error_clear();
	if ((error = cw_case_unshare(&gen, cw_home_store(h), cw_home_keys(h), case_id, p.device_id)) < 0)
		goto done;
	cw_id_hex(hex, case_id);
	if (cli_g.json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "case", hex);
		cJSON_AddStringToObject(doc, "peer", p.name);
		cJSON_AddNumberToObject(doc, "key_generation", gen);
		cli_json_print(doc);
	}
	cli_say("Case %.8s is no longer shared with %s. A new case key protects what is written from now "
	        "on; %s keeps what it already received.",
	        hex, p.name, p.name);
done:
	cw_home_free(h);
	return error;
}

/* ---- bundles ---------------------------------------------------------------------- */

static int parse_size(uint64_t *out, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return cw_error(CW_EINVALID, "--max-bytes needs a number of bytes, not '%s'", s);
	if (*end == 'k' || *end == 'K')
		v *= 1024, end++;
	else if (*end == 'm' || *end == 'M')
		v *= 1024 * 1024, end++;
	if (*end)
		return cw_error(CW_EINVALID, "--max-bytes needs a number of bytes, not '%s'", s);
	*out = v;
	return CW_OK;
}

static int sync_export(int argc, char **argv)
{
	cli_opt opts[] = { { "--to", 1, NULL }, { "-o", 1, NULL }, { "--max-bytes", 1, NULL } };
	const char *pos[1], *to, *out, *max;
	size_t npos;
	uint64_t max_bytes = 0;
	cw_home *h = NULL;
	cw_export_report rep;
	progress_state ps = { "", -2, 0 };
	int error;

	if ((error = cli_parse(argc, argv, opts, NOPTS(opts), pos, 0, &npos)) < 0)
		goto done;
	to = cli_opt_value(opts, NOPTS(opts), "--to");
	out = cli_opt_value(opts, NOPTS(opts), "-o");
	max = cli_opt_value(opts, NOPTS(opts), "--max-bytes");
	if (to == NULL || out == NULL) {
		error = cw_error(CW_EINVALID, "usage: caseway sync export --to PEER -o FILE [--max-bytes N]");
		goto done;
	}
	if ((max && (error = parse_size(&max_bytes, max)) < 0) || (error = cli_open_home(&h)) < 0)
		goto done;
	error = cw_sync_export(&rep, h, to, out, max_bytes, progress, &ps);
	progress_end(&ps);
	if (error < 0)
		goto done;
	if (cli_g.json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "peer", rep.peer);
		cJSON_AddNumberToObject(doc, "parts", (double)rep.parts);
		cJSON_AddNumberToObject(doc, "refs", (double)rep.refs);
		cJSON_AddNumberToObject(doc, "bytes", (double)rep.bytes);
		cJSON_AddNumberToObject(doc, "seq", (double)rep.first_seq);
		cli_json_print(doc);
	}
	if (rep.parts == 1)
		cli_say("Bundle %" PRIu64
		        " for %s written to %s: %zu update%s (case chains, roster), %" PRIu64 " bytes.",
		        rep.first_seq, rep.peer, out, rep.refs, rep.refs == 1 ? "" : "s", rep.bytes);
	else
		cli_say("Bundles %" PRIu64 "-%" PRIu64
		        " for %s written to %s.1 ... %s.%zu: %zu updates (case chains, roster), %" PRIu64
		        " bytes in all. Send every piece; they can arrive in any order.",
		        rep.first_seq, rep.first_seq + rep.parts - 1, rep.peer, out, out, rep.parts, rep.refs,
		        rep.bytes);
done:
	cw_home_free(h);
	return error;
}

/* Erasures a sync brought, in plain words. */
static void print_erasures(size_t erased, size_t ignored)
{
	if (erased)
		cli_say("%zu case%s erased on request of head office or %s creator (right to be "
		        "forgotten).",
		        erased, erased == 1 ? "" : "s", erased == 1 ? "its" : "their");
	if (ignored)
		cli_say("%zu chain%s of erased cases left out (not taken).", ignored,
		        ignored == 1 ? "" : "s");
}
static int sync_import(int argc, char **argv)
{
	const char *pos[256];
	size_t npos, i;
	cw_home *h = NULL;
	cJSON *doc = NULL, *arr = NULL;
	int error = CW_OK, worst = CW_OK;

	if ((error = cli_parse(argc, argv, NULL, 0, pos, 256, &npos)) < 0)
		goto done;
	if (npos == 0) {
		error = cw_error(CW_EINVALID, "usage: caseway sync import FILE...");
		goto done;
	}
	if ((error = cli_open_home(&h)) < 0)
		goto done;
	if (cli_g.json) {
		doc = cJSON_CreateObject();
		arr = cJSON_AddArrayToObject(doc, "bundles");
	}
	for (i = 0; i < npos; i++) {
		cw_import_report rep;
		progress_state ps = { "", -2, 0 };
		cw_peer p;
		const char *who;
		char why[1024] = "";

		if (cw_handoff_sniff(pos[i]) > 0) { /* a follow-up doctor's reply (cli/cmd_handoff.c) */
			error = cli_handoff_import(h, pos[i], arr);
			if (error < 0 && npos > 1)
				fprintf(stderr, "caseway: %s\n", cw_error_last());
			if (error < 0 && (worst == CW_OK || error == CW_EVERIFY))
				worst = error;
			if (error < 0 && npos == 1)
				goto done;
			continue;
		}
		error = cw_sync_import(&rep, h, pos[i], progress, &ps);
		progress_end(&ps);
		if (error < 0)
			snprintf(why, sizeof(why), "%s", cw_error_last());
		who = rep.from[0] && cw_peer_find(&p, cw_home_store(h), rep.from) == CW_OK ? p.name
		                                                                           : rep.from;
		cw_error_clear();
		if (error < 0)
			cw_error(error, "%s", why);
		if (arr) {
			cJSON *d = cJSON_CreateObject();

			cJSON_AddStringToObject(d, "file", pos[i]);
			cJSON_AddStringToObject(d, "status",
			                        error == CW_OK ? (rep.again ? "already imported" : "imported")
			                        : error == CW_EWAIT ? "waiting"
			                                            : "refused");
			cJSON_AddStringToObject(d, "from", who);
			cJSON_AddNumberToObject(d, "seq", (double)rep.seq);
			cJSON_AddNumberToObject(d, "ops", (double)rep.ops);
			cJSON_AddNumberToObject(d, "inbox_applied", (double)rep.inbox_applied);
			cJSON_AddNumberToObject(d, "inbox_waiting", (double)rep.inbox_left);
			cJSON_AddNumberToObject(d, "inbox_refused", (double)rep.inbox_refused);
			cJSON_AddNumberToObject(d, "cases_erased", (double)rep.erased);
			cJSON_AddNumberToObject(d, "erased_chains_ignored", (double)rep.left_out);
			cJSON_AddItemToArray(arr, d);
		}
		if (error == CW_OK) {
			cli_say(
			    "%s: bundle %" PRIu64 " from %s%s: %zu new change%s%s.", pos[i], rep.seq, who,
			    rep.again ? " (already imported before)" : "", rep.ops, rep.ops == 1 ? "" : "s",
			    rep.waiting_ops ? "; some changes wait for others' changes not here yet" : "");
			print_erasures(rep.erased, rep.left_out);
			if (rep.inbox_applied)
				cli_say("%zu waiting bundle%s from the inbox applied too.", rep.inbox_applied,
				        rep.inbox_applied == 1 ? "" : "s");
			if (rep.inbox_refused)
				fprintf(
				    stderr,
				    "caseway: %zu waiting bundle%s refused and moved to inbox/refused: %s\n",
				    rep.inbox_refused, rep.inbox_refused == 1 ? " was" : "s were",
				    rep.inbox_why);
		} else if (npos > 1) {
			/* Report and go on with the rest; the exit code is the worst. */
			fprintf(stderr, "caseway: %s\n", cw_error_last());
		}
		if (error < 0 &&
		    (worst == CW_OK || error == CW_EVERIFY || (worst == CW_EWAIT && error != CW_EWAIT)))
			worst = error;
		if (error < 0 && npos == 1)
			goto done;
	}
	if (doc) {
		cli_json_print(doc);
		doc = NULL;
	}
	error = worst;
	if (npos > 1 && error < 0)
		error = cw_error(error, "%s",
		                 error == CW_EWAIT ? "some bundles wait in the inbox for earlier ones"
		                                   : "some bundles were refused (see above)");
done:
	cJSON_Delete(doc);
	cw_home_free(h);
	return error;
}

/* ---- remotes ----------------------------------------------------------------------- */

/* REMOTE: a peer's name (its address), a git URL or a path; none: the hub. */
typedef struct {
	const char *want;
	char url[CW_PEER_URL_MAX + 1];
	int found;
} remote_pick;

static int pick_hub(const cw_peer *p, void *ctx)
{
	remote_pick *r = ctx;

	if (!r->found && p->role == CW_ROLE_HUB && p->url[0]) {
		snprintf(r->url, sizeof(r->url), "%s", p->url);
		r->found = 1;
	}
	return 0;
}

static int resolve_remote(char url[CW_PEER_URL_MAX + 1], cw_home *h, const char *remote)
{
	remote_pick r = { remote, "", 0 };
	cw_peer p;
	int error;

	if (remote == NULL) {
		if ((error = cw_peer_each(cw_home_store(h), pick_hub, &r)) < 0)
			return error;
		if (!r.found)
			return cw_error(CW_EINVALID,
			                "no hub with an address is known: give REMOTE, or `caseway peer add "
			                "hub --cert CERT --url URL`");
		memcpy(url, r.url, sizeof(r.url));
		return CW_OK;
	}
	if (strchr(remote, '/') == NULL && strchr(remote, ':') == NULL &&
	    cw_peer_find(&p, cw_home_store(h), remote) == CW_OK) {
		if (!p.url[0])
			return cw_error(CW_EINVALID,
			                "peer %s has no address: use `sync export` for it, or add --url",
			                remote);
		memcpy(url, p.url, sizeof(p.url));
		return CW_OK;
	}
	cw_error_clear();
	if (strlen(remote) > CW_PEER_URL_MAX)
		return cw_error(CW_EINVALID, "the remote address is too long");
	snprintf(url, CW_PEER_URL_MAX + 1, "%s", remote);
	return CW_OK;
}

static int sync_remote(int argc, char **argv, int pull, int push)
{
	const char *pos[1];
	size_t npos;
	cw_home *h = NULL;
	cw_remote_report rep;
	progress_state ps = { "", -2, 0 };
	char url[CW_PEER_URL_MAX + 1];
	int error;

	memset(&rep, 0, sizeof(rep));
	if ((error = cli_parse(argc, argv, NULL, 0, pos, 1, &npos)) < 0 || (error = cli_open_home(&h)) < 0 ||
	    (error = resolve_remote(url, h, npos ? pos[0] : NULL)) < 0)
		goto done;
	if (pull && !push)
		error = cw_remote_pull(&rep, h, url, progress, &ps);
	else
		error = cw_remote_push(&rep, h, url, progress, &ps); /* push pulls first */
	progress_end(&ps);
	if (error < 0)
		goto done;
	if (cli_g.json) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddStringToObject(doc, "remote", url);
		cJSON_AddNumberToObject(doc, "ops_received", (double)rep.ops);
		cJSON_AddNumberToObject(doc, "refs_sent", (double)rep.pushed_refs);
		cJSON_AddNumberToObject(doc, "retries", (double)rep.retries);
		cJSON_AddNumberToObject(doc, "cases_erased", (double)rep.erased);
		cJSON_AddNumberToObject(doc, "erased_chains_ignored", (double)rep.left_out);
		cJSON_AddNumberToObject(doc, "hub_erased_chains_dropped", (double)rep.hub_dropped);
		cJSON_AddNumberToObject(doc, "hub_erased_chains_kept", (double)rep.hub_kept);
		cli_json_print(doc);
	}
	cli_say("%s: %zu new change%s received%s%s.", url, rep.ops, rep.ops == 1 ? "" : "s",
	        push ? ", chains sent: " : "", push ? (rep.pushed_refs ? "yes" : "none needed") : "");
	if (rep.waiting_ops)
		cli_say("Some changes wait for others' changes that are not here yet.");
	print_erasures(rep.erased, rep.left_out);
	if (rep.hub_dropped)
		cli_say("The hub dropped %zu chain%s of erased cases.", rep.hub_dropped,
		        rep.hub_dropped == 1 ? "" : "s");
	if (rep.hub_kept)
		cli_say("The hub refused to drop %zu chain%s of erased cases: ask its administrator to "
		        "allow deleting refs/cw/case/ refs of erased cases.",
		        rep.hub_kept, rep.hub_kept == 1 ? "" : "s");
done:
	cw_home_free(h);
	return error;
}

/* ---- status ------------------------------------------------------------------------ */

typedef struct {
	cw_home *h;
	cJSON *arr;
} status_ctx;

static int status_peer(const cw_peer *p, void *ctx)
{
	status_ctx *s = ctx;
	size_t pending = 0, total = 0;
	char sent[32] = "never", recv[32] = "never";

	if (cw_sync_pending(&pending, &total, s->h, p->device_id) < 0)
		return cw_error(CW_ERROR, "%s", cw_error_last());
	if (p->sent_at)
		cli_time(sent, p->sent_at);
	if (p->received_at)
		cli_time(recv, p->received_at);
	if (s->arr) {
		cJSON *d = cJSON_CreateObject();

		cJSON_AddStringToObject(d, "peer", p->name);
		cJSON_AddStringToObject(d, "device", p->device_id);
		cJSON_AddStringToObject(d, "role", cw_role_name(p->role));
		cJSON_AddNumberToObject(d, "sent_seq", (double)p->sent_seq);
		cJSON_AddStringToObject(d, "last_sent", p->sent_at ? sent : "");
		cJSON_AddNumberToObject(d, "received_seq", (double)p->received_seq);
		cJSON_AddStringToObject(d, "last_received", p->received_at ? recv : "");
		cJSON_AddNumberToObject(d, "chains", (double)total);
		cJSON_AddNumberToObject(d, "acknowledged", (double)(total - pending));
		cJSON_AddNumberToObject(d, "to_send", (double)pending);
		cJSON_AddItemToArray(s->arr, d);
		return 0;
	}
	printf("%s (%s, %s)\n", p->name, cw_role_name(p->role), p->device_id);
	printf("  sent:          %s (last bundle %" PRIu64 ")\n", sent, p->sent_seq);
	printf("  received:      %s (last bundle %" PRIu64 ")\n", recv, p->received_seq);
	printf("  confirmed:     %zu of the %zu updates they should hold\n", total - pending, total);
	printf("  unconfirmed:   %zu (sent and not confirmed yet, or still to send)%s\n", pending,
	       pending ? ": the next `caseway sync export` or `sync push` carries them" : "");
	return 0;
}

static int sync_status(int argc, char **argv)
{
	const char *pos[1];
	size_t npos, waiting = 0;
	cw_home *h = NULL;
	status_ctx s = { NULL, NULL };
	cJSON *doc = NULL;
	int error;

	if ((error = cli_parse(argc, argv, NULL, 0, pos, 0, &npos)) < 0 || (error = cli_open_home(&h)) < 0 ||
	    (error = cw_sync_inbox_count(&waiting, h)) < 0)
		goto done;
	s.h = h;
	if (cli_g.json) {
		doc = cJSON_CreateObject();
		s.arr = cJSON_AddArrayToObject(doc, "peers");
		cJSON_AddNumberToObject(doc, "inbox_waiting", (double)waiting);
	}
	if ((error = cw_peer_each(cw_home_store(h), status_peer, &s)) < 0)
		goto done;
	if (doc) {
		cli_json_print(doc);
		doc = NULL;
	} else {
		printf("inbox: %zu bundle%s waiting for earlier ones\n", waiting, waiting == 1 ? "" : "s");
	}
done:
	cJSON_Delete(doc);
	cw_home_free(h);
	return error;
}

int cmd_sync(int argc, char **argv)
{
	if (argc < 1 ||
	    (argv[0][0] != '-' && strcmp(argv[0], "export") != 0 && strcmp(argv[0], "import") != 0 &&
	     strcmp(argv[0], "push") != 0 && strcmp(argv[0], "pull") != 0 && strcmp(argv[0], "status") != 0))
		return sync_remote(argc, argv, 1, 1); /* caseway sync [REMOTE] */
	if (strcmp(argv[0], "export") == 0)
		return sync_export(argc - 1, argv + 1);
	if (strcmp(argv[0], "import") == 0)
		return sync_import(argc - 1, argv + 1);
	if (strcmp(argv[0], "push") == 0)
		return sync_remote(argc - 1, argv + 1, 0, 1);
	if (strcmp(argv[0], "pull") == 0)
		return sync_remote(argc - 1, argv + 1, 1, 0);
	if (strcmp(argv[0], "status") == 0)
		return sync_status(argc - 1, argv + 1);
	return sync_remote(argc, argv, 1, 1);
}
