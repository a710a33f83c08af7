/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "vnd_raw.h"

#define FRAME_HEAD 16
#define F(bit) (1ull << (bit))

int client_try_open(struct server *s, const char *const *create_args,
		    const struct vnd_config *cfg, struct vnd **out)
{
	char msg[512];
	int fd = -1, rc;

	rc = server_create(s, create_args, &fd, msg, sizeof msg);
	if (rc < 0)
		fail_msg("create failed: %s", msg);
	assert_true(fd >= 0);
	rc = vnd_open_fd(out, fd, cfg);
	if (rc < 0)
		close(fd);
	return rc;
}

struct vnd *client_open(struct server *s, const char *const *create_args,
			const struct vnd_config *cfg)
{
	struct vnd *d = NULL;
	int rc = client_try_open(s, create_args, cfg, &d);

	if (rc < 0)
		fail_msg("opening the port failed: %s", strerror(-rc));
	return d;
}

static uint32_t mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352d;
	x ^= x >> 15;
	x *= 0x846ca68b;
	x ^= x >> 16;
	return x;
}

/* Ethernet-like head (broadcast, local source, ethertype 0x88b5), then
 * stream, sequence, length; the rest is a pure function of those. */
size_t frame_fill(uint8_t *buf, uint32_t stream, uint32_t seq, size_t len)
{
	uint32_t v = mix(stream * 0x9e3779b9u ^ seq);
	uint32_t len32 = (uint32_t)len;

	assert_true(len >= FRAME_HEAD + 12);
	memset(buf, 0xff, 6);
	memcpy(buf + 6, "\x02\x00\x00\x00\x00", 5);
	buf[11] = (uint8_t)stream;
	buf[12] = 0x88;
	buf[13] = 0xb5;
	memcpy(buf + 14, &stream, 4);
	memcpy(buf + 18, &seq, 4);
	memcpy(buf + 22, &len32, 4);
	for (size_t i = 26; i < len; i++) {
		v = v * 1103515245u + 12345u;
		buf[i] = (uint8_t)(v >> 16);
	}
	return len;
}

bool frame_check(const uint8_t *buf, size_t len, uint32_t stream, uint32_t *seq)
{
	static uint8_t expect[65536 + 64];
	uint32_t s, n, l;

	if (len < 26 || len > sizeof expect)
		return false;
	memcpy(&s, buf + 14, 4);
	memcpy(&n, buf + 18, 4);
	memcpy(&l, buf + 22, 4);
	if (s != stream || l != len)
		return false;
	frame_fill(expect, stream, n, len);
	*seq = n;
	return memcmp(expect, buf, len) == 0;
}

struct sender {
	struct vnd *d;
	uint32_t stream;
	uint32_t next;
};

struct receiver {
	struct vnd *d;
	uint32_t stream;
	uint32_t next;
	unsigned long bad;
};

static void send_some(struct sender *s, unsigned long count, size_t (*size_of)(uint32_t))
{
	static uint8_t buf[65536];

	while (s->next < count) {
		size_t len = frame_fill(buf, s->stream, s->next, size_of(s->next));
		int rc = vnd_send(s->d, buf, len, NULL);

		if (rc == -EAGAIN)
			return;
		if (rc < 0)
			fail_msg("send failed: %s", vnd_last_error(s->d));
		s->next++;
	}
}

static bool receive_some(struct receiver *r)
{
	static uint8_t buf[65536 + 64];
	bool any = false;

	for (;;) {
		ssize_t n = vnd_recv(r->d, buf, sizeof buf, NULL);
		uint32_t seq;

		if (n == -EAGAIN)
			return any;
		if (n < 0)
			fail_msg("receive failed: %s", vnd_last_error(r->d));
		any = true;
		if (!frame_check(buf, (size_t)n, r->stream, &seq) || seq != r->next) {
			if (r->bad++ < 5)
				print_message("stream %u: frame %u damaged or out of order (len %zd)\n",
					      r->stream, r->next, n);
		}
		r->next++;
	}
}

