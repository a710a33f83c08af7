/* SPDX-License-Identifier: MIT */
/*
 * status --watch: take a status snapshot every interval and show, per port
 * and direction, what happened in between divided by the real time that
 * passed (CLOCK_MONOTONIC), so a late wake-up does not inflate a rate.
 *
 * On a terminal the screen is redrawn in place (the alternate screen, as
 * top does, so the shell's screen comes back afterwards), and `q` quits:
 * the terminal then reads keys without echo, one at a time. Anywhere else
 * each interval appends one plain block, for logs and pipes. Every way out
 * (q, --count, SIGINT, SIGTERM, SIGHUP, SIGQUIT, the server gone, the
 * output closed) goes through term_leave(), which puts the terminal back.
 *
 * Each snapshot has a connection of its own, as `status` has: the server
 * closes control connections that sit idle, so one held across intervals
 * would be dropped, not kept. A server gone shows at the next snapshot.
 *
 * The signals we handle stay blocked except inside ppoll(), so none is lost
 * between a check and the wait, and no write is cut short by one.
 */
#include "watch_cmd.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl_client.h"
#include "link/link.h"
#include "rates.h"

#define NPORTS 2

static volatile sig_atomic_t stop_signal, suspend_requested, resized;

static void on_stop(int sig) { stop_signal = sig; }
static void on_tstp(int sig) { (void)sig; suspend_requested = 1; }
static void on_winch(int sig) { (void)sig; resized = 1; }

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

bool watch_parse_interval(const char *s, double *out)
{
	size_t digits = strspn(s, "0123456789"), frac = 0;

	/* Our own check first: strtod would also take "inf", "nan", hex and
	 * exponents, none of which anyone means by an interval. */
	if (s[digits] == '.')
		frac = strspn(s + digits + 1, "0123456789") + 1;
	/* Digits before or after the point, and nothing else. */
	if ((digits == 0 && frac < 2) || s[digits + frac] != '\0')
		return false;
	*out = strtod(s, NULL);
	return *out >= WATCH_MIN_S && *out <= WATCH_MAX_S;
}

static double monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the terminal ---------------------------------------------------------- */

struct term {
	bool screen;           /* stdout is a terminal: redraw in place */
	bool keys;             /* stdin is our terminal: read q */
	bool keys_set;         /* its settings are changed and saved below */
	struct termios saved;
};

static void write_all(int fd, const char *p, size_t n, int *err)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			*err = w < 0 ? errno : EIO;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
	*err = 0;
}

static void term_enter(struct term *t)
{
	int err;

	/* Only the foreground job may change the terminal (a background one
	 * would be stopped by SIGTTOU, or read someone else's keys). */
	t->keys = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
	if (t->keys && tcgetattr(STDIN_FILENO, &t->saved) == 0) {
		struct termios raw = t->saved;

		/* Keys one at a time without echo; ISIG stays, so ^C is SIGINT. */
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		t->keys_set = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
	}
	t->keys = t->keys_set;
	if (t->screen) /* alternate screen, cursor hidden, cleared */
		write_all(STDOUT_FILENO, "\033[?1049h\033[?25l\033[H\033[2J", 22, &err);
}

static void term_leave(struct term *t)
{
	int err;

	if (t->screen)
		write_all(STDOUT_FILENO, "\033[?25h\033[?1049l", 14, &err);
	if (t->keys_set)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
	t->keys_set = t->keys = false;
}

/* ---- one screen ------------------------------------------------------------ */

struct snapshot {
	struct vnp_ctl_status st;
	double t; /* seconds, CLOCK_MONOTONIC: the middle of the request */
};

/* A status over sock, or over a new connection to svr when sock < 0. */
static int take_snapshot(int sock, const char *svr, struct snapshot *s, char *msg, size_t msglen)
{
	double t0;
	int rc;

	if (sock < 0)
		sock = ctl_connect(svr);
	if (sock < 0) {
		snprintf(msg, msglen, "%s", strerror(-sock));
		return sock;
	}
	t0 = monotonic_s();
	rc = ctl_status(sock, &s->st, msg, msglen);
	s->t = (t0 + monotonic_s()) / 2;
	close(sock);
	return rc;
}

