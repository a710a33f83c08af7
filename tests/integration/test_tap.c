/* SPDX-License-Identifier: MIT */
/*
 * A TAP end (create tap=NAME) against the real kernel, each test in network
 * namespaces of its own (nothing outside them is touched): a driver-library
 * client answers ARP, ping and UDP echo from the kernel; two "hosts" joined
 * by VXLAN over a veth pair carry frames byte-exact; a client that does not
 * receive stops the TAP without the server spinning; checksum offload with
 * and without CSUM/GUEST_CSUM; bad headers; creation rules and the TAP's
 * life cycle; the control tool and --port; and a client on packed rings
 * (echoes in every buffer layout, backpressure, VXLAN to a split client).
 *
 * Needs root, /dev/net/tun, `ip` and `ping`. Without them the test is
 * skipped (77), or fails when VNET_P2P_REQUIRE_REAL_CLIENTS=1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "vnd_raw.h"

#define F(bit) (1ull << (bit))
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2

static const uint8_t client_mac[6] = { 0x02, 0x00, 0x00, 0x77, 0x00, 0x02 };
#define CLIENT_IP "10.77.0.2"
#define HOST_IP "10.77.0.1"
#define ECHO_PORT 7

static int original_ns = -1;

/* ---- namespaces and commands -------------------------------------------- */

/* A fresh network namespace, entered; its descriptor keeps it alive. */
static int ns_new(void)
{
	int fd;

	assert_int_equal(unshare(CLONE_NEWNET), 0);
	fd = open("/proc/self/ns/net", O_RDONLY); /* inherited: `ip ... netns /proc/self/fd/N` */
	assert_true(fd >= 0);
	assert_int_equal(system("ip link set lo up"), 0);
	/* No IPv6 chatter (router and neighbour solicitations) on the wire. */
	(void)!system("echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null;"
		      "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null");
	return fd;
}

static void ns_enter(int fd)
{
	assert_int_equal(setns(fd, CLONE_NEWNET), 0);
}

/* Back to where the test started; the namespace dies with its last user. */
static void ns_done(int fd)
{
	ns_enter(original_ns);
	close(fd);
}

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

