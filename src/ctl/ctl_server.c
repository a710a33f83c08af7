/* SPDX-License-Identifier: MIT */
#include "ctl/ctl_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ctl/create_request.h"
#include "ctl/ctl_proto.h"
#include "ctl/ctl_send.h"
#include "evloop/evloop.h"
#include "link/capture.h"
#include "link/link.h"
#include "util/frame_reader.h"
#include "util/log.h"
#include "util/unix_socket.h"

/* Control clients at once. When all are taken, a new one takes the place
 * of the one that has waited longest (idle or in the middle of a
 * request): a real client finishes in microseconds, so nobody can hold
 * the endpoint by keeping connections open. */
#define CTL_CLIENTS_MAX 16
_Static_assert(sizeof(struct vnp_ctl_status) <= VNP_CTL_PAYLOAD_MAX, "status fits a reply");

/* handle_request(): the connection now belongs to the capture. */
#define HANDED_OVER 1

/* A client that has not finished a request this long after it connected
 * or got its last reply (whether it sent part of one or nothing) is
 * dropped. */
#define CTL_REQUEST_TIMEOUT_NS (10ull * 1000 * 1000 * 1000)

struct ctl_client {
	bool in_use;
	int fd;
	struct evloop_watch watch;
	uint64_t since_ns; /* connected, or last answered: the wait began */
	struct frame_reader in; /* reads into hdr, payload, passed_fd */
	struct vnp_ctl_header hdr;
	uint8_t payload[VNP_CTL_PAYLOAD_MAX];
	int passed_fd; /* a descriptor that came with the request; a handler that keeps it sets -1 */
	struct ctl_server *srv;
};

struct ctl_server {
	struct evloop *loop;
	struct link *link;
	int listen_fd;
	struct evloop_watch listen_watch;
	int timer_fd;
	struct evloop_watch timer_watch;
	bool timer_armed;
	struct ctl_client client[CTL_CLIENTS_MAX];
	/* Lines control clients can cause. */
	struct log_ratelimit ratelimit;
};

static void client_close(struct ctl_client *c)
{
	evloop_del(c->srv->loop, &c->watch);
	close(c->fd);
	if (c->passed_fd >= 0)
		close(c->passed_fd);
	c->in_use = false;
}

/* Replies are small and the socket fresh: a client that cannot take one
 * at once is not reading, and loses its connection. */
static int reply(struct ctl_client *c, uint16_t op, int32_t status, const void *payload,
		 uint32_t len, int fd)
{
	return ctl_send(c->fd, op, status, payload, len, fd, MSG_DONTWAIT) < 0 ? -EIO : 0;
}

static int reply_error(struct ctl_client *c, uint16_t op, int err, const char *msg)
{
	return reply(c, op, -err, msg, (uint32_t)strlen(msg), -1);
}

static int handle_create(struct ctl_client *c)
{
	struct vnp_ctl_created created = { 0 };
	uint8_t out[VNP_CTL_PAYLOAD_MAX];
	char err[256], warnings[1024];
	struct port_config cfg;
	int port_fd = -1, listen_fd = c->passed_fd;
	int index, rc;
	size_t wlen;

	rc = create_request_parse(c->payload, c->hdr.len, &cfg, err, sizeof err, warnings,
				  sizeof warnings);
	if (warnings[0])
		log_limited(&c->srv->ratelimit, LOG_LVL_INFO, "create: %s", warnings);
	if (rc < 0) {
		log_limited(&c->srv->ratelimit, LOG_LVL_WARN, "create refused: %s", err);
		return reply_error(c, VNP_CTL_CREATE, -rc, err);
	}
	if (listen_fd >= 0) {
		int accepting = 0, type = 0;
		socklen_t len = sizeof accepting;

		if (getsockopt(listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) < 0 ||
		    !accepting ||
		    getsockopt(listen_fd, SOL_SOCKET, SO_TYPE, &type, &(socklen_t){ sizeof type }) < 0 ||
		    type != SOCK_STREAM) {
			return reply_error(c, VNP_CTL_CREATE, EINVAL,
					   "the descriptor sent with create is not a listening stream socket");
		}
		if (cfg.listen_path[0])
			return reply_error(c, VNP_CTL_CREATE, EINVAL,
					   "listen= and a passed listening socket exclude each other");
	}
	index = link_create_port(c->srv->link, &cfg, listen_fd, &port_fd, err, sizeof err);
	if (index < 0) {
		log_limited(&c->srv->ratelimit, LOG_LVL_WARN, "create refused: %s", err);
		return reply_error(c, VNP_CTL_CREATE, -index, err);
	}
	c->passed_fd = -1; /* the port owns it now */
	created.port = (uint32_t)index;
	created.has_mac = cfg.has_mac;
	memcpy(created.mac, cfg.mac, sizeof created.mac);
	memcpy(out, &created, sizeof created);
	wlen = strlen(warnings);
	memcpy(out + sizeof created, warnings, wlen);
	rc = reply(c, VNP_CTL_CREATE, 0, out, (uint32_t)(sizeof created + wlen), port_fd);
	/* The client has its copy (or lost it with its connection). */
	if (port_fd >= 0)
		close(port_fd);
	return rc;
}

