/* SPDX-License-Identifier: MIT */
/*
 * One direction of the wire (link/forward.c) without sockets: two
 * hand-made clients, each with its own memfd memory and rings, and
 * forward_packets()/drop_packets() between them. Checks the single copy
 * byte for byte, header translation between header lengths, mergeable
 * RX buffers, checksum completion against an independent computation,
 * drops and their counters, and whom a bad descriptor blames.
 *
 * Client a sends (its TX ring), client b receives (its RX ring).
 */
#include <linux/virtio_net.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "gso_frames.h"
#include "link/forward.h"
#include "link/forward_gso.h"
#include "net/virtio_net.h"

/* A budget of n descriptors and bytes without end. */
#define DESCS(n) (&(struct fwd_budget){ .descs = (n), .bytes = INT64_MAX })

#define NUM 16
#define F(b) (1ull << (b))
#define V1 F(VIRTIO_F_VERSION_1)
#define MRG F(VIRTIO_NET_F_MRG_RXBUF)
#define GCSUM F(VIRTIO_NET_F_GUEST_CSUM)

struct end {
	struct fixture f;
	struct fix_ring tx, rx;
	uint16_t tx_next, rx_next; /* next free descriptor of each ring */
	struct port_stats stats;
	struct log_ratelimit rl;
	struct fwd_end fe_tx, fe_rx;
	struct gso_resume resume;
};

struct ctx {
	struct end a, b;
};

static void end_init(struct end *e, uint64_t features, const char *name)
{
	memset(e, 0, sizeof *e);
	fix_init(&e->f, 2);
	fix_ring_init(&e->f, &e->tx, NUM, false, true);
	fix_ring_init(&e->f, &e->rx, NUM, false, true);
	e->fe_tx = (struct fwd_end){ &e->tx.vq, features, &e->stats, &e->rl, name, 0, NULL, 0,
				     &e->resume, NULL, 0 };
	e->fe_rx = (struct fwd_end){ &e->rx.vq, features, &e->stats, &e->rl, name, 0, NULL, 0, NULL,
				     NULL, 0 };
}

static int setup(void **state)
{
	static struct ctx c;

	end_init(&c.a, V1 | MRG, "a");
	end_init(&c.b, V1 | MRG, "b");
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	fix_fini(&c->a.f);
	fix_fini(&c->b.f);
	return 0;
}

static void set_features(struct end *e, uint64_t features)
{
	e->fe_tx.features = e->fe_rx.features = features;
}

/* ---- building packets and buffers ---------------------------------------- */

/* Copy bytes into client memory that may cross from one region into the
 * next. */
static void poke(struct end *e, uint64_t gpa, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		*fix_host(&e->f, gpa + i) = p[i];
}

static void peek(struct end *e, uint64_t gpa, uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = *fix_host(&e->f, gpa + i);
}

/* A TX packet: hdr_len header bytes then the frame, laid over new
 * descriptors whose sizes come from sizes[] (0-terminated; the last size
 * repeats). Published; returns the head. */
static uint16_t tx_packet_sized(struct end *e, const struct vnet_hdr *h, unsigned hdr_len,
				const uint8_t *frame, size_t len, const uint32_t *sizes)
{
	uint64_t buf = fix_alloc(&e->f, hdr_len + len + 1, 8);
	size_t total = hdr_len + len, off = 0;
	uint16_t head = e->tx_next;
	uint8_t hdr[VNET_HDR_MAX];

	vnet_hdr_encode(h, hdr_len, hdr);
	poke(e, buf, hdr, hdr_len);
	poke(e, buf + hdr_len, frame, len);
	do {
		size_t n = total - off < *sizes ? total - off : *sizes;
		bool more = off + n < total;
		uint16_t d = e->tx_next++;

		assert_true(d < NUM);
		fix_desc(&e->tx, d, buf + off, (uint32_t)n, more ? VRING_DESC_F_NEXT : 0,
			 (uint16_t)(d + 1));
		off += n;
		if (sizes[1])
			sizes++;
	} while (off < total);
	fix_publish(&e->tx, head);
	return head;
}

/* Header and frame in one descriptor (or in pieces of at most piece). */
static uint16_t tx_packet(struct end *e, const struct vnet_hdr *h, unsigned hdr_len,
			  const uint8_t *frame, size_t len, uint32_t piece)
{
	const uint32_t sizes[] = { piece, 0 };

	return tx_packet_sized(e, h, hdr_len, frame, len, sizes);
}

#define WHOLE 0x7fffffffu

/* One RX chain of writable descriptors of the given sizes (0-terminated). */
static uint16_t rx_chain(struct end *e, const uint32_t *sizes)
{
	uint16_t head = e->rx_next;

	for (; *sizes; sizes++) {
		uint16_t d = e->rx_next++;
		uint64_t buf = fix_alloc(&e->f, *sizes, 8);

		assert_true(d < NUM);
		fix_desc(&e->rx, d, buf, *sizes,
			 (uint16_t)(VRING_DESC_F_WRITE | (sizes[1] ? VRING_DESC_F_NEXT : 0)),
			 (uint16_t)(d + 1));
	}
	fix_publish(&e->rx, head);
	return head;
}

/* count RX chains of one descriptor of size bytes each. */
static void rx_post(struct end *e, unsigned count, uint32_t size)
{
	for (unsigned i = 0; i < count; i++)
		rx_chain(e, (const uint32_t[]){ size, 0 });
}

/* The bytes the receiver got in used elements [first, first + count),
 * concatenated, each read along its chain for its used length. */
static size_t rx_gather(struct end *e, unsigned first, unsigned count, uint8_t *out, size_t cap)
{
	size_t got = 0;

	for (unsigned u = first; u < first + count; u++) {
		struct vring_used_elem el = e->rx.used->ring[u % NUM];
		uint16_t d = (uint16_t)el.id;
		uint32_t left = el.len;

		while (left) {
			uint32_t n = e->rx.desc[d].len < left ? e->rx.desc[d].len : left;

			assert_true(got + n <= cap);
			peek(e, e->rx.desc[d].addr, out + got, n);
			got += n;
			left -= n;
			d = e->rx.desc[d].next;
		}
	}
	return got;
}

static uint16_t num_buffers_of(const uint8_t *hdr)
{
	return (uint16_t)(hdr[10] | hdr[11] << 8);
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 31 + (i >> 8));
}

/* Forward a -> b (a budget of 4096 descriptors), publishing both used rings as the link does. */
static enum fwd_status run(struct ctx *c, struct fwd_fault *fault)
{
	enum fwd_status st;

	fault->guilty = -1;
	fault->error = VQ_OK;
	st = forward_packets(&c->a.fe_tx, &c->b.fe_rx, DESCS(4096), fault);
	vq_publish(&c->a.tx.vq);
	vq_publish(&c->b.rx.vq);
	return st;
}

static void assert_stats(const struct port_stats *s, uint64_t tx_packets, uint64_t tx_bytes,
			 uint64_t rx_packets, uint64_t rx_bytes)
{
	assert_int_equal(s->tx_packets, tx_packets);
	assert_int_equal(s->tx_bytes, tx_bytes);
	assert_int_equal(s->rx_packets, rx_packets);
	assert_int_equal(s->rx_bytes, rx_bytes);
}

static void assert_drops(const struct port_stats *s, uint64_t no_peer, uint64_t too_big,
			 uint64_t bad)
{
	assert_int_equal(s->drop_no_peer, no_peer);
	assert_int_equal(s->drop_too_big, too_big);
	assert_int_equal(s->drop_bad, bad);
}

/* TX used element i: the head and length 0. */
static void assert_tx_used(struct end *e, unsigned i, uint16_t head)
{
	assert_int_equal(e->tx.used->ring[i % NUM].id, head);
	assert_int_equal(e->tx.used->ring[i % NUM].len, 0);
}

/* The receiver got frame whole behind a 12-byte header, in used elements
 * [first, first + count), and num_buffers says count. Returns the bytes
 * gathered, header first, for more checks. */
static const uint8_t *expect_frame(struct end *e, unsigned first, unsigned count,
				   const uint8_t *frame, size_t len)
{
	static uint8_t got[12 + VNET_FRAME_MAX];

	assert_int_equal(rx_gather(e, first, count, got, sizeof got), 12 + len);
	assert_int_equal(num_buffers_of(got), count);
	assert_memory_equal(got + 12, frame, len);
	return got;
}

/* Nothing moved: no TX chain and no RX buffer consumed or used, and the
 * sender counted nothing. */
