/* SPDX-License-Identifier: MIT */
/*
 * A pcapng writer (the blocks tcpdump and Wireshark read): a section
 * header, interface descriptions, enhanced packet blocks with a direction,
 * and interface statistics. Host byte order, as the format allows.
 * Writes are buffered; the first error sticks and stops further output.
 */
#ifndef VNP_PCAPNG_H
#define VNP_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

#define PCAPNG_LINKTYPE_ETHERNET 1
/* epb_flags, bits 0-1 */
#define PCAPNG_INBOUND 1u
#define PCAPNG_OUTBOUND 2u

struct pcapng_writer {
	int fd;
	int err;              /* errno of the first failed write; 0 if none */
	int (*abandoned)(void); /* asked before each write: nonzero gives up (ETIMEDOUT) */
	size_t len;
	uint8_t buf[65536];
};

void pcapng_init(struct pcapng_writer *w, int fd, int (*abandoned)(void));
void pcapng_section(struct pcapng_writer *w, const char *application);
/* Interfaces are numbered from 0 in the order they are described;
 * timestamps are in nanoseconds. */
void pcapng_interface(struct pcapng_writer *w, uint16_t linktype, uint32_t snaplen,
		      const char *name, const char *description);
void pcapng_packet(struct pcapng_writer *w, uint32_t iface, uint64_t time_ns, uint32_t flags,
		   const void *frame, uint32_t len);
/* Counts since start_ns: frames the interface saw, and those not captured. */
void pcapng_stats(struct pcapng_writer *w, uint32_t iface, uint64_t start_ns, uint64_t end_ns,
		  uint64_t received, uint64_t dropped);
/* Write out what is buffered; returns w->err. */
int pcapng_flush(struct pcapng_writer *w);

#endif
