/* SPDX-License-Identifier: MIT */
/*
 * The GSO test tools (tests/integration/gso_frames.c) tested on their own:
 * the builder against offsets and sums worked out here, the verifier
 * against segmentations made by a small reference segmenter in this file
 * (TCP over IPv4 and IPv6, UDP fragmented over IPv4 and IPv6), correct
 * ones accepted and deliberately broken ones rejected with a message that
 * names the frame and the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gso_frames.h"

#define FRAME_CAP 70000u
#define MAX_FRAMES 8200u /* 65535 bytes of UDP in 8-byte fragments */

/* ---- independent arithmetic --------------------------------------------------------- */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] * 256u + p[1]); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) * 65536u + rd16(p + 2); }

static void wr16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v / 256u % 256u);
	p[1] = (uint8_t)(v % 256u);
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v / 65536u);
	wr16(p + 2, v % 65536u);
}

/* RFC 1071, the plain way: 16-bit words, carries folded at the end. */
static uint32_t t_sum(uint32_t acc, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		acc += i % 2 ? p[i] : p[i] * 256u;
	return acc;
}

static uint16_t t_fold(uint32_t acc)
{
	while (acc > 0xffff)
		acc = (acc >> 16) + (acc & 0xffff);
	return (uint16_t)acc;
}

/* Where the test expects every header, from the spec alone. */
struct ref {
	size_t l3, l4, hdr, ip_hdr;
	bool ipv6, udp;
	unsigned ext;
};

static struct ref ref_of(const struct gso_spec *s)
{
	struct ref r = { .ipv6 = s->ipv6, .udp = s->udp, .ext = s->ipv6_ext ? 8 : 0 };

	r.l3 = 14 + 4 * s->vlan;
	r.ip_hdr = s->ipv6 ? 40 : 20 + s->ip_opt_len;
	r.l4 = r.l3 + r.ip_hdr + r.ext;
	r.hdr = r.l4 + (s->udp ? 8 : 20 + s->tcp_opt_len);
	return r;
}

static uint32_t t_pseudo(const uint8_t *f, const struct ref *r, size_t l4_len)
{
	const uint8_t *ip = f + r->l3;
	uint32_t acc = r->ipv6 ? t_sum(0, ip + 8, 32) : t_sum(0, ip + 12, 8);

	return acc + (r->udp ? 17u : 6u) + (uint32_t)l4_len;
}

static void t_fix_ipv4(uint8_t *f, const struct ref *r)
{
	wr16(f + r->l3 + 10, 0);
	wr16(f + r->l3 + 10, (uint16_t)~t_fold(t_sum(0, f + r->l3, r->ip_hdr)));
}

/* A complete L4 checksum over the l4_len bytes at l4 (field at off). */
static void t_fix_l4(uint8_t *f, const struct ref *r, size_t l4, size_t l4_len, size_t off)
{
	uint16_t c;

	wr16(f + l4 + off, 0);
	c = (uint16_t)~t_fold(t_sum(t_pseudo(f, r, l4_len), f + l4, l4_len));
	wr16(f + l4 + off, c ? c : 0xffff);
}

/* ---- received frames, made here ------------------------------------------------------- */

struct frames {
	size_t n;
	uint8_t *buf[MAX_FRAMES];
	struct gso_rx_frame f[MAX_FRAMES];
};

static struct frames fr;

static uint8_t *frame_new(size_t len)
{
	uint8_t *b = calloc(1, len ? len : 1);

	assert_non_null(b);
	assert_true(fr.n < MAX_FRAMES);
	fr.buf[fr.n] = b;
	fr.f[fr.n] = (struct gso_rx_frame){ .data = b, .len = len };
	fr.n++;
	return b;
}

static void frames_free(void)
{
	for (size_t i = 0; i < fr.n; i++)
		free(fr.buf[i]);
	fr.n = 0;
}

/* A failed test leaves its frames behind: the next starts with none. */
static int cleanup(void **state)
{
	(void)state;
	frames_free();
	return 0;
}

/* The reference TCP segmenter: the headers copied, lengths, IPv4 ID,
 * sequence and flags per segment; the checksum complete, or partial with
 * NEEDS_CSUM. */
static void ref_tcp(const uint8_t *s, size_t len, const struct ref *r, unsigned mss, bool partial)
{
	size_t payload = len - r->hdr, n = payload ? (payload + mss - 1) / mss : 1;
	uint8_t flags = s[r->l4 + 13];

	for (size_t i = 0; i < n; i++) {
		size_t seg = payload - i * mss < mss ? payload - i * mss : mss;
		uint8_t *f = frame_new(r->hdr + seg);
		size_t l4_len = r->hdr + seg - r->l4;
		uint8_t fl = flags & (uint8_t)~(GSO_TCP_CWR | GSO_TCP_FIN | GSO_TCP_PSH);

		memcpy(f, s, r->hdr);
		memcpy(f + r->hdr, s + r->hdr + i * mss, seg);
		if (r->ipv6) {
			wr16(f + r->l3 + 4, (unsigned)(r->hdr + seg - r->l3 - 40));
		} else {
			wr16(f + r->l3 + 2, (unsigned)(r->hdr + seg - r->l3));
			wr16(f + r->l3 + 4, (rd16(s + r->l3 + 4) + (unsigned)i) % 65536u);
			t_fix_ipv4(f, r);
		}
		wr32(f + r->l4 + 4, rd32(s + r->l4 + 4) + (uint32_t)(i * mss));
		if (i == 0)
			fl |= flags & GSO_TCP_CWR;
		if (i + 1 == n)
			fl |= flags & (GSO_TCP_FIN | GSO_TCP_PSH);
		f[r->l4 + 13] = fl;
		if (partial) {
			wr16(f + r->l4 + 16, t_fold(t_pseudo(f, r, l4_len)));
			fr.f[fr.n - 1].meta = (struct vnd_rx_meta){ .flags = 1,
								    .csum_start = (uint16_t)r->l4,
								    .csum_offset = 16 };
		} else {
			t_fix_l4(f, r, r->l4, l4_len, 16);
			fr.f[fr.n - 1].meta.flags = 2; /* DATA_VALID, which changes nothing */
		}
	}
}

