/*
 * sync/git.c - libgit2 started once, and its failures in our words.
 */
#include "git_internal.h"

#include "util/error.h"

#include <git2.h>
#include <pthread.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int started;

static void start(void)
{
	int rc = git_libgit2_init();

	if (rc >= 0)
		rc = git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 1);
	started = rc >= 0;
}

int cw_git__fail(int code, const char *what)
{
	const git_error *e = git_error_last();

	return cw_error(code, "%s: %s", what, e && e->message ? e->message : "unknown libgit2 error");
}

int cw_git__start(void)
{
	if (pthread_once(&once, start) != 0 || !started)
		return cw_git__fail(CW_ERROR, "could not start libgit2");
	return CW_OK;
}
