/*
 * node/merge.h - the merge rules: the state of one entity as a pure
 * function of the set of its ops (the order they are given in does not
 * matter).
 *
 * - kind, creation: from the earliest put by (hlc, author, seq);
 * - removed: some remove op had seen every put of the entity (add wins: a
 *   put the remover had not seen brings the entity back);
 * - each field: among the writes to it, the frontier is those no other
 *   write had seen; the value shown is the frontier's highest (hlc, author);
 *   when the frontier holds two or more different values, the field is in
 *   conflict and every frontier value is kept. A later write that has seen
 *   them all (a resolve, or any edit made after the sync) settles it.
 */
#ifndef CW_MERGE_H
#define CW_MERGE_H

#include "op.h"

typedef struct {
	const cw_op *op; /* the op that wrote it */
	const char *value;
	size_t len;
} cw_merge_write;

typedef struct {
	const char *name;
	cw_merge_write winner;
	size_t nfrontier;         /* > 1 and differing values: a conflict */
	cw_merge_write *frontier; /* sorted by op hash */
	int conflict;
} cw_merge_field;

typedef struct {
	uint8_t kind;
	uint64_t created_hlc;
	uint8_t creator[CW_AUTHOR_BYTES];
	int removed;
	size_t nfields;
	cw_merge_field *fields; /* sorted by name */
} cw_merge_state;

/* Compute the state from ops[0..n) (all of one case and entity, at least
 * one). Everything points into ops. Free with cw_merge_dispose. */
int cw_merge_entity(cw_merge_state *out, const cw_op *ops, size_t n);
void cw_merge_dispose(cw_merge_state *st);

#endif
