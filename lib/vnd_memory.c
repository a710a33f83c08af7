/* SPDX-License-Identifier: MIT */
/*
 * The client's shared memory: one contiguous virtual range made of
 * several files (regions), so the device sees a memory table of many
 * entries while this library addresses it as one block.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vnd_internal.h"

void vnd_memory_unmap(struct vnd_memory *m)
{
	if (m->base)
		munmap(m->base, m->size);
	for (unsigned i = 0; i < m->count; i++)
		if (m->region[i].fd >= 0 && m->region[i].fd != m->file_fd)
			close(m->region[i].fd);
	if (m->file_fd >= 0)
		close(m->file_fd);
	memset(m, 0, sizeof *m);
	m->file_fd = -1;
}

static int fail(struct vnd_memory *m, char *err, size_t errlen, const char *what)
{
	int rc = -errno;

	snprintf(err, errlen, "%s: %s", what, strerror(errno));
	vnd_memory_unmap(m);
	return rc;
}

int vnd_memory_map(struct vnd_memory *m, uint64_t size, const uint64_t *starts, unsigned count,
		   const char *path, char *err, size_t errlen)
{
	void *base;

	memset(m, 0, sizeof *m);
	m->file_fd = -1;
	/* Reserve the whole range first, so the regions land back to back. */
	base = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return fail(m, err, errlen, "cannot reserve the shared memory");
	m->base = base;
	m->size = size;
	if (path) {
		m->file_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (m->file_fd < 0 || ftruncate(m->file_fd, (off_t)size) < 0)
			return fail(m, err, errlen, path);
	}
	for (unsigned i = 0; i < count; i++) {
		struct vnd_region *r = &m->region[i];
		uint64_t end = i + 1 < count ? starts[i + 1] : size;

		r->offset = starts[i];
		r->size = end - starts[i];
		r->file_offset = path ? r->offset : 0;
		r->fd = path ? m->file_fd
			     : memfd_create("vnet-p2p-client", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (r->fd < 0)
			return fail(m, err, errlen, "cannot create shared memory");
		m->count = i + 1;
		if (!path && ftruncate(r->fd, (off_t)r->size) < 0)
			return fail(m, err, errlen, "cannot size shared memory");
		if (mmap(m->base + r->offset, r->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 r->fd, (off_t)r->file_offset) == MAP_FAILED)
			return fail(m, err, errlen, "cannot map shared memory");
	}
	return 0;
}
