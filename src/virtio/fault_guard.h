/* SPDX-License-Identifier: MIT */
/*
 * Client memory is a file the client can truncate under us; touching a page
 * past the new end raises SIGBUS. Datapath code that touches client memory
 * runs inside a guard, and such a fault becomes an error return naming the
 * faulting address instead of the death of the server.
 *
 *   fault_guard_arm(&g);
 *   if (FAULT_GUARD_SET(&g)) { ...g.addr faulted...; }
 *   ...touch client memory...
 *   fault_guard_leave(&g);
 *
 * Values kept in locals across the guarded region are lost on a fault; state
 * that must survive lives in memory reached through pointers.
 */
#ifndef VNP_FAULT_GUARD_H
#define VNP_FAULT_GUARD_H

#include <setjmp.h>

struct fault_guard {
	sigjmp_buf env;
	void *addr; /* the faulting address after a fault */
};

/* Install the SIGBUS handler once, at start-up. */
int fault_guard_install(void);

void fault_guard_arm(struct fault_guard *g);
void fault_guard_leave(struct fault_guard *g);

/* 0 when first evaluated, 1 when a fault jumped back to it. A macro because
 * sigsetjmp must be called in the frame that stays live. */
#define FAULT_GUARD_SET(g) sigsetjmp((g)->env, 0)

#endif
