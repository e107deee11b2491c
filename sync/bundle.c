/*
 * sync/bundle.c - git bundles (v2): the header by hand, the pack with
 * libgit2's packbuilder (writing) and indexer (reading).
 */
#include "bundle.h"

#include "util/buf.h"
#include "util/error.h"
#include "util/file.h"

#include "git_internal.h"

#include <git2.h>
#include <git2/sys/odb_backend.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIGNATURE_V2 "# v2 git bundle"
#define SIGNATURE_V3 "# v3 git bundle"
#define OID_HEX 40
#define SUBJECT_MAX 512
#define CHUNK (64 * 1024)

/* ---- libgit2 ---------------------------------------------------------- */

static int open_repo(git_repository **out, const char *path)
{
	int rc = git_repository_open_ext(out, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);

	if (rc == GIT_ENOTFOUND)
		return cw_git__fail(CW_ENOTFOUND, "no git repository there");
	if (rc < 0)
		return cw_git__fail(CW_ERROR, "could not open the git repository");
	return CW_OK;
}

/* ---- names and ids ---------------------------------------------------- */

static int oid_text_valid(const char *s)
{
	return strnlen(s, OID_HEX + 1) == OID_HEX && cw_is_lower_hex(s, OID_HEX);
}

/* git's check_refname_format, stricter: must start "refs/", printable
 * ASCII only, at most 255 bytes. */
static int refname_ok(const char *s, size_t len)
{
	size_t i, comp = 0; /* start of the current component */

	if (len < 6 || len > 255 || memcmp(s, "refs/", 5) != 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("~^:?*[\\", c) != NULL)
			return 0;
		if (c == '.' && i + 1 < len && s[i + 1] == '.')
			return 0;
		if (c == '@' && i + 1 < len && s[i + 1] == '{')
			return 0;
		if (c == '/' || i + 1 == len) {
			size_t end = c == '/' ? i : len;

			if (end == comp || s[comp] == '.')
				return 0;
			if (end - comp >= 5 && memcmp(s + end - 5, ".lock", 5) == 0)
				return 0;
			comp = i + 1;
		}
	}
	return s[len - 1] != '/' && s[len - 1] != '.';
}

/* Our rules and libgit2's must both agree. */
static int refname_valid(const char *s, size_t len)
{
	int valid = 0;

	if (!refname_ok(s, len))
		return 0;
	if (cw_git__start() < 0 || git_reference_name_is_valid(&valid, s) < 0)
		return 0;
	return valid;
}

static int compare_ref_ptrs(const void *a, const void *b)
{
	const cw_bundle_ref *x = *(const cw_bundle_ref *const *)a, *y = *(const cw_bundle_ref *const *)b;

	return strcmp(x->name, y->name);
}

/* CW_EINVALID naming the first name that appears twice. */
static int check_distinct(const cw_bundle_ref *refs, size_t n)
{
	const cw_bundle_ref **sorted = NULL;
	size_t i;
	int error = CW_OK;

	if (n < 2)
		return CW_OK;
	if ((sorted = malloc(n * sizeof(*sorted))) == NULL)
		return cw_error_nomem();
	for (i = 0; i < n; i++)
		sorted[i] = &refs[i];
	qsort(sorted, n, sizeof(*sorted), compare_ref_ptrs);
	for (i = 1; i < n; i++) {
		if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0) {
			error = cw_error(CW_EINVALID, "bundle names ref %s twice", sorted[i]->name);
			break;
		}
	}
	free(sorted);
	return error;
}

/* ---- header parsing --------------------------------------------------- */

/* Where header bytes come from: a file, or memory. */
typedef struct {
	FILE *f;
	const uint8_t *data;
	size_t len, pos;
	uint64_t offset; /* bytes consumed */
} hdr_src;

/* One line without its newline into line[CW_BUNDLE_LINE_MAX] (NUL-
 * terminated). CW_EINVALID when too long, holding NUL, or cut off by the
 * end of the input. */
