/* SPDX-License-Identifier: MIT */
/*
 * One direction of the wire, without sockets: two hand-made clients (each
 * its own memory and rings) and forward_packets() between them. Checks the
 * single copy byte for byte, header translation, mergeable buffers,
 * checksum completion, drops and whom a bad descriptor blames.
 */
#include <linux/virtio_net.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "link/forward.h"
#include "net/virtio_net.h"

#define NUM 16
#define F(b) (1ull << (b))
#define V1 (F(VIRTIO_F_VERSION_1))

struct end {
	struct fixture f;
	struct fix_ring tx, rx;
	struct port_stats stats;
	struct log_ratelimit rl;
	struct fwd_end fe_tx, fe_rx;
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
	e->fe_tx = (struct fwd_end){ &e->tx.vq, features, &e->stats, &e->rl, name };
	e->fe_rx = (struct fwd_end){ &e->rx.vq, features, &e->stats, &e->rl, name };
}

static int setup(void **state)
{
	static struct ctx c;

	end_init(&c.a, V1 | F(VIRTIO_NET_F_MRG_RXBUF), "a");
	end_init(&c.b, V1 | F(VIRTIO_NET_F_MRG_RXBUF), "b");
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

/* A TX packet: header (hdr_len bytes) then frame, laid over descriptors
 * from first on whose sizes come from sizes[] (0-terminated; the last size
 * repeats). Returns the head. */
static uint16_t tx_packet_sized(struct end *e, uint16_t first, const struct vnet_hdr *h,
				unsigned hdr_len, const uint8_t *frame, size_t len,
				const uint32_t *sizes)
{
	uint64_t buf = fix_alloc(&e->f, hdr_len + len, 8);
	size_t total = hdr_len + len, off = 0;
	uint8_t hdr[12];
	uint16_t d = first;

	vnet_hdr_encode(h, hdr_len, hdr);
	/* The buffer may cross into the second region: write byte by byte. */
	for (size_t i = 0; i < total; i++)
		*fix_host(&e->f, buf + i) = i < hdr_len ? hdr[i] : frame[i - hdr_len];
	while (off < total) {
		size_t n = total - off < *sizes ? total - off : *sizes;
		bool more = off + n < total;

		assert_true(d < NUM);
		fix_desc(&e->tx, d, buf + off, (uint32_t)n, more ? VRING_DESC_F_NEXT : 0,
			 (uint16_t)(d + 1));
		off += n;
		d++;
		if (sizes[1])
			sizes++;
	}
	fix_publish(&e->tx, first);
	return first;
}

static uint16_t tx_packet(struct end *e, uint16_t first, const struct vnet_hdr *h,
			  unsigned hdr_len, const uint8_t *frame, size_t len, uint32_t piece)
{
	const uint32_t sizes[] = { piece, 0 };

	return tx_packet_sized(e, first, h, hdr_len, frame, len, sizes);
}

/* count RX chains, each of descs descriptors of size bytes. */
static void rx_post(struct end *e, unsigned count, unsigned descs, uint32_t size)
{
	for (unsigned c = 0; c < count; c++) {
		uint16_t head = (uint16_t)(c * descs);

		for (unsigned j = 0; j < descs; j++) {
			uint64_t buf = fix_alloc(&e->f, size, 8);

			fix_desc(&e->rx, (uint16_t)(head + j), buf, size,
				 VRING_DESC_F_WRITE | (j + 1 < descs ? VRING_DESC_F_NEXT : 0),
				 (uint16_t)(head + j + 1));
		}
		fix_publish(&e->rx, head);
	}
}

/* Read RX used element i's bytes back (chain walk over its descriptors). */
static size_t rx_read(struct end *e, unsigned used_i, uint8_t *out, size_t cap)
{
	struct vring_used_elem u = e->rx.used->ring[used_i % NUM];
	size_t got = 0;
	uint16_t d = (uint16_t)u.id;
	uint32_t left = u.len;

	while (left) {
		uint32_t n = e->rx.desc[d].len < left ? e->rx.desc[d].len : left;

		for (uint32_t i = 0; i < n && got < cap; i++)
			out[got++] = *fix_host(&e->f, e->rx.desc[d].addr + i);
		left -= n;
		d = e->rx.desc[d].next;
	}
	return got;
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 31 + (i >> 8));
}

