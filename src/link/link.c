/* SPDX-License-Identifier: MIT */
/*
 * The kick loop of the link. Kicks only mark work; before the event loop
 * sleeps, both directions are drained: notifications off, forward a
 * batch, publish each used ring once, re-enable and re-check, then signal
 * each client at most once.
 */
#include "link/link.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "link/capture.h"
#include "link/forward.h"
#include "link/port.h"
#include "link/tap_forward.h"
#include "net/virtio_net.h"
#include "util/checked.h"
#include "virtio/fault_guard.h"

/* Work per direction and pass before the other direction and the control
 * path get a turn (struct fwd_budget): descriptors walked and bytes
 * copied, about 256 small or 350 full-sized frames. */
#define LINK_PASS_DESCS 512
#define LINK_PASS_BYTES (512 * 1024)
/* How often rings are polled whose client gave no kick descriptor. */
#define LINK_NOFD_POLL_USEC 100
/* How long the link keeps polling after the last packet before it sleeps. */
#define LINK_LINGER_NS (50 * 1000)
/* How long passes follow each other before the loop checks its fds
 * (control messages, kicks) again, plus the pass under way. A time, not a
 * count of passes: an empty lingering pass takes a few hundred ns and the
 * epoll_wait(0) about 1.1 us on a VM with PTI, so eight passes a turn left
 * the loop in that call, blind to the rings, for a third of its time. */
#define LINK_TURN_NS (50 * 1000)

/*
 * One direction of the wire, for the link's life (the original's Pipe):
 * from one port's TX ring into the other port's RX ring, or a TAP. Its
 * ends are set up once; a pass refreshes only what a client or a capture
 * can change (rings, features, the recording), and what the direction
 * learns of its traffic (the frame hint, a GSO frame half delivered)
 * stays with it.
 */
struct direction {
	struct fwd_end from; /* the sender: its client's TX ring, or a TAP */
	struct fwd_end to;   /* the receiver: its client's RX ring, or a TAP */
	struct gso_resume resume;
	unsigned pair;       /* the sender's queue pair whose TX ring this is */
};

struct link {
	struct evloop *loop;
	struct link_options opts;
	struct port_env env;
	struct port port[LINK_PORTS];
	struct port_logs logs[LINK_PORTS];
	/* dir[i][q]: from port i's TX ring of pair q to the other port */
	struct direction dir[LINK_PORTS][VU_PAIRS_MAX];
	unsigned turn;   /* which pair's directions go first this pass */
	bool pending;    /* kicks or state changes wait for service */
	uint64_t last_progress_ns; /* when packets last moved */
	bool in_service;
	/* Poll mode and rings the client asked us to poll: a one-shot timer,
	 * armed only when the loop is about to block. A busy link never
	 * sleeps, so it takes no timer interrupts (each one can cost a VM
	 * exit and tens of microseconds). */
	int timer_fd;
	struct evloop_watch timer_watch;
	unsigned poll_usec;   /* the poll period wanted; 0: none */
	bool timer_armed;     /* the one-shot is counting down */
	struct fault_guard guard;
	struct capture_slot capture;
};

static struct port *peer_of(struct link *l, struct port *p)
{
	return &l->port[1 - p->index];
}

static struct vq *port_vq(struct port *p, unsigned idx)
{
	return p->in_use ? vu_dev_vq(&p->dev, idx) : NULL;
}

/* The rings port_vq() gives, a bit each: passes walk only these. */
static uint32_t port_started_rings(const struct port *p)
{
	return p->in_use ? vu_dev_started_rings(&p->dev) : 0;
}

/* The parts of an end that never change: whose counters and logs. */
static void end_init(struct fwd_end *e, struct port *p)
{
	memset(e, 0, sizeof *e);
	e->stats = &p->stats;
	e->ratelimit = p->ratelimit;
	e->name = p->name;
	e->port = p->index;
}

static void direction_init(struct link *l, unsigned i, unsigned pair)
{
	struct direction *d = &l->dir[i][pair];

	end_init(&d->from, &l->port[i]);
	end_init(&d->to, &l->port[1 - i]);
	d->from.resume = &d->resume;
	d->pair = pair;
}

static unsigned rx_ring(unsigned pair) { return 2 * pair + VNET_RX_QUEUE; }
static unsigned tx_ring(unsigned pair) { return 2 * pair + VNET_TX_QUEUE; }

/* Whether the client has the TX ring of pair on: one it turned off runs
 * on, to give what it held and then discard (vu_dev runs_while_off). */
static bool tx_on(const struct port *p, unsigned pair)
{
	return vu_dev_ring_on(&p->dev, tx_ring(pair));
}

