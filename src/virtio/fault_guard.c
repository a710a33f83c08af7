/* SPDX-License-Identifier: MIT */
#include "virtio/fault_guard.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>

/* The single event-loop thread arms at most one guard at a time. */
static struct fault_guard *volatile armed;

static void on_sigbus(int sig, siginfo_t *info, void *uctx)
{
	struct fault_guard *g = armed;

	(void)uctx;
	if (!g) {
		/* Not ours to handle: die as SIGBUS would have killed us. */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	armed = NULL;
	g->addr = info->si_addr;
	siglongjmp(g->env, 1);
}

int fault_guard_install(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO | SA_NODEFER };

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, NULL) < 0 ? -errno : 0;
}

void fault_guard_arm(struct fault_guard *g)
{
	g->addr = NULL;
	armed = g;
}

void fault_guard_leave(struct fault_guard *g)
{
	(void)g;
	armed = NULL;
}
