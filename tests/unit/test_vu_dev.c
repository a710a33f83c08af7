/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user device session driven message by message, with fake
 * callbacks instead of sockets: the rule table's checks, negotiation,
 * memory, ring set-up and replies.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/virtio_net.h"
#include "vhost/vu_conn.h"
#include "vhost/vu_dev.h"

struct fake {
	struct vu_dev dev;
	uint8_t reply[600];
	size_t reply_len;
	int replies;
	int rings_changed;
	int stopping[VU_RINGS];
	int watched[VU_RINGS];
};

static uint64_t fake_features(void *ctx)
{
	(void)ctx;
	return vnet_offered_features(true);
}

static int fake_config(void *ctx, uint32_t off, uint32_t len, uint8_t *out)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 9 };

	(void)ctx;
	return vnet_config_read(mac, true, off, len, out);
}

static void fake_stopping(void *ctx, unsigned idx)
{
	((struct fake *)ctx)->stopping[idx]++;
}

static void fake_changed(void *ctx)
{
	((struct fake *)ctx)->rings_changed++;
}

static void fake_watch(void *ctx, unsigned idx, int fd)
{
	((struct fake *)ctx)->watched[idx] = fd;
}

static int fake_send(void *ctx, const void *buf, size_t len)
{
	struct fake *f = ctx;

	assert_true(len <= sizeof f->reply);
	memcpy(f->reply, buf, len);
	f->reply_len = len;
	f->replies++;
	return 0;
}

static const struct vu_dev_ops ops = {
	fake_features, fake_config, fake_stopping, fake_changed, fake_watch, fake_send,
};

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int setup(void **state)
{
	static struct fake f;

	memset(&f, 0, sizeof f);
	vu_dev_init(&f.dev, &ops, &f, "test", 256, 2, NULL);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	vu_dev_reset(&f->dev);
	return 0;
}

/* Send one message; descriptors the handler does not take are closed
 * here, as the connection code does. */
static int send_msg(struct fake *f, uint32_t req, uint32_t flags, const void *payload,
		    uint32_t size, const int *fds, int nfds)
{
	struct vu_msg msg;
	int rc;

	memset(&msg, 0, sizeof msg);
	msg.hdr.request = req;
	msg.hdr.flags = VHOST_USER_VERSION | flags;
	msg.hdr.size = size;
	if (size)
		memcpy(msg.payload, payload, size);
	for (int i = 0; i < VHOST_USER_MAX_FDS; i++)
		msg.fds[i] = i < nfds ? fds[i] : -1;
	msg.nfds = nfds;
	f->replies = 0;
	rc = vu_dev_handle(&f->dev, &msg);
	for (int i = 0; i < msg.nfds; i++)
		if (msg.fds[i] >= 0)
			close(msg.fds[i]);
	return rc;
}

static uint64_t reply_u64(struct fake *f)
{
	uint64_t v;
	struct vhost_user_header h;

	memcpy(&h, f->reply, sizeof h);
	assert_true(h.flags & VHOST_USER_REPLY_MASK);
	assert_int_equal(h.size, 8);
	memcpy(&v, f->reply + sizeof h, sizeof v);
	return v;
}

static void negotiate(struct fake *f, uint64_t features, uint64_t protocol)
{
	assert_int_equal(send_msg(f, VHOST_USER_SET_PROTOCOL_FEATURES, 0, &protocol, 8, NULL, 0), 0);
	assert_int_equal(send_msg(f, VHOST_USER_SET_FEATURES, 0, &features, 8, NULL, 0), 0);
	assert_false(f->dev.failed);
}