struct exchange_result exchange(struct vnd *a, struct vnd *b, unsigned long count,
				size_t (*size_of)(uint32_t seq), int timeout_ms)
{
	struct sender sa = { a, 1, 0 }, sb = { b, 2, 0 };
	struct receiver ra = { a, 2, 0, 0 }, rb = { b, 1, 0, 0 };
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	struct exchange_result res;

	while ((ra.next < count || rb.next < count) && now_ms() < deadline) {
		bool progress;

		send_some(&sa, count, size_of);
		send_some(&sb, count, size_of);
		progress = receive_some(&ra);
		progress |= receive_some(&rb);
		if (!progress) {
			vnd_wait(a, 2);
			vnd_wait(b, 2);
		}
	}
	res.a_received = ra.next;
	res.b_received = rb.next;
	res.bad = ra.bad + rb.bad;
	return res;
}

/* A named failure per port: which port and which side dropped says more
 * than a sum that is not 0. */
static void expect_no_drops(struct server *s, unsigned port, unsigned checks)
{
	struct vnp_ctl_port p = port_status(s, port);

	if (port_tx_drops(&p))
		fail_msg("port %u dropped %llu frames its client sent", port,
			 (unsigned long long)port_tx_drops(&p));
	if ((checks & XCHG_RX_DROPS) && port_rx_drops(&p))
		fail_msg("port %u dropped %llu frames on their way to its client", port,
			 (unsigned long long)port_rx_drops(&p));
}

void expect_delivered(struct vnd *a, struct vnd *b, unsigned long count,
		      size_t (*size_of)(uint32_t seq), int timeout_ms)
{
	struct exchange_result r = exchange(a, b, count, size_of, timeout_ms);

	assert_int_equal(r.bad, 0);
	assert_int_equal(r.a_received, count);
	assert_int_equal(r.b_received, count);
}

void expect_exchange(struct server *s, struct vnd *a, struct vnd *b, unsigned long count,
		     size_t (*size_of)(uint32_t seq), unsigned checks)
{
	expect_delivered(a, b, count, size_of, 60000);
	expect_no_drops(s, 0, checks);
	expect_no_drops(s, 1, checks);
}

void expect_port_counted(struct server *s, unsigned port, unsigned long count)
{
	struct vnp_ctl_port p = port_status(s, port);

	assert_int_equal(p.state, 3 /* running */);
	assert_int_equal(p.counter[VNP_CTR_TX_PACKETS], count);
	assert_int_equal(p.counter[VNP_CTR_RX_PACKETS], count);
	assert_true(p.counter[VNP_CTR_INTERRUPTS] > 0);
}

void expect_ring_format(struct vnd *d, const struct vnd_config *cfg, const char *end)
{
	const uint64_t packed = 1ull << VND_F_RING_PACKED;
	bool want = cfg->features & packed, got = vnd_features(d) & packed;

	if (got != want)
		fail_msg("end %s asked for a %s ring and runs a %s one", end,
			 want ? "packed" : "split", got ? "packed" : "split");
}

