/* SPDX-License-Identifier: MIT */
/*
 * A client that breaks the rules fails its own port only: the server logs
 * why, signals the client's error eventfd, keeps the other port working
 * (its packets are dropped, never stalled), and the offender recovers by
 * resetting its rings. Split and packed rings alike, each with the ways
 * its format can be broken.
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
#include "vhost/vhost_user_proto.h"
#include "vnd_raw.h"

#define TX 1
#define RX 0

static size_t size_small(uint32_t seq)
{
	return 60 + seq % 200;
}

/* The healthy client keeps sending: with the peer failed its frames are
 * dropped and counted, and it never stalls. */
static void expect_lone_sender_flows(struct server *s, struct vnd *healthy, unsigned port)
{
	static uint8_t buf[512];
	uint64_t before = port_status(s, port).counter[VNP_CTR_DROP_NO_PEER];
	unsigned sent = 0;

	for (uint64_t deadline = now_ms() + 5000; sent < 600 && now_ms() < deadline;) {
		if (vnd_send(healthy, buf, frame_fill(buf, 9, sent, 100), NULL) == 0)
			sent++;
		else
			vnd_wait(healthy, 10);
	}
	assert_int_equal(sent, 600);
	for (uint64_t deadline = now_ms() + 3000;
	     port_status(s, port).counter[VNP_CTR_DROP_NO_PEER] < before + 600 && now_ms() < deadline;)
		usleep(1000);
	assert_int_equal(port_status(s, port).counter[VNP_CTR_DROP_NO_PEER], before + 600);
}

/* After a driver reset (stop and restart its rings) the port runs again. */
static void expect_recovery(struct server *s, struct vnd *bad, struct vnd *good)
{

	assert_int_equal(vnd_stop(bad), 0);
	assert_int_equal(vnd_restart(bad), 0);
	wait_port_state(s, 0, 3 /* running */);
	expect_delivered(bad, good, 200, size_small, 10000);
}

typedef void (*breaker)(struct vnd *d);

static void publish_chain(struct vnd *d, uint16_t head)
{
	vnd_raw_publish(d, TX, head);
}

static void break_next_loop(struct vnd *d)
{
	struct vnd_raw_ring r;
	uint16_t id[2];

	vnd_raw_ring(d, TX, &r);
	assert_int_equal(vnd_raw_take_descs(d, TX, 2, id), 0);
	r.desc[id[0]] = (struct vring_desc){ scratch_gpa(d, 0), 12, VRING_DESC_F_NEXT, id[1] };
	r.desc[id[1]] = (struct vring_desc){ scratch_gpa(d, 64), 100, VRING_DESC_F_NEXT, id[0] };
	publish_chain(d, id[0]);
}

static void break_next_out_of_range(struct vnd *d)
{
	struct vnd_raw_ring r;
	uint16_t id;

	vnd_raw_ring(d, TX, &r);
	assert_int_equal(vnd_raw_take_descs(d, TX, 1, &id), 0);
	r.desc[id] = (struct vring_desc){ scratch_gpa(d, 0), 100, VRING_DESC_F_NEXT,
					  (uint16_t)(r.num + 3) };
	publish_chain(d, id);
}

static void break_address(struct vnd *d)
{
	struct vnd_raw_ring r;
	uint16_t id;

	vnd_raw_ring(d, TX, &r);
	assert_int_equal(vnd_raw_take_descs(d, TX, 1, &id), 0);
	/* Starts inside memory, runs past its end. */
	r.desc[id] = (struct vring_desc){ scratch_gpa(d, 0), 0xfffff000u, 0, 0 };
	publish_chain(d, id);
}

static void break_address_wrap(struct vnd *d)
{
	struct vnd_raw_ring r;
	uint16_t id;

	vnd_raw_ring(d, TX, &r);
	assert_int_equal(vnd_raw_take_descs(d, TX, 1, &id), 0);
	r.desc[id] = (struct vring_desc){ 0xffffffffffffff00ull, 0x1000, 0, 0 };
	publish_chain(d, id);
}

