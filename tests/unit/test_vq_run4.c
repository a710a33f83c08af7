/* SPDX-License-Identifier: MIT */
/* The packed ring's four-wide step (vq_run_peek4, vq_run_get4,
 * vq_run_done4): when it goes, what it gives back, and when it says no;
 * and where the CPU has AVX2, vq_run_load4_avx2 agreeing with the first
 * two each time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "fixture.h"
#include "virtio/virtqueue.h"

#define NUM 8
#define BUF_LEN 256

/* How many answers of the AVX2 way were compared (0 without AVX2). */
static unsigned checked_avx2;

struct ctx {
	struct fixture f;
	struct fix_ring r;
	uint64_t buf;
};

static int setup(void **state)
{
	static struct ctx c;

	memset(&c, 0, sizeof c);
	fix_init(&c.f, 1);
	c.buf = fix_alloc(&c.f, NUM * BUF_LEN, 64);
	fix_ring_init_fmt(&c.f, &c.r, NUM, true, false, true, 0x8000);
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	vq_fini(&c->r.vq);
	fix_fini(&c->f);
	return 0;
}

/* n chains of one writable buffer each, buffer k at c->buf + k * BUF_LEN. */
static void post(struct ctx *c, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		uint16_t slot = c->r.avail_slot;

		fix_post(&c->r, &(struct fix_buf){ .addr = c->buf + slot * BUF_LEN, .len = BUF_LEN,
						   .write = true }, 1);
	}
}

/* One chain the one-at-a-time way. */
static void one(struct ctx *c, uint32_t len)
{
	struct vq_run r;
	struct vq_desc d;
	uint32_t tag = 0;

	assert_true(vq_run_begin(&c->r.vq, true, true, &r) > 0);
	assert_true(vq_run_peek(&r, true, true, &d, &tag));
	vq_run_done(&c->r.vq, &r, true, tag, len);
	vq_run_end(&c->r.vq, true, &r);
}

#if defined(__x86_64__)
/* The answer of one of the ring's four-at-once AVX2 reads (load:
 * vq_run_load4_avx2, else vq_run_hint4_avx2), its lanes in addr and len. */
__attribute__((target("avx2"))) static bool lanes4_avx2(bool load, const struct vq_run *r,
						       uint64_t addr[4], uint64_t len[4])
{
	__m256i a, l;

	if (!(load ? vq_run_load4_avx2(r, true, &a, &l) : vq_run_hint4_avx2(r, true, &a, &l)))
		return false;
	_mm256_storeu_si256((__m256i *)(void *)addr, a);
	_mm256_storeu_si256((__m256i *)(void *)len, l);
	return true;
}

/* Whether the four-wide hint says yes for the four after the next four;
 * where it does, its lanes are what vq_run_hint gives one by one. */
static bool hint4(struct ctx *c)
{
	struct vq_run r;
	uint64_t addr[4], len[4];
	bool yes;

	vq_run_begin(&c->r.vq, true, true, &r);
	yes = lanes4_avx2(false, &r, addr, len);
	for (unsigned i = 0; yes && i < 4; i++) {
		struct vq_desc d;

		assert_true(vq_run_hint(&c->r.vq, true, (uint16_t)(4 + i), &d));
		assert_int_equal(addr[i], d.addr);
		assert_int_equal(len[i], d.len);
	}
	checked_avx2++;
	return yes;
}

/* Buffers of lengths that tell them apart, on a ring of 16. */
static void post_varied(struct ctx *c, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		uint16_t slot = c->r.avail_slot;

		fix_post(&c->r, &(struct fix_buf){ .addr = c->buf + slot * 64, .len = 100 + slot,
						   .write = true }, 1);
	}
}

/* The receive buffers four after the next four, read at once for the
 * prefetch (vq_run_hint4_avx2): the same as vq_run_hint's one by one where
 * all four are there and short of the ring's end; no for the first since
 * the publication, when one is not available yet, or at the ring's end. */
static void test_hint4(void **state)
{
	struct ctx *c = *state;

	if (!__builtin_cpu_supports("avx2"))
		return;
	vq_fini(&c->r.vq);
	fix_ring_init_fmt(&c->f, &c->r, 16, true, false, true, 0x8000);
	post_varied(c, 8);
	/* Slot 0, the first since the publication. */
	assert_false(hint4(c));
	one(c, 1);
	/* Slots 5..8: 8 not there yet. */
	assert_false(hint4(c));
	post_varied(c, 1);
	assert_true(hint4(c));
	post_varied(c, 7);
	/* Past the ring's end, in fixture memory nothing else uses: what a
	 * 17th slot would hold if it were one, so that only the bound at the
	 * ring's end says no there. */
	c->r.ring[16].id = htole16(16);
	c->r.ring[16].flags = c->r.ring[15].flags;
	for (unsigned i = 1; i <= 8; i++) {
		one(c, 1);
		/* At slot i + 1: slots 6..9 on to 12..15, then over the end. */
		assert_int_equal(hint4(c), i <= 7);
	}
	vq_fini(&c->r.vq);
	fix_ring_init_fmt(&c->f, &c->r, NUM, true, false, true, 0x8000);
}
#endif

