/*
 * sync/git_internal.h - for sync/ modules only: starting libgit2 once, and
 * the one way sync/ turns a libgit2 failure into a cw_ error.
 */
#ifndef CW_GIT_INTERNAL_H
#define CW_GIT_INTERNAL_H

/* Start libgit2 once per process, with fsync of everything it writes (objects
 * and packs must be durable before a ref points at them). CW_ERROR when it
 * cannot start. */
int cw_git__start(void);

/* cw_error(code, "<what>: <libgit2's last message>"); returns code. */
int cw_git__fail(int code, const char *what);

#endif
