/* SPDX-License-Identifier: MIT */
/*
 * Packed rings: every descriptor of a chain must be marked available, not
 * only its first (virtio 1.2, 2.8.6; a device must not use a descriptor it
 * has not seen made available, 2.8.21). A chain that runs over the ring's
 * end carries the turned wrap counter in the part after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

#define NUM 5

/* Take the next TX chain and walk it to its end: the error on the way. */
static enum vq_error walk_one(struct fix_ring *r, unsigned *pieces)
{
	struct vq_chain c;
	enum vq_error e;
	bool got;

	vq_take_begin(&r->vq);
	e = vq_take(&r->vq, &c, false, &got);
	assert_int_equal(e, VQ_OK);
	assert_true(got);
	*pieces = 0;
	for (;;) {
		uint8_t *p;
		uint32_t len;

		e = vq_chain_next(&c, 1u << 20, &p, &len);
		if (e || !len)
			break;
		(*pieces)++;
	}
	if (e)
		return e;
	e = vq_used(&r->vq, &c, 0);
	if (e)
		return e;
	vq_commit(&r->vq);
	vq_publish(&r->vq);
	return VQ_OK;
}

static void post_chain(struct fixture *f, struct fix_ring *r, unsigned n)
{
	struct fix_buf b[NUM];

	for (unsigned i = 0; i < n; i++)
		b[i] = (struct fix_buf){ fix_alloc(f, 64, 8), 64, false };
	fix_post(r, b, n);
}

/* A fresh packed ring of NUM (wrap counter 1), in memory of its own. */
static void ring_init(struct fixture *f, struct fix_ring *r)
{
	fix_init(f, 1);
	fix_ring_init_fmt(f, r, NUM, true, false, false, 0x8000);
}

static void ring_fini(struct fixture *f, struct fix_ring *r)
{
	vq_fini(&r->vq);
	fix_fini(f);
}

/* The ring's first chain, of three (slots 0-2), taken whole and used: the
 * next chain of three runs over the ring's end (slots 3, 4 and 0). */
static void first_chain(struct fixture *f, struct fix_ring *r)
{
	unsigned pieces;
	uint16_t id;
	uint32_t len;

	post_chain(f, r, 3);
	assert_int_equal(walk_one(r, &pieces), VQ_OK);
	assert_int_equal(pieces, 3);
	assert_true(fix_used(r, &id, &len));
}

static void test_chain_over_the_end(void **state)
{
	struct fixture f;
	struct fix_ring r;
	unsigned pieces;
	uint16_t id;
	uint32_t len;

	(void)state;
	ring_init(&f, &r);
	first_chain(&f, &r);
	post_chain(&f, &r, 3); /* slots 3, 4 and 0 on the next lap */
	assert_int_equal(walk_one(&r, &pieces), VQ_OK);
	assert_int_equal(pieces, 3);
	assert_true(fix_used(&r, &id, &len));
	ring_fini(&f, &r);
}

/* The descriptor after the head as it was: not made available again. */
static void test_chain_into_a_stale_slot(void **state)
{
	struct fixture f;
	struct fix_ring r;
	unsigned pieces;

	(void)state;
	ring_init(&f, &r);
	first_chain(&f, &r);
	post_chain(&f, &r, 3); /* slots 3, 4, 0 */
	/* Slot 0 keeps the flags of the lap before: the used element's. */
	r.ring[0].flags = r.ring[1].flags;
	assert_int_equal(walk_one(&r, &pieces), VQ_ERR_NOT_AVAIL);
	ring_fini(&f, &r);
}

/* Within a lap: a second descriptor marked used, or with the other lap's
 * bits, is not available either; nothing of the chain is used. */
static void test_chain_with_lying_flags(void **state)
{
	static const uint16_t lies[] = { 0x8080, 0x8000, 0x0000 };

	(void)state;
	for (unsigned i = 0; i < sizeof lies / sizeof lies[0]; i++) {
		struct fixture f;
		struct fix_ring r;
		unsigned pieces;
		uint16_t id;
		uint32_t len;

		ring_init(&f, &r);
		post_chain(&f, &r, 2);
		r.ring[1].flags = lies[i];
		assert_int_equal(walk_one(&r, &pieces), VQ_ERR_NOT_AVAIL);
		assert_int_equal(pieces, 1);
		assert_false(fix_used(&r, &id, &len));
		assert_string_equal(vq_error_str(VQ_ERR_NOT_AVAIL),
				    "descriptor of a chain not made available");
		ring_fini(&f, &r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_over_the_end),
		cmocka_unit_test(test_chain_into_a_stale_slot),
		cmocka_unit_test(test_chain_with_lying_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
