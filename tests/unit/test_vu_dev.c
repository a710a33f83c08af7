/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user device session (vhost/vu_dev.c) driven message by
 * message with hand-built struct vu_msg and fake callbacks instead of a
 * socket: the rule table's checks (size, descriptors, ring index),
 * negotiation, REPLY_ACK, the memory table, ring set-up, start and stop,
 * failure and recovery, and config space.
 *
 * Every test ends with as many open descriptors as it began with:
 * descriptors a handler does not take are closed here, as the connection
 * code does, and those it takes are closed by vu_dev_reset().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/virtio_net.h"
#include "vhost/vu_conn.h"
#include "vhost/vu_dev.h"

#define PF (1ull << VHOST_USER_F_PROTOCOL_FEATURES)
#define V1 (1ull << VIRTIO_F_VERSION_1)
#define EVIDX (1ull << VIRTIO_RING_F_EVENT_IDX)
#define INDIR (1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define PACKED (1ull << VIRTIO_F_RING_PACKED)
#define ACK (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK)
#define NEED VHOST_USER_NEED_REPLY_MASK

#define GPA0 0x100000ull
#define UVA0 0x7f0000000000ull
#define REGION 65536ull

static const uint8_t MAC[6] = { 0x02, 0x00, 0x00, 0xab, 0xcd, 0xef };

struct fake {
	struct vu_dev dev;
	uint8_t reply[600];
	size_t reply_len;
	int replies;
	int rings_changed;
	int stopping[VU_RINGS_MAX];
	int watched[VU_RINGS_MAX];
	int fds_at_start;
	struct log_ratelimit ratelimit;
};

static uint64_t fake_features(void *ctx)
{
	(void)ctx;
	return vnet_offered_features(true, 1);
}

static int fake_config(void *ctx, uint32_t off, uint32_t len, uint8_t *out)
{
	(void)ctx;
	return vnet_config_read(MAC, true, 1, off, len, out);
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

/* As the link's ports: TX rings (odd) keep running while off. */
static bool fake_runs_while_off(void *ctx, unsigned idx)
{
	(void)ctx;
	return idx % 2 == 1;
}

static const struct vu_dev_ops ops = {
	.device_features = fake_features,
	.read_config = fake_config,
	.ring_stopping = fake_stopping,
	.runs_while_off = fake_runs_while_off,
	.rings_changed = fake_changed,
	.watch_kick = fake_watch,
	.send = fake_send,
};

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static struct fake fk;

static void fake_init(struct fake *f, unsigned max_queue_size, unsigned ds_max)
{
	int fds_at_start = f->fds_at_start;

	memset(f, 0, sizeof *f);
	f->fds_at_start = fds_at_start;
	f->watched[0] = f->watched[1] = -2;
	vu_dev_init(&f->dev, &ops, f, "test", max_queue_size, ds_max, NULL, &f->ratelimit);
}

static int setup(void **state)
{
	fk.fds_at_start = count_fds();
	fake_init(&fk, 256, 2);
	*state = &fk;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	vu_dev_reset(&f->dev);
	assert_int_equal(count_fds(), f->fds_at_start);
	return 0;
}

/* ---- sending messages ------------------------------------------------------ */

/* Hand one message to the device; descriptors it did not take are
 * closed here, as the connection code does. */
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
	f->reply_len = 0;
	rc = vu_dev_handle(&f->dev, &msg);
	for (int i = 0; i < msg.nfds; i++)
		if (msg.fds[i] >= 0)
			close(msg.fds[i]);
	return rc;
}

static int send_u64(struct fake *f, uint32_t req, uint32_t flags, uint64_t v, const int *fds,
		    int nfds)
{
	return send_msg(f, req, flags, &v, 8, fds, nfds);
}

static int send_state(struct fake *f, uint32_t req, uint32_t flags, uint32_t idx, uint32_t num)
{
	struct vhost_user_vring_state st = { idx, num };

	return send_msg(f, req, flags, &st, sizeof st, NULL, 0);
}

/* Send a ring-fd message (KICK/CALL/ERR) with a fresh eventfd. */
static int send_ring_eventfd(struct fake *f, uint32_t req, uint64_t v)
{
	int efd = eventfd(0, EFD_CLOEXEC);

	assert_true(efd >= 0);
	return send_u64(f, req, 0, v, &efd, 1);
}

/* The one reply sent for the last message: its header is a reply to req. */
static const uint8_t *reply_payload(struct fake *f, uint32_t req, uint32_t size)
{
	struct vhost_user_header h;

	assert_int_equal(f->replies, 1);
	memcpy(&h, f->reply, sizeof h);
	assert_int_equal(h.request, req);
	assert_int_equal(h.flags, VHOST_USER_VERSION | VHOST_USER_REPLY_MASK);
	assert_int_equal(h.size, size);
	assert_int_equal(f->reply_len, sizeof h + size);
	return f->reply + sizeof h;
}

static uint64_t reply_u64(struct fake *f, uint32_t req)
{
	uint64_t v;

	memcpy(&v, reply_payload(f, req, 8), 8);
	return v;
}

static void expect_error(struct fake *f, const char *needle)
{
	if (!strstr(f->dev.last_error, needle))
		fail_msg("last_error '%s' lacks '%s'", f->dev.last_error, needle);
}

/* The port failed, and its last error names what. */
static void expect_failed(struct fake *f, const char *needle)
{
	assert_true(f->dev.failed);
	expect_error(f, needle);
}

/* GET_VRING_BASE of ring idx: the base in its one reply, for that ring. */
static uint32_t get_vring_base(struct fake *f, uint32_t idx)
{
	struct vhost_user_vring_state st;

	assert_int_equal(send_state(f, VHOST_USER_GET_VRING_BASE, 0, idx, 0), 0);
	memcpy(&st, reply_payload(f, VHOST_USER_GET_VRING_BASE, 8), 8);
	assert_int_equal(st.index, idx);
	return st.num;
}

static void negotiate(struct fake *f, uint64_t features, uint64_t protocol)
{
	assert_int_equal(send_u64(f, VHOST_USER_SET_PROTOCOL_FEATURES, 0, protocol, NULL, 0), 0);
	assert_int_equal(send_u64(f, VHOST_USER_SET_FEATURES, 0, features, NULL, 0), 0);
	assert_false(f->dev.failed);
	assert_int_equal(f->dev.features, features);
}

/* ---- memory ------------------------------------------------------------------- */

static int region_fd(uint64_t size)
{
	int fd = memfd_create("vu", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

/* SET_MEM_TABLE of n regions of REGION bytes, adjacent from GPA0/UVA0,
 * each its own memfd (or the given fds when fds is not NULL). */
static void send_mem_table(struct fake *f, unsigned n, const int *given, int nfds)
{
	uint8_t payload[8 + 32 * VHOST_USER_MEM_TABLE_MAX + 32];
	struct vhost_user_mem_table_head head = { .nregions = n };
	int fds[VHOST_USER_MAX_FDS] = { 0 };

	memcpy(payload, &head, sizeof head);
	for (unsigned i = 0; i < n; i++) {
		struct vhost_user_region r = { GPA0 + i * REGION, REGION, UVA0 + i * REGION, 0 };

		memcpy(payload + 8 + i * 32, &r, 32);
	}
	for (int i = 0; i < nfds; i++)
		fds[i] = given ? given[i] : region_fd(REGION);
	assert_int_equal(send_msg(f, VHOST_USER_SET_MEM_TABLE, 0, payload, 8 + n * 32, fds, nfds), 0);
}

/* The ring layout used here: desc at +0, avail at +4096, used at +8192 of
 * region 0 (room for 256 entries). */
static struct vhost_user_vring_addr ring_addr(uint32_t idx)
{
	uint64_t base = UVA0 + idx * 16384;

	return (struct vhost_user_vring_addr){ .index = idx,
					       .desc_user_addr = base,
					       .avail_user_addr = base + 4096,
					       .used_user_addr = base + 8192 };
}

static void send_ring_addr(struct fake *f, const struct vhost_user_vring_addr *a)
{
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_ADDR, 0, a, sizeof *a, NULL, 0), 0);
}

/* A ring fully configured: size, base, addresses, a kick eventfd. */
static void configure_ring(struct fake *f, unsigned idx, uint32_t num, uint32_t base)
{
	struct vhost_user_vring_addr a = ring_addr(idx);

	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, idx, num), 0);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_BASE, 0, idx, base), 0);
	send_ring_addr(f, &a);
	assert_int_equal(send_ring_eventfd(f, VHOST_USER_SET_VRING_KICK, idx), 0);
}

/* A session with ring idx running: features negotiated (no protocol
 * features: enabled from the start), one region, the ring configured. */
static void start_ring(struct fake *f, uint64_t features, unsigned idx, uint32_t num,
		       uint32_t base)
{
	negotiate(f, features, 0);
	send_mem_table(f, 1, NULL, 1);
	configure_ring(f, idx, num, base);
	assert_true(f->dev.ring[idx].started);
	assert_false(f->dev.failed);
}

/* A session of two queue pairs (PROTOCOL_F_MQ) with all four rings set up
 * (64 entries) and enabled. */
