/*
 * crypto/vfs.c - the encrypting SQLite VFS (see vfs.h for the contract).
 *
 * Two layouts, chosen at xOpen from the file kind:
 *
 *   main database: pages encrypted in place. Page p (1-based) at offset
 *     (p-1)*4096 holds [0,4056) ciphertext, [4056,4080) nonce, [4080,4096)
 *     tag; additional data = kind byte 'D' + p (u32 LE). Every write is one
 *     whole aligned page.
 *
 *   everything else: a unit layer. The logical file is cut into units; unit
 *     k is stored at phys_off(k) as [ciphertext][nonce 24][tag 16], additional
 *     data = kind byte + k (u64 LE).
 *       WAL ('W'): unit 0 = the 32-byte header, unit k>=1 = frame k
 *         (24 + 4096 bytes), stored differently (see "WAL frames" below):
 *         the header as its own small unit bound to the page, the page in
 *         the main database's format, so a checkpoint copies it as is. A
 *         frame is written once, whole, and never rewritten once committed,
 *         so readers in other processes never see a unit being rewritten
 *         under them.
 *       journal ('J') and others ('T'): 4056-byte units, so every physical
 *         unit is exactly one aligned 4096-byte block. A single aligned
 *         4096-byte pwrite cannot be torn by kill -9 (the kernel checks for
 *         a fatal signal only between pages), so the in-place rewrites the
 *         rollback journal needs (its header's record count, the sector
 *         padding SQLite leaves between segments) leave either the old or
 *         the new authentic unit, never a mixture.
 *     A one-unit write-back cache per file makes SQLite's small sequential
 *     writes (frame header then page; pgno, page, checksum) encrypt each unit
 *     once. The logical size is whole units of the physical size.
 *
 * One encryption per page written in WAL mode: the WAL remembers the frames
 * it wrote or verified (stored bytes and plaintext, slot (k-1) % WAL_CACHE);
 * a frame read back whose stored bytes are identical is not decrypted, and
 * the main database, paired with its WAL at open, writes the frame's stored
 * page as is when a checkpoint copies exactly the page last read from it.
 * Other writers (processes) change a frame's bytes (fresh random nonces), so
 * their frames are decrypted and verified as usual.
 *
 * Torn WAL tail: a kill -9 during a frame's pwrite (4160 bytes, two or three
 * pages) can leave the last frame half old, half new. WAL recovery reads
 * frames in order until one is invalid; a frame that fails authentication is
 * handed to SQLite as zeros (an invalid frame, so recovery stops there) when
 * nothing after it belongs to the current WAL generation (the next unit is
 * absent, unauthentic, or carries other salts). Otherwise it is tampering and
 * the read fails with SQLITE_IOERR_DATA. Dropping the tail this way grants an
 * attacker nothing that truncating the file would not.
 */
#include "vfs.h"
#include "../util/buf.h"
#include "../util/error.h"

#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE CW_VFS_PAGE_SIZE
#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES /* 24 */
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES      /* 16 */
#define RES (NONCE + TAG)                                  /* 40 */
#define PAGE_DATA (PAGE - RES)                             /* 4056 */

#define WAL_HDR 32
#define FRAME_HDR 24                   /* SQLite's frame header */
#define WAL_FRAME (FRAME_HDR + PAGE)   /* logical frame: header, page */
#define FRAME_PAGE (FRAME_HDR + RES)   /* the page's offset in a stored frame */
#define FRAME_PHYS (FRAME_PAGE + PAGE) /* stored frame: header unit, page */
#define WAL_CACHE 1024                 /* frames remembered per WAL (~8 KiB each, allocated on use) */
#define BLOCK PAGE_DATA                /* journal and other files: one physical block per unit */

#define NONCE_POOL 32 /* nonces drawn per randombytes_buf call */

enum { KIND_MAIN = 'D', KIND_JOURNAL = 'J', KIND_WAL = 'W', KIND_OTHER = 'T' };
enum { UNIT_OK, UNIT_ABSENT, UNIT_PARTIAL, UNIT_AUTH };

typedef struct encfile encfile;

struct cw_vfs {
	sqlite3_vfs base; /* registered with SQLite; pAppData points back here */
	sqlite3_vfs *root;
	cw_secret *key;
	pthread_mutex_t lock; /* guards mains and the peer links */
	int has_lock;
	encfile *mains; /* open main databases, for pairing with their WAL */
	int registered;
	int has_failure;
	char name[32];
	char failure[160];
};

/* A WAL frame as stored and as SQLite sees it. Invariant while k != 0:
 * phys is frame k of a WAL, a valid encryption of plain (page part under
 * AD 'D' || the page number in plain's header). */
typedef struct {
	sqlite3_int64 k; /* 0: empty */
	uint8_t phys[FRAME_PHYS];
	uint8_t plain[WAL_FRAME];
} walentry;

struct encfile {
	sqlite3_file base;
	sqlite3_file *sub; /* the root VFS's file, right after this struct */
	cw_vfs *v;
	const char *label;  /* base name of the path, or a placeholder */
	const char *dbname; /* main database: SQLite's name pointer (pairing key) */
	encfile *next_main; /* main database: next in v->mains */
	encfile *peer;      /* a main database's WAL and back, or NULL */
	int kind;
	/* WAL: frames recently written or verified, slot (k-1) % WAL_CACHE */
	walentry **wcache;
	walentry *last; /* the frame last handed to SQLite, for the checkpoint */
	/* unit layer (not the main database) */
	int u0, ulen;       /* logical length of unit 0 and of later units */
	sqlite3_int64 cidx; /* cached unit, -1 for none */
	int cfill;          /* when !cvalid: bytes [0,cfill) written, rest unknown */
	int cvalid;         /* the cache holds the whole unit */
	int cdirty;
	uint8_t *cache; /* plaintext of the cached unit */
	uint8_t *aux;   /* plaintext of a unit read for SQLite */
	/* both layouts */
	uint8_t *phys; /* one physical page or unit */
	size_t cap;    /* bytes allocated for each buffer */
	unsigned pool_gen;
	int pool_left;
	uint8_t pool[NONCE * NONCE_POOL];
};

