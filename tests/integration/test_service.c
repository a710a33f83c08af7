/* SPDX-License-Identifier: MIT */
/*
 * The server as a service: it stops cleanly on SIGTERM and SIGINT and
 * removes its socket files; it logs "<N>"-prefixed lines when stderr is
 * the journal; it reports READY=1 and STOPPING=1 to $NOTIFY_SOCKET (a path
 * or an abstract name); and it starts under systemd-socket-activate, the
 * activation protocol of a socket unit, with its --port ports.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl/ctl_client.h"
#include "harness.h"

struct spawned {
	pid_t pid;
	char dir[64];
	char svr[128];
	char log[128];
	char port_a[128], port_b[128];
};

/* A private directory with the paths a server started below will use. */
static void spawned_init(struct spawned *sp)
{
	memset(sp, 0, sizeof *sp);
	snprintf(sp->dir, sizeof sp->dir, "/tmp/vnp-test-svc-XXXXXX");
	assert_non_null(mkdtemp(sp->dir));
	snprintf(sp->svr, sizeof sp->svr, "%s/ctl.sock", sp->dir);
	snprintf(sp->log, sizeof sp->log, "%s/server.log", sp->dir);
	snprintf(sp->port_a, sizeof sp->port_a, "%s/a.sock", sp->dir);
	snprintf(sp->port_b, sizeof sp->port_b, "%s/b.sock", sp->dir);
}

/* Run argv with stderr (and stdout) on sp->log and the environment
 * assignments in env ("NAME=VALUE", NULL-terminated; "NAME=@LOG_INODE"
 * stands for the log file's "device:inode", as systemd sets
 * JOURNAL_STREAM). */
static void spawn(struct spawned *sp, const char *const *argv, const char *const *env)
{
	sp->pid = fork();
	assert_true(sp->pid >= 0);
	if (sp->pid == 0) {
		int fd = open(sp->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		struct stat st;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd < 0 || fstat(fd, &st) < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
		for (int i = 0; env && env[i]; i++) {
			const char *eq = strchr(env[i], '=');
			char name[64], value[64];

			snprintf(name, sizeof name, "%.*s", (int)(eq - env[i]), env[i]);
			if (strcmp(eq + 1, "@LOG_INODE") == 0)
				snprintf(value, sizeof value, "%llu:%llu",
					 (unsigned long long)st.st_dev,
					 (unsigned long long)st.st_ino);
			else
				snprintf(value, sizeof value, "%s", eq + 1);
			setenv(name, value, 1);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
}

static void wait_for_endpoint(struct spawned *sp)
{
	for (int i = 0; i < 500; i++) {
		int sock = ctl_connect(sp->svr);

		if (sock >= 0) {
			close(sock);
			return;
		}
		usleep(10000);
	}
	fail_msg("server did not come up (log %s)", sp->log);
}

/* Send sig, expect exit status 0. */
static void stop_with(struct spawned *sp, int sig)
{
	int status;

	assert_int_equal(kill(sp->pid, sig), 0);
	assert_int_equal(waitpid(sp->pid, &status, 0), sp->pid);
	sp->pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char cmd[160];

		snprintf(cmd, sizeof cmd, "cat %s >&2", sp->log);
		(void)!system(cmd);
		fail_msg("signal %d: server status 0x%x, not a clean exit", sig, status);
	}
}

static bool log_has(struct spawned *sp, const char *text)
{
	FILE *f = fopen(sp->log, "r");
	char line[1024];
	bool found = false;

	assert_non_null(f);
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}

static void spawned_cleanup(struct spawned *sp)
{
	char cmd[160];

	if (sp->pid > 0) {
		kill(sp->pid, SIGKILL);
		waitpid(sp->pid, NULL, 0);
	}
	snprintf(cmd, sizeof cmd, "rm -rf %s", sp->dir);
	(void)!system(cmd);
}

/* SIGTERM and SIGINT: exit 0, and the --svr socket and the --port listen=
 * sockets are gone. */
static void stop_signal_case(int sig)
{
	struct spawned sp;
	char pa[160], pb[160];

	spawned_init(&sp);
	snprintf(pa, sizeof pa, "listen=%s", sp.port_a);
	snprintf(pb, sizeof pb, "listen=%s,ds-max=3", sp.port_b);
	{
		const char *argv[] = { server_binary(), "--svr", sp.svr, "--port", pa, "--port", pb,
				       NULL };

		spawn(&sp, argv, NULL);
	}
	wait_for_endpoint(&sp);
	assert_int_equal(access(sp.port_a, F_OK), 0);
	assert_int_equal(access(sp.port_b, F_OK), 0);
	stop_with(&sp, sig);
	assert_int_not_equal(access(sp.svr, F_OK), 0);
	assert_int_not_equal(access(sp.port_a, F_OK), 0);
	assert_int_not_equal(access(sp.port_b, F_OK), 0);
	assert_true(log_has(&sp, "stopping"));
	spawned_cleanup(&sp);
}

static void test_sigterm_cleans_up(void **state)
{
	(void)state;
	stop_signal_case(SIGTERM);
}

static void test_sigint_cleans_up(void **state)
{
	(void)state;
	stop_signal_case(SIGINT);
}

/* The line that announces the control endpoint, as the server wrote it.
 * The server logs it just after it starts listening, so a test that has
 * connected may still have to wait for it. */
static void startup_line(struct spawned *sp, char *line, size_t len)
{
	uint64_t deadline = now_ms() + 5000;
	bool found = false;

	do {
		FILE *f = fopen(sp->log, "r");

		assert_non_null(f);
		while (!found && fgets(line, (int)len, f))
			found = strstr(line, "control endpoint") != NULL;
		fclose(f);
		if (!found)
			usleep(10000);
	} while (!found && now_ms() < deadline);
	if (!found)
		fail_msg("no start-up line in %s", sp->log);
}

/* JOURNAL_STREAM naming stderr: "<6>" before an info line, no timestamp. A
 * JOURNAL_STREAM inherited by a server whose stderr goes elsewhere: the
 * ordinary timestamped lines. */
static void test_journal_prefix(void **state)
{
	static const char *const journal_env[] = { "JOURNAL_STREAM=@LOG_INODE", NULL };
	static const char *const stale_env[] = { "JOURNAL_STREAM=1:1", NULL };
	static const char *const bad_env[] = { "JOURNAL_STREAM=garbage", NULL };
	const char *const *envs[] = { journal_env, stale_env, bad_env };
	struct spawned sp;
	char line[1024];

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		spawned_init(&sp);
		{
			const char *argv[] = { server_binary(), "--svr", sp.svr, "-v", NULL };

			spawn(&sp, argv, envs[i]);
		}
		wait_for_endpoint(&sp);
		startup_line(&sp, line, sizeof line);
		if (i == 0) {
			if (strncmp(line, "<6>vnet-p2p ", 12) != 0)
				fail_msg("journal line '%s' lacks the <6> prefix", line);
			assert_null(strstr(line, "info:"));
		} else {
			if (line[0] == '<' || !strstr(line, " vnet-p2p info: vnet-p2p "))
				fail_msg("line '%s' is not timestamped (JOURNAL_STREAM %s)", line,
					 envs[i][0]);
			assert_true(line[2] == ':' && line[5] == ':');
		}
		stop_with(&sp, SIGTERM);
		if (i == 0)
			assert_true(log_has(&sp, "<6>signal 15: stopping"));
		spawned_cleanup(&sp);
	}
}

/* A datagram socket standing in for the service manager's notify socket:
 * at path, or abstract when path starts with '@'. */
static int notify_listener(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(len < sizeof sa.sun_path);
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	assert_int_equal(bind(fd, (struct sockaddr *)&sa,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
					  (name[0] != '@'))),
			 0);
	return fd;
}

