/* SPDX-License-Identifier: MIT */
#include "evloop/evloop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define EVLOOP_BATCH 64

struct evloop {
	int epfd;
	bool stopping;
	bool more;
	evloop_hook_cb before_sleep;
	void *before_sleep_arg;
	/* The batch being dispatched, so evloop_del can cancel pending events. */
	struct epoll_event batch[EVLOOP_BATCH];
	int batch_len;
};

struct evloop *evloop_new(void)
{
	struct evloop *loop = calloc(1, sizeof *loop);

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	return loop;
}

void evloop_free(struct evloop *loop)
{
	if (!loop)
		return;
	close(loop->epfd);
	free(loop);
}

int evloop_add(struct evloop *loop, struct evloop_watch *w, int fd, uint32_t events,
	       evloop_fd_cb cb, void *arg)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		w->fd = -1;
		w->cb = NULL;
		return -errno;
	}
	return 0;
}

int evloop_mod(struct evloop *loop, struct evloop_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0 ? -errno : 0;
}

void evloop_del(struct evloop *loop, struct evloop_watch *w)
{
	if (!w->cb)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	/* A callback earlier in this batch may remove a watch whose event is
	 * still queued behind it: forget that event. */
	for (int i = 0; i < loop->batch_len; i++)
		if (loop->batch[i].data.ptr == w)
			loop->batch[i].data.ptr = NULL;
	w->fd = -1;
	w->cb = NULL;
}

void evloop_set_before_sleep(struct evloop *loop, evloop_hook_cb cb, void *arg)
{
	loop->before_sleep = cb;
	loop->before_sleep_arg = arg;
}

void evloop_want_more(struct evloop *loop) { loop->more = true; }

void evloop_stop(struct evloop *loop) { loop->stopping = true; }

int evloop_run(struct evloop *loop)
{
	loop->stopping = false;
	while (!loop->stopping) {
		int n;

		if (loop->before_sleep)
			loop->before_sleep(loop->before_sleep_arg);
		if (loop->stopping)
			break;
		n = epoll_wait(loop->epfd, loop->batch, EVLOOP_BATCH, loop->more ? 0 : -1);
		loop->more = false;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		loop->batch_len = n;
		for (int i = 0; i < n; i++) {
			struct evloop_watch *w = loop->batch[i].data.ptr;

			if (w)
				w->cb(w->arg, loop->batch[i].events);
		}
		loop->batch_len = 0;
	}
	return 0;
}
