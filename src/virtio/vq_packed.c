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
/* Flags a packed indirect table may carry and we ignore (next_desc). */
#define TABLE_TOLERATED (VRING_DESC_F_NEXT | F_AVAIL | F_USED)

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
	vq->ids_in_place = true;
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
	uint16_t at;

	if (c->in_indirect) {
		if (++c->descs > VQ_PACKET_DESCS_MAX)
			return VQ_ERR_TOO_MANY;
		desc_load(c->table, c->next, true, d);
		c->next++;
		/* The table's length alone says where it ends (2.8.19). */
		c->has_next = c->next < c->table_size;
		if (d->flags & VRING_DESC_F_INDIRECT)
			return VQ_ERR_INDIRECT_NESTED;
		if (d->flags & ~(TABLE_TOLERATED | VRING_DESC_F_WRITE))
			return VQ_ERR_INDIRECT_FLAGS;
		/* Only WRITE is valid here, but DPDK 22.11's virtio-user fills
		 * its packed TX tables as ring descriptors: NEXT on all but
		 * the last entry, the ring's AVAIL/USED bits on each, and
		 * WRITE on the virtio-net header entry (set once at queue
		 * set-up). Refusing them fails every multi-segment packet it
		 * sends. NEXT and the wrap bits mean nothing in a table whose
		 * length counts its entries; a buffer the device only reads
		 * is only read, whatever the driver allowed. */
		d->flags &= (uint16_t)~TABLE_TOLERATED;
		if (!c->device_writes)
			d->flags &= (uint16_t)~VRING_DESC_F_WRITE;
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
		 * wrote the whole chain before it; each of the others must say so
		 * too (2.8.6), or it was never given to us: a driver that chains
		 * into stale slots fails, rather than have them used. */
		desc_load(c->table, c->next, true, d);
		if (!packed_avail(d->flags, c->next_wrap))
			return VQ_ERR_NOT_AVAIL;
	}
	at = c->next;
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
		if (packed_chain_busy(c->vq, d->link, at, c->slots))
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
	/* Nothing taken or given back since the last commit: the positions
	 * agree already (each moves apart only by a take, an end of a chain
	 * taken, or a give-back), as after every packet the general way
	 * delivered. */
	if (!vq->taken && !vq->ntent)
		return;
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

/* After a publication: every id given back is free again, but for those
 * given back since the last commit: still tentative, still in use (else
 * the same id could be given back twice before they are published). */
static void publish_ids(struct vq *vq)
{
	if (++vq->generation == 0) {
		memset(vq->id_gen, 0, sizeof *vq->id_gen * vq->num);
		vq->generation = 1;
	}
	for (uint16_t i = 0; i < vq->ntent; i++)
		set_busy(vq, vq->pending[i].id, true);
	/* With none in use, none names another slot (vq ids_in_place). */
	vq->ids_in_place = vq->ntent == 0;
}

void packed_publish(struct vq *vq)
{
	struct vq_pending e;
	uint8_t *d;
	uint16_t flags, id;
	uint32_t len;

	if (!vq->has_first)
		return;
	e = vq->first;
	d = (uint8_t *)&vq->ring[e.place & INDEX_MASK];
	flags = (uint16_t)((e.place >> WRAP_BIT ? F_AVAIL | F_USED : 0) |
			   (e.len ? VRING_DESC_F_WRITE : 0));
	len = htole32(e.len);
	id = htole16(e.id);
	/* Every other element is in the ring already; the first one's flags,
	 * last and behind a barrier, make them all visible at once. */
	__builtin_memcpy(d + 8, &len, 4);
	__builtin_memcpy(d + 12, &id, 2);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	STORE_ONCE(vq->ring[e.place & INDEX_MASK].flags, htole16(flags));
	vq->has_first = false;
	/* With ids in place and none tentative, none is marked in id_gen:
	 * nothing to free. */
	if (!vq->ids_in_place || vq->ntent)
		publish_ids(vq);
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
	/* What is taken already (its flags were read when taken; the driver
	 * may have written them since), and the slots made available after
	 * it now, walked once (one ring's worth at most, each flag read
	 * once): a driver that adds more from this moment does not move the
	 * bound. A chain's head is made available last, so a chain half
	 * written is not counted. */
	uint32_t n = taken_slots(vq);
	uint16_t slot = vq->take_slot, flags;
	bool wrap = vq->take_wrap;
	/* A chain taken and not yet ended starts at the take position: its
	 * head counts as it was (the datapath freezes between batches, where
	 * none is; after ended ones this counts a slot more than held). */
	bool head_taken = vq->taken != 0;

	while (n < vq->num && (head_taken || slot_avail(vq, slot, wrap, &flags))) {
		head_taken = false;
		n++;
		step(vq, &slot, &wrap, 1);
	}
	vq->frozen_left = (int32_t)n;
}

