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

#include <stdint.h>

#include "link/capture_buf.h"
#include "util/log.h"
#include "virtio/virtqueue.h"

/*
 * Counters of one port, 64-bit, for the life of the port: they survive its
 * clients' reconnects and start at zero when the port is created. tx is
 * what this port's client sent, rx what it was given. A lost packet is
 * counted once as a drop of the sender's tx; too big also of the
 * receiver's rx. A chain that breaks the rules fails the port and counts
 * as bad in the direction of its ring.
 */
struct port_stats {
	uint64_t tx_packets;      /* sent by this port's client, delivered to the peer */
	uint64_t tx_bytes;
	uint64_t rx_packets;      /* delivered to this port's client */
	uint64_t rx_bytes;
	uint64_t drop_no_peer;    /* tx: sent while the peer could not receive */
	uint64_t drop_too_big;    /* tx: larger than the peer's receive buffers */
	uint64_t drop_bad;        /* tx: malformed header or checksum request, or a bad chain */
	uint64_t rx_drop_too_big; /* rx: from the peer, larger than our receive buffers */
	uint64_t rx_drop_bad;     /* rx: a bad RX chain */
	uint64_t tx_gso;          /* tx: GSO frames delivered, whole or in segments */
	uint64_t tx_gso_segmented; /* tx: of those, cut into segments for the peer */
	uint64_t tx_gso_segments;  /* tx: the segments (or fragments) they became */
	uint64_t rx_gso;          /* rx: GSO frames given to this client whole */
	uint64_t kicks;           /* notifications from the client */
	uint64_t interrupts;      /* notifications to the client */
};

/* What forwarding needs to know about one end. */
struct gso_resume;

struct fwd_end {
	struct vq *vq;
	uint64_t features;
	struct port_stats *stats;
	struct log_ratelimit *ratelimit;
	const char *name;
	unsigned port;               /* index, for the capture */
	struct capture_buf *capture; /* where delivered frames are recorded; NULL: nowhere */
	/* As a sender: the mean frame length of its last batch that
	 * delivered anything, our own figure (0: none yet). It sizes the receive-buffer prefetch, even
	 * for chains whose length only their walk tells. */
	uint32_t frame_hint;
	/* As a sender: where a GSO frame whose segments the receiver could
	 * not all take at once goes on (forward_gso.h). NULL: such a frame
	 * waits until they all fit. */
	struct gso_resume *resume;
};

enum fwd_status {
	FWD_IDLE,    /* the sender's TX ring is empty */
	FWD_BLOCKED, /* the receiver has no room for the next packet yet */
	FWD_MORE,    /* the budget ran out (packets may be left) */
	FWD_FAULT,   /* an end broke the rules; see struct fwd_fault */
};

/*
 * What a pass may spend on one direction, counted as work and not as
 * packets: every descriptor walked (on either side, zero-length ones and
 * packets that end up dropped or waiting included) and every byte copied.
 * A batch stops once either runs out; the packet that crosses the line
 * finishes, and costs at most 2 * VQ_PACKET_DESCS_MAX descriptors and one
 * frame's bytes.
 */
struct fwd_budget {
	int64_t descs;
	int64_t bytes;
};

static inline bool fwd_budget_left(const struct fwd_budget *b)
{
	return b->descs > 0 && b->bytes > 0;
}

static inline void fwd_budget_spend(struct fwd_budget *b, uint32_t descs, uint32_t bytes)
{
	b->descs -= descs;
	b->bytes -= bytes;
}

struct fwd_fault {
	int guilty; /* 0: the sender, 1: the receiver */
	enum vq_error error;
};

/* What became of one packet (inside src/link). Whatever it is, the
 * packet's walk leaves both rings' takes tentative: forward_one() commits
 * or forgets them. */
enum pkt_result {
	PKT_SENT,    /* delivered: the sender's chain is given back, the receiver's count */
	PKT_DROPPED, /* the sender's chain is given back, the receiver's are not taken */
	PKT_WAIT,    /* the receiver needs more buffers first; nothing taken */
	PKT_FAULT,
	PKT_NONE,    /* the sender's chain went away before it was taken */
	PKT_GENERAL, /* not a shape for the fast path: nothing done yet */
};

/* Pieces every end that consumes a client's TX ring shares (the peer
 * port's RX ring, or a TAP). */

/* The sender's chain leaves its ring, delivered or not: given back, and
 * its ring committed. VQ_ERR_ID_BUSY and the like blame the sender. */
static inline enum vq_error fwd_tx_give_back(struct vq *tx, struct vq_chain *c)
{
	enum vq_error e = vq_used(tx, c, 0);

	if (e == VQ_OK)
		vq_commit(tx);
	return e;
}

/* Copy the sender's header, which may be spread over several buffers;
 * false at a fault (*err set) or when the chain is shorter than len. */
bool fwd_read_header(struct vq_chain *c, uint8_t *hdr, unsigned len, enum vq_error *err);
/* Count a dropped packet and say why, rate-limited per end. */
void fwd_count_drop(struct fwd_end *e, uint64_t *counter, const char *why);

/* Move packets from src's TX ring into dst's RX ring while the budget
 * lasts. Used elements are committed per packet but not published. */
enum fwd_status forward_packets(struct fwd_end *src, struct fwd_end *dst,
				struct fwd_budget *budget, struct fwd_fault *fault);

/* No receiver: consume TX packets while the budget lasts, counting them
 * as dropped (only what it takes to find each chain's end is read). */
enum fwd_status drop_packets(struct fwd_end *src, struct fwd_budget *budget,
			     struct fwd_fault *fault);

#endif
