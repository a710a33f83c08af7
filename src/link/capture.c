/* SPDX-License-Identifier: MIT */
#include "link/capture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop/evloop.h"
#include "util/log.h"

struct capture {
	struct capture_slot *slot;
	int fd;
	struct evloop_watch watch;
	bool want_out; /* the socket is full: wait for EPOLLOUT */
	struct capture_buf buf;
};

static void capture_close(struct capture *c, const char *why)
{
	struct capture_buf *b = &c->buf;

	log_info("capture ended (%s): %llu frames recorded, %llu dropped by the capture", why,
		 (unsigned long long)(b->packets[0] + b->packets[1]),
		 (unsigned long long)(b->dropped[0] + b->dropped[1]));
	evloop_del(c->slot->loop, &c->watch);
	close(c->fd);
	capture_buf_free(b);
	c->slot->active = NULL;
	c->slot->recording = NULL;
	free(c);
}

/* Readable: only to see the reader's end. Writable: when something waits.
 * After the end record there is nothing more to read. */
static void watch_events(struct capture *c)
{
	uint32_t ev = c->buf.ended ? 0 : EPOLLIN | EPOLLRDHUP;

	if (c->want_out)
		ev |= EPOLLOUT;
	evloop_mod(c->slot->loop, &c->watch, ev);
}

/* Returns false when the capture is over and c is gone. */
static bool send_pending(struct capture *c)
{
	for (;;) {
		const uint8_t *p;
		size_t n = capture_buf_pending(&c->buf, &p);
		ssize_t sent;

		if (!n) {
			if (c->buf.ended) {
				capture_close(c, "the reader asked");
				return false;
			}
			return true;
		}
		sent = send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0 && errno == EINTR)
			continue;
		if (sent < 0 && errno == EAGAIN) {
			c->want_out = true;
			watch_events(c);
			return true;
		}
		if (sent <= 0) {
			capture_close(c, sent < 0 ? strerror(errno) : "short send");
			return false;
		}
		capture_buf_consume(&c->buf, (size_t)sent);
	}
}

static void on_event(void *arg, uint32_t events)
{
	struct capture *c = arg;

	if (events & (EPOLLHUP | EPOLLERR)) {
		capture_close(c, "the reader went away");
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP)) {
		char byte;
		ssize_t n = recv(c->fd, &byte, 1, MSG_DONTWAIT);

		if (n > 0) {
			log_warn("capture reader sent data after its request: capture closed");
			capture_close(c, "protocol violation");
			return;
		}
		if (n == 0) {
			/* It shut down its side: the rest, the end record, close. */
			c->slot->recording = NULL;
			capture_buf_end(&c->buf);
			watch_events(c);
		} else if (errno != EAGAIN && errno != EINTR) {
			capture_close(c, strerror(errno));
			return;
		}
	}
	if (events & EPOLLOUT) {
		c->want_out = false;
		watch_events(c);
	}
	if (!c->want_out)
		send_pending(c);
}

int capture_attach(struct capture_slot *l, int fd, char *err, size_t errlen)
{
	struct capture *c;
	int rc;

	if (l->active) {
		snprintf(err, errlen, "a capture is running already (one at a time)");
		return -EBUSY;
	}
	c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "no memory for a capture");
		return -ENOMEM;
	}
	rc = capture_buf_init(&c->buf, CAPTURE_BUFFER_BYTES);
	if (rc == 0) {
		c->slot = l;
		c->fd = fd;
		rc = evloop_add(l->loop, &c->watch, fd, EPOLLIN | EPOLLRDHUP, on_event, c);
		if (rc < 0)
			capture_buf_free(&c->buf);
	}
	if (rc < 0) {
		snprintf(err, errlen, "cannot start a capture: %s", strerror(-rc));
		free(c);
		return rc;
	}
	l->active = c;
	l->recording = &c->buf;
	log_info("capture started (%u KiB buffer)", CAPTURE_BUFFER_BYTES / 1024);
	return 0;
}

unsigned capture_count(const struct capture_slot *l)
{
	return l->active ? 1 : 0;
}

struct capture_buf *capture_recording(const struct capture_slot *l)
{
	return l->recording;
}

void capture_flush(struct capture_slot *l)
{
	struct capture *c = l->active;

	if (c && !c->want_out && c->buf.head != c->buf.tail)
		send_pending(c);
}

void capture_detach(struct capture_slot *l)
{
	struct capture *c = l->active;

	if (!c)
		return;
	l->recording = NULL;
	capture_buf_end(&c->buf);
	c->want_out = false;
	if (send_pending(c))
		capture_close(c, "the server stops");
}
