/* SPDX-License-Identifier: MIT */
/*
 * The server's command line (server/options.c): defaults, the original's
 * -s range (a power of 2 in 1..32768), -p, repeatable -d, --svr, --port
 * (the create request's keys, at most two), and the messages for unknown
 * options, missing arguments and stray arguments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "link/port_config.h"
#include "server/options.h"

static struct server_options o;
static char err[256];

/* Parse "vnet-p2p" followed by the NULL-terminated arguments. */
static enum options_result opts(const char *first, ...)
{
	static char *argv[64];
	int argc = 1;
	va_list ap;

	argv[0] = "vnet-p2p";
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		assert_true(argc < 63);
		argv[argc++] = (char *)a;
	}
	va_end(ap);
	argv[argc] = NULL;
	memset(err, 0, sizeof err);
	return options_parse(argc, argv, &o, err, sizeof err);
}

static void expect_error(const char *needle, const char *needle2)
{
	if (!strstr(err, needle))
		fail_msg("message '%s' lacks '%s'", err, needle);
	if (needle2 && !strstr(err, needle2))
		fail_msg("message '%s' lacks '%s'", err, needle2);
}

/* No arguments: queue size 256, event-driven, nothing registered. */
static void test_defaults(void **state)
{
	(void)state;
	memset(&o, 0xaa, sizeof o);
	assert_int_equal(opts(NULL), OPTIONS_OK);
	assert_int_equal(o.queue_size, OPT_QUEUE_SIZE_DEFAULT);
	assert_int_equal(o.queue_size, 256);
	assert_int_equal(o.poll_usec, 0);
	assert_null(o.svr_path);
	assert_int_equal(o.register_ds_count, 0);
	assert_int_equal(o.port_count, 0);
	assert_int_equal(o.verbosity, 0);
	assert_false(o.help);
	assert_false(o.version);
}

/* Every power of 2 from 1 to 32768 is a valid -s, in every spelling. */
static void test_size_accepted(void **state)
{
	char v[16], joined[24];

	(void)state;
	for (unsigned s = 1; s <= 32768; s *= 2) {
		snprintf(v, sizeof v, "%u", s);
		assert_int_equal(opts("-s", v, NULL), OPTIONS_OK);
		assert_int_equal(o.queue_size, s);
		snprintf(joined, sizeof joined, "--size=%u", s);
		assert_int_equal(opts(joined, NULL), OPTIONS_OK);
		assert_int_equal(o.queue_size, s);
	}
	assert_int_equal(opts("--size", "64", NULL), OPTIONS_OK);
	assert_int_equal(o.queue_size, 64);
	assert_int_equal(opts("-s128", NULL), OPTIONS_OK);
	assert_int_equal(o.queue_size, 128);
	/* The last one wins. */
	assert_int_equal(opts("-s", "2", "-s", "4", NULL), OPTIONS_OK);
	assert_int_equal(o.queue_size, 4);
}