static int run_status(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

/* The flags `ip link` shows for an interface, e.g. "<NO-CARRIER,...,UP>". */
static bool link_flags(const char *dev, char *out, size_t len)
{
	char cmd[128];
	FILE *f;
	bool ok;

	snprintf(cmd, sizeof cmd, "ip -o link show dev %s 2>/dev/null", dev);
	f = popen(cmd, "r");
	assert_non_null(f);
	ok = fgets(out, (int)len, f) != NULL;
	pclose(f);
	return ok;
}

static bool wait_carrier(const char *dev, bool up, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	char line[512];

	do {
		if (link_flags(dev, line, sizeof line)) {
			bool lower_up = strstr(line, "LOWER_UP") != NULL;
			bool no_carrier = strstr(line, "NO-CARRIER") != NULL;

			if (up ? lower_up && !no_carrier : no_carrier && !lower_up)
				return true;
		}
		usleep(10000);
	} while (now_ms() < deadline);
	print_message("%s: carrier not %s: %s", dev, up ? "up" : "down", line);
	return false;
}

enum { ST_FREE, ST_CREATED, ST_CONNECTED, ST_RUNNING, ST_FAILED };

/* create over the control endpoint, expecting success. */
static int create(struct server *s, const char *const *args, int *fd)
{
	char msg[512];
	int rc = server_create(s, args, fd, msg, sizeof msg);

	if (rc < 0)
		fail_msg("create failed: %s", msg);
	return rc;
}

/* A client port (descriptor) and a TAP port, with the TAP up at HOST_IP. */
static int make_pair(struct server *s, const char *tap, unsigned *tap_port)
{
	const char *client_args[] = { "mac=02:00:00:77:00:02", NULL };
	const char *tap_args[] = { NULL, NULL };
	char tap_kv[32];
	int cfd = -1, tfd = -1;

	assert_int_equal(create(s, client_args, &cfd), 0);
	snprintf(tap_kv, sizeof tap_kv, "tap=%s", tap);
	tap_args[0] = tap_kv;
	*tap_port = (unsigned)create(s, tap_args, &tfd);
	assert_int_equal(*tap_port, 1);
	assert_int_equal(tfd, -1); /* a TAP end gives no descriptor */
	run("ip link set %s up && ip addr add " HOST_IP "/24 dev %s", tap, tap);
	return cfd;
}

/* make_pair, then a driver-library client of cfg on the client port, the
 * TAP's carrier up once it runs; ip neigh, when given, first resolves
 * CLIENT_IP for the kernel (a client that never answers ARP). */
static struct vnd *open_tap_client(struct server *s, const struct vnd_config *cfg, bool neigh,
				   unsigned *tap_port)
{
	int cfd = make_pair(s, "vnpt0", tap_port);
	struct vnd *d;

	if (neigh)
		run("ip neigh add " CLIENT_IP " lladdr 02:00:00:77:00:02 dev vnpt0 nud permanent");
	assert_int_equal(vnd_open_fd(&d, cfd, cfg), 0);
	assert_true(wait_carrier("vnpt0", true, 2000));
	return d;
}

/* ---- a tiny host behind the client: ARP, ICMP echo, UDP echo ----------- */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The pseudo header of a UDP datagram in an IPv4 packet at ip. */
static uint32_t pseudo_sum(const uint8_t *ip, uint16_t udp_len)
{
	return sum16(ip + 12, 8, 0) + 17 + udp_len;
}

struct responder {
	struct vnd *d;
	uint32_t ip;             /* network order */
	bool tx_csum;            /* we may leave UDP checksums to the device */
	bool guest_csum;         /* the device may give us partial ones */
	unsigned arp, icmp, udp; /* requests answered */
	unsigned partial;        /* frames that came with NEEDS_CSUM */
	unsigned data_valid;     /* frames that came with DATA_VALID */
	unsigned bad;            /* frames with wrong checksums or flags */
};

static void reply(struct responder *r, uint8_t *f, size_t len, const struct vnd_tx_meta *meta)
{
	uint8_t tmp[6];
	int rc;

	memcpy(tmp, f + 6, 6);
	memcpy(f, tmp, 6);
	memcpy(f + 6, client_mac, 6);
	for (int tries = 0; (rc = vnd_send(r->d, f, len, meta)) == -EAGAIN && tries < 1000; tries++) {
		vnd_tx_reclaim(r->d);
		usleep(100);
	}
	assert_int_equal(rc, 0);
}

static void answer_arp(struct responder *r, uint8_t *f, size_t len)
{
	uint8_t *a = f + 14;

	if (len < 42 || get16(a) != 1 || get16(a + 2) != 0x0800 || get16(a + 6) != 1 ||
	    memcmp(a + 24, &r->ip, 4) != 0)
		return;
	put16(a + 6, 2);
	memcpy(a + 18, a + 8, 10);      /* target: the asker */
	memcpy(a + 8, client_mac, 6);  /* sender: us */
	memcpy(a + 14, &r->ip, 4);
	r->arp++;
	reply(r, f, 42, NULL);
}

static void swap_ip(uint8_t *ip)
{
	uint8_t tmp[4];

	memcpy(tmp, ip + 12, 4);
	memcpy(ip + 12, ip + 16, 4);
	memcpy(ip + 16, tmp, 4);
	ip[8] = 64;
	put16(ip + 10, 0);
	put16(ip + 10, (uint16_t)~fold(sum16(ip, (size_t)(ip[0] & 15) * 4, 0)));
}

static void answer_ipv4(struct responder *r, uint8_t *f, size_t len,
			const struct vnd_rx_meta *meta)
{
	uint8_t *ip = f + 14, *l4;
	size_t ihl, tot;

	if (len < 34)
		return;
	ihl = (size_t)(ip[0] & 15) * 4;
	tot = get16(ip + 2);
	if (ihl < 20 || tot < ihl || 14 + tot > len || memcmp(ip + 16, &r->ip, 4) != 0)
		return;
	l4 = ip + ihl;
	if (meta->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		/* Complete what the kernel left to us: proves the offsets came along. */
		uint32_t start = meta->csum_start, field = start + meta->csum_offset;

		r->partial++;
		if (!r->guest_csum || field + 2 > 14 + tot || start > 14 + tot) {
			r->bad++;
			return;
		}
		put16(f + field, (uint16_t)~fold(sum16(f + start, 14 + tot - start, 0)));
	}
	if (meta->flags & VIRTIO_NET_HDR_F_DATA_VALID)
		r->data_valid++;
	if ((meta->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) && !r->guest_csum)
		r->bad++;
	if (ip[9] == 1 && tot - ihl >= 8 && l4[0] == 8) {
		if (fold(sum16(l4, tot - ihl, 0)) != 0xffff)
			r->bad++;
		swap_ip(ip);
		l4[0] = 0;
		put16(l4 + 2, 0);
		put16(l4 + 2, (uint16_t)~fold(sum16(l4, tot - ihl, 0)));
		r->icmp++;
		reply(r, f, 14 + tot, NULL);
	} else if (ip[9] == 17 && tot - ihl >= 8 && get16(l4 + 2) == ECHO_PORT) {
		uint16_t ulen = get16(l4 + 4), tmp = get16(l4);
		struct vnd_tx_meta m = { .needs_csum = true, .csum_start = (uint16_t)(14 + ihl),
					 .csum_offset = 6 };

		if (ulen != tot - ihl ||
		    (get16(l4 + 6) && fold(sum16(l4, ulen, pseudo_sum(ip, ulen))) != 0xffff))
			r->bad++;
		swap_ip(ip);
		put16(l4, get16(l4 + 2));
		put16(l4 + 2, tmp);
		put16(l4 + 6, 0);
		if (r->tx_csum) {
			/* The device completes it: only the pseudo header's sum goes in. */
			put16(l4 + 6, fold(pseudo_sum(ip, ulen)));
		} else {
			uint16_t c = (uint16_t)~fold(sum16(l4, ulen, pseudo_sum(ip, ulen)));

			put16(l4 + 6, c ? c : 0xffff);
		}
		r->udp++;
		reply(r, f, 14 + tot, r->tx_csum ? &m : NULL);
	}
}

/* Answer whatever is waiting; true if anything came. */
static bool respond(struct responder *r)
{
	static uint8_t f[65536 + 64];
	bool any = false;

	for (;;) {
		struct vnd_rx_meta meta;
		ssize_t n = vnd_recv(r->d, f, sizeof f, &meta);

		if (n == -EAGAIN)
			break;
		if (n < 0)
			fail_msg("receive failed: %s", vnd_last_error(r->d));
		any = true;
		if (n < 14)
			continue;
		if (get16(f + 12) == 0x0806)
			answer_arp(r, f, (size_t)n);
		else if (get16(f + 12) == 0x0800)
			answer_ipv4(r, f, (size_t)n, &meta);
	}
	vnd_tx_reclaim(r->d);
	return any;
}

static void responder_init(struct responder *r, struct vnd *d)
{
	memset(r, 0, sizeof *r);
	r->d = d;
	inet_pton(AF_INET, CLIENT_IP, &r->ip);
	r->tx_csum = vnd_features(d) & F(VND_F_CSUM);
	r->guest_csum = vnd_features(d) & F(VND_F_GUEST_CSUM);
}

/* Run a command in the background while the responder answers; its status. */
static int run_answering(struct responder *r, const char *cmd, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("'%s' did not finish in time", cmd);
		}
		if (!respond(r))
			vnd_wait(r->d, 5);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* ---- 1. ping through the TAP; carrier follows the client ----------------- */

/* `vnet-p2p-ctl capture` into file, until SIGINT. */
static pid_t capture_start(struct server *s, const char *file)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		execl(ctl_binary(), ctl_binary(), "--svr", s->svr, "capture", "-w", file, (char *)NULL);
		_exit(127);
	}
	assert_true(server_log_contains(s, "capture started", 5000));
	return pid;
}

