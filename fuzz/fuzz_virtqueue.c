/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the ring module alone (virtio/virtqueue.h), split or
 * packed, over a client's memory whose every byte comes from the input,
 * driven by a sequence of operations from the input: the device side's
 * (avail, take, take more, chain next, chain end, used, the fast path's
 * peek single and single done, mark and rewind, take begin, commit,
 * publish, kicks, needs signal, freeze, peek, restart, move) and the
 * driver's (chains
 * posted, indirect tables, raw writes anywhere but the split used ring,
 * event wishes), so the driver can change its ring between any two calls.
 *
 * The harness keeps its own books of what the device side handed out and
 * what it gave back, and after every operation checks: pieces lie inside
 * client memory; no packet loads more than VQ_PACKET_DESCS_MAX
 * descriptors (the error says so exactly when it would); used elements
 * not yet published never outnumber the ring (packed: the slots held,
 * from the last publication to the take position, never exceed a lap);
 * a packed buffer id is never given back twice before it is published;
 * what is published is exactly the used elements committed, in order,
 * each naming a buffer id a chain taken had (read back from the ring as
 * the driver reads it, unless the driver wrote over it since); a
 * restarted ring resumes where the driver's used side stands; a frozen
 * ring gives at most what it held; notification wishes are what was
 * asked for. A client error (any vq_error) fails the ring, which then
 * restarts as a port's would.
 *
 * Input: a CFG_SIZE-byte header (below), the memory image (that many
 * bytes, from file offset 0; the rest of the memory is zero), then
 * operations: an opcode byte (low 5 bits: the operation, top 3: its
 * flags) and its arguments (enum op). fuzz/make_seeds.py writes inputs.
 */
#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_input.h"
#include "fuzz_ring.h"
#include "util/checked.h"
#include "virtio/guest_mem.h"
#include "virtio/virtqueue.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REGION 8192u
#define NREGIONS 2
#define FILE_SIZE (REGION * NREGIONS)
#define LAYOUTS 2
#define MAX_OPS 1024
#define MAX_PIECES 4096 /* pieces one walk operation takes at most */
#define BOOK_MAX 1024   /* chains or used elements the books hold */
#define PACKED_NUM_MAX 384 /* its descriptors and event areas fit in a region */

/*
 * Header: u8 flags (below), u16 ring size s (split: 1 << (s % 9); packed:
 * 1 + s % 384, any number), u16 base (packed: index % size, the wrap
 * counter in bit 15), u16 length of the memory image. The ring lies at
 * the start of a region: descriptors, driver area, device area (sized
 * for EVENT_IDX whether negotiated or not).
 */
#define CFG_PACKED 0x01u
#define CFG_EVENT_IDX 0x02u
#define CFG_INDIRECT 0x04u
#define CFG_GAP 0x08u    /* region 1 lies apart from region 0 in guest-physical space */
#define CFG_RING_R1 0x10u /* the ring lies at the start of region 1, not region 0 */
#define CFG_SIZE 7

/* Guest-physical addresses of the regions in each layout. */
static const uint64_t layout_gpa[LAYOUTS][NREGIONS] = {
	{ 0, REGION },
	{ 0, 3 * REGION },
};

enum op {
	OP_AVAIL,
	OP_TAKE,       /* flag 0x20: a receive chain (the device writes) */
	OP_TAKE_MORE,
	OP_NEXT,       /* u16 max (0: no limit) */
	OP_WALK,       /* u16 max: pieces until the chain's end */
	OP_END,
	OP_USED,       /* u16 len; flag 0x20: the bytes walked */
	OP_PACKET,     /* every chain ended and given back, committed */
	OP_SINGLE,     /* u16 len; flags: 0x20 receive, 0x40 peeked, then done (taken, used, committed) */
	OP_MARK,
	OP_REWIND,
	OP_BEGIN,
	OP_COMMIT,     /* u16 len for each chain not yet given back */
	OP_PUBLISH,
	OP_KICKS_ON,
	OP_KICKS_OFF,
	OP_KICKS_RESET, /* flag 0x20: on */
	OP_GREW,
	OP_SIGNAL,
	OP_FREEZE,
	OP_PEEK,       /* u8 ahead */
	OP_ALL_TAKEN,
	OP_RESTART,    /* everything published, then stopped and started where it stands */
	OP_RESTART_AT, /* u16 base: started where a driver that lost track says */
	OP_MOVE,       /* flags: 0x20 event_idx, 0x40 indirect */
	OP_POST,       /* driver: u8 n, u8 id, then n times u16 offset, u16 len; flags: 0x20 writable */
	OP_POST_INDIRECT, /* driver: u8 n, u8 id, u16 table offset, n times u16 offset, u16 len */
	OP_WRITE,      /* driver: u16 offset, u8 n, n bytes */
	OP_WISH,       /* driver: u16, u16 of its notification area */
	OP_COUNT
};

/* A chain taken and ended, waiting for its used element. */
struct rec {
	uint16_t id;
	uint16_t slots;
	uint32_t walked;
};

/* A used element written. */
struct elem {
	uint16_t id;
	uint16_t slots;
	uint32_t len;
};

struct harness {
	struct vq vq;
	struct vq_params p;
	struct guest_mem *mem;
	bool packed;
	uint16_t num;

	/* The chain being walked, if any, and whether the packet it belongs
	 * to may take more (vq_take_more). */
	struct vq_chain c;
	bool open, packet;
	uint16_t open_slot; /* packed: where it starts */
	bool drv_wrote;     /* the driver wrote its memory since the chain was taken */
	bool gave_back;     /* a chain was given back since the open one was taken */
	uint32_t walked;

