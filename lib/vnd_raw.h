/* SPDX-License-Identifier: MIT */
/*
 * Test-only access to a driver's insides, for hostile-client tests: the
 * rings, the shared memory, and raw vhost-user requests. Not installed.
 *
 * Hand-made chains use descriptors reserved with vnd_raw_take_descs():
 * the library never hands those out again, and skips used entries that
 * return them. The TX ring has free descriptors whenever the library has
 * nothing in flight. The RX ring has all of its descriptors posted; to
 * build RX chains by hand, reserve descriptors between vnd_stop() and
 * vnd_restart(): the restart posts buffers into the others only.
 * vnd_stop() ends every reservation (a ring reset gives all back).
 *
 * Posted descriptors may also be rewritten in place through vnd_raw_ring():
 * the library keeps its own copy of chain links and indexes, so that only
 * confuses the device.
 *
 * Addresses in descriptors are guest-physical: vnd_raw_gpa() turns a
 * pointer into the shared memory (the scratch area, say) into one.
 *
 * Packed rings (vnd_raw_ring says packed): hand-made chains take the next
 * slots of the ring and a buffer id, reserved with vnd_raw_packed_take();
 * the library writes its own chains after them. The reservation ends
 * when the device returns the id (the library then skips the chain's
 * slots) or at vnd_stop().
 */
#ifndef VND_RAW_H
#define VND_RAW_H

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vnet-p2p/driver.h>

struct vnd_raw_ring {
	struct vring_desc *desc;   /* split rings */
	struct vring_avail *avail;
	struct vring_used *used;
	unsigned num;
	bool packed;
	struct vring_packed_desc *ring;               /* packed rings */
	struct vring_packed_desc_event *driver_event; /* ours: used buffer notifications */
	struct vring_packed_desc_event *device_event; /* the device's: kicks */
};

/* Slots reserved in a packed ring: n of them from slot, where the driver
 * ring wrap counter is wrap, and the buffer id reserved with them. */
struct vnd_raw_chain {
	uint16_t slot;
	bool wrap;
	uint16_t id;
	unsigned n;
};

/* The shared ring of ring index q (2p = pair p's RX, 2p + 1 its TX). */
int vnd_raw_ring(struct vnd *d, unsigned q, struct vnd_raw_ring *out);
/* A 1 MiB area of shared memory the library never touches. */
void *vnd_raw_scratch(struct vnd *d, size_t *size);
/* Guest-physical address of a host pointer into our memory, or UINT64_MAX. */
uint64_t vnd_raw_gpa(struct vnd *d, const void *host);
/* Its inverse for len bytes at gpa: NULL unless all of them lie in the
 * driver's memory (the arithmetic never leaves that mapping). */
void *vnd_raw_host(struct vnd *d, uint64_t gpa, size_t len);
/* The vhost-user connection, for writing malformed messages directly. */
int vnd_raw_sock(struct vnd *d);
/* The descriptor backing region i, with its file offset and size (still
 * owned by the library), or -EINVAL. */
int vnd_raw_memfd(struct vnd *d, unsigned region, uint64_t *offset, uint64_t *size);
/* Send any message as given (flags included: add NEED_REPLY yourself). With
 * reply != NULL wait up to 5 s for a reply to the same request and return
 * its payload size, keeping up to reply_cap bytes; with reply == NULL
 * return 0 once sent. -errno on failure. A reply left unread confuses the
 * library's next request. */
int vnd_raw_request(struct vnd *d, uint32_t request, uint32_t flags, const void *payload,
		    uint32_t size, const int *fds, int nfds, void *reply, uint32_t reply_cap);
/* Reserve count free descriptors of queue q for the test's own chains;
 * their indices go to ids. -ENOSPC when fewer are free. */
int vnd_raw_take_descs(struct vnd *d, unsigned q, unsigned count, uint16_t *ids);
/* Put head into the avail ring of queue q (any value, valid or not),
 * publish it and kick (when the ring has a kick eventfd). */
void vnd_raw_publish(struct vnd *d, unsigned q, uint16_t head);

/* Packed rings: reserve the next n slots of queue q and a buffer id.
 * -ENOSPC when they are not free (the TX ring is, with nothing in flight),
 * -EINVAL for a split ring. */
int vnd_raw_packed_take(struct vnd *d, unsigned q, unsigned n, struct vnd_raw_chain *c);
/* Slot k (0 <= k < c->n) of a reservation, and in *avail the AVAIL and
 * USED bits that make a descriptor there available. */
struct vring_packed_desc *vnd_raw_packed_slot(struct vnd *d, unsigned q,
					      const struct vnd_raw_chain *c, unsigned k,
					      uint16_t *avail);
/* Write descs[0..c->n) into the reserved slots as a driver does: flags
 * (NEXT, WRITE, INDIRECT as given, AVAIL and USED added) of the first
 * last, then kick. */
void vnd_raw_packed_post(struct vnd *d, unsigned q, const struct vnd_raw_chain *c,
			 const struct vring_packed_desc *descs);

/* Where the library stands in ring q, as SET_VRING_BASE writes it: split,
 * the next avail index; packed, avail index and wrap counter in bits
 * 0-15, the next used element's in bits 16-31. */
uint32_t vnd_raw_position(struct vnd *d, unsigned q);
/* One ring stopped (GET_VRING_BASE; *base what the device answered) and
 * started again from a base (SET_VRING_NUM through SET_VRING_ENABLE),
 * the library's side of it left as it is: what it had posted stays
 * posted. */
int vnd_raw_ring_stop(struct vnd *d, unsigned q, uint32_t *base);
int vnd_raw_ring_start(struct vnd *d, unsigned q, uint32_t base);
/* Packed rings, between vnd_stop() and vnd_restart(): RX chains with the
 * virtio-net header spread over this many pieces (descriptors), 16 bytes
 * apart, before the data; 1 is the usual layout. */
int vnd_raw_rx_header_pieces(struct vnd *d, unsigned pieces);

#endif
