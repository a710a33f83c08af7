/* SPDX-License-Identifier: MIT */
/*
 * Segmentation offload end to end, with driver-library clients on a real
 * server:
 *  - plain frames of 64 KiB cross byte-exact in both directions, from
 *    every TX layout into mergeable buffers and into big-packet chains;
 *  - vnd_send refuses GSO metadata the device did not negotiate (and
 *    malformed GSO requests), before anything reaches the server;
 *  - vnd_recv reports gso_type, gso_size and hdr_len from the header of a
 *    frame's first buffer (a device stand-in writes the RX ring);
 *  - asking for the offload features negotiates them all;
 *  - every kind of GSO frame (TCPv4, TCPv6, ECN, UFO over IPv4 and IPv6,
 *    VLAN tags, IP and TCP options, an IPv6 extension header), from every
 *    TX layout, reaches a receiver that negotiated it whole and any other
 *    in segments or fragments that gso_verify() finds right, and the
 *    server's GSO counters agree;
 *  - GSO frames whose headers lie are dropped as bad, by name;
 *  - the same with packed rings at either end or both.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gso_frames.h"
#include "harness.h"
#include "vnd_raw.h"

#define F(bit) (1ull << (bit))
/* The library's largest frame, and the server's: Ethernet, one VLAN tag
 * and a 65535-byte IP packet. */
#define LIB_FRAME_MAX 65597u
#define SERVER_FRAME_MAX (14u + 8u + 40u + 65535u)
#define RX_CAP (LIB_FRAME_MAX + 64u)
#define OFFLOAD_BITS                                                                   \
	(F(VND_F_GUEST_TSO4) | F(VND_F_GUEST_TSO6) | F(VND_F_GUEST_ECN) | F(VND_F_GUEST_UFO) | \
	 F(VND_F_HOST_TSO4) | F(VND_F_HOST_TSO6) | F(VND_F_HOST_ECN) | F(VND_F_HOST_UFO))

/* ---- receiving ------------------------------------------------------------------------ */

/* Receive up to want frames within timeout_ms into store (frames one after
 * the other), each with its meta; returns how many came. Fails the test
 * on a receive error. */
static size_t receive_frames(struct vnd *d, size_t want, int timeout_ms, struct gso_rx_frame *out,
			     uint8_t *store, size_t store_cap)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	size_t got = 0, used = 0;

	while (got < want && now_ms() < deadline) {
		struct vnd_rx_meta meta;
		ssize_t n = vnd_recv(d, store + used, store_cap - used, &meta);

		if (n == -EAGAIN) {
			vnd_wait(d, 10);
			continue;
		}
		if (n < 0)
			fail_msg("receive failed: %s", vnd_last_error(d));
		out[got++] = (struct gso_rx_frame){ .data = store + used, .len = (size_t)n, .meta = meta };
		used += (size_t)n;
	}
	return got;
}

/* ---- plain 64 KiB frames ------------------------------------------------------------------ */

/* Frame k of a stream: Ethernet header, then bytes from the stream and k. */
static size_t plain_frame(uint8_t *f, uint32_t stream, uint32_t k, size_t len)
{
	memcpy(f, "\xff\xff\xff\xff\xff\xff\x02\x00\x00\x00\x00", 11);
	f[11] = (uint8_t)stream;
	f[12] = 0x88;
	f[13] = 0xb5;
	for (size_t i = 14; i < len; i++)
		f[i] = gso_payload_byte(stream << 16 | k, i);
	return len;
}

static const size_t big_sizes[] = { 65536, SERVER_FRAME_MAX, 65535, 60, 1514, 32769, 65000 };
#define BIG_COUNT 14u /* frames each way: every size twice */

struct stream {
	struct vnd *tx, *rx;
	uint32_t id;
	unsigned sent, received;
	bool expect_mrg; /* the receiver negotiated MRG_RXBUF */
};

static size_t big_size(unsigned k) { return big_sizes[k % (sizeof big_sizes / sizeof big_sizes[0])]; }

static void stream_send(struct stream *s)
{
	static uint8_t f[LIB_FRAME_MAX];

	while (s->sent < BIG_COUNT) {
		size_t len = plain_frame(f, s->id, s->sent, big_size(s->sent));
		int rc = vnd_send(s->tx, f, len, NULL);

		if (rc == -EAGAIN)
			return;
		if (rc < 0)
			fail_msg("stream %u: send of %zu bytes failed: %s", s->id, len,
				 vnd_last_error(s->tx));
		s->sent++;
	}
}

