/* SPDX-License-Identifier: MIT */
/*
 * A chain walk's use of each descriptor, the same for both ring formats:
 * the buffer checked whole against the client's memory once, then handed
 * out in pieces that are contiguous in our mapping.
 */
#include "util/checked.h"
#include "virtio/vq_format.h"

/* Translate the next part of the current descriptor, which was checked
 * as a whole when loaded. */
enum vq_error chain_next_chunk(struct vq_chain *c)
{
	uint64_t contig;

	c->ptr = gm_gpa_to_host(c->vq->mem, c->addr, c->left, &contig);
	if (!c->ptr)
		return VQ_ERR_ADDR; /* the memory table changed under a walk: cannot happen */
	c->chunk = (uint32_t)contig;
	c->addr += contig;
	c->left -= (uint32_t)contig;
	return VQ_OK;
}

enum vq_error chain_use_desc(struct vq_chain *c, const struct vq_desc *d)
{
	uint64_t contig;

	if (!!(d->flags & VRING_DESC_F_WRITE) != c->device_writes)
		return VQ_ERR_DIRECTION;
	/* An empty buffer's address is never used: it may be anything. */
	if (d->len == 0)
		return VQ_OK;
	/* The whole buffer now, not just the bytes a packet happens to use. */
	if (!range_fits_u64(d->addr, d->len))
		return VQ_ERR_ADDR;
	c->ptr = gm_gpa_to_host(c->vq->mem, d->addr, d->len, &contig);
	if (!c->ptr ||
	    (contig < d->len && !gm_gpa_valid(c->vq->mem, d->addr + contig, d->len - contig)))
		return VQ_ERR_ADDR;
	c->chunk = (uint32_t)contig;
	c->addr = d->addr + contig;
	c->left = d->len - (uint32_t)contig;
	return VQ_OK;
}

