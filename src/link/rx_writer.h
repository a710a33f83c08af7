/* SPDX-License-Identifier: MIT */
/*
 * Writing frames into a receiver's RX chains (internal to src/link): one
 * frame, or several (the segments of one GSO frame), taken all or nothing.
 * Chains are claimed in avail order; used elements are written as frames
 * end, and nothing counts until rx_commit(): a frame that turns out too big,
 * or a receiver short of buffers, leaves the ring as it was.
 */
#ifndef VNP_RX_WRITER_H
#define VNP_RX_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "net/virtio_net.h"
#include "util/checked.h"
#include "virtio/virtqueue.h"

struct rx_writer {
	struct vq *vq;
	struct vq_chain chain;
	bool merge;            /* MRG_RXBUF: a frame may take several chains */
	uint16_t avail;        /* RX chains known to be available */
	uint16_t chains;       /* chains taken, the current one included */
	uint16_t first;        /* the current frame's first chain */
	uint32_t walked;       /* descriptors of the frames before the current one */
	uint16_t head;         /* the current chain */
	uint32_t chain_bytes;  /* written into the current chain */
	uint8_t *ptr;
	uint32_t room;
};

enum rx_step { RX_OK, RX_TOO_BIG, RX_WAIT, RX_FAULT };

/* Where a 16-bit field landed (it may straddle two buffers), to patch
 * once its value is known: num_buffers, a checksum. */
struct patch16 {
	uint8_t *ptr[2];
};

static inline void patch16_write(const struct patch16 *p, uint16_t v)
{
	uint8_t b[2];

	memcpy(b, &v, 2);
	*p->ptr[0] = b[0];
	*p->ptr[1] = b[1];
}

/* Take chain number w->chains for a new frame. */
static inline enum rx_step rx_take_chain(struct rx_writer *w, bool new_frame, enum vq_error *err)
{
	if (w->chains == w->avail) {
		*err = vq_avail_refresh(w->vq, &w->avail);
		if (*err)
			return RX_FAULT;
		/* With every buffer of the ring taken, waiting cannot help. */
		if (w->chains == w->avail)
			return w->chains == w->vq->num ? RX_TOO_BIG : RX_WAIT;
	}
	*err = vq_avail_head(w->vq, w->chains, &w->head);
	if (*err)
		return RX_FAULT;
	/* A frame's chains share one bound on descriptors; a new frame has its own. */
	if (new_frame) {
		w->walked += w->chain.descs;
		vq_chain_begin(w->vq, &w->chain, w->head, true);
	} else {
		vq_chain_continue(&w->chain, w->head);
	}
	w->chains++;
	w->chain_bytes = 0;
	w->room = 0;
	return RX_OK;
}

/* Start with the first frame in the receiver's next chain. */
static inline enum rx_step rx_start(struct rx_writer *w, struct vq *vq, bool merge,
				    uint16_t avail, enum vq_error *err)
{
	w->vq = vq;
	w->merge = merge;
	w->avail = avail;
	w->chains = 0;
	w->first = 0;
	w->walked = 0;
	w->chain.descs = 0;
	return rx_take_chain(w, true, err);
}

/* Make w->room > 0, moving to the receiver's next chain when merging. */
static inline enum rx_step rx_next_piece(struct rx_writer *w, enum vq_error *err)
{
	for (;;) {
		enum rx_step st;

		*err = vq_chain_next(&w->chain, UINT32_MAX, &w->ptr, &w->room);
		if (*err)
			return RX_FAULT;
		if (w->room)
			return RX_OK;
		if (!w->merge)
			return RX_TOO_BIG;
		/* This chain is full: record it and take the next one. */
		vq_used_put(w->vq, (uint16_t)(w->chains - 1), w->head, w->chain_bytes);
		st = rx_take_chain(w, false, err);
		if (st != RX_OK)
			return st;
	}
}

static inline void rx_advance(struct rx_writer *w, uint32_t n)
{
	w->ptr += n;
	w->room -= n;
	w->chain_bytes += n;
}

/* Write bytes of our own (a header), remembering where the two bytes at
 * offset `at` of them went (at >= len: nowhere). */
static inline enum rx_step rx_write(struct rx_writer *w, const uint8_t *src, unsigned len,
				    unsigned at, struct patch16 *where, enum vq_error *err)
{
	for (unsigned off = 0; off < len;) {
		uint32_t n;
		enum rx_step st;

		if (!w->room && (st = rx_next_piece(w, err)) != RX_OK)
			return st;
		n = MIN(w->room, len - off);
		memcpy(w->ptr, src + off, n);
		for (unsigned b = 0; b < 2; b++)
			if (at + b >= off && at + b < off + n)
				where->ptr[b] = w->ptr + (at + b - off);
		rx_advance(w, n);
		off += n;
	}
	return RX_OK;
}

/* The current frame is whole: its last chain's used element is written.
 * Returns the chains it took (its num_buffers). */
static inline uint16_t rx_end_frame(struct rx_writer *w)
{
	vq_used_put(w->vq, (uint16_t)(w->chains - 1), w->head, w->chain_bytes);
	return (uint16_t)(w->chains - w->first);
}

/* The next frame of the same walk starts in the next chain. */
static inline enum rx_step rx_next_frame(struct rx_writer *w, enum vq_error *err)
{
	w->first = w->chains;
	return rx_take_chain(w, true, err);
}

/* Descriptors walked so far, every frame's. */
static inline uint32_t rx_descs(const struct rx_writer *w)
{
	return w->walked + w->chain.descs;
}

/* Every frame written counts now. */
static inline void rx_commit(struct rx_writer *w)
{
	vq_used_commit(w->vq, w->chains);
	w->vq->last_avail = (uint16_t)(w->vq->last_avail + w->chains);
}

#endif
