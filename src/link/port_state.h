/* SPDX-License-Identifier: MIT */
/* Where a port is in its life, as status reports it. */
#ifndef VNP_PORT_STATE_H
#define VNP_PORT_STATE_H

enum port_state {
	PORT_FREE,      /* not created */
	PORT_CREATED,   /* created, no client session yet */
	PORT_CONNECTED, /* a client is talking vhost-user, rings not all running */
	PORT_RUNNING,   /* both rings run */
	PORT_FAILED,    /* the client broke the rules; waits for a reset */
};

static inline const char *port_state_name(enum port_state s)
{
	static const char *const names[] = { "free", "created", "connected", "running", "failed" };

	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

#endif
