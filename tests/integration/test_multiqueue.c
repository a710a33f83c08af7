/* SPDX-License-Identifier: MIT */
/*
 * Several queue pairs (queues=N) through a real server, driven by the
 * driver library with cfg.queues, split and packed rings:
 *  - 2<->2, 4<->4, 4<->1 and 1<->4: every frame arrives once, each TX
 *    ring's flow in order, on the RX ring the steering rule names (TX ring
 *    q to the receiver's running RX ring q mod their number), and the
 *    per-pair counters (control protocol and `status --json`) say so;
 *  - fairness: a pair whose receiver stopped reading, or one that floods,
 *    does not hold back a trickle on another pair;
 *  - pairs turned off and on during traffic (`ethtool -L`): nothing lost,
 *    flows whose RX ring stays keep their order;
 *  - the library refuses more pairs than the port offers, clearly;
 *  - clients that break the multiqueue rules fail their own port only,
 *    and the other port keeps forwarding: rings beyond the negotiated
 *    pairs (GET_QUEUE_NUM ignored), rings past the first pair without
 *    PROTOCOL_F_MQ; pairs enabled but never set up, or set up without kick
 *    descriptors, are no error and neither stall nor spin the server.
 */
#include <errno.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "vhost/vhost_user_proto.h"
#include "vnd_raw.h"

#define F(bit) (1ull << (bit))
#define ST_RUNNING 3
#define ST_FAILED 4
#define PAIRS_MAX 16
#define DEADLINE_MS 60000
/* Streams: sender side (1 = a, 2 = b) times 0x100 plus its TX pair. */
#define STREAM(side, q) ((uint32_t)(side) * 0x100u + (q))

static uint8_t frame[2048 + 64];

/* A test run once on split rings and once on packed ones: its ring
 * format is its cmocka state (*(const bool *)*state: packed). */
