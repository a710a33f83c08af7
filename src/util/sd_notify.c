/* SPDX-License-Identifier: MIT */
#include "util/sd_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int notify_service_manager(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len, state_len = strlen(state);
	socklen_t salen;
	ssize_t sent;
	int fd, rc;

	if (!name || !*name)
		return 0;
	len = strlen(name);
	/* An absolute path, or '@' for the abstract namespace (whose name is
	 * not NUL-terminated: the address length delimits it). */
	if ((name[0] != '/' && name[0] != '@') || len < 2 || len >= sizeof sa.sun_path)
		return -EAFNOSUPPORT;
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (name[0] == '/'));

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sent = sendto(fd, state, state_len, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	rc = sent < 0 ? -errno : (size_t)sent == state_len ? 1 : -EMSGSIZE;
	close(fd);
	return rc;
}
