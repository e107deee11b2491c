/*
 * node/peer.c - peers and the record of what passed between them.
 */
#include "peer.h"

#include "store_internal.h"
#include "util/error.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* A peer and its record, as row_peer() reads it. */
#define PEER_ROW                                                           \
	"SELECT p.device, p.name, p.role, p.url, p.added_at,"              \
	" (SELECT max(seq) FROM peer_sent s WHERE s.device=p.device),"     \
	" (SELECT max(at) FROM peer_sent s WHERE s.device=p.device),"      \
	" (SELECT max(seq) FROM peer_received r WHERE r.device=p.device)," \
	" (SELECT max(at) FROM peer_received r WHERE r.device=p.device)"   \
	" FROM peers p"

static const char sql_get[] = PEER_ROW " WHERE p.name=?1 OR p.device=?1"
                                       " OR (length(?1) >= 4 AND substr(p.device, 1, length(?1))=?1)"
                                       " ORDER BY p.name LIMIT 2";
static const char sql_all[] = PEER_ROW " ORDER BY p.name";
static const char sql_name_owner[] = "SELECT device FROM peers WHERE name=?1";
static const char sql_upsert[] =
    "INSERT INTO peers(device, name, role, url, added_at) VALUES(?1, ?2, ?3, ?4, ?5)"
    " ON CONFLICT(device) DO UPDATE SET name=excluded.name, role=excluded.role, url=excluded.url";
static const char sql_exists[] = "SELECT 1 FROM peers WHERE device=?1";
static const char sql_next[] = "SELECT coalesce(max(seq), 0) + 1 FROM peer_sent WHERE device=?1";
static const char sql_sent[] =
    "INSERT INTO peer_sent(device, seq, manifest, at, refs) VALUES(?1, ?2, ?3, ?4, ?5)";
static const char sql_recv_get[] = "SELECT manifest FROM peer_received WHERE device=?1 AND seq=?2";
static const char sql_recv_add[] =
    "INSERT OR IGNORE INTO peer_received(device, seq, manifest, at) VALUES(?1, ?2, ?3, ?4)";
static const char sql_has_get[] = "SELECT oid FROM peer_has WHERE device=?1 AND ref=?2";
static const char sql_gave_clear[] = "DELETE FROM peer_gave WHERE device=?1";
static const char sql_gave_add[] = "INSERT OR IGNORE INTO peer_gave(device, ref) VALUES(?1, ?2)";
static const char sql_gave_get[] = "SELECT 1 FROM peer_gave WHERE device=?1 AND ref=?2";
static const char sql_has_set[] = "INSERT OR REPLACE INTO peer_has(device, ref, oid) VALUES(?1, ?2, ?3)";

static void done_stmt(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

/* The letters of a peer name: [A-Za-z0-9._-]. */
static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

static int name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > CW_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!name_char(name[i]))
			return 0;
	return 1;
}

static void copy_text(char *out, size_t cap, const unsigned char *s)
{
	snprintf(out, cap, "%s", s ? (const char *)s : "");
}

static void row_peer(cw_peer *p, sqlite3_stmt *stmt)
{
	memset(p, 0, sizeof(*p));
	copy_text(p->device_id, sizeof(p->device_id), sqlite3_column_text(stmt, 0));
	copy_text(p->name, sizeof(p->name), sqlite3_column_text(stmt, 1));
	p->role = (cw_role)sqlite3_column_int(stmt, 2);
	copy_text(p->url, sizeof(p->url), sqlite3_column_text(stmt, 3));
	p->added_at = sqlite3_column_int64(stmt, 4);
	p->sent_seq = (uint64_t)sqlite3_column_int64(stmt, 5);
	p->sent_at = sqlite3_column_int64(stmt, 6);
	p->received_seq = (uint64_t)sqlite3_column_int64(stmt, 7);
	p->received_at = sqlite3_column_int64(stmt, 8);
}

static int in_roster(const cw_roster *r, const cw_cert *cert)
{
	size_t i;

	for (i = 0; i < cw_roster_count(r); i++)
		if (memcmp(cw_roster_cert(r, i)->hash, cert->hash, CW_HASH_BYTES) == 0)
			return 1;
	return 0;
}

static int upsert(cw_store *st, const char *device, const char *name, cw_role role, const char *url,
                  int64_t now)
{
	sqlite3_stmt *stmt;
	int rc, error;

	if ((error = cw_store__prepare(st, &stmt, sql_upsert)) < 0)
		return error;
	sqlite3_bind_text(stmt, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, (int)role);
	sqlite3_bind_text(stmt, 4, url, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, now);
	rc = sqlite3_step(stmt);
	error = rc == SQLITE_DONE ? CW_OK : cw_store__error(st, rc, "saving a peer");
	done_stmt(stmt);
	return error;
}