/* The next notification within timeout_ms (fails the test otherwise). */
static void notify_recv(int fd, char *buf, size_t len, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, timeout_ms) != 1)
		fail_msg("no notification within %d ms", timeout_ms);
	n = recv(fd, buf, len - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
}

/* READY=1 once the --port ports exist, STOPPING=1 on SIGTERM; the same
 * through an abstract socket name. */
static void notify_case(bool abstract)
{
	struct spawned sp;
	char name[128], env[160], pa[160], msg[512];
	int nfd;

	spawned_init(&sp);
	if (abstract)
		snprintf(name, sizeof name, "@vnp-test-notify-%d", (int)getpid());
	else
		snprintf(name, sizeof name, "%s/notify.sock", sp.dir);
	nfd = notify_listener(name);
	snprintf(env, sizeof env, "NOTIFY_SOCKET=%s", name);
	snprintf(pa, sizeof pa, "listen=%s", sp.port_a);
	{
		const char *argv[] = { server_binary(), "--svr", sp.svr, "--port", pa, NULL };
		const char *envv[] = { env, NULL };

		spawn(&sp, argv, envv);
	}
	notify_recv(nfd, msg, sizeof msg, 5000);
	if (strncmp(msg, "READY=1\n", 8) != 0 && strcmp(msg, "READY=1") != 0)
		fail_msg("first notification '%s' is not READY=1", msg);
	assert_non_null(strstr(msg, "STATUS="));
	/* Ready means ready: the endpoint and the port answer at once. */
	assert_int_equal(access(sp.port_a, F_OK), 0);
	{
		int sock = ctl_connect(sp.svr);

		assert_true(sock >= 0);
		close(sock);
	}
	assert_int_equal(kill(sp.pid, SIGTERM), 0);
	notify_recv(nfd, msg, sizeof msg, 5000);
	assert_string_equal(msg, "STOPPING=1");
	stop_with(&sp, 0); /* signal 0: only collect the exit status */
	close(nfd);
	if (!abstract)
		unlink(name);
	spawned_cleanup(&sp);
}