static void break_direction(struct vnd *d)
{
	struct vnd_raw_ring r;
	uint16_t id;

	vnd_raw_ring(d, TX, &r);
	assert_int_equal(vnd_raw_take_descs(d, TX, 1, &id), 0);
	r.desc[id] = (struct vring_desc){ scratch_gpa(d, 0), 100, VRING_DESC_F_WRITE, 0 };
	publish_chain(d, id);
}

static struct vring_desc *indirect_table(struct vnd *d, size_t offset)
{
	size_t size;

	return (struct vring_desc *)(void *)((uint8_t *)vnd_raw_scratch(d, &size) + offset);
}

static void break_nested_indirect(struct vnd *d)
{
	struct vnd_raw_ring r;
	struct vring_desc *t = indirect_table(d, 4096);
	uint16_t id;

	vnd_raw_ring(d, TX, &r);
	assert_int_equal(vnd_raw_take_descs(d, TX, 1, &id), 0);
	t[0] = (struct vring_desc){ scratch_gpa(d, 0), 12, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ scratch_gpa(d, 8192), 32, VRING_DESC_F_INDIRECT, 0 };
	r.desc[id] = (struct vring_desc){ scratch_gpa(d, 4096), 32, VRING_DESC_F_INDIRECT, 0 };
	publish_chain(d, id);
}

static void break_indirect_len(struct vnd *d)
{
	struct vnd_raw_ring r;
	uint16_t id;

	vnd_raw_ring(d, TX, &r);
	assert_int_equal(vnd_raw_take_descs(d, TX, 1, &id), 0);
	r.desc[id] = (struct vring_desc){ scratch_gpa(d, 4096), 17, VRING_DESC_F_INDIRECT, 0 };
	publish_chain(d, id);
}

static void break_indirect_next(struct vnd *d)
{
	struct vnd_raw_ring r;
	uint16_t id[2];

	vnd_raw_ring(d, TX, &r);
	assert_int_equal(vnd_raw_take_descs(d, TX, 2, id), 0);
	r.desc[id[0]] = (struct vring_desc){ scratch_gpa(d, 4096), 32,
					     VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, id[1] };
	r.desc[id[1]] = (struct vring_desc){ scratch_gpa(d, 0), 12, 0, 0 };
	publish_chain(d, id[0]);
}

static void break_indirect_loop(struct vnd *d)
{
	struct vnd_raw_ring r;
	struct vring_desc *t = indirect_table(d, 4096);
	uint16_t id;

	vnd_raw_ring(d, TX, &r);
	assert_int_equal(vnd_raw_take_descs(d, TX, 1, &id), 0);
	t[0] = (struct vring_desc){ scratch_gpa(d, 0), 12, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ scratch_gpa(d, 100), 10, VRING_DESC_F_NEXT, 0 };
	r.desc[id] = (struct vring_desc){ scratch_gpa(d, 4096), 32, VRING_DESC_F_INDIRECT, 0 };
	publish_chain(d, id);
}

static void break_head(struct vnd *d)
{
	struct vnd_raw_ring r;

	vnd_raw_ring(d, TX, &r);
	/* A head index beyond the ring, straight into the avail ring. */
	vnd_raw_publish(d, TX, (uint16_t)(r.num + 7));
}

static void break_avail_jump(struct vnd *d)
{
	struct vnd_raw_ring r;

	vnd_raw_ring(d, TX, &r);
	r.avail->idx = (uint16_t)(r.avail->idx + r.num + 1);
	vnd_kick(d);
}

/* ---- the same against packed rings ---------------------------------------------------- */

static struct vnd_raw_chain take_slots(struct vnd *d, unsigned n)
{
	struct vnd_raw_chain c;

	assert_int_equal(vnd_raw_packed_take(d, TX, n, &c), 0);
	return c;
}

/* A chain of one descriptor with this id. */
static void post_one(struct vnd *d, uint64_t addr, uint32_t len, uint16_t flags, uint16_t id)
{
	struct vnd_raw_chain c = take_slots(d, 1);
	struct vring_packed_desc desc = { addr, len, id, flags };

	vnd_raw_packed_post(d, TX, &c, &desc);
}

