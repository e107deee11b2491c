/*
 * sync/log.c - the git-backed change log: one chain of signed commits per
 * case and author in HOME/log.git, each carrying a sealed batch of ops.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "log.h"

#include "crypto/seal.h"
#include "node/grant.h"
#include "node/org.h"
#include "crypto/sshsig.h"
#include "node/case.h"
#include "node/docs.h"
#include "node/erase.h"
#include "node/model.h"
#include "util/error.h"
#include "util/file.h"

#include "git_internal.h"

#include <git2.h>
#include <git2/sys/repository.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REF_PREFIX "refs/cw/case/"
#define REF_PREFIX_LEN (sizeof(REF_PREFIX) - 1)
#define CASE_HEX (2 * CW_ID_BYTES)
#define AUTHOR_HEX (2 * CW_AUTHOR_BYTES)
#define REF_LEN (REF_PREFIX_LEN + CASE_HEX + 1 + AUTHOR_HEX)
#define CTX_LEN (6 + CW_ID_BYTES + CW_AUTHOR_BYTES)
#define BLOB_MAX (CW_LOG_BATCH_MAX_BYTES + CW_SEAL_BOX_OVERHEAD)
#define MAX_PARENTS 1024u
#define MAX_CHAINS 1000000u
#define META_PREFIX "cw-log:"
#define META_CHECKED "cw-log-checked:"
#define SIGNERS_MID "@caseway namespaces=\"git\" "
#define GRANT_PREFIX "grant."
#define GRANT_NAME_MAX 48
#define MAX_GRANTS 1024u
#define DOC_PREFIX "doc."
#define DOC_PREFIX_LEN (sizeof(DOC_PREFIX) - 1)
#define DOC_NAME_LEN (DOC_PREFIX_LEN + CW_DOCS_ADDRESS_LEN)
/* Most document blobs one commit carries: one per op at most. */
#define MAX_DOCS CW_LOG_BATCH_MAX_OPS
#define ROSTER_REF "refs/cw/roster/"
#define ROSTER_REF_LEN (sizeof(ROSTER_REF) - 1)
#define ROSTER_BLOB_MAX CW_ROSTER_MAX_BYTES
#define EMPTY_TREE "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

struct cw_log {
	git_repository *repo;
	size_t skipped;
	int lock_fd; /* HOME/log.lock, locked (fcntl) while this handle lives */
	int fresh;   /* log.git was made by this open */
	char *dirty; /* HOME/log.dirty: present while a caseway has the log open */
	char *home;  /* HOME (document files: node/docs.h) */
};

/* ---- libgit2 ------------------------------------------------------------ */

static void oid_hex(char out[GIT_OID_HEXSZ + 1], const git_oid *oid)
{
	git_oid_tostr(out, GIT_OID_HEXSZ + 1, oid);
}

/* CW_OK when id names a blob of at most cap bytes: checked from the object's
 * header, before anything of that size is allocated or inflated (a blob
 * from outside may claim any size). */
static int blob_within(cw_log *log, const git_oid *id, size_t cap, const char *what)
{
	git_odb *odb = NULL;
	git_object_t type;
	size_t size;
	int rc;

	if ((rc = git_repository_odb(&odb, log->repo)) == 0)
		rc = git_odb_read_header(&size, &type, odb, id);
	git_odb_free(odb);
	if (rc < 0 || type != GIT_OBJECT_BLOB)
		return cw_git__fail(CW_EINVALID, what);
	if (size > cap)
		return cw_error(CW_EINVALID, "%s: %zu bytes, at most %zu", what, size, cap);
	return CW_OK;
}

/* ---- grant entries ------------------------------------------------------------ */

/* A commit's tree holds, beside `ops`, one blob per member device the case
 * key is granted to: "grant.<generation>.<device id>" (node/grant.h). */
static void grant_name(char out[GRANT_NAME_MAX], uint32_t gen, const char *device_id)
{
	snprintf(out, GRANT_NAME_MAX, GRANT_PREFIX "%" PRIu32 ".%s", gen, device_id);
}

/* Parse a grant entry name; 0 when it is not one. */
static int parse_grant_name(uint32_t *gen, char device_id[CW_DEVICE_ID_LEN + 1], const char *name)
{
	const char *p = name + sizeof(GRANT_PREFIX) - 1, *dot;
	uint64_t v = 0;

	if (strncmp(name, GRANT_PREFIX, sizeof(GRANT_PREFIX) - 1) != 0 || *p < '1' || *p > '9')
		return 0;
	for (dot = p; *dot >= '0' && *dot <= '9'; dot++)
		if (dot - p >= 10 || (v = v * 10 + (uint64_t)(*dot - '0')) > UINT32_MAX)
			return 0;
	if (*dot != '.' || strlen(dot + 1) != CW_DEVICE_ID_LEN || !cw_is_lower_hex(dot + 1, CW_DEVICE_ID_LEN))
		return 0;
	*gen = (uint32_t)v;
	memcpy(device_id, dot + 1, CW_DEVICE_ID_LEN + 1);
	return 1;
}

/* ---- document entries ---------------------------------------------------------- */

/* 1 when name is "doc.<64 lower-case hex>" (a document's content address,
 * node/docs.h), the address copied to address; else 0. */
static int parse_doc_name(char address[CW_DOCS_ADDRESS_LEN + 1], const char *name)
{
	if (strncmp(name, DOC_PREFIX, DOC_PREFIX_LEN) != 0 || strlen(name) != DOC_NAME_LEN ||
	    !cw_is_lower_hex(name + DOC_PREFIX_LEN, CW_DOCS_ADDRESS_LEN))
		return 0;
	memcpy(address, name + DOC_PREFIX_LEN, CW_DOCS_ADDRESS_LEN + 1);
	return 1;
}

/* ---- the message ---------------------------------------------------------- */

static int expect(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
		return 0;
	*p += n;
	return 1;
}

static int take_hex(uint8_t *out, size_t nbytes, const char **p, const char *end)
{
	char hex[2 * CW_HASH_BYTES + 1];

	if ((size_t)(end - *p) < 2 * nbytes || !cw_is_lower_hex(*p, 2 * nbytes))
		return 0;
	memcpy(hex, *p, 2 * nbytes);
	hex[2 * nbytes] = '\0';
	if (cw_hex_decode(out, nbytes, hex) < 0)
		return 0;
	*p += 2 * nbytes;
	return 1;
}

/* A decimal number >= 1 without leading zeros. */
static int take_u64(uint64_t *out, const char **p, const char *end)
{
	uint64_t v = 0;
	size_t n = 0;

	if (*p >= end || **p < '1' || **p > '9')
		return 0;
	while (*p < end && **p >= '0' && **p <= '9') {
		unsigned d = (unsigned)(**p - '0');

		if (++n > 20 || v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
		(*p)++;
	}
	*out = v;
	return 1;
}

int cw_log_parse_message(cw_log_message *out, const char *msg, size_t len)
{
	cw_log_message m;
	const char *p = msg, *end = msg + len;

	if (msg == NULL || len > CW_LOG_MESSAGE_MAX)
		return cw_error(CW_EINVALID, "a log commit message is too long");
	if (!expect(&p, end, "caseway ops v1\n\ncase: ") || !take_hex(m.case_id, CW_ID_BYTES, &p, end) ||
	    !expect(&p, end, "\nauthor: ") || !take_hex(m.author, CW_AUTHOR_BYTES, &p, end) ||
	    !expect(&p, end, "\nseq: ") || !take_u64(&m.first, &p, end) || !expect(&p, end, "-") ||
	    !take_u64(&m.last, &p, end) || !expect(&p, end, "\nops-blake2b: ") ||
	    !take_hex(m.ops_hash, CW_HASH_BYTES, &p, end) || !expect(&p, end, "\n"))
		return cw_error(CW_EINVALID, "a log commit message is not in the caseway ops v1 form");
	/* "key: N" (N >= 2) when the ops are sealed under a later generation of
	 * the case key than the first */
	m.generation = 1;
	if (p != end) {
		uint64_t g;

		if (!expect(&p, end, "key: ") || !take_u64(&g, &p, end) || g < 2 || g > UINT32_MAX ||
		    !expect(&p, end, "\n"))
			return cw_error(CW_EINVALID,
			                "a log commit message is not in the caseway ops v1 form");
		m.generation = (uint32_t)g;
	}
	if (p != end)
		return cw_error(CW_EINVALID, "a log commit message is not in the caseway ops v1 form");
	if (m.last < m.first || m.last - m.first >= CW_LOG_BATCH_MAX_OPS)
		return cw_error(CW_EINVALID, "a log commit message names an impossible seq range");
	*out = m;
	return CW_OK;
}

/* ---- open ------------------------------------------------------------------- */

/* Remove a directory tree (a half-made repository left by a crash). */
static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Locks libgit2 leaves when killed while moving a ref: only stale ones can
 * exist while this process holds HOME/log.lock, so they go. */
static int stale_lock(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	size_t n = strlen(path);

	(void)sb;
	(void)ftw;
	if (flag == FTW_F && n > 5 && strcmp(path + n - 5, ".lock") == 0)
		(void)unlink(path);
	return 0;
}

/* Wait for HOME/log.lock: one caseway at a time moves the chains. */
static int take_lock(int *fd_out, const char *home_dir)
{
	char *path = cw_path_join(home_dir, "log.lock");
	int fd, tries;

	*fd_out = -1;
	if (path == NULL)
		return cw_error_nomem();
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	free(path);
	if (fd < 0)
		return cw_error(CW_ERROR, "could not open the git log's lock: %s", strerror(errno));
	for (tries = 0;; tries++) {
		struct flock fl;
		struct timespec pause = { 0, 50 * 1000 * 1000 };

		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_SETLK, &fl) == 0)
			break;
		if ((errno != EACCES && errno != EAGAIN) || tries >= 600) {
			close(fd);
			return cw_error(CW_ERROR,
			                "another caseway is syncing this node; try again when it is done");
		}
		nanosleep(&pause, NULL);
	}
	*fd_out = fd;
	return CW_OK;
}

/* Make log.git whole or not at all: made beside it, then renamed in. */
static int create_repo(const char *path, const char *home_dir)
{
	git_repository *repo = NULL;
	size_t len = strlen(path) + 8;
	char *tmp = malloc(len);
	int error = CW_OK;

	if (tmp == NULL)
		return cw_error_nomem();
	snprintf(tmp, len, "%s.new", path);
	if (nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT) {
		error = cw_error(CW_ERROR, "could not clear a half-made git log: %s", strerror(errno));
		goto done;
	}
	if (git_repository_init(&repo, tmp, 1) < 0) {
		error = cw_git__fail(CW_ERROR, "could not create the git log");
		goto done;
	}
	git_repository_free(repo);
	if (rename(tmp, path) < 0) {
		error = cw_error(CW_ERROR, "could not put the new git log in place: %s", strerror(errno));
		goto done;
	}
	error = cw_file_sync_dir(home_dir);
done:
	free(tmp);
	return error;
}