static bool stream_receive(struct stream *s)
{
	static uint8_t f[RX_CAP], want[LIB_FRAME_MAX];
	bool any = false;

	for (;;) {
		struct vnd_rx_meta m;
		ssize_t n = vnd_recv(s->rx, f, sizeof f, &m);
		size_t len = big_size(s->received);

		if (n == -EAGAIN)
			return any;
		if (n < 0)
			fail_msg("stream %u: receive failed: %s", s->id, vnd_last_error(s->rx));
		any = true;
		plain_frame(want, s->id, s->received, len);
		if ((size_t)n != len || memcmp(f, want, len))
			fail_msg("stream %u: frame %u: %zd bytes, expected %zu, or content differs", s->id,
				 s->received, n, len);
		assert_int_equal(m.gso_type, VND_GSO_NONE);
		assert_int_equal(m.gso_size, 0);
		assert_int_equal(m.flags & 1, 0);
		/* Mergeable buffers of at most 9000 bytes: a 64 KiB frame takes several. */
		if (s->expect_mrg && len >= 65536)
			assert_true(m.num_buffers > 1);
		if (!s->expect_mrg)
			assert_int_equal(m.num_buffers, 1);
		s->received++;
	}
}

/* Both ways at once, every frame checked, nothing dropped. */
static void big_both_ways(struct server *s, struct vnd *a, struct vnd *b)
{
	struct stream ab = { a, b, 1, 0, 0, (vnd_features(b) & F(VND_F_MRG_RXBUF)) != 0 };
	struct stream ba = { b, a, 2, 0, 0, (vnd_features(a) & F(VND_F_MRG_RXBUF)) != 0 };
	uint64_t deadline = now_ms() + 30000;

	while ((ab.received < BIG_COUNT || ba.received < BIG_COUNT) && now_ms() < deadline) {
		bool progress;

		stream_send(&ab);
		stream_send(&ba);
		progress = stream_receive(&ab);
		progress |= stream_receive(&ba);
		if (!progress) {
			vnd_wait(a, 2);
			vnd_wait(b, 2);
		}
	}
	assert_int_equal(ab.received, BIG_COUNT);
	assert_int_equal(ba.received, BIG_COUNT);
	for (unsigned p = 0; p < 2; p++) {
		struct vnp_ctl_port st = port_status(s, p);

		assert_int_equal(st.counter[VNP_CTR_DROP_TOO_BIG] + st.counter[VNP_CTR_DROP_BAD] +
					 st.counter[VNP_CTR_DROP_NO_PEER] + st.counter[VNP_CTR_RX_DROP_TOO_BIG],
				 0);
		assert_int_equal(st.counter[VNP_CTR_TX_PACKETS], BIG_COUNT);
	}
}

/* Every TX layout, into mergeable buffers one way and into big-packet
 * chains (no MRG_RXBUF) the other, with buffer and piece sizes that do
 * not divide 64 KiB. */
static void test_64k_frames_every_layout(void **state)
{
	static const enum vnd_tx_layout layouts[] = { VND_TX_ONE_DESC, VND_TX_HDR_SPLIT,
						      VND_TX_INDIRECT, VND_TX_SCATTER };
	static const unsigned mrg_buf[] = { 2048, 700, 4096, 9000 };
	static const unsigned chain_buf[] = { 2048, 1000, 4096, 9000 };
	static const unsigned piece[] = { 512, 333, 4096, 1000 };

	(void)state;
	for (unsigned i = 0; i < 4; i++) {
		struct vnd_config mrg, chains;
		struct server s;
		struct vnd *a, *b;

		vnd_config_init(&mrg);
		mrg.tx_layout = layouts[i];
		mrg.tx_piece = piece[i];
		mrg.rx_buf_size = mrg_buf[i];
		vnd_config_init(&chains);
		chains.features &= ~F(VND_F_MRG_RXBUF);
		chains.tx_layout = layouts[i];
		chains.tx_piece = piece[(i + 1) % 4];
		chains.rx_buf_size = chain_buf[i];
		if (i == 3)
			chains.features &= ~F(VND_F_VERSION_1); /* a 10-byte header */
		server_start(&s, NULL);
		a = client_open(&s, NULL, &mrg);
		b = client_open(&s, NULL, &chains);
		assert_true(vnd_features(a) & F(VND_F_MRG_RXBUF));
		assert_false(vnd_features(b) & F(VND_F_MRG_RXBUF));
		big_both_ways(&s, a, b);
		vnd_close(a);
		vnd_close(b);
		server_stop(&s);
	}
}

/* ---- GSO refused without the features -------------------------------------------------- */

static void expect_refused(struct vnd *d, const uint8_t *f, size_t len, const struct vnd_tx_meta *m,
			   const char *why)
{
	int rc = vnd_send(d, f, len, m);

	if (rc != -EINVAL || !strstr(vnd_last_error(d), why))
		fail_msg("gso_type 0x%02x gso_size %u needs_csum %d: vnd_send gave %d (%s), expected "
			 "-EINVAL naming \"%s\"",
			 m->gso_type, m->gso_size, m->needs_csum, rc, vnd_last_error(d), why);
}

