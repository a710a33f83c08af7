/* SPDX-License-Identifier: MIT */
/* The control endpoint: accepts create and status requests. */
#ifndef VNP_CTL_SERVER_H
#define VNP_CTL_SERVER_H

struct evloop;
struct link;
struct ctl_server;

/* Serve on an already listening socket (ours or inherited); takes it over. */
struct ctl_server *ctl_server_new(struct evloop *loop, struct link *link, int listen_fd);
void ctl_server_free(struct ctl_server *srv);

#endif