	/* Since vq_take_begin or vq_commit: chains ended (the first n_given
	 * of them given back) and the used elements written. */
	struct rec ended[BOOK_MAX];
	unsigned n_ended, n_given;
	struct elem tent[BOOK_MAX];
	unsigned n_tent;
	/* Committed, not yet published. */
	struct elem pend[BOOK_MAX];
	unsigned n_pend;

	bool mark_valid;
	struct vq_mark mark;
	unsigned mark_ended, mark_tent;

	/* The driver: where it posts next, where it reads used elements. */
	uint16_t drv_next_desc, drv_slot, drv_next_id;
	bool drv_wrap;
	uint16_t used_idx;  /* split */
	uint16_t used_slot; /* packed */
	bool used_wrap;

	/* Published since the device last asked whether to signal: whether
	 * any, and (packed) which positions, each lap's. */
	bool published_since;
	uint32_t published_slots;
	uint8_t written_pos[2][PACKED_NUM_MAX];

	/* Packed: ring slots the driver wrote since the used element that
	 * covers them went into the ring (what it reads back there is its
	 * own doing). */
	uint8_t scribbled[PACKED_NUM_MAX];

	bool frozen;
	uint16_t frozen_consumed;
	uint32_t frozen_held; /* entries it held (packed: slots, each chain one at least) */
	bool kicks_known;
	uint32_t ring_file_off; /* where the ring lies in the file */
};

static const char *const op_names[OP_COUNT] = {
	"avail", "take", "take_more", "next", "walk", "end", "used", "packet", "single",
	"mark", "rewind", "begin", "commit", "publish", "kicks_on", "kicks_off", "kicks_reset",
	"grew", "signal", "freeze", "peek", "all_taken", "restart", "restart_at", "move",
	"post", "post_indirect", "write", "wish",
};

static int mem_fd;
static bool verbose;
static uint8_t *image;
static struct guest_mem mems[LAYOUTS];
static struct harness h;

/* ---- memory ------------------------------------------------------------- */

static void guard_page(void *at)
{
	void *p = mmap(at, (size_t)sysconf(_SC_PAGESIZE), PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p != MAP_FAILED && p != at)
		munmap(p, (size_t)sysconf(_SC_PAGESIZE));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	long page = sysconf(_SC_PAGESIZE);
	char err[160];

	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	verbose = getenv("FUZZ_VERBOSE");
	mem_fd = memfd_create("fuzz-virtqueue", MFD_CLOEXEC);
	FUZZ_CHECK(mem_fd >= 0);
	FUZZ_CHECK(ftruncate(mem_fd, FILE_SIZE) == 0);
	image = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mem_fd, 0);
	FUZZ_CHECK(image != MAP_FAILED);
	for (unsigned l = 0; l < LAYOUTS; l++) {
		for (unsigned i = 0; i < NREGIONS; i++) {
			struct gm_region_spec spec = {
				.gpa = layout_gpa[l][i],
				.size = REGION,
				.uva = 0x7f0000000000ull + layout_gpa[l][i],
				.mmap_offset = (uint64_t)i * REGION,
			};
			struct gm_region r;

			FUZZ_CHECK(gm_map_region(&spec, mem_fd, NULL, &r, err, sizeof err) == 0);
			guard_page((uint8_t *)r.map_base - page);
			guard_page((uint8_t *)r.map_base + r.map_len);
			FUZZ_CHECK(gm_insert(&mems[l], &r, NREGIONS, err, sizeof err) == 0);
		}
	}
	return 0;
}

/* A file offset as a guest-physical address of the current layout. */
static uint64_t gpa_of(uint16_t off)
{
	unsigned r = (off / REGION) % NREGIONS;

	return h.mem->region[r].gpa + off % REGION;
}

static void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

/* ---- the books ---------------------------------------------------------- */

static void books_forget_batch(void)
{
	h.open = false;
	h.packet = false;
	h.n_ended = h.n_given = h.n_tent = 0;
	h.mark_valid = false;
}

static bool id_in_use(uint16_t id);

/* Packed: the ring says an id is in use (vq_used_done refuses it) exactly
 * when the books do, whichever way it keeps them (vq ids_in_place). */
static void check_ids_in_use(void)
{
	static uint8_t in_use[PACKED_NUM_MAX];

	memset(in_use, 0, h.num);
	for (unsigned i = 0; i < h.n_pend; i++)
		in_use[h.pend[i].id] = 1;
	for (unsigned i = 0; i < h.n_tent; i++)
		in_use[h.tent[i].id] = 1;
	for (uint16_t id = 0; id < h.num; id++) {
		FUZZ_CHECK(packed_busy(&h.vq, id) == in_use[id]);
		/* Kept by their slots, none is marked (the publication then
		 * frees nothing). */
		FUZZ_CHECK(!h.vq.ids_in_place || h.vq.id_gen[id] != h.vq.generation);
	}
}

