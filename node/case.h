/*
 * node/case.h - cases as coordinators work with them: create, change, add
 * and remove items, settle conflicts, and read a case back whole.
 *
 * Every change is validated against node/model.h (CW_EINVALID naming the
 * field; nothing written) and becomes one signed op (node/oplog.h) written
 * in the caller's transaction or, when none is open, in its own.
 */
#ifndef CW_CASE_H
#define CW_CASE_H

#include "model.h"
#include "oplog.h"
#include "store.h"

typedef struct {
	const char *name;
	const char *value;
} cw_kv;

/* Create a case (fields of kind "case"; name required; stage defaults to
 * inquiry) with a fresh random case key. */
int cw_case_create(uint8_t id_out[CW_ID_BYTES], cw_store *st, const cw_keys *me, const cw_kv *kv, size_t n);

/* A case id from its hex id or any unique prefix (4+ characters). */
int cw_case_find(uint8_t id_out[CW_ID_BYTES], cw_store *st, const char *prefix);

/* Set fields of the case itself. */
int cw_case_set(cw_store *st, const cw_keys *me, const uint8_t case_id[CW_ID_BYTES], const cw_kv *kv,
                size_t n);

/* Add an item of a collection kind; its required fields must be given.
 * Members are not added here: see cw_case_share. */
int cw_case_add(uint8_t entity_out[CW_ID_BYTES], cw_store *st, const cw_keys *me,
                const uint8_t case_id[CW_ID_BYTES], cw_kind kind, const cw_kv *kv, size_t n);

/* Change fields of an existing item (a member's device cannot change). */
int cw_case_update(cw_store *st, const cw_keys *me, const uint8_t case_id[CW_ID_BYTES],
                   const uint8_t entity[CW_ID_BYTES], const cw_kv *kv, size_t n);

/* Remove an item (a tombstone op). */
int cw_case_remove(cw_store *st, const cw_keys *me, const uint8_t case_id[CW_ID_BYTES],
                   const uint8_t entity[CW_ID_BYTES]);

/* An item of the case from its hex id or unique prefix; kind 0 = any. */
int cw_case_find_item(uint8_t entity_out[CW_ID_BYTES], uint8_t *kind_out, cw_store *st,
                      const uint8_t case_id[CW_ID_BYTES], int kind, const char *prefix);

/* Settle conflict `id` (from `caseway conflicts`) by writing `value`, which
 * must be valid for the field. */
int cw_case_resolve(cw_store *st, const cw_keys *me, const char *conflict_id, const char *value);

/* Share the case with a device: a member item (kind "member") whose entity
 * id is the first 16 bytes of BLAKE2b-256("cw-member" || case_id || device
 * id as 16 lower-case ASCII hex), so every node that shares the case with
 * the same device names the same item and concurrent shares converge to
 * one. device_id: 16 hex characters, either case (CW_EINVALID otherwise);
 * name (NULL: none) and role (NULL: none; coordinator, hub, clinic or
 * doctor) are checked like any field. *added_out = 1 when a member op was
 * written; 0, and nothing written, when the device already is a member (its
 * name and role are left as they are: change them with cw_case_update). A
 * removed member is shared again by a new put on the same item (add wins);
 * fields not given keep their values from before the removal. CW_ENOTFOUND
 * when the case is not on this node. Unsharing is cw_case_remove on the
 * member item. */
int cw_case_share(int *added_out, cw_store *st, const cw_keys *me, const uint8_t case_id[CW_ID_BYTES],
                  const char *device_id, const char *name, const char *role);

/* The current members' device ids (16 lower-case hex + NUL each), sorted
 * and without repeats, removed members left out: a malloc'd array in *out
 * (free(); NULL when there are none) of *n_out entries. */
int cw_case_members(char (**out)[CW_DEVICE_ID_LEN + 1], size_t *n_out, cw_store *st,
                    const uint8_t case_id[CW_ID_BYTES]);

/* The newest case key (32 bytes, guarded). */
int cw_case_key(cw_secret **out, cw_store *st, const uint8_t case_id[CW_ID_BYTES]);
/* Generation `generation` of the case key (0: the newest); generation_out
 * (may be NULL) gets the one returned. CW_ENOTFOUND when not held. */
