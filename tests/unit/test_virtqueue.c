/* SPDX-License-Identifier: MIT */
/*
 * The split virtqueue's device side against hand-made rings: every check
 * of a descriptor chain, the used ring's commit and publish, and the
 * notification wishes in both directions, with and without EVENT_IDX.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

struct ctx {
	struct fixture f;
	struct fix_ring r;
};

static int setup(void **state)
{
	static struct ctx c;

	memset(&c, 0, sizeof c);
	fix_init(&c.f, 2);
	fix_ring_init(&c.f, &c.r, 8, true, true);
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	fix_fini(&c->f);
	return 0;
}

/* Walk a whole chain; returns the error and the bytes it covered. */
static enum vq_error walk(struct ctx *c, uint16_t head, bool device_writes, uint64_t *bytes,
			  unsigned *pieces)
{
	struct vq_chain ch;
	enum vq_error e;

	*bytes = 0;
	*pieces = 0;
	vq_chain_begin(&c->r.vq, &ch, head, device_writes);
	for (;;) {
		uint8_t *p;
		uint32_t n;

		e = vq_chain_next(&ch, UINT32_MAX, &p, &n);
		if (e || n == 0)
			return e;
		*bytes += n;
		(*pieces)++;
	}
}

static void test_avail_count_and_heads(void **state)
{
	struct ctx *c = *state;
	uint16_t n, head;

	assert_int_equal(vq_avail_count(&c->r.vq, &n), VQ_OK);
	assert_int_equal(n, 0);
	fix_publish(&c->r, 3);
	fix_publish(&c->r, 5);
	assert_int_equal(vq_avail_count(&c->r.vq, &n), VQ_OK);
	assert_int_equal(n, 2);
	assert_int_equal(vq_avail_head(&c->r.vq, 0, &head), VQ_OK);
	assert_int_equal(head, 3);
	assert_int_equal(vq_avail_head(&c->r.vq, 1, &head), VQ_OK);
	assert_int_equal(head, 5);
	/* A head beyond the ring. */
	fix_publish(&c->r, 8);
	assert_int_equal(vq_avail_refresh(&c->r.vq, &n), VQ_OK);
	assert_int_equal(n, 3);
	assert_int_equal(vq_avail_head(&c->r.vq, 2, &head), VQ_ERR_HEAD);
}

static void test_avail_index_jump(void **state)
{
	struct ctx *c = *state;
	uint16_t n;

	c->r.avail->idx = 9; /* nine new entries in a ring of eight */
	assert_int_equal(vq_avail_refresh(&c->r.vq, &n), VQ_ERR_AVAIL_IDX);
	c->r.avail->idx = 8;
	assert_int_equal(vq_avail_refresh(&c->r.vq, &n), VQ_OK);
	assert_int_equal(n, 8);
	/* Wrapping around 16 bits is fine as long as the distance is small. */
	c->r.vq.last_avail = 65534;
	c->r.avail->idx = 2;
	assert_int_equal(vq_avail_refresh(&c->r.vq, &n), VQ_OK);
	assert_int_equal(n, 4);
}

static void test_direct_chain(void **state)
{
	struct ctx *c = *state;
	uint64_t a = fix_alloc(&c->f, 4096, 16), bytes;
	unsigned pieces;

	fix_desc(&c->r, 0, a, 12, VRING_DESC_F_NEXT, 4);
	fix_desc(&c->r, 4, a + 100, 0, VRING_DESC_F_NEXT, 6); /* empty: skipped */
	fix_desc(&c->r, 6, a + 200, 1000, 0, 0);
	assert_int_equal(walk(c, 0, false, &bytes, &pieces), VQ_OK);
	assert_int_equal(bytes, 1012);
	assert_int_equal(pieces, 2);
}

static void test_piece_limited_by_max(void **state)
{
	struct ctx *c = *state;
	uint64_t a = fix_alloc(&c->f, 4096, 16);
	struct vq_chain ch;
	uint8_t *p;
	uint32_t n;

	fix_desc(&c->r, 0, a, 100, 0, 0);
	vq_chain_begin(&c->r.vq, &ch, 0, false);
	assert_int_equal(vq_chain_next(&ch, 30, &p, &n), VQ_OK);
	assert_int_equal(n, 30);
	assert_ptr_equal(p, fix_host(&c->f, a));
	assert_int_equal(vq_chain_next(&ch, 1000, &p, &n), VQ_OK);
	assert_int_equal(n, 70);
	assert_ptr_equal(p, fix_host(&c->f, a + 30));
	assert_int_equal(vq_chain_next(&ch, 1000, &p, &n), VQ_OK);
	assert_int_equal(n, 0);
}

/* A buffer running from one region into the next comes in two pieces. */
static void test_buffer_across_regions(void **state)
{
	struct ctx *c = *state;
	uint64_t border = FIX_GPA + FIX_REGION, bytes;
	unsigned pieces;

	fix_desc(&c->r, 0, border - 100, 300, 0, 0);
	assert_int_equal(walk(c, 0, false, &bytes, &pieces), VQ_OK);
	assert_int_equal(bytes, 300);
	assert_int_equal(pieces, 2);
	/* Past the end of the last region it is refused. */
	fix_desc(&c->r, 0, FIX_GPA + 2 * FIX_REGION - 10, 11, 0, 0);
	assert_int_equal(walk(c, 0, false, &bytes, &pieces), VQ_ERR_ADDR);
}

