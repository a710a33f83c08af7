/* SPDX-License-Identifier: MIT */
/*
 * The device side of a vhost-user session: feature and protocol-feature
 * negotiation, the client's memory table, and ring configuration, driven by
 * one message at a time.
 *
 * Every message passes one table (vu_dev.c) that fixes its payload size,
 * the descriptors it may carry and its ring index before a handler runs.
 * The device personality (features, config space) and the datapath reach
 * in through struct vu_dev_ops, so this module knows neither sockets nor
 * the event loop and can be driven directly by tests and fuzzers.
 */
#ifndef VNP_VU_DEV_H
#define VNP_VU_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/log.h"
#include "vhost/vhost_user_proto.h"
#include "virtio/guest_mem.h"
#include "virtio/virtqueue.h"

struct trusted_mem;
struct vu_msg;

/* Queue pairs a port may have (queues=): RX ring 2i, TX ring 2i + 1. */
#define VU_PAIRS_MAX 16
#define VU_RINGS_MAX (2 * VU_PAIRS_MAX)

/* Protocol features the server offers. */
#define VU_PROTOCOL_FEATURES                                                        \
	((1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) | (1ull << VHOST_USER_PROTOCOL_F_CONFIG) | \
	 (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE) |                                \
	 (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) | (1ull << VHOST_USER_PROTOCOL_F_MQ))

struct vu_ring {
	struct vq vq;    /* the datapath's view, valid while started */
	/* As configured by the client. */
	uint16_t num;    /* 0 until SET_VRING_NUM */
	uint32_t base;   /* as SET_VRING_BASE gave it, checked when the ring starts */
	bool addr_set;
	struct vhost_user_vring_addr addr;
	bool kick_set;   /* SET_VRING_KICK seen; kick_fd -1 then means "poll me" */
	int kick_fd;
	int call_fd;     /* -1: the client wants no interrupts */
	int err_fd;
	bool enabled;
	/* Derived. */
	bool started;    /* translated and handed to the datapath */
};

struct vu_dev_ops {
	/* Virtio features of the device (without PROTOCOL_FEATURES). */
	uint64_t (*device_features)(void *ctx);
	int (*read_config)(void *ctx, uint32_t offset, uint32_t len, uint8_t *out);
	/* A started ring is about to stop or to be turned off, or the client's
	 * memory is about to change: finish what can be finished with it now. */
	void (*ring_stopping)(void *ctx, unsigned idx);
	/* Whether ring idx keeps running when its client turns it off
	 * (SET_VRING_ENABLE 0). vhost-user has a ring started but disabled
	 * processed without side effects; for a network device that is its
	 * TX rings, taken and discarded, so that nothing the driver still puts
	 * there sits untaken (Linux holds a TCP flow whose packet sits in a
	 * device queue: it would stall for good). Other rings stop. */
	bool (*runs_while_off)(void *ctx, unsigned idx);
	/* Rings started or stopped, or the port failed: re-evaluate. */
	void (*rings_changed)(void *ctx);
	/* Watch or stop watching a kick fd (fd -1: none). */
	void (*watch_kick)(void *ctx, unsigned idx, int fd);
	/* Send a reply to the client; an error disconnects it. */
	int (*send)(void *ctx, const void *buf, size_t len);
};

struct vu_dev {
	const struct vu_dev_ops *ops;
	void *ctx;
	char name[16];              /* "port0" in log lines */
	/* Limits from the server and from create. */
	unsigned max_queue_size;    /* -s */
	unsigned ds_max;            /* ds-max */
	uint64_t mem_max;           /* mem-max: bytes of client memory mapped at once */
	unsigned pairs;             /* queues: the queue pairs offered (GET_QUEUE_NUM) */
	const struct trusted_mem *trusted;
	/* Negotiated state. */
	uint64_t features;
	uint64_t protocol_features;
	bool owned;
	struct guest_mem mem;
	struct vu_ring ring[VU_RINGS_MAX];
	uint32_t started_rings;     /* bit per ring: started, so the link walks only these */
	/* A port fails on a client error and stays failed until the client
	 * stops every ring (a driver reset) or resets the device. */
	bool failed;
	uint32_t stopped_since_failure; /* bit per ring */
	uint32_t rings_at_failure;      /* the rings set up when it failed: all must stop */
	char last_error[160];
	/* Where lines the client causes are counted: owned by the caller so
	 * that the budget outlives a session (a client that reconnects in a
	 * loop gets no fresh one). */
	struct log_ratelimit *ratelimit;
};

