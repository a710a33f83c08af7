/* SPDX-License-Identifier: MIT */
/* GSO test frames: the builder and the verifier (gso_frames.h). */
#include "gso_frames.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETH_HLEN 14u
#define TYPE_IPV4 0x0800u
#define TYPE_IPV6 0x86ddu
#define TYPE_VLAN 0x8100u
#define TYPE_QINQ 0x88a8u
#define PROTO_HOPOPTS 0u
#define PROTO_TCP 6u
#define PROTO_UDP 17u
#define PROTO_FRAG 44u
#define PROTO_DSTOPTS 60u
#define IPV4_DF 0x4000u
#define IPV4_MF 0x2000u
#define HDR_F_NEEDS_CSUM 1u /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
#define TCP_CSUM_OFF 16u
#define UDP_CSUM_OFF 6u

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

/* ---- checksums ------------------------------------------------------------------- */

uint64_t gso_csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

uint16_t gso_csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The pseudo-header's sum (RFC 793 / RFC 8200 8.1): addresses, protocol, length. */
static uint64_t pseudo_sum(const uint8_t *l3, bool ipv6, uint8_t proto, size_t l4_len)
{
	uint64_t sum = ipv6 ? gso_csum_add(0, l3 + 8, 32) : gso_csum_add(0, l3 + 12, 8);

	return sum + proto + (l4_len >> 16) + (l4_len & 0xffff);
}

uint16_t gso_csum_verify(const uint8_t *l3, bool ipv6, uint8_t proto, const uint8_t *l4,
			 size_t l4_len)
{
	return gso_csum_fold(gso_csum_add(pseudo_sum(l3, ipv6, proto, l4_len), l4, l4_len));
}

bool gso_csum_complete(uint8_t *frame, size_t len, uint16_t csum_start, uint16_t csum_offset)
{
	size_t field = (size_t)csum_start + csum_offset;
	uint16_t sum;

	if (csum_start > len || field + 2 > len)
		return false;
	sum = (uint16_t)~gso_csum_fold(gso_csum_add(0, frame + csum_start, len - csum_start));
	/* As Linux's skb_checksum_help: a UDP checksum of 0 would mean "none". */
	put16(frame + field, sum ? sum : 0xffff);
	return true;
}

/* The L4 checksum a correct sender would put into the field at off of the
 * l4_len bytes at l4 (off is even, so the two halves keep their alignment). */
static uint16_t l4_csum_expected(const uint8_t *l3, bool ipv6, uint8_t proto, const uint8_t *l4,
				 size_t l4_len, size_t off)
{
	uint64_t sum = pseudo_sum(l3, ipv6, proto, l4_len);

	sum = gso_csum_add(sum, l4, off);
	sum = gso_csum_add(sum, l4 + off + 2, l4_len - off - 2);
	return (uint16_t)~gso_csum_fold(sum);
}

/* ---- the builder ----------------------------------------------------------------- */

uint8_t gso_payload_byte(uint32_t seed, size_t i)
{
	uint32_t x = seed * 0x9e3779b1u + (uint32_t)i * 0x85ebca6bu;

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	return (uint8_t)(x >> 24);
}

static bool spec_ok(const struct gso_spec *s)
{
	if (s->vlan > 2 || s->ipv6_ext > GSO_EXT_DSTOPTS || s->payload_len > 65535)
		return false;
	if (s->ipv6 ? s->ip_opt_len != 0 : s->ipv6_ext != GSO_EXT_NONE)
		return false;
	if (s->ip_opt_len % 4 || s->ip_opt_len > 40 || s->tcp_opt_len % 4 || s->tcp_opt_len > 40)
		return false;
	if (s->udp && (s->tcp_opt_len || s->ecn))
		return false;
	/* GSO needs something to cut; a UDP fragment carries 8-byte units. */
	if (s->gso_size && (!s->payload_len || (s->udp && s->gso_size < 8)))
		return false;
	return true;
}

static const uint8_t *or_default(const uint8_t *given, size_t len, const uint8_t *fallback)
{
	for (size_t i = 0; i < len; i++)
		if (given[i])
			return given;
	return fallback;
}

static size_t build_l2(uint8_t *f, const struct gso_spec *s)
{
	static const uint8_t dst[6] = { 2, 0, 0, 0, 0, 2 }, src[6] = { 2, 0, 0, 0, 0, 1 };
	size_t at = 12;

	memcpy(f, or_default(s->dst_mac, 6, dst), 6);
	memcpy(f + 6, or_default(s->src_mac, 6, src), 6);
	for (unsigned t = 0; t < s->vlan; t++) {
		bool outer = s->vlan == 2 && t == 0;
		uint16_t tci = s->vlan_tci[t] ? s->vlan_tci[t] : outer ? 200 : 100;

		put16(f + at, outer ? TYPE_QINQ : TYPE_VLAN);
		put16(f + at + 2, tci);
		at += 4;
	}
	put16(f + at, s->ipv6 ? TYPE_IPV6 : TYPE_IPV4);
	return at + 2;
}