/* Every GSO request from a client that did not ask for the offloads. */
static void refuse_all(struct vnd *d, uint64_t negotiated)
{
	static uint8_t f[LIB_FRAME_MAX];
	struct gso_spec tcp = { .vlan = 1, .payload_len = 20000, .gso_size = 1448,
				.tcp_flags = GSO_TCP_ACK, .seed = 1 };
	struct gso_spec udp = { .udp = true, .payload_len = 8000, .gso_size = 1480, .seed = 2 };
	struct vnd_tx_meta m, bad;
	size_t len;

	len = gso_build(f, sizeof f, &tcp, &m);
	if (!(negotiated & F(VND_F_HOST_TSO4)))
		expect_refused(d, f, len, &m, "HOST_TSO4 (feature 11), which was not negotiated");
	bad = m;
	bad.gso_type |= VND_GSO_ECN;
	if (!(negotiated & F(VND_F_HOST_TSO4)))
		expect_refused(d, f, len, &bad, "HOST_TSO4 (feature 11), which was not negotiated");
	else if (!(negotiated & F(VND_F_HOST_ECN)))
		expect_refused(d, f, len, &bad, "HOST_ECN (feature 13), which was not negotiated");
	bad = m;
	bad.gso_size = 0;
	expect_refused(d, f, len, &bad, "gso_size 0");
	bad = m;
	bad.needs_csum = false;
	expect_refused(d, f, len, &bad, "without needs_csum");
	bad = m;
	bad.gso_type = VND_GSO_ECN;
	expect_refused(d, f, len, &bad, "ECN bit without a GSO type");
	bad.gso_type = 2;
	expect_refused(d, f, len, &bad, "not a type this library knows");
	bad.gso_type = 5; /* UDP_L4 (USO): not ours */
	expect_refused(d, f, len, &bad, "not a type this library knows");

	tcp.ipv6 = true;
	len = gso_build(f, sizeof f, &tcp, &m);
	if (!(negotiated & F(VND_F_HOST_TSO6)))
		expect_refused(d, f, len, &m, "HOST_TSO6 (feature 12), which was not negotiated");

	len = gso_build(f, sizeof f, &udp, &m);
	if (!(negotiated & F(VND_F_HOST_UFO)))
		expect_refused(d, f, len, &m, "HOST_UFO (feature 14), which was not negotiated");
	bad = m;
	bad.gso_type |= VND_GSO_ECN;
	expect_refused(d, f, len, &bad, "for TCP only");
}

