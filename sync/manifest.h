/*
 * sync/manifest.h - the manifest of a sync bundle: who sent it to whom, its
 * place in their sequence, the refs it carries and the heads its sender
 * holds. A pure text format (no I/O, no keys): the caller signs and
 * verifies the exact bytes.
 *
 * A manifest is exactly these lines, each ending with "\n" (no CR, no NUL,
 * nothing before the first line or after the last):
 *
 *     caseway manifest v1\n
 *     \n
 *     from: <sender device id: 16 lower hex>\n
 *     to: <receiver device id: 16 lower hex, not the sender's>\n
 *     seq: <decimal>\n                  1 .. 2^63-1, per (sender, receiver)
 *     part: <i>/<n>\n                   decimal, 1 <= i <= n <= CW_MANIFEST_MAX_PARTS
 *     time: <decimal>\n                 unix seconds, 0 <= time < CW_MANIFEST_TIME_END
 *     ref <40 lower hex> <refname>\n    zero or more: the refs the bundle carries
 *     have <40 lower hex> <refname>\n   zero or more, after every ref line: the
 *                                       sender's heads (what it holds)
 *
 * Decimals have no sign and no leading zeros ("0" itself only for time).
 * Ref lines are strictly increasing by strcmp of their refname (so no name
 * twice), and so are have lines (a name may appear once as a ref and once as
 * a have). At most CW_MANIFEST_MAX_REFS of each; refnames satisfy
 * cw_manifest_ref_valid. The whole text is at most CW_MANIFEST_MAX_BYTES.
 *
 * The form is canonical: a parsed manifest formats back to the same bytes,
 * and cw_manifest_format writes only what cw_manifest_parse accepts.
 *
 * Every int function returns CW_OK or a negative cw_error code with a
 * message (util/error.h).
 */
#ifndef CW_MANIFEST_H
#define CW_MANIFEST_H

#include "../crypto/keys.h"
#include "../util/buf.h"
#include "bundle.h"

#include <stddef.h>
#include <stdint.h>

/* Most parts one transfer may be split into. */
#define CW_MANIFEST_MAX_PARTS 10000u
/* Most ref lines, and most have lines, one manifest may carry. */
#define CW_MANIFEST_MAX_REFS 100000u
/* Longest manifest text accepted (64 MiB). */
#define CW_MANIFEST_MAX_BYTES ((size_t)64 << 20)
/* First time refused: 2200-01-01T00:00:00Z in unix seconds. */
#define CW_MANIFEST_TIME_END INT64_C(7258118400)

/* A manifest, parsed or to be formatted. The arrays belong to the struct
 * when cw_manifest_parse filled it (release with cw_manifest_dispose); a
 * caller formatting its own struct may point them anywhere. */
typedef struct {
	char from[CW_DEVICE_ID_LEN + 1]; /* sender device id, 16 lower hex, NUL-terminated */
	char to[CW_DEVICE_ID_LEN + 1];   /* receiver device id, != from */
	uint64_t seq;                    /* 1 .. INT64_MAX */
	uint32_t part, parts;            /* 1 <= part <= parts <= CW_MANIFEST_MAX_PARTS */
	int64_t time;                    /* 0 <= time < CW_MANIFEST_TIME_END */
	size_t nrefs;                    /* refs carried, strictly sorted by name */
	cw_bundle_ref *refs;
	size_t nhave; /* sender's heads, strictly sorted by name */
	cw_bundle_ref *have;
} cw_manifest;

/* Append the text of m to out. CW_EINVALID (naming the field) when m breaks
 * any rule above, or when out's cap is reached; on failure out is left as
 * it was (its length restored). */
int cw_manifest_format(cw_buf *out, const cw_manifest *m);

/* Parse the len bytes at text, which came from outside: exactly the form
 * above. On success fills *out (the caller disposes it); otherwise *out is
 * zeroed, nothing is left allocated, and the result is CW_EINVALID with a
 * one-line message naming the line ("manifest line 9: ...") or CW_ERROR
 * when memory runs out. Linear in len. */
int cw_manifest_parse(cw_manifest *out, const char *text, size_t len) __attribute__((warn_unused_result));

/* Free the arrays of a manifest filled by cw_manifest_parse and zero it.
 * NULL-safe, and safe on a zeroed or already-disposed manifest. */
void cw_manifest_dispose(cw_manifest *m);

/* 1 when name is "refs/cw/roster/<version>" (1 to 12 digits, no
 * leading zero), "refs/cw/case/<32 lower hex>/<16 lower
 * hex>" (a change-log chain, sync/log.h) or "refs/cw/erased/<32 lower
 * hex>" (an erasure tombstone, sync/tombstone.h), else 0. NULL gives 0. */
int cw_manifest_ref_valid(const char *name);

#endif