/* ---- nonces ----
 * Nonces are random: randombytes_buf fills a pool of NONCE_POOL at a time
 * (one getrandom call instead of one per page). A child of fork() must never
 * reuse its parent's pool: the atfork handler bumps a generation counter
 * that invalidates every pool. */

static atomic_uint fork_gen;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
	atomic_fetch_add(&fork_gen, 1);
}

static void install_atfork(void)
{
	pthread_atfork(NULL, NULL, on_fork_child);
}

static void nonce_draw(encfile *f, uint8_t *out)
{
	unsigned gen = atomic_load_explicit(&fork_gen, memory_order_relaxed);

	if (f->pool_left == 0 || f->pool_gen != gen) {
		randombytes_buf(f->pool, sizeof(f->pool));
		f->pool_left = NONCE_POOL;
		f->pool_gen = gen;
	}
	f->pool_left--;
	memcpy(out, f->pool + (size_t)f->pool_left * NONCE, NONCE);
	sodium_memzero(f->pool + (size_t)f->pool_left * NONCE, NONCE);
}

/* ---- helpers ---- */

/* Two stored frames are the same bytes: nonces and tags compared in
 * constant time, ciphertext (public, and no MAC) with memcmp. */
static int same_frame(const uint8_t *a, const uint8_t *b)
{
	return sodium_memcmp(a + FRAME_HDR, b + FRAME_HDR, RES) == 0 &&
	       sodium_memcmp(a + FRAME_PAGE + PAGE_DATA, b + FRAME_PAGE + PAGE_DATA, RES) == 0 &&
	       memcmp(a, b, FRAME_HDR) == 0 && memcmp(a + FRAME_PAGE, b + FRAME_PAGE, PAGE_DATA) == 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* SQLite's own fields are big-endian (a frame header's page number). */
static uint32_t load32_be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- failures ---- */

static void record_failure(encfile *f, const char *what, sqlite3_int64 n)
{
	cw_vfs *v = f->v;

	if (n < 0)
		snprintf(v->failure, sizeof(v->failure), "%s %s", f->label, what);
	else
		snprintf(v->failure, sizeof(v->failure), "%s %s %lld", f->label, what, (long long)n);
	v->has_failure = 1;
}

static void record_unit_failure(encfile *f, sqlite3_int64 k)
{
	if (f->kind == KIND_WAL) {
		if (k == 0)
			record_failure(f, "header", -1);
		else
			record_failure(f, "frame", k);
	} else {
		record_failure(f, "block", k);
	}
}

/* ---- the main database: pages encrypted in place ---- */

static void page_ad(uint8_t ad[5], sqlite3_int64 pgno)
{
	ad[0] = KIND_MAIN;
	cw_store32(ad + 1, (uint32_t)pgno);
}

/* Decrypt one stored page in place; the reserved bytes read back as zeros.
 * 0 on success, -1 when it does not authenticate (page left zeroed). */
static int page_open(encfile *f, uint8_t *page, sqlite3_int64 pgno)
{
	uint8_t ad[5];

	page_ad(ad, pgno);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
	        page, NULL, page, PAGE_DATA, page + PAGE_DATA + NONCE, ad, sizeof(ad), page + PAGE_DATA,
	        cw_secret_data(f->v->key)) != 0) {
		memset(page, 0, PAGE);
		return -1;
	}
	memset(page + PAGE_DATA, 0, RES);
	return 0;
}

static int main_read(encfile *f, uint8_t *out, int amt, sqlite3_int64 off)
{
	while (amt > 0) {
		sqlite3_int64 start = off - off % PAGE, pgno = start / PAGE + 1, size;
		int in = (int)(off - start);
		int n = amt < PAGE - in ? amt : PAGE - in;
		uint8_t *page = (in == 0 && n == PAGE) ? out : f->phys;
		int rc = f->sub->pMethods->xRead(f->sub, page, PAGE, start);

		if (rc == SQLITE_IOERR_SHORT_READ) {
			if ((rc = f->sub->pMethods->xFileSize(f->sub, &size)) != SQLITE_OK)
				return rc;
			memset(out, 0, (size_t)amt);
			if (size <= start)
				return SQLITE_IOERR_SHORT_READ; /* at or past the end: SQLite expects zeros */
			record_failure(f, "page", pgno);        /* a page cut short */
			return SQLITE_IOERR_DATA;
		}
		if (rc != SQLITE_OK)
			return rc;
		if (page_open(f, page, pgno) < 0) {
			memset(out, 0, (size_t)amt);
			record_failure(f, "page", pgno);
			return SQLITE_IOERR_DATA;
		}
		if (page != out)
			memcpy(out, page + in, (size_t)n);
		out += n;
		off += n;
		amt -= n;
	}
	return SQLITE_OK;
}

/* Page 1 must say page size 4096 and at least RES reserved bytes: a database
 * created without them would have SQLite data where the nonce and tag go. */
static int page1_ok(const uint8_t *p)
{
	unsigned size = (unsigned)p[16] << 8 | p[17];

	return size == PAGE && p[20] >= RES;
}

/* A checkpoint reads a frame's page from the WAL and writes it to the
 * database. A WAL frame stores its page exactly as the database does, so when
 * the page being written is the one last handed out from our WAL, same
 * number and same bytes, its stored form is a valid encryption of it and is
 * written as is. Returns that stored page, or NULL. */
static const uint8_t *wal_page_for(const encfile *f, sqlite3_int64 pgno, const uint8_t *in)
{
	const walentry *e = f->peer ? f->peer->last : NULL;

	if (e == NULL || e->k == 0 || load32_be(e->plain) != pgno ||
	    memcmp(e->plain + FRAME_HDR, in, PAGE_DATA) != 0)
		return NULL;
	return e->phys + FRAME_PAGE;
}

