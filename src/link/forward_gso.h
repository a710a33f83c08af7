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

#include "link/fwd_end.h"
#include "link/rx_writer.h"
#include "net/gso.h"
#include "net/virtio_net.h"

/*
 * A GSO frame cut into segments is not held back until its receiver has
 * room for them all (a receiver with few, large chains may never have):
 * the segments that fit are delivered, and the frame stays in the TX ring
 * until the rest follow. What was delivered is kept here, and the frame
 * is checked again when its turn comes back: the same place in the same
 * ring (not restarted since), the same length, the same headers.
 */
struct gso_resume {
	bool active;
	uint32_t epoch;       /* the TX ring's (struct vq) */
	uint32_t place;       /* the frame's place in it (vq_base) */
	uint16_t id;          /* and its buffer */
	uint32_t frame_len;
	uint32_t next;        /* the next segment */
	uint32_t data_pos;    /* data bytes delivered */
	uint32_t frag6_id;    /* UFO over IPv6: the fragments' identification */
	uint16_t udp_csum;    /* UFO: the datagram's checksum */
	uint8_t head_bytes[GSO_HDR_MAX];
};

/* The frame whose header in was read from txc (the sender's chain, at its
 * first frame byte). frame_len gets the bytes copied into the receiver.
 * Segments delivered before the frame has to wait are committed in the
 * receiver's ring; everything else is left to the caller, as
 * forward.h's pkt_result says (a drop noted in *dropped). */
enum pkt_result forward_gso(struct fwd_end *src, struct fwd_end *dst, const struct vnet_hdr *in,
			    struct vq_chain *txc, struct rx_writer *w, uint32_t *frame_len,
			    struct fwd_drop *dropped, struct fwd_fault *fault);

#endif
