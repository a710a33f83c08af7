/* SPDX-License-Identifier: MIT */
/*
 * Receive. Every RX descriptor owns a buffer of rx_buf bytes. With
 * MRG_RXBUF each buffer is posted alone and a frame may take several;
 * without it a frame takes one chain: either a single buffer holding
 * header and frame (rx_chain 1), or a descriptor of exactly the header's
 * size followed by data buffers, like Linux's "big packets" mode.
 *
 * Used entries come from the device and are checked before use: a chain
 * we did not post, or a length over its capacity, fails the call (-EIO).
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <string.h>

#include "vnd_internal.h"

struct rx_copy {
	uint8_t *buf;
	size_t cap;
	size_t total;
	bool fits;
};

static uint8_t *rx_buffer(const struct vnd *d, uint16_t desc)
{
	return d->rx_area + (uint64_t)desc * d->rx_buf;
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

static bool post_chain(struct vnd *d)
{
	struct vnd_queue *q = &d->q[VND_RX];
	int head = vnd_queue_alloc(q, d->rx_chain);
	uint16_t at;

	if (head < 0)
		return false;
	at = (uint16_t)head;
	for (unsigned j = 0; j < d->rx_chain; j++) {
		uint16_t more = j + 1 < d->rx_chain ? VRING_DESC_F_NEXT : 0;

		vnd_queue_set_desc(q, at, vnd_gpa(&d->mem, rx_buffer(d, at)), desc_len(d, j),
				   VRING_DESC_F_WRITE | more);
		at = q->next[at];
	}
	vnd_queue_put(q, (uint16_t)head);
	return true;
}

void vnd_rx_fill(struct vnd *d)
{
	while (post_chain(d))
		;
	vnd_queue_flush(&d->q[VND_RX]);
}

bool vnd_rx_waiting(const struct vnd *d)
{
	return !d->stopped && vnd_queue_used_pending(&d->q[VND_RX]);
}

static int check_used(struct vnd *d, struct vring_used_elem e, bool first)
{
	if (!vnd_queue_in_flight(&d->q[VND_RX], e.id) || e.len > chain_capacity(d) ||
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
static void copy_chain(struct vnd *d, uint16_t head, uint32_t len, uint32_t skip, struct rx_copy *c)
{
	uint16_t at = head;

	for (unsigned j = 0; len; j++) {
		uint32_t n = len < desc_len(d, j) ? len : desc_len(d, j);

		if (n > skip)
			put(c, rx_buffer(d, at) + skip, n - skip);
		skip = skip > n ? skip - n : 0;
		len -= n;
		at = d->q[VND_RX].next[at];
	}
}

ssize_t vnd_recv(struct vnd *d, void *buf, size_t cap, struct vnd_rx_meta *meta)
{
	struct vnd_queue *q = &d->q[VND_RX];
	struct virtio_net_hdr_mrg_rxbuf hdr = { 0 };
	struct rx_copy copy = { .buf = buf, .cap = cap, .fits = true };
	struct vring_used_elem e;
	uint16_t pending, buffers = 1;
	int rc;

	if (d->stopped)
		return -EAGAIN;
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
	rc = check_used(d, e, true);
	if (rc)
		return rc;
	memcpy(&hdr, rx_buffer(d, (uint16_t)e.id), d->hdr_len);
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
			rc = check_used(d, e, false);
			if (rc)
				return rc;
		}
		copy_chain(d, (uint16_t)e.id, e.len, b ? 0 : d->hdr_len, &copy);
		vnd_queue_free_chain(q, (uint16_t)e.id);
	}
	q->last_used = (uint16_t)(q->last_used + buffers);
	vnd_rx_fill(d);
	if (meta) {
		meta->flags = hdr.hdr.flags;
		meta->gso_type = hdr.hdr.gso_type;
		meta->csum_start = hdr.hdr.csum_start;
		meta->csum_offset = hdr.hdr.csum_offset;
		meta->num_buffers = buffers;
		/* A merged frame's header is its first buffer's: it covers the whole frame. */
		meta->gso_size = hdr.hdr.gso_size;
		meta->hdr_len = hdr.hdr.hdr_len;
	}
	if (!copy.fits) {
		vnd_set_error(d, "a frame of %zu bytes does not fit %zu", copy.total, cap);
		return -EMSGSIZE;
	}
	return (ssize_t)copy.total;
}
