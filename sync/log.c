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
#include "node/erase.h"
#include "util/error.h"
#include "util/file.h"

#include "git_internal.h"

#include <git2.h>

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
};

/* ---- libgit2 ------------------------------------------------------------ */

static void oid_hex(char out[GIT_OID_HEXSZ + 1], const git_oid *oid)
{
	git_oid_tostr(out, GIT_OID_HEXSZ + 1, oid);
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

/* A chain commit's tree: one `ops` blob and at most MAX_GRANTS grant blobs,
 * nothing else. */
static int check_tree(const git_tree *tree, const char *hex, const char *ahex)
{
	size_t i, n = git_tree_entrycount(tree);
	int ops = 0;

	if (n < 1 || n > 1 + MAX_GRANTS)
		return cw_error(CW_EINVALID, "commit %s on the chain of %s holds %zu entries", hex, ahex, n);
	for (i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		char dev[CW_DEVICE_ID_LEN + 1];
		uint32_t gen;

		if (git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
		    git_tree_entry_filemode(e) != GIT_FILEMODE_BLOB)
			return cw_error(CW_EINVALID, "commit %s on the chain of %s holds a non-file", hex,
			                ahex);
		if (strcmp(name, "ops") == 0)
			ops = 1;
		else if (!parse_grant_name(&gen, dev, name))
			return cw_error(CW_EINVALID, "commit %s on the chain of %s holds an unknown entry",
			                hex, ahex);
	}
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
	if ((error = check_tree(tree, hex, ahex)) < 0)
		goto done;
	entry = git_tree_entry_byname(tree, "ops");
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
	if ((error = add_grants(log, st, me, roster, tb, ops[0].case_id, prev)) < 0)
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
			if (error == CW_ENOTFOUND && me) {
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
		/* the grant is only as good as the commit that carries it */
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
		if (!chains[i].skipped && chains[i].next < chains[i].nops)
			waiting++;
		if ((error = mark_chain(st, &chains[i])) < 0)
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
	cw_log_message msg;
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
		if (git_oid_equal(&accepted, &oid) ||
		    git_graph_descendant_of(log->repo, &accepted, &oid) == 1)
			return CW_OK;
		/* the accepted commit may be unknown here: its seq says as much */
		if (read_message(&msg, NULL, log, &oid) == CW_OK && msg.last < c->seq)
			return CW_OK;
	}
	cw_error_clear();
	cw_id_hex(chex, r.case_id);
	return cw_error(CW_EVERIFY,
	                "device %s was revoked by the agency: its changes to case %.8s after the revocation "
	                "are refused",
	                rev->device_id, chex);
}

int cw_log_pack_refs(cw_log *log)
{
	git_refdb *db = NULL;
	int error = CW_OK;

	if (git_repository_refdb(&db, log->repo) < 0 || git_refdb_compress(db) < 0)
		error = cw_git__fail(CW_ERROR, "could not pack the refs of the git log");
	git_refdb_free(db);
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
