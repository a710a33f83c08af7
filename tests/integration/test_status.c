/* SPDX-License-Identifier: MIT */
/*
 * What `vnet-p2p-ctl status` reports, checked against known traffic:
 * packets and bytes each way, each drop reason provoked on purpose, read
 * back through --json (with a real JSON parser), --prometheus (every line
 * parsed) and the table; how long counters live; text that needs escaping.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "harness.h"
#include "vnd_raw.h"

#define TX 1
#define RX 0
#define F(bit) (1ull << (bit))

/* ---- traffic -------------------------------------------------------------- */

/* A header asking for GSO, which no port offers: dropped as malformed. */
static void send_gso_packet(struct vnd *d)
{
	struct vnd_raw_ring r;
	size_t size;
	uint8_t *p = vnd_raw_scratch(d, &size);
	uint16_t id;

	memset(p, 0, 12 + 100);
	p[1] = 1; /* VIRTIO_NET_HDR_GSO_TCPV4 */
	vnd_tx_reclaim(d);
	vnd_raw_ring(d, TX, &r);
	assert_int_equal(vnd_raw_take_descs(d, TX, 1, &id), 0);
	r.desc[id] = (struct vring_desc){ vnd_raw_gpa(d, p), 12 + 100, 0, 0 };
	vnd_raw_publish(d, TX, id);
}

/* A TX chain whose next index leaves the ring: fails the sender's port. */
static void send_bad_chain(struct vnd *d)
{
	struct vnd_raw_ring r;
	size_t size;
	uint8_t *p = (uint8_t *)vnd_raw_scratch(d, &size) + 4096;
	uint16_t id;

	memset(p, 0, 100); /* a plain header: the walk reaches the bad link */
	vnd_tx_reclaim(d);
	vnd_raw_ring(d, TX, &r);
	assert_int_equal(vnd_raw_take_descs(d, TX, 1, &id), 0);
	r.desc[id] = (struct vring_desc){ vnd_raw_gpa(d, p), 100, VRING_DESC_F_NEXT,
					  (uint16_t)(r.num + 3) };
	vnd_raw_publish(d, TX, id);
}

/* ---- the expected state -------------------------------------------------- */

struct expect {
	const char *state;
	uint64_t tx_packets, tx_bytes, no_peer, tx_too_big, tx_bad;
	uint64_t rx_packets, rx_bytes, rx_too_big, rx_bad;
	const char *error; /* part of the last error; NULL: none */
	bool mrg_rxbuf;    /* negotiated */
};

/* ---- running the tool ------------------------------------------------------ */

static char *ctl_output(struct server *s, const char *format)
{
	const char *argv[] = { ctl_binary(), "--svr", s->svr, "status", format, NULL };
	static char out[65536];
	char err[1024];
	int rc = run_output(argv, out, sizeof out, err, sizeof err);

	if (rc != 0)
		fail_msg("vnet-p2p-ctl status %s: exit %d: %s", format ? format : "", rc, err);
	assert_string_equal(err, "");
	assert_true(strlen(out) < sizeof out - 1);
	return out;
}

/* ---- JSON ------------------------------------------------------------------ */

static json_object *json_parse_all(const char *text)
{
	json_tokener *tok = json_tokener_new();
	size_t len = strlen(text);
	json_object *root;

	assert_non_null(tok);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success)
		fail_msg("invalid JSON (%s): %s", json_tokener_error_desc(json_tokener_get_error(tok)),
			 text);
	/* One document: nothing but white space after it. */
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
		assert_non_null(strchr(" \t\r\n", text[i]));
	json_tokener_free(tok);
	return root;
}

/* The member at a dotted path ("tx.drops.no_peer"); fails when missing. */
static json_object *jget(json_object *o, const char *path)
{
	char key[64];

	while (*path) {
		size_t n = strcspn(path, ".");
		json_object *next;

		snprintf(key, sizeof key, "%.*s", (int)n, path);
		if (!json_object_object_get_ex(o, key, &next))
			fail_msg("no member '%s'", key);
		o = next;
		path += n + (path[n] == '.');
	}
	return o;
}

