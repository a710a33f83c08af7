/* SPDX-License-Identifier: MIT */
/*
 * The three forms of `status`. Each direction is seen from the port's
 * client: tx is what it sent, rx what it was given. A lost packet is a drop
 * of its sender's tx (no_peer, too_big, bad_chain, ring_off: sent on a TX
 * ring the client had turned off, which is discarded); too_big is also a drop
 * of the receiver's rx, whose buffers were too small; rx bad_chain counts
 * RX chains of this client that broke the rules. No rx packet is dropped
 * for want of a peer, so rx has no no_peer.
 */
#include "status_out.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "link/link.h"
#include "net/virtio_net.h"
#include "util/parse_num.h"

#define NPORTS 2

/* ---- shared -------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s, or 0. */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* No overlong forms, surrogates or values beyond Unicode. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Text from the server, quoted for JSON (JSON) or a Prometheus label
 * value: escapes as each format wants, and bytes that are not UTF-8 become
 * U+FFFD, so the output stays valid whatever the text holds. */
static void put_quoted(FILE *out, const char *text, bool json)
{
	const unsigned char *s = (const unsigned char *)text;

	fputc('"', out);
	while (*s) {
		size_t n = utf8_seq(s);

		if (n == 0) {
			fputs("\xef\xbf\xbd", out);
			s++;
			continue;
		}
		if (*s == '"' || *s == '\\') {
			fputc('\\', out);
			fputc(*s, out);
		} else if (*s == '\n') {
			fputs("\\n", out);
		} else if (json && *s < 0x20) {
			fprintf(out, "\\u%04x", *s);
		} else {
			fwrite(s, 1, n, out);
		}
		s += n;
	}
	fputc('"', out);
}

static const char *state_name(uint32_t state)
{
	return port_state_name((enum port_state)state);
}

/* ---- table --------------------------------------------------------------- */

static void print_table_port(FILE *out, unsigned i, const struct vnp_ctl_port *p)
{
	const uint64_t *c = p->counter;
	char mac[18] = "-", features[512], mem_max[24];

	fprintf(out, "port %u: %s\n", i, state_name(p->state));
	if (p->state == PORT_FREE)
		return;
	if (p->has_mac)
		format_mac(p->mac, mac);
	fprintf(out, "  mac %s, ds-max %u, mem-max %s, queues rx %u tx %u\n", mac, p->ds_max,
		format_size(p->mem_max, mem_max, sizeof mem_max), p->queue_size[VNET_RX_QUEUE],
		p->queue_size[VNET_TX_QUEUE]);
	if (p->listen_path[0])
		fprintf(out, "  listen %s\n", p->listen_path);
	if (p->tap_name[0])
		fprintf(out, "  tap %s\n", p->tap_name);
	fprintf(out, "  features %s\n",
		p->features ? vnet_features_str(p->features, features, sizeof features) : "-");
	fprintf(out, "  notifications: %llu kicks received, %llu interrupts sent\n",
		(unsigned long long)c[VNP_CTR_KICKS], (unsigned long long)c[VNP_CTR_INTERRUPTS]);
	fprintf(out, "  %-18s %14s %18s %10s %10s %10s %10s\n", "", "packets", "bytes", "no-peer",
		"too-big", "bad-chain", "ring-off");
	fprintf(out, "  %-18s %14llu %18llu %10llu %10llu %10llu %10llu\n", "tx (from client)",
		(unsigned long long)c[VNP_CTR_TX_PACKETS], (unsigned long long)c[VNP_CTR_TX_BYTES],
		(unsigned long long)c[VNP_CTR_DROP_NO_PEER],
		(unsigned long long)c[VNP_CTR_DROP_TOO_BIG], (unsigned long long)c[VNP_CTR_DROP_BAD],
		(unsigned long long)c[VNP_CTR_DROP_RING_OFF]);
	fprintf(out, "  %-18s %14llu %18llu %10s %10llu %10llu %10s\n", "rx (to client)",
		(unsigned long long)c[VNP_CTR_RX_PACKETS], (unsigned long long)c[VNP_CTR_RX_BYTES],
		"-", (unsigned long long)c[VNP_CTR_RX_DROP_TOO_BIG],
		(unsigned long long)c[VNP_CTR_RX_DROP_BAD], "-");
	fprintf(out,
		"  gso: %llu frames sent (%llu cut into %llu segments), %llu received whole\n",
		(unsigned long long)c[VNP_CTR_TX_GSO], (unsigned long long)c[VNP_CTR_TX_GSO_SEGMENTED],
		(unsigned long long)c[VNP_CTR_TX_GSO_SEGMENTS], (unsigned long long)c[VNP_CTR_RX_GSO]);
	if (p->queues > 1) {
		fprintf(out, "  queue pairs: %u, %u running\n", p->queues, p->queues_active);
		fprintf(out, "  %-18s %14s %14s %14s\n", "", "tx packets", "rx packets", "tx drops");
		for (unsigned q = 0; q < p->queues && q < VNP_CTL_QUEUES_MAX; q++)
			fprintf(out, "  pair %-13u %14llu %14llu %14llu\n", q,
				(unsigned long long)p->queue[q].tx_packets,
				(unsigned long long)p->queue[q].rx_packets,
				(unsigned long long)p->queue[q].drops);
	}
	if (p->last_error[0])
		fprintf(out, "  last error: %s\n", p->last_error);
}

