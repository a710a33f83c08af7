/* SPDX-License-Identifier: MIT */
/*
 * Copying a frame between two clients' buffers (internal to src/link).
 * The shortest frames are the most frequent and the copy is most of their
 * cost: those of 32 to 64 bytes move in four overlapping 16-byte pieces
 * in line, every load before every store, instead of a call to memcpy.
 * The bytes are the sender's: if they change meanwhile, only what the
 * receiver gets changes.
 */
#ifndef VNP_FRAME_COPY_H
#define VNP_FRAME_COPY_H

#include <stdint.h>
#include <string.h>

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
	memcpy(dst, src, n);
}

#endif
