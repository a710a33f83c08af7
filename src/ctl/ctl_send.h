/* SPDX-License-Identifier: MIT */
/* One control message out, header and payload in one send, with at most
 * one descriptor: requests from the client side, replies from the server. */
#ifndef VNP_CTL_SEND_H
#define VNP_CTL_SEND_H

#include <stdint.h>

/* 0, or -errno (-E2BIG for an oversized payload; -EIO when only part of
 * it went). flags: MSG_DONTWAIT or 0. */
int ctl_send(int sock, uint16_t op, int32_t status, const void *payload, uint32_t len, int fd,
	     int flags);

#endif