static int main_write(encfile *f, const uint8_t *in, int amt, sqlite3_int64 off)
{
	uint8_t ad[5];

	if (off % PAGE != 0 || amt % PAGE != 0)
		return SQLITE_IOERR_WRITE;
	for (; amt > 0; amt -= PAGE, off += PAGE, in += PAGE) {
		sqlite3_int64 pgno = off / PAGE + 1;
		const uint8_t *out;
		int rc;

		if (pgno == 1 && !page1_ok(in))
			return SQLITE_IOERR_WRITE;
		if ((out = wal_page_for(f, pgno, in)) == NULL) {
			page_ad(ad, pgno);
			nonce_draw(f, f->phys + PAGE_DATA);
			crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
			    f->phys, f->phys + PAGE_DATA + NONCE, NULL, in, PAGE_DATA, ad, sizeof(ad), NULL,
			    f->phys + PAGE_DATA, cw_secret_data(f->v->key));
			out = f->phys;
		}
		if ((rc = f->sub->pMethods->xWrite(f->sub, out, PAGE, off)) != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* ---- the unit layer: journal, WAL, others ---- */

static sqlite3_int64 unit_of(const encfile *f, sqlite3_int64 off)
{
	return off < f->u0 ? 0 : 1 + (off - f->u0) / f->ulen;
}

static sqlite3_int64 unit_start(const encfile *f, sqlite3_int64 k)
{
	return k == 0 ? 0 : f->u0 + (k - 1) * f->ulen;
}

static int unit_len(const encfile *f, sqlite3_int64 k)
{
	return k == 0 ? f->u0 : f->ulen;
}

static sqlite3_int64 phys_off(const encfile *f, sqlite3_int64 k)
{
	return k == 0 ? 0 : (f->u0 + RES) + (k - 1) * (f->ulen + RES);
}

static void unit_ad(const encfile *f, uint8_t ad[9], sqlite3_int64 k)
{
	ad[0] = (uint8_t)f->kind;
	cw_store64(ad + 1, (uint64_t)k);
}

/* ---- WAL frames ----
 * Frame k (k >= 1) is stored as its header unit then its page:
 *   [0,24) header ciphertext, [24,48) nonce, [48,64) tag, additional data
 *     'W' + k (u64 LE) + the page's nonce and tag (so a header belongs to
 *     one page and one position);
 *   [64,4160) the page exactly as in the database: ciphertext, nonce, tag,
 *     additional data 'D' + the page number from the header.
 * The page's reserved bytes are the nonce and tag, so SQLite must hand us
 * zeros there (it does: nothing in SQLite writes them); we refuse otherwise,
 * as the frame checksum SQLite computed would not hold on reading back. */

static void frame_ad(uint8_t ad[9 + RES], sqlite3_int64 k, const uint8_t *page_res)
{
	ad[0] = KIND_WAL;
	cw_store64(ad + 1, (uint64_t)k);
	memcpy(ad + 9, page_res, RES);
}

/* The cache slot for frame k, allocated when create and absent (NULL when
 * that fails: the cache is an optimisation only). */
static walentry *wal_slot(encfile *f, sqlite3_int64 k, int create)
{
	walentry **slot = &f->wcache[(k - 1) % WAL_CACHE];

	if (*slot == NULL && create && (*slot = malloc(sizeof(**slot))) != NULL)
		(*slot)->k = 0;
	return *slot;
}

/* Wipe and free the cached frames numbered from `from` on (all: 0). */
static void wal_forget(encfile *f, sqlite3_int64 from)
{
	size_t i;

	if (f->wcache == NULL)
		return;
	for (i = 0; i < WAL_CACHE; i++) {
		walentry *e = f->wcache[i];

		if (e && (e->k == 0 || e->k >= from)) {
			if (f->last == e)
				f->last = NULL;
			sodium_memzero(e, sizeof(*e));
			free(e);
			f->wcache[i] = NULL;
		}
	}
}

/* Read frame k: *out points to its plaintext (WAL_FRAME bytes: a cache
 * entry, else buf), valid until the next frame operation on f; zeros unless
 * UNIT_OK. A stored frame identical to one we wrote or verified is not
 * decrypted again: the same bytes under the same key and position hold the
 * same plaintext. */
static int frame_get(encfile *f, sqlite3_int64 k, uint8_t *buf, const uint8_t **out, int *status)
{
	sqlite3_int64 at = phys_off(f, k), size;
	const uint8_t *key = cw_secret_data(f->v->key);
	uint8_t ad[9 + RES], pad[5];
	walentry *e = wal_slot(f, k, 0);
	int rc = f->sub->pMethods->xRead(f->sub, f->phys, FRAME_PHYS, at);

	*out = buf;
	if (rc == SQLITE_IOERR_SHORT_READ) {
		memset(buf, 0, WAL_FRAME);
		if ((rc = f->sub->pMethods->xFileSize(f->sub, &size)) != SQLITE_OK)
			return rc;
		*status = size <= at ? UNIT_ABSENT : UNIT_PARTIAL;
		return SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		return rc;
	if (e && e->k == k && same_frame(e->phys, f->phys)) {
		*out = e->plain;
		f->last = e;
		*status = UNIT_OK;
		return SQLITE_OK;
	}
	frame_ad(ad, k, f->phys + FRAME_PAGE + PAGE_DATA);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(buf, NULL, f->phys, FRAME_HDR,
	                                                        f->phys + FRAME_HDR + NONCE, ad, sizeof(ad),
	                                                        f->phys + FRAME_HDR, key) != 0) {
		memset(buf, 0, WAL_FRAME);
		*status = UNIT_AUTH;
		return SQLITE_OK;
	}
	page_ad(pad, load32_be(buf));
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
	        buf + FRAME_HDR, NULL, f->phys + FRAME_PAGE, PAGE_DATA,
	        f->phys + FRAME_PAGE + PAGE_DATA + NONCE, pad, sizeof(pad), f->phys + FRAME_PAGE + PAGE_DATA,
	        key) != 0) {
		memset(buf, 0, WAL_FRAME);
		*status = UNIT_AUTH;
		return SQLITE_OK;
	}
	memset(buf + FRAME_HDR + PAGE_DATA, 0, RES);
	if ((e = wal_slot(f, k, 1)) != NULL) {
		memcpy(e->phys, f->phys, FRAME_PHYS);
		memcpy(e->plain, buf, WAL_FRAME);
		e->k = k;
	}
	f->last = e;
	*status = UNIT_OK;
	return SQLITE_OK;
}

