/* SPDX-License-Identifier: MIT */
#include "link/capture_buf.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "link/capture_record.h"
#include "util/checked.h"

#define REC_HDR sizeof(struct vnp_cap_record)
#define END_RECORD (REC_HDR + sizeof(struct vnp_cap_end))
/* Kept free for the end record, a multiple of 8. */
#define END_RESERVE 64u

_Static_assert(REC_HDR == 16 && END_RECORD <= END_RESERVE, "record sizes");

static uint64_t align8(uint64_t v) { return (v + 7) & ~(uint64_t)7; }

int capture_buf_init(struct capture_buf *b, size_t size)
{
	void *mem;

	memset(b, 0, sizeof *b);
	if (!is_power_of_2(size) || size < 65536)
		return -EINVAL;
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	b->mem = mem;
	b->mask = size - 1;
	b->limit = size - END_RESERVE;
	return 0;
}

void capture_buf_free(struct capture_buf *b)
{
	if (b->mem)
		munmap(b->mem, b->mask + 1);
	b->mem = NULL;
}

/* Copy into the ring at pos, wrapping at its end. */
static void put(struct capture_buf *b, uint64_t pos, const void *src, size_t n)
{
	size_t off = pos & b->mask, first = MIN(n, b->mask + 1 - off);

	memcpy(b->mem + off, src, first);
	if (n > first)
		memcpy(b->mem, (const uint8_t *)src + first, n - first);
}

void capture_rec_begin(const struct capture_buf *b, struct capture_rec *r)
{
	r->start = b->head;
	r->pos = b->head + REC_HDR;
	r->overflow = b->ended;
}

void capture_rec_append(struct capture_buf *b, struct capture_rec *r, const void *p, size_t n)
{
	uint64_t frame = r->pos - r->start - REC_HDR;

	if (r->overflow)
		return;
	if (n > VNP_CAP_SNAPLEN - frame || r->pos + n - b->tail > b->limit) {
		r->overflow = true;
		return;
	}
	put(b, r->pos, p, n);
	r->pos += n;
}

void capture_rec_patch(struct capture_buf *b, const struct capture_rec *r, uint32_t offset,
		       const void *p, size_t n)
{
	uint64_t frame = r->pos - r->start - REC_HDR;

	if (!r->overflow && offset <= frame && n <= frame - offset)
		put(b, r->start + REC_HDR + offset, p, n);
}

void capture_rec_commit(struct capture_buf *b, struct capture_rec *r, unsigned from_port)
{
	static const uint8_t zeros[8];
	struct vnp_cap_record hdr = { .type = VNP_CAP_PACKET, .port = (uint8_t)from_port };
	uint64_t end = align8(r->pos);
	struct timespec ts;

	if (from_port >= CAPTURE_PORTS || b->ended)
		return;
	/* The tail is 8-aligned and so is the limit: end fits when pos does. */
	if (r->overflow || r->pos - b->tail > b->limit) {
		b->dropped[from_port]++;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	hdr.len = (uint32_t)(r->pos - r->start - REC_HDR);
	hdr.time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	put(b, r->start, &hdr, sizeof hdr);
	put(b, r->pos, zeros, end - r->pos);
	b->head = end;
	b->packets[from_port]++;
}

void capture_packet(struct capture_buf *b, unsigned from_port, const void *frame, size_t len)
{
	struct capture_rec r;

	capture_rec_begin(b, &r);
	capture_rec_append(b, &r, frame, len);
	capture_rec_commit(b, &r, from_port);
}

void capture_packetv(struct capture_buf *b, unsigned from_port, const struct iovec *iov,
		     int iovcnt)
{
	struct capture_rec r;

	capture_rec_begin(b, &r);
	for (int i = 0; i < iovcnt; i++)
		capture_rec_append(b, &r, iov[i].iov_base, iov[i].iov_len);
	capture_rec_commit(b, &r, from_port);
}

void capture_buf_end(struct capture_buf *b)
{
	struct vnp_cap_record hdr = { .type = VNP_CAP_END, .len = sizeof(struct vnp_cap_end) };
	struct vnp_cap_end end;
	struct timespec ts;

	if (b->ended)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	hdr.time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	memcpy(end.packets, b->packets, sizeof end.packets);
	memcpy(end.dropped, b->dropped, sizeof end.dropped);
	put(b, b->head, &hdr, sizeof hdr);
	put(b, b->head + REC_HDR, &end, sizeof end);
	b->head = align8(b->head + END_RECORD);
	b->ended = true;
}

size_t capture_buf_pending(const struct capture_buf *b, const uint8_t **p)
{
	uint64_t off = b->tail & b->mask;

	*p = b->mem + off;
	return (size_t)MIN(b->head - b->tail, b->mask + 1 - off);
}

void capture_buf_consume(struct capture_buf *b, size_t n)
{
	b->tail += MIN(n, b->head - b->tail);
}
