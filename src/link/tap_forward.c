/* SPDX-License-Identifier: MIT */
#include "link/tap_forward.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "net/virtio_net.h"
#include "util/checked.h"

/* The kernel takes at most this many pieces per call (UIO_MAXIOV). */
#define TAP_IOV_MAX 1024
#define ETH_HEADER_LEN 14u

struct tap_buffers {
	struct iovec iov[TAP_IOV_MAX];
	/* RX: the chains gathered for one frame and the bytes gathered in each. */
	uint16_t head[TAP_IOV_MAX];
	uint32_t cap[TAP_IOV_MAX];
	/* RX: where each header byte goes in the client's buffers. */
	uint8_t *hdr_at[VNET_HDR_MAX];
	/* The header as the kernel sees it, in our memory in both directions. */
	uint8_t hdr[VNET_HDR_MAX];
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

enum pkt_result { PKT_DONE, PKT_WAIT, PKT_IDLE, PKT_FAULT };

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

static enum pkt_result send_walk(struct tap *t, struct fwd_end *src, struct fwd_end *tap_end,
				 uint16_t head, struct vq_chain *walk, uint32_t *bytes,
				 struct fwd_fault *fault);

/* One packet, its walk charged to the budget whatever became of it. */
static enum pkt_result send_one(struct tap *t, struct fwd_end *src, struct fwd_end *tap_end,
				uint16_t head, struct fwd_budget *budget, struct fwd_fault *fault)
{
	struct vq_chain c;
	uint32_t bytes = 0;
	enum pkt_result r;

	c.descs = 0;
	r = send_walk(t, src, tap_end, head, &c, &bytes, fault);
	fwd_budget_spend(budget, c.descs, bytes);
	return r;
}

static enum pkt_result send_walk(struct tap *t, struct fwd_end *src, struct fwd_end *tap_end,
				 uint16_t head, struct vq_chain *walk, uint32_t *bytes,
				 struct fwd_fault *fault)
{
	struct tap_buffers *b = t->buf;
	unsigned src_hdr_len = vnet_hdr_len(src->features);
	uint8_t wire[VNET_HDR_MAX];
	struct vnet_hdr in, out = { 0 };
	struct vq_chain *c = walk;
	enum vq_error err;
	uint32_t frame_len = 0;
	int cnt = 1;
	bool linear = false;
	ssize_t n;

