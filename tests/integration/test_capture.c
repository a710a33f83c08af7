/* SPDX-License-Identifier: MIT */
/*
 * Live capture: `vnet-p2p-ctl capture` writes exactly the frames that
 * crossed, in order per direction, as pcapng that tcpdump reads (checked
 * with tcpdump -xx and with our own reading of the blocks: interfaces,
 * direction flags, statistics); a reader that does not keep up costs the
 * link nothing and is told what it lost; the control socket's capture
 * request is checked like every other.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

#include "ctl/capture_reader.h"
#include "ctl/ctl_client.h"
#include "harness.h"
#include "util/unix_socket.h"

#define F(bit) (1ull << (bit))
#define MAX_PACKETS 4096

/* ---- running the tool in the background ----------------------------------- */

struct tool {
	pid_t pid;
	char err_path[160];
};

/* stdout_fd: where its standard output goes (-1: /dev/null). */
static void tool_start(struct tool *t, struct server *s, const char *const *args, int stdout_fd)
{
	const char *argv[16];
	int n = 0;

	argv[n++] = ctl_binary();
	argv[n++] = "--svr";
	argv[n++] = s->svr;
	argv[n++] = "capture";
	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	snprintf(t->err_path, sizeof t->err_path, "%s/capture.err", s->dir);
	t->pid = fork();
	assert_true(t->pid >= 0);
	if (t->pid == 0) {
		int err = open(t->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int out = stdout_fd >= 0 ? stdout_fd : open("/dev/null", O_WRONLY);

		dup2(out, 1);
		dup2(err, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
}

static bool file_contains(const char *path, const char *text)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return strstr(buf, text) != NULL;
}

static void tool_wait_started(struct tool *t, const char *what)
{
	for (uint64_t deadline = now_ms() + 5000; now_ms() < deadline; usleep(5000))
		if (file_contains(t->err_path, what))
			return;
	fail_msg("the capture did not start");
}

/* Its exit status; fails the test when it does not end in time. */
static int tool_wait(struct tool *t, int timeout_ms)
{
	int status;

	for (uint64_t deadline = now_ms() + (uint64_t)timeout_ms; now_ms() < deadline;
	     usleep(5000)) {
		if (waitpid(t->pid, &status, WNOHANG) == t->pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
	kill(t->pid, SIGKILL);
	waitpid(t->pid, &status, 0);
	fail_msg("the capture tool did not end");
	return -1;
}

/* "N packets captured, M dropped by the capture" from its stderr. */
static void tool_summary(struct tool *t, unsigned long long *captured,
			 unsigned long long *dropped)
{
	char buf[4096];
	const char *line;
	int fd = open(t->err_path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	line = strstr(buf, " packets captured, ");
	if (!line)
		fail_msg("no summary in: %s", buf);
	while (line > buf && line[-1] != '\n')
		line--;
	assert_int_equal(sscanf(line, "%llu packets captured, %llu dropped by the capture", captured,
				dropped),
			 2);
}

/* ---- reading pcapng ---------------------------------------------------------- */

struct cap_packet {
	uint32_t iface;
	uint32_t flags; /* epb_flags; 0 when absent */
	uint32_t len;
	uint64_t time;
	const uint8_t *data;
};

struct pcapng {
	uint8_t *file;
	size_t size;
	unsigned ifaces;
	char if_name[2][16];
	struct cap_packet pkt[MAX_PACKETS];
	unsigned npkt;
	bool isb[2];
	uint64_t ifrecv[2], ifdrop[2];
};

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Options from p to end: calls want(code, value, len) for each. */
static void walk_options(const uint8_t *p, const uint8_t *end,
			 void (*want)(void *ctx, uint16_t code, const uint8_t *v, uint16_t len),
			 void *ctx)
{
	while (p + 4 <= end) {
		uint16_t code, len;

		memcpy(&code, p, 2);
		memcpy(&len, p + 2, 2);
		if (code == 0)
			return;
		assert_true(p + 4 + ((len + 3u) & ~3u) <= end);
		want(ctx, code, p + 4, len);
		p += 4 + ((len + 3u) & ~3u);
	}
	fail_msg("options without opt_endofopt");
}

struct idb_ctx {
	struct pcapng *pc;
	bool tsresol_ns;
};

static void idb_option(void *ctx, uint16_t code, const uint8_t *v, uint16_t len)
{
	struct idb_ctx *c = ctx;

	if (code == 2 && len < sizeof c->pc->if_name[0])
		memcpy(c->pc->if_name[c->pc->ifaces], v, len);
	if (code == 9 && len == 1 && v[0] == 9)
		c->tsresol_ns = true;
}

static void epb_option(void *ctx, uint16_t code, const uint8_t *v, uint16_t len)
{
	struct cap_packet *p = ctx;

	if (code == 2 && len == 4)
		p->flags = rd32(v);
}

static void isb_option(void *ctx, uint16_t code, const uint8_t *v, uint16_t len)
{
	uint64_t *out = ctx; /* [0] ifrecv, [1] ifdrop */

	if (code == 4 && len == 8)
		out[0] = rd64(v);
	if (code == 5 && len == 8)
		out[1] = rd64(v);
}

/* Every block checked for its framing; what we wrote, collected. */
static void pcapng_read(const char *path, struct pcapng *pc)
{
	struct stat st;
	size_t off = 0;
	int fd = open(path, O_RDONLY);

	memset(pc, 0, sizeof *pc);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	pc->size = (size_t)st.st_size;
	pc->file = malloc(pc->size + 1);
	assert_non_null(pc->file);
	assert_int_equal(read(fd, pc->file, pc->size), (ssize_t)pc->size);
	close(fd);

	assert_true(pc->size >= 28);
	assert_int_equal(rd32(pc->file), 0x0a0d0d0a);
	assert_int_equal(rd32(pc->file + 8), 0x1a2b3c4d);
	while (off < pc->size) {
		const uint8_t *b = pc->file + off;
		uint32_t type, len;

		assert_true(pc->size - off >= 12);
		type = rd32(b);
		len = rd32(b + 4);
		assert_true(len >= 12 && len % 4 == 0 && len <= pc->size - off);
		assert_int_equal(rd32(b + len - 4), len);
		if (type == 1) { /* IDB */
			struct idb_ctx c = { pc, false };

			assert_true(pc->ifaces < 2);
			assert_int_equal(b[8] | b[9] << 8, 1); /* LINKTYPE_ETHERNET */
			assert_int_equal(rd32(b + 12), VNP_CAP_SNAPLEN);
			walk_options(b + 16, b + len - 4, idb_option, &c);
			assert_true(c.tsresol_ns);
			pc->ifaces++;
		} else if (type == 6) { /* EPB */
			struct cap_packet *p = &pc->pkt[pc->npkt];
			uint32_t caplen = rd32(b + 20);

			assert_true(pc->npkt < MAX_PACKETS);
			memset(p, 0, sizeof *p);
			p->iface = rd32(b + 8);
			assert_true(p->iface < pc->ifaces);
			p->time = (uint64_t)rd32(b + 12) << 32 | rd32(b + 16);
			assert_int_equal(caplen, rd32(b + 24)); /* never cut */
			assert_true(28 + ((caplen + 3u) & ~3u) <= len - 4);
			p->len = caplen;
			p->data = b + 28;
			walk_options(b + 28 + ((caplen + 3u) & ~3u), b + len - 4, epb_option, p);
			pc->npkt++;
		} else if (type == 5) { /* ISB */
			uint32_t iface = rd32(b + 8);
			uint64_t v[2] = { UINT64_MAX, UINT64_MAX };

			assert_true(iface < pc->ifaces);
			walk_options(b + 20, b + len - 4, isb_option, v);
			pc->isb[iface] = true;
			pc->ifrecv[iface] = v[0];
			pc->ifdrop[iface] = v[1];
		} else {
			assert_int_equal(type, 0x0a0d0d0a); /* nothing else is written */
			assert_int_equal(off, 0);
		}
		off += len;
	}
	assert_int_equal(pc->ifaces, 2);
	assert_string_equal(pc->if_name[0], "port0");
	assert_string_equal(pc->if_name[1], "port1");
}

/* ---- what tcpdump sees ------------------------------------------------------------ */

struct dump {
	unsigned n;
	uint32_t len[MAX_PACKETS];
	uint8_t *data[MAX_PACKETS];
};

/* tcpdump -r FILE -nn -xx: each packet's bytes from its hex lines. */
static void tcpdump_read(const char *path, struct dump *d)
{
	const char *argv[] = { "/usr/bin/tcpdump", "-r", path, "-nn", "-xx", NULL };
	static char out[16 << 20];
	static char err[4096];
	char *line, *save = NULL;

	memset(d, 0, sizeof *d);
	if (access(argv[0], X_OK) != 0)
		fail_msg("tcpdump is missing (Debian package tcpdump)");
	assert_int_equal(run_output(argv, out, sizeof out, err, sizeof err), 0);
	assert_true(strlen(out) < sizeof out - 1);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tok, *hsave = NULL;
		unsigned off;
		int used;

		if (line[0] != '\t') {
			assert_true(d->n < MAX_PACKETS);
			d->data[d->n] = malloc(VNP_CAP_SNAPLEN);
			assert_non_null(d->data[d->n]);
			d->len[d->n++] = 0;
			continue;
		}
		/* "\t0x0010:  ffff 0200 ... 88": groups of two bytes, maybe one last byte. */
		assert_true(d->n > 0);
		assert_int_equal(sscanf(line, "\t0x%x:%n", &off, &used), 1);
		assert_int_equal(off, d->len[d->n - 1]);
		for (tok = strtok_r(line + used, " ", &hsave); tok; tok = strtok_r(NULL, " ", &hsave)) {
			size_t digits = strlen(tok);
			unsigned long v = strtoul(tok, NULL, 16);

			assert_true((digits == 2 || digits == 4) && d->len[d->n - 1] + 2 <= VNP_CAP_SNAPLEN);
			if (digits == 4)
				d->data[d->n - 1][d->len[d->n - 1]++] = (uint8_t)(v >> 8);
			d->data[d->n - 1][d->len[d->n - 1]++] = (uint8_t)v;
		}
	}
}

static void dump_free(struct dump *d)
{
	for (unsigned i = 0; i < d->n; i++)
		free(d->data[i]);
}

/* tcpdump read every packet, byte for byte as we did. */
static void expect_tcpdump_agrees(const char *path, const struct pcapng *pc)
{
	static struct dump d;

	tcpdump_read(path, &d);
	assert_int_equal(d.n, pc->npkt);
	for (unsigned i = 0; i < d.n; i++) {
		assert_int_equal(d.len[i], pc->pkt[i].len);
		assert_memory_equal(d.data[i], pc->pkt[i].data, d.len[i]);
	}
	dump_free(&d);
}

/* ---- traffic ----------------------------------------------------------------------- */

static size_t size_mixed(uint32_t seq)
{
	/* Small, MTU-sized and jumbo: several receive buffers each. */
	static const size_t sizes[] = { 60, 1514, 9000, 333, 4000, 64 };

	return sizes[seq % 6] + seq % 7;
}

static size_t size_1400(uint32_t seq)
{
	(void)seq;
	return 1400;
}

/* Packets of stream `stream` are frames 0..count-1 of that stream, in order. */
static void expect_stream(const struct pcapng *pc, uint32_t stream, unsigned count,
			  uint32_t iface, uint32_t flags)
{
	unsigned next = 0;

	for (unsigned i = 0; i < pc->npkt; i++) {
		const struct cap_packet *p = &pc->pkt[i];
		uint32_t seq;

		if (p->len < 26 || memcmp(p->data + 14, &stream, 4) != 0)
			continue;
		assert_true(frame_check(p->data, p->len, stream, &seq));
		assert_int_equal(seq, next);
		assert_int_equal(p->len, size_mixed(seq));
		assert_int_equal(p->iface, iface);
		assert_int_equal(p->flags, flags);
		next++;
	}
	assert_int_equal(next, count);
}

/* ---- tests ------------------------------------------------------------------------ */

/* A capture of both ports that ended well after n frames each way from
 * exchange(): its summary and its file say 2n captured and none dropped,
 * each stream once on its sender's interface (a is port 0), inbound, in
 * order, and tcpdump reads the file alike. pc keeps the file: the caller
 * frees pc->file. */
static void expect_captured_both_ways(struct tool *t, const char *path, struct pcapng *pc,
				      unsigned n)
{
	unsigned long long captured, dropped;

	assert_int_equal(tool_wait(t, 10000), 0);
	tool_summary(t, &captured, &dropped);
	assert_int_equal(captured, 2 * n);
	assert_int_equal(dropped, 0);
	pcapng_read(path, pc);
	assert_int_equal(pc->npkt, 2 * n);
	expect_stream(pc, 1, n, 0, 1 /* inbound */);
	expect_stream(pc, 2, n, 1, 1);
	expect_tcpdump_agrees(path, pc);
}

/* Frames both ways, through the fast path (one descriptor each) and the
 * general one (scattered chains, several receive buffers): each appears
 * once, on its sender's interface, marked inbound, in order. */
static void test_capture_both_ways(void **state)
{
	struct vnd_config scatter, plain;
	static struct pcapng pc;
	struct server s;
	struct tool t;
	struct vnd *a, *b;
	char path[160];
	const char *args[] = { "-w", path, "--count", "600", NULL };

	(void)state;
	vnd_config_init(&scatter);
	scatter.tx_layout = VND_TX_SCATTER;
	scatter.tx_piece = 700;
	vnd_config_init(&plain);
	server_start(&s, NULL);
	a = client_open(&s, NULL, &scatter);
	b = client_open(&s, NULL, &plain);
	snprintf(path, sizeof path, "%s/both.pcapng", s.dir);
	tool_start(&t, &s, args, -1);
	tool_wait_started(&t, "capturing both ports");
	assert_int_equal(port_status(&s, 0).state, 3); /* the capture touched no port */

	expect_delivered(a, b, 300, size_mixed, 30000);
	expect_captured_both_ways(&t, path, &pc, 300);
	for (unsigned i = 1; i < pc.npkt; i++)
		assert_true(pc.pkt[i].time >= pc.pkt[i - 1].time);
	for (unsigned i = 0; i < 2; i++) {
		assert_true(pc.isb[i]);
		assert_int_equal(pc.ifdrop[i], 0);
		assert_true(pc.ifrecv[i] >= 300);
	}
	free(pc.file);

	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* --port 1: every frame on port 1's interface, inbound when port 1's
 * client sent it, outbound when it was given to it; a checksum the server
 * completed is captured completed, as the receiver got it. */
static void test_capture_port_view(void **state)
{
	struct vnd_config cfg, no_csum;
	struct vnd_tx_meta meta = { .needs_csum = true, .csum_start = 34, .csum_offset = 6 };
	static uint8_t frame[2048], got[2048];
	static struct pcapng pc;
	struct server s;
	struct tool t;
	struct vnd *a, *b;
	char path[160];
	const char *args[] = { "--port", "1", "--count", "201", "-w", path, NULL };
	ssize_t n;

	(void)state;
	vnd_config_init(&cfg);
	vnd_config_init(&no_csum);
	no_csum.features &= ~(F(VND_F_CSUM) | F(VND_F_GUEST_CSUM));
	server_start(&s, NULL);
	a = client_open(&s, NULL, &cfg);
	b = client_open(&s, NULL, &no_csum);
	snprintf(path, sizeof path, "%s/port1.pcapng", s.dir);
	tool_start(&t, &s, args, -1);
	tool_wait_started(&t, "capturing port 1");

	expect_delivered(a, b, 100, size_mixed, 30000);
	/* A partial checksum, completed by the server for b. */
	frame_fill(frame, 9, 0, 300);
	assert_int_equal(vnd_send(a, frame, 300, &meta), 0);
	for (int i = 0; (n = vnd_recv(b, got, sizeof got, NULL)) == -EAGAIN && i < 500; i++)
		vnd_wait(b, 10);
	assert_int_equal(n, 300);
	assert_memory_not_equal(got, frame, 300);

	assert_int_equal(tool_wait(&t, 10000), 0);
	pcapng_read(path, &pc);
	assert_int_equal(pc.npkt, 201);
	expect_stream(&pc, 1, 100, 1, 2 /* outbound */);
	expect_stream(&pc, 2, 100, 1, 1 /* inbound */);
	assert_int_equal(pc.pkt[200].len, 300);
	assert_memory_equal(pc.pkt[200].data, got, 300);
	assert_true(pc.isb[1] && !pc.isb[0]);
	assert_int_equal(pc.ifdrop[1], 0);
	expect_tcpdump_agrees(path, &pc);
	free(pc.file);

	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* SIGINT ends a capture without --count; what crossed before is all there. */
static void test_capture_sigint(void **state)
{
	struct vnd_config cfg;
	static struct pcapng pc;
	struct server s;
	struct tool t;
	struct vnd *a, *b;
	struct exchange_result r;
	char path[160];
	const char *args[] = { "-w", path, NULL };

	(void)state;
	vnd_config_init(&cfg);
	server_start(&s, NULL);
	a = client_open(&s, NULL, &cfg);
	b = client_open(&s, NULL, &cfg);
	snprintf(path, sizeof path, "%s/int.pcapng", s.dir);
	tool_start(&t, &s, args, -1);
	tool_wait_started(&t, "capturing both ports");
	r = exchange(a, b, 50, size_mixed, 30000);
	assert_int_equal(r.a_received + r.b_received, 100);
	kill(t.pid, SIGINT);
	expect_captured_both_ways(&t, path, &pc, 50);
	free(pc.file);
	/* The server let go of the capture. */
	assert_true(server_log_contains(&s, "capture ended", 2000));
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

static uint32_t captures_attached(struct server *s)
{
	struct vnp_ctl_status st;

	server_status(s, &st);
	return st.captures;
}

static bool wait_captures(struct server *s, uint32_t n)
{
	for (uint64_t deadline = now_ms() + 3000; now_ms() < deadline; usleep(2000))
		if (captures_attached(s) == n)
			return true;
	return false;
}

/*
 * A subscriber that never reads while 40000 frames cross at full speed:
 * every frame arrives, none late enough to fail the exchange; the capture
 * drops what does not fit and says so at the end; a second capture meanwhile
 * is refused; the buffer goes when the capture does.
 */
static void test_capture_slow_reader(void **state)
{
	struct vnd_config cfg;
	struct vnp_ctl_capture_info info;
	static struct capture_reader rd;
	struct vnp_cap_record rec;
	struct vnp_cap_end end = { 0 };
	struct server s;
	struct vnd *a, *b;
	uint32_t next_seq[3] = { 0, 0, 0 };
	uint64_t records[2] = { 0, 0 };
	long kib_before, kib_during, kib_after;
	char msg[256];
	bool done = false;
	int sock, other;

	(void)state;
	vnd_config_init(&cfg);
	server_start(&s, NULL);
	a = client_open(&s, NULL, &cfg);
	b = client_open(&s, NULL, &cfg);
	kib_before = server_private_kib(&s);
	sock = ctl_connect(s.svr);
	assert_true(sock >= 0);
	assert_int_equal(ctl_capture_start(sock, &info, msg, sizeof msg), 0);
	assert_int_equal(info.snaplen, VNP_CAP_SNAPLEN);
	assert_true(info.buffer_bytes >= (1u << 20));
	assert_int_equal(captures_attached(&s), 1);

	/* One at a time. */
	other = ctl_connect(s.svr);
	assert_true(other >= 0);
	assert_int_equal(ctl_capture_start(other, &info, msg, sizeof msg), -EBUSY);
	assert_non_null(strstr(msg, "running already"));
	close(other);

	expect_delivered(a, b, 20000, size_1400, 120000);
	assert_true(server_alive(&s));
	assert_int_equal(port_status(&s, 0).counter[VNP_CTR_TX_PACKETS], 20000);
	assert_int_equal(port_status(&s, 1).counter[VNP_CTR_TX_PACKETS], 20000);
	kib_during = server_private_kib(&s);

	/* Now read: what was kept, then the totals. */
	assert_int_equal(shutdown(sock, SHUT_WR), 0);
	capture_reader_init(&rd, sock);
	for (uint64_t deadline = now_ms() + 10000; !done;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		const uint8_t *data;
		int k;

		assert_true(now_ms() < deadline);
		assert_true(poll(&p, 1, 1000) >= 0);
		assert_true(capture_reader_fill(&rd) != 0); /* the end comes first */
		while (!done && (k = capture_reader_next(&rd, &rec, &data)) != 0) {
			uint32_t seq, stream = rec.port + 1;

			assert_int_equal(k, 1);
			if (rec.type == VNP_CAP_END) {
				memcpy(&end, data, sizeof end);
				done = true;
				break;
			}
			/* Kept frames are whole, and in order: drops only leave gaps. */
			assert_true(frame_check(data, rec.len, stream, &seq));
			assert_true(seq >= next_seq[stream]);
			next_seq[stream] = seq + 1;
			records[rec.port]++;
		}
	}
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(end.packets[i], records[i]);
		assert_int_equal(end.packets[i] + end.dropped[i], 20000);
	}
	assert_true(end.dropped[0] + end.dropped[1] > 0);
	/* The server closes once the totals are out. */
	{
		uint8_t junk;

		assert_int_equal(recv(sock, &junk, 1, 0), 0);
	}
	close(sock);
	assert_true(wait_captures(&s, 0));
	assert_true(server_log_contains(&s, "dropped by the capture", 2000));
	kib_after = server_private_kib(&s);
	print_message("server private memory: %ld KiB before the capture, %ld KiB with a full "
		      "buffer, %ld KiB after\n", kib_before, kib_during, kib_after);
	/* The buffer exists while the capture does, and goes with it. */
	assert_true(kib_during > kib_before + 2048);
	assert_true(kib_after < kib_during - 3072);
#if !UNDER_ASAN
	/* ASan's own bookkeeping (shadow of what was unmapped) would count here. */
	assert_true(kib_after < kib_before + 256);
	assert_true(kib_after < 2048);
#endif
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* The tool writing into a pipe nobody reads: the link does not notice;
 * SIGINT ends the tool, which reports the capture's drops. */
static void test_capture_stuck_output(void **state)
{
	struct vnd_config cfg;
	struct server s;
	struct tool t;
	struct vnd *a, *b;
	unsigned long long captured, dropped;
	const char *args[] = { "-w", "-", NULL };
	int pipefd[2];

	(void)state;
	vnd_config_init(&cfg);
	server_start(&s, NULL);
	a = client_open(&s, NULL, &cfg);
	b = client_open(&s, NULL, &cfg);
	assert_int_equal(pipe(pipefd), 0);
	tool_start(&t, &s, args, pipefd[1]);
	close(pipefd[1]);
	tool_wait_started(&t, "capturing both ports");

	expect_delivered(a, b, 20000, size_1400, 120000);

	kill(t.pid, SIGINT);
	assert_int_equal(tool_wait(&t, 15000), 0);
	tool_summary(&t, &captured, &dropped);
	assert_true(dropped > 0);
	assert_true(captured < 40000);
	close(pipefd[0]);
	assert_true(wait_captures(&s, 0));
	assert_true(server_alive(&s));
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* A request as raw bytes; the reply's status and text. */
static int raw_request(struct server *s, uint16_t version, uint16_t op, const void *payload,
		       uint32_t len, char *text, size_t textlen)
{
	struct vnp_ctl_header h = { VNP_CTL_MAGIC, version, op, len, 0 };
	uint8_t buf[sizeof h + 64];
	int sock = ctl_connect(s->svr);
	size_t have = 0;

	assert_true(sock >= 0 && len <= 64);
	memcpy(buf, &h, sizeof h);
	if (len)
		memcpy(buf + sizeof h, payload, len);
	assert_int_equal(write(sock, buf, sizeof h + len), (ssize_t)(sizeof h + len));
	while (have < sizeof h) {
		ssize_t n = read(sock, (uint8_t *)&h + have, sizeof h - have);

		assert_true(n > 0);
		have += (size_t)n;
	}
	assert_true(h.len < textlen);
	assert_int_equal(read(sock, text, h.len), (ssize_t)h.len);
	text[h.len] = '\0';
	close(sock);
	return h.status;
}

/* What a control client sends is checked, for a capture as for the rest;
 * a client of another protocol version is told so. */
static void test_capture_requests_checked(void **state)
{
	struct vnp_ctl_capture_info info;
	struct server s;
	char text[256], out[256], err[1024];
	uint8_t byte = 0;
	int sock;

	(void)state;
	server_start(&s, NULL);
	assert_int_equal(raw_request(&s, VNP_CTL_VERSION, VNP_CTL_CAPTURE, "x", 1, text, sizeof text),
			 -EINVAL);
	assert_non_null(strstr(text, "no arguments"));
	assert_int_equal(raw_request(&s, 1, VNP_CTL_STATUS, NULL, 0, text, sizeof text), -EPROTO);
	assert_non_null(strstr(text, "version 1 is not supported"));
	{
		char v[32];

		snprintf(v, sizeof v, "version %d", VNP_CTL_VERSION);
		assert_non_null(strstr(text, v));
	}
	assert_true(server_log_contains(&s, "control protocol version 1", 2000));

	/* A subscriber that talks after its request is dropped. */
	sock = ctl_connect(s.svr);
	assert_int_equal(ctl_capture_start(sock, &info, text, sizeof text), 0);
	assert_int_equal(write(sock, &byte, 1), 1);
	assert_true(server_log_contains(&s, "sent data after its request", 2000));
	assert_true(raw_closed(sock, 2000));
	close(sock);
	assert_true(wait_captures(&s, 0));

	/* One that just goes away, too. */
	sock = ctl_connect(s.svr);
	assert_int_equal(ctl_capture_start(sock, &info, text, sizeof text), 0);
	close(sock);
	assert_true(wait_captures(&s, 0));

	/* The tool checks its arguments before it asks the server. */
	for (const char *const *bad = (const char *const[]){ "--port", "2", NULL, "--count", "0",
							       NULL, "--count", "x1", NULL, "--bogus",
							       NULL, "-w", NULL, NULL };
	     *bad;) {
		const char *argv[8] = { ctl_binary(), "--svr", s.svr, "capture" };
		int n = 4;

		while (*bad)
			argv[n++] = *bad++;
		bad++;
		argv[n] = NULL;
		assert_int_equal(run_output(argv, out, sizeof out, err, sizeof err), 1);
		assert_non_null(strstr(err, "vnet-p2p-ctl: capture: "));
		assert_string_equal(out, "");
	}
	assert_true(server_alive(&s));
	assert_int_equal(captures_attached(&s), 0);
	server_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_both_ways),
		cmocka_unit_test(test_capture_port_view),
		cmocka_unit_test(test_capture_sigint),
		cmocka_unit_test(test_capture_slow_reader),
		cmocka_unit_test(test_capture_stuck_output),
		cmocka_unit_test(test_capture_requests_checked),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
