/* SPDX-License-Identifier: MIT */
/*
 * vnet-p2p-fwd-cost: the datapath alone, in one process, without sockets,
 * kicks or a second core. Two driver sides are played here (a sender's TX
 * ring and a receiver's RX ring, each split or packed, over one memfd),
 * and the server's forwarding code moves bursts between them. Prints
 * nanoseconds per packet; under callgrind with
 * --toggle-collect=forward_packets (bench/run.sh does that), the count of
 * instructions the server spends per packet, the same on any machine and
 * under any load.
 *
 *   vnet-p2p-fwd-cost [--tx split|packed] [--rx split|packed] [--size BYTES]
 *                     [--packets N] [--burst N] [--verify]
 *
 * --verify stamps every frame with its number and checks each one the
 * receiver gets (header, length, stamp, payload): the same loop as a test.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "link/forward.h"
#include "net/virtio_net.h"
#include "virtio/guest_mem.h"
#include "virtio/virtqueue.h"

#define RING 256
#define BUF 2048
#define HDR 12
#define GPA 0x100000ull
#define MEM (8u << 20)

static uint8_t *host;

static uint64_t gpa_alloc(uint64_t *next, uint64_t len, uint64_t align)
{
	uint64_t at = (*next + align - 1) & ~(align - 1);

	*next = at + len;
	if (*next > GPA + MEM) {
		fprintf(stderr, "out of fixture memory\n");
		exit(1);
	}
	return at;
}

static void *at_gpa(uint64_t gpa)
{
	return host + (gpa - GPA);
}

static bool verify;
static uint64_t next_sent, next_received;

/* The frame of the packet numbered n, as the sender writes it and the
 * receiver must find it: the number, then bytes that follow from it. */
static void stamp(uint8_t *frame, uint32_t len, uint64_t n)
{
	memcpy(frame, &n, sizeof n);
	for (uint32_t i = sizeof n; i < len; i++)
		frame[i] = (uint8_t)(n * 31 + i);
}

/* One ring as its driver sees it. */
struct drv {
	struct vq vq;
	bool packed, device_writes;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct vring_packed_desc *ring;
	uint16_t next;       /* buffers made available (split: avail idx) */
	uint16_t used_seen;  /* split: used elements read */
	uint16_t slot, used_slot;
	bool wrap, used_wrap;
	unsigned outstanding; /* available, not yet used */
	uint64_t bufs;        /* gpa of buffer 0 */
};

static void drv_init(struct drv *d, uint64_t *next, struct guest_mem *mem, bool packed,
		     bool device_writes, uint32_t len)
{
	struct vq_params p = { .mem = mem, .num = RING, .packed = packed, .indirect = true,
			       .base = packed ? 0x8000 : 0 };
	uint64_t desc = gpa_alloc(next, vq_desc_area_bytes(packed, RING), 16);
	uint64_t drv = gpa_alloc(next, vq_driver_area_bytes(packed, RING, false), 4);
	uint64_t dev = gpa_alloc(next, vq_device_area_bytes(packed, RING, false), 4);

	memset(d, 0, sizeof *d);
	d->packed = packed;
	d->device_writes = device_writes;
	d->bufs = gpa_alloc(next, (uint64_t)RING * BUF, 64);
	p.desc = at_gpa(desc);
	p.driver_area = at_gpa(drv);
	p.device_area = at_gpa(dev);
	d->wrap = d->used_wrap = true;
	if (packed) {
		d->ring = p.desc;
	} else {
		d->desc = p.desc;
		d->avail = p.driver_area;
		d->used = p.device_area;
		for (unsigned i = 0; i < RING; i++) {
			d->desc[i].addr = htole64(d->bufs + (uint64_t)i * BUF);
			d->desc[i].len = htole32(len);
			d->desc[i].flags = htole16(device_writes ? VRING_DESC_F_WRITE : 0);
		}
	}
	if (vq_init(&d->vq, &p) < 0)
		exit(1);
	/* The sender's frames: a zeroed header, then a frame; written once. */
	if (!device_writes)
		for (unsigned i = 0; i < RING; i++)
			memset((uint8_t *)at_gpa(d->bufs + (uint64_t)i * BUF) + HDR, 0x5a, len - HDR);
}

