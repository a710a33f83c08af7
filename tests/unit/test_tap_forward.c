/* SPDX-License-Identifier: MIT */
/*
 * The TAP datapath (link/tap_forward.c) without a TAP: a hand-made client
 * (memfd memory, rings) and a SOCK_SEQPACKET pair standing for the TAP's
 * descriptor, which keeps packet boundaries as a TAP does. Checks the
 * header rebuilt in both directions, chains in pieces, merged RX buffers
 * and num_buffers, drops and their counters, waiting for room without
 * reading, and whom a bad descriptor blames.
 */
#include <linux/virtio_net.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "gso_frames.h"
#include "link/tap_forward.h"
#include "net/virtio_net.h"

/* A budget of n descriptors and bytes without end. */
#define DESCS(n) (&(struct fwd_budget){ .descs = (n), .bytes = INT64_MAX })

#define NUM 16
#define F(b) (1ull << (b))
#define V1 F(VIRTIO_F_VERSION_1)
#define MRG F(VIRTIO_NET_F_MRG_RXBUF)
#define GCSUM F(VIRTIO_NET_F_GUEST_CSUM)

struct ctx {
	struct fixture f;
	struct fix_ring tx, rx;
	uint16_t tx_next, rx_next;
	struct port_stats client_stats, tap_stats;
	struct log_ratelimit rl;
	struct fwd_end client_tx, client_rx, tap_end;
	struct tap tap;
	int kernel; /* the other end of the "TAP" */
};

static int setup(void **state)
{
	static struct ctx c;
	int sp[2];

	memset(&c, 0, sizeof c);
	fix_init(&c.f, 2);
	fix_ring_init(&c.f, &c.tx, NUM, false, true);
	fix_ring_init(&c.f, &c.rx, NUM, false, true);
	c.client_tx = (struct fwd_end){ &c.tx.vq, V1 | MRG | GCSUM, &c.client_stats, &c.rl, "client",
					0, NULL, 0, NULL, NULL, 0 };
	c.client_rx = c.client_tx;
	c.client_rx.vq = &c.rx.vq;
	c.tap_end = (struct fwd_end){ NULL, 0, &c.tap_stats, &c.rl, "tap", 1, NULL, 0, NULL, NULL,
				      0 };
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sp), 0);
	tap_init(&c.tap);
	c.tap.fd = sp[0];
	c.kernel = sp[1];
	c.tap.hdr_len = 12;
	c.tap.readable = true;
	c.tap.buf = tap_buffers_new();
	assert_non_null(c.tap.buf);
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	close(c->tap.fd);
	close(c->kernel);
	tap_buffers_free(c->tap.buf);
	fix_fini(&c->f);
	return 0;
}

static void poke(struct ctx *c, uint64_t gpa, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		*fix_host(&c->f, gpa + i) = p[i];
}

static void peek(struct ctx *c, uint64_t gpa, uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = *fix_host(&c->f, gpa + i);
}

static void fill(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + seed);
}

/* A TX packet over descriptors of the given sizes (the last repeats). */
static uint16_t tx_packet(struct ctx *c, const struct vnet_hdr *h, const uint8_t *frame,
			  size_t len, const uint32_t *sizes)
{
	uint64_t buf = fix_alloc(&c->f, 12 + len + 1, 8);
	size_t total = 12 + len, off = 0;
	uint16_t head = c->tx_next;
	uint8_t hdr[VNET_HDR_MAX];

	vnet_hdr_encode(h, 12, hdr);
	poke(c, buf, hdr, 12);
	poke(c, buf + 12, frame, len);
	do {
		size_t n = total - off < *sizes ? total - off : *sizes;
		uint16_t d = c->tx_next++;

		assert_true(d < NUM);
		fix_desc(&c->tx, d, buf + off, (uint32_t)n, off + n < total ? VRING_DESC_F_NEXT : 0,
			 (uint16_t)(d + 1));
		off += n;
		if (sizes[1])
			sizes++;
	} while (off < total);
	fix_publish(&c->tx, head);
	return head;
}

/* Post one RX buffer of len bytes; returns its address. */
static uint64_t rx_buffer(struct ctx *c, uint32_t len)
{
	uint64_t buf = fix_alloc(&c->f, len, 8);
	uint16_t d = c->rx_next++;

	fix_desc(&c->rx, d, buf, len, VRING_DESC_F_WRITE, 0);
	fix_publish(&c->rx, d);
	return buf;
}

