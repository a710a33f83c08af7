/* SPDX-License-Identifier: MIT */
/*
 * The device side of one virtqueue (virtio 1.2, 2.7 split and 2.8 packed)
 * over a client's memory. This module alone moves ring indices: it takes
 * chains, walks them (direct and indirect), gives them back used, makes
 * the used ones visible in batches, and handles notification suppression
 * for both formats. Its users never ask which format they drive.
 *
 * Taking is tentative: chains taken and used elements written since
 * vq_take_begin() count only once vq_commit() says so; vq_publish() then
 * makes what was committed visible to the driver, once per batch.
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

/* What a client did wrong; the port at fault is failed with this reason. */
enum vq_error {
	VQ_OK = 0,
	VQ_ERR_AVAIL_IDX,        /* avail index moved back, or by more than the ring size */
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
	VQ_ERR_ID,               /* packed: a buffer id beyond the ring */
	VQ_ERR_ID_BUSY,          /* packed: a buffer id still in use */
	VQ_ERR_INDIRECT_FLAGS,   /* packed: an unknown flag in an indirect table */
	VQ_ERR_EVENT,            /* packed: event suppression fields out of range */
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
 * 2.7.5.3.1 and 2.8.17: no chain longer than the queue size).
 */
#define VQ_PACKET_DESCS_MAX 1024u

/* Our own copy of a descriptor, of either format. */
struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags; /* VRING_DESC_F_*; packed: the AVAIL and USED bits too */
	uint16_t link;  /* split: next; packed: the buffer id */
};

/* Packed rings: a used element committed or written, not yet visible. */
struct vq_pending {
	uint16_t slot;  /* where its descriptor is */
	uint16_t flags; /* what its flags become: USED, AVAIL, maybe WRITE */
	uint16_t id;    /* its buffer, in use until published */
	uint32_t len;   /* bytes written */
};

struct vq {
	struct guest_mem *mem;
	uint16_t num;
	bool packed;
	bool event_idx;
	bool indirect;
	bool kicks_on;       /* whether the driver was last asked to kick */
	bool unsignalled;    /* published since the driver was last considered for a signal */
	bool signalled_valid;
	uint32_t epoch;      /* differs for every vq_init: a ring started again is another */
	uint16_t taken;      /* chains taken since vq_take_begin or vq_commit */
	uint32_t committed;  /* chains taken and committed, ever (it wraps) */
	int32_t frozen_left; /* a stopping ring: what may still be taken; -1: not frozen */

	/* split (virtio 1.2, 2.7) */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t mask;         /* num - 1: ring positions to slots */
	uint16_t last_avail;   /* next avail entry to take, committed */
	uint16_t avail_seen;   /* avail->idx as last read */
	uint16_t used_idx;     /* used->idx as we last published it */
	uint16_t used_pending; /* elements committed after used_idx, not yet published */
	uint16_t used_tent;    /* elements written after those, not yet committed */
	uint16_t signalled_used;

	/* packed (virtio 1.2, 2.8) */
	struct vring_packed_desc *ring;
	struct vring_packed_desc_event *driver_event; /* we read: used buffer notifications */
	struct vring_packed_desc_event *device_event; /* we write: available buffer notifications */
	uint16_t avail_slot;   /* next descriptor to take, committed */
	bool avail_wrap;
	uint16_t take_slot;    /* next descriptor to take, tentatively */
	bool take_wrap;
	uint16_t used_slot;    /* where the next used element goes, tentatively */
	bool used_wrap;
	uint16_t commit_used_slot;
	bool commit_used_wrap;
	uint16_t pub_slot;     /* where the last published element ended */
	bool pub_wrap;
	uint16_t npending;     /* used elements committed, not published */
	uint16_t ntent;        /* used elements written after those */
	struct vq_pending *pending; /* num of them */
	uint8_t *busy;         /* a bit per buffer id: used, not yet published */
	uint16_t signalled_slot;
	bool signalled_wrap;
	uint16_t empty_slot;   /* where the last look found nothing available */
	bool empty_wrap;
};