static void expect_nothing_moved(struct ctx *c)
{
	assert_int_equal(c->a.tx.used->idx, 0);
	assert_int_equal(c->a.tx.vq.last_avail, 0);
	assert_int_equal(c->b.rx.used->idx, 0);
	assert_int_equal(c->b.rx.vq.last_avail, 0);
	assert_stats(&c->a.stats, 0, 0, 0, 0);
	assert_drops(&c->a.stats, 0, 0, 0);
}

/* A pass that stops at a broken chain, blaming guilty (0 the sender, 1
 * the receiver) for error. */
static void expect_fault(struct ctx *c, int guilty, enum vq_error error)
{
	struct fwd_fault fault;

	assert_int_equal(run(c, &fault), FWD_FAULT);
	assert_int_equal(fault.guilty, guilty);
	assert_int_equal(fault.error, error);
}

/* ---- plain copies ----------------------------------------------------------- */

/* The common shape: header and frame in one TX descriptor, one RX buffer. */
static void test_copy_one_descriptor(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[1514];
	struct vnet_hdr h = { 0 }, rh;
	struct fwd_fault fault;
	uint16_t head;

	fill(frame, sizeof frame, 1);
	rx_post(&c->b, 2, 2048);
	head = tx_packet(&c->a, &h, 12, frame, sizeof frame, WHOLE);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->a.tx.used->idx, 1);
	assert_tx_used(&c->a, 0, head);
	assert_int_equal(c->b.rx.used->idx, 1);
	assert_int_equal(c->b.rx.used->ring[0].id, 0);
	assert_int_equal(c->b.rx.used->ring[0].len, 12 + sizeof frame);
	vnet_hdr_decode(expect_frame(&c->b, 0, 1, frame, sizeof frame), &rh);
	assert_int_equal(rh.flags, 0);
	assert_int_equal(rh.gso_type, 0);
	/* Nothing beyond: the second RX buffer is still available. */
	assert_int_equal(c->b.rx.vq.last_avail, 1);
	assert_int_equal(c->a.tx.vq.last_avail, 1);
	assert_stats(&c->a.stats, 1, sizeof frame, 0, 0);
	assert_stats(&c->b.stats, 0, 0, 1, sizeof frame);
	assert_drops(&c->a.stats, 0, 0, 0);
}

/* The header split over descriptors of 5 and 7 bytes, the frame in
 * 333-byte pieces. */
static void test_copy_split_header(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[3000];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;

	fill(frame, sizeof frame, 2);
	rx_post(&c->b, 1, 4096);
	tx_packet_sized(&c->a, &h, 12, frame, sizeof frame, (const uint32_t[]){ 5, 7, 333, 0 });
	assert_int_equal(c->a.tx_next, 2 + 10); /* 3000 bytes in 333-byte pieces */
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.used->ring[0].len, 12 + sizeof frame);
	expect_frame(&c->b, 0, 1, frame, sizeof frame);
	assert_stats(&c->a.stats, 1, sizeof frame, 0, 0);
	assert_stats(&c->b.stats, 0, 0, 1, sizeof frame);
}

/* Header in its own descriptor on both sides (the layout without
 * ANY_LAYOUT): the receiver's header lands in its first buffer, the
 * frame in the second. */
static void test_copy_header_own_descriptor(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[1000], got[1100], hdr[12];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;
	uint16_t head;

	fill(frame, sizeof frame, 3);
	head = rx_chain(&c->b, (const uint32_t[]){ 12, 1500, 0 });
	tx_packet_sized(&c->a, &h, 12, frame, sizeof frame, (const uint32_t[]){ 12, WHOLE, 0 });
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.used->ring[0].id, head);
	assert_int_equal(c->b.rx.used->ring[0].len, 12 + sizeof frame);
	peek(&c->b, c->b.rx.desc[head].addr, hdr, 12);
	assert_int_equal(num_buffers_of(hdr), 1);
	peek(&c->b, c->b.rx.desc[head + 1].addr, got, sizeof frame);
	assert_memory_equal(got, frame, sizeof frame);
}

/* A receive chain of several buffers without MRG_RXBUF: one used element
 * covering header and frame across them. */
static void test_copy_into_multi_descriptor_chain(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[2500];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;

	set_features(&c->b, V1);
	fill(frame, sizeof frame, 4);
	rx_chain(&c->b, (const uint32_t[]){ 1000, 1000, 1000, 0 });
	tx_packet(&c->a, &h, 12, frame, sizeof frame, 700);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.used->idx, 1);
	assert_int_equal(c->b.rx.used->ring[0].len, 12 + sizeof frame);
	expect_frame(&c->b, 0, 1, frame, sizeof frame); /* VERSION_1: always 1 */
}

/* Several packets in one call, each complete before the next; the used
 * rings change only on publish. */
static void test_batch_and_publish(void **state)
{
	struct ctx *c = *state;
	static uint8_t f1[60], f2[1400], f3[61];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;

	fill(f1, sizeof f1, 5);
	fill(f2, sizeof f2, 6);
	fill(f3, sizeof f3, 7);
	rx_post(&c->b, 4, 2048);
	tx_packet(&c->a, &h, 12, f1, sizeof f1, WHOLE);
	tx_packet(&c->a, &h, 12, f2, sizeof f2, 200);
	tx_packet(&c->a, &h, 12, f3, sizeof f3, WHOLE);
	assert_int_equal(forward_packets(&c->a.fe_tx, &c->b.fe_rx, DESCS(4096), &fault), FWD_IDLE);
	assert_int_equal(c->a.tx.used->idx, 0);
	assert_int_equal(c->b.rx.used->idx, 0);
	assert_int_equal(c->a.tx.vq.used_pending, 3);
	assert_int_equal(c->b.rx.vq.used_pending, 3);
	vq_publish(&c->a.tx.vq);
	vq_publish(&c->b.rx.vq);
	assert_int_equal(c->a.tx.used->idx, 3);
	assert_int_equal(c->b.rx.used->idx, 3);
	assert_tx_used(&c->a, 0, 0);
	assert_tx_used(&c->a, 1, 1);
	assert_tx_used(&c->a, 2, 1 + 8); /* 1412 bytes in 200-byte pieces */
	assert_int_equal(c->b.rx.used->ring[1].len, 12 + sizeof f2);
	expect_frame(&c->b, 1, 1, f2, sizeof f2);
	expect_frame(&c->b, 2, 1, f3, sizeof f3);
	assert_stats(&c->a.stats, 3, sizeof f1 + sizeof f2 + sizeof f3, 0, 0);
	assert_stats(&c->b.stats, 0, 0, 3, sizeof f1 + sizeof f2 + sizeof f3);
}

/* The sender's frame hint is the mean frame length of its last batch
 * that delivered anything; a batch that delivers nothing keeps it. */
static void test_frame_hint(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[1300];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;

	fill(frame, sizeof frame, 8);
	assert_int_equal(c->a.fe_tx.frame_hint, 0);
	rx_post(&c->b, 3, 2048);
	tx_packet(&c->a, &h, 12, frame, 1000, WHOLE);
	tx_packet(&c->a, &h, 12, frame, 1000, WHOLE);
	tx_packet(&c->a, &h, 12, frame, 1300, 500); /* a chain: its walk says how long */
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->a.fe_tx.frame_hint, 1100);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->a.fe_tx.frame_hint, 1100);
	tx_packet(&c->a, &h, 12, frame, 60, WHOLE);
	assert_int_equal(run(c, &fault), FWD_BLOCKED);
	assert_int_equal(c->a.fe_tx.frame_hint, 1100);
	rx_post(&c->b, 1, 2048);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->a.fe_tx.frame_hint, 60);
}

/* With a hint of large frames the receive buffers ahead are prefetched
 * from descriptors nobody has checked yet: ones outside the client's
 * memory, of absurd length or reaching past its end change nothing, and
 * the buffer is refused when its own turn comes. */
static void test_prefetch_of_bad_buffers(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[1500];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;

	fill(frame, sizeof frame, 9);
	c->a.fe_tx.frame_hint = sizeof frame;
	rx_post(&c->b, 6, 2048);
	c->b.rx.desc[3].addr = FIX_GPA + 2 * FIX_REGION - 64; /* partly outside */
	c->b.rx.desc[4].addr = 0x10;                          /* outside */
	c->b.rx.desc[4].len = 0xffffffffu;
	c->b.rx.desc[5].addr = ~0ull - 100;
	for (unsigned i = 0; i < 3; i++)
		tx_packet(&c->a, &h, 12, frame, sizeof frame, WHOLE);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.used->idx, 3);
	for (unsigned i = 0; i < 3; i++) {
		expect_frame(&c->b, i, 1, frame, sizeof frame);
	}
	assert_int_equal(c->a.fe_tx.frame_hint, sizeof frame);
	tx_packet(&c->a, &h, 12, frame, sizeof frame, WHOLE);
	expect_fault(c, 1, VQ_ERR_ADDR);
	assert_int_equal(c->b.rx.used->idx, 3);
	assert_stats(&c->a.stats, 3, 3 * sizeof frame, 0, 0);
}

