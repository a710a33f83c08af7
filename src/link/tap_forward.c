/* SPDX-License-Identifier: MIT */
#include "link/tap_forward.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "net/gso.h"
#include "net/virtio_net.h"
#include "util/checked.h"

/* The kernel takes at most this many pieces per call (UIO_MAXIOV). */
#define TAP_IOV_MAX 1024
#define ETH_HEADER_LEN 14u

struct tap_buffers {
	struct iovec iov[TAP_IOV_MAX];
	/* RX: the chains gathered for one frame, the bytes gathered in each,
	 * and the ring as it was after each was taken. */
	struct vq_done done[TAP_IOV_MAX];
	uint32_t cap[TAP_IOV_MAX];
	struct vq_mark after[TAP_IOV_MAX];
	/* RX: where each header byte goes in the client's buffers. */
	uint8_t *hdr_at[VNET_HDR_MAX];
	/* The header as the kernel sees it, in our memory in both directions. */
	uint8_t hdr[VNET_HDR_MAX];
	/* A GSO frame's headers, checked, and what the kernel reads of them. */
	struct gso_plan plan;
	/* Chains of more pieces than TAP_IOV_MAX, and frames nobody takes. */
	uint8_t bounce[VNET_FRAME_MAX];
};

struct tap_buffers *tap_buffers_new(void)
{
	return calloc(1, sizeof(struct tap_buffers));
}

void tap_buffers_free(struct tap_buffers *b)
{
	free(b);
}

enum tap_pkt { TAP_DONE, TAP_WAIT, TAP_IDLE, TAP_FAULT };

/* ---- client TX -> TAP ----------------------------------------------------- */

/* What the kernel did with a packet it did not take, in our counters. */
static void count_write_error(int e, struct fwd_end *src, struct fwd_end *tap_end)
{
	switch (e) {
	case EINVAL:
		fwd_count_drop(src, &src->stats->drop_bad, "the kernel refused its header or frame");
		break;
	case EIO:
		fwd_count_drop(tap_end, &src->stats->drop_no_peer, "the TAP interface is down");
		break;
	case EAGAIN:
	case ENOBUFS:
		fwd_count_drop(tap_end, &src->stats->drop_no_peer, "the TAP takes no more for now");
		break;
	default:
		src->stats->drop_no_peer++;
		log_limited(tap_end->ratelimit, LOG_LVL_WARN, "%s: dropped a packet: write: %s",
			    tap_end->name, strerror(e));
		break;
	}
}

static enum tap_pkt send_walk(struct tap *t, struct fwd_end *src, struct fwd_end *tap_end,
			      struct vq_chain *c, uint32_t *bytes, struct fwd_drop *drop,
			      enum vq_error *err);

/*
 * A GSO frame for the kernel, gathered in b->iov[1..*cnt) (or whole in the
 * bounce buffer when linear): checked once from a copy of its headers,
 * and that checked copy is what the kernel reads, in place of the client's
 * bytes. out gets the header the kernel needs. Returns why it is refused,
 * or NULL.
 */
static const char *gso_for_kernel(struct tap_buffers *b, int *cnt, bool linear,
				  uint32_t frame_len, const struct vnet_hdr *in, uint64_t features,
				  struct vnet_hdr *out)
{
	struct gso_plan *p = &b->plan;
	uint32_t left, i = 1;
	const char *why;
	int n;

