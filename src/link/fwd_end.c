/* SPDX-License-Identifier: MIT */
#include "link/fwd_end.h"

#include <string.h>

bool fwd_read_header(struct vq_chain *c, uint8_t *hdr, unsigned len, enum vq_error *err)
{
	for (unsigned off = 0; off < len;) {
		uint8_t *p;
		uint32_t n;

		*err = vq_chain_next(c, len - off, &p, &n);
		if (*err || n == 0)
			return false;
		memcpy(hdr + off, p, n);
		off += n;
	}
	return true;
}

void fwd_count_drop(struct fwd_end *e, uint64_t *counter, const char *why)
{
	(*counter)++;
	log_limited(e->ratelimit, LOG_LVL_INFO, "%s: dropped a packet: %s", e->name, why);
}