static void build_ipv4(uint8_t *ip, const struct gso_spec *s, size_t ip_len)
{
	static const uint8_t src[4] = { 10, 0, 0, 1 }, dst[4] = { 10, 0, 0, 2 };
	size_t hl = 20 + s->ip_opt_len;

	ip[0] = (uint8_t)(0x40 | hl / 4);
	ip[1] = s->tos;
	put16(ip + 2, (uint16_t)ip_len);
	put16(ip + 4, s->ip_id);
	put16(ip + 6, s->df ? IPV4_DF : 0);
	ip[8] = 64;
	ip[9] = (uint8_t)(s->udp ? PROTO_UDP : PROTO_TCP);
	put16(ip + 10, 0);
	memcpy(ip + 12, or_default(s->saddr, 4, src), 4);
	memcpy(ip + 16, or_default(s->daddr, 4, dst), 4);
	/* Stream ID options (type 136: copied into fragments), distinct ids. */
	for (size_t o = 20; o < hl; o += 4) {
		ip[o] = 0x88;
		ip[o + 1] = 4;
		put16(ip + o + 2, (uint16_t)(0x1000 + o));
	}
	put16(ip + 10, (uint16_t)~gso_csum_fold(gso_csum_add(0, ip, hl)));
}

static size_t build_ipv6(uint8_t *ip, const struct gso_spec *s, size_t payload_len)
{
	static const uint8_t src[16] = { 0xfd, [15] = 1 }, dst[16] = { 0xfd, [15] = 2 };
	uint8_t l4 = (uint8_t)(s->udp ? PROTO_UDP : PROTO_TCP);

	put32(ip, 6u << 28 | (uint32_t)s->tos << 20);
	put16(ip + 4, (uint16_t)payload_len);
	ip[6] = s->ipv6_ext == GSO_EXT_NONE      ? l4
		: s->ipv6_ext == GSO_EXT_HOPOPTS ? PROTO_HOPOPTS
						 : PROTO_DSTOPTS;
	ip[7] = 64;
	memcpy(ip + 8, or_default(s->saddr, 16, src), 16);
	memcpy(ip + 24, or_default(s->daddr, 16, dst), 16);
	if (s->ipv6_ext == GSO_EXT_NONE)
		return 40;
	/* Next header, length 0 (8 bytes), one PadN option of 4 zero bytes. */
	memcpy(ip + 40, (const uint8_t[8]){ l4, 0, 1, 4, 0, 0, 0, 0 }, 8);
	return 48;
}

static void build_tcp(uint8_t *th, const struct gso_spec *s)
{
	size_t hl = 20 + s->tcp_opt_len, o = 20;

	put16(th, s->sport ? s->sport : 40000);
	put16(th + 2, s->dport ? s->dport : 5001);
	put32(th + 4, s->seq);
	put32(th + 8, s->ack);
	th[12] = (uint8_t)(hl / 4 << 4);
	th[13] = (uint8_t)(s->tcp_flags | (s->ecn ? GSO_TCP_CWR : 0));
	put16(th + 14, s->window ? s->window : 502);
	put16(th + 16, 0);
	put16(th + 18, 0);
	/* NOP, NOP, timestamps as Linux sends them; NOPs for the rest. */
	if (hl - o >= 12) {
		memcpy(th + o, (const uint8_t[4]){ 1, 1, 8, 10 }, 4);
		put32(th + o + 4, s->seed ^ 0x7473766cu);
		put32(th + o + 8, s->seed * 3u + 1u);
		o += 12;
	}
	memset(th + o, 1, hl - o);
}

size_t gso_build(uint8_t *buf, size_t cap, const struct gso_spec *s, struct vnd_tx_meta *meta)
{
	size_t l3, l4, l4_hdr, ip_hdr, ip_len, l4_len, len;
	uint8_t proto = (uint8_t)(s->udp ? PROTO_UDP : PROTO_TCP);
	uint16_t type;

	if (!spec_ok(s))
		return 0;
	l3 = ETH_HLEN + 4u * s->vlan;
	ip_hdr = s->ipv6 ? 40u + (s->ipv6_ext ? 8u : 0u) : 20u + s->ip_opt_len;
	l4 = l3 + ip_hdr;
	l4_hdr = s->udp ? 8u : 20u + s->tcp_opt_len;
	l4_len = l4_hdr + s->payload_len;
	/* IPv6's payload length counts extension headers, not the fixed header. */
	ip_len = s->ipv6 ? ip_hdr - 40 + l4_len : ip_hdr + l4_len;
	len = l4 + l4_len;
	if (ip_len > 65535 || len > cap)
		return 0;

	build_l2(buf, s);
	if (s->ipv6)
		build_ipv6(buf + l3, s, ip_len);
	else
		build_ipv4(buf + l3, s, ip_len);
	if (s->udp) {
		put16(buf + l4, s->sport ? s->sport : 40000);
		put16(buf + l4 + 2, s->dport ? s->dport : 5001);
		put16(buf + l4 + 4, (uint16_t)l4_len);
	} else {
		build_tcp(buf + l4, s);
	}
	for (size_t i = 0; i < s->payload_len; i++)
		buf[l4 + l4_hdr + i] = gso_payload_byte(s->seed, i);
	/* CHECKSUM_PARTIAL: the pseudo-header's sum, folded, not inverted. */
	put16(buf + l4 + (s->udp ? UDP_CSUM_OFF : TCP_CSUM_OFF),
	      gso_csum_fold(pseudo_sum(buf + l3, s->ipv6, proto, l4_len)));

	type = s->udp ? VND_GSO_UDP : s->ipv6 ? VND_GSO_TCPV6 : VND_GSO_TCPV4;
	*meta = (struct vnd_tx_meta){
		.needs_csum = true,
		.csum_start = (uint16_t)l4,
		.csum_offset = (uint16_t)(s->udp ? UDP_CSUM_OFF : TCP_CSUM_OFF),
	};
	if (s->gso_size) {
		meta->gso_type = (uint8_t)(type | (s->ecn ? VND_GSO_ECN : 0));
		meta->gso_size = s->gso_size;
		meta->hdr_len = (uint16_t)(l4 + l4_hdr);
	}
	return len;
}

