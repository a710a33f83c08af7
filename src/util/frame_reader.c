/* SPDX-License-Identifier: MIT */
#include "util/frame_reader.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "util/unix_socket.h"

#define FDS_AT_ONCE 8

void frame_reader_init(struct frame_reader *r, int sock, void *hdr, uint32_t hdr_size,
		       void *payload, uint32_t payload_max,
		       uint32_t (*payload_len)(const void *hdr), int *fds, int fds_max)
{
	*r = (struct frame_reader){ .sock = sock, .hdr = hdr, .hdr_size = hdr_size,
				    .payload = payload, .payload_max = payload_max,
				    .payload_len = payload_len, .fds = fds, .fds_max = fds_max };
	for (int i = 0; i < fds_max; i++)
		fds[i] = -1;
}

enum frame_read frame_read(struct frame_reader *r, char *err, size_t errlen)
{
	for (;;) {
		int fds[FDS_AT_ONCE];
		int nfds = 0;
		uint8_t *dst;
		uint32_t want;
		ssize_t n;

		if (r->have < r->hdr_size) {
			dst = (uint8_t *)r->hdr + r->have;
			want = r->hdr_size - r->have;
		} else {
			uint32_t len = r->payload_len(r->hdr);
			uint32_t got = r->have - r->hdr_size;

			/* Checked before a byte of the payload is read. */
			if (len > r->payload_max) {
				snprintf(err, errlen, "a message claims %u payload bytes (at most %u)",
					 len, r->payload_max);
				return FRAME_INVALID;
			}
			if (got == len)
				return FRAME_DONE;
			dst = (uint8_t *)r->payload + got;
			want = len - got;
		}
		n = unix_recv_fds(r->sock, dst, want, fds, &nfds, FDS_AT_ONCE, MSG_DONTWAIT);
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return FRAME_AGAIN;
		if (n == -EMSGSIZE || (n > 0 && r->nfds + nfds > r->fds_max)) {
			close_fds(fds, nfds);
			snprintf(err, errlen, "more than %d descriptors on one message", r->fds_max);
			return FRAME_INVALID;
		}
		if (n < 0) {
			snprintf(err, errlen, "receive failed: %s", strerror((int)-n));
			return FRAME_CLOSED;
		}
		if (n == 0) {
			close_fds(fds, nfds);
			snprintf(err, errlen, "closed by the peer");
			return FRAME_CLOSED;
		}
		memcpy(r->fds + r->nfds, fds, sizeof(int) * (size_t)nfds);
		r->nfds += nfds;
		r->have += (uint32_t)n;
		if (r->have == r->hdr_size)
			return FRAME_HEADER;
	}
}

void frame_reader_next(struct frame_reader *r)
{
	close_fds(r->fds, r->nfds); /* the slots become -1 */
	r->nfds = 0;
	r->have = 0;
}