/* Make n more buffers available, in order (buffer i in slot i). */
static void drv_post(struct drv *d, unsigned n, uint32_t len)
{
	if (!d->packed) {
		for (unsigned k = 0; k < n; k++, d->next++) {
			if (verify && !d->device_writes)
				stamp((uint8_t *)at_gpa(d->bufs + (uint64_t)(d->next % RING) * BUF) + HDR,
				      len - HDR, next_sent++);
			d->avail->ring[d->next % RING] = htole16(d->next % RING);
		}
		__atomic_store_n(&d->avail->idx, htole16(d->next), __ATOMIC_RELEASE);
		d->outstanding += n;
		return;
	}
	for (unsigned k = 0; k < n; k++) {
		struct vring_packed_desc *e = &d->ring[d->slot];
		uint16_t flags = (uint16_t)(d->wrap ? 1u << VRING_PACKED_DESC_F_AVAIL
						    : 1u << VRING_PACKED_DESC_F_USED);

		if (d->device_writes)
			flags |= VRING_DESC_F_WRITE;
		if (verify && !d->device_writes)
			stamp((uint8_t *)at_gpa(d->bufs + (uint64_t)d->slot * BUF) + HDR, len - HDR,
			      next_sent++);
		e->addr = htole64(d->bufs + (uint64_t)d->slot * BUF);
		e->len = htole32(len);
		e->id = htole16(d->slot);
		__atomic_store_n(&e->flags, htole16(flags), __ATOMIC_RELEASE);
		if (++d->slot == RING) {
			d->slot = 0;
			d->wrap = !d->wrap;
		}
	}
	d->outstanding += n;
}

static void check_frame(const uint8_t *buf, uint32_t used_len, uint32_t size)
{
	uint8_t want[BUF];
	uint16_t num_buffers;

	stamp(want, size, next_received);
	memcpy(&num_buffers, buf + 10, 2);
	if (used_len != HDR + size || le16toh(num_buffers) != 1 || buf[0] != 0 || buf[1] != 0 ||
	    memcmp(buf + HDR, want, size)) {
		fprintf(stderr, "frame %llu arrived wrong (used length %u, num_buffers %u)\n",
			(unsigned long long)next_received, used_len, le16toh(num_buffers));
		exit(1);
	}
	next_received++;
}

/* Take back what the device used; the receiver's frames checked with
 * --verify (size: the frame length expected). */
static void drv_reclaim(struct drv *d, uint32_t size)
{
	if (!d->packed) {
		uint16_t idx = le16toh(__atomic_load_n(&d->used->idx, __ATOMIC_ACQUIRE));

		for (; verify && d->device_writes && d->used_seen != idx; d->used_seen++) {
			struct vring_used_elem e = d->used->ring[d->used_seen % RING];

			check_frame(at_gpa(d->bufs + (uint64_t)le32toh(e.id) * BUF), le32toh(e.len),
				    size);
			d->outstanding--;
		}
		d->outstanding -= (uint16_t)(idx - d->used_seen);
		d->used_seen = idx;
		return;
	}
	for (;;) {
		struct vring_packed_desc *e = &d->ring[d->used_slot];
		uint16_t f = le16toh(__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE));
		bool avail = f & (1u << VRING_PACKED_DESC_F_AVAIL);
		bool used = f & (1u << VRING_PACKED_DESC_F_USED);

		if (avail != used || used != d->used_wrap)
			return;
		if (verify && d->device_writes)
			check_frame(at_gpa(d->bufs + (uint64_t)le16toh(e->id) * BUF), le32toh(e->len),
				    size);
		d->outstanding--;
		if (++d->used_slot == RING) {
			d->used_slot = 0;
			d->used_wrap = !d->used_wrap;
		}
	}
}

static bool is_packed(const char *s)
{
	if (!strcmp(s, "packed"))
		return true;
	if (strcmp(s, "split")) {
		fprintf(stderr, "a ring is split or packed, not '%s'\n", s);
		exit(2);
	}
	return false;
}