static void capture_stop(pid_t pid)
{
	int status;

	kill(pid, SIGINT);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ICMP echo messages in a pcapng file, by interface (port) and type. */
static void count_icmp(const char *file, unsigned requests[2], unsigned replies[2])
{
	static uint8_t buf[1 << 20];
	FILE *f = fopen(file, "rb");
	size_t len, at = 0;

	assert_non_null(f);
	len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	requests[0] = requests[1] = replies[0] = replies[1] = 0;
	while (at + 12 <= len) {
		uint32_t type, blen, iface, caplen;
		const uint8_t *fr;

		memcpy(&type, buf + at, 4);
		memcpy(&blen, buf + at + 4, 4);
		assert_true(blen >= 12 && blen % 4 == 0 && at + blen <= len);
		if (type == 6 /* enhanced packet block */) {
			memcpy(&iface, buf + at + 8, 4);
			memcpy(&caplen, buf + at + 20, 4);
			fr = buf + at + 28;
			if (iface < 2 && caplen >= 42 && get16(fr + 12) == 0x0800 && fr[23] == 1) {
				requests[iface] += fr[34] == 8;
				replies[iface] += fr[34] == 0;
			}
		}
		at += blen;
	}
}

static void test_ping_and_carrier(void **state)
{
	struct vnd_config cfg;
	struct responder r;
	struct server s;
	struct vnd *d;
	struct vnp_ctl_port p0, p1;
	unsigned tp, requests[2], replies[2];
	char pcap[160];
	pid_t cap;
	int ns, cfd;

	(void)state;
	ns = ns_new();
	server_start(&s, NULL);
	cfd = make_pair(&s, "vnpt0", &tp);
	/* No client running yet: no carrier. */
	assert_true(wait_carrier("vnpt0", false, 2000));
	assert_int_equal(port_status(&s, tp).state, ST_CONNECTED);
	assert_string_equal(port_status(&s, tp).tap_name, "vnpt0");
	assert_string_equal(port_status(&s, 0).tap_name, "");

	vnd_config_init(&cfg);
	assert_int_equal(vnd_open_fd(&d, cfd, &cfg), 0);
	assert_true(wait_carrier("vnpt0", true, 2000));
	assert_int_equal(port_status(&s, tp).state, ST_RUNNING);

	responder_init(&r, d);
	snprintf(pcap, sizeof pcap, "%s/tap.pcapng", s.dir);
	cap = capture_start(&s, pcap);
	assert_int_equal(run_answering(&r, "ping -q -c 3 -i 0.2 -w 15 " CLIENT_IP " >/dev/null", 20000),
			 0);
	assert_true(r.arp >= 1);
	assert_int_equal(r.icmp, 3);
	assert_int_equal(r.bad, 0);
	/* The capture saw the TAP's frames too: requests from the TAP's port,
	 * replies from the client's. */
	capture_stop(cap);
	count_icmp(pcap, requests, replies);
	assert_int_equal(requests[tp], 3);
	assert_int_equal(replies[0], 3);
	assert_int_equal(requests[0] + replies[tp], 0);
	/* The counters saw it, both ways, like a vhost-user pair's. */
	p0 = port_status(&s, 0);
	p1 = port_status(&s, tp);
	assert_true(p0.counter[VNP_CTR_RX_PACKETS] >= 4);
	assert_true(p0.counter[VNP_CTR_TX_PACKETS] >= 4);
	assert_int_equal(p1.counter[VNP_CTR_TX_PACKETS], p0.counter[VNP_CTR_RX_PACKETS]);
	assert_int_equal(p1.counter[VNP_CTR_RX_PACKETS], p0.counter[VNP_CTR_TX_PACKETS]);
	assert_int_equal(p1.counter[VNP_CTR_RX_BYTES], p0.counter[VNP_CTR_TX_BYTES]);
	assert_int_equal(port_tx_drops(&p0) + port_tx_drops(&p1), 0);

	/* The client leaves: no carrier again; its port is free. */
	vnd_close(d);
	assert_true(wait_carrier("vnpt0", false, 2000));
	wait_port_state(&s, 0, ST_FREE);
	assert_int_equal(port_status(&s, tp).state, ST_CONNECTED);

	/* We created the TAP: it goes with the server. */
	server_stop(&s);
	assert_true(run_status("ip link show dev vnpt0 >/dev/null 2>&1") != 0);
	ns_done(ns);
}

/* In polling mode (-p) too: the TAP's input still wakes the loop. */
static void test_ping_polling(void **state)
{
	const char *poll_args[] = { "-p", "200", NULL };
	struct vnd_config cfg;
	struct responder r;
	struct server s;
	struct vnd *d;
	unsigned tp;
	int ns;

	(void)state;
	ns = ns_new();
	server_start(&s, poll_args);
	vnd_config_init(&cfg);
	d = open_tap_client(&s, &cfg, false, &tp);
	responder_init(&r, d);
	assert_int_equal(run_answering(&r, "ping -q -c 3 -i 0.2 -w 15 " CLIENT_IP " >/dev/null", 20000),
			 0);
	assert_int_equal(r.icmp, 3);
	vnd_close(d);
	server_stop(&s);
	ns_done(ns);
}

/* ---- 2. two hosts, VXLAN over veth, bridged to their TAPs ---------------- */

struct host {
	int ns;
	struct server s;
	struct vnd *d;
};

static void host_up(struct host *h, int peer_ns, const char *me, const char *peer, bool packed)
{
	struct vnd_config cfg;
	unsigned tp;
	int cfd;

	ns_enter(h->ns);
	if (peer_ns >= 0)
		run("ip link add veth0 type veth peer name veth0 netns /proc/self/fd/%d", peer_ns);
	run("ip link set veth0 mtu 1600 up && ip addr add %s/24 dev veth0", me);
	run("ip link add vx0 type vxlan id 42 remote %s dstport 4789 dev veth0 && "
	    "ip link set vx0 mtu 1500 up",
	    peer);
	run("ip link add br0 type bridge && ip link set br0 up && ip link set vx0 master br0");
	server_start(&h->s, NULL);
	cfd = make_pair(&h->s, "vnpt0", &tp);
	run("ip addr flush dev vnpt0 && ip link set vnpt0 master br0");
	vnd_config_init(&cfg);
	if (packed)
		cfg.features |= F(VND_F_RING_PACKED);
	assert_int_equal(vnd_open_fd(&h->d, cfd, &cfg), 0);
	expect_ring_format(h->d, &cfg, "the host's client");
	assert_true(wait_carrier("vnpt0", true, 2000));
}

static size_t vx_size(uint32_t seq)
{
	return 60 + (seq * 2654435761u >> 9) % (1514 - 60 + 1);
}

struct stream_rx {
	uint32_t stream, next;
	unsigned bad, other;
};

static void receive_stream(struct vnd *d, struct stream_rx *rx)
{
	static uint8_t buf[65536 + 64];

	for (;;) {
		ssize_t n = vnd_recv(d, buf, sizeof buf, NULL);
		uint32_t seq;

		if (n == -EAGAIN)
			return;
		if (n < 0)
			fail_msg("receive failed: %s", vnd_last_error(d));
		/* The kernel may send frames of its own: only ours count. */
		if (n < 14 || get16(buf + 12) != 0x88b5) {
			rx->other++;
			continue;
		}
		if (!frame_check(buf, (size_t)n, rx->stream, &seq) || seq != rx->next) {
			if (rx->bad++ < 5)
				print_message("stream %u: frame %u damaged or out of order (%zd bytes)\n",
					      rx->stream, rx->next, n);
		}
		rx->next++;
	}
}

static void send_frame(struct vnd *d, uint32_t stream, uint32_t seq)
{
	static uint8_t buf[2048];
	size_t len = frame_fill(buf, stream, seq, vx_size(seq));
	int rc;

	while ((rc = vnd_send(d, buf, len, NULL)) == -EAGAIN)
		vnd_tx_reclaim(d);
	assert_int_equal(rc, 0);
}

/* count frames each way, in bursts small enough for the kernel's queues. */
static void vx_exchange(struct vnd *a, struct vnd *b, uint32_t count)
{
	struct stream_rx ra = { 2, 0, 0, 0 }, rb = { 1, 0, 0, 0 };
	const uint32_t burst = 16;

	for (uint32_t seq = 0; seq < count; seq += burst) {
		uint32_t end = seq + burst < count ? seq + burst : count;
		uint64_t deadline = now_ms() + 5000;

		for (uint32_t i = seq; i < end; i++) {
			send_frame(a, 1, i);
			send_frame(b, 2, i);
		}
		while ((ra.next < end || rb.next < end) && now_ms() < deadline) {
			receive_stream(a, &ra);
			receive_stream(b, &rb);
			vnd_tx_reclaim(a);
			vnd_tx_reclaim(b);
			if (ra.next < end || rb.next < end) {
				vnd_wait(a, 1);
				vnd_wait(b, 1);
			}
		}
		if (ra.next < end || rb.next < end)
			fail_msg("frames lost: A has %u of %u, B has %u of %u", ra.next, end, rb.next,
				 end);
	}
	assert_int_equal(ra.bad + rb.bad, 0);
	assert_int_equal(ra.next, count);
	assert_int_equal(rb.next, count);
}

/* Host A's client on packed rings or split ones; host B's always split. */
static void vxlan_two_hosts(bool a_packed)
{
	struct host a, b;
	struct vnp_ctl_port pa, pb;

	b.ns = ns_new();
	a.ns = ns_new();
	host_up(&a, b.ns, "192.0.2.1", "192.0.2.2", a_packed);
	host_up(&b, -1, "192.0.2.2", "192.0.2.1", false);
	ns_enter(a.ns);
	run("ping -q -c 1 -W 2 192.0.2.2 >/dev/null");

	vx_exchange(a.d, b.d, 400);

	/* Each server counted its own side of it. */
	ns_enter(a.ns);
	pa = port_status(&a.s, 0);
	pb = port_status(&b.s, 0);
	assert_true(pa.counter[VNP_CTR_TX_PACKETS] >= 400);
	assert_true(pb.counter[VNP_CTR_RX_PACKETS] >= 400);
	assert_int_equal(port_tx_drops(&pa) + port_tx_drops(&pb), 0);

	vnd_close(a.d);
	vnd_close(b.d);
	server_stop(&a.s);
	ns_enter(b.ns);
	server_stop(&b.s);
	ns_done(a.ns);
	close(b.ns);
}

static void test_vxlan_two_hosts(void **state)
{
	(void)state;
	vxlan_two_hosts(false);
}

/* ---- 3. backpressure: a client that does not receive -------------------- */

static int udp_socket(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	inet_pton(AF_INET, HOST_IP, &a.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

static void udp_send(int fd, const void *buf, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(ECHO_PORT) };

	inet_pton(AF_INET, CLIENT_IP, &to.sin_addr);
	/* A full queue may refuse: the flood does not care. */
	(void)sendto(fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to);
}

/* UDP datagrams to the client, marked with the round they belong to. */
static unsigned count_marked(struct vnd *d, uint8_t mark)
{
	static uint8_t f[65536 + 64];
	unsigned n = 0;
	ssize_t len;

	while ((len = vnd_recv(d, f, sizeof f, NULL)) != -EAGAIN) {
		if (len < 0)
			fail_msg("receive failed: %s", vnd_last_error(d));
		if (len >= 43 && get16(f + 12) == 0x0800 && f[23] == 17 && f[42] == mark)
			n++;
	}
	return n;
}

/* A client on rings of 16 (split, or packed when asked) that stops
 * receiving, then receives again. */
static void backpressure(bool packed)
{
	struct vnd_config cfg;
	struct server s;
	struct vnd *d;
	struct vnp_ctl_port p0, p1;
	uint8_t payload[64];
	long before, used;
	unsigned tp, got = 0;
	uint64_t until;
	int ns, sock;

	ns = ns_new();
	server_start(&s, NULL);
	vnd_config_init(&cfg);
	cfg.queue_size = 16;
	if (packed)
		cfg.features |= F(VND_F_RING_PACKED);
	d = open_tap_client(&s, &cfg, true, &tp);
	expect_ring_format(d, &cfg, "the client");
	sock = udp_socket(5001);

	/* A flood the client never takes: its 16 buffers fill, then the
	 * server must stop reading the TAP and sleep. */
	memset(payload, 1, sizeof payload);
	for (int i = 0; i < 2000; i++)
		udp_send(sock, payload, sizeof payload);
	usleep(200000);
	before = server_cpu_ticks(&s);
	until = now_ms() + 1000;
	while (now_ms() < until) {
		for (int i = 0; i < 50; i++)
			udp_send(sock, payload, sizeof payload);
		usleep(10000);
	}
	used = server_cpu_ticks(&s) - before;
	p0 = port_status(&s, 0);
	p1 = port_status(&s, tp);
	print_message("server CPU over 1 s of flood into a full ring: %ld ticks; delivered %llu\n",
		      used, (unsigned long long)p0.counter[VNP_CTR_RX_PACKETS]);
	/* A spinning server would use a whole second; allow a third. */
	assert_true(used < sysconf(_SC_CLK_TCK) / 3);
	assert_true(p0.counter[VNP_CTR_RX_PACKETS] <= 16);
	assert_int_equal(p1.counter[VNP_CTR_TX_PACKETS], p0.counter[VNP_CTR_RX_PACKETS]);
	assert_int_equal(p0.state, ST_RUNNING);

	/* Receiving again posts buffers: what the kernel still queues flows,
	 * then new traffic does. */
	until = now_ms() + 1000;
	while (now_ms() < until) {
		if (count_marked(d, 1) == 0)
			vnd_wait(d, 10);
	}
	p0 = port_status(&s, 0);
	assert_true(p0.counter[VNP_CTR_RX_PACKETS] > 16);
	memset(payload, 2, sizeof payload);
	for (int i = 0; i < 10; i++)
		udp_send(sock, payload, sizeof payload);
	until = now_ms() + 3000;
	while (got < 10 && now_ms() < until) {
		got += count_marked(d, 2);
		if (got < 10)
			vnd_wait(d, 10);
	}
	assert_int_equal(got, 10);

	close(sock);
	vnd_close(d);
	server_stop(&s);
	ns_done(ns);
}

static void test_backpressure(void **state)
{
	(void)state;
	backpressure(false);
}

/* ---- 4. checksums: offloaded both ways, or complete both ways ------------ */

static void udp_echo_round(struct server *s, const struct vnd_config *cfg, bool expect_partial)
{
	static const size_t sizes[] = { 1, 18, 100, 1000, 1472 };
	static uint8_t out[1500], in[1500];
	struct responder r;
	struct vnp_ctl_port p0, p1;
	struct vnd *d;
	unsigned tp;
	int cfd, sock;

	cfd = make_pair(s, "vnpt0", &tp);
	assert_int_equal(vnd_open_fd(&d, cfd, cfg), 0);
	expect_ring_format(d, cfg, "the client");
	assert_true(wait_carrier("vnpt0", true, 2000));
	responder_init(&r, d);
	sock = udp_socket(5002);

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint64_t deadline = now_ms() + 5000;
		ssize_t n = -1;

		for (size_t j = 0; j < sizes[i]; j++)
			out[j] = (uint8_t)(j * 7 + i);
		udp_send(sock, out, sizes[i]);
		while (now_ms() < deadline) {
			n = recv(sock, in, sizeof in, MSG_DONTWAIT);
			if (n >= 0)
				break;
			if (!respond(&r))
				vnd_wait(d, 5);
		}
		if (n < 0)
			fail_msg("no echo of %zu bytes (features 0x%llx)", sizes[i],
				 (unsigned long long)vnd_features(d));
		assert_int_equal(n, sizes[i]);
		assert_memory_equal(in, out, sizes[i]);
	}
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.udp, sizeof sizes / sizeof sizes[0]);
	if (expect_partial)
		assert_true(r.partial > 0); /* TUN_F_CSUM was on */
	else
		assert_int_equal(r.partial + r.data_valid, 0);
	p0 = port_status(s, 0);
	p1 = port_status(s, tp);
	assert_int_equal(port_tx_drops(&p0) + port_tx_drops(&p1), 0);
	close(sock);
	vnd_close(d);
	wait_port_state(s, 0, ST_FREE);
}