static int handle_status(struct ctl_client *c)
{
	struct vnp_ctl_status st;

	memset(&st, 0, sizeof st);
	st.nports = LINK_PORTS;
	st.captures = capture_count(link_capture(c->srv->link));
	for (unsigned i = 0; i < LINK_PORTS; i++) {
		struct vnp_ctl_port *o = &st.port[i];
		struct port_status ps;

		link_port_status(c->srv->link, i, &ps);
		o->state = ps.state;
		o->ds_max = ps.cfg.ds_max;
		o->has_mac = ps.cfg.has_mac;
		memcpy(o->mac, ps.cfg.mac, sizeof o->mac);
		o->features = ps.features;
		o->queue_size[0] = ps.queue_size[0];
		o->queue_size[1] = ps.queue_size[1];
		o->counter[VNP_CTR_TX_PACKETS] = ps.stats.tx_packets;
		o->counter[VNP_CTR_TX_BYTES] = ps.stats.tx_bytes;
		o->counter[VNP_CTR_RX_PACKETS] = ps.stats.rx_packets;
		o->counter[VNP_CTR_RX_BYTES] = ps.stats.rx_bytes;
		o->counter[VNP_CTR_DROP_NO_PEER] = ps.stats.drop_no_peer;
		o->counter[VNP_CTR_DROP_TOO_BIG] = ps.stats.drop_too_big;
		o->counter[VNP_CTR_DROP_BAD] = ps.stats.drop_bad;
		o->counter[VNP_CTR_DROP_RING_OFF] = ps.stats.drop_ring_off;
		o->counter[VNP_CTR_KICKS] = ps.stats.kicks;
		o->counter[VNP_CTR_INTERRUPTS] = ps.stats.interrupts;
		o->counter[VNP_CTR_RX_DROP_TOO_BIG] = ps.stats.rx_drop_too_big;
		o->counter[VNP_CTR_RX_DROP_BAD] = ps.stats.rx_drop_bad;
		o->counter[VNP_CTR_TX_GSO] = ps.stats.tx_gso;
		o->counter[VNP_CTR_TX_GSO_SEGMENTED] = ps.stats.tx_gso_segmented;
		o->counter[VNP_CTR_TX_GSO_SEGMENTS] = ps.stats.tx_gso_segments;
		o->counter[VNP_CTR_RX_GSO] = ps.stats.rx_gso;
		o->mem_max = ps.mem_max;
		snprintf(o->listen_path, sizeof o->listen_path, "%s", ps.cfg.listen_path);
		snprintf(o->tap_name, sizeof o->tap_name, "%s", ps.cfg.tap_name);
		snprintf(o->last_error, sizeof o->last_error, "%s", ps.last_error);
		o->queues = (uint16_t)ps.cfg.queues;
		o->queues_active = (uint16_t)ps.queues_active;
		_Static_assert(VNP_CTL_QUEUES_MAX == PORT_QUEUES_MAX, "every pair in the status");
		for (unsigned q = 0; q < ps.cfg.queues; q++) {
			o->queue[q].tx_packets = ps.queue[q].tx_packets;
			o->queue[q].rx_packets = ps.queue[q].rx_packets;
			o->queue[q].drops = ps.queue[q].drops;
		}
	}
	return reply(c, VNP_CTL_STATUS, 0, &st, sizeof st, -1);
}

