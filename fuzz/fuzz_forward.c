/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the copy engine (forward_packets, drop_packets) and
 * the chain walks under it, over two clients' memory whose every byte
 * (rings of either format, descriptors, indirect tables, event areas,
 * headers, frames) comes from the input: split->split, split->packed,
 * packed->split and packed->packed (whose four-wide step goes with AVX2
 * where the CPU has it, or in C with the flags byte's WF_SCALAR4).
 *
 * Each client has one memfd of two REGION-sized regions, mapped once at
 * start-up through gm_map_region() in several guest-physical layouts (as
 * tests/unit/fixture.c does), with PROT_NONE guard pages around each
 * mapping where the address space allows, so a piece that runs past a
 * region faults instead of silently hitting a neighbour.
 *
 * Input: a CFG_SIZE-byte header (see struct layout below), then the
 * sender's memory image (split bytes), then the receiver's (the rest).
 * Images are copied from file offset 0; the rest of each memory is zero.
 * With the alias bit the receiver maps the sender's file (one process
 * serving as both clients) and only one image is used.
 *
 * A ring's format is a bit of the flags byte (the header's fourth byte
 * from the end). A split ring has 1 << (b % 9) entries for its size byte
 * b, a packed one 1 + b (any size up to 256); a packed ring's base is its
 * index (% num) with the wrap counter in bit 15.
 *
 * Writes stay where a client allows them (unless the two ends alias):
 * after the input's rounds, every byte of the receiver's memory that
 * changed lies in a device-writable piece of a chain that was available
 * at the start (walked beforehand, tentatively) or in its ring's areas
 * the device writes, and the sender's memory changed only in the latter.
 * Inputs whose buffers or device areas overlap what the rings are read
 * from (descriptor and driver areas, indirect tables) are left out: there
 * the client rewrites its own chains as the server writes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctl/ctl_proto.h"
#include "fuzz_features.h"
#include "fuzz_input.h"
#include "fuzz_ring.h"
#include "link/forward.h"
#include "gso_frames.h"
#include "link/forward_gso.h"
#include "net/virtio_net.h"
#include "util/checked.h"
#include "virtio/guest_mem.h"
#include "virtio/virtqueue.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REGION 8192u
#define NREGIONS 2
#define FILE_SIZE (REGION * NREGIONS)
#define LAYOUTS 4
#define MAX_ROUNDS 4
#define MAX_PIECES 4096

/* Guest-physical addresses of region 0 and region 1 in each layout. */
static const uint64_t layout_gpa[LAYOUTS][NREGIONS] = {
	{ 0, REGION },                  /* adjacent from 0 */
	{ 0, 3 * REGION },              /* a gap between them */
	{ 0x100000, 0x100000 + REGION }, /* adjacent, higher up */
	{ REGION, 0 },                  /* the file's second half first */
};

struct client {
	int fd;
	uint8_t *image; /* the whole file, for writing its contents */
	struct guest_mem mem[LAYOUTS];
	uint8_t *region_host[LAYOUTS][NREGIONS]; /* file region i in each layout */
};

static struct client cl[2];
static bool verbose;
static struct guest_mem alias_mem; /* the receiver mapping the sender's file */

/* Feature byte of an end (fuzz_features.h), plus: */
#define FB_CAPTURE 0x40u   /* sender's byte: a capture records delivered frames */
#define FB_HOST_GSO 0x80u  /* sender's byte: HOST_TSO4, TSO6, ECN, UFO */
#define FB_GUEST_GSO 0x80u /* receiver's byte: GUEST_TSO4, TSO6, ECN, UFO */
#define FB_GUEST_TSO4 0x40u /* receiver's byte: GUEST_TSO4 alone */

/* Layout byte. */
#define LB_SRC_LAYOUT(b) ((b)&3u)
#define LB_DST_LAYOUT(b) (((b) >> 2) & 3u)
#define LB_ALIAS 0x10u
#define LB_SRC_RING_R1 0x20u
#define LB_DST_RING_R1 0x40u
#define LB_DROP 0x80u

