/* SPDX-License-Identifier: MIT */
/*
 * Writing frames into a receiver's RX chains (internal to src/link): one
 * frame, or several (the segments of one GSO frame). Chains are taken from
 * the ring (virtio/virtqueue.h) tentatively and given back used as frames
 * end; nothing counts until the writer's caller commits the ring: a frame
 * that turns out too big, or a receiver short of buffers, leaves the ring
 * as it was.
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
	uint16_t chains;       /* chains taken, the current one included */
	uint16_t first;        /* the current frame's first chain */
	uint32_t walked;       /* descriptors of the frames before the current one */
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

/* Take the receiver's next chain, for a new frame or for more of one. */
static inline enum rx_step rx_take_chain(struct rx_writer *w, bool new_frame, enum vq_error *err)
{
	bool got;

	if (new_frame) {
		w->walked += w->chain.descs;
		*err = vq_take(w->vq, &w->chain, true, &got);
	} else {
		/* A frame's chains share one bound on descriptors. */
		*err = vq_take_more(w->vq, &w->chain, &got);
	}
	if (*err)
		return RX_FAULT;
	/* With every buffer of the ring taken, waiting cannot help. */
	if (!got)
		return vq_all_taken(w->vq) ? RX_TOO_BIG : RX_WAIT;
	w->chains++;
	w->chain_bytes = 0;
	w->room = 0;
	return RX_OK;
}

/* Start with the first frame in the receiver's next chain. */
static inline enum rx_step rx_start(struct rx_writer *w, struct vq *vq, bool merge,
				    enum vq_error *err)
{
	w->vq = vq;
	w->merge = merge;
	w->chains = 0;
	w->first = 0;
	w->walked = 0;
	w->chain.descs = 0;
	vq_take_begin(vq);
	return rx_take_chain(w, true, err);
}

/* The current chain is done with, chain_bytes written into it. */
static inline enum rx_step rx_chain_used(struct rx_writer *w, enum vq_error *err)
{
	*err = vq_used(w->vq, &w->chain, w->chain_bytes);
	return *err ? RX_FAULT : RX_OK;
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
		/* This chain is full: give it back and take the next one. */
		st = rx_chain_used(w, err);
		if (st == RX_OK)
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

/* The current frame is whole: its last chain goes back used. *chains gets
 * the chains it took (its num_buffers). */
static inline enum rx_step rx_end_frame(struct rx_writer *w, uint16_t *chains, enum vq_error *err)
{
	*chains = (uint16_t)(w->chains - w->first);
	return rx_chain_used(w, err);
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

#endif
