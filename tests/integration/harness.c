/* SPDX-License-Identifier: MIT */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl/ctl_client.h"

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *server_binary(void)
{
	const char *p = getenv("VNET_P2P_BIN");

	assert_non_null(p);
	return p;
}

const char *ctl_binary(void)
{
	const char *p = getenv("VNET_P2P_CTL_BIN");

	assert_non_null(p);
	return p;
}

/* A control connection to the server, or the test fails saying why. */
static int harness_connect(struct server *s)
{
	int sock = ctl_connect(s->svr);

	if (sock < 0)
		fail_msg("cannot connect to %s: %s (server %s)", s->svr, strerror(-sock),
			 server_alive(s) ? "running" : "gone");
	return sock;
}

void ctl_close_synced(int sock)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	uint64_t deadline = now_ms() + 10000;
	char junk[256];

	/* The server closes its end when it reads our EOF; our read sees its
	 * close only after that end has left the server's descriptor table. */
	shutdown(sock, SHUT_WR);
	while (now_ms() < deadline) {
		if (poll(&pfd, 1, 100) > 0 && read(sock, junk, sizeof junk) <= 0)
			break;
	}
	close(sock);
}

void server_start(struct server *s, const char *const *extra)
{
	const char *argv[32];
	int n = 0, fd;

	memset(s, 0, sizeof *s);
	snprintf(s->dir, sizeof s->dir, "/tmp/vnp-test-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->svr, sizeof s->svr, "%s/ctl.sock", s->dir);
	snprintf(s->log, sizeof s->log, "%s/server.log", s->dir);

	argv[n++] = server_binary();
	argv[n++] = "--svr";
	argv[n++] = s->svr;
	argv[n++] = "-v";
	for (int i = 0; extra && extra[i] && n < 31; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		/* Never outlive the test, whatever becomes of it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		int sock = ctl_connect(s->svr);

		if (sock >= 0) {
			ctl_close_synced(sock);
			return;
		}
		usleep(10000);
	}
	fail_msg("server did not come up (log %s)", s->log);
}

bool server_alive(struct server *s)
{
	return s->pid > 0 && waitpid(s->pid, NULL, WNOHANG) == 0;
}

void server_stop(struct server *s)
{
	int status = 0;
	char cmd[160];

	if (s->pid <= 0) {
		/* Stopped already (a test sent its own signal): the directory
		 * is still ours to remove. */
		if (s->dir[0]) {
			snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
			(void)!system(cmd);
			s->dir[0] = '\0';
		}
		return;
	}
	kill(s->pid, SIGTERM);
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
	s->pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(cmd, sizeof cmd, "cat %s >&2", s->log);
		(void)!system(cmd);
		fail_msg("server did not exit cleanly (status 0x%x)", status);
	}
	snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
	(void)!system(cmd);
	s->dir[0] = '\0';
}

bool server_log_contains(struct server *s, const char *text, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	do {
		FILE *f = fopen(s->log, "r");
		char line[2048];
		bool found = false;

		if (f) {
			while (!found && fgets(line, sizeof line, f))
				found = strstr(line, text) != NULL;
			fclose(f);
		}
		if (found)
			return true;
		usleep(10000);
	} while (now_ms() < deadline);
	return false;
}

int server_create(struct server *s, const char *const *args, int *fd, char *msg, size_t msglen)
{
	struct vnp_ctl_created created;
	int sock, n = 0, rc;

	while (args && args[n])
		n++;
	sock = harness_connect(s);
	rc = ctl_create(sock, args, n, -1, &created, fd, msg, msglen);
	ctl_close_synced(sock);
	return rc < 0 ? rc : (int)created.port;
}

void server_status(struct server *s, struct vnp_ctl_status *st)
{
	char msg[256];
	int sock = harness_connect(s);

	assert_int_equal(ctl_status(sock, st, msg, sizeof msg), 0);
	ctl_close_synced(sock);
}

int run_capture(const char *const *argv, char *out, size_t outlen)
{
	int pipefd[2], status;
	size_t have = 0;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		close(pipefd[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t n = read(pipefd[0], out + have, outlen - 1 - have);

		if (n <= 0)
			break;
		have += (size_t)n;
		if (have == outlen - 1)
			break;
	}
	out[have] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

pid_t spawn_piped(const char *const *argv, int *out, int *err)
{
	int op[2], ep[2];
	pid_t pid;

	assert_int_equal(pipe(op), 0);
	assert_int_equal(pipe(ep), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(op[1], 1);
		dup2(ep[1], 2);
		close(op[0]);
		close(op[1]);
		close(ep[0]);
		close(ep[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(op[1]);
	close(ep[1]);
	*out = op[0];
	*err = ep[0];
	return pid;
}

int run_output(const char *const *argv, char *out, size_t outlen, char *err, size_t errlen)
{
	int status, ofd, efd;
	char *buf[2] = { out, err };
	size_t cap[2] = { outlen, errlen }, have[2] = { 0, 0 };
	struct pollfd pfd[2];
	pid_t pid = spawn_piped(argv, &ofd, &efd);

	pfd[0] = (struct pollfd){ .fd = ofd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = efd, .events = POLLIN };
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		if (poll(pfd, 2, -1) < 0)
			continue;
		for (int i = 0; i < 2; i++) {
			char junk[4096];
			ssize_t n;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			/* Beyond the caller's room the rest is read and dropped. */
			if (cap[i] && have[i] < cap[i] - 1)
				n = read(pfd[i].fd, buf[i] + have[i], cap[i] - 1 - have[i]);
			else
				n = read(pfd[i].fd, junk, sizeof junk);
			if (n <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
			} else if (cap[i] && have[i] < cap[i] - 1) {
				have[i] += (size_t)n;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (cap[i])
			buf[i][have[i]] = '\0';
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