/*
 * Steering: the receiver's RX ring for what the sender's TX ring of pair
 * q carries. The receiver's running RX rings, in pair order, taken at
 * index q modulo their number: a sender's TX ring always feeds one RX
 * ring while the receiver's pairs stay, so no flow (which a sender keeps
 * on one TX ring) is reordered; equal numbers of pairs map one to one,
 * like the lanes of a wire; and no frame is parsed to decide. A TAP end
 * has one pair: everything goes to and comes from pair 0.
 */
static struct vq *steer(struct port *dst, unsigned q, unsigned *pair)
{
	unsigned running[VU_PAIRS_MAX], n = 0;
	/* Only the pairs the client may use can run: every pass asks, so
	 * the other slots are not looked at. */
	unsigned pairs = MIN(vu_dev_rings(&dst->dev) / 2, (unsigned)VU_PAIRS_MAX);

	if (!dst->in_use)
		return NULL;
	for (unsigned i = 0; i < pairs; i++)
		if (vu_dev_vq(&dst->dev, rx_ring(i)))
			running[n++] = i;
	if (!n)
		return NULL;
	*pair = running[q % n];
	return vu_dev_vq(&dst->dev, rx_ring(*pair));
}

/* An end as this pass finds it: a client's ring (vq; NULL when it does
 * not run) with its features, or a TAP (no ring, no features). */
static void end_refresh(struct link *l, struct fwd_end *e, struct port *p, struct vq *vq)
{
	e->vq = vq;
	e->features = port_is_tap(p) ? 0 : vu_dev_features(&p->dev);
	e->capture = l->capture.recording;
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
		uint64_t f = vu_dev_features(&client->dev);

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
	uint32_t started = port_started_rings(p);
	uint32_t fresh = started & ~p->known_started;

	p->known_started = started;
	for (; fresh; fresh &= fresh - 1) {
		unsigned i = (unsigned)__builtin_ctz(fresh);
		struct vq *vq = vu_dev_vq(&p->dev, i);

		resync_used_index(p, i, vq);
		/* TX kicks bring packets; RX kicks are wanted only when blocked. */
		vq_kicks_reset(vq, i % 2 == VNET_TX_QUEUE && !port_ring_polled(p, i));
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
	/* Per port, the RX rings a direction found full this pass and asked
	 * kicks for: several TX rings may feed one RX ring (a receiver with
	 * fewer pairs), and one of them going idle must not cancel the kick
	 * another waits for, or both stall for good. */
	uint32_t rx_kick_wanted[LINK_PORTS];
};

_Static_assert(VU_RINGS_MAX <= 32, "rx_kick_wanted holds a bit per ring");

static struct fwd_budget pass_budget(void)
{
	return (struct fwd_budget){ .descs = LINK_PASS_DESCS, .bytes = LINK_PASS_BYTES };
}

/* From a TAP into its client's RX ring, until the kernel has nothing more,
 * the client has no room, or the budget is spent. While the client has no
 * room the TAP's input is not watched: the kernel's queue holds (and past
 * its length drops) the frames, and an RX kick brings us back. */
static void service_from_tap(struct link *l, struct direction *dir, enum pass pass,
			     struct pass_result *res)
{
	struct port *tp = &l->port[dir->from.port];
	struct port *client = peer_of(l, tp);
	unsigned rx_pair = 0;
	struct vq *rx = port_state(client) == PORT_RUNNING ? steer(client, 0, &rx_pair) : NULL;
	struct fwd_end *s = &dir->from, *d = &dir->to;
	struct fwd_budget budget = pass_budget();

	end_refresh(l, s, tp, NULL);
	end_refresh(l, d, client, rx);
	if (!rx) {
		/* Nobody to take them: frames left from before are dropped. */
		port_tap_watch_input(tp, true);
		if (tap_discard_packets(&tp->tap, s, &budget) == FWD_MORE)
			res->more = true;
		return;
	}
	for (;;) {
		uint64_t before = tp->stats.tx_packets;
		struct fwd_fault fault;
		enum fwd_status st;
		bool grew;

		if (!fwd_budget_left(&budget)) {
			res->more = true;
			return;
		}
		st = tap_receive_packets(&tp->tap, s, d, &budget, &fault);
		res->moved += (unsigned)(tp->stats.tx_packets - before);
		tp->queue[0].tx_packets += tp->stats.tx_packets - before;
		client->queue[rx_pair].rx_packets += tp->stats.tx_packets - before;
		vq_publish(rx);

		switch (st) {
		case FWD_FAULT:
			client->stats.rx_drop_bad++;
			vu_dev_fail(&client->dev, "%s on ring %u", vq_error_str(fault.error),
				    rx_ring(rx_pair));
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
			if (pass != PASS_SLEEP || port_ring_polled(client, rx_ring(rx_pair)))
				return;
			vq_kicks_enable(rx);
			if (vq_avail_grew(rx, &grew) != VQ_OK || !grew)
				return;
			continue;
		}
	}
}

/* One direction: forward until idle, blocked or out of budget. */
static void serve_direction(struct link *l, struct direction *dir, struct port *src,
			    struct port *dst, struct vq *tx, struct vq *rx, unsigned rx_pair,
			    enum pass pass, struct pass_result *res)
{
	/* A TX ring its client turned off runs on: what it held then still
	 * goes its way (the ring stays frozen until that is gone), what comes
	 * after is discarded; so is what a drain finds there. */
	bool tx_off = !tx_on(src, dir->pair);
	bool to_tap = port_is_tap(dst);
	bool tx_polled, rx_polled;
	struct fwd_budget budget = pass_budget();
	struct fwd_end *s = &dir->from, *d = &dir->to;

	tx_polled = pass != PASS_SLEEP || port_ring_polled(src, tx_ring(dir->pair));
	rx_polled = pass != PASS_SLEEP || !rx || port_ring_polled(dst, rx_ring(rx_pair));
	end_refresh(l, s, src, tx);
	end_refresh(l, d, dst, rx);

	if (pass == PASS_DRAIN)
		vq_freeze(tx);
	for (;;) {
		uint16_t before = vq_consumed(tx);
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
		if (tx_off && (pass == PASS_DRAIN || !vq_frozen(tx)))
			st = drop_packets(s, &budget, &fault, &src->stats.drop_ring_off);
		else if (to_tap)
			st = tap_send_packets(&dst->tap, s, d, &budget, &fault);
		else
			st = rx ? forward_packets(s, d, &budget, &fault)
				: drop_packets(s, &budget, &fault, &src->stats.drop_no_peer);
		res->moved += (uint16_t)(vq_consumed(tx) - before);
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
				    fault.guilty ? rx_ring(rx_pair) : tx_ring(dir->pair));
			return;
		case FWD_MORE:
			if (pass == PASS_DRAIN)
				continue;
			res->more = true;
			return;
		case FWD_IDLE:
			if (vq_frozen(tx)) {
				/* What it held is gone: a ring turned off (or
				 * about to be) discards what comes from now on,
				 * one turned on again forwards it; one that
				 * stops is not looked at again. */
				vq_thaw(tx);
				if (pass != PASS_DRAIN)
					continue;
			}
			if (rx && !(res->rx_kick_wanted[dst->index] & (1u << rx_ring(rx_pair))))
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
			res->rx_kick_wanted[dst->index] |= 1u << rx_ring(rx_pair);
			vq_kicks_enable(rx);
			if (vq_avail_grew(rx, &more) != VQ_OK || !more)
				return;
			continue;
		}
	}
}