/* The reference UDP fragmenter: the datagram's checksum completed, then
 * cut into pieces of unit bytes. IPv6: a fragment header after the
 * unfragmentable part; with ext_after a destination options header goes
 * behind it, into the fragmentable part. */
static void ref_udp(const uint8_t *s, size_t len, const struct ref *r, unsigned unit,
		    bool ext_after, uint32_t id)
{
	uint8_t whole[70000];
	size_t front = r->ipv6 ? r->l3 + 40 + (ext_after ? 0 : r->ext) : r->l4;
	size_t moved = ext_after ? r->ext : 0, total = moved + len - r->l4;
	size_t n = (total + unit - 1) / unit;
	uint8_t copy[70000];

	memcpy(copy, s, len);
	t_fix_l4(copy, r, r->l4, len - r->l4, 6);
	memcpy(whole, copy + r->l4 - moved, total);
	for (size_t i = 0; i < n; i++) {
		size_t at = i * unit, chunk = total - at < unit ? total - at : unit;
		bool more = i + 1 < n;
		uint8_t *f = frame_new(front + (r->ipv6 ? 8 : 0) + chunk);

		memcpy(f, s, front);
		if (!r->ipv6) {
			wr16(f + r->l3 + 2, (unsigned)(front + chunk - r->l3));
			wr16(f + r->l3 + 6, (more ? 0x2000u : 0) |
						    (unsigned)(at / 8));
			t_fix_ipv4(f, r);
			memcpy(f + front, whole + at, chunk);
			continue;
		}
		{
			size_t link = front == r->l3 + 40 ? r->l3 + 6 : r->l3 + 40;
			uint8_t *fh = f + front;

			fh[0] = ext_after ? 60 : s[link];
			fh[1] = 0;
			wr16(fh + 2, (unsigned)at | (more ? 1u : 0u));
			wr32(fh + 4, id);
			f[link] = 44;
			wr16(f + r->l3 + 4, (unsigned)(front + 8 + chunk - r->l3 - 40));
			memcpy(fh + 8, whole + at, chunk);
		}
	}
}

/* ---- helpers ------------------------------------------------------------------------- */

static uint8_t sent[FRAME_CAP];
static size_t sent_len;
static struct vnd_tx_meta sent_meta;
static struct ref sr;

static void build(const struct gso_spec *s)
{
	sent_len = gso_build(sent, sizeof sent, s, &sent_meta);
	assert_true(sent_len > 0);
	sr = ref_of(s);
	assert_int_equal(sent_len, sr.hdr + s->payload_len);
}

static void expect_ok(const char *what, unsigned outcome)
{
	char msg[600];
	unsigned seen = 0;
	int rc = gso_verify(sent, sent_len, &sent_meta, fr.f, fr.n, GSO_OUTCOME_ANY, &seen, msg,
			    sizeof msg);

	if (rc != 0 || seen != outcome)
		fail_msg("%s: rejected (rc %d, outcome %u): %s", what, rc, seen, msg);
}

/* Rejected, with a message naming both (the frame, the field). */
static void expect_reject(const char *what, unsigned allowed, const char *frame, const char *field)
{
	char msg[600];
	int rc = gso_verify(sent, sent_len, &sent_meta, fr.f, fr.n, allowed, NULL, msg, sizeof msg);

	if (rc != -1 || !strstr(msg, frame) || !strstr(msg, field))
		fail_msg("%s: rc %d, message \"%s\"; expected a rejection naming \"%s\" and \"%s\"", what,
			 rc, msg, frame, field);
	print_message("  rejected as expected (%s): %s\n", what, msg);
}

/* ---- the checksum functions ------------------------------------------------------------ */

