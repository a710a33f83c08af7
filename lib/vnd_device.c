/* SPDX-License-Identifier: MIT */
/* The virtio-net driver: handshake, ring set-up, sending and receiving. */
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/unix_socket.h"
#include "vhost/vhost_user_proto.h"
#include "vnd_internal.h"
#include "vnd_raw.h"

#define PAGE 4096ull
#define TX_SLOTS_MAX 256u
#define TX_PIECE_MIN 64u
#define WANTED_PROTOCOL_FEATURES                                                       \
	((1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | \
	 (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                            \
	 (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE))
#define LOAD_ONCE(x) (*(const volatile __typeof__(x) *)&(x))

static uint64_t page_up(uint64_t v) { return (v + PAGE - 1) & ~(PAGE - 1); }

static bool has_feature(const struct vnd *d, unsigned bit) { return d->features & (1ull << bit); }

void vnd_config_init(struct vnd_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->features = VND_FEATURES_DEFAULT;
	cfg->queue_size = 256;
	cfg->rx_buf_size = 2048;
	cfg->tx_piece = 512;
	cfg->regions = 1;
}

const char *vnd_last_error(const struct vnd *d) { return d->err[0] ? d->err : "no error"; }
uint64_t vnd_features(const struct vnd *d) { return d->features; }
int vnd_event_fd(const struct vnd *d) { return d->call_fd; }

int vnd_get_mac(struct vnd *d, uint8_t mac[6])
{
	if (!d->has_mac)
		return -ENOENT;
	memcpy(mac, d->mac, 6);
	return 0;
}

/* ---- memory layout -------------------------------------------------------- */

static uint64_t ring_span(unsigned num)
{
	uint64_t avail_end = 16ull * num + 6 + 2ull * num;

	return page_up(avail_end) + page_up(6 + 8ull * num);
}

static int layout_memory(struct vnd *d)
{
	unsigned num = d->cfg.queue_size;
	uint64_t rings = 2 * ring_span(num), rx, tx, max_entries;
	uint8_t *p;
	int rc;

	d->rx_buf = d->cfg.rx_buf_size;
	if (has_feature(d, VIRTIO_NET_F_MRG_RXBUF))
		d->rx_chain = 1;
	else if (d->cfg.rx_chain_descs)
		d->rx_chain = d->cfg.rx_chain_descs;
	else
		d->rx_chain = 1 + (VND_FRAME_MAX + d->rx_buf - 1) / d->rx_buf;
	if (d->rx_chain > num)
		d->rx_chain = num;
	if (d->rx_chain < 2 && !has_feature(d, VIRTIO_NET_F_MRG_RXBUF))
		d->rx_chain = 2;
	if (d->cfg.tx_piece < TX_PIECE_MIN)
		d->cfg.tx_piece = TX_PIECE_MIN;
	max_entries = 3 + VND_FRAME_MAX / TX_PIECE_MIN + 1;
	d->tx_slots = num < TX_SLOTS_MAX ? num : TX_SLOTS_MAX;
	d->tx_slot_size = (uint32_t)page_up(12 + VND_FRAME_MAX + 16 + 16 * max_entries);
	rx = page_up((uint64_t)num * d->rx_buf);
	tx = (uint64_t)d->tx_slots * d->tx_slot_size;
	d->ring_bytes = rings;

	rc = vnd_memory_create(&d->mem, rings + rx + tx + VND_SCRATCH_SIZE, d->cfg.regions, rings,
			       d->cfg.mem_path, d->err, sizeof d->err);
	if (rc < 0)
		return rc;
	p = d->mem.base;
	for (unsigned q = 0; q < VND_QUEUES; q++) {
		struct vnd_queue *vq = &d->q[q];

		vq->num = num;
		vq->desc = (struct vring_desc *)(void *)p;
		vq->avail = (struct vring_avail *)(void *)(p + 16ull * num);
		vq->used = (struct vring_used *)(void *)(p + page_up(16ull * num + 6 + 2ull * num));
		vq->event_idx = has_feature(d, VIRTIO_RING_F_EVENT_IDX);
		p += ring_span(num);
	}
	d->rx_area = p;
	d->tx_area = p + rx;
	d->scratch = d->tx_area + tx;
	return 0;
}

/* ---- ring set-up ------------------------------------------------------------ */

static void post_rx_buffers(struct vnd *d)
{
	struct vnd_queue *q = &d->q[VND_RX];

	for (unsigned head = 0; head + d->rx_chain <= q->num; head += d->rx_chain) {
		for (unsigned j = 0; j < d->rx_chain; j++) {
			struct vring_desc *desc = &q->desc[head + j];
			bool last = j + 1 == d->rx_chain;

			desc->addr = vnd_gpa(&d->mem, d->rx_area + (uint64_t)(head + j) * d->rx_buf);
			/* Without merging, the header gets its own descriptor. */
			desc->len = (d->rx_chain > 1 && j == 0) ? d->hdr_len : d->rx_buf;
			desc->flags = VRING_DESC_F_WRITE | (last ? 0 : VRING_DESC_F_NEXT);
			desc->next = (uint16_t)(head + j + 1);
			q->owner[head + j] = DESC_LIB;
		}
		q->chain_len[head] = (uint16_t)d->rx_chain;
		vnd_queue_put(q, (uint16_t)head);
	}
	q->num_free = 0;
	vnd_queue_want_interrupt(q);
	vnd_queue_flush(q);
}

static void reset_tx_slots(struct vnd *d)
{
	d->tx_free_count = d->tx_slots;
	for (unsigned i = 0; i < d->tx_slots; i++)
		d->tx_free_slots[i] = i;
}

static int start_rings(struct vnd *d)
{
	for (unsigned q = 0; q < VND_QUEUES; q++)
		vnd_queue_reset(&d->q[q]);
	reset_tx_slots(d);
	post_rx_buffers(d);
	vnd_queue_want_interrupt(&d->q[VND_TX]);

	for (unsigned q = 0; q < VND_QUEUES; q++) {
		struct vnd_queue *vq = &d->q[q];
		struct vhost_user_vring_state num = { q, vq->num }, base = { q, 0 }, enable = { q, 1 };
		struct vhost_user_vring_addr addr = {
			.index = q,
			.desc_user_addr = (uint64_t)(uintptr_t)vq->desc,
			.avail_user_addr = (uint64_t)(uintptr_t)vq->avail,
			.used_user_addr = (uint64_t)(uintptr_t)vq->used,
		};
		uint64_t call = q, err = q, kick = q;
		int rc;

		if (d->cfg.call_nofd)
			call |= VHOST_USER_VRING_NOFD_MASK;
		if (d->cfg.kick_nofd)
			kick |= VHOST_USER_VRING_NOFD_MASK;
		if ((rc = vnd_request(d, VHOST_USER_SET_VRING_NUM, &num, sizeof num, NULL, 0, NULL, 0)) ||
		    (rc = vnd_request(d, VHOST_USER_SET_VRING_BASE, &base, sizeof base, NULL, 0, NULL, 0)) ||
		    (rc = vnd_request(d, VHOST_USER_SET_VRING_ADDR, &addr, sizeof addr, NULL, 0, NULL, 0)) ||
		    (rc = vnd_request(d, VHOST_USER_SET_VRING_CALL, &call, sizeof call, &d->call_fd,
				      d->cfg.call_nofd ? 0 : 1, NULL, 0)) ||
		    (rc = vnd_request(d, VHOST_USER_SET_VRING_ERR, &err, sizeof err, &d->err_fd, 1, NULL,
				      0)) ||
		    (rc = vnd_request(d, VHOST_USER_SET_VRING_KICK, &kick, sizeof kick, &vq->kick_fd,
				      d->cfg.kick_nofd ? 0 : 1, NULL, 0)))
			return rc;
		if (d->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)) {
			rc = vnd_request(d, VHOST_USER_SET_VRING_ENABLE, &enable, sizeof enable, NULL, 0,
					 NULL, 0);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int send_memory(struct vnd *d)
{
	bool slots = d->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
	uint8_t payload[VHOST_USER_PAYLOAD_MAX];
	int fds[VHOST_USER_MEM_TABLE_MAX];
	struct vhost_user_mem_table_head head = { .nregions = d->mem.count };

	if (d->cfg.add_mem_reg) {
		if (!slots) {
			vnd_set_error(d, "the device does not offer CONFIGURE_MEM_SLOTS");
			return -ENOTSUP;
		}
		for (unsigned i = 0; i < d->mem.count; i++) {
			const struct vnd_region *r = &d->mem.region[i];
			struct vhost_user_single_region one = { 0 };
			int rc;

			one.region.guest_phys_addr = VND_GPA_BASE + r->offset;
			one.region.memory_size = r->size;
			one.region.userspace_addr = (uint64_t)(uintptr_t)(d->mem.base + r->offset);
			one.region.mmap_offset = r->file_offset;
			rc = vnd_request(d, VHOST_USER_ADD_MEM_REG, &one, sizeof one, &r->fd, 1, NULL, 0);
			if (rc)
				return rc;
		}
		return 0;
	}
	if (d->mem.count > VHOST_USER_MEM_TABLE_MAX) {
		vnd_set_error(d, "%u regions do not fit one memory table (use add_mem_reg)",
			      d->mem.count);
		return -E2BIG;
	}
	memcpy(payload, &head, sizeof head);
	for (unsigned i = 0; i < d->mem.count; i++) {
		const struct vnd_region *r = &d->mem.region[i];
		struct vhost_user_region w = {
			.guest_phys_addr = VND_GPA_BASE + r->offset,
			.memory_size = r->size,
			.userspace_addr = (uint64_t)(uintptr_t)(d->mem.base + r->offset),
			.mmap_offset = r->file_offset,
		};

		memcpy(payload + sizeof head + i * sizeof w, &w, sizeof w);
		fds[i] = r->fd;
	}
	return vnd_request(d, VHOST_USER_SET_MEM_TABLE, payload,
			   (uint32_t)(sizeof head + d->mem.count * sizeof(struct vhost_user_region)),
			   fds, (int)d->mem.count, NULL, 0);
}

static int handshake(struct vnd *d)
{
	uint64_t offered_protocol = 0, v;
	int rc;

	rc = vnd_request(d, VHOST_USER_GET_FEATURES, NULL, 0, NULL, 0, &d->device_features,
			 sizeof d->device_features);
	if (rc)
		return rc;
	rc = vnd_request(d, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, NULL, 0);
	if (rc)
		return rc;
	d->features = d->cfg.features & d->device_features;
	if ((d->device_features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)) &&
	    !d->cfg.no_protocol_features) {
		rc = vnd_request(d, VHOST_USER_GET_PROTOCOL_FEATURES, NULL, 0, NULL, 0,
				 &offered_protocol, sizeof offered_protocol);
		if (rc)
			return rc;
		v = offered_protocol & WANTED_PROTOCOL_FEATURES;
		rc = vnd_request(d, VHOST_USER_SET_PROTOCOL_FEATURES, &v, sizeof v, NULL, 0, NULL, 0);
		if (rc)
			return rc;
		/* Acknowledgements start with the next request. */
		d->protocol_features = v;
		d->features |= 1ull << VHOST_USER_F_PROTOCOL_FEATURES;
	}
	rc = vnd_request(d, VHOST_USER_SET_FEATURES, &d->features, sizeof d->features, NULL, 0,
			 NULL, 0);
	if (rc)
		return rc;
	d->hdr_len = (has_feature(d, VIRTIO_F_VERSION_1) || has_feature(d, VIRTIO_NET_F_MRG_RXBUF))
			     ? 12 : 10;
	if ((d->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_CONFIG)) &&
	    has_feature(d, VIRTIO_NET_F_MAC)) {
		struct vhost_user_config_head ask = { .offset = 0, .size = 6 };
		/* The request carries room for the answer, as the spec has it. */
		uint8_t request[sizeof ask + 6] = { 0 }, reply[sizeof ask + 6];

		memcpy(request, &ask, sizeof ask);
		rc = vnd_request(d, VHOST_USER_GET_CONFIG, request, sizeof request, NULL, 0, reply,
				 sizeof reply);
		if (rc)
			return rc;
		memcpy(d->mac, reply + sizeof ask, 6);
		d->has_mac = true;
	}
	if (d->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
		rc = vnd_request(d, VHOST_USER_GET_MAX_MEM_SLOTS, NULL, 0, NULL, 0, &d->max_mem_slots,
				 sizeof d->max_mem_slots);
		if (rc)
			return rc;
	}
	rc = layout_memory(d);
	if (rc)
		return rc;
	rc = send_memory(d);
	if (rc)
		return rc;
	return start_rings(d);
}

static int make_eventfd(void)
{
	return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

int vnd_open_fd(struct vnd **out, int fd, const struct vnd_config *cfg)
{
	struct vnd *d;
	unsigned num;
	int rc;

	*out = NULL;
	d = calloc(1, sizeof *d);
	if (!d)
		return -ENOMEM;
	d->sock = fd;
	d->call_fd = d->err_fd = -1;
	d->mem.file_fd = -1;
	if (cfg)
		d->cfg = *cfg;
	else
		vnd_config_init(&d->cfg);
	if (!d->cfg.queue_size)
		d->cfg.queue_size = 256;
	if (!d->cfg.rx_buf_size)
		d->cfg.rx_buf_size = 2048;
	if (!d->cfg.tx_piece)
		d->cfg.tx_piece = 512;
	if (!d->cfg.regions)
		d->cfg.regions = 1;
	num = d->cfg.queue_size;
	if (num > 32768 || (num & (num - 1)) || d->cfg.rx_buf_size < 64) {
		free(d);
		return -EINVAL;
	}
	for (unsigned q = 0; q < VND_QUEUES; q++) {
		d->q[q].kick_fd = make_eventfd();
		d->q[q].owner = calloc(num, 1);
		d->q[q].chain_len = calloc(num, sizeof(uint16_t));
		d->q[q].tx_slot = calloc(num, sizeof(uint32_t));
	}
	d->call_fd = make_eventfd();
	d->err_fd = make_eventfd();
	d->tx_free_slots = calloc(num, sizeof(uint32_t));
	rc = -ENOMEM;
	if (d->call_fd < 0 || d->err_fd < 0 || !d->tx_free_slots || d->q[0].kick_fd < 0 ||
	    d->q[1].kick_fd < 0 || !d->q[0].owner || !d->q[1].owner || !d->q[0].chain_len ||
	    !d->q[1].chain_len || !d->q[0].tx_slot || !d->q[1].tx_slot)
		goto fail;
	rc = handshake(d);
	if (rc)
		goto fail;
	*out = d;
	return 0;
fail:
	/* The caller keeps its descriptor when opening fails. */
	d->sock = -1;
	vnd_close(d);
	return rc;
}

int vnd_open_path(struct vnd **out, const char *path, const struct vnd_config *cfg)
{
	int fd = unix_connect(path), rc;

	if (fd < 0)
		return fd;
	rc = vnd_open_fd(out, fd, cfg);
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
	for (unsigned q = 0; q < VND_QUEUES; q++) {
		if (d->q[q].kick_fd >= 0)
			close(d->q[q].kick_fd);
		free(d->q[q].owner);
		free(d->q[q].chain_len);
		free(d->q[q].tx_slot);
	}
	if (d->call_fd >= 0)
		close(d->call_fd);
	if (d->err_fd >= 0)
		close(d->err_fd);
	free(d->tx_free_slots);
	vnd_memory_destroy(&d->mem);
	free(d);
}

/* ---- transmit ---------------------------------------------------------------- */

int vnd_tx_reclaim(struct vnd *d)
{
	struct vnd_queue *q = &d->q[VND_TX];
	uint16_t pending = vnd_queue_used_pending(q);

	for (; pending; pending--) {
		struct vring_used_elem e = q->used->ring[q->last_used & (q->num - 1)];

		q->last_used++;
		if (e.id >= q->num || q->owner[e.id] != DESC_LIB || !q->chain_len[e.id]) {
			if (e.id < q->num && q->owner[e.id] == DESC_RAW)
				continue; /* a test's own chain */
			vnd_set_error(d, "device returned TX descriptor %u that was not in flight", e.id);
			return -EIO;
		}
		d->tx_free_slots[d->tx_free_count++] = q->tx_slot[e.id];
		vnd_queue_free_chain(q, (uint16_t)e.id);
	}
	vnd_queue_want_interrupt(q);
	return (int)(d->tx_slots - d->tx_free_count);
}

static void add_desc(struct vring_desc *table, uint16_t i, uint64_t addr, uint32_t len,
		     bool more, uint16_t next)
{
	table[i].addr = addr;
	table[i].len = len;
	table[i].flags = more ? VRING_DESC_F_NEXT : 0;
	table[i].next = next;
}

/* Fill a chain of n descriptors (table entries first..) over the slot's
 * header and frame according to the layout; returns entries used. */
static unsigned build_chain(struct vnd *d, struct vring_desc *table, const uint16_t *idx,
			    uint64_t slot_gpa, size_t len, enum vnd_tx_layout layout)
{
	unsigned n = 0, hdr = d->hdr_len;
	uint32_t piece = d->cfg.tx_piece;

	if (layout == VND_TX_ONE_DESC) {
		add_desc(table, idx[0], slot_gpa, (uint32_t)(hdr + len), false, 0);
		return 1;
	}
	if (layout == VND_TX_SCATTER) {
		add_desc(table, idx[n], slot_gpa, 5, true, idx[n + 1]);
		n++;
		add_desc(table, idx[n], slot_gpa + 5, hdr - 5, len > 0, len ? idx[n + 1] : 0);
		n++;
	} else {
		add_desc(table, idx[n], slot_gpa, hdr, len > 0, len ? idx[n + 1] : 0);
		n++;
	}
	if (layout == VND_TX_HDR_SPLIT)
		piece = (uint32_t)len;
	for (size_t off = 0; off < len; off += piece) {
		uint32_t l = (uint32_t)(len - off < piece ? len - off : piece);
		bool more = off + l < len;

		add_desc(table, idx[n], slot_gpa + hdr + off, l, more, more ? idx[n + 1] : 0);
		n++;
	}
	return n;
}

static unsigned chain_entries(struct vnd *d, size_t len, enum vnd_tx_layout layout)
{
	unsigned frame_pieces = len ? (unsigned)((len + d->cfg.tx_piece - 1) / d->cfg.tx_piece) : 0;

	switch (layout) {
	case VND_TX_ONE_DESC: return 1;
	case VND_TX_HDR_SPLIT: return len ? 2 : 1;
	case VND_TX_SCATTER: return 2 + frame_pieces;
	case VND_TX_INDIRECT: return 1 + frame_pieces;
	}
	return 1;
}

int vnd_send(struct vnd *d, const void *frame, size_t len, const struct vnd_tx_meta *meta)
{
	struct vnd_queue *q = &d->q[VND_TX];
	enum vnd_tx_layout layout = d->cfg.tx_layout;
	struct virtio_net_hdr_mrg_rxbuf hdr = { 0 };
	uint16_t idx[VND_FRAME_MAX / TX_PIECE_MIN + 8];
	unsigned entries, ring_descs;
	uint8_t *slot;
	uint64_t slot_gpa;
	uint32_t s;
	int head, rc;

	if (len > VND_FRAME_MAX)
		return -EMSGSIZE;
	rc = vnd_tx_reclaim(d);
	if (rc < 0)
		return rc;
	if (layout == VND_TX_INDIRECT && !has_feature(d, VIRTIO_RING_F_INDIRECT_DESC))
		layout = VND_TX_SCATTER;
	entries = chain_entries(d, len, layout);
	if (layout == VND_TX_SCATTER && entries > q->num) {
		layout = VND_TX_HDR_SPLIT; /* too many pieces for this ring */
		entries = chain_entries(d, len, layout);
	}
	ring_descs = layout == VND_TX_INDIRECT ? 1 : entries;
	if (!d->tx_free_count || q->num_free < ring_descs)
		return -EAGAIN;

	head = vnd_queue_alloc(q, ring_descs);
	s = d->tx_free_slots[--d->tx_free_count];
	q->tx_slot[head] = s;
	slot = d->tx_area + (uint64_t)s * d->tx_slot_size;
	slot_gpa = vnd_gpa(&d->mem, slot);

	if (meta && meta->needs_csum) {
		hdr.hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		hdr.hdr.csum_start = meta->csum_start;
		hdr.hdr.csum_offset = meta->csum_offset;
	}
	memcpy(slot, &hdr, d->hdr_len);
	memcpy(slot + d->hdr_len, frame, len);

	if (layout == VND_TX_INDIRECT) {
		uint64_t table_off = (12 + VND_FRAME_MAX + 15) & ~15ull;
		struct vring_desc *table = (struct vring_desc *)(void *)(slot + table_off);

		/* The header, then the frame in tx_piece pieces. */
		uint32_t piece = d->cfg.tx_piece;
		unsigned n = 1;

		add_desc(table, 0, slot_gpa, d->hdr_len, len > 0, 1);
		for (size_t off = 0; off < len; off += piece) {
			uint32_t l = (uint32_t)(len - off < piece ? len - off : piece);
			bool more = off + l < len;

			add_desc(table, (uint16_t)n, slot_gpa + d->hdr_len + off, l, more,
				 (uint16_t)(n + 1));
			n++;
		}
		entries = n;
		q->desc[head].addr = slot_gpa + table_off;
		q->desc[head].len = entries * (uint32_t)sizeof(struct vring_desc);
		q->desc[head].flags = VRING_DESC_F_INDIRECT;
	} else {
		uint16_t d_i = (uint16_t)head;

		for (unsigned i = 0; i < entries; i++) {
			idx[i] = d_i;
			d_i = q->desc[d_i].next;
		}
		build_chain(d, q->desc, idx, slot_gpa, len, layout);
	}
	vnd_queue_publish(q, (uint16_t)head);
	return 0;
}

/* ---- receive ------------------------------------------------------------------ */

static uint8_t *rx_buffer(struct vnd *d, uint32_t desc)
{
	return d->rx_area + (uint64_t)desc * d->rx_buf;
}

static int rx_used(struct vnd *d, uint16_t ahead, uint32_t *id, uint32_t *len)
{
	struct vnd_queue *q = &d->q[VND_RX];
	struct vring_used_elem e = q->used->ring[(uint16_t)(q->last_used + ahead) & (q->num - 1)];
	uint32_t cap = d->rx_chain == 1 ? d->rx_buf : d->hdr_len + (d->rx_chain - 1) * d->rx_buf;

	if (e.id >= q->num || !q->chain_len[e.id] || e.len > cap || e.len < (ahead ? 0 : d->hdr_len)) {
		vnd_set_error(d, "device returned a bad RX element (id %u len %u)", e.id, e.len);
		return -EIO;
	}
	*id = e.id;
	*len = e.len;
	return 0;
}

ssize_t vnd_recv(struct vnd *d, void *buf, size_t cap, struct vnd_rx_meta *meta)
{
	struct vnd_queue *q = &d->q[VND_RX];
	struct virtio_net_hdr_mrg_rxbuf hdr = { 0 };
	uint16_t pending = vnd_queue_used_pending(q), buffers = 1;
	uint32_t id, len;
	size_t total = 0;
	bool fits = true;
	int rc;

	if (!pending) {
		vnd_queue_want_interrupt(q);
		pending = vnd_queue_used_pending(q);
		if (!pending)
			return -EAGAIN;
	}
	if (pending > q->num) {
		vnd_set_error(d, "device moved the RX used index by %u", pending);
		return -EIO;
	}
	rc = rx_used(d, 0, &id, &len);
	if (rc)
		return rc;
	memcpy(&hdr, rx_buffer(d, id), d->hdr_len);
	if (has_feature(d, VIRTIO_NET_F_MRG_RXBUF)) {
		buffers = hdr.num_buffers;
		if (buffers == 0 || buffers > q->num) {
			vnd_set_error(d, "device sent num_buffers %u", buffers);
			return -EIO;
		}
		if (buffers > pending)
			return -EAGAIN;
	}
	for (uint16_t b = 0; b < buffers; b++) {
		uint32_t skip = b == 0 ? d->hdr_len : 0;

		if (b && (rc = rx_used(d, b, &id, &len)))
			return rc;
		if (d->rx_chain == 1) {
			if (total + len - skip > cap)
				fits = false;
			else
				memcpy((uint8_t *)buf + total, rx_buffer(d, id) + skip, len - skip);
			total += len - skip;
		} else {
			/* Header descriptor, then data descriptors in order. */
			uint32_t left = len - d->hdr_len;

			for (uint32_t j = 1; left; j++) {
				uint32_t n = left < d->rx_buf ? left : d->rx_buf;

				if (total + n > cap)
					fits = false;
				else
					memcpy((uint8_t *)buf + total, rx_buffer(d, id + j), n);
				total += n;
				left -= n;
			}
		}
		vnd_queue_put(q, (uint16_t)id);
	}
	q->last_used = (uint16_t)(q->last_used + buffers);
	vnd_queue_want_interrupt(q);
	vnd_queue_flush(q);
	if (meta) {
		meta->flags = hdr.hdr.flags;
		meta->gso_type = hdr.hdr.gso_type;
		meta->csum_start = hdr.hdr.csum_start;
		meta->csum_offset = hdr.hdr.csum_offset;
		meta->num_buffers = buffers;
	}
	return fits ? (ssize_t)total : -EMSGSIZE;
}

/* ---- waiting and notifications ---------------------------------------------- */

static bool work_waiting(struct vnd *d)
{
	return vnd_queue_used_pending(&d->q[VND_RX]) || vnd_queue_used_pending(&d->q[VND_TX]);
}

int vnd_wait(struct vnd *d, int timeout_ms)
{
	struct pollfd pfd = { .fd = d->call_fd, .events = POLLIN };
	uint64_t v;

	if (work_waiting(d))
		return 1;
	vnd_queue_want_interrupt(&d->q[VND_RX]);
	vnd_queue_want_interrupt(&d->q[VND_TX]);
	if (work_waiting(d))
		return 1;
	if (d->cfg.call_nofd) {
		for (int waited = 0; waited < timeout_ms * 20; waited++) {
			usleep(50);
			if (work_waiting(d))
				return 1;
		}
		return 0;
	}
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return 0;
	(void)!read(d->call_fd, &v, sizeof v);
	return 1;
}

void vnd_kick(struct vnd *d)
{
	for (unsigned q = 0; q < VND_QUEUES; q++)
		if (d->q[q].kick_fd >= 0)
			(void)!eventfd_write(d->q[q].kick_fd, 1);
}

int vnd_device_failed(struct vnd *d)
{
	uint64_t v;

	if (read(d->err_fd, &v, sizeof v) == (ssize_t)sizeof v)
		d->failed = true;
	return d->failed;
}

int vnd_stop(struct vnd *d)
{
	for (unsigned q = 0; q < VND_QUEUES; q++) {
		struct vhost_user_vring_state st = { q, 0 }, reply;
		int rc = vnd_request(d, VHOST_USER_GET_VRING_BASE, &st, sizeof st, NULL, 0, &reply,
				     sizeof reply);

		if (rc)
			return rc;
		if (reply.index != q) {
			vnd_set_error(d, "GET_VRING_BASE answered for ring %u", reply.index);
			return -EPROTO;
		}
	}
	return 0;
}

int vnd_restart(struct vnd *d)
{
	d->failed = false;
	return start_rings(d);
}

/* ---- test-only access (vnd_raw.h) ------------------------------------------- */

int vnd_raw_ring(struct vnd *d, unsigned q, struct vnd_raw_ring *out)
{
	if (q >= VND_QUEUES)
		return -EINVAL;
	out->desc = d->q[q].desc;
	out->avail = d->q[q].avail;
	out->used = d->q[q].used;
	out->num = d->q[q].num;
	return 0;
}

void *vnd_raw_scratch(struct vnd *d, size_t *size)
{
	*size = VND_SCRATCH_SIZE;
	return d->scratch;
}

uint64_t vnd_raw_gpa(struct vnd *d, const void *host)
{
	const uint8_t *p = host;

	if (p < d->mem.base || p >= d->mem.base + d->mem.size)
		return UINT64_MAX;
	return vnd_gpa(&d->mem, p);
}

int vnd_raw_sock(struct vnd *d) { return d->sock; }

int vnd_raw_memfd(struct vnd *d, unsigned region, uint64_t *offset, uint64_t *size)
{
	if (region >= d->mem.count)
		return -EINVAL;
	*offset = d->mem.region[region].file_offset;
	*size = d->mem.region[region].size;
	return d->mem.region[region].fd;
}

int vnd_raw_request(struct vnd *d, uint32_t request, uint32_t flags, const void *payload,
		    uint32_t size, const int *fds, int nfds, void *reply, uint32_t reply_cap)
{
	return vnd_request_raw(d, request, flags, payload, size, fds, nfds, reply, reply_cap);
}

int vnd_raw_take_descs(struct vnd *d, unsigned q, unsigned count, uint16_t *ids)
{
	struct vnd_queue *vq = &d->q[q];

	if (q >= VND_QUEUES || count > vq->num_free)
		return -ENOSPC;
	for (unsigned i = 0; i < count; i++) {
		ids[i] = vq->free_head;
		vq->free_head = vq->desc[vq->free_head].next;
		vq->owner[ids[i]] = DESC_RAW;
	}
	vq->num_free -= count;
	return 0;
}

void vnd_raw_publish(struct vnd *d, unsigned q, uint16_t head)
{
	vnd_queue_publish(&d->q[q], head);
	if (d->q[q].kick_fd >= 0)
		(void)!eventfd_write(d->q[q].kick_fd, 1);
}
