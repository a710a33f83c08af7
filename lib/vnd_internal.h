/* SPDX-License-Identifier: MIT */
/* The driver-side library's insides, shared by its files (not installed). */
#ifndef VND_INTERNAL_H
#define VND_INTERNAL_H

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vnet-p2p/driver.h>

#define VND_RX 0
#define VND_TX 1
#define VND_QUEUES 2
#define VND_MAX_REGIONS 80
/* Guest-physical addresses start here: never equal to our virtual ones. */
#define VND_GPA_BASE 0x40000000ull
#define VND_FRAME_MAX 65562u
#define VND_SCRATCH_SIZE (1u << 20)
#define VND_REPLY_TIMEOUT_MS 5000

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

int vnd_memory_create(struct vnd_memory *m, uint64_t size, unsigned regions, uint64_t first_min,
		      const char *path, char *err, size_t errlen);
void vnd_memory_destroy(struct vnd_memory *m);

static inline uint64_t vnd_gpa(const struct vnd_memory *m, const void *p)
{
	return VND_GPA_BASE + (uint64_t)((const uint8_t *)p - m->base);
}

/* --- split rings, driver side (vnd_ring.c) --- */

enum vnd_desc_owner { DESC_FREE, DESC_LIB, DESC_RAW };

struct vnd_queue {
	unsigned num;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;  /* next avail entry we publish */
	uint16_t last_used;  /* next used entry we read */
	uint16_t free_head;
	unsigned num_free;
	uint8_t *owner;      /* enum vnd_desc_owner per descriptor */
	uint16_t *chain_len; /* descriptors per posted head */
	uint32_t *tx_slot;   /* TX: the buffer slot of a posted head */
	int kick_fd;
	bool event_idx;
};

void vnd_queue_reset(struct vnd_queue *q);
/* Take n chained descriptors off the free list; returns the head or -1. */
int vnd_queue_alloc(struct vnd_queue *q, unsigned n);
void vnd_queue_free_chain(struct vnd_queue *q, uint16_t head);
/* Make head available and notify the device if it wants that. */
void vnd_queue_publish(struct vnd_queue *q, uint16_t head);
/* Publish several heads put in with vnd_queue_put; then kick as needed. */
void vnd_queue_put(struct vnd_queue *q, uint16_t head);
void vnd_queue_flush(struct vnd_queue *q);
/* Entries waiting in the used ring. */
uint16_t vnd_queue_used_pending(struct vnd_queue *q);
/* Ask for an interrupt when the device uses the next buffer. */
void vnd_queue_want_interrupt(struct vnd_queue *q);

/* --- the vhost-user frontend (vnd_frontend.c) --- */

struct vnd;
int vnd_request(struct vnd *d, uint32_t request, const void *payload, uint32_t size,
		const int *fds, int nfds, void *reply, uint32_t reply_size);
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

	struct vnd_memory mem;
	struct vnd_queue q[VND_QUEUES];
	uint8_t *rx_area;
	uint32_t rx_buf;      /* bytes per RX descriptor */
	unsigned rx_chain;    /* descriptors per RX chain (1 with MRG_RXBUF) */
	uint8_t *tx_area;
	uint32_t tx_slot_size;
	unsigned tx_slots;
	uint32_t *tx_free_slots;
	unsigned tx_free_count;
	uint8_t *scratch;
	uint64_t ring_bytes;

	int call_fd;
	int err_fd;
	char err[256];
};

void vnd_set_error(struct vnd *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