	p->head_len = MIN(frame_len, GSO_HDR_MAX);
	if (linear) {
		memcpy(p->hdr, b->bounce, p->head_len);
	} else {
		for (uint32_t at = 0; at < p->head_len; i++) {
			uint32_t k = MIN((uint32_t)b->iov[i].iov_len, p->head_len - at);

			memcpy(p->hdr + at, b->iov[i].iov_base, k);
			at += k;
		}
	}
	why = gso_check(in, features, frame_len, p);
	if (why)
		return why;
	gso_whole_header(p, out);
	if (linear) {
		memcpy(b->bounce, p->hdr, p->head_len);
		return NULL;
	}
	/* The pieces the headers came from give way to our copy: iov[1] is
	 * the copy, then the rest of the piece the headers end in, then the
	 * pieces after it. */
	left = p->head_len;
	for (i = 1; (int)i < *cnt && left >= b->iov[i].iov_len; i++)
		left -= (uint32_t)b->iov[i].iov_len;
	n = 2 + (*cnt - (int)i);
	if (n > TAP_IOV_MAX) {
		/* One entry too many for one call: in one piece instead. */
		uint32_t at = 0;

		for (int j = 1; j < *cnt; j++) {
			memcpy(b->bounce + at, b->iov[j].iov_base, b->iov[j].iov_len);
			at += (uint32_t)b->iov[j].iov_len;
		}
		memcpy(b->bounce, p->hdr, p->head_len);
		b->iov[1] = (struct iovec){ .iov_base = b->bounce, .iov_len = frame_len };
		*cnt = 2;
		return NULL;
	}
	if ((int)i < *cnt) {
		b->iov[i].iov_base = (uint8_t *)b->iov[i].iov_base + left;
		b->iov[i].iov_len -= left;
	}
	memmove(&b->iov[2], &b->iov[i], (size_t)(*cnt - (int)i) * sizeof b->iov[0]);
	b->iov[1] = (struct iovec){ .iov_base = p->hdr, .iov_len = p->head_len };
	*cnt = n;
	return NULL;
}

/* One packet, its walk charged to the budget whatever became of it; its
 * chain given back unless it is at fault. */
static enum tap_pkt send_one(struct tap *t, struct fwd_end *src, struct fwd_end *tap_end,
			     struct fwd_budget *budget, struct fwd_fault *fault)
{
	struct vq *tx = src->vq;
	struct fwd_drop drop = { 0 };
	struct vq_chain c;
	uint32_t bytes = 0;
	enum vq_error err;
	enum tap_pkt r;
	bool got;

	vq_take_begin(tx);
	err = vq_take(tx, &c, false, &got);
	if (!err && !got)
		return TAP_IDLE;
	if (!err) {
		r = send_walk(t, src, tap_end, &c, &bytes, &drop, &err);
		if (r == TAP_DONE) {
			err = fwd_tx_give_back(tx, &c);
			if (!err && drop.counter)
				fwd_drop_count(src, &drop);
		}
		fwd_budget_spend(budget, c.descs, bytes);
	}
	if (err) {
		vq_take_begin(tx);
		fwd_fail(fault, 0, err);
		return TAP_FAULT;
	}
	return TAP_DONE;
}

/* The walk of one packet; TAP_DONE whether delivered or dropped (a drop
 * noted in *drop, but for the kernel's: after the whole walk, nothing can
 * refuse the chain then, so count_write_error counts at once). */
static enum tap_pkt send_walk(struct tap *t, struct fwd_end *src, struct fwd_end *tap_end,
			      struct vq_chain *c, uint32_t *bytes, struct fwd_drop *drop,
			      enum vq_error *err)
{
	struct tap_buffers *b = t->buf;
	unsigned src_hdr_len = vnet_hdr_len(src->features);
	uint8_t wire[VNET_HDR_MAX];
	struct vnet_hdr in, out = { 0 };
	uint32_t frame_len = 0;
	int cnt = 1;
	bool linear = false;
	ssize_t n;

