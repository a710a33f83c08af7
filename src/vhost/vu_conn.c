/* SPDX-License-Identifier: MIT */
#include "vhost/vu_conn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/unix_socket.h"

#define HDR_SIZE ((uint32_t)sizeof(struct vhost_user_header))

void vu_conn_init(struct vu_conn *c, int fd)
{
	memset(c, 0, sizeof *c);
	c->fd = fd;
	for (int i = 0; i < VHOST_USER_MAX_FDS; i++)
		c->msg.fds[i] = -1;
}

enum vu_read vu_conn_read(struct vu_conn *c, char *err, size_t errlen)
{
	for (;;) {
		uint8_t *dst;
		uint32_t want;
		int fds[VHOST_USER_MAX_FDS];
		int nfds = 0;
		ssize_t n;

		if (c->have < HDR_SIZE) {
			dst = (uint8_t *)&c->msg.hdr + c->have;
			want = HDR_SIZE - c->have;
		} else {
			uint32_t got = c->have - HDR_SIZE;

			/* Checked before a byte of the payload is read. */
			if (c->msg.hdr.size > VHOST_USER_PAYLOAD_MAX) {
				snprintf(err, errlen, "message %u claims %u payload bytes (at most %u)",
					 c->msg.hdr.request, c->msg.hdr.size, VHOST_USER_PAYLOAD_MAX);
				return VU_READ_INVALID;
			}
			if (got == c->msg.hdr.size)
				return VU_READ_MESSAGE;
			dst = c->msg.payload + got;
			want = c->msg.hdr.size - got;
		}
		n = unix_recv_fds(c->fd, dst, want, fds, &nfds, VHOST_USER_MAX_FDS, MSG_DONTWAIT);
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return VU_READ_AGAIN;
		if (n == -EMSGSIZE) {
			snprintf(err, errlen, "more than %d descriptors on one message",
				 VHOST_USER_MAX_FDS);
			return VU_READ_INVALID;
		}
		if (n < 0) {
			snprintf(err, errlen, "receive failed: %s", strerror((int)-n));
			return VU_READ_CLOSED;
		}
		if (n == 0) {
			close_fds(fds, nfds);
			return VU_READ_CLOSED;
		}
		if (c->msg.nfds + nfds > VHOST_USER_MAX_FDS) {
			close_fds(fds, nfds);
			snprintf(err, errlen, "more than %d descriptors on one message",
				 VHOST_USER_MAX_FDS);
			return VU_READ_INVALID;
		}
		memcpy(c->msg.fds + c->msg.nfds, fds, sizeof(int) * (size_t)nfds);
		c->msg.nfds += nfds;
		c->have += (uint32_t)n;
	}
}

void vu_conn_msg_done(struct vu_conn *c)
{
	close_fds(c->msg.fds, c->msg.nfds);
	c->msg.nfds = 0;
	c->have = 0;
}

int vu_conn_send(struct vu_conn *c, const void *buf, size_t len)
{
	ssize_t n = unix_send_fds(c->fd, buf, len, NULL, 0, MSG_DONTWAIT);

	if (n < 0)
		return (int)n;
	/* A partial reply means the peer's receive queue is full of replies
	 * it does not read. */
	return (size_t)n == len ? 0 : -EAGAIN;
}

void vu_conn_close(struct vu_conn *c)
{
	vu_conn_msg_done(c);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
