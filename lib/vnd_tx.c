/* SPDX-License-Identifier: MIT */
/*
 * Transmit: each frame is copied into the TX slot of its chain's head
 * (split) or buffer id (packed) and described in one of the layouts a
 * device must accept. Each public call picks its ring format once; the
 * descriptor writers are inlined into each format's own path.
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <string.h>

#include "vnd_internal.h"

struct tx_plan {
	enum vnd_tx_layout layout;
	uint32_t piece;      /* frame bytes per descriptor */
	unsigned entries;    /* descriptors of the chain (of the table with INDIRECT) */
	unsigned ring_descs; /* descriptors it takes from the ring */
};

/* Writes a chain's descriptors one after the other: along the ring's
 * links from the head (split), into the ring's next slots (packed), or
 * into an indirect table. */
struct desc_writer {
	struct vnd_queue *q;
	struct vnd_pqueue *pq;
	void *table;
	uint16_t at; /* split: the next descriptor; either table: the next entry */
	uint16_t id; /* packed: the buffer id */
	unsigned left;
};

static uint64_t pieces_of(size_t len, uint32_t piece) { return (len + piece - 1) / piece; }

unsigned vnd_tx_table_max(unsigned num, unsigned piece)
{
	uint64_t entries = 1 + pieces_of(VND_FRAME_MAX, piece);

	return entries < num ? (unsigned)entries : num;
}

unsigned vnd_tx_in_flight(const struct vnd *d) { return d->tx_in_flight; }

static int collect_split(struct vnd *d, unsigned pair)
{
	struct vnd_queue *q = &d->q[vnd_tx_ring(pair)];
	uint16_t pending;
	int done = 0;

	pending = vnd_queue_used_pending(q);
	if (pending > q->num) {
		vnd_set_error(d, "device moved the TX used index by %u", pending);
		return -EIO;
	}
	for (; pending; pending--) {
		struct vring_used_elem e = vnd_queue_used_elem(q, 0);

		q->last_used++;
		if (e.id < q->num && q->state[e.id] == DESC_RAW)
			continue; /* a test's own chain */
		if (!vnd_queue_in_flight(q, e.id)) {
			vnd_set_error(d, "device returned TX descriptor %u that was not in flight", e.id);
			return -EIO;
		}
		vnd_queue_free_chain(q, (uint16_t)e.id);
		d->tx_in_flight--;
		d->pair_in_flight[pair]--;
		done++;
	}
	return done;
}

static int collect_packed(struct vnd *d, unsigned pair)
{
	struct vnd_pqueue *q = &d->pq[vnd_tx_ring(pair)];
	struct vnd_pcursor c;
	int done = 0;

	vnd_pq_cursor(q, &c);
	for (;;) {
		uint16_t id;
		uint32_t len;
		bool whole;
		int rc = vnd_pq_next_used(q, &c, &id, &len, &whole);

		if (rc == 0)
			break;
		if (rc < 0) {
			vnd_set_error(d, "device returned TX buffer %u that was not in flight", id);
			return -EIO;
		}
		/* A test's own chain gives its reservation back. */
		if (q->id_state[id] == ID_IN_FLIGHT) {
			d->tx_in_flight--;
			d->pair_in_flight[pair]--;
			done++;
		}
		vnd_pq_free_id(q, id);
		vnd_pq_consume(q, &c);
	}
	return done;
}

/* A disabled pair's TX ring is collected too: the device finishes what
 * it held when the pair went off. */
int vnd_tx_collect(struct vnd *d)
{
	int done = 0;

	if (d->stopped)
		return 0;
	for (unsigned p = 0; p < d->pairs; p++) {
		int rc = d->packed ? collect_packed(d, p) : collect_split(d, p);

		if (rc < 0)
			return rc;
		done += rc;
	}
	return done;
}

bool vnd_tx_has_used(const struct vnd *d)
{
	if (d->stopped)
		return false;
	for (unsigned p = 0; p < d->pairs; p++) {
		unsigned r = vnd_tx_ring(p);

		if (d->packed ? vnd_pq_has_used(&d->pq[r]) : vnd_queue_used_pending(&d->q[r]))
			return true;
	}
	return false;
}

int vnd_tx_reclaim(struct vnd *d)
{
	int rc = vnd_tx_collect(d);

	return rc < 0 ? rc : (int)d->tx_in_flight;
}

/* The piece size that keeps a frame within room descriptors. */
static uint32_t fit_piece(size_t len, uint32_t piece, unsigned room)
{
	if (pieces_of(len, piece) <= room)
		return piece;
	return (uint32_t)((len + room - 1) / room);
}

