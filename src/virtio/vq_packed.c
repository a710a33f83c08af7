/* SPDX-License-Identifier: MIT */
/*
 * Packed virtqueues (virtio 1.2, 2.8): one ring of descriptors the driver
 * makes available and the device marks used in place, with a wrap counter
 * each; chains are consecutive descriptors (the buffer id in the last),
 * a used element overwrites the first descriptor of its chain, and each
 * side's notification wish lives in an event suppression area.
 *
 * Used elements are kept here until published, then written whole, the
 * flags last and the first element's flags last of all, so the driver
 * never sees part of a batch (or of a packet that took several buffers).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/checked.h"
#include "virtio/vq_format.h"

#define WRAP_BIT 15
#define INDEX_MASK 0x7fffu


int packed_init(struct vq *vq, const struct vq_params *p)
{
	uint16_t avail = (uint16_t)(p->base & INDEX_MASK);
	bool avail_wrap = p->base >> WRAP_BIT & 1;

	vq->ring = p->desc;
	vq->driver_event = p->driver_area;
	vq->device_event = p->device_area;
	vq->avail_slot = vq->take_slot = avail;
	vq->avail_wrap = vq->take_wrap = avail_wrap;
	/* Every chain taken is given back in order, in place, and all of them
	 * before the ring stops: the used side starts where the avail side
	 * does (QEMU says so in bits 16-31 too; DPDK does not say). */
	vq->used_slot = vq->commit_used_slot = vq->pub_slot = avail;
	vq->used_wrap = vq->commit_used_wrap = vq->pub_wrap = avail_wrap;
	vq->empty_slot = avail;
	vq->empty_wrap = avail_wrap;
	vq->pending = calloc(p->num, sizeof *vq->pending);
	/* Generation 1 first: a zeroed table says no id is in use. */
	vq->id_gen = calloc(p->num, sizeof *vq->id_gen);
	vq->generation = 1;
	if (!vq->pending || !vq->id_gen) {
		packed_fini(vq);
		return -ENOMEM;
	}
	return 0;
}

void packed_fini(struct vq *vq)
{
	free(vq->pending);
	free(vq->id_gen);
	vq->pending = NULL;
	vq->id_gen = NULL;
}

uint32_t packed_base(const struct vq *vq)
{
	/* The avail side in bits 0-15 as DPDK reads it; QEMU also reads the
	 * used side in bits 16-31: the same place, once all is published. */
	uint32_t half = vq->avail_slot | (uint32_t)vq->avail_wrap << WRAP_BIT;

	return half | half << 16;
}




enum vq_error packed_avail_check(struct vq *vq, bool *any)
{
	uint16_t flags;

	*any = may_take(vq, &flags);
	return VQ_OK;
}

enum vq_error packed_avail_grew(struct vq *vq, bool *grew)
{
	uint16_t flags;

	*grew = slot_avail(vq, vq->empty_slot, vq->empty_wrap, &flags);
	return VQ_OK;
}

enum vq_error packed_take(struct vq *vq, struct vq_chain *c, bool *got)
{
	uint16_t flags;

	*got = false;
	if (!may_take(vq, &flags))
		return VQ_OK;
	slot_load(vq, vq->take_slot, flags, &c->head);
	c->head_loaded = true;
	c->table = (const uint8_t *)vq->ring;
	c->table_size = vq->num;
	c->next = vq->take_slot;
	c->next_wrap = vq->take_wrap;
	c->has_next = true;
	c->id = 0;
	*got = true;
	vq->taken++;
	return VQ_OK;
}

/* The next descriptor of the chain in the ring, or of its indirect table:
 * loaded (the head was, when taken), counted, and its place in the chain
 * noted. */
