/* SPDX-License-Identifier: MIT */
/*
 * Inside the virtqueue module (virtio/): each ring format's side of the
 * operations virtqueue.h offers, and the descriptor loads both formats
 * share. virtqueue.c picks the format; nothing outside src/virtio
 * includes this.
 */
#ifndef VNP_VQ_FORMAT_H
#define VNP_VQ_FORMAT_H

#include "virtio/vq_hot.h"

/* The descriptor the walk needs next is checked and translated here, in
 * one place for both formats (vq_chain.c); the rest of a buffer that
 * continues in another region, the same way. */
enum vq_error chain_use_desc(struct vq_chain *c, const struct vq_desc *d);
enum vq_error chain_next_chunk(struct vq_chain *c);

/* split (vq_split.c) */
void split_init(struct vq *vq, const struct vq_params *p);
uint32_t split_base(const struct vq *vq);
enum vq_error split_avail(struct vq *vq, bool *any);
enum vq_error split_take(struct vq *vq, struct vq_chain *c, bool *got);
enum vq_error split_advance(struct vq_chain *c);
void split_take_begin(struct vq *vq);
void split_publish(struct vq *vq);
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
void packed_take_begin(struct vq *vq);
void packed_commit(struct vq *vq);
void packed_publish(struct vq *vq);
void packed_kicks(struct vq *vq, bool on);
enum vq_error packed_needs_signal(struct vq *vq, bool *signal);
enum vq_error packed_avail_grew(struct vq *vq, bool *grew);
void packed_freeze(struct vq *vq);
bool packed_resync(struct vq *vq, uint32_t *from, uint32_t *to);

#endif