static void start_two_pairs(struct fake *f)
{
	vu_dev_set_limits(&f->dev, 2, UINT64_MAX, 2);
	negotiate(f, PF | V1, ACK | (1ull << VHOST_USER_PROTOCOL_F_MQ));
	send_mem_table(f, 1, NULL, 1);
	for (unsigned i = 0; i < 4; i++) {
		configure_ring(f, i, 64, 0);
		assert_int_equal(send_state(f, VHOST_USER_SET_VRING_ENABLE, 0, i, 1), 0);
	}
}

/* A new session on a port with other limits (-s, ds-max). */
static void fake_restart(struct fake *f, unsigned max_queue_size, unsigned ds_max)
{
	vu_dev_reset(&f->dev);
	fake_init(f, max_queue_size, ds_max);
}

/* Each of these ring sizes is taken for ring 1 and the port stays well. */
static void expect_sizes_taken(struct fake *f, const uint32_t *sizes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 1, sizes[i]), 0);
		assert_false(f->dev.failed);
		assert_int_equal(f->dev.ring[1].num, sizes[i]);
	}
}

/* ---- negotiation ---------------------------------------------------------------- */

/* GET_FEATURES answers exactly the personality's features plus
 * PROTOCOL_FEATURES; GET_PROTOCOL_FEATURES exactly the offered set. */
static void test_get_features(void **state)
{
	struct fake *f = *state;
	uint64_t v;

	assert_int_equal(send_msg(f, VHOST_USER_GET_FEATURES, 0, NULL, 0, NULL, 0), 0);
	v = reply_u64(f, VHOST_USER_GET_FEATURES);
	assert_int_equal(v, vnet_offered_features(true, 1) | PF);
	assert_true(v & (1ull << VIRTIO_NET_F_MAC));
	assert_false(v & (1ull << VIRTIO_NET_F_MQ));
	/* QEMU may pad argument-less requests with a u64 of zero. */
	assert_int_equal(send_u64(f, VHOST_USER_GET_FEATURES, 0, 0, NULL, 0), 0);
	assert_int_equal(reply_u64(f, VHOST_USER_GET_FEATURES), vnet_offered_features(true, 1) | PF);

	assert_int_equal(send_msg(f, VHOST_USER_GET_PROTOCOL_FEATURES, 0, NULL, 0, NULL, 0), 0);
	v = reply_u64(f, VHOST_USER_GET_PROTOCOL_FEATURES);
	assert_int_equal(v, VU_PROTOCOL_FEATURES);
	assert_true(v & ACK);
	assert_true(v & (1ull << VHOST_USER_PROTOCOL_F_CONFIG));
	assert_true(v & (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS));
	/* MQ: GET_QUEUE_NUM answers the pairs the port has (queues=). */
	assert_true(v & (1ull << VHOST_USER_PROTOCOL_F_MQ));
	assert_int_equal(send_msg(f, VHOST_USER_GET_QUEUE_NUM, 0, NULL, 0, NULL, 0), 0);
	assert_int_equal(reply_u64(f, VHOST_USER_GET_QUEUE_NUM), 1);
	vu_dev_set_limits(&f->dev, 2, UINT64_MAX, 4);
	assert_int_equal(send_msg(f, VHOST_USER_GET_QUEUE_NUM, 0, NULL, 0, NULL, 0), 0);
	assert_int_equal(reply_u64(f, VHOST_USER_GET_QUEUE_NUM), 4);
	assert_int_equal(f->rings_changed, 0);
}

/* Accepting a feature never offered fails the device, the features stay
 * as they were; the same for protocol features. */
static void test_set_features_unoffered(void **state)
{
	struct fake *f = *state;
	uint64_t offered = vnet_offered_features(true, 1) | PF;

	assert_int_equal(send_u64(f, VHOST_USER_SET_FEATURES, 0, V1, NULL, 0), 0);
	assert_int_equal(f->dev.features, V1);
	assert_int_equal(send_u64(f, VHOST_USER_SET_FEATURES, 0,
				  offered | (1ull << VIRTIO_NET_F_MQ), NULL, 0),
			 0);
	expect_failed(f, "not offered");
	assert_int_equal(f->dev.features, V1);
	assert_int_equal(f->rings_changed, 1);
	vu_dev_reset(&f->dev);
	assert_false(f->dev.failed);
	assert_int_equal(f->dev.last_error[0], '\0');

	assert_int_equal(send_u64(f, VHOST_USER_SET_PROTOCOL_FEATURES, 0,
				  VU_PROTOCOL_FEATURES | (1ull << VHOST_USER_PROTOCOL_F_LOG_SHMFD), NULL,
				  0),
			 0);
	expect_failed(f, "protocol features");
	assert_int_equal(f->dev.protocol_features, 0);
}

/* A payload of the wrong size is refused (not obeyed, not fatal); a
 * request that has a reply of its own still gets one. */
static void test_size_mismatch(void **state)
{
	struct fake *f = *state;
	uint8_t big[16] = { 0xff, 0xff, 0xff, 0xff };

	assert_int_equal(send_msg(f, VHOST_USER_SET_FEATURES, 0, big, 4, NULL, 0), 0);
	assert_false(f->dev.failed);
	assert_int_equal(f->dev.features, 0);
	expect_error(f, "SET_FEATURES with a payload of 4 bytes");
	assert_int_equal(send_msg(f, VHOST_USER_SET_FEATURES, 0, big, 16, NULL, 0), 0);
	expect_error(f, "payload of 16 bytes");
	assert_int_equal(f->dev.features, 0);
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_NUM, 0, big, 12, NULL, 0), 0);
	expect_error(f, "SET_VRING_NUM");
	assert_int_equal(f->dev.ring[0].num, 0);
	assert_int_equal(send_msg(f, VHOST_USER_SET_VRING_ADDR, 0, big, 8, NULL, 0), 0);
	assert_false(f->dev.ring[0].addr_set);
	/* GET_FEATURES with 4 bytes: refused, but the client waits for an answer. */
	assert_int_equal(send_msg(f, VHOST_USER_GET_FEATURES, 0, big, 4, NULL, 0), 0);
	assert_int_equal(reply_u64(f, VHOST_USER_GET_FEATURES), 0);
	assert_false(f->dev.failed);
}

/* With REPLY_ACK negotiated, NEED_REPLY gets 0 for success and non-zero
 * for anything refused: unknown requests, wrong sizes, missing rings.
 * Without it, or without NEED_REPLY, nothing is sent. */
static void test_reply_ack(void **state)
{
	struct fake *f = *state;
	static const uint32_t unknown[] = { VHOST_USER_NONE, 26, 33, 63, VHOST_USER_REQUEST_MAX,
					    1000, 0xffffffffu };

	/* Not negotiated yet: NEED_REPLY is ignored. */
	assert_int_equal(send_msg(f, 63, NEED, NULL, 0, NULL, 0), 0);
	assert_int_equal(f->replies, 0);
	expect_error(f, "unknown request 63");
	assert_int_equal(send_msg(f, VHOST_USER_SET_OWNER, NEED, NULL, 0, NULL, 0), 0);
	assert_int_equal(f->replies, 0);

	negotiate(f, PF, ACK);
	assert_int_equal(send_msg(f, VHOST_USER_SET_OWNER, NEED, NULL, 0, NULL, 0), 0);
	assert_int_equal(reply_u64(f, VHOST_USER_SET_OWNER), 0);
	assert_true(f->dev.owned);
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
		assert_int_equal(send_msg(f, unknown[i], NEED, NULL, 0, NULL, 0), 0);
		assert_int_not_equal(reply_u64(f, unknown[i]), 0);
		assert_false(f->dev.failed);
	}
	assert_int_equal(send_msg(f, VHOST_USER_SET_FEATURES, NEED, &f->dev.features, 4, NULL, 0), 0);
	assert_int_not_equal(reply_u64(f, VHOST_USER_SET_FEATURES), 0);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, NEED, 2, 256), 0);
	assert_int_not_equal(reply_u64(f, VHOST_USER_SET_VRING_NUM), 0);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, NEED, 0, 256), 0);
	assert_int_equal(reply_u64(f, VHOST_USER_SET_VRING_NUM), 0);
	/* Unsupported requests we know: refused the same way. */
	assert_int_equal(send_msg(f, VHOST_USER_SET_LOG_FD, NEED, NULL, 0, NULL, 0), 0);
	assert_int_not_equal(reply_u64(f, VHOST_USER_SET_LOG_FD), 0);
	/* A request with a reply of its own gets only that, not an ack too. */
	assert_int_equal(send_msg(f, VHOST_USER_GET_FEATURES, NEED, NULL, 0, NULL, 0), 0);
	assert_int_equal(reply_u64(f, VHOST_USER_GET_FEATURES), vnet_offered_features(true, 1) | PF);
	/* Without NEED_REPLY nothing is sent, even for a refusal. */
	assert_int_equal(send_msg(f, 63, 0, NULL, 0, NULL, 0), 0);
	assert_int_equal(f->replies, 0);
}

/* A message of another protocol version ends the session: -EPROTO, no
 * reply. */
static void test_bad_version(void **state)
{
	struct fake *f = *state;

	for (uint32_t v = 0; v < 4; v++) {
		struct vu_msg msg;

		if (v == VHOST_USER_VERSION)
			continue;
		memset(&msg, 0, sizeof msg);
		msg.hdr = (struct vhost_user_header){ VHOST_USER_GET_FEATURES, v | NEED, 0 };
		assert_int_equal(vu_dev_handle(&f->dev, &msg), -EPROTO);
		assert_int_equal(f->replies, 0);
	}
}