/* The budget bounds the work per call: a packet of one descriptor a side
 * costs two, and the packet that crosses the line finishes. */
static void test_budget(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[64];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;
	struct fwd_budget b = { .descs = 4, .bytes = INT64_MAX };

	rx_post(&c->b, 8, 256);
	for (unsigned i = 0; i < 5; i++)
		tx_packet(&c->a, &h, 12, frame, sizeof frame, WHOLE);
	assert_int_equal(forward_packets(&c->a.fe_tx, &c->b.fe_rx, &b, &fault), FWD_MORE);
	assert_int_equal(c->a.stats.tx_packets, 2);
	assert_int_equal(b.descs, 0);
	assert_int_equal(b.bytes, INT64_MAX - 2 * (int64_t)sizeof frame);
	b.descs = 3;
	assert_int_equal(forward_packets(&c->a.fe_tx, &c->b.fe_rx, &b, &fault), FWD_MORE);
	assert_int_equal(c->a.stats.tx_packets, 4);
	assert_int_equal(b.descs, -1);
	/* Bytes count too: one frame's worth lets one packet through. */
	b = (struct fwd_budget){ .descs = INT64_MAX, .bytes = 1 };
	assert_int_equal(forward_packets(&c->a.fe_tx, &c->b.fe_rx, &b, &fault), FWD_MORE);
	assert_int_equal(c->a.stats.tx_packets, 5);
	assert_int_equal(forward_packets(&c->a.fe_tx, &c->b.fe_rx, DESCS(8), &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.vq.last_avail, 5);
}

/* Indirect tables on both sides. */
static void test_indirect_both_sides(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[900], got[1000];
	uint8_t hdr[12] = { 0 };
	struct fwd_fault fault;
	uint64_t tbuf = fix_alloc(&c->a.f, 12 + sizeof frame, 8);
	uint64_t ttab = fix_alloc(&c->a.f, 3 * 16, 16);
	uint64_t rbuf = fix_alloc(&c->b.f, 2048, 8);
	uint64_t rtab = fix_alloc(&c->b.f, 2 * 16, 16);
	struct vring_desc *tt = (struct vring_desc *)(void *)fix_host(&c->a.f, ttab);
	struct vring_desc *rt = (struct vring_desc *)(void *)fix_host(&c->b.f, rtab);

	fill(frame, sizeof frame, 8);
	poke(&c->a, tbuf, hdr, 12);
	poke(&c->a, tbuf + 12, frame, sizeof frame);
	tt[0] = (struct vring_desc){ tbuf, 12, VRING_DESC_F_NEXT, 1 };
	tt[1] = (struct vring_desc){ tbuf + 12, 400, VRING_DESC_F_NEXT, 2 };
	tt[2] = (struct vring_desc){ tbuf + 412, sizeof frame - 400, 0, 0 };
	fix_desc(&c->a.tx, 0, ttab, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	fix_publish(&c->a.tx, 0);
	rt[0] = (struct vring_desc){ rbuf, 100, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1 };
	rt[1] = (struct vring_desc){ rbuf + 100, 1948, VRING_DESC_F_WRITE, 0 };
	fix_desc(&c->b.rx, 0, rtab, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	fix_publish(&c->b.rx, 0);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.used->ring[0].len, 12 + sizeof frame);
	peek(&c->b, rbuf, got, 12 + sizeof frame);
	assert_memory_equal(got + 12, frame, sizeof frame);
	assert_int_equal(c->a.stats.tx_packets, 1);
}

/* ---- mergeable receive buffers ------------------------------------------------ */

/* With MRG_RXBUF a frame spans several RX buffers: each used element has
 * the bytes written into its chain, num_buffers in the first says how
 * many. */
static void test_mergeable(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[5000];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;

	fill(frame, sizeof frame, 9);
	rx_post(&c->b, 8, 1500);
	tx_packet(&c->a, &h, 12, frame, sizeof frame, WHOLE);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	/* 12 + 5000 bytes in 1500-byte buffers: four of them. */
	assert_int_equal(c->b.rx.used->idx, 4);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(c->b.rx.used->ring[i].id, i);
		assert_int_equal(c->b.rx.used->ring[i].len, 1500);
	}
	assert_int_equal(c->b.rx.used->ring[3].id, 3);
	assert_int_equal(c->b.rx.used->ring[3].len, 12 + 5000 - 3 * 1500);
	expect_frame(&c->b, 0, 4, frame, sizeof frame);
	assert_int_equal(c->b.rx.vq.last_avail, 4);
	assert_int_equal(c->a.tx.used->idx, 1);
	assert_stats(&c->b.stats, 0, 0, 1, sizeof frame);
}

/* A frame that exactly fills two buffers takes two, not a third empty one. */
static void test_mergeable_exact_fit(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[3000 - 12];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;

	fill(frame, sizeof frame, 10);
	rx_post(&c->b, 3, 1500);
	tx_packet(&c->a, &h, 12, frame, sizeof frame, 1000);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.used->idx, 2);
	assert_int_equal(c->b.rx.used->ring[1].len, 1500);
	assert_int_equal(c->b.rx.vq.last_avail, 2);
	expect_frame(&c->b, 0, 2, frame, sizeof frame);
}

/* Buffers smaller than the header (a driver breaking the rules): the
 * header itself spans buffers, and num_buffers, which then lies in a
 * later buffer (split between two, or starting one), is still patched. */
static void test_mergeable_header_spans_buffers(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[20];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;

	fill(frame, sizeof frame, 11);
	/* 7-byte buffers: num_buffers at header bytes 10..11 lies in the
	 * second one; 32 bytes take five. */
	rx_post(&c->b, 5, 7);
	tx_packet(&c->a, &h, 12, frame, sizeof frame, WHOLE);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.used->idx, 5);
	assert_int_equal(c->b.rx.used->ring[4].len, 32 - 4 * 7);
	expect_frame(&c->b, 0, 5, frame, sizeof frame);
	/* 5-byte buffers: num_buffers starts the third one; 32 bytes take
	 * seven. */
	rx_post(&c->b, 7, 5);
	tx_packet(&c->a, &h, 12, frame, sizeof frame, WHOLE);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.used->idx, 5 + 7);
	expect_frame(&c->b, 5, 7, frame, sizeof frame);
}

/* Not enough RX buffers yet: BLOCKED with nothing consumed on either
 * side, then through once the receiver posts more. */
static void test_blocked_until_enough_buffers(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[5000];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;

	fill(frame, sizeof frame, 12);
	tx_packet(&c->a, &h, 12, frame, sizeof frame, WHOLE);
	assert_int_equal(run(c, &fault), FWD_BLOCKED); /* no RX buffer at all */
	assert_int_equal(c->a.tx.vq.last_avail, 0);
	rx_post(&c->b, 2, 1500);
	assert_int_equal(run(c, &fault), FWD_BLOCKED); /* two of four */
	rx_post(&c->b, 1, 1500);
	assert_int_equal(run(c, &fault), FWD_BLOCKED); /* three of four */
	expect_nothing_moved(c);
	rx_post(&c->b, 1, 1500);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.used->idx, 4);
	assert_int_equal(c->a.tx.used->idx, 1);
	expect_frame(&c->b, 0, 4, frame, sizeof frame);
}

/* An empty RX ring blocks even a small packet, without MRG_RXBUF too. */
static void test_blocked_rx_empty(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[60];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;

	set_features(&c->b, V1);
	tx_packet(&c->a, &h, 12, frame, sizeof frame, WHOLE);
	assert_int_equal(run(c, &fault), FWD_BLOCKED);
	assert_int_equal(run(c, &fault), FWD_BLOCKED);
	expect_nothing_moved(c);
}

/* ---- too big ---------------------------------------------------------------- */

/* Without MRG_RXBUF a frame must fit one chain; otherwise it is dropped
 * and counted, the TX chain consumed and the RX chain left available
 * for the next packet. */
