/* SPDX-License-Identifier: MIT */
/*
 * Copying a frame between two clients' buffers (internal to src/link).
 * The shortest frames are the most frequent and the copy is most of their
 * cost: those of 32 to 64 bytes move in four overlapping 16-byte pieces
 * in line, every load before every store, instead of a call to memcpy.
 * Longer ones, where the CPU has AVX2, move in 32-byte pieces of our own
 * (frame_copy_long): at 1500 bytes about 110 instructions where the C
 * library's copy takes 170. The bytes are the sender's: if they change
 * meanwhile, only what the receiver gets changes.
 */
#ifndef VNP_FRAME_COPY_H
#define VNP_FRAME_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Under AddressSanitizer every copy goes through memcpy, whose checks of
 * both ranges our pieces in assembly would hide (from the fuzzers too). */
#if defined(__SANITIZE_ADDRESS__)
#define FRAME_COPY_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FRAME_COPY_SANITIZED 1
#endif
#endif
#ifndef FRAME_COPY_SANITIZED
#define FRAME_COPY_SANITIZED 0
#endif

#if defined(__x86_64__)
/* The length above which frame_copy_long copies: 64 where the CPU and the
 * kernel both do AVX2 and no sanitizer watches, else none (UINT32_MAX),
 * set once at startup (frame_copy.c; tests may change it). One compare
 * decides both the length and the CPU. AVX-512 is left alone: valgrind
 * hides it, so a profile would measure another copy than the real runs
 * make. */
extern __attribute__((visibility("hidden"))) uint32_t frame_copy_long_above;

/* One 32-byte piece, k pieces before de/se. Each piece is a statement of
 * its own: ymm0 is not live between them. */
#define COPY_PIECE(k)                                                                   \
	__asm__ volatile("vmovdqu %1, %%ymm0\n\tvmovdqu %%ymm0, %0"                      \
			 : "=m"(*(uint8_t(*)[32])(void *)(de - 32 * (k)))                 \
			 : "m"(*(const uint8_t(*)[32])(const void *)(se - 32 * (k)))      \
			 : "xmm0")
#define COPY_CASE(k)                                                                    \
	case k:                                                                         \
		COPY_PIECE(k);                                                          \
		__attribute__((fallthrough))

/* Copies shorter than this are done as one row of pieces (below), 63 at
 * most; longer ones loop. */
#define FRAME_COPY_ROW 2048

/*
 * n > 64 bytes, in 32-byte pieces, their stores on dst's 32-byte
 * boundaries (none splits a line) after a first piece where dst is not on
 * one. Below FRAME_COPY_ROW bytes (every frame of the usual MTU): the
 * whole pieces in one row, entered by one jump at the count of them (no
 * loop, nothing per piece but its load and store), then the last 32 bytes,
 * overlapping the row's end. Longer: 256 bytes a turn, one index counting
 * up to zero (two instructions a turn beside the pieces), then the last
 * 256 bytes, overlapping what the turns did. The pieces are assembly, as
 * no C compiled for baseline x86-64 may use the 32-byte registers;
 * vzeroupper leaves them clean for the SSE code around. Not inline: the
 * compiler knows which registers it takes, and the caller keeps the rest.
 */
