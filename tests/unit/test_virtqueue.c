/* SPDX-License-Identifier: MIT */
/*
 * The ring module (virtio/virtqueue.h) against rings built by hand in
 * memfd memory, driven through the fixture's driver side. What both
 * formats share runs once on a split and once on a packed ring: taking
 * chains (direct, indirect, across regions, every check of a descriptor),
 * one packet's bound on descriptors, tentative takes and used elements
 * (begin, commit, publish, mark and rewind), the fast path and the peek
 * hint, notifications, freezing, restarting. Then what one format alone
 * has: the split avail ring's indices and next links; the packed ring's
 * ids, flags, wraps, odd sizes and event suppression, with the lies a
 * driver may tell about each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

#define NUM 8
#define PIECES_MAX 256
#define F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED (1u << VRING_PACKED_DESC_F_USED)

struct ctx {
	struct fixture f;
	struct fix_ring r;
	bool packed;
	uint64_t buf;  /* 64 KiB of buffer space in region 0 */
	unsigned seq;  /* pass(): where its next buffer goes */
};

static bool fmt_split = false, fmt_packed = true;

/* Where a new ring starts: a split one at index 0, a packed one at slot 0
 * with its wrap counters at 1. */
static uint32_t fresh_base(bool packed)
{
	return packed ? 0x8000 : 0;
}

static int setup(void **state)
{
	static struct ctx c;
	bool packed = *(const bool *)*state;

	memset(&c, 0, sizeof c);
	c.packed = packed;
	fix_init(&c.f, 2);
	fix_ring_init_fmt(&c.f, &c.r, NUM, packed, true, true, fresh_base(packed));
	c.buf = fix_alloc(&c.f, 65536, 16);
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

/* A new ring in place of the old (whose memory is left behind). */
static void renew(struct ctx *c, unsigned num, bool event_idx, bool indirect, uint32_t base)
{
	vq_fini(&c->r.vq);
	fix_ring_init_fmt(&c->f, &c->r, num, c->packed, event_idx, indirect, base);
}

static uint8_t *host(struct ctx *c, uint64_t gpa)
{
	return fix_host(&c->f, gpa);
}

/* ---- walking and taking ------------------------------------------------------ */

struct piece {
	uint8_t *p;
	uint32_t n;
};

/* A chain as its walk yielded it. */
struct walked {
	unsigned n;
	uint64_t bytes;
	uint16_t id;
	struct piece pc[PIECES_MAX];
};

/* Walk the rest of a chain in pieces of at most max bytes. */
static enum vq_error walk(struct vq_chain *ch, uint64_t max, struct walked *w)
{
	w->n = 0;
	w->bytes = 0;
	for (;;) {
		uint8_t *p = NULL;
		uint32_t n = 0;
		enum vq_error e = vq_chain_next(ch, max, &p, &n);

		if (e || n == 0)
			return e;
		assert_true(n <= max);
		assert_non_null(p);
		if (w->n < PIECES_MAX)
			w->pc[w->n] = (struct piece){ p, n };
		w->bytes += n;
		w->n++;
	}
}

static void take_ok(struct ctx *c, struct vq_chain *ch, bool device_writes)
{
	bool got = false;

	assert_int_equal(vq_take(&c->r.vq, ch, device_writes, &got), VQ_OK);
	assert_true(got);
}

/* Take the next chain and give it back at once, with len bytes written:
 * what vq_used says. */
static enum vq_error take_used(struct ctx *c, bool device_writes, uint32_t len)
{
	struct vq_chain ch;

	take_ok(c, &ch, device_writes);
	return vq_used(&c->r.vq, &ch, len);
}

/* Take the next chain afresh and walk it whole, to its end. Kept, it is
 * given back (0 bytes), committed, published and read back by the driver;
 * else forgotten: the next take finds it again. */
static enum vq_error take_walk(struct ctx *c, bool device_writes, uint64_t max, struct walked *w,
			       bool keep)
{
	struct vq *vq = &c->r.vq;
	struct vq_chain ch;
	struct vq_done done;
	enum vq_error e;
	bool got = false;

	w->n = 0;
	w->bytes = 0;
	vq_take_begin(vq);
	e = vq_take(vq, &ch, device_writes, &got);
	if (!e) {
		assert_true(got);
		e = walk(&ch, max, w);
	}
	if (!e)
		e = vq_chain_end(&ch, &done);
	if (!e && keep) {
		uint16_t id;
		uint32_t len;

		assert_int_equal(vq_used_done(vq, &done, 0), VQ_OK);
		vq_commit(vq);
		vq_publish(vq);
		assert_true(fix_used(&c->r, &id, &len));
		assert_int_equal(id, done.id);
		w->id = done.id;
		return VQ_OK;
	}
	vq_take_begin(vq);
	return e;
}

/* What taking and walking the next chain ends with (nothing kept). */
static enum vq_error take_err(struct ctx *c, bool device_writes)
{
	struct walked w;

	return take_walk(c, device_writes, UINT32_MAX, &w, false);
}

/* This chain in place of the one posted last (not committed). */
static uint16_t replace(struct ctx *c, const struct fix_buf *b, unsigned n)
{
	fix_unpost(&c->r);
	return fix_post(&c->r, b, n);
}

/* An indirect descriptor (addr, len) in place of the chain posted last. */
static uint16_t replace_indirect(struct ctx *c, uint64_t addr, uint32_t len)
{
	struct fix_buf one = { addr, len, false };
	uint16_t ind = VRING_DESC_F_INDIRECT;

	fix_unpost(&c->r);
	return fix_post_flags(&c->r, &one, 1, &ind);
}

/* Entry i of an indirect table in the ring's format; next is a split
 * entry's link, a packed entry's (unused) id. */
static void set_entry(struct ctx *c, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
		      uint16_t flags, uint16_t next)
{
	uint8_t *t = host(c, table) + 16 * i;
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);

	memcpy(t, &a, 8);
	memcpy(t + 8, &l, 4);
	memcpy(t + (c->packed ? 14 : 12), &f, 2);
	memcpy(t + (c->packed ? 12 : 14), &n, 2);
}

/*
 * One batch: chains of lens[i] buffers posted (at buffers that move on
 * with every pass), taken, walked and checked, given back with their
 * bytes, committed and published at once; the driver reads each back.
 */
static void pass(struct ctx *c, const unsigned *lens, unsigned n)
{
	struct vq *vq = &c->r.vq;
	uint16_t ids[FIX_RING_MAX];
	uint64_t first[FIX_RING_MAX];
	uint32_t bytes[FIX_RING_MAX];
	struct vq_chain ch;
	bool got = true;

	assert_true(n <= FIX_RING_MAX);
	for (unsigned i = 0; i < n; i++) {
		struct fix_buf b[4];

		assert_true(lens[i] >= 1 && lens[i] <= 4);
		bytes[i] = 0;
		for (unsigned j = 0; j < lens[i]; j++) {
			unsigned s = c->seq++;

			b[j] = (struct fix_buf){ c->buf + (s % 1024) * 64, 1 + s % 61, true };
			bytes[i] += b[j].len;
		}
		first[i] = b[0].addr;
		ids[i] = fix_post(&c->r, b, lens[i]);
	}
	vq_take_begin(vq);
	for (unsigned i = 0; i < n; i++) {
		struct walked w;

		take_ok(c, &ch, true);
		assert_int_equal(walk(&ch, UINT32_MAX, &w), VQ_OK);
		assert_int_equal(w.n, lens[i]);
		assert_int_equal(w.bytes, bytes[i]);
		assert_ptr_equal(w.pc[0].p, host(c, first[i]));
		assert_int_equal(vq_used(vq, &ch, bytes[i]), VQ_OK);
	}
	assert_int_equal(vq_take(vq, &ch, true, &got), VQ_OK);
	assert_false(got);
	vq_commit(vq);
	vq_publish(vq);
	for (unsigned i = 0; i < n; i++) {
		uint16_t id;
		uint32_t len;

		assert_true(fix_used(&c->r, &id, &len));
		assert_int_equal(id, ids[i]);
		assert_int_equal(len, bytes[i]);
	}
}

/* n one-buffer packets through the ring, in batches the ring holds. */
static void cycle(struct ctx *c, unsigned n)
{
	unsigned ones[FIX_RING_MAX];

	for (unsigned i = 0; i < FIX_RING_MAX; i++)
		ones[i] = 1;
	while (n) {
		unsigned k = n < c->r.num ? n : c->r.num;

		pass(c, ones, k);
		n -= k;
	}
}

/* Where the driver will post next, as vq_base() would report it. */
static uint32_t driver_base(const struct ctx *c)
{
	uint32_t half;

	if (!c->packed)
		return c->r.avail_idx;
	half = c->r.avail_slot | (uint32_t)c->r.avail_wrap << 15;
	return half | half << 16;
}

/* ---- taking chains (both formats) --------------------------------------------- */

/* One buffer: taken, walked, given back; visible to the driver only once
 * committed and published. Nothing waiting: nothing taken. */
static void test_take_one_buffer(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	struct fix_buf b = { c->buf + 100, 40, false };
	struct vq_chain ch;
	struct walked w;
	uint16_t id, uid = 0xffff;
	uint32_t ulen = 99;
	bool any = true, got = true;

	vq_take_begin(vq);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_false(any);
	assert_int_equal(vq_take(vq, &ch, false, &got), VQ_OK);
	assert_false(got);

	id = fix_post(&c->r, &b, 1);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_true(any);
	take_ok(c, &ch, false);
	assert_int_equal(walk(&ch, UINT32_MAX, &w), VQ_OK);
	assert_int_equal(w.n, 1);
	assert_ptr_equal(w.pc[0].p, host(c, c->buf + 100));
	assert_int_equal(w.pc[0].n, 40);
	assert_int_equal(vq_used(vq, &ch, 0), VQ_OK);
	assert_false(fix_used(&c->r, &uid, &ulen));
	vq_commit(vq);
	assert_false(fix_used(&c->r, &uid, &ulen));
	vq_publish(vq);
	assert_true(fix_used(&c->r, &uid, &ulen));
	assert_int_equal(uid, id);
	assert_int_equal(ulen, 0);
	assert_false(fix_used(&c->r, &uid, &ulen));
	vq_take_begin(vq);
	assert_int_equal(vq_take(vq, &ch, false, &got), VQ_OK);
	assert_false(got);

	/* A receive buffer: the bytes written come back with it. */
	b.write = true;
	id = fix_post(&c->r, &b, 1);
	take_ok(c, &ch, true);
	assert_int_equal(walk(&ch, UINT32_MAX, &w), VQ_OK);
	assert_int_equal(w.bytes, 40);
	assert_int_equal(vq_used(vq, &ch, 40), VQ_OK);
	vq_commit(vq);
	vq_publish(vq);
	assert_true(fix_used(&c->r, &uid, &ulen));
	assert_int_equal(uid, id);
	assert_int_equal(ulen, 40);
}

/* A chain walks in order, each buffer's bytes in place; no piece is
 * larger than asked for. */
static void test_take_chain(void **state)
{
	struct ctx *c = *state;
	struct fix_buf three[3] = {
		{ c->buf, 12, false }, { c->buf + 1000, 300, false }, { c->buf + 100, 1, false }
	};
	struct fix_buf two[2] = { { c->buf, 100, false }, { c->buf + 500, 7, false } };
	struct walked w;
	uint16_t id;

	id = fix_post(&c->r, three, 3);
	assert_int_equal(take_walk(c, false, UINT32_MAX, &w, true), VQ_OK);
	assert_int_equal(w.id, id);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.bytes, 313);
	assert_ptr_equal(w.pc[0].p, host(c, c->buf));
	assert_int_equal(w.pc[0].n, 12);
	assert_ptr_equal(w.pc[1].p, host(c, c->buf + 1000));
	assert_int_equal(w.pc[1].n, 300);
	assert_ptr_equal(w.pc[2].p, host(c, c->buf + 100));
	assert_int_equal(w.pc[2].n, 1);

	/* A 100-byte buffer in pieces of 30. */
	fix_post(&c->r, two, 2);
	assert_int_equal(take_walk(c, false, 30, &w, false), VQ_OK);
	assert_int_equal(w.n, 5);
	assert_int_equal(w.bytes, 107);
	assert_int_equal(w.pc[0].n, 30);
	assert_int_equal(w.pc[3].n, 10);
	assert_ptr_equal(w.pc[3].p, host(c, c->buf + 90));
	assert_int_equal(w.pc[4].n, 7);
	assert_ptr_equal(w.pc[4].p, host(c, c->buf + 500));
	/* One byte at a time. */
	assert_int_equal(take_walk(c, false, 1, &w, true), VQ_OK);
	assert_int_equal(w.n, 107);
}

/* Zero-length descriptors at the start, middle and end are skipped; a
 * chain of nothing but empty buffers ends at once; an empty buffer's
 * address is never used. */
static void test_zero_length(void **state)
{
	struct ctx *c = *state;
	struct fix_buf five[5] = { { c->buf, 0, false },
				   { c->buf + 64, 10, false },
				   { c->buf + 128, 0, false },
				   { c->buf + 192, 20, false },
				   { c->buf + 256, 0, false } };
	struct fix_buf empty[2] = { { c->buf, 0, false }, { c->buf, 0, false } };
	struct fix_buf odd[2] = { { 0xdead000000000000ull, 0, false }, { c->buf, 5, false } };
	struct walked w;

	fix_post(&c->r, five, 5);
	assert_int_equal(take_walk(c, false, UINT32_MAX, &w, true), VQ_OK);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.bytes, 30);
	assert_ptr_equal(w.pc[0].p, host(c, c->buf + 64));
	assert_ptr_equal(w.pc[1].p, host(c, c->buf + 192));
	fix_post(&c->r, empty, 2);
	assert_int_equal(take_walk(c, true, UINT32_MAX, &w, false), VQ_ERR_DIRECTION);
	assert_int_equal(take_walk(c, false, UINT32_MAX, &w, true), VQ_OK);
	assert_int_equal(w.n, 0);
	fix_post(&c->r, odd, 2);
	assert_int_equal(take_walk(c, false, UINT32_MAX, &w, true), VQ_OK);
	assert_int_equal(w.bytes, 5);
	assert_int_equal(w.n, 1);
}

/* A buffer running from one region into the next comes in two pieces,
 * each in its own region. */
