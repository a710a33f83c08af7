/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the vhost-user device session (vu_dev_handle) and its
 * rule table, fed a sequence of messages with real descriptors attached,
 * through fake device ops as in tests/unit/test_vu_dev.c.
 *
 * Input:
 *   byte 0   ds-max = 1 + (b & 15); bit 4: the port has a MAC;
 *            bit 5: trusted memory (-d) is in force; bit 6: mem-max is
 *            48 KiB (else without limit); bit 7: RING_PACKED is flipped
 *            in every SET_FEATURES (a session's rings become packed ones)
 *   byte 1   -s: max queue size = 1 << (b % 16); queues= (the queue pairs
 *            the port offers) = 1 + (b >> 4)
 *   then up to MAX_MESSAGES messages, each:
 *     u8  request (0xf0..0xff stay unknown requests, else b % 64)
 *     u8  f: bits 0-3 header flags, xor VHOST_USER_VERSION (0 is version 1);
 *            bit 4: the datapath fails the port after the message;
 *            bit 5: ...while a ring is being stopped (re-entrant);
 *            bit 6: ...when a kick fd is watched (re-entrant);
 *            bit 7: sending the reply fails
 *     u16 payload size (capped at VHOST_USER_PAYLOAD_MAX, as vu_conn does)
 *     u8  descriptor count (% 9), then one kind byte per descriptor:
 *            bits 0-1: 0 memfd of (bits 2-6) pages (+512 bytes if bit 7),
 *            1 eventfd, 2 a pipe end, 3 the trusted object or /dev/null
 *     the payload
 *
 * Descriptors the handler does not take are closed after each message, as
 * vu_conn_msg_done() does; an error return disconnects (vu_dev_reset), as
 * the port does. After every message the session's invariants are checked:
 * started rings lie inside the current mappings (and are touched), fds the
 * session holds are open eventfds, the kick watch matches; a started ring
 * of either format is used a little (its avail side looked at, its
 * notification wishes written and read), and a stopped one's base suits
 * its format. Multiqueue: GET_QUEUE_NUM says the pairs offered, no ring
 * beyond vu_dev_rings() (2 per pair with PROTOCOL_F_MQ, else 2) starts,
 * and a message for a ring beyond fails the port and changes nothing of
 * that ring. At the end the
 * session is reset and the process must hold exactly the fds it started with,
 * and no mapping of the client's memory.
 */
#include <dirent.h>
#include <linux/virtio_config.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_input.h"
#include "net/virtio_net.h"
#include "util/checked.h"
#include "util/fd_kind.h"
#include "vhost/vu_conn.h"
#include "vhost/vu_dev.h"
#include "virtio/trusted_mem.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MESSAGES 64
#define PAGE 4096u
#define TRUSTED_SIZE (1u << 20)

#define F_FAIL_AFTER 0x10u
#define F_FAIL_STOPPING 0x20u
#define F_FAIL_WATCH 0x40u
#define F_SEND_FAILS 0x80u
#define C0_FLIP_PACKED 0x80u

struct fake {
	struct vu_dev dev;
	bool has_mac;
	uint8_t chaos;  /* the current message's f byte */
	unsigned replies;
	uint32_t last_reply_num; /* a vring state reply's num */
	bool u64_reply;
	uint64_t last_reply_u64; /* a u64 reply's value */
	unsigned pairs;          /* queues= */
	int watched[VU_RINGS_MAX];
	struct log_ratelimit ratelimit;
};

static struct trusted_mem trusted;
static int trusted_fd = -1;

/* ---- invariants --------------------------------------------------------- */

static bool in_mapping(const struct guest_mem *gm, const void *p, uint64_t len)
{
	uintptr_t a = (uintptr_t)p;

	for (unsigned i = 0; i < gm->count; i++) {
		const struct gm_region *r = &gm->region[i];
		uintptr_t h = (uintptr_t)r->host;

		if (a >= h && range_within(a - h, len, 0, r->size))
			return true;
	}
	return false;
}

static void touch(const void *p, uint64_t len)
{
	const volatile uint8_t *b = p;

	(void)b[0];
	(void)b[len - 1];
}

/* A started ring is what the datapath may use at any moment. */
static void check_started_ring(struct vu_dev *dev, unsigned i)
{
	struct vu_ring *r = &dev->ring[i];
	struct vq *vq = &r->vq;
	bool packed = dev->features & (1ull << VIRTIO_F_RING_PACKED);
	bool event_idx = dev->features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	uint64_t d = vq_desc_area_bytes(packed, vq->num),
		 a = vq_driver_area_bytes(packed, vq->num, event_idx),
		 u = vq_device_area_bytes(packed, vq->num, event_idx);
	const void *desc = packed ? (const void *)vq->ring : (const void *)vq->desc;
	const void *drv = packed ? (const void *)vq->driver_event : (const void *)vq->avail;
	const void *dev_area = packed ? (const void *)vq->device_event : (const void *)vq->used;
	bool any;

	FUZZ_CHECK(!dev->failed);
	FUZZ_CHECK(vq->packed == packed);
	FUZZ_CHECK(vq->num == r->num && vq_num_valid(packed, vq->num) &&
		   vq->num <= dev->max_queue_size);
	FUZZ_CHECK(vq->mem == &dev->mem);
	FUZZ_CHECK(vq->event_idx == event_idx);
	FUZZ_CHECK(vq->indirect == !!(dev->features & (1ull << VIRTIO_RING_F_INDIRECT_DESC)));
	FUZZ_CHECK(r->addr_set && r->kick_set);
	FUZZ_CHECK(in_mapping(&dev->mem, desc, d));
	FUZZ_CHECK(in_mapping(&dev->mem, drv, a));
	FUZZ_CHECK(in_mapping(&dev->mem, dev_area, u));
	FUZZ_CHECK((uintptr_t)desc % 16 == 0 &&
		   (uintptr_t)drv % vq_driver_area_align(packed) == 0 &&
		   (uintptr_t)dev_area % vq_device_area_align(packed) == 0);
	FUZZ_CHECK(i < vu_dev_rings(dev));
	if (packed)
		FUZZ_CHECK(vq->pending && vq->id_gen && vq->generation &&
			   vq_base_valid(true, vq->num, vq_base(vq)));
	touch(desc, d);
	touch(drv, a);
	touch(dev_area, u);
	/* What the datapath does first with a ring: its wishes, a look. */
	vq_kicks_reset(vq, i == 1);
	(void)vq_avail(vq, &any);
	(void)vq_needs_signal(vq, &any);
}

static void check_started_rings(struct vu_dev *dev)
{
	for (unsigned i = 0; i < VU_RINGS_MAX; i++)
		if (dev->ring[i].started)
			check_started_ring(dev, i);
}

static void check_eventfd(int fd)
{
	if (fd < 0) {
		FUZZ_CHECK(fd == -1);
		return;
	}
	FUZZ_CHECK(fcntl(fd, F_GETFD) >= 0);
	FUZZ_CHECK(fd_is_eventfd(fd));
}

static void check_session(struct fake *f)
{
	struct vu_dev *dev = &f->dev;
	int held[3 * VU_RINGS_MAX];
	unsigned n = 0;

	FUZZ_CHECK(dev->mem.count <= dev->ds_max);
	FUZZ_CHECK(dev->pairs == f->pairs);
	FUZZ_CHECK(vu_dev_rings(dev) == 2 || vu_dev_rings(dev) == 2 * f->pairs);
	/* The mapped-bytes budget holds whatever the session did. */
	FUZZ_CHECK(gm_mapped_bytes(&dev->mem) <= dev->mem_max);
	for (unsigned i = 0; i < dev->mem.count; i++) {
		const struct gm_region *r = &dev->mem.region[i];

		FUZZ_CHECK(r->size > 0 && r->host && r->map_base);
		FUZZ_CHECK((uintptr_t)r->host >= (uintptr_t)r->map_base);
		FUZZ_CHECK(range_within((uintptr_t)r->host - (uintptr_t)r->map_base, r->size, 0,
					r->map_len));
		for (unsigned j = 0; j < i; j++) {
			const struct gm_region *o = &dev->mem.region[j];

			FUZZ_CHECK(r->gpa >= o->gpa + o->size || o->gpa >= r->gpa + r->size);
			FUZZ_CHECK(r->uva >= o->uva + o->size || o->uva >= r->uva + r->size);
		}
	}
	/* The cached translation is nothing, or exactly one of the regions. */
	if (dev->mem.hit.size) {
		bool found = false;

		for (unsigned i = 0; i < dev->mem.count; i++) {
			const struct gm_region *r = &dev->mem.region[i];

			found |= r->gpa == dev->mem.hit.gpa && r->size == dev->mem.hit.size &&
				 r->host == dev->mem.hit.host;
		}
		FUZZ_CHECK(found);
	}
	check_started_rings(dev);
	for (unsigned i = 0; i < VU_RINGS_MAX; i++) {
		struct vu_ring *r = &dev->ring[i];

		/* The format may still change: a size fit for either. */
		FUZZ_CHECK(r->num == 0 || (vq_num_valid(true, r->num) && r->num <= dev->max_queue_size));
		if (!r->kick_set)
			FUZZ_CHECK(r->kick_fd == -1);
		FUZZ_CHECK(f->watched[i] == r->kick_fd);
		check_eventfd(r->kick_fd);
		check_eventfd(r->call_fd);
		check_eventfd(r->err_fd);
		if (r->kick_fd >= 0)
			held[n++] = r->kick_fd;
		if (r->call_fd >= 0)
			held[n++] = r->call_fd;
		if (r->err_fd >= 0)
			held[n++] = r->err_fd;
	}
	/* Each descriptor the client sent has one owner. */
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(held[i] != held[j]);
	FUZZ_CHECK(memchr(dev->last_error, '\0', sizeof dev->last_error));
}

/* ---- fake device ops ------------------------------------------------------ */

static uint64_t fake_features(void *ctx)
{
	struct fake *f = ctx;

	return vnet_offered_features(f->has_mac, f->pairs);
}

static int fake_config(void *ctx, uint32_t off, uint32_t len, uint8_t *out)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 9 };

	struct fake *f = ctx;

	return vnet_config_read(mac, f->has_mac, f->pairs, off, len, out);
}

