/* SPDX-License-Identifier: MIT */
/*
 * The device side of one split virtqueue (virtio 1.2, 2.7) over a client's
 * memory: avail-ring reads, descriptor-chain walks (direct and indirect),
 * used-ring writes published once per batch, and notification suppression.
 *
 * Everything here reads client memory exactly once per field into a local
 * and checks the local: the client may change its rings at any moment.
 */
#ifndef VNP_VIRTQUEUE_H
#define VNP_VIRTQUEUE_H

#include <endian.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio/guest_mem.h"

/* Loads from client memory go through these: one access, never repeated
 * by the compiler, so the value checked is the value used. */
#define LOAD_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define STORE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
#define COMPILER_BARRIER() __asm__ __volatile__("" ::: "memory")

/* What a client did wrong; the port at fault is failed with this reason. */
enum vq_error {
	VQ_OK = 0,
	VQ_ERR_AVAIL_IDX,        /* avail index moved by more than the ring size */
	VQ_ERR_HEAD,             /* head index outside the ring */
	VQ_ERR_NEXT,             /* next index outside the table */
	VQ_ERR_LOOP,             /* more descriptors than the table holds */
	VQ_ERR_ADDR,             /* buffer outside the client's memory */
	VQ_ERR_DIRECTION,        /* writable buffer in a TX chain, read-only in RX */
	VQ_ERR_INDIRECT_FEATURE, /* indirect descriptor without INDIRECT_DESC */
	VQ_ERR_INDIRECT_NESTED,  /* indirect descriptor inside an indirect table */
	VQ_ERR_INDIRECT_NEXT,    /* indirect descriptor with NEXT set */
	VQ_ERR_INDIRECT_LEN,     /* indirect table of a bad length */
	VQ_ERR_INDIRECT_ADDR,    /* indirect table outside one memory region */
	VQ_ERR_TOO_MANY,         /* more descriptors for one packet than VQ_PACKET_DESCS_MAX */
};

const char *vq_error_str(enum vq_error e);

/*
 * The most descriptors one packet may take on one side, zero-length ones
 * and indirect ones included, summed over every chain of a merged receive.
 * It bounds the work a client can make one packet cost: real drivers use
 * at most a few dozen (Linux: MAX_SKB_FRAGS + 2 per chain, one chain per
 * 1.5-4 KiB of a merged frame; DPDK: one per mbuf), and the kernel's own
 * vhost-net stops at 1024 (UIO_MAXIOV). A chain beyond it fails the port.
 * An indirect table may hold no more entries than the ring (virtio 1.2,
 * 2.7.5.3.1: no chain longer than the queue size).
 */
#define VQ_PACKET_DESCS_MAX 1024u

struct vq {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct guest_mem *mem;
	uint16_t num;        /* ring size, a power of 2 */
	uint16_t mask;       /* num - 1: ring positions to slots */
	uint16_t last_avail; /* next avail entry to take */
	uint16_t avail_seen; /* avail->idx as last read */
	uint16_t used_idx;   /* used->idx as we last published it */
	uint16_t used_pending; /* elements written after used_idx, not yet published */
	uint16_t signalled_used;
	bool signalled_valid;
	bool event_idx;
	bool indirect;
	bool avail_frozen;   /* a stopping ring: avail->idx is not read again */
	bool kicks_on;       /* whether the driver was last asked to kick */
	bool unsignalled;    /* published since the driver was last considered for a signal */
};

/* Bytes each ring part occupies for a ring of num entries. */
uint64_t vq_desc_bytes(unsigned num);
uint64_t vq_avail_bytes(unsigned num, bool event_idx);
uint64_t vq_used_bytes(unsigned num, bool event_idx);

/* Prepare a queue over already translated rings. used_idx and last_avail
 * start at base (the frontend's SET_VRING_BASE). */
void vq_init(struct vq *vq, struct guest_mem *mem, struct vring_desc *desc,
	     struct vring_avail *avail, struct vring_used *used, uint16_t num, uint16_t base,
	     bool event_idx, bool indirect);

/* Re-read avail->idx now (after re-enabling notifications). */
enum vq_error vq_avail_refresh(struct vq *vq, uint16_t *count);

/* The ring stops: read avail->idx one last time and never again, so what
 * is taken from it from now on is at most what was there (one ring's
 * worth), however fast the driver adds more. */
enum vq_error vq_avail_freeze(struct vq *vq);

/* How many avail entries wait. Re-reads avail->idx only when the last read
 * value is used up. */
static inline enum vq_error vq_avail_count(struct vq *vq, uint16_t *count)
{
	uint16_t n = (uint16_t)(vq->avail_seen - vq->last_avail);

	if (n) {
		*count = n;
		return VQ_OK;
	}
	return vq_avail_refresh(vq, count);
}