static unsigned ring_size(struct vnd *d, unsigned q)
{
	struct vnd_raw_ring r;

	vnd_raw_ring(d, q, &r);
	return r.num;
}

static void pbreak_id(struct vnd *d)
{
	post_one(d, scratch_gpa(d, 0), 100, 0, (uint16_t)(ring_size(d, TX) + 3));
}

/* Two chains with one id, made available together: the device holds the
 * id twice. */
static void pbreak_id_reused(struct vnd *d)
{
	struct vnd_raw_chain c1 = take_slots(d, 1), c2 = take_slots(d, 1);
	struct vring_packed_desc one = { scratch_gpa(d, 0), 100, c1.id, 0 };
	uint16_t avail;
	struct vring_packed_desc *second = vnd_raw_packed_slot(d, TX, &c2, 0, &avail);

	/* The second first: the device sees neither before the first's flags. */
	*second = (struct vring_packed_desc){ scratch_gpa(d, 256), 100, c1.id, avail };
	vnd_raw_packed_post(d, TX, &c1, &one);
}

static void pbreak_address(struct vnd *d)
{
	struct vnd_raw_chain c = take_slots(d, 1);
	struct vring_packed_desc desc = { scratch_gpa(d, 0), 0xfffff000u, c.id, 0 };

	vnd_raw_packed_post(d, TX, &c, &desc);
}

static void pbreak_address_wrap(struct vnd *d)
{
	struct vnd_raw_chain c = take_slots(d, 1);
	struct vring_packed_desc desc = { 0xffffffffffffff00ull, 0x1000, c.id, 0 };

	vnd_raw_packed_post(d, TX, &c, &desc);
}

static void pbreak_direction(struct vnd *d)
{
	struct vnd_raw_chain c = take_slots(d, 1);
	struct vring_packed_desc desc = { scratch_gpa(d, 0), 100, c.id, VRING_DESC_F_WRITE };

	vnd_raw_packed_post(d, TX, &c, &desc);
}

/* Every slot of the ring, each with NEXT: the chain runs over the ring's
 * end and round to its start again. */
static void pbreak_endless_chain(struct vnd *d)
{
	unsigned num = ring_size(d, TX);
	struct vnd_raw_chain c = take_slots(d, num);
	struct vring_packed_desc *descs = calloc(num, sizeof *descs);

	assert_non_null(descs);
	for (unsigned k = 0; k < num; k++)
		descs[k] = (struct vring_packed_desc){ scratch_gpa(d, 0), 12, c.id, VRING_DESC_F_NEXT };
	vnd_raw_packed_post(d, TX, &c, descs);
	free(descs);
}

/* A chain whose second descriptor was never made available: its flags
 * still say what the slot held before (the first lap: nothing). */
static void pbreak_chain_not_available(struct vnd *d)
{
	struct vnd_raw_chain c = take_slots(d, 1);
	struct vring_packed_desc desc = { scratch_gpa(d, 0), 12, c.id, VRING_DESC_F_NEXT };

	vnd_raw_packed_post(d, TX, &c, &desc);
}

static void post_indirect(struct vnd *d, uint64_t table, uint32_t len, uint16_t extra)
{
	struct vnd_raw_chain c = take_slots(d, 1);
	struct vring_packed_desc desc = { table, len, c.id, (uint16_t)(VRING_DESC_F_INDIRECT | extra) };

	vnd_raw_packed_post(d, TX, &c, &desc);
}

static struct vring_packed_desc *packed_table(struct vnd *d, size_t offset)
{
	size_t size;

	return (struct vring_packed_desc *)(void *)((uint8_t *)vnd_raw_scratch(d, &size) + offset);
}

static void pbreak_nested_indirect(struct vnd *d)
{
	struct vring_packed_desc *t = packed_table(d, 4096);

	t[0] = (struct vring_packed_desc){ scratch_gpa(d, 0), 12, 0, 0 };
	t[1] = (struct vring_packed_desc){ scratch_gpa(d, 8192), 32, 0, VRING_DESC_F_INDIRECT };
	post_indirect(d, scratch_gpa(d, 4096), 32, 0);
}

