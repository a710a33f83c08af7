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

/* Whether this test, and so the server beside it, runs under
 * AddressSanitizer, whose shadow and quarantine count as the server's
 * private memory. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

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
/* Close a control connection and wait (up to 10 s) until the server has
 * closed its end, so that no count of its descriptors includes it. */
void ctl_close_synced(int sock);

/* Run a program to completion, capturing stderr; returns its exit status. */
int run_capture(const char *const *argv, char *out, size_t outlen);
/* Run a program to completion: its stdout into out, its stderr into err
 * (both NUL-terminated, cut at their size); returns its exit status. */
int run_output(const char *const *argv, char *out, size_t outlen, char *err, size_t errlen);

/* Start a program with its stdout and stderr on pipes, whose read ends
 * are *out and *err; its pid. */
pid_t spawn_piped(const char *const *argv, int *out, int *err);

/* Paths of the built programs (from the environment meson gives tests). */
const char *server_binary(void);
const char *ctl_binary(void);

uint64_t now_ms(void);

#endif

/* ---- traffic helpers (traffic.c) ---- */
#include <vnet-p2p/driver.h>

/* Create a port and open a driver on it (fails the test otherwise). */
struct vnd *client_open(struct server *s, const char *const *create_args,
			const struct vnd_config *cfg);
/* Like client_open, but returns the open error instead of failing. */
int client_try_open(struct server *s, const char *const *create_args,
		    const struct vnd_config *cfg, struct vnd **out);

/* Deterministic test frames: frame seq of stream `stream` has length len
 * and content derived from both; frame_check says whether a received
 * frame is exactly that frame. */
size_t frame_fill(uint8_t *buf, uint32_t stream, uint32_t seq, size_t len);
bool frame_check(const uint8_t *buf, size_t len, uint32_t stream, uint32_t *seq);

/* Send count frames each way between a and b at once (sizes from
 * size_of(seq)), checking every received frame is the next one in order
 * and intact. Returns frames received by each side. */
struct exchange_result {
	unsigned long a_received, b_received;
	unsigned long bad;
};
struct exchange_result exchange(struct vnd *a, struct vnd *b, unsigned long count,
				size_t (*size_of)(uint32_t seq), int timeout_ms);

/* exchange() that must bring every frame across intact and in order, count
 * each way, within timeout_ms. */
void expect_delivered(struct vnd *a, struct vnd *b, unsigned long count,
		      size_t (*size_of)(uint32_t seq), int timeout_ms);

/* expect_exchange and run_pair always check that every frame arrives
 * intact and in order both ways and that neither port dropped a frame it
 * sent (no peer, too big, bad); these ask for more. */
enum exchange_check {
	XCHG_RX_DROPS = 1u << 0,    /* neither port dropped a frame it received either */
	XCHG_RING_FORMAT = 1u << 1, /* run_pair: each end runs the ring format (packed or
				     * split) its config asked for */
};

/* exchange() count frames between a and b on server s, with the checks
 * above (a mask of enum exchange_check). */
void expect_exchange(struct server *s, struct vnd *a, struct vnd *b, unsigned long count,
		     size_t (*size_of)(uint32_t seq), unsigned checks);
/* End d (named end, for the message) runs the ring format, packed or
 * split, that its config cfg asked for: no fallback either way. */
void expect_ring_format(struct vnd *d, const struct vnd_config *cfg, const char *end);
/* After count frames each way through port: it runs, counted them sent
 * and received, and interrupted its client. */
void expect_port_counted(struct server *s, unsigned port, unsigned long count);
/* A server of its own (server_args), a and b opened on it with configs ca
 * and cb, expect_exchange() between them, and all closed again. */
void run_pair(const char *const *server_args, const struct vnd_config *ca,
	      const struct vnd_config *cb, unsigned long count, size_t (*size_of)(uint32_t seq),
	      unsigned checks);

