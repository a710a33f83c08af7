/* SPDX-License-Identifier: MIT */
/*
 * The datapath's frame copy (link/frame_copy.h) against memcpy: every
 * length from 0 to 300 and a few long ones up to the largest frame, from
 * and to addresses of every kind of misalignment, with the bytes around
 * the destination checked untouched, and with the source's first or last
 * byte next to an inaccessible page (a read beyond it faults). Both ways
 * of the long copy: the one the CPU allows and the C library's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "link/frame_copy.h"
#include "net/virtio_net.h"

#define GUARD 96
/* A multiple of the alignment, as aligned_alloc wants. */
#define ROOM ((VNET_FRAME_MAX + 2 * GUARD + 64 + 63) / 64 * 64)

static const unsigned offsets[] = { 0, 1, 2, 7, 12, 31, 32, 33, 63 };

/* Compiled once, as the datapath inlines it. */
static __attribute__((noinline)) void copy(uint8_t *dst, const uint8_t *src, uint32_t n)
{
	frame_copy(dst, src, n);
}

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* One copy of n bytes from src + so to dst + GUARD + doff, checked byte
 * for byte against the source, and the guards around it. */
static void check_one(uint8_t *dst, uint8_t *want, const uint8_t *src, unsigned so, unsigned doff,
		      uint32_t n)
{
	size_t span = (size_t)n + 2 * GUARD + doff;

	memset(dst, 0xa5, span);
	memcpy(want, dst, span);
	memcpy(want + GUARD + doff, src + so, n);
	copy(dst + GUARD + doff, src + so, n);
	if (memcmp(dst, want, span) != 0) {
		size_t i = 0;

		while (dst[i] == want[i])
			i++;
		fail_msg("length %u, source offset %u, destination offset %u: byte %zd differs",
			 n, so, doff, (ptrdiff_t)i - GUARD - (ptrdiff_t)doff);
	}
}

/* Which long copy the following copies take: ours wherever the CPU
 * allows it (sanitizers or not), else the C library's; the choice it
 * replaces returned. */
static bool choose(bool ours)
{
#if defined(__x86_64__)
	bool was = frame_copy_long_above != UINT32_MAX;

	__builtin_cpu_init();
	frame_copy_long_above = ours && __builtin_cpu_supports("avx2") ? 64 : UINT32_MAX;
	return was;
#else
	(void)ours;
	return false;
#endif
}

static void check_lengths(bool ours)
{
	uint8_t *src = aligned_alloc(64, ROOM), *dst = aligned_alloc(64, ROOM),
		*want = aligned_alloc(64, ROOM);
	static const uint32_t longs[] = { 301, 383, 384, 385, 511, 512, 513, 1000, 1499, 1500,
					  1514, 1536, 2047, 2048, 2049, 4000, 9000, 65535,
					  VNET_FRAME_MAX };
	bool was = choose(ours);

	assert_non_null(src);
	assert_non_null(dst);
	assert_non_null(want);
	fill(src, ROOM, 1);
	for (uint32_t n = 0; n <= 300; n++)
		for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++)
			for (size_t j = 0; j < sizeof offsets / sizeof offsets[0]; j++)
				check_one(dst, want, src, offsets[i], offsets[j], n);
	for (size_t k = 0; k < sizeof longs / sizeof longs[0]; k++)
		for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i += 2)
			for (size_t j = 0; j < sizeof offsets / sizeof offsets[0]; j += 3)
				check_one(dst, want, src, offsets[i], offsets[j], longs[k]);
	choose(was);
	free(src);
	free(dst);
	free(want);
}

/* The source right after and right before a page nothing may touch: a
 * piece read from before its first byte or after its last one faults. */
static void test_reads_only_the_source(void **state)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t body = (VNET_FRAME_MAX + page - 1) / page * page;
	static const uint32_t longs[] = { 511, 1500, 2049, 9000, VNET_FRAME_MAX };
	uint8_t *map, *src, *dst = aligned_alloc(64, ROOM), *want = aligned_alloc(64, ROOM);
	bool was = choose(true);

	(void)state;
	assert_non_null(dst);
	assert_non_null(want);
	map = mmap(NULL, body + 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map, page, PROT_NONE), 0);
	assert_int_equal(mprotect(map + page + body, page, PROT_NONE), 0);
	src = map + page;
	fill(src, body, 2);
	for (uint32_t n = 0; n <= 300 + sizeof longs / sizeof longs[0]; n++) {
		uint32_t len = n <= 300 ? n : longs[n - 301];

		for (size_t j = 0; j < sizeof offsets / sizeof offsets[0]; j += 2) {
			/* At the start, then ending at the last byte. */
			check_one(dst, want, src, 0, offsets[j], len);
			check_one(dst, want, src + body - len, 0, offsets[j], len);
		}
	}
	choose(was);
	munmap(map, body + 2 * page);
	free(dst);
	free(want);
}

static void test_as_the_cpu_allows(void **state)
{
	(void)state;
	check_lengths(true);
}

static void test_c_library_way(void **state)
{
	(void)state;
	check_lengths(false);
}

/* The long copy is chosen by what the CPU says, once, before main; under
 * AddressSanitizer, memcpy always. */
static void test_choice_follows_cpu(void **state)
{
	(void)state;
#if defined(__x86_64__)
	__builtin_cpu_init();
	assert_int_equal(frame_copy_long_above,
			 !FRAME_COPY_SANITIZED && __builtin_cpu_supports("avx2") ? 64 : UINT32_MAX);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_as_the_cpu_allows),
		cmocka_unit_test(test_c_library_way),
		cmocka_unit_test(test_reads_only_the_source),
		cmocka_unit_test(test_choice_follows_cpu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
