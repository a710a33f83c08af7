/* SPDX-License-Identifier: MIT */
/*
 * Round-trip latency through a switch: two driver-library clients in one
 * thread, one on each port, bounce a frame back and forth. Both poll their
 * rings (no interrupts, no sleeping), so a switch that never interrupts its
 * clients (DPDK's vhost PMD) is measured the same way as one that does.
 *
 *   vnet-p2p-pingpong PATH_A PATH_B [COUNT] [SIZE]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vnet-p2p/driver.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Send, then spin until the other side has it; false after a second. */
static int hop(struct vnd *from, struct vnd *to, uint8_t *frame, size_t len)
{
	static uint8_t in[2048];
	uint64_t deadline = now_ns() + 1000000000ull;
	ssize_t n;

	while (vnd_send(from, frame, len, NULL) == -EAGAIN)
		if (now_ns() > deadline)
			return -1;
	while ((n = vnd_recv(to, in, sizeof in, NULL)) == -EAGAIN)
		if (now_ns() > deadline)
			return -1;
	return n == (ssize_t)len && memcmp(in, frame, len) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	unsigned count = argc > 3 ? (unsigned)atoi(argv[3]) : 10000;
	size_t len = argc > 4 ? (size_t)atoi(argv[4]) : 64;
	struct vnd_config cfg;
	struct vnd *a, *b;
	uint8_t frame[2048];
	uint64_t *rtt;
	unsigned done = 0;

	if (argc < 3 || len < 60 || len > 1514 || !count) {
		fprintf(stderr, "usage: %s PATH_A PATH_B [COUNT] [SIZE 60..1514]\n", argv[0]);
		return 2;
	}
	vnd_config_init(&cfg);
	cfg.call_nofd = true; /* we poll */
	if (vnd_open_path(&a, argv[1], &cfg) || vnd_open_path(&b, argv[2], &cfg)) {
		fprintf(stderr, "cannot open the ports\n");
		return 1;
	}
	rtt = calloc(count, sizeof *rtt);
	memset(frame, 0xff, 12);
	frame[12] = 0x88;
	frame[13] = 0xb5;
	for (size_t i = 14; i < len; i++)
		frame[i] = (uint8_t)i;
	/* Warm up (caches, both ends' first wake-ups), then measure. */
	for (unsigned i = 0; i < 2000; i++)
		if (hop(a, b, frame, len) || hop(b, a, frame, len))
			break;
	for (; done < count; done++) {
		uint64_t t0 = now_ns();

		memcpy(frame + 14, &done, sizeof done);
		if (hop(a, b, frame, len) || hop(b, a, frame, len))
			break;
		rtt[done] = now_ns() - t0;
	}
	if (done < count) {
		fprintf(stderr, "round trip %u lost\n", done);
		return 1;
	}
	qsort(rtt, count, sizeof *rtt, cmp);
	printf("round trips %u of %zu bytes: p50 %.1f us, p99 %.1f us\n", count, len,
	       (double)rtt[count / 2] / 1e3, (double)rtt[count * 99 / 100] / 1e3);
	vnd_close(a);
	vnd_close(b);
	free(rtt);
	return 0;
}
