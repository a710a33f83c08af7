/* SPDX-License-Identifier: MIT */
/*
 * The driver library's half of a packed ring (lib/vnd_pring.c), with the
 * device played by hand: a batch becomes available by its first
 * descriptor's flags only; kicks follow the device's event suppression
 * (ENABLE, DISABLE, DESC with EVENT_IDX, across laps); used elements are
 * read one buffer at a time, out of order, or one element for an in-order
 * batch; ids the device should not name are refused; the wrap counter
 * turns in the right places.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "vnd_internal.h"

#define NUM 5
#define F_AVAIL 0x80
#define F_USED 0x8000

struct pq_fixture {
	struct vnd_pqueue q;
	struct vring_packed_desc ring[NUM];
	struct vring_packed_desc_event driver_event, device_event;
};

static void pq_init(struct pq_fixture *f, bool event_idx, bool in_order)
{
	memset(f, 0, sizeof *f);
	assert_int_equal(vnd_pq_alloc_state(&f->q, NUM), 0);
	f->q.ring = f->ring;
	f->q.driver_event = &f->driver_event;
	f->q.device_event = &f->device_event;
	f->q.event_idx = event_idx;
	f->q.in_order = in_order;
	f->q.kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(f->q.kick_fd >= 0);
	vnd_pq_reset(&f->q, NUM);
}

static void pq_fini(struct pq_fixture *f)
{
	close(f->q.kick_fd);
	vnd_pq_free_state(&f->q);
}

/* Kicks since the last look. */
static uint64_t kicks(struct pq_fixture *f)
{
	eventfd_t v = 0;

	return eventfd_read(f->q.kick_fd, &v) == 0 ? v : 0;
}

/* A chain of n descriptors (addresses 0x1000 * (slot + 1)); its id. */
static uint16_t chain(struct pq_fixture *f, unsigned n)
{
	uint16_t id;

	assert_true(vnd_pq_room(&f->q, n));
	id = vnd_pq_begin(&f->q, n);
	for (unsigned k = 0; k < n; k++)
		vnd_pq_put(&f->q, 0x1000ull * (f->q.avail_slot + 1), 100, id,
			   k + 1 < n ? VRING_DESC_F_NEXT : 0);
	return id;
}

/* The device marks a used element at slot for the given lap. */
static void device_used(struct pq_fixture *f, uint16_t slot, bool wrap, uint16_t id, uint32_t len)
{
	f->ring[slot].id = id;
	f->ring[slot].len = len;
	f->ring[slot].flags = (uint16_t)((wrap ? F_AVAIL | F_USED : 0) | VRING_DESC_F_WRITE);
}

static void expect_used(struct pq_fixture *f, struct vnd_pcursor *c, uint16_t id, uint32_t len,
			bool whole)
{
	uint16_t got;
	uint32_t l;
	bool w;

	assert_int_equal(vnd_pq_next_used(&f->q, c, &got, &l, &w), 1);
	assert_int_equal(got, id);
	assert_int_equal(w, whole);
	if (!whole)
		assert_int_equal(l, len);
}

/* A batch is invisible until flushed; then all of it, with the wrap bits. */
static void test_batch_made_available_by_its_first(void **state)
{
	struct pq_fixture f;

	(void)state;
	pq_init(&f, false, false);
	chain(&f, 2);
	chain(&f, 1);
	assert_int_equal(f.ring[0].flags, 0);              /* not yet */
	assert_int_equal(f.ring[1].flags, F_AVAIL);        /* the rest: written */
	assert_int_equal(f.ring[2].flags & F_AVAIL, F_AVAIL);
	vnd_pq_flush(&f.q);
	assert_int_equal(f.ring[0].flags, F_AVAIL | VRING_DESC_F_NEXT);
	assert_int_equal(f.ring[1].id, f.ring[0].id);      /* the id in every descriptor */
	assert_int_equal(kicks(&f), 1);                    /* ENABLE: a kick */
	vnd_pq_flush(&f.q);
	assert_int_equal(kicks(&f), 0);                    /* nothing new: none */
	pq_fini(&f);
}

/* The device gives back what the next used element names; we take it. */
static void take_used(struct pq_fixture *f, uint16_t id)
{
	struct vnd_pcursor c;

	device_used(f, f->q.used.slot, f->q.used.wrap, id, 0);
	vnd_pq_cursor(&f->q, &c);
	expect_used(f, &c, id, 0, false);
	vnd_pq_free_id(&f->q, id);
	vnd_pq_consume(&f->q, &c);
}