/* The port drains TX here, servicing every started ring: they must all be
 * usable, the stopping one included. */
static void fake_stopping(void *ctx, unsigned idx)
{
	struct fake *f = ctx;

	FUZZ_CHECK(idx < vu_dev_rings(&f->dev));
	FUZZ_CHECK(f->dev.ring[idx].started);
	check_started_rings(&f->dev);
	if (f->chaos & F_FAIL_STOPPING)
		vu_dev_fail(&f->dev, "fuzz: the drain found the client at fault");
}

/* As the link's ports: TX rings (odd) keep running while off. */
static bool fake_runs_while_off(void *ctx, unsigned idx)
{
	(void)ctx;
	return idx % 2 == 1;
}

static void fake_changed(void *ctx)
{
	(void)ctx;
}

static void fake_watch(void *ctx, unsigned idx, int fd)
{
	struct fake *f = ctx;

	FUZZ_CHECK(idx < VU_RINGS_MAX);
	FUZZ_CHECK(fd == -1 || fd_is_eventfd(fd));
	/* Watching twice without unwatching would leak an event loop entry. */
	FUZZ_CHECK(fd == -1 || f->watched[idx] == -1);
	f->watched[idx] = fd;
	if (fd >= 0 && (f->chaos & F_FAIL_WATCH))
		vu_dev_fail(&f->dev, "fuzz: cannot watch the kick descriptor");
}