static void pbreak_indirect_len(struct vnd *d)
{
	post_indirect(d, scratch_gpa(d, 4096), 17, 0);
}

/* A table of more entries than the ring has. */
static void pbreak_indirect_oversized(struct vnd *d)
{
	post_indirect(d, scratch_gpa(d, 4096), (ring_size(d, TX) + 1) * 16, 0);
}

static void pbreak_indirect_next(struct vnd *d)
{
	struct vnd_raw_chain c = take_slots(d, 2);
	struct vring_packed_desc descs[2] = {
		{ scratch_gpa(d, 4096), 32, c.id, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT },
		{ scratch_gpa(d, 0), 12, c.id, 0 },
	};

	vnd_raw_packed_post(d, TX, &c, descs);
}

/* NEXT inside a packed indirect table, where only WRITE is valid. */
/* A flag no table entry may carry (NEXT and the wrap bits are tolerated,
 * as DPDK's virtio-user writes them; test_packed_clients). */
static void pbreak_flag_in_table(struct vnd *d)
{
	struct vring_packed_desc *t = packed_table(d, 4096);

	t[0] = (struct vring_packed_desc){ scratch_gpa(d, 0), 12, 0, 0x8 };
	t[1] = (struct vring_packed_desc){ scratch_gpa(d, 100), 10, 0, 0 };
	post_indirect(d, scratch_gpa(d, 4096), 32, 0);
}

/* The driver area asks for signals in a way that means nothing: reserved
 * flags, or a descriptor beyond the ring. A frame follows, so that the
 * server has something to signal. */
static void lie_about_events(struct vnd *d, uint16_t flags, uint16_t off_wrap)
{
	struct vnd_raw_ring r;

	vnd_raw_ring(d, TX, &r);
	r.driver_event->off_wrap = off_wrap;
	__atomic_store_n(&r.driver_event->flags, flags, __ATOMIC_RELEASE);
	post_one(d, scratch_gpa(d, 0), 12 + 60, 0, 0);
}

static void pbreak_event_flags(struct vnd *d) { lie_about_events(d, 3, 0); }

static void pbreak_event_offset(struct vnd *d)
{
	lie_about_events(d, VRING_PACKED_EVENT_FLAG_DESC,
			 (uint16_t)(0x8000 | (ring_size(d, TX) + 5)));
}

struct breakage {
	const char *name;
	breaker fn;
	const char *reason; /* in the log and the port's last error */
};

static const struct breakage packed_breakages[] = {
	{ "buffer id out of range", pbreak_id, "buffer id out of range" },
	{ "buffer id reused in flight", pbreak_id_reused, "reused while in use" },
	{ "address past memory", pbreak_address, "outside the client's memory" },
	{ "address wraps", pbreak_address_wrap, "outside the client's memory" },
	{ "writable TX buffer", pbreak_direction, "wrong direction" },
	{ "chain round the whole ring", pbreak_endless_chain, "longer than its table" },
	{ "chain into a slot not made available", pbreak_chain_not_available,
	  "not made available" },
	{ "nested indirect", pbreak_nested_indirect, "nested indirect" },
	{ "indirect length", pbreak_indirect_len, "indirect table of a bad length" },
	{ "indirect table over the ring's size", pbreak_indirect_oversized,
	  "indirect table of a bad length" },
	{ "indirect with next", pbreak_indirect_next, "indirect descriptor with NEXT" },
	{ "unknown flag inside an indirect table", pbreak_flag_in_table,
	  "unknown flag inside a packed indirect table" },
	{ "reserved event flags", pbreak_event_flags, "event suppression fields out of range" },
	{ "event offset beyond the ring", pbreak_event_offset,
	  "event suppression fields out of range" },
};