static void plan_chain(const struct vnd *d, unsigned num, size_t len, struct tx_plan *p)
{
	enum vnd_tx_layout layout = d->cfg.tx_layout;

	if (layout == VND_TX_INDIRECT && !vnd_has(d, VIRTIO_RING_F_INDIRECT_DESC))
		layout = VND_TX_SCATTER;
	/* Tiny rings cannot hold every layout's header descriptors. */
	if (layout == VND_TX_SCATTER && num < 3)
		layout = VND_TX_HDR_SPLIT;
	if (num < 2)
		layout = VND_TX_ONE_DESC;

	p->layout = layout;
	p->piece = len ? (uint32_t)len : 1;
	p->entries = 1;
	switch (layout) {
	case VND_TX_ONE_DESC:
		break;
	case VND_TX_HDR_SPLIT:
		p->entries = len ? 2 : 1;
		break;
	case VND_TX_SCATTER:
		p->piece = fit_piece(len, d->cfg.tx_piece, num - 2);
		p->entries = 2 + (unsigned)pieces_of(len, p->piece);
		break;
	case VND_TX_INDIRECT:
		p->piece = fit_piece(len, d->cfg.tx_piece, d->layout.tx_table_max - 1);
		p->entries = 1 + (unsigned)pieces_of(len, p->piece);
		break;
	}
	p->ring_descs = layout == VND_TX_INDIRECT ? 1 : p->entries;
}

/* packed is a constant at every call: each format gets its own copy. */
static inline __attribute__((always_inline)) void emit(struct desc_writer *w, uint64_t addr,
						       uint32_t len, bool packed)
{
	bool more = --w->left > 0;

	if (w->table && packed) {
		/* Only WRITE is valid in a packed indirect table, and TX has none. */
		((struct vring_packed_desc *)w->table)[w->at++] =
			(struct vring_packed_desc){ .addr = addr, .len = len };
	} else if (w->table) {
		((struct vring_desc *)w->table)[w->at] = (struct vring_desc){
			.addr = addr,
			.len = len,
			.flags = more ? VRING_DESC_F_NEXT : 0,
			.next = more ? (uint16_t)(w->at + 1) : 0,
		};
		w->at++;
	} else if (packed) {
		vnd_pq_put(w->pq, addr, len, w->id, more ? VRING_DESC_F_NEXT : 0);
	} else {
		vnd_queue_set_desc(w->q, w->at, addr, len, more ? VRING_DESC_F_NEXT : 0);
		w->at = w->q->next[w->at];
	}
}

static inline __attribute__((always_inline)) void describe(struct vnd *d, struct desc_writer *w,
							   const struct tx_plan *p, uint64_t slot_gpa,
							   size_t len, bool packed)
{
	uint32_t hdr = d->hdr_len;

	switch (p->layout) {
	case VND_TX_ONE_DESC:
		emit(w, slot_gpa, (uint32_t)(hdr + len), packed);
		return;
	case VND_TX_SCATTER:
		emit(w, slot_gpa, 5, packed);
		emit(w, slot_gpa + 5, hdr - 5, packed);
		break;
	case VND_TX_HDR_SPLIT:
	case VND_TX_INDIRECT:
		emit(w, slot_gpa, hdr, packed);
		break;
	}
	for (size_t off = 0; off < len; off += p->piece)
		emit(w, slot_gpa + hdr + off, (uint32_t)(len - off < p->piece ? len - off : p->piece),
		     packed);
}

/* The public names are the spec's values. */
_Static_assert(VND_GSO_NONE == VIRTIO_NET_HDR_GSO_NONE && VND_GSO_TCPV4 == VIRTIO_NET_HDR_GSO_TCPV4 &&
		       VND_GSO_UDP == VIRTIO_NET_HDR_GSO_UDP &&
		       VND_GSO_TCPV6 == VIRTIO_NET_HDR_GSO_TCPV6 && VND_GSO_ECN == VIRTIO_NET_HDR_GSO_ECN,
	       "VND_GSO_* differ from VIRTIO_NET_HDR_GSO_*");
