/* SPDX-License-Identifier: MIT */
/*
 * Bulk TCP through a switch: a sender keeps its TX ring full of 64 KB TCPv4
 * GSO "super-packets" (45 segments of 1448 bytes, headers as a Linux guest
 * with TSO and timestamps writes them), a receiver drains its RX ring and
 * counts the TCP payload bytes that arrive. Both are driver-library clients
 * of one switch, in one thread (put it on a CPU of its own with taskset).
 *
 *   vnet-p2p-bulk [options] TX_PATH RX_PATH
 *
 *   --mode pass     sender HOST_TSO4 + CSUM, receiver GUEST_TSO4 + GUEST_CSUM:
 *                   each super-packet should cross whole (the default)
 *   --mode seg      the same sender, a receiver without GUEST_TSO4: the
 *                   switch must cut each super-packet into 1514-byte segments
 *   --mode plain    no GSO: ordinary 1514-byte frames of 1448 payload bytes
 *                   (checksum offload only), the same stream of bytes
 *   --expect whole|segments|any   which outcome the receiver must see
 *                   (default: whole for pass, segments for seg and plain)
 *   --seconds S     measure for S seconds after the warm-up (default 6);
 *                   0: until SIGINT or SIGTERM
 *   --warmup W      seconds before the measurement starts (default 2)
 *   --stats         print the cumulative counters every second
 *   (SIGUSR1 prints them at once: how a callgrind window is read)
 *   --queue N       ring size of every queue (default 256)
 *   --rx-buf B      bytes per receive buffer, at least 2048 (default 4096, as Linux's
 *                   mergeable buffers under bulk traffic)
 *
 * The last line says what arrived, in payload Gbit/s over the measurement.
 *
 * Why not vnd_send() and vnd_recv(): each copies the whole frame, so the
 * clients would make two copies of every byte on their CPU to the switch's
 * one, and set the pace themselves. A guest's zero-copy stack, like the
 * DPDK generator of the other cases, does not. So frames are posted in
 * place, as the library's own test hooks allow (vnd_raw.h): every TX chain
 * is the virtio header with the packet headers in one descriptor (rewritten
 * per frame: sequence number, IP ID and checksum) and the payload in a
 * second one, read from one buffer that all frames share (the device only
 * reads TX buffers). The receiver reads the headers in its RX buffers where
 * the device wrote them, then lets vnd_recv() consume and repost the
 * buffers with a one-byte destination, which it never copies into.
 *
 * So that a broken switch cannot look fast, every frame is checked: the
 * outcome (whole or segmented), IP and TCP lengths against the bytes that
 * arrived, the TCP sequence number against the stream (a gap counts as
 * lost bytes, bytes going backwards or misaligned are an error), and the
 * first payload bytes against what was sent at that place in the stream;
 * one frame in 64 is copied out and checked whole (every payload byte, the
 * IP header checksum, the TCP checksum completed as a NEEDS_CSUM receiver
 * would). Any error ends the run with the first problem and exit status 1.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <vnet-p2p/driver.h>

#include "gso_frames.h"
#include "vnd_raw.h"

#define MSS 1448u
#define SEGMENTS 45u
#define PAYLOAD (MSS * SEGMENTS) /* 65160: an IPv4 packet of 65212 bytes */
#define ETH_LEN 14u
#define IP_LEN 20u
#define TCP_LEN 32u /* with timestamps */
#define HDRS (ETH_LEN + IP_LEN + TCP_LEN)
#define VNET_HDR 12u /* virtio_net_hdr_mrg_rxbuf: VERSION_1 */
#define SLOT 128u    /* bytes per TX header slot */
#define MAX_BUFS 64u /* receive buffers one frame may span */
#define SEQ0 0x10000000u
#define CHECK_EVERY 64u

#define LOAD_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define STORE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

enum mode { MODE_PASS, MODE_SEG, MODE_PLAIN };
enum expect { EXPECT_WHOLE, EXPECT_SEGMENTS, EXPECT_ANY };

