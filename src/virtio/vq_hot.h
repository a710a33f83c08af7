/* SPDX-License-Identifier: MIT */
/*
 * Inside the virtqueue module: what every packet does to a ring, inline in
 * its users (virtqueue.h includes this; nothing else should): taking a
 * chain of one descriptor, giving one back, and the loads both formats
 * share. Everything else stays behind virtqueue.c.
 */
#ifndef VNP_VQ_HOT_H
#define VNP_VQ_HOT_H

#include <endian.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "virtio/load_once.h"
#include "virtio/vq_packed_ids.h"
#include "virtio/vq_types.h"

/* Per packet: inlined whatever the compiler thinks of their size. */
#define VQ_HOT static inline __attribute__((always_inline))
#if defined(__x86_64__)
/* The same, with AVX2: only for callers compiled for it, on a CPU that has
 * it (the link's four-wide step chooses so at startup). */
#define VQ_HOT_AVX2 static inline __attribute__((always_inline, target("avx2")))
#endif

#define F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED (1u << VRING_PACKED_DESC_F_USED)

/* Descriptor i of a table, loaded once: 16 bytes, in two loads. Split and
 * packed descriptors differ only in what the last four bytes mean. */
VQ_HOT void desc_load(const void *table, uint32_t i, bool packed, struct vq_desc *d)
{
	const uint8_t *p = (const uint8_t *)table + (size_t)i * 16;
	uint64_t addr = load_le64_once(p);
	uint64_t rest = load_le64_once(p + 8);

	d->addr = addr;
	d->len = (uint32_t)rest;
	if (packed) {
		d->link = (uint16_t)(rest >> 32);  /* id */
		d->flags = (uint16_t)(rest >> 48);
	} else {
		d->flags = (uint16_t)(rest >> 32);
		d->link = (uint16_t)(rest >> 48);  /* next */
	}
}

/* Whether a packed descriptor's flags say "available" for the driver's
 * wrap counter: AVAIL matching it, USED not. A zeroed ring is not
 * available on wrap 0 (AVAIL and USED both clear: equal). */
VQ_HOT bool packed_avail(uint16_t flags, bool wrap)
{
	/* With USED turned over, both bits as wrap. */
	return ((flags ^ F_USED) & (F_AVAIL | F_USED)) == (wrap ? F_AVAIL | F_USED : 0);
}

/* ---- packed ---- */

/* A position one further on: the slot after the last wraps to 0 and turns
 * the wrap counter. */
VQ_HOT void step(const struct vq *vq, uint16_t *slot, bool *wrap, uint16_t n)
{
	uint32_t s = (uint32_t)*slot + n;

	if (s >= vq->num) {
		s -= vq->num;
		*wrap = !*wrap;
	}
	*slot = (uint16_t)s;
}

/* The flags of slot, loaded once: whether it is available (then, and only
 * then, the rest of the descriptor may be read). */
