/* SPDX-License-Identifier: MIT */
#include "pcapng.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define BLOCK_SHB 0x0a0d0d0au
#define BLOCK_IDB 1u
#define BLOCK_ISB 5u
#define BLOCK_EPB 6u
#define BYTE_ORDER_MAGIC 0x1a2b3c4du

#define OPT_END 0
#define OPT_SHB_USERAPPL 4
#define OPT_IF_NAME 2
#define OPT_IF_DESCRIPTION 3
#define OPT_IF_TSRESOL 9
#define OPT_EPB_FLAGS 2
#define OPT_ISB_STARTTIME 2
#define OPT_ISB_ENDTIME 3
#define OPT_ISB_IFRECV 4
#define OPT_ISB_IFDROP 5

static uint32_t pad4(size_t n) { return (uint32_t)((n + 3) & ~(size_t)3); }

void pcapng_init(struct pcapng_writer *w, int fd, int (*abandoned)(void))
{
	w->fd = fd;
	w->err = 0;
	w->abandoned = abandoned;
	w->len = 0;
}

/* A signal may cut a write short (EINTR, or a partial count): each retry
 * first asks whether the output is given up. */
static void write_all(struct pcapng_writer *w, const uint8_t *p, size_t n)
{
	while (n && !w->err) {
		ssize_t k;

		if (w->abandoned && w->abandoned()) {
			w->err = ETIMEDOUT;
			return;
		}
		k = write(w->fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			w->err = errno;
			return;
		}
		p += k;
		n -= (size_t)k;
	}
}

int pcapng_flush(struct pcapng_writer *w)
{
	write_all(w, w->buf, w->len);
	w->len = 0;
	return w->err;
}

static void put(struct pcapng_writer *w, const void *p, size_t n)
{
	if (w->err || n == 0)
		return;
	if (n > sizeof w->buf - w->len)
		pcapng_flush(w);
	if (n >= sizeof w->buf) {
		write_all(w, p, n);
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void put32(struct pcapng_writer *w, uint32_t v) { put(w, &v, 4); }

static void put_zeros(struct pcapng_writer *w, size_t n)
{
	static const uint8_t zeros[4];

	put(w, zeros, n);
}

static void put_option(struct pcapng_writer *w, uint16_t code, const void *value, size_t len)
{
	uint16_t h[2] = { code, (uint16_t)len };

	put(w, h, sizeof h);
	put(w, value, len);
	put_zeros(w, pad4(len) - len);
}

static uint32_t option_size(size_t len) { return 4 + pad4(len); }

/* Timestamps as two 32-bit halves, high first. */
static void put_time(struct pcapng_writer *w, uint64_t t)
{
	put32(w, (uint32_t)(t >> 32));
	put32(w, (uint32_t)t);
}

void pcapng_section(struct pcapng_writer *w, const char *application)
{
	size_t alen = strlen(application);
	uint32_t len = 28 + option_size(alen) + 4;
	int64_t section_length = -1; /* not given */
	uint16_t version[2] = { 1, 0 };

	put32(w, BLOCK_SHB);
	put32(w, len);
	put32(w, BYTE_ORDER_MAGIC);
	put(w, version, sizeof version);
	put(w, &section_length, sizeof section_length);
	put_option(w, OPT_SHB_USERAPPL, application, alen);
	put_option(w, OPT_END, NULL, 0);
	put32(w, len);
}

void pcapng_interface(struct pcapng_writer *w, uint16_t linktype, uint32_t snaplen,
		      const char *name, const char *description)
{
	size_t nlen = strlen(name), dlen = strlen(description);
	uint8_t nanoseconds = 9; /* if_tsresol: 10^-9 s */
	uint32_t len = 20 + option_size(nlen) + option_size(dlen) + option_size(1) + 4;
	uint16_t type[2] = { linktype, 0 };

	put32(w, BLOCK_IDB);
	put32(w, len);
	put(w, type, sizeof type);
	put32(w, snaplen);
	put_option(w, OPT_IF_NAME, name, nlen);
	put_option(w, OPT_IF_DESCRIPTION, description, dlen);
	put_option(w, OPT_IF_TSRESOL, &nanoseconds, 1);
	put_option(w, OPT_END, NULL, 0);
	put32(w, len);
}

void pcapng_packet(struct pcapng_writer *w, uint32_t iface, uint64_t time_ns, uint32_t flags,
		   const void *frame, uint32_t len)
{
	uint32_t block = 32 + pad4(len) + option_size(4) + 4;

	put32(w, BLOCK_EPB);
	put32(w, block);
	put32(w, iface);
	put_time(w, time_ns);
	put32(w, len); /* captured */
	put32(w, len); /* on the wire */
	put(w, frame, len);
	put_zeros(w, pad4(len) - len);
	put_option(w, OPT_EPB_FLAGS, &flags, 4);
	put_option(w, OPT_END, NULL, 0);
	put32(w, block);
}

void pcapng_stats(struct pcapng_writer *w, uint32_t iface, uint64_t start_ns, uint64_t end_ns,
		  uint64_t received, uint64_t dropped)
{
	uint32_t len = 24 + 4 * option_size(8) + 4;
	uint32_t start[2] = { (uint32_t)(start_ns >> 32), (uint32_t)start_ns };
	uint32_t end[2] = { (uint32_t)(end_ns >> 32), (uint32_t)end_ns };

	put32(w, BLOCK_ISB);
	put32(w, len);
	put32(w, iface);
	put_time(w, end_ns);
	put_option(w, OPT_ISB_STARTTIME, start, sizeof start);
	put_option(w, OPT_ISB_ENDTIME, end, sizeof end);
	put_option(w, OPT_ISB_IFRECV, &received, 8);
	put_option(w, OPT_ISB_IFDROP, &dropped, 8);
	put_option(w, OPT_END, NULL, 0);
	put32(w, len);
}
