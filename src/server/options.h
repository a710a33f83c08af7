/* SPDX-License-Identifier: MIT */
/* The server's command line, with the original's options and ranges. */
#ifndef VNP_OPTIONS_H
#define VNP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "link/port_config.h"

#define OPT_QUEUE_SIZE_DEFAULT 256u
#define OPT_QUEUE_SIZE_MAX 32768u
#define OPT_REGISTER_DS_MAX 32
#define OPT_PORTS_MAX 2 /* a link has two ports */

struct server_options {
	const char *svr_path;      /* --svr */
	unsigned queue_size;       /* -s/--size */
	unsigned poll_usec;        /* -p/--poll; 0: event-driven */
	const char *register_ds[OPT_REGISTER_DS_MAX]; /* -d/--register-ds */
	unsigned register_ds_count;
	/* --port: ports created at start-up, parsed by the create request's
	 * own key parser; port_arg keeps each as typed, for messages. */
	struct port_config port[OPT_PORTS_MAX];
	const char *port_arg[OPT_PORTS_MAX];
	unsigned port_count;
	int verbosity;             /* -v minus -q */
	bool help;
	bool version;
};

enum options_result {
	OPTIONS_OK,
	OPTIONS_ERROR, /* err holds the one-line message */
};

/* Parse argv (getopt state is reset, so this may run more than once). */
enum options_result options_parse(int argc, char **argv, struct server_options *o, char *err,
				  size_t errlen);
void options_usage(const char *prog, int to_stderr);

#endif
