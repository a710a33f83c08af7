/* SPDX-License-Identifier: MIT */
/*
 * Packets between a client's rings and a TAP, one system call each: a TX
 * chain goes to the kernel with one writev straight from the client's
 * buffers; a frame from the kernel lands with one readv straight in the
 * client's RX buffers. The virtio-net header is ours in both directions:
 * read once from the client, checked, and rebuilt for the kernel; read from
 * the kernel into our memory, checked, and rebuilt for the client.
 *
 * The TAP end (a fwd_end without a ring) counts like a vhost-user client:
 * its tx is what the kernel sent to the client, its rx what the kernel
 * took from it.
 */
#ifndef VNP_TAP_FORWARD_H
#define VNP_TAP_FORWARD_H

#include "link/forward.h"
#include "link/tap.h"

struct tap_buffers *tap_buffers_new(void);
void tap_buffers_free(struct tap_buffers *b);

/* Client TX ring -> TAP while the budget lasts, committed, not published.
 * A packet the TAP does not take is dropped and counted: never
 * FWD_BLOCKED. Faults are the client's (fault->guilty 0). */
enum fwd_status tap_send_packets(struct tap *t, struct fwd_end *src, struct fwd_end *tap_end,
				 struct fwd_budget *budget, struct fwd_fault *fault);

/* TAP -> client RX ring while the budget lasts. FWD_IDLE once the kernel has
 * nothing more (t->readable cleared), FWD_BLOCKED when the client has no
 * room for a whole frame: nothing is read then, and the kernel's queue
 * holds the frames. Faults are the client's (fault->guilty 1). */
enum fwd_status tap_receive_packets(struct tap *t, struct fwd_end *tap_end, struct fwd_end *dst,
				    struct fwd_budget *budget, struct fwd_fault *fault);

/* Nobody to receive: read and drop frames while the budget lasts
 * (drop_no_peer). */
enum fwd_status tap_discard_packets(struct tap *t, struct fwd_end *tap_end,
				    struct fwd_budget *budget);

#endif
