/* SPDX-License-Identifier: MIT */
/*
 * A client built the way a user builds one: against the installed
 * libvnet-p2p-driver, found through pkg-config. Run by
 * `vnet-p2p-ctl create mac=... -- client` opposite an echoing peer, it
 * checks the port's MAC, sends a frame until it comes back (with the
 * addresses swapped, as vnet-p2p-peer echo does) and reports which library
 * file it ran with. Exit 0 only when all of that held.
 *
 * `client echo` is that echoing peer, for where vnet-p2p-peer is not at
 * hand (the Debian packages' smoke test, debian/tests/smoke): it checks its
 * MAC the same way, returns every frame with the addresses swapped, and
 * exits 0 once it has returned at least one and the link has then been
 * quiet for a second; 1 if nothing came within 10 s.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vnet-p2p/driver.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The library file this process mapped (from /proc/self/maps). */
static void print_library_path(void)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[1024];

	while (maps && fgets(line, sizeof line, maps)) {
		char *path = strchr(line, '/');

		if (path && strstr(path, "libvnet-p2p-driver.so")) {
			printf("library %s", path);
			break;
		}
	}
	if (maps)
		fclose(maps);
}

static int check_mac(struct vnd *d, uint8_t mac[6], const char *mac_env)
{
	char mac_text[18];

	if (vnd_get_mac(d, mac) < 0) {
		fprintf(stderr, "client: no MAC: %s\n", vnd_last_error(d));
		return -1;
	}
	snprintf(mac_text, sizeof mac_text, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
	if (strcmp(mac_text, mac_env) != 0) {
		fprintf(stderr, "client: device MAC %s, create said %s\n", mac_text, mac_env);
		return -1;
	}
	return 0;
}

/* Return every frame to its sender, the addresses swapped. */
static int run_echo(struct vnd *d)
{
	uint8_t buf[2048], tmp[6];
	long long echoed = 0, start = now_ms(), last = start;
	int rc;

	for (;;) {
		ssize_t n = vnd_recv(d, buf, sizeof buf, NULL);

		if (n == -EAGAIN) {
			if (echoed > 0 ? now_ms() - last >= 1000 : now_ms() - start >= 10000)
				break;
			vnd_wait(d, 100);
			continue;
		}
		if (n < 0) {
			fprintf(stderr, "client: vnd_recv: %s\n", vnd_last_error(d));
			return 1;
		}
		if (n < 12) {
			fprintf(stderr, "client: a %zd-byte frame\n", n);
			return 1;
		}
		memcpy(tmp, buf, 6);
		memcpy(buf, buf + 6, 6);
		memcpy(buf + 6, tmp, 6);
		for (long long until = now_ms() + 1000; (rc = vnd_send(d, buf, (size_t)n, NULL)) == -EAGAIN;) {
			if (now_ms() > until) {
				fprintf(stderr, "client: the TX ring stayed full for 1 s\n");
				return 1;
			}
			vnd_wait(d, 10);
			vnd_tx_reclaim(d);
		}
		if (rc < 0) {
			fprintf(stderr, "client: vnd_send: %s\n", vnd_last_error(d));
			return 1;
		}
		vnd_tx_reclaim(d);
		echoed++;
		last = now_ms();
	}
	if (echoed == 0) {
		fprintf(stderr, "client: nothing to echo within 10 s\n");
		return 1;
	}
	printf("echoed %lld frames\n", echoed);
	print_library_path();
	return 0;
}

int main(int argc, char **argv)
{
	static const uint8_t dst[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const char text[] = "vnet-p2p: built against the installed library";
	const char *fd_env = getenv("VNET_P2P_PORT_FD"), *mac_env = getenv("VNET_P2P_MAC");
	uint8_t frame[128], in[2048], mac[6];
	struct vnd_config cfg;
	struct vnd *d;
	size_t len;
	bool echo = argc == 2 && strcmp(argv[1], "echo") == 0;
	int rc;

	if (!fd_env || !mac_env || (argc > 1 && !echo)) {
		fprintf(stderr, "client: run me with vnet-p2p-ctl create mac=... -- client [echo]\n");
		return 2;
	}
	vnd_config_init(&cfg);
	rc = vnd_open_fd(&d, atoi(fd_env), &cfg);
	if (rc < 0) {
		fprintf(stderr, "client: vnd_open_fd: %s\n", strerror(-rc));
		return 1;
	}
	if (check_mac(d, mac, mac_env) < 0)
		return 1;
	if (echo) {
		rc = run_echo(d);
		vnd_close(d);
		return rc;
	}

	memcpy(frame, dst, 6);
	memcpy(frame + 6, mac, 6);
	frame[12] = 0x88; /* IEEE local experimental ethertype */
	frame[13] = 0xb5;
	memcpy(frame + 14, text, sizeof text);
	len = 14 + sizeof text;

	/* Until the peer runs, the server drops what we send: resend every
	 * 100 ms, for up to 10 s. */
	for (long long deadline = now_ms() + 10000, sends = 0; now_ms() < deadline;) {
		long long resend = now_ms() + 100;
		ssize_t n;

		vnd_tx_reclaim(d);
		rc = vnd_send(d, frame, len, NULL);
		if (rc < 0 && rc != -EAGAIN) {
			fprintf(stderr, "client: vnd_send: %s\n", vnd_last_error(d));
			return 1;
		}
		sends++;
		while (now_ms() < resend) {
			vnd_wait(d, (int)(resend - now_ms()));
			while ((n = vnd_recv(d, in, sizeof in, NULL)) > 0) {
				if ((size_t)n == len && memcmp(in, mac, 6) == 0 &&
				    memcmp(in + 6, dst, 6) == 0 &&
				    memcmp(in + 12, frame + 12, len - 12) == 0) {
					printf("echo received after %lld sends\n", sends);
					print_library_path();
					vnd_close(d);
					return 0;
				}
				fprintf(stderr, "client: a %zd-byte frame that is not our echo\n", n);
			}
		}
	}
	fprintf(stderr, "client: no echo within 10 s\n");
	vnd_close(d);
	return 1;
}
