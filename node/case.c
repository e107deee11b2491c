/* node/case.c - case operations and reading a case back. */
#include "case.h"
#include "erase.h"
#include "grant.h"
#include "store_internal.h"
#include "../util/error.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_MAX 16384

/* Validate kv against kind k into fields[] (values normalised into arena). */
typedef struct {
	cw_op_field fields[CW_OP_MAX_FIELDS];
	size_t n;
	char *values[CW_OP_MAX_FIELDS];
} change;

static void change_dispose(change *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (c->values[i]) {
			cw_secret_wipe(c->values[i], strlen(c->values[i]));
			free(c->values[i]);
		}
	}
	c->n = 0;
}

static int change_build(change *c, const cw_kind_def *k, const cw_kv *kv, size_t n, int creating)
{
	const char *names[CW_OP_MAX_FIELDS];
	size_t i, j;
	int error = CW_OK;

	memset(c, 0, sizeof(*c));
	if (n == 0)
		return cw_error(CW_EINVALID, "nothing to change: give field=value");
	if (n > CW_OP_MAX_FIELDS)
		return cw_error(CW_EINVALID, "too many fields at once (at most %d)", CW_OP_MAX_FIELDS);
	for (i = 0; i < n; i++) {
		if (strlen(kv[i].name) > CW_FIELD_NAME_MAX) {
			error = cw_error(CW_EINVALID, "unknown field '%.40s' for %s", kv[i].name, k->name);
			goto fail;
		}
		for (j = 0; j < i; j++)
			if (strcmp(kv[i].name, kv[j].name) == 0) {
				error = cw_error(CW_EINVALID, "%s: given twice", kv[i].name);
				goto fail;
			}
		if ((c->values[i] = malloc(VALUE_MAX + 1)) == NULL) {
			error = cw_error_nomem();
			goto fail;
		}
		c->values[i][0] = '\0';
		c->n = i + 1;
		if ((error = cw_model_normalise(c->values[i], VALUE_MAX + 1, k, kv[i].name, kv[i].value)) < 0)
			goto fail;
		snprintf(c->fields[i].name, sizeof(c->fields[i].name), "%s", kv[i].name);
		c->fields[i].value = c->values[i];
		c->fields[i].len = strlen(c->values[i]);
		names[i] = kv[i].name;
	}
	if (creating && (error = cw_model_require(k, names, n)) < 0)
		goto fail;
	return CW_OK;
fail:
	change_dispose(c);
	return error;
}

/* Run fn inside a transaction unless one is open already. */
static int in_txn(cw_store *st, int (*fn)(void *), void *ctx)
{
	int own = sqlite3_get_autocommit(cw_store__db(st)), error;

	if (own && (error = cw_store_begin(st)) < 0)
		return error;
	error = fn(ctx);
	if (own) {
		if (error < 0)
			cw_store_rollback(st);
		else
			error = cw_store_commit(st);
	}
	return error;
}

typedef struct {
	cw_store *st;
	const cw_keys *me;
	const uint8_t *case_id;
	const uint8_t *entity;
	uint8_t kind;
	cw_op_action action;
	change *c;
	const uint8_t *key; /* new case key, when creating */
} write_ctx;

static int do_write(void *p)
{
	write_ctx *w = p;
	int rc, error;

	if (w->key) {
		sqlite3_stmt *stmt;

		if ((error = cw_store__prepare(w->st, &stmt,
		                               "INSERT INTO case_keys(case_id, generation, key)"
		                               " VALUES(?1, 1, ?2)")) < 0)
			return error;
		sqlite3_bind_blob(stmt, 1, w->case_id, CW_ID_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(stmt, 2, w->key, CW_KEY_BYTES, SQLITE_STATIC);
		rc = sqlite3_step(stmt);
		error = rc == SQLITE_DONE ? CW_OK : cw_store__error(w->st, rc, "saving the case key");
		sqlite3_reset(stmt);
		sqlite3_clear_bindings(stmt);
		if (error < 0)
			return error;
	}
	return cw_oplog_write(NULL, w->st, w->me, w->case_id, w->kind, w->entity, w->action,
	                      w->c ? w->c->fields : NULL, w->c ? w->c->n : 0);
}

/* Fields only caseway itself writes. */
static int reserved(const cw_kv *kv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(kv[i].name, "key_generation") == 0)
			return cw_error(CW_EINVALID, "key_generation is set by caseway (unshare, revoke)");
	return CW_OK;
}

int cw_case_create(uint8_t id_out[CW_ID_BYTES], cw_store *st, const cw_keys *me, const cw_kv *kv, size_t n)
{
	const cw_kind_def *k = cw_model_kind(CW_KIND_CASE);
	cw_kv all[CW_OP_MAX_FIELDS];
	uint8_t id[CW_ID_BYTES], key[CW_KEY_BYTES];
	change c;
	write_ctx w;
	size_t i, m = 0;
	int error, has_stage = 0;

	if (n >= CW_OP_MAX_FIELDS)
		return cw_error(CW_EINVALID, "too many fields at once");
	if ((error = reserved(kv, n)) < 0)
		return error;
	for (i = 0; i < n; i++) {
		all[m++] = kv[i];
		has_stage |= strcmp(kv[i].name, "stage") == 0;
	}
	if (!has_stage)
		all[m++] = (cw_kv){ "stage", "inquiry" };
	if ((error = change_build(&c, k, all, m, 1)) < 0)
		return error;
	cw_secret_random_bytes(id, sizeof(id));
	cw_secret_random_bytes(key, sizeof(key));
	w = (write_ctx){ st, me, id, id, CW_KIND_CASE, CW_OP_PUT, &c, key };
	error = in_txn(st, do_write, &w);
	cw_secret_wipe(key, sizeof(key));
	change_dispose(&c);
	if (error == CW_OK)
		memcpy(id_out, id, CW_ID_BYTES);
	return error;
}