static volatile sig_atomic_t stop, report;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		report = 1;
	else
		stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CPU time this process has had, user and system. */
static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static _Noreturn void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("vnet-p2p-bulk: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ---- the sender ---------------------------------------------------------------- */

struct sender {
	struct vnd *d;
	struct vnd_raw_ring r;
	enum mode mode;
	bool event_idx;
	uint8_t *slots;      /* header slots, SLOT bytes each */
	uint8_t *payload;    /* PAYLOAD bytes, shared by every frame */
	uint64_t slots_gpa, payload_gpa;
	uint16_t *desc_of;   /* chain c: descriptors desc_of[2c] (head), desc_of[2c + 1] */
	int32_t *chain_of;   /* head descriptor -> chain */
	uint16_t *free_chain;
	unsigned nfree, chains;
	uint16_t avail_idx, last_used;
	uint8_t tmpl[VNET_HDR + HDRS]; /* virtio header and packet headers */
	uint64_t frames;     /* frames sent */
	uint16_t ip_id;
};

static void sender_init(struct sender *s, struct vnd *d, enum mode mode, const uint8_t *pattern)
{
	struct gso_spec spec = {
		.tcp_opt_len = TCP_LEN - 20,
		.df = true,
		.seq = SEQ0,
		.ack = 1,
		.tcp_flags = GSO_TCP_ACK,
		.window = 8192,
		.seed = 7,
		.payload_len = mode == MODE_PLAIN ? MSS : PAYLOAD,
		.gso_size = mode == MODE_PLAIN ? 0 : MSS,
	};
	struct virtio_net_hdr_mrg_rxbuf vh = { 0 };
	struct vnd_tx_meta meta;
	static uint8_t frame[HDRS + PAYLOAD];
	size_t scratch_size, len;
	uint8_t *scratch;

	memset(s, 0, sizeof *s);
	s->d = d;
	s->mode = mode;
	s->event_idx = vnd_features(d) >> VND_F_EVENT_IDX & 1;
	vnd_raw_ring(d, 1, &s->r);
	s->chains = s->r.num / 2;
	/* The headers exactly as Linux writes a TSO skb's (or, with plain, a
	 * CHECKSUM_PARTIAL one's): gso_build() of the integration tests. */
	len = gso_build(frame, sizeof frame, &spec, &meta);
	if (len != HDRS + spec.payload_len)
		die("gso_build gave %zu bytes", len);
	vh.hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.hdr.csum_start = meta.csum_start;
	vh.hdr.csum_offset = meta.csum_offset;
	vh.hdr.gso_type = meta.gso_type;
	vh.hdr.gso_size = meta.gso_size;
	vh.hdr.hdr_len = meta.hdr_len;
	memcpy(s->tmpl, &vh, VNET_HDR);
	memcpy(s->tmpl + VNET_HDR, frame, HDRS);

	/* Scratch: the payload, then the header slots. */
	scratch = vnd_raw_scratch(d, &scratch_size);
	if (PAYLOAD + (size_t)s->chains * SLOT > scratch_size)
		die("a ring of %u does not fit the scratch area", s->r.num);
	s->payload = scratch;
	memcpy(s->payload, pattern, PAYLOAD);
	s->slots = scratch + ((PAYLOAD + 4095) & ~4095u);
	s->payload_gpa = vnd_raw_gpa(d, s->payload);
	s->slots_gpa = vnd_raw_gpa(d, s->slots);

	s->desc_of = calloc(s->r.num, sizeof *s->desc_of);
	s->chain_of = calloc(s->r.num, sizeof *s->chain_of);
	s->free_chain = calloc(s->chains, sizeof *s->free_chain);
	if (!s->desc_of || !s->chain_of || !s->free_chain)
		die("out of memory");
	/* Every TX descriptor is ours: the library never sends on this device. */
	if (vnd_raw_take_descs(d, 1, 2 * s->chains, s->desc_of))
		die("cannot reserve the TX descriptors");
	for (unsigned i = 0; i < s->r.num; i++)
		s->chain_of[i] = -1;
	for (unsigned c = 0; c < s->chains; c++) {
		s->chain_of[s->desc_of[2 * c]] = (int32_t)c;
		s->free_chain[s->nfree++] = (uint16_t)(s->chains - 1 - c);
		memcpy(s->slots + (size_t)c * SLOT, s->tmpl, sizeof s->tmpl);
	}
}

static void ip_checksum(uint8_t *ip)
{
	put16(ip + 10, 0);
	put16(ip + 10, (uint16_t)~gso_csum_fold(gso_csum_add(0, ip, IP_LEN)));
}

/* Collect what the device finished. */
static void sender_reclaim(struct sender *s)
{
	uint16_t used = LOAD_ONCE(s->r.used->idx);

	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if ((uint16_t)(used - s->last_used) > s->r.num)
		die("the switch moved the TX used index by %u", (uint16_t)(used - s->last_used));
	for (; s->last_used != used; s->last_used++) {
		uint32_t id = LOAD_ONCE(s->r.used->ring[s->last_used & (s->r.num - 1)].id);

		if (id >= s->r.num || s->chain_of[id] < 0)
			die("the switch returned TX descriptor %u, no chain's head", id);
		s->free_chain[s->nfree++] = (uint16_t)s->chain_of[id];
		if (s->nfree > s->chains)
			die("the switch returned TX descriptor %u twice", id);
	}
}

/* Fill the ring; returns the frames queued. */
static unsigned sender_fill(struct sender *s)
{
	uint16_t old = s->avail_idx;
	unsigned n = 0;
	bool kick;

	while (s->nfree) {
		unsigned c = s->free_chain[--s->nfree];
		uint16_t head = s->desc_of[2 * c], body = s->desc_of[2 * c + 1];
		uint8_t *slot = s->slots + (size_t)c * SLOT, *ip = slot + VNET_HDR + ETH_LEN;
		uint32_t body_len = s->mode == MODE_PLAIN ? MSS : PAYLOAD;
		uint64_t body_gpa = s->payload_gpa;
		uint32_t seq;

		if (s->mode == MODE_PLAIN) {
			body_gpa += (uint64_t)(s->frames % SEGMENTS) * MSS;
			seq = SEQ0 + (uint32_t)(s->frames * MSS);
		} else {
			seq = SEQ0 + (uint32_t)(s->frames * PAYLOAD);
		}
		put32(ip + IP_LEN + 4, seq);
		put16(ip + 4, s->ip_id);
		/* A super-packet's segments take the IDs after its own. */
		s->ip_id = (uint16_t)(s->ip_id + (s->mode == MODE_PLAIN ? 1 : SEGMENTS));
		ip_checksum(ip);
		s->r.desc[head] = (struct vring_desc){
			.addr = s->slots_gpa + (uint64_t)c * SLOT,
			.len = VNET_HDR + HDRS,
			.flags = VRING_DESC_F_NEXT,
			.next = body,
		};
		s->r.desc[body] = (struct vring_desc){ .addr = body_gpa, .len = body_len };
		STORE_ONCE(s->r.avail->ring[s->avail_idx & (s->r.num - 1)], head);
		s->avail_idx++;
		s->frames++;
		n++;
	}
	if (!n)
		return 0;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	STORE_ONCE(s->r.avail->idx, s->avail_idx);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (s->event_idx)
		kick = vring_need_event(LOAD_ONCE(*(uint16_t *)(void *)&s->r.used->ring[s->r.num]),
					s->avail_idx, old);
	else
		kick = !(LOAD_ONCE(s->r.used->flags) & VRING_USED_F_NO_NOTIFY);
	if (kick)
		vnd_kick(s->d);
	return n;
}

/* ---- the receiver -------------------------------------------------------------- */

struct counters {
	uint64_t frames, whole, segments, payload, lost, checked, csum_nolen;
};

struct receiver {
	struct vnd *d;
	struct vnd_raw_ring r;
	enum expect expect;
	const uint8_t *pattern; /* the payload, as sent */
	uint16_t last_used;     /* mirrors the library's: it consumes what we read */
	uint64_t pos;           /* stream offset of the next byte expected */
	struct counters c;
	uint8_t *copy;          /* a sampled frame, copied out whole */
};

struct piece {
	const uint8_t *p;
	uint32_t len;
};

static _Noreturn void bad(const struct receiver *rx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static _Noreturn void bad(const struct receiver *rx, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	die("frame %llu (stream byte %llu): %s", (unsigned long long)rx->c.frames,
	    (unsigned long long)rx->pos, text);
}

/* The TCP pseudo-header's folded sum with a length of 0. */
static uint16_t pseudo_sum_nolen(const uint8_t *ip)
{
	return gso_csum_fold(gso_csum_add(6, ip + 12, 8));
}

/* Copy the frame out whole and check every byte of it. */
static void check_whole(struct receiver *rx, const struct piece *pc, unsigned n, size_t len,
			const struct virtio_net_hdr *h, size_t plen, size_t at)
{
	uint8_t *f = rx->copy;
	size_t got = 0;

	for (unsigned i = 0; i < n; i++) {
		memcpy(f + got, pc[i].p, pc[i].len);
		got += pc[i].len;
	}
	if (got != len)
		bad(rx, "copied %zu bytes of %zu", got, len);
	if (gso_csum_fold(gso_csum_add(0, f + ETH_LEN, IP_LEN)) != 0xffff)
		bad(rx, "bad IPv4 header checksum");
	if (memcmp(f + HDRS, rx->pattern + at, plen))
		bad(rx, "payload differs from what was sent");
	rx->c.checked++;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		uint8_t *field = f + ETH_LEN + IP_LEN + 16;
		uint16_t sent = get16(field);

		if (h->csum_start != ETH_LEN + IP_LEN || h->csum_offset != 16)
			bad(rx, "NEEDS_CSUM at %u+%u, not at the TCP checksum", h->csum_start,
			    h->csum_offset);
		gso_csum_complete(f, len, h->csum_start, h->csum_offset);
		if (gso_csum_verify(f + ETH_LEN, false, 6, f + ETH_LEN + IP_LEN,
				    len - ETH_LEN - IP_LEN) == 0xffff)
			return;
		/* DPDK's vhost writes the pseudo-header's sum without the
		 * length into a TSO frame (as Intel NICs want it, not as
		 * virtio says): counted and reported, as it is no loss of data. */
		if (sent == pseudo_sum_nolen(f + ETH_LEN)) {
			rx->c.csum_nolen++;
			return;
		}
		bad(rx, "the TCP checksum does not verify once completed (field 0x%04x)", sent);
	}
	if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID)
		return; /* the switch vouches for it */
	if (gso_csum_verify(f + ETH_LEN, false, 6, f + ETH_LEN + IP_LEN, len - ETH_LEN - IP_LEN) !=
	    0xffff)
		bad(rx, "the TCP checksum does not verify");
}