/* Whether the four-wide step may go (vq_run_peek4), checking that the
 * AVX2 way says the same and loads what vq_run_get4 gives. */
static bool peek4_dir(struct ctx *c, struct vq_run *r, bool device_writes)
{
	bool yes = vq_run_begin(&c->r.vq, true, device_writes, r) >= 4 && vq_run_peek4(r, true);

#if defined(__x86_64__)
	if (__builtin_cpu_supports("avx2")) {
		uint64_t addr[4], len[4];
		bool wide = vq_run_begin(&c->r.vq, true, device_writes, r) >= 4 &&
			    lanes4_avx2(true, r, addr, len);

		assert_int_equal(wide, yes);
		for (unsigned i = 0; wide && i < 4; i++) {
			struct vq_desc d;
			uint32_t tag;

			vq_run_get4(r, true, i, &d, &tag);
			assert_int_equal(addr[i], d.addr);
			assert_int_equal(len[i], d.len);
		}
		checked_avx2++;
	}
#endif
	return yes;
}

static bool peek4(struct ctx *c, struct vq_run *r)
{
	return peek4_dir(c, r, true);
}

static void expect_used(struct ctx *c, uint16_t id, uint32_t len)
{
	uint16_t got_id;
	uint32_t got_len;

	assert_true(fix_used(&c->r, &got_id, &got_len));
	assert_int_equal(got_id, id);
	assert_int_equal(got_len, len);
}

/* Four simple chains go four-wide: their copies as posted, their used
 * elements in place with their lengths, visible only when published. */
static void test_four_wide(void **state)
{
	struct ctx *c = *state;
	static const uint32_t len[4] = { 60, 0x7f, 1, 256 };
	struct vq_run r;
	uint16_t id;
	uint32_t l;

	post(c, 5);
	one(c, 10);
	assert_true(peek4(c, &r));
	for (unsigned i = 0; i < 4; i++) {
		struct vq_desc d;
		uint32_t tag;

		vq_run_get4(&r, true, i, &d, &tag);
		assert_int_equal(d.addr, c->buf + (1 + i) * BUF_LEN);
		assert_int_equal(d.len, BUF_LEN);
		assert_int_equal(vq_tag_id(tag), 1 + i);
	}
	vq_run_done4(&c->r.vq, &r, true, len);
	vq_run_end(&c->r.vq, true, &r);
	assert_false(fix_used(&c->r, &id, &l));
	vq_publish(&c->r.vq);
	expect_used(c, 0, 10);
	for (unsigned i = 0; i < 4; i++)
		expect_used(c, (uint16_t)(1 + i), len[i]);
	assert_false(fix_used(&c->r, &id, &l));
	assert_int_equal(vq_consumed(&c->r.vq), 5);
}

/* The first four since the publication go four-wide too, the first held
 * back: the driver sees none before the publication, then all in order;
 * the next step after them is four-wide again; after the publication,
 * again the first four. */
static void test_first_four(void **state)
{
	struct ctx *c = *state;
	struct vq_run r;
	uint16_t id;
	uint32_t l;

	post(c, NUM);
	assert_true(peek4(c, &r));
	vq_run_done4(&c->r.vq, &r, true, (const uint32_t[4]){ 11, 12, 13, 14 });
	vq_run_end(&c->r.vq, true, &r);
	assert_false(fix_used(&c->r, &id, &l));
	/* Slots 4..7: the last of them is the ring's last slot. */
	assert_false(peek4(c, &r));
	vq_publish(&c->r.vq);
	for (unsigned i = 0; i < 4; i++)
		expect_used(c, (uint16_t)i, 11 + i);
	assert_false(fix_used(&c->r, &id, &l));
	assert_int_equal(vq_consumed(&c->r.vq), 4);
	one(c, 15);
	one(c, 16);
	one(c, 17);
	one(c, 18);
	vq_publish(&c->r.vq);
	for (unsigned i = 4; i < NUM; i++)
		expect_used(c, (uint16_t)i, 11 + i);
	/* A lap on, slot 0 again: the first since the publication, four-wide. */
	post(c, 5);
	assert_true(peek4(c, &r));
	vq_run_done4(&c->r.vq, &r, true, (const uint32_t[4]){ 21, 22, 23, 24 });
	vq_run_end(&c->r.vq, true, &r);
	assert_false(fix_used(&c->r, &id, &l));
	vq_publish(&c->r.vq);
	for (unsigned i = 0; i < 4; i++)
		expect_used(c, (uint16_t)i, 21 + i);
	assert_int_equal(vq_consumed(&c->r.vq), NUM + 4);
}

/* Four from the last slots but four, the first since the publication
 * among them: not four-wide (slot 4's four reach the ring's last). */
