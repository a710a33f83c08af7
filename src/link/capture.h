/* SPDX-License-Identifier: MIT */
/*
 * Live capture: a control connection that asked for the frames crossing
 * the link becomes its capture subscriber. Delivered frames are recorded
 * into a bounded buffer that exists only while a capture is attached, and
 * sent from the event loop with non-blocking writes; what a slow reader
 * leaves no room for is dropped from the capture, never from the link.
 *
 * One subscriber at a time: its buffer and the datapath's one extra copy
 * per frame stay bounded, and a second viewer can tee the first one's
 * output.
 */
#ifndef VNP_CAPTURE_H
#define VNP_CAPTURE_H

#include <stddef.h>

#include "link/capture_buf.h"

struct capture;
struct evloop;

#define CAPTURE_BUFFER_BYTES (4u << 20)

/* Where a link keeps its capture: the loop that sends it, the subscriber,
 * and the buffer the datapath records into (NULL: nowhere; one load per
 * batch). */
struct capture_slot {
	struct evloop *loop;
	struct capture *active;
	struct capture_buf *recording;
};

/* Make fd (a connected, non-blocking stream socket) the subscriber; the
 * link owns it on success. -EBUSY with a message while one is attached. */
int capture_attach(struct capture_slot *s, int fd, char *err, size_t errlen);
/* Subscribers attached: 0 or 1. */
unsigned capture_count(const struct capture_slot *s);

/* For the datapath (src/link), once per batch: where delivered frames are
 * recorded with capture_packet() and friends, or NULL. */
struct capture_buf *capture_recording(const struct capture_slot *s);
/* Send what was recorded; the link calls it before the loop sleeps. */
void capture_flush(struct capture_slot *s);
/* End the capture now (the server exits): one try to send the rest. */
void capture_detach(struct capture_slot *s);

#endif