static enum fwd_status run(struct ctx *c, struct fwd_fault *fault)
{
	enum fwd_status st = forward_packets(&c->a.fe_tx, &c->b.fe_rx, 64, fault);

	vq_used_publish(&c->a.tx.vq);
	vq_used_publish(&c->b.rx.vq);
	return st;
}

static void test_copy_split_header(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[3000], got[4000];
	struct vnet_hdr h = { 0 }, rh;
	struct fwd_fault fault;

	fill(frame, sizeof frame, 1);
	rx_post(&c->b, 4, 1, 4096);
	/* Header split over descriptors of 5 and 7 bytes, frame in 333-byte pieces. */
	tx_packet_sized(&c->a, 0, &h, 12, frame, sizeof frame, (const uint32_t[]){ 5, 7, 333, 0 });
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->a.tx.used->idx, 1);
	assert_int_equal(c->a.tx.used->ring[0].id, 0);
	assert_int_equal(c->a.tx.used->ring[0].len, 0);
	assert_int_equal(c->b.rx.used->idx, 1);
	assert_int_equal(c->b.rx.used->ring[0].len, 12 + sizeof frame);
	assert_int_equal(rx_read(&c->b, 0, got, sizeof got), 12 + sizeof frame);
	vnet_hdr_decode(got, &rh);
	assert_int_equal(rh.flags, 0);
	assert_int_equal(got[10] | got[11] << 8, 1); /* num_buffers */
	assert_memory_equal(got + 12, frame, sizeof frame);
	assert_int_equal(c->a.stats.tx_packets, 1);
	assert_int_equal(c->a.stats.tx_bytes, sizeof frame);
	assert_int_equal(c->b.stats.rx_packets, 1);
}

/* With MRG_RXBUF a frame spans several RX buffers; num_buffers says how many. */
static void test_mergeable(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[5000], got[6000];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;
	size_t off = 0;

	fill(frame, sizeof frame, 2);
	rx_post(&c->b, 8, 1, 1500);
	tx_packet(&c->a, 0, &h, 12, frame, sizeof frame, 100000);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	/* 12 + 5000 bytes in 1500-byte buffers: four of them. */
	assert_int_equal(c->b.rx.used->idx, 4);
	for (unsigned i = 0; i < 4; i++)
		off += rx_read(&c->b, i, got + off, sizeof got - off);
	assert_int_equal(off, 12 + sizeof frame);
	assert_int_equal(got[10] | got[11] << 8, 4);
	assert_memory_equal(got + 12, frame, sizeof frame);
	assert_int_equal(c->b.rx.used->ring[3].len, 12 + 5000 - 3 * 1500);
}

/* Not enough RX buffers posted yet: nothing is consumed, and the packet
 * goes through once the receiver posts more. */
static void test_waits_for_buffers(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[5000];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;

	fill(frame, sizeof frame, 3);
	tx_packet(&c->a, 0, &h, 12, frame, sizeof frame, 100000);
	assert_int_equal(run(c, &fault), FWD_BLOCKED); /* no RX buffer at all */
	rx_post(&c->b, 2, 1, 1500);
	assert_int_equal(run(c, &fault), FWD_BLOCKED); /* two of four */
	assert_int_equal(c->a.tx.used->idx, 0);
	assert_int_equal(c->b.rx.used->idx, 0);
	assert_int_equal(c->b.rx.vq.last_avail, 0);
	/* Two more: now it fits. */
	for (unsigned i = 2; i < 4; i++) {
		uint64_t buf = fix_alloc(&c->b.f, 1500, 8);

		fix_desc(&c->b.rx, (uint16_t)i, buf, 1500, VRING_DESC_F_WRITE, 0);
		fix_publish(&c->b.rx, (uint16_t)i);
	}
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.used->idx, 4);
	assert_int_equal(c->a.tx.used->idx, 1);
}

/* Without MRG_RXBUF a frame must fit one chain; otherwise it is dropped
 * and counted, and the RX chain stays available. */