static int src_line(hdr_src *s, char *line, size_t *len_out)
{
	size_t n = 0;
	int c;

	for (;;) {
		if (s->f) {
			if ((c = getc(s->f)) == EOF) {
				if (ferror(s->f))
					return cw_error_os("could not read the bundle");
				break;
			}
		} else {
			if (s->pos == s->len)
				break;
			c = s->data[s->pos++];
		}
		s->offset++;
		if (c == '\n') {
			line[n] = '\0';
			*len_out = n;
			return CW_OK;
		}
		if (c == '\0')
			return cw_error(CW_EINVALID, "bundle header holds a NUL byte");
		if (n + 1 >= CW_BUNDLE_LINE_MAX)
			return cw_error(CW_EINVALID, "bundle header line longer than %d bytes",
			                CW_BUNDLE_LINE_MAX);
		line[n++] = (char)c;
	}
	return cw_error(CW_EINVALID, "bundle header ends early (truncated file?)");
}

/* Grow an array of `size`-byte items to hold one more, up to the cap. */
static int grow(void **arr, size_t *alloc, size_t count, size_t size)
{
	size_t want;
	void *p;

	if (count < *alloc)
		return CW_OK;
	want = *alloc ? *alloc * 2 : 16;
	if (want > CW_BUNDLE_MAX_REFS)
		want = CW_BUNDLE_MAX_REFS;
	if ((p = realloc(*arr, want * size)) == NULL)
		return cw_error_nomem();
	*arr = p;
	*alloc = want;
	return CW_OK;
}

static int parse_header(cw_bundle_header *out, hdr_src *s)
{
	cw_bundle_header h = { 0, NULL, 0, NULL, 0 };
	size_t ref_alloc = 0, pre_alloc = 0, len;
	char *line = NULL;
	int error;

	memset(out, 0, sizeof(*out));
	if ((line = malloc(CW_BUNDLE_LINE_MAX)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if ((error = src_line(s, line, &len)) < 0) {
		if (error == CW_EINVALID)
			error = cw_error(CW_EINVALID, "not a git bundle");
		goto done;
	}
	if (strcmp(line, SIGNATURE_V2) != 0) {
		error = cw_error(CW_EINVALID, strcmp(line, SIGNATURE_V3) == 0
		                                  ? "git bundle version 3 is not supported (need version 2)"
		                                  : "not a git bundle (version 2)");
		goto done;
	}
	for (;;) {
		if ((error = src_line(s, line, &len)) < 0)
			goto done;
		if (len == 0)
			break;
		if (line[0] == '-') {
			if (h.nprereqs == CW_BUNDLE_MAX_REFS) {
				error = cw_error(CW_EINVALID, "bundle has more than %d prerequisites",
				                 CW_BUNDLE_MAX_REFS);
				goto done;
			}
			/* "-<oid>" optionally followed by a space and a subject. */
			if (len < 1 + OID_HEX || !cw_is_lower_hex(line + 1, OID_HEX) ||
			    (len > 1 + OID_HEX && line[1 + OID_HEX] != ' ')) {
				error = cw_error(CW_EINVALID, "bundle has a malformed prerequisite line");
				goto done;
			}
			if ((error = grow((void **)&h.prereqs, &pre_alloc, h.nprereqs, sizeof(*h.prereqs))) <
			    0)
				goto done;
			memcpy(h.prereqs[h.nprereqs], line + 1, OID_HEX);
			h.prereqs[h.nprereqs][OID_HEX] = '\0';
			h.nprereqs++;
			continue;
		}
		if (h.nrefs == CW_BUNDLE_MAX_REFS) {
			error = cw_error(CW_EINVALID, "bundle has more than %d refs", CW_BUNDLE_MAX_REFS);
			goto done;
		}
		/* "<oid> <refname>" */
		if (len < OID_HEX + 2 || !cw_is_lower_hex(line, OID_HEX) || line[OID_HEX] != ' ') {
			error = cw_error(CW_EINVALID, "bundle has a malformed ref line");
			goto done;
		}
		if (!refname_valid(line + OID_HEX + 1, len - OID_HEX - 1)) {
			error = cw_error(CW_EINVALID, "bundle has an invalid ref name");
			goto done;
		}
		if ((error = grow((void **)&h.refs, &ref_alloc, h.nrefs, sizeof(*h.refs))) < 0)
			goto done;
		memset(&h.refs[h.nrefs], 0, sizeof(h.refs[h.nrefs]));
		memcpy(h.refs[h.nrefs].oid, line, OID_HEX);
		h.refs[h.nrefs].oid[OID_HEX] = '\0';
		memcpy(h.refs[h.nrefs].name, line + OID_HEX + 1, len - OID_HEX - 1);
		h.refs[h.nrefs].name[len - OID_HEX - 1] = '\0';
		h.nrefs++;
	}
	if (h.nrefs == 0) {
		error = cw_error(CW_EINVALID, "bundle carries no refs");
		goto done;
	}
	if ((error = check_distinct(h.refs, h.nrefs)) < 0)
		goto done;
	h.pack_offset = s->offset;
	*out = h;
	memset(&h, 0, sizeof(h));
	error = CW_OK;
done:
	free(line);
	cw_bundle_header_dispose(&h);
	return error;
}

int cw_bundle_parse_header(cw_bundle_header *out, const uint8_t *data, size_t len)
{
	hdr_src s = { NULL, data, len, 0, 0 };

	return parse_header(out, &s);
}

/* A bundle file from outside: a regular file, opened without blocking. */
static int open_bundle(FILE **f, const char *path)
{
	int fd, error = cw_file_open_in(&fd, path);

	*f = NULL;
	if (error == CW_ENOTFOUND)
		return cw_error(CW_ENOTFOUND, "no bundle at %s", path);
	if (error == CW_EINVALID)
		return cw_error(CW_ERROR, "%s is not a bundle file (a folder, a device or a pipe)", path);
	if (error < 0)
		return error;
	if ((*f = fdopen(fd, "rb")) == NULL) {
		close(fd);
		return cw_error_os("could not open the bundle");
	}
	return CW_OK;
}

int cw_bundle_read_header(cw_bundle_header *out, const char *path)
{
	hdr_src s = { NULL, NULL, 0, 0, 0 };
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = open_bundle(&s.f, path)) < 0)
		return error;
	error = parse_header(out, &s);
	fclose(s.f);
	return error;
}

