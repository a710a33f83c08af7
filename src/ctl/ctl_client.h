/* SPDX-License-Identifier: MIT */
/* The client side of the control endpoint, for vnet-p2p-ctl and tests. */
#ifndef VNP_CTL_CLIENT_H
#define VNP_CTL_CLIENT_H

#include <stddef.h>

#include "ctl/ctl_proto.h"

/* Connect to the control endpoint. Returns a socket or -errno. */
int ctl_connect(const char *svr_path);

/* create(0, args...). listen_fd >= 0 is passed along (a listening socket
 * for the port's clients). On success returns 0 with *out filled, the port
 * descriptor (or lease) in *port_fd (-1 for listen= ports) and the server's
 * warnings in msg. On failure returns the server's -errno with its message
 * in msg, or a local -errno. */
int ctl_create(int sock, const char *const *args, int nargs, int listen_fd,
	       struct vnp_ctl_created *out, int *port_fd, char *msg, size_t msglen);

int ctl_status(int sock, struct vnp_ctl_status *out, char *msg, size_t msglen);

/* Ask for the capture stream. On success (0) the socket carries it from
 * now on: read it with struct capture_reader (ctl/capture_reader.h). */
int ctl_capture_start(int sock, struct vnp_ctl_capture_info *info, char *msg, size_t msglen);

#endif
