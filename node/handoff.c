/* node/handoff.c - handoff packages to the follow-up doctor and the doctor's replies. */
#include "handoff.h"
#include "../crypto/armor.h"
#include "../crypto/docstream.h"
#include "../crypto/seal.h"
#include "../util/error.h"
#include "../util/file.h"
#include "../util/when.h"
#include "case.h"
#include "docs.h"
#include "ips.h"
#include "model.h"
#include "org.h"
#include "oplog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PUB_LABEL "doctor"
#define MAGIC_HANDOFF "CWHO"
#define MAGIC_REPLY "CWHR"
#define VERSION 1
#define REC_HEAD 1
#define REC_ENTRY 2
#define REC_DATA 3
#define REC_SIGN 4
#define SIGN_HANDOFF "caseway-handoff-v1"
#define SIGN_REPLY "caseway-reply-v1"
#define MAX_BOX (CW_HANDOFF_MAX_RECORD + 1 + CW_SEAL_BOX_OVERHEAD)
#define MAX_ENTRY_SIZE ((uint64_t)1 << 40) /* 1 TiB */
/* All files of one package or reply together (a CT series is a few GiB). */
#define CW_HANDOFF_MAX_TOTAL ((uint64_t)16 << 30)
#define MAX_REPLY_ITEMS 64

/* ---- the doctor's keys ------------------------------------------------------------- */

void cw_handoff_fingerprint(char out[40], const uint8_t sign_pk[CW_PK_BYTES],
                            const uint8_t box_pk[CW_PK_BYTES])
{
	uint8_t both[2 * CW_PK_BYTES], h[CW_HASH_BYTES];

	memcpy(both, sign_pk, CW_PK_BYTES);
	memcpy(both + CW_PK_BYTES, box_pk, CW_PK_BYTES);
	cw_keys_hash(h, both, sizeof(both));
	cw_keys_fingerprint(out, h);
}

int cw_handoff_keygen(cw_buf *key_out, cw_buf *pub_out, char fpr[40], const char *pass, size_t passlen,
                      const cw_kdf_cost *cost)
{
	cw_keys *k = NULL;
	uint8_t both[2 * CW_PK_BYTES];
	int error;

	if ((error = cw_keys_generate(&k)) < 0)
		goto done;
	memcpy(both, cw_keys_sign_pk(k), CW_PK_BYTES);
	memcpy(both + CW_PK_BYTES, cw_keys_box_pk(k), CW_PK_BYTES);
	if ((error = cw_keystore_seal(key_out, CW_KEYSTORE_DOCTOR, k, pass, passlen, cost)) < 0 ||
	    (error = cw_armor_encode(pub_out, PUB_LABEL, both, sizeof(both))) < 0)
		goto done;
	cw_handoff_fingerprint(fpr, cw_keys_sign_pk(k), cw_keys_box_pk(k));
done:
	cw_keys_free(k);
	return error;
}

int cw_handoff_pub_parse(uint8_t sign_pk[CW_PK_BYTES], uint8_t box_pk[CW_PK_BYTES], const uint8_t *text,
                         size_t len)
{
	cw_buf raw = CW_BUF_INIT;
	int error;

	raw.cap = 1024;
	if (cw_armor_decode(&raw, PUB_LABEL, text, len) < 0 || raw.len != 2 * CW_PK_BYTES) {
		error = cw_error(CW_EINVALID, "not a doctor's public key (a line starting "
		                              "caseway-doctor-v1:, made by `caseway keygen`)");
		goto done;
	}
	memcpy(sign_pk, raw.data, CW_PK_BYTES);
	memcpy(box_pk, raw.data + CW_PK_BYTES, CW_PK_BYTES);
	error = CW_OK;
done:
	cw_buf_dispose(&raw);
	return error;
}

int cw_handoff_key_open(cw_keys **out, const uint8_t *data, size_t len, const char *pass, size_t passlen,
                        const char *label)
{
	cw_keystore_info info;
	int error;

	*out = NULL;
	if ((error = cw_keystore_parse(&info, data, len)) < 0)
		return error;
	if (info.kind == CW_KEYSTORE_ORG)
		return cw_error(CW_EINVALID, "%s is an agency key, not a doctor's key",
		                label ? label : "key");
	return cw_keystore_open(out, NULL, data, len, pass, passlen, label);
}

void cw_handoff_safe_name(char *out, const char *name, size_t index)
{
	size_t i = 0, o = 0, last_ok = 0;

	if (name == NULL)
		name = "";
	/* only the last part of a path-like name: "../../x.pdf" is "x.pdf" */
	if (strrchr(name, '/'))
		name = strrchr(name, '/') + 1;
	if (strrchr(name, '\\'))
		name = strrchr(name, '\\') + 1;
	while (name[i] == '.' || name[i] == ' ')
		i++;
	for (; name[i] && o < CW_HANDOFF_SAFE_NAME_MAX; i++) {
		unsigned char ch = (unsigned char)name[i];
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		         ch == '.' || ch == '-' || ch == '_' || ch == ' ' || ch == '(' || ch == ')' ||
		         ch == '+' || ch == ',' || ch >= 0x80;

		out[o++] = ok ? (char)ch : '_';
		/* a cut may fall only before a byte that starts a character */
		if ((i + 1 < SIZE_MAX) && (((unsigned char)name[i + 1] & 0xc0) != 0x80))
			last_ok = o;
	}
	o = last_ok;
	while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '.'))
		o--;
	out[o] = '\0';
	if (o == 0)
		snprintf(out, CW_HANDOFF_SAFE_NAME_MAX + 1, "document-%zu", index + 1);
}

/* Make name unique among names[0..n) (ASCII case folded) by adding -2, -3...
 * before its extension. */
static void unique_name(char *name, char (*names)[CW_HANDOFF_SAFE_NAME_MAX + 1], size_t n)
{
	char base[CW_HANDOFF_SAFE_NAME_MAX + 1], ext[CW_HANDOFF_SAFE_NAME_MAX + 1];
	char *dot;
	size_t i, k;

	snprintf(base, sizeof(base), "%s", name);
	dot = strrchr(base, '.');
	ext[0] = '\0';
	if (dot && dot != base && strlen(dot) <= 10) {
		snprintf(ext, sizeof(ext), "%s", dot);
		*dot = '\0';
	}
	for (k = 2;; k++) {
		int clash = 0;

		for (i = 0; i < n && !clash; i++)
			clash = strcasecmp(names[i], name) == 0;
		if (!clash)
			return;
		snprintf(name, CW_HANDOFF_SAFE_NAME_MAX + 1, "%.80s-%zu%s", base, k, ext);
	}
}

/* ---- low-level I/O ------------------------------------------------------------------ */

static int write_all(int fd, const void *data, size_t len, const char *what)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cw_error_os(what);
		p += n;
		len -= (size_t)n;
	}
	return CW_OK;
}

/* A source of package bytes: a file or memory. */
typedef struct {
	int fd;
	const uint8_t *mem;
	size_t memlen, pos;
} src;

/* Read exactly len bytes: CW_OK; 1 when the source ended before the first
 * byte; CW_EVERIFY when it ended in the middle. */
