/* SPDX-License-Identifier: MIT */
#include "ctl/capture_reader.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#define RECORD_MAX (((sizeof(struct vnp_cap_record) + VNP_CAP_SNAPLEN) + 7) & ~(size_t)7)

_Static_assert(CAPTURE_READER_BUF >= 2 * RECORD_MAX, "the reader holds any record");

void capture_reader_init(struct capture_reader *r, int sock)
{
	r->sock = sock;
	r->start = r->end = 0;
}

ssize_t capture_reader_fill(struct capture_reader *r)
{
	ssize_t n;

	/* Keep room for a whole record of the largest size. */
	if (r->start && sizeof r->buf - r->end < RECORD_MAX) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	do
		n = recv(r->sock, r->buf + r->end, sizeof r->buf - r->end, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	r->end += (size_t)n;
	return n;
}

static bool well_formed(const struct vnp_cap_record *rec)
{
	if (rec->pad != 0)
		return false;
	switch (rec->type) {
	case VNP_CAP_PACKET:
		return rec->port < 2 && rec->len <= VNP_CAP_SNAPLEN;
	case VNP_CAP_END:
		return rec->port == 0 && rec->len == sizeof(struct vnp_cap_end);
	}
	return false;
}

int capture_reader_next(struct capture_reader *r, struct vnp_cap_record *rec,
			const uint8_t **data)
{
	size_t have = r->end - r->start, total;
	const uint8_t *p = r->buf + r->start;

	if (have < sizeof *rec)
		return 0;
	memcpy(rec, p, sizeof *rec);
	if (!well_formed(rec))
		return -EPROTO;
	/* len is at most VNP_CAP_SNAPLEN here: no overflow. */
	total = (sizeof *rec + rec->len + 7) & ~(size_t)7;
	if (have < total)
		return 0;
	for (size_t i = sizeof *rec + rec->len; i < total; i++)
		if (p[i] != 0)
			return -EPROTO;
	*data = p + sizeof *rec;
	r->start += total;
	return 1;
}