static int fake_send(void *ctx, const void *buf, size_t len)
{
	struct fake *f = ctx;
	struct vhost_user_header h;

	FUZZ_CHECK(len >= sizeof h && len <= sizeof h + VHOST_USER_PAYLOAD_MAX);
	memcpy(&h, buf, sizeof h);
	FUZZ_CHECK(h.flags & VHOST_USER_REPLY_MASK);
	FUZZ_CHECK((h.flags & VHOST_USER_VERSION_MASK) == VHOST_USER_VERSION);
	FUZZ_CHECK(sizeof h + h.size == len);
	if (h.size == sizeof(struct vhost_user_vring_state))
		memcpy(&f->last_reply_num, (const uint8_t *)buf + sizeof h + 4, 4);
	f->u64_reply = h.size == 8;
	if (f->u64_reply)
		memcpy(&f->last_reply_u64, (const uint8_t *)buf + sizeof h, 8);
	f->replies++;
	return (f->chaos & F_SEND_FAILS) ? -EAGAIN : 0;
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

/* ---- descriptors a client might send -------------------------------------- */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	FUZZ_CHECK(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Mappings of the memfds made here (region memory and the trusted object):
 * a region the session forgets to unmap leaks no fd, only this. */
static int count_region_maps(void)
{
	static char buf[1 << 16];
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), n = 0;
	size_t have = 0;
	ssize_t got;

	FUZZ_CHECK(fd >= 0);
	for (;;) {
		char *line, *nl;

		got = read(fd, buf + have, sizeof buf - 1 - have);
		FUZZ_CHECK(got >= 0);
		have += (size_t)got;
		buf[have] = '\0';
		for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
			*nl = '\0';
			if (strstr(line, "/memfd:fuzz-"))
				n++;
		}
		/* Keep a partial last line for the next read. */
		have = strlen(line);
		memmove(buf, line, have);
		if (got == 0)
			break;
	}
	close(fd);
	return n;
}

