/* SPDX-License-Identifier: MIT */
#include "virtio/vq_packed_ids.h"

void packed_ids_to_table(struct vq *vq)
{
	uint16_t s = vq->pub_slot;
	bool w = vq->pub_wrap;

	/* From the publication to the used position: a lap at most. */
	while (s != vq->used_slot || w != vq->used_wrap) {
		vq->id_gen[s] = vq->generation;
		if (++s == vq->num) {
			s = 0;
			w = !w;
		}
	}
	vq->ids_in_place = false;
}