/* ---- parsing --------------------------------------------------------------------- */

/* Where a frame's headers lie. */
struct layout {
	size_t l3;        /* the IP header */
	unsigned tags;
	bool ipv6;
	size_t ip_hdr;    /* IPv4: IHL * 4; IPv6: 40 */
	size_t ext;       /* IPv6: bytes of extension headers after the fixed header */
	uint8_t ext_type; /* the first one's type (the IPv6 header's next header) */
	uint8_t proto;    /* TCP or UDP */
	size_t l4;
	size_t l4_hdr;
	size_t hdr;       /* all headers: l4 + l4_hdr */
};

struct report {
	char *msg;
	size_t msglen;
	char who[64]; /* the frame being judged */
};

static int fail(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct report *r, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (r->msg)
		snprintf(r->msg, r->msglen, "%s%s%s", r->who, r->who[0] ? ": " : "", text);
	else
		fprintf(stderr, "gso_verify: %s%s%s\n", r->who, r->who[0] ? ": " : "", text);
	return -1;
}

/* The Ethernet header and its tags: where L3 starts, or 0. */
static size_t parse_l2(const uint8_t *f, size_t len, unsigned *tags, uint16_t *ethertype)
{
	size_t at = 12;

	*tags = 0;
	for (;;) {
		uint16_t type;

		if (at + 2 > len)
			return 0;
		type = get16(f + at);
		if ((type != TYPE_VLAN && type != TYPE_QINQ) || *tags == 2) {
			*ethertype = type;
			return at + 2;
		}
		at += 4;
		++*tags;
	}
}

/* The sent super-frame: Ethernet, IPv4 or IPv6 (hop-by-hop and
 * destination options allowed), TCP or UDP, lengths consistent. */
static int parse_sent(struct report *r, const uint8_t *f, size_t len, struct layout *p)
{
	uint16_t type;
	uint8_t next;

	memset(p, 0, sizeof *p);
	p->l3 = parse_l2(f, len, &p->tags, &type);
	if (!p->l3)
		return fail(r, "shorter than an Ethernet header");
	if (type == TYPE_IPV4) {
		if (p->l3 + 20 > len || f[p->l3] >> 4 != 4 || (f[p->l3] & 15) < 5)
			return fail(r, "no IPv4 header");
		p->ip_hdr = (f[p->l3] & 15u) * 4u;
		if (get16(f + p->l3 + 2) != len - p->l3)
			return fail(r, "IPv4 total length %u, but %zu bytes follow the Ethernet header",
				    get16(f + p->l3 + 2), len - p->l3);
		if (get16(f + p->l3 + 6) & (IPV4_MF | 0x1fff))
			return fail(r, "an IPv4 fragment");
		next = f[p->l3 + 9];
	} else if (type == TYPE_IPV6) {
		p->ipv6 = true;
		p->ip_hdr = 40;
		if (p->l3 + 40 > len || f[p->l3] >> 4 != 6)
			return fail(r, "no IPv6 header");
		if (get16(f + p->l3 + 4) != len - p->l3 - 40)
			return fail(r, "IPv6 payload length %u, but %zu bytes follow the IPv6 header",
				    get16(f + p->l3 + 4), len - p->l3 - 40);
		next = p->ext_type = f[p->l3 + 6];
		while (next == PROTO_HOPOPTS || next == PROTO_DSTOPTS) {
			size_t at = p->l3 + 40 + p->ext;

			if ((next == PROTO_HOPOPTS && p->ext) || at + 8 > len)
				return fail(r, "a bad IPv6 extension header at byte %zu", at);
			next = f[at];
			p->ext += (f[at + 1] + 1u) * 8u;
		}
	} else {
		return fail(r, "ethertype 0x%04x is neither IPv4 nor IPv6", type);
	}
	p->proto = next;
	p->l4 = p->l3 + p->ip_hdr + p->ext;
	if (next == PROTO_TCP) {
		if (p->l4 + 20 > len || (f[p->l4 + 12] >> 4) < 5)
			return fail(r, "no TCP header");
		p->l4_hdr = (f[p->l4 + 12] >> 4) * 4u;
	} else if (next == PROTO_UDP) {
		p->l4_hdr = 8;
		if (p->l4 + 8 > len || get16(f + p->l4 + 4) != len - p->l4)
			return fail(r, "no UDP header, or its length is not the datagram's");
	} else {
		return fail(r, "L4 protocol %u is neither TCP nor UDP", next);
	}
	p->hdr = p->l4 + p->l4_hdr;
	if (p->hdr > len)
		return fail(r, "headers of %zu bytes in a frame of %zu", p->hdr, len);
	return 0;
}

