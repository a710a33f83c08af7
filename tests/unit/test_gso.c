/* SPDX-License-Identifier: MIT */
/*
 * net/gso.c: a sender's GSO frame is checked against what it negotiated
 * and what its headers really are, each lie refused with its own reason;
 * the headers of each segment and fragment are rebuilt right (lengths,
 * IDs, offsets, sequence numbers, flags, checksums).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/csum.h"
#include "net/gso.h"

#define F(b) BIT64(VIRTIO_NET_F_##b)
#define ALL_HOST (F(CSUM) | F(HOST_TSO4) | F(HOST_TSO6) | F(HOST_ECN) | F(HOST_UFO))

struct frame {
	uint8_t b[GSO_HDR_MAX + 4096];
	uint32_t len;
	uint32_t l3, l4;
	struct vnet_hdr h;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* A frame as a Linux guest hands it over: Ethernet (VLAN tags), IPv4 or
 * IPv6, TCP (with options) or UDP, then payload bytes. */
static void build(struct frame *f, bool v6, bool udp, unsigned vlans, unsigned tcp_opts,
		  uint32_t payload, uint16_t gso_size)
{
	uint8_t *p = f->b;
	uint32_t off = 12;

	memset(f, 0, sizeof *f);
	memset(p, 0x02, 12);
	for (unsigned i = 0; i < vlans; i++) {
		put16(p + off, 0x8100);
		put16(p + off + 2, (uint16_t)(100 + i));
		off += 4;
	}
	put16(p + off, v6 ? 0x86dd : 0x0800);
	off += 2;
	f->l3 = off;
	if (v6) {
		p[off] = 0x60;
		p[off + 6] = udp ? 17 : 6;
		p[off + 7] = 64;
		for (int i = 0; i < 32; i++)
			p[off + 8 + i] = (uint8_t)(0x20 + i);
		off += 40;
	} else {
		p[off] = 0x45;
		put16(p + off + 4, 0x1234);
		put16(p + off + 6, 0x4000); /* DF */
		p[off + 8] = 64;
		p[off + 9] = udp ? 17 : 6;
		memcpy(p + off + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
		off += 20;
	}
	f->l4 = off;
	if (udp) {
		put16(p + off, 1000);
		put16(p + off + 2, 2000);
		put16(p + off + 4, (uint16_t)(8 + payload));
		off += 8;
	} else {
		put16(p + off, 1000);
		put16(p + off + 2, 2000);
		p[off + 4] = 0x10; /* sequence 0x10000000 */
		p[off + 12] = (uint8_t)((20 + tcp_opts) / 4 << 4);
		p[off + 13] = 0x10 | 0x08 | 0x01 | 0x80; /* ACK PSH FIN CWR */
		put16(p + off + 14, 1000);
		memset(p + off + 20, 1, tcp_opts);
		off += 20 + tcp_opts;
	}
	for (uint32_t i = 0; i < payload; i++)
		p[off + i] = (uint8_t)(i * 7 + 3);
	f->len = off + payload;
	if (!v6)
		put16(p + f->l3 + 2, (uint16_t)(f->len - f->l3));
	else
		put16(p + f->l3 + 4, (uint16_t)(f->len - f->l3 - 40));
	f->h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	f->h.gso_type = udp ? VIRTIO_NET_HDR_GSO_UDP
			: v6 ? VIRTIO_NET_HDR_GSO_TCPV6
			     : VIRTIO_NET_HDR_GSO_TCPV4;
	f->h.gso_size = gso_size;
	f->h.hdr_len = (uint16_t)(f->l4 + (udp ? 8 : 20 + tcp_opts));
	f->h.csum_start = (uint16_t)f->l4;
	f->h.csum_offset = udp ? 6 : 16;
}

static const char *check(struct frame *f, uint64_t features, struct gso_plan *p)
{
	p->head_len = f->len < GSO_HDR_MAX ? f->len : GSO_HDR_MAX;
	memcpy(p->hdr, f->b, p->head_len);
	return gso_check(&f->h, features, f->len, p);
}

static void expect_refused(struct frame *f, uint64_t features, const char *why)
{
	static struct gso_plan p;
	const char *got = check(f, features, &p);

	if (!got)
		fail_msg("accepted; expected '%s'", why);
	if (!strstr(got, why))
		fail_msg("refused with '%s'; expected '%s'", got, why);
}

/* The sum of a region that holds its own checksum folds to all ones. */
static bool sums_ok(const uint8_t *p, size_t n, uint16_t pseudo_seed)
{
	struct csum_acc acc = { 0 };

	csum_add(&acc, p, n);
	acc.sum += pseudo_seed;
	return csum_fold(&acc) == 0xffff;
}

static void test_plans(void **state)
{
	static struct frame f;
	static struct gso_plan p;

	(void)state;
	build(&f, false, false, 0, 12, 3000, 1448);
	assert_null(check(&f, ALL_HOST, &p));
	assert_int_equal(p.l3, 14);
	assert_int_equal(p.l4, 34);
	assert_int_equal(p.l4_hdr_len, 66);
	assert_int_equal(p.tmpl_len, 66);
	assert_int_equal(p.seg_data, 1448);
	assert_int_equal(p.data_len, 3000);
	assert_int_equal(p.segments, 3);
	assert_false(p.ipv6 || p.udp);

	build(&f, true, false, 2, 0, 1448, 1448);
	assert_null(check(&f, ALL_HOST, &p));
	assert_int_equal(p.l3, 22);
	assert_int_equal(p.l4, 62);
	assert_int_equal(p.segments, 1);
	assert_true(p.ipv6);

	/* UFO: only IP is repeated; data is the datagram, header included;
	 * fragments of a multiple of 8 bytes. */
	build(&f, false, true, 1, 0, 4000, 1474);
	assert_null(check(&f, ALL_HOST, &p));
	assert_int_equal(p.tmpl_len, 38);
	assert_int_equal(p.seg_data, 1472);
	assert_int_equal(p.data_len, 4008);
	assert_int_equal(p.segments, 3);
	assert_true(p.udp && !p.ipv6);
}

/* Each lie its own reason. */
static void test_refusals(void **state)
{
	static struct frame f;

	(void)state;
	build(&f, false, false, 0, 0, 3000, 1448);
	expect_refused(&f, ALL_HOST & ~F(HOST_TSO4), "without HOST_TSO4");
	f.h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	expect_refused(&f, ALL_HOST & ~F(HOST_ECN), "ECN GSO without HOST_ECN");
	f.h.gso_type = 2;
	expect_refused(&f, ALL_HOST, "unknown GSO type");
	f.h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	f.h.flags = 0;
	expect_refused(&f, ALL_HOST, "without NEEDS_CSUM");
	f.h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	f.h.gso_size = 0;
	expect_refused(&f, ALL_HOST, "gso_size 0");
	f.h.gso_size = 1448;
	f.h.hdr_len = (uint16_t)(f.len + 1);
	expect_refused(&f, ALL_HOST, "hdr_len past the end");
	f.h.hdr_len = 54;
	f.h.csum_start = 30;
	expect_refused(&f, ALL_HOST, "not at the L4 checksum");
	f.h.csum_start = 34;
	f.h.csum_offset = 6;
	expect_refused(&f, ALL_HOST, "not at the L4 checksum");
	f.h.csum_offset = 16;
	/* gso_size 1: 3000 segments. */
	f.h.gso_size = 1;
	expect_refused(&f, ALL_HOST, "more than 256 segments");
	f.h.gso_size = 1448;

	/* The type against the frame. */
	f.h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	expect_refused(&f, ALL_HOST, "TCPv6 GSO over a frame that is not IPv6");
	build(&f, true, false, 0, 0, 3000, 1448);
	f.h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	expect_refused(&f, ALL_HOST, "TCPv4 GSO over a frame that is not IPv4");
	build(&f, false, true, 0, 0, 3000, 1448);
	f.h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	expect_refused(&f, ALL_HOST, "not TCP");
	build(&f, false, false, 0, 0, 3000, 1448);
	f.h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	f.h.csum_offset = 6;
	expect_refused(&f, ALL_HOST, "not UDP");

	/* IP header lengths that lie: beyond the headers we have, or short. */
	build(&f, false, false, 0, 0, 3000, 1448);
	f.b[14] = 0x44;
	expect_refused(&f, ALL_HOST, "IPv4 header length");
	f.b[14] = 0x4f;
	f.len = 14 + 50;
	expect_refused(&f, ALL_HOST, "IPv4 header length");
	build(&f, false, false, 0, 0, 3000, 1448);
	f.b[14] = 0x55;
	expect_refused(&f, ALL_HOST, "without a whole IPv4 header");
	build(&f, false, false, 0, 0, 3000, 1448);
	put16(f.b + 20, 0x2000); /* MF */
	expect_refused(&f, ALL_HOST, "IPv4 fragment");
	build(&f, false, false, 0, 0, 3000, 1448);
	f.b[34 + 12] = 0x40; /* data offset 4 */
	expect_refused(&f, ALL_HOST, "TCP header length");
	f.b[34 + 12] = 0xf0;
	f.len = 34 + 40;
	expect_refused(&f, ALL_HOST, "TCP header length");
	build(&f, false, false, 0, 0, 0, 1448);
	f.len = 20;
	f.h.hdr_len = 0;
	expect_refused(&f, ALL_HOST, "without a whole IPv4 header");
	f.len = 10;
	expect_refused(&f, ALL_HOST, "shorter than an Ethernet header");
	/* Three VLAN tags: the third hides what follows. */
	build(&f, false, false, 3, 0, 3000, 1448);
	expect_refused(&f, ALL_HOST, "not IPv4");

	/* IPv6: a fragment header, extension headers out of the frame. */
	build(&f, true, false, 0, 0, 3000, 1448);
	f.b[14 + 6] = 44;
	expect_refused(&f, ALL_HOST, "IPv6 fragment");
	f.b[14 + 6] = 0;     /* hop-by-hop */
	f.b[54 + 1] = 200;   /* 1608 bytes of it */
	expect_refused(&f, ALL_HOST, "IPv6 extension headers");

	/* UFO: the UDP length, a gso_size under 8, options. */
	build(&f, false, true, 0, 0, 3000, 1472);
	put16(f.b + 34 + 4, 100);
	expect_refused(&f, ALL_HOST, "UDP length does not match");
	build(&f, false, true, 0, 0, 3000, 7);
	expect_refused(&f, ALL_HOST, "UFO gso_size below 8");
	build(&f, false, true, 0, 0, 3000, 1472);
	expect_refused(&f, ALL_HOST & ~F(HOST_UFO), "without HOST_UFO");
}

/* IPv6 extension headers before TCP are walked and repeated. */
static void test_ipv6_extension_headers(void **state)
{
	static struct frame f;
	static struct gso_plan p;
	static uint8_t out[GSO_HDR_MAX + GSO_FRAG6_LEN];
	uint32_t payload = 2000;

	(void)state;
	build(&f, true, false, 0, 0, 0, 1000);
	/* Insert a destination-options header of 8 bytes after IPv6. */
	memmove(f.b + 62, f.b + 54, 20);
	f.b[54] = 6;     /* next: TCP */
	f.b[55] = 0;     /* 8 bytes */
	f.b[14 + 6] = 60;
	for (uint32_t i = 0; i < payload; i++)
		f.b[82 + i] = (uint8_t)i;
	f.len = 82 + payload;
	f.h.csum_start = 62;
	put16(f.b + 14 + 4, (uint16_t)(f.len - 54));
	assert_null(check(&f, ALL_HOST, &p));
	assert_int_equal(p.l4, 62);
	assert_int_equal(p.segments, 2);
	assert_int_equal(gso_segment_header(&p, 1, 1000, out), 82);
	assert_int_equal(get16(out + 14 + 4), 8 + 20 + 1000);
	assert_int_equal(out[54], 6);
}

/* TCP segments: lengths, IDs, header checksums, sequence numbers, flags,
 * and the L4 checksum seeded with each segment's pseudo-header. */
static void test_tcp_segments(void **state)
{
	static struct frame f;
	static struct gso_plan p;
	static uint8_t out[GSO_HDR_MAX + GSO_FRAG6_LEN];

	(void)state;
	for (int v6 = 0; v6 < 2; v6++) {
		build(&f, v6, false, 1, 12, 3000, 1448);
		assert_null(check(&f, ALL_HOST, &p));
		for (uint32_t i = 0; i < 3; i++) {
			uint32_t data = i < 2 ? 1448 : 104, l3 = 18, l4 = v6 ? 58 : 38;
			unsigned n = gso_segment_header(&p, i, data, out);
			uint8_t flags = out[l4 + 13];
			uint32_t l4_len = 32 + data;
			uint16_t seed;

			assert_int_equal(n, l4 + 32);
			assert_memory_equal(out, f.b, l3); /* Ethernet and the tag */
			if (v6) {
				assert_int_equal(get16(out + l3 + 4), l4_len);
			} else {
				assert_int_equal(get16(out + l3 + 2), 20 + l4_len);
				assert_int_equal(get16(out + l3 + 4), 0x1234 + i);
				assert_int_equal(get16(out + l3 + 6), 0x4000);
				assert_true(sums_ok(out + l3, 20, 0));
			}
			assert_int_equal(get32(out + l4 + 4), 0x10000000u + i * 1448);
			assert_int_equal(!!(flags & 0x80), i == 0);     /* CWR */
			assert_int_equal(!!(flags & 0x09), i == 2);     /* FIN, PSH */
			assert_true(flags & 0x10);                       /* ACK */
			assert_memory_equal(out + l4 + 20, f.b + l4 + 20, 12); /* options */
			/* The seed is the pseudo-header sum for this length: with it,
			 * the header and the data, the segment sums right. */
			memcpy(&seed, out + l4 + 16, 2);
			{
				struct csum_acc acc = { 0 };
				uint8_t pseudo[40] = { 0 };
				size_t plen;

				if (v6) {
					memcpy(pseudo, f.b + l3 + 8, 32);
					pseudo[34] = (uint8_t)(l4_len >> 8);
					pseudo[35] = (uint8_t)l4_len;
					pseudo[39] = 6;
					plen = 40;
				} else {
					memcpy(pseudo, f.b + l3 + 12, 8);
					pseudo[9] = 6;
					pseudo[10] = (uint8_t)(l4_len >> 8);
					pseudo[11] = (uint8_t)l4_len;
					plen = 12;
				}
				csum_add(&acc, pseudo, plen);
				assert_int_equal(seed, csum_fold(&acc));
			}
		}
	}
}

/* UFO fragments: IPv4 offsets in 8-byte units, MF on all but the last,
 * the same ID, header checksums; IPv6 with a fragment header. */
static void test_udp_fragments(void **state)
{
	static struct frame f;
	static struct gso_plan p;
	static uint8_t out[GSO_HDR_MAX + GSO_FRAG6_LEN], udp[8];

	(void)state;
	build(&f, false, true, 0, 0, 3000, 1480);
	assert_null(check(&f, ALL_HOST, &p));
	assert_int_equal(p.segments, 3); /* 3008 datagram bytes in 1480s */
	for (uint32_t i = 0; i < 3; i++) {
		uint32_t data = i < 2 ? 1480 : 48;
		unsigned n = gso_segment_header(&p, i, data, out);
		uint16_t frag = get16(out + 14 + 6);

		assert_int_equal(n, 34);
		assert_int_equal(get16(out + 14 + 2), 20 + data);
		assert_int_equal(get16(out + 14 + 4), 0x1234);
		assert_int_equal(frag & 0x1fff, i * 1480 / 8);
		assert_int_equal(!!(frag & 0x2000), i < 2);
		assert_int_equal(frag & 0x4000, 0); /* no DF on a fragment */
		assert_true(sums_ok(out + 14, 20, 0));
	}
	gso_udp_header(&p, udp);
	assert_memory_equal(udp, f.b + 34, 6);

	build(&f, true, true, 0, 0, 3000, 1448);
	assert_null(check(&f, ALL_HOST, &p));
	p.frag6_id = 0xdeadbeef;
	for (uint32_t i = 0; i < p.segments; i++) {
		uint32_t data = i + 1 < p.segments ? 1448 : 3008 - 2 * 1448;
		unsigned n = gso_segment_header(&p, i, data, out);

		assert_int_equal(n, 54 + 8);
		assert_int_equal(out[14 + 6], 44);
		assert_int_equal(get16(out + 14 + 4), 8 + data);
		assert_int_equal(out[54], 17);
		assert_int_equal(get16(out + 56) & ~7u, i * 1448);
		assert_int_equal(get16(out + 56) & 1, i + 1 < p.segments);
		assert_int_equal(get32(out + 58), 0xdeadbeef);
	}
}

/* Who takes a frame whole: the matching GUEST_ feature, GUEST_CSUM, and
 * GUEST_ECN for an ECN frame. */
static void test_receivers(void **state)
{
	static struct frame f;
	static struct gso_plan p;
	struct vnet_hdr h;
	uint64_t base = F(GUEST_CSUM);

	(void)state;
	build(&f, false, false, 0, 0, 3000, 1448);
	assert_null(check(&f, ALL_HOST, &p));
	assert_true(gso_receiver_takes(&p, base | F(GUEST_TSO4)));
	assert_false(gso_receiver_takes(&p, F(GUEST_TSO4)));
	assert_false(gso_receiver_takes(&p, base | F(GUEST_TSO6)));
	f.h.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	assert_null(check(&f, ALL_HOST, &p));
	assert_false(gso_receiver_takes(&p, base | F(GUEST_TSO4)));
	assert_true(gso_receiver_takes(&p, base | F(GUEST_TSO4) | F(GUEST_ECN)));
	gso_whole_header(&p, &h);
	assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN);
	assert_int_equal(h.gso_size, 1448);
	assert_int_equal(h.hdr_len, 54);
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(h.csum_start, 34);
	assert_int_equal(h.csum_offset, 16);

	build(&f, true, false, 0, 0, 3000, 1448);
	assert_null(check(&f, ALL_HOST, &p));
	assert_true(gso_receiver_takes(&p, base | F(GUEST_TSO6)));
	assert_false(gso_receiver_takes(&p, base | F(GUEST_TSO4)));
	build(&f, true, true, 0, 0, 3000, 1448);
	assert_null(check(&f, ALL_HOST, &p));
	assert_true(gso_receiver_takes(&p, base | F(GUEST_UFO)));
	assert_false(gso_receiver_takes(&p, base | F(GUEST_TSO6)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plans),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_ipv6_extension_headers),
		cmocka_unit_test(test_tcp_segments),
		cmocka_unit_test(test_udp_fragments),
		cmocka_unit_test(test_receivers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
