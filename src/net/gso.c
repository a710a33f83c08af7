/* SPDX-License-Identifier: MIT */
#include "net/gso.h"

#include <string.h>

#include "net/csum.h"

/* <linux/if_ether.h> comes in through virtio_net.h. */
#define ETH_P_IPV4 ETH_P_IP
#define VLAN_TAGS_MAX 2
#define IPV6_HLEN 40u
#define IPV6_EXT_MAX 4
#define PROTO_TCP 6u
#define PROTO_UDP 17u
#define NH_HOP_BY_HOP 0u
#define NH_ROUTING 43u
#define NH_FRAGMENT 44u
#define NH_DEST_OPTS 60u
#define TCP_HLEN 20u
#define UDP_HLEN 8u
#define TCP_CSUM_OFFSET 16u
#define UDP_CSUM_OFFSET 6u
#define TCP_FLAG_FIN 0x01u
#define TCP_FLAG_PSH 0x08u
#define TCP_FLAG_CWR 0x80u
#define IP_MF 0x2000u
#define IP_DF 0x4000u
#define IP_OFFSET 0x1fffu

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static bool has(uint64_t features, unsigned bit) { return features & BIT64(bit); }

/* The negotiated feature a sender needs for a type; NULL when unknown. */
static const char *sender_may(uint8_t type, uint64_t features)
{
	switch (type) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return has(features, VIRTIO_NET_F_HOST_TSO4) ? NULL : "TCPv4 GSO without HOST_TSO4";
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return has(features, VIRTIO_NET_F_HOST_TSO6) ? NULL : "TCPv6 GSO without HOST_TSO6";
	case VIRTIO_NET_HDR_GSO_UDP:
		return has(features, VIRTIO_NET_F_HOST_UFO) ? NULL : "UDP GSO without HOST_UFO";
	}
	return "an unknown GSO type";
}

/* Ethernet and up to two VLAN tags: where the IP header starts. */
static const char *parse_l2(struct gso_plan *p, uint16_t *ethertype)
{
	uint32_t off = ETH_HLEN;
	uint16_t type;

	if (p->head_len < ETH_HLEN)
		return "GSO frame shorter than an Ethernet header";
	type = be16(p->hdr + 12);
	for (int tags = 0; (type == ETH_P_8021Q || type == ETH_P_8021AD) && tags < VLAN_TAGS_MAX;
	     tags++) {
		if (off + 4 > p->head_len)
			return "GSO frame ends inside its VLAN tags";
		type = be16(p->hdr + off + 2);
		off += 4;
	}
	p->l3 = (uint16_t)off;
	*ethertype = type;
	return NULL;
}

static const char *parse_ipv4(struct gso_plan *p, uint8_t *proto)
{
	const uint8_t *ip = p->hdr + p->l3;
	uint32_t ihl;

	if (p->l3 + 20u > p->head_len || (ip[0] >> 4) != 4)
		return "GSO frame without a whole IPv4 header";
	ihl = (ip[0] & 15u) * 4u;
	if (ihl < 20 || p->l3 + ihl > p->head_len)
		return "IPv4 header length out of the frame's headers";
	if (be16(ip + 6) & (IP_MF | IP_OFFSET))
		return "GSO frame is an IPv4 fragment";
	*proto = ip[9];
	p->l4 = (uint16_t)(p->l3 + ihl);
	return NULL;
}

static const char *parse_ipv6(struct gso_plan *p, uint8_t *proto)
{
	const uint8_t *ip = p->hdr + p->l3;
	uint32_t off = p->l3 + IPV6_HLEN;
	uint8_t nh;

	if (off > p->head_len || (ip[0] >> 4) != 6)
		return "GSO frame without a whole IPv6 header";
	nh = ip[6];
	for (int n = 0; nh == NH_HOP_BY_HOP || nh == NH_ROUTING || nh == NH_DEST_OPTS; n++) {
		uint32_t len;

		if (n == IPV6_EXT_MAX || off + 8 > p->head_len)
			return "IPv6 extension headers out of the frame's headers";
		len = (p->hdr[off + 1] + 1u) * 8u;
		nh = p->hdr[off];
		off += len;
		if (off > p->head_len)
			return "IPv6 extension headers out of the frame's headers";
	}
	if (nh == NH_FRAGMENT)
		return "GSO frame is an IPv6 fragment";
	*proto = nh;
	p->l4 = (uint16_t)off;
	return NULL;
}

const char *gso_check(const struct vnet_hdr *in, uint64_t features, uint32_t frame_len,
		      struct gso_plan *p)
{
	uint8_t type = in->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN, proto = 0;
	uint16_t ethertype;
	const char *why;

