/* SPDX-License-Identifier: MIT */
#include "net/virtio_net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "virtio is little-endian and legacy headers use host order; only LE hosts supported");

uint64_t vnet_offered_features(bool has_mac, unsigned pairs)
{
	/* Several pairs need the control queue the spec ties MQ to; front
	 * ends (QEMU, DPDK's virtio-user) serve it themselves and enable the
	 * pairs with SET_VRING_ENABLE. */
	return VNET_FEATURES_BASE | (has_mac ? BIT64(VIRTIO_NET_F_MAC) : 0) |
	       (pairs > 1 ? BIT64(VIRTIO_NET_F_MQ) | BIT64(VIRTIO_NET_F_CTRL_VQ) : 0);
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void vnet_hdr_decode(const uint8_t *wire, struct vnet_hdr *h)
{
	h->flags = wire[0];
	h->gso_type = wire[1];
	h->hdr_len = get16(wire + 2);
	h->gso_size = get16(wire + 4);
	h->csum_start = get16(wire + 6);
	h->csum_offset = get16(wire + 8);
	h->num_buffers = 0;
}

void vnet_hdr_encode(const struct vnet_hdr *h, unsigned len, uint8_t *wire)
{
	wire[0] = h->flags;
	wire[1] = h->gso_type;
	put16(wire + 2, h->hdr_len);
	put16(wire + 4, h->gso_size);
	put16(wire + 6, h->csum_start);
	put16(wire + 8, h->csum_offset);
	if (len >= 12)
		put16(wire + VNET_HDR_NUM_BUFFERS_OFFSET, h->num_buffers);
}

int vnet_config_read(const uint8_t mac[6], bool has_mac, unsigned pairs, uint32_t offset,
		     uint32_t len, uint8_t *out)
{
	uint8_t space[VNET_CONFIG_SPACE_SIZE] = { 0 };

	if (offset > VNET_CONFIG_SPACE_SIZE || len > VNET_CONFIG_SPACE_SIZE - offset)
		return -EINVAL;
	if (has_mac)
		memcpy(space, mac, 6);
	/* max_virtqueue_pairs (read with MQ; one pair for drivers that read it
	 * regardless). */
	put16(space + 8, (uint16_t)(pairs ? pairs : 1));
	memcpy(out, space + offset, len);
	return 0;
}

const char *vnet_feature_name(unsigned bit)
{
	switch (bit) {
	case VIRTIO_NET_F_CSUM: return "CSUM";
	case VIRTIO_NET_F_GUEST_CSUM: return "GUEST_CSUM";
	case VIRTIO_NET_F_MTU: return "MTU";
	case VIRTIO_NET_F_MAC: return "MAC";
	case VIRTIO_NET_F_GUEST_TSO4: return "GUEST_TSO4";
	case VIRTIO_NET_F_GUEST_TSO6: return "GUEST_TSO6";
	case VIRTIO_NET_F_GUEST_ECN: return "GUEST_ECN";
	case VIRTIO_NET_F_GUEST_UFO: return "GUEST_UFO";
	case VIRTIO_NET_F_HOST_TSO4: return "HOST_TSO4";
	case VIRTIO_NET_F_HOST_TSO6: return "HOST_TSO6";
	case VIRTIO_NET_F_HOST_ECN: return "HOST_ECN";
	case VIRTIO_NET_F_HOST_UFO: return "HOST_UFO";
	case VIRTIO_NET_F_MRG_RXBUF: return "MRG_RXBUF";
	case VIRTIO_NET_F_STATUS: return "STATUS";
	case VIRTIO_NET_F_CTRL_VQ: return "CTRL_VQ";
	case VIRTIO_NET_F_MQ: return "MQ";
	case VIRTIO_F_NOTIFY_ON_EMPTY: return "NOTIFY_ON_EMPTY";
	case VIRTIO_F_ANY_LAYOUT: return "ANY_LAYOUT";
	case VIRTIO_RING_F_INDIRECT_DESC: return "INDIRECT_DESC";
	case VIRTIO_RING_F_EVENT_IDX: return "EVENT_IDX";
	case 30: return "PROTOCOL_FEATURES";
	case VIRTIO_F_VERSION_1: return "VERSION_1";
	case VIRTIO_F_ACCESS_PLATFORM: return "ACCESS_PLATFORM";
	case VIRTIO_F_RING_PACKED: return "RING_PACKED";
	case VIRTIO_F_IN_ORDER: return "IN_ORDER";
	}
	return NULL;
}

char *vnet_features_str(uint64_t features, char *buf, size_t len)
{
	size_t used = 0;

	if (len)
		buf[0] = '\0';
	for (unsigned bit = 0; bit < 64 && used < len; bit++) {
		const char *name;
		char unknown[16];
		int n;

		if (!(features & BIT64(bit)))
			continue;
		name = vnet_feature_name(bit);
		if (!name) {
			snprintf(unknown, sizeof unknown, "bit%u", bit);
			name = unknown;
		}
		n = snprintf(buf + used, len - used, "%s%s", used ? " " : "", name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}
