/*
 * util/file.h - whole-file reads with a cap, and atomic, durable writes.
 */
#ifndef CW_FILE_H
#define CW_FILE_H

#include "buf.h"

#include <stddef.h>
#include <sys/types.h>

/* Read the whole file at path into out (appending). Fails with CW_ENOTFOUND
 * when it does not exist and CW_EINVALID when it is larger than cap bytes. */
/* Open a regular file from outside for reading (never blocking on a FIFO
 * in its place): CW_ENOTFOUND, CW_EINVALID "not a regular file", or an OS
 * error; *fd_out is -1 on failure. */
int cw_file_open_in(int *fd_out, const char *path);
int cw_file_read(cw_buf *out, const char *path, size_t cap);

/* Write data to path atomically: a new temporary file beside it created with
 * O_CREAT|O_EXCL|O_NOFOLLOW and `mode`, written, fsync'd, renamed over path,
 * and the directory fsync'd. With `exclusive`, fails with CW_EEXISTS when path
 * already exists. */
int cw_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, int exclusive);

/* fsync a directory so a rename or create in it is durable. */
int cw_file_sync_dir(const char *dir);

/* 1 when path exists (any type), 0 otherwise. */
int cw_file_exists(const char *path);

/* Join dir and name with '/' into a new malloc'd string (NULL on no memory). */
char *cw_path_join(const char *dir, const char *name);

#endif
