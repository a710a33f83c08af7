/* SPDX-License-Identifier: MIT */
/* The driver-side library's insides, shared by its files (not installed). */
#ifndef VND_INTERNAL_H
#define VND_INTERNAL_H

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vnet-p2p/driver.h>

/* Rings and headers are written in host order, which is what virtio 1.x
 * (little-endian) and legacy (guest-native) expect only on such hosts. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian hosts only");

/* Ring 2p is pair p's RX ring, 2p+1 its TX ring (virtio 1.2, 5.1.2). */
#define VND_RX 0
#define VND_TX 1
#define VND_PAIRS_MAX 16u
#define VND_RINGS_MAX (2 * VND_PAIRS_MAX)
static inline unsigned vnd_rx_ring(unsigned pair) { return 2 * pair + VND_RX; }
static inline unsigned vnd_tx_ring(unsigned pair) { return 2 * pair + VND_TX; }
#define VND_QUEUE_MAX 32768u
#define VND_MAX_REGIONS 128u
/* Guest-physical addresses start here: never equal to our virtual ones. */
#define VND_GPA_BASE 0x40000000ull
#define VND_FRAME_MAX 65597u /* the server's largest frame: 14 + 8 + 40 + 65535 */
#define VND_HDR_MAX 12u
#define VND_SCRATCH_SIZE (1u << 20)
#define VND_REPLY_TIMEOUT_MS 5000
#define VND_PAGE 4096ull

static inline uint64_t vnd_page_up(uint64_t v) { return (v + VND_PAGE - 1) & ~(VND_PAGE - 1); }

/* --- where everything lies in shared memory (vnd_layout.c) --- */

struct vnd_layout {
	uint64_t ring_span;   /* bytes per ring: descriptors, avail ring, used ring */
	uint64_t avail;       /* offsets within a span */
	uint64_t used;
	uint64_t rx;          /* pair 0: the buffer of RX descriptor i is at rx + i * rx_buf */
	uint64_t rx_buf;
	uint64_t tx;          /* the slot of TX head i is at tx + i * tx_stride */
	uint64_t tx_stride;
	uint64_t tx_table;    /* an indirect table's offset within its slot */
	unsigned tx_table_max; /* entries it has room for */
	uint64_t pair_stride; /* pair p's buffers and slots lie p * pair_stride after pair 0's */
	uint64_t scratch;
	uint64_t size;
	unsigned regions;
	uint64_t region_start[VND_MAX_REGIONS];
};

/* rx_chain 1 means one descriptor per RX buffer (header inside);
 * more means a header descriptor followed by data descriptors. */
void vnd_layout_plan(struct vnd_layout *l, unsigned num, uint32_t rx_buf, unsigned rx_chain,
		     unsigned tx_table_max, unsigned regions, unsigned pairs);

/* --- shared memory (vnd_memory.c) --- */

struct vnd_region {
	int fd;
	uint64_t offset;      /* within the whole memory */
	uint64_t size;
	uint64_t file_offset; /* within fd */
};

struct vnd_memory {
	uint8_t *base;
	uint64_t size;
	unsigned count;
	struct vnd_region region[VND_MAX_REGIONS];
	int file_fd; /* mem_path, or -1 */
};

/* Map size bytes as count regions starting at the given offsets (the
 * first is 0), from memfds or slices of the file at path. */
int vnd_memory_map(struct vnd_memory *m, uint64_t size, const uint64_t *starts, unsigned count,
		   const char *path, char *err, size_t errlen);
void vnd_memory_unmap(struct vnd_memory *m);

static inline uint64_t vnd_gpa(const struct vnd_memory *m, const void *p)
{
	return VND_GPA_BASE + (uint64_t)((const uint8_t *)p - m->base);
}

/* --- split rings, driver side (vnd_ring.c) --- */

enum vnd_desc_state { DESC_FREE, DESC_IN_CHAIN, DESC_RAW };

/*
 * What the device may rewrite at will (the shared ring) is never read back
 * for our own bookkeeping: chain links, chain lengths and the published
 * avail index live here, private.
 */