/* ---- rings ------------------------------------------------------------------------ */

/* A ring size must be a power of 2 no larger than -s: anything else fails
 * the port with a message naming the limit. */
static void test_vring_num_limits(void **state)
{
	struct fake *f = *state;
	static const uint32_t bad[] = { 0, 3, 100, 255, 257, 512, 65536, 0x80000000u, 0xffffffffu };
	static const uint32_t good[] = { 1, 2, 64, 128, 256 };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 1, bad[i]), 0);
		expect_failed(f, "at most 256");
		expect_error(f, "power of 2");
		assert_int_equal(f->dev.ring[1].num, 0);
		vu_dev_reset(&f->dev);
	}
	expect_sizes_taken(f, good, sizeof good / sizeof good[0]);
	/* With -s 32768 the largest split ring is fine. */
	fake_restart(f, 32768, 2);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 0, 32768), 0);
	assert_false(f->dev.failed);
	assert_int_equal(f->dev.ring[0].num, 32768);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 0, 65536), 0);
	expect_failed(f, "at most 32768");
}

/* A ring beyond those the client may use (two, or two per pair the port
 * has once PROTOCOL_F_MQ is negotiated) fails the port, whatever the
 * message; stray bits in a u64 ring message too. Descriptors sent with
 * such messages are not kept (teardown counts them). */
static void ring_beyond(struct fake *f, uint32_t req, uint64_t idx, const char *rings)
{
	struct vhost_user_vring_addr a = ring_addr(0);

	switch (req) {
	case VHOST_USER_SET_VRING_ADDR:
		a.index = (uint32_t)idx;
		assert_int_equal(send_msg(f, req, 0, &a, sizeof a, NULL, 0), 0);
		break;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		assert_int_equal(send_ring_eventfd(f, req, idx), 0);
		break;
	default:
		assert_int_equal(send_state(f, req, 0, (uint32_t)idx, 1), 0);
		break;
	}
	expect_failed(f, rings);
	vu_dev_reset(&f->dev);
	assert_false(f->dev.failed);
}

static void test_ring_index_beyond_pairs(void **state)
{
	struct fake *f = *state;
	static const uint32_t reqs[] = { VHOST_USER_SET_VRING_NUM, VHOST_USER_SET_VRING_BASE,
					 VHOST_USER_SET_VRING_ENABLE, VHOST_USER_SET_VRING_ADDR,
					 VHOST_USER_GET_VRING_BASE, VHOST_USER_SET_VRING_KICK,
					 VHOST_USER_SET_VRING_CALL, VHOST_USER_SET_VRING_ERR };

	for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
		/* One pair: rings 0 and 1. */
		negotiate(f, PF, ACK);
		ring_beyond(f, reqs[i], 2, "it has 2 (1 queue pair)");
		/* Four pairs, but MQ not negotiated: still one. */
		vu_dev_set_limits(&f->dev, 2, UINT64_MAX, 4);
		negotiate(f, PF, ACK);
		ring_beyond(f, reqs[i], 2, "without PROTOCOL_F_MQ");
		/* With MQ: rings 0 to 7. */
		vu_dev_set_limits(&f->dev, 2, UINT64_MAX, 4);
		negotiate(f, PF, ACK | (1ull << VHOST_USER_PROTOCOL_F_MQ));
		ring_beyond(f, reqs[i], 8, "it has 8 (4 queue pairs)");
		vu_dev_set_limits(&f->dev, 2, UINT64_MAX, 1);
	}
	negotiate(f, PF, ACK);
	ring_beyond(f, VHOST_USER_SET_VRING_KICK, 0xff, "ring 255");
	/* Stray bits beside index and "no fd". */
	negotiate(f, PF, ACK);
	ring_beyond(f, VHOST_USER_SET_VRING_CALL, 1 | (1ull << 9), "SET_VRING_CALL");
	negotiate(f, PF, ACK);
	ring_beyond(f, VHOST_USER_SET_VRING_CALL, 1 | (1ull << 63), "SET_VRING_CALL");
	/* Within the pairs: fine. */
	vu_dev_set_limits(&f->dev, 2, UINT64_MAX, 4);
	negotiate(f, PF, ACK | (1ull << VHOST_USER_PROTOCOL_F_MQ));
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 7, 64), 0);
	assert_false(f->dev.failed);
	assert_int_equal(f->dev.ring[7].num, 64);
}

/* Several pairs: each ring starts when it is set up and enabled. A pair
 * turned off (the driver uses fewer, ethtool -L): its RX ring stops; its
 * TX ring is drained and runs on, off (what the driver still puts there
 * is taken and discarded, as vhost-user has a ring started but disabled
 * processed), and turned on again it goes on where it was. An RX ring
 * turned on again starts where it stopped. A port that fails recovers
 * once the client stopped every ring it had set up. */
static void test_mq_pairs(void **state)
{
	struct fake *f = *state;
	int changed;

	start_two_pairs(f);
	for (unsigned i = 0; i < 4; i++) {
		assert_non_null(vu_dev_vq(&f->dev, i));
		assert_true(vu_dev_ring_on(&f->dev, i));
	}
	/* The second pair off. */
	changed = f->rings_changed;
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_ENABLE, 0, 2, 0), 0);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_ENABLE, 0, 3, 0), 0);
	assert_null(vu_dev_vq(&f->dev, 2));
	assert_int_equal(f->stopping[3], 1);
	assert_non_null(vu_dev_vq(&f->dev, 3));
	assert_false(vu_dev_ring_on(&f->dev, 3));
	assert_true(f->rings_changed >= changed + 2);
	/* Off again: drained again, nothing else. */
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_ENABLE, 0, 3, 0), 0);
	assert_int_equal(f->stopping[3], 2);
	assert_non_null(vu_dev_vq(&f->dev, 3));
	assert_non_null(vu_dev_vq(&f->dev, 0));
	assert_non_null(vu_dev_vq(&f->dev, 1));
	/* On again: the TX ring as it ran, the RX ring where it stopped. */
	f->dev.ring[3].vq.last_avail = 7;
	f->dev.ring[2].base = 5; /* as GET_VRING_BASE would have said */
	changed = f->rings_changed;
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_ENABLE, 0, 3, 1), 0);
	assert_int_equal(f->rings_changed, changed + 1);
	assert_true(vu_dev_ring_on(&f->dev, 3));
	assert_int_equal(vq_base(&f->dev.ring[3].vq), 7);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_ENABLE, 0, 2, 1), 0);
	assert_int_equal(vq_base(&f->dev.ring[2].vq), 5);
	assert_non_null(vu_dev_vq(&f->dev, 2));
	/* On while on: nothing changes. */
	changed = f->rings_changed;
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_ENABLE, 0, 3, 1), 0);
	assert_int_equal(f->rings_changed, changed);
	assert_false(f->dev.failed);

	/* A TX ring that is off stops at GET_VRING_BASE like any. */
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_ENABLE, 0, 3, 0), 0);
	assert_int_equal(send_state(f, VHOST_USER_GET_VRING_BASE, 0, 3, 0), 0);
	assert_null(vu_dev_vq(&f->dev, 3));
	assert_int_equal(f->dev.ring[3].base, 7);

	/* Failed: the client must stop all four rings, not just the first
	 * pair, before the port may start again. */
	vu_dev_fail(&f->dev, "test");
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(send_state(f, VHOST_USER_GET_VRING_BASE, 0, i, 0), 0);
	assert_true(f->dev.failed);
	for (unsigned i = 2; i < 4; i++)
		assert_int_equal(send_state(f, VHOST_USER_GET_VRING_BASE, 0, i, 0), 0);
	assert_false(f->dev.failed);
}

/* PROTOCOL_F_MQ taken back while a ring of the second pair runs: that
 * ring would be out of every message's reach, so the port fails. */
static void test_mq_dropped_while_running(void **state)
{
	struct fake *f = *state;

	start_two_pairs(f);
	assert_non_null(vu_dev_vq(&f->dev, 2));
	assert_int_equal(send_u64(f, VHOST_USER_SET_PROTOCOL_FEATURES, 0, ACK, NULL, 0), 0);
	expect_failed(f, "drop PROTOCOL_F_MQ while ring 2 runs");
}

/* A ring of the second pair set up before any memory, then PROTOCOL_F_MQ
 * taken back: when memory arrives the ring stays stopped (no message could
 * reach it), the first pair starts; with PROTOCOL_F_MQ again it starts. */
static void test_mq_dropped_before_start(void **state)
{
	struct fake *f = *state;

	vu_dev_set_limits(&f->dev, 2, UINT64_MAX, 2);
	negotiate(f, PF | V1, ACK | (1ull << VHOST_USER_PROTOCOL_F_MQ));
	for (unsigned i = 0; i < 3; i++) {
		configure_ring(f, i, 64, 0);
		assert_int_equal(send_state(f, VHOST_USER_SET_VRING_ENABLE, 0, i, 1), 0);
	}
	assert_int_equal(send_u64(f, VHOST_USER_SET_PROTOCOL_FEATURES, 0, ACK, NULL, 0), 0);
	send_mem_table(f, 1, NULL, 1);
	assert_false(f->dev.failed);
	assert_non_null(vu_dev_vq(&f->dev, 0));
	assert_non_null(vu_dev_vq(&f->dev, 1));
	assert_false(f->dev.ring[2].started);
	assert_null(vu_dev_vq(&f->dev, 2));
	assert_int_equal(vu_dev_started_rings(&f->dev), 3u);
	assert_int_equal(send_u64(f, VHOST_USER_SET_PROTOCOL_FEATURES, 0,
				  ACK | (1ull << VHOST_USER_PROTOCOL_F_MQ), NULL, 0),
			 0);
	assert_false(f->dev.failed);
	assert_non_null(vu_dev_vq(&f->dev, 2));
	assert_int_equal(vu_dev_started_rings(&f->dev), 7u);
}