/* What the kernel side received: header and frame in one packet. */
static ssize_t kernel_read(struct ctx *c, uint8_t *hdr, uint8_t *frame, size_t cap)
{
	struct iovec iov[2] = { { hdr, 12 }, { frame, cap } };

	return readv(c->kernel, iov, 2);
}

static void kernel_send(struct ctx *c, const struct vnet_hdr *h, const uint8_t *frame, size_t len)
{
	uint8_t hdr[12];
	struct iovec iov[2] = { { hdr, 12 }, { (void *)frame, len } };

	vnet_hdr_encode(h, 10, hdr); /* the kernel writes 10 bytes and skips the rest */
	memset(hdr + 10, 0x5a, 2);
	assert_int_equal(writev(c->kernel, iov, 2), (ssize_t)(12 + len));
}

/* ---- client TX -> TAP ------------------------------------------------------- */

/* Header split over two descriptors, frame over several: one packet, the
 * frame untouched, the header rebuilt (only NEEDS_CSUM and its offsets). */
static void test_send_pieces(void **state)
{
	struct ctx *c = *state;
	static const uint32_t sizes[] = { 5, 7, 100, 200, 0 };
	struct vnet_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID,
			      .hdr_len = 77, .gso_size = 99, .csum_start = 34, .csum_offset = 6,
			      .num_buffers = 5 };
	uint8_t frame[600], got[700], hdr[12];
	struct fwd_fault fault;
	struct vnet_hdr out;

	fill(frame, sizeof frame, 1);
	tx_packet(c, &h, frame, sizeof frame, sizes);
	assert_int_equal(tap_send_packets(&c->tap, &c->client_tx, &c->tap_end, DESCS(64), &fault), FWD_IDLE);
	assert_int_equal(kernel_read(c, hdr, got, sizeof got), 12 + sizeof frame);
	assert_memory_equal(got, frame, sizeof frame);
	vnet_hdr_decode(hdr, &out);
	assert_int_equal(out.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(out.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	assert_int_equal(out.hdr_len + out.gso_size, 0);
	assert_int_equal(out.csum_start, 34);
	assert_int_equal(out.csum_offset, 6);
	assert_int_equal(c->client_stats.tx_packets, 1);
	assert_int_equal(c->client_stats.tx_bytes, sizeof frame);
	assert_int_equal(c->tap_stats.rx_packets, 1);
	vq_publish(&c->tx.vq);
	assert_int_equal(c->tx.used->idx, 1);
}

/* What the kernel must not see is dropped, counted, and consumed. */
static void test_send_drops(void **state)
{
	struct ctx *c = *state;
	static const uint32_t one[] = { 4096, 0 };
	struct vnet_hdr gso = { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1000 };
	struct vnet_hdr beyond = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 50,
				   .csum_offset = 9 };
	struct vnet_hdr plain = { 0 };
	uint8_t frame[60], got[100], hdr[12];
	struct fwd_fault fault;

	fill(frame, sizeof frame, 2);
	tx_packet(c, &gso, frame, sizeof frame, one);
	tx_packet(c, &beyond, frame, sizeof frame, one);
	tx_packet(c, &plain, frame, 13, one); /* shorter than an Ethernet header */
	assert_int_equal(tap_send_packets(&c->tap, &c->client_tx, &c->tap_end, DESCS(64), &fault), FWD_IDLE);
	assert_int_equal(c->client_stats.drop_bad, 3);
	assert_int_equal(c->client_stats.tx_packets, 0);
	assert_true(kernel_read(c, hdr, got, sizeof got) < 0); /* nothing written */
	vq_publish(&c->tx.vq);
	assert_int_equal(c->tx.used->idx, 3);
}

/* A buffer outside the client's memory is the client's fault. */
static void test_send_bad_descriptor(void **state)
{
	struct ctx *c = *state;
	struct fwd_fault fault;

	fix_desc(&c->tx, 0, 0x10, 100, 0, 0);
	fix_publish(&c->tx, 0);
	assert_int_equal(tap_send_packets(&c->tap, &c->client_tx, &c->tap_end, DESCS(64), &fault),
			 FWD_FAULT);
	assert_int_equal(fault.guilty, 0);
	assert_int_equal(fault.error, VQ_ERR_ADDR);
}

/* A packed client's chain too long for any frame (one buffer named 18
 * times), its buffer id beyond the ring: the walk stops at the largest
 * frame, the chain's rest is read as it goes back, and the packet is the
 * client's fault, not a drop as well. */