int cw_log_open(cw_log **out, const char *home_dir)
{
	cw_log *log = NULL;
	char *path = NULL, *refs = NULL;
	int rc, error;

	*out = NULL;
	if ((error = cw_git__start()) < 0)
		goto done;
	if ((log = calloc(1, sizeof(*log))) == NULL || (path = cw_path_join(home_dir, "log.git")) == NULL ||
	    (refs = cw_path_join(path, "refs")) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	log->lock_fd = -1;
	if ((log->home = strdup(home_dir)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if ((error = take_lock(&log->lock_fd, home_dir)) < 0)
		goto done;
	if (!cw_file_exists(path)) {
		if ((error = create_repo(path, home_dir)) < 0)
			goto done;
		log->fresh = 1;
	}
	/* A run that did not close the log cleanly (killed) may have left ref
	 * locks behind: only then is the refs tree searched for them. */
	if ((log->dirty = cw_path_join(home_dir, "log.dirty")) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if (cw_file_exists(log->dirty)) {
		(void)nftw(refs, stale_lock, 16, FTW_PHYS);
		(void)nftw(path, stale_lock, 1, FTW_PHYS); /* packed-refs.lock, HEAD.lock, config.lock */
	} else {
		int fd = open(log->dirty, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0) {
			error = cw_error(CW_ERROR, "could not mark the git log in use: %s", strerror(errno));
			goto done;
		}
		close(fd);
	}
	rc = git_repository_open_bare(&log->repo, path);
	if (rc < 0) {
		error = cw_git__fail(CW_ERROR, "could not open the git log");
		goto done;
	}
	*out = log;
	log = NULL;
	error = CW_OK;
done:
	cw_log_free(log);
	free(refs);
	free(path);
	return error;
}

void cw_log_free(cw_log *log)
{
	if (log == NULL)
		return;
	git_repository_free(log->repo);
	if (log->repo && log->dirty)
		(void)unlink(log->dirty); /* closed cleanly: no stale locks to look for */
	free(log->dirty);
	free(log->home);
	if (log->lock_fd >= 0)
		close(log->lock_fd);
	free(log);
}

size_t cw_log_skipped(const cw_log *log)
{
	return log ? log->skipped : 0;
}

/* ---- refs ------------------------------------------------------------------- */

typedef struct {
	char name[REF_LEN + 1];
	uint8_t case_id[CW_ID_BYTES];
	uint8_t author[CW_AUTHOR_BYTES];
	git_oid head;
} chain_ref;

static int parse_ref_name(chain_ref *r, const char *name)
{
	if (strlen(name) != REF_LEN || memcmp(name, REF_PREFIX, REF_PREFIX_LEN) != 0 ||
	    name[REF_PREFIX_LEN + CASE_HEX] != '/' || !cw_is_lower_hex(name + REF_PREFIX_LEN, CASE_HEX) ||
	    !cw_is_lower_hex(name + REF_PREFIX_LEN + CASE_HEX + 1, AUTHOR_HEX))
		return cw_error(CW_EINVALID, "the git log holds a malformed chain ref: %.80s", name);
	memcpy(r->name, name, REF_LEN + 1);
	{
		char c[CASE_HEX + 1], a[AUTHOR_HEX + 1];

		memcpy(c, name + REF_PREFIX_LEN, CASE_HEX);
		c[CASE_HEX] = '\0';
		memcpy(a, name + REF_PREFIX_LEN + CASE_HEX + 1, AUTHOR_HEX);
		a[AUTHOR_HEX] = '\0';
		if (cw_hex_decode(r->case_id, CW_ID_BYTES, c) < 0 ||
		    cw_hex_decode(r->author, CW_AUTHOR_BYTES, a) < 0)
			return cw_error(CW_EINVALID, "the git log holds a malformed chain ref: %.80s", name);
	}
	return CW_OK;
}

static void ref_name(char out[REF_LEN + 1], const uint8_t case_id[CW_ID_BYTES],
                     const uint8_t author[CW_AUTHOR_BYTES])
{
	char c[CASE_HEX + 1], a[AUTHOR_HEX + 1];

	cw_id_hex(c, case_id);
	cw_author_hex(a, author);
	snprintf(out, REF_LEN + 1, "%s%s/%s", REF_PREFIX, c, a);
}

static int cmp_bundle_ref(const void *a, const void *b)
{
	return strcmp(((const cw_bundle_ref *)a)->name, ((const cw_bundle_ref *)b)->name);
}

/* Every chain ref (optionally of one case), sorted by name. */
static int list_chains(chain_ref **out, size_t *n_out, cw_log *log, const uint8_t *case_id)
{
	cw_bundle_ref *refs = NULL;
	chain_ref *v = NULL;
	size_t nrefs = 0, n = 0, i;
	int error;

	*out = NULL;
	*n_out = 0;
	{
		/* Only the one case's refs when asked: a prefix, not a scan of all. */
		char prefix[REF_PREFIX_LEN + CASE_HEX + 2];

		memcpy(prefix, REF_PREFIX, REF_PREFIX_LEN + 1);
		if (case_id) {
			cw_id_hex(prefix + REF_PREFIX_LEN, case_id);
			memcpy(prefix + REF_PREFIX_LEN + CASE_HEX, "/", 2);
		}
		if ((error = cw_log_refs(&refs, &nrefs, log, prefix)) < 0)
			goto done;
	}
	if (nrefs > MAX_CHAINS) {
		error = cw_error(CW_EINVALID, "the git log holds too many chains");
		goto done;
	}
	if (nrefs && (v = calloc(nrefs, sizeof(*v))) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	for (i = 0; i < nrefs; i++) {
		if ((error = parse_ref_name(&v[n], refs[i].name)) < 0)
			goto done;
		if (git_oid_fromstr(&v[n].head, refs[i].oid) < 0) {
			error = cw_git__fail(CW_EINVALID, "a chain ref of the git log is damaged");
			goto done;
		}
		if (case_id == NULL || memcmp(case_id, v[n].case_id, CW_ID_BYTES) == 0)
			n++;
	}
	*out = v;
	*n_out = n;
	v = NULL;
done:
	free(v);
	free(refs);
	return error;
}

/* ---- reading and checking one commit ---------------------------------------- */

typedef struct {
	git_oid oid;
	cw_log_message msg;
	git_oid first_parent;
	int has_parent;
	cw_buf blob;  /* the sealed ops */
	cw_buf plain; /* the batch, once opened */
	size_t ndocs; /* document blobs in its tree */
} link_t;

/* The message of a raw commit: the bytes after the first blank line. */
static int raw_message(const char **msg, size_t *len, const char *raw, size_t rawlen)
{
	size_t i;

	for (i = 0; i + 1 < rawlen; i++)
		if (raw[i] == '\n' && raw[i + 1] == '\n') {
			*msg = raw + i + 2;
			*len = rawlen - i - 2;
			return CW_OK;
		}
	return cw_error(CW_EINVALID, "a log commit has no message");
}

/* Read commit oid, parse its message. raw_out (optional) gets the commit
 * bytes (caller frees with git_odb_object_free). */
static int read_message(cw_log_message *out, git_odb_object **raw_out, cw_log *log, const git_oid *oid)
{
	git_odb *odb = NULL;
	git_odb_object *obj = NULL;
	const char *msg = NULL;
	size_t len = 0;
	char hex[GIT_OID_HEXSZ + 1];
	int error;

	if (raw_out)
		*raw_out = NULL;
	oid_hex(hex, oid);
	if (git_repository_odb(&odb, log->repo) < 0) {
		error = cw_git__fail(CW_ERROR, "could not open the git log's objects");
		goto done;
	}
	{
		git_object_t type;
		size_t size;

		if (git_odb_read_header(&size, &type, odb, oid) == 0 &&
		    (type != GIT_OBJECT_COMMIT || size > CW_SSHSIG_COMMIT_MAX)) {
			error = cw_error(CW_EINVALID, "object %s of the git log is not a commit of a chain",
			                 hex);
			goto done;
		}
	}
	if (git_odb_read(&obj, odb, oid) < 0) {
		error = cw_git__fail(CW_EINVALID, "a commit of the git log is missing");
		goto done;
	}
	if (git_odb_object_type(obj) != GIT_OBJECT_COMMIT ||
	    git_odb_object_size(obj) > CW_SSHSIG_COMMIT_MAX) {
		error = cw_error(CW_EINVALID, "object %s of the git log is not a commit of a chain", hex);
		goto done;
	}
	if ((error = raw_message(&msg, &len, git_odb_object_data(obj), git_odb_object_size(obj))) < 0 ||
	    (error = cw_log_parse_message(out, msg, len)) < 0) {
		error = cw_error(error, "commit %s: %s", hex, cw_error_last());
		goto done;
	}
	if (raw_out) {
		*raw_out = obj;
		obj = NULL;
	}
done:
	git_odb_object_free(obj);
	git_odb_free(odb);
	return error;
}

/* A chain commit's tree: one `ops` blob, at most MAX_GRANTS grant blobs and
 * at most MAX_DOCS document blobs, nothing else. */
static int check_tree(size_t *docs_out, const git_tree *tree, const char *hex, const char *ahex)
{
	size_t i, n = git_tree_entrycount(tree), grants = 0, docs = 0;
	int ops = 0;

	if (n < 1 || n > 1 + MAX_GRANTS + MAX_DOCS)
		return cw_error(CW_EINVALID, "commit %s on the chain of %s holds %zu entries", hex, ahex, n);
	for (i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		char dev[CW_DEVICE_ID_LEN + 1], address[CW_DOCS_ADDRESS_LEN + 1];
		uint32_t gen;

		if (git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
		    git_tree_entry_filemode(e) != GIT_FILEMODE_BLOB)
			return cw_error(CW_EINVALID, "commit %s on the chain of %s holds a non-file", hex,
			                ahex);
		if (strcmp(name, "ops") == 0)
			ops = 1;
		else if (parse_grant_name(&gen, dev, name))
			grants++;
		else if (parse_doc_name(address, name))
			docs++;
		else
			return cw_error(CW_EINVALID, "commit %s on the chain of %s holds an unknown entry",
			                hex, ahex);
	}
	if (grants > MAX_GRANTS || docs > MAX_DOCS)
		return cw_error(CW_EINVALID, "commit %s on the chain of %s holds %zu entries", hex, ahex, n);
	*docs_out = docs;
	if (!ops)
		return cw_error(CW_EINVALID, "commit %s on the chain of %s holds no ops", hex, ahex);
	return CW_OK;
}

/* Check one chain commit fully: message and ref agree, signature by the
 * author's key in kr, committer, tree holding exactly `ops` whose hash the
 * message names, parents that belong to the case. Fills l (blob kept). */
static int check_commit(link_t *l, cw_log *log, const cw_keyring *kr, const git_oid *oid,
                        const uint8_t case_id[CW_ID_BYTES], const uint8_t author[CW_AUTHOR_BYTES])
{
	git_odb_object *raw = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_blob *blob = NULL;
	const git_tree_entry *entry;
	const git_signature *who;
	const uint8_t *known;
	uint8_t pk[CW_PK_BYTES], hash[CW_HASH_BYTES];
	char hex[GIT_OID_HEXSZ + 1], ahex[AUTHOR_HEX + 1], signer[CW_DEVICE_ID_LEN + 1], email[64];
	unsigned i, np;
	int error;

	oid_hex(hex, oid);
	cw_author_hex(ahex, author);
	git_oid_cpy(&l->oid, oid);
	if ((error = read_message(&l->msg, &raw, log, oid)) < 0)
		goto done;
	if (memcmp(l->msg.case_id, case_id, CW_ID_BYTES) != 0 ||
	    memcmp(l->msg.author, author, CW_AUTHOR_BYTES) != 0) {
		error = cw_error(CW_EVERIFY, "commit %s on the chain of %s names another case or author", hex,
		                 ahex);
		goto done;
	}
	error = cw_sshsig_verify_commit(pk, git_odb_object_data(raw), git_odb_object_size(raw));
	if (error < 0) {
		error = cw_error(error, "commit %s on the chain of %s: %s", hex, ahex, cw_error_last());
		goto done;
	}
	cw_keys_id_of(signer, pk);
	known = cw_keyring_find(kr, author);
	if (strcmp(signer, ahex) != 0 || known == NULL || !cw_secret_equal(known, pk, CW_PK_BYTES)) {
		error = cw_error(
		    CW_EVERIFY,
		    "commit %s on the chain of %s is signed by %s, not by a known key of its author", hex,
		    ahex, signer);
		goto done;
	}
	if (git_commit_lookup(&commit, log->repo, oid) < 0) {
		error = cw_git__fail(CW_EINVALID, "a commit of the git log cannot be read");
		goto done;
	}
	snprintf(email, sizeof(email), "%s@caseway", ahex);
	if ((who = git_commit_committer(commit)) == NULL || strcmp(who->email, email) != 0 ||
	    (who = git_commit_author(commit)) == NULL || strcmp(who->email, email) != 0) {
		error = cw_error(CW_EVERIFY, "commit %s on the chain of %s names another author", hex, ahex);
		goto done;
	}
	np = git_commit_parentcount(commit);
	if (np > MAX_PARENTS || (l->msg.first > 1 && np == 0)) {
		error = cw_error(CW_EVERIFY, "commit %s on the chain of %s has wrong parents", hex, ahex);
		goto done;
	}
	l->has_parent = l->msg.first > 1;
	if (l->has_parent)
		git_oid_cpy(&l->first_parent, git_commit_parent_id(commit, 0));
	/* Further parents: heads of other authors' chains of the same case. */
	for (i = l->has_parent ? 1 : 0; i < np; i++) {
		cw_log_message pm;

		if ((error = read_message(&pm, NULL, log, git_commit_parent_id(commit, i))) < 0)
			goto done;
		if (memcmp(pm.case_id, case_id, CW_ID_BYTES) != 0 ||
		    memcmp(pm.author, author, CW_AUTHOR_BYTES) == 0) {
			error = cw_error(CW_EVERIFY,
			                 "commit %s on the chain of %s merges a commit of another chain", hex,
			                 ahex);
			goto done;
		}
	}
	if (git_commit_tree(&tree, commit) < 0) {
		error = cw_git__fail(CW_EINVALID, "the tree of a log commit cannot be read");
		goto done;
	}
	if ((error = check_tree(&l->ndocs, tree, hex, ahex)) < 0)
		goto done;
	entry = git_tree_entry_byname(tree, "ops");
	if ((error = blob_within(log, git_tree_entry_id(entry), BLOB_MAX,
	                         "the ops of a log commit are malformed")) < 0)
		goto done;
	if (git_blob_lookup(&blob, log->repo, git_tree_entry_id(entry)) < 0) {
		error = cw_git__fail(CW_EINVALID, "the ops of a log commit cannot be read");
		goto done;
	}
	if (git_blob_rawsize(blob) > (git_object_size_t)BLOB_MAX) {
		error = cw_error(CW_EINVALID, "the ops of commit %s are too large", hex);
		goto done;
	}
	cw_keys_hash(hash, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	if (!cw_secret_equal(hash, l->msg.ops_hash, CW_HASH_BYTES)) {
		error = cw_error(CW_EVERIFY,
		                 "the ops of commit %s on the chain of %s do not match its signed hash", hex,
		                 ahex);
		goto done;
	}
	l->blob.len = 0;
	if ((error = cw_buf_put(&l->blob, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob))) < 0)
		goto done;
	error = CW_OK;
done:
	git_blob_free(blob);
	git_tree_free(tree);
	git_commit_free(commit);
	git_odb_object_free(raw);
	return error;
}

static void links_free(link_t *links, size_t n)
{
	size_t i;

	for (i = 0; links && i < n; i++) {
		cw_buf_dispose(&links[i].blob);
		cw_buf_dispose(&links[i].plain);
	}
	free(links);
}

/* Walk a chain from its head by first parents, checking every commit, down
 * to seq 1 or to `seen` (the commit last ingested; the walk must meet it).
 * *out: the commits not yet seen, oldest first. */
static int walk_chain(link_t **out, size_t *n_out, cw_log *log, const cw_keyring *kr, const chain_ref *r,
                      const git_oid *seen)
{
	link_t *v = NULL, *grown, tmp;
	size_t n = 0, alloc = 0, i;
	git_oid cur;
	char ahex[AUTHOR_HEX + 1];
	int error = CW_OK;

	*out = NULL;
	*n_out = 0;
	cw_author_hex(ahex, r->author);
	git_oid_cpy(&cur, &r->head);
	for (;;) {
		if (n == alloc) {
			if (n >= CW_LOG_CHAIN_MAX) {
				error = cw_error(CW_EINVALID, "the chain of %s is too long", ahex);
				goto done;
			}
			alloc = alloc ? 2 * alloc : 8;
			if ((grown = realloc(v, alloc * sizeof(*v))) == NULL) {
				error = cw_error_nomem();
				goto done;
			}
			v = grown;
		}
		memset(&v[n], 0, sizeof(v[n]));
		n++;
		if ((error = check_commit(&v[n - 1], log, kr, &cur, r->case_id, r->author)) < 0)
			goto done;
		if (n > 1 && v[n - 1].msg.last + 1 != v[n - 2].msg.first) {
			error = cw_error(CW_EVERIFY,
			                 "equivocation by %s: its chain does not join (seq %" PRIu64
			                 " follows seq %" PRIu64 ")",
			                 ahex, v[n - 2].msg.first, v[n - 1].msg.last);
			goto done;
		}
		if (!v[n - 1].has_parent) {
			if (seen) {
				error = cw_error(
				    CW_EVERIFY,
				    "equivocation by %s: its chain was rewritten (it no longer holds the "
				    "commit this node took from it)",
				    ahex);
				goto done;
			}
			break;
		}
		if (seen && git_oid_equal(&v[n - 1].first_parent, seen)) {
			cw_log_message sm;

			if ((error = read_message(&sm, NULL, log, seen)) < 0)
				goto done;
			if (sm.last + 1 != v[n - 1].msg.first) {
				error = cw_error(CW_EVERIFY, "equivocation by %s: its chain does not join",
				                 ahex);
				goto done;
			}
			break;
		}
		git_oid_cpy(&cur, &v[n - 1].first_parent);
	}
	for (i = 0; i < n / 2; i++) {
		tmp = v[i];
		v[i] = v[n - 1 - i];
		v[n - 1 - i] = tmp;
	}
	*out = v;
	*n_out = n;
	v = NULL;
done:
	links_free(v, n);
	return error;
}

/* ---- batches ------------------------------------------------------------------ */

static void box_context(uint8_t ctx[CTX_LEN], const uint8_t case_id[CW_ID_BYTES],
                        const uint8_t author[CW_AUTHOR_BYTES])
{
	memcpy(ctx, "cw-ops", 6);
	memcpy(ctx + 6, case_id, CW_ID_BYTES);
	memcpy(ctx + 6 + CW_ID_BYTES, author, CW_AUTHOR_BYTES);
}

typedef struct {
	const uint8_t *p;
	size_t len;
	size_t link; /* index of the commit that carried it */
} op_ref;

int cw_log_batch_each(const uint8_t *plain, size_t len, const cw_log_message *msg,
                      int (*fn)(const uint8_t *op, size_t len, void *ctx), void *ctx)
{
	cw_reader rd;
	cw_op *op = NULL;
	uint32_t count, oplen, i;
	const uint8_t *p;
	char ahex[AUTHOR_HEX + 1];
	int error;

	cw_author_hex(ahex, msg->author);
	if ((op = malloc(sizeof(*op))) == NULL)
		return cw_error_nomem();
	cw_reader_init(&rd, plain, len);
	if ((error = cw_reader_u32(&rd, &count, "the op count of a batch")) < 0)
		goto done;
	if (msg->last < msg->first || (uint64_t)count != msg->last - msg->first + 1) {
		error = cw_error(CW_EVERIFY,
		                 "a commit of %s carries %" PRIu32 " ops but names seq %" PRIu64 "-%" PRIu64,
		                 ahex, count, msg->first, msg->last);
		goto done;
	}
	for (i = 0; i < count; i++) {
		if ((error = cw_reader_u32(&rd, &oplen, "the length of an op in a batch")) < 0)
			goto done;
		if (oplen == 0 || oplen > CW_OP_MAX_BYTES) {
			error = cw_error(CW_EINVALID, "an op in a batch of %s has an impossible length",
			                 ahex);
			goto done;
		}
		if ((error = cw_reader_get(&rd, &p, oplen, "an op in a batch")) < 0 ||
		    (error = cw_op_decode(op, p, oplen)) < 0)
			goto done;
		if (memcmp(op->case_id, msg->case_id, CW_ID_BYTES) != 0 ||
		    memcmp(op->author, msg->author, CW_AUTHOR_BYTES) != 0 || op->seq != msg->first + i) {
			error = cw_error(CW_EVERIFY, "a commit of %s carries an op its message does not name",
			                 ahex);
			goto done;
		}
		if ((error = fn(p, oplen, ctx)) < 0)
			goto done;
	}
	error = cw_reader_end(&rd, "a batch of ops");
done:
	free(op);
	return error;
}

typedef struct {
	op_ref **ops;
	size_t *nops, *alloc, link;
} batch_ctx;

static int add_op_ref(const uint8_t *p, size_t len, void *ctx)
{
	batch_ctx *b = ctx;
	op_ref *grown;

	if (*b->nops == *b->alloc) {
		size_t na = *b->alloc ? 2 * *b->alloc : 64;

		if ((grown = realloc(*b->ops, na * sizeof(**b->ops))) == NULL)
			return cw_error_nomem();
		*b->ops = grown;
		*b->alloc = na;
	}
	(*b->ops)[*b->nops].p = p;
	(*b->ops)[*b->nops].len = len;
	(*b->ops)[*b->nops].link = b->link;
	(*b->nops)++;
	return CW_OK;
}

/* The ops of the batch of link l (index li), appended to ops. */
static int decode_batch(op_ref **ops, size_t *nops, size_t *alloc, const link_t *l, size_t li)
{
	batch_ctx b = { ops, nops, alloc, li };

	return cw_log_batch_each(l->plain.data, l->plain.len, &l->msg, add_op_ref, &b);
}

/* ---- commit --------------------------------------------------------------------- */

typedef struct {
	uint8_t case_id[CW_ID_BYTES];
	uint64_t seq;
	uint64_t hlc;
	uint8_t *bytes;
	size_t len;
} mine_t;

typedef struct {
	mine_t *v;
	size_t n, alloc;
} mine_list;

static int collect_mine(const cw_op *op, const char *flagged, void *ctx)
{
	mine_list *m = ctx;
	size_t len = op->signed_len + CW_SIG_BYTES;
	mine_t *grown;

	(void)flagged;
	if (m->n == m->alloc) {
		size_t na = m->alloc ? 2 * m->alloc : 64;

		if ((grown = realloc(m->v, na * sizeof(*grown))) == NULL)
			return cw_error_nomem();
		m->v = grown;
		m->alloc = na;
	}
	if ((m->v[m->n].bytes = malloc(len)) == NULL)
		return cw_error_nomem();
	memcpy(m->v[m->n].bytes, op->sig - op->signed_len, len);
	memcpy(m->v[m->n].case_id, op->case_id, CW_ID_BYTES);
	m->v[m->n].seq = op->seq;
	m->v[m->n].hlc = op->hlc;
	m->v[m->n].len = len;
	m->n++;
	return CW_OK;
}

static void mine_dispose(mine_list *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		cw_secret_wipe(m->v[i].bytes, m->v[i].len);
		free(m->v[i].bytes);
	}
	free(m->v);
}

/* Put in tb the grant of the case key to device dev (sealing key box_pk),
 * reusing the parent's grant blob when it has the same name. */
static int add_grant(cw_log *log, cw_store *st, git_treebuilder *tb, const git_tree *prev_tree,
                     const uint8_t case_id[CW_ID_BYTES], uint32_t gen, const char *dev,
                     const uint8_t box_pk[CW_PK_BYTES])
{
	cw_buf g = CW_BUF_INIT;
	const git_tree_entry *e;
	git_oid oid;
	uint32_t sealed_gen;
	char name[GRANT_NAME_MAX];
	int error = CW_OK;

	grant_name(name, gen, dev);
	if (git_treebuilder_get(tb, name) != NULL)
		return CW_OK;
	if (git_treebuilder_entrycount(tb) > MAX_GRANTS)
		return cw_error(CW_EINVALID, "a case has too many members");
	if (prev_tree && (e = git_tree_entry_byname(prev_tree, name)) != NULL &&
	    git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
		git_oid_cpy(&oid, git_tree_entry_id(e));
	} else {
		if ((error = cw_grant_seal(&g, &sealed_gen, st, case_id, box_pk)) < 0)
			goto done;
		if (git_blob_create_from_buffer(&oid, log->repo, g.data, g.len) < 0) {
			error = cw_git__fail(CW_ERROR, "could not write a key grant to the git log");
			goto done;
		}
	}
	if (git_treebuilder_insert(NULL, tb, name, &oid, GIT_FILEMODE_BLOB) < 0)
		error = cw_git__fail(CW_ERROR, "could not write a key grant to the git log");
done:
	cw_buf_dispose(&g);
	return error;
}

/* The grants of a new commit for the case: this device, every hub of the
 * roster, and every member of the case the roster knows. */
static int add_grants(cw_log *log, cw_store *st, const cw_keys *me, const cw_roster *roster,
                      git_treebuilder *tb, const uint8_t case_id[CW_ID_BYTES], const git_oid *prev)
{
	git_commit *parent = NULL;
	git_tree *prev_tree = NULL;
	char(*members)[CW_DEVICE_ID_LEN + 1] = NULL, creator[CW_DEVICE_ID_LEN + 1];
	size_t nmembers = 0, i, j, count = roster ? cw_roster_count(roster) : 0;
	uint32_t gen;
	int error;

	if ((error = cw_grant_generation(&gen, st, case_id)) < 0)
		goto done;
	if (prev &&
	    (git_commit_lookup(&parent, log->repo, prev) < 0 || git_commit_tree(&prev_tree, parent) < 0)) {
		error = cw_git__fail(CW_ERROR, "could not read a chain of the git log");
		goto done;
	}
	if ((error = add_grant(log, st, tb, prev_tree, case_id, gen, cw_keys_id(me), cw_keys_box_pk(me))) <
	        0 ||
	    (error = cw_case_members(&members, &nmembers, st, case_id)) < 0)
		goto done;
	/* the coordinator who created the case is a member without a member item */
	if ((error = cw_erase_creator(creator, st, case_id)) == CW_ENOTFOUND) {
		cw_error_clear();
		creator[0] = '\0';
	} else if (error < 0) {
		goto done;
	}
	for (i = 0; i < count; i++) {
		const cw_cert *c = cw_roster_cert(roster, i);
		int member = c->role == CW_ROLE_HUB && !cw_roster_revoked(roster, c->sign_pk);

		if (!member && strcmp(creator, c->device_id) == 0)
			member = !cw_roster_revoked(roster, c->sign_pk);
		for (j = 0; !member && j < nmembers; j++)
			member = strcmp(members[j], c->device_id) == 0 &&
			         !cw_roster_revoked(roster, c->sign_pk);
		if (member &&
		    (error = add_grant(log, st, tb, prev_tree, case_id, gen, c->device_id, c->box_pk)) < 0)
			goto done;
	}
done:
	free(members);
	git_tree_free(prev_tree);
	git_commit_free(parent);
	return error;
}

/* The content address a document op names (put or resolve of an entity of
 * kind document with a well-formed "address"), copied to address; 0 when op
 * is no such op. */
static int doc_address_of(char address[CW_DOCS_ADDRESS_LEN + 1], const cw_op *op)
{
	const cw_op_field *f;

	if (op->kind != CW_KIND_DOCUMENT || op->action == CW_OP_REMOVE ||
	    (f = cw_op_field_get(op, "address")) == NULL || f->len != CW_DOCS_ADDRESS_LEN ||
	    !cw_is_lower_hex(f->value, f->len))
		return 0;
	memcpy(address, f->value, CW_DOCS_ADDRESS_LEN);
	address[CW_DOCS_ADDRESS_LEN] = '\0';
	return 1;
}

/* Put in tb, as blob "doc.<address>", the encrypted file of every document
 * that ops[0..n) add and this node holds (HOME/docs), streamed from disk into
 * the object database (a document may be far larger than memory allows). */
static int add_docs(cw_log *log, git_treebuilder *tb, const mine_t *ops, size_t n)
{
	cw_op *op = NULL;
	char address[CW_DOCS_ADDRESS_LEN + 1], name[DOC_NAME_LEN + 1], *path = NULL;
	git_oid oid;
	size_t i;
	int error = CW_OK;

	if ((op = malloc(sizeof(*op))) == NULL)
		return cw_error_nomem();
	for (i = 0; i < n; i++) {
		if ((error = cw_op_decode(op, ops[i].bytes, ops[i].len)) < 0)
			goto done;
		if (!doc_address_of(address, op))
			continue;
		snprintf(name, sizeof(name), DOC_PREFIX "%s", address);
		if (git_treebuilder_get(tb, name) != NULL)
			continue;
		if ((error = cw_docs_exists(log->home, address)) < 0)
			goto done;
		if (error == 0) /* not stored here: the record travels alone */
			continue;
		free(path);
		if ((error = cw_docs_path(&path, log->home, address)) < 0)
			goto done;
		if (git_blob_create_from_disk(&oid, log->repo, path) < 0 ||
		    git_treebuilder_insert(NULL, tb, name, &oid, GIT_FILEMODE_BLOB) < 0) {
			error = cw_git__fail(CW_ERROR, "could not write a document to the git log");
			goto done;
		}
	}
	error = CW_OK;
done:
	free(path);
	free(op);
	return error;
}

/* One commit carrying ops[0..n) (one case, seq order) after prev (or none). */
static int write_commit(cw_log *log, cw_store *st, const cw_keys *me, const cw_roster *roster,
                        const uint8_t author[CW_AUTHOR_BYTES], const mine_t *ops, size_t n,
                        const git_oid *prev)
{
	cw_buf batch = CW_BUF_INIT, box = CW_BUF_INIT, text = CW_BUF_INIT, signed_text = CW_BUF_INIT;
	cw_secret *key = NULL;
	git_treebuilder *tb = NULL;
	git_odb *odb = NULL;
	git_reference *ref = NULL;
	chain_ref *others = NULL;
	size_t nothers = 0, i;
	git_oid blob_oid, tree_oid, commit_oid;
	uint8_t ctx[CTX_LEN], hash[CW_HASH_BYTES];
	char name[REF_LEN + 1], hex[GIT_OID_HEXSZ + 1], chex[CASE_HEX + 1], ahex[AUTHOR_HEX + 1];
	char hhex[2 * CW_HASH_BYTES + 1], line[256];
	uint64_t secs = cw_hlc_ms(ops[n - 1].hlc) / 1000;
	uint32_t gen = 1;
	int error, rc;

	batch.cap = CW_LOG_BATCH_MAX_BYTES;
	ref_name(name, ops[0].case_id, author);
	cw_id_hex(chex, ops[0].case_id);
	cw_author_hex(ahex, author);
	if (n > CW_LOG_BATCH_MAX_OPS) {
		error = cw_error(CW_EINVALID, "too many new ops for case %s for one commit", chex);
		goto done;
	}
	if ((error = cw_buf_put_u32(&batch, (uint32_t)n)) < 0)
		goto done;
	for (i = 0; i < n; i++)
		if ((error = cw_buf_put_u32(&batch, (uint32_t)ops[i].len)) < 0 ||
		    (error = cw_buf_put(&batch, ops[i].bytes, ops[i].len)) < 0) {
			error = cw_error(error, "the new ops of case %s are too large for one commit", chex);
			goto done;
		}
	if ((error = cw_case_key_at(&key, &gen, st, ops[0].case_id, 0)) < 0)
		goto done;
	box_context(ctx, ops[0].case_id, author);
	if ((error = cw_seal_box(&box, key, ctx, sizeof(ctx), batch.data, batch.len)) < 0)
		goto done;
	cw_keys_hash(hash, box.data, box.len);
	cw_hex_encode(hhex, hash, CW_HASH_BYTES);
	if (git_blob_create_from_buffer(&blob_oid, log->repo, box.data, box.len) < 0) {
		error = cw_git__fail(CW_ERROR, "could not write ops to the git log");
		goto done;
	}
	if (git_treebuilder_new(&tb, log->repo, NULL) < 0 ||
	    git_treebuilder_insert(NULL, tb, "ops", &blob_oid, GIT_FILEMODE_BLOB) < 0) {
		error = cw_git__fail(CW_ERROR, "could not write a tree to the git log");
		goto done;
	}
	if ((error = add_grants(log, st, me, roster, tb, ops[0].case_id, prev)) < 0 ||
	    (error = add_docs(log, tb, ops, n)) < 0)
		goto done;
	if (git_treebuilder_write(&tree_oid, tb) < 0) {
		error = cw_git__fail(CW_ERROR, "could not write a tree to the git log");
		goto done;
	}
	oid_hex(hex, &tree_oid);
	snprintf(line, sizeof(line), "tree %s\n", hex);
	if ((error = cw_buf_put(&text, line, strlen(line))) < 0)
		goto done;
	if (prev) {
		oid_hex(hex, prev);
		snprintf(line, sizeof(line), "parent %s\n", hex);
		if ((error = cw_buf_put(&text, line, strlen(line))) < 0)
			goto done;
	}
	if ((error = list_chains(&others, &nothers, log, ops[0].case_id)) < 0)
		goto done;
	for (i = 0; i < nothers; i++) {
		if (memcmp(others[i].author, author, CW_AUTHOR_BYTES) == 0)
			continue;
		oid_hex(hex, &others[i].head);
		snprintf(line, sizeof(line), "parent %s\n", hex);
		if ((error = cw_buf_put(&text, line, strlen(line))) < 0)
			goto done;
	}
	snprintf(line, sizeof(line), "author %s <%s@caseway> %" PRIu64 " +0000\n", ahex, ahex, secs);
	if ((error = cw_buf_put(&text, line, strlen(line))) < 0)
		goto done;
	snprintf(line, sizeof(line), "committer %s <%s@caseway> %" PRIu64 " +0000\n\n", ahex, ahex, secs);
	if ((error = cw_buf_put(&text, line, strlen(line))) < 0)
		goto done;
	snprintf(line, sizeof(line),
	         "caseway ops v1\n\ncase: %s\nauthor: %s\nseq: %" PRIu64 "-%" PRIu64 "\nops-blake2b: %s\n",
	         chex, ahex, ops[0].seq, ops[n - 1].seq, hhex);
	if ((error = cw_buf_put(&text, line, strlen(line))) < 0)
		goto done;
	if (gen > 1) {
		snprintf(line, sizeof(line), "key: %" PRIu32 "\n", gen);
		if ((error = cw_buf_put(&text, line, strlen(line))) < 0)
			goto done;
	}
	if ((error = cw_sshsig_sign_commit(&signed_text, me, (const char *)text.data, text.len)) < 0)
		goto done;
	if (git_repository_odb(&odb, log->repo) < 0 ||
	    git_odb_write(&commit_oid, odb, signed_text.data, signed_text.len, GIT_OBJECT_COMMIT) < 0) {
		error = cw_git__fail(CW_ERROR, "could not write a commit to the git log");
		goto done;
	}
	if (prev)
		rc = git_reference_create_matching(&ref, log->repo, name, &commit_oid, 1, prev,
		                                   "caseway: ops");
	else
		rc = git_reference_create(&ref, log->repo, name, &commit_oid, 0, "caseway: ops");
	if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS) {
		error = cw_git__fail(CW_EEXISTS, "the chain moved while this node was writing to it");
		goto done;
	}
	if (rc < 0) {
		error = cw_git__fail(CW_ERROR, "could not move a chain of the git log");
		goto done;
	}
	error = CW_OK;
done:
	git_reference_free(ref);
	git_odb_free(odb);
	git_treebuilder_free(tb);
	free(others);
	cw_secret_free(key);
	cw_buf_dispose(&batch);
	cw_buf_dispose(&box);
	cw_buf_dispose(&text);
	cw_buf_dispose(&signed_text);
	return error;
}

typedef struct {
	uint8_t case_id[CW_ID_BYTES];
	uint64_t seq;
} head_t;

typedef struct {
	head_t *v;
	size_t n, alloc;
} head_list;

static int collect_head(const uint8_t case_id[CW_ID_BYTES], uint64_t seq, void *ctx)
{
	head_list *h = ctx;
	head_t *grown;

	if (h->n == h->alloc) {
		size_t na = h->alloc ? 2 * h->alloc : 64;

		if ((grown = realloc(h->v, na * sizeof(*grown))) == NULL)
			return cw_error_nomem();
		h->v = grown;
		h->alloc = na;
	}
	memcpy(h->v[h->n].case_id, case_id, CW_ID_BYTES);
	h->v[h->n++].seq = seq;
	return CW_OK;
}

/* The last seq this device's chain for the case carries (0: no chain), and
 * its head. Only the head's message is read: the chain is this node's own
 * writing, checked whole by cw_log_verify. */
static int own_chain(uint64_t *carried, int *exists, git_oid *head, cw_log *log, const char *name,
                     const uint8_t case_id[CW_ID_BYTES], const uint8_t author[CW_AUTHOR_BYTES])
{
	git_reference *ref = NULL;
	cw_log_message msg;
	int rc, error = CW_OK;

	*carried = 0;
	*exists = 0;
	rc = git_reference_lookup(&ref, log->repo, name);
	if (rc == GIT_ENOTFOUND)
		return CW_OK;
	if (rc < 0)
		return cw_git__fail(CW_ERROR, "could not read a chain of the git log");
	if (git_reference_type(ref) != GIT_REFERENCE_DIRECT) {
		error = cw_error(CW_EINVALID, "chain ref %s is not a plain ref", name);
		goto done;
	}
	git_oid_cpy(head, git_reference_target(ref));
	if ((error = read_message(&msg, NULL, log, head)) < 0)
		goto done;
	if (memcmp(msg.case_id, case_id, CW_ID_BYTES) != 0 ||
	    memcmp(msg.author, author, CW_AUTHOR_BYTES) != 0) {
		error = cw_error(CW_EVERIFY, "chain %s holds a commit of another case or author", name);
		goto done;
	}
	*carried = msg.last;
	*exists = 1;
done:
	git_reference_free(ref);
	return error;
}

int cw_log_commit(size_t *commits_out, cw_log *log, cw_store *st, const cw_keys *me, const cw_roster *roster)
{
	head_list heads = { NULL, 0, 0 }, done_cases = { NULL, 0, 0 };
	mine_list mine = { NULL, 0, 0 };
	uint8_t author[CW_AUTHOR_BYTES];
	size_t i, m, commits = 0;
	int in_tx = 0, error;

	/* Only the cases whose store head is past what their chain carries are
	 * looked at (the store keeps a hint of what each chain carries; a git
	 * log made afresh looks at every case): the cost follows what is new,
	 * not the history. */
	if ((error = cw_author_from_hex(author, cw_keys_id(me))) < 0 ||
	    (error = cw_oplog_heads_of(st, author, !log->fresh, collect_head, &heads)) < 0)
		goto done;
	for (i = 0; i < heads.n; i++) {
		char name[REF_LEN + 1];
		git_oid head;
		uint64_t carried;
		int exists;

		ref_name(name, heads.v[i].case_id, author);
		if ((error = own_chain(&carried, &exists, &head, log, name, heads.v[i].case_id, author)) < 0)
			goto done;
		if (heads.v[i].seq < carried) {
			error = cw_error(CW_EVERIFY,
			                 "the git log carries ops of this device the store does not hold");
			goto done;
		}
		if (heads.v[i].seq > carried) {
			mine_dispose(&mine);
			memset(&mine, 0, sizeof(mine));
			if ((error = cw_oplog_each_after(st, heads.v[i].case_id, author, carried,
			                                 collect_mine, &mine)) < 0)
				goto done;
			for (m = 0; m < mine.n; m++)
				if (mine.v[m].seq != carried + 1 + m) {
					error = cw_error(CW_EVERIFY,
					                 "the store's ops of this device are not contiguous");
					goto done;
				}
			/* ops written since the heads were read (a local write while
			 * this runs) wait for the next commit */
			while (mine.n > heads.v[i].seq - carried) {
				mine.n--;
				cw_secret_wipe(mine.v[mine.n].bytes, mine.v[mine.n].len);
				free(mine.v[mine.n].bytes);
			}
			if (mine.n != heads.v[i].seq - carried) {
				error = cw_error(CW_EVERIFY,
				                 "the store's head of this device does not match its ops");
				goto done;
			}
			if ((error = write_commit(log, st, me, roster, author, mine.v, mine.n,
			                          exists ? &head : NULL)) < 0)
				goto done;
			commits++;
		}
		if ((error = collect_head(heads.v[i].case_id, heads.v[i].seq, &done_cases)) < 0)
			goto done;
	}
	/* The hint, in one transaction (lost in a crash, it is only rebuilt). */
	if (done_cases.n) {
		if ((error = cw_store_begin(st)) < 0)
			goto done;
		in_tx = 1;
		for (i = 0; i < done_cases.n; i++)
			if ((error = cw_oplog_mark_committed(st, done_cases.v[i].case_id,
			                                     done_cases.v[i].seq)) < 0)
				goto done;
		if ((error = cw_store_commit(st)) < 0)
			goto done;
		in_tx = 0;
	}
	*commits_out = commits;
	error = CW_OK;
done:
	if (in_tx)
		cw_store_rollback(st);
	free(heads.v);
	free(done_cases.v);
	mine_dispose(&mine);
	return error;
}

/* ---- ingest ----------------------------------------------------------------------- */

typedef struct {
	chain_ref ref;
	link_t *links;
	size_t nlinks;
	op_ref *ops;
	size_t nops, alloc, next;
	int skipped;
} chain_t;

static void meta_key(char out[80], const char *prefix, const chain_ref *r)
{
	char c[CASE_HEX + 1], a[AUTHOR_HEX + 1];

	cw_id_hex(c, r->case_id);
	cw_author_hex(a, r->author);
	snprintf(out, 80, "%s%s:%s", prefix, c, a);
}

/* The commit the store last took from chain r (prefix META_PREFIX), or
 * last checked without a key (META_CHECKED); *found 0 when none. */
static int seen_of(git_oid *out, int *found, cw_store *st, const char *prefix, const chain_ref *r)
{
	cw_buf v = CW_BUF_INIT;
	char key[80], hex[GIT_OID_HEXSZ + 1];
	int error;

	*found = 0;
	v.cap = 64;
	meta_key(key, prefix, r);
	error = cw_store_meta_get(st, key, &v);
	if (error == CW_ENOTFOUND) {
		cw_error_clear();
		error = CW_OK;
		goto done;
	}
	if (error < 0)
		goto done;
	if (v.len != GIT_OID_HEXSZ || !cw_is_lower_hex((const char *)v.data, v.len)) {
		error = cw_error(CW_EINVALID, "the store's record of chain %s is damaged", r->name);
		goto done;
	}
	memcpy(hex, v.data, GIT_OID_HEXSZ);
	hex[GIT_OID_HEXSZ] = '\0';
	if (git_oid_fromstr(out, hex) < 0) {
		error = cw_git__fail(CW_EINVALID, "the store's record of a chain is damaged");
		goto done;
	}
	*found = 1;
done:
	cw_buf_dispose(&v);
	return error;
}

static void chains_free(chain_t *c, size_t n)
{
	size_t i;

	for (i = 0; c && i < n; i++) {
		links_free(c[i].links, c[i].nlinks);
		free(c[i].ops);
	}
	free(c);
}

/* May the author of a chain commit hand this node generation gen of the
 * case key? Only a device that could have made it: not revoked, and a hub,
 * or a coordinator that created the case or is a member of it (when this
 * node holds none of the case yet it cannot tell, and takes a coordinator's
 * word). A generation far above the newest held is refused too, so nobody
 * can push the numbers to where rotation stops. */
static int may_grant(cw_store *st, const cw_keyring *kr, const uint8_t case_id[CW_ID_BYTES],
                     const uint8_t author[CW_AUTHOR_BYTES], uint32_t gen)
{
	const uint8_t *pk = cw_keyring_find(kr, author);
	char ahex[CW_DEVICE_ID_LEN + 1], creator[CW_DEVICE_ID_LEN + 1];
	char(*members)[CW_DEVICE_ID_LEN + 1] = NULL;
	const cw_cert *cert;
	uint32_t have = 0;
	size_t n = 0, i;
	long idx;
	int yes = 0, held;

	if (pk == NULL || kr->roster == NULL || cw_keyring_revocation(kr, author) != NULL ||
	    (idx = cw_roster_find(kr->roster, pk)) < 0)
		return 0;
	cert = cw_roster_cert(kr->roster, (size_t)idx);
	held = cw_grant_generation(&have, st, case_id) == CW_OK;
	cw_error_clear();
	if (held && gen > have && gen - have > CW_LOG_GENERATION_STEP_MAX)
		return 0;
	if (cert->role == CW_ROLE_HUB)
		return 1;
	if (cert->role != CW_ROLE_COORDINATOR)
		return 0;
	if (!held)
		return 1;
	cw_author_hex(ahex, author);
	if (cw_erase_creator(creator, st, case_id) == CW_OK && strcmp(creator, ahex) == 0)
		return 1;
	cw_error_clear();
	if (cw_case_members(&members, &n, st, case_id) == CW_OK)
		for (i = 0; i < n && !yes; i++)
			yes = strcmp(members[i], ahex) == 0;
	cw_error_clear();
	free(members);
	return yes;
}

/* Take from the (checked) commit oid's tree the grant to me of generation
 * gen (0: the newest it holds for me). *found = 0 when it has none. */
static int take_grant_at(int *found, cw_log *log, cw_store *st, const cw_keys *me,
                         const uint8_t case_id[CW_ID_BYTES], const git_oid *oid, uint32_t gen)
{
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_blob *blob = NULL;
	const git_tree_entry *best = NULL;
	uint32_t best_gen = 0, g;
	char dev[CW_DEVICE_ID_LEN + 1];
	size_t j;
	int error = CW_OK;

	*found = 0;
	if (git_commit_lookup(&commit, log->repo, oid) < 0 || git_commit_tree(&tree, commit) < 0) {
		error = cw_git__fail(CW_EINVALID, "a commit of the git log cannot be read");
		goto done;
	}
	for (j = 0; j < git_tree_entrycount(tree); j++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, j);

		if (parse_grant_name(&g, dev, git_tree_entry_name(e)) && strcmp(dev, cw_keys_id(me)) == 0 &&
		    (gen ? g == gen : g > best_gen)) {
			best = e;
			best_gen = g;
		}
	}
	if (best == NULL)
		goto done;
	if ((error = blob_within(log, git_tree_entry_id(best), CW_GRANT_BYTES,
	                         "a key grant of the git log is malformed")) < 0)
		goto done;
	if (git_blob_lookup(&blob, log->repo, git_tree_entry_id(best)) < 0) {
		error = cw_git__fail(CW_EINVALID, "a key grant of the git log cannot be read");
		goto done;
	}
	if ((error = cw_grant_accept(st, me, case_id, git_blob_rawcontent(blob),
	                             (size_t)git_blob_rawsize(blob))) < 0)
		goto done;
	*found = 1;
done:
	git_blob_free(blob);
	git_tree_free(tree);
	git_commit_free(commit);
	return error;
}

/* Walk, check and open the new commits of one chain. */
static int prepare_chain(chain_t *c, cw_log *log, cw_store *st, const cw_keyring *kr, const cw_keys *me)
{
	cw_secret *key = NULL;
	uint32_t key_gen = 0;
	git_oid seen;
	uint8_t ctx[CTX_LEN];
	size_t i;
	int found, error;

	if ((error = seen_of(&seen, &found, st, META_PREFIX, &c->ref)) < 0)
		goto done;
	if (found && (git_oid_equal(&seen, &c->ref.head) ||
	              git_graph_descendant_of(log->repo, &seen, &c->ref.head) == 1))
		goto done; /* nothing new (the ref is at or behind what was taken) */
	error = cw_case_key_at(&key, &key_gen, st, c->ref.case_id, 0);
	if (error == CW_ENOTFOUND) {
		/* Not a member: check what is new since the last check, and keep
		 * only the ciphertext. */
		git_oid checked;
		int cfound;

		cw_error_clear();
		c->skipped = 1;
		if ((error = seen_of(&checked, &cfound, st, META_CHECKED, &c->ref)) < 0)
			goto done;
		if (cfound && (git_oid_equal(&checked, &c->ref.head) ||
		               git_graph_descendant_of(log->repo, &checked, &c->ref.head) == 1))
			goto done;
		error = walk_chain(&c->links, &c->nlinks, log, kr, &c->ref,
		                   cfound  ? &checked
		                   : found ? &seen
		                           : NULL);
		goto done;
	}
	if (error < 0)
		goto done;
	if ((error = walk_chain(&c->links, &c->nlinks, log, kr, &c->ref, found ? &seen : NULL)) < 0)
		goto done;
	box_context(ctx, c->ref.case_id, c->ref.author);
	for (i = 0; i < c->nlinks; i++) {
		link_t *l = &c->links[i];
		char hex[GIT_OID_HEXSZ + 1];

		if (l->msg.generation != key_gen) {
			int granted = 0;

			cw_secret_free(key);
			key = NULL;
			error = cw_case_key_at(&key, &key_gen, st, c->ref.case_id, l->msg.generation);
			if (error == CW_ENOTFOUND && me &&
			    may_grant(st, kr, c->ref.case_id, c->ref.author, l->msg.generation)) {
				cw_error_clear();
				if ((error = take_grant_at(&granted, log, st, me, c->ref.case_id, &l->oid,
				                           l->msg.generation)) < 0)
					goto done;
				error = granted ? cw_case_key_at(&key, &key_gen, st, c->ref.case_id,
				                                 l->msg.generation)
				                : CW_ENOTFOUND;
			}
			if (error == CW_ENOTFOUND) {
				/* A generation of the key this node was not given (it
				 * was removed from the case): the rest stays ciphertext. */
				cw_error_clear();
				size_t j;

				key_gen = 0;
				for (j = i; j < c->nlinks; j++) {
					cw_buf_dispose(&c->links[j].blob);
					cw_buf_dispose(&c->links[j].plain);
				}
				c->nlinks = i;
				error = CW_OK;
				break;
			}
			if (error < 0)
				goto done;
		}
		l->plain.cap = CW_LOG_BATCH_MAX_BYTES;
		error = cw_seal_open(&l->plain, key, ctx, sizeof(ctx), l->blob.data, l->blob.len);
		if (error < 0) {
			oid_hex(hex, &l->oid);
			error = cw_error(error == CW_EINVALID ? CW_EINVALID : CW_EVERIFY,
			                 "the ops of commit %s do not open with the case key: %s", hex,
			                 cw_error_last());
			goto done;
		}
		cw_buf_dispose(&l->blob);
		if ((error = decode_batch(&c->ops, &c->nops, &c->alloc, l, i)) < 0)
			goto done;
	}
done:
	cw_secret_free(key);
	return error;
}

/* Record the newest commit of c whose ops are all in the store, or, for a
 * chain of a case without key, the head just checked. */
static int mark_chain(cw_store *st, const chain_t *c)
{
	char key[80], hex[GIT_OID_HEXSZ + 1];
	size_t done_links;

	if (c->nlinks == 0)
		return CW_OK;
	if (c->skipped) {
		meta_key(key, META_CHECKED, &c->ref);
		oid_hex(hex, &c->ref.head);
		return cw_store_meta_set(st, key, hex, GIT_OID_HEXSZ);
	}
	done_links = c->next == c->nops ? c->nlinks : c->ops[c->next].link;
	if (done_links == 0)
		return CW_OK;
	meta_key(key, META_PREFIX, &c->ref);
	oid_hex(hex, &c->links[done_links - 1].oid);
	return cw_store_meta_set(st, key, hex, GIT_OID_HEXSZ);
}

static int write_all(int fd, const char *p, size_t len, const char *what)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return cw_error(CW_ERROR, "could not store %s: %s", what, strerror(errno));
		p += w;
		len -= (size_t)w;
	}
	return CW_OK;
}

