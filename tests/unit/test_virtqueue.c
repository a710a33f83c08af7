/* SPDX-License-Identifier: MIT */
/*
 * The split virtqueue's device side (virtio/virtqueue.c) against rings
 * built by hand in memfd memory: the avail ring's checks, every check of
 * a descriptor chain (direct and indirect), the used ring's put, commit
 * and publish, and the notification wishes in both directions, with and
 * without EVENT_IDX.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

#define NUM 8

struct ctx {
	struct fixture f;
	struct fix_ring r;
	uint64_t buf; /* 64 KiB of buffer space in region 0 */
};

static int setup(void **state)
{
	static struct ctx c;

	memset(&c, 0, sizeof c);
	fix_init(&c.f, 2);
	fix_ring_init(&c.f, &c.r, NUM, true, true);
	c.buf = fix_alloc(&c.f, 65536, 16);
	*state = &c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	fix_fini(&c->f);
	return 0;
}

/* A piece of a chain as the walk yields it. */
struct piece {
	uint8_t *p;
	uint32_t n;
};

/* Walk a whole chain with pieces of at most max bytes; returns the error
 * and fills at most cap pieces. */
static enum vq_error walk_max(struct ctx *c, uint16_t head, bool device_writes, uint64_t max,
			      struct piece *pieces, unsigned cap, unsigned *npieces,
			      uint64_t *bytes)
{
	struct vq_chain ch;
	enum vq_error e;

	*bytes = 0;
	*npieces = 0;
	vq_chain_begin(&c->r.vq, &ch, head, device_writes);
	for (;;) {
		uint8_t *p = NULL;
		uint32_t n = 0;

		e = vq_chain_next(&ch, max, &p, &n);
		if (e || n == 0)
			return e;
		assert_true(n <= max);
		if (*npieces < cap)
			pieces[*npieces] = (struct piece){ p, n };
		*bytes += n;
		(*npieces)++;
	}
}

static enum vq_error walk(struct ctx *c, uint16_t head, bool device_writes, uint64_t *bytes,
			  unsigned *npieces)
{
	return walk_max(c, head, device_writes, UINT32_MAX, NULL, 0, npieces, bytes);
}

/* The error of walking head as a TX (read-only) chain. */
static enum vq_error walk_err(struct ctx *c, uint16_t head, bool device_writes)
{
	uint64_t bytes;
	unsigned n;

	return walk(c, head, device_writes, &bytes, &n);
}

static uint8_t *host(struct ctx *c, uint64_t gpa)
{
	return fix_host(&c->f, gpa);
}

/* avail_event and used_event live after the rings' last entries. */
static uint16_t avail_event(struct ctx *c)
{
	uint16_t v;

	memcpy(&v, &c->r.used->ring[NUM], 2);
	return v;
}

static void set_used_event(struct ctx *c, uint16_t v)
{
	c->r.avail->ring[NUM] = v;
}

/* ---- avail ring ---------------------------------------------------------- */

/* The count follows avail->idx; heads come out in ring order. The count is
 * re-read only when the last one read is used up. */
static void test_avail_count(void **state)
{
	struct ctx *c = *state;
	uint16_t n = 99, head = 99;

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
	/* A third entry is not seen until the two are used up... */
	fix_publish(&c->r, 7);
	assert_int_equal(vq_avail_count(&c->r.vq, &n), VQ_OK);
	assert_int_equal(n, 2);
	c->r.vq.last_avail = 1;
	assert_int_equal(vq_avail_count(&c->r.vq, &n), VQ_OK);
	assert_int_equal(n, 1);
	/* ...or refreshed explicitly. */
	assert_int_equal(vq_avail_refresh(&c->r.vq, &n), VQ_OK);
	assert_int_equal(n, 2);
	assert_int_equal(c->r.vq.avail_seen, 3);
	c->r.vq.last_avail = 3;
	assert_int_equal(vq_avail_count(&c->r.vq, &n), VQ_OK);
	assert_int_equal(n, 0);
}

/* Heads wrap around the ring: position last_avail + ahead modulo num. */
static void test_avail_ring_wraps(void **state)
{
	struct ctx *c = *state;
	uint16_t n, head;

	vq_init(&c->r.vq, &c->f.mem, c->r.desc, c->r.avail, c->r.used, NUM, 65534, true, true);
	c->r.avail_idx = 65534;
	for (uint16_t i = 0; i < NUM; i++)
		fix_publish(&c->r, (uint16_t)(NUM - 1 - i));
	assert_int_equal(c->r.avail->idx, 6); /* wrapped */
	assert_int_equal(vq_avail_count(&c->r.vq, &n), VQ_OK);
	assert_int_equal(n, NUM);
	for (uint16_t i = 0; i < NUM; i++) {
		assert_int_equal(vq_avail_head(&c->r.vq, i, &head), VQ_OK);
		assert_int_equal(head, NUM - 1 - i);
	}
}