static void test_buffer_across_regions(void **state)
{
	struct ctx *c = *state;
	uint64_t border = FIX_GPA + FIX_REGION;
	struct fix_buf b = { border - 100, 300, true };
	struct walked w;

	fix_post(&c->r, &b, 1);
	assert_int_equal(take_walk(c, true, UINT32_MAX, &w, true), VQ_OK);
	assert_int_equal(w.n, 2);
	assert_int_equal(w.bytes, 300);
	assert_ptr_equal(w.pc[0].p, host(c, border - 100));
	assert_int_equal(w.pc[0].n, 100);
	assert_ptr_equal(w.pc[1].p, host(c, border));
	assert_int_equal(w.pc[1].n, 200);
}

/* Buffers outside the client's memory, even partly, are refused when the
 * descriptor is loaded: before a single byte of it is handed out. */
static void test_bad_addresses(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	uint64_t end = FIX_GPA + 2 * FIX_REGION;
	const struct {
		uint64_t addr;
		uint32_t len;
		enum vq_error e;
	} cases[] = {
		{ 0, 10, VQ_ERR_ADDR },                 /* below every region */
		{ FIX_GPA - 1, 2, VQ_ERR_ADDR },        /* straddles the start */
		{ end - 10, 11, VQ_ERR_ADDR },          /* one byte past the end */
		{ end - 10, 10, VQ_OK },                /* the last ten bytes */
		{ end, 1, VQ_ERR_ADDR },
		{ UINT64_MAX - 5, 10, VQ_ERR_ADDR },    /* wraps */
		{ c->buf, UINT32_MAX, VQ_ERR_ADDR },    /* 4 GiB: far too long */
		{ FIX_UVA, 10, VQ_ERR_ADDR },           /* a uva is not a gpa */
	};
	struct fix_buf two[2] = { { c->buf, 10, false }, { end - 4, 8, false } };
	struct fix_buf b;
	struct vq_chain ch;
	uint8_t *p = NULL;
	uint32_t n = 99;

	fix_post(&c->r, &two[0], 1);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		b = (struct fix_buf){ cases[i].addr, cases[i].len, false };
		replace(c, &b, 1);
		assert_int_equal(take_err(c, false), cases[i].e);
	}
	/* The second buffer is bad: the first comes out, then the error. */
	replace(c, two, 2);
	vq_take_begin(vq);
	take_ok(c, &ch, false);
	assert_int_equal(vq_chain_next(&ch, UINT32_MAX, &p, &n), VQ_OK);
	assert_int_equal(n, 10);
	assert_ptr_equal(p, host(c, c->buf));
	assert_int_equal(vq_chain_next(&ch, UINT32_MAX, &p, &n), VQ_ERR_ADDR);
	assert_int_equal(n, 0);
	/* Even when only its first byte is asked for. */
	replace(c, &two[1], 1);
	vq_take_begin(vq);
	take_ok(c, &ch, false);
	assert_int_equal(vq_chain_next(&ch, 1, &p, &n), VQ_ERR_ADDR);
}

/* TX chains are read-only, RX chains writable, every buffer of them. */
static void test_direction(void **state)
{
	struct ctx *c = *state;
	struct fix_buf rw[2] = { { c->buf, 10, false }, { c->buf, 10, true } };

	fix_post(&c->r, rw, 2);
	assert_int_equal(take_err(c, false), VQ_ERR_DIRECTION); /* writable in TX */
	assert_int_equal(take_err(c, true), VQ_ERR_DIRECTION);  /* read-only in RX */
	rw[0].write = true;
	replace(c, rw, 2);
	assert_int_equal(take_err(c, true), VQ_OK);
	assert_int_equal(take_err(c, false), VQ_ERR_DIRECTION);
	rw[1].write = false;
	replace(c, rw, 2);
	assert_int_equal(take_err(c, true), VQ_ERR_DIRECTION);
}

/* ---- indirect tables (both formats) -------------------------------------------- */

/* A table as long as the ring walks in order; one entry more is refused
 * (no chain may be longer than the queue). The WRITE flag of the
 * indirect descriptor itself is ignored. */
static void test_indirect(void **state)
{
	struct ctx *c = *state;
	struct fix_buf t[NUM + 1];
	struct fix_buf one;
	uint16_t ind = VRING_DESC_F_INDIRECT, id;
	struct walked w;

	for (unsigned i = 0; i < NUM + 1; i++)
		t[i] = (struct fix_buf){ c->buf + i * 10, 10, false };
	fix_post_indirect(&c->f, &c->r, t, NUM);
	assert_int_equal(take_walk(c, false, UINT32_MAX, &w, false), VQ_OK);
	assert_int_equal(w.n, NUM);
	assert_int_equal(w.bytes, NUM * 10);
	assert_ptr_equal(w.pc[0].p, host(c, c->buf));
	assert_ptr_equal(w.pc[NUM - 1].p, host(c, c->buf + (NUM - 1) * 10));

	one = (struct fix_buf){ fix_table(&c->f, &c->r, t, NUM, NULL), NUM * 16, true };
	fix_unpost(&c->r);
	fix_post_flags(&c->r, &one, 1, &ind);
	assert_int_equal(take_err(c, false), VQ_OK);

	fix_unpost(&c->r);
	fix_post_indirect(&c->f, &c->r, t, NUM + 1);
	assert_int_equal(take_err(c, false), VQ_ERR_INDIRECT_LEN);

	/* Given back, the ring goes on after it: one slot, one descriptor. */
	fix_unpost(&c->r);
	id = fix_post_indirect(&c->f, &c->r, t, 3);
	assert_int_equal(take_walk(c, false, UINT32_MAX, &w, true), VQ_OK);
	assert_int_equal(w.id, id);
	assert_int_equal(w.bytes, 30);
	id = fix_post(&c->r, t, 2);
	assert_int_equal(take_walk(c, false, UINT32_MAX, &w, true), VQ_OK);
	assert_int_equal(w.id, id);
	assert_int_equal(w.n, 2);
}

/* Inside a table the rules of the ring hold: direction, address;
 * zero-length entries are skipped; a split table's links are checked
 * like the ring's. */
static void test_indirect_entries_checked(void **state)
{
	struct ctx *c = *state;
	uint16_t nx = c->packed ? 0 : VRING_DESC_F_NEXT;
	struct fix_buf t[4];
	uint64_t tg;
	struct walked w;

	for (unsigned i = 0; i < 4; i++)
		t[i] = (struct fix_buf){ c->buf + i * 10, 10, false };
	tg = fix_table(&c->f, &c->r, t, 4, NULL);
	replace_indirect(c, tg, 4 * 16);
	assert_int_equal(take_walk(c, false, UINT32_MAX, &w, false), VQ_OK);
	assert_int_equal(w.n, 4);
	set_entry(c, tg, 3, c->buf, 10, VRING_DESC_F_WRITE, 0);
	if (c->packed) {
		/* DPDK's virtio-user marks a packed TX table's header entry
		 * WRITE: the buffer is only read, whatever the driver allowed. */
		assert_int_equal(take_walk(c, false, UINT32_MAX, &w, false), VQ_OK);
		assert_int_equal(w.n, 4);
	} else {
		assert_int_equal(take_err(c, false), VQ_ERR_DIRECTION);
	}
	set_entry(c, tg, 3, FIX_GPA + 2 * FIX_REGION - 5, 10, 0, 0);
	assert_int_equal(take_err(c, false), VQ_ERR_ADDR);
	set_entry(c, tg, 3, c->buf + 30, 10, 0, 0);
	set_entry(c, tg, 1, c->buf + 10, 0, nx, 2);
	assert_int_equal(take_walk(c, false, UINT32_MAX, &w, false), VQ_OK);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.bytes, 30);
	if (!c->packed) {
		set_entry(c, tg, 3, c->buf, 10, VRING_DESC_F_NEXT, 0);
		assert_int_equal(take_err(c, false), VQ_ERR_LOOP);
		set_entry(c, tg, 3, c->buf, 10, VRING_DESC_F_NEXT, 4);
		assert_int_equal(take_err(c, false), VQ_ERR_NEXT);
	}
	/* A writable table for an RX chain. */
	for (unsigned i = 0; i < 3; i++)
		t[i].write = true;
	replace_indirect(c, fix_table(&c->f, &c->r, t, 3, NULL), 3 * 16);
	assert_int_equal(take_walk(c, true, UINT32_MAX, &w, false), VQ_OK);
	assert_int_equal(w.bytes, 30);
	/* Taken for TX: split refuses it; a packed table's WRITE is ignored
	 * where the device only reads. */
	if (c->packed)
		assert_int_equal(take_walk(c, false, UINT32_MAX, &w, false), VQ_OK);
	else
		assert_int_equal(take_err(c, false), VQ_ERR_DIRECTION);
}

/* Malformed indirect descriptors, each with its own error. */
static void test_indirect_refused(void **state)
{
	struct ctx *c = *state;
	uint16_t nested[4] = { 0, 0, VRING_DESC_F_INDIRECT, 0 };
	uint16_t ind_next[2] = { VRING_DESC_F_INDIRECT, 0 };
	const uint32_t lens[] = { 0, 17, 8, 4 * 16 + 1, (NUM + 1) * 16, 65537u * 16, 0xfffffff0u };
	const struct {
		uint64_t addr;
		uint32_t len;
	} outside[] = {
		{ 0x1000, 32 },                             /* outside memory */
		{ FIX_GPA + 2 * FIX_REGION - 16, 32 },      /* partly outside */
		{ FIX_GPA + FIX_REGION - 16, 32 },          /* across two regions */
		{ UINT64_MAX - 15, 32 },                    /* wrapping */
	};
	struct fix_buf t[4], two[2];
	uint64_t tg, inner;

	for (unsigned i = 0; i < 4; i++)
		t[i] = (struct fix_buf){ c->buf + i * 10, 10, false };
	tg = fix_table(&c->f, &c->r, t, 4, NULL);
	inner = fix_table(&c->f, &c->r, t, 2, NULL);

	/* Nested: an indirect descriptor inside a table. */
	t[2] = (struct fix_buf){ inner, 32, false };
	replace_indirect(c, fix_table(&c->f, &c->r, t, 4, nested), 4 * 16);
	assert_int_equal(take_err(c, false), VQ_ERR_INDIRECT_NESTED);
	t[2] = (struct fix_buf){ c->buf + 20, 10, false };
	/* A packed table's entries are consecutive, its length says where it
	 * ends: NEXT is ignored there (DPDK's virtio-user sets it), a flag
	 * that means nothing anywhere is refused. */
	if (c->packed) {
		uint16_t next[4] = { 0, VRING_DESC_F_NEXT, 0, 0 };
		uint16_t unknown[4] = { 0, 0x8, 0, 0 };
		struct walked w;

		replace_indirect(c, fix_table(&c->f, &c->r, t, 4, next), 4 * 16);
		assert_int_equal(take_walk(c, false, UINT32_MAX, &w, false), VQ_OK);
		assert_int_equal(w.n, 4);
		replace_indirect(c, fix_table(&c->f, &c->r, t, 4, unknown), 4 * 16);
		assert_int_equal(take_err(c, false), VQ_ERR_INDIRECT_FLAGS);
	}
	/* With NEXT. */
	two[0] = (struct fix_buf){ tg, 4 * 16, false };
	two[1] = (struct fix_buf){ c->buf, 10, false };
	fix_unpost(&c->r);
	fix_post_flags(&c->r, two, 2, ind_next);
	assert_int_equal(take_err(c, false), VQ_ERR_INDIRECT_NEXT);
	/* Lengths: zero, not a multiple of 16, more entries than the ring
	 * (NUM) holds, more than 16-bit indices reach. */
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		replace_indirect(c, lens[i] <= 4 * 16 + 1 ? tg : FIX_GPA, lens[i]);
		assert_int_equal(take_err(c, false), VQ_ERR_INDIRECT_LEN);
	}
	for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
		replace_indirect(c, outside[i].addr, outside[i].len);
		assert_int_equal(take_err(c, false), VQ_ERR_INDIRECT_ADDR);
	}
	replace_indirect(c, tg, 4 * 16);
	assert_int_equal(take_err(c, false), VQ_OK);

	/* Without INDIRECT_DESC negotiated, no indirect descriptor at all,
	 * checked before anything else about it. */
	renew(c, NUM, true, false, fresh_base(c->packed));
	replace_indirect(c, tg, 4 * 16);
	assert_int_equal(take_err(c, false), VQ_ERR_INDIRECT_FEATURE);
	two[0] = (struct fix_buf){ 0x1000, 17, false };
	fix_unpost(&c->r);
	fix_post_flags(&c->r, two, 2, ind_next);
	assert_int_equal(take_err(c, false), VQ_ERR_INDIRECT_FEATURE);
}

/*
 * One packet's descriptors, counted over every table and every chain of
 * a merged receive, zero-length ones and the indirect descriptors
 * themselves included, stop at VQ_PACKET_DESCS_MAX: a receiver whose
 * chains are all tables of empty buffers cannot make one packet walk
 * chain after chain. vq_take_more shares the count; vq_take starts anew.
 */
static void test_packet_descriptor_bound(void **state)
{
	struct ctx *c = *state;
	enum { RING = 128, PER_CHAIN = RING + 1 };
	struct fix_buf e[RING];
	struct vq_chain ch;
	struct vq_done done;
	struct vq *vq;
	unsigned chains = 0;
	enum vq_error err;
	uint8_t *p;
	uint32_t n;
	bool got;

	for (unsigned i = 0; i < RING; i++)
		e[i] = (struct fix_buf){ c->buf, 0, true };
	renew(c, RING, true, true, fresh_base(c->packed));
	vq = &c->r.vq;
	for (unsigned i = 0; i < 8; i++)
		fix_post_indirect(&c->f, &c->r, e, RING);
	vq_take_begin(vq);
	take_ok(c, &ch, true);
	for (;;) {
		err = vq_chain_next(&ch, UINT32_MAX, &p, &n);
		if (err)
			break;
		assert_int_equal(n, 0); /* nothing to write into, ever */
		chains++;
		assert_int_equal(vq_chain_end(&ch, &done), VQ_OK);
		assert_int_equal(vq_take_more(vq, &ch, &got), VQ_OK);
		assert_true(got);
	}
	assert_int_equal(err, VQ_ERR_TOO_MANY);
	assert_int_equal(chains, VQ_PACKET_DESCS_MAX / PER_CHAIN);
	assert_int_equal(ch.descs, VQ_PACKET_DESCS_MAX + 1);

	/* A new packet starts counting again. */
	vq_take_begin(vq);
	take_ok(c, &ch, true);
	assert_int_equal(vq_chain_next(&ch, UINT32_MAX, &p, &n), VQ_OK);
	assert_int_equal(n, 0);
	assert_int_equal(ch.descs, PER_CHAIN);
}

