/* SPDX-License-Identifier: MIT */
/*
 * Client memory: what a region must be to be mapped, translation of both
 * kinds of address with bounds, and trusted memory (-d).
 */
#include <fcntl.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "virtio/guest_mem.h"
#include "virtio/trusted_mem.h"

#define MB (1ull << 20)

static int memfd_of(uint64_t size)
{
	int fd = memfd_create("test", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static int map(const struct gm_region_spec *spec, int fd, const struct trusted_mem *tm,
	       struct gm_region *r, char *err)
{
	return gm_map_region(spec, fd, tm, r, err, 160);
}

static void test_refused_regions(void **state)
{
	struct gm_region r;
	char err[160];
	int fd = memfd_of(MB), pipefd[2], sv[2];

	(void)state;
	assert_int_equal(map(&(struct gm_region_spec){ 0, 0, 0, 0 }, fd, NULL, &r, err), -EINVAL);
	assert_non_null(strstr(err, "size 0"));
	assert_true(map(&(struct gm_region_spec){ UINT64_MAX - 10, 4096, 0, 0 }, fd, NULL, &r, err) < 0);
	assert_non_null(strstr(err, "wraps"));
	assert_true(map(&(struct gm_region_spec){ 0, 4096, UINT64_MAX - 10, 0 }, fd, NULL, &r, err) < 0);
	assert_true(map(&(struct gm_region_spec){ 0, 4096, 0, UINT64_MAX - 10 }, fd, NULL, &r, err) < 0);
	/* Past the end of the file. */
	assert_true(map(&(struct gm_region_spec){ 0, MB, 0, 4096 }, fd, NULL, &r, err) < 0);
	assert_non_null(strstr(err, "exceeds its file"));
	assert_true(map(&(struct gm_region_spec){ 0, 2 * MB, 0, 0 }, fd, NULL, &r, err) < 0);
	/* Not memory at all. */
	assert_int_equal(pipe(pipefd), 0);
	assert_true(map(&(struct gm_region_spec){ 0, 4096, 0, 0 }, pipefd[0], NULL, &r, err) < 0);
	assert_non_null(strstr(err, "not a shared-memory file"));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_true(map(&(struct gm_region_spec){ 0, 4096, 0, 0 }, sv[0], NULL, &r, err) < 0);
	assert_true(map(&(struct gm_region_spec){ 0, 4096, 0, 0 }, -1, NULL, &r, err) < 0);
	close(pipefd[0]);
	close(pipefd[1]);
	close(sv[0]);
	close(sv[1]);
	close(fd);
}

static void test_translation(void **state)
{
	static struct guest_mem gm;
	struct gm_region r0, r1;
	uint64_t contig;
	char err[160];
	int fd = memfd_of(2 * MB);
	uint8_t *p;

	(void)state;
	memset(&gm, 0, sizeof gm);
	/* Two regions from one file, adjacent in gpa, far apart in uva, the
	 * second starting at an unaligned offset within a page. */
	assert_int_equal(map(&(struct gm_region_spec){ 0x10000, MB, 0x7000000000, 0 }, fd, NULL, &r0,
			     err), 0);
	assert_int_equal(map(&(struct gm_region_spec){ 0x10000 + MB, MB - 100, 0x9000000000, MB + 100 },
			     fd, NULL, &r1, err), 0);
	assert_int_equal(gm_insert(&gm, &r0, 2, err, sizeof err), 0);
	assert_int_equal(gm_insert(&gm, &r1, 2, err, sizeof err), 0);

	p = gm_gpa_to_host(&gm, 0x10000 + 5, 100, &contig);
	assert_ptr_equal(p, r0.host + 5);
	assert_int_equal(contig, 100);
	/* Near the border only the rest of the region is contiguous. */
	p = gm_gpa_to_host(&gm, 0x10000 + MB - 10, 100, &contig);
	assert_int_equal(contig, 10);
	p = gm_gpa_to_host(&gm, 0x10000 + MB, 100, &contig);
	assert_ptr_equal(p, r1.host);
	assert_true(gm_gpa_valid(&gm, 0x10000 + MB - 10, 100));
	assert_false(gm_gpa_valid(&gm, 0x10000 + 2 * MB - 150, 100)); /* past the end */
	assert_null(gm_gpa_to_host(&gm, 0x0fff, 1, &contig));
	assert_null(gm_gpa_range(&gm, 0x10000 + MB - 10, 100)); /* not in one region */
	assert_null(gm_gpa_range(&gm, UINT64_MAX, 2));
	/* User addresses translate through their own base. */
	assert_ptr_equal(gm_uva_range(&gm, 0x9000000000 + 8, 16), r1.host + 8);
	assert_null(gm_uva_range(&gm, 0x7000000000 + MB - 8, 16));
	assert_null(gm_uva_range(&gm, 0x10000, 16)); /* a gpa is not a uva */
	/* The data really is the file's: offset MB + 100 of the file. */
	r1.host[0] = 0x5a;
	{
		uint8_t b;

		assert_int_equal(pread(fd, &b, 1, (off_t)(MB + 100)), 1);
		assert_int_equal(b, 0x5a);
	}
	assert_true(gm_maps_host(&gm, r1.host));
	assert_false(gm_maps_host(&gm, &gm));

	/* Overlaps and a third region beyond the limit are refused. */
	{
		struct gm_region r2;

		assert_int_equal(map(&(struct gm_region_spec){ 0x10000 + 4096, 4096, 0x5000000000, 0 },
				     fd, NULL, &r2, err), 0);
		assert_int_equal(gm_insert(&gm, &r2, 3, err, sizeof err), -EINVAL);
		assert_non_null(strstr(err, "overlaps"));
		assert_int_equal(gm_insert(&gm, &r2, 2, err, sizeof err), -ENOSPC);
		assert_non_null(strstr(err, "ds-max=2"));
		gm_unmap_region(&r2);
	}
	assert_int_equal(gm_remove(&gm, 0x10000, MB, 0x7000000000), 0);
	assert_int_equal(gm_remove(&gm, 0x10000, MB, 0x7000000000), -ENOENT);
	assert_null(gm_gpa_to_host(&gm, 0x10000, 1, &contig));
	assert_non_null(gm_gpa_to_host(&gm, 0x10000 + MB, 1, &contig));
	gm_clear(&gm);
	assert_int_equal(gm.count, 0);
	close(fd);
}

static void test_trusted(void **state)
{
	char path[64], other[64], err[160], spec[32];
	struct trusted_mem tm = { 0 };
	struct gm_region r;
	int fd, ofd, inherited;

	(void)state;
	snprintf(path, sizeof path, "/tmp/vnp-trusted-%d", getpid());
	snprintf(other, sizeof other, "/tmp/vnp-other-%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ofd = open(other, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(ftruncate(fd, (off_t)MB), 0);
	assert_int_equal(ftruncate(ofd, (off_t)MB), 0);

	/* Nothing registered: anything goes. */
	assert_true(trusted_mem_allows(&tm, ofd, 0, MB, err, sizeof err));
	assert_int_equal(trusted_mem_register(&tm, path, err, sizeof err), 0);
	assert_true(trusted_mem_allows(&tm, fd, 0, MB, err, sizeof err));
	assert_false(trusted_mem_allows(&tm, fd, 4096, MB, err, sizeof err));
	assert_false(trusted_mem_allows(&tm, ofd, 0, 4096, err, sizeof err));
	assert_non_null(strstr(err, "not one of the trusted objects"));
	assert_int_equal(map(&(struct gm_region_spec){ 0, 4096, 0, 0 }, ofd, &tm, &r, err), -EPERM);
	assert_int_equal(map(&(struct gm_region_spec){ 0, 4096, 0, 4096 }, fd, &tm, &r, err), 0);
	gm_unmap_region(&r);

	/* fd:N names an inherited descriptor; bad specs are refused. */
	inherited = dup(ofd);
	snprintf(spec, sizeof spec, "fd:%d", inherited);
	assert_int_equal(trusted_mem_register(&tm, spec, err, sizeof err), 0);
	assert_true(trusted_mem_allows(&tm, ofd, 0, 4096, err, sizeof err));
	assert_true(trusted_mem_register(&tm, "fd:x", err, sizeof err) < 0);
	assert_true(trusted_mem_register(&tm, "fd:99999", err, sizeof err) < 0);
	assert_true(trusted_mem_register(&tm, "/nonexistent", err, sizeof err) < 0);
	assert_true(trusted_mem_register(&tm, "/tmp", err, sizeof err) < 0);
	close(inherited);
	close(fd);
	close(ofd);
	unlink(path);
	unlink(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_regions),
		cmocka_unit_test(test_translation),
		cmocka_unit_test(test_trusted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
