/* SPDX-License-Identifier: MIT */
/*
 * A client's memory: the regions it shared (one fd each), mapped into the
 * server, and translation of its addresses with bounds checks.
 *
 * Descriptor buffers carry guest-physical addresses; ring addresses are the
 * frontend's virtual addresses. A buffer may run over the end of a region
 * into the next one that follows it in guest-physical space, so translation
 * returns how many bytes are contiguous from the address.
 */
#ifndef VNP_GUEST_MEM_H
#define VNP_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

struct trusted_mem;

/* The original's ds-max range. */
#define GM_MAX_REGIONS 80

/* A region as the client describes it. */
struct gm_region_spec {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva;
	uint64_t mmap_offset;
};

struct gm_region {
	uint64_t gpa;
	uint64_t uva;
	uint64_t size;
	uint8_t *host; /* where gpa is mapped in this process */
	void *map_base;
	size_t map_len;
	/* What backs it: the file (device and inode) and the offset in it. */
	uint64_t file_dev;
	uint64_t file_ino;
	uint64_t mmap_offset;
};

/* Translations mostly stay in one region: a copy of the one last hit sits
 * first, so the usual case reads three fields at fixed places. Size 0
 * when there is none. */
struct gm_hit {
	uint64_t gpa;
	uint64_t size;
	uint8_t *host;
};

struct guest_mem {
	struct gm_hit hit;
	unsigned count;
	struct gm_region region[GM_MAX_REGIONS];
};

/* Check the client's description and its fd (a regular, shareable file that
 * is large enough, trusted when -d is in force) and map it. The fd stays
 * the caller's. Returns 0 or -errno with the reason in err. */
int gm_map_region(const struct gm_region_spec *spec, int fd, const struct trusted_mem *tm,
		  struct gm_region *out, char *err, size_t errlen);
void gm_unmap_region(struct gm_region *r);

/* Add a mapped region, refusing overlaps and more than max regions; on
 * refusal the region is left to the caller to unmap. */
int gm_insert(struct guest_mem *gm, const struct gm_region *r, unsigned max, char *err,
	      size_t errlen);
/* Whether gm holds a region with exactly this description, backed by the
 * same file (fd's device and inode) at the same offset: a repeat of one
 * added before. */
bool gm_holds(const struct guest_mem *gm, const struct gm_region_spec *spec, int fd);
/* Unmap and forget the region with this guest address, size and user
 * address. Returns 0 or -ENOENT. */
int gm_remove(struct guest_mem *gm, uint64_t gpa, uint64_t size, uint64_t uva);
/* Unmap everything. */
void gm_clear(struct guest_mem *gm);
/* Make dst hold src's regions (dst's old ones are unmapped); src ends empty. */
void gm_replace(struct guest_mem *dst, struct guest_mem *src);

/* Host address of guest-physical gpa and, in *contig, how many of the len
 * bytes from there lie in the same region (at least 1 when len > 0).
 * NULL when gpa lies in no region. */
static inline uint8_t *gm_gpa_to_host(struct guest_mem *gm, uint64_t gpa, uint64_t len,
				      uint64_t *contig)
{
	uint64_t off = gpa - gm->hit.gpa;

	if (__builtin_expect(off >= gm->hit.size, 0)) {
		unsigned i;

		for (i = 0; i < gm->count; i++) {
			off = gpa - gm->region[i].gpa;
			if (off < gm->region[i].size)
				break;
		}
		if (i == gm->count)
			return NULL;
		gm->hit = (struct gm_hit){ gm->region[i].gpa, gm->region[i].size, gm->region[i].host };
	}
	*contig = len < gm->hit.size - off ? len : gm->hit.size - off;
	return gm->hit.host + off;
}

/* Whether all of [gpa, gpa + len) is client memory (possibly spread over
 * regions that follow each other). */
static inline bool gm_gpa_valid(struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	while (len) {
		uint64_t contig;

		if (!gm_gpa_to_host(gm, gpa, len, &contig))
			return false;
		gpa += contig;
		len -= contig;
	}
	return true;
}

/* Never inlined: within the fast path's loops (link-time optimisation
 * would put it there) its registers cost every packet spills. */
__attribute__((noinline)) uint8_t *gm_gpa_range_slow(struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Whether [gpa, gpa + len) lies in the region last hit: its host address
 * in *p if so. */
static inline bool gm_hit_range(const struct gm_hit *h, uint64_t gpa, uint64_t len, uint8_t **p)
{
	uint64_t off = gpa - h->gpa;

	/* No sum here can wrap: off < size, and len is compared with size - off. */
	if (__builtin_expect(off < h->size && len <= h->size - off, 1)) {
		*p = h->host + off;
		return true;
	}
	return false;
}

#if defined(__x86_64__)
/*
 * Four ranges against the region last hit at once, with AVX2 (only for
 * callers compiled for it, on a CPU that has it), each length below 2^32:
 * the lanes of those not wholly within it all ones in the result, the
 * host addresses of the others in *host. The end is compared and the
 * start too, which matters only when the end wrapped: a gpa below the
 * region's, whose offset is then beyond any region's size. (An empty
 * range at the region's very end passes, as no caller asks for one.)
 */
static inline __attribute__((always_inline, target("avx2"))) __m256i
gm_hit_range4_avx2(const struct gm_hit *h, __m256i gpa, __m256i len, __m256i *host)
{
	/* AVX2 compares signed: both sides moved by 2^63 compare unsigned. */
	const __m256i bias = _mm256_set1_epi64x(INT64_MIN);
	__m256i size = _mm256_xor_si256(_mm256_set1_epi64x((long long)h->size), bias);
	__m256i off = _mm256_sub_epi64(gpa, _mm256_set1_epi64x((long long)h->gpa));
	__m256i end = _mm256_add_epi64(off, len);

	*host = _mm256_add_epi64(off, _mm256_set1_epi64x((long long)(uintptr_t)h->host));
	return _mm256_or_si256(_mm256_cmpgt_epi64(_mm256_xor_si256(end, bias), size),
			       _mm256_cmpgt_epi64(_mm256_xor_si256(off, bias), size));
}
#endif

/* Host address of [gpa, gpa + len) when it lies within one region, else NULL. */
static inline uint8_t *gm_gpa_range(struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	uint8_t *p;

	if (gm_hit_range(&gm->hit, gpa, len, &p))
		return p;
	return gm_gpa_range_slow(gm, gpa, len);
}
/* Host address of the frontend virtual range [uva, uva + len) when it lies
 * within one region, else NULL. */
uint8_t *gm_uva_range(const struct guest_mem *gm, uint64_t uva, uint64_t len);
/* Bytes of client memory the regions cover. */
uint64_t gm_mapped_bytes(const struct guest_mem *gm);
/* Whether host address p lies in one of the mappings. */
bool gm_maps_host(const struct guest_mem *gm, const void *p);

#endif