static void test_send_packed_fault_counts_once(void **state)
{
	struct ctx *c = *state;
	static struct fix_ring ptx;
	struct fix_buf bufs[18];
	uint64_t buf = fix_alloc(&c->f, 4096, 8);
	struct fwd_fault fault;

	for (unsigned i = 0; i < 18; i++)
		bufs[i] = (struct fix_buf){ .addr = buf, .len = 4096 };
	fix_ring_init_fmt(&c->f, &ptx, 32, true, false, true, 0x8000);
	c->client_tx.vq = &ptx.vq;
	fix_post(&ptx, bufs, 18);
	ptx.ring[17].id = 40;
	assert_int_equal(tap_send_packets(&c->tap, &c->client_tx, &c->tap_end, DESCS(4096), &fault),
			 FWD_FAULT);
	assert_int_equal(fault.guilty, 0);
	assert_int_equal(fault.error, VQ_ERR_ID);
	assert_int_equal(c->client_stats.drop_too_big, 0);
	assert_int_equal(c->client_stats.drop_bad, 0);
	vq_fini(&ptx.vq);
	c->client_tx.vq = &c->tx.vq;
}

/* ---- GSO both ways ------------------------------------------------------------ */

/* A TCPv4 GSO frame as a guest hands it over (gso_frames.h), its header
 * as the library would write it. */
static size_t gso_tcp4(uint8_t *f, size_t cap, struct vnet_hdr *h)
{
	struct gso_spec spec = { .payload_len = 3000, .gso_size = 1448,
				 .tcp_flags = GSO_TCP_ACK | GSO_TCP_PSH, .seed = 5 };
	struct vnd_tx_meta m;
	size_t len = gso_build(f, cap, &spec, &m);

	assert_true(len > 0);
	*h = (struct vnet_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = m.gso_type,
				.hdr_len = m.hdr_len, .gso_size = m.gso_size,
				.csum_start = m.csum_start, .csum_offset = m.csum_offset };
	return len;
}

/* A client that negotiated HOST_TSO4 hands the kernel a GSO frame whole,
 * its header rebuilt from the checked frame, the frame untouched even
 * when its headers are split over descriptors. */
static void test_send_gso(void **state)
{
	struct ctx *c = *state;
	static const uint32_t sizes[] = { 5, 7, 30, 1000, 0 };
	static uint8_t frame[4000], got[4100];
	uint8_t hdr[12];
	struct fwd_fault fault;
	struct vnet_hdr h, out;
	size_t len = gso_tcp4(frame, sizeof frame, &h);

	c->client_tx.features |= F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4);
	h.hdr_len = 7; /* a hint, and wrong: the kernel gets the real one */
	tx_packet(c, &h, frame, len, sizes);
	assert_int_equal(tap_send_packets(&c->tap, &c->client_tx, &c->tap_end, DESCS(1024), &fault),
			 FWD_IDLE);
	assert_int_equal(kernel_read(c, hdr, got, sizeof got), 12 + len);
	assert_memory_equal(got, frame, len);
	vnet_hdr_decode(hdr, &out);
	assert_int_equal(out.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(out.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(out.gso_size, 1448);
	assert_int_equal(out.hdr_len, 54);
	assert_int_equal(out.csum_start, 34);
	assert_int_equal(out.csum_offset, 16);
	assert_int_equal(c->client_stats.tx_gso, 1);
	assert_int_equal(c->tap_stats.rx_gso, 1);
	assert_int_equal(c->client_stats.tx_bytes, len);
}

/* Without HOST_TSO4, or with headers that lie, the kernel sees nothing. */
static void test_send_gso_refused(void **state)
{
	struct ctx *c = *state;
	static const uint32_t whole[] = { 8192, 0 };
	static uint8_t frame[4000], got[4100];
	uint8_t hdr[12];
	struct fwd_fault fault;
	struct vnet_hdr h;
	size_t len = gso_tcp4(frame, sizeof frame, &h);

	tx_packet(c, &h, frame, len, whole);
	assert_int_equal(tap_send_packets(&c->tap, &c->client_tx, &c->tap_end, DESCS(1024), &fault),
			 FWD_IDLE);
	assert_int_equal(c->client_stats.drop_bad, 1);
	c->client_tx.features |= F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4);
	frame[14] = 0x44; /* IHL 4 */
	tx_packet(c, &h, frame, len, whole);
	assert_int_equal(tap_send_packets(&c->tap, &c->client_tx, &c->tap_end, DESCS(1024), &fault),
			 FWD_IDLE);
	assert_int_equal(c->client_stats.drop_bad, 2);
	assert_int_equal(c->client_stats.tx_gso, 0);
	assert_true(kernel_read(c, hdr, got, sizeof got) < 0);
}

