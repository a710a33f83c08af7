/* SPDX-License-Identifier: MIT */
/*
 * The attack catalogue: hostile vhost-user clients and control clients,
 * with split rings and, where an attack has a counterpart there, packed.
 * Each case checks that the server names the reason in its log, refuses or
 * fails only the offender, keeps forwarding for a healthy pair, and ends
 * within its descriptor and memory budget.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl/ctl_client.h"
#include "ctl/ctl_proto.h"
#include "harness.h"
#include "util/unix_socket.h"
#include "vhost/vhost_user_proto.h"
#include "vnd_raw.h"

#define NEED_REPLY (VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK)
#define F_PROTOCOL (1ull << VHOST_USER_F_PROTOCOL_FEATURES)
#define F_V1 (1ull << 32)
#define REPLY_ACK (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK)

static size_t size_small(uint32_t seq)
{
	return 60 + seq % 300;
}

/* A server with a healthy pair of clients on... none yet: the attacker
 * takes a port, the healthy pair is formed at the end to show the link
 * still works. Budgets are measured from a clean start. */
struct scene {
	struct server s;
	int fds_at_start;
	long kib_at_start;
};

static void scene_start(struct scene *sc)
{
	server_start(&sc->s, NULL);
	sc->fds_at_start = server_fd_count(&sc->s);
	sc->kib_at_start = server_private_kib(&sc->s);
}

/* The attacker is gone: both ports must be usable, the budget intact. */
static void scene_finish(struct scene *sc)
{
	struct vnd_config cfg;
	struct vnd *a, *b;

	vnd_config_init(&cfg);
	for (int i = 0; i < 200 && (port_status(&sc->s, 0).state || port_status(&sc->s, 1).state);
	     i++)
		usleep(10000);
	a = client_open(&sc->s, NULL, &cfg);
	b = client_open(&sc->s, NULL, &cfg);
	expect_delivered(a, b, 300, size_small, 10000);
	vnd_close(a);
	vnd_close(b);
	for (int i = 0; i < 200 && server_fd_count(&sc->s) != sc->fds_at_start; i++)
		usleep(10000);
	if (server_fd_count(&sc->s) != sc->fds_at_start) {
		char cmd[128];

		snprintf(cmd, sizeof cmd, "ls -l /proc/%d/fd >&2", (int)sc->s.pid);
		(void)!system(cmd);
	}
	assert_int_equal(server_fd_count(&sc->s), sc->fds_at_start);
	/* Growth is what an attack could cause. ASan's shadow and quarantine
	 * count as ours, so under it the bound is loose (its leak check at
	 * exit covers the rest) and the absolute budget does not apply. */
	assert_true(server_private_kib(&sc->s) < sc->kib_at_start + (UNDER_ASAN ? 65536 : 2048));
	if (!UNDER_ASAN)
		assert_true(server_private_kib(&sc->s) < 4096);
	assert_true(server_alive(&sc->s));
	server_stop(&sc->s);
}

/* A port taken by a raw client: returns its socket. */
static int raw_port(struct scene *sc)
{
	char msg[256];
	int fd = -1;

	assert_true(server_create(&sc->s, NULL, &fd, msg, sizeof msg) >= 0);
	return fd;
}

static void negotiate(int sock, uint64_t features, uint64_t protocol)
{
	uint64_t v;

	assert_int_equal(raw_send(sock, VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, NULL, 0, NULL, 0), 0);
	assert_int_equal(raw_reply(sock, VHOST_USER_GET_FEATURES, &v, 8, 2000), 8);
	assert_int_equal(raw_send(sock, VHOST_USER_SET_OWNER, VHOST_USER_VERSION, NULL, 0, NULL, 0), 0);
	assert_int_equal(raw_send(sock, VHOST_USER_SET_PROTOCOL_FEATURES, VHOST_USER_VERSION,
				  &protocol, 8, NULL, 0), 0);
	assert_int_equal(raw_send(sock, VHOST_USER_SET_FEATURES, VHOST_USER_VERSION, &features, 8,
				  NULL, 0), 0);
}

/* A request with NEED_REPLY under REPLY_ACK: the ack (0 = accepted). */
static uint64_t acked(int sock, uint32_t request, const void *payload, uint32_t size,
		      const int *fds, int nfds)
{
	uint64_t ack = 99;

	assert_int_equal(raw_send(sock, request, NEED_REPLY, payload, size, fds, nfds), 0);
	assert_int_equal(raw_reply(sock, request, &ack, 8, 2000), 8);
	return ack;
}