static void test_too_big_without_merge(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[3000], small[100];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;
	uint16_t big_head, small_head;

	set_features(&c->b, V1);
	fill(frame, sizeof frame, 13);
	fill(small, sizeof small, 14);
	rx_chain(&c->b, (const uint32_t[]){ 1000, 1000, 0 });
	big_head = tx_packet(&c->a, &h, 12, frame, sizeof frame, WHOLE);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_drops(&c->a.stats, 0, 1, 0);
	assert_int_equal(c->a.tx.used->idx, 1);
	assert_tx_used(&c->a, 0, big_head);
	assert_int_equal(c->b.rx.used->idx, 0);
	assert_int_equal(c->b.rx.vq.last_avail, 0);
	assert_stats(&c->a.stats, 0, 0, 0, 0);
	assert_stats(&c->b.stats, 0, 0, 0, 0);

	small_head = tx_packet(&c->a, &h, 12, small, sizeof small, WHOLE);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->a.tx.used->idx, 2);
	assert_tx_used(&c->a, 1, small_head);
	assert_int_equal(c->b.rx.used->idx, 1);
	assert_int_equal(c->b.rx.used->ring[0].id, 0); /* the same chain */
	expect_frame(&c->b, 0, 1, small, sizeof small);
	assert_drops(&c->a.stats, 0, 1, 0);
}

/* With MRG_RXBUF a frame needing more buffers than the whole ring holds
 * can never fit: dropped as too big rather than blocking forever. */
static void test_too_big_for_whole_ring(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[2000];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;

	rx_post(&c->b, NUM, 64); /* 1024 bytes in all */
	tx_packet(&c->a, &h, 12, frame, sizeof frame, WHOLE);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_drops(&c->a.stats, 0, 1, 0);
	assert_int_equal(c->a.tx.used->idx, 1);
	assert_int_equal(c->b.rx.used->idx, 0);
	assert_int_equal(c->b.rx.vq.last_avail, 0);
}

/* No frame is larger than VNET_FRAME_MAX, however large the buffers: one
 * byte more is dropped as too big, both in one big RX buffer and merged. */
static void test_frame_size_limit(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[VNET_FRAME_MAX + 1];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;

	fill(frame, sizeof frame, 15);
	/* One RX buffer large enough for either, without MRG_RXBUF. */
	set_features(&c->b, V1);
	rx_post(&c->b, 1, 70000);
	tx_packet(&c->a, &h, 12, frame, VNET_FRAME_MAX + 1, WHOLE);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_drops(&c->a.stats, 0, 1, 0);
	assert_int_equal(c->b.rx.used->idx, 0);
	tx_packet(&c->a, &h, 12, frame, VNET_FRAME_MAX, WHOLE);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.used->idx, 1);
	assert_int_equal(c->b.rx.used->ring[0].len, 12 + VNET_FRAME_MAX);
	expect_frame(&c->b, 0, 1, frame, VNET_FRAME_MAX);

	/* Merged over 8 KiB buffers: the largest frame goes through... */
	set_features(&c->b, V1 | MRG);
	rx_post(&c->b, 9, 8192);
	tx_packet(&c->a, &h, 12, frame, VNET_FRAME_MAX, WHOLE);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.used->idx, 10);
	expect_frame(&c->b, 1, 9, frame, VNET_FRAME_MAX);
	/* ...one byte more does not, though the buffers would hold it. */
	rx_post(&c->b, 6, 16384);
	tx_packet(&c->a, &h, 12, frame, VNET_FRAME_MAX + 1, WHOLE);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_drops(&c->a.stats, 0, 2, 0);
	assert_int_equal(c->b.rx.used->idx, 10);
	assert_int_equal(c->b.rx.vq.last_avail, 10);
	assert_int_equal(c->a.tx.used->idx, 4);
	assert_stats(&c->a.stats, 2, 2ull * VNET_FRAME_MAX, 0, 0);
}

/* ---- checksum completion ----------------------------------------------------- */

static const uint8_t SRC_IP[4] = { 192, 168, 1, 1 }, DST_IP[4] = { 10, 0, 0, 2 };

/* An Ethernet + IPv4 frame carrying proto (6 TCP, 17 UDP) with payload
 * bytes of payload; the L4 checksum field holds the folded pseudo-header
 * sum, as a sender asking for NEEDS_CSUM leaves it. Returns the length;
 * *field is the frame offset of the checksum field. */
static size_t ipv4_frame(uint8_t *f, uint8_t proto, size_t payload, uint8_t seed, size_t *field)
{
	size_t l4 = proto == 6 ? 20 : 8, len = 14 + 20 + l4 + payload;
	uint32_t sum;

	memset(f, 0, 14 + 20 + l4);
	memset(f, 0xff, 6);
	f[6] = 0x02;
	f[12] = 0x08;
	f[14] = 0x45;
	f[14 + 2] = (uint8_t)((20 + l4 + payload) >> 8);
	f[14 + 3] = (uint8_t)(20 + l4 + payload);
	f[14 + 8] = 64;
	f[14 + 9] = proto;
	memcpy(f + 14 + 12, SRC_IP, 4);
	memcpy(f + 14 + 16, DST_IP, 4);
	f[34] = 0x30, f[35] = 0x39; /* ports 12345 -> 80 */
	f[36] = 0x00, f[37] = 0x50;
	if (proto == 6) {
		f[34 + 12] = 5 << 4;
		f[34 + 13] = 0x18;
		*field = 34 + 16;
	} else {
		f[34 + 4] = (uint8_t)((8 + payload) >> 8);
		f[34 + 5] = (uint8_t)(8 + payload);
		*field = 34 + 6;
	}
	fill(f + 34 + l4, payload, seed);
	sum = 0xc0a8 + 0x0101 + 0x0a00 + 0x0002 + proto + (uint32_t)(l4 + payload);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	f[*field] = (uint8_t)(sum >> 8);
	f[*field + 1] = (uint8_t)sum;
	return len;
}

/* Independent: the L4 checksum of a frame built by ipv4_frame, computed
 * from scratch with the field taken as zero (RFC 768/793), as a value. */
static uint16_t l4_checksum(const uint8_t *f, size_t len, size_t field)
{
	uint32_t sum = (uint32_t)(f[26] << 8 | f[27]) + (uint32_t)(f[28] << 8 | f[29]) +
		       (uint32_t)(f[30] << 8 | f[31]) + (uint32_t)(f[32] << 8 | f[33]) + f[23] +
		       (uint32_t)(len - 34);

	for (size_t i = 34; i < len; i += 2) {
		uint8_t hi = i == field ? 0 : f[i];
		uint8_t lo = i + 1 >= len || i + 1 == field + 1 ? 0 : f[i + 1];

		sum += (uint32_t)(hi << 8 | lo);
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	return sum ? (uint16_t)sum : 0xffff;
}

static uint16_t be16_at(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* TCP: the receiver without GUEST_CSUM gets the finished checksum, with
 * the sum crossing odd-sized TX pieces and odd-sized RX buffers; every
 * other byte arrives unchanged and the header says nothing of a checksum. */
static void test_csum_completed_tcp(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[2000], got[3000];
	size_t field, len = ipv4_frame(frame, 6, 1001, 16, &field), n;
	struct vnet_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
			      .csum_offset = 16 };
	struct vnet_hdr rh;
	struct fwd_fault fault;
	uint16_t expect = l4_checksum(frame, len, field);

	assert_int_equal(field, 50);
	set_features(&c->b, V1 | MRG); /* no GUEST_CSUM */
	rx_post(&c->b, 5, 333);
	tx_packet(&c->a, &h, 12, frame, len, 77);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	n = c->b.rx.used->idx;
	assert_int_equal(n, 4);
	assert_int_equal(rx_gather(&c->b, 0, (unsigned)n, got, sizeof got), 12 + len);
	vnet_hdr_decode(got, &rh);
	assert_int_equal(rh.flags, 0);
	assert_int_equal(rh.csum_start, 0);
	assert_int_equal(rh.csum_offset, 0);
	assert_int_equal(be16_at(got + 12 + field), expect);
	assert_memory_equal(got + 12, frame, field);
	assert_memory_equal(got + 12 + field + 2, frame + field + 2, len - field - 2);
	assert_stats(&c->a.stats, 1, len, 0, 0);
}

/* UDP, and the shape of the fast path (one TX and one RX descriptor):
 * completion happens all the same. */
static void test_csum_completed_udp(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[600], got[700];
	size_t field, len = ipv4_frame(frame, 17, 513, 17, &field);
	struct vnet_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
			      .csum_offset = 6 };
	struct vnet_hdr rh;
	struct fwd_fault fault;

	assert_int_equal(field, 40);
	set_features(&c->b, V1);
	rx_post(&c->b, 1, 2048);
	tx_packet(&c->a, &h, 12, frame, len, WHOLE);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(rx_gather(&c->b, 0, 1, got, sizeof got), 12 + len);
	vnet_hdr_decode(got, &rh);
	assert_int_equal(rh.flags, 0);
	assert_int_equal(be16_at(got + 12 + field), l4_checksum(frame, len, field));
	assert_memory_equal(got + 12 + field + 2, frame + field + 2, len - field - 2);
}

