/* SPDX-License-Identifier: MIT */
/* The counters every port keeps (status, JSON, Prometheus show them). */
#ifndef VNP_PORT_STATS_H
#define VNP_PORT_STATS_H

#include <stdint.h>

/*
 * Counters of one port, 64-bit, for the life of the port: they survive its
 * clients' reconnects and start at zero when the port is created. tx is
 * what this port's client sent, rx what it was given. A lost packet is
 * counted once as a drop of the sender's tx; too big also of the
 * receiver's rx. A chain that breaks the rules fails the port and counts
 * as bad in the direction of its ring.
 */
struct port_stats {
	uint64_t tx_packets;      /* sent by this port's client, delivered to the peer */
	uint64_t tx_bytes;
	uint64_t rx_packets;      /* delivered to this port's client */
	uint64_t rx_bytes;
	uint64_t drop_no_peer;    /* tx: sent while the peer could not receive */
	uint64_t drop_too_big;    /* tx: larger than the peer's receive buffers */
	uint64_t drop_bad;        /* tx: malformed header or checksum request, or a bad chain */
	uint64_t drop_ring_off;   /* tx: sent on a TX ring its client had turned off (discarded) */
	uint64_t rx_drop_too_big; /* rx: from the peer, larger than our receive buffers */
	uint64_t rx_drop_bad;     /* rx: a bad RX chain */
	uint64_t tx_gso;          /* tx: GSO frames delivered, whole or in segments */
	uint64_t tx_gso_segmented; /* tx: of those, cut into segments for the peer */
	uint64_t tx_gso_segments;  /* tx: the segments (or fragments) they became */
	uint64_t rx_gso;          /* rx: GSO frames given to this client whole */
	uint64_t kicks;           /* notifications from the client */
	uint64_t interrupts;      /* notifications to the client */
};

/* One queue pair's share of its port's counters (the TX ring's packets
 * delivered and dropped, the RX ring's packets received). */
struct queue_stats {
	uint64_t tx_packets;
	uint64_t rx_packets;
	uint64_t drops;
};

#endif
