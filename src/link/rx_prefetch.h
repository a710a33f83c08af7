/* SPDX-License-Identifier: MIT */
/*
 * Cache tuning of the copy into a receiver's buffers (internal to
 * src/link): the lines about to be written are claimed ahead of the copy,
 * and the line the receiver reads first is pushed towards it. Hints only:
 * nothing here decides what is copied, and a wrong hint costs time, not
 * correctness. The figures behind each number are in bench/HISTORY.md.
 */
#ifndef VNP_RX_PREFETCH_H
#define VNP_RX_PREFETCH_H

#include <stdint.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "link/fwd_end.h"
#include "net/virtio_net.h"
#include "util/checked.h"
#include "virtio/guest_mem.h"
#include "virtio/virtqueue.h"

/* A line we are about to overwrite is best fetched for ownership, or the
 * first store stalls the copy behind it while the client's core gives the
 * line up. PREFETCHW does that on every x86-64 that has it and is a no-op
 * on those that do not; the builtin emits it only for -march's that list
 * it. */
#if defined(PREFETCH_FOR_WRITE)
/* A test's own, to see which lines are claimed. */
#elif defined(__x86_64__)
#define PREFETCH_FOR_WRITE(p) __asm__ volatile("prefetchw %0" ::"m"(*(const char *)(p)))
#else
#define PREFETCH_FOR_WRITE(p) __builtin_prefetch((const void *)(p), 1)
#endif

/* The receiver's core reads a frame's header next (num_buffers first):
 * with the header's line pushed out to the shared cache, that read is a
 * hit there instead of a snoop into our core. CLDEMOTE is a hint, a no-op
 * where it is not implemented; elsewhere there is nothing to say. */
#if defined(__x86_64__)
#define DEMOTE_LINE(p) __asm__ volatile("cldemote %0" ::"m"(*(const char *)(p)))
#else
#define DEMOTE_LINE(p) ((void)(p))
#endif

/* How many packets ahead buffers are prefetched: enough to cover a
 * cross-core miss with the copies in between, few enough to stay within
 * the core's outstanding misses. */
#define PREFETCH_AHEAD 4

/* Smaller frames gain nothing measurable from the prefetch (their copy is
 * a line or two, and the client sets the pace), so they skip its cost.
 * The batch's prefetch_bytes() decides for all its packets. */
#define PREFETCH_MIN_FRAME 512

/* Every line of a receive buffer is claimed, up to this much: the copy of
 * a large frame otherwise waits for one line after the other, since each
 * lies in the client's core or the shared cache. Beyond it the hardware's
 * own streaming keeps up, and a few packets' worth of claims stays within
 * the core's outstanding misses. */
#define PREFETCH_MAX_BYTES 2048
#define CACHE_LINE 64

/* One PREFETCH_FOR_WRITE of the line `k` lines before `last`, entered at
 * the count of lines wanted and falling through to the last line. */
#define CLAIM_BEFORE(k)                                                    \
	case k:                                                            \
		PREFETCH_FOR_WRITE(last - (k) * CACHE_LINE);               \
		__attribute__((fallthrough))

/*
 * Claim the host bytes from start to start + span, both in: every line
 * from start's to last's, without a loop: one jump into a row of them by
 * the count of lines before last's (a frame of 1500 bytes takes 24 or 25
 * in all). A line's address less whole lines is in the line that many
 * before. Beyond PREFETCH_MAX_BYTES (33 lines at most), the last 33 only;
 * the count taken modulo 64 has a case for every value (a GNU case range),
 * so the jump needs no bounds check.
 */
static inline __attribute__((always_inline)) void claim_lines(uintptr_t start, uint64_t span)
{
	uintptr_t last = start + span;

	switch ((start % CACHE_LINE + span) / CACHE_LINE % 64) {
	case 33 ... 63:
		CLAIM_BEFORE(32); CLAIM_BEFORE(31); CLAIM_BEFORE(30); CLAIM_BEFORE(29);
		CLAIM_BEFORE(28); CLAIM_BEFORE(27); CLAIM_BEFORE(26); CLAIM_BEFORE(25);
		CLAIM_BEFORE(24); CLAIM_BEFORE(23); CLAIM_BEFORE(22); CLAIM_BEFORE(21);
		CLAIM_BEFORE(20); CLAIM_BEFORE(19); CLAIM_BEFORE(18); CLAIM_BEFORE(17);
		CLAIM_BEFORE(16); CLAIM_BEFORE(15); CLAIM_BEFORE(14); CLAIM_BEFORE(13);
		CLAIM_BEFORE(12); CLAIM_BEFORE(11); CLAIM_BEFORE(10); CLAIM_BEFORE(9);
		CLAIM_BEFORE(8); CLAIM_BEFORE(7); CLAIM_BEFORE(6); CLAIM_BEFORE(5);
		CLAIM_BEFORE(4); CLAIM_BEFORE(3); CLAIM_BEFORE(2); CLAIM_BEFORE(1);
	case 0:
		PREFETCH_FOR_WRITE(last);
	}
}