static void test_gso_refused_without_features(void **state)
{
	static uint8_t f[LIB_FRAME_MAX], in[RX_CAP];
	struct gso_spec tcp = { .payload_len = 3000, .gso_size = 0, .tcp_flags = GSO_TCP_ACK,
				.seed = 9 };
	struct vnd_config cfg;
	struct vnd_tx_meta m;
	struct gso_rx_frame got[2];
	struct server s;
	struct vnd *a, *b;
	size_t len;

	(void)state;
	vnd_config_init(&cfg);
	assert_int_equal(VND_FEATURES_DEFAULT & OFFLOAD_BITS, 0);
	server_start(&s, NULL);
	a = client_open(&s, NULL, &cfg);
	b = client_open(&s, NULL, &cfg);
	/* Not asked for, so never negotiated, whatever the server offers. */
	assert_int_equal(vnd_features(a) & OFFLOAD_BITS, 0);
	refuse_all(a, vnd_features(a));

	/* Refused in the library: nothing in flight, nothing reached the server. */
	assert_int_equal(vnd_tx_reclaim(a), 0);
	assert_int_equal(receive_frames(b, 1, 300, got, in, sizeof in), 0);
	assert_int_equal(port_status(&s, 0).counter[VNP_CTR_TX_PACKETS], 0);
	assert_int_equal(port_status(&s, 0).counter[VNP_CTR_DROP_BAD], 0);

	/* The same frame as a plain checksum request goes through, with its
	 * partial checksum passed on to a receiver with GUEST_CSUM. */
	len = gso_build(f, sizeof f, &tcp, &m);
	assert_int_equal(m.gso_type, VND_GSO_NONE);
	assert_int_equal(vnd_send(a, f, len, &m), 0);
	assert_int_equal(receive_frames(b, 1, 5000, got, in, sizeof in), 1);
	assert_int_equal(got[0].len, len);
	assert_memory_equal(got[0].data, f, len);
	assert_int_equal(got[0].meta.flags & 1, 1);
	assert_int_equal(got[0].meta.csum_start, m.csum_start);
	assert_int_equal(got[0].meta.csum_offset, 16);
	assert_int_equal(got[0].meta.gso_type, VND_GSO_NONE);
	assert_int_equal(port_status(&s, 0).counter[VNP_CTR_TX_PACKETS], 1);

	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* ---- offloads asked for ------------------------------------------------------------------- */

static void test_offloads_asked_for(void **state)
{
	static uint8_t f[LIB_FRAME_MAX];
	struct vnd_config cfg;
	struct server s;
	struct vnd *a, *b;
	uint64_t fa;

	(void)state;
	vnd_config_init(&cfg);
	cfg.features |= OFFLOAD_BITS;
	server_start(&s, NULL);
	a = client_open(&s, NULL, &cfg);
	b = client_open(&s, NULL, &cfg);
	fa = vnd_features(a);
	/* Whatever the device offers of them, never more than was asked. */
	assert_int_equal(fa & ~(cfg.features | F(30) /* PROTOCOL_FEATURES */), 0);
	/* GSO of a type not negotiated stays refused; the rules hold as ever. */
	refuse_all(a, fa);

	/* The server offers them all: all are negotiated. */
	assert_int_equal(fa & OFFLOAD_BITS, OFFLOAD_BITS);
	{
		struct gso_spec tcp = { .payload_len = 10000, .gso_size = 1448,
					.tcp_flags = GSO_TCP_ACK, .seed = 3 };
		struct vnd_tx_meta m;
		size_t len = gso_build(f, sizeof f, &tcp, &m);

		/* Negotiated: the library hands it over. */
		if (vnd_send(a, f, len, &m) != 0)
			fail_msg("TSO4 negotiated, yet: %s", vnd_last_error(a));
	}
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* ---- GSO frames through the server ------------------------------------------------------ */

/* The super-packets every receiver gets: each kind, with the headers a
 * device must not trip over. */
static const struct gso_spec gso_kinds[] = {
	{ .payload_len = 10000, .gso_size = 1448, .tcp_flags = GSO_TCP_ACK | GSO_TCP_PSH, .seed = 11,
	  .seq = 0xfffff000u /* the sequence number wraps in the middle */ },
	{ .vlan = 1, .ip_opt_len = 8, .tcp_opt_len = 12, .payload_len = 65000, .gso_size = 1448,
	  .tcp_flags = GSO_TCP_ACK | GSO_TCP_FIN | GSO_TCP_PSH, .ip_id = 0xfffe, .df = true,
	  .seed = 12 },
	{ .ipv6 = true, .ipv6_ext = GSO_EXT_DSTOPTS, .vlan = 2, .payload_len = 30000,
	  .gso_size = 1420, .tcp_flags = GSO_TCP_ACK, .seed = 13 },
	{ .ecn = true, .payload_len = 5000, .gso_size = 1000, .tcp_flags = GSO_TCP_ACK, .seed = 14 },
	{ .payload_len = 900, .gso_size = 1448, .tcp_flags = GSO_TCP_ACK | GSO_TCP_PSH,
	  .seed = 15 /* one segment's worth */ },
	{ .udp = true, .payload_len = 20000, .gso_size = 1480, .seed = 16 },
	{ .udp = true, .ipv6 = true, .payload_len = 8000, .gso_size = 1232, .seed = 17 },
	{ .udp = true, .vlan = 1, .payload_len = 3000, .gso_size = 1477 /* not a multiple of 8 */,
	  .seed = 18 },
};
#define GSO_KINDS (sizeof gso_kinds / sizeof gso_kinds[0])

/* Whether a receiver with these features takes the frame whole. */
static bool takes_whole(uint64_t rx, const struct gso_spec *k)
{
	uint64_t type = k->udp ? F(VND_F_GUEST_UFO) : k->ipv6 ? F(VND_F_GUEST_TSO6)
							      : F(VND_F_GUEST_TSO4);

	return (rx & F(VND_F_GUEST_CSUM)) && (rx & type) && (!k->ecn || (rx & F(VND_F_GUEST_ECN)));
}

struct gso_counts {
	uint64_t gso, segmented, whole, packets;
};

static struct gso_counts gso_counts(struct server *s)
{
	struct vnp_ctl_port tx = port_status(s, 0), rx = port_status(s, 1);

	return (struct gso_counts){ tx.counter[VNP_CTR_TX_GSO], tx.counter[VNP_CTR_TX_GSO_SEGMENTED],
				    rx.counter[VNP_CTR_RX_GSO], rx.counter[VNP_CTR_RX_PACKETS] };
}

/* Each kind from a to b: what b got is one of the legal outcomes, the one
 * its features call for, and the counters say so. */
static void gso_kinds_across(struct server *s, struct vnd *a, struct vnd *b)
{
	static uint8_t f[LIB_FRAME_MAX], store[4 * RX_CAP];
	static struct gso_rx_frame got[300];
	uint64_t rx = vnd_features(b);

	for (size_t k = 0; k < GSO_KINDS; k++) {
		const struct gso_spec *spec = &gso_kinds[k];
		bool whole = takes_whole(rx, spec);
		struct gso_counts before = gso_counts(s), after;
		struct vnd_tx_meta m;
		size_t len = gso_build(f, sizeof f, spec, &m), want, n;
		unsigned seen = 0;
		char msg[512];

		assert_true(len > 0);
		want = whole ? 1 : gso_segment_count(f, len, &m);
		assert_true(want > 0 && want <= 300);
		for (uint64_t end = now_ms() + 5000; vnd_send(a, f, len, &m) == -EAGAIN;) {
			assert_true(now_ms() < end);
			vnd_wait(a, 5);
		}
		n = receive_frames(b, want, 10000, got, store, sizeof store);
		if (n != want)
			fail_msg("kind %zu: %zu of %zu frames arrived", k, n, want);
		if (gso_verify(f, len, &m, got, n,
			       whole ? GSO_OUTCOME_PASS : GSO_OUTCOME_SEGMENTED, &seen, msg,
			       sizeof msg) < 0)
			fail_msg("kind %zu (receiver features 0x%llx): %s", k, (unsigned long long)rx,
				 msg);
		for (uint64_t end = now_ms() + 2000;
		     gso_counts(s).packets < before.packets + want && now_ms() < end;)
			usleep(1000);
		after = gso_counts(s);
		assert_int_equal(after.gso, before.gso + 1);
		assert_int_equal(after.segmented, before.segmented + !whole);
		assert_int_equal(after.whole, before.whole + whole);
		assert_int_equal(after.packets, before.packets + want);
	}
	assert_int_equal(port_status(s, 0).counter[VNP_CTR_DROP_BAD], 0);
	assert_int_equal(port_status(s, 0).counter[VNP_CTR_DROP_TOO_BIG], 0);
}

/* Every sender layout against receivers that take everything whole, take
 * only TSO4, take nothing (segments, checksums left partial), and cannot
 * take partial checksums either (segments completed); with mergeable
 * buffers and with big-packet chains. */
static void test_gso_through_the_server(void **state)
{
	static const enum vnd_tx_layout layouts[] = { VND_TX_ONE_DESC, VND_TX_HDR_SPLIT,
						      VND_TX_INDIRECT, VND_TX_SCATTER };
	const uint64_t rx_kinds[] = {
		VND_FEATURES_DEFAULT | OFFLOAD_BITS,
		(VND_FEATURES_DEFAULT | OFFLOAD_BITS) & ~F(VND_F_MRG_RXBUF),
		VND_FEATURES_DEFAULT | F(VND_F_GUEST_TSO4),
		VND_FEATURES_DEFAULT,
		VND_FEATURES_DEFAULT & ~(F(VND_F_GUEST_CSUM) | F(VND_F_MRG_RXBUF)),
	};

	(void)state;
	for (size_t r = 0; r < sizeof rx_kinds / sizeof rx_kinds[0]; r++) {
		for (size_t l = 0; l < sizeof layouts / sizeof layouts[0]; l++) {
			struct vnd_config tx_cfg, rx_cfg;
			struct server s;
			struct vnd *a, *b;

			print_message("receiver 0x%llx, sender layout %d\n",
				      (unsigned long long)rx_kinds[r], (int)layouts[l]);
			vnd_config_init(&tx_cfg);
			tx_cfg.features |= OFFLOAD_BITS;
			tx_cfg.tx_layout = layouts[l];
			tx_cfg.tx_piece = 1000;
			vnd_config_init(&rx_cfg);
			rx_cfg.features = rx_kinds[r];
			rx_cfg.rx_buf_size = 1500; /* a 64 KiB frame takes many */
			server_start(&s, NULL);
			a = client_open(&s, NULL, &tx_cfg);
			b = client_open(&s, NULL, &rx_cfg);
			gso_kinds_across(&s, a, b);
			vnd_close(a);
			vnd_close(b);
			server_stop(&s);
		}
	}
}

/* Packed rings (VND_F_RING_PACKED) at either end or both: senders of
 * every layout, receivers that take GSO whole, take nothing (segments),
 * cannot take partial checksums (segments completed), with mergeable
 * buffers, big-packet chains, the header over three RX pieces, IN_ORDER. */
static void test_gso_packed_ends(void **state)
{
	static const struct {
		bool tx_packed;
		enum vnd_tx_layout layout;
		bool rx_packed;
		uint64_t rx;
		unsigned rx_hdr_pieces;
	} cases[] = {
		{ true, VND_TX_INDIRECT, true, VND_FEATURES_DEFAULT | OFFLOAD_BITS, 0 },
		{ true, VND_TX_SCATTER, true, VND_FEATURES_DEFAULT & ~F(VND_F_MRG_RXBUF), 0 },
		{ false, VND_TX_HDR_SPLIT, true, VND_FEATURES_DEFAULT | F(VND_F_GUEST_TSO4), 3 },
		{ true, VND_TX_ONE_DESC, false,
		  VND_FEATURES_DEFAULT & ~(F(VND_F_GUEST_CSUM) | F(VND_F_MRG_RXBUF)), 0 },
		{ true, VND_TX_HDR_SPLIT, true,
		  (VND_FEATURES_DEFAULT | OFFLOAD_BITS | F(VND_F_IN_ORDER)) & ~F(VND_F_MRG_RXBUF), 3 },
		{ true, VND_TX_SCATTER, true, VND_FEATURES_DEFAULT | F(VND_F_IN_ORDER), 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct vnd_config tx_cfg, rx_cfg;
		struct server s;
		struct vnd *a, *b;

		print_message("case %zu: %s sender, %s receiver 0x%llx\n", i,
			      cases[i].tx_packed ? "packed" : "split",
			      cases[i].rx_packed ? "packed" : "split",
			      (unsigned long long)cases[i].rx);
		vnd_config_init(&tx_cfg);
		tx_cfg.features |= OFFLOAD_BITS;
		if (cases[i].tx_packed)
			tx_cfg.features |= F(VND_F_RING_PACKED);
		tx_cfg.tx_layout = cases[i].layout;
		tx_cfg.tx_piece = 1000;
		vnd_config_init(&rx_cfg);
		rx_cfg.features = cases[i].rx;
		if (cases[i].rx_packed)
			rx_cfg.features |= F(VND_F_RING_PACKED);
		rx_cfg.rx_buf_size = 1500;
		server_start(&s, NULL);
		a = client_open(&s, NULL, &tx_cfg);
		b = client_open(&s, NULL, &rx_cfg);
		assert_int_equal(!!(vnd_features(a) & F(VND_F_RING_PACKED)), cases[i].tx_packed);
		assert_int_equal(!!(vnd_features(b) & F(VND_F_RING_PACKED)), cases[i].rx_packed);
		if (cases[i].rx_hdr_pieces) {
			assert_int_equal(vnd_stop(b), 0);
			assert_int_equal(vnd_raw_rx_header_pieces(b, cases[i].rx_hdr_pieces), 0);
			assert_int_equal(vnd_restart(b), 0);
		}
		gso_kinds_across(&s, a, b);
		vnd_close(a);
		vnd_close(b);
		server_stop(&s);
	}
}

/* 64 KiB frames both ways between packed ends, into mergeable buffers one
 * way and big-packet chains the other. */
static void test_64k_frames_packed(void **state)
{
	static const enum vnd_tx_layout layouts[] = { VND_TX_ONE_DESC, VND_TX_HDR_SPLIT,
						      VND_TX_INDIRECT, VND_TX_SCATTER };

	(void)state;
	for (unsigned i = 0; i < 4; i++) {
		struct vnd_config mrg, chains;
		struct server s;
		struct vnd *a, *b;

		vnd_config_init(&mrg);
		mrg.features |= F(VND_F_RING_PACKED);
		mrg.tx_layout = layouts[i];
		mrg.tx_piece = 333 + 1000 * i;
		mrg.rx_buf_size = 700 + 1000 * i;
		vnd_config_init(&chains);
		chains.features &= ~F(VND_F_MRG_RXBUF);
		if (i % 2)
			chains.features |= F(VND_F_RING_PACKED);
		chains.tx_layout = layouts[(i + 1) % 4];
		chains.rx_buf_size = 1000 + 1000 * i;
		server_start(&s, NULL);
		a = client_open(&s, NULL, &mrg);
		b = client_open(&s, NULL, &chains);
		big_both_ways(&s, a, b);
		vnd_close(a);
		vnd_close(b);
		server_stop(&s);
	}
}

/* GSO frames whose headers lie: dropped, counted as bad, named in the
 * log; the link goes on. */
static void test_gso_lies_dropped(void **state)
{
	static uint8_t f[LIB_FRAME_MAX], in[RX_CAP];
	static const struct {
		const char *why;
		unsigned at;   /* frame byte to change (for TCPv4 without options: L3 at 14) */
		uint8_t value;
		uint16_t gso_size;
		uint16_t csum_start;
	} lies[] = {
		{ "IPv4 header length", 14, 0x44, 0, 0 },          /* IHL 4 */
		{ "TCP header length", 34 + 12, 0x30, 0, 0 },     /* data offset 3 */
		{ "TCP GSO over a payload that is not TCP", 14 + 9, 17, 0, 0 },
		{ "GSO frame is an IPv4 fragment", 14 + 6, 0x20, 0, 0 },
		{ "more than 256 segments", 0, 0, 16, 0 },
		{ "not at the L4 checksum", 0, 0, 0, 30 },
		{ "TCPv4 GSO over a frame that is not IPv4", 12, 0x86, 0, 0 },
	};
	struct gso_spec tcp = { .payload_len = 10000, .gso_size = 1448, .tcp_flags = GSO_TCP_ACK,
				.seed = 21 };
	struct gso_rx_frame got[1];
	struct vnd_config cfg;
	struct server s;
	struct vnd *a, *b;

	(void)state;
	vnd_config_init(&cfg);
	cfg.features |= OFFLOAD_BITS;
	server_start(&s, NULL);
	a = client_open(&s, NULL, &cfg);
	b = client_open(&s, NULL, &cfg);
	for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
		struct vnd_tx_meta m;
		size_t len = gso_build(f, sizeof f, &tcp, &m);

		if (lies[i].at)
			f[lies[i].at] = lies[i].value;
		if (lies[i].gso_size)
			m.gso_size = lies[i].gso_size;
		if (lies[i].csum_start)
			m.csum_start = lies[i].csum_start;
		assert_int_equal(vnd_send(a, f, len, &m), 0);
		for (uint64_t end = now_ms() + 3000;
		     port_status(&s, 0).counter[VNP_CTR_DROP_BAD] < i + 1 && now_ms() < end;)
			usleep(1000);
		assert_int_equal(port_status(&s, 0).counter[VNP_CTR_DROP_BAD], i + 1);
		assert_true(server_log_contains(&s, lies[i].why, 2000));
	}
	assert_int_equal(receive_frames(b, 1, 200, got, in, sizeof in), 0);
	assert_int_equal(port_status(&s, 0).counter[VNP_CTR_TX_GSO], 0);
	assert_int_equal(port_status(&s, 0).state, 3 /* running */);
	/* The link goes on: an honest frame after them. */
	{
		struct vnd_tx_meta m;
		size_t len = gso_build(f, sizeof f, &tcp, &m);

		assert_int_equal(vnd_send(a, f, len, &m), 0);
		assert_int_equal(receive_frames(b, 1, 5000, got, in, sizeof in), 1);
		assert_int_equal(got[0].len, len);
	}
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* ---- what vnd_recv reports, from a device stand-in ------------------------------------ */

/*
 * Put one frame into d's RX ring as a device would: header (hlen bytes)
 * and frame across the posted buffers, used entries, used index. Only
 * safe while d's port has no peer, so that the server writes nothing
 * into this ring. With MRG_RXBUF the header says how many buffers.
 * Returns the buffers taken.
 */
static unsigned device_put(struct vnd *d, uint8_t *hdr, size_t hlen, const uint8_t *f, size_t len)
{
	struct vnd_raw_ring r;
	bool mrg = vnd_features(d) & F(VND_F_MRG_RXBUF);
	uint16_t used, avail;
	size_t done = 0, total = hlen + len;
	unsigned buffers = 0;

	assert_int_equal(vnd_raw_ring(d, 0, &r), 0);
	used = __atomic_load_n(&r.used->idx, __ATOMIC_ACQUIRE);
	/* Nothing else ever used this ring: one avail entry per used entry. */
	avail = used;
	assert_true(__atomic_load_n(&r.avail->idx, __ATOMIC_ACQUIRE) != avail);
	while (done < total) {
		uint16_t head = r.avail->ring[(uint16_t)(avail + buffers) & (r.num - 1)], at = head;
		uint32_t wrote = 0;

		for (;;) {
			struct vring_desc *dd = &r.desc[at];
			uint8_t *p = host_of(d, dd->addr);
			size_t n = total - done < dd->len ? total - done : dd->len;

			for (size_t k = 0; k < n; k++, done++)
				p[k] = done < hlen ? hdr[done] : f[done - hlen];
			wrote += (uint32_t)n;
			if (done == total || !(dd->flags & VRING_DESC_F_NEXT))
				break;
			at = dd->next;
		}
		r.used->ring[(uint16_t)(used + buffers) & (r.num - 1)] =
			(struct vring_used_elem){ head, wrote };
		buffers++;
		assert_true(mrg || done == total); /* one chain holds it all */
	}
	if (mrg) {
		/* num_buffers, in the first buffer's header (12 bytes with MRG_RXBUF). */
		uint8_t *first = host_of(d, r.desc[r.used->ring[used & (r.num - 1)].id].addr);

		first[10] = (uint8_t)buffers;
		first[11] = (uint8_t)(buffers >> 8);
	}
	__atomic_store_n(&r.used->idx, (uint16_t)(used + buffers), __ATOMIC_RELEASE);
	return buffers;
}

static void check_rx_meta(const struct vnd_config *cfg, size_t payload, unsigned want_buffers)
{
	static uint8_t f[LIB_FRAME_MAX], in[RX_CAP];
	struct gso_spec spec = { .vlan = 1, .tcp_opt_len = 12, .payload_len = payload,
				 .gso_size = 1448, .ecn = true, .tcp_flags = GSO_TCP_ACK, .seed = 77 };
	struct vnd_tx_meta m;
	struct gso_rx_frame got;
	struct server s;
	struct vnd *d;
	size_t len = gso_build(f, sizeof f, &spec, &m);
	/* virtio_net_hdr (little-endian): flags, gso_type, hdr_len, gso_size,
	 * csum_start, csum_offset, [num_buffers] */
	uint8_t hdr[12] = { 1, m.gso_type, (uint8_t)m.hdr_len, (uint8_t)(m.hdr_len >> 8),
			    (uint8_t)m.gso_size, (uint8_t)(m.gso_size >> 8), (uint8_t)m.csum_start,
			    (uint8_t)(m.csum_start >> 8), (uint8_t)m.csum_offset, 0, 0, 0 };
	unsigned buffers;
	size_t hlen;
	char why[600];

	assert_true(len > 0);
	server_start(&s, NULL);
	d = client_open(&s, NULL, cfg); /* alone: no peer writes its RX ring */
	hlen = vnd_features(d) & (F(VND_F_VERSION_1) | F(VND_F_MRG_RXBUF)) ? 12 : 10;
	buffers = device_put(d, hdr, hlen, f, len);
	assert_int_equal(buffers, want_buffers);
	assert_int_equal(receive_frames(d, 1, 2000, &got, in, sizeof in), 1);
	assert_int_equal(got.len, len);
	assert_memory_equal(got.data, f, len);
	assert_int_equal(got.meta.flags, 1);
	assert_int_equal(got.meta.gso_type, VND_GSO_TCPV4 | VND_GSO_ECN);
	assert_int_equal(got.meta.gso_size, 1448);
	assert_int_equal(got.meta.hdr_len, 18 + 20 + 32);
	assert_int_equal(got.meta.csum_start, 18 + 20);
	assert_int_equal(got.meta.csum_offset, 16);
	assert_int_equal(got.meta.num_buffers, want_buffers);
	/* What a receiver with GUEST_TSO4 gets for a passed-through super-packet. */
	if (gso_verify(f, len, &m, &got, 1, GSO_OUTCOME_PASS, NULL, why, sizeof why))
		fail_msg("%s", why);
	vnd_close(d);
	server_stop(&s);
}

static void test_rx_meta_from_first_buffer(void **state)
{
	struct vnd_config mrg, chains, legacy;

	(void)state;
	vnd_config_init(&mrg);
	vnd_config_init(&chains);
	chains.features &= ~F(VND_F_MRG_RXBUF);
	vnd_config_init(&legacy);
	legacy.features &= ~(F(VND_F_MRG_RXBUF) | F(VND_F_VERSION_1));
	/* 12 + 70 + 5000 bytes in 2048-byte buffers: three, the header in the first. */
	check_rx_meta(&mrg, 5000, 3);
	/* 64 KiB: 33 buffers. */
	check_rx_meta(&mrg, 65535 - 20 - 32, 33);
	/* Without MRG_RXBUF one chain holds everything, header descriptor first. */
	check_rx_meta(&chains, 5000, 1);
	check_rx_meta(&chains, 65535 - 20 - 32, 1);
	check_rx_meta(&legacy, 65535 - 20 - 32, 1);
}

/* What vnd_send wrote into the header, read back from the TX slot (the
 * library never clears it). gso_type can only be non-zero once a HOST_*
 * feature is negotiated; gso_size and hdr_len go out as given. */
static void test_tx_header_fields(void **state)
{
	static uint8_t f[LIB_FRAME_MAX];
	struct gso_spec tcp = { .vlan = 2, .tcp_opt_len = 8, .payload_len = 65000,
				.tcp_flags = GSO_TCP_ACK, .seed = 4 };
	struct vnd_config cfg;
	struct vnd_raw_ring r;
	struct vnd_tx_meta m;
	struct server s;
	struct vnd *a, *b;
	size_t len;

	(void)state;
	vnd_config_init(&cfg);
	cfg.tx_layout = VND_TX_ONE_DESC; /* header and frame in one buffer */
	server_start(&s, NULL);
	a = client_open(&s, NULL, &cfg);
	b = client_open(&s, NULL, &cfg);
	len = gso_build(f, sizeof f, &tcp, &m);
	m.gso_size = 0x1234;
	m.hdr_len = 0x0156;
	assert_int_equal(vnd_send(a, f, len, &m), 0);
	assert_int_equal(vnd_raw_ring(a, 1, &r), 0);
	{
		uint16_t head = r.avail->ring[(uint16_t)(r.avail->idx - 1) & (r.num - 1)];
		const uint8_t *h = host_of(a, r.desc[head].addr);
		const uint8_t want[12] = { 1, 0, 0x56, 0x01, 0x34, 0x12, (uint8_t)m.csum_start,
					   (uint8_t)(m.csum_start >> 8), 16, 0, 0, 0 };

		assert_int_equal(r.desc[head].len, 12 + len);
		assert_memory_equal(h, want, 12);
		assert_memory_equal(h + 12, f, len);
	}
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_64k_frames_every_layout),
		cmocka_unit_test(test_gso_refused_without_features),
		cmocka_unit_test(test_offloads_asked_for),
		cmocka_unit_test(test_gso_through_the_server),
		cmocka_unit_test(test_gso_packed_ends),
		cmocka_unit_test(test_64k_frames_packed),
		cmocka_unit_test(test_gso_lies_dropped),
		cmocka_unit_test(test_rx_meta_from_first_buffer),
		cmocka_unit_test(test_tx_header_fields),
	};

	/* VNP_TEST_FILTER=*packed* runs those (cmocka's own filter). */
	if (getenv("VNP_TEST_FILTER"))
		cmocka_set_test_filter(getenv("VNP_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
