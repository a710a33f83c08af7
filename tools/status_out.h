/* SPDX-License-Identifier: MIT */
/* vnet-p2p-ctl status: the server's answer as a table, JSON or Prometheus text. */
#ifndef VNP_STATUS_OUT_H
#define VNP_STATUS_OUT_H

#include <stdio.h>

#include "ctl/ctl_proto.h"

enum status_format {
	STATUS_TABLE,      /* for people: one block per port */
	STATUS_JSON,       /* one JSON document */
	STATUS_PROMETHEUS, /* the text exposition format (node_exporter's textfile collector) */
};

void status_print(FILE *out, const struct vnp_ctl_status *st, enum status_format format);

#endif