	if (!fwd_read_header(c, wire, src_hdr_len, err)) {
		if (*err)
			return TAP_FAULT;
		fwd_drop_note(drop, &src->stats->drop_bad, NULL,
			      "shorter than its virtio-net header");
		return TAP_DONE;
	}
	vnet_hdr_decode(wire, &in);
	for (;;) {
		uint8_t *p;
		uint32_t len;

		*err = vq_chain_next(c, UINT32_MAX, &p, &len);
		if (*err)
			return TAP_FAULT;
		if (!len)
			break;
		if (len > VNET_FRAME_MAX - frame_len) {
			fwd_drop_note(drop, &src->stats->drop_too_big, NULL,
				      "larger than the largest frame");
			return TAP_DONE;
		}
		if (!linear && cnt == TAP_IOV_MAX) {
			/* More pieces than one call takes: copy them into one. */
			uint32_t at = 0;

			for (int i = 1; i < cnt; i++) {
				memcpy(b->bounce + at, b->iov[i].iov_base, b->iov[i].iov_len);
				at += (uint32_t)b->iov[i].iov_len;
			}
			linear = true;
		}
		if (linear)
			memcpy(b->bounce + frame_len, p, len);
		else
			b->iov[cnt++] = (struct iovec){ .iov_base = p, .iov_len = len };
		frame_len += len;
	}
	if (linear) {
		b->iov[1] = (struct iovec){ .iov_base = b->bounce, .iov_len = frame_len };
		cnt = 2;
	}
	*bytes = frame_len;
	if (frame_len < ETH_HEADER_LEN) {
		fwd_drop_note(drop, &src->stats->drop_bad, NULL, "shorter than an Ethernet header");
		return TAP_DONE;
	}
	if (in.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		const char *why = gso_for_kernel(b, &cnt, linear, frame_len, &in, src->features, &out);

		if (why) {
			fwd_drop_note(drop, &src->stats->drop_bad, NULL, why);
			return TAP_DONE;
		}
	} else if (in.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		/* Only what we offered travels: a checksum request inside the frame. */
		if (!fwd_csum_fits(in.csum_start, in.csum_offset, frame_len)) {
			fwd_drop_note(drop, &src->stats->drop_bad, NULL,
				      "checksum request beyond the frame");
			return TAP_DONE;
		}
		out.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		out.csum_start = in.csum_start;
		out.csum_offset = in.csum_offset;
	}
	vnet_hdr_encode(&out, t->hdr_len, b->hdr);
	b->iov[0] = (struct iovec){ .iov_base = b->hdr, .iov_len = t->hdr_len };

	n = writev(t->fd, b->iov, cnt);
	if (n < 0 && errno == EFAULT) {
		log_warn("%s: the kernel could not read its TX buffers (shared memory truncated?)",
			 src->name);
		*err = VQ_ERR_ADDR;
		return TAP_FAULT;
	}
	if (n < 0) {
		count_write_error(errno, src, tap_end);
		return TAP_DONE;
	}
	src->stats->tx_packets++;
	src->stats->tx_bytes += frame_len;
	tap_end->stats->rx_packets++;
	tap_end->stats->rx_bytes += frame_len;
	if (out.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		src->stats->tx_gso++;
		tap_end->stats->rx_gso++;
	}
	if (src->capture)
		capture_packetv(src->capture, src->port, b->iov + 1, cnt - 1);
	return TAP_DONE;
}

enum fwd_status tap_send_packets(struct tap *t, struct fwd_end *src, struct fwd_end *tap_end,
				 struct fwd_budget *budget, struct fwd_fault *fault)
{
	while (fwd_budget_left(budget)) {
		switch (send_one(t, src, tap_end, budget, fault)) {
		case TAP_IDLE:
			return FWD_IDLE;
		case TAP_FAULT:
			return FWD_FAULT;
		default:
			break;
		}
		COMPILER_BARRIER();
	}
	return FWD_MORE;
}

/* ---- TAP -> client RX ----------------------------------------------------- */

struct rx_gather {
	struct vq_chain chain; /* the walk, over every chain taken */
	uint16_t chains; /* chains taken */
	uint32_t cap;    /* client bytes gathered, the header's included */
	int iovcnt;      /* iov[0] is our header */
};

/*
 * Take the client's RX chains in order until need bytes are gathered (one
 * chain without MRG_RXBUF). Only what the frame may need is walked; every
 * descriptor is read once, by the chain walker, and checked there. The
 * chains stay taken tentatively: receive_one() keeps those the frame
 * filled.
 */
static enum tap_pkt gather_rx(struct tap *t, struct vq *vq, bool merge, uint64_t need,
			      struct rx_gather *g, enum vq_error *err)
{
	struct tap_buffers *b = t->buf;
	unsigned hdr_len = t->hdr_len;
	struct vq_chain *c = &g->chain;