/* The connection becomes the link's capture subscriber: the reply is the
 * last thing this module sends on it. */
static int handle_capture(struct ctl_client *c)
{
	struct vnp_ctl_capture_info info = {
		.buffer_bytes = CAPTURE_BUFFER_BYTES,
		.snaplen = VNP_CAP_SNAPLEN,
	};
	char err[160];
	int rc;

	if (c->hdr.len != 0)
		return reply_error(c, VNP_CTL_CAPTURE, EINVAL, "capture takes no arguments");
	if (capture_count(link_capture(c->srv->link)))
		return reply_error(c, VNP_CTL_CAPTURE, EBUSY,
				   "a capture is running already (one at a time)");
	/* One watch per descriptor: ours goes before the capture adds its own. */
	evloop_del(c->srv->loop, &c->watch);
	rc = capture_attach(link_capture(c->srv->link), c->fd, err, sizeof err);
	if (rc < 0) {
		reply_error(c, VNP_CTL_CAPTURE, -rc, err);
		return rc;
	}
	c->in_use = false;
	/* The capture sends nothing before the loop turns: this reply is first. */
	if (reply(c, VNP_CTL_CAPTURE, 0, &info, sizeof info, -1) < 0)
		capture_detach(link_capture(c->srv->link));
	return HANDED_OVER;
}

static int handle_request(struct ctl_client *c)
{
	switch (c->hdr.op) {
	case VNP_CTL_CREATE:
		return handle_create(c);
	case VNP_CTL_STATUS:
		if (c->passed_fd >= 0)
			return reply_error(c, c->hdr.op, EINVAL, "status takes no descriptor");
		return handle_status(c);
	case VNP_CTL_CAPTURE:
		if (c->passed_fd >= 0)
			return reply_error(c, c->hdr.op, EINVAL, "capture takes no descriptor");
		return handle_capture(c);
	}
	return reply_error(c, c->hdr.op, EOPNOTSUPP, "unknown request");
}

/* The header is whole: a request of another version, or no request at
 * all, gets an answer and loses its connection before any payload. */
static bool header_acceptable(struct ctl_client *c)
{
	if (c->hdr.magic == VNP_CTL_MAGIC && c->hdr.version != VNP_CTL_VERSION) {
		char msg[128];

		snprintf(msg, sizeof msg,
			 "control protocol version %u is not supported: this server speaks "
			 "version %u (use the vnet-p2p-ctl of the same release)",
			 c->hdr.version, VNP_CTL_VERSION);
		log_limited(&c->srv->ratelimit, LOG_LVL_WARN, "control client: %s", msg);
		reply_error(c, c->hdr.op, EPROTO, msg);
		return false;
	}
	if (c->hdr.magic != VNP_CTL_MAGIC || c->hdr.len > VNP_CTL_PAYLOAD_MAX) {
		log_limited(&c->srv->ratelimit, LOG_LVL_WARN,
			    "control client sent a malformed request header");
		reply_error(c, c->hdr.op, EPROTO, "malformed request");
		return false;
	}
	return true;
}

static void on_client_event(void *arg, uint32_t events)
{
	struct ctl_client *c = arg;
	char err[96];
	int rc;

	(void)events;
	for (;;) {
		enum frame_read r = frame_read(&c->in, err, sizeof err);

		if (r == FRAME_DONE)
			break;
		if (r == FRAME_AGAIN)
			return;
		if (r == FRAME_INVALID)
			log_limited(&c->srv->ratelimit, LOG_LVL_WARN, "control client: %s", err);
		if (r != FRAME_HEADER || !header_acceptable(c)) {
			client_close(c);
			return;
		}
	}
	rc = handle_request(c);
	if (rc == HANDED_OVER)
		return;
	if (rc < 0) {
		client_close(c);
		return;
	}
	/* Ready for the next request on the same connection. */
	frame_reader_next(&c->in);
	c->since_ns = monotonic_ns();
}