/* Read and check one frame where it lies; false when none is complete yet. */
static bool receive_one(struct receiver *rx)
{
	struct vnd_raw_ring *r = &rx->r;
	uint16_t mask = (uint16_t)(r->num - 1), pending, nbufs = 1;
	struct virtio_net_hdr_mrg_rxbuf vh;
	struct piece pc[MAX_BUFS];
	struct vnd_rx_meta meta;
	const uint8_t *f, *ip, *tcp;
	size_t len = 0, plen, at;
	uint32_t seq, gap;
	bool whole;
	uint8_t sink;
	ssize_t rc;

	pending = (uint16_t)(LOAD_ONCE(r->used->idx) - rx->last_used);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (!pending)
		return false;
	for (unsigned b = 0;; b++) {
		struct vring_used_elem e = r->used->ring[(uint16_t)(rx->last_used + b) & mask];
		struct vring_desc desc;
		uint8_t *p;

		if (e.id >= r->num)
			bad(rx, "used RX descriptor %u", e.id);
		desc = r->desc[e.id];
		if (e.len > desc.len || (b == 0 && e.len < VNET_HDR + HDRS) ||
		    !(p = vnd_raw_host(rx->d, desc.addr, desc.len)))
			bad(rx, "used RX element %u: length %u of a %u-byte buffer", e.id, e.len,
			    desc.len);
		if (b == 0) {
			memcpy(&vh, p, VNET_HDR);
			nbufs = vh.num_buffers;
			if (nbufs == 0 || nbufs > MAX_BUFS)
				bad(rx, "num_buffers %u", nbufs);
			if (nbufs > pending)
				return false; /* the rest is not published yet */
			p += VNET_HDR;
			e.len -= VNET_HDR;
		}
		pc[b] = (struct piece){ p, e.len };
		len += e.len;
		if (b + 1 == nbufs)
			break;
	}

	/* The headers: ours, with lengths that match what arrived. */
	f = pc[0].p;
	ip = f + ETH_LEN;
	tcp = ip + IP_LEN;
	if (get16(f + 12) != 0x0800 || ip[0] != 0x45 || ip[9] != 6 || tcp[12] >> 4 != TCP_LEN / 4)
		bad(rx, "not the stream's headers");
	if (get16(ip + 2) != len - ETH_LEN)
		bad(rx, "IP total length %u in a frame of %zu bytes", get16(ip + 2), len);
	plen = len - HDRS;
	whole = vh.hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE;
	if (whole) {
		if (vh.hdr.gso_type != VIRTIO_NET_HDR_GSO_TCPV4 || vh.hdr.gso_size != MSS)
			bad(rx, "gso_type %u, gso_size %u", vh.hdr.gso_type, vh.hdr.gso_size);
		if (rx->expect == EXPECT_SEGMENTS)
			bad(rx, "a GSO frame of %zu bytes reached a receiver that expects segments",
			    len);
		rx->c.whole++;
	} else {
		if (plen > MSS)
			bad(rx, "a frame of %zu payload bytes without GSO (gso_type 0, flags 0x%x)",
			    plen, vh.hdr.flags);
		if (rx->expect == EXPECT_WHOLE)
			bad(rx, "a segment of %zu payload bytes where a whole super-packet was expected",
			    plen);
		rx->c.segments++;
	}
	/* The stream: bytes in order, a gap is a loss. */
	seq = get32(tcp + 4);
	gap = seq - (SEQ0 + (uint32_t)rx->pos);
	if (gap) {
		if (gap >= 0x80000000u || gap % MSS)
			bad(rx, "TCP sequence %u where %u was next", seq, SEQ0 + (uint32_t)rx->pos);
		rx->c.lost += gap;
		rx->pos += gap;
	}
	at = (size_t)(rx->pos % PAYLOAD);
	if (at + plen > PAYLOAD || !plen)
		bad(rx, "%zu payload bytes at offset %zu of a super-packet", plen, at);
	if (memcmp(f + HDRS, rx->pattern + at, pc[0].len - HDRS < 16 ? pc[0].len - HDRS : 16))
		bad(rx, "the first payload bytes differ from what was sent");
	if (rx->c.frames % CHECK_EVERY == 0)
		check_whole(rx, pc, nbufs, len, &vh.hdr, plen, at);

	/* Let the library consume the buffers and post them again. */
	rc = vnd_recv(rx->d, &sink, sizeof sink, &meta);
	if (rc != -EMSGSIZE || meta.num_buffers != nbufs)
		die("vnd_recv returned %zd (%s) for a frame of %zu bytes in %u buffers", rc,
		    vnd_last_error(rx->d), len, nbufs);
	rx->last_used = (uint16_t)(rx->last_used + nbufs);
	rx->pos += plen;
	rx->c.payload += plen;
	rx->c.frames++;
	return true;
}

