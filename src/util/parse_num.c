/* SPDX-License-Identifier: MIT */
#include "util/parse_num.h"

#include <ctype.h>
#include <stdio.h>

bool parse_decimal(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		uint64_t d = (uint64_t)(*s - '0');

		if (!isdigit((unsigned char)*s))
			return false;
		/* v * 10 + d <= max, asked without computing it. */
		if (d > max || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

static unsigned unit_shift(char c)
{
	switch (c) {
	case 'K': case 'k': return 10;
	case 'M': case 'm': return 20;
	case 'G': case 'g': return 30;
	case 'T': case 't': return 40;
	}
	return 0;
}

bool parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char digits[24];
	unsigned shift = 0, n = 0;
	uint64_t v;

	while (isdigit((unsigned char)s[n]) && n < sizeof digits - 1) {
		digits[n] = s[n];
		n++;
	}
	digits[n] = '\0';
	if (s[n]) {
		shift = unit_shift(s[n]);
		if (!shift || s[n + 1])
			return false;
	}
	if (!parse_decimal(digits, max >> shift, &v))
		return false;
	v <<= shift;
	if (v < min)
		return false;
	*out = v;
	return true;
}

const char *format_size(uint64_t v, char *buf, unsigned len)
{
	static const char units[] = "KMGT";
	unsigned u = 0;

	while (u < 4 && v && !(v & 1023)) {
		v >>= 10;
		u++;
	}
	if (u)
		snprintf(buf, len, "%llu%c", (unsigned long long)v, units[u - 1]);
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}
