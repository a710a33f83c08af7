/* SPDX-License-Identifier: MIT */
/*
 * The limits a port enforces: ds-max (memory regions), the queue size from
 * -s, and trusted memory from -d.
 */
#include <errno.h>
#include <fcntl.h>
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

static size_t size_1500(uint32_t seq)
{
	return 60 + seq % 1441;
}

/* ds-max bounds the memory table, and is what GET_MAX_MEM_SLOTS answers. */
static void test_ds_max(void **state)
{
	const char *const four[] = { "ds-max=4", NULL };
	struct vnd_config cfg;
	struct server s;
	struct vnd *a = NULL, *b;
	uint64_t slots = 0;

	(void)state;
	server_start(&s, NULL);
	vnd_config_init(&cfg);
	cfg.regions = 3;
	/* Default ds-max=2: a table of three regions is refused. */
	assert_int_equal(client_try_open(&s, NULL, &cfg, &a), -EIO);
	assert_true(server_log_contains(&s, "memory table of 3 regions exceeds ds-max=2", 2000));

	/* Region by region (ADD_MEM_REG), the fifth of ds-max=4 is refused. */
	cfg.regions = 5;
	cfg.add_mem_reg = true;
	assert_int_equal(client_try_open(&s, four, &cfg, &a), -EIO);
	assert_true(server_log_contains(&s, "more memory regions than the port allows (ds-max=4)",
					2000));
	/* The client went away with its failed port: the port is free again. */
	assert_true(server_log_contains(&s, "port0: released", 2000));

	/* Within the limits it works, both ways of registering. */
	cfg.regions = 4;
	a = client_open(&s, four, &cfg);
	cfg.add_mem_reg = false;
	cfg.regions = 2;
	b = client_open(&s, NULL, &cfg);
	assert_int_equal(vnd_raw_request(a, VHOST_USER_GET_MAX_MEM_SLOTS, VHOST_USER_VERSION, NULL,
					 0, NULL, 0, &slots, sizeof slots),
			 8);
	assert_int_equal(slots, 4);
	expect_delivered(a, b, 300, size_1500, 20000);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* -s bounds the rings; the refusal names the limit. */
static void test_queue_size_limit(void **state)
{
	const char *const args[] = { "-s", "64", NULL };
	struct vnd_config cfg;
	struct server s;
	struct vnd *a = NULL, *b;

	(void)state;
	server_start(&s, args);
	vnd_config_init(&cfg);
	cfg.queue_size = 128;
	assert_int_equal(client_try_open(&s, NULL, &cfg, &a), -EIO);
	assert_true(server_log_contains(&s, "ring 0 size 128 refused: must be at most 64 and a power of 2",
					2000));
	assert_true(server_log_contains(&s, "QEMU: rx_queue_size/tx_queue_size", 2000));

	cfg.queue_size = 64;
	a = client_open(&s, NULL, &cfg);
	cfg.queue_size = 32;
	b = client_open(&s, NULL, &cfg);
	expect_delivered(a, b, 300, size_1500, 20000);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* With -d, only slices of the registered files are accepted. */
static void test_trusted_memory(void **state)
{
	char trusted_a[128], trusted_b[128], other[128], fdspec[32], dashd_a[160];
	struct vnd_config cfg;
	struct server s;
	struct vnd *a = NULL, *b = NULL;
	int fd_b;

	(void)state;
	snprintf(trusted_a, sizeof trusted_a, "/dev/shm/vnp-test-trusted-a-%d", getpid());
	snprintf(trusted_b, sizeof trusted_b, "/dev/shm/vnp-test-trusted-b-%d", getpid());
	snprintf(other, sizeof other, "/dev/shm/vnp-test-other-%d", getpid());
	for (const char *f = trusted_a; f; f = f == trusted_a ? trusted_b : NULL) {
		int fd = open(f, O_RDWR | O_CREAT | O_TRUNC, 0600);

		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, 64 << 20), 0);
		close(fd);
	}
	/* One by path, one as an inherited descriptor (fd:N). */
	fd_b = open(trusted_b, O_RDWR);
	assert_true(fd_b >= 0);
	snprintf(fdspec, sizeof fdspec, "fd:%d", fd_b);
	snprintf(dashd_a, sizeof dashd_a, "--register-ds=%s", trusted_a);
	{
		const char *const args[] = { dashd_a, "-d", fdspec, NULL };

		server_start(&s, args);
	}
	close(fd_b);
	assert_true(server_log_contains(&s, "trusted memory only", 2000));

	vnd_config_init(&cfg);
	/* memfd memory is refused... */
	assert_int_equal(client_try_open(&s, NULL, &cfg, &a), -EIO);
	assert_true(server_log_contains(&s, "not one of the trusted objects", 2000));
	/* ...and so is another file. */
	cfg.mem_path = other;
	assert_int_equal(client_try_open(&s, NULL, &cfg, &a), -EIO);

	cfg.mem_path = trusted_a;
	a = client_open(&s, NULL, &cfg);
	cfg.mem_path = trusted_b;
	cfg.regions = 2; /* two slices of the same trusted file */
	b = client_open(&s, NULL, &cfg);
	expect_delivered(a, b, 300, size_1500, 20000);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
	unlink(trusted_a);
	unlink(trusted_b);
	unlink(other);
}

