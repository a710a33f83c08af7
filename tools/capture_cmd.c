/* SPDX-License-Identifier: MIT */
/*
 * The capture command. The server sends a compact record per frame it
 * delivered, naming the port whose client sent it; this side writes
 * pcapng. Interface i is port i. Without --port every frame appears once,
 * on the interface of the port it came from, marked inbound. With --port P
 * every frame appears on P's interface: inbound when P's client sent it,
 * outbound when it was delivered to P's client (on a wire of two ports,
 * each delivered frame crosses both).
 *
 * The capture ends after --count packets, on SIGINT or SIGTERM, or when
 * the output closes: we shut down our sending side, the server sends what
 * it recorded until then and its totals, and we report them. After a
 * signal the output gets a few seconds for the rest (an alarm interrupts a
 * write that blocks longer), so a stuck reader cannot keep us; a second
 * signal ends at once.
 */
#include "capture_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctl/capture_reader.h"
#include "ctl/ctl_client.h"
#include "pcapng.h"
#include "util/parse_num.h"
#include "vnp_config.h"

/* How long the output may take for the rest after a signal. */
#define OUTPUT_GRACE_S 3
/* How long the server may take to send the rest and its totals. */
#define END_TIMEOUT_MS 10000

static volatile sig_atomic_t stop_requested, output_overdue, give_up;

static void on_stop(int sig)
{
	(void)sig;
	if (stop_requested) {
		output_overdue = give_up = 1;
		return;
	}
	stop_requested = 1;
	alarm(OUTPUT_GRACE_S);
}

static void on_alarm(int sig)
{
	(void)sig;
	output_overdue = 1;
}

static int output_abandoned(void) { return output_overdue; }

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int capture_parse(int argc, char **argv, struct capture_opts *o)
{
	o->port = -1;
	o->count = 0;
	o->path = "-";
	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i], *val;
		const char *eq = strncmp(opt, "--", 2) == 0 ? strchr(opt, '=') : NULL;
		char name[16];

		if (eq) {
			snprintf(name, sizeof name, "%.*s", (int)(eq - opt), opt);
			opt = name;
			val = eq + 1;
		} else if (strcmp(opt, "--port") == 0 || strcmp(opt, "--count") == 0 ||
			   strcmp(opt, "-w") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "vnet-p2p-ctl: capture: %s needs a value\n", opt);
				return -1;
			}
			val = argv[++i];
		} else {
			fprintf(stderr, "vnet-p2p-ctl: capture: unknown argument '%s'\n", opt);
			return -1;
		}
		if (strcmp(opt, "--port") == 0) {
			if (strcmp(val, "0") != 0 && strcmp(val, "1") != 0) {
				fprintf(stderr, "vnet-p2p-ctl: capture: invalid value '%s' for --port: "
						"must be 0 or 1\n", val);
				return -1;
			}
			o->port = val[0] - '0';
		} else if (strcmp(opt, "--count") == 0) {
			if (!(parse_decimal(val, UINT64_MAX, &o->count) && o->count > 0)) {
				fprintf(stderr, "vnet-p2p-ctl: capture: invalid value '%s' for --count: "
						"must be a positive integer\n", val);
				return -1;
			}
		} else if (strcmp(opt, "-w") == 0 && *val) {
			o->path = val;
		} else {
			fprintf(stderr, "vnet-p2p-ctl: capture: invalid argument '%s'\n", argv[i]);
			return -1;
		}
	}
	return 0;
}

static void write_packet(struct pcapng_writer *w, const struct capture_opts *o,
			 const struct vnp_cap_record *rec, const uint8_t *frame)
{
	uint32_t iface = rec->port, flags = PCAPNG_INBOUND;

	if (o->port >= 0) {
		iface = (uint32_t)o->port;
		flags = rec->port == o->port ? PCAPNG_INBOUND : PCAPNG_OUTBOUND;
	}
	pcapng_packet(w, iface, rec->time_ns, flags, frame, rec->len);
}

/* Interface statistics from the server's totals, as the view maps them. */
static void write_stats(struct pcapng_writer *w, const struct capture_opts *o,
			const struct vnp_cap_end *end, uint64_t start_ns, uint64_t end_ns)
{
	if (o->port >= 0) {
		uint64_t dropped = end->dropped[0] + end->dropped[1];

		pcapng_stats(w, (uint32_t)o->port, start_ns, end_ns,
			     end->packets[0] + end->packets[1] + dropped, dropped);
		return;
	}
	for (uint32_t i = 0; i < 2; i++)
		pcapng_stats(w, i, start_ns, end_ns, end->packets[i] + end->dropped[i],
			     end->dropped[i]);
}

struct session {
	bool stopping;  /* we asked the server to end */
	bool got_end;   /* its totals came */
	bool closed;    /* the stream ended */
	bool malformed;
	uint64_t written;
	struct vnp_cap_end end;
};

/* Take the records read so far. */
static void take_records(struct session *s, struct capture_reader *rd, struct pcapng_writer *w,
			 const struct capture_opts *o)
{
	struct vnp_cap_record rec;
	const uint8_t *data;
	int k;

	while (!s->got_end && (k = capture_reader_next(rd, &rec, &data)) != 0) {
		if (k < 0) {
			s->malformed = true;
			return;
		}
		if (rec.type == VNP_CAP_END) {
			memcpy(&s->end, data, sizeof s->end);
			s->got_end = true;
		} else if (!w->err && (!o->count || s->written < o->count)) {
			write_packet(w, o, &rec, data);
			s->written++;
		}
	}
}

static void run_session(struct session *s, int sock, int out, struct capture_reader *rd,
			struct pcapng_writer *w, const struct capture_opts *o)
{
	uint64_t deadline = 0;

