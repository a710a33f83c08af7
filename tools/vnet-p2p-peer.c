/* SPDX-License-Identifier: MIT */
/*
 * vnet-p2p-peer: a small client of one vnet-p2p port, built on the
 * driver-side library. It echoes frames, or sends numbered, checksummed
 * frames and checks what comes back: the demo's two ends, and an example
 * of a program that takes its port as a descriptor.
 *
 *   vnet-p2p-ctl --svr S create -- vnet-p2p-peer echo
 *   vnet-p2p-ctl --svr S create -- vnet-p2p-peer ping --count 1000
 *   vnet-p2p-ctl --svr S create -- vnet-p2p-peer --packed ping   (packed rings)
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vnet-p2p/driver.h>

#define ETHERTYPE_DEMO 0x88b5 /* IEEE "local experimental" */
#define FRAME_MAGIC 0x564e5044u
#define FRAME_MAX 65536u
#define HEAD_LEN (14 + 16)

struct options {
	int fd;
	const char *path;
	const char *mode;
	unsigned long count;
	unsigned min_size, max_size;
	unsigned timeout_ms;
	struct vnd_config cfg;
	bool quiet;
};

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* FNV-1a: enough to catch a corrupted byte, cheap to compute. */
static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

/* Ethernet header, then magic, sequence, length and a hash of the rest. */
static size_t build_frame(uint8_t *f, uint32_t seq, size_t len, const uint8_t src[6])
{
	memset(f, 0xff, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETHERTYPE_DEMO >> 8;
	f[13] = ETHERTYPE_DEMO & 0xff;
	put32(f + 14, FRAME_MAGIC);
	put32(f + 18, seq);
	put32(f + 22, (uint32_t)len);
	for (size_t i = HEAD_LEN; i < len; i++)
		f[i] = (uint8_t)rng();
	put32(f + 26, fnv1a(f + HEAD_LEN, len - HEAD_LEN));
	return len;
}

/* 0 when f is an intact demo frame; its sequence number in *seq. */
static int check_frame(const uint8_t *f, size_t len, uint32_t *seq)
{
	if (len < HEAD_LEN || get32(f + 14) != FRAME_MAGIC || get32(f + 22) != len)
		return -1;
	*seq = get32(f + 18);
	return get32(f + 26) == fnv1a(f + HEAD_LEN, len - HEAD_LEN) ? 0 : -1;
}

static int send_blocking(struct vnd *d, const void *f, size_t len, unsigned timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000;
	int rc;

	while ((rc = vnd_send(d, f, len, NULL)) == -EAGAIN) {
		if (stopping || now_ns() > deadline)
			return -ETIMEDOUT;
		vnd_wait(d, 10);
	}
	return rc;
}

static int run_echo(struct vnd *d, const struct options *o)
{
	static uint8_t buf[FRAME_MAX];
	unsigned long echoed = 0;

	while (!stopping && (!o->count || echoed < o->count)) {
		ssize_t n = vnd_recv(d, buf, sizeof buf, NULL);

		if (n == -EAGAIN) {
			vnd_wait(d, 100);
			continue;
		}
		if (n < 0) {
			fprintf(stderr, "vnet-p2p-peer: receive failed: %s\n", vnd_last_error(d));
			return 1;
		}
		if (n >= 12) {
			/* Back to the sender: swap the addresses. */
			uint8_t tmp[6];

			memcpy(tmp, buf, 6);
			memcpy(buf, buf + 6, 6);
			memcpy(buf + 6, tmp, 6);
		}
		if (send_blocking(d, buf, (size_t)n, o->timeout_ms) < 0) {
			fprintf(stderr, "vnet-p2p-peer: echo stalled: %s\n", vnd_last_error(d));
			return 1;
		}
		echoed++;
	}
	if (!o->quiet)
		printf("echo: %lu frames returned\n", echoed);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int run_ping(struct vnd *d, const struct options *o)
{
	static uint8_t out[FRAME_MAX], in[FRAME_MAX];
	uint64_t *rtt = calloc(o->count ? o->count : 1, sizeof *rtt);
	uint64_t bytes = 0, started = now_ns();
	unsigned long good = 0, bad = 0;
	uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	double secs;

	if (!rtt)
		return 1;
	vnd_get_mac(d, mac);
	for (unsigned long seq = 0; seq < o->count && !stopping; seq++) {
		size_t len = o->min_size + (o->max_size > o->min_size
						    ? rng() % (o->max_size - o->min_size + 1)
						    : 0);
		uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)o->timeout_ms * 1000000;
		uint32_t got_seq;
		ssize_t n;

		build_frame(out, (uint32_t)seq, len, mac);
		if (send_blocking(d, out, len, o->timeout_ms) < 0) {
			fprintf(stderr, "vnet-p2p-peer: send of frame %lu stalled\n", seq);
			break;
		}
		while ((n = vnd_recv(d, in, sizeof in, NULL)) == -EAGAIN && now_ns() < deadline &&
		       !stopping)
			vnd_wait(d, 10);
		if (n < 0) {
			fprintf(stderr, "vnet-p2p-peer: no echo of frame %lu: %s\n", seq,
				n == -EAGAIN ? "timed out" : vnd_last_error(d));
			break;
		}
		rtt[good + bad] = now_ns() - t0;
		/* The echo has the addresses swapped; the rest must be identical. */
		if ((size_t)n == len && memcmp(in + 12, out + 12, len - 12) == 0 &&
		    check_frame(in, (size_t)n, &got_seq) == 0 && got_seq == seq) {
			good++;
			bytes += len;
		} else {
			bad++;
		}
	}
	secs = (double)(now_ns() - started) / 1e9;
	if (good + bad) {
		qsort(rtt, good + bad, sizeof *rtt, cmp_u64);
		printf("ping: %lu frames of %u..%u bytes echoed intact, %lu damaged, %lu missing; "
		       "%.1f MB each way in %.2f s; round trip p50 %.1f us, p99 %.1f us\n",
		       good, o->min_size, o->max_size, bad, o->count - good - bad, (double)bytes / 1e6,
		       secs, (double)rtt[(good + bad) / 2] / 1e3,
		       (double)rtt[(good + bad) * 99 / 100] / 1e3);
	}
	free(rtt);
	return good == o->count ? 0 : 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: vnet-p2p-peer [options] echo|ping\n"
		"  --fd N            the port descriptor (default: $VNET_P2P_PORT_FD)\n"
		"  --path P          connect to a listen= port instead\n"
		"  --count N         frames to send (ping) or echo (echo; 0: forever)\n"
		"  --size MIN[-MAX]  frame sizes in bytes (default 60-1514, at most 65536)\n"
		"  --timeout MS      give up waiting after this long (default 5000)\n"
		"  --no-mrg-rxbuf, --no-csum, --no-event-idx, --no-indirect\n"
		"                    turn features off, to try mismatched ends\n"
		"  --packed          packed virtqueues instead of split ones\n"
		"  --in-order        with --packed: ask for IN_ORDER too\n"
		"  --queue-size N    ring size (default 256; a power of 2, any of 1..32768\n"
		"                    with --packed)\n"
		"  -q                no summary line\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "fd", required_argument, NULL, 'f' },
		{ "path", required_argument, NULL, 'P' },
		{ "count", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "queue-size", required_argument, NULL, 'Q' },
		{ "no-mrg-rxbuf", no_argument, NULL, 'M' },
		{ "no-csum", no_argument, NULL, 'C' },
		{ "no-event-idx", no_argument, NULL, 'E' },
		{ "no-indirect", no_argument, NULL, 'I' },
		{ "packed", no_argument, NULL, 'K' },
		{ "in-order", no_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *env = getenv("VNET_P2P_PORT_FD");
	int c;

	memset(o, 0, sizeof *o);
	o->fd = env ? atoi(env) : -1;
	o->count = 1000;
	o->min_size = 60;
	o->max_size = 1514;
	o->timeout_ms = 5000;
	vnd_config_init(&o->cfg);
	while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->fd = atoi(optarg); break;
		case 'P': o->path = optarg; break;
		case 'c': o->count = strtoul(optarg, NULL, 10); break;
		case 't': o->timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'Q': o->cfg.queue_size = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': {
			char *end;

			o->min_size = o->max_size = (unsigned)strtoul(optarg, &end, 10);
			if (*end == '-')
				o->max_size = (unsigned)strtoul(end + 1, NULL, 10);
			break;
		}
		case 'M': o->cfg.features &= ~(1ull << VND_F_MRG_RXBUF); break;
		case 'C':
			o->cfg.features &= ~((1ull << VND_F_CSUM) | (1ull << VND_F_GUEST_CSUM));
			break;
		case 'E': o->cfg.features &= ~(1ull << VND_F_EVENT_IDX); break;
		case 'I': o->cfg.features &= ~(1ull << VND_F_INDIRECT_DESC); break;
		case 'K': o->cfg.features |= 1ull << VND_F_RING_PACKED; break;
		case 'O': o->cfg.features |= 1ull << VND_F_IN_ORDER; break;
		case 'q': o->quiet = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc - 1 || (strcmp(argv[optind], "echo") && strcmp(argv[optind], "ping"))) {
		usage(stderr);
		return -1;
	}
	o->mode = argv[optind];
	if (o->min_size < HEAD_LEN || o->max_size > FRAME_MAX || o->min_size > o->max_size) {
		fprintf(stderr, "vnet-p2p-peer: --size must lie in %d..%u\n", HEAD_LEN, FRAME_MAX);
		return -1;
	}
	if (o->fd < 0 && !o->path) {
		fprintf(stderr, "vnet-p2p-peer: no port: give --fd, --path or run under "
				"'vnet-p2p-ctl create -- ...'\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_stop };
	struct options o;
	struct vnd *d;
	int rc;

	if (parse_options(argc, argv, &o) < 0)
		return 2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rng_state ^= (uint64_t)getpid() << 32;
	rc = o.path ? vnd_open_path(&d, o.path, &o.cfg) : vnd_open_fd(&d, o.fd, &o.cfg);
	if (rc < 0) {
		fprintf(stderr, "vnet-p2p-peer: cannot open the port: %s\n", vnd_last_error(NULL));
		return 1;
	}
	/* Asked for packed rings from a device without them: split ones, said so. */
	if ((o.cfg.features & (1ull << VND_F_RING_PACKED)) &&
	    !(vnd_features(d) & (1ull << VND_F_RING_PACKED)) && !o.quiet)
		fprintf(stderr, "vnet-p2p-peer: the device does not offer packed rings: using split ones\n");
	rc = strcmp(o.mode, "echo") == 0 ? run_echo(d, &o) : run_ping(d, &o);
	vnd_close(d);
	return rc;
}
