/* SPDX-License-Identifier: MIT */
#include "util/unix_socket.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_PASSED_FDS 16

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof sa->sun_path)
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, len + 1);
	return 0;
}

int unix_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, rc;

	rc = fill_addr(&sa, path);
	if (rc < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static int remove_stale_socket(const char *path)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = unix_connect(path);
	if (fd >= 0) {
		close(fd);
		return -EADDRINUSE;
	}
	if (fd != -ECONNREFUSED)
		return fd;
	return unlink(path) < 0 ? -errno : 0;
}

int unix_stream_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	return fd < 0 ? -errno : fd;
}

int unix_bind_listen(int fd, const char *path, mode_t mode, int backlog)
{
	struct sockaddr_un sa, tmp;
	mode_t old_umask;
	int rc;

	rc = fill_addr(&sa, path);
	if (rc < 0)
		return rc;
	rc = remove_stale_socket(path);
	if (rc < 0)
		return rc;
	/* Bound and listening under a name of its own first, then renamed into
	 * place: whoever waits for the path to appear can connect as soon as
	 * it does (a bound socket not yet listening refuses connections). A
	 * path too long for the extra suffix is bound where it is. */
	if (snprintf(tmp.sun_path, sizeof tmp.sun_path, "%s.%ld~", path, (long)getpid()) >=
	    (int)sizeof tmp.sun_path)
		tmp = sa;
	tmp.sun_family = AF_UNIX;
	unlink(tmp.sun_path);
	old_umask = umask((mode_t)~mode & 0777);
	rc = bind(fd, (struct sockaddr *)&tmp, sizeof tmp);
	umask(old_umask);
	if (rc < 0 || listen(fd, backlog) < 0 ||
	    (strcmp(tmp.sun_path, sa.sun_path) && rename(tmp.sun_path, sa.sun_path) < 0)) {
		rc = -errno;
		if (strcmp(tmp.sun_path, sa.sun_path))
			unlink(tmp.sun_path);
		return rc;
	}
	return 0;
}

int unix_listen(const char *path, mode_t mode, int backlog)
{
	int fd = unix_stream_socket(), rc;

	if (fd < 0)
		return fd;
	rc = unix_bind_listen(fd, path, mode, backlog);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

ssize_t unix_send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds,
		      int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_PASSED_FDS)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds < 0 || nfds > MAX_PASSED_FDS)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *cmsg;

		memset(&control, 0, sizeof control);
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * (size_t)nfds);
	}
	do {
		n = sendmsg(sock, &msg, flags | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

ssize_t unix_recv_fds(int sock, void *buf, size_t len, int *fds, int *nfds, int maxfds,
		      int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_PASSED_FDS)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof control.buf,
	};
	int got[MAX_PASSED_FDS];
	int ngot = 0;
	ssize_t n;

	*nfds = 0;
	do {
		n = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t count;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
			if (ngot < MAX_PASSED_FDS)
				got[ngot++] = fd;
			else
				close(fd);
		}
	}
	if ((msg.msg_flags & MSG_CTRUNC) || ngot > maxfds) {
		close_fds(got, ngot);
		return -EMSGSIZE;
	}
	memcpy(fds, got, sizeof(int) * (size_t)ngot);
	*nfds = ngot;
	return n;
}