/* A head outside the descriptor table is an error, not an access. */
static void test_head_out_of_range(void **state)
{
	struct ctx *c = *state;
	uint16_t n, head = 77;

	fix_publish(&c->r, NUM - 1);
	fix_publish(&c->r, NUM);
	fix_publish(&c->r, 0xffff);
	assert_int_equal(vq_avail_count(&c->r.vq, &n), VQ_OK);
	assert_int_equal(n, 3);
	assert_int_equal(vq_avail_head(&c->r.vq, 0, &head), VQ_OK);
	assert_int_equal(head, NUM - 1);
	head = 77;
	assert_int_equal(vq_avail_head(&c->r.vq, 1, &head), VQ_ERR_HEAD);
	assert_int_equal(head, 77); /* untouched */
	assert_int_equal(vq_avail_head(&c->r.vq, 2, &head), VQ_ERR_HEAD);
}

/* avail->idx may run ahead by at most the ring size; a bigger jump (or
 * one backwards) is an error and changes nothing. */
static void test_avail_index_jump(void **state)
{
	struct ctx *c = *state;
	uint16_t n = 0;

	c->r.avail->idx = NUM + 1;
	assert_int_equal(vq_avail_refresh(&c->r.vq, &n), VQ_ERR_AVAIL_IDX);
	assert_int_equal(vq_avail_count(&c->r.vq, &n), VQ_ERR_AVAIL_IDX);
	assert_int_equal(c->r.vq.avail_seen, 0);
	c->r.avail->idx = 0xffff; /* one behind */
	assert_int_equal(vq_avail_refresh(&c->r.vq, &n), VQ_ERR_AVAIL_IDX);
	c->r.avail->idx = NUM;
	assert_int_equal(vq_avail_refresh(&c->r.vq, &n), VQ_OK);
	assert_int_equal(n, NUM);
	/* Wrapping around 16 bits is fine while the distance is small. */
	c->r.vq.last_avail = c->r.vq.avail_seen = 65534;
	c->r.avail->idx = 2;
	assert_int_equal(vq_avail_refresh(&c->r.vq, &n), VQ_OK);
	assert_int_equal(n, 4);
	c->r.avail->idx = 7;
	assert_int_equal(vq_avail_refresh(&c->r.vq, &n), VQ_ERR_AVAIL_IDX);
	/* Entries once made available cannot be taken back. */
	c->r.avail->idx = 1;
	assert_int_equal(vq_avail_refresh(&c->r.vq, &n), VQ_ERR_AVAIL_IDX);
	c->r.avail->idx = 3;
	assert_int_equal(vq_avail_refresh(&c->r.vq, &n), VQ_OK);
	assert_int_equal(n, 5);
}

/* ---- direct chains -------------------------------------------------------- */

/* A chain walks in next order, yielding each buffer's bytes in place. */
static void test_direct_chain(void **state)
{
	struct ctx *c = *state;
	struct piece pc[4];
	unsigned n;
	uint64_t bytes;

	fix_desc(&c->r, 0, c->buf, 12, VRING_DESC_F_NEXT, 5);
	fix_desc(&c->r, 5, c->buf + 1000, 300, VRING_DESC_F_NEXT, 2);
	fix_desc(&c->r, 2, c->buf + 100, 1, 0, 7); /* next is ignored without NEXT */
	assert_int_equal(walk_max(c, 0, false, UINT32_MAX, pc, 4, &n, &bytes), VQ_OK);
	assert_int_equal(n, 3);
	assert_int_equal(bytes, 313);
	assert_ptr_equal(pc[0].p, host(c, c->buf));
	assert_int_equal(pc[0].n, 12);
	assert_ptr_equal(pc[1].p, host(c, c->buf + 1000));
	assert_int_equal(pc[1].n, 300);
	assert_ptr_equal(pc[2].p, host(c, c->buf + 100));
	assert_int_equal(pc[2].n, 1);
}

/* Zero-length descriptors at the start, middle and end are skipped; a
 * chain of nothing but empty buffers ends at once. */