static uint64_t drops_of(const struct port_stats *st)
{
	return st->drop_no_peer + st->drop_too_big + st->drop_bad + st->drop_ring_off;
}

/* One direction of one queue pair: forward until idle, blocked or out of
 * its own budget, and count what moved in both pairs' shares. */
static void service_direction(struct link *l, struct direction *dir, enum pass pass,
			      struct pass_result *res)
{
	struct port *src = &l->port[dir->from.port];
	struct port *dst = peer_of(l, src);
	unsigned rx_pair = 0;
	uint64_t sent, lost, got;
	struct vq *tx, *rx = NULL;

	if (port_is_tap(src)) {
		if (dir->pair == 0)
			service_from_tap(l, dir, pass, res);
		return;
	}
	tx = port_vq(src, tx_ring(dir->pair));
	if (!tx)
		return;
	if (dst->in_use && !port_is_tap(dst) &&
	    (tx_on(src, dir->pair) || vq_frozen(tx)))
		rx = steer(dst, dir->pair, &rx_pair);
	sent = src->stats.tx_packets;
	lost = drops_of(&src->stats);
	got = dst->stats.rx_packets;
	serve_direction(l, dir, src, dst, tx, rx, rx_pair, pass, res);
	src->queue[dir->pair].tx_packets += src->stats.tx_packets - sent;
	src->queue[dir->pair].drops += drops_of(&src->stats) - lost;
	dst->queue[rx_pair].rx_packets += dst->stats.rx_packets - got;
}

