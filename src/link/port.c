/* SPDX-License-Identifier: MIT */
#include "link/port.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/virtio_net.h"
#include "util/unix_socket.h"

_Static_assert(PORT_QUEUES_MAX == VU_PAIRS_MAX, "queues= is what the device side can take");

/* Messages handled per wake-up, so a chatty client cannot starve the wire. */
#define MESSAGES_PER_TURN 32

enum port_state port_state(const struct port *p)
{
	if (!p->in_use)
		return PORT_FREE;
	if (port_is_tap(p))
		return p->tap.carrier ? PORT_RUNNING : PORT_CONNECTED;
	if (vu_dev_failed(&p->dev))
		return PORT_FAILED;
	if (vu_dev_ring_started(&p->dev, VNET_RX_QUEUE) && vu_dev_ring_started(&p->dev, VNET_TX_QUEUE))
		return PORT_RUNNING;
	return p->session ? PORT_CONNECTED : PORT_CREATED;
}

bool port_ring_polled(const struct port *p, unsigned idx)
{
	return p->env->opts->poll_usec || vu_dev_ring_kickless(&p->dev, idx);
}

/* ---- the device personality and datapath hooks for vu_dev -------------- */

static uint64_t port_device_features(void *ctx)
{
	struct port *p = ctx;

	return vnet_offered_features(p->cfg.has_mac, p->cfg.queues);
}

static int port_read_config(void *ctx, uint32_t offset, uint32_t len, uint8_t *out)
{
	struct port *p = ctx;

	return vnet_config_read(p->cfg.mac, p->cfg.has_mac, p->cfg.queues, offset, len, out);
}

static void port_ring_stopping(void *ctx, unsigned idx)
{
	struct port *p = ctx;

	if (idx % 2 == VNET_TX_QUEUE)
		p->env->hooks->drain_tx(p->env->ctx, p, idx / 2);
}

/* A TX ring the client turns off runs on: what it held goes to the peer,
 * what comes after is taken and discarded. */
static bool port_runs_while_off(void *ctx, unsigned idx)
{
	(void)ctx;
	return idx % 2 == VNET_TX_QUEUE;
}

static void port_rings_changed(void *ctx)
{
	struct port *p = ctx;

	p->env->hooks->rings_changed(p->env->ctx);
}

static void on_kick(void *arg, uint32_t events);

static void port_watch_kick(void *ctx, unsigned idx, int fd)
{
	struct port *p = ctx;
	struct port_kick *k = &p->kick[idx];

	evloop_del(p->env->loop, &k->watch);
	k->port = p;
	k->ring = idx;
	/* Edge-triggered: a kick is one wake-up however it was made. Watched
	 * level-triggered and read once, a semaphore eventfd (EFD_SEMAPHORE)
	 * loaded with a huge count would stay readable and spin the server. */
	if (fd >= 0 && evloop_add(p->env->loop, &k->watch, fd, EPOLLIN | EPOLLET, on_kick, k) < 0)
		vu_dev_fail(&p->dev, "cannot watch the kick descriptor of ring %u", idx);
}

static int port_send(void *ctx, const void *buf, size_t len)
{
	struct port *p = ctx;

	return vu_conn_send(&p->conn, buf, len);
}

static const struct vu_dev_ops port_dev_ops = {
	.device_features = port_device_features,
	.read_config = port_read_config,
	.ring_stopping = port_ring_stopping,
	.runs_while_off = port_runs_while_off,
	.rings_changed = port_rings_changed,
	.watch_kick = port_watch_kick,
	.send = port_send,
};

/* ---- events ------------------------------------------------------------ */

static void on_kick(void *arg, uint32_t events)
{
	struct port_kick *k = arg;
	struct port *p = k->port;
	uint64_t v;
	ssize_t n;

	(void)events;
	/* Emptied, so that the next kick is an edge again. */
	n = read(k->watch.fd, &v, sizeof v);
	if (n == (ssize_t)sizeof v) {
		p->stats.kicks++;
	} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
		evloop_del(p->env->loop, &k->watch);
		vu_dev_fail(&p->dev, "kick descriptor of ring %u broke: %s", k->ring, strerror(errno));
	}
	p->env->hooks->schedule(p->env->ctx);
}

static void start_listening(struct port *p);

/* ---- a TAP end ------------------------------------------------------------ */