static void test_zero_length_skipped(void **state)
{
	struct ctx *c = *state;
	struct piece pc[4];
	unsigned n;
	uint64_t bytes;

	fix_desc(&c->r, 0, c->buf, 0, VRING_DESC_F_NEXT, 1);
	fix_desc(&c->r, 1, c->buf + 64, 10, VRING_DESC_F_NEXT, 2);
	fix_desc(&c->r, 2, c->buf + 128, 0, VRING_DESC_F_NEXT, 3);
	fix_desc(&c->r, 3, c->buf + 192, 20, VRING_DESC_F_NEXT, 4);
	fix_desc(&c->r, 4, c->buf + 256, 0, 0, 0);
	assert_int_equal(walk_max(c, 0, false, UINT32_MAX, pc, 4, &n, &bytes), VQ_OK);
	assert_int_equal(n, 2);
	assert_int_equal(bytes, 30);
	assert_ptr_equal(pc[0].p, host(c, c->buf + 64));
	assert_ptr_equal(pc[1].p, host(c, c->buf + 192));

	fix_desc(&c->r, 6, c->buf, 0, VRING_DESC_F_NEXT, 7);
	fix_desc(&c->r, 7, c->buf, 0, 0, 0);
	assert_int_equal(walk_max(c, 6, false, UINT32_MAX, pc, 4, &n, &bytes), VQ_OK);
	assert_int_equal(n, 0);
	/* An empty buffer's address is never used: it may be anything. */
	fix_desc(&c->r, 6, 0xdead000000000000ull, 0, VRING_DESC_F_NEXT, 7);
	fix_desc(&c->r, 7, c->buf, 5, 0, 0);
	assert_int_equal(walk(c, 6, false, &bytes, &n), VQ_OK);
	assert_int_equal(bytes, 5);
}

/* No piece is larger than max: a 100-byte buffer in pieces of 30. */
static void test_pieces_limited_by_max(void **state)
{
	struct ctx *c = *state;
	struct piece pc[8];
	unsigned n;
	uint64_t bytes;

	fix_desc(&c->r, 0, c->buf, 100, VRING_DESC_F_NEXT, 1);
	fix_desc(&c->r, 1, c->buf + 500, 7, 0, 0);
	assert_int_equal(walk_max(c, 0, false, 30, pc, 8, &n, &bytes), VQ_OK);
	assert_int_equal(n, 5);
	assert_int_equal(bytes, 107);
	assert_int_equal(pc[0].n, 30);
	assert_int_equal(pc[3].n, 10);
	assert_ptr_equal(pc[3].p, host(c, c->buf + 90));
	assert_int_equal(pc[4].n, 7);
	assert_ptr_equal(pc[4].p, host(c, c->buf + 500));
	/* One byte at a time. */
	assert_int_equal(walk_max(c, 0, false, 1, pc, 0, &n, &bytes), VQ_OK);
	assert_int_equal(n, 107);
}

/* A buffer running from one region into the next comes in two pieces,
 * each pointing into its own region. */
static void test_buffer_across_regions(void **state)
{
	struct ctx *c = *state;
	uint64_t border = FIX_GPA + FIX_REGION, bytes;
	struct piece pc[4];
	unsigned n;

	fix_desc(&c->r, 0, border - 100, 300, 0, 0);
	assert_int_equal(walk_max(c, 0, false, UINT32_MAX, pc, 4, &n, &bytes), VQ_OK);
	assert_int_equal(n, 2);
	assert_int_equal(bytes, 300);
	assert_ptr_equal(pc[0].p, host(c, border - 100));
	assert_int_equal(pc[0].n, 100);
	assert_ptr_equal(pc[1].p, host(c, border));
	assert_int_equal(pc[1].n, 200);
}

/* Buffers outside the client's memory, even partly, are refused when the
 * descriptor is loaded: before a single byte of it is handed out. */
