/* SPDX-License-Identifier: MIT */
/*
 * Copying a frame between two clients' buffers (internal to src/link).
 * The shortest frames are the most frequent and the copy is most of their
 * cost: those of 32 to 64 bytes move in four overlapping 16-byte pieces
 * in line, every load before every store, instead of a call to memcpy.
 * Longer ones, where the CPU has AVX2, move in 32-byte pieces in line too
 * (frame_copy_long): half the instructions of the C library's copy at
 * 1500 bytes, and no call. The bytes are the sender's: if they change
 * meanwhile, only what the receiver gets changes.
 */
#ifndef VNP_FRAME_COPY_H
#define VNP_FRAME_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
/* Whether frame_copy_long may run here: the CPU and the kernel both do
 * AVX2 (set once at startup, frame_copy.c; tests may clear it). AVX-512
 * is left alone: valgrind hides it, so a profile would measure another
 * copy than the real runs make, and 32-byte pieces already halve the
 * count. */
extern __attribute__((visibility("hidden"))) bool frame_copy_avx2;

/*
 * n > 64 bytes, in 32-byte pieces: up to 256 bytes as overlapping pieces
 * from both ends; beyond, the first piece, then 256 bytes a turn from the
 * first 32-byte boundary of dst on (stores that never split a line), and
 * the last 256 bytes from the end, overlapping what the turns did. One
 * index counting up to zero keeps a turn's overhead at two instructions.
 * In assembly as no C compiled for baseline x86-64 may use the 32-byte
 * registers; vzeroupper leaves them clean for the SSE code around.
 */
static __attribute__((noinline, unused)) void frame_copy_long(uint8_t *dst, const uint8_t *src,
								 size_t n)
{
	size_t t;

	__asm__ volatile(
		"cmp $256, %[n]\n\t"
		"ja 3f\n\t"
		"cmp $128, %[n]\n\t"
		"ja 2f\n\t"
		/* 65..128 */
		"vmovdqu (%[s]), %%ymm0\n\t"
		"vmovdqu 32(%[s]), %%ymm1\n\t"
		"vmovdqu -64(%[s],%[n]), %%ymm2\n\t"
		"vmovdqu -32(%[s],%[n]), %%ymm3\n\t"
		"vmovdqu %%ymm0, (%[d])\n\t"
		"vmovdqu %%ymm1, 32(%[d])\n\t"
		"vmovdqu %%ymm2, -64(%[d],%[n])\n\t"
		"vmovdqu %%ymm3, -32(%[d],%[n])\n\t"
		"jmp 9f\n"
		/* 129..256 */
		"2:\n\t"
		"vmovdqu (%[s]), %%ymm0\n\t"
		"vmovdqu 32(%[s]), %%ymm1\n\t"
		"vmovdqu 64(%[s]), %%ymm2\n\t"
		"vmovdqu 96(%[s]), %%ymm3\n\t"
		"vmovdqu -128(%[s],%[n]), %%ymm4\n\t"
		"vmovdqu -96(%[s],%[n]), %%ymm5\n\t"
		"vmovdqu -64(%[s],%[n]), %%ymm6\n\t"
		"vmovdqu -32(%[s],%[n]), %%ymm7\n\t"
		"vmovdqu %%ymm0, (%[d])\n\t"
		"vmovdqu %%ymm1, 32(%[d])\n\t"
		"vmovdqu %%ymm2, 64(%[d])\n\t"
		"vmovdqu %%ymm3, 96(%[d])\n\t"
		"vmovdqu %%ymm4, -128(%[d],%[n])\n\t"
		"vmovdqu %%ymm5, -96(%[d],%[n])\n\t"
		"vmovdqu %%ymm6, -64(%[d],%[n])\n\t"
		"vmovdqu %%ymm7, -32(%[d],%[n])\n\t"
		"jmp 9f\n"
		/* 257 and more: unless d is on a 32-byte boundary already, the
		 * first piece, then d, s and n moved on to the next one (s + n
		 * stays the end). */
		"3:\n\t"
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
		"jz 5f\n\t"
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
		"jnz 4b\n"
		/* The last 256 bytes, ending at s + n. */
		"5:\n\t"
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
		"vmovdqu %%ymm7, -32(%[d],%[n])\n"
		"9:\n\t"
		"vzeroupper"
		: [d] "+r"(dst), [s] "+r"(src), [n] "+r"(n), [t] "=&r"(t)
		:
		: "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7");
}
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
	if (n > 64 && frame_copy_avx2) {
		frame_copy_long(dst, src, n);
		return;
	}
#endif
	memcpy(dst, src, n);
}

#endif