_Static_assert(VND_F_GUEST_TSO4 == VIRTIO_NET_F_GUEST_TSO4 &&
		       VND_F_GUEST_TSO6 == VIRTIO_NET_F_GUEST_TSO6 &&
		       VND_F_GUEST_ECN == VIRTIO_NET_F_GUEST_ECN &&
		       VND_F_GUEST_UFO == VIRTIO_NET_F_GUEST_UFO &&
		       VND_F_HOST_TSO4 == VIRTIO_NET_F_HOST_TSO4 &&
		       VND_F_HOST_TSO6 == VIRTIO_NET_F_HOST_TSO6 &&
		       VND_F_HOST_ECN == VIRTIO_NET_F_HOST_ECN && VND_F_HOST_UFO == VIRTIO_NET_F_HOST_UFO,
	       "VND_F_* offload bits differ from VIRTIO_NET_F_*");

/* GSO the device agreed to, described as the spec demands (5.1.6.2):
 * checked here so that a caller's mistake fails loudly instead of
 * reaching the device as a header it must drop. The rules that need no
 * feature come first, so that they can be tested on any device. */
static int check_gso(struct vnd *d, const struct vnd_tx_meta *meta)
{
	uint8_t type = meta->gso_type & (uint8_t)~VND_GSO_ECN;
	unsigned feature;

	if (meta->gso_type == VND_GSO_NONE)
		return 0;
	if (type == VND_GSO_TCPV4)
		feature = VND_F_HOST_TSO4;
	else if (type == VND_GSO_TCPV6)
		feature = VND_F_HOST_TSO6;
	else if (type == VND_GSO_UDP)
		feature = VND_F_HOST_UFO;
	else if (type == VND_GSO_NONE) {
		vnd_set_error(d, "gso_type 0x%02x: the ECN bit without a GSO type", meta->gso_type);
		return -EINVAL;
	} else {
		vnd_set_error(d, "gso_type 0x%02x is not a type this library knows", meta->gso_type);
		return -EINVAL;
	}
	if ((meta->gso_type & VND_GSO_ECN) && type == VND_GSO_UDP) {
		vnd_set_error(d, "gso_type 0x%02x: the ECN bit is for TCP only", meta->gso_type);
		return -EINVAL;
	}
	if (meta->gso_size == 0) {
		vnd_set_error(d, "gso_type 0x%02x with gso_size 0", meta->gso_type);
		return -EINVAL;
	}
	if (!meta->needs_csum) {
		vnd_set_error(d, "gso_type 0x%02x without needs_csum (GSO requires NEEDS_CSUM)",
			      meta->gso_type);
		return -EINVAL;
	}
	if (!vnd_has(d, feature)) {
		vnd_set_error(d, "gso_type 0x%02x needs %s (feature %u), which was not negotiated",
			      meta->gso_type,
			      feature == VND_F_HOST_TSO4   ? "HOST_TSO4"
			      : feature == VND_F_HOST_TSO6 ? "HOST_TSO6"
							   : "HOST_UFO",
			      feature);
		return -EINVAL;
	}
	if ((meta->gso_type & VND_GSO_ECN) && !vnd_has(d, VND_F_HOST_ECN)) {
		vnd_set_error(d, "gso_type 0x%02x: the ECN bit needs HOST_ECN (feature %u), which was "
				 "not negotiated",
			      meta->gso_type, VND_F_HOST_ECN);
		return -EINVAL;
	}
	return 0;
}

/* The header and the frame into a TX slot. */
static void fill_slot(const struct vnd *d, uint8_t *slot, const void *frame, size_t len,
		      const struct vnd_tx_meta *meta)
{
	struct virtio_net_hdr_mrg_rxbuf hdr = { 0 };

	if (meta && meta->needs_csum) {
		hdr.hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		hdr.hdr.csum_start = meta->csum_start;
		hdr.hdr.csum_offset = meta->csum_offset;
	}
	if (meta) {
		/* Without GSO, hdr_len and gso_size go out as given: a hint the
		 * device may ignore (tests may want to see that it does). */
		hdr.hdr.gso_type = meta->gso_type;
		hdr.hdr.gso_size = meta->gso_size;
		hdr.hdr.hdr_len = meta->hdr_len;
	}
	memcpy(slot, &hdr, d->hdr_len);
	if (len)
		memcpy(slot + d->hdr_len, frame, len);
}

