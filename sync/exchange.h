/*
 * sync/exchange.h - signed bundles between nodes (DESIGN 3.5): what goes
 * on a USB stick or into an e-mail when there is no link.
 *
 * A bundle for peer P is a git bundle v2 (sync/bundle.h) carrying:
 *   - refs/cw/case/<C>/<A> for the chains of the cases P is a member of
 *     (P is a hub, or a commit at a chain head of C grants P the case
 *     key) whose head P has not acknowledged;
 *   - refs/cw/roster/<seq> for the roster versions P has not acknowledged;
 *   - refs/cw/erased/<C> for the erasure tombstones P has not acknowledged
 *     (sync/tombstone.h), to every peer;
 *   - refs/cw/manifest: a signed note (sync/log.h) whose message is the
 *     manifest (sync/manifest.h): sender, receiver, the per-pair sequence
 *     number, part i of n, the refs carried, and the heads of those kinds
 *     the sender holds that P may not know of (those P has not said it
 *     holds, and those P's newest bundle carried): acknowledgements travel
 *     back in the bundles P receives, and a lost bundle is covered by the
 *     next one.
 * Prerequisites are the heads P acknowledged. With a size limit the export
 * is split into parts, whole chains each, part k taking the heads carried
 * by parts 1..k-1 as prerequisites: a part whose predecessors are missing
 * waits in HOME/inbox/ and is applied when they arrive.
 *
 * Import checks the roster chain, the manifest's signature by an enrolled
 * device, that it is for this device and names exactly the refs carried,
 * and that its sequence number was not used for another bundle (a replay);
 * then checks the erasure tombstones it carries (one without the erasure
 * right refuses the whole bundle, CW_EVERIFY), then takes the chains
 * (sync/log.h cw_log_take) except those of erased cases, erasing the
 * cases of the new tombstones in the same transaction. Importing a bundle
 * again changes nothing.
 */
#ifndef CW_EXCHANGE_H
#define CW_EXCHANGE_H

#include "../node/home.h"

#include <stddef.h>
#include <stdint.h>

/* Largest bundle import reads (4 GiB). */
#define CW_EXCHANGE_MAX_BYTES ((uint64_t)4 << 30)
/* Smallest --max-bytes accepted. */
#define CW_EXCHANGE_MIN_PART 4096u

/* Progress of long work: stage in plain words, done of total (0 unknown). */
typedef void (*cw_progress_fn)(void *ctx, const char *stage, uint64_t done, uint64_t total);

typedef struct {
	size_t commits;     /* new chain commits written for this node's own ops */
	size_t parts;       /* files written */
	size_t refs;        /* chains and roster versions carried */
	uint64_t bytes;     /* total size of the files */
	uint64_t first_seq; /* sequence number of the first part */
	char peer[65];      /* the peer's name */
} cw_export_report;

/* Export what peer (name or device id) lacks to out_path, or, when the
 * bundle would exceed max_bytes (0 = no limit), to out_path.1, .2, ...
 * CW_ENOTFOUND for an unknown peer, CW_EINVALID when one chain alone does
 * not fit in max_bytes. */
int cw_sync_export(cw_export_report *rep, cw_home *h, const char *peer, const char *out_path,
                   uint64_t max_bytes, cw_progress_fn progress, void *ctx);

typedef struct {
	char from[17]; /* sender's device id ("" when unknown) */
	uint64_t seq;  /* its sequence number */
	uint32_t part, parts;
	size_t ops;           /* ops newly taken into the store */
	size_t refs;          /* refs carried */
	int again;            /* 1: this bundle had been imported before */
	int waiting_ops;      /* 1: some ops wait for ops of chains not here yet */
	size_t inbox_applied; /* bundles from the inbox applied after it */
	size_t inbox_left;    /* bundles still waiting in the inbox */
	size_t inbox_refused; /* waiting bundles refused once applied (moved to inbox/refused/) */
	char inbox_why[256];  /* why the last of them was refused */
	size_t erased;        /* cases erased by tombstones it carried (sync/tombstone.h) */
	size_t left_out;      /* chains of erased cases it carried, left out */
} cw_import_report;

/* Import the bundle at path. CW_EWAIT when its prerequisites are missing:
 * it is copied into the inbox (the message names what it waits for) and
 * the store is unchanged. CW_EVERIFY for anything damaged, forged, for
 * another device, replayed or rewriting a chain: nothing is taken. After a
 * bundle is applied, waiting bundles of the inbox are retried; one refused
 * then is moved to inbox/refused/ and counted in the report. */
int cw_sync_import(cw_import_report *rep, cw_home *h, const char *path, cw_progress_fn progress, void *ctx);

/* For `sync status`: how many chains and roster versions an export to the
 * peer would carry now, of how many it is sent. */
int cw_sync_pending(size_t *pending_out, size_t *total_out, cw_home *h, const char *peer_device);

/* Bundles waiting in the inbox. */
int cw_sync_inbox_count(size_t *out, cw_home *h);

#endif
