/* SPDX-License-Identifier: MIT */
/*
 * Packed rings (virtqueue.h) as real drivers fill them, where they differ
 * from the letter of virtio 1.2, and how QEMU restarts them: what the
 * real-client tests found, each reproduced here on a hand-made ring.
 */
#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

#define NUM 8
#define F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED (1u << VRING_PACKED_DESC_F_USED)

struct ctx {
	struct fixture f;
	struct fix_ring r;
};

static int setup(void **state)
{
	static struct ctx c;

	memset(&c, 0, sizeof c);
	fix_init(&c.f, 1);
	/* A fresh ring, wrap counters 1, indirect descriptors negotiated. */
	fix_ring_init_fmt(&c.f, &c.r, NUM, true, true, true, 0x8000);
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

/* Take the next chain and walk it whole: its error, and the bytes it
 * holds in *bytes (filled with the buffers' contents when data is set). */
static enum vq_error walk(struct ctx *c, bool device_writes, uint32_t *bytes, uint8_t *data)
{
	struct vq_chain ch;
	bool got;
	enum vq_error e;
	uint8_t *p;
	uint32_t len;

	*bytes = 0;
	vq_take_begin(&c->r.vq);
	e = vq_take(&c->r.vq, &ch, device_writes, &got);
	assert_int_equal(e, VQ_OK);
	assert_true(got);
	while ((e = vq_chain_next(&ch, 4096, &p, &len)) == VQ_OK && len) {
		if (data)
			memcpy(data + *bytes, p, len);
		*bytes += len;
	}
	if (e)
		return e;
	e = vq_used(&c->r.vq, &ch, 0);
	if (e)
		return e;
	vq_commit(&c->r.vq);
	vq_publish(&c->r.vq);
	return VQ_OK;
}

/* The indirect table the last posted chain points to, in client memory. */
static uint8_t *posted_table(struct ctx *c, uint16_t slot)
{
	return fix_host(&c->f, le64toh(c->r.ring[slot].addr));
}

static void set_entry_flags(uint8_t *table, unsigned i, uint16_t flags)
{
	uint16_t le = htole16(flags);

	memcpy(table + 16 * i + 14, &le, 2);
}

/* Post b[0..3] as DPDK 22.11 lays out its indirect table (see below),
 * each entry carrying the ring's bits: walked whole, want's bytes, given
 * back under its id. */
static void walk_dpdk_table(struct ctx *c, const struct fix_buf *b, const uint8_t *want,
			    uint32_t want_len, uint16_t ring_bits)
{
	uint16_t slot = c->r.avail_slot, id, used_id;
	uint32_t bytes, id_len;
	uint8_t got[2048], *table;

	assert_true(want_len <= sizeof got);
	id = fix_post_indirect(&c->f, &c->r, b, 4);
	table = posted_table(c, slot);
	set_entry_flags(table, 0, VRING_DESC_F_WRITE);
	set_entry_flags(table, 1, VRING_DESC_F_NEXT | ring_bits);
	set_entry_flags(table, 2, VRING_DESC_F_NEXT | ring_bits);
	set_entry_flags(table, 3, ring_bits);
	assert_int_equal(walk(c, false, &bytes, got), VQ_OK);
	assert_int_equal(bytes, want_len);
	assert_memory_equal(got, want, want_len);
	assert_true(fix_used(&c->r, &used_id, &id_len));
	assert_int_equal(used_id, id);
	assert_int_equal(id_len, 0);
}

/* DPDK 22.11's virtio-user sends a multi-segment packet on a packed ring
 * through an indirect table laid out like ring descriptors: the header
 * entry carries WRITE (from queue set-up), the others NEXT but the last,
 * and each the ring's AVAIL/USED bits. The packet must cross whole. */
static void test_dpdk_tx_table(void **state)
{
	struct ctx *c = *state;
	uint64_t hdr = fix_alloc(&c->f, 12, 16), seg[3];
	uint32_t seg_len[3] = { 512, 512, 476 };
	struct fix_buf b[4] = { { hdr, 12, false } };
	uint8_t want[1512];

	memset(fix_host(&c->f, hdr), 0xee, 12);
	memcpy(want, fix_host(&c->f, hdr), 12);
	for (unsigned i = 0, at = 12; i < 3; at += seg_len[i], i++) {
		seg[i] = fix_alloc(&c->f, seg_len[i], 64);
		memset(fix_host(&c->f, seg[i]), 'a' + (int)i, seg_len[i]);
		memcpy(want + at, fix_host(&c->f, seg[i]), seg_len[i]);
		b[i + 1] = (struct fix_buf){ seg[i], seg_len[i], false };
	}
	/* The first lap, where the ring's bits are AVAIL, and the next. */
	walk_dpdk_table(c, b, want, sizeof want, F_AVAIL);
	for (unsigned lap = 0; lap < NUM; lap++)
		walk_dpdk_table(c, b, want, sizeof want, F_USED);
}

/* What stays refused in a packed table: nesting, flags nobody defines,
 * and a buffer the device would write without the driver's leave. */
static void test_table_still_checked(void **state)
{
	struct ctx *c = *state;
	uint64_t buf = fix_alloc(&c->f, 256, 64);
	struct fix_buf rb[2] = { { buf, 128, false }, { buf + 128, 128, false } };
	struct fix_buf wb[2] = { { buf, 128, true }, { buf + 128, 128, true } };
	uint32_t bytes;
	uint16_t slot;

	slot = c->r.avail_slot;
	fix_post_indirect(&c->f, &c->r, rb, 2);
	set_entry_flags(posted_table(c, slot), 1, VRING_DESC_F_INDIRECT);
	assert_int_equal(walk(c, false, &bytes, NULL), VQ_ERR_INDIRECT_NESTED);

	teardown(state);
	setup(state);
	buf = fix_alloc(&c->f, 256, 64);
	rb[0].addr = buf;
	rb[1].addr = buf + 128;
	slot = c->r.avail_slot;
	fix_post_indirect(&c->f, &c->r, rb, 2);
	set_entry_flags(posted_table(c, slot), 1, 0x10);
	assert_int_equal(walk(c, false, &bytes, NULL), VQ_ERR_INDIRECT_FLAGS);

	/* RX: an entry without WRITE is not the device's to fill. */
	teardown(state);
	setup(state);
	buf = fix_alloc(&c->f, 256, 64);
	wb[0].addr = buf;
	wb[1].addr = buf + 128;
	slot = c->r.avail_slot;
	fix_post_indirect(&c->f, &c->r, wb, 2);
	set_entry_flags(posted_table(c, slot), 1, F_AVAIL);
	assert_int_equal(walk(c, true, &bytes, NULL), VQ_ERR_DIRECTION);
}

/* The device side anew at base, on the same ring (a server restarted). */
static void restart_at(struct ctx *c, uint32_t base)
{
	struct fix_ring *r = &c->r;
	struct vq_params p = { .mem = &c->f.mem, .num = (uint16_t)r->num, .packed = true,
			       .event_idx = true, .indirect = true, .base = base,
			       .desc = r->ring, .driver_area = r->driver_event,
			       .device_area = r->device_event };

	vq_fini(&r->vq);
	assert_int_equal(vq_init(&r->vq, &p), 0);
}

/* Chains of one and two slots (by pattern), posted, taken and given back,
 * the driver reading each used element: n of them. */
static void traffic(struct ctx *c, unsigned n, unsigned pattern)
{
	uint64_t buf = fix_alloc(&c->f, 256, 64);
	struct fix_buf b[2] = { { buf, 100, false }, { buf + 100, 100, false } };

	for (unsigned i = 0; i < n; i++) {
		unsigned descs = pattern >> (i % 16) & 1 ? 2 : 1;
		uint16_t id = fix_post(&c->r, b, descs), got_id;
		uint32_t bytes, len;

		assert_int_equal(walk(c, false, &bytes, NULL), VQ_OK);
		assert_int_equal(bytes, 100 * descs);
		assert_true(fix_used(&c->r, &got_id, &len));
		assert_int_equal(got_id, id);
	}
}

/* Posted, not yet taken: ids[] in order. */
static void post_waiting(struct ctx *c, uint16_t *ids, unsigned n, unsigned descs)
{
	uint64_t buf = fix_alloc(&c->f, 256, 64);
	struct fix_buf b[2] = { { buf, 60, false }, { buf + 60, 60, false } };

	for (unsigned i = 0; i < n; i++)
		ids[i] = fix_post(&c->r, b, descs);
}

static void take_expect(struct ctx *c, const uint16_t *ids, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t got_id;
		uint32_t bytes, len;

		assert_int_equal(walk(c, false, &bytes, NULL), VQ_OK);
		assert_true(fix_used(&c->r, &got_id, &len));
		assert_int_equal(got_id, ids[i]);
	}
}

