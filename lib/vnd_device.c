/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net device as the driver sees it: the vhost-user handshake,
 * ring set-up and reset, waiting for the device, and closing.
 */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "util/unix_socket.h"
#include "vhost/vhost_user_proto.h"
#include "vnd_internal.h"

#define WANTED_PROTOCOL_FEATURES                                                       \
	((1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | \
	 (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                            \
	 (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE))

/* Asked for only with more than one queue pair. */
#define MQ_PROTOCOL_FEATURE (1ull << VHOST_USER_PROTOCOL_F_MQ)

/* Features that change rings, notifications, headers or queues in ways
 * this driver does not implement: never accepted, whatever cfg asks.
 * Bit 30 is added by the handshake itself when it is used. The control
 * queue is the frontend's own business (QEMU and DPDK's virtio-user serve
 * it themselves, never the vhost-user device): the library, the frontend
 * here, has none; MQ comes from cfg.queues, not cfg.features. */
#define VHOST_F_LOG_ALL 26
#define VIRTIO_F_NOTIFICATION_DATA_BIT 38
#define FEATURES_NOT_IMPLEMENTED                                                          \
	((1ull << VIRTIO_NET_F_CTRL_VQ) | (1ull << VHOST_F_LOG_ALL) |                         \
	 (1ull << VHOST_USER_F_PROTOCOL_FEATURES) | (1ull << VIRTIO_F_ACCESS_PLATFORM) |       \
	 (1ull << VIRTIO_F_NOTIFICATION_DATA_BIT) | (1ull << VIRTIO_F_RING_RESET) |           \
	 (1ull << VIRTIO_NET_F_HASH_REPORT))

_Static_assert(VND_F_RING_PACKED == VIRTIO_F_RING_PACKED && VND_F_IN_ORDER == VIRTIO_F_IN_ORDER,
	       "VND_F_* ring bits differ from VIRTIO_F_*");

/* A fresh ring's base: index 0 and wrap counter 1 for a packed ring, for
 * both its sides as QEMU sends it (bits 0-15 avail, 16-31 used). */
#define PACKED_FRESH_BASE 0x80008000u

/* How long vnd_wait sleeps between looks at the rings without a call fd. */
#define SPIN_SLEEP_US 50

void vnd_config_init_v1(struct vnd_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->features = VND_FEATURES_DEFAULT;
	cfg->queue_size = 256;
	cfg->rx_buf_size = 2048;
	cfg->tx_piece = 512;
	cfg->regions = 1;
	cfg->queues = 1;
}

/* Why the last vnd_open_*() in this thread failed: its struct is gone. */
static _Thread_local char open_error[sizeof(((struct vnd *)0)->err)];

const char *vnd_last_error(const struct vnd *d)
{
	const char *err = d ? d->err : open_error;

	return err[0] ? err : "no error";
}
uint64_t vnd_features(const struct vnd *d) { return d->features; }
int vnd_event_fd(const struct vnd *d) { return d->call_fd; }

int vnd_get_mac(struct vnd *d, uint8_t mac[6])
{
	if (!d->has_mac)
		return -ENOENT;
	memcpy(mac, d->mac, 6);
	return 0;
}

/* ---- shared memory ---------------------------------------------------------- */

static int set_up_memory(struct vnd *d)
{
	unsigned num = d->cfg.queue_size;
	struct vnd_layout *l = &d->layout;
	int rc;

	d->rx_buf = d->cfg.rx_buf_size;
	if (vnd_has(d, VIRTIO_NET_F_MRG_RXBUF))
		d->rx_chain = 1;
	else if (d->cfg.rx_chain_descs)
		d->rx_chain = d->cfg.rx_chain_descs;
	else
		d->rx_chain = 1 + (VND_FRAME_MAX + d->rx_buf - 1) / d->rx_buf;
	if (d->rx_chain > num)
		d->rx_chain = num;

	/* The layout is the split ring's: a packed ring's parts fit in it. */
	vnd_layout_plan(l, num, d->rx_buf, d->rx_chain, vnd_tx_table_max(num, d->cfg.tx_piece),
			d->cfg.regions, d->pairs);
	rc = vnd_memory_map(&d->mem, l->size, l->region_start, l->regions, d->cfg.mem_path, d->err,
			    sizeof d->err);
	if (rc)
		return rc;
	for (unsigned q = 0; q < d->rings; q++) {
		uint8_t *ring = d->mem.base + q * l->ring_span;

		d->q[q].desc = (struct vring_desc *)(void *)ring;
		d->q[q].avail = (struct vring_avail *)(void *)(ring + l->avail);
		d->q[q].used = (struct vring_used *)(void *)(ring + l->used);
		d->q[q].event_idx = vnd_has(d, VIRTIO_RING_F_EVENT_IDX);
		if (!d->packed)
			continue;
		if (vnd_pq_alloc_state(&d->pq[q], num))
			return -ENOMEM;
		d->pq[q].ring = (struct vring_packed_desc *)(void *)ring;
		d->pq[q].driver_event = (struct vring_packed_desc_event *)(void *)(ring + l->avail);
		d->pq[q].device_event = (struct vring_packed_desc_event *)(void *)(ring + l->used);
		d->pq[q].event_idx = vnd_has(d, VIRTIO_RING_F_EVENT_IDX);
		d->pq[q].in_order = vnd_has(d, VIRTIO_F_IN_ORDER);
		d->pq[q].kick_fd = d->q[q].kick_fd;
	}
	d->rx_area = d->mem.base + l->rx;
	d->tx_area = d->mem.base + l->tx;
	d->scratch = d->mem.base + l->scratch;
	return 0;
}

static struct vhost_user_region describe_region(const struct vnd *d, unsigned i)
{
	const struct vnd_region *r = &d->mem.region[i];

	return (struct vhost_user_region){
		.guest_phys_addr = VND_GPA_BASE + r->offset,
		.memory_size = r->size,
		.userspace_addr = (uint64_t)(uintptr_t)(d->mem.base + r->offset),
		.mmap_offset = r->file_offset,
	};
}

static int add_regions(struct vnd *d)
{
	if (!(d->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS))) {
		vnd_set_error(d, "the device does not offer CONFIGURE_MEM_SLOTS");
		return -ENOTSUP;
	}
	for (unsigned i = 0; i < d->mem.count; i++) {
		struct vhost_user_single_region one = { .region = describe_region(d, i) };
		int rc = vnd_request(d, VHOST_USER_ADD_MEM_REG, &one, sizeof one, &d->mem.region[i].fd,
				     1, NULL, 0);

		if (rc)
			return rc;
	}
	return 0;
}

static int send_memory(struct vnd *d)
{
	struct vhost_user_mem_table_head head = { .nregions = d->mem.count };
	uint8_t payload[sizeof head + VHOST_USER_MEM_TABLE_MAX * sizeof(struct vhost_user_region)];
	int fds[VHOST_USER_MEM_TABLE_MAX];

	if (d->cfg.add_mem_reg)
		return add_regions(d);
	if (d->mem.count > VHOST_USER_MEM_TABLE_MAX) {
		vnd_set_error(d, "%u regions do not fit one memory table (use add_mem_reg)",
			      d->mem.count);
		return -E2BIG;
	}
	memcpy(payload, &head, sizeof head);
	for (unsigned i = 0; i < d->mem.count; i++) {
		struct vhost_user_region r = describe_region(d, i);

		memcpy(payload + sizeof head + i * sizeof r, &r, sizeof r);
		fds[i] = d->mem.region[i].fd;
	}
	return vnd_request(d, VHOST_USER_SET_MEM_TABLE, payload,
			   (uint32_t)(sizeof head + d->mem.count * sizeof(struct vhost_user_region)),
			   fds, (int)d->mem.count, NULL, 0);
}

/* ---- rings -------------------------------------------------------------------- */

int vnd_set_up_ring(struct vnd *d, unsigned q, uint32_t start)
{
	struct vnd_queue *vq = &d->q[q];
	struct vhost_user_vring_state num = { q, vq->num }, base = { q, start };
	struct vhost_user_vring_state enable = { q, d->pair_on[q / 2] };
	/* The packed ring's parts lie where the split ring's would. */
	struct vhost_user_vring_addr addr = {
		.index = q,
		.desc_user_addr = (uint64_t)(uintptr_t)vq->desc,
		.used_user_addr = (uint64_t)(uintptr_t)vq->used,
		.avail_user_addr = (uint64_t)(uintptr_t)vq->avail,
	};
	uint64_t call = q, err = q, kick = q;
	int rc;

	if (d->call_fd < 0)
		call |= VHOST_USER_VRING_NOFD_MASK;
	if (vq->kick_fd < 0)
		kick |= VHOST_USER_VRING_NOFD_MASK;
	if ((rc = vnd_request(d, VHOST_USER_SET_VRING_NUM, &num, sizeof num, NULL, 0, NULL, 0)) ||
	    (rc = vnd_request(d, VHOST_USER_SET_VRING_BASE, &base, sizeof base, NULL, 0, NULL, 0)) ||
	    (rc = vnd_request(d, VHOST_USER_SET_VRING_ADDR, &addr, sizeof addr, NULL, 0, NULL, 0)) ||
	    (rc = vnd_request(d, VHOST_USER_SET_VRING_CALL, &call, sizeof call, &d->call_fd,
			      d->call_fd >= 0, NULL, 0)) ||
	    (rc = vnd_request(d, VHOST_USER_SET_VRING_ERR, &err, sizeof err, &d->err_fd[q], 1, NULL,
			      0)) ||
	    (rc = vnd_request(d, VHOST_USER_SET_VRING_KICK, &kick, sizeof kick, &vq->kick_fd,
			      vq->kick_fd >= 0, NULL, 0)))
		return rc;
	if (vnd_has(d, VHOST_USER_F_PROTOCOL_FEATURES))
		return vnd_request(d, VHOST_USER_SET_VRING_ENABLE, &enable, sizeof enable, NULL, 0,
				   NULL, 0);
	return 0;
}

/* Fresh rings (descriptors a test reserved stay reserved), RX buffers
 * posted, and the device told about both rings. */
static int reset_rings(struct vnd *d)
{
	if (d->packed) {
		int rc = vnd_rx_plan_pieces(d);

		if (rc)
			return rc;
		for (unsigned p = 0; p < d->pairs; p++) {
			struct vnd_pqueue *rx = &d->pq[vnd_rx_ring(p)], *tx = &d->pq[vnd_tx_ring(p)];

			vnd_pq_reset(rx, rx->num / d->rx_pieces);
			vnd_pq_reset(tx, tx->num);
		}
		return 0;
	}
	for (unsigned q = 0; q < d->rings; q++)
		vnd_queue_reset(&d->q[q]);
	return 0;
}

static int start_rings(struct vnd *d)
{
	int rc = reset_rings(d);

	if (rc)
		return rc;
	d->tx_in_flight = 0;
	memset(d->pair_in_flight, 0, sizeof d->pair_in_flight);
	d->stopped = false;
	d->failed = false;
	vnd_rx_fill(d);
	for (unsigned p = 0; p < d->pairs; p++) {
		if (d->packed)
			vnd_pq_disable_irq(&d->pq[vnd_tx_ring(p)]);
		else
			vnd_queue_disable_irq(&d->q[vnd_tx_ring(p)]);
	}
	for (unsigned q = 0; q < d->rings; q++) {
		rc = vnd_set_up_ring(d, q, d->packed ? PACKED_FRESH_BASE : 0);
		if (rc)
			return rc;
	}
	return 0;
}

int vnd_get_ring_base(struct vnd *d, unsigned q, uint32_t *base)
{
	struct vhost_user_vring_state st = { q, 0 }, reply;
	int rc = vnd_request(d, VHOST_USER_GET_VRING_BASE, &st, sizeof st, NULL, 0, &reply,
			     sizeof reply);

	if (rc)
		return rc;
	if (reply.index != q) {
		vnd_set_error(d, "GET_VRING_BASE for ring %u answered for ring %u", q, reply.index);
		return -EPROTO;
	}
	*base = reply.num;
	return 0;
}

int vnd_stop(struct vnd *d)
{
	int rc;

	for (unsigned q = 0; q < d->rings; q++) {
		uint32_t base;

		rc = vnd_get_ring_base(d, q, &base);
		if (rc)
			return rc;
	}
	/* Everything is ours again, including what tests had reserved. */
	for (unsigned q = 0; q < d->rings; q++)
		vnd_queue_forget_raw(&d->q[q]);
	rc = reset_rings(d);
	if (rc)
		return rc;
	d->tx_in_flight = 0;
	memset(d->pair_in_flight, 0, sizeof d->pair_in_flight);
	d->stopped = true;
	return 0;
}

int vnd_restart(struct vnd *d) { return start_rings(d); }

/* ---- queue pairs ------------------------------------------------------------ */

unsigned vnd_queues(const struct vnd *d) { return d->pairs; }

bool vnd_pair_enabled(const struct vnd *d, unsigned q) { return q < d->pairs && d->pair_on[q]; }

static int send_enable(struct vnd *d, unsigned ring, bool on)
{
	struct vhost_user_vring_state st = { ring, on };

	return vnd_request(d, VHOST_USER_SET_VRING_ENABLE, &st, sizeof st, NULL, 0, NULL, 0);
}

/*
 * A pair on or off as a guest's `ethtool -L` does it: SET_VRING_ENABLE
 * only, the rings keep their places. Off: TX first (the device forwards
 * what the ring holds, then discards what still comes there), then RX;
 * on: RX first, so the pair can take frames before it sends any. Buffers
 * stay posted either way; frames already delivered to an RX ring that goes
 * off stay readable.
 */
int vnd_pair_enable(struct vnd *d, unsigned q, bool on)
{
	unsigned first = on ? vnd_rx_ring(q) : vnd_tx_ring(q);
	unsigned second = on ? vnd_tx_ring(q) : vnd_rx_ring(q);
	int rc;

	if (!vnd_pair_valid(d, q))
		return -EINVAL;
	if (!vnd_has(d, VHOST_USER_F_PROTOCOL_FEATURES)) {
		vnd_set_error(d, "pairs cannot be turned %s without protocol features",
			      on ? "on" : "off");
		return -ENOTSUP;
	}
	if (d->pair_on[q] == on)
		return 0;
	d->pair_on[q] = on;
	/* Stopped rings learn the pair's state when they start again. */
	if (d->stopped)
		return 0;
	if ((rc = send_enable(d, first, on)) || (rc = send_enable(d, second, on)))
		return rc;
	return 0;
}

/* ---- the handshake ------------------------------------------------------------ */

static int read_mac(struct vnd *d)
{
	struct vhost_user_config_head ask = { .offset = 0, .size = 6 }, got;
	/* The request carries room for the answer, as the spec has it. */
	uint8_t request[sizeof ask + 6] = { 0 }, reply[sizeof ask + 6];
	int rc;

	memcpy(request, &ask, sizeof ask);
	rc = vnd_request(d, VHOST_USER_GET_CONFIG, request, sizeof request, NULL, 0, reply,
			 sizeof reply);
	if (rc)
		return rc;
	memcpy(&got, reply, sizeof got);
	if (got.offset != 0 || got.size != 6) {
		vnd_set_error(d, "GET_CONFIG answered for offset %u size %u", got.offset, got.size);
		return -EPROTO;
	}
	memcpy(d->mac, reply + sizeof ask, 6);
	d->has_mac = true;
	return 0;
}

static int negotiate_protocol(struct vnd *d)
{
	uint64_t offered = 0, wanted;
	int rc;

	rc = vnd_request(d, VHOST_USER_GET_PROTOCOL_FEATURES, NULL, 0, NULL, 0, &offered,
			 sizeof offered);
	if (rc)
		return rc;
	wanted = offered & (WANTED_PROTOCOL_FEATURES | (d->pairs > 1 ? MQ_PROTOCOL_FEATURE : 0));
	if (d->pairs > 1 && !(wanted & MQ_PROTOCOL_FEATURE)) {
		vnd_set_error(d, "%u queue pairs asked for, but the device does not offer "
				 "VHOST_USER_PROTOCOL_F_MQ",
			      d->pairs);
		return -ENOTSUP;
	}
	rc = vnd_request(d, VHOST_USER_SET_PROTOCOL_FEATURES, &wanted, sizeof wanted, NULL, 0, NULL,
			 0);
	if (rc)
		return rc;
	/* Acknowledgements start with the next request. */
	d->protocol_features = wanted;
	d->features |= 1ull << VHOST_USER_F_PROTOCOL_FEATURES;
	return 0;
}

/* As many pairs as cfg.queues, or a clear refusal: the device must offer
 * VIRTIO_NET_F_MQ and at least that many pairs (GET_QUEUE_NUM). */
static int check_pairs(struct vnd *d)
{
	uint64_t pairs = 0;
	int rc;

	if (d->pairs == 1)
		return 0;
	if (!(d->device_features & (1ull << VIRTIO_NET_F_MQ))) {
		vnd_set_error(d, "%u queue pairs asked for, but the device does not offer "
				 "VIRTIO_NET_F_MQ (a port with queues=1?)",
			      d->pairs);
		return -ENOTSUP;
	}
	rc = vnd_request(d, VHOST_USER_GET_QUEUE_NUM, NULL, 0, NULL, 0, &pairs, sizeof pairs);
	if (rc)
		return rc;
	if (pairs < d->pairs) {
		vnd_set_error(d, "%u queue pairs asked for, but the device offers %llu", d->pairs,
			      (unsigned long long)pairs);
		return -ENOTSUP;
	}
	d->features |= 1ull << VIRTIO_NET_F_MQ;
	return 0;
}

static int handshake(struct vnd *d)
{
	int rc;

	rc = vnd_request(d, VHOST_USER_GET_FEATURES, NULL, 0, NULL, 0, &d->device_features,
			 sizeof d->device_features);
	if (rc)
		return rc;
	rc = vnd_request(d, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, NULL, 0);
	if (rc)
		return rc;
	d->features = d->cfg.features & d->device_features & ~FEATURES_NOT_IMPLEMENTED &
		      ~(1ull << VIRTIO_NET_F_MQ);
	/* In-order use is handled for packed rings only. */
	if (!vnd_has(d, VIRTIO_F_RING_PACKED))
		d->features &= ~(1ull << VIRTIO_F_IN_ORDER);
	d->packed = vnd_has(d, VIRTIO_F_RING_PACKED);
	if (!d->packed && (d->cfg.queue_size & (d->cfg.queue_size - 1))) {
		vnd_set_error(d, "queue_size %u is not a power of 2, which only packed rings allow, "
				 "and the device does not offer them",
			      d->cfg.queue_size);
		return -EINVAL;
	}
	if ((d->device_features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)) &&
	    !d->cfg.no_protocol_features) {
		rc = negotiate_protocol(d);
		if (rc)
			return rc;
	} else if (d->pairs > 1) {
		vnd_set_error(d, "%u queue pairs need protocol features (VHOST_USER_PROTOCOL_F_MQ)",
			      d->pairs);
		return -ENOTSUP;
	}
	rc = check_pairs(d);
	if (rc)
		return rc;
	rc = vnd_request(d, VHOST_USER_SET_FEATURES, &d->features, sizeof d->features, NULL, 0,
			 NULL, 0);
	if (rc)
		return rc;
	d->hdr_len = vnd_has(d, VIRTIO_F_VERSION_1) || vnd_has(d, VIRTIO_NET_F_MRG_RXBUF)
			     ? sizeof(struct virtio_net_hdr_mrg_rxbuf)
			     : sizeof(struct virtio_net_hdr);
	if ((d->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_CONFIG)) &&
	    vnd_has(d, VIRTIO_NET_F_MAC)) {
		rc = read_mac(d);
		if (rc)
			return rc;
	}
	if (d->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
		rc = vnd_request(d, VHOST_USER_GET_MAX_MEM_SLOTS, NULL, 0, NULL, 0, &d->max_mem_slots,
				 sizeof d->max_mem_slots);
		if (rc)
			return rc;
	}
	rc = set_up_memory(d);
	if (rc)
		return rc;
	rc = send_memory(d);
	if (rc)
		return rc;
	return start_rings(d);
}

