/* SPDX-License-Identifier: MIT */
#include "fixture.h"

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

void fix_ring_init(struct fixture *f, struct fix_ring *r, unsigned num, bool event_idx,
		   bool indirect)
{
	uint64_t d = fix_alloc(f, vq_desc_bytes(num), 16);
	uint64_t a = fix_alloc(f, vq_avail_bytes(num, true), 2);
	uint64_t u = fix_alloc(f, vq_used_bytes(num, true), 4);

	memset(r, 0, sizeof *r);
	r->num = num;
	r->desc = (struct vring_desc *)(void *)fix_host(f, d);
	r->avail = (struct vring_avail *)(void *)fix_host(f, a);
	r->used = (struct vring_used *)(void *)fix_host(f, u);
	vq_init(&r->vq, &f->mem, r->desc, r->avail, r->used, (uint16_t)num, 0, event_idx, indirect);
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