VQ_HOT bool slot_avail(const struct vq *vq, uint16_t slot, bool wrap, uint16_t *flags)
{
	const uint8_t *p = (const uint8_t *)&vq->ring[slot];
	uint16_t f = load_le16_once(p + 14);

	if (!packed_avail(f, wrap))
		return false;
	/* The descriptor's other fields, and the rest of its chain, were
	 * written before its flags. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	*flags = f;
	return true;
}

/* The rest of an available descriptor, its flags already loaded. */
VQ_HOT void slot_load(const struct vq *vq, uint16_t slot, uint16_t flags, struct vq_desc *d)
{
	const uint8_t *p = (const uint8_t *)&vq->ring[slot];
	uint64_t addr = load_le64_once(p);
	uint32_t lenid[2];

	/* len and id in one load; the flags were read apart, once. */
	__builtin_memcpy(lenid, p + 8, 4);
	{
		uint16_t id;

		__builtin_memcpy(&id, p + 12, 2);
		KEEP_LOADED(lenid[0]);
		KEEP_LOADED(id);
		d->len = le32toh(lenid[0]);
		d->link = le16toh(id);
	}
	d->addr = addr;
	d->flags = flags;
}

/* Ring slots taken since the last commit. */
VQ_HOT uint32_t taken_slots(const struct vq *vq)
{
	uint32_t from = vq->avail_slot, to = vq->take_slot;

	return to >= from && vq->take_wrap == vq->avail_wrap ? to - from : to + vq->num - from;
}

/* Whether the slot at (slot, wrap) is still ours: a whole lap past where
 * the last published used element ended, taken (and maybe used) but not
 * yet given back, whatever its flags say. Every slot from there up to
 * the take position is ours too; a take position never runs further. */
VQ_HOT bool slot_held(const struct vq *vq, uint16_t slot, bool wrap)
{
	return slot == vq->pub_slot && wrap != vq->pub_wrap;
}

/* Whether another chain may be taken now: one is available at the take
 * position, and the ring could hold its used element. A driver that
 * makes a slot available again before we gave it back gets nothing
 * more until we publish: our used elements never outnumber the ring,
 * nor cover a slot twice (each chain takes a slot at least, so this
 * bounds the chains held too: pending never overflows).
 * A stopping ring counts the slots taken tentatively too, or a batch of
 * takes before one commit would run past its bound. */
VQ_HOT bool may_take(struct vq *vq, uint16_t *flags)
{
	if ((vq->frozen_left >= 0 && taken_slots(vq) >= (uint32_t)vq->frozen_left) ||
	    slot_held(vq, vq->take_slot, vq->take_wrap))
		return false;
	if (slot_avail(vq, vq->take_slot, vq->take_wrap, flags))
		return true;
	vq->empty_slot = vq->take_slot;
	vq->empty_wrap = vq->take_wrap;
	return false;
}

/* Strict in-place bookkeeping (vq ids_in_place): the ids in use are the
 * slots from where the last publication ended up to where the next used
 * element goes, each given back in its own slot. */
VQ_HOT bool slot_given(const struct vq *vq, uint16_t slot)
{
	uint16_t from = vq->pub_slot, to = vq->used_slot;

	return vq->used_wrap == vq->pub_wrap ? slot >= from && slot < to : slot >= from || slot < to;
}

VQ_HOT bool packed_busy(const struct vq *vq, uint16_t id)
{
	if (vq->ids_in_place)
		return slot_given(vq, id);
	return vq->id_gen[id] == vq->generation;
}

/* Whether a chain's id is free without a look: ids in place, the chain
 * one slot, and its id naming that slot, where the chain was taken (the
 * take position) or goes back (the used one). The ids in use lie from
 * pub_slot up to used_slot, behind both within a lap: a lap given back
 * would leave no slot for this chain to have been taken from. */
VQ_HOT bool packed_id_own(const struct vq *vq, uint16_t id, uint16_t slot, uint16_t slots)
{
	return vq->ids_in_place && slots == 1 && id == slot;
}

/* Whether the id of a chain of `slots` slots at `slot` (as packed_id_own
 * takes them) is in use: the look-up, unless its own slot tells. */
VQ_HOT bool packed_chain_busy(const struct vq *vq, uint16_t id, uint16_t slot, uint16_t slots)
{
	return !packed_id_own(vq, id, slot, slots) && packed_busy(vq, id);
}

/* In use until the next publication moves the generation on; or free
 * again at once (a tentative element forgotten). */
VQ_HOT void set_busy(struct vq *vq, uint16_t id, bool on)
{
	vq->id_gen[id] = on ? vq->generation : vq->generation - 1;
}

/* A used element for the ring: the first since the last publication
 * is held back until it (vq_publish), any other goes in now, len, id and
 * flags in one store. Only committed elements come here. */
VQ_HOT void packed_emit(struct vq *vq, struct vq_pending e)
{
	uint16_t flags;

	if (!vq->has_first) {
		vq->first = e;
		vq->has_first = true;
		return;
	}
	flags = (uint16_t)((e.place >> 15 ? F_AVAIL | F_USED : 0) | (e.len ? VRING_DESC_F_WRITE : 0));
	STORE_ONCE(*(uint64_t *)(void *)&vq->ring[e.place & 0x7fffu].len,
		   htole64((uint64_t)e.len | (uint64_t)e.id << 32 | (uint64_t)flags << 48));
}

/* A chain given back tentatively: kept aside until committed (the ring is
 * the driver's until then: a chain forgotten may be taken again, its
 * descriptors as they were). The id was checked when read (below num)
 * and not busy (vq_used_done). */
VQ_HOT void packed_used(struct vq *vq, uint16_t id, uint16_t slots, uint32_t len)
{
	/* Its element goes to the chain's first slot: in place if that is
	 * the id's and the chain one slot, and then slot_given tells it in
	 * use; else id_gen does. */
	if (!packed_id_own(vq, id, vq->used_slot, slots)) {
		if (vq->ids_in_place)
			packed_ids_to_table(vq);
		set_busy(vq, id, true);
	}
	vq->pending[vq->ntent++] =
		(struct vq_pending){ .len = len, .id = id,
				     .place = (uint16_t)(vq->used_slot | vq->used_wrap << 15) };
	step(vq, &vq->used_slot, &vq->used_wrap, slots);
}

/* A hint (vq_peek): the chain `ahead` after the next, if available. */
VQ_HOT bool packed_peek(const struct vq *vq, uint16_t ahead, struct vq_desc *d)
{
	uint32_t slot = (uint32_t)vq->take_slot + ahead;
	bool wrap = vq->take_wrap;
	uint16_t flags;

	if (__builtin_expect(slot >= vq->num, 0)) {
		if (ahead >= vq->num)
			return false;
		slot -= vq->num;
		wrap = !wrap;
	}
	if (!slot_avail(vq, (uint16_t)slot, wrap, &flags))
		return false;
	slot_load(vq, (uint16_t)slot, flags, d);
	return true;
}

/* ---- split ---- */

VQ_HOT void split_used(struct vq *vq, uint16_t id, uint32_t len)
{
	uint16_t slot = (uint16_t)(vq->used_idx + vq->used_pending + vq->used_tent) & vq->mask;
	struct vring_used_elem *e = &vq->used->ring[slot];

	/* The used ring is the driver's to read only up to used->idx: these
	 * stay unseen until published. */
	STORE_ONCE(e->id, htole32(id));
	STORE_ONCE(e->len, htole32(len));
	vq->used_tent++;
}

VQ_HOT void split_commit(struct vq *vq)
{
	vq->last_avail = (uint16_t)(vq->last_avail + vq->taken);
	vq->used_pending = (uint16_t)(vq->used_pending + vq->used_tent);
	vq->taken = 0;
	vq->taken_descs = 0;
	vq->used_tent = 0;
}

/* A hint (vq_peek). */
VQ_HOT bool split_peek(const struct vq *vq, uint16_t ahead, struct vq_desc *d)
{
	uint16_t head;

	if ((uint16_t)(vq->avail_seen - vq->last_avail) <= (uint32_t)vq->taken + ahead)
		return false;
	head = LOAD_ONCE(vq->avail->ring[(uint16_t)(vq->last_avail + vq->taken + ahead) & vq->mask]);
	if (head >= vq->num)
		return false;
	desc_load(vq->desc, head, false, d);
	return true;
}

/* ---- either ---- */

/* ---- runs: the fast path's turns, one chain of one descriptor each ---- */

/* Each copy of a slot in slots4 one further on. */
#define SLOTS4_ONE 0x0001000100010001ull
/* One more in both npending and consumed (vq_types.h): the low half is
 * npending, whose sum never carries. */
#define VQ_PENDING_CONSUMED_ONE 0x00010001u
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "npending is the low half of pending_consumed");

