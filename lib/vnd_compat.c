/* SPDX-License-Identifier: MIT */
/*
 * Programs built against VNET_P2P_DRIVER_0 pass a struct vnd_config that
 * ends before `queues`: these versions of the functions that take one read
 * and write only that much of it, and ask for one queue pair. Built into
 * the shared library only (the static one has no versions).
 */
#include <stddef.h>
#include <string.h>

#include <vnet-p2p/driver.h>

#include "vnd_internal.h"

/* The old struct's fields are the new one's up to here. */
#define V0_CONFIG_SIZE offsetof(struct vnd_config, queues)

/* Each name in two versions: VNET_P2P_DRIVER_1's the default. GCC's
 * symver attribute survives LTO, where a .symver directive does not;
 * clang (no LTO here) takes the directive. */
#if defined(__GNUC__) && !defined(__clang__)
#define VERSIONED(sym) __attribute__((symver(sym)))
#else
#define VERSIONED(sym)
__asm__(".symver vnd_config_init_v0, vnd_config_init@VNET_P2P_DRIVER_0");
__asm__(".symver vnd_open_fd_v0, vnd_open_fd@VNET_P2P_DRIVER_0");
__asm__(".symver vnd_open_path_v0, vnd_open_path@VNET_P2P_DRIVER_0");
__asm__(".symver vnd_config_init_now, vnd_config_init@@VNET_P2P_DRIVER_1");
__asm__(".symver vnd_open_fd_now, vnd_open_fd@@VNET_P2P_DRIVER_1");
__asm__(".symver vnd_open_path_now, vnd_open_path@@VNET_P2P_DRIVER_1");
#endif

VERSIONED("vnd_config_init@VNET_P2P_DRIVER_0") void vnd_config_init_v0(struct vnd_config *cfg);
VERSIONED("vnd_open_fd@VNET_P2P_DRIVER_0")
int vnd_open_fd_v0(struct vnd **out, int fd, const struct vnd_config *cfg);
VERSIONED("vnd_open_path@VNET_P2P_DRIVER_0")
int vnd_open_path_v0(struct vnd **out, const char *path, const struct vnd_config *cfg);
VERSIONED("vnd_config_init@@VNET_P2P_DRIVER_1") void vnd_config_init_now(struct vnd_config *cfg);
VERSIONED("vnd_open_fd@@VNET_P2P_DRIVER_1")
int vnd_open_fd_now(struct vnd **out, int fd, const struct vnd_config *cfg);
VERSIONED("vnd_open_path@@VNET_P2P_DRIVER_1")
int vnd_open_path_now(struct vnd **out, const char *path, const struct vnd_config *cfg);

void vnd_config_init_now(struct vnd_config *cfg)
{
	vnd_config_init_v1(cfg);
}

int vnd_open_fd_now(struct vnd **out, int fd, const struct vnd_config *cfg)
{
	return vnd_open_fd_v1(out, fd, cfg);
}

int vnd_open_path_now(struct vnd **out, const char *path, const struct vnd_config *cfg)
{
	return vnd_open_path_v1(out, path, cfg);
}

void vnd_config_init_v0(struct vnd_config *cfg)
{
	struct vnd_config now;

	vnd_config_init_v1(&now);
	memcpy(cfg, &now, V0_CONFIG_SIZE);
}

static const struct vnd_config *widen(struct vnd_config *now, const struct vnd_config *old)
{
	if (!old)
		return NULL;
	memset(now, 0, sizeof *now);
	memcpy(now, old, V0_CONFIG_SIZE);
	now->queues = 1;
	return now;
}

int vnd_open_fd_v0(struct vnd **out, int fd, const struct vnd_config *cfg)
{
	struct vnd_config now;

	return vnd_open_fd_v1(out, fd, widen(&now, cfg));
}

int vnd_open_path_v0(struct vnd **out, const char *path, const struct vnd_config *cfg)
{
	struct vnd_config now;

	return vnd_open_path_v1(out, path, widen(&now, cfg));
}
