/* SPDX-License-Identifier: MIT */
/* The driver's half of a split virtqueue: free descriptors, avail, used. */
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "vnd_internal.h"

/* Shared memory is accessed once per use: the device may change it any time. */
#define LOAD_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define STORE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

int vnd_queue_alloc_state(struct vnd_queue *q, unsigned num)
{
	q->num = num;
	q->next = calloc(num, sizeof *q->next);
	q->chain_len = calloc(num, sizeof *q->chain_len);
	q->state = calloc(num, sizeof *q->state);
	return q->next && q->chain_len && q->state ? 0 : -1;
}

void vnd_queue_free_state(struct vnd_queue *q)
{
	free(q->next);
	free(q->chain_len);
	free(q->state);
}

static uint16_t *used_event(struct vnd_queue *q) { return &q->avail->ring[q->num]; }

static const uint16_t *avail_event(const struct vnd_queue *q)
{
	return (const uint16_t *)(const void *)&q->used->ring[q->num];
}

void vnd_queue_reset(struct vnd_queue *q)
{
	uint16_t *link = &q->free_head;

	memset(q->desc, 0, sizeof(struct vring_desc) * q->num);
	memset(q->avail, 0, sizeof(struct vring_avail) + sizeof(uint16_t) * (q->num + 1));
	memset(q->used, 0, sizeof(struct vring_used) + sizeof(struct vring_used_elem) * q->num +
				   sizeof(uint16_t));
	q->num_free = 0;
	for (unsigned i = 0; i < q->num; i++) {
		q->chain_len[i] = 0;
		if (q->state[i] == DESC_RAW)
			continue;
		q->state[i] = DESC_FREE;
		*link = (uint16_t)i;
		link = &q->next[i];
		q->num_free++;
	}
	q->avail_idx = q->published = q->last_used = 0;
	q->irq_off = false;
}

void vnd_queue_forget_raw(struct vnd_queue *q)
{
	memset(q->state, DESC_FREE, q->num);
}

int vnd_queue_alloc(struct vnd_queue *q, unsigned n)
{
	uint16_t head = q->free_head, d = head;

	if (n == 0 || n > q->num_free)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		q->state[d] = DESC_IN_CHAIN;
		if (i + 1 < n)
			d = q->next[d];
	}
	q->free_head = q->next[d];
	q->num_free -= n;
	q->chain_len[head] = (uint16_t)n;
	return head;
}

void vnd_queue_free_chain(struct vnd_queue *q, uint16_t head)
{
	uint16_t d = head, n = q->chain_len[head];

	for (unsigned i = 0; i + 1 < n; i++) {
		q->state[d] = DESC_FREE;
		d = q->next[d];
	}
	q->state[d] = DESC_FREE;
	q->next[d] = q->free_head;
	q->free_head = head;
	q->num_free += n;
	q->chain_len[head] = 0;
}

bool vnd_queue_in_flight(const struct vnd_queue *q, uint32_t id)
{
	return id < q->num && q->state[id] == DESC_IN_CHAIN && q->chain_len[id];
}

void vnd_queue_set_desc(struct vnd_queue *q, uint16_t i, uint64_t addr, uint32_t len,
			uint16_t flags)
{
	struct vring_desc *d = &q->desc[i];

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = (flags & VRING_DESC_F_NEXT) ? q->next[i] : 0;
}

void vnd_queue_put(struct vnd_queue *q, uint16_t head)
{
	STORE_ONCE(q->avail->ring[q->avail_idx & (q->num - 1)], head);
	q->avail_idx++;
}

void vnd_queue_flush(struct vnd_queue *q)
{
	uint16_t old = q->published, now = q->avail_idx;
	bool kick;

	if (old == now)
		return;
	/* Descriptors and entries before the index that covers them. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	STORE_ONCE(q->avail->idx, now);
	q->published = now;
	/* The index must be visible before we read the device's wish. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->event_idx)
		kick = vring_need_event(LOAD_ONCE(*avail_event(q)), now, old);
	else
		kick = !(LOAD_ONCE(q->used->flags) & VRING_USED_F_NO_NOTIFY);
	if (kick && q->kick_fd >= 0)
		(void)!eventfd_write(q->kick_fd, 1);
}

uint16_t vnd_queue_used_pending(const struct vnd_queue *q)
{
	uint16_t n = (uint16_t)(LOAD_ONCE(q->used->idx) - q->last_used);

	/* The entries the index covers are read after it. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return n;
}

struct vring_used_elem vnd_queue_used_elem(const struct vnd_queue *q, uint16_t ahead)
{
	const struct vring_used_elem *e = &q->used->ring[(uint16_t)(q->last_used + ahead) & (q->num - 1)];
	struct vring_used_elem copy = { LOAD_ONCE(e->id), LOAD_ONCE(e->len) };

	return copy;
}

void vnd_queue_enable_irq(struct vnd_queue *q)
{
	if (q->event_idx)
		STORE_ONCE(*used_event(q), q->last_used);
	else if (q->irq_off)
		STORE_ONCE(q->avail->flags, 0);
	q->irq_off = false;
	/* Visible before the caller looks at the used ring again. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void vnd_queue_disable_irq(struct vnd_queue *q)
{
	/* Out of reach, and kept so as last_used moves: the device is never
	 * more than num <= 32768 entries ahead of us. */
	if (q->event_idx)
		STORE_ONCE(*used_event(q), (uint16_t)(q->last_used + 0x8000u));
	else if (!q->irq_off)
		STORE_ONCE(q->avail->flags, VRING_AVAIL_F_NO_INTERRUPT);
	q->irq_off = true;
}

int vnd_queue_take(struct vnd_queue *q, unsigned count, uint16_t *ids)
{
	if (count > q->num_free)
		return -1;
	for (unsigned i = 0; i < count; i++) {
		ids[i] = q->free_head;
		q->free_head = q->next[q->free_head];
		q->state[ids[i]] = DESC_RAW;
	}
	q->num_free -= count;
	return 0;
}