/* In vq_run expect: no id and flags are this (ids are looked up). */
#define EXPECT_NONE (1ull << 32)

VQ_HOT uint32_t packed_run_begin(struct vq *vq, bool device_writes, struct vq_run *r)
{
	uint16_t slot = vq->take_slot;
	uint32_t want = (vq->take_wrap ? F_AVAIL : F_USED) |
			(device_writes ? VRING_DESC_F_WRITE : 0);

	r->vq = vq;
	r->table = (uint8_t *)vq->ring;
	r->cur = r->table + (size_t)slot * 16;
	r->expect = slot | want << 16 | (vq->ids_in_place ? 0 : EXPECT_NONE);
	r->from_slot = slot;
	r->from_wrap = vq->take_wrap;
	/* Chains until the next turn (packed_run_turn): the first element
	 * since the publication, else the wrap; every chain while ids are
	 * marked. */
	r->marking = !vq->ids_in_place;
	r->countdown = vq->has_first && !r->marking ? (uint32_t)vq->num - slot : 1;
	/* A stopping ring counts what it gives: that is the general way's. */
	if (vq->frozen_left >= 0)
		return 0;
	/* Up to the first slot still held (slot_held): our used elements
	 * never outnumber the ring, nor cover a slot twice (may_take). Each
	 * chain held takes a slot at least, so this bounds npending too. */
	return (uint32_t)vq->num - (vq->take_wrap == vq->pub_wrap
					    ? (uint32_t)slot - vq->pub_slot
					    : (uint32_t)slot + vq->num - vq->pub_slot);
}

/* The look-up behind packed_run_peek, for a descriptor that is not what
 * the run expects (v: its id, and its flags in bits 16-31): whether its
 * flags are still exactly so, and its id is within the ring and free. An
 * id that does not name its own slot turns the ring to looking ids up
 * (vq ids_in_place), for the rest of the publication. */