/* A UDP datagram whose checksum computes to 0 goes out with 0xffff (0
 * would mean "no checksum"). The payload's first word is chosen so. */
static void test_csum_udp_zero_sent_as_ffff(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[200], got[300];
	size_t field, len = ipv4_frame(frame, 17, 64, 18, &field);
	struct vnet_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
			      .csum_offset = 6 };
	struct fwd_fault fault;
	uint32_t s;
	uint16_t adj;

	/* With the payload's first word 0 the checksum is k = l4_checksum;
	 * adding ~k (as a word) makes the sum 0xffff and the checksum 0. */
	frame[42] = frame[43] = 0;
	s = l4_checksum(frame, len, field);
	adj = (uint16_t)s; /* ~sum = k, so sum = ~k; sum + k = 0xffff */
	frame[42] = (uint8_t)(adj >> 8);
	frame[43] = (uint8_t)adj;
	assert_int_equal(l4_checksum(frame, len, field), 0xffff);

	set_features(&c->b, V1);
	rx_post(&c->b, 1, 2048);
	tx_packet(&c->a, &h, 12, frame, len, 50);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(rx_gather(&c->b, 0, 1, got, sizeof got), 12 + len);
	assert_int_equal(be16_at(got + 12 + field), 0xffff);
}

/* The checksum field itself split between two RX buffers (merged), and
 * the summed range starting in the middle of a TX piece. */
static void test_csum_field_split_across_buffers(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[400], got[500];
	size_t field, len = ipv4_frame(frame, 6, 300, 19, &field);
	struct vnet_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
			      .csum_offset = 16 };
	struct fwd_fault fault;

	/* First buffer: header + frame bytes up to and including the
	 * field's first byte. */
	rx_chain(&c->b, (const uint32_t[]){ (uint32_t)(12 + field + 1), 0 });
	rx_post(&c->b, 1, 1000);
	tx_packet(&c->a, &h, 12, frame, len, 41);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.used->idx, 2);
	assert_int_equal(rx_gather(&c->b, 0, 2, got, sizeof got), 12 + len);
	assert_int_equal(num_buffers_of(got), 2);
	assert_int_equal(be16_at(got + 12 + field), l4_checksum(frame, len, field));
}

/* A receiver with GUEST_CSUM gets the request passed on: flags, start
 * and offset, and the field still holding the partial sum. Both shapes. */
static void test_csum_passed_on(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[2000];
	size_t field, len = ipv4_frame(frame, 6, 500, 20, &field);
	struct vnet_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
			      .csum_offset = 16 };
	struct vnet_hdr rh;
	struct fwd_fault fault;

	set_features(&c->b, V1 | MRG | GCSUM);
	rx_post(&c->b, 2, 2048);
	tx_packet(&c->a, &h, 12, frame, len, WHOLE);
	tx_packet(&c->a, &h, 12, frame, len, 99);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	for (unsigned i = 0; i < 2; i++) {
		vnet_hdr_decode(expect_frame(&c->b, i, 1, frame, len), &rh);
		assert_int_equal(rh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
		assert_int_equal(rh.csum_start, 34);
		assert_int_equal(rh.csum_offset, 16);
	}
}

/* A checksum field that does not lie within the frame is malformed:
 * dropped and counted as bad, whether or not the receiver would have
 * completed it; a field ending exactly at the frame's end is fine. */
static void test_csum_field_beyond_frame(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[100];
	struct vnet_hdr ok_edge = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 90,
				    .csum_offset = 8 }; /* field 98..99 */
	struct vnet_hdr one_over = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 90,
				     .csum_offset = 9 };
	struct vnet_hdr start_past = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 100,
				       .csum_offset = 0 };
	struct vnet_hdr huge = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 0xffff,
				 .csum_offset = 0xffff };
	struct fwd_fault fault;

	fill(frame, sizeof frame, 21);
	for (unsigned pass = 0; pass < 2; pass++) {
		struct end *b = &c->b;

		set_features(b, pass ? V1 | MRG | GCSUM : V1 | MRG);
		rx_post(b, 4, 2048);
		tx_packet(&c->a, &one_over, 12, frame, sizeof frame, WHOLE);
		tx_packet(&c->a, &start_past, 12, frame, sizeof frame, 30);
		tx_packet(&c->a, &huge, 12, frame, sizeof frame, WHOLE);
		tx_packet(&c->a, &ok_edge, 12, frame, sizeof frame, WHOLE);
		assert_int_equal(run(c, &fault), FWD_IDLE);
		assert_drops(&c->a.stats, 0, 0, 3 * (pass + 1));
		assert_int_equal(c->a.tx.used->idx, 4 * (pass + 1));
		assert_int_equal(b->rx.used->idx, pass + 1); /* only the last */
		assert_int_equal(b->rx.used->ring[pass].len, 12 + sizeof frame);
		assert_int_equal(c->a.stats.tx_packets, pass + 1);
	}
}

/* ---- malformed packets ---------------------------------------------------------- */

/* A chain shorter than the sender's header, or empty, is dropped as bad:
 * consumed, not delivered, the RX buffer left for the next packet. */
static void test_short_header(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[50];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;
	uint64_t buf = fix_alloc(&c->a.f, 16, 8);

	rx_post(&c->b, 1, 2048);
	/* 11 bytes in two descriptors. */
	fix_desc(&c->a.tx, 0, buf, 6, VRING_DESC_F_NEXT, 1);
	fix_desc(&c->a.tx, 1, buf + 6, 5, 0, 0);
	fix_publish(&c->a.tx, 0);
	/* Only empty buffers. */
	fix_desc(&c->a.tx, 2, buf, 0, VRING_DESC_F_NEXT, 3);
	fix_desc(&c->a.tx, 3, buf, 0, 0, 0);
	fix_publish(&c->a.tx, 2);
	c->a.tx_next = 4;
	tx_packet(&c->a, &h, 12, frame, sizeof frame, WHOLE);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_drops(&c->a.stats, 0, 0, 2);
	assert_int_equal(c->a.tx.used->idx, 3);
	assert_tx_used(&c->a, 0, 0);
	assert_tx_used(&c->a, 1, 2);
	assert_int_equal(c->b.rx.used->idx, 1);
	assert_int_equal(c->b.rx.used->ring[0].len, 12 + sizeof frame);

	/* A legacy sender's header is 10 bytes: 9 are too few, 10 are not. */
	set_features(&c->a, 0);
	fix_desc(&c->a.tx, 5, buf, 9, 0, 0);
	fix_publish(&c->a.tx, 5);
	fix_desc(&c->a.tx, 6, buf, 10, 0, 0);
	fix_publish(&c->a.tx, 6);
	c->a.tx_next = 7;
	rx_post(&c->b, 1, 2048);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_drops(&c->a.stats, 0, 0, 3);
	assert_int_equal(c->b.rx.used->idx, 2);
	assert_int_equal(c->b.rx.used->ring[1].len, 12); /* an empty frame */
}

/* No GSO was offered: any GSO type, even ECN alone, is dropped as bad. */
static void test_gso_dropped(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[100];
	static const uint8_t types[] = { VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_UDP,
					 VIRTIO_NET_HDR_GSO_TCPV6, VIRTIO_NET_HDR_GSO_ECN,
					 VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN };
	struct fwd_fault fault;

	rx_post(&c->b, 1, 2048);
	for (unsigned i = 0; i < sizeof types; i++) {
		struct vnet_hdr h = { .gso_type = types[i], .gso_size = 1448, .hdr_len = 54 };

		tx_packet(&c->a, &h, 12, frame, sizeof frame, i % 2 ? 40 : WHOLE);
	}
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_drops(&c->a.stats, 0, 0, sizeof types);
	assert_int_equal(c->a.tx.used->idx, sizeof types);
	assert_int_equal(c->b.rx.used->idx, 0);
	assert_int_equal(c->b.rx.vq.last_avail, 0);
	assert_stats(&c->a.stats, 0, 0, 0, 0);
}

/* ---- header lengths ------------------------------------------------------------- */

/* A legacy sender (10-byte header) to a VERSION_1 receiver (12 bytes)
 * and back: the frame is copied after the right header length and the
 * checksum request survives the translation. */
