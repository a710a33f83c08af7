/* SPDX-License-Identifier: MIT */
/*
 * Reading the capture stream (ctl/ctl_proto.h) on the client side: bytes
 * are taken from the socket as they come, and each record is checked
 * before use (type, port, length, padding): the stream is data from
 * another process.
 */
#ifndef VNP_CAPTURE_READER_H
#define VNP_CAPTURE_READER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl/ctl_proto.h"

/* Room for a few of the largest records. */
#define CAPTURE_READER_BUF (256u * 1024)

struct capture_reader {
	int sock;
	size_t start, end; /* unread bytes in buf */
	uint8_t buf[CAPTURE_READER_BUF];
};

void capture_reader_init(struct capture_reader *r, int sock);
/* Read what the socket holds, without waiting: bytes read, 0 at the end of
 * the stream, -EAGAIN when nothing is there, or another -errno. */
ssize_t capture_reader_fill(struct capture_reader *r);
/* The next whole record among the bytes read: 1 with *rec and *data (valid
 * until the next fill), 0 when more must be read first, -EPROTO for a
 * malformed record. */
int capture_reader_next(struct capture_reader *r, struct vnp_cap_record *rec,
			const uint8_t **data);

#endif