static int prefix_ok(const char *prefix)
{
	size_t n = strlen(prefix);

	return n >= 4 && n <= 2 * CW_ID_BYTES && strspn(prefix, "0123456789abcdef") == n;
}

/* Find the one id among rows of sql (?1 = lower bound blob) starting with prefix. */
static int find_by_prefix(uint8_t out[CW_ID_BYTES], uint8_t *kind_out, cw_store *st, const char *sql,
                          const uint8_t *case_id, int kind, const char *prefix, const char *what)
{
	sqlite3_stmt *stmt = NULL;
	char lower[2 * CW_ID_BYTES + 1];
	uint8_t lo[CW_ID_BYTES];
	int rc, found = 0, error = CW_OK;

	if (!prefix_ok(prefix))
		return cw_error(CW_EINVALID, "'%.40s' is not a %s id (4 to 32 hex characters)", prefix, what);
	snprintf(lower, sizeof(lower), "%s", prefix);
	while (strlen(lower) < 2 * CW_ID_BYTES)
		strcat(lower, "0");
	cw_hex_decode(lo, CW_ID_BYTES, lower);
	rc = sqlite3_prepare_v2(cw_store__db(st), sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		error = cw_store__error(st, rc, "finding a case");
		goto done;
	}
	sqlite3_bind_blob(stmt, 1, lo, CW_ID_BYTES, SQLITE_STATIC);
	if (case_id)
		sqlite3_bind_blob(stmt, 2, case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, kind);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		char hex[2 * CW_ID_BYTES + 1];

		if (sqlite3_column_bytes(stmt, 0) != CW_ID_BYTES)
			continue;
		cw_id_hex(hex, sqlite3_column_blob(stmt, 0));
		if (strncmp(hex, prefix, strlen(prefix)) != 0)
			break;
		if (++found > 1) {
			error = cw_error(CW_EINVALID, "'%s' matches more than one %s: give more characters",
			                 prefix, what);
			goto done;
		}
		memcpy(out, sqlite3_column_blob(stmt, 0), CW_ID_BYTES);
		if (kind_out)
			*kind_out = (uint8_t)sqlite3_column_int(stmt, 1);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		error = cw_store__error(st, rc, "finding a case");
		goto done;
	}
	if (!found)
		error = cw_error(CW_ENOTFOUND, "no %s '%s' on this node", what, prefix);
done:
	sqlite3_finalize(stmt);
	return error;
}

int cw_case_find(uint8_t id_out[CW_ID_BYTES], cw_store *st, const char *prefix)
{
	int error = find_by_prefix(id_out, NULL, st,
	                           "SELECT entity, kind FROM entities WHERE kind=1 AND entity>=?1"
	                           " ORDER BY kind, entity",
	                           NULL, 0, prefix, "case");

	/* An erased case is still found by its id (node/erase.h): reading
	 * it says it was erased, changing it is refused. */
	if (error == CW_ENOTFOUND &&
	    find_by_prefix(id_out, NULL, st,
	                   "SELECT case_id, 1 FROM erased WHERE case_id>=?1 ORDER BY case_id", NULL, 0,
	                   prefix, "case") == CW_OK) {
		cw_error_clear();
		error = CW_OK;
	}
	return error;
}

int cw_case_find_item(uint8_t entity_out[CW_ID_BYTES], uint8_t *kind_out, cw_store *st,
                      const uint8_t case_id[CW_ID_BYTES], int kind, const char *prefix)
{
	return find_by_prefix(entity_out, kind_out, st,
	                      "SELECT entity, kind FROM entities WHERE case_id=?2 AND entity>=?1"
	                      " AND (?3=0 OR kind=?3) AND kind<>1 ORDER BY case_id, entity",
	                      case_id, kind, prefix, "item");
}

int cw_case_set(cw_store *st, const cw_keys *me, const uint8_t case_id[CW_ID_BYTES], const cw_kv *kv,
                size_t n)
{
	change c;
	write_ctx w;
	int error;

	if ((error = reserved(kv, n)) < 0 ||
	    (error = change_build(&c, cw_model_kind(CW_KIND_CASE), kv, n, 0)) < 0)
		return error;
	w = (write_ctx){ st, me, case_id, case_id, CW_KIND_CASE, CW_OP_PUT, &c, NULL };
	error = in_txn(st, do_write, &w);
	change_dispose(&c);
	return error;
}

int cw_case_add(uint8_t entity_out[CW_ID_BYTES], cw_store *st, const cw_keys *me,
                const uint8_t case_id[CW_ID_BYTES], cw_kind kind, const cw_kv *kv, size_t n)
{
	const cw_kind_def *k = cw_model_kind(kind);
	uint8_t entity[CW_ID_BYTES];
	change c;
	write_ctx w;
	int error;

	if (k == NULL || kind == CW_KIND_CASE)
		return cw_error(CW_EINVALID, "internal: not an item kind");
	if (kind == CW_KIND_MEMBER) /* its id comes from its device: see cw_case_share */
		return cw_error(CW_EINVALID, "internal: members are added with cw_case_share");
	if ((error = change_build(&c, k, kv, n, 1)) < 0)
		return error;
	cw_secret_random_bytes(entity, sizeof(entity));
	w = (write_ctx){ st, me, case_id, entity, (uint8_t)kind, CW_OP_PUT, &c, NULL };
	error = in_txn(st, do_write, &w);
	change_dispose(&c);
	if (error == CW_OK && entity_out)
		memcpy(entity_out, entity, CW_ID_BYTES);
	return error;
}

