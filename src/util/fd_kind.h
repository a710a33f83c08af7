/* SPDX-License-Identifier: MIT */
/* What a descriptor a client passed us really is. */
#ifndef VNP_FD_KIND_H
#define VNP_FD_KIND_H

#include <stdbool.h>

/* True for an eventfd. Kick, call and error descriptors must be eventfds:
 * anything else could block us, fill up, or never become quiet. */
bool fd_is_eventfd(int fd);
/* Make a shared descriptor non-blocking, so a client that drains or fills
 * its own eventfd behind our back cannot block the server. */
int fd_set_nonblocking(int fd);

#endif
