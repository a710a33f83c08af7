/* SPDX-License-Identifier: MIT */
/*
 * The Internet checksum (net/csum.c) against RFC 1071 and RFC 791 vectors
 * and against a plain reference implementation written here: one-shot
 * sums, sums fed in pieces of every odd and even length at odd and even
 * offsets, and the "0 is sent as 0xffff" rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/csum.h"

/* csum_finish() returns the checksum in memory order; as a number in
 * network byte order it is the first byte times 256 plus the second. */
static uint16_t as_value(uint16_t memory_order)
{
	uint8_t b[2];

	memcpy(b, &memory_order, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* One shot through the module under test, as a network-order value. */
static uint16_t csum_of(const uint8_t *p, size_t len)
{
	struct csum_acc acc = { 0 };

	csum_add(&acc, p, len);
	return as_value(csum_finish(&acc));
}

/* Reference: RFC 1071 section 4.1, big-endian 16-bit words, odd byte
 * padded with zero, folded, complemented; 0 is sent as 0xffff. */
static uint16_t ref_csum(const uint8_t *p, size_t len)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | (i + 1 < len ? p[i + 1] : 0));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	return sum ? (uint16_t)sum : 0xffff;
}

static void fill(uint8_t *p, size_t len, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
}

/* RFC 1071 section 3: words 0001 f203 f4f5 f6f7 sum to ddf2, so the
 * checksum is its complement 220d, stored as the bytes 22 0d. */
static void test_rfc1071_example(void **state)
{
	static const uint8_t data[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	struct csum_acc acc = { 0 };
	uint16_t c;
	uint8_t bytes[2];

	(void)state;
	csum_add(&acc, data, sizeof data);
	c = csum_finish(&acc);
	memcpy(bytes, &c, 2);
	assert_int_equal(bytes[0], 0x22);
	assert_int_equal(bytes[1], 0x0d);
}

/* The classic IPv4 header example: with its checksum field zeroed the sum
 * gives b861; summed with the field filled in, the result is 0, which
 * csum_finish reports as 0xffff. */
static void test_ipv4_header_vector(void **state)
{
	uint8_t ip[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			   0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };

	(void)state;
	assert_int_equal(csum_of(ip, sizeof ip), 0xb861);
	ip[10] = 0xb8;
	ip[11] = 0x61;
	assert_int_equal(csum_of(ip, sizeof ip), 0xffff);
}

/* An odd length pads the last byte with zero on the right. */
static void test_odd_length(void **state)
{
	(void)state;
	assert_int_equal(csum_of((const uint8_t[]){ 0x12, 0x34, 0x56 }, 3),
			 (uint16_t)~(0x1234 + 0x5600));
	assert_int_equal(csum_of((const uint8_t[]){ 0xab }, 1), (uint16_t)~0xab00);
}

/* Carries out of the top bit wrap around (end-around carry). */
static void test_end_around_carry(void **state)
{
	static uint8_t ff[65536];

	(void)state;
	/* 8000 + 8000 = 1 0000 -> 0001, checksum fffe. */
	assert_int_equal(csum_of((const uint8_t[]){ 0x80, 0x00, 0x80, 0x00 }, 4), 0xfffe);
	/* 32768 words of ffff sum to ffff: checksum 0, sent as ffff. */
	memset(ff, 0xff, sizeof ff);
	assert_int_equal(csum_of(ff, sizeof ff), 0xffff);
	assert_int_equal(csum_of(ff, sizeof ff - 1), ref_csum(ff, sizeof ff - 1));
}

/* A sum of ffff has the checksum 0, which must go out as ffff (UDP
 * reserves 0 for "no checksum"); so must the empty and all-zero inputs. */
static void test_zero_becomes_ffff(void **state)
{
	struct csum_acc acc = { 0 };
	static const uint8_t zeros[6];

	(void)state;
	/* 1234 + edcb = ffff. */
	assert_int_equal(csum_of((const uint8_t[]){ 0x12, 0x34, 0xed, 0xcb }, 4), 0xffff);
	assert_int_equal(csum_of(zeros, sizeof zeros), 0xffff);
	assert_int_equal(csum_finish(&acc), 0xffff);
	/* Adding nothing changes nothing. */
	csum_add(&acc, zeros, 0);
	assert_int_equal(csum_finish(&acc), 0xffff);
	assert_false(acc.odd);
}

/* The module agrees with the reference on random data of every length
 * from 0 to 300, starting at both even and odd (unaligned) addresses. */
static void test_matches_reference(void **state)
{
	static uint8_t buf[512];

	(void)state;
	for (size_t len = 0; len <= 300; len++) {
		for (size_t at = 0; at < 4; at++) {
			fill(buf, sizeof buf, (unsigned)(len * 7 + at));
			assert_int_equal(csum_of(buf + at, len), ref_csum(buf + at, len));
		}
	}
}

/* Any split into pieces, including pieces of odd length that leave the
 * next one starting at an odd stream offset and empty pieces, gives the
 * one-shot result. */
static void test_pieces_equal_one_shot(void **state)
{
	static uint8_t buf[1001];
	uint16_t whole;

	(void)state;
	fill(buf, sizeof buf, 99);
	whole = ref_csum(buf, sizeof buf);
	assert_int_equal(csum_of(buf, sizeof buf), whole);
	for (size_t cut1 = 0; cut1 < 24; cut1++) {
		for (size_t cut2 = cut1; cut2 < sizeof buf; cut2 += 37) {
			struct csum_acc acc = { 0 };

			csum_add(&acc, buf, cut1);
			csum_add(&acc, buf + cut1, cut2 - cut1);
			csum_add(&acc, buf + cut2, 0);
			csum_add(&acc, buf + cut2, sizeof buf - cut2);
			assert_int_equal(as_value(csum_finish(&acc)), whole);
			/* 1001 bytes in all: odd. */
			assert_true(acc.odd);
		}
	}
}

/* Byte by byte is the extreme case of odd pieces at odd offsets. */
static void test_byte_by_byte(void **state)
{
	static uint8_t buf[777];
	struct csum_acc acc = { 0 };

	(void)state;
	fill(buf, sizeof buf, 5);
	for (size_t i = 0; i < sizeof buf; i++) {
		csum_add(&acc, buf + i, 1);
		assert_int_equal(acc.odd, (i + 1) % 2 == 1);
	}
	assert_int_equal(as_value(csum_finish(&acc)), ref_csum(buf, sizeof buf));
	/* Pieces of 3 bytes: alternately starting at even and odd offsets. */
	memset(&acc, 0, sizeof acc);
	for (size_t i = 0; i < sizeof buf; i += 3)
		csum_add(&acc, buf + i, sizeof buf - i < 3 ? sizeof buf - i : 3);
	assert_int_equal(as_value(csum_finish(&acc)), ref_csum(buf, sizeof buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_ipv4_header_vector),
		cmocka_unit_test(test_odd_length),
		cmocka_unit_test(test_end_around_carry),
		cmocka_unit_test(test_zero_becomes_ffff),
		cmocka_unit_test(test_matches_reference),
		cmocka_unit_test(test_pieces_equal_one_shot),
		cmocka_unit_test(test_byte_by_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