/* Read frame k into out, like unit_load. */
static int frame_load(encfile *f, sqlite3_int64 k, uint8_t *out, int *status)
{
	const uint8_t *plain;
	int rc = frame_get(f, k, out, &plain, status);

	if (rc == SQLITE_OK && plain != out)
		memcpy(out, plain, WAL_FRAME);
	return rc;
}

/* Encrypt and write frame k, whole, in one write. A page identical to the
 * one its cache slot holds (SQLite rewriting a frame's checksums) keeps its
 * stored form. */
static int frame_store(encfile *f, sqlite3_int64 k, const uint8_t *plain)
{
	const uint8_t *key = cw_secret_data(f->v->key);
	walentry *e = wal_slot(f, k, 1);
	uint8_t *buf = e ? e->phys : f->phys, ad[9 + RES], pad[5];
	int rc;

	if (!all_zero(plain + FRAME_HDR + PAGE_DATA, RES))
		return SQLITE_IOERR_WRITE;
	if (!(e && e->k != 0 && load32_be(e->plain) == load32_be(plain) &&
	      memcmp(e->plain + FRAME_HDR, plain + FRAME_HDR, PAGE_DATA) == 0)) {
		if (e) {
			if (f->last == e)
				f->last = NULL;
			e->k = 0; /* until phys and plain agree again */
		}
		page_ad(pad, load32_be(plain));
		nonce_draw(f, buf + FRAME_PAGE + PAGE_DATA);
		crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
		    buf + FRAME_PAGE, buf + FRAME_PAGE + PAGE_DATA + NONCE, NULL, plain + FRAME_HDR,
		    PAGE_DATA, pad, sizeof(pad), NULL, buf + FRAME_PAGE + PAGE_DATA, key);
	}
	frame_ad(ad, k, buf + FRAME_PAGE + PAGE_DATA);
	nonce_draw(f, buf + FRAME_HDR);
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
	    buf, buf + FRAME_HDR + NONCE, NULL, plain, FRAME_HDR, ad, sizeof(ad), NULL, buf + FRAME_HDR, key);
	if (e) {
		memcpy(e->plain, plain, WAL_FRAME);
		e->k = k;
	}
	rc = f->sub->pMethods->xWrite(f->sub, buf, FRAME_PHYS, phys_off(f, k));
	if (rc != SQLITE_OK && e) {
		if (f->last == e)
			f->last = NULL;
		e->k = 0;
	}
	return rc;
}

/* Read and decrypt unit k into out (unit_len bytes; zeros unless UNIT_OK).
 * Returns an SQLite code; *status says what was found. */
static int unit_load(encfile *f, sqlite3_int64 k, uint8_t *out, int *status)
{
	int len = unit_len(f, k), rc;
	sqlite3_int64 at = phys_off(f, k), size;
	uint8_t ad[9];

	if (f->kind == KIND_WAL && k > 0)
		return frame_load(f, k, out, status);

	rc = f->sub->pMethods->xRead(f->sub, f->phys, len + RES, at);
	if (rc == SQLITE_IOERR_SHORT_READ) {
		memset(out, 0, (size_t)len);
		if ((rc = f->sub->pMethods->xFileSize(f->sub, &size)) != SQLITE_OK)
			return rc;
		*status = size <= at ? UNIT_ABSENT : UNIT_PARTIAL;
		return SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		return rc;
	unit_ad(f, ad, k);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
	        out, NULL, f->phys, (unsigned long long)len, f->phys + len + NONCE, ad, sizeof(ad),
	        f->phys + len, cw_secret_data(f->v->key)) != 0) {
		memset(out, 0, (size_t)len);
		*status = UNIT_AUTH;
		return SQLITE_OK;
	}
	*status = UNIT_OK;
	return SQLITE_OK;
}

static int unit_store(encfile *f, sqlite3_int64 k, const uint8_t *plain)
{
	int len = unit_len(f, k);
	uint8_t ad[9];

	if (f->kind == KIND_WAL && k > 0)
		return frame_store(f, k, plain);
	unit_ad(f, ad, k);
	nonce_draw(f, f->phys + len);
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(f->phys, f->phys + len + NONCE, NULL, plain,
	                                                    (unsigned long long)len, ad, sizeof(ad), NULL,
	                                                    f->phys + len, cw_secret_data(f->v->key));
	return f->sub->pMethods->xWrite(f->sub, f->phys, len + RES, phys_off(f, k));
}

/* Complete a cached unit of which only [0,cfill) was written: the rest comes
 * from the stored unit, or is zero past the end. */
static int cache_complete(encfile *f)
{
	int len = unit_len(f, f->cidx), status, rc;

	if ((rc = unit_load(f, f->cidx, f->aux, &status)) != SQLITE_OK)
		return rc;
	if (status == UNIT_AUTH || (status == UNIT_PARTIAL && f->kind != KIND_WAL)) {
		record_unit_failure(f, f->cidx);
		return SQLITE_IOERR_DATA;
	}
	memcpy(f->cache + f->cfill, f->aux + f->cfill, (size_t)(len - f->cfill));
	f->cvalid = 1;
	return SQLITE_OK;
}