/* ---- opening and closing ----------------------------------------------------- */

static int take_config(struct vnd *d, const struct vnd_config *cfg)
{
	unsigned num;
	bool packed;

	if (cfg)
		d->cfg = *cfg;
	else
		vnd_config_init_v1(&d->cfg);
	if (!d->cfg.queue_size)
		d->cfg.queue_size = 256;
	if (!d->cfg.rx_buf_size)
		d->cfg.rx_buf_size = 2048;
	if (!d->cfg.tx_piece)
		d->cfg.tx_piece = 512;
	if (!d->cfg.regions)
		d->cfg.regions = 1;
	if (!d->cfg.queues)
		d->cfg.queues = 1;
	num = d->cfg.queue_size;
	/* Packed rings take any size; should the device offer split rings
	 * only, the handshake checks the size again. */
	packed = d->cfg.features & (1ull << VND_F_RING_PACKED);
	if (num > VND_QUEUE_MAX || (!packed && (num & (num - 1))))
		vnd_set_error(d, "queue_size %u is not %s up to %u", num,
			      packed ? "a ring size" : "a power of 2", VND_QUEUE_MAX);
	else if (d->cfg.rx_buf_size < 64)
		vnd_set_error(d, "rx_buf_size %u is under 64", d->cfg.rx_buf_size);
	else if (d->cfg.tx_layout > VND_TX_SCATTER)
		vnd_set_error(d, "unknown tx_layout %d", (int)d->cfg.tx_layout);
	else if (d->cfg.regions > VND_MAX_REGIONS)
		vnd_set_error(d, "%u regions are over %u", d->cfg.regions, VND_MAX_REGIONS);
	else if (d->cfg.queues > VND_PAIRS_MAX)
		vnd_set_error(d, "queues %u is over %u", d->cfg.queues, VND_PAIRS_MAX);
	else {
		d->pairs = d->cfg.queues;
		d->rings = 2 * d->pairs;
		for (unsigned p = 0; p < d->pairs; p++)
			d->pair_on[p] = true;
		return 0;
	}
	return -EINVAL;
}