/* The device that holds name, into owner ("" when none). */
static int name_owner(char owner[CW_DEVICE_ID_LEN + 1], cw_store *st, const char *name)
{
	sqlite3_stmt *stmt;
	int rc, error = CW_OK;

	owner[0] = '\0';
	if ((error = cw_store__prepare(st, &stmt, sql_name_owner)) < 0)
		return error;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		copy_text(owner, CW_DEVICE_ID_LEN + 1, sqlite3_column_text(stmt, 0));
	else if (rc != SQLITE_DONE)
		error = cw_store__error(st, rc, "reading the peers");
	done_stmt(stmt);
	return error;
}

int cw_peer_add(cw_store *st, const cw_roster *r, const char *name, const cw_cert *cert, const char *url)
{
	char owner[CW_DEVICE_ID_LEN + 1];
	int error;

	if (!name_ok(name))
		return cw_error(CW_EINVALID, "a peer name is 1 to 64 letters, digits, '.', '_' or '-'");
	if (strlen(url) > CW_PEER_URL_MAX)
		return cw_error(CW_EINVALID, "the peer's address is too long");
	if (!in_roster(r, cert))
		return cw_error(CW_EVERIFY, "%s (%s) is not on this agency's roster", cert->name,
		                cert->device_id);
	if ((error = name_owner(owner, st, name)) < 0)
		return error;
	if (owner[0] && strcmp(owner, cert->device_id) != 0)
		return cw_error(CW_EEXISTS, "the peer name %s is taken by device %s", name, owner);
	return upsert(st, cert->device_id, name, cert->role, url, (int64_t)time(NULL));
}

int cw_peer_ensure(cw_store *st, const cw_cert *cert, int64_t now)
{
	sqlite3_stmt *stmt;
	char name[CW_NAME_MAX + 1], owner[CW_DEVICE_ID_LEN + 1];
	size_t i, n;
	int rc, exists, error;

	if ((error = cw_store__prepare(st, &stmt, sql_exists)) < 0)
		return error;
	sqlite3_bind_text(stmt, 1, cert->device_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	exists = rc == SQLITE_ROW;
	done_stmt(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cw_store__error(st, rc, "reading the peers");
	if (exists)
		return CW_OK;
	/* The certificate's name in peer-name letters, then its id if taken. */
	for (i = n = 0; cert->name[i] && n < 40; i++) {
		if (name_char(cert->name[i]))
			name[n++] = cert->name[i];
		else if (cert->name[i] == ' ' && n && name[n - 1] != '-')
			name[n++] = '-';
	}
	name[n] = '\0';
	if (n == 0)
		snprintf(name, sizeof(name), "%s", cw_role_name(cert->role));
	if ((error = name_owner(owner, st, name)) < 0)
		return error;
	if (owner[0]) {
		size_t len = strlen(name);

		snprintf(name + len, sizeof(name) - len, "-%.8s", cert->device_id);
	}
	return upsert(st, cert->device_id, name, cert->role, "", now);
}

int cw_peer_find(cw_peer *out, cw_store *st, const char *name_or_id)
{
	sqlite3_stmt *stmt;
	int rc, error = CW_OK, n = 0;

	if ((error = cw_store__prepare(st, &stmt, sql_get)) < 0)
		return error;
	sqlite3_bind_text(stmt, 1, name_or_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (n == 0 || strcmp((const char *)sqlite3_column_text(stmt, 1), name_or_id) == 0)
			row_peer(out, stmt);
		n++;
	}
	if (rc != SQLITE_DONE)
		error = cw_store__error(st, rc, "reading the peers");
	else if (n == 0)
		error = cw_error(CW_ENOTFOUND, "no peer called %s: add it with `caseway peer add`",
		                 name_or_id);
	else if (n > 1 && strcmp(out->name, name_or_id) != 0 && strcmp(out->device_id, name_or_id) != 0)
		error = cw_error(CW_EINVALID, "%s names more than one peer", name_or_id);
	done_stmt(stmt);
	return error;
}

int cw_peer_each(cw_store *st, int (*fn)(const cw_peer *p, void *ctx), void *ctx)
{
	sqlite3_stmt *stmt = NULL;
	cw_peer p;
	int rc, error = CW_OK;

	/* Not the cache: fn may use the store. */
	if (sqlite3_prepare_v2(cw_store__db(st), sql_all, -1, &stmt, NULL) != SQLITE_OK)
		return cw_store__error(st, SQLITE_ERROR, "reading the peers");
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		row_peer(&p, stmt);
		if ((error = fn(&p, ctx)) != 0)
			break;
	}
	if (error == CW_OK && rc != SQLITE_DONE)
		error = cw_store__error(st, rc, "reading the peers");
	sqlite3_finalize(stmt);
	return error;
}

int cw_peer_next_seq(uint64_t *out, cw_store *st, const char *device)
{
	sqlite3_stmt *stmt;
	int rc, error;

	if ((error = cw_store__prepare(st, &stmt, sql_next)) < 0)
		return error;
	sqlite3_bind_text(stmt, 1, device, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = (uint64_t)sqlite3_column_int64(stmt, 0);
	else
		error = cw_store__error(st, rc, "reading the peers");
	done_stmt(stmt);
	return error;
}

int cw_peer_sent(cw_store *st, const char *device, uint64_t seq, const char *manifest, int64_t at,
                 size_t refs)
{
	sqlite3_stmt *stmt;
	int rc, error;

	if ((error = cw_store__prepare(st, &stmt, sql_sent)) < 0)
		return error;
	sqlite3_bind_text(stmt, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)seq);
	sqlite3_bind_text(stmt, 3, manifest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, at);
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)refs);
	rc = sqlite3_step(stmt);
	error = rc == SQLITE_DONE ? CW_OK : cw_store__error(st, rc, "recording a bundle sent");
	done_stmt(stmt);
	return error;
}