static void test_features(void **state)
{
	struct fake *f = *state;
	uint64_t offered, bad;

	assert_int_equal(send_msg(f, VHOST_USER_GET_FEATURES, 0, NULL, 0, NULL, 0), 0);
	offered = reply_u64(f);
	assert_true(offered & (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
	assert_true(offered & (1ull << VIRTIO_NET_F_MAC));
	assert_true(offered & (1ull << VIRTIO_F_VERSION_1));
	assert_false(offered & (1ull << VIRTIO_NET_F_HOST_TSO4));
	assert_int_equal(send_msg(f, VHOST_USER_GET_PROTOCOL_FEATURES, 0, NULL, 0, NULL, 0), 0);
	assert_int_equal(reply_u64(f), VU_PROTOCOL_FEATURES);
	/* Accepting a bit never offered fails the device. */
	bad = offered | (1ull << VIRTIO_NET_F_HOST_TSO4);
	assert_int_equal(send_msg(f, VHOST_USER_SET_FEATURES, 0, &bad, 8, NULL, 0), 0);
	assert_true(f->dev.failed);
	assert_non_null(strstr(f->dev.last_error, "not offered"));
}

static void test_reply_ack(void **state)
{
	struct fake *f = *state;
	uint64_t v = 1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK;

	negotiate(f, 1ull << VHOST_USER_F_PROTOCOL_FEATURES, v);
	/* A good request with NEED_REPLY is acknowledged with 0... */
	assert_int_equal(send_msg(f, VHOST_USER_SET_OWNER, VHOST_USER_NEED_REPLY_MASK, NULL, 0,
				  NULL, 0), 0);
	assert_int_equal(f->replies, 1);
	assert_int_equal(reply_u64(f), 0);
	/* ...an unknown one, a wrong size, a ring that does not exist: non-zero. */
	assert_int_equal(send_msg(f, 63, VHOST_USER_NEED_REPLY_MASK, NULL, 0, NULL, 0), 0);
	assert_int_not_equal(reply_u64(f), 0);
	assert_int_equal(send_msg(f, VHOST_USER_SET_FEATURES, VHOST_USER_NEED_REPLY_MASK, &v, 4,
				  NULL, 0), 0);
	assert_int_not_equal(reply_u64(f), 0);
	{
		struct vhost_user_vring_state st = { 2, 256 };

		assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_NUM, VHOST_USER_NEED_REPLY_MASK,
					  &st, sizeof st, NULL, 0), 0);
		assert_int_not_equal(reply_u64(f), 0);
	}
	/* Without NEED_REPLY nothing is sent. */
	assert_int_equal(send_msg(f, VHOST_USER_SET_OWNER, 0, NULL, 0, NULL, 0), 0);
	assert_int_equal(f->replies, 0);
	/* A wrong protocol version ends the session. */
	{
		struct vu_msg msg = { .hdr = { VHOST_USER_GET_FEATURES, 2, 0 }, .nfds = 0 };

		assert_int_equal(vu_dev_handle(&f->dev, &msg), -EPROTO);
	}
}

static void test_ring_size_limit(void **state)
{
	struct fake *f = *state;
	struct vhost_user_vring_state st = { 0, 512 };

	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_NUM, 0, &st, sizeof st, NULL, 0), 0);
	assert_true(f->dev.failed);
	assert_non_null(strstr(f->dev.last_error, "at most 256"));
	vu_dev_reset(&f->dev);
	st.num = 100;
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_NUM, 0, &st, sizeof st, NULL, 0), 0);
	assert_true(f->dev.failed);
	vu_dev_reset(&f->dev);
	st.num = 0;
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_NUM, 0, &st, sizeof st, NULL, 0), 0);
	assert_true(f->dev.failed);
	vu_dev_reset(&f->dev);
	st.num = 256;
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_NUM, 0, &st, sizeof st, NULL, 0), 0);
	assert_false(f->dev.failed);
	assert_int_equal(f->dev.ring[0].num, 256);
}

static void test_ring_fd_rules(void **state)
{
	struct fake *f = *state;
	int before = count_fds();
	int efd = eventfd(0, EFD_CLOEXEC), pipefd[2];
	uint64_t v;

	assert_int_equal(pipe(pipefd), 0);
	/* "no fd" with an fd attached: refused, and the fd is closed. */
	v = 1 | VHOST_USER_VRING_NOFD_MASK;
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_CALL, 0, &v, 8, &efd, 1), 0);
	assert_int_equal(f->dev.ring[1].call_fd, -1);
	/* Stray bits in the payload, or a ring index past the last ring. */
	efd = eventfd(0, EFD_CLOEXEC);
	v = 1 | (1ull << 20);
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_CALL, 0, &v, 8, &efd, 1), 0);
	assert_int_equal(f->dev.ring[1].call_fd, -1);
	efd = eventfd(0, EFD_CLOEXEC);
	v = 2;
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_KICK, 0, &v, 8, &efd, 1), 0);
	/* A pipe is not an eventfd. */
	v = 0;
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_KICK, 0, &v, 8, &pipefd[0], 1), 0);
	assert_true(f->dev.failed);
	assert_non_null(strstr(f->dev.last_error, "not an eventfd"));
	close(pipefd[1]);
	vu_dev_reset(&f->dev);
	/* A good eventfd is kept (and watched, for a kick). */
	efd = eventfd(0, EFD_CLOEXEC);
	v = 0;
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_KICK, 0, &v, 8, &efd, 1), 0);
	assert_int_equal(f->watched[0], efd);
	assert_int_equal(f->dev.ring[0].kick_fd, efd);
	vu_dev_reset(&f->dev);
	assert_int_equal(f->watched[0], -1);
	/* Everything closed in the end: no descriptor leaked. */
	assert_int_equal(count_fds(), before);
}