static int make_fd(uint8_t kind)
{
	unsigned arg = kind >> 2;
	int fd = -1, p[2];

	switch (kind & 3) {
	case 0:
		fd = memfd_create("fuzz-region", MFD_CLOEXEC);
		if (fd >= 0 && ftruncate(fd, (off_t)((arg & 31) * PAGE + ((arg & 32) ? 512 : 0))) < 0) {
			close(fd);
			fd = -1;
		}
		break;
	case 1:
		fd = eventfd(0, EFD_CLOEXEC);
		break;
	case 2:
		if (pipe2(p, O_CLOEXEC) == 0) {
			fd = p[arg & 1];
			close(p[!(arg & 1)]);
		}
		break;
	case 3:
		fd = (arg & 1) ? fcntl(trusted_fd, F_DUPFD_CLOEXEC, 0)
			       : open("/dev/null", O_RDWR | O_CLOEXEC);
		break;
	}
	/* Running out of descriptors would be a leak in the harness or the
	 * code under test, not a property of the input. */
	FUZZ_CHECK(fd >= 0);
	return fd;
}

/* The ring a message names once its size and descriptors passed the
 * rules (VU_RINGS_MAX: none of ours); false when it names none or does
 * not get that far. */
static bool msg_ring(const struct vu_msg *msg, uint32_t *ring)
{
	uint64_t v;

	switch (msg->hdr.request) {
	case VHOST_USER_SET_VRING_NUM:
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_SET_VRING_ENABLE:
		if (msg->hdr.size != sizeof(struct vhost_user_vring_state) || msg->nfds)
			return false;
		memcpy(ring, msg->payload, 4);
		return true;
	case VHOST_USER_SET_VRING_ADDR:
		if (msg->hdr.size != sizeof(struct vhost_user_vring_addr) || msg->nfds)
			return false;
		memcpy(ring, msg->payload, 4);
		return true;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		if (msg->hdr.size != 8)
			return false;
		memcpy(&v, msg->payload, 8);
		if (msg->nfds != ((v & VHOST_USER_VRING_NOFD_MASK) ? 0 : 1))
			return false;
		*ring = (v & ~(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD_MASK))
				? VU_RINGS_MAX
				: (uint32_t)(v & VHOST_USER_VRING_IDX_MASK);
		return true;
	default:
		return false;
	}
}

