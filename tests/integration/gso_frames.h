/* SPDX-License-Identifier: MIT */
/*
 * GSO test frames: a builder of TCP/UDP "super-packets" as a Linux guest
 * hands them to a virtio-net device with TSO/UFO (virtio 1.2, 5.1.6.2),
 * and a verifier of what a receiver got for one: the super-packet passed
 * through, or its segments (TCP) or IP fragments (UDP).
 *
 * Nothing here needs cmocka or a server: the unit suite tests these tools
 * (tests/unit/test_gso_frames.c), the integration tests use them.
 */
#ifndef VNP_TEST_GSO_FRAMES_H
#define VNP_TEST_GSO_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vnet-p2p/driver.h>

/* TCP flags (byte 13 of the TCP header). */
#define GSO_TCP_FIN 0x01
#define GSO_TCP_SYN 0x02
#define GSO_TCP_RST 0x04
#define GSO_TCP_PSH 0x08
#define GSO_TCP_ACK 0x10
#define GSO_TCP_URG 0x20
#define GSO_TCP_ECE 0x40
#define GSO_TCP_CWR 0x80

/* An IPv6 extension header of 8 bytes (next header, length 0, PadN). */
enum gso_ext { GSO_EXT_NONE = 0, GSO_EXT_HOPOPTS, GSO_EXT_DSTOPTS };

/*
 * One super-packet. A zero field takes the default named beside it.
 *
 *   Ethernet dst, src | [802.1ad tag] [802.1Q tag] | IPv4 (+options) or
 *   IPv6 (+one extension header) | TCP (+options) or UDP | payload
 */
struct gso_spec {
	bool ipv6;
	bool udp;                /* else TCP */
	unsigned vlan;           /* tags: 0, 1 (802.1Q) or 2 (802.1ad outer, 802.1Q inner) */
	uint16_t vlan_tci[2];    /* outer first; 0: 200 (outer of two), 100 (innermost) */
	uint8_t dst_mac[6];      /* 02:00:00:00:00:02 */
	uint8_t src_mac[6];      /* 02:00:00:00:00:01 */
	uint8_t saddr[16];       /* 10.0.0.1 / fd00::1 (IPv4 uses the first 4 bytes) */
	uint8_t daddr[16];       /* 10.0.0.2 / fd00::2 */
	uint8_t tos;             /* IPv4 TOS / IPv6 traffic class, as given */
	unsigned ip_opt_len;     /* IPv4 options: a multiple of 4, at most 40 (Stream ID
				  * options, copied into every fragment by RFC 791) */
	enum gso_ext ipv6_ext;
	uint16_t ip_id;          /* IPv4 ID of the super-packet, as given */
	bool df;                 /* IPv4 Don't Fragment */
	uint16_t sport, dport;   /* 40000, 5001 */
	uint32_t seq, ack;       /* TCP, as given */
	uint8_t tcp_flags;       /* GSO_TCP_*, as given (ecn adds CWR) */
	uint16_t window;         /* TCP, 502 */
	unsigned tcp_opt_len;    /* a multiple of 4, at most 40 (NOPs and timestamps) */
	bool ecn;                /* TCP: VND_GSO_ECN in the meta and CWR in the header */
	size_t payload_len;
	uint32_t seed;           /* payload byte i is gso_payload_byte(seed, i) */
	uint16_t gso_size;       /* MSS (TCP) or fragment data bytes (UDP); 0: no GSO */
};

/* Write the frame into buf and describe it in meta as Linux does
 * (virtio_net_hdr_from_skb for a CHECKSUM_PARTIAL GSO skb):
 *  - IPv4 total length / IPv6 payload length cover the whole super-packet,
 *    the IPv4 header checksum is valid, the UDP length is the whole datagram;
 *  - the L4 checksum field holds the folded, not inverted, sum of the
 *    pseudo-header with the full L4 length;
 *  - needs_csum, csum_start = L4 offset, csum_offset = 16 (TCP) or 6 (UDP),
 *    gso_type TCPV4 / TCPV6 / UDP (| ECN), gso_size, hdr_len = all headers
 *    through L4 (for UDP: through the 8-byte UDP header).
 * With gso_size 0 the frame is the same and meta asks for the checksum
 * only (gso_type NONE, hdr_len 0). Returns the frame's length, or 0 when
 * the spec is impossible (bad option lengths, ECN with UDP, an IP length
 * over 65535, a frame over cap, no payload with GSO, UDP gso_size < 8). */
size_t gso_build(uint8_t *buf, size_t cap, const struct gso_spec *spec, struct vnd_tx_meta *meta);

/* The deterministic payload: byte i of a payload with this seed. */
uint8_t gso_payload_byte(uint32_t seed, size_t i);

/* ---- the verifier --------------------------------------------------------------- */