static int src_read(src *s, void *out, size_t len)
{
	uint8_t *p = out;
	size_t got = 0;

	if (s->mem) {
		if (s->memlen - s->pos < len)
			return s->pos == s->memlen && len
			           ? 1
			           : cw_error(CW_EVERIFY, "the handoff file is cut short");
		memcpy(out, s->mem + s->pos, len);
		s->pos += len;
		return CW_OK;
	}
	while (got < len) {
		ssize_t n = read(s->fd, p + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cw_error_os("reading the handoff file");
		if (n == 0)
			return got == 0 ? 1 : cw_error(CW_EVERIFY, "the file is cut short");
		got += (size_t)n;
	}
	return CW_OK;
}

static void record_ctx(uint8_t ctx[32], size_t *len, int reply, uint64_t index, int last)
{
	const char *label = reply ? "cw-reply" : "cw-handoff";
	size_t n = strlen(label);

	memcpy(ctx, label, n);
	cw_store64(ctx + n, index);
	ctx[n + 8] = (uint8_t)(last ? 1 : 0);
	*len = n + 9;
}

/* t = BLAKE2b-256(t | plain) */
static int transcript_add(uint8_t t[CW_HASH_BYTES], const uint8_t *plain, size_t len, cw_buf *scratch)
{
	int error;

	scratch->len = 0;
	if ((error = cw_buf_put(scratch, t, CW_HASH_BYTES)) < 0 ||
	    (error = cw_buf_put(scratch, plain, len)) < 0)
		return error;
	cw_keys_hash(t, scratch->data, scratch->len);
	return CW_OK;
}

static void sign_message(uint8_t msg[64], size_t *len, int reply, const uint8_t t[CW_HASH_BYTES])
{
	const char *d = reply ? SIGN_REPLY : SIGN_HANDOFF;
	size_t n = strlen(d) + 1;

	memcpy(msg, d, n);
	memcpy(msg + n, t, CW_HASH_BYTES);
	*len = n + CW_HASH_BYTES;
}

/* ---- writing ------------------------------------------------------------------------ */

struct cw_handoff_writer {
	int fd;
	int reply;
	const cw_keys *signer;
	cw_secret *key;
	uint64_t index;
	uint8_t t[CW_HASH_BYTES];
	cw_buf plain, box, scratch, chunk;
	uint64_t left; /* bytes still owed to the current entry */
	size_t nentries;
	int failed;
};

static int put_str16(cw_buf *b, const char *s)
{
	return cw_buf_put_str16(b, s ? s : "", s ? strlen(s) : 0);
}

static int writer_record(cw_handoff_writer *w, uint8_t type, const void *body, size_t len, int last)
{
	uint8_t ctx[32], hdr[5];
	size_t ctxlen;
	int error;

	w->plain.len = 0;
	w->box.len = 0;
	if ((error = cw_buf_put_u8(&w->plain, type)) < 0 || (error = cw_buf_put(&w->plain, body, len)) < 0)
		goto done;
	record_ctx(ctx, &ctxlen, w->reply, w->index, last);
	if ((error = cw_seal_box(&w->box, w->key, ctx, ctxlen, w->plain.data, w->plain.len)) < 0)
		goto done;
	hdr[0] = (uint8_t)(last ? 1 : 0);
	cw_store32(hdr + 1, (uint32_t)w->box.len);
	if ((error = write_all(w->fd, hdr, sizeof(hdr), "writing the package")) < 0 ||
	    (error = write_all(w->fd, w->box.data, w->box.len, "writing the package")) < 0)
		goto done;
	if (type != REC_SIGN && (error = transcript_add(w->t, w->plain.data, w->plain.len, &w->scratch)) < 0)
		goto done;
	w->index++;
done:
	if (error < 0)
		w->failed = 1;
	return error;
}

int cw_handoff_writer_new(cw_handoff_writer **out, int fd, int reply, const cw_keys *signer,
                          const cw_handoff_head *head, const cw_handoff_recipient *rcpt, size_t n)
{
	cw_handoff_writer *w = NULL;
	cw_buf hdr = CW_BUF_INIT, body = CW_BUF_INIT;
	size_t i;
	int error;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	w->fd = fd;
	w->reply = reply;
	w->signer = signer;
	w->plain.cap = w->box.cap = w->scratch.cap = MAX_BOX + 64;
	if ((error = cw_secret_random(&w->key, CW_KEY_BYTES)) < 0)
		goto done;
	/* the header */
	if ((error = cw_buf_put(&hdr, reply ? MAGIC_REPLY : MAGIC_HANDOFF, 4)) < 0 ||
	    (error = cw_buf_put_u8(&hdr, VERSION)) < 0)
		goto done;
	if (!reply) {
		cw_buf sealed = CW_BUF_INIT;

		if ((error = cw_seal_to(&sealed, head->doctor_box_pk, cw_secret_data(w->key),
		                        CW_KEY_BYTES)) == 0)
			error = cw_buf_put_str16(&hdr, sealed.data, sealed.len);
		cw_buf_dispose(&sealed);
		if (error < 0)
			goto done;
	} else {
		if (n < 1 || n > CW_HANDOFF_MAX_RECIPIENTS) {
			error = cw_error(CW_EINVALID, "a reply goes to 1 to %d devices",
			                 CW_HANDOFF_MAX_RECIPIENTS);
			goto done;
		}
		if ((error = cw_buf_put_u8(&hdr, (uint8_t)n)) < 0)
			goto done;
		for (i = 0; i < n; i++) {
			cw_buf sealed = CW_BUF_INIT;

			if ((error = cw_buf_put(&hdr, rcpt[i].device, CW_AUTHOR_BYTES)) == 0 &&
			    (error = cw_seal_to(&sealed, rcpt[i].box_pk, cw_secret_data(w->key),
			                        CW_KEY_BYTES)) == 0)
				error = cw_buf_put_str16(&hdr, sealed.data, sealed.len);
			cw_buf_dispose(&sealed);
			if (error < 0)
				goto done;
		}
	}
	if ((error = write_all(fd, hdr.data, hdr.len, "writing the package")) < 0)
		goto done;
	cw_keys_hash(w->t, hdr.data, hdr.len);
	/* the head */
	if ((error = cw_buf_put_u8(&body, VERSION)) < 0 ||
	    (error = cw_buf_put(&body, head->case_id, CW_ID_BYTES)) < 0 ||
	    (error = cw_buf_put(&body, head->handoff_id, CW_ID_BYTES)) < 0 ||
	    (error = cw_buf_put_u64(&body, (uint64_t)head->created_at)) < 0 ||
	    (error = cw_buf_put(&body, head->doctor_sign_pk, CW_PK_BYTES)) < 0 ||
	    (error = cw_buf_put(&body, head->doctor_box_pk, CW_PK_BYTES)) < 0)
		goto done;
	if (!reply) {
		if ((error = cw_buf_put_u32(&body, (uint32_t)head->cert_len)) < 0 ||
		    (error = cw_buf_put(&body, head->cert, head->cert_len)) < 0 ||
		    (error = cw_buf_put_u32(&body, (uint32_t)head->roster_len)) < 0 ||
		    (error = cw_buf_put(&body, head->roster, head->roster_len)) < 0 ||
		    (error = put_str16(&body, head->contact)) < 0)
			goto done;
	} else if ((error = cw_buf_put(&body, head->package, CW_HASH_BYTES)) < 0) {
		goto done;
	}
	if (body.len > CW_HANDOFF_MAX_RECORD) {
		error = cw_error(CW_EINVALID, "the agency's roster is too large for a handoff");
		goto done;
	}
	if ((error = writer_record(w, REC_HEAD, body.data, body.len, 0)) < 0)
		goto done;
	*out = w;
	w = NULL;
done:
	cw_buf_dispose(&hdr);
	cw_buf_dispose(&body);
	cw_handoff_writer_free(w);
	return error;
}

int cw_handoff_writer_entry(cw_handoff_writer *w, cw_handoff_entry_kind kind, uint64_t size, const char *name,
                            const char *title, const char *doc_kind)
{
	cw_buf body = CW_BUF_INIT;
	int error;

	if (w->failed || w->left)
		return cw_error(CW_ERROR, "internal: handoff entry started before the last one ended");
	if (w->nentries >= CW_HANDOFF_MAX_ENTRIES || size > MAX_ENTRY_SIZE)
		return cw_error(CW_EINVALID, "too many or too large files for one package");
	if ((error = cw_buf_put_u8(&body, (uint8_t)kind)) < 0 || (error = cw_buf_put_u64(&body, size)) < 0 ||
	    (error = put_str16(&body, name)) < 0 || (error = put_str16(&body, title)) < 0 ||
	    (error = put_str16(&body, doc_kind)) < 0)
		goto done;
	if ((error = writer_record(w, REC_ENTRY, body.data, body.len, 0)) < 0)
		goto done;
	w->left = size;
	w->nentries++;
	w->chunk.len = 0;
done:
	cw_buf_dispose(&body);
	return error;
}

int cw_handoff_writer_data(cw_handoff_writer *w, const void *data, size_t len)
{
	const uint8_t *p = data;
	int error;

	if (w->failed)
		return cw_error(CW_ERROR, "internal: writing to a failed package");
	if (len > w->left - w->chunk.len)
		return cw_error(CW_EINVALID, "a file grew while it was being packed");
	while (len > 0) {
		size_t room = CW_HANDOFF_CHUNK - w->chunk.len, n = len < room ? len : room;

		if ((error = cw_buf_put(&w->chunk, p, n)) < 0)
			return error;
		p += n;
		len -= n;
		if (w->chunk.len == CW_HANDOFF_CHUNK || w->chunk.len == w->left) {
			if ((error = writer_record(w, REC_DATA, w->chunk.data, w->chunk.len, 0)) < 0)
				return error;
			w->left -= w->chunk.len;
			w->chunk.len = 0;
		}
	}
	return CW_OK;
}

int cw_handoff_writer_finish(cw_handoff_writer *w, uint8_t transcript_out[CW_HASH_BYTES])
{
	uint8_t msg[64], sig[CW_SIG_BYTES];
	size_t len;
	int error;

	if (w->failed || w->left)
		return cw_error(CW_ERROR, "internal: the package is not complete (a file shrank while it "
		                          "was being packed?)");
	sign_message(msg, &len, w->reply, w->t);
	cw_keys_sign(sig, w->signer, msg, len);
	if ((error = writer_record(w, REC_SIGN, sig, sizeof(sig), 1)) < 0)
		return error;
	if (transcript_out)
		memcpy(transcript_out, w->t, CW_HASH_BYTES);
	return CW_OK;
}

void cw_handoff_writer_free(cw_handoff_writer *w)
{
	if (w == NULL)
		return;
	cw_secret_free(w->key);
	cw_buf_dispose(&w->plain);
	cw_buf_dispose(&w->box);
	cw_buf_dispose(&w->scratch);
	cw_buf_dispose(&w->chunk);
	free(w);
}

/* ---- reading ------------------------------------------------------------------------ */

typedef struct {
	uint8_t kind;
	uint64_t size;
	char name[CW_HANDOFF_NAME_MAX + 1];
	char title[CW_HANDOFF_NAME_MAX + 1];
	char doc_kind[33];
} entry;

typedef struct reader reader;
struct reader {
	int reply;
	int (*on_head)(reader *r, const uint8_t *body, size_t len);
	int (*on_entry)(reader *r, const entry *e);
	int (*on_data)(reader *r, const uint8_t *d, size_t len);
	void *ctx;
	/* state */
	uint64_t index;
	uint8_t t[CW_HASH_BYTES];
	int have_head, done;
	uint8_t signer_pk[CW_PK_BYTES];
	int have_signer;
	uint64_t left;
	size_t nentries;
	uint64_t bytes;
	cw_buf scratch;
};

static int damaged(const char *what)
{
	return cw_error(CW_EVERIFY, "the file is damaged or was altered (%s)", what);
}

static int get_text(char *out, size_t cap, cw_reader *rd, const char *what, int may_be_empty)
{
	const uint8_t *p;
	size_t n;
	int error;

	if ((error = cw_reader_str16(rd, &p, &n, what)) < 0)
		return error;
	if (n >= cap || (n == 0 && !may_be_empty) || !cw_utf8_valid(p, n, 0))
		return cw_error(CW_EINVALID, "%s is not a valid name", what);
	memcpy(out, p, n);
	out[n] = '\0';
	return CW_OK;
}

static int parse_entry(entry *e, const uint8_t *body, size_t len)
{
	cw_reader rd;
	int error;

	memset(e, 0, sizeof(*e));
	cw_reader_init(&rd, body, len);
	if ((error = cw_reader_u8(&rd, &e->kind, "entry kind")) < 0 ||
	    (error = cw_reader_u64(&rd, &e->size, "entry size")) < 0 ||
	    (error = get_text(e->name, sizeof(e->name), &rd, "entry name", 1)) < 0 ||
	    (error = get_text(e->title, sizeof(e->title), &rd, "entry title", 1)) < 0 ||
	    (error = get_text(e->doc_kind, sizeof(e->doc_kind), &rd, "entry kind", 1)) < 0 ||
	    (error = cw_reader_end(&rd, "entry")) < 0)
		return error;
	if (e->kind < CW_HANDOFF_IPS || e->kind > CW_HANDOFF_NOTE || e->size > MAX_ENTRY_SIZE)
		return cw_error(CW_EINVALID, "unknown kind of entry or too large");
	return CW_OK;
}

/* One decrypted record. */
static int reader_record(reader *r, const uint8_t *plain, size_t len, int last)
{
	uint8_t type;
	int error;

	if (len < 1)
		return cw_error(CW_EINVALID, "empty record");
	type = plain[0];
	if (r->done)
		return damaged("records after the signature");
	if (!r->have_head && type != REC_HEAD)
		return damaged("no head first");
	if ((type == REC_SIGN) != (last != 0))
		return damaged("the signature is not last");
	switch (type) {
	case REC_HEAD:
		if (r->have_head)
			return damaged("two heads");
		r->have_head = 1;
		if ((error = r->on_head(r, plain + 1, len - 1)) < 0)
			return error;
		break;
	case REC_ENTRY: {
		entry e;

		if (r->left)
			return damaged("an entry ends early");
		if ((error = parse_entry(&e, plain + 1, len - 1)) < 0)
			return error;
		if (++r->nentries > CW_HANDOFF_MAX_ENTRIES)
			return cw_error(CW_EINVALID, "too many entries");
		/* the order: a handoff is ips.json, summary.html, then documents; a reply notes and files */
		if (!r->reply &&
		    ((r->nentries == 1) != (e.kind == CW_HANDOFF_IPS) ||
		     (r->nentries == 2) != (e.kind == CW_HANDOFF_HTML) || e.kind == CW_HANDOFF_NOTE))
			return cw_error(CW_EINVALID, "the handoff's entries are not in order");
		if (r->reply && e.kind != CW_HANDOFF_NOTE && e.kind != CW_HANDOFF_DOCUMENT)
			return cw_error(CW_EINVALID, "a reply holds notes and files only");
		/* what the entries claim, checked before anything is written:
		 * the signature comes last, so a forger could otherwise fill the
		 * disk first */
		if (e.size > CW_HANDOFF_MAX_TOTAL - r->bytes)
			return cw_error(CW_EINVALID, "the package claims more than %llu GiB of files",
			                (unsigned long long)(CW_HANDOFF_MAX_TOTAL >> 30));
		r->left = e.size;
		r->bytes += e.size;
		if (r->on_entry && (error = r->on_entry(r, &e)) < 0)
			return error;
		break;
	}
	case REC_DATA:
		if (len - 1 == 0 || len - 1 != (r->left < CW_HANDOFF_CHUNK ? r->left : CW_HANDOFF_CHUNK))
			return damaged("a piece of a file has the wrong size");
		r->left -= len - 1;
		if (r->on_data && (error = r->on_data(r, plain + 1, len - 1)) < 0)
			return error;
		break;
	case REC_SIGN: {
		uint8_t msg[64];
		size_t mlen;

		if (r->left)
			return damaged("the last file ends early");
		if (len - 1 != CW_SIG_BYTES)
			return cw_error(CW_EINVALID, "a signature of the wrong size");
		if (r->nentries < (r->reply ? 1u : 2u))
			return damaged("files are missing");
		if (!r->have_signer)
			return damaged("no signer");
		sign_message(msg, &mlen, r->reply, r->t);
		if (cw_keys_verify(plain + 1, r->signer_pk, msg, mlen) != CW_OK)
			return cw_error(CW_EVERIFY, "the signature does not verify: the file was altered or "
			                            "was not made by the key it names");
		r->done = 1;
		return CW_OK; /* the transcript stops here */
	}
	default:
		return cw_error(CW_EINVALID, "unknown record type %u", type);
	}
	return transcript_add(r->t, plain, len, &r->scratch);
}

/* Read the records after the header (already hashed into r->t) under key. */
static int reader_run(reader *r, src *s, const cw_secret *key)
{
	cw_buf box = CW_BUF_INIT, plain = CW_BUF_INIT;
	uint8_t hdr[5], ctx[32], extra;
	size_t ctxlen;
	int error;

	box.cap = plain.cap = MAX_BOX + 64;
	r->scratch.cap = MAX_BOX + 64;
	for (;;) {
		uint32_t len;

		if ((error = src_read(s, hdr, sizeof(hdr))) != 0) {
			if (error == 1)
				error = damaged("it ends before its signature");
			goto done;
		}
		len = cw_load32(hdr + 1);
		if (hdr[0] > 1 || len < CW_SEAL_BOX_OVERHEAD + 1 || len > MAX_BOX) {
			error = damaged("a record's length");
			goto done;
		}
		box.len = 0;
		plain.len = 0;
		if ((error = cw_buf_grow(&box, len)) < 0)
			goto done;
		if ((error = src_read(s, box.data, len)) != 0) {
			if (error == 1)
				error = damaged("cut short");
			goto done;
		}
		box.len = len;
		record_ctx(ctx, &ctxlen, r->reply, r->index, hdr[0]);
		if (cw_seal_open(&plain, key, ctx, ctxlen, box.data, box.len) != CW_OK) {
			error = cw_error(CW_EVERIFY,
			                 "the file is damaged or was altered (record %" PRIu64 ")", r->index);
			goto done;
		}
		if ((error = reader_record(r, plain.data, plain.len, hdr[0])) < 0)
			goto done;
		r->index++;
		if (r->done)
			break;
	}
	if ((error = src_read(s, &extra, 1)) != 1) {
		if (error == CW_OK)
			error = damaged("bytes after the signature");
		goto done;
	}
	error = CW_OK;
done:
	cw_buf_dispose(&box);
	cw_buf_dispose(&plain);
	cw_buf_dispose(&r->scratch);
	return error;
}

/* ---- the handoff's head and who signed it ------------------------------------------- */

typedef struct {
	cw_handoff_info *info;
	const cw_keys *doctor; /* NULL: structure only (fuzzing) */
	const char *pin;
	const cw_roster *newer; /* a later roster from the agency, or NULL */
	/* writing */
	const char *dir; /* the temporary folder, or NULL */
	int fd;
	char (*names)[CW_HANDOFF_SAFE_NAME_MAX + 1];
	size_t nnames;
	cw_buf *names_out;
	char **made; /* paths created, to remove on failure */
	size_t nmade;
} open_ctx;

/* The start both heads share (a handoff's and a reply's): version, case,
 * handoff id, time, the doctor's two keys. what names the head in errors. */
static int read_head_start(cw_reader *rd, uint8_t case_id[CW_ID_BYTES], uint8_t handoff_id[CW_ID_BYTES],
                           uint64_t *created, uint8_t sign_pk[CW_PK_BYTES], uint8_t box_pk[CW_PK_BYTES],
                           const char *what)
{
	uint8_t version;
	int error;

	if ((error = cw_reader_u8(rd, &version, "head")) < 0)
		return error;
	if (version != VERSION)
		return cw_error(CW_EINVALID, "unsupported %s head version %u", what, version);
	if ((error = cw_reader_copy(rd, case_id, CW_ID_BYTES, "head")) < 0 ||
	    (error = cw_reader_copy(rd, handoff_id, CW_ID_BYTES, "head")) < 0 ||
	    (error = cw_reader_u64(rd, created, "head")) < 0 ||
	    (error = cw_reader_copy(rd, sign_pk, CW_PK_BYTES, "head")) < 0 ||
	    (error = cw_reader_copy(rd, box_pk, CW_PK_BYTES, "head")) < 0)
		return error;
	return CW_OK;
}

static int parse_handoff_head(cw_handoff_info *info, cw_roster **roster_out, const uint8_t *body, size_t len)
{
	cw_reader rd;
	const uint8_t *cert, *roster, *contact;
	uint32_t cert_len, roster_len;
	size_t contact_len;
	uint64_t created;
	cw_roster *ro = NULL;
	int error;

	*roster_out = NULL;
	cw_reader_init(&rd, body, len);
	if ((error = read_head_start(&rd, info->case_id, info->handoff_id, &created, info->doctor_sign_pk,
	                             info->doctor_box_pk, "handoff")) < 0 ||
	    (error = cw_reader_u32(&rd, &cert_len, "head")) < 0 ||
	    (error = cw_reader_get(&rd, &cert, cert_len, "certificate")) < 0 ||
	    (error = cw_reader_u32(&rd, &roster_len, "head")) < 0 ||
	    (error = cw_reader_get(&rd, &roster, roster_len, "roster")) < 0 ||
	    (error = cw_reader_str16(&rd, &contact, &contact_len, "contact")) < 0 ||
	    (error = cw_reader_end(&rd, "head")) < 0)
		return error;
	info->created_at = (int64_t)created;
	if (contact_len >= sizeof(info->contact) || !cw_utf8_valid(contact, contact_len, 0))
		return cw_error(CW_EINVALID, "the coordinator's contact is not valid text");
	memcpy(info->contact, contact, contact_len);
	info->contact[contact_len] = '\0';
	if ((error = cw_cert_parse(&info->signer, cert, cert_len)) < 0 ||
	    (error = cw_roster_parse(&ro, roster, roster_len)) < 0) {
		if (error == CW_EVERIFY)
			cw_error_set(
			    "the signer's certificate or the agency roster in the handoff does not verify");
		return error;
	}
	memcpy(info->org_pk, cw_roster_org_pk(ro), CW_PK_BYTES);
	snprintf(info->agency, sizeof(info->agency), "%s", cw_roster_org_name(ro));
	cw_keys_fingerprint(info->org_fingerprint, info->org_pk);
	*roster_out = ro;
	return CW_OK;
}

/* Fingerprints compare without dashes, spaces or case. */
static int same_fpr(const char *a, const char *b)
{
	for (;;) {
		while (*a == '-' || *a == ' ' || *a == ':')
			a++;
		while (*b == '-' || *b == ' ' || *b == ':')
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if ((*a | 0x20) != (*b | 0x20))
			return 0;
		a++;
		b++;
	}
}

/* The trust checks: the signer is on the roster the package carries, under
 * the same org key, not revoked, of a role that hands off, within its
 * validity; the package is for these keys; the org is the pinned one. */
static int check_handoff_head(cw_handoff_info *info, const cw_roster *ro, const cw_keys *doctor,
                              const char *pin, const cw_roster *newer)
{
	const cw_cert *listed;
	long idx;
	size_t i;

	if (memcmp(info->signer.org_pk, info->org_pk, CW_PK_BYTES) != 0)
		return cw_error(CW_EVERIFY, "the signing device's certificate is not from the agency whose "
		                            "roster the handoff carries (unknown signer)");
	idx = cw_roster_find(ro, info->signer.sign_pk);
	if (idx < 0 || (listed = cw_roster_cert(ro, (size_t)idx)) == NULL ||
	    memcmp(listed->hash, info->signer.hash, CW_HASH_BYTES) != 0)
		return cw_error(CW_EVERIFY,
		                "the signing device %s is not on the agency's roster (unknown signer)",
		                info->signer.device_id);
	if (cw_roster_revoked(ro, info->signer.sign_pk))
		return cw_error(CW_EVERIFY,
		                "the signing device %s (%s) was revoked by %s: do not trust this handoff",
		                info->signer.device_id, info->signer.name, info->agency);
	if (newer) { /* the agency's roster as the doctor got it later: revocations since */
		if (memcmp(cw_roster_org_pk(newer), info->org_pk, CW_PK_BYTES) != 0)
			return cw_error(CW_EVERIFY,
			                "the roster given with --roster is from another agency than the "
			                "handoff's (unknown signer)");
		if (cw_roster_revoked(newer, info->signer.sign_pk))
			return cw_error(
			    CW_EVERIFY,
			    "the signing device %s (%s) was revoked by %s (roster version %llu): do not "
			    "trust this handoff",
			    info->signer.device_id, info->signer.name, info->agency,
			    (unsigned long long)cw_roster_seq(newer));
		if (cw_roster_seq(newer) >= cw_roster_seq(ro) &&
		    cw_roster_find(newer, info->signer.sign_pk) < 0)
			return cw_error(CW_EVERIFY,
			                "the signing device %s is not on the agency's current roster",
			                info->signer.device_id);
	}
	if (info->signer.role != CW_ROLE_COORDINATOR && info->signer.role != CW_ROLE_HUB)
		return cw_error(CW_EVERIFY, "the signing device %s is a %s, which does not hand cases off",
		                info->signer.device_id, cw_role_name(info->signer.role));
	if (info->signer.not_after != 0 && info->created_at > info->signer.not_after)
		return cw_error(CW_EVERIFY,
		                "the signing device's certificate had expired when the handoff was made");
	if (doctor && (!cw_secret_equal(info->doctor_sign_pk, cw_keys_sign_pk(doctor), CW_PK_BYTES) ||
	               !cw_secret_equal(info->doctor_box_pk, cw_keys_box_pk(doctor), CW_PK_BYTES)))
		return cw_error(CW_EVERIFY, "this handoff was made for another doctor's key");
	if (pin && !same_fpr(pin, info->org_fingerprint))
		return cw_error(CW_EVERIFY, "the agency key of this handoff is %s, not the %s you expected",
		                info->org_fingerprint, pin);
	/* where a reply goes: the signing device, then the agency's hubs */
	info->nreply_to = 0;
	cw_author_from_hex(info->reply_to[0].device, info->signer.device_id);
	memcpy(info->reply_to[0].box_pk, info->signer.box_pk, CW_PK_BYTES);
	info->nreply_to = 1;
	for (i = 0; i < cw_roster_count(ro) && info->nreply_to < CW_HANDOFF_MAX_RECIPIENTS; i++) {
		const cw_cert *c = cw_roster_cert(ro, i);

		if (c == NULL || c->role != CW_ROLE_HUB || cw_roster_revoked(ro, c->sign_pk) ||
		    memcmp(c->sign_pk, info->signer.sign_pk, CW_PK_BYTES) == 0)
			continue;
		if (cw_author_from_hex(info->reply_to[info->nreply_to].device, c->device_id) < 0)
			continue;
		memcpy(info->reply_to[info->nreply_to].box_pk, c->box_pk, CW_PK_BYTES);
		info->nreply_to++;
	}
	return CW_OK;
}

static int open_on_head(reader *r, const uint8_t *body, size_t len)
{
	open_ctx *o = r->ctx;
	cw_roster *ro = NULL;
	int error;

	if ((error = parse_handoff_head(o->info, &ro, body, len)) < 0)
		goto done;
	memcpy(r->signer_pk, o->info->signer.sign_pk, CW_PK_BYTES);
	r->have_signer = 1;
	if (o->doctor && (error = check_handoff_head(o->info, ro, o->doctor, o->pin, o->newer)) < 0)
		goto done;
done:
	cw_roster_free(ro);
	return error;
}

static int remember_made(open_ctx *o, const char *path)
{
	char **p = realloc(o->made, (o->nmade + 1) * sizeof(*o->made));

	if (p == NULL)
		return cw_error_nomem();
	o->made = p;
	if ((o->made[o->nmade] = strdup(path)) == NULL)
		return cw_error_nomem();
	o->nmade++;
	return CW_OK;
}

static int close_out(open_ctx *o)
{
	int error = CW_OK;

	if (o->fd >= 0) {
		if (fsync(o->fd) != 0)
			error = cw_error_os("writing the handoff's files");
		if (close(o->fd) != 0 && error == CW_OK)
			error = cw_error_os("writing the handoff's files");
		o->fd = -1;
	}
	return error;
}

static int open_on_entry(reader *r, const entry *e)
{
	open_ctx *o = r->ctx;
	char rel[CW_HANDOFF_SAFE_NAME_MAX + 32], *path = NULL;
	int error;

	if (e->kind == CW_HANDOFF_DOCUMENT) {
		char(*names)[CW_HANDOFF_SAFE_NAME_MAX + 1];

		o->info->ndocs++;
		if ((names = realloc(o->names, (o->nnames + 1) * sizeof(*o->names))) == NULL)
			return cw_error_nomem();
		o->names = names;
		cw_handoff_safe_name(o->names[o->nnames], e->name, o->nnames);
		unique_name(o->names[o->nnames], o->names, o->nnames);
		if (o->names_out && ((error = cw_buf_put(o->names_out, o->names[o->nnames],
		                                         strlen(o->names[o->nnames]))) < 0 ||
		                     (error = cw_buf_put_u8(o->names_out, '\n')) < 0))
			return error;
		snprintf(rel, sizeof(rel), "documents/%s", o->names[o->nnames]);
		o->nnames++;
	} else {
		snprintf(rel, sizeof(rel), "%s", e->kind == CW_HANDOFF_IPS ? "ips.json" : "summary.html");
	}
	if (o->dir == NULL)
		return CW_OK;
	if ((error = close_out(o)) < 0)
		return error;
	if ((path = cw_path_join(o->dir, rel)) == NULL)
		return cw_error_nomem();
	o->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (o->fd < 0)
		error = cw_error_os(path);
	else
		error = remember_made(o, path);
	free(path);
	return error;
}

static int open_on_data(reader *r, const uint8_t *d, size_t len)
{
	open_ctx *o = r->ctx;

	if (o->fd < 0)
		return CW_OK;
	return write_all(o->fd, d, len, "writing the handoff's files");
}

/* Read a handoff from s: the header, the doctor's file key, the records. */
static int open_stream(cw_handoff_info *out, src *s, const cw_keys *doctor, open_ctx *o)
{
	reader r;
	uint8_t hdr[7];
	cw_buf sealed = CW_BUF_INIT, hb = CW_BUF_INIT;
	cw_secret *key = NULL;
	uint16_t n;
	int error;

	memset(&r, 0, sizeof(r));
	memset(out, 0, sizeof(*out));
	if ((error = src_read(s, hdr, sizeof(hdr))) != 0 || memcmp(hdr, MAGIC_HANDOFF, 4) != 0) {
		error = error < 0 && error != CW_EVERIFY
		            ? error
		            : cw_error(CW_EINVALID, "not a caseway handoff package");
		goto done;
	}
	if (hdr[4] != VERSION) {
		error = cw_error(CW_EINVALID, "unsupported handoff package version %u", hdr[4]);
		goto done;
	}
	n = cw_load16(hdr + 5);
	if (n > 256 || (error = cw_buf_grow(&sealed, n)) < 0 || (error = src_read(s, sealed.data, n)) != 0) {
		error = error < 0 ? error : damaged("its header");
		goto done;
	}
	sealed.len = n;
	if ((error = cw_buf_put(&hb, hdr, sizeof(hdr))) < 0 || (error = cw_buf_put(&hb, sealed.data, n)) < 0)
		goto done;
	if (cw_seal_unseal(&key, doctor, sealed.data, sealed.len) != CW_OK ||
	    cw_secret_len(key) != CW_KEY_BYTES) {
		error = cw_error(CW_EVERIFY,
		                 "this handoff is not for this key (it was sealed to someone else) "
		                 "or it is damaged");
		goto done;
	}
	cw_keys_hash(r.t, hb.data, hb.len);
	r.reply = 0;
	r.on_head = open_on_head;
	r.on_entry = open_on_entry;
	r.on_data = open_on_data;
	r.ctx = o;
	o->info = out;
	if ((error = reader_run(&r, s, key)) < 0) {
		/* past the file key, malformed means altered or forged: exit 4 */
		if (error == CW_EINVALID)
			error = cw_error(CW_EVERIFY, "%s", cw_error_last());
		goto done;
	}
	memcpy(out->package, r.t, CW_HASH_BYTES);
	out->bytes = r.bytes;
done:
	cw_secret_free(key);
	cw_buf_dispose(&sealed);
	cw_buf_dispose(&hb);
	return error;
}

static void open_ctx_dispose(open_ctx *o, int failed)
{
	size_t i;

	close_out(o);
	for (i = o->nmade; i-- > 0;) {
		if (failed)
			unlink(o->made[i]);
		free(o->made[i]);
	}
	free(o->made);
	free(o->names);
	o->made = NULL;
	o->names = NULL;
}

/* Remove the temporary folder (its files are already gone). */
static void remove_tmp_dir(const char *tmp)
{
	char *docs = cw_path_join(tmp, "documents");

	if (docs)
		rmdir(docs);
	free(docs);
	rmdir(tmp);
}

static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (d == NULL)
		return 0;
	while (empty && (e = readdir(d)) != NULL)
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

int cw_handoff_open(cw_handoff_info *out, cw_buf *names_out, const char *path, const cw_keys *doctor,
                    const char *out_dir, const char *pin_fpr, const cw_roster *newer)
{
	open_ctx o;
	src s = { -1, NULL, 0, 0 };
	char *tmp = NULL, *parent = NULL, *slash;
	int error, out_exists = 0;

	memset(&o, 0, sizeof(o));
	o.fd = -1;
	o.doctor = doctor;
	o.pin = pin_fpr;
	o.newer = newer;
	o.names_out = names_out;
	if ((error = cw_file_open_in(&s.fd, path)) < 0)
		goto done;
	if (out_dir) {
		struct stat st;
		size_t n = strlen(out_dir);

		while (n > 1 && out_dir[n - 1] == '/')
			n--;
		if (lstat(out_dir, &st) == 0) {
			if (!S_ISDIR(st.st_mode) || !dir_is_empty(out_dir)) {
				error = cw_error(CW_EEXISTS, "%s already exists and is not an empty folder",
				                 out_dir);
				goto done;
			}
			out_exists = 1;
		}
		if ((parent = malloc(n + 1)) == NULL || (tmp = malloc(n + 32)) == NULL) {
			error = cw_error_nomem();
			goto done;
		}
		memcpy(parent, out_dir, n);
		parent[n] = '\0';
		slash = strrchr(parent, '/');
		if (slash == NULL)
			snprintf(tmp, n + 32, ".cw-handoff-XXXXXX");
		else
			snprintf(tmp, n + 32, "%.*s/.cw-handoff-XXXXXX", (int)(slash - parent), parent);
		if (mkdtemp(tmp) == NULL) {
			error = cw_error_os(out_dir);
			free(tmp);
			tmp = NULL;
			goto done;
		}
		{
			char *docs = cw_path_join(tmp, "documents");

			error = docs == NULL             ? cw_error_nomem()
			        : mkdir(docs, 0700) != 0 ? cw_error_os(docs)
			                                 : CW_OK;
			free(docs);
			if (error < 0)
				goto done;
		}
		o.dir = tmp;
	}
	if ((error = open_stream(out, &s, doctor, &o)) < 0 || (error = close_out(&o)) < 0)
		goto done;
	if (tmp) {
		if (out_exists && rmdir(parent) != 0) {
			error = cw_error_os(parent);
			goto done;
		}
		if (rename(tmp, parent) != 0) {
			error = cw_error_os(parent);
			goto done;
		}
		free(tmp);
		tmp = NULL;
		if ((slash = strrchr(parent, '/')) != NULL) {
			*slash = '\0';
			cw_file_sync_dir(slash == parent ? "/" : parent);
		} else {
			cw_file_sync_dir(".");
		}
	}
done:
	open_ctx_dispose(&o, error < 0);
	if (tmp)
		remove_tmp_dir(tmp);
	if (s.fd >= 0)
		close(s.fd);
	free(tmp);
	free(parent);
	return error;
}

int cw_handoff_open_mem(cw_handoff_info *out, const uint8_t *data, size_t len, const cw_keys *doctor)
{
	open_ctx o;
	src s = { -1, data, len, 0 };
	int error;

	memset(&o, 0, sizeof(o));
	o.fd = -1;
	o.doctor = doctor;
	error = open_stream(out, &s, doctor, &o);
	open_ctx_dispose(&o, error < 0);
	return error;
}

static int plain_on_head(reader *r, const uint8_t *body, size_t len)
{
	cw_handoff_info info;
	cw_roster *ro = NULL;
	int error;

	if (r->reply) {
		if (len != 1 + 2 * CW_ID_BYTES + 8 + 2 * CW_PK_BYTES + CW_HASH_BYTES)
			return cw_error(CW_EINVALID, "a reply's head has the wrong size");
		memcpy(r->signer_pk, body + 1 + 2 * CW_ID_BYTES + 8, CW_PK_BYTES);
		r->have_signer = 1;
		return CW_OK;
	}
	memset(&info, 0, sizeof(info));
	error = parse_handoff_head(&info, &ro, body, len);
	if (error == CW_OK) {
		memcpy(r->signer_pk, info.signer.sign_pk, CW_PK_BYTES);
		r->have_signer = 1;
		error = check_handoff_head(&info, ro, NULL, NULL, NULL);
	}
	cw_roster_free(ro);
	return error;
}

static int plain_on_entry(reader *r, const entry *e)
{
	char safe[CW_HANDOFF_SAFE_NAME_MAX + 1];

	cw_handoff_safe_name(safe, e->name, r->nentries);
	if (strchr(safe, '/') || strcmp(safe, "..") == 0 || safe[0] == '.' || safe[0] == '\0')
		abort(); /* a safe name never leaves its folder */
	return CW_OK;
}

int cw_handoff__parse_plain(const uint8_t *data, size_t len, int reply)
{
	reader r;
	cw_reader rd;
	int error = CW_OK;

	memset(&r, 0, sizeof(r));
	r.reply = reply;
	r.on_head = plain_on_head;
	r.on_entry = plain_on_entry;
	r.scratch.cap = MAX_BOX + 64;
	cw_reader_init(&rd, data, len);
	while (rd.left > 0 && error == CW_OK) {
		const uint8_t *rec;
		uint32_t n;

		if ((error = cw_reader_u32(&rd, &n, "record")) < 0 ||
		    (error = cw_reader_get(&rd, &rec, n, "record")) < 0)
			break;
		error = reader_record(&r, rec, n, rd.left == 0);
	}
	cw_buf_dispose(&r.scratch);
	return error;
}

/* ---- writing a case's items --------------------------------------------------------- */

#define VALUE_CAP 16384

/* Write one put of item entity (kind) with the fields kv, checked by the model. */
static int put_item(cw_store *st, const cw_keys *me, const uint8_t case_id[CW_ID_BYTES],
                    const uint8_t entity[CW_ID_BYTES], cw_kind kind, const cw_kv *kv, size_t n)
{
	const cw_kind_def *k = cw_model_kind(kind);
	cw_op_field f[16];
	const char *names[16];
	char *vals[16];
	size_t i, made = 0;
	int error = CW_OK;

	if (k == NULL || n > 16)
		return cw_error(CW_ERROR, "internal: this build does not know the kind of item");
	for (i = 0; i < n; i++) {
		if ((vals[i] = malloc(VALUE_CAP + 1)) == NULL) {
			error = cw_error_nomem();
			goto done;
		}
		made++;
		if ((error = cw_model_normalise(vals[i], VALUE_CAP + 1, k, kv[i].name, kv[i].value)) < 0)
			goto done;
		snprintf(f[i].name, sizeof(f[i].name), "%s", kv[i].name);
		f[i].value = vals[i];
		f[i].len = strlen(vals[i]);
		names[i] = kv[i].name;
	}
	if ((error = cw_model_require(k, names, n)) < 0)
		goto done;
	error = cw_oplog_write(NULL, st, me, case_id, (uint8_t)kind, entity, CW_OP_PUT, f, n);
done:
	for (i = 0; i < made; i++)
		free(vals[i]);
	return error;
}

static const cw_view_entity *view_find(const cw_case_view *v, const uint8_t id[CW_ID_BYTES])
{
	size_t i;

	for (i = 0; i < v->nentities; i++)
		if (memcmp(v->entities[i].id, id, CW_ID_BYTES) == 0)
			return &v->entities[i];
	return NULL;
}

/* ---- the node makes a handoff ------------------------------------------------------- */

typedef struct {
	const cw_view_entity *e;
	char name[CW_HANDOFF_SAFE_NAME_MAX + 1];
	uint64_t size;
} chosen_doc;

typedef struct {
	int in_fd, out_fd;
	const cw_secret *key;
	uint8_t addr[CW_DOCSTREAM_ADDRESS_BYTES];
	uint64_t size;
	int error;
	char msg[300];
} dec_job;

static void *dec_thread(void *p)
{
	dec_job *j = p;

	j->error = cw_docstream_decrypt(j->addr, &j->size, j->in_fd, j->out_fd, j->key, UINT64_MAX);
	if (j->error < 0)
		snprintf(j->msg, sizeof(j->msg), "%s", cw_error_last());
	close(j->out_fd);
	return NULL;
}

/* Stream one stored document (decrypted by a helper thread into a pipe)
 * into the package under key; its address and size are checked at the end.
 * *wrong_key is set when the key does not open it (nothing was packed). */
static int pack_try(int *wrong_key, cw_handoff_writer *w, const char *home_dir, const cw_secret *key,
                    const chosen_doc *d)
{
	const char *addr = cw_view_get(d->e, "address");
	char *path = NULL, hex[2 * CW_DOCSTREAM_ADDRESS_BYTES + 1];
	int pfd[2] = { -1, -1 }, started = 0, error;
	pthread_t th;
	dec_job j;
	uint8_t *buf = NULL;

	*wrong_key = 0;
	memset(&j, 0, sizeof(j));
	j.in_fd = -1;
	if ((error = cw_docs_path(&path, home_dir, addr ? addr : "")) < 0)
		goto done;
	if ((j.in_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		error = errno == ENOENT ? cw_error(CW_ENOTFOUND,
		                                   "document '%s' is not stored on this node: leave it out "
		                                   "(--doc to choose, --no-docs for none)",
		                                   d->name)
		                        : cw_error_os(path);
		goto done;
	}
	if ((buf = malloc(CW_HANDOFF_CHUNK)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	if (pipe(pfd) != 0) {
		error = cw_error_os("pipe");
		goto done;
	}
	j.out_fd = pfd[1];
	j.key = key;
	if (pthread_create(&th, NULL, dec_thread, &j) != 0) {
		error = cw_error(CW_ERROR, "could not start a thread");
		goto done;
	}
	pfd[1] = -1; /* the thread closes it */
	for (;;) {
		ssize_t n = read(pfd[0], buf, CW_HANDOFF_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) { /* a pipe of ours fails only at its end */
			if (n < 0 && error == CW_OK)
				error = cw_error_os("reading a document");
			break;
		}
		/* the entry is written with the first authentic bytes: a key that does not
		 * open the document leaves nothing in the package */
		if (error == CW_OK && !started) {
			error = cw_handoff_writer_entry(w, CW_HANDOFF_DOCUMENT, d->size, d->name,
			                                cw_view_get(d->e, "title"),
			                                cw_view_get(d->e, "kind"));
			started = 1;
		}
		if (error == CW_OK)
			error = cw_handoff_writer_data(w, buf, (size_t)n);
		/* after a failure, keep reading so the thread finishes */
	}
	pthread_join(th, NULL);
	if (error < 0)
		goto done;
	if (j.error < 0) {
		*wrong_key = j.error == CW_EVERIFY && !started;
		error = cw_error(j.error, "document '%s': %s", d->name, j.msg);
		goto done;
	}
	cw_hex_encode(hex, j.addr, sizeof(j.addr));
	if (addr == NULL || strcmp(hex, addr) != 0 || j.size != d->size) {
		error = cw_error(CW_EVERIFY, "document '%s' is not the one the case names", d->name);
		goto done;
	}
	if (!started) /* an empty document */
		error = cw_handoff_writer_entry(w, CW_HANDOFF_DOCUMENT, 0, d->name,
		                                cw_view_get(d->e, "title"), cw_view_get(d->e, "kind"));
done:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	if (j.in_fd >= 0)
		close(j.in_fd);
	free(buf);
	free(path);
	return error;
}

/* A document is sealed under the case key generation of the day it was
 * added: newest first, back to the first. */
static int pack_document(cw_handoff_writer *w, const char *home_dir, cw_store *st,
                         const uint8_t case_id[CW_ID_BYTES], const chosen_doc *d)
{
	cw_secret *key = NULL;
	uint32_t gen = 0;
	int wrong = 0, error;

	if ((error = cw_case_key_at(&key, &gen, st, case_id, 0)) < 0)
		return error;
	for (;;) {
		error = pack_try(&wrong, w, home_dir, key, d);
		if (!wrong || gen <= 1)
			break;
		cw_secret_free(key);
		key = NULL;
		if (cw_case_key_below(&key, &gen, st, case_id, gen) < 0) {
			error = cw_error(CW_EVERIFY, "document '%s' does not open with any key of the case",
			                 d->name);
			break;
		}
	}
	cw_secret_free(key);
	return error;
}

static int choose_docs(chosen_doc **out, size_t *n_out, cw_store *st, const cw_case_view *v,
                       const uint8_t case_id[CW_ID_BYTES], const cw_handoff_options *o)
{
	chosen_doc *d = NULL;
	char(*names)[CW_HANDOFF_SAFE_NAME_MAX + 1] = NULL;
	size_t i, n = 0;
	int error = CW_OK;

	*out = NULL;
	*n_out = 0;
	if (o->no_docs)
		return CW_OK;
	if ((d = calloc(v->nentities + 1, sizeof(*d))) == NULL ||
	    (names = calloc(v->nentities + 1, sizeof(*names))) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	for (i = 0; i < v->nentities; i++) {
		const cw_view_entity *e = &v->entities[i];
		const char *kind = cw_view_get(e, "kind");
		size_t k;
		int want = 0;

		if (e->kind != CW_KIND_DOCUMENT || e->removed)
			continue;
		if (o->ndocs) {
			for (k = 0; k < o->ndocs && !want; k++) {
				uint8_t id[CW_ID_BYTES], kd;

				want = cw_case_find_item(id, &kd, st, case_id, CW_KIND_DOCUMENT,
				                         o->docs[k]) == CW_OK &&
				       memcmp(id, e->id, CW_ID_BYTES) == 0;
			}
		} else {
			want = !(kind && (strcmp(kind, "passport") == 0 || strcmp(kind, "invoice") == 0));
		}
		if (!want)
			continue;
		d[n].e = e;
		d[n].size = strtoull(cw_view_get(e, "size") ? cw_view_get(e, "size") : "0", NULL, 10);
		cw_handoff_safe_name(
		    d[n].name,
		    cw_view_get(e, "filename") ? cw_view_get(e, "filename") : cw_view_get(e, "title"), n);
		unique_name(d[n].name, names, n);
		memcpy(names[n], d[n].name, sizeof(names[n]));
		n++;
	}
	/* every document asked for must be there */
	for (i = 0; i < o->ndocs; i++) {
		uint8_t id[CW_ID_BYTES], kd;

		if ((error = cw_case_find_item(id, &kd, st, case_id, CW_KIND_DOCUMENT, o->docs[i])) < 0)
			goto done;
	}
	*out = d;
	*n_out = n;
	d = NULL;
done:
	free(d);
	free(names);
	return error;
}

int cw_handoff_create(cw_handoff_report *out, cw_home *h, const uint8_t case_id[CW_ID_BYTES],
                      const uint8_t *pub, size_t publen, const char *out_path, const cw_handoff_options *o)
{
	cw_store *st = cw_home_store(h);
	const cw_keys *me = cw_home_keys(h);
	cw_case_view *v = NULL;
	cw_roster *ro = NULL;
	cw_cert cert;
	cw_buf pkg = CW_BUF_INIT, json = CW_BUF_INIT, html = CW_BUF_INIT, docs_field = CW_BUF_INIT;
	const uint8_t *cert_bytes, *roster_bytes;
	size_t cert_len, roster_len, ndocs = 0, i;
	chosen_doc *docs = NULL;
	cw_ips_doc *ips_docs = NULL;
	cw_ips_context ctx;
	cw_handoff_head head;
	cw_handoff_writer *w = NULL;
	char *tmp = NULL, hex_id[2 * CW_ID_BYTES + 1], fpr[40], org_fpr[40], ips_hex[2 * CW_HASH_BYTES + 1];
	char sign_hex[2 * CW_PK_BYTES + 1], box_hex[2 * CW_PK_BYTES + 1], pkg_hex[2 * CW_HASH_BYTES + 1],
	    sent[32];
	uint8_t ips_hash[CW_HASH_BYTES], transcript[CW_HASH_BYTES];
	int fd = -1, error;

	memset(out, 0, sizeof(*out));
	memset(&head, 0, sizeof(head));
	if ((error = cw_handoff_pub_parse(head.doctor_sign_pk, head.doctor_box_pk, pub, publen)) < 0)
		goto done;
	if (cw_file_exists(out_path)) {
		error = cw_error(CW_EEXISTS, "%s already exists", out_path);
		goto done;
	}
	if ((error = cw_org_cert(&cert, h)) < 0 || (error = cw_org_package(&pkg, h)) < 0 ||
	    (error = cw_enrolment_split(&cert_bytes, &cert_len, &roster_bytes, &roster_len, pkg.data,
	                                pkg.len)) < 0 ||
	    (error = cw_roster_parse(&ro, roster_bytes, roster_len)) < 0) {
		if (error == CW_ENOTFOUND)
			cw_error_set(
			    "this device is not enrolled with an agency yet: a doctor could not tell "
			    "the handoff comes from it (run `caseway org join`)");
		goto done;
	}
	if (cw_roster_revoked(ro, cw_keys_sign_pk(me))) {
		error = cw_error(CW_EVERIFY,
		                 "this device was revoked by the agency: it cannot hand cases off");
		goto done;
	}
	if (cert.role != CW_ROLE_COORDINATOR && cert.role != CW_ROLE_HUB) {
		error = cw_error(CW_EINVALID, "a %s device does not hand cases off", cw_role_name(cert.role));
		goto done;
	}
	if ((error = cw_case_load(&v, st, case_id)) < 0 ||
	    (error = choose_docs(&docs, &ndocs, st, v, case_id, o)) < 0)
		goto done;
	if ((ips_docs = calloc(ndocs + 1, sizeof(*ips_docs))) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	for (i = 0; i < ndocs; i++) {
		ips_docs[i].name = docs[i].name;
		ips_docs[i].title = cw_view_get(docs[i].e, "title") ? cw_view_get(docs[i].e, "title")
		                                                    : docs[i].name;
		ips_docs[i].kind = cw_view_get(docs[i].e, "kind");
		ips_docs[i].content_type = cw_ips_content_type(docs[i].name);
		ips_docs[i].size = docs[i].size;
	}
	memcpy(head.case_id, case_id, CW_ID_BYTES);
	cw_secret_random_bytes(head.handoff_id, CW_ID_BYTES);
	cw_id_hex(hex_id, head.handoff_id);
	head.created_at = (int64_t)time(NULL);
	head.cert = cert_bytes;
	head.cert_len = cert_len;
	head.roster = roster_bytes;
	head.roster_len = roster_len;
	head.contact = o->contact;
	if (o->contact && (strlen(o->contact) > 200 ||
	                   !cw_utf8_valid((const uint8_t *)o->contact, strlen(o->contact), 0))) {
		error = cw_error(CW_EINVALID, "--contact: one line of at most 200 bytes");
		goto done;
	}
	cw_keys_fingerprint(org_fpr, cw_roster_org_pk(ro));
	memset(&ctx, 0, sizeof(ctx));
	ctx.handoff_id = hex_id;
	ctx.created_at = head.created_at;
	ctx.agency = cw_roster_org_name(ro);
	ctx.coordinator = cert.name;
	ctx.contact = o->contact;
	ctx.org_fingerprint = org_fpr;
	ctx.docs = ips_docs;
	ctx.ndocs = ndocs;
	ctx.now = head.created_at;
	if ((error = cw_ips_build(&json, &html, v, &ctx)) < 0)
		goto done;
	cw_keys_hash(ips_hash, json.data, json.len);

	/* the package, beside its final name */
	if ((tmp = malloc(strlen(out_path) + 16)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	sprintf(tmp, "%s.tmp-XXXXXX", out_path);
	if ((fd = mkstemp(tmp)) < 0) {
		error = cw_error_os(out_path);
		free(tmp);
		tmp = NULL;
		goto done;
	}
	if ((error = cw_handoff_writer_new(&w, fd, 0, me, &head, NULL, 0)) < 0 ||
	    (error = cw_handoff_writer_entry(w, CW_HANDOFF_IPS, json.len, "ips.json", "", "")) < 0 ||
	    (error = cw_handoff_writer_data(w, json.data, json.len)) < 0 ||
	    (error = cw_handoff_writer_entry(w, CW_HANDOFF_HTML, html.len, "summary.html", "", "")) < 0 ||
	    (error = cw_handoff_writer_data(w, html.data, html.len)) < 0)
		goto done;
	for (i = 0; i < ndocs; i++) {
		if ((error = pack_document(w, cw_home_dir(h), st, case_id, &docs[i])) < 0)
			goto done;
		out->bytes += docs[i].size;
	}
	if ((error = cw_handoff_writer_finish(w, transcript)) < 0)
		goto done;
	if (fsync(fd) != 0) {
		error = cw_error_os(out_path);
		goto done;
	}

	/* the record in the case's log */
	docs_field.len = 0;
	for (i = 0; i < ndocs && error == CW_OK; i++) {
		char line[400];

		snprintf(line, sizeof(line), "%s%s %s", i ? "\n" : "", cw_view_get(docs[i].e, "address"),
		         docs[i].name);
		error = cw_buf_put(&docs_field, line, strlen(line));
	}
	if (error < 0 || (error = cw_buf_put_u8(&docs_field, 0)) < 0)
		goto done;
	cw_handoff_fingerprint(fpr, head.doctor_sign_pk, head.doctor_box_pk);
	cw_hex_encode(sign_hex, head.doctor_sign_pk, CW_PK_BYTES);
	cw_hex_encode(box_hex, head.doctor_box_pk, CW_PK_BYTES);
	cw_hex_encode(ips_hex, ips_hash, CW_HASH_BYTES);
	cw_hex_encode(pkg_hex, transcript, CW_HASH_BYTES);
	cw_when_utc(sent, head.created_at);
	{
		cw_kv kv[9];
		size_t n = 0;
		char count[24];

		snprintf(count, sizeof(count), "%zu", ndocs);
		kv[n++] = (cw_kv){ "doctor", fpr };
		kv[n++] = (cw_kv){ "doctor_key", sign_hex };
		kv[n++] = (cw_kv){ "doctor_box", box_hex };
		kv[n++] = (cw_kv){ "sent", sent };
		kv[n++] = (cw_kv){ "ips", ips_hex };
		kv[n++] = (cw_kv){ "package", pkg_hex };
		kv[n++] = (cw_kv){ "document_count", count };
		if (ndocs)
			kv[n++] = (cw_kv){ "documents", (const char *)docs_field.data };
		if (cw_view_get(v->self, "home_doctor"))
			kv[n++] = (cw_kv){ "doctor_name", cw_view_get(v->self, "home_doctor") };
		if ((error = cw_store_begin(st)) < 0)
			goto done;
		if ((error = put_item(st, me, case_id, head.handoff_id, CW_KIND_HANDOFF, kv, n)) < 0 ||
		    (error = cw_store_commit(st)) < 0) {
			cw_store_rollback(st);
			goto done;
		}
	}
	/* the file takes its name only now, never over another */
	if (link(tmp, out_path) != 0) {
		error = cw_error_os(out_path);
		goto done;
	}
	memcpy(out->handoff_id, hex_id, sizeof(out->handoff_id));
	memcpy(out->entity, hex_id, sizeof(out->entity));
	memcpy(out->doctor_fpr, fpr, sizeof(out->doctor_fpr));
	memcpy(out->ips_hash, ips_hex, sizeof(out->ips_hash));
	out->ndocs = ndocs;
done:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	cw_handoff_writer_free(w);
	cw_case_view_free(v);
	cw_roster_free(ro);
	cw_buf_dispose(&pkg);
	cw_buf_dispose(&json);
	cw_buf_dispose(&html);
	cw_buf_dispose(&docs_field);
	free(docs);
	free(ips_docs);
	return error;
}

/* ---- the doctor's reply -------------------------------------------------------------- */

int cw_handoff_reply(cw_handoff_info *info_out, const char *handoff_path, const cw_keys *doctor,
                     const char *const *notes, size_t nnotes, const char *const *files, size_t nfiles,
                     const char *out_path)
{
	cw_handoff_info info;
	cw_handoff_head head;
	cw_handoff_writer *w = NULL;
	char *tmp = NULL;
	uint8_t *buf = NULL;
	size_t i;
	int fd = -1, in = -1, error;

	if (nnotes + nfiles == 0)
		return cw_error(CW_EINVALID, "nothing to send: give --note TEXT or --file FILE");
	if (nnotes > MAX_REPLY_ITEMS || nfiles > MAX_REPLY_ITEMS)
		return cw_error(CW_EINVALID, "at most %d notes and %d files in one reply", MAX_REPLY_ITEMS,
		                MAX_REPLY_ITEMS);
	for (i = 0; i < nnotes; i++)
		if (strlen(notes[i]) == 0 || strlen(notes[i]) > CW_HANDOFF_NOTE_MAX ||
		    !cw_utf8_valid((const uint8_t *)notes[i], strlen(notes[i]), 1))
			return cw_error(CW_EINVALID, "a note is text of 1 to %d bytes", CW_HANDOFF_NOTE_MAX);
	if (cw_file_exists(out_path))
		return cw_error(CW_EEXISTS, "%s already exists", out_path);
	/* the handoff must verify for this doctor before anything is answered */
	if ((error = cw_handoff_open(&info, NULL, handoff_path, doctor, NULL, NULL, NULL)) < 0)
		return error;
	memset(&head, 0, sizeof(head));
	memcpy(head.case_id, info.case_id, CW_ID_BYTES);
	memcpy(head.handoff_id, info.handoff_id, CW_ID_BYTES);
	head.created_at = (int64_t)time(NULL);
	memcpy(head.doctor_sign_pk, cw_keys_sign_pk(doctor), CW_PK_BYTES);
	memcpy(head.doctor_box_pk, cw_keys_box_pk(doctor), CW_PK_BYTES);
	memcpy(head.package, info.package, CW_HASH_BYTES);
	if ((buf = malloc(CW_HANDOFF_CHUNK)) == NULL || (tmp = malloc(strlen(out_path) + 16)) == NULL) {
		error = cw_error_nomem();
		goto done;
	}
	sprintf(tmp, "%s.tmp-XXXXXX", out_path);
	if ((fd = mkstemp(tmp)) < 0) {
		error = cw_error_os(out_path);
		free(tmp);
		tmp = NULL;
		goto done;
	}
	if ((error = cw_handoff_writer_new(&w, fd, 1, doctor, &head, info.reply_to, info.nreply_to)) < 0)
		goto done;
	for (i = 0; i < nnotes; i++) {
		char name[24];

		snprintf(name, sizeof(name), "note-%zu", i + 1);
		if ((error = cw_handoff_writer_entry(w, CW_HANDOFF_NOTE, strlen(notes[i]), name, "", "")) <
		        0 ||
		    (error = cw_handoff_writer_data(w, notes[i], strlen(notes[i]))) < 0)
			goto done;
	}
	for (i = 0; i < nfiles; i++) {
		struct stat sb;
		const char *base = strrchr(files[i], '/') ? strrchr(files[i], '/') + 1 : files[i];
		char name[CW_HANDOFF_SAFE_NAME_MAX + 1];
		uint64_t left;

		if ((error = cw_file_open_in(&in, files[i])) < 0)
			goto done;
		if (fstat(in, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			error = cw_error(CW_EINVALID, "%s is not a regular file", files[i]);
			goto done;
		}
		cw_handoff_safe_name(name, base, i);
		if ((error = cw_handoff_writer_entry(w, CW_HANDOFF_DOCUMENT, (uint64_t)sb.st_size, name, name,
		                                     "")) < 0)
			goto done;
		for (left = (uint64_t)sb.st_size; left > 0;) {
			ssize_t n = read(in, buf, left < CW_HANDOFF_CHUNK ? (size_t)left : CW_HANDOFF_CHUNK);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				error = n < 0 ? cw_error_os(files[i])
				              : cw_error(CW_ERROR, "%s shrank while it was read", files[i]);
				goto done;
			}
			if ((error = cw_handoff_writer_data(w, buf, (size_t)n)) < 0)
				goto done;
			left -= (uint64_t)n;
		}
		close(in);
		in = -1;
	}
	if ((error = cw_handoff_writer_finish(w, NULL)) < 0)
		goto done;
	if (fsync(fd) != 0) {
		error = cw_error_os(out_path);
		goto done;
	}
	if (link(tmp, out_path) != 0) {
		error = cw_error_os(out_path);
		goto done;
	}
	if (info_out)
		*info_out = info;
done:
	if (in >= 0)
		close(in);
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	cw_handoff_writer_free(w);
	free(buf);
	return error;
}

/* ---- the node takes a reply in ------------------------------------------------------- */

typedef struct {
	cw_home *h;
	cw_reply_report *rep;
	uint8_t case_id[CW_ID_BYTES], handoff_id[CW_ID_BYTES], doctor_sign[CW_PK_BYTES],
	    doctor_box[CW_PK_BYTES];
	int64_t created_at;
	cw_case_view *v;
	/* the items */
	size_t n;
	struct {
		int kind; /* CW_HANDOFF_NOTE or CW_HANDOFF_DOCUMENT */
		cw_buf text;
		char name[CW_HANDOFF_SAFE_NAME_MAX + 1];
		char *tmp; /* a file's plaintext, until it is stored */
		int fd;
		uint64_t size;
	} it[2 * MAX_REPLY_ITEMS]; /* notes and files */
} import_ctx;

static int import_on_head(reader *r, const uint8_t *body, size_t len)
{
	import_ctx *c = r->ctx;
	cw_reader rd;
	uint8_t package[CW_HASH_BYTES];
	uint64_t created;
	char case_hex[2 * CW_ID_BYTES + 1], id_hex[2 * CW_ID_BYTES + 1], key_hex[2 * CW_PK_BYTES + 1];
	char pkg_hex[2 * CW_HASH_BYTES + 1];
	const cw_view_entity *e;
	int error;

	cw_reader_init(&rd, body, len);
	if ((error = read_head_start(&rd, c->case_id, c->handoff_id, &created, c->doctor_sign, c->doctor_box,
	                             "reply")) < 0 ||
	    (error = cw_reader_copy(&rd, package, CW_HASH_BYTES, "head")) < 0 ||
	    (error = cw_reader_end(&rd, "head")) < 0)
		return error;
	c->created_at = (int64_t)created;
	memcpy(r->signer_pk, c->doctor_sign, CW_PK_BYTES);
	r->have_signer = 1;
	cw_id_hex(case_hex, c->case_id);
	memcpy(c->rep->case_hex, case_hex, sizeof(case_hex));
	cw_handoff_fingerprint(c->rep->doctor_fpr, c->doctor_sign, c->doctor_box);
	if ((error = cw_case_load(&c->v, cw_home_store(c->h), c->case_id)) < 0) {
		if (error == CW_ENOTFOUND)
			cw_error_set("the reply is about case %s, which is not on this node", case_hex);
		return error;
	}
	/* accepted only from the key a handoff of this case was made for */
	cw_id_hex(id_hex, c->handoff_id);
	cw_hex_encode(key_hex, c->doctor_sign, CW_PK_BYTES);
	cw_hex_encode(pkg_hex, package, CW_HASH_BYTES);
	e = view_find(c->v, c->handoff_id);
	if (e == NULL || e->kind != CW_KIND_HANDOFF || e->removed || cw_view_get(e, "doctor_key") == NULL ||
	    strcmp(cw_view_get(e, "doctor_key"), key_hex) != 0 || cw_view_get(e, "package") == NULL ||
	    strcmp(cw_view_get(e, "package"), pkg_hex) != 0)
		return cw_error(
		    CW_EVERIFY,
		    "this reply is signed by key %s, which case %.8s was not handed to (no handoff "
		    "%.8s to that doctor is recorded): refused",
		    c->rep->doctor_fpr, case_hex, id_hex);
	return CW_OK;
}

static int import_on_entry(reader *r, const entry *e)
{
	import_ctx *c = r->ctx;
	char *inbox = NULL;
	int error = CW_OK;

	if (c->n >= 2 * MAX_REPLY_ITEMS)
		return cw_error(CW_EINVALID, "too many notes and files in one reply");
	c->it[c->n].kind = e->kind;
	c->it[c->n].fd = -1;
	c->it[c->n].size = e->size;
	c->it[c->n].text.cap = CW_HANDOFF_NOTE_MAX;
	cw_handoff_safe_name(c->it[c->n].name, e->name, c->n);
	if (e->kind == CW_HANDOFF_NOTE) {
		if (e->size == 0 || e->size > CW_HANDOFF_NOTE_MAX)
			return cw_error(CW_EINVALID, "a note of the reply is empty or too long");
	} else {
		if ((inbox = cw_home_file(c->h, "inbox")) == NULL ||
		    (c->it[c->n].tmp = malloc(strlen(inbox) + 32)) == NULL) {
			free(inbox);
			return cw_error_nomem();
		}
		sprintf(c->it[c->n].tmp, "%s/.reply-XXXXXX", inbox);
		free(inbox);
		if ((c->it[c->n].fd = mkstemp(c->it[c->n].tmp)) < 0) {
			error = cw_error_os("inbox");
			free(c->it[c->n].tmp);
			c->it[c->n].tmp = NULL;
		}
	}
	c->n++;
	return error;
}

static int import_on_data(reader *r, const uint8_t *d, size_t len)
{
	import_ctx *c = r->ctx;

	if (c->it[c->n - 1].kind == CW_HANDOFF_NOTE)
		return cw_buf_put(&c->it[c->n - 1].text, d, len);
	return write_all(c->it[c->n - 1].fd, d, len, "keeping a file of the reply");
}

static void note_id(uint8_t out[CW_ID_BYTES], const char *tag, const uint8_t reply[CW_HASH_BYTES], size_t i)
{
	uint8_t in[64], h[CW_HASH_BYTES];
	size_t n = strlen(tag);

	memcpy(in, tag, n);
	memcpy(in + n, reply, CW_HASH_BYTES);
	cw_store32(in + n + CW_HASH_BYTES, (uint32_t)i);
	cw_keys_hash(h, in, n + CW_HASH_BYTES + 4);
	memcpy(out, h, CW_ID_BYTES);
}

int cw_handoff_sniff(const char *path)
{
	char magic[4];
	int fd, kind = 0;

	if (cw_file_open_in(&fd, path) == CW_OK) {
		if (read(fd, magic, 4) == 4)
			kind = memcmp(magic, MAGIC_REPLY, 4) == 0     ? 1
			       : memcmp(magic, MAGIC_HANDOFF, 4) == 0 ? 2
			                                              : 0;
		close(fd);
	}
	return kind;
}

/* Store the verified items: files into the document store, then the ops. */
static int import_apply(import_ctx *c, const uint8_t reply[CW_HASH_BYTES])
{
	cw_store *st = cw_home_store(c->h);
	const cw_keys *me = cw_home_keys(c->h);
	cw_secret *key = NULL;
	cw_buf files = CW_BUF_INIT;
	char reply_hex[2 * CW_HASH_BYTES + 1], key_hex[2 * CW_PK_BYTES + 1], id_hex[2 * CW_ID_BYTES + 1];
	char written[32], addr[2 * MAX_REPLY_ITEMS][CW_DOCS_ADDRESS_LEN + 1];
	uint8_t first[CW_ID_BYTES];
	size_t i, nnotes = 0, nfiles = 0;
	int error = CW_OK, in_txn = 0;

	cw_hex_encode(reply_hex, reply, CW_HASH_BYTES);
	cw_hex_encode(key_hex, c->doctor_sign, CW_PK_BYTES);
	cw_id_hex(id_hex, c->handoff_id);
	cw_when_utc(written, c->created_at);
	for (i = 0; i < c->n; i++) {
		uint64_t size;

		if (c->it[i].kind != CW_HANDOFF_DOCUMENT)
			continue;
		if (key == NULL && (error = cw_case_key(&key, st, c->case_id)) < 0)
			goto done;
		if ((error = cw_docs_add(addr[i], &size, cw_home_dir(c->h), key, c->it[i].tmp, NULL, NULL)) <
		    0)
			goto done;
	}
	/* taken in before (here, or on another node of the agency and synced): the files are
	 * stored now if they were not, the items are there already */
	note_id(first, "cw-doctor-note", reply, 0);
	if (view_find(c->v, first) != NULL) {
		c->rep->again = 1;
		goto done;
	}
	if ((error = cw_store_begin(st)) < 0)
		goto done;
	in_txn = 1;
	for (i = 0; i < c->n; i++) {
		char size_text[24], title[CW_HANDOFF_SAFE_NAME_MAX + 64], line[200];
		uint8_t entity[CW_ID_BYTES];
		cw_kv kv[5];

		if (c->it[i].kind != CW_HANDOFF_DOCUMENT)
			continue;
		note_id(entity, "cw-doctor-file", reply, nfiles);
		snprintf(size_text, sizeof(size_text), "%" PRIu64, c->it[i].size);
		snprintf(title, sizeof(title), "%s (from the follow-up doctor)", c->it[i].name);
		kv[0] = (cw_kv){ "address", addr[i] };
		kv[1] = (cw_kv){ "size", size_text };
		kv[2] = (cw_kv){ "title", title };
		kv[3] = (cw_kv){ "filename", c->it[i].name };
		kv[4] = (cw_kv){ "kind", "medical-record" };
		if ((error = put_item(st, me, c->case_id, entity, CW_KIND_DOCUMENT, kv, 5)) < 0)
			goto done;
		cw_id_hex(line, entity);
		if ((files.len && (error = cw_buf_put_u8(&files, '\n')) < 0) ||
		    (error = cw_buf_put(&files, line, strlen(line))) < 0 ||
		    (error = cw_buf_put_u8(&files, ' ')) < 0 ||
		    (error = cw_buf_put(&files, c->it[i].name, strlen(c->it[i].name))) < 0)
			goto done;
		nfiles++;
	}
	if ((error = cw_buf_put_u8(&files, 0)) < 0)
		goto done;
	for (i = 0; i <= c->n; i++) {
		uint8_t entity[CW_ID_BYTES];
		cw_kv kv[8];
		size_t n = 0;
		char text[160];

		if (i == c->n) { /* files alone still leave a note */
			if (nnotes > 0)
				break;
			snprintf(text, sizeof(text), "The follow-up doctor sent %zu file%s.", nfiles,
			         nfiles == 1 ? "" : "s");
			kv[n++] = (cw_kv){ "text", text };
		} else if (c->it[i].kind == CW_HANDOFF_NOTE) {
			if ((error = cw_buf_put_u8(&c->it[i].text, 0)) < 0)
				goto done;
			kv[n++] = (cw_kv){ "text", (const char *)c->it[i].text.data };
		} else {
			continue;
		}
		note_id(entity, "cw-doctor-note", reply, nnotes);
		kv[n++] = (cw_kv){ "doctor", c->rep->doctor_fpr };
		kv[n++] = (cw_kv){ "doctor_key", key_hex };
		kv[n++] = (cw_kv){ "handoff", id_hex };
		kv[n++] = (cw_kv){ "reply", reply_hex };
		kv[n++] = (cw_kv){ "written", written };
		if (nnotes == 0 && nfiles)
			kv[n++] = (cw_kv){ "files", (const char *)files.data };
		if ((error = put_item(st, me, c->case_id, entity, CW_KIND_DOCTOR_NOTE, kv, n)) < 0)
			goto done;
		nnotes++;
	}
	if ((error = cw_store_commit(st)) < 0)
		goto done;
	in_txn = 0;
	c->rep->notes = nnotes;
	c->rep->files = nfiles;
done:
	if (in_txn)
		cw_store_rollback(st);
	cw_secret_free(key);
	cw_buf_dispose(&files);
	return error;
}

int cw_handoff_import_reply(cw_reply_report *out, cw_home *h, const char *path)
{
	import_ctx *c = NULL;
	reader r;
	src s = { -1, NULL, 0, 0 };
	cw_buf hb = CW_BUF_INIT;
	cw_secret *key = NULL;
	uint8_t hdr[6], me[CW_AUTHOR_BYTES];
	size_t i;
	int error, found = 0;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return cw_error_nomem();
	c->h = h;
	c->rep = out;
	if ((error = cw_file_open_in(&s.fd, path)) < 0)
		goto done;
	if ((error = src_read(&s, hdr, sizeof(hdr))) != 0 || memcmp(hdr, MAGIC_REPLY, 4) != 0) {
		error = error < 0 && error != CW_EVERIFY
		            ? error
		            : cw_error(CW_EINVALID, "%s is not a doctor's reply", path);
		goto done;
	}
	if (hdr[4] != VERSION || hdr[5] < 1 || hdr[5] > CW_HANDOFF_MAX_RECIPIENTS) {
		error = cw_error(CW_EINVALID, "unsupported reply version or recipients");
		goto done;
	}
	if ((error = cw_buf_put(&hb, hdr, sizeof(hdr))) < 0)
		goto done;
	cw_author_from_hex(me, cw_keys_id(cw_home_keys(h)));
	for (i = 0; i < hdr[5]; i++) {
		uint8_t slot[CW_AUTHOR_BYTES + 2], sealed[256];
		uint16_t n;

		if ((error = src_read(&s, slot, sizeof(slot))) != 0 ||
		    (n = cw_load16(slot + CW_AUTHOR_BYTES)) > sizeof(sealed) ||
		    (error = src_read(&s, sealed, n)) != 0) {
			error = error < 0 ? error : damaged("its header");
			goto done;
		}
		if ((error = cw_buf_put(&hb, slot, sizeof(slot))) < 0 ||
		    (error = cw_buf_put(&hb, sealed, n)) < 0)
			goto done;
		if (!found && memcmp(slot, me, CW_AUTHOR_BYTES) == 0) {
			found = 1;
			if (cw_seal_unseal(&key, cw_home_keys(h), sealed, n) != CW_OK ||
			    cw_secret_len(key) != CW_KEY_BYTES) {
				error = cw_error(CW_EVERIFY, "%s: the reply is damaged or was altered", path);
				goto done;
			}
		}
	}
	if (!found) {
		error = cw_error(
		    CW_EVERIFY, "%s is a doctor's reply for other devices of the agency, not this one", path);
		goto done;
	}
	cw_keys_hash(r.t, hb.data, hb.len);
	r.reply = 1;
	r.on_head = import_on_head;
	r.on_entry = import_on_entry;
	r.on_data = import_on_data;
	r.ctx = c;
	if ((error = reader_run(&r, &s, key)) < 0) {
		if (error == CW_EINVALID)
			error = cw_error(CW_EVERIFY, "%s", cw_error_last());
		goto done;
	}
	for (i = 0; i < c->n; i++) {
		if (c->it[i].fd >= 0) {
			if (close(c->it[i].fd) != 0 && error == CW_OK)
				error = cw_error_os("inbox");
			c->it[i].fd = -1;
		}
	}
	if (error == CW_OK)
		error = import_apply(c, r.t);
done:
	for (i = 0; i < c->n; i++) {
		if (c->it[i].fd >= 0)
			close(c->it[i].fd);
		if (c->it[i].tmp) {
			unlink(c->it[i].tmp);
			free(c->it[i].tmp);
		}
		cw_buf_dispose(&c->it[i].text);
	}
	cw_case_view_free(c->v);
	free(c);
	cw_secret_free(key);
	cw_buf_dispose(&hb);
	if (s.fd >= 0)
		close(s.fd);
	return error;
}