static void test_bad_addresses(void **state)
{
	struct ctx *c = *state;
	uint64_t end = FIX_GPA + 2 * FIX_REGION;
	struct vq_chain ch;
	uint8_t *p = NULL;
	uint32_t n = 99;

	fix_desc(&c->r, 0, 0, 10, 0, 0); /* below every region */
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_ADDR);
	fix_desc(&c->r, 0, FIX_GPA - 1, 2, 0, 0); /* straddles the start */
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_ADDR);
	fix_desc(&c->r, 0, end - 10, 11, 0, 0); /* one byte past the end */
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_ADDR);
	fix_desc(&c->r, 0, end - 10, 10, 0, 0); /* the last ten bytes: fine */
	assert_int_equal(walk_err(c, 0, false), VQ_OK);
	fix_desc(&c->r, 0, end, 1, 0, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_ADDR);
	fix_desc(&c->r, 0, UINT64_MAX - 5, 10, 0, 0); /* wraps */
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_ADDR);
	fix_desc(&c->r, 0, c->buf, UINT32_MAX, 0, 0); /* 4 GiB: far too long */
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_ADDR);
	fix_desc(&c->r, 0, FIX_UVA, 10, 0, 0); /* a uva is not a gpa */
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_ADDR);
	/* The second buffer is bad: the first comes out, then the error. */
	fix_desc(&c->r, 0, c->buf, 10, VRING_DESC_F_NEXT, 1);
	fix_desc(&c->r, 1, end - 4, 8, 0, 0);
	vq_chain_begin(&c->r.vq, &ch, 0, false);
	assert_int_equal(vq_chain_next(&ch, UINT32_MAX, &p, &n), VQ_OK);
	assert_int_equal(n, 10);
	assert_int_equal(vq_chain_next(&ch, UINT32_MAX, &p, &n), VQ_ERR_ADDR);
	/* Even when only its first byte is asked for. */
	fix_desc(&c->r, 0, end - 4, 8, 0, 0);
	vq_chain_begin(&c->r.vq, &ch, 0, false);
	assert_int_equal(vq_chain_next(&ch, 1, &p, &n), VQ_ERR_ADDR);
}

/* A loop is caught after as many hops as the table has entries; a chain
 * exactly as long as the table is fine. */
static void test_loops(void **state)
{
	struct ctx *c = *state;
	uint64_t bytes;
	unsigned n;

	fix_desc(&c->r, 0, c->buf, 10, VRING_DESC_F_NEXT, 1);
	fix_desc(&c->r, 1, c->buf, 10, VRING_DESC_F_NEXT, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_LOOP);
	fix_desc(&c->r, 1, c->buf, 10, VRING_DESC_F_NEXT, 1); /* self loop */
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_LOOP);
	/* A loop of empty buffers yields nothing but still ends. */
	fix_desc(&c->r, 0, c->buf, 0, VRING_DESC_F_NEXT, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_LOOP);
	for (uint16_t i = 0; i < NUM; i++)
		fix_desc(&c->r, i, c->buf + i, 1, i < NUM - 1 ? VRING_DESC_F_NEXT : 0,
			 (uint16_t)(i + 1));
	assert_int_equal(walk(c, 0, false, &bytes, &n), VQ_OK);
	assert_int_equal(bytes, NUM);
	/* The same with the last one pointing back: one hop too many. */
	fix_desc(&c->r, NUM - 1, c->buf, 1, VRING_DESC_F_NEXT, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_LOOP);
}

/* next must index the table. */
static void test_next_out_of_range(void **state)
{
	struct ctx *c = *state;

	fix_desc(&c->r, 0, c->buf, 10, VRING_DESC_F_NEXT, NUM);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_NEXT);
	fix_desc(&c->r, 0, c->buf, 10, VRING_DESC_F_NEXT, 0xffff);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_NEXT);
	fix_desc(&c->r, 0, c->buf, 10, VRING_DESC_F_NEXT, NUM - 1);
	fix_desc(&c->r, NUM - 1, c->buf, 10, 0, 0xffff);
	assert_int_equal(walk_err(c, 0, false), VQ_OK);
}

/* TX chains are read-only, RX chains writable, every buffer of them. */
static void test_direction(void **state)
{
	struct ctx *c = *state;

	fix_desc(&c->r, 0, c->buf, 10, VRING_DESC_F_NEXT, 1);
	fix_desc(&c->r, 1, c->buf, 10, VRING_DESC_F_WRITE, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_DIRECTION); /* writable in TX */
	assert_int_equal(walk_err(c, 0, true), VQ_ERR_DIRECTION);  /* read-only in RX */
	fix_desc(&c->r, 0, c->buf, 10, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	assert_int_equal(walk_err(c, 0, true), VQ_OK);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_DIRECTION);
	fix_desc(&c->r, 1, c->buf, 10, 0, 0);
	assert_int_equal(walk_err(c, 0, true), VQ_ERR_DIRECTION);
}

/* ---- indirect tables -------------------------------------------------------- */

static struct vring_desc *table_at(struct ctx *c, uint64_t gpa)
{
	return (struct vring_desc *)(void *)host(c, gpa);
}

