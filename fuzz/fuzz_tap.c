/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the TAP datapath (link/tap_forward.c) over a client's
 * memory whose every byte (rings, descriptors, indirect tables, headers,
 * frames) comes from the input, with the kernel played by the harness:
 * readv and writev are replaced by functions that check every piece they
 * are given lies in the client's memory or in the datapath's own buffers,
 * touch every byte of it, and hand out frames (header included) taken from
 * the input, returning the whole length as a TAP does when it truncates.
 *
 * Input: a CFG_SIZE-byte header (below), the client's memory image (split
 * bytes), then kernel frames: a u16 length and that many bytes each.
 * Either ring may be packed (bits of the budget byte), the client then
 * writing whatever it likes into its descriptors and event areas.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fuzz_features.h"
#include "fuzz_input.h"
#include "fuzz_ring.h"

static ssize_t fuzz_readv(int fd, const struct iovec *iov, int cnt);
static ssize_t fuzz_writev(int fd, const struct iovec *iov, int cnt);

/* The code under test, with the harness as its kernel. */
#define readv fuzz_readv
#define writev fuzz_writev
#include "../src/link/tap_forward.c"
#undef readv
#undef writev

#include "util/checked.h"
#include "virtio/guest_mem.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REGION 8192u
#define NREGIONS 2
#define FILE_SIZE (REGION * NREGIONS)
#define MAX_FRAMES 8

/* Feature byte (fuzz_features.h), plus two of our own. */
#define FB_HDR_OTHER 0x40u /* the TAP's header length is not the client's */
#define FB_NOT_READABLE 0x80u

/* u8 features, u8 ring size s (bit 7: the client has the HOST_ offloads,
 * bit 6: the GUEST_ ones, and the kernel may hand it GSO frames; a split
 * ring has 1 << (s % 7) entries, a packed one 1 + (s & 63)), u16 TX base,
 * u16 RX base (packed: index % size, wrap counter in bit 15), u16
 * frame_max (14 + it % 9100), u8 budget (descriptors: 1 + b % 64; bit 6:
 * the TX ring is packed, bit 7: the RX ring), u8 frames, u16 image size.
 * The TX ring lies at the start of region 0, the RX ring at the start of
 * region 1 (guest-physical 0 and REGION). A kernel frame is a u16 n and
 * then header + 14 + n % 9100 bytes. */
#define CFG_SIZE 12
#define BUDGET_TX_PACKED 0x40u
#define BUDGET_RX_PACKED 0x80u

static int mem_fd;
static uint8_t *image;
static struct guest_mem mem;
static struct tap tap;

/* The frames the "kernel" has for us, from the input. */
static struct fuzz_input frames;
static unsigned frames_left;

bool tap_refresh_mtu(struct tap *t)
{
	(void)t;
	return false;
}

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
	mem_fd = memfd_create("fuzz-tap-client", MFD_CLOEXEC);
	FUZZ_CHECK(mem_fd >= 0);
	FUZZ_CHECK(ftruncate(mem_fd, FILE_SIZE) == 0);
	image = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mem_fd, 0);
	FUZZ_CHECK(image != MAP_FAILED);
	for (unsigned i = 0; i < NREGIONS; i++) {
		struct gm_region_spec spec = {
			.gpa = (uint64_t)i * REGION,
			.size = REGION,
			.uva = 0x7f0000000000ull + (uint64_t)i * REGION,
			.mmap_offset = (uint64_t)i * REGION,
		};
		struct gm_region r;

		FUZZ_CHECK(gm_map_region(&spec, mem_fd, NULL, &r, err, sizeof err) == 0);
		guard_page((uint8_t *)r.map_base - page);
		guard_page((uint8_t *)r.map_base + r.map_len);
		FUZZ_CHECK(gm_insert(&mem, &r, NREGIONS, err, sizeof err) == 0);
	}
	tap.buf = tap_buffers_new();
	FUZZ_CHECK(tap.buf);
	return 0;
}

/* ---- the kernel ----------------------------------------------------------- */