/* ---- messages ---------------------------------------------------------- */

static void test_truncated_and_malformed_messages(void **state)
{
	struct scene sc;
	int sock, half;

	(void)state;
	scene_start(&sc);
	/* Half a header, then silence: the server is not stuck on it. */
	half = raw_port(&sc);
	assert_int_equal(write(half, "\x01\x00\x00", 3), 3);
	sock = raw_port(&sc);
	negotiate(sock, F_PROTOCOL | F_V1, REPLY_ACK);
	/* A payload that does not fit the request, unknown requests. */
	assert_int_not_equal(acked(sock, VHOST_USER_SET_FEATURES, "abcd", 4, NULL, 0), 0);
	assert_true(server_log_contains(&sc.s, "SET_FEATURES with a payload of 4 bytes", 2000));
	assert_int_not_equal(acked(sock, 63, NULL, 0, NULL, 0), 0);
	assert_int_not_equal(acked(sock, 0x7fffffff, NULL, 0, NULL, 0), 0);
	assert_true(server_log_contains(&sc.s, "unknown request 2147483647", 2000));
	/* A ring index that does not exist. */
	{
		struct vhost_user_vring_state st = { 7, 256 };

		assert_int_not_equal(acked(sock, VHOST_USER_SET_VRING_NUM, &st, sizeof st, NULL, 0), 0);
	}
	/* The truncated client's end: its port goes, mid-header. */
	close(half);
	assert_true(server_log_contains(&sc.s, "port0: released", 2000));
	close(sock);
	scene_finish(&sc);
}

static void test_descriptor_abuse(void **state)
{
	struct scene sc;
	int sock, efd[12], baseline;
	uint64_t v = 0;

	(void)state;
	scene_start(&sc);
	sock = raw_port(&sc);
	negotiate(sock, F_PROTOCOL | F_V1, REPLY_ACK);
	baseline = server_fd_count(&sc.s);
	/* A descriptor where none belongs: refused, and not kept. */
	efd[0] = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(raw_send(sock, VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, NULL, 0, efd, 1), 0);
	assert_int_equal(raw_reply(sock, VHOST_USER_GET_FEATURES, &v, 8, 2000), 8);
	assert_true(server_log_contains(&sc.s, "GET_FEATURES with 1 descriptors", 2000));
	close(efd[0]);
	assert_int_equal(server_fd_count(&sc.s), baseline);
	/* A flood of descriptors: each call fd replaces the last one. */
	for (int i = 0; i < 2000; i++) {
		uint64_t ring = (uint64_t)(i & 1);
		int fd = eventfd(0, EFD_CLOEXEC);

		assert_int_equal(raw_send(sock, VHOST_USER_SET_VRING_CALL, VHOST_USER_VERSION, &ring,
					  8, &fd, 1), 0);
		close(fd);
	}
	assert_int_equal(acked(sock, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0), 0);
	assert_true(server_fd_count(&sc.s) <= baseline + 2);
	/* Too many descriptors on one message: the connection is dropped. */
	for (int i = 0; i < 12; i++)
		efd[i] = eventfd(0, EFD_CLOEXEC);
	raw_send(sock, VHOST_USER_SET_VRING_CALL, VHOST_USER_VERSION, &v, 8, efd, 12);
	for (int i = 0; i < 12; i++)
		close(efd[i]);
	assert_true(raw_closed(sock, 2000));
	assert_true(server_log_contains(&sc.s, "more than 8 descriptors", 2000));
	close(sock);
	scene_finish(&sc);
}

/* A client that floods requests and never reads the replies is dropped
 * instead of blocking the server. */
static void test_request_flood(void **state)
{
	struct scene sc;
	struct vhost_user_header h = { VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, 0 };
	static uint8_t burst[12 * 4096];
	int sock;

	(void)state;
	scene_start(&sc);
	sock = raw_port(&sc);
	for (size_t i = 0; i < sizeof burst; i += sizeof h)
		memcpy(burst + i, &h, sizeof h);
	fcntl(sock, F_SETFL, O_NONBLOCK);
	for (int i = 0; i < 400; i++)
		if (send(sock, burst, sizeof burst, MSG_NOSIGNAL) < 0 && errno != EAGAIN)
			break;
		else
			usleep(1000);
	assert_true(server_log_contains(&sc.s, "does not read its replies", 5000));
	close(sock);
	scene_finish(&sc);
}

