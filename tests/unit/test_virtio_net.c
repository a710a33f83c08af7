/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net personality (net/virtio_net.c): header length per feature
 * set, the header's little-endian wire form, the config space GET_CONFIG
 * reads, the offered features and their names.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/virtio_net.h"

static const uint8_t MAC[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0xfe };

/* 12 bytes with VERSION_1 or MRG_RXBUF, otherwise the legacy 10; other
 * feature bits do not matter. */
static void test_hdr_len(void **state)
{
	(void)state;
	assert_int_equal(vnet_hdr_len(0), 10);
	assert_int_equal(vnet_hdr_len(BIT64(VIRTIO_NET_F_MRG_RXBUF)), 12);
	assert_int_equal(vnet_hdr_len(BIT64(VIRTIO_F_VERSION_1)), 12);
	assert_int_equal(vnet_hdr_len(BIT64(VIRTIO_F_VERSION_1) | BIT64(VIRTIO_NET_F_MRG_RXBUF)), 12);
	assert_int_equal(vnet_hdr_len(BIT64(VIRTIO_NET_F_CSUM) | BIT64(VIRTIO_NET_F_GUEST_CSUM) |
				      BIT64(VIRTIO_RING_F_EVENT_IDX) |
				      BIT64(VIRTIO_RING_F_INDIRECT_DESC) | BIT64(VIRTIO_NET_F_MAC)),
			 10);
	assert_int_equal(vnet_hdr_len(~(BIT64(VIRTIO_F_VERSION_1) | BIT64(VIRTIO_NET_F_MRG_RXBUF))),
			 10);
	assert_true(vnet_hdr_len(UINT64_MAX) <= VNET_HDR_MAX);
}

/* Every field lands little-endian at its offset; decoding gives back the
 * first ten bytes' fields. */
static void test_hdr_encode_decode(void **state)
{
	struct vnet_hdr h = { .flags = 0x81, .gso_type = 0x42, .hdr_len = 0x1234,
			      .gso_size = 0x5678, .csum_start = 0x9abc, .csum_offset = 0xdef0,
			      .num_buffers = 0xa55a };
	static const uint8_t expect[12] = { 0x81, 0x42, 0x34, 0x12, 0x78, 0x56,
					    0xbc, 0x9a, 0xf0, 0xde, 0x5a, 0xa5 };
	uint8_t wire[14];
	struct vnet_hdr back;

	(void)state;
	memset(wire, 0xee, sizeof wire);
	vnet_hdr_encode(&h, 12, wire);
	assert_memory_equal(wire, expect, 12);
	assert_int_equal(wire[12], 0xee); /* nothing past the header */
	assert_int_equal(wire[VNET_HDR_NUM_BUFFERS_OFFSET], 0x5a);

	memset(&back, 0x77, sizeof back);
	vnet_hdr_decode(wire, &back);
	assert_int_equal(back.flags, 0x81);
	assert_int_equal(back.gso_type, 0x42);
	assert_int_equal(back.hdr_len, 0x1234);
	assert_int_equal(back.gso_size, 0x5678);
	assert_int_equal(back.csum_start, 0x9abc);
	assert_int_equal(back.csum_offset, 0xdef0);

	/* Re-encoding the decoded header gives the same first ten bytes. */
	{
		uint8_t again[12];

		vnet_hdr_encode(&back, 10, again);
		assert_memory_equal(again, expect, 10);
	}
}

/* The legacy header is ten bytes: num_buffers is not written. */
static void test_hdr_encode_legacy(void **state)
{
	struct vnet_hdr h = { .flags = 1, .csum_start = 34, .csum_offset = 16, .num_buffers = 3 };
	uint8_t wire[12];

	(void)state;
	memset(wire, 0xee, sizeof wire);
	vnet_hdr_encode(&h, 10, wire);
	assert_memory_equal(wire, ((const uint8_t[]){ 1, 0, 0, 0, 0, 0, 34, 0, 16, 0 }), 10);
	assert_int_equal(wire[10], 0xee);
	assert_int_equal(wire[11], 0xee);
}

/* The config space: MAC at 0..5, status 0 at 6..7, max_virtqueue_pairs 1
 * at 8..9, zeros after that, up to 256 bytes. */