static void test_first_at_end(void **state)
{
	struct ctx *c = *state;
	struct vq_run r;

	post(c, NUM);
	for (unsigned i = 0; i < 4; i++)
		one(c, 1);
	vq_publish(&c->r.vq);
	assert_false(peek4(c, &r));
	one(c, 1);
	/* Slot 5: three to the end. */
	assert_false(peek4(c, &r));
}

/* Four that would run over the ring's end (slots 5..7 and 0): not
 * four-wide; the one-at-a-time way takes them. */
static void test_ring_end(void **state)
{
	struct ctx *c = *state;
	struct vq_run r;

	post(c, NUM);
	one(c, 1);
	assert_true(peek4(c, &r));
	vq_run_done4(&c->r.vq, &r, true, (const uint32_t[4]){ 2, 3, 4, 5 });
	vq_run_end(&c->r.vq, true, &r);
	assert_false(peek4(c, &r));
	one(c, 6);
	assert_false(peek4(c, &r));
	one(c, 7);
	one(c, 8);
	vq_publish(&c->r.vq);
	for (unsigned i = 0; i < NUM; i++)
		expect_used(c, (uint16_t)i, 1 + i);
	/* Back at slot 0, the wrap counter turned. */
	assert_int_equal(vq_base(&c->r.vq) & 0xffff, 0);
}

/* Fewer than four available: no. */
static void test_not_all_available(void **state)
{
	struct ctx *c = *state;
	struct vq_run r;

	post(c, 4);
	one(c, 1);
	assert_false(peek4(c, &r));
	post(c, 1);
	assert_true(peek4(c, &r));
}

/* A chain of two, an indirect one, an id out of range, or one naming
 * another slot among the four: no (the one-at-a-time way sees them). */
static void test_not_simple(void **state)
{
	struct ctx *c = *state;
	struct fix_buf two[2] = { { c->buf, 64, true }, { c->buf + 64, 64, true } };
	struct vq_run r;

	post(c, 1);
	one(c, 1);
	/* Chained at the third. */
	post(c, 2);
	fix_post(&c->r, two, 2);
	post(c, 1);
	assert_false(peek4(c, &r));
	vq_fini(&c->r.vq);

	fix_ring_init_fmt(&c->f, &c->r, NUM, true, false, true, 0x8000);
	post(c, 1);
	one(c, 1);
	post(c, 3);
	fix_post_indirect(&c->f, &c->r, two, 2);
	assert_false(peek4(c, &r));
	vq_fini(&c->r.vq);

	for (unsigned bad = 0; bad < 2; bad++) {
		fix_ring_init_fmt(&c->f, &c->r, NUM, true, false, true, 0x8000);
		post(c, 1);
		one(c, 1);
		post(c, 3);
		/* Slot 4: an id beyond the ring, or slot 5's. */
		fix_pdesc(&c->r, 4, c->buf, 64, bad ? NUM + 3 : 5,
			  fix_avail_flags(true) | VRING_DESC_F_WRITE);
		assert_false(peek4(c, &r));
		vq_fini(&c->r.vq);
	}
	fix_ring_init_fmt(&c->f, &c->r, NUM, true, false, true, 0x8000);
}

/* A device-readable ring: WRITE expected clear. */
static void test_direction(void **state)
{
	struct ctx *c = *state;
	struct vq_run r;

	post(c, 5);
	one(c, 1);
	assert_false(peek4_dir(c, &r, false));
}

/* Lengths and addresses of every size reach the AVX2 lanes whole: the
 * length is the low half of its word (widened, not sign-extended), the
 * address all 64 bits. */
static void test_wide_fields(void **state)
{
	struct ctx *c = *state;
	static const uint32_t lens[4] = { 0, 0xffffffffu, 0x80000000u, 12 };
	static const uint64_t addrs[4] = { 0, ~0ull, 1ull << 63, 0x123456789abcdef0ull };
	struct vq_run r;

	post(c, 1);
	one(c, 1);
	for (unsigned i = 0; i < 4; i++)
		fix_pdesc(&c->r, (uint16_t)(1 + i), addrs[i], lens[i], (uint16_t)(1 + i),
			  fix_avail_flags(true) | VRING_DESC_F_WRITE);
	assert_true(peek4(c, &r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_four_wide, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_four, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_at_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_all_available, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_simple, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wide_fields, setup, teardown),
#if defined(__x86_64__)
		cmocka_unit_test_setup_teardown(test_hint4, setup, teardown),
#endif
	};

	int failed = cmocka_run_group_tests(tests, NULL, NULL);

#if defined(__x86_64__)
	/* With AVX2 here, the AVX2 way must have been compared. */
	if (__builtin_cpu_supports("avx2") && checked_avx2 < 10) {
		fprintf(stderr, "the AVX2 way was compared %u times only\n", checked_avx2);
		failed++;
	}
#endif
	return failed;
}
