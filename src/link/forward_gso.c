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
	src->stats->tx_gso++;
}

/* The receiver takes it whole: its header translated, the headers we
 * checked from our copy, the rest from the sender. */
static enum rx_step deliver_whole(struct gso_scratch *g, struct fwd_end *src, struct fwd_end *dst,
				  uint16_t rx_avail, struct rx_writer *w, uint32_t frame_len,
				  enum vq_error *err)
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
	st = rx_start(w, dst->vq, merge, rx_avail, err);
	if (st == RX_OK)
		st = rx_write(w, wire, dst_hdr_len, VNET_HDR_NUM_BUFFERS_OFFSET, &num_buffers, err);
	if (st == RX_OK)
		st = copy_to_rx(&cw, w, p->hdr, p->head_len, 0, err);
	cursor_at(g, p->head_len, &c);
	if (st == RX_OK)
		st = copy_from_sender(g, &c, &cw, w, frame_len - p->head_len, p->head_len, err);
	if (st != RX_OK)
		return st;
	chains = rx_end_frame(w);
	if (chains > 1)
		patch16_write(&num_buffers, chains);
	rx_commit(w);
	count_delivered(src, dst, 1, frame_len);
	dst->stats->rx_gso++;
	if (cw.capture)
		capture_rec_commit(cw.capture, &cw.rec, src->port);
	return RX_OK;
}

/* Cut into segments (TCP) or fragments (UDP): each a frame of its own in
 * the receiver's ring, all taken or none. */
static enum rx_step deliver_segments(struct gso_scratch *g, struct fwd_end *src,
				     struct fwd_end *dst, uint16_t rx_avail, struct rx_writer *w,
				     uint32_t *copied, enum vq_error *err)
{
	unsigned dst_hdr_len = vnet_hdr_len(dst->features);
	bool merge = dst->features & BIT64(VIRTIO_NET_F_MRG_RXBUF);
	bool partial = dst->features & BIT64(VIRTIO_NET_F_GUEST_CSUM);
	struct gso_plan *p = &g->plan;
	/* UFO: one checksum over the whole datagram, for the first fragment. */
	struct csum_job dgram = { .start = 0, .field = 6 };
	struct capture_rec first_rec = { 0 };
	uint8_t udp_hdr[8];
	uint32_t data_pos = 0, frag0_field = 0;
	uint64_t bytes = 0;
	struct cursor c;
	enum rx_step st;

	if (p->udp) {
		gso_udp_header(p, udp_hdr);
		/* Identifications others cannot guess (RFC 7739), then distinct. */
		if (!g->frag6_seeded) {
			g->frag6_id = (uint32_t)(monotonic_ns() * 0x9e3779b97f4a7c15ull >> 32);
			g->frag6_seeded = true;
		}
		p->frag6_id = g->frag6_id++;
	}
	cursor_at(g, p->tmpl_len + (p->udp ? sizeof udp_hdr : 0), &c);
	st = rx_start(w, dst->vq, merge, rx_avail, err);
	for (uint32_t i = 0; i < p->segments && st == RX_OK; i++) {
		uint32_t data = MIN((uint32_t)p->seg_data, p->data_len - data_pos);
		unsigned hlen = gso_segment_header(p, i, data, g->seg_hdr);
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
		if (i > 0)
			st = rx_next_frame(w, err);
		if (st == RX_OK)
			st = rx_write(w, wire, dst_hdr_len, VNET_HDR_NUM_BUFFERS_OFFSET, &num_buffers,
				      err);
		if (st == RX_OK)
			st = copy_to_rx(&cw, w, g->seg_hdr, hlen, 0, err);
		if (p->udp) {
			/* The datagram's bytes count in datagram offsets. */
			cw.cs = &dgram;
			cw.any = true;
			if (i == 0) {
				frag0_field = hlen + 6;
				if (st == RX_OK)
					st = copy_to_rx(&cw, w, udp_hdr, sizeof udp_hdr, 0, err);
				if (st == RX_OK)
					st = copy_from_sender(g, &c, &cw, w, data - sizeof udp_hdr,
							      sizeof udp_hdr, err);
			} else if (st == RX_OK) {
				st = copy_from_sender(g, &c, &cw, w, data, data_pos, err);
			}
		} else if (st == RX_OK) {
			st = copy_from_sender(g, &c, &cw, w, data, hlen, err);
		}
		if (st != RX_OK)
			break;
		if (cw.cs == &seg)
			csum_job_finish(&seg, cw.capture, &cw.rec, seg.field);
		chains = rx_end_frame(w);
		if (chains > 1)
			patch16_write(&num_buffers, chains);
		if (cw.capture) {
			capture_rec_commit(cw.capture, &cw.rec, src->port);
			if (i == 0)
				first_rec = cw.rec;
		}
		data_pos += data;
		bytes += hlen + data;
	}
	if (st != RX_OK)
		return st;
	/* The capture reader runs only after this pass: the first fragment's
	 * record can still take its checksum. */
	if (p->udp)
		csum_job_finish(&dgram, src->capture, &first_rec, frag0_field);
	rx_commit(w);
	count_delivered(src, dst, p->segments, bytes);
	src->stats->tx_gso_segmented++;
	*copied = (uint32_t)MIN(bytes, UINT32_MAX);
	return RX_OK;
}

