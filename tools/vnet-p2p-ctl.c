/* SPDX-License-Identifier: MIT */
/*
 * vnet-p2p-ctl: create ports on a vnet-p2p link, show its state, and
 * capture the packets crossing it.
 *
 *   vnet-p2p-ctl --svr PATH create [key=value]... [-- COMMAND [ARG]...]
 *   vnet-p2p-ctl --svr PATH status [--json | --prometheus]
 *   vnet-p2p-ctl --svr PATH status --watch [SECONDS] [--count N]
 *   vnet-p2p-ctl --svr PATH capture [--port 0|1] [--count N] [-w FILE|-]
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture_cmd.h"
#include "ctl/ctl_client.h"
#include "link/port_config.h"
#include "status_out.h"
#include "util/unix_socket.h"
#include "vnp_config.h"
#include "watch_cmd.h"
#include "util/parse_num.h"

#define PORT_FD_FOR_COMMAND 3

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: vnet-p2p-ctl [--svr PATH] COMMAND\n"
		"\n"
		"Commands:\n"
		"  create [key=value]... [-- COMMAND [ARG]...]\n"
		"      Create a port. Keys: ds-max=1..80 (default 2), mem-max=1M..128T\n"
		"      (bytes of client memory; default 32T), queues=1..16 (queue pairs;\n"
		"      default 1), mac=xx:xx:xx:xx:xx:xx,\n"
		"      listen=PATH, tap=NAME (the port's far end is that Linux TAP interface,\n"
		"      created or attached). With a command, run it with the port as\n"
		"      descriptor 3 (VNET_P2P_PORT_FD=3, VNET_P2P_MAC when the port has a\n"
		"      MAC); the port is released when the command and its children have\n"
		"      closed it. Without a command, listen=PATH or tap=NAME is required;\n"
		"      tap=NAME takes no command.\n"
		"  create [key=value]... --path -- COMMAND [ARG]...\n"
		"      Create a port reachable only at a fresh socket path in a new\n"
		"      directory that only you can enter, given to the command as\n"
		"      VNET_P2P_PORT_PATH (for QEMU: -chardev socket,path=...). Clients may\n"
		"      connect and reconnect while the command runs; when it exits, the\n"
		"      path is removed and the port released.\n"
		"  status [--json | --prometheus]\n"
		"      Per port: state, MAC, ds-max, queue sizes, negotiated features,\n"
		"      packets, bytes and drops (no-peer, too-big, bad-chain, ring-off) per\n"
		"      direction (tx: from the port's client, rx: to it), notifications,\n"
		"      last error.\n"
		"      A table by default; --json: one JSON document; --prometheus: the\n"
		"      Prometheus text format (for node_exporter's textfile collector).\n"
		"  status --watch [SECONDS] [--count N]\n"
		"      Live rates, from two snapshots SECONDS apart (default 1, 0.1..3600,\n"
		"      fractions allowed): per port and direction packets/s, bits/s and\n"
		"      drops/s (with each reason), the port's state, and the link's totals.\n"
		"      On a terminal the screen is redrawn and q quits; otherwise one block\n"
		"      per interval. Ends on q, SIGINT or SIGTERM, after N screens with\n"
		"      --count, or with status 1 when the server goes away.\n"
		"  capture [--port 0|1] [--count N] [-w FILE|-]\n"
		"      Write the packets crossing the link as pcapng to FILE (default -,\n"
		"      standard output) until N packets, SIGINT or SIGTERM, or until the\n"
		"      output closes. One interface per port; without --port each packet\n"
		"      appears once, inbound on its sender's port; --port P shows each on\n"
		"      P, inbound or outbound. Reports on stderr what the capture dropped.\n"
		"\n"
		"Options:\n"
		"  --svr PATH   the server's control endpoint (default: $VNET_P2P_SVR)\n"
		"  -h, --help   this help\n"
		"  --version    print the version\n"
		"\n"
		"Exit status: 0 on success; 1 when the request failed; with a command,\n"
		"the command's own exit status (128+N when killed by signal N).\n");
}

static pid_t child_pid = -1;

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

/* How the command reaches its port. */
struct port_access {
	int fd;           /* the port as a descriptor, for fd 3; or -1 */
	const char *path; /* the port's private socket path; or NULL */
};

