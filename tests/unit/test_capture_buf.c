/* SPDX-License-Identifier: MIT */
/*
 * The capture ring: records as the stream format says (header, frame,
 * zero padding to 8), positions that wrap around the ring with records
 * and headers cut at its end, partial sends, drops when full, the end
 * record that always fits, pieces, patches and records never committed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/ctl_proto.h"
#include "link/capture_buf.h"

#define RING (64u * 1024)

/* Take up to max bytes of what is pending, as a partial send would. */
static size_t drain(struct capture_buf *b, uint8_t *out, size_t max)
{
	size_t total = 0;

	while (total < max) {
		const uint8_t *p;
		size_t n = capture_buf_pending(b, &p);

		if (!n)
			break;
		if (n > max - total)
			n = max - total;
		memcpy(out + total, p, n);
		capture_buf_consume(b, n);
		total += n;
	}
	return total;
}

/* One record from a linear stream: checks header and padding, returns
 * its size in the stream, or 0 when the stream holds less than a record. */
static size_t take_record(const uint8_t *s, size_t len, struct vnp_cap_record *rec,
			  const uint8_t **data)
{
	size_t total;

	if (len < sizeof *rec)
		return 0;
	memcpy(rec, s, sizeof *rec);
	assert_true(rec->type == VNP_CAP_PACKET || rec->type == VNP_CAP_END);
	assert_int_equal(rec->pad, 0);
	assert_true(rec->len <= VNP_CAP_SNAPLEN);
	total = (sizeof *rec + rec->len + 7) & ~(size_t)7;
	if (len < total)
		return 0;
	for (size_t i = sizeof *rec + rec->len; i < total; i++)
		assert_int_equal(s[i], 0);
	*data = s + sizeof *rec;
	return total;
}

static void fill_frame(uint8_t *f, uint32_t seq, size_t len)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seq * 31 + i * 7);
}