/* What a sent frame's meta must say for it to be a GSO super-packet. */
static int check_sent_meta(struct report *r, const struct layout *p, const struct vnd_tx_meta *m)
{
	uint8_t type = m->gso_type & (uint8_t)~VND_GSO_ECN;
	uint8_t want = p->proto == PROTO_UDP ? VND_GSO_UDP : p->ipv6 ? VND_GSO_TCPV6 : VND_GSO_TCPV4;

	if (type != want || (p->proto == PROTO_UDP && (m->gso_type & VND_GSO_ECN)))
		return fail(r, "gso_type 0x%02x does not describe this frame (0x%02x would)",
			    m->gso_type, want);
	if (!m->gso_size || !m->needs_csum || m->csum_start != p->l4 ||
	    m->csum_offset != (p->proto == PROTO_UDP ? UDP_CSUM_OFF : TCP_CSUM_OFF))
		return fail(r, "gso_size %u, needs_csum %d, csum_start %u, csum_offset %u: not a "
			       "GSO request for the L4 checksum at %zu",
			    m->gso_size, m->needs_csum, m->csum_start, m->csum_offset, p->l4);
	if (p->proto == PROTO_UDP && m->gso_size < 8)
		return fail(r, "UDP gso_size %u is under one 8-byte fragment unit", m->gso_size);
	return 0;
}

/* ---- naming what differs ------------------------------------------------------------ */

static const char *l2_field(size_t off, size_t l3)
{
	if (off < 6)
		return "Ethernet destination";
	if (off < 12)
		return "Ethernet source";
	return off + 2 >= l3 ? "ethertype" : "VLAN tag";
}

static const char *ipv4_field(size_t off)
{
	static const char *const name[20] = {
		"IPv4 version/IHL", "IPv4 TOS", "IPv4 total length", "IPv4 total length",
		"IPv4 ID", "IPv4 ID", "IPv4 flags/fragment offset", "IPv4 flags/fragment offset",
		"IPv4 TTL", "IPv4 protocol", "IPv4 header checksum", "IPv4 header checksum",
		"IPv4 source", "IPv4 source", "IPv4 source", "IPv4 source",
		"IPv4 destination", "IPv4 destination", "IPv4 destination", "IPv4 destination",
	};

	return off < 20 ? name[off] : "IPv4 options";
}

static const char *ipv6_field(size_t off)
{
	if (off < 4)
		return "IPv6 version/class/flow label";
	if (off < 6)
		return "IPv6 payload length";
	if (off == 6)
		return "IPv6 next header";
	if (off == 7)
		return "IPv6 hop limit";
	if (off < 24)
		return "IPv6 source";
	if (off < 40)
		return "IPv6 destination";
	return "IPv6 extension header";
}

static const char *tcp_field(size_t off)
{
	static const char *const name[20] = {
		"TCP source port", "TCP source port", "TCP destination port", "TCP destination port",
		"TCP sequence number", "TCP sequence number", "TCP sequence number",
		"TCP sequence number", "TCP acknowledgment number", "TCP acknowledgment number",
		"TCP acknowledgment number", "TCP acknowledgment number", "TCP data offset",
		"TCP flags", "TCP window", "TCP window", "TCP checksum", "TCP checksum",
		"TCP urgent pointer", "TCP urgent pointer",
	};

	return off < 20 ? name[off] : "TCP options";
}

static const char *udp_field(size_t off)
{
	static const char *const name[8] = {
		"UDP source port", "UDP source port", "UDP destination port", "UDP destination port",
		"UDP length", "UDP length", "UDP checksum", "UDP checksum",
	};

	return off < 8 ? name[off] : "UDP data";
}

/* The name of the sent frame's byte at off. */
static const char *field_at(const struct layout *p, size_t off)
{
	if (off < p->l3)
		return l2_field(off, p->l3);
	if (off < p->l4)
		return p->ipv6 ? ipv6_field(off - p->l3) : ipv4_field(off - p->l3);
	if (off < p->hdr)
		return p->proto == PROTO_TCP ? tcp_field(off - p->l4) : udp_field(off - p->l4);
	return "payload";
}

/* Bytes [from, to) of got against want, except those skip() names (checked
 * on their own). */
static int same_bytes(struct report *r, const struct layout *p, const uint8_t *got,
		      const uint8_t *want, size_t from, size_t to, bool (*skip)(const struct layout *, size_t))
{
	for (size_t i = from; i < to; i++)
		if (got[i] != want[i] && !(skip && skip(p, i)))
			return fail(r, "%s (byte %zu) is 0x%02x, sent 0x%02x", field_at(p, i), i, got[i],
				    want[i]);
	return 0;
}