int cw_peer_received_state(int *state, cw_store *st, const char *device, uint64_t seq, const char *manifest)
{
	sqlite3_stmt *stmt;
	int rc, error = CW_OK;

	*state = 0;
	if ((error = cw_store__prepare(st, &stmt, sql_recv_get)) < 0)
		return error;
	sqlite3_bind_text(stmt, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)seq);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*state = strcmp((const char *)sqlite3_column_text(stmt, 0), manifest) == 0 ? 1 : 2;
	else if (rc != SQLITE_DONE)
		error = cw_store__error(st, rc, "reading the bundles received");
	done_stmt(stmt);
	return error;
}

int cw_peer_received(cw_store *st, const char *device, uint64_t seq, const char *manifest, int64_t at)
{
	sqlite3_stmt *stmt;
	int rc, error;

	if ((error = cw_store__prepare(st, &stmt, sql_recv_add)) < 0)
		return error;
	sqlite3_bind_text(stmt, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)seq);
	sqlite3_bind_text(stmt, 3, manifest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, at);
	rc = sqlite3_step(stmt);
	error = rc == SQLITE_DONE ? CW_OK : cw_store__error(st, rc, "recording a bundle received");
	done_stmt(stmt);
	return error;
}

int cw_peer_has(char oid[41], int *found, cw_store *st, const char *device, const char *ref)
{
	sqlite3_stmt *stmt;
	int rc, error = CW_OK;

	*found = 0;
	if ((error = cw_store__prepare(st, &stmt, sql_has_get)) < 0)
		return error;
	sqlite3_bind_text(stmt, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, ref, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(stmt, 0) == 40) {
		memcpy(oid, sqlite3_column_text(stmt, 0), 41);
		*found = 1;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		error = cw_store__error(st, rc, "reading what a peer holds");
	}
	done_stmt(stmt);
	return error;
}

int cw_peer_set_has(cw_store *st, const char *device, const char *ref, const char *oid)
{
	sqlite3_stmt *stmt;
	int rc, error;

	if ((error = cw_store__prepare(st, &stmt, sql_has_set)) < 0)
		return error;
	sqlite3_bind_text(stmt, 1, device, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, ref, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, oid, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	error = rc == SQLITE_DONE ? CW_OK : cw_store__error(st, rc, "recording what a peer holds");
	done_stmt(stmt);
	return error;
}

/* Run sql with device (and ref, when not NULL) bound; *row (optional) = 1
 * when it gave a row. */
static int run2(int *row, cw_store *st, const char *sql, const char *device, const char *ref,
                const char *what)
{
	sqlite3_stmt *stmt;
	int rc, error;

	if ((error = cw_store__prepare(st, &stmt, sql)) < 0)
		return error;
	sqlite3_bind_text(stmt, 1, device, -1, SQLITE_STATIC);
	if (ref)
		sqlite3_bind_text(stmt, 2, ref, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (row)
		*row = rc == SQLITE_ROW;
	error = rc == SQLITE_DONE || rc == SQLITE_ROW ? CW_OK : cw_store__error(st, rc, what);
	done_stmt(stmt);
	return error;
}

int cw_peer_gave_clear(cw_store *st, const char *device)
{
	return run2(NULL, st, sql_gave_clear, device, NULL, "recording what a peer sent");
}

int cw_peer_gave_add(cw_store *st, const char *device, const char *ref)
{
	return run2(NULL, st, sql_gave_add, device, ref, "recording what a peer sent");
}

int cw_peer_gave(int *yes, cw_store *st, const char *device, const char *ref)
{
	return run2(yes, st, sql_gave_get, device, ref, "reading what a peer sent");
}
