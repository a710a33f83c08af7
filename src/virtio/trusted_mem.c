/* SPDX-License-Identifier: MIT */
#include "virtio/trusted_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/checked.h"

static int parse_fd_spec(const char *spec, int *fd)
{
	char *end;
	long v;

	if (strncmp(spec, "fd:", 3) != 0)
		return 0;
	errno = 0;
	v = strtol(spec + 3, &end, 10);
	if (errno || end == spec + 3 || *end || v < 0 || v > INT_MAX)
		return -EINVAL;
	*fd = (int)v;
	return 1;
}

int trusted_mem_register(struct trusted_mem *tm, const char *spec, char *err, size_t errlen)
{
	struct stat st;
	int fd = -1, rc;

	if (tm->count >= TRUSTED_MEM_MAX) {
		snprintf(err, errlen, "at most %d trusted objects", TRUSTED_MEM_MAX);
		return -ENOSPC;
	}
	rc = parse_fd_spec(spec, &fd);
	if (rc < 0) {
		snprintf(err, errlen, "'%s' is not a descriptor number", spec);
		return rc;
	}
	if (rc == 1) {
		rc = fstat(fd, &st);
	} else {
		rc = stat(spec, &st);
	}
	if (rc < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot access '%s': %s", spec, strerror(errno));
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "'%s' is not a shared-memory file", spec);
		return -EINVAL;
	}
	tm->obj[tm->count].dev = st.st_dev;
	tm->obj[tm->count].ino = st.st_ino;
	snprintf(tm->obj[tm->count].name, sizeof tm->obj[0].name, "%s", spec);
	tm->count++;
	return 0;
}

bool trusted_mem_allows(const struct trusted_mem *tm, int fd, uint64_t offset, uint64_t size,
			char *err, size_t errlen)
{
	struct stat st;

	if (!tm || tm->count == 0)
		return true;
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot inspect the region's descriptor: %s", strerror(errno));
		return false;
	}
	for (unsigned i = 0; i < tm->count; i++) {
		if (tm->obj[i].dev != st.st_dev || tm->obj[i].ino != st.st_ino)
			continue;
		if (!range_within(offset, size, 0, (uint64_t)st.st_size)) {
			snprintf(err, errlen, "region exceeds trusted object %s", tm->obj[i].name);
			return false;
		}
		return true;
	}
	snprintf(err, errlen, "region memory is not one of the trusted objects (-d)");
	return false;
}
