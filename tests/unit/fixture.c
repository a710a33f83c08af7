/* SPDX-License-Identifier: MIT */
#include "fixture.h"

#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

void fix_init(struct fixture *f, unsigned regions)
{
	char err[160];

	memset(f, 0, sizeof *f);
	f->regions = regions;
	for (unsigned i = 0; i < regions; i++) {
		struct gm_region_spec spec = {
			.gpa = FIX_GPA + (uint64_t)i * FIX_REGION,
			.size = FIX_REGION,
			.uva = FIX_UVA + (uint64_t)i * FIX_REGION,
			.mmap_offset = 0,
		};
		struct gm_region r;

		f->fd[i] = memfd_create("fixture", MFD_CLOEXEC);
		assert_true(f->fd[i] >= 0);
		assert_int_equal(ftruncate(f->fd[i], FIX_REGION), 0);
		assert_int_equal(gm_map_region(&spec, f->fd[i], NULL, &r, err, sizeof err), 0);
		assert_int_equal(gm_insert(&f->mem, &r, 8, err, sizeof err), 0);
	}
	f->next_free = FIX_GPA;
}

void fix_fini(struct fixture *f)
{
	gm_clear(&f->mem);
	for (unsigned i = 0; i < f->regions; i++)
		close(f->fd[i]);
}

uint64_t fix_alloc(struct fixture *f, uint64_t len, uint64_t align)
{
	uint64_t at = (f->next_free + align - 1) & ~(align - 1);

	f->next_free = at + len;
	assert_true(f->next_free <= FIX_GPA + (uint64_t)f->regions * FIX_REGION);
	return at;
}

uint8_t *fix_host(struct fixture *f, uint64_t gpa)
{
	uint8_t *p = gm_gpa_range(&f->mem, gpa, 1);

	assert_non_null(p);
	return p;
}

void fix_ring_init_fmt(struct fixture *f, struct fix_ring *r, unsigned num, bool packed,
		       bool event_idx, bool indirect, uint32_t base)
{
	uint64_t d = fix_alloc(f, vq_desc_area_bytes(packed, num), 16);
	uint64_t a = fix_alloc(f, vq_driver_area_bytes(packed, num, true), vq_driver_area_align(packed));
	uint64_t u = fix_alloc(f, vq_device_area_bytes(packed, num, true), vq_device_area_align(packed));
	struct vq_params p = { .mem = &f->mem, .num = (uint16_t)num, .packed = packed,
			       .event_idx = event_idx, .indirect = indirect, .base = base };

	assert_true(num <= FIX_RING_MAX);
	memset(r, 0, sizeof *r);
	r->num = num;
	r->packed = packed;
	p.desc = fix_host(f, d);
	p.driver_area = fix_host(f, a);
	p.device_area = fix_host(f, u);
	if (packed) {
		r->ring = p.desc;
		r->driver_event = p.driver_area;
		r->device_event = p.device_area;
		r->avail_slot = r->used_slot = (uint16_t)(base & 0x7fff);
		/* A fresh ring starts at 0x8000: the wrap counters start at 1. */
		r->avail_wrap = r->used_wrap = (base >> 15) & 1;
	} else {
		r->desc = p.desc;
		r->avail = p.driver_area;
		r->used = p.device_area;
		r->avail_idx = r->used_seen = (uint16_t)base;
		r->avail->idx = r->avail_idx;
		r->used->idx = r->avail_idx;
	}
	assert_int_equal(vq_init(&r->vq, &p), 0);
}

void fix_ring_init(struct fixture *f, struct fix_ring *r, unsigned num, bool event_idx,
		   bool indirect)
{
	fix_ring_init_fmt(f, r, num, false, event_idx, indirect, 0);
}

void fix_ring_restart(struct fixture *f, struct fix_ring *r)
{
	fix_ring_restart_at(f, r, vq_base(&r->vq));
}

void fix_ring_restart_at(struct fixture *f, struct fix_ring *r, uint32_t base)
{
	struct vq_params p = { .mem = &f->mem, .num = (uint16_t)r->num, .packed = r->packed,
			       .event_idx = r->vq.event_idx, .indirect = r->vq.indirect,
			       .base = base };

	p.desc = r->packed ? (void *)r->ring : (void *)r->desc;
	p.driver_area = r->packed ? (void *)r->driver_event : (void *)r->avail;
	p.device_area = r->packed ? (void *)r->device_event : (void *)r->used;
	vq_fini(&r->vq);
	assert_int_equal(vq_init(&r->vq, &p), 0);
}

/* A packed descriptor as a driver writes it: the flags last, so the
 * device never sees half of it. */
static void packed_write(struct fix_ring *r, uint16_t slot, uint64_t addr, uint32_t len,
			 uint16_t id, uint16_t flags, bool flags_now)
{
	struct vring_packed_desc *d = &r->ring[slot];

	d->addr = htole64(addr);
	d->len = htole32(len);
	d->id = htole16(id);
	if (flags_now) {
		__atomic_thread_fence(__ATOMIC_RELEASE);
		d->flags = htole16(flags);
	}
}

uint16_t fix_avail_flags(bool wrap)
{
	return wrap ? (uint16_t)(1u << VRING_PACKED_DESC_F_AVAIL)
		    : (uint16_t)(1u << VRING_PACKED_DESC_F_USED);
}

void fix_pdesc(struct fix_ring *r, uint16_t slot, uint64_t addr, uint32_t len, uint16_t id,
	       uint16_t flags)
{
	assert_true(r->packed && slot < r->num);
	packed_write(r, slot, addr, len, id, flags, true);
}