/* Anything else is refused, naming -s/--size, the value and the range. */
static void test_size_refused(void **state)
{
	static const char *const bad[] = {
		"0", "3", "65536", "abc", "-1", "", "1e3", " 256", "256 ", "+256",
		"32767", "49152", "0x100", "99999999999999999999", "4294967552", /* 2^32 + 256 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char quoted[64];

		if (opts("-s", bad[i], NULL) != OPTIONS_ERROR)
			fail_msg("-s '%s' accepted", bad[i]);
		snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
		expect_error("-s/--size", "power of 2 in the range of 1 to 32768");
		expect_error(quoted, NULL);
	}
	assert_int_equal(opts("--size=0", NULL), OPTIONS_ERROR);
	expect_error("-s/--size", "1 to 32768");
	assert_int_equal(opts("--size=", NULL), OPTIONS_ERROR);
	expect_error("-s/--size", NULL);
}

/* -p takes a positive number of microseconds. */
static void test_poll(void **state)
{
	static const char *const bad[] = { "0", "-5", "abc", "", "1000000001", "5us", " 5" };

	(void)state;
	assert_int_equal(opts("-p", "1", NULL), OPTIONS_OK);
	assert_int_equal(o.poll_usec, 1);
	assert_int_equal(opts("--poll=250", NULL), OPTIONS_OK);
	assert_int_equal(o.poll_usec, 250);
	assert_int_equal(opts("--poll", "1000000000", NULL), OPTIONS_OK);
	assert_int_equal(o.poll_usec, 1000000000u);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (opts("-p", bad[i], NULL) != OPTIONS_ERROR)
			fail_msg("-p '%s' accepted", bad[i]);
		expect_error("-p/--poll", "positive integer");
	}
	assert_int_equal(opts("--poll=0", NULL), OPTIONS_ERROR);
	expect_error("-p/--poll", NULL);
}

/* -d and --register-ds add up, in order, to at most 32. */
static void test_register_ds(void **state)
{
	char *argv[80];
	char names[40][8];
	int argc = 1;

	(void)state;
	assert_int_equal(opts("-d", "/dev/shm/a", "--register-ds", "b", "-d", "fd:3",
			      "--register-ds=fd:4", NULL),
			 OPTIONS_OK);
	assert_int_equal(o.register_ds_count, 4);
	assert_string_equal(o.register_ds[0], "/dev/shm/a");
	assert_string_equal(o.register_ds[1], "b");
	assert_string_equal(o.register_ds[2], "fd:3");
	assert_string_equal(o.register_ds[3], "fd:4");

	argv[0] = "vnet-p2p";
	for (int i = 0; i < OPT_REGISTER_DS_MAX + 1; i++) {
		snprintf(names[i], sizeof names[i], "f%d", i);
		argv[argc++] = "-d";
		argv[argc++] = names[i];
	}
	/* 32 fit... */
	assert_int_equal(options_parse(argc - 2, argv, &o, err, sizeof err), OPTIONS_OK);
	assert_int_equal(o.register_ds_count, OPT_REGISTER_DS_MAX);
	assert_string_equal(o.register_ds[31], "f31");
	/* ...the 33rd does not. */
	assert_int_equal(options_parse(argc, argv, &o, err, sizeof err), OPTIONS_ERROR);
	expect_error("-d/--register-ds", "at most 32");
}

/* --port takes the create keys, comma-separated, in any order; each
 * --port is the next port. */
static void test_port_accepted(void **state)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0xab, 0, 1 };

	(void)state;
	assert_int_equal(opts("--port", "listen=/run/a.sock", NULL), OPTIONS_OK);
	assert_int_equal(o.port_count, 1);
	assert_string_equal(o.port[0].listen_path, "/run/a.sock");
	assert_int_equal(o.port[0].ds_max, PORT_DS_MAX_DEFAULT);
	assert_false(o.port[0].has_mac);
	assert_string_equal(o.port_arg[0], "listen=/run/a.sock");

	assert_int_equal(opts("--port=ds-max=7,mac=2:0:0:ab:0:1,listen=/b", "-s", "64", "--port",
			      "listen=/c,ds-max=80", NULL),
			 OPTIONS_OK);
	assert_int_equal(o.port_count, 2);
	assert_int_equal(o.port[0].ds_max, 7);
	assert_true(o.port[0].has_mac);
	assert_memory_equal(o.port[0].mac, mac, 6);
	assert_string_equal(o.port[0].listen_path, "/b");
	assert_string_equal(o.port_arg[0], "ds-max=7,mac=2:0:0:ab:0:1,listen=/b");
	assert_int_equal(o.port[1].ds_max, 80);
	assert_false(o.port[1].has_mac);
	assert_string_equal(o.port[1].listen_path, "/c");
	assert_int_equal(o.queue_size, 64);
	/* A later key wins, as in a create request. */
	assert_int_equal(opts("--port", "ds-max=3,listen=/a,ds-max=4", NULL), OPTIONS_OK);
	assert_int_equal(o.port[0].ds_max, 4);
}

/* A bad value gives the create request's own message, after "--port: ". */
static void expect_port_message(const char *arg, const char *item)
{
	struct port_config cfg;
	char expected[300], msg[256];

	port_config_init(&cfg);
	assert_int_equal(port_config_apply(&cfg, item, msg, sizeof msg), PORT_CONFIG_INVALID);
	snprintf(expected, sizeof expected, "--port: %s", msg);
	if (opts("--port", arg, NULL) != OPTIONS_ERROR)
		fail_msg("--port '%s' accepted", arg);
	assert_string_equal(err, expected);
}

static void test_port_refused(void **state)
{
	(void)state;
	expect_port_message("listen=/a,ds-max=0", "ds-max=0");
	expect_port_message("ds-max=81,listen=/a", "ds-max=81");
	expect_port_message("listen=/a,mac=1:2:3:4:5", "mac=1:2:3:4:5");
	expect_port_message("listen=", "listen=");
	expect_port_message("listen", "listen");
	expect_error("listen", "socket path");

	/* Unknown keys, which create ignores, stop the server. */
	assert_int_equal(opts("--port", "listen=/a,color=blue", NULL), OPTIONS_ERROR);
	assert_string_equal(err, "--port: unknown key 'color'");
	assert_int_equal(opts("--port", "listen=/a,,ds-max=2", NULL), OPTIONS_ERROR);
	expect_error("--port", "empty key=value item");
	assert_int_equal(opts("--port", "listen=/a,", NULL), OPTIONS_ERROR);
	expect_error("--port", "empty key=value item");
	assert_int_equal(opts("--port", "", NULL), OPTIONS_ERROR);
	expect_error("--port", "empty key=value item");
	assert_int_equal(opts("--port", NULL), OPTIONS_ERROR);
	expect_error("--port", "requires an argument");

	/* Without listen= or tap= nobody could reach the port. */
	assert_int_equal(opts("--port", "ds-max=4,mac=2:0:0:0:0:1", NULL), OPTIONS_ERROR);
	expect_error("--port 'ds-max=4,mac=2:0:0:0:0:1'", "listen=PATH or tap=NAME is required");
	assert_int_equal(opts("--port", "listenx=/a", NULL), OPTIONS_ERROR);
	assert_string_equal(err, "--port: unknown key 'listenx'");

	/* One link, two ports. */
	assert_int_equal(opts("--port", "listen=/a", "--port", "listen=/b", "--port", "listen=/c",
			      NULL),
			 OPTIONS_ERROR);
	expect_error("too many --port", "at most 2");
}