/* ---- chain end, used elements, the fast path, the hint --------------------------- */

/* vq_chain_end says which buffer to give back and how many slots it took,
 * walked whole, in part or not at all; vq_take_more then looks past it;
 * vq_used_done gives the buffers back in order with their lengths. */
static void test_chain_end_and_used_done(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	struct fix_buf a[3] = {
		{ c->buf, 100, true }, { c->buf + 200, 50, true }, { c->buf + 300, 25, true }
	};
	struct fix_buf b = { c->buf + 400, 10, true };
	struct vq_done da, db;
	struct vq_chain ch;
	struct walked w;
	uint16_t ida, idb, id;
	uint32_t len;
	uint8_t *p;
	uint32_t n;
	bool got;

	ida = fix_post(&c->r, a, 3);
	idb = fix_post(&c->r, &b, 1);
	vq_take_begin(vq);
	take_ok(c, &ch, true);
	assert_int_equal(vq_chain_next(&ch, 60, &p, &n), VQ_OK);
	assert_int_equal(n, 60);
	assert_ptr_equal(p, host(c, c->buf));
	assert_int_equal(vq_chain_end(&ch, &da), VQ_OK);
	assert_int_equal(da.id, ida);
	if (c->packed)
		assert_int_equal(da.slots, 3);
	assert_int_equal(vq_take_more(vq, &ch, &got), VQ_OK);
	assert_true(got);
	assert_int_equal(walk(&ch, UINT32_MAX, &w), VQ_OK);
	assert_int_equal(w.n, 1);
	assert_ptr_equal(w.pc[0].p, host(c, c->buf + 400));
	assert_int_equal(vq_chain_end(&ch, &db), VQ_OK);
	assert_int_equal(db.id, idb);
	if (c->packed)
		assert_int_equal(db.slots, 1);
	assert_int_equal(vq_take_more(vq, &ch, &got), VQ_OK);
	assert_false(got);
	assert_int_equal(vq_used_done(vq, &da, 60), VQ_OK);
	assert_int_equal(vq_used_done(vq, &db, 10), VQ_OK);
	vq_commit(vq);
	vq_publish(vq);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, ida);
	assert_int_equal(len, 60);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, idb);
	assert_int_equal(len, 10);

	/* Ended without a walk (a packed chain is walked to its end then, for
	 * its extent and id); an indirect one ended inside its table. */
	ida = fix_post(&c->r, a, 2);
	idb = fix_post_indirect(&c->f, &c->r, a, 3);
	vq_take_begin(vq);
	take_ok(c, &ch, true);
	assert_int_equal(vq_chain_end(&ch, &da), VQ_OK);
	assert_int_equal(da.id, ida);
	if (c->packed)
		assert_int_equal(da.slots, 2);
	assert_int_equal(vq_take_more(vq, &ch, &got), VQ_OK);
	assert_true(got);
	assert_int_equal(vq_chain_next(&ch, UINT32_MAX, &p, &n), VQ_OK);
	assert_ptr_equal(p, host(c, c->buf));
	assert_int_equal(n, 100);
	assert_int_equal(vq_chain_end(&ch, &db), VQ_OK);
	assert_int_equal(db.id, idb);
	if (c->packed)
		assert_int_equal(db.slots, 1);
	assert_int_equal(vq_used_done(vq, &da, 0), VQ_OK);
	assert_int_equal(vq_used_done(vq, &db, 100), VQ_OK);
	vq_commit(vq);
	vq_publish(vq);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, ida);
	assert_int_equal(len, 0);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, idb);
	assert_int_equal(len, 100);
	/* The next chain is the one after them. */
	id = fix_post(&c->r, &b, 1);
	assert_int_equal(take_walk(c, true, UINT32_MAX, &w, true), VQ_OK);
	assert_int_equal(w.id, id);
	assert_ptr_equal(w.pc[0].p, host(c, c->buf + 400));
}

/* The fast path turns down the chain just posted and takes nothing: the
 * general way finds it where it was. */
static void declined(struct ctx *c, bool device_writes)
{
	struct vq *vq = &c->r.vq;
	struct vq_desc d = { 0 };
	struct vq_chain ch;
	uint32_t tag;
	bool any;

	vq_take_begin(vq);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_true(any);
	assert_false(vq_peek_single(vq, vq->packed, device_writes, &d, &tag));
	assert_int_equal(vq->taken, 0);
	take_ok(c, &ch, device_writes);
	vq_take_begin(vq);
}

/* vq_peek_single shows a chain of one descriptor in the right direction,
 * and nothing else, taking nothing; vq_single_done takes it, gives it
 * back and commits it in one step. */
static void test_take_single(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	struct fix_buf tx = { c->buf, 60, false }, rx = { c->buf + 100, 100, true };
	struct fix_buf two[2] = { { c->buf, 10, false }, { c->buf + 10, 10, false } };
	const uint16_t shape = VRING_DESC_F_NEXT | VRING_DESC_F_WRITE | VRING_DESC_F_INDIRECT;
	struct vq_desc d = { 0 };
	uint16_t id;
	uint32_t got_tag = 0;
	uint32_t len;
	bool any;

	vq_take_begin(vq);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_false(vq_peek_single(vq, vq->packed, false, &d, &got_tag)); /* nothing waits */

	id = fix_post(&c->r, &tx, 1);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_true(vq_peek_single(vq, vq->packed, false, &d, &got_tag));
	assert_int_equal(vq_tag_id(got_tag), id);
	assert_int_equal(d.addr, c->buf);
	assert_int_equal(d.len, 60);
	assert_int_equal(d.flags & shape, 0);
	assert_int_equal(vq->taken, 0);
	/* Peeking again shows the same chain: nothing was taken. */
	assert_true(vq_peek_single(vq, vq->packed, false, &d, &got_tag));
	assert_int_equal(vq_tag_id(got_tag), id);
	vq_single_done(vq, vq->packed, got_tag, 0);
	assert_int_equal(vq->taken, 0);
	assert_false(vq_peek_single(vq, vq->packed, false, &d, &got_tag));
	assert_false(fix_used(&c->r, &id, &len));
	vq_publish(vq);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, vq_tag_id(got_tag));
	assert_int_equal(len, 0);

	id = fix_post(&c->r, &rx, 1);
	vq_take_begin(vq);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_true(vq_peek_single(vq, vq->packed, true, &d, &got_tag));
	assert_int_equal(vq_tag_id(got_tag), id);
	assert_int_equal(d.flags & shape, VRING_DESC_F_WRITE);
	assert_int_equal(d.len, 100);
	vq_single_done(vq, vq->packed, got_tag, 100);
	vq_publish(vq);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(len, 100);

	/* Lengths and addresses are the caller's to check. */
	tx = (struct fix_buf){ 0xdead000000000000ull, 0, false };
	id = fix_post(&c->r, &tx, 1);
	vq_take_begin(vq);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_true(vq_peek_single(vq, vq->packed, false, &d, &got_tag));
	assert_int_equal(d.len, 0);
	assert_int_equal(d.addr, 0xdead000000000000ull);
	vq_single_done(vq, vq->packed, got_tag, 0);
	vq_publish(vq);
	assert_true(fix_used(&c->r, &id, &len));

	/* Declined: the wrong direction, two descriptors, an indirect one. */
	tx = (struct fix_buf){ c->buf, 60, false };
	fix_post(&c->r, &tx, 1);
	declined(c, true);
	replace(c, two, 2);
	declined(c, false);
	fix_unpost(&c->r);
	fix_post_indirect(&c->f, &c->r, two, 2);
	declined(c, false);
	if (c->packed) {
		/* A buffer id beyond the ring: the general way says what is wrong. */
		fix_pdesc(&c->r, c->r.vq.avail_slot, c->buf, 10, NUM, fix_avail_flags(c->r.vq.avail_wrap));
		declined(c, false);
		assert_int_equal(take_err(c, false), VQ_ERR_ID);
	} else {
		/* A head beyond the ring, likewise. */
		fix_unpost(&c->r);
		fix_publish(&c->r, NUM);
		vq_take_begin(vq);
		assert_int_equal(vq_avail(vq, &any), VQ_OK);
		assert_false(vq_peek_single(vq, vq->packed, false, &d, &got_tag));
		assert_int_equal(vq->taken, 0);
		assert_int_equal(take_err(c, false), VQ_ERR_HEAD);
	}
}

/* A run (vq_run_begin .. vq_run_end) over several chains: each is taken
 * and given back in turn; a split ring counts them only at vq_run_end, so a
 * run abandoned half way (a client's memory faulting under the copy) leaves
 * the ring where it began and the chains are taken again; a packed ring
 * moves its positions as it goes (its used elements are in the ring) and
 * only its counts wait for the end. Either way nothing is visible before
 * vq_publish. */
static void test_run(void **state)
{
	uint32_t tag = 0;
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	struct fix_buf tx = { c->buf, 60, false };
	struct vq_desc d = { 0 };
	struct vq_run r = { 0 };
	uint16_t ids[3], id, before;
	uint32_t len;
	bool any;

	for (unsigned i = 0; i < 3; i++)
		ids[i] = fix_post(&c->r, &tx, 1);
	vq_take_begin(vq);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_true(any);
	before = vq_consumed(vq);

	/* Two chains of a run, then abandoned without vq_run_end. */
	assert_true(vq_run_begin(vq, vq->packed, false, &r) >= 3);
	for (unsigned i = 0; i < 2; i++) {
		assert_true(vq_run_peek(&r, vq->packed, false, &d, &tag));
		assert_int_equal(vq_tag_id(tag), ids[i]);
		vq_run_done(vq, &r, vq->packed, tag, 0);
	}
	/* Counted at the run's end only. */
	assert_int_equal((uint16_t)(vq_consumed(vq) - before), 0);
	if (vq->packed) {
		/* Its positions moved as it went: the next run starts at the
		 * third chain (the rest is the single case's). */
		assert_true(vq_run_begin(vq, vq->packed, false, &r) >= 1);
		assert_true(vq_run_peek(&r, vq->packed, false, &d, &tag));
		assert_int_equal(vq_tag_id(tag), ids[2]);
		return;
	}

	/* Taken again from the start, all three, counted at each end: what
	 * came since the last. */
	assert_true(vq_run_begin(vq, vq->packed, false, &r) >= 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_true(vq_run_peek(&r, vq->packed, false, &d, &tag));
		assert_int_equal(vq_tag_id(tag), ids[i]);
		vq_run_done(vq, &r, vq->packed, tag, 0);
		assert_int_equal((uint16_t)(vq_consumed(vq) - before), i == 0 ? 0 : 1);
		if (i == 0)
			vq_run_end(vq, vq->packed, &r);
	}
	vq_run_end(vq, vq->packed, &r);
	assert_int_equal((uint16_t)(vq_consumed(vq) - before), 3);
	assert_false(vq_run_begin(vq, vq->packed, false, &r) > 0 &&
		     vq_run_peek(&r, vq->packed, false, &d, &tag));
	assert_false(fix_used(&c->r, &id, &len));
	vq_publish(vq);
	for (unsigned i = 0; i < 3; i++) {
		assert_true(fix_used(&c->r, &id, &len));
		assert_int_equal(id, ids[i]);
		assert_int_equal(len, 0);
	}
	assert_false(fix_used(&c->r, &id, &len));
}

/* vq_peek shows the first descriptor `ahead` chains on, assuming a chain
 * is one descriptor; it takes nothing and checks nothing. */
static void test_peek(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	struct fix_buf b[3] = { { c->buf, 10, false }, { c->buf + 100, 20, false },
				{ c->buf + 200, 30, false } };
	struct fix_buf odd = { 0xdead000000000000ull, 5, false };
	struct fix_buf two[2] = { { c->buf + 300, 1, false }, { c->buf + 400, 2, false } };
	struct fix_buf last = { c->buf + 500, 3, false };
	struct vq_chain ch;
	struct vq_desc d = { 0 };
	struct walked w;
	bool any;

	vq_take_begin(vq);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_false(vq_peek(vq, vq->packed, 0, &d));
	for (unsigned i = 0; i < 3; i++)
		fix_post(&c->r, &b[i], 1);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	for (uint16_t i = 0; i < 3; i++) {
		assert_true(vq_peek(vq, vq->packed, i, &d));
		assert_int_equal(d.addr, b[i].addr);
		assert_int_equal(d.len, b[i].len);
	}
	assert_false(vq_peek(vq, vq->packed, 3, &d));
	assert_false(vq_peek(vq, vq->packed, NUM, &d));
	assert_false(vq_peek(vq, vq->packed, 0xffff, &d));
	/* Nothing was taken; what is taken moves the hint on. */
	take_ok(c, &ch, false);
	assert_int_equal(walk(&ch, UINT32_MAX, &w), VQ_OK);
	assert_ptr_equal(w.pc[0].p, host(c, c->buf));
	assert_int_equal(vq_used(vq, &ch, 0), VQ_OK);
	assert_true(vq_peek(vq, vq->packed, 0, &d));
	assert_int_equal(d.addr, c->buf + 100);
	for (unsigned i = 1; i < 3; i++) {
		assert_int_equal(take_used(c, false, 0), VQ_OK);
	}
	assert_false(vq_peek(vq, vq->packed, 0, &d));
	vq_commit(vq);
	vq_publish(vq);
	for (unsigned i = 0; i < 3; i++) {
		uint16_t id;
		uint32_t len;

		assert_true(fix_used(&c->r, &id, &len));
	}

	/* Unchecked: an address no chain could use is shown as it is. */
	fix_post(&c->r, &odd, 1);
	fix_post(&c->r, two, 2);
	fix_post(&c->r, &last, 1);
	vq_take_begin(vq);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_true(vq_peek(vq, vq->packed, 0, &d));
	assert_int_equal(d.addr, 0xdead000000000000ull);
	assert_int_equal(take_err(c, false), VQ_ERR_ADDR);
	assert_true(vq_peek(vq, vq->packed, 1, &d));
	assert_int_equal(d.addr, c->buf + 300);
	/* A chain of two: split skips it by its avail entry, packed reads
	 * its second slot as if it were the next chain. */
	assert_true(vq_peek(vq, vq->packed, 2, &d));
	assert_int_equal(d.addr, c->packed ? c->buf + 400 : c->buf + 500);
	assert_int_equal(vq_peek(vq, vq->packed, 3, &d), c->packed);
	if (c->packed)
		assert_int_equal(d.addr, c->buf + 500);
}