	c->descs = 0;
	g->chains = 0;
	g->cap = 0;
	g->iovcnt = 1;
	vq_take_begin(vq);
	for (;;) {
		bool got;

		if (g->chains == TAP_IOV_MAX)
			return TAP_DONE;
		/* One packet's chains share one bound on descriptors walked. */
		if (g->chains == 0)
			*err = vq_take(vq, c, true, &got);
		else
			*err = vq_take_more(vq, c, &got);
		if (*err)
			return TAP_FAULT;
		if (!got)
			/* With every buffer of the ring taken, waiting would not help. */
			return g->chains && vq_all_taken(vq) ? TAP_DONE : TAP_WAIT;
		b->cap[g->chains] = 0;
		g->chains++;
		while (g->cap < need && g->iovcnt < TAP_IOV_MAX) {
			uint8_t *p;
			uint32_t n;

			*err = vq_chain_next(c, need - g->cap, &p, &n);
			if (*err)
				return TAP_FAULT;
			if (!n)
				break;
			b->cap[g->chains - 1] += n;
			for (; n && g->cap < hdr_len; n--, p++)
				b->hdr_at[g->cap++] = p;
			if (n) {
				b->iov[g->iovcnt++] = (struct iovec){ .iov_base = p, .iov_len = n };
				g->cap += n;
			}
		}
		*err = vq_chain_end(c, &b->done[g->chains - 1]);
		if (*err)
			return TAP_FAULT;
		vq_mark(vq, &b->after[g->chains - 1]);
		if (!merge || g->cap >= need || g->iovcnt == TAP_IOV_MAX)
			return TAP_DONE;
	}
}

/* The header the client gets, from the one the kernel wrote into ours.
 * Returns NULL, or why the frame cannot be given to this client. */
static const char *rx_header(const struct vnet_hdr *in, uint64_t features, struct vnet_hdr *out)
{
	bool guest_csum = features & BIT64(VIRTIO_NET_F_GUEST_CSUM);
	uint8_t type = in->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	memset(out, 0, sizeof *out);
	if (in->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		/* The kernel hands out only what tap_configure() allowed. */
		unsigned need = type == VIRTIO_NET_HDR_GSO_TCPV4   ? VIRTIO_NET_F_GUEST_TSO4
				: type == VIRTIO_NET_HDR_GSO_TCPV6 ? VIRTIO_NET_F_GUEST_TSO6
				: type == VIRTIO_NET_HDR_GSO_UDP   ? VIRTIO_NET_F_GUEST_UFO
								   : 64;

		if (need == 64 || !(features & BIT64(need)) ||
		    ((in->gso_type & VIRTIO_NET_HDR_GSO_ECN) &&
		     !(features & BIT64(VIRTIO_NET_F_GUEST_ECN))))
			return "a GSO frame from the kernel the client did not negotiate";
		if (!(in->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || !guest_csum)
			return "a GSO frame from the kernel without a partial checksum";
		out->gso_type = in->gso_type;
		out->gso_size = in->gso_size;
		out->hdr_len = in->hdr_len;
	}
	if (in->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!guest_csum)
			return "a partial checksum for a client without GUEST_CSUM";
		out->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		out->csum_start = in->csum_start;
		out->csum_offset = in->csum_offset;
	}
	/* Without GUEST_CSUM the flags must be zero. */
	if ((in->flags & VIRTIO_NET_HDR_F_DATA_VALID) && guest_csum)
		out->flags |= VIRTIO_NET_HDR_F_DATA_VALID;
	return NULL;
}

static enum tap_pkt read_error(struct tap *t, struct fwd_end *tap_end, int e)
{
	if (e != EAGAIN && e != EINTR)
		log_limited(tap_end->ratelimit, LOG_LVL_WARN, "%s: read from the TAP: %s",
			    tap_end->name, strerror(e));
	/* Until the kernel says there is more (or the port goes away). */
	t->readable = false;
	return TAP_IDLE;
}