/* --svr, -v/-q, -h, --version. */
static void test_flags(void **state)
{
	(void)state;
	assert_int_equal(opts("--svr", "/run/vnp.sock", NULL), OPTIONS_OK);
	assert_string_equal(o.svr_path, "/run/vnp.sock");
	assert_int_equal(opts("--svr=/x", NULL), OPTIONS_OK);
	assert_string_equal(o.svr_path, "/x");
	assert_int_equal(opts("-vvq", "-v", "--verbose", "--quiet", NULL), OPTIONS_OK);
	assert_int_equal(o.verbosity, 2);
	assert_false(o.help);
	assert_int_equal(opts("-q", "-q", NULL), OPTIONS_OK);
	assert_int_equal(o.verbosity, -2);
	assert_int_equal(opts("-h", NULL), OPTIONS_OK);
	assert_true(o.help);
	assert_false(o.version);
	assert_int_equal(opts("--help", "--version", NULL), OPTIONS_OK);
	assert_true(o.help);
	assert_true(o.version);
}

/* Unknown options are named as typed. */
static void test_unknown_option(void **state)
{
	(void)state;
	assert_int_equal(opts("-z", NULL), OPTIONS_ERROR);
	assert_string_equal(err, "unknown option '-z'");
	assert_int_equal(opts("-vz", NULL), OPTIONS_ERROR);
	expect_error("'-z'", NULL);
	assert_int_equal(opts("--bogus", NULL), OPTIONS_ERROR);
	assert_string_equal(err, "unknown option '--bogus'");
	assert_int_equal(opts("--bogus=1", NULL), OPTIONS_ERROR);
	expect_error("--bogus", NULL);
	/* An argument to an option that takes none names that option. */
	assert_int_equal(opts("--version=2", NULL), OPTIONS_ERROR);
	expect_error("--version", NULL);
	assert_int_equal(opts("--help=yes", NULL), OPTIONS_ERROR);
	expect_error("--help", NULL);
}

/* A missing argument names the option that lacks it. */
static void test_missing_argument(void **state)
{
	(void)state;
	assert_int_equal(opts("-s", NULL), OPTIONS_ERROR);
	expect_error("-s", "requires an argument");
	assert_int_equal(opts("-p", NULL), OPTIONS_ERROR);
	expect_error("-p", "requires an argument");
	assert_int_equal(opts("-v", "-d", NULL), OPTIONS_ERROR);
	expect_error("-d", "requires an argument");
	assert_int_equal(opts("--svr", NULL), OPTIONS_ERROR);
	expect_error("--svr", "requires an argument");
	assert_int_equal(opts("--size", NULL), OPTIONS_ERROR);
	expect_error("--size", "requires an argument");
}

/* Operands are not taken; after "--" everything is an operand. */
static void test_stray_arguments(void **state)
{
	(void)state;
	assert_int_equal(opts("extra", NULL), OPTIONS_ERROR);
	assert_string_equal(err, "unexpected argument 'extra'");
	assert_int_equal(opts("-s", "8", "--", "-s", NULL), OPTIONS_ERROR);
	assert_string_equal(err, "unexpected argument '-s'");
}

/* Parsing again starts from scratch: getopt's state and the previous
 * result do not leak into the next parse. */
static void test_reparse(void **state)
{
	(void)state;
	assert_int_equal(opts("-vz", "-d", "x", NULL), OPTIONS_ERROR);
	assert_int_equal(opts("-d", "a", "-s", "8", NULL), OPTIONS_OK);
	assert_int_equal(o.register_ds_count, 1);
	assert_int_equal(o.queue_size, 8);
	assert_int_equal(opts("--port", "listen=/a", "-s", "16", NULL), OPTIONS_OK);
	assert_int_equal(o.port_count, 1);
	assert_int_equal(opts("-v", NULL), OPTIONS_OK);
	assert_int_equal(o.port_count, 0);
	assert_int_equal(o.register_ds_count, 0);
	assert_int_equal(o.queue_size, 256);
	assert_int_equal(o.verbosity, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_size_accepted),
		cmocka_unit_test(test_size_refused),
		cmocka_unit_test(test_poll),
		cmocka_unit_test(test_register_ds),
		cmocka_unit_test(test_port_accepted),
		cmocka_unit_test(test_port_refused),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_missing_argument),
		cmocka_unit_test(test_stray_arguments),
		cmocka_unit_test(test_reparse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