/* A region that reaches past the end of the trusted file is refused too. */
static void test_trusted_memory_bounds(void **state)
{
	char path[128], dashd[160];
	struct vnd_config cfg;
	struct server s;
	struct vnd *a = NULL;
	int fd;

	(void)state;
	snprintf(path, sizeof path, "/dev/shm/vnp-test-small-%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(dashd, sizeof dashd, "-d%s", path);
	{
		const char *const args[] = { dashd, NULL };

		server_start(&s, args);
	}
	vnd_config_init(&cfg);
	cfg.mem_path = path;
	a = client_open(&s, NULL, &cfg);
	{
		/* A second memory table pointing past the file's end. */
		uint8_t payload[8 + 32];
		struct vhost_user_mem_table_head head = { .nregions = 1 };
		struct vhost_user_region r = { .guest_phys_addr = 0x40000000, .memory_size = 1ull << 40,
					       .userspace_addr = 0x7f0000000000, .mmap_offset = 0 };
		uint64_t off, size, ack = 0;
		int mfd = vnd_raw_memfd(a, 0, &off, &size);

		memcpy(payload, &head, sizeof head);
		memcpy(payload + sizeof head, &r, sizeof r);
		assert_int_equal(vnd_raw_request(a, VHOST_USER_SET_MEM_TABLE,
						 VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK,
						 payload, sizeof payload, &mfd, 1, &ack, sizeof ack),
				 8);
		assert_int_not_equal(ack, 0);
		assert_true(server_log_contains(&s, "exceeds its file", 2000));
	}
	vnd_close(a);
	server_stop(&s);
	unlink(path);
}

/* mac= is offered as VIRTIO_NET_F_MAC and read back through GET_CONFIG. */
static void test_mac_in_config(void **state)
{
	const char *const with_mac[] = { "mac=2:0:0:ab:cd:e", NULL };
	struct vnd_config cfg;
	struct server s;
	struct vnd *a, *b;
	uint8_t mac[6];

	(void)state;
	vnd_config_init(&cfg);
	server_start(&s, NULL);
	a = client_open(&s, with_mac, &cfg);
	b = client_open(&s, NULL, &cfg);
	assert_int_equal(vnd_get_mac(a, mac), 0);
	assert_memory_equal(mac, ((uint8_t[]){ 2, 0, 0, 0xab, 0xcd, 0xe }), 6);
	assert_true(vnd_features(a) & (1ull << VND_F_MAC));
	/* Without mac= the feature is not offered. */
	assert_int_equal(vnd_get_mac(b, mac), -ENOENT);
	assert_false(vnd_features(b) & (1ull << VND_F_MAC));
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ds_max),
		cmocka_unit_test(test_queue_size_limit),
		cmocka_unit_test(test_trusted_memory),
		cmocka_unit_test(test_trusted_memory_bounds),
		cmocka_unit_test(test_mac_in_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
