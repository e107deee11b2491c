/*
 * sync/exchange.c - export and import of signed bundles.
 */
#include "exchange.h"
#include "node/case.h"
#include "node/grant.h"

#include "bundle.h"
#include "log.h"
#include "manifest.h"
#include "tombstone.h"
#include "node/org.h"
#include "node/peer.h"
#include "util/error.h"
#include "util/file.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CASE_PREFIX "refs/cw/case/"
#define ROSTER_PREFIX "refs/cw/roster/"
#define MANIFEST_REF "refs/cw/manifest"
#define CASE_PREFIX_LEN (sizeof(CASE_PREFIX) - 1)
#define CASE_HEX 32
#define INBOX_MAX 10000

/* ---- choosing what to send ------------------------------------------------------ */

typedef struct {
	cw_bundle_ref *v; /* every head of the kinds the peer may have, sorted */
	size_t n;
	cw_bundle_ref *have; /* those the peer may not know this node holds */
	size_t nhave;
	cw_bundle_ref *carry; /* those the peer has not acknowledged */
	size_t ncarry;
	char (*prereq)[41]; /* heads it acknowledged that ours continue */
	size_t nprereq;
} selection;

static void selection_dispose(selection *s)
{
	free(s->v);
	free(s->have);
	free(s->carry);
	free(s->prereq);
	memset(s, 0, sizeof(*s));
}

/* 1 when the roster revokes the peer's device: it gets the roster (so it
 * learns it was revoked and stops recording) and nothing else, not even as
 * a hub. */
static int peer_revoked(const cw_roster *roster, const cw_peer *p)
{
	size_t i;

	for (i = 0; roster && i < cw_roster_count(roster); i++) {
		const cw_cert *c = cw_roster_cert(roster, i);

		if (strcmp(c->device_id, p->device_id) == 0)
			return cw_roster_revoked(roster, c->sign_pk);
	}
	return 0;
}

/* Is peer a member of the case whose chains are all[i..j)? It is when a
 * chain's head grants it the newest key generation any of them grants that
 * this node holds too (a member removed by `unshare` holds only older ones;
 * a generation this node refused to take counts for nothing). */
static int is_member(int *yes, cw_log *log, cw_store *st, const cw_peer *p, const cw_bundle_ref *all,
                     size_t i, size_t j)
{
	uint8_t case_id[CW_ID_BYTES];
	char hex[2 * CW_ID_BYTES + 1];
	uint32_t newest = 0, gen, have;
	int granted, error, readable;

	*yes = p->role == CW_ROLE_HUB;
	if (*yes)
		return CW_OK;
	memcpy(hex, all[i].name + CASE_PREFIX_LEN, CASE_HEX);
	hex[CASE_HEX] = '\0';
	if (cw_hex_decode(case_id, CW_ID_BYTES, hex) < 0)
		return cw_error(CW_EINVALID, "the git log holds a malformed chain ref");
	readable = cw_grant_generation(&have, st, case_id) == CW_OK;
	cw_error_clear();
	for (; i < j; i++) {
		if ((error = cw_log_granted(&granted, &gen, log, all[i].oid, p->device_id)) < 0)
			return error;
		if (readable && gen > 1) {
			cw_secret *key = NULL;
			int held = cw_case_key_at(&key, NULL, st, case_id, gen) == CW_OK;

			cw_secret_free(key);
			cw_error_clear();
			if (!held)
				continue;
		}
		if (gen > newest) {
			newest = gen;
			*yes = 0;
		}
		if (gen == newest && granted)
			*yes = 1;
	}
	return CW_OK;
}

