/* SPDX-License-Identifier: MIT */
/*
 * A create request's payload (ctl/create_request.c) and the key=value
 * strings in it (link/port_config.c): the original's ds-max and mac keys
 * with their ranges, listen=, tap=, unknown keys, the protocol type and the
 * framing of the strings.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/create_request.h"
#include "link/port_config.h"

#define ERRLEN 256

/* A create payload: a u32 type, then each string with its NUL. */
static uint32_t build(uint8_t *buf, size_t cap, uint32_t type, const char *const *args)
{
	uint32_t len = 4;

	memcpy(buf, &type, 4);
	for (; args && *args; args++) {
		size_t n = strlen(*args) + 1;

		assert_true(len + n <= cap);
		memcpy(buf + len, *args, n);
		len += (uint32_t)n;
	}
	return len;
}

static uint8_t pbuf[4096];
static char err[ERRLEN], warn[ERRLEN];

/* Parse type 0 with these strings (NULL-terminated list). */
static int parse(struct port_config *cfg, const char *const *args)
{
	uint32_t len = build(pbuf, sizeof pbuf, 0, args);

	memset(err, 0, sizeof err);
	return create_request_parse(pbuf, len, cfg, err, sizeof err, warn, sizeof warn);
}

static int parse1(struct port_config *cfg, const char *arg)
{
	const char *args[] = { arg, NULL };

	return parse(cfg, args);
}

/* The string is refused and the message names what it must name. */
static void expect_refused(const char *arg, const char *key, const char *what)
{
	struct port_config cfg;

	if (parse1(&cfg, arg) != -EINVAL)
		fail_msg("'%s' was accepted", arg);
	if (!strstr(err, key))
		fail_msg("'%s': message '%s' does not name '%s'", arg, err, key);
	if (what && !strstr(err, what))
		fail_msg("'%s': message '%s' does not say '%s'", arg, err, what);
}

/* An empty request: the original's defaults. */
static void test_defaults(void **state)
{
	struct port_config cfg;

	(void)state;
	memset(&cfg, 0xaa, sizeof cfg);
	assert_int_equal(parse(&cfg, NULL), 0);
	assert_int_equal(cfg.ds_max, PORT_DS_MAX_DEFAULT);
	assert_int_equal(cfg.ds_max, 2);
	assert_false(cfg.has_mac);
	assert_string_equal(cfg.listen_path, "");
	assert_string_equal(warn, "");
}

/* Every value of 1..80 is taken as it is. */
static void test_ds_max_range(void **state)
{
	struct port_config cfg;
	char kv[32];

	(void)state;
	for (unsigned v = 1; v <= 80; v++) {
		snprintf(kv, sizeof kv, "ds-max=%u", v);
		assert_int_equal(parse1(&cfg, kv), 0);
		assert_int_equal(cfg.ds_max, v);
	}
	/* A later value wins. */
	assert_int_equal(parse(&cfg, (const char *const[]){ "ds-max=3", "ds-max=17", NULL }), 0);
	assert_int_equal(cfg.ds_max, 17);
}

