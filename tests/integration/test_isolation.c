/* SPDX-License-Identifier: MIT */
/*
 * A client that breaks the rules fails its own port only: the server logs
 * why, signals the client's error eventfd, keeps the other port working
 * (its packets are dropped, never stalled), and the offender recovers by
 * resetting its rings.
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

static bool wait_state(struct server *s, unsigned port, uint32_t state)
{
	for (uint64_t deadline = now_ms() + 3000; now_ms() < deadline; usleep(2000))
		if (port_status(s, port).state == state)
			return true;
	return false;
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
	struct exchange_result r;

	assert_int_equal(vnd_stop(bad), 0);
	assert_int_equal(vnd_restart(bad), 0);
	assert_true(wait_state(s, 0, 3 /* running */));
	r = exchange(bad, good, 200, size_small, 10000);
	assert_int_equal(r.a_received, 200);
	assert_int_equal(r.b_received, 200);
	assert_int_equal(r.bad, 0);
}

typedef void (*breaker)(struct vnd *d);

static void publish_chain(struct vnd *d, uint16_t head)
{
	vnd_raw_publish(d, TX, head);
}

/* A buffer in our scratch memory, as a guest-physical address. */
static uint64_t scratch_gpa(struct vnd *d, size_t offset)
{
	size_t size;
	uint8_t *p = vnd_raw_scratch(d, &size);

	assert_true(offset < size);
	return vnd_raw_gpa(d, p + offset);
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

struct breakage {
	const char *name;
	breaker fn;
	const char *reason; /* in the log and the port's last error */
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
static void test_bad_tx_chains(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof breakages / sizeof breakages[0]; i++) {
		const struct breakage *b = &breakages[i];
		struct vnd_config cfg;
		struct server s;
		struct vnd *bad, *good;
		struct vnp_ctl_port p;

		print_message("breakage: %s\n", b->name);
		vnd_config_init(&cfg);
		server_start(&s, NULL);
		bad = client_open(&s, NULL, &cfg);
		good = client_open(&s, NULL, &cfg);
		b->fn(bad);
		assert_true(wait_state(&s, 0, 4 /* failed */));
		p = port_status(&s, 0);
		assert_non_null(strstr(p.last_error, b->reason));
		assert_true(server_log_contains(&s, b->reason, 2000));
		assert_int_equal(vnd_device_failed(bad), 1);
		assert_int_equal(port_status(&s, 1).state, 3 /* running */);
		assert_int_equal(vnd_device_failed(good), 0);
		expect_lone_sender_flows(&s, good, 1);
		expect_recovery(&s, bad, good);
		assert_true(server_alive(&s));
		vnd_close(bad);
		vnd_close(good);
		server_stop(&s);
	}
}

/* A receiver whose RX buffers are read-only fails; the sender does not. */
static void test_bad_rx_chain(void **state)
{
	struct vnd_config cfg;
	struct server s;
	struct vnd *bad, *good;
	struct vnd_raw_ring r;
	static uint8_t buf[256];

	(void)state;
	vnd_config_init(&cfg);
	server_start(&s, NULL);
	bad = client_open(&s, NULL, &cfg);
	good = client_open(&s, NULL, &cfg);
	vnd_raw_ring(bad, RX, &r);
	for (unsigned i = 0; i < r.num; i++)
		r.desc[i].flags &= (uint16_t)~VRING_DESC_F_WRITE;
	assert_int_equal(vnd_send(good, buf, frame_fill(buf, 1, 0, 100), NULL), 0);
	assert_true(wait_state(&s, 0, 4 /* failed */));
	assert_non_null(strstr(port_status(&s, 0).last_error, "wrong direction"));
	assert_int_equal(port_status(&s, 1).state, 3 /* running */);
	assert_int_equal(vnd_device_failed(good), 0);
	expect_lone_sender_flows(&s, good, 1);
	expect_recovery(&s, bad, good);
	vnd_close(bad);
	vnd_close(good);
	server_stop(&s);
}

/* A client that shrinks its shared memory under the server: the access
 * faults, and the fault fails that client's port, not the server. */
static void test_truncated_memory(void **state)
{
	struct vnd_config cfg;
	struct server s;
	struct vnd *bad, *good;
	static uint8_t buf[2048];
	uint64_t off, size;
	int fd;

	(void)state;
	vnd_config_init(&cfg);
	server_start(&s, NULL);
	bad = client_open(&s, NULL, &cfg);
	good = client_open(&s, NULL, &cfg);
	fd = vnd_raw_memfd(bad, 0, &off, &size);
	assert_int_equal(ftruncate(fd, 0), 0);
	/* The server writes into bad's RX buffers, which are gone now. */
	assert_int_equal(vnd_send(good, buf, frame_fill(buf, 1, 0, 1000), NULL), 0);
	assert_true(wait_state(&s, 0, 4 /* failed */));
	assert_non_null(strstr(port_status(&s, 0).last_error, "faulted"));
	assert_true(server_alive(&s));
	expect_lone_sender_flows(&s, good, 1);
	vnd_close(bad);
	assert_true(server_log_contains(&s, "port0: released", 2000));
	/* A new client on the freed port gets a working link. */
	bad = client_open(&s, NULL, &cfg);
	{
		struct exchange_result r = exchange(bad, good, 200, size_small, 10000);

		assert_int_equal(r.a_received + r.b_received, 400);
		assert_int_equal(r.bad, 0);
	}
	vnd_close(bad);
	vnd_close(good);
	server_stop(&s);
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
		cmocka_unit_test(test_bad_rx_chain),
		cmocka_unit_test(test_truncated_memory),
		cmocka_unit_test(test_protocol_violations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