static const struct breakage breakages[] = {
	{ "next loop", break_next_loop, "longer than its table" },
	{ "next out of range", break_next_out_of_range, "next index out of range" },
	{ "address past memory", break_address, "outside the client's memory" },
	{ "address wraps", break_address_wrap, "outside the client's memory" },
	{ "writable TX buffer", break_direction, "wrong direction" },
	{ "nested indirect", break_nested_indirect, "nested indirect" },
	{ "indirect length", break_indirect_len, "indirect table of a bad length" },
	{ "indirect with next", break_indirect_next, "indirect descriptor with NEXT" },
	{ "indirect loop", break_indirect_loop, "longer than its table" },
	{ "head out of range", break_head, "head index out of range" },
	{ "avail index jump", break_avail_jump, "avail index moved" },
};

/* Each kind of bad TX chain fails the sender's port alone. */
static void bad_tx_chains(const struct breakage *list, size_t n, bool packed)
{
	for (unsigned i = 0; i < n; i++) {
		const struct breakage *b = &list[i];
		struct vnd_config cfg, good_cfg;
		struct server s;
		struct vnd *bad, *good;
		struct vnp_ctl_port p;
		static uint8_t buf[2048];

		print_message("breakage: %s\n", b->name);
		vnd_config_init(&cfg);
		vnd_config_init(&good_cfg);
		if (packed) {
			cfg.features |= 1ull << VND_F_RING_PACKED;
			cfg.queue_size = 200;
			/* The healthy peer packed or split, in turn. */
			if (i % 2)
				good_cfg.features |= 1ull << VND_F_RING_PACKED;
		}
		server_start(&s, NULL);
		bad = client_open(&s, NULL, &cfg);
		good = client_open(&s, NULL, &good_cfg);
		b->fn(bad);
		wait_port_state(&s, 0, 4 /* failed */);
		p = port_status(&s, 0);
		assert_non_null(strstr(p.last_error, b->reason));
		assert_true(server_log_contains(&s, b->reason, 2000));
		assert_int_equal(vnd_device_failed(bad), 1);
		assert_int_equal(port_status(&s, 1).state, 3 /* running */);
		assert_int_equal(vnd_device_failed(good), 0);
		/* What the attacker sent before it broke a rule (a valid chain
		 * ahead of the bad one) was published before the failure. */
		while (vnd_recv(good, buf, sizeof buf, NULL) >= 0)
			;
		expect_lone_sender_flows(&s, good, 1);
		expect_recovery(&s, bad, good);
		assert_true(server_alive(&s));
		vnd_close(bad);
		vnd_close(good);
		server_stop(&s);
	}
}

static void test_bad_tx_chains(void **state)
{
	(void)state;
	bad_tx_chains(breakages, sizeof breakages / sizeof breakages[0], false);
}

static void test_bad_tx_chains_packed(void **state)
{
	(void)state;
	bad_tx_chains(packed_breakages, sizeof packed_breakages / sizeof packed_breakages[0], true);
}

/* The receiver's posted RX descriptors rewritten in place. */
static void spoil_rx_split(struct vnd *d, int how)
{
	struct vnd_raw_ring r;

	vnd_raw_ring(d, RX, &r);
	for (unsigned i = 0; i < r.num; i++)
		r.desc[i].flags &= (uint16_t)~VRING_DESC_F_WRITE;
	(void)how;
}

static void spoil_rx_packed(struct vnd *d, int how)
{
	struct vnd_raw_ring r;

	vnd_raw_ring(d, RX, &r);
	for (unsigned i = 0; i < r.num; i++) {
		if (how == 0)
			r.ring[i].flags &= (uint16_t)~VRING_DESC_F_WRITE;
		else
			r.ring[i].id = (uint16_t)(r.num + i);
	}
}

/* A receiver whose RX buffers are read-only (or name ids beyond its ring)
 * fails; the sender does not. */
