/* SPDX-License-Identifier: MIT */
/*
 * A Linux TAP interface as the far end of a port (create tap=NAME): opening
 * or attaching it, and what the kernel is told about the client on the
 * other port: the virtio-net header size, checksum offload, and carrier.
 *
 * The TAP carries the virtio-net header itself (IFF_VNET_HDR), so checksum
 * requests travel both ways without us touching a packet.
 */
#ifndef VNP_TAP_H
#define VNP_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tap_buffers;

struct tap {
	int fd;          /* -1: not open */
	char name[16];
	bool created;    /* it did not exist: it goes away when fd is closed */
	int ifindex;     /* in our network namespace, when opened */
	int query_fd;    /* a socket for interface ioctls (MTU) */
	/* What the kernel was last told. */
	bool carrier;
	unsigned hdr_len;  /* TUNSETVNETHDRSZ: 10 or 12 */
	bool csum_offload; /* TUN_F_CSUM: the kernel may hand us partial checksums */
	unsigned offloads; /* TUNSETOFFLOAD as last set */
	bool gso_frames;   /* the kernel may hand us GSO frames of up to 64 KiB */
	/* Datapath state (tap_forward.c). */
	bool readable;      /* frames may be waiting: read until EAGAIN */
	bool mtu_rechecked; /* since the last frame read, when blocked */
	uint32_t frame_max; /* largest frame to expect: MTU + 18, or larger seen */
	struct tap_buffers *buf;
};

void tap_init(struct tap *t);

/*
 * Create the TAP interface name, or attach to it if it exists (a persistent
 * TAP made with `ip tuntap add`), non-blocking, with a 10-byte virtio-net
 * header, no offloads and the carrier off. mac, when not NULL, becomes its
 * address. Returns 0, or -errno with a message in err.
 */
int tap_open(struct tap *t, const char *name, const uint8_t *mac, char *err, size_t errlen);
/* Carrier off and close: a TAP we created disappears with it. */
void tap_close(struct tap *t);

/* Match the client on the other port: its header length, and the
 * offloads it takes (GUEST_CSUM, GUEST_TSO4/6, GUEST_ECN, GUEST_UFO) as the
 * kernel's TUN_F_ flags, so the kernel hands it partial checksums and GSO
 * frames only when it can take them. Only what changed is set. */
int tap_configure(struct tap *t, unsigned hdr_len, uint64_t client_features);
int tap_set_carrier(struct tap *t, bool on);

/* Re-read the MTU and set frame_max from it; false when the interface is
 * no longer visible here (moved to another namespace, say). */
bool tap_refresh_mtu(struct tap *t);

#endif