static void test_config_layout(void **state)
{
	uint8_t out[VNET_CONFIG_SPACE_SIZE];

	(void)state;
	memset(out, 0xee, sizeof out);
	assert_int_equal(vnet_config_read(MAC, true, 1, 0, 6, out), 0);
	assert_memory_equal(out, MAC, 6);
	assert_int_equal(out[6], 0xee); /* only len bytes written */

	memset(out, 0xee, sizeof out);
	assert_int_equal(vnet_config_read(MAC, true, 1, 0, VNET_CONFIG_SPACE_SIZE, out), 0);
	assert_memory_equal(out, MAC, 6);
	assert_memory_equal(out + 6, ((const uint8_t[]){ 0, 0, 1, 0 }), 4);
	for (unsigned i = 10; i < VNET_CONFIG_SPACE_SIZE; i++)
		assert_int_equal(out[i], 0);

	/* A window in the middle of the MAC. */
	assert_int_equal(vnet_config_read(MAC, true, 1, 3, 4, out), 0);
	assert_memory_equal(out, ((const uint8_t[]){ 0x33, 0x44, 0xfe, 0 }), 4);

	/* Without a MAC the bytes read as zero. */
	assert_int_equal(vnet_config_read(MAC, false, 1, 0, 6, out), 0);
	assert_memory_equal(out, ((const uint8_t[]){ 0, 0, 0, 0, 0, 0 }), 6);

	/* The last byte, and an empty read at the very end. */
	assert_int_equal(vnet_config_read(MAC, true, 1, VNET_CONFIG_SPACE_SIZE - 1, 1, out), 0);
	assert_int_equal(vnet_config_read(MAC, true, 1, VNET_CONFIG_SPACE_SIZE, 0, out), 0);
}

/* Ranges outside the space are refused, including ones whose end wraps
 * around 32 bits, and nothing is written. */
static void test_config_out_of_range(void **state)
{
	uint8_t out[8];

	(void)state;
	memset(out, 0xee, sizeof out);
	assert_int_equal(vnet_config_read(MAC, true, 1, 250, 7, out), -EINVAL);
	assert_int_equal(vnet_config_read(MAC, true, 1, 0, VNET_CONFIG_SPACE_SIZE + 1, out), -EINVAL);
	assert_int_equal(vnet_config_read(MAC, true, 1, VNET_CONFIG_SPACE_SIZE + 1, 0, out), -EINVAL);
	assert_int_equal(vnet_config_read(MAC, true, 1, VNET_CONFIG_SPACE_SIZE, 1, out), -EINVAL);
	assert_int_equal(vnet_config_read(MAC, true, 1, 0xfffffff0u, 0x20, out), -EINVAL);
	assert_int_equal(vnet_config_read(MAC, true, 1, 1, UINT32_MAX, out), -EINVAL);
	assert_int_equal(vnet_config_read(MAC, true, 1, UINT32_MAX, UINT32_MAX, out), -EINVAL);
	for (unsigned i = 0; i < sizeof out; i++)
		assert_int_equal(out[i], 0xee);
}

/* The offered features: exactly the listed set, MAC only with a MAC; the
 * segmentation offloads both ways; never multiqueue or packed rings. */
static void test_offered_features(void **state)
{
	uint64_t with = vnet_offered_features(true, 1), without = vnet_offered_features(false, 1);

	/* Spelled out bit by bit, not via VNET_FEATURES_BASE, so that adding
	 * or losing a feature has to change this test too. */
	const uint64_t expected = BIT64(VIRTIO_F_VERSION_1) | BIT64(VIRTIO_RING_F_INDIRECT_DESC) |
				  BIT64(VIRTIO_RING_F_EVENT_IDX) | BIT64(VIRTIO_NET_F_CSUM) |
				  BIT64(VIRTIO_NET_F_GUEST_CSUM) | BIT64(VIRTIO_NET_F_MRG_RXBUF) |
				  BIT64(VIRTIO_F_ANY_LAYOUT) | BIT64(VIRTIO_F_IN_ORDER) |
				  BIT64(VIRTIO_F_RING_PACKED) | BIT64(VIRTIO_NET_F_HOST_TSO4) | BIT64(VIRTIO_NET_F_HOST_TSO6) |
				  BIT64(VIRTIO_NET_F_HOST_ECN) | BIT64(VIRTIO_NET_F_HOST_UFO) |
				  BIT64(VIRTIO_NET_F_GUEST_TSO4) | BIT64(VIRTIO_NET_F_GUEST_TSO6) |
				  BIT64(VIRTIO_NET_F_GUEST_ECN) | BIT64(VIRTIO_NET_F_GUEST_UFO);

	(void)state;
	assert_int_equal(without, expected);
	assert_int_equal(with, expected | BIT64(VIRTIO_NET_F_MAC));
	assert_false(with & (BIT64(VIRTIO_NET_F_CTRL_VQ) | BIT64(VIRTIO_NET_F_MQ)));
	/* The transport adds PROTOCOL_FEATURES, not the personality. */
	assert_false(with & BIT64(30));
}