static void test_kicks_follow_the_device(void **state)
{
	struct pq_fixture f;
	uint16_t a, b, d;

	(void)state;
	pq_init(&f, true, false);
	f.device_event.flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	a = chain(&f, 1); /* slot 0 */
	vnd_pq_flush(&f.q);
	assert_int_equal(kicks(&f), 0);
	/* DESC: a kick only when the descriptor asked for was made available now. */
	f.device_event.flags = VRING_PACKED_EVENT_FLAG_DESC;
	f.device_event.off_wrap = 0x8000 | 3; /* slot 3, lap 1 */
	b = chain(&f, 1);                      /* slot 1 */
	vnd_pq_flush(&f.q);
	assert_int_equal(kicks(&f), 0);
	d = chain(&f, 2);                      /* slots 2-3 */
	vnd_pq_flush(&f.q);
	assert_int_equal(kicks(&f), 1);
	/* Across the ring's end: slot 4 of lap 1 and slot 0 of lap 0. */
	take_used(&f, a);
	f.device_event.off_wrap = 0; /* slot 0, lap 0 */
	chain(&f, 2);
	assert_int_equal(f.ring[0].flags, F_USED); /* lap 0: AVAIL clear, USED set */
	vnd_pq_flush(&f.q);
	assert_int_equal(f.ring[4].flags, F_AVAIL | VRING_DESC_F_NEXT);
	assert_int_equal(kicks(&f), 1);
	take_used(&f, b);
	take_used(&f, d);
	/* An event of the lap before: long past, no kick. */
	f.device_event.off_wrap = 0x8000 | 2;
	chain(&f, 1); /* slot 1 of lap 0 */
	vnd_pq_flush(&f.q);
	assert_int_equal(kicks(&f), 0);
	f.device_event.off_wrap = 2; /* slot 2 of lap 0: now */
	chain(&f, 1);
	vnd_pq_flush(&f.q);
	assert_int_equal(kicks(&f), 1);
	/* Reserved flags: kicked rather than stalled. */
	f.device_event.flags = 3;
	chain(&f, 1);
	vnd_pq_flush(&f.q);
	assert_int_equal(kicks(&f), 1);
	pq_fini(&f);

	/* DESC without EVENT_IDX means nothing: kicked. */
	pq_init(&f, false, false);
	f.device_event.flags = VRING_PACKED_EVENT_FLAG_DESC;
	f.device_event.off_wrap = 0x8000 | 4;
	chain(&f, 1);
	vnd_pq_flush(&f.q);
	assert_int_equal(kicks(&f), 1);
	pq_fini(&f);
}

/* Without IN_ORDER the device may use buffers in any order: each element
 * is followed by its own chain's slots. */
static void test_used_out_of_order(void **state)
{
	struct pq_fixture f;
	struct vnd_pcursor c;
	uint16_t a, b, d;

	(void)state;
	pq_init(&f, false, false);
	a = chain(&f, 2); /* slots 0-1 */
	b = chain(&f, 2); /* slots 2-3 */
	d = chain(&f, 1); /* slot 4 */
	vnd_pq_flush(&f.q);
	device_used(&f, 0, true, d, 11);
	device_used(&f, 1, true, b, 22);
	device_used(&f, 3, true, a, 33);
	vnd_pq_cursor(&f.q, &c);
	expect_used(&f, &c, d, 11, false);
	expect_used(&f, &c, b, 22, false);
	expect_used(&f, &c, a, 33, false);
	{
		uint16_t id;
		uint32_t len;
		bool whole;

		assert_int_equal(vnd_pq_next_used(&f.q, &c, &id, &len, &whole), 0);
	}
	vnd_pq_free_id(&f.q, a);
	vnd_pq_free_id(&f.q, b);
	vnd_pq_free_id(&f.q, d);
	vnd_pq_consume(&f.q, &c);
	assert_int_equal(f.q.free_slots, NUM);
	assert_int_equal(vnd_pq_base(&f.q), 0x00000000u); /* both sides at slot 0 of lap 0 */
	pq_fini(&f);
}

/* Three chains (a: 1 slot, b: 2, d: 1) made available, and one used
 * element in slot 0 that names d (44 bytes): with IN_ORDER a batch of
 * all three, without it d alone. */
static void batch_of_three(struct pq_fixture *f, bool in_order, uint16_t *a, uint16_t *b,
			   uint16_t *d)
{
	pq_init(f, false, in_order);
	*a = chain(f, 1);
	*b = chain(f, 2);
	*d = chain(f, 1);
	vnd_pq_flush(&f->q);
	device_used(f, 0, true, *d, 44);
}

/* With IN_ORDER one element may stand for a batch: it names the batch's
 * last buffer and sits in the first's slot; the others were used whole. */
