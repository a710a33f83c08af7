/* SPDX-License-Identifier: MIT */
/*
 * Client memory (virtio/guest_mem.c): what a region must be to be mapped,
 * translation of guest-physical and frontend-virtual addresses with their
 * bounds, the region table's limits, and trusted memory (-d,
 * virtio/trusted_mem.c). Regions are memfds, as QEMU's memory-backend-memfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "virtio/guest_mem.h"
#include "virtio/trusted_mem.h"

#define MB (1ull << 20)
#define PAGE 4096ull

static char err[256];

static int memfd_of(uint64_t size)
{
	int fd = memfd_create("test", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static int map(uint64_t gpa, uint64_t size, uint64_t uva, uint64_t off, int fd,
	       const struct trusted_mem *tm, struct gm_region *r)
{
	struct gm_region_spec spec = { .gpa = gpa, .size = size, .uva = uva, .mmap_offset = off };

	memset(err, 0, sizeof err);
	return gm_map_region(&spec, fd, tm, r, err, sizeof err);
}

/* Map and insert, asserting success. */
static struct gm_region *add(struct guest_mem *gm, uint64_t gpa, uint64_t size, uint64_t uva,
			     uint64_t off, int fd)
{
	struct gm_region r;

	assert_int_equal(map(gpa, size, uva, off, fd, NULL, &r), 0);
	assert_int_equal(gm_insert(gm, &r, GM_MAX_REGIONS, err, sizeof err), 0);
	return &gm->region[gm->count - 1];
}

/* p, known not to be NULL (for the compiler's null-dereference check). */
static uint8_t *must(uint8_t *p)
{
	if (!p) {
		fail_msg("unexpected NULL");
		abort();
	}
	return p;
}

static uint8_t file_byte(int fd, uint64_t off)
{
	uint8_t b;

	assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
	return b;
}

static void expect_refused(int rc, int want_rc, const char *needle)
{
	assert_int_equal(rc, want_rc);
	if (needle && !strstr(err, needle))
		fail_msg("message '%s' lacks '%s'", err, needle);
}

/* One region: every byte of [gpa, gpa + size) translates to the shared
 * file at mmap_offset + (addr - gpa); bytes just outside do not. */
static void test_translate_one_region(void **state)
{
	static struct guest_mem gm;
	int fd = memfd_of(MB);
	struct gm_region *r;
	uint64_t contig = 0;
	uint8_t *p;

	(void)state;
	memset(&gm, 0, sizeof gm);
	r = add(&gm, 0x40000, 256 * 1024, 0x7f1200000000, 64 * 1024, fd);

	p = must(gm_gpa_to_host(&gm, 0x40000, 16, &contig));
	assert_ptr_equal(p, r->host);
	assert_int_equal(contig, 16);
	*p = 0xa1;
	assert_int_equal(file_byte(fd, 64 * 1024), 0xa1);

	/* Last byte of the region. */
	p = must(gm_gpa_to_host(&gm, 0x40000 + 256 * 1024 - 1, 1, &contig));
	assert_ptr_equal(p, r->host + 256 * 1024 - 1);
	*p = 0xb2;
	assert_int_equal(file_byte(fd, 64 * 1024 + 256 * 1024 - 1), 0xb2);

	/* At the region's end only the rest is contiguous. */
	p = gm_gpa_to_host(&gm, 0x40000 + 256 * 1024 - 10, 100, &contig);
	assert_non_null(p);
	assert_int_equal(contig, 10);
	assert_false(gm_gpa_valid(&gm, 0x40000 + 256 * 1024 - 10, 100));
	assert_true(gm_gpa_valid(&gm, 0x40000 + 256 * 1024 - 10, 10));
	assert_true(gm_gpa_valid(&gm, 0x40000, 256 * 1024));
	assert_null(gm_gpa_range(&gm, 0x40000 + 256 * 1024 - 10, 11));
	assert_ptr_equal(gm_gpa_range(&gm, 0x40000 + 256 * 1024 - 10, 10), r->host + 256 * 1024 - 10);

	/* Just outside, on both sides. */
	assert_null(gm_gpa_to_host(&gm, 0x40000 - 1, 1, &contig));
	assert_null(gm_gpa_to_host(&gm, 0x40000 + 256 * 1024, 1, &contig));
	assert_null(gm_gpa_range(&gm, 0x40000 - 1, 2));
	assert_false(gm_gpa_valid(&gm, 0x40000 - 1, 2));
	/* Ranges whose end wraps around 64 bits. */
	assert_null(gm_gpa_range(&gm, 0x40000, UINT64_MAX));
	assert_null(gm_gpa_range(&gm, UINT64_MAX, 2));
	assert_false(gm_gpa_valid(&gm, 0x40000 + 16, UINT64_MAX - 0x40000));

	/* User addresses translate through their own base. */
	assert_ptr_equal(gm_uva_range(&gm, 0x7f1200000000 + 100, 16), r->host + 100);
	assert_ptr_equal(gm_uva_range(&gm, 0x7f1200000000, 256 * 1024), r->host);
	assert_null(gm_uva_range(&gm, 0x7f1200000000 + 256 * 1024 - 8, 16));
	assert_null(gm_uva_range(&gm, 0x7f1200000000 - 1, 2));
	assert_null(gm_uva_range(&gm, 0x7f1200000000 + 8, UINT64_MAX));
	assert_null(gm_uva_range(&gm, 0x40000, 16)); /* a gpa is not a uva */
	assert_null(gm_gpa_range(&gm, 0x7f1200000000, 16)); /* nor a uva a gpa */

	gm_clear(&gm);
	assert_int_equal(gm.count, 0);
	assert_null(gm_gpa_to_host(&gm, 0x40000, 1, &contig));
	close(fd);
}