/* What must hold after every operation. */
static void check_always(void)
{
	const struct vq *vq = &h.vq;

	FUZZ_CHECK(fuzz_ring_unpublished(vq) <= vq->num);
	FUZZ_CHECK(vq->taken == h.n_ended + (h.open ? 1u : 0u));
	if (h.packed) {
		FUZZ_CHECK(vq->npending == h.n_pend && vq->ntent == h.n_tent);
		FUZZ_CHECK(vq->has_first == (vq->npending > 0));
		FUZZ_CHECK(vq->avail_slot < h.num && vq->take_slot < h.num &&
			   vq->used_slot < h.num && vq->pub_slot < h.num);
		/* The ring's own account of the ids in use is the books'. */
		check_ids_in_use();
		/* Nothing tentative: the positions agree (vq_take_begin relies
		 * on it and does nothing then). */
		if (!vq->taken && !vq->ntent)
			FUZZ_CHECK(vq->take_slot == vq->avail_slot &&
				   vq->take_wrap == vq->avail_wrap &&
				   vq->used_slot == vq->commit_used_slot &&
				   vq->used_wrap == vq->commit_used_wrap);
		/* Held: from where the driver reads used elements next up to the
		 * take position, never more than a lap. */
		if (vq->take_wrap == h.used_wrap)
			FUZZ_CHECK(vq->take_slot >= h.used_slot);
		else
			FUZZ_CHECK(vq->take_slot <= h.used_slot);
	} else {
		FUZZ_CHECK(vq->used_pending == h.n_pend && vq->used_tent == h.n_tent);
		FUZZ_CHECK((uint16_t)(vq->avail_seen - vq->last_avail) <= vq->num);
	}
	if (h.frozen) {
		/* At most what it held when it stopped (a packed ring counts
		 * slots, each chain one at least). */
		uint32_t since = (uint16_t)(vq_consumed(vq) - h.frozen_consumed) + (uint32_t)vq->taken;

		FUZZ_CHECK(since <= h.frozen_held);
	}
}

/* A piece of a chain: client memory, in one mapping, no longer than asked;
 * both ends touched, a receive chain's written (with what was there, so
 * a buffer the driver put over its own ring leaves it as it was). */
static void check_piece(const uint8_t *p, uint32_t len, uint64_t max, bool device_writes)
{
	volatile uint8_t *first = (volatile uint8_t *)p, *last = (volatile uint8_t *)p + len - 1;
	uint8_t a, b;

	FUZZ_CHECK(len > 0 && len <= max);
	FUZZ_CHECK(fuzz_in_mapping(h.mem, p, len));
	a = *first;
	b = *last;
	if (device_writes) {
		*first = a;
		*last = b;
	}
}

/* The cost of a packet's walk after a call that loaded descriptors. */
static void check_descs(enum vq_error e)
{
	FUZZ_CHECK(h.c.descs <= VQ_PACKET_DESCS_MAX + 1);
	FUZZ_CHECK((e == VQ_ERR_TOO_MANY) == (h.c.descs > VQ_PACKET_DESCS_MAX));
	/* The one past the table ends the walk. */
	FUZZ_CHECK(h.c.hops <= h.c.table_size + (e == VQ_ERR_LOOP ? 1u : 0u));
}

static const struct vring_packed_desc *slot_desc(uint16_t slot)
{
	return &h.vq.ring[slot];
}

/* Packed: whether a buffer id was given back (tentatively or committed)
 * and not yet published. */
static bool id_in_use(uint16_t id)
{
	for (unsigned i = 0; i < h.n_pend; i++)
		if (h.pend[i].id == id)
			return true;
	for (unsigned i = 0; i < h.n_tent; i++)
		if (h.tent[i].id == id)
			return true;
	return false;
}

/* Packed: the driver wrote file bytes [off, off + n): the ring slots
 * among them are its own doing until a used element goes there again. */
static void scribble(uint32_t off, uint32_t n)
{
	uint32_t lo = h.ring_file_off, hi = lo + 16u * h.num;

	if (!h.packed || !n || off >= hi || off + n <= lo)
		return;
	for (uint32_t s = (MAX(off, lo) - lo) / 16; s <= (MIN(off + n, hi) - 1 - lo) / 16; s++)
		h.scribbled[s] = 1;
}

/* ---- starting and failing ---------------------------------------------- */

static void ring_start(uint32_t base)
{
	h.p.base = base;
	FUZZ_CHECK(vq_base_valid(h.packed, h.num, base));
	FUZZ_CHECK(vq_init(&h.vq, &h.p) == 0);
	books_forget_batch();
	h.n_pend = 0;
	h.frozen = false;
	h.published_since = false;
	h.published_slots = 0;
	memset(h.written_pos, 0, sizeof h.written_pos);
	memset(h.scribbled, 0, sizeof h.scribbled);
	if (h.packed) {
		h.used_slot = (uint16_t)(base & 0x7fff);
		h.used_wrap = base >> 15 & 1;
	} else {
		/* As the link does with every ring that starts (vq_resync): it
		 * resumes where its used ring says. */
		uint32_t from, to; /* split: avail indices */

		h.used_idx = le16toh(LOAD_ONCE(h.vq.used->idx));
		if (vq_resync(&h.vq, &from, &to))
			FUZZ_CHECK(to == h.used_idx && h.vq.last_avail == to);
		FUZZ_CHECK(h.vq.used_idx == h.used_idx);
	}
	h.kicks_known = false;
}

/* The client broke a rule: its port fails (nothing more is published) and
 * its ring starts again where it stood, as after a driver reset. */
static void fail(enum vq_error e)
{
	uint32_t base = vq_base(&h.vq);

	FUZZ_CHECK(e > VQ_OK && e <= VQ_ERR_NOT_AVAIL);
	FUZZ_CHECK(vq_error_str(e)[0]);
	if (verbose)
		fprintf(stderr, "  failed: %s\n", vq_error_str(e));
	vq_fini(&h.vq);
	ring_start(base);
	if (h.packed) {
		/* The driver starts over from there too. */
		h.drv_slot = h.used_slot;
		h.drv_wrap = h.used_wrap;
	}
}

/* ---- the device side ------------------------------------------------------ */