/* A table of n entries, each 10 bytes of c->buf, linked in order. */
static uint64_t make_table(struct ctx *c, unsigned n, uint16_t flags)
{
	uint64_t gpa = fix_alloc(&c->f, 16ull * n, 16);
	struct vring_desc *t = table_at(c, gpa);

	for (unsigned i = 0; i < n; i++)
		t[i] = (struct vring_desc){ c->buf + i * 10, 10,
					    (uint16_t)(flags | (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
					    (uint16_t)(i + 1) };
	return gpa;
}

/* An indirect table as long as the ring, reached from the head or after
 * direct descriptors, walks in order; one entry more is refused (no chain
 * may be longer than the queue). */
static void test_indirect(void **state)
{
	struct ctx *c = *state;
	uint64_t tg = make_table(c, NUM, 0), bytes;
	struct piece pc[32];
	unsigned n;

	fix_desc(&c->r, 3, tg, NUM * 16, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk_max(c, 3, false, UINT32_MAX, pc, 32, &n, &bytes), VQ_OK);
	assert_int_equal(n, NUM);
	assert_int_equal(bytes, NUM * 10);
	assert_ptr_equal(pc[0].p, host(c, c->buf));
	assert_ptr_equal(pc[NUM - 1].p, host(c, c->buf + (NUM - 1) * 10));

	fix_desc(&c->r, 2, c->buf + 1000, 12, VRING_DESC_F_NEXT, 3);
	assert_int_equal(walk_max(c, 2, false, UINT32_MAX, pc, 32, &n, &bytes), VQ_OK);
	assert_int_equal(n, NUM + 1);
	assert_int_equal(bytes, NUM * 10 + 12);
	assert_ptr_equal(pc[0].p, host(c, c->buf + 1000));

	/* Entries are walked by next, not by position. */
	table_at(c, tg)[0].next = NUM - 1;
	assert_int_equal(walk(c, 3, false, &bytes, &n), VQ_OK);
	assert_int_equal(n, 2);
	/* The WRITE flag on the indirect descriptor itself is ignored. */
	fix_desc(&c->r, 3, tg, NUM * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	assert_int_equal(walk_err(c, 3, false), VQ_OK);

	tg = make_table(c, NUM + 1, 0);
	fix_desc(&c->r, 3, tg, (NUM + 1) * 16, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk_err(c, 3, false), VQ_ERR_INDIRECT_LEN);
}

/* A stopping ring: after the freeze, entries the driver adds are not
 * seen, however often the device looks; what was there still is. */
static void test_avail_freeze(void **state)
{
	struct ctx *c = *state;
	uint16_t n;

	fix_publish(&c->r, 0);
	fix_publish(&c->r, 1);
	assert_int_equal(vq_avail_freeze(&c->r.vq), VQ_OK);
	fix_publish(&c->r, 2);
	assert_int_equal(vq_avail_count(&c->r.vq, &n), VQ_OK);
	assert_int_equal(n, 2);
	c->r.vq.last_avail += 2;
	assert_int_equal(vq_avail_count(&c->r.vq, &n), VQ_OK);
	assert_int_equal(n, 0);
	assert_int_equal(vq_avail_refresh(&c->r.vq, &n), VQ_OK);
	assert_int_equal(n, 0);
	/* A restart (vq_init) looks again. */
	vq_init(&c->r.vq, &c->f.mem, c->r.desc, c->r.avail, c->r.used, NUM, 2, true, true);
	assert_int_equal(vq_avail_count(&c->r.vq, &n), VQ_OK);
	assert_int_equal(n, 1);
}

/* One packet's descriptors, counted over every table and every chain of a
 * merged receive, zero-length ones included, stop at VQ_PACKET_DESCS_MAX:
 * a receiver whose chains are all tables of empty buffers cannot make one
 * packet walk chain after chain. The count counts the indirect descriptor
 * itself too. */
static void test_packet_descriptor_bound(void **state)
{
	struct ctx *c = *state;
	uint64_t tg = fix_alloc(&c->f, 16 * NUM, 16);
	struct vring_desc *t = table_at(c, tg);
	struct vq_chain ch;
	unsigned chains = 0;
	enum vq_error e;
	uint8_t *p;
	uint32_t n;

	for (unsigned i = 0; i < NUM; i++)
		t[i] = (struct vring_desc){ c->buf, 0,
					    (uint16_t)(VRING_DESC_F_WRITE |
						       (i + 1 < NUM ? VRING_DESC_F_NEXT : 0)),
					    (uint16_t)(i + 1) };
	fix_desc(&c->r, 0, tg, NUM * 16, VRING_DESC_F_INDIRECT, 0);
	vq_chain_begin(&c->r.vq, &ch, 0, true);
	for (;;) {
		e = vq_chain_next(&ch, UINT32_MAX, &p, &n);
		if (e)
			break;
		assert_int_equal(n, 0); /* nothing to write into, ever */
		chains++;
		vq_chain_continue(&ch, 0);
	}
	assert_int_equal(e, VQ_ERR_TOO_MANY);
	/* NUM + 1 descriptors a chain: the bound is reached in chain 114. */
	assert_int_equal(chains, VQ_PACKET_DESCS_MAX / (NUM + 1));
	assert_int_equal(ch.descs, VQ_PACKET_DESCS_MAX + 1);

	/* A new packet starts counting again. */
	vq_chain_begin(&c->r.vq, &ch, 0, true);
	assert_int_equal(vq_chain_next(&ch, UINT32_MAX, &p, &n), VQ_OK);
	assert_int_equal(ch.descs, NUM + 1);
}

/* Inside a table the same rules hold: loops, next, direction, address;
 * zero-length entries are skipped. */
static void test_indirect_entries_checked(void **state)
{
	struct ctx *c = *state;
	uint64_t tg = make_table(c, 4, 0), bytes;
	struct vring_desc *t = table_at(c, tg);
	unsigned n;

	fix_desc(&c->r, 0, tg, 4 * 16, VRING_DESC_F_INDIRECT, 0);
	t[3].flags = VRING_DESC_F_NEXT;
	t[3].next = 0;
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_LOOP);
	t[3].next = 4;
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_NEXT);
	t[3].flags = VRING_DESC_F_WRITE;
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_DIRECTION);
	t[3].flags = 0;
	t[3].addr = FIX_GPA + 2 * FIX_REGION - 5;
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_ADDR);
	t[3].addr = c->buf;
	t[1].len = 0;
	assert_int_equal(walk(c, 0, false, &bytes, &n), VQ_OK);
	assert_int_equal(n, 3);
	assert_int_equal(bytes, 30);
	/* A writable table for an RX chain. */
	tg = make_table(c, 3, VRING_DESC_F_WRITE);
	fix_desc(&c->r, 1, tg, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk(c, 1, true, &bytes, &n), VQ_OK);
	assert_int_equal(bytes, 30);
	assert_int_equal(walk_err(c, 1, false), VQ_ERR_DIRECTION);
}

