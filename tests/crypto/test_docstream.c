/*
 * tests/crypto/test_docstream.c - documents as encrypted streams: round
 * trips at the chunk edges, known addresses, and every way of damaging a
 * stream (bit flips, truncation, reorder, dropped or extra chunks, wrong key,
 * size cap, bad header fields).
 *
 * With CW_WRITE_DOCSTREAM_CORPUS=DIR set, also writes the seed corpus of
 * tests/fuzz/fuzz_docstream.c into DIR (its fixed key is fuzz_key below).
 */
#include "harness.h"
#include "crypto/docstream.h"
#include "crypto/secret.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/file.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK CW_DOCSTREAM_CHUNK
#define OVER CW_DOCSTREAM_CHUNK_OVERHEAD
#define HDR CW_DOCSTREAM_HEADER_BYTES

/* The key 00 01 02 .. 1f: the fuzz target's key, and the golden addresses. */
static cw_secret *fuzz_key(void)
{
	cw_secret *k = NULL;
	int i;

	if (cw_secret_new(&k, 32) == CW_OK)
		for (i = 0; i < 32; i++)
			cw_secret_bytes(k)[i] = (uint8_t)i;
	return k;
}

static cw_secret *key_of(uint8_t fill)
{
	cw_secret *k = NULL;

	if (cw_secret_new(&k, 32) == CW_OK)
		memset(cw_secret_bytes(k), fill, 32);
	return k;
}

/* A new anonymous file (unlinked at once) holding len bytes of data. */
static int temp_fd(const void *data, size_t len)
{
	char *path = cw_path_join(cw_test_tmpdir(), "f");
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	unlink(path);
	free(path);
	if (fd >= 0 && len > 0 && write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	if (fd >= 0)
		lseek(fd, 0, SEEK_SET);
	return fd;
}

/* The whole contents of fd (from its start) into b. */
static int slurp(cw_buf *b, int fd)
{
	uint8_t tmp[65536];
	ssize_t n;

	b->len = 0;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	while ((n = read(fd, tmp, sizeof(tmp))) > 0)
		if (cw_buf_put(b, tmp, (size_t)n) < 0)
			return -1;
	return n < 0 ? -1 : 0;
}

static void random_bytes(cw_buf *b, size_t len)
{
	b->len = 0;
	if (cw_buf_grow(b, len ? len : 1) == CW_OK) {
		cw_secret_random_bytes(b->data, len);
		b->len = len;
	}
}

/* Encrypt plain (len bytes) with chunk size `chunk` into out (the stream). */
static int encrypt_mem(cw_buf *out, uint8_t address[32], const void *plain, size_t len, const cw_secret *key,
                       uint32_t chunk)
{
	int in = temp_fd(plain, len), outfd = temp_fd(NULL, 0), rc;
	uint64_t size = 0;

	rc = cw_docstream_encrypt_chunked(address, &size, in, outfd, key, chunk, NULL, NULL);
	if (rc == CW_OK && (size != len || slurp(out, outfd) < 0))
		rc = CW_ERROR;
	close(in);
	close(outfd);
	return rc;
}

static size_t stream_len(size_t plain, size_t chunk)
{
	return HDR + (plain / chunk + 1) * OVER + plain;
}

static void test_round_trip_sizes(void)
{
	static const size_t sizes[] = { 0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5000000 };
	cw_secret *key = key_of(1);
	cw_buf plain = CW_BUF_INIT, stream = CW_BUF_INIT, back = CW_BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t a1[32], a2[32], a3[32];
		uint64_t size = 0;
		int in, out;

		random_bytes(&plain, sizes[i]);
		CHECK_OK(encrypt_mem(&stream, a1, plain.data, plain.len, key, CHUNK));
		CHECK(stream.len == stream_len(sizes[i], CHUNK));
		CHECK(memcmp(stream.data, "CWDS\x01\x01\x00\x00\x01\x00", 10) == 0);
		in = temp_fd(stream.data, stream.len);
		out = temp_fd(NULL, 0);
		CHECK_OK(cw_docstream_decrypt(a2, &size, in, out, key, UINT64_MAX));
		CHECK(size == sizes[i]);
		CHECK(memcmp(a1, a2, 32) == 0);
		CHECK(slurp(&back, out) == 0);
		CHECK(back.len == plain.len &&
		      (plain.len == 0 || memcmp(back.data, plain.data, plain.len) == 0));
		CHECK_OK(cw_docstream_decrypt_mem(a3, &size, stream.data, stream.len, key, UINT64_MAX));
		CHECK(size == sizes[i] && memcmp(a1, a3, 32) == 0);
		close(in);
		close(out);
	}
	cw_buf_dispose(&plain);
	cw_buf_dispose(&stream);
	cw_buf_dispose(&back);
	cw_secret_free(key);
}

