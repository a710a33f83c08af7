/* SPDX-License-Identifier: MIT */
/* The receive-buffer prefetch (link/rx_prefetch.h): which lines it claims.
 * A hint, so what matters is that it claims the lines a buffer's frame
 * will cover and none outside the region it was checked against; and,
 * where the CPU has AVX2, that the four-at-once claim
 * (claim_rx_buffers4_avx2) claims what claim_rx_buffer does one by one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Each claim recorded instead of made. */
static uintptr_t claimed[4 * 64];
static unsigned nclaimed;
#define PREFETCH_FOR_WRITE(p) (claimed[nclaimed++ % 256] = (uintptr_t)(p))

#include "link/rx_prefetch.h"

/* A region of client memory at a made-up host address: nothing is read or
 * written there, only addresses computed. */
#define HOST_BASE ((uintptr_t)1 << 44)

static uint64_t rnd(void)
{
	return (uint64_t)random() << 33 ^ (uint64_t)random() << 2 ^ (uint64_t)random();
}

/* The lines claimed for one buffer, sorted by line. */
static unsigned claim_one(const struct gm_hit *h, uint64_t addr, uint32_t len, uint32_t bytes,
			  uintptr_t *out)
{
	struct vq_desc d = { .addr = addr, .len = len, .flags = VRING_DESC_F_WRITE };

	nclaimed = 0;
	claim_rx_buffer(h, &d, bytes);
	memcpy(out, claimed, nclaimed * sizeof *out);
	return nclaimed;
}

/* A buffer inside the region gets every line from its first byte to the
 * last one the frames reach, each once; one reaching past the region's
 * end, or starting outside it, none. */
static void test_lines(void **state)
{
	struct gm_hit h = { .gpa = 0x100000, .size = 1 << 20, .host = (uint8_t *)HOST_BASE };
	uintptr_t got[64];
	unsigned n;

	(void)state;
	/* 1500 bytes from 10 bytes into a line: 24 lines. */
	n = claim_one(&h, h.gpa + 64 * 5 + 10, 2048, 1500, got);
	assert_int_equal(n, 24);
	for (unsigned i = 0; i < n; i++) {
		uintptr_t line = got[i] / CACHE_LINE * CACHE_LINE;

		/* Every line once, from the first byte's to the 1500th's. */
		for (unsigned j = 0; j < i; j++)
			assert_int_not_equal(got[j] / CACHE_LINE, got[i] / CACHE_LINE);
		assert_true(line >= HOST_BASE + 64 * 5);
		assert_true(line <= HOST_BASE + 64 * 5 + 10 + 1499);
	}
	/* The buffer shorter than the frames: its own length. */
	assert_int_equal(claim_one(&h, h.gpa, 128, 1500, got), 2);
	/* Ending at the region's last byte: claimed; one past: not. */
	assert_int_equal(claim_one(&h, h.gpa + h.size - 1500, 1500, 1500, got), 24);
	assert_int_equal(claim_one(&h, h.gpa + h.size - 1499, 1500, 1500, got), 0);
	/* Before the region, and after it. */
	assert_int_equal(claim_one(&h, h.gpa - 64, 64, 1500, got), 0);
	assert_int_equal(claim_one(&h, h.gpa + h.size, 64, 1500, got), 0);
	/* Beyond PREFETCH_MAX_BYTES of frames, the last 33 lines only. */
	assert_int_equal(claim_one(&h, h.gpa, 65536, 65536, got), 33);
}

#if defined(__x86_64__)
static unsigned compared;

/* The four-at-once claim of these four buffers, sorted. */
__attribute__((target("avx2"))) static unsigned claim_four(const struct gm_hit *h,
							  const uint64_t addr[4],
							  const uint32_t len[4], uint32_t bytes,
							  uintptr_t *out)
{
	uint64_t l[4] = { len[0], len[1], len[2], len[3] };

	nclaimed = 0;
	claim_rx_buffers4_avx2(h, _mm256_loadu_si256((const __m256i *)(const void *)addr),
			       _mm256_loadu_si256((const __m256i *)(const void *)l), bytes);
	memcpy(out, claimed, nclaimed * sizeof *out);
	return nclaimed;
}

/* Random buffers about the edges of regions anywhere in the address space
 * (its top included), of every length: the four at once claim exactly
 * the lines the four one by one do, in the same order. Empty buffers are
 * the exception: one by one they take the frames' length (a hint), at
 * once they are left alone. */
static void test_four_like_one(void **state)
{
	static const uint64_t region_gpa[] = { 0, 0x100000, 1ull << 40, ~0ull - (1 << 20) + 1 };
	uintptr_t one[4 * 64], four[4 * 64];

	(void)state;
	if (!__builtin_cpu_supports("avx2"))
		return;
	srandom(7);
	for (unsigned round = 0; round < 20000; round++) {
		struct gm_hit h = { .gpa = region_gpa[round % 4], .size = 1 << 20,
				    .host = (uint8_t *)HOST_BASE };
		uint32_t bytes = 1 + (uint32_t)(rnd() % 4096), len[4];
		uint64_t addr[4];
		unsigned n1 = 0, n4;

		for (unsigned k = 0; k < 4; k++) {
			uint64_t r = rnd();

			/* Near either edge of the region, or anywhere. */
			switch (r % 4) {
			case 0: addr[k] = h.gpa + (r >> 8) % 4096 - 2048; break;
			case 1: addr[k] = h.gpa + h.size + (r >> 8) % 8192 - 6144; break;
			case 2: addr[k] = h.gpa + (r >> 8) % h.size; break;
			default: addr[k] = rnd(); break;
			}
			len[k] = (r >> 40) % 3 ? 1 + (uint32_t)(rnd() % 4096) : (uint32_t)rnd();
			if (len[k] == 0)
				len[k] = 1;
			n1 += claim_one(&h, addr[k], len[k], bytes, one + n1);
		}
		n4 = claim_four(&h, addr, len, bytes, four);
		assert_int_equal(n4, n1);
		assert_memory_equal(four, one, n1 * sizeof *one);
		compared++;
	}
	/* An empty buffer: nothing claimed. */
	{
		struct gm_hit h = { .gpa = 0, .size = 1 << 20, .host = (uint8_t *)HOST_BASE };
		uint64_t addr[4] = { 0, 4096, 8192, 12288 };
		uint32_t len[4] = { 0, 64, 0, 64 };

		assert_int_equal(claim_four(&h, addr, len, 1500, four), 2);
	}
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
#if defined(__x86_64__)
		cmocka_unit_test(test_four_like_one),
#endif
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);

#if defined(__x86_64__)
	if (__builtin_cpu_supports("avx2") && compared < 20000) {
		fprintf(stderr, "the four-at-once claim was compared %u times only\n", compared);
		failed++;
	}
#endif
	return failed;
}