static uint64_t jnum(json_object *o, const char *path)
{
	json_object *v = jget(o, path);

	assert_true(json_object_is_type(v, json_type_int));
	assert_true(json_object_get_int64(v) >= 0);
	return json_object_get_uint64(v);
}

static bool json_has_feature(json_object *port, const char *name)
{
	json_object *f = jget(port, "features");

	assert_true(json_object_is_type(f, json_type_array));
	for (size_t i = 0; i < json_object_array_length(f); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(f, i)), name) == 0)
			return true;
	return false;
}

static void check_json_port(json_object *root, unsigned i, const struct expect *e,
			    const struct vnp_ctl_port *bin)
{
	json_object *ports = jget(root, "ports"), *p, *err;

	assert_int_equal(json_object_array_length(ports), 2);
	p = json_object_array_get_idx(ports, i);
	assert_int_equal(jnum(p, "port"), i);
	assert_string_equal(json_object_get_string(jget(p, "state")), e->state);
	assert_int_equal(jnum(p, "ds_max"), bin->ds_max);
	assert_int_equal(jnum(p, "queue_size.rx"), 256);
	assert_int_equal(jnum(p, "queue_size.tx"), 256);
	assert_int_equal(jnum(p, "tx.packets"), e->tx_packets);
	assert_int_equal(jnum(p, "tx.bytes"), e->tx_bytes);
	assert_int_equal(jnum(p, "tx.drops.no_peer"), e->no_peer);
	assert_int_equal(jnum(p, "tx.drops.too_big"), e->tx_too_big);
	assert_int_equal(jnum(p, "tx.drops.bad_chain"), e->tx_bad);
	assert_int_equal(jnum(p, "rx.packets"), e->rx_packets);
	assert_int_equal(jnum(p, "rx.bytes"), e->rx_bytes);
	assert_int_equal(jnum(p, "rx.drops.too_big"), e->rx_too_big);
	assert_int_equal(jnum(p, "rx.drops.bad_chain"), e->rx_bad);
	assert_int_equal(jnum(p, "kicks"), bin->counter[VNP_CTR_KICKS]);
	assert_int_equal(jnum(p, "interrupts"), bin->counter[VNP_CTR_INTERRUPTS]);
	assert_true(jnum(p, "kicks") > 0);
	assert_true(jnum(p, "interrupts") > 0);
	assert_true(json_has_feature(p, "VERSION_1"));
	assert_true(json_has_feature(p, "EVENT_IDX"));
	assert_int_equal(json_has_feature(p, "MRG_RXBUF"), e->mrg_rxbuf);
	assert_true(json_object_is_type(jget(p, "mac"), json_type_null));
	assert_true(json_object_is_type(jget(p, "listen"), json_type_null));
	err = jget(p, "last_error");
	if (e->error)
		assert_non_null(strstr(json_object_get_string(err), e->error));
	else
		assert_true(json_object_is_type(err, json_type_null));
}

/* ---- Prometheus text format ---------------------------------------------- */

struct prom_sample {
	char name[64];
	char labels[512]; /* k=v,k=v with the values unescaped */
	double value;
};

struct prom {
	struct prom_sample s[128];
	int n;
	char typed[32][64]; /* families in order of their TYPE lines */
	char type[32][16];
	int families;
};

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

static const char *parse_name(const char *p, char *out, size_t cap)
{
	size_t n = 0;

	if (!name_char(*p, true))
		return NULL;
	while (name_char(p[n], n == 0) && n + 1 < cap)
		n++;
	memcpy(out, p, n);
	out[n] = '\0';
	return p + n;
}

