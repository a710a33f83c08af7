/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: options_parse() on a command line made from the input:
 * argv[0] is "vnet-p2p", the input split at NUL bytes gives the rest (at
 * most MAX_ARGS in all), each argument its own exactly sized allocation so
 * ASan sees any read past its end.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "server/options.h"
#include "util/checked.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 32

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	return 0;
}

/* Whether p points into one of the arguments. */
static bool in_args(const char *p, char **args, int n)
{
	for (int i = 0; i < n; i++) {
		size_t len = strlen(args[i]);

		if ((uintptr_t)p >= (uintptr_t)args[i] && (uintptr_t)p <= (uintptr_t)args[i] + len)
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *args[MAX_ARGS], *argv[MAX_ARGS + 1];
	struct server_options o;
	char *err = malloc(160);
	int argc = 0;
	size_t off = 0;

	FUZZ_CHECK(err);
	err[0] = '\0';
	args[argc++] = strdup("vnet-p2p");
	while (off < size && argc < MAX_ARGS) {
		const uint8_t *nul = memchr(data + off, '\0', size - off);
		size_t len = nul ? (size_t)(nul - (data + off)) : size - off;
		char *a = malloc(len + 1);

		FUZZ_CHECK(a);
		memcpy(a, data + off, len);
		a[len] = '\0';
		args[argc++] = a;
		off += len + 1;
	}
	FUZZ_CHECK(args[0]);
	/* getopt permutes argv: keep our own list of what to free. */
	memcpy(argv, args, sizeof(char *) * (size_t)argc);
	argv[argc] = NULL;

	if (options_parse(argc, argv, &o, err, 160) == OPTIONS_OK) {
		FUZZ_CHECK(is_power_of_2(o.queue_size) && o.queue_size <= OPT_QUEUE_SIZE_MAX);
		FUZZ_CHECK(o.poll_usec <= 1000u * 1000 * 1000);
		FUZZ_CHECK(o.register_ds_count <= OPT_REGISTER_DS_MAX);
		FUZZ_CHECK(!o.svr_path || in_args(o.svr_path, args, argc));
		for (unsigned i = 0; i < o.register_ds_count; i++)
			FUZZ_CHECK(in_args(o.register_ds[i], args, argc));
		FUZZ_CHECK(o.port_count <= OPT_PORTS_MAX);
		for (unsigned i = 0; i < o.port_count; i++) {
			FUZZ_CHECK(in_args(o.port_arg[i], args, argc));
			FUZZ_CHECK(o.port[i].ds_max >= 1 && o.port[i].ds_max <= PORT_DS_MAX_LIMIT);
			FUZZ_CHECK(memchr(o.port[i].listen_path, '\0', sizeof o.port[i].listen_path));
		}
	} else {
		FUZZ_CHECK(memchr(err, '\0', 160) && err[0]);
	}
	for (int i = 0; i < argc; i++)
		free(args[i]);
	free(err);
	return 0;
}
