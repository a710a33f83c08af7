/* SPDX-License-Identifier: MIT */
/*
 * Inside the virtqueue module (virtio/): each ring format's side of the
 * operations virtqueue.h offers, and the once-only loads both formats'
 * descriptors share. virtqueue.c picks the format; nothing else includes
 * this.
 */
#ifndef VNP_VQ_FORMAT_H
#define VNP_VQ_FORMAT_H

#include "virtio/virtqueue.h"

/* Descriptor i of a table, loaded once: 16 bytes, in two loads. Split and
 * packed descriptors differ only in what the last four bytes mean. */
static inline void desc_load(const void *table, uint32_t i, bool packed, struct vq_desc *d)
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
static inline bool packed_avail(uint16_t flags, bool wrap)
{
	bool avail = flags & (1u << VRING_PACKED_DESC_F_AVAIL);
	bool used = flags & (1u << VRING_PACKED_DESC_F_USED);

	return avail == wrap && used != wrap;
}

/* The descriptor the walk needs next is checked and translated here, in
 * one place for both formats (virtqueue.c). */
enum vq_error chain_use_desc(struct vq_chain *c, const struct vq_desc *d);

/* split (vq_split.c) */
void split_init(struct vq *vq, const struct vq_params *p);
uint32_t split_base(const struct vq *vq);
enum vq_error split_avail(struct vq *vq, bool *any);
enum vq_error split_take(struct vq *vq, struct vq_chain *c, bool *got);
enum vq_error split_advance(struct vq_chain *c);
void split_used(struct vq *vq, uint16_t id, uint32_t len);
void split_take_begin(struct vq *vq);
void split_commit(struct vq *vq);
void split_publish(struct vq *vq);
bool split_take_single(struct vq *vq, bool device_writes, struct vq_desc *d, uint16_t *id);
bool split_peek(const struct vq *vq, uint16_t ahead, struct vq_desc *d);
void split_kicks(struct vq *vq, bool on);
enum vq_error split_needs_signal(struct vq *vq, bool *signal);
enum vq_error split_avail_grew(struct vq *vq, bool *grew);
void split_freeze(struct vq *vq);

/* packed (vq_packed.c) */
int packed_init(struct vq *vq, const struct vq_params *p);
void packed_fini(struct vq *vq);
uint32_t packed_base(const struct vq *vq);
enum vq_error packed_avail_check(struct vq *vq, bool *any);
enum vq_error packed_take(struct vq *vq, struct vq_chain *c, bool *got);
enum vq_error packed_advance(struct vq_chain *c);
enum vq_error packed_chain_end(struct vq_chain *c);
bool packed_busy(const struct vq *vq, uint16_t id);
void packed_used(struct vq *vq, uint16_t id, uint16_t slots, uint32_t len);
void packed_take_begin(struct vq *vq);
void packed_commit(struct vq *vq);
void packed_publish(struct vq *vq);
bool packed_take_single(struct vq *vq, bool device_writes, struct vq_desc *d, uint16_t *id);
bool packed_peek(const struct vq *vq, uint16_t ahead, struct vq_desc *d);
void packed_kicks(struct vq *vq, bool on);
enum vq_error packed_needs_signal(struct vq *vq, bool *signal);
enum vq_error packed_avail_grew(struct vq *vq, bool *grew);
void packed_freeze(struct vq *vq);
bool packed_resync(struct vq *vq, uint32_t *from, uint32_t *to);

#endif