/* The address is keyed BLAKE2b-256 under subkey 2 of the case key (KDF
 * context "cwdocs__"); these were computed independently (Python hashlib). */
static void test_golden_addresses(void)
{
	cw_secret *key = fuzz_key();
	cw_buf stream = CW_BUF_INIT;
	uint8_t a[32];
	char hex[65];

	CHECK_OK(encrypt_mem(&stream, a, "", 0, key, CHUNK));
	cw_hex_encode(hex, a, 32);
	CHECK(strcmp(hex, "c46505c830e226d5a645dd94c617432e05469d7390733856271311f740d045b4") == 0);
	CHECK_OK(encrypt_mem(&stream, a, "hello, caseway", 14, key, 2048));
	cw_hex_encode(hex, a, 32);
	CHECK(strcmp(hex, "088f854ba4ab20b49f6c77c4f58cc4ec11334aaf5ab468afa6d98c18b7678502") == 0);
	cw_buf_dispose(&stream);
	cw_secret_free(key);
}

static void test_addresses(void)
{
	cw_secret *k1 = key_of(1), *k2 = key_of(2);
	cw_buf plain = CW_BUF_INIT, s1 = CW_BUF_INIT, s2 = CW_BUF_INIT;
	uint8_t a1[32], a2[32], a3[32];
	uint64_t size;

	random_bytes(&plain, 3000);
	/* same content, same key: same address, yet different bytes (fresh header) */
	CHECK_OK(encrypt_mem(&s1, a1, plain.data, plain.len, k1, CHUNK));
	CHECK_OK(encrypt_mem(&s2, a2, plain.data, plain.len, k1, 1024));
	CHECK(memcmp(a1, a2, 32) == 0);
	CHECK_OK(encrypt_mem(&s2, a2, plain.data, plain.len, k1, CHUNK));
	CHECK(s1.len == s2.len && memcmp(s1.data, s2.data, s1.len) != 0);
	/* another key: another address, and the stream does not open */
	CHECK_OK(encrypt_mem(&s2, a3, plain.data, plain.len, k2, CHUNK));
	CHECK(memcmp(a1, a3, 32) != 0);
	CHECK_CODE(cw_docstream_decrypt_mem(a3, &size, s1.data, s1.len, k2, UINT64_MAX), CW_EVERIFY);
	/* one byte different: another address */
	plain.data[1500] ^= 1;
	CHECK_OK(encrypt_mem(&s2, a3, plain.data, plain.len, k1, CHUNK));
	CHECK(memcmp(a1, a3, 32) != 0);
	cw_buf_dispose(&plain);
	cw_buf_dispose(&s1);
	cw_buf_dispose(&s2);
	cw_secret_free(k1);
	cw_secret_free(k2);
}

/* Flip every bit of a small 3-chunk stream, one at a time. */
static void test_bit_flips(void)
{
	cw_secret *key = key_of(3);
	cw_buf plain = CW_BUF_INIT, s = CW_BUF_INIT;
	uint8_t a[32];
	uint64_t size;
	size_t pos;
	int bit, bad = 0;

	random_bytes(&plain, 2500);
	CHECK_OK(encrypt_mem(&s, a, plain.data, plain.len, key, 1024));
	CHECK(s.len == stream_len(2500, 1024));
	for (pos = 0; pos < s.len; pos++)
		for (bit = 0; bit < 8; bit++) {
			int rc;

			s.data[pos] ^= (uint8_t)(1u << bit);
			rc = cw_docstream_decrypt_mem(a, &size, s.data, s.len, key, UINT64_MAX);
			s.data[pos] ^= (uint8_t)(1u << bit);
			/* magic, version, algorithm, chunk size: "not a document" is
			 * also right; everything else must be "damaged". */
			if (!(rc == CW_EVERIFY || (pos < 10 && rc == CW_EINVALID))) {
				if (bad++ < 5)
					fprintf(stderr, "  flip at %zu bit %d: %d %s\n", pos, bit, rc,
					        cw_error_last());
			}
		}
	CHECK(bad == 0);
	CHECK_OK(cw_docstream_decrypt_mem(a, &size, s.data, s.len, key, UINT64_MAX));
	cw_buf_dispose(&plain);
	cw_buf_dispose(&s);
	cw_secret_free(key);
}