/* A GSO frame from the kernel (it hands them out only as offloads allow)
 * reaches a client with GUEST_TSO4 whole, with its GSO fields; a client
 * without gets none. */
static void test_receive_gso(void **state)
{
	struct ctx *c = *state;
	static uint8_t frame[4000], got[4100];
	struct fwd_fault fault;
	struct vnet_hdr h, out;
	size_t len = gso_tcp4(frame, sizeof frame, &h);
	uint64_t buf;

	/* One chain of its own takes a frame whole (with MRG_RXBUF the ring
	 * would need room for the largest a GSO frame can be). */
	c->client_rx.features |= F(VIRTIO_NET_F_GUEST_TSO4);
	c->client_rx.features &= ~MRG;
	c->tap.gso_frames = true;
	buf = rx_buffer(c, 8192);
	kernel_send(c, &h, frame, len);
	assert_int_equal(tap_receive_packets(&c->tap, &c->tap_end, &c->client_rx, DESCS(1024), &fault),
			 FWD_BLOCKED);
	vq_publish(&c->rx.vq);
	assert_int_equal(c->rx.used->idx, 1);
	peek(c, buf, got, 12 + len);
	assert_memory_equal(got + 12, frame, len);
	vnet_hdr_decode(got, &out);
	assert_int_equal(out.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(out.gso_size, 1448);
	assert_int_equal(out.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(c->client_stats.rx_gso, 1);
	assert_int_equal(c->tap_stats.tx_gso, 1);

	c->client_rx.features &= ~F(VIRTIO_NET_F_GUEST_TSO4);
	rx_buffer(c, 8192);
	kernel_send(c, &h, frame, len);
	c->tap.readable = true;
	tap_receive_packets(&c->tap, &c->tap_end, &c->client_rx, DESCS(1024), &fault);
	assert_int_equal(c->tap_stats.drop_bad, 1);
	assert_int_equal(c->client_stats.rx_gso, 1);
}

/* ---- TAP -> client RX ------------------------------------------------------- */

/* A frame over three merged buffers: one read, num_buffers 3, the flags
 * kept for a GUEST_CSUM client, used lengths adding up. */
static void test_receive_merged(void **state)
{
	struct ctx *c = *state;
	struct vnet_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
			      .csum_offset = 16 };
	uint8_t frame[1400], got[1412];
	uint64_t buf[3];
	struct fwd_fault fault;
	struct vnet_hdr out;

	c->tap.frame_max = 1518;
	for (int i = 0; i < 3; i++)
		buf[i] = rx_buffer(c, 512);
	fill(frame, sizeof frame, 3);
	kernel_send(c, &h, frame, sizeof frame);
	/* The ring is used up: whether the TAP holds more only a read would tell. */
	assert_int_equal(tap_receive_packets(&c->tap, &c->tap_end, &c->client_rx, DESCS(64), &fault),
			 FWD_BLOCKED);
	vq_publish(&c->rx.vq);
	assert_int_equal(c->rx.used->idx, 3);
	assert_int_equal(c->rx.used->ring[0].len + c->rx.used->ring[1].len + c->rx.used->ring[2].len,
			 12 + sizeof frame);
	peek(c, buf[0], got, 512);
	peek(c, buf[1], got + 512, 512);
	peek(c, buf[2], got + 1024, sizeof got - 1024);
	assert_memory_equal(got + 12, frame, sizeof frame);
	vnet_hdr_decode(got, &out);
	assert_int_equal(out.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(out.csum_start, 34);
	assert_int_equal(out.csum_offset, 16);
	assert_int_equal(got[10] | got[11] << 8, 3); /* num_buffers */
	assert_int_equal(c->tap_stats.tx_packets, 1);
	assert_int_equal(c->client_stats.rx_packets, 1);
	assert_int_equal(c->client_stats.rx_bytes, sizeof frame);
}

/* Not room enough for a whole frame: nothing is read, the kernel keeps it. */
static void test_receive_waits_for_room(void **state)
{
	struct ctx *c = *state;
	struct vnet_hdr h = { 0 };
	uint8_t frame[100];
	struct fwd_fault fault;

	c->tap.frame_max = 1518;
	rx_buffer(c, 512);
	fill(frame, sizeof frame, 4);
	kernel_send(c, &h, frame, sizeof frame);
	assert_int_equal(tap_receive_packets(&c->tap, &c->tap_end, &c->client_rx, DESCS(64), &fault),
			 FWD_BLOCKED);
	assert_int_equal(c->tap_stats.tx_packets, 0);
	assert_true(c->tap.readable);
	/* More buffers: now it goes, into the first one only. */
	rx_buffer(c, 512);
	rx_buffer(c, 512);
	rx_buffer(c, 512);
	assert_int_equal(tap_receive_packets(&c->tap, &c->tap_end, &c->client_rx, DESCS(64), &fault),
			 FWD_IDLE);
	assert_false(c->tap.readable);
	vq_publish(&c->rx.vq);
	assert_int_equal(c->rx.used->idx, 1);
	assert_int_equal(c->rx.used->ring[0].len, 12 + sizeof frame);
}

/* A client without GUEST_CSUM gets no flags, and no partial checksum. */
static void test_receive_without_guest_csum(void **state)
{
	struct ctx *c = *state;
	struct vnet_hdr valid = { .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	struct vnet_hdr partial = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34,
				    .csum_offset = 6 };
	uint8_t frame[100], got[12];
	uint64_t buf;
	struct fwd_fault fault;

	c->client_rx.features = V1 | MRG;
	c->tap.frame_max = 1518;
	buf = rx_buffer(c, 2048);
	rx_buffer(c, 2048);
	fill(frame, sizeof frame, 5);
	kernel_send(c, &partial, frame, sizeof frame);
	kernel_send(c, &valid, frame, sizeof frame);
	assert_int_equal(tap_receive_packets(&c->tap, &c->tap_end, &c->client_rx, DESCS(64), &fault),
			 FWD_IDLE);
	assert_int_equal(c->tap_stats.drop_bad, 1);
	assert_int_equal(c->tap_stats.tx_packets, 1);
	vq_publish(&c->rx.vq);
	assert_int_equal(c->rx.used->idx, 1);
	assert_int_equal(c->rx.used->ring[0].id, 0); /* the dropped frame left its buffer */
	peek(c, buf, got, sizeof got);
	assert_int_equal(got[0], 0);
	assert_int_equal(got[10] | got[11] << 8, 1);
}

/* A read-only buffer in the RX ring is the client's fault; nothing read. */
static void test_receive_bad_direction(void **state)
{
	struct ctx *c = *state;
	struct vnet_hdr h = { 0 };
	uint8_t frame[100];
	struct fwd_fault fault;
	uint64_t buf = fix_alloc(&c->f, 2048, 8);

	fix_desc(&c->rx, 0, buf, 2048, 0, 0);
	fix_publish(&c->rx, 0);
	fill(frame, sizeof frame, 6);
	kernel_send(c, &h, frame, sizeof frame);
	assert_int_equal(tap_receive_packets(&c->tap, &c->tap_end, &c->client_rx, DESCS(64), &fault),
			 FWD_FAULT);
	assert_int_equal(fault.guilty, 1);
	assert_int_equal(fault.error, VQ_ERR_DIRECTION);
	assert_int_equal(c->tap_stats.tx_packets, 0);
}

/* Nobody to receive: frames are read and counted as no-peer drops. */
static void test_discard(void **state)
{
	struct ctx *c = *state;
	struct vnet_hdr h = { 0 };
	uint8_t frame[100];

	fill(frame, sizeof frame, 7);
	kernel_send(c, &h, frame, sizeof frame);
	kernel_send(c, &h, frame, sizeof frame);
	assert_int_equal(tap_discard_packets(&c->tap, &c->tap_end, DESCS(1)), FWD_MORE);
	assert_int_equal(tap_discard_packets(&c->tap, &c->tap_end, DESCS(8)), FWD_IDLE);
	assert_int_equal(c->tap_stats.drop_no_peer, 2);
	assert_false(c->tap.readable);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_send_pieces),
		T(test_send_drops),
		T(test_send_bad_descriptor),
		T(test_send_packed_fault_counts_once),
		T(test_send_gso),
		T(test_send_gso_refused),
		T(test_receive_gso),
		T(test_receive_merged),
		T(test_receive_waits_for_room),
		T(test_receive_without_guest_csum),
		T(test_receive_bad_direction),
		T(test_discard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