	while (!s->got_end && !s->closed && !s->malformed && !give_up) {
		struct pollfd pfd[2] = { { sock, POLLIN, 0 }, { out, 0, 0 } };
		int timeout = -1, n;
		ssize_t r;

		if (!s->stopping && (stop_requested || w->err || (o->count && s->written >= o->count))) {
			shutdown(sock, SHUT_WR);
			s->stopping = true;
			deadline = clock_ns(CLOCK_MONOTONIC) / 1000000 + END_TIMEOUT_MS;
		}
		if (s->stopping) {
			uint64_t now = clock_ns(CLOCK_MONOTONIC) / 1000000;

			if (now >= deadline)
				break;
			timeout = (int)(deadline - now);
		}
		/* The output is watched for its reader going away (a pipe). */
		n = poll(pfd, s->stopping ? 1 : 2, timeout);
		if (n < 0 && errno != EINTR) {
			perror("vnet-p2p-ctl: poll");
			return;
		}
		if (n <= 0)
			continue;
		if (!s->stopping && (pfd[1].revents & (POLLERR | POLLHUP))) {
			w->err = EPIPE;
			continue;
		}
		r = capture_reader_fill(rd);
		if (r == -EAGAIN)
			continue;
		if (r <= 0)
			s->closed = true;
		take_records(s, rd, w, o);
		pcapng_flush(w);
	}
}

static int open_output(const char *path)
{
	int fd;

	if (strcmp(path, "-") == 0) {
		if (isatty(STDOUT_FILENO)) {
			fprintf(stderr, "vnet-p2p-ctl: capture: standard output is a terminal; "
					"give -w FILE or redirect it\n");
			return -1;
		}
		return STDOUT_FILENO;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fprintf(stderr, "vnet-p2p-ctl: capture: cannot open '%s': %s\n", path,
			strerror(errno));
	return fd;
}

int capture_run(int sock, const struct capture_opts *o)
{
	/* No SA_RESTART: poll and write return on a signal. */
	struct sigaction sa = { .sa_handler = on_stop }, alarm_sa = { .sa_handler = on_alarm };
	struct vnp_ctl_capture_info info;
	struct session s = { 0 };
	struct capture_reader *rd = NULL;
	struct pcapng_writer *w = NULL;
	uint64_t start_ns;
	char msg[256];
	int out, rc = 1;

	out = open_output(o->path);
	if (out < 0)
		return 1;
	rd = malloc(sizeof *rd);
	w = malloc(sizeof *w);
	if (!rd || !w) {
		fprintf(stderr, "vnet-p2p-ctl: capture: out of memory\n");
		goto out;
	}
	sigemptyset(&sa.sa_mask);
	sigemptyset(&alarm_sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &alarm_sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (ctl_capture_start(sock, &info, msg, sizeof msg) < 0) {
		fprintf(stderr, "vnet-p2p-ctl: capture failed: %s\n", msg);
		goto out;
	}
	start_ns = clock_ns(CLOCK_REALTIME);
	pcapng_init(w, out, output_abandoned);
	pcapng_section(w, "vnet-p2p-ctl " VNP_VERSION);
	for (unsigned i = 0; i < 2; i++) {
		char name[8], description[32];

		snprintf(name, sizeof name, "port%u", i);
		snprintf(description, sizeof description, "vnet-p2p port %u", i);
		pcapng_interface(w, PCAPNG_LINKTYPE_ETHERNET, info.snaplen, name, description);
	}
	pcapng_flush(w);
	if (o->port < 0)
		fprintf(stderr, "vnet-p2p-ctl: capturing both ports\n");
	else
		fprintf(stderr, "vnet-p2p-ctl: capturing port %d\n", o->port);

	capture_reader_init(rd, sock);
	run_session(&s, sock, out, rd, w, o);

	if (s.got_end)
		write_stats(w, o, &s.end, start_ns, clock_ns(CLOCK_REALTIME));
	pcapng_flush(w);
	rc = 0;
	if (s.malformed) {
		fprintf(stderr, "vnet-p2p-ctl: capture: malformed data from the server\n");
		rc = 1;
	} else if (!s.got_end) {
		fprintf(stderr, "vnet-p2p-ctl: capture: the server ended the capture without "
				"its totals\n");
		rc = 1;
	} else if (!s.stopping) {
		fprintf(stderr, "vnet-p2p-ctl: capture: the server ended the capture\n");
	}
	alarm(0);
	/* A reader that went away or stalled ends the capture; other write
	 * errors fail it. */
	if (w->err == ETIMEDOUT)
		fprintf(stderr, "vnet-p2p-ctl: capture: the output took nothing for %d s: "
				"it ends early\n", OUTPUT_GRACE_S);
	if (w->err && w->err != EPIPE && w->err != ETIMEDOUT) {
		fprintf(stderr, "vnet-p2p-ctl: capture: cannot write '%s': %s\n", o->path,
			strerror(w->err));
		rc = 1;
	}
	if (s.got_end)
		fprintf(stderr, "%llu packets captured, %llu dropped by the capture\n",
			(unsigned long long)s.written,
			(unsigned long long)(s.end.dropped[0] + s.end.dropped[1]));
	else
		fprintf(stderr, "%llu packets captured\n", (unsigned long long)s.written);
out:
	if (out != STDOUT_FILENO && close(out) < 0 && rc == 0) {
		fprintf(stderr, "vnet-p2p-ctl: capture: cannot write '%s': %s\n", o->path,
			strerror(errno));
		rc = 1;
	}
	free(rd);
	free(w);
	return rc;
}