/* Copy blob oid of the log into the open file fd, streaming where the
 * object database can (loose objects); a packed object is read whole. */
static int blob_to_fd(cw_log *log, const git_oid *oid, int fd, const char *what)
{
	git_odb *odb = NULL;
	git_odb_stream *stream = NULL;
	git_odb_object *obj = NULL;
	git_object_t type;
	size_t len = 0, off;
	char *buf = NULL;
	int rc, error = CW_OK;

	if (git_repository_odb(&odb, log->repo) < 0) {
		error = cw_git__fail(CW_ERROR, "could not open the git log's objects");
		goto done;
	}
	if (git_odb_open_rstream(&stream, &len, &type, odb, oid) == 0) {
		if (type != GIT_OBJECT_BLOB) {
			error = cw_error(CW_EINVALID, "%s in the git log is not a file", what);
			goto done;
		}
		if ((buf = malloc(65536)) == NULL) {
			error = cw_error_nomem();
			goto done;
		}
		while ((rc = git_odb_stream_read(stream, buf, 65536)) > 0)
			if ((error = write_all(fd, buf, (size_t)rc, what)) < 0)
				goto done;
		if (rc < 0)
			error = cw_git__fail(CW_EINVALID, "a document of the git log cannot be read");
		goto done;
	}
	git_error_clear();
	if (git_odb_read(&obj, odb, oid) < 0 || git_odb_object_type(obj) != GIT_OBJECT_BLOB) {
		error = cw_git__fail(CW_EINVALID, "a document of the git log cannot be read");
		goto done;
	}
	for (off = 0; off < git_odb_object_size(obj); off += len) {
		len = git_odb_object_size(obj) - off;
		if (len > ((size_t)1 << 20))
			len = (size_t)1 << 20;
		if ((error = write_all(fd, (const char *)git_odb_object_data(obj) + off, len, what)) < 0)
			goto done;
	}
done:
	free(buf);
	git_odb_object_free(obj);
	if (stream)
		git_odb_stream_free(stream);
	git_odb_free(odb);
	return error;
}