static void test_too_big_without_merge(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[3000], small[100], got[200];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;

	set_features(&c->b, V1);
	fill(frame, sizeof frame, 4);
	fill(small, sizeof small, 5);
	rx_post(&c->b, 2, 2, 1000); /* chains of 2 x 1000 bytes */
	tx_packet(&c->a, 0, &h, 12, frame, sizeof frame, 100000);
	tx_packet(&c->a, 1, &h, 12, small, sizeof small, 100000);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->a.stats.drop_too_big, 1);
	assert_int_equal(c->a.tx.used->idx, 2);
	assert_int_equal(c->b.rx.used->idx, 1);
	assert_int_equal(c->b.rx.used->ring[0].id, 0); /* the first chain, reused */
	assert_int_equal(rx_read(&c->b, 0, got, sizeof got), 12 + sizeof small);
	assert_memory_equal(got + 12, small, sizeof small);
}

/* Legacy 10-byte header on one end, 12 bytes on the other. */
static void test_legacy_header(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[500], got[600];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;

	set_features(&c->a, 0); /* legacy, no MRG: 10-byte header */
	fill(frame, sizeof frame, 6);
	rx_post(&c->b, 1, 1, 2048);
	tx_packet(&c->a, 0, &h, 10, frame, sizeof frame, 100000);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(rx_read(&c->b, 0, got, sizeof got), 12 + sizeof frame);
	assert_memory_equal(got + 12, frame, sizeof frame);

	/* And the other way round: the legacy receiver gets 10 bytes of header. */
	set_features(&c->a, V1);
	set_features(&c->b, 0);
	rx_post(&c->b, 1, 1, 2048);
	tx_packet(&c->a, 1, &h, 12, frame, sizeof frame, 100000);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->b.rx.used->ring[1].len, 10 + sizeof frame);
}

/* A TCP/IPv4 frame whose checksum the sender leaves to the device. */
static size_t tcp_frame(uint8_t *f, size_t payload)
{
	size_t len = 14 + 20 + 20 + payload;
	uint32_t sum;

	memset(f, 0, len);
	f[12] = 0x08;
	f[14] = 0x45;
	f[14 + 9] = 6;
	f[14 + 12] = 192, f[14 + 13] = 168, f[14 + 14] = 1, f[14 + 15] = 1;
	f[14 + 16] = 192, f[14 + 17] = 168, f[14 + 18] = 1, f[14 + 19] = 2;
	f[34 + 12] = 5 << 4;
	fill(f + 54, payload, 7);
	/* Pseudo-header: addresses, protocol, TCP length. */
	sum = 0xc0a8 + 0x0101 + 0xc0a8 + 0x0102 + 6 + (uint32_t)(20 + payload);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	f[34 + 16] = (uint8_t)(sum >> 8);
	f[34 + 17] = (uint8_t)sum;
	return len;
}

/* An independent checksum: 0xffff over pseudo-header and segment if valid. */
static uint16_t tcp_sum(const uint8_t *f, size_t len)
{
	uint32_t sum = 0xc0a8 + 0x0101 + 0xc0a8 + 0x0102 + 6 + (uint32_t)(len - 34);

	for (size_t i = 34; i < len; i += 2)
		sum += (uint32_t)(f[i] << 8 | (i + 1 < len ? f[i + 1] : 0));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void test_checksum_completed(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[2000], got[3000];
	struct vnet_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
			      .csum_offset = 16 };
	struct fwd_fault fault;
	size_t len = tcp_frame(frame, 1001), off = 0;
	struct vnet_hdr rh;

	set_features(&c->b, V1 | F(VIRTIO_NET_F_MRG_RXBUF)); /* no GUEST_CSUM */
	rx_post(&c->b, 4, 1, 333); /* odd-sized buffers: the sum crosses them */
	tx_packet(&c->a, 0, &h, 12, frame, len, 77);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	for (unsigned i = 0; i < c->b.rx.used->idx; i++)
		off += rx_read(&c->b, i, got + off, sizeof got - off);
	assert_int_equal(off, 12 + len);
	vnet_hdr_decode(got, &rh);
	assert_int_equal(rh.flags, 0);
	assert_int_equal(tcp_sum(got + 12, len), 0xffff);
	assert_memory_equal(got + 12, frame, 50);
	assert_memory_equal(got + 12 + 52, frame + 52, len - 52);
}

