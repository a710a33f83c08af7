/* SPDX-License-Identifier: MIT */
/*
 * What both ring formats share: sizes, start and stop, the chain walk's
 * use of each descriptor, and the choice of format behind every
 * operation of virtqueue.h.
 */
#include "virtio/virtqueue.h"

#include <errno.h>
#include <string.h>

#include "util/checked.h"
#include "virtio/vq_format.h"

_Static_assert(VQ_PACKET_DESCS_MAX == 1024, "vq_error_str names the bound");

const char *vq_error_str(enum vq_error e)
{
	switch (e) {
	case VQ_OK: return "no error";
	case VQ_ERR_AVAIL_IDX: return "avail index moved back, or by more than the ring size";
	case VQ_ERR_HEAD: return "descriptor head index out of range";
	case VQ_ERR_NEXT: return "descriptor next index out of range";
	case VQ_ERR_LOOP: return "descriptor chain longer than its table (a loop)";
	case VQ_ERR_ADDR: return "buffer address outside the client's memory";
	case VQ_ERR_DIRECTION: return "buffer with the wrong direction (write flag)";
	case VQ_ERR_INDIRECT_FEATURE: return "indirect descriptor without INDIRECT_DESC";
	case VQ_ERR_INDIRECT_NESTED: return "nested indirect descriptor";
	case VQ_ERR_INDIRECT_NEXT: return "indirect descriptor with NEXT set";
	case VQ_ERR_INDIRECT_LEN: return "indirect table of a bad length";
	case VQ_ERR_INDIRECT_ADDR: return "indirect table outside one memory region";
	case VQ_ERR_TOO_MANY: return "more than 1024 descriptors for one packet";
	case VQ_ERR_ID: return "buffer id out of range";
	case VQ_ERR_ID_BUSY: return "buffer id reused while in use";
	case VQ_ERR_INDIRECT_FLAGS: return "unknown flag inside a packed indirect table";
	case VQ_ERR_EVENT: return "event suppression fields out of range";
	case VQ_ERR_NOT_AVAIL: return "descriptor of a chain not made available";
	}
	return "unknown error";
}

/* ---- shapes ----------------------------------------------------------------- */

uint64_t vq_desc_area_bytes(bool packed, unsigned num)
{
	(void)packed; /* 16 bytes a descriptor in both formats */
	return 16ull * num;
}

uint64_t vq_driver_area_bytes(bool packed, unsigned num, bool event_idx)
{
	if (packed)
		return sizeof(struct vring_packed_desc_event);
	return 4ull + 2ull * num + (event_idx ? 2 : 0);
}

uint64_t vq_device_area_bytes(bool packed, unsigned num, bool event_idx)
{
	if (packed)
		return sizeof(struct vring_packed_desc_event);
	return 4ull + 8ull * num + (event_idx ? 2 : 0);
}

unsigned vq_driver_area_align(bool packed) { return packed ? 4 : 2; }
unsigned vq_device_area_align(bool packed)
{
	(void)packed; /* the used ring's u32 elements, or the event area */
	return 4;
}

bool vq_num_valid(bool packed, unsigned num)
{
	/* Packed rings hold up to 2^15 entries, of any number. */
	if (packed)
		return num >= 1 && num <= 32768;
	return is_power_of_2(num) && num <= 32768;
}

bool vq_base_valid(bool packed, unsigned num, uint32_t base)
{
	if (!packed)
		return base <= UINT16_MAX;
	/* The used half is 0 (DPDK) or an index like the avail half (QEMU). */
	return (base & 0x7fff) < num && ((base >> 16) == 0 || ((base >> 16) & 0x7fff) < num);
}

int vq_init(struct vq *vq, const struct vq_params *p)
{
	static uint32_t epochs;

	memset(vq, 0, sizeof *vq);
	vq->epoch = ++epochs;
	vq->mem = p->mem;
	vq->num = p->num;
	vq->packed = p->packed;
	vq->event_idx = p->event_idx;
	vq->indirect = p->indirect;
	vq->frozen_left = -1;
	if (p->packed)
		return packed_init(vq, p);
	split_init(vq, p);
	return 0;
}

void vq_fini(struct vq *vq)
{
	if (vq->packed)
		packed_fini(vq);
}

uint32_t vq_base(const struct vq *vq)
{
	return vq->packed ? packed_base(vq) : split_base(vq);
}

void vq_move(struct vq *vq, const struct vq_params *p)
{
	vq->event_idx = p->event_idx;
	vq->indirect = p->indirect;
	if (vq->packed) {
		vq->ring = p->desc;
		vq->driver_event = p->driver_area;
		vq->device_event = p->device_area;
	} else {
		vq->desc = p->desc;
		vq->avail = p->driver_area;
		vq->used = p->device_area;
	}
}

/* ---- taking ------------------------------------------------------------------ */