static int make_eventfd(int *fd)
{
	*fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

static int make_notifiers(struct vnd *d)
{
	int rc = 0;

	if (!d->cfg.call_nofd)
		rc = make_eventfd(&d->call_fd);
	for (unsigned q = 0; q < d->rings && !rc; q++) {
		rc = make_eventfd(&d->err_fd[q]);
		if (!rc && !d->cfg.kick_nofd)
			rc = make_eventfd(&d->q[q].kick_fd);
		if (!rc && vnd_queue_alloc_state(&d->q[q], d->cfg.queue_size))
			rc = -ENOMEM;
	}
	return rc;
}

int vnd_open_fd_v1(struct vnd **out, int fd, const struct vnd_config *cfg)
{
	struct vnd *d;
	int rc;

	*out = NULL;
	open_error[0] = '\0';
	d = calloc(1, sizeof *d);
	if (!d)
		return -ENOMEM;
	d->sock = -1;
	d->call_fd = -1;
	d->mem.file_fd = -1;
	for (unsigned q = 0; q < VND_RINGS_MAX; q++)
		d->err_fd[q] = d->q[q].kick_fd = -1;
	rc = take_config(d, cfg);
	if (!rc)
		rc = make_notifiers(d);
	if (!rc) {
		d->sock = fd;
		rc = handshake(d);
	}
	if (rc) {
		if (!d->err[0])
			vnd_set_error(d, "%s", strerror(-rc));
		memcpy(open_error, d->err, sizeof open_error);
		d->sock = -1; /* the caller keeps its descriptor when opening fails */
		vnd_close(d);
		return rc;
	}
	*out = d;
	return 0;
}

int vnd_open_path_v1(struct vnd **out, const char *path, const struct vnd_config *cfg)
{
	int fd = unix_connect(path), rc;

	if (fd < 0) {
		snprintf(open_error, sizeof open_error, "cannot connect to %s: %s", path,
			 strerror(-fd));
		return fd;
	}
	rc = vnd_open_fd_v1(out, fd, cfg);
	if (rc)
		close(fd);
	return rc;
}

void vnd_close(struct vnd *d)
{
	if (!d)
		return;
	if (d->sock >= 0)
		close(d->sock);
	if (d->call_fd >= 0)
		close(d->call_fd);
	for (unsigned q = 0; q < VND_RINGS_MAX; q++) {
		if (d->q[q].kick_fd >= 0)
			close(d->q[q].kick_fd);
		if (d->err_fd[q] >= 0)
			close(d->err_fd[q]);
		vnd_queue_free_state(&d->q[q]);
		vnd_pq_free_state(&d->pq[q]);
	}
	free(d->rx_piece);
	vnd_memory_unmap(&d->mem);
	free(d);
}

/* ---- waiting and notifications ---------------------------------------------- */

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool device_has_news(const struct vnd *d)
{
	return vnd_rx_waiting(d) || vnd_tx_has_used(d);
}

static void enable_irq(struct vnd *d, unsigned q)
{
	if (d->packed)
		vnd_pq_enable_irq(&d->pq[q]);
	else
		vnd_queue_enable_irq(&d->q[q]);
}

int vnd_wait(struct vnd *d, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : now_us() + (int64_t)timeout_ms * 1000;
	uint64_t count;

	/* Finished TX is collected here, so that it wakes a waiter only once. */
	if (vnd_tx_collect(d) != 0 || vnd_rx_waiting(d))
		return 1;
	/* Every pair: one call eventfd serves them all. */
	for (unsigned p = 0; p < d->pairs; p++) {
		enable_irq(d, vnd_rx_ring(p));
		if (d->pair_in_flight[p])
			enable_irq(d, vnd_tx_ring(p));
	}
	if (device_has_news(d))
		return 1;
	if (d->call_fd < 0) {
		while (now_us() < deadline) {
			usleep(SPIN_SLEEP_US);
			if (device_has_news(d))
				return 1;
		}
		return 0;
	}
	for (;;) {
		struct pollfd pfd = { .fd = d->call_fd, .events = POLLIN };
		int64_t left = deadline - now_us();
		int n;

		if (left <= 0)
			return 0;
		n = poll(&pfd, 1, timeout_ms < 0 ? -1 : (int)((left + 999) / 1000));
		if (n > 0) {
			(void)!read(d->call_fd, &count, sizeof count);
			return 1;
		}
		if (n == 0 || errno != EINTR)
			return 0;
	}
}

void vnd_kick(struct vnd *d)
{
	for (unsigned q = 0; q < d->rings; q++)
		if (d->q[q].kick_fd >= 0)
			(void)!eventfd_write(d->q[q].kick_fd, 1);
}

int vnd_device_failed(struct vnd *d)
{
	uint64_t count;

	for (unsigned q = 0; q < d->rings; q++)
		if (read(d->err_fd[q], &count, sizeof count) == (ssize_t)sizeof count)
			d->failed = true;
	return d->failed;
}