static void put_rates(FILE *out, const char *port, const char *state, const char *dir,
		      const struct dir_rates *r, bool has_no_peer)
{
	char bits[32], no_peer[16] = "-";

	if (has_no_peer)
		snprintf(no_peer, sizeof no_peer, "%.1f", r->no_peer);
	fprintf(out, "%-5s %-10s %-4s %12.1f %15s %10.1f %9s %9.1f %9.1f\n", port, state, dir,
		r->packets, format_bits(r->bits, bits, sizeof bits), r->drops, no_peer, r->too_big,
		r->bad_chain);
}

static void render(FILE *out, const struct watch_opts *o, bool hint, const struct snapshot *a,
		   const struct snapshot *b)
{
	struct dir_rates tx = { 0 }, rx = { 0 };
	double seconds = b->t - a->t;
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
	fprintf(out, "vnet-p2p %s  %s  over %.3f s%s\n", o->svr, when, seconds,
		hint ? "  (q: quit)" : "");
	fprintf(out, "%-5s %-10s %-4s %12s %15s %10s %9s %9s %9s\n", "port", "state", "dir",
		"packets/s", "bits/s", "drops/s", "no-peer", "too-big", "bad-chain");
	for (unsigned i = 0; i < NPORTS; i++) {
		const struct vnp_ctl_port *p = &b->st.port[i];
		struct port_rates r;
		char num[8];

		snprintf(num, sizeof num, "%u", i);
		if (p->state == PORT_FREE) {
			fprintf(out, "%-5s %s\n", num, port_state_name(PORT_FREE));
			continue;
		}
		port_rates(&a->st.port[i], p, seconds, &r);
		put_rates(out, num, port_state_name((enum port_state)p->state), "tx", &r.tx, true);
		put_rates(out, "", "", "rx", &r.rx, false);
		dir_rates_add(&tx, &r.tx);
		dir_rates_add(&rx, &r.rx);
	}
	put_rates(out, "link", "", "tx", &tx, true);
	put_rates(out, "", "", "rx", &rx, false);
}

/* The block as it goes out: on a terminal from the top left, each line
 * clearing what an older, longer screen left to its right, and the rest of
 * the screen cleared below; elsewhere plain text and a blank line. */
static char *frame(const char *block, bool screen, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	if (screen) {
		fputs("\033[H", f);
		for (const char *p = block; *p;) {
			size_t n = strcspn(p, "\n");

			fwrite(p, 1, n, f);
			fputs("\033[K\n", f);
			p += n + (p[n] == '\n');
		}
		fputs("\033[J", f);
	} else {
		fputs(block, f);
		fputc('\n', f);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static char *render_block(const struct watch_opts *o, bool hint, const struct snapshot *a,
			  const struct snapshot *b)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	render(f, o, hint, a, b);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Write a block; 0, or errno of the output. */
static int show(const char *block, bool screen)
{
	size_t len;
	char *text = frame(block, screen, &len);
	int err;

	if (!text)
		return ENOMEM;
	write_all(STDOUT_FILENO, text, len, &err);
	free(text);
	return err;
}

/* ---- the loop -------------------------------------------------------------- */

enum outcome { RUN_ON, DONE, FAILED };

/* ^Z: give the terminal back, stop, and take it again when continued. */
static void suspend(struct term *t, const sigset_t *blocked)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL }, ours = { .sa_handler = on_tstp };
	sigset_t tstp;

	term_leave(t);
	sigemptyset(&tstp);
	sigaddset(&tstp, SIGTSTP);
	sigaction(SIGTSTP, &dfl, NULL);
	raise(SIGTSTP); /* pending until unblocked just below */
	sigprocmask(SIG_UNBLOCK, &tstp, NULL);
	/* continued */
	sigprocmask(SIG_SETMASK, blocked, NULL);
	sigfillset(&ours.sa_mask);
	sigaction(SIGTSTP, &ours, NULL);
	term_enter(t);
}

/* Wait until `deadline` for a key or a signal. */
static enum outcome wait_until(struct term *t, double deadline, const sigset_t *run_mask)
{
	struct pollfd pfd = { .fd = t->keys ? STDIN_FILENO : -1, .events = POLLIN };
	double left = deadline - monotonic_s();
	struct timespec ts;
	char keys[64];
	ssize_t n;