static int region_fd(uint64_t size)
{
	int fd = memfd_create("vu", MFD_CLOEXEC);

	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static void set_mem_table(struct fake *f, unsigned n, uint64_t size, int *fds)
{
	uint8_t payload[8 + 8 * 32];
	struct vhost_user_mem_table_head head = { .nregions = n };

	memcpy(payload, &head, sizeof head);
	for (unsigned i = 0; i < n; i++) {
		struct vhost_user_region r = { 0x100000 + i * size, size, 0x7f0000000000 + i * size, 0 };

		memcpy(payload + 8 + i * 32, &r, 32);
		fds[i] = region_fd(size);
	}
	assert_int_equal(send_msg(f, VHOST_USER_SET_MEM_TABLE, 0, payload, 8 + n * 32, fds, (int)n), 0);
}

static void test_memory_and_ring_start(void **state)
{
	struct fake *f = *state;
	int fds[8], before = count_fds();
	struct vhost_user_vring_state st = { 0, 64 }, base = { 0, 7 };
	struct vhost_user_vring_addr addr = { .index = 0,
					      .desc_user_addr = 0x7f0000000000,
					      .avail_user_addr = 0x7f0000000000 + 1024,
					      .used_user_addr = 0x7f0000000000 + 2048 };
	uint64_t kick = 0, slots;
	int efd;

	negotiate(f, (1ull << VHOST_USER_F_PROTOCOL_FEATURES) | (1ull << VIRTIO_F_VERSION_1),
		  1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
	/* ds-max=2: three regions are too many. */
	set_mem_table(f, 3, 65536, fds);
	assert_true(f->dev.failed);
	assert_non_null(strstr(f->dev.last_error, "ds-max=2"));
	vu_dev_reset(&f->dev);
	negotiate(f, (1ull << VHOST_USER_F_PROTOCOL_FEATURES) | (1ull << VIRTIO_F_VERSION_1), 0);
	set_mem_table(f, 2, 65536, fds);
	assert_false(f->dev.failed);
	assert_int_equal(f->dev.mem.count, 2);
	assert_int_equal(send_msg(f, VHOST_USER_GET_MAX_MEM_SLOTS, 0, NULL, 0, NULL, 0), 0);
	slots = reply_u64(f);
	assert_int_equal(slots, 2);

	/* The ring starts once it has size, addresses, a kick and is enabled. */
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_NUM, 0, &st, sizeof st, NULL, 0), 0);
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_BASE, 0, &base, sizeof base, NULL, 0), 0);
	efd = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_KICK, 0, &kick, 8, &efd, 1), 0);
	assert_false(f->dev.ring[0].started); /* no addresses yet */
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_ADDR, 0, &addr, sizeof addr, NULL, 0), 0);
	assert_false(f->dev.ring[0].started); /* protocol features: not enabled yet */
	st.num = 1;
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_ENABLE, 0, &st, sizeof st, NULL, 0), 0);
	assert_true(f->dev.ring[0].started);
	assert_non_null(vu_dev_vq(&f->dev, 0));
	assert_int_equal(f->dev.ring[0].vq.last_avail, 7);

	/* GET_VRING_BASE stops the ring and tells where it stopped. */
	f->dev.ring[0].vq.last_avail = 12;
	assert_int_equal(send_msg(f, VHOST_USER_GET_VRING_BASE, 0, &st, sizeof st, NULL, 0), 0);
	assert_false(f->dev.ring[0].started);
	assert_int_equal(f->stopping[0], 1);
	{
		struct vhost_user_vring_state r;

		memcpy(&r, f->reply + 12, sizeof r);
		assert_int_equal(r.index, 0);
		assert_int_equal(r.num, 12);
	}
	/* Removing the region that holds the ring of a restarted ring fails
	 * the port; removing an unknown region is only refused. */
	efd = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_KICK, 0, &kick, 8, &efd, 1), 0);
	assert_true(f->dev.ring[0].started);
	{
		struct vhost_user_single_region one = { 0, { 0x900000, 4096, 0x1000, 0 } };

		assert_int_equal(send_msg(f, VHOST_USER_REM_MEM_REG, 0, &one, sizeof one, NULL, 0), 0);
		assert_false(f->dev.failed);
		one.region = (struct vhost_user_region){ 0x100000, 65536, 0x7f0000000000, 0 };
		assert_int_equal(send_msg(f, VHOST_USER_REM_MEM_REG, 0, &one, sizeof one, NULL, 0), 0);
		assert_true(f->dev.failed);
		assert_non_null(strstr(f->dev.last_error, "outside the client's memory"));
	}
	vu_dev_reset(&f->dev);
	assert_int_equal(count_fds(), before);
}