/* The head at avail position last_avail + ahead (ahead < count). */
static inline enum vq_error vq_avail_head(struct vq *vq, uint16_t ahead, uint16_t *head)
{
	uint16_t slot = (uint16_t)(vq->last_avail + ahead) & vq->mask;
	uint16_t h = LOAD_ONCE(vq->avail->ring[slot]);

	if (h >= vq->num)
		return VQ_ERR_HEAD;
	*head = h;
	return VQ_OK;
}

/* v's value stays the one already loaded: the compiler may not load it
 * again from where it came from. Unlike COMPILER_BARRIER, it leaves every
 * other value it holds in registers alone. */
#define KEEP_LOADED(v) __asm__("" : "+r"(v))

/* Little-endian fields of client memory, each loaded once. */
static inline uint64_t load_le64_once(const void *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, sizeof v);
	KEEP_LOADED(v);
	return le64toh(v);
}

static inline uint16_t load_le16_once(const void *p)
{
	uint16_t v;

	__builtin_memcpy(&v, p, sizeof v);
	KEEP_LOADED(v);
	return le16toh(v);
}

/* Our own copy of descriptor i of a table, loaded once. */
static inline void vq_desc_load(const void *table, uint32_t i, struct vring_desc *d)
{
	const uint8_t *p = (const uint8_t *)table + (size_t)i * sizeof *d;
	uint64_t addr = load_le64_once(p);
	uint64_t rest = load_le64_once(p + sizeof addr); /* len, flags, next */

	d->addr = addr;
	d->len = (uint32_t)rest;
	d->flags = (uint16_t)(rest >> 32);
	d->next = (uint16_t)(rest >> 48);
}

/* A walk over one descriptor chain, yielding contiguous host pieces. */
struct vq_chain {
	struct vq *vq;
	const uint8_t *table; /* the ring's or an indirect table (maybe unaligned) */
	uint32_t table_size;
	uint32_t hops;     /* descriptors loaded from the current table */
	uint32_t descs;    /* descriptors loaded for this packet, every table and chain */
	uint16_t next;
	bool has_next;
	bool in_indirect;
	bool device_writes; /* RX chains: every buffer must be writable */
	uint8_t *ptr;       /* the current descriptor's bytes in this region */
	uint32_t chunk;
	uint64_t addr;      /* and where the rest of it continues, if anywhere */
	uint32_t left;
};

void vq_chain_begin(struct vq *vq, struct vq_chain *c, uint16_t head, bool device_writes);
/* The next chain of the same packet (a merged receive): its descriptors
 * count against the same VQ_PACKET_DESCS_MAX. */
void vq_chain_continue(struct vq_chain *c, uint16_t head);
/* Load the next descriptor with bytes (for vq_chain_next). */
enum vq_error vq_chain_advance(struct vq_chain *c);

/* The next piece: *len > 0 bytes at *ptr (at most max, which must be > 0),
 * or *len == 0 at the end of the chain. */
static inline enum vq_error vq_chain_next(struct vq_chain *c, uint64_t max, uint8_t **ptr,
					  uint32_t *len)
{
	uint32_t n;

	if (__builtin_expect(c->chunk == 0, 0)) {
		enum vq_error e = vq_chain_advance(c);

		if (e != VQ_OK || c->chunk == 0) {
			*len = 0;
			return e;
		}
	}
	n = max < c->chunk ? (uint32_t)max : c->chunk;
	*ptr = c->ptr;
	*len = n;
	c->ptr += n;
	c->chunk -= n;
	return VQ_OK;
}

/* Write a used element ahead places after the committed ones. It counts
 * only once committed, and is visible only once published. */
static inline void vq_used_put(struct vq *vq, uint16_t ahead, uint16_t head, uint32_t len)
{
	uint16_t slot = (uint16_t)(vq->used_idx + vq->used_pending + ahead) & vq->mask;
	struct vring_used_elem *e = &vq->used->ring[slot];

	STORE_ONCE(e->id, head);
	STORE_ONCE(e->len, len);
}
/* Commit count written elements: a whole packet's worth at once. */
static inline void vq_used_commit(struct vq *vq, uint16_t count)
{
	vq->used_pending = (uint16_t)(vq->used_pending + count);
}
/* Make the committed elements visible with one used->idx store. */
void vq_used_publish(struct vq *vq);

/* Ask the driver for a kick when it adds buffers beyond those seen so far,
 * or ask it not to kick. Enabling ends with a full barrier: re-read the
 * avail index afterwards. */
void vq_kicks_enable(struct vq *vq);
void vq_kicks_disable(struct vq *vq);
/* Write the wish unconditionally (a started ring's memory may hold anything). */
void vq_kicks_reset(struct vq *vq, bool on);

/* Whether the driver wants an interrupt for what was published since the
 * last time this was asked. */
bool vq_needs_signal(struct vq *vq);

#endif
