/* SPDX-License-Identifier: MIT */
/*
 * Unit-test fixture: a client's memory built by hand (memfd regions mapped
 * through the server's own guest_mem), with rings of either format and
 * buffers placed at chosen guest-physical addresses, and a driver's side
 * of those rings (fix_post, fix_used) that hides the format.
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

#define FIX_RING_MAX 1024 /* the largest ring the driver side keeps books for */

/* A ring of num entries in the fixture's memory. */
struct fix_ring {
	struct vq vq;
	bool packed;
	unsigned num;
	/* split */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;
	uint16_t next_desc;  /* fix_post: the next descriptor it uses */
	uint16_t used_seen;  /* fix_used: used elements read */
	/* packed */
	struct vring_packed_desc *ring;
	struct vring_packed_desc_event *driver_event;
	struct vring_packed_desc_event *device_event;
	uint16_t avail_slot; /* where the driver writes next */
	bool avail_wrap;
	uint16_t used_slot;  /* where the driver looks for the next used element */
	bool used_wrap;
	uint16_t next_id;
	uint16_t slots_of[FIX_RING_MAX]; /* per buffer id: ring slots its chain took */
};

/* A split ring. */
void fix_ring_init(struct fixture *f, struct fix_ring *r, unsigned num, bool event_idx,
		   bool indirect);
/* Either format, started at base (as SET_VRING_BASE would give it). */
void fix_ring_init_fmt(struct fixture *f, struct fix_ring *r, unsigned num, bool packed,
		       bool event_idx, bool indirect, uint32_t base);
/* The device side again, from where it stands (a ring stopped and started). */
void fix_ring_restart(struct fixture *f, struct fix_ring *r);
/* The same from base, as a frontend gives it back (DPDK: the low half). */
void fix_ring_restart_at(struct fixture *f, struct fix_ring *r, uint32_t base);

/* One buffer of a chain, as a driver posts it. */
struct fix_buf {
	uint64_t addr;
	uint32_t len;
	bool write;
};

/* Post a chain of n buffers; returns its buffer id (split: its head). */
uint16_t fix_post(struct fix_ring *r, const struct fix_buf *b, unsigned n);
/* The same with extra[i] (VRING_DESC_F_*, e.g. INDIRECT) added to the
 * flags of descriptor i (extra may be NULL): for chains a driver should
 * not post. */
uint16_t fix_post_flags(struct fix_ring *r, const struct fix_buf *b, unsigned n,
			const uint16_t *extra);
/* An indirect table of n buffers in fresh fixture memory, in the ring's
 * format (split entries linked in order, packed ones consecutive), with
 * extra[i] added to entry i's flags (extra may be NULL); returns its
 * guest-physical address. */
uint64_t fix_table(struct fixture *f, struct fix_ring *r, const struct fix_buf *b, unsigned n,
		   const uint16_t *extra);
/* Post one descriptor pointing at an indirect table of n buffers, built
 * in fresh fixture memory; returns its buffer id. */
uint16_t fix_post_indirect(struct fixture *f, struct fix_ring *r, const struct fix_buf *b,
			   unsigned n);
/* Packed: the AVAIL and USED bits that make a descriptor available on
 * the driver's wrap counter wrap. */
uint16_t fix_avail_flags(bool wrap);
/* Packed: write slot's descriptor as given, its flags last, whatever the
 * driver side's books say (for drivers that lie). */
void fix_pdesc(struct fix_ring *r, uint16_t slot, uint64_t addr, uint32_t len, uint16_t id,
	       uint16_t flags);
/* The driver side forgets what it posted after what the device committed:
 * the next post goes in its place (the device may have looked at it, not
 * committed it). Only one chain may replace one: a split avail index
 * never goes back. */
void fix_unpost(struct fix_ring *r);
/* The next used element the device published, if any. */
bool fix_used(struct fix_ring *r, uint16_t *id, uint32_t *len);
void fix_desc(struct fix_ring *r, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
	      uint16_t next);
void fix_publish(struct fix_ring *r, uint16_t head);

#endif
