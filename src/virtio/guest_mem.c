/* SPDX-License-Identifier: MIT */
#include "virtio/guest_mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "util/checked.h"
#include "virtio/trusted_mem.h"

/*
 * A page fault in client memory happens on the server's only thread, in
 * the middle of a copy. On tmpfs and hugetlbfs (memfds included) it is
 * served from memory; on FUSE, NFS or a disk it may wait on a process, a
 * network or a device for as long as they like. Such files are taken only
 * when the administrator registered them (-d).
 */
static bool fault_cannot_block(int fd, char *err, size_t errlen)
{
	struct statfs fs;

	if (fstatfs(fd, &fs) < 0) {
		snprintf(err, errlen, "cannot inspect the region's file system: %s", strerror(errno));
		return false;
	}
	if (fs.f_type == TMPFS_MAGIC || fs.f_type == HUGETLBFS_MAGIC)
		return true;
	snprintf(err, errlen,
		 "region file is on a file system where a page fault may block the server (type "
		 "0x%llx): only tmpfs, hugetlbfs and memfd memory is taken, or files registered "
		 "with -d",
		 (unsigned long long)fs.f_type);
	return false;
}

static uint64_t map_alignment(const struct stat *st)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t blk = (uint64_t)st->st_blksize;

	/* hugetlbfs reports its page size here; mappings must be multiples. */
	if (is_power_of_2(blk) && blk > page && blk <= (1ull << 30))
		return blk;
	return page;
}

int gm_map_region(const struct gm_region_spec *spec, int fd, const struct trusted_mem *tm,
		  struct gm_region *out, char *err, size_t errlen)
{
	struct stat st;
	uint64_t align, map_off, map_len;
	void *base;

	if (spec->size == 0) {
		snprintf(err, errlen, "region has size 0");
		return -EINVAL;
	}
	if (!range_fits_u64(spec->gpa, spec->size) || !range_fits_u64(spec->uva, spec->size) ||
	    !range_fits_u64(spec->mmap_offset, spec->size)) {
		snprintf(err, errlen,
			 "region wraps around (gpa 0x%llx uva 0x%llx offset 0x%llx size 0x%llx)",
			 (unsigned long long)spec->gpa, (unsigned long long)spec->uva,
			 (unsigned long long)spec->mmap_offset, (unsigned long long)spec->size);
		return -EINVAL;
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "region has no usable descriptor");
		return -EBADF;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "region descriptor is not a shared-memory file");
		return -EINVAL;
	}
	/* Mapping past the end of the file would fault on first touch. */
	if (!range_within(spec->mmap_offset, spec->size, 0, (uint64_t)st.st_size)) {
		snprintf(err, errlen,
			 "region (offset 0x%llx size 0x%llx) exceeds its file (0x%llx bytes)",
			 (unsigned long long)spec->mmap_offset, (unsigned long long)spec->size,
			 (unsigned long long)st.st_size);
		return -EINVAL;
	}
	if (!trusted_mem_allows(tm, fd, spec->mmap_offset, spec->size, err, errlen))
		return -EPERM;
	if (!trusted_mem_in_force(tm) && !fault_cannot_block(fd, err, errlen))
		return -EPERM;

	align = map_alignment(&st);
	map_off = spec->mmap_offset & ~(align - 1);
	map_len = spec->mmap_offset - map_off + spec->size;
	if (map_len > SIZE_MAX - align) {
		snprintf(err, errlen, "region too large to map");
		return -ENOMEM;
	}
	map_len = (map_len + align - 1) & ~(align - 1);
	base = mmap(NULL, (size_t)map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)map_off);
	if (base == MAP_FAILED) {
		int e = errno;
		snprintf(err, errlen, "cannot map region: %s", strerror(e));
		return -e;
	}
	out->gpa = spec->gpa;
	out->uva = spec->uva;
	out->size = spec->size;
	out->map_base = base;
	out->map_len = (size_t)map_len;
	out->host = (uint8_t *)base + (spec->mmap_offset - map_off);
	out->file_dev = (uint64_t)st.st_dev;
	out->file_ino = (uint64_t)st.st_ino;
	out->mmap_offset = spec->mmap_offset;
	return 0;
}