static int run_command(char **argv, const struct port_access *access,
		       const struct vnp_ctl_created *created)
{
	struct sigaction sa = { .sa_handler = forward_signal };
	int port_fd = access->fd;
	char mac[18];
	int status;

	child_pid = fork();
	if (child_pid < 0) {
		perror("vnet-p2p-ctl: fork");
		return 1;
	}
	if (child_pid == 0) {
		if (port_fd >= 0) {
			if (port_fd == PORT_FD_FOR_COMMAND) {
				/* dup2 onto itself would keep close-on-exec. */
				int copy = dup(port_fd);
				port_fd = copy;
			}
			if (port_fd < 0 || dup2(port_fd, PORT_FD_FOR_COMMAND) < 0) {
				perror("vnet-p2p-ctl: dup2");
				_exit(127);
			}
			close(port_fd);
			setenv("VNET_P2P_PORT_FD", "3", 1);
		}
		if (access->path)
			setenv("VNET_P2P_PORT_PATH", access->path, 1);
		if (created->has_mac) {
			format_mac(created->mac, mac);
			setenv("VNET_P2P_MAC", mac, 1);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "vnet-p2p-ctl: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (port_fd >= 0)
		close(port_fd);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	while (waitpid(child_pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("vnet-p2p-ctl: waitpid");
			return 1;
		}
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/*
 * --path: a port only the caller can reach, for programs (QEMU) that take
 * a socket path but no descriptor. We make a 0700 directory and a listening
 * socket in it, and pass the socket with create: the server accepts the
 * port's clients there. The lease it returns ends the port when closed.
 */
struct private_path {
	char dir[64];
	char path[96];
	int listen_fd;
};

static int make_private_path(struct private_path *p)
{
	const char *base = getenv("XDG_RUNTIME_DIR");

	if (!base || !*base)
		base = "/tmp";
	snprintf(p->dir, sizeof p->dir, "%s/vnet-p2p-port.XXXXXX", base);
	if (strlen(p->dir) >= sizeof p->dir - 1 || !mkdtemp(p->dir)) {
		snprintf(p->dir, sizeof p->dir, "/tmp/vnet-p2p-port.XXXXXX");
		if (!mkdtemp(p->dir)) {
			perror("vnet-p2p-ctl: mkdtemp");
			return -1;
		}
	}
	snprintf(p->path, sizeof p->path, "%s/port.sock", p->dir);
	p->listen_fd = unix_listen(p->path, 0600, 4);
	if (p->listen_fd < 0) {
		fprintf(stderr, "vnet-p2p-ctl: cannot listen on %s: %s\n", p->path,
			strerror(-p->listen_fd));
		rmdir(p->dir);
		return -1;
	}
	return 0;
}

static void remove_private_path(struct private_path *p)
{
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	unlink(p->path);
	rmdir(p->dir);
}

static int cmd_create(int sock, int argc, char **argv)
{
	struct vnp_ctl_created created;
	struct private_path priv = { .listen_fd = -1 };
	struct port_access access = { -1, NULL };
	char msg[1024], mac[18];
	char **command = NULL;
	bool has_listen = false, has_tap = false, path_mode = false;
	int nargs = 0, port_fd = -1, rc;
	char **args = argv;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			command = argv + i + 1;
			if (!*command) {
				fprintf(stderr, "vnet-p2p-ctl: create: no command after '--'\n");
				return 1;
			}
			break;
		}
		if (strcmp(argv[i], "--path") == 0) {
			path_mode = true;
			continue;
		}
		if (strncmp(argv[i], "listen=", 7) == 0)
			has_listen = true;
		if (strncmp(argv[i], "tap=", 4) == 0)
			has_tap = true;
		args[nargs++] = argv[i];
	}
	if (has_tap && command) {
		fprintf(stderr, "vnet-p2p-ctl: create: a tap= port has no descriptor to give a "
				"command: create it without one\n");
		return 1;
	}
	if (path_mode && (!command || has_listen)) {
		fprintf(stderr, "vnet-p2p-ctl: create: --path needs a command and excludes listen=\n");
		return 1;
	}
	if (!command && !has_listen && !has_tap) {
		fprintf(stderr, "vnet-p2p-ctl: create: without a command, listen=PATH is required, "
				"or tap=NAME (otherwise the port would be released when this "
				"tool exits)\n");
		return 1;
	}
	if (path_mode && make_private_path(&priv) < 0)
		return 1;
	rc = ctl_create(sock, (const char *const *)args, nargs, priv.listen_fd, &created, &port_fd,
			msg, sizeof msg);
	if (rc < 0) {
		fprintf(stderr, "vnet-p2p-ctl: create failed: %s\n", msg);
		if (path_mode)
			remove_private_path(&priv);
		return 1;
	}
	if (msg[0])
		fprintf(stderr, "vnet-p2p-ctl: warning: %s\n", msg);
	close(sock);
	if (!command) {
		if (port_fd >= 0)
			close(port_fd);
		printf("port %u created", created.port);
		if (created.has_mac) {
			format_mac(created.mac, mac);
			printf(", mac %s", mac);
		}
		printf("\n");
		return 0;
	}
	if (!path_mode) {
		access.fd = port_fd;
		return run_command(command, &access, &created);
	}
	/* The server holds the listening socket now; the lease stays with us,
	 * not with the command, so the port ends exactly when the command does. */
	close(priv.listen_fd);
	priv.listen_fd = -1;
	access.path = priv.path;
	rc = run_command(command, &access, &created);
	close(port_fd);
	remove_private_path(&priv);
	return rc;
}

struct status_opts {
	enum status_format format;
	bool watch;
	struct watch_opts w;
};

/* The value of --watch is optional: the next word is taken when it looks
 * like a number (a sign or a point included, so "-1" is refused as a value
 * rather than as an unknown option) or when it is not an option at all. */
static bool watch_value_follows(const char *next)
{
	return next && (next[0] != '-' || strspn(next + 1, "0123456789.") > 0);
}

static int status_parse(int argc, char **argv, struct status_opts *o)
{
	bool has_count = false;

	o->format = STATUS_TABLE;
	o->watch = false;
	o->w = (struct watch_opts){ .interval = 1.0 };
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i], *val = NULL;
		enum status_format f;

		if (strcmp(arg, "--watch") == 0 || strncmp(arg, "--watch=", 8) == 0) {
			o->watch = true;
			if (arg[7] == '=')
				val = arg + 8;
			else if (watch_value_follows(i + 1 < argc ? argv[i + 1] : NULL))
				val = argv[++i];
			if (val && !watch_parse_interval(val, &o->w.interval)) {
				fprintf(stderr, "vnet-p2p-ctl: status: invalid value '%s' for --watch: "
						"must be seconds from %g to %g (e.g. 0.5)\n",
					val, WATCH_MIN_S, WATCH_MAX_S);
				return -1;
			}
			continue;
		}
		if (strcmp(arg, "--count") == 0 || strncmp(arg, "--count=", 8) == 0) {
			if (arg[7] == '=') {
				val = arg + 8;
			} else if (i + 1 < argc) {
				val = argv[++i];
			} else {
				fprintf(stderr, "vnet-p2p-ctl: status: --count needs a value\n");
				return -1;
			}
			if (!(parse_decimal(val, UINT64_MAX, &o->w.count) && o->w.count > 0)) {
				fprintf(stderr, "vnet-p2p-ctl: status: invalid value '%s' for --count: "
						"must be a whole number from 1\n", val);
				return -1;
			}
			has_count = true;
			continue;
		}
		if (strcmp(arg, "--json") == 0) {
			f = STATUS_JSON;
		} else if (strcmp(arg, "--prometheus") == 0) {
			f = STATUS_PROMETHEUS;
		} else {
			fprintf(stderr, "vnet-p2p-ctl: status: unknown argument '%s'\n", arg);
			return -1;
		}
		if (o->format != STATUS_TABLE && o->format != f) {
			fprintf(stderr, "vnet-p2p-ctl: status: --json and --prometheus exclude each other\n");
			return -1;
		}
		o->format = f;
	}
	if (o->watch && o->format != STATUS_TABLE) {
		fprintf(stderr, "vnet-p2p-ctl: status: --watch shows rates as a table: it excludes "
				"--json and --prometheus\n");
		return -1;
	}
	if (has_count && !o->watch) {
		fprintf(stderr, "vnet-p2p-ctl: status: --count counts the screens of --watch: "
				"give --watch too\n");
		return -1;
	}
	return 0;
}

