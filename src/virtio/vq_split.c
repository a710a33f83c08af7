/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.2, 2.7): the avail ring names chain heads,
 * descriptors link by index, the used ring takes (id, len) elements and
 * becomes visible with one used->idx store per batch.
 */
#include <string.h>

#include "util/checked.h"
#include "virtio/vq_format.h"

void split_init(struct vq *vq, const struct vq_params *p)
{
	uint16_t base = (uint16_t)p->base;

	vq->desc = p->desc;
	vq->avail = p->driver_area;
	vq->used = p->device_area;
	vq->mask = (uint16_t)(p->num - 1);
	vq->last_avail = vq->avail_seen = vq->used_idx = base;
}

uint32_t split_base(const struct vq *vq)
{
	return vq->last_avail;
}

/* Read avail->idx now. */
static enum vq_error refresh(struct vq *vq)
{
	uint16_t idx = LOAD_ONCE(vq->avail->idx);
	uint16_t n = (uint16_t)(idx - vq->last_avail);

	/* Too far ahead, or behind what the driver already made available:
	 * entries cannot be taken back. Ahead is counted from the used index
	 * the driver sees too: entries taken and not yet published are still
	 * the device's, and a driver that posts past them would have us write
	 * more used elements than the ring holds (found by fuzz_virtqueue). */
	if (n > vq->num || (uint16_t)(idx - vq->used_idx) > vq->num ||
	    n < (uint16_t)(vq->avail_seen - vq->last_avail))
		return VQ_ERR_AVAIL_IDX;
	/* Entries and descriptors are read only after the index. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	vq->avail_seen = idx;
	return VQ_OK;
}

enum vq_error split_avail(struct vq *vq, bool *any)
{
	enum vq_error e = VQ_OK;

	if ((uint16_t)(vq->avail_seen - vq->last_avail) <= vq->taken && vq->frozen_left < 0)
		e = refresh(vq);
	*any = (uint16_t)(vq->avail_seen - vq->last_avail) > vq->taken;
	return e;
}

enum vq_error split_take(struct vq *vq, struct vq_chain *c, bool *got)
{
	enum vq_error e = split_avail(vq, got);
	uint16_t head;

	if (e || !*got)
		return e;
	head = LOAD_ONCE(vq->avail->ring[(uint16_t)(vq->last_avail + vq->taken) & vq->mask]);
	if (head >= vq->num)
		return VQ_ERR_HEAD;
	c->table = (const uint8_t *)vq->desc;
	c->table_size = vq->num;
	c->next = head;
	c->has_next = true;
	c->id = head;
	vq->taken++;
	return VQ_OK;
}

enum vq_error split_advance(struct vq_chain *c)
{
	while (c->has_next) {
		struct vq_desc d;
		enum vq_error e;

		if (c->next >= c->table_size)
			return VQ_ERR_NEXT;
		if (++c->hops > c->table_size)
			return VQ_ERR_LOOP;
		if (++c->descs > VQ_PACKET_DESCS_MAX)
			return VQ_ERR_TOO_MANY;
		/* The ring's own descriptors the driver cannot use until we give
		 * them back (vq_all_taken): a table's entries are not among them. */
		if (!c->in_indirect)
			c->vq->taken_descs++;
		desc_load(c->table, c->next, false, &d);

		if (d.flags & VRING_DESC_F_INDIRECT) {
			const uint8_t *table;

			if (!c->vq->indirect)
				return VQ_ERR_INDIRECT_FEATURE;
			if (c->in_indirect)
				return VQ_ERR_INDIRECT_NESTED;
			if (d.flags & VRING_DESC_F_NEXT)
				return VQ_ERR_INDIRECT_NEXT;
			if (d.len == 0 || d.len % 16 || d.len / 16 > c->vq->num)
				return VQ_ERR_INDIRECT_LEN;
			table = gm_gpa_range(c->vq->mem, d.addr, d.len);
			if (!table)
				return VQ_ERR_INDIRECT_ADDR;
			c->table = table;
			c->table_size = d.len / 16;
			c->hops = 0;
			c->next = 0;
			c->in_indirect = true;
			continue;
		}
		c->has_next = d.flags & VRING_DESC_F_NEXT;
		c->next = d.link;
		e = chain_use_desc(c, &d);
		if (e || c->chunk)
			return e;
	}
	return VQ_OK;
}

void split_take_begin(struct vq *vq)
{
	vq->taken = 0;
	vq->taken_descs = 0;
	vq->used_tent = 0;
}

void split_publish(struct vq *vq)
{
	if (!vq->used_pending)
		return;
	vq->used_idx = (uint16_t)(vq->used_idx + vq->used_pending);
	vq->used_pending = 0;
	vq->unsignalled = true;
	/* Elements become visible before the index that covers them. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	STORE_ONCE(vq->used->idx, htole16(vq->used_idx));
}

static uint16_t *avail_event(struct vq *vq)
{
	return (uint16_t *)(void *)&vq->used->ring[vq->num];
}

void split_kicks(struct vq *vq, bool on)
{
	if (vq->event_idx)
		/* An event index behind everything the driver may still add is
		 * never crossed: no kicks. */
		STORE_ONCE(*avail_event(vq),
			   htole16(on ? vq->avail_seen : (uint16_t)(vq->last_avail - 1)));
	else
		STORE_ONCE(vq->used->flags, htole16(on ? 0 : VRING_USED_F_NO_NOTIFY));
}

enum vq_error split_needs_signal(struct vq *vq, bool *signal)
{
	uint16_t old, event;
	bool valid;

	if (!vq->event_idx) {
		*signal = !(le16toh(LOAD_ONCE(vq->avail->flags)) & VRING_AVAIL_F_NO_INTERRUPT);
		return VQ_OK;
	}
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;
	if (!valid) {
		*signal = true;
		return VQ_OK;
	}
	event = le16toh(LOAD_ONCE(vq->avail->ring[vq->num]));
	*signal = vring_need_event(event, vq->used_idx, old);
	return VQ_OK;
}

enum vq_error split_avail_grew(struct vq *vq, bool *grew)
{
	uint16_t seen = vq->avail_seen;
	enum vq_error e;

	/* A stopping ring takes nothing added after the freeze: reading the
	 * index again would move avail_seen past its bound. */
	if (vq->frozen_left >= 0) {
		*grew = false;
		return VQ_OK;
	}
	e = refresh(vq);

	*grew = vq->avail_seen != seen;
	return e;
}

void split_freeze(struct vq *vq)
{
	/* One last look; a bad index leaves what was seen before. */
	(void)refresh(vq);
	vq->frozen_left = (uint16_t)(vq->avail_seen - vq->last_avail);
}