/* {k="v",...}: the escapes the format defines (\\ \" \n) and no other. */
static const char *parse_labels(const char *p, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	if (*p != '{')
		return p;
	p++;
	while (*p != '}') {
		char key[64];

		p = parse_name(p, key, sizeof key);
		if (!p || strchr(key, ':') || *p++ != '=' || *p++ != '"')
			return NULL;
		o += (size_t)snprintf(out + o, cap - o, "%s%s=", o ? "," : "", key);
		while (*p != '"') {
			char c = *p++;

			if (c == '\0' || c == '\n')
				return NULL;
			if (c == '\\') {
				c = *p++;
				if (c == 'n')
					c = '\n';
				else if (c != '\\' && c != '"')
					return NULL;
			}
			if (o + 1 < cap)
				out[o++] = c;
		}
		out[o] = '\0';
		p++;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return NULL;
	}
	return p + 1;
}

static void prom_parse(const char *text, struct prom *pr)
{
	char current[64] = "";

	memset(pr, 0, sizeof *pr);
	while (*text) {
		const char *eol = strchr(text, '\n');
		char line[1024], name[64];
		const char *p;

		assert_non_null(eol); /* every line ends */
		assert_true((size_t)(eol - text) < sizeof line);
		snprintf(line, sizeof line, "%.*s", (int)(eol - text), text);
		text = eol + 1;
		assert_true(line[0] != '\0');
		if (strncmp(line, "# HELP ", 7) == 0) {
			p = parse_name(line + 7, name, sizeof name);
			assert_non_null(p);
			assert_true(*p == ' ' && p[1] != '\0');
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			p = parse_name(line + 7, name, sizeof name);
			assert_non_null(p);
			assert_true(strcmp(p, " counter") == 0 || strcmp(p, " gauge") == 0);
			for (int f = 0; f < pr->families; f++)
				assert_string_not_equal(pr->typed[f], name); /* once per family */
			assert_true(pr->families < 32);
			snprintf(pr->typed[pr->families], sizeof pr->typed[0], "%s", name);
			snprintf(pr->type[pr->families++], sizeof pr->type[0], "%s", p + 1);
			if (strcmp(p + 1, "counter") == 0) {
				size_t n = strlen(name);

				assert_true(n > 6 && strcmp(name + n - 6, "_total") == 0);
			}
			snprintf(current, sizeof current, "%s", name);
			continue;
		}
		assert_true(line[0] != '#');
		{
			struct prom_sample *s = &pr->s[pr->n];
			char *end;

			assert_true(pr->n < 128);
			p = parse_name(line, s->name, sizeof s->name);
			assert_non_null(p);
			/* Samples follow their family's TYPE line, together. */
			assert_string_equal(s->name, current);
			p = parse_labels(p, s->labels, sizeof s->labels);
			if (!p)
				print_message("malformed labels: %s\n", line);
			assert_true(p && *p == ' ');
			s->value = strtod(p + 1, &end);
			assert_true(end != p + 1 && *end == '\0');
			for (int i = 0; i < pr->n; i++)
				assert_false(strcmp(pr->s[i].name, s->name) == 0 &&
					     strcmp(pr->s[i].labels, s->labels) == 0);
			pr->n++;
		}
	}
}

static double prom_get(const struct prom *pr, const char *name, const char *labels)
{
	for (int i = 0; i < pr->n; i++)
		if (strcmp(pr->s[i].name, name) == 0 && strcmp(pr->s[i].labels, labels) == 0)
			return pr->s[i].value;
	fail_msg("no sample %s{%s}", name, labels);
	return -1;
}

/* The labels of the one sample of name for port i. */
static const char *prom_labels(const struct prom *pr, const char *name, unsigned i)
{
	char want[16];

	snprintf(want, sizeof want, "port=%u,", i);
	for (int k = 0; k < pr->n; k++)
		if (strcmp(pr->s[k].name, name) == 0 && strncmp(pr->s[k].labels, want, strlen(want)) == 0)
			return pr->s[k].labels;
	fail_msg("no sample %s for port %u", name, i);
	return NULL;
}

static void check_prom_value(const struct prom *pr, const char *name, unsigned port,
			     const char *more, uint64_t want)
{
	char labels[128];

	snprintf(labels, sizeof labels, "port=%u%s", port, more);
	assert_int_equal((uint64_t)prom_get(pr, name, labels), want);
}