/* udp_echo_round on a client of cfg (on packed rings if asked), the TAP
 * deleted after it: the next round makes both ports afresh. */
static void echo_round(struct server *s, struct vnd_config *cfg, bool packed, bool expect_partial)
{
	if (packed)
		cfg->features |= F(VND_F_RING_PACKED);
	udp_echo_round(s, cfg, expect_partial);
	run("ip link del vnpt0");
	wait_port_state(s, 1, ST_FREE);
}

/* The rounds both ring formats take, on a server with rings of 2048. */
static void echo_rounds(struct server *s, bool packed)
{
	struct vnd_config cfg;

	/* The default features: CSUM, GUEST_CSUM, MRG_RXBUF, VERSION_1. */
	vnd_config_init(&cfg);
	echo_round(s, &cfg, packed, true);

	/* Neither checksum feature: the kernel completes them for us. */
	vnd_config_init(&cfg);
	cfg.features &= ~(F(VND_F_CSUM) | F(VND_F_GUEST_CSUM));
	echo_round(s, &cfg, packed, false);

	/* Small mergeable buffers: a frame spans several (num_buffers). */
	vnd_config_init(&cfg);
	cfg.rx_buf_size = 256;
	echo_round(s, &cfg, packed, true);

	/* TX frames in two-byte pieces: up to 758 descriptors a frame, each
	 * a piece of one writev (a frame may take at most 1024). */
	vnd_config_init(&cfg);
	cfg.queue_size = 1024;
	cfg.tx_layout = VND_TX_INDIRECT;
	cfg.tx_piece = 2;
	echo_round(s, &cfg, packed, true);
}

