/* SPDX-License-Identifier: MIT */
/*
 * Packed virtqueues (virtio 1.2, 2.8) through a real server, driven by the
 * driver library with VND_F_RING_PACKED, beyond what test_traffic.c runs
 * with either ring format (exchange, every TX layout over regions,
 * checksums, backpressure, drops, release, a stopped TX ring drained):
 *  - packed<->split either way round, mergeable buffers on and off;
 *  - polling mode, polled rings, odd ring sizes, notifications with and
 *    without EVENT_IDX, IN_ORDER;
 *  - layouts a device must take, where devices break most with packed
 *    rings: a 250-entry ring, chains wrapping the ring's end, the RX header
 *    over three pieces with gaps, batched in-order completions;
 *  - a ring stopped mid-wrap (GET_VRING_BASE) and started again from the
 *    base it returned, with frames in flight, resumes exactly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "vnd_raw.h"

#define F(bit) (1ull << (bit))
#define RX 0
#define TX 1

static void packed_config(struct vnd_config *c)
{
	vnd_config_init(c);
	c->features |= F(VND_F_RING_PACKED);
}

static bool is_packed(const struct vnd *d) { return vnd_features(d) & F(VND_F_RING_PACKED); }

/* Exchanges here hold the receiving side's drops to 0 too, and a pair
 * each end's ring format to what its config asked for. */
#define PAIR_CHECKS (XCHG_RX_DROPS | XCHG_RING_FORMAT)

/* ---- traffic ------------------------------------------------------------------------ */

static void wait_ports_free(struct server *s)
{
	for (uint64_t end = now_ms() + 5000;
	     (port_status(s, 0).state || port_status(s, 1).state) && now_ms() < end;)
		usleep(2000);
	assert_int_equal(port_status(s, 0).state + port_status(s, 1).state, 0);
}

/* The default stays split: existing programs see no change. */
static void test_split_by_default(void **state)
{
	struct vnd_config cfg;
	struct server s;
	struct vnd *a;

	(void)state;
	vnd_config_init(&cfg);
	assert_int_equal(VND_FEATURES_DEFAULT & (F(VND_F_RING_PACKED) | F(VND_F_IN_ORDER)), 0);
	server_start(&s, NULL);
	a = client_open(&s, NULL, &cfg);
	assert_false(is_packed(a));
	assert_false(vnd_features(a) & F(VND_F_IN_ORDER));
	vnd_close(a);
	wait_ports_free(&s);
	/* A size only packed rings allow, without asking for them: refused. */
	cfg.queue_size = 250;
	assert_int_equal(client_try_open(&s, NULL, &cfg, &a), -EINVAL);
	assert_non_null(strstr(vnd_last_error(NULL), "power of 2"));
	wait_ports_free(&s);
	/* IN_ORDER alone is not taken: the library does it for packed rings only. */
	vnd_config_init(&cfg);
	cfg.features |= F(VND_F_IN_ORDER);
	a = client_open(&s, NULL, &cfg);
	assert_false(vnd_features(a) & F(VND_F_IN_ORDER));
	vnd_close(a);
	server_stop(&s);
}

/* Packed and split ends on one link, each way round, with and without
 * mergeable buffers: the exchange runs both directions at once. */
static void test_packed_with_split(void **state)
{
	struct vnd_config packed, packed_big, split, split_big;

	(void)state;
	packed_config(&packed);
	packed_config(&packed_big);
	packed_big.features &= ~F(VND_F_MRG_RXBUF);
	vnd_config_init(&split);
	vnd_config_init(&split_big);
	split_big.features &= ~F(VND_F_MRG_RXBUF);

	run_pair(NULL, &packed, &split, 1000, random_size_64k, PAIR_CHECKS);
	run_pair(NULL, &split_big, &packed, 1000, random_size_64k, PAIR_CHECKS);
	run_pair(NULL, &packed_big, &split, 1000, random_size_64k, PAIR_CHECKS);
	run_pair(NULL, &split_big, &packed_big, 1000, random_size_64k, PAIR_CHECKS);
	run_pair(NULL, &packed_big, &packed_big, 500, random_size_64k, PAIR_CHECKS);
}

