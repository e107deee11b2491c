/*
 * node/docs.h - the node's document files.
 *
 * Documents attached to a case are stored encrypted under the case key
 * (crypto/docstream.h), one file per document, named by its content
 * address (64 lower-case hex characters):
 *
 *   DIR/docs/<first 2 hex of the address>/<remaining 62 hex>
 *
 * Files are written whole under a temporary name (DIR/docs/.tmp-<16 hex>),
 * fsync'd and then linked into place, so after a crash a document is either
 * absent or complete; a stray temporary file may remain, which
 * cw_docs_cleanup removes. Only an address ever becomes a path: a document's
 * own file name is never used inside DIR. Files and folders are 0600/0700.
 */
#ifndef CW_DOCS_H
#define CW_DOCS_H

#include "../crypto/docstream.h"
#include "../crypto/secret.h"

#include <stdint.h>

#define CW_DOCS_ADDRESS_LEN 64 /* hex characters, without the NUL */

/* Encrypt the regular file at src_path under case_key into the node at
 * home_dir. address_out receives its address (64 hex + NUL), size_out its
 * size in bytes. progress (may be NULL) is called after each 64 KiB chunk.
 * When the same document (same bytes, same case key) is already stored,
 * nothing is added and CW_OK is returned; if that stored copy fails its
 * check it is replaced by the new one. CW_ENOTFOUND: no file at src_path;
 * CW_EINVALID: src_path is not a regular file (a folder, a device, ...);
 * CW_ERROR: I/O. */
int cw_docs_add(char address_out[CW_DOCS_ADDRESS_LEN + 1], uint64_t *size_out, const char *home_dir,
                const cw_secret *case_key, const char *src_path, cw_docstream_progress progress, void *ctx);

/* Decrypt the document at address_hex to dst_path (created 0600, replacing
 * any file there). The document is written to a temporary file beside
 * dst_path and renamed into place only once it is complete, authentic and
 * has the requested address; on any failure nothing new is left at dst_path
 * and no temporary file remains. At most max_size bytes (UINT64_MAX: no
 * limit). CW_EINVALID: address_hex is not 64 lower-case hex characters (it
 * may come from outside), or the file is not a document; CW_ENOTFOUND: no
 * such document in this node; CW_EVERIFY: the document is damaged or was
 * tampered with, or was stored under another key; CW_ERROR: I/O. */
int cw_docs_get(const char *home_dir, const cw_secret *case_key, const char *address_hex,
                const char *dst_path, uint64_t max_size);

/* 1 when the document at address_hex is stored, 0 when not, CW_EINVALID
 * when address_hex is not a document address. The file is not checked. */
int cw_docs_exists(const char *home_dir, const char *address_hex);

/* The path of the document at address_hex, in a new malloc'd string, whether
 * it exists or not. CW_EINVALID when address_hex is not a document address. */
int cw_docs_path(char **out, const char *home_dir, const char *address_hex);

/* Decrypt the document at address_hex without writing the plaintext
 * anywhere and check that it has that address under case_key. Codes as for
 * cw_docs_get. */
int cw_docs_check(const char *home_dir, const cw_secret *case_key, const char *address_hex)
    __attribute__((warn_unused_result));

/* Documents that come from another node (sync/log.c: a `doc.<address>`
 * blob of a chain commit). cw_docs_temp creates a new temporary file in
 * DIR/docs (0600) to write the encrypted document into, and gives its open
 * descriptor and path (malloc'd). cw_docs_receive then checks that file
 * (written whole, descriptor closed) as cw_docs_check checks a stored one:
 * it must decrypt and authenticate under case_key and have the address
 * address_hex; only then is it fsync'd and linked into place under that
 * address (a copy already there is kept). The temporary file stays for the
 * caller to remove, also on success, so it can try another key generation
 * after CW_EVERIFY or CW_EINVALID (the file is not a document under that
 * key). Codes as for cw_docs_get. */
int cw_docs_temp(int *fd_out, char **tmp_out, const char *home_dir);
int cw_docs_receive(const char *home_dir, const char *tmp_path, const char *address_hex,
                    const cw_secret *case_key) __attribute__((warn_unused_result));

/* Remove the temporary files that interrupted adds left in DIR/docs/: those
 * named ".tmp-*" and not modified for CW_DOCS_STALE_SECONDS (a running add
 * keeps writing to its file). CW_OK when there is no DIR/docs. */
int cw_docs_cleanup(const char *home_dir);

#define CW_DOCS_STALE_SECONDS 3600

#endif