/* ---- bring-up in the wrong order --------------------------------------- */

struct raw_mem {
	int fd;
	uint8_t *base;
	uint64_t size;
};

#define RAW_GPA 0x80000000ull
#define RING 64

static void raw_mem_init(struct raw_mem *m)
{
	m->size = 1 << 20;
	m->fd = memfd_create("raw", MFD_CLOEXEC);
	assert_int_equal(ftruncate(m->fd, (off_t)m->size), 0);
	m->base = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	assert_true(m->base != MAP_FAILED);
}

static void raw_mem_fini(struct raw_mem *m)
{
	munmap(m->base, m->size);
	close(m->fd);
}

static void send_mem_table(int sock, struct raw_mem *m, uint64_t gpa, uint64_t size, int fd,
			   uint64_t expect_ack_nonzero)
{
	uint8_t payload[8 + 32];
	struct vhost_user_mem_table_head head = { .nregions = 1 };
	struct vhost_user_region r = { gpa, size, (uint64_t)(uintptr_t)m->base, 0 };
	uint64_t ack;

	memcpy(payload, &head, sizeof head);
	memcpy(payload + 8, &r, sizeof r);
	ack = acked(sock, VHOST_USER_SET_MEM_TABLE, payload, sizeof payload, &fd, 1);
	if (expect_ack_nonzero)
		assert_int_not_equal(ack, 0);
	else
		assert_int_equal(ack, 0);
}

/* Ring ri at offset ri * 16 KiB of the memory. */
static void send_ring(int sock, struct raw_mem *m, uint32_t ri, bool kick_first)
{
	struct vhost_user_vring_state num = { ri, RING }, base = { ri, 0 }, en = { ri, 1 };
	uint8_t *ring = m->base + ri * 16384;
	struct vhost_user_vring_addr addr = {
		.index = ri,
		.desc_user_addr = (uint64_t)(uintptr_t)ring,
		.avail_user_addr = (uint64_t)(uintptr_t)(ring + 16 * RING),
		.used_user_addr = (uint64_t)(uintptr_t)(ring + 4096),
	};
	uint64_t idx = ri;
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC);

	if (kick_first)
		assert_int_equal(acked(sock, VHOST_USER_SET_VRING_KICK, &idx, 8, &kick, 1), 0);
	assert_int_equal(acked(sock, VHOST_USER_SET_VRING_NUM, &num, sizeof num, NULL, 0), 0);
	assert_int_equal(acked(sock, VHOST_USER_SET_VRING_BASE, &base, sizeof base, NULL, 0), 0);
	assert_int_equal(acked(sock, VHOST_USER_SET_VRING_ADDR, &addr, sizeof addr, NULL, 0), 0);
	assert_int_equal(acked(sock, VHOST_USER_SET_VRING_CALL, &idx, 8, &call, 1), 0);
	if (!kick_first)
		assert_int_equal(acked(sock, VHOST_USER_SET_VRING_KICK, &idx, 8, &kick, 1), 0);
	assert_int_equal(acked(sock, VHOST_USER_SET_VRING_ENABLE, &en, sizeof en, NULL, 0), 0);
	close(kick);
	close(call);
}

static void test_rings_before_memory(void **state)
{
	struct scene sc;
	struct raw_mem m;
	int sock;

	(void)state;
	scene_start(&sc);
	raw_mem_init(&m);
	sock = raw_port(&sc);
	negotiate(sock, F_PROTOCOL | F_V1, REPLY_ACK);
	/* Rings first (one even with its kick before its address), memory last. */
	send_ring(sock, &m, 0, true);
	send_ring(sock, &m, 1, false);
	assert_int_equal(port_status(&sc.s, 0).state, 2 /* connected, not running */);
	send_mem_table(sock, &m, RAW_GPA, m.size, m.fd, 0);
	assert_int_equal(port_status(&sc.s, 0).state, 3 /* running */);

	/* Taking away the region the rings live in fails the port, alone. */
	{
		struct vhost_user_single_region one = { 0, { RAW_GPA, m.size,
							    (uint64_t)(uintptr_t)m.base, 0 } };

		assert_int_equal(acked(sock, VHOST_USER_REM_MEM_REG, &one, sizeof one, NULL, 0), 0);
		assert_int_equal(port_status(&sc.s, 0).state, 4 /* failed */);
		assert_non_null(strstr(port_status(&sc.s, 0).last_error, "outside the client's memory"));
	}
	close(sock);
	raw_mem_fini(&m);
	scene_finish(&sc);
}

