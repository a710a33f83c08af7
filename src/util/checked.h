/* SPDX-License-Identifier: MIT */
/* Overflow-checked arithmetic for values a client controls. */
#ifndef VNP_CHECKED_H
#define VNP_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

/* True when [start, start + len) fits in 64 bits (len 0 counts as fitting). */
static inline bool range_fits_u64(uint64_t start, uint64_t len)
{
	uint64_t end;
	return !__builtin_add_overflow(start, len, &end);
}

/* True when [addr, addr + len) lies inside [base, base + size). Written so
 * that no intermediate sum can wrap. */
static inline bool range_within(uint64_t addr, uint64_t len, uint64_t base, uint64_t size)
{
	return addr >= base && addr - base <= size && len <= size - (addr - base);
}

static inline bool is_power_of_2(uint64_t v) { return v && !(v & (v - 1)); }

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
