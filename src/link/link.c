/* SPDX-License-Identifier: MIT */
/*
 * The kick loop of the link. Kicks only mark work; before the event loop
 * sleeps, both directions are drained: notifications off, forward a
 * batch, publish each used ring once, re-enable and re-check, then signal
 * each client at most once.
 */
#include "link/port.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "link/capture.h"
#include "link/tap_forward.h"
#include "net/virtio_net.h"
#include "util/checked.h"

/* Work per direction and pass before the other direction and the control
 * path get a turn (struct fwd_budget): descriptors walked and bytes
 * copied, about 256 small or 350 full-sized frames. */
#define LINK_PASS_DESCS 512
#define LINK_PASS_BYTES (512 * 1024)
/* How often rings are polled whose client gave no kick descriptor. */
#define LINK_NOFD_POLL_USEC 100
/* How long the link keeps polling after the last packet before it sleeps. */
#define LINK_LINGER_NS (50 * 1000)
/* Busy passes in a row before the loop checks its fds (control messages,
 * kicks) again; bounds their wait to a few hundred microseconds. */
#define LINK_PASSES_PER_TURN 8

static struct port *peer_of(struct link *l, struct port *p)
{
	return &l->port[1 - p->index];
}

static struct vq *port_vq(struct port *p, unsigned idx)
{
	return p->in_use ? vu_dev_vq(&p->dev, idx) : NULL;
}

static void fwd_end_init(struct fwd_end *e, struct port *p, struct vq *vq)
{
	e->vq = vq;
	e->features = p->dev.features;
	e->stats = &p->stats;
	e->ratelimit = p->ratelimit;
	e->name = p->name;
	e->port = p->index;
	e->capture = p->link->recording;
	e->frame_hint = p->tx_frame_hint;
	e->resume = &p->gso_resume;
}

/* The TAP end of a link: a fwd_end without a ring, counting in its port. */
static void tap_end_init(struct fwd_end *e, struct port *p)
{
	e->vq = NULL;
	e->features = 0;
	e->stats = &p->stats;
	e->ratelimit = p->ratelimit;
	e->name = p->name;
	e->port = p->index;
	e->capture = capture_recording(p->link);
	e->frame_hint = 0;
	e->resume = NULL;
}

/* The kernel hears about the client on the other port: its header size and
 * checksum offload, and a carrier only while the client's port runs. */
static void sync_tap(struct link *l, struct port *tp)
{
	struct port *client = peer_of(l, tp);
	bool running = client->in_use && port_state(client) == PORT_RUNNING;
	bool was = tp->tap.carrier;
	int rc = 0;

	if (running) {
		uint64_t f = client->dev.features;

		rc = tap_configure(&tp->tap, vnet_hdr_len(f), f);
		if (rc == 0 && !tp->tap.carrier) {
			/* The MTU may have changed while nobody listened. */
			tap_refresh_mtu(&tp->tap);
			rc = tap_set_carrier(&tp->tap, true);
		}
	} else if (tp->tap.carrier) {
		rc = tap_set_carrier(&tp->tap, false);
	}
	if (rc < 0)
		log_limited(tp->ratelimit, LOG_LVL_ERR, "%s: cannot set up the TAP %s: %s", tp->name,
			    tp->tap.name, strerror(-rc));
	else if (was != tp->tap.carrier)
		log_limited(tp->session_log, LOG_LVL_INFO, "%s: TAP %s carrier %s", tp->name,
			    tp->tap.name, running ? "on" : "off");
}

/* A frontend that lost track (a restarted DPDK virtio-user sends base 0
 * whatever its ring holds; QEMU, after our restart, the base of a packed
 * ring's last start) would otherwise look like one that jumps its avail
 * index, or wait for ever: the ring resumes where it says the device
 * stopped (vq_resync). QEMU restores a split base = used->idx itself. */