bool gm_holds(const struct guest_mem *gm, const struct gm_region_spec *spec, int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return false;
	for (unsigned i = 0; i < gm->count; i++) {
		const struct gm_region *r = &gm->region[i];

		if (r->gpa == spec->gpa && r->size == spec->size && r->uva == spec->uva &&
		    r->mmap_offset == spec->mmap_offset && r->file_dev == (uint64_t)st.st_dev &&
		    r->file_ino == (uint64_t)st.st_ino)
			return true;
	}
	return false;
}

void gm_unmap_region(struct gm_region *r)
{
	if (r->map_base)
		munmap(r->map_base, r->map_len);
	memset(r, 0, sizeof *r);
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

int gm_insert(struct guest_mem *gm, const struct gm_region *r, unsigned max, char *err,
	      size_t errlen)
{
	if (gm->count >= max || gm->count >= GM_MAX_REGIONS) {
		snprintf(err, errlen, "more memory regions than the port allows (ds-max=%u)", max);
		return -ENOSPC;
	}
	for (unsigned i = 0; i < gm->count; i++) {
		const struct gm_region *o = &gm->region[i];

		if (ranges_overlap(r->gpa, r->size, o->gpa, o->size) ||
		    ranges_overlap(r->uva, r->size, o->uva, o->size)) {
			snprintf(err, errlen,
				 "region gpa 0x%llx+0x%llx overlaps region gpa 0x%llx+0x%llx",
				 (unsigned long long)r->gpa, (unsigned long long)r->size,
				 (unsigned long long)o->gpa, (unsigned long long)o->size);
			return -EINVAL;
		}
	}
	gm->region[gm->count++] = *r;
	return 0;
}

int gm_remove(struct guest_mem *gm, uint64_t gpa, uint64_t size, uint64_t uva)
{
	for (unsigned i = 0; i < gm->count; i++) {
		struct gm_region *r = &gm->region[i];

		if (r->gpa != gpa || r->size != size || r->uva != uva)
			continue;
		gm_unmap_region(r);
		gm->count--;
		if (i != gm->count) {
			*r = gm->region[gm->count];
			memset(&gm->region[gm->count], 0, sizeof *r);
		}
		gm->hit = (struct gm_hit){ 0 };
		return 0;
	}
	return -ENOENT;
}

void gm_clear(struct guest_mem *gm)
{
	for (unsigned i = 0; i < gm->count; i++)
		gm_unmap_region(&gm->region[i]);
	gm->count = 0;
	gm->hit = (struct gm_hit){ 0 };
}

void gm_replace(struct guest_mem *dst, struct guest_mem *src)
{
	gm_clear(dst);
	memcpy(dst, src, sizeof *dst);
	memset(src, 0, sizeof *src);
}

uint8_t *gm_gpa_range_slow(struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	uint64_t contig;
	uint8_t *p;

	if (!range_fits_u64(gpa, len))
		return NULL;
	p = gm_gpa_to_host(gm, gpa, len, &contig);
	return p && contig == len ? p : NULL;
}

uint8_t *gm_uva_range(const struct guest_mem *gm, uint64_t uva, uint64_t len)
{
	for (unsigned i = 0; i < gm->count; i++) {
		const struct gm_region *r = &gm->region[i];

		if (range_within(uva, len, r->uva, r->size))
			return r->host + (uva - r->uva);
	}
	return NULL;
}

uint64_t gm_mapped_bytes(const struct guest_mem *gm)
{
	uint64_t total = 0;

	/* Regions do not overlap and each fits in 64 bits: no wrap in the
	 * 47-bit address space they were mapped into. */
	for (unsigned i = 0; i < gm->count; i++)
		total += gm->region[i].size;
	return total;
}

bool gm_maps_host(const struct guest_mem *gm, const void *p)
{
	uintptr_t a = (uintptr_t)p;

	for (unsigned i = 0; i < gm->count; i++) {
		uintptr_t base = (uintptr_t)gm->region[i].map_base;

		if (a >= base && a - base < gm->region[i].map_len)
			return true;
	}
	return false;
}
