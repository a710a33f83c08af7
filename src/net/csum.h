/* SPDX-License-Identifier: MIT */
/*
 * The Internet checksum (RFC 1071) over a byte stream that arrives in
 * pieces of any length, for completing VIRTIO_NET_HDR_F_NEEDS_CSUM on
 * behalf of a receiver that did not negotiate GUEST_CSUM.
 */
#ifndef VNP_CSUM_H
#define VNP_CSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct csum_acc {
	uint64_t sum;
	bool odd; /* an odd number of bytes was added so far */
};

void csum_add(struct csum_acc *acc, const uint8_t *p, size_t len);
/* The checksum to store (in memory order, ready for memcpy); 0 becomes
 * 0xffff, which means the same and is what UDP requires. */
uint16_t csum_finish(const struct csum_acc *acc);
/* The folded sum itself, not inverted, in memory order: what a partial
 * checksum (NEEDS_CSUM) leaves in the field for the rest to be added to. */
uint16_t csum_fold(const struct csum_acc *acc);

#endif