static void test_checksums(void **state)
{
	const char *big_rings[] = { "-s", "2048", NULL };
	struct vnd_config cfg;
	struct server s;
	int ns;

	(void)state;
	ns = ns_new();
	server_start(&s, big_rings);
	echo_rounds(&s, false);

	/* Legacy: a 10-byte header, no merging (chains of 2 KiB buffers). */
	vnd_config_init(&cfg);
	cfg.features &= ~(F(VND_F_CSUM) | F(VND_F_GUEST_CSUM) | F(VND_F_MRG_RXBUF) |
			  F(VND_F_VERSION_1));
	echo_round(&s, &cfg, false, false);

	server_stop(&s);
	ns_done(ns);
}

/* ---- 5. headers the kernel must not see ----------------------------------- */

static void send_raw_header(struct vnd *d, uint8_t gso_type, uint8_t flags, uint16_t csum_start,
			    uint16_t csum_offset)
{
	struct vnd_raw_ring r;
	size_t size;
	uint8_t *p = vnd_raw_scratch(d, &size);
	uint16_t id;

	memset(p, 0, 12 + 60);
	p[0] = flags;
	p[1] = gso_type;
	p[6] = (uint8_t)csum_start;
	p[7] = (uint8_t)(csum_start >> 8);
	p[8] = (uint8_t)csum_offset;
	p[9] = (uint8_t)(csum_offset >> 8);
	memset(p + 12, 0xff, 6); /* broadcast */
	memcpy(p + 18, client_mac, 6);
	put16(p + 24, 0x88b5);
	vnd_raw_ring(d, 1, &r);
	assert_int_equal(vnd_raw_take_descs(d, 1, 1, &id), 0);
	r.desc[id] = (struct vring_desc){ vnd_raw_gpa(d, p), 12 + 60, 0, 0 };
	vnd_raw_publish(d, 1, id);
}

