/* SPDX-License-Identifier: MIT */
#include "link/forward_gso.h"

#include <string.h>

#include "link/copy_work.h"
#include "net/gso.h"
#include "util/checked.h"
#include "util/log.h"

/* A sender's chain is gathered before anything is decided: its length
 * decides the plan. At most a packet's descriptors, each in at most a few
 * regions. */
#define GSO_PIECES_MAX (2 * VQ_PACKET_DESCS_MAX)

struct piece {
	const uint8_t *p;
	uint32_t n;
};

/* The frame as the sender's chain holds it, and the plan made from it:
 * too large for the stack, kept per thread (the datapath never nests). */
struct gso_scratch {
	uint32_t count;
	struct piece piece[GSO_PIECES_MAX];
	struct gso_plan plan;
	uint8_t seg_hdr[GSO_HDR_MAX + GSO_FRAG6_LEN];
	uint32_t frag6_id; /* UFO over IPv6: the next fragment identification */
	bool frag6_seeded;
};

static _Thread_local struct gso_scratch scratch;

/* A position in the gathered frame. */
struct cursor {
	uint32_t i;   /* piece */
	uint32_t off; /* within it */
};

static void cursor_at(const struct gso_scratch *g, uint32_t pos, struct cursor *c)
{
	c->i = 0;
	while (c->i < g->count && pos >= g->piece[c->i].n)
		pos -= g->piece[c->i++].n;
	c->off = pos;
}

/* n bytes from the cursor into our own memory. */
static void gather_copy(const struct gso_scratch *g, struct cursor *c, uint8_t *dst, uint32_t n)
{
	while (n) {
		uint32_t k = MIN(n, g->piece[c->i].n - c->off);

		memcpy(dst, g->piece[c->i].p + c->off, k);
		dst += k;
		n -= k;
		c->off += k;
		if (c->off == g->piece[c->i].n) {
			c->i++;
			c->off = 0;
		}
	}
}

/* n bytes from the cursor into the receiver, at offset pos of what the
 * copy work counts in. */
static enum rx_step copy_from_sender(const struct gso_scratch *g, struct cursor *c,
				     struct copy_work *cw, struct rx_writer *w, uint32_t n,
				     uint32_t pos, enum vq_error *err)
{
	while (n) {
		uint32_t k = MIN(n, g->piece[c->i].n - c->off);
		enum rx_step st = copy_to_rx(cw, w, g->piece[c->i].p + c->off, k, pos, err);

		if (st != RX_OK)
			return st;
		pos += k;
		n -= k;
		c->off += k;
		if (c->off == g->piece[c->i].n) {
			c->i++;
			c->off = 0;
		}
	}
	return RX_OK;
}

static void count_delivered(struct fwd_end *src, struct fwd_end *dst, uint32_t frames,
			    uint64_t bytes)
{
	src->stats->tx_packets += frames;
	src->stats->tx_bytes += bytes;
	dst->stats->rx_packets += frames;
	dst->stats->rx_bytes += bytes;
}

/* The receiver takes it whole: its header translated, the headers we
 * checked from our copy, the rest from the sender. */
static enum rx_step deliver_whole(struct gso_scratch *g, struct fwd_end *src, struct fwd_end *dst,
				  struct rx_writer *w, uint32_t frame_len, enum vq_error *err)
{
	unsigned dst_hdr_len = vnet_hdr_len(dst->features);
	bool merge = dst->features & BIT64(VIRTIO_NET_F_MRG_RXBUF);
	struct patch16 num_buffers = { { NULL, NULL } };
	const struct gso_plan *p = &g->plan;
	struct copy_work cw = { .cs = NULL, .capture = src->capture, .any = src->capture != NULL };
	uint8_t wire[VNET_HDR_MAX];
	struct vnet_hdr out;
	struct cursor c;
	enum rx_step st;
	uint16_t chains;

	gso_whole_header(p, &out);
	vnet_hdr_encode(&out, dst_hdr_len, wire);
	if (cw.capture)
		capture_rec_begin(cw.capture, &cw.rec);
	st = rx_start(w, dst->vq, merge, err);
	if (st == RX_OK)
		st = rx_write(w, wire, dst_hdr_len, VNET_HDR_NUM_BUFFERS_OFFSET, &num_buffers, err);
	if (st == RX_OK)
		st = copy_to_rx(&cw, w, p->hdr, p->head_len, 0, err);
	cursor_at(g, p->head_len, &c);
	if (st == RX_OK)
		st = copy_from_sender(g, &c, &cw, w, frame_len - p->head_len, p->head_len, err);
	if (st == RX_OK)
		st = rx_end_frame(w, &chains, err);
	if (st != RX_OK)
		return st;
	if (chains > 1)
		patch16_write(&num_buffers, chains);
	count_delivered(src, dst, 1, frame_len);
	src->stats->tx_gso++;
	dst->stats->rx_gso++;
	if (cw.capture)
		capture_rec_commit(cw.capture, &cw.rec, src->port);
	return RX_OK;
}

/* UFO: the datagram's checksum, from the sender's buffers before any
 * fragment goes (fragments are delivered as they fit, the first before the
 * last is read). A sender that changes them meanwhile spoils only its own
 * datagram. */
