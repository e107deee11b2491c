/*
 * sync/tombstone.c - erasure tombstones: write, read, check, apply.
 */
#include "tombstone.h"

#include "node/org.h"
#include "util/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEADER "caseway erasure v1\n\n"
#define CASE_HEX (2 * CW_ID_BYTES)
#define AT_MAX ((int64_t)1 << 40) /* about year 36812: later stamps are refused */

/* ---- the message --------------------------------------------------------------- */

int cw_tombstone_format(cw_buf *out, const uint8_t case_id[CW_ID_BYTES], const char *by, int64_t at)
{
	char hex[CASE_HEX + 1], text[CW_TOMBSTONE_MESSAGE_MAX];
	int n;

	if (by == NULL || strlen(by) != CW_DEVICE_ID_LEN || !cw_is_lower_hex(by, CW_DEVICE_ID_LEN) ||
	    at < 0 || at > AT_MAX)
		return cw_error(CW_EINVALID, "internal: a tombstone needs a device id and a time");
	cw_id_hex(hex, case_id);
	n = snprintf(text, sizeof(text), HEADER "case: %s\nby: %s\nat: %" PRId64 "\n", hex, by, at);
	if (n < 0 || (size_t)n >= sizeof(text))
		return cw_error(CW_EINVALID, "internal: a tombstone message is too long");
	return cw_buf_put(out, text, (size_t)n);
}

/* "<key>: " then exactly n lower-case hex characters and a newline. */
static int take_hex_line(char *out, size_t n, const char **p, const char *end, const char *key)
{
	size_t klen = strlen(key);

	if ((size_t)(end - *p) < klen + n + 1 || memcmp(*p, key, klen) != 0 ||
	    !cw_is_lower_hex(*p + klen, n) || (*p)[klen + n] != '\n')
		return -1;
	memcpy(out, *p + klen, n);
	out[n] = '\0';
	*p += klen + n + 1;
	return 0;
}

int cw_tombstone_parse(cw_erasure *out, const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len;
	char chex[CASE_HEX + 1];
	cw_erasure e;
	int64_t at = 0;
	size_t digits = 0;

	memset(&e, 0, sizeof(e));
	if (msg == NULL || len > CW_TOMBSTONE_MESSAGE_MAX || len < sizeof(HEADER) - 1 ||
	    memcmp(p, HEADER, sizeof(HEADER) - 1) != 0)
		goto bad;
	p += sizeof(HEADER) - 1;
	if (take_hex_line(chex, CASE_HEX, &p, end, "case: ") < 0 ||
	    take_hex_line(e.by, CW_DEVICE_ID_LEN, &p, end, "by: ") < 0)
		goto bad;
	if ((size_t)(end - p) < 4 || memcmp(p, "at: ", 4) != 0)
		goto bad;
	p += 4;
	while (p < end && *p >= '0' && *p <= '9') {
		if (digits++ == 0 && *p == '0' && p + 1 < end && p[1] != '\n')
			goto bad; /* a leading zero */
		at = at * 10 + (*p - '0');
		if (at > AT_MAX)
			goto bad;
		p++;
	}
	if (digits == 0 || p + 1 != end || *p != '\n')
		goto bad;
	if (cw_hex_decode(e.case_id, CW_ID_BYTES, chex) < 0)
		goto bad;
	e.at = at;
	*out = e;
	return CW_OK;
bad:
	return cw_error(CW_EINVALID, "not a caseway erasure tombstone (malformed message)");
}

/* ---- writing and reading ------------------------------------------------------------ */

int cw_tombstone_write(cw_erasure *out, cw_log *log, const cw_keys *me, const uint8_t case_id[CW_ID_BYTES],
                       int64_t at)
{
	cw_buf msg = CW_BUF_INIT;
	cw_erasure e;
	int error;

	memset(&e, 0, sizeof(e));
	memcpy(e.case_id, case_id, CW_ID_BYTES);
	snprintf(e.by, sizeof(e.by), "%s", cw_keys_id(me));
	e.at = at;
	if ((error = cw_tombstone_format(&msg, case_id, e.by, at)) < 0 ||
	    (error = cw_log_note_write(e.tombstone, log, me, at, (const char *)msg.data, msg.len)) < 0)
		goto done;
	*out = e;
done:
	cw_buf_dispose(&msg);
	return error;
}

int cw_tombstone_read(cw_erasure *out, cw_log *log, const char *oid_hex, const cw_keyring *kr)
{
	cw_buf msg = CW_BUF_INIT;
	cw_erasure e;
	char signer[CW_DEVICE_ID_LEN + 1];
	int error;

	msg.cap = CW_TOMBSTONE_MESSAGE_MAX;
	if ((error = cw_log_note_read(&msg, signer, log, oid_hex, kr)) < 0 ||
	    (error = cw_tombstone_parse(&e, (const char *)msg.data, msg.len)) < 0)
		goto done;
	if (strcmp(e.by, signer) != 0) {
		error = cw_error(CW_EVERIFY, "an erasure names %s as its author but is signed by %s", e.by,
		                 signer);
		goto done;
	}
	snprintf(e.tombstone, sizeof(e.tombstone), "%s", oid_hex);
	*out = e;
done:
	cw_buf_dispose(&msg);
	return error;
}