static int entity_kind(uint8_t *kind, int *removed, cw_store *st, const uint8_t *case_id,
                       const uint8_t *entity)
{
	sqlite3_stmt *stmt = NULL;
	int rc, error = CW_OK;

	rc = sqlite3_prepare_v2(cw_store__db(st),
	                        "SELECT kind, removed FROM entities WHERE case_id=?1 AND entity=?2", -1,
	                        &stmt, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(stmt, 2, entity, CW_ID_BYTES, SQLITE_STATIC);
		rc = sqlite3_step(stmt);
	}
	if (rc == SQLITE_ROW) {
		*kind = (uint8_t)sqlite3_column_int(stmt, 0);
		*removed = sqlite3_column_int(stmt, 1);
	} else if (rc == SQLITE_DONE) {
		error = cw_error(CW_ENOTFOUND, "no such item in this case");
	} else {
		error = cw_store__error(st, rc, "reading a case");
	}
	sqlite3_finalize(stmt);
	return error;
}

int cw_case_update(cw_store *st, const cw_keys *me, const uint8_t case_id[CW_ID_BYTES],
                   const uint8_t entity[CW_ID_BYTES], const cw_kv *kv, size_t n)
{
	uint8_t kind;
	int removed, error;
	change c;
	write_ctx w;

	if ((error = reserved(kv, n)) < 0)
		return error;
	if ((error = entity_kind(&kind, &removed, st, case_id, entity)) < 0)
		return error;
	if (removed)
		return cw_error(CW_ENOTFOUND, "that item was removed from the case");
	if (kind == CW_KIND_MEMBER) {
		size_t i;

		for (i = 0; i < n; i++)
			if (strcmp(kv[i].name, "device") == 0)
				return cw_error(
				    CW_EINVALID,
				    "device: a member's device cannot change (share the case with "
				    "the other device and remove this member)");
	}
	if ((error = change_build(&c, cw_model_kind(kind), kv, n, 0)) < 0)
		return error;
	w = (write_ctx){ st, me, case_id, entity, kind, CW_OP_PUT, &c, NULL };
	error = in_txn(st, do_write, &w);
	change_dispose(&c);
	return error;
}

int cw_case_remove(cw_store *st, const cw_keys *me, const uint8_t case_id[CW_ID_BYTES],
                   const uint8_t entity[CW_ID_BYTES])
{
	uint8_t kind;
	int removed, error;
	write_ctx w;

	if ((error = entity_kind(&kind, &removed, st, case_id, entity)) < 0)
		return error;
	if (kind == CW_KIND_CASE)
		return cw_error(CW_EINVALID, "a case is not removed: set its stage to cancelled or "
		                             "closed (erasure comes with `caseway erase`)");
	if (removed)
		return cw_error(CW_ENOTFOUND, "that item was already removed");
	w = (write_ctx){ st, me, case_id, entity, kind, CW_OP_REMOVE, NULL, NULL };
	return in_txn(st, do_write, &w);
}

/* --- members ----------------------------------------------------------------------- */

/* The member item of device (16 lower-case hex) in the case. */
static void member_id(uint8_t out[CW_ID_BYTES], const uint8_t case_id[CW_ID_BYTES], const char *device)
{
	static const char tag[] = "cw-member";
	uint8_t in[sizeof(tag) - 1 + CW_ID_BYTES + CW_DEVICE_ID_LEN], h[CW_HASH_BYTES];

	memcpy(in, tag, sizeof(tag) - 1);
	memcpy(in + sizeof(tag) - 1, case_id, CW_ID_BYTES);
	memcpy(in + sizeof(tag) - 1 + CW_ID_BYTES, device, CW_DEVICE_ID_LEN);
	cw_keys_hash(h, in, sizeof(in));
	memcpy(out, h, CW_ID_BYTES);
}

typedef struct {
	write_ctx w;
	int added;
} share_ctx;

/* In one transaction: the case is here, the member is not (or was removed), write. */
static int do_share(void *p)
{
	share_ctx *s = p;
	uint8_t kind;
	int removed, error;
	char hex[2 * CW_ID_BYTES + 1];

	if ((error = entity_kind(&kind, &removed, s->w.st, s->w.case_id, s->w.case_id)) < 0) {
		if (error != CW_ENOTFOUND)
			return error;
		cw_id_hex(hex, s->w.case_id);
		return cw_error(CW_ENOTFOUND, "no case %s on this node", hex);
	}
	error = entity_kind(&kind, &removed, s->w.st, s->w.case_id, s->w.entity);
	if (error == CW_ENOTFOUND) {
		cw_error_clear();
		removed = 1; /* never shared: the same as shared and removed */
	} else if (error < 0) {
		return error;
	} else if (kind != CW_KIND_MEMBER) {
		return cw_error(CW_ERROR, "internal: a member's id names another kind of item");
	}
	if (!removed)
		return CW_OK;
	if ((error = do_write(&s->w)) < 0)
		return error;
	s->added = 1;
	return CW_OK;
}