static void test_checksum_passed_on(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[2000], got[3000];
	struct vnet_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
			      .csum_offset = 16 };
	struct fwd_fault fault;
	size_t len = tcp_frame(frame, 500);
	struct vnet_hdr rh;

	set_features(&c->b, V1 | F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_GUEST_CSUM));
	rx_post(&c->b, 1, 1, 2048);
	tx_packet(&c->a, 0, &h, 12, frame, len, 100000);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(rx_read(&c->b, 0, got, sizeof got), 12 + len);
	vnet_hdr_decode(got, &rh);
	assert_int_equal(rh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(rh.csum_start, 34);
	assert_int_equal(rh.csum_offset, 16);
	assert_memory_equal(got + 12, frame, len);
}

/* Malformed packets are dropped and counted, not delivered. */
static void test_bad_packets_dropped(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[100];
	struct vnet_hdr gso = { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4 };
	struct vnet_hdr csum_past = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 90,
				      .csum_offset = 9 };
	struct vnet_hdr ok = { 0 };
	struct fwd_fault fault;
	uint64_t buf = fix_alloc(&c->a.f, 8, 8);

	rx_post(&c->b, 4, 1, 2048);
	tx_packet(&c->a, 0, &gso, 12, frame, sizeof frame, 100000);
	tx_packet(&c->a, 1, &csum_past, 12, frame, sizeof frame, 100000);
	/* A chain shorter than the header. */
	fix_desc(&c->a.tx, 2, buf, 8, 0, 0);
	fix_publish(&c->a.tx, 2);
	tx_packet(&c->a, 3, &ok, 12, frame, sizeof frame, 100000);
	assert_int_equal(run(c, &fault), FWD_IDLE);
	assert_int_equal(c->a.stats.drop_bad, 3);
	assert_int_equal(c->a.tx.used->idx, 4);
	assert_int_equal(c->b.rx.used->idx, 1); /* only the good one */
	assert_int_equal(c->b.rx.used->ring[0].len, 12 + sizeof frame);
}

/* A bad TX descriptor blames the sender; a bad RX descriptor the receiver. */
static void test_fault_attribution(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[100];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;

	rx_post(&c->b, 2, 1, 2048);
	tx_packet(&c->a, 0, &h, 12, frame, sizeof frame, 100000);
	c->a.tx.desc[0].flags |= VRING_DESC_F_WRITE;
	assert_int_equal(run(c, &fault), FWD_FAULT);
	assert_int_equal(fault.guilty, 0);
	assert_int_equal(fault.error, VQ_ERR_DIRECTION);
	assert_int_equal(c->b.rx.used->idx, 0);

	c->a.tx.desc[0].flags &= (uint16_t)~VRING_DESC_F_WRITE;
	c->b.rx.desc[0].flags = 0; /* read-only RX buffer */
	assert_int_equal(run(c, &fault), FWD_FAULT);
	assert_int_equal(fault.guilty, 1);
	assert_int_equal(fault.error, VQ_ERR_DIRECTION);
	assert_int_equal(c->a.tx.used->idx, 0); /* nothing consumed */
}

static void test_drop_without_peer(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[100];
	struct vnet_hdr h = { 0 };
	struct fwd_fault fault;

	for (uint16_t i = 0; i < 5; i++)
		tx_packet(&c->a, i, &h, 12, frame, sizeof frame, 100000);
	assert_int_equal(drop_packets(&c->a.fe_tx, 3, &fault), FWD_MORE);
	assert_int_equal(drop_packets(&c->a.fe_tx, 3, &fault), FWD_IDLE);
	vq_used_publish(&c->a.tx.vq);
	assert_int_equal(c->a.tx.used->idx, 5);
	assert_int_equal(c->a.stats.drop_no_peer, 5);
	/* An out-of-range head still blames the sender. */
	fix_publish(&c->a.tx, 200);
	assert_int_equal(drop_packets(&c->a.fe_tx, 3, &fault), FWD_FAULT);
	assert_int_equal(fault.error, VQ_ERR_HEAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_copy_split_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mergeable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_waits_for_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_big_without_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_legacy_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checksum_completed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checksum_passed_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_packets_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_attribution, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_without_peer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
