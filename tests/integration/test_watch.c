/* SPDX-License-Identifier: MIT */
/*
 * `vnet-p2p-ctl status --watch` against a real server, its output read
 * through a pipe (so the plain form: no terminal escapes). The rates are
 * checked by what they add up to: rate × the interval it reports, summed
 * over the screens, must give back exactly the frames and bytes the test
 * sent (within the rounding of the printed figures), however the machine's
 * load stretches the intervals. Also: zero when idle, drops by reason, a
 * port released and created again (never a negative or absurd rate),
 * --count, the ends (SIGINT, SIGTERM, the server gone) and refused values.
 * The terminal side is tests/integration/watch_tmux.sh.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define INTERVAL "0.2"
#define INTERVAL_S 0.2
#define ROWS 3 /* port 0, port 1, the link */

/* ---- running the tool in the background ----------------------------------- */

struct watcher {
	pid_t pid;
	int out, err;      /* its stdout and stderr */
	char buf[1 << 16]; /* stdout not yet taken as blocks */
	size_t len;
	char all[1 << 18]; /* everything it wrote, for the escape check */
	size_t all_len;
};

static void watch_start(struct watcher *w, struct server *s, const char *const *extra)
{
	const char *argv[16] = { ctl_binary(), "--svr", s->svr, "status", "--watch", INTERVAL };
	int n = 6;

	while (extra && *extra)
		argv[n++] = *extra++;
	argv[n] = NULL;
	w->pid = spawn_piped(argv, &w->out, &w->err);
	w->len = w->all_len = 0;
}

/* Read what is there, waiting up to timeout_ms for something. Returns
 * false at the end of the output. */
static bool watch_read(struct watcher *w, int timeout_ms)
{
	struct pollfd pfd = { .fd = w->out, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return true;
	n = read(w->out, w->buf + w->len, sizeof w->buf - 1 - w->len);
	assert_true(n >= 0);
	if (n == 0)
		return false;
	assert_true(w->all_len + (size_t)n < sizeof w->all);
	memcpy(w->all + w->all_len, w->buf + w->len, (size_t)n);
	w->all_len += (size_t)n;
	w->len += (size_t)n;
	w->buf[w->len] = '\0';
	return true;
}

/* The next whole block (up to its blank line) into out; false when none
 * came within timeout_ms. */
static bool watch_block(struct watcher *w, char *out, size_t cap, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		char *end = w->len ? strstr(w->buf, "\n\n") : NULL;

		if (end) {
			size_t n = (size_t)(end - w->buf) + 1;

			assert_true(n < cap);
			memcpy(out, w->buf, n);
			out[n] = '\0';
			w->len -= n + 1;
			memmove(w->buf, end + 2, w->len);
			w->buf[w->len] = '\0';
			return true;
		}
		if (now_ms() >= deadline || !watch_read(w, 50))
			return false;
	}
}

/* Its exit status within timeout_ms (fails the test otherwise); its
 * stderr into err. */