/* Flags byte. */
#define WF_DEVICE_WRITES 0x01u /* the direct walk: a receive chain */
#define WF_WALK_DST 0x02u      /* the direct walk: the receiver's ring */
#define WF_KICKS 0x04u         /* the sender's kicks wish */
#define WF_SRC_PACKED 0x08u
#define WF_DST_PACKED 0x10u
#define WF_SCALAR4 0x20u       /* two packed rings: the four-wide step in C, not AVX2 */

#define CFG_SIZE 18

/* ---- memory ---------------------------------------------------------- */

static void guard_page(void *at)
{
	void *p = mmap(at, (size_t)sysconf(_SC_PAGESIZE), PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	/* Taken already (by a neighbour) or refused: no guard there. */
	if (p != MAP_FAILED && p != at)
		munmap(p, (size_t)sysconf(_SC_PAGESIZE));
}

static void map_layout(struct guest_mem *gm, uint8_t *host[NREGIONS], int fd,
		       const uint64_t gpa[NREGIONS])
{
	char err[160];
	long page = sysconf(_SC_PAGESIZE);

	memset(gm, 0, sizeof *gm);
	for (unsigned i = 0; i < NREGIONS; i++) {
		struct gm_region_spec spec = {
			.gpa = gpa[i],
			.size = REGION,
			.uva = 0x7f0000000000ull + gpa[i],
			.mmap_offset = (uint64_t)i * REGION,
		};
		struct gm_region r;

		FUZZ_CHECK(gm_map_region(&spec, fd, NULL, &r, err, sizeof err) == 0);
		host[i] = r.host;
		guard_page((uint8_t *)r.map_base - page);
		guard_page((uint8_t *)r.map_base + r.map_len);
		FUZZ_CHECK(gm_insert(gm, &r, NREGIONS, err, sizeof err) == 0);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	verbose = getenv("FUZZ_VERBOSE");
	for (unsigned c = 0; c < 2; c++) {
		cl[c].fd = memfd_create("fuzz-client", MFD_CLOEXEC);
		FUZZ_CHECK(cl[c].fd >= 0);
		FUZZ_CHECK(ftruncate(cl[c].fd, FILE_SIZE) == 0);
		cl[c].image = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, cl[c].fd, 0);
		FUZZ_CHECK(cl[c].image != MAP_FAILED);
		for (unsigned l = 0; l < LAYOUTS; l++)
			map_layout(&cl[c].mem[l], cl[c].region_host[l], cl[c].fd, layout_gpa[l]);
	}
	{
		uint8_t *unused[NREGIONS];

		map_layout(&alias_mem, unused, cl[0].fd, layout_gpa[0]);
	}
	return 0;
}

/* ---- one end ------------------------------------------------------------ */

struct end {
	struct vq vq;
	struct vq_params params;
	struct guest_mem *mem;
	uint64_t features;
	struct port_stats stats;
	struct log_ratelimit rl;
	struct fwd_end fe;
	struct gso_resume resume;
	struct fuzz_consumed consumed; /* chains taken and committed */
};

/* The ring at the start of region `ring_region` of the file: descriptors,
 * then the driver area, then the device area (aligned as vu_dev demands). */
static void end_init(struct end *e, struct guest_mem *mem, unsigned ring_region, uint8_t size,
		     uint16_t base, uint8_t fbyte, bool packed, const char *name)
{
	uint16_t num = packed ? (uint16_t)(1u + size) : (uint16_t)(1u << (size % 9));

	vq_fini(&e->vq);
	memset(e, 0, sizeof *e);
	e->params = (struct vq_params){ .num = num, .packed = packed,
					.event_idx = fbyte & FB_EVENT_IDX,
					.indirect = fbyte & FB_INDIRECT,
					.base = fuzz_ring_base(packed, num, base) };
	FUZZ_CHECK(fuzz_ring_place(mem, mem->region[ring_region].gpa, &e->params));
	e->mem = mem;
	e->features = features_from(fbyte);
	FUZZ_CHECK(vq_init(&e->vq, &e->params) == 0);
	fuzz_consumed_start(&e->consumed, &e->vq);
	e->fe = (struct fwd_end){ &e->vq, e->features, &e->stats, &e->rl, name, 0, NULL, 0,
				  &e->resume, NULL, 0 };
}

static void check_fault(enum fwd_status st, const struct fwd_fault *fault)
{
	if (st != FWD_FAULT)
		return;
	FUZZ_CHECK(fault->guilty == 0 || fault->guilty == 1);
	FUZZ_CHECK(fault->error > VQ_OK && fault->error <= VQ_ERR_NOT_AVAIL);
	FUZZ_CHECK(vq_error_str(fault->error)[0]);
}

/* Consumed TX entries are exactly the packets counted one way or another:
 * a GSO frame cut into segments counts once, when done, however many of
 * its segments went out before. */
static void check_counts(struct end *s, struct end *d)
{
	uint32_t consumed = fuzz_consumed(&s->consumed, &s->vq);
	uint64_t counted = s->stats.tx_packets - s->stats.tx_gso_segments +
			   s->stats.tx_gso_segmented + s->stats.drop_bad + s->stats.drop_too_big +
			   s->stats.drop_no_peer;

	if (verbose && consumed != (uint32_t)counted)
		fprintf(stderr, "fuzz_forward: consumed %u, sent %llu (gso segments %llu, segmented %llu), "
				"bad %llu, too big %llu, no peer %llu\n", consumed,
			(unsigned long long)s->stats.tx_packets,
			(unsigned long long)s->stats.tx_gso_segments,
			(unsigned long long)s->stats.tx_gso_segmented,
			(unsigned long long)s->stats.drop_bad, (unsigned long long)s->stats.drop_too_big,
			(unsigned long long)s->stats.drop_no_peer);
	FUZZ_CHECK(consumed == (uint32_t)counted);
	FUZZ_CHECK(s->stats.tx_packets == d->stats.rx_packets);
	FUZZ_CHECK(s->stats.tx_bytes == d->stats.rx_bytes);
	FUZZ_CHECK(s->stats.tx_bytes <= s->stats.tx_packets * VNET_FRAME_MAX);
	/* Each delivered packet takes at least one receiver chain. */
	FUZZ_CHECK(fuzz_consumed(&d->consumed, &d->vq) >= d->stats.rx_packets);
}

/* The capture holds exactly the delivered frames, as well-formed records,
 * or counts what did not fit. */
static struct capture_buf cap;
static uint64_t records, bytes; /* taken from it during this input */

/* The frames recorded in a round, as the receiver got them (pointing into
 * the copy check_capture() keeps until its next call). */
#define ROUND_FRAMES_MAX 1024
static struct gso_rx_frame round_frames[ROUND_FRAMES_MAX];
static size_t round_count;

static void check_capture(const struct end *s)
{
	static uint8_t stream[64 * 1024];
	size_t len = 0, off = 0;
	const uint8_t *p;
	size_t n;

	round_count = 0;
	if (s->fe.capture != &cap)
		return;
	while ((n = capture_buf_pending(&cap, &p)) != 0) {
		FUZZ_CHECK(len + n <= sizeof stream);
		memcpy(stream + len, p, n);
		capture_buf_consume(&cap, n);
		len += n;
	}
	while (off < len) {
		struct vnp_cap_record rec;
		size_t total;

		FUZZ_CHECK(len - off >= sizeof rec);
		memcpy(&rec, stream + off, sizeof rec);
		FUZZ_CHECK(rec.type == VNP_CAP_PACKET && rec.port == 0 && rec.pad == 0);
		FUZZ_CHECK(rec.len <= VNP_CAP_SNAPLEN);
		total = (sizeof rec + rec.len + 7) & ~(size_t)7;
		FUZZ_CHECK(total <= len - off);
		for (size_t i = sizeof rec + rec.len; i < total; i++)
			FUZZ_CHECK(stream[off + i] == 0);
		if (round_count < ROUND_FRAMES_MAX)
			round_frames[round_count++] =
				(struct gso_rx_frame){ .data = stream + off + sizeof rec, .len = rec.len };
		records++;
		bytes += rec.len;
		off += total;
	}
	FUZZ_CHECK(records == cap.packets[0]);
	FUZZ_CHECK(cap.packets[0] + cap.dropped[0] == s->stats.tx_packets);
	FUZZ_CHECK(cap.packets[1] == 0 && cap.dropped[1] == 0);
	if (cap.dropped[0] == 0)
		FUZZ_CHECK(bytes == s->stats.tx_bytes);
}

/*
 * What one call spent: every packet it took costs at least a descriptor,
 * and the call stops once the budget is gone, so it overshoots by at most
 * the last packet, whose walks are bounded (VQ_PACKET_DESCS_MAX a side,
 * the one past it included) and whose frame is at most VNET_FRAME_MAX.
 */
static void check_cost(const struct fwd_budget *b, int64_t descs, int64_t max_bytes,
		       uint32_t packets)
{
	FUZZ_CHECK(descs - b->descs >= packets);
	FUZZ_CHECK(b->descs > -2 * (int64_t)(VQ_PACKET_DESCS_MAX + 1));
	FUZZ_CHECK(b->bytes > -(int64_t)VNET_FRAME_MAX);
	if (b->bytes <= 0 || b->descs <= 0)
		return;
	/* Budget left: the call ended for another reason. */
	FUZZ_CHECK(b->bytes <= max_bytes);
	/* A packet at a time means at most one. */
	if (descs == 1)
		FUZZ_CHECK(packets <= 1);
}

/* The sender's next TX packet, read along its chain without taking it:
 * its virtio-net header into hdr and its frame into frame. 0 when it has
 * none or the walk fails (forwarding then says why). */
static size_t peek_tx(struct end *e, uint8_t *hdr, uint8_t *frame, size_t cap_len)
{
	unsigned hlen = vnet_hdr_len(e->fe.features);
	struct vq_chain c;
	size_t got = 0;
	bool any;

	/* Taken tentatively, and forgotten again whatever the walk found. */
	vq_take_begin(&e->vq);
	if (vq_take(&e->vq, &c, false, &any) != VQ_OK || !any)
		goto out;
	for (;;) {
		uint8_t *p;
		uint32_t n;

		if (vq_chain_next(&c, UINT32_MAX, &p, &n) != VQ_OK) {
			got = 0;
			goto out;
		}
		if (!n)
			break;
		for (uint32_t i = 0; i < n; i++, got++) {
			if (got < hlen) {
				hdr[got] = p[i];
			} else if (got - hlen < cap_len) {
				frame[got - hlen] = p[i];
			} else {
				got = 0;
				goto out;
			}
		}
	}
out:
	vq_take_begin(&e->vq);
	return got > hlen ? got - hlen : 0;
}

/*
 * A GSO frame the sender got delivered in one round, one packet a round:
 * what the capture recorded of it must be the frame itself (the receiver
 * took it whole) or its segments, which must each parse and sum
 * (tests/integration/gso_frames.c, the same verifier as the integration
 * tests').
 */
static void check_gso(const struct end *s, const struct end *d, const uint8_t *hdr,
		      const uint8_t *frame, size_t len, bool whole)
{
	struct vnet_hdr h;
	struct vnd_tx_meta m;
	bool partial = d->fe.features & BIT64(VIRTIO_NET_F_GUEST_CSUM);
	unsigned seen;
	char msg[256];

	(void)s;
	vnet_hdr_decode(hdr, &h);
	m = (struct vnd_tx_meta){ .needs_csum = h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM,
				  .csum_start = h.csum_start, .csum_offset = h.csum_offset,
				  .gso_type = h.gso_type, .gso_size = h.gso_size,
				  .hdr_len = h.hdr_len };
	if (whole) {
		FUZZ_CHECK(round_count == 1);
		FUZZ_CHECK(round_frames[0].len == len && !memcmp(round_frames[0].data, frame, len));
		return;
	}
	/* Frames the verifier does not take for a super-packet were judged
	 * by the server's own rules (net/gso.c): nothing to compare with. */
	if (gso_segment_count(frame, len, &m) == 0)
		return;
	for (size_t i = 0; i < round_count; i++) {
		struct vnd_rx_meta *rm = &round_frames[i].meta;
		bool tcp = (h.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_UDP;

		*rm = (struct vnd_rx_meta){ 0 };
		/* What the server tells a receiver of a segment (forward_gso.c). */
		if (tcp && partial) {
			rm->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
			rm->csum_start = h.csum_start;
			rm->csum_offset = h.csum_offset;
		}
	}
	if (gso_verify(frame, len, &m, round_frames, round_count, GSO_OUTCOME_SEGMENTED, &seen, msg,
		       sizeof msg) < 0) {
		fprintf(stderr, "fuzz_forward: segments do not check out: %s\n", msg);
		FUZZ_CHECK(0);
	}
}

/* ---- where the server may write ---------------------------------------- */

/* Per byte of a client's file: bits of what it is to the rings. */
#define MB_WRITABLE 1u /* in a device-writable piece of an available chain */
#define MB_DEVICE 2u   /* in an area of the ring the device writes */
#define MB_READ 4u     /* in an area the rings are read from */
#define MB_PDESC 8u    /* in a packed ring's descriptors: read, and written back */

struct shadow {
	uint8_t before[FILE_SIZE]; /* the file before the rounds */
	uint8_t mark[FILE_SIZE];
};

static struct shadow shadow[2];

/* Mark [p, p + len) of client c's memory as seen through layout l. */
static void mark_bytes(unsigned c, unsigned l, const uint8_t *p, uint64_t len, uint8_t bit)
{
	for (unsigned i = 0; i < NREGIONS; i++) {
		const uint8_t *h = cl[c].region_host[l][i];

		if (p < h || p >= h + REGION)
			continue;
		for (uint64_t k = 0, off = (uint64_t)(p - h); k < len && off + k < REGION; k++)
			shadow[c].mark[i * REGION + off + k] |= bit;
	}
}

/* What e's ring areas are to the device, and the indirect tables any of
 * its descriptors names (nested or not, available or not: a superset). */
static void mark_ring(unsigned c, unsigned l, struct end *e)
{
	const struct vq_params *p = &e->params;
	uint64_t dn = vq_desc_area_bytes(p->packed, p->num);

	mark_bytes(c, l, p->desc, dn, p->packed ? MB_PDESC : MB_READ);
	mark_bytes(c, l, p->driver_area, vq_driver_area_bytes(p->packed, p->num, p->event_idx),
		   MB_READ);
	mark_bytes(c, l, p->device_area, vq_device_area_bytes(p->packed, p->num, p->event_idx),
		   MB_DEVICE);
	for (unsigned i = 0; i < p->num; i++) {
		const uint8_t *d = (const uint8_t *)p->desc + 16u * i;
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
		const uint8_t *t;

		memcpy(&addr, d, 8);
		memcpy(&len, d + 8, 4);
		memcpy(&flags, d + (p->packed ? 14 : 12), 2);
		if (!(flags & VRING_DESC_F_INDIRECT) || !len)
			continue;
		t = gm_gpa_range(e->mem, addr, len);
		if (t)
			mark_bytes(c, l, t, len, MB_READ);
	}
}

/* Every device-writable piece of the receiver's available chains, walked
 * tentatively (and forgotten again) as the server would take them. */
static void mark_rx_chains(unsigned c, unsigned l, struct end *e)
{
	vq_take_begin(&e->vq);
	for (unsigned n = 0; n < e->vq.num; n++) {
		struct vq_chain ch;
		struct vq_done done;
		bool got;

		if (vq_take(&e->vq, &ch, true, &got) != VQ_OK || !got)
			break;
		for (unsigned i = 0; i < MAX_PIECES; i++) {
			uint8_t *p;
			uint32_t len;

			if (vq_chain_next(&ch, UINT32_MAX, &p, &len) != VQ_OK || !len)
				break;
			mark_bytes(c, l, p, len, MB_WRITABLE);
		}
		/* (A packed ring takes the next chain past this one's end.) */
		if (vq_chain_end(&ch, &done) != VQ_OK)
			break;
	}
	vq_take_begin(&e->vq);
}

/* Whether bytes the server writes are bytes the rings are read from
 * (beyond a packed ring's own used elements in its descriptors). */
static bool writes_reach_rings(unsigned c)
{
	for (uint32_t i = 0; i < FILE_SIZE; i++)
		if ((shadow[c].mark[i] & (MB_WRITABLE | MB_DEVICE)) &&
		    (shadow[c].mark[i] & (MB_READ | MB_PDESC)))
			return true;
	return false;
}

/* Before the rounds: the files as they are, and what may change in them. */
static void writes_begin(unsigned lb, struct end *s, struct end *d)
{
	for (unsigned c = 0; c < 2; c++) {
		memcpy(shadow[c].before, cl[c].image, FILE_SIZE);
		memset(shadow[c].mark, 0, FILE_SIZE);
	}
	mark_ring(0, LB_SRC_LAYOUT(lb), s);
	mark_ring(1, LB_DST_LAYOUT(lb), d);
	mark_rx_chains(1, LB_DST_LAYOUT(lb), d);
}

/* After them: what changed outside what may. */
static void writes_check(void)
{
	const uint8_t may[2] = { MB_DEVICE | MB_PDESC, MB_DEVICE | MB_PDESC | MB_WRITABLE };

	for (unsigned c = 0; c < 2; c++) {
		/* There the client rewrites its chains as the server writes. */
		if (writes_reach_rings(c))
			continue;
		for (uint32_t i = 0; i < FILE_SIZE; i++) {
			if (cl[c].image[i] == shadow[c].before[i] || (shadow[c].mark[i] & may[c]))
				continue;
			fprintf(stderr, "fuzz_forward: the %s's memory changed at file offset %u "
					"(0x%02x -> 0x%02x), outside %s\n",
				c ? "receiver" : "sender", i, shadow[c].before[i], cl[c].image[i],
				c ? "its available RX buffers and its ring's device areas"
				  : "its ring's device areas");
			FUZZ_CHECK(0);
		}
	}
}

/* Walk one chain directly, from a ring of its own over e's ring memory
 * that starts at base: every piece must be client memory, in one mapping,
 * no longer than asked for. */
static void walk(const struct end *e, uint16_t base, bool device_writes, uint64_t max)
{
	struct vq_params p = e->params;
	struct vq vq;
	struct vq_chain c;
	bool got;

	p.base = fuzz_ring_base(p.packed, p.num, base);
	FUZZ_CHECK(vq_init(&vq, &p) == 0);
	if (vq_take(&vq, &c, device_writes, &got) != VQ_OK || !got)
		goto out;
	for (unsigned i = 0; i < MAX_PIECES; i++) {
		uint8_t *ptr = NULL;
		uint32_t len = 0;
		enum vq_error err = vq_chain_next(&c, max, &ptr, &len);

		/* The cost of a walk: never more descriptors than the bound;
		 * the one past it ends the walk. */
		FUZZ_CHECK(c.descs <= VQ_PACKET_DESCS_MAX + 1);
		if (err != VQ_OK) {
			FUZZ_CHECK(err <= VQ_ERR_NOT_AVAIL);
			FUZZ_CHECK((err == VQ_ERR_TOO_MANY) == (c.descs > VQ_PACKET_DESCS_MAX));
			break;
		}
		FUZZ_CHECK(c.descs <= VQ_PACKET_DESCS_MAX);
		if (len == 0)
			break;
		FUZZ_CHECK(len <= max);
		FUZZ_CHECK(fuzz_in_mapping(e->mem, ptr, len));
		FUZZ_CHECK(c.hops <= c.table_size);
		/* Touch both ends; write in a receive chain, as forwarding does. */
		{
			volatile uint8_t *first = ptr, *last = ptr + len - 1;
			uint8_t a = *first, b = *last;

			if (device_writes) {
				*first = a;
				*last = b;
			}
		}
	}
out:
	vq_fini(&vq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint8_t size_s = in_u8(&in), size_d = in_u8(&in);
	uint16_t base_s = in_u16(&in), base_d = in_u16(&in);
	uint8_t fb_s = in_u8(&in), fb_d = in_u8(&in);
	uint8_t budget_byte = in_u8(&in);
	/* Bit 7: a packet a round, each GSO frame's outcome verified (with a
	 * capture). Else descriptors a call may spend: 1 to 64; bytes
	 * without end, or a frame's worth. */
	bool verify = budget_byte & 128;
	int64_t budget = verify ? 1 : 1 + (budget_byte & 63);
	int64_t budget_bytes = (budget_byte & 64) ? 1500 : INT64_MAX;
	uint8_t lb = in_u8(&in);
	uint16_t split = in_u16(&in);
	uint16_t walk_base = in_u16(&in);
	uint8_t flags = in_u8(&in);
	uint32_t walk_max = in_u24(&in);
	bool alias = lb & LB_ALIAS;
	struct guest_mem *mem_s = &cl[0].mem[LB_SRC_LAYOUT(lb)];
	struct guest_mem *mem_d = alias ? &alias_mem : &cl[1].mem[LB_DST_LAYOUT(lb)];
	static struct end s, d;
	struct fwd_fault fault = { 0 };
	enum fwd_status st = FWD_IDLE;
	enum vq_error e;
	bool b1;
	size_t n;

	/* The memory images. */
	memset(cl[0].image, 0, FILE_SIZE);
	memset(cl[1].image, 0, FILE_SIZE);
	n = alias ? in.left : MIN((size_t)split, in.left);
	in_bytes(&in, cl[0].image, MIN(n, (size_t)FILE_SIZE));
	if (n > FILE_SIZE) {
		in.p += n - FILE_SIZE;
		in.left -= n - FILE_SIZE;
	}
	in_bytes(&in, cl[1].image, MIN(in.left, (size_t)FILE_SIZE));
	mem_s->hit = (struct gm_hit){ 0 };
	mem_d->hit = (struct gm_hit){ 0 };

#if defined(__x86_64__)
	/* Both ways of the four-wide step, where the CPU has AVX2. */
	forward_wide_avx2 = __builtin_cpu_supports("avx2") && !(flags & WF_SCALAR4);
#endif
	end_init(&s, mem_s, (lb & LB_SRC_RING_R1) ? 1 : 0, size_s, base_s, fb_s,
		 flags & WF_SRC_PACKED, "src");
	end_init(&d, mem_d, (lb & LB_DST_RING_R1) ? 1 : 0, size_d, base_d, fb_d,
		 flags & WF_DST_PACKED, "dst");
	if (fb_s & FB_HOST_GSO)
		s.fe.features |= GSO_HOST_FEATURES;
	if (fb_d & FB_GUEST_GSO)
		d.fe.features |= GSO_GUEST_FEATURES;
	if (fb_d & FB_GUEST_TSO4)
		d.fe.features |= BIT64(VIRTIO_NET_F_GUEST_TSO4);
	if ((fb_s & FB_CAPTURE) || verify) {
		if (!cap.mem)
			FUZZ_CHECK(capture_buf_init(&cap, 64 * 1024) == 0);
		cap.head = cap.tail = 0;
		memset(cap.packets, 0, sizeof cap.packets);
		memset(cap.dropped, 0, sizeof cap.dropped);
		records = bytes = 0;
		s.fe.capture = &cap;
	}

	if (!alias)
		writes_begin(lb, &s, &d);

	/* Forwarding rounds, as the link runs them: a budget, then publish. */
	for (unsigned round = 0; round < MAX_ROUNDS; round++) {
		static uint8_t sent_hdr[VNET_HDR_MAX], sent[VNET_FRAME_MAX];
		struct fwd_budget b = { budget, budget_bytes };
		uint32_t before = fuzz_consumed(&s.consumed, &s.vq);
		uint64_t gso = s.stats.tx_gso, whole = d.stats.rx_gso, dropped = cap.dropped[0];
		bool resumed = s.resume.active;
		/* The receiver may write the sender's memory when they alias. */
		size_t sent_len = verify && !alias ? peek_tx(&s, sent_hdr, sent, sizeof sent) : 0;

		st = forward_packets(&s.fe, &d.fe, &b, &fault);
		check_cost(&b, budget, budget_bytes, fuzz_consumed(&s.consumed, &s.vq) - before);
		check_fault(st, &fault);
		fuzz_ring_check(&s.vq);
		fuzz_ring_check(&d.vq);
		check_counts(&s, &d);
		check_capture(&s);
		if (sent_len && !resumed && s.stats.tx_gso == gso + 1 && cap.dropped[0] == dropped)
			check_gso(&s, &d, sent_hdr, sent, sent_len, d.stats.rx_gso == whole + 1);
		/* The prefetch hint is our own figure: a delivered frame's length. */
		FUZZ_CHECK(s.fe.frame_hint <= VNET_FRAME_MAX);
		vq_publish(&s.vq);
		vq_publish(&d.vq);
		FUZZ_CHECK(fuzz_ring_unpublished(&s.vq) == 0 && fuzz_ring_unpublished(&d.vq) == 0);
		/* A driver's wish that makes no sense is the only error. */
		e = vq_needs_signal(&s.vq, &b1);
		FUZZ_CHECK(e == VQ_OK || (e == VQ_ERR_EVENT && s.vq.packed));
		e = vq_needs_signal(&d.vq, &b1);
		FUZZ_CHECK(e == VQ_OK || (e == VQ_ERR_EVENT && d.vq.packed));
		if (st != FWD_MORE)
			break;
	}
	/* The receiver went away (or was failed): TX is consumed and dropped. */
	if ((lb & LB_DROP) || (st == FWD_FAULT && fault.guilty == 1)) {
		struct fwd_budget b = { budget, budget_bytes };
		uint32_t before = fuzz_consumed(&s.consumed, &s.vq);
		enum fwd_status ds = drop_packets(&s.fe, &b, &fault, &s.stats.drop_no_peer);

		check_cost(&b, budget, budget_bytes, fuzz_consumed(&s.consumed, &s.vq) - before);
		check_fault(ds, &fault);
		fuzz_ring_check(&s.vq);
		check_counts(&s, &d);
		vq_publish(&s.vq);
	}
	if (verbose)
		fprintf(stderr,
			"fuzz_forward: %s -> %s, status %d (fault: %s by %s): sent %llu (%llu bytes), "
			"dropped: bad %llu, too big %llu, no peer %llu; rx chains %u\n",
			s.vq.packed ? "packed" : "split", d.vq.packed ? "packed" : "split", (int)st,
			st == FWD_FAULT ? vq_error_str(fault.error) : "-",
			fault.guilty ? "receiver" : "sender", (unsigned long long)s.stats.tx_packets,
			(unsigned long long)s.stats.tx_bytes, (unsigned long long)s.stats.drop_bad,
			(unsigned long long)s.stats.drop_too_big,
			(unsigned long long)s.stats.drop_no_peer, fuzz_consumed(&d.consumed, &d.vq));
	/* Notification suppression over the same (hostile) rings. */
	vq_kicks_reset(&s.vq, flags & WF_KICKS);
	vq_kicks_enable(&d.vq);
	(void)vq_avail_grew(&d.vq, &b1);
	(void)vq_avail(&d.vq, &b1);
	vq_kicks_disable(&d.vq);

	if (!alias)
		writes_check();

	/* A direct walk over either ring. */
	walk((flags & WF_WALK_DST) ? &d : &s, walk_base, flags & WF_DEVICE_WRITES,
	     walk_max ? walk_max : 1);
	return 0;
}
