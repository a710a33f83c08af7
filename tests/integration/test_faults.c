/* SPDX-License-Identifier: MIT */
/*
 * Faults: a client killed in the middle of a transfer, on either side, and
 * a soak of both directions at full speed with every frame checked; with
 * split rings, and with packed ones.
 *
 * The soak runs VNP_SOAK_SECONDS (default 8); for the long one:
 *   VNP_SOAK_SECONDS=600 meson test -C build --suite integration faults
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static size_t size_mixed(uint32_t seq)
{
	return 60 + (seq * 2654435761u >> 9) % 9000;
}

/* A child process that drives a port until it is killed: it sends
 * (stream 5) and receives whatever comes. */
static pid_t busy_child(struct server *s, bool send, bool packed)
{
	char msg[256];
	int fd = -1;
	pid_t pid;

	assert_true(server_create(s, NULL, &fd, msg, sizeof msg) >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static uint8_t buf[65536];
		struct vnd_config cfg;
		struct vnd *d;
		uint32_t seq = 0;

		signal(SIGSEGV, SIG_DFL);
		signal(SIGABRT, SIG_DFL);
		vnd_config_init(&cfg);
		if (packed)
			cfg.features |= 1ull << VND_F_RING_PACKED;
		if (vnd_open_fd(&d, fd, &cfg) < 0)
			_exit(1);
		for (;;) {
			if (send && vnd_send(d, buf, frame_fill(buf, 5, seq, size_mixed(seq)), NULL) == 0)
				seq++;
			while (vnd_recv(d, buf, sizeof buf, NULL) >= 0)
				;
			if (!send)
				vnd_wait(d, 10);
		}
	}
	close(fd);
	return pid;
}

/* Kill one side mid-transfer; the other sees drops, not a stall, and a new
 * client on the freed port gets the link back. */
static void kill_mid_transfer(bool kill_sender, bool packed)
{
	struct vnd_config cfg;
	static uint8_t buf[65536];
	struct server s;
	struct vnd *survivor;
	pid_t victim;
	unsigned sent = 0;
	uint64_t drops;

	vnd_config_init(&cfg);
	if (packed)
		cfg.features |= 1ull << VND_F_RING_PACKED;
	server_start(&s, NULL);
	victim = busy_child(&s, kill_sender, packed); /* port 0 */
	survivor = client_open(&s, NULL, &cfg); /* port 1 */
	/* Traffic in flight: the survivor sends to the victim, and reads. */
	for (uint64_t end = now_ms() + 500; now_ms() < end;) {
		if (vnd_send(survivor, buf, frame_fill(buf, 6, sent, size_mixed(sent)), NULL) == 0)
			sent++;
		while (vnd_recv(survivor, buf, sizeof buf, NULL) >= 0)
			;
	}
	assert_true(port_status(&s, 0).counter[kill_sender ? VNP_CTR_TX_PACKETS : VNP_CTR_RX_PACKETS] > 0);
	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
	assert_true(server_log_contains(&s, "port0: released", 2000));
	/* The survivor keeps sending: dropped and counted, never stalled. */
	drops = port_status(&s, 1).counter[VNP_CTR_DROP_NO_PEER];
	for (unsigned n = 0; n < 2000;) {
		int rc = vnd_send(survivor, buf, frame_fill(buf, 6, n, 200), NULL);

		if (rc == 0)
			n++;
		else
			assert_int_equal(vnd_wait(survivor, 2000), 1); /* stalled: fail */
	}
	for (int i = 0; i < 300 && port_status(&s, 1).counter[VNP_CTR_DROP_NO_PEER] < drops + 2000;
	     i++)
		usleep(10000);
	assert_true(port_status(&s, 1).counter[VNP_CTR_DROP_NO_PEER] >= drops + 2000);
	/* A new client on the freed port: the link works again. */
	while (vnd_recv(survivor, buf, sizeof buf, NULL) >= 0)
		;
	{
		struct vnd *fresh = client_open(&s, NULL, &cfg);
		expect_delivered(fresh, survivor, 500, size_mixed, 20000);
		vnd_close(fresh);
	}
	vnd_close(survivor);
	assert_true(server_alive(&s));
	server_stop(&s);
}

static void test_kill_sender_mid_transfer(void **state)
{
	(void)state;
	kill_mid_transfer(true, false);
}

static void test_kill_receiver_mid_transfer(void **state)
{
	(void)state;
	kill_mid_transfer(false, false);
}

/* The same with packed rings at both ends. */
static void test_kill_packed_sender_mid_transfer(void **state)
{
	(void)state;
	kill_mid_transfer(true, true);
}

static void test_kill_packed_receiver_mid_transfer(void **state)
{
	(void)state;
	kill_mid_transfer(false, true);
}

/* Both directions at full speed; every frame carries its sequence number
 * and content derived from it: none corrupted, duplicated, reordered or
 * lost while both ends run; descriptors and memory stay flat. */
static void soak(bool a_packed, bool b_packed)
{
	const char *env = getenv("VNP_SOAK_SECONDS");
	unsigned seconds = env ? (unsigned)atoi(env) : 8;
	unsigned long frames = 0, rounds = 0;
	struct vnd_config ca, cb;
	struct server s;
	struct vnd *a, *b;
	int fds0;
	long mem0, mem1;
	uint64_t end;

	vnd_config_init(&ca);
	vnd_config_init(&cb);
	if (a_packed)
		ca.features |= 1ull << VND_F_RING_PACKED;
	if (b_packed)
		cb.features |= 1ull << VND_F_RING_PACKED;
	server_start(&s, NULL);
	a = client_open(&s, NULL, &ca);
	b = client_open(&s, NULL, &cb);
	/* A first round warms everything up before the budget is taken. */
	assert_int_equal(exchange(a, b, 5000, size_mixed, 30000).bad, 0);
	fds0 = server_fd_count(&s);
	mem0 = server_private_kib(&s);
	end = now_ms() + seconds * 1000ull;
	while (now_ms() < end) {
		expect_delivered(a, b, 20000, size_mixed, 60000);
		frames += 40000;
		rounds++;
	}
	mem1 = server_private_kib(&s);
	print_message("soak: %lu frames in %u s, %lu rounds; server memory %ld -> %ld KiB\n",
		      frames, seconds, rounds, mem0, mem1);
	assert_int_equal(server_fd_count(&s), fds0);
	/* Outside ASan, whose quarantine lets freed memory linger (its leak
	 * check at exit covers the ASan build). */
	if (!UNDER_ASAN)
		assert_true(mem1 - mem0 < 64);
	assert_int_equal(port_status(&s, 0).counter[VNP_CTR_DROP_NO_PEER] +
				 port_status(&s, 0).counter[VNP_CTR_DROP_BAD] +
				 port_status(&s, 0).counter[VNP_CTR_DROP_TOO_BIG],
			 0);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

static void test_soak(void **state)
{
	(void)state;
	soak(false, false);
}

/* A packed end and a split one: both directions cross formats. */
static void test_soak_packed(void **state)
{
	(void)state;
	soak(true, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_sender_mid_transfer),
		cmocka_unit_test(test_kill_receiver_mid_transfer),
		cmocka_unit_test(test_soak),
		cmocka_unit_test(test_kill_packed_sender_mid_transfer),
		cmocka_unit_test(test_kill_packed_receiver_mid_transfer),
		cmocka_unit_test(test_soak_packed),
	};

	/* VNP_TEST_FILTER=*packed* runs those (cmocka's own filter). */
	if (getenv("VNP_TEST_FILTER"))
		cmocka_set_test_filter(getenv("VNP_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