/* Names in bit order, unknown bits as bitN, nothing for no features. */
static void test_features_str(void **state)
{
	char buf[512];

	(void)state;
	assert_string_equal(vnet_features_str(0, buf, sizeof buf), "");
	assert_string_equal(vnet_features_str(BIT64(VIRTIO_F_VERSION_1) | BIT64(VIRTIO_NET_F_MRG_RXBUF) |
						      BIT64(50),
					      buf, sizeof buf),
			    "MRG_RXBUF VERSION_1 bit50");
	assert_string_equal(vnet_features_str(BIT64(VIRTIO_NET_F_CSUM) | BIT64(VIRTIO_NET_F_MAC) |
						      BIT64(30) | BIT64(63),
					      buf, sizeof buf),
			    "CSUM MAC PROTOCOL_FEATURES bit63");
	assert_string_equal(vnet_feature_name(VIRTIO_RING_F_EVENT_IDX), "EVENT_IDX");
	assert_string_equal(vnet_feature_name(VIRTIO_RING_F_INDIRECT_DESC), "INDIRECT_DESC");
	assert_string_equal(vnet_feature_name(VIRTIO_NET_F_GUEST_CSUM), "GUEST_CSUM");
	assert_null(vnet_feature_name(62));
	/* Every bit set: every name fits in a large buffer and it ends well. */
	vnet_features_str(UINT64_MAX, buf, sizeof buf);
	assert_non_null(strstr(buf, "CSUM GUEST_CSUM"));
	assert_non_null(strstr(buf, " bit63"));
	assert_int_equal(buf[strlen(buf) - 1], '3');
}

/* A buffer too small truncates, stays NUL-terminated and is not overrun. */
static void test_features_str_truncates(void **state)
{
	char buf[16];

	(void)state;
	memset(buf, 'Z', sizeof buf);
	vnet_features_str(BIT64(VIRTIO_F_VERSION_1) | BIT64(VIRTIO_NET_F_MRG_RXBUF), buf, 8);
	assert_string_equal(buf, "MRG_RXB");
	for (unsigned i = 8; i < sizeof buf; i++)
		assert_int_equal(buf[i], 'Z');

	/* Exactly the first name and its NUL; the second does not fit at all. */
	memset(buf, 'Z', sizeof buf);
	vnet_features_str(BIT64(VIRTIO_F_VERSION_1) | BIT64(VIRTIO_NET_F_MRG_RXBUF), buf, 10);
	assert_string_equal(buf, "MRG_RXBUF");
	for (unsigned i = 10; i < sizeof buf; i++)
		assert_int_equal(buf[i], 'Z');

	memset(buf, 'Z', sizeof buf);
	vnet_features_str(UINT64_MAX, buf, 1);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'Z');
	/* A zero-length buffer is not touched at all. */
	memset(buf, 'Z', sizeof buf);
	vnet_features_str(UINT64_MAX, buf, 0);
	assert_int_equal(buf[0], 'Z');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_len),
		cmocka_unit_test(test_hdr_encode_decode),
		cmocka_unit_test(test_hdr_encode_legacy),
		cmocka_unit_test(test_config_layout),
		cmocka_unit_test(test_config_out_of_range),
		cmocka_unit_test(test_offered_features),
		cmocka_unit_test(test_features_str),
		cmocka_unit_test(test_features_str_truncates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