/* "No fd" with an fd attached, or neither: refused by the descriptor
 * count; the fd is not taken (and closed by the caller). */
static void test_kick_fd_count(void **state)
{
	struct fake *f = *state;
	int efd = eventfd(0, EFD_CLOEXEC);
	int fds_before = count_fds();

	assert_int_equal(send_u64(f, VHOST_USER_SET_VRING_KICK, 0, 0 | VHOST_USER_VRING_NOFD_MASK,
				  &efd, 1),
			 0);
	assert_false(f->dev.failed);
	expect_error(f, "SET_VRING_KICK with 1 descriptors (expected 0)");
	assert_false(f->dev.ring[0].kick_set);
	assert_int_equal(f->dev.ring[0].kick_fd, -1);
	assert_int_equal(count_fds(), fds_before - 1); /* closed by us, not kept */

	assert_int_equal(send_u64(f, VHOST_USER_SET_VRING_KICK, 0, 1, NULL, 0), 0);
	expect_error(f, "SET_VRING_KICK with 0 descriptors (expected 1)");
	assert_false(f->dev.ring[1].kick_set);
	/* Two fds for one ring. */
	{
		int two[2] = { eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC) };

		assert_int_equal(send_u64(f, VHOST_USER_SET_VRING_CALL, 0, 1, two, 2), 0);
		expect_error(f, "with 2 descriptors");
		assert_int_equal(f->dev.ring[1].call_fd, -1);
	}
	/* "No fd" without one is fine: a polled ring, no interrupts. */
	assert_int_equal(send_u64(f, VHOST_USER_SET_VRING_KICK, 0, 1 | VHOST_USER_VRING_NOFD_MASK,
				  NULL, 0),
			 0);
	assert_true(f->dev.ring[1].kick_set);
	assert_int_equal(f->dev.ring[1].kick_fd, -1);
	assert_int_equal(f->watched[1], -2); /* nothing to watch */
	assert_false(f->dev.failed);
}

/* A kick, call or error descriptor that is not an eventfd fails the port
 * with a message naming which one; the descriptor stays the caller's. */
static void test_ring_fd_not_eventfd(void **state)
{
	struct fake *f = *state;
	int pipefd[2], sv[2], mfd;

	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(send_u64(f, VHOST_USER_SET_VRING_KICK, 0, 0, &pipefd[0], 1), 0);
	expect_failed(f, "kick descriptor for ring 0 is not an eventfd");
	assert_false(f->dev.ring[0].kick_set);
	assert_int_equal(f->watched[0], -2);
	close(pipefd[1]);
	vu_dev_reset(&f->dev);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(send_u64(f, VHOST_USER_SET_VRING_CALL, 0, 1, &sv[0], 1), 0);
	expect_failed(f, "call descriptor for ring 1");
	assert_int_equal(f->dev.ring[1].call_fd, -1);
	close(sv[1]);
	vu_dev_reset(&f->dev);

	mfd = region_fd(4096);
	assert_int_equal(send_u64(f, VHOST_USER_SET_VRING_ERR, 0, 0, &mfd, 1), 0);
	expect_failed(f, "error descriptor for ring 0");
	assert_int_equal(f->dev.ring[0].err_fd, -1);
}

/* A good kick eventfd is kept, made non-blocking and watched; a new one
 * replaces it (the old one closed, its watch dropped). */
static void test_kick_eventfd_kept(void **state)
{
	struct fake *f = *state;
	int efd = eventfd(0, EFD_CLOEXEC), efd2 = eventfd(0, EFD_CLOEXEC);
	uint64_t v;

	assert_int_equal(send_u64(f, VHOST_USER_SET_VRING_KICK, 0, 0, &efd, 1), 0);
	assert_false(f->dev.failed);
	assert_int_equal(f->dev.ring[0].kick_fd, efd);
	assert_int_equal(f->watched[0], efd);
	assert_true(f->dev.ring[0].kick_set);
	assert_int_equal(read(efd, &v, 8), -1); /* non-blocking now */
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(send_u64(f, VHOST_USER_SET_VRING_KICK, 0, 0, &efd2, 1), 0);
	assert_int_equal(f->dev.ring[0].kick_fd, efd2);
	assert_int_equal(f->watched[0], efd2);
	assert_int_equal(fcntl(efd, F_GETFD), -1); /* the first one is closed */
	vu_dev_reset(&f->dev);
	assert_int_equal(f->watched[0], -1);
	assert_int_equal(f->dev.ring[0].kick_fd, -1);
}

/* Ring base: a 16-bit index; not while the ring runs. Enable: 0 or 1. */
static void test_vring_base_and_enable(void **state)
{
	struct fake *f = *state;

	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_BASE, 0, 0, 65535), 0);
	assert_int_equal(f->dev.ring[0].base, 65535);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_BASE, 0, 0, 65536), 0);
	expect_failed(f, "base 0x10000");
	expect_error(f, "a 16-bit index");
	vu_dev_reset(&f->dev);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_ENABLE, 0, 1, 2), 0);
	assert_false(f->dev.failed);
	expect_error(f, "enable value 2");
	assert_false(f->dev.ring[1].enabled);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_ENABLE, 0, 1, 1), 0);
	assert_true(f->dev.ring[1].enabled);
}

/* ---- memory table ------------------------------------------------------------------ */

/* More regions than ds-max fails the port; more than the baseline table
 * holds, none, or a descriptor count that does not match is refused;
 * bad region descriptors fail it. The old table stays in each case. */
static void test_mem_table_refused(void **state)
{
	struct fake *f = *state;
	int pipefd[2];

	send_mem_table(f, 1, NULL, 1);
	assert_int_equal(f->dev.mem.count, 1);

	send_mem_table(f, 3, NULL, 3); /* ds-max=2 */
	expect_failed(f, "3 regions exceeds ds-max=2");
	assert_int_equal(f->dev.mem.count, 1);
	vu_dev_reset(&f->dev);

	send_mem_table(f, 9, NULL, 0); /* more than the message can carry */
	assert_false(f->dev.failed);
	expect_error(f, "SET_MEM_TABLE with a payload");
	send_mem_table(f, 0, NULL, 0);
	expect_error(f, "SET_MEM_TABLE with a payload of 8 bytes");
	send_mem_table(f, 2, NULL, 1);
	assert_false(f->dev.failed);
	expect_error(f, "SET_MEM_TABLE with 1 descriptors (expected 2)");
	assert_int_equal(f->dev.mem.count, 0);

	/* A pipe is not memory. */
	assert_int_equal(pipe(pipefd), 0);
	{
		int fds[2] = { region_fd(REGION), pipefd[0] };

		send_mem_table(f, 2, fds, 2);
	}
	close(pipefd[1]);
	expect_failed(f, "memory region 1 refused: region descriptor is not a shared-memory file");
	assert_int_equal(f->dev.mem.count, 0);
	vu_dev_reset(&f->dev);
	/* A file too small for the region. */
	{
		int fd = region_fd(REGION / 2);

		send_mem_table(f, 1, &fd, 1);
	}
	expect_failed(f, "exceeds its file");
	assert_int_equal(f->dev.mem.count, 0);
}

/* Overlapping regions in one table fail the port. */
static void test_mem_table_overlap(void **state)
{
	struct fake *f = *state;
	uint8_t payload[8 + 64];
	struct vhost_user_mem_table_head head = { .nregions = 2 };
	struct vhost_user_region r0 = { GPA0, REGION, UVA0, 0 };
	struct vhost_user_region r1 = { GPA0 + REGION / 2, REGION, UVA0 + 2 * REGION, 0 };
	int fds[2] = { region_fd(REGION), region_fd(REGION) };

	memcpy(payload, &head, 8);
	memcpy(payload + 8, &r0, 32);
	memcpy(payload + 40, &r1, 32);
	assert_int_equal(send_msg(f, VHOST_USER_SET_MEM_TABLE, 0, payload, sizeof payload, fds, 2), 0);
	expect_failed(f, "overlaps");
	assert_int_equal(f->dev.mem.count, 0);
}

/* A new table replaces the old one; GET_MAX_MEM_SLOTS answers ds-max. */
static void test_mem_table_and_slots(void **state)
{
	struct fake *f = *state;

	send_mem_table(f, 2, NULL, 2);
	assert_false(f->dev.failed);
	assert_int_equal(f->dev.mem.count, 2);
	assert_int_equal(f->dev.mem.region[1].gpa, GPA0 + REGION);
	send_mem_table(f, 1, NULL, 1);
	assert_int_equal(f->dev.mem.count, 1);
	assert_int_equal(send_msg(f, VHOST_USER_GET_MAX_MEM_SLOTS, 0, NULL, 0, NULL, 0), 0);
	assert_int_equal(reply_u64(f, VHOST_USER_GET_MAX_MEM_SLOTS), 2);
	/* Another port's ds-max. */
	fake_restart(f, 256, 5);
	assert_int_equal(send_msg(f, VHOST_USER_GET_MAX_MEM_SLOTS, 0, NULL, 0, NULL, 0), 0);
	assert_int_equal(reply_u64(f, VHOST_USER_GET_MAX_MEM_SLOTS), 5);
}