struct vnd_queue {
	unsigned num;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;  /* entries put into the avail ring */
	uint16_t published;  /* avail->idx as we last wrote it */
	uint16_t last_used;  /* next used entry we read */
	uint16_t free_head;
	unsigned num_free;
	uint16_t *next;      /* links of chains and of the free list */
	uint16_t *chain_len; /* descriptors of a head in flight, else 0 */
	uint8_t *state;      /* enum vnd_desc_state */
	int kick_fd;         /* -1: the device polls */
	bool event_idx;
	bool irq_off;        /* we asked the device not to signal this queue */
};

int vnd_queue_alloc_state(struct vnd_queue *q, unsigned num);
void vnd_queue_free_state(struct vnd_queue *q);
/* Clear the shared ring and free every descriptor except reserved ones. */
void vnd_queue_reset(struct vnd_queue *q);
/* Give reserved descriptors back (a ring reset ends reservations). */
void vnd_queue_forget_raw(struct vnd_queue *q);
/* Take n descriptors, linked in order; returns the head or -1. */
int vnd_queue_alloc(struct vnd_queue *q, unsigned n);
void vnd_queue_free_chain(struct vnd_queue *q, uint16_t head);
/* Whether id is the head of a chain the device holds. */
bool vnd_queue_in_flight(const struct vnd_queue *q, uint32_t id);
/* Write descriptor i; NEXT links it to the following one of its chain. */
void vnd_queue_set_desc(struct vnd_queue *q, uint16_t i, uint64_t addr, uint32_t len,
			uint16_t flags);
/* Put a head into the avail ring; vnd_queue_flush publishes and notifies. */
void vnd_queue_put(struct vnd_queue *q, uint16_t head);
void vnd_queue_flush(struct vnd_queue *q);
/* Entries the device added to the used ring since we last read it. */
uint16_t vnd_queue_used_pending(const struct vnd_queue *q);
struct vring_used_elem vnd_queue_used_elem(const struct vnd_queue *q, uint16_t ahead);
/* Ask for a signal when the device uses the next entry, or for none. */
void vnd_queue_enable_irq(struct vnd_queue *q);
void vnd_queue_disable_irq(struct vnd_queue *q);
/* Reserve count free descriptors for a test's own chains. */
int vnd_queue_take(struct vnd_queue *q, unsigned count, uint16_t *ids);

/* --- packed rings, driver side (vnd_pring.c) --- */

enum vnd_id_state { ID_FREE, ID_IN_FLIGHT, ID_RAW };

/* Used elements as the device wrote them, one buffer at a time: with
 * IN_ORDER one element may stand for a batch of buffers. */
struct vnd_pcursor {
	uint16_t slot;       /* the next used element */
	bool wrap;
	uint16_t skip_slot;  /* in a batch: the next chain the element covers */
	bool skip_wrap;
	bool in_batch;
	uint16_t batch_id;   /* the batch's last buffer, which the element names */
	uint32_t batch_len;
	uint32_t ahead;      /* slots walked since the cursor was taken */
	uint32_t limit;      /* slots the device held then */
};

/*
 * As with split rings, nothing the device may rewrite is read back for our
 * own bookkeeping: positions, wrap counters, which ids are in flight and
 * how many slots each chain took live here.
 */
struct vnd_pqueue {
	unsigned num;        /* ring slots */
	unsigned nids;       /* buffer ids in use for this queue (<= num) */
	struct vring_packed_desc *ring;
	struct vring_packed_desc_event *driver_event; /* ours: used buffer notifications */
	struct vring_packed_desc_event *device_event; /* the device's: kicks */
	uint16_t avail_slot; /* where the next descriptor goes */
	bool avail_wrap;     /* the driver ring wrap counter */
	struct vnd_pcursor used; /* the next used element, or the batch being read */
	unsigned free_slots;
	uint16_t added;      /* slots made available since the last kick decision */
	bool batch_open;     /* the batch's first descriptor waits for its flags */
	uint16_t batch_slot;
	uint16_t batch_flags;
	uint16_t *free_ids;  /* a FIFO of free ids */
	unsigned id_first, id_count;
	uint16_t *slots;     /* per id: ring slots its chain took */
	uint8_t *id_state;   /* per id: enum vnd_id_state */
	uint16_t *head_id;   /* per slot: the id of the chain that began there */
	uint16_t event_flags; /* what we last wrote into driver_event->flags */
	int kick_fd;
	bool event_idx;
	bool in_order;
};