static void test_bad_headers(void **state)
{
	struct vnd_config cfg;
	struct server s;
	struct vnd *d;
	unsigned tp;
	int ns;

	(void)state;
	ns = ns_new();
	server_start(&s, NULL);
	vnd_config_init(&cfg);
	d = open_tap_client(&s, &cfg, false, &tp);

	/* GSO the client did not negotiate, then a checksum field past the frame. */
	send_raw_header(d, 1 /* TCPV4 */, 0, 0, 0);
	for (int i = 0; i < 200 && port_status(&s, 0).counter[VNP_CTR_DROP_BAD] < 1; i++)
		usleep(5000);
	assert_int_equal(port_status(&s, 0).counter[VNP_CTR_DROP_BAD], 1);
	assert_true(server_log_contains(&s, "TCPv4 GSO without HOST_TSO4", 2000));
	send_raw_header(d, 0, VIRTIO_NET_HDR_F_NEEDS_CSUM, 50, 9);
	for (int i = 0; i < 200 && port_status(&s, 0).counter[VNP_CTR_DROP_BAD] < 2; i++)
		usleep(5000);
	assert_int_equal(port_status(&s, 0).counter[VNP_CTR_DROP_BAD], 2);
	assert_true(server_log_contains(&s, "checksum request beyond the frame", 2000));
	/* Neither reached the kernel; the port still runs. */
	assert_int_equal(port_status(&s, tp).counter[VNP_CTR_RX_PACKETS], 0);
	assert_int_equal(port_status(&s, 0).state, ST_RUNNING);
	assert_true(server_alive(&s));

	/* A TAP that is down takes nothing: dropped, counted, never waited for. */
	run("ip link set vnpt0 down");
	send_frame(d, 1, 0);
	for (int i = 0; i < 200 && port_status(&s, 0).counter[VNP_CTR_DROP_NO_PEER] < 1; i++)
		usleep(5000);
	assert_int_equal(port_status(&s, 0).counter[VNP_CTR_DROP_NO_PEER], 1);
	run("ip link set vnpt0 up");
	send_frame(d, 1, 1);
	for (int i = 0; i < 200 && port_status(&s, tp).counter[VNP_CTR_RX_PACKETS] < 1; i++)
		usleep(5000);
	assert_int_equal(port_status(&s, tp).counter[VNP_CTR_RX_PACKETS], 1);

	vnd_close(d);
	server_stop(&s);
	ns_done(ns);
}

