/* SPDX-License-Identifier: MIT */
/* UNIX stream sockets: listening with a private mode, and passing fds. */
#ifndef VNP_UNIX_SOCKET_H
#define VNP_UNIX_SOCKET_H

#include <stddef.h>
#include <sys/types.h>

/* Create a listening socket at path with the given mode (e.g. 0600), set
 * atomically through the umask so no other user can ever connect. A stale
 * socket file nobody listens on is replaced; a live one is EADDRINUSE.
 * Returns the fd (non-blocking, close-on-exec) or -errno. */
int unix_listen(const char *path, mode_t mode, int backlog);
/* The same in two steps, for a socket that must exist before anyone can
 * reach it: a non-blocking close-on-exec stream socket (or -errno), then
 * its bind and listen (0 or -errno). */
int unix_stream_socket(void);
int unix_bind_listen(int fd, const char *path, mode_t mode, int backlog);
/* Connect to path. Returns a blocking close-on-exec fd or -errno. */
int unix_connect(const char *path);

/* sendmsg with up to nfds descriptors attached (SCM_RIGHTS); never raises
 * SIGPIPE. Returns bytes sent or -errno. */
ssize_t unix_send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds,
		      int flags);
/* recvmsg that stores received descriptors (close-on-exec) in fds and their
 * count in *nfds. More than maxfds descriptors is -EMSGSIZE with all of them
 * closed, so a peer cannot make us keep descriptors we did not ask for.
 * Returns bytes received (0 at end of stream) or -errno. */
ssize_t unix_recv_fds(int sock, void *buf, size_t len, int *fds, int *nfds, int maxfds,
		      int flags);

void close_fds(int *fds, int n);

#endif