static void test_legacy_header_both_ways(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[500], got[600];
	struct vnet_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20,
			      .csum_offset = 4 };
	struct vnet_hdr rh;
	struct fwd_fault fault;

	fill(frame, sizeof frame, 22);
	set_features(&c->a, GCSUM); /* legacy: 10-byte header */
	set_features(&c->b, V1 | GCSUM);
	rx_post(&c->b, 1, 2048);
	tx_packet(&c->a, &h, 10, frame, sizeof frame, WHOLE);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.used->ring[0].len, 12 + sizeof frame);
	vnet_hdr_decode(expect_frame(&c->b, 0, 1, frame, sizeof frame), &rh);
	assert_int_equal(rh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(rh.csum_start, 20);
	assert_int_equal(rh.csum_offset, 4);
	assert_int_equal(c->a.stats.tx_bytes, sizeof frame);

	/* The other way: the legacy receiver gets ten bytes of header. */
	set_features(&c->a, V1);
	set_features(&c->b, GCSUM);
	rx_post(&c->b, 1, 2048);
	tx_packet(&c->a, &h, 12, frame, sizeof frame, 64);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.used->ring[1].len, 10 + sizeof frame);
	assert_int_equal(rx_gather(&c->b, 1, 1, got, sizeof got), 10 + sizeof frame);
	vnet_hdr_decode(got, &rh);
	assert_int_equal(rh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(rh.csum_start, 20);
	assert_memory_equal(got + 10, frame, sizeof frame);
	assert_int_equal(c->b.stats.rx_bytes, 2 * sizeof frame);
}

/* MRG_RXBUF without VERSION_1 also means a 12-byte header. */
static void test_legacy_mergeable_header(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[3000];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;

	fill(frame, sizeof frame, 23);
	set_features(&c->a, MRG);
	set_features(&c->b, MRG);
	rx_post(&c->b, 3, 1500);
	tx_packet(&c->a, &h, 12, frame, sizeof frame, WHOLE);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.used->idx, 3);
	expect_frame(&c->b, 0, 3, frame, sizeof frame);
}

/* ---- faults ----------------------------------------------------------------------- */

/* A broken TX chain blames the sender (guilty 0) and consumes nothing
 * on either side. */
static void test_fault_in_tx_chain(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[100];
	struct vnet_hdr h = { 0 };
	struct {
		uint16_t flags_set;
		uint64_t addr;
		enum vq_error want;
	} cases[] = {
		{ VRING_DESC_F_WRITE, 0, VQ_ERR_DIRECTION },
		{ 0, 0x10, VQ_ERR_ADDR },
		{ 0, FIX_GPA + 2 * FIX_REGION - 50, VQ_ERR_ADDR },
	};

	rx_post(&c->b, 2, 2048);
	tx_packet(&c->a, &h, 12, frame, sizeof frame, WHOLE);
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct vring_desc saved = c->a.tx.desc[0];

		c->a.tx.desc[0].flags |= cases[i].flags_set;
		if (cases[i].addr)
			c->a.tx.desc[0].addr = cases[i].addr;
		expect_fault(c, 0, cases[i].want);
		c->a.tx.desc[0] = saved;
	}
	/* A loop and a next index out of range. */
	fix_desc(&c->a.tx, 0, c->a.tx.desc[0].addr, 4, VRING_DESC_F_NEXT, 0);
	expect_fault(c, 0, VQ_ERR_LOOP);
	fix_desc(&c->a.tx, 0, c->a.tx.desc[0].addr, 4, VRING_DESC_F_NEXT, NUM);
	expect_fault(c, 0, VQ_ERR_NEXT);
	/* A head outside the ring, and an avail index too far ahead. */
	c->a.tx.avail->ring[0] = NUM;
	expect_fault(c, 0, VQ_ERR_HEAD);
	c->a.tx.avail->ring[0] = 0;
	c->a.tx.avail->idx = NUM + 1;
	c->a.tx.vq.avail_seen = 0;
	expect_fault(c, 0, VQ_ERR_AVAIL_IDX);

	expect_nothing_moved(c);
}

/* A broken TX descriptor after part of the frame was already written
 * into (merged) RX buffers: still the sender's fault, and nothing of the
 * receiver's is committed. */
static void test_fault_in_tx_chain_midway(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[3000];
	struct vnet_hdr h = { 0 };

	rx_post(&c->b, 4, 1000);
	tx_packet(&c->a, &h, 12, frame, sizeof frame, 1000);
	c->a.tx.desc[2].addr = 0x10; /* the third of four pieces */
	expect_fault(c, 0, VQ_ERR_ADDR);
	assert_int_equal(c->b.rx.used->idx, 0);
	assert_int_equal(c->b.rx.vq.used_pending, 0);
	assert_int_equal(c->b.rx.vq.last_avail, 0);
	assert_int_equal(c->a.tx.used->idx, 0);
	assert_stats(&c->b.stats, 0, 0, 0, 0);
}

/* A broken RX chain blames the receiver (guilty 1); the sender's packet
 * stays available. */
static void test_fault_in_rx_chain(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[100];
	struct vnet_hdr h = { 0 };

	rx_post(&c->b, 1, 2048);
	tx_packet(&c->a, &h, 12, frame, sizeof frame, WHOLE);
	/* Read-only RX buffer, in both the one-descriptor and split shapes. */
	c->b.rx.desc[0].flags = 0;
	expect_fault(c, 1, VQ_ERR_DIRECTION);
	c->b.rx.desc[0].flags = VRING_DESC_F_WRITE;
	c->b.rx.desc[0].addr = 0x10;
	expect_fault(c, 1, VQ_ERR_ADDR);
	c->b.rx.desc[0].addr = FIX_GPA + 2 * FIX_REGION - 100; /* partly outside */
	expect_fault(c, 1, VQ_ERR_ADDR);
	c->b.rx.desc[0].addr = fix_alloc(&c->b.f, 64, 8);
	c->b.rx.desc[0].flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT;
	c->b.rx.desc[0].next = 0;
	c->b.rx.desc[0].len = 4; /* a loop of tiny buffers */
	expect_fault(c, 1, VQ_ERR_LOOP);
	/* A head outside the ring, an avail index too far ahead. */
	c->b.rx.avail->ring[0] = 0xffff;
	expect_fault(c, 1, VQ_ERR_HEAD);
	c->b.rx.vq.avail_seen = 0;
	c->b.rx.avail->idx = 200;
	expect_fault(c, 1, VQ_ERR_AVAIL_IDX);

	expect_nothing_moved(c);
}

/* A bad second RX chain of a merged packet is the receiver's fault too. */
static void test_fault_in_second_rx_chain(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[3000];
	struct vnet_hdr h = { 0 };

	rx_post(&c->b, 3, 1500);
	c->b.rx.desc[1].flags = 0;
	tx_packet(&c->a, &h, 12, frame, sizeof frame, WHOLE);
	expect_fault(c, 1, VQ_ERR_DIRECTION);
	assert_int_equal(c->b.rx.used->idx, 0);
	assert_int_equal(c->a.tx.vq.last_avail, 0);
}

/* ---- no receiver ----------------------------------------------------------------- */

/* Without a peer, TX packets are consumed (used length 0) and counted as
 * drop_no_peer; a bad head still blames the sender. */
/* A packed sender's chain that breaks the rules where only its end tells
 * (its buffer id, read last) is the sender's fault, and its packet counts
 * for nothing else: neither delivered (an id still in use is refused as
 * the walk reads it) nor dropped (a drop that stopped the walk short,
 * the chain's rest read as it goes back). */