/* Bring the document blob oid (named address) of commit hex into HOME/docs,
 * unless it is there: written to a temporary file, checked to open with a
 * key of the case (the commit's generation, then the older ones) and to have
 * that address, then linked into place. */
static int take_doc(cw_log *log, cw_store *st, const chain_t *c, const link_t *l, const char *address,
                    const git_oid *oid)
{
	cw_secret *key = NULL;
	char *tmp = NULL, hex[GIT_OID_HEXSZ + 1], ahex[AUTHOR_HEX + 1], what[48];
	uint32_t gen = 0;
	int fd = -1, error;

	if ((error = cw_docs_exists(log->home, address)) != 0)
		return error < 0 ? error : CW_OK;
	oid_hex(hex, &l->oid);
	cw_author_hex(ahex, c->ref.author);
	snprintf(what, sizeof(what), "document %.16s", address);
	if ((error = cw_docs_temp(&fd, &tmp, log->home)) < 0 || (error = blob_to_fd(log, oid, fd, what)) < 0)
		goto done;
	if (close(fd) < 0) {
		fd = -1;
		error = cw_error_os(tmp);
		goto done;
	}
	fd = -1;
	error = cw_case_key_at(&key, &gen, st, c->ref.case_id, l->msg.generation);
	if (error == CW_ENOTFOUND) {
		cw_error_clear();
		error = cw_case_key_at(&key, &gen, st, c->ref.case_id, 0);
	}
	while (error == CW_OK) {
		error = cw_docs_receive(log->home, tmp, address, key);
		if ((error != CW_EVERIFY && error != CW_EINVALID) || gen <= 1)
			break;
		cw_error_clear();
		cw_secret_free(key);
		key = NULL;
		error = cw_case_key_below(&key, &gen, st, c->ref.case_id, gen);
	}
	if (error == CW_EVERIFY || error == CW_EINVALID || error == CW_ENOTFOUND)
		error = cw_error(CW_EVERIFY,
		                 "document %.16s on the chain of %s (commit %s) is damaged or was tampered "
		                 "with: it does not open with a key of the case to the address its op names",
		                 address, ahex, hex);
done:
	if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	cw_secret_free(key);
	return error;
}