void vq_take_begin(struct vq *vq)
{
	if (vq->packed)
		packed_take_begin(vq);
	else
		split_take_begin(vq);
}

enum vq_error vq_avail_slow(struct vq *vq, bool *any)
{
	return vq->packed ? packed_avail_check(vq, any) : split_avail(vq, any);
}

enum vq_error vq_take(struct vq *vq, struct vq_chain *c, bool device_writes, bool *got)
{
	c->descs = 0;
	c->device_writes = device_writes;
	return vq_take_more(vq, c, got);
}

enum vq_error vq_take_more(struct vq *vq, struct vq_chain *c, bool *got)
{
	c->vq = vq;
	c->hops = 0;
	c->in_indirect = false;
	c->head_loaded = false;
	c->slots = 0;
	c->ptr = NULL;
	c->chunk = 0;
	c->addr = 0;
	c->left = 0;
	return vq->packed ? packed_take(vq, c, got) : split_take(vq, c, got);
}

enum vq_error vq_chain_advance(struct vq_chain *c)
{
	if (c->left)
		return chain_next_chunk(c);
	return c->vq->packed ? packed_advance(c) : split_advance(c);
}

enum vq_error vq_chain_end(struct vq_chain *c, struct vq_done *done)
{
	enum vq_error e = VQ_OK;

	if (c->vq->packed)
		e = packed_chain_end(c);
	done->id = c->id;
	done->slots = c->slots;
	return e;
}

enum vq_error vq_used_done(struct vq *vq, const struct vq_done *done, uint32_t len)
{
	if (!vq->packed) {
		split_used(vq, done->id, len);
		return VQ_OK;
	}
	if (packed_chain_busy(vq, done->id, vq->used_slot, done->slots))
		return VQ_ERR_ID_BUSY;
	packed_used(vq, done->id, done->slots, len);
	return VQ_OK;
}

enum vq_error vq_used(struct vq *vq, struct vq_chain *c, uint32_t len)
{
	struct vq_done done;
	enum vq_error e = vq_chain_end(c, &done);

	return e ? e : vq_used_done(vq, &done, len);
}

bool vq_all_taken(const struct vq *vq)
{
	if (vq->packed)
		return vq->take_slot == vq->avail_slot && vq->take_wrap != vq->avail_wrap;
	/* Every avail entry, or every descriptor: chains of several use up
	 * the table before the avail ring. */
	return vq->taken == vq->num || vq->taken_descs >= vq->num;
}

void vq_commit(struct vq *vq)
{
	if (vq->packed)
		packed_commit(vq);
	else
		split_commit(vq);
}

void vq_publish(struct vq *vq)
{
	if (vq->packed)
		packed_publish(vq);
	else
		split_publish(vq);
}

/* ---- notifications ---------------------------------------------------------------- */

void vq_kicks_enable(struct vq *vq)
{
	if (vq->packed)
		packed_kicks(vq, true);
	else
		split_kicks(vq, true);
	vq->kicks_on = true;
	/* The driver must see this before we look at the ring again, or a
	 * buffer added in between goes unnoticed with nobody kicking. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void vq_kicks_disable(struct vq *vq)
{
	if (!vq->kicks_on)
		return;
	if (vq->packed)
		packed_kicks(vq, false);
	else
		split_kicks(vq, false);
	vq->kicks_on = false;
}

void vq_kicks_reset(struct vq *vq, bool on)
{
	vq->kicks_on = !on;
	if (on)
		vq_kicks_enable(vq);
	else
		vq_kicks_disable(vq);
}

enum vq_error vq_avail_grew(struct vq *vq, bool *grew)
{
	return vq->packed ? packed_avail_grew(vq, grew) : split_avail_grew(vq, grew);
}

enum vq_error vq_needs_signal(struct vq *vq, bool *signal)
{
	*signal = false;
	if (!vq->unsignalled)
		return VQ_OK;
	vq->unsignalled = false;
	/* Our used elements must be visible before we read the driver's wish. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vq->packed ? packed_needs_signal(vq, signal) : split_needs_signal(vq, signal);
}

/* ---- starting and stopping ------------------------------------------------------ */

void vq_freeze(struct vq *vq)
{
	if (vq->packed)
		packed_freeze(vq);
	else
		split_freeze(vq);
}

void vq_thaw(struct vq *vq)
{
	vq->frozen_left = -1;
}

bool vq_resync(struct vq *vq, uint32_t *from, uint32_t *to)
{
	uint16_t used;

	if (vq->packed)
		return packed_resync(vq, from, to);
	used = LOAD_ONCE(vq->used->idx);
	if (used == vq->used_idx)
		return false;
	*from = vq->used_idx;
	*to = used;
	vq->used_idx = vq->last_avail = vq->avail_seen = used;
	return true;
}