static bool end_open(void)
{
	struct vq_done done;
	enum vq_error e;
	struct rec *r;

	if (!h.open)
		return true;
	e = vq_chain_end(&h.c, &done);
	if (verbose)
		fprintf(stderr, "  chain end: %s, id %u, slots %u, from slot %u\n", vq_error_str(e),
			done.id, done.slots, h.open_slot);
	check_descs(e);
	if (e) {
		fail(e);
		return false;
	}
	h.open = false;
	FUZZ_CHECK(done.id < h.num);
	if (h.packed) {
		uint32_t last = (uint32_t)h.open_slot + done.slots - 1;

		FUZZ_CHECK(done.slots >= 1 && done.slots <= h.num);
		/* The buffer id is the last ring descriptor's (as it was when
		 * loaded: unless the driver wrote since). */
		if (!h.drv_wrote)
			FUZZ_CHECK(done.id == le16toh(slot_desc((uint16_t)(last % h.num))->id));
		/* The walk refuses an id in use, so one it passed is free, unless
		 * another chain naming it was given back since (then refused by
		 * vq_used_done: give_back). */
		if (!h.gave_back)
			FUZZ_CHECK(!id_in_use(done.id));
	} else {
		FUZZ_CHECK(done.id == h.c.id);
	}
	FUZZ_CHECK(h.n_ended < BOOK_MAX);
	r = &h.ended[h.n_ended++];
	*r = (struct rec){ .id = done.id, .slots = done.slots, .walked = h.walked };
	return true;
}

/* A chain taken: the split head it names is the avail entry's. */
static void took(bool more)
{
	h.open = true;
	h.packet = true;
	h.walked = 0;
	h.drv_wrote = false;
	h.gave_back = false;
	if (h.packed) {
		h.open_slot = h.vq.take_slot;
		/* Not on a slot still held (a lap past the driver's used side). */
		FUZZ_CHECK(!(h.vq.take_slot == h.used_slot && h.vq.take_wrap != h.used_wrap));
		return;
	}
	FUZZ_CHECK(h.c.id < h.num);
	FUZZ_CHECK(h.c.id ==
		   le16toh(h.vq.avail->ring[(uint16_t)(h.vq.last_avail + h.vq.taken - 1) & h.vq.mask]));
	(void)more;
}

static void op_take(bool device_writes)
{
	enum vq_error e;
	bool got;

	if (!end_open())
		return;
	e = vq_take(&h.vq, &h.c, device_writes, &got);
	if (e) {
		fail(e);
		return;
	}
	if (got)
		took(false);
}

static void op_take_more(void)
{
	enum vq_error e;
	bool got;

	if (!h.packet) {
		op_take(true);
		return;
	}
	if (!end_open())
		return;
	e = vq_take_more(&h.vq, &h.c, &got);
	if (e) {
		fail(e);
		return;
	}
	if (got)
		took(true);
}

/* One piece; false when the walk is over (the chain's end, or a fault). */
static bool op_next(uint64_t max)
{
	uint8_t *p = NULL;
	uint32_t len = 0;
	enum vq_error e;

	if (!h.open)
		return false;
	e = vq_chain_next(&h.c, max, &p, &len);
	check_descs(e);
	if (e) {
		fail(e);
		return false;
	}
	if (!len)
		return false;
	check_piece(p, len, max, h.c.device_writes);
	h.walked += len;
	return true;
}

static void give_back(uint32_t len)
{
	struct rec *r = &h.ended[h.n_given];
	enum vq_error e = VQ_OK;

	struct vq_done done = { .id = r->id, .slots = r->slots };
	bool in_use = h.packed && id_in_use(r->id);

	e = vq_used_done(&h.vq, &done, len);
	h.gave_back = true;
	/* Only a packed buffer id still in use is refused (and the walk
	 * refuses it before: only two chains of one batch naming one id
	 * get here). */
	FUZZ_CHECK((e == VQ_ERR_ID_BUSY) == in_use);
	if (e) {
		fail(e);
		return;
	}
	h.n_given++;
	FUZZ_CHECK(h.n_tent < BOOK_MAX);
	h.tent[h.n_tent++] = (struct elem){ .id = r->id, .slots = r->slots, .len = len };
}

static void op_used(struct fuzz_input *in, bool walked)
{
	uint32_t len = in_u16(in);

	if (h.n_given == h.n_ended)
		return;
	give_back(walked ? h.ended[h.n_given].walked : len);
}

/* The books of what was committed: the elements given back since the
 * last commit are pending now, in the ring (but the first since the last
 * publication, held back): what the driver wrote over their slots
 * before is gone. */
static void committed(void)
{
	uint16_t slot = h.used_slot;
	bool wrap = h.used_wrap;

	FUZZ_CHECK(h.n_pend + h.n_tent <= BOOK_MAX);
	for (unsigned i = 0; h.packed && i < h.n_pend + h.n_tent; i++) {
		const struct elem *e = i < h.n_pend ? &h.pend[i] : &h.tent[i - h.n_pend];

		if (i >= h.n_pend)
			h.scribbled[slot] = 0;
		slot = (uint16_t)(slot + e->slots);
		if (slot >= h.num) {
			slot = (uint16_t)(slot - h.num);
			wrap = !wrap;
		}
	}
	(void)wrap;
	memcpy(h.pend + h.n_pend, h.tent, h.n_tent * sizeof h.tent[0]);
	h.n_pend += h.n_tent;
	books_forget_batch();
	fuzz_ring_check(&h.vq);
}

static void commit(void)
{
	vq_commit(&h.vq);
	committed();
}

