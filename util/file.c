/* util/file.c - whole-file reads and atomic writes. */
#define _POSIX_C_SOURCE 200809L
#include "file.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cw_file_open_in(int *fd_out, const char *path)
{
	struct stat st;
	int fd, flags;

	*fd_out = -1;
	/* O_NONBLOCK: a FIFO put in a file's place must not hang the open */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return errno == ENOENT ? cw_error(CW_ENOTFOUND, "%s: no such file", path) : cw_error_os(path);
	if (fstat(fd, &st) < 0 || (flags = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		int error = cw_error_os(path);

		close(fd);
		return error;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return cw_error(CW_EINVALID, "%s: not a regular file", path);
	}
	*fd_out = fd;
	return CW_OK;
}

int cw_file_read(cw_buf *out, const char *path, size_t cap)
{
	struct stat st;
	int fd = -1, error = CW_ERROR;
	size_t start = out->len;

	if ((error = cw_file_open_in(&fd, path)) < 0)
		goto done;
	if (fstat(fd, &st) < 0) {
		error = cw_error_os(path);
		goto done;
	}
	if ((uint64_t)st.st_size > cap) {
		error = cw_error(CW_EINVALID, "%s: file too large (%lld bytes, at most %zu)", path,
		                 (long long)st.st_size, cap);
		goto done;
	}
	for (;;) {
		ssize_t n;

		if ((error = cw_buf_grow(out, 65536)) < 0)
			goto done;
		n = read(fd, out->data + out->len, 65536);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error = cw_error_os(path);
			goto done;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		if (out->len - start > cap) {
			error = cw_error(CW_EINVALID, "%s: file too large (at most %zu bytes)", path, cap);
			goto done;
		}
	}
	error = CW_OK;
done:
	if (error < 0)
		out->len = start;
	if (fd >= 0)
		close(fd);
	return error;
}

static int write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cw_file_sync_dir(const char *dir)
{
	int fd, error = CW_OK;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return cw_error_os(dir);
	if (fsync(fd) < 0 && errno != EINVAL)
		error = cw_error_os(dir);
	close(fd);
	return error;
}

int cw_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, int exclusive)
{
	char *tmp = NULL, *dircopy = NULL;
	int fd = -1, error = CW_ERROR, created = 0;
	size_t n = strlen(path) + 16;

	if ((tmp = malloc(n)) == NULL || (dircopy = strdup(path)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	snprintf(tmp, n, "%s.tmp%05d", path, (int)(getpid() % 100000));
	if (exclusive && cw_file_exists(path)) {
		error = cw_error(CW_EEXISTS, "%s already exists", path);
		goto done;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)) < 0) {
		error = cw_error_os(tmp);
		goto done;
	}
	created = 1;
	if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		error = cw_error_os(tmp);
		goto done;
	}
	if (close(fd) < 0) {
		fd = -1;
		error = cw_error_os(tmp);
		goto done;
	}
	fd = -1;
	if (exclusive) {
		/* link() fails if path appeared meanwhile: no silent overwrite. */
		if (link(tmp, path) < 0) {
			error = errno == EEXIST ? cw_error(CW_EEXISTS, "%s already exists", path)
			                        : cw_error_os(path);
			goto done;
		}
		unlink(tmp);
	} else if (rename(tmp, path) < 0) {
		error = cw_error_os(path);
		goto done;
	}
	created = 0;
	error = cw_file_sync_dir(dirname(dircopy));
done:
	if (fd >= 0)
		close(fd);
	if (created)
		unlink(tmp);
	free(tmp);
	free(dircopy);
	return error;
}

int cw_file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

char *cw_path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}