/* What a client configured of a ring (not what the port does with it). */
static bool ring_config_equal(const struct vu_ring *a, const struct vu_ring *b)
{
	return a->num == b->num && a->base == b->base && a->addr_set == b->addr_set &&
	       !memcmp(&a->addr, &b->addr, sizeof a->addr) && a->kick_set == b->kick_set &&
	       a->enabled == b->enabled;
}

/* Requests with a reply of their own: the client waits for it whatever happens. */
static bool replies_always(uint32_t request)
{
	switch (request) {
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_GET_QUEUE_NUM:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_GET_MAX_MEM_SLOTS:
		return true;
	default:
		return false;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[160], spec[32];

	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	trusted_fd = memfd_create("fuzz-trusted", MFD_CLOEXEC);
	FUZZ_CHECK(trusted_fd >= 0);
	FUZZ_CHECK(ftruncate(trusted_fd, TRUSTED_SIZE) == 0);
	snprintf(spec, sizeof spec, "fd:%d", trusted_fd);
	FUZZ_CHECK(trusted_mem_register(&trusted, spec, err, sizeof err) == 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fake f; /* a guest_mem is large: not on the stack */
	struct fuzz_input in = { data, size };
	int fds_before = count_fds();
	uint8_t c0 = in_u8(&in), c1 = in_u8(&in);

	memset(&f, 0, sizeof f);
	f.has_mac = c0 & 0x10;
	f.pairs = 1u + (c1 >> 4);
	for (unsigned i = 0; i < VU_RINGS_MAX; i++)
		f.watched[i] = -1;
	vu_dev_init(&f.dev, &ops, &f, "fuzz", 1u << (c1 % 16), 1u + (c0 & 15),
		    (c0 & 0x20) ? &trusted : NULL, &f.ratelimit);
	vu_dev_set_limits(&f.dev, 1u + (c0 & 15), (c0 & 0x40) ? 48 * 1024 : UINT64_MAX, f.pairs);

	for (unsigned m = 0; m < MAX_MESSAGES && in.left; m++) {
		struct vu_msg msg;
		uint8_t req = in_u8(&in), fl = in_u8(&in);
		uint16_t sz = in_u16(&in);
		int nfds = in_u8(&in) % (VHOST_USER_MAX_FDS + 1), rc, stopping;
		bool version_ok, stopping_packed = false, names_ring;
		unsigned stopping_num = 0, rings_before = vu_dev_rings(&f.dev);
		uint32_t ring = 0;
		struct vu_ring ring_was;

		memset(&msg, 0, sizeof msg);
		msg.hdr.request = req >= 0xf0 ? req : req % 64u;
		msg.hdr.flags = (fl & 0x0fu) ^ VHOST_USER_VERSION;
		msg.hdr.size = sz > VHOST_USER_PAYLOAD_MAX ? VHOST_USER_PAYLOAD_MAX : sz;
		for (int i = 0; i < VHOST_USER_MAX_FDS; i++)
			msg.fds[i] = i < nfds ? make_fd(in_u8(&in)) : -1;
		msg.nfds = nfds;
		in_bytes(&in, msg.payload, msg.hdr.size);
		if ((c0 & C0_FLIP_PACKED) && msg.hdr.request == VHOST_USER_SET_FEATURES &&
		    msg.hdr.size >= 8)
			msg.payload[VIRTIO_F_RING_PACKED / 8] ^= 1u << (VIRTIO_F_RING_PACKED % 8);
		/* A ring stopped by GET_VRING_BASE answers where it stands. */
		stopping = -1;
		if (msg.hdr.request == VHOST_USER_GET_VRING_BASE && msg.hdr.size == 8 && nfds == 0) {
			uint32_t idx;

			memcpy(&idx, msg.payload, sizeof idx);
			if (idx < VU_RINGS_MAX && f.dev.ring[idx].started) {
				stopping = (int)idx;
				stopping_packed = f.dev.ring[idx].vq.packed;
				stopping_num = f.dev.ring[idx].vq.num;
			}
		}
		version_ok = (msg.hdr.flags & VHOST_USER_VERSION_MASK) == VHOST_USER_VERSION;
		names_ring = version_ok && msg_ring(&msg, &ring);
		if (names_ring && ring < VU_RINGS_MAX)
			ring_was = f.dev.ring[ring];

		f.chaos = fl;
		f.replies = 0;
		f.u64_reply = false;
		rc = vu_dev_handle(&f.dev, &msg);
		FUZZ_CHECK(rc <= 0);
		/* A ring beyond those the client may use fails its port, and is
		 * not touched. */
		if (names_ring && ring >= rings_before) {
			FUZZ_CHECK(f.dev.failed);
			if (ring < VU_RINGS_MAX)
				FUZZ_CHECK(ring_config_equal(&ring_was, &f.dev.ring[ring]));
		}
		if (version_ok && msg.hdr.request == VHOST_USER_GET_QUEUE_NUM && f.replies &&
		    (msg.hdr.size == 0 || msg.hdr.size == 8) && msg.nfds == 0)
			FUZZ_CHECK(f.u64_reply && f.last_reply_u64 == f.pairs);
		/* vu_conn_msg_done(): the fds nobody took. */
		for (int i = 0; i < msg.nfds; i++)
			if (msg.fds[i] >= 0)
				close(msg.fds[i]);
		FUZZ_CHECK(f.replies <= 1);
		if (version_ok && replies_always(msg.hdr.request))
			FUZZ_CHECK(f.replies == 1);
		if (stopping >= 0 && version_ok) {
			FUZZ_CHECK(!f.dev.ring[stopping].started);
			FUZZ_CHECK(vq_base_valid(stopping_packed, stopping_num, f.last_reply_num));
		}
		f.chaos &= (uint8_t)~(F_FAIL_STOPPING | F_FAIL_WATCH);
		if (rc < 0) {
			vu_dev_reset(&f.dev); /* the port disconnects the client */
		} else if (fl & F_FAIL_AFTER) {
			vu_dev_fail(&f.dev, "fuzz: the datapath found the client at fault");
		} else {
			vu_dev_call(&f.dev, 0);
			vu_dev_call(&f.dev, 1);
		}
		check_session(&f);
		if (getenv("FUZZ_VERBOSE"))
			for (unsigned i = 0; i < VU_RINGS_MAX; i++)
				if (f.dev.ring[i].started)
					fprintf(stderr, "message %u: ring %u runs (%s, %u, base 0x%x)\n", m,
						i, f.dev.ring[i].vq.packed ? "packed" : "split",
						f.dev.ring[i].vq.num, vq_base(&f.dev.ring[i].vq));
	}

	f.chaos = 0;
	vu_dev_reset(&f.dev);
	FUZZ_CHECK(f.dev.mem.count == 0 && !f.dev.failed && f.dev.features == 0);
	for (unsigned i = 0; i < VU_RINGS_MAX; i++) {
		FUZZ_CHECK(!f.dev.ring[i].started && f.watched[i] == -1);
		FUZZ_CHECK(f.dev.ring[i].kick_fd == -1 && f.dev.ring[i].call_fd == -1 &&
			   f.dev.ring[i].err_fd == -1);
	}
	/* Every descriptor of the session is closed again, every region unmapped. */
	FUZZ_CHECK(count_fds() == fds_before);
	FUZZ_CHECK(count_region_maps() == 0);
	return 0;
}