/* QEMU after our restart: the packed ring starts at the base of its last
 * start (0x80008000, lower half ours) whatever the guest's driver did
 * since. The ring must resume where the device stopped, on either lap,
 * and the link go on. */
static void test_resync_stale_base(void **state)
{
	struct ctx *c = *state;
	static const struct {
		unsigned before, waiting;
	} cases[] = {
		{ 3, 2 },  /* first lap */
		{ 11, 3 }, /* second lap: wrap counter 0 */
		{ 19, 0 }, /* third lap, nothing waiting */
		{ 16, 0 }, /* two laps done, nothing waiting */
		{ 16, 5 }, /* ... five waiting */
		{ 8, 8 },  /* a whole ring waiting */
		{ 13, 8 }, /* ... across the ring's end */
	};

	for (unsigned k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		uint16_t ids[NUM];
		uint32_t from, to, stopped;

		if (k) {
			teardown(state);
			setup(state);
		}
		traffic(c, cases[k].before, 0);
		post_waiting(c, ids, cases[k].waiting, 1);
		stopped = vq_base(&c->r.vq) & 0xffff;
		restart_at(c, 0x8000);
		if (stopped == 0x8000) {
			assert_false(vq_resync(&c->r.vq, &from, &to));
		} else {
			assert_true(vq_resync(&c->r.vq, &from, &to));
			assert_int_equal(from, 0x8000);
			assert_int_equal(to, stopped);
		}
		assert_int_equal(vq_base(&c->r.vq) & 0xffff, stopped);
		take_expect(c, ids, cases[k].waiting);
		traffic(c, 9, 0);
	}
}