/* Anything else is refused with a message naming the key and the range. */
static void test_ds_max_refused(void **state)
{
	static const char *const bad[] = {
		"ds-max=0",   "ds-max=81",  "ds-max=abc", "ds-max=-1", "ds-max=",
		"ds-max",     "ds-max=+5",  "ds-max= 5",  "ds-max=5 ", "ds-max=4x",
		"ds-max=0x10", "ds-max=1.5", "ds-max=99999999999999999999999",
		"ds-max=4294967297", /* 2^32 + 1: no truncation to 1 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_refused(bad[i], "ds-max", "1..80");
	/* The bad value is quoted. */
	expect_refused("ds-max=81", "'81'", NULL);
}

static void expect_mac(const char *kv, const uint8_t want[6])
{
	struct port_config cfg;

	if (parse1(&cfg, kv) != 0)
		fail_msg("'%s' refused: %s", kv, err);
	assert_true(cfg.has_mac);
	assert_memory_equal(cfg.mac, want, 6);
}

/* One or two hex digits per group, either case. */
/* mem-max: bytes, or K, M, G, T (powers of 1024), in 1M..128T; 0 (the
 * server's default) unless given. */
static void test_mem_max(void **state)
{
	static const struct {
		const char *kv;
		uint64_t bytes;
	} good[] = {
		{ "mem-max=1M", 1ull << 20 },         { "mem-max=1048576", 1ull << 20 },
		{ "mem-max=3g", 3ull << 30 },         { "mem-max=32T", 32ull << 40 },
		{ "mem-max=128T", 128ull << 40 },     { "mem-max=4096K", 4ull << 20 },
		{ "mem-max=140737488355328", 1ull << 47 },
	};
	static const char *const bad[] = {
		"mem-max=0",    "mem-max=1023K", "mem-max=129T",  "mem-max=131073G", "mem-max=",
		"mem-max",      "mem-max=1P",    "mem-max=1MB",   "mem-max=-1G",     "mem-max=1.5G",
		"mem-max= 1G",  "mem-max=G",     "mem-max=0x10M", "mem-max=99999999999999999999999",
		"mem-max=18446744073709551616", /* 2^64: no wrap to 0 */
		"mem-max=17179869184T",         /* 2^54 T: no wrap in the shift */
	};
	struct port_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, (const char *const[]){ "ds-max=3", NULL }), 0);
	assert_int_equal(cfg.mem_max, 0);
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		if (parse1(&cfg, good[i].kv) != 0)
			fail_msg("'%s' refused: %s", good[i].kv, err);
		assert_int_equal(cfg.mem_max, good[i].bytes);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_refused(bad[i], "mem-max", "1M..128T");
}

static void test_mac_accepted(void **state)
{
	(void)state;
	expect_mac("mac=02:00:00:00:00:01", (const uint8_t[]){ 2, 0, 0, 0, 0, 1 });
	expect_mac("mac=0:1:2:3:4:5", (const uint8_t[]){ 0, 1, 2, 3, 4, 5 });
	expect_mac("mac=a:B:0c:D0:e:ff", (const uint8_t[]){ 0xa, 0xb, 0xc, 0xd0, 0xe, 0xff });
	expect_mac("mac=FF:FF:FF:FF:FF:FF", (const uint8_t[]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff });
	expect_mac("mac=f:0f:F0:9:90:a5", (const uint8_t[]){ 0xf, 0xf, 0xf0, 0x9, 0x90, 0xa5 });
}

/* Bad MACs are refused with a message naming the key. */
static void test_mac_refused(void **state)
{
	static const char *const bad[] = {
		"mac=1:2:3:4:5:6:7",   /* seven groups */
		"mac=123:2:3:4:5:6",   /* three digits */
		"mac=1:2:3:4:5:666",   /* three digits in the last group */
		"mac=1:2:3:4:5",       /* a group missing */
		"mac=1:2:3:4:5:",      /* trailing ':' with a group missing */
		"mac=1:2:3:4:5:6:",    /* trailing ':' */
		"mac=1::3:4:5:6",      /* an empty group */
		"mac=:1:2:3:4:5",      /* leading ':' */
		"mac=1-2-3-4-5-6",     /* wrong separator */
		"mac=g:2:3:4:5:6",     /* not hex */
		"mac=0x1:2:3:4:5:6",   /* a prefix */
		"mac= 1:2:3:4:5:6",    /* a space */
		"mac=1:2:3:4:5:6 ",
		"mac=",
		"mac",
	};
	struct port_config cfg;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_refused(bad[i], "mac", "six hex groups");
	/* A long bad value is quoted only in part: what is allowed still shows. */
	{
		char kv[4 + 300 + 1];

		memcpy(kv, "mac=", 4);
		memset(kv + 4, 'a', 300);
		kv[4 + 300] = '\0';
		expect_refused(kv, "mac", "six hex groups");
		memcpy(kv, "ds-max=", 7);
		memset(kv + 7, '9', 200);
		kv[7 + 200] = '\0';
		expect_refused(kv, "ds-max", "1..80");
	}
	/* A refused MAC does not leave has_mac set. */
	port_config_init(&cfg);
	assert_int_equal(port_config_apply(&cfg, "mac=1:2:3", err, sizeof err), PORT_CONFIG_INVALID);
	assert_false(cfg.has_mac);
}