/* A buffer may run from one region into the next one that follows it in
 * guest-physical space: two pieces, each in its own file. */
static void test_buffer_across_adjacent_regions(void **state)
{
	static struct guest_mem gm;
	int fd0 = memfd_of(MB), fd1 = memfd_of(MB);
	uint64_t border = 0x100000 + MB, gpa = border - 100, left = 300, contig = 0;
	struct gm_region *r0, *r1;
	uint8_t *p;

	(void)state;
	memset(&gm, 0, sizeof gm);
	/* Adjacent in gpa, far apart (and in reverse order) in uva. */
	r0 = add(&gm, 0x100000, MB, 0x9000000000, 0, fd0);
	r1 = add(&gm, border, MB, 0x5000000000, 0, fd1);

	assert_true(gm_gpa_valid(&gm, gpa, left));
	assert_null(gm_gpa_range(&gm, gpa, left)); /* not within one region */

	p = must(gm_gpa_to_host(&gm, gpa, left, &contig));
	assert_ptr_equal(p, r0->host + MB - 100);
	assert_int_equal(contig, 100);
	memset(p, 0x11, contig);
	gpa += contig;
	left -= contig;
	p = must(gm_gpa_to_host(&gm, gpa, left, &contig));
	assert_ptr_equal(p, r1->host);
	assert_int_equal(contig, 200);
	memset(p, 0x22, contig);
	assert_int_equal(file_byte(fd0, MB - 100), 0x11);
	assert_int_equal(file_byte(fd0, MB - 1), 0x11);
	assert_int_equal(file_byte(fd1, 0), 0x22);
	assert_int_equal(file_byte(fd1, 199), 0x22);
	assert_int_equal(file_byte(fd1, 200), 0);

	/* Past the end of the second region the range is invalid. */
	assert_false(gm_gpa_valid(&gm, border + MB - 50, 100));
	/* A uva range does not continue into another region. */
	assert_null(gm_uva_range(&gm, 0x9000000000 + MB - 8, 16));
	gm_clear(&gm);
	close(fd0);
	close(fd1);
}

/* Regions with a gap between them: a buffer over the gap is invalid. */
static void test_gap_between_regions(void **state)
{
	static struct guest_mem gm;
	int fd = memfd_of(2 * MB);
	uint64_t contig = 0;

	(void)state;
	memset(&gm, 0, sizeof gm);
	add(&gm, 0, MB, 0x1000000000, 0, fd);
	add(&gm, MB + PAGE, MB - PAGE, 0x2000000000, MB, fd);
	assert_true(gm_gpa_valid(&gm, MB - 10, 10));
	assert_false(gm_gpa_valid(&gm, MB - 10, 11));
	assert_null(gm_gpa_to_host(&gm, MB, 1, &contig));
	assert_null(gm_gpa_to_host(&gm, MB + PAGE - 1, 1, &contig));
	assert_non_null(gm_gpa_to_host(&gm, MB + PAGE, 1, &contig));
	/* Same file, different offsets: the second region is the file's
	 * second MB. */
	*must(gm_gpa_range(&gm, MB + PAGE, 1)) = 0x77;
	assert_int_equal(file_byte(fd, MB), 0x77);
	gm_clear(&gm);
	close(fd);
}