/* ADD_MEM_REG up to ds-max, one more or an overlapping one fails the
 * port, the same one again (QEMU before 8.1 adds each region once per
 * queue pair) changes nothing; REM_MEM_REG of a known region removes it,
 * of an unknown one (the repeat of a removal) does nothing. */
static void test_add_and_remove_regions(void **state)
{
	struct fake *f = *state;
	struct vhost_user_single_region one = { 0, { GPA0, REGION, UVA0, 0 } };
	uint8_t *host;
	int fd, first;

	negotiate(f, PF, 1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
	/* The same region of the same file twice (and a third time): one
	 * region, mapped once, and the port's budget of ds-max=2 untouched. */
	first = region_fd(2 * REGION);
	for (unsigned i = 0; i < 3; i++) {
		fd = dup(first);
		assert_int_equal(send_msg(f, VHOST_USER_ADD_MEM_REG, 0, &one, sizeof one, &fd, 1), 0);
		assert_false(f->dev.failed);
		assert_int_equal(f->dev.mem.count, 1);
		if (i == 0)
			host = f->dev.mem.region[0].host;
		assert_ptr_equal(f->dev.mem.region[0].host, host);
	}
	/* The same addresses at another offset of that file, or in another
	 * file: an overlap. */
	one.region.mmap_offset = 4096;
	fd = dup(first);
	assert_int_equal(send_msg(f, VHOST_USER_ADD_MEM_REG, 0, &one, sizeof one, &fd, 1), 0);
	expect_failed(f, "overlaps");
	assert_int_equal(f->dev.mem.count, 1);
	vu_dev_reset(&f->dev);
	negotiate(f, PF, 1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
	one.region.mmap_offset = 0;
	fd = dup(first);
	assert_int_equal(send_msg(f, VHOST_USER_ADD_MEM_REG, 0, &one, sizeof one, &fd, 1), 0);
	fd = region_fd(REGION);
	assert_int_equal(send_msg(f, VHOST_USER_ADD_MEM_REG, 0, &one, sizeof one, &fd, 1), 0);
	expect_failed(f, "overlaps");
	assert_int_equal(f->dev.mem.count, 1);
	close(first);
	vu_dev_reset(&f->dev);
	negotiate(f, PF, 1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
	for (unsigned i = 0; i < 2; i++) {
		one.region = (struct vhost_user_region){ GPA0 + i * REGION, REGION, UVA0 + i * REGION, 0 };
		fd = region_fd(REGION);
		assert_int_equal(send_msg(f, VHOST_USER_ADD_MEM_REG, 0, &one, sizeof one, &fd, 1), 0);
		assert_false(f->dev.failed);
	}
	assert_int_equal(f->dev.mem.count, 2);
	/* Without its descriptor: refused. */
	one.region.guest_phys_addr = GPA0 + 8 * REGION;
	one.region.userspace_addr = UVA0 + 8 * REGION;
	assert_int_equal(send_msg(f, VHOST_USER_ADD_MEM_REG, 0, &one, sizeof one, NULL, 0), 0);
	assert_false(f->dev.failed);
	expect_error(f, "ADD_MEM_REG with 0 descriptors");
	/* A third: beyond ds-max=2. */
	fd = region_fd(REGION);
	assert_int_equal(send_msg(f, VHOST_USER_ADD_MEM_REG, 0, &one, sizeof one, &fd, 1), 0);
	expect_failed(f, "ds-max=2");
	assert_int_equal(f->dev.mem.count, 2);

	vu_dev_reset(&f->dev); /* memory is gone with it */
	assert_int_equal(f->dev.mem.count, 0);
	send_mem_table(f, 2, NULL, 2);
	one.region = (struct vhost_user_region){ GPA0 + 7 * REGION, REGION, UVA0, 0 };
	assert_int_equal(send_msg(f, VHOST_USER_REM_MEM_REG, 0, &one, sizeof one, NULL, 0), 0);
	assert_false(f->dev.failed);
	assert_int_equal(f->dev.mem.count, 2);
	/* QEMU sends the region's fd along with REM_MEM_REG: not kept. */
	one.region = (struct vhost_user_region){ GPA0 + REGION, REGION, UVA0 + REGION, 0 };
	for (unsigned i = 0; i < 2; i++) {
		fd = region_fd(REGION);
		assert_int_equal(send_msg(f, VHOST_USER_REM_MEM_REG, 0, &one, sizeof one, &fd, 1), 0);
		assert_false(f->dev.failed);
		assert_int_equal(f->dev.mem.count, 1);
		assert_int_equal(f->dev.mem.region[0].gpa, GPA0);
	}
}

/* mem-max: a memory table larger than the budget, or a region that would
 * take the port past it, is refused before anything is mapped; a table
 * within it replaces one that was. */
static void test_mem_max_budget(void **state)
{
	struct fake *f = *state;
	struct vhost_user_single_region one = { 0, { GPA0, REGION, UVA0, 0 } };
	int fd;

	f->dev.mem_max = 2 * REGION;
	negotiate(f, PF, 1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
	send_mem_table(f, 2, NULL, 2);
	assert_false(f->dev.failed);
	assert_int_equal(gm_mapped_bytes(&f->dev.mem), 2 * REGION);
	/* One more region would be 3 * REGION. */
	one.region = (struct vhost_user_region){ GPA0 + 4 * REGION, REGION, UVA0 + 4 * REGION, 0 };
	fd = region_fd(REGION);
	assert_int_equal(send_msg(f, VHOST_USER_ADD_MEM_REG, 0, &one, sizeof one, &fd, 1), 0);
	expect_failed(f, "exceeds mem-max");
	assert_int_equal(f->dev.mem.count, 2);

	vu_dev_reset(&f->dev);
	f->dev.mem_max = 2 * REGION - 1;
	negotiate(f, PF, 0);
	send_mem_table(f, 2, NULL, 2);
	expect_failed(f, "memory table of 131072 bytes exceeds mem-max");
	assert_int_equal(f->dev.mem.count, 0);
	/* Sizes that wrap around 64 bits when summed are refused too. */
	vu_dev_reset(&f->dev);
	negotiate(f, PF, 0);
	{
		uint8_t payload[8 + 64];
		struct vhost_user_mem_table_head head = { .nregions = 2 };
		struct vhost_user_region r0 = { 0, UINT64_MAX - 4095, UVA0, 0 };
		struct vhost_user_region r1 = { UINT64_MAX - 4095, 8192, UVA0 + REGION, 0 };
		int fds[2] = { region_fd(REGION), region_fd(REGION) };

		memcpy(payload, &head, 8);
		memcpy(payload + 8, &r0, 32);
		memcpy(payload + 40, &r1, 32);
		assert_int_equal(send_msg(f, VHOST_USER_SET_MEM_TABLE, 0, payload, sizeof payload, fds,
					  2), 0);
		expect_failed(f, "exceeds mem-max");
	}
}

/* ---- ring start and stop --------------------------------------------------------- */

/* Size, base, addresses and kick (and, with protocol features, enable)
 * start a ring: the datapath is told, and the queue points at the right
 * places of the client's memory with the negotiated ring features. */
static void test_ring_start(void **state)
{
	struct fake *f = *state;
	struct vhost_user_vring_addr a = ring_addr(1);
	uint8_t *host;
	struct vq *vq;

	negotiate(f, PF | V1 | EVIDX | INDIR, ACK);
	send_mem_table(f, 1, NULL, 1);
	host = f->dev.mem.region[0].host;
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 1, 128), 0);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_BASE, 0, 1, 7), 0);
	send_ring_addr(f, &a);
	assert_false(f->dev.ring[1].started); /* no kick yet */
	assert_int_equal(send_ring_eventfd(f, VHOST_USER_SET_VRING_KICK, 1), 0);
	assert_false(f->dev.ring[1].started); /* not enabled yet */
	assert_null(vu_dev_vq(&f->dev, 1));
	assert_int_equal(f->rings_changed, 0);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_ENABLE, NEED, 1, 1), 0);
	assert_int_equal(reply_u64(f, VHOST_USER_SET_VRING_ENABLE), 0);
	assert_true(f->dev.ring[1].started);
	assert_int_equal(f->rings_changed, 1);
	assert_non_null(vu_dev_vq(&f->dev, 1));
	vq = &f->dev.ring[1].vq;
	assert_ptr_equal(vq->desc, host + (a.desc_user_addr - UVA0));
	assert_ptr_equal(vq->avail, host + (a.avail_user_addr - UVA0));
	assert_ptr_equal(vq->used, host + (a.used_user_addr - UVA0));
	assert_ptr_equal(vq->mem, &f->dev.mem);
	assert_int_equal(vq->num, 128);
	assert_int_equal(vq->last_avail, 7);
	assert_int_equal(vq->used_idx, 7);
	assert_true(vq->event_idx);
	assert_true(vq->indirect);
	assert_null(vu_dev_vq(&f->dev, 0)); /* the other ring is not configured */
	assert_false(f->dev.failed);
}