/* ---- memory tables ------------------------------------------------------ */

static void test_bad_memory_tables(void **state)
{
	struct scene sc;
	struct raw_mem m;
	int sock, pipefd[2], sv[2];

	(void)state;
	scene_start(&sc);
	raw_mem_init(&m);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	sock = raw_port(&sc);
	negotiate(sock, F_PROTOCOL | F_V1, REPLY_ACK);
	send_mem_table(sock, &m, RAW_GPA, 0, m.fd, 1);                      /* zero size */
	send_mem_table(sock, &m, UINT64_MAX - 4095, m.size, m.fd, 1);       /* wraps */
	send_mem_table(sock, &m, RAW_GPA, m.size * 2, m.fd, 1);             /* past the file */
	send_mem_table(sock, &m, RAW_GPA, 4096, pipefd[0], 1);              /* a pipe */
	send_mem_table(sock, &m, RAW_GPA, 4096, sv[0], 1);                  /* a socket */
	assert_true(server_log_contains(&sc.s, "not a shared-memory file", 2000));
	{
		/* Two regions claiming the same guest addresses. */
		uint8_t payload[8 + 64];
		struct vhost_user_mem_table_head head = { .nregions = 2 };
		struct vhost_user_region r0 = { RAW_GPA, 8192, (uint64_t)(uintptr_t)m.base, 0 };
		struct vhost_user_region r1 = { RAW_GPA + 4096, 8192, 0x1000000, 0 };
		int fds[2] = { m.fd, m.fd };

		memcpy(payload, &head, 8);
		memcpy(payload + 8, &r0, 32);
		memcpy(payload + 40, &r1, 32);
		assert_int_not_equal(acked(sock, VHOST_USER_SET_MEM_TABLE, payload, sizeof payload,
					   fds, 2), 0);
		assert_true(server_log_contains(&sc.s, "overlaps", 2000));
	}
	close(sock);
	close(pipefd[0]);
	close(pipefd[1]);
	close(sv[0]);
	close(sv[1]);
	raw_mem_fini(&m);
	scene_finish(&sc);
}

static void test_bad_ring_addresses(void **state)
{
	struct scene sc;
	struct raw_mem m;
	int sock, kick;
	struct vhost_user_vring_state num = { 0, RING }, en = { 0, 1 };
	struct vhost_user_vring_addr addr = { .index = 0 };
	uint64_t idx = 0;

	(void)state;
	scene_start(&sc);
	raw_mem_init(&m);
	sock = raw_port(&sc);
	negotiate(sock, F_PROTOCOL | F_V1, REPLY_ACK);
	send_mem_table(sock, &m, RAW_GPA, m.size, m.fd, 0);
	/* The used ring's address is a guest-physical one: outside, as a uva. */
	addr.desc_user_addr = (uint64_t)(uintptr_t)m.base;
	addr.avail_user_addr = (uint64_t)(uintptr_t)m.base + 4096;
	addr.used_user_addr = RAW_GPA + 8192;
	kick = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(acked(sock, VHOST_USER_SET_VRING_NUM, &num, sizeof num, NULL, 0), 0);
	assert_int_equal(acked(sock, VHOST_USER_SET_VRING_ADDR, &addr, sizeof addr, NULL, 0), 0);
	assert_int_equal(acked(sock, VHOST_USER_SET_VRING_KICK, &idx, 8, &kick, 1), 0);
	assert_int_equal(acked(sock, VHOST_USER_SET_VRING_ENABLE, &en, sizeof en, NULL, 0), 0);
	assert_int_equal(port_status(&sc.s, 0).state, 4 /* failed */);
	assert_non_null(strstr(port_status(&sc.s, 0).last_error, "lies outside the client's memory"));
	close(kick);
	close(sock);
	raw_mem_fini(&m);
	scene_finish(&sc);
}

/* ---- packed rings set up wrong ----------------------------------------- */

#define F_PACKED (1ull << VND_F_RING_PACKED)
#define PRING 250 /* any size will do for a packed ring */

struct packed_ring_at {
	uint64_t desc, driver, device; /* offsets into the memory */
	uint32_t num, base;
};

/* A packed ring's set-up messages, each acknowledged as accepted (the
 * port may fail on any of them; the ack says the message was taken). */
