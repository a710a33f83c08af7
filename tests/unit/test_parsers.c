/* SPDX-License-Identifier: MIT */
/*
 * The small pure pieces: create-request parsing, the server's options,
 * the Internet checksum and the virtio-net header and config space.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/create_request.h"
#include "net/csum.h"
#include "net/virtio_net.h"
#include "server/options.h"

/* A create payload: type, then the strings with their NULs. */
static uint32_t payload(uint8_t *buf, uint32_t type, const char *const *args)
{
	uint32_t len = 4;

	memcpy(buf, &type, 4);
	for (; args && *args; args++) {
		size_t n = strlen(*args) + 1;

		memcpy(buf + len, *args, n);
		len += (uint32_t)n;
	}
	return len;
}

static int parse(const char *const *args, struct port_config *cfg, char *err, char *warn)
{
	uint8_t buf[1024];
	uint32_t len = payload(buf, 0, args);

	return create_request_parse(buf, len, cfg, err, 256, warn, 256);
}

static void expect_refused(const char *arg, const char *key)
{
	const char *args[] = { arg, NULL };
	struct port_config cfg;
	char err[256], warn[256];

	assert_int_equal(parse(args, &cfg, err, warn), -EINVAL);
	assert_non_null(strstr(err, key));
}

static void test_create_keys(void **state)
{
	const char *good[] = { "mac=a:B:0c:D0:e:ff", "ds-max=80", "speed=fast", "", NULL };
	struct port_config cfg;
	char err[256], warn[256];

	(void)state;
	assert_int_equal(parse(NULL, &cfg, err, warn), 0);
	assert_int_equal(cfg.ds_max, 2);
	assert_false(cfg.has_mac);
	assert_int_equal(parse(good, &cfg, err, warn), 0);
	assert_int_equal(cfg.ds_max, 80);
	assert_true(cfg.has_mac);
	assert_memory_equal(cfg.mac, ((uint8_t[]){ 0xa, 0xb, 0xc, 0xd0, 0xe, 0xff }), 6);
	assert_non_null(strstr(warn, "speed"));

	expect_refused("ds-max=0", "ds-max");
	expect_refused("ds-max=81", "1..80");
	expect_refused("ds-max=-1", "ds-max");
	expect_refused("ds-max=", "ds-max");
	expect_refused("ds-max", "ds-max");
	expect_refused("ds-max=4x", "ds-max");
	expect_refused("ds-max=99999999999999999999", "ds-max");
	expect_refused("mac=1:2:3:4:5", "mac");
	expect_refused("mac=1:2:3:4:5:6:7", "mac");
	expect_refused("mac=1:2:3:4:5:", "mac");
	expect_refused("mac=123:2:3:4:5:6", "mac");
	expect_refused("mac=1::3:4:5:6", "mac");
	expect_refused("mac=1-2-3-4-5-6", "mac");
	expect_refused("mac=", "mac");
	{
		char longpath[200];

		memset(longpath, 'x', sizeof longpath);
		memcpy(longpath, "listen=", 7);
		longpath[sizeof longpath - 1] = '\0';
		expect_refused(longpath, "listen");
	}
}

static void test_create_framing(void **state)
{
	struct port_config cfg;
	char err[256], warn[256];
	uint8_t buf[64];
	uint32_t len;

	(void)state;
	len = payload(buf, 1, NULL);
	assert_int_equal(create_request_parse(buf, len, &cfg, err, sizeof err, warn, sizeof warn),
			 -EINVAL);
	assert_non_null(strstr(err, "protocol type 1"));
	assert_int_equal(create_request_parse(buf, 3, &cfg, err, sizeof err, warn, sizeof warn),
			 -EINVAL);
	/* A string without its NUL. */
	len = payload(buf, 0, (const char *const[]){ "ds-max=4", NULL });
	assert_int_equal(create_request_parse(buf, len - 1, &cfg, err, sizeof err, warn, sizeof warn),
			 -EINVAL);
	assert_non_null(strstr(err, "NUL"));
}

static enum options_result opts(struct server_options *o, char *err, ...)
{
	char *argv[16] = { "vnet-p2p" };
	int argc = 1;
	va_list ap;

	va_start(ap, err);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	return options_parse(argc, argv, o, err, 256);
}