static void test_bad_addresses(void **state)
{
	struct ctx *c = *state;
	uint64_t bytes;
	unsigned pieces;

	fix_desc(&c->r, 0, 0, 10, 0, 0); /* below every region */
	assert_int_equal(walk(c, 0, false, &bytes, &pieces), VQ_ERR_ADDR);
	fix_desc(&c->r, 0, UINT64_MAX - 5, 10, 0, 0); /* wraps */
	assert_int_equal(walk(c, 0, false, &bytes, &pieces), VQ_ERR_ADDR);
	/* Ring addresses are user addresses: a uva is not a valid gpa. */
	fix_desc(&c->r, 0, FIX_UVA, 10, 0, 0);
	assert_int_equal(walk(c, 0, false, &bytes, &pieces), VQ_ERR_ADDR);
}

static void test_loops_and_next(void **state)
{
	struct ctx *c = *state;
	uint64_t a = fix_alloc(&c->f, 64, 16), bytes;
	unsigned pieces;

	fix_desc(&c->r, 0, a, 10, VRING_DESC_F_NEXT, 1);
	fix_desc(&c->r, 1, a, 10, VRING_DESC_F_NEXT, 0);
	assert_int_equal(walk(c, 0, false, &bytes, &pieces), VQ_ERR_LOOP);
	fix_desc(&c->r, 1, a, 10, VRING_DESC_F_NEXT, 1); /* self loop */
	assert_int_equal(walk(c, 0, false, &bytes, &pieces), VQ_ERR_LOOP);
	fix_desc(&c->r, 1, a, 10, VRING_DESC_F_NEXT, 8); /* next past the table */
	assert_int_equal(walk(c, 0, false, &bytes, &pieces), VQ_ERR_NEXT);
	/* A chain as long as the ring itself is still fine. */
	for (uint16_t i = 0; i < 8; i++)
		fix_desc(&c->r, i, a, 1, i < 7 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	assert_int_equal(walk(c, 0, false, &bytes, &pieces), VQ_OK);
	assert_int_equal(bytes, 8);
}

static void test_direction(void **state)
{
	struct ctx *c = *state;
	uint64_t a = fix_alloc(&c->f, 64, 16), bytes;
	unsigned pieces;

	/* Readable then writable: fine for neither TX nor RX. */
	fix_desc(&c->r, 0, a, 10, VRING_DESC_F_NEXT, 1);
	fix_desc(&c->r, 1, a, 10, VRING_DESC_F_WRITE, 0);
	assert_int_equal(walk(c, 0, false, &bytes, &pieces), VQ_ERR_DIRECTION);
	assert_int_equal(walk(c, 0, true, &bytes, &pieces), VQ_ERR_DIRECTION);
	fix_desc(&c->r, 0, a, 10, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	assert_int_equal(walk(c, 0, true, &bytes, &pieces), VQ_OK);
	assert_int_equal(walk(c, 0, false, &bytes, &pieces), VQ_ERR_DIRECTION);
}

static uint64_t indirect_table(struct ctx *c, unsigned entries, struct vring_desc **t)
{
	uint64_t gpa = fix_alloc(&c->f, 16ull * entries, 16);

	*t = (struct vring_desc *)(void *)fix_host(&c->f, gpa);
	return gpa;
}

static void test_indirect(void **state)
{
	struct ctx *c = *state;
	uint64_t a = fix_alloc(&c->f, 4096, 16), bytes;
	struct vring_desc *t;
	uint64_t tg = indirect_table(c, 20, &t);
	unsigned pieces;

	/* A direct descriptor leading to an indirect table of 20 entries:
	 * longer than the ring (8), which the table's own bound allows. */
	for (uint16_t i = 0; i < 20; i++)
		t[i] = (struct vring_desc){ a + i * 10, 10, i < 19 ? VRING_DESC_F_NEXT : 0,
					    (uint16_t)(i + 1) };
	fix_desc(&c->r, 2, a, 12, VRING_DESC_F_NEXT, 3);
	fix_desc(&c->r, 3, tg, 20 * 16, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk(c, 2, false, &bytes, &pieces), VQ_OK);
	assert_int_equal(bytes, 12 + 200);

	/* A loop inside the table. */
	t[19].flags = VRING_DESC_F_NEXT;
	t[19].next = 0;
	assert_int_equal(walk(c, 3, false, &bytes, &pieces), VQ_ERR_LOOP);
	t[19].next = 20;
	assert_int_equal(walk(c, 3, false, &bytes, &pieces), VQ_ERR_NEXT);
	t[19].flags = 0;

	/* Nested indirect, indirect with NEXT, bad lengths, outside memory. */
	t[5].flags = VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT;
	assert_int_equal(walk(c, 3, false, &bytes, &pieces), VQ_ERR_INDIRECT_NESTED);
	t[5].flags = VRING_DESC_F_NEXT;
	fix_desc(&c->r, 3, tg, 20 * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 4);
	assert_int_equal(walk(c, 3, false, &bytes, &pieces), VQ_ERR_INDIRECT_NEXT);
	fix_desc(&c->r, 3, tg, 17, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk(c, 3, false, &bytes, &pieces), VQ_ERR_INDIRECT_LEN);
	fix_desc(&c->r, 3, tg, 0, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk(c, 3, false, &bytes, &pieces), VQ_ERR_INDIRECT_LEN);
	fix_desc(&c->r, 3, FIX_GPA + 2 * FIX_REGION - 16, 32, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk(c, 3, false, &bytes, &pieces), VQ_ERR_INDIRECT_ADDR);
	/* A table may not straddle two regions either. */
	fix_desc(&c->r, 3, FIX_GPA + FIX_REGION - 16, 32, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk(c, 3, false, &bytes, &pieces), VQ_ERR_INDIRECT_ADDR);

	/* Without INDIRECT_DESC negotiated, no indirect descriptor at all. */
	fix_desc(&c->r, 3, tg, 20 * 16, VRING_DESC_F_INDIRECT, 0);
	c->r.vq.indirect = false;
	assert_int_equal(walk(c, 3, false, &bytes, &pieces), VQ_ERR_INDIRECT_FEATURE);
	c->r.vq.indirect = true;
}

static void test_used_ring(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;

	vq_used_put(vq, 0, 5, 100);
	vq_used_put(vq, 1, 6, 200);
	assert_int_equal(c->r.used->idx, 0);
	vq_used_commit(vq, 1); /* only the first is a whole packet */
	vq_used_publish(vq);
	assert_int_equal(c->r.used->idx, 1);
	assert_int_equal(c->r.used->ring[0].id, 5);
	assert_int_equal(c->r.used->ring[0].len, 100);
	/* Uncommitted elements are overwritten by the next put. */
	vq_used_put(vq, 0, 7, 300);
	vq_used_commit(vq, 1);
	vq_used_publish(vq);
	assert_int_equal(c->r.used->idx, 2);
	assert_int_equal(c->r.used->ring[1].id, 7);
	/* Publishing nothing writes nothing. */
	c->r.used->idx = 99;
	vq_used_publish(vq);
	assert_int_equal(c->r.used->idx, 99);
}

static uint16_t avail_event(struct ctx *c)
{
	return *(uint16_t *)(void *)&c->r.used->ring[c->r.num];
}

static void test_kick_wishes(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	uint16_t n;

	/* With EVENT_IDX: enabling asks for a kick past what was seen. */
	fix_publish(&c->r, 1);
	fix_publish(&c->r, 2);
	assert_int_equal(vq_avail_refresh(vq, &n), VQ_OK);
	vq_kicks_reset(vq, true);
	assert_int_equal(avail_event(c), 2);
	/* Disabling puts the event index behind anything the driver adds. */
	vq->last_avail = 2;
	vq_kicks_disable(vq);
	assert_int_equal(avail_event(c), 1);
	assert_false(vring_need_event(avail_event(c), 3, 2));
	assert_false(vring_need_event(avail_event(c), 10, 2));

	/* Without EVENT_IDX: the NO_NOTIFY flag. */
	vq->event_idx = false;
	vq_kicks_reset(vq, false);
	assert_int_equal(c->r.used->flags, VRING_USED_F_NO_NOTIFY);
	vq_kicks_enable(vq);
	assert_int_equal(c->r.used->flags, 0);
}

static void test_interrupt_wishes(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;

	/* Nothing published: no interrupt. */
	assert_false(vq_needs_signal(vq));

	/* Without EVENT_IDX the driver's NO_INTERRUPT flag decides. */
	vq->event_idx = false;
	vq_used_put(vq, 0, 0, 0);
	vq_used_commit(vq, 1);
	vq_used_publish(vq);
	c->r.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	assert_false(vq_needs_signal(vq));
	vq_used_commit(vq, 1);
	vq_used_publish(vq);
	c->r.avail->flags = 0;
	assert_true(vq_needs_signal(vq));

	/* With EVENT_IDX: only when used_event was crossed. */
	vq->event_idx = true;
	vq_used_commit(vq, 1);
	vq_used_publish(vq); /* used idx 3; first check always signals */
	assert_true(vq_needs_signal(vq));
	c->r.avail->ring[c->r.num] = 10; /* used_event: wake me at 11 */
	vq_used_commit(vq, 5);
	vq_used_publish(vq); /* 8 */
	assert_false(vq_needs_signal(vq));
	vq_used_commit(vq, 5);
	vq_used_publish(vq); /* 13: crossed 10 */
	assert_true(vq_needs_signal(vq));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_avail_count_and_heads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_avail_index_jump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_piece_limited_by_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffer_across_regions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loops_and_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_used_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kick_wishes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_wishes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
