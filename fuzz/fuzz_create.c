/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: create_request_parse() on the raw input, as the
 * control endpoint hands it a create request's payload.
 *
 * The parse runs with roomy message buffers and again with tiny and empty
 * ones (each exactly allocated, so ASan sees any overrun); the outcome and
 * the configuration must not depend on the buffer sizes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/create_request.h"
#include "fuzz_input.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	return 0;
}

static int parse(const uint8_t *data, size_t size, size_t errlen, size_t warnlen,
		 struct port_config *cfg)
{
	/* malloc(0) may return NULL; keep a real (zero-length) buffer. */
	char *err = malloc(errlen ? errlen : 1), *warn = malloc(warnlen ? warnlen : 1);
	int rc;

	FUZZ_CHECK(err && warn);
	rc = create_request_parse(data, (uint32_t)size, cfg, err, errlen, warn, warnlen);
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc < 0 && errlen)
		FUZZ_CHECK(memchr(err, '\0', errlen));
	if (warnlen)
		FUZZ_CHECK(memchr(warn, '\0', warnlen));
	free(err);
	free(warn);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct port_config a, b, c;
	int ra, rb, rc;

	if (size > UINT32_MAX)
		return 0;
	ra = parse(data, size, 160, 1024, &a);
	rb = parse(data, size, 7, 5, &b);
	rc = parse(data, size, 0, 0, &c);
	FUZZ_CHECK(ra == rb && rb == rc);
	if (ra == 0) {
		FUZZ_CHECK(a.ds_max >= 1 && a.ds_max <= PORT_DS_MAX_LIMIT);
		FUZZ_CHECK(memchr(a.listen_path, '\0', sizeof a.listen_path));
		FUZZ_CHECK(a.ds_max == b.ds_max && b.ds_max == c.ds_max);
		FUZZ_CHECK(a.has_mac == b.has_mac && b.has_mac == c.has_mac);
		FUZZ_CHECK(!a.has_mac || memcmp(a.mac, c.mac, sizeof a.mac) == 0);
		FUZZ_CHECK(strcmp(a.listen_path, c.listen_path) == 0);
	}
	return 0;
}
