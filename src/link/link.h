/* SPDX-License-Identifier: MIT */
/*
 * The p2p link: one server, exactly two ports, two directions. Each port is
 * the device side of a virtio-net device over vhost-user; what one port's
 * client transmits is copied once into the other port's receive buffers.
 */
#ifndef VNP_LINK_H
#define VNP_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link/link_options.h"
#include "link/port_config.h"
#include "link/port_state.h"
#include "link/port_stats.h"

struct capture_slot;
struct evloop;

#define LINK_PORTS 2

/* The default mem-max: a quarter of the address space the server may map
 * (RLIMIT_AS, or x86-64's 128 TiB), 32 TiB unless limited. Both ports at
 * their limits leave half of it to the server and to each other's growth,
 * so no client can make the other port's memory, or the server's own
 * buffers, fail to map. */
uint64_t link_default_mem_max(void);

struct port_status {
	enum port_state state;
	struct port_config cfg;
	uint64_t features;    /* negotiated */
	uint64_t mem_max;     /* its mem-max, the default filled in */
	uint16_t queue_size[2];
	struct port_stats stats;
	unsigned queues_active;                /* pairs with both rings running */
	struct queue_stats queue[PORT_QUEUES_MAX]; /* per pair, cfg.queues of them */
	char last_error[160];
};

struct link;

struct link *link_new(struct evloop *loop, const struct link_options *opts);
/* Releases every port and removes the socket files the link created. */
void link_free(struct link *link);

/*
 * create(): take a free port.
 * - cfg->listen_path set: bind a listening vhost-user socket there; clients
 *   connect and reconnect; the port lives until the server exits.
 * - client_listen_fd >= 0: accept the port's clients on this listening
 *   socket made by the caller; *port_fd gets a lease descriptor whose last
 *   close releases the port.
 * - otherwise: *port_fd gets the client end of a connected socket pair: the
 *   port itself, released when the last copy is closed.
 * Returns the port index, or -errno with a message in err (-ENOMEM "no free
 * port" when both are taken).
 */
int link_create_port(struct link *link, const struct port_config *cfg, int client_listen_fd,
		     int *port_fd, char *err, size_t errlen);

void link_port_status(struct link *link, unsigned index, struct port_status *out);

/* Where the link's capture is attached (link/capture.h). */
struct capture_slot *link_capture(struct link *link);

#endif