static int watch_end(struct watcher *w, char *err, size_t cap, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	size_t have = 0;
	int status;
	pid_t r;

	while ((r = waitpid(w->pid, &status, WNOHANG)) == 0) {
		if (now_ms() > deadline) {
			kill(w->pid, SIGKILL);
			waitpid(w->pid, &status, 0);
			fail_msg("status --watch did not exit within %d ms", timeout_ms);
		}
		watch_read(w, 10);
	}
	assert_int_equal(r, w->pid);
	while (watch_read(w, 0) && w->len)
		;
	for (ssize_t n; (n = read(w->err, err + have, cap - 1 - have)) > 0;)
		have += (size_t)n;
	err[have] = '\0';
	close(w->out);
	close(w->err);
	/* A plain output has no terminal escapes at all. */
	assert_null(memchr(w->all, '\033', w->all_len));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- reading a block ------------------------------------------------------ */

struct rates {
	double packets, bits, drops, no_peer, too_big, bad_chain;
};

struct block {
	double seconds;
	char state[2][16];        /* "free", "running", ... */
	struct rates r[ROWS][2];  /* [port 0, port 1, link][tx, rx] */
};

static double parse_bits(const char *num, const char *unit)
{
	static const char *const units[] = { "bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s" };
	double v = strtod(num, NULL), scale = 1;

	for (unsigned i = 0; i < 5; i++, scale *= 1000)
		if (strcmp(unit, units[i]) == 0)
			return v * scale;
	fail_msg("unknown unit '%s'", unit);
	return 0;
}

/* A number as printed: digits, one point, one decimal; never negative. */
static double parse_rate(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (*end || s[0] == '-' || !strchr(s, '.'))
		fail_msg("not a rate: '%s'", s);
	return v;
}

static void parse_row(const char *line, const char *dir, struct rates *r, bool tx)
{
	char d[8], pk[32], bn[32], bu[16], dr[32], np[32], tb[32], bc[32];

	if (sscanf(line, "%7s %31s %31s %15s %31s %31s %31s %31s", d, pk, bn, bu, dr, np, tb, bc) != 8)
		fail_msg("not a row of rates: '%s'", line);
	assert_string_equal(d, dir);
	r->packets = parse_rate(pk);
	r->bits = parse_bits(bn, bu);
	assert_true(bn[0] != '-');
	r->drops = parse_rate(dr);
	r->no_peer = tx ? parse_rate(np) : 0;
	if (!tx)
		assert_string_equal(np, "-");
	r->too_big = parse_rate(tb);
	r->bad_chain = parse_rate(bc);
	/* The drops are the sum of their reasons (to the printed precision). */
	assert_true(r->drops - (r->no_peer + r->too_big + r->bad_chain) < 0.25);
	assert_true((r->no_peer + r->too_big + r->bad_chain) - r->drops < 0.25);
}

static void parse_block(const char *text, struct block *b)
{
	char line[256];
	const char *p = text;
	unsigned row = 0, n = 0;

	memset(b, 0, sizeof *b);
	while (*p) {
		size_t len = strcspn(p, "\n");
		char first[16] = "", second[16] = "";

		assert_true(len < sizeof line);
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (p[len] == '\n');
		if (n++ == 0) {
			const char *over = strstr(line, " over ");

			assert_non_null(over);
			assert_int_equal(strncmp(line, "vnet-p2p ", 9), 0);
			b->seconds = strtod(over + 6, NULL);
			/* Measured: on fixed ticks, so one late wake-up makes
			 * that interval longer and the next one shorter. */
			assert_true(b->seconds > 0 && b->seconds < 60);
			continue;
		}
		if (n == 2) {
			assert_non_null(strstr(line, "packets/s"));
			continue;
		}
		sscanf(line, "%15s %15s", first, second);
		if (line[0] != ' ') {
			/* "0     running    tx ...", "1     free", "link             tx ..." */
			row = strcmp(first, "link") == 0 ? 2 : (unsigned)atoi(first);
			assert_true(row < ROWS);
			if (row < 2) {
				snprintf(b->state[row], sizeof b->state[row], "%s", second);
				if (strcmp(second, "free") == 0)
					continue;
			}
			parse_row(line + 17, "tx", &b->r[row][0], true);
		} else {
			parse_row(line + 17, "rx", &b->r[row][1], false);
		}
	}
	assert_string_not_equal(b->state[0], "");
	assert_string_not_equal(b->state[1], "");
}

static bool block_idle(const struct block *b)
{
	for (unsigned i = 0; i < ROWS; i++)
		for (unsigned d = 0; d < 2; d++)
			if (b->r[i][d].packets || b->r[i][d].bits || b->r[i][d].drops)
				return false;
	return true;
}

/* What the blocks add up to: rate × seconds. */
struct sums {
	struct rates r[ROWS][2];
};

static void sums_add(struct sums *s, const struct block *b)
{
	for (unsigned i = 0; i < ROWS; i++)
		for (unsigned d = 0; d < 2; d++) {
			struct rates *t = &s->r[i][d];
			const struct rates *r = &b->r[i][d];

			t->packets += r->packets * b->seconds;
			t->bits += r->bits * b->seconds;
			t->drops += r->drops * b->seconds;
			t->no_peer += r->no_peer * b->seconds;
			t->too_big += r->too_big * b->seconds;
			t->bad_chain += r->bad_chain * b->seconds;
		}
}

/* The interval is printed to the millisecond and each rate to 0.1/s or
 * three or four figures: 1% and one frame cover that; any real mistake
 * (a wrong divisor, a missed or doubled interval) is far beyond it. */
static void assert_near(double got, double want, const char *what)
{
	double tol = want * 0.01 + 1;

	if (got < want - tol || got > want + tol)
		fail_msg("%s: the screens add up to %.1f, the traffic was %.0f", what, got, want);
}

/*
 * Take blocks until everything counted before this call is in them. The
 * blocks already written are taken at once; the next one to come was
 * written after that, so the snapshot ending the one after it was taken
 * after this call. A further block, wholly later, must be idle.
 */
static void settle(struct watcher *w, struct sums *sum, struct block *last)
{
	static char text[8192];
	struct block b;
	size_t before;

	do {
		before = w->all_len;
	} while (watch_read(w, 0) && w->all_len != before);
	while (strstr(w->buf, "\n\n")) {
		assert_true(watch_block(w, text, sizeof text, 0));
		parse_block(text, &b);
		sums_add(sum, &b);
	}
	for (int more = 0; more < 2; more++) {
		assert_true(watch_block(w, text, sizeof text, 10000));
		parse_block(text, &b);
		sums_add(sum, &b);
	}
	assert_true(watch_block(w, text, sizeof text, 10000));
	parse_block(text, last);
	if (!block_idle(last))
		fail_msg("a block after the traffic is not idle:\n%s", text);
}

/* ---- traffic -------------------------------------------------------------- */

/* n frames from a to b, in rounds that fit the rings. */
static void transfer(struct vnd *a, struct vnd *b, uint32_t stream, unsigned n, size_t len)
{
	for (unsigned done = 0; done < n; done += 100) {
		unsigned k = n - done < 100 ? n - done : 100;

		send_frames(a, stream, k, len);
		recv_frames(b, stream, k, len);
	}
}

#define PORT_FREE_STATE 0
#define PORT_RUNNING_STATE 3

/* ---- tests ------------------------------------------------------------------ */

/* Known traffic each way: the screens add up to exactly it, per port, per
 * direction and for the link, in packets and in bits; idle before and
 * after. */
static void test_rates_add_up(void **state)
{
	static char text[8192], err[4096];
	struct server s;
	struct vnd_config cfg;
	struct watcher *w = calloc(1, sizeof *w);
	struct sums sum = { 0 };
	struct block b;
	struct vnd *a, *c;
	uint64_t t0;

	(void)state;
	server_start(&s, NULL);
	vnd_config_init(&cfg);
	a = client_open(&s, NULL, &cfg);
	c = client_open(&s, NULL, &cfg);
	wait_port_state(&s, 0, PORT_RUNNING_STATE);
	wait_port_state(&s, 1, PORT_RUNNING_STATE);

	t0 = now_ms();
	watch_start(w, &s, NULL);
	assert_true(watch_block(w, text, sizeof text, 10000));
	/* The first screen comes after one interval, from two snapshots. */
	assert_true(now_ms() - t0 >= (uint64_t)(INTERVAL_S * 1000));
	parse_block(text, &b);
	assert_string_equal(b.state[0], "running");
	assert_string_equal(b.state[1], "running");
	if (!block_idle(&b))
		fail_msg("idle link, busy screen:\n%s", text);

	/* Port 0 sends 3000 frames of 500 bytes, port 1 1000 of 100. */
	transfer(a, c, 1, 3000, 500);
	transfer(c, a, 2, 1000, 100);
	wait_port_counter(&s, 0, VNP_CTR_TX_PACKETS, 3000);
	wait_port_counter(&s, 1, VNP_CTR_RX_PACKETS, 3000);
	wait_port_counter(&s, 1, VNP_CTR_TX_PACKETS, 1000);
	wait_port_counter(&s, 0, VNP_CTR_RX_PACKETS, 1000);
	settle(w, &sum, &b);

	assert_near(sum.r[0][0].packets, 3000, "port 0 tx packets");
	assert_near(sum.r[1][1].packets, 3000, "port 1 rx packets");
	assert_near(sum.r[1][0].packets, 1000, "port 1 tx packets");
	assert_near(sum.r[0][1].packets, 1000, "port 0 rx packets");
	assert_near(sum.r[2][0].packets, 4000, "link tx packets");
	assert_near(sum.r[2][1].packets, 4000, "link rx packets");
	assert_near(sum.r[0][0].bits, 3000 * 500 * 8, "port 0 tx bits");
	assert_near(sum.r[1][1].bits, 3000 * 500 * 8, "port 1 rx bits");
	assert_near(sum.r[1][0].bits, 1000 * 100 * 8, "port 1 tx bits");
	assert_near(sum.r[2][0].bits, 4000 * 400 * 8, "link tx bits");
	for (unsigned i = 0; i < ROWS; i++)
		for (unsigned d = 0; d < 2; d++)
			assert_near(sum.r[i][d].drops, 0, "drops");

	kill(w->pid, SIGINT);
	assert_int_equal(watch_end(w, err, sizeof err, 5000), 0);
	assert_string_equal(err, "");
	free(w);
	vnd_close(a);
	vnd_close(c);
	server_stop(&s);
}

/* Port 1 released and created again at once (its counters restart below
 * what they were), then released for good: port 0's frames are then
 * dropped for want of a peer, and the screens say so, by reason. */
static void test_restart_and_drops(void **state)
{
	static char text[8192], err[4096];
	struct server s;
	struct vnd_config cfg;
	struct watcher *w = calloc(1, sizeof *w);
	struct sums sum = { 0 }, drops = { 0 };
	struct block b;
	struct vnd *a, *c;

	(void)state;
	server_start(&s, NULL);
	vnd_config_init(&cfg);
	a = client_open(&s, NULL, &cfg);
	c = client_open(&s, NULL, &cfg);
	wait_port_state(&s, 1, PORT_RUNNING_STATE);
	transfer(a, c, 1, 2000, 300);
	wait_port_counter(&s, 1, VNP_CTR_RX_PACKETS, 2000);

	watch_start(w, &s, NULL);
	assert_true(watch_block(w, text, sizeof text, 10000));
	parse_block(text, &b);
	assert_true(block_idle(&b));

	/* Gone and back within an interval, most likely: 2000 -> 0 -> 300. */
	vnd_close(c);
	wait_port_state(&s, 1, PORT_FREE_STATE);
	c = client_open(&s, NULL, &cfg);
	wait_port_state(&s, 1, PORT_RUNNING_STATE);
	transfer(a, c, 3, 300, 200);
	wait_port_counter(&s, 1, VNP_CTR_RX_PACKETS, 300);
	settle(w, &sum, &b);
	assert_near(sum.r[1][1].packets, 300, "port 1 rx packets after its restart");
	assert_near(sum.r[1][1].bits, 300 * 200 * 8, "port 1 rx bits after its restart");
	assert_near(sum.r[0][0].packets, 300, "port 0 tx packets");
	assert_near(sum.r[1][0].packets, 0, "port 1 tx packets");

	vnd_close(c);
	wait_port_state(&s, 1, PORT_FREE_STATE);
	send_frames(a, 4, 500, 100);
	wait_port_counter(&s, 0, VNP_CTR_DROP_NO_PEER, 500);
	settle(w, &drops, &b);
	assert_string_equal(b.state[1], "free");
	assert_near(drops.r[0][0].drops, 500, "port 0 tx drops");
	assert_near(drops.r[0][0].no_peer, 500, "port 0 tx no-peer drops");
	assert_near(drops.r[0][0].too_big + drops.r[0][0].bad_chain, 0, "other drops");
	assert_near(drops.r[0][0].packets, 0, "port 0 tx packets delivered");
	assert_near(drops.r[2][0].drops, 500, "link tx drops");

	kill(w->pid, SIGTERM);
	assert_int_equal(watch_end(w, err, sizeof err, 5000), 0);
	assert_string_equal(err, "");
	free(w);
	vnd_close(a);
	server_stop(&s);
}

/* --count N: N screens, none before its interval, then exit 0. */
static void test_count(void **state)
{
	static char out[65536], err[4096];
	struct server s;
	const char *argv[] = { ctl_binary(), "--svr", s.svr, "status", "--watch=0.1", "--count", "3",
			       NULL };
	const char *p;
	uint64_t t0;
	unsigned blocks = 0;

	(void)state;
	server_start(&s, NULL);
	t0 = now_ms();
	assert_int_equal(run_output(argv, out, sizeof out, err, sizeof err), 0);
	assert_true(now_ms() - t0 >= 300);
	assert_string_equal(err, "");
	assert_null(strchr(out, '\033'));
	for (p = out; *p;) {
		const char *end = strstr(p, "\n\n");
		static char text[8192];

		assert_non_null(end);
		snprintf(text, sizeof text, "%.*s", (int)(end - p + 1), p);
		assert_non_null(strstr(text, "over "));
		assert_true(strtod(strstr(text, "over ") + 5, NULL) > 0);
		assert_non_null(strstr(text, "\n0     free\n1     free\nlink "));
		blocks++;
		p = end + 2;
	}
	assert_int_equal(blocks, 3);
	server_stop(&s);
}

/* The server going away ends the watch at once, with status 1 and a
 * message; the output so far stays plain. */
static void test_server_gone(void **state)
{
	static char text[8192], err[4096];
	struct server s;
	struct watcher *w = calloc(1, sizeof *w);
	uint64_t t0;

	(void)state;
	server_start(&s, NULL);
	watch_start(w, &s, NULL);
	assert_true(watch_block(w, text, sizeof text, 10000));
	t0 = now_ms();
	server_stop(&s);
	assert_int_equal(watch_end(w, err, sizeof err, 5000), 1);
	assert_true(now_ms() - t0 < 5000);
	assert_non_null(strstr(err, "lost the server at"));
	assert_non_null(strstr(err, s.svr));
	free(w);
}

/* Values that make no sense are refused, naming the option, the value and
 * the range; nothing is shown. */
static void test_refused(void **state)
{
	static const char *const bad[][4] = {
		{ "--watch", "0", "'0' for --watch", "0.1 to 3600" },
		{ "--watch", "abc", "'abc' for --watch", "0.1 to 3600" },
		{ "--watch", "-1", "'-1' for --watch", "0.1 to 3600" },
		{ "--watch=1e3", NULL, "'1e3' for --watch", "0.1 to 3600" },
		{ "--watch", "inf", "'inf' for --watch", "0.1 to 3600" },
		{ "--watch", "3601", "'3601' for --watch", "0.1 to 3600" },
		{ "--watch", "0.05", "'0.05' for --watch", "0.1 to 3600" },
		{ "--watch", "--count=0", "'0' for --count", "from 1" },
		{ "--watch", "--count=x", "'x' for --count", "from 1" },
		{ "--count", "3", "give --watch", "" },
		{ "--watch", "--json", "excludes --json", "" },
	};
	static char out[4096], err[4096];
	struct server s;

	(void)state;
	server_start(&s, NULL);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *argv[] = { ctl_binary(), "--svr", s.svr, "status", bad[i][0], bad[i][1],
				       NULL };

		assert_int_equal(run_output(argv, out, sizeof out, err, sizeof err), 1);
		assert_string_equal(out, "");
		if (!strstr(err, bad[i][2]) || !strstr(err, bad[i][3]))
			fail_msg("status %s %s: '%s'", bad[i][0], bad[i][1] ? bad[i][1] : "", err);
	}
	server_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rates_add_up),
		cmocka_unit_test(test_restart_and_drops),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_server_gone),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
