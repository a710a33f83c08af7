/* SPDX-License-Identifier: MIT */
/*
 * Inside the virtqueue module: a packed ring giving up its strict in-place
 * bookkeeping of buffer ids (vq ids_in_place). Apart from vq_packed.c so
 * that the inline ring operations (vq_hot.h) can call it without the
 * format's code depending on them both ways.
 */
#ifndef VNP_VQ_PACKED_IDS_H
#define VNP_VQ_PACKED_IDS_H

#include "virtio/vq_types.h"

/* Every id in use marked in id_gen: those of the slots from where the
 * last publication ended up to the used position. Never inlined: within
 * the fast path's loops (link-time optimisation would put it there) its
 * registers cost every packet spills. */
__attribute__((noinline)) void packed_ids_to_table(struct vq *vq);

#endif
