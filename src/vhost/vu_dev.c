/* SPDX-License-Identifier: MIT */
#include "vhost/vu_dev.h"

#include <errno.h>
#include <linux/virtio_config.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/checked.h"
#include "util/fd_kind.h"
#include "util/parse_num.h"
#include "vhost/vu_conn.h"
#include "virtio/trusted_mem.h"

#define PROTOCOL_FEATURES_BIT (1ull << VHOST_USER_F_PROTOCOL_FEATURES)

/* ---- the rule table: what each request may carry ---------------------- */

enum size_rule {
	SIZE_EXACT,     /* payload is exactly .size bytes */
	SIZE_MEM_TABLE, /* a count, then that many regions */
	SIZE_CONFIG,    /* a config head, then head.size bytes */
};

enum fd_rule {
	FDS_NONE,       /* no descriptors */
	FDS_ONE,        /* exactly one */
	FDS_RING,       /* one, unless the payload says "no fd" */
	FDS_REGIONS,    /* one per memory region */
	FDS_IGNORED,    /* zero or one, never used (REM_MEM_REG: QEMU sends one) */
};

enum ring_rule {
	RING_NONE,
	RING_STATE, /* struct vhost_user_vring_state / _addr: u32 index first */
	RING_U64,   /* u64: index in bits 0-7, "no fd" in bit 8 */
};

struct reply {
	uint32_t size;
	uint8_t payload[VHOST_USER_PAYLOAD_MAX];
};

typedef int (*handler_fn)(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply);

struct request_rule {
	const char *name;
	handler_fn handle;
	uint32_t size;
	uint8_t size_rule;
	uint8_t fd_rule;
	uint8_t ring_rule;
	bool replies; /* has a reply of its own */
};

/* ---- helpers ------------------------------------------------------------ */

__attribute__((format(printf, 2, 0))) static void record_error(struct vu_dev *dev,
									      const char *fmt, va_list ap)
{
	vsnprintf(dev->last_error, sizeof dev->last_error, fmt, ap);
}

/* A request we turn down; the client learns it through REPLY_ACK. */
__attribute__((format(printf, 3, 4))) static int refuse(struct vu_dev *dev, int err,
							 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record_error(dev, fmt, ap);
	va_end(ap);
	log_limited(dev->ratelimit, LOG_LVL_WARN, "%s: refused: %s", dev->name, dev->last_error);
	return -err;
}

