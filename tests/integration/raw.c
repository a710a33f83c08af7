/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "util/unix_socket.h"
#include "vhost/vhost_user_proto.h"

int raw_send(int sock, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
	     const int *fds, int nfds)
{
	uint8_t buf[sizeof(struct vhost_user_header) + 4096];
	struct vhost_user_header h = { request, flags, size };
	ssize_t n;

	assert_true(size <= 4096);
	memcpy(buf, &h, sizeof h);
	if (size)
		memcpy(buf + sizeof h, payload, size);
	n = unix_send_fds(sock, buf, sizeof h + size, fds, nfds, 0);
	return n < 0 ? (int)n : 0;
}

static int read_exact(int sock, void *buf, size_t len, int timeout_ms)
{
	size_t have = 0;

	while (have < len) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		n = recv(sock, (uint8_t *)buf + have, len - have, 0);
		if (n <= 0)
			return -ECONNRESET;
		have += (size_t)n;
	}
	return 0;
}

int raw_reply(int sock, uint32_t request, void *payload, uint32_t cap, int timeout_ms)
{
	struct vhost_user_header h;
	uint8_t buf[4096];
	int rc = read_exact(sock, &h, sizeof h, timeout_ms);

	if (rc)
		return rc;
	assert_int_equal(h.request, request);
	assert_true(h.flags & VHOST_USER_REPLY_MASK);
	assert_true(h.size <= sizeof buf);
	rc = read_exact(sock, buf, h.size, timeout_ms);
	if (rc)
		return rc;
	memcpy(payload, buf, h.size < cap ? h.size : cap);
	return (int)h.size;
}

bool raw_closed(int sock, int timeout_ms)
{
	uint8_t junk[4096];

	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			return false;
		n = recv(sock, junk, sizeof junk, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			return true;
	}
}

static int count_fds_now(struct server *s);

/* Counted once the server has settled (e.g. closed the connection of the
 * harness's readiness probe). */
int server_fd_count(struct server *s)
{
	int n = count_fds_now(s);

	for (int i = 0; i < 50; i++) {
		int again;

		usleep(10000);
		again = count_fds_now(s);
		if (again == n)
			return n;
		n = again;
	}
	return n;
}

static int count_fds_now(struct server *s)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)s->pid);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

long server_private_kib(struct server *s)
{
	char path[64], line[256];
	long kib = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)s->pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof line, f)) {
		long v;

		if (sscanf(line, "Private_Dirty: %ld kB", &v) == 1)
			kib += v;
	}
	fclose(f);
	return kib;
}

long server_cpu_ticks(struct server *s)
{
	char path[64], buf[1024], *p;
	unsigned long utime, stime;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)s->pid);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof buf, f));
	fclose(f);
	p = strrchr(buf, ')');
	assert_non_null(p);
	/* After the name: state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime. */
	assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
				&stime),
			 2);
	return (long)(utime + stime);
}
