/* SPDX-License-Identifier: MIT */
/*
 * The client's shared memory: one contiguous virtual range made of
 * several files (regions), so the device sees a memory table of many
 * entries while this library addresses it as one block. Region borders
 * fall on page boundaries with no regard for buffers: some buffers span
 * two regions, which a device must handle.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vnd_internal.h"

#define PAGE 4096ull

static uint64_t page_up(uint64_t v) { return (v + PAGE - 1) & ~(PAGE - 1); }

void vnd_memory_destroy(struct vnd_memory *m)
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

int vnd_memory_create(struct vnd_memory *m, uint64_t size, unsigned regions, uint64_t first_min,
		      const char *path, char *err, size_t errlen)
{
	uint64_t rest, share;
	void *base;
	int rc;

	memset(m, 0, sizeof *m);
	m->file_fd = -1;
	if (regions == 0 || regions > VND_MAX_REGIONS) {
		snprintf(err, errlen, "regions must be 1..%d", VND_MAX_REGIONS);
		return -EINVAL;
	}
	first_min = page_up(first_min);
	size = page_up(size < first_min ? first_min : size);
	rest = size - first_min;
	share = page_up(rest / regions);
	size = first_min + share * regions;

	base = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		rc = -errno;
		snprintf(err, errlen, "cannot reserve %llu bytes: %s", (unsigned long long)size,
			 strerror(errno));
		return rc;
	}
	m->base = base;
	m->size = size;
	if (path) {
		m->file_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (m->file_fd < 0 || ftruncate(m->file_fd, (off_t)size) < 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot use '%s': %s", path, strerror(errno));
			vnd_memory_destroy(m);
			return rc;
		}
	}
	for (unsigned i = 0; i < regions; i++) {
		struct vnd_region *r = &m->region[i];
		void *at;

		r->offset = i == 0 ? 0 : first_min + share * i;
		r->size = i == 0 ? first_min + share : share;
		r->file_offset = path ? r->offset : 0;
		if (path) {
			r->fd = m->file_fd;
		} else {
			r->fd = memfd_create("vnet-p2p-client", MFD_CLOEXEC | MFD_ALLOW_SEALING);
			if (r->fd < 0 || ftruncate(r->fd, (off_t)r->size) < 0) {
				rc = -errno;
				snprintf(err, errlen, "cannot create shared memory: %s", strerror(errno));
				if (r->fd >= 0)
					close(r->fd);
				r->fd = -1;
				vnd_memory_destroy(m);
				return rc;
			}
		}
		m->count = i + 1;
		at = mmap(m->base + r->offset, r->size, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_FIXED, r->fd, (off_t)r->file_offset);
		if (at == MAP_FAILED) {
			rc = -errno;
			snprintf(err, errlen, "cannot map shared memory: %s", strerror(errno));
			vnd_memory_destroy(m);
			return rc;
		}
	}
	return 0;
}