	if (left <= 0)
		return RUN_ON;
	ts.tv_sec = (time_t)left;
	ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
	if (ppoll(&pfd, 1, &ts, run_mask) < 0)
		return RUN_ON; /* EINTR: the caller looks at the flags */
	if (pfd.revents) {
		n = read(STDIN_FILENO, keys, sizeof keys);
		if (n <= 0) {
			t->keys = false; /* the terminal is gone; signals still end us */
			return RUN_ON;
		}
		if (memchr(keys, 'q', (size_t)n) || memchr(keys, 'Q', (size_t)n))
			return DONE;
	}
	return RUN_ON;
}

int watch_run(int sock, const struct watch_opts *o)
{
	struct term term = { .screen = isatty(STDOUT_FILENO) };
	struct sigaction sa = { .sa_handler = on_stop }, ign = { .sa_handler = SIG_IGN };
	struct snapshot snap[2];
	sigset_t blocked, run_mask;
	const char *why = NULL;
	char msg[256], *last = NULL;
	double next;
	uint64_t shown = 0;
	enum outcome out = RUN_ON;
	bool server_lost = true; /* what FAILED means, unless the output failed */
	int cur = 0, err;

	sigemptyset(&blocked);
	for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++)
		sigaddset(&blocked, stop_signals[i]);
	sigaddset(&blocked, SIGTSTP);
	sigaddset(&blocked, SIGWINCH);
	sigprocmask(SIG_BLOCK, &blocked, &run_mask);
	sigprocmask(SIG_BLOCK, NULL, &blocked);
	sigfillset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++)
		sigaction(stop_signals[i], &sa, NULL);
	sa.sa_handler = on_winch;
	sigaction(SIGWINCH, &sa, NULL);
	/* ^Z gives the terminal back before the stop (see suspend()). */
	sa.sa_handler = on_tstp;
	sigaction(SIGTSTP, &sa, NULL);
	/* A closed pipe is an end like any other, reported by write(). */
	sigaction(SIGPIPE, &ign, NULL);

	if (take_snapshot(sock, o->svr, &snap[cur], msg, sizeof msg) < 0) {
		fprintf(stderr, "vnet-p2p-ctl: status: %s\n", msg);
		return 1;
	}
	term_enter(&term);
	if (term.screen) {
		char hello[160];

		snprintf(hello, sizeof hello, "vnet-p2p %s  measuring over %g s%s\n", o->svr,
			 o->interval, term.keys ? "  (q: quit)" : "");
		show(hello, true);
	}
	next = snap[cur].t + o->interval;
	while (out == RUN_ON) {
		if (stop_signal) {
			out = DONE;
			break;
		}
		if (suspend_requested) {
			suspend_requested = 0;
			suspend(&term, &blocked);
			resized = 1;
		}
		if (resized) {
			resized = 0;
			if (term.screen && last)
				show(last, true);
		}
		if (monotonic_s() < next) {
			out = wait_until(&term, next, &run_mask);
			continue;
		}
		if (take_snapshot(-1, o->svr, &snap[!cur], msg, sizeof msg) < 0) {
			why = msg; /* the server went away, or stopped answering */
			out = FAILED;
			break;
		}
		free(last);
		last = render_block(o, term.screen && term.keys, &snap[cur], &snap[!cur]);
		cur = !cur;
		err = last ? show(last, term.screen) : ENOMEM;
		if (err == EPIPE) {
			out = DONE; /* the reader has what it wanted */
			break;
		}
		if (err) {
			server_lost = false;
			snprintf(msg, sizeof msg, "cannot write the output: %s", strerror(err));
			why = msg;
			out = FAILED;
			break;
		}
		if (o->count && ++shown >= o->count) {
			out = DONE;
			break;
		}
		/* Fixed ticks; after a stall, start afresh rather than catch up. */
		next += o->interval;
		if (next < monotonic_s())
			next = monotonic_s() + o->interval;
	}
	term_leave(&term);
	free(last);
	if (out == FAILED) {
		fprintf(stderr, "vnet-p2p-ctl: status --watch: %s%s: %s\n",
			server_lost ? "lost the server at " : "", server_lost ? o->svr : "", why);
		return 1;
	}
	return 0;
}
