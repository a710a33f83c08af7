/* SPDX-License-Identifier: MIT */
/* vhost-user requests from the frontend's side, one at a time. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/unix_socket.h"
#include "vhost/vhost_user_proto.h"
#include "vnd_internal.h"

void vnd_set_error(struct vnd *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, sizeof d->err, fmt, ap);
	va_end(ap);
}

static int send_message(struct vnd *d, uint32_t request, uint32_t flags, const void *payload,
			uint32_t size, const int *fds, int nfds)
{
	uint8_t buf[sizeof(struct vhost_user_header) + VHOST_USER_PAYLOAD_MAX];
	struct vhost_user_header hdr = { .request = request, .flags = flags, .size = size };
	ssize_t n;

	if (size > VHOST_USER_PAYLOAD_MAX)
		return -EMSGSIZE;
	memcpy(buf, &hdr, sizeof hdr);
	if (size)
		memcpy(buf + sizeof hdr, payload, size);
	n = unix_send_fds(d->sock, buf, sizeof hdr + size, fds, nfds, 0);
	if (n < 0)
		return (int)n;
	return (size_t)n == sizeof hdr + size ? 0 : -EIO;
}

static int recv_exact(struct vnd *d, void *buf, size_t len)
{
	size_t have = 0;

	while (have < len) {
		struct pollfd pfd = { .fd = d->sock, .events = POLLIN };
		int fds[8], nfds = 0;
		ssize_t n;

		if (poll(&pfd, 1, VND_REPLY_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		n = unix_recv_fds(d->sock, (uint8_t *)buf + have, len - have, fds, &nfds, 8, 0);
		close_fds(fds, nfds); /* a device has no business sending us fds */
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -ECONNRESET;
		have += (size_t)n;
	}
	return 0;
}

/* A reply to request: checks flags and code; payload up to reply_cap. */
static int recv_reply(struct vnd *d, uint32_t request, void *reply, uint32_t reply_cap)
{
	struct vhost_user_header hdr;
	uint8_t payload[VHOST_USER_PAYLOAD_MAX];
	int rc;

	rc = recv_exact(d, &hdr, sizeof hdr);
	if (rc < 0)
		return rc;
	if (hdr.request != request || !(hdr.flags & VHOST_USER_REPLY_MASK) ||
	    hdr.size > sizeof payload)
		return -EPROTO;
	rc = recv_exact(d, payload, hdr.size);
	if (rc < 0)
		return rc;
	memcpy(reply, payload, hdr.size < reply_cap ? hdr.size : reply_cap);
	return (int)hdr.size;
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

/*
 * One request. Requests with a reply of their own must get exactly
 * reply_size bytes back; the others, once REPLY_ACK is negotiated, ask for
 * an acknowledgement and fail when the device refuses.
 */
int vnd_request(struct vnd *d, uint32_t request, const void *payload, uint32_t size,
		const int *fds, int nfds, void *reply, uint32_t reply_size)
{
	bool ack = !has_own_reply(request) &&
		   (d->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK));
	uint32_t flags = VHOST_USER_VERSION | (ack ? VHOST_USER_NEED_REPLY_MASK : 0);
	uint64_t status = 0;
	int rc;

	rc = send_message(d, request, flags, payload, size, fds, nfds);
	if (rc < 0) {
		vnd_set_error(d, "request %u: cannot send: %s", request, strerror(-rc));
		return rc;
	}
	if (has_own_reply(request)) {
		rc = recv_reply(d, request, reply, reply_size);
		if (rc >= 0 && (uint32_t)rc != reply_size)
			rc = -EPROTO;
	} else if (ack) {
		rc = recv_reply(d, request, &status, sizeof status);
		if (rc >= 0 && rc != (int)sizeof status)
			rc = -EPROTO;
		else if (rc >= 0 && status != 0)
			rc = -EIO;
	}
	if (rc < 0) {
		vnd_set_error(d, "request %u %s: %s", request,
			      rc == -EIO ? "refused by the device" : "failed", strerror(-rc));
		return rc;
	}
	return 0;
}