static void check_prom_port(const struct prom *pr, unsigned i, const struct expect *e,
			    const struct vnp_ctl_port *bin)
{
	static const char *const states[] = { "free", "created", "connected", "running", "failed" };
	const char *info = prom_labels(pr, "vnet_p2p_port_info", i);

	for (unsigned s = 0; s < 5; s++) {
		char more[32];

		snprintf(more, sizeof more, ",state=%s", states[s]);
		check_prom_value(pr, "vnet_p2p_port_state", i, more, strcmp(states[s], e->state) == 0);
	}
	check_prom_value(pr, "vnet_p2p_packets_total", i, ",direction=tx", e->tx_packets);
	check_prom_value(pr, "vnet_p2p_bytes_total", i, ",direction=tx", e->tx_bytes);
	check_prom_value(pr, "vnet_p2p_packets_total", i, ",direction=rx", e->rx_packets);
	check_prom_value(pr, "vnet_p2p_bytes_total", i, ",direction=rx", e->rx_bytes);
	check_prom_value(pr, "vnet_p2p_drops_total", i, ",direction=tx,reason=no_peer", e->no_peer);
	check_prom_value(pr, "vnet_p2p_drops_total", i, ",direction=tx,reason=too_big",
			 e->tx_too_big);
	check_prom_value(pr, "vnet_p2p_drops_total", i, ",direction=tx,reason=bad_chain", e->tx_bad);
	check_prom_value(pr, "vnet_p2p_drops_total", i, ",direction=rx,reason=too_big",
			 e->rx_too_big);
	check_prom_value(pr, "vnet_p2p_drops_total", i, ",direction=rx,reason=bad_chain", e->rx_bad);
	check_prom_value(pr, "vnet_p2p_kicks_total", i, "", bin->counter[VNP_CTR_KICKS]);
	check_prom_value(pr, "vnet_p2p_interrupts_total", i, "", bin->counter[VNP_CTR_INTERRUPTS]);
	check_prom_value(pr, "vnet_p2p_queue_size", i, ",queue=rx", 256);
	check_prom_value(pr, "vnet_p2p_queue_size", i, ",queue=tx", 256);
	check_prom_value(pr, "vnet_p2p_port_ds_max", i, "", bin->ds_max);
	assert_non_null(strstr(info, "VERSION_1"));
	assert_int_equal(strstr(info, "MRG_RXBUF") != NULL, e->mrg_rxbuf);
	info = strstr(info, "last_error=");
	assert_non_null(info);
	if (e->error)
		assert_non_null(strstr(info, e->error));
	else
		assert_string_equal(info, "last_error=");
}

/* ---- the table --------------------------------------------------------------- */

/* The block of port i: from its "port i:" line to the next port's. */
static void table_block(const char *table, unsigned i, char *out, size_t cap)
{
	char head[16];
	const char *start, *end;

	snprintf(head, sizeof head, "port %u: ", i);
	start = strstr(table, head);
	assert_non_null(start);
	assert_true(start == table || start[-1] == '\n');
	end = strstr(start + 1, "\nport ");
	end = end ? end + 1 : start + strlen(start);
	snprintf(out, cap, "%.*s", (int)(end - start), start);
}