/* ---- outcome (a): passed through ------------------------------------------------------ */

static int verify_pass(struct report *r, const uint8_t *sent, size_t sent_len,
		       const struct vnd_tx_meta *m, const struct layout *p,
		       const struct gso_rx_frame *rx, size_t count)
{
	const struct vnd_rx_meta *g = &rx[0].meta;
	uint16_t csum_offset = p->proto == PROTO_UDP ? UDP_CSUM_OFF : TCP_CSUM_OFF;

	if (count != 1)
		return fail(r, "%zu frames received, a passed-through super-packet is one", count);
	snprintf(r->who, sizeof r->who, "pass-through: frame 0");
	if (rx[0].len != sent_len)
		return fail(r, "length %zu, sent %zu", rx[0].len, sent_len);
	if (same_bytes(r, p, rx[0].data, sent, 0, sent_len, NULL))
		return -1;
	if (g->gso_type != m->gso_type)
		return fail(r, "meta gso_type 0x%02x, sent 0x%02x", g->gso_type, m->gso_type);
	if (g->gso_size != m->gso_size)
		return fail(r, "meta gso_size %u, sent %u", g->gso_size, m->gso_size);
	if (!(g->flags & HDR_F_NEEDS_CSUM))
		return fail(r, "meta flags 0x%02x without NEEDS_CSUM", g->flags);
	if (g->csum_start != p->l4 || g->csum_offset != csum_offset)
		return fail(r, "meta csum_start %u csum_offset %u, the L4 checksum is at %zu + %u",
			    g->csum_start, g->csum_offset, p->l4, csum_offset);
	if (g->hdr_len != p->hdr)
		return fail(r, "meta hdr_len %u, the headers are %zu bytes", g->hdr_len, p->hdr);
	return 0;
}

/* ---- outcome (b): TCP segments ---------------------------------------------------- */

/* IPv4: total length, ID and checksum; IPv6: payload length; TCP:
 * sequence, flags and checksum. */
static bool tcp_seg_skip(const struct layout *p, size_t off)
{
	size_t ip = off - p->l3, th = off - p->l4;

	if (off >= p->l3 && off < p->l4)
		return p->ipv6 ? ip == 4 || ip == 5
			       : ip == 2 || ip == 3 || ip == 4 || ip == 5 || ip == 10 || ip == 11;
	if (off >= p->l4 && off < p->hdr)
		return (th >= 4 && th < 8) || th == 13 || th == 16 || th == 17;
	return false;
}

static int verify_tcp_checksum(struct report *r, const struct layout *p, const uint8_t *f,
			       size_t len, const struct vnd_rx_meta *g, uint8_t *scratch)
{
	size_t l4_len = len - p->l4;
	uint16_t field = get16(f + p->l4 + TCP_CSUM_OFF);

	if (!(g->flags & HDR_F_NEEDS_CSUM)) {
		if (gso_csum_verify(f + p->l3, p->ipv6, PROTO_TCP, f + p->l4, l4_len) != 0xffff)
			return fail(r, "TCP checksum 0x%04x does not verify (0x%04x would)", field,
				    l4_csum_expected(f + p->l3, p->ipv6, PROTO_TCP, f + p->l4, l4_len,
						     TCP_CSUM_OFF));
		return 0;
	}
	if (g->csum_start != p->l4 || g->csum_offset != TCP_CSUM_OFF)
		return fail(r, "NEEDS_CSUM with csum_start %u csum_offset %u, the TCP checksum is at "
			       "%zu + %u",
			    g->csum_start, g->csum_offset, p->l4, TCP_CSUM_OFF);
	memcpy(scratch, f, len);
	gso_csum_complete(scratch, len, g->csum_start, g->csum_offset);
	if (gso_csum_verify(scratch + p->l3, p->ipv6, PROTO_TCP, scratch + p->l4, l4_len) != 0xffff)
		return fail(r, "partial TCP checksum 0x%04x does not complete to a valid one (the "
			       "pseudo-header sum for %zu L4 bytes is 0x%04x)",
			    field, l4_len,
			    gso_csum_fold(pseudo_sum(f + p->l3, p->ipv6, PROTO_TCP, l4_len)));
	return 0;
}