static void on_tap_event(void *arg, uint32_t events)
{
	struct port *p = arg;

	if (events & (EPOLLERR | EPOLLHUP)) {
		/* The interface was deleted under us: the fd is dead for good. */
		log_warn("%s: the TAP interface %s is gone", p->name, p->tap.name);
		port_release(p);
		return;
	}
	p->tap.readable = true;
	p->stats.kicks++;
	p->env->hooks->schedule(p->env->ctx);
}

void port_tap_watch_input(struct port *p, bool on)
{
	if (on == p->tap_input_watched || !p->tap_watch.cb)
		return;
	if (evloop_mod(p->env->loop, &p->tap_watch, on ? EPOLLIN : 0) == 0)
		p->tap_input_watched = on;
}

static int open_tap(struct port *p, const struct port_config *cfg, int client_listen_fd,
		    char *err, size_t errlen)
{
	int rc;

	if (client_listen_fd >= 0) {
		snprintf(err, errlen, "tap= and a passed listening socket exclude each other: a TAP "
				      "end has no vhost-user socket");
		return -EINVAL;
	}
	rc = tap_open(&p->tap, cfg->tap_name, cfg->has_mac ? cfg->mac : NULL, err, errlen);
	if (rc < 0)
		return rc;
	rc = evloop_add(p->env->loop, &p->tap_watch, p->tap.fd, EPOLLIN, on_tap_event, p);
	if (rc < 0) {
		tap_close(&p->tap);
		snprintf(err, errlen, "tap: cannot watch '%s'", cfg->tap_name);
		return rc;
	}
	p->tap_input_watched = true;
	return 0;
}

/* The client went away or broke the protocol. */
static void disconnect(struct port *p, const char *why)
{
	log_limited(p->session_log, LOG_LVL_INFO, "%s: client disconnected: %s", p->name, why);
	evloop_del(p->env->loop, &p->conn_watch);
	/* Resetting drains its TX ring into the peer while the memory is mapped. */
	vu_dev_reset(&p->dev);
	vu_conn_close(&p->conn);
	p->session = false;
	if (p->listen_fd < 0) {
		/* The connection was the port: it is released with it. */
		port_release(p);
		return;
	}
	start_listening(p);
}

static void on_conn_event(void *arg, uint32_t events)
{
	struct port *p = arg;
	char err[160];

	(void)events;
	for (int i = 0; i < MESSAGES_PER_TURN; i++) {
		int rc;

		switch (vu_conn_read(&p->conn, err, sizeof err)) {
		case VU_READ_AGAIN:
			return;
		case VU_READ_CLOSED:
			disconnect(p, "connection closed");
			return;
		case VU_READ_INVALID:
			log_limited(p->session_log, LOG_LVL_WARN, "%s: %s", p->name, err);
			disconnect(p, "protocol violation");
			return;
		case VU_READ_MESSAGE:
			p->session = true;
			rc = vu_dev_handle(&p->dev, &p->conn.msg);
			vu_conn_msg_done(&p->conn);
			if (rc < 0) {
				disconnect(p, rc == -EAGAIN ? "it does not read its replies"
							    : "unrecoverable protocol error");
				return;
			}
			break;
		}
	}
}

static bool connection_ended(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDHUP };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLRDHUP | POLLERR));
}

/* The connection takes fd, on failure too (it is closed then). */
static int attach_connection(struct port *p, int fd)
{
	int rc;

	vu_conn_init(&p->conn, fd);
	rc = evloop_add(p->env->loop, &p->conn_watch, fd, EPOLLIN, on_conn_event, p);
	if (rc < 0) {
		vu_conn_close(&p->conn);
		return rc;
	}
	return 0;
}

static void on_listen_event(void *arg, uint32_t events)
{
	struct port *p = arg;
	int fd;

	(void)events;
	fd = accept4(p->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* A client that restarts may be back before we noticed it left: let
	 * the old connection say what it has to say, its end included. */
	if (p->conn.fd >= 0 && connection_ended(p->conn.fd))
		on_conn_event(p, 0);
	if (p->conn.fd >= 0) {
		log_limited(p->session_log, LOG_LVL_WARN,
			    "%s: refused a second client while one is connected", p->name);
		close(fd);
		return;
	}
	if (attach_connection(p, fd) < 0) {
		log_limited(p->session_log, LOG_LVL_ERR, "%s: cannot watch the new client", p->name);
		return;
	}
	log_limited(p->session_log, LOG_LVL_INFO, "%s: client connected", p->name);
}

/* Accepting stays on while a client is connected, to turn away others. */
static void start_listening(struct port *p)
{
	if (p->listen_watch.cb)
		return;
	if (evloop_add(p->env->loop, &p->listen_watch, p->listen_fd, EPOLLIN, on_listen_event, p) < 0)
		log_err("%s: cannot watch its listening socket", p->name);
}

static void on_lease_event(void *arg, uint32_t events)
{
	struct port *p = arg;
	char junk[64];

	if (!(events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR))) {
		/* Nothing is ever sent on a lease; whatever comes is dropped. */
		if (recv(p->lease_fd, junk, sizeof junk, MSG_DONTWAIT) != 0)
			return;
	}
	log_limited(p->session_log, LOG_LVL_INFO, "%s: the creator's lease was closed", p->name);
	port_release(p);
}

