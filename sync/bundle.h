/*
 * sync/bundle.h - genuine git bundles (format v2), written and read without
 * stock git: what stock `git bundle verify`, `git clone` and `git fetch`
 * accept, and what they write with `git bundle create --version=2`.
 *
 * A bundle is a text header and a pack:
 *
 *     # v2 git bundle\n
 *     -<40 hex> <subject>\n      one per prerequisite (a commit the
 *                                receiver must already have)
 *     <40 hex> <refname>\n       one per ref carried
 *     \n
 *     PACK...                    the objects reachable from the refs and
 *                                not from the prerequisites
 *
 * Repositories are named by path (a bare repository directory, or a working
 * tree's .git directory); objects by 40-character lower-case hex ids. Ref
 * names follow git's rules and must start with "refs/" (so "HEAD", which
 * `git bundle create --all` adds, is refused), printable ASCII only.
 *
 * Every function returns CW_OK or a negative cw_error code with a message
 * (util/error.h).
 */
#ifndef CW_BUNDLE_H
#define CW_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

/* Longest header line accepted or written, counting its newline. */
#define CW_BUNDLE_LINE_MAX 1024
/* Most refs, and most prerequisites, one bundle may carry. */
#define CW_BUNDLE_MAX_REFS 100000
/* The largest commit, tree or tag an import reads from a pack (caseway's
 * are far smaller: a chain commit's tree holds at most 1,024 grants and
 * documents); blobs are not read at import and may be larger. */
#define CW_BUNDLE_OBJECT_MAX ((size_t)4 << 20)

/* One ref: a NUL-terminated name (at most 255 bytes) and a commit id. */
typedef struct {
	char name[256];
	char oid[41];
} cw_bundle_ref;

/* Write a v2 bundle to out_path from the repository at repo_path, carrying
 * the nrefs refs (each naming a commit; at least one, no name twice) and
 * the nprereqs prerequisites (commit ids the receiver already has; may be
 * 0). The pack holds every object reachable from the refs and not from a
 * prerequisite, built by libgit2's packbuilder and streamed to the file.
 * The file is written atomically: a temporary file beside out_path (mode
 * 0600), fsync'd, renamed over out_path, and the directory fsync'd; on
 * failure nothing is left behind. On success *bytes_out is the file's size.
 * CW_EINVALID for a malformed ref name or id, CW_ENOTFOUND when the
 * repository or a named commit is missing, CW_ERROR for I/O. */
int cw_bundle_write(uint64_t *bytes_out, const char *repo_path, const char *out_path,
                    const cw_bundle_ref *refs, size_t nrefs, const char *const *prereq_oids, size_t nprereqs);

/* A parsed bundle header. Fill with cw_bundle_read_header(),
 * cw_bundle_parse_header() or cw_bundle_import(); release the arrays with
 * cw_bundle_header_dispose(). refs are in file order; prereqs are 40-hex
 * ids, NUL-terminated; pack_offset is where the pack starts in the file. */
typedef struct {
	size_t nrefs;
	cw_bundle_ref *refs;
	size_t nprereqs;
	char (*prereqs)[41];
	uint64_t pack_offset;
} cw_bundle_header;

/* Parse the header of the bundle file at path (the pack is not read). The
 * first line must be exactly "# v2 git bundle" (v3 and anything else are
 * refused), every line at most CW_BUNDLE_LINE_MAX bytes with no NUL, ids
 * exactly 40 lower-case hex, ref names valid and distinct, at least one ref,
 * at most CW_BUNDLE_MAX_REFS refs and as many prerequisites, then one empty
 * line. On success fills *out (which the caller disposes); otherwise *out is
 * zeroed. CW_EINVALID on any malformed header, CW_ENOTFOUND / CW_ERROR when
 * the file cannot be read. */
int cw_bundle_read_header(cw_bundle_header *out, const char *path);

/* The same, over the first len bytes of a bundle in memory (the header must
 * end, with its empty line, within them; what follows is not looked at). */
int cw_bundle_parse_header(cw_bundle_header *out, const uint8_t *data, size_t len);

/* Free the arrays of a header filled by this module and zero it.
 * NULL-safe, and safe on a zeroed or already-disposed header. */
void cw_bundle_header_dispose(cw_bundle_header *h);

/* Import the bundle file at bundle_path into the object database of the
 * repository at repo_path. Refs are NOT updated: the caller decides, after
 * verifying signatures, using the header returned in *out.
 *
 * Steps: refuse files above max_bytes (CW_EINVALID); parse the header; check
 * every prerequisite commit is in the repository (else CW_EWAIT, naming the
 * first missing commit and how many are missing, nothing written); index the
 * pack with libgit2's indexer, with connectivity checks, into a quarantine
 * directory inside the repository's objects directory; check the pack is
 * complete, every object it refers to is in the pack or the repository, and
 * every ref names a commit; only then move the pack and its index into
 * objects/pack and fsync. A truncated, corrupted or incomplete pack, or a
 * ref that is missing or not a commit, gives CW_EVERIFY and leaves the
 * repository as it was (no partial pack). Importing a bundle whose objects
 * are already present succeeds and changes nothing that matters.
 *
 * On success *out holds the header (the caller disposes it); otherwise *out
 * is zeroed. */
int cw_bundle_import(cw_bundle_header *out, const char *repo_path, const char *bundle_path,
                     uint64_t max_bytes);

#endif