static void print_table(FILE *out, const struct vnp_ctl_status *st)
{
	for (unsigned i = 0; i < NPORTS; i++)
		print_table_port(out, i, &st->port[i]);
	if (st->captures)
		fprintf(out, "capture: %u attached\n", st->captures);
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_string_or_null(FILE *out, const char *s)
{
	if (s && s[0])
		put_quoted(out, s, true);
	else
		fputs("null", out);
}

static void json_features(FILE *out, uint64_t features)
{
	bool first = true;

	fputc('[', out);
	for (unsigned bit = 0; bit < 64; bit++) {
		const char *name;
		char unknown[16];

		if (!(features & BIT64(bit)))
			continue;
		name = vnet_feature_name(bit);
		if (!name) {
			snprintf(unknown, sizeof unknown, "bit%u", bit);
			name = unknown;
		}
		fprintf(out, "%s\"%s\"", first ? "" : ", ", name);
		first = false;
	}
	fputc(']', out);
}

static void print_json_port(FILE *out, unsigned i, const struct vnp_ctl_port *p)
{
	const uint64_t *c = p->counter;
	char mac[18] = "";

	if (p->has_mac)
		format_mac(p->mac, mac);
	fprintf(out, "    {\n      \"port\": %u,\n      \"state\": \"%s\",\n      \"mac\": ", i,
		state_name(p->state));
	json_string_or_null(out, mac);
	fprintf(out, ",\n      \"ds_max\": %u,\n      \"mem_max\": %llu,\n      \"listen\": ",
		p->ds_max, (unsigned long long)p->mem_max);
	json_string_or_null(out, p->listen_path);
	fputs(",\n      \"tap\": ", out);
	json_string_or_null(out, p->tap_name);
	fputs(",\n      \"features\": ", out);
	json_features(out, p->features);
	fprintf(out, ",\n      \"queue_size\": {\"rx\": %u, \"tx\": %u}",
		p->queue_size[VNET_RX_QUEUE], p->queue_size[VNET_TX_QUEUE]);
	fprintf(out, ",\n      \"queues\": %u,\n      \"queues_active\": %u,\n      \"queue\": [",
		p->queues, p->queues_active);
	for (unsigned q = 0; q < p->queues && q < VNP_CTL_QUEUES_MAX; q++)
		fprintf(out, "%s{\"pair\": %u, \"tx_packets\": %llu, \"rx_packets\": %llu, "
			     "\"tx_drops\": %llu}",
			q ? ", " : "", q, (unsigned long long)p->queue[q].tx_packets,
			(unsigned long long)p->queue[q].rx_packets,
			(unsigned long long)p->queue[q].drops);
	fputs("]", out);
	fprintf(out,
		",\n      \"tx\": {\"packets\": %llu, \"bytes\": %llu, "
		"\"drops\": {\"no_peer\": %llu, \"too_big\": %llu, \"bad_chain\": %llu, "
		"\"ring_off\": %llu}, \"gso\": %llu, \"gso_segmented\": %llu, \"gso_segments\": %llu}",
		(unsigned long long)c[VNP_CTR_TX_PACKETS], (unsigned long long)c[VNP_CTR_TX_BYTES],
		(unsigned long long)c[VNP_CTR_DROP_NO_PEER],
		(unsigned long long)c[VNP_CTR_DROP_TOO_BIG], (unsigned long long)c[VNP_CTR_DROP_BAD],
		(unsigned long long)c[VNP_CTR_DROP_RING_OFF],
		(unsigned long long)c[VNP_CTR_TX_GSO], (unsigned long long)c[VNP_CTR_TX_GSO_SEGMENTED],
		(unsigned long long)c[VNP_CTR_TX_GSO_SEGMENTS]);
	fprintf(out,
		",\n      \"rx\": {\"packets\": %llu, \"bytes\": %llu, "
		"\"drops\": {\"too_big\": %llu, \"bad_chain\": %llu}, \"gso\": %llu}",
		(unsigned long long)c[VNP_CTR_RX_PACKETS], (unsigned long long)c[VNP_CTR_RX_BYTES],
		(unsigned long long)c[VNP_CTR_RX_DROP_TOO_BIG],
		(unsigned long long)c[VNP_CTR_RX_DROP_BAD], (unsigned long long)c[VNP_CTR_RX_GSO]);
	fprintf(out, ",\n      \"kicks\": %llu,\n      \"interrupts\": %llu,\n      \"last_error\": ",
		(unsigned long long)c[VNP_CTR_KICKS], (unsigned long long)c[VNP_CTR_INTERRUPTS]);
	json_string_or_null(out, p->last_error);
	fputs("\n    }", out);
}

static void print_json(FILE *out, const struct vnp_ctl_status *st)
{
	fputs("{\n  \"ports\": [\n", out);
	for (unsigned i = 0; i < NPORTS; i++) {
		print_json_port(out, i, &st->port[i]);
		fputs(i + 1 < NPORTS ? ",\n" : "\n", out);
	}
	fprintf(out, "  ],\n  \"captures\": %u\n}\n", st->captures);
}

/* ---- Prometheus ---------------------------------------------------------- */

#define PROM "vnet_p2p_"

static void prom_family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP " PROM "%s %s\n# TYPE " PROM "%s %s\n", name, help, name, type);
}