/* Write the cached unit if dirty and forget it. The WAL header must announce
 * our page size: frames are cut at 24 + 4096 bytes. */
static int cache_flush(encfile *f)
{
	int rc = SQLITE_OK;

	if (f->cidx >= 0 && f->cdirty) {
		if (!f->cvalid)
			rc = cache_complete(f);
		if (rc == SQLITE_OK && f->kind == KIND_WAL && f->cidx == 0 &&
		    ((uint32_t)f->cache[8] << 24 | (uint32_t)f->cache[9] << 16 | (uint32_t)f->cache[10] << 8 |
		     f->cache[11]) != PAGE)
			rc = SQLITE_IOERR_WRITE;
		if (rc == SQLITE_OK)
			rc = unit_store(f, f->cidx, f->cache);
	}
	f->cidx = -1;
	f->cdirty = 0;
	f->cvalid = 0;
	f->cfill = 0;
	return rc;
}

static int unit_write(encfile *f, const uint8_t *in, int amt, sqlite3_int64 off)
{
	int rc;

	while (amt > 0) {
		sqlite3_int64 k = unit_of(f, off);
		int len = unit_len(f, k), a = (int)(off - unit_start(f, k));
		int n = amt < len - a ? amt : len - a;

		if (f->cidx != k) {
			if ((rc = cache_flush(f)) != SQLITE_OK)
				return rc;
			f->cidx = k; /* a write from the unit's start needs no read */
		}
		if (!f->cvalid && a > f->cfill && (rc = cache_complete(f)) != SQLITE_OK) {
			f->cdirty = 0; /* the write fails; SQLite rolls the transaction back */
			cache_flush(f);
			return rc;
		}
		memcpy(f->cache + a, in, (size_t)n);
		f->cdirty = 1;
		if (!f->cvalid && a + n > f->cfill)
			f->cfill = a + n;
		if (f->cfill == len)
			f->cvalid = 1;
		if (a + n == len && (rc = cache_flush(f)) != SQLITE_OK)
			return rc;
		in += n;
		off += n;
		amt -= n;
	}
	return SQLITE_OK;
}

/* Unit k >= 1 of the WAL failed authentication. It is a torn last write
 * unless the next unit is an authentic frame of the current generation
 * (same salts as the header). */
static int wal_torn_tail(encfile *f, sqlite3_int64 k)
{
	uint8_t salt[8];
	const uint8_t *hdr;
	int status;

	if (unit_load(f, k + 1, f->aux, &status) != SQLITE_OK || status != UNIT_OK)
		return 1;
	memcpy(salt, f->aux + 8, sizeof(salt));
	if (f->cidx == 0 && (f->cvalid || f->cfill >= 24)) {
		hdr = f->cache;
	} else {
		if (unit_load(f, 0, f->aux, &status) != SQLITE_OK || status != UNIT_OK)
			return 0;
		hdr = f->aux;
	}
	return memcmp(salt, hdr + 16, sizeof(salt)) != 0;
}

static int unit_read(encfile *f, uint8_t *out, int amt, sqlite3_int64 off)
{
	int rc, status;

	while (amt > 0) {
		sqlite3_int64 k = unit_of(f, off);
		int len = unit_len(f, k), a = (int)(off - unit_start(f, k));
		int n = amt < len - a ? amt : len - a;

		if (f->cidx == k) {
			if (!f->cvalid && a + n > f->cfill && (rc = cache_complete(f)) != SQLITE_OK)
				goto fail;
			memcpy(out, f->cache + a, (size_t)n);
		} else {
			const uint8_t *plain = f->aux;

			if ((rc = cache_flush(f)) != SQLITE_OK)
				goto fail;
			if (f->kind == KIND_WAL && k > 0)
				rc = frame_get(f, k, f->aux, &plain, &status);
			else
				rc = unit_load(f, k, f->aux, &status);
			if (rc != SQLITE_OK)
				goto fail;
			if (status == UNIT_ABSENT || (status == UNIT_PARTIAL && f->kind == KIND_WAL)) {
				memset(out, 0, (size_t)amt);
				return SQLITE_IOERR_SHORT_READ;
			}
			if (status == UNIT_PARTIAL ||
			    (status == UNIT_AUTH &&
			     (f->kind != KIND_WAL || k == 0 || !wal_torn_tail(f, k)))) {
				record_unit_failure(f, k);
				rc = SQLITE_IOERR_DATA;
				goto fail;
			}
			if (status == UNIT_AUTH)
				memset(out, 0, (size_t)n); /* a torn WAL tail reads as zeros */
			else
				memcpy(out, plain + a, (size_t)n);
		}
		out += n;
		off += n;
		amt -= n;
	}
	return SQLITE_OK;
fail:
	memset(out, 0, (size_t)amt);
	return rc;
}

/* Logical size: whole units. A WAL may end in a torn frame (ignored); any
 * other file ending in part of a unit was cut short. */
static int unit_size(encfile *f, sqlite3_int64 *out)
{
	sqlite3_int64 p, n = 0, rem = 0, first = f->u0 + RES;
	int rc;

	*out = 0;
	if ((rc = cache_flush(f)) != SQLITE_OK || (rc = f->sub->pMethods->xFileSize(f->sub, &p)) != SQLITE_OK)
		return rc;
	if (p < first) {
		rem = p;
	} else {
		n = 1 + (p - first) / (f->ulen + RES);
		rem = (p - first) % (f->ulen + RES);
	}
	if (rem != 0 && f->kind != KIND_WAL) {
		record_unit_failure(f, n);
		return SQLITE_IOERR_DATA;
	}
	*out = n == 0 ? 0 : unit_start(f, n);
	return SQLITE_OK;
}