/* ---- the run ------------------------------------------------------------------- */

static struct vnd *open_port(const char *path, uint64_t features, unsigned queue, unsigned rx_buf)
{
	struct vnd_config cfg;
	struct vnd *d;
	int rc;

	vnd_config_init(&cfg);
	cfg.features = features;
	cfg.queue_size = queue;
	cfg.rx_buf_size = rx_buf;
	cfg.call_nofd = true; /* we poll */
	rc = vnd_open_path(&d, path, &cfg);
	if (rc)
		die("%s: %s", path, strerror(-rc));
	return d;
}

static void print_counters(const char *what, double t, const struct counters *c)
{
	printf("%s t=%.3f payload_bytes=%llu frames=%llu whole=%llu segments=%llu lost_bytes=%llu "
	       "checked=%llu csum_nolen=%llu\n",
	       what, t, (unsigned long long)c->payload, (unsigned long long)c->frames,
	       (unsigned long long)c->whole, (unsigned long long)c->segments,
	       (unsigned long long)c->lost, (unsigned long long)c->checked,
	       (unsigned long long)c->csum_nolen);
	fflush(stdout);
}

static _Noreturn void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--mode pass|seg|plain] [--expect whole|segments|any] [--seconds S]\n"
		"       [--warmup W] [--stats] [--queue N] [--rx-buf B] TX_PATH RX_PATH\n",
		argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },   { "expect", required_argument, NULL, 'e' },
		{ "seconds", required_argument, NULL, 's' }, { "warmup", required_argument, NULL, 'w' },
		{ "stats", no_argument, NULL, 'S' },        { "queue", required_argument, NULL, 'q' },
		{ "rx-buf", required_argument, NULL, 'b' },  { NULL, 0, NULL, 0 },
	};
	enum mode mode = MODE_PASS;
	int expect = -1, opt;
	double seconds = 6, warmup = 2;
	bool stats = false;
	unsigned queue = 256, rx_buf = 4096;
	uint64_t tx_features, rx_features, t0, t_start = 0, t_end, next_stats, last_rx, cpu_start = 0;
	struct counters at_start = { 0 };
	struct sender tx;
	struct receiver rx = { 0 };
	uint8_t *pattern;
	double gbps, secs;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (!strcmp(optarg, "pass"))
				mode = MODE_PASS;
			else if (!strcmp(optarg, "seg"))
				mode = MODE_SEG;
			else if (!strcmp(optarg, "plain"))
				mode = MODE_PLAIN;
			else
				usage(argv[0]);
			break;
		case 'e':
			if (!strcmp(optarg, "whole"))
				expect = EXPECT_WHOLE;
			else if (!strcmp(optarg, "segments"))
				expect = EXPECT_SEGMENTS;
			else if (!strcmp(optarg, "any"))
				expect = EXPECT_ANY;
			else
				usage(argv[0]);
			break;
		case 's': seconds = atof(optarg); break;
		case 'w': warmup = atof(optarg); break;
		case 'S': stats = true; break;
		case 'q': queue = (unsigned)atoi(optarg); break;
		case 'b': rx_buf = (unsigned)atoi(optarg); break;
		default: usage(argv[0]);
		}
	}
	if (argc - optind != 2 || queue < 4 || (queue & (queue - 1)) || rx_buf < 2048 ||
	    seconds < 0 || warmup < 0)
		usage(argv[0]);
	if (expect < 0)
		expect = mode == MODE_PASS ? EXPECT_WHOLE : EXPECT_SEGMENTS;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);
	pattern = malloc(PAYLOAD);
	rx.copy = malloc(HDRS + PAYLOAD);
	if (!pattern || !rx.copy)
		die("out of memory");
	for (size_t i = 0; i < PAYLOAD; i++)
		pattern[i] = gso_payload_byte(7, i);

	/* The sender: checksum offload, and TSO4 but for plain frames. */
	tx_features = VND_FEATURES_DEFAULT;
	if (mode != MODE_PLAIN)
		tx_features |= 1ull << VND_F_HOST_TSO4;
	rx_features = VND_FEATURES_DEFAULT;
	if (mode == MODE_PASS)
		rx_features |= 1ull << VND_F_GUEST_TSO4;
	rx.d = open_port(argv[optind + 1], rx_features, queue, rx_buf);
	if (!(vnd_features(rx.d) >> VND_F_MRG_RXBUF & 1) ||
	    !(vnd_features(rx.d) >> VND_F_GUEST_CSUM & 1) ||
	    (mode == MODE_PASS && !(vnd_features(rx.d) >> VND_F_GUEST_TSO4 & 1)))
		die("the switch did not grant the receiver MRG_RXBUF, GUEST_CSUM%s (features 0x%llx)",
		    mode == MODE_PASS ? ", GUEST_TSO4" : "", (unsigned long long)vnd_features(rx.d));
	sender_init(&tx, open_port(argv[optind], tx_features, queue, rx_buf), mode, pattern);
	if ((tx_features & ~vnd_features(tx.d)) >> VND_F_CSUM & 1 ||
	    (mode != MODE_PLAIN && !(vnd_features(tx.d) >> VND_F_HOST_TSO4 & 1)))
		die("the switch did not grant the sender CSUM%s (features 0x%llx)",
		    mode != MODE_PLAIN ? ", HOST_TSO4" : "", (unsigned long long)vnd_features(tx.d));
	vnd_raw_ring(rx.d, 0, &rx.r);
	rx.expect = (enum expect)expect;
	rx.pattern = pattern;

	t0 = last_rx = now_ns();
	next_stats = t0 + 1000000000ull;
	t_end = seconds > 0 ? t0 + (uint64_t)((warmup + seconds) * 1e9) : UINT64_MAX;
	while (!stop) {
		uint64_t t;
		unsigned got = 0;

		sender_reclaim(&tx);
		sender_fill(&tx);
		while (got < 256 && receive_one(&rx))
			got++;
		t = now_ns();
		if (got)
			last_rx = t;
		else if (seconds > 0 && t - last_rx > 10000000000ull)
			die("nothing arrived for 10 s (%llu frames so far)",
			    (unsigned long long)rx.c.frames);
		if (!t_start && t >= t0 + (uint64_t)(warmup * 1e9)) {
			t_start = t;
			at_start = rx.c;
			cpu_start = cpu_ns();
		}
		if ((stats && t >= next_stats) || report) {
			print_counters("stats", (double)(t - t0) / 1e9, &rx.c);
			if (!report)
				next_stats += 1000000000ull;
			report = 0;
		}
		if (t >= t_end)
			break;
	}
	t_end = now_ns();
	if (!t_start) {
		t_start = t0;
		at_start = (struct counters){ 0 };
		cpu_start = 0;
	}
	secs = (double)(t_end - t_start) / 1e9;
	gbps = (double)(rx.c.payload - at_start.payload) * 8 / secs / 1e9;
	print_counters("total", (double)(t_end - t0) / 1e9, &rx.c);
	/* How much of the time the clients had their CPU: on a shared machine,
	 * less than 1 means others ran there and the figure is theirs too. */
	printf("bulk mode=%s seconds=%.2f payload_gbps=%.2f client_cpu=%.2f frames_per_s=%.0f "
	       "whole=%llu segments=%llu lost_bytes=%llu checked=%llu csum_nolen=%llu\n",
	       mode == MODE_PASS ? "pass" : mode == MODE_SEG ? "seg" : "plain", secs, gbps,
	       (double)(cpu_ns() - cpu_start) / 1e9 / secs,
	       (double)(rx.c.frames - at_start.frames) / secs,
	       (unsigned long long)(rx.c.whole - at_start.whole),
	       (unsigned long long)(rx.c.segments - at_start.segments),
	       (unsigned long long)(rx.c.lost - at_start.lost), (unsigned long long)rx.c.checked,
	       (unsigned long long)rx.c.csum_nolen);
	vnd_close(rx.d);
	vnd_close(tx.d);
	free(pattern);
	free(rx.copy);
	return rx.c.frames ? 0 : 1;
}
