/* SPDX-License-Identifier: MIT */
#include "link/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <net/if_arp.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "link/tap_forward.h"
#include "net/virtio_net.h"
#include "util/log.h"

/* An Ethernet header and one VLAN tag around the MTU's payload: without
 * GSO offloads the kernel hands us nothing larger. */
#define TAP_FRAME_OVERHEAD (14u + 4u)
#define TAP_DEFAULT_MTU 1500u

void tap_init(struct tap *t)
{
	memset(t, 0, sizeof *t);
	t->fd = t->query_fd = -1;
	t->frame_max = TAP_DEFAULT_MTU + TAP_FRAME_OVERHEAD;
}

static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	char what[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "tap: %s: %s", what, strerror(e));
	return -e;
}

bool tap_refresh_mtu(struct tap *t)
{
	struct ifreq ifr;

	/* By name, but only while the name still means our interface. */
	memset(&ifr, 0, sizeof ifr);
	if (ioctl(t->fd, TUNGETIFF, &ifr) < 0)
		return false;
	if (ioctl(t->query_fd, SIOCGIFINDEX, &ifr) < 0 || ifr.ifr_ifindex != t->ifindex)
		return false;
	if (ioctl(t->query_fd, SIOCGIFMTU, &ifr) < 0 || ifr.ifr_mtu <= 0)
		return false;
	t->frame_max = (uint32_t)ifr.ifr_mtu + TAP_FRAME_OVERHEAD;
	if (t->frame_max > VNET_FRAME_MAX)
		t->frame_max = VNET_FRAME_MAX;
	return true;
}

int tap_open(struct tap *t, const char *name, const uint8_t *mac, char *err, size_t errlen)
{
	struct ifreq ifr;
	unsigned offload = 0;
	int le = 1, hdr = 10, e;

	tap_init(t);
	snprintf(t->name, sizeof t->name, "%s", name);
	t->buf = tap_buffers_new();
	if (!t->buf)
		return fail(err, errlen, ENOMEM, "%s: no memory for its buffers", name);
	t->query_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (t->query_fd < 0) {
		e = errno;
		tap_close(t);
		return fail(err, errlen, e, "%s: cannot make a query socket", name);
	}
	t->created = if_nametoindex(name) == 0;
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0) {
		e = errno;
		tap_close(t);
		return fail(err, errlen, e, "%s: cannot open /dev/net/tun", name);
	}
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		tap_close(t);
		if (e == EINVAL)
			return fail(err, errlen, e,
				    "cannot attach '%s' (not a TAP interface, or a multi-queue one)",
				    name);
		if (e == EBUSY)
			return fail(err, errlen, e, "cannot attach '%s' (another program holds it)",
				    name);
		return fail(err, errlen, e, "cannot create or attach '%s'", name);
	}
	/* The header is little-endian whatever the host (virtio 1.x); no
	 * offloads until a client says what it takes; no carrier without one. */
	if (ioctl(t->fd, TUNSETVNETLE, &le) < 0 || ioctl(t->fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
	    ioctl(t->fd, TUNSETOFFLOAD, offload) < 0 || tap_set_carrier(t, false) < 0) {
		e = errno;
		tap_close(t);
		return fail(err, errlen, e, "cannot set up '%s'", name);
	}
	t->hdr_len = 10;
	if (mac) {
		memset(&ifr, 0, sizeof ifr);
		ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
		if (ioctl(t->fd, SIOCSIFHWADDR, &ifr) < 0) {
			e = errno;
			tap_close(t);
			return fail(err, errlen, e, "cannot set the MAC of '%s'", name);
		}
	}
	t->ifindex = (int)if_nametoindex(name);
	if (!tap_refresh_mtu(t))
		log_warn("tap %s: cannot read its MTU: assuming %u", name, TAP_DEFAULT_MTU);
	t->readable = true;
	log_info("tap %s: %s (ifindex %d, largest frame %u)", name,
		 t->created ? "created" : "attached to the existing interface", t->ifindex,
		 t->frame_max);
	return 0;
}

void tap_close(struct tap *t)
{
	if (t->fd >= 0) {
		if (t->carrier)
			tap_set_carrier(t, false);
		close(t->fd);
		log_info("tap %s: %s", t->name, t->created ? "closed and removed" : "detached");
	}
	if (t->query_fd >= 0)
		close(t->query_fd);
	tap_buffers_free(t->buf);
	tap_init(t);
}

/* What the client takes, as the kernel's offload flags. TSO and UFO need
 * CSUM, as in virtio. */
static unsigned offloads_for(uint64_t features)
{
	unsigned f = 0;

	if (!(features & BIT64(VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	f = TUN_F_CSUM;
	if (features & BIT64(VIRTIO_NET_F_GUEST_TSO4))
		f |= TUN_F_TSO4;
	if (features & BIT64(VIRTIO_NET_F_GUEST_TSO6))
		f |= TUN_F_TSO6;
	if ((f & (TUN_F_TSO4 | TUN_F_TSO6)) && (features & BIT64(VIRTIO_NET_F_GUEST_ECN)))
		f |= TUN_F_TSO_ECN;
	if (features & BIT64(VIRTIO_NET_F_GUEST_UFO))
		f |= TUN_F_UFO;
	return f;
}

int tap_configure(struct tap *t, unsigned hdr_len, uint64_t client_features)
{
	unsigned want = offloads_for(client_features);
	int hdr = (int)hdr_len;

	if (hdr_len != t->hdr_len) {
		if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdr) < 0)
			return -errno;
		t->hdr_len = hdr_len;
	}
	if (want != t->offloads) {
		/* Without TUN_F_CSUM the kernel completes checksums itself, and
		 * without TSO or UFO it segments, before a frame reaches us. A
		 * kernel that no longer hands out UFO refuses it: then without. */
		if (ioctl(t->fd, TUNSETOFFLOAD, want) < 0 &&
		    (!(want & TUN_F_UFO) || ioctl(t->fd, TUNSETOFFLOAD, want & ~TUN_F_UFO) < 0))
			return -errno;
		t->offloads = want;
		t->csum_offload = want & TUN_F_CSUM;
		/* GSO frames are as large as frames get. */
		t->gso_frames = want & (TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_UFO);
	}
	return 0;
}

int tap_set_carrier(struct tap *t, bool on)
{
	int v = on;

	if (ioctl(t->fd, TUNSETCARRIER, &v) < 0)
		return -errno;
	t->carrier = on;
	return 0;
}