void run_pair(const char *const *server_args, const struct vnd_config *ca,
	      const struct vnd_config *cb, unsigned long count, size_t (*size_of)(uint32_t seq),
	      unsigned checks)
{
	struct server s;
	struct vnd *a, *b;

	server_start(&s, server_args);
	a = client_open(&s, NULL, ca);
	b = client_open(&s, NULL, cb);
	if (checks & XCHG_RING_FORMAT) {
		expect_ring_format(a, ca, "a");
		expect_ring_format(b, cb, "b");
	}
	expect_exchange(&s, a, b, count, size_of, checks);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

void layout_pair(unsigned i, struct vnd_config *ca, struct vnd_config *cb)
{
	static const enum vnd_tx_layout layouts[] = { VND_TX_ONE_DESC, VND_TX_HDR_SPLIT,
						      VND_TX_INDIRECT, VND_TX_SCATTER };

	ca->tx_layout = layouts[i % 4];
	cb->tx_layout = layouts[(i + 1) % 4];
	ca->tx_piece = 100 + 37 * i;
	cb->tx_piece = 700;
	ca->regions = 4;
	cb->regions = 3;
	cb->add_mem_reg = i % 2;
}

void send_and_receive_all(struct vnd *a, struct vnd *b, uint32_t stream, size_t len,
			  uint32_t *sent, uint32_t total)
{
	static uint8_t buf[65536];
	uint32_t got = 0, seq;

	while (got < total) {
		ssize_t n;

		while (*sent < total &&
		       vnd_send(a, buf, frame_fill(buf, stream, *sent, len), NULL) == 0)
			(*sent)++;
		n = vnd_recv(b, buf, sizeof buf, NULL);
		if (n == -EAGAIN) {
			assert_int_equal(vnd_wait(b, 5000), 1);
			continue;
		}
		assert_true(frame_check(buf, (size_t)n, stream, &seq));
		assert_int_equal(seq, got);
		got++;
	}
}

ssize_t recv_one(struct vnd *d, uint8_t *buf, size_t cap, struct vnd_rx_meta *meta)
{
	ssize_t n;

	for (uint64_t end = now_ms() + 5000;
	     (n = vnd_recv(d, buf, cap, meta)) == -EAGAIN && now_ms() < end;)
		vnd_wait(d, 10);
	return n;
}

void checksums_across(const struct vnd_config *sender, const struct vnd_config *receiver)
{
	struct vnd_tx_meta meta = { .needs_csum = true, .csum_start = 34, .csum_offset = 6 };
	static const size_t sizes[] = { 1, 2, 3, 999, 1000, 1471, 3001 };
	static uint8_t out[4000], in[4000];
	struct vnd_rx_meta rx;
	struct server s;
	struct vnd *a, *b;
	bool complete;

	server_start(&s, NULL);
	a = client_open(&s, NULL, sender);
	b = client_open(&s, NULL, receiver);
	/* What the receiver asked for, and got: it decides what is checked. */
	complete = !(receiver->features & F(VND_F_GUEST_CSUM));
	assert_int_equal(!(vnd_features(b) & F(VND_F_GUEST_CSUM)), complete);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t len = udp_frame(out, sizes[i]);
		ssize_t n;

		assert_int_equal(vnd_send(a, out, len, &meta), 0);
		n = recv_one(b, in, sizeof in, &rx);
		assert_int_equal(n, (ssize_t)len);
		if (complete) {
			assert_int_equal(rx.flags & 1 /* NEEDS_CSUM */, 0);
			assert_int_equal(udp_verify(in, len), 0xffff);
			/* Nothing but the checksum field changed. */
			assert_memory_equal(in, out, 40);
			assert_memory_equal(in + 42, out + 42, len - 42);
		} else {
			assert_int_equal(rx.flags & 1, 1);
			assert_int_equal(rx.csum_start, 34);
			assert_int_equal(rx.csum_offset, 6);
			assert_memory_equal(in, out, len);
		}
	}
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

size_t random_size_64k(uint32_t seq)
{
	/* 60 bytes to 64 KiB, deterministic per frame, with the edges included. */
	if (seq % 97 == 0)
		return 65536;
	if (seq % 89 == 0)
		return 60;
	return 60 + (seq * 2654435761u >> 7) % (65536 - 60);
}

size_t random_size_mtu(uint32_t seq)
{
	return 60 + (seq * 2654435761u >> 9) % (1514 - 60 + 1);
}

size_t size_9000(uint32_t seq)
{
	return 60 + (seq * 2654435761u >> 9) % (9000 - 60 + 1);
}

/* A frame the sender hands over with a partial checksum (NEEDS_CSUM). */
size_t udp_frame(uint8_t *f, size_t payload)
{
	static const uint8_t src[4] = { 10, 0, 0, 1 }, dst[4] = { 10, 0, 0, 2 };
	size_t ip = 14, udp = ip + 20, len = udp + 8 + payload;
	uint32_t sum = 0;
	uint16_t udp_len = (uint16_t)(8 + payload), ip_len = (uint16_t)(20 + 8 + payload);

	memset(f, 0, len);
	memset(f, 0xff, 6);
	f[6] = 2;
	f[12] = 0x08;
	f[13] = 0x00;
	f[ip] = 0x45;
	f[ip + 2] = (uint8_t)(ip_len >> 8);
	f[ip + 3] = (uint8_t)ip_len;
	f[ip + 8] = 64;
	f[ip + 9] = 17;
	memcpy(f + ip + 12, src, 4);
	memcpy(f + ip + 16, dst, 4);
	f[udp] = 0x12;
	f[udp + 1] = 0x34;
	f[udp + 2] = 0x56;
	f[udp + 3] = 0x78;
	f[udp + 4] = (uint8_t)(udp_len >> 8);
	f[udp + 5] = (uint8_t)udp_len;
	for (size_t i = 0; i < payload; i++)
		f[udp + 8 + i] = (uint8_t)(i * 7 + 3);
	/* The pseudo-header sum goes into the checksum field, not inverted. */
	sum = (uint32_t)(src[0] << 8 | src[1]) + (uint32_t)(src[2] << 8 | src[3]) +
	      (uint32_t)(dst[0] << 8 | dst[1]) + (uint32_t)(dst[2] << 8 | dst[3]) + 17 + udp_len;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	f[udp + 6] = (uint8_t)(sum >> 8);
	f[udp + 7] = (uint8_t)sum;
	return len;
}

/* Ones' complement sum over pseudo-header and UDP: 0xffff when valid. */
uint16_t udp_verify(const uint8_t *f, size_t len)
{
	size_t udp = 14 + 20;
	uint32_t sum = 17 + (uint32_t)(len - udp);

	for (int i = 0; i < 8; i += 2)
		sum += (uint32_t)(f[14 + 12 + i] << 8 | f[14 + 13 + i]);
	for (size_t i = udp; i < len; i += 2)
		sum += (uint32_t)(f[i] << 8 | (i + 1 < len ? f[i + 1] : 0));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

struct vnp_ctl_port port_status(struct server *s, unsigned port)
{
	struct vnp_ctl_status st;

	server_status(s, &st);
	return st.port[port];
}

uint64_t port_tx_drops(const struct vnp_ctl_port *p)
{
	return p->counter[VNP_CTR_DROP_NO_PEER] + p->counter[VNP_CTR_DROP_TOO_BIG] +
	       p->counter[VNP_CTR_DROP_BAD];
}

uint64_t port_rx_drops(const struct vnp_ctl_port *p)
{
	return p->counter[VNP_CTR_RX_DROP_TOO_BIG] + p->counter[VNP_CTR_RX_DROP_BAD];
}

void wait_port_state(struct server *s, unsigned port, uint32_t state)
{
	uint32_t now = port_status(s, port).state;

	for (uint64_t deadline = now_ms() + 10000; now != state && now_ms() < deadline;) {
		usleep(2000);
		now = port_status(s, port).state;
	}
	if (now != state)
		fail_msg("port %u never reached state %u (it is in %u)", port, state, now);
}

void wait_port_counter(struct server *s, unsigned port, int ctr, uint64_t want)
{
	for (uint64_t deadline = now_ms() + 10000;
	     port_status(s, port).counter[ctr] != want && now_ms() < deadline;)
		usleep(2000);
	assert_int_equal(port_status(s, port).counter[ctr], want);
}

void send_frames(struct vnd *d, uint32_t stream, unsigned n, size_t len)
{
	static uint8_t buf[65536];
	uint64_t deadline = now_ms() + 10000;

	for (unsigned i = 0; i < n;) {
		if (vnd_send(d, buf, frame_fill(buf, stream, i, len), NULL) == 0) {
			i++;
			continue;
		}
		assert_true(now_ms() < deadline);
		vnd_wait(d, 10);
	}
}

void recv_frames(struct vnd *d, uint32_t stream, unsigned n, size_t len)
{
	static uint8_t buf[65536];
	uint64_t deadline = now_ms() + 10000;
	uint32_t seq;

	for (unsigned got = 0; got < n;) {
		ssize_t r = vnd_recv(d, buf, sizeof buf, NULL);

		if (r == -EAGAIN) {
			assert_true(now_ms() < deadline);
			vnd_wait(d, 10);
			continue;
		}
		assert_int_equal(r, (ssize_t)len);
		assert_true(frame_check(buf, (size_t)r, stream, &seq));
		got++;
	}
}

uint64_t scratch_gpa(struct vnd *d, size_t offset)
{
	size_t size;
	uint8_t *p = vnd_raw_scratch(d, &size);

	assert_true(offset < size);
	return vnd_raw_gpa(d, p + offset);
}

uint8_t *host_of(struct vnd *d, uint64_t gpa)
{
	uint8_t *p = vnd_raw_host(d, gpa, 1);

	assert_non_null(p);
	return p;
}