int vnd_pq_alloc_state(struct vnd_pqueue *q, unsigned num);
void vnd_pq_free_state(struct vnd_pqueue *q);
/* An empty ring at slot 0, wrap counter 1, with nids ids; notifications on. */
void vnd_pq_reset(struct vnd_pqueue *q, unsigned nids);
/* Whether a chain of n slots fits now (slots and an id). */
static inline bool vnd_pq_room(const struct vnd_pqueue *q, unsigned n)
{
	return q->free_slots >= n && q->id_count;
}
/* A free id for a chain of n slots (vnd_pq_room said yes); its first slot
 * is the next one. */
uint16_t vnd_pq_begin(struct vnd_pqueue *q, unsigned n);
/* The next descriptor of the current chain: WRITE, NEXT or INDIRECT in
 * flags; the AVAIL and USED bits are added here. */
void vnd_pq_put(struct vnd_pqueue *q, uint64_t addr, uint32_t len, uint16_t id, uint16_t flags);
/* Make the batch available and notify the device if it asks for it. */
void vnd_pq_flush(struct vnd_pqueue *q);
/* Whether the device has marked the next used element. */
bool vnd_pq_has_used(const struct vnd_pqueue *q);
void vnd_pq_cursor(const struct vnd_pqueue *q, struct vnd_pcursor *c);
/* The next buffer the device used: 1 with its id and the bytes written
 * (*whole: a buffer an in-order batch skipped, written whole), 0 when the
 * device has not marked it yet, -1 when the element names no buffer in
 * flight (*id says which). */
int vnd_pq_next_used(const struct vnd_pqueue *q, struct vnd_pcursor *c, uint16_t *id,
		     uint32_t *len, bool *whole);
/* The buffer id is back with us: its slots are free again. */
void vnd_pq_free_id(struct vnd_pqueue *q, uint16_t id);
/* Everything before c was taken. */
void vnd_pq_consume(struct vnd_pqueue *q, const struct vnd_pcursor *c);
void vnd_pq_enable_irq(struct vnd_pqueue *q);
void vnd_pq_disable_irq(struct vnd_pqueue *q);
/* Where the ring stands, as SET/GET_VRING_BASE write it: the avail side
 * in bits 0-15, the used side in bits 16-31 (index, wrap counter in bit 15). */
uint32_t vnd_pq_base(const struct vnd_pqueue *q);
/* Reserve n slots and an id for a test's own chain. */
int vnd_pq_take_raw(struct vnd_pqueue *q, unsigned n, uint16_t *slot, bool *wrap, uint16_t *id);

/* --- the vhost-user frontend (vnd_frontend.c) --- */

struct vnd;
const char *vnd_request_name(uint32_t request);
/* A request as the library makes it: an exact reply size for requests
 * with replies of their own, an acknowledgement for the others once
 * REPLY_ACK is negotiated. */
int vnd_request(struct vnd *d, uint32_t request, const void *payload, uint32_t size,
		const int *fds, int nfds, void *reply, uint32_t reply_size);
/* Anything, as given; with reply != NULL waits for a reply and returns its
 * payload size. */
int vnd_request_raw(struct vnd *d, uint32_t request, uint32_t flags, const void *payload,
		    uint32_t size, const int *fds, int nfds, void *reply, uint32_t reply_cap);

/* --- the device --- */

struct vnd {
	int sock;
	struct vnd_config cfg;
	uint64_t device_features;
	uint64_t features;
	uint64_t protocol_features;
	uint64_t max_mem_slots;
	unsigned hdr_len;
	bool has_mac;
	uint8_t mac[6];
	bool failed;
	bool stopped;