static uint16_t udp_checksum(const struct gso_scratch *g, const uint8_t udp_hdr[8])
{
	struct csum_acc acc = { 0 };
	struct cursor c;

	csum_add(&acc, udp_hdr, 8);
	cursor_at(g, g->plan.tmpl_len + 8u, &c);
	for (; c.i < g->count; c.i++, c.off = 0)
		csum_add(&acc, g->piece[c.i].p + c.off, g->piece[c.i].n - c.off);
	return csum_finish(&acc);
}

/* What a GSO frame's segmentation has done in this call. */
struct seg_progress {
	uint32_t next;     /* the next segment */
	uint32_t data_pos; /* data bytes delivered */
	uint16_t chains;   /* chains of the segments delivered */
	uint64_t bytes;
};

/* Cut into segments (TCP) or fragments (UDP), each a frame of its own in
 * the receiver's ring, from pr->next on, as many as fit. */
static enum rx_step deliver_segments(struct gso_scratch *g, struct fwd_end *src,
				     struct fwd_end *dst, struct rx_writer *w,
				     const uint8_t udp_hdr[8], struct seg_progress *pr,
				     enum vq_error *err)
{
	unsigned dst_hdr_len = vnet_hdr_len(dst->features);
	bool merge = dst->features & BIT64(VIRTIO_NET_F_MRG_RXBUF);
	bool partial = dst->features & BIT64(VIRTIO_NET_F_GUEST_CSUM);
	const struct gso_plan *p = &g->plan;
	uint32_t first = pr->next;
	struct cursor c;
	enum rx_step st;

	/* Data offset d is frame offset tmpl_len + d; but the first fragment's
	 * 8 bytes of UDP header are ours, its checksum done. */
	cursor_at(g, p->tmpl_len + pr->data_pos + (p->udp && pr->data_pos == 0 ? 8u : 0u), &c);
	st = rx_start(w, dst->vq, merge, err);
	for (uint32_t i = first; i < p->segments && st == RX_OK; i++) {
		uint32_t data = MIN((uint32_t)p->seg_data, p->data_len - pr->data_pos);
		unsigned hlen = gso_segment_header(p, i, data, g->seg_hdr);
		uint32_t ours = p->udp && i == 0 ? 8 : 0; /* data bytes from udp_hdr */
		struct patch16 num_buffers = { { NULL, NULL } };
		struct csum_job seg = { .start = p->l4, .field = (uint32_t)p->l4 + p->csum_offset };
		struct copy_work cw = { .capture = src->capture };
		struct vnet_hdr out = { .num_buffers = 1 };
		uint8_t wire[VNET_HDR_MAX];
		uint16_t chains;

		/* A TCP segment's checksum is left partial for a receiver that
		 * takes that, else completed here. */
		if (!p->udp && partial) {
			out.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
			out.csum_start = p->l4;
			out.csum_offset = p->csum_offset;
		}
		cw.cs = p->udp || partial ? NULL : &seg;
		cw.any = cw.cs || cw.capture;
		vnet_hdr_encode(&out, dst_hdr_len, wire);
		if (cw.capture)
			capture_rec_begin(cw.capture, &cw.rec);
		if (i > first)
			st = rx_next_frame(w, err);
		if (st == RX_OK)
			st = rx_write(w, wire, dst_hdr_len, VNET_HDR_NUM_BUFFERS_OFFSET, &num_buffers,
				      err);
		if (st == RX_OK)
			st = copy_to_rx(&cw, w, g->seg_hdr, hlen, 0, err);
		if (st == RX_OK && ours)
			st = copy_to_rx(&cw, w, udp_hdr, ours, hlen, err);
		if (st == RX_OK)
			st = copy_from_sender(g, &c, &cw, w, data - ours, hlen + ours, err);
		if (cw.cs && st == RX_OK)
			csum_job_finish(&seg, cw.capture, &cw.rec, seg.field);
		if (st == RX_OK)
			st = rx_end_frame(w, &chains, err);
		if (st != RX_OK)
			break;
		if (chains > 1)
			patch16_write(&num_buffers, chains);
		/* With a place to note how far it got, each segment counts as
		 * it is whole; without, the frame goes all at once or waits. */
		if (src->resume)
			vq_commit(dst->vq);
		if (cw.capture)
			capture_rec_commit(cw.capture, &cw.rec, src->port);
		pr->next = i + 1;
		pr->data_pos += data;
		pr->chains = w->chains;
		pr->bytes += hlen + data;
	}
	return st;
}

static enum pkt_result drop(struct fwd_drop *d, uint64_t *counter, uint64_t *also,
			    const char *why)
{
	fwd_drop_note(d, counter, also, why);
	return PKT_DROPPED;
}

enum pkt_result forward_gso(struct fwd_end *src, struct fwd_end *dst, const struct vnet_hdr *in,
			    struct vq_chain *txc, struct rx_writer *w, uint32_t *frame_len,
			    struct fwd_drop *dropped, struct fwd_fault *fault)
{
	struct gso_scratch *g = &scratch;
	struct gso_resume *r = src->resume;
	struct seg_progress pr = { 0 };
	uint32_t total = 0;
	struct cursor c = { 0, 0 };
	enum vq_error err = VQ_OK;
	uint8_t udp_hdr[8];
	bool again;
	enum rx_step st;
	const char *why;

