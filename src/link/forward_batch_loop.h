/* SPDX-License-Identifier: MIT */
/*
 * The loop over a batch (forward.c), included there twice: as
 * forward_batch, and as forward_batch_wide with the four-wide step
 * (forward_fast4) for two packed rings. Apart, so that the other pairings'
 * code is compiled without the step at all, not merely without it in the
 * end (its inlined copy, dead for them, still moved their register
 * allocation: split->packed took 7 more instructions a packet).
 * FWD_BATCH_NAME names it; FWD_BATCH_STEP4(pf), expanded first in each
 * turn of the fast loop, is the four-wide step or nothing; FWD_BATCH_ATTR
 * is the function's target (the AVX2 step's) or nothing. No include
 * guard: each inclusion makes another function.
 */

/* The loop over a batch, made once per pairing of ring formats by the
 * compiler (batch_for below), so no packet tests a format; prefetch is
 * the bytes of each receive buffer to claim ahead, 0 for none. */
static inline __attribute__((always_inline)) FWD_BATCH_ATTR enum fwd_status
FWD_BATCH_NAME(struct fwd_end *src, struct fwd_end *dst, struct fwd_budget *budget,
	      uint32_t prefetch, struct fwd_fault *fault, bool tx_packed, bool rx_packed, bool plain)
{
	/* The plain case, compiled apart: 12-byte headers on both ends (every
	 * virtio 1.x client has them) and no capture running. */
	unsigned src_hdr_len = plain ? VNET_HDR_MAX : vnet_hdr_len(src->features);
	unsigned dst_hdr_len = plain ? VNET_HDR_MAX : vnet_hdr_len(dst->features);
	bool guest_csum = dst->features & BIT64(VIRTIO_NET_F_GUEST_CSUM);
	/* Held here, they stay in registers across the per-packet barrier. */
	struct vq *tx = src->vq, *rx = dst->vq;
	struct port_stats *tx_stats = src->stats, *rx_stats = dst->stats;
	struct capture_buf *capture = plain ? NULL : src->capture;

	/* Kept here, the budget stays in registers across the barrier too. */
	struct fwd_budget left = *budget;
	enum fwd_status st = FWD_MORE;
	/* Whether both rings were looked at since the fast way last moved. */
	bool looked = false;
	/* The general way took the last packet, of more descriptors than
	 * one a side: the next is likely of its shape too (a stream of large
	 * frames), so it goes there without a run that could only fail. */
	bool general = false;

	while (fwd_budget_left(&left)) {
		uint32_t sent = 0;
		enum pkt_result r;
		enum vq_error err;
		bool any, ran = false;

		/* A run is set up only when both rings may have something. */
		if (!general && vq_run_ready(tx, tx_packed) && vq_run_ready(rx, rx_packed)) {
			struct vq_run tr, rr;
			uint32_t n;
			int64_t bytes = left.bytes;

			/* Each packet of a run spends two descriptors: the run
			 * ends where the budget's count of them would. */
			n = MIN(vq_run_begin(tx, tx_packed, false, &tr),
				vq_run_begin(rx, rx_packed, true, &rr));
			n = (uint32_t)MIN((uint64_t)n, (uint64_t)left.descs / 2 + ((uint64_t)left.descs & 1));
			/* The regions last hit, copied for the run (a miss updates both). */
			struct gm_hit th = tx->mem->hit, rh = rx->mem->hit;

#define FAST_LOOP(pf)                                                                          \
	while (sent < n) {                                                                    \
		FWD_BATCH_STEP4(pf)                                                           \
		if (pf)                                                                       \
			prefetch_rx_run(rx, rx_packed,                                        \
					PREFETCH_AHEAD + (rx_packed ? 0 : sent), prefetch);     \
		if (!forward_fast(src, capture, tx, rx, &tr, &rr, &th, &rh, src_hdr_len,       \
				  dst_hdr_len, guest_csum, &bytes, tx_packed, rx_packed))     \
			break;                                                                \
		sent++;                                                                       \
		if (tx_packed || rx_packed) {                                                 \
			/* A packed ring's positions move as it goes: a split  \
			 * ring beside it counts each packet too. */            \
			if (!tx_packed)                                               \
				vq_run_end(tx, false, &tr);                           \
			if (!rx_packed)                                               \
				vq_run_end(rx, false, &rr);                           \
			COMMIT_BARRIER();                                                     \
		}                                                                             \
		if (bytes <= 0)                                                               \
			break;                                                                \
	}
			/* Apart with and without the prefetch: no packet tests which. */
			if (prefetch) {
				FAST_LOOP(true)
			} else {
				FAST_LOOP(false)
			}
#undef FAST_LOOP
			/* Two split rings count a run's packets together, at its
			 * end: a fault that unwinds it leaves both where it began.
			 * A packed ring commits each as it goes, so each packet
			 * ends the run of both. */
			vq_run_end(tx, tx_packed, &tr);
			vq_run_end(rx, rx_packed, &rr);
			ran = true;
			if (sent) {
				/* The run's packets counted at its end, its bytes
				 * being what it spent of the budget's (a fault that
				 * unwinds a run leaves its packets uncounted; the
				 * rings are right). */
				left.descs -= 2 * (int64_t)sent;
				tx_stats->tx_packets += sent;
				tx_stats->tx_bytes += (uint64_t)(left.bytes - bytes);
				rx_stats->rx_packets += sent;
				rx_stats->rx_bytes += (uint64_t)(left.bytes - bytes);
				left.bytes = bytes;
				looked = false;
				/* A split ring tells cheaply whether more waits
				 * (vq_run_ready); a packed one only through its
				 * next slot, looked at below rather than by
				 * beginning a run that finds it empty. */
				if (!tx_packed && !rx_packed)
					continue;
			}
		}
		if (!looked && !general) {
			/* Before the general way, both rings are looked at again
			 * (a split ring's index read anew), then the fast way tries
			 * once more, unless that could only fail as it just did: a
			 * run that took nothing stopped at chains the look cannot
			 * change (the next ones, of another shape). Only a split ring
			 * that seemed empty (no run begun) may now have simple chains
			 * for a run. While the general way keeps the stream (general)
			 * there is no look: it finds an empty ring by itself. */
			err = vq_avail(tx, &any);
			if (err) {
				st = fwd_fail(fault, 0, err);
				break;
			}
			if (!any) {
				st = FWD_IDLE;
				break;
			}
			err = vq_avail(rx, &any);
			if (err) {
				st = fwd_fail(fault, 1, err);
				break;
			}
			if (!any) {
				st = FWD_BLOCKED;
				break;
			}
			looked = true;
			if (sent || !ran)
				continue;
		}
		looked = false;
		int64_t descs = left.descs;
		r = forward_one(src, dst, &left, fault);
		general = descs - left.descs > 2;
		if (r == PKT_NONE) {
			st = FWD_IDLE;
			break;
		}
		if (r == PKT_WAIT) {
			st = FWD_BLOCKED;
			break;
		}
		if (r == PKT_FAULT) {
			st = FWD_FAULT;
			break;
		}
		COMMIT_BARRIER();
	}
	*budget = left;
	return st;
}
