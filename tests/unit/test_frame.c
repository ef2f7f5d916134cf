/*
 * Framing edge cases: empty and partial input, the limit checked from the
 * header alone, zero-length frames, and several frames in one buffer.
 */
#include <stdint.h>
#include <string.h>

#include "frame.h"
#include "test.h"

/* Header plus payload of n bytes of 'x' into buf (big enough). */
static size_t make_frame(uint8_t *buf, uint32_t n)
{
	frame_put_header(buf, n);
	memset(buf + KAM_FRAME_HEADER_LEN, 'x', n);
	return KAM_FRAME_HEADER_LEN + n;
}

TEST(empty_needs_more)
{
	const uint8_t *p = NULL;
	size_t n = 0;

	ASSERT_EQ(frame_decode((const uint8_t *)"", 0, 100, &p, &n), 0);
}

TEST(partial_header_needs_more)
{
	uint8_t buf[8];
	const uint8_t *p = NULL;
	size_t n = 0;

	make_frame(buf, 2);
	for (size_t len = 1; len < KAM_FRAME_HEADER_LEN; len++)
		ASSERT_EQ(frame_decode(buf, len, 100, &p, &n), 0);
}

TEST(partial_payload_needs_more)
{
	uint8_t buf[16];
	const uint8_t *p = NULL;
	size_t n = 0;
	size_t len = make_frame(buf, 10);

	for (size_t i = KAM_FRAME_HEADER_LEN; i < len; i++)
		ASSERT_EQ(frame_decode(buf, i, 100, &p, &n), 0);
	ASSERT_EQ(frame_decode(buf, len, 100, &p, &n), (long)len);
	ASSERT_EQ(n, 10);
	ASSERT(p == buf + KAM_FRAME_HEADER_LEN);
}

TEST(big_endian_header)
{
	uint8_t hdr[KAM_FRAME_HEADER_LEN];

	frame_put_header(hdr, 0x01020304u);
	ASSERT_EQ(hdr[0], 1);
	ASSERT_EQ(hdr[1], 2);
	ASSERT_EQ(hdr[2], 3);
	ASSERT_EQ(hdr[3], 4);
}

TEST(exact_max_accepted)
{
	static uint8_t buf[KAM_FRAME_HEADER_LEN + KAM_FRAME_MAX_PRELOGIN];
	const uint8_t *p = NULL;
	size_t n = 0;
	size_t len = make_frame(buf, KAM_FRAME_MAX_PRELOGIN);

	ASSERT_EQ(frame_decode(buf, len, KAM_FRAME_MAX_PRELOGIN, &p, &n), (long)len);
	ASSERT_EQ(n, KAM_FRAME_MAX_PRELOGIN);
}

TEST(max_plus_one_rejected_from_header)
{
	uint8_t hdr[KAM_FRAME_HEADER_LEN];
	const uint8_t *p = NULL;
	size_t n = 0;

	/* Only the 4 header bytes are present: the verdict may not wait for the payload. */
	frame_put_header(hdr, KAM_FRAME_MAX_PRELOGIN + 1);
	ASSERT_EQ(frame_decode(hdr, sizeof(hdr), KAM_FRAME_MAX_PRELOGIN, &p, &n), KAM_E2BIG);
	frame_put_header(hdr, KAM_FRAME_MAX_DEFAULT + 1);
	ASSERT_EQ(frame_decode(hdr, sizeof(hdr), KAM_FRAME_MAX_DEFAULT, &p, &n), KAM_E2BIG);
	frame_put_header(hdr, UINT32_MAX);
	ASSERT_EQ(frame_decode(hdr, sizeof(hdr), KAM_FRAME_MAX_DEFAULT, &p, &n), KAM_E2BIG);
}

TEST(zero_length_frame)
{
	uint8_t buf[KAM_FRAME_HEADER_LEN];
	const uint8_t *p = NULL;
	size_t n = 99;

	make_frame(buf, 0);
	ASSERT_EQ(frame_decode(buf, sizeof(buf), 100, &p, &n), KAM_FRAME_HEADER_LEN);
	ASSERT_EQ(n, 0);
	ASSERT(p == buf + KAM_FRAME_HEADER_LEN);
	/* Even with a zero limit. */
	ASSERT_EQ(frame_decode(buf, sizeof(buf), 0, &p, &n), KAM_FRAME_HEADER_LEN);
}

TEST(two_frames_in_one_buffer)
{
	uint8_t buf[64];
	const uint8_t *p = NULL;
	size_t n = 0, len;
	long used;

	len = make_frame(buf, 3);
	len += make_frame(buf + len, 5);
	buf[len++] = 0;   /* and the first byte of a third header */
	used = frame_decode(buf, len, 100, &p, &n);
	ASSERT_EQ(used, KAM_FRAME_HEADER_LEN + 3);
	ASSERT_EQ(n, 3);
	ASSERT(p == buf + KAM_FRAME_HEADER_LEN);
	used += frame_decode(buf + used, len - (size_t)used, 100, &p, &n);
	ASSERT_EQ(used, 2 * KAM_FRAME_HEADER_LEN + 3 + 5);
	ASSERT_EQ(n, 5);
	ASSERT(p == buf + 2 * KAM_FRAME_HEADER_LEN + 3);
	ASSERT_EQ(frame_decode(buf + used, len - (size_t)used, 100, &p, &n), 0);
}

TEST_MAIN(TEST_ENTRY(empty_needs_more), TEST_ENTRY(partial_header_needs_more),
	  TEST_ENTRY(partial_payload_needs_more), TEST_ENTRY(big_endian_header),
	  TEST_ENTRY(exact_max_accepted), TEST_ENTRY(max_plus_one_rejected_from_header),
	  TEST_ENTRY(zero_length_frame), TEST_ENTRY(two_frames_in_one_buffer))
