/*
 * node/org.h - the agency: the org key, enrolment, and this node's trust
 * anchors (the pinned org public key, its own certificate, the roster).
 *
 * The org key lives in DIR/org.key (a keystore of kind org, sealed under the
 * same passphrase as the device) on the node that ran `org create`; head
 * office may move it offline and point --org-key at it. The roster is a
 * chain: every version names the hash of the one before; the store keeps
 * every version it has seen (append-only) and refuses two different rosters
 * with the same sequence number.
 */
#ifndef CW_ORG_H
#define CW_ORG_H

#include "home.h"
#include "oplog.h"

/* On a hub node: make the org key (DIR/org.key), enrol this device as hub,
 * and install the first roster. */
int cw_org_create(cw_home *h, const char *org_name, const char *pass, size_t passlen,
                  const cw_kdf_cost *cost);

/* Unlock the org key at path (NULL: DIR/org.key). */
int cw_org_unlock(cw_keys **out, cw_home *h, const char *path, const char *pass, size_t passlen);

/* Sign a device's enrolment request with role; append the next roster to the
 * store; write the enrolment package (certificate + roster) to out. The
 * request comes from outside: a bad one is CW_EVERIFY. */
int cw_org_enroll(cw_buf *out, cw_cert *cert_out, cw_home *h, const cw_keys *org, const uint8_t *request,
                  size_t len, cw_role role);

/* Revoke a device (name, id or unique id prefix of the newest roster):
 * sign the next roster with a revocation naming, for each chain of the
 * device the agency accepts, its last op and commit (chains, from the
 * caller's git log), and store it; inside (may be NULL) runs in the same
 * transaction (the key rotations), so a crash leaves both or neither.
 * CW_ENOTFOUND for an unknown device,
 * CW_EEXISTS when revoked already. out (may be NULL) gets the revocation
 * (its chains not filled in). */
int cw_org_revoke(cw_revocation *out, cw_home *h, const cw_keys *org, const char *device,
                  cw_revoked_chain *chains, size_t nchains, int (*inside)(void *ctx), void *ctx);

/* The index in r of the device named by name, id or unique id prefix
 * (at least 4 characters), or -1. */
long cw_org_find_device(const cw_roster *r, const char *device);

/* Install this device's certificate and the roster from an enrolment
 * package. A package that does not verify, is for another device, or comes
 * from another agency than the one already trusted is CW_EVERIFY. */
int cw_org_join(cw_home *h, const uint8_t *package, size_t len, cw_cert *cert_out);

/* Offer a roster received from outside (a later sync brings them). */
int cw_org_accept_roster(cw_home *h, const uint8_t *roster, size_t len);

/* Call fn for every roster version held, oldest first; a non-zero return
 * from fn stops the walk and is returned. */
int cw_org_roster_each(cw_home *h, int (*fn)(uint64_t seq, const uint8_t *bytes, size_t len, void *ctx),
                       void *ctx);

/* The newest roster this node holds. CW_ENOTFOUND when not enrolled. */
int cw_org_roster(cw_roster **out, cw_home *h);

/* This device's certificate. CW_ENOTFOUND when not enrolled. */
int cw_org_cert(cw_cert *out, cw_home *h);

/* The enrolment package for this device (its certificate + the newest
 * roster), as `whoami --cert` prints it. */
int cw_org_package(cw_buf *out, cw_home *h);

/* Check the trust anchors: the certificate verifies, is signed by the
 * pinned org key, is for this device's keys, and is in the newest roster,
 * and every stored roster verifies and links to its predecessor. */
int cw_org_verify(cw_home *h, cw_cert *cert_out, uint64_t *rosters_out);

/* The authors this node accepts changes from: every device in the newest
 * roster, and this device itself (even before it is enrolled). */
int cw_org_keyring(cw_keyring *out, cw_home *h);

#endif
