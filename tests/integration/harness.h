/* SPDX-License-Identifier: MIT */
/*
 * Integration-test harness: runs a real vnet-p2p server in a private
 * directory, creates ports through the control endpoint, and reads what
 * the server logged.
 */
#ifndef VNP_TEST_HARNESS_H
#define VNP_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ctl/ctl_proto.h"

struct server {
	pid_t pid;
	char dir[64];      /* private temporary directory */
	char svr[128];     /* control endpoint path */
	char log[128];     /* the server's stderr */
};

/* Start the server with extra arguments (NULL-terminated); waits until its
 * control endpoint accepts connections. Fails the test otherwise. */
void server_start(struct server *s, const char *const *extra_args);
/* SIGTERM, wait, and check it exited 0; removes the directory. */
void server_stop(struct server *s);
/* Whether the server is still running. */
bool server_alive(struct server *s);
/* Whether the server's log contains text (waits up to timeout_ms for it). */
bool server_log_contains(struct server *s, const char *text, int timeout_ms);

/* create over the control endpoint: returns the port index and its
 * descriptor in *fd (-1 for listen= ports), or -errno with msg. */
int server_create(struct server *s, const char *const *args, int *fd, char *msg, size_t msglen);
void server_status(struct server *s, struct vnp_ctl_status *st);

/* Run a program to completion, capturing stderr; returns its exit status. */
int run_capture(const char *const *argv, char *out, size_t outlen);

/* Paths of the built programs (from the environment meson gives tests). */
const char *server_binary(void);
const char *ctl_binary(void);

uint64_t now_ms(void);

#endif