static void test_checksum_vectors(void **state)
{
	/* RFC 1071 section 3's example sums to 0xddf2. */
	static const uint8_t rfc[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	/* An IPv4 header whose checksum (0xb861) is known. */
	static const uint8_t ip[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
					0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	uint8_t odd[3] = { 0x12, 0x34, 0x56 }, f[64];

	(void)state;
	assert_int_equal(gso_csum_fold(gso_csum_add(0, rfc, 8)), 0xddf2);
	assert_int_equal(gso_csum_fold(gso_csum_add(0, ip, 20)), 0xffff);
	/* An odd last byte counts as its word's high byte. */
	assert_int_equal(gso_csum_fold(gso_csum_add(0, odd, 3)), 0x1234 + 0x5600);
	assert_int_equal(gso_csum_fold(0x1fffeull), 0xffff);
	assert_int_equal(gso_csum_fold(0x2345678ull), t_fold(0x2345678u));

	/* Completing stores the inverted sum from csum_start on, the field's
	 * old content (a pseudo-header sum, say) included. */
	for (size_t i = 0; i < sizeof f; i++)
		f[i] = (uint8_t)(i * 37 + 11);
	f[16] = f[17] = 0;
	assert_true(gso_csum_complete(f, sizeof f, 10, 6));
	assert_int_equal(t_fold(t_sum(0, f + 10, sizeof f - 10)), 0xffff);
	wr16(f + 16, 0x1234);
	assert_true(gso_csum_complete(f, sizeof f, 10, 6));
	assert_int_equal(t_fold(t_sum(0x1234, f + 10, sizeof f - 10)), 0xffff);
	assert_false(gso_csum_complete(f, sizeof f, 60, 3));
	assert_false(gso_csum_complete(f, sizeof f, 70, 0));
	/* A sum that completes to 0 is stored as 0xffff (UDP's "no checksum" is 0). */
	memset(f, 0, sizeof f);
	f[0] = 0xff;
	f[1] = 0xff;
	assert_true(gso_csum_complete(f, 8, 0, 6));
	assert_int_equal(rd16(f + 6), 0xffff);
}

/* ---- the builder --------------------------------------------------------------------- */

/* Everything the builder wrote, checked against offsets computed here. */
static void check_built(const struct gso_spec *s)
{
	const uint8_t *ip, *l4;
	size_t l4_len;
	unsigned et_at = 12;

	build(s);
	ip = sent + sr.l3;
	l4 = sent + sr.l4;
	l4_len = sent_len - sr.l4;
	/* L2 and tags */
	assert_memory_equal(sent, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	if (s->vlan == 2) {
		assert_int_equal(rd16(sent + 12), 0x88a8);
		assert_int_equal(rd16(sent + 14), 200);
		et_at = 16;
	}
	if (s->vlan >= 1) {
		assert_int_equal(rd16(sent + et_at), 0x8100);
		assert_int_equal(rd16(sent + et_at + 2), 100);
		et_at += 4;
	}
	assert_int_equal(et_at + 2, sr.l3);
	assert_int_equal(rd16(sent + et_at), s->ipv6 ? 0x86dd : 0x0800);
	/* L3 */
	if (s->ipv6) {
		assert_int_equal(ip[0] >> 4, 6);
		assert_int_equal((rd16(ip) >> 4) & 0xff, s->tos);
		assert_int_equal(rd16(ip + 4), sent_len - sr.l3 - 40);
		assert_int_equal(ip[7], 64);
		if (s->ipv6_ext) {
			assert_int_equal(ip[6], s->ipv6_ext == GSO_EXT_HOPOPTS ? 0 : 60);
			assert_int_equal(ip[40], s->udp ? 17 : 6);
			assert_int_equal(ip[41], 0);
		} else {
			assert_int_equal(ip[6], s->udp ? 17 : 6);
		}
	} else {
		assert_int_equal(ip[0], 0x45 + s->ip_opt_len / 4);
		assert_int_equal(ip[1], s->tos);
		assert_int_equal(rd16(ip + 2), sent_len - sr.l3);
		assert_int_equal(rd16(ip + 4), s->ip_id);
		assert_int_equal(rd16(ip + 6), s->df ? 0x4000 : 0);
		assert_int_equal(ip[8], 64);
		assert_int_equal(ip[9], s->udp ? 17 : 6);
		assert_int_equal(t_fold(t_sum(0, ip, sr.ip_hdr)), 0xffff);
		for (size_t o = 20; o < sr.ip_hdr; o += 4) {
			assert_int_equal(ip[o], 0x88); /* Stream ID: copied class */
			assert_int_equal(ip[o + 1], 4);
		}
	}
	/* L4: the partial checksum is the pseudo-header's folded sum, not inverted. */
	if (s->udp) {
		assert_int_equal(rd16(l4 + 4), l4_len);
		assert_int_equal(rd16(l4 + 6), t_fold(t_pseudo(sent, &sr, l4_len)));
	} else {
		assert_int_equal(rd32(l4 + 4), s->seq);
		assert_int_equal(rd32(l4 + 8), s->ack);
		assert_int_equal(l4[12] >> 4, 5 + s->tcp_opt_len / 4);
		assert_int_equal(l4[13], s->tcp_flags | (s->ecn ? GSO_TCP_CWR : 0));
		assert_int_equal(rd16(l4 + 16), t_fold(t_pseudo(sent, &sr, l4_len)));
	}
	assert_int_equal(rd16(l4), s->sport ? s->sport : 40000);
	for (size_t i = 0; i < s->payload_len; i++)
		if (sent[sr.hdr + i] != gso_payload_byte(s->seed, i))
			fail_msg("payload byte %zu", i);
	/* meta, as Linux fills the virtio-net header */
	assert_true(sent_meta.needs_csum);
	assert_int_equal(sent_meta.csum_start, sr.l4);
	assert_int_equal(sent_meta.csum_offset, s->udp ? 6 : 16);
	if (s->gso_size) {
		assert_int_equal(sent_meta.gso_type, (s->udp ? 3 : s->ipv6 ? 4 : 1) | (s->ecn ? 0x80 : 0));
		assert_int_equal(sent_meta.gso_size, s->gso_size);
		assert_int_equal(sent_meta.hdr_len, sr.hdr);
	} else {
		assert_int_equal(sent_meta.gso_type, 0);
		assert_int_equal(sent_meta.gso_size, 0);
		assert_int_equal(sent_meta.hdr_len, 0);
	}
}

static void test_build_every_kind(void **state)
{
	(void)state;
	for (unsigned v6 = 0; v6 < 2; v6++)
		for (unsigned udp = 0; udp < 2; udp++)
			for (unsigned vlan = 0; vlan < 3; vlan++)
				for (unsigned opt = 0; opt < 3; opt++) {
					struct gso_spec s = {
						.ipv6 = v6, .udp = udp, .vlan = vlan,
						.ip_opt_len = v6 ? 0 : opt * 20,
						.ipv6_ext = v6 ? (enum gso_ext)opt : GSO_EXT_NONE,
						.tcp_opt_len = udp ? 0 : 12 + opt * 4,
						.payload_len = 1 + 997 * opt + 31 * vlan,
						.seed = 7 * opt + vlan, .gso_size = opt == 2 ? 0 : 536,
						.tcp_flags = GSO_TCP_ACK | GSO_TCP_PSH, .seq = 0xfffff000u,
						.ack = 0x01020304u, .ip_id = 65535, .df = !udp,
						.ecn = !udp && opt == 1, .tos = 0x02,
					};

					check_built(&s);
				}
}

static void test_build_largest(void **state)
{
	/* IPv4 total length 65535: the most a GSO skb holds. */
	struct gso_spec s = { .vlan = 1, .tcp_opt_len = 12, .payload_len = 65535 - 20 - 32,
			      .gso_size = 1448, .seed = 99 };

	(void)state;
	check_built(&s);
	assert_int_equal(sent_len, 14 + 4 + 65535);
	s.payload_len++;
	assert_int_equal(gso_build(sent, sizeof sent, &s, &sent_meta), 0);
	/* IPv6 counts its payload only: 40 bytes more fit. */
	s.ipv6 = true;
	s.payload_len = 65535 - 32;
	check_built(&s);
	s.payload_len++;
	assert_int_equal(gso_build(sent, sizeof sent, &s, &sent_meta), 0);
	/* The buffer's capacity is respected. */
	s.payload_len = 1000;
	assert_int_equal(gso_build(sent, 14 + 4 + 40 + 32 + 999, &s, &sent_meta), 0);
	assert_int_equal(gso_build(sent, 14 + 4 + 40 + 32 + 1000, &s, &sent_meta), 14 + 4 + 40 + 32 + 1000);
}

static void test_build_refuses_impossible(void **state)
{
	static const struct gso_spec bad[] = {
		{ .vlan = 3, .payload_len = 10, .gso_size = 8 },
		{ .ip_opt_len = 6, .payload_len = 10, .gso_size = 8 },
		{ .ip_opt_len = 44, .payload_len = 10, .gso_size = 8 },
		{ .ipv6 = true, .ip_opt_len = 4, .payload_len = 10, .gso_size = 8 },
		{ .ipv6_ext = GSO_EXT_HOPOPTS, .payload_len = 10, .gso_size = 8 },
		{ .tcp_opt_len = 2, .payload_len = 10, .gso_size = 8 },
		{ .tcp_opt_len = 44, .payload_len = 10, .gso_size = 8 },
		{ .udp = true, .tcp_opt_len = 4, .payload_len = 10, .gso_size = 8 },
		{ .udp = true, .ecn = true, .payload_len = 10, .gso_size = 8 },
		{ .udp = true, .payload_len = 10, .gso_size = 7 },
		{ .payload_len = 0, .gso_size = 1000 },
	};
	struct gso_spec fine = { .payload_len = 10, .gso_size = 8 };

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (gso_build(sent, sizeof sent, &bad[i], &sent_meta) != 0)
			fail_msg("impossible spec %zu was built", i);
	assert_int_equal(gso_build(sent, sizeof sent, &fine, &sent_meta), 14 + 20 + 20 + 10);
}

static void test_payload_is_deterministic(void **state)
{
	unsigned same = 0, shifted = 0;

	(void)state;
	for (size_t i = 0; i < 4096; i++) {
		assert_int_equal(gso_payload_byte(5, i), gso_payload_byte(5, i));
		same += gso_payload_byte(5, i) == gso_payload_byte(6, i);
		shifted += gso_payload_byte(5, i) == gso_payload_byte(5, i + 8);
	}
	/* Other seeds and shifted slices look different (about 1 in 256 alike). */
	assert_true(same < 64);
	assert_true(shifted < 64);
}

/* ---- the verifier on correct outcomes --------------------------------------------------- */

static void test_tcp_segmentations_accepted(void **state)
{
	static const size_t payloads[] = { 1, 999, 1000, 1001, 4000, 7777 };

	(void)state;
	for (unsigned v6 = 0; v6 < 2; v6++)
		for (unsigned vlan = 0; vlan < 3; vlan++)
			for (unsigned opt = 0; opt < 3; opt++)
				for (size_t k = 0; k < sizeof payloads / sizeof payloads[0]; k++) {
					struct gso_spec s = {
						.ipv6 = v6, .vlan = vlan, .ip_opt_len = v6 ? 0 : opt * 4,
						.ipv6_ext = v6 ? (enum gso_ext)opt : GSO_EXT_NONE,
						.tcp_opt_len = opt * 12 + (opt == 2 ? 4 : 0),
						.payload_len = payloads[k], .seed = (uint32_t)k,
						.gso_size = 1000, .seq = 0xffffff00u, .ip_id = 65534,
						.tcp_flags = GSO_TCP_ACK | GSO_TCP_FIN | GSO_TCP_PSH,
						.ecn = k % 2, .df = true,
					};
					char what[96];

					build(&s);
					for (unsigned partial = 0; partial < 2; partial++) {
						snprintf(what, sizeof what, "v%u vlan %u opt %u payload %zu %s",
							 v6 ? 6 : 4, vlan, opt, payloads[k],
							 partial ? "partial" : "complete");
						ref_tcp(sent, sent_len, &sr, s.gso_size, partial);
						assert_int_equal(fr.n, gso_segment_count(sent, sent_len, &sent_meta));
						expect_ok(what, GSO_OUTCOME_SEGMENTED);
						frames_free();
					}
				}
}

static void test_largest_segmentations_accepted(void **state)
{
	struct gso_spec s = { .vlan = 2, .tcp_opt_len = 12, .payload_len = 65535 - 20 - 32,
			      .gso_size = 1448, .tcp_flags = GSO_TCP_ACK | GSO_TCP_PSH, .seed = 3 };

	(void)state;
	build(&s);
	ref_tcp(sent, sent_len, &sr, 1448, true);
	assert_int_equal(fr.n, 46);
	expect_ok("TCPv4 64 KiB", GSO_OUTCOME_SEGMENTED);
	frames_free();
	s.ipv6 = true;
	s.ipv6_ext = GSO_EXT_DSTOPTS;
	s.payload_len = 65535 - 8 - 32;
	build(&s);
	ref_tcp(sent, sent_len, &sr, 1448, false);
	expect_ok("TCPv6 64 KiB", GSO_OUTCOME_SEGMENTED);
	frames_free();
	s = (struct gso_spec){ .udp = true, .payload_len = 65535 - 28, .gso_size = 1480, .seed = 4 };
	build(&s);
	ref_udp(sent, sent_len, &sr, 1480, false, 0);
	assert_int_equal(fr.n, 45);
	expect_ok("UDPv4 64 KiB", GSO_OUTCOME_SEGMENTED);
	frames_free();
	/* The smallest fragments: 8 bytes each. */
	s.gso_size = 15;
	build(&s);
	ref_udp(sent, sent_len, &sr, 8, false, 0);
	assert_int_equal(fr.n, 8190);
	expect_ok("UDPv4 in 8-byte fragments", GSO_OUTCOME_SEGMENTED);
	frames_free();
}

static void test_udp_fragmentations_accepted(void **state)
{
	static const size_t payloads[] = { 1, 7, 8, 992, 1000, 1001, 5000 };
	static const unsigned sizes[] = { 8, 1000, 1001, 1007, 1232 };

	(void)state;
	for (unsigned v6 = 0; v6 < 2; v6++)
		for (unsigned opt = 0; opt < 3; opt++)
			for (size_t k = 0; k < sizeof payloads / sizeof payloads[0]; k++)
				for (size_t g = 0; g < sizeof sizes / sizeof sizes[0]; g++) {
					struct gso_spec s = {
						.ipv6 = v6, .udp = true, .vlan = (unsigned)(k % 3),
						.ip_opt_len = v6 ? 0 : opt * 16,
						.ipv6_ext = v6 ? (enum gso_ext)opt : GSO_EXT_NONE,
						.payload_len = payloads[k], .seed = (uint32_t)(k + g),
						.gso_size = (uint16_t)sizes[g], .ip_id = 4242,
						.df = g % 2,
					};
					unsigned unit = sizes[g] / 8 * 8;
					char what[96];

					build(&s);
					for (unsigned after = 0; after < 1u + (s.ipv6_ext == GSO_EXT_DSTOPTS); after++) {
						snprintf(what, sizeof what, "v%u opt %u payload %zu gso %u%s",
							 v6 ? 6 : 4, opt, payloads[k], sizes[g],
							 after ? " dstopts after" : "");
						ref_udp(sent, sent_len, &sr, unit, after, 0x01020304u + g);
						if (!after)
							assert_int_equal(fr.n, gso_segment_count(sent, sent_len, &sent_meta));
						expect_ok(what, GSO_OUTCOME_SEGMENTED);
						frames_free();
					}
				}
}

static void pass_through(void)
{
	uint8_t *f = frame_new(sent_len);

	memcpy(f, sent, sent_len);
	fr.f[0].meta = (struct vnd_rx_meta){ .flags = 1, .gso_type = sent_meta.gso_type,
					     .csum_start = sent_meta.csum_start,
					     .csum_offset = sent_meta.csum_offset,
					     .num_buffers = 3, .gso_size = sent_meta.gso_size,
					     .hdr_len = (uint16_t)sr.hdr };
}

static void test_pass_through_accepted(void **state)
{
	struct gso_spec kinds[] = {
		{ .vlan = 1, .ip_opt_len = 8, .tcp_opt_len = 12, .payload_len = 30000, .gso_size = 1448,
		  .ecn = true, .tcp_flags = GSO_TCP_ACK },
		{ .ipv6 = true, .ipv6_ext = GSO_EXT_HOPOPTS, .payload_len = 3000, .gso_size = 1440 },
		{ .udp = true, .vlan = 2, .payload_len = 9000, .gso_size = 1480 },
		{ .udp = true, .ipv6 = true, .payload_len = 9000, .gso_size = 1232 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		build(&kinds[i]);
		pass_through();
		expect_ok("pass-through", GSO_OUTCOME_PASS);
		frames_free();
	}
}

/* ---- the verifier on broken outcomes: TCP ------------------------------------------------- */

static const struct gso_spec tcp4 = {
	.vlan = 1, .ip_opt_len = 8, .tcp_opt_len = 12, .payload_len = 3500, .gso_size = 1000,
	.tcp_flags = GSO_TCP_ACK | GSO_TCP_PSH | GSO_TCP_FIN, .ecn = true, .seq = 1000000,
	.ack = 777, .ip_id = 100, .df = true, .seed = 11,
};

/* A correct segmentation of tcp4 to break (complete checksums unless partial). */
static void tcp4_segments(bool partial)
{
	frames_free();
	build(&tcp4);
	ref_tcp(sent, sent_len, &sr, tcp4.gso_size, partial);
	assert_int_equal(fr.n, 4);
}

static void refix(size_t i)
{
	if (!sr.ipv6)
		t_fix_ipv4(fr.buf[i], &sr);
	if (!(fr.f[i].meta.flags & 1))
		t_fix_l4(fr.buf[i], &sr, sr.l4, fr.f[i].len - sr.l4, 16);
}

static void test_tcp_breakage_rejected(void **state)
{
	(void)state;
	tcp4_segments(false);
	wr16(fr.buf[2] + sr.l3 + 4, 100 + 3);
	refix(2);
	expect_reject("wrong IPv4 ID", GSO_OUTCOME_ANY, "segment 2 of 4", "IPv4 ID");

	tcp4_segments(false);
	fr.buf[1][sr.l4 + 13] |= GSO_TCP_FIN;
	refix(1);
	expect_reject("FIN on a middle segment", GSO_OUTCOME_ANY, "segment 1 of 4", "TCP flags");

	tcp4_segments(false);
	fr.buf[0][sr.l4 + 13] |= GSO_TCP_PSH;
	refix(0);
	expect_reject("PSH on the first segment", GSO_OUTCOME_ANY, "segment 0 of 4", "TCP flags");

	tcp4_segments(false);
	fr.buf[3][sr.l4 + 13] |= GSO_TCP_CWR;
	refix(3);
	expect_reject("CWR on the last segment", GSO_OUTCOME_ANY, "segment 3 of 4", "TCP flags");

	tcp4_segments(false);
	fr.buf[0][sr.l4 + 13] &= (uint8_t)~GSO_TCP_CWR;
	refix(0);
	expect_reject("CWR lost on the first segment", GSO_OUTCOME_ANY, "segment 0 of 4", "TCP flags");

	tcp4_segments(false);
	fr.buf[3][sr.l4 + 13] &= (uint8_t)~GSO_TCP_ACK;
	refix(3);
	expect_reject("ACK lost", GSO_OUTCOME_ANY, "segment 3 of 4", "TCP flags");

	tcp4_segments(false);
	fr.buf[1][sr.l4 + 17] ^= 1;
	expect_reject("bad TCP checksum", GSO_OUTCOME_ANY, "segment 1 of 4", "TCP checksum");

	tcp4_segments(true);
	fr.buf[2][sr.l4 + 17] ^= 1;
	expect_reject("bad partial checksum", GSO_OUTCOME_ANY, "segment 2 of 4", "partial TCP checksum");

	tcp4_segments(true);
	fr.f[1].meta.csum_start = (uint16_t)(sr.l4 - 2);
	expect_reject("csum_start off", GSO_OUTCOME_ANY, "segment 1 of 4", "csum_start");

	tcp4_segments(true);
	fr.f[1].meta.csum_offset = 6;
	expect_reject("csum_offset off", GSO_OUTCOME_ANY, "segment 1 of 4", "csum_offset");

	tcp4_segments(true);
	fr.f[3].meta.flags = 0;
	expect_reject("partial checksum without NEEDS_CSUM", GSO_OUTCOME_ANY, "segment 3 of 4",
		      "TCP checksum");

	tcp4_segments(false);
	fr.buf[3][sr.hdr + 17] ^= 0x40;
	refix(3);
	expect_reject("wrong payload byte", GSO_OUTCOME_ANY, "segment 3 of 4", "payload byte 17");

	tcp4_segments(false);
	wr32(fr.buf[2] + sr.l4 + 4, 1000000 + 2000 + 1);
	refix(2);
	expect_reject("wrong sequence", GSO_OUTCOME_ANY, "segment 2 of 4", "TCP sequence number");

	tcp4_segments(false);
	wr32(fr.buf[1] + sr.l4 + 8, 778);
	refix(1);
	expect_reject("wrong ack", GSO_OUTCOME_ANY, "segment 1 of 4", "TCP acknowledgment number");

	tcp4_segments(false);
	fr.buf[1][sr.l4 + 25]++;
	refix(1);
	expect_reject("changed option", GSO_OUTCOME_ANY, "segment 1 of 4", "TCP options");

	tcp4_segments(false);
	wr16(fr.buf[1] + sr.l4 + 14, 501);
	refix(1);
	expect_reject("changed window", GSO_OUTCOME_ANY, "segment 1 of 4", "TCP window");

	tcp4_segments(false);
	wr16(fr.buf[0] + sr.l3 + 2, rd16(fr.buf[0] + sr.l3 + 2) + 1);
	refix(0);
	expect_reject("wrong total length", GSO_OUTCOME_ANY, "segment 0 of 4", "IPv4 total length");

	tcp4_segments(false);
	fr.buf[2][sr.l3 + 11] ^= 0x10;
	expect_reject("bad header checksum", GSO_OUTCOME_ANY, "segment 2 of 4", "IPv4 header checksum");

	tcp4_segments(false);
	fr.buf[1][sr.l3 + 6] = 0; /* DF cleared */
	refix(1);
	expect_reject("DF lost", GSO_OUTCOME_ANY, "segment 1 of 4", "IPv4 flags/fragment offset");

	tcp4_segments(false);
	fr.buf[2][sr.l3 + 21]++;
	refix(2);
	expect_reject("IPv4 option changed", GSO_OUTCOME_ANY, "segment 2 of 4", "IPv4 options");

	tcp4_segments(false);
	fr.buf[3][15]++; /* the VLAN ID */
	expect_reject("VLAN tag changed", GSO_OUTCOME_ANY, "segment 3 of 4", "VLAN tag");

	tcp4_segments(false);
	fr.buf[1][3]++;
	expect_reject("MAC changed", GSO_OUTCOME_ANY, "segment 1 of 4", "Ethernet destination");

	tcp4_segments(false);
	fr.f[3].len--;
	expect_reject("short segment", GSO_OUTCOME_ANY, "segment 3 of 4", "length");

	tcp4_segments(false);
	fr.f[2].meta.gso_type = 1;
	expect_reject("gso_type on a segment", GSO_OUTCOME_ANY, "segment 2 of 4", "gso_type");

	tcp4_segments(false);
	fr.n = 3;
	expect_reject("missing segment", GSO_OUTCOME_ANY, "3 frames received", "expected 4 segments");
	fr.n = 4;

	tcp4_segments(false);
	{
		struct gso_rx_frame t = fr.f[1];

		fr.f[1] = fr.f[2];
		fr.f[2] = t;
	}
	expect_reject("segments swapped", GSO_OUTCOME_ANY, "segment 1 of 4", "IPv4 ID");

	tcp4_segments(false);
	expect_reject("segmentation not allowed", GSO_OUTCOME_PASS, "gso_type 0x00", "segmented");
	frames_free();
}

static void test_tcp6_breakage_rejected(void **state)
{
	struct gso_spec s = { .ipv6 = true, .ipv6_ext = GSO_EXT_HOPOPTS, .vlan = 2,
			      .tcp_opt_len = 12, .payload_len = 2500, .gso_size = 1200,
			      .tcp_flags = GSO_TCP_ACK | GSO_TCP_FIN, .seed = 5 };

	(void)state;
	build(&s);
	ref_tcp(sent, sent_len, &sr, 1200, false);
	wr16(fr.buf[1] + sr.l3 + 4, rd16(fr.buf[1] + sr.l3 + 4) - 1);
	expect_reject("IPv6 payload length", GSO_OUTCOME_ANY, "segment 1 of 3", "IPv6 payload length");
	frames_free();

	ref_tcp(sent, sent_len, &sr, 1200, false);
	fr.buf[2][sr.l3 + 44] = 0xff;
	expect_reject("extension header changed", GSO_OUTCOME_ANY, "segment 2 of 3",
		      "IPv6 extension header");
	frames_free();

	ref_tcp(sent, sent_len, &sr, 1200, false);
	fr.buf[0][sr.l3 + 3] = 0x42;
	expect_reject("flow label changed", GSO_OUTCOME_ANY, "segment 0 of 3", "IPv6 version/class/flow");
	frames_free();

	ref_tcp(sent, sent_len, &sr, 1200, false);
	fr.buf[1][12] = 0x81; /* the outer tag's TPID */
	expect_reject("QinQ TPID changed", GSO_OUTCOME_ANY, "segment 1 of 3", "VLAN tag");
	frames_free();

	ref_tcp(sent, sent_len, &sr, 1200, true);
	fr.buf[0][sr.l4 + 13] |= GSO_TCP_FIN;
	wr16(fr.buf[0] + sr.l4 + 16, t_fold(t_pseudo(fr.buf[0], &sr, fr.f[0].len - sr.l4)));
	expect_reject("FIN on the first (partial)", GSO_OUTCOME_ANY, "segment 0 of 3", "TCP flags");
	frames_free();

	/* A partial checksum for the super-packet's length, not the segment's. */
	ref_tcp(sent, sent_len, &sr, 1200, true);
	wr16(fr.buf[1] + sr.l4 + 16, rd16(sent + sr.l4 + 16));
	expect_reject("super-packet's pseudo-header", GSO_OUTCOME_ANY, "segment 1 of 3",
		      "pseudo-header sum");
	frames_free();
}

/* ---- broken outcomes: pass-through ---------------------------------------------------- */

static void test_pass_breakage_rejected(void **state)
{
	(void)state;
	build(&tcp4);
	pass_through();
	fr.buf[0][sr.hdr + 2000] ^= 1;
	expect_reject("payload changed", GSO_OUTCOME_ANY, "pass-through: frame 0", "payload (byte");
	frames_free();

	pass_through();
	fr.buf[0][sr.l4 + 16] ^= 1;
	expect_reject("checksum field changed", GSO_OUTCOME_ANY, "pass-through: frame 0", "TCP checksum");
	frames_free();

	pass_through();
	fr.f[0].meta.gso_type = 1; /* the ECN bit lost */
	expect_reject("ECN bit lost", GSO_OUTCOME_ANY, "pass-through: frame 0", "gso_type 0x01");
	frames_free();

	pass_through();
	fr.f[0].meta.gso_size = 1448;
	expect_reject("gso_size changed", GSO_OUTCOME_ANY, "pass-through: frame 0", "gso_size 1448");
	frames_free();

	pass_through();
	fr.f[0].meta.hdr_len = 0;
	expect_reject("hdr_len 0", GSO_OUTCOME_ANY, "pass-through: frame 0", "hdr_len 0");
	frames_free();

	pass_through();
	fr.f[0].meta.flags = 2;
	expect_reject("no NEEDS_CSUM", GSO_OUTCOME_ANY, "pass-through: frame 0", "NEEDS_CSUM");
	frames_free();

	pass_through();
	fr.f[0].meta.csum_offset = 6;
	expect_reject("csum_offset", GSO_OUTCOME_ANY, "pass-through: frame 0", "csum_offset 6");
	frames_free();

	pass_through();
	fr.f[0].len--;
	expect_reject("shortened", GSO_OUTCOME_ANY, "pass-through: frame 0", "length");
	frames_free();

	pass_through();
	pass_through();
	expect_reject("twice", GSO_OUTCOME_ANY, "2 frames received", "one");
	frames_free();

	pass_through();
	expect_reject("pass-through not allowed", GSO_OUTCOME_SEGMENTED, "gso_type 0x81",
		      "passed through");
	frames_free();

	/* A sent frame that is no super-packet is refused as such. */
	pass_through();
	sent_meta.gso_type = 4;
	expect_reject("TCPV6 for an IPv4 frame", GSO_OUTCOME_ANY, "sent frame", "gso_type 0x04");
	sent_meta.gso_type = 0x81;
	sent_meta.csum_start = 20;
	expect_reject("csum_start elsewhere", GSO_OUTCOME_ANY, "sent frame", "csum_start 20");
	frames_free();
}

/* ---- broken outcomes: UDP fragments ----------------------------------------------------- */

static const struct gso_spec udp4 = {
	.udp = true, .vlan = 1, .ip_opt_len = 4, .payload_len = 4000, .gso_size = 1003,
	.ip_id = 31337, .seed = 21,
};

/* 4008 bytes of datagram in fragments of 1000: five. */
static void udp4_fragments(void)
{
	frames_free();
	build(&udp4);
	ref_udp(sent, sent_len, &sr, 1000, false, 0);
	assert_int_equal(fr.n, 5);
}

static void test_udp4_breakage_rejected(void **state)
{
	(void)state;
	udp4_fragments();
	wr16(fr.buf[2] + sr.l3 + 6, 0x2000 | 251);
	t_fix_ipv4(fr.buf[2], &sr);
	expect_reject("wrong offset", GSO_OUTCOME_ANY, "fragment 2 of 5", "IPv4 flags/fragment offset");

	udp4_fragments();
	wr16(fr.buf[0] + sr.l3 + 6, 0);
	t_fix_ipv4(fr.buf[0], &sr);
	expect_reject("missing MF", GSO_OUTCOME_ANY, "fragment 0 of 5", "MF set");

	udp4_fragments();
	wr16(fr.buf[4] + sr.l3 + 6, 0x2000 | 500);
	t_fix_ipv4(fr.buf[4], &sr);
	expect_reject("MF on the last", GSO_OUTCOME_ANY, "fragment 4 of 5", "MF clear");

	udp4_fragments();
	wr16(fr.buf[3] + sr.l3 + 4, 31338);
	t_fix_ipv4(fr.buf[3], &sr);
	expect_reject("ID differs", GSO_OUTCOME_ANY, "fragment 3 of 5", "IPv4 ID 31338");

	udp4_fragments();
	fr.buf[1][sr.l3 + 10] ^= 0x80;
	expect_reject("bad header checksum", GSO_OUTCOME_ANY, "fragment 1 of 5", "IPv4 header checksum");

	udp4_fragments();
	wr16(fr.buf[1] + sr.l3 + 2, 1000);
	t_fix_ipv4(fr.buf[1], &sr);
	expect_reject("wrong total length", GSO_OUTCOME_ANY, "fragment 1 of 5", "IPv4 total length");

	udp4_fragments();
	fr.buf[0][sr.l4 + 7] ^= 4;
	expect_reject("bad UDP checksum", GSO_OUTCOME_ANY, "reassembled datagram", "UDP checksum");

	udp4_fragments();
	wr16(fr.buf[0] + sr.l4 + 6, 0);
	expect_reject("no UDP checksum", GSO_OUTCOME_ANY, "reassembled datagram", "UDP checksum 0 (none)");

	/* The partial checksum left in place, as if the device forgot it. */
	udp4_fragments();
	wr16(fr.buf[0] + sr.l4 + 6, rd16(sent + sr.l4 + 6));
	expect_reject("partial UDP checksum left", GSO_OUTCOME_ANY, "reassembled datagram",
		      "does not verify");

	udp4_fragments();
	fr.buf[3][sr.l4 + 99] ^= 0x20;
	expect_reject("wrong data byte", GSO_OUTCOME_ANY, "in fragment 3", "UDP data (datagram byte 3099");

	udp4_fragments();
	fr.f[2].meta.flags = 1;
	expect_reject("NEEDS_CSUM on a fragment", GSO_OUTCOME_ANY, "fragment 2 of 5", "NEEDS_CSUM");

	udp4_fragments();
	fr.f[0].meta.gso_type = 3;
	fr.f[0].meta.flags = 1;
	expect_reject("first fragment claims GSO", GSO_OUTCOME_ANY, "5 frames received", "one");

	udp4_fragments();
	fr.f[4].meta.gso_type = 3;
	expect_reject("gso_type on a fragment", GSO_OUTCOME_ANY, "fragment 4 of 5", "gso_type 0x03");

	udp4_fragments();
	fr.buf[2][sr.l3 + 21] = 0x99; /* the option, changed in one fragment */
	t_fix_ipv4(fr.buf[2], &sr);
	expect_reject("option changed", GSO_OUTCOME_ANY, "fragment 2 of 5", "IPv4 options");

	/* No DF on a fragment, whatever the datagram had (Linux's UFO
	 * rewrites the fragment word whole). */
	udp4_fragments();
	wr16(fr.buf[4] + sr.l3 + 6, 0x4000 | 500);
	t_fix_ipv4(fr.buf[4], &sr);
	expect_reject("DF added", GSO_OUTCOME_ANY, "fragment 4 of 5", "DF clear");
	{
		struct gso_spec df = udp4;

		df.df = true;
		frames_free();
		build(&df);
		ref_udp(sent, sent_len, &sr, 1000, false, 0);
		wr16(fr.buf[1] + sr.l3 + 6, 0x4000 | 0x2000 | 125);
		t_fix_ipv4(fr.buf[1], &sr);
		expect_reject("DF kept", GSO_OUTCOME_ANY, "fragment 1 of 5", "DF clear");
		build(&udp4);
	}

	/* Fragments of gso_size (1003) itself: not multiples of 8. */
	frames_free();
	ref_udp(sent, sent_len, &sr, 1003, false, 0);
	expect_reject("unrounded fragment size", GSO_OUTCOME_ANY, "4 frames received",
		      "1000 per fragment");

	/* Fragments of 504: twice as many. */
	frames_free();
	ref_udp(sent, sent_len, &sr, 504, false, 0);
	expect_reject("smaller fragments", GSO_OUTCOME_ANY, "8 frames received", "expected 5 fragments");

	udp4_fragments();
	{
		struct gso_rx_frame t = fr.f[3];

		fr.f[3] = fr.f[4];
		fr.f[4] = t;
	}
	expect_reject("fragments swapped", GSO_OUTCOME_ANY, "fragment 3 of 5", "length");
	frames_free();
}

static void test_udp6_breakage_rejected(void **state)
{
	struct gso_spec s = { .ipv6 = true, .udp = true, .ipv6_ext = GSO_EXT_DSTOPTS,
			      .payload_len = 3000, .gso_size = 1232, .seed = 8 };
	size_t fh;

	(void)state;
	build(&s);
	fh = sr.l3 + 48; /* the fragment header, after the destination options */
	ref_udp(sent, sent_len, &sr, 1232, false, 77);
	assert_int_equal(fr.n, 3);
	wr32(fr.buf[2] + fh + 4, 78);
	expect_reject("identification differs", GSO_OUTCOME_ANY, "fragment 2 of 3",
		      "fragment identification 0x0000004e");
	frames_free();

	ref_udp(sent, sent_len, &sr, 1232, false, 77);
	wr16(fr.buf[0] + fh + 2, 0);
	expect_reject("M flag missing", GSO_OUTCOME_ANY, "fragment 0 of 3", "M set");
	frames_free();

	ref_udp(sent, sent_len, &sr, 1232, false, 77);
	wr16(fr.buf[1] + fh + 2, 1240 | 1);
	expect_reject("wrong offset", GSO_OUTCOME_ANY, "fragment 1 of 3", "offset 1232");
	frames_free();

	ref_udp(sent, sent_len, &sr, 1232, false, 77);
	fr.buf[1][fh] = 6;
	expect_reject("wrong next header in the fragment header", GSO_OUTCOME_ANY, "fragment 1 of 3",
		      "fragment header next header 6");
	frames_free();

	ref_udp(sent, sent_len, &sr, 1232, false, 77);
	fr.buf[2][sr.l3 + 40] = 17;
	expect_reject("fragment header not linked", GSO_OUTCOME_ANY, "fragment 2 of 3",
		      "extension header's next header 17");
	frames_free();

	ref_udp(sent, sent_len, &sr, 1232, false, 77);
	wr16(fr.buf[1] + sr.l3 + 4, 1000);
	expect_reject("payload length", GSO_OUTCOME_ANY, "fragment 1 of 3", "IPv6 payload length 1000");
	frames_free();

	ref_udp(sent, sent_len, &sr, 1232, false, 77);
	fr.buf[1][sr.l3 + 20] ^= 1;
	expect_reject("source address", GSO_OUTCOME_ANY, "fragment 1 of 3", "IPv6 source");
	frames_free();

	/* The destination options behind the fragment header, then changed there. */
	ref_udp(sent, sent_len, &sr, 1232, true, 77);
	fr.buf[0][sr.l3 + 40 + 8 + 3] = 5;
	expect_reject("moved options changed", GSO_OUTCOME_ANY, "reassembled datagram",
		      "destination options");
	frames_free();

	/* Behind the fragment header in one fragment, before it in the others. */
	ref_udp(sent, sent_len, &sr, 1232, true, 77);
	{
		uint8_t *f = fr.buf[1];

		f[sr.l3 + 6] = 60;
		expect_reject("placement mixed", GSO_OUTCOME_ANY, "fragment 1 of 3", "IPv6 next header 60");
	}
	frames_free();

	/* A datagram without its checksum completed. */
	s.ipv6_ext = GSO_EXT_NONE;
	build(&s);
	ref_udp(sent, sent_len, &sr, 1232, false, 77);
	fr.buf[0][sr.l3 + 40 + 8 + 7] ^= 0xff;
	expect_reject("bad UDP checksum", GSO_OUTCOME_ANY, "reassembled datagram",
		      "UDP checksum");
	frames_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_checksum_vectors, cleanup),
		cmocka_unit_test_teardown(test_build_every_kind, cleanup),
		cmocka_unit_test_teardown(test_build_largest, cleanup),
		cmocka_unit_test_teardown(test_build_refuses_impossible, cleanup),
		cmocka_unit_test_teardown(test_payload_is_deterministic, cleanup),
		cmocka_unit_test_teardown(test_tcp_segmentations_accepted, cleanup),
		cmocka_unit_test_teardown(test_largest_segmentations_accepted, cleanup),
		cmocka_unit_test_teardown(test_udp_fragmentations_accepted, cleanup),
		cmocka_unit_test_teardown(test_pass_through_accepted, cleanup),
		cmocka_unit_test_teardown(test_tcp_breakage_rejected, cleanup),
		cmocka_unit_test_teardown(test_tcp6_breakage_rejected, cleanup),
		cmocka_unit_test_teardown(test_pass_breakage_rejected, cleanup),
		cmocka_unit_test_teardown(test_udp4_breakage_rejected, cleanup),
		cmocka_unit_test_teardown(test_udp6_breakage_rejected, cleanup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
