/* SPDX-License-Identifier: MIT */
/*
 * A tiny epoll event loop: fd watches, a hook that runs before each sleep,
 * and a "more work pending" flag that turns the next sleep into a poll.
 * Idle means blocked in epoll_wait with no timeout: no CPU at all.
 */
#ifndef VNP_EVLOOP_H
#define VNP_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct evloop;

/* Called with the epoll event mask (EPOLLIN, EPOLLHUP, ...). */
typedef void (*evloop_fd_cb)(void *arg, uint32_t events);
typedef void (*evloop_hook_cb)(void *arg);

/* Zero-initialised means "not registered". */
struct evloop_watch {
	int fd;
	evloop_fd_cb cb; /* NULL while not registered */
	void *arg;
};

struct evloop *evloop_new(void);
void evloop_free(struct evloop *loop);

/* The watch struct is caller-owned and must stay put while registered. */
int evloop_add(struct evloop *loop, struct evloop_watch *w, int fd, uint32_t events,
	       evloop_fd_cb cb, void *arg);
int evloop_mod(struct evloop *loop, struct evloop_watch *w, uint32_t events);
/* Harmless on a watch that is not registered. */
void evloop_del(struct evloop *loop, struct evloop_watch *w);

/* Runs after each batch of events, before the loop sleeps again. */
void evloop_set_before_sleep(struct evloop *loop, evloop_hook_cb cb, void *arg);
/* Ask for another turn without sleeping (work left over after a budget). */
void evloop_want_more(struct evloop *loop);

/* Run until evloop_stop(). Returns 0, or -errno if epoll failed. */
int evloop_run(struct evloop *loop);
void evloop_stop(struct evloop *loop);

#endif