/* An mmap offset inside a page still translates to the right file byte. */
static void test_unaligned_offset(void **state)
{
	struct gm_region r;
	int fd = memfd_of(MB);

	(void)state;
	assert_int_equal(map(0x1000, PAGE, 0x1000, 100, fd, NULL, &r), 0);
	r.host[0] = 0x42;
	r.host[PAGE - 1] = 0x43;
	assert_int_equal(file_byte(fd, 100), 0x42);
	assert_int_equal(file_byte(fd, 100 + PAGE - 1), 0x43);
	assert_ptr_equal(r.host, (uint8_t *)r.map_base + 100);
	assert_true(r.map_len >= 100 + PAGE);
	gm_unmap_region(&r);
	assert_null(r.map_base);
	assert_null(r.host);
	close(fd);
}

/* Descriptions that cannot be right are refused before any mmap. */
static void test_refused_descriptions(void **state)
{
	struct gm_region r;
	int fd = memfd_of(MB);

	(void)state;
	expect_refused(map(0x1000, 0, 0x1000, 0, fd, NULL, &r), -EINVAL, "size 0");
	/* Each of gpa, uva and offset wrapping around 64 bits. */
	expect_refused(map(UINT64_MAX - 10, PAGE, 0, 0, fd, NULL, &r), -EINVAL, "wraps");
	expect_refused(map(0, PAGE, UINT64_MAX - 10, 0, fd, NULL, &r), -EINVAL, "wraps");
	expect_refused(map(0, PAGE, 0, UINT64_MAX - 10, fd, NULL, &r), -EINVAL, "wraps");
	expect_refused(map(0, UINT64_MAX, 0, 0, fd, NULL, &r), -EINVAL, NULL);
	expect_refused(map(1, UINT64_MAX, 0, 0, fd, NULL, &r), -EINVAL, "wraps");
	/* Past the end of the file: by offset, by size, by one byte. */
	expect_refused(map(0, MB, 0, PAGE, fd, NULL, &r), -EINVAL, "exceeds its file");
	expect_refused(map(0, MB + 1, 0, 0, fd, NULL, &r), -EINVAL, "exceeds its file");
	expect_refused(map(0, 1, 0, MB, fd, NULL, &r), -EINVAL, "exceeds its file");
	expect_refused(map(0, 2, 0, MB - 1, fd, NULL, &r), -EINVAL, "exceeds its file");
	/* The very last byte is fine. */
	assert_int_equal(map(0, 1, 0, MB - 1, fd, NULL, &r), 0);
	r.host[0] = 9;
	assert_int_equal(file_byte(fd, MB - 1), 9);
	gm_unmap_region(&r);
	close(fd);
}

/* Only regular files are memory: pipes, sockets, eventfds, directories
 * and bad descriptors are refused. */
static void test_refused_descriptors(void **state)
{
	struct gm_region r;
	int pipefd[2], sv[2], efd, dir, fd = memfd_of(PAGE);

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	expect_refused(map(0, PAGE, 0, 0, pipefd[0], NULL, &r), -EINVAL, "not a shared-memory file");
	expect_refused(map(0, PAGE, 0, 0, pipefd[1], NULL, &r), -EINVAL, "not a shared-memory file");
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	expect_refused(map(0, PAGE, 0, 0, sv[0], NULL, &r), -EINVAL, "not a shared-memory file");
	efd = eventfd(0, EFD_CLOEXEC);
	expect_refused(map(0, PAGE, 0, 0, efd, NULL, &r), -EINVAL, "not a shared-memory file");
	dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	expect_refused(map(0, PAGE, 0, 0, dir, NULL, &r), -EINVAL, "not a shared-memory file");
	expect_refused(map(0, PAGE, 0, 0, -1, NULL, &r), -EBADF, "no usable descriptor");
	close(fd);
	expect_refused(map(0, PAGE, 0, 0, fd, NULL, &r), -EBADF, "no usable descriptor");
	close(pipefd[0]);
	close(pipefd[1]);
	close(sv[0]);
	close(sv[1]);
	close(efd);
	close(dir);
}