static int select_refs(selection *s, cw_log *log, cw_store *st, const cw_peer *p, int revoked)
{
	cw_bundle_ref *all = NULL;
	size_t nall = 0, i, j;
	int error, member;

	memset(s, 0, sizeof(*s));
	if ((error = cw_log_refs(&all, &nall, log, "refs/cw/")) < 0)
		goto done;
	if (nall && ((s->v = calloc(nall, sizeof(*s->v))) == NULL ||
	             (s->carry = calloc(nall, sizeof(*s->carry))) == NULL ||
	             (s->have = calloc(nall, sizeof(*s->have))) == NULL ||
	             (s->prereq = calloc(nall, sizeof(*s->prereq))) == NULL)) {
		error = cw_error_nomem();
		goto done;
	}
	for (i = 0; i < nall; i = j) {
		j = i + 1;
		if (revoked && strncmp(all[i].name, ROSTER_PREFIX, sizeof(ROSTER_PREFIX) - 1) != 0)
			continue;
		if (strncmp(all[i].name, CASE_PREFIX, CASE_PREFIX_LEN) == 0) {
			while (j < nall &&
			       strncmp(all[j].name, all[i].name, CASE_PREFIX_LEN + CASE_HEX + 1) == 0)
				j++;
			if ((error = is_member(&member, log, st, p, all, i, j)) < 0)
				goto done;
			if (!member)
				continue;
		} else if (!cw_manifest_ref_valid(all[i].name)) {
			continue;
		}
		for (; i < j; i++) {
			char has[41];
			int found, gave, behind;

			s->v[s->n++] = all[i];
			if ((error = cw_peer_has(has, &found, st, p->device_id, all[i].name)) < 0 ||
			    (error = cw_peer_gave(&gave, st, p->device_id, all[i].name)) < 0)
				goto done;
			/* Tell the peer what it may not know this node holds: heads it
			 * does not hold itself, and what its newest bundle carried
			 * (it sends those until told). */
			if (!found || strcmp(has, all[i].oid) != 0 || gave)
				s->have[s->nhave++] = all[i];
			if (found && strcmp(has, all[i].oid) == 0)
				continue;
			if (found) {
				/* The peer is ahead of us on this chain: nothing to send. */
				if (cw_log_is_ancestor(&behind, log, all[i].oid, has) == CW_OK && behind)
					continue;
				cw_error_clear();
				if (cw_log_is_ancestor(&behind, log, has, all[i].oid) == CW_OK && behind)
					memcpy(s->prereq[s->nprereq++], has, 41);
				cw_error_clear();
			}
			s->carry[s->ncarry++] = all[i];
		}
	}
	error = CW_OK;
done:
	free(all);
	if (error < 0)
		selection_dispose(s);
	return error;
}

/* ---- export ---------------------------------------------------------------------- */

typedef struct {
	size_t first, count; /* carry[first .. first+count) */
} part_t;

static char *part_path(const char *out_path, size_t i, size_t n)
{
	size_t len = strlen(out_path) + 24;
	char *p = malloc(len);

	if (p) {
		if (n == 1)
			snprintf(p, len, "%s", out_path);
		else
			snprintf(p, len, "%s.%zu", out_path, i + 1);
	}
	return p;
}

/* Write one bundle: refs carry[first..first+count) plus the manifest ref,
 * prerequisites base plus the refs of the parts before (carry[0..first)). */
