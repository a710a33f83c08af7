/* SPDX-License-Identifier: MIT */
/*
 * One GSO frame (TSO, UFO) across the link (internal to src/link): checked
 * once (net/gso.h), then given to the receiver whole when it negotiated
 * that kind of frame and has the room, or cut into segments (IP fragments
 * for UFO) otherwise. Either way every payload byte is copied once, from
 * the sender's buffers straight into the receiver's; only headers are
 * copied more than once.
 */
#ifndef VNP_FORWARD_GSO_H
#define VNP_FORWARD_GSO_H

#include "link/forward.h"
#include "link/rx_writer.h"
#include "net/virtio_net.h"

/* The frame whose header in was read from txc (the sender's chain, at its
 * first frame byte). frame_len gets the bytes copied into the receiver. */
enum pkt_result forward_gso(struct fwd_end *src, struct fwd_end *dst, const struct vnet_hdr *in,
			    uint16_t tx_head, uint16_t rx_avail, struct vq_chain *txc,
			    struct rx_writer *w, uint32_t *frame_len, struct fwd_fault *fault);

#endif
