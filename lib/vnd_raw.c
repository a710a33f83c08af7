/* SPDX-License-Identifier: MIT */
/* Test-only access to a driver's insides (vnd_raw.h). */
#include <errno.h>
#include <sys/eventfd.h>

#include "vnd_internal.h"
#include "vnd_raw.h"

int vnd_raw_ring(struct vnd *d, unsigned q, struct vnd_raw_ring *out)
{
	if (q >= VND_QUEUES)
		return -EINVAL;
	out->desc = d->q[q].desc;
	out->avail = d->q[q].avail;
	out->used = d->q[q].used;
	out->num = d->q[q].num;
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
	if (q >= VND_QUEUES || vnd_queue_take(&d->q[q], count, ids))
		return -ENOSPC;
	return 0;
}

void vnd_raw_publish(struct vnd *d, unsigned q, uint16_t head)
{
	if (q >= VND_QUEUES)
		return;
	vnd_queue_put(&d->q[q], head);
	vnd_queue_flush(&d->q[q]);
	if (d->q[q].kick_fd >= 0)
		(void)!eventfd_write(d->q[q].kick_fd, 1);
}