static int cmp_address(const void *a, const void *b)
{
	return memcmp(a, b, CW_DOCS_ADDRESS_LEN + 1);
}

/* The documents of link li of chain c, whose ops are all taken and are
 * c->ops[*k ..] (ops are in link order; *k moves past them): every
 * `doc.<address>` blob of its tree must be named by a document op of its
 * batch, and is brought into HOME/docs (take_doc). */
static int take_docs(cw_log *log, cw_store *st, const chain_t *c, size_t li, size_t *k)
{
	const link_t *l = &c->links[li];
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	cw_op *op = NULL;
	char(*named)[CW_DOCS_ADDRESS_LEN + 1] = NULL, address[CW_DOCS_ADDRESS_LEN + 1];
	char hex[GIT_OID_HEXSZ + 1], ahex[AUTHOR_HEX + 1];
	size_t first = *k, nnamed = 0, i;
	int error = CW_OK;

	while (*k < c->nops && c->ops[*k].link == li)
		(*k)++;
	if (l->ndocs == 0)
		return CW_OK;
	if ((op = malloc(sizeof(*op))) == NULL || (named = calloc(*k - first + 1, sizeof(*named))) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	for (i = first; i < *k; i++) {
		if ((error = cw_op_decode(op, c->ops[i].p, c->ops[i].len)) < 0)
			goto done;
		nnamed += (size_t)doc_address_of(named[nnamed], op);
	}
	qsort(named, nnamed, sizeof(*named), cmp_address);
	if (git_commit_lookup(&commit, log->repo, &l->oid) < 0 || git_commit_tree(&tree, commit) < 0) {
		error = cw_git__fail(CW_EINVALID, "a commit of the git log cannot be read");
		goto done;
	}
	for (i = 0; i < git_tree_entrycount(tree); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);

		if (!parse_doc_name(address, git_tree_entry_name(e)))
			continue;
		if (bsearch(address, named, nnamed, sizeof(*named), cmp_address) == NULL) {
			oid_hex(hex, &l->oid);
			cw_author_hex(ahex, c->ref.author);
			error = cw_error(CW_EVERIFY,
			                 "commit %s on the chain of %s carries document %.16s that none of "
			                 "its ops names",
			                 hex, ahex, address);
			goto done;
		}
		if ((error = take_doc(log, st, c, l, address, git_tree_entry_id(e))) < 0)
			goto done;
	}
done:
	free(named);
	free(op);
	git_tree_free(tree);
	git_commit_free(commit);
	return error;
}

/* For the cases of refs[0..n) whose key the store lacks, take a grant to me
 * from the newest commit of one of their chains (checked first: signed by
 * its author). Runs in the caller's transaction. */
static int take_grants(cw_log *log, cw_store *st, const cw_keys *me, const cw_keyring *kr,
                       const chain_ref *refs, size_t n)
{
	link_t head;
	size_t i;
	int found, error = CW_OK;

	memset(&head, 0, sizeof(head));
	for (i = 0; i < n; i++) {
		uint32_t have;

		error = cw_grant_generation(&have, st, refs[i].case_id);
		if (error == CW_OK)
			continue;
		if (error != CW_ENOTFOUND)
			goto done;
		cw_error_clear();
		cw_buf_dispose(&head.blob);
		/* the grant is only as good as the commit that carries it, and
		 * its author's right to hand out the key */
		if (!may_grant(st, kr, refs[i].case_id, refs[i].author, 0))
			continue;
		if ((error = check_commit(&head, log, kr, &refs[i].head, refs[i].case_id, refs[i].author)) <
		        0 ||
		    (error = take_grant_at(&found, log, st, me, refs[i].case_id, &refs[i].head, 0)) < 0)
			goto done;
	}
done:
	cw_buf_dispose(&head.blob);
	return error;
}

/* Ingest the chains refs[0..n) (heads as given) in one store transaction.
 * When old is not NULL the chains' refs are moved to the given heads before
 * the transaction commits: old[i] is the head the ref must still have (or
 * all zero for a new ref). */