/* ---- tentative takes (both formats) --------------------------------------------- */

/* vq_take_begin forgets what was taken and given back since the last
 * commit: the next take is the first chain not committed. */
static void test_take_begin_forgets(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	struct fix_buf a = { c->buf, 10, false }, b = { c->buf + 100, 20, false };
	struct vq_chain ch;
	struct vq_done done;
	struct walked w;
	uint16_t ida, idb, id, start = vq_consumed(vq);
	uint32_t len;

	ida = fix_post(&c->r, &a, 1);
	idb = fix_post(&c->r, &b, 1);
	vq_take_begin(vq);
	assert_int_equal(take_used(c, false, 0), VQ_OK);
	take_ok(c, &ch, false);
	assert_int_equal(vq_chain_end(&ch, &done), VQ_OK);
	assert_int_equal(vq->taken, 2);
	assert_true(vq_all_taken(vq) == false);
	vq_take_begin(vq);
	assert_int_equal(vq->taken, 0);
	vq_commit(vq);
	vq_publish(vq);
	assert_false(fix_used(&c->r, &id, &len));
	assert_int_equal(vq_consumed(vq), start);
	/* The same chain again; its buffer id is not in use any more. */
	take_ok(c, &ch, false);
	assert_int_equal(walk(&ch, UINT32_MAX, &w), VQ_OK);
	assert_ptr_equal(w.pc[0].p, host(c, c->buf));
	assert_int_equal(vq_used(vq, &ch, 0), VQ_OK);
	vq_commit(vq);
	vq_publish(vq);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, ida);
	assert_false(fix_used(&c->r, &id, &len));
	assert_int_equal(take_walk(c, false, UINT32_MAX, &w, true), VQ_OK);
	assert_int_equal(w.id, idb);
	assert_ptr_equal(w.pc[0].p, host(c, c->buf + 100));
}

/* Used elements count once committed and become visible, all of a batch
 * at once, when published: before that the driver sees nothing of them
 * (packed: the first element's slot, where the driver looks, is not
 * touched; the others may be written already, out of its sight; a
 * tentative one is nowhere in the ring). */
static void test_commit_publish(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	uint8_t before[NUM * 16];
	uint16_t ids[3], id;
	uint32_t len;

	for (unsigned i = 0; i < 3; i++) {
		struct fix_buf b = { c->buf + 64 * i, 64, false };

		ids[i] = fix_post(&c->r, &b, 1);
	}
	if (c->packed)
		memcpy(before, c->r.ring, sizeof before);
	vq_take_begin(vq);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(take_used(c, false, 0), VQ_OK);
		if (i < 2)
			vq_commit(vq); /* the third stays tentative */
	}
	assert_false(fix_used(&c->r, &id, &len));
	if (c->packed) {
		assert_memory_equal(&c->r.ring[0], before, 16);
		assert_memory_equal(&c->r.ring[2], before + 32, 16);
		assert_memory_equal(&c->r.ring[3], before + 48, sizeof before - 48);
	} else {
		assert_int_equal(c->r.used->idx, 0);
	}

	vq_publish(vq);
	for (unsigned i = 0; i < 2; i++) {
		assert_true(fix_used(&c->r, &id, &len));
		assert_int_equal(id, ids[i]);
	}
	assert_false(fix_used(&c->r, &id, &len));
	if (c->packed) {
		uint16_t f0 = le16toh(c->r.ring[0].flags);

		/* Used on wrap 1: AVAIL and USED set; nothing written: no WRITE. */
		assert_int_equal(f0 & (F_AVAIL | F_USED | VRING_DESC_F_WRITE), F_AVAIL | F_USED);
		assert_memory_equal(&c->r.ring[2], before + 32, 16);
	} else {
		assert_int_equal(c->r.used->idx, 2);
	}
	/* The tentative one is forgotten; taken again, it comes back anew. */
	vq_take_begin(vq);
	assert_int_equal(take_used(c, false, 5), VQ_OK);
	vq_commit(vq);
	vq_publish(vq);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, ids[2]);
	assert_int_equal(len, 5);
	if (c->packed)
		assert_true(le16toh(c->r.ring[2].flags) & VRING_DESC_F_WRITE);
	else
		assert_int_equal(c->r.used->idx, 3);

	/* A tentative element outlives a publication, then counts: it is
	 * published as itself, where it belongs. */
	for (unsigned i = 0; i < 2; i++) {
		struct fix_buf b = { c->buf + 64 * i, 64, true };

		ids[i] = fix_post(&c->r, &b, 1);
	}
	vq_take_begin(vq);
	assert_int_equal(take_used(c, true, 11), VQ_OK);
	vq_commit(vq);
	assert_int_equal(take_used(c, true, 22), VQ_OK);
	vq_publish(vq);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, ids[0]);
	assert_int_equal(len, 11);
	assert_false(fix_used(&c->r, &id, &len));
	vq_commit(vq);
	vq_publish(vq);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, ids[1]);
	assert_int_equal(len, 22);
	assert_false(fix_used(&c->r, &id, &len));

	/* Publishing nothing writes nothing. */
	vq_take_begin(vq);
	vq_commit(vq);
	if (c->packed) {
		memcpy(before, c->r.ring, sizeof before);
		vq_publish(vq);
		assert_memory_equal(c->r.ring, before, sizeof before);
	} else {
		c->r.used->idx = 99;
		vq_publish(vq);
		assert_int_equal(c->r.used->idx, 99);
	}
}

/* Used positions wrap: the split index around 16 bits, the packed ring
 * around its end (its wrap counter turning). */
static void test_used_wraps(void **state)
{
	struct ctx *c = *state;
	struct vq *vq;
	uint16_t ids[5], id;
	uint32_t len;

	renew(c, NUM, true, true, c->packed ? (NUM - 2) | 0x8000 : 65533);
	vq = &c->r.vq;
	for (unsigned i = 0; i < 5; i++) {
		struct fix_buf b = { c->buf + 64 * i, 64, false };

		ids[i] = fix_post(&c->r, &b, 1);
	}
	vq_take_begin(vq);
	for (unsigned i = 0; i < 5; i++) {

		assert_int_equal(take_used(c, false, 1000 + i), VQ_OK);
		vq_commit(vq);
	}
	vq_publish(vq);
	for (unsigned i = 0; i < 5; i++) {
		assert_true(fix_used(&c->r, &id, &len));
		assert_int_equal(id, ids[i]);
		assert_int_equal(len, 1000 + i);
	}
	if (c->packed) {
		/* Slots 6 and 7 used on wrap 1, 0 to 2 on wrap 0. */
		assert_int_equal(le16toh(c->r.ring[NUM - 1].flags) & (F_AVAIL | F_USED), F_AVAIL | F_USED);
		assert_int_equal(le16toh(c->r.ring[0].flags) & (F_AVAIL | F_USED), 0);
		assert_int_equal(vq_base(vq), 0x00030003);
	} else {
		assert_int_equal(c->r.used->idx, 2); /* 65533 + 5 */
		assert_int_equal(c->r.used->ring[65533 % NUM].id, ids[0]);
		assert_int_equal(c->r.used->ring[65533 % NUM].len, 1000);
		assert_int_equal(c->r.used->ring[1].id, ids[4]);
		assert_int_equal(c->r.used->ring[1].len, 1004);
		assert_int_equal(vq_base(vq), 2);
	}
}

/* A mark among the tentative takes: rewound to it, the chains taken
 * after it are taken again next. */
static void test_mark_rewind(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	struct fix_buf two[2] = { { c->buf, 10, false }, { c->buf + 10, 10, false } };
	struct fix_buf one = { c->buf + 100, 10, false };
	struct vq_done da, db, dc;
	struct vq_chain ch;
	struct vq_mark m = { 0 };
	struct walked w;
	uint16_t ida, idb, idc, id;
	uint32_t len;

	ida = fix_post(&c->r, two, 2);
	idb = fix_post(&c->r, &one, 1);
	idc = fix_post(&c->r, two, 2);
	vq_take_begin(vq);
	take_ok(c, &ch, false);
	assert_int_equal(vq_chain_end(&ch, &da), VQ_OK);
	vq_mark(vq, &m);
	take_ok(c, &ch, false);
	assert_int_equal(vq_chain_end(&ch, &db), VQ_OK);
	take_ok(c, &ch, false);
	assert_int_equal(vq_chain_end(&ch, &dc), VQ_OK);
	assert_int_equal(dc.id, idc);
	vq_rewind(vq, &m);
	assert_int_equal(vq->taken, 1);
	take_ok(c, &ch, false);
	assert_int_equal(walk(&ch, UINT32_MAX, &w), VQ_OK);
	assert_ptr_equal(w.pc[0].p, host(c, c->buf + 100));
	assert_int_equal(vq_chain_end(&ch, &db), VQ_OK);
	assert_int_equal(db.id, idb);
	assert_int_equal(vq_used_done(vq, &da, 0), VQ_OK);
	assert_int_equal(vq_used_done(vq, &db, 0), VQ_OK);
	vq_commit(vq);
	vq_publish(vq);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, ida);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, idb);
	assert_false(fix_used(&c->r, &id, &len));
	/* The one after the mark waits, whole. */
	assert_int_equal(take_walk(c, false, UINT32_MAX, &w, true), VQ_OK);
	assert_int_equal(w.id, idc);
	assert_int_equal(w.n, 2);
}

/* Taking every descriptor of the ring, in chains of one or of several,
 * is seen: waiting for more cannot help. */
static void test_all_taken(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	struct fix_buf two[2] = { { c->buf, 10, true }, { c->buf + 16, 10, true } };
	struct fix_buf one = { c->buf, 10, true };
	struct vq_chain ch;
	struct vq_done done;
	struct vq_mark m = { 0 };
	struct walked w;
	bool got = true;

	for (unsigned round = 0; round < 2; round++) {
		unsigned per = round == 0 ? 2 : 1, chains = NUM / per;

		for (unsigned i = 0; i < chains; i++)
			fix_post(&c->r, per == 2 ? two : &one, per);
		vq_take_begin(vq);
		for (unsigned i = 0; i < chains; i++) {
			assert_false(vq_all_taken(vq));
			if (i == chains / 2)
				vq_mark(vq, &m);
			/* Walked whole: a split ring counts what it walked. */
			take_ok(c, &ch, true);
			assert_int_equal(walk(&ch, UINT32_MAX, &w), VQ_OK);
			assert_int_equal(vq_chain_end(&ch, &done), VQ_OK);
		}
		assert_true(vq_all_taken(vq));
		assert_int_equal(vq_take(vq, &ch, true, &got), VQ_OK);
		assert_false(got);
		vq_rewind(vq, &m);
		assert_false(vq_all_taken(vq));
		vq_take_begin(vq);
		assert_false(vq_all_taken(vq));
		for (unsigned i = 0; i < chains; i++) {
			uint16_t id;
			uint32_t len;

			assert_int_equal(take_used(c, true, 0), VQ_OK);
			vq_commit(vq);
			vq_publish(vq);
			assert_true(fix_used(&c->r, &id, &len));
		}
		assert_false(vq_all_taken(vq));
	}
}

/* vq_consumed counts the chains committed, ever, and nothing forgotten,
 * whichever way they were taken; the difference of two readings is what
 * moved, across its wrap too. */
static void test_consumed_counter(void **state)
{
	uint32_t tag = 0;
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	struct fix_buf b = { c->buf, 10, false };
	uint16_t start = vq_consumed(vq);
	struct vq_desc d = { 0 };
	uint16_t id;
	bool any;

	for (unsigned i = 0; i < 3; i++)
		fix_post(&c->r, &b, 1);
	vq_take_begin(vq);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(take_used(c, false, 0), VQ_OK);
	}
	vq_take_begin(vq);
	vq_commit(vq);
	assert_int_equal((uint16_t)(vq_consumed(vq) - start), 0);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(take_used(c, false, 0), VQ_OK);
	}
	vq_commit(vq);
	assert_int_equal((uint16_t)(vq_consumed(vq) - start), 2);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_true(vq_peek_single(vq, vq->packed, false, &d, &tag));
	vq_single_done(vq, vq->packed, tag, 0);
	assert_int_equal((uint16_t)(vq_consumed(vq) - start), 3);
	vq_commit(vq);
	assert_int_equal((uint16_t)(vq_consumed(vq) - start), 3);
	vq_publish(vq);
	for (unsigned i = 0; i < 3; i++) {
		uint32_t len;

		assert_true(fix_used(&c->r, &id, &len));
	}
	/* Many more: the difference stays right across the counter's wrap. */
	start = vq_consumed(vq);
	cycle(c, 70000);
	assert_int_equal((uint16_t)(vq_consumed(vq) - start), (uint16_t)70000);
}

/* ---- the split avail ring -------------------------------------------------------- */

/* Heads come out in ring order; avail->idx is read again only when what
 * was read last is taken. */
static void test_split_avail_order(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	struct vq_chain ch;
	struct vq_done done;
	bool any;

	for (uint16_t i = 0; i < NUM; i++)
		fix_desc(&c->r, i, c->buf + 16 * i, 10, 0, 0);
	fix_publish(&c->r, 3);
	fix_publish(&c->r, 5);
	vq_take_begin(vq);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_true(any);
	assert_int_equal(vq->avail_seen, 2);
	fix_publish(&c->r, 7);
	take_ok(c, &ch, false);
	assert_int_equal(ch.id, 3);
	assert_int_equal(vq_chain_end(&ch, &done), VQ_OK);
	assert_int_equal(done.id, 3);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_int_equal(vq->avail_seen, 2); /* one read is left to take */
	take_ok(c, &ch, false);
	assert_int_equal(ch.id, 5);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_true(any);
	assert_int_equal(vq->avail_seen, 3);
	take_ok(c, &ch, false);
	assert_int_equal(ch.id, 7);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_false(any);
}

