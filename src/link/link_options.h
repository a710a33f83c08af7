/* SPDX-License-Identifier: MIT */
/* What the server's options say about every port of its link. */
#ifndef VNP_LINK_OPTIONS_H
#define VNP_LINK_OPTIONS_H

#include <stdint.h>

struct trusted_mem;

struct link_options {
	unsigned max_queue_size;         /* -s */
	unsigned poll_usec;              /* -p; 0: event-driven */
	const struct trusted_mem *trusted; /* -d */
	uint64_t mem_max;                /* a port's mem-max unless its create says; 0: default */
};

#endif
