/* SPDX-License-Identifier: MIT */
#include "link/port_config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util/parse_num.h"

void port_config_init(struct port_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->ds_max = PORT_DS_MAX_DEFAULT;
	cfg->queues = 1;
}

bool parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		unsigned v = 0;
		int digits = 0;

		while (isxdigit((unsigned char)*s) && digits < 2) {
			v = v * 16 + (unsigned)(isdigit((unsigned char)*s) ? *s - '0'
									: tolower((unsigned char)*s) - 'a' + 10);
			s++;
			digits++;
		}
		if (digits == 0)
			return false;
		mac[i] = (uint8_t)v;
		if (i < 5 && *s++ != ':')
			return false;
	}
	return *s == '\0';
}

void format_mac(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

/* What the kernel accepts as an interface name (dev_valid_name), less '%':
 * a template like "tap%d" would name a device we could not find again. */
static bool valid_ifname(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len >= PORT_TAP_NAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++) {
		if (*s == '/' || *s == ':' || *s == '%' || isspace((unsigned char)*s) ||
		    !isprint((unsigned char)*s))
			return false;
	}
	return true;
}

enum port_config_result port_config_apply(struct port_config *cfg, const char *kv, char *err,
					  size_t errlen)
{
	const char *eq = strchr(kv, '=');
	size_t keylen = eq ? (size_t)(eq - kv) : strlen(kv);
	const char *value = eq ? eq + 1 : "";

#define KEY_IS(k) (keylen == sizeof(k) - 1 && memcmp(kv, k, keylen) == 0)
	if (KEY_IS("ds-max")) {
		uint64_t v;

		if (!eq || !parse_decimal(value, PORT_DS_MAX_LIMIT, &v) || v < 1) {
			snprintf(err, errlen, "ds-max: invalid value '%.64s': must be a number in 1..%d",
				 value, PORT_DS_MAX_LIMIT);
			return PORT_CONFIG_INVALID;
		}
		cfg->ds_max = (unsigned)v;
		return PORT_CONFIG_OK;
	}
	if (KEY_IS("mem-max")) {
		uint64_t v;

		if (!eq || !parse_size(value, PORT_MEM_MAX_MIN, PORT_MEM_MAX_LIMIT, &v)) {
			snprintf(err, errlen,
				 "mem-max: invalid value '%.64s': must be a size in 1M..128T (bytes, or "
				 "with K, M, G or T for KiB, MiB, GiB, TiB)",
				 value);
			return PORT_CONFIG_INVALID;
		}
		cfg->mem_max = v;
		return PORT_CONFIG_OK;
	}
	if (KEY_IS("queues")) {
		uint64_t v;

		if (!eq || !parse_decimal(value, PORT_QUEUES_MAX, &v) || v < 1) {
			snprintf(err, errlen, "queues: invalid value '%.64s': must be a number in 1..%d",
				 value, PORT_QUEUES_MAX);
			return PORT_CONFIG_INVALID;
		}
		cfg->queues = (unsigned)v;
		return PORT_CONFIG_OK;
	}
	if (KEY_IS("mac")) {
		if (!eq || !parse_mac(value, cfg->mac)) {
			snprintf(err, errlen,
				 "mac: invalid value '%.64s': must be six hex groups like 02:00:00:00:00:01",
				 value);
			return PORT_CONFIG_INVALID;
		}
		cfg->has_mac = true;
		return PORT_CONFIG_OK;
	}
	if (KEY_IS("listen")) {
		size_t len = strlen(value);

		if (!eq || len == 0 || len >= sizeof cfg->listen_path) {
			snprintf(err, errlen, "listen: invalid value '%.64s': must be a socket path of 1..%zu bytes",
				 value, sizeof cfg->listen_path - 1);
			return PORT_CONFIG_INVALID;
		}
		memcpy(cfg->listen_path, value, len + 1);
		return PORT_CONFIG_OK;
	}
	if (KEY_IS("tap")) {
		if (!eq || !valid_ifname(value)) {
			snprintf(err, errlen,
				 "tap: invalid value '%.64s': must be an interface name of 1..%d bytes "
				 "without '/', ':', '%%' or spaces",
				 value, PORT_TAP_NAME_MAX - 1);
			return PORT_CONFIG_INVALID;
		}
		memcpy(cfg->tap_name, value, strlen(value) + 1);
		return PORT_CONFIG_OK;
	}
#undef KEY_IS
	snprintf(err, errlen, "unknown key '%.*s' ignored", (int)(keylen > 64 ? 64 : keylen), kv);
	return PORT_CONFIG_UNKNOWN_KEY;
}

bool port_config_check(const struct port_config *cfg, char *err, size_t errlen)
{
	if (cfg->tap_name[0] && cfg->listen_path[0]) {
		snprintf(err, errlen, "tap= and listen= exclude each other: a TAP end has no "
				      "vhost-user socket");
		return false;
	}
	if (cfg->tap_name[0] && cfg->queues > 1) {
		snprintf(err, errlen, "tap= takes queues=1 only: a TAP end has one queue pair");
		return false;
	}
	if (cfg->tap_name[0] && cfg->queues > 1) {
		snprintf(err, errlen, "tap= takes queues=1 only: a TAP end has one queue pair");
		return false;
	}
	return true;
}
