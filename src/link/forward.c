/* SPDX-License-Identifier: MIT */
#include "link/forward.h"

#include <endian.h>
#include <string.h>

#include "link/copy_work.h"
#include "link/forward_gso.h"
#include "link/frame_copy.h"
#include "link/rx_prefetch.h"
#include "link/rx_writer.h"
#include "net/csum.h"
#include "net/virtio_net.h"
#include "util/checked.h"

/* Locals die when a client-memory fault unwinds the datapath; this makes
 * sure a packet's commit is in memory before the next client access. */
#define COMMIT_BARRIER() __asm__ __volatile__("" ::: "memory")

/* The sender's header and frame, walked together with the receiver's
 * chains (txc is the sender's chain, taken). */
static enum pkt_result forward_walk(struct fwd_end *src, struct fwd_end *dst, struct vq_chain *txc,
				    struct rx_writer *w, uint32_t *frame_len, struct fwd_drop *drop,
				    struct fwd_fault *fault)
{
	unsigned src_hdr_len = vnet_hdr_len(src->features);
	unsigned dst_hdr_len = vnet_hdr_len(dst->features);
	bool merge = dst->features & BIT64(VIRTIO_NET_F_MRG_RXBUF);
	uint8_t wire[VNET_HDR_MAX];
	struct vnet_hdr in, out = { 0 };
	struct patch16 num_buffers = { { NULL, NULL } };
	struct csum_job job = { 0 };
	struct copy_work cw;
	enum vq_error err;
	enum rx_step st;
	uint8_t *tx_ptr = NULL;
	uint32_t tx_left = 0;
	uint16_t chains;

	if (!fwd_read_header(txc, wire, src_hdr_len, &err)) {
		if (err)
			goto src_fault;
		fwd_drop_note(drop, &src->stats->drop_bad, NULL,
			      "shorter than its virtio-net header");
		return PKT_DROPPED;
	}
	vnet_hdr_decode(wire, &in);
	if (in.gso_type != VIRTIO_NET_HDR_GSO_NONE)
		return forward_gso(src, dst, &in, txc, w, frame_len, drop, fault);
	/* Not all of cw is cleared: the record is set up only when used. */
	cw.cs = NULL;
	cw.capture = src->capture;
	cw.any = cw.capture != NULL;
	if (in.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (dst->features & BIT64(VIRTIO_NET_F_GUEST_CSUM)) {
			out.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
			out.csum_start = in.csum_start;
			out.csum_offset = in.csum_offset;
		} else {
			cw.cs = &job;
			cw.any = true;
		}
		job.start = in.csum_start;
		job.field = (uint32_t)in.csum_start + in.csum_offset;
	}
	if (cw.capture)
		capture_rec_begin(cw.capture, &cw.rec);
	out.num_buffers = 1;
	vnet_hdr_encode(&out, dst_hdr_len, wire);

	st = rx_start(w, dst->vq, merge, &err);
	if (st == RX_OK)
		st = rx_write(w, wire, dst_hdr_len, VNET_HDR_NUM_BUFFERS_OFFSET, &num_buffers, &err);
	if (st != RX_OK)
		goto rx_stop;

	for (;;) {
		uint32_t n;

		if (!tx_left) {
			err = vq_chain_next(txc, UINT32_MAX, &tx_ptr, &tx_left);
			if (err)
				goto src_fault;
			if (!tx_left)
				break;
		}
		if (!w->room && (st = rx_next_piece(w, &err)) != RX_OK)
			goto rx_stop;
		n = MIN(tx_left, w->room);
		if (n > VNET_FRAME_MAX - *frame_len) {
			st = RX_TOO_BIG;
			goto rx_stop;
		}
		copy_piece(&cw, w->ptr, tx_ptr, n, *frame_len);
		rx_advance(w, n);
		tx_ptr += n;
		tx_left -= n;
		*frame_len += n;
	}