static void test_options(void **state)
{
	struct server_options o;
	char err[256];

	(void)state;
	assert_int_equal(opts(&o, err, NULL), OPTIONS_OK);
	assert_int_equal(o.queue_size, 256);
	assert_int_equal(o.poll_usec, 0);
	assert_null(o.svr_path);
	assert_int_equal(opts(&o, err, "--svr", "/x", "-s", "1", "-p", "1", "-d", "a", "--register-ds",
			      "b", "-d", "fd:3", NULL), OPTIONS_OK);
	assert_string_equal(o.svr_path, "/x");
	assert_int_equal(o.queue_size, 1);
	assert_int_equal(o.poll_usec, 1);
	assert_int_equal(o.register_ds_count, 3);
	assert_string_equal(o.register_ds[2], "fd:3");
	assert_int_equal(opts(&o, err, "--size=32768", "--poll=250", NULL), OPTIONS_OK);
	assert_int_equal(o.queue_size, 32768);
	assert_int_equal(o.poll_usec, 250);

	const char *bad_sizes[] = { "0", "3", "65536", "-1", "abc", "", "1e3", "256 " };
	for (unsigned i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
		assert_int_equal(opts(&o, err, "-s", bad_sizes[i], NULL), OPTIONS_ERROR);
		assert_non_null(strstr(err, "-s/--size"));
		assert_non_null(strstr(err, "power of 2 in the range of 1 to 32768"));
	}
	const char *bad_polls[] = { "0", "-5", "x", "", "1000000001" };
	for (unsigned i = 0; i < sizeof bad_polls / sizeof bad_polls[0]; i++) {
		assert_int_equal(opts(&o, err, "--poll", bad_polls[i], NULL), OPTIONS_ERROR);
		assert_non_null(strstr(err, "-p/--poll: must be a positive integer"));
	}
	assert_int_equal(opts(&o, err, "-z", NULL), OPTIONS_ERROR);
	assert_non_null(strstr(err, "unknown option '-z'"));
	assert_int_equal(opts(&o, err, "--bogus", NULL), OPTIONS_ERROR);
	assert_non_null(strstr(err, "--bogus"));
	assert_int_equal(opts(&o, err, "-s", NULL), OPTIONS_ERROR);
	assert_non_null(strstr(err, "requires an argument"));
	assert_int_equal(opts(&o, err, "extra", NULL), OPTIONS_ERROR);
	assert_int_equal(opts(&o, err, "-vvq", "-h", "--version", NULL), OPTIONS_OK);
	assert_int_equal(o.verbosity, 1);
	assert_true(o.help && o.version);
}

/* The checksum of one buffer, in network order. */
static uint16_t csum_of(const uint8_t *p, size_t len)
{
	struct csum_acc acc = { 0 };
	uint16_t c;

	csum_add(&acc, p, len);
	c = csum_finish(&acc);
	return (uint16_t)(((c & 0xff) << 8) | (c >> 8)); /* memory order -> value */
}

static void test_csum(void **state)
{
	/* RFC 1071's example: words 0001 f203 f4f5 f6f7 sum to ddf2; checksum 220d. */
	static const uint8_t rfc[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint8_t buf[1001];
	struct csum_acc acc = { 0 };
	uint16_t whole;

	(void)state;
	assert_int_equal(csum_of(rfc, sizeof rfc), 0x220d);
	/* An odd length pads with a zero byte. */
	assert_int_equal(csum_of((const uint8_t[]){ 0x12, 0x34, 0x56 }, 3),
			 (uint16_t)~(0x1234 + 0x5600));
	/* Any split into pieces gives the one-shot result. */
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	whole = csum_of(buf, sizeof buf);
	for (size_t cut1 = 1; cut1 < 40; cut1 += 3) {
		for (size_t cut2 = cut1 + 1; cut2 < 900; cut2 += 97) {
			uint16_t c;

			memset(&acc, 0, sizeof acc);
			csum_add(&acc, buf, cut1);
			csum_add(&acc, buf + cut1, cut2 - cut1);
			csum_add(&acc, buf + cut2, sizeof buf - cut2);
			c = csum_finish(&acc);
			assert_int_equal((uint16_t)(((c & 0xff) << 8) | (c >> 8)), whole);
		}
	}
	/* A sum of 0xffff gives 0, which is sent as 0xffff. */
	memset(&acc, 0, sizeof acc);
	csum_add(&acc, (const uint8_t[]){ 0xff, 0xff }, 2);
	assert_int_equal(csum_finish(&acc), 0xffff);
}

static void test_virtio_net(void **state)
{
	struct vnet_hdr h = { 1, 0, 3, 4, 5, 6, 7 }, back;
	uint8_t wire[12], cfg[8];

	(void)state;
	assert_int_equal(vnet_hdr_len(0), 10);
	assert_int_equal(vnet_hdr_len(BIT64(VIRTIO_NET_F_MRG_RXBUF)), 12);
	assert_int_equal(vnet_hdr_len(BIT64(VIRTIO_F_VERSION_1)), 12);
	vnet_hdr_encode(&h, 12, wire);
	assert_memory_equal(wire, ((uint8_t[]){ 1, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0 }), 12);
	vnet_hdr_decode(wire, &back);
	assert_int_equal(back.csum_start, 5);
	assert_int_equal(back.csum_offset, 6);
	assert_int_equal(vnet_config_read((const uint8_t[]){ 1, 2, 3, 4, 5, 6 }, true, 2, 6, cfg), 0);
	assert_memory_equal(cfg, ((uint8_t[]){ 3, 4, 5, 6, 0, 0 }), 6);
	assert_int_equal(vnet_config_read((const uint8_t[]){ 1, 2, 3, 4, 5, 6 }, false, 0, 6, cfg), 0);
	assert_memory_equal(cfg, ((uint8_t[]){ 0, 0, 0, 0, 0, 0 }), 6);
	assert_int_equal(vnet_config_read(cfg, true, 250, 7, cfg), -EINVAL);
	assert_int_equal(vnet_config_read(cfg, true, 0xfffffff0u, 0x20, cfg), -EINVAL);
	{
		char names[256];

		vnet_features_str(BIT64(VIRTIO_F_VERSION_1) | BIT64(VIRTIO_NET_F_MRG_RXBUF) | BIT64(50),
				  names, sizeof names);
		assert_string_equal(names, "MRG_RXBUF VERSION_1 bit50");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_keys),
		cmocka_unit_test(test_create_framing),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_csum),
		cmocka_unit_test(test_virtio_net),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
