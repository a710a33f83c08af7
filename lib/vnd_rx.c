/* SPDX-License-Identifier: MIT */
/*
 * Receive. With MRG_RXBUF each buffer is posted alone and a frame may take
 * several; without it a frame takes one chain: either a single buffer
 * holding header and frame (rx_chain 1), or a descriptor of exactly the
 * header's size followed by data buffers, like Linux's "big packets" mode.
 *
 * Split rings: every RX descriptor owns a buffer of rx_buf bytes. Packed
 * rings: every buffer id owns rx_stride bytes, cut into the pieces of
 * rx_piece (one descriptor each), which may also spread the header over
 * several pieces with gaps between them (a layout tests ask for).
 *
 * Used entries come from the device and are checked before use: a chain
 * we did not post, or a length over its capacity, fails the call (-EIO).
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>

#include "vnd_internal.h"

struct rx_copy {
	uint8_t *buf;
	size_t cap;
	size_t total;
	bool fits;
};

static uint8_t *rx_buffer(const struct vnd *d, unsigned pair, uint16_t desc)
{
	return vnd_rx_area(d, pair) + (uint64_t)desc * d->rx_buf;
}

static uint32_t desc_len(const struct vnd *d, unsigned position)
{
	return d->rx_chain > 1 && position == 0 ? d->hdr_len : d->rx_buf;
}

static uint64_t chain_capacity(const struct vnd *d)
{
	if (d->rx_chain == 1)
		return d->rx_buf;
	return d->hdr_len + (uint64_t)(d->rx_chain - 1) * d->rx_buf;
}

static bool post_chain(struct vnd *d, unsigned pair)
{
	struct vnd_queue *q = &d->q[vnd_rx_ring(pair)];
	int head = vnd_queue_alloc(q, d->rx_chain);
	uint16_t at;

	if (head < 0)
		return false;
	at = (uint16_t)head;
	for (unsigned j = 0; j < d->rx_chain; j++) {
		uint16_t more = j + 1 < d->rx_chain ? VRING_DESC_F_NEXT : 0;

		vnd_queue_set_desc(q, at, vnd_gpa(&d->mem, rx_buffer(d, pair, at)), desc_len(d, j),
				   VRING_DESC_F_WRITE | more);
		at = q->next[at];
	}
	vnd_queue_put(q, (uint16_t)head);
	return true;
}

static uint8_t *id_buffer(const struct vnd *d, unsigned pair, uint16_t id)
{
	return vnd_rx_area(d, pair) + (uint64_t)id * d->rx_stride;
}

static bool post_chain_packed(struct vnd *d, unsigned pair)
{
	struct vnd_pqueue *q = &d->pq[vnd_rx_ring(pair)];
	unsigned n = d->rx_pieces;
	uint64_t base;
	uint16_t id;

	if (!vnd_pq_room(q, n))
		return false;
	id = vnd_pq_begin(q, n);
	base = vnd_gpa(&d->mem, id_buffer(d, pair, id));
	for (unsigned j = 0; j < n; j++)
		vnd_pq_put(q, base + d->rx_piece[j].off, d->rx_piece[j].len, id,
			   (uint16_t)(VRING_DESC_F_WRITE | (j + 1 < n ? VRING_DESC_F_NEXT : 0)));
	return true;
}

static void fill_split(struct vnd *d, unsigned pair)
{
	while (post_chain(d, pair))
		;
	vnd_queue_flush(&d->q[vnd_rx_ring(pair)]);
}

static void fill_packed(struct vnd *d, unsigned pair)
{
	/* One batch: its first descriptor made available last. */
	while (post_chain_packed(d, pair))
		;
	vnd_pq_flush(&d->pq[vnd_rx_ring(pair)]);
}

void vnd_rx_fill(struct vnd *d)
{
	for (unsigned p = 0; p < d->pairs; p++) {
		if (d->packed)
			fill_packed(d, p);
		else
			fill_split(d, p);
	}
}