static int verify_tcp_segment(struct report *r, const uint8_t *sent, const struct layout *p,
			      const struct vnd_tx_meta *m, size_t i, size_t n, size_t payload,
			      const struct gso_rx_frame *x, uint8_t *scratch)
{
	const uint8_t *f = x->data;
	size_t mss = m->gso_size, at = i * mss, seg = payload - at < mss ? payload - at : mss;
	size_t len = p->hdr + seg;
	uint8_t flags = sent[p->l4 + 13], want_flags;
	uint32_t seq = get32(sent + p->l4 + 4) + (uint32_t)at;

	if (x->meta.gso_type != VND_GSO_NONE)
		return fail(r, "meta gso_type 0x%02x in a segment (NONE expected)", x->meta.gso_type);
	if (x->len != len)
		return fail(r, "length %zu, expected %zu (%zu headers + %zu payload)", x->len, len,
			    p->hdr, seg);
	if (same_bytes(r, p, f, sent, 0, p->hdr, tcp_seg_skip))
		return -1;
	if (p->ipv6) {
		if (get16(f + p->l3 + 4) != len - p->l3 - 40)
			return fail(r, "IPv6 payload length %u, expected %zu", get16(f + p->l3 + 4),
				    len - p->l3 - 40);
	} else {
		uint16_t id = (uint16_t)(get16(sent + p->l3 + 4) + i);

		if (get16(f + p->l3 + 2) != len - p->l3)
			return fail(r, "IPv4 total length %u, expected %zu", get16(f + p->l3 + 2),
				    len - p->l3);
		if (get16(f + p->l3 + 4) != id)
			return fail(r, "IPv4 ID %u, expected %u (first + %zu)", get16(f + p->l3 + 4), id, i);
		if (gso_csum_fold(gso_csum_add(0, f + p->l3, p->ip_hdr)) != 0xffff)
			return fail(r, "IPv4 header checksum 0x%04x does not verify",
				    get16(f + p->l3 + 10));
	}
	if (get32(f + p->l4 + 4) != seq)
		return fail(r, "TCP sequence number %u, expected %u (first + %zu)", get32(f + p->l4 + 4),
			    seq, at);
	/* tcp_gso_segment: CWR stays on the first segment, FIN and PSH go to the last. */
	want_flags = flags & (uint8_t)~(GSO_TCP_CWR | GSO_TCP_FIN | GSO_TCP_PSH);
	if (i == 0)
		want_flags |= flags & GSO_TCP_CWR;
	if (i + 1 == n)
		want_flags |= flags & (GSO_TCP_FIN | GSO_TCP_PSH);
	if (f[p->l4 + 13] != want_flags)
		return fail(r, "TCP flags 0x%02x, expected 0x%02x (sent 0x%02x)", f[p->l4 + 13],
			    want_flags, flags);
	for (size_t k = 0; k < seg; k++)
		if (f[p->hdr + k] != sent[p->hdr + at + k])
			return fail(r, "payload byte %zu (super-packet payload byte %zu) is 0x%02x, sent "
				       "0x%02x",
				    k, at + k, f[p->hdr + k], sent[p->hdr + at + k]);
	return verify_tcp_checksum(r, p, f, len, &x->meta, scratch);
}

static int verify_tcp(struct report *r, const uint8_t *sent, size_t sent_len,
		      const struct vnd_tx_meta *m, const struct layout *p,
		      const struct gso_rx_frame *rx, size_t count)
{
	size_t payload = sent_len - p->hdr, n = gso_segment_count(sent, sent_len, m);
	uint8_t *scratch;
	int rc = 0;

	if (count != n)
		return fail(r, "%zu frames received, expected %zu segments (payload %zu, gso_size %u)",
			    count, n, payload, m->gso_size);
	scratch = malloc(p->hdr + m->gso_size);
	if (!scratch)
		return fail(r, "out of memory");
	for (size_t i = 0; i < n && !rc; i++) {
		snprintf(r->who, sizeof r->who, "segmented: segment %zu of %zu", i, n);
		rc = verify_tcp_segment(r, sent, p, m, i, n, payload, &rx[i], scratch);
	}
	free(scratch);
	return rc;
}

/* ---- outcome (c): UDP fragments ----------------------------------------------------- */

/* The fragmentation of one datagram: what every fragment is compared with. */
struct frag_plan {
	size_t unfrag;      /* IPv6: fixed header and extension headers before the fragment header */
	bool ext_after;     /* IPv6: the destination options header follows the fragment header */
	size_t data;        /* where fragment data starts in a fragment */
	size_t total;       /* bytes of the fragmentable part */
	size_t unit;        /* data bytes of every fragment but the last */
	uint32_t id;        /* the first fragment's identification */
	uint8_t *whole;     /* the fragmentable part, reassembled */
};

/* IPv4: total length, ID, flags/offset and checksum. */
static bool ipv4_frag_skip(const struct layout *p, size_t off)
{
	size_t ip = off - p->l3;

	return off >= p->l3 && ip != 0 && ip != 1 && ip != 8 && ip != 9 && ip < 12;
}

static int verify_ipv4_fragment(struct report *r, const uint8_t *sent, const struct layout *p,
				struct frag_plan *fp, size_t i, size_t n, const struct gso_rx_frame *x)
{
	const uint8_t *f = x->data, *ip = f + p->l3;
	size_t at = i * fp->unit, chunk = fp->total - at < fp->unit ? fp->total - at : fp->unit;
	/* A fragment has no DF, whatever the datagram had: Linux's UFO
	 * (inet_gso_segment) writes the fragment word whole. */
	uint16_t word = (uint16_t)((i + 1 < n ? IPV4_MF : 0) | at / 8);