/* ---- checking tombstones from outside ------------------------------------------------- */

void cw_tombstone_set_dispose(cw_tombstone_set *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static const cw_cert *roster_find(const cw_roster *r, const char *device)
{
	size_t i;

	for (i = 0; r && i < cw_roster_count(r); i++)
		if (strcmp(cw_roster_cert(r, i)->device_id, device) == 0)
			return cw_roster_cert(r, i);
	return NULL;
}

/* Does this node's log hold a chain of case_id (by `author` when not
 * NULL)? Those chains were verified when they were taken. */
static int log_has_chain(int *yes, cw_log *log, const uint8_t case_id[CW_ID_BYTES], const char *author)
{
	cw_bundle_ref *refs = NULL;
	char prefix[64], hex[CASE_HEX + 1];
	size_t n = 0, i;
	int error;

	*yes = 0;
	cw_id_hex(hex, case_id);
	snprintf(prefix, sizeof(prefix), "refs/cw/case/%s/", hex);
	if ((error = cw_log_refs(&refs, &n, log, prefix)) < 0)
		return error;
	for (i = 0; i < n && !*yes; i++)
		*yes = author == NULL || strcmp(refs[i].name + strlen(prefix), author) == 0;
	free(refs);
	return CW_OK;
}

/* Does tips[] name a chain of case_id? (Names only: a ref name costs
 * nothing to forge, so this may only make the judgement stricter.) */
static int tips_name_chain(const uint8_t case_id[CW_ID_BYTES], const cw_bundle_ref *tips, size_t ntips)
{
	uint8_t cid[CW_ID_BYTES];
	size_t i;

	for (i = 0; i < ntips; i++)
		if (cw_log_chain_case(cid, NULL, tips[i].name) && memcmp(cid, case_id, CW_ID_BYTES) == 0)
			return 1;
	return 0;
}

/* Does tips[] carry a chain of case_id by `author` whose tip commit
 * verifies (signed by author, of that case)? A name alone is not counted:
 * the chains of the case are left out once the tombstone is taken, so they
 * would never be checked. */
static int tips_own_chain(int *yes, cw_log *log, const cw_keyring *kr, const uint8_t case_id[CW_ID_BYTES],
                          const char *author, const cw_bundle_ref *tips, size_t ntips)
{
	uint8_t cid[CW_ID_BYTES];
	char a[CW_DEVICE_ID_LEN + 1];
	size_t i;
	int error;

	*yes = 0;
	for (i = 0; i < ntips && !*yes; i++) {
		if (!cw_log_chain_case(cid, a, tips[i].name) || memcmp(cid, case_id, CW_ID_BYTES) != 0 ||
		    strcmp(a, author) != 0)
			continue;
		error = cw_log_chain_tip_verify(log, kr, &tips[i]);
		if (error == CW_EVERIFY || error == CW_EINVALID)
			cw_error_clear(); /* not counted */
		else if (error < 0)
			return error;
		else
			*yes = 1;
	}
	return CW_OK;
}

/* The erasure right of e's signer (see the header). *keep = 0 for a
 * tombstone set aside. */
static int check_right(int *keep, cw_home *h, cw_log *log, const cw_roster *roster, const cw_keyring *kr,
                       const cw_erasure *e, const cw_bundle_ref *tips, size_t ntips)
{
	const cw_cert *who = roster_find(roster, e->by);
	char creator[CW_DEVICE_ID_LEN + 1], chex[CASE_HEX + 1];
	uint8_t author[CW_AUTHOR_BYTES];
	const char *name;
	int error, own_chain, any_chain;

	*keep = 1;
	cw_id_hex(chex, e->case_id);
	name = who ? who->name : "a device not in the roster";
	if (who == NULL)
		return cw_error(CW_EVERIFY,
		                "the erasure of case %.8s by device %s is refused: that device is not "
		                "in the agency's roster",
		                chex, e->by);
	if (cw_author_from_hex(author, e->by) == CW_OK && cw_keyring_revocation(kr, author) != NULL)
		return cw_error(
		    CW_EVERIFY,
		    "the erasure of case %.8s by device %s (%s) is refused: that device was revoked", chex,
		    e->by, name);
	if (who->role == CW_ROLE_HUB)
		return CW_OK;
	error = cw_erase_creator(creator, cw_home_store(h), e->case_id);
	if (error == CW_OK) {
		if (strcmp(creator, e->by) == 0)
			return CW_OK;
		return cw_error(
		    CW_EVERIFY,
		    "the erasure of case %.8s by device %s (%s) is refused: only head office or the "
		    "coordinator who created the case may erase it",
		    chex, e->by, name);
	}
	if (error != CW_ENOTFOUND)
		return error;
	cw_error_clear();
	/* This node cannot read the case: judge by role and chains. The
	 * signer's own chain counts when this log holds it (verified when
	 * taken) or when the tip arriving with the tombstone verifies. */
	if ((error = log_has_chain(&own_chain, log, e->case_id, e->by)) < 0 ||
	    (!own_chain &&
	     (error = tips_own_chain(&own_chain, log, kr, e->case_id, e->by, tips, ntips)) < 0) ||
	    (error = log_has_chain(&any_chain, log, e->case_id, NULL)) < 0)
		return error;
	any_chain = any_chain || tips_name_chain(e->case_id, tips, ntips);
	if (who->role == CW_ROLE_COORDINATOR && own_chain)
		return CW_OK;
	if (who->role == CW_ROLE_COORDINATOR && !any_chain) {
		*keep = 0; /* a case never seen here: nothing to erase */
		return CW_OK;
	}
	return cw_error(CW_EVERIFY,
	                "the erasure of case %.8s by device %s (%s, %s) is refused: only head office or the "
	                "coordinator who created the case may erase it",
	                chex, e->by, name, cw_role_name(who->role));
}

/* Pull: a tombstone that fails is left out; told once (why, when empty,
 * receives the first new refusal), then quietly while the hub holds the
 * same one (meta cw-refused:<ref> = its id, as sync/remote.c does for
 * revoked chains). */
static int refused_once(cw_store *st, char *why, size_t cap, const cw_bundle_ref *tip)
{
	cw_buf seen = CW_BUF_INIT;
	char key[300], why_now[512];
	int error, told;

	snprintf(why_now, sizeof(why_now), "%s", cw_error_last());
	snprintf(key, sizeof(key), "cw-refused:%s", tip->name);
	error = cw_store_meta_get(st, key, &seen);
	told = error == CW_OK && seen.len == strlen(tip->oid) && memcmp(seen.data, tip->oid, seen.len) == 0;
	cw_buf_dispose(&seen);
	cw_error_clear();
	if (told)
		return CW_OK;
	if (!why[0])
		snprintf(why, cap, "%s", why_now);
	return cw_store_meta_set(st, key, tip->oid, strlen(tip->oid));
}

/* One tombstone from outside: signature, case, right. */
static int check_one(cw_erasure *out, int *keep, cw_home *h, cw_log *log, const cw_roster *roster,
                     const cw_keyring *kr, const uint8_t cid[CW_ID_BYTES], const cw_bundle_ref *tip,
                     const cw_bundle_ref *tips, size_t ntips)
{
	char chex[CASE_HEX + 1];
	int error;

	*keep = 1;
	cw_id_hex(chex, cid);
	if ((error = cw_tombstone_read(out, log, tip->oid, kr)) < 0)
		return cw_error(CW_EVERIFY, "the erasure of case %.8s does not verify: %s", chex,
		                cw_error_last());
	if (memcmp(out->case_id, cid, CW_ID_BYTES) != 0)
		return cw_error(CW_EVERIFY, "the erasure carried as case %.8s names another case: refused",
		                chex);
	return check_right(keep, h, log, roster, kr, out, tips, ntips);
}

int cw_tombstone_check(cw_tombstone_set *out, char *refused, size_t cap, cw_home *h, cw_log *log,
                       const cw_keyring *kr, const cw_bundle_ref *tips, size_t ntips)
{
	cw_tombstone_set s;
	cw_roster *roster = NULL;
	uint8_t cid[CW_ID_BYTES];
	size_t i, j;
	int error = CW_OK, done, keep;

	memset(&s, 0, sizeof(s));
	memset(out, 0, sizeof(*out));
	if (refused && cap)
		refused[0] = '\0';
	for (i = 0; i < ntips; i++) {
		cw_erasure e;

		if (!cw_log_erased_ref(cid, tips[i].name))
			continue;
		if ((error = cw_erase_is(&done, cw_home_store(h), cid)) < 0)
			goto done;
		for (j = 0; j < s.n && !done; j++)
			done = memcmp(s.v[j].case_id, cid, CW_ID_BYTES) == 0;
		if (done)
			continue;
		if (roster == NULL && (error = cw_org_roster(&roster, h)) < 0)
			goto done;
		error = check_one(&e, &keep, h, log, roster, kr, cid, &tips[i], tips, ntips);
		if ((error == CW_EVERIFY || error == CW_EINVALID) && refused && cap) {
			if ((error = refused_once(cw_home_store(h), refused, cap, &tips[i])) < 0)
				goto done;
			continue; /* left out: its case's chains come in as usual */
		}
		if (error < 0)
			goto done;
		if (!keep) {
			s.set_aside++;
			continue;
		}
		if (s.n == 0 && (s.v = calloc(ntips, sizeof(*s.v))) == NULL) {
			error = cw_error_nomem();
			goto done;
		}
		s.v[s.n++] = e;
	}
	*out = s;
	memset(&s, 0, sizeof(s));
done:
	cw_tombstone_set_dispose(&s);
	cw_roster_free(roster);
	return error;
}

int cw_tombstone_filter(cw_bundle_ref **out, size_t *n_out, size_t *ignored_out, cw_store *st,
                        const cw_tombstone_set *s, const cw_bundle_ref *tips, size_t ntips)
{
	cw_bundle_ref *v = NULL;
	uint8_t cid[CW_ID_BYTES];
	size_t n = 0, ignored = 0, i, j;
	int error = CW_OK, erased;

	*out = NULL;
	*n_out = 0;
	if (ignored_out)
		*ignored_out = 0;
	if (ntips && (v = calloc(ntips, sizeof(*v))) == NULL)
		return cw_error_nomem();
	for (i = 0; i < ntips; i++) {
		erased = 0;
		if (cw_log_chain_case(cid, NULL, tips[i].name)) {
			if ((error = cw_erase_is(&erased, st, cid)) < 0)
				goto done;
			for (j = 0; s && j < s->n && !erased; j++)
				erased = memcmp(s->v[j].case_id, cid, CW_ID_BYTES) == 0;
		}
		if (erased)
			ignored++;
		else
			v[n++] = tips[i];
	}
	*out = v;
	*n_out = n;
	v = NULL;
	if (ignored_out)
		*ignored_out = ignored;
done:
	free(v);
	return error;
}

int cw_tombstone_apply(cw_store *st, const cw_tombstone_set *s)
{
	size_t i;
	int error;

	for (i = 0; s && i < s->n; i++)
		if ((error = cw_erase_record(st, &s->v[i])) < 0)
			return error;
	return CW_OK;
}

int cw_tombstone_finish(cw_home *h, cw_log *log)
{
	cw_store *st = cw_home_store(h);
	int error;

	if ((error = cw_log_erasure_sweep(NULL, log, st)) < 0 ||
	    (error = cw_erase_docs(st, cw_home_dir(h))) < 0)
		return error;
	if (cw_erase_compact(st) < 0)
		cw_error_clear(); /* a reader holds the log: the next erasure or verify empties it */
	/* Last: the dropped chains' objects (their grants and sealed ops) go. */
	return cw_log_prune_pending(log);
}

/* ---- caseway erase ---------------------------------------------------------------------- */

static int may_erase(cw_home *h, const uint8_t case_id[CW_ID_BYTES])
{
	cw_cert cert;
	char creator[CW_DEVICE_ID_LEN + 1], chex[CASE_HEX + 1];
	int error;

	cw_id_hex(chex, case_id);
	if ((error = cw_oplog_writable(cw_home_store(h))) < 0) /* a revoked device */
		return error;
	error = cw_org_cert(&cert, h);
	if (error == CW_OK && cert.role == CW_ROLE_HUB)
		return CW_OK;
	if (error < 0 && error != CW_ENOTFOUND)
		return error;
	cw_error_clear();
	error = cw_erase_creator(creator, cw_home_store(h), case_id);
	if (error == CW_OK && strcmp(creator, cw_keys_id(cw_home_keys(h))) == 0)
		return CW_OK;
	if (error < 0 && error != CW_ENOTFOUND)
		return error;
	return cw_error(
	    CW_ERROR,
	    "only head office (a hub) or the coordinator who created case %.8s may erase it; this "
	    "device may not",
	    chex);
}

int cw_tombstone_erase(cw_erasure *out, int *already, cw_home *h, const uint8_t case_id[CW_ID_BYTES])
{
	cw_store *st = cw_home_store(h);
	cw_log *log = NULL;
	cw_erasure e;
	int error, yes;

	*already = 0;
	if ((error = cw_log_open(&log, cw_home_dir(h))) < 0 || (error = cw_erase_is(&yes, st, case_id)) < 0)
		goto done;
	if (yes) {
		*already = 1;
		if ((error = cw_erase_get(&e, st, case_id)) < 0)
			goto done;
	} else {
		if ((error = may_erase(h, case_id)) < 0 ||
		    (error = cw_tombstone_write(&e, log, cw_home_keys(h), case_id, (int64_t)time(NULL))) <
		        0 ||
		    (error = cw_erase_record(st, &e)) < 0)
			goto done;
	}
	if ((error = cw_tombstone_finish(h, log)) < 0)
		goto done;
	*out = e;
done:
	cw_log_free(log);
	return error;
}