static bool pair_rx_waiting(const struct vnd *d, unsigned pair)
{
	unsigned r = vnd_rx_ring(pair);

	return d->packed ? vnd_pq_has_used(&d->pq[r]) : vnd_queue_used_pending(&d->q[r]);
}

/* A disabled pair's RX ring may still hold frames the device delivered
 * before: they count too. */
bool vnd_rx_waiting(const struct vnd *d)
{
	if (d->stopped)
		return false;
	for (unsigned p = 0; p < d->pairs; p++)
		if (pair_rx_waiting(d, p))
			return true;
	return false;
}

/* Header pieces for a test's layout: bytes of each of n pieces, 16 bytes
 * apart in the buffer (gaps between them). */
#define HDR_PIECE_GAP 16u

int vnd_rx_plan_pieces(struct vnd *d)
{
	unsigned hp = d->rx_hdr_pieces ? d->rx_hdr_pieces : 1;
	bool big = d->rx_chain > 1, hdr_apart = big || hp > 1;
	unsigned n = (hdr_apart ? hp : 0) + (big ? d->rx_chain - 1 : 1), k = 0;
	struct vnd_rx_piece *p;

	if (hp > 1 && (hp > d->hdr_len || (hp + 1) * HDR_PIECE_GAP > d->rx_buf)) {
		vnd_set_error(d, "a header in %u pieces does not fit", hp);
		return -EINVAL;
	}
	if (n > d->pq[VND_RX].num) {
		vnd_set_error(d, "RX chains of %u descriptors do not fit a ring of %u", n,
			      d->pq[VND_RX].num);
		return -EINVAL;
	}
	p = realloc(d->rx_piece, n * sizeof *p);
	if (!p)
		return -ENOMEM;
	d->rx_piece = p;
	/* The header alone first, in hp pieces at 16-byte steps of the first
	 * block; the first piece takes what does not divide evenly. */
	for (unsigned i = 0; hdr_apart && i < hp; i++)
		p[k++] = (struct vnd_rx_piece){ i * HDR_PIECE_GAP,
						d->hdr_len / hp + (i ? 0 : d->hdr_len % hp) };
	if (big) {
		/* Big packets: data in the whole blocks after the header's. */
		for (unsigned j = 1; j < d->rx_chain; j++)
			p[k++] = (struct vnd_rx_piece){ j * d->rx_buf, d->rx_buf };
		d->rx_stride = (uint64_t)d->rx_chain * d->rx_buf;
	} else {
		/* Mergeable buffers: the block, or its rest after the header's pieces. */
		uint32_t off = hdr_apart ? hp * HDR_PIECE_GAP : 0;

		p[k++] = (struct vnd_rx_piece){ off, d->rx_buf - off };
		d->rx_stride = d->rx_buf;
	}
	d->rx_pieces = k;
	d->rx_capacity = 0;
	for (unsigned j = 0; j < k; j++)
		d->rx_capacity += p[j].len;
	return 0;
}

static int check_used(struct vnd *d, const struct vnd_queue *q, struct vring_used_elem e,
		      bool first)
{
	if (!vnd_queue_in_flight(q, e.id) || e.len > chain_capacity(d) ||
	    (first && e.len < d->hdr_len)) {
		vnd_set_error(d, "device returned a bad RX element (id %u len %u)", e.id, e.len);
		return -EIO;
	}
	return 0;
}

static void put(struct rx_copy *c, const uint8_t *from, size_t n)
{
	if (c->total + n > c->cap)
		c->fits = false;
	else
		memcpy(c->buf + c->total, from, n);
	c->total += n;
}

/* The len bytes the device wrote into the chain at head, less the first skip. */
static void copy_chain(struct vnd *d, unsigned pair, uint16_t head, uint32_t len, uint32_t skip,
		       struct rx_copy *c)
{
	uint16_t at = head;