/* Without protocol features a ring is enabled from the start, and a
 * "no fd" kick means a polled ring. */
static void test_ring_start_without_protocol_features(void **state)
{
	struct fake *f = *state;
	struct vhost_user_vring_addr a = ring_addr(0);

	negotiate(f, V1, 0);
	send_mem_table(f, 1, NULL, 1);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 0, 256), 0);
	send_ring_addr(f, &a);
	assert_int_equal(send_u64(f, VHOST_USER_SET_VRING_KICK, 0, VHOST_USER_VRING_NOFD_MASK, NULL, 0),
			 0);
	assert_true(f->dev.ring[0].started);
	assert_int_equal(f->dev.ring[0].kick_fd, -1);
	assert_false(f->dev.ring[0].vq.event_idx);
	assert_false(f->dev.ring[0].vq.indirect);
	assert_int_equal(f->rings_changed, 1);
}

/* Ring addresses must be aligned and lie within the client's memory. */
static void test_ring_addresses_checked(void **state)
{
	struct fake *f = *state;
	struct vhost_user_vring_addr a = ring_addr(1);

	negotiate(f, V1, 0);
	send_mem_table(f, 1, NULL, 1);
	a.desc_user_addr += 8; /* desc needs 16 */
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 1, 64), 0);
	send_ring_addr(f, &a);
	assert_int_equal(send_ring_eventfd(f, VHOST_USER_SET_VRING_KICK, 1), 0);
	expect_failed(f, "ring 1 addresses are misaligned");
	assert_false(f->dev.ring[1].started);
	vu_dev_reset(&f->dev);

	negotiate(f, V1, 0);
	send_mem_table(f, 1, NULL, 1);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 1, 256), 0);
	a = ring_addr(1);
	a.used_user_addr = UVA0 + REGION - 2048; /* 256 used entries need 2054 bytes */
	send_ring_addr(f, &a);
	assert_int_equal(send_ring_eventfd(f, VHOST_USER_SET_VRING_KICK, 1), 0);
	expect_failed(f, "ring 1 lies outside the client's memory");
	vu_dev_reset(&f->dev);

	/* Before any memory table the ring waits for one; it starts with it. */
	negotiate(f, V1, 0);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 1, 64), 0);
	a = ring_addr(1);
	send_ring_addr(f, &a);
	assert_int_equal(send_ring_eventfd(f, VHOST_USER_SET_VRING_KICK, 1), 0);
	assert_false(f->dev.failed);
	assert_false(f->dev.ring[1].started);
	send_mem_table(f, 1, NULL, 1);
	assert_false(f->dev.failed);
	assert_true(f->dev.ring[1].started);
}

/* GET_VRING_BASE stops the ring (the datapath finishes first), forgets
 * its kick and answers where it stopped; a restart resumes there. */
static void test_get_vring_base(void **state)
{
	struct fake *f = *state;

	start_ring(f, V1, 0, 64, 3);
	assert_int_equal(f->dev.ring[0].vq.last_avail, 3);
	f->dev.ring[0].vq.last_avail = 12; /* the datapath moved on */
	f->rings_changed = 0;

	assert_int_equal(get_vring_base(f, 0), 12);
	assert_false(f->dev.ring[0].started);
	assert_null(vu_dev_vq(&f->dev, 0));
	assert_int_equal(f->stopping[0], 1);
	assert_int_equal(f->stopping[1], 0);
	assert_int_equal(f->rings_changed, 1);
	assert_false(f->dev.ring[0].kick_set);
	assert_int_equal(f->dev.ring[0].kick_fd, -1);
	assert_int_equal(f->watched[0], -1);
	/* Asked again: the same base, no second stop. */
	assert_int_equal(get_vring_base(f, 0), 12);
	assert_int_equal(f->stopping[0], 1);
	/* A new kick restarts it where it stopped. */
	assert_int_equal(send_ring_eventfd(f, VHOST_USER_SET_VRING_KICK, 0), 0);
	assert_true(f->dev.ring[0].started);
	assert_int_equal(f->dev.ring[0].vq.last_avail, 12);
	assert_int_equal(f->dev.ring[0].vq.used_idx, 12);
	/* Size and base cannot change under a running ring. */
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 0, 32), 0);
	assert_int_equal(f->dev.ring[0].num, 64);
	expect_error(f, "size changed while running");
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_BASE, 0, 0, 1), 0);
	expect_error(f, "base changed while running");
	assert_false(f->dev.failed);
}

/* A new memory table under a running ring: the ring keeps running on the
 * new mapping; new features under it update the queue's ring features. */
static void test_mem_table_under_running_ring(void **state)
{
	struct fake *f = *state;
	struct vhost_user_vring_addr a = ring_addr(0);
	uint8_t *old_host;

	start_ring(f, V1, 0, 64, 0);
	old_host = f->dev.mem.region[0].host;
	send_mem_table(f, 2, NULL, 2);
	assert_false(f->dev.failed);
	assert_true(f->dev.ring[0].started);
	assert_ptr_not_equal(f->dev.mem.region[0].host, old_host);
	assert_ptr_equal(f->dev.ring[0].vq.desc, f->dev.mem.region[0].host + (a.desc_user_addr - UVA0));
	assert_ptr_equal(f->dev.ring[0].vq.used, f->dev.mem.region[0].host + (a.used_user_addr - UVA0));
	assert_false(f->dev.ring[0].vq.event_idx);
	assert_int_equal(send_u64(f, VHOST_USER_SET_FEATURES, 0, V1 | EVIDX, NULL, 0), 0);
	assert_true(f->dev.ring[0].started);
	assert_true(f->dev.ring[0].vq.event_idx);
}

/* Removing the region under a running ring fails the port. */
static void test_remove_region_under_ring(void **state)
{
	struct fake *f = *state;
	struct vhost_user_single_region one = { 0, { GPA0, REGION, UVA0, 0 } };

	negotiate(f, V1, 0);
	send_mem_table(f, 2, NULL, 2);
	configure_ring(f, 1, 64, 0);
	assert_true(f->dev.ring[1].started);
	assert_int_equal(send_msg(f, VHOST_USER_REM_MEM_REG, 0, &one, sizeof one, NULL, 0), 0);
	expect_failed(f, "ring 1 lies outside the client's memory");
	assert_false(f->dev.ring[1].started);
	assert_int_equal(f->dev.mem.count, 1);
}

/* A failed port signals its error eventfds once, stays failed through
 * new kicks, and recovers when the client stops every ring. */
static void test_failure_and_recovery(void **state)
{
	struct fake *f = *state;
	int err0 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), dup0 = dup(err0);
	uint64_t v = 0;

	negotiate(f, V1, 0);
	send_mem_table(f, 1, NULL, 1);
	assert_int_equal(send_u64(f, VHOST_USER_SET_VRING_ERR, 0, 0, &err0, 1), 0);
	configure_ring(f, 0, 64, 0);
	configure_ring(f, 1, 64, 0);
	assert_true(f->dev.ring[0].started && f->dev.ring[1].started);
	f->dev.ring[0].vq.last_avail = 5;

	vu_dev_fail(&f->dev, "test failure %d", 42);
	assert_true(f->dev.failed);
	assert_string_equal(f->dev.last_error, "test failure 42");
	assert_false(f->dev.ring[0].started);
	assert_false(f->dev.ring[1].started);
	assert_int_equal(f->dev.ring[0].base, 5);
	assert_int_equal(f->stopping[0], 0); /* no draining of a bad client */
	assert_int_equal(read(dup0, &v, 8), 8);
	assert_int_equal(v, 1);
	vu_dev_fail(&f->dev, "again");
	assert_int_equal(read(dup0, &v, 8), -1); /* signalled only once */

	/* A new kick does not restart a failed port. */
	assert_int_equal(send_ring_eventfd(f, VHOST_USER_SET_VRING_KICK, 0), 0);
	assert_false(f->dev.ring[0].started);
	/* Stopping one ring is not enough; both are. */
	assert_int_equal(send_state(f, VHOST_USER_GET_VRING_BASE, 0, 0, 0), 0);
	assert_true(f->dev.failed);
	assert_int_equal(send_state(f, VHOST_USER_GET_VRING_BASE, 0, 0, 0), 0);
	assert_true(f->dev.failed);
	assert_int_equal(send_state(f, VHOST_USER_GET_VRING_BASE, 0, 1, 0), 0);
	assert_false(f->dev.failed);
	/* And then it starts again. */
	assert_int_equal(send_ring_eventfd(f, VHOST_USER_SET_VRING_KICK, 0), 0);
	assert_true(f->dev.ring[0].started);
	assert_int_equal(f->dev.ring[0].vq.last_avail, 5);
	close(dup0);
}

/* RESET_DEVICE forgets rings, features and failure but keeps memory;
 * RESET_OWNER forgets memory too. */
static void test_resets(void **state)
{
	struct fake *f = *state;

	negotiate(f, PF | V1, ACK);
	send_mem_table(f, 1, NULL, 1);
	configure_ring(f, 0, 64, 0);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_ENABLE, 0, 0, 1), 0);
	assert_true(f->dev.ring[0].started);
	vu_dev_fail(&f->dev, "x");
	assert_int_equal(send_msg(f, VHOST_USER_RESET_DEVICE, NEED, NULL, 0, NULL, 0), 0);
	assert_int_equal(reply_u64(f, VHOST_USER_RESET_DEVICE), 0);
	assert_false(f->dev.failed);
	assert_int_equal(f->dev.features, 0);
	assert_int_equal(f->dev.ring[0].num, 0);
	assert_int_equal(f->dev.ring[0].kick_fd, -1);
	assert_int_equal(f->dev.mem.count, 1);
	assert_int_equal(send_msg(f, VHOST_USER_RESET_OWNER, 0, NULL, 0, NULL, 0), 0);
	assert_int_equal(f->dev.mem.count, 0);
	assert_false(f->dev.owned);
}

