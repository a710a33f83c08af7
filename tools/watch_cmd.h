/* SPDX-License-Identifier: MIT */
/* vnet-p2p-ctl status --watch: live rates per port and direction. */
#ifndef VNP_WATCH_CMD_H
#define VNP_WATCH_CMD_H

#include <stdbool.h>
#include <stdint.h>

#define WATCH_MIN_S 0.1
#define WATCH_MAX_S 3600.0

struct watch_opts {
	double interval; /* seconds */
	uint64_t count;  /* screens to show; 0: until stopped */
	const char *svr; /* shown in the header */
};

/* "0.5", "2", ".25": a plain decimal within WATCH_MIN_S..WATCH_MAX_S. */
bool watch_parse_interval(const char *s, double *out);
/* Watch: the first snapshot over sock (connected to the server, closed
 * here), each later one over a new connection to o->svr. Returns the exit
 * status. */
int watch_run(int sock, const struct watch_opts *o);

#endif