	if ((in.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    !fwd_csum_fits(in.csum_start, in.csum_offset, *frame_len)) {
		fwd_drop_note(drop, &src->stats->drop_bad, NULL,
			      "checksum request beyond the frame");
		return PKT_DROPPED;
	}
	if (cw.cs)
		csum_job_finish(&job, cw.capture, &cw.rec, job.field);
	st = rx_end_frame(w, &chains, &err);
	if (st != RX_OK)
		goto rx_stop;
	if (chains > 1)
		patch16_write(&num_buffers, chains);
	if (num_buffers.ptr[0])
		DEMOTE_LINE(num_buffers.ptr[0]);

	src->stats->tx_packets++;
	src->stats->tx_bytes += *frame_len;
	dst->stats->rx_packets++;
	dst->stats->rx_bytes += *frame_len;
	if (cw.capture)
		capture_rec_commit(cw.capture, &cw.rec, src->port);
	return PKT_SENT;

rx_stop:
	switch (st) {
	case RX_WAIT:
		return PKT_WAIT;
	case RX_TOO_BIG:
		fwd_drop_note(drop, &src->stats->drop_too_big, &dst->stats->rx_drop_too_big,
			      "larger than the receiver's buffers");
		return PKT_DROPPED;
	case RX_FAULT:
	case RX_OK:
		break;
	}
	return pkt_fault(fault, 1, err);
src_fault:
	return pkt_fault(fault, 0, err);
}

/* One packet the general way, from both rings' last commits: its walk
 * charged to the budget whatever became of the packet, and what it took
 * committed or forgotten as the outcome says. */
static enum pkt_result forward_one(struct fwd_end *src, struct fwd_end *dst,
				   struct fwd_budget *budget, struct fwd_fault *fault)
{
	struct vq *tx = src->vq, *rx = dst->vq;
	struct fwd_drop drop;
	struct vq_chain txc;
	struct rx_writer w;
	uint32_t frame_len = 0;
	enum pkt_result r;
	enum vq_error err;
	bool got;