static bool in_client(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;

	for (unsigned i = 0; i < mem.count; i++) {
		uintptr_t h = (uintptr_t)mem.region[i].host;

		if (a >= h && range_within(a - h, len, 0, mem.region[i].size))
			return true;
	}
	return false;
}

static bool in_ours(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)tap.buf;

	return a >= b && range_within(a - b, len, 0, sizeof *tap.buf);
}

/* Every piece is ours or the client's, and no more than a frame in all. */
static size_t check_iov(const struct iovec *iov, int cnt)
{
	volatile uint8_t sink = 0;
	size_t total = 0;

	FUZZ_CHECK(cnt >= 1 && cnt <= TAP_IOV_MAX);
	FUZZ_CHECK(iov[0].iov_base == tap.buf->hdr && iov[0].iov_len == tap.hdr_len);
	for (int i = 0; i < cnt; i++) {
		const uint8_t *p = iov[i].iov_base;

		FUZZ_CHECK(iov[i].iov_len > 0);
		FUZZ_CHECK(in_ours(p, iov[i].iov_len) || in_client(p, iov[i].iov_len));
		sink ^= p[0] ^ p[iov[i].iov_len - 1];
		total += iov[i].iov_len;
	}
	(void)sink;
	return total;
}

static ssize_t fuzz_writev(int fd, const struct iovec *iov, int cnt)
{
	size_t total = check_iov(iov, cnt);

	(void)fd;
	FUZZ_CHECK(total <= tap.hdr_len + VNET_FRAME_MAX);
	FUZZ_CHECK(total >= tap.hdr_len + ETH_HEADER_LEN);
	return (ssize_t)total;
}

static ssize_t fuzz_readv(int fd, const struct iovec *iov, int cnt)
{
	static uint8_t frame[0x10000];
	uint16_t len;
	size_t at = 0;

	(void)fd;
	if (!frames_left) {
		errno = EAGAIN;
		return -1;
	}
	frames_left--;
	/* A header and at least an Ethernet header, as the kernel sends. */
	len = (uint16_t)(tap.hdr_len + ETH_HEADER_LEN + in_u16(&frames) % 9100);
	in_bytes(&frames, frame, len);
	check_iov(iov, cnt);
	for (int i = 0; i < cnt && at < len; i++) {
		size_t n = MIN(iov[i].iov_len, len - at);

		memcpy(iov[i].iov_base, frame + at, n);
		at += n;
	}
	return len;
}

/* ---- one input -------------------------------------------------------------- */

/* A ring at the start of region r: descriptors, driver area, device area. */
static void ring_init(struct vq *vq, unsigned r, uint8_t size, uint16_t base, uint8_t fb,
		      bool packed)
{
	uint16_t num = packed ? (uint16_t)(1u + (size & 63)) : (uint16_t)(1u << (size % 7));
	struct vq_params p = { .num = num, .packed = packed, .event_idx = fb & FB_EVENT_IDX,
			       .indirect = fb & FB_INDIRECT,
			       .base = fuzz_ring_base(packed, num, base) };

	FUZZ_CHECK(fuzz_ring_place(&mem, mem.region[r].gpa, &p));
	FUZZ_CHECK(vq_init(vq, &p) == 0);
}

/* What one call spent: at least a descriptor for every packet it took
 * from the client's ring, and past the budget by at most one packet, whose
 * walk is bounded. */
