/* SPDX-License-Identifier: MIT */
/*
 * The ring module (virtio/virtqueue.h) against drivers that break the ring
 * rules, and the orders of calls its contract allows: what fuzz_virtqueue
 * found, one test each. Each plays the driver with the fixture's helpers,
 * then does to its ring what it must not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "virtio/virtqueue.h"

#define BUF_LEN 256

struct ctx {
	struct fixture f;
	struct fix_ring r;
	uint64_t buf; /* a few buffers, BUF_LEN each */
};

static int setup(void **state)
{
	static struct ctx c;

	memset(&c, 0, sizeof c);
	fix_init(&c.f, 1);
	c.buf = fix_alloc(&c.f, 8 * BUF_LEN, 64);
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

/* Post a chain of n writable buffers. */
static uint16_t post(struct ctx *c, unsigned n)
{
	struct fix_buf b[4];

	assert_true(n <= 4);
	for (unsigned i = 0; i < n; i++)
		b[i] = (struct fix_buf){ .addr = c->buf + i * BUF_LEN, .len = BUF_LEN, .write = true };
	return fix_post(&c->r, b, n);
}

/* Take the next chain, walk it whole, give it back with len bytes. */
static enum vq_error take_use(struct ctx *c, uint32_t len, uint16_t *id)
{
	struct vq_chain ch;
	struct vq_done done;
	enum vq_error e;
	bool got;

	e = vq_take(&c->r.vq, &ch, true, &got);
	if (e)
		return e;
	assert_true(got);
	for (;;) {
		uint8_t *p;
		uint32_t n;

		e = vq_chain_next(&ch, UINT32_MAX, &p, &n);
		if (e || !n)
			break;
	}
	if (e)
		return e;
	e = vq_chain_end(&ch, &done);
	if (e)
		return e;
	*id = done.id;
	return vq_used_done(&c->r.vq, &done, len);
}

/* A split driver that posts again past used elements not yet published
 * (its avail index more than a ring ahead of the used index it sees)
 * is refused: else the device writes more used elements than the ring
 * holds, over each other. */
static void test_split_posts_past_unpublished(void **state)
{
	struct ctx *c = *state;
	uint16_t id;
	bool any;

	fix_ring_init_fmt(&c->f, &c->r, 2, false, false, false, 0);
	post(c, 1);
	post(c, 1);
	vq_take_begin(&c->r.vq);
	assert_int_equal(take_use(c, 10, &id), VQ_OK);
	assert_int_equal(take_use(c, 20, &id), VQ_OK);
	vq_commit(&c->r.vq);
	/* Both buffers are the device's until published; the driver posts
	 * two more anyway. */
	post(c, 1);
	post(c, 1);
	vq_take_begin(&c->r.vq);
	assert_int_equal(vq_avail(&c->r.vq, &any), VQ_ERR_AVAIL_IDX);
}

/* A split ring that stops gives no more than it held, however the
 * caller asks: vq_avail_grew does not look again. */
static void test_split_frozen_does_not_grow(void **state)
{
	struct ctx *c = *state;
	struct vq_chain ch;
	bool grew, got;

	fix_ring_init_fmt(&c->f, &c->r, 4, false, false, false, 0);
	post(c, 1);
	vq_freeze(&c->r.vq);
	post(c, 1);
	assert_int_equal(vq_avail_grew(&c->r.vq, &grew), VQ_OK);
	assert_false(grew);
	vq_take_begin(&c->r.vq);
	assert_int_equal(vq_take(&c->r.vq, &ch, true, &got), VQ_OK);
	assert_true(got);
	assert_int_equal(vq_take(&c->r.vq, &ch, true, &got), VQ_OK);
	assert_false(got);
}

/* A packed driver that makes a slot available again before the device
 * gave it back: a chain that starts there is not taken until the device
 * publishes; one that runs on into it fails the ring. Else two used
 * elements could cover one slot, the later overwriting the earlier. */
static void test_packed_slots_held(void **state)
{
	struct ctx *c = *state;
	uint16_t id, got_id;
	uint32_t len;
	bool any;

	/* A ring of 2: chain A takes both slots; B reuses slot 0. */
	fix_ring_init_fmt(&c->f, &c->r, 2, true, false, false, 0x8000);
	post(c, 2);
	vq_take_begin(&c->r.vq);
	assert_int_equal(take_use(c, 10, &id), VQ_OK);
	vq_commit(&c->r.vq);
	post(c, 1);
	vq_take_begin(&c->r.vq);
	assert_int_equal(vq_avail(&c->r.vq, &any), VQ_OK);
	assert_false(any);
	/* A comes back whole, in its place (over B's head: the driver's own
	 * doing). */
	vq_publish(&c->r.vq);
	assert_true(fix_used(&c->r, &got_id, &len));
	assert_int_equal(got_id, id);
	assert_int_equal(len, 10);
	assert_false(fix_used(&c->r, &got_id, &len));
	vq_fini(&c->r.vq);

	/* A ring of 3: A takes slots 0 and 1; B starts at slot 2 and runs on
	 * into slot 0, which A still holds. */
	fix_ring_init_fmt(&c->f, &c->r, 3, true, false, false, 0x8000);
	post(c, 2);
	vq_take_begin(&c->r.vq);
	assert_int_equal(take_use(c, 10, &id), VQ_OK);
	vq_commit(&c->r.vq);
	post(c, 2);
	vq_take_begin(&c->r.vq);
	assert_int_equal(take_use(c, 20, &id), VQ_ERR_LOOP);
}

/* A fresh ring of 4 with two one-buffer chains taken: a used (10 bytes)
 * and committed, b used (20 bytes) and not committed yet; then a
 * publication. */
static void commit_one_of_two(struct ctx *c, bool packed, uint16_t *a, uint16_t *b)
{
	fix_ring_init_fmt(&c->f, &c->r, 4, packed, false, false, packed ? 0x8000 : 0);
	post(c, 1);
	post(c, 1);
	vq_take_begin(&c->r.vq);
	assert_int_equal(take_use(c, 10, a), VQ_OK);
	vq_commit(&c->r.vq);
	assert_int_equal(take_use(c, 20, b), VQ_OK);
	vq_publish(&c->r.vq);
}

/* Publishing while used elements are written but not committed (split
 * and packed alike): the committed ones become visible, the others stay
 * tentative and are published once, after their commit. */
static void test_publish_keeps_tentative(void **state)
{
	struct ctx *c = *state;

	for (int packed = 0; packed <= 1; packed++) {
		uint16_t a, b, id;
		uint32_t len;

		commit_one_of_two(c, packed, &a, &b);
		assert_true(fix_used(&c->r, &id, &len));
		assert_int_equal(id, a);
		assert_int_equal(len, 10);
		assert_false(fix_used(&c->r, &id, &len));
		vq_commit(&c->r.vq);
		vq_publish(&c->r.vq);
		assert_true(fix_used(&c->r, &id, &len));
		assert_int_equal(id, b);
		assert_int_equal(len, 20);
		assert_false(fix_used(&c->r, &id, &len));
		vq_fini(&c->r.vq);
		memset(&c->r, 0, sizeof c->r);
	}
}

/* A packed buffer id given back tentatively stays in use across a
 * publication: a driver that names it again for another chain before it
 * came back is refused as the walk reads the id, not given two used
 * elements for one buffer. */
static void test_packed_tentative_id_busy_across_publish(void **state)
{
	struct ctx *c = *state;
	uint16_t a, b, id;
	uint32_t len;

	commit_one_of_two(c, true, &a, &b);
	/* The driver names b again before it got it back. */
	c->r.next_id = b;
	post(c, 1);
	assert_int_equal(take_use(c, 30, &id), VQ_ERR_ID_BUSY);
	/* Only what was committed came back. */
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, a);
	assert_false(fix_used(&c->r, &id, &len));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_split_posts_past_unpublished),
		T(test_split_frozen_does_not_grow),
		T(test_packed_slots_held),
		T(test_publish_keeps_tentative),
		T(test_packed_tentative_id_busy_across_publish),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
