/* SPDX-License-Identifier: MIT */
/*
 * The service manager's readiness protocol (sd_notify), without libsystemd:
 * one datagram of "KEY=VALUE" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or an abstract name written with a leading '@').
 */
#ifndef VNP_SD_NOTIFY_H
#define VNP_SD_NOTIFY_H

/* Send state (e.g. "READY=1\nSTATUS=..."). Returns 1 when sent, 0 when
 * NOTIFY_SOCKET is unset (not started by a service manager), or -errno
 * (-EAFNOSUPPORT for an address we do not speak, such as vsock). */
int notify_service_manager(const char *state);

#endif
