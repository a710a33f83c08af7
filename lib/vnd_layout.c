/* SPDX-License-Identifier: MIT */
/*
 * Where rings, buffers and scratch space lie in the shared memory, and
 * where the memory is cut into regions.
 *
 *   [RX ring][TX ring]... RX buffers | TX slots | ... | scratch
 *
 * Every pair's two rings come first, then each pair's RX buffers and TX
 * slots (pair p's pair_stride bytes after pair p-1's, a whole number of
 * pages, so every pair's buffers lie alike). All rings lie in region 0. The buffers the driver uses first (RX chain
 * 0's first data buffer, TX slot 0) begin CUT_DEPTH bytes before a page
 * boundary, and the first region borders are put exactly there: with two
 * regions the first received frame straddles a border, with three the TX
 * frames do too (slot 0 is the one a lightly loaded sender reuses). Any
 * further borders are spread evenly, landing wherever they land.
 */
#include <string.h>

#include "vnd_internal.h"

/* Past the 12-byte header and into the frame, so short frames straddle too. */
#define CUT_DEPTH 32u

/* The first offset at or after from that lies CUT_DEPTH bytes before a page boundary. */
static uint64_t before_page(uint64_t from) { return vnd_page_up(from + CUT_DEPTH) - CUT_DEPTH; }

static void sort_offsets(uint64_t *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		uint64_t x = v[i];
		unsigned j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static void place_borders(struct vnd_layout *l, uint64_t low, uint64_t rx_cut, uint64_t tx_cut,
			  unsigned regions)
{
	unsigned n = 0, spread;

	l->regions = regions;
	l->region_start[n++] = 0;
	if (regions > 1)
		l->region_start[n++] = rx_cut;
	if (regions > 2)
		l->region_start[n++] = tx_cut;
	spread = regions - n;
	for (unsigned k = 1; k <= spread; k++)
		l->region_start[n++] = low + ((l->size - low) * k / (spread + 1) & ~(VND_PAGE - 1));
	sort_offsets(l->region_start + 1, regions - 1);
	/* Borders that coincide move up a page: every region is non-empty. */
	for (unsigned i = 2; i < regions; i++)
		if (l->region_start[i] <= l->region_start[i - 1])
			l->region_start[i] = l->region_start[i - 1] + VND_PAGE;
}

void vnd_layout_plan(struct vnd_layout *l, unsigned num, uint32_t rx_buf, unsigned rx_chain,
		     unsigned tx_table_max, unsigned regions, unsigned pairs)
{
	/* Chain 0's first data buffer: descriptor 1's with a header descriptor. */
	uint64_t first_data = rx_chain > 1 ? rx_buf : 0;
	uint64_t rings, rx_data;

	memset(l, 0, sizeof *l);
	l->avail = 16ull * num;
	l->used = vnd_page_up(l->avail + 6 + 2ull * num);
	l->ring_span = vnd_page_up(l->used + 6 + 8ull * num);
	rings = 2ull * pairs * l->ring_span;

	rx_data = before_page(rings + first_data);
	l->rx = rx_data - first_data;
	l->rx_buf = rx_buf;

	l->tx = before_page(l->rx + (uint64_t)num * rx_buf);
	l->tx_table = (VND_HDR_MAX + VND_FRAME_MAX + 15) & ~15ull;
	l->tx_table_max = tx_table_max;
	l->tx_stride = vnd_page_up(l->tx_table + 16ull * tx_table_max);

	l->pair_stride = vnd_page_up(l->tx + (uint64_t)num * l->tx_stride - l->rx);
	l->scratch = vnd_page_up(l->rx + pairs * l->pair_stride);
	l->size = l->scratch + VND_SCRATCH_SIZE;
	place_borders(l, rings, rx_data + CUT_DEPTH, l->tx + CUT_DEPTH, regions);
}
