/* SPDX-License-Identifier: MIT */
/*
 * What every consumer of a client's TX ring shares (internal to
 * src/link): the end it forwards from or to, the work a pass may spend,
 * how a packet and a batch end, and the sender's header read once.
 */
#ifndef VNP_FWD_END_H
#define VNP_FWD_END_H

#include <stdbool.h>
#include <stdint.h>

#include "link/capture_buf.h"
#include "link/port_stats.h"
#include "util/log.h"
#include "virtio/virtqueue.h"

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
	/* As a receiver: how far ahead (a vq_consumed position) the last
	 * batch claimed the receive buffers of the ring claimed_vq, so the
	 * next one does not claim them again (rx_prefetch.h). A hint only. */
	const struct vq *claimed_vq;
	uint16_t claimed;
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

/* A batch ends at a fault of the end that broke the rules. */
static inline enum fwd_status fwd_fail(struct fwd_fault *f, int guilty, enum vq_error e)
{
	f->guilty = guilty;
	f->error = e;
	return FWD_FAULT;
}

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

/* A packet ends at a fault of the end that broke the rules. */
static inline enum pkt_result pkt_fault(struct fwd_fault *f, int guilty, enum vq_error e)
{
	f->guilty = guilty;
	f->error = e;
	return PKT_FAULT;
}

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

/* Whether a sender's checksum request (csum_start, csum_offset) names a
 * field inside its frame: the one check on it, made by every consumer
 * before the fields are used. */
static inline bool fwd_csum_fits(uint32_t start, uint32_t offset, uint32_t frame_len)
{
	return start + offset + 2 <= frame_len;
}

/* Copy the sender's header, which may be spread over several buffers;
 * false at a fault (*err set) or when the chain is shorter than len. */
bool fwd_read_header(struct vq_chain *c, uint8_t *hdr, unsigned len, enum vq_error *err);
/* Count a dropped packet and say why, rate-limited per end. */
void fwd_count_drop(struct fwd_end *e, uint64_t *counter, const char *why);

/*
 * A packet a sender's walk dropped, counted only once its chain is given
 * back: a walk that stops at the drop leaves the rest of a packed chain
 * unread, and a chain its ring then refuses is the sender's fault, not a
 * drop as well (found by fuzz_forward).
 */
struct fwd_drop {
	uint64_t *counter;
	uint64_t *also;     /* the receiver's counter too (too big for it), or NULL */
	const char *why;
};

static inline void fwd_drop_note(struct fwd_drop *d, uint64_t *counter, uint64_t *also,
				 const char *why)
{
	*d = (struct fwd_drop){ counter, also, why };
}

/* The drop counted, its log line the sender's. */
static inline void fwd_drop_count(struct fwd_end *src, const struct fwd_drop *d)
{
	if (d->also)
		(*d->also)++;
	fwd_count_drop(src, d->counter, d->why);
}

#endif