static void resync_used_index(struct port *p, unsigned idx, struct vq *vq)
{
	uint32_t from, to;

	if (vq_resync(vq, &from, &to))
		log_limited(p->ratelimit, LOG_LVL_WARN,
			    "%s: ring %u starts at %#x but the ring says the device stopped at %#x: resuming there",
			    p->name, idx, from, to);
}

/* Rings that just started get their notification wishes written. */
static void setup_fresh_rings(struct port *p)
{
	for (unsigned i = 0; i < VU_RINGS; i++) {
		struct vq *vq = port_vq(p, i);
		unsigned bit = 1u << i;

		if (!vq) {
			p->known_started &= ~bit;
			continue;
		}
		if (p->known_started & bit)
			continue;
		resync_used_index(p, i, vq);
		/* TX kicks bring packets; RX kicks are wanted only when blocked. */
		vq_kicks_reset(vq, i == VNET_TX_QUEUE && !port_ring_polled(p, i));
		p->known_started |= bit;
	}
}

/* How a pass ends once the rings run dry. */
enum pass {
	PASS_SLEEP,  /* ask for notifications, re-check, and let the loop sleep */
	PASS_LINGER, /* packets moved a moment ago: look again soon, notifications stay off */
	PASS_DRAIN,  /* a TX ring stops: forward what fits, budget or not */
};

struct pass_result {
	bool more;      /* work is left that the budget cut off */
	unsigned moved; /* TX packets consumed */
};

static struct fwd_budget pass_budget(void)
{
	return (struct fwd_budget){ .descs = LINK_PASS_DESCS, .bytes = LINK_PASS_BYTES };
}

/* From a TAP into its client's RX ring, until the kernel has nothing more,
 * the client has no room, or the budget is spent. While the client has no
 * room the TAP's input is not watched: the kernel's queue holds (and past
 * its length drops) the frames, and an RX kick brings us back. */
static void service_from_tap(struct link *l, struct port *tp, enum pass pass,
			     struct pass_result *res)
{
	struct port *client = peer_of(l, tp);
	struct vq *rx = port_state(client) == PORT_RUNNING ? port_vq(client, VNET_RX_QUEUE) : NULL;
	struct fwd_end s, d;

	struct fwd_budget budget = pass_budget();

	tap_end_init(&s, tp);
	if (!rx) {
		/* Nobody to take them: frames left from before are dropped. */
		port_tap_watch_input(tp, true);
		if (tap_discard_packets(&tp->tap, &s, &budget) == FWD_MORE)
			res->more = true;
		return;
	}
	fwd_end_init(&d, client, rx);
	for (;;) {
		uint64_t before = tp->stats.tx_packets;
		struct fwd_fault fault;
		enum fwd_status st;
		bool grew;

		if (!fwd_budget_left(&budget)) {
			res->more = true;
			return;
		}
		st = tap_receive_packets(&tp->tap, &s, &d, &budget, &fault);
		res->moved += (unsigned)(tp->stats.tx_packets - before);
		vq_publish(rx);

		switch (st) {
		case FWD_FAULT:
			client->stats.rx_drop_bad++;
			vu_dev_fail(&client->dev, "%s on ring %u", vq_error_str(fault.error),
				    VNET_RX_QUEUE);
			return;
		case FWD_MORE:
			res->more = true;
			return;
		case FWD_IDLE:
			port_tap_watch_input(tp, true);
			vq_kicks_disable(rx);
			return;
		case FWD_BLOCKED:
			port_tap_watch_input(tp, false);
			if (pass != PASS_SLEEP || port_ring_polled(client, VNET_RX_QUEUE))
				return;
			vq_kicks_enable(rx);
			if (vq_avail_grew(rx, &grew) != VQ_OK || !grew)
				return;
			continue;
		}
	}
}

/* One direction: forward until idle, blocked or out of budget. */
static void service_direction(struct link *l, struct port *src, enum pass pass,
			      struct pass_result *res)
{
	struct port *dst = peer_of(l, src);
	struct vq *tx = port_vq(src, VNET_TX_QUEUE);
	struct vq *rx = port_vq(dst, VNET_RX_QUEUE);
	bool to_tap = port_is_tap(dst);
	bool tx_polled, rx_polled;
	struct fwd_budget budget = pass_budget();
	struct fwd_end s, d;

