/* SPDX-License-Identifier: MIT */
/*
 * Segmentation offload (TSO, UFO) of virtio-net: a sender's GSO frame
 * checked once against what it negotiated and what its headers really
 * are, and the headers of each segment (TCP) or fragment (UDP) built from
 * that checked copy for a receiver that cannot take the frame whole.
 *
 * Nothing here touches client memory: the caller copies the frame's first
 * bytes into struct gso_plan, and every later decision reads that copy.
 */
#ifndef VNP_GSO_H
#define VNP_GSO_H

#include <stdbool.h>
#include <stdint.h>

#include "net/virtio_net.h"

/* Headers we copy and check: Ethernet, two VLAN tags, IPv4 with options
 * or IPv6 with extension headers, TCP with options (at most 60 + 60 + 18
 * + a few extension headers). */
#define GSO_HDR_MAX 256u
/* Segments (or fragments) one frame may become: 64 KiB in segments of
 * 256 bytes. Linux's smallest usual MSS (536) makes 123; a frame that
 * asks for more costs too much to be worth it and is dropped as bad. */
#define GSO_SEGS_MAX 256u
/* The IPv6 fragment header UFO adds to each fragment. */
#define GSO_FRAG6_LEN 8u

struct gso_plan {
	uint8_t type;         /* VIRTIO_NET_HDR_GSO_TCPV4, _TCPV6 or _UDP */
	uint8_t wire_type;    /* as the sender gave it, the ECN bit included */
	bool ipv6;
	bool udp;             /* UFO: IP fragments of one UDP datagram */
	uint16_t gso_size;    /* as the sender gave it */
	uint16_t l3;          /* IP header in the frame */
	uint16_t l4;          /* TCP or UDP header */
	uint16_t l4_hdr_len;  /* all headers, the TCP or UDP one included */
	uint16_t csum_offset; /* of the L4 checksum from l4 */
	uint16_t tmpl_len;    /* bytes of hdr repeated in every segment */
	uint16_t seg_data;    /* data bytes per segment, the last may have fewer */
	uint32_t data_len;    /* frame bytes after tmpl_len */
	uint32_t segments;
	uint32_t frag6_id;    /* UFO over IPv6: the fragments' identification */
	uint32_t head_len;    /* frame bytes copied into hdr */
	uint8_t hdr[GSO_HDR_MAX];
};

/*
 * Check a sender's GSO frame. in: its virtio-net header; features: what
 * the sender negotiated; p->hdr: the first p->head_len bytes of its frame
 * (all of it when shorter than GSO_HDR_MAX); frame_len: the frame's length
 * (without the virtio-net header). Returns NULL with the plan filled, or
 * why the frame is refused (it is then dropped and counted as bad).
 */
const char *gso_check(const struct vnet_hdr *in, uint64_t features, uint32_t frame_len,
		      struct gso_plan *p);

/* Whether a receiver with these features takes the frame whole. */
bool gso_receiver_takes(const struct gso_plan *p, uint64_t features);

/* The header a receiver gets with the frame whole. */
void gso_whole_header(const struct gso_plan *p, struct vnet_hdr *out);

/*
 * Headers of segment i (data: its data bytes) into out, which has room for
 * GSO_HDR_MAX + GSO_FRAG6_LEN bytes; returns their length. The L4
 * checksum field of a TCP segment holds the folded pseudo-header sum of
 * the segment: what NEEDS_CSUM expects, and the seed for completing it.
 */
unsigned gso_segment_header(const struct gso_plan *p, uint32_t i, uint32_t data, uint8_t *out);

/* UFO: the UDP header, with its checksum field seeded with the datagram's
 * folded pseudo-header sum; the first 8 data bytes of fragment 0. */
void gso_udp_header(const struct gso_plan *p, uint8_t out[8]);

#endif