/* Everything taken goes back (len bytes each) and counts. */
static void op_commit(uint32_t len)
{
	uint32_t epoch = h.vq.epoch;

	if (!end_open())
		return;
	while (h.n_given < h.n_ended) {
		give_back(len);
		if (h.vq.epoch != epoch)
			return; /* failed */
	}
	commit();
}

/* The fast path: a peek, then maybe the chain done in one step. */
static void op_single(struct fuzz_input *in, uint8_t flags)
{
	struct vq_desc d;
	uint16_t id, slot = h.packed ? h.vq.take_slot : 0;
	bool wrap = h.packed && h.vq.take_wrap;
	uint32_t len = in_u16(in);
	uint32_t tag;
	struct vq before;

	/* Its precondition: nothing tentative (as forwarding does it, right
	 * after a commit or vq_take_begin). */
	if (h.open || h.n_ended)
		return;
	FUZZ_CHECK(h.vq.taken == 0 && h.n_tent == 0);
	before = h.vq;
	if (!vq_peek_single(&h.vq, h.packed, flags & 0x20, &d, &tag)) {
		/* Nothing is taken: only where the look found nothing moves, and
		 * how ids in use are kept (the same ones, vq ids_in_place). */
		before.empty_slot = h.vq.empty_slot;
		before.empty_wrap = h.vq.empty_wrap;
		before.ids_in_place = h.vq.ids_in_place;
		FUZZ_CHECK(memcmp(&before, &h.vq, sizeof before) == 0);
		return;
	}
	id = vq_tag_id(tag);
	FUZZ_CHECK(id < h.num);
	FUZZ_CHECK(d.flags == ((flags & 0x20) ? VRING_DESC_F_WRITE : 0) ||
		   (h.packed && (d.flags & ~((1u << VRING_PACKED_DESC_F_AVAIL) |
					     (1u << VRING_PACKED_DESC_F_USED))) ==
					((flags & 0x20) ? VRING_DESC_F_WRITE : 0)));
	if (h.packed) {
		FUZZ_CHECK(id == le16toh(slot_desc(slot)->id));
		/* Free to use, on a slot not held. */
		FUZZ_CHECK(!id_in_use(id));
		FUZZ_CHECK(!(slot == h.used_slot && wrap != h.used_wrap));
	} else {
		FUZZ_CHECK((uint16_t)(h.vq.avail_seen - h.vq.last_avail) > 0);
		FUZZ_CHECK(id == le16toh(h.vq.avail->ring[h.vq.last_avail & h.vq.mask]));
	}
	if (!(flags & 0x40))
		return;
	{
		uint16_t consumed = vq_consumed(&h.vq);

		vq_single_done(&h.vq, h.packed, tag, len);
		FUZZ_CHECK(vq_consumed(&h.vq) == (uint16_t)(consumed + 1));
	}
	h.tent[h.n_tent++] = (struct elem){ .id = id, .slots = 1, .len = len };
	committed();
}

static void op_mark(void)
{
	if (h.open)
		return;
	vq_mark(&h.vq, &h.mark);
	h.mark_valid = true;
	h.mark_ended = h.n_ended;
	h.mark_tent = h.n_tent;
}

static void op_rewind(void)
{
	/* No used element may have been written after the mark. */
	if (!h.mark_valid || h.n_tent != h.mark_tent)
		return;
	vq_rewind(&h.vq, &h.mark);
	h.open = false;
	h.n_ended = h.mark_ended;
	FUZZ_CHECK(h.n_given <= h.n_ended);
}

/* What the driver reads once the device published: exactly the elements
 * committed, in order, and the used index or flags that cover them. */
static void op_publish(void)
{
	unsigned n = h.n_pend;

	if (verbose && h.packed && h.vq.has_first)
		fprintf(stderr, "  first: place 0x%x id %u len %u\n", h.vq.first.place,
			h.vq.first.id, h.vq.first.len);
	vq_publish(&h.vq);
	if (n)
		h.published_since = true;
	if (!h.packed) {
		FUZZ_CHECK(le16toh(LOAD_ONCE(h.vq.used->idx)) == (uint16_t)(h.used_idx + n));
		for (unsigned i = 0; i < n; i++) {
			const struct vring_used_elem *u = &h.vq.used->ring[(h.used_idx + i) & h.vq.mask];

			FUZZ_CHECK(le32toh(u->id) == h.pend[i].id);
			FUZZ_CHECK(le32toh(u->len) == h.pend[i].len);
		}
		h.used_idx = (uint16_t)(h.used_idx + n);
	} else {
		for (unsigned i = 0; i < n; i++) {
			const uint8_t *d = (const uint8_t *)slot_desc(h.used_slot);
			uint16_t flags = get16(d + 14);
			bool avail = flags & (1u << VRING_PACKED_DESC_F_AVAIL);
			bool used = flags & (1u << VRING_PACKED_DESC_F_USED);

			if (verbose)
				fprintf(stderr, "  used at slot %u: flags 0x%x id %u len %u (want id %u len %u wrap %d)\n",
					h.used_slot, flags, get16(d + 12), get32(d + 8), h.pend[i].id,
					h.pend[i].len, h.used_wrap);
			/* The first is written now, whole; the others went in at
			 * their commit, and may carry the driver's writes since. */
			if (i == 0 || !h.scribbled[h.used_slot]) {
				FUZZ_CHECK(avail == h.used_wrap && used == h.used_wrap);
				FUZZ_CHECK(get16(d + 12) == h.pend[i].id);
				FUZZ_CHECK(get32(d + 8) == h.pend[i].len);
				FUZZ_CHECK(!!(flags & VRING_DESC_F_WRITE) == (h.pend[i].len > 0));
			}
			for (unsigned s = 0; s < h.pend[i].slots; s++) {
				h.written_pos[h.used_wrap][h.used_slot] = 1;
				h.published_slots++;
				if (++h.used_slot == h.num) {
					h.used_slot = 0;
					h.used_wrap = !h.used_wrap;
				}
			}
		}
		/* The device's idea of where its used side stands is the driver's. */
		FUZZ_CHECK(h.vq.pub_slot == h.used_slot && h.vq.pub_wrap == h.used_wrap);
	}
	h.n_pend = 0;
}

