/* SPDX-License-Identifier: MIT */
/*
 * The feature byte of a fuzzed end, shared by the datapath targets
 * (fuzz_forward, fuzz_tap): the low six bits pick virtio features; the
 * top two are each target's own.
 */
#ifndef VNP_FUZZ_FEATURES_H
#define VNP_FUZZ_FEATURES_H

#include <stdint.h>

#include "net/virtio_net.h"

#define FB_VERSION_1 0x01u
#define FB_MRG_RXBUF 0x02u
#define FB_GUEST_CSUM 0x04u
#define FB_CSUM 0x08u
#define FB_INDIRECT 0x10u
#define FB_EVENT_IDX 0x20u

/* The segmentation offloads, each direction's, for the targets' own bits. */
#define GSO_HOST_FEATURES                                                          \
	(BIT64(VIRTIO_NET_F_HOST_TSO4) | BIT64(VIRTIO_NET_F_HOST_TSO6) |           \
	 BIT64(VIRTIO_NET_F_HOST_ECN) | BIT64(VIRTIO_NET_F_HOST_UFO))
#define GSO_GUEST_FEATURES                                                         \
	(BIT64(VIRTIO_NET_F_GUEST_TSO4) | BIT64(VIRTIO_NET_F_GUEST_TSO6) |         \
	 BIT64(VIRTIO_NET_F_GUEST_ECN) | BIT64(VIRTIO_NET_F_GUEST_UFO))

static inline uint64_t features_from(uint8_t b)
{
	uint64_t f = 0;

	if (b & FB_VERSION_1)
		f |= BIT64(VIRTIO_F_VERSION_1);
	if (b & FB_MRG_RXBUF)
		f |= BIT64(VIRTIO_NET_F_MRG_RXBUF);
	if (b & FB_GUEST_CSUM)
		f |= BIT64(VIRTIO_NET_F_GUEST_CSUM);
	if (b & FB_CSUM)
		f |= BIT64(VIRTIO_NET_F_CSUM);
	if (b & FB_INDIRECT)
		f |= BIT64(VIRTIO_RING_F_INDIRECT_DESC);
	if (b & FB_EVENT_IDX)
		f |= BIT64(VIRTIO_RING_F_EVENT_IDX);
	return f;
}

#endif