static void emit_interrupts(struct link *l)
{
	for (unsigned p = 0; p < LINK_PORTS; p++) {
		struct port *port = &l->port[p];

		for (uint32_t rings = port_started_rings(port); rings; rings &= rings - 1) {
			unsigned i = (unsigned)__builtin_ctz(rings);
			struct vq *vq = vu_dev_vq(&port->dev, i);
			enum vq_error e;
			bool signal;

			if (!vq) /* stopped by a failure found on an earlier ring */
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

		if (port->in_use && vu_dev_maps(&port->dev, addr)) {
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
static struct pass_result run_service(struct link *l, enum pass pass, struct port *drain_port,
				      unsigned drain_pair)
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
		service_direction(l, &l->dir[drain_port->index][drain_pair], PASS_DRAIN, &res);
	} else {
		/* Every pair of both ports gets its own budget each pass; which
		 * pair goes first turns, so none is always last. */
		unsigned pairs = MAX(l->port[0].cfg.queues, l->port[1].cfg.queues);

		l->turn++;
		for (unsigned k = 0; k < pairs; k++)
			for (unsigned p = 0; p < LINK_PORTS; p++)
				if (l->port[p].in_use)
					service_direction(l, &l->dir[p][(l->turn + k) % pairs], pass,
							  &res);
	}
	emit_interrupts(l);
	fault_guard_leave(&l->guard);
	l->in_service = false;
	return res;
}

static void link_schedule(void *ctx)
{
	struct link *l = ctx;

	l->pending = true;
}

static void link_drain_tx(void *ctx, struct port *p, unsigned pair)
{
	run_service(ctx, PASS_DRAIN, p, pair);
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
	now = monotonic_ns();
	for (const uint64_t turn_end = now + LINK_TURN_NS; l->pending && now < turn_end;) {
		linger = now - l->last_progress_ns < LINK_LINGER_NS;
		/* Cleared before the pass: a port failing or a ring changing
		 * during it asks for another pass, and that wish must survive. */
		l->pending = false;
		r = run_service(l, linger ? PASS_LINGER : PASS_SLEEP, NULL, 0);
		/* The quiet is counted from the end of the last pass that moved
		 * packets: a long pass (big frames, a preempted server) is no
		 * quiet on the wire. */
		now = monotonic_ns();
		if (r.moved)
			l->last_progress_ns = now;
		l->pending |= r.more || r.moved || linger;
		/* What the pass recorded goes out before the next one. */
		capture_flush(&l->capture);
	}
	if (l->pending)
		evloop_want_more(l->loop);
	else if (l->poll_usec && !l->timer_armed)
		arm_timer(l, l->poll_usec);
	/* What the pass recorded goes out now; a full socket waits for EPOLLOUT. */
	capture_flush(&l->capture);
}

static void link_rings_changed(void *ctx)
{
	struct link *l = ctx;
	unsigned want = 0;

	/* A timer runs only while some started ring must be polled: in the
	 * default mode, an idle link costs no CPU. */
	for (unsigned p = 0; p < LINK_PORTS; p++) {
		struct port *port = &l->port[p];

		for (unsigned i = 0; i < VU_RINGS_MAX; i++) {
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
	static const struct port_hooks hooks = {
		.schedule = link_schedule,
		.rings_changed = link_rings_changed,
		.drain_tx = link_drain_tx,
	};

	l->loop = loop;
	l->opts = *opts;
	l->env = (struct port_env){ .loop = loop, .opts = &l->opts, .hooks = &hooks, .ctx = l };
	l->capture.loop = loop;
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
		port_init(&l->port[p], &l->env, &l->logs[p], p);
	for (unsigned i = 0; i < LINK_PORTS; i++)
		for (unsigned q = 0; q < VU_PAIRS_MAX; q++)
			direction_init(l, i, q);
	evloop_set_before_sleep(loop, before_sleep, l);
	return l;
}

void link_free(struct link *l)
{
	if (!l)
		return;
	capture_detach(&l->capture);
	for (unsigned p = 0; p < LINK_PORTS; p++)
		port_release(&l->port[p]);
	/* Whatever the releases published gets its interrupts. */
	run_service(l, PASS_SLEEP, NULL, 0);
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

struct capture_slot *link_capture(struct link *l)
{
	return &l->capture;
}

void link_port_status(struct link *l, unsigned index, struct port_status *out)
{
	struct port *p = &l->port[index];

	memset(out, 0, sizeof *out);
	out->state = port_state(p);
	if (!p->in_use)
		return;
	out->cfg = p->cfg;
	out->features = vu_dev_features(&p->dev);
	out->mem_max = vu_dev_mem_max(&p->dev);
	for (unsigned i = 0; i < 2; i++)
		out->queue_size[i] = (uint16_t)vu_dev_ring_size(&p->dev, i);
	out->stats = p->stats;
	_Static_assert(sizeof out->queue == sizeof p->queue, "every pair's share");
	memcpy(out->queue, p->queue, sizeof out->queue);
	for (unsigned q = 0; q < VU_PAIRS_MAX; q++)
		out->queues_active += vu_dev_vq(&p->dev, rx_ring(q)) && vu_dev_vq(&p->dev, tx_ring(q)) &&
				      tx_on(p, q);
	snprintf(out->last_error, sizeof out->last_error, "%s", vu_dev_last_error(&p->dev));
}
