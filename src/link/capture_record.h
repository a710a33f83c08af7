/* SPDX-License-Identifier: MIT */
/*
 * The records of a capture, as the link writes them and a capture client
 * reads them off the control connection (ctl/ctl_proto.h carries them).
 * Fixed-size fields in host byte order: both ends are on one host.
 */
#ifndef VNP_CAPTURE_RECORD_H
#define VNP_CAPTURE_RECORD_H

#include <stdint.h>

/* Every frame the link can carry fits a record whole. */
#define VNP_CAP_SNAPLEN (14u + 8u + 40u + 65535u)

enum vnp_cap_type {
	VNP_CAP_PACKET = 1, /* len bytes of an Ethernet frame, delivered to the peer */
	VNP_CAP_END = 2,    /* struct vnp_cap_end; the last record */
};

/* Each record starts 8-byte aligned: this header, len bytes, zero padding
 * up to the next multiple of 8. */
struct vnp_cap_record {
	uint16_t type;
	uint8_t port;     /* VNP_CAP_PACKET: the port whose client sent it; else 0 */
	uint8_t pad;      /* 0 */
	uint32_t len;
	uint64_t time_ns; /* CLOCK_REALTIME */
};

struct vnp_cap_end {
	uint64_t packets[2]; /* frames recorded, by sending port */
	uint64_t dropped[2]; /* frames the capture had no room for, by sending port */
};

#endif