/* A file opened read-only cannot be mapped writable: refused, not a crash. */
static void test_read_only_file(void **state)
{
	struct gm_region r;
	char path[64];
	int fd, ro;

	(void)state;
	/* On tmpfs: files elsewhere are refused before their mode matters. */
	snprintf(path, sizeof path, "/dev/shm/vnp-unit-ro-%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)PAGE), 0);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(ro >= 0);
	expect_refused(map(0, PAGE, 0, 0, ro, NULL, &r), -EACCES, "cannot map");
	close(ro);
	close(fd);
	unlink(path);
}

/* A file where a page fault may wait on a disk, a network or a process
 * (not tmpfs or hugetlbfs) is refused, unless it is trusted (-d). */
static void test_blocking_file_system(void **state)
{
	static const char *const dirs[] = { ".", "/var/tmp", "/tmp" };
	static struct trusted_mem tm;
	char path[96], why[160];
	struct gm_region r;
	const char *dir = NULL;
	int fd;

	(void)state;
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0] && !dir; i++) {
		struct statfs fs;

		if (statfs(dirs[i], &fs) == 0 && fs.f_type != TMPFS_MAGIC &&
		    fs.f_type != HUGETLBFS_MAGIC && access(dirs[i], W_OK) == 0)
			dir = dirs[i];
	}
	if (!dir) {
		print_message("every writable directory is tmpfs: nothing to refuse\n");
		skip();
	}
	snprintf(path, sizeof path, "%s/vnp-unit-disk-%d", dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)PAGE), 0);
	expect_refused(map(0, PAGE, 0, 0, fd, NULL, &r), -EPERM, "page fault may block");
	memset(&tm, 0, sizeof tm);
	assert_int_equal(trusted_mem_register(&tm, path, why, sizeof why), 0);
	assert_int_equal(map(0, PAGE, 0, 0, fd, &tm, &r), 0);
	gm_unmap_region(&r);
	close(fd);
	unlink(path);
}

/* The fd stays the caller's; the mapping outlives it. */
static void test_fd_stays_callers(void **state)
{
	struct gm_region r;
	int fd = memfd_of(PAGE), fd2;

	(void)state;
	assert_int_equal(map(0, PAGE, 0, 0, fd, NULL, &r), 0);
	assert_true(fcntl(fd, F_GETFD) >= 0);
	fd2 = dup(fd);
	close(fd);
	r.host[5] = 0x5a; /* still mapped */
	assert_int_equal(file_byte(fd2, 5), 0x5a);
	gm_unmap_region(&r);
	close(fd2);
}

/* Overlaps in guest-physical or in user address space are refused;
 * regions that only touch are fine. */
static void test_overlaps(void **state)
{
	static struct guest_mem gm;
	static const struct {
		uint64_t gpa, size, uva;
	} bad[] = {
		{ 0x10000, PAGE, 0x90000000 },            /* same gpa */
		{ 0x10000 + PAGE, PAGE, 0x90000000 },     /* inside */
		{ 0x10000 - PAGE, 2 * PAGE, 0x90000000 }, /* over the start */
		{ 0x10000 + 3 * PAGE, 2 * PAGE, 0x90000000 }, /* over the end */
		{ 0x0, 0x100000, 0x90000000 },            /* around it */
		{ 0x80000, PAGE, 0x50000000 + PAGE },     /* only the uva overlaps */
		{ 0x80000, PAGE, 0x50000000 - PAGE / 2 }, /* uva over the start */
		{ 0x10000 - PAGE + 1, PAGE, 0x90000000 },     /* one byte over the start */
		{ 0x10000 + 4 * PAGE - 1, PAGE, 0x90000000 }, /* one byte over the end */
		{ 0x80000, PAGE, 0x50000000 - PAGE + 1 },     /* one uva byte */
	};
	int fd = memfd_of(MB);
	struct gm_region r;

	(void)state;
	memset(&gm, 0, sizeof gm);
	add(&gm, 0x10000, 4 * PAGE, 0x50000000, 0, fd);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(map(bad[i].gpa, bad[i].size, bad[i].uva, 0, fd, NULL, &r), 0);
		expect_refused(gm_insert(&gm, &r, 8, err, sizeof err), -EINVAL, "overlaps");
		gm_unmap_region(&r);
		assert_int_equal(gm.count, 1);
	}
	/* Touching on either side, in both address spaces. */
	add(&gm, 0x10000 + 4 * PAGE, PAGE, 0x50000000 + 4 * PAGE, 0, fd);
	add(&gm, 0x10000 - PAGE, PAGE, 0x50000000 - PAGE, 0, fd);
	assert_int_equal(gm.count, 3);
	gm_clear(&gm);
	close(fd);
}