static enum pkt_result drop(struct fwd_end *src, uint16_t tx_head, uint64_t *counter,
			    const char *why)
{
	fwd_tx_consume(src->vq, tx_head);
	fwd_count_drop(src, counter, why);
	return PKT_DROPPED;
}

enum pkt_result forward_gso(struct fwd_end *src, struct fwd_end *dst, const struct vnet_hdr *in,
			    uint16_t tx_head, uint16_t rx_avail, struct vq_chain *txc,
			    struct rx_writer *w, uint32_t *frame_len, struct fwd_fault *fault)
{
	struct gso_scratch *g = &scratch;
	uint32_t total = 0;
	struct cursor c = { 0, 0 };
	enum vq_error err = VQ_OK;
	enum rx_step st;
	const char *why;

	/* The whole chain first: one walk, each descriptor read once. */
	g->count = 0;
	for (;;) {
		uint8_t *p;
		uint32_t n;

		err = vq_chain_next(txc, UINT32_MAX, &p, &n);
		if (err) {
			fault->guilty = 0;
			fault->error = err;
			return PKT_FAULT;
		}
		if (!n)
			break;
		if (n > VNET_FRAME_MAX - total)
			return drop(src, tx_head, &src->stats->drop_too_big,
				    "GSO frame larger than the largest frame");
		if (g->count == GSO_PIECES_MAX)
			return drop(src, tx_head, &src->stats->drop_bad, "GSO frame in too many pieces");
		g->piece[g->count++] = (struct piece){ p, n };
		total += n;
	}
	/* Checked once, from our copy: what is checked is what is used. */
	g->plan.head_len = MIN(total, GSO_HDR_MAX);
	gather_copy(g, &c, g->plan.hdr, g->plan.head_len);
	why = gso_check(in, src->features, total, &g->plan);
	if (why)
		return drop(src, tx_head, &src->stats->drop_bad, why);

	st = RX_TOO_BIG;
	if (gso_receiver_takes(&g->plan, dst->features)) {
		st = deliver_whole(g, src, dst, rx_avail, w, total, &err);
		*frame_len = total;
	}
	/* Whole, or, when its buffers cannot hold it whole, in segments. */
	if (st == RX_TOO_BIG)
		st = deliver_segments(g, src, dst, rx_avail, w, frame_len, &err);
	switch (st) {
	case RX_OK:
		fwd_tx_consume(src->vq, tx_head);
		return PKT_SENT;
	case RX_WAIT:
		return PKT_WAIT;
	case RX_TOO_BIG:
		dst->stats->rx_drop_too_big++;
		return drop(src, tx_head, &src->stats->drop_too_big,
			    "GSO frame larger than the receiver's buffers, even in segments");
	case RX_FAULT:
		break;
	}
	fault->guilty = 1;
	fault->error = err;
	return PKT_FAULT;
}