	if (x->len != fp->data + chunk)
		return fail(r, "length %zu, expected %zu (%zu headers + %zu data at offset %zu)", x->len,
			    fp->data + chunk, fp->data, chunk, at);
	if (same_bytes(r, p, f, sent, 0, p->l4, ipv4_frag_skip))
		return -1;
	if (get16(ip + 2) != x->len - p->l3)
		return fail(r, "IPv4 total length %u, expected %zu", get16(ip + 2), x->len - p->l3);
	if (i == 0)
		fp->id = get16(ip + 4);
	else if (get16(ip + 4) != fp->id)
		return fail(r, "IPv4 ID %u, the first fragment's is %u", get16(ip + 4), fp->id);
	if (get16(ip + 6) != word)
		return fail(r, "IPv4 flags/fragment offset 0x%04x, expected 0x%04x (DF %s, MF %s, offset "
			       "%zu = byte %zu)",
			    get16(ip + 6), word, (word & IPV4_DF) ? "set" : "clear",
			    (word & IPV4_MF) ? "set" : "clear", at / 8, at);
	if (gso_csum_fold(gso_csum_add(0, ip, p->ip_hdr)) != 0xffff)
		return fail(r, "IPv4 header checksum 0x%04x does not verify", get16(ip + 10));
	memcpy(fp->whole + at, f + fp->data, chunk);
	return 0;
}

/* IPv6: payload length and the next header that now names the fragment header. */
static bool ipv6_frag_skip(const struct layout *p, size_t off)
{
	size_t ip = off - p->l3;

	return off >= p->l3 && (ip == 4 || ip == 5 || ip == 6 || ip == 40);
}

static int verify_ipv6_fragment(struct report *r, const uint8_t *sent, const struct layout *p,
				struct frag_plan *fp, size_t i, size_t n, const struct gso_rx_frame *x)
{
	const uint8_t *f = x->data, *ip = f + p->l3, *fh = ip + fp->unfrag;
	size_t at = i * fp->unit, chunk = fp->total - at < fp->unit ? fp->total - at : fp->unit;
	/* The header before the fragment header names it; the fragment header
	 * names what the unfragmentable part named before. */
	size_t link = fp->unfrag == 40 ? 6 : 40;
	uint8_t inner = fp->ext_after ? PROTO_DSTOPTS : sent[p->l3 + link];
	uint16_t word = (uint16_t)(at | (i + 1 < n ? 1 : 0));

	if (x->len != fp->data + chunk)
		return fail(r, "length %zu, expected %zu (%zu headers + %zu data at offset %zu)", x->len,
			    fp->data + chunk, fp->data, chunk, at);
	if (same_bytes(r, p, f, sent, 0, p->l3 + fp->unfrag, ipv6_frag_skip))
		return -1;
	if (fp->unfrag > 40 && ip[6] != sent[p->l3 + 6])
		return fail(r, "IPv6 next header %u, sent %u", ip[6], sent[p->l3 + 6]);
	if (ip[link] != PROTO_FRAG)
		return fail(r, "%s %u before the fragment header, expected 44",
			    link == 6 ? "IPv6 next header" : "extension header's next header",
			    ip[link]);
	if (get16(ip + 4) != x->len - p->l3 - 40)
		return fail(r, "IPv6 payload length %u, expected %zu", get16(ip + 4),
			    x->len - p->l3 - 40);
	if (fh[0] != inner || fh[1] != 0)
		return fail(r, "fragment header next header %u reserved %u, expected %u and 0", fh[0],
			    fh[1], inner);
	if (get16(fh + 2) != word)
		return fail(r, "fragment offset/M 0x%04x, expected 0x%04x (offset %zu, M %s)",
			    get16(fh + 2), word, at, (word & 1) ? "set" : "clear");
	if (i == 0)
		fp->id = get32(fh + 4);
	else if (get32(fh + 4) != fp->id)
		return fail(r, "fragment identification 0x%08x, the first fragment's is 0x%08x",
			    get32(fh + 4), fp->id);
	memcpy(fp->whole + at, f + fp->data, chunk);
	return 0;
}

/* The reassembled fragmentable part against the datagram sent. */
static int verify_datagram(struct report *r, const uint8_t *sent, const struct layout *p,
			   const struct frag_plan *fp, size_t udp_len)
{
	const uint8_t *udp = fp->whole + (fp->ext_after ? 8 : 0);

	snprintf(r->who, sizeof r->who, "fragmented: reassembled datagram");
	if (fp->ext_after && memcmp(fp->whole, sent + p->l3 + 40, 8))
		return fail(r, "the destination options header differs from the one sent");
	for (size_t k = 0; k < udp_len; k++)
		if (k != UDP_CSUM_OFF && k != UDP_CSUM_OFF + 1 && udp[k] != sent[p->l4 + k])
			return fail(r, "%s (datagram byte %zu, in fragment %zu) is 0x%02x, sent 0x%02x",
				    k < 8 ? udp_field(k) : "UDP data", k,
				    (k + (size_t)(udp - fp->whole)) / fp->unit, udp[k], sent[p->l4 + k]);
	if (get16(udp + UDP_CSUM_OFF) == 0)
		return fail(r, "UDP checksum 0 (none): fragments must carry a complete one");
	if (gso_csum_verify(sent + p->l3, p->ipv6, PROTO_UDP, udp, udp_len) != 0xffff)
		return fail(r, "UDP checksum 0x%04x does not verify (0x%04x would)",
			    get16(udp + UDP_CSUM_OFF),
			    l4_csum_expected(sent + p->l3, p->ipv6, PROTO_UDP, udp, udp_len,
					     UDP_CSUM_OFF));
	return 0;
}