/* Truncate to whole units covering size bytes; bytes of the last unit past
 * size are zeroed. Never grows the file. */
static int unit_truncate(encfile *f, sqlite3_int64 size)
{
	sqlite3_int64 n, p;
	int rc, status;

	if ((rc = cache_flush(f)) != SQLITE_OK || (rc = f->sub->pMethods->xFileSize(f->sub, &p)) != SQLITE_OK)
		return rc;
	n = size <= 0 ? 0 : unit_of(f, size - 1) + 1;
	if (phys_off(f, n) >= p)
		return SQLITE_OK;
	if ((rc = f->sub->pMethods->xTruncate(f->sub, phys_off(f, n))) != SQLITE_OK)
		return rc;
	if (f->kind == KIND_WAL)
		wal_forget(f, n);
	if (n > 0 && size < unit_start(f, n)) {
		sqlite3_int64 k = n - 1;
		int keep = (int)(size - unit_start(f, k));

		if ((rc = unit_load(f, k, f->aux, &status)) != SQLITE_OK)
			return rc;
		if (status == UNIT_OK) {
			memset(f->aux + keep, 0, (size_t)(unit_len(f, k) - keep));
			rc = unit_store(f, k, f->aux);
		}
	}
	return rc;
}

/* ---- sqlite3_io_methods ---- */

/* Pair a WAL with its main database (same SQLite pager: the WAL's name
 * leads back to the very name pointer the database was opened with), or
 * register a main database. */
static void link_file(encfile *f, const char *name)
{
	cw_vfs *v = f->v;
	encfile *m;

	if (name == NULL || (f->kind != KIND_MAIN && f->kind != KIND_WAL))
		return;
	pthread_mutex_lock(&v->lock);
	if (f->kind == KIND_MAIN) {
		f->dbname = name;
		f->next_main = v->mains;
		v->mains = f;
	} else {
		const char *db = sqlite3_filename_database(name);

		for (m = v->mains; m != NULL; m = m->next_main) {
			if (m->dbname == db && m->peer == NULL) {
				m->peer = f;
				f->peer = m;
				break;
			}
		}
	}
	pthread_mutex_unlock(&v->lock);
}

static void unlink_file(encfile *f)
{
	cw_vfs *v = f->v;
	encfile **p;

	if (f->kind != KIND_MAIN && f->kind != KIND_WAL)
		return;
	pthread_mutex_lock(&v->lock);
	if (f->peer)
		f->peer->peer = NULL;
	f->peer = NULL;
	for (p = &v->mains; *p != NULL; p = &(*p)->next_main) {
		if (*p == f) {
			*p = f->next_main;
			break;
		}
	}
	pthread_mutex_unlock(&v->lock);
}

static int io_close(sqlite3_file *pf)
{
	encfile *f = (encfile *)pf;
	int rc = SQLITE_OK, rc2;

	if (f->kind != KIND_MAIN)
		rc = cache_flush(f);
	unlink_file(f);
	wal_forget(f, 0);
	free(f->wcache);
	f->wcache = NULL;
	rc2 = f->sub->pMethods ? f->sub->pMethods->xClose(f->sub) : SQLITE_OK;
	if (f->cache)
		sodium_memzero(f->cache, f->cap);
	if (f->aux)
		sodium_memzero(f->aux, f->cap);
	if (f->phys)
		sodium_memzero(f->phys, f->cap);
	sodium_memzero(f->pool, sizeof(f->pool));
	free(f->cache);
	free(f->aux);
	free(f->phys);
	f->cache = f->aux = f->phys = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int io_read(sqlite3_file *pf, void *buf, int amt, sqlite3_int64 off)
{
	encfile *f = (encfile *)pf;

	return f->kind == KIND_MAIN ? main_read(f, buf, amt, off) : unit_read(f, buf, amt, off);
}

static int io_write(sqlite3_file *pf, const void *buf, int amt, sqlite3_int64 off)
{
	encfile *f = (encfile *)pf;

	return f->kind == KIND_MAIN ? main_write(f, buf, amt, off) : unit_write(f, buf, amt, off);
}

static int io_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
	encfile *f = (encfile *)pf;

	if (f->kind != KIND_MAIN)
		return unit_truncate(f, size);
	if (size % PAGE != 0)
		return SQLITE_IOERR_TRUNCATE;
	return f->sub->pMethods->xTruncate(f->sub, size);
}

static int io_sync(sqlite3_file *pf, int flags)
{
	encfile *f = (encfile *)pf;
	int rc;

	if (f->kind != KIND_MAIN && (rc = cache_flush(f)) != SQLITE_OK)
		return rc;
	return f->sub->pMethods->xSync(f->sub, flags);
}

static int io_file_size(sqlite3_file *pf, sqlite3_int64 *out)
{
	encfile *f = (encfile *)pf;

	if (f->kind != KIND_MAIN)
		return unit_size(f, out);
	return f->sub->pMethods->xFileSize(f->sub, out);
}

static int io_lock(sqlite3_file *pf, int lock)
{
	encfile *f = (encfile *)pf;

	return f->sub->pMethods->xLock(f->sub, lock);
}

static int io_unlock(sqlite3_file *pf, int lock)
{
	encfile *f = (encfile *)pf;

	return f->sub->pMethods->xUnlock(f->sub, lock);
}

static int io_check_reserved(sqlite3_file *pf, int *out)
{
	encfile *f = (encfile *)pf;

	return f->sub->pMethods->xCheckReservedLock(f->sub, out);
}

static int io_file_control(sqlite3_file *pf, int op, void *arg)
{
	encfile *f = (encfile *)pf;

	switch (op) {
	case SQLITE_FCNTL_MMAP_SIZE:
		/* Mapped pages would bypass decryption: no memory-mapped I/O. */
		*(sqlite3_int64 *)arg = 0;
		return SQLITE_OK;
	case SQLITE_FCNTL_SIZE_HINT:
	case SQLITE_FCNTL_CHUNK_SIZE:
		/* Hints only; pre-extending a file would add zero bytes that are
		 * not authentic pages or units. */
		return SQLITE_OK;
	default:
		return f->sub->pMethods->xFileControl(f->sub, op, arg);
	}
}

