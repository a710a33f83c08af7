/* SPDX-License-Identifier: MIT */
/*
 * The driver's half of a packed virtqueue (virtio 1.2, 2.8). Descriptors
 * go into the ring one after the other; a batch of chains becomes
 * available when its first descriptor's flags are written, last. The
 * device marks buffers used in place: one element per buffer, or with
 * IN_ORDER one per batch of buffers (2.8.9), each element followed by the
 * slots of the chains it stands for.
 *
 * Buffer ids come from a FIFO of free ones: a device that uses buffers in
 * order gets them back in the order they went out.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "vnd_internal.h"

/* Shared memory is accessed once per use: the device may change it any time. */
#define LOAD_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define STORE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

#define F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED (1u << VRING_PACKED_DESC_F_USED)
#define WRAP_BIT 15
#define INDEX_MASK 0x7fffu
#define EVENT_UNKNOWN 0xffffu

/* A position n slots further on (n <= num): past the end it wraps and
 * the wrap counter turns. */
static void step(const struct vnd_pqueue *q, uint16_t *slot, bool *wrap, unsigned n)
{
	unsigned s = *slot + n;

	if (s >= q->num) {
		s -= q->num;
		*wrap = !*wrap;
	}
	*slot = (uint16_t)s;
}

/* Used: AVAIL and USED both equal to the wrap counter (2.8.1). */
static bool is_used(uint16_t flags, bool wrap)
{
	return !!(flags & F_AVAIL) == wrap && !!(flags & F_USED) == wrap;
}

int vnd_pq_alloc_state(struct vnd_pqueue *q, unsigned num)
{
	q->num = num;
	q->free_ids = calloc(num, sizeof *q->free_ids);
	q->slots = calloc(num, sizeof *q->slots);
	q->id_state = calloc(num, sizeof *q->id_state);
	q->head_id = calloc(num, sizeof *q->head_id);
	return q->free_ids && q->slots && q->id_state && q->head_id ? 0 : -1;
}

void vnd_pq_free_state(struct vnd_pqueue *q)
{
	free(q->free_ids);
	free(q->slots);
	free(q->id_state);
	free(q->head_id);
}

void vnd_pq_reset(struct vnd_pqueue *q, unsigned nids)
{
	/* A zeroed ring holds nothing available on wrap 1 and nothing used. */
	memset(q->ring, 0, sizeof(struct vring_packed_desc) * q->num);
	memset(q->driver_event, 0, sizeof *q->driver_event);
	memset(q->device_event, 0, sizeof *q->device_event);
	q->nids = nids;
	q->avail_slot = 0;
	q->avail_wrap = true;
	memset(&q->used, 0, sizeof q->used);
	q->used.wrap = true;
	q->free_slots = q->num;
	q->added = 0;
	q->batch_open = false;
	for (unsigned i = 0; i < nids; i++)
		q->free_ids[i] = (uint16_t)i;
	q->id_first = 0;
	q->id_count = nids;
	memset(q->slots, 0, sizeof *q->slots * q->num);
	memset(q->id_state, ID_FREE, q->num);
	memset(q->head_id, 0, sizeof *q->head_id * q->num);
	q->event_flags = EVENT_UNKNOWN;
	vnd_pq_enable_irq(q);
}

uint16_t vnd_pq_begin(struct vnd_pqueue *q, unsigned n)
{
	uint16_t id = q->free_ids[q->id_first];

	q->id_first = q->id_first + 1 == q->num ? 0 : q->id_first + 1;
	q->id_count--;
	q->id_state[id] = ID_IN_FLIGHT;
	q->slots[id] = (uint16_t)n;
	q->head_id[q->avail_slot] = id;
	q->free_slots -= n;
	return id;
}

void vnd_pq_put(struct vnd_pqueue *q, uint64_t addr, uint32_t len, uint16_t id, uint16_t flags)
{
	struct vring_packed_desc *d = &q->ring[q->avail_slot];
	uint16_t f = (uint16_t)(flags | (q->avail_wrap ? F_AVAIL : F_USED));

	/* The device reads nothing of the batch before its first flags:
	 * plain stores for the rest of it. */
	d->addr = addr;
	d->len = len;
	d->id = id;
	if (!q->batch_open) {
		q->batch_open = true;
		q->batch_slot = q->avail_slot;
		q->batch_flags = f;
	} else {
		STORE_ONCE(d->flags, f);
	}
	step(q, &q->avail_slot, &q->avail_wrap, 1);
	q->added++;
}

/* Whether the device's event suppression asks for a kick for the slots
 * made available since the last decision (2.8.10). */
static bool device_wants_kick(const struct vnd_pqueue *q)
{
	/* Both fields in one load: the device may rewrite them together. */
	uint32_t ev = LOAD_ONCE(*(const uint32_t *)(const void *)q->device_event);
	uint16_t off_wrap = (uint16_t)ev, flags = (uint16_t)(ev >> 16) & 3u;
	int32_t now = q->avail_slot, old = now - q->added, event;

	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	if (flags != VRING_PACKED_EVENT_FLAG_DESC || !q->event_idx)
		return true; /* ENABLE, or a wish we cannot read: kick rather than stall */
	/* Positions as numbers that grow across wraps, relative to this wrap. */
	event = (int32_t)(off_wrap & INDEX_MASK);
	if (!!(off_wrap >> WRAP_BIT) != q->avail_wrap)
		event -= (int32_t)q->num;
	return event >= old && event < now;
}