static void send_packed_ring(int sock, struct raw_mem *m, uint32_t ri, const struct packed_ring_at *at)
{
	struct vhost_user_vring_state num = { ri, at->num }, base = { ri, at->base }, en = { ri, 1 };
	struct vhost_user_vring_addr addr = {
		.index = ri,
		.desc_user_addr = (uint64_t)(uintptr_t)(m->base + at->desc),
		.avail_user_addr = (uint64_t)(uintptr_t)(m->base + at->driver),
		.used_user_addr = (uint64_t)(uintptr_t)(m->base + at->device),
	};
	uint64_t idx = ri;
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC);

	(void)acked(sock, VHOST_USER_SET_VRING_NUM, &num, sizeof num, NULL, 0);
	(void)acked(sock, VHOST_USER_SET_VRING_BASE, &base, sizeof base, NULL, 0);
	(void)acked(sock, VHOST_USER_SET_VRING_ADDR, &addr, sizeof addr, NULL, 0);
	(void)acked(sock, VHOST_USER_SET_VRING_CALL, &idx, 8, &call, 1);
	(void)acked(sock, VHOST_USER_SET_VRING_KICK, &idx, 8, &kick, 1);
	(void)acked(sock, VHOST_USER_SET_VRING_ENABLE, &en, sizeof en, NULL, 0);
	close(kick);
	close(call);
}

/* The memory as one region, or as two adjacent halves (in guest-physical
 * and in the client's address space alike), the first region shorter by
 * shave bytes (the second, if any, starting there). A 4-byte area aligned
 * to 4 can straddle a region's end only where the end is not aligned. */
static void send_regions(int sock, struct raw_mem *m, bool halves, uint64_t shave)
{
	uint8_t payload[8 + 64];
	struct vhost_user_mem_table_head head = { .nregions = halves ? 2 : 1 };
	uint64_t first = (halves ? m->size / 2 : m->size) - shave;
	struct vhost_user_region r0 = { RAW_GPA, first, (uint64_t)(uintptr_t)m->base, 0 };
	struct vhost_user_region r1 = { RAW_GPA + first, m->size - first,
					(uint64_t)(uintptr_t)m->base + first, first };
	int fds[2] = { m->fd, m->fd };

	memcpy(payload, &head, 8);
	memcpy(payload + 8, &r0, 32);
	memcpy(payload + 40, &r1, 32);
	assert_int_equal(acked(sock, VHOST_USER_SET_MEM_TABLE, payload, halves ? 72 : 40, fds,
			       halves ? 2 : 1),
			 0);
}

/* Packed rings whose parts run off the client's memory, off the region
 * they start in (DPDK 22.11 writes past its mapping there), or start at a
 * base that does not fit: the port fails with the reason, alone; a
 * correct packed ring of a size no split ring has runs. */