int cw_case_share(int *added_out, cw_store *st, const cw_keys *me, const uint8_t case_id[CW_ID_BYTES],
                  const char *device_id, const char *name, const char *role)
{
	cw_kv kv[3];
	uint8_t entity[CW_ID_BYTES];
	size_t n = 0;
	change c;
	share_ctx s;
	int error;

	*added_out = 0;
	if (device_id == NULL)
		return cw_error(CW_EINVALID, "device must be a 16-character device id");
	kv[n++] = (cw_kv){ "device", device_id };
	if (name)
		kv[n++] = (cw_kv){ "name", name };
	if (role)
		kv[n++] = (cw_kv){ "role", role };
	/* device is first: c.values[0] is its normal form (lower case) */
	if ((error = change_build(&c, cw_model_kind(CW_KIND_MEMBER), kv, n, 1)) < 0)
		return error;
	member_id(entity, case_id, c.values[0]);
	memset(&s, 0, sizeof(s));
	s.w = (write_ctx){ st, me, case_id, entity, CW_KIND_MEMBER, CW_OP_PUT, &c, NULL };
	error = in_txn(st, do_share, &s);
	change_dispose(&c);
	if (error == CW_OK)
		*added_out = s.added;
	return error;
}

typedef struct {
	cw_store *st;
	const cw_keys *me;
	const uint8_t *case_id;
	const char *device; /* unshare: the member to remove; NULL: rotate only */
	uint32_t generation;
	int removed;
} rotate_ctx;

/* In one transaction: remove the member (when given and still a member),
 * make the next generation of the case key and record it in the case. */