VQ_HOT bool packed_run_lookup(struct vq_run *r, uint32_t v)
{
	struct vq *vq = r->vq;
	uint16_t i = (uint16_t)v;

	if ((v ^ (uint32_t)r->expect) >> 16 || i >= vq->num)
		return false;
	if (__builtin_expect(!r->marking, 0)) {
		packed_ids_to_table(vq);
		r->expect |= EXPECT_NONE;
		r->marking = true;
		r->countdown = 1; /* this chain's id is marked at its turn */
	}
	return vq->id_gen[i] != vq->generation;
}

/* The next slot, if it holds a whole chain of one descriptor with data in
 * the right direction (its flags exactly so) and a buffer id free to use:
 * while ids are in place, an id naming its own slot is free without a
 * look-up (vq ids_in_place), and the id and flags are checked in one
 * compare. Its tag: the id, and the flags in bits 16-31. */
VQ_HOT bool packed_run_peek(struct vq_run *r, struct vq_desc *d, uint32_t *tag)
{
	const uint8_t *p = r->cur;
	uint32_t v = load_id_flags_once(p);

	if (__builtin_expect(v != r->expect, 0) && !packed_run_lookup(r, v))
		return false;
	/* The descriptor's other fields were written before its flags. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	d->addr = load_le64_once(p);
	d->len = load_le32_once(p + 8);
	d->flags = (uint16_t)(v >> 16);
	*tag = v;
	return true;
}

/* The used element in place of a chain peeked in a run, as stored over
 * its descriptor's len, id and flags: the id and flags are the tag's, USED
 * turned over (AVAIL and USED then both say the wrap; WRITE stays as the
 * chain had it, set exactly when the device writes). */
VQ_HOT void packed_run_put(const struct vq_run *r, uint32_t tag, uint32_t len)
{
	STORE_ONCE(*(uint64_t *)(void *)(r->cur + 8),
		   htole64((uint64_t)len | (uint64_t)(tag ^ F_USED << 16) << 32));
}

/* The used element in place of the chain, and the run one further on. */
VQ_HOT void packed_run_step(struct vq *vq, struct vq_run *r, uint32_t tag, uint32_t len)
{
	packed_run_put(r, tag, len);
	r->cur += 16;
	r->expect++;
	vq->slots4 += SLOTS4_ONE;
}

/* packed_run_done at a turn: the id marked in use if ids are looked up,
 * the element held back if it is the first since the publication, and
 * the wrap if the position wraps. */
VQ_HOT void packed_run_turn(struct vq *vq, struct vq_run *r, uint32_t tag, uint32_t len)
{
	uint16_t slot = vq->take_slot;

	if (r->marking)
		vq->id_gen[(uint16_t)tag] = vq->generation;
	if (__builtin_expect(vq->has_first, 1)) {
		packed_run_put(r, tag, len);
	} else {
		/* The first since the last publication waits for it (packed_emit). */
		vq->first = (struct vq_pending){ .len = len, .id = (uint16_t)tag,
						 .place = (uint16_t)(slot | vq->take_wrap << 15) };
		vq->has_first = true;
	}
	if (slot + 1u == vq->num) {
		vq->slots4 = 0;
		vq->wraps4 ^= 0x01010101u;
		r->cur = r->table;
		r->expect = (r->expect & ~0xffffull) ^ (uint64_t)(F_AVAIL | F_USED) << 16;
		r->countdown = vq->num;
	} else {
		vq->slots4 += SLOTS4_ONE;
		r->cur += 16;
		r->expect++;
		r->countdown = (uint32_t)vq->num - slot - 1;
	}
	if (r->marking)
		r->countdown = 1;
}

/* That chain taken, given back with len bytes written, and committed:
 * all four positions move on together, in one add (the counts follow at
 * packed_run_end). len is more than 0 exactly when the chain is one the
 * device writes (the used element's WRITE flag is the chain's). */
VQ_HOT void packed_run_done(struct vq *vq, struct vq_run *r, uint32_t tag, uint32_t len)
{
	if (__builtin_expect(--r->countdown != 0, 1))
		packed_run_step(vq, r, tag, len);
	else
		packed_run_turn(vq, r, tag, len);
}

/* Whether the next four dones may be one packed_run_done4: none of the
 * four slots is the ring's last, nor has an id to mark; the first may be
 * the first element since the publication (packed_run_done4 holds it
 * back). A countdown beyond 4 says so at once; at 1 (a turn is next) it
 * is a mark, the ring's last slot, or that first. */
VQ_HOT bool packed_run_room4(const struct vq_run *r)
{
	const struct vq *vq = r->vq;

	if (__builtin_expect(r->countdown > 4, 1))
		return true;
	return r->countdown == 1 && !r->marking && !vq->has_first &&
	       (uint32_t)vq->num - vq->take_slot > 4;
}

/* Whether the next four slots are each what packed_run_peek takes without
 * a look-up (a chain of one descriptor, its flags exactly so, its id
 * naming its slot: free while ids are in place) and may go as one
 * packed_run_done4 (packed_run_room4). The ids and flags of all four are
 * read and checked before anything else; the rest of each descriptor
 * only after (packed_run_get4). The caller's run has room for four more
 * (vq_run_begin). */
VQ_HOT bool packed_run_peek4(const struct vq_run *r)
{
	const uint8_t *p = r->cur;
	/* Ids in place (a run that looks ids up marks each at its turn:
	 * packed_run_room4 says no), so the expectation is 32 bits. */
	uint32_t e = (uint32_t)r->expect;

	if (!packed_run_room4(r))
		return false;
	/* Each as expected, the id one further on in each slot (no carry:
	 * the ring's last slot is not among them). The last first: at the
	 * end of what the driver made available, it is the one missing. */
	if (load_id_flags_once(p + 48) != e + 3 || load_id_flags_once(p) != e ||
	    load_id_flags_once(p + 16) != e + 1 || load_id_flags_once(p + 32) != e + 2)
		return false;
	/* The descriptors' other fields were written before their flags. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return true;
}

/* The i-th (below 4) of the chains packed_run_peek4 saw: its address and
 * length, loaded now, once; its flags and id are what the peek checked. */
VQ_HOT void packed_run_get4(const struct vq_run *r, unsigned i, struct vq_desc *d,
			    uint32_t *tag)
{
	const uint8_t *p = r->cur + 16 * i;
	uint32_t v = (uint32_t)r->expect + i;

	d->addr = load_le64_once(p);
	d->len = load_le32_once(p + 8);
	d->flags = (uint16_t)(v >> 16);
	d->link = (uint16_t)v;
	*tag = v;
}

#if defined(__x86_64__)
/* Four descriptors loaded as two pairs (d01: 0 and 1; d23: 2 and 3): their
 * addresses and lengths in lanes 0 to 3, the lengths widened to 64 bits. */
VQ_HOT_AVX2 void packed_lanes4_avx2(__m256i d01, __m256i d23, __m256i *addr, __m256i *len)
{
	/* Addresses and the words behind them of descriptors 0, 2 | 1, 3;
	 * the lengths the low halves of those words; then in order. */
	*addr = _mm256_permute4x64_epi64(_mm256_unpacklo_epi64(d01, d23), 0xd8);
	*len = _mm256_permute4x64_epi64(_mm256_blend_epi32(_mm256_unpackhi_epi64(d01, d23),
							   _mm256_setzero_si256(), 0xaa),
					0xd8);
}

/* Whether four descriptors loaded as two pairs (packed_lanes4_avx2's d01,
 * d23) have the ids and flags first, first + 1, first + 2 and first + 3:
 * each one's are its last 4 bytes (dwords 3 and 7 of a pair), compared in
 * one go (no carry: the caller keeps the ring's last slot out of them). */
VQ_HOT_AVX2 bool packed_match4_avx2(__m256i d01, __m256i d23, uint32_t first)
{
	__m256i want = _mm256_add_epi32(_mm256_set1_epi32((int)first),
					_mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1));
	unsigned seen = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi32(d01, want)) &
			(unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi32(
				d23, _mm256_add_epi32(want, _mm256_set1_epi32(2))));

	return (seen & 0xf000f000u) == 0xf000f000u;
}