static void op_signal(void)
{
	bool sig = true, first = !h.vq.signalled_valid, since = h.published_since;
	enum vq_error e = vq_needs_signal(&h.vq, &sig);
	uint32_t slots = h.published_slots;

	h.published_since = false;
	h.published_slots = 0;
	FUZZ_CHECK(e == VQ_OK || (e == VQ_ERR_EVENT && h.packed));
	if (e) {
		memset(h.written_pos, 0, sizeof h.written_pos);
		fail(e);
		return;
	}
	if (!since) {
		FUZZ_CHECK(!sig);
		return;
	}
	if (h.packed) {
		uint16_t flags = le16toh(h.vq.driver_event->flags) & 3u;
		uint16_t off_wrap = le16toh(h.vq.driver_event->off_wrap);

		if (flags == VRING_PACKED_EVENT_FLAG_ENABLE)
			FUZZ_CHECK(sig);
		else if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
			FUZZ_CHECK(!sig);
		else if (!first && slots <= h.num && (off_wrap & 0x7fff) < h.num)
			/* Within a lap: exactly when the descriptor the driver
			 * waits for was written since the last signal. */
			FUZZ_CHECK(sig == !!h.written_pos[off_wrap >> 15][off_wrap & 0x7fff]);
		memset(h.written_pos, 0, sizeof h.written_pos);
	}
}

/* The wish the device wrote, as the driver reads it. */
static void check_kicks(bool on)
{
	if (h.packed) {
		FUZZ_CHECK(le16toh(h.vq.device_event->flags) ==
			   (on ? VRING_PACKED_EVENT_FLAG_ENABLE : VRING_PACKED_EVENT_FLAG_DISABLE));
	} else if (h.vq.event_idx) {
		uint16_t ev = le16toh(*(uint16_t *)(void *)&h.vq.used->ring[h.num]);

		FUZZ_CHECK(ev == (on ? h.vq.avail_seen : (uint16_t)(h.vq.last_avail - 1)));
	} else {
		FUZZ_CHECK(le16toh(h.vq.used->flags) == (on ? 0 : VRING_USED_F_NO_NOTIFY));
	}
	FUZZ_CHECK(h.vq.kicks_on == on);
}

static void op_restart(bool at, uint16_t b)
{
	uint32_t base;

	/* As a ring that stops: what was taken and not committed is not
	 * given, what was committed is published. */
	vq_take_begin(&h.vq);
	books_forget_batch();
	op_publish();
	base = vq_base(&h.vq);
	FUZZ_CHECK(vq_base_valid(h.packed, h.num, base));
	/* Where it stands is where the driver's used side is. */
	if (h.packed)
		FUZZ_CHECK(base == ((uint32_t)h.used_slot | (uint32_t)h.used_wrap << 15) * 0x10001u);
	else
		FUZZ_CHECK(base == h.used_idx);
	vq_fini(&h.vq);
	if (at) {
		base = fuzz_ring_base(h.packed, h.num, b);
		if (h.packed) {
			h.drv_slot = (uint16_t)(base & 0x7fff);
			h.drv_wrap = base >> 15 & 1;
		}
	}
	ring_start(base);
}

/* ---- the driver ------------------------------------------------------------ */

/* Whether the driver may write [off, off + n) of the file: anywhere but
 * the split used ring. It may scribble over its own rings; only the
 * device writes used elements (what the harness reads back). */
static bool driver_may_write(uint32_t off, uint32_t n)
{
	uint32_t u, un;

	if (h.packed)
		return true;
	u = h.ring_file_off +
	    (uint32_t)((const uint8_t *)h.p.device_area - (const uint8_t *)h.p.desc);
	un = (uint32_t)vq_device_area_bytes(false, h.num, true);
	return off >= u + un || u >= off + n;
}

static uint16_t avail_flags(bool wrap)
{
	return wrap ? (uint16_t)(1u << VRING_PACKED_DESC_F_AVAIL)
		    : (uint16_t)(1u << VRING_PACKED_DESC_F_USED);
}

static void write_desc(uint8_t *d, uint64_t addr, uint32_t len, uint16_t a, uint16_t b)
{
	addr = htole64(addr);
	len = htole32(len);
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	put16(d + 12, a);
	put16(d + 14, b);
}

static uint16_t driver_id(uint8_t b)
{
	/* Mostly the driver's next, sometimes whatever it likes. */
	if (b & 0x80)
		return b & 0x7f;
	h.drv_next_id = (uint16_t)((h.drv_next_id + 1) % h.num);
	return h.drv_next_id;
}