static void test_in_order_batch(void **state)
{
	struct pq_fixture f;
	struct vnd_pcursor c;
	uint16_t a, b, d;

	(void)state;
	batch_of_three(&f, true, &a, &b, &d);
	vnd_pq_cursor(&f.q, &c);
	expect_used(&f, &c, a, 0, true);
	/* Taken apart across calls: the batch goes on from where it was. */
	vnd_pq_free_id(&f.q, a);
	vnd_pq_consume(&f.q, &c);
	assert_true(vnd_pq_has_used(&f.q));
	vnd_pq_cursor(&f.q, &c);
	expect_used(&f, &c, b, 0, true);
	expect_used(&f, &c, d, 44, false);
	vnd_pq_free_id(&f.q, b);
	vnd_pq_free_id(&f.q, d);
	vnd_pq_consume(&f.q, &c);
	assert_false(vnd_pq_has_used(&f.q));
	assert_int_equal(f.q.used.slot, 4);
	/* Without the feature the same element is one buffer, d's. */
	pq_fini(&f);
	batch_of_three(&f, false, &a, &b, &d);
	vnd_pq_cursor(&f.q, &c);
	expect_used(&f, &c, d, 44, false);
	(void)a;
	(void)b;
	pq_fini(&f);
}

/* What the device may not name: an id beyond the ring, one not in
 * flight, more buffers than it holds (one named twice). */
static void test_bad_used_elements(void **state)
{
	struct pq_fixture f;
	struct vnd_pcursor c;
	uint16_t id, a;
	uint32_t len;
	bool whole;

	(void)state;
	pq_init(&f, false, false);
	a = chain(&f, 1);
	vnd_pq_flush(&f.q);
	device_used(&f, 0, true, NUM + 2, 1);
	vnd_pq_cursor(&f.q, &c);
	assert_int_equal(vnd_pq_next_used(&f.q, &c, &id, &len, &whole), -1);
	assert_int_equal(id, NUM + 2);
	device_used(&f, 0, true, (uint16_t)(a + 1), 1); /* free */
	vnd_pq_cursor(&f.q, &c);
	assert_int_equal(vnd_pq_next_used(&f.q, &c, &id, &len, &whole), -1);
	device_used(&f, 0, true, a, 1);
	device_used(&f, 1, true, a, 1); /* again, before we took it */
	vnd_pq_cursor(&f.q, &c);
	expect_used(&f, &c, a, 1, false);
	assert_int_equal(vnd_pq_next_used(&f.q, &c, &id, &len, &whole), -1);
	pq_fini(&f);
}

/* Notifications asked for in the driver area. */
static void test_irq_wishes(void **state)
{
	struct pq_fixture f;

	(void)state;
	pq_init(&f, true, false);
	assert_int_equal(f.driver_event.flags, VRING_PACKED_EVENT_FLAG_DESC);
	assert_int_equal(f.driver_event.off_wrap, 0x8000);
	vnd_pq_disable_irq(&f.q);
	assert_int_equal(f.driver_event.flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	chain(&f, 3);
	vnd_pq_flush(&f.q);
	device_used(&f, 0, true, f.ring[2].id, 0);
	{
		struct vnd_pcursor c;
		uint16_t id;
		uint32_t len;
		bool whole;

		vnd_pq_cursor(&f.q, &c);
		assert_int_equal(vnd_pq_next_used(&f.q, &c, &id, &len, &whole), 1);
		assert_int_equal(len, 0);
		vnd_pq_free_id(&f.q, id);
		vnd_pq_consume(&f.q, &c);
	}
	vnd_pq_enable_irq(&f.q);
	assert_int_equal(f.driver_event.flags, VRING_PACKED_EVENT_FLAG_DESC);
	assert_int_equal(f.driver_event.off_wrap, 0x8000 | 3);
	pq_fini(&f);

	pq_init(&f, false, false);
	assert_int_equal(f.driver_event.flags, VRING_PACKED_EVENT_FLAG_ENABLE);
	vnd_pq_disable_irq(&f.q);
	assert_int_equal(f.driver_event.flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	vnd_pq_enable_irq(&f.q);
	assert_int_equal(f.driver_event.flags, VRING_PACKED_EVENT_FLAG_ENABLE);
	pq_fini(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_made_available_by_its_first),
		cmocka_unit_test(test_kicks_follow_the_device),
		cmocka_unit_test(test_used_out_of_order),
		cmocka_unit_test(test_in_order_batch),
		cmocka_unit_test(test_bad_used_elements),
		cmocka_unit_test(test_irq_wishes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