static void test_notify_path(void **state)
{
	(void)state;
	notify_case(false);
}

static void test_notify_abstract(void **state)
{
	(void)state;
	notify_case(true);
}

/* A notify socket nobody listens on (or an address we do not speak) is
 * logged, and the server serves anyway. */
static void test_notify_unreachable(void **state)
{
	static const char *const envs[] = { "NOTIFY_SOCKET=/nonexistent/notify.sock",
					    "NOTIFY_SOCKET=vsock:2:1234" };
	struct spawned sp;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		const char *argv[] = { NULL, "--svr", NULL, NULL };
		const char *envv[] = { envs[i], NULL };

		spawned_init(&sp);
		argv[0] = server_binary();
		argv[2] = sp.svr;
		spawn(&sp, argv, envv);
		wait_for_endpoint(&sp);
		stop_with(&sp, SIGTERM);
		assert_true(log_has(&sp, "cannot notify the service manager"));
		spawned_cleanup(&sp);
	}
}

/* Where systemd-socket-activate is: CI installs systemd, so its absence
 * fails the test. */
static const char *socket_activate_binary(void)
{
	static const char *const candidates[] = { "/usr/bin/systemd-socket-activate",
						  "/bin/systemd-socket-activate",
						  "/lib/systemd/systemd-activate" };

	for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
		if (access(candidates[i], X_OK) == 0)
			return candidates[i];
	fail_msg("systemd-socket-activate not found: install systemd");
	return NULL;
}

/*
 * The activation protocol a socket unit uses: systemd-socket-activate
 * binds the control endpoint and starts the server on the first
 * connection, handing it the socket with LISTEN_FDS/LISTEN_PID. The
 * server makes its --port port, says READY=1, answers that first
 * connection; on SIGTERM it says STOPPING=1, removes its port's socket
 * and leaves the endpoint (the socket unit's) alone.
 */
static void test_socket_activation_protocol(void **state)
{
	struct spawned sp;
	struct vnp_ctl_status st;
	char name[64], env[96], pa[160], msg[512];
	int nfd, sock = -1;

	(void)state;
	spawned_init(&sp);
	snprintf(name, sizeof name, "@vnp-test-activate-%d", (int)getpid());
	nfd = notify_listener(name);
	snprintf(env, sizeof env, "NOTIFY_SOCKET=%s", name);
	snprintf(pa, sizeof pa, "listen=%s,mac=2:0:0:0:0:42", sp.port_a);
	{
		const char *argv[] = { socket_activate_binary(), "-l", sp.svr, "-E", env,
				       server_binary(), "--port", pa, NULL };

		spawn(&sp, argv, NULL);
	}
	for (int i = 0; i < 500 && sock < 0; i++) {
		sock = ctl_connect(sp.svr);
		if (sock < 0)
			usleep(10000);
	}
	if (sock < 0)
		fail_msg("systemd-socket-activate did not bind %s (log %s)", sp.svr, sp.log);
	/* Nothing runs until this first connection. */
	assert_int_not_equal(access(sp.port_a, F_OK), 0);
	assert_int_equal(ctl_status(sock, &st, msg, sizeof msg), 0);
	close(sock);
	notify_recv(nfd, msg, sizeof msg, 5000);
	assert_non_null(strstr(msg, "READY=1"));
	assert_non_null(strstr(msg, "control endpoint inherited"));
	assert_int_equal(st.port[0].state, 1 /* created */);
	assert_string_equal(st.port[0].listen_path, sp.port_a);
	assert_true(st.port[0].has_mac);
	assert_int_equal(st.port[0].mac[5], 0x42);
	assert_int_equal(st.port[1].state, 0 /* free */);
	assert_true(log_has(&sp, "control endpoint (inherited)"));

	assert_int_equal(kill(sp.pid, SIGTERM), 0);
	notify_recv(nfd, msg, sizeof msg, 5000);
	assert_string_equal(msg, "STOPPING=1");
	stop_with(&sp, 0);
	assert_int_not_equal(access(sp.port_a, F_OK), 0);
	assert_int_equal(access(sp.svr, F_OK), 0);
	close(nfd);
	spawned_cleanup(&sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigterm_cleans_up),
		cmocka_unit_test(test_sigint_cleans_up),
		cmocka_unit_test(test_journal_prefix),
		cmocka_unit_test(test_notify_path),
		cmocka_unit_test(test_notify_abstract),
		cmocka_unit_test(test_notify_unreachable),
		cmocka_unit_test(test_socket_activation_protocol),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