/* What a ring is made of, as the client set it up. */
struct vq_params {
	struct guest_mem *mem;
	uint16_t num;
	bool packed;
	bool event_idx;
	bool indirect;
	void *desc;        /* descriptor table (split) or ring (packed) */
	void *driver_area; /* avail ring (split) or driver event suppression (packed) */
	void *device_area; /* used ring (split) or device event suppression (packed) */
	uint32_t base;     /* where it starts: as SET_VRING_BASE gave it (vq_base_valid) */
};

/* The bytes and alignment each part of a ring needs. */
uint64_t vq_desc_area_bytes(bool packed, unsigned num);
uint64_t vq_driver_area_bytes(bool packed, unsigned num, bool event_idx);
uint64_t vq_device_area_bytes(bool packed, unsigned num, bool event_idx);
unsigned vq_driver_area_align(bool packed);
unsigned vq_device_area_align(bool packed);

/* Whether num is a ring size this format takes (split: a power of 2). */
bool vq_num_valid(bool packed, unsigned num);
/* Whether a SET_VRING_BASE value suits a ring of num entries: split, an
 * avail index; packed, bits 0-14 an index below num, bit 15 its wrap
 * counter, and the same for the used side in bits 16-31 (0 there: the
 * same as the avail side). */
bool vq_base_valid(bool packed, unsigned num, uint32_t base);

/* Prepare a queue. Returns 0, or -ENOMEM for the packed bookkeeping. */
int vq_init(struct vq *vq, const struct vq_params *p);
/* What vq_init took. The vq may be initialised again. */
void vq_fini(struct vq *vq);

/* Where the ring stands, for GET_VRING_BASE: as vq_base_valid reads it. */
uint32_t vq_base(const struct vq *vq);

/* The ring's parts are mapped elsewhere now (the client's memory table
 * changed), or its features changed: p's areas, event_idx and indirect
 * apply from now on; where the ring stands stays. p->packed and p->num
 * must be the ring's own. */
void vq_move(struct vq *vq, const struct vq_params *p);

/* ---- taking chains ------------------------------------------------------ */

/* A walk over one descriptor chain, yielding contiguous host pieces. */
struct vq_chain {
	struct vq *vq;
	const uint8_t *table; /* the ring's descriptors, or an indirect table (maybe unaligned) */
	uint32_t table_size;
	uint32_t hops;        /* descriptors loaded from the current table */
	uint32_t descs;       /* descriptors loaded for this packet, every table and chain */
	uint16_t next;        /* split: the next index; packed: the next slot or table entry */
	bool next_wrap;       /* packed ring: the wrap counter at slot next */
	bool has_next;
	bool in_indirect;
	bool device_writes;   /* RX chains: every buffer must be writable */
	bool head_loaded;     /* packed: head is the first descriptor, not yet walked */
	struct vq_desc head;
	uint16_t id;          /* the buffer: split, the head index; packed, the id once known */
	uint16_t slots;       /* packed: ring slots walked */
	uint8_t *ptr;         /* the current descriptor's bytes in this region */
	uint32_t chunk;
	uint64_t addr;        /* and where the rest of it continues, if anywhere */
	uint32_t left;
};

/* Forget tentative takes and used elements: the next chain taken is the
 * first not committed. */
void vq_take_begin(struct vq *vq);

/* Whether a chain waits to be taken. A split ring reads avail->idx only
 * when what it read last is used up; a packed one looks at the next
 * descriptor's flags. */
enum vq_error vq_avail_slow(struct vq *vq, bool *any);
static inline enum vq_error vq_avail(struct vq *vq, bool *any)
{
	if (!vq->packed && vq->frozen_left < 0) {
		uint16_t n = (uint16_t)(vq->avail_seen - vq->last_avail);

		if (n > vq->taken) {
			*any = true;
			return VQ_OK;
		}
	}
	return vq_avail_slow(vq, any);
}

/* Take the next chain and start c walking it; *got false when none waits
 * (nothing is taken then). */
enum vq_error vq_take(struct vq *vq, struct vq_chain *c, bool device_writes, bool *got);

/* The next chain of the same packet (a merged receive), its descriptors
 * counted against the same VQ_PACKET_DESCS_MAX. */
enum vq_error vq_take_more(struct vq *vq, struct vq_chain *c, bool *got);

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