static bool split_rings = false, packed_rings = true;
#define ON_BOTH_FORMATS(f)                                      \
	{ #f, f, NULL, NULL, &split_rings },                    \
	{ #f "_packed", f, NULL, NULL, &packed_rings }

static size_t size_of(uint32_t seq) { return 60 + (seq * 2654435761u >> 9) % (1514 - 60 + 1); }

static void mq_config(struct vnd_config *c, unsigned queues, bool packed)
{
	vnd_config_init(c);
	c->queues = queues;
	if (packed)
		c->features |= F(VND_F_RING_PACKED);
}

static struct vnd *mq_open(struct server *s, unsigned port_queues, unsigned queues, bool packed)
{
	char arg[32];
	const char *args[] = { arg, NULL };
	struct vnd_config c;
	struct vnd *d;

	snprintf(arg, sizeof arg, "queues=%u", port_queues);
	mq_config(&c, queues, packed);
	d = client_open(s, args, &c);
	assert_int_equal(vnd_queues(d), queues);
	assert_int_equal(!!(vnd_features(d) & F(VND_F_MQ)), queues > 1);
	assert_int_equal(!!(vnd_features(d) & F(VND_F_RING_PACKED)), packed);
	return d;
}

/* ---- traffic on every pair ---------------------------------------------------------- */

/* One end: what it sent per TX pair, what it received per stream. */
struct end {
	struct vnd *d;
	unsigned side;                   /* 1 or 2 */
	unsigned pairs;
	bool sending[PAIRS_MAX];         /* the test sends on this pair now */
	uint32_t sent[PAIRS_MAX];
	uint32_t limit[PAIRS_MAX];       /* frames to send per pair */
	uint32_t next[PAIRS_MAX];        /* per stream of the other side: the next seq */
	uint32_t got[PAIRS_MAX];         /* per stream: frames received */
	uint32_t on_ring[PAIRS_MAX][PAIRS_MAX]; /* [stream][rx pair] */
	bool loose[PAIRS_MAX];           /* stream may be reordered (its RX ring moved) */
	uint8_t *seen[PAIRS_MAX];        /* loose streams: seqs received */
	unsigned long bad;
};

static void end_init(struct end *e, struct vnd *d, unsigned side, uint32_t per_pair)
{
	memset(e, 0, sizeof *e);
	e->d = d;
	e->side = side;
	e->pairs = vnd_queues(d);
	for (unsigned q = 0; q < e->pairs; q++) {
		e->sending[q] = true;
		e->limit[q] = per_pair;
	}
}

static void end_free(struct end *e)
{
	for (unsigned q = 0; q < PAIRS_MAX; q++)
		free(e->seen[q]);
}

static void send_pairs(struct end *e)
{
	for (unsigned q = 0; q < e->pairs; q++) {
		/* A few at a time: every pair gets its turn. */
		for (unsigned k = 0; k < 32 && e->sending[q] && e->sent[q] < e->limit[q]; k++) {
			size_t len = frame_fill(frame, STREAM(e->side, q), e->sent[q], size_of(e->sent[q]));
			int rc = vnd_send_q(e->d, q, frame, len, NULL);

			if (rc == -EAGAIN)
				break;
			if (rc < 0)
				fail_msg("send on pair %u: %s", q, vnd_last_error(e->d));
			e->sent[q]++;
		}
	}
}

/* A frame of the other side's stream from_q arrived on RX pair rx_q. */
static void take(struct end *e, unsigned rx_q, ssize_t n, uint32_t limit)
{
	uint32_t stream, seq, q;

	memcpy(&stream, frame + 14, 4);
	q = stream & 0xff;
	if (n < 26 || stream >> 8 != 3 - e->side || q >= PAIRS_MAX ||
	    !frame_check(frame, (size_t)n, stream, &seq)) {
		if (e->bad++ < 5)
			print_message("side %u pair %u: a damaged frame (len %zd)\n", e->side, rx_q, n);
		return;
	}
	e->on_ring[q][rx_q]++;
	e->got[q]++;
	if (e->loose[q]) {
		if (!e->seen[q])
			e->seen[q] = calloc(limit ? limit : 1, 1);
		assert_non_null(e->seen[q]);
		if (seq >= limit || e->seen[q][seq]++) {
			if (e->bad++ < 5)
				print_message("stream %#x: frame %u twice or unknown\n", stream, seq);
		}
		return;
	}
	if (seq != e->next[q] && e->bad++ < 5)
		print_message("stream %#x: frame %u where %u was due (pair %u)\n", stream, seq,
			      e->next[q], rx_q);
	e->next[q] = seq + 1;
}

/* Up to budget frames from each RX pair; whether any came. */
static bool recv_pairs(struct end *e, unsigned budget, uint32_t limit)
{
	bool any = false;

	for (unsigned q = 0; q < e->pairs; q++) {
		for (unsigned k = 0; k < budget; k++) {
			ssize_t n = vnd_recv_q(e->d, q, frame, sizeof frame, NULL);

			if (n == -EAGAIN)
				break;
			if (n < 0)
				fail_msg("receive on pair %u: %s", q, vnd_last_error(e->d));
			take(e, q, n, limit);
			any = true;
		}
	}
	return any;
}

static uint32_t total(const uint32_t *v, unsigned n)
{
	uint32_t t = 0;

	for (unsigned i = 0; i < n; i++)
		t += v[i];
	return t;
}

static bool all_in(const struct end *a, const struct end *b)
{
	return total(a->got, b->pairs) == total(b->limit, b->pairs) &&
	       total(b->got, a->pairs) == total(a->limit, a->pairs);
}

static void pump(struct end *a, struct end *b, uint32_t limit)
{
	bool progress;

	send_pairs(a);
	send_pairs(b);
	progress = recv_pairs(a, 64, limit);
	progress |= recv_pairs(b, 64, limit);
	if (!progress) {
		vnd_wait(a->d, 2);
		vnd_wait(b->d, 2);
	}
}

static void run_until_all_in(struct end *a, struct end *b, uint32_t limit)
{
	uint64_t deadline = now_ms() + DEADLINE_MS;

	while (!all_in(a, b) && now_ms() < deadline)
		pump(a, b, limit);
	/* Nothing more than was sent turns up. */
	for (uint64_t end = now_ms() + 50; now_ms() < end;)
		pump(a, b, limit);
}

/* The steering rule with all of the receiver's pairs running. */
static void expect_steered(const struct end *rx, const struct end *tx)
{
	for (unsigned q = 0; q < tx->pairs; q++)
		for (unsigned r = 0; r < rx->pairs; r++)
			assert_int_equal(rx->on_ring[q][r], r == q % rx->pairs ? tx->limit[q] : 0);
}

/* The per-pair counters: what each TX ring sent, what each RX ring got. */
static void expect_pair_counters(struct server *s, unsigned port, const struct end *e,
				 const struct end *peer)
{
	struct vnp_ctl_port p = port_status(s, port);

	assert_int_equal(p.queues_active, e->pairs);
	for (unsigned q = 0; q < e->pairs; q++) {
		uint32_t rx = 0;

		for (unsigned t = 0; t < peer->pairs; t++)
			rx += e->on_ring[t][q];
		assert_int_equal(p.queue[q].tx_packets, e->sent[q]);
		assert_int_equal(p.queue[q].rx_packets, rx);
		assert_int_equal(p.queue[q].drops, 0);
	}
}

/* ---- status --json ------------------------------------------------------------------ */

static json_object *jmember(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no member '%s'", key);
	return v;
}

static uint64_t jnum(json_object *o, const char *key)
{
	json_object *v = jmember(o, key);

	assert_true(json_object_is_type(v, json_type_int));
	return json_object_get_uint64(v);
}

/* status --json says per pair what the control protocol says. */
static void expect_json_matches(struct server *s)
{
	const char *argv[] = { ctl_binary(), "--svr", s->svr, "status", "--json", NULL };
	static char out[65536];
	char err[1024];
	struct vnp_ctl_status st;
	json_object *root, *ports;

	assert_int_equal(run_output(argv, out, sizeof out, err, sizeof err), 0);
	server_status(s, &st);
	root = json_tokener_parse(out);
	assert_non_null(root);
	ports = jmember(root, "ports");
	assert_int_equal(json_object_array_length(ports), 2);
	for (unsigned i = 0; i < 2; i++) {
		json_object *p = json_object_array_get_idx(ports, i), *queue = jmember(p, "queue");

		assert_int_equal(jnum(p, "queues"), st.port[i].queues);
		assert_int_equal(jnum(p, "queues_active"), st.port[i].queues_active);
		assert_int_equal(json_object_array_length(queue), st.port[i].queues);
		for (unsigned q = 0; q < st.port[i].queues; q++) {
			json_object *e = json_object_array_get_idx(queue, q);

			assert_int_equal(jnum(e, "pair"), q);
			assert_int_equal(jnum(e, "tx_packets"), st.port[i].queue[q].tx_packets);
			assert_int_equal(jnum(e, "rx_packets"), st.port[i].queue[q].rx_packets);
			assert_int_equal(jnum(e, "tx_drops"), st.port[i].queue[q].drops);
		}
	}
	json_object_put(root);
}

/* What each side sent and got, and what the server counted, for a
 * failure's message. */
static void report_stall(struct server *s, const struct end *a, const struct end *b)
{
	const struct end *e[2] = { a, b };

	for (unsigned i = 0; i < 2; i++) {
		struct vnp_ctl_port p = port_status(s, i);

		for (unsigned q = 0; q < e[i]->pairs; q++)
			print_message("side %u pair %u: sent %u, got %u; server: tx %llu rx %llu drops "
				      "%llu\n",
				      e[i]->side, q, e[i]->sent[q], e[i]->got[q],
				      (unsigned long long)p.queue[q].tx_packets,
				      (unsigned long long)p.queue[q].rx_packets,
				      (unsigned long long)p.queue[q].drops);
	}
}

/* ---- every frame, in order, where steering says ------------------------------------- */

/* One end of the link: the pairs its port offers (queues=), the pairs its
 * client uses, its ring format. */
struct side {
	unsigned offered, used;
	bool packed;
};

/* per_pair frames each way on every pair a side uses: all arrive intact,
 * steered by the rule, counted per pair, and status --json agrees. */
static void exchange_sides(struct side sa, struct side sb, uint32_t per_pair)
{
	struct server s;
	struct end a, b;

	server_start(&s, NULL);
	end_init(&a, mq_open(&s, sa.offered, sa.used, sa.packed), 1, per_pair);
	end_init(&b, mq_open(&s, sb.offered, sb.used, sb.packed), 2, per_pair);
	wait_port_state(&s, 0, ST_RUNNING);
	wait_port_state(&s, 1, ST_RUNNING);

	run_until_all_in(&a, &b, per_pair);
	if (!all_in(&a, &b))
		report_stall(&s, &a, &b);
	assert_int_equal(a.bad + b.bad, 0);
	for (unsigned q = 0; q < sb.used; q++)
		assert_int_equal(a.got[q], per_pair);
	for (unsigned q = 0; q < sa.used; q++)
		assert_int_equal(b.got[q], per_pair);
	expect_steered(&a, &b);
	expect_steered(&b, &a);
	assert_int_equal(port_status(&s, 0).queues, sa.offered);
	assert_int_equal(port_status(&s, 1).queues, sb.offered);
	expect_pair_counters(&s, 0, &a, &b);
	expect_pair_counters(&s, 1, &b, &a);
	expect_json_matches(&s);

	vnd_close(a.d);
	vnd_close(b.d);
	end_free(&a);
	end_free(&b);
	server_stop(&s);
}

/* Both ends use every pair their ports offer. */
static void exchange_pairs(unsigned qa, unsigned qb, bool packed, uint32_t per_pair)
{
	exchange_sides((struct side){ qa, qa, packed }, (struct side){ qb, qb, packed }, per_pair);
}

static void test_pairs_2_2(void **state) { (void)state; exchange_pairs(2, 2, false, 2000); }
static void test_pairs_4_4(void **state) { (void)state; exchange_pairs(4, 4, false, 1000); }
static void test_pairs_4_1(void **state) { (void)state; exchange_pairs(4, 1, false, 1000); }
static void test_pairs_1_4(void **state) { (void)state; exchange_pairs(1, 4, false, 1000); }
static void test_pairs_2_2_packed(void **state) { (void)state; exchange_pairs(2, 2, true, 2000); }
static void test_pairs_4_4_packed(void **state) { (void)state; exchange_pairs(4, 4, true, 1000); }
static void test_pairs_4_1_packed(void **state) { (void)state; exchange_pairs(4, 1, true, 1000); }

/* A split end and a packed one, 3 pairs against 2. */
static void test_pairs_split_packed(void **state)
{
	(void)state;
	exchange_sides((struct side){ 3, 3, false }, (struct side){ 2, 2, true }, 1000);
}

/* A client may use fewer pairs than its port offers: only those count. */
static void test_fewer_pairs_than_offered(void **state)
{
	(void)state;
	exchange_sides((struct side){ 4, 2, false }, (struct side){ 4, 3, false }, 1000);
}

/* ---- fairness ------------------------------------------------------------------------ */

#define TRICKLE 100
#define TRICKLE_MS 5000 /* per frame, on a loaded machine: no starvation, not a latency bound */

/* Send trickle frame i on a's pair 1 and wait for it on b's pair 1 while
 * step() keeps the other pair busy. */
static void trickle_through(struct end *a, struct end *b, void (*step)(struct end *, struct end *))
{
	for (uint32_t i = 0; i < TRICKLE; i++) {
		size_t len = frame_fill(frame, STREAM(1, 1), i, 200);
		uint64_t deadline = now_ms() + TRICKLE_MS;
		int rc;

		while ((rc = vnd_send_q(a->d, 1, frame, len, NULL)) == -EAGAIN && now_ms() < deadline)
			step(a, b);
		assert_int_equal(rc, 0);
		while (b->got[1] <= i && now_ms() < deadline) {
			ssize_t n = vnd_recv_q(b->d, 1, frame, sizeof frame, NULL);

			if (n >= 0)
				take(b, 1, n, TRICKLE);
			else if (n != -EAGAIN)
				fail_msg("receive: %s", vnd_last_error(b->d));
			else
				step(a, b);
		}
		if (b->got[1] <= i)
			fail_msg("trickle frame %u not through in %d ms", i, TRICKLE_MS);
	}
	assert_int_equal(b->bad, 0);
}

/* Pair 0 of b reads nothing: a's pair 0 fills its rings and stalls. */
static void flood_blocked(struct end *a, struct end *b)
{
	(void)b;
	a->sending[1] = false;
	send_pairs(a);
	vnd_wait(a->d, 1);
}

static void test_blocked_pair_does_not_block_another(void **state)
{
	struct server s;
	struct end a, b;

	(void)state;
	server_start(&s, NULL);
	end_init(&a, mq_open(&s, 2, 2, false), 1, UINT32_MAX);
	end_init(&b, mq_open(&s, 2, 2, false), 2, 0);
	trickle_through(&a, &b, flood_blocked);
	/* Pair 0 really was stuck: a's TX ring full, b's RX ring full. */
	assert_true(a.sent[0] > 0);
	/* Now b reads pair 0 too: the flood comes in order. */
	a.limit[0] = a.sent[0];
	b.limit[0] = 0;
	for (uint64_t deadline = now_ms() + DEADLINE_MS; b.got[0] < a.sent[0] && now_ms() < deadline;)
		if (!recv_pairs(&b, 64, 0))
			vnd_wait(b.d, 2);
	assert_int_equal(b.got[0], a.sent[0]);
	assert_int_equal(b.got[1], TRICKLE);
	assert_int_equal(b.bad, 0);
	vnd_close(a.d);
	vnd_close(b.d);
	server_stop(&s);
}

/* Pair 0 floods and b drains it as fast as it can. */
static void flood_drained(struct end *a, struct end *b)
{
	a->sending[1] = false;
	send_pairs(a);
	for (unsigned k = 0; k < 64; k++) {
		ssize_t n = vnd_recv_q(b->d, 0, frame, sizeof frame, NULL);

		if (n == -EAGAIN)
			break;
		if (n < 0)
			fail_msg("receive: %s", vnd_last_error(b->d));
		take(b, 0, n, 0);
	}
	vnd_wait(b->d, 1);
}

static void test_flooding_pair_does_not_starve_another(void **state)
{
	bool packed = *(const bool *)*state;
	struct server s;
	struct end a, b;

	server_start(&s, NULL);
	end_init(&a, mq_open(&s, 2, 2, packed), 1, UINT32_MAX);
	end_init(&b, mq_open(&s, 2, 2, packed), 2, 0);
	trickle_through(&a, &b, flood_drained);
	/* The flood went on meanwhile, in order. */
	assert_true(b.got[0] > 0);
	assert_int_equal(b.bad, 0);
	vnd_close(a.d);
	vnd_close(b.d);
	server_stop(&s);
}

/* ---- pairs off and on during traffic ------------------------------------------------- */

static void pump_for(struct end *a, struct end *b, uint32_t limit, unsigned frames)
{
	uint32_t start = total(a->got, b->pairs) + total(b->got, a->pairs);
	uint64_t deadline = now_ms() + DEADLINE_MS;

	while (total(a->got, b->pairs) + total(b->got, a->pairs) < start + frames &&
	       !all_in(a, b) && now_ms() < deadline)
		pump(a, b, limit);
}

/* A driver stops a pair's TX queue before it turns the pair off. */
static void pair_off(struct end *e, unsigned q)
{
	e->sending[q] = false;
	assert_int_equal(vnd_pair_enable(e->d, q, false), 0);
	assert_false(vnd_pair_enabled(e->d, q));
	assert_int_equal(vnd_send_q(e->d, q, frame, 60, NULL), -ENOTCONN);
}

static void pair_on(struct end *e, unsigned q)
{
	assert_int_equal(vnd_pair_enable(e->d, q, true), 0);
	e->sending[q] = true;
}

static void test_pairs_off_and_on(void **state)
{
	bool packed = *(const bool *)*state;
	const uint32_t limit = 6000;
	struct server s;
	struct end a, b;

	server_start(&s, NULL);
	end_init(&a, mq_open(&s, 4, 4, packed), 1, limit);
	end_init(&b, mq_open(&s, 4, 4, packed), 2, limit);
	/* Streams whose RX ring changes when pairs go: a's RX pair 2 going
	 * moves b's TX 2 and 3 (running [0 1 3]), b's RX pair 3 going moves
	 * a's TX 3. The others keep their ring and so their order. */
	a.loose[2] = a.loose[3] = true;
	b.loose[3] = true;

	pump_for(&a, &b, limit, 3000);
	pair_off(&a, 2);
	pump_for(&a, &b, limit, 3000);
	pair_off(&b, 3);
	pump_for(&a, &b, limit, 3000);
	assert_int_equal(port_status(&s, 0).queues_active, 3);
	assert_int_equal(port_status(&s, 1).queues_active, 3);
	pair_on(&a, 2);
	pump_for(&a, &b, limit, 3000);
	pair_on(&b, 3);
	run_until_all_in(&a, &b, limit);

	assert_int_equal(a.bad + b.bad, 0);
	for (unsigned q = 0; q < 4; q++) {
		assert_int_equal(a.got[q], limit);
		assert_int_equal(b.got[q], limit);
	}
	assert_int_equal(port_status(&s, 0).queues_active, 4);
	for (unsigned p = 0; p < 2; p++) {
		struct vnp_ctl_port st = port_status(&s, p);

		assert_int_equal(st.counter[VNP_CTR_TX_PACKETS], 4 * limit);
		assert_int_equal(st.counter[VNP_CTR_RX_PACKETS], 4 * limit);
		for (unsigned q = 0; q < 4; q++) {
			assert_int_equal(st.queue[q].tx_packets, limit);
			assert_int_equal(st.queue[q].drops, 0);
		}
	}
	vnd_close(a.d);
	vnd_close(b.d);
	end_free(&a);
	end_free(&b);
	server_stop(&s);
}

/* ---- what the library refuses -------------------------------------------------------- */

static void expect_open_refused(struct server *s, const char *port_arg, unsigned queues,
				bool no_protocol, const char *why)
{
	const char *args[] = { port_arg, NULL };
	struct vnd_config c;
	struct vnd *d = NULL;

	mq_config(&c, queues, false);
	c.no_protocol_features = no_protocol;
	assert_int_equal(client_try_open(s, args, &c, &d), -ENOTSUP);
	assert_null(d);
	if (!strstr(vnd_last_error(NULL), why))
		fail_msg("open error '%s' does not say '%s'", vnd_last_error(NULL), why);
}

static void test_library_refuses_what_is_not_offered(void **state)
{
	struct vnd_config c;
	struct server s;
	struct vnd *d;

	(void)state;
	server_start(&s, NULL);
	expect_open_refused(&s, "queues=2", 3, false, "the device offers 2");
	expect_open_refused(&s, "queues=1", 2, false, "VIRTIO_NET_F_MQ");
	expect_open_refused(&s, "queues=2", 2, true, "need protocol features");
	/* Within the library's own bounds only. */
	mq_config(&c, 17, false);
	assert_int_equal(vnd_open_fd(&d, -1, &c), -EINVAL);
	assert_non_null(strstr(vnd_last_error(NULL), "queues 17"));
	server_stop(&s);
}

/* Pair indexes beyond what was set up, and one pair by default. */
static void test_queue_index_checked(void **state)
{
	struct server s;
	struct vnd *a;
	struct vnd_config c;

	(void)state;
	server_start(&s, NULL);
	a = mq_open(&s, 2, 2, false);
	assert_int_equal(vnd_send_q(a, 2, frame, 60, NULL), -EINVAL);
	assert_non_null(strstr(vnd_last_error(a), "queue pair 2"));
	assert_int_equal(vnd_recv_q(a, 7, frame, sizeof frame, NULL), -EINVAL);
	assert_int_equal(vnd_pair_enable(a, 2, true), -EINVAL);
	vnd_close(a);
	vnd_config_init(&c);
	assert_int_equal(c.queues, 1);
	a = client_open(&s, NULL, &c);
	assert_int_equal(vnd_queues(a), 1);
	assert_false(vnd_features(a) & F(VND_F_MQ));
	vnd_close(a);
	server_stop(&s);
}

/* ---- clients that break the rules ---------------------------------------------------- */

/* b keeps being served while a is failed: its frames are counted as
 * dropped for want of a peer, none stall. */
static void expect_other_port_forwards(struct server *s, struct vnd *healthy, unsigned port)
{
	uint64_t before = port_status(s, port).counter[VNP_CTR_DROP_NO_PEER];
	unsigned sent = 0, pairs = vnd_queues(healthy);

	for (uint64_t deadline = now_ms() + 10000; sent < 600 && now_ms() < deadline;) {
		if (vnd_send_q(healthy, sent % pairs, frame, frame_fill(frame, 9, sent, 100), NULL) == 0)
			sent++;
		else
			vnd_wait(healthy, 10);
	}
	assert_int_equal(sent, 600);
	for (uint64_t deadline = now_ms() + 5000;
	     port_status(s, port).counter[VNP_CTR_DROP_NO_PEER] < before + 600 && now_ms() < deadline;)
		usleep(1000);
	assert_int_equal(port_status(s, port).counter[VNP_CTR_DROP_NO_PEER], before + 600);
}

static void send_state(struct vnd *d, uint32_t request, unsigned ring, unsigned num)
{
	struct vhost_user_vring_state st = { ring, num };

	assert_int_equal(vnd_raw_request(d, request, VHOST_USER_VERSION, &st, sizeof st, NULL, 0,
					 NULL, 0),
			 0);
}

static void send_u64(struct vnd *d, uint32_t request, uint64_t v)
{
	assert_int_equal(vnd_raw_request(d, request, VHOST_USER_VERSION, &v, sizeof v, NULL, 0,
					 NULL, 0),
			 0);
}

/* a sends on pair 1 until it has sent n frames of stream (as far as a's
 * ring lets it), while b takes what arrives on its pair 1 until it has
 * want_got: every frame b gets must be the next of held_stream; returns
 * how many b got. */
static unsigned send_while_taking(struct vnd *a, struct vnd *b, uint32_t stream, unsigned n,
				  uint32_t held_stream, unsigned want_got)
{
	static uint8_t buf[2048];
	uint64_t deadline = now_ms() + 20000;
	unsigned sent = 0, got = 0;

	while (sent < n || got < want_got) {
		bool moved = false;
		ssize_t r;
		uint32_t seq;

		if (sent < n && vnd_send_q(a, 1, buf, frame_fill(buf, stream, sent, 100), NULL) == 0) {
			sent++;
			moved = true;
		}
		r = vnd_recv_q(b, 1, buf, sizeof buf, NULL);
		if (r >= 0) {
			assert_true(frame_check(buf, (size_t)r, held_stream, &seq));
			assert_int_equal(seq, got);
			got++;
			moved = true;
		}
		if (!moved) {
			assert_true(now_ms() < deadline);
			vnd_wait(a, 1);
		}
	}
	return got;
}

/* Pair 1's TX ring of port 0's client d (ring 3) off or on behind the
 * library's back; the server's count of running pairs follows. */
static void turn_tx_ring_1(struct server *s, struct vnd *d, bool on)
{
	uint64_t deadline = now_ms() + 10000;

	send_state(d, VHOST_USER_SET_VRING_ENABLE, 3, on);
	while (port_status(s, 0).queues_active != 1u + on && now_ms() < deadline)
		usleep(2000);
	assert_int_equal(port_status(s, 0).queues_active, 1u + on);
}

/*
 * A TX ring its driver turned off runs on. What it held when turned off
 * still goes to the peer, even when the peer's ring is full then; what
 * the driver puts there afterwards is taken and discarded, counted as
 * ring_off, its buffers given back. vhost-user has a ring started but
 * disabled processed that way, and Linux needs it: it may queue a frame
 * on a pair it is turning off, and holds a TCP flow whose frame sits in
 * a device queue (left untaken, the flow would stall for good). Turned
 * on again, the ring forwards. The ring is turned off here behind the
 * library's back, so that the library still sends on it.
 */
static void test_tx_ring_off_discards(void **state)
{
	bool packed = *(const bool *)*state;
	static uint8_t buf[2048];
	const unsigned held = 300; /* more than b's ring takes: some wait in a's */
	const unsigned after = 600; /* more than a ring: buffers must come back */
	struct server s;
	struct vnd *a, *b;
	struct vnp_ctl_port p0;
	uint64_t deadline;
	unsigned sent = 0, got;

	server_start(&s, NULL);
	a = mq_open(&s, 2, 2, packed);
	b = mq_open(&s, 2, 2, packed);
	/* b takes nothing yet: its ring fills, the rest waits in a's. */
	for (deadline = now_ms() + 10000; sent < held;) {
		if (vnd_send_q(a, 1, buf, frame_fill(buf, 6, sent, 100), NULL) == 0)
			sent++;
		else
			vnd_wait(a, 1);
		assert_true(now_ms() < deadline);
	}
	for (uint64_t tx = 0; (tx = port_status(&s, 0).counter[VNP_CTR_TX_PACKETS]) < held;) {
		usleep(20000);
		if (port_status(&s, 0).counter[VNP_CTR_TX_PACKETS] == tx)
			break; /* b's ring is full */
	}
	assert_true(port_status(&s, 0).counter[VNP_CTR_TX_PACKETS] < held);

	turn_tx_ring_1(&s, a, false);
	/* b gets every frame a sent before, none of those after. */
	got = send_while_taking(a, b, 7, after, 6, held);
	assert_int_equal(got, held);
	wait_port_counter(&s, 0, VNP_CTR_DROP_RING_OFF, after);
	p0 = port_status(&s, 0);
	assert_int_equal(p0.counter[VNP_CTR_TX_PACKETS], held);
	assert_int_equal(p0.counter[VNP_CTR_DROP_NO_PEER], 0);
	assert_int_equal(p0.queue[1].tx_packets, held);
	assert_int_equal(p0.queue[1].drops, after);
	assert_int_equal(port_status(&s, 1).counter[VNP_CTR_RX_PACKETS], held);
	for (unsigned q = 0; q < 2; q++)
		assert_int_equal(vnd_recv_q(b, q, buf, sizeof buf, NULL), -EAGAIN);

	/* On again: forwarded, pair 1 to pair 1 (equal pairs are lanes). */
	turn_tx_ring_1(&s, a, true);
	assert_int_equal(send_while_taking(a, b, 8, 50, 8, 50), 50);
	assert_int_equal(port_status(&s, 0).counter[VNP_CTR_DROP_RING_OFF], after);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

struct bad_ring {
	unsigned port_queues, client_queues;
	uint32_t request;
	unsigned ring;
	const char *reason;
};

static const struct bad_ring bad_rings[] = {
	/* GET_QUEUE_NUM said 2: rings 4 and up do not exist. */
	{ 2, 2, VHOST_USER_SET_VRING_NUM, 4, "SET_VRING_NUM for ring 4: it has 4 (2 queue pairs)" },
	{ 2, 2, VHOST_USER_SET_VRING_ENABLE, 5, "SET_VRING_ENABLE for ring 5: it has 4" },
	{ 2, 2, VHOST_USER_SET_VRING_KICK, 6, "SET_VRING_KICK for ring 6: it has 4" },
	{ 2, 2, VHOST_USER_SET_VRING_BASE, 200, "SET_VRING_BASE for ring 200: it has 4" },
	/* The control queue's index: the device has none. */
	{ 4, 4, VHOST_USER_SET_VRING_NUM, 8, "SET_VRING_NUM for ring 8: it has 8 (4 queue pairs)" },
	/* A pair past the first without PROTOCOL_F_MQ (queues=1 asks none). */
	{ 2, 1, VHOST_USER_SET_VRING_NUM, 2, "for ring 2: it has 2 (1 queue pair without PROTOCOL_F_MQ)" },
	{ 4, 1, VHOST_USER_SET_VRING_ENABLE, 3, "for ring 3: it has 2 (1 queue pair without PROTOCOL_F_MQ)" },
};

static void test_rings_beyond_pairs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_rings / sizeof bad_rings[0]; i++) {
		const struct bad_ring *t = &bad_rings[i];
		struct server s;
		struct vnd *a, *b;

		print_message("  %s\n", t->reason);
		server_start(&s, NULL);
		a = mq_open(&s, t->port_queues, t->client_queues, false);
		b = mq_open(&s, 2, 2, false);
		if (t->request == VHOST_USER_SET_VRING_KICK)
			send_u64(a, t->request, t->ring | VHOST_USER_VRING_NOFD_MASK);
		else
			send_state(a, t->request, t->ring, t->request == VHOST_USER_SET_VRING_ENABLE ? 1 : 256);
		wait_port_state(&s, 0, ST_FAILED);
		assert_true(server_log_contains(&s, t->reason, 3000));
		assert_non_null(strstr(port_status(&s, 0).last_error, t->reason));
		assert_int_equal(port_status(&s, 1).state, ST_RUNNING);
		expect_other_port_forwards(&s, b, 1);
		vnd_close(a);
		vnd_close(b);
		server_stop(&s);
	}
}

/* Traffic both ways still complete with a's rings beyond its first two
 * pairs in whatever state the test left them. */
static void expect_two_pairs_forward(struct server *s, struct vnd *a, struct vnd *b)
{
	struct end ea, eb;

	end_init(&ea, a, 1, 500);
	end_init(&eb, b, 2, 500);
	run_until_all_in(&ea, &eb, 500);
	assert_int_equal(ea.bad + eb.bad, 0);
	/* Steered to a's running RX rings only: b's TX q to a's pair q mod 2. */
	expect_steered(&ea, &eb);
	expect_steered(&eb, &ea);
	assert_int_equal(port_status(s, 0).state, ST_RUNNING);
	assert_int_equal(port_status(s, 1).state, ST_RUNNING);
	assert_int_equal(port_status(s, 0).queues_active, 2);
}

static void expect_server_idle(struct server *s)
{
	long ticks = server_cpu_ticks(s);

	sleep(1);
	ticks = server_cpu_ticks(s) - ticks;
	print_message("  server CPU in an idle second: %ld ticks\n", ticks);
	/* A spinning server takes most of the 100; a loaded machine gives idle
	 * servers a few at most. */
	assert_true(ticks <= 20);
}

/* Pairs 2 and 3 enabled, never set up: nothing starts, nothing fails. */
static void test_enable_pairs_never_set_up(void **state)
{
	struct server s;
	struct vnd *a, *b;

	(void)state;
	server_start(&s, NULL);
	a = mq_open(&s, 4, 2, false);
	b = mq_open(&s, 4, 4, false);
	for (unsigned r = 4; r < 8; r++)
		send_state(a, VHOST_USER_SET_VRING_ENABLE, r, 1);
	expect_two_pairs_forward(&s, a, b);
	expect_server_idle(&s);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* Pairs 2 and 3 set up and enabled, but never given a kick (fd or none). */
static void test_pairs_without_kick_fds(void **state)
{
	bool packed = *(const bool *)*state;
	struct server s;
	struct vnd *a, *b;
	size_t scratch_size;
	uint8_t *scratch;

	server_start(&s, NULL);
	a = mq_open(&s, 4, 2, packed);
	b = mq_open(&s, 4, 4, packed);
	scratch = vnd_raw_scratch(a, &scratch_size);
	memset(scratch, 0, scratch_size);
	for (unsigned r = 4; r < 8; r++) {
		uint8_t *ring = scratch + (r - 4) * 16384;
		struct vhost_user_vring_addr addr = {
			.index = r,
			.desc_user_addr = (uint64_t)(uintptr_t)ring,
			.avail_user_addr = (uint64_t)(uintptr_t)(ring + 4096),
			.used_user_addr = (uint64_t)(uintptr_t)(ring + 8192),
		};

		send_state(a, VHOST_USER_SET_VRING_NUM, r, 256);
		send_state(a, VHOST_USER_SET_VRING_BASE, r, packed ? 0x80008000u : 0);
		assert_int_equal(vnd_raw_request(a, VHOST_USER_SET_VRING_ADDR, VHOST_USER_VERSION, &addr,
						 sizeof addr, NULL, 0, NULL, 0),
				 0);
		send_u64(a, VHOST_USER_SET_VRING_CALL, r | VHOST_USER_VRING_NOFD_MASK);
		send_state(a, VHOST_USER_SET_VRING_ENABLE, r, 1);
	}
	expect_two_pairs_forward(&s, a, b);
	expect_server_idle(&s);
	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pairs_2_2),
		cmocka_unit_test(test_pairs_4_4),
		cmocka_unit_test(test_pairs_4_1),
		cmocka_unit_test(test_pairs_1_4),
		cmocka_unit_test(test_pairs_2_2_packed),
		cmocka_unit_test(test_pairs_4_4_packed),
		cmocka_unit_test(test_pairs_4_1_packed),
		cmocka_unit_test(test_pairs_split_packed),
		cmocka_unit_test(test_fewer_pairs_than_offered),
		cmocka_unit_test(test_blocked_pair_does_not_block_another),
		ON_BOTH_FORMATS(test_flooding_pair_does_not_starve_another),
		ON_BOTH_FORMATS(test_pairs_off_and_on),
		ON_BOTH_FORMATS(test_tx_ring_off_discards),
		cmocka_unit_test(test_library_refuses_what_is_not_offered),
		cmocka_unit_test(test_queue_index_checked),
		cmocka_unit_test(test_rings_beyond_pairs),
		cmocka_unit_test(test_enable_pairs_never_set_up),
		ON_BOTH_FORMATS(test_pairs_without_kick_fds),
	};

	if (getenv("MQ_FILTER"))
		cmocka_set_test_filter(getenv("MQ_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