/* ---- packed rings ----------------------------------------------------------------- */

/* With RING_PACKED a ring may have any size from 1 to -s; 0 and more
 * than -s fail the port, with no word of a power of 2. */
static void test_packed_vring_num(void **state)
{
	struct fake *f = *state;
	static const uint32_t bad[] = { 0, 257, 32768, 65536, 0xffffffffu };
	static const uint32_t good[] = { 1, 3, 100, 250, 255, 256 };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		negotiate(f, V1 | PACKED, 0);
		assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 1, bad[i]), 0);
		expect_failed(f, "at most 256");
		assert_null(strstr(f->dev.last_error, "power of 2"));
		assert_int_equal(f->dev.ring[1].num, 0);
		vu_dev_reset(&f->dev);
	}
	negotiate(f, V1 | PACKED, 0);
	expect_sizes_taken(f, good, sizeof good / sizeof good[0]);
	/* With -s 32768 the largest packed ring is fine, one more is not. */
	fake_restart(f, 32768, 2);
	negotiate(f, V1 | PACKED, 0);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 0, 32767), 0);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 1, 32768), 0);
	assert_false(f->dev.failed);
	assert_int_equal(f->dev.ring[1].num, 32768);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 1, 32769), 0);
	expect_failed(f, "at most 32768");
}

/* A packed base is an index with its wrap counter, the used side in the
 * high half as QEMU sends it, or nothing there as DPDK sends it. An index
 * at or beyond the ring's size is refused at SET_VRING_BASE when the size
 * is known, else when the ring starts. */
static void test_packed_vring_base(void **state)
{
	struct fake *f = *state;
	static const uint32_t early[] = { 0x8000, 0x80008000u, 0x0005, 0x8100, 0x7fff7fffu };
	static const uint32_t fits[] = { 0x80f9, 0x80f980f9u, 0x00f9, 0x0000, 0x80000000u };
	static const uint32_t beyond[] = { 0x80fa, 0x80fa80f9u, 0x80f980fau, 0xffff, 0x7fff };
	struct vhost_user_vring_addr a = ring_addr(0);
	struct vq *vq;

	negotiate(f, V1 | PACKED, 0);
	for (size_t i = 0; i < sizeof early / sizeof early[0]; i++) {
		assert_int_equal(send_state(f, VHOST_USER_SET_VRING_BASE, 0, 0, early[i]), 0);
		assert_false(f->dev.failed);
		assert_int_equal(f->dev.ring[0].base, early[i]);
	}
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 1, 250), 0);
	for (size_t i = 0; i < sizeof fits / sizeof fits[0]; i++) {
		assert_int_equal(send_state(f, VHOST_USER_SET_VRING_BASE, 0, 1, fits[i]), 0);
		assert_false(f->dev.failed);
		assert_int_equal(f->dev.ring[1].base, fits[i]);
	}
	for (size_t i = 0; i < sizeof beyond / sizeof beyond[0]; i++) {
		negotiate(f, V1 | PACKED, 0);
		assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 1, 250), 0);
		assert_int_equal(send_state(f, VHOST_USER_SET_VRING_BASE, 0, 1, beyond[i]), 0);
		expect_failed(f, "does not fit a packed ring");
		assert_int_not_equal(f->dev.ring[1].base, beyond[i]);
		vu_dev_reset(&f->dev);
	}

	/* The size set after the base: the ring does not start. */
	negotiate(f, V1 | PACKED, 0);
	send_mem_table(f, 1, NULL, 1);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_BASE, 0, 0, 0x8100), 0);
	assert_false(f->dev.failed);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 0, 256), 0);
	send_ring_addr(f, &a);
	assert_false(f->dev.failed);
	assert_int_equal(send_ring_eventfd(f, VHOST_USER_SET_VRING_KICK, 0), 0);
	expect_failed(f, "ring 0 base 0x8100 does not fit a packed ring of 256");
	assert_false(f->dev.ring[0].started);
	vu_dev_reset(&f->dev);

	/* Started from either form: where the base says, both sides. */
	start_ring(f, V1 | PACKED, 0, 250, 0x80f980f9u);
	vq = &f->dev.ring[0].vq;
	assert_true(vq->packed);
	assert_int_equal(vq->num, 250);
	assert_int_equal(vq->avail_slot, 249);
	assert_true(vq->avail_wrap);
	assert_int_equal(vq->used_slot, 249);
	assert_true(vq->used_wrap);
	configure_ring(f, 1, 256, 0x0005);
	assert_true(f->dev.ring[1].started);
	vq = &f->dev.ring[1].vq;
	assert_int_equal(vq->avail_slot, 5);
	assert_false(vq->avail_wrap);
	assert_int_equal(vq->used_slot, 5);
	assert_false(vq->used_wrap);
	assert_int_equal(vq_base(vq), 0x00050005);
	assert_false(f->dev.failed);
}

/* GET_VRING_BASE of a packed ring answers the avail side in the low
 * half and again in the high half (QEMU reads the used side there; all
 * is given back by then); the answer is accepted as a base again and
 * the ring resumes there. */
static void test_packed_get_vring_base(void **state)
{
	struct fake *f = *state;
	uint32_t base;
	struct vq *vq;

	start_ring(f, V1 | PACKED, 0, 250, 0x8000);
	vq = &f->dev.ring[0].vq;
	vq->avail_slot = 7; /* the datapath moved on, past the ring's end */
	vq->avail_wrap = false;
	assert_int_equal(get_vring_base(f, 0), 0x00070007);
	assert_false(f->dev.ring[0].started);
	assert_int_equal(f->stopping[0], 1);
	base = get_vring_base(f, 0);
	assert_int_equal(base, 0x00070007);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_BASE, 0, 0, base), 0);
	assert_false(f->dev.failed);
	assert_int_equal(send_ring_eventfd(f, VHOST_USER_SET_VRING_KICK, 0), 0);
	assert_true(f->dev.ring[0].started);
	assert_int_equal(vq->avail_slot, 7);
	assert_false(vq->avail_wrap);
	assert_int_equal(vq->used_slot, 7);
	assert_false(vq->used_wrap);

	/* Started from DPDK's low half alone: answered with both halves. */
	configure_ring(f, 1, 256, 0x8005);
	assert_true(f->dev.ring[1].started);
	assert_int_equal(get_vring_base(f, 1), 0x80058005u);
	assert_false(f->dev.failed);
}

/* SET_MEM_TABLE of adjacent regions of the given sizes from GPA0/UVA0. */
static void send_regions(struct fake *f, const uint64_t *sizes, unsigned n)
{
	uint8_t payload[8 + 32 * 2];
	struct vhost_user_mem_table_head head = { .nregions = n };
	int fds[2];
	uint64_t at = 0;

	assert_true(n <= 2);
	memcpy(payload, &head, sizeof head);
	for (unsigned i = 0; i < n; i++) {
		struct vhost_user_region r = { GPA0 + at, sizes[i], UVA0 + at, 0 };

		memcpy(payload + 8 + i * 32, &r, 32);
		fds[i] = region_fd(sizes[i]);
		at += sizes[i];
	}
	assert_int_equal(send_msg(f, VHOST_USER_SET_MEM_TABLE, 0, payload, 8 + n * 32, fds, (int)n), 0);
	assert_false(f->dev.failed);
	assert_int_equal(f->dev.mem.count, n);
}

/* Start ring 0 (64 entries) of a packed port at these areas; whether it
 * started. A refused one fails the port. */
static bool start_packed_at(struct fake *f, const uint64_t *sizes, unsigned n, uint64_t driver,
			    uint64_t device)
{
	struct vhost_user_vring_addr a = ring_addr(0);

	negotiate(f, V1 | PACKED | EVIDX, 0);
	send_regions(f, sizes, n);
	a.avail_user_addr = driver;
	a.used_user_addr = device;
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 0, 64), 0);
	send_ring_addr(f, &a);
	assert_int_equal(send_ring_eventfd(f, VHOST_USER_SET_VRING_KICK, 0), 0);
	assert_true(f->dev.ring[0].started != f->dev.failed);
	return f->dev.ring[0].started;
}

/* A packed ring's event suppression areas are 4 bytes, 4-aligned, each
 * wholly inside one region: misaligned, straddling a region's end (into
 * nothing or into the next region) or outside, the ring does not start
 * and nothing of it is touched. */
