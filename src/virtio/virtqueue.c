/* SPDX-License-Identifier: MIT */
#include "virtio/virtqueue.h"

#include <string.h>

#include "util/checked.h"

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
	}
	return "unknown error";
}

uint64_t vq_desc_bytes(unsigned num) { return 16ull * num; }

uint64_t vq_avail_bytes(unsigned num, bool event_idx)
{
	return 4ull + 2ull * num + (event_idx ? 2 : 0);
}

uint64_t vq_used_bytes(unsigned num, bool event_idx)
{
	return 4ull + 8ull * num + (event_idx ? 2 : 0);
}

void vq_init(struct vq *vq, struct guest_mem *mem, struct vring_desc *desc,
	     struct vring_avail *avail, struct vring_used *used, uint16_t num, uint16_t base,
	     bool event_idx, bool indirect)
{
	memset(vq, 0, sizeof *vq);
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->mem = mem;
	vq->num = num;
	vq->mask = (uint16_t)(num - 1);
	vq->last_avail = base;
	vq->avail_seen = base;
	vq->used_idx = base;
	vq->event_idx = event_idx;
	vq->indirect = indirect;
}

enum vq_error vq_avail_refresh(struct vq *vq, uint16_t *count)
{
	uint16_t idx, n;

	if (vq->avail_frozen) {
		*count = (uint16_t)(vq->avail_seen - vq->last_avail);
		return VQ_OK;
	}
	idx = LOAD_ONCE(vq->avail->idx);
	n = (uint16_t)(idx - vq->last_avail);

	/* Too far ahead, or behind what the driver already made available:
	 * entries cannot be taken back. */
	if (n > vq->num || n < (uint16_t)(vq->avail_seen - vq->last_avail))
		return VQ_ERR_AVAIL_IDX;
	/* Entries and descriptors are read only after the index. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	vq->avail_seen = idx;
	*count = n;
	return VQ_OK;
}

enum vq_error vq_avail_freeze(struct vq *vq)
{
	uint16_t count;
	enum vq_error e = vq_avail_refresh(vq, &count);

	vq->avail_frozen = true;
	return e;
}

void vq_chain_begin(struct vq *vq, struct vq_chain *c, uint16_t head, bool device_writes)
{
	c->vq = vq;
	c->table = (const uint8_t *)vq->desc;
	c->table_size = vq->num;
	c->hops = 0;
	c->descs = 0;
	c->next = head;
	c->has_next = true;
	c->in_indirect = false;
	c->device_writes = device_writes;
	c->ptr = NULL;
	c->chunk = 0;
	c->addr = 0;
	c->left = 0;
}

void vq_chain_continue(struct vq_chain *c, uint16_t head)
{
	uint32_t descs = c->descs;

	vq_chain_begin(c->vq, c, head, c->device_writes);
	c->descs = descs;
}

/* Translate the next part of the current descriptor, which was checked
 * as a whole when loaded. */
static enum vq_error next_chunk(struct vq_chain *c)
{
	uint64_t contig;

	c->ptr = gm_gpa_to_host(c->vq->mem, c->addr, c->left, &contig);
	if (!c->ptr)
		return VQ_ERR_ADDR; /* the memory table changed under a walk: cannot happen */
	c->chunk = (uint32_t)contig;
	c->addr += contig;
	c->left -= (uint32_t)contig;
	return VQ_OK;
}

enum vq_error vq_chain_advance(struct vq_chain *c)
{
	if (c->left)
		return next_chunk(c);
	while (c->has_next) {
		struct vring_desc d;
		uint64_t contig;

		if (c->next >= c->table_size)
			return VQ_ERR_NEXT;
		if (++c->hops > c->table_size)
			return VQ_ERR_LOOP;
		if (++c->descs > VQ_PACKET_DESCS_MAX)
			return VQ_ERR_TOO_MANY;
		vq_desc_load(c->table, c->next, &d);

		if (d.flags & VRING_DESC_F_INDIRECT) {
			const uint8_t *table;

			if (!c->vq->indirect)
				return VQ_ERR_INDIRECT_FEATURE;
			if (c->in_indirect)
				return VQ_ERR_INDIRECT_NESTED;
			if (d.flags & VRING_DESC_F_NEXT)
				return VQ_ERR_INDIRECT_NEXT;
			if (d.len == 0 || d.len % sizeof(struct vring_desc) ||
			    d.len / sizeof(struct vring_desc) > c->vq->num)
				return VQ_ERR_INDIRECT_LEN;
			table = gm_gpa_range(c->vq->mem, d.addr, d.len);
			if (!table)
				return VQ_ERR_INDIRECT_ADDR;
			c->table = table;
			c->table_size = d.len / (uint32_t)sizeof(struct vring_desc);
			c->hops = 0;
			c->next = 0;
			c->in_indirect = true;
			continue;
		}
		if (!!(d.flags & VRING_DESC_F_WRITE) != c->device_writes)
			return VQ_ERR_DIRECTION;
		c->has_next = d.flags & VRING_DESC_F_NEXT;
		c->next = d.next;
		if (d.len == 0)
			continue;
		/* The whole buffer now, not just the bytes a packet happens to use. */
		if (!range_fits_u64(d.addr, d.len))
			return VQ_ERR_ADDR;
		c->ptr = gm_gpa_to_host(c->vq->mem, d.addr, d.len, &contig);
		if (!c->ptr || (contig < d.len && !gm_gpa_valid(c->vq->mem, d.addr + contig,
								  d.len - contig)))
			return VQ_ERR_ADDR;
		c->chunk = (uint32_t)contig;
		c->addr = d.addr + contig;
		c->left = d.len - (uint32_t)contig;
		return VQ_OK;
	}
	return VQ_OK;
}

void vq_used_publish(struct vq *vq)
{
	if (!vq->used_pending)
		return;
	vq->used_idx = (uint16_t)(vq->used_idx + vq->used_pending);
	vq->used_pending = 0;
	vq->unsignalled = true;
	/* Elements become visible before the index that covers them. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	STORE_ONCE(vq->used->idx, vq->used_idx);
}

static uint16_t *avail_event(struct vq *vq)
{
	return (uint16_t *)(void *)&vq->used->ring[vq->num];
}

void vq_kicks_enable(struct vq *vq)
{
	if (vq->event_idx)
		STORE_ONCE(*avail_event(vq), vq->avail_seen);
	else if (!vq->kicks_on)
		STORE_ONCE(vq->used->flags, 0);
	vq->kicks_on = true;
	/* The driver must see this before we look at avail->idx again, or a
	 * buffer added in between goes unnoticed with nobody kicking. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void vq_kicks_disable(struct vq *vq)
{
	if (!vq->kicks_on)
		return;
	if (vq->event_idx)
		/* An event index behind everything the driver may still add is
		 * never crossed: no kicks. */
		STORE_ONCE(*avail_event(vq), (uint16_t)(vq->last_avail - 1));
	else
		STORE_ONCE(vq->used->flags, VRING_USED_F_NO_NOTIFY);
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

bool vq_needs_signal(struct vq *vq)
{
	uint16_t old, event;
	bool valid;

	if (!vq->unsignalled)
		return false;
	vq->unsignalled = false;
	/* Our used->idx store must be visible before we read the driver's wish. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(LOAD_ONCE(vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;
	if (!valid)
		return true;
	event = LOAD_ONCE(vq->avail->ring[vq->num]);
	return vring_need_event(event, vq->used_idx, old);
}