	for (unsigned j = 0; len; j++) {
		uint32_t n = len < desc_len(d, j) ? len : desc_len(d, j);

		if (n > skip)
			put(c, rx_buffer(d, pair, at) + skip, n - skip);
		skip = skip > n ? skip - n : 0;
		len -= n;
		at = d->q[vnd_rx_ring(pair)].next[at];
	}
}

static void fill_meta(struct vnd_rx_meta *meta, const struct virtio_net_hdr_mrg_rxbuf *hdr,
		      uint16_t buffers)
{
	meta->flags = hdr->hdr.flags;
	meta->gso_type = hdr->hdr.gso_type;
	meta->csum_start = hdr->hdr.csum_start;
	meta->csum_offset = hdr->hdr.csum_offset;
	meta->num_buffers = buffers;
	/* A merged frame's header is its first buffer's: it covers the whole frame. */
	meta->gso_size = hdr->hdr.gso_size;
	meta->hdr_len = hdr->hdr.hdr_len;
}

/* The len bytes the device wrote into buffer id's pieces, less the first skip. */
static void copy_id(const struct vnd *d, unsigned pair, uint16_t id, uint32_t len, uint32_t skip,
		    struct rx_copy *c)
{
	const uint8_t *base = id_buffer(d, pair, id);

	for (unsigned j = 0; len; j++) {
		uint32_t n = len < d->rx_piece[j].len ? len : d->rx_piece[j].len;

		if (n > skip)
			put(c, base + d->rx_piece[j].off + skip, n - skip);
		skip = skip > n ? skip - n : 0;
		len -= n;
	}
}

/* A used buffer of ours, its length within the chain (the first holds
 * the whole header); a buffer an in-order batch skipped was filled. */
static int check_packed(struct vnd *d, const struct vnd_pqueue *q, int got, uint16_t id,
			uint32_t *len, bool whole, bool first)
{
	if (got > 0 && whole)
		*len = (uint32_t)d->rx_capacity;
	if (got < 0 || q->id_state[id] != ID_IN_FLIGHT || *len > d->rx_capacity ||
	    (first && *len < d->hdr_len)) {
		vnd_set_error(d, "device returned a bad RX element (id %u len %u)", id,
			      got < 0 ? 0 : *len);
		return -EIO;
	}
	return 0;
}

static ssize_t recv_packed(struct vnd *d, unsigned pair, void *buf, size_t cap,
			   struct vnd_rx_meta *meta)
{
	struct vnd_pqueue *q = &d->pq[vnd_rx_ring(pair)];
	struct virtio_net_hdr_mrg_rxbuf hdr = { 0 };
	struct rx_copy copy = { .buf = buf, .cap = cap, .fits = true };
	struct rx_copy head = { .buf = (uint8_t *)&hdr, .cap = sizeof hdr, .fits = true };
	struct vnd_pcursor start, c, rest;
	uint16_t id, buffers = 1;
	uint32_t len;
	bool whole;
	int got, rc;