static __attribute__((noinline, unused)) void frame_copy_long(uint8_t *dst, const uint8_t *src,
								 size_t n)
{
	size_t t;

	if (n < FRAME_COPY_ROW) {
		const uint8_t *se;
		uint8_t *de;

		/* Unless dst is on a 32-byte boundary already: the first
		 * piece, then on from the next one (n stays above 32). */
		if ((uintptr_t)dst % 32) {
			t = 32 - (uintptr_t)dst % 32;
			se = src + 32;
			de = dst + 32;
			COPY_PIECE(1);
			src += t;
			dst += t;
			n -= t;
		}
		se = src + (n & ~(size_t)31);
		de = dst + (n & ~(size_t)31);

		/* Every count has a case: the jump needs no bounds check (the
		 * compiler, left to itself, checks n again instead). */
		t = n / 32;
		__asm__("" : "+r"(t));
		switch (t % 64) {
		case 0:
			break;
			COPY_CASE(63); COPY_CASE(62); COPY_CASE(61);
			COPY_CASE(60); COPY_CASE(59); COPY_CASE(58); COPY_CASE(57);
			COPY_CASE(56); COPY_CASE(55); COPY_CASE(54); COPY_CASE(53);
			COPY_CASE(52); COPY_CASE(51); COPY_CASE(50); COPY_CASE(49);
			COPY_CASE(48); COPY_CASE(47); COPY_CASE(46); COPY_CASE(45);
			COPY_CASE(44); COPY_CASE(43); COPY_CASE(42); COPY_CASE(41);
			COPY_CASE(40); COPY_CASE(39); COPY_CASE(38); COPY_CASE(37);
			COPY_CASE(36); COPY_CASE(35); COPY_CASE(34); COPY_CASE(33);
			COPY_CASE(32); COPY_CASE(31); COPY_CASE(30); COPY_CASE(29);
			COPY_CASE(28); COPY_CASE(27); COPY_CASE(26); COPY_CASE(25);
			COPY_CASE(24); COPY_CASE(23); COPY_CASE(22); COPY_CASE(21);
			COPY_CASE(20); COPY_CASE(19); COPY_CASE(18); COPY_CASE(17);
			COPY_CASE(16); COPY_CASE(15); COPY_CASE(14); COPY_CASE(13);
			COPY_CASE(12); COPY_CASE(11); COPY_CASE(10); COPY_CASE(9);
			COPY_CASE(8); COPY_CASE(7); COPY_CASE(6); COPY_CASE(5);
			COPY_CASE(4); COPY_CASE(3); COPY_CASE(2);
		case 1:
			COPY_PIECE(1);
		}
		se = src + n;
		de = dst + n;
		COPY_PIECE(1);
		__asm__ volatile("vzeroupper");
		return;
	}
	__asm__ volatile(
		/* Unless d is on a 32-byte boundary already, the first piece,
		 * then d, s and n moved on to the next one (s + n stays the
		 * end). */
		"test $31, %[d]\n\t"
		"jz 6f\n\t"
		"vmovdqu (%[s]), %%ymm0\n\t"
		"mov %[d], %[t]\n\t"
		"neg %[t]\n\t"
		"and $31, %[t]\n\t"
		"vmovdqu %%ymm0, (%[d])\n\t"
		"add %[t], %[d]\n\t"
		"add %[t], %[s]\n\t"
		"sub %[t], %[n]\n"
		/* The whole turns before the last 256 bytes: t = their bytes;
		 * d and s moved past them, t negated, counting up to 0. */
		"6:\n\t"
		"lea -1(%[n]), %[t]\n\t"
		"and $-256, %[t]\n\t"
		"add %[t], %[d]\n\t"
		"add %[t], %[s]\n\t"
		"sub %[t], %[n]\n\t"
		"neg %[t]\n"
		"4:\n\t"
		"vmovdqu (%[s],%[t]), %%ymm0\n\t"
		"vmovdqu 32(%[s],%[t]), %%ymm1\n\t"
		"vmovdqu 64(%[s],%[t]), %%ymm2\n\t"
		"vmovdqu 96(%[s],%[t]), %%ymm3\n\t"
		"vmovdqu 128(%[s],%[t]), %%ymm4\n\t"
		"vmovdqu 160(%[s],%[t]), %%ymm5\n\t"
		"vmovdqu 192(%[s],%[t]), %%ymm6\n\t"
		"vmovdqu 224(%[s],%[t]), %%ymm7\n\t"
		"vmovdqu %%ymm0, (%[d],%[t])\n\t"
		"vmovdqu %%ymm1, 32(%[d],%[t])\n\t"
		"vmovdqu %%ymm2, 64(%[d],%[t])\n\t"
		"vmovdqu %%ymm3, 96(%[d],%[t])\n\t"
		"vmovdqu %%ymm4, 128(%[d],%[t])\n\t"
		"vmovdqu %%ymm5, 160(%[d],%[t])\n\t"
		"vmovdqu %%ymm6, 192(%[d],%[t])\n\t"
		"vmovdqu %%ymm7, 224(%[d],%[t])\n\t"
		"add $256, %[t]\n\t"
		"jnz 4b\n\t"
		/* The last 256 bytes, ending at s + n. */
		"vmovdqu -256(%[s],%[n]), %%ymm0\n\t"
		"vmovdqu -224(%[s],%[n]), %%ymm1\n\t"
		"vmovdqu -192(%[s],%[n]), %%ymm2\n\t"
		"vmovdqu -160(%[s],%[n]), %%ymm3\n\t"
		"vmovdqu -128(%[s],%[n]), %%ymm4\n\t"
		"vmovdqu -96(%[s],%[n]), %%ymm5\n\t"
		"vmovdqu -64(%[s],%[n]), %%ymm6\n\t"
		"vmovdqu -32(%[s],%[n]), %%ymm7\n\t"
		"vmovdqu %%ymm0, -256(%[d],%[n])\n\t"
		"vmovdqu %%ymm1, -224(%[d],%[n])\n\t"
		"vmovdqu %%ymm2, -192(%[d],%[n])\n\t"
		"vmovdqu %%ymm3, -160(%[d],%[n])\n\t"
		"vmovdqu %%ymm4, -128(%[d],%[n])\n\t"
		"vmovdqu %%ymm5, -96(%[d],%[n])\n\t"
		"vmovdqu %%ymm6, -64(%[d],%[n])\n\t"
		"vmovdqu %%ymm7, -32(%[d],%[n])\n\t"
		"vzeroupper"
		: [d] "+r"(dst), [s] "+r"(src), [n] "+r"(n), [t] "=&r"(t)
		:
		: "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7");
}
#undef COPY_CASE
#undef COPY_PIECE
#endif

static inline __attribute__((always_inline)) void frame_copy(uint8_t *dst, const uint8_t *src,
							    uint32_t n)
{
	if (__builtin_expect(n - 32 <= 32, 1)) {
		uint8_t a[16], b[16], c[16], d[16];

		__builtin_memcpy(a, src, 16);
		__builtin_memcpy(b, src + 16, 16);
		__builtin_memcpy(c, src + n - 32, 16);
		__builtin_memcpy(d, src + n - 16, 16);
		__builtin_memcpy(dst, a, 16);
		__builtin_memcpy(dst + 16, b, 16);
		__builtin_memcpy(dst + n - 32, c, 16);
		__builtin_memcpy(dst + n - 16, d, 16);
		return;
	}
#if defined(__x86_64__)
	if (n > frame_copy_long_above) {
		frame_copy_long(dst, src, n);
		return;
	}
#endif
	memcpy(dst, src, n);
}

#endif
