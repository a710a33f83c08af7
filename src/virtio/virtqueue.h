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

#include <stdbool.h>
#include <stdint.h>

#include "virtio/load_once.h"
#include "virtio/vq_hot.h"
#include "virtio/vq_types.h"

const char *vq_error_str(enum vq_error e);

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

/* Forget tentative takes and used elements: the next chain taken is the
 * first not committed. */
void vq_take_begin(struct vq *vq);

/* Whether a chain waits to be taken. A split ring reads avail->idx only
 * when what it read last is used up; a packed one looks at the next
 * descriptor's flags. Never inlined: within the fast path's loops
 * (link-time optimisation would put it there) its registers cost every
 * packet spills. */
__attribute__((noinline)) enum vq_error vq_avail_slow(struct vq *vq, bool *any);
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
 * (nothing is taken then). The driver may not post past what it got
 * back: a split avail index more than a ring ahead of the published used
 * index is VQ_ERR_AVAIL_IDX; a packed chain that would start on a slot
 * not yet given back (published) is not taken until then, and one that
 * runs on into such a slot fails its walk with VQ_ERR_LOOP. */
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

/* No more of the chain is walked; the next vq_take_more() looks past it.
 * A packed chain is walked to its end now (descriptors loaded once, their
 * buffers left alone) to learn its extent and buffer id. A packed buffer
 * id still in use (given back, tentatively or not, and not yet published)
 * fails the walk where it is read (VQ_ERR_ID_BUSY), before any of the
 * chain counts. */
enum vq_error vq_chain_end(struct vq_chain *c, struct vq_done *done);

/* Its used element, len bytes written, goes into the ring (visible once
 * committed and published). Elements are given back in the order the
 * chains were taken. VQ_ERR_ID_BUSY: a packed buffer id given back
 * already and not yet published. */
enum vq_error vq_used_done(struct vq *vq, const struct vq_done *done, uint32_t len);

/* Both, for a chain walked and used at once. */
enum vq_error vq_used(struct vq *vq, struct vq_chain *c, uint32_t len);

/* Whether every descriptor of the ring is taken (tentatively or not):
 * waiting for more cannot help. A split ring knows the descriptors of
 * the chains it walked (the avail entries of the rest). */
bool vq_all_taken(const struct vq *vq);

/* A point among the tentative takes (struct vq_mark) to go back to with
 * vq_rewind(): the chains taken after it are taken again by the next
 * vq_take. No used element may have been written after the mark. Both
 * inline (vq_hot.h). */

/* The chains taken and their used elements count now. */
void vq_commit(struct vq *vq);

/* Make the committed used elements visible, in one go. Tentative ones
 * stay tentative (their buffer ids in use), for a later commit. */
void vq_publish(struct vq *vq);

/* ---- the shape nearly every packet has ---------------------------------- */

/* Inline (vq_hot.h), each given the ring's format (vq->packed, or a
 * constant in code specialised for one format), for a ring with nothing
 * taken tentatively (right after vq_commit or vq_take_begin):
 * vq_peek_single(vq, packed, device_writes, &d, &id): whether the next
 * chain is one descriptor in the right direction, free to use (split:
 * without reading the driver's index again); its copy in d (not checked
 * beyond its flags: the caller translates it) and its buffer id. Nothing
 * is taken: anything else goes the general way.
 * vq_single_done(vq, packed, id, len): that chain taken, given back with
 * len bytes written, and committed, in one step. */

/* Four at once, inline too, within a run of a packed ring: vq_run_peek4
 * says whether the next four chains are each what vq_run_peek takes and
 * may be given back together (their ids and flags checked first, for all
 * four); vq_run_get4 loads one's descriptor, once; vq_run_done4 gives
 * all four back, or vq_run_done (with vq_run_tag4) the first few. */

/* vq_peek(vq, packed, ahead, &d), inline too: a hint only, the first
 * descriptor of the chain `ahead` chains after the next one, where a
 * chain is assumed to be one descriptor; false when not there. Not
 * checked: nothing but prefetching may use it.
 * vq_run_hint(vq, packed, ahead, &d): the same, a few loads fewer, for a
 * ring with nothing taken tentatively (within a run of the fast way). */

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

/* The ring stops: what is taken from it from now on is what it held now,
 * however fast the driver adds more (one ring's worth at most): a split
 * ring's avail index read once more, a packed ring's available slots
 * walked once. */
void vq_freeze(struct vq *vq);
/* A frozen ring that goes on running (a TX ring the client turned off,
 * once what it held is gone) takes what comes again. */
void vq_thaw(struct vq *vq);
static inline bool vq_frozen(const struct vq *vq) { return vq->frozen_left >= 0; }

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
