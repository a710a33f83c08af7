/* SPDX-License-Identifier: MIT */
#include "rates.h"

#include <stdint.h>
#include <stdio.h>

#include "link/link.h"

static double per_s(uint64_t before, uint64_t after, double seconds)
{
	return seconds > 0 ? (double)(after - before) / seconds : 0.0;
}

void port_rates(const struct vnp_ctl_port *before, const struct vnp_ctl_port *after,
		double seconds, struct port_rates *out)
{
	static const struct vnp_ctl_port zero;
	const uint64_t *a = after->counter, *b;
	bool restarted = before->state == PORT_FREE && after->state != PORT_FREE;

	/* Counters only grow while a port lives: any that went down means the
	 * port was released and created again in between. */
	for (unsigned i = 0; i < VNP_CTR_COUNT; i++)
		if (a[i] < before->counter[i])
			restarted = true;
	b = restarted ? zero.counter : before->counter;

	out->restarted = restarted;
	out->tx = (struct dir_rates){
		.packets = per_s(b[VNP_CTR_TX_PACKETS], a[VNP_CTR_TX_PACKETS], seconds),
		.bits = 8 * per_s(b[VNP_CTR_TX_BYTES], a[VNP_CTR_TX_BYTES], seconds),
		.no_peer = per_s(b[VNP_CTR_DROP_NO_PEER], a[VNP_CTR_DROP_NO_PEER], seconds),
		.too_big = per_s(b[VNP_CTR_DROP_TOO_BIG], a[VNP_CTR_DROP_TOO_BIG], seconds),
		.bad_chain = per_s(b[VNP_CTR_DROP_BAD], a[VNP_CTR_DROP_BAD], seconds),
	};
	/* Its own column would rarely show anything: ring_off counts in drops. */
	out->tx.drops = out->tx.no_peer + out->tx.too_big + out->tx.bad_chain +
			per_s(b[VNP_CTR_DROP_RING_OFF], a[VNP_CTR_DROP_RING_OFF], seconds);
	out->rx = (struct dir_rates){
		.packets = per_s(b[VNP_CTR_RX_PACKETS], a[VNP_CTR_RX_PACKETS], seconds),
		.bits = 8 * per_s(b[VNP_CTR_RX_BYTES], a[VNP_CTR_RX_BYTES], seconds),
		.too_big = per_s(b[VNP_CTR_RX_DROP_TOO_BIG], a[VNP_CTR_RX_DROP_TOO_BIG], seconds),
		.bad_chain = per_s(b[VNP_CTR_RX_DROP_BAD], a[VNP_CTR_RX_DROP_BAD], seconds),
	};
	out->rx.drops = out->rx.too_big + out->rx.bad_chain;
}

void dir_rates_add(struct dir_rates *sum, const struct dir_rates *add)
{
	sum->packets += add->packets;
	sum->bits += add->bits;
	sum->drops += add->drops;
	sum->no_peer += add->no_peer;
	sum->too_big += add->too_big;
	sum->bad_chain += add->bad_chain;
}

const char *format_bits(double bits_per_s, char *buf, size_t len)
{
	static const char *const unit[] = { "bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s" };
	unsigned u = 0;

	while (bits_per_s >= 999.995 && u + 1 < sizeof unit / sizeof unit[0]) {
		bits_per_s /= 1000;
		u++;
	}
	snprintf(buf, len, "%.2f %s", bits_per_s, unit[u]);
	return buf;
}