static void test_truncation(void)
{
	cw_secret *key = key_of(4);
	cw_buf plain = CW_BUF_INIT, s = CW_BUF_INIT;
	uint8_t a[32];
	uint64_t size;
	size_t len;
	int bad = 0;

	random_bytes(&plain, 2048); /* two full chunks and an empty FINAL one */
	CHECK_OK(encrypt_mem(&s, a, plain.data, plain.len, key, 1024));
	for (len = 0; len < s.len; len++)
		if (cw_docstream_decrypt_mem(a, &size, s.data, len, key, UINT64_MAX) != CW_EVERIFY)
			bad++;
	CHECK(bad == 0);
	/* an empty input is damaged too, not "not a document" */
	CHECK_CODE(cw_docstream_decrypt_mem(a, &size, NULL, 0, key, UINT64_MAX), CW_EVERIFY);
	cw_buf_dispose(&plain);
	cw_buf_dispose(&s);
	cw_secret_free(key);
}

/* Chunks swapped, dropped, repeated, and bytes after FINAL. */
static void test_reorder_and_splice(void)
{
	cw_secret *key = key_of(5);
	cw_buf plain = CW_BUF_INIT, s = CW_BUF_INIT, t = CW_BUF_INIT, other = CW_BUF_INIT;
	const size_t C = 1024 + OVER;
	uint8_t a[32];
	uint64_t size;

	random_bytes(&plain, 3000); /* chunks 0, 1 full; chunk 2 short FINAL */
	CHECK_OK(encrypt_mem(&s, a, plain.data, plain.len, key, 1024));
	CHECK(s.len == HDR + 2 * C + 952 + OVER);
	/* swap chunks 0 and 1 */
	t.len = 0;
	CHECK_OK(cw_buf_put(&t, s.data, HDR));
	CHECK_OK(cw_buf_put(&t, s.data + HDR + C, C));
	CHECK_OK(cw_buf_put(&t, s.data + HDR, C));
	CHECK_OK(cw_buf_put(&t, s.data + HDR + 2 * C, s.len - HDR - 2 * C));
	CHECK_CODE(cw_docstream_decrypt_mem(a, &size, t.data, t.len, key, UINT64_MAX), CW_EVERIFY);
	/* drop the FINAL chunk: ends on a chunk boundary */
	CHECK_CODE(cw_docstream_decrypt_mem(a, &size, s.data, HDR + 2 * C, key, UINT64_MAX), CW_EVERIFY);
	/* drop a middle chunk */
	t.len = 0;
	CHECK_OK(cw_buf_put(&t, s.data, HDR + C));
	CHECK_OK(cw_buf_put(&t, s.data + HDR + 2 * C, s.len - HDR - 2 * C));
	CHECK_CODE(cw_docstream_decrypt_mem(a, &size, t.data, t.len, key, UINT64_MAX), CW_EVERIFY);
	/* repeat chunk 0 */
	t.len = 0;
	CHECK_OK(cw_buf_put(&t, s.data, HDR + C));
	CHECK_OK(cw_buf_put(&t, s.data + HDR, s.len - HDR));
	CHECK_CODE(cw_docstream_decrypt_mem(a, &size, t.data, t.len, key, UINT64_MAX), CW_EVERIFY);
	/* bytes after FINAL: one, or a whole second stream */
	t.len = 0;
	CHECK_OK(cw_buf_put(&t, s.data, s.len));
	CHECK_OK(cw_buf_put_u8(&t, 0));
	CHECK_CODE(cw_docstream_decrypt_mem(a, &size, t.data, t.len, key, UINT64_MAX), CW_EVERIFY);
	CHECK(strstr(cw_error_last(), "damaged or was tampered with") != NULL);
	/* chunks of another stream under the same key, behind this header */
	CHECK_OK(encrypt_mem(&other, a, plain.data, plain.len, key, 1024));
	t.len = 0;
	CHECK_OK(cw_buf_put(&t, s.data, HDR));
	CHECK_OK(cw_buf_put(&t, other.data + HDR, other.len - HDR));
	CHECK_CODE(cw_docstream_decrypt_mem(a, &size, t.data, t.len, key, UINT64_MAX), CW_EVERIFY);
	CHECK_OK(cw_docstream_decrypt_mem(a, &size, s.data, s.len, key, UINT64_MAX));
	cw_buf_dispose(&plain);
	cw_buf_dispose(&s);
	cw_buf_dispose(&t);
	cw_buf_dispose(&other);
	cw_secret_free(key);
}

