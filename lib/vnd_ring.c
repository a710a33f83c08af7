/* SPDX-License-Identifier: MIT */
/* The driver's half of a split virtqueue: free descriptors, avail, used. */
#include <string.h>
#include <sys/eventfd.h>

#include "vnd_internal.h"

#define LOAD_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define STORE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

void vnd_queue_reset(struct vnd_queue *q)
{
	memset(q->desc, 0, 16u * q->num);
	memset(q->avail, 0, 6u + 2u * q->num);
	memset(q->used, 0, 6u + 8u * q->num);
	for (unsigned i = 0; i < q->num; i++) {
		q->desc[i].next = (uint16_t)(i + 1);
		q->owner[i] = DESC_FREE;
		q->chain_len[i] = 0;
	}
	q->free_head = 0;
	q->num_free = q->num;
	q->avail_idx = 0;
	q->last_used = 0;
}

int vnd_queue_alloc(struct vnd_queue *q, unsigned n)
{
	uint16_t head = q->free_head, d = head;

	if (n == 0 || n > q->num_free)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		q->owner[d] = DESC_LIB;
		if (i + 1 < n)
			d = q->desc[d].next;
	}
	q->free_head = q->desc[d].next;
	q->num_free -= n;
	q->chain_len[head] = (uint16_t)n;
	return head;
}

void vnd_queue_free_chain(struct vnd_queue *q, uint16_t head)
{
	uint16_t d = head, n = q->chain_len[head];

	for (unsigned i = 0; i + 1 < n; i++) {
		q->owner[d] = DESC_FREE;
		d = q->desc[d].next;
	}
	q->owner[d] = DESC_FREE;
	q->desc[d].next = q->free_head;
	q->free_head = head;
	q->num_free += n;
	q->chain_len[head] = 0;
}

void vnd_queue_put(struct vnd_queue *q, uint16_t head)
{
	STORE_ONCE(q->avail->ring[q->avail_idx & (q->num - 1)], head);
	q->avail_idx++;
}

static uint16_t *avail_event(struct vnd_queue *q)
{
	return (uint16_t *)(void *)&q->used->ring[q->num];
}

void vnd_queue_flush(struct vnd_queue *q)
{
	uint16_t old = LOAD_ONCE(q->avail->idx), now = q->avail_idx;
	bool kick;

	if (old == now)
		return;
	/* Descriptors and entries before the index that covers them. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	STORE_ONCE(q->avail->idx, now);
	/* The index must be visible before we read the device's wish. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->event_idx)
		kick = vring_need_event(LOAD_ONCE(*avail_event(q)), now, old);
	else
		kick = !(LOAD_ONCE(q->used->flags) & VRING_USED_F_NO_NOTIFY);
	if (kick && q->kick_fd >= 0)
		(void)!eventfd_write(q->kick_fd, 1);
}

void vnd_queue_publish(struct vnd_queue *q, uint16_t head)
{
	vnd_queue_put(q, head);
	vnd_queue_flush(q);
}

uint16_t vnd_queue_used_pending(struct vnd_queue *q)
{
	uint16_t n = (uint16_t)(LOAD_ONCE(q->used->idx) - q->last_used);

	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return n;
}

void vnd_queue_want_interrupt(struct vnd_queue *q)
{
	if (q->event_idx)
		STORE_ONCE(q->avail->ring[q->num], q->last_used);
	else
		STORE_ONCE(q->avail->flags, 0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
