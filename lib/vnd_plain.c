/* SPDX-License-Identifier: MIT */
/*
 * The plain names of the functions the installed library exports in two
 * versions (vnd_compat.c), for what links the library statically (the
 * tools, tests and benchmark): there they are simply the current ones.
 */
#include <vnet-p2p/driver.h>

#include "vnd_internal.h"

void vnd_config_init(struct vnd_config *cfg)
{
	vnd_config_init_v1(cfg);
}

int vnd_open_fd(struct vnd **out, int fd, const struct vnd_config *cfg)
{
	return vnd_open_fd_v1(out, fd, cfg);
}

int vnd_open_path(struct vnd **out, const char *path, const struct vnd_config *cfg)
{
	return vnd_open_path_v1(out, path, cfg);
}
