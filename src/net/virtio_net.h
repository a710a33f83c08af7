/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net personality of a port: the features it offers, the header
 * each end uses, and the config space.
 */
#ifndef VNP_VIRTIO_NET_H
#define VNP_VIRTIO_NET_H

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VNET_RX_QUEUE 0
#define VNET_TX_QUEUE 1
#define VNET_QUEUES 2

/* Largest header any feature set uses (virtio_net_hdr_mrg_rxbuf / _v1). */
#define VNET_HDR_MAX 12
/* Largest frame we carry: an Ethernet header, two VLAN tags and an IP
 * packet of the largest size (an IPv6 header and 64 KiB of payload),
 * whether one MTU's or a GSO frame's. */
#define VNET_FRAME_MAX (14u + 8u + 40u + 65535u)

#define BIT64(n) (1ull << (n))

/* Segmentation offloads, both ways (net/gso.h). A receiver without the
 * GUEST_ ones gets segments instead. */
#define VNET_FEATURES_GSO                                                           \
	(BIT64(VIRTIO_NET_F_HOST_TSO4) | BIT64(VIRTIO_NET_F_HOST_TSO6) |           \
	 BIT64(VIRTIO_NET_F_HOST_ECN) | BIT64(VIRTIO_NET_F_HOST_UFO) |             \
	 BIT64(VIRTIO_NET_F_GUEST_TSO4) | BIT64(VIRTIO_NET_F_GUEST_TSO6) |         \
	 BIT64(VIRTIO_NET_F_GUEST_ECN) | BIT64(VIRTIO_NET_F_GUEST_UFO))

/* What every port offers; VIRTIO_NET_F_MAC is added when the port has one,
 * and VHOST_USER_F_PROTOCOL_FEATURES by the transport. */
#define VNET_FEATURES_BASE                                                          \
	(BIT64(VIRTIO_F_VERSION_1) | BIT64(VIRTIO_RING_F_INDIRECT_DESC) |          \
	 BIT64(VIRTIO_RING_F_EVENT_IDX) | BIT64(VIRTIO_NET_F_CSUM) |               \
	 BIT64(VIRTIO_NET_F_GUEST_CSUM) | BIT64(VIRTIO_NET_F_MRG_RXBUF) |          \
	 BIT64(VIRTIO_F_ANY_LAYOUT) | BIT64(VIRTIO_F_IN_ORDER) | BIT64(VIRTIO_F_RING_PACKED) | \
	 VNET_FEATURES_GSO)

/* What a port offers: its MAC when it has one, MQ with more than one
 * queue pair. */
uint64_t vnet_offered_features(bool has_mac, unsigned pairs);

/* Header length for negotiated features: 12 with VERSION_1 or MRG_RXBUF,
 * else the legacy 10. */
static inline unsigned vnet_hdr_len(uint64_t features)
{
	return (features & (BIT64(VIRTIO_F_VERSION_1) | BIT64(VIRTIO_NET_F_MRG_RXBUF))) ? 12 : 10;
}

/* A header in host form; on the wire it is little-endian. */
struct vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

void vnet_hdr_decode(const uint8_t *wire, struct vnet_hdr *h);
/* Encodes len (10 or 12) bytes. */
void vnet_hdr_encode(const struct vnet_hdr *h, unsigned len, uint8_t *wire);
#define VNET_HDR_NUM_BUFFERS_OFFSET 10

/* Device config space as GET_CONFIG reads it; bytes past what we define read
 * as zero. Returns 0, or -EINVAL for a range outside the space. */
int vnet_config_read(const uint8_t mac[6], bool has_mac, unsigned pairs, uint32_t offset,
		     uint32_t len, uint8_t *out);
#define VNET_CONFIG_SPACE_SIZE 256u

/* Feature names for logs and status, e.g. "VERSION_1 MRG_RXBUF". */
const char *vnet_feature_name(unsigned bit);
/* Writes names of the set bits, space separated; returns buf. */
char *vnet_features_str(uint64_t features, char *buf, size_t len);

#endif