	w.walked = w.chain.descs = 0;
	vq_take_begin(tx);
	vq_take_begin(rx);
	err = vq_take(tx, &txc, false, &got);
	if (err)
		return pkt_fault(fault, 0, err);
	if (!got)
		return PKT_NONE;
	r = forward_walk(src, dst, &txc, &w, &frame_len, &drop, fault);
	if (r == PKT_SENT || r == PKT_DROPPED) {
		/* A chain delivered was walked to its end, so only a drop's
		 * can be refused here (struct fwd_drop). */
		err = fwd_tx_give_back(tx, &txc);
		if (err)
			r = pkt_fault(fault, 0, err);
		else if (r == PKT_DROPPED)
			fwd_drop_count(src, &drop);
	}
	if (r == PKT_SENT)
		vq_commit(rx);
	else
		vq_take_begin(rx);
	if (r != PKT_SENT && r != PKT_DROPPED)
		vq_take_begin(tx);
	fwd_budget_spend(budget, txc.descs + rx_descs(&w), frame_len);
	return r;
}

/* A buffer outside the region its memory last hit: translated the full
 * way, and the run's copy of the hit (h) follows the memory's. */
static inline bool fwd_range_miss(struct guest_mem *mem, struct gm_hit *h, struct vq_desc d,
				  uint8_t **p)
{
	*p = gm_gpa_range_slow(mem, d.addr, d.len);
	*h = mem->hit;
	return *p != NULL;
}

/* Whether [gpa, gpa + len) lies in the region last hit, its host address
 * in *p if so: its end within the region, and its start too, which
 * matters only when the sum wrapped (a gpa below the region's: its offset
 * is then beyond any region's size, a mapped length far below
 * 2^64 - 2^32). */
static inline __attribute__((always_inline)) bool fast_hit(const struct gm_hit *h, uint64_t gpa,
							       uint32_t len, uint8_t **p)
{
	uint64_t off = gpa - h->gpa, end = off + len;

	if (__builtin_expect(end > h->size || off > h->size, 0))
		return false;
	*p = h->host + off;
	return true;
}

/* The receiver's header, built in registers and stored whole: lo its
 * first 8 bytes, hi the checksum offset and num_buffers (12 bytes with
 * num_buffers, else 10). Bytes assembled on the stack and read back wider
 * miss store forwarding and wait for every store of the previous copy to
 * drain. */
static inline __attribute__((always_inline)) void rx_header_store(uint8_t *rp, uint64_t lo,
							       uint32_t hi, unsigned dst_hdr_len)
{
	lo = htole64(lo);
	hi = htole32(hi);
	__builtin_memcpy(rp, &lo, sizeof lo);
	if (dst_hdr_len == VNET_HDR_MAX)
		__builtin_memcpy(rp + 8, &hi, 4);
	else
		__builtin_memcpy(rp + 8, &hi, 2);
}

/*
 * The shape nearly every packet has, without the general chain walk: the
 * sender's header and frame in one descriptor, and a receive buffer of one
 * descriptor with room for both. Anything else, including anything wrong,
 * goes to forward_one(), which reads and checks everything for itself:
 * nothing is taken here before the packet is sure to go this way. One
 * packet of a run (vq_run_begin) on each ring; false: not this way.
 */
static inline __attribute__((always_inline)) bool
forward_fast(struct fwd_end *src, struct capture_buf *capture, struct vq *tx, struct vq *rx,
	     struct vq_run *tr, struct vq_run *rr, struct gm_hit *th, struct gm_hit *rh,
	     unsigned src_hdr_len, unsigned dst_hdr_len, bool guest_csum, int64_t *bytes,
	     bool tx_packed, bool rx_packed)
{
	uint64_t in_lo;  /* flags, gso_type, hdr_len, gso_size, csum_start */
	uint16_t in_hi;  /* csum_offset */
	struct vq_desc td, rd;
	uint8_t *tp, *rp;
	uint32_t flen, tx_tag, rx_tag;

	if (!vq_run_peek(tr, tx_packed, false, &td, &tx_tag))
		return false;
	/* Shorter than the header: the difference wraps, far beyond. */
	flen = td.len - src_hdr_len;
	if (flen > VNET_FRAME_MAX)
		return false;
	if (!fast_hit(th, td.addr, td.len, &tp) && !fwd_range_miss(tx->mem, th, td, &tp))
		return false;
	if (!vq_run_peek(rr, rx_packed, true, &rd, &rx_tag) || rd.len < dst_hdr_len + flen)
		return false;
	if (!fast_hit(rh, rd.addr, rd.len, &rp) && !fwd_range_miss(rx->mem, rh, rd, &rp))
		return false;

	/* Flags, GSO type and checksum fields lie in the first 10 bytes of
	 * either header length. */
	in_lo = load_le64_once(tp);
	in_hi = load_le16_once(tp + sizeof in_lo);
	if ((uint8_t)(in_lo >> 8) != VIRTIO_NET_HDR_GSO_NONE)
		return false;
	uint64_t lo = 0;                     /* flags .. csum_start */
	uint32_t hi = (uint32_t)1 << 16;     /* csum_offset, num_buffers = 1 */
	if (in_lo & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		uint16_t start = (uint16_t)(in_lo >> 48);

		if (!guest_csum || !fwd_csum_fits(start, in_hi, flen))
			return false;
		lo = VIRTIO_NET_HDR_F_NEEDS_CSUM | (uint64_t)start << 48;
		hi |= in_hi;
	}
	rx_header_store(rp, lo, hi, dst_hdr_len);
	frame_copy(rp + dst_hdr_len, tp + src_hdr_len, flen);
	DEMOTE_LINE(rp + VNET_HDR_NUM_BUFFERS_OFFSET);

	/* Both chains taken, given back and committed. */
	vq_run_done(rx, rr, rx_packed, rx_tag, dst_hdr_len + flen);
	vq_run_done(tx, tr, tx_packed, tx_tag, 0);
	*bytes -= flen;
	if (__builtin_expect(capture != NULL, 0))
		capture_packet(capture, src->port, rp + dst_hdr_len, flen);
	return true;
}

/* The batch loop for every pairing but two packed rings: without the
 * four-wide step, and compiled before it exists (forward_batch_loop.h). */
#define FWD_BATCH_NAME forward_batch
#define FWD_BATCH_ATTR
#define FWD_BATCH_STEP4(pf)
#include "link/forward_batch_loop.h"
#undef FWD_BATCH_NAME
#undef FWD_BATCH_ATTR
#undef FWD_BATCH_STEP4

/* One packet of the four-wide step, its buffers checked: tp the sender's
 * (header and frame, flen the frame's length), rp the receiver's, with
 * room for both. Its header checked as forward_fast checks it and, if
 * that passes, the receiver's written and the frame copied. Its receive
 * length in *rlen, its frame in *frame. */
static inline __attribute__((always_inline)) bool
fast4_deliver(const uint8_t *tp, uint8_t *rp, uint32_t flen, unsigned src_hdr_len,
	      unsigned dst_hdr_len, bool guest_csum, uint32_t *rlen, uint8_t **frame)
{
	uint64_t in_lo = load_le64_once(tp);
	uint16_t in_hi;

	/* No GSO (its type is 0) and no checksum asked for, in one test. */
	_Static_assert(VIRTIO_NET_HDR_GSO_NONE == 0, "GSO_NONE is 0");
	if (__builtin_expect(in_lo & (0xff00u | VIRTIO_NET_HDR_F_NEEDS_CSUM), 0)) {
		uint16_t start = (uint16_t)(in_lo >> 48);

		if ((uint8_t)(in_lo >> 8) != VIRTIO_NET_HDR_GSO_NONE)
			return false;
		in_hi = load_le16_once(tp + sizeof in_lo);
		if (!guest_csum || !fwd_csum_fits(start, in_hi, flen))
			return false;
		rx_header_store(rp, VIRTIO_NET_HDR_F_NEEDS_CSUM | (uint64_t)start << 48,
			     (uint32_t)1 << 16 | in_hi, dst_hdr_len);
	} else {
		/* Stored apart: the compiler otherwise keeps the test's
		 * result (0) for lo, in a spilled register. */
		rx_header_store(rp, 0, (uint32_t)1 << 16, dst_hdr_len);
	}
	frame_copy(rp + dst_hdr_len, tp + src_hdr_len, flen);
	DEMOTE_LINE(rp + VNET_HDR_NUM_BUFFERS_OFFSET);
	*rlen = dst_hdr_len + flen;
	*frame = rp + dst_hdr_len;
	return true;
}

/* The k-th packet of forward_fast4: its buffers checked as forward_fast
 * checks them (a region miss included: that is forward_fast's to handle)
 * and, if they pass, delivered (fast4_deliver); its chains stay where
 * they are. */
static inline __attribute__((always_inline)) bool
fast4_packet(const struct vq_run *tr, const struct vq_run *rr, const struct gm_hit *th,
	     const struct gm_hit *rh, unsigned k, unsigned src_hdr_len, unsigned dst_hdr_len,
	     bool guest_csum, bool tx_packed, bool rx_packed, uint32_t *rlen, uint8_t **frame)
{
	uint32_t flen, tag;
	struct vq_desc td, rd;
	uint8_t *tp, *rp;

	vq_run_get4(tr, tx_packed, k, &td, &tag);
	flen = td.len - src_hdr_len;
	if (flen > VNET_FRAME_MAX || !fast_hit(th, td.addr, td.len, &tp))
		return false;
	vq_run_get4(rr, rx_packed, k, &rd, &tag);
	if (rd.len < dst_hdr_len + flen || !fast_hit(rh, rd.addr, rd.len, &rp))
		return false;
	return fast4_deliver(tp, rp, flen, src_hdr_len, dst_hdr_len, guest_csum, rlen, frame);
}

/* The end of a four-wide step that delivered n packets: all eight chains
 * given back at once (n is 4), or the first n one by one, the packet that
 * stopped it untouched, for forward_fast. The used elements go into the
 * rings only after every copy: a fault in either client's memory leaves
 * the other's ring as it was. */
static inline __attribute__((always_inline)) unsigned
fast4_finish(struct fwd_end *src, struct capture_buf *capture, struct vq *tx, struct vq *rx,
	     struct vq_run *tr, struct vq_run *rr, unsigned n, const uint32_t rlen[4],
	     uint8_t *const frame[4], unsigned dst_hdr_len, bool tx_packed, bool rx_packed)
{
	if (n == 4) {
		vq_run_done4(rx, rr, rx_packed, rlen);
		vq_run_done4(tx, tr, tx_packed, NULL);
	} else {
		for (unsigned k = 0; k < n; k++) {
			/* Each is the next of its run now. */
			vq_run_done(rx, rr, rx_packed, vq_run_tag4(rr, rx_packed, 0), rlen[k]);
			vq_run_done(tx, tr, tx_packed, vq_run_tag4(tr, tx_packed, 0), 0);
		}
	}
	if (__builtin_expect(capture != NULL, 0))
		for (unsigned k = 0; k < n; k++)
			capture_packet(capture, src->port, frame[k], rlen[k] - dst_hdr_len);
	return n;
}

/* The four packets of a four-wide step in turn, PACKET(k) each: it jumps
 * to out with i = k when packet k does not go, else spends its frame from
 * b. The one-packet loop stops after the packet that spends the budget:
 * so does this, after the third. i is 4 when all went. Unrolled: each
 * packet's k is a constant. */
#define FAST4_EACH(PACKET)                                                                     \
	PACKET(0)                                                                              \
	PACKET(1)                                                                              \
	PACKET(2)                                                                              \
	if (b <= 0) {                                                                          \
		i = 3;                                                                         \
		goto out;                                                                      \
	}                                                                                      \
	PACKET(3)                                                                              \
	i = 4;

/*
 * Up to four packets of the shape forward_fast takes, the rings'
 * bookkeeping moved once for four: both rings' next four chains must be
 * simple (vq_run_peek4, checked before anything is read or written);
 * then each packet is checked and copied in turn (fast4_packet), and the
 * chains are given back once all four are (fast4_finish). Returns how
 * many packets went. pf: claim receive buffers ahead, as the one-packet
 * loop does.
 */
static inline __attribute__((always_inline)) unsigned
forward_fast4(struct fwd_end *src, struct capture_buf *capture, struct vq *tx, struct vq *rx,
	      struct vq_run *tr, struct vq_run *rr, const struct gm_hit *th,
	      const struct gm_hit *rh, unsigned src_hdr_len, unsigned dst_hdr_len,
	      bool guest_csum, int64_t *bytes, bool pf, uint32_t prefetch, bool tx_packed,
	      bool rx_packed)
{
	uint32_t rlen[4];
	uint8_t *frame[4];
	int64_t b = *bytes;
	unsigned i;

	if (!vq_run_peek4(tr, tx_packed) || !vq_run_peek4(rr, rx_packed))
		return 0;
	/* Copies: no packet here updates the regions hit. */
	const struct gm_hit th4 = *th, rh4 = *rh;
	if (pf)
		for (i = 0; i < 4; i++)
			prefetch_rx_run(rx, rx_packed, (uint16_t)(PREFETCH_AHEAD + i), prefetch);
#define FAST4_PACKET(k)                                                                      \
	if (!fast4_packet(tr, rr, &th4, &rh4, k, src_hdr_len, dst_hdr_len, guest_csum, tx_packed, \
			  rx_packed, &rlen[k], &frame[k])) {                                  \
		i = k;                                                                        \
		goto out;                                                                     \
	}                                                                                     \
	b -= rlen[k] - dst_hdr_len;
	FAST4_EACH(FAST4_PACKET)
#undef FAST4_PACKET
out:
	*bytes = b;
	return fast4_finish(src, capture, tx, rx, tr, rr, i, rlen, frame, dst_hdr_len, tx_packed,
			    rx_packed);
}

#if defined(__x86_64__)
/* Whether two packed rings go four at a time with AVX2 (forward_fast4_avx2):
 * where the CPU has it, set before main; tests change it. */
bool forward_wide_avx2;

__attribute__((constructor)) static void forward_wide_init(void)
{
	__builtin_cpu_init();
	forward_wide_avx2 = __builtin_cpu_supports("avx2");
}

/*
 * forward_fast4 with AVX2: the same packets go, checked alike, but the
 * four chains of each ring are loaded together (vq_run_load4_avx2) and
 * all eight buffers and the four lengths are checked at once, before any
 * is written: anything wrong with any of them, a region miss included,
 * leaves all four to forward_fast. Only a packet's header, checked as it
 * is delivered, can stop the step part way.
 */
static inline __attribute__((always_inline, target("avx2"))) unsigned
forward_fast4_avx2(struct fwd_end *src, struct capture_buf *capture, struct vq *tx,
		   struct vq *rx, struct vq_run *tr, struct vq_run *rr, const struct gm_hit *th,
		   const struct gm_hit *rh, unsigned src_hdr_len, unsigned dst_hdr_len,
		   bool guest_csum, int64_t *bytes, bool pf, uint32_t prefetch, bool tx_packed,
		   bool rx_packed)
{
	__m256i taddr, tlen, raddr, rlen4, thost, rhost, flen, bad;
	uint64_t tp[4], rp[4], fl[4];
	uint32_t rlen[4];
	uint8_t *frame[4];
	int64_t b = *bytes;
	unsigned i;

	if (!vq_run_load4_avx2(tr, tx_packed, &taddr, &tlen) ||
	    !vq_run_load4_avx2(rr, rx_packed, &raddr, &rlen4))
		return 0;
	/* A frame is the sender's buffer less its header: a buffer shorter
	 * than that, or a frame longer than any, goes no further. */
	bad = _mm256_or_si256(
		_mm256_cmpgt_epi64(_mm256_set1_epi64x(src_hdr_len), tlen),
		_mm256_cmpgt_epi64(tlen, _mm256_set1_epi64x(VNET_FRAME_MAX + src_hdr_len)));
	flen = _mm256_sub_epi64(tlen, _mm256_set1_epi64x(src_hdr_len));
	/* The receive buffer holds the receiver's header and the frame. */
	bad = _mm256_or_si256(bad, _mm256_cmpgt_epi64(
					   _mm256_add_epi64(flen, _mm256_set1_epi64x(dst_hdr_len)),
					   rlen4));
	bad = _mm256_or_si256(bad, gm_hit_range4_avx2(th, taddr, tlen, &thost));
	bad = _mm256_or_si256(bad, gm_hit_range4_avx2(rh, raddr, rlen4, &rhost));
	if (!_mm256_testz_si256(bad, bad))
		return 0;
	_mm256_storeu_si256((__m256i *)(void *)tp, thost);
	_mm256_storeu_si256((__m256i *)(void *)rp, rhost);
	_mm256_storeu_si256((__m256i *)(void *)fl, flen);
	/* Read back from memory: nothing in the 32-byte registers lives
	 * across the copies (a long one is a call, around which the
	 * compiler would save them). */
	__asm__("" : "+m"(tp), "+m"(rp), "+m"(fl));
	if (pf) {
		__m256i ahead_addr, ahead_len;

		/* The four after these, at once where they are simple. */
		_Static_assert(PREFETCH_AHEAD == 4, "the next step's four are claimed");
		if (vq_run_hint4_avx2(rr, rx_packed, &ahead_addr, &ahead_len))
			claim_rx_buffers4_avx2(&rx->mem->hit, ahead_addr, ahead_len, prefetch);
		else
			for (i = 0; i < 4; i++)
				prefetch_rx_run(rx, rx_packed, (uint16_t)(PREFETCH_AHEAD + i),
						prefetch);
	}
#define FAST4_PACKET(k)                                                                      \
	if (!fast4_deliver((const uint8_t *)(uintptr_t)tp[k], (uint8_t *)(uintptr_t)rp[k],        \
			   (uint32_t)fl[k], src_hdr_len, dst_hdr_len, guest_csum, &rlen[k],       \
			   &frame[k])) {                                                      \
		i = k;                                                                        \
		goto out;                                                                     \
	}                                                                                     \
	b -= fl[k];
	FAST4_EACH(FAST4_PACKET)
#undef FAST4_PACKET
out:
	*bytes = b;
	return fast4_finish(src, capture, tx, rx, tr, rr, i, rlen, frame, dst_hdr_len, tx_packed,
			    rx_packed);
}
#endif

/* The batch loop for two packed rings: four packets at a time where it
 * can (step4: forward_fast4, or forward_fast4_avx2 in the loop compiled
 * for AVX2), one at a time otherwise. */
#define FWD_STEP4_BY(step4, pf)                                                                \
		if (n - sent >= 4) {                                                          \
			unsigned k = step4(src, capture, tx, rx, &tr, &rr, &th, &rh,           \
					   src_hdr_len, dst_hdr_len, guest_csum, &bytes, pf,   \
					   prefetch, tx_packed, rx_packed);                    \
			if (k) {                                                              \
				sent += k;                                                    \
				COMMIT_BARRIER();                                             \
				if (bytes <= 0)                                               \
					break;                                                \
				if (k == 4)                                                   \
					continue;                                             \
			}                                                                     \
		}
#define FWD_BATCH_NAME forward_batch_wide
#define FWD_BATCH_ATTR
#define FWD_BATCH_STEP4(pf) FWD_STEP4_BY(forward_fast4, pf)
#include "link/forward_batch_loop.h"
#undef FWD_BATCH_NAME
#undef FWD_BATCH_ATTR
#undef FWD_BATCH_STEP4

#if defined(__x86_64__)
#define FWD_BATCH_NAME forward_batch_wide_avx2
#define FWD_BATCH_ATTR __attribute__((target("avx2")))
#define FWD_BATCH_STEP4(pf) FWD_STEP4_BY(forward_fast4_avx2, pf)
#include "link/forward_batch_loop.h"
#undef FWD_BATCH_NAME
#undef FWD_BATCH_ATTR
#undef FWD_BATCH_STEP4
#endif
#undef FWD_STEP4_BY
#undef FAST4_EACH

/* batch is forward_batch, or forward_batch_wide for two packed rings
 * (attr: the AVX2 one's target). */
#define BATCH_FOR(name, batch, tx_packed, rx_packed, plain)                                   \
	BATCH_FOR_TARGET(name, batch, tx_packed, rx_packed, plain, )
#define BATCH_FOR_TARGET(name, batch, tx_packed, rx_packed, plain, attr)                      \
	static attr enum fwd_status name(struct fwd_end *src, struct fwd_end *dst,               \
				    struct fwd_budget *budget, uint32_t prefetch,            \
				    struct fwd_fault *fault)                                 \
	{                                                                                   \
		return batch(src, dst, budget, prefetch, fault, tx_packed, rx_packed, plain); \
	}
BATCH_FOR(batch_split_split, forward_batch, false, false, false)
BATCH_FOR(batch_split_packed, forward_batch, false, true, false)
BATCH_FOR(batch_packed_split, forward_batch, true, false, false)
BATCH_FOR(batch_packed_packed, forward_batch_wide, true, true, false)
BATCH_FOR(batch_split_split_plain, forward_batch, false, false, true)
BATCH_FOR(batch_split_packed_plain, forward_batch, false, true, true)
BATCH_FOR(batch_packed_split_plain, forward_batch, true, false, true)
BATCH_FOR(batch_packed_packed_plain, forward_batch_wide, true, true, true)
#if defined(__x86_64__)
BATCH_FOR_TARGET(batch_packed_packed_avx2, forward_batch_wide_avx2, true, true, false,
		 __attribute__((target("avx2"))))
BATCH_FOR_TARGET(batch_packed_packed_plain_avx2, forward_batch_wide_avx2, true, true, true,
		 __attribute__((target("avx2"))))
#endif

enum fwd_status forward_packets(struct fwd_end *src, struct fwd_end *dst,
				struct fwd_budget *budget, struct fwd_fault *fault)
{
	static enum fwd_status (*const batch[2][2][2])(struct fwd_end *, struct fwd_end *,
							 struct fwd_budget *, uint32_t,
							 struct fwd_fault *) = {
		{ { batch_split_split, batch_split_split_plain },
		  { batch_split_packed, batch_split_packed_plain } },
		{ { batch_packed_split, batch_packed_split_plain },
		  { batch_packed_packed, batch_packed_packed_plain } },
	};
	bool plain = vnet_hdr_len(src->features) == VNET_HDR_MAX &&
		     vnet_hdr_len(dst->features) == VNET_HDR_MAX && !src->capture;
	uint32_t bytes = prefetch_bytes(src, dst);
	uint64_t packets = src->stats->tx_packets, sent = src->stats->tx_bytes;
	enum fwd_status st;

