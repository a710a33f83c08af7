/* SPDX-License-Identifier: MIT */
/*
 * The capture buffer: a bounded ring of capture records (the stream format
 * of link/capture_record.h), filled by the datapath and drained by the event
 * loop into the capture's socket. A frame that finds no room is dropped
 * from the capture only, and counted: a slow reader never holds up the
 * link. Records are written in place, so the datapath copies each frame
 * once more and does nothing else.
 */
#ifndef VNP_CAPTURE_BUF_H
#define VNP_CAPTURE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define CAPTURE_PORTS 2

struct capture_buf {
	uint8_t *mem;
	uint64_t mask;  /* size - 1; the size is a power of 2 */
	uint64_t limit; /* room for packet records; the rest is kept for the end record */
	uint64_t head;  /* committed records end here (positions run freely, mod size) */
	uint64_t tail;  /* sent up to here */
	bool ended;     /* the end record is in: nothing more is recorded */
	uint64_t packets[CAPTURE_PORTS]; /* by sending port */
	uint64_t dropped[CAPTURE_PORTS];
};

/* A record written piece by piece while its frame is copied. It becomes
 * visible when committed; one never committed (the frame was dropped after
 * all) leaves no trace. One record at a time. */
struct capture_rec {
	uint64_t start;
	uint64_t pos;
	bool overflow;
};

/* size: a power of 2 of at least 64 KiB. Returns 0 or -errno. The memory
 * is mapped here and unmapped by capture_buf_free, so it is returned to
 * the system when the capture ends. */
int capture_buf_init(struct capture_buf *b, size_t size);
void capture_buf_free(struct capture_buf *b);

void capture_rec_begin(const struct capture_buf *b, struct capture_rec *r);
void capture_rec_append(struct capture_buf *b, struct capture_rec *r, const void *p, size_t n);
/* Overwrite bytes at offset in the frame written so far (a checksum
 * completed after the copy). */
void capture_rec_patch(struct capture_buf *b, const struct capture_rec *r, uint32_t offset,
		       const void *p, size_t n);
void capture_rec_commit(struct capture_buf *b, struct capture_rec *r, unsigned from_port);

/* A frame delivered from the client of from_port, whole. */
void capture_packet(struct capture_buf *b, unsigned from_port, const void *frame, size_t len);
void capture_packetv(struct capture_buf *b, unsigned from_port, const struct iovec *iov,
		     int iovcnt);

/* Queue the end record with the totals (there is always room for it). */
void capture_buf_end(struct capture_buf *b);

/* The next contiguous bytes to send (0 when all is sent), then how many went. */
size_t capture_buf_pending(const struct capture_buf *b, const uint8_t **p);
void capture_buf_consume(struct capture_buf *b, size_t n);

#endif