static int io_sector_size(sqlite3_file *pf)
{
	encfile *f = (encfile *)pf;

	return f->sub->pMethods->xSectorSize(f->sub);
}

static int io_device_characteristics(sqlite3_file *pf)
{
	encfile *f = (encfile *)pf;
	int caps = f->sub->pMethods->xDeviceCharacteristics(f->sub);

	/* Units are rewritten whole, so no atomic or append-only promise of the
	 * platform holds for the logical file. */
	return caps & ~(SQLITE_IOCAP_ATOMIC | SQLITE_IOCAP_ATOMIC512 | SQLITE_IOCAP_ATOMIC1K |
	                SQLITE_IOCAP_ATOMIC2K | SQLITE_IOCAP_ATOMIC4K | SQLITE_IOCAP_ATOMIC8K |
	                SQLITE_IOCAP_ATOMIC16K | SQLITE_IOCAP_ATOMIC32K | SQLITE_IOCAP_ATOMIC64K |
	                SQLITE_IOCAP_SAFE_APPEND | SQLITE_IOCAP_SEQUENTIAL | SQLITE_IOCAP_BATCH_ATOMIC);
}

static int io_shm_map(sqlite3_file *pf, int pg, int pgsz, int extend, void volatile **pp)
{
	encfile *f = (encfile *)pf;

	return f->sub->pMethods->xShmMap(f->sub, pg, pgsz, extend, pp);
}

static int io_shm_lock(sqlite3_file *pf, int offset, int n, int flags)
{
	encfile *f = (encfile *)pf;

	return f->sub->pMethods->xShmLock(f->sub, offset, n, flags);
}

static void io_shm_barrier(sqlite3_file *pf)
{
	encfile *f = (encfile *)pf;

	f->sub->pMethods->xShmBarrier(f->sub);
}

static int io_shm_unmap(sqlite3_file *pf, int delete_flag)
{
	encfile *f = (encfile *)pf;

	return f->sub->pMethods->xShmUnmap(f->sub, delete_flag);
}

static int io_fetch(sqlite3_file *pf, sqlite3_int64 off, int amt, void **pp)
{
	(void)pf;
	(void)off;
	(void)amt;
	*pp = NULL; /* SQLite falls back to xRead, which decrypts */
	return SQLITE_OK;
}

static int io_unfetch(sqlite3_file *pf, sqlite3_int64 off, void *p)
{
	(void)pf;
	(void)off;
	(void)p;
	return SQLITE_OK;
}

static const sqlite3_io_methods methods_v3 = {
	3,
	io_close,
	io_read,
	io_write,
	io_truncate,
	io_sync,
	io_file_size,
	io_lock,
	io_unlock,
	io_check_reserved,
	io_file_control,
	io_sector_size,
	io_device_characteristics,
	io_shm_map,
	io_shm_lock,
	io_shm_barrier,
	io_shm_unmap,
	io_fetch,
	io_unfetch,
};

static const sqlite3_io_methods methods_v1 = {
	1,
	io_close,
	io_read,
	io_write,
	io_truncate,
	io_sync,
	io_file_size,
	io_lock,
	io_unlock,
	io_check_reserved,
	io_file_control,
	io_sector_size,
	io_device_characteristics,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
	NULL,
};

/* ---- sqlite3_vfs ---- */

#define ROOT(vfs) (((cw_vfs *)(vfs)->pAppData)->root)

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *out_flags)
{
	cw_vfs *v = vfs->pAppData;
	encfile *f = (encfile *)pf;
	const char *slash;
	int rc;

	memset(f, 0, sizeof(*f));
	f->sub = (sqlite3_file *)(f + 1);
	f->sub->pMethods = NULL;
	f->v = v;
	f->cidx = -1;
	if (flags & SQLITE_OPEN_MAIN_DB)
		f->kind = KIND_MAIN;
	else if (flags & SQLITE_OPEN_WAL)
		f->kind = KIND_WAL;
	else if (flags & SQLITE_OPEN_MAIN_JOURNAL)
		f->kind = KIND_JOURNAL;
	else
		f->kind = KIND_OTHER;
	f->u0 = f->kind == KIND_WAL ? WAL_HDR : BLOCK;
	f->ulen = f->kind == KIND_WAL ? WAL_FRAME : BLOCK;
	f->label = name ? ((slash = strrchr(name, '/')) ? slash + 1 : name) : "(temporary file)";
	f->cap = (size_t)(f->kind == KIND_MAIN ? PAGE : f->ulen + RES);
	if ((f->phys = malloc(f->cap)) == NULL ||
	    (f->kind != KIND_MAIN &&
	     ((f->cache = malloc(f->cap)) == NULL || (f->aux = malloc(f->cap)) == NULL)) ||
	    (f->kind == KIND_WAL && (f->wcache = calloc(WAL_CACHE, sizeof(*f->wcache))) == NULL)) {
		rc = SQLITE_NOMEM;
		goto fail;
	}
	if ((rc = v->root->xOpen(v->root, name, f->sub, flags, out_flags)) != SQLITE_OK)
		goto fail;
	/* shared memory (WAL) needs version 2; our xFetch never maps anything */
	pf->pMethods = f->sub->pMethods->iVersion >= 2 ? &methods_v3 : &methods_v1;
	link_file(f, name);
	return SQLITE_OK;
fail:
	if (f->sub->pMethods)
		f->sub->pMethods->xClose(f->sub);
	f->sub->pMethods = NULL;
	free(f->phys);
	free(f->cache);
	free(f->aux);
	free(f->wcache);
	pf->pMethods = NULL;
	return rc;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	return ROOT(vfs)->xDelete(ROOT(vfs), name, sync_dir);
}