static void bad_rx_chain(bool packed, int how, const char *reason)
{
	struct vnd_config cfg, good_cfg;
	struct server s;
	struct vnd *bad, *good;
	static uint8_t buf[256];

	vnd_config_init(&cfg);
	vnd_config_init(&good_cfg);
	if (packed) {
		cfg.features |= 1ull << VND_F_RING_PACKED;
		good_cfg.features |= 1ull << VND_F_RING_PACKED;
	}
	server_start(&s, NULL);
	bad = client_open(&s, NULL, &cfg);
	good = client_open(&s, NULL, &good_cfg);
	if (packed)
		spoil_rx_packed(bad, how);
	else
		spoil_rx_split(bad, how);
	assert_int_equal(vnd_send(good, buf, frame_fill(buf, 1, 0, 100), NULL), 0);
	wait_port_state(&s, 0, 4 /* failed */);
	assert_non_null(strstr(port_status(&s, 0).last_error, reason));
	assert_true(server_log_contains(&s, reason, 2000));
	assert_int_equal(port_status(&s, 1).state, 3 /* running */);
	assert_int_equal(vnd_device_failed(good), 0);
	expect_lone_sender_flows(&s, good, 1);
	expect_recovery(&s, bad, good);
	vnd_close(bad);
	vnd_close(good);
	server_stop(&s);
}

static void test_bad_rx_chain(void **state)
{
	(void)state;
	bad_rx_chain(false, 0, "wrong direction");
	bad_rx_chain(true, 0, "wrong direction");
	bad_rx_chain(true, 1, "buffer id out of range");
}

/* Packed descriptors whose AVAIL and USED bits lie so that they do not
 * look available: a driver that writes them stalls its own TX ring and
 * nothing else. Nothing of them is taken, the port is not failed, the
 * server does not spin, the other direction runs. */
static void test_packed_flags_that_stall_the_liar(void **state)
{
	struct vnd_config cfg;
	struct server s;
	struct vnd *liar, *good;
	struct vnd_raw_chain c;
	static uint8_t buf[2048];
	uint16_t avail;
	struct vring_packed_desc *p;
	unsigned got = 0, sent = 0;
	uint32_t seq;

	(void)state;
	vnd_config_init(&cfg);
	cfg.features |= 1ull << VND_F_RING_PACKED;
	server_start(&s, NULL);
	liar = client_open(&s, NULL, &cfg);
	good = client_open(&s, NULL, &cfg);
	memset(vnd_raw_scratch(liar, &(size_t){ 0 }), 0, 12 + 100);
	/* Marked available on the other lap (both bits flipped), then in the
	 * next slot as used (AVAIL and USED both as the wrap counter): neither
	 * is available, and the server stops at the first. */
	for (int lie = 0; lie < 2; lie++) {
		c = take_slots(liar, 1);
		p = vnd_raw_packed_slot(liar, TX, &c, 0, &avail);
		*p = (struct vring_packed_desc){ scratch_gpa(liar, 0), 12 + 100, c.id, 0 };
		__atomic_store_n(&p->flags,
				 (uint16_t)(lie == 1 ? (avail & 0x80 ? 0x8080 : 0) : avail ^ 0x8080),
				 __ATOMIC_RELEASE);
		vnd_kick(liar);
		/* The server looked (the kick is counted) and took nothing. */
		for (uint64_t end = now_ms() + 3000;
		     port_status(&s, 0).counter[VNP_CTR_KICKS] == 0 && now_ms() < end;)
			usleep(1000);
		assert_true(port_status(&s, 0).counter[VNP_CTR_KICKS] > 0);
	}
	assert_int_equal(port_status(&s, 0).counter[VNP_CTR_TX_PACKETS], 0);
	assert_int_equal(port_status(&s, 0).counter[VNP_CTR_DROP_BAD], 0);
	assert_int_equal(port_status(&s, 0).state, 3 /* running */);
	/* The other direction: the liar still receives. */
	while (got < 300) {
		ssize_t n;

		if (sent < 300 && vnd_send(good, buf, frame_fill(buf, 4, sent, 200), NULL) == 0)
			sent++;
		n = vnd_recv(liar, buf, sizeof buf, NULL);
		if (n == -EAGAIN) {
			assert_int_equal(vnd_wait(liar, 5000), 1);
			continue;
		}
		assert_true(frame_check(buf, (size_t)n, 4, &seq));
		assert_int_equal(seq, got);
		got++;
	}
	assert_int_equal(port_status(&s, 0).counter[VNP_CTR_TX_PACKETS], 0);
	assert_int_equal(port_status(&s, 0).state, 3 /* running */);
	assert_int_equal(vnd_device_failed(liar), 0);
	expect_recovery(&s, liar, good);
	vnd_close(liar);
	vnd_close(good);
	server_stop(&s);
}