void vu_dev_init(struct vu_dev *dev, const struct vu_dev_ops *ops, void *ctx,
		 const char *name, unsigned max_queue_size, unsigned ds_max,
		 const struct trusted_mem *trusted, struct log_ratelimit *ratelimit);

/* Handle one complete message. Descriptors a handler keeps are taken out of
 * msg->fds; the caller closes the rest. Returns 0, or -errno when the
 * session cannot go on (the caller disconnects the client). */
int vu_dev_handle(struct vu_dev *dev, struct vu_msg *msg);

/* The datapath found the client at fault: log, stop its rings, signal its
 * error eventfds. It stays failed until the client resets its rings. */
void vu_dev_fail(struct vu_dev *dev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Back to the state of a new connection: rings, features, memory. */
void vu_dev_reset(struct vu_dev *dev);

/* A ring the datapath may use right now. */
static inline struct vq *vu_dev_vq(struct vu_dev *dev, unsigned idx)
{
	return dev->ring[idx].started ? &dev->ring[idx].vq : NULL;
}

/* What the session stands at, for the link and status (read only). */
static inline uint64_t vu_dev_features(const struct vu_dev *dev) { return dev->features; }
static inline bool vu_dev_failed(const struct vu_dev *dev) { return dev->failed; }
static inline const char *vu_dev_last_error(const struct vu_dev *dev) { return dev->last_error; }
static inline uint64_t vu_dev_mem_max(const struct vu_dev *dev) { return dev->mem_max; }
static inline unsigned vu_dev_ring_size(const struct vu_dev *dev, unsigned idx)
{
	return dev->ring[idx].num;
}
static inline bool vu_dev_ring_started(const struct vu_dev *dev, unsigned idx)
{
	return dev->ring[idx].started;
}
/* Whether the client has ring idx turned on (without protocol features a
 * ring is on from the start). A started ring that is off is one that
 * runs_while_off kept running. */
static inline bool vu_dev_ring_on(const struct vu_dev *dev, unsigned idx)
{
	return dev->ring[idx].enabled || !(dev->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
}
/* The started rings, a bit each. */
static inline uint32_t vu_dev_started_rings(const struct vu_dev *dev)
{
	return dev->started_rings;
}
/* Whether the client gave ring idx no kick fd: it must be polled. */
static inline bool vu_dev_ring_kickless(const struct vu_dev *dev, unsigned idx)
{
	return dev->ring[idx].kick_fd < 0;
}
/* Whether addr lies in the client's memory as we map it. */
static inline bool vu_dev_maps(const struct vu_dev *dev, const void *addr)
{
	return gm_maps_host(&dev->mem, addr);
}

/* The limits its creator gave the port (ds-max=, mem-max=, queues=,
 * the last 1 to VU_PAIRS_MAX). */
static inline void vu_dev_set_limits(struct vu_dev *dev, unsigned ds_max, uint64_t mem_max,
				     unsigned pairs)
{
	dev->ds_max = ds_max;
	dev->mem_max = mem_max;
	dev->pairs = pairs;
}

/* The rings the client may use: two per queue pair it may have (all the
 * port offers once it negotiated PROTOCOL_F_MQ, else one pair). */
static inline unsigned vu_dev_rings(const struct vu_dev *dev)
{
	return dev->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_MQ) ? 2 * dev->pairs : 2;
}

/* Signal the client's call eventfd of a ring. */
void vu_dev_call(struct vu_dev *dev, unsigned idx);

#endif
