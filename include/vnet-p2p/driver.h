/* SPDX-License-Identifier: MIT */
/*
 * libvnet-p2p-driver: the driver side of a virtio-net device reached over
 * vhost-user, i.e. what a QEMU guest's virtio_net driver or DPDK's
 * virtio-user does, as a small C library.
 *
 * One `struct vnd` is one client of one vnet-p2p port: it owns shared
 * memory (memfd or a given file), two virtqueues per queue pair (ring 2q
 * = RX of pair q, 2q + 1 = its TX; one pair unless cfg.queues asks for
 * more), and the vhost-user connection. Everything is single-threaded and
 * non-blocking after vnd_open_*() returns.
 *
 * The virtqueues are split ones (virtio 1.2, 2.7) unless cfg.features
 * asks for VND_F_RING_PACKED and the device offers it: then they are
 * packed (2.8), with the same API and the same chain layouts. vnd_features()
 * says which it became.
 *
 * Functions return 0 or a positive count on success and a negative errno
 * value on failure; vnd_last_error() explains the most recent failure.
 */
#ifndef VNET_P2P_DRIVER_H
#define VNET_P2P_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Virtio feature bits a driver may ask for (values are bit numbers). */
#define VND_F_CSUM 0          /* VIRTIO_NET_F_CSUM: device completes checksums */
#define VND_F_GUEST_CSUM 1    /* VIRTIO_NET_F_GUEST_CSUM: we accept partial csums */
#define VND_F_MAC 5           /* VIRTIO_NET_F_MAC */
/* Segmentation offloads (virtio 1.2, 5.1.3): never in VND_FEATURES_DEFAULT;
 * add them to cfg.features to opt in. GUEST_* say what we accept on RX,
 * HOST_* what the device may take from us on TX. */
#define VND_F_GUEST_TSO4 7    /* we accept TCPv4 super-packets */
#define VND_F_GUEST_TSO6 8    /* we accept TCPv6 super-packets */
#define VND_F_GUEST_ECN 9     /* ... with the ECN bit (needs GUEST_TSO4/6) */
#define VND_F_GUEST_UFO 10    /* we accept UDP super-packets */
#define VND_F_HOST_TSO4 11    /* device segments TCPv4 we send (gso_type TCPV4) */
#define VND_F_HOST_TSO6 12    /* device segments TCPv6 (gso_type TCPV6) */
#define VND_F_HOST_ECN 13     /* ... and honours the ECN bit (needs HOST_TSO4/6) */
#define VND_F_HOST_UFO 14     /* device fragments UDP (gso_type UDP) */
#define VND_F_MRG_RXBUF 15    /* VIRTIO_NET_F_MRG_RXBUF */
/* VIRTIO_NET_F_MQ: negotiated when cfg.queues > 1 (not taken from
 * cfg.features); vnd_features() shows it. */
#define VND_F_MQ 22
#define VND_F_INDIRECT_DESC 28
#define VND_F_EVENT_IDX 29
#define VND_F_VERSION_1 32
/* Packed virtqueues instead of split ones: never in VND_FEATURES_DEFAULT
 * (existing programs keep split rings); add it to cfg.features to opt in.
 * A device that does not offer it gets split rings. With it, queue_size
 * may be any number of 1..32768. */
#define VND_F_RING_PACKED 34
/* With VND_F_RING_PACKED only: the device uses buffers in the order they
 * were made available and may mark a batch of them used at once
 * (virtio 1.2, 2.8.9). Ignored for split rings. */
#define VND_F_IN_ORDER 35

#define VND_FEATURES_DEFAULT                                                   \
	((1ull << VND_F_CSUM) | (1ull << VND_F_GUEST_CSUM) | (1ull << VND_F_MAC) | \
	 (1ull << VND_F_MRG_RXBUF) | (1ull << VND_F_INDIRECT_DESC) |                \
	 (1ull << VND_F_EVENT_IDX) | (1ull << VND_F_VERSION_1))

/* How the driver lays out TX chains (to exercise every layout a device must accept). */
enum vnd_tx_layout {
	VND_TX_ONE_DESC = 0,  /* header and frame in one descriptor */
	VND_TX_HDR_SPLIT,     /* header in its own descriptor, frame in the next */
	VND_TX_INDIRECT,      /* an indirect table: header, then frame in pieces */
	VND_TX_SCATTER,       /* header split in two, frame in pieces of tx_piece bytes */
};

struct vnd_config {
	/* Features to accept; intersected with what the device offers. */
	uint64_t features;
	/* Ring size of both queues: a power of 2, or with VND_F_RING_PACKED any
	 * of 1..32768. 0 means 256. */
	unsigned queue_size;
	/* Bytes per RX buffer (each one descriptor, header included). 0 means 2048.
	 * Without MRG_RXBUF the driver posts chains of rx_chain_descs buffers. */
	unsigned rx_buf_size;
	/* Descriptors per RX chain without MRG_RXBUF. 0 means as many as needed
	 * for a 65597-byte packet (Linux's "big packets" mode), but at most
	 * queue_size. */
	unsigned rx_chain_descs;
	/* TX chain layout and the piece size for SCATTER/INDIRECT. 0 means 512. */
	enum vnd_tx_layout tx_layout;
	unsigned tx_piece;
	/* Memory: split into this many regions (memory table entries). 0 means 1. */
	unsigned regions;
	/* Use ADD_MEM_REG per region instead of one SET_MEM_TABLE (needs the
	 * server's CONFIGURE_MEM_SLOTS protocol feature). */
	bool add_mem_reg;
	/* Back the memory with this file (created if absent) instead of memfds.
	 * With regions > 1 all regions are slices of this one file. */
	const char *mem_path;
	/* No kick eventfd: tell the device to poll the TX/RX rings. */
	bool kick_nofd;
	/* No call eventfd: the library polls the used rings instead. */
	bool call_nofd;
	/* Skip VHOST_USER_F_PROTOCOL_FEATURES (rings start enabled). */
	bool no_protocol_features;
	/* Queue pairs (multiqueue), 1..16; 0 means 1. With more than one, the
	 * device must offer VIRTIO_NET_F_MQ, VHOST_USER_PROTOCOL_F_MQ and at
	 * least this many pairs (GET_QUEUE_NUM), or opening fails saying which
	 * is missing. All pairs start enabled. There is no control queue: the
	 * library is the frontend and answers it itself, as QEMU does. */
	unsigned queues;
};