static int ingest_chains(size_t *ops_out, cw_log *log, cw_store *st, const cw_keyring *kr, const cw_keys *me,
                         const chain_ref *refs, size_t nrefs, const git_oid *old, const cw_log_hook *hook)
{
	chain_t *chains = NULL;
	git_reference *moved = NULL;
	size_t i, added_total = 0, skipped = 0, waiting = 0;
	int in_tx = 0, progress, added, error;

	log->skipped = 0;
	if (nrefs && (chains = calloc(nrefs, sizeof(*chains))) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if ((error = cw_store_begin(st)) < 0)
		goto done;
	in_tx = 1;
	if (me && (error = take_grants(log, st, me, kr, refs, nrefs)) < 0)
		goto done;
	for (i = 0; i < nrefs; i++) {
		chains[i].ref = refs[i];
		if ((error = prepare_chain(&chains[i], log, st, kr, me)) < 0)
			goto done;
		skipped += (size_t)chains[i].skipped;
	}
	/* Rounds until no chain moves: an op waiting for another chain's op
	 * goes in once that chain has been fed far enough. */
	do {
		progress = 0;
		for (i = 0; i < nrefs; i++) {
			chain_t *c = &chains[i];

			while (!c->skipped && c->next < c->nops) {
				error = cw_oplog_ingest(&added, st, kr, c->ops[c->next].p,
				                        c->ops[c->next].len);
				if (error == CW_EWAIT)
					break;
				if (error < 0) {
					char ahex[AUTHOR_HEX + 1];

					cw_author_hex(ahex, c->ref.author);
					error = cw_error(error, "an op on the chain of %s was refused: %s",
					                 ahex, cw_error_last());
					goto done;
				}
				added_total += (size_t)added;
				c->next++;
				progress = 1;
			}
		}
	} while (progress);
	for (i = 0; i < nrefs; i++) {
		chain_t *c = &chains[i];
		size_t li, k = 0, done_links;

		if (!c->skipped && c->next < c->nops)
			waiting++;
		if ((error = mark_chain(st, c)) < 0)
			goto done;
		/* the documents of the commits taken whole (a document file may
		 * come before the store commits: it is content-addressed) */
		done_links = c->skipped ? 0 : c->next == c->nops ? c->nlinks : c->ops[c->next].link;
		for (li = 0; li < done_links; li++)
			if ((error = take_docs(log, st, c, li, &k)) < 0)
				goto done;
	}
	if ((error = cw_oplog_flush(st)) < 0 || (hook && (error = hook->fn(st, hook->ctx)) < 0))
		goto done;
	for (i = 0; old && i < nrefs; i++) {
		int rc = git_oid_is_zero(&old[i])
		             ? git_reference_create(&moved, log->repo, refs[i].name, &refs[i].head, 0,
		                                    "caseway: take")
		             : git_reference_create_matching(&moved, log->repo, refs[i].name, &refs[i].head,
		                                             1, &old[i], "caseway: take");

		git_reference_free(moved);
		moved = NULL;
		if (rc < 0) {
			error = cw_git__fail(rc == GIT_EMODIFIED || rc == GIT_EEXISTS ? CW_EEXISTS : CW_ERROR,
			                     "could not move a chain of the git log");
			goto done;
		}
	}
	if ((error = cw_store_commit(st)) < 0)
		goto done;
	in_tx = 0;
	log->skipped = skipped;
	*ops_out = added_total;
	if (waiting) {
		error = cw_error(
		    CW_EWAIT,
		    "%zu chains of the git log wait for ops that are not in it yet; the rest was taken",
		    waiting);
		goto done;
	}
	*ops_out = added_total;
	error = CW_OK;
done:
	if (in_tx)
		cw_store_rollback(st);
	chains_free(chains, nrefs);
	return error;
}

int cw_log_ingest(size_t *ops_out, cw_log *log, cw_store *st, const cw_keyring *kr, const cw_keys *me)
{
	chain_ref *refs = NULL;
	size_t nrefs = 0;
	int error;

	/* Chains of erased cases go first (what a crashed erasure left). */
	if ((error = cw_log_erasure_sweep(NULL, log, st)) < 0 ||
	    (error = list_chains(&refs, &nrefs, log, NULL)) < 0)
		goto done;
	error = ingest_chains(ops_out, log, st, kr, me, refs, nrefs, NULL, NULL);
done:
	free(refs);
	return error;
}

int cw_log_check_revoked(cw_log *log, const cw_keyring *kr, const cw_bundle_ref *tip)
{
	const cw_revocation *rev;
	const cw_revoked_chain *c;
	chain_ref r;
	git_oid oid, accepted;
	char chex[CASE_HEX + 1];

	if (strncmp(tip->name, REF_PREFIX, REF_PREFIX_LEN) != 0 || parse_ref_name(&r, tip->name) < 0 ||
	    git_oid_fromstr(&oid, tip->oid) < 0) {
		cw_error_clear();
		return CW_OK; /* not a chain: cw_log_take judges it */
	}
	if ((rev = cw_keyring_revocation(kr, r.author)) == NULL)
		return CW_OK;
	if ((c = cw_revocation_chain(rev, r.case_id)) != NULL) {
		git_oid_fromraw(&accepted, c->commit);
		/* only the accepted commit or its ancestors: a fork below it by
		 * the stolen device is not what the agency accepted */
		if (git_oid_equal(&accepted, &oid) ||
		    git_graph_descendant_of(log->repo, &accepted, &oid) == 1)
			return CW_OK;
	}
	cw_error_clear();
	cw_id_hex(chex, r.case_id);
	return cw_error(CW_EVERIFY,
	                "device %s was revoked by the agency: its changes to case %.8s after the revocation "
	                "are refused",
	                rev->device_id, chex);
}

/* nftw: remove a directory that has become empty (a packed ref leaves its
 * folders behind, 4 KiB each); anything else stays. */
static int remove_empty_dir(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	if (flag == FTW_DP && ftw->level > 0)
		(void)rmdir(path); /* ENOTEMPTY: still in use */
	return 0;
}

int cw_log_pack_refs(cw_log *log)
{
	git_refdb *db = NULL;
	char *refs = NULL;
	int error = CW_OK;

	if (git_repository_refdb(&db, log->repo) < 0 || git_refdb_compress(db) < 0)
		error = cw_git__fail(CW_ERROR, "could not pack the refs of the git log");
	git_refdb_free(db);
	if (error == CW_OK && (refs = malloc(strlen(git_repository_path(log->repo)) + 16)) != NULL) {
		sprintf(refs, "%srefs/cw", git_repository_path(log->repo));
		(void)nftw(refs, remove_empty_dir, 16, FTW_DEPTH | FTW_PHYS);
		strcat(refs, "-in"); /* the staging of pulls */
		(void)nftw(refs, remove_empty_dir, 16, FTW_DEPTH | FTW_PHYS);
		free(refs);
	}
	return error;
}

int cw_log_chains_of(cw_log *log, const uint8_t author[CW_AUTHOR_BYTES],
                     int (*fn)(const uint8_t case_id[CW_ID_BYTES], const char *commit_hex, uint64_t last_seq,
                               void *ctx),
                     void *ctx)
{
	chain_ref *all = NULL;
	cw_log_message msg;
	size_t n = 0, i;
	int error;

	if ((error = list_chains(&all, &n, log, NULL)) < 0)
		return error;
	for (i = 0; i < n && error == CW_OK; i++) {
		char hex[GIT_OID_HEXSZ + 1];

		if (memcmp(all[i].author, author, CW_AUTHOR_BYTES) != 0)
			continue;
		if ((error = read_message(&msg, NULL, log, &all[i].head)) < 0)
			break;
		oid_hex(hex, &all[i].head);
		error = fn(all[i].case_id, hex, msg.last, ctx);
	}
	free(all);
	return error;
}

int cw_log_take(size_t *ops_out, cw_log *log, cw_store *st, const cw_keyring *kr, const cw_keys *me,
                const cw_bundle_ref *tips, size_t ntips, const cw_log_hook *hook)
{
	chain_ref *refs = NULL;
	git_oid *old = NULL;
	git_reference *ref = NULL;
	size_t i, n = 0;
	int rc, error = CW_OK;

	*ops_out = 0;
	if (ntips &&
	    ((refs = calloc(ntips, sizeof(*refs))) == NULL || (old = calloc(ntips, sizeof(*old))) == NULL)) {
		error = cw_error_nomem();
		goto done;
	}
	for (i = 0; i < ntips; i++) {
		chain_ref *r = &refs[n];
		char ahex[AUTHOR_HEX + 1];

		memset(&old[n], 0, sizeof(old[n]));
		if (strncmp(tips[i].name, REF_PREFIX, REF_PREFIX_LEN) != 0)
			continue;
		if ((error = parse_ref_name(r, tips[i].name)) < 0)
			goto done;
		if (git_oid_fromstr(&r->head, tips[i].oid) < 0) {
			error = cw_error(CW_EINVALID, "a chain head is not a commit id");
			goto done;
		}
		if ((error = cw_log_check_revoked(log, kr, &tips[i])) < 0)
			goto done;
		cw_author_hex(ahex, r->author);
		rc = git_reference_lookup(&ref, log->repo, r->name);
		if (rc == GIT_ENOTFOUND) {
			n++;
			continue;
		}
		if (rc < 0 || git_reference_type(ref) != GIT_REFERENCE_DIRECT) {
			error = cw_git__fail(CW_ERROR, "could not read a chain of the git log");
			goto done;
		}
		git_oid_cpy(&old[n], git_reference_target(ref));
		git_reference_free(ref);
		ref = NULL;
		if (git_oid_equal(&old[n], &r->head) ||
		    git_graph_descendant_of(log->repo, &old[n], &r->head) == 1)
			continue; /* this node holds that much already, or more */
		rc = git_graph_descendant_of(log->repo, &r->head, &old[n]);
		if (rc < 0) {
			error = cw_git__fail(CW_EVERIFY, "a chain head from outside cannot be traced");
			goto done;
		}
		if (rc != 1) {
			char chex[CASE_HEX + 1];

			cw_id_hex(chex, r->case_id);
			error = cw_error(CW_EVERIFY,
			                 "equivocation by %s: its chain for case %.8s was rewritten (the new "
			                 "head does not continue the one this node holds)",
			                 ahex, chex);
			goto done;
		}
		n++;
	}
	if (n || hook)
		error = ingest_chains(ops_out, log, st, kr, me, refs, n, old, hook);
	if (error == CW_OK || error == CW_EWAIT) {
		/* Chains that waited (now or before) for what came in go in now;
		 * whether anything still waits is decided by this last pass. */
		size_t more = 0;

		cw_error_clear();
		error = cw_log_ingest(&more, log, st, kr, me);
		*ops_out += more;
	}
done:
	git_reference_free(ref);
	free(old);
	free(refs);
	return error;
}

/* ---- verify and signers ---------------------------------------------------------- */

int cw_log_verify(size_t *commits_out, cw_log *log, const cw_keyring *kr)
{
	chain_ref *refs = NULL;
	link_t *links = NULL;
	size_t nrefs = 0, nlinks = 0, i, total = 0;
	int error;

	if ((error = list_chains(&refs, &nrefs, log, NULL)) < 0)
		goto done;
	for (i = 0; i < nrefs; i++) {
		cw_bundle_ref tip;

		snprintf(tip.name, sizeof(tip.name), "%s", refs[i].name);
		oid_hex(tip.oid, &refs[i].head);
		if ((error = cw_log_check_revoked(log, kr, &tip)) < 0 ||
		    (error = walk_chain(&links, &nlinks, log, kr, &refs[i], NULL)) < 0)
			goto done;
		total += nlinks;
		links_free(links, nlinks);
		links = NULL;
		nlinks = 0;
	}
	*commits_out = total;
	error = CW_OK;
done:
	links_free(links, nlinks);
	free(refs);
	return error;
}

int cw_log_allowed_signers(cw_buf *out, const cw_keyring *kr)
{
	cw_buf tmp = CW_BUF_INIT;
	char *line = NULL, id[CW_DEVICE_ID_LEN + 1];
	size_t i;
	int error = CW_OK;

	for (i = 0; i < kr->n; i++) {
		cw_keys_id_of(id, kr->e[i].pk);
		if ((error = cw_sshsig_pubkey_line(&line, kr->e[i].pk, NULL)) < 0)
			goto done;
		if ((error = cw_buf_put(&tmp, id, strlen(id))) < 0 ||
		    (error = cw_buf_put(&tmp, SIGNERS_MID, strlen(SIGNERS_MID))) < 0 ||
		    (error = cw_buf_put(&tmp, line, strlen(line))) < 0 ||
		    (error = cw_buf_put(&tmp, "\n", 1)) < 0)
			goto done;
		free(line);
		line = NULL;
	}
	if (tmp.len)
		error = cw_buf_put(out, tmp.data, tmp.len);
done:
	free(line);
	cw_buf_dispose(&tmp);
	return error;
}

/* ---- the roster chain --------------------------------------------------------------- */

/* The commit of roster version seq: tree {roster}, no parents, authored by
 * the agency at the roster's time, so every node writes the same object. */
static int roster_commit(git_oid *out, cw_log *log, uint64_t seq, int64_t issued_at, const uint8_t *bytes,
                         size_t len)
{
	git_treebuilder *tb = NULL;
	git_odb *odb = NULL;
	git_oid blob, tree;
	char text[512], hex[GIT_OID_HEXSZ + 1];
	int n, error = CW_OK;

	if (git_blob_create_from_buffer(&blob, log->repo, bytes, len) < 0 ||
	    git_treebuilder_new(&tb, log->repo, NULL) < 0 ||
	    git_treebuilder_insert(NULL, tb, "roster", &blob, GIT_FILEMODE_BLOB) < 0 ||
	    git_treebuilder_write(&tree, tb) < 0) {
		error = cw_git__fail(CW_ERROR, "could not write the roster to the git log");
		goto done;
	}
	oid_hex(hex, &tree);
	n = snprintf(text, sizeof(text),
	             "tree %s\nauthor caseway <org@caseway> %" PRId64
	             " +0000\ncommitter caseway <org@caseway> %" PRId64
	             " +0000\n\ncaseway roster v1\n\nseq: %" PRIu64 "\n",
	             hex, issued_at < 0 ? 0 : issued_at, issued_at < 0 ? 0 : issued_at, seq);
	if (git_repository_odb(&odb, log->repo) < 0 ||
	    git_odb_write(out, odb, text, (size_t)n, GIT_OBJECT_COMMIT) < 0)
		error = cw_git__fail(CW_ERROR, "could not write the roster to the git log");
done:
	git_odb_free(odb);
	git_treebuilder_free(tb);
	return error;
}

/* Point refs/cw/roster/<seq> at oid; a ref there naming anything else is a
 * second roster with the same number. */
static int roster_ref(cw_log *log, uint64_t seq, const git_oid *oid)
{
	git_reference *ref = NULL;
	char name[64];
	int rc;

	snprintf(name, sizeof(name), ROSTER_REF "%" PRIu64, seq);
	rc = git_reference_lookup(&ref, log->repo, name);
	if (rc == 0) {
		int same = git_reference_type(ref) == GIT_REFERENCE_DIRECT &&
		           git_oid_equal(git_reference_target(ref), oid);

		git_reference_free(ref);
		return same ? CW_OK
		            : cw_error(CW_EVERIFY, "two different rosters claim number %" PRIu64 ": refused",
		                       seq);
	}
	if (rc != GIT_ENOTFOUND || git_reference_create(&ref, log->repo, name, oid, 0, "caseway: roster") < 0)
		return cw_git__fail(CW_ERROR, "could not record the roster in the git log");
	git_reference_free(ref);
	return CW_OK;
}

typedef struct {
	cw_log *log;
	size_t written;
} publish_ctx;

static int publish_one(uint64_t seq, const uint8_t *bytes, size_t len, void *p)
{
	publish_ctx *c = p;
	cw_roster *r = NULL;
	git_oid oid;
	int error;

	if ((error = cw_roster_parse(&r, bytes, len)) < 0)
		return cw_error(CW_EVERIFY, "the stored roster %" PRIu64 " does not verify: %s", seq,
		                cw_error_last());
	if ((error = roster_commit(&oid, c->log, seq, cw_roster_issued_at(r), bytes, len)) == CW_OK &&
	    (error = roster_ref(c->log, seq, &oid)) == CW_OK)
		c->written++;
	cw_roster_free(r);
	return error;
}

int cw_log_roster_publish(cw_log *log, cw_home *h)
{
	publish_ctx c = { log, 0 };

	return cw_org_roster_each(h, publish_one, &c);
}

static int parse_roster_ref(uint64_t *seq, const char *name)
{
	const char *p = name + ROSTER_REF_LEN;
	uint64_t v = 0;

	if (strncmp(name, ROSTER_REF, ROSTER_REF_LEN) != 0 || *p < '1' || *p > '9' || strlen(p) > 12)
		return 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*seq = v;
	return 1;
}

typedef struct {
	uint64_t seq;
	git_oid oid;
} roster_tip;

static int cmp_roster_tip(const void *a, const void *b)
{
	const roster_tip *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int cw_log_roster_take(size_t *taken_out, cw_log *log, cw_home *h, const cw_bundle_ref *tips, size_t ntips)
{
	roster_tip *v = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_blob *blob = NULL;
	cw_roster *r = NULL;
	size_t i, n = 0, taken = 0;
	int error = CW_OK;

	if (ntips && (v = calloc(ntips, sizeof(*v))) == NULL)
		return cw_error_nomem();
	for (i = 0; i < ntips; i++)
		if (parse_roster_ref(&v[n].seq, tips[i].name)) {
			if (git_oid_fromstr(&v[n].oid, tips[i].oid) < 0) {
				error = cw_error(CW_EINVALID, "a roster ref does not name a commit");
				goto done;
			}
			n++;
		}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_roster_tip);
	for (i = 0; i < n; i++) {
		const git_tree_entry *e;
		const uint8_t *bytes;
		size_t len;
		git_oid expect;

		if (git_commit_lookup(&commit, log->repo, &v[i].oid) < 0 ||
		    git_commit_tree(&tree, commit) < 0) {
			error = cw_git__fail(CW_EINVALID, "a roster commit cannot be read");
			goto done;
		}
		if (git_tree_entrycount(tree) != 1 || (e = git_tree_entry_byname(tree, "roster")) == NULL ||
		    git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
		    blob_within(log, git_tree_entry_id(e), ROSTER_BLOB_MAX, "roster") < 0 ||
		    git_blob_lookup(&blob, log->repo, git_tree_entry_id(e)) < 0 ||
		    git_blob_rawsize(blob) > (git_object_size_t)ROSTER_BLOB_MAX) {
			error = cw_error(CW_EINVALID, "roster %" PRIu64 " in the git log is malformed",
			                 v[i].seq);
			goto done;
		}
		bytes = git_blob_rawcontent(blob);
		len = (size_t)git_blob_rawsize(blob);
		if ((error = cw_roster_parse(&r, bytes, len)) < 0) {
			error = cw_error(CW_EVERIFY, "roster %" PRIu64 " refused: %s", v[i].seq,
			                 cw_error_last());
			goto done;
		}
		/* The commit must be exactly the one every node writes for it. */
		if (cw_roster_seq(r) != v[i].seq ||
		    (error = roster_commit(&expect, log, v[i].seq, cw_roster_issued_at(r), bytes, len)) < 0 ||
		    !git_oid_equal(&expect, &v[i].oid)) {
			error = error < 0 ? error
			                  : cw_error(CW_EVERIFY,
			                             "roster %" PRIu64 " in the git log is not the agency's",
			                             v[i].seq);
			goto done;
		}
		if ((error = cw_org_accept_roster(h, bytes, len)) < 0 ||
		    (error = roster_ref(log, v[i].seq, &v[i].oid)) < 0)
			goto done;
		taken++;
		cw_roster_free(r);
		r = NULL;
		git_blob_free(blob);
		blob = NULL;
		git_tree_free(tree);
		tree = NULL;
		git_commit_free(commit);
		commit = NULL;
	}
	*taken_out = taken;
done:
	cw_roster_free(r);
	git_blob_free(blob);
	git_tree_free(tree);
	git_commit_free(commit);
	free(v);
	return error;
}

/* ---- signed notes (manifests) -------------------------------------------------------- */

int cw_log_note_write(char oid_out[41], cw_log *log, const cw_keys *me, int64_t when, const char *msg,
                      size_t len)
{
	cw_buf text = CW_BUF_INIT, signed_text = CW_BUF_INIT;
	git_odb *odb = NULL;
	git_oid oid;
	const char *id = cw_keys_id(me);
	char line[256];
	int error;

	snprintf(line, sizeof(line),
	         "tree " EMPTY_TREE "\nauthor %s <%s@caseway> %" PRId64
	         " +0000\ncommitter %s <%s@caseway> %" PRId64 " +0000\n\n",
	         id, id, when < 0 ? 0 : when, id, id, when < 0 ? 0 : when);
	if ((error = cw_buf_put(&text, line, strlen(line))) < 0 ||
	    (error = cw_buf_put(&text, msg, len)) < 0 ||
	    (error = cw_sshsig_sign_commit(&signed_text, me, (const char *)text.data, text.len)) < 0)
		goto done;
	if (git_repository_odb(&odb, log->repo) < 0 ||
	    git_odb_write(&oid, odb, signed_text.data, signed_text.len, GIT_OBJECT_COMMIT) < 0) {
		error = cw_git__fail(CW_ERROR, "could not write a signed note to the git log");
		goto done;
	}
	oid_hex(oid_out, &oid);
done:
	git_odb_free(odb);
	cw_buf_dispose(&text);
	cw_buf_dispose(&signed_text);
	return error;
}

int cw_log_note_read(cw_buf *msg_out, char signer_out[CW_DEVICE_ID_LEN + 1], cw_log *log,
                     const char *oid_hex_in, const cw_keyring *kr)
{
	git_odb *odb = NULL;
	git_odb_object *obj = NULL;
	git_commit *commit = NULL;
	const git_signature *who;
	const uint8_t *known;
	uint8_t pk[CW_PK_BYTES], author[CW_AUTHOR_BYTES];
	git_oid oid;
	const char *msg = NULL;
	char signer[CW_DEVICE_ID_LEN + 1], email[64], tree[GIT_OID_HEXSZ + 1];
	size_t len = 0;
	int error;

	if (git_oid_fromstr(&oid, oid_hex_in) < 0)
		return cw_error(CW_EINVALID, "a signed note is not named by a commit id");
	if (git_repository_odb(&odb, log->repo) < 0 || git_odb_read(&obj, odb, &oid) < 0) {
		error = cw_git__fail(CW_EINVALID, "a signed note is missing");
		goto done;
	}
	if (git_odb_object_type(obj) != GIT_OBJECT_COMMIT ||
	    git_odb_object_size(obj) > CW_SSHSIG_COMMIT_MAX) {
		error = cw_error(CW_EINVALID, "a signed note is not a commit");
		goto done;
	}
	if ((error = cw_sshsig_verify_commit(pk, git_odb_object_data(obj), git_odb_object_size(obj))) < 0) {
		error = cw_error(error, "a signed note: %s", cw_error_last());
		goto done;
	}
	cw_keys_id_of(signer, pk);
	if (cw_author_from_hex(author, signer) < 0 || (known = cw_keyring_find(kr, author)) == NULL ||
	    !cw_secret_equal(known, pk, CW_PK_BYTES)) {
		error = cw_error(CW_EVERIFY, "a signed note is signed by %s, a key this agency does not know",
		                 signer);
		goto done;
	}
	if (git_commit_lookup(&commit, log->repo, &oid) < 0) {
		error = cw_git__fail(CW_EINVALID, "a signed note cannot be read");
		goto done;
	}
	snprintf(email, sizeof(email), "%s@caseway", signer);
	oid_hex(tree, git_commit_tree_id(commit));
	if ((who = git_commit_committer(commit)) == NULL || strcmp(who->email, email) != 0 ||
	    (who = git_commit_author(commit)) == NULL || strcmp(who->email, email) != 0 ||
	    git_commit_parentcount(commit) != 0 || strcmp(tree, EMPTY_TREE) != 0) {
		error = cw_error(CW_EVERIFY, "a signed note by %s is not in the form caseway writes", signer);
		goto done;
	}
	if ((error = raw_message(&msg, &len, git_odb_object_data(obj), git_odb_object_size(obj))) < 0 ||
	    (error = cw_buf_put(msg_out, msg, len)) < 0)
		goto done;
	memcpy(signer_out, signer, sizeof(signer));
done:
	git_commit_free(commit);
	git_odb_object_free(obj);
	git_odb_free(odb);
	return error;
}

/* ---- what the repository holds ---------------------------------------------------------- */

const char *cw_log_path(const cw_log *log)
{
	return git_repository_path(log->repo);
}

int cw_log_refs(cw_bundle_ref **out, size_t *n_out, cw_log *log, const char *prefix)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	cw_bundle_ref *v = NULL, *grown;
	size_t n = 0, alloc = 0, plen = strlen(prefix);
	int rc, error = CW_OK;

	*out = NULL;
	*n_out = 0;
	/* One case's chains: let libgit2 read only that directory. */
	if (plen == REF_PREFIX_LEN + CASE_HEX + 1 && strncmp(prefix, REF_PREFIX, REF_PREFIX_LEN) == 0) {
		char glob[REF_PREFIX_LEN + CASE_HEX + 3];

		snprintf(glob, sizeof(glob), "%s*", prefix);
		rc = git_reference_iterator_glob_new(&it, log->repo, glob);
	} else {
		rc = git_reference_iterator_new(&it, log->repo);
	}
	if (rc < 0) {
		error = cw_git__fail(CW_ERROR, "could not list the refs of the git log");
		goto done;
	}
	while ((rc = git_reference_next(&ref, it)) == 0) {
		const char *name = git_reference_name(ref);

		if (strncmp(name, prefix, plen) == 0) {
			if (git_reference_type(ref) != GIT_REFERENCE_DIRECT ||
			    strlen(name) >= sizeof(v->name)) {
				error = cw_error(CW_EINVALID, "ref %.80s of the git log is not a plain ref",
				                 name);
				goto done;
			}
			if (n == alloc) {
				alloc = alloc ? 2 * alloc : 64;
				if (alloc > 4 * (size_t)MAX_CHAINS ||
				    (grown = realloc(v, alloc * sizeof(*v))) == NULL) {
					error = cw_error_nomem();
					goto done;
				}
				v = grown;
			}
			memcpy(v[n].name, name, strlen(name) + 1);
			oid_hex(v[n].oid, git_reference_target(ref));
			n++;
		}
		git_reference_free(ref);
		ref = NULL;
	}
	if (rc != GIT_ITEROVER) {
		error = cw_git__fail(CW_ERROR, "could not list the refs of the git log");
		goto done;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_bundle_ref);
	*out = v;
	*n_out = n;
	v = NULL;
done:
	git_reference_free(ref);
	git_reference_iterator_free(it);
	free(v);
	return error;
}