	/* The whole chain first: one walk, each descriptor read once. */
	g->count = 0;
	for (;;) {
		uint8_t *p;
		uint32_t n;

		err = vq_chain_next(txc, UINT32_MAX, &p, &n);
		if (err)
			return pkt_fault(fault, 0, err);
		if (!n)
			break;
		if (n > VNET_FRAME_MAX - total)
			return drop(dropped, &src->stats->drop_too_big, NULL,
				    "GSO frame larger than the largest frame");
		if (g->count == GSO_PIECES_MAX)
			return drop(dropped, &src->stats->drop_bad, NULL,
				    "GSO frame in too many pieces");
		g->piece[g->count++] = (struct piece){ p, n };
		total += n;
	}
	/* Checked once, from our copy: what is checked is what is used. */
	g->plan.head_len = MIN(total, GSO_HDR_MAX);
	gather_copy(g, &c, g->plan.hdr, g->plan.head_len);
	why = gso_check(in, src->features, total, &g->plan);
	if (why)
		return drop(dropped, &src->stats->drop_bad, NULL, why);

	/* The walk reached the chain's end: its buffer id is known. */
	again = r && r->active && r->epoch == src->vq->epoch && r->place == vq_base(src->vq) &&
		r->id == txc->id;
	if (again) {
		/* Its first segments went out: the rest must come from the same
		 * frame, or it is not delivered further. */
		if (r->frame_len != total || memcmp(r->head_bytes, g->plan.hdr, g->plan.head_len)) {
			r->active = false;
			return drop(dropped, &src->stats->drop_bad, NULL,
				    "GSO frame changed while its segments were delivered");
		}
		pr.next = r->next;
		pr.data_pos = r->data_pos;
		g->plan.frag6_id = r->frag6_id;
	} else {
		if (r)
			r->active = false;
		st = RX_TOO_BIG;
		if (gso_receiver_takes(&g->plan, dst->features)) {
			st = deliver_whole(g, src, dst, w, total, &err);
			*frame_len = total;
		}
		switch (st) {
		case RX_OK:
			return PKT_SENT;
		case RX_WAIT:
			return PKT_WAIT;
		case RX_FAULT:
			return pkt_fault(fault, 1, err);
		case RX_TOO_BIG:
			/* Whole it does not fit, or the receiver cannot take it: in
			 * segments. */
			break;
		}
		if (g->plan.udp) {
			/* Identifications others cannot guess (RFC 7739), then distinct. */
			if (!g->frag6_seeded) {
				g->frag6_id = (uint32_t)(monotonic_ns() * 0x9e3779b97f4a7c15ull >> 32);
				g->frag6_seeded = true;
			}
			g->plan.frag6_id = g->frag6_id++;
		}
	}
	if (g->plan.udp) {
		gso_udp_header(&g->plan, udp_hdr);
		if (pr.next == 0) {
			uint16_t sum = udp_checksum(g, udp_hdr);

			memcpy(udp_hdr + 6, &sum, 2);
		}
	}
	{
		uint32_t first = pr.next;

		st = deliver_segments(g, src, dst, w, udp_hdr, &pr, &err);
		*frame_len = (uint32_t)MIN(pr.bytes, UINT32_MAX);
		/* Without a place to note how far it got, a frame goes all at
		 * once or waits. */
		if (!r && pr.next < g->plan.segments)
			pr.chains = 0;
		if (pr.chains) {
			/* What fit went out (committed as it did), whatever comes next. */
			count_delivered(src, dst, pr.next - first, pr.bytes);
			src->stats->tx_gso_segments += pr.next - first;
			/* A ring that is full now has room once its client takes what
			 * came: that is waiting, not too big. */
			if (st == RX_TOO_BIG && vq_all_taken(w->vq))
				st = RX_WAIT;
		}
	}
	if (pr.next == g->plan.segments) {
		if (r)
			r->active = false;
		src->stats->tx_gso++;
		src->stats->tx_gso_segmented++;
		return PKT_SENT;
	}
	switch (st) {
	case RX_OK:
	case RX_WAIT:
		if (pr.chains) {
			/* The receiver took some: the rest when it has room. */
			*r = (struct gso_resume){ .active = true, .epoch = src->vq->epoch,
						  .place = vq_base(src->vq), .id = txc->id,
						  .frame_len = total, .next = pr.next,
						  .data_pos = pr.data_pos, .frag6_id = g->plan.frag6_id };
			memcpy(r->head_bytes, g->plan.hdr, g->plan.head_len);
		}
		return PKT_WAIT;
	case RX_TOO_BIG:
		if (r)
			r->active = false;
		return drop(dropped, &src->stats->drop_too_big, &dst->stats->rx_drop_too_big,
			    "a GSO frame's segment larger than the receiver's buffers");
	case RX_FAULT:
		break;
	}
	return pkt_fault(fault, 1, err);
}