	if (port_is_tap(src)) {
		service_from_tap(l, src, pass, res);
		return;
	}
	if (!tx)
		return;
	tx_polled = pass != PASS_SLEEP || port_ring_polled(src, VNET_TX_QUEUE);
	rx_polled = pass != PASS_SLEEP || !rx || port_ring_polled(dst, VNET_RX_QUEUE);
	fwd_end_init(&s, src, tx);
	if (rx)
		fwd_end_init(&d, dst, rx);
	else if (to_tap)
		tap_end_init(&d, dst);

	if (pass == PASS_DRAIN)
		vq_freeze(tx);
	for (;;) {
		uint32_t before = tx->committed;
		struct fwd_fault fault;
		enum fwd_status st;
		bool more;

		/* Every way round this loop spends from one budget: a client
		 * that adds buffers just in time cannot keep it going. A drain
		 * needs none: the frozen ring bounds it. */
		if (!fwd_budget_left(&budget)) {
			if (pass != PASS_DRAIN) {
				res->more = true;
				return;
			}
			budget = pass_budget();
		}
		vq_kicks_disable(tx);
		if (to_tap)
			st = tap_send_packets(&dst->tap, &s, &d, &budget, &fault);
		else
			st = rx ? forward_packets(&s, &d, &budget, &fault)
				: drop_packets(&s, &budget, &fault);
		src->tx_frame_hint = s.frame_hint;
		res->moved += tx->committed - before;
		vq_publish(tx);
		if (rx)
			vq_publish(rx);

		switch (st) {
		case FWD_FAULT:
			/* A bad chain counts in the direction of its ring. */
			if (fault.guilty)
				dst->stats.rx_drop_bad++;
			else
				src->stats.drop_bad++;
			vu_dev_fail(fault.guilty ? &dst->dev : &src->dev, "%s on ring %u",
				    vq_error_str(fault.error),
				    fault.guilty ? VNET_RX_QUEUE : VNET_TX_QUEUE);
			return;
		case FWD_MORE:
			if (pass == PASS_DRAIN)
				continue;
			res->more = true;
			return;
		case FWD_IDLE:
			if (rx)
				vq_kicks_disable(rx);
			if (tx_polled)
				return;
			vq_kicks_enable(tx);
			if (vq_avail(tx, &more) != VQ_OK || !more)
				return;
			continue;
		case FWD_BLOCKED:
			if (rx_polled)
				return;
			vq_kicks_enable(rx);
			if (vq_avail_grew(rx, &more) != VQ_OK || !more)
				return;
			continue;
		}
	}
}

static void emit_interrupts(struct link *l)
{
	for (unsigned p = 0; p < LINK_PORTS; p++) {
		struct port *port = &l->port[p];

		for (unsigned i = 0; i < VU_RINGS; i++) {
			struct vq *vq = port_vq(port, i);

			enum vq_error e;
			bool signal;

			if (!vq)
				continue;
			e = vq_needs_signal(vq, &signal);
			if (e) {
				vu_dev_fail(&port->dev, "%s on ring %u", vq_error_str(e), i);
				continue;
			}
			if (signal) {
				vu_dev_call(&port->dev, i);
				port->stats.interrupts++;
			}
		}
	}
}

/* A client's memory faulted under us: it shrank the file it shared. */
static void blame_fault(struct link *l, void *addr)
{
	for (unsigned p = 0; p < LINK_PORTS; p++) {
		struct port *port = &l->port[p];

		if (port->in_use && gm_maps_host(&port->dev.mem, addr)) {
			vu_dev_fail(&port->dev, "its shared memory faulted at %p (file truncated?)", addr);
			return;
		}
	}
	/* Not a client mapping: our own bug. Fail loudly rather than guess. */
	log_err("memory fault at %p outside every client mapping", addr);
	abort();
}

