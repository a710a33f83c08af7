/* SPDX-License-Identifier: MIT */
/*
 * vnet-p2p: the Linux realisation of the L4Re virtual network p2p server.
 * One process is one link with two ports; clients reach the control
 * endpoint (the original's svr capability) to create them.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl/ctl_server.h"
#include "evloop/evloop.h"
#include "link/link.h"
#include "server/options.h"
#include "util/log.h"
#include "util/sd_notify.h"
#include "util/unix_socket.h"
#include "virtio/fault_guard.h"
#include "virtio/trusted_mem.h"
#include "vnp_config.h"

#define SD_LISTEN_FDS_START 3

/* The control socket from systemd socket activation, or -1. */
static int inherited_control_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int accepting = 0;
	socklen_t len = sizeof accepting;

	if (!pid || !fds || strtol(pid, NULL, 10) != (long)getpid())
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (strtol(fds, NULL, 10) < 1)
		return -1;
	if (getsockopt(SD_LISTEN_FDS_START, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) < 0 ||
	    !accepting)
		return -1;
	return SD_LISTEN_FDS_START;
}

struct stop_signals {
	struct evloop *loop;
	int fd;
	struct evloop_watch watch;
};

static void on_signal(void *arg, uint32_t events)
{
	struct stop_signals *s = arg;
	struct signalfd_siginfo si;

	(void)events;
	if (read(s->fd, &si, sizeof si) == (ssize_t)sizeof si)
		log_info("signal %u: stopping", si.ssi_signo);
	evloop_stop(s->loop);
}

static void apply_verbosity(int verbosity)
{
	int level = LOG_LVL_INFO;

	if (verbosity > 0)
		level = LOG_LVL_DEBUG;
	else if (verbosity == -1)
		level = LOG_LVL_WARN;
	else if (verbosity < -1)
		level = LOG_LVL_ERR;
	log_set_level((enum log_level)level);
	log_use_priority_prefix(log_stderr_is_journal());
}

_Static_assert(OPT_PORTS_MAX == LINK_PORTS, "--port fills at most the link's ports");

/* The --port ports, in order: the first is port 0. */
static int create_startup_ports(struct link *link, const struct server_options *opts)
{
	for (unsigned i = 0; i < opts->port_count; i++) {
		char err[256];
		int fd = -1, rc;

		rc = link_create_port(link, &opts->port[i], -1, &fd, err, sizeof err);
		if (fd >= 0)
			close(fd); /* not handed out: nobody could use it */
		if (rc < 0) {
			fprintf(stderr, "vnet-p2p: --port '%s': %s\n", opts->port_arg[i], err);
			return -1;
		}
	}
	return 0;
}

/* Tell a service manager (Type=notify) how things stand; quiet without one. */
static void notify(const char *state)
{
	int rc = notify_service_manager(state);

	if (rc < 0)
		log_warn("cannot notify the service manager at $NOTIFY_SOCKET: %s",
			 strerror(-rc));
}

int main(int argc, char **argv)
{
	struct server_options opts;
	static struct trusted_mem trusted;
	struct link_options lopts = { 0 };
	struct stop_signals stop = { .fd = -1 };
	struct ctl_server *ctl = NULL;
	struct link *link = NULL;
	struct evloop *loop = NULL;
	char err[256];
	sigset_t mask;
	const char *svr_bound = NULL; /* the --svr path once we bound it */
	int ctl_fd, rc = 1;

	if (options_parse(argc, argv, &opts, err, sizeof err) != OPTIONS_OK) {
		fprintf(stderr, "vnet-p2p: %s\n", err);
		fprintf(stderr, "Try 'vnet-p2p --help' for more information.\n");
		return 1;
	}
	if (opts.help) {
		options_usage(argv[0], 0);
		return 0;
	}
	if (opts.version) {
		printf("vnet-p2p %s\n", VNP_VERSION);
		return 0;
	}
	apply_verbosity(opts.verbosity);
	/* Before anything a signal could interrupt half-made: SIGINT and
	 * SIGTERM wait in the signalfd until the loop reads them. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	/* Inherited (socket activation) or to bind after the ports. */
	ctl_fd = inherited_control_socket();
	if (ctl_fd < 0 && !opts.svr_path) {
		fprintf(stderr, "vnet-p2p: the control endpoint is mandatory: give --svr PATH "
				"(or start by socket activation)\n");
		return 1;
	}
	if (ctl_fd >= 0)
		opts.svr_path = NULL; /* not ours to remove */

	for (unsigned i = 0; i < opts.register_ds_count; i++) {
		if (trusted_mem_register(&trusted, opts.register_ds[i], err, sizeof err) < 0) {
			fprintf(stderr, "vnet-p2p: -d/--register-ds: %s\n", err);
			return 1;
		}
	}

	if (fault_guard_install() < 0) {
		fprintf(stderr, "vnet-p2p: cannot install the SIGBUS handler\n");
		goto out;
	}

	loop = evloop_new();
	if (!loop)
		goto out;
	stop.loop = loop;
	stop.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (stop.fd < 0 || evloop_add(loop, &stop.watch, stop.fd, EPOLLIN, on_signal, &stop) < 0)
		goto out;

	lopts.max_queue_size = opts.queue_size;
	lopts.poll_usec = opts.poll_usec;
	lopts.trusted = &trusted;
	link = link_new(loop, &lopts);
	if (!link || create_startup_ports(link, &opts) < 0)
		goto out;
	/* The endpoint becomes connectable only now: whoever waits for it
	 * (a test, a script, a unit without Type=notify) finds the --port
	 * ports in place. */
	if (ctl_fd < 0) {
		ctl_fd = unix_listen(opts.svr_path, 0600, 16);
		if (ctl_fd < 0) {
			fprintf(stderr, "vnet-p2p: --svr: cannot listen on '%s': %s\n", opts.svr_path,
				strerror(-ctl_fd));
			goto out;
		}
		svr_bound = opts.svr_path;
	}

	ctl = ctl_server_new(loop, link, ctl_fd);
	if (!ctl)
		goto out;
	ctl_fd = -1;

	log_info("vnet-p2p %s: control endpoint %s, queue size up to %u, %s%s", VNP_VERSION,
		 opts.svr_path ? opts.svr_path : "(inherited)", opts.queue_size,
		 opts.poll_usec ? "polling" : "event-driven",
		 trusted.count ? ", trusted memory only" : "");
	if (opts.poll_usec) {
		/* The default 50 us of timer slack would stretch short poll intervals. */
		prctl(PR_SET_TIMERSLACK, 1000UL * opts.poll_usec / 10 + 1);
		log_info("polling every %u us", opts.poll_usec);
	}
	{
		char state[160];

		snprintf(state, sizeof state, "READY=1\nSTATUS=control endpoint %.64s, %u port%s from --port",
			 opts.svr_path ? opts.svr_path : "inherited", opts.port_count,
			 opts.port_count == 1 ? "" : "s");
		notify(state);
	}
	if (evloop_run(loop) == 0)
		rc = 0;
	notify("STOPPING=1");
out:
	ctl_server_free(ctl);
	link_free(link);
	if (stop.fd >= 0) {
		evloop_del(loop, &stop.watch);
		close(stop.fd);
	}
	evloop_free(loop);
	if (ctl_fd >= 0)
		close(ctl_fd);
	/* Only a path we bound: a failed start must not take another
	 * server's endpoint away. */
	if (svr_bound)
		unlink(svr_bound);
	return rc;
}