static enum vq_error next_desc(struct vq_chain *c, struct vq_desc *d)
{
	if (c->in_indirect) {
		if (++c->descs > VQ_PACKET_DESCS_MAX)
			return VQ_ERR_TOO_MANY;
		desc_load(c->table, c->next, true, d);
		c->next++;
		c->has_next = c->next < c->table_size;
		/* Only WRITE is valid in an indirect table. */
		if (d->flags & VRING_DESC_F_INDIRECT)
			return VQ_ERR_INDIRECT_NESTED;
		if (d->flags & VRING_DESC_F_NEXT)
			return VQ_ERR_INDIRECT_FLAGS;
		return VQ_OK;
	}
	if (++c->hops > c->vq->num)
		return VQ_ERR_LOOP;
	if (++c->descs > VQ_PACKET_DESCS_MAX)
		return VQ_ERR_TOO_MANY;
	if (c->head_loaded) {
		*d = c->head;
		c->head_loaded = false;
	} else {
		/* A chain that runs on into slots we hold (taken, maybe used, not
		 * yet published) would have two used elements cover one slot, the
		 * later overwriting the earlier (found by fuzz_virtqueue). */
		if (slot_held(c->vq, c->next, c->next_wrap))
			return VQ_ERR_LOOP;
		/* The chain's first descriptor was seen available, and the driver
		 * wrote the whole chain before it. */
		desc_load(c->table, c->next, true, d);
	}
	step(c->vq, &c->next, &c->next_wrap, 1);
	c->slots++;
	c->has_next = d->flags & VRING_DESC_F_NEXT;
	if (d->flags & VRING_DESC_F_INDIRECT) {
		if (!c->vq->indirect)
			return VQ_ERR_INDIRECT_FEATURE;
		if (d->flags & VRING_DESC_F_NEXT)
			return VQ_ERR_INDIRECT_NEXT;
	}
	/* The buffer id is in the last descriptor of the chain. */
	if (!c->has_next) {
		if (d->link >= c->vq->num)
			return VQ_ERR_ID;
		/* One given back and not yet published is still in use: refused
		 * here, before anything the walk fed counts (a frame delivered or
		 * captured, then its chain refused by vq_used_done; found by
		 * fuzz_forward). */
		if (packed_busy(c->vq, d->link))
			return VQ_ERR_ID_BUSY;
		c->id = d->link;
	}
	return VQ_OK;
}

/* Enter the indirect table d describes. */
static enum vq_error enter_table(struct vq_chain *c, const struct vq_desc *d)
{
	const uint8_t *table;

	if (d->len == 0 || d->len % 16 || d->len / 16 > c->vq->num)
		return VQ_ERR_INDIRECT_LEN;
	table = gm_gpa_range(c->vq->mem, d->addr, d->len);
	if (!table)
		return VQ_ERR_INDIRECT_ADDR;
	c->table = table;
	c->table_size = d->len / 16;
	c->next = 0;
	c->hops = 0;
	c->in_indirect = true;
	c->has_next = true;
	return VQ_OK;
}

enum vq_error packed_advance(struct vq_chain *c)
{
	while (c->has_next) {
		struct vq_desc d;
		enum vq_error e = next_desc(c, &d);

		if (e)
			return e;
		if ((d.flags & VRING_DESC_F_INDIRECT) && !c->in_indirect) {
			e = enter_table(c, &d);
			if (e)
				return e;
			continue;
		}
		e = chain_use_desc(c, &d);
		if (e || c->chunk)
			return e;
	}
	return VQ_OK;
}

enum vq_error packed_chain_end(struct vq_chain *c)
{
	struct vq *vq = c->vq;

	/* The ring part of the chain only: an indirect table is one slot,
	 * walked or not. */
	while (c->has_next && !c->in_indirect) {
		struct vq_desc d;
		enum vq_error e = next_desc(c, &d);

		if (e)
			return e;
		if (d.flags & VRING_DESC_F_INDIRECT)
			break;
	}
	c->has_next = false;
	step(vq, &vq->take_slot, &vq->take_wrap, c->slots);
	return VQ_OK;
}




void packed_take_begin(struct vq *vq)
{
	for (uint16_t i = 0; i < vq->ntent; i++)
		set_busy(vq, vq->pending[i].id, false);
	vq->ntent = 0;
	vq->taken = 0;
	vq->take_slot = vq->avail_slot;
	vq->take_wrap = vq->avail_wrap;
	vq->used_slot = vq->commit_used_slot;
	vq->used_wrap = vq->commit_used_wrap;
}