/* Run the datapath with client-memory faults turned into port failures.
 * After a fault the pass runs again: the faulty port is failed by then,
 * and the healthy one gets its committed work published. */
static struct pass_result run_service(struct link *l, enum pass pass, struct port *drain_port)
{
	volatile unsigned faults = 0;
	struct pass_result res;

	if (l->in_service)
		return (struct pass_result){ .more = true };
	l->in_service = true;
	fault_guard_arm(&l->guard);
	if (FAULT_GUARD_SET(&l->guard)) {
		blame_fault(l, l->guard.addr);
		if (++faults > LINK_PORTS) {
			l->in_service = false;
			return (struct pass_result){ 0 };
		}
		fault_guard_arm(&l->guard);
	}
	res = (struct pass_result){ 0 };
	for (unsigned p = 0; p < LINK_PORTS; p++)
		setup_fresh_rings(&l->port[p]);
	for (unsigned p = 0; p < LINK_PORTS; p++)
		if (port_is_tap(&l->port[p]))
			sync_tap(l, &l->port[p]);
	if (drain_port) {
		service_direction(l, drain_port, PASS_DRAIN, &res);
	} else {
		for (unsigned p = 0; p < LINK_PORTS; p++)
			service_direction(l, &l->port[p], pass, &res);
	}
	emit_interrupts(l);
	fault_guard_leave(&l->guard);
	l->in_service = false;
	return res;
}

void link_schedule(struct link *l)
{
	l->pending = true;
}

void link_drain_tx(struct link *l, struct port *p)
{
	run_service(l, PASS_DRAIN, p);
}

static void on_timer(void *arg, uint32_t events)
{
	struct link *l = arg;
	uint64_t expirations;

	(void)events;
	(void)!read(l->timer_fd, &expirations, sizeof expirations);
	l->timer_armed = false;
	l->pending = true;
}

/* One shot in usec, or none for 0. */
static void arm_timer(struct link *l, unsigned usec)
{
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = usec / 1000000;
	its.it_value.tv_nsec = (long)(usec % 1000000) * 1000;
	timerfd_settime(l->timer_fd, 0, &its, NULL);
	l->timer_armed = usec != 0;
}

/*
 * Before the loop sleeps. While packets keep coming, the link keeps looking
 * for more without asking the clients to notify it: a notification costs
 * the client a system call and us a wake-up. Once the wire has been quiet
 * for LINK_LINGER_NS it asks for notifications again (or waits for the poll
 * timer) and the loop sleeps: an idle link costs no CPU.
 */
static void before_sleep(void *arg)
{
	struct link *l = arg;
	uint64_t now;
	bool linger;
	struct pass_result r;

	/* While the link is busy or lingering, passes follow each other
	 * without a look at the other fds in between: that look, a system
	 * call, is a sizeable share of a pass and delays the next packet. */
	for (unsigned turn = 0; l->pending && turn < LINK_PASSES_PER_TURN; turn++) {
		now = monotonic_ns();
		linger = now - l->last_progress_ns < LINK_LINGER_NS;
		/* Cleared before the pass: a port failing or a ring changing
		 * during it asks for another pass, and that wish must survive. */
		l->pending = false;
		r = run_service(l, linger ? PASS_LINGER : PASS_SLEEP, NULL);
		if (r.moved)
			l->last_progress_ns = now;
		l->pending |= r.more || r.moved || linger;
		/* What the pass recorded goes out before the next one. */
		capture_flush(l);
	}
	if (l->pending)
		evloop_want_more(l->loop);
	else if (l->poll_usec && !l->timer_armed)
		arm_timer(l, l->poll_usec);
	/* What the pass recorded goes out now; a full socket waits for EPOLLOUT. */
	capture_flush(l);
}

