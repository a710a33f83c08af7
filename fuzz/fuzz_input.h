/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer targets: reading a fuzz input as a stream of
 * little-endian fields (an exhausted input reads as zeroes), and a check
 * that aborts with a message, so libFuzzer records the input as a crash.
 */
#ifndef VNP_FUZZ_INPUT_H
#define VNP_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

struct fuzz_input {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t in_u8(struct fuzz_input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static inline uint16_t in_u16(struct fuzz_input *in)
{
	uint16_t lo = in_u8(in);

	return (uint16_t)(lo | (uint16_t)in_u8(in) << 8);
}

static inline uint32_t in_u24(struct fuzz_input *in)
{
	uint32_t lo = in_u16(in);

	return lo | (uint32_t)in_u8(in) << 16;
}

/* n bytes into dst; what the input does not have reads as zero. */
static inline void in_bytes(struct fuzz_input *in, void *dst, size_t n)
{
	size_t k = n < in->left ? n : in->left;

	memcpy(dst, in->p, k);
	memset((uint8_t *)dst + k, 0, n - k);
	in->p += k;
	in->left -= k;
}

/* A broken invariant: a finding, not a harness problem. */
#define FUZZ_CHECK(cond)                                                                \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond,   \
				__FILE__, __LINE__);                                    \
			abort();                                                        \
		}                                                                       \
	} while (0)

/* The code under test logs what clients do wrong; the fuzzer makes clients
 * do everything wrong. Silent unless FUZZ_VERBOSE is set. */
static inline void fuzz_quiet_logs(void)
{
	if (!getenv("FUZZ_VERBOSE"))
		log_set_level((enum log_level)0);
}

#endif