static int do_rotate(void *p)
{
	rotate_ctx *r = p;
	uint8_t kind, key[CW_KEY_BYTES], entity[CW_ID_BYTES];
	uint32_t gen;
	sqlite3_stmt *stmt;
	cw_op_field f;
	char text[16];
	int removed, rc, error;

	if (r->device) {
		member_id(entity, r->case_id, r->device);
		error = entity_kind(&kind, &removed, r->st, r->case_id, entity);
		if (error == CW_ENOTFOUND || (error == CW_OK && removed))
			return cw_error(CW_ENOTFOUND, "the case is not shared with device %s", r->device);
		if (error < 0)
			return error;
		if ((error = cw_oplog_write(NULL, r->st, r->me, r->case_id, CW_KIND_MEMBER, entity,
		                            CW_OP_REMOVE, NULL, 0)) < 0)
			return error;
		r->removed = 1;
	}
	if ((error = cw_grant_generation(&gen, r->st, r->case_id)) < 0)
		return error;
	/* The next number, plus a random jump: two members that rotate the same
	 * case before hearing of each other almost surely pick different
	 * numbers (the same number with two keys would be refused). */
	{
		uint16_t jump;

		cw_secret_random_bytes(&jump, sizeof(jump));
		if (gen > (uint32_t)INT32_MAX - 1 - 65535u)
			return cw_error(CW_EINVALID, "the case key cannot be rotated any more");
		gen += 1u + jump;
	}
	cw_secret_random_bytes(key, sizeof(key));
	if ((error = cw_store__prepare(
	         r->st, &stmt, "INSERT INTO case_keys(case_id, generation, key) VALUES(?1, ?2, ?3)")) < 0)
		goto done;
	sqlite3_bind_blob(stmt, 1, r->case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, gen);
	sqlite3_bind_blob(stmt, 3, key, CW_KEY_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	error = rc == SQLITE_DONE ? CW_OK : cw_store__error(r->st, rc, "saving the new case key");
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (error < 0)
		goto done;
	snprintf(text, sizeof(text), "%" PRIu32, gen);
	memset(&f, 0, sizeof(f));
	snprintf(f.name, sizeof(f.name), "key_generation");
	f.value = text;
	f.len = strlen(text);
	if ((error = cw_oplog_write(NULL, r->st, r->me, r->case_id, CW_KIND_CASE, r->case_id, CW_OP_PUT, &f,
	                            1)) < 0)
		goto done;
	r->generation = gen;
done:
	cw_secret_wipe(key, sizeof(key));
	return error;
}

int cw_case_rotate(uint32_t *generation_out, cw_store *st, const cw_keys *me,
                   const uint8_t case_id[CW_ID_BYTES])
{
	rotate_ctx r = { st, me, case_id, NULL, 0, 0 };
	int error = in_txn(st, do_rotate, &r);

	if (error == CW_OK && generation_out)
		*generation_out = r.generation;
	return error;
}

int cw_case_unshare(uint32_t *generation_out, cw_store *st, const cw_keys *me,
                    const uint8_t case_id[CW_ID_BYTES], const char *device_id)
{
	char dev[CW_DEVICE_ID_LEN + 1];
	rotate_ctx r;
	size_t i;
	int error;

	if (device_id == NULL || strlen(device_id) != CW_DEVICE_ID_LEN)
		return cw_error(CW_EINVALID, "device must be a 16-character device id");
	for (i = 0; i <= CW_DEVICE_ID_LEN; i++)
		dev[i] = (char)tolower((unsigned char)device_id[i]);
	if (!cw_is_lower_hex(dev, CW_DEVICE_ID_LEN))
		return cw_error(CW_EINVALID, "device must be a 16-character device id");
	r = (rotate_ctx){ st, me, case_id, dev, 0, 0 };
	error = in_txn(st, do_rotate, &r);
	if (error == CW_OK && generation_out)
		*generation_out = r.generation;
	return error;
}

int cw_case_each_readable(cw_store *st, int (*fn)(const uint8_t case_id[CW_ID_BYTES], void *ctx), void *ctx)
{
	sqlite3_stmt *stmt = NULL;
	int rc, error = CW_OK;

	rc = sqlite3_prepare_v2(cw_store__db(st), "SELECT DISTINCT case_id FROM case_keys ORDER BY case_id",
	                        -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return cw_store__error(st, rc, "reading the case keys");
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		if (sqlite3_column_bytes(stmt, 0) == CW_ID_BYTES &&
		    (error = fn(sqlite3_column_blob(stmt, 0), ctx)) != 0)
			break;
	if (error == CW_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		error = cw_store__error(st, rc, "reading the case keys");
	sqlite3_finalize(stmt);
	return error;
}

int cw_case_with_member(cw_store *st, const char *device_id,
                        int (*fn)(const uint8_t case_id[CW_ID_BYTES], void *ctx), void *ctx)
{
	sqlite3_stmt *stmt = NULL;
	int rc, error = CW_OK;

	rc = sqlite3_prepare_v2(cw_store__db(st),
	                        "SELECT DISTINCT e.case_id FROM entities e JOIN fields f"
	                        " ON f.case_id=e.case_id AND f.entity=e.entity AND f.name='device'"
	                        " WHERE e.kind=?1 AND e.removed=0 AND f.value=?2 ORDER BY e.case_id",
	                        -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return cw_store__error(st, rc, "reading who cases are shared with");
	sqlite3_bind_int(stmt, 1, CW_KIND_MEMBER);
	sqlite3_bind_text(stmt, 2, device_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		if (sqlite3_column_bytes(stmt, 0) == CW_ID_BYTES &&
		    (error = fn(sqlite3_column_blob(stmt, 0), ctx)) != 0)
			break;
	if (error == CW_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		error = cw_store__error(st, rc, "reading who cases are shared with");
	sqlite3_finalize(stmt);
	return error;
}

static int device_ok(const unsigned char *v, int len)
{
	int i;

	if (v == NULL || len != CW_DEVICE_ID_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
			return 0;
	return 1;
}

int cw_case_members(char (**out)[CW_DEVICE_ID_LEN + 1], size_t *n_out, cw_store *st,
                    const uint8_t case_id[CW_ID_BYTES])
{
	sqlite3_stmt *stmt = NULL;
	char(*list)[CW_DEVICE_ID_LEN + 1] = NULL;
	size_t n = 0, alloc = 0;
	int rc, error = CW_OK;

	*out = NULL;
	*n_out = 0;
	rc = sqlite3_prepare_v2(cw_store__db(st),
	                        "SELECT DISTINCT f.value FROM entities e JOIN fields f"
	                        " ON f.case_id=e.case_id AND f.entity=e.entity AND f.name='device'"
	                        " WHERE e.case_id=?1 AND e.kind=?2 AND e.removed=0 ORDER BY f.value",
	                        -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		error = cw_store__error(st, rc, "reading who a case is shared with");
		goto done;
	}
	sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, CW_KIND_MEMBER);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(stmt, 0);

		/* a value from elsewhere is not checked against the model: skip what is no device id */
		if (!device_ok(v, sqlite3_column_bytes(stmt, 0)))
			continue;
		if (n == alloc) {
			void *p = realloc(list, (alloc = alloc ? alloc * 2 : 8) * sizeof(*list));

			if (p == NULL) {
				error = cw_error_nomem();
				goto done;
			}
			list = p;
		}
		memcpy(list[n], v, CW_DEVICE_ID_LEN);
		list[n][CW_DEVICE_ID_LEN] = '\0';
		n++;
	}
	if (rc != SQLITE_DONE) {
		error = cw_store__error(st, rc, "reading who a case is shared with");
		goto done;
	}
	*out = list;
	*n_out = n;
	list = NULL;
done:
	sqlite3_finalize(stmt);
	free(list);
	return error;
}

int cw_case_resolve(cw_store *st, const cw_keys *me, const char *conflict_id, const char *value)
{
	sqlite3_stmt *stmt = NULL;
	uint8_t case_id[CW_ID_BYTES], entity[CW_ID_BYTES], kind;
	char field[CW_FIELD_NAME_MAX + 1];
	cw_kv kv;
	change c;
	write_ctx w;
	int rc, error = CW_OK, removed;

	rc = sqlite3_prepare_v2(cw_store__db(st), "SELECT case_id, entity, name FROM conflicts WHERE id=?1",
	                        -1, &stmt, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(stmt, 1, conflict_id, -1, SQLITE_STATIC);
		rc = sqlite3_step(stmt);
	}
	if (rc == SQLITE_ROW && sqlite3_column_bytes(stmt, 0) == CW_ID_BYTES &&
	    sqlite3_column_bytes(stmt, 1) == CW_ID_BYTES) {
		memcpy(case_id, sqlite3_column_blob(stmt, 0), CW_ID_BYTES);
		memcpy(entity, sqlite3_column_blob(stmt, 1), CW_ID_BYTES);
		snprintf(field, sizeof(field), "%s", (const char *)sqlite3_column_text(stmt, 2));
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		error = cw_error(CW_ENOTFOUND, "no open conflict '%.20s' (see `caseway conflicts`)",
		                 conflict_id);
	} else {
		error = cw_store__error(st, rc, "reading conflicts");
	}
	sqlite3_finalize(stmt);
	if (error < 0)
		return error;
	if ((error = entity_kind(&kind, &removed, st, case_id, entity)) < 0)
		return error;
	kv.name = field;
	kv.value = value;
	if ((error = change_build(&c, cw_model_kind(kind), &kv, 1, 0)) < 0)
		return error;
	w = (write_ctx){ st, me, case_id, entity, kind, CW_OP_RESOLVE, &c, NULL };
	error = in_txn(st, do_write, &w);
	change_dispose(&c);
	return error;
}

int cw_case_key_at(cw_secret **out, uint32_t *generation_out, cw_store *st,
                   const uint8_t case_id[CW_ID_BYTES], uint32_t generation)
{
	sqlite3_stmt *stmt = NULL;
	int rc, error;

	*out = NULL;
	rc = sqlite3_prepare_v2(
	    cw_store__db(st),
	    generation ? "SELECT key, generation FROM case_keys WHERE case_id=?1 AND generation=?2"
	               : "SELECT key, generation FROM case_keys WHERE case_id=?1"
	                 " ORDER BY generation DESC LIMIT 1",
	    -1, &stmt, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
		if (generation)
			sqlite3_bind_int64(stmt, 2, generation);
		rc = sqlite3_step(stmt);
	}
	if (rc == SQLITE_ROW && sqlite3_column_bytes(stmt, 0) == CW_KEY_BYTES) {
		error = cw_secret_from(out, sqlite3_column_blob(stmt, 0), CW_KEY_BYTES);
		if (generation_out)
			*generation_out = (uint32_t)sqlite3_column_int64(stmt, 1);
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		error = cw_error(CW_ENOTFOUND, "this node does not hold the key of that case");
	} else {
		error = cw_store__error(st, rc, "reading the case key");
	}
	sqlite3_finalize(stmt);
	return error;
}

int cw_case_key_below(cw_secret **out, uint32_t *generation_out, cw_store *st,
                      const uint8_t case_id[CW_ID_BYTES], uint32_t below)
{
	sqlite3_stmt *stmt = NULL;
	int rc, error;

	*out = NULL;
	rc = sqlite3_prepare_v2(cw_store__db(st),
	                        "SELECT key, generation FROM case_keys WHERE case_id=?1 AND generation<?2"
	                        " ORDER BY generation DESC LIMIT 1",
	                        -1, &stmt, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_blob(stmt, 1, case_id, CW_ID_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 2, below);
		rc = sqlite3_step(stmt);
	}
	if (rc == SQLITE_ROW && sqlite3_column_bytes(stmt, 0) == CW_KEY_BYTES) {
		error = cw_secret_from(out, sqlite3_column_blob(stmt, 0), CW_KEY_BYTES);
		*generation_out = (uint32_t)sqlite3_column_int64(stmt, 1);
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		error = cw_error(CW_ENOTFOUND, "this node holds no older key of that case");
	} else {
		error = cw_store__error(st, rc, "reading the case key");
	}
	sqlite3_finalize(stmt);
	return error;
}

int cw_case_key(cw_secret **out, cw_store *st, const uint8_t case_id[CW_ID_BYTES])
{
	return cw_case_key_at(out, NULL, st, case_id, 0);
}

/* --- reading back ------------------------------------------------------------------- */

typedef struct arena_block {
	struct arena_block *next;
	size_t used, size;
	char data[];
} arena_block;

static void *arena_alloc(cw_case_view *v, size_t n)
{
	arena_block *b = v->arena;

	n = (n + 15) & ~(size_t)15;
	if (b == NULL || b->size - b->used < n) {
		size_t size = n > 65536 ? n : 65536;

		if ((b = malloc(sizeof(*b) + size)) == NULL)
			return NULL;
		b->next = v->arena;
		b->used = 0;
		b->size = size;
		v->arena = b;
	}
	b->used += n;
	return b->data + b->used - n;
}

static char *arena_text(cw_case_view *v, const unsigned char *s, int len)
{
	char *p = arena_alloc(v, (size_t)len + 1);

	if (p) {
		if (len)
			memcpy(p, s, (size_t)len);
		p[len] = '\0';
	}
	return p;
}

void cw_case_view_free(cw_case_view *v)
{
	arena_block *b, *next;

	if (v == NULL)
		return;
	for (b = v->arena; b; b = next) {
		next = b->next;
		free(b);
	}
	free(v);
}

const char *cw_view_get(const cw_view_entity *e, const char *name)
{
	size_t lo = 0, hi = e ? e->nfields : 0;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(e->fields[mid].name, name);

		if (c == 0)
			return e->fields[mid].value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int load_entities(cw_case_view *v, cw_store *st)
{
	sqlite3_stmt *stmt = NULL;
	size_t alloc = 16;
	int rc, error = CW_OK;

	if ((v->entities = arena_alloc(v, alloc * sizeof(*v->entities))) == NULL)
		return cw_error_nomem();
	rc = sqlite3_prepare_v2(cw_store__db(st),
	                        "SELECT entity, kind, created_hlc, creator, removed FROM entities"
	                        " WHERE case_id=?1 ORDER BY kind, created_hlc, entity",
	                        -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		error = cw_store__error(st, rc, "reading a case");
		goto done;
	}
	sqlite3_bind_blob(stmt, 1, v->id, CW_ID_BYTES, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		cw_view_entity *e;

		if (v->nentities == alloc) {
			cw_view_entity *ne = arena_alloc(v, 2 * alloc * sizeof(*ne));

			if (ne == NULL) {
				error = cw_error_nomem();
				goto done;
			}
			memcpy(ne, v->entities, alloc * sizeof(*ne));
			v->entities = ne;
			alloc *= 2;
		}
		e = &v->entities[v->nentities++];
		memset(e, 0, sizeof(*e));
		if (sqlite3_column_bytes(stmt, 0) == CW_ID_BYTES)
			memcpy(e->id, sqlite3_column_blob(stmt, 0), CW_ID_BYTES);
		cw_id_hex(e->hex, e->id);
		e->kind = (cw_kind)sqlite3_column_int(stmt, 1);
		e->created_hlc = (uint64_t)sqlite3_column_int64(stmt, 2);
		if (sqlite3_column_bytes(stmt, 3) == CW_AUTHOR_BYTES)
			cw_author_hex(e->creator, sqlite3_column_blob(stmt, 3));
		e->removed = sqlite3_column_int(stmt, 4);
	}
	if (rc != SQLITE_DONE)
		error = cw_store__error(st, rc, "reading a case");
done:
	sqlite3_finalize(stmt);
	return error;
}

static cw_view_entity *entity_of(cw_case_view *v, const void *id)
{
	size_t i;

	for (i = 0; i < v->nentities; i++)
		if (memcmp(v->entities[i].id, id, CW_ID_BYTES) == 0)
			return &v->entities[i];
	return NULL;
}

static int load_fields(cw_case_view *v, cw_store *st)
{
	sqlite3_stmt *stmt = NULL;
	size_t i;
	int rc, error = CW_OK;

	/* count per entity first, then fill: two passes over one ordered query */
	rc = sqlite3_prepare_v2(cw_store__db(st),
	                        "SELECT entity, name, value, hlc, author FROM fields WHERE case_id=?1"
	                        " ORDER BY entity, name",
	                        -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		error = cw_store__error(st, rc, "reading a case");
		goto done;
	}
	sqlite3_bind_blob(stmt, 1, v->id, CW_ID_BYTES, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		cw_view_entity *e = entity_of(v, sqlite3_column_blob(stmt, 0));

		if (e)
			e->nfields++;
	}
	if (rc != SQLITE_DONE) {
		error = cw_store__error(st, rc, "reading a case");
		goto done;
	}
	for (i = 0; i < v->nentities; i++) {
		cw_view_entity *e = &v->entities[i];

		if ((e->fields = arena_alloc(v, (e->nfields ? e->nfields : 1) * sizeof(*e->fields))) ==
		    NULL) {
			error = cw_error_nomem();
			goto done;
		}
		e->nfields = 0;
	}
	sqlite3_reset(stmt);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		cw_view_entity *e = entity_of(v, sqlite3_column_blob(stmt, 0));
		cw_view_field *f;

		if (e == NULL)
			continue;
		f = &e->fields[e->nfields++];
		f->name = arena_text(v, sqlite3_column_text(stmt, 1), sqlite3_column_bytes(stmt, 1));
		f->value = arena_text(v, sqlite3_column_text(stmt, 2), sqlite3_column_bytes(stmt, 2));
		f->hlc = (uint64_t)sqlite3_column_int64(stmt, 3);
		f->author[0] = '\0';
		if (sqlite3_column_bytes(stmt, 4) == CW_AUTHOR_BYTES)
			cw_author_hex(f->author, sqlite3_column_blob(stmt, 4));
		if (f->name == NULL || f->value == NULL) {
			error = cw_error_nomem();
			goto done;
		}
	}
	if (rc != SQLITE_DONE)
		error = cw_store__error(st, rc, "reading a case");
done:
	sqlite3_finalize(stmt);
	return error;
}

static int load_conflicts(cw_case_view *v, cw_store *st)
{
	sqlite3_stmt *stmt = NULL;
	size_t i;
	int rc, error = CW_OK;

	rc = sqlite3_prepare_v2(cw_store__db(st),
	                        "SELECT c.id, c.entity, c.name, v.author, v.hlc, v.value,"
	                        " (SELECT count(*) FROM conflict_values w WHERE w.conflict=c.id)"
	                        " FROM conflicts c JOIN conflict_values v ON v.conflict=c.id"
	                        " WHERE c.case_id=?1 ORDER BY c.entity, c.name, v.hlc DESC, v.author",
	                        -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		error = cw_store__error(st, rc, "reading conflicts");
		goto done;
	}
	sqlite3_bind_blob(stmt, 1, v->id, CW_ID_BYTES, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(stmt, 0);
		cw_view_conflict *c = v->nconflicts ? &v->conflicts[v->nconflicts - 1] : NULL;
		cw_view_value *val;

		if (c == NULL || strcmp(c->id, id) != 0) {
			cw_view_conflict *nc = arena_alloc(v, (v->nconflicts + 1) * sizeof(*nc));
			cw_view_entity *e = entity_of(v, sqlite3_column_blob(stmt, 1));
			size_t nv = (size_t)sqlite3_column_int(stmt, 6);

			if (nc == NULL) {
				error = cw_error_nomem();
				goto done;
			}
			if (v->nconflicts)
				memcpy(nc, v->conflicts, v->nconflicts * sizeof(*nc));
			v->conflicts = nc;
			c = &v->conflicts[v->nconflicts++];
			memset(c, 0, sizeof(*c));
			snprintf(c->id, sizeof(c->id), "%s", id);
			if (sqlite3_column_bytes(stmt, 1) == CW_ID_BYTES)
				memcpy(c->entity, sqlite3_column_blob(stmt, 1), CW_ID_BYTES);
			c->kind = e ? e->kind : 0;
			c->field = arena_text(v, sqlite3_column_text(stmt, 2), sqlite3_column_bytes(stmt, 2));
			c->shown = e ? cw_view_get(e, c->field) : NULL;
			if ((c->values = arena_alloc(v, (nv ? nv : 1) * sizeof(*c->values))) == NULL) {
				error = cw_error_nomem();
				goto done;
			}
		}
		val = &c->values[c->nvalues++];
		val->author[0] = '\0';
		if (sqlite3_column_bytes(stmt, 3) == CW_AUTHOR_BYTES)
			cw_author_hex(val->author, sqlite3_column_blob(stmt, 3));
		val->hlc = (uint64_t)sqlite3_column_int64(stmt, 4);
		val->value = arena_text(v, sqlite3_column_text(stmt, 5), sqlite3_column_bytes(stmt, 5));
	}
	if (rc != SQLITE_DONE)
		error = cw_store__error(st, rc, "reading conflicts");
	for (i = 0; i < v->nconflicts; i++)
		if (v->conflicts[i].shown == NULL)
			v->conflicts[i].shown = "";
done:
	sqlite3_finalize(stmt);
	return error;
}

int cw_case_load(cw_case_view **out, cw_store *st, const uint8_t case_id[CW_ID_BYTES])
{
	cw_case_view *v = NULL;
	size_t i;
	int error, in_snapshot = 0;

	*out = NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	memcpy(v->id, case_id, CW_ID_BYTES);
	cw_id_hex(v->hex, case_id);
	/* one snapshot for every query, so what is shown and its digest agree */
	if ((error = cw_store__exec(st, "SAVEPOINT case_load")) < 0)
		goto done;
	in_snapshot = 1;
	if ((error = load_entities(v, st)) < 0 || (error = load_fields(v, st)) < 0 ||
	    (error = load_conflicts(v, st)) < 0 || (error = cw_oplog_digest(v->digest, st, case_id)) < 0)
		goto done;
	for (i = 0; i < v->nentities; i++)
		if (v->entities[i].kind == CW_KIND_CASE)
			v->self = &v->entities[i];
	if (v->self == NULL) {
		int erased = 0;

		if (cw_erase_is(&erased, st, case_id) < 0)
			cw_error_clear();
		error = cw_error(CW_ENOTFOUND,
		                 erased ? "case %s was erased (right to be forgotten)"
		                        : "no case %s on this node",
		                 v->hex);
		goto done;
	}
	*out = v;
	v = NULL;
done:
	if (in_snapshot)
		cw_store__exec(st, "RELEASE case_load");
	cw_case_view_free(v);
	return error;
}

int cw_case_list(cw_store *st, const char *stage, const char *search,
                 int (*fn)(const cw_case_summary *s, void *ctx), void *ctx)
{
	sqlite3_stmt *stmt = NULL;
	int rc, error = CW_OK;

	rc = sqlite3_prepare_v2(
	    cw_store__db(st),
	    "SELECT e.entity, n.value, s.value, e.created_hlc,"
	    " (SELECT max(f.hlc) FROM fields f WHERE f.case_id=e.case_id),"
	    " (SELECT count(*) FROM conflicts c WHERE c.case_id=e.case_id)"
	    " FROM entities e"
	    " LEFT JOIN fields n ON n.case_id=e.case_id AND n.entity=e.entity AND n.name='name'"
	    " LEFT JOIN fields s ON s.case_id=e.case_id AND s.entity=e.entity AND s.name='stage'"
	    " WHERE e.kind=1 AND (?1 IS NULL OR s.value=?1)"
	    " AND (?2 IS NULL OR e.case_id IN (SELECT c.case_id FROM cases c JOIN search"
	    "  ON search.rowid=c.n WHERE search MATCH ?2))"
	    " ORDER BY e.created_hlc DESC, e.entity",
	    -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		error = cw_store__error(st, rc, "listing cases");
		goto done;
	}
	if (stage)
		sqlite3_bind_text(stmt, 1, stage, -1, SQLITE_STATIC);
	if (search) {
		/* each word as a quoted prefix term: user text never becomes FTS syntax */
		cw_buf q = CW_BUF_INIT;
		const char *p = search;

		while (*p) {
			const char *w;

			while (*p && (isspace((unsigned char)*p) || *p == '"'))
				p++;
			w = p;
			while (*p && !isspace((unsigned char)*p) && *p != '"')
				p++;
			if (p > w) {
				if ((q.len && cw_buf_put(&q, " ", 1) < 0) || cw_buf_put(&q, "\"", 1) < 0 ||
				    cw_buf_put(&q, w, (size_t)(p - w)) < 0 || cw_buf_put(&q, "\"*", 2) < 0) {
					cw_buf_dispose(&q);
					error = cw_error_nomem();
					goto done;
				}
			}
		}
		if (q.len == 0) {
			cw_buf_dispose(&q);
			error = cw_error(CW_EINVALID, "--search needs a word to look for");
			goto done;
		}
		sqlite3_bind_text(stmt, 2, (const char *)q.data, (int)q.len, SQLITE_TRANSIENT);
		cw_buf_dispose(&q);
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		cw_case_summary s;
		char hex[2 * CW_ID_BYTES + 1];

		if (sqlite3_column_bytes(stmt, 0) != CW_ID_BYTES)
			continue;
		cw_id_hex(hex, sqlite3_column_blob(stmt, 0));
		s.hex = hex;
		s.patient = sqlite3_column_text(stmt, 1) ? (const char *)sqlite3_column_text(stmt, 1) : "";
		s.stage = sqlite3_column_text(stmt, 2) ? (const char *)sqlite3_column_text(stmt, 2) : "";
		s.created_hlc = (uint64_t)sqlite3_column_int64(stmt, 3);
		s.updated_hlc = (uint64_t)sqlite3_column_int64(stmt, 4);
		s.conflicts = sqlite3_column_int(stmt, 5);
		if ((error = fn(&s, ctx)) < 0)
			goto done;
	}
	if (rc != SQLITE_DONE)
		error = cw_store__error(st, rc, "listing cases");
done:
	sqlite3_finalize(stmt);
	return error;
}