	vnd_pq_cursor(q, &start);
	c = start;
	got = vnd_pq_next_used(q, &c, &id, &len, &whole);
	if (got == 0) {
		/* Ask for a signal, then look once more: the device may have been quicker. */
		vnd_pq_enable_irq(q);
		c = start;
		got = vnd_pq_next_used(q, &c, &id, &len, &whole);
		if (got == 0)
			return -EAGAIN;
	}
	rc = check_packed(d, q, got, id, &len, whole, true);
	if (rc)
		return rc;
	copy_id(d, pair, id, d->hdr_len, 0, &head);
	if (vnd_has(d, VIRTIO_NET_F_MRG_RXBUF)) {
		buffers = hdr.num_buffers;
		if (buffers == 0 || buffers > q->nids) {
			vnd_set_error(d, "device sent num_buffers %u", buffers);
			return -EIO;
		}
		/* All of the frame, or nothing yet. */
		rest = c;
		for (uint16_t b = 1; b < buffers; b++) {
			uint16_t other;
			uint32_t olen;

			got = vnd_pq_next_used(q, &rest, &other, &olen, &whole);
			if (got == 0)
				return -EAGAIN;
			if (got < 0)
				return check_packed(d, q, got, other, &olen, whole, false);
		}
	}
	copy_id(d, pair, id, len, d->hdr_len, &copy);
	vnd_pq_free_id(q, id);
	for (uint16_t b = 1; b < buffers; b++) {
		got = vnd_pq_next_used(q, &c, &id, &len, &whole);
		rc = check_packed(d, q, got ? got : -1, id, &len, whole, false);
		if (rc)
			return rc;
		copy_id(d, pair, id, len, 0, &copy);
		vnd_pq_free_id(q, id);
	}
	vnd_pq_consume(q, &c);
	fill_packed(d, pair);
	if (meta)
		fill_meta(meta, &hdr, buffers);
	if (!copy.fits) {
		vnd_set_error(d, "a frame of %zu bytes does not fit %zu", copy.total, cap);
		return -EMSGSIZE;
	}
	return (ssize_t)copy.total;
}

ssize_t vnd_recv_q(struct vnd *d, unsigned pair, void *buf, size_t cap, struct vnd_rx_meta *meta)
{
	struct vnd_queue *q;
	struct virtio_net_hdr_mrg_rxbuf hdr = { 0 };
	struct rx_copy copy = { .buf = buf, .cap = cap, .fits = true };
	struct vring_used_elem e;
	uint16_t pending, buffers = 1;
	int rc;

	if (!vnd_pair_valid(d, pair))
		return -EINVAL;
	if (d->stopped)
		return -EAGAIN;
	if (d->packed)
		return recv_packed(d, pair, buf, cap, meta);
	q = &d->q[vnd_rx_ring(pair)];
	pending = vnd_queue_used_pending(q);
	if (!pending) {
		/* Ask for a signal, then look once more: the device may have been quicker. */
		vnd_queue_enable_irq(q);
		pending = vnd_queue_used_pending(q);
		if (!pending)
			return -EAGAIN;
	}
	if (pending > q->num) {
		vnd_set_error(d, "device moved the RX used index by %u", pending);
		return -EIO;
	}
	e = vnd_queue_used_elem(q, 0);
	rc = check_used(d, q, e, true);
	if (rc)
		return rc;
	memcpy(&hdr, rx_buffer(d, pair, (uint16_t)e.id), d->hdr_len);
	if (vnd_has(d, VIRTIO_NET_F_MRG_RXBUF)) {
		buffers = hdr.num_buffers;
		if (buffers == 0 || buffers > q->num) {
			vnd_set_error(d, "device sent num_buffers %u", buffers);
			return -EIO;
		}
		if (buffers > pending)
			return -EAGAIN; /* the rest is not published yet */
	}
	for (uint16_t b = 0; b < buffers; b++) {
		if (b) {
			e = vnd_queue_used_elem(q, b);
			rc = check_used(d, q, e, false);
			if (rc)
				return rc;
		}
		copy_chain(d, pair, (uint16_t)e.id, e.len, b ? 0 : d->hdr_len, &copy);
		vnd_queue_free_chain(q, (uint16_t)e.id);
	}
	q->last_used = (uint16_t)(q->last_used + buffers);
	fill_split(d, pair);
	if (meta)
		fill_meta(meta, &hdr, buffers);
	if (!copy.fits) {
		vnd_set_error(d, "a frame of %zu bytes does not fit %zu", copy.total, cap);
		return -EMSGSIZE;
	}
	return (ssize_t)copy.total;
}

ssize_t vnd_recv(struct vnd *d, void *buf, size_t cap, struct vnd_rx_meta *meta)
{
	return vnd_recv_q(d, 0, buf, cap, meta);
}