/* parse_mac and format_mac directly: two lower-case digits out. */
static void test_mac_format(void **state)
{
	uint8_t mac[6];
	char s[18];

	(void)state;
	assert_true(parse_mac("a:B:0c:D0:e:ff", mac));
	format_mac(mac, s);
	assert_string_equal(s, "0a:0b:0c:d0:0e:ff");
	assert_true(parse_mac(s, mac));
	assert_memory_equal(mac, ((const uint8_t[]){ 0xa, 0xb, 0xc, 0xd0, 0xe, 0xff }), 6);
	assert_false(parse_mac("", mac));
	assert_false(parse_mac("1:2:3:4:5:6\n", mac));
}

/* Unknown keys are ignored, each noted in the warnings, one per line,
 * and the known keys around them still apply. Keys are case-sensitive
 * and must match whole. */
static void test_unknown_keys(void **state)
{
	struct port_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, (const char *const[]){ "speed=fast", "ds-max=7", "DS-MAX=3",
							    "ds-max2=4", "mac=1:2:3:4:5:6", NULL }),
			 0);
	assert_int_equal(cfg.ds_max, 7);
	assert_true(cfg.has_mac);
	assert_string_equal(warn, "unknown key 'speed' ignored\n"
				  "unknown key 'DS-MAX' ignored\n"
				  "unknown key 'ds-max2' ignored");
	/* An empty string and "=x" have an empty key. */
	assert_int_equal(parse(&cfg, (const char *const[]){ "", "=x", NULL }), 0);
	assert_string_equal(warn, "unknown key '' ignored\nunknown key '' ignored");
	/* port_config_apply says so itself. */
	port_config_init(&cfg);
	assert_int_equal(port_config_apply(&cfg, "colour=blue", err, sizeof err),
			 PORT_CONFIG_UNKNOWN_KEY);
	assert_string_equal(err, "unknown key 'colour' ignored");
	assert_int_equal(cfg.ds_max, 2);
}

/* Many warnings in a small buffer: cut short, terminated, not overrun. */
static void test_warnings_truncated(void **state)
{
	const char *args[64];
	char small[40];
	struct port_config cfg;
	uint32_t len;

	(void)state;
	for (unsigned i = 0; i < 63; i++)
		args[i] = "unknown-key-with-a-long-name=1";
	args[63] = NULL;
	len = build(pbuf, sizeof pbuf, 0, args);
	memset(small, 'Z', sizeof small);
	assert_int_equal(create_request_parse(pbuf, len, &cfg, err, sizeof err, small, 32), 0);
	assert_int_equal(strlen(small), 31);
	assert_memory_equal(small, "unknown key 'unknown-key-with-a", 31);
	for (unsigned i = 32; i < sizeof small; i++)
		assert_int_equal(small[i], 'Z');
}

/* A listen path must fit sun_path with its NUL: 107 bytes at most. */
static void test_listen_path(void **state)
{
	struct port_config cfg;
	char kv[8 + PORT_PATH_MAX + 8];

	(void)state;
	assert_int_equal(parse1(&cfg, "listen=/run/vnp/port0.sock"), 0);
	assert_string_equal(cfg.listen_path, "/run/vnp/port0.sock");

	memcpy(kv, "listen=", 7);
	memset(kv + 7, 'p', PORT_PATH_MAX - 1);
	kv[7 + PORT_PATH_MAX - 1] = '\0';
	assert_int_equal(parse1(&cfg, kv), 0);
	assert_int_equal(strlen(cfg.listen_path), PORT_PATH_MAX - 1);

	memset(kv + 7, 'p', PORT_PATH_MAX);
	kv[7 + PORT_PATH_MAX] = '\0';
	expect_refused(kv, "listen", "1..107 bytes");
	expect_refused("listen=", "listen", NULL);
	expect_refused("listen", "listen", NULL);
}

/* Only protocol type 0 (virtio-net) is served; a payload too short to
 * hold the type is refused. */
/* tap=NAME (our extension): an interface name the kernel would accept,
 * without templates; it excludes listen=. */