static void test_records_and_padding(void **state)
{
	static uint8_t stream[RING];
	struct capture_buf b;
	struct vnp_cap_record rec;
	const uint8_t *data;
	uint8_t frame[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t len, off = 0, n;

	(void)state;
	assert_int_equal(capture_buf_init(&b, RING), 0);
	capture_packet(&b, 0, frame, 5);
	capture_packet(&b, 1, frame, 8);
	capture_packet(&b, 1, frame, 0);
	len = drain(&b, stream, sizeof stream);
	assert_int_equal(len, 24 + 24 + 16);

	n = take_record(stream, len, &rec, &data);
	assert_int_equal(n, 24);
	assert_int_equal(rec.type, VNP_CAP_PACKET);
	assert_int_equal(rec.port, 0);
	assert_int_equal(rec.len, 5);
	assert_true(rec.time_ns > 0);
	assert_memory_equal(data, frame, 5);
	off += n;
	n = take_record(stream + off, len - off, &rec, &data);
	assert_int_equal(rec.port, 1);
	assert_int_equal(rec.len, 8);
	off += n;
	n = take_record(stream + off, len - off, &rec, &data);
	assert_int_equal(n, 16);
	assert_int_equal(rec.len, 0);
	assert_int_equal(b.packets[0], 1);
	assert_int_equal(b.packets[1], 2);
	capture_buf_free(&b);
}

/* Around the ring many times, with sends cut anywhere: every record
 * arrives whole and in order. */
static void test_wraps_around(void **state)
{
	static uint8_t stream[4 * RING], frame[9000], expect[9000];
	struct capture_buf b;
	uint32_t written = 0, read = 0;
	size_t have = 0;
	unsigned cut = 1;

	(void)state;
	assert_int_equal(capture_buf_init(&b, RING), 0);
	while (read < 3000) {
		/* Write while there is clearly room, so nothing drops. */
		while (written < 3000 && b.head - b.tail < RING / 2) {
			size_t len = 1 + (written * 2654435761u >> 7) % 9000;

			fill_frame(frame, written, len);
			capture_packet(&b, written % 2, frame, len);
			written++;
		}
		cut = cut * 7 + 3;
		have += drain(&b, stream + have, 1 + cut % 5000);
		for (;;) {
			struct vnp_cap_record rec;
			const uint8_t *data;
			size_t n = take_record(stream, have, &rec, &data);
			size_t len = 1 + (read * 2654435761u >> 7) % 9000;

			if (!n)
				break;
			assert_int_equal(rec.port, read % 2);
			assert_int_equal(rec.len, len);
			fill_frame(expect, read, len);
			assert_memory_equal(data, expect, len);
			memmove(stream, stream + n, have - n);
			have -= n;
			read++;
		}
	}
	assert_true(b.head > 20 * RING); /* it did go round */
	assert_int_equal(b.dropped[0] + b.dropped[1], 0);
	capture_buf_free(&b);
}

/* Nobody reads: frames that do not fit are dropped and counted, and the
 * end record still fits, with the totals. */
static void test_full_then_end(void **state)
{
	static uint8_t stream[RING], frame[2000];
	struct capture_buf b;
	struct vnp_cap_record rec;
	struct vnp_cap_end end;
	const uint8_t *data;
	size_t len, off = 0, n;
	unsigned kept = 0;

	(void)state;
	assert_int_equal(capture_buf_init(&b, RING), 0);
	for (unsigned i = 0; i < 100; i++)
		capture_packet(&b, i % 2, frame, sizeof frame);
	assert_true(b.packets[0] + b.packets[1] > 0);
	assert_int_equal(b.packets[0] + b.packets[1] + b.dropped[0] + b.dropped[1], 100);
	assert_true(b.dropped[0] > 0 && b.dropped[1] > 0);
	capture_buf_end(&b);
	/* Ended: nothing more is recorded, or counted. */
	capture_packet(&b, 0, frame, 10);
	len = drain(&b, stream, sizeof stream);
	assert_true(len <= RING);
	while ((n = take_record(stream + off, len - off, &rec, &data)) != 0) {
		off += n;
		if (rec.type == VNP_CAP_END)
			break;
		kept++;
	}
	assert_int_equal(rec.type, VNP_CAP_END);
	assert_int_equal(rec.len, sizeof end);
	assert_int_equal(off, len);
	memcpy(&end, data, sizeof end);
	assert_int_equal(end.packets[0] + end.packets[1], kept);
	assert_int_equal(end.dropped[0], b.dropped[0]);
	assert_int_equal(end.dropped[1], b.dropped[1]);
	capture_buf_free(&b);
}

/* A record written in pieces across the ring's end, patched, committed; one
 * never committed leaves nothing behind. */
static void test_pieces_patch_abandon(void **state)
{
	static uint8_t stream[RING], frame[3000];
	struct capture_buf b;
	struct capture_rec r;
	struct vnp_cap_record rec;
	const uint8_t *data;
	uint8_t patch[2] = { 0xab, 0xcd };
	size_t len;

	(void)state;
	assert_int_equal(capture_buf_init(&b, RING), 0);
	/* Move the positions close to the ring's end. */
	b.head = b.tail = RING - 40;
	fill_frame(frame, 5, sizeof frame);

	capture_rec_begin(&b, &r);
	capture_rec_append(&b, &r, frame, 1000);
	capture_rec_append(&b, &r, frame + 1000, 2000);
	assert_int_equal(b.head, RING - 40); /* not visible yet */
	/* Abandoned: the next record takes its place. */
	capture_rec_begin(&b, &r);
	capture_rec_append(&b, &r, frame, 10);
	capture_rec_append(&b, &r, frame + 10, sizeof frame - 10);
	capture_rec_patch(&b, &r, 2999, patch, 2); /* beyond the frame: ignored */
	capture_rec_patch(&b, &r, 23, patch, 2);   /* straddles the ring's end */
	capture_rec_commit(&b, &r, 1);
	len = drain(&b, stream, sizeof stream);
	assert_int_equal(take_record(stream, len, &rec, &data), len);
	assert_int_equal(rec.len, sizeof frame);
	assert_int_equal(rec.port, 1);
	frame[23] = 0xab;
	frame[24] = 0xcd;
	assert_memory_equal(data, frame, sizeof frame);
	assert_int_equal(b.packets[1], 1);

	/* A header cut by the ring's end. */
	b.head = b.tail = 2 * RING - 8;
	capture_packet(&b, 0, frame, 100);
	len = drain(&b, stream, sizeof stream);
	assert_int_equal(take_record(stream, len, &rec, &data), len);
	assert_int_equal(rec.len, 100);
	assert_memory_equal(data, frame, 100);
	capture_buf_free(&b);
}

static void test_limits(void **state)
{
	static uint8_t frame[VNP_CAP_SNAPLEN + 1];
	struct capture_buf b;
	const uint8_t *p;

	(void)state;
	assert_int_equal(capture_buf_init(&b, 1000), -22 /* EINVAL */);
	assert_int_equal(capture_buf_init(&b, 4096), -22);
	assert_int_equal(capture_buf_init(&b, 1u << 20), 0);
	capture_packet(&b, 0, frame, sizeof frame); /* beyond any frame we carry */
	assert_int_equal(b.dropped[0], 1);
	capture_packet(&b, 2, frame, 10);           /* no such port: ignored */
	assert_int_equal(b.packets[0] + b.packets[1] + b.dropped[1], 0);
	capture_packet(&b, 1, frame, VNP_CAP_SNAPLEN);
	assert_int_equal(b.packets[1], 1);
	assert_true(capture_buf_pending(&b, &p) > VNP_CAP_SNAPLEN);
	capture_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_and_padding),
		cmocka_unit_test(test_wraps_around),
		cmocka_unit_test(test_full_then_end),
		cmocka_unit_test(test_pieces_patch_abandon),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
