/* SPDX-License-Identifier: MIT */
/* Numbers in options and create keys, parsed strictly: no sign, no
 * spaces, no trailing garbage, no wrap-around. */
#ifndef VNP_PARSE_NUM_H
#define VNP_PARSE_NUM_H

#include <stdbool.h>
#include <stdint.h>

/* A decimal in 0..max. */
bool parse_decimal(const char *s, uint64_t max, uint64_t *out);

/* A size in bytes: a decimal, or a decimal followed by K, M, G or T (KiB,
 * MiB, GiB, TiB; either case), in min..max. */
bool parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* The size in the largest of those units that divides it, e.g. "32T";
 * buf of at least 24 bytes. */
const char *format_size(uint64_t v, char *buf, unsigned len);

#endif