static void test_tap_name(void **state)
{
	static const char *const bad[] = { "tap=", "tap", "tap=a/b", "tap=a:b", "tap=a b",
					   "tap=tap%d", "tap=.", "tap=..", "tap=abcdefghijklmnop",
					   "tap=a\tb" };
	const char *both[] = { "tap=vnp0", "listen=/tmp/x.sock", NULL };
	struct port_config cfg;
	char msg[ERRLEN];

	(void)state;
	assert_int_equal(parse1(&cfg, "tap=vnp0"), 0);
	assert_string_equal(cfg.tap_name, "vnp0");
	assert_true(port_config_check(&cfg, msg, sizeof msg));
	assert_int_equal(parse1(&cfg, "tap=abcdefghijklmno"), 0); /* 15 bytes: IFNAMSIZ - 1 */
	assert_int_equal(parse(&cfg, NULL), 0);
	assert_string_equal(cfg.tap_name, "");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_refused(bad[i], "tap", NULL);
	expect_refused("tap=a/b", "tap", "1..15 bytes");
	assert_int_equal(parse(&cfg, both), 0);
	assert_false(port_config_check(&cfg, msg, sizeof msg));
	assert_non_null(strstr(msg, "exclude each other"));
}

static void test_protocol_type(void **state)
{
	struct port_config cfg;
	uint32_t len;

	(void)state;
	len = build(pbuf, sizeof pbuf, 1, NULL);
	assert_int_equal(create_request_parse(pbuf, len, &cfg, err, sizeof err, warn, sizeof warn),
			 -EINVAL);
	assert_non_null(strstr(err, "protocol type 1"));
	len = build(pbuf, sizeof pbuf, 0xffffffffu, (const char *const[]){ "ds-max=4", NULL });
	assert_int_equal(create_request_parse(pbuf, len, &cfg, err, sizeof err, warn, sizeof warn),
			 -EINVAL);
	assert_non_null(strstr(err, "4294967295"));
	for (uint32_t short_len = 0; short_len < 4; short_len++) {
		assert_int_equal(create_request_parse(pbuf, short_len, &cfg, err, sizeof err, warn,
						      sizeof warn),
				 -EINVAL);
		assert_non_null(strstr(err, "protocol type"));
	}
	/* Exactly the type and nothing else is a valid empty request. */
	len = build(pbuf, sizeof pbuf, 0, NULL);
	assert_int_equal(len, 4);
	assert_int_equal(create_request_parse(pbuf, len, &cfg, err, sizeof err, warn, sizeof warn), 0);
}

/* A string that runs to the end of the payload without its NUL is
 * refused, even after good ones; nothing past len is read. */
static void test_unterminated_strings(void **state)
{
	struct port_config cfg;
	uint32_t len;

	(void)state;
	len = build(pbuf, sizeof pbuf, 0, (const char *const[]){ "ds-max=4", "mac=1:2:3:4:5:6", NULL });
	/* Cut off the final NUL: the byte after len is a NUL that must not count. */
	assert_int_equal(pbuf[len - 1], '\0');
	assert_int_equal(create_request_parse(pbuf, len - 1, &cfg, err, sizeof err, warn, sizeof warn),
			 -EINVAL);
	assert_non_null(strstr(err, "NUL"));
	/* One byte of a string. */
	assert_int_equal(create_request_parse(pbuf, 5, &cfg, err, sizeof err, warn, sizeof warn),
			 -EINVAL);
	assert_non_null(strstr(err, "NUL"));
	/* The whole payload intact is fine. */
	assert_int_equal(create_request_parse(pbuf, len, &cfg, err, sizeof err, warn, sizeof warn), 0);
	assert_int_equal(cfg.ds_max, 4);
	assert_true(cfg.has_mac);
}

/* The first invalid string ends the parse with its own message, even
 * when later strings are fine. */
static void test_first_error_reported(void **state)
{
	struct port_config cfg;

	(void)state;
	assert_int_equal(parse(&cfg, (const char *const[]){ "ds-max=5", "mac=zz", "ds-max=0", NULL }),
			 -EINVAL);
	assert_non_null(strstr(err, "mac"));
	assert_null(strstr(err, "ds-max"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_ds_max_range),
		cmocka_unit_test(test_ds_max_refused),
		cmocka_unit_test(test_mem_max),
		cmocka_unit_test(test_mac_accepted),
		cmocka_unit_test(test_mac_refused),
		cmocka_unit_test(test_mac_format),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_warnings_truncated),
		cmocka_unit_test(test_listen_path),
		cmocka_unit_test(test_tap_name),
		cmocka_unit_test(test_protocol_type),
		cmocka_unit_test(test_unterminated_strings),
		cmocka_unit_test(test_first_error_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
