/* SPDX-License-Identifier: MIT */
/*
 * One port of the link (internal to src/link): how its client reaches it,
 * the vhost-user session, and the port's counters.
 */
#ifndef VNP_PORT_H
#define VNP_PORT_H

#include <stdbool.h>

#include "evloop/evloop.h"
#include "link/forward_gso.h"
#include "link/link_options.h"
#include "link/port_config.h"
#include "link/port_state.h"
#include "link/port_stats.h"
#include "link/tap.h"
#include "vhost/vu_conn.h"
#include "vhost/vu_dev.h"
struct port;

/* What a port asks of whoever holds it (the link). */
struct port_hooks {
	void (*schedule)(void *ctx);             /* kicks or changes wait for service */
	void (*rings_changed)(void *ctx);        /* rings started or stopped, or the port failed */
	void (*drain_tx)(void *ctx, struct port *p, unsigned pair); /* a TX ring stops: forward what it holds */
};

/* What a port is given for its life: the loop its fds join, the server's
 * options, and the hooks. */
struct port_env {
	struct evloop *loop;
	const struct link_options *opts;
	const struct port_hooks *hooks;
	void *ctx;
};

/* Per port index, for the link's life: a client that reconnects, or a
 * creator that releases and creates the port again, in a loop, finds the
 * budget it used up. */
struct port_logs {
	struct log_ratelimit datapath;
	struct log_ratelimit session;
	struct log_ratelimit device;  /* the vhost-user session's refusals and failures */
};

struct port {
	const struct port_env *env;
	struct port_logs *logs;
	unsigned index;
	char name[8];
	bool in_use;
	struct port_config cfg;

	/* Where clients come from: a listening socket (listen= or one the
	 * creator passed), and for the latter a lease whose close ends the port. */
	int listen_fd;
	bool owns_listen_path; /* we bound it, so we unlink it */
	struct evloop_watch listen_watch;
	int lease_fd;
	struct evloop_watch lease_watch;

	/* The client session; conn.fd is -1 while nobody is connected. */
	struct vu_conn conn;
	struct evloop_watch conn_watch;
	bool session; /* the client has sent at least one message */
	struct vu_dev dev;
	/* Each ring's kick descriptor, watched apart: a wake-up reads the
	 * one descriptor that fired, not every ring's. */
	struct port_kick {
		struct evloop_watch watch;
		struct port *port;
		unsigned ring;
	} kick[VU_RINGS_MAX];
	unsigned known_started; /* rings the link has set up (bit per ring) */

	/* A TAP end (tap=): the far end is a Linux TAP interface, not a
	 * vhost-user client; tap.fd is -1 on other ports. */
	struct tap tap;
	struct evloop_watch tap_watch;
	bool tap_input_watched; /* EPOLLIN is in the watch */

	struct port_stats stats;
	struct queue_stats queue[VU_PAIRS_MAX]; /* each pair's share of stats */
	/* Lines its clients can cause, on budgets that outlive the port's
	 * sessions and the port itself (struct port_logs). */
	struct log_ratelimit *ratelimit; /* the datapath: drops, ring resyncs, the TAP */
	struct log_ratelimit *session_log; /* clients connecting, leaving, refused */
	struct gso_resume gso_resume; /* a GSO frame of its client half delivered */
};

void port_init(struct port *p, const struct port_env *env, struct port_logs *logs,
	       unsigned index);
int port_open(struct port *p, const struct port_config *cfg, int client_listen_fd, int *port_fd,
	      char *err, size_t errlen);
void port_release(struct port *p);
enum port_state port_state(const struct port *p);
static inline bool port_is_tap(const struct port *p) { return p->tap.fd >= 0; }
/* Whether the TAP's input wakes the loop: off while the client has no room. */
void port_tap_watch_input(struct port *p, bool on);
/* Whether the datapath must poll ring idx instead of waiting for kicks. */
bool port_ring_polled(const struct port *p, unsigned idx);

#endif