/* ---- 6. creation rules and the TAP's life ---------------------------------- */

static int try_create(struct server *s, const char *const *args, char *msg, size_t len)
{
	int fd = -1, rc = server_create(s, args, &fd, msg, len);

	if (fd >= 0)
		close(fd);
	return rc;
}

static void test_create_rules(void **state)
{
	const char *both[] = { "tap=vnpt0", "listen=/tmp/vnpt-never.sock", NULL };
	const char *bad_name[] = { "tap=a/b", NULL };
	const char *long_name[] = { "tap=abcdefghijklmnop", NULL };
	const char *tap0[] = { "tap=vnpt0", NULL };
	const char *tap1[] = { "tap=vnpt1", NULL };
	const char *tap_mac[] = { "tap=vnpt1", "mac=02:00:00:77:00:09", NULL };
	const char *eth[] = { "tap=lo", NULL };
	char msg[512], line[512];
	struct server s;
	int ns;

	(void)state;
	ns = ns_new();
	server_start(&s, NULL);
	assert_int_equal(try_create(&s, both, msg, sizeof msg), -EINVAL);
	assert_non_null(strstr(msg, "exclude each other"));
	assert_int_equal(try_create(&s, bad_name, msg, sizeof msg), -EINVAL);
	assert_non_null(strstr(msg, "tap:"));
	assert_int_equal(try_create(&s, long_name, msg, sizeof msg), -EINVAL);
	/* Not a TAP: refused with the kernel's reason. */
	assert_true(try_create(&s, eth, msg, sizeof msg) < 0);
	assert_non_null(strstr(msg, "lo"));
	assert_int_equal(port_status(&s, 0).state, ST_FREE);

	/* One TAP end per link. */
	assert_int_equal(try_create(&s, tap0, msg, sizeof msg), 0);
	assert_int_equal(try_create(&s, tap1, msg, sizeof msg), -EINVAL);
	assert_non_null(strstr(msg, "TAP end already"));

	/* Deleted under the server: the port is released, the server lives. */
	run("ip link del vnpt0");
	wait_port_state(&s, 0, ST_FREE);
	assert_true(server_log_contains(&s, "vnpt0 is gone", 2000));
	assert_true(server_alive(&s));

	/* A persistent TAP made beforehand is attached, given the MAC, and left
	 * in place (without carrier) when the server ends. */
	run("ip tuntap add dev vnpt1 mode tap");
	assert_int_equal(try_create(&s, tap_mac, msg, sizeof msg), 0);
	assert_true(link_flags("vnpt1", line, sizeof line));
	run("ip link show dev vnpt1 | grep -q 02:00:00:77:00:09");
	server_stop(&s);
	assert_int_equal(run_status("ip link show dev vnpt1 >/dev/null 2>&1"), 0);
	run("ip tuntap del dev vnpt1 mode tap");
	ns_done(ns);
}

/* A client that truncates its memory under the server fails only its own
 * port: the TAP end stays, and the next client on the freed port works. */
static void test_truncated_client(void **state)
{
	const char *client_args[] = { "mac=02:00:00:77:00:02", NULL };
	struct vnd_config cfg;
	struct responder r;
	struct server s;
	struct vnd *d;
	uint8_t payload[64] = { 0 };
	uint64_t off, size;
	unsigned tp;
	int ns, cfd, sock;

	(void)state;
	ns = ns_new();
	server_start(&s, NULL);
	vnd_config_init(&cfg);
	d = open_tap_client(&s, &cfg, true, &tp);
	assert_int_equal(ftruncate(vnd_raw_memfd(d, 0, &off, &size), 0), 0);
	/* The kernel sends; the server finds the client's memory gone. */
	sock = udp_socket(5003);
	udp_send(sock, payload, sizeof payload);
	wait_port_state(&s, 0, ST_FAILED);
	assert_non_null(strstr(port_status(&s, 0).last_error, "faulted"));
	assert_true(wait_carrier("vnpt0", false, 2000));
	assert_true(server_alive(&s));
	assert_int_equal(port_status(&s, tp).state, ST_CONNECTED);
	vnd_close(d);
	wait_port_state(&s, 0, ST_FREE);

	assert_int_equal(create(&s, client_args, &cfd), 0);
	assert_int_equal(vnd_open_fd(&d, cfd, &cfg), 0);
	assert_true(wait_carrier("vnpt0", true, 2000));
	responder_init(&r, d);
	assert_int_equal(run_answering(&r, "ping -q -c 2 -i 0.2 -w 15 " CLIENT_IP " >/dev/null", 20000),
			 0);
	close(sock);
	vnd_close(d);
	server_stop(&s);
	ns_done(ns);
}

