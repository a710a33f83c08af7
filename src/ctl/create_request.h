/* SPDX-License-Identifier: MIT */
/* Parsing a create request's payload into a port configuration. */
#ifndef VNP_CREATE_REQUEST_H
#define VNP_CREATE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "link/port_config.h"

/* The only protocol type a link serves: a virtio-net port. */
#define CREATE_TYPE_VIRTIO_NET 0u

/* Returns 0, or -EINVAL with a message naming the problem in err. Unknown
 * keys are ignored; each is noted in warnings (newline separated). */
int create_request_parse(const uint8_t *payload, uint32_t len, struct port_config *cfg, char *err,
			 size_t errlen, char *warnings, size_t warnlen);

#endif