/* At most max regions (ds-max), and never more than GM_MAX_REGIONS. */
static void test_region_limits(void **state)
{
	static struct guest_mem gm;
	int fd = memfd_of((GM_MAX_REGIONS + 1) * PAGE);
	struct gm_region r;

	(void)state;
	memset(&gm, 0, sizeof gm);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(map(i * PAGE, PAGE, 0x10000000 + i * PAGE, i * PAGE, fd, NULL, &r), 0);
		assert_int_equal(gm_insert(&gm, &r, 3, err, sizeof err), 0);
	}
	assert_int_equal(map(3 * PAGE, PAGE, 0x10000000 + 3 * PAGE, 3 * PAGE, fd, NULL, &r), 0);
	expect_refused(gm_insert(&gm, &r, 3, err, sizeof err), -ENOSPC, "ds-max=3");
	assert_int_equal(gm.count, 3);
	/* With a larger max the same region goes in. */
	assert_int_equal(gm_insert(&gm, &r, 4, err, sizeof err), 0);

	/* Fill to the table size; a max beyond it does not let more in. */
	for (unsigned i = 4; i < GM_MAX_REGIONS; i++) {
		assert_int_equal(map(i * PAGE, PAGE, 0x10000000 + i * PAGE, i * PAGE, fd, NULL, &r), 0);
		assert_int_equal(gm_insert(&gm, &r, GM_MAX_REGIONS, err, sizeof err), 0);
	}
	assert_int_equal(gm.count, GM_MAX_REGIONS);
	assert_int_equal(map(GM_MAX_REGIONS * PAGE, PAGE, 0x10000000 + GM_MAX_REGIONS * PAGE, 0, fd,
			     NULL, &r),
			 0);
	expect_refused(gm_insert(&gm, &r, 1000, err, sizeof err), -ENOSPC, NULL);
	gm_unmap_region(&r);
	/* Every one of the 80 translates to its own page of the file. */
	for (unsigned i = 0; i < GM_MAX_REGIONS; i++)
		*must(gm_gpa_range(&gm, i * PAGE + 7, 1)) = (uint8_t)i;
	for (unsigned i = 0; i < GM_MAX_REGIONS; i++)
		assert_int_equal(file_byte(fd, i * PAGE + 7), i);
	gm_clear(&gm);
	close(fd);
}

/* gm_remove takes only an exact match; the others keep translating, also
 * through the cached last hit. */