/* ---- 7. the tool and --port ---------------------------------------------- */

static void test_ctl_and_port_option(void **state)
{
	const char *port_args[] = { "--port", "tap=vnpt3,mac=02:00:00:77:00:03", NULL };
	char out[2048];
	struct server s;
	int ns;

	(void)state;
	ns = ns_new();
	server_start(&s, NULL);
	{
		const char *argv[] = { ctl_binary(), "--svr", s.svr, "create", "tap=vnpt2", NULL };

		assert_int_equal(run_capture(argv, out, sizeof out), 0);
		assert_non_null(strstr(out, "port 0 created"));
	}
	{
		const char *argv[] = { ctl_binary(), "--svr", s.svr, "create", "tap=vnpt4", "--", "true",
				       NULL };

		assert_int_equal(run_capture(argv, out, sizeof out), 1);
		assert_non_null(strstr(out, "no descriptor"));
	}
	assert_int_equal(run_status("ip link show dev vnpt2 >/dev/null 2>&1"), 0);
	assert_int_equal(port_status(&s, 0).state, ST_CONNECTED);
	server_stop(&s);
	assert_true(run_status("ip link show dev vnpt2 >/dev/null 2>&1") != 0);

	/* A TAP end from the command line: there before any request. */
	server_start(&s, port_args);
	assert_int_equal(port_status(&s, 0).state, ST_CONNECTED);
	run("ip link show dev vnpt3 | grep -q 02:00:00:77:00:03");
	server_stop(&s);
	assert_true(run_status("ip link show dev vnpt3 >/dev/null 2>&1") != 0);
	ns_done(ns);
}

/* ---- 8. a client on packed rings (VIRTIO_F_RING_PACKED) ------------------ */

/* The TAP's two directions (tap_forward.c) on a packed ring: the rounds
 * of test_checksums (checksum features on and off, small mergeable
 * buffers, TX frames in two-byte pieces of an indirect table), then
 * big-packet chains (no MRG_RXBUF), IN_ORDER, a ring whose size is no
 * power of 2 with notifications suppressed by flags alone (no EVENT_IDX),
 * and the server polling. */
static void test_packed_checksums_and_layouts(void **state)
{
	const char *big_rings[] = { "-s", "2048", NULL };
	const char *polling[] = { "-p", "200", NULL };
	struct vnd_config cfg;
	struct server s;
	int ns;

	(void)state;
	ns = ns_new();
	server_start(&s, big_rings);
	echo_rounds(&s, true);

	vnd_config_init(&cfg);
	cfg.features &= ~F(VND_F_MRG_RXBUF);
	echo_round(&s, &cfg, true, true);

	vnd_config_init(&cfg);
	cfg.features |= F(VND_F_IN_ORDER);
	echo_round(&s, &cfg, true, true);

	vnd_config_init(&cfg);
	cfg.queue_size = 250;
	cfg.features &= ~F(VND_F_EVENT_IDX);
	echo_round(&s, &cfg, true, true);
	server_stop(&s);

	server_start(&s, polling);
	vnd_config_init(&cfg);
	echo_round(&s, &cfg, true, true);
	server_stop(&s);
	ns_done(ns);
}

/* A packed client that stops receiving: the server sleeps, then delivers
 * again once buffers come (an RX kick asked for through the ring's event
 * suppression structure). */
static void test_packed_backpressure(void **state)
{
	(void)state;
	backpressure(true);
}

/* Byte-exact frames of every size between a packed client and a split one,
 * through both TAPs, the kernel's bridges and VXLAN. */
static void test_packed_vxlan_to_split(void **state)
{
	(void)state;
	vxlan_two_hosts(true);
}

/* ---- requirements --------------------------------------------------------- */

static bool have_tool(const char *name)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* Why the test cannot run here, or NULL. */
static const char *missing(void)
{
	static char why[128];
	int fd, status;
	pid_t pid;

	if (geteuid() != 0)
		return "needs root (network namespaces, TAP interfaces)";
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, sizeof why, "cannot open /dev/net/tun: %s", strerror(errno));
		return why;
	}
	close(fd);
	if (!have_tool("ip"))
		return "needs ip (Debian: iproute2)";
	if (!have_tool("ping"))
		return "needs ping (Debian: iputils-ping)";
	pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWNET) == 0 ? 0 : 1);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return "cannot create a network namespace";
	return NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_and_carrier),
		cmocka_unit_test(test_ping_polling),
		cmocka_unit_test(test_vxlan_two_hosts),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_checksums),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_create_rules),
		cmocka_unit_test(test_truncated_client),
		cmocka_unit_test(test_ctl_and_port_option),
		cmocka_unit_test(test_packed_checksums_and_layouts),
		cmocka_unit_test(test_packed_backpressure),
		cmocka_unit_test(test_packed_vxlan_to_split),
	};
	const char *why = missing();
	const char *req = getenv("VNET_P2P_REQUIRE_REAL_CLIENTS");

	if (why) {
		if (req && strcmp(req, "1") == 0) {
			fprintf(stderr, "test_tap: %s (required: VNET_P2P_REQUIRE_REAL_CLIENTS=1)\n", why);
			return 1;
		}
		printf("test_tap: skipped: %s\n", why);
		return 77;
	}
	original_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (original_ns < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