/* A chain taken, no longer walked: the buffer to give back, and how many
 * ring descriptors it took. */
struct vq_done {
	uint16_t id;
	uint16_t slots;
};

/* No more of the chain is walked; the next vq_take_more() looks past it.
 * A packed chain is walked to its end now (descriptors loaded once, their
 * buffers left alone) to learn its extent and buffer id. */
enum vq_error vq_chain_end(struct vq_chain *c, struct vq_done *done);

/* Its used element, len bytes written, goes into the ring (visible once
 * committed and published). Elements are given back in the order the
 * chains were taken. VQ_ERR_ID_BUSY: a packed buffer id given back
 * already and not yet published. */
enum vq_error vq_used_done(struct vq *vq, const struct vq_done *done, uint32_t len);

/* Both, for a chain walked and used at once. */
enum vq_error vq_used(struct vq *vq, struct vq_chain *c, uint32_t len);

/* Whether every descriptor of the ring is taken (tentatively or not):
 * waiting for more cannot help. */
bool vq_all_taken(const struct vq *vq);

/* A point among the tentative takes, to go back to: the chains taken
 * after it are taken again by the next vq_take. No used element may have
 * been written after the mark. */
struct vq_mark {
	uint16_t taken;
	uint16_t slot;
	bool wrap;
};
void vq_mark(const struct vq *vq, struct vq_mark *m);
void vq_rewind(struct vq *vq, const struct vq_mark *m);

/* The chains taken and their used elements count now. */
void vq_commit(struct vq *vq);

/* Make the committed used elements visible, in one go. */
void vq_publish(struct vq *vq);

/* ---- the shape nearly every packet has ---------------------------------- */

/* A chain of one descriptor, taken whole: its copy in *d (not checked
 * beyond its flags: the caller translates it) and *id, and true; false
 * (nothing taken) when the next chain is of another shape, or none waits.
 * For the fast path; anything else goes the general way. */
bool vq_take_single(struct vq *vq, bool device_writes, struct vq_desc *d, uint16_t *id);
/* Its used element (len bytes written). */
void vq_used_single(struct vq *vq, uint16_t id, uint32_t len);

/* A hint only: the first descriptor of the chain `ahead` chains after the
 * next one, where a chain is assumed to be one descriptor; false when not
 * there. Not checked: nothing but prefetching may use it. */
bool vq_peek(const struct vq *vq, uint16_t ahead, struct vq_desc *d);

/* ---- notifications -------------------------------------------------------- */

/* Ask the driver for a kick when it adds buffers beyond those seen so far,
 * or ask it not to kick. Enabling ends with a full barrier: look at the
 * ring again afterwards (vq_avail). */
void vq_kicks_enable(struct vq *vq);
void vq_kicks_disable(struct vq *vq);
/* Write the wish unconditionally (a started ring's memory may hold anything). */
void vq_kicks_reset(struct vq *vq, bool on);

/* After a look found no chain to take (vq_avail, vq_take): whether the
 * driver has added any since. Asked after vq_kicks_enable(), it says
 * whether one came before the wish was seen. */
enum vq_error vq_avail_grew(struct vq *vq, bool *grew);

/* Whether the driver wants an interrupt for what was published since the
 * last time this was asked; VQ_ERR_EVENT when its wish makes no sense. */
enum vq_error vq_needs_signal(struct vq *vq, bool *signal);

/* ---- starting and stopping ------------------------------------------------------ */

/* The ring stops: what is taken from it from now on is at most what it
 * held now (one ring's worth at most), however fast the driver adds more. */
void vq_freeze(struct vq *vq);

/* A restarted ring whose driver lost track resumes where the ring says
 * the device stopped. Split: DPDK's virtio-user sends base 0 whatever its
 * ring holds; the used index says, as other vhost-user devices read it.
 * Packed: QEMU sends the base of its last start after its back end died;
 * the used and available slots say, when they say it unambiguously.
 * Returns whether it moved (old and new positions in *from, *to, as
 * vq_base reads them: packed, slot and wrap counter in bits 0-15). Call it
 * only on a ring just started. */
bool vq_resync(struct vq *vq, uint32_t *from, uint32_t *to);

#endif