	/* Start the pipeline; the loop keeps it PREFETCH_AHEAD chains ahead. */
	if (bytes)
		prefetch_rx_start(dst, bytes);
#if defined(__x86_64__)
	if (src->vq->packed && dst->vq->packed && forward_wide_avx2)
		st = (plain ? batch_packed_packed_plain_avx2 : batch_packed_packed_avx2)(
			src, dst, budget, bytes, fault);
	else
#endif
		st = batch[src->vq->packed][dst->vq->packed][plain](src, dst, budget, bytes,
								    fault);
	if (bytes)
		prefetch_rx_end(dst, st);
	/* Delivered frames are at most VNET_FRAME_MAX long: the mean fits. */
	packets = src->stats->tx_packets - packets;
	if (packets)
		src->frame_hint = (uint32_t)((src->stats->tx_bytes - sent) / packets);
	return st;
}

enum fwd_status drop_packets(struct fwd_end *src, struct fwd_budget *budget,
			     struct fwd_fault *fault, uint64_t *counter)
{
	struct vq *tx = src->vq;

	while (fwd_budget_left(budget)) {
		struct vq_chain c;
		enum vq_error err;
		bool got;

		vq_take_begin(tx);
		err = vq_take(tx, &c, false, &got);
		if (!err && !got)
			return FWD_IDLE;
		if (!err)
			err = fwd_tx_give_back(tx, &c);
		if (err) {
			vq_take_begin(tx);
			return fwd_fail(fault, 0, err);
		}
		/* The head, and for a packed ring the rest of its chain in the ring. */
		fwd_budget_spend(budget, MAX(c.descs, 1u), 0);
		(*counter)++;
		COMMIT_BARRIER();
	}
	return FWD_MORE;
}