void link_rings_changed(struct link *l)
{
	unsigned want = 0;

	/* A timer runs only while some started ring must be polled: in the
	 * default mode, an idle link costs no CPU. */
	for (unsigned p = 0; p < LINK_PORTS; p++) {
		struct port *port = &l->port[p];

		for (unsigned i = 0; i < VU_RINGS; i++) {
			if (!port_vq(port, i))
				port->known_started &= ~(1u << i); /* set up again on restart */
			if (!port_vq(port, i) || !port_ring_polled(port, i))
				continue;
			want = l->opts.poll_usec ? l->opts.poll_usec : LINK_NOFD_POLL_USEC;
		}
	}
	/* before_sleep() arms the timer when the loop is about to block. */
	l->poll_usec = want;
	if (!want && l->timer_armed)
		arm_timer(l, 0);
	l->pending = true;
}

uint64_t link_default_mem_max(void)
{
	uint64_t space = PORT_MEM_MAX_LIMIT;
	struct rlimit rl;

	if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < space)
		space = rl.rlim_cur;
	return MAX(space / 4, PORT_MEM_MAX_MIN);
}

struct link *link_new(struct evloop *loop, const struct link_options *opts)
{
	struct link *l = calloc(1, sizeof *l);

	if (!l)
		return NULL;
	l->loop = loop;
	l->opts = *opts;
	if (!l->opts.mem_max)
		l->opts.mem_max = link_default_mem_max();
	l->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (l->timer_fd < 0 ||
	    evloop_add(loop, &l->timer_watch, l->timer_fd, EPOLLIN, on_timer, l) < 0) {
		if (l->timer_fd >= 0)
			close(l->timer_fd);
		free(l);
		return NULL;
	}
	for (unsigned p = 0; p < LINK_PORTS; p++)
		port_init(&l->port[p], l, p);
	evloop_set_before_sleep(loop, before_sleep, l);
	return l;
}

void link_free(struct link *l)
{
	if (!l)
		return;
	capture_detach(l);
	for (unsigned p = 0; p < LINK_PORTS; p++)
		port_release(&l->port[p]);
	/* Whatever the releases published gets its interrupts. */
	run_service(l, PASS_SLEEP, NULL);
	evloop_set_before_sleep(l->loop, NULL, NULL);
	evloop_del(l->loop, &l->timer_watch);
	close(l->timer_fd);
	free(l);
}

int link_create_port(struct link *l, const struct port_config *cfg, int client_listen_fd,
		     int *port_fd, char *err, size_t errlen)
{
	for (unsigned p = 0; p < LINK_PORTS; p++) {
		int rc;

		if (l->port[p].in_use)
			continue;
		/* A TAP end's datapath runs between a TAP and a client's rings. */
		if (cfg->tap_name[0] && port_is_tap(&l->port[1 - p])) {
			snprintf(err, errlen, "tap: the other port is a TAP end already: a TAP "
					      "joins a vhost-user port");
			return -EINVAL;
		}
		rc = port_open(&l->port[p], cfg, client_listen_fd, port_fd, err, errlen);
		if (rc < 0)
			return rc;
		log_limited(&l->logs[p].session, LOG_LVL_INFO, "port%u: created (ds-max=%u%s%s%s%s%s)",
			    p, cfg->ds_max,
			 cfg->has_mac ? ", mac set" : "", cfg->listen_path[0] ? ", listen=" : "",
			 cfg->listen_path, cfg->tap_name[0] ? ", tap=" : "", cfg->tap_name);
		return (int)p;
	}
	snprintf(err, errlen, "no free port: both ports of this link are taken");
	return -ENOMEM;
}

void link_port_status(struct link *l, unsigned index, struct port_status *out)
{
	struct port *p = &l->port[index];

	memset(out, 0, sizeof *out);
	out->state = port_state(p);
	if (!p->in_use)
		return;
	out->cfg = p->cfg;
	out->features = p->dev.features;
	out->mem_max = p->dev.mem_max;
	for (unsigned i = 0; i < VU_RINGS; i++)
		out->queue_size[i] = p->dev.ring[i].num;
	out->stats = p->stats;
	snprintf(out->last_error, sizeof out->last_error, "%s", p->dev.last_error);
}
