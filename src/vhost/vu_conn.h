/* SPDX-License-Identifier: MIT */
/*
 * A vhost-user connection: messages read with util/frame_reader (a
 * header, its payload, the descriptors that came with them), replies sent
 * without blocking.
 */
#ifndef VNP_VU_CONN_H
#define VNP_VU_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "util/frame_reader.h"
#include "vhost/vhost_user_proto.h"

struct vu_msg {
	struct vhost_user_header hdr;
	uint8_t payload[VHOST_USER_PAYLOAD_MAX];
	int fds[VHOST_USER_MAX_FDS];
	int nfds;
};

struct vu_conn {
	int fd;
	struct frame_reader in; /* reads into msg (it points there: never copy a vu_conn) */
	struct vu_msg msg;
};

enum vu_read {
	VU_READ_AGAIN,   /* no complete message yet */
	VU_READ_MESSAGE, /* conn->msg is complete; its fds are the caller's */
	VU_READ_CLOSED,  /* the peer closed the connection */
	VU_READ_INVALID, /* framing violation; reason in err */
};

void vu_conn_init(struct vu_conn *c, int fd);
/* Read on until one message is complete. */
enum vu_read vu_conn_read(struct vu_conn *c, char *err, size_t errlen);
/* Forget the current message and close descriptors nobody took. */
void vu_conn_msg_done(struct vu_conn *c);
/* Send a reply without blocking; a peer that does not read its replies
 * gets -EAGAIN and should be disconnected. */
int vu_conn_send(struct vu_conn *c, const void *buf, size_t len);
/* Close the socket and any descriptors still held. */
void vu_conn_close(struct vu_conn *c);

#endif
