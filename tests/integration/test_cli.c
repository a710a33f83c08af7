/* SPDX-License-Identifier: MIT */
/*
 * The server's options and the create request, end to end through the
 * real programs: ranges, defaults, error texts and exit statuses, the
 * control endpoint's mode, and port allocation and release.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "ctl/ctl_client.h"
#include "harness.h"
#include "link/port_config.h"
#include "util/unix_socket.h"

/* The server refuses bad_value for option with exit 1 and a one-line
 * message that names the option, the value and the range. */
static void expect_option_error(const char *option, const char *value, const char *range_text)
{
	const char *argv[] = { server_binary(), "--svr", "/tmp/vnp-never.sock", option, value, NULL };
	char out[1024];

	assert_int_equal(run_capture(argv, out, sizeof out), 1);
	assert_non_null(strstr(out, value));
	assert_non_null(strstr(out, range_text));
	assert_null(strstr(out, "control endpoint /tmp"));
}

static void test_size_range(void **state)
{
	(void)state;
	expect_option_error("-s", "0", "-s/--size: must be a power of 2 in the range of 1 to 32768");
	expect_option_error("-s", "3", "-s/--size");
	expect_option_error("-s", "65536", "1 to 32768");
	expect_option_error("-s", "-8", "-s/--size");
	expect_option_error("-s", "abc", "-s/--size");
	expect_option_error("--size", "300", "-s/--size");
}

static void test_poll_range(void **state)
{
	(void)state;
	expect_option_error("-p", "0", "-p/--poll: must be a positive integer");
	expect_option_error("-p", "-1", "-p/--poll");
	expect_option_error("-p", "ten", "-p/--poll");
	expect_option_error("--poll", "1.5", "-p/--poll");
}

static void test_svr_is_mandatory(void **state)
{
	const char *argv[] = { server_binary(), "-s", "64", NULL };
	char out[1024];

	(void)state;
	assert_int_equal(run_capture(argv, out, sizeof out), 1);
	assert_non_null(strstr(out, "--svr PATH"));
}

static void test_register_ds_missing_file(void **state)
{
	const char *argv[] = { server_binary(), "--svr", "/tmp/vnp-never.sock", "-d",
			       "/nonexistent/shm", NULL };
	char out[1024];

	(void)state;
	assert_int_equal(run_capture(argv, out, sizeof out), 1);
	assert_non_null(strstr(out, "-d/--register-ds"));
	assert_non_null(strstr(out, "/nonexistent/shm"));
}

static void test_unknown_option_and_help(void **state)
{
	const char *bad[] = { server_binary(), "--frobnicate", NULL };
	const char *help[] = { server_binary(), "--help", NULL };
	const char *version[] = { server_binary(), "--version", NULL };
	char out[4096];

	(void)state;
	assert_int_equal(run_capture(bad, out, sizeof out), 1);
	assert_non_null(strstr(out, "--frobnicate"));
	assert_int_equal(run_capture(help, out, sizeof out), 0);
	for (const char *const *o = (const char *const[]){ "--svr", "--size", "--poll",
							      "--register-ds", "--port", NULL };
	     *o; o++)
		assert_non_null(strstr(out, *o));
	assert_int_equal(run_capture(version, out, sizeof out), 0);
	assert_non_null(strstr(out, "vnet-p2p "));
}