/* A client that shrinks its shared memory under the server: the access
 * faults, and the fault fails that client's port, not the server. */
static void truncated_memory(bool packed)
{
	struct vnd_config cfg;
	struct server s;
	struct vnd *bad, *good;
	static uint8_t buf[2048];
	uint64_t off, size;
	int fd;

	vnd_config_init(&cfg);
	if (packed)
		cfg.features |= 1ull << VND_F_RING_PACKED;
	server_start(&s, NULL);
	bad = client_open(&s, NULL, &cfg);
	good = client_open(&s, NULL, &cfg);
	fd = vnd_raw_memfd(bad, 0, &off, &size);
	assert_int_equal(ftruncate(fd, 0), 0);
	/* The server writes into bad's RX buffers, which are gone now. */
	assert_int_equal(vnd_send(good, buf, frame_fill(buf, 1, 0, 1000), NULL), 0);
	wait_port_state(&s, 0, 4 /* failed */);
	assert_non_null(strstr(port_status(&s, 0).last_error, "faulted"));
	assert_true(server_alive(&s));
	expect_lone_sender_flows(&s, good, 1);
	vnd_close(bad);
	assert_true(server_log_contains(&s, "port0: released", 2000));
	/* A new client on the freed port gets a working link. */
	bad = client_open(&s, NULL, &cfg);
	expect_delivered(bad, good, 200, size_small, 10000);
	vnd_close(bad);
	vnd_close(good);
	server_stop(&s);
}

static void test_truncated_memory(void **state)
{
	(void)state;
	truncated_memory(false);
	truncated_memory(true);
}

/* A few protocol violations: the connection (and with it an fd port) is
 * dropped, the server and the other port carry on. */
static void test_protocol_violations(void **state)
{
	struct vnd_config cfg;
	struct server s;
	struct vnd *bad, *good, *fresh;
	uint8_t junk[64] = { 0 };

	(void)state;
	vnd_config_init(&cfg);
	server_start(&s, NULL);
	good = client_open(&s, NULL, &cfg);

	/* A payload size over the maximum. */
	bad = client_open(&s, NULL, &cfg);
	assert_int_equal(vnd_raw_request(bad, VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, junk,
					 0, NULL, 0, NULL, 0),
			 0);
	{
		struct vhost_user_header h = { VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, 1u << 20 };

		assert_int_equal(write(vnd_raw_sock(bad), &h, sizeof h), (ssize_t)sizeof h);
	}
	assert_true(server_log_contains(&s, "claims 1048576 payload bytes", 2000));
	assert_true(server_log_contains(&s, "port1: released", 2000));
	vnd_close(bad);

	/* A wrong protocol version. */
	bad = client_open(&s, NULL, &cfg);
	{
		struct vhost_user_header h = { VHOST_USER_GET_FEATURES, 2, 0 };

		assert_int_equal(write(vnd_raw_sock(bad), &h, sizeof h), (ssize_t)sizeof h);
	}
	assert_true(server_log_contains(&s, "protocol version 2", 2000));
	vnd_close(bad);

	/* Throughout, the healthy port kept its state and the server lives. */
	assert_int_equal(port_status(&s, 0).state, 3 /* running */);
	fresh = client_open(&s, NULL, &cfg);
	{
		struct exchange_result r = exchange(good, fresh, 200, size_small, 10000);

		assert_int_equal(r.a_received + r.b_received, 400);
	}
	vnd_close(fresh);
	vnd_close(good);
	server_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_tx_chains),
		cmocka_unit_test(test_bad_tx_chains_packed),
		cmocka_unit_test(test_bad_rx_chain),
		cmocka_unit_test(test_packed_flags_that_stall_the_liar),
		cmocka_unit_test(test_truncated_memory),
		cmocka_unit_test(test_protocol_violations),
	};

	if (getenv("VNP_TEST_FILTER"))
		cmocka_set_test_filter(getenv("VNP_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