/* Avail entries wrap around the ring and the index around 16 bits. */
static void test_split_avail_wraps(void **state)
{
	struct ctx *c = *state;
	struct vq_chain ch;

	renew(c, NUM, true, true, 65534);
	for (uint16_t i = 0; i < NUM; i++) {
		fix_desc(&c->r, i, c->buf + 16 * i, 10, 0, 0);
		fix_publish(&c->r, (uint16_t)(NUM - 1 - i));
	}
	assert_int_equal(c->r.avail->idx, 6); /* wrapped */
	vq_take_begin(&c->r.vq);
	for (uint16_t i = 0; i < NUM; i++) {
		take_ok(c, &ch, false);
		assert_int_equal(ch.id, NUM - 1 - i);
	}
	assert_true(vq_all_taken(&c->r.vq));
}

/* A head outside the descriptor table is an error, not an access. */
static void test_split_head_out_of_range(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	struct vq_chain ch;
	struct vq_desc d = { 0 };
	bool got;

	fix_desc(&c->r, NUM - 1, c->buf, 10, 0, 0);
	fix_publish(&c->r, NUM - 1);
	fix_publish(&c->r, NUM);
	vq_take_begin(vq);
	take_ok(c, &ch, false);
	assert_int_equal(ch.id, NUM - 1);
	assert_int_equal(vq_take(vq, &ch, false, &got), VQ_ERR_HEAD);
	assert_int_equal(vq->taken, 1);
	assert_false(vq_peek(vq, vq->packed, 0, &d));
	c->r.avail->ring[1] = 0xffff;
	assert_int_equal(vq_take(vq, &ch, false, &got), VQ_ERR_HEAD);
}

/* avail->idx may run ahead by at most the ring size; a bigger jump, or
 * one backwards, is an error and changes nothing. */
static void test_split_avail_index_jump(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	struct vq_chain ch;
	bool any = true, grew = true, got;

	c->r.avail->idx = NUM + 1;
	vq_take_begin(vq);
	assert_int_equal(vq_avail(vq, &any), VQ_ERR_AVAIL_IDX);
	assert_int_equal(vq_take(vq, &ch, false, &got), VQ_ERR_AVAIL_IDX);
	assert_int_equal(vq->avail_seen, 0);
	c->r.avail->idx = 0xffff; /* one behind */
	assert_int_equal(vq_avail(vq, &any), VQ_ERR_AVAIL_IDX);
	c->r.avail->idx = NUM;
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_true(any);
	assert_int_equal(vq->avail_seen, NUM);

	/* Wrapping around 16 bits is fine while the distance is small. */
	renew(c, NUM, true, true, 65534);
	vq = &c->r.vq;
	c->r.avail->idx = 2;
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_true(any);
	c->r.avail->idx = 7; /* 9 ahead */
	assert_int_equal(vq_avail_grew(vq, &grew), VQ_ERR_AVAIL_IDX);
	assert_false(grew);
	/* Entries once made available cannot be taken back. */
	c->r.avail->idx = 1;
	assert_int_equal(vq_avail_grew(vq, &grew), VQ_ERR_AVAIL_IDX);
	c->r.avail->idx = 3;
	assert_int_equal(vq_avail_grew(vq, &grew), VQ_OK);
	assert_true(grew);
	assert_int_equal((uint16_t)(vq->avail_seen - vq->last_avail), 5);
}

/* A chain walks by next, not by position; next without NEXT is ignored. */
static void test_split_next_order(void **state)
{
	struct ctx *c = *state;
	struct walked w;

	fix_desc(&c->r, 0, c->buf, 12, VRING_DESC_F_NEXT, 5);
	fix_desc(&c->r, 5, c->buf + 1000, 300, VRING_DESC_F_NEXT, 2);
	fix_desc(&c->r, 2, c->buf + 100, 1, 0, 7);
	fix_publish(&c->r, 0);
	assert_int_equal(take_walk(c, false, UINT32_MAX, &w, true), VQ_OK);
	assert_int_equal(w.id, 0);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.bytes, 313);
	assert_ptr_equal(w.pc[1].p, host(c, c->buf + 1000));
	assert_ptr_equal(w.pc[2].p, host(c, c->buf + 100));
}

/* A loop is caught after as many hops as the table has entries; a chain
 * exactly as long as the table is fine. next must index the table. */
static void test_split_loops_and_next(void **state)
{
	struct ctx *c = *state;
	struct walked w;

	fix_publish(&c->r, 0);
	fix_desc(&c->r, 0, c->buf, 10, VRING_DESC_F_NEXT, 1);
	fix_desc(&c->r, 1, c->buf, 10, VRING_DESC_F_NEXT, 0);
	assert_int_equal(take_err(c, false), VQ_ERR_LOOP);
	fix_desc(&c->r, 1, c->buf, 10, VRING_DESC_F_NEXT, 1); /* self loop */
	assert_int_equal(take_err(c, false), VQ_ERR_LOOP);
	/* A loop of empty buffers yields nothing but still ends. */
	fix_desc(&c->r, 0, c->buf, 0, VRING_DESC_F_NEXT, 0);
	assert_int_equal(take_err(c, false), VQ_ERR_LOOP);
	for (uint16_t i = 0; i < NUM; i++)
		fix_desc(&c->r, i, c->buf + i, 1, i < NUM - 1 ? VRING_DESC_F_NEXT : 0,
			 (uint16_t)(i + 1));
	assert_int_equal(take_walk(c, false, UINT32_MAX, &w, false), VQ_OK);
	assert_int_equal(w.bytes, NUM);
	/* The same with the last one pointing back: one hop too many. */
	fix_desc(&c->r, NUM - 1, c->buf, 1, VRING_DESC_F_NEXT, 0);
	assert_int_equal(take_err(c, false), VQ_ERR_LOOP);

	fix_desc(&c->r, 0, c->buf, 10, VRING_DESC_F_NEXT, NUM);
	assert_int_equal(take_err(c, false), VQ_ERR_NEXT);
	fix_desc(&c->r, 0, c->buf, 10, VRING_DESC_F_NEXT, 0xffff);
	assert_int_equal(take_err(c, false), VQ_ERR_NEXT);
	fix_desc(&c->r, 0, c->buf, 10, VRING_DESC_F_NEXT, NUM - 1);
	fix_desc(&c->r, NUM - 1, c->buf, 10, 0, 0xffff);
	assert_int_equal(take_err(c, false), VQ_OK);
}

/* An indirect table after direct descriptors; its entries walked by next. */
static void test_split_indirect_links(void **state)
{
	struct ctx *c = *state;
	struct fix_buf t[NUM];
	struct vring_desc *td;
	uint64_t tg;
	struct walked w;

	for (unsigned i = 0; i < NUM; i++)
		t[i] = (struct fix_buf){ c->buf + i * 10, 10, false };
	tg = fix_table(&c->f, &c->r, t, NUM, NULL);
	td = (struct vring_desc *)(void *)host(c, tg);
	fix_desc(&c->r, 3, tg, NUM * 16, VRING_DESC_F_INDIRECT, 0);
	fix_desc(&c->r, 2, c->buf + 1000, 12, VRING_DESC_F_NEXT, 3);
	fix_publish(&c->r, 2);
	assert_int_equal(take_walk(c, false, UINT32_MAX, &w, false), VQ_OK);
	assert_int_equal(w.n, NUM + 1);
	assert_int_equal(w.bytes, NUM * 10 + 12);
	assert_ptr_equal(w.pc[0].p, host(c, c->buf + 1000));
	assert_ptr_equal(w.pc[1].p, host(c, c->buf));
	td[0].next = NUM - 1;
	assert_int_equal(take_walk(c, false, UINT32_MAX, &w, false), VQ_OK);
	assert_int_equal(w.n, 3);
	assert_ptr_equal(w.pc[2].p, host(c, c->buf + (NUM - 1) * 10));
}

/* ---- packed rings: what a driver may lie about ------------------------------------ */

/* A buffer id is checked in the last descriptor of a chain, the only one
 * that carries it: beyond the ring it is an error, however the chain is
 * taken. */
static void test_packed_bad_id(void **state)
{
	uint32_t tag = 0;
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	uint16_t av = fix_avail_flags(true);
	struct fix_buf t[2] = { { c->buf, 10, false }, { c->buf + 10, 10, false } };
	uint64_t tg = fix_table(&c->f, &c->r, t, 2, NULL);
	struct vq_chain ch;
	struct vq_done done;
	struct vq_desc d = { 0 };
	struct walked w;
	bool any;

	fix_pdesc(&c->r, 0, c->buf, 10, NUM, av);
	assert_int_equal(take_err(c, false), VQ_ERR_ID);
	vq_take_begin(vq);
	take_ok(c, &ch, false);
	assert_int_equal(vq_chain_end(&ch, &done), VQ_ERR_ID);
	vq_take_begin(vq);
	fix_pdesc(&c->r, 0, c->buf, 10, 0xffff, av);
	assert_int_equal(take_err(c, false), VQ_ERR_ID);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_false(vq_peek_single(vq, vq->packed, false, &d, &tag));

	/* Only the last descriptor's id counts. */
	fix_pdesc(&c->r, 1, c->buf + 16, 10, 3, av);
	fix_pdesc(&c->r, 0, c->buf, 10, 0xffff, av | VRING_DESC_F_NEXT);
	vq_take_begin(vq);
	take_ok(c, &ch, false);
	assert_int_equal(walk(&ch, UINT32_MAX, &w), VQ_OK);
	assert_int_equal(w.n, 2);
	assert_int_equal(vq_chain_end(&ch, &done), VQ_OK);
	assert_int_equal(done.id, 3);
	assert_int_equal(done.slots, 2);
	fix_pdesc(&c->r, 1, c->buf + 16, 10, NUM, av);
	assert_int_equal(take_err(c, false), VQ_ERR_ID);

	/* An indirect descriptor carries its chain's id. */
	fix_pdesc(&c->r, 0, tg, 32, NUM, av | VRING_DESC_F_INDIRECT);
	assert_int_equal(take_err(c, false), VQ_ERR_ID);
	fix_pdesc(&c->r, 0, tg, 32, NUM - 1, av | VRING_DESC_F_INDIRECT);
	assert_int_equal(take_err(c, false), VQ_OK);
}

/* A buffer id given back and not yet published is still the device's:
 * a chain naming it cannot be given back (VQ_ERR_ID_BUSY), and the fast
 * path leaves such a chain to the general way. */
static void test_packed_id_busy(void **state)
{
	uint32_t tag = 0;
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	struct fix_buf b = { c->buf, 10, false };
	struct vq_chain ch;
	struct vq_done d1, d2;
	struct vq_desc d = { 0 };
	uint16_t id;
	uint32_t len;
	bool any;

	c->r.next_id = 3;
	fix_post(&c->r, &b, 1);
	c->r.next_id = 3;
	fix_post(&c->r, &b, 1);
	/* Given back tentatively. */
	vq_take_begin(vq);
	assert_int_equal(take_used(c, false, 0), VQ_OK);
	assert_int_equal(take_used(c, false, 0), VQ_ERR_ID_BUSY);
	/* Committed, not published. */
	vq_take_begin(vq);
	assert_int_equal(take_used(c, false, 0), VQ_OK);
	vq_commit(vq);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_true(any);
	assert_false(vq_peek_single(vq, vq->packed, false, &d, &tag));
	assert_int_equal(vq->taken, 0);
	assert_int_equal(take_used(c, false, 0), VQ_ERR_ID_BUSY);
	/* Published: the driver has it back and may use it again. */
	vq_take_begin(vq);
	vq_publish(vq);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, 3);
	assert_true(vq_peek_single(vq, vq->packed, false, &d, &tag));
	assert_int_equal(vq_tag_id(tag), 3);
	vq_single_done(vq, vq->packed, tag, 0);
	vq_publish(vq);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, 3);

	/* Two chains in flight with one id, given back in one batch. */
	c->r.next_id = 5;
	fix_post(&c->r, &b, 1);
	c->r.next_id = 5;
	fix_post(&c->r, &b, 1);
	vq_take_begin(vq);
	take_ok(c, &ch, false);
	assert_int_equal(vq_chain_end(&ch, &d1), VQ_OK);
	take_ok(c, &ch, false);
	assert_int_equal(vq_chain_end(&ch, &d2), VQ_OK);
	assert_int_equal(vq_used_done(vq, &d1, 0), VQ_OK);
	assert_int_equal(vq_used_done(vq, &d2, 0), VQ_ERR_ID_BUSY);
	vq_take_begin(vq);
}

/* The general way knows ids in place too: a chain of one slot named by its
 * own id is free without a look-up, walked and given back, and the ring
 * stays in place; a chain naming the slot of one given back tentatively is
 * still refused, at its walk and so before anything counts it. */
static void test_packed_general_in_place(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	struct fix_buf b = { c->buf, 10, false };
	struct vq_chain ch;
	struct vq_done done;
	uint16_t id;
	uint32_t len;
	unsigned n;

	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(fix_post(&c->r, &b, 1), i);
	vq_take_begin(vq);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(take_used(c, false, 0), VQ_OK);
		assert_true(vq->ids_in_place);
	}
	/* Slot 3 names slot 1's id, given back and not committed: its walk
	 * (the chain's end) refuses it. */
	c->r.next_id = 1;
	fix_post(&c->r, &b, 1);
	take_ok(c, &ch, false);
	assert_int_equal(vq_chain_end(&ch, &done), VQ_ERR_ID_BUSY);
	assert_true(vq->ids_in_place);
	/* Forgotten, then as committed: the same. */
	vq_take_begin(vq);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(take_used(c, false, 0), VQ_OK);
	vq_commit(vq);
	take_ok(c, &ch, false);
	assert_int_equal(vq_chain_end(&ch, &done), VQ_ERR_ID_BUSY);
	vq_take_begin(vq);
	vq_publish(vq);
	for (n = 0; fix_used(&c->r, &id, &len); n++)
		assert_int_equal(id, n);
	assert_int_equal(n, 3);
	/* Published: id 1 is free again at slot 3. */
	assert_int_equal(take_used(c, false, 0), VQ_OK);
	vq_commit(vq);
	vq_publish(vq);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, 1);
}

