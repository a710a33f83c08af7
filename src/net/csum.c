/* SPDX-License-Identifier: MIT */
#include "net/csum.h"

#include <string.h>

static uint64_t fold16(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

void csum_add(struct csum_acc *acc, const uint8_t *p, size_t len)
{
	uint64_t s = 0;
	size_t n = len;

	/* Sum little-endian 16-bit words: ones' complement addition commutes
	 * with byte order, so the folded result is the checksum in memory order. */
	while (n >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		s += w;
		p += 4;
		n -= 4;
	}
	if (n >= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		s += w;
		p += 2;
		n -= 2;
	}
	if (n)
		s += *p;
	s = fold16(s);
	/* A piece that starts at an odd offset has its bytes in the other half
	 * of each word. */
	if (acc->odd)
		s = ((s & 0xff) << 8) | (s >> 8);
	acc->sum += s;
	if (len & 1)
		acc->odd = !acc->odd;
}

uint16_t csum_fold(const struct csum_acc *acc)
{
	return (uint16_t)fold16(acc->sum);
}

uint16_t csum_finish(const struct csum_acc *acc)
{
	uint16_t c = (uint16_t)~fold16(acc->sum);

	return c ? c : 0xffff;
}
