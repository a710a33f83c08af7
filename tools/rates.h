/* SPDX-License-Identifier: MIT */
/* Rates between two status snapshots, for `status --watch`. */
#ifndef VNP_RATES_H
#define VNP_RATES_H

#include <stdbool.h>
#include <stddef.h>

#include "ctl/ctl_proto.h"

/* Per second, in one direction of one port (or of the whole link). */
struct dir_rates {
	double packets, bits;
	double drops;                    /* the sum of the reasons below */
	double no_peer, too_big, bad_chain; /* rx has no no_peer: always 0 there */
};

struct port_rates {
	struct dir_rates tx, rx; /* tx: from the port's client, rx: to it */
	bool restarted;          /* the port was (re)created since the first snapshot */
};

/* Rates of one port from two snapshots taken `seconds` apart. A port that
 * was free in the first, or whose counters went down (released and created
 * again: they restart from zero), counts from zero, so no rate is ever
 * negative. */
void port_rates(const struct vnp_ctl_port *before, const struct vnp_ctl_port *after,
		double seconds, struct port_rates *out);

/* sum += add, field by field (the link's totals). */
void dir_rates_add(struct dir_rates *sum, const struct dir_rates *add);

/* "973.24 Mbit/s": SI prefixes (1000), two decimals. Returns buf. */
const char *format_bits(double bits_per_s, char *buf, size_t len);

#endif