int main(int argc, char **argv)
{
	bool tx_packed = false, rx_packed = false;
	unsigned size = 64, burst = 32;
	unsigned long long packets = 2000000;
	struct gm_region_spec spec = { .gpa = GPA, .size = MEM, .uva = GPA };
	struct guest_mem mem = { 0 };
	struct gm_region region;
	struct drv tx, rx;
	struct port_stats s_stats = { 0 }, r_stats = { 0 };
	struct log_ratelimit rl = { 0 };
	struct fwd_end src = { 0 }, dst = { 0 };
	struct timespec t0, t1;
	uint64_t next = GPA;
	char err[160];
	int fd;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : "";

		if (!strcmp(argv[i], "--tx"))
			tx_packed = is_packed(v), i++;
		else if (!strcmp(argv[i], "--rx"))
			rx_packed = is_packed(v), i++;
		else if (!strcmp(argv[i], "--size"))
			size = (unsigned)strtoul(v, NULL, 10), i++;
		else if (!strcmp(argv[i], "--packets"))
			packets = strtoull(v, NULL, 10), i++;
		else if (!strcmp(argv[i], "--burst"))
			burst = (unsigned)strtoul(v, NULL, 10), i++;
		else if (!strcmp(argv[i], "--verify"))
			verify = true;
		else {
			fprintf(stderr, "usage: %s [--tx split|packed] [--rx split|packed] "
					"[--size BYTES] [--packets N] [--burst N] [--verify]\n", argv[0]);
			return 2;
		}
	}
	if (size < 14 || size + HDR > BUF || burst == 0 || burst > RING / 2) {
		fprintf(stderr, "size must be 14..%u and burst 1..%u\n", BUF - HDR, RING / 2);
		return 2;
	}

	fd = memfd_create("fwd-cost", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, MEM) < 0 ||
	    gm_map_region(&spec, fd, NULL, &region, err, sizeof err) < 0 ||
	    gm_insert(&mem, &region, 8, err, sizeof err) < 0) {
		fprintf(stderr, "client memory: %s\n", fd < 0 ? strerror(errno) : err);
		return 1;
	}
	host = gm_gpa_range(&mem, GPA, MEM);
	drv_init(&tx, &next, &mem, tx_packed, false, HDR + size);
	drv_init(&rx, &next, &mem, rx_packed, true, BUF);

	src = (struct fwd_end){ .vq = &tx.vq, .features = BIT64(VIRTIO_F_VERSION_1) |
							   BIT64(VIRTIO_NET_F_MRG_RXBUF),
				.stats = &s_stats, .ratelimit = &rl, .name = "tx" };
	dst = (struct fwd_end){ .vq = &rx.vq, .features = src.features, .stats = &r_stats,
				.ratelimit = &rl, .name = "rx", .port = 1 };

	drv_post(&rx, RING, BUF);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (s_stats.tx_packets < packets) {
		struct fwd_budget budget = { .descs = 512, .bytes = 512 * 1024 };
		struct fwd_fault fault;

		if (RING - tx.outstanding >= burst)
			drv_post(&tx, burst, HDR + size);
		if (RING - rx.outstanding >= burst)
			drv_post(&rx, burst, BUF);
		if (forward_packets(&src, &dst, &budget, &fault) == FWD_FAULT) {
			fprintf(stderr, "fault: %s (%s)\n", vq_error_str(fault.error),
				fault.guilty ? "receiver" : "sender");
			return 1;
		}
		vq_publish(&tx.vq);
		vq_publish(&rx.vq);
		drv_reclaim(&tx, size);
		drv_reclaim(&rx, size);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("tx %s rx %s size %u burst %u: %llu packets, %.1f ns/packet\n",
	       tx_packed ? "packed" : "split", rx_packed ? "packed" : "split", size, burst,
	       (unsigned long long)s_stats.tx_packets,
	       ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
		       (double)s_stats.tx_packets);
	vq_fini(&tx.vq);
	vq_fini(&rx.vq);
	if (verify && next_received + RING < s_stats.tx_packets) {
		fprintf(stderr, "%llu frames checked of %llu sent\n",
			(unsigned long long)next_received, (unsigned long long)s_stats.tx_packets);
		return 1;
	}
	return s_stats.drop_bad || s_stats.drop_too_big ? 1 : 0;
}
