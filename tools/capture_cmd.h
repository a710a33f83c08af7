/* SPDX-License-Identifier: MIT */
/* vnet-p2p-ctl capture: the packets crossing the link, as pcapng. */
#ifndef VNP_CAPTURE_CMD_H
#define VNP_CAPTURE_CMD_H

#include <stdint.h>

struct capture_opts {
	int port;          /* -1: both ports, each frame once; else that port's view */
	uint64_t count;    /* stop after this many packets; 0: no limit */
	const char *path;  /* "-": standard output */
};

/* Parse the arguments after "capture". Returns 0, or -1 with a message printed. */
int capture_parse(int argc, char **argv, struct capture_opts *o);
/* Capture over sock (connected to the server); returns the exit status. */
int capture_run(int sock, const struct capture_opts *o);

#endif
