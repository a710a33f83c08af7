/* SPDX-License-Identifier: MIT */
/* The arithmetic of `status --watch` (tools/rates.c): rates from two
 * snapshots, ports created again in between, and the units of bits/s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "link/link.h"
#include "rates.h"

static struct vnp_ctl_port port(uint32_t state, uint64_t tx_packets, uint64_t tx_bytes,
				uint64_t rx_packets, uint64_t no_peer)
{
	struct vnp_ctl_port p;

	memset(&p, 0, sizeof p);
	p.state = state;
	p.counter[VNP_CTR_TX_PACKETS] = tx_packets;
	p.counter[VNP_CTR_TX_BYTES] = tx_bytes;
	p.counter[VNP_CTR_RX_PACKETS] = rx_packets;
	p.counter[VNP_CTR_DROP_NO_PEER] = no_peer;
	return p;
}

static void test_rates_over_real_time(void **state)
{
	struct vnp_ctl_port a = port(PORT_RUNNING, 1000, 1500000, 10, 0);
	struct vnp_ctl_port b = port(PORT_RUNNING, 3000, 4500000, 10, 7);
	struct port_rates r;

	(void)state;
	b.counter[VNP_CTR_DROP_TOO_BIG] = 2;
	b.counter[VNP_CTR_RX_DROP_BAD] = 1;
	port_rates(&a, &b, 0.5, &r);
	assert_false(r.restarted);
	assert_true(r.tx.packets == 4000.0);
	assert_true(r.tx.bits == 48000000.0);
	assert_true(r.tx.no_peer == 14.0);
	assert_true(r.tx.too_big == 4.0);
	assert_true(r.tx.drops == 18.0);
	assert_true(r.rx.packets == 0.0);
	assert_true(r.rx.bad_chain == 2.0);
	assert_true(r.rx.drops == 2.0);
	assert_true(r.rx.no_peer == 0.0);
}

/* Released and created again: the counters restart from zero. Whichever
 * way that shows (free in the first snapshot, or counters lower than
 * before), the rate counts from zero and is never negative or absurd. */
static void test_restart_counts_from_zero(void **state)
{
	struct vnp_ctl_port old = port(PORT_RUNNING, 5000, 5000000, 5000, 3);
	struct vnp_ctl_port free_port = port(PORT_FREE, 0, 0, 0, 0);
	struct vnp_ctl_port fresh = port(PORT_RUNNING, 200, 20000, 100, 0);
	struct port_rates r;

	(void)state;
	port_rates(&old, &fresh, 1.0, &r);
	assert_true(r.restarted);
	assert_true(r.tx.packets == 200.0);
	assert_true(r.tx.bits == 160000.0);
	assert_true(r.rx.packets == 100.0);
	assert_true(r.tx.no_peer == 0.0);

	/* Only one counter lower is enough to tell. */
	fresh.counter[VNP_CTR_TX_PACKETS] = 6000;
	fresh.counter[VNP_CTR_TX_BYTES] = 6000000;
	port_rates(&old, &fresh, 1.0, &r);
	assert_true(r.restarted);
	assert_true(r.tx.packets == 6000.0);

	port_rates(&free_port, &fresh, 2.0, &r);
	assert_true(r.restarted);
	assert_true(r.tx.packets == 3000.0);

	port_rates(&old, &free_port, 1.0, &r);
	assert_true(r.tx.packets == 0.0 && r.rx.packets == 0.0 && r.tx.drops == 0.0);
}

static void test_no_time_no_rate(void **state)
{
	struct vnp_ctl_port a = port(PORT_RUNNING, 1, 1, 1, 0), b = port(PORT_RUNNING, 9, 9, 9, 0);
	struct port_rates r;

	(void)state;
	port_rates(&a, &b, 0.0, &r);
	assert_true(r.tx.packets == 0.0 && r.tx.bits == 0.0);
}

static void test_units(void **state)
{
	char buf[32];

	(void)state;
	assert_string_equal(format_bits(0, buf, sizeof buf), "0.00 bit/s");
	assert_string_equal(format_bits(999, buf, sizeof buf), "999.00 bit/s");
	assert_string_equal(format_bits(999.996, buf, sizeof buf), "1.00 kbit/s");
	assert_string_equal(format_bits(1500, buf, sizeof buf), "1.50 kbit/s");
	assert_string_equal(format_bits(973240000, buf, sizeof buf), "973.24 Mbit/s");
	assert_string_equal(format_bits(9.75e9, buf, sizeof buf), "9.75 Gbit/s");
	assert_string_equal(format_bits(2.5e12, buf, sizeof buf), "2.50 Tbit/s");
	assert_string_equal(format_bits(3e15, buf, sizeof buf), "3000.00 Tbit/s");
}

static void test_totals(void **state)
{
	struct dir_rates sum = { 0 }, a = { 1, 8, 3, 1, 1, 1 }, b = { 2, 16, 1, 0, 1, 0 };

	(void)state;
	dir_rates_add(&sum, &a);
	dir_rates_add(&sum, &b);
	assert_true(sum.packets == 3 && sum.bits == 24 && sum.drops == 4);
	assert_true(sum.no_peer == 1 && sum.too_big == 2 && sum.bad_chain == 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rates_over_real_time),
		cmocka_unit_test(test_restart_counts_from_zero),
		cmocka_unit_test(test_no_time_no_rate),
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_totals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