void cw_bundle_header_dispose(cw_bundle_header *h)
{
	if (h == NULL)
		return;
	free(h->refs);
	free(h->prereqs);
	memset(h, 0, sizeof(*h));
}

/* ---- writing ---------------------------------------------------------- */

static int write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return cw_error_os("could not write the bundle");
		p += n;
		len -= (size_t)n;
	}
	return CW_OK;
}

typedef struct {
	int fd;
	uint64_t written;
	int failed; /* our message is set */
} pack_sink;

static int sink_cb(void *buf, size_t size, void *payload)
{
	pack_sink *k = payload;

	if (write_all(k->fd, buf, size) < 0) {
		k->failed = 1;
		return -1;
	}
	k->written += size;
	return 0;
}

/* A commit's subject for a prerequisite line: one line, no control
 * characters, no trailing space, whole UTF-8 sequences, at most
 * SUBJECT_MAX bytes. */
static void put_subject(char *out, git_commit *c)
{
	const char *s = git_commit_summary(c);
	size_t n = 0, i;

	for (i = 0; s && s[i] && n < SUBJECT_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];

		out[n++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
	}
	if (s && ((unsigned char)s[i] & 0xc0) == 0x80) { /* cut inside a UTF-8 sequence: drop it */
		while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0)
			n--;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static int lookup_commit(git_commit **out, git_repository *repo, const char *hex)
{
	git_oid oid;
	int rc;

	if (git_oid_fromstr(&oid, hex) < 0)
		return cw_error(CW_EINVALID, "malformed commit id %s", hex);
	rc = git_commit_lookup(out, repo, &oid);
	if (rc == GIT_ENOTFOUND)
		return cw_error(CW_ENOTFOUND, "commit %s is not in the repository", hex);
	if (rc == GIT_EINVALIDSPEC || rc < 0)
		return cw_git__fail(rc == GIT_EINVALIDSPEC ? CW_EINVALID : CW_ERROR, "could not read commit");
	return CW_OK;
}

/* Header text and a revwalk: refs pushed, prerequisites hidden. */
static int build_header(cw_buf *hdr, git_revwalk *walk, git_repository *repo, const cw_bundle_ref *refs,
                        size_t nrefs, const char *const *prereqs, size_t nprereqs)
{
	char subject[SUBJECT_MAX + 1];
	git_commit *c = NULL;
	size_t i;
	int error;

	if ((error = cw_buf_put(hdr, SIGNATURE_V2 "\n", strlen(SIGNATURE_V2) + 1)) < 0)
		goto done;
	for (i = 0; i < nprereqs; i++) {
		if ((error = lookup_commit(&c, repo, prereqs[i])) < 0)
			goto done;
		put_subject(subject, c);
		if ((error = cw_buf_put(hdr, "-", 1)) < 0 ||
		    (error = cw_buf_put(hdr, prereqs[i], OID_HEX)) < 0 ||
		    (subject[0] && ((error = cw_buf_put(hdr, " ", 1)) < 0 ||
		                    (error = cw_buf_put(hdr, subject, strlen(subject))) < 0)) ||
		    (error = cw_buf_put(hdr, "\n", 1)) < 0)
			goto done;
		if (git_revwalk_hide(walk, git_commit_id(c)) < 0) {
			error = cw_git__fail(CW_ERROR, "could not walk the history");
			goto done;
		}
		git_commit_free(c);
		c = NULL;
	}
	for (i = 0; i < nrefs; i++) {
		if ((error = lookup_commit(&c, repo, refs[i].oid)) < 0)
			goto done;
		if ((error = cw_buf_put(hdr, refs[i].oid, OID_HEX)) < 0 ||
		    (error = cw_buf_put(hdr, " ", 1)) < 0 ||
		    (error = cw_buf_put(hdr, refs[i].name, strlen(refs[i].name))) < 0 ||
		    (error = cw_buf_put(hdr, "\n", 1)) < 0)
			goto done;
		if (git_revwalk_push(walk, git_commit_id(c)) < 0) {
			error = cw_git__fail(CW_ERROR, "could not walk the history");
			goto done;
		}
		git_commit_free(c);
		c = NULL;
	}
	error = cw_buf_put(hdr, "\n", 1);
done:
	git_commit_free(c);
	return error;
}

static int check_write_args(const cw_bundle_ref *refs, size_t nrefs, const char *const *prereqs,
                            size_t nprereqs)
{
	size_t i, len;

	if (nrefs == 0 || refs == NULL)
		return cw_error(CW_EINVALID, "a bundle needs at least one ref");
	if (nrefs > CW_BUNDLE_MAX_REFS || nprereqs > CW_BUNDLE_MAX_REFS)
		return cw_error(CW_EINVALID, "too many refs or prerequisites for one bundle");
	if (nprereqs > 0 && prereqs == NULL)
		return cw_error(CW_EINVALID, "prerequisites missing");
	for (i = 0; i < nrefs; i++) {
		len = strnlen(refs[i].name, sizeof(refs[i].name));
		if (len == sizeof(refs[i].name) || !refname_valid(refs[i].name, len))
			return cw_error(CW_EINVALID, "invalid ref name for a bundle");
		if (strnlen(refs[i].oid, sizeof(refs[i].oid)) != OID_HEX ||
		    !cw_is_lower_hex(refs[i].oid, OID_HEX))
			return cw_error(CW_EINVALID, "ref %s: commit id must be 40 lower-case hex digits",
			                refs[i].name);
	}
	for (i = 0; i < nprereqs; i++)
		if (prereqs[i] == NULL || !oid_text_valid(prereqs[i]))
			return cw_error(CW_EINVALID,
			                "prerequisite commit ids must be 40 lower-case hex digits");
	return check_distinct(refs, nrefs);
}

int cw_bundle_write(uint64_t *bytes_out, const char *repo_path, const char *out_path,
                    const cw_bundle_ref *refs, size_t nrefs, const char *const *prereq_oids, size_t nprereqs)
{
	git_repository *repo = NULL;
	git_revwalk *walk = NULL;
	git_packbuilder *pb = NULL;
	cw_buf hdr = CW_BUF_INIT;
	pack_sink sink = { -1, 0, 0 };
	char *tmp = NULL, *dir = NULL, *slash;
	size_t plen;
	int error;

	if ((error = check_write_args(refs, nrefs, prereq_oids, nprereqs)) < 0 ||
	    (error = cw_git__start()) < 0 || (error = open_repo(&repo, repo_path)) < 0)
		goto done;
	if (git_revwalk_new(&walk, repo) < 0 || git_packbuilder_new(&pb, repo) < 0) {
		error = cw_git__fail(CW_ERROR, "could not start a pack");
		goto done;
	}
	hdr.cap = (nrefs + nprereqs + 2) * CW_BUNDLE_LINE_MAX;
	if ((error = build_header(&hdr, walk, repo, refs, nrefs, prereq_oids, nprereqs)) < 0)
		goto done;
	if (git_packbuilder_insert_walk(pb, walk) < 0) {
		error = cw_git__fail(CW_ERROR, "could not collect the objects for the bundle");
		goto done;
	}

	plen = strlen(out_path);
	if ((tmp = malloc(plen + 8)) == NULL || (dir = malloc(plen + 2)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	memcpy(tmp, out_path, plen);
	memcpy(tmp + plen, ".XXXXXX", 8);
	memcpy(dir, out_path, plen + 1);
	if ((slash = strrchr(dir, '/')) == NULL)
		memcpy(dir, ".", 2);
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((sink.fd = mkstemp(tmp)) < 0) {
		error = cw_error(CW_ERROR, "could not create the bundle file %s: %s", out_path,
		                 strerror(errno));
		free(tmp);
		tmp = NULL;
		goto done;
	}
	if ((error = write_all(sink.fd, hdr.data, hdr.len)) < 0)
		goto done;
	sink.written = hdr.len;
	if (git_packbuilder_foreach(pb, sink_cb, &sink) < 0) {
		error = sink.failed ? CW_ERROR : cw_git__fail(CW_ERROR, "could not write the bundle's pack");
		goto done;
	}
	if (fsync(sink.fd) != 0) {
		error = cw_error_os("could not flush the bundle to disk");
		goto done;
	}
	error = close(sink.fd);
	sink.fd = -1;
	if (error != 0) {
		error = cw_error_os("could not write the bundle");
		goto done;
	}
	if (rename(tmp, out_path) != 0) {
		error = cw_error_os("could not move the bundle into place");
		goto done;
	}
	free(tmp);
	tmp = NULL;
	if ((error = cw_file_sync_dir(dir)) < 0)
		goto done;
	*bytes_out = sink.written;
	error = CW_OK;
done:
	if (sink.fd >= 0)
		close(sink.fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(dir);
	cw_buf_dispose(&hdr);
	git_packbuilder_free(pb);
	git_revwalk_free(walk);
	git_repository_free(repo);
	return error;
}

/* ---- importing -------------------------------------------------------- */

/* Remove a quarantine directory and what is in it (no subdirectories). */
static void remove_quarantine(const char *qdir)
{
	DIR *d;
	struct dirent *e;
	char *p;

	if (qdir == NULL)
		return;
	if ((d = opendir(qdir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			if ((p = cw_path_join(qdir, e->d_name)) != NULL) {
				unlink(p);
				free(p);
			}
		}
		closedir(d);
	}
	rmdir(qdir);
}

/* CW_EWAIT naming the first prerequisite the repository lacks. */
static int check_prereqs(git_odb *odb, const cw_bundle_header *h)
{
	size_t i, missing = 0, first = 0;
	git_object_t type;
	size_t size;
	git_oid oid;
	int rc;

	for (i = 0; i < h->nprereqs; i++) {
		if (git_oid_fromstr(&oid, h->prereqs[i]) < 0)
			return cw_error(CW_EINVALID, "malformed prerequisite %s", h->prereqs[i]);
		rc = git_odb_read_header(&size, &type, odb, &oid);
		if (rc == GIT_ENOTFOUND) {
			if (missing++ == 0)
				first = i;
			continue;
		}
		if (rc < 0)
			return cw_git__fail(CW_ERROR, "could not read the repository");
		if (type != GIT_OBJECT_COMMIT)
			return cw_error(CW_EVERIFY, "bundle prerequisite %s is not a commit", h->prereqs[i]);
	}
	if (missing)
		return cw_error(CW_EWAIT,
		                "bundle needs commit %s, which this repository does not have yet "
		                "(%zu of %zu prerequisite commits missing)",
		                h->prereqs[first], missing, h->nprereqs);
	return CW_OK;
}

/* Every ref names a commit now in the object database. */
static int check_refs(git_odb *odb, const cw_bundle_header *h)
{
	git_object_t type;
	size_t i, size;
	git_oid oid;
	int rc;

	for (i = 0; i < h->nrefs; i++) {
		if (git_oid_fromstr(&oid, h->refs[i].oid) < 0)
			return cw_error(CW_EINVALID, "malformed ref id %s", h->refs[i].oid);
		rc = git_odb_read_header(&size, &type, odb, &oid);
		if (rc == GIT_ENOTFOUND)
			return cw_error(CW_EVERIFY,
			                "bundle ref %s names commit %s, which neither the bundle "
			                "nor the repository holds",
			                h->refs[i].name, h->refs[i].oid);
		if (rc < 0)
			return cw_git__fail(CW_EVERIFY, "could not read an object the bundle names");
		if (type != GIT_OBJECT_COMMIT)
			return cw_error(CW_EVERIFY, "bundle ref %s names %s, which is not a commit",
			                h->refs[i].name, h->refs[i].oid);
	}
	return CW_OK;
}

/* Feed the rest of f (the pack) to a new indexer writing into qdir, and
 * finish it. Fails with CW_EVERIFY on a damaged or incomplete pack. */
static int index_pack(git_indexer **out, FILE *f, const char *qdir, git_odb *odb, uint64_t budget)
{
	git_indexer_options opts;
	git_indexer_progress stats;
	git_indexer *idx = NULL;
	uint8_t *chunk = NULL;
	size_t n;
	int error;

	memset(&stats, 0, sizeof(stats));
	if (git_indexer_options_init(&opts, GIT_INDEXER_OPTIONS_VERSION) < 0) {
		error = cw_git__fail(CW_ERROR, "could not start indexing the bundle's pack");
		goto done;
	}
	/* No opts.verify: in libgit2 1.5 it leaks every object the repository
	 * already has; check_objects() and check_connected() do that work. */
	if ((chunk = malloc(CHUNK)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if (git_indexer_new(&idx, qdir, 0, odb, &opts) < 0) {
		error = cw_git__fail(CW_ERROR, "could not start indexing the bundle's pack");
		goto done;
	}
	while ((n = fread(chunk, 1, CHUNK, f)) > 0) {
		if (n > budget) {
			error = cw_error(CW_EINVALID, "bundle grew past the size limit while being read");
			goto done;
		}
		budget -= n;
		if (git_indexer_append(idx, chunk, n, &stats) < 0) {
			error = cw_git__fail(CW_EVERIFY, "the bundle's pack is damaged");
			goto done;
		}
	}
	if (ferror(f)) {
		error = cw_error_os("could not read the bundle");
		goto done;
	}
	if (git_indexer_commit(idx, &stats) < 0) {
		error = cw_git__fail(CW_EVERIFY, "the bundle's pack is damaged or incomplete");
		goto done;
	}
	if (stats.received_objects != stats.total_objects || stats.indexed_objects != stats.total_objects ||
	    stats.indexed_deltas != stats.total_deltas) {
		error = cw_error(CW_EVERIFY, "the bundle's pack is incomplete (%u of %u objects)",
		                 stats.indexed_objects, stats.total_objects);
		goto done;
	}
	*out = idx;
	idx = NULL;
	error = CW_OK;
done:
	git_indexer_free(idx);
	free(chunk);
	return error;
}

/* Make the quarantined pack visible through odb (for the checks); *out is
 * borrowed from odb. */
static int add_quarantine(git_odb_backend **out, git_odb *odb, const char *idx_path)
{
	git_odb_backend *be = NULL;

	if (git_odb_backend_one_pack(&be, idx_path) < 0)
		return cw_git__fail(CW_EVERIFY, "could not open the bundle's indexed pack");
	if (git_odb_add_backend(odb, be, 0) < 0) {
		be->free(be);
		return cw_git__fail(CW_ERROR, "could not open the bundle's indexed pack");
	}
	*out = be;
	return CW_OK;
}

typedef struct {
	git_repository *repo;
	int error;
} object_check;

static int check_object_cb(const git_oid *id, void *payload)
{
	object_check *k = payload;
	git_object *o = NULL;
	git_odb *odb = NULL;
	git_object_t type;
	size_t size;
	char hex[GIT_OID_HEXSZ + 1];
	int rc;

	/* The header first: a blob is any bytes (never inflated here; readers
	 * check its size before they read it), and nothing else may be larger
	 * than a commit or a tree of caseway's ever is, so a pack object that
	 * claims gigabytes is refused before anything is allocated for it. */
	git_oid_tostr(hex, sizeof(hex), id);
	rc = git_repository_odb(&odb, k->repo);
	if (rc == 0)
		rc = git_odb_read_header(&size, &type, odb, id);
	git_odb_free(odb);
	if (rc < 0) {
		k->error = cw_error(CW_EVERIFY, "the bundle holds a malformed object %s", hex);
		return -1;
	}
	if (type == GIT_OBJECT_BLOB)
		return 0;
	if (size > CW_BUNDLE_OBJECT_MAX) {
		k->error = cw_error(CW_EVERIFY,
		                    "the bundle holds an object of %zu bytes (%s), more than caseway writes",
		                    size, hex);
		return -1;
	}
	if (git_object_lookup(&o, k->repo, id, GIT_OBJECT_ANY) < 0) {
		const git_error *e = git_error_last();

		k->error = cw_error(CW_EVERIFY, "the bundle holds a malformed object %s: %s", hex,
		                    e && e->message ? e->message : "unknown libgit2 error");
		return -1;
	}
	git_object_free(o);
	return 0;
}

/* Every object in the pack parses (commits, trees and tags by libgit2's
 * rules; blobs are any bytes). */
static int check_objects(git_repository *repo, git_odb_backend *be)
{
	object_check k = { repo, CW_OK };

	if (be->foreach == NULL)
		return cw_error(CW_ERROR, "cannot list the objects in the bundle's pack");
	if (be->foreach (be, check_object_cb, &k) < 0)
		return k.error < 0 ? k.error : cw_git__fail(CW_EVERIFY, "could not read the bundle's pack");
	return CW_OK;
}

/* Everything reachable from the refs and not from the prerequisites is in
 * the repository: the walk a packbuilder makes to collect it (commits and
 * trees are read, every other object's header) fails on a missing object. */
static int check_connected(git_repository *repo, const cw_bundle_header *h)
{
	git_revwalk *walk = NULL;
	git_packbuilder *pb = NULL;
	git_oid oid;
	size_t i;
	int error = CW_OK;

	if (git_revwalk_new(&walk, repo) < 0 || git_packbuilder_new(&pb, repo) < 0) {
		error = cw_git__fail(CW_ERROR, "could not walk the bundle's history");
		goto done;
	}
	for (i = 0; i < h->nprereqs; i++)
		if (git_oid_fromstr(&oid, h->prereqs[i]) < 0 || git_revwalk_hide(walk, &oid) < 0) {
			error = cw_git__fail(CW_EVERIFY, "the bundle's history is incomplete");
			goto done;
		}
	for (i = 0; i < h->nrefs; i++)
		if (git_oid_fromstr(&oid, h->refs[i].oid) < 0 || git_revwalk_push(walk, &oid) < 0) {
			error = cw_git__fail(CW_EVERIFY, "the bundle's history is incomplete");
			goto done;
		}
	if (git_packbuilder_insert_walk(pb, walk) < 0)
		error = cw_git__fail(CW_EVERIFY, "the bundle's history is incomplete (an object is missing)");
done:
	git_packbuilder_free(pb);
	git_revwalk_free(walk);
	return error;
}

/* Rename qdir/pack-<name>.{pack,idx} into packdir, .pack first, so the
 * pack becomes visible only once complete; then fsync packdir. */
static int publish_pack(const char *qdir, const char *packdir, const char *name)
{
	static const char *const ext[2] = { ".pack", ".idx" };
	char from[4096], to[4096];
	int i, a, b;

	for (i = 0; i < 2; i++) {
		a = snprintf(from, sizeof(from), "%s/pack-%s%s", qdir, name, ext[i]);
		b = snprintf(to, sizeof(to), "%s/pack-%s%s", packdir, name, ext[i]);
		if (a < 0 || b < 0 || (size_t)a >= sizeof(from) || (size_t)b >= sizeof(to))
			return cw_error(CW_ERROR, "repository path too long");
		if (i == 0 && cw_file_exists(to)) {
			/* the same pack is already there (imported before) */
			b = snprintf(to, sizeof(to), "%s/pack-%s.idx", packdir, name);
			if (b > 0 && (size_t)b < sizeof(to) && cw_file_exists(to))
				return CW_OK;
			b = snprintf(to, sizeof(to), "%s/pack-%s.pack", packdir, name);
		}
		if (rename(from, to) != 0)
			return cw_error_os("could not move the bundle's pack into the repository");
	}
	return cw_file_sync_dir(packdir);
}

int cw_bundle_import(cw_bundle_header *out, const char *repo_path, const char *bundle_path,
                     uint64_t max_bytes)
{
	cw_bundle_header h = { 0, NULL, 0, NULL, 0 };
	hdr_src s = { NULL, NULL, 0, 0, 0 };
	git_repository *repo = NULL;
	git_indexer *idx = NULL;
	git_odb *odb = NULL;
	git_odb_backend *be = NULL; /* owned by odb */
	char *objdir = NULL, *packdir = NULL, *qdir = NULL, *idx_path = NULL, *qname = NULL;
	char idx_name[64];
	struct stat st;
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = cw_git__start()) < 0)
		goto done;
	if ((error = open_bundle(&s.f, bundle_path)) < 0)
		goto done;
	if (fstat(fileno(s.f), &st) != 0) {
		error = cw_error_os("could not read the bundle");
		goto done;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max_bytes) {
		error = cw_error(CW_EINVALID, "bundle is %llu bytes, above the limit of %llu",
		                 (unsigned long long)st.st_size, (unsigned long long)max_bytes);
		goto done;
	}
	if ((error = parse_header(&h, &s)) < 0 || (error = open_repo(&repo, repo_path)) < 0)
		goto done;
	if (git_repository_odb(&odb, repo) < 0) {
		error = cw_git__fail(CW_ERROR, "could not open the repository's objects");
		goto done;
	}
	if ((error = check_prereqs(odb, &h)) < 0)
		goto done;

	if ((objdir = cw_path_join(git_repository_path(repo), "objects")) == NULL ||
	    (packdir = cw_path_join(objdir, "pack")) == NULL ||
	    (qname = cw_path_join(objdir, "cw-incoming-XXXXXX")) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if (mkdtemp(qname) == NULL) {
		error = cw_error_os("could not create a quarantine directory in the repository");
		goto done;
	}
	qdir = qname;
	qname = NULL;
	if ((error = index_pack(&idx, s.f, qdir, odb, max_bytes - h.pack_offset)) < 0)
		goto done;
	snprintf(idx_name, sizeof(idx_name), "pack-%s.idx", git_indexer_name(idx));
	if ((idx_path = cw_path_join(qdir, idx_name)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if ((error = add_quarantine(&be, odb, idx_path)) < 0 || (error = check_objects(repo, be)) < 0 ||
	    (error = check_refs(odb, &h)) < 0 || (error = check_connected(repo, &h)) < 0 ||
	    (error = publish_pack(qdir, packdir, git_indexer_name(idx))) < 0)
		goto done;
	*out = h;
	memset(&h, 0, sizeof(h));
	error = CW_OK;
done:
	git_indexer_free(idx);
	git_odb_free(odb);
	git_repository_free(repo);
	remove_quarantine(qdir);
	if (s.f)
		fclose(s.f);
	cw_bundle_header_dispose(&h);
	free(objdir);
	free(packdir);
	free(qdir);
	free(qname);
	free(idx_path);
	return error;
}
