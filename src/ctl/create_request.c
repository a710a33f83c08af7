/* SPDX-License-Identifier: MIT */
#include "ctl/create_request.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void append_line(char *buf, size_t len, const char *line)
{
	size_t used = strnlen(buf, len);

	if (used < len)
		snprintf(buf + used, len - used, "%s%s", used ? "\n" : "", line);
}

int create_request_parse(const uint8_t *payload, uint32_t len, struct port_config *cfg, char *err,
			 size_t errlen, char *warnings, size_t warnlen)
{
	uint32_t type, off;

	port_config_init(cfg);
	if (warnlen)
		warnings[0] = '\0';
	if (len < sizeof type) {
		snprintf(err, errlen, "create request without a protocol type");
		return -EINVAL;
	}
	memcpy(&type, payload, sizeof type);
	if (type != CREATE_TYPE_VIRTIO_NET) {
		snprintf(err, errlen, "protocol type %u not supported: only 0 (a virtio-net port)", type);
		return -EINVAL;
	}
	for (off = sizeof type; off < len;) {
		const char *kv = (const char *)payload + off;
		const void *nul = memchr(kv, '\0', len - off);
		char msg[160];

		if (!nul) {
			snprintf(err, errlen, "create argument %u is not NUL-terminated", off);
			return -EINVAL;
		}
		switch (port_config_apply(cfg, kv, msg, sizeof msg)) {
		case PORT_CONFIG_OK:
			break;
		case PORT_CONFIG_UNKNOWN_KEY:
			append_line(warnings, warnlen, msg);
			break;
		case PORT_CONFIG_INVALID:
			snprintf(err, errlen, "%s", msg);
			return -EINVAL;
		}
		off += (uint32_t)((const char *)nul - kv) + 1;
	}
	return 0;
}