/* Fill a config with the defaults above. */
void vnd_config_init(struct vnd_config *cfg);

struct vnd;

/* Take over a connected vhost-user socket (a port descriptor from create). */
int vnd_open_fd(struct vnd **out, int fd, const struct vnd_config *cfg);
/* Connect to a vhost-user socket path (a listen= port). */
int vnd_open_path(struct vnd **out, const char *path, const struct vnd_config *cfg);
void vnd_close(struct vnd *d);

/* Features negotiated with the device. */
uint64_t vnd_features(const struct vnd *d);
/* The device's MAC from GET_CONFIG, if it offered VIRTIO_NET_F_MAC. */
int vnd_get_mac(struct vnd *d, uint8_t mac[6]);

/* gso_type values of the virtio-net header (VIRTIO_NET_HDR_GSO_*). */
#define VND_GSO_NONE 0
#define VND_GSO_TCPV4 1
#define VND_GSO_UDP 3
#define VND_GSO_TCPV6 4
#define VND_GSO_ECN 0x80      /* or'ed into TCPV4/TCPV6: the data had CWR set */

/* Offload requests for one TX frame. A zero-initialised meta asks for
 * nothing. GSO (gso_type other than VND_GSO_NONE) needs the matching
 * HOST_* feature, a gso_size and needs_csum, as the spec requires. */
struct vnd_tx_meta {
	bool needs_csum;       /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
	uint16_t csum_start;
	uint16_t csum_offset;
	uint8_t gso_type;      /* VND_GSO_*, possibly | VND_GSO_ECN */
	uint16_t gso_size;     /* payload bytes per segment (MSS) or per fragment */
	uint16_t hdr_len;      /* bytes of headers: L2 through L4 */
};

/* What came with a received frame. */
struct vnd_rx_meta {
	uint8_t flags;         /* virtio_net_hdr flags */
	uint8_t gso_type;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;  /* RX buffers the frame spanned */
	uint16_t gso_size;     /* with a gso_type: the segment size */
	uint16_t hdr_len;      /* with a gso_type: the headers' length, as the device says */
};

/* Queue one frame for transmission on pair 0 and notify the device if it
 * asks to be notified. -EAGAIN when the TX ring is full (nothing queued);
 * -EINVAL for GSO the device did not negotiate or that breaks the rules
 * above. */
int vnd_send(struct vnd *d, const void *frame, size_t len, const struct vnd_tx_meta *meta);
/* The same on the TX ring of pair q (0 .. vnd_queues() - 1): -EINVAL for a
 * pair that was not set up, -ENOTCONN for one that is disabled. A flow
 * kept on one pair stays in order. */
int vnd_send_q(struct vnd *d, unsigned q, const void *frame, size_t len,
	       const struct vnd_tx_meta *meta);
/* Reclaim finished TX buffers of every pair; returns how many are still in
 * flight. */
int vnd_tx_reclaim(struct vnd *d);
/* Receive one frame from pair 0 into buf. Returns its length, -EAGAIN when
 * none is waiting, -EMSGSIZE (frame consumed) when it does not fit into cap. */
ssize_t vnd_recv(struct vnd *d, void *buf, size_t cap, struct vnd_rx_meta *meta);
/* The same from the RX ring of pair q; a disabled pair's ring still gives
 * what the device delivered before. -EINVAL for a pair not set up. */
ssize_t vnd_recv_q(struct vnd *d, unsigned q, void *buf, size_t cap, struct vnd_rx_meta *meta);
/* Queue pairs set up (cfg.queues). */
unsigned vnd_queues(const struct vnd *d);
/* Turn pair q on or off at run time, as a guest's `ethtool -L` does
 * (SET_VRING_ENABLE for both of its rings; the rings keep their places,
 * posted RX buffers stay posted). The device stops delivering to a pair
 * that is off and finishes what its TX ring held. Needs protocol features
 * (-ENOTSUP without). */
int vnd_pair_enable(struct vnd *d, unsigned q, bool on);
bool vnd_pair_enabled(const struct vnd *d, unsigned q);
/* Wait until the device signals (call eventfd, shared by every ring) or
 * timeout_ms passes; with call_nofd it polls the rings. Returns 1 on an
 * event (on any pair), 0 on timeout. */
int vnd_wait(struct vnd *d, int timeout_ms);
/* The call eventfd to put into your own poll loop (-1 with call_nofd). */
int vnd_event_fd(const struct vnd *d);
/* Kick every ring unconditionally (for kick_nofd-less tests). */
void vnd_kick(struct vnd *d);

/* 1 if the device signalled the error eventfd of any queue, else 0. */
int vnd_device_failed(struct vnd *d);

/* Stop every ring (GET_VRING_BASE), as a guest driver reset does; then
 * vnd_restart() sets them up again with fresh buffers (empty rings: a
 * packed ring starts at index 0 with wrap counter 1). */
int vnd_stop(struct vnd *d);
int vnd_restart(struct vnd *d);

/* The explanation of the most recent failure, never NULL. */
const char *vnd_last_error(const struct vnd *d);

#ifdef __cplusplus
}
#endif
#endif
