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

#define FRAME_HEAD 16

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
