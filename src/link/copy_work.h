/* SPDX-License-Identifier: MIT */
/*
 * What is done to a frame's bytes beside copying them (internal to
 * src/link): a checksum completed for a receiver that cannot take a
 * partial one, summed over what was written (the sender's buffer may
 * change under us), and the capture's record. Both are rare, so a single
 * test per piece covers them.
 */
#ifndef VNP_COPY_WORK_H
#define VNP_COPY_WORK_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "link/capture_buf.h"
#include "link/frame_copy.h"
#include "link/rx_writer.h"
#include "net/csum.h"

struct csum_job {
	uint32_t start;        /* frame offset where summing starts */
	uint32_t field;        /* frame offset of the 16-bit result */
	struct csum_acc acc;
	struct patch16 where;  /* where the field's two bytes landed */
};

struct copy_work {
	bool any;                    /* a checksum job, or a capture */
	struct csum_job *cs;         /* NULL: no checksum to complete */
	struct capture_buf *capture; /* records the frame as the receiver gets it */
	struct capture_rec rec;      /* set up only when capturing */
};

/* n bytes at frame offset pos, from src to dst. */
static inline void copy_piece(struct copy_work *cw, uint8_t *dst, const uint8_t *src, uint32_t n,
			      uint32_t pos)
{
	struct csum_job *cs = cw->cs;
	uint32_t end = pos + n;

	frame_copy(dst, src, n);
	if (!cw->any)
		return;
	if (cw->capture)
		capture_rec_append(cw->capture, &cw->rec, dst, n);
	if (!cs)
		return;
	if (end > cs->start) {
		uint32_t from = pos < cs->start ? cs->start - pos : 0;

		csum_add(&cs->acc, dst + from, n - from);
	}
	for (unsigned b = 0; b < 2; b++) {
		uint32_t at = cs->field + b;

		if (at >= pos && at < end)
			cs->where.ptr[b] = dst + (at - pos);
	}
}

/* Copy n bytes of our own into the receiver's buffers at frame offset
 * pos, through the same work. */
static inline enum rx_step copy_to_rx(struct copy_work *cw, struct rx_writer *w,
				      const uint8_t *src, uint32_t n, uint32_t pos,
				      enum vq_error *err)
{
	while (n) {
		uint32_t k;
		enum rx_step st;

		if (!w->room && (st = rx_next_piece(w, err)) != RX_OK)
			return st;
		k = MIN(w->room, n);
		copy_piece(cw, w->ptr, src, k, pos);
		rx_advance(w, k);
		src += k;
		pos += k;
		n -= k;
	}
	return RX_OK;
}

/* The completed checksum into its field, and into the capture's copy of
 * the frame whose record is rec (at offset `at` of that frame). */
static inline void csum_job_finish(const struct csum_job *cs, struct capture_buf *capture,
				   const struct capture_rec *rec, uint32_t at)
{
	uint16_t sum = csum_finish(&cs->acc);

	patch16_write(&cs->where, sum);
	if (capture)
		capture_rec_patch(capture, rec, at, &sum, sizeof sum);
}

#endif
