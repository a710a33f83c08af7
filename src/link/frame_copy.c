/* SPDX-License-Identifier: MIT */
#include "link/frame_copy.h"

#if defined(__x86_64__)
uint32_t frame_copy_long_above = UINT32_MAX;

/* Before main, so that no copy ever sees the choice change: the package is
 * built for baseline x86-64 and learns here whether the CPU (and the
 * kernel, which must save the 32-byte registers) allows AVX2. */
__attribute__((constructor)) static void frame_copy_init(void)
{
	__builtin_cpu_init();
	if (!FRAME_COPY_SANITIZED && __builtin_cpu_supports("avx2"))
		frame_copy_long_above = 64;
}
#endif