static void check_table_port(const char *table, unsigned i, const struct expect *e)
{
	unsigned long long v[5];
	char block[2048], head[32];
	const char *line;

	table_block(table, i, block, sizeof block);
	snprintf(head, sizeof head, "port %u: %s\n", i, e->state);
	assert_true(strncmp(block, head, strlen(head)) == 0);
	line = strstr(block, "\n  tx (from client)");
	assert_non_null(line);
	assert_int_equal(sscanf(line, "\n  tx (from client) %llu %llu %llu %llu %llu", &v[0], &v[1],
				&v[2], &v[3], &v[4]),
			 5);
	assert_int_equal(v[0], e->tx_packets);
	assert_int_equal(v[1], e->tx_bytes);
	assert_int_equal(v[2], e->no_peer);
	assert_int_equal(v[3], e->tx_too_big);
	assert_int_equal(v[4], e->tx_bad);
	line = strstr(block, "\n  rx (to client)");
	assert_non_null(line);
	assert_int_equal(sscanf(line, "\n  rx (to client) %llu %llu - %llu %llu", &v[0], &v[1], &v[2],
				&v[3]),
			 4);
	assert_int_equal(v[0], e->rx_packets);
	assert_int_equal(v[1], e->rx_bytes);
	assert_int_equal(v[2], e->rx_too_big);
	assert_int_equal(v[3], e->rx_bad);
	assert_non_null(strstr(block, "\n  features "));
	if (e->error)
		assert_non_null(strstr(block, e->error));
}

/* ---- tests ------------------------------------------------------------------- */

/*
 * Known traffic each way and every drop reason, then the three outputs:
 *   port 0 alone sends 50 frames:                     port 0 tx no_peer 50
 *   port 1 joins without MRG_RXBUF, 2 KiB buffers;
 *   port 0 sends 40 x 1000 bytes and 5 x 3000:        0 tx 40/40000, too_big 5; 1 rx 40, too_big 5
 *   port 1 sends 30 x 500:                            1 tx 30/15000; 0 rx 30/15000
 *   port 0 sends a GSO header:                        0 tx bad_chain 1 (dropped, port goes on)
 *   port 0 sends a chain leaving the ring:            0 tx bad_chain 2, port 0 failed
 *   port 1 sends 20 while port 0 is failed:           1 tx no_peer 20
 *   port 0 resets; port 1 breaks its RX buffers;
 *   port 0 sends 1:                                   1 rx bad_chain 1, failed; 0 tx no_peer 51
 */
