/* tests/util/test_buf.c - buffers, readers, hex, UTF-8. */
#include "harness.h"
#include "util/buf.h"
#include "util/error.h"

static void test_cap(void)
{
	cw_buf b = CW_BUF_INIT;

	b.cap = 10;
	CHECK_OK(cw_buf_put(&b, "12345", 5));
	CHECK_OK(cw_buf_put(&b, "12345", 5));
	CHECK_CODE(cw_buf_put(&b, "1", 1), CW_EINVALID);
	CHECK(b.len == 10);
	cw_buf_dispose(&b);
	CHECK(b.data == NULL && b.len == 0);
}

static void test_reader(void)
{
	cw_buf b = CW_BUF_INIT;
	cw_reader r;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	const uint8_t *s;
	size_t n;

	CHECK_OK(cw_buf_put_u16(&b, 0x1234));
	CHECK_OK(cw_buf_put_u32(&b, 0xdeadbeef));
	CHECK_OK(cw_buf_put_u64(&b, 0x0102030405060708ull));
	CHECK_OK(cw_buf_put_str16(&b, "abc", 3));
	CHECK(b.data[0] == 0x34 && b.data[1] == 0x12);
	cw_reader_init(&r, b.data, b.len);
	CHECK_OK(cw_reader_u16(&r, &v16, "x"));
	CHECK_OK(cw_reader_u32(&r, &v32, "x"));
	CHECK_OK(cw_reader_u64(&r, &v64, "x"));
	CHECK_OK(cw_reader_str16(&r, &s, &n, "x"));
	CHECK(v16 == 0x1234 && v32 == 0xdeadbeef && v64 == 0x0102030405060708ull);
	CHECK(n == 3 && memcmp(s, "abc", 3) == 0);
	CHECK_OK(cw_reader_end(&r, "x"));
	CHECK_CODE(cw_reader_u8(&r, (uint8_t *)&v16, "the thing"), CW_EINVALID);
	CHECK(strstr(cw_error_last(), "the thing") != NULL);
	/* a length that points past the end */
	cw_reader_init(&r,
	               "\xff\xff"
	               "ab",
	               4);
	CHECK_CODE(cw_reader_str16(&r, &s, &n, "x"), CW_EINVALID);
	cw_buf_dispose(&b);
}

static void test_hex(void)
{
	uint8_t in[3] = { 0x00, 0xab, 0xff }, out[3];
	char hex[7];

	cw_hex_encode(hex, in, 3);
	CHECK(strcmp(hex, "00abff") == 0);
	CHECK_OK(cw_hex_decode(out, 3, "00ABff"));
	CHECK(memcmp(in, out, 3) == 0);
	CHECK_CODE(cw_hex_decode(out, 3, "00abf"), CW_EINVALID);
	CHECK_CODE(cw_hex_decode(out, 3, "00abfg"), CW_EINVALID);
}

static void test_utf8(void)
{
	CHECK(cw_utf8_valid((const uint8_t *)"Zoë Ñandú 日本", strlen("Zoë Ñandú 日本"), 0));
	CHECK(!cw_utf8_valid((const uint8_t *)"a\xff", 2, 0));
	CHECK(!cw_utf8_valid((const uint8_t *)"\xc0\x80", 2, 0));     /* overlong */
	CHECK(!cw_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3, 0)); /* surrogate */
	CHECK(!cw_utf8_valid((const uint8_t *)"a\nb", 3, 0));
	CHECK(cw_utf8_valid((const uint8_t *)"a\nb", 3, 1));
	CHECK(!cw_utf8_valid((const uint8_t *)"a\0b", 3, 1));
	CHECK(!cw_utf8_valid((const uint8_t *)"\xe6\x97", 2, 0)); /* cut short */
}

const cw_test cw_tests[] = { { "buffer cap", test_cap },
	                     { "reader bounds", test_reader },
	                     { "hex", test_hex },
	                     { "utf8", test_utf8 },
	                     CW_TESTS_END };