void packed_commit(struct vq *vq)
{
	if (vq->frozen_left > 0) {
		/* What a stopping ring gives: counted in slots. */
		uint32_t n = taken_slots(vq);

		vq->frozen_left = n >= (uint32_t)vq->frozen_left ? 0 : vq->frozen_left - (int32_t)n;
	}
	vq->consumed = (uint16_t)(vq->consumed + vq->taken);
	vq->avail_slot = vq->take_slot;
	vq->avail_wrap = vq->take_wrap;
	vq->commit_used_slot = vq->used_slot;
	vq->commit_used_wrap = vq->used_wrap;
	for (uint16_t i = 0; i < vq->ntent; i++)
		packed_emit(vq, vq->pending[i]);
	vq->npending = (uint16_t)(vq->npending + vq->ntent);
	vq->ntent = 0;
	vq->taken = 0;
}

void packed_publish(struct vq *vq)
{
	const struct vq_pending e = vq->first;
	uint8_t *d = (uint8_t *)&vq->ring[e.place & INDEX_MASK];
	uint16_t flags = (uint16_t)((e.place >> WRAP_BIT ? F_AVAIL | F_USED : 0) |
				    (e.len ? VRING_DESC_F_WRITE : 0));
	uint32_t len = htole32(e.len);
	uint16_t id = htole16(e.id);

	if (!vq->has_first)
		return;
	/* Every other element is in the ring already; the first one's flags,
	 * last and behind a barrier, make them all visible at once. */
	__builtin_memcpy(d + 8, &len, 4);
	__builtin_memcpy(d + 12, &id, 2);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	STORE_ONCE(vq->ring[e.place & INDEX_MASK].flags, htole16(flags));
	vq->has_first = false;
	/* Every id given back is free again. */
	if (++vq->generation == 0) {
		memset(vq->id_gen, 0, sizeof *vq->id_gen * vq->num);
		vq->generation = 1;
	}
	/* But for those given back since the last commit: still tentative,
	 * still in use (else the same id could be given back twice before
	 * they are published). */
	for (uint16_t i = 0; i < vq->ntent; i++)
		set_busy(vq, vq->pending[i].id, true);
	vq->pub_slot = vq->commit_used_slot;
	vq->pub_wrap = vq->commit_used_wrap;
	vq->npending = 0;
	vq->unsignalled = true;
}


void packed_kicks(struct vq *vq, bool on)
{
	/* Any addition while we wait, not one descriptor: a receiver short of
	 * buffers has some available already, and the driver kicks only for a
	 * descriptor it makes available from now on. */
	STORE_ONCE(vq->device_event->flags,
		   htole16(on ? VRING_PACKED_EVENT_FLAG_ENABLE : VRING_PACKED_EVENT_FLAG_DISABLE));
}

/* A position as a number that grows across wraps, relative to here. */
static int32_t linear(const struct vq *vq, uint16_t slot, bool wrap)
{
	return wrap == vq->pub_wrap ? (int32_t)slot : (int32_t)slot - vq->num;
}

enum vq_error packed_needs_signal(struct vq *vq, bool *signal)
{
	uint16_t flags = le16toh(LOAD_ONCE(vq->driver_event->flags)) & 3u;
	uint16_t off_wrap, off;
	int32_t old, now, event;
	bool valid = vq->signalled_valid;

	old = linear(vq, vq->signalled_slot, vq->signalled_wrap);
	now = vq->pub_slot;
	vq->signalled_slot = vq->pub_slot;
	vq->signalled_wrap = vq->pub_wrap;
	vq->signalled_valid = true;
	switch (flags) {
	case VRING_PACKED_EVENT_FLAG_ENABLE:
		*signal = true;
		return VQ_OK;
	case VRING_PACKED_EVENT_FLAG_DISABLE:
		*signal = false;
		return VQ_OK;
	case VRING_PACKED_EVENT_FLAG_DESC:
		if (!vq->event_idx)
			return VQ_ERR_EVENT;
		break;
	default:
		return VQ_ERR_EVENT; /* 3 is reserved */
	}
	off_wrap = le16toh(LOAD_ONCE(vq->driver_event->off_wrap));
	off = off_wrap & INDEX_MASK;
	if (off >= vq->num)
		return VQ_ERR_EVENT;
	if (!valid) {
		*signal = true;
		return VQ_OK;
	}
	/* Whether the used element the driver waits for was written since
	 * the last signal: in [old, now). */
	event = linear(vq, off, off_wrap >> WRAP_BIT);
	*signal = event >= old && event < now;
	return VQ_OK;
}

void packed_freeze(struct vq *vq)
{
	/* At most one ring's worth from here, whatever the driver adds. */
	vq->frozen_left = vq->num;
}