	struct vnd_layout layout;
	struct vnd_memory mem;
	bool packed;        /* VIRTIO_F_RING_PACKED negotiated: pq, not q */
	unsigned pairs;     /* queue pairs set up (cfg.queues) */
	unsigned rings;     /* 2 * pairs */
	struct vnd_queue q[VND_RINGS_MAX];
	struct vnd_pqueue pq[VND_RINGS_MAX];
	bool pair_on[VND_PAIRS_MAX];             /* enabled (SET_VRING_ENABLE 1) */
	unsigned pair_in_flight[VND_PAIRS_MAX];  /* TX frames per pair */
	uint8_t *rx_area;
	uint32_t rx_buf;    /* bytes per RX descriptor */
	unsigned rx_chain;  /* descriptors per RX chain */
	/* Packed rings: the pieces of RX buffer id i, at rx_area + i * rx_stride. */
	struct vnd_rx_piece *rx_piece;
	unsigned rx_pieces;
	uint64_t rx_stride;
	uint64_t rx_capacity; /* bytes a chain holds */
	unsigned rx_hdr_pieces; /* the header over this many pieces (a test's layout); 0: 1 */
	uint8_t *tx_area;
	unsigned tx_in_flight; /* frames, all pairs */
	uint8_t *scratch;

	int call_fd;                /* shared by all rings; -1 with call_nofd */
	int err_fd[VND_RINGS_MAX];
	char err[256];
};

/* A piece of an RX chain of a packed ring: one descriptor. */
struct vnd_rx_piece {
	uint32_t off; /* within the buffer id's memory */
	uint32_t len;
};

void vnd_set_error(struct vnd *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline bool vnd_has(const struct vnd *d, unsigned bit) { return d->features & (1ull << bit); }
/* Pair p's RX buffers and TX slots. */
static inline uint8_t *vnd_rx_area(const struct vnd *d, unsigned pair)
{
	return d->rx_area + pair * d->layout.pair_stride;
}
static inline uint8_t *vnd_tx_area(const struct vnd *d, unsigned pair)
{
	return d->tx_area + pair * d->layout.pair_stride;
}
/* The current versions of the three functions that take a struct
 * vnd_config, by their own names: the installed library exports them
 * versioned (vnd_compat.c), static links by their plain names
 * (vnd_plain.c). */
void vnd_config_init_v1(struct vnd_config *cfg);
int vnd_open_fd_v1(struct vnd **out, int fd, const struct vnd_config *cfg);
int vnd_open_path_v1(struct vnd **out, const char *path, const struct vnd_config *cfg);

/* Whether q names a pair that was set up; sets the error otherwise. */
static inline bool vnd_pair_valid(struct vnd *d, unsigned q)
{
	if (q < d->pairs)
		return true;
	vnd_set_error(d, "queue pair %u: only %u %s set up", q, d->pairs,
		      d->pairs == 1 ? "was" : "were");
	return false;
}

/* Ring q told to the device, starting at base (SET_VRING_NUM through
 * SET_VRING_ENABLE); our side of it stays as it is. */
int vnd_set_up_ring(struct vnd *d, unsigned q, uint32_t base);
/* GET_VRING_BASE for ring q: the device stops it and says where. */
int vnd_get_ring_base(struct vnd *d, unsigned q, uint32_t *base);

/* RX (vnd_rx.c): post buffers into every free descriptor of every pair. */
void vnd_rx_fill(struct vnd *d);
/* Whether an enabled pair's RX ring has a used entry for us. */
bool vnd_rx_waiting(const struct vnd *d);
/* Packed rings: cut RX chains into pieces (rx_chain and rx_hdr_pieces)
 * and say how many ids the RX ring has. */
int vnd_rx_plan_pieces(struct vnd *d);
/* TX (vnd_tx.c): reclaim what the device finished on every pair; returns
 * how many or -EIO. */
int vnd_tx_collect(struct vnd *d);
/* Whether a pair's TX ring has a used entry not yet collected. */
bool vnd_tx_has_used(const struct vnd *d);
unsigned vnd_tx_in_flight(const struct vnd *d);
/* Descriptors an indirect table may need, for the memory layout. */
unsigned vnd_tx_table_max(unsigned num, unsigned piece);

#endif
