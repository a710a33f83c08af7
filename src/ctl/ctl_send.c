/* SPDX-License-Identifier: MIT */
#include "ctl/ctl_send.h"

#include <errno.h>
#include <string.h>

#include "ctl/ctl_proto.h"
#include "util/unix_socket.h"

int ctl_send(int sock, uint16_t op, int32_t status, const void *payload, uint32_t len, int fd,
	     int flags)
{
	uint8_t buf[sizeof(struct vnp_ctl_header) + VNP_CTL_PAYLOAD_MAX];
	struct vnp_ctl_header hdr = {
		.magic = VNP_CTL_MAGIC,
		.version = VNP_CTL_VERSION,
		.op = op,
		.len = len,
		.status = status,
	};
	ssize_t n;

	if (len > VNP_CTL_PAYLOAD_MAX)
		return -E2BIG;
	memcpy(buf, &hdr, sizeof hdr);
	if (len)
		memcpy(buf + sizeof hdr, payload, len);
	n = unix_send_fds(sock, buf, sizeof hdr + len, fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0, flags);
	if (n < 0)
		return (int)n;
	return (size_t)n == sizeof hdr + len ? 0 : -EIO;
}