/* a goes on sending frames of stream (len bytes each) from frame *sent
 * up to total while b receives them: b must get all total, in order and
 * intact, from frame 0; waits of 5 s at most for each. */
void send_and_receive_all(struct vnd *a, struct vnd *b, uint32_t stream, size_t len,
			  uint32_t *sent, uint32_t total);
/* One frame from d into buf: its length, or an error (-EAGAIN after 5 s). */
ssize_t recv_one(struct vnd *d, uint8_t *buf, size_t cap, struct vnd_rx_meta *meta);

/* A server with a sender and a receiver of these configs: UDP frames of
 * several sizes with a partial checksum (NEEDS_CSUM), which the server
 * completes when the receiver did not ask for GUEST_CSUM (and got none),
 * or passes on as it is when it did (and got it). */
void checksums_across(const struct vnd_config *sender, const struct vnd_config *receiver);
/* Pair i (0..3) of the layout tests: a sends with TX layout i, b with the
 * next, in pieces of odd sizes, over memory in 4 and 3 regions (create
 * the ports with ds-max=4); b adds its regions one by one for odd i. Sets
 * only those fields. */
void layout_pair(unsigned i, struct vnd_config *ca, struct vnd_config *cb);

/* The guest-physical address of d's scratch memory at offset, and the
 * host address of a guest-physical address there: for chains a test
 * builds by hand. */
uint64_t scratch_gpa(struct vnd *d, size_t offset);
uint8_t *host_of(struct vnd *d, uint64_t gpa);

/* Frame sizes by sequence number, deterministic: 60 bytes to 64 KiB
 * (the edges included), up to an Ethernet MTU, up to 9000 bytes. */
size_t random_size_64k(uint32_t seq);
size_t random_size_mtu(uint32_t seq);
size_t size_9000(uint32_t seq);

/* A UDP/IPv4 frame of `payload` bytes with a partial checksum (as sent
 * with NEEDS_CSUM); its length. udp_verify: the ones' complement sum over
 * pseudo-header and UDP, 0xffff when the checksum is valid. */
size_t udp_frame(uint8_t *f, size_t payload);
uint16_t udp_verify(const uint8_t *f, size_t len);

/* The status of one port. */
struct vnp_ctl_port port_status(struct server *s, unsigned port);
/* Wait (10 s at most) until port is in state, or its counter ctr reads
 * want; fail the test otherwise. */
void wait_port_state(struct server *s, unsigned port, uint32_t state);
void wait_port_counter(struct server *s, unsigned port, int ctr, uint64_t want);
/* n frames of stream, len bytes each, sent by d as its ring takes them, or
 * received by d and each checked intact; 10 s at most in all. */
void send_frames(struct vnd *d, uint32_t stream, unsigned n, size_t len);
void recv_frames(struct vnd *d, uint32_t stream, unsigned n, size_t len);
/* Frames a port dropped that its client sent (no peer, too big, bad), and
 * frames it dropped on their way to its client (too big, bad RX chain). */
uint64_t port_tx_drops(const struct vnp_ctl_port *p);
uint64_t port_rx_drops(const struct vnp_ctl_port *p);

/* ---- raw vhost-user, for hostile clients (raw.c) ---- */

/* Send one message as-is. Returns 0 or -errno. */
int raw_send(int sock, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
	     const int *fds, int nfds);
/* Wait up to timeout_ms for one reply; its payload size, -ETIMEDOUT, or
 * -ECONNRESET when the server closed the connection. */
int raw_reply(int sock, uint32_t request, void *payload, uint32_t cap, int timeout_ms);
/* Whether the server closed the connection (within timeout_ms). */
bool raw_closed(int sock, int timeout_ms);
/* The server's open descriptors and private memory (KiB), for budgets. */
int server_fd_count(struct server *s);
long server_private_kib(struct server *s);
/* The server's CPU time so far (user + system), in clock ticks. */
long server_cpu_ticks(struct server *s);