static void test_header_fields(void)
{
	cw_secret *key = key_of(6), *short_key = NULL;
	cw_buf s = CW_BUF_INIT;
	uint8_t a[32];
	uint64_t size = 77;
	int fd;

	CHECK_OK(encrypt_mem(&s, a, "abc", 3, key, 1024));
	s.data[0] = 'X';
	CHECK_CODE(cw_docstream_decrypt_mem(a, &size, s.data, s.len, key, UINT64_MAX), CW_EINVALID);
	s.data[0] = 'C';
	s.data[4] = 2;
	CHECK_CODE(cw_docstream_decrypt_mem(a, &size, s.data, s.len, key, UINT64_MAX), CW_EINVALID);
	s.data[4] = 1;
	s.data[5] = 0;
	CHECK_CODE(cw_docstream_decrypt_mem(a, &size, s.data, s.len, key, UINT64_MAX), CW_EINVALID);
	s.data[5] = 1;
	cw_store32(s.data + 6, 1023);
	CHECK_CODE(cw_docstream_decrypt_mem(a, &size, s.data, s.len, key, UINT64_MAX), CW_EINVALID);
	cw_store32(s.data + 6, CW_DOCSTREAM_CHUNK_MAX + 1);
	CHECK_CODE(cw_docstream_decrypt_mem(a, &size, s.data, s.len, key, UINT64_MAX), CW_EINVALID);
	cw_store32(s.data + 6, 0xffffffffu);
	CHECK_CODE(cw_docstream_decrypt_mem(a, &size, s.data, s.len, key, UINT64_MAX), CW_EINVALID);
	cw_store32(s.data + 6, 2048); /* in range, but not what the chunks were made with */
	CHECK_CODE(cw_docstream_decrypt_mem(a, &size, s.data, s.len, key, UINT64_MAX), CW_EVERIFY);
	cw_store32(s.data + 6, 1024);
	CHECK_OK(cw_docstream_decrypt_mem(a, &size, s.data, s.len, key, UINT64_MAX));
	CHECK(size == 3);
	/* wrong-sized key, bad chunk size for encryption */
	CHECK_OK(cw_secret_new(&short_key, 16));
	CHECK_CODE(cw_docstream_decrypt_mem(a, &size, s.data, s.len, short_key, UINT64_MAX), CW_EINVALID);
	fd = temp_fd(NULL, 0);
	CHECK_CODE(cw_docstream_encrypt(a, &size, fd, fd, short_key, NULL, NULL), CW_EINVALID);
	CHECK_CODE(cw_docstream_encrypt_chunked(a, &size, fd, fd, key, 1023, NULL, NULL), CW_EINVALID);
	CHECK_CODE(
	    cw_docstream_encrypt_chunked(a, &size, fd, fd, key, CW_DOCSTREAM_CHUNK_MAX + 1, NULL, NULL),
	    CW_EINVALID);
	close(fd);
	cw_buf_dispose(&s);
	cw_secret_free(key);
	cw_secret_free(short_key);
}