static void test_counters_by_reason(void **state)
{
	struct vnd_config cfg, small;
	struct server s;
	struct vnd *a, *b;
	struct vnd_raw_ring r;
	struct vnp_ctl_status st;
	const struct expect e0 = { "running", 40, 40000, 51, 5, 2, 30, 15000, 0, 0,
				   "next index out of range", true };
	const struct expect e1 = { "failed", 30, 15000, 20, 0, 0, 40, 40000, 5, 1,
				   "wrong direction", false };
	struct prom pr;
	json_object *root;
	char *out;

	(void)state;
	vnd_config_init(&cfg);
	vnd_config_init(&small);
	small.features &= ~F(VND_F_MRG_RXBUF);
	small.rx_chain_descs = 2; /* header + one 2048-byte buffer */
	server_start(&s, NULL);

	a = client_open(&s, NULL, &cfg);
	send_frames(a, 1, 50, 200);
	wait_port_counter(&s, 0, VNP_CTR_DROP_NO_PEER, 50);

	b = client_open(&s, NULL, &small);
	wait_port_state(&s, 1, 3 /* running */);
	for (unsigned i = 0; i < 45; i++) {
		static uint8_t buf[4096];
		bool big = i % 9 == 4;

		assert_int_equal(vnd_send(a, buf, frame_fill(buf, 2, i, big ? 3000 : 1000), NULL), 0);
	}
	recv_frames(b, 2, 40, 1000);
	wait_port_counter(&s, 0, VNP_CTR_DROP_TOO_BIG, 5);
	wait_port_counter(&s, 1, VNP_CTR_RX_DROP_TOO_BIG, 5);

	send_frames(b, 3, 30, 500);
	recv_frames(a, 3, 30, 500);

	send_gso_packet(a);
	wait_port_counter(&s, 0, VNP_CTR_DROP_BAD, 1);
	assert_int_equal(port_status(&s, 0).state, 3 /* running */);

	send_bad_chain(a);
	wait_port_state(&s, 0, 4 /* failed */);
	wait_port_counter(&s, 0, VNP_CTR_DROP_BAD, 2);
	assert_non_null(strstr(port_status(&s, 0).last_error, "next index out of range"));

	send_frames(b, 4, 20, 100);
	wait_port_counter(&s, 1, VNP_CTR_DROP_NO_PEER, 20);

	assert_int_equal(vnd_stop(a), 0);
	assert_int_equal(vnd_restart(a), 0);
	wait_port_state(&s, 0, 3 /* running */);
	vnd_raw_ring(b, RX, &r);
	for (unsigned i = 0; i < r.num; i++)
		r.desc[i].flags &= (uint16_t)~VRING_DESC_F_WRITE;
	send_frames(a, 5, 1, 100);
	wait_port_state(&s, 1, 4 /* failed */);
	wait_port_counter(&s, 1, VNP_CTR_RX_DROP_BAD, 1);
	wait_port_counter(&s, 0, VNP_CTR_DROP_NO_PEER, 51);

	/* Quiet now: the counters stand still while the outputs are read. */
	server_status(&s, &st);

	root = json_parse_all(ctl_output(&s, "--json"));
	check_json_port(root, 0, &e0, &st.port[0]);
	check_json_port(root, 1, &e1, &st.port[1]);
	assert_int_equal(jnum(root, "captures"), 0);
	json_object_put(root);

	prom_parse(ctl_output(&s, "--prometheus"), &pr);
	check_prom_port(&pr, 0, &e0, &st.port[0]);
	check_prom_port(&pr, 1, &e1, &st.port[1]);
	assert_int_equal((uint64_t)prom_get(&pr, "vnet_p2p_captures", ""), 0);

	out = ctl_output(&s, NULL);
	check_table_port(out, 0, &e0);
	check_table_port(out, 1, &e1);

	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* Text from clients and creators is escaped: a listen path with a quote,
 * a backslash, a newline and a byte that is not UTF-8. */
static void test_output_escaping(void **state)
{
	struct server s;
	char path[160], arg[200], msg[256], want[200];
	const char *args[] = { arg, NULL };
	struct prom pr;
	json_object *root, *p;
	const char *info;
	int fd = -1;

	(void)state;
	server_start(&s, NULL);
	snprintf(path, sizeof path, "%s/q\"b\\s\nx\xff.sock", s.dir);
	snprintf(arg, sizeof arg, "listen=%s", path);
	assert_int_equal(server_create(&s, args, &fd, msg, sizeof msg), 0);
	/* What every output shows: the path, its stray byte as U+FFFD. */
	snprintf(want, sizeof want, "%s/q\"b\\s\nx\xef\xbf\xbd.sock", s.dir);

	root = json_parse_all(ctl_output(&s, "--json"));
	p = json_object_array_get_idx(jget(root, "ports"), 0);
	assert_string_equal(json_object_get_string(jget(p, "listen")), want);
	assert_string_equal(json_object_get_string(jget(p, "state")), "created");
	json_object_put(root);

	prom_parse(ctl_output(&s, "--prometheus"), &pr);
	info = prom_labels(&pr, "vnet_p2p_port_info", 0);
	assert_non_null(strstr(info, want));

	unlink(path);
	server_stop(&s);
}

/* Counters live as long as the port: a listen= port keeps them across its
 * clients' reconnects; a released port starts again from zero. */
static void test_counters_life(void **state)
{
	struct vnd_config cfg;
	struct server s;
	struct vnd *a, *b;
	char path[128], arg[160], msg[256];
	const char *args[] = { arg, NULL };
	int fd = -1;

	(void)state;
	vnd_config_init(&cfg);
	server_start(&s, NULL);
	snprintf(path, sizeof path, "%s/p0.sock", s.dir);
	snprintf(arg, sizeof arg, "listen=%s", path);
	assert_int_equal(server_create(&s, args, &fd, msg, sizeof msg), 0);
	assert_int_equal(vnd_open_path(&a, path, &cfg), 0);
	b = client_open(&s, NULL, &cfg);
	send_frames(a, 1, 10, 100);
	recv_frames(b, 1, 10, 100);
	send_frames(b, 2, 7, 300);
	recv_frames(a, 2, 7, 300);

	vnd_close(a);
	assert_true(server_log_contains(&s, "port0: client disconnected", 2000));
	assert_int_equal(vnd_open_path(&a, path, &cfg), 0);
	wait_port_state(&s, 0, 3 /* running */);
	wait_port_counter(&s, 0, VNP_CTR_TX_PACKETS, 10);
	send_frames(a, 3, 5, 100);
	recv_frames(b, 3, 5, 100);
	wait_port_counter(&s, 0, VNP_CTR_TX_PACKETS, 15);
	wait_port_counter(&s, 0, VNP_CTR_TX_BYTES, 1500);
	wait_port_counter(&s, 0, VNP_CTR_RX_PACKETS, 7);
	wait_port_counter(&s, 1, VNP_CTR_RX_PACKETS, 15);

	/* Port 1 was a descriptor: closing it releases it. */
	vnd_close(b);
	assert_true(server_log_contains(&s, "port1: released", 2000));
	assert_int_equal(port_status(&s, 1).counter[VNP_CTR_RX_PACKETS], 0);
	b = client_open(&s, NULL, &cfg);
	assert_int_equal(port_status(&s, 1).counter[VNP_CTR_RX_PACKETS], 0);
	assert_int_equal(port_status(&s, 1).counter[VNP_CTR_TX_PACKETS], 0);
	send_frames(a, 4, 3, 100);
	recv_frames(b, 4, 3, 100);
	wait_port_counter(&s, 1, VNP_CTR_RX_PACKETS, 3);
	wait_port_counter(&s, 0, VNP_CTR_TX_PACKETS, 18);

	vnd_close(a);
	vnd_close(b);
	server_stop(&s);
}

/* The tool refuses what status does not take. */
static void test_status_arguments(void **state)
{
	struct server s;
	char out[1024], err[1024];

	(void)state;
	server_start(&s, NULL);
	{
		const char *argv[] = { ctl_binary(), "--svr", s.svr, "status", "--json",
				       "--prometheus", NULL };

		assert_int_equal(run_output(argv, out, sizeof out, err, sizeof err), 1);
		assert_non_null(strstr(err, "exclude each other"));
	}
	{
		const char *argv[] = { ctl_binary(), "--svr", s.svr, "status", "--xml", NULL };

		assert_int_equal(run_output(argv, out, sizeof out, err, sizeof err), 1);
		assert_non_null(strstr(err, "'--xml'"));
		assert_string_equal(out, "");
	}
	server_stop(&s);
}

/* A TAP end shows its interface (in a network namespace of our own, so
 * nothing outside is touched; skipped without root and /dev/net/tun). */
static void test_tap_port_shown(void **state)
{
	const char *args[] = { "tap=vnps0", NULL };
	char msg[256], block[2048];
	struct server s;
	struct prom pr;
	json_object *root, *p;
	int fd = -1;

	(void)state;
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0 || unshare(CLONE_NEWNET) != 0)
		skip();
	server_start(&s, NULL);
	assert_int_equal(server_create(&s, args, &fd, msg, sizeof msg), 0);
	root = json_parse_all(ctl_output(&s, "--json"));
	p = json_object_array_get_idx(jget(root, "ports"), 0);
	assert_string_equal(json_object_get_string(jget(p, "tap")), "vnps0");
	assert_true(json_object_is_type(jget(p, "listen"), json_type_null));
	json_object_put(root);
	prom_parse(ctl_output(&s, "--prometheus"), &pr);
	assert_non_null(strstr(prom_labels(&pr, "vnet_p2p_port_info", 0), ",tap=vnps0,"));
	table_block(ctl_output(&s, NULL), 0, block, sizeof block);
	assert_non_null(strstr(block, "\n  tap vnps0\n"));
	server_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_by_reason),
		cmocka_unit_test(test_output_escaping),
		cmocka_unit_test(test_counters_life),
		cmocka_unit_test(test_status_arguments),
		cmocka_unit_test(test_tap_port_shown), /* last: it leaves the network namespace */
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