static void test_remove(void **state)
{
	static struct guest_mem gm;
	int fd = memfd_of(4 * PAGE);
	uint64_t contig = 0;
	uint8_t *old_host;

	(void)state;
	memset(&gm, 0, sizeof gm);
	add(&gm, 0x0, PAGE, 0xa0000, 0, fd);
	add(&gm, 0x10000, PAGE, 0xb0000, PAGE, fd);
	add(&gm, 0x20000, PAGE, 0xc0000, 2 * PAGE, fd);
	old_host = gm.region[0].host;

	/* The last translation hit region 2. */
	assert_non_null(gm_gpa_to_host(&gm, 0x20000, 1, &contig));
	/* Not exact: wrong size, wrong uva, wrong gpa. */
	assert_int_equal(gm_remove(&gm, 0x0, 2 * PAGE, 0xa0000), -ENOENT);
	assert_int_equal(gm_remove(&gm, 0x0, PAGE, 0xa1000), -ENOENT);
	assert_int_equal(gm_remove(&gm, 0x1000, PAGE, 0xa0000), -ENOENT);
	assert_int_equal(gm.count, 3);

	assert_true(gm_maps_host(&gm, old_host));
	assert_int_equal(gm_remove(&gm, 0x0, PAGE, 0xa0000), 0);
	assert_int_equal(gm.count, 2);
	assert_false(gm_maps_host(&gm, old_host));
	assert_int_equal(gm_remove(&gm, 0x0, PAGE, 0xa0000), -ENOENT);
	assert_null(gm_gpa_to_host(&gm, 0x0, 1, &contig));
	assert_null(gm_uva_range(&gm, 0xa0000, 1));

	/* The others still translate to their own file pages. */
	*must(gm_gpa_range(&gm, 0x10000, 1)) = 0x10;
	*must(gm_gpa_range(&gm, 0x20000, 1)) = 0x20;
	assert_int_equal(file_byte(fd, PAGE), 0x10);
	assert_int_equal(file_byte(fd, 2 * PAGE), 0x20);
	assert_ptr_equal(gm_uva_range(&gm, 0xc0000, 1), gm_gpa_range(&gm, 0x20000, 1));

	/* Remove the one the cache points at, then translate again. */
	assert_non_null(gm_gpa_to_host(&gm, 0x20000, 1, &contig));
	assert_int_equal(gm_remove(&gm, 0x20000, PAGE, 0xc0000), 0);
	assert_null(gm_gpa_to_host(&gm, 0x20000, 1, &contig));
	assert_null(gm_gpa_range(&gm, 0x20000, 1));
	assert_non_null(gm_gpa_range(&gm, 0x10000, PAGE));
	assert_int_equal(gm_remove(&gm, 0x10000, PAGE, 0xb0000), 0);
	assert_int_equal(gm.count, 0);
	assert_null(gm_gpa_range(&gm, 0x10000, 1));
	close(fd);
}

/* gm_maps_host: the whole mapping, nothing else. */
static void test_maps_host(void **state)
{
	static struct guest_mem gm;
	int fd = memfd_of(MB);
	struct gm_region *r;
	int local;

	(void)state;
	memset(&gm, 0, sizeof gm);
	assert_false(gm_maps_host(&gm, &local));
	r = add(&gm, 0, PAGE, 0, 100, fd); /* unaligned: mapping starts 100 before host */
	assert_true(gm_maps_host(&gm, r->host));
	assert_true(gm_maps_host(&gm, r->map_base));
	assert_true(gm_maps_host(&gm, (uint8_t *)r->map_base + r->map_len - 1));
	assert_false(gm_maps_host(&gm, (uint8_t *)r->map_base + r->map_len));
	assert_false(gm_maps_host(&gm, (uint8_t *)r->map_base - 1));
	assert_false(gm_maps_host(&gm, &local));
	assert_false(gm_maps_host(&gm, &gm));
	assert_false(gm_maps_host(&gm, NULL));
	gm_clear(&gm);
	close(fd);
}

/* gm_replace: the destination's old regions are unmapped, the source's
 * move over, the source ends empty. */
static void test_replace(void **state)
{
	static struct guest_mem a, b;
	int fd = memfd_of(2 * PAGE);
	uint8_t *old;

	(void)state;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	add(&a, 0, PAGE, 0x1000, 0, fd);
	old = a.region[0].host;
	add(&b, 0x8000, PAGE, 0x9000, PAGE, fd);
	add(&b, 0x9000, PAGE, 0xa000, 0, fd);
	gm_replace(&a, &b);
	assert_int_equal(a.count, 2);
	assert_int_equal(b.count, 0);
	assert_false(gm_maps_host(&a, old));
	assert_null(gm_gpa_range(&a, 0, 1));
	*must(gm_gpa_range(&a, 0x8000, 1)) = 0x31;
	assert_int_equal(file_byte(fd, PAGE), 0x31);
	assert_true(gm_gpa_valid(&a, 0x8000, 2 * PAGE));
	gm_clear(&a);
	close(fd);
}