/* n descriptors as one chain (the last one's flags extra), made available. */
static void post_chain(struct fuzz_input *in, unsigned n, uint16_t id, bool write,
		       uint64_t last_addr, uint32_t last_len, uint16_t last_extra)
{
	uint16_t w = write ? VRING_DESC_F_WRITE : 0;

	if (h.packed) {
		uint16_t head = h.drv_slot, head_flags = 0;

		for (unsigned i = 0; i < n; i++) {
			bool last = i + 1 == n;
			uint64_t addr = last && last_extra ? last_addr : gpa_of(in_u16(in));
			uint32_t len = last && last_extra ? last_len : in_u16(in);
			uint16_t flags = (uint16_t)(avail_flags(h.drv_wrap) |
						    (last ? last_extra : VRING_DESC_F_NEXT) |
						    (last && last_extra ? 0 : w));
			uint8_t *d = (uint8_t *)&h.vq.ring[h.drv_slot];

			if (i == 0)
				head_flags = flags;
			h.scribbled[h.drv_slot] = 1;
			/* The head's flags last: the chain appears whole. */
			write_desc(d, addr, len, id, i == 0 ? get16(d + 14) : flags);
			if (++h.drv_slot == h.num) {
				h.drv_slot = 0;
				h.drv_wrap = !h.drv_wrap;
			}
		}
		put16((uint8_t *)&h.vq.ring[head] + 14, head_flags);
		return;
	}
	{
		uint16_t head = h.drv_next_desc, idx = le16toh(h.vq.avail->idx);

		for (unsigned i = 0; i < n; i++) {
			bool last = i + 1 == n;
			uint16_t at = (uint16_t)((head + i) % h.num);
			uint64_t addr = last && last_extra ? last_addr : gpa_of(in_u16(in));
			uint32_t len = last && last_extra ? last_len : in_u16(in);
			uint16_t flags = (uint16_t)((last ? last_extra : VRING_DESC_F_NEXT) |
						    (last && last_extra ? 0 : w));

			write_desc((uint8_t *)&h.vq.desc[at], addr, len, flags,
				   (uint16_t)((at + 1) % h.num));
		}
		h.drv_next_desc = (uint16_t)((head + n) % h.num);
		h.vq.avail->ring[idx & h.vq.mask] = htole16(head);
		h.vq.avail->idx = htole16((uint16_t)(idx + 1));
	}
}

static void op_post(struct fuzz_input *in, uint8_t flags)
{
	unsigned n = 1 + in_u8(in) % 16;
	uint16_t id = driver_id(in_u8(in));

	post_chain(in, n, id, flags & 0x20, 0, 0, 0);
}

/* A chain whose last descriptor names a table of n (written where the
 * input says, maybe unaligned; a packed table's entries carry only WRITE
 * unless the input says more). */
static void op_post_indirect(struct fuzz_input *in, uint8_t flags)
{
	unsigned n = 1 + in_u8(in) % 32;
	uint16_t id = driver_id(in_u8(in));
	uint16_t at = in_u16(in) % FILE_SIZE;
	unsigned before = 1 + (flags >> 6); /* descriptors in the ring, the table's included */

	if (at + 16u * n > FILE_SIZE)
		n = (FILE_SIZE - at) / 16;
	if (!n || !driver_may_write(at, 16 * n))
		return;
	scribble(at, 16 * n);
	for (unsigned i = 0; i < n; i++) {
		uint64_t addr = gpa_of(in_u16(in));
		uint32_t len = in_u16(in);
		uint16_t f = (flags & 0x20) ? VRING_DESC_F_WRITE : 0;

		if (h.packed) {
			write_desc(image + at + 16 * i, addr, len, 0, f);
		} else {
			if (i + 1 < n)
				f |= VRING_DESC_F_NEXT;
			write_desc(image + at + 16 * i, addr, len, f, (uint16_t)(i + 1));
		}
	}
	post_chain(in, before, id, flags & 0x20, gpa_of(at), 16 * n, VRING_DESC_F_INDIRECT);
}

/* Raw bytes. */
static void op_write(struct fuzz_input *in)
{
	uint16_t off = in_u16(in) % FILE_SIZE;
	unsigned n = in_u8(in);
	uint8_t buf[256];

	in_bytes(in, buf, n);
	if (off + n > FILE_SIZE)
		n = FILE_SIZE - off;
	if (driver_may_write(off, n)) {
		memcpy(image + off, buf, n);
		scribble(off, n);
	}
}

static void op_wish(struct fuzz_input *in)
{
	uint16_t a = in_u16(in), b = in_u16(in);

	if (h.packed) {
		h.vq.driver_event->off_wrap = htole16(a);
		h.vq.driver_event->flags = htole16(b);
	} else {
		h.vq.avail->flags = htole16(a);
		h.vq.avail->ring[h.num] = htole16(b); /* used_event */
	}
}