/* Malformed indirect descriptors, each with its own error. */
static void test_indirect_refused(void **state)
{
	struct ctx *c = *state;
	uint64_t tg = make_table(c, 4, 0), inner = make_table(c, 2, 0);
	struct vring_desc *t = table_at(c, tg);

	/* Nested: an indirect descriptor inside a table. */
	t[2] = (struct vring_desc){ inner, 32, VRING_DESC_F_INDIRECT, 0 };
	fix_desc(&c->r, 0, tg, 4 * 16, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_INDIRECT_NESTED);
	t[2] = (struct vring_desc){ c->buf, 10, VRING_DESC_F_NEXT, 3 };
	/* With NEXT. */
	fix_desc(&c->r, 0, tg, 4 * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	fix_desc(&c->r, 1, c->buf, 10, 0, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_INDIRECT_NEXT);
	/* Lengths: zero, not a multiple of 16, more entries than the ring
	 * (NUM) holds, more than 16-bit next indices can reach. */
	fix_desc(&c->r, 0, tg, 0, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_INDIRECT_LEN);
	fix_desc(&c->r, 0, tg, 17, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_INDIRECT_LEN);
	fix_desc(&c->r, 0, tg, 8, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_INDIRECT_LEN);
	fix_desc(&c->r, 0, tg, 4 * 16 + 1, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_INDIRECT_LEN);
	fix_desc(&c->r, 0, FIX_GPA, (c->r.vq.num + 1) * 16, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_INDIRECT_LEN);
	fix_desc(&c->r, 0, FIX_GPA, 65537 * 16, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_INDIRECT_LEN);
	fix_desc(&c->r, 0, FIX_GPA, 0xfffffff0u, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_INDIRECT_LEN);
	/* Outside memory, partly outside, straddling two regions, wrapping. */
	fix_desc(&c->r, 0, 0x1000, 32, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_INDIRECT_ADDR);
	fix_desc(&c->r, 0, FIX_GPA + 2 * FIX_REGION - 16, 32, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_INDIRECT_ADDR);
	fix_desc(&c->r, 0, FIX_GPA + FIX_REGION - 16, 32, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_INDIRECT_ADDR);
	fix_desc(&c->r, 0, UINT64_MAX - 15, 32, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_INDIRECT_ADDR);
	/* Without INDIRECT_DESC negotiated, no indirect descriptor at all,
	 * checked before anything else about it. */
	c->r.vq.indirect = false;
	fix_desc(&c->r, 0, tg, 4 * 16, VRING_DESC_F_INDIRECT, 0);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_INDIRECT_FEATURE);
	fix_desc(&c->r, 0, 0x1000, 17, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	assert_int_equal(walk_err(c, 0, false), VQ_ERR_INDIRECT_FEATURE);
}

/* ---- used ring ---------------------------------------------------------------- */

/* Elements are written where they belong at once, but used->idx moves
 * only on publish and only over committed elements. */
static void test_used_put_commit_publish(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;

	vq_used_put(vq, 0, 5, 100);
	vq_used_put(vq, 1, 6, 200);
	assert_int_equal(c->r.used->ring[0].id, 5);
	assert_int_equal(c->r.used->ring[0].len, 100);
	assert_int_equal(c->r.used->ring[1].id, 6);
	assert_int_equal(c->r.used->idx, 0);
	vq_used_commit(vq, 1); /* only the first is a whole packet */
	assert_int_equal(c->r.used->idx, 0);
	vq_used_publish(vq);
	assert_int_equal(c->r.used->idx, 1);
	/* The uncommitted element is overwritten by the next put. */
	vq_used_put(vq, 0, 7, 300);
	assert_int_equal(c->r.used->ring[1].id, 7);
	assert_int_equal(c->r.used->ring[1].len, 300);
	vq_used_commit(vq, 1);
	vq_used_put(vq, 0, 2, 0);
	vq_used_commit(vq, 1);
	assert_int_equal(c->r.used->idx, 1);
	vq_used_publish(vq); /* two committed: one store */
	assert_int_equal(c->r.used->idx, 3);
	assert_int_equal(c->r.used->ring[2].id, 2);
	/* Publishing nothing writes nothing. */
	c->r.used->idx = 99;
	vq_used_publish(vq);
	assert_int_equal(c->r.used->idx, 99);
}

/* Used slots wrap around the ring and the index around 16 bits, starting
 * from the base the frontend gave. */
static void test_used_wraps(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;

	vq_init(vq, &c->f.mem, c->r.desc, c->r.avail, c->r.used, NUM, 65533, true, true);
	for (uint16_t i = 0; i < 5; i++) {
		vq_used_put(vq, 0, i, 1000u + i);
		vq_used_commit(vq, 1);
	}
	vq_used_publish(vq);
	assert_int_equal(c->r.used->idx, 2); /* 65533 + 5 */
	assert_int_equal(c->r.used->ring[65533 % NUM].id, 0);
	assert_int_equal(c->r.used->ring[65533 % NUM].len, 1000);
	assert_int_equal(c->r.used->ring[(65533 + 4) % NUM].id, 4);
	assert_int_equal(c->r.used->ring[1].len, 1004);
}

/* ---- notifications ------------------------------------------------------------- */

/* Without EVENT_IDX kicks are switched with the NO_NOTIFY flag. */
static void test_kicks_without_event_idx(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;

	vq->event_idx = false;
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

/* With EVENT_IDX kicks are asked for with avail_event (used->ring[num]):
 * "kick me when you add past what I saw"; off means an event index the
 * driver cannot cross. used->flags is left alone. */
static void test_kicks_with_event_idx(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;
	uint16_t n;

	fix_publish(&c->r, 1);
	fix_publish(&c->r, 2);
	assert_int_equal(vq_avail_refresh(vq, &n), VQ_OK);
	vq_kicks_reset(vq, true);
	assert_int_equal(avail_event(c), 2);
	assert_int_equal(c->r.used->flags, 0);
	/* The driver adding the third entry (2 -> 3) crosses it. */
	assert_true(vring_need_event(avail_event(c), 3, 2));
	/* More seen, enabled again: the wish moves along. */
	fix_publish(&c->r, 3);
	assert_int_equal(vq_avail_refresh(vq, &n), VQ_OK);
	vq_kicks_enable(vq);
	assert_int_equal(avail_event(c), 3);

	/* Off: behind everything the driver may add. */
	vq->last_avail = 3;
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

/* Without EVENT_IDX the driver's NO_INTERRUPT flag decides, once per
 * publication. */
static void test_signal_without_event_idx(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;

	vq->event_idx = false;
	assert_false(vq_needs_signal(vq)); /* nothing published */
	vq_used_put(vq, 0, 0, 0);
	vq_used_commit(vq, 1);
	vq_used_publish(vq);
	c->r.avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
	assert_false(vq_needs_signal(vq));
	c->r.avail->flags = 0;
	assert_false(vq_needs_signal(vq)); /* already considered */
	vq_used_commit(vq, 1);
	vq_used_publish(vq);
	assert_true(vq_needs_signal(vq));
	assert_false(vq_needs_signal(vq));
	/* Committed but not published: nothing to signal. */
	vq_used_commit(vq, 1);
	assert_false(vq_needs_signal(vq));
}

/* With EVENT_IDX: a signal when used->idx moved past used_event
 * (avail->ring[num]) since the last signal; the first one always. */
static void test_signal_with_event_idx(void **state)
{
	struct ctx *c = *state;
	struct vq *vq = &c->r.vq;

	c->r.avail->flags = VRING_AVAIL_F_NO_INTERRUPT; /* ignored with EVENT_IDX */
	set_used_event(c, 0);
	vq_used_commit(vq, 1);
	vq_used_publish(vq); /* used idx 1 */
	assert_true(vq_needs_signal(vq));
	assert_false(vq_needs_signal(vq));

	set_used_event(c, 10); /* wake me when entry 10 is used (idx 11) */
	vq_used_commit(vq, 5);
	vq_used_publish(vq); /* 6 */
	assert_false(vq_needs_signal(vq));
	vq_used_commit(vq, 4);
	vq_used_publish(vq); /* 10: entry 10 not yet used */
	assert_false(vq_needs_signal(vq));
	vq_used_commit(vq, 1);
	vq_used_publish(vq); /* 11 */
	assert_true(vq_needs_signal(vq));
	/* Crossed by a batch that jumps over it. */
	set_used_event(c, 12);
	vq_used_commit(vq, 5);
	vq_used_publish(vq); /* 16 */
	assert_true(vq_needs_signal(vq));
	/* An event index already behind: no signal. */
	set_used_event(c, 3);
	vq_used_commit(vq, 1);
	vq_used_publish(vq); /* 17 */
	assert_false(vq_needs_signal(vq));
	/* Across the 16-bit wrap. */
	vq_init(vq, &c->f.mem, c->r.desc, c->r.avail, c->r.used, NUM, 65530, true, true);
	vq_used_commit(vq, 1);
	vq_used_publish(vq); /* 65531, first: signal */
	assert_true(vq_needs_signal(vq));
	set_used_event(c, 65534);
	vq_used_commit(vq, 3);
	vq_used_publish(vq); /* 65534 */
	assert_false(vq_needs_signal(vq));
	vq_used_commit(vq, 4);
	vq_used_publish(vq); /* 2 */
	assert_true(vq_needs_signal(vq));
	assert_int_equal(c->r.used->idx, 2);
}

/* The ring-part sizes used to check a client's ring addresses. */
static void test_ring_sizes(void **state)
{
	(void)state;
	assert_int_equal(vq_desc_bytes(256), 4096);
	assert_int_equal(vq_avail_bytes(256, false), 4 + 512);
	assert_int_equal(vq_avail_bytes(256, true), 4 + 512 + 2);
	assert_int_equal(vq_used_bytes(256, false), 4 + 2048);
	assert_int_equal(vq_used_bytes(256, true), 4 + 2048 + 2);
	assert_int_equal(vq_desc_bytes(32768), 524288);
	assert_string_equal(vq_error_str(VQ_ERR_LOOP), "descriptor chain longer than its table (a loop)");
	assert_string_equal(vq_error_str(VQ_OK), "no error");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_avail_count),
		T(test_avail_ring_wraps),
		T(test_head_out_of_range),
		T(test_avail_index_jump),
		T(test_direct_chain),
		T(test_zero_length_skipped),
		T(test_pieces_limited_by_max),
		T(test_buffer_across_regions),
		T(test_bad_addresses),
		T(test_loops),
		T(test_next_out_of_range),
		T(test_direction),
		T(test_indirect),
		T(test_packet_descriptor_bound),
		T(test_avail_freeze),
		T(test_indirect_entries_checked),
		T(test_indirect_refused),
		T(test_used_put_commit_publish),
		T(test_used_wraps),
		T(test_kicks_without_event_idx),
		T(test_kicks_with_event_idx),
		T(test_signal_without_event_idx),
		T(test_signal_with_event_idx),
		T(test_ring_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