static void test_bad_packed_rings(void **state)
{
	const uint64_t end = 1 << 20, half = end / 2;
	static const struct {
		const char *what;
		bool halves;
		uint64_t shave;
		struct packed_ring_at at;
		const char *reason;
	} cases[] = {
		{ "device area over the memory's end", false, 2,
		  { 0, 16 * PRING, end - 4, PRING, 0x80008000u }, "lies outside the client's memory" },
		{ "driver area over the memory's end", false, 2,
		  { 0, end - 4, 8192, PRING, 0x80008000u }, "lies outside the client's memory" },
		{ "device area past the memory's end", false, 0,
		  { 0, 16 * PRING, end, PRING, 0x80008000u }, "lies outside the client's memory" },
		{ "descriptor ring over the memory's end", false, 0,
		  { end - 16 * PRING + 16, 4096, 8192, PRING, 0x80008000u },
		  "lies outside the client's memory" },
		{ "device area across two regions", true, 2,
		  { 0, 16 * PRING, half - 4, PRING, 0x80008000u }, "lies outside the client's memory" },
		{ "driver area across two regions", true, 2,
		  { 0, half - 4, 8192, PRING, 0x80008000u }, "lies outside the client's memory" },
		{ "base beyond the ring", false, 0,
		  { 0, 16 * PRING, 8192, PRING, 0x8000u | PRING }, "does not fit a packed ring" },
		{ "used half of the base beyond the ring", false, 0,
		  { 0, 16 * PRING, 8192, PRING, 0x8000u | (0x8000u | (PRING + 1)) << 16 },
		  "does not fit a packed ring" },
		{ "misaligned device area", false, 0,
		  { 0, 16 * PRING, 8194, PRING, 0x80008000u }, "misaligned" },
	};
	struct scene sc;
	struct raw_mem m;

	(void)state;
	scene_start(&sc);
	raw_mem_init(&m);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int sock;

		print_message("packed ring: %s\n", cases[i].what);
		sock = raw_port(&sc);
		negotiate(sock, F_PROTOCOL | F_V1 | F_PACKED, REPLY_ACK);
		send_regions(sock, &m, cases[i].halves, cases[i].shave);
		send_packed_ring(sock, &m, 0, &cases[i].at);
		assert_int_equal(port_status(&sc.s, 0).state, 4 /* failed */);
		assert_non_null(strstr(port_status(&sc.s, 0).last_error, cases[i].reason));
		assert_true(server_log_contains(&sc.s, cases[i].reason, 2000));
		close(sock);
		for (uint64_t t = now_ms() + 3000; port_status(&sc.s, 0).state && now_ms() < t;)
			usleep(2000);
	}
	/* Right where it was wrong: a device area ending exactly at the
	 * region's end, rings of 250. */
	{
		struct packed_ring_at rx = { 0, 16 * PRING, half - 4, PRING, 0x80008000u };
		struct packed_ring_at tx = { 8192, 12288, half + 4096, PRING, 0x80008000u };
		int sock = raw_port(&sc);

		negotiate(sock, F_PROTOCOL | F_V1 | F_PACKED, REPLY_ACK);
		send_regions(sock, &m, true, 0);
		send_packed_ring(sock, &m, 0, &rx);
		send_packed_ring(sock, &m, 1, &tx);
		assert_int_equal(port_status(&sc.s, 0).state, 3 /* running */);
		close(sock);
	}
	raw_mem_fini(&m);
	scene_finish(&sc);
}

/* ---- the datapath against a client that rewrites its rings --------------- */

struct mutator {
	struct vnd *d;
	volatile bool stop;
	unsigned long rounds;
};

/* Packed rings: descriptors (address, length, id, flags: AVAIL and USED
 * included) and the driver's event area, at random. */
static void mutate_packed(struct vnd_raw_ring *r, uint64_t x, struct vnd *d)
{
	unsigned i = (unsigned)(x >> 20) % r->num;

	switch ((x >> 8) % 7) {
	case 0: r->ring[i].addr ^= 1ull << ((x >> 32) % 40); break;
	case 1: r->ring[i].len = (uint32_t)(x >> 16); break;
	case 2: r->ring[i].flags = (uint16_t)((x >> 40) & 0x8087); break;
	case 3: r->ring[i].id = (uint16_t)(x >> 48) % (r->num + 2); break;
	case 4: r->driver_event->flags = (uint16_t)(x >> 24) & 3; break;
	case 5: r->driver_event->off_wrap = (uint16_t)(x >> 24); break;
	case 6: vnd_kick(d); break;
	}
}

static void *mutate(void *arg)
{
	struct mutator *mu = arg;
	struct vnd_raw_ring tx, rx;
	uint64_t x = 88172645463325252ull;

	vnd_raw_ring(mu->d, 1, &tx);
	vnd_raw_ring(mu->d, 0, &rx);
	while (!mu->stop) {
		struct vnd_raw_ring *r = (x & 1) ? &tx : &rx;
		unsigned i;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (r->packed) {
			mutate_packed(r, x, mu->d);
			mu->rounds++;
			continue;
		}
		i = (unsigned)(x >> 20) % r->num;
		switch ((x >> 8) % 6) {
		case 0: r->desc[i].addr ^= 1ull << ((x >> 32) % 40); break;
		case 1: r->desc[i].len = (uint32_t)(x >> 16); break;
		case 2: r->desc[i].flags = (uint16_t)(x >> 40) & 7; break;
		case 3: r->desc[i].next = (uint16_t)(x >> 48); break;
		case 4: r->avail->ring[i] = (uint16_t)(x >> 24); break;
		case 5: vnd_kick(mu->d); break;
		}
		mu->rounds++;
	}
	return NULL;
}

/* The hostile client, in a process of its own: its rewrites may well
 * break its own driver library too, which must not take the test along. */