/* ---- life cycle ---------------------------------------------------------- */

void port_init(struct port *p, const struct port_env *env, struct port_logs *logs,
	       unsigned index)
{
	memset(p, 0, sizeof *p);
	p->env = env;
	p->logs = logs;
	p->index = index;
	snprintf(p->name, sizeof p->name, "port%u", index);
	p->ratelimit = &logs->datapath;
	p->session_log = &logs->session;
	p->listen_fd = p->lease_fd = -1;
	tap_init(&p->tap);
	vu_conn_init(&p->conn, -1);
	vu_dev_init(&p->dev, &port_dev_ops, p, p->name, env->opts->max_queue_size,
		    PORT_DS_MAX_DEFAULT, env->opts->trusted, &logs->device);
}

int port_open(struct port *p, const struct port_config *cfg, int client_listen_fd, int *port_fd,
	      char *err, size_t errlen)
{
	int pair[2], rc;

	port_init(p, p->env, p->logs, p->index);
	p->cfg = *cfg;
	vu_dev_set_limits(&p->dev, cfg->ds_max, cfg->mem_max ? cfg->mem_max : p->env->opts->mem_max,
			  cfg->queues);
	*port_fd = -1;

	if (!port_config_check(cfg, err, errlen))
		return -EINVAL;
	if (cfg->tap_name[0]) {
		rc = open_tap(p, cfg, client_listen_fd, err, errlen);
		if (rc < 0)
			return rc;
	} else if (cfg->listen_path[0]) {
		rc = unix_listen(cfg->listen_path, 0600, 4);
		if (rc < 0) {
			snprintf(err, errlen, "listen: cannot bind '%s': %s", cfg->listen_path,
				 strerror(-rc));
			return rc;
		}
		p->listen_fd = rc;
		p->owns_listen_path = true;
	} else if (client_listen_fd >= 0) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot create a lease: %s", strerror(errno));
			return rc;
		}
		p->listen_fd = client_listen_fd;
		p->lease_fd = pair[0];
		*port_fd = pair[1];
		evloop_add(p->env->loop, &p->lease_watch, p->lease_fd, EPOLLIN | EPOLLRDHUP,
			   on_lease_event, p);
	} else {
		/* Non-blocking on our side only: the client gets an ordinary socket. */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0 ||
		    fcntl(pair[0], F_SETFL, O_NONBLOCK) < 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot create the port socket: %s", strerror(errno));
			return rc;
		}
		rc = attach_connection(p, pair[0]);
		if (rc < 0) {
			close(pair[1]);
			snprintf(err, errlen, "cannot watch the port socket");
			return rc;
		}
		*port_fd = pair[1];
	}
	if (p->listen_fd >= 0)
		start_listening(p);
	p->in_use = true;
	return 0;
}

void port_release(struct port *p)
{
	struct evloop *loop = p->env->loop;

	if (!p->in_use)
		return;
	if (p->conn.fd >= 0) {
		evloop_del(loop, &p->conn_watch);
		vu_dev_reset(&p->dev);
		vu_conn_close(&p->conn);
	}
	evloop_del(loop, &p->listen_watch);
	if (p->listen_fd >= 0) {
		close(p->listen_fd);
		if (p->owns_listen_path)
			unlink(p->cfg.listen_path);
	}
	evloop_del(loop, &p->lease_watch);
	if (p->lease_fd >= 0)
		close(p->lease_fd);
	evloop_del(loop, &p->tap_watch);
	tap_close(&p->tap);
	log_limited(p->session_log, LOG_LVL_INFO, "%s: released", p->name);
	port_init(p, p->env, p->logs, p->index);
	p->env->hooks->rings_changed(p->env->ctx);
}