static void test_packed_sender_fault_counts_once(void **state)
{
	struct ctx *c = *state;
	static struct fix_ring ptx, prx;
	static struct capture_buf cap;
	uint64_t buf = fix_alloc(&c->a.f, 512, 8);
	uint8_t hdr[12] = { 0 };
	struct fix_buf two[2] = { { .addr = buf, .len = 12 }, { .addr = buf + 64, .len = 200 } };
	struct fwd_fault fault;

	poke(&c->a, buf, hdr, sizeof hdr);
	fix_ring_init_fmt(&c->a.f, &ptx, NUM, true, false, true, 0x8000);
	c->a.fe_tx.vq = &ptx.vq;
	rx_post(&c->b, 2, 2048);
	/* Two packets with one buffer id: the second is refused before its
	 * frame is delivered anywhere (the capture records what was). */
	assert_int_equal(capture_buf_init(&cap, 64 * 1024), 0);
	c->a.fe_tx.capture = &cap;
	fix_post(&ptx, two, 2);
	ptx.next_id = 0;
	fix_post(&ptx, two, 2);
	fault = (struct fwd_fault){ -1, VQ_OK };
	assert_int_equal(forward_packets(&c->a.fe_tx, &c->b.fe_rx, DESCS(4096), &fault), FWD_FAULT);
	assert_int_equal(fault.guilty, 0);
	assert_int_equal(fault.error, VQ_ERR_ID_BUSY);
	assert_stats(&c->a.stats, 1, 200, 0, 0);
	assert_stats(&c->b.stats, 0, 0, 1, 200);
	assert_int_equal(cap.packets[0], 1);
	c->a.fe_tx.capture = NULL;
	capture_buf_free(&cap);
	vq_publish(&c->b.rx.vq);
	assert_int_equal(c->b.rx.used->idx, 1);
	vq_fini(&ptx.vq);

	/* Too big for a receiver without MRG_RXBUF (one buffer of 64 bytes),
	 * and the id beyond the ring in the chain's third descriptor, which
	 * the walk never reached: a fault, not a drop as well. */
	memset(&c->a.stats, 0, sizeof c->a.stats);
	memset(&c->b.stats, 0, sizeof c->b.stats);
	set_features(&c->b, V1);
	fix_ring_init_fmt(&c->a.f, &ptx, NUM, true, false, true, 0x8000);
	fix_ring_init_fmt(&c->b.f, &prx, NUM, false, false, true, 0);
	c->b.fe_rx.vq = &prx.vq;
	fix_post(&prx, &(struct fix_buf){ .addr = fix_alloc(&c->b.f, 64, 8), .len = 64, .write = true },
		 1);
	{
		struct fix_buf three[3] = { two[0], two[1], { .addr = buf + 300, .len = 100 } };

		fix_post(&ptx, three, 3);
	}
	ptx.ring[2].id = NUM + 5;
	fault = (struct fwd_fault){ -1, VQ_OK };
	assert_int_equal(forward_packets(&c->a.fe_tx, &c->b.fe_rx, DESCS(4096), &fault), FWD_FAULT);
	assert_int_equal(fault.guilty, 0);
	assert_int_equal(fault.error, VQ_ERR_ID);
	assert_drops(&c->a.stats, 0, 0, 0);
	assert_int_equal(c->b.stats.rx_drop_too_big, 0);
	vq_fini(&ptx.vq);
	c->a.fe_tx.vq = &c->a.tx.vq;
	c->b.fe_rx.vq = &c->b.rx.vq;
}

/* Two packed rings: n packets (frame k: 60 + k bytes, seeded k) the
 * simple way, but packet `chained` (if below n) with its header in a
 * descriptor of its own, and packet `bad_id` (if below n) with a buffer
 * id beyond the ring. Frames land in buffers of 2048 bytes. */
static enum fwd_status packed_pair(struct ctx *c, struct fix_ring *ptx, struct fix_ring *prx,
				   unsigned n, unsigned chained, unsigned bad_id,
				   struct fwd_fault *fault)
{
	fix_ring_init_fmt(&c->a.f, ptx, NUM, true, false, true, 0x8000);
	fix_ring_init_fmt(&c->b.f, prx, NUM, true, false, true, 0x8000);
	c->a.fe_tx.vq = &ptx->vq;
	c->b.fe_rx.vq = &prx->vq;
	memset(&c->a.stats, 0, sizeof c->a.stats);
	memset(&c->b.stats, 0, sizeof c->b.stats);
	for (unsigned k = 0; k < n; k++) {
		struct fix_buf b = { .addr = fix_alloc(&c->b.f, 2048, 64), .len = 2048,
				     .write = true };

		fix_post(prx, &b, 1);
	}
	for (unsigned k = 0; k < n; k++) {
		uint8_t frame[60 + NUM], hdr[12] = { 0 };
		uint64_t buf = fix_alloc(&c->a.f, 12 + sizeof frame, 8);
		uint32_t len = 60 + k;

		fill(frame, len, (uint8_t)k);
		poke(&c->a, buf, hdr, 12);
		poke(&c->a, buf + 12, frame, len);
		if (k == chained) {
			struct fix_buf two[2] = { { .addr = buf, .len = 12 },
						  { .addr = buf + 12, .len = len } };

			fix_post(ptx, two, 2);
		} else {
			uint16_t slot = ptx->avail_slot;

			fix_post(ptx, &(struct fix_buf){ .addr = buf, .len = 12 + len }, 1);
			if (k == bad_id)
				ptx->ring[slot].id = htole16(NUM + 3);
		}
	}
	*fault = (struct fwd_fault){ -1, VQ_OK };
	return forward_packets(&c->a.fe_tx, &c->b.fe_rx, DESCS(4096), fault);
}

/* The first `n` packets of packed_pair arrived whole, in order, each in
 * its own buffer, and were given back on both rings. */
static void expect_packed_pair(struct ctx *c, struct fix_ring *ptx, struct fix_ring *prx,
			       unsigned n)
{
	uint64_t bytes = 0;

	vq_publish(&ptx->vq);
	vq_publish(&prx->vq);
	for (unsigned k = 0; k < n; k++) {
		uint8_t want[60 + NUM], got[60 + NUM], hdr[12];
		uint16_t id;
		uint32_t len;

		assert_true(fix_used(prx, &id, &len));
		assert_int_equal(id, k);
		assert_int_equal(len, 12 + 60 + k);
		peek(&c->b, le64toh(prx->ring[k].addr), hdr, 12);
		assert_int_equal(hdr[10], 1); /* num_buffers */
		fill(want, 60 + k, (uint8_t)k);
		peek(&c->b, le64toh(prx->ring[k].addr) + 12, got, 60 + k);
		assert_memory_equal(got, want, 60 + k);
		assert_true(fix_used(ptx, &id, &len));
		assert_int_equal(len, 0);
		bytes += 60 + k;
	}
	assert_stats(&c->a.stats, n, bytes, 0, 0);
	assert_stats(&c->b.stats, 0, 0, n, bytes);
}

/* Packed to packed, where the fast way takes four at a time: every packet
 * arrives the same whether four go together or one at a time (a chained
 * one among them, or a run that ends mid-four), and a bad buffer id among
 * four fails the sender where it did, the packets before it delivered;
 * with the four-wide step in C and, where the CPU has it, with AVX2. */
static void test_packed_four_at_a_time(void **state)
{
	struct ctx *c = *state;
	static struct fix_ring ptx, prx;
	struct fwd_fault fault;
	unsigned ways = 1;

#if defined(__x86_64__)
	bool avx2 = forward_wide_avx2;

	ways = __builtin_cpu_supports("avx2") ? 2 : 1;
#endif
	for (unsigned way = 0; way < ways; way++) {
#if defined(__x86_64__)
		forward_wide_avx2 = way == 1;
#endif
		for (unsigned n = 1; n <= 11; n++) {
			assert_int_equal(packed_pair(c, &ptx, &prx, n, NUM, NUM, &fault), FWD_IDLE);
			expect_packed_pair(c, &ptx, &prx, n);
			vq_fini(&ptx.vq);
			vq_fini(&prx.vq);
		}
		for (unsigned chained = 0; chained < 9; chained++) {
			assert_int_equal(packed_pair(c, &ptx, &prx, 9, chained, NUM, &fault),
					 FWD_IDLE);
			expect_packed_pair(c, &ptx, &prx, 9);
			vq_fini(&ptx.vq);
			vq_fini(&prx.vq);
		}
		for (unsigned bad = 0; bad < 9; bad++) {
			assert_int_equal(packed_pair(c, &ptx, &prx, 9, NUM, bad, &fault), FWD_FAULT);
			assert_int_equal(fault.guilty, 0);
			assert_int_equal(fault.error, VQ_ERR_ID);
			expect_packed_pair(c, &ptx, &prx, bad);
			vq_fini(&ptx.vq);
			vq_fini(&prx.vq);
		}
	}
#if defined(__x86_64__)
	forward_wide_avx2 = avx2;
#endif
	c->a.fe_tx.vq = &c->a.tx.vq;
	c->b.fe_rx.vq = &c->b.rx.vq;
}