static int cmd_status(int sock, enum status_format format)
{
	struct vnp_ctl_status st;
	char msg[256];

	if (ctl_status(sock, &st, msg, sizeof msg) < 0) {
		fprintf(stderr, "vnet-p2p-ctl: status failed: %s\n", msg);
		return 1;
	}
	status_print(stdout, &st, format);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "vnet-p2p-ctl: status: cannot write the output: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *svr = getenv("VNET_P2P_SVR");
	struct status_opts status;
	struct capture_opts capture;
	int i, sock;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--svr") == 0 && i + 1 < argc) {
			svr = argv[++i];
		} else if (strncmp(argv[i], "--svr=", 6) == 0) {
			svr = argv[i] + 6;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("vnet-p2p-ctl %s\n", VNP_VERSION);
			return 0;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "vnet-p2p-ctl: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 1;
		} else {
			break;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 1;
	}
	if (!svr) {
		fprintf(stderr, "vnet-p2p-ctl: no control endpoint: give --svr PATH\n");
		return 1;
	}
	if (strcmp(argv[i], "status") == 0) {
		if (status_parse(argc - i - 1, argv + i + 1, &status) < 0)
			return 1;
	} else if (strcmp(argv[i], "capture") == 0) {
		if (capture_parse(argc - i - 1, argv + i + 1, &capture) < 0)
			return 1;
	} else if (strcmp(argv[i], "create") != 0) {
		fprintf(stderr, "vnet-p2p-ctl: unknown command '%s'\n", argv[i]);
		return 1;
	}
	sock = ctl_connect(svr);
	if (sock < 0) {
		fprintf(stderr, "vnet-p2p-ctl: cannot reach the server at '%s': %s\n", svr,
			strerror(-sock));
		return 1;
	}
	if (strcmp(argv[i], "create") == 0)
		return cmd_create(sock, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "capture") == 0)
		return capture_run(sock, &capture);
	if (status.watch) {
		status.w.svr = svr;
		return watch_run(sock, &status.w);
	}
	return cmd_status(sock, status.format);
}