/* A frame nobody can take: read it into our own memory and count it. */
static enum tap_pkt discard_one(struct tap *t, struct fwd_end *tap_end, uint64_t *counter,
				   const char *why)
{
	struct tap_buffers *b = t->buf;
	struct iovec iov[2] = {
		{ .iov_base = b->hdr, .iov_len = t->hdr_len },
		{ .iov_base = b->bounce, .iov_len = sizeof b->bounce },
	};

	if (readv(t->fd, iov, 2) < 0)
		return read_error(t, tap_end, errno);
	if (why)
		fwd_count_drop(tap_end, counter, why);
	else
		(*counter)++;
	return TAP_DONE;
}

/* Record the frame as the client got it: the first len bytes of iov
 * (which is ours to trim). */
static void capture_frame(struct fwd_end *tap_end, struct iovec *iov, uint32_t len)
{
	int n = 0;

	for (; len; n++) {
		if (iov[n].iov_len > len)
			iov[n].iov_len = len;
		len -= (uint32_t)iov[n].iov_len;
	}
	capture_packetv(tap_end->capture, tap_end->port, iov, n);
}

/* The frame in the client's chains; what it took counts from here. */
static enum tap_pkt deliver_frame(struct tap *t, struct fwd_end *tap_end, struct fwd_end *dst,
				  uint32_t frame_len, const struct vnet_hdr *out_in, enum vq_error *err)
{
	struct tap_buffers *b = t->buf;
	struct vq *vq = dst->vq;
	bool merge = dst->features & BIT64(VIRTIO_NET_F_MRG_RXBUF);
	unsigned hdr_len = t->hdr_len;
	uint32_t left = hdr_len + frame_len;
	struct vnet_hdr out = *out_in;
	uint8_t wire[VNET_HDR_MAX];
	uint16_t used = 0;

	/* Which chains the frame filled: those after them were not needed. */
	for (uint32_t n = 0; n < left; used++)
		n += b->cap[used];
	vq_rewind(vq, &b->after[used - 1]);
	for (uint16_t i = 0; i < used; i++) {
		uint32_t len = MIN(left, b->cap[i]);

		*err = vq_used_done(vq, &b->done[i], len);
		if (*err)
			return TAP_FAULT;
		left -= len;
	}
	out.num_buffers = merge ? used : 1;
	vnet_hdr_encode(&out, hdr_len, wire);
	for (unsigned i = 0; i < hdr_len; i++)
		*b->hdr_at[i] = wire[i];
	vq_commit(vq);
	tap_end->stats->tx_packets++;
	tap_end->stats->tx_bytes += frame_len;
	dst->stats->rx_packets++;
	dst->stats->rx_bytes += frame_len;
	if (out.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		tap_end->stats->tx_gso++;
		dst->stats->rx_gso++;
	}
	if (tap_end->capture)
		capture_frame(tap_end, b->iov + 1, frame_len);
	return TAP_DONE;
}

/* One frame from the kernel; the client's chains it did not fill are
 * left in its ring. */
static enum tap_pkt receive_one(struct tap *t, struct fwd_end *tap_end, struct fwd_end *dst,
				struct fwd_budget *budget, enum vq_error *err)
{
	struct tap_buffers *b = t->buf;
	struct vq *vq = dst->vq;
	bool merge = dst->features & BIT64(VIRTIO_NET_F_MRG_RXBUF);
	unsigned hdr_len = t->hdr_len;
	uint8_t wire[VNET_HDR_MAX];
	struct vnet_hdr in, out;
	struct rx_gather g;
	enum tap_pkt r;
	uint32_t frame_len;
	const char *why;
	ssize_t n;