/* Trusted memory: with -d files registered, only slices of them map. */
static void test_trusted(void **state)
{
	char path[64], other[64], lnk[64], spec[32];
	static struct trusted_mem tm;
	struct gm_region r;
	int fd, ofd, inherited, ro;

	(void)state;
	memset(&tm, 0, sizeof tm);
	snprintf(path, sizeof path, "/tmp/vnp-unit-trusted-%d", getpid());
	snprintf(other, sizeof other, "/tmp/vnp-unit-other-%d", getpid());
	snprintf(lnk, sizeof lnk, "/tmp/vnp-unit-link-%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ofd = open(other, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0 && ofd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)MB), 0);
	assert_int_equal(ftruncate(ofd, (off_t)MB), 0);

	/* Nothing registered (or no table at all): anything goes. */
	assert_true(trusted_mem_allows(&tm, ofd, 0, MB, err, sizeof err));
	assert_true(trusted_mem_allows(NULL, ofd, 0, MB, err, sizeof err));

	assert_int_equal(trusted_mem_register(&tm, path, err, sizeof err), 0);
	assert_int_equal(tm.count, 1);
	/* The file itself: whole, a slice, the last byte. */
	assert_true(trusted_mem_allows(&tm, fd, 0, MB, err, sizeof err));
	assert_true(trusted_mem_allows(&tm, fd, PAGE, 2 * PAGE, err, sizeof err));
	assert_true(trusted_mem_allows(&tm, fd, MB - 1, 1, err, sizeof err));
	/* Beyond its size. */
	assert_false(trusted_mem_allows(&tm, fd, PAGE, MB, err, sizeof err));
	assert_non_null(strstr(err, "exceeds trusted object"));
	assert_false(trusted_mem_allows(&tm, fd, MB, 1, err, sizeof err));
	assert_false(trusted_mem_allows(&tm, fd, UINT64_MAX, 2, err, sizeof err));
	/* Another file of the same size. */
	assert_false(trusted_mem_allows(&tm, ofd, 0, PAGE, err, sizeof err));
	assert_non_null(strstr(err, "not one of the trusted objects"));
	/* The same through gm_map_region: -EPERM, and an accepted slice. */
	expect_refused(map(0, PAGE, 0, 0, ofd, &tm, &r), -EPERM, "trusted");
	assert_int_equal(map(0, PAGE, 0, PAGE, fd, &tm, &r), 0);
	gm_unmap_region(&r);
	/* Another open of the same file (same inode) is the same object. */
	assert_int_equal(link(path, lnk), 0);
	ro = open(lnk, O_RDWR | O_CLOEXEC);
	assert_int_equal(map(0, PAGE, 0, 0, ro, &tm, &r), 0);
	gm_unmap_region(&r);
	close(ro);

	/* fd:N names an inherited descriptor. */
	inherited = dup(ofd);
	snprintf(spec, sizeof spec, "fd:%d", inherited);
	assert_int_equal(trusted_mem_register(&tm, spec, err, sizeof err), 0);
	assert_true(trusted_mem_allows(&tm, ofd, 0, PAGE, err, sizeof err));
	assert_int_equal(map(0, PAGE, 0, 0, ofd, &tm, &r), 0);
	gm_unmap_region(&r);
	close(inherited);

	/* Bad specs. */
	assert_int_equal(trusted_mem_register(&tm, "fd:x", err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "fd:x"));
	assert_int_equal(trusted_mem_register(&tm, "fd:", err, sizeof err), -EINVAL);
	assert_string_equal(err, "'fd:' is not a descriptor number");
	assert_int_equal(trusted_mem_register(&tm, "fd:-1", err, sizeof err), -EINVAL);
	assert_int_equal(trusted_mem_register(&tm, "fd:3x", err, sizeof err), -EINVAL);
	assert_int_equal(trusted_mem_register(&tm, "fd:99999999999", err, sizeof err), -EINVAL);
	assert_int_equal(trusted_mem_register(&tm, "fd:99999", err, sizeof err), -EBADF);
	assert_int_equal(trusted_mem_register(&tm, "/nonexistent/x", err, sizeof err), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/x"));
	assert_int_equal(trusted_mem_register(&tm, "/tmp", err, sizeof err), -EINVAL);
	assert_non_null(strstr(err, "not a shared-memory file"));
	assert_int_equal(tm.count, 2);

	/* At most TRUSTED_MEM_MAX objects. */
	while (tm.count < TRUSTED_MEM_MAX)
		assert_int_equal(trusted_mem_register(&tm, path, err, sizeof err), 0);
	assert_int_equal(trusted_mem_register(&tm, path, err, sizeof err), -ENOSPC);
	assert_non_null(strstr(err, "at most 32"));

	close(fd);
	close(ofd);
	unlink(path);
	unlink(other);
	unlink(lnk);
}

#if defined(__x86_64__)
/* gm_hit_range4_avx2 on four ranges: in[k] whether range k is wholly in
 * the region, host[k] its host address if so. */
__attribute__((target("avx2"))) static void hit4(const struct gm_hit *h, const uint64_t gpa[4],
						 const uint64_t len[4], bool in[4], uint64_t host[4])
{
	uint64_t bad[4];
	__m256i hv, b = gm_hit_range4_avx2(h, _mm256_loadu_si256((const __m256i *)(const void *)gpa),
					   _mm256_loadu_si256((const __m256i *)(const void *)len), &hv);

	_mm256_storeu_si256((__m256i *)(void *)bad, b);
	_mm256_storeu_si256((__m256i *)(void *)host, hv);
	for (unsigned k = 0; k < 4; k++) {
		assert_true(bad[k] == 0 || bad[k] == ~0ull);
		in[k] = !bad[k];
	}
}
#endif

/* The four-at-once region test (gm_hit_range4_avx2, where the CPU has
 * AVX2) says of every non-empty range what gm_hit_range says: regions low,
 * high and at the very top of the address space, ranges at and across
 * both their edges, below their start (where the end wraps), and lengths
 * up to 2^32 - 1. */
static void test_hit_range4(void **state)
{
	(void)state;
#if defined(__x86_64__)
	static const uint64_t size = 1ull << 20;
	static const uint64_t bases[] = { 0, 0x100000, 1ull << 63, 0ull - (1ull << 20) };
	static const uint64_t lens[] = { 1, 2, 64, 4095, 1ull << 20, (1ull << 20) + 1, 0xffffffffull };
	uint64_t seed = 1;
	unsigned compared = 0;

	if (!__builtin_cpu_supports("avx2"))
		skip();
	for (unsigned b = 0; b < sizeof bases / sizeof bases[0]; b++) {
		const struct gm_hit h = { bases[b], size, (uint8_t *)(uintptr_t)0x7f0000000000ull };
		const int64_t offs[] = { 0, 1, -1, -64, (int64_t)size - 1, (int64_t)size,
					 (int64_t)size - 64, (int64_t)size + 1, INT64_MIN,
					 -(int64_t)0xffffffffll, (int64_t)size - 0xffffffffll };

		for (unsigned round = 0; round < 400; round++) {
			uint64_t gpa[4], len[4], host[4];
			bool in[4];

			for (unsigned k = 0; k < 4; k++) {
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				gpa[k] = bases[b] + (uint64_t)offs[(seed >> 33) % (sizeof offs / sizeof offs[0])];
				if ((seed >> 20) % 4 == 0)
					gpa[k] = seed; /* anywhere */
				len[k] = lens[(seed >> 40) % (sizeof lens / sizeof lens[0])];
			}
			hit4(&h, gpa, len, in, host);
			for (unsigned k = 0; k < 4; k++) {
				uint8_t *p = NULL;
				bool want = gm_hit_range(&h, gpa[k], len[k], &p);

				assert_int_equal(in[k], want);
				if (want)
					assert_int_equal(host[k], (uint64_t)(uintptr_t)p);
				compared += want;
			}
		}
	}
	/* Both answers came up, many times. */
	assert_true(compared > 500 && compared < 4 * 400 * 4 - 500);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_translate_one_region),
		cmocka_unit_test(test_buffer_across_adjacent_regions),
		cmocka_unit_test(test_gap_between_regions),
		cmocka_unit_test(test_unaligned_offset),
		cmocka_unit_test(test_refused_descriptions),
		cmocka_unit_test(test_refused_descriptors),
		cmocka_unit_test(test_read_only_file),
		cmocka_unit_test(test_blocking_file_system),
		cmocka_unit_test(test_fd_stays_callers),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_region_limits),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_maps_host),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_trusted),
		cmocka_unit_test(test_hit_range4),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
