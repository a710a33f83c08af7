/* SPDX-License-Identifier: MIT */
/*
 * The control endpoint's wire format: the Linux form of the original's
 * `svr` IPC gate. A request is a header and a payload on a UNIX stream
 * socket; so is the reply. create's reply carries the port (a descriptor,
 * SCM_RIGHTS): the capability.
 */
#ifndef VNP_CTL_PROTO_H
#define VNP_CTL_PROTO_H

#include <stdint.h>

#define VNP_CTL_MAGIC 0x50324e56u /* "VN2P" */
#define VNP_CTL_VERSION 1
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

enum vnp_ctl_counter {
	VNP_CTR_TX_PACKETS,
	VNP_CTR_TX_BYTES,
	VNP_CTR_RX_PACKETS,
	VNP_CTR_RX_BYTES,
	VNP_CTR_DROP_NO_PEER,
	VNP_CTR_DROP_TOO_BIG,
	VNP_CTR_DROP_BAD,
	VNP_CTR_KICKS,
	VNP_CTR_INTERRUPTS,
	VNP_CTR_COUNT,
};

struct vnp_ctl_port {
	uint32_t state; /* enum port_state */
	uint32_t ds_max;
	uint8_t has_mac;
	uint8_t mac[6];
	uint8_t pad;
	uint64_t features;
	uint16_t queue_size[2]; /* RX, TX; 0 until set */
	uint32_t pad2;
	uint64_t counter[VNP_CTR_COUNT];
	char listen_path[108];
	char last_error[160];
};

struct vnp_ctl_status {
	uint32_t nports;
	uint32_t pad;
	struct vnp_ctl_port port[2];
};

#endif