/* Small and odd ring sizes, rings the server polls, and no call fd. */
static void test_packed_ring_sizes_and_polled(void **state)
{
	struct vnd_config a, b;

	(void)state;
	packed_config(&a);
	packed_config(&b);
	a.queue_size = 13;
	b.queue_size = 250;
	/* Thirteen buffers must hold a 64 KiB frame. */
	a.rx_buf_size = b.rx_buf_size = 9000;
	a.tx_layout = VND_TX_SCATTER;
	run_pair(NULL, &a, &b, 500, random_size_64k, PAIR_CHECKS);

	packed_config(&a);
	vnd_config_init(&b);
	a.queue_size = 1; /* one descriptor a chain, one frame at a time */
	a.features &= ~F(VND_F_MRG_RXBUF);
	a.rx_buf_size = 1600;
	run_pair(NULL, &a, &b, 200, random_size_mtu, PAIR_CHECKS);

	packed_config(&a);
	packed_config(&b);
	a.kick_nofd = true;
	b.call_nofd = true;
	run_pair(NULL, &a, &b, 500, random_size_mtu, PAIR_CHECKS);
}

/* -p: the server polls and asks not to be kicked (DISABLE in the device
 * area); packed drivers honour it, with and without EVENT_IDX. */
static void test_packed_poll_mode(void **state)
{
	const char *const poll_args[] = { "-p", "50", NULL };
	struct vnd_config cfg, no_event;
	struct server s;
	struct vnd *a, *b;
	uint64_t kicks0, kicks1;

	(void)state;
	packed_config(&cfg);
	packed_config(&no_event);
	no_event.features &= ~F(VND_F_EVENT_IDX);
	server_start(&s, poll_args);
	assert_true(server_log_contains(&s, "polling every 50 us", 2000));
	a = client_open(&s, NULL, &cfg);
	b = client_open(&s, NULL, &no_event);
	/* The first kicks come before the server's wish is in the rings;
	 * wait until it is in all four. */
	for (int i = 0; i < 4; i++) {
		struct vnd_raw_ring r;

		vnd_raw_ring(i / 2 ? b : a, i % 2, &r);
		for (uint64_t end = now_ms() + 5000;
		     __atomic_load_n(&r.device_event->flags, __ATOMIC_ACQUIRE) !=
			     VRING_PACKED_EVENT_FLAG_DISABLE &&
		     now_ms() < end;)
			usleep(1000);
		assert_int_equal(r.device_event->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	}
	kicks0 = port_status(&s, 0).counter[VNP_CTR_KICKS];
	kicks1 = port_status(&s, 1).counter[VNP_CTR_KICKS];
	expect_exchange(&s, a, b, 1000, random_size_mtu, XCHG_RX_DROPS);
	/* Kicks made before the wish was seen may still be counted (one per
	 * ring at most: an eventfd coalesces); a driver that kicked on
	 * through 2000 frames would be far beyond. */
	kicks0 = port_status(&s, 0).counter[VNP_CTR_KICKS] - kicks0;
	kicks1 = port_status(&s, 1).counter[VNP_CTR_KICKS] - kicks1;
	print_message("kicks during the exchange: %llu and %llu\n", (unsigned long long)kicks0,
		      (unsigned long long)kicks1);
	assert_true(kicks0 <= 2 && kicks1 <= 2);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* Notifications by flags alone (no EVENT_IDX) and by descriptor (with it),
 * and IN_ORDER, which the server offers and the library takes when asked. */
static void test_packed_notifications_and_in_order(void **state)
{
	struct vnd_config plain, event, in_order, split;
	struct server s;
	struct vnd *a, *b;

	(void)state;
	packed_config(&plain);
	plain.features &= ~F(VND_F_EVENT_IDX);
	packed_config(&event);
	run_pair(NULL, &plain, &event, 2000, size_9000, PAIR_CHECKS);
	run_pair(NULL, &plain, &plain, 2000, random_size_mtu, PAIR_CHECKS);

	packed_config(&in_order);
	in_order.features |= F(VND_F_IN_ORDER);
	vnd_config_init(&split);
	server_start(&s, NULL);
	a = client_open(&s, NULL, &in_order);
	b = client_open(&s, NULL, &split);
	assert_true(vnd_features(a) & F(VND_F_IN_ORDER));
	expect_exchange(&s, a, b, 2000, random_size_64k, XCHG_RX_DROPS);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
	in_order.features &= ~F(VND_F_MRG_RXBUF);
	run_pair(NULL, &in_order, &in_order, 500, random_size_64k, PAIR_CHECKS);
}

/* ---- layouts a device must take --------------------------------------------------------- */

/* Where a ring stands after n slots from a fresh start, as the base
 * format writes it (index, wrap counter in bit 15; both halves). */
static uint32_t position_after(unsigned num, uint64_t slots)
{
	uint32_t half = (uint32_t)(slots % num) | (uint32_t)(((slots / num) & 1) ? 0 : 0x8000);

	return half | half << 16;
}

/* A 250-entry ring with chains that do not divide it: every TX chain
 * takes 7 slots (the header in two, five pieces of the frame), so the
 * 36th runs from slot 245 over the ring's end, and so on; RX chains with
 * the header over three pieces take 4 (mergeable) or 69 slots (big
 * packets) and wrap too. Both ways, byte-exact, and the library ends
 * where the count of slots says. */
static void test_packed_chains_wrap_the_ring(void **state)
{
	const char *const big_ring[] = { "-s", "256", NULL };
	struct vnd_config ca, cb;
	struct server s;
	struct vnd *a, *b;
	static uint8_t buf[4096];
	const unsigned frames = 1040, len = 2500;

	(void)state;
	packed_config(&ca);
	ca.queue_size = 250;
	ca.tx_layout = VND_TX_SCATTER;
	ca.tx_piece = 512; /* 2500 bytes: five pieces */
	packed_config(&cb);
	cb.queue_size = 250;
	cb.features &= ~F(VND_F_MRG_RXBUF);
	cb.rx_buf_size = 1000; /* big packets: header, 67 data buffers */
	cb.tx_layout = VND_TX_HDR_SPLIT;
	server_start(&s, big_ring);
	a = client_open(&s, NULL, &ca);
	b = client_open(&s, NULL, &cb);
	/* Both receivers with the header in three pieces. */
	for (int i = 0; i < 2; i++) {
		struct vnd *d = i ? b : a;

		assert_int_equal(vnd_stop(d), 0);
		assert_int_equal(vnd_raw_rx_header_pieces(d, 3), 0);
		assert_int_equal(vnd_restart(d), 0);
	}
	assert_true(is_packed(a) && is_packed(b));
	for (uint32_t sent = 0, got = 0; got < frames;) {
		uint32_t seq;
		ssize_t n;

		while (sent < frames && vnd_send(a, buf, frame_fill(buf, 3, sent, len), NULL) == 0)
			sent++;
		n = vnd_recv(b, buf, sizeof buf, NULL);
		if (n == -EAGAIN) {
			assert_int_equal(vnd_wait(b, 5000), 1);
			continue;
		}
		assert_int_equal(n, len);
		assert_true(frame_check(buf, (size_t)n, 3, &seq));
		assert_int_equal(seq, got);
		got++;
	}
	for (uint64_t end = now_ms() + 5000; vnd_tx_reclaim(a) > 0 && now_ms() < end;)
		vnd_wait(a, 10);
	assert_int_equal(vnd_tx_reclaim(a), 0);
	/* 7280 slots: 29 laps (the wrap counter 0) and 30 slots. */
	assert_int_equal(vnd_raw_position(a, TX), position_after(250, 7280));
	assert_int_equal(position_after(250, 7280), 30 | 30 << 16);
	/* b took 1040 chains of 69 slots; its used side says so. */
	assert_int_equal(vnd_raw_position(b, RX) >> 16, position_after(250, 1040 * 69) >> 16);
	expect_exchange(&s, a, b, 600, random_size_64k, XCHG_RX_DROPS);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* The header over three RX pieces with gaps between them (DPDK 22.11
 * corrupts frames there), with mergeable buffers and without, from packed
 * and split senders. */
static void test_packed_header_in_pieces(void **state)
{
	struct vnd_config mrg, big, sender;

	(void)state;
	packed_config(&mrg);
	mrg.rx_buf_size = 1500; /* 64 chains of 1452 bytes: a 64 KiB frame fits */
	packed_config(&big);
	big.features &= ~F(VND_F_MRG_RXBUF);
	for (int i = 0; i < 4; i++) {
		struct vnd_config *rx = i % 2 ? &big : &mrg;
		struct server s;
		struct vnd *a, *b;

		if (i < 2)
			packed_config(&sender);
		else
			vnd_config_init(&sender);
		sender.tx_layout = VND_TX_SCATTER;
		server_start(&s, NULL);
		a = client_open(&s, NULL, &sender);
		b = client_open(&s, NULL, rx);
		assert_int_equal(vnd_stop(b), 0);
		assert_int_equal(vnd_raw_rx_header_pieces(b, 3 + i % 2), 0);
		assert_int_equal(vnd_restart(b), 0);
		expect_exchange(&s, a, b, 500, random_size_64k, XCHG_RX_DROPS);
		vnd_close(a);
		vnd_close(b);
		server_stop(&s);
	}
}

/* ---- batched in-order completions, from a device stand-in ------------------------------- */

struct standin {
	struct vnd *d;
	struct vnd_raw_ring r;
	uint16_t slot; /* the next buffer's first slot */
	bool wrap;
	uint16_t batch_slot;
	bool batch_wrap;
	unsigned in_batch;
};

static void standin_step(struct standin *st, unsigned n)
{
	st->slot = (uint16_t)(st->slot + n);
	if (st->slot >= st->r.num) {
		st->slot = (uint16_t)(st->slot - st->r.num);
		st->wrap = !st->wrap;
	}
}

/* Write bytes into the next posted buffer (one descriptor: mergeable
 * buffers), as a device would; returns its id and what it holds. */
static uint16_t standin_fill(struct standin *st, const uint8_t *bytes, uint32_t n, uint32_t *cap)
{
	struct vring_packed_desc *d = &st->r.ring[st->slot];
	uint16_t avail = st->wrap ? 0x80 : 0x8000;

	assert_int_equal(d->flags & 0x8080, avail); /* posted, not used */
	assert_int_equal(d->flags & VRING_DESC_F_NEXT, 0);
	assert_true(n <= d->len);
	memcpy(host_of(st->d, d->addr), bytes, n);
	*cap = d->len;
	if (!st->in_batch++) {
		st->batch_slot = st->slot;
		st->batch_wrap = st->wrap;
	}
	standin_step(st, 1);
	return d->id;
}

/* One used element for the buffers filled since the last: it names the
 * last one and sits where the first one was. */
static void standin_used(struct standin *st, uint16_t last_id, uint32_t last_len)
{
	struct vring_packed_desc *d = &st->r.ring[st->batch_slot];

	d->id = last_id;
	d->len = last_len;
	__atomic_store_n(&d->flags,
			 (uint16_t)((st->batch_wrap ? 0x8080 : 0) | VRING_DESC_F_WRITE),
			 __ATOMIC_RELEASE);
	st->in_batch = 0;
}

/* A frame into as many buffers as it takes: whole buffers but maybe the
 * last; returns the last one's id and length. */
static uint16_t standin_frame(struct standin *st, const uint8_t *f, size_t len, uint32_t *last_len)
{
	static uint8_t bytes[12 + 65536];
	size_t total = 12 + len, done = 0;
	uint16_t id = 0, buffers = 0;
	uint32_t cap;

	memset(bytes, 0, 12);
	memcpy(bytes + 12, f, len);
	/* num_buffers first: the buffers are 2048 bytes. */
	buffers = (uint16_t)((total + 2047) / 2048);
	bytes[10] = (uint8_t)buffers;
	bytes[11] = (uint8_t)(buffers >> 8);
	while (done < total) {
		uint32_t n = total - done < 2048 ? (uint32_t)(total - done) : 2048;

		id = standin_fill(st, bytes + done, n, &cap);
		assert_int_equal(cap, 2048);
		done += n;
		*last_len = n;
	}
	return id;
}

/* With IN_ORDER a device may mark a batch of buffers used with one
 * element, the skipped ones written whole: frames of exactly whole
 * buffers, a frame whose first buffers are skipped, frames sharing one
 * element; the library returns each frame byte-exact with its buffer
 * count. The client is alone on the link, so nobody else writes its RX
 * ring. */
static void test_packed_in_order_batches(void **state)
{
	/* Frame lengths, and after which frames an element is written. */
	static const struct {
		size_t len;
		bool element;
	} plan[] = {
		{ 2036, false }, { 3000, true },  /* F1 fills its buffer: one element for 3 */
		{ 100, true },                    /* alone */
		{ 6132, false }, { 60, true },    /* three whole buffers and one: one element */
		{ 4084, true },                   /* two whole: the element names the second */
		{ 2036, false }, { 2036, false }, { 9000, true },
	};
	static uint8_t f[10000], in[10000];
	struct vnd_config cfg;
	struct standin st;
	struct server s;
	struct vnd *d;
	uint32_t pos;

	(void)state;
	packed_config(&cfg);
	cfg.features |= F(VND_F_IN_ORDER);
	cfg.queue_size = 20; /* the frames take more than that: the ring wraps */
	server_start(&s, NULL);
	d = client_open(&s, NULL, &cfg);
	assert_true(vnd_features(d) & F(VND_F_IN_ORDER));
	memset(&st, 0, sizeof st);
	st.d = d;
	assert_int_equal(vnd_raw_ring(d, RX, &st.r), 0);
	assert_true(st.r.packed);
	for (int round = 0; round < 3; round++) {
		size_t i = 0;

		pos = vnd_raw_position(d, RX);
		st.slot = (uint16_t)((pos >> 16) & 0x7fff);
		st.wrap = pos >> 31;
		while (i < sizeof plan / sizeof plan[0]) {
			size_t first = i, k;

			/* Fill up to the next element, then receive those frames. */
			for (k = i; k < sizeof plan / sizeof plan[0]; k++) {
				uint32_t last_len = 0;
				uint16_t last;

				frame_fill(f, 9, (uint32_t)(round * 100 + k), plan[k].len);
				last = standin_frame(&st, f, plan[k].len, &last_len);
				if (plan[k].element) {
					standin_used(&st, last, last_len);
					break;
				}
			}
			i = k + 1;
			for (k = first; k < i; k++) {
				struct vnd_rx_meta m;
				ssize_t n = vnd_recv(d, in, sizeof in, &m);
				uint32_t seq;

				if (n < 0)
					fail_msg("frame %zu: %zd (%s)", k, n, vnd_last_error(d));
				assert_int_equal(n, plan[k].len);
				assert_true(frame_check(in, (size_t)n, 9, &seq));
				assert_int_equal(seq, round * 100 + k);
				assert_int_equal(m.num_buffers, (12 + plan[k].len + 2047) / 2048);
			}
			assert_int_equal(vnd_recv(d, in, sizeof in, NULL), -EAGAIN);
		}
	}
	vnd_close(d);
	server_stop(&s);
}

/* ---- a ring stopped and started again mid-wrap ---------------------------------------- */

/* Stop a's TX ring while frames wait in it (b's RX ring is full: b does
 * not read), stop b's RX ring holding frames b has not read; b reads
 * them, both rings start again from the bases GET_VRING_BASE returned,
 * and every frame arrives once, in order, byte-exact. The bases are
 * exactly where the frames moved the rings: mid-wrap, the wrap counter
 * turned. */
static void restart_mid_wrap(bool a_packed, bool b_packed)
{
	struct vnd_config ca, cb;
	struct server s;
	struct vnd *a, *b;
	static uint8_t buf[2048];
	unsigned nb, sent = 0, got = 0;
	uint32_t a_start, b_start, a_base, b_base, seq;
	uint64_t rx0;

	if (a_packed)
		packed_config(&ca);
	else
		vnd_config_init(&ca);
	if (b_packed)
		packed_config(&cb);
	else
		vnd_config_init(&cb);
	ca.queue_size = a_packed ? 250 : 256;
	cb.queue_size = b_packed ? 250 : 256;
	nb = cb.queue_size;
	ca.tx_layout = VND_TX_SCATTER;
	ca.tx_piece = 700; /* 600-byte frames: three descriptors */
	server_start(&s, NULL);
	a = client_open(&s, NULL, &ca);
	b = client_open(&s, NULL, &cb);
	/* Away from the start. */
	expect_exchange(&s, a, b, 333, random_size_mtu, XCHG_RX_DROPS);
	while (vnd_tx_reclaim(a) > 0)
		vnd_wait(a, 10);
	a_start = vnd_raw_position(a, TX);
	b_start = vnd_raw_position(b, RX);
	rx0 = port_status(&s, 1).counter[VNP_CTR_RX_PACKETS];

	/* b's RX ring fills (one buffer a frame), then a's TX ring. */
	for (uint64_t end = now_ms() + 10000;
	     port_status(&s, 1).counter[VNP_CTR_RX_PACKETS] < rx0 + nb && now_ms() < end;) {
		while (vnd_send(a, buf, frame_fill(buf, 5, sent, 600), NULL) == 0)
			sent++;
		vnd_wait(a, 5);
	}
	while (vnd_send(a, buf, frame_fill(buf, 5, sent, 600), NULL) == 0)
		sent++;
	assert_int_equal(port_status(&s, 1).counter[VNP_CTR_RX_PACKETS], rx0 + nb);
	assert_true(sent > nb);

	assert_int_equal(vnd_raw_ring_stop(a, TX, &a_base), 0);
	assert_int_equal(vnd_raw_ring_stop(b, RX, &b_base), 0);
	assert_int_equal(vnd_tx_reclaim(a), (int)(sent - nb));
	print_message("a TX %s: from 0x%x to 0x%x; b RX %s: from 0x%x to 0x%x\n",
		      a_packed ? "packed" : "split", a_start, a_base, b_packed ? "packed" : "split",
		      b_start, b_base);
	if (a_packed) {
		/* nb chains of 3 slots taken; the used side where ours is. */
		uint32_t at = a_start & 0xffff;
		uint64_t lin = (at & 0x7fff) + ((at & 0x8000) ? 0 : 250);

		assert_int_equal(a_base, position_after(250, lin + 3ull * nb));
		assert_int_equal(vnd_raw_position(a, TX) >> 16, a_base >> 16);
	} else {
		assert_int_equal(a_base, (uint16_t)(a_start + nb));
	}
	if (b_packed) {
		/* The device took every chain b had posted: where b's avail side was. */
		assert_int_equal(b_base, (b_start & 0xffff) | (b_start & 0xffff) << 16);
		assert_int_not_equal(b_base, 0x80008000u);
	} else {
		assert_int_equal(b_base, b_start);
	}
	/* b reads what it holds (and posts new buffers) while its ring is stopped. */
	while (got < nb) {
		ssize_t n = vnd_recv(b, buf, sizeof buf, NULL);

		assert_true(n > 0);
		assert_true(frame_check(buf, (size_t)n, 5, &seq));
		assert_int_equal(seq, got);
		got++;
	}
	assert_int_equal(vnd_recv(b, buf, sizeof buf, NULL), -EAGAIN);
	if (b_packed)
		assert_int_equal(vnd_raw_position(b, RX) >> 16, b_base >> 16);

	/* Started again where they stopped: the receiver first. */
	assert_int_equal(vnd_raw_ring_start(b, RX, b_base), 0);
	assert_int_equal(vnd_raw_ring_start(a, TX, a_base), 0);
	vnd_kick(a);
	for (uint64_t end = now_ms() + 10000; got < sent && now_ms() < end;) {
		ssize_t n = vnd_recv(b, buf, sizeof buf, NULL);

		if (n == -EAGAIN) {
			vnd_wait(b, 10);
			continue;
		}
		assert_true(n > 0);
		assert_true(frame_check(buf, (size_t)n, 5, &seq));
		assert_int_equal(seq, got);
		got++;
	}
	assert_int_equal(got, sent);
	for (uint64_t end = now_ms() + 5000; vnd_tx_reclaim(a) > 0 && now_ms() < end;)
		vnd_wait(a, 10);
	assert_int_equal(vnd_tx_reclaim(a), 0);
	assert_int_equal(vnd_device_failed(a) + vnd_device_failed(b), 0);
	expect_exchange(&s, a, b, 500, random_size_64k, XCHG_RX_DROPS);
	assert_int_equal(port_status(&s, 0).counter[VNP_CTR_TX_PACKETS], 333 + sent + 500);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

static void test_packed_restart_mid_wrap(void **state)
{
	(void)state;
	restart_mid_wrap(true, true);
	restart_mid_wrap(true, false);
	restart_mid_wrap(false, true);
	restart_mid_wrap(false, false);
}

/* A driver reset (both rings stopped, fresh rings, base 0x80008000) in
 * the middle of traffic, again and again: each time the link runs on. */
static void test_packed_reset_and_reconnect(void **state)
{
	struct vnd_config cfg;
	struct server s;
	struct vnd *a, *b;

	(void)state;
	packed_config(&cfg);
	cfg.queue_size = 100;
	server_start(&s, NULL);
	a = client_open(&s, NULL, &cfg);
	b = client_open(&s, NULL, &cfg);
	for (int i = 0; i < 5; i++) {

		expect_delivered(a, b, 150, random_size_mtu, 20000);
		assert_int_equal(vnd_stop(i % 2 ? a : b), 0);
		assert_int_equal(vnd_restart(i % 2 ? a : b), 0);
	}
	/* A client that goes and comes back on the same port. */
	vnd_close(b);
	assert_true(server_log_contains(&s, "port1: released", 2000));
	b = client_open(&s, NULL, &cfg);
	expect_exchange(&s, a, b, 300, random_size_64k, XCHG_RX_DROPS);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* The example client with --packed: a packed echo end (a ring of 250)
 * and a packed ping end, through vnet-p2p-ctl create. */
static void test_peer_tool_packed(void **state)
{
	const char *peer = getenv("VNET_P2P_PEER_BIN");
	char out[1024], err[1024];
	struct server s;
	int status;
	pid_t echo;

	(void)state;
	assert_non_null(peer);
	server_start(&s, NULL);
	echo = fork();
	assert_true(echo >= 0);
	if (echo == 0) {
		const char *argv[] = { ctl_binary(), "--svr", s.svr, "create", "--", peer,
				       "--packed", "--in-order", "--queue-size", "250", "-q", "echo",
				       "--count", "300", NULL };

		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	assert_true(server_log_contains(&s, "port0: ring 1 started (packed, size 250", 10000));
	{
		const char *argv[] = { ctl_binary(), "--svr", s.svr, "create", "--", peer,
				       "--packed", "ping", "--count", "300", "--size", "60-9000", NULL };

		assert_int_equal(run_output(argv, out, sizeof out, err, sizeof err), 0);
	}
	print_message("%s", out);
	assert_non_null(strstr(out, "ping: 300 frames of 60..9000 bytes echoed intact, 0 damaged, "
				    "0 missing"));
	assert_true(server_log_contains(&s, "port1: ring 1 started (packed, size 256", 0));
	assert_int_equal(waitpid(echo, &status, 0), echo);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	server_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_by_default),
		cmocka_unit_test(test_packed_with_split),
		cmocka_unit_test(test_packed_ring_sizes_and_polled),
		cmocka_unit_test(test_packed_poll_mode),
		cmocka_unit_test(test_packed_notifications_and_in_order),
		cmocka_unit_test(test_packed_chains_wrap_the_ring),
		cmocka_unit_test(test_packed_header_in_pieces),
		cmocka_unit_test(test_packed_in_order_batches),
		cmocka_unit_test(test_packed_restart_mid_wrap),
		cmocka_unit_test(test_packed_reset_and_reconnect),
		cmocka_unit_test(test_peer_tool_packed),
	};

	if (getenv("VNP_TEST_FILTER"))
		cmocka_set_test_filter(getenv("VNP_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