/* The defaults the server announces: queue size 256, event-driven. */
static void test_defaults_and_socket_mode(void **state)
{
	struct server s;
	struct stat st;

	(void)state;
	server_start(&s, NULL);
	assert_true(server_log_contains(&s, "queue size up to 256, event-driven", 2000));
	assert_int_equal(stat(s.svr, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	server_stop(&s);
	/* The server removes the socket file it created. */
	assert_int_not_equal(access(s.svr, F_OK), 0);
}

static void expect_create_error(struct server *s, const char *arg, const char *text)
{
	const char *args[] = { arg, NULL };
	char msg[512];
	int fd = -1;

	assert_int_equal(server_create(s, args, &fd, msg, sizeof msg), -EINVAL);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(msg, text));
}

static void test_create_keys(void **state)
{
	struct server s;
	const char *good[] = { "ds-max=80", "mac=2:0:a:bb:c:d", "color=blue", NULL };
	struct vnp_ctl_status st;
	char msg[512];
	int fd = -1;

	(void)state;
	server_start(&s, NULL);
	expect_create_error(&s, "ds-max=0", "ds-max");
	expect_create_error(&s, "ds-max=81", "1..80");
	expect_create_error(&s, "ds-max=x", "ds-max");
	expect_create_error(&s, "ds-max=", "ds-max");
	expect_create_error(&s, "mac=1:2:3:4:5", "mac");
	expect_create_error(&s, "mac=001:2:3:4:5:6", "mac");
	expect_create_error(&s, "mac=1:2:3:4:5:6:7", "mac");
	expect_create_error(&s, "mac=g1:2:3:4:5:6", "mac");

	assert_int_equal(server_create(&s, good, &fd, msg, sizeof msg), 0);
	assert_true(fd >= 0);
	/* The unknown key is ignored, with a warning and a log line. */
	assert_non_null(strstr(msg, "color"));
	assert_true(server_log_contains(&s, "unknown key 'color' ignored", 2000));
	server_status(&s, &st);
	assert_int_equal(st.port[0].state, 1 /* created */);
	assert_int_equal(st.port[0].ds_max, 80);
	assert_true(st.port[0].has_mac);
	assert_memory_equal(st.port[0].mac, ((uint8_t[]){ 2, 0, 0xa, 0xbb, 0xc, 0xd }), 6);
	close(fd);
	server_stop(&s);
}

/* Two ports, a third create fails; closing a port's descriptor frees it. */
static void test_port_allocation_and_release(void **state)
{
	struct server s;
	struct vnp_ctl_status st;
	char msg[512];
	int fd0 = -1, fd1 = -1, fd2 = -1, dup0;

	(void)state;
	server_start(&s, NULL);
	assert_int_equal(server_create(&s, NULL, &fd0, msg, sizeof msg), 0);
	assert_int_equal(server_create(&s, NULL, &fd1, msg, sizeof msg), 1);
	assert_int_equal(server_create(&s, NULL, &fd2, msg, sizeof msg), -ENOMEM);
	assert_non_null(strstr(msg, "no free port"));
	assert_int_equal(fd2, -1);

	/* Released only when the last copy of the descriptor is closed. */
	dup0 = dup(fd0);
	close(fd0);
	usleep(100000);
	server_status(&s, &st);
	assert_int_equal(st.port[0].state, 1 /* created */);
	close(dup0);
	assert_true(server_log_contains(&s, "port0: released", 2000));
	server_status(&s, &st);
	assert_int_equal(st.port[0].state, 0 /* free */);
	assert_int_equal(server_create(&s, NULL, &fd0, msg, sizeof msg), 0);
	close(fd0);
	close(fd1);
	server_stop(&s);
}

static void test_listen_port(void **state)
{
	struct server s;
	char path[192], msg[512];
	const char *args[] = { path, NULL };
	struct stat st;
	int fd = -1;

	(void)state;
	server_start(&s, NULL);
	snprintf(path, sizeof path, "listen=%s/port.sock", s.dir);
	assert_int_equal(server_create(&s, args, &fd, msg, sizeof msg), 0);
	assert_int_equal(fd, -1);
	assert_int_equal(stat(path + 7, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	server_stop(&s);
	assert_int_not_equal(access(path + 7, F_OK), 0);
}

/* --port refuses what create refuses, with create's own message: compare
 * what the server prints with what vnet-p2p-ctl create prints. */
static void test_port_option_messages(void **state)
{
	static const char *const bad[] = { "ds-max=0", "ds-max=81", "ds-max=x", "mac=1:2:3:4:5",
					   "mac=g1:2:3:4:5:6", "listen=" };
	struct server s;

	(void)state;
	server_start(&s, NULL);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char port_arg[96], from_server[1024], from_ctl[1024];
		const char *server_argv[] = { server_binary(), "--svr", "/tmp/vnp-never.sock",
					      "--port", port_arg, NULL };
		const char *ctl_argv[] = { ctl_binary(), "--svr", s.svr, "create", bad[i], "--",
					   "/bin/true", NULL };
		const char *srv_msg, *ctl_msg;

		snprintf(port_arg, sizeof port_arg, "listen=/tmp/vnp-never-port.sock,%s", bad[i]);
		assert_int_equal(run_capture(server_argv, from_server, sizeof from_server), 1);
		assert_int_equal(run_capture(ctl_argv, from_ctl, sizeof from_ctl), 1);
		/* "vnet-p2p: --port: MSG\n" and "vnet-p2p-ctl: create failed: MSG\n" */
		srv_msg = strstr(from_server, "vnet-p2p: --port: ");
		ctl_msg = strstr(from_ctl, "create failed: ");
		assert_non_null(srv_msg);
		assert_non_null(ctl_msg);
		srv_msg += strlen("vnet-p2p: --port: ");
		ctl_msg += strlen("create failed: ");
		if (strcspn(srv_msg, "\n") != strcspn(ctl_msg, "\n") ||
		    strncmp(srv_msg, ctl_msg, strcspn(ctl_msg, "\n")) != 0)
			fail_msg("--port says '%s', create says '%s'", srv_msg, ctl_msg);
		assert_null(strstr(from_server, "created"));
	}
	server_stop(&s);
}

/* Unknown keys, a missing listen=/tap= and a third --port end the server
 * with exit 1 before it creates anything. */
static void test_port_option_refused(void **state)
{
	static const char *const cases[][2] = {
		{ "listen=/tmp/vnp-never-port.sock,colour=blue", "--port: unknown key 'colour'" },
		{ "ds-max=4", "listen=PATH or tap=NAME is required" },
		{ "listen=/tmp/vnp-never-port.sock,", "empty key=value item" },
	};
	const char *three[] = { server_binary(), "--svr", "/tmp/vnp-never.sock", "--port",
				"listen=/tmp/vnp-never-a.sock", "--port", "listen=/tmp/vnp-never-b.sock",
				"--port", "listen=/tmp/vnp-never-c.sock", NULL };
	char out[1024];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *argv[] = { server_binary(), "--svr", "/tmp/vnp-never.sock", "--port",
				       cases[i][0], NULL };

		assert_int_equal(run_capture(argv, out, sizeof out), 1);
		if (!strstr(out, cases[i][1]))
			fail_msg("'--port %s' said '%s'", cases[i][0], out);
	}
	assert_int_equal(run_capture(three, out, sizeof out), 1);
	assert_non_null(strstr(out, "too many --port: at most 2"));
	assert_int_not_equal(access("/tmp/vnp-never-a.sock", F_OK), 0);
	assert_int_not_equal(access("/tmp/vnp-never.sock", F_OK), 0);
}

/* --port ports exist as soon as the server answers: created in order with
 * their keys, reachable at their paths, and they fill the link. A port
 * that cannot be set up (its path is taken) ends the server with exit 1. */
static void test_port_option_creates(void **state)
{
	char dir[] = "/tmp/vnp-test-port-XXXXXX", a[128], b[128], port_a[192], port_b[160];
	const char *extra[] = { "--port", port_a, "--port", port_b, NULL };
	struct vnp_ctl_status st;
	struct server s;
	char msg[512], out[1024];
	struct stat sb;
	int fd = -1;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof a, "%s/a.sock", dir);
	snprintf(b, sizeof b, "%s/b.sock", dir);
	snprintf(port_a, sizeof port_a, "ds-max=5,listen=%s,mac=2:0:0:0:0:a", a);
	snprintf(port_b, sizeof port_b, "listen=%s", b);
	server_start(&s, extra);
	server_status(&s, &st);
	assert_int_equal(st.port[0].state, 1 /* created */);
	assert_int_equal(st.port[0].ds_max, 5);
	assert_true(st.port[0].has_mac);
	assert_int_equal(st.port[0].mac[5], 0xa);
	assert_string_equal(st.port[0].listen_path, a);
	assert_int_equal(st.port[1].state, 1 /* created */);
	assert_int_equal(st.port[1].ds_max, PORT_DS_MAX_DEFAULT);
	assert_false(st.port[1].has_mac);
	assert_string_equal(st.port[1].listen_path, b);
	assert_int_equal(stat(a, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(server_create(&s, NULL, &fd, msg, sizeof msg), -ENOMEM);

	/* A second server with the same port path refuses to start. */
	{
		const char *argv[] = { server_binary(), "--svr", "/tmp/vnp-never.sock", "--port",
				       port_b, NULL };

		assert_int_equal(run_capture(argv, out, sizeof out), 1);
		assert_non_null(strstr(out, "vnet-p2p: --port 'listen="));
		assert_non_null(strstr(out, "Address already in use"));
		assert_int_not_equal(access("/tmp/vnp-never.sock", F_OK), 0);
	}
	server_stop(&s);
	/* The server removes its --port sockets. */
	assert_int_not_equal(access(a, F_OK), 0);
	assert_int_not_equal(access(b, F_OK), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* vnet-p2p-ctl: exit statuses, the command's environment and fd 3. */
static void test_ctl_tool(void **state)
{
	struct server s;
	char out[4096];

	(void)state;
	server_start(&s, NULL);
	{
		const char *argv[] = { ctl_binary(), "--svr", s.svr, "create", "mac=2:0:0:0:0:7", "--",
				       "/bin/sh", "-c",
				       "test -S /proc/self/fd/3 -o -e /proc/self/fd/3 && "
				       "echo fd=$VNET_P2P_PORT_FD mac=$VNET_P2P_MAC; exit 5",
				       NULL };
		assert_int_equal(run_capture(argv, out, sizeof out), 5);
		assert_non_null(strstr(out, "fd=3 mac=02:00:00:00:00:07"));
	}
	{
		const char *argv[] = { ctl_binary(), "--svr", s.svr, "create", NULL };
		assert_int_equal(run_capture(argv, out, sizeof out), 1);
		assert_non_null(strstr(out, "listen=PATH is required"));
	}
	{
		const char *argv[] = { ctl_binary(), "--svr", s.svr, "create", "ds-max=99", "--",
				       "/bin/true", NULL };
		assert_int_equal(run_capture(argv, out, sizeof out), 1);
		assert_non_null(strstr(out, "ds-max"));
	}
	{
		const char *argv[] = { ctl_binary(), "--svr", s.svr, "status", NULL };
		assert_int_equal(run_capture(argv, out, sizeof out), 0);
		assert_non_null(strstr(out, "port 0: free"));
		assert_non_null(strstr(out, "port 1: free"));
	}
	{
		const char *argv[] = { ctl_binary(), "--svr", "/nonexistent/ctl.sock", "status", NULL };
		assert_int_equal(run_capture(argv, out, sizeof out), 1);
		assert_non_null(strstr(out, "cannot reach the server"));
	}
	server_stop(&s);
}

/* systemd socket activation: the endpoint arrives as fd 3 with
 * LISTEN_PID/LISTEN_FDS, and --svr is then not needed. */
static void test_socket_activation(void **state)
{
	char dir[] = "/tmp/vnp-test-act-XXXXXX", path[128], log[160], msg[256];
	int lfd, status, sock, port_fd = -1;
	struct vnp_ctl_created created;
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/ctl.sock", dir);
	snprintf(log, sizeof log, "%s/server.log", dir);
	lfd = unix_listen(path, 0600, 4);
	assert_true(lfd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char pidbuf[16];
		int logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(logfd, 2);
		if (lfd == 3)
			fcntl(3, F_SETFD, 0); /* keep it across exec */
		else
			dup2(lfd, 3); /* dup2 clears close-on-exec */
		snprintf(pidbuf, sizeof pidbuf, "%d", getpid());
		setenv("LISTEN_PID", pidbuf, 1);
		setenv("LISTEN_FDS", "1", 1);
		execl(server_binary(), server_binary(), (char *)NULL);
		_exit(127);
	}
	close(lfd);
	sock = -1;
	for (int i = 0; i < 200 && sock < 0; i++) {
		sock = ctl_connect(path);
		if (sock < 0)
			usleep(10000);
	}
	assert_true(sock >= 0);
	assert_int_equal(ctl_create(sock, NULL, 0, -1, &created, &port_fd, msg, sizeof msg), 0);
	assert_true(port_fd >= 0);
	close(port_fd);
	close(sock);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* An inherited endpoint is not ours to remove. */
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
	unlink(log);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_range),
		cmocka_unit_test(test_poll_range),
		cmocka_unit_test(test_svr_is_mandatory),
		cmocka_unit_test(test_register_ds_missing_file),
		cmocka_unit_test(test_unknown_option_and_help),
		cmocka_unit_test(test_defaults_and_socket_mode),
		cmocka_unit_test(test_create_keys),
		cmocka_unit_test(test_port_allocation_and_release),
		cmocka_unit_test(test_listen_port),
		cmocka_unit_test(test_port_option_messages),
		cmocka_unit_test(test_port_option_refused),
		cmocka_unit_test(test_port_option_creates),
		cmocka_unit_test(test_ctl_tool),
		cmocka_unit_test(test_socket_activation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