/* ---- resuming where the ring says ---------------------------------------- */

/* What a slot says of itself: given back (AVAIL == USED) or made
 * available, and the lap of the ring it was written on (its AVAIL bit:
 * the wrap counter of whoever wrote it). */
static bool slot_used(uint16_t flags)
{
	return !(flags & F_AVAIL) == !(flags & F_USED);
}

static bool slot_lap(uint16_t flags)
{
	return flags & F_AVAIL;
}

static uint16_t slot_flags(const struct vq *vq, uint16_t slot)
{
	return load_le16_once((const uint8_t *)&vq->ring[slot] + 14);
}

bool packed_resync(struct vq *vq, uint32_t *from, uint32_t *to)
{
	uint16_t num = vq->num, at = 0, found = 0, driver = 0, s, *flags;
	bool wrap, before, lap0, clear = true;

	/* A ring that starts where the device stopped needs nothing. But QEMU
	 * keeps no packed ring position of its own: after its back end died
	 * (our server restarted), it starts the ring at the base of its last
	 * start (0x80008000) while the guest's driver is anywhere, and the
	 * link would never move again. Device and driver agree again only
	 * where the ring itself says the device stopped.
	 *
	 * Each slot says the lap it was last written on (its AVAIL bit), so
	 * where the driver writes next is where the lap changes. The device
	 * gives chains back in order, each marked used in its first slot:
	 * with chains of one slot (Linux's, with indirect descriptors) the
	 * slots given back run up to the first still available, the only
	 * place where a used slot is followed by an available one, and the
	 * available ones from there reach where the driver writes next.
	 * Chains of more slots leave the others as the driver wrote them,
	 * available in look (ids do not tell: drivers reuse an id at once).
	 * So with NEXT anywhere in the ring, or anything less clear than
	 * the above (a device killed in the middle of a publication), the
	 * base stays as given. What stays unseen: a chain of two slots
	 * given back last of all, its second slot taken for available. */
	if (vq->npending || vq->ntent || vq->taken || !num)
		return false;
	/* Each slot's flags loaded once: the driver may write while we look. */
	flags = malloc((size_t)num * sizeof *flags);
	if (!flags)
		return false;
	for (s = 0; s < num; s++)
		flags[s] = slot_flags(vq, s);
	lap0 = slot_lap(flags[0]);
	before = slot_used(flags[num - 1]);
	for (s = 0; s < num && clear; s++) {
		if (flags[s] & VRING_DESC_F_NEXT)
			clear = false;
		if (slot_lap(flags[s]) != lap0) {
			if (!driver)
				driver = s;
		} else if (driver) {
			clear = false; /* laps change twice */
		}
		if (before && !slot_used(flags[s])) {
			at = s;
			found++;
		}
		before = slot_used(flags[s]);
	}
	if (found == 1) {
		wrap = slot_lap(flags[at]);
		/* Available from there up to where the driver writes next
		 * (that slot is given back: the run ends before it). */
		if (at == driver)
			clear = false;
		for (s = at; clear && s != driver; s = (uint16_t)(s + 1 == num ? 0 : s + 1))
			if (slot_used(flags[s]))
				clear = false;
	} else {
		/* All given back, or all available: the device stopped where
		 * the driver writes next. All given back, it is on the lap of
		 * slot 0 unless it finished it; all available, on the older. */
		at = driver;
		wrap = slot_used(flags[0]) == (driver == 0) ? !lap0 : lap0;
	}
	free(flags);
	if (!clear || found > 1)
		return false;
	*from = vq->avail_slot | (uint32_t)vq->avail_wrap << WRAP_BIT;
	*to = at | (uint32_t)wrap << WRAP_BIT;
	if (*from == *to)
		return false;
	vq->avail_slot = vq->take_slot = vq->used_slot = vq->commit_used_slot = at;
	vq->pub_slot = vq->empty_slot = vq->signalled_slot = at;
	vq->avail_wrap = vq->take_wrap = vq->used_wrap = vq->commit_used_wrap = wrap;
	vq->pub_wrap = vq->empty_wrap = vq->signalled_wrap = wrap;
	vq->signalled_valid = false;
	return true;
}