	p->wire_type = in->gso_type;
	p->type = type;
	p->gso_size = in->gso_size;
	if ((why = sender_may(type, features)))
		return why;
	if ((in->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !has(features, VIRTIO_NET_F_HOST_ECN))
		return "ECN GSO without HOST_ECN";
	if (!(in->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return "GSO frame without NEEDS_CSUM";
	if (in->gso_size == 0)
		return "GSO frame with gso_size 0";
	if (in->hdr_len > frame_len)
		return "GSO hdr_len past the end of the frame";
	if ((why = parse_l2(p, &ethertype)))
		return why;
	p->ipv6 = type == VIRTIO_NET_HDR_GSO_TCPV6;
	p->udp = type == VIRTIO_NET_HDR_GSO_UDP;
	if (p->udp)
		p->ipv6 = ethertype == ETH_P_IPV6;
	if (ethertype != (p->ipv6 ? ETH_P_IPV6 : ETH_P_IPV4))
		return type == VIRTIO_NET_HDR_GSO_TCPV4 ? "TCPv4 GSO over a frame that is not IPv4"
		       : type == VIRTIO_NET_HDR_GSO_TCPV6 ? "TCPv6 GSO over a frame that is not IPv6"
							  : "UDP GSO over a frame that is not IP";
	why = p->ipv6 ? parse_ipv6(p, &proto) : parse_ipv4(p, &proto);
	if (why)
		return why;
	if (proto != (p->udp ? PROTO_UDP : PROTO_TCP))
		return p->udp ? "UDP GSO over a payload that is not UDP"
			      : "TCP GSO over a payload that is not TCP";

	if (p->udp) {
		if (p->l4 + UDP_HLEN > p->head_len)
			return "GSO frame without a whole UDP header";
		/* One datagram, as long as the frame says. */
		if (be16(p->hdr + p->l4 + 4) != frame_len - p->l4)
			return "UDP length does not match the GSO frame";
		/* Only the fixed header is repeated in fragments: options and
		 * extension headers would each need their own rules. */
		if (p->ipv6 ? p->l4 != p->l3 + IPV6_HLEN : p->l4 != p->l3 + 20u)
			return "UFO over IP with options or extension headers";
		p->l4_hdr_len = (uint16_t)(p->l4 + UDP_HLEN);
		p->csum_offset = UDP_CSUM_OFFSET;
		p->tmpl_len = p->l4;
		/* Fragment offsets count 8-byte units. */
		p->seg_data = (uint16_t)(in->gso_size & ~7u);
		if (p->seg_data == 0)
			return "UFO gso_size below 8";
	} else {
		uint32_t thlen;

		if (p->l4 + TCP_HLEN > p->head_len)
			return "GSO frame without a whole TCP header";
		thlen = (p->hdr[p->l4 + 12] >> 4) * 4u;
		if (thlen < TCP_HLEN || p->l4 + thlen > p->head_len)
			return "TCP header length out of the frame's headers";
		p->l4_hdr_len = (uint16_t)(p->l4 + thlen);
		p->csum_offset = TCP_CSUM_OFFSET;
		p->tmpl_len = p->l4_hdr_len;
		p->seg_data = in->gso_size;
	}
	if (in->csum_start != p->l4 || in->csum_offset != p->csum_offset)
		return "GSO checksum request not at the L4 checksum";
	if (p->l4_hdr_len > frame_len)
		return "GSO frame shorter than its headers";
	p->data_len = frame_len - p->tmpl_len;
	p->segments = p->data_len ? (p->data_len + p->seg_data - 1) / p->seg_data : 1;
	if (p->segments > GSO_SEGS_MAX)
		return "GSO frame of more than 256 segments";
	/* Each segment must still be an IP packet. */
	if (p->tmpl_len - p->l3 + GSO_FRAG6_LEN + (p->segments > 1 ? p->seg_data : p->data_len) >
	    65535u)
		return "GSO segments larger than an IP packet";
	return NULL;
}

bool gso_receiver_takes(const struct gso_plan *p, uint64_t features)
{
	/* Every GSO frame is a partial checksum: GUEST_CSUM comes first. */
	if (!has(features, VIRTIO_NET_F_GUEST_CSUM))
		return false;
	if ((p->wire_type & VIRTIO_NET_HDR_GSO_ECN) && !has(features, VIRTIO_NET_F_GUEST_ECN))
		return false;
	switch (p->type) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return has(features, VIRTIO_NET_F_GUEST_TSO4);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return has(features, VIRTIO_NET_F_GUEST_TSO6);
	case VIRTIO_NET_HDR_GSO_UDP:
		return has(features, VIRTIO_NET_F_GUEST_UFO);
	}
	return false;
}

void gso_whole_header(const struct gso_plan *p, struct vnet_hdr *out)
{
	memset(out, 0, sizeof *out);
	out->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	out->gso_type = p->wire_type;
	out->gso_size = p->gso_size;
	/* What the headers really take, whatever the sender said. */
	out->hdr_len = p->l4_hdr_len;
	out->csum_start = p->l4;
	out->csum_offset = p->csum_offset;
	out->num_buffers = 1;
}

/* The folded pseudo-header sum for an L4 length, in memory order. */
static uint16_t pseudo_sum(const struct gso_plan *p, uint32_t l4_len)
{
	const uint8_t *ip = p->hdr + p->l3;
	struct csum_acc acc = { 0 };
	uint8_t tail[8] = { 0 };

	if (p->ipv6) {
		csum_add(&acc, ip + 8, 32); /* source and destination */
		put_be32(tail, l4_len);
		tail[7] = p->udp ? PROTO_UDP : PROTO_TCP;
		csum_add(&acc, tail, 8);
	} else {
		csum_add(&acc, ip + 12, 8);
		tail[1] = p->udp ? PROTO_UDP : PROTO_TCP;
		put_be16(tail + 2, (uint16_t)l4_len);
		csum_add(&acc, tail, 4);
	}
	return csum_fold(&acc);
}

static void ipv4_fix(uint8_t *ip, uint16_t tot_len, uint16_t id, uint16_t frag)
{
	struct csum_acc acc = { 0 };
	uint32_t ihl = (ip[0] & 15u) * 4u;
	uint16_t sum;

	put_be16(ip + 2, tot_len);
	put_be16(ip + 4, id);
	put_be16(ip + 6, frag);
	ip[10] = ip[11] = 0;
	csum_add(&acc, ip, ihl);
	sum = csum_finish(&acc);
	memcpy(ip + 10, &sum, 2);
}

static unsigned tcp_segment_header(const struct gso_plan *p, uint32_t i, uint32_t data,
				   uint8_t *out)
{
	uint8_t *ip = out + p->l3, *th = out + p->l4;
	uint32_t l4_len = p->tmpl_len - p->l4 + data;
	uint8_t flags = p->hdr[p->l4 + 13];
	uint16_t seed;

	memcpy(out, p->hdr, p->tmpl_len);
	if (p->ipv6)
		put_be16(ip + 4, (uint16_t)(p->tmpl_len - p->l3 - IPV6_HLEN + data));
	else
		ipv4_fix(ip, (uint16_t)(p->tmpl_len - p->l3 + data), (uint16_t)(be16(ip + 4) + i),
			 be16(ip + 6));
	put_be32(th + 4, be32(th + 4) + i * p->seg_data);
	/* CWR belongs to the first segment, FIN and PSH to the last. */
	if (i > 0)
		flags &= (uint8_t)~TCP_FLAG_CWR;
	if (i + 1 < p->segments)
		flags &= (uint8_t)~(TCP_FLAG_FIN | TCP_FLAG_PSH);
	th[13] = flags;
	seed = pseudo_sum(p, l4_len);
	memcpy(th + TCP_CSUM_OFFSET, &seed, 2);
	return p->tmpl_len;
}

static unsigned udp_fragment_header(const struct gso_plan *p, uint32_t i, uint32_t data,
				    uint8_t *out)
{
	uint32_t offset = i * p->seg_data;
	bool last = i + 1 == p->segments;
	uint8_t *ip = out + p->l3;

	memcpy(out, p->hdr, p->tmpl_len);
	if (!p->ipv6) {
		/* DF cannot hold for a datagram that is being fragmented. */
		uint16_t frag = (uint16_t)((be16(ip + 6) & ~(IP_DF | IP_MF | IP_OFFSET)) |
					   (offset >> 3) | (last ? 0 : IP_MF));

		ipv4_fix(ip, (uint16_t)(p->tmpl_len - p->l3 + data), be16(ip + 4), frag);
		return p->tmpl_len;
	}
	/* IPv6: a fragment header after the fixed one. */
	ip[6] = NH_FRAGMENT;
	put_be16(ip + 4, (uint16_t)(GSO_FRAG6_LEN + data));
	out[p->tmpl_len] = PROTO_UDP;
	out[p->tmpl_len + 1] = 0;
	put_be16(out + p->tmpl_len + 2, (uint16_t)(offset | (last ? 0 : 1)));
	put_be32(out + p->tmpl_len + 4, p->frag6_id);
	return p->tmpl_len + GSO_FRAG6_LEN;
}

unsigned gso_segment_header(const struct gso_plan *p, uint32_t i, uint32_t data, uint8_t *out)
{
	return p->udp ? udp_fragment_header(p, i, data, out) : tcp_segment_header(p, i, data, out);
}

void gso_udp_header(const struct gso_plan *p, uint8_t out[8])
{
	uint16_t seed = pseudo_sum(p, p->data_len);

	memcpy(out, p->hdr + p->l4, UDP_HLEN);
	memcpy(out + UDP_CSUM_OFFSET, &seed, 2);
}
