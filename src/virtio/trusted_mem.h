/* SPDX-License-Identifier: MIT */
/*
 * Trusted shared-memory objects (-d/--register-ds): the Linux form of the
 * original's trusted dataspaces. With at least one registered, client memory
 * is accepted only when it is a slice of one of these files.
 */
#ifndef VNP_TRUSTED_MEM_H
#define VNP_TRUSTED_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TRUSTED_MEM_MAX 32

struct trusted_object {
	dev_t dev;
	ino_t ino;
	char name[96];
};

struct trusted_mem {
	unsigned count;
	struct trusted_object obj[TRUSTED_MEM_MAX];
};

/* Register "PATH" or "fd:N". Returns 0 or -errno with a reason in err. */
int trusted_mem_register(struct trusted_mem *tm, const char *spec, char *err, size_t errlen);

/* Whether -d is in force: some object is registered. */
static inline bool trusted_mem_in_force(const struct trusted_mem *tm)
{
	return tm && tm->count > 0;
}

/* Whether [offset, offset + size) of the file open as fd may be used.
 * Without registered objects everything is allowed. On refusal err says why. */
bool trusted_mem_allows(const struct trusted_mem *tm, int fd, uint64_t offset, uint64_t size,
			char *err, size_t errlen);

#endif
