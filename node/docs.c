/* node/docs.c - the node's document files: add, get, check, cleanup. */
#include "docs.h"
#include "../util/buf.h"
#include "../util/error.h"
#include "../util/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DOCS_DIR "docs"
#define TMP_PREFIX ".tmp-"
#define TMP_TRIES 16
#define DST_BASE_MAX 100 /* of dst_path's name kept in its temporary file's name */

/* An address that came from anywhere: exactly 64 lower-case hex digits. It
 * becomes a path only after this check. */
static int check_address(const char *hex)
{
	size_t i;

	if (hex == NULL)
		return cw_error(CW_EINVALID, "no document address given");
	for (i = 0; i < CW_DOCS_ADDRESS_LEN; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			break;
	if (i != CW_DOCS_ADDRESS_LEN || hex[i] != '\0')
		return cw_error(CW_EINVALID,
		                "not a document address (it must be 64 lower-case hex characters)");
	return CW_OK;
}

static char *docs_dir(const char *home_dir)
{
	return cw_path_join(home_dir, DOCS_DIR);
}

/* DIR/docs/xx (shard_out, may be NULL) and DIR/docs/xx/<62 hex> (path_out)
 * of a checked address. */
static int address_paths(char **path_out, char **shard_out, const char *home_dir, const char *hex)
{
	char *docs = NULL, *shard = NULL, *path = NULL;
	char two[3] = { hex[0], hex[1], '\0' };
	int error = CW_OK;

	if ((docs = docs_dir(home_dir)) == NULL || (shard = cw_path_join(docs, two)) == NULL ||
	    (path = cw_path_join(shard, hex + 2)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	*path_out = path;
	path = NULL;
	if (shard_out) {
		*shard_out = shard;
		shard = NULL;
	}
done:
	free(docs);
	free(shard);
	free(path);
	return error;
}

static int make_dir(const char *dir, int *created_out)
{
	*created_out = 0;
	if (mkdir(dir, 0700) == 0) {
		*created_out = 1;
		return CW_OK;
	}
	if (errno == EEXIST)
		return CW_OK;
	return cw_error_os(dir);
}

/* Create a new file dir/<prefix><16 random hex>, 0600, never following or
 * reusing anything already there. */
static int open_temp(int *fd_out, char **path_out, const char *dir, const char *prefix)
{
	uint8_t rnd[8];
	char hex[2 * sizeof(rnd) + 1];
	char *path = NULL;
	size_t n = strlen(dir) + strlen(prefix) + sizeof(hex) + 2;
	int fd = -1, tries, error = CW_ERROR;

	if ((path = malloc(n)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	for (tries = 0; tries < TMP_TRIES; tries++) {
		cw_secret_random_bytes(rnd, sizeof(rnd));
		cw_hex_encode(hex, rnd, sizeof(rnd));
		snprintf(path, n, "%s/%s%s", dir, prefix, hex);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		error = cw_error_os(path);
		goto done;
	}
	*fd_out = fd;
	*path_out = path;
	path = NULL;
	error = CW_OK;
done:
	free(path);
	return error;
}

/* Open a file for reading and make sure it is a regular file. Opening with
 * O_NONBLOCK keeps a FIFO from blocking before it can be refused. */
static int open_regular(int *fd_out, const char *path, const char *name, int nofollow)
{
	struct stat st;
	int fd = -1, flags, error = CW_ERROR;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0) {
		if (errno == ENOENT)
			error = cw_error(CW_ENOTFOUND, "%s: no such file", name);
		else if (errno == ELOOP)
			error = cw_error(CW_EINVALID, "%s is not a regular file", name);
		else
			error = cw_error_os(name);
		goto done;
	}
	if (fstat(fd, &st) < 0) {
		error = cw_error_os(name);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		error = cw_error(CW_EINVALID, "%s is not a regular file", name);
		goto done;
	}
	if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		error = cw_error_os(name);
		goto done;
	}
	*fd_out = fd;
	fd = -1;
	error = CW_OK;
done:
	if (fd >= 0)
		close(fd);
	return error;
}

/* Open the stored document at a checked address. */
static int open_doc(int *fd_out, const char *home_dir, const char *hex)
{
	char *path = NULL, name[48];
	int error;

	snprintf(name, sizeof(name), "document %.16s", hex);
	if ((error = address_paths(&path, NULL, home_dir, hex)) < 0)
		goto done;
	if ((error = open_regular(fd_out, path, name, 1)) == CW_ENOTFOUND)
		error = cw_error(CW_ENOTFOUND, "document %.16s is not stored in this node", hex);
done:
	free(path);
	return error;
}

/* Decrypt the open document fd into out_fd (or nowhere when < 0) and check
 * that it has the address `hex`. */
static int decrypt_checked(int fd, int out_fd, const cw_secret *key, const char *hex, uint64_t max_size)
{
	uint8_t want[CW_DOCSTREAM_ADDRESS_BYTES], got[CW_DOCSTREAM_ADDRESS_BYTES];
	uint64_t size = 0;
	int error;

	if ((error = cw_hex_decode(want, sizeof(want), hex)) < 0)
		return error;
	if ((error = cw_docstream_decrypt(got, &size, fd, out_fd, key, max_size)) < 0) {
		/* a stored file whose header is malformed was damaged or altered:
		 * that is for `verify` and exit 4, not a usage error */
		if (error == CW_EINVALID)
			error = cw_error(CW_EVERIFY, "document %.16s is damaged or was tampered with: %s",
			                 hex, cw_error_last());
		return error;
	}
	if (!cw_secret_equal(want, got, sizeof(got)))
		return cw_error(CW_EVERIFY,
		                "document %.16s is damaged or was tampered with (its contents do not "
		                "match its address)",
		                hex);
	return CW_OK;
}

int cw_docs_add(char address_out[CW_DOCS_ADDRESS_LEN + 1], uint64_t *size_out, const char *home_dir,
                const cw_secret *case_key, const char *src_path, cw_docstream_progress progress, void *ctx)
{
	uint8_t address[CW_DOCSTREAM_ADDRESS_BYTES];
	char hex[CW_DOCS_ADDRESS_LEN + 1];
	char *docs = NULL, *tmp = NULL, *shard = NULL, *path = NULL;
	int in_fd = -1, tmp_fd = -1, check_fd = -1, created = 0, error;
	uint64_t size = 0;

	if ((error = open_regular(&in_fd, src_path, src_path, 0)) < 0)
		goto done;
	if ((docs = docs_dir(home_dir)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if ((error = make_dir(docs, &created)) < 0 || (created && (error = cw_file_sync_dir(home_dir)) < 0) ||
	    (error = open_temp(&tmp_fd, &tmp, docs, TMP_PREFIX)) < 0 ||
	    (error = cw_docstream_encrypt(address, &size, in_fd, tmp_fd, case_key, progress, ctx)) < 0)
		goto done;
	if (fsync(tmp_fd) < 0) {
		error = cw_error_os(tmp);
		goto done;
	}
	if (close(tmp_fd) < 0) {
		tmp_fd = -1;
		error = cw_error_os(tmp);
		goto done;
	}
	tmp_fd = -1;
	cw_hex_encode(hex, address, sizeof(address));
	if ((error = address_paths(&path, &shard, home_dir, hex)) < 0 ||
	    (error = make_dir(shard, &created)) < 0 || (created && (error = cw_file_sync_dir(docs)) < 0))
		goto done;
	/* link() never replaces: if the address is taken, the same document is
	 * already stored (dedup) - unless that copy is damaged, then replace it. */
	if (link(tmp, path) < 0) {
		if (errno != EEXIST) {
			error = cw_error_os(path);
			goto done;
		}
		if ((error = open_regular(&check_fd, path, path, 1)) == CW_OK)
			error = decrypt_checked(check_fd, -1, case_key, hex, UINT64_MAX);
		if (error == CW_EVERIFY || error == CW_EINVALID) {
			if (rename(tmp, path) < 0) {
				error = cw_error_os(path);
				goto done;
			}
			cw_error_clear();
		} else if (error < 0) {
			goto done;
		}
	}
	if ((error = cw_file_sync_dir(shard)) < 0)
		goto done;
	memcpy(address_out, hex, sizeof(hex));
	*size_out = size;
	error = CW_OK;
done:
	if (in_fd >= 0)
		close(in_fd);
	if (check_fd >= 0)
		close(check_fd);
	if (tmp_fd >= 0)
		close(tmp_fd);
	if (tmp)
		unlink(tmp); /* after link() or on failure; gone already after rename() */
	free(docs);
	free(tmp);
	free(shard);
	free(path);
	return error;
}

int cw_docs_get(const char *home_dir, const cw_secret *case_key, const char *address_hex,
                const char *dst_path, uint64_t max_size)
{
	char *dir_copy = NULL, *base_copy = NULL, *tmp = NULL, prefix[DST_BASE_MAX + 16];
	const char *dir;
	int doc_fd = -1, tmp_fd = -1, error;

	if ((error = check_address(address_hex)) < 0 ||
	    (error = open_doc(&doc_fd, home_dir, address_hex)) < 0)
		goto done;
	if ((dir_copy = strdup(dst_path)) == NULL || (base_copy = strdup(dst_path)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	dir = dirname(dir_copy);
	snprintf(prefix, sizeof(prefix), ".%.*s" TMP_PREFIX, DST_BASE_MAX, basename(base_copy));
	if ((error = open_temp(&tmp_fd, &tmp, dir, prefix)) < 0 ||
	    (error = decrypt_checked(doc_fd, tmp_fd, case_key, address_hex, max_size)) < 0)
		goto done;
	if (fsync(tmp_fd) < 0) {
		error = cw_error_os(tmp);
		goto done;
	}
	if (close(tmp_fd) < 0) {
		tmp_fd = -1;
		error = cw_error_os(tmp);
		goto done;
	}
	tmp_fd = -1;
	if (rename(tmp, dst_path) < 0) {
		error = cw_error_os(dst_path);
		goto done;
	}
	free(tmp);
	tmp = NULL;
	error = cw_file_sync_dir(dir);
done:
	if (doc_fd >= 0)
		close(doc_fd);
	if (tmp_fd >= 0)
		close(tmp_fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(dir_copy);
	free(base_copy);
	return error;
}

int cw_docs_exists(const char *home_dir, const char *address_hex)
{
	char *path = NULL;
	int error;

	if ((error = check_address(address_hex)) < 0 ||
	    (error = address_paths(&path, NULL, home_dir, address_hex)) < 0)
		return error;
	error = cw_file_exists(path);
	free(path);
	return error;
}

int cw_docs_path(char **out, const char *home_dir, const char *address_hex)
{
	int error;

	*out = NULL;
	if ((error = check_address(address_hex)) < 0)
		return error;
	return address_paths(out, NULL, home_dir, address_hex);
}

int cw_docs_check(const char *home_dir, const cw_secret *case_key, const char *address_hex)
{
	int fd = -1, error;

	if ((error = check_address(address_hex)) < 0 || (error = open_doc(&fd, home_dir, address_hex)) < 0)
		goto done;
	error = decrypt_checked(fd, -1, case_key, address_hex, UINT64_MAX);
done:
	if (fd >= 0)
		close(fd);
	return error;
}

int cw_docs_temp(int *fd_out, char **tmp_out, const char *home_dir)
{
	char *docs = NULL;
	int created = 0, error;

	*fd_out = -1;
	*tmp_out = NULL;
	if ((docs = docs_dir(home_dir)) == NULL)
		return cw_error_nomem();
	if ((error = make_dir(docs, &created)) < 0 || (created && (error = cw_file_sync_dir(home_dir)) < 0))
		goto done;
	error = open_temp(fd_out, tmp_out, docs, TMP_PREFIX);
done:
	free(docs);
	return error;
}

int cw_docs_receive(const char *home_dir, const char *tmp_path, const char *address_hex,
                    const cw_secret *case_key)
{
	char *docs = NULL, *shard = NULL, *path = NULL;
	int fd = -1, created = 0, error;

	if ((error = check_address(address_hex)) < 0 ||
	    (error = open_regular(&fd, tmp_path, tmp_path, 1)) < 0 ||
	    (error = decrypt_checked(fd, -1, case_key, address_hex, UINT64_MAX)) < 0)
		goto done;
	if (fsync(fd) < 0) {
		error = cw_error_os(tmp_path);
		goto done;
	}
	if ((docs = docs_dir(home_dir)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if ((error = address_paths(&path, &shard, home_dir, address_hex)) < 0 ||
	    (error = make_dir(shard, &created)) < 0 || (created && (error = cw_file_sync_dir(docs)) < 0))
		goto done;
	/* link() never replaces: a copy already there stays (same address) */
	if (link(tmp_path, path) < 0 && errno != EEXIST) {
		error = cw_error_os(path);
		goto done;
	}
	error = cw_file_sync_dir(shard);
done:
	if (fd >= 0)
		close(fd);
	free(docs);
	free(shard);
	free(path);
	return error;
}

int cw_docs_cleanup(const char *home_dir)
{
	DIR *d = NULL;
	struct dirent *e;
	char *docs = NULL;
	time_t now = time(NULL);
	int error = CW_OK;

	if ((docs = docs_dir(home_dir)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if ((d = opendir(docs)) == NULL) {
		if (errno != ENOENT)
			error = cw_error_os(docs);
		goto done;
	}
	for (;;) {
		struct stat st;

		errno = 0;
		if ((e = readdir(d)) == NULL) {
			if (errno != 0)
				error = cw_error_os(docs);
			break;
		}
		if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
		    now - st.st_mtime < CW_DOCS_STALE_SECONDS)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT) {
			error = cw_error_os(docs);
			break;
		}
	}
done:
	if (d)
		closedir(d);
	free(docs);
	return error;
}