static int write_part(uint64_t *bytes, cw_log *log, const selection *s, size_t first, size_t count,
                      const char *manifest_oid, const char *path)
{
	cw_bundle_ref *refs = NULL;
	const char **pre = NULL;
	size_t npre = 0, i;
	int error;

	if ((refs = calloc(count + 1, sizeof(*refs))) == NULL ||
	    (pre = calloc(s->nprereq + first + 1, sizeof(*pre))) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	memcpy(refs, s->carry + first, count * sizeof(*refs));
	snprintf(refs[count].name, sizeof(refs[count].name), MANIFEST_REF);
	snprintf(refs[count].oid, sizeof(refs[count].oid), "%s", manifest_oid);
	for (i = 0; i < s->nprereq; i++)
		pre[npre++] = s->prereq[i];
	for (i = 0; i < first; i++)
		pre[npre++] = s->carry[i].oid;
	error = cw_bundle_write(bytes, cw_log_path(log), path, refs, count + 1, pre, npre);
done:
	free(refs);
	free(pre);
	return error;
}

/* The manifest of one part, as a signed note; its id into oid. */
static int write_manifest(char oid[41], cw_log *log, const cw_keys *me, const cw_peer *p, const selection *s,
                          uint64_t seq, const part_t *part, size_t ipart, size_t nparts, int64_t now)
{
	cw_manifest m;
	cw_buf text = CW_BUF_INIT;
	int error;

	memset(&m, 0, sizeof(m));
	snprintf(m.from, sizeof(m.from), "%s", cw_keys_id(me));
	snprintf(m.to, sizeof(m.to), "%s", p->device_id);
	m.seq = seq;
	m.part = (uint32_t)ipart + 1;
	m.parts = (uint32_t)nparts;
	m.time = now;
	m.nrefs = part ? part->count : 0;
	m.refs = part ? s->carry + part->first : NULL;
	m.nhave = s->nhave;
	m.have = s->have;
	text.cap = CW_MANIFEST_MAX_BYTES;
	if ((error = cw_manifest_format(&text, &m)) == CW_OK)
		error = cw_log_note_write(oid, log, me, now, (const char *)text.data, text.len);
	cw_buf_dispose(&text);
	return error;
}

/* The size of the bundle for carry[first .. first+count), with a stand-in
 * manifest of the right size, written to probe. */
static int measure(uint64_t *bytes, cw_log *log, const cw_keys *me, const cw_peer *p, const selection *s,
                   size_t first, size_t count, const char *probe, int64_t now)
{
	part_t trial = { first, count };
	char oid[41];
	int error;

	if ((error = write_manifest(oid, log, me, p, s, UINT64_MAX >> 1, &trial, 0, 1, now)) < 0)
		return error;
	return write_part(bytes, log, s, first, count, oid, probe);
}

/* Split carry[] into parts of at most max bytes, whole chains each, by
 * measuring real bundles: per part, the largest count that fits is found by
 * doubling then halving, so the bytes written stay within a small multiple
 * (about twice the log of the refs per part) of the export itself. */
static int plan_parts(part_t **out, size_t *nout, cw_log *log, const cw_keys *me, const cw_peer *p,
                      const selection *s, uint64_t max, const char *out_path, int64_t now,
                      cw_progress_fn progress, void *ctx)
{
	part_t *parts = NULL;
	char *probe = NULL;
	size_t n = 0, first = 0;
	uint64_t bytes;
	int error = CW_OK;

	if ((parts = calloc(s->ncarry + 1, sizeof(*parts))) == NULL ||
	    (probe = malloc(strlen(out_path) + 16)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if (max == 0 || s->ncarry == 0) {
		parts[0].count = s->ncarry;
		n = 1;
		goto planned;
	}
	sprintf(probe, "%s.probe", out_path);
	while (first < s->ncarry) {
		size_t left = s->ncarry - first, fits = 1, over, mid;

		if ((error = measure(&bytes, log, me, p, s, first, 1, probe, now)) < 0)
			goto done;
		if (bytes > max) {
			error = cw_error(CW_EINVALID,
			                 "%s alone needs %" PRIu64 " bytes, more than --max-bytes %" PRIu64,
			                 s->carry[first].name, bytes, max);
			goto done;
		}
		/* fits: a count known to fit; over: one known not to (left + 1 = none). */
		for (over = left + 1; fits < left;) {
			size_t next = fits * 2 < left ? fits * 2 : left;

			if ((error = measure(&bytes, log, me, p, s, first, next, probe, now)) < 0)
				goto done;
			if (bytes > max) {
				over = next;
				break;
			}
			fits = next;
		}
		while (over <= left && over - fits > 1) {
			mid = fits + (over - fits) / 2;
			if ((error = measure(&bytes, log, me, p, s, first, mid, probe, now)) < 0)
				goto done;
			if (bytes > max)
				over = mid;
			else
				fits = mid;
		}
		parts[n].first = first;
		parts[n].count = fits;
		n++;
		first += fits;
		if (progress)
			progress(ctx, "Planning the pieces", first, s->ncarry);
	}
planned:
	*out = parts;
	*nout = n;
	parts = NULL;
done:
	if (probe)
		unlink(probe);
	free(probe);
	free(parts);
	return error;
}

int cw_sync_export(cw_export_report *rep, cw_home *h, const char *peer, const char *out_path,
                   uint64_t max_bytes, cw_progress_fn progress, void *ctx)
{
	cw_store *st = cw_home_store(h);
	const cw_keys *me = cw_home_keys(h);
	cw_roster *roster = NULL;
	cw_log *log = NULL;
	selection s;
	part_t *parts = NULL;
	cw_peer p;
	char **oids = NULL;
	uint64_t seq, bytes;
	int64_t now = (int64_t)time(NULL);
	size_t nparts = 0, i;
	int in_tx = 0, error;

	memset(rep, 0, sizeof(*rep));
	memset(&s, 0, sizeof(s));
	if (max_bytes && max_bytes < CW_EXCHANGE_MIN_PART)
		return cw_error(CW_EINVALID, "--max-bytes must be at least %u", CW_EXCHANGE_MIN_PART);
	if ((error = cw_peer_find(&p, st, peer)) < 0)
		return error;
	if (strcmp(p.device_id, cw_keys_id(me)) == 0)
		return cw_error(CW_EINVALID, "%s is this device itself", peer);
	snprintf(rep->peer, sizeof(rep->peer), "%s", p.name);
	if ((error = cw_org_roster(&roster, h)) < 0)
		goto done;
	if ((error = cw_log_open(&log, cw_home_dir(h))) < 0)
		goto done;
	if (progress)
		progress(ctx, "Signing new changes", 0, 0);
	if ((error = cw_log_erasure_sweep(NULL, log, st)) < 0 || (error = cw_log_prune_pending(log)) < 0 ||
	    (error = cw_log_commit(&rep->commits, log, st, me, roster)) < 0 ||
	    (error = cw_log_roster_publish(log, h)) < 0 ||
	    (error = select_refs(&s, log, st, &p, peer_revoked(roster, &p))) < 0 ||
	    (error = plan_parts(&parts, &nparts, log, me, &p, &s, max_bytes, out_path, now, progress, ctx)) <
	        0 ||
	    (error = cw_peer_next_seq(&seq, st, p.device_id)) < 0)
		goto done;
	if ((oids = calloc(nparts, sizeof(*oids))) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	/* The manifests, and their sequence numbers recorded as used, before
	 * any file exists: a crash can leave a number unused, never used twice
	 * (which the peer would refuse as a replay). */
	for (i = 0; i < nparts; i++) {
		if ((oids[i] = malloc(41)) == NULL) {
			error = cw_error_nomem();
			goto done;
		}
		if ((error = write_manifest(oids[i], log, me, &p, &s, seq + i, &parts[i], i, nparts, now)) <
		    0)
			goto done;
	}
	if ((error = cw_store_begin(st)) < 0)
		goto done;
	in_tx = 1;
	for (i = 0; i < nparts; i++)
		if ((error = cw_peer_sent(st, p.device_id, seq + i, oids[i], now, parts[i].count)) < 0)
			goto done;
	if ((error = cw_store_commit(st)) < 0)
		goto done;
	in_tx = 0;
	for (i = 0; i < nparts; i++) {
		char *path = part_path(out_path, i, nparts);

		if (path == NULL) {
			error = cw_error_nomem();
			goto done;
		}
		if (progress)
			progress(ctx, "Writing the bundle", i, nparts);
		error = write_part(&bytes, log, &s, parts[i].first, parts[i].count, oids[i], path);
		free(path);
		if (error < 0)
			goto done;
		rep->bytes += bytes;
		rep->refs += parts[i].count;
	}
	if (progress)
		progress(ctx, "Writing the bundle", nparts, nparts);
	rep->parts = nparts;
	rep->first_seq = seq;
done:
	if (in_tx)
		cw_store_rollback(st);
	for (i = 0; oids && i < nparts; i++)
		free(oids[i]);
	free(oids);
	free(parts);
	selection_dispose(&s);
	cw_log_free(log);
	cw_roster_free(roster);
	return error;
}

int cw_sync_pending(size_t *pending_out, size_t *total_out, cw_home *h, const char *peer_device)
{
	cw_roster *roster = NULL;
	cw_log *log = NULL;
	selection s;
	cw_peer p;
	int error;

	memset(&s, 0, sizeof(s));
	if ((error = cw_peer_find(&p, cw_home_store(h), peer_device)) < 0 ||
	    (error = cw_log_open(&log, cw_home_dir(h))) < 0)
		goto done;
	if ((error = cw_org_roster(&roster, h)) == CW_ENOTFOUND)
		cw_error_clear();
	else if (error < 0)
		goto done;
	if ((error = select_refs(&s, log, cw_home_store(h), &p, peer_revoked(roster, &p))) < 0)
		goto done;
	*pending_out = s.ncarry;
	*total_out = s.n;
done:
	selection_dispose(&s);
	cw_roster_free(roster);
	cw_log_free(log);
	return error;
}

/* ---- import ---------------------------------------------------------------------- */

/* Anything wrong with a bundle from outside is a failed verification. */
static int refuse(int error)
{
	return error == CW_EINVALID || error == CW_ENOTFOUND ? cw_error(CW_EVERIFY, "%s", cw_error_last())
	                                                     : error;
}

static int cmp_ref_name(const void *a, const void *b)
{
	return strcmp(((const cw_bundle_ref *)a)->name, ((const cw_bundle_ref *)b)->name);
}

/* The refs the header carries besides the manifest, sorted, must be the
 * manifest's. */
static int same_refs(const cw_bundle_header *hdr, const cw_manifest *m)
{
	cw_bundle_ref *v;
	size_t i, n = 0;
	int same;

	if ((v = calloc(hdr->nrefs + 1, sizeof(*v))) == NULL)
		return cw_error_nomem();
	for (i = 0; i < hdr->nrefs; i++)
		if (strcmp(hdr->refs[i].name, MANIFEST_REF) != 0)
			v[n++] = hdr->refs[i];
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_ref_name);
	same = n == m->nrefs;
	for (i = 0; same && i < n; i++)
		same = strcmp(v[i].name, m->refs[i].name) == 0 && strcmp(v[i].oid, m->refs[i].oid) == 0;
	free(v);
	return same ? CW_OK
	            : cw_error(CW_EVERIFY, "the bundle's refs are not the ones its signed manifest names");
}

static const cw_cert *roster_find(const cw_roster *r, const char *device)
{
	size_t i;

	for (i = 0; i < cw_roster_count(r); i++)
		if (strcmp(cw_roster_cert(r, i)->device_id, device) == 0)
			return cw_roster_cert(r, i);
	return NULL;
}

typedef struct {
	const cw_manifest *m;
	const char *manifest_oid;
	const cw_roster *roster;
	cw_import_report *rep;
	const cw_tombstone_set *erasures; /* applied in the same transaction */
} record_ctx;

/* Refuse a bundle whose sequence number was received with another
 * manifest; note one received before with this very manifest. */
static int check_replay(cw_store *st, record_ctx *c)
{
	const cw_cert *from = roster_find(c->roster, c->m->from);
	int state, error;

	if ((error = cw_peer_received_state(&state, st, c->m->from, c->m->seq, c->manifest_oid)) < 0)
		return error;
	if (state == 2)
		return cw_error(CW_EVERIFY,
		                "replay: bundle number %" PRIu64
		                " from %s was already received with other contents; refused",
		                c->m->seq, from ? from->name : c->m->from);
	c->rep->again = state == 1;
	return CW_OK;
}

/* Inside the import's transaction: refuse a replay (the sequence number
 * already received with another manifest), then record the bundle and, from
 * the sender's newest bundle only, what it holds. */
static int record_bundle(cw_store *st, void *p)
{
	record_ctx *c = p;
	const cw_manifest *m = c->m;
	const cw_cert *from = roster_find(c->roster, m->from);
	int64_t now = (int64_t)time(NULL);
	cw_peer peer;
	size_t i;
	int state, error;

	if ((error = cw_tombstone_apply(st, c->erasures)) < 0)
		return error;
	if ((error = cw_peer_received_state(&state, st, m->from, m->seq, c->manifest_oid)) < 0)
		return error;
	if (state == 2)
		return cw_error(CW_EVERIFY,
		                "replay: bundle number %" PRIu64
		                " from %s was already received with other contents; refused",
		                m->seq, from ? from->name : m->from);
	c->rep->again = state == 1;
	if ((from && (error = cw_peer_ensure(st, from, now)) < 0) ||
	    (error = cw_peer_find(&peer, st, m->from)) < 0 ||
	    (error = cw_peer_received(st, m->from, m->seq, c->manifest_oid, now)) < 0)
		return error;
	if (m->seq <= peer.received_seq)
		return CW_OK; /* an older bundle: its news is stale */
	for (i = 0; i < m->nhave; i++)
		if ((error = cw_peer_set_has(st, m->from, m->have[i].name, m->have[i].oid)) < 0)
			return error;
	if ((error = cw_peer_gave_clear(st, m->from)) < 0)
		return error;
	for (i = 0; i < m->nrefs; i++)
		if ((error = cw_peer_set_has(st, m->from, m->refs[i].name, m->refs[i].oid)) < 0 ||
		    (error = cw_peer_gave_add(st, m->from, m->refs[i].name)) < 0)
			return error;
	return CW_OK;
}

static int import_one(cw_import_report *rep, cw_home *h, cw_log *log, const char *path)
{
	cw_store *st = cw_home_store(h);
	const cw_keys *me = cw_home_keys(h);
	cw_bundle_header hdr;
	cw_manifest m;
	cw_keyring kr = { 0, NULL, NULL };
	cw_roster *roster = NULL;
	cw_buf msg = CW_BUF_INIT;
	const char *manifest_oid = NULL;
	char signer[CW_DEVICE_ID_LEN + 1];
	record_ctx rec;
	cw_log_hook hook = { record_bundle, &rec };
	cw_tombstone_set ts = { NULL, 0, 0 };
	cw_bundle_ref *tips = NULL;
	size_t ntips = 0;
	size_t i, taken;
	int error;

	memset(&hdr, 0, sizeof(hdr));
	memset(&m, 0, sizeof(m));
	if ((error = cw_bundle_read_header(&hdr, path)) < 0) {
		error = error == CW_EINVALID ? cw_error(CW_EVERIFY, "%s is not a bundle, or is damaged: %s",
		                                        path, cw_error_last())
		                             : error;
		goto done;
	}
	for (i = 0; i < hdr.nrefs; i++)
		if (strcmp(hdr.refs[i].name, MANIFEST_REF) == 0)
			manifest_oid = hdr.refs[i].oid;
	if (manifest_oid == NULL) {
		error = cw_error(CW_EVERIFY,
		                 "%s is a git bundle but not one from caseway (it has no signed manifest)",
		                 path);
		goto done;
	}
	cw_bundle_header_dispose(&hdr);
	if ((error = cw_bundle_import(&hdr, cw_log_path(log), path, CW_EXCHANGE_MAX_BYTES)) < 0) {
		error = error == CW_EWAIT ? error : refuse(error);
		goto done;
	}
	for (i = 0; i < hdr.nrefs; i++)
		if (strcmp(hdr.refs[i].name, MANIFEST_REF) == 0)
			manifest_oid = hdr.refs[i].oid;
	/* The roster first: the sender may have been enrolled after us. */
	if ((error = cw_log_roster_take(&taken, log, h, hdr.refs, hdr.nrefs)) < 0 ||
	    (error = cw_org_keyring(&kr, h)) < 0 || (error = cw_org_roster(&roster, h)) < 0) {
		error = refuse(error);
		goto done;
	}
	msg.cap = CW_MANIFEST_MAX_BYTES;
	if ((error = cw_log_note_read(&msg, signer, log, manifest_oid, &kr)) < 0 ||
	    (error = cw_manifest_parse(&m, (const char *)msg.data, msg.len)) < 0) {
		error = cw_error(CW_EVERIFY, "the bundle's manifest does not verify: %s", cw_error_last());
		goto done;
	}
	snprintf(rep->from, sizeof(rep->from), "%s", m.from);
	rep->seq = m.seq;
	rep->part = m.part;
	rep->parts = m.parts;
	rep->refs = m.nrefs;
	if (strcmp(m.from, signer) != 0) {
		error = cw_error(CW_EVERIFY, "the bundle's manifest names %s as sender but is signed by %s",
		                 m.from, signer);
		goto done;
	}
	if (strcmp(m.to, cw_keys_id(me)) != 0) {
		const cw_cert *to = roster_find(roster, m.to);

		error = cw_error(CW_EVERIFY, "this bundle is for %s (%s), not for this device",
		                 to ? to->name : "another device", m.to);
		goto done;
	}
	if ((error = same_refs(&hdr, &m)) < 0)
		goto done;
	/* Ops, replay check and what the sender holds: one transaction. */
	rec.m = &m;
	rec.manifest_oid = manifest_oid;
	rec.roster = roster;
	rec.rep = rep;
	/* Checked before taking anything (the plainest diagnosis of a restored
	 * sender), and again inside the transaction. */
	if ((error = check_replay(st, &rec)) < 0)
		goto done;
	/* Erasures: checked before anything is taken (one without the right
	 * refuses the bundle), applied in the take's transaction; the chains
	 * of erased cases are left out. */
	if ((error = cw_tombstone_check(&ts, NULL, 0, h, log, &kr, m.refs, m.nrefs)) < 0 ||
	    (error = cw_tombstone_filter(&tips, &ntips, &rep->left_out, st, &ts, m.refs, m.nrefs)) < 0)
		goto done;
	rec.erasures = &ts;
	error = cw_log_take(&rep->ops, log, st, &kr, me, tips, ntips, &hook);
	if (error == CW_OK || error == CW_EWAIT) {
		int taken_error = error;
		char why[512];

		snprintf(why, sizeof(why), "%s", cw_error_last());
		rep->erased = ts.n;
		/* Chains of erased cases left out: their objects came in with
		 * the bundle's pack, and go with the prune in the finish. */
		error = rep->left_out ? cw_log_prune_want(log) : CW_OK;
		if (error == CW_OK && (error = cw_tombstone_finish(h, log)) == CW_OK &&
		    ntips >= CW_LOG_PACK_REFS_AT)
			error = cw_log_pack_refs(log);
		if (error == CW_OK)
			error = taken_error == CW_EWAIT ? cw_error(CW_EWAIT, "%s", why) : CW_OK;
	}
	if (error == CW_EWAIT) {
		cw_error_clear();
		rep->waiting_ops = 1;
		error = CW_OK;
	}
done:
	free(tips);
	cw_tombstone_set_dispose(&ts);
	cw_buf_dispose(&msg);
	cw_manifest_dispose(&m);
	cw_bundle_header_dispose(&hdr);
	cw_keyring_dispose(&kr);
	cw_roster_free(roster);
	return error;
}

/* Keep a copy of a waiting bundle in the inbox, named by its contents. */
static int queue(char **queued_out, cw_home *h, const char *path)
{
	cw_buf data = CW_BUF_INIT;
	char *dir = cw_home_file(h, "inbox"), *dst = NULL, name[64], hex[2 * CW_HASH_BYTES + 1];
	uint8_t hash[CW_HASH_BYTES];
	int error;

	*queued_out = NULL;
	if (dir == NULL)
		return cw_error_nomem();
	if ((error = cw_file_read(&data, path, (size_t)CW_EXCHANGE_MAX_BYTES)) < 0)
		goto done;
	cw_keys_hash(hash, data.data, data.len);
	cw_hex_encode(hex, hash, 12);
	snprintf(name, sizeof(name), "%.24s.bundle", hex);
	if (mkdir(dir, 0700) < 0 && !cw_file_exists(dir)) {
		error = cw_error(CW_ERROR, "could not make the inbox");
		goto done;
	}
	if ((dst = cw_path_join(dir, name)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if (!cw_file_exists(dst) && (error = cw_file_write_atomic(dst, data.data, data.len, 0600, 0)) < 0)
		goto done;
	*queued_out = dst;
	dst = NULL;
	error = CW_OK;
done:
	free(dst);
	free(dir);
	cw_buf_dispose(&data);
	return error;
}

/* Move a refused bundle to inbox/refused/ (or drop it when that fails). */
static void set_aside(const char *inbox, const char *name, const char *path)
{
	char *dir = cw_path_join(inbox, "refused"), *dst = dir ? cw_path_join(dir, name) : NULL;

	if (dst == NULL || (mkdir(dir, 0700) < 0 && !cw_file_exists(dir)) || rename(path, dst) < 0)
		unlink(path);
	free(dst);
	free(dir);
}

/* Apply what the inbox holds until nothing more goes in. */
static void drain_inbox(cw_import_report *rep, cw_home *h, cw_log *log, const char *skip)
{
	char *dir = cw_home_file(h, "inbox");
	int progress;

	if (dir == NULL)
		return;
	do {
		DIR *d = opendir(dir);
		struct dirent *e;
		size_t seen = 0;

		progress = 0;
		rep->inbox_left = 0;
		if (d == NULL)
			break;
		while ((e = readdir(d)) != NULL && seen++ < INBOX_MAX) {
			cw_import_report r;
			char *p;
			size_t len = strlen(e->d_name);
			int error;

			if (len < 8 || strcmp(e->d_name + len - 7, ".bundle") != 0)
				continue;
			if ((p = cw_path_join(dir, e->d_name)) == NULL)
				break;
			if (skip && strcmp(p, skip) == 0) {
				rep->inbox_left++;
				free(p);
				continue;
			}
			memset(&r, 0, sizeof(r));
			error = import_one(&r, h, log, p);
			if (error == CW_EWAIT) {
				rep->inbox_left++;
			} else if (error == CW_OK) {
				unlink(p);
				rep->inbox_applied++;
				rep->ops += r.ops;
				rep->erased += r.erased;
				rep->left_out += r.left_out;
				progress = 1;
			} else {
				/* Refused for good: kept aside for someone to look at. */
				set_aside(dir, e->d_name, p);
				rep->inbox_refused++;
				snprintf(rep->inbox_why, sizeof(rep->inbox_why), "%s", cw_error_last());
			}
			cw_error_clear();
			free(p);
		}
		closedir(d);
	} while (progress);
	free(dir);
}

int cw_sync_import(cw_import_report *rep, cw_home *h, const char *path, cw_progress_fn progress, void *ctx)
{
	cw_log *log = NULL;
	char *queued = NULL;
	int error;

	memset(rep, 0, sizeof(rep[0]));
	if ((error = cw_log_open(&log, cw_home_dir(h))) < 0)
		return error;
	if (progress)
		progress(ctx, "Checking and taking in the bundle", 0, 0);
	error = import_one(rep, h, log, path);
	if (error == CW_EWAIT) {
		char why[512];

		snprintf(why, sizeof(why), "%s", cw_error_last());
		if ((error = queue(&queued, h, path)) == CW_OK) {
			drain_inbox(rep, h, log, queued);
			error = cw_error(CW_EWAIT,
			                 "%s waits in the inbox for an earlier bundle (%s); it is applied "
			                 "when that one arrives",
			                 path, why);
		}
	} else if (error == CW_OK) {
		drain_inbox(rep, h, log, NULL);
	}
	free(queued);
	cw_log_free(log);
	return error;
}

int cw_sync_inbox_count(size_t *out, cw_home *h)
{
	char *dir = cw_home_file(h, "inbox");
	DIR *d;
	struct dirent *e;

	*out = 0;
	if (dir == NULL)
		return cw_error_nomem();
	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			size_t len = strlen(e->d_name);

			*out += len >= 8 && strcmp(e->d_name + len - 7, ".bundle") == 0;
		}
		closedir(d);
	}
	free(dir);
	return CW_OK;
}