void vnd_pq_flush(struct vnd_pqueue *q)
{
	bool kick;

	if (!q->batch_open)
		return;
	/* Every descriptor of the batch before the flags that expose it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	STORE_ONCE(q->ring[q->batch_slot].flags, q->batch_flags);
	q->batch_open = false;
	/* The flags must be visible before we read the device's wish. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	kick = device_wants_kick(q);
	q->added = 0;
	if (kick && q->kick_fd >= 0)
		(void)!eventfd_write(q->kick_fd, 1);
}

bool vnd_pq_has_used(const struct vnd_pqueue *q)
{
	return q->used.in_batch || is_used(LOAD_ONCE(q->ring[q->used.slot].flags), q->used.wrap);
}

void vnd_pq_cursor(const struct vnd_pqueue *q, struct vnd_pcursor *c)
{
	*c = q->used;
	c->ahead = 0;
	c->limit = q->num - q->free_slots;
}

/* Move c past the chain of id that begins at (slot, wrap); -1 when that
 * would run past what the device holds. */
static int skip_chain(const struct vnd_pqueue *q, struct vnd_pcursor *c, uint16_t *slot, bool *wrap,
		      uint16_t id)
{
	c->ahead += q->slots[id];
	if (c->ahead > c->limit)
		return -1;
	step(q, slot, wrap, q->slots[id]);
	return 0;
}

int vnd_pq_next_used(const struct vnd_pqueue *q, struct vnd_pcursor *c, uint16_t *id,
		     uint32_t *len, bool *whole)
{
	uint16_t flags, x;
	uint32_t l;

	if (!c->in_batch) {
		const struct vring_packed_desc *d = &q->ring[c->slot];

		flags = LOAD_ONCE(d->flags);
		if (!is_used(flags, c->wrap))
			return 0;
		/* The element's id and length were written before its flags. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		x = LOAD_ONCE(d->id);
		l = LOAD_ONCE(d->len);
		/* Without WRITE the length means nothing (2.8.4). */
		if (!(flags & VRING_DESC_F_WRITE))
			l = 0;
		*id = x;
		if (x >= q->nids || q->id_state[x] == ID_FREE)
			return -1;
		if (!q->in_order || q->head_id[c->slot] == x) {
			*len = l;
			*whole = false;
			return skip_chain(q, c, &c->slot, &c->wrap, x) ? -1 : 1;
		}
		/* One element for a batch: it names the batch's last buffer
		 * and sits where the batch's first chain began. */
		c->in_batch = true;
		c->batch_id = x;
		c->batch_len = l;
		c->skip_slot = c->slot;
		c->skip_wrap = c->wrap;
	}
	x = q->head_id[c->skip_slot];
	*id = x;
	if (q->id_state[x] == ID_FREE || skip_chain(q, c, &c->skip_slot, &c->skip_wrap, x))
		return -1;
	if (x != c->batch_id) {
		/* Skipped buffers were used whole (2.8.9). */
		*len = 0;
		*whole = true;
		return 1;
	}
	*len = c->batch_len;
	*whole = false;
	c->in_batch = false;
	c->slot = c->skip_slot;
	c->wrap = c->skip_wrap;
	return 1;
}

void vnd_pq_free_id(struct vnd_pqueue *q, uint16_t id)
{
	unsigned at = q->id_first + q->id_count;

	q->free_slots += q->slots[id];
	q->slots[id] = 0;
	q->id_state[id] = ID_FREE;
	q->free_ids[at >= q->num ? at - q->num : at] = id;
	q->id_count++;
}

void vnd_pq_consume(struct vnd_pqueue *q, const struct vnd_pcursor *c) { q->used = *c; }

void vnd_pq_enable_irq(struct vnd_pqueue *q)
{
	if (q->event_idx) {
		/* A signal when the device writes the next used element. */
		STORE_ONCE(q->driver_event->off_wrap,
			   (uint16_t)(q->used.slot | (unsigned)q->used.wrap << WRAP_BIT));
		if (q->event_flags != VRING_PACKED_EVENT_FLAG_DESC) {
			__atomic_thread_fence(__ATOMIC_RELEASE);
			STORE_ONCE(q->driver_event->flags, VRING_PACKED_EVENT_FLAG_DESC);
			q->event_flags = VRING_PACKED_EVENT_FLAG_DESC;
		}
	} else if (q->event_flags != VRING_PACKED_EVENT_FLAG_ENABLE) {
		STORE_ONCE(q->driver_event->flags, VRING_PACKED_EVENT_FLAG_ENABLE);
		q->event_flags = VRING_PACKED_EVENT_FLAG_ENABLE;
	}
	/* Visible before the caller looks at the ring again. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void vnd_pq_disable_irq(struct vnd_pqueue *q)
{
	if (q->event_flags != VRING_PACKED_EVENT_FLAG_DISABLE) {
		STORE_ONCE(q->driver_event->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
		q->event_flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	}
}

uint32_t vnd_pq_base(const struct vnd_pqueue *q)
{
	uint32_t avail = q->avail_slot | (uint32_t)q->avail_wrap << WRAP_BIT;
	uint32_t used = q->used.slot | (uint32_t)q->used.wrap << WRAP_BIT;

	return avail | used << 16;
}

int vnd_pq_take_raw(struct vnd_pqueue *q, unsigned n, uint16_t *slot, bool *wrap, uint16_t *id)
{
	if (n == 0 || n > q->num || !vnd_pq_room(q, n) || q->batch_open)
		return -1;
	*slot = q->avail_slot;
	*wrap = q->avail_wrap;
	*id = vnd_pq_begin(q, n);
	q->id_state[*id] = ID_RAW;
	step(q, &q->avail_slot, &q->avail_wrap, n);
	return 0;
}
