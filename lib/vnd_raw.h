/* SPDX-License-Identifier: MIT */
/*
 * Test-only access to a driver's insides, for hostile-client tests: the
 * rings, the shared memory, and raw vhost-user requests. Not installed.
 *
 * Descriptors for hand-made chains come from vnd_raw_take_descs(): the
 * library never hands them out again, and used elements that return them
 * are skipped.
 */
#ifndef VND_RAW_H
#define VND_RAW_H

#include <linux/virtio_ring.h>
#include <stddef.h>
#include <stdint.h>

#include <vnet-p2p/driver.h>

struct vnd_raw_ring {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	unsigned num;
};

int vnd_raw_ring(struct vnd *d, unsigned q, struct vnd_raw_ring *out);
/* A 1 MiB area of shared memory the library never touches. */
void *vnd_raw_scratch(struct vnd *d, size_t *size);
/* Guest-physical address of a host pointer into our memory, or UINT64_MAX. */
uint64_t vnd_raw_gpa(struct vnd *d, const void *host);
int vnd_raw_sock(struct vnd *d);
/* The descriptor backing region i, with its file offset and size. */
int vnd_raw_memfd(struct vnd *d, unsigned region, uint64_t *offset, uint64_t *size);
/* Send any message; with reply != NULL wait for a reply and return its
 * payload size. Returns -errno on failure. */
int vnd_raw_request(struct vnd *d, uint32_t request, uint32_t flags, const void *payload,
		    uint32_t size, const int *fds, int nfds, void *reply, uint32_t reply_cap);
/* Reserve count free descriptors of queue q for the test's own chains. */
int vnd_raw_take_descs(struct vnd *d, unsigned q, unsigned count, uint16_t *ids);
/* Put head into the avail ring of queue q, publish it and kick. */
void vnd_raw_publish(struct vnd *d, unsigned q, uint16_t head);

#endif
