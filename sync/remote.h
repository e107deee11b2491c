/*
 * sync/remote.h - the chains to and from a git hub (DESIGN 3.5): the
 * on-line twin of sync/exchange.h.
 *
 * The hub is any git remote - a bare repository on a path, file://,
 * git://, ssh:// (or user@host:path), https:// - that holds
 *
 *     refs/cw/case/<C>/<A>   the chains (sync/log.h)
 *     refs/cw/roster/<seq>   the roster versions
 *     refs/cw/erased/<C>     the erasure tombstones (sync/tombstone.h)
 *
 * exactly as HOME/log.git holds them. The hub runs no caseway: every check
 * is made by the node that takes what the hub holds.
 *
 * Pull fetches those refs into a private staging namespace of the log,
 * refs/cw-in/case/, refs/cw-in/roster/ and refs/cw-in/erased/ (emptied
 * before the fetch and always after), takes the roster versions first (the
 * sender may have been enrolled after this node), then checks the hub's
 * tombstones this node has not applied (one without the erasure right is
 * CW_EVERIFY and nothing is taken), then the chains but those of erased
 * cases, erasing the new tombstones' cases in the same transaction
 * (cw_log_take: checked, all or
 * nothing; a chain the hub rewrote is CW_EVERIFY naming its author and
 * nothing is taken), then retries chains that waited for ops of others.
 *
 * Push signs this node's new ops into its chains, publishes the roster,
 * and then, up to CW_REMOTE_ROUNDS times: pulls, and pushes every ref under
 * refs/cw/case/ and refs/cw/roster/ that the hub lacks or holds at an
 * ancestor, and every tombstone it lacks. It never forces. When the hub
 * refuses a ref because another node moved it meanwhile, the round is
 * counted as a retry and run again. Once the hub holds everything (and a
 * case's tombstone), the hub's chains of cases erased here are deleted
 * there, so a `git gc --prune=now` of the hub drops their ciphertext; a
 * hub that refuses deletions keeps them (counted, not an error).
 *
 * ssh:// takes its key from the ssh agent; https:// takes user and
 * password from the URL when it has them. Error messages never show a
 * password given in the URL.
 *
 * Limits of the hub, not of caseway: stock git's
 * receive.denyNonFastForwards guards refs/heads/ only, and libgit2's local
 * transport (path, file://) sets a ref on the hub without comparing it
 * first; caseway never forces, and a node that finds a chain rewritten
 * refuses it (CW_EVERIFY), but the hub itself does not stop a forced
 * update of refs/cw/.
 *
 * Progress: stage words in plain language ("Signing new changes",
 * "Receiving from the hub", "Taking in the changes", "Sending to the hub"),
 * at most about ten calls a second; progress may be NULL.
 *
 * Every function returns CW_OK or a negative cw_error code with a
 * one-line message (util/error.h). A hub that cannot be reached is
 * CW_ERROR; a device not enrolled yet is CW_ENOTFOUND.
 */
#ifndef CW_REMOTE_H
#define CW_REMOTE_H

#include "../node/home.h"
#include "exchange.h"

#include <stddef.h>

/* Most pull-then-push rounds of one push. */
#define CW_REMOTE_ROUNDS 5

typedef struct {
	size_t commits;      /* new chain commits written for this node's own ops */
	size_t fetched_refs; /* hub refs that were new to this node */
	size_t ops;          /* ops newly taken into the store */
	size_t pushed_refs;  /* refs the hub accepted */
	size_t retries;      /* rounds the hub refused because it had moved */
	int waiting_ops;     /* 1: some ops wait for ops of chains not here yet */
	size_t erased;       /* cases erased by the hub's tombstones (sync/tombstone.h) */
	size_t left_out;     /* chains of erased cases the hub holds, left out */
	size_t hub_dropped;  /* chains of erased cases deleted on the hub by push */
	size_t hub_kept;     /* those the hub refused to delete */
} cw_remote_report;

/* Take what the hub at url holds (see above). CW_EVERIFY for anything
 * damaged, forged or rewritten: nothing is taken. Some ops waiting for
 * others is not an error: rep->waiting_ops = 1. */
int cw_remote_pull(cw_remote_report *rep, cw_home *h, const char *url, cw_progress_fn progress, void *ctx);

/* Sign, then pull and push until the hub holds everything this node holds
 * (see above). CW_ERROR "the hub kept changing while pushing; try again"
 * after CW_REMOTE_ROUNDS refused rounds; the errors of pull otherwise. */
int cw_remote_push(cw_remote_report *rep, cw_home *h, const char *url, cw_progress_fn progress, void *ctx);

#endif