	vq_chain_begin(src->vq, c, head, false);
	if (!fwd_read_header(c, wire, src_hdr_len, &err)) {
		if (err)
			goto fault;
		fwd_tx_consume(src->vq, head);
		fwd_count_drop(src, &src->stats->drop_bad, "shorter than its virtio-net header");
		return PKT_DONE;
	}
	vnet_hdr_decode(wire, &in);
	if (in.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		fwd_tx_consume(src->vq, head);
		fwd_count_drop(src, &src->stats->drop_bad, "GSO packet, but no GSO was offered");
		return PKT_DONE;
	}
	for (;;) {
		uint8_t *p;
		uint32_t len;

		err = vq_chain_next(c, UINT32_MAX, &p, &len);
		if (err)
			goto fault;
		if (!len)
			break;
		if (len > VNET_FRAME_MAX - frame_len) {
			fwd_tx_consume(src->vq, head);
			fwd_count_drop(src, &src->stats->drop_too_big, "larger than the largest frame");
			return PKT_DONE;
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
		fwd_tx_consume(src->vq, head);
		fwd_count_drop(src, &src->stats->drop_bad, "shorter than an Ethernet header");
		return PKT_DONE;
	}
	/* Only what we offered travels: a checksum request inside the frame. */
	if (in.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if ((uint32_t)in.csum_start + in.csum_offset + 2 > frame_len) {
			fwd_tx_consume(src->vq, head);
			fwd_count_drop(src, &src->stats->drop_bad, "checksum request beyond the frame");
			return PKT_DONE;
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
		err = VQ_ERR_ADDR;
		goto fault;
	}
	fwd_tx_consume(src->vq, head);
	if (n < 0) {
		count_write_error(errno, src, tap_end);
		return PKT_DONE;
	}
	src->stats->tx_packets++;
	src->stats->tx_bytes += frame_len;
	tap_end->stats->rx_packets++;
	tap_end->stats->rx_bytes += frame_len;
	if (src->capture)
		capture_packetv(src->capture, src->port, b->iov + 1, cnt - 1);
	return PKT_DONE;

fault:
	fault->guilty = 0;
	fault->error = err;
	return PKT_FAULT;
}

enum fwd_status tap_send_packets(struct tap *t, struct fwd_end *src, struct fwd_end *tap_end,
				 struct fwd_budget *budget, struct fwd_fault *fault)
{
	while (fwd_budget_left(budget)) {
		uint16_t avail, head;
		enum vq_error err;

		err = vq_avail_count(src->vq, &avail);
		if (!err && avail)
			err = vq_avail_head(src->vq, 0, &head);
		if (err) {
			fault->guilty = 0;
			fault->error = err;
			return FWD_FAULT;
		}
		if (!avail)
			return FWD_IDLE;
		if (send_one(t, src, tap_end, head, budget, fault) == PKT_FAULT)
			return FWD_FAULT;
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
 * descriptor is read once, by the chain walker, and checked there.
 */
static enum pkt_result gather_rx(struct tap *t, struct vq *vq, bool merge, uint64_t need,
				 uint16_t avail, struct rx_gather *g, enum vq_error *err)
{
	struct tap_buffers *b = t->buf;
	unsigned hdr_len = t->hdr_len;

	struct vq_chain *c = &g->chain;

	c->descs = 0;
	g->chains = 0;
	g->cap = 0;
	g->iovcnt = 1;
	for (;;) {
		uint16_t head;

		if (g->chains == avail) {
			*err = vq_avail_refresh(vq, &avail);
			if (*err)
				return PKT_FAULT;
			/* With every buffer of the ring posted, waiting would not help. */
			if (g->chains == avail)
				return g->chains == vq->num ? PKT_DONE : PKT_WAIT;
		}
		if (g->chains == TAP_IOV_MAX)
			return PKT_DONE;
		*err = vq_avail_head(vq, g->chains, &head);
		if (*err)
			return PKT_FAULT;
		b->head[g->chains] = head;
		b->cap[g->chains] = 0;
		/* One packet's chains share one bound on descriptors walked. */
		if (g->chains == 0)
			vq_chain_begin(vq, c, head, true);
		else
			vq_chain_continue(c, head);
		g->chains++;
		while (g->cap < need && g->iovcnt < TAP_IOV_MAX) {
			uint8_t *p;
			uint32_t n;

			*err = vq_chain_next(c, need - g->cap, &p, &n);
			if (*err)
				return PKT_FAULT;
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
		if (!merge || g->cap >= need || g->iovcnt == TAP_IOV_MAX)
			return PKT_DONE;
	}
}

/* The header the client gets, from the one the kernel wrote into ours.
 * Returns NULL, or why the frame cannot be given to this client. */
static const char *rx_header(const struct vnet_hdr *in, uint64_t features, struct vnet_hdr *out)
{
	bool guest_csum = features & BIT64(VIRTIO_NET_F_GUEST_CSUM);

	memset(out, 0, sizeof *out);
	if (in->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		return "a GSO frame from the kernel, but no GSO offload is enabled";
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

static enum pkt_result read_error(struct tap *t, struct fwd_end *tap_end, int e)
{
	if (e != EAGAIN && e != EINTR)
		log_limited(tap_end->ratelimit, LOG_LVL_WARN, "%s: read from the TAP: %s",
			    tap_end->name, strerror(e));
	/* Until the kernel says there is more (or the port goes away). */
	t->readable = false;
	return PKT_IDLE;
}

/* A frame nobody can take: read it into our own memory and count it. */
static enum pkt_result discard_one(struct tap *t, struct fwd_end *tap_end, uint64_t *counter,
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
	return PKT_DONE;
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

static enum pkt_result receive_one(struct tap *t, struct fwd_end *tap_end, struct fwd_end *dst,
				   uint16_t avail, struct fwd_budget *budget, struct fwd_fault *fault)
{
	struct tap_buffers *b = t->buf;
	struct vq *vq = dst->vq;
	bool merge = dst->features & BIT64(VIRTIO_NET_F_MRG_RXBUF);
	unsigned hdr_len = t->hdr_len;
	uint8_t wire[VNET_HDR_MAX];
	struct vnet_hdr in, out;
	struct rx_gather g;
	enum pkt_result r;
	enum vq_error err = VQ_OK;
	uint32_t frame_len, left;
	uint16_t used = 0;
	const char *why;
	ssize_t n;

	/* Enough for the largest frame the TAP may send; without merging,
	 * whatever the one chain holds. */
	for (;;) {
		uint32_t before = t->frame_max;

		r = gather_rx(t, vq, merge, hdr_len + (merge ? t->frame_max : VNET_FRAME_MAX), avail,
			      &g, &err);
		fwd_budget_spend(budget, g.chain.descs, 0);
		if (r == PKT_FAULT)
			goto fault;
		if (r == PKT_DONE)
			break;
		/* Short of room: once per wait, see whether the MTU shrank. */
		if (t->mtu_rechecked)
			return PKT_WAIT;
		t->mtu_rechecked = true;
		if (!tap_refresh_mtu(t) || t->frame_max >= before)
			return PKT_WAIT;
	}
	if (g.cap < hdr_len) {
		r = discard_one(t, tap_end, &tap_end->stats->drop_too_big,
				"the client's receive buffer cannot hold a header");
		if (r == PKT_DONE)
			dst->stats->rx_drop_too_big++;
		return r;
	}

	b->iov[0] = (struct iovec){ .iov_base = b->hdr, .iov_len = hdr_len };
	n = readv(t->fd, b->iov, g.iovcnt);
	if (n < 0) {
		if (errno == EFAULT) {
			log_warn("%s: the kernel could not write its RX buffers (shared memory truncated?)",
				 dst->name);
			err = VQ_ERR_ADDR;
			goto fault;
		}
		return read_error(t, tap_end, errno);
	}
	t->mtu_rechecked = false;
	fwd_budget_spend(budget, 0, (uint32_t)n);
	if ((size_t)n < hdr_len) {
		fwd_count_drop(tap_end, &tap_end->stats->drop_bad, "shorter than its virtio-net header");
		return PKT_DONE;
	}
	frame_len = (uint32_t)n - hdr_len;
	if ((uint64_t)hdr_len + frame_len > g.cap) {
		/* The kernel cut it short; next time, gather for one this big. */
		if (merge && frame_len > t->frame_max)
			t->frame_max = MIN(frame_len, VNET_FRAME_MAX);
		dst->stats->rx_drop_too_big++;
		fwd_count_drop(tap_end, &tap_end->stats->drop_too_big,
			   "larger than the client's receive buffers");
		return PKT_DONE;
	}
	memcpy(wire, b->hdr, hdr_len);
	vnet_hdr_decode(wire, &in);
	why = rx_header(&in, dst->features, &out);
	if (why) {
		fwd_count_drop(tap_end, &tap_end->stats->drop_bad, why);
		return PKT_DONE;
	}

	/* Which chains the frame filled, and how much of each. */
	left = hdr_len + frame_len;
	while (left) {
		uint32_t len = MIN(left, b->cap[used]);

		vq_used_put(vq, used, b->head[used], len);
		left -= len;
		used++;
	}
	out.num_buffers = merge ? used : 1;
	vnet_hdr_encode(&out, hdr_len, wire);
	for (unsigned i = 0; i < hdr_len; i++)
		*b->hdr_at[i] = wire[i];

	vq_used_commit(vq, used);
	vq->last_avail = (uint16_t)(vq->last_avail + used);
	tap_end->stats->tx_packets++;
	tap_end->stats->tx_bytes += frame_len;
	dst->stats->rx_packets++;
	dst->stats->rx_bytes += frame_len;
	if (tap_end->capture)
		capture_frame(tap_end, b->iov + 1, frame_len);
	return PKT_DONE;

fault:
	fault->guilty = 1;
	fault->error = err;
	return PKT_FAULT;
}

enum fwd_status tap_receive_packets(struct tap *t, struct fwd_end *tap_end, struct fwd_end *dst,
				    struct fwd_budget *budget, struct fwd_fault *fault)
{
	while (fwd_budget_left(budget)) {
		uint16_t avail;
		enum vq_error err;

		if (!t->readable)
			return FWD_IDLE;
		err = vq_avail_count(dst->vq, &avail);
		if (err) {
			fault->guilty = 1;
			fault->error = err;
			return FWD_FAULT;
		}
		if (!avail)
			return FWD_BLOCKED;
		switch (receive_one(t, tap_end, dst, avail, budget, fault)) {
		case PKT_DONE:
			break;
		case PKT_WAIT:
			return FWD_BLOCKED;
		case PKT_IDLE:
			return FWD_IDLE;
		case PKT_FAULT:
			return FWD_FAULT;
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
					    PKT_IDLE)
			return FWD_IDLE;
		/* The kernel's frames are ours to read: count them as one piece each. */
		fwd_budget_spend(budget, 1, 0);
	}
	return FWD_MORE;
}
