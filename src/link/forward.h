/* SPDX-License-Identifier: MIT */
/*
 * One direction of the wire: packets from one client's TX ring are copied
 * once, straight into the other client's RX buffers, with the virtio-net
 * header translated between the features each end negotiated.
 *
 * The original's Pipe of a TX End_point and an RX End_point: the sender's
 * chain and the receiver's chain are walked together, and a bad
 * descriptor blames only the side it came from.
 */
#ifndef VNP_FORWARD_H
#define VNP_FORWARD_H

#include "link/fwd_end.h"

#if defined(__x86_64__)
/* Whether two packed rings go four packets at a time with AVX2: set
 * before main where the CPU (and the kernel) allow it; tests may clear it
 * to run the other way. */
extern __attribute__((visibility("hidden"))) bool forward_wide_avx2;
#endif

/* Move packets from src's TX ring into dst's RX ring while the budget
 * lasts. Used elements are committed per packet but not published. */
enum fwd_status forward_packets(struct fwd_end *src, struct fwd_end *dst,
				struct fwd_budget *budget, struct fwd_fault *fault);

/* No receiver, or a TX ring its client turned off: consume TX packets
 * while the budget lasts, counting each in *counter (a drop reason of the
 * sender's stats); only what it takes to find each chain's end is read. */
enum fwd_status drop_packets(struct fwd_end *src, struct fwd_budget *budget,
			     struct fwd_fault *fault, uint64_t *counter);

#endif
