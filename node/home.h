/*
 * node/home.h - a node's home folder and the unlocked device.
 *
 *   DIR/keys      the keystore (crypto/keystore.h), 0600
 *   DIR/store.db  the encrypted store (node/store.h)
 *   DIR/org.key   the agency's org key, on the node that created the org
 *   DIR/inbox/    bundles waiting for their prerequisites
 *   DIR/log.git   the signed chains (made by sync/)
 *
 * DIR is 0700. `keys` is written last by init, so its presence means a
 * complete node.
 */
#ifndef CW_HOME_H
#define CW_HOME_H

#include "../crypto/cert.h"
#include "../crypto/keys.h"
#include "../crypto/keystore.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct cw_home cw_home;

/* Where the home is: flag (--home) if not NULL, else $CASEWAY_HOME, else
 * $HOME/.caseway. A new malloc'd string. */
int cw_home_locate(char **out, const char *flag);

/* Create a node: keys, store, inbox. CW_EEXISTS when DIR already holds a
 * node. cost NULL = default. */
int cw_home_init(cw_home **out, const char *dir, const char *name, cw_role role, const char *pass,
                 size_t passlen, const cw_kdf_cost *cost);

/* Unlock the node at dir. CW_ENOTFOUND: no node there (message says to run
 * `caseway init`); CW_ELOCKED: wrong passphrase; CW_EVERIFY: damaged. */
int cw_home_open(cw_home **out, const char *dir, const char *pass, size_t passlen);

/* Re-seal the device seed under a new passphrase; nothing else changes. */
int cw_home_passwd(cw_home *h, const char *newpass, size_t newlen, const cw_kdf_cost *cost);

const char *cw_home_dir(const cw_home *h);
const cw_keys *cw_home_keys(const cw_home *h);
cw_store *cw_home_store(cw_home *h);
const char *cw_home_name(const cw_home *h);
cw_role cw_home_role(const cw_home *h);
int64_t cw_home_created_at(const cw_home *h);

/* A new malloc'd path inside the home. */
char *cw_home_file(const cw_home *h, const char *name);

void cw_home_free(cw_home *h);

#endif