int cw_case_key_at(cw_secret **out, uint32_t *generation_out, cw_store *st,
                   const uint8_t case_id[CW_ID_BYTES], uint32_t generation);
/* The newest generation of the case key below `below` (to walk back through
 * the generations held). CW_ENOTFOUND when there is none. */
int cw_case_key_below(cw_secret **out, uint32_t *generation_out, cw_store *st,
                      const uint8_t case_id[CW_ID_BYTES], uint32_t below);

/* --- reading a case back ------------------------------------------------------- */

typedef struct {
	const char *name;
	const char *value;
	uint64_t hlc;
	char author[CW_DEVICE_ID_LEN + 1];
} cw_view_field;

typedef struct {
	uint8_t id[CW_ID_BYTES];
	char hex[2 * CW_ID_BYTES + 1];
	cw_kind kind;
	uint64_t created_hlc;
	char creator[CW_DEVICE_ID_LEN + 1];
	int removed;
	size_t nfields;
	cw_view_field *fields; /* sorted by name */
} cw_view_entity;

typedef struct {
	char author[CW_DEVICE_ID_LEN + 1];
	uint64_t hlc;
	const char *value;
} cw_view_value;

typedef struct {
	char id[17];
	uint8_t entity[CW_ID_BYTES];
	cw_kind kind;
	const char *field;
	const char *shown; /* the value shown until it is settled */
	size_t nvalues;
	cw_view_value *values;
} cw_view_conflict;

typedef struct {
	uint8_t id[CW_ID_BYTES];
	char hex[2 * CW_ID_BYTES + 1];
	cw_view_entity *self;     /* the case entity (patient, stage...) */
	size_t nentities;         /* every entity, removed ones included */
	cw_view_entity *entities; /* by kind, then creation (hlc), then id */
	size_t nconflicts;
	cw_view_conflict *conflicts;
	uint8_t digest[CW_HASH_BYTES];
	void *arena; /* internal */
} cw_case_view;

int cw_case_load(cw_case_view **out, cw_store *st, const uint8_t case_id[CW_ID_BYTES]);
void cw_case_view_free(cw_case_view *v);

/* The value of field name on e, or NULL when unset. */
const char *cw_view_get(const cw_view_entity *e, const char *name);

/* Cases for `case list`: stage (NULL any), search text (NULL none; FTS5
 * over names, notes and procedures). Calls fn for each, newest first. */
typedef struct {
	const char *hex;
	const char *patient;
	const char *stage;
	uint64_t created_hlc;
	uint64_t updated_hlc;
	int conflicts;
} cw_case_summary;

int cw_case_list(cw_store *st, const char *stage, const char *search,
                 int (*fn)(const cw_case_summary *s, void *ctx), void *ctx);

/* Start the next generation of the case key (a new random key, never
 * derived from the old) and record it in the case (field key_generation,
 * written by me), so later ops and documents use it and its grants go only
 * to the members at the time of the next sync. */
int cw_case_rotate(uint32_t *generation_out, cw_store *st, const cw_keys *me,
                   const uint8_t case_id[CW_ID_BYTES]);

/* Stop sharing the case with device_id: remove its member item and rotate
 * the key, in one transaction. CW_ENOTFOUND when it is not a member. */
int cw_case_unshare(uint32_t *generation_out, cw_store *st, const cw_keys *me,
                    const uint8_t case_id[CW_ID_BYTES], const char *device_id);

/* fn(case) for every case this node holds a key of; non-zero from fn stops.
 * fn must not write to the store (collect, then write). */
int cw_case_each_readable(cw_store *st, int (*fn)(const uint8_t case_id[CW_ID_BYTES], void *ctx), void *ctx);

/* fn(case) for every case device_id is a member of; non-zero from fn stops.
 * fn must not write to the store (collect, then write). */
int cw_case_with_member(cw_store *st, const char *device_id,
                        int (*fn)(const uint8_t case_id[CW_ID_BYTES], void *ctx), void *ctx);

#endif
