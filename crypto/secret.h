/*
 * crypto/secret.h - secrets in sodium-guarded memory, and process set-up.
 *
 * A cw_secret is a fixed-length byte string in memory allocated with
 * sodium_malloc (guard pages, canary, mlock'd where possible), wiped when
 * freed. Long-lived secrets (seeds, secret keys, page keys) live only here.
 */
#ifndef CW_SECRET_H
#define CW_SECRET_H

#include <stddef.h>
#include <stdint.h>

typedef struct cw_secret cw_secret;

/* Initialise libsodium and harden the process: core dumps off, not
 * ptrace-dumpable. Call once before anything else; safe to call again. */
int cw_secret_startup(void);

/* A new secret of len bytes: zeroed (cw_secret_new) or random. */
int cw_secret_new(cw_secret **out, size_t len);
int cw_secret_random(cw_secret **out, size_t len);
/* A new secret holding a copy of len bytes at data. */
int cw_secret_from(cw_secret **out, const void *data, size_t len);

const uint8_t *cw_secret_data(const cw_secret *s);
uint8_t *cw_secret_bytes(cw_secret *s);
size_t cw_secret_len(const cw_secret *s);

/* Constant-time equality of two byte strings of len bytes: 1 equal, 0 not. */
int cw_secret_equal(const void *a, const void *b, size_t len);

/* Fill len bytes at p with random bytes (ids, keys before sealing). */
void cw_secret_random_bytes(void *p, size_t len);

/* Wipe len bytes at p (stack copies, buffers). */
void cw_secret_wipe(void *p, size_t len);

/* Wipe and free; NULL-safe. */
void cw_secret_free(cw_secret *s);

#endif