static void prom_u64(FILE *out, const char *name, unsigned port, const char *labels, uint64_t v)
{
	fprintf(out, PROM "%s{port=\"%u\"%s} %llu\n", name, port, labels, (unsigned long long)v);
}

static void print_prometheus(FILE *out, const struct vnp_ctl_status *st)
{
	static const char *const reason[] = { "no_peer", "too_big", "bad_chain", "ring_off" };
	static const int tx_drop[] = { VNP_CTR_DROP_NO_PEER, VNP_CTR_DROP_TOO_BIG, VNP_CTR_DROP_BAD,
				       VNP_CTR_DROP_RING_OFF };

	prom_family(out, "port_state", "gauge", "1 for the state the port is in, 0 for the others.");
	for (unsigned i = 0; i < NPORTS; i++)
		for (unsigned s = PORT_FREE; s <= PORT_FAILED; s++)
			fprintf(out, PROM "port_state{port=\"%u\",state=\"%s\"} %d\n", i,
				state_name(s), st->port[i].state == s);

	prom_family(out, "port_info", "gauge",
		    "Always 1; the labels say how the port was created and what it negotiated.");
	for (unsigned i = 0; i < NPORTS; i++) {
		const struct vnp_ctl_port *p = &st->port[i];
		char mac[18] = "", features[512];

		if (p->has_mac)
			format_mac(p->mac, mac);
		vnet_features_str(p->features, features, sizeof features);
		for (char *f = features; *f; f++)
			if (*f == ' ')
				*f = ',';
		fprintf(out, PROM "port_info{port=\"%u\",mac=\"%s\",listen=", i, mac);
		put_quoted(out, p->listen_path, false);
		fputs(",tap=", out);
		put_quoted(out, p->tap_name, false);
		fprintf(out, ",features=\"%s\",last_error=", features);
		put_quoted(out, p->last_error, false);
		fputs("} 1\n", out);
	}

	prom_family(out, "port_ds_max", "gauge", "Memory regions the port's client may register.");
	for (unsigned i = 0; i < NPORTS; i++)
		prom_u64(out, "port_ds_max", i, "", st->port[i].ds_max);

	prom_family(out, "port_mem_max_bytes", "gauge",
		    "Client memory the port maps at most (mem-max).");
	for (unsigned i = 0; i < NPORTS; i++)
		prom_u64(out, "port_mem_max_bytes", i, "", st->port[i].mem_max);

	prom_family(out, "queue_size", "gauge", "Size of the port's virtqueues; 0 until set.");
	for (unsigned i = 0; i < NPORTS; i++) {
		prom_u64(out, "queue_size", i, ",queue=\"rx\"", st->port[i].queue_size[VNET_RX_QUEUE]);
		prom_u64(out, "queue_size", i, ",queue=\"tx\"", st->port[i].queue_size[VNET_TX_QUEUE]);
	}

	prom_family(out, "queue_pairs", "gauge",
		    "Queue pairs the port offers (queues=), by whether both rings run.");
	for (unsigned i = 0; i < NPORTS; i++) {
		prom_u64(out, "queue_pairs", i, ",running=\"no\"",
			 st->port[i].queues - st->port[i].queues_active);
		prom_u64(out, "queue_pairs", i, ",running=\"yes\"", st->port[i].queues_active);
	}

	prom_family(out, "queue_packets_total", "counter",
		    "Packets by queue pair: tx delivered from its TX ring, rx into its RX ring, "
		    "drop sent from its TX ring and not delivered.");
	for (unsigned i = 0; i < NPORTS; i++) {
		for (unsigned q = 0; q < st->port[i].queues && q < VNP_CTL_QUEUES_MAX; q++) {
			char label[48];
			const struct vnp_ctl_queue *e = &st->port[i].queue[q];

			snprintf(label, sizeof label, ",pair=\"%u\",direction=\"tx\"", q);
			prom_u64(out, "queue_packets_total", i, label, e->tx_packets);
			snprintf(label, sizeof label, ",pair=\"%u\",direction=\"rx\"", q);
			prom_u64(out, "queue_packets_total", i, label, e->rx_packets);
			snprintf(label, sizeof label, ",pair=\"%u\",direction=\"drop\"", q);
			prom_u64(out, "queue_packets_total", i, label, e->drops);
		}
	}

	prom_family(out, "packets_total", "counter",
		    "Packets delivered: tx sent by the port's client, rx given to it.");
	for (unsigned i = 0; i < NPORTS; i++) {
		prom_u64(out, "packets_total", i, ",direction=\"tx\"",
			 st->port[i].counter[VNP_CTR_TX_PACKETS]);
		prom_u64(out, "packets_total", i, ",direction=\"rx\"",
			 st->port[i].counter[VNP_CTR_RX_PACKETS]);
	}

	prom_family(out, "bytes_total", "counter",
		    "Frame bytes delivered (virtio-net headers not included).");
	for (unsigned i = 0; i < NPORTS; i++) {
		prom_u64(out, "bytes_total", i, ",direction=\"tx\"",
			 st->port[i].counter[VNP_CTR_TX_BYTES]);
		prom_u64(out, "bytes_total", i, ",direction=\"rx\"",
			 st->port[i].counter[VNP_CTR_RX_BYTES]);
	}

	prom_family(out, "drops_total", "counter",
		    "Packets not delivered, by reason: a drop of the sender's tx; too_big also "
		    "of the receiver's rx; bad_chain in the direction of the client's bad ring; "
		    "ring_off sent on a TX ring the client had turned off.");
	for (unsigned i = 0; i < NPORTS; i++) {
		const uint64_t *c = st->port[i].counter;
		char labels[64];

		_Static_assert(sizeof reason / sizeof reason[0] == sizeof tx_drop / sizeof tx_drop[0],
			       "a name for each reason");
		for (unsigned r = 0; r < sizeof tx_drop / sizeof tx_drop[0]; r++) {
			snprintf(labels, sizeof labels, ",direction=\"tx\",reason=\"%s\"", reason[r]);
			prom_u64(out, "drops_total", i, labels, c[tx_drop[r]]);
		}
		prom_u64(out, "drops_total", i, ",direction=\"rx\",reason=\"too_big\"",
			 c[VNP_CTR_RX_DROP_TOO_BIG]);
		prom_u64(out, "drops_total", i, ",direction=\"rx\",reason=\"bad_chain\"",
			 c[VNP_CTR_RX_DROP_BAD]);
	}

	prom_family(out, "gso_frames_total", "counter",
		    "GSO frames: tx sent by the port's client and delivered (whole or in "
		    "segments), rx given to it whole.");
	for (unsigned i = 0; i < NPORTS; i++) {
		prom_u64(out, "gso_frames_total", i, ",direction=\"tx\"",
			 st->port[i].counter[VNP_CTR_TX_GSO]);
		prom_u64(out, "gso_frames_total", i, ",direction=\"rx\"",
			 st->port[i].counter[VNP_CTR_RX_GSO]);
	}

	prom_family(out, "gso_segmented_total", "counter",
		    "GSO frames of the port's client cut into segments for a peer that cannot "
		    "take them whole.");
	for (unsigned i = 0; i < NPORTS; i++)
		prom_u64(out, "gso_segmented_total", i, "", st->port[i].counter[VNP_CTR_TX_GSO_SEGMENTED]);

	prom_family(out, "gso_segments_total", "counter",
		    "Segments (or IP fragments) the port's client's GSO frames were cut into.");
	for (unsigned i = 0; i < NPORTS; i++)
		prom_u64(out, "gso_segments_total", i, "", st->port[i].counter[VNP_CTR_TX_GSO_SEGMENTS]);

	prom_family(out, "kicks_total", "counter", "Notifications received from the port's client.");
	for (unsigned i = 0; i < NPORTS; i++)
		prom_u64(out, "kicks_total", i, "", st->port[i].counter[VNP_CTR_KICKS]);

	prom_family(out, "interrupts_total", "counter", "Notifications sent to the port's client.");
	for (unsigned i = 0; i < NPORTS; i++)
		prom_u64(out, "interrupts_total", i, "", st->port[i].counter[VNP_CTR_INTERRUPTS]);

	prom_family(out, "captures", "gauge", "Live captures attached.");
	fprintf(out, PROM "captures %u\n", st->captures);
}

void status_print(FILE *out, const struct vnp_ctl_status *st, enum status_format format)
{
	switch (format) {
	case STATUS_TABLE:
		print_table(out, st);
		break;
	case STATUS_JSON:
		print_json(out, st);
		break;
	case STATUS_PROMETHEUS:
		print_prometheus(out, st);
		break;
	}
}
