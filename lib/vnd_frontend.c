/* SPDX-License-Identifier: MIT */
/*
 * vhost-user requests from the frontend's side, one at a time. Every wait
 * for the device has a deadline, so a dead or silent server fails a call
 * instead of hanging it.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "util/unix_socket.h"
#include "vhost/vhost_user_proto.h"
#include "vnd_internal.h"

/* Larger replies than any request has are a broken device. */
#define REPLY_MAX 4096u

void vnd_set_error(struct vnd *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, sizeof d->err, fmt, ap);
	va_end(ap);
}

const char *vnd_request_name(uint32_t request)
{
	static const char *const names[] = {
		[VHOST_USER_GET_FEATURES] = "GET_FEATURES",
		[VHOST_USER_SET_FEATURES] = "SET_FEATURES",
		[VHOST_USER_SET_OWNER] = "SET_OWNER",
		[VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
		[VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
		[VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
		[VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
		[VHOST_USER_GET_VRING_BASE] = "GET_VRING_BASE",
		[VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
		[VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
		[VHOST_USER_SET_VRING_ERR] = "SET_VRING_ERR",
		[VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
		[VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
		[VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
		[VHOST_USER_GET_CONFIG] = "GET_CONFIG",
		[VHOST_USER_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
		[VHOST_USER_ADD_MEM_REG] = "ADD_MEM_REG",
	};

	if (request < sizeof names / sizeof names[0] && names[request])
		return names[request];
	return "an unknown request";
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until the socket is ready for events, or the deadline passes. */
static int wait_socket(int sock, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = sock, .events = events };
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* The fds go with the first bytes. A device that stops reading fails the
 * call at the deadline. */
static int send_all(int sock, const uint8_t *buf, size_t len, const int *fds, int nfds)
{
	int64_t deadline = now_ms() + VND_REPLY_TIMEOUT_MS;

	while (len) {
		ssize_t n = unix_send_fds(sock, buf, len, fds, nfds, MSG_DONTWAIT);
		int rc;

		if (n == -EAGAIN) {
			rc = wait_socket(sock, POLLOUT, deadline);
			if (rc < 0)
				return rc;
			continue;
		}
		if (n < 0)
			return (int)n;
		buf += n;
		len -= (size_t)n;
		nfds = 0;
	}
	return 0;
}

static int send_message(struct vnd *d, uint32_t request, uint32_t flags, const void *payload,
			uint32_t size, const int *fds, int nfds)
{
	struct vhost_user_header hdr = { .request = request, .flags = flags, .size = size };
	uint8_t small[sizeof hdr + VHOST_USER_PAYLOAD_MAX];
	size_t total = sizeof hdr + (size_t)size;
	uint8_t *buf = total <= sizeof small ? small : malloc(total);
	int rc;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, &hdr, sizeof hdr);
	if (size)
		memcpy(buf + sizeof hdr, payload, size);
	rc = send_all(d->sock, buf, total, fds, nfds);
	if (buf != small)
		free(buf);
	return rc;
}

/* Exactly len bytes, or up to len into a NULL buf (discarded). */
static int recv_all(struct vnd *d, void *buf, size_t len, int64_t deadline)
{
	uint8_t discard[256];
	size_t have = 0;

	while (have < len) {
		int fds[VHOST_USER_MAX_FDS], nfds = 0, rc;
		size_t want = len - have;
		uint8_t *to = buf ? (uint8_t *)buf + have : discard;
		ssize_t n;

		if (!buf && want > sizeof discard)
			want = sizeof discard;
		rc = wait_socket(d->sock, POLLIN, deadline);
		if (rc < 0)
			return rc;
		n = unix_recv_fds(d->sock, to, want, fds, &nfds, VHOST_USER_MAX_FDS, MSG_DONTWAIT);
		close_fds(fds, nfds); /* no reply we ask for carries fds */
		if (n == -EAGAIN)
			continue;
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -ECONNRESET;
		have += (size_t)n;
	}
	return 0;
}

/* The reply to request: its payload size, up to reply_cap bytes of it kept. */
static int recv_reply(struct vnd *d, uint32_t request, void *reply, uint32_t reply_cap)
{
	int64_t deadline = now_ms() + VND_REPLY_TIMEOUT_MS;
	struct vhost_user_header hdr;
	uint32_t keep;
	int rc;

	rc = recv_all(d, &hdr, sizeof hdr, deadline);
	if (rc < 0)
		return rc;
	if (hdr.request != request || !(hdr.flags & VHOST_USER_REPLY_MASK) ||
	    (hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION || hdr.size > REPLY_MAX)
		return -EPROTO;
	keep = hdr.size < reply_cap ? hdr.size : reply_cap;
	rc = recv_all(d, reply, keep, deadline);
	if (rc == 0)
		rc = recv_all(d, NULL, hdr.size - keep, deadline);
	return rc < 0 ? rc : (int)hdr.size;
}

int vnd_request_raw(struct vnd *d, uint32_t request, uint32_t flags, const void *payload,
		    uint32_t size, const int *fds, int nfds, void *reply, uint32_t reply_cap)
{
	int rc = send_message(d, request, flags, payload, size, fds, nfds);

	if (rc < 0 || !reply)
		return rc;
	return recv_reply(d, request, reply, reply_cap);
}

static bool has_own_reply(uint32_t request)
{
	switch (request) {
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_GET_QUEUE_NUM:
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_GET_MAX_MEM_SLOTS:
		return true;
	}
	return false;
}

int vnd_request(struct vnd *d, uint32_t request, const void *payload, uint32_t size,
		const int *fds, int nfds, void *reply, uint32_t reply_size)
{
	bool own = has_own_reply(request);
	bool ack = !own && (d->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK));
	uint32_t flags = VHOST_USER_VERSION | (ack ? VHOST_USER_NEED_REPLY_MASK : 0);
	uint64_t status = 0;
	int rc;

	rc = send_message(d, request, flags, payload, size, fds, nfds);
	if (rc < 0) {
		vnd_set_error(d, "%s: cannot send: %s", vnd_request_name(request), strerror(-rc));
		return rc;
	}
	if (!own && !ack)
		return 0;
	rc = own ? recv_reply(d, request, reply, reply_size)
		 : recv_reply(d, request, &status, sizeof status);
	if (rc < 0) {
		vnd_set_error(d, "%s: no valid reply: %s", vnd_request_name(request), strerror(-rc));
		return rc;
	}
	if ((uint32_t)rc != (own ? reply_size : sizeof status)) {
		vnd_set_error(d, "%s: reply of %d bytes", vnd_request_name(request), rc);
		return -EPROTO;
	}
	if (status != 0) {
		vnd_set_error(d, "%s refused by the device (ack %llu)", vnd_request_name(request),
			      (unsigned long long)status);
		return -EIO;
	}
	return 0;
}
