/* SPDX-License-Identifier: MIT */
/*
 * Reading framed messages from a non-blocking stream socket: a header of
 * fixed size, then as many payload bytes as the header says, and the
 * descriptors that came with them. A message arrives in as many pieces as
 * the peer likes without ever blocking us, and is never read past its own
 * end, so descriptors stay with their message. vhost-user connections and
 * control connections both read this way.
 */
#ifndef VNP_FRAME_READER_H
#define VNP_FRAME_READER_H

#include <stddef.h>
#include <stdint.h>

struct frame_reader {
	int sock;
	void *hdr;
	uint32_t hdr_size;
	void *payload;
	uint32_t payload_max;
	/* The payload length the header claims (its own field, read once). */
	uint32_t (*payload_len)(const void *hdr);
	int *fds;        /* fds_max slots; the first nfds hold this message's */
	int fds_max;
	int nfds;
	uint32_t have;   /* bytes of the current message read so far */
};

enum frame_read {
	FRAME_AGAIN,   /* nothing more for now */
	FRAME_HEADER,  /* the header just completed: check it, then read on */
	FRAME_DONE,    /* the whole message is here; its fds are the caller's */
	FRAME_CLOSED,  /* the peer closed the connection (or receiving failed) */
	FRAME_INVALID, /* a framing violation; why in err */
};

/* Set up over the caller's buffers; every fd slot becomes -1. */
void frame_reader_init(struct frame_reader *r, int sock, void *hdr, uint32_t hdr_size,
		       void *payload, uint32_t payload_max,
		       uint32_t (*payload_len)(const void *hdr), int *fds, int fds_max);
/* Read on until the header or the message completes. */
enum frame_read frame_read(struct frame_reader *r, char *err, size_t errlen);
/* The message is handled: close the fds nobody took, read the next one. */
void frame_reader_next(struct frame_reader *r);

#endif
