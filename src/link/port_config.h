/* SPDX-License-Identifier: MIT */
/*
 * What a create request (the original's create(0, "ds-max=N", "mac=..."))
 * says about a port, and the parser of its key=value strings.
 */
#ifndef VNP_PORT_CONFIG_H
#define VNP_PORT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PORT_DS_MAX_DEFAULT 2
#define PORT_DS_MAX_LIMIT 80
/* mem-max: the most bytes of client memory the port maps at once. */
#define PORT_MEM_MAX_MIN (1ull << 20)
#define PORT_MEM_MAX_LIMIT (1ull << 47) /* x86-64's user address space */
#define PORT_QUEUES_MAX 16 /* queues: queue pairs (vhost/vu_dev.h's VU_PAIRS_MAX) */
#define PORT_PATH_MAX 108 /* sun_path */
#define PORT_TAP_NAME_MAX 16 /* IFNAMSIZ, with the NUL */

struct port_config {
	unsigned ds_max;
	uint64_t mem_max; /* 0: the server's default (struct link_options) */
	unsigned queues;  /* queue pairs offered (MQ with more than one) */
	bool has_mac;
	uint8_t mac[6];
	char listen_path[PORT_PATH_MAX]; /* empty: no listening socket */
	/* Our extension: the port's far end is this Linux TAP interface
	 * instead of a vhost-user client. Empty: a vhost-user port. */
	char tap_name[PORT_TAP_NAME_MAX];
};

void port_config_init(struct port_config *cfg);

enum port_config_result {
	PORT_CONFIG_OK,
	PORT_CONFIG_UNKNOWN_KEY, /* ignored, as the original does; err says which */
	PORT_CONFIG_INVALID,     /* err names the key and what is allowed */
};

/* Apply one "key=value" string. */
enum port_config_result port_config_apply(struct port_config *cfg, const char *kv, char *err,
					  size_t errlen);

/* Rules between keys, checked once all are applied: tap= excludes
 * listen= and queues= above 1. Returns false with the reason in err. */
bool port_config_check(const struct port_config *cfg, char *err, size_t errlen);

/* "xx:xx:xx:xx:xx:xx", one or two hex digits per group. */
bool parse_mac(const char *s, uint8_t mac[6]);
/* Always two digits per group, lower case. */
void format_mac(const uint8_t mac[6], char out[18]);

#endif
