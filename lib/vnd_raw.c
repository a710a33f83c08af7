/* SPDX-License-Identifier: MIT */
/* Test-only access to a driver's insides (vnd_raw.h). */
#include <errno.h>
#include <sys/eventfd.h>

#include "vnd_internal.h"
#include "vnd_raw.h"

int vnd_raw_ring(struct vnd *d, unsigned q, struct vnd_raw_ring *out)
{
	if (q >= d->rings)
		return -EINVAL;
	out->desc = d->q[q].desc;
	out->avail = d->q[q].avail;
	out->used = d->q[q].used;
	out->num = d->q[q].num;
	out->packed = d->packed;
	out->ring = d->packed ? d->pq[q].ring : NULL;
	out->driver_event = d->packed ? d->pq[q].driver_event : NULL;
	out->device_event = d->packed ? d->pq[q].device_event : NULL;
	return 0;
}

void *vnd_raw_scratch(struct vnd *d, size_t *size)
{
	*size = VND_SCRATCH_SIZE;
	return d->scratch;
}

uint64_t vnd_raw_gpa(struct vnd *d, const void *host)
{
	uintptr_t p = (uintptr_t)host, base = (uintptr_t)d->mem.base;

	if (p < base || p - base >= d->mem.size)
		return UINT64_MAX;
	return VND_GPA_BASE + (p - base);
}

void *vnd_raw_host(struct vnd *d, uint64_t gpa, size_t len)
{
	if (gpa < VND_GPA_BASE || gpa - VND_GPA_BASE > d->mem.size ||
	    len > d->mem.size - (gpa - VND_GPA_BASE))
		return NULL;
	return d->mem.base + (gpa - VND_GPA_BASE);
}

int vnd_raw_sock(struct vnd *d) { return d->sock; }

int vnd_raw_memfd(struct vnd *d, unsigned region, uint64_t *offset, uint64_t *size)
{
	if (region >= d->mem.count)
		return -EINVAL;
	*offset = d->mem.region[region].file_offset;
	*size = d->mem.region[region].size;
	return d->mem.region[region].fd;
}

int vnd_raw_request(struct vnd *d, uint32_t request, uint32_t flags, const void *payload,
		    uint32_t size, const int *fds, int nfds, void *reply, uint32_t reply_cap)
{
	return vnd_request_raw(d, request, flags, payload, size, fds, nfds, reply, reply_cap);
}

int vnd_raw_take_descs(struct vnd *d, unsigned q, unsigned count, uint16_t *ids)
{
	if (q >= d->rings || vnd_queue_take(&d->q[q], count, ids))
		return -ENOSPC;
	return 0;
}

void vnd_raw_publish(struct vnd *d, unsigned q, uint16_t head)
{
	if (q >= d->rings)
		return;
	vnd_queue_put(&d->q[q], head);
	vnd_queue_flush(&d->q[q]);
	if (d->q[q].kick_fd >= 0)
		(void)!eventfd_write(d->q[q].kick_fd, 1);
}

int vnd_raw_packed_take(struct vnd *d, unsigned q, unsigned n, struct vnd_raw_chain *c)
{
	if (q >= d->rings || !d->packed)
		return -EINVAL;
	if (vnd_pq_take_raw(&d->pq[q], n, &c->slot, &c->wrap, &c->id))
		return -ENOSPC;
	c->n = n;
	return 0;
}

struct vring_packed_desc *vnd_raw_packed_slot(struct vnd *d, unsigned q,
					      const struct vnd_raw_chain *c, unsigned k,
					      uint16_t *avail)
{
	unsigned num = d->pq[q].num, s = c->slot + k;
	bool wrap = c->wrap;

	if (s >= num) {
		s -= num;
		wrap = !wrap;
	}
	*avail = wrap ? 1u << VRING_PACKED_DESC_F_AVAIL : 1u << VRING_PACKED_DESC_F_USED;
	return &d->pq[q].ring[s];
}

void vnd_raw_packed_post(struct vnd *d, unsigned q, const struct vnd_raw_chain *c,
			 const struct vring_packed_desc *descs)
{
	uint16_t first = 0;

	for (unsigned k = 0; k < c->n; k++) {
		uint16_t avail;
		struct vring_packed_desc *p = vnd_raw_packed_slot(d, q, c, k, &avail);

		p->addr = descs[k].addr;
		p->len = descs[k].len;
		p->id = descs[k].id;
		if (k == 0)
			first = (uint16_t)(descs[k].flags | avail);
		else
			__atomic_store_n(&p->flags, (uint16_t)(descs[k].flags | avail), __ATOMIC_RELAXED);
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&d->pq[q].ring[c->slot].flags, first, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (d->q[q].kick_fd >= 0)
		(void)!eventfd_write(d->q[q].kick_fd, 1);
}

uint32_t vnd_raw_position(struct vnd *d, unsigned q)
{
	if (q >= d->rings)
		return 0;
	return d->packed ? vnd_pq_base(&d->pq[q]) : d->q[q].avail_idx;
}

int vnd_raw_ring_stop(struct vnd *d, unsigned q, uint32_t *base)
{
	if (q >= d->rings)
		return -EINVAL;
	return vnd_get_ring_base(d, q, base);
}

int vnd_raw_ring_start(struct vnd *d, unsigned q, uint32_t base)
{
	if (q >= d->rings)
		return -EINVAL;
	return vnd_set_up_ring(d, q, base);
}

int vnd_raw_rx_header_pieces(struct vnd *d, unsigned pieces)
{
	if (!d->packed || !d->stopped || pieces == 0)
		return -EINVAL;
	d->rx_hdr_pieces = pieces;
	return 0;
}