/* ---- one input ----------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint8_t cfg = in_u8(&in);
	uint16_t size_raw = in_u16(&in), base_raw = in_u16(&in), image_len = in_u16(&in);
	bool packed = cfg & CFG_PACKED;
	uint16_t num = packed ? (uint16_t)(1u + size_raw % PACKED_NUM_MAX)
			      : (uint16_t)(1u << (size_raw % 9));

	memset(image, 0, FILE_SIZE);
	in_bytes(&in, image, MIN((size_t)image_len, (size_t)FILE_SIZE));
	if (image_len > FILE_SIZE) {
		size_t skip = MIN((size_t)(image_len - FILE_SIZE), in.left);

		in.p += skip;
		in.left -= skip;
	}

	vq_fini(&h.vq);
	memset(&h, 0, sizeof h);
	h.mem = &mems[(cfg & CFG_GAP) ? 1 : 0];
	h.mem->hit = (struct gm_hit){ 0 };
	h.packed = packed;
	h.num = num;
	/* Areas sized for EVENT_IDX, so vq_move may turn it on. */
	h.p = (struct vq_params){ .num = num, .packed = packed, .event_idx = true,
				  .indirect = cfg & CFG_INDIRECT };
	FUZZ_CHECK(fuzz_ring_place(h.mem, layout_gpa[(cfg & CFG_GAP) ? 1 : 0][(cfg & CFG_RING_R1) ? 1 : 0],
				   &h.p));
	h.ring_file_off = (cfg & CFG_RING_R1) ? REGION : 0;
	h.p.event_idx = cfg & CFG_EVENT_IDX;
	if (verbose)
		fprintf(stderr, "%s ring of %u, base 0x%x%s%s\n", packed ? "packed" : "split", num,
			fuzz_ring_base(packed, num, base_raw), (cfg & CFG_EVENT_IDX) ? ", event_idx" : "",
			(cfg & CFG_INDIRECT) ? ", indirect" : "");
	ring_start(fuzz_ring_base(packed, num, base_raw));
	if (packed) {
		h.drv_slot = h.used_slot;
		h.drv_wrap = h.used_wrap;
	}

	for (unsigned i = 0; i < MAX_OPS && in.left; i++) {
		uint8_t b = in_u8(&in), flags = b & 0xe0;
		enum op op = (enum op)((b & 31) % OP_COUNT);
		bool any;

		if (verbose)
			fprintf(stderr, "op %u: %s 0x%x (taken %u, ended %u, given %u, tent %u, pend %u%s)\n",
				i, op_names[op], flags, h.vq.taken, h.n_ended, h.n_given, h.n_tent,
				h.n_pend, h.open ? ", open" : "");

		switch (op) {
		case OP_AVAIL: {
			enum vq_error e = vq_avail(&h.vq, &any);

			FUZZ_CHECK(e == VQ_OK || (e == VQ_ERR_AVAIL_IDX && !packed));
			if (e)
				fail(e);
			break;
		}
		case OP_TAKE:
			op_take(flags & 0x20);
			break;
		case OP_TAKE_MORE:
			op_take_more();
			break;
		case OP_NEXT: {
			uint16_t max = in_u16(&in);

			op_next(max ? max : UINT32_MAX);
			break;
		}
		case OP_WALK: {
			uint16_t max = in_u16(&in);

			for (unsigned k = 0; k < MAX_PIECES && op_next(max ? max : UINT32_MAX); k++)
				;
			break;
		}
		case OP_END:
			end_open();
			break;
		case OP_USED:
			op_used(&in, flags & 0x20);
			break;
		case OP_PACKET:
			op_commit(h.walked);
			break;
		case OP_SINGLE:
			op_single(&in, flags);
			break;
		case OP_MARK:
			op_mark();
			break;
		case OP_REWIND:
			op_rewind();
			break;
		case OP_BEGIN:
			vq_take_begin(&h.vq);
			books_forget_batch();
			break;
		case OP_COMMIT:
			op_commit(in_u16(&in));
			break;
		case OP_PUBLISH:
			op_publish();
			break;
		case OP_KICKS_ON:
			vq_kicks_enable(&h.vq);
			check_kicks(true);
			h.kicks_known = true;
			break;
		case OP_KICKS_OFF: {
			bool was_on = h.vq.kicks_on;

			vq_kicks_disable(&h.vq);
			if (was_on && h.kicks_known)
				check_kicks(false);
			break;
		}
		case OP_KICKS_RESET:
			vq_kicks_reset(&h.vq, flags & 0x20);
			check_kicks(flags & 0x20);
			h.kicks_known = true;
			break;
		case OP_GREW: {
			enum vq_error e = vq_avail_grew(&h.vq, &any);

			FUZZ_CHECK(e == VQ_OK || (e == VQ_ERR_AVAIL_IDX && !packed));
			if (e)
				fail(e);
			break;
		}
		case OP_SIGNAL:
			op_signal();
			break;
		case OP_FREEZE:
			/* Every freeze is a new "now" for what it may still give. */
			vq_freeze(&h.vq);
			h.frozen = true;
			h.frozen_consumed = vq_consumed(&h.vq);
			h.frozen_held = (uint32_t)h.vq.frozen_left;
			break;
		case OP_PEEK: {
			struct vq_desc d;

			/* A hint: anything, so long as it reads only the ring. */
			(void)vq_peek(&h.vq, packed, in_u8(&in), &d);
			break;
		}
		case OP_ALL_TAKEN:
			any = vq_all_taken(&h.vq);
			/* Split: every avail entry, or every descriptor walked. */
			if (!packed)
				FUZZ_CHECK(any == (h.vq.taken == num || h.vq.taken_descs >= num));
			break;
		case OP_RESTART:
			op_restart(false, 0);
			break;
		case OP_RESTART_AT:
			op_restart(true, in_u16(&in));
			break;
		case OP_MOVE: {
			struct vq_params p = h.p;

			p.event_idx = flags & 0x20;
			p.indirect = flags & 0x40;
			vq_move(&h.vq, &p);
			h.p = p;
			h.kicks_known = false;
			break;
		}
		case OP_POST:
			h.drv_wrote = true;
			op_post(&in, flags);
			break;
		case OP_POST_INDIRECT:
			h.drv_wrote = true;
			op_post_indirect(&in, flags);
			break;
		case OP_WRITE:
			h.drv_wrote = true;
			op_write(&in);
			break;
		case OP_WISH:
			op_wish(&in);
			break;
		case OP_COUNT:
			break;
		}
		check_always();
	}
	vq_fini(&h.vq);
	return 0;
}