int cw_log_granted(int *yes, uint32_t *generation, cw_log *log, const char *commit_hex, const char *device_id)
{
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_oid oid;
	size_t i;
	int error = CW_OK;

	*yes = 0;
	*generation = 0;
	if (git_oid_fromstr(&oid, commit_hex) < 0 || git_commit_lookup(&commit, log->repo, &oid) < 0 ||
	    git_commit_tree(&tree, commit) < 0) {
		error = cw_git__fail(CW_EINVALID, "a commit of the git log cannot be read");
		goto done;
	}
	for (i = 0; i < git_tree_entrycount(tree); i++) {
		char dev[CW_DEVICE_ID_LEN + 1];
		uint32_t gen;

		if (!parse_grant_name(&gen, dev, git_tree_entry_name(git_tree_entry_byindex(tree, i))))
			continue;
		if (gen > *generation) {
			*generation = gen;
			*yes = 0;
		}
		if (gen == *generation && strcmp(dev, device_id) == 0)
			*yes = 1;
	}
done:
	git_tree_free(tree);
	git_commit_free(commit);
	return error;
}

int cw_log_is_ancestor(int *yes, cw_log *log, const char *ancestor_hex, const char *descendant_hex)
{
	git_oid a, d;

	*yes = 0;
	if (git_oid_fromstr(&a, ancestor_hex) < 0 || git_oid_fromstr(&d, descendant_hex) < 0)
		return cw_error(CW_EINVALID, "not a commit id");
	if (git_oid_equal(&a, &d)) {
		*yes = 1;
		return CW_OK;
	}
	*yes = git_graph_descendant_of(log->repo, &d, &a) == 1;
	return CW_OK;
}

/* ---- erasure (sync/tombstone.h, node/erase.h) ------------------------------------------------ */

typedef struct {
	cw_log *log;
	size_t dropped;
} sweep_ctx;

/* One erased case: its tombstone ref is made if missing (the object was
 * written before the store recorded the erasure), its chain refs go. */
static int sweep_one(const cw_erasure *e, void *p)
{
	sweep_ctx *c = p;
	git_reference *ref = NULL;
	chain_ref *refs = NULL;
	git_oid oid;
	char name[CW_LOG_ERASED_REF_LEN + 1], hex[CASE_HEX + 1];
	size_t n = 0, i;
	int rc, error;

	cw_id_hex(hex, e->case_id);
	snprintf(name, sizeof(name), "%s%s", CW_LOG_ERASED_PREFIX, hex);
	rc = git_reference_lookup(&ref, c->log->repo, name);
	git_reference_free(ref);
	ref = NULL;
	if (rc == GIT_ENOTFOUND && git_oid_fromstr(&oid, e->tombstone) == 0) {
		git_commit *commit = NULL;

		if (git_commit_lookup(&commit, c->log->repo, &oid) == 0) {
			rc = git_reference_create(&ref, c->log->repo, name, &oid, 0, "caseway: erase");
			git_reference_free(ref);
			ref = NULL;
			if (rc < 0 && rc != GIT_EEXISTS) {
				git_commit_free(commit);
				return cw_git__fail(CW_ERROR, "could not record an erasure in the git log");
			}
		}
		git_commit_free(commit);
	}
	git_error_clear();
	if ((error = list_chains(&refs, &n, c->log, e->case_id)) < 0)
		return error;
	/* Their objects go too, at the next prune: marked before a ref goes. */
	if (n && (error = cw_log_prune_want(c->log)) < 0) {
		free(refs);
		return error;
	}
	for (i = 0; i < n; i++) {
		rc = git_reference_remove(c->log->repo, refs[i].name);
		if (rc < 0 && rc != GIT_ENOTFOUND) {
			free(refs);
			return cw_git__fail(CW_ERROR,
			                    "could not drop a chain of an erased case from the git log");
		}
		c->dropped++;
	}
	free(refs);
	return CW_OK;
}

int cw_log_erasure_sweep(size_t *dropped_out, cw_log *log, cw_store *st)
{
	sweep_ctx c = { log, 0 };
	int error = cw_erase_each(st, sweep_one, &c);

	if (dropped_out)
		*dropped_out = c.dropped;
	return error;
}

int cw_log_erased_ref(uint8_t case_id[CW_ID_BYTES], const char *name)
{
	if (strlen(name) != CW_LOG_ERASED_REF_LEN ||
	    strncmp(name, CW_LOG_ERASED_PREFIX, sizeof(CW_LOG_ERASED_PREFIX) - 1) != 0 ||
	    !cw_is_lower_hex(name + sizeof(CW_LOG_ERASED_PREFIX) - 1, CASE_HEX))
		return 0;
	return cw_hex_decode(case_id, CW_ID_BYTES, name + sizeof(CW_LOG_ERASED_PREFIX) - 1) == CW_OK;
}

int cw_log_chain_case(uint8_t case_id[CW_ID_BYTES], char author_out[CW_DEVICE_ID_LEN + 1], const char *name)
{
	chain_ref r;

	if (strncmp(name, REF_PREFIX, REF_PREFIX_LEN) != 0 || parse_ref_name(&r, name) < 0) {
		cw_error_clear();
		return 0;
	}
	memcpy(case_id, r.case_id, CW_ID_BYTES);
	if (author_out)
		cw_author_hex(author_out, r.author);
	return 1;
}

int cw_log_chain_tip_verify(cw_log *log, const cw_keyring *kr, const cw_bundle_ref *tip)
{
	chain_ref r;
	git_oid oid;
	link_t l;
	int error;

	if (strncmp(tip->name, REF_PREFIX, REF_PREFIX_LEN) != 0 || parse_ref_name(&r, tip->name) < 0 ||
	    git_oid_fromstr(&oid, tip->oid) < 0) {
		git_error_clear();
		return cw_error(CW_EINVALID, "%s is not a chain of the git log", tip->name);
	}
	memset(&l, 0, sizeof(l));
	error = check_commit(&l, log, kr, &oid, r.case_id, r.author);
	cw_buf_dispose(&l.blob);
	cw_buf_dispose(&l.plain);
	return error;
}

/* ---- pruning: no object of an erased case stays in log.git ---------------------------------- */

#define PRUNE_MARK "cw-prune-pending"

int cw_log_prune_want(cw_log *log)
{
	char *path = cw_path_join(cw_log_path(log), PRUNE_MARK);
	int fd, error = CW_OK;

	if (path == NULL)
		return cw_error_nomem();
	if (!cw_file_exists(path)) {
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			error = cw_error(CW_ERROR, "could not mark the git log for pruning: %s",
			                 strerror(errno));
		} else {
			close(fd);
			error = cw_file_sync_dir(cw_log_path(log));
		}
	}
	free(path);
	return error;
}

int cw_log_prune_pending(cw_log *log)
{
	char *path = cw_path_join(cw_log_path(log), PRUNE_MARK);
	int want;

	if (path == NULL)
		return cw_error_nomem();
	want = cw_file_exists(path);
	free(path);
	return want ? cw_log_prune(log) : CW_OK;
}

/* A set of object ids: open addressing, the first bytes of an id as its
 * hash (ids are uniformly distributed). */
typedef struct {
	git_oid *v;
	unsigned char *used;
	size_t cap, n;
} oidset;

static void oidset_dispose(oidset *s)
{
	free(s->v);
	free(s->used);
	memset(s, 0, sizeof(*s));
}

static size_t oidset_slot(const oidset *s, const git_oid *id)
{
	uint64_t h;
	size_t i;

	memcpy(&h, id->id, sizeof(h));
	for (i = (size_t)h & (s->cap - 1); s->used[i] && !git_oid_equal(&s->v[i], id);
	     i = (i + 1) & (s->cap - 1))
		;
	return i;
}

static int oidset_has(const oidset *s, const git_oid *id)
{
	return s->cap && s->used[oidset_slot(s, id)];
}

/* *added = 1 when id was not in the set. */
static int oidset_add(oidset *s, const git_oid *id, int *added)
{
	size_t i;

	*added = 0;
	if (2 * (s->n + 1) > s->cap) {
		oidset bigger = { NULL, NULL, s->cap ? 2 * s->cap : 4096, 0 };

		if ((bigger.v = malloc(bigger.cap * sizeof(*bigger.v))) == NULL ||
		    (bigger.used = calloc(bigger.cap, 1)) == NULL) {
			oidset_dispose(&bigger);
			return cw_error_nomem();
		}
		for (i = 0; i < s->cap; i++)
			if (s->used[i]) {
				size_t j = oidset_slot(&bigger, &s->v[i]);

				bigger.used[j] = 1;
				git_oid_cpy(&bigger.v[j], &s->v[i]);
				bigger.n++;
			}
		oidset_dispose(s);
		*s = bigger;
	}
	i = oidset_slot(s, id);
	if (!s->used[i]) {
		s->used[i] = 1;
		git_oid_cpy(&s->v[i], id);
		s->n++;
		*added = 1;
	}
	return CW_OK;
}

static int prune_fail(const char *what)
{
	return cw_git__fail(CW_ERROR, what);
}

/* A tree and everything under it into s. */
static int mark_tree(oidset *s, git_repository *repo, const git_oid *id)
{
	git_tree *tree = NULL;
	size_t i, n;
	int added, error;

	if ((error = oidset_add(s, id, &added)) < 0 || !added)
		return error;
	if (git_tree_lookup(&tree, repo, id) < 0)
		return prune_fail("the git log was not pruned: a tree is missing");
	n = git_tree_entrycount(tree);
	for (i = 0; i < n && error == CW_OK; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);

		if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
			error = mark_tree(s, repo, git_tree_entry_id(e));
		else if (git_tree_entry_type(e) == GIT_OBJECT_BLOB)
			error = oidset_add(s, git_tree_entry_id(e), &added);
		/* a commit entry (submodule) names another repository's object */
	}
	git_tree_free(tree);
	return error;
}

/* What a ref names into s: commits through the walk (their history
 * follows), anything else with what it names. */
static int mark_target(oidset *s, git_revwalk *walk, git_repository *repo, const git_oid *id, int depth)
{
	git_object *obj = NULL;
	int added, error = CW_OK;

	if (git_object_lookup(&obj, repo, id, GIT_OBJECT_ANY) < 0)
		return prune_fail("the git log was not pruned: a ref names a missing object");
	switch (git_object_type(obj)) {
	case GIT_OBJECT_COMMIT:
		if (git_revwalk_push(walk, id) < 0)
			error = prune_fail("could not prune the git log");
		break;
	case GIT_OBJECT_TREE:
		error = mark_tree(s, repo, id);
		break;
	case GIT_OBJECT_TAG:
		if ((error = oidset_add(s, id, &added)) == CW_OK && depth < 8)
			error = mark_target(s, walk, repo, git_tag_target_id((git_tag *)obj), depth + 1);
		break;
	default:
		error = oidset_add(s, id, &added);
	}
	git_object_free(obj);
	return error;
}

/* Every object reachable from a ref of repo into s. */
static int mark_reachable(oidset *s, git_repository *repo)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL, *resolved = NULL;
	git_revwalk *walk = NULL;
	git_commit *commit = NULL;
	git_oid id;
	int rc, added, error = CW_OK;

	if (git_revwalk_new(&walk, repo) < 0 || git_reference_iterator_new(&it, repo) < 0) {
		error = prune_fail("could not start pruning the git log");
		goto done;
	}
	while (error == CW_OK && (rc = git_reference_next(&ref, it)) == 0) {
		if (git_reference_resolve(&resolved, ref) == 0)
			error = mark_target(s, walk, repo, git_reference_target(resolved), 0);
		else
			git_error_clear(); /* a symbolic ref to nothing names no object */
		git_reference_free(resolved);
		git_reference_free(ref);
		resolved = NULL;
	}
	if (error == CW_OK && rc != GIT_ITEROVER)
		error = prune_fail("could not list the refs of the git log");
	while (error == CW_OK && (rc = git_revwalk_next(&id, walk)) == 0) {
		if ((error = oidset_add(s, &id, &added)) < 0)
			break;
		if (git_commit_lookup(&commit, repo, &id) < 0) {
			error = prune_fail("the git log was not pruned: a commit is missing");
			break;
		}
		error = mark_tree(s, repo, git_commit_tree_id(commit));
		git_commit_free(commit);
	}
	if (error == CW_OK && rc != GIT_ITEROVER)
		error = prune_fail("the git log was not pruned: its history cannot be walked");