/* One frame a receiver got, with the metadata vnd_recv reported. */
struct gso_rx_frame {
	const uint8_t *data;
	size_t len;
	struct vnd_rx_meta meta;
};

/* The two legal outcomes: flags for `allowed`, values for `*seen`. */
#define GSO_OUTCOME_PASS 1u       /* the super-packet itself, still GSO */
#define GSO_OUTCOME_SEGMENTED 2u  /* TCP segments, or IP fragments for UDP */
#define GSO_OUTCOME_ANY (GSO_OUTCOME_PASS | GSO_OUTCOME_SEGMENTED)

/*
 * Check that rx[0..count) is what a receiver may get for the super-frame
 * `sent` (as sent with `meta`), in order. The outcome is read off the first
 * received frame's meta: a gso_type other than NONE means pass-through,
 * NONE means segmentation; it must be one of `allowed`.
 *
 * Pass-through: exactly one frame, byte for byte the sent one (a device
 * has no reason to touch a frame it does not segment: the checksum field
 * keeps the pseudo-header sum, since NEEDS_CSUM travels on), with the same
 * gso_type (ECN bit included) and gso_size, NEEDS_CSUM at the L4 checksum,
 * and hdr_len the real length of the headers.
 *
 * TCP segmentation, as Linux's tcp_gso_segment: ceil(payload / gso_size)
 * frames, all gso_type NONE; L2 and VLAN tags unchanged; IPv4 header
 * unchanged but for total length, ID (first + i) and a valid header
 * checksum; IPv6 header and extension header unchanged but for the
 * payload length; TCP: sequence first + i * gso_size, CWR on the first
 * segment only, FIN and PSH on the last only, all else unchanged; payload
 * slices in order; the checksum either complete and valid, or (NEEDS_CSUM)
 * partial at csum_start = L4 offset, csum_offset 16, completing to valid.
 *
 * UDP fragmentation: each fragment but the last carries exactly
 * F = gso_size rounded down to a multiple of 8 bytes of the fragmentable
 * part (UDP header and data; for IPv6 also a destination options header
 * when the fragment header precedes it), the last the rest, at consecutive
 * offsets. IPv4: header unchanged but for total length, MF/offset (no DF,
 * as Linux's UFO writes it), a valid checksum and an ID that is the same in every fragment
 * (Linux keeps the sent one; any will do for reassembly). The builder's
 * options are all copied-class, so every fragment must carry them.
 * IPv6: a fragment header (next header 44) after the unfragmentable part
 * (the IPv6 header and a hop-by-hop header; a destination options header
 * on either side of it), identification the same in every fragment,
 * offsets and M flag right, payload lengths right. No fragment carries
 * NEEDS_CSUM or a gso_type; reassembled, the datagram is the one sent with
 * a complete, valid, non-zero UDP checksum.
 *
 * Returns 0, or -1 with the first problem in msg (which frame, which
 * field, what was expected); with msg NULL the problem goes to stderr.
 * *seen (may be NULL) gets the outcome the frames were judged as.
 */
int gso_verify(const uint8_t *sent, size_t sent_len, const struct vnd_tx_meta *meta,
	       const struct gso_rx_frame *rx, size_t count, unsigned allowed, unsigned *seen,
	       char *msg, size_t msglen);

/* How many frames segmentation of this super-frame gives (segments or
 * fragments), or 0 if the frame is no GSO super-packet. For UDP over IPv6
 * with a destination options header, the count assumes it stays before
 * the fragment header; behind it, it adds 8 bytes to fragment, which may
 * take one fragment more (gso_verify accepts both). */
size_t gso_segment_count(const uint8_t *sent, size_t sent_len, const struct vnd_tx_meta *meta);

/* ---- checksums (RFC 1071) ------------------------------------------------------- */

/* Add len bytes, as big-endian 16-bit words (an odd last byte padded with
 * zero), to a running sum. */
uint64_t gso_csum_add(uint64_t sum, const uint8_t *p, size_t len);
/* Fold a running sum to 16 bits (not inverted). */
uint16_t gso_csum_fold(uint64_t sum);
/* The folded sum of the pseudo-header (addresses of the IPv4 or IPv6
 * header at l3, protocol, l4_len) and the l4_len bytes at l4: 0xffff when
 * the L4 checksum in them verifies. */
uint16_t gso_csum_verify(const uint8_t *l3, bool ipv6, uint8_t proto, const uint8_t *l4,
			 size_t l4_len);
/* Finish a partial checksum as a device does for NEEDS_CSUM: sum
 * [csum_start, len), fold, invert, store at csum_start + csum_offset.
 * false if the field lies outside the frame. */
bool gso_csum_complete(uint8_t *frame, size_t len, uint16_t csum_start, uint16_t csum_offset);

#endif