static uint16_t post_packed(struct fix_ring *r, const struct fix_buf *b, unsigned n,
			    const uint16_t *extra)
{
	uint16_t id = r->next_id;
	uint16_t first = r->avail_slot, first_flags = 0;

	r->next_id = (uint16_t)((r->next_id + 1) % r->num);
	for (unsigned i = 0; i < n; i++) {
		uint16_t flags = fix_avail_flags(r->avail_wrap) | (extra ? extra[i] : 0);

		if (b[i].write)
			flags |= VRING_DESC_F_WRITE;
		if (i + 1 < n)
			flags |= VRING_DESC_F_NEXT;
		if (i == 0)
			first_flags = flags;
		packed_write(r, r->avail_slot, b[i].addr, b[i].len, id, flags, i != 0);
		if (++r->avail_slot == r->num) {
			r->avail_slot = 0;
			r->avail_wrap = !r->avail_wrap;
		}
	}
	r->slots_of[id] = (uint16_t)n;
	/* The head's flags last: the chain becomes available whole. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	r->ring[first].flags = htole16(first_flags);
	return id;
}

uint16_t fix_post(struct fix_ring *r, const struct fix_buf *b, unsigned n)
{
	return fix_post_flags(r, b, n, NULL);
}

uint16_t fix_post_flags(struct fix_ring *r, const struct fix_buf *b, unsigned n,
			const uint16_t *extra)
{
	uint16_t head;

	assert_true(n >= 1);
	if (r->packed)
		return post_packed(r, b, n, extra);
	head = r->next_desc;
	for (unsigned i = 0; i < n; i++) {
		uint16_t at = (uint16_t)((head + i) % r->num);
		uint16_t flags = (uint16_t)((b[i].write ? VRING_DESC_F_WRITE : 0) |
					    (i + 1 < n ? VRING_DESC_F_NEXT : 0) |
					    (extra ? extra[i] : 0));

		fix_desc(r, at, b[i].addr, b[i].len, flags, (uint16_t)((at + 1) % r->num));
	}
	r->next_desc = (uint16_t)((head + n) % r->num);
	fix_publish(r, head);
	return head;
}

uint64_t fix_table(struct fixture *f, struct fix_ring *r, const struct fix_buf *b, unsigned n,
		   const uint16_t *extra)
{
	uint64_t table = fix_alloc(f, 16ull * n, 16);
	uint8_t *t = fix_host(f, table);

	for (unsigned i = 0; i < n; i++) {
		uint64_t addr = htole64(b[i].addr);
		uint32_t len = htole32(b[i].len);
		uint16_t flags = (uint16_t)((b[i].write ? VRING_DESC_F_WRITE : 0) |
					    (extra ? extra[i] : 0));
		uint16_t link = 0;

		/* A split table links its entries; a packed one is read in order. */
		if (!r->packed && i + 1 < n) {
			flags |= VRING_DESC_F_NEXT;
			link = (uint16_t)(i + 1);
		}
		flags = htole16(flags);
		link = htole16(link);
		memcpy(t + 16 * i, &addr, 8);
		memcpy(t + 16 * i + 8, &len, 4);
		if (r->packed) {
			memcpy(t + 16 * i + 12, &link, 2); /* id: unused */
			memcpy(t + 16 * i + 14, &flags, 2);
		} else {
			memcpy(t + 16 * i + 12, &flags, 2);
			memcpy(t + 16 * i + 14, &link, 2);
		}
	}
	return table;
}

uint16_t fix_post_indirect(struct fixture *f, struct fix_ring *r, const struct fix_buf *b,
			   unsigned n)
{
	struct fix_buf one = { .addr = fix_table(f, r, b, n, NULL), .len = 16 * n };
	uint16_t indirect = VRING_DESC_F_INDIRECT;

	return fix_post_flags(r, &one, 1, &indirect);
}

void fix_unpost(struct fix_ring *r)
{
	if (r->packed) {
		r->avail_slot = r->vq.avail_slot;
		r->avail_wrap = r->vq.avail_wrap;
	} else {
		/* avail->idx stays until the next post writes it again. */
		r->avail_idx = r->vq.last_avail;
	}
}

bool fix_used(struct fix_ring *r, uint16_t *id, uint32_t *len)
{
	if (r->packed) {
		struct vring_packed_desc *d = &r->ring[r->used_slot];
		uint16_t flags = le16toh(__atomic_load_n(&d->flags, __ATOMIC_ACQUIRE));
		bool avail = flags & (1u << VRING_PACKED_DESC_F_AVAIL);
		bool used = flags & (1u << VRING_PACKED_DESC_F_USED);

		if (avail != used || used != r->used_wrap)
			return false;
		*id = le16toh(d->id);
		*len = le32toh(d->len);
		assert_true(*id < r->num);
		r->used_slot = (uint16_t)(r->used_slot + r->slots_of[*id]);
		if (r->used_slot >= r->num) {
			r->used_slot = (uint16_t)(r->used_slot - r->num);
			r->used_wrap = !r->used_wrap;
		}
		return true;
	}
	if (le16toh(__atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE)) == r->used_seen)
		return false;
	*id = (uint16_t)le32toh(r->used->ring[r->used_seen % r->num].id);
	*len = le32toh(r->used->ring[r->used_seen % r->num].len);
	r->used_seen++;
	return true;
}

void fix_desc(struct fix_ring *r, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
	      uint16_t next)
{
	r->desc[i].addr = addr;
	r->desc[i].len = len;
	r->desc[i].flags = flags;
	r->desc[i].next = next;
}

void fix_publish(struct fix_ring *r, uint16_t head)
{
	r->avail->ring[r->avail_idx % r->num] = head;
	r->avail_idx++;
	r->avail->idx = r->avail_idx;
}