static void evil_client(int fd, unsigned ms, bool packed)
{
	struct vnd_config cfg;
	struct mutator mu = { 0 };
	static uint8_t buf[9000];
	pthread_t t;

	/* A crash here ends this process, not cmocka's runner in it. */
	signal(SIGSEGV, SIG_DFL);
	signal(SIGBUS, SIG_DFL);
	signal(SIGILL, SIG_DFL);
	signal(SIGFPE, SIG_DFL);
	signal(SIGABRT, SIG_DFL);
	vnd_config_init(&cfg);
	cfg.tx_layout = VND_TX_SCATTER;
	if (packed)
		cfg.features |= F_PACKED;
	if (vnd_open_fd(&mu.d, fd, &cfg) < 0)
		_exit(1);
	if (pthread_create(&t, NULL, mutate, &mu) != 0)
		_exit(1);
	for (uint64_t end = now_ms() + ms; now_ms() < end;) {
		vnd_send(mu.d, buf, 100 + (now_ms() % 8000), NULL);
		while (vnd_recv(mu.d, buf, sizeof buf, NULL) >= 0)
			;
	}
	_exit(0);
}

/* While a client rewrites its descriptors and avail ring at random under
 * live traffic in both directions, the server must not crash or touch
 * memory it was not given; failing that client's port is fine. */
