/* SPDX-License-Identifier: MIT */
/*
 * Rings in the datapath fuzz targets (fuzz_forward, fuzz_tap,
 * fuzz_virtqueue): a ring of either format placed in a client's memory
 * from input bytes, and what must hold of the ring module's books
 * whatever the client wrote into its rings.
 */
#ifndef VNP_FUZZ_RING_H
#define VNP_FUZZ_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "fuzz_input.h"
#include "util/checked.h"
#include "virtio/guest_mem.h"
#include "virtio/virtqueue.h"

/* A packed ring's SET_VRING_BASE from two input bytes: the index brought
 * below num (an index beyond it is refused before a ring starts), the wrap
 * counter as given. A split ring's base is any 16-bit index. */
static inline uint32_t fuzz_ring_base(bool packed, uint16_t num, uint16_t b)
{
	uint32_t base;

	if (!packed)
		return b;
	base = (uint32_t)((b & 0x7fffu) % num) | (b & 0x8000u);
	FUZZ_CHECK(vq_base_valid(true, num, base));
	return base;
}

/* A ring at guest-physical `at`: descriptors, then the driver area, then
 * the device area, each aligned as the device side demands of a client.
 * False when it does not fit in one region. */
static inline bool fuzz_ring_place(struct guest_mem *mem, uint64_t at, struct vq_params *p)
{
	uint64_t d = at;
	uint64_t dn = vq_desc_area_bytes(p->packed, p->num);
	uint64_t a = (d + dn + vq_driver_area_align(p->packed) - 1) &
		     ~(uint64_t)(vq_driver_area_align(p->packed) - 1);
	uint64_t an = vq_driver_area_bytes(p->packed, p->num, p->event_idx);
	uint64_t u = (a + an + vq_device_area_align(p->packed) - 1) &
		     ~(uint64_t)(vq_device_area_align(p->packed) - 1);
	uint64_t un = vq_device_area_bytes(p->packed, p->num, p->event_idx);

	p->mem = mem;
	p->desc = gm_gpa_range(mem, d, dn);
	p->driver_area = gm_gpa_range(mem, a, an);
	p->device_area = gm_gpa_range(mem, u, un);
	return p->desc && p->driver_area && p->device_area;
}

/* Whether [p, p + len) lies inside one region of gm. */
static inline bool fuzz_in_mapping(const struct guest_mem *gm, const void *p, uint64_t len)
{
	uintptr_t a = (uintptr_t)p;

	for (unsigned i = 0; i < gm->count; i++) {
		const struct gm_region *r = &gm->region[i];
		uintptr_t h = (uintptr_t)r->host;

		if (a >= h && range_within(a - h, len, 0, r->size))
			return true;
	}
	return false;
}

/* Used elements the ring holds for the driver, written and not yet
 * published (committed or not). */
static inline uint32_t fuzz_ring_unpublished(const struct vq *vq)
{
	return vq->packed ? (uint32_t)vq->npending + vq->ntent
			  : (uint32_t)vq->used_pending + vq->used_tent;
}

/* Chains taken and committed since a start, in 32 bits: vq_consumed()
 * wraps at 16, so it is read after every call that moves it by less
 * than that (a budget's worth). */
struct fuzz_consumed {
	uint32_t total;
	uint16_t at;
};

static inline void fuzz_consumed_start(struct fuzz_consumed *c, const struct vq *vq)
{
	c->total = 0;
	c->at = vq_consumed(vq);
}

static inline uint32_t fuzz_consumed(struct fuzz_consumed *c, const struct vq *vq)
{
	uint16_t now = vq_consumed(vq);

	c->total += (uint16_t)(now - c->at);
	c->at = now;
	return c->total;
}

/*
 * The books of a ring between packets (nothing tentative): every chain
 * committed has its used element committed (split: used_idx + pending
 * is last_avail; packed: the used side stands where the avail side
 * does), positions lie in the ring, and the used elements not yet
 * published never outnumber the ring.
 */
static inline void fuzz_ring_check(const struct vq *vq)
{
	FUZZ_CHECK(vq->taken == 0);
	FUZZ_CHECK(fuzz_ring_unpublished(vq) <= vq->num);
	if (!vq->packed) {
		FUZZ_CHECK(vq->used_tent == 0);
		FUZZ_CHECK((uint16_t)(vq->used_idx + vq->used_pending) == vq->last_avail);
		FUZZ_CHECK((uint16_t)(vq->avail_seen - vq->last_avail) <= vq->num);
		return;
	}
	FUZZ_CHECK(vq->ntent == 0);
	FUZZ_CHECK(vq->avail_slot < vq->num && vq->take_slot < vq->num);
	FUZZ_CHECK(vq->take_slot == vq->avail_slot && vq->take_wrap == vq->avail_wrap);
	FUZZ_CHECK(vq->commit_used_slot == vq->avail_slot &&
		   vq->commit_used_wrap == vq->avail_wrap);
	FUZZ_CHECK(vq->used_slot == vq->commit_used_slot && vq->used_wrap == vq->commit_used_wrap);
	FUZZ_CHECK(vq->pub_slot < vq->num);
	/* Only the first element since the publication is held back. */
	FUZZ_CHECK(vq->has_first == (vq->npending > 0));
	if (vq->npending == 0)
		FUZZ_CHECK(vq->pub_slot == vq->commit_used_slot &&
			   vq->pub_wrap == vq->commit_used_wrap);
	/* Held, from the publication to the take position: a lap at most. */
	if (vq->take_wrap == vq->pub_wrap)
		FUZZ_CHECK(vq->take_slot >= vq->pub_slot);
	else
		FUZZ_CHECK(vq->take_slot <= vq->pub_slot);
}

#endif