/* The fast path's way to know a buffer id free (vq ids_in_place): while
 * every chain given back since the publication was one slot named by its
 * own id, an id naming the next slot is free without a look-up. Each way
 * out of that must still refuse every id in use, and only those. */
static void test_packed_ids_in_place(void **state)
{
	uint32_t tag = 0;
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	struct fix_buf b = { c->buf, 10, false };
	struct fix_buf two[2] = { { c->buf, 10, false }, { c->buf + 16, 10, false } };
	struct vq_desc d = { 0 };
	uint16_t id, seen[NUM];
	uint32_t len;
	unsigned n;

	/* Slots 0-2, ids 0-2: in place, nothing looked up. */
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(fix_post(&c->r, &b, 1), i);
		assert_true(vq_peek_single(vq, vq->packed, false, &d, &tag));
		assert_int_equal(vq_tag_id(tag), i);
		vq_single_done(vq, vq->packed, tag, 0);
		assert_true(vq->ids_in_place);
	}
	/* Slot 3 names id 1, in use: the fast path leaves it, the general way
	 * refuses it. */
	c->r.next_id = 1;
	fix_post(&c->r, &b, 1);
	assert_false(vq_peek_single(vq, vq->packed, false, &d, &tag));
	vq_take_begin(vq);
	assert_int_equal(take_used(c, false, 0), VQ_ERR_ID_BUSY);
	vq_take_begin(vq);
	/* The driver puts id 5 there instead (free, not its slot's): taken the
	 * fast way, and from then on ids are looked up. At slot 4, ids 0-2
	 * and 5 are refused, and id 3 (free, naming a slot behind) is taken. */
	fix_unpost(&c->r);
	c->r.next_id = 5;
	fix_post(&c->r, &b, 1);
	assert_true(vq_peek_single(vq, vq->packed, false, &d, &tag));
	assert_int_equal(vq_tag_id(tag), 5);
	assert_false(vq->ids_in_place);
	vq_single_done(vq, vq->packed, tag, 0);
	for (uint16_t busy = 0; busy < 6; busy++) {
		if (busy == 3 || busy == 4)
			continue;
		c->r.next_id = busy;
		fix_post(&c->r, &b, 1);
		assert_false(vq_peek_single(vq, vq->packed, false, &d, &tag));
		vq_take_begin(vq);
		assert_int_equal(take_used(c, false, 0), VQ_ERR_ID_BUSY);
		vq_take_begin(vq);
		fix_unpost(&c->r);
	}
	c->r.next_id = 3;
	fix_post(&c->r, &b, 1);
	assert_true(vq_peek_single(vq, vq->packed, false, &d, &tag));
	assert_int_equal(vq_tag_id(tag), 3);
	vq_single_done(vq, vq->packed, tag, 0);
	/* Published: every one is free again, and ids are in place again. */
	vq_publish(vq);
	assert_true(vq->ids_in_place);
	for (n = 0; fix_used(&c->r, &id, &len); n++)
		seen[n] = id;
	assert_int_equal(n, 5);
	assert_int_equal(seen[3], 5);
	assert_int_equal(seen[4], 3);

	/* Slots 5 and 6: a chain of two named by its first slot's id is not
	 * in place (id 6 is not in use): ids are looked up, and at slot 7 id
	 * 6 is free where 5 is not. */
	assert_int_equal(vq->take_slot, 5);
	c->r.next_id = 5;
	fix_post(&c->r, two, 2);
	vq_take_begin(vq);
	assert_int_equal(take_used(c, false, 0), VQ_OK);
	vq_commit(vq);
	assert_false(vq->ids_in_place);
	c->r.next_id = 5;
	fix_post(&c->r, &b, 1);
	assert_false(vq_peek_single(vq, vq->packed, false, &d, &tag));
	fix_unpost(&c->r);
	c->r.slots_of[5] = 2; /* the driver's books: id 5 is the chain of two */
	c->r.next_id = 6;
	fix_post(&c->r, &b, 1);
	assert_true(vq_peek_single(vq, vq->packed, false, &d, &tag));
	assert_int_equal(vq_tag_id(tag), 6);
	vq_single_done(vq, vq->packed, tag, 0);
	vq_publish(vq);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, 5);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, 6);
	assert_false(fix_used(&c->r, &id, &len));

	/* Given back the general way, one slot each and in place, ids stay
	 * in place: the fast way then refuses them by their slots alone. */
	assert_true(vq->ids_in_place);
	assert_int_equal(vq->take_slot, 0);
	c->r.next_id = 0;
	fix_post(&c->r, &b, 1);
	vq_take_begin(vq);
	assert_int_equal(take_used(c, false, 0), VQ_OK);
	vq_commit(vq);
	assert_true(vq->ids_in_place);
	c->r.next_id = 0;
	fix_post(&c->r, &b, 1); /* slot 1 names 0 */
	assert_false(vq_peek_single(vq, vq->packed, false, &d, &tag));
	vq_take_begin(vq);
	assert_int_equal(take_used(c, false, 0), VQ_ERR_ID_BUSY);
	vq_take_begin(vq);
}

/* Nothing is available on the ring as it is now. */
static void nothing_available(struct ctx *c)
{
	uint32_t tag = 0;
	struct vq *vq = &c->r.vq;
	struct vq_chain ch;
	struct vq_desc d = { 0 };
	bool any = true, got = true, grew = true;

	vq_take_begin(vq);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_false(any);
	assert_int_equal(vq_take(vq, &ch, false, &got), VQ_OK);
	assert_false(got);
	assert_false(vq_peek_single(vq, vq->packed, false, &d, &tag));
	assert_false(vq_peek(vq, vq->packed, 0, &d));
	assert_int_equal(vq_avail_grew(vq, &grew), VQ_OK);
	assert_false(grew);
}

/* Available means AVAIL as the driver's wrap counter and USED not: every
 * other pattern, a zeroed ring on either wrap included, is not. */
static void test_packed_flags_that_lie(void **state)
{
	struct ctx *c = *state;

	for (unsigned wrap = 0; wrap < 2; wrap++) {
		const uint16_t lies[] = { 0, F_AVAIL | F_USED, fix_avail_flags(!wrap),
					  F_AVAIL | F_USED | VRING_DESC_F_WRITE };
		struct walked w;

		renew(c, NUM, true, true, wrap << 15);
		nothing_available(c);
		for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
			fix_pdesc(&c->r, 0, c->buf, 10, 0, lies[i]);
			nothing_available(c);
		}
		fix_pdesc(&c->r, 0, c->buf, 10, 0, fix_avail_flags(wrap));
		assert_int_equal(take_walk(c, false, UINT32_MAX, &w, false), VQ_OK);
		assert_int_equal(w.bytes, 10);
	}
}

/* A chain running past the ring's end goes on at slot 0, the wrap counter
 * turned for the part after it; its used element is written at its first
 * slot, and the ring goes on after its last. */
static void test_packed_chain_wraps_ring(void **state)
{
	struct ctx *c = *state;
	struct fix_buf four[4] = { { c->buf, 10, true },
				   { c->buf + 100, 20, true },
				   { c->buf + 200, 30, true },
				   { c->buf + 300, 40, true } };
	struct vq_chain ch;
	struct vq_done done;
	struct walked w;
	uint16_t id, uid;
	uint32_t len;

	renew(c, NUM, true, true, (NUM - 2) | 0x8000);
	id = fix_post(&c->r, four, 4);
	assert_int_equal(c->r.avail_slot, 2);
	assert_false(c->r.avail_wrap);
	vq_take_begin(&c->r.vq);
	take_ok(c, &ch, true);
	assert_int_equal(walk(&ch, UINT32_MAX, &w), VQ_OK);
	assert_int_equal(w.n, 4);
	for (unsigned i = 0; i < 4; i++)
		assert_ptr_equal(w.pc[i].p, host(c, four[i].addr));
	assert_int_equal(vq_chain_end(&ch, &done), VQ_OK);
	assert_int_equal(done.id, id);
	assert_int_equal(done.slots, 4);
	assert_int_equal(vq_used_done(&c->r.vq, &done, 100), VQ_OK);
	vq_commit(&c->r.vq);
	vq_publish(&c->r.vq);
	assert_true(fix_used(&c->r, &uid, &len));
	assert_int_equal(uid, id);
	assert_int_equal(len, 100);
	assert_int_equal(le16toh(c->r.ring[NUM - 2].flags) & (F_AVAIL | F_USED), F_AVAIL | F_USED);
	assert_int_equal(vq_base(&c->r.vq), 0x00020002);
	/* The next chain, on wrap 0, and its used element too. */
	id = fix_post(&c->r, four, 2);
	assert_int_equal(take_walk(c, true, UINT32_MAX, &w, true), VQ_OK);
	assert_int_equal(w.id, id);
	assert_int_equal(w.n, 2);
	assert_int_equal(le16toh(c->r.ring[2].flags) & (F_AVAIL | F_USED), 0);
}

/* A chain longer than the ring is a loop; one exactly as long is fine;
 * the ring of one entry as well. */
static void test_packed_chain_longer_than_ring(void **state)
{
	struct ctx *c = *state;
	struct vq_chain ch;
	struct vq_done done;
	struct walked w;

	for (unsigned round = 0; round < 2; round++) {
		/* From slot 0, and from the middle round to itself. */
		uint16_t start = round ? 5 : 0;

		renew(c, NUM, true, true, start | 0x8000);
		for (uint16_t i = NUM; i-- > 0;) {
			uint16_t s = (uint16_t)((start + i) % NUM);

			fix_pdesc(&c->r, s, c->buf + 16 * i, 10, 0,
				  fix_avail_flags(s >= start) | VRING_DESC_F_NEXT);
		}
		assert_int_equal(take_err(c, false), VQ_ERR_LOOP);
		vq_take_begin(&c->r.vq);
		take_ok(c, &ch, false);
		assert_int_equal(vq_chain_end(&ch, &done), VQ_ERR_LOOP);
		vq_take_begin(&c->r.vq);
		/* The last one without NEXT: as long as the ring, fine. */
		fix_pdesc(&c->r, (uint16_t)((start + NUM - 1) % NUM), c->buf, 10, 1,
			  fix_avail_flags((start + NUM - 1) % NUM >= start));
		vq_take_begin(&c->r.vq);
		take_ok(c, &ch, false);
		assert_int_equal(walk(&ch, UINT32_MAX, &w), VQ_OK);
		assert_int_equal(w.n, NUM);
		assert_int_equal(vq_chain_end(&ch, &done), VQ_OK);
		assert_int_equal(done.slots, NUM);
		assert_int_equal(done.id, 1);
		assert_true(vq_all_taken(&c->r.vq));
	}
	renew(c, 1, true, true, 0x8000);
	fix_pdesc(&c->r, 0, c->buf, 10, 0, fix_avail_flags(true) | VRING_DESC_F_NEXT);
	assert_int_equal(take_err(c, false), VQ_ERR_LOOP);
	fix_pdesc(&c->r, 0, c->buf, 10, 0, fix_avail_flags(true));
	c->r.slots_of[0] = 1;
	assert_int_equal(take_walk(c, false, UINT32_MAX, &w, true), VQ_OK);
	assert_int_equal(w.n, 1);
}

/* A driver that makes slots available again before it got them back
 * gets nothing more taken than the ring holds: the module never keeps
 * more used elements than it has room for, whatever the lies. */
static void test_packed_avail_again(void **state)
{
	uint32_t tag = 0;
	struct ctx *c = *state;
	struct fix_buf b = { c->buf, 10, false };
	struct fix_buf two[2] = { { c->buf, 10, false }, { c->buf + 16, 10, false } };
	struct vq_done d[4];
	struct vq_chain ch;
	struct vq_desc desc;
	struct vq *vq;
	uint16_t id;
	uint32_t len;
	bool any, got;

	renew(c, 4, true, true, 0x8000);
	vq = &c->r.vq;
	for (unsigned i = 0; i < 4; i++)
		fix_post(&c->r, &b, 1);
	vq_take_begin(vq);
	for (unsigned i = 0; i < 4; i++) {
		take_ok(c, &ch, false);
		assert_int_equal(vq_chain_end(&ch, &d[i]), VQ_OK);
	}
	assert_true(vq_all_taken(vq));
	/* Slot 0 again, for the next lap: it has not been given back. */
	fix_pdesc(&c->r, 0, c->buf, 10, 0, fix_avail_flags(false));
	assert_int_equal(vq_take(vq, &ch, false, &got), VQ_OK);
	assert_false(got);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(vq_used_done(vq, &d[i], 0), VQ_OK);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_false(any);
	vq_commit(vq);
	assert_int_equal(vq->npending, 4);
	/* Committed, not published: still not the driver's to reuse. A
	 * driver that scribbles there spoils only what it reads back. */
	for (uint16_t s = 1; s < 4; s++)
		fix_pdesc(&c->r, s, c->buf, 10, s, fix_avail_flags(false));
	vq_take_begin(vq);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_false(any);
	assert_int_equal(vq_take(vq, &ch, false, &got), VQ_OK);
	assert_false(got);
	assert_false(vq_peek_single(vq, vq->packed, false, &desc, &tag));
	assert_int_equal(vq->npending + vq->ntent, 4);
	vq_publish(vq);
	assert_int_equal(vq->npending, 0);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, 0);
	/* Its early descriptors were overwritten by the used elements. */
	nothing_available(c);

	/* Chains of two: the ring is held whole after two of them (slots,
	 * not chains, count); a lie that makes slot 0 available again for
	 * the next lap is not taken until the chains are published. */
	renew(c, 4, true, true, 0x8000);
	vq = &c->r.vq;
	fix_post(&c->r, two, 2);
	fix_post(&c->r, two, 2);
	vq_take_begin(vq);
	for (unsigned i = 0; i < 2; i++) {
		take_ok(c, &ch, false);
		assert_int_equal(vq_chain_end(&ch, &d[i]), VQ_OK);
	}
	fix_pdesc(&c->r, 0, c->buf, 10, 2, fix_avail_flags(false));
	assert_int_equal(vq_take(vq, &ch, false, &got), VQ_OK);
	assert_false(got);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(vq_used_done(vq, &d[i], 0), VQ_OK);
	assert_int_equal(vq->ntent, 2);
	vq_commit(vq);
	assert_int_equal(vq_take(vq, &ch, false, &got), VQ_OK);
	assert_false(got);
	assert_false(vq_peek_single(vq, vq->packed, false, &desc, &tag));
	vq_publish(vq);
	assert_int_equal(vq->npending, 0);
	/* Both come back whole (the first over the lie), in order. */
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, 0);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, 1);
	assert_false(fix_used(&c->r, &id, &len));
	/* Given back now: the next lap is the driver's to post. */
	fix_post(&c->r, &b, 1);
	take_ok(c, &ch, false);
}