	/* Enough for the largest frame the TAP may send; without merging,
	 * whatever the one chain holds. */
	for (;;) {
		uint32_t before = t->frame_max;

		/* With offloads the kernel's frames may be GSO frames, as large as
		 * frames get. */
		uint32_t want = merge && !t->gso_frames ? t->frame_max : VNET_FRAME_MAX;

		r = gather_rx(t, vq, merge, hdr_len + want, &g, err);
		fwd_budget_spend(budget, g.chain.descs, 0);
		if (r != TAP_WAIT)
			break;
		/* Short of room: once per wait, see whether the MTU shrank. */
		if (t->mtu_rechecked)
			return TAP_WAIT;
		t->mtu_rechecked = true;
		if (!tap_refresh_mtu(t) || t->frame_max >= before)
			return TAP_WAIT;
	}
	if (r == TAP_FAULT)
		return TAP_FAULT;
	if (g.cap < hdr_len) {
		r = discard_one(t, tap_end, &tap_end->stats->drop_too_big,
				"the client's receive buffer cannot hold a header");
		if (r == TAP_DONE)
			dst->stats->rx_drop_too_big++;
		return r;
	}

	b->iov[0] = (struct iovec){ .iov_base = b->hdr, .iov_len = hdr_len };
	n = readv(t->fd, b->iov, g.iovcnt);
	if (n < 0) {
		if (errno == EFAULT) {
			log_warn("%s: the kernel could not write its RX buffers (shared memory truncated?)",
				 dst->name);
			*err = VQ_ERR_ADDR;
			return TAP_FAULT;
		}
		return read_error(t, tap_end, errno);
	}
	t->mtu_rechecked = false;
	fwd_budget_spend(budget, 0, (uint32_t)n);
	if ((size_t)n < hdr_len) {
		fwd_count_drop(tap_end, &tap_end->stats->drop_bad, "shorter than its virtio-net header");
		return TAP_DONE;
	}
	frame_len = (uint32_t)n - hdr_len;
	if ((uint64_t)hdr_len + frame_len > g.cap) {
		/* The kernel cut it short; next time, gather for one this big. */
		if (merge && frame_len > t->frame_max)
			t->frame_max = MIN(frame_len, VNET_FRAME_MAX);
		dst->stats->rx_drop_too_big++;
		fwd_count_drop(tap_end, &tap_end->stats->drop_too_big,
			       "larger than the client's receive buffers");
		return TAP_DONE;
	}
	memcpy(wire, b->hdr, hdr_len);
	vnet_hdr_decode(wire, &in);
	why = rx_header(&in, dst->features, &out);
	if (why) {
		fwd_count_drop(tap_end, &tap_end->stats->drop_bad, why);
		return TAP_DONE;
	}
	return deliver_frame(t, tap_end, dst, frame_len, &out, err);
}

enum fwd_status tap_receive_packets(struct tap *t, struct fwd_end *tap_end, struct fwd_end *dst,
				    struct fwd_budget *budget, struct fwd_fault *fault)
{
	while (fwd_budget_left(budget)) {
		enum vq_error err = VQ_OK;
		enum tap_pkt r;
		bool any;

		if (!t->readable)
			return FWD_IDLE;
		err = vq_avail(dst->vq, &any);
		if (err)
			return fwd_fail(fault, 1, err);
		if (!any)
			return FWD_BLOCKED;
		r = receive_one(t, tap_end, dst, budget, &err);
		/* Chains the frame did not take, or a frame not delivered, leave
		 * the ring as it was. */
		vq_take_begin(dst->vq);
		switch (r) {
		case TAP_DONE:
			break;
		case TAP_WAIT:
			return FWD_BLOCKED;
		case TAP_IDLE:
			return FWD_IDLE;
		case TAP_FAULT:
			return fwd_fail(fault, 1, err);
		}
		COMPILER_BARRIER();
	}
	return FWD_MORE;
}

enum fwd_status tap_discard_packets(struct tap *t, struct fwd_end *tap_end,
				    struct fwd_budget *budget)
{
	while (fwd_budget_left(budget)) {
		if (!t->readable || discard_one(t, tap_end, &tap_end->stats->drop_no_peer, NULL) ==
					    TAP_IDLE)
			return FWD_IDLE;
		/* The kernel's frames are ours to read: count them as one piece each. */
		fwd_budget_spend(budget, 1, 0);
	}
	return FWD_MORE;
}
