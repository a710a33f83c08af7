/* SPDX-License-Identifier: MIT */
/*
 * The control endpoint's wire format: the Linux form of the original's
 * `svr` IPC gate. A request is a header and a payload on a UNIX stream
 * socket; so is the reply. create's reply carries the port (a descriptor,
 * SCM_RIGHTS): the capability.
 *
 * The header's layout never changes; VNP_CTL_VERSION changes with
 * anything else. A request of another version is refused with EPROTO and
 * a text naming both versions; a client refuses a reply of another version.
 */
#ifndef VNP_CTL_PROTO_H
#define VNP_CTL_PROTO_H

#include <stdint.h>

#include "link/capture_record.h"

#define VNP_CTL_MAGIC 0x50324e56u /* "VN2P" */
#define VNP_CTL_VERSION 5 /* 5: the tx drop reason ring_off */
#define VNP_CTL_PAYLOAD_MAX 4096u

enum vnp_ctl_op {
	/* Payload: u32 protocol type (0: a virtio-net port), then zero or more
	 * NUL-terminated "key=value" strings. May carry one descriptor: a
	 * listening socket on which the server accepts the port's clients.
	 * Reply: struct vnp_ctl_created, then warnings as text; a descriptor
	 * unless the port has listen=. On failure: status -errno, text. */
	VNP_CTL_CREATE = 1,
	/* Empty payload. Reply: struct vnp_ctl_status. */
	VNP_CTL_STATUS = 2,
	/* Empty payload. Reply: struct vnp_ctl_capture_info, or -EBUSY while
	 * another capture runs. Then the connection carries the capture stream
	 * (struct vnp_cap_record below) from the server. The client sends
	 * nothing more; it shuts down its sending side to end the capture, and
	 * the server sends what it still holds, a VNP_CAP_END record, and
	 * closes. */
	VNP_CTL_CAPTURE = 3,
};

struct vnp_ctl_header {
	uint32_t magic;
	uint16_t version;
	uint16_t op;
	uint32_t len;   /* payload bytes */
	int32_t status; /* replies: 0 or -errno */
};

struct vnp_ctl_created {
	uint32_t port;
	uint8_t has_mac;
	uint8_t mac[6];
	uint8_t pad;
};

/*
 * Counters of a port (see struct port_stats). tx is what this port's
 * client sent, rx what it was given. A packet lost on the way is counted
 * once, as a drop of the sender's tx; too_big also as a drop of the
 * receiver's rx, since its buffers are the reason.
 */
enum vnp_ctl_counter {
	VNP_CTR_TX_PACKETS,
	VNP_CTR_TX_BYTES,
	VNP_CTR_RX_PACKETS,
	VNP_CTR_RX_BYTES,
	VNP_CTR_DROP_NO_PEER,    /* tx: the peer could not receive */
	VNP_CTR_DROP_TOO_BIG,    /* tx: larger than the peer's receive buffers */
	VNP_CTR_DROP_BAD,        /* tx: a malformed packet or TX chain */
	VNP_CTR_KICKS,
	VNP_CTR_INTERRUPTS,
	VNP_CTR_RX_DROP_TOO_BIG, /* rx: from the peer, larger than our buffers */
	VNP_CTR_RX_DROP_BAD,     /* rx: an RX chain that broke the rules */
	VNP_CTR_TX_GSO,          /* tx: GSO frames delivered, whole or in segments */
	VNP_CTR_TX_GSO_SEGMENTED, /* tx: of those, cut into segments for the peer */
	VNP_CTR_TX_GSO_SEGMENTS, /* tx: the segments (or fragments) they became */
	VNP_CTR_RX_GSO,          /* rx: GSO frames given to this port's client whole */
	VNP_CTR_DROP_RING_OFF,   /* tx: sent on a TX ring the client had turned off */
	VNP_CTR_COUNT,
};

/* One queue pair's share of its port's counters. */
struct vnp_ctl_queue {
	uint64_t tx_packets; /* sent from its TX ring, delivered */
	uint64_t rx_packets; /* delivered into its RX ring */
	uint64_t drops;      /* sent from its TX ring, not delivered */
};

#define VNP_CTL_QUEUES_MAX 16

struct vnp_ctl_port {
	uint32_t state; /* enum port_state */
	uint32_t ds_max;
	uint8_t has_mac;
	uint8_t mac[6];
	uint8_t pad;
	uint64_t features;
	uint16_t queue_size[2]; /* RX, TX; 0 until set */
	uint32_t pad2;
	uint64_t mem_max;       /* bytes of client memory the port maps at most */
	uint64_t counter[VNP_CTR_COUNT];
	char listen_path[108];
	char tap_name[16]; /* a TAP end's interface; empty otherwise */
	char last_error[160];
	uint16_t queues;        /* queue pairs offered (queues=) */
	uint16_t queues_active; /* of those, with both rings running */
	uint32_t pad3;
	struct vnp_ctl_queue queue[VNP_CTL_QUEUES_MAX];
};

struct vnp_ctl_status {
	uint32_t nports;
	uint32_t captures; /* capture subscribers attached */
	struct vnp_ctl_port port[2];
};

struct vnp_ctl_capture_info {
	uint32_t buffer_bytes; /* what the server holds for a slow reader */
	uint32_t snaplen;      /* the longest frame a record carries */
};

/* ---- the capture stream: link/capture_record.h ---- */

#endif
