/* node/merge.c - the merge rules (see merge.h). */
#include "merge.h"
#include "../util/error.h"

#include <stdlib.h>
#include <string.h>

/* Total order used for "highest": (hlc, author, seq). */
static int stamp_cmp(const cw_op *a, const cw_op *b)
{
	int c;

	if (a->hlc != b->hlc)
		return a->hlc < b->hlc ? -1 : 1;
	if ((c = memcmp(a->author, b->author, CW_AUTHOR_BYTES)) != 0)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int is_put(const cw_op *op)
{
	return op->action == CW_OP_PUT || op->action == CW_OP_RESOLVE;
}

static int write_cmp(const void *a, const void *b)
{
	return memcmp(((const cw_merge_write *)a)->op->hash, ((const cw_merge_write *)b)->op->hash,
	              CW_HASH_BYTES);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int same_value(const cw_merge_write *a, const cw_merge_write *b)
{
	return a->len == b->len && memcmp(a->value, b->value, a->len) == 0;
}

void cw_merge_dispose(cw_merge_state *st)
{
	size_t i;

	for (i = 0; st->fields && i < st->nfields; i++)
		free(st->fields[i].frontier);
	free(st->fields);
	memset(st, 0, sizeof(*st));
}

int cw_merge_entity(cw_merge_state *out, const cw_op *ops, size_t n)
{
	cw_merge_state st;
	const char **names = NULL;
	cw_merge_write *writes = NULL;
	unsigned char *dominated = NULL;
	const cw_op *first = NULL;
	size_t nnames = 0, i, j, k, f;
	int error = CW_OK;

	memset(&st, 0, sizeof(st));
	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++)
		if (is_put(&ops[i]) && (first == NULL || stamp_cmp(&ops[i], first) < 0))
			first = &ops[i];
	if (first == NULL) { /* only removes: the lowest stamp of all, whatever the order */
		first = &ops[0];
		for (i = 1; i < n; i++)
			if (stamp_cmp(&ops[i], first) < 0)
				first = &ops[i];
	}
	st.kind = first->kind;
	st.created_hlc = first->hlc;
	memcpy(st.creator, first->author, CW_AUTHOR_BYTES);

	/* removed: a remove that had seen every put */
	for (i = 0; i < n && !st.removed; i++) {
		if (ops[i].action != CW_OP_REMOVE)
			continue;
		st.removed = 1;
		for (j = 0; j < n; j++)
			if (is_put(&ops[j]) && !cw_op_precedes(&ops[j], &ops[i])) {
				st.removed = 0;
				break;
			}
	}

	/* the distinct field names */
	for (i = 0; i < n; i++)
		if (is_put(&ops[i]))
			nnames += ops[i].nfields;
	if (nnames == 0)
		goto finish;
	if ((names = malloc(nnames * sizeof(*names))) == NULL ||
	    (writes = malloc(n * sizeof(*writes))) == NULL || (dominated = malloc(n)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	nnames = 0;
	for (i = 0; i < n; i++)
		if (is_put(&ops[i]))
			for (j = 0; j < ops[i].nfields; j++)
				names[nnames++] = ops[i].fields[j].name;
	qsort(names, nnames, sizeof(*names), name_cmp);
	for (i = j = 0; i < nnames; i++)
		if (j == 0 || strcmp(names[j - 1], names[i]) != 0)
			names[j++] = names[i];
	nnames = j;
	if ((st.fields = calloc(nnames, sizeof(*st.fields))) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	for (f = 0; f < nnames; f++) {
		cw_merge_field *mf = &st.fields[st.nfields++];
		size_t nw = 0, nf = 0;

		mf->name = names[f];
		for (i = 0; i < n; i++) {
			const cw_op_field *of;

			if (!is_put(&ops[i]) || (of = cw_op_field_get(&ops[i], names[f])) == NULL)
				continue;
			writes[nw].op = &ops[i];
			writes[nw].value = of->value;
			writes[nw].len = of->len;
			nw++;
		}
		/* frontier: writes no other write had seen (mark all, then keep) */
		for (i = 0; i < nw; i++) {
			dominated[i] = 0;
			for (k = 0; k < nw && !dominated[i]; k++)
				if (k != i && cw_op_precedes(writes[i].op, writes[k].op))
					dominated[i] = 1;
		}
		for (i = 0; i < nw; i++)
			if (!dominated[i])
				writes[nf++] = writes[i];
		if ((mf->frontier = malloc(nf * sizeof(*mf->frontier))) == NULL) {
			error = cw_error_nomem();
			goto done;
		}
		memcpy(mf->frontier, writes, nf * sizeof(*writes));
		qsort(mf->frontier, nf, sizeof(*mf->frontier), write_cmp);
		mf->nfrontier = nf;
		mf->winner = mf->frontier[0];
		for (i = 1; i < nf; i++) {
			if (stamp_cmp(mf->frontier[i].op, mf->winner.op) > 0)
				mf->winner = mf->frontier[i];
			if (!same_value(&mf->frontier[i], &mf->frontier[0]))
				mf->conflict = 1;
		}
	}
finish:
	*out = st;
	memset(&st, 0, sizeof(st));
done:
	cw_merge_dispose(&st);
	free(names);
	free(writes);
	free(dominated);
	return error;
}