done:
	git_revwalk_free(walk);
	git_reference_iterator_free(it);
	return error;
}

static int unlink_in(const char *dir, const char *name)
{
	char *path = cw_path_join(dir, name);
	int error = CW_OK;

	if (path == NULL)
		return cw_error_nomem();
	if (unlink(path) < 0 && errno != ENOENT)
		error = cw_error(CW_ERROR, "could not remove %s while pruning the git log: %s", path,
		                 strerror(errno));
	free(path);
	return error;
}

/* fsync one file of dir (libgit2 syncs what it writes too: belt and
 * braces before anything is removed). */
static int sync_in(const char *dir, const char *name)
{
	char *path = cw_path_join(dir, name);
	int fd, error = CW_OK;

	if (path == NULL)
		return cw_error_nomem();
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fsync(fd) < 0)
		error = cw_error(CW_ERROR, "could not sync %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(path);
	return error;
}

/* Remove every loose object not in s, and loose temporary files. */
static int prune_loose(const oidset *s, const char *objdir)
{
	DIR *d = opendir(objdir), *sub;
	struct dirent *de, *se;
	char *path = NULL, hex[GIT_OID_HEXSZ + 1];
	git_oid id;
	int error = CW_OK;

	if (d == NULL)
		return cw_error(CW_ERROR, "could not read %s: %s", objdir, strerror(errno));
	while (error == CW_OK && (de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != 2 || !cw_is_lower_hex(de->d_name, 2))
			continue;
		free(path);
		if ((path = cw_path_join(objdir, de->d_name)) == NULL) {
			error = cw_error_nomem();
			break;
		}
		if ((sub = opendir(path)) == NULL)
			continue;
		while (error == CW_OK && (se = readdir(sub)) != NULL) {
			if (se->d_name[0] == '.')
				continue;
			if (strlen(se->d_name) == GIT_OID_HEXSZ - 2 &&
			    cw_is_lower_hex(se->d_name, GIT_OID_HEXSZ - 2)) {
				snprintf(hex, sizeof(hex), "%s%s", de->d_name, se->d_name);
				if (git_oid_fromstr(&id, hex) == 0 && oidset_has(s, &id))
					continue; /* reachable: stays */
			}
			error = unlink_in(path, se->d_name);
		}
		closedir(sub);
		(void)rmdir(path); /* when empty */
	}
	free(path);
	closedir(d);
	return error;
}

/* The object ids of a pack index (version 2, as git and libgit2 write
 * them): *dirty = 1 when one is not in s; then (pb not NULL) the ones in s
 * go into pb. */
static int pack_scan(int *dirty, git_packbuilder *pb, const oidset *s, const char *idx_path)
{
	static const unsigned char magic[8] = { 0xff, 't', 'O', 'c', 0, 0, 0, 2 };
	unsigned char head[8 + 256 * 4], raw[GIT_OID_RAWSZ];
	FILE *f = fopen(idx_path, "rb");
	uint32_t n, i;
	git_oid id;
	int error = CW_OK;

	*dirty = 0;
	if (f == NULL)
		return cw_error(CW_ERROR, "could not read %s: %s", idx_path, strerror(errno));
	if (fread(head, 1, sizeof(head), f) != sizeof(head) || memcmp(head, magic, sizeof(magic)) != 0) {
		error = cw_error(CW_ERROR, "the git log was not pruned: %s is not a pack index of version 2",
		                 idx_path);
		goto done;
	}
	n = (uint32_t)head[sizeof(head) - 4] << 24 | (uint32_t)head[sizeof(head) - 3] << 16 |
	    (uint32_t)head[sizeof(head) - 2] << 8 | head[sizeof(head) - 1];
	for (i = 0; i < n; i++) {
		if (fread(raw, 1, sizeof(raw), f) != sizeof(raw)) {
			error = cw_error(CW_ERROR, "the git log was not pruned: %s is cut short", idx_path);
			goto done;
		}
		git_oid_fromraw(&id, raw);
		if (!oidset_has(s, &id))
			*dirty = 1;
		else if (pb && git_packbuilder_insert(pb, &id, NULL) < 0) {
			error = prune_fail("could not prune the git log");
			goto done;
		}
	}
done:
	fclose(f);
	return error;
}

/* A pack file name: "pack-<40 hex>.<ext>"; the hex into name. */
static int pack_name(char name[GIT_OID_HEXSZ + 1], const char *file, const char *ext)
{
	size_t len = strlen(file);

	if (len <= 5 + GIT_OID_HEXSZ + 1 || strncmp(file, "pack-", 5) != 0 ||
	    !cw_is_lower_hex(file + 5, GIT_OID_HEXSZ) || file[5 + GIT_OID_HEXSZ] != '.' ||
	    (ext && strcmp(file + 5 + GIT_OID_HEXSZ, ext) != 0))
		return 0;
	memcpy(name, file + 5, GIT_OID_HEXSZ);
	name[GIT_OID_HEXSZ] = '\0';
	return 1;
}

typedef struct {
	char (*v)[GIT_OID_HEXSZ + 1];
	size_t n, cap;
} names_t;

static int names_add(names_t *l, const char *name)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		char(*grown)[GIT_OID_HEXSZ + 1] = realloc(l->v, cap * sizeof(*l->v));

		if (grown == NULL)
			return cw_error_nomem();
		l->v = grown;
		l->cap = cap;
	}
	snprintf(l->v[l->n++], GIT_OID_HEXSZ + 1, "%s", name);
	return CW_OK;
}

static int names_has(const names_t *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return 1;
	return 0;
}

/* Packs holding an object not in s are "dirty": the objects of s they hold
 * go into one new pack (written whole, indexed and synced first), then
 * they go, index and side files before the pack, so an interrupted prune
 * leaves at most a pack without index, which git ignores and the next
 * prune removes. Packs without index, temporary files and multi-pack
 * indexes (which would name removed packs) go too. *removed counts the
 * packs removed. */
static int prune_packs(size_t *removed, const oidset *s, git_repository *repo, const char *packdir)
{
	static const char *const side[] = { ".keep", ".bitmap", ".rev", ".mtimes", ".promisor", ".idx" };
	names_t dirty = { NULL, 0, 0 }, indexed = { NULL, 0, 0 };
	git_packbuilder *pb = NULL;
	DIR *d = NULL;
	struct dirent *de;
	char name[GIT_OID_HEXSZ + 1], file[GIT_OID_HEXSZ + 32], *path = NULL;
	size_t i, k;
	int is_dirty, error = CW_OK;

	*removed = 0;
	if (git_packbuilder_new(&pb, repo) < 0) {
		error = prune_fail("could not start pruning the git log");
		goto done;
	}
	if ((d = opendir(packdir)) == NULL) {
		error = errno == ENOENT
		            ? CW_OK
		            : cw_error(CW_ERROR, "could not read %s: %s", packdir, strerror(errno));
		goto done;
	}
	while (error == CW_OK && (de = readdir(d)) != NULL) {
		if (!pack_name(name, de->d_name, ".idx"))
			continue;
		if ((error = names_add(&indexed, name)) < 0)
			break;
		free(path);
		if ((path = cw_path_join(packdir, de->d_name)) == NULL) {
			error = cw_error_nomem();
			break;
		}
		if ((error = pack_scan(&is_dirty, NULL, s, path)) < 0 || !is_dirty)
			continue;
		if ((error = names_add(&dirty, name)) < 0 || (error = pack_scan(&is_dirty, pb, s, path)) < 0)
			break;
	}
	if (error < 0)
		goto done;
	if (git_packbuilder_object_count(pb) > 0) {
		if (git_packbuilder_write(pb, packdir, 0, NULL, NULL) < 0) {
			error = prune_fail("could not write the pruned git log's pack");
			goto done;
		}
		/* the new pack is indexed; the same objects as a pack kept: never
		 * removed below */
		snprintf(name, sizeof(name), "%s", git_packbuilder_name(pb));
		snprintf(file, sizeof(file), "pack-%s.pack", name);
		if ((error = sync_in(packdir, file)) < 0)
			goto done;
		snprintf(file, sizeof(file), "pack-%s.idx", name);
		if ((error = sync_in(packdir, file)) < 0 || (error = cw_file_sync_dir(packdir)) < 0)
			goto done;
		if ((error = names_add(&indexed, name)) < 0)
			goto done;
		for (i = 0; i < dirty.n; i++)
			if (strcmp(dirty.v[i], name) == 0)
				dirty.v[i][0] = '\0';
	}
	for (i = 0; i < dirty.n && error == CW_OK; i++) {
		if (!dirty.v[i][0])
			continue;
		for (k = 0; k < sizeof(side) / sizeof(side[0]) && error == CW_OK; k++) {
			snprintf(file, sizeof(file), "pack-%s%s", dirty.v[i], side[k]);
			error = unlink_in(packdir, file);
		}
		snprintf(file, sizeof(file), "pack-%s.pack", dirty.v[i]);
		if (error == CW_OK && (error = unlink_in(packdir, file)) == CW_OK)
			(*removed)++;
	}
	/* packs without index (a prune or a write cut short), temporary
	 * files, multi-pack indexes */
	rewinddir(d);
	while (error == CW_OK && (de = readdir(d)) != NULL) {
		if ((pack_name(name, de->d_name, ".pack") && !names_has(&indexed, name)) ||
		    strncmp(de->d_name, "tmp_", 4) == 0 ||
		    (strncmp(de->d_name, "multi-pack-index", 16) == 0 && *removed))
			error = unlink_in(packdir, de->d_name);
	}
	if (error == CW_OK)
		error = cw_file_sync_dir(packdir);
done:
	if (d)
		closedir(d);
	free(path);
	free(dirty.v);
	free(indexed.v);
	git_packbuilder_free(pb);
	return error;
}

/* Quarantines left by killed imports (sync/bundle.c), loose temporary
 * files, and, when packs went, the commit-graph and pack list files, which
 * would name what is gone. */
static int prune_leftovers(const char *objdir, size_t removed)
{
	DIR *d = opendir(objdir);
	struct dirent *de;
	char *path = NULL;
	int error = CW_OK;

	if (d == NULL)
		return cw_error(CW_ERROR, "could not read %s: %s", objdir, strerror(errno));
	while (error == CW_OK && (de = readdir(d)) != NULL) {
		free(path);
		if ((path = cw_path_join(objdir, de->d_name)) == NULL) {
			error = cw_error_nomem();
			break;
		}
		if (strncmp(de->d_name, "cw-incoming-", 12) == 0) {
			if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
				error = cw_error(CW_ERROR, "could not remove %s: %s", path, strerror(errno));
		} else if (strncmp(de->d_name, "tmp_", 4) == 0) {
			error = unlink_in(objdir, de->d_name);
		} else if (strcmp(de->d_name, "info") == 0 && removed) {
			if ((error = unlink_in(path, "commit-graph")) == CW_OK)
				error = unlink_in(path, "packs");
			free(path);
			path = NULL;
			if (error == CW_OK && (path = cw_path_join(objdir, "info/commit-graphs")) == NULL)
				error = cw_error_nomem();
			if (error == CW_OK && nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 &&
			    errno != ENOENT)
				error = cw_error(CW_ERROR, "could not remove %s: %s", path, strerror(errno));
		}
	}
	free(path);
	closedir(d);
	return error == CW_OK ? cw_file_sync_dir(objdir) : error;
}

/* A handle on log.git for the prune whose pack builder makes no deltas
 * (the chains' blobs are ciphertext: deltas save nothing and cost most of
 * the time). libgit2 1.5 takes the size above which it makes none from
 * pack.deltaCacheSize, later versions from core.bigFileThreshold: both are
 * set, in a file of the prune's own (PRUNE_CONFIG), above the log's
 * config. */
#define PRUNE_CONFIG "cw-prune.config"

static int prune_repo(git_repository **out, const char *dir)
{
	static const char text[] = "[pack]\n\tdeltaCacheSize = 1\n[core]\n\tbigFileThreshold = 1\n";
	git_repository *repo = NULL;
	git_config *cfg = NULL;
	char *conf = NULL, *local = NULL;
	FILE *f;
	int error = CW_OK;

	*out = NULL;
	if ((conf = cw_path_join(dir, PRUNE_CONFIG)) == NULL ||
	    (local = cw_path_join(dir, "config")) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if ((f = fopen(conf, "w")) == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		error = cw_error(CW_ERROR, "could not write %s: %s", conf, strerror(errno));
		goto done;
	}
	if (git_repository_open_bare(&repo, dir) < 0 || git_config_new(&cfg) < 0 ||
	    (cw_file_exists(local) &&
	     git_config_add_file_ondisk(cfg, local, GIT_CONFIG_LEVEL_LOCAL, repo, 0) < 0) ||
	    git_config_add_file_ondisk(cfg, conf, GIT_CONFIG_LEVEL_APP, repo, 0) < 0 ||
	    git_repository_set_config(repo, cfg) < 0) {
		error = prune_fail("could not open the git log to prune it");
		goto done;
	}
	*out = repo;
	repo = NULL;
done:
	git_config_free(cfg);
	git_repository_free(repo);
	free(conf);
	free(local);
	return error;
}

/* Notes (a tombstone, a manifest) name the empty tree without storing it
 * (libgit2 and git know it without it); git fsck wants it stored: when a
 * ref reaches it, it is written (loose; reachable, so it stays). */
static int store_empty_tree(git_repository *repo, const oidset *s)
{
	git_odb *odb = NULL;
	git_oid empty, written;
	int error = CW_OK;

	if (git_oid_fromstr(&empty, EMPTY_TREE) < 0 || !oidset_has(s, &empty))
		return CW_OK;
	if (git_repository_odb(&odb, repo) < 0 || git_odb_write(&written, odb, "", 0, GIT_OBJECT_TREE) < 0)
		error = prune_fail("could not prune the git log");
	git_odb_free(odb);
	return error;
}

int cw_log_prune(cw_log *log)
{
	git_repository *repo = NULL, *fresh = NULL;
	oidset reach = { NULL, NULL, 0, 0 };
	char *dir = NULL, *objdir = NULL, *packdir = NULL, *mark = NULL, *conf = NULL;
	size_t removed = 0;
	int error;

	if ((dir = strdup(cw_log_path(log))) == NULL || (objdir = cw_path_join(dir, "objects")) == NULL ||
	    (packdir = cw_path_join(objdir, "pack")) == NULL ||
	    (mark = cw_path_join(dir, PRUNE_MARK)) == NULL ||
	    (conf = cw_path_join(dir, PRUNE_CONFIG)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	/* Marked first: an interrupted prune is done again by the next one.
	 * Nothing else moves the refs meanwhile (HOME/log.lock). */
	if ((error = cw_log_prune_want(log)) < 0 || (error = prune_repo(&repo, dir)) < 0 ||
	    (error = mark_reachable(&reach, repo)) < 0 || (error = store_empty_tree(repo, &reach)) < 0 ||
	    (error = prune_loose(&reach, objdir)) < 0 ||
	    (error = prune_packs(&removed, &reach, repo, packdir)) < 0 ||
	    (error = prune_leftovers(objdir, removed)) < 0)
		goto done;
	/* The log's handle may still list removed packs: open it anew. */
	if (git_repository_open_bare(&fresh, dir) < 0) {
		error = prune_fail("could not open the pruned git log");
		goto done;
	}
	git_repository_free(log->repo);
	log->repo = fresh;
	(void)unlink(conf);
	if (unlink(mark) < 0 && errno != ENOENT) {
		error = cw_error(CW_ERROR, "could not clear the git log's prune mark: %s", strerror(errno));
		goto done;
	}
	error = cw_file_sync_dir(dir);
done:
	git_repository_free(repo);
	oidset_dispose(&reach);
	free(dir);
	free(objdir);
	free(packdir);
	free(mark);
	free(conf);
	return error;
}