static void test_ring_addresses_checked(void **state)
{
	struct fake *f = *state;
	int fds[8];
	struct vhost_user_vring_state st = { 1, 64 };
	struct vhost_user_vring_addr addr = { .index = 1,
					      .desc_user_addr = 0x7f0000000000 + 8, /* misaligned */
					      .avail_user_addr = 0x7f0000000000 + 1024,
					      .used_user_addr = 0x7f0000000000 + 2048 };
	uint64_t kick = 1 | VHOST_USER_VRING_NOFD_MASK;

	negotiate(f, 1ull << VIRTIO_F_VERSION_1, 0);
	set_mem_table(f, 1, 65536, fds);
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_NUM, 0, &st, sizeof st, NULL, 0), 0);
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_ADDR, 0, &addr, sizeof addr, NULL, 0), 0);
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_KICK, 0, &kick, 8, NULL, 0), 0);
	assert_true(f->dev.failed);
	assert_non_null(strstr(f->dev.last_error, "misaligned"));
	vu_dev_reset(&f->dev);

	negotiate(f, 1ull << VIRTIO_F_VERSION_1, 0);
	set_mem_table(f, 1, 65536, fds);
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_NUM, 0, &st, sizeof st, NULL, 0), 0);
	addr.desc_user_addr = 0x7f0000000000 + 65536 - 512; /* runs off the end */
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_ADDR, 0, &addr, sizeof addr, NULL, 0), 0);
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_KICK, 0, &kick, 8, NULL, 0), 0);
	assert_true(f->dev.failed);
	/* A polled ring ("no fd" kick) without protocol features starts at once. */
	vu_dev_reset(&f->dev);
	negotiate(f, 1ull << VIRTIO_F_VERSION_1, 0);
	set_mem_table(f, 1, 65536, fds);
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_NUM, 0, &st, sizeof st, NULL, 0), 0);
	addr.desc_user_addr = 0x7f0000000000;
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_ADDR, 0, &addr, sizeof addr, NULL, 0), 0);
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_KICK, 0, &kick, 8, NULL, 0), 0);
	assert_false(f->dev.failed);
	assert_true(f->dev.ring[1].started);
	assert_int_equal(f->dev.ring[1].kick_fd, -1);
}

static void test_config(void **state)
{
	struct fake *f = *state;
	uint8_t req[12 + 6] = { 0 };
	struct vhost_user_config_head head = { 0, 6, 0 };
	struct vhost_user_header h;

	memcpy(req, &head, sizeof head);
	assert_int_equal(send_msg(f, VHOST_USER_GET_CONFIG, 0, req, sizeof req, NULL, 0), 0);
	memcpy(&h, f->reply, sizeof h);
	assert_int_equal(h.size, 18);
	assert_memory_equal(f->reply + 12 + 12, ((uint8_t[]){ 2, 0, 0, 0, 0, 9 }), 6);
	/* Out of the config space: an empty answer. */
	head.offset = 255;
	memcpy(req, &head, sizeof head);
	assert_int_equal(send_msg(f, VHOST_USER_GET_CONFIG, 0, req, sizeof req, NULL, 0), 0);
	memcpy(&h, f->reply, sizeof h);
	assert_int_equal(h.size, 12);
	/* A size that does not match the payload: still answered (the client waits). */
	assert_int_equal(send_msg(f, VHOST_USER_GET_CONFIG, 0, req, 12, NULL, 0), 0);
	assert_int_equal(f->replies, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_size_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_fd_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_and_ring_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_addresses_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