static void test_packed_ring_areas(void **state)
{
	struct fake *f = *state;
	const uint64_t one[1] = { REGION }, odd[1] = { REGION + 2 }, odd2[2] = { REGION + 2, REGION };
	const uint64_t drv = UVA0 + 4096, dev = UVA0 + 8192;
	struct vhost_user_vring_addr a = ring_addr(0);
	const struct {
		const uint64_t *sizes;
		unsigned n;
		uint64_t driver, device;
		const char *why;
	} refused[] = {
		{ one, 1, drv + 2, dev, "misaligned" },
		{ one, 1, drv, dev + 2, "misaligned" },
		{ one, 1, drv + 1, dev, "misaligned" },
		{ one, 1, UVA0 + REGION, dev, "outside" },
		{ one, 1, drv, UVA0 + REGION, "outside" },
		{ odd, 1, UVA0 + REGION, dev, "outside" },  /* 2 bytes in, 2 beyond */
		{ odd, 1, drv, UVA0 + REGION, "outside" },
		{ odd2, 2, UVA0 + REGION, dev, "outside" }, /* into the next region */
		{ odd2, 2, drv, UVA0 + REGION, "outside" },
	};

	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		assert_false(start_packed_at(f, refused[i].sizes, refused[i].n, refused[i].driver,
					     refused[i].device));
		expect_error(f, refused[i].why);
		assert_null(vu_dev_vq(&f->dev, 0));
		vu_dev_reset(&f->dev);
	}
	/* The last four whole bytes of a region: fine. */
	assert_true(start_packed_at(f, one, 1, UVA0 + REGION - 4, UVA0 + REGION - 8));
	assert_ptr_equal(f->dev.ring[0].vq.driver_event,
			 f->dev.mem.region[0].host + REGION - 4);
	assert_ptr_equal(f->dev.ring[0].vq.device_event,
			 f->dev.mem.region[0].host + REGION - 8);
	vu_dev_reset(&f->dev);
	assert_true(start_packed_at(f, odd2, 2, UVA0 + REGION - 4, UVA0 + REGION - 8));
	vu_dev_reset(&f->dev);
	/* A split ring's avail ring needs 2-alignment only: the same address
	 * that is misaligned for a packed ring is fine for it. */
	negotiate(f, V1, 0);
	send_mem_table(f, 1, NULL, 1);
	a.avail_user_addr += 2;
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 0, 64), 0);
	send_ring_addr(f, &a);
	assert_int_equal(send_ring_eventfd(f, VHOST_USER_SET_VRING_KICK, 0), 0);
	assert_true(f->dev.ring[0].started);
	assert_false(f->dev.failed);
}

/* The ring format cannot change under a running ring: SET_FEATURES that
 * turns RING_PACKED on or off fails the port. Other features may change;
 * a ring not running is set up for the format it starts with. */
static void test_packed_format_change(void **state)
{
	struct fake *f = *state;
	struct vhost_user_vring_addr a = ring_addr(0);

	start_ring(f, V1, 0, 64, 0);
	assert_false(f->dev.ring[0].vq.packed);
	assert_int_equal(send_u64(f, VHOST_USER_SET_FEATURES, 0, V1 | PACKED, NULL, 0), 0);
	expect_failed(f, "ring 0 changed its format while running");
	assert_false(f->dev.ring[0].started);
	assert_null(vu_dev_vq(&f->dev, 0));
	vu_dev_reset(&f->dev);

	start_ring(f, V1 | PACKED, 0, 64, 0x8000);
	assert_true(f->dev.ring[0].vq.packed);
	assert_false(f->dev.ring[0].vq.event_idx);
	assert_int_equal(send_u64(f, VHOST_USER_SET_FEATURES, 0, V1 | PACKED | EVIDX, NULL, 0), 0);
	assert_false(f->dev.failed);
	assert_true(f->dev.ring[0].started);
	assert_true(f->dev.ring[0].vq.event_idx);
	assert_int_equal(send_u64(f, VHOST_USER_SET_FEATURES, 0, V1 | EVIDX, NULL, 0), 0);
	expect_failed(f, "ring 0 changed its format while running");
	assert_false(f->dev.ring[0].started);
	vu_dev_reset(&f->dev);

	/* Not running: a size set for a packed ring is checked again for the
	 * format the ring starts with. */
	negotiate(f, V1 | PACKED, 0);
	send_mem_table(f, 1, NULL, 1);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_NUM, 0, 0, 250), 0);
	assert_int_equal(send_u64(f, VHOST_USER_SET_FEATURES, 0, V1, NULL, 0), 0);
	assert_false(f->dev.failed);
	assert_int_equal(send_state(f, VHOST_USER_SET_VRING_BASE, 0, 0, 0), 0);
	send_ring_addr(f, &a);
	assert_int_equal(send_ring_eventfd(f, VHOST_USER_SET_VRING_KICK, 0), 0);
	expect_failed(f, "size 250 refused");
	assert_false(f->dev.ring[0].started);
}

/* ---- config space ------------------------------------------------------------------ */

static void send_get_config(struct fake *f, uint32_t offset, uint32_t size, uint32_t msg_size)
{
	uint8_t req[12 + VHOST_USER_CONFIG_MAX + 8] = { 0 };
	struct vhost_user_config_head head = { offset, size, 0 };

	memcpy(req, &head, sizeof head);
	assert_int_equal(send_msg(f, VHOST_USER_GET_CONFIG, 0, req, msg_size, NULL, 0), 0);
}

/* GET_CONFIG answers with the MAC at 0..5; out of range it answers with
 * an empty payload; a malformed request still gets an answer. */
static void test_get_config(void **state)
{
	struct fake *f = *state;
	const uint8_t *p;
	struct vhost_user_config_head head;

	send_get_config(f, 0, 6, 12 + 6);
	p = reply_payload(f, VHOST_USER_GET_CONFIG, 12 + 6);
	memcpy(&head, p, sizeof head);
	assert_int_equal(head.offset, 0);
	assert_int_equal(head.size, 6);
	assert_memory_equal(p + 12, MAC, 6);

	send_get_config(f, 2, 8, 12 + 8); /* MAC tail, status, max pairs */
	p = reply_payload(f, VHOST_USER_GET_CONFIG, 12 + 8);
	assert_memory_equal(p + 12, ((const uint8_t[]){ 0x00, 0xab, 0xcd, 0xef, 0, 0, 1, 0 }), 8);

	send_get_config(f, 255, 6, 12 + 6); /* past the end */
	p = reply_payload(f, VHOST_USER_GET_CONFIG, 12);
	memcpy(&head, p, sizeof head);
	assert_int_equal(head.size, 0);
	expect_error(f, "outside the config space");
	assert_false(f->dev.failed);

	send_get_config(f, 0, 6, 12); /* size does not match the payload */
	assert_int_equal(f->replies, 1);
	send_get_config(f, 0, VHOST_USER_CONFIG_MAX + 1, 12 + VHOST_USER_CONFIG_MAX + 1);
	assert_int_equal(f->replies, 1);
	expect_error(f, "GET_CONFIG with a payload");
	/* SET_CONFIG is not supported. */
	negotiate(f, PF, ACK);
	{
		uint8_t req[12 + 6] = { 0 };
		struct vhost_user_config_head h6 = { 0, 6, 0 };

		memcpy(req, &h6, sizeof h6);
		assert_int_equal(send_msg(f, VHOST_USER_SET_CONFIG, NEED, req, sizeof req, NULL, 0), 0);
		assert_int_not_equal(reply_u64(f, VHOST_USER_SET_CONFIG), 0);
	}
}

/* Descriptors on requests that take none are refused, and closed by the
 * caller; an unsupported request with an fd does not keep it either. */
static void test_stray_descriptors(void **state)
{
	struct fake *f = *state;
	int efd = eventfd(0, EFD_CLOEXEC), mfd = region_fd(4096);
	uint8_t logbase[16] = { 0 };

	assert_int_equal(send_msg(f, VHOST_USER_GET_FEATURES, 0, NULL, 0, &efd, 1), 0);
	assert_int_equal(reply_u64(f, VHOST_USER_GET_FEATURES), 0); /* refused, still answered */
	expect_error(f, "GET_FEATURES with 1 descriptors (expected 0)");
	efd = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(send_msg(f, VHOST_USER_SET_OWNER, 0, NULL, 0, &efd, 1), 0);
	assert_false(f->dev.owned);
	assert_int_equal(send_msg(f, VHOST_USER_SET_LOG_BASE, 0, logbase, 16, &mfd, 1), 0);
	expect_error(f, "request 6 is not supported");
	assert_false(f->dev.failed);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_get_features),
		T(test_set_features_unoffered),
		T(test_size_mismatch),
		T(test_reply_ack),
		T(test_bad_version),
		T(test_vring_num_limits),
		T(test_ring_index_beyond_pairs),
		T(test_mq_pairs),
		T(test_mq_dropped_while_running),
	T(test_mq_dropped_before_start),
		T(test_kick_fd_count),
		T(test_ring_fd_not_eventfd),
		T(test_kick_eventfd_kept),
		T(test_vring_base_and_enable),
		T(test_mem_table_refused),
		T(test_mem_table_overlap),
		T(test_mem_table_and_slots),
		T(test_add_and_remove_regions),
		T(test_mem_max_budget),
		T(test_ring_start),
		T(test_ring_start_without_protocol_features),
		T(test_ring_addresses_checked),
		T(test_get_vring_base),
		T(test_mem_table_under_running_ring),
		T(test_remove_region_under_ring),
		T(test_failure_and_recovery),
		T(test_resets),
		T(test_packed_vring_num),
		T(test_packed_vring_base),
		T(test_packed_get_vring_base),
		T(test_packed_ring_areas),
		T(test_packed_format_change),
		T(test_get_config),
		T(test_stray_descriptors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