static void test_max_size(void)
{
	cw_secret *key = key_of(7);
	cw_buf plain = CW_BUF_INIT, s = CW_BUF_INIT;
	uint8_t a[32];
	uint64_t size = 0;

	random_bytes(&plain, 2500);
	CHECK_OK(encrypt_mem(&s, a, plain.data, plain.len, key, 1024));
	CHECK_OK(cw_docstream_decrypt_mem(a, &size, s.data, s.len, key, 2500));
	CHECK_CODE(cw_docstream_decrypt_mem(a, &size, s.data, s.len, key, 2499), CW_EVERIFY);
	CHECK_CODE(cw_docstream_decrypt_mem(a, &size, s.data, s.len, key, 1000), CW_EVERIFY);
	CHECK_CODE(cw_docstream_decrypt_mem(a, &size, s.data, s.len, key, 0), CW_EVERIFY);
	cw_buf_dispose(&plain);
	cw_buf_dispose(&s);
	cw_secret_free(key);
}

static void count_progress(uint64_t done, void *ctx)
{
	uint64_t *seen = ctx;

	if (done < seen[0])
		seen[2] = 1; /* went backwards */
	seen[0] = done;
	seen[1]++;
}

static void test_progress(void)
{
	cw_secret *key = key_of(8);
	cw_buf plain = CW_BUF_INIT;
	uint64_t seen[3] = { 0, 0, 0 }, size = 0;
	uint8_t a[32];
	int in, out;

	random_bytes(&plain, 3 * CHUNK + 10);
	in = temp_fd(plain.data, plain.len);
	out = temp_fd(NULL, 0);
	CHECK_OK(cw_docstream_encrypt(a, &size, in, out, key, count_progress, seen));
	CHECK(seen[0] == plain.len && seen[1] == 4 && seen[2] == 0);
	close(in);
	close(out);
	cw_buf_dispose(&plain);
	cw_secret_free(key);
}