/* The driver's event suppression area: flags 3 are reserved, DESC needs
 * EVENT_IDX, an offset must lie within the ring. Bits above the flags
 * mean nothing. Asked with nothing published, nothing is read. */
static void test_packed_event_refused(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	bool signal;

	c->r.driver_event->flags = htole16(3);
	assert_int_equal(vq_needs_signal(vq, &signal), VQ_OK); /* nothing published */
	assert_false(signal);
	cycle(c, 1);
	assert_int_equal(vq_needs_signal(vq, &signal), VQ_ERR_EVENT);

	c->r.driver_event->flags = htole16(VRING_PACKED_EVENT_FLAG_DESC);
	c->r.driver_event->off_wrap = htole16(NUM | 0x8000);
	cycle(c, 1);
	assert_int_equal(vq_needs_signal(vq, &signal), VQ_ERR_EVENT);
	c->r.driver_event->off_wrap = htole16(0x7fff);
	cycle(c, 1);
	assert_int_equal(vq_needs_signal(vq, &signal), VQ_ERR_EVENT);
	c->r.driver_event->off_wrap = htole16((NUM - 1) | 0x8000);
	cycle(c, 1);
	assert_int_equal(vq_needs_signal(vq, &signal), VQ_OK);
	c->r.driver_event->flags = htole16(0xfff0 | VRING_PACKED_EVENT_FLAG_ENABLE);
	c->r.driver_event->off_wrap = htole16(0xffff); /* not read */
	cycle(c, 1);
	assert_int_equal(vq_needs_signal(vq, &signal), VQ_OK);
	assert_true(signal);

	renew(c, NUM, false, true, 0x8000);
	vq = &c->r.vq;
	c->r.driver_event->flags = htole16(VRING_PACKED_EVENT_FLAG_DESC);
	c->r.driver_event->off_wrap = htole16(0x8000);
	cycle(c, 1);
	assert_int_equal(vq_needs_signal(vq, &signal), VQ_ERR_EVENT);
}

/* ---- sizes, wraps, restarts ----------------------------------------------------------- */

/* Batches of chains of one to three buffers round a ring of num entries
 * laps times; where the ring stands (vq_base) follows the driver. */
static void run_laps(struct ctx *c, unsigned num, uint32_t base, unsigned laps)
{
	unsigned maxlen = num < 3 ? num : 3, total = 0, round = 0;

	renew(c, num, true, true, base);
	while (total < laps * num) {
		unsigned lens[8], n = 0, slots = 0;

		for (unsigned i = 0; i < 1 + round % 5; i++) {
			unsigned len = 1 + (round + i) % maxlen;

			if (slots + len > num)
				break;
			lens[n++] = len;
			slots += len;
		}
		pass(c, lens, n);
		assert_int_equal(vq_base(&c->r.vq), driver_base(c));
		total += slots;
		round++;
	}
}

/* Packed rings of any size, from 1 on, wrap as often as they are used;
 * split rings round their 16-bit index. */
static void test_sizes_and_laps(void **state)
{
	struct ctx *c = *state;

	if (c->packed) {
		static const unsigned sizes[] = { 250, 1, 3, 5, 8, 1024 };

		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			run_laps(c, sizes[i], 0x8000, 5);
			run_laps(c, sizes[i], sizes[i] / 2, 3); /* from the middle, wrap 0 */
		}
	} else {
		static const unsigned sizes[] = { 1, 4, 256, 1024 };

		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
			run_laps(c, sizes[i], 65536 - sizes[i], 3);
	}
}

/* Stopped (vq_base) and started again mid-ring, after a wrap, the ring
 * resumes exactly: the first chain not committed comes next, used
 * elements go where the driver looks for them. */
static void test_restart_mid_wrap(void **state)
{
	struct ctx *c = *state;
	static const unsigned a[] = { 3, 2 }, b[] = { 3, 3 }, d[] = { 2, 1, 1 };
	struct fix_buf two[2] = { { c->buf, 10, true }, { c->buf + 16, 20, true } };
	struct vq *vq = &c->r.vq;
	struct vq_chain ch;
	struct vq_done done;
	uint16_t ida, idb, id;
	uint32_t base, len;

	renew(c, NUM, true, true, c->packed ? 0x8000 : 65530);
	vq = &c->r.vq;
	pass(c, a, 2);
	pass(c, b, 2);
	pass(c, d, 3);
	/* Packed: 15 slots on, slot 7 of wrap 0; split: 7 chains, index 1. */
	base = driver_base(c);
	assert_int_equal(base, c->packed ? 0x00070007 : 1);
	assert_int_equal(vq_base(vq), base);
	ida = fix_post(&c->r, two, 2);
	idb = fix_post(&c->r, two, 1);
	/* One taken, not committed: not part of where it stands. */
	vq_take_begin(vq);
	take_ok(c, &ch, true);
	assert_int_equal(vq_chain_end(&ch, &done), VQ_OK);
	assert_int_equal(vq_base(vq), base);

	fix_ring_restart(&c->f, &c->r);
	vq = &c->r.vq;
	vq_take_begin(vq);
	take_ok(c, &ch, true);
	assert_int_equal(vq_chain_end(&ch, &done), VQ_OK);
	assert_int_equal(done.id, ida);
	assert_int_equal(vq_used_done(vq, &done, 30), VQ_OK);
	assert_int_equal(take_used(c, true, 10), VQ_OK);
	vq_commit(vq);
	vq_publish(vq);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, ida);
	assert_int_equal(len, 30);
	assert_true(fix_used(&c->r, &id, &len));
	assert_int_equal(id, idb);
	assert_int_equal(len, 10);
	/* And on across the next wrap. */
	pass(c, b, 2);
	pass(c, a, 2);
	assert_int_equal(vq_base(vq), driver_base(c));

	/* A frontend that gives back only the low half (DPDK) resumes at the
	 * same place. */
	if (c->packed) {
		fix_ring_restart_at(&c->f, &c->r, vq_base(&c->r.vq) & 0xffff);
		pass(c, d, 3);
		pass(c, b, 2);
		assert_int_equal(vq_base(&c->r.vq), driver_base(c));
	}
}

/* Which SET_VRING_NUM sizes and SET_VRING_BASE values each format takes. */
static void test_num_and_base_valid(void **state)
{
	static const struct {
		bool packed;
		unsigned num;
		bool ok;
	} nums[] = {
		{ false, 0, false },    { false, 1, true },     { false, 2, true },
		{ false, 3, false },    { false, 250, false },  { false, 256, true },
		{ false, 32768, true }, { false, 65536, false },
		{ true, 0, false },     { true, 1, true },      { true, 3, true },
		{ true, 250, true },    { true, 256, true },    { true, 32767, true },
		{ true, 32768, true },  { true, 32769, false }, { true, 65535, false },
	};
	static const struct {
		bool packed;
		unsigned num;
		uint32_t base;
		bool ok;
	} bases[] = {
		/* split: any 16-bit index */
		{ false, 256, 0, true },
		{ false, 256, 256, true },
		{ false, 256, 65535, true },
		{ false, 256, 65536, false },
		{ false, 256, 0x80008000u, false },
		/* packed: index below num, wrap counter; the used half as
		 * QEMU sends it or 0 as DPDK does */
		{ true, 256, 0x8000, true },
		{ true, 256, 0x0000, true },
		{ true, 256, 0x80008000u, true },
		{ true, 256, 0x00ff80ffu, true },
		{ true, 256, 0x80ff, true },
		{ true, 256, 0x0005, true },
		{ true, 256, 0x0100, false },
		{ true, 256, 0x8100, false },
		{ true, 256, 0x81008000u, false },
		{ true, 256, 0x80008100u, false },
		{ true, 256, 0x7fff, false },
		{ true, 256, 0xffffffffu, false },
		{ true, 250, 0x80f9, true },
		{ true, 250, 0x80f980f9u, true },
		{ true, 250, 0x80fa, false },
		{ true, 250, 0x80fa80f9u, false },
		{ true, 1, 0x8000, true },
		{ true, 1, 0x80008000u, true },
		{ true, 1, 0x8001, false },
		{ true, 1, 0x0001, false },
		{ true, 32768, 0xffffffffu, true },
		{ true, 32768, 0x7fff7fffu, true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
		if (vq_num_valid(nums[i].packed, nums[i].num) != nums[i].ok)
			fail_msg("vq_num_valid(%s, %u) should be %d", nums[i].packed ? "packed" : "split",
				 nums[i].num, nums[i].ok);
	for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++)
		if (vq_base_valid(bases[i].packed, bases[i].num, bases[i].base) != bases[i].ok)
			fail_msg("vq_base_valid(%s, %u, 0x%x) should be %d",
				 bases[i].packed ? "packed" : "split", bases[i].num, bases[i].base,
				 bases[i].ok);
}

/* The ring-part sizes and alignments used to check a client's ring
 * addresses; every error has a name. */
static void test_ring_sizes(void **state)
{
	(void)state;
	assert_int_equal(vq_desc_area_bytes(false, 256), 4096);
	assert_int_equal(vq_desc_area_bytes(true, 250), 4000);
	assert_int_equal(vq_desc_area_bytes(false, 32768), 524288);
	assert_int_equal(vq_driver_area_bytes(false, 256, false), 4 + 512);
	assert_int_equal(vq_driver_area_bytes(false, 256, true), 4 + 512 + 2);
	assert_int_equal(vq_device_area_bytes(false, 256, false), 4 + 2048);
	assert_int_equal(vq_device_area_bytes(false, 256, true), 4 + 2048 + 2);
	assert_int_equal(vq_driver_area_bytes(true, 250, true), 4);
	assert_int_equal(vq_device_area_bytes(true, 250, false), 4);
	assert_int_equal(vq_driver_area_align(false), 2);
	assert_int_equal(vq_device_area_align(false), 4);
	assert_int_equal(vq_driver_area_align(true), 4);
	assert_int_equal(vq_device_area_align(true), 4);
	assert_string_equal(vq_error_str(VQ_ERR_LOOP), "descriptor chain longer than its table (a loop)");
	assert_string_equal(vq_error_str(VQ_OK), "no error");
	for (int e = VQ_ERR_AVAIL_IDX; e <= VQ_ERR_NOT_AVAIL; e++)
		assert_string_not_equal(vq_error_str((enum vq_error)e), "unknown error");
	assert_string_equal(vq_error_str((enum vq_error)(VQ_ERR_NOT_AVAIL + 1)), "unknown error");
}

/* ---- notifications -------------------------------------------------------------------- */

static uint16_t avail_event(struct ctx *c)
{
	uint16_t v;

	memcpy(&v, &c->r.used->ring[NUM], 2);
	return le16toh(v);
}

/* Split without EVENT_IDX: kicks are switched with the NO_NOTIFY flag. */
static void test_split_kicks_without_event_idx(void **state)
{
	struct ctx *c = *state;
	struct vq *vq;

	renew(c, NUM, false, true, 0);
	vq = &c->r.vq;
	c->r.used->flags = 0xbeef; /* whatever the memory held */
	vq_kicks_reset(vq, false);
	assert_int_equal(c->r.used->flags, VRING_USED_F_NO_NOTIFY);
	vq_kicks_enable(vq);
	assert_int_equal(c->r.used->flags, 0);
	vq_kicks_disable(vq);
	assert_int_equal(c->r.used->flags, VRING_USED_F_NO_NOTIFY);
	vq_kicks_reset(vq, true);
	assert_int_equal(c->r.used->flags, 0);
	assert_int_equal(avail_event(c), 0); /* not written */
	assert_true(vq->kicks_on);
}

/* Split with EVENT_IDX: kicks are asked for with avail_event: "kick me
 * when you add past what I saw"; off means an event index the driver
 * cannot cross. used->flags is left alone. */
static void test_split_kicks_with_event_idx(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	bool any, grew;

	for (uint16_t i = 1; i <= 3; i++)
		fix_desc(&c->r, i, c->buf, 10, 0, 0);
	fix_publish(&c->r, 1);
	fix_publish(&c->r, 2);
	vq_take_begin(vq);
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	vq_kicks_reset(vq, true);
	assert_int_equal(avail_event(c), 2);
	assert_int_equal(c->r.used->flags, 0);
	/* The driver adding the third entry (2 -> 3) crosses it. */
	assert_true(vring_need_event(avail_event(c), 3, 2));
	fix_publish(&c->r, 3);
	assert_int_equal(vq_avail_grew(vq, &grew), VQ_OK);
	assert_true(grew);
	vq_kicks_enable(vq);
	assert_int_equal(avail_event(c), 3);

	/* Off: behind everything the driver may add. */
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(take_used(c, false, 0), VQ_OK);
	}
	vq_commit(vq);
	vq_publish(vq);
	vq_kicks_disable(vq);
	assert_int_equal(avail_event(c), 2);
	assert_false(vq->kicks_on);
	for (uint16_t added = 1; added <= NUM; added++)
		assert_false(vring_need_event(avail_event(c), (uint16_t)(3 + added), 3));
	assert_int_equal(c->r.used->flags, 0);
	/* Disabling again does not write. */
	memset(&c->r.used->ring[NUM], 0x55, 2);
	vq_kicks_disable(vq);
	assert_int_equal(avail_event(c), 0x5555);
	/* reset writes whatever the state. */
	vq_kicks_reset(vq, false);
	assert_int_equal(avail_event(c), 2);
}

/* Packed: the device area says ENABLE or DISABLE, with or without
 * EVENT_IDX (any addition wakes us, never one descriptor); its offset is
 * never written. */
