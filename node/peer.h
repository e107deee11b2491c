/*
 * node/peer.h - the devices this node syncs with, and what passed between
 * them: for each peer the bundles sent and received (per-pair sequence
 * numbers and the manifest commit of each) and the chain heads the peer
 * said it holds (learnt from the manifests of the bundles it sent).
 *
 * A peer is named by its device id (16 hex) and by a unique short name;
 * `url` is the git remote it is reached at, or "". Functions run in the
 * caller's transaction when one is open.
 */
#ifndef CW_PEER_H
#define CW_PEER_H

#include "../crypto/cert.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

#define CW_PEER_URL_MAX 1024

typedef struct {
	char device_id[CW_DEVICE_ID_LEN + 1];
	char name[CW_NAME_MAX + 1];
	cw_role role;
	char url[CW_PEER_URL_MAX + 1];
	int64_t added_at;
	uint64_t sent_seq, received_seq; /* highest of each, 0 for none */
	int64_t sent_at, received_at;    /* when (unix seconds), 0 for never */
} cw_peer;

/* Add or update a peer: the device of cert (which must be in the roster r)
 * under name (1..64 of [A-Za-z0-9._-]) with url ("" for none). CW_EEXISTS
 * when name belongs to another device; the same device under a new name
 * is renamed. */
int cw_peer_add(cw_store *st, const cw_roster *r, const char *name, const cw_cert *cert, const char *url);

/* Make sure a device of the roster is a peer (first contact through a
 * bundle): named after its certificate, made unique with its id. */
int cw_peer_ensure(cw_store *st, const cw_cert *cert, int64_t now);

/* A peer by name, device id, or unique device id prefix (4+). */
int cw_peer_find(cw_peer *out, cw_store *st, const char *name_or_id);

/* Every peer, by name. */
int cw_peer_each(cw_store *st, int (*fn)(const cw_peer *p, void *ctx), void *ctx);

/* The next sequence number for a bundle to device (highest sent + 1). */
int cw_peer_next_seq(uint64_t *out, cw_store *st, const char *device);

/* Record a bundle as sent (its sequence number used). */
int cw_peer_sent(cw_store *st, const char *device, uint64_t seq, const char *manifest, int64_t at,
                 size_t refs);

/* What the store knows of received bundle (device, seq): *state 0 = never
 * seen, 1 = seen with this very manifest, 2 = seen with another manifest. */
int cw_peer_received_state(int *state, cw_store *st, const char *device, uint64_t seq, const char *manifest);

/* Record a bundle received. */
int cw_peer_received(cw_store *st, const char *device, uint64_t seq, const char *manifest, int64_t at);

/* The chain head (40 hex) device said it holds for ref, into oid (41
 * bytes); *found 0 when none. */
int cw_peer_has(char oid[41], int *found, cw_store *st, const char *device, const char *ref);

/* Remember that device holds oid for ref. */
int cw_peer_set_has(cw_store *st, const char *device, const char *ref, const char *oid);

/* The refs device carried in the newest bundle it sent: forget them all
 * (before a newer bundle's are added), add one, ask about one. */
int cw_peer_gave_clear(cw_store *st, const char *device);
int cw_peer_gave_add(cw_store *st, const char *device, const char *ref);
int cw_peer_gave(int *yes, cw_store *st, const char *device, const char *ref);

#endif