static void test_drop_without_peer(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[100];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault = { -1, VQ_OK };
	uint16_t heads[5];

	for (unsigned i = 0; i < 5; i++)
		heads[i] = tx_packet(&c->a, &h, 12, frame, sizeof frame, i == 2 ? 30 : WHOLE);
	assert_int_equal(drop_packets(&c->a.fe_tx, DESCS(3), &fault, &c->a.stats.drop_no_peer), FWD_MORE);
	assert_int_equal(c->a.stats.drop_no_peer, 3);
	assert_int_equal(c->a.tx.used->idx, 0); /* not published yet */
	assert_int_equal(drop_packets(&c->a.fe_tx, DESCS(3), &fault, &c->a.stats.drop_no_peer), FWD_IDLE);
	vq_publish(&c->a.tx.vq);
	assert_int_equal(c->a.tx.used->idx, 5);
	for (unsigned i = 0; i < 5; i++)
		assert_tx_used(&c->a, i, heads[i]);
	assert_drops(&c->a.stats, 5, 0, 0);
	assert_stats(&c->a.stats, 0, 0, 0, 0);
	assert_int_equal(drop_packets(&c->a.fe_tx, DESCS(3), &fault, &c->a.stats.drop_no_peer), FWD_IDLE);
	assert_int_equal(fault.guilty, -1);

	fix_publish(&c->a.tx, 200);
	assert_int_equal(drop_packets(&c->a.fe_tx, DESCS(3), &fault, &c->a.stats.drop_no_peer), FWD_FAULT);
	assert_int_equal(fault.guilty, 0);
	assert_int_equal(fault.error, VQ_ERR_HEAD);
	assert_int_equal(c->a.stats.drop_no_peer, 5);
	c->a.tx.avail->idx = (uint16_t)(c->a.tx.vq.last_avail + NUM + 1);
	c->a.tx.vq.avail_seen = c->a.tx.vq.last_avail;
	assert_int_equal(drop_packets(&c->a.fe_tx, DESCS(3), &fault, &c->a.stats.drop_no_peer), FWD_FAULT);
	assert_int_equal(fault.error, VQ_ERR_AVAIL_IDX);
}

/* ---- GSO frames whose segments do not all fit at once ---------------------------- */

/* A TCPv4 GSO frame of three 1000-byte segments in one TX descriptor. */
static uint16_t gso_packet(struct end *e, uint8_t *f, size_t cap, size_t *len,
			   struct vnd_tx_meta *m)
{
	struct gso_spec spec = { .payload_len = 3000, .gso_size = 1000,
				 .tcp_flags = GSO_TCP_ACK | GSO_TCP_PSH, .seed = 8 };
	struct vnet_hdr h;

	*len = gso_build(f, cap, &spec, m);
	assert_true(*len > 0);
	h = (struct vnet_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = m->gso_type,
			       .hdr_len = m->hdr_len, .gso_size = m->gso_size,
			       .csum_start = m->csum_start, .csum_offset = m->csum_offset };
	return tx_packet(e, &h, 12, f, *len, WHOLE);
}

/* Segments the receiver got in used elements [first, first + count),
 * each its own chain: checked with the integration tests' verifier. */
static void expect_segments(struct ctx *c, const uint8_t *f, size_t len,
			    const struct vnd_tx_meta *m, unsigned first, unsigned count)
{
	static uint8_t got[3][2048];
	struct gso_rx_frame rx[3];
	unsigned seen;
	char msg[256];

	for (unsigned i = 0; i < count; i++) {
		size_t n = rx_gather(&c->b, first + i, 1, got[i], sizeof got[i]);
		struct vnet_hdr h;

		vnet_hdr_decode(got[i], &h);
		rx[i] = (struct gso_rx_frame){ .data = got[i] + 12, .len = n - 12,
					       .meta = { .flags = h.flags, .gso_type = h.gso_type,
							 .csum_start = h.csum_start,
							 .csum_offset = h.csum_offset,
							 .num_buffers = 1 } };
	}
	if (gso_verify(f, len, m, rx, count, GSO_OUTCOME_SEGMENTED, &seen, msg, sizeof msg) < 0)
		fail_msg("%s", msg);
}

/* A receiver with room for two of three segments: two go, the frame stays
 * in the TX ring; with room for the third, the rest goes and the frame is
 * done, counted once. */
static void test_gso_segments_over_passes(void **state)
{
	struct ctx *c = *state;
	static uint8_t f[4096];
	struct vnd_tx_meta m;
	struct fwd_fault fault;
	size_t len;

	set_features(&c->a, V1 | F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4));
	set_features(&c->b, V1 | GCSUM);
	gso_packet(&c->a, f, sizeof f, &len, &m);
	rx_post(&c->b, 2, 2048);
	assert_int_equal(run(c, &fault), FWD_BLOCKED);
	assert_int_equal(c->b.rx.used->idx, 2);
	assert_int_equal(c->a.tx.used->idx, 0); /* the frame is not done */
	assert_int_equal(c->a.stats.tx_packets, 2);
	assert_int_equal(c->a.stats.tx_gso_segments, 2);
	assert_int_equal(c->a.stats.tx_gso, 0);
	assert_true(c->a.resume.active);

	rx_post(&c->b, 1, 2048);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.used->idx, 3);
	assert_int_equal(c->a.tx.used->idx, 1);
	assert_int_equal(c->a.stats.tx_gso, 1);
	assert_int_equal(c->a.stats.tx_gso_segmented, 1);
	assert_int_equal(c->a.stats.tx_gso_segments, 3);
	assert_int_equal(c->b.stats.rx_packets, 3);
	assert_false(c->a.resume.active);
	expect_segments(c, f, len, &m, 0, 3);
}

/* The frame must not change between its parts; a ring started again
 * (another epoch) starts the frame over. */
static void test_gso_resumption_checked(void **state)
{
	struct ctx *c = *state;
	static uint8_t f[4096];
	struct vnd_tx_meta m;
	struct fwd_fault fault;
	size_t len;
	uint16_t head;

	set_features(&c->a, V1 | F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4));
	set_features(&c->b, V1 | GCSUM);
	head = gso_packet(&c->a, f, sizeof f, &len, &m);
	rx_post(&c->b, 2, 2048);
	assert_int_equal(run(c, &fault), FWD_BLOCKED);
	/* The sender rewrites its frame (the TCP window) meanwhile. */
	f[34 + 14] ^= 0xff;
	poke(&c->a, c->a.tx.desc[head].addr + 12, f, len);
	rx_post(&c->b, 1, 2048);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->a.stats.drop_bad, 1);
	assert_int_equal(c->a.tx.used->idx, 1);
	assert_int_equal(c->b.rx.used->idx, 2); /* nothing more of it */
	assert_false(c->a.resume.active);

	/* Half of another frame, then its TX ring starts again where it was:
	 * the frame is another one now, from its first segment. */
	gso_packet(&c->a, f, sizeof f, &len, &m);
	rx_post(&c->b, 1, 2048); /* with the one left over: room for two */
	assert_int_equal(run(c, &fault), FWD_BLOCKED);
	assert_int_equal(c->a.stats.tx_gso_segments, 4);
	{
		struct vq_params p = { .mem = &c->a.f.mem, .num = NUM, .indirect = true,
				       .desc = c->a.tx.desc, .driver_area = c->a.tx.avail,
				       .device_area = c->a.tx.used, .base = vq_base(&c->a.tx.vq) };

		vq_fini(&c->a.tx.vq);
		assert_int_equal(vq_init(&c->a.tx.vq, &p), 0);
	}
	rx_post(&c->b, 3, 2048);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->a.stats.tx_gso_segments, 7);
	assert_int_equal(c->a.stats.tx_gso, 1);
	expect_segments(c, f, len, &m, 4, 3);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_copy_one_descriptor),
		T(test_copy_split_header),
		T(test_copy_header_own_descriptor),
		T(test_copy_into_multi_descriptor_chain),
		T(test_batch_and_publish),
		T(test_budget),
		T(test_gso_segments_over_passes),
		T(test_gso_resumption_checked),
		T(test_frame_hint),
		T(test_prefetch_of_bad_buffers),
		T(test_indirect_both_sides),
		T(test_mergeable),
		T(test_mergeable_exact_fit),
		T(test_mergeable_header_spans_buffers),
		T(test_blocked_until_enough_buffers),
		T(test_blocked_rx_empty),
		T(test_too_big_without_merge),
		T(test_too_big_for_whole_ring),
		T(test_frame_size_limit),
		T(test_csum_completed_tcp),
		T(test_csum_completed_udp),
		T(test_csum_udp_zero_sent_as_ffff),
		T(test_csum_field_split_across_buffers),
		T(test_csum_passed_on),
		T(test_csum_field_beyond_frame),
		T(test_short_header),
		T(test_gso_dropped),
		T(test_legacy_header_both_ways),
		T(test_legacy_mergeable_header),
		T(test_fault_in_tx_chain),
		T(test_fault_in_tx_chain_midway),
		T(test_fault_in_rx_chain),
		T(test_fault_in_second_rx_chain),
		T(test_packed_sender_fault_counts_once),
		T(test_packed_four_at_a_time),
		T(test_drop_without_peer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