static void rings_rewritten_during_copy(bool packed)
{
	struct vnd_config cfg;
	struct server s;
	struct vnd *good;
	static uint8_t buf[9000];
	char msg[256];
	int fd = -1, status, fds_at_start;
	pid_t pid;

	vnd_config_init(&cfg);
	if (packed)
		cfg.features |= F_PACKED;
	server_start(&s, NULL);
	fds_at_start = server_fd_count(&s);
	assert_int_equal(server_create(&s, NULL, &fd, msg, sizeof msg), 0);
	good = client_open(&s, NULL, &cfg);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		evil_client(fd, 3000, packed);
	close(fd);
	for (uint64_t end = now_ms() + 3000; now_ms() < end && server_alive(&s);) {
		vnd_send(good, buf, frame_fill(buf, 1, 0, 100 + (now_ms() % 8000)), NULL);
		while (vnd_recv(good, buf, sizeof buf, NULL) != -EAGAIN)
			;
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(server_alive(&s));
	print_message("evil client %s; its port %s\n",
		      WIFSIGNALED(status) ? "crashed itself" : "survived",
		      port_status(&s, 0).state == 4 ? "failed" : "ended");
	assert_int_equal(port_status(&s, 1).state, 3 /* the good one runs */);
	vnd_close(good);
	/* Both ports free again, and a fresh pair gets a working link. */
	{
		struct vnd *a, *b;

		for (int i = 0; i < 200 && (port_status(&s, 0).state || port_status(&s, 1).state); i++)
			usleep(10000);
		a = client_open(&s, NULL, &cfg);
		b = client_open(&s, NULL, &cfg);
		expect_delivered(a, b, 300, size_small, 10000);
		vnd_close(a);
		vnd_close(b);
	}
	for (int i = 0; i < 200 && server_fd_count(&s) != fds_at_start; i++)
		usleep(10000);
	assert_int_equal(server_fd_count(&s), fds_at_start);
	server_stop(&s);
}

static void test_rings_rewritten_during_copy(void **state)
{
	(void)state;
	rings_rewritten_during_copy(false);
}

/* The same with packed rings: descriptors, their AVAIL and USED bits,
 * ids and the event area rewritten at random. */
static void test_packed_rings_rewritten_during_copy(void **state)
{
	(void)state;
	rings_rewritten_during_copy(true);
}

/* A TX chain shorter than the virtio-net header is dropped, not fatal. */
static void short_header(bool packed)
{
	struct vnd_config cfg;
	struct server s;
	struct vnd *a, *b;
	struct vnd_raw_ring r;
	size_t size;
	uint16_t id;
	uint8_t *scratch;

	vnd_config_init(&cfg);
	if (packed)
		cfg.features |= F_PACKED;
	server_start(&s, NULL);
	a = client_open(&s, NULL, &cfg);
	b = client_open(&s, NULL, &cfg);
	vnd_raw_ring(a, 1, &r);
	scratch = vnd_raw_scratch(a, &size);
	if (packed) {
		struct vnd_raw_chain c;
		struct vring_packed_desc desc = { vnd_raw_gpa(a, scratch), 8, 0, 0 };

		assert_int_equal(vnd_raw_packed_take(a, 1, 1, &c), 0);
		desc.id = c.id;
		vnd_raw_packed_post(a, 1, &c, &desc);
	} else {
		assert_int_equal(vnd_raw_take_descs(a, 1, 1, &id), 0);
		r.desc[id] = (struct vring_desc){ vnd_raw_gpa(a, scratch), 8, 0, 0 };
		vnd_raw_publish(a, 1, id);
	}
	for (int i = 0; i < 200 && port_status(&s, 0).counter[VNP_CTR_DROP_BAD] == 0; i++)
		usleep(5000);
	assert_int_equal(port_status(&s, 0).counter[VNP_CTR_DROP_BAD], 1);
	assert_int_equal(port_status(&s, 0).state, 3 /* still running */);
	{
		struct exchange_result x = exchange(a, b, 100, size_small, 10000);

		assert_int_equal(x.a_received + x.b_received, 200);
	}
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

static void test_short_header(void **state)
{
	(void)state;
	short_header(false);
	short_header(true);
}

/* ---- the control endpoint ----------------------------------------------- */

static void test_control_endpoint_abuse(void **state)
{
	struct scene sc;
	int sock, idle, many[24];

	(void)state;
	scene_start(&sc);
	/* Garbage: the connection is closed. */
	sock = ctl_connect(sc.s.svr);
	assert_int_equal(write(sock, "GET / HTTP/1.0\r\n\r\n", 18), 18);
	assert_true(raw_closed(sock, 2000));
	close(sock);
	assert_true(server_log_contains(&sc.s, "malformed request header", 2000));
	/* An oversized request: an error, and the connection is closed. */
	{
		struct vnp_ctl_header h = { VNP_CTL_MAGIC, VNP_CTL_VERSION, VNP_CTL_CREATE, 1 << 20, 0 };

		sock = ctl_connect(sc.s.svr);
		assert_int_equal(write(sock, &h, sizeof h), (ssize_t)sizeof h);
		assert_true(raw_closed(sock, 2000));
		close(sock);
	}
	/* More clients than places: the newest take the places of those
	 * that waited longest, the server stays up (test_budgets holds the
	 * endpoint for longer and times the answers). */
	for (int i = 0; i < 24; i++)
		many[i] = ctl_connect(sc.s.svr);
	assert_true(server_log_contains(&sc.s, "control endpoint full", 2000));
	assert_true(raw_closed(many[0], 2000));
	assert_false(raw_closed(many[23], 0));
	for (int i = 0; i < 24; i++)
		close(many[i]);
	/* Until the server has seen all of them go, the next client could be
	 * turned away too (closed at once, not by the timeout below). */
	for (uint64_t deadline = now_ms() + 10000;
	     server_fd_count(&sc.s) != sc.fds_at_start && now_ms() < deadline;)
		usleep(10000);
	assert_int_equal(server_fd_count(&sc.s), sc.fds_at_start);
	/* Half-open (half a header, then nothing) and silent (nothing at
	 * all): both dropped after the 10 s timeout. */
	sock = ctl_connect(sc.s.svr);
	idle = ctl_connect(sc.s.svr);
	assert_int_equal(write(sock, "VN2", 3), 3);
	assert_true(raw_closed(sock, 15000));
	assert_true(raw_closed(idle, 2000));
	close(sock);
	close(idle);
	assert_true(server_log_contains(&sc.s, "did not finish its request for 10 s", 2000));
	assert_true(server_log_contains(&sc.s, "sent nothing for 10 s", 2000));
	scene_finish(&sc);
}

/* Another user cannot reach the control endpoint (mode 0600). */
static void test_control_endpoint_other_user(void **state)
{
	struct server s;
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip(); /* needs to become another user */
	server_start(&s, NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(ctl_connect(s.svr) == -EACCES ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	server_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_truncated_and_malformed_messages),
		cmocka_unit_test(test_descriptor_abuse),
		cmocka_unit_test(test_request_flood),
		cmocka_unit_test(test_rings_before_memory),
		cmocka_unit_test(test_bad_memory_tables),
		cmocka_unit_test(test_bad_ring_addresses),
		cmocka_unit_test(test_bad_packed_rings),
		cmocka_unit_test(test_rings_rewritten_during_copy),
		cmocka_unit_test(test_packed_rings_rewritten_during_copy),
		cmocka_unit_test(test_short_header),
		cmocka_unit_test(test_control_endpoint_abuse),
		cmocka_unit_test(test_control_endpoint_other_user),
	};

	if (getenv("VNP_TEST_FILTER"))
		cmocka_set_test_filter(getenv("VNP_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