/* A pipe delivers the input in odd pieces; the stream is the same shape. */
static void test_pipe_input(void)
{
	cw_secret *key = key_of(9);
	cw_buf plain = CW_BUF_INIT, s = CW_BUF_INIT;
	uint8_t a1[32], a2[32];
	uint64_t size = 0;
	int p[2], out, status;
	pid_t pid;

	random_bytes(&plain, 2 * CHUNK + 777);
	CHECK(pipe(p) == 0);
	pid = fork();
	if (pid == 0) {
		size_t off = 0, piece = 1;

		close(p[0]);
		while (off < plain.len) {
			size_t n = plain.len - off < piece ? plain.len - off : piece;

			if (write(p[1], plain.data + off, n) != (ssize_t)n)
				_exit(1);
			off += n;
			piece = piece * 3 + 1;
		}
		_exit(0);
	}
	close(p[1]);
	out = temp_fd(NULL, 0);
	CHECK_OK(cw_docstream_encrypt(a1, &size, p[0], out, key, NULL, NULL));
	close(p[0]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(size == plain.len);
	CHECK(slurp(&s, out) == 0 && s.len == stream_len(plain.len, CHUNK));
	CHECK_OK(cw_docstream_decrypt_mem(a2, &size, s.data, s.len, key, UINT64_MAX));
	CHECK(memcmp(a1, a2, 32) == 0);
	close(out);
	cw_buf_dispose(&plain);
	cw_buf_dispose(&s);
	cw_secret_free(key);
}

static int write_seed(const char *dir, const char *name, const void *data, size_t len)
{
	char *path = cw_path_join(dir, name);
	int rc = path ? cw_file_write_atomic(path, data, len, 0644, 0) : CW_ERROR;

	free(path);
	return rc;
}

/* CW_WRITE_DOCSTREAM_CORPUS=DIR: write the fuzz seeds (each < 4 KB). */
static void test_write_corpus(void)
{
	const char *dir = getenv("CW_WRITE_DOCSTREAM_CORPUS");
	cw_secret *key = fuzz_key();
	cw_buf plain = CW_BUF_INIT, s = CW_BUF_INIT;
	uint8_t a[32];

	if (dir == NULL)
		goto done;
	CHECK_OK(encrypt_mem(&s, a, "", 0, key, 1024));
	CHECK_OK(write_seed(dir, "valid-empty", s.data, s.len));
	CHECK_OK(encrypt_mem(&s, a, "hello, caseway", 14, key, 1024));
	CHECK_OK(write_seed(dir, "valid-short", s.data, s.len));
	random_bytes(&plain, 2500);
	CHECK_OK(encrypt_mem(&s, a, plain.data, plain.len, key, 1024));
	CHECK_OK(write_seed(dir, "valid-3-chunks", s.data, s.len));
	CHECK_OK(write_seed(dir, "truncated", s.data, s.len - 100));
	CHECK_OK(write_seed(dir, "no-final", s.data, HDR + 2 * (1024 + OVER)));
	s.data[HDR + 1500] ^= 0x10;
	CHECK_OK(write_seed(dir, "flipped", s.data, s.len));
	random_bytes(&plain, 2048);
	CHECK_OK(encrypt_mem(&s, a, plain.data, plain.len, key, 1024));
	CHECK_OK(write_seed(dir, "valid-empty-final", s.data, s.len));
	CHECK_OK(cw_buf_put(&s, "x", 1));
	CHECK_OK(write_seed(dir, "after-final", s.data, s.len));
	CHECK_OK(encrypt_mem(&s, a, "abc", 3, key, 1024));
	s.data[4] = 9;
	CHECK_OK(write_seed(dir, "bad-version", s.data, s.len));
	s.data[4] = 1;
	cw_store32(s.data + 6, 16);
	CHECK_OK(write_seed(dir, "bad-chunk-size", s.data, s.len));
	cw_store32(s.data + 6, 1024);
	CHECK_OK(write_seed(dir, "header-only", s.data, 20));
	CHECK_OK(write_seed(dir, "not-a-document", "%PDF-1.7\n", 9));
	printf("  wrote the docstream corpus to %s\n", dir);
done:
	cw_buf_dispose(&plain);
	cw_buf_dispose(&s);
	cw_secret_free(key);
}

/* The committed fuzz seeds double as golden streams: made by an earlier
 * build with fuzz_key, they must keep decrypting (or failing) the same way. */
static void test_golden_streams(void)
{
	static const struct {
		const char *name;
		int code;
	} seeds[] = {
		{ "valid-empty", CW_OK },          { "valid-short", CW_OK },
		{ "valid-3-chunks", CW_OK },       { "valid-empty-final", CW_OK },
		{ "truncated", CW_EVERIFY },       { "no-final", CW_EVERIFY },
		{ "flipped", CW_EVERIFY },         { "after-final", CW_EVERIFY },
		{ "header-only", CW_EVERIFY },     { "bad-version", CW_EINVALID },
		{ "bad-chunk-size", CW_EINVALID }, { "not-a-document", CW_EINVALID },
	};
	const char *fixtures = getenv("CW_FIXTURES");
	cw_secret *key = fuzz_key();
	cw_buf b = CW_BUF_INIT;
	char *dir = NULL;
	size_t i;

	if (fixtures == NULL) {
		printf("  CW_FIXTURES not set: golden streams skipped\n");
		goto done;
	}
	dir = cw_path_join(fixtures, "../fuzz/corpus/docstream");
	for (i = 0; dir && i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		char *path = cw_path_join(dir, seeds[i].name), hex[65];
		uint8_t a[32];
		uint64_t size = 0;

		b.len = 0;
		CHECK_OK(cw_file_read(&b, path, 4096));
		CHECK_CODE(cw_docstream_decrypt_mem(a, &size, b.data, b.len, key, UINT64_MAX), seeds[i].code);
		if (strcmp(seeds[i].name, "valid-short") == 0) {
			cw_hex_encode(hex, a, 32);
			CHECK(size == 14);
			CHECK(
			    strcmp(hex, "088f854ba4ab20b49f6c77c4f58cc4ec11334aaf5ab468afa6d98c18b7678502") ==
			    0);
		}
		if (strcmp(seeds[i].name, "valid-3-chunks") == 0)
			CHECK(size == 2500);
		free(path);
	}
done:
	free(dir);
	cw_buf_dispose(&b);
	cw_secret_free(key);
}

const cw_test cw_tests[] = { { "golden_streams", test_golden_streams },
	                     { "round_trip_sizes", test_round_trip_sizes },
	                     { "golden_addresses", test_golden_addresses },
	                     { "addresses", test_addresses },
	                     { "bit_flips", test_bit_flips },
	                     { "truncation", test_truncation },
	                     { "reorder_and_splice", test_reorder_and_splice },
	                     { "header_fields", test_header_fields },
	                     { "max_size", test_max_size },
	                     { "progress", test_progress },
	                     { "pipe_input", test_pipe_input },
	                     { "write_corpus", test_write_corpus },
	                     CW_TESTS_END };