/* packed_run_peek4 and packed_run_get4 of all four at once, with AVX2: the
 * four ids and flags compared with what the run expects in one go, and
 * only then, after them, the four addresses and lengths loaded (each
 * descriptor once more, as a whole), in lanes 0 to 3, the lengths widened
 * to 64 bits. Their tags are vq_run_tag4's. */
VQ_HOT_AVX2 bool packed_run_load4_avx2(const struct vq_run *r, __m256i *addr, __m256i *len)
{
	const uint8_t *p = r->cur;
	__m256i d01, d23;

	if (!packed_run_room4(r))
		return false;
	/* The ids and flags as expected, one further on in each slot. */
	if (!packed_match4_avx2(_mm256_loadu_si256((const __m256i *)(const void *)p),
				_mm256_loadu_si256((const __m256i *)(const void *)(p + 32)),
				(uint32_t)r->expect))
		return false;
	/* The descriptors' other fields were written before their flags. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	d01 = _mm256_loadu_si256((const __m256i *)(const void *)p);
	d23 = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
	packed_lanes4_avx2(d01, d23, addr, len);
	return true;
}

/* vq_run_hint of the four chains after the four the run has next
 * (packed_run_load4_avx2's), at once: their addresses and lengths when
 * all four are available, simple, their ids in place, and short of the
 * ring's end (else false: ask vq_run_hint one by one). A hint for a
 * prefetch only: each descriptor is read once, its fields beside its
 * flags, and may be stale. */
VQ_HOT_AVX2 bool packed_run_hint4_avx2(const struct vq_run *r, __m256i *addr, __m256i *len)
{
	const uint8_t *p = r->cur + 64;
	__m256i d01, d23;

	/* The eight slots from the run's all within the ring: a countdown
	 * of 8 or more puts its turn (the ring's last slot) no nearer. (At
	 * 1 it is the first since the publication, or ids are looked up.) */
	if (r->countdown < 8)
		return false;
	d01 = _mm256_loadu_si256((const __m256i *)(const void *)p);
	d23 = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
	if (!packed_match4_avx2(d01, d23, (uint32_t)r->expect + 4))
		return false;
	packed_lanes4_avx2(d01, d23, addr, len);
	return true;
}
#endif

/* The four chains packed_run_peek4 saw, taken and given back with len[i]
 * bytes written (len NULL: none; more than 0 exactly when the device
 * writes: the flags are the run's), as four packed_run_done: the driver
 * sees none of them before vq_publish writes the first since the
 * publication behind its release barrier (one of these, held back, or
 * one before them). */
VQ_HOT void packed_run_done4(struct vq *vq, struct vq_run *r, const uint32_t len[4])
{
	uint64_t t = (uint64_t)((uint32_t)r->expect ^ F_USED << 16) << 32;
	uint8_t *p = r->cur + 8;

	/* The first since the publication (packed_run_room4): held back at
	 * its turn, the other three steps. Once a publication. */
	if (__builtin_expect(r->countdown == 1, 0)) {
		for (unsigned i = 0; i < 4; i++)
			packed_run_done(vq, r, (uint32_t)r->expect, len ? len[i] : 0);
		return;
	}

	/* Spelt out: a loop of volatile stores stays a loop. The next id
	 * is one more in each. */
	STORE_ONCE(*(uint64_t *)(void *)p, htole64((len ? len[0] : 0) | t));
	STORE_ONCE(*(uint64_t *)(void *)(p + 16), htole64((len ? len[1] : 0) | (t + (1ull << 32))));
	STORE_ONCE(*(uint64_t *)(void *)(p + 32), htole64((len ? len[2] : 0) | (t + (2ull << 32))));
	STORE_ONCE(*(uint64_t *)(void *)(p + 48), htole64((len ? len[3] : 0) | (t + (3ull << 32))));
	r->cur += 64;
	r->expect += 4;
	r->countdown -= 4;
	vq->slots4 += 4 * SLOTS4_ONE;
}

/* The run's chains since its start (or the last end) counted in npending
 * and consumed, from how far the take position moved: a run takes a lap
 * at most (packed_run_begin). A fault that unwinds the run leaves them
 * short by its chains: they only count, and are read as differences. */
VQ_HOT void packed_run_end(struct vq *vq, struct vq_run *r)
{
	uint32_t n = (uint32_t)vq->take_slot + (vq->take_wrap != r->from_wrap ? vq->num : 0) -
		     r->from_slot;

	vq->pending_consumed += n * VQ_PENDING_CONSUMED_ONE;
	r->from_slot = vq->take_slot;
	r->from_wrap = vq->take_wrap;
}

/* A split run walks the avail and used rings by pointer and never across
 * their ends: it stops where either wraps, and the next begins at 0. */
VQ_HOT uint32_t split_run_begin(struct vq *vq, struct vq_run *r)
{
	uint32_t waiting = (uint16_t)(vq->avail_seen - vq->last_avail);
	uint32_t at = vq->last_avail & vq->mask;
	uint32_t used_at = (uint16_t)(vq->used_idx + vq->used_pending) & vq->mask;

	r->table = (uint8_t *)vq->desc;
	r->mask = vq->mask;
	r->pos = vq->last_avail;
	r->avail_next = (const uint8_t *)vq->avail->ring + (size_t)at * 2;
	r->avail_start = r->avail_next;
	r->used_next = (uint8_t *)vq->used->ring + (size_t)used_at * 8;
	/* The avail entries read already: the index is not read again. */
	if (waiting > vq->num - at)
		waiting = vq->num - at;
	return waiting < vq->num - used_at ? waiting : vq->num - used_at;
}

VQ_HOT bool split_run_peek(const struct vq_run *r, bool device_writes, struct vq_desc *d,
			   uint32_t *tag)
{
	uint16_t head = load_le16_once(r->avail_next);
	const uint8_t *p;
	uint32_t len;

	/* Anything odd, a bad head included, is for the general way to see
	 * (a split ring's size is a power of 2: mask + 1). */
	if (head > r->mask)
		return false;
	p = r->table + (size_t)head * 16;
	/* The flags alone first, and nothing else when they say no; the
	 * next field is not looked at (no NEXT flag). */
	if (load_le16_once(p + 12) != (device_writes ? VRING_DESC_F_WRITE : 0))
		return false;
	d->addr = load_le64_once(p);
	__builtin_memcpy(&len, p + 8, sizeof len);
	KEEP_LOADED(len);
	d->len = le32toh(len);
	d->flags = device_writes ? VRING_DESC_F_WRITE : 0;
	*tag = head;
	return true;
}

VQ_HOT void split_run_done(struct vq_run *r, uint32_t id, uint32_t len)
{
	uint64_t e = htole64((uint64_t)id | (uint64_t)len << 32);

	/* id and len in one store: the driver reads the element only once
	 * used->idx says so (vq_publish). */
	__builtin_memcpy(r->used_next, &e, sizeof e);
	r->used_next += 8;
	r->avail_next += 2;
}

/* A split run's chains count from here: until now the ring stood where the
 * run began (a fault that unwinds the run forgets them, and the chains are
 * taken again; their used elements were past what the driver may read). */
VQ_HOT void split_run_end(struct vq *vq, struct vq_run *r)
{
	uint16_t done = (uint16_t)((r->avail_next - r->avail_start) / 2);

	r->pos = (uint16_t)(r->pos + done);
	r->avail_start = r->avail_next;
	vq->last_avail = r->pos;
	vq->used_pending = (uint16_t)(vq->used_pending + done);
}

/* Whether a run could take anything, cheaply: a split ring knows whether
 * avail entries it read wait; a packed ring learns it only from a slot's
 * flags, which the run reads. */
VQ_HOT bool vq_run_ready(const struct vq *vq, bool packed)
{
	return packed || vq->avail_seen != (uint16_t)(vq->last_avail + vq->taken);
}

/* Begin a run on a ring with nothing taken tentatively (right after
 * vq_commit or vq_take_begin): how many chains it may take at most (0:
 * none the fast way). `packed` is the ring's format, passed in so that a
 * caller specialised for one format drops the other's code. */
VQ_HOT uint32_t vq_run_begin(struct vq *vq, bool packed, bool device_writes, struct vq_run *r)
{
	return packed ? packed_run_begin(vq, device_writes, r) : split_run_begin(vq, r);
}

/* Whether the next chain is one descriptor in the right direction, free to
 * use: its copy in d (not checked beyond its flags: the caller translates
 * it) and its tag for vq_run_done (vq_tag_id: its buffer id). Nothing is
 * taken. Only while the run has taken fewer than vq_run_begin said. */
VQ_HOT bool vq_run_peek(struct vq_run *r, bool packed, bool device_writes, struct vq_desc *d,
			uint32_t *tag)
{
	return packed ? packed_run_peek(r, d, tag) : split_run_peek(r, device_writes, d, tag);
}

/* The buffer id of a chain peeked. */
VQ_HOT uint16_t vq_tag_id(uint32_t tag)
{
	return (uint16_t)tag;
}

/* The chain peeked taken and given back with len bytes written: a packed
 * ring's positions move at once (its used element is in the ring), its
 * counts at vq_run_end; a split ring's positions and counts at vq_run_end. */
VQ_HOT void vq_run_done(struct vq *vq, struct vq_run *r, bool packed, uint32_t tag, uint32_t len)
{
	if (packed)
		packed_run_done(vq, r, tag, len);
	else
		split_run_done(r, tag, len);
}

/* Four chains at once, for a packed ring only (a split one says no):
 * whether the next four are each what vq_run_peek would take, and their
 * givings back simple enough to go together (packed_run_peek4); nothing
 * is taken. Only while the run may take four more than it has. Then
 * vq_run_get4 gives each one's copy (not checked beyond its flags, as
 * vq_run_peek) and tag, and either vq_run_done4 gives all four back or
 * vq_run_done the first few, one by one, in order. */
VQ_HOT bool vq_run_peek4(struct vq_run *r, bool packed)
{
	return packed && packed_run_peek4(r);
}

/* The i-th of the four (i below 4), loaded once, now: only before any of
 * them is given back. */
VQ_HOT void vq_run_get4(const struct vq_run *r, bool packed, unsigned i, struct vq_desc *d,
			uint32_t *tag)
{
	if (packed)
		packed_run_get4(r, i, d, tag);
}

#if defined(__x86_64__)
/* vq_run_peek4 and vq_run_get4 of all four, with AVX2 (packed_run_load4_avx2). */
VQ_HOT_AVX2 bool vq_run_load4_avx2(const struct vq_run *r, bool packed, __m256i *addr,
				   __m256i *len)
{
	return packed && packed_run_load4_avx2(r, addr, len);
}
#endif

#if defined(__x86_64__)
/* vq_run_hint of the four chains after the run's next four, with AVX2
 * (packed_run_hint4_avx2); false: ask vq_run_hint. */
VQ_HOT_AVX2 bool vq_run_hint4_avx2(const struct vq_run *r, bool packed, __m256i *addr,
				   __m256i *len)
{
	return packed && packed_run_hint4_avx2(r, addr, len);
}
#endif

/* The tag, for vq_run_done, of the i-th chain from where the run stands
 * now, among those vq_run_peek4 checked: nothing is loaded. */
VQ_HOT uint32_t vq_run_tag4(const struct vq_run *r, bool packed, unsigned i)
{
	return packed ? (uint32_t)r->expect + i : 0;
}

/* The four chains vq_run_peek4 saw, taken and given back with len[i] bytes
 * written (len NULL: none), as four vq_run_done. */
VQ_HOT void vq_run_done4(struct vq *vq, struct vq_run *r, bool packed, const uint32_t len[4])
{
	if (packed)
		packed_run_done4(vq, r, len);
}

/* The run's chains committed, the ring's state in memory (a split ring
 * keeps its positions in the run till here, a packed ring its counts).
 * Before anything else uses
 * the ring; the run may go on (ending again counts what came since), or a
 * new one begin. */
VQ_HOT void vq_run_end(struct vq *vq, bool packed, struct vq_run *r)
{
	if (packed)
		packed_run_end(vq, r);
	else
		split_run_end(vq, r);
}

/* A run of one (virtqueue.h). */
VQ_HOT bool vq_peek_single(struct vq *vq, bool packed, bool device_writes, struct vq_desc *d,
			   uint32_t *tag)
{
	struct vq_run r;

	return vq_run_begin(vq, packed, device_writes, &r) > 0 &&
	       vq_run_peek(&r, packed, device_writes, d, tag);
}

VQ_HOT void vq_single_done(struct vq *vq, bool packed, uint32_t tag, uint32_t len)
{
	struct vq_run r;

	/* Whether the device wrote is what the used element says: a packed
	 * tag's WRITE flag follows len (a run's chains have it already). */
	if (packed)
		tag = (tag & ~((uint32_t)VRING_DESC_F_WRITE << 16)) |
		      (len ? (uint32_t)VRING_DESC_F_WRITE << 16 : 0);
	vq_run_begin(vq, packed, len != 0, &r);
	vq_run_done(vq, &r, packed, tag, len);
	vq_run_end(vq, packed, &r);
}

/* A hint only (virtqueue.h): `packed` as for vq_peek_single. */
VQ_HOT bool vq_peek(const struct vq *vq, bool packed, uint16_t ahead, struct vq_desc *d)
{
	return packed ? packed_peek(vq, ahead, d) : split_peek(vq, ahead, d);
}

/* A hint only, as vq_peek, within a run (vq_run_begin): nothing is taken
 * tentatively then, and a split ring stays at the run's first entry till
 * vq_run_end (the caller adds the chains the run did to `ahead`). */
VQ_HOT bool vq_run_hint(const struct vq *vq, bool packed, uint16_t ahead, struct vq_desc *d)
{
	uint16_t head;

	if (packed)
		return packed_peek(vq, ahead, d);
	if ((uint16_t)(vq->avail_seen - vq->last_avail) <= ahead)
		return false;
	head = LOAD_ONCE(vq->avail->ring[(uint16_t)(vq->last_avail + ahead) & vq->mask]);
	if (head >= vq->num)
		return false;
	desc_load(vq->desc, head, false, d);
	return true;
}

/* Chains taken and committed so far, counting on from any start (it
 * wraps): the difference of two readings is what moved between them. */
VQ_HOT uint16_t vq_consumed(const struct vq *vq)
{
	return vq->packed ? vq->consumed : vq->last_avail;
}

VQ_HOT void vq_mark(const struct vq *vq, struct vq_mark *m)
{
	m->taken = vq->taken;
	m->descs = vq->taken_descs;
	m->slot = vq->take_slot;
	m->wrap = vq->take_wrap;
}

VQ_HOT void vq_rewind(struct vq *vq, const struct vq_mark *m)
{
	vq->taken = m->taken;
	vq->taken_descs = m->descs;
	vq->take_slot = m->slot;
	vq->take_wrap = m->wrap;
}

#endif