static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return ROOT(vfs)->xAccess(ROOT(vfs), name, flags, out);
}

static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return ROOT(vfs)->xFullPathname(ROOT(vfs), name, n, out);
}

static void *vfs_dl_open(sqlite3_vfs *vfs, const char *name)
{
	return ROOT(vfs)->xDlOpen(ROOT(vfs), name);
}

static void vfs_dl_error(sqlite3_vfs *vfs, int n, char *msg)
{
	ROOT(vfs)->xDlError(ROOT(vfs), n, msg);
}

static void (*vfs_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	return ROOT(vfs)->xDlSym(ROOT(vfs), h, sym);
}

static void vfs_dl_close(sqlite3_vfs *vfs, void *h)
{
	ROOT(vfs)->xDlClose(ROOT(vfs), h);
}

static int vfs_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return ROOT(vfs)->xRandomness(ROOT(vfs), n, out);
}

static int vfs_sleep(sqlite3_vfs *vfs, int us)
{
	return ROOT(vfs)->xSleep(ROOT(vfs), us);
}

static int vfs_current_time(sqlite3_vfs *vfs, double *out)
{
	return ROOT(vfs)->xCurrentTime(ROOT(vfs), out);
}

static int vfs_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	return ROOT(vfs)->xGetLastError ? ROOT(vfs)->xGetLastError(ROOT(vfs), n, out) : 0;
}

static int vfs_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return ROOT(vfs)->xCurrentTimeInt64(ROOT(vfs), out);
}

static int vfs_set_syscall(sqlite3_vfs *vfs, const char *name, sqlite3_syscall_ptr p)
{
	return ROOT(vfs)->xSetSystemCall(ROOT(vfs), name, p);
}

static sqlite3_syscall_ptr vfs_get_syscall(sqlite3_vfs *vfs, const char *name)
{
	return ROOT(vfs)->xGetSystemCall(ROOT(vfs), name);
}

static const char *vfs_next_syscall(sqlite3_vfs *vfs, const char *name)
{
	return ROOT(vfs)->xNextSystemCall(ROOT(vfs), name);
}

/* ---- the public API ---- */

int cw_vfs_new(cw_vfs **out, const cw_secret *key)
{
	static atomic_uint counter;
	cw_vfs *v = NULL;
	sqlite3_vfs *root;
	int rc, error;

	*out = NULL;
	if (key == NULL || cw_secret_len(key) != crypto_aead_xchacha20poly1305_ietf_KEYBYTES) {
		error = cw_error(CW_EINVALID, "the store key must be 32 bytes");
		goto done;
	}
	if (sodium_init() < 0) {
		error = cw_error(CW_ERROR, "cannot initialise the cryptography library");
		goto done;
	}
	pthread_once(&atfork_once, install_atfork);
	if ((root = sqlite3_vfs_find(NULL)) == NULL) {
		error = cw_error(CW_ERROR, "SQLite has no default file system layer");
		goto done;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if ((error = cw_secret_from(&v->key, cw_secret_data(key), cw_secret_len(key))) < 0)
		goto done;
	if (pthread_mutex_init(&v->lock, NULL) != 0) {
		error = cw_error(CW_ERROR, "cannot create a lock for the encrypting file layer");
		goto done;
	}
	v->has_lock = 1;
	snprintf(v->name, sizeof(v->name), "cwenc-%u", atomic_fetch_add(&counter, 1) + 1);
	v->root = root;
	v->base.iVersion = root->iVersion < 3 ? root->iVersion : 3;
	v->base.szOsFile = (int)sizeof(encfile) + root->szOsFile;
	v->base.mxPathname = root->mxPathname;
	v->base.zName = v->name;
	v->base.pAppData = v;
	v->base.xOpen = vfs_open;
	v->base.xDelete = vfs_delete;
	v->base.xAccess = vfs_access;
	v->base.xFullPathname = vfs_full_pathname;
	v->base.xDlOpen = vfs_dl_open;
	v->base.xDlError = vfs_dl_error;
	v->base.xDlSym = vfs_dl_sym;
	v->base.xDlClose = vfs_dl_close;
	v->base.xRandomness = vfs_randomness;
	v->base.xSleep = vfs_sleep;
	v->base.xCurrentTime = vfs_current_time;
	v->base.xGetLastError = vfs_get_last_error;
	if (v->base.iVersion >= 2)
		v->base.xCurrentTimeInt64 = vfs_current_time64;
	if (v->base.iVersion >= 3) {
		v->base.xSetSystemCall = vfs_set_syscall;
		v->base.xGetSystemCall = vfs_get_syscall;
		v->base.xNextSystemCall = vfs_next_syscall;
	}
	if ((rc = sqlite3_vfs_register(&v->base, 0)) != SQLITE_OK) {
		error = cw_error(CW_ERROR, "cannot register the encrypting file layer: %s",
		                 sqlite3_errstr(rc));
		goto done;
	}
	v->registered = 1;
	*out = v;
	v = NULL;
	error = CW_OK;
done:
	cw_vfs_free(v);
	return error;
}

const char *cw_vfs_name(const cw_vfs *v)
{
	return v->name;
}

const char *cw_vfs_failure(const cw_vfs *v)
{
	return v && v->has_failure ? v->failure : NULL;
}

void cw_vfs_clear_failure(cw_vfs *v)
{
	if (v) {
		v->has_failure = 0;
		v->failure[0] = '\0';
	}
}

void cw_vfs_free(cw_vfs *v)
{
	if (v == NULL)
		return;
	if (v->registered)
		sqlite3_vfs_unregister(&v->base);
	if (v->has_lock)
		pthread_mutex_destroy(&v->lock);
	cw_secret_free(v->key);
	sodium_memzero(v, sizeof(*v));
	free(v);
}
