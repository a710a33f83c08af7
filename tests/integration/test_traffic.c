/* SPDX-License-Identifier: MIT */
/*
 * Traffic through a real server between two driver-library clients:
 * byte-exact exchange in both directions at once, every chain layout and
 * feature mismatch, checksum completion, backpressure, drops without a
 * peer, polling mode and polled rings. What holds for either ring format
 * runs once with split rings and once with packed ones (the test's state);
 * what only packed rings have is in test_packed.c.
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

#include "harness.h"

#define F(bit) (1ull << (bit))

/* The ring format a test runs with. */
struct ring_format {
	uint64_t features;   /* added to the library's defaults */
	uint16_t queue_size; /* a ring size the format takes (packed: not a power of 2) */
	const struct ring_format *other;
};
static const struct ring_format split_rings, packed_rings;
static const struct ring_format split_rings = { 0, 64, &packed_rings };
static const struct ring_format packed_rings = { F(VND_F_RING_PACKED), 60, &split_rings };

/* The library's defaults with the ring format fmt. */
static void format_config(const struct ring_format *fmt, struct vnd_config *c)
{
	vnd_config_init(c);
	c->features |= fmt->features;
}

/* Random sizes up to 64 KiB, both directions at once, mergeable buffers. */
static void test_exchange_64k_both_ways(void **state)
{
	const struct ring_format *fmt = *state;
	struct vnd_config cfg;
	struct server s;
	struct vnd *a, *b;

	format_config(fmt, &cfg);
	server_start(&s, NULL);
	a = client_open(&s, NULL, &cfg);
	b = client_open(&s, NULL, &cfg);
	assert_int_equal(vnd_features(a) & F(VND_F_RING_PACKED), fmt->features);
	assert_int_equal(vnd_features(b) & F(VND_F_RING_PACKED), fmt->features);
	/* Not asked for, so not negotiated. */
	assert_false(vnd_features(a) & F(VND_F_IN_ORDER));
	expect_exchange(&s, a, b, 3000, random_size_64k, XCHG_RX_DROPS);
	/* The counters agree with what crossed. */
	expect_port_counted(&s, 0, 3000);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* Every TX layout a driver may use, over memory split into regions so
 * that buffers straddle region borders (added one by one for half the
 * pairs), against a peer of the same ring format and of the other. */
static void test_layouts_and_regions(void **state)
{
	const struct ring_format *fmt = *state;

	for (unsigned i = 0; i < 4; i++) {
		struct vnd_config ca, cb;
		struct server s;
		struct vnd *a, *b;
		const char *const create4[] = { "ds-max=4", NULL };

		format_config(fmt, &ca);
		format_config(i % 2 ? fmt : fmt->other, &cb);
		layout_pair(i, &ca, &cb);
		ca.add_mem_reg = i >= 2;
		server_start(&s, NULL);
		a = client_open(&s, create4, &ca);
		b = client_open(&s, create4, &cb);
		expect_exchange(&s, a, b, 400, random_size_64k, XCHG_RX_DROPS);
		vnd_close(a);
		vnd_close(b);
		server_stop(&s);
	}
}

/* Ends with different features: the server translates between them. */
static void test_mismatched_features(void **state)
{
	struct vnd_config full, no_mrg, legacy, plain;

	(void)state;
	vnd_config_init(&full);
	vnd_config_init(&no_mrg);
	no_mrg.features &= ~F(VND_F_MRG_RXBUF);
	vnd_config_init(&legacy);
	legacy.features &= ~(F(VND_F_VERSION_1) | F(VND_F_MRG_RXBUF)); /* 10-byte header */
	legacy.tx_layout = VND_TX_HDR_SPLIT;
	vnd_config_init(&plain);
	plain.features = F(VND_F_VERSION_1);
	plain.no_protocol_features = true;
	plain.rx_buf_size = 1024;

	run_pair(NULL, &full, &no_mrg, 1000, size_9000, 0);
	run_pair(NULL, &legacy, &full, 1000, random_size_mtu, 0);
	run_pair(NULL, &plain, &legacy, 500, size_9000, 0);
	/* Without MRG_RXBUF every frame fits one chain of Linux-like big buffers. */
	run_pair(NULL, &no_mrg, &no_mrg, 500, random_size_64k, 0);
}

/* Small rings, and rings the client asks the server to poll. */
static void test_ring_sizes_and_polled_kicks(void **state)
{
	const char *const small[] = { "-s", "16", NULL };
	struct vnd_config a, b;

	(void)state;
	vnd_config_init(&a);
	vnd_config_init(&b);
	a.queue_size = 16;
	b.queue_size = 8;
	/* Eight buffers must hold a 64 KiB frame. */
	a.rx_buf_size = b.rx_buf_size = 9000;
	run_pair(small, &a, &b, 500, random_size_64k, 0);

	vnd_config_init(&a);
	vnd_config_init(&b);
	a.kick_nofd = true;
	b.call_nofd = true;
	run_pair(NULL, &a, &b, 500, random_size_mtu, 0);
}

/* -p: the server polls and asks clients not to kick. */
static void test_poll_mode(void **state)
{
	const char *const poll_args[] = { "-p", "50", NULL };
	struct vnd_config cfg, no_event;
	struct server s;
	struct vnd *a, *b;
	struct vnp_ctl_port p0, p1;
	uint64_t kicks0, kicks1;

	(void)state;
	vnd_config_init(&cfg);
	vnd_config_init(&no_event);
	no_event.features &= ~F(VND_F_EVENT_IDX);
	server_start(&s, poll_args);
	assert_true(server_log_contains(&s, "polling every 50 us", 2000));
	a = client_open(&s, NULL, &cfg);
	b = client_open(&s, NULL, &no_event);
	/* Drivers kick once after filling their RX rings, before the server's
	 * wish is in the ring; after that, drivers that honour it never kick. */
	usleep(100000);
	p0 = port_status(&s, 0);
	p1 = port_status(&s, 1);
	kicks0 = p0.counter[VNP_CTR_KICKS];
	kicks1 = p1.counter[VNP_CTR_KICKS];
	expect_exchange(&s, a, b, 1000, random_size_mtu, 0);
	p0 = port_status(&s, 0);
	p1 = port_status(&s, 1);
	assert_int_equal(p0.counter[VNP_CTR_KICKS], kicks0);
	assert_int_equal(p1.counter[VNP_CTR_KICKS], kicks1);
	assert_int_equal(p0.counter[VNP_CTR_TX_PACKETS], 1000);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* A partial checksum (NEEDS_CSUM) sent in pieces of odd length: completed
 * by the server for a receiver without GUEST_CSUM (of either ring format),
 * its sum crossing the receive buffers too; passed on as it is to a
 * receiver with it. */
static void test_checksum_completion(void **state)
{
	const struct ring_format *fmt = *state;
	struct vnd_config sender, indirect, no_csum, other_no_csum, with_csum;

	format_config(fmt, &sender);
	sender.tx_layout = VND_TX_SCATTER;
	sender.tx_piece = 333; /* pieces of odd length, so the sum crosses them */
	indirect = sender;
	indirect.tx_layout = VND_TX_INDIRECT;
	format_config(fmt, &no_csum);
	no_csum.features &= ~(F(VND_F_CSUM) | F(VND_F_GUEST_CSUM));
	no_csum.rx_buf_size = 512; /* and crosses receive buffers too */
	format_config(fmt->other, &other_no_csum);
	other_no_csum.features &= ~(F(VND_F_CSUM) | F(VND_F_GUEST_CSUM));
	other_no_csum.rx_buf_size = 512;
	format_config(fmt, &with_csum);

	checksums_across(&sender, &no_csum);
	checksums_across(&indirect, &other_no_csum);
	checksums_across(&sender, &with_csum);
	no_csum.features &= ~F(VND_F_MRG_RXBUF); /* one big-packet chain */
	checksums_across(&indirect, &no_csum);
}

/* While both ends run, a sender waits for the receiver: nothing is lost. */
static void test_backpressure_without_loss(void **state)
{
	const struct ring_format *fmt = *state;
	unsigned ring = fmt->queue_size;
	struct vnd_config cfg;
	struct server s;
	struct vnd *a, *b;
	static uint8_t buf[2048];
	uint32_t sent = 0;
	struct vnp_ctl_port p0;

	format_config(fmt, &cfg);
	cfg.queue_size = fmt->queue_size;
	server_start(&s, NULL);
	a = client_open(&s, NULL, &cfg);
	b = client_open(&s, NULL, &cfg);
	/* b does not read: a fills b's RX ring (a buffer a frame), then its
	 * own TX ring (a one-descriptor chain a frame), then waits. */
	for (uint64_t end = now_ms() + 10000;
	     port_status(&s, 1).counter[VNP_CTR_RX_PACKETS] < ring && now_ms() < end;) {
		while (vnd_send(a, buf, frame_fill(buf, 7, sent, 1000), NULL) == 0)
			sent++;
		vnd_wait(a, 5);
	}
	while (vnd_send(a, buf, frame_fill(buf, 7, sent, 1000), NULL) == 0)
		sent++;
	assert_int_equal(port_status(&s, 1).counter[VNP_CTR_RX_PACKETS], ring);
	assert_int_equal(sent, 2 * ring);
	assert_int_equal(vnd_send(a, buf, 1000, NULL), -EAGAIN);

	/* Now b reads everything, in order, and a can go on. */
	send_and_receive_all(a, b, 7, 1000, &sent, 5000);
	p0 = port_status(&s, 0);
	assert_int_equal(p0.counter[VNP_CTR_TX_PACKETS], 5000);
	assert_int_equal(port_tx_drops(&p0) + port_rx_drops(&p0), 0);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* Without a running peer a sender never stalls: its packets are dropped
 * and counted. */
static void test_drops_without_peer(void **state)
{
	const struct ring_format *fmt = *state;
	struct vnd_config cfg;
	struct server s;
	struct vnd *a;
	static uint8_t buf[2048];
	unsigned sent = 0;
	struct vnp_ctl_port p0;

	format_config(fmt, &cfg);
	cfg.queue_size = 32;
	server_start(&s, NULL);
	a = client_open(&s, NULL, &cfg);
	for (uint64_t deadline = now_ms() + 10000; sent < 1000 && now_ms() < deadline;) {
		if (vnd_send(a, buf, frame_fill(buf, 1, sent, 200), NULL) == 0)
			sent++;
		else
			vnd_wait(a, 10);
	}
	assert_int_equal(sent, 1000);
	for (uint64_t deadline = now_ms() + 5000;
	     port_status(&s, 0).counter[VNP_CTR_DROP_NO_PEER] < 1000 && now_ms() < deadline;)
		usleep(1000);
	p0 = port_status(&s, 0);
	assert_int_equal(p0.counter[VNP_CTR_DROP_NO_PEER], 1000);
	assert_int_equal(p0.counter[VNP_CTR_TX_PACKETS], 0);
	vnd_close(a);
	server_stop(&s);
}

/* Too big for a receiver without MRG_RXBUF: dropped and counted, and the
 * link goes on. */
static void test_too_big_for_receiver(void **state)
{
	const struct ring_format *fmt = *state;
	struct vnd_config sender, small;
	static uint8_t buf[65536];
	struct server s;
	struct vnd *a, *b;
	uint32_t seq;
	ssize_t n;

	format_config(fmt, &sender);
	format_config(fmt, &small);
	small.features &= ~F(VND_F_MRG_RXBUF);
	small.rx_chain_descs = 2; /* header + one 2048-byte buffer */
	server_start(&s, NULL);
	a = client_open(&s, NULL, &sender);
	b = client_open(&s, NULL, &small);
	assert_int_equal(vnd_send(a, buf, frame_fill(buf, 3, 0, 3000), NULL), 0);
	assert_int_equal(vnd_send(a, buf, frame_fill(buf, 3, 1, 2000), NULL), 0);
	n = recv_one(b, buf, sizeof buf, NULL);
	assert_int_equal(n, 2000);
	assert_true(frame_check(buf, 2000, 3, &seq));
	assert_int_equal(seq, 1);
	assert_int_equal(port_status(&s, 0).counter[VNP_CTR_DROP_TOO_BIG], 1);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* A port whose client leaves is released and can be created again. */
static void test_release_and_recreate(void **state)
{
	const struct ring_format *fmt = *state;
	struct vnd_config cfg;
	struct server s;
	struct vnd *a, *b;

	format_config(fmt, &cfg);
	server_start(&s, NULL);
	a = client_open(&s, NULL, &cfg);
	b = client_open(&s, NULL, &cfg);
	expect_exchange(&s, a, b, 100, random_size_mtu, 0);
	vnd_close(a);
	assert_true(server_log_contains(&s, "port0: released", 2000));
	assert_int_equal(port_status(&s, 0).state, 0 /* free */);
	a = client_open(&s, NULL, &cfg);
	expect_exchange(&s, a, b, 100, random_size_mtu, 0);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* A client that stops its TX ring (a driver reset, GET_VRING_BASE) has
 * what is queued there forwarded first. The server polls only once a
 * second here, so only the stop itself can have moved the packets. */
static void test_stop_drains_tx(void **state)
{
	const struct ring_format *fmt = *state;
	const char *const slow_poll[] = { "-p", "1000000", NULL };
	struct vnd_config cfg;
	static uint8_t buf[2048];
	struct server s;
	struct vnd *a, *b;
	uint32_t seq;
	uint64_t stopped;
	int got = 0;

	format_config(fmt, &cfg);
	server_start(&s, slow_poll);
	a = client_open(&s, NULL, &cfg);
	b = client_open(&s, NULL, &cfg);
	/* Wait for a timer tick, so the next one is about a second away. */
	assert_int_equal(vnd_send(a, buf, frame_fill(buf, 4, 1000, 100), NULL), 0);
	for (ssize_t n = -EAGAIN; n == -EAGAIN; n = vnd_recv(b, buf, sizeof buf, NULL))
		vnd_wait(b, 50);
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(vnd_send(a, buf, frame_fill(buf, 4, i, 100 + i), NULL), 0);
	assert_int_equal(vnd_stop(a), 0);
	stopped = now_ms();
	while (got < 10 && now_ms() < stopped + 3000) {
		ssize_t n = vnd_recv(b, buf, sizeof buf, NULL);

		if (n == -EAGAIN) {
			usleep(1000);
			continue;
		}
		assert_true(frame_check(buf, (size_t)n, 4, &seq));
		assert_int_equal(seq, (uint32_t)got);
		got++;
	}
	assert_int_equal(got, 10);
	/* Well before the next tick: GET_VRING_BASE drained the ring. */
	assert_true(now_ms() - stopped < 500);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

int main(void)
{
	/* Each test that holds for either ring format, once with each. */
#define BOTH(fn)                                                                               \
	{ #fn " (split)", fn, NULL, NULL, (void *)&split_rings },                                      \
	{ #fn " (packed)", fn, NULL, NULL, (void *)&packed_rings }
	const struct CMUnitTest tests[] = {
		BOTH(test_exchange_64k_both_ways),
		BOTH(test_layouts_and_regions),
		cmocka_unit_test(test_mismatched_features),
		cmocka_unit_test(test_ring_sizes_and_polled_kicks),
		cmocka_unit_test(test_poll_mode),
		BOTH(test_checksum_completion),
		BOTH(test_backpressure_without_loss),
		BOTH(test_drops_without_peer),
		BOTH(test_too_big_for_receiver),
		BOTH(test_release_and_recreate),
		BOTH(test_stop_drains_tx),
	};
#undef BOTH

	return cmocka_run_group_tests(tests, NULL, NULL);
}
