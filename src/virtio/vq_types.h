/* SPDX-License-Identifier: MIT */
/*
 * The state of one virtqueue's device side, of either format, and of the
 * walks over its chains: what virtqueue.h's operations work on. Nothing
 * outside src/virtio changes these fields.
 */
#ifndef VNP_VQ_TYPES_H
#define VNP_VQ_TYPES_H

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio/guest_mem.h"

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
	VQ_ERR_NOT_AVAIL,        /* packed: a chain's descriptor not marked available */
};

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
	uint32_t len;   /* bytes written */
	uint16_t id;    /* its buffer, in use until published */
	uint16_t place; /* where its descriptor is: the slot, the wrap counter in bit 15 */
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
	int32_t frozen_left; /* a stopping ring: what may still be taken; -1: not frozen */

	/* split (virtio 1.2, 2.7) */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t mask;         /* num - 1: ring positions to slots */
	uint16_t last_avail;   /* next avail entry to take, committed */
	uint32_t taken_descs;  /* descriptors of the chains taken since vq_take_begin or
				* vq_commit, as far as walked (vq_all_taken) */
	uint16_t avail_seen;   /* avail->idx as last read */
	uint16_t used_idx;     /* used->idx as we last published it */
	uint16_t used_pending; /* elements committed after used_idx, not yet published */
	uint16_t used_tent;    /* elements written after those, not yet committed */
	uint16_t signalled_used;

	/* packed (virtio 1.2, 2.8) */
	struct vring_packed_desc *ring;
	struct vring_packed_desc_event *driver_event; /* we read: used buffer notifications */
	struct vring_packed_desc_event *device_event; /* we write: available buffer notifications */
	/* Four positions that agree whenever nothing is tentative: side by
	 * side, the fast path moves them all in one add (vq_run_done). */
	union {
		struct {
			uint16_t avail_slot;  /* next descriptor to take, committed */
			uint16_t take_slot;   /* next descriptor to take, tentatively */
			uint16_t used_slot;   /* where the next used element goes, tentatively */
			uint16_t commit_used_slot;
		};
		uint64_t slots4;
	};
	union {
		struct {
			bool avail_wrap;
			bool take_wrap;
			bool used_wrap;
			bool commit_used_wrap;
		};
		uint32_t wraps4;
	};
	/* Side by side too: the fast path counts a run's chains in both with
	 * one add (VQ_PENDING_CONSUMED_ONE times their number). npending comes first: it never exceeds
	 * num, so no carry reaches consumed, which wraps alone. */
	union {
		struct {
			uint16_t npending;  /* used elements committed, not published */
			uint16_t consumed;  /* chains taken and committed, ever (it wraps;
					     * vq_consumed) */
		};
		uint32_t pending_consumed;
	};
	uint16_t pub_slot;     /* where the last published element ended */
	bool pub_wrap;
	uint16_t ntent;        /* used elements given back tentatively (in pending) */
	struct vq_pending *pending; /* num of them */
	/* The first element committed since the last publication: the only
	 * one held back (the others go into the ring as they are committed;
	 * the driver reads nothing past a slot not yet used). */
	struct vq_pending first;
	bool has_first;
	/* Per buffer id, the publication it was given back in: an id is in
	 * use (given back, not yet published) while that is `generation`
	 * (unless ids_in_place). */
	uint32_t *id_gen;
	uint32_t generation;
	/* Whether every chain given back since the publication was one slot
	 * whose id names it: the ids in use are then those slots, from
	 * pub_slot to used_slot (slot_given), and an id naming the take
	 * position is not among them (they lie behind it, within a lap).
	 * While so, no entry of id_gen is `generation`; the first chain
	 * otherwise marks them all there (packed_ids_to_table) and ends it
	 * until the next publication. */
	bool ids_in_place;
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

/* A chain taken, no longer walked: the buffer to give back, and how many
 * ring descriptors it took. */
struct vq_done {
	uint16_t id;
	uint16_t slots;
};

/*
 * The fast path's view of one ring over a run of chains of one descriptor
 * each (vq_hot.h: vq_run_begin, vq_run_peek, vq_run_done): what stays put
 * during the run and where it stands, in the caller's locals. The ring's
 * own fields are kept up to date packet by packet; the run only spares
 * reading them back.
 */
struct vq_run {
	uint8_t *table;       /* split: the descriptor table; packed: the ring */
	uint16_t num;
	/* split */
	const uint8_t *avail_next;  /* the avail entry of the next chain */
	const uint8_t *avail_start; /* and of the run's first */
	uint8_t *used_next;         /* where its used element goes */
	uint16_t mask;
	uint16_t pos;               /* last_avail at the run's start */
	/* packed */
	struct vq *vq;        /* the ring (its ids looked up: packed_run_lookup) */
	uint8_t *cur;         /* the descriptor at the take position */
	uint64_t expect;      /* its id and flags (bits 16-31) when it is a chain of one
			       * descriptor in the right direction, its id naming its
			       * slot; bit 32 when ids are looked up (vq ids_in_place) */
	uint32_t countdown;   /* chains until packed_run_turn (1 while marking: the turn marks) */
	uint16_t from_slot;   /* the take position at the run's start (or last end) */
	bool from_wrap;
	bool marking;         /* ids are looked up, and marked (vq ids_in_place) */
};

/* A point among the tentative takes, to go back to (virtqueue.h). */
struct vq_mark {
	uint16_t taken;
	uint32_t descs;
	uint16_t slot;
	bool wrap;
};

#endif