/*
 * Claim the receive buffer d, as far as `bytes` of it (the frames waiting
 * are about that long): its lines were last touched by the client's core
 * or have left ours, and a store to such a line stalls the copy behind it.
 * Only a hint, kept cheap: d is a copy read without its checks, which the
 * packet's own turn makes on its own copy, and only the region h (the
 * last one hit) is tried; a buffer reaching past its end is left alone.
 * A prefetch of a bad address cannot fault, and none reaches past the
 * lines of that region.
 */
static inline __attribute__((always_inline)) void claim_rx_buffer(const struct gm_hit *h,
								 const struct vq_desc *d,
								 uint32_t bytes)
{
	uint64_t off = d->addr - h->gpa, span;

	/* An indirect table is only read: nothing to claim there. */
	if (off >= h->size || (d->flags & VRING_DESC_F_INDIRECT))
		return;
	/* From the first byte to the last one claimed (an empty buffer,
	 * d->len - 1 wrapping, takes `bytes`: a hint). */
	span = MIN(d->len - 1, bytes - 1);
	if (span >= h->size - off)
		return;
	claim_lines((uintptr_t)(h->host + off), span);
}
#undef CLAIM_BEFORE

/* The receive buffer `ahead` chains after the next, from the ring itself
 * (to start the pipeline, before a run). */
static inline __attribute__((always_inline)) void
prefetch_rx_buffer(struct vq *vq, bool packed, uint16_t ahead, uint32_t bytes)
{
	struct vq_desc d;

	if (vq_peek(vq, packed, ahead, &d))
		claim_rx_buffer(&vq->mem->hit, &d, bytes);
}

/* The same within a run of the fast way (vq_run_hint: a split ring's
 * entry found with fewer loads). */
static inline __attribute__((always_inline)) void
prefetch_rx_run(const struct vq *vq, bool packed, uint16_t ahead, uint32_t bytes)
{
	struct vq_desc d;

	if (vq_run_hint(vq, packed, ahead, &d))
		claim_rx_buffer(&vq->mem->hit, &d, bytes);
}

#if defined(__x86_64__)
/*
 * claim_rx_buffer of four receive buffers at once, with AVX2: addr and len
 * their descriptors' fields in lanes 0 to 3 (vq_run_hint4_avx2, simple
 * chains, so none is an indirect table). Each claimed as far as `bytes`
 * (more than 0) of it, if that much of it lies in the region h; an empty
 * buffer is left alone.
 */
static inline __attribute__((always_inline, target("avx2"))) void
claim_rx_buffers4_avx2(const struct gm_hit *h, __m256i addr, __m256i len, uint32_t bytes)
{
	/* Lengths are below 2^32 in their 64-bit lanes: the 32-bit minimum
	 * leaves the upper halves 0. */
	__m256i want = _mm256_min_epu32(len, _mm256_set1_epi64x(bytes)), host;
	unsigned bad = (unsigned)_mm256_movemask_pd(
		_mm256_castsi256_pd(gm_hit_range4_avx2(h, addr, want, &host)));
	uint64_t start[4], n[4];

	_mm256_storeu_si256((__m256i *)(void *)start, host);
	_mm256_storeu_si256((__m256i *)(void *)n, want);
	for (unsigned k = 0; k < 4; k++)
		if (!(bad >> k & 1) && n[k])
			claim_lines((uintptr_t)start[k], n[k] - 1);
}
#endif

/* Start a batch's pipeline: the buffers of the first PREFETCH_AHEAD
 * chains claimed, but for those the last batch's loop claimed already
 * (its last packets claimed the buffers of this batch's first ones). */
static inline void prefetch_rx_start(const struct fwd_end *dst, uint32_t bytes)
{
	struct vq *vq = dst->vq;
	uint16_t a = (uint16_t)(dst->claimed - vq_consumed(vq));

	if (dst->claimed_vq != vq || a > PREFETCH_AHEAD)
		a = 0;
	for (; a < PREFETCH_AHEAD; a++)
		prefetch_rx_buffer(vq, vq->packed, a, bytes);
}

/* After a batch that claimed ahead: its loop claimed the buffers
 * PREFETCH_AHEAD chains past each packet's, so up to that far past the
 * last one; none when the receiver ran out of buffers (those the loop
 * looked for were not there yet). */
static inline void prefetch_rx_end(struct fwd_end *dst, enum fwd_status st)
{
	dst->claimed_vq = dst->vq;
	dst->claimed = (uint16_t)(vq_consumed(dst->vq) + (st == FWD_BLOCKED ? 0 : PREFETCH_AHEAD));
}

/*
 * How much of each receive buffer to prefetch in this batch: about as much
 * as the frames of the sender's last batch took, or 0 when that is too
 * little for the prefetch to pay. Before the first batch, the first
 * waiting descriptor's length stands in: a hint read apart from the
 * packet's own checked copy, deciding nothing but the prefetch.
 */
static inline uint32_t prefetch_bytes(const struct fwd_end *src, const struct fwd_end *dst)
{
	uint32_t len = src->frame_hint;
	struct vq_desc d;

	if (len)
		len += vnet_hdr_len(dst->features);
	else if (vq_peek(src->vq, src->vq->packed, 0, &d))
		len = d.len;
	return len < PREFETCH_MIN_FRAME ? 0 : MIN(len, PREFETCH_MAX_BYTES);
}

#endif
