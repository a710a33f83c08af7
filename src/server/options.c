/* SPDX-License-Identifier: MIT */
#include "server/options.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/checked.h"
#include "util/parse_num.h"

enum { OPT_SVR = 0x100, OPT_PORT, OPT_VERSION };

static const struct option long_options[] = {
	{ "svr", required_argument, NULL, OPT_SVR },
	{ "size", required_argument, NULL, 's' },
	{ "poll", required_argument, NULL, 'p' },
	{ "register-ds", required_argument, NULL, 'd' },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

void options_usage(const char *prog, int to_stderr)
{
	fprintf(to_stderr ? stderr : stdout,
		"Usage: %s --svr PATH [options]\n"
		"\n"
		"A virtual network point-to-point link: two virtio-net ports over vhost-user.\n"
		"\n"
		"  --svr PATH               control endpoint (UNIX socket, mode 0600); may\n"
		"                           instead be inherited by socket activation\n"
		"  -s, --size <num>         maximum virtqueue size: a power of 2 in 1..32768\n"
		"                           (default 256)\n"
		"  -p, --poll <usec>        polling mode: service all queues every <usec>\n"
		"                           microseconds, with queue notifications disabled\n"
		"  -d, --register-ds <name> register a trusted shared-memory file (PATH or\n"
		"                           fd:N); when given, any other client memory is\n"
		"                           refused (repeatable)\n"
		"      --port KEY=VALUE[,KEY=VALUE]...\n"
		"                           create a port at start-up, with the keys of a\n"
		"                           create request: listen=PATH or tap=NAME (one is\n"
		"                           required), ds-max=N, mem-max=SIZE,\n"
		"                           queues=N (1..16 queue pairs),\n"
		"                           mac=xx:xx:xx:xx:xx:xx\n"
		"                           (at most twice: one link has two ports)\n"
		"  -v, --verbose            more log output (repeatable)\n"
		"  -q, --quiet              less log output (repeatable)\n"
		"  -h, --help               this help\n"
		"      --version            print the version\n",
		prog);
}

/* True when the item's key is key (the text before '='). */
static bool item_key_is(const char *item, const char *key)
{
	size_t len = strlen(key);

	return strncmp(item, key, len) == 0 && item[len] == '=';
}

/*
 * One --port: comma-separated key=value items, each given to the create
 * request's parser, so both take the same keys with the same messages.
 * Unlike create, an unknown key is an error: a typo in a service's
 * configuration should stop it, not be ignored in its log.
 */
static enum options_result parse_port(const char *arg, struct port_config *cfg, char *err,
				      size_t errlen)
{
	bool reachable = false;
	const char *p = arg;

	port_config_init(cfg);
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		enum port_config_result r;
		char msg[192], *item;

		if (len == 0) {
			snprintf(err, errlen, "--port '%.64s': empty key=value item", arg);
			return OPTIONS_ERROR;
		}
		item = strndup(p, len);
		if (!item) {
			snprintf(err, errlen, "--port: out of memory");
			return OPTIONS_ERROR;
		}
		r = port_config_apply(cfg, item, msg, sizeof msg);
		if (r == PORT_CONFIG_UNKNOWN_KEY)
			snprintf(err, errlen, "--port: unknown key '%.*s'",
				 (int)MIN(strcspn(item, "="), 64), item);
		else if (r == PORT_CONFIG_INVALID)
			snprintf(err, errlen, "--port: %s", msg);
		reachable |= item_key_is(item, "listen") || item_key_is(item, "tap");
		free(item);
		if (r != PORT_CONFIG_OK)
			return OPTIONS_ERROR;
		if (!comma)
			break;
		p = comma + 1;
	}
	if (!reachable) {
		snprintf(err, errlen,
			 "--port '%.64s': listen=PATH or tap=NAME is required (a port created at "
			 "start-up has no descriptor to hand to anyone)",
			 arg);
		return OPTIONS_ERROR;
	}
	return OPTIONS_OK;
}

enum options_result options_parse(int argc, char **argv, struct server_options *o, char *err,
				  size_t errlen)
{
	int c;

	memset(o, 0, sizeof *o);
	o->queue_size = OPT_QUEUE_SIZE_DEFAULT;
	optind = 0; /* full reset, including getopt's internal state */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:p:d:vqh", long_options, NULL)) != -1) {
		uint64_t v;

		switch (c) {
		case OPT_SVR:
			o->svr_path = optarg;
			break;
		case 's':
			if (!parse_decimal(optarg, OPT_QUEUE_SIZE_MAX, &v) || !is_power_of_2(v)) {
				snprintf(err, errlen,
					 "invalid value '%s' for -s/--size: must be a power of 2 in "
					 "the range of 1 to %u inclusive",
					 optarg, OPT_QUEUE_SIZE_MAX);
				return OPTIONS_ERROR;
			}
			o->queue_size = (unsigned)v;
			break;
		case 'p':
			if (!parse_decimal(optarg, 1000u * 1000 * 1000, &v) || v == 0) {
				snprintf(err, errlen,
					 "invalid value '%s' for -p/--poll: must be a positive integer "
					 "(microseconds) of at most 1000000000",
					 optarg);
				return OPTIONS_ERROR;
			}
			o->poll_usec = (unsigned)v;
			break;
		case 'd':
			if (o->register_ds_count >= OPT_REGISTER_DS_MAX) {
				snprintf(err, errlen, "too many -d/--register-ds: at most %d",
					 OPT_REGISTER_DS_MAX);
				return OPTIONS_ERROR;
			}
			o->register_ds[o->register_ds_count++] = optarg;
			break;
		case OPT_PORT:
			if (o->port_count >= OPT_PORTS_MAX) {
				snprintf(err, errlen,
					 "too many --port: at most %d (one link has two ports)",
					 OPT_PORTS_MAX);
				return OPTIONS_ERROR;
			}
			if (parse_port(optarg, &o->port[o->port_count], err, errlen) != OPTIONS_OK)
				return OPTIONS_ERROR;
			o->port_arg[o->port_count++] = optarg;
			break;
		case 'v':
			o->verbosity++;
			break;
		case 'q':
			o->verbosity--;
			break;
		case 'h':
			o->help = true;
			break;
		case OPT_VERSION:
			o->version = true;
			break;
		case ':':
			snprintf(err, errlen, "option %s requires an argument", argv[optind - 1]);
			return OPTIONS_ERROR;
		default:
			/* An unknown short option leaves its letter in optopt. A
			 * long option given an argument it does not take leaves
			 * its own value there (e.g. 'h' for --help=x): name the
			 * word as typed, as for unknown long options (optopt 0). */
			if (optopt > 0 && optopt < 0x100 && !strchr("spdvqh", optopt))
				snprintf(err, errlen, "unknown option '-%c'", optopt);
			else
				snprintf(err, errlen, "unknown option '%s'", argv[optind - 1]);
			return OPTIONS_ERROR;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return OPTIONS_ERROR;
	}
	return OPTIONS_OK;
}
