/* SPDX-License-Identifier: MIT */
#include "vhost/vu_conn.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/unix_socket.h"

static uint32_t vu_payload_len(const void *hdr)
{
	const struct vhost_user_header *h = hdr;

	return h->size;
}

void vu_conn_init(struct vu_conn *c, int fd)
{
	memset(c, 0, sizeof *c);
	c->fd = fd;
	frame_reader_init(&c->in, fd, &c->msg.hdr, sizeof c->msg.hdr, c->msg.payload,
			  VHOST_USER_PAYLOAD_MAX, vu_payload_len, c->msg.fds, VHOST_USER_MAX_FDS);
}

enum vu_read vu_conn_read(struct vu_conn *c, char *err, size_t errlen)
{
	for (;;) {
		switch (frame_read(&c->in, err, errlen)) {
		case FRAME_HEADER:
			continue; /* the handler table checks the header whole */
		case FRAME_DONE:
			c->msg.nfds = c->in.nfds;
			return VU_READ_MESSAGE;
		case FRAME_AGAIN:
			return VU_READ_AGAIN;
		case FRAME_CLOSED:
			return VU_READ_CLOSED;
		case FRAME_INVALID:
			return VU_READ_INVALID;
		}
	}
}

void vu_conn_msg_done(struct vu_conn *c)
{
	frame_reader_next(&c->in);
	c->msg.nfds = 0;
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
	c->in.sock = -1;
}