static void test_packed_kicks(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;

	for (unsigned evidx = 0; evidx < 2; evidx++) {
		renew(c, NUM, evidx, true, 0x8000);
		vq = &c->r.vq;
		c->r.device_event->flags = htole16(0xbeef);
		c->r.device_event->off_wrap = htole16(0x1234);
		vq_kicks_reset(vq, false);
		assert_int_equal(le16toh(c->r.device_event->flags), VRING_PACKED_EVENT_FLAG_DISABLE);
		vq_kicks_enable(vq);
		assert_int_equal(le16toh(c->r.device_event->flags), VRING_PACKED_EVENT_FLAG_ENABLE);
		assert_true(vq->kicks_on);
		vq_kicks_disable(vq);
		assert_int_equal(le16toh(c->r.device_event->flags), VRING_PACKED_EVENT_FLAG_DISABLE);
		assert_false(vq->kicks_on);
		/* Disabling again does not write; reset does. */
		c->r.device_event->flags = htole16(0x5555);
		vq_kicks_disable(vq);
		assert_int_equal(le16toh(c->r.device_event->flags), 0x5555);
		vq_kicks_reset(vq, false);
		assert_int_equal(le16toh(c->r.device_event->flags), VRING_PACKED_EVENT_FLAG_DISABLE);
		vq_kicks_reset(vq, true);
		assert_int_equal(le16toh(c->r.device_event->flags), VRING_PACKED_EVENT_FLAG_ENABLE);
		assert_int_equal(le16toh(c->r.device_event->off_wrap), 0x1234);
	}
}

/* After a look found nothing, vq_avail_grew says whether the driver has
 * added since (a kick that came before the wish was seen). */
static void test_avail_grew(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	struct fix_buf b = { c->buf, 10, false };
	struct vq_chain ch;
	bool got, grew = true, any;

	vq_take_begin(vq);
	assert_int_equal(vq_take(vq, &ch, false, &got), VQ_OK);
	assert_false(got);
	assert_int_equal(vq_avail_grew(vq, &grew), VQ_OK);
	assert_false(grew);
	fix_post(&c->r, &b, 1);
	assert_int_equal(vq_avail_grew(vq, &grew), VQ_OK);
	assert_true(grew);
	assert_int_equal(take_used(c, false, 0), VQ_OK);
	/* One in hand, none more: the look after it fails again. */
	assert_int_equal(vq_avail(vq, &any), VQ_OK);
	assert_false(any);
	assert_int_equal(vq_avail_grew(vq, &grew), VQ_OK);
	assert_false(grew);
	vq_kicks_enable(vq);
	fix_post(&c->r, &b, 1);
	assert_int_equal(vq_avail_grew(vq, &grew), VQ_OK);
	assert_true(grew);
	assert_int_equal(take_used(c, false, 0), VQ_OK);
	vq_commit(vq);
	vq_publish(vq);
	assert_int_equal(vq_take(vq, &ch, false, &got), VQ_OK);
	assert_false(got);
	assert_int_equal(vq_avail_grew(vq, &grew), VQ_OK);
	assert_false(grew);
	if (!c->packed) {
		c->r.avail->idx = (uint16_t)(c->r.avail->idx + NUM + 1);
		assert_int_equal(vq_avail_grew(vq, &grew), VQ_ERR_AVAIL_IDX);
	}
}

static void set_used_event(struct ctx *c, uint16_t v)
{
	c->r.avail->ring[c->r.num] = htole16(v);
}

static bool signal_now(struct ctx *c)
{
	bool signal = true;

	assert_int_equal(vq_needs_signal(&c->r.vq, &signal), VQ_OK);
	return signal;
}

/* Split without EVENT_IDX: the driver's NO_INTERRUPT flag decides, once
 * per publication. */
static void test_split_signal_without_event_idx(void **state)
{
	struct ctx *c = *state;
	struct vq *vq;
	struct fix_buf b = { c->buf, 10, false };

	renew(c, NUM, false, true, 0);
	vq = &c->r.vq;
	assert_false(signal_now(c)); /* nothing published */
	cycle(c, 1);
	c->r.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	assert_false(signal_now(c));
	c->r.avail->flags = 0;
	assert_false(signal_now(c)); /* already considered */
	cycle(c, 1);
	assert_true(signal_now(c));
	assert_false(signal_now(c));
	/* Committed but not published: nothing to signal. */
	fix_post(&c->r, &b, 1);
	vq_take_begin(vq);
	assert_int_equal(take_used(c, false, 0), VQ_OK);
	vq_commit(vq);
	assert_false(signal_now(c));
	vq_publish(vq);
	assert_true(signal_now(c));
}

/* Split with EVENT_IDX: a signal when used->idx moved past used_event
 * since the last signal; the first one always; across the 16-bit wrap. */
static void test_split_signal_with_event_idx(void **state)
{
	struct ctx *c = *state;

	c->r.avail->flags = VRING_AVAIL_F_NO_INTERRUPT; /* ignored with EVENT_IDX */
	set_used_event(c, 0);
	cycle(c, 1); /* used idx 1 */
	assert_true(signal_now(c));
	assert_false(signal_now(c));
	set_used_event(c, 10); /* wake me when entry 10 is used (idx 11) */
	cycle(c, 5);           /* 6 */
	assert_false(signal_now(c));
	cycle(c, 4); /* 10: entry 10 not yet used */
	assert_false(signal_now(c));
	cycle(c, 1); /* 11 */
	assert_true(signal_now(c));
	/* Crossed by a batch that jumps over it. */
	set_used_event(c, 12);
	cycle(c, 5); /* 16 */
	assert_true(signal_now(c));
	/* An event index already behind: no signal. */
	set_used_event(c, 3);
	cycle(c, 1); /* 17 */
	assert_false(signal_now(c));
	/* Across the 16-bit wrap. */
	renew(c, NUM, true, true, 65530);
	cycle(c, 1); /* 65531, the first: signal */
	assert_true(signal_now(c));
	set_used_event(c, 65534);
	cycle(c, 3); /* 65534 */
	assert_false(signal_now(c));
	cycle(c, 4); /* 2 */
	assert_true(signal_now(c));
	assert_int_equal(c->r.used->idx, 2);
}

static void set_event(struct ctx *c, uint16_t flags, uint16_t slot, bool wrap)
{
	c->r.driver_event->off_wrap = htole16((uint16_t)(slot | (unsigned)wrap << 15));
	c->r.driver_event->flags = htole16(flags);
}

/* Packed: ENABLE signals every publication, DISABLE none, DESC when the
 * used element at off_wrap was written since the last signal: in
 * [old, new), the ring's end and the wrap counters crossed. */
static void test_packed_signal(void **state)
{
	struct ctx *c = *state;
	const uint16_t desc = VRING_PACKED_EVENT_FLAG_DESC;

	set_event(c, desc, 2, true);
	cycle(c, 1); /* used up to slot 1 of wrap 1 */
	assert_true(signal_now(c)); /* the first */
	cycle(c, 1); /* 2 */
	assert_false(signal_now(c));
	cycle(c, 1); /* 3: slot 2 written */
	assert_true(signal_now(c));
	/* Slot 1 of the next lap. */
	set_event(c, desc, 1, false);
	cycle(c, 4); /* 7 */
	assert_false(signal_now(c));
	cycle(c, 3); /* 2 of wrap 0 */
	assert_true(signal_now(c));
	/* The last slot of this lap, crossed by a batch that runs past it
	 * into the next. */
	set_event(c, desc, NUM - 1, false);
	cycle(c, 4); /* 6 of wrap 0 */
	assert_false(signal_now(c));
	cycle(c, 3); /* 1 of wrap 1 */
	assert_true(signal_now(c));
	/* Already behind: none. */
	set_event(c, desc, 0, true);
	cycle(c, 1); /* 2 of wrap 1 */
	assert_false(signal_now(c));
	/* ENABLE: each publication once; DISABLE: none. */
	set_event(c, VRING_PACKED_EVENT_FLAG_ENABLE, 0, false);
	cycle(c, 1);
	assert_true(signal_now(c));
	assert_false(signal_now(c));
	set_event(c, VRING_PACKED_EVENT_FLAG_DISABLE, 0, false);
	cycle(c, 1); /* 4 of wrap 1 */
	assert_false(signal_now(c));
	/* Back to DESC, the next slot. */
	set_event(c, desc, 4, true);
	cycle(c, 1);
	assert_true(signal_now(c));
}

/* ---- stopping and starting again ------------------------------------------------------- */

/*
 * A stopping ring takes what it held when frozen, however fast the driver
 * adds (a packed ring walks its available slots once to know). Started
 * again, it takes what is left.
 */
static void test_freeze(void **state)
{
	uint32_t tag = 0;
	struct ctx *c = *state;

	for (unsigned per = 1; per <= 3; per += 2) {
		struct fix_buf bufs[3] = { { c->buf, 10, false }, { c->buf + 16, 10, false },
					   { c->buf + 32, 10, false } };
		unsigned out = 0, chains = 0;
		struct vq *vq;

		renew(c, NUM, true, true, fresh_base(c->packed));
		vq = &c->r.vq;
		for (unsigned i = 0; i < 2; i++) {
			fix_post(&c->r, bufs, per);
			out += per;
		}
		vq_freeze(vq);
		for (unsigned round = 0; round < 4 * NUM; round++) {
			struct vq_chain ch;
			struct vq_desc d = { 0 };
			uint16_t id;
			uint32_t len;
			unsigned k = 0;
			bool got, grew, any;

			/* The driver adds whenever it has room. */
			while (out + per <= NUM) {
				fix_post(&c->r, bufs, per);
				out += per;
			}
			vq_take_begin(vq);
			assert_int_equal(vq_avail(vq, &any), VQ_OK);
			if (per == 1 && any && vq_peek_single(vq, vq->packed, false, &d, &tag)) {
				vq_single_done(vq, vq->packed, tag, 0);
				k++;
			}
			for (;;) {
				struct vq_done done;

				assert_int_equal(vq_take(vq, &ch, false, &got), VQ_OK);
				if (!got)
					break;
				assert_int_equal(vq_chain_end(&ch, &done), VQ_OK);
				assert_int_equal(vq_used_done(vq, &done, 0), VQ_OK);
				k++;
			}
			assert_int_equal(vq_avail_grew(vq, &grew), VQ_OK);
			vq_commit(vq);
			vq_publish(vq);
			for (unsigned i = 0; i < k; i++) {
				assert_true(fix_used(&c->r, &id, &len));
				out -= per;
			}
			chains += k;
		}
		assert_int_equal(chains, 2);
		/* Started again: on it goes. */
		fix_ring_restart(&c->f, &c->r);
		for (unsigned i = 0; i < out / per; i++) {
			struct walked w;

			assert_int_equal(take_walk(c, false, UINT32_MAX, &w, true), VQ_OK);
			assert_int_equal(w.n, per);
		}
		nothing_available(c);
	}
}

/* A restarted split ring whose driver lost track resumes where the used
 * ring says the device stopped; a packed ring in step stays where it is
 * (its resync from stale bases: test_packed_clients). */
static void test_resync(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	struct fix_buf b = { c->buf, 10, false };
	struct walked w;
	uint32_t from = 77, to = 77;
	uint16_t id;

	if (c->packed) {
		cycle(c, 3);
		assert_false(vq_resync(vq, &from, &to));
		assert_int_equal(vq_base(vq), 0x80038003);
		return;
	}
	assert_false(vq_resync(vq, &from, &to));
	/* DPDK's virtio-user restarts at 0 with five entries used before. */
	c->r.used->idx = 5;
	c->r.avail->idx = 5;
	c->r.avail_idx = c->r.used_seen = 5;
	assert_true(vq_resync(vq, &from, &to));
	assert_int_equal(from, 0);
	assert_int_equal(to, 5);
	assert_int_equal(vq_base(vq), 5);
	assert_false(vq_resync(vq, &from, &to));
	id = fix_post(&c->r, &b, 1);
	assert_int_equal(take_walk(c, false, UINT32_MAX, &w, true), VQ_OK);
	assert_int_equal(w.id, id);
	assert_int_equal(c->r.used->idx, 6);
}

#define BOTH(f)                                                                           \
	{ "split_" #f, f, setup, teardown, &fmt_split },                                  \
	{ "packed_" #f, f, setup, teardown, &fmt_packed }
#define SPLIT(f) { #f, f, setup, teardown, &fmt_split }
#define PACKED(f) { #f, f, setup, teardown, &fmt_packed }

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_take_one_buffer),
		BOTH(test_take_chain),
		BOTH(test_zero_length),
		BOTH(test_buffer_across_regions),
		BOTH(test_bad_addresses),
		BOTH(test_direction),
		BOTH(test_indirect),
		BOTH(test_indirect_entries_checked),
		BOTH(test_indirect_refused),
		BOTH(test_packet_descriptor_bound),
		BOTH(test_chain_end_and_used_done),
		BOTH(test_take_single),
		BOTH(test_run),
		BOTH(test_peek),
		BOTH(test_take_begin_forgets),
		BOTH(test_commit_publish),
		BOTH(test_used_wraps),
		BOTH(test_mark_rewind),
		BOTH(test_all_taken),
		BOTH(test_consumed_counter),
		BOTH(test_sizes_and_laps),
		BOTH(test_restart_mid_wrap),
		BOTH(test_avail_grew),
		BOTH(test_freeze),
		BOTH(test_resync),
		SPLIT(test_split_avail_order),
		SPLIT(test_split_avail_wraps),
		SPLIT(test_split_head_out_of_range),
		SPLIT(test_split_avail_index_jump),
		SPLIT(test_split_next_order),
		SPLIT(test_split_loops_and_next),
		SPLIT(test_split_indirect_links),
		SPLIT(test_split_kicks_without_event_idx),
		SPLIT(test_split_kicks_with_event_idx),
		SPLIT(test_split_signal_without_event_idx),
		SPLIT(test_split_signal_with_event_idx),
		PACKED(test_packed_bad_id),
		PACKED(test_packed_id_busy),
		PACKED(test_packed_ids_in_place),
		PACKED(test_packed_general_in_place),
		PACKED(test_packed_flags_that_lie),
		PACKED(test_packed_chain_wraps_ring),
		PACKED(test_packed_chain_longer_than_ring),
		PACKED(test_packed_avail_again),
		PACKED(test_packed_event_refused),
		PACKED(test_packed_kicks),
		PACKED(test_packed_signal),
		cmocka_unit_test(test_num_and_base_valid),
		cmocka_unit_test(test_ring_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