/* Chains of several slots leave slots that look available behind the
 * ones given back: the ring cannot say where the device stopped, and
 * the base stays as given. */
static void test_resync_chains_unclear(void **state)
{
	struct ctx *c = *state;
	uint16_t ids[NUM];
	uint32_t from, to;

	traffic(c, 5, 0x4); /* the third chain took two slots */
	restart_at(c, 0x8000);
	assert_false(vq_resync(&c->r.vq, &from, &to));
	assert_int_equal(vq_base(&c->r.vq) & 0xffff, 0x8000);

	teardown(state);
	setup(state);
	traffic(c, 6, 0);
	post_waiting(c, ids, 1, 2);
	restart_at(c, 0x8000);
	assert_false(vq_resync(&c->r.vq, &from, &to));
}

/* A ring started where the device stopped stays there, whatever it holds. */
static void test_resync_consistent(void **state)
{
	struct ctx *c = *state;
	uint16_t ids[NUM];
	uint32_t from, to;

	/* Fresh: nothing posted, then some posted. */
	assert_false(vq_resync(&c->r.vq, &from, &to));
	post_waiting(c, ids, 3, 1);
	assert_false(vq_resync(&c->r.vq, &from, &to));
	take_expect(c, ids, 3);
	for (unsigned lap = 0; lap < 12; lap++) {
		traffic(c, 1 + lap % 3, 0x2);
		post_waiting(c, ids, lap % 4, 1 + lap % 2);
		fix_ring_restart(&c->f, &c->r);
		assert_false(vq_resync(&c->r.vq, &from, &to));
		take_expect(c, ids, lap % 4);
	}
}

/* A ring that does not say clearly where the device stopped (given back,
 * available, given back, available) keeps the base it was given. */
static void test_resync_ambiguous(void **state)
{
	struct ctx *c = *state;
	uint16_t ids[NUM];
	uint32_t from, to;

	traffic(c, 4, 0);
	post_waiting(c, ids, 4, 1);
	/* Slot 5 as if given back: two places where used meets available. */
	c->r.ring[5].flags = htole16(F_AVAIL | F_USED);
	restart_at(c, 0x8000);
	assert_false(vq_resync(&c->r.vq, &from, &to));
	assert_int_equal(vq_base(&c->r.vq) & 0xffff, 0x8000);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_dpdk_tx_table),
		T(test_table_still_checked),
		T(test_resync_stale_base),
		T(test_resync_chains_unclear),
		T(test_resync_consistent),
		T(test_resync_ambiguous),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
