/* SPDX-License-Identifier: MIT */
/*
 * Unit-test fixture: a client's memory built by hand (memfd regions mapped
 * through the server's own guest_mem), with split rings and buffers placed
 * at chosen guest-physical addresses.
 */
#ifndef VNP_TEST_FIXTURE_H
#define VNP_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/guest_mem.h"
#include "virtio/virtqueue.h"

#define FIX_GPA 0x100000ull       /* region 0 starts here */
#define FIX_UVA 0x7f0000000000ull /* and claims to be mapped here in the client */
#define FIX_REGION (1u << 20)     /* bytes per region */

struct fixture {
	struct guest_mem mem;
	int fd[2];
	unsigned regions;
	uint64_t next_free; /* bump allocator over guest-physical space */
};

/* One or two regions, adjacent in guest-physical space. */
void fix_init(struct fixture *f, unsigned regions);
void fix_fini(struct fixture *f);
/* Reserve len bytes aligned to align; returns its guest-physical address. */
uint64_t fix_alloc(struct fixture *f, uint64_t len, uint64_t align);
uint8_t *fix_host(struct fixture *f, uint64_t gpa);

/* A ring of num entries in the fixture's memory. */
struct fix_ring {
	struct vq vq;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	unsigned num;
	uint16_t avail_idx;
};

void fix_ring_init(struct fixture *f, struct fix_ring *r, unsigned num, bool event_idx,
		   bool indirect);
void fix_desc(struct fix_ring *r, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
	      uint16_t next);
void fix_publish(struct fix_ring *r, uint16_t head);

#endif
