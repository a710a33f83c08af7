/* SPDX-License-Identifier: MIT */
#include "ctl/ctl_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl_send.h"
#include "util/unix_socket.h"

#define REPLY_TIMEOUT_MS 10000

int ctl_connect(const char *svr_path)
{
	return unix_connect(svr_path);
}

/* Read exactly len bytes, collecting at most one descriptor. */
static int recv_exact(int sock, void *buf, size_t len, int *fd)
{
	size_t have = 0;

	while (have < len) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		int fds[1], nfds = 0;
		ssize_t n;

		if (poll(&pfd, 1, REPLY_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		n = unix_recv_fds(sock, (uint8_t *)buf + have, len - have, fds, &nfds, 1, 0);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -ECONNRESET;
		if (nfds) {
			if (*fd >= 0)
				close(*fd);
			*fd = fds[0];
		}
		have += (size_t)n;
	}
	return 0;
}

/* Wait for the reply to op: payload into buf (up to cap), fd if any. */
static int recv_reply(int sock, uint16_t op, void *buf, uint32_t cap, uint32_t *len, int *fd,
		      char *msg, size_t msglen)
{
	struct vnp_ctl_header hdr;
	uint8_t payload[VNP_CTL_PAYLOAD_MAX];
	int rc;

	*fd = -1;
	rc = recv_exact(sock, &hdr, sizeof hdr, fd);
	if (rc == 0 && hdr.magic == VNP_CTL_MAGIC && hdr.version != VNP_CTL_VERSION) {
		snprintf(msg, msglen,
			 "the server speaks control protocol version %u, this program version %u "
			 "(use the vnet-p2p-ctl of the server's release)",
			 hdr.version, VNP_CTL_VERSION);
		rc = -EPROTO;
		goto fail;
	}
	if (rc == 0 && (hdr.magic != VNP_CTL_MAGIC || hdr.op != op || hdr.len > sizeof payload))
		rc = -EPROTO;
	if (rc == 0)
		rc = recv_exact(sock, payload, hdr.len, fd);
	if (rc < 0) {
		snprintf(msg, msglen, "no valid reply from the server: %s", strerror(-rc));
		goto fail;
	}
	if (hdr.status < 0) {
		snprintf(msg, msglen, "%.*s", (int)hdr.len, (const char *)payload);
		rc = hdr.status;
		goto fail;
	}
	*len = hdr.len < cap ? hdr.len : cap;
	memcpy(buf, payload, *len);
	if (hdr.len > cap)
		snprintf(msg, msglen, "%.*s", (int)(hdr.len - cap), (const char *)payload + cap);
	else if (msglen)
		msg[0] = '\0';
	return 0;
fail:
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return rc;
}

int ctl_create(int sock, const char *const *args, int nargs, int listen_fd,
	       struct vnp_ctl_created *out, int *port_fd, char *msg, size_t msglen)
{
	uint8_t payload[VNP_CTL_PAYLOAD_MAX];
	uint32_t type = 0, len = sizeof type, got = 0;
	int rc;

	memcpy(payload, &type, sizeof type);
	for (int i = 0; i < nargs; i++) {
		size_t n = strlen(args[i]) + 1;

		if (n > sizeof payload - len) {
			snprintf(msg, msglen, "create arguments longer than %u bytes",
				 VNP_CTL_PAYLOAD_MAX);
			return -E2BIG;
		}
		memcpy(payload + len, args[i], n);
		len += (uint32_t)n;
	}
	rc = ctl_send(sock, VNP_CTL_CREATE, 0, payload, len, listen_fd, 0);
	if (rc < 0) {
		snprintf(msg, msglen, "cannot send the request: %s", strerror(-rc));
		return rc;
	}
	memset(out, 0, sizeof *out);
	rc = recv_reply(sock, VNP_CTL_CREATE, out, sizeof *out, &got, port_fd, msg, msglen);
	if (rc == 0 && got < sizeof *out) {
		snprintf(msg, msglen, "short create reply");
		if (*port_fd >= 0)
			close(*port_fd);
		*port_fd = -1;
		rc = -EPROTO;
	}
	return rc;
}

/* A request without payload whose reply is one fixed-size structure and
 * no descriptor. */
static int fixed_reply_request(int sock, uint16_t op, void *out, uint32_t size, uint32_t *got,
			       char *msg, size_t msglen)
{
	int fd, rc;

	rc = ctl_send(sock, op, 0, NULL, 0, -1, 0);
	if (rc < 0) {
		snprintf(msg, msglen, "cannot send the request: %s", strerror(-rc));
		return rc;
	}
	memset(out, 0, size);
	*got = 0;
	rc = recv_reply(sock, op, out, size, got, &fd, msg, msglen);
	if (fd >= 0)
		close(fd);
	return rc;
}

int ctl_status(int sock, struct vnp_ctl_status *out, char *msg, size_t msglen)
{
	uint32_t got;
	int rc;

	rc = fixed_reply_request(sock, VNP_CTL_STATUS, out, sizeof *out, &got, msg, msglen);
	if (rc == 0 && got != sizeof *out) {
		snprintf(msg, msglen, "status reply of unexpected size");
		rc = -EPROTO;
	}
	for (unsigned i = 0; i < 2; i++) {
		out->port[i].listen_path[sizeof out->port[i].listen_path - 1] = '\0';
		out->port[i].last_error[sizeof out->port[i].last_error - 1] = '\0';
		out->port[i].tap_name[sizeof out->port[i].tap_name - 1] = '\0';
	}
	return rc;
}

int ctl_capture_start(int sock, struct vnp_ctl_capture_info *info, char *msg, size_t msglen)
{
	uint32_t got;
	int rc;

	rc = fixed_reply_request(sock, VNP_CTL_CAPTURE, info, sizeof *info, &got, msg, msglen);
	if (rc == 0 && (got != sizeof *info || info->snaplen > VNP_CAP_SNAPLEN)) {
		snprintf(msg, msglen, "capture reply of unexpected form");
		rc = -EPROTO;
	}
	return rc;
}