static int verify_udp(struct report *r, const uint8_t *sent, size_t sent_len,
		      const struct vnd_tx_meta *m, const struct layout *p,
		      const struct gso_rx_frame *rx, size_t count)
{
	size_t udp_len = sent_len - p->l4, n;
	struct frag_plan fp = { .unit = m->gso_size & ~7u };
	int rc = 0;

	if (p->ipv6) {
		/* A hop-by-hop header is unfragmentable; a destination options
		 * header may go either way (Linux keeps it before the fragment
		 * header, RFC 8200 4.5 puts it after): the first frame says. */
		fp.ext_after = p->ext_type == PROTO_DSTOPTS && rx[0].len > p->l3 + 6 &&
			       rx[0].data[p->l3 + 6] == PROTO_FRAG;
		fp.unfrag = 40 + (fp.ext_after ? 0 : p->ext);
		fp.data = p->l3 + fp.unfrag + 8;
		fp.total = (fp.ext_after ? p->ext : 0) + udp_len;
	} else {
		fp.data = p->l4;
		fp.total = udp_len;
	}
	n = (fp.total + fp.unit - 1) / fp.unit;
	if (count != n)
		return fail(r, "%zu frames received, expected %zu fragments (%zu bytes to fragment, %zu "
			       "per fragment: gso_size %u rounded down to 8)",
			    count, n, fp.total, fp.unit, m->gso_size);
	fp.whole = malloc(fp.total);
	if (!fp.whole)
		return fail(r, "out of memory");
	for (size_t i = 0; i < n && !rc; i++) {
		snprintf(r->who, sizeof r->who, "fragmented: fragment %zu of %zu", i, n);
		if (rx[i].meta.gso_type != VND_GSO_NONE)
			rc = fail(r, "meta gso_type 0x%02x in a fragment (NONE expected)",
				  rx[i].meta.gso_type);
		else if (rx[i].meta.flags & HDR_F_NEEDS_CSUM)
			rc = fail(r, "NEEDS_CSUM on an IP fragment (a partial checksum cannot be "
				     "completed in one)");
		else if (rx[i].len < fp.data)
			rc = fail(r, "length %zu, shorter than the %zu bytes of headers", rx[i].len,
				  fp.data);
		else if (p->ipv6)
			rc = verify_ipv6_fragment(r, sent, p, &fp, i, n, &rx[i]);
		else
			rc = verify_ipv4_fragment(r, sent, p, &fp, i, n, &rx[i]);
	}
	if (!rc)
		rc = verify_datagram(r, sent, p, &fp, udp_len);
	free(fp.whole);
	return rc;
}

/* ---- entry points ------------------------------------------------------------------ */

size_t gso_segment_count(const uint8_t *sent, size_t sent_len, const struct vnd_tx_meta *meta)
{
	struct report quiet = { .msg = (char[1]){ 0 }, .msglen = 1 };
	struct layout p;
	size_t total, unit;

	if (parse_sent(&quiet, sent, sent_len, &p) || check_sent_meta(&quiet, &p, meta))
		return 0;
	if (p.proto == PROTO_TCP) {
		total = sent_len - p.hdr;
		unit = meta->gso_size;
		return total ? (total + unit - 1) / unit : 1;
	}
	/* UDP: counted without a destination options header moved behind
	 * the fragment header (that is the receiver's choice). */
	total = sent_len - p.l4;
	unit = meta->gso_size & ~7u;
	return (total + unit - 1) / unit;
}

int gso_verify(const uint8_t *sent, size_t sent_len, const struct vnd_tx_meta *meta,
	       const struct gso_rx_frame *rx, size_t count, unsigned allowed, unsigned *seen,
	       char *msg, size_t msglen)
{
	struct report r = { .msg = msg, .msglen = msglen, .who = "sent frame" };
	struct layout p;
	unsigned outcome;

	if (msg && msglen)
		msg[0] = '\0';
	if (seen)
		*seen = 0;
	if (parse_sent(&r, sent, sent_len, &p) || check_sent_meta(&r, &p, meta))
		return -1;
	r.who[0] = '\0';
	if (count == 0)
		return fail(&r, "no frame received");
	outcome = rx[0].meta.gso_type != VND_GSO_NONE ? GSO_OUTCOME_PASS : GSO_OUTCOME_SEGMENTED;
	if (seen)
		*seen = outcome;
	if (!(allowed & outcome))
		return fail(&r, "frame 0 has gso_type 0x%02x: %s, which this receiver must not get",
			    rx[0].meta.gso_type,
			    outcome == GSO_OUTCOME_PASS ? "passed through" : "segmented");
	if (outcome == GSO_OUTCOME_PASS)
		return verify_pass(&r, sent, sent_len, meta, &p, rx, count);
	if (p.proto == PROTO_TCP)
		return verify_tcp(&r, sent, sent_len, meta, &p, rx, count);
	return verify_udp(&r, sent, sent_len, meta, &p, rx, count);
}