static int send_split(struct vnd *d, unsigned pair, const void *frame, size_t len,
		      const struct vnd_tx_meta *meta)
{
	struct vnd_queue *q = &d->q[vnd_tx_ring(pair)];
	struct desc_writer w = { .q = q };
	struct tx_plan plan;
	uint8_t *slot;
	uint64_t slot_gpa;
	int head, rc;

	rc = collect_split(d, pair);
	if (rc < 0)
		return rc;
	plan_chain(d, q->num, len, &plan);
	if (q->num_free < plan.ring_descs) {
		/* Full: ask to be signalled when the device frees some, then
		 * look once more, as it may have done so meanwhile. */
		vnd_queue_enable_irq(q);
		rc = collect_split(d, pair);
		if (rc < 0)
			return rc;
		if (q->num_free < plan.ring_descs)
			return -EAGAIN;
	}
	/* While sending goes on, completions are collected here, unsignalled. */
	vnd_queue_disable_irq(q);

	head = vnd_queue_alloc(q, plan.ring_descs);
	slot = vnd_tx_area(d, pair) + (uint64_t)head * d->layout.tx_stride;
	slot_gpa = vnd_gpa(&d->mem, slot);
	fill_slot(d, slot, frame, len, meta);

	w.left = plan.entries;
	if (plan.layout == VND_TX_INDIRECT) {
		w.table = slot + d->layout.tx_table;
		describe(d, &w, &plan, slot_gpa, len, false);
		vnd_queue_set_desc(q, (uint16_t)head, slot_gpa + d->layout.tx_table,
				   plan.entries * (uint32_t)sizeof(struct vring_desc),
				   VRING_DESC_F_INDIRECT);
	} else {
		w.at = (uint16_t)head;
		describe(d, &w, &plan, slot_gpa, len, false);
	}
	d->tx_in_flight++;
	d->pair_in_flight[pair]++;
	vnd_queue_put(q, (uint16_t)head);
	vnd_queue_flush(q);
	return 0;
}

static int send_packed(struct vnd *d, unsigned pair, const void *frame, size_t len,
		       const struct vnd_tx_meta *meta)
{
	struct vnd_pqueue *q = &d->pq[vnd_tx_ring(pair)];
	struct desc_writer w = { .pq = q };
	struct tx_plan plan;
	uint8_t *slot;
	uint64_t slot_gpa;
	int rc;

	rc = collect_packed(d, pair);
	if (rc < 0)
		return rc;
	plan_chain(d, q->num, len, &plan);
	if (!vnd_pq_room(q, plan.ring_descs)) {
		/* As with split rings: ask for a signal, then look once more. */
		vnd_pq_enable_irq(q);
		rc = collect_packed(d, pair);
		if (rc < 0)
			return rc;
		if (!vnd_pq_room(q, plan.ring_descs))
			return -EAGAIN;
	}
	vnd_pq_disable_irq(q);

	w.id = vnd_pq_begin(q, plan.ring_descs);
	slot = vnd_tx_area(d, pair) + (uint64_t)w.id * d->layout.tx_stride;
	slot_gpa = vnd_gpa(&d->mem, slot);
	fill_slot(d, slot, frame, len, meta);

	w.left = plan.entries;
	if (plan.layout == VND_TX_INDIRECT) {
		w.table = slot + d->layout.tx_table;
		describe(d, &w, &plan, slot_gpa, len, true);
		vnd_pq_put(q, slot_gpa + d->layout.tx_table,
			   plan.entries * (uint32_t)sizeof(struct vring_packed_desc), w.id,
			   VRING_DESC_F_INDIRECT);
	} else {
		describe(d, &w, &plan, slot_gpa, len, true);
	}
	d->tx_in_flight++;
	d->pair_in_flight[pair]++;
	vnd_pq_flush(q);
	return 0;
}

int vnd_send_q(struct vnd *d, unsigned pair, const void *frame, size_t len,
	       const struct vnd_tx_meta *meta)
{
	int rc;

	if (!vnd_pair_valid(d, pair))
		return -EINVAL;

	if (len > VND_FRAME_MAX) {
		vnd_set_error(d, "a frame of %zu bytes is over %u", len, VND_FRAME_MAX);
		return -EMSGSIZE;
	}
	if (meta) {
		rc = check_gso(d, meta);
		if (rc)
			return rc;
	}
	if (d->stopped) {
		vnd_set_error(d, "the rings are stopped");
		return -ENOTCONN;
	}
	if (!d->pair_on[pair]) {
		vnd_set_error(d, "queue pair %u is disabled", pair);
		return -ENOTCONN;
	}
	return d->packed ? send_packed(d, pair, frame, len, meta)
			 : send_split(d, pair, frame, len, meta);
}

int vnd_send(struct vnd *d, const void *frame, size_t len, const struct vnd_tx_meta *meta)
{
	return vnd_send_q(d, 0, frame, len, meta);
}