static void signal_eventfd(int fd)
{
	if (fd >= 0)
		(void)!eventfd_write(fd, 1);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static uint64_t offered_features(struct vu_dev *dev)
{
	return dev->ops->device_features(dev->ctx) | PROTOCOL_FEATURES_BIT;
}

/* ---- rings: translation, start, stop ------------------------------------- */

static bool ring_packed(const struct vu_dev *dev)
{
	return dev->features & (1ull << VIRTIO_F_RING_PACKED);
}

/* The ring's three areas in our mapping of the client's memory, for a
 * ring that starts (fresh) or one that runs on over a changed memory
 * table or changed features. */
static bool ring_translate(struct vu_dev *dev, unsigned idx, bool fresh)
{
	struct vu_ring *r = &dev->ring[idx];
	bool packed = ring_packed(dev);
	bool event_idx = dev->features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	unsigned driver_align = vq_driver_area_align(packed);
	unsigned device_align = vq_device_area_align(packed);
	struct vq_params p = {
		.mem = &dev->mem,
		.num = r->num,
		.packed = packed,
		.event_idx = event_idx,
		.indirect = dev->features & (1ull << VIRTIO_RING_F_INDIRECT_DESC),
		.base = r->base,
	};

	if (!fresh && packed != r->vq.packed) {
		vu_dev_fail(dev, "ring %u changed its format while running", idx);
		return false;
	}
	if (r->addr.desc_user_addr % 16 || r->addr.avail_user_addr % driver_align ||
	    r->addr.used_user_addr % device_align) {
		vu_dev_fail(dev, "ring %u addresses are misaligned", idx);
		return false;
	}
	p.desc = gm_uva_range(&dev->mem, r->addr.desc_user_addr, vq_desc_area_bytes(packed, r->num));
	p.driver_area = gm_uva_range(&dev->mem, r->addr.avail_user_addr,
				     vq_driver_area_bytes(packed, r->num, event_idx));
	p.device_area = gm_uva_range(&dev->mem, r->addr.used_user_addr,
				     vq_device_area_bytes(packed, r->num, event_idx));
	if (!p.desc || !p.driver_area || !p.device_area) {
		vu_dev_fail(dev, "ring %u lies outside the client's memory (desc 0x%llx %s 0x%llx %s 0x%llx)",
			    idx, (unsigned long long)r->addr.desc_user_addr,
			    packed ? "driver area" : "avail",
			    (unsigned long long)r->addr.avail_user_addr,
			    packed ? "device area" : "used",
			    (unsigned long long)r->addr.used_user_addr);
		return false;
	}
	/* The client's addresses were aligned; where its region lands in our
	 * mapping must keep them so (an odd userspace_addr would not). */
	if ((uintptr_t)p.desc % 16 || (uintptr_t)p.driver_area % driver_align ||
	    (uintptr_t)p.device_area % device_align) {
		vu_dev_fail(dev, "ring %u is misaligned in the mapping of its region", idx);
		return false;
	}
	if (!fresh) {
		vq_move(&r->vq, &p);
		return true;
	}
	if (!vq_num_valid(packed, r->num)) {
		vu_dev_fail(dev, "ring %u size %u refused: a split ring's size is a power of 2 (the "
			    "features changed after its size was set)", idx, r->num);
		return false;
	}
	if (!vq_base_valid(packed, r->num, r->base)) {
		vu_dev_fail(dev, "ring %u base 0x%x does not fit a %s ring of %u", idx, r->base,
			    packed ? "packed" : "split", r->num);
		return false;
	}
	if (vq_init(&r->vq, &p) < 0) {
		vu_dev_fail(dev, "ring %u: out of memory for its bookkeeping", idx);
		return false;
	}
	return true;
}

static void ring_try_start(struct vu_dev *dev, unsigned idx)
{
	struct vu_ring *r = &dev->ring[idx];

	/* A ring past the negotiated pairs is out of every message's reach
	 * (a client may set one up, then drop PROTOCOL_F_MQ): it waits. */
	if (r->started || dev->failed || !r->num || !r->addr_set || !r->kick_set ||
	    !vu_dev_ring_on(dev, idx) || idx >= vu_dev_rings(dev))
		return;
	/* Rings set up before any memory wait for it; once there is memory,
	 * a ring outside it is an error. */
	if (dev->mem.count == 0)
		return;
	if (!ring_translate(dev, idx, true))
		return;
	r->started = true;
	dev->started_rings |= 1u << idx;
	log_debug("%s: ring %u started (%s, size %u, base 0x%x%s)", dev->name, idx,
		  r->vq.packed ? "packed" : "split", r->num, r->base,
		  r->kick_fd < 0 ? ", polled" : "");
	dev->ops->rings_changed(dev->ctx);
}

/* A ring the datapath no longer uses: a restart without SET_VRING_BASE
 * resumes where it stopped. */
static void ring_halt(struct vu_dev *dev, unsigned idx)
{
	struct vu_ring *r = &dev->ring[idx];

	r->started = false;
	dev->started_rings &= ~(1u << idx);
	r->base = vq_base(&r->vq);
	vq_fini(&r->vq);
}

static void ring_stop(struct vu_dev *dev, unsigned idx)
{
	struct vu_ring *r = &dev->ring[idx];

	if (!r->started)
		return;
	dev->ops->ring_stopping(dev->ctx, idx);
	ring_halt(dev, idx);
	log_debug("%s: ring %u stopped at 0x%x", dev->name, idx, r->base);
	dev->ops->rings_changed(dev->ctx);
}

static void rings_try_start(struct vu_dev *dev)
{
	for (unsigned i = 0; i < VU_RINGS_MAX; i++)
		ring_try_start(dev, i);
}

/* After the memory or features changed under running rings. */
static void rings_retranslate(struct vu_dev *dev)
{
	for (unsigned i = 0; i < VU_RINGS_MAX && !dev->failed; i++)
		if (dev->ring[i].started)
			ring_translate(dev, i, false);
	rings_try_start(dev);
}

static void ring_forget_kick(struct vu_dev *dev, unsigned idx)
{
	struct vu_ring *r = &dev->ring[idx];

	if (r->kick_fd >= 0)
		dev->ops->watch_kick(dev->ctx, idx, -1);
	close_fd(&r->kick_fd);
	r->kick_set = false;
}

static void ring_reset(struct vu_dev *dev, unsigned idx)
{
	struct vu_ring *r = &dev->ring[idx];

	ring_stop(dev, idx);
	ring_forget_kick(dev, idx);
	close_fd(&r->call_fd);
	close_fd(&r->err_fd);
	memset(r, 0, sizeof *r);
	r->kick_fd = r->call_fd = r->err_fd = -1;
}

void vu_dev_fail(struct vu_dev *dev, const char *fmt, ...)
{
	va_list ap;
	bool was_failed = dev->failed;

	va_start(ap, fmt);
	record_error(dev, fmt, ap);
	va_end(ap);
	log_limited(dev->ratelimit, LOG_LVL_ERR, "%s: failed: %s", dev->name, dev->last_error);
	dev->failed = true;
	dev->stopped_since_failure = 0;
	dev->rings_at_failure = 0;
	for (unsigned i = 0; i < VU_RINGS_MAX; i++)
		if (dev->ring[i].num || dev->ring[i].started)
			dev->rings_at_failure |= 1u << i;
	if (!dev->rings_at_failure)
		dev->rings_at_failure = 3; /* a pair, however little was set up */
	for (unsigned i = 0; i < VU_RINGS_MAX; i++) {
		struct vu_ring *r = &dev->ring[i];

		/* No draining: the client's rings cannot be trusted any more. */
		if (r->started)
			ring_halt(dev, i);
		if (!was_failed)
			signal_eventfd(r->err_fd);
	}
	dev->ops->rings_changed(dev->ctx);
}

void vu_dev_call(struct vu_dev *dev, unsigned idx)
{
	signal_eventfd(dev->ring[idx].call_fd);
}

/* ---- handlers ------------------------------------------------------------ */

static void reply_u64(struct reply *reply, uint64_t v)
{
	memcpy(reply->payload, &v, sizeof v);
	reply->size = sizeof v;
}

static uint64_t payload_u64(const struct vu_msg *msg)
{
	uint64_t v;

	memcpy(&v, msg->payload, sizeof v);
	return v;
}

static int take_fd(struct vu_msg *msg, int i)
{
	int fd = msg->fds[i];

	msg->fds[i] = -1;
	return fd;
}

static int handle_get_features(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	(void)msg;
	reply_u64(reply, offered_features(dev));
	return 0;
}

static int handle_set_features(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	uint64_t want = payload_u64(msg), offered = offered_features(dev);

	(void)reply;
	if (want & ~offered) {
		refuse(dev, EINVAL, "features 0x%llx include bits never offered (0x%llx)",
		       (unsigned long long)want, (unsigned long long)(want & ~offered));
		vu_dev_fail(dev, "client accepted features that were not offered");
		return -EINVAL;
	}
	dev->features = want;
	rings_retranslate(dev);
	return 0;
}

static int handle_set_owner(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	(void)msg;
	(void)reply;
	dev->owned = true;
	return 0;
}

static void reset_rings_and_features(struct vu_dev *dev)
{
	for (unsigned i = 0; i < VU_RINGS_MAX; i++)
		ring_reset(dev, i);
	dev->features = 0;
	dev->failed = false;
	dev->last_error[0] = '\0';
}

static int handle_reset_owner(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	(void)msg;
	(void)reply;
	reset_rings_and_features(dev);
	gm_clear(&dev->mem);
	dev->owned = false;
	dev->ops->rings_changed(dev->ctx);
	return 0;
}

static int handle_reset_device(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	(void)msg;
	(void)reply;
	reset_rings_and_features(dev);
	dev->ops->rings_changed(dev->ctx);
	return 0;
}

/* More memory than the port may map: failed like any other refused
 * region, naming the budget. */
static int refuse_memory(struct vu_dev *dev, uint64_t bytes, const char *what)
{
	char max[24];

	vu_dev_fail(dev, "%s of %llu bytes exceeds mem-max=%s (%llu bytes)", what,
		    (unsigned long long)bytes, format_size(dev->mem_max, max, sizeof max),
		    (unsigned long long)dev->mem_max);
	return -ENOSPC;
}

static void spec_from_wire(const struct vhost_user_region *w, struct gm_region_spec *s)
{
	s->gpa = w->guest_phys_addr;
	s->size = w->memory_size;
	s->uva = w->userspace_addr;
	s->mmap_offset = w->mmap_offset;
}

static int handle_set_mem_table(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	struct vhost_user_mem_table_head head;
	struct guest_mem fresh;
	char err[160];

	uint64_t total = 0;

	(void)reply;
	memcpy(&head, msg->payload, sizeof head);
	if (head.nregions > dev->ds_max) {
		vu_dev_fail(dev, "memory table of %u regions exceeds ds-max=%u", head.nregions,
			    dev->ds_max);
		return -ENOSPC;
	}
	/* The whole table against the budget before anything is mapped. */
	for (uint32_t i = 0; i < head.nregions; i++) {
		struct vhost_user_region wire;

		memcpy(&wire, msg->payload + sizeof head + i * sizeof wire, sizeof wire);
		if (__builtin_add_overflow(total, wire.memory_size, &total))
			total = UINT64_MAX;
	}
	if (total > dev->mem_max)
		return refuse_memory(dev, total, "memory table");
	memset(&fresh, 0, sizeof fresh);
	for (uint32_t i = 0; i < head.nregions; i++) {
		struct vhost_user_region wire;
		struct gm_region_spec spec;
		struct gm_region region;
		int rc;

		memcpy(&wire, msg->payload + sizeof head + i * sizeof wire, sizeof wire);
		spec_from_wire(&wire, &spec);
		rc = gm_map_region(&spec, msg->fds[i], dev->trusted, &region, err, sizeof err);
		if (rc == 0) {
			rc = gm_insert(&fresh, &region, dev->ds_max, err, sizeof err);
			if (rc < 0)
				gm_unmap_region(&region);
		}
		if (rc < 0) {
			gm_clear(&fresh);
			vu_dev_fail(dev, "memory region %u refused: %s", i, err);
			return rc;
		}
	}
	/* Rings keep running on the new table; the answer goes out only after
	 * the switch, since the client may unmap the old memory right after. */
	gm_replace(&dev->mem, &fresh);
	log_debug("%s: memory table of %u regions", dev->name, head.nregions);
	rings_retranslate(dev);
	return 0;
}

static int handle_get_max_mem_slots(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	(void)msg;
	reply_u64(reply, dev->ds_max);
	return 0;
}

static int handle_add_mem_reg(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	struct vhost_user_single_region one;
	struct gm_region_spec spec;
	struct gm_region region;
	char err[160];
	int rc;

	uint64_t total;

	(void)reply;
	memcpy(&one, msg->payload, sizeof one);
	spec_from_wire(&one.region, &spec);
	/* QEMU before 8.1 sends ADD_MEM_REG (and REM_MEM_REG) once per queue
	 * pair's vhost device, all on one connection: the same region of the
	 * same file again is that repeat, and changes nothing. */
	if (gm_holds(&dev->mem, &spec, msg->fds[0])) {
		log_debug("%s: memory region gpa 0x%llx+0x%llx again", dev->name,
			  (unsigned long long)spec.gpa, (unsigned long long)spec.size);
		return 0;
	}
	if (__builtin_add_overflow(gm_mapped_bytes(&dev->mem), spec.size, &total))
		total = UINT64_MAX;
	if (total > dev->mem_max)
		return refuse_memory(dev, total, "client memory with the added region");
	rc = gm_map_region(&spec, msg->fds[0], dev->trusted, &region, err, sizeof err);
	if (rc == 0) {
		rc = gm_insert(&dev->mem, &region, dev->ds_max, err, sizeof err);
		if (rc < 0)
			gm_unmap_region(&region);
	}
	if (rc < 0) {
		vu_dev_fail(dev, "memory region refused: %s", err);
		return rc;
	}
	rings_try_start(dev);
	return 0;
}

static int handle_rem_mem_reg(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	struct vhost_user_single_region one;

	(void)reply;
	memcpy(&one, msg->payload, sizeof one);
	/* Nothing to remove is the repeat of a removal (see ADD_MEM_REG): QEMU
	 * before 8.1 removes a region once per queue pair, and stops at the
	 * first refusal, adding none of the regions that replace it. */
	if (gm_remove(&dev->mem, one.region.guest_phys_addr, one.region.memory_size,
		      one.region.userspace_addr) < 0) {
		log_debug("%s: no memory region at gpa 0x%llx+0x%llx to remove", dev->name,
			  (unsigned long long)one.region.guest_phys_addr,
			  (unsigned long long)one.region.memory_size);
		return 0;
	}
	/* A ring in the removed region fails the port here. */
	rings_retranslate(dev);
	return 0;
}

static struct vhost_user_vring_state payload_state(const struct vu_msg *msg)
{
	struct vhost_user_vring_state st;

	memcpy(&st, msg->payload, sizeof st);
	return st;
}

static int handle_set_vring_num(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	struct vhost_user_vring_state st = payload_state(msg);
	struct vu_ring *r = &dev->ring[st.index];

	(void)reply;
	if (r->started)
		return refuse(dev, EBUSY, "ring %u size changed while running", st.index);
	/* Checked for the format negotiated so far, and again when the ring
	 * starts (features may still change). */
	if (st.num > dev->max_queue_size || !vq_num_valid(ring_packed(dev), st.num)) {
		vu_dev_fail(dev,
			    "ring %u size %u refused: must be at most %u%s (server -s %u; "
			    "QEMU: rx_queue_size/tx_queue_size)",
			    st.index, st.num, dev->max_queue_size,
			    ring_packed(dev) ? "" : " and a power of 2", dev->max_queue_size);
		return -EINVAL;
	}
	r->num = (uint16_t)st.num;
	return 0;
}

static int handle_set_vring_base(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	struct vhost_user_vring_state st = payload_state(msg);
	struct vu_ring *r = &dev->ring[st.index];

	(void)reply;
	if (r->started)
		return refuse(dev, EBUSY, "ring %u base changed while running", st.index);
	/* Checked for what is known so far, and again when the ring starts. */
	if (!vq_base_valid(ring_packed(dev), r->num ? r->num : 32768, st.num)) {
		vu_dev_fail(dev, "ring %u base 0x%x does not fit a %s ring%s", st.index, st.num,
			    ring_packed(dev) ? "packed" : "split",
			    ring_packed(dev) ? " (index, wrap counter)" : " (a 16-bit index)");
		return -EINVAL;
	}
	r->base = st.num;
	return 0;
}

static int handle_set_vring_addr(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	struct vhost_user_vring_addr addr;
	struct vu_ring *r;

	(void)reply;
	memcpy(&addr, msg->payload, sizeof addr);
	r = &dev->ring[addr.index];
	r->addr = addr;
	r->addr_set = true;
	if (r->started)
		ring_translate(dev, addr.index, false);
	else
		ring_try_start(dev, addr.index);
	return 0;
}

static int handle_get_vring_base(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	struct vhost_user_vring_state st = payload_state(msg);
	struct vu_ring *r = &dev->ring[st.index];

	ring_stop(dev, st.index);
	ring_forget_kick(dev, st.index);
	st.num = r->base;
	memcpy(reply->payload, &st, sizeof st);
	reply->size = sizeof st;
	if (dev->failed) {
		dev->stopped_since_failure |= 1u << st.index;
		if ((dev->stopped_since_failure & dev->rings_at_failure) == dev->rings_at_failure) {
			dev->failed = false;
			log_info("%s: client stopped every ring; the port may start again", dev->name);
			dev->ops->rings_changed(dev->ctx);
		}
	}
	return 0;
}

/* Shared by KICK, CALL and ERR: the checked fd, or -1 for "no fd". */
static int ring_fd_from(struct vu_dev *dev, struct vu_msg *msg, int *fd_out)
{
	uint64_t v = payload_u64(msg);
	int fd;

	if (v & VHOST_USER_VRING_NOFD_MASK) {
		*fd_out = -1;
		return 0;
	}
	fd = msg->fds[0];
	if (!fd_is_eventfd(fd)) {
		vu_dev_fail(dev, "%s descriptor for ring %u is not an eventfd",
			    msg->hdr.request == VHOST_USER_SET_VRING_KICK ? "kick" :
			    msg->hdr.request == VHOST_USER_SET_VRING_CALL ? "call" : "error",
			    (unsigned)(v & VHOST_USER_VRING_IDX_MASK));
		return -EINVAL;
	}
	if (fd_set_nonblocking(fd) < 0)
		return refuse(dev, EINVAL, "cannot make an eventfd non-blocking");
	*fd_out = take_fd(msg, 0);
	return 0;
}

static int handle_set_vring_kick(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	unsigned idx = (unsigned)(payload_u64(msg) & VHOST_USER_VRING_IDX_MASK);
	struct vu_ring *r = &dev->ring[idx];
	int fd = -1, rc;

	(void)reply;
	rc = ring_fd_from(dev, msg, &fd);
	if (rc < 0)
		return rc;
	/* A new kick means a (re)started ring. */
	ring_stop(dev, idx);
	ring_forget_kick(dev, idx);
	r->kick_fd = fd;
	r->kick_set = true;
	if (fd >= 0)
		dev->ops->watch_kick(dev->ctx, idx, fd);
	ring_try_start(dev, idx);
	return 0;
}

/* SET_VRING_CALL and SET_VRING_ERR: the ring's descriptor of that kind
 * (call_fd or err_fd) replaced by the message's, or by none. */
static int replace_ring_fd(struct vu_dev *dev, struct vu_msg *msg, bool err, int *fd_out)
{
	struct vu_ring *r = &dev->ring[payload_u64(msg) & VHOST_USER_VRING_IDX_MASK];
	int *slot = err ? &r->err_fd : &r->call_fd;
	int fd = -1, rc;

	rc = ring_fd_from(dev, msg, &fd);
	if (rc < 0)
		return rc;
	close_fd(slot);
	*slot = fd;
	*fd_out = fd;
	return 0;
}

static int handle_set_vring_call(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	int fd;

	(void)reply;
	return replace_ring_fd(dev, msg, false, &fd);
}

static int handle_set_vring_err(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	int fd, rc;

	(void)reply;
	rc = replace_ring_fd(dev, msg, true, &fd);
	/* A device failed already says so on the new descriptor too. */
	if (rc == 0 && dev->failed)
		signal_eventfd(fd);
	return rc;
}

static int handle_get_protocol_features(struct vu_dev *dev, struct vu_msg *msg,
					struct reply *reply)
{
	(void)dev;
	(void)msg;
	reply_u64(reply, VU_PROTOCOL_FEATURES);
	return 0;
}

static int handle_set_protocol_features(struct vu_dev *dev, struct vu_msg *msg,
					struct reply *reply)
{
	uint64_t want = payload_u64(msg);

	(void)reply;
	if (want & ~VU_PROTOCOL_FEATURES) {
		vu_dev_fail(dev, "protocol features 0x%llx include bits never offered",
			    (unsigned long long)want);
		return -EINVAL;
	}
	/* Rings past the first pair exist only with PROTOCOL_F_MQ: dropping
	 * it while one runs would leave a ring no message can reach. */
	if (!(want & (1ull << VHOST_USER_PROTOCOL_F_MQ)))
		for (unsigned i = 2; i < VU_RINGS_MAX; i++)
			if (dev->ring[i].started) {
				vu_dev_fail(dev, "protocol features drop PROTOCOL_F_MQ while ring %u runs",
					    i);
				return -EINVAL;
			}
	dev->protocol_features = want;
	/* PROTOCOL_F_MQ brings rings set up before it within reach. */
	rings_try_start(dev);
	return 0;
}

static int handle_get_queue_num(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	(void)msg;
	reply_u64(reply, dev->pairs);
	return 0;
}

static int handle_set_vring_enable(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	struct vhost_user_vring_state st = payload_state(msg);
	struct vu_ring *r = &dev->ring[st.index];

	(void)reply;
	if (st.num > 1)
		return refuse(dev, EINVAL, "ring %u enable value %u is not 0 or 1", st.index, st.num);
	if (st.num) {
		bool was_on = r->enabled;

		r->enabled = true;
		if (r->started && !was_on) { /* kept running while off */
			log_debug("%s: ring %u turned on again", dev->name, st.index);
			dev->ops->rings_changed(dev->ctx);
		}
		ring_try_start(dev, st.index);
	} else if (r->started && dev->ops->runs_while_off(dev->ctx, st.index)) {
		/* What was put there while on goes its way first. */
		dev->ops->ring_stopping(dev->ctx, st.index);
		r->enabled = false;
		if (dev->failed) /* the drain found the client at fault */
			return 0;
		log_debug("%s: ring %u turned off, still taken (and discarded)", dev->name, st.index);
		dev->ops->rings_changed(dev->ctx);
	} else {
		r->enabled = false;
		ring_stop(dev, st.index);
	}
	return 0;
}

static int handle_get_config(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	struct vhost_user_config_head head;

	memcpy(&head, msg->payload, sizeof head);
	memcpy(reply->payload, &head, sizeof head);
	if (dev->ops->read_config(dev->ctx, head.offset, head.size,
				  reply->payload + sizeof head) < 0) {
		uint32_t asked = head.size;

		/* An empty answer tells the client the read failed. */
		head.size = 0;
		memcpy(reply->payload, &head, sizeof head);
		reply->size = sizeof head;
		return refuse(dev, EINVAL, "config read of %u bytes at %u is outside the config space",
			      asked, head.offset);
	}
	reply->size = (uint32_t)sizeof head + head.size;
	return 0;
}

static int handle_unsupported(struct vu_dev *dev, struct vu_msg *msg, struct reply *reply)
{
	(void)reply;
	return refuse(dev, ENOTSUP, "request %u is not supported (its feature was not offered)",
		      msg->hdr.request);
}

#define RULE(req, fn, sz, srule, frule, rrule, rep)                                      \
	[VHOST_USER_##req] = { #req, fn, sz, srule, frule, rrule, rep }

static const struct request_rule rules[VHOST_USER_REQUEST_MAX] = {
	RULE(GET_FEATURES, handle_get_features, 0, SIZE_EXACT, FDS_NONE, RING_NONE, true),
	RULE(SET_FEATURES, handle_set_features, 8, SIZE_EXACT, FDS_NONE, RING_NONE, false),
	RULE(SET_OWNER, handle_set_owner, 0, SIZE_EXACT, FDS_NONE, RING_NONE, false),
	RULE(RESET_OWNER, handle_reset_owner, 0, SIZE_EXACT, FDS_NONE, RING_NONE, false),
	RULE(SET_MEM_TABLE, handle_set_mem_table, 0, SIZE_MEM_TABLE, FDS_REGIONS, RING_NONE, false),
	RULE(SET_LOG_BASE, handle_unsupported, 16, SIZE_EXACT, FDS_IGNORED, RING_NONE, false),
	RULE(SET_LOG_FD, handle_unsupported, 0, SIZE_EXACT, FDS_IGNORED, RING_NONE, false),
	RULE(SET_VRING_NUM, handle_set_vring_num, 8, SIZE_EXACT, FDS_NONE, RING_STATE, false),
	RULE(SET_VRING_ADDR, handle_set_vring_addr, 40, SIZE_EXACT, FDS_NONE, RING_STATE, false),
	RULE(SET_VRING_BASE, handle_set_vring_base, 8, SIZE_EXACT, FDS_NONE, RING_STATE, false),
	RULE(GET_VRING_BASE, handle_get_vring_base, 8, SIZE_EXACT, FDS_NONE, RING_STATE, true),
	RULE(SET_VRING_KICK, handle_set_vring_kick, 8, SIZE_EXACT, FDS_RING, RING_U64, false),
	RULE(SET_VRING_CALL, handle_set_vring_call, 8, SIZE_EXACT, FDS_RING, RING_U64, false),
	RULE(SET_VRING_ERR, handle_set_vring_err, 8, SIZE_EXACT, FDS_RING, RING_U64, false),
	RULE(GET_PROTOCOL_FEATURES, handle_get_protocol_features, 0, SIZE_EXACT, FDS_NONE,
	     RING_NONE, true),
	RULE(SET_PROTOCOL_FEATURES, handle_set_protocol_features, 8, SIZE_EXACT, FDS_NONE,
	     RING_NONE, false),
	RULE(GET_QUEUE_NUM, handle_get_queue_num, 0, SIZE_EXACT, FDS_NONE, RING_NONE, true),
	RULE(SET_VRING_ENABLE, handle_set_vring_enable, 8, SIZE_EXACT, FDS_NONE, RING_STATE, false),
	RULE(GET_CONFIG, handle_get_config, 0, SIZE_CONFIG, FDS_NONE, RING_NONE, true),
	RULE(SET_CONFIG, handle_unsupported, 0, SIZE_CONFIG, FDS_NONE, RING_NONE, false),
	RULE(RESET_DEVICE, handle_reset_device, 0, SIZE_EXACT, FDS_NONE, RING_NONE, false),
	RULE(GET_MAX_MEM_SLOTS, handle_get_max_mem_slots, 0, SIZE_EXACT, FDS_NONE, RING_NONE, true),
	RULE(ADD_MEM_REG, handle_add_mem_reg, 40, SIZE_EXACT, FDS_ONE, RING_NONE, false),
	RULE(REM_MEM_REG, handle_rem_mem_reg, 40, SIZE_EXACT, FDS_IGNORED, RING_NONE, false),
};

/* ---- the one place where a message's shape is checked ------------------- */

static int check_size(const struct request_rule *rule, const struct vu_msg *msg)
{
	uint32_t size = msg->hdr.size;

	switch (rule->size_rule) {
	case SIZE_EXACT:
		/* SET_OWNER-like requests: QEMU and DPDK may pad a u64 of zeroes. */
		if (rule->size == 0)
			return size == 0 || size == 8 ? 0 : -1;
		return size == rule->size ? 0 : -1;
	case SIZE_MEM_TABLE: {
		struct vhost_user_mem_table_head head;

		if (size < sizeof head)
			return -1;
		memcpy(&head, msg->payload, sizeof head);
		if (head.nregions == 0 || head.nregions > VHOST_USER_MEM_TABLE_MAX)
			return -1;
		return size == sizeof head + head.nregions * sizeof(struct vhost_user_region) ? 0 : -1;
	}
	case SIZE_CONFIG: {
		struct vhost_user_config_head head;

		if (size < sizeof head)
			return -1;
		memcpy(&head, msg->payload, sizeof head);
		if (head.size > VHOST_USER_CONFIG_MAX)
			return -1;
		return size == sizeof head + head.size ? 0 : -1;
	}
	}
	return -1;
}

static int expected_fds(const struct request_rule *rule, const struct vu_msg *msg, int *min,
			int *max)
{
	switch (rule->fd_rule) {
	case FDS_NONE:
		*min = *max = 0;
		return 0;
	case FDS_ONE:
		*min = *max = 1;
		return 0;
	case FDS_RING:
		*min = *max = (payload_u64(msg) & VHOST_USER_VRING_NOFD_MASK) ? 0 : 1;
		return 0;
	case FDS_REGIONS: {
		struct vhost_user_mem_table_head head;

		memcpy(&head, msg->payload, sizeof head);
		*min = *max = (int)head.nregions;
		return 0;
	}
	case FDS_IGNORED:
		*min = 0;
		*max = 1;
		return 0;
	}
	return -1;
}

/* The ring a message names, or -1 when it names none. */
static int64_t ring_index_of(const struct request_rule *rule, const struct vu_msg *msg)
{
	uint64_t v;
	uint32_t idx;

	switch (rule->ring_rule) {
	case RING_NONE:
		return -1;
	case RING_STATE:
		memcpy(&idx, msg->payload, sizeof idx);
		return idx;
	case RING_U64:
		v = payload_u64(msg);
		/* Other bits set: no ring of ours. */
		if (v & ~(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD_MASK))
			return VU_RINGS_MAX;
		return (int64_t)(v & VHOST_USER_VRING_IDX_MASK);
	}
	return VU_RINGS_MAX;
}

static int send_reply(struct vu_dev *dev, uint32_t request, const struct reply *reply)
{
	struct {
		struct vhost_user_header hdr;
		uint8_t payload[VHOST_USER_PAYLOAD_MAX];
	} out;

	out.hdr.request = request;
	out.hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
	out.hdr.size = reply->size;
	memcpy(out.payload, reply->payload, reply->size);
	return dev->ops->send(dev->ctx, &out, sizeof out.hdr + reply->size);
}

int vu_dev_handle(struct vu_dev *dev, struct vu_msg *msg)
{
	const struct request_rule *rule = NULL;
	uint32_t request = msg->hdr.request;
	bool need_reply = msg->hdr.flags & VHOST_USER_NEED_REPLY_MASK;
	struct reply reply = { 0 };
	int min_fds = 0, max_fds = 0, rc;
	int64_t ring;

	if ((msg->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION) {
		log_limited(dev->ratelimit, LOG_LVL_WARN, "%s: message with protocol version %u",
			    dev->name, msg->hdr.flags & VHOST_USER_VERSION_MASK);
		return -EPROTO;
	}
	if (request < VHOST_USER_REQUEST_MAX && rules[request].handle)
		rule = &rules[request];

	if (!rule) {
		rc = refuse(dev, ENOSYS, "unknown request %u", request);
	} else if (check_size(rule, msg) < 0) {
		rc = refuse(dev, EINVAL, "%s with a payload of %u bytes", rule->name, msg->hdr.size);
	} else if (expected_fds(rule, msg, &min_fds, &max_fds) < 0 || msg->nfds < min_fds ||
		   msg->nfds > max_fds) {
		rc = refuse(dev, EINVAL, "%s with %d descriptors (expected %d)", rule->name,
			    msg->nfds, min_fds);
	} else if ((ring = ring_index_of(rule, msg)) >= vu_dev_rings(dev)) {
		/* A client that uses rings beyond what it negotiated is broken. */
		vu_dev_fail(dev, "%s for ring %lld: it has %u (%u queue pair%s%s)", rule->name,
			    (long long)ring, vu_dev_rings(dev), vu_dev_rings(dev) / 2,
			    vu_dev_rings(dev) > 2 ? "s" : "",
			    vu_dev_rings(dev) < 2 * dev->pairs ? " without PROTOCOL_F_MQ" : "");
		rc = -EINVAL;
	} else {
		log_debug("%s: %s", dev->name, rule->name);
		rc = rule->handle(dev, msg, &reply);
	}

	if (rule && rule->replies) {
		/* The client waits for this reply whatever happened. */
		if (rc < 0 && reply.size == 0)
			reply_u64(&reply, 0);
		return send_reply(dev, request, &reply);
	}
	if (need_reply && (dev->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK))) {
		reply_u64(&reply, rc < 0 ? 1 : 0);
		return send_reply(dev, request, &reply);
	}
	return 0;
}

/* ---- life cycle ------------------------------------------------------- */

void vu_dev_init(struct vu_dev *dev, const struct vu_dev_ops *ops, void *ctx,
		 const char *name, unsigned max_queue_size, unsigned ds_max,
		 const struct trusted_mem *trusted, struct log_ratelimit *ratelimit)
{
	memset(dev, 0, sizeof *dev);
	dev->ops = ops;
	dev->ctx = ctx;
	snprintf(dev->name, sizeof dev->name, "%s", name);
	dev->max_queue_size = max_queue_size;
	dev->ds_max = ds_max;
	dev->mem_max = UINT64_MAX; /* the owner sets the budget it wants */
	dev->pairs = 1;
	dev->trusted = trusted;
	dev->ratelimit = ratelimit;
	for (unsigned i = 0; i < VU_RINGS_MAX; i++)
		dev->ring[i].kick_fd = dev->ring[i].call_fd = dev->ring[i].err_fd = -1;
}

void vu_dev_reset(struct vu_dev *dev)
{
	reset_rings_and_features(dev);
	gm_clear(&dev->mem);
	dev->protocol_features = 0;
	dev->owned = false;
	dev->ops->rings_changed(dev->ctx);
}