static uint32_t ctl_payload_len(const void *hdr)
{
	const struct vnp_ctl_header *h = hdr;

	return h->len;
}

static bool peer_is_owner(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof cred;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == geteuid() || cred.uid == 0;
}

static void arm_timer(struct ctl_server *srv, bool on)
{
	struct itimerspec its = { 0 };

	if (on == srv->timer_armed)
		return;
	if (on) {
		its.it_interval.tv_sec = 1;
		its.it_value.tv_sec = 1;
	}
	timerfd_settime(srv->timer_fd, 0, &its, NULL);
	srv->timer_armed = on;
}

static void on_timer(void *arg, uint32_t events)
{
	struct ctl_server *srv = arg;
	uint64_t now = monotonic_ns(), expirations;
	bool any = false;

	(void)events;
	(void)!read(srv->timer_fd, &expirations, sizeof expirations);
	for (int i = 0; i < CTL_CLIENTS_MAX; i++) {
		struct ctl_client *c = &srv->client[i];

		if (!c->in_use)
			continue;
		if (now - c->since_ns > CTL_REQUEST_TIMEOUT_NS) {
			log_limited(&srv->ratelimit, LOG_LVL_WARN,
				    "control client %s for 10 s: connection closed",
				    c->in.have ? "did not finish its request" : "sent nothing");
			client_close(c);
			continue;
		}
		any = true;
	}
	arm_timer(srv, any);
}

static void on_listen_event(void *arg, uint32_t events)
{
	struct ctl_server *srv = arg;
	struct ctl_client *c = NULL;
	int fd;

	(void)events;
	fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (!peer_is_owner(fd)) {
		log_limited(&srv->ratelimit, LOG_LVL_WARN, "control connection from another user refused");
		close(fd);
		return;
	}
	for (int i = 0; i < CTL_CLIENTS_MAX && !c; i++)
		if (!srv->client[i].in_use)
			c = &srv->client[i];
	if (!c) {
		c = &srv->client[0];
		for (int i = 1; i < CTL_CLIENTS_MAX; i++)
			if (srv->client[i].since_ns < c->since_ns)
				c = &srv->client[i];
		log_limited(&srv->ratelimit, LOG_LVL_WARN,
			    "control endpoint full: closed the connection that waited longest (%llu ms)",
			    (unsigned long long)((monotonic_ns() - c->since_ns) / 1000000));
		client_close(c);
	}
	memset(c, 0, sizeof *c);
	c->srv = srv;
	c->fd = fd;
	frame_reader_init(&c->in, fd, &c->hdr, sizeof c->hdr, c->payload, VNP_CTL_PAYLOAD_MAX,
			  ctl_payload_len, &c->passed_fd, 1);
	c->since_ns = monotonic_ns();
	if (evloop_add(srv->loop, &c->watch, fd, EPOLLIN, on_client_event, c) < 0) {
		close(fd);
		return;
	}
	c->in_use = true;
	arm_timer(srv, true);
}

struct ctl_server *ctl_server_new(struct evloop *loop, struct link *link, int listen_fd)
{
	struct ctl_server *srv = calloc(1, sizeof *srv);

	if (!srv)
		return NULL;
	srv->loop = loop;
	srv->link = link;
	srv->listen_fd = listen_fd;
	srv->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (srv->timer_fd < 0 ||
	    evloop_add(loop, &srv->timer_watch, srv->timer_fd, EPOLLIN, on_timer, srv) < 0 ||
	    evloop_add(loop, &srv->listen_watch, listen_fd, EPOLLIN, on_listen_event, srv) < 0) {
		ctl_server_free(srv);
		return NULL;
	}
	return srv;
}

void ctl_server_free(struct ctl_server *srv)
{
	if (!srv)
		return;
	for (int i = 0; i < CTL_CLIENTS_MAX; i++)
		if (srv->client[i].in_use)
			client_close(&srv->client[i]);
	evloop_del(srv->loop, &srv->listen_watch);
	evloop_del(srv->loop, &srv->timer_watch);
	if (srv->timer_fd >= 0)
		close(srv->timer_fd);
	close(srv->listen_fd);
	free(srv);
}