static void check_cost(const struct fwd_budget *b, int64_t descs, uint32_t packets)
{
	FUZZ_CHECK(descs - b->descs >= packets);
	FUZZ_CHECK(b->descs > -(int64_t)(VQ_PACKET_DESCS_MAX + 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	struct port_stats client_stats = { 0 }, tap_stats = { 0 };
	struct log_ratelimit rl = { 0 };
	static struct vq txq, rxq;
	struct fwd_end client_tx, client_rx, tap_end;
	struct fwd_fault fault;
	uint8_t fb = in_u8(&in), log2num = in_u8(&in);
	uint16_t tx_base = in_u16(&in), rx_base = in_u16(&in), frame_max = in_u16(&in);
	uint8_t budget = in_u8(&in), nframes = in_u8(&in);
	struct fwd_budget b;
	struct fuzz_consumed tx_consumed, rx_consumed; /* chains taken and committed */
	uint16_t split = in_u16(&in);
	/* The ring-size byte's top bits: the client's offloads, each way. */
	uint64_t features = features_from(fb) | ((log2num & 0x80) ? GSO_HOST_FEATURES : 0) |
			    ((log2num & 0x40) ? GSO_GUEST_FEATURES : 0);
	unsigned client_hdr = vnet_hdr_len(features);

	memset(image, 0, FILE_SIZE);
	in_bytes(&in, image, MIN(split, (size_t)FILE_SIZE));
	frames = in;
	frames_left = nframes % (MAX_FRAMES + 1);

	vq_fini(&txq);
	vq_fini(&rxq);
	ring_init(&txq, 0, log2num, tx_base, fb, budget & BUDGET_TX_PACKED);
	ring_init(&rxq, 1, log2num, rx_base, fb, budget & BUDGET_RX_PACKED);
	fuzz_consumed_start(&tx_consumed, &txq);
	fuzz_consumed_start(&rx_consumed, &rxq);
	client_tx = (struct fwd_end){ &txq, features, &client_stats, &rl, "client", 0, NULL, 0,
				      NULL, NULL, 0 };
	client_rx = client_tx;
	client_rx.vq = &rxq;
	tap_end = (struct fwd_end){ NULL, 0, &tap_stats, &rl, "tap", 1, NULL, 0, NULL, NULL, 0 };
	tap.hdr_len = (fb & FB_HDR_OTHER) ? 22 - client_hdr : client_hdr;
	tap.readable = !(fb & FB_NOT_READABLE);
	tap.mtu_rechecked = false;
	tap.frame_max = 14u + frame_max % 9100u;
	tap.gso_frames = log2num & 0x40;

	b = (struct fwd_budget){ budget % 64 + 1, INT64_MAX };
	if (tap_send_packets(&tap, &client_tx, &tap_end, &b, &fault) == FWD_FAULT)
		FUZZ_CHECK(fault.guilty == 0 && fault.error != VQ_OK);
	check_cost(&b, budget % 64 + 1, fuzz_consumed(&tx_consumed, &txq));
	fuzz_ring_check(&txq);
	FUZZ_CHECK(client_stats.tx_packets == tap_stats.rx_packets);
	/* Each chain given back is a packet sent or dropped, once. */
	FUZZ_CHECK(fuzz_consumed(&tx_consumed, &txq) == client_stats.tx_packets + client_stats.drop_bad +
					    client_stats.drop_too_big + client_stats.drop_no_peer);

	b = (struct fwd_budget){ budget % 64 + 1, INT64_MAX };
	if (tap_receive_packets(&tap, &tap_end, &client_rx, &b, &fault) == FWD_FAULT)
		FUZZ_CHECK(fault.guilty == 1 && fault.error != VQ_OK);
	fuzz_ring_check(&rxq);
	/* Every frame delivered took at least one chain. */
	FUZZ_CHECK(fuzz_consumed(&rx_consumed, &rxq) >= client_stats.rx_packets);
	FUZZ_CHECK(client_stats.rx_packets == tap_stats.tx_packets);
	vq_publish(&txq);
	vq_publish(&rxq);
	FUZZ_CHECK(fuzz_ring_unpublished(&txq) == 0 && fuzz_ring_unpublished(&rxq) == 0);

	tap.readable = true;
	b = (struct fwd_budget){ MAX_FRAMES, INT64_MAX };
	tap_discard_packets(&tap, &tap_end, &b);
	FUZZ_CHECK(frames_left == 0);
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "to the TAP %llu (bad %llu), to the client %llu, too big %llu, "
				"discarded %llu\n",
			(unsigned long long)tap_stats.rx_packets,
			(unsigned long long)client_stats.drop_bad,
			(unsigned long long)client_stats.rx_packets,
			(unsigned long long)tap_stats.drop_too_big,
			(unsigned long long)tap_stats.drop_no_peer);
	return 0;
}
